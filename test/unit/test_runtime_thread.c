/*-------------------------------------------------------------------------
 *
 * test_runtime_thread.c
 *	  Unit tests of the runtime's threaded mode: several nodes in one
 *	  process, each with its own IO thread, over real loopback sockets.
 *
 * Membership converges, a leader is elected and holds the only lease,
 * stopping the leader's node elects another; commands from many host
 * threads at once, snapshot reads, re-entry from callbacks (QUORUM_EBUSY),
 * a full command queue, free from a callback, graceful leave on stop, and a
 * persist failure that stops the IO thread.  "make check-tsan" runs this
 * file under ThreadSanitizer.
 *
 * test/unit/test_runtime_thread.c
 *
 *-------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime_util.h"

#define CLUSTER_MAX 5

struct cluster
{
	int			n;
	quorum_runtime *rt[CLUSTER_MAX];
	struct rt_record rec[CLUSTER_MAX];
	char		names[CLUSTER_MAX][16];
};

/* n started voters, n1 .. nn, all seeded with n1, bootstrapping at n. */
static void
cluster_start(struct cluster *c, int n)
{
	char		err[256];

	memset(c, 0, sizeof(*c));
	c->n = n;
	for (int i = 0; i < n; i++)
	{
		struct quorum_runtime_config rc;

		snprintf(c->names[i], sizeof(c->names[i]), "n%d", i + 1);
		rt_record_init(&c->rec[i]);
		rt_config(&rc, c->names[i], (unsigned) n, &c->rec[i]);
		if (i > 0)
		{
			rc.seeds[0] = rt_addr_of(c->rt[0]);
			rc.n_seeds = 1;
		}
		assert_int_equal(quorum_runtime_new(&rc, &c->rt[i], err, sizeof(err)), 0);
		assert_int_equal(quorum_runtime_start(c->rt[i], err, sizeof(err)), 0);
	}
}

static void
cluster_free(struct cluster *c)
{
	for (int i = 0; i < c->n; i++)
	{
		if (c->rt[i] != NULL)
			quorum_runtime_free(c->rt[i]);
		rt_record_destroy(&c->rec[i]);
	}
}

/* Wait until every running node sees `alive` members alive. */
static bool
cluster_wait_alive(struct cluster *c, unsigned alive)
{
	quorum_time_ms end = quorum_runtime_now_ms() + RT_WAIT_MS;

	while (quorum_runtime_now_ms() < end)
	{
		bool		ok = true;

		for (int i = 0; i < c->n && ok; i++)
			ok = c->rt[i] == NULL || rt_count_state(c->rt[i], QUORUM_MEMBER_ALIVE) == alive;
		if (ok)
			return true;
		rt_sleep_ms(20);
	}
	return false;
}

/*
 * Wait until every running node names the same leader, other than
 * `not`, and that leader holds the lease.  Returns its index, or -1.
 */
static int
cluster_wait_leader(struct cluster *c, const char *not, uint64_t *term)
{
	quorum_time_ms end = quorum_runtime_now_ms() + RT_WAIT_MS;

	while (quorum_runtime_now_ms() < end)
	{
		char		first[QUORUM_NAME_MAX + 1] = "";
		bool		agreed = true;
		int			leader = -1;

		for (int i = 0; i < c->n && agreed; i++)
		{
			char		name[QUORUM_NAME_MAX + 1];

			if (c->rt[i] == NULL)
				continue;
			assert_int_equal(quorum_runtime_leader(c->rt[i], name, sizeof(name), term), 0);
			if (name[0] == '\0' || (first[0] != '\0' && strcmp(first, name) != 0) ||
				(not != NULL && strcmp(name, not) == 0))
				agreed = false;
			strcpy(first, name);
		}
		for (int i = 0; i < c->n && agreed; i++)
			if (c->rt[i] != NULL && strcmp(c->names[i], first) == 0)
				leader = i;
		if (agreed && leader >= 0 &&
			quorum_runtime_has_lease(c->rt[leader], quorum_runtime_now_ms()))
			return leader;
		rt_sleep_ms(20);
	}
	return -1;
}

/* Nodes holding the lease now. */
static int
cluster_lease_holders(struct cluster *c)
{
	int			holders = 0;

	for (int i = 0; i < c->n; i++)
		if (c->rt[i] != NULL && quorum_runtime_has_lease(c->rt[i], quorum_runtime_now_ms()))
			holders++;
	return holders;
}

/*
 * Five nodes converge, elect one leader, which alone holds the lease;
 * stopping the leader's node makes the other four elect another.
 */
static void
test_cluster_elects_and_fails_over(void **state)
{
	struct cluster c;
	struct quorum_runtime_stats st;
	uint64_t	term1;
	uint64_t	term2;
	uint64_t	tcp_in = 0;
	uint64_t	tcp_errors = 0;
	int			leader;
	int			next;
	char		old[QUORUM_NAME_MAX + 1];

	cluster_start(&c, 5);
	assert_true(cluster_wait_alive(&c, 5));
	leader = cluster_wait_leader(&c, NULL, &term1);
	assert_true(leader >= 0);
	assert_true(term1 >= 1);
	assert_int_equal(cluster_lease_holders(&c), 1);
	for (int i = 0; i < c.n; i++)
	{
		/* The term was persisted before anything revealed it. */
		pthread_mutex_lock(&c.rec[i].lock);
		assert_true(c.rec[i].persists >= 1);
		pthread_mutex_unlock(&c.rec[i].lock);
		assert_true(rt_wait_events(&c.rec[i], QUORUM_EV_LEADER_CHANGED, 1));
		assert_true(rt_wait_events(&c.rec[i], QUORUM_EV_MEMBER_ALIVE, 4));
		assert_int_equal(quorum_runtime_stats(c.rt[i], &st), 0);
		assert_true(st.running);
		tcp_in += st.tcp_frames_in;
		tcp_errors += st.tcp_errors;
	}
	assert_true(rt_wait_events(&c.rec[leader], QUORUM_EV_LEASE_GAINED, 1));
	/* Joins and anti-entropy went over TCP. */
	assert_true(tcp_in > 0);
	assert_int_equal(tcp_errors, 0);

	/* Stop the leader's node (no leave: as if it died). */
	strcpy(old, c.names[leader]);
	assert_int_equal(quorum_runtime_stop(c.rt[leader], false), 0);
	quorum_runtime_free(c.rt[leader]);
	c.rt[leader] = NULL;
	next = cluster_wait_leader(&c, old, &term2);
	assert_true(next >= 0);
	assert_string_not_equal(c.names[next], old);
	assert_true(term2 > term1);
	assert_int_equal(cluster_lease_holders(&c), 1);
	assert_true(rt_wait_events(&c.rec[next], QUORUM_EV_LEASE_GAINED, 1));

	/* The rest leave gracefully. */
	for (int i = 0; i < c.n; i++)
		if (c.rt[i] != NULL)
			assert_int_equal(quorum_runtime_stop(c.rt[i], true), 0);
	cluster_free(&c);
}

/* ---------------------------------------------------------------------
 * Commands from many threads.
 * ---------------------------------------------------------------------
 */

#define WRITERS 4
#define WRITES 40

struct writer
{
	quorum_runtime *rt;
	int			id;
	int			failures;
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;

	for (int i = 0; i < WRITES; i++)
	{
		struct quorum_meta facts;
		struct quorum_member_info m[CLUSTER_MAX];
		size_t		count;

		if (quorum_runtime_get_facts(w->rt, &facts) != 0)
			w->failures++;
		snprintf(facts.tags, sizeof(facts.tags), "writer=%d i=%d", w->id, i);
		facts.lsn = (uint64_t) (w->id * 1000 + i);
		if (quorum_runtime_set_facts(w->rt, &facts, 0) != 0)
			w->failures++;
		if (quorum_runtime_members(w->rt, m, CLUSTER_MAX, &count) != 0 || count < 1)
			w->failures++;
		if (quorum_runtime_node(w->rt) != NULL)
			w->failures++;		/* not the IO thread: no direct access */
	}
	return NULL;
}

static void
test_commands_from_threads(void **state)
{
	struct cluster c;
	pthread_t	threads[WRITERS];
	struct writer writers[WRITERS];
	struct quorum_meta final;
	struct quorum_runtime_stats st;
	quorum_time_ms end;
	bool		seen = false;

	cluster_start(&c, 3);
	assert_true(cluster_wait_alive(&c, 3));
	for (int i = 0; i < WRITERS; i++)
	{
		writers[i].rt = c.rt[0];
		writers[i].id = i;
		writers[i].failures = 0;
		assert_int_equal(pthread_create(&threads[i], NULL, writer_main, &writers[i]), 0);
	}
	for (int i = 0; i < WRITERS; i++)
	{
		pthread_join(threads[i], NULL);
		assert_int_equal(writers[i].failures, 0);
	}
	assert_int_equal(quorum_runtime_stats(c.rt[0], &st), 0);
	assert_int_equal(st.commands, WRITERS * WRITES);

	/* The last facts set are what the others end up seeing. */
	assert_int_equal(quorum_runtime_get_facts(c.rt[0], &final), 0);
	end = quorum_runtime_now_ms() + RT_WAIT_MS;
	while (!seen && quorum_runtime_now_ms() < end)
	{
		struct quorum_member_info m[CLUSTER_MAX];
		size_t		count;

		seen = true;
		for (int k = 1; k < 3; k++)
		{
			bool		match = false;

			assert_int_equal(quorum_runtime_members(c.rt[k], m, CLUSTER_MAX, &count), 0);
			for (size_t i = 0; i < count; i++)
				if (strcmp(m[i].name, "n1") == 0 && m[i].has_meta &&
					strcmp(m[i].meta.tags, final.tags) == 0 &&
					m[i].meta.lsn == final.lsn)
					match = true;
			seen = seen && match;
		}
		if (!seen)
			rt_sleep_ms(20);
	}
	assert_true(seen);

	/* Stopped: the node is the caller's again; commands are refused. */
	assert_int_equal(quorum_runtime_stop(c.rt[0], false), 0);
	assert_non_null(quorum_runtime_node(c.rt[0]));
	assert_int_equal(quorum_runtime_set_facts(c.rt[0], &final, 0), QUORUM_ESTATE);
	assert_int_equal(quorum_runtime_stop(c.rt[0], false), QUORUM_ESTATE);
	assert_int_equal(quorum_runtime_start(c.rt[0], NULL, 0), QUORUM_ESTATE);
	cluster_free(&c);
}

/* ---------------------------------------------------------------------
 * Callbacks.
 * ---------------------------------------------------------------------
 */

struct cb_probe
{
	pthread_mutex_t lock;
	pthread_cond_t cond;
	quorum_runtime *rt;
	bool		tried;
	int			rc_facts;
	int			rc_stop;
	int			rc_start;
	int			rc_process;
	int			rc_transfer;
	int			rc_members;
	int			rc_leader;
	bool		node_visible;
	/* gate: the first event blocks until opened */
	bool		use_gate;
	bool		in_gate;
	bool		gate_open;
	/* free the runtime from the first event */
	bool		free_on_event;
	bool		freed;
};

static void
cb_probe_init(struct cb_probe *p)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
}

static void
cb_probe_destroy(struct cb_probe *p)
{
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
}

static void
cb_probe_event(void *ctx, const struct quorum_event *ev)
{
	struct cb_probe *p = ctx;
	struct quorum_meta facts;
	struct quorum_member_info m[4];
	size_t		count;
	char		leader[QUORUM_NAME_MAX + 1];
	bool		first;

	pthread_mutex_lock(&p->lock);
	first = !p->tried;
	p->tried = true;
	pthread_mutex_unlock(&p->lock);
	if (!first)
		return;

	if (p->free_on_event)
	{
		quorum_runtime_free(p->rt);
		pthread_mutex_lock(&p->lock);
		p->freed = true;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
		return;
	}
	memset(&facts, 0, sizeof(facts));
	p->rc_facts = quorum_runtime_set_facts(p->rt, &facts, 0);
	p->rc_stop = quorum_runtime_stop(p->rt, true);
	p->rc_start = quorum_runtime_start(p->rt, NULL, 0);
	p->rc_process = quorum_runtime_process(p->rt, 0);
	p->rc_transfer = quorum_runtime_transfer(p->rt, NULL, 0);
	p->rc_members = quorum_runtime_members(p->rt, m, 4, &count);
	p->rc_leader = quorum_runtime_leader(p->rt, leader, sizeof(leader), NULL);
	p->node_visible = quorum_runtime_node(p->rt) != NULL;

	pthread_mutex_lock(&p->lock);
	p->in_gate = true;
	pthread_cond_broadcast(&p->cond);
	while (p->use_gate && !p->gate_open)
		pthread_cond_wait(&p->cond, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

/* A runtime whose callbacks go to p, seeded with peer; started. */
static quorum_runtime *
probe_runtime(struct cb_probe *p, quorum_runtime *peer, unsigned queue_max,
			  uint16_t *port)
{
	struct quorum_runtime_config rc;
	char		err[256];

	rt_config(&rc, "probe", 0, NULL);
	rc.event_fn = cb_probe_event;
	rc.callback_ctx = p;
	rc.seeds[0] = rt_addr_of(peer);
	rc.n_seeds = 1;
	rc.command_queue_max = queue_max;
	assert_int_equal(quorum_runtime_new(&rc, &p->rt, err, sizeof(err)), 0);
	/* Before start: a runtime freed from its callback is gone after it. */
	if (port != NULL)
		*port = rt_addr_of(p->rt).port;
	assert_int_equal(quorum_runtime_start(p->rt, err, sizeof(err)), 0);
	return p->rt;
}

static quorum_runtime *
peer_runtime(void)
{
	struct quorum_runtime_config rc;
	quorum_runtime *rt;

	rt_config(&rc, "peer", 0, NULL);
	assert_int_equal(quorum_runtime_new(&rc, &rt, NULL, 0), 0);
	assert_int_equal(quorum_runtime_start(rt, NULL, 0), 0);
	return rt;
}

static bool
probe_wait(struct cb_probe *p, bool *flag)
{
	struct timespec until;
	bool		ok;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += RT_WAIT_MS / 1000;
	pthread_mutex_lock(&p->lock);
	while (!*flag)
		if (pthread_cond_timedwait(&p->cond, &p->lock, &until) != 0)
			break;
	ok = *flag;
	pthread_mutex_unlock(&p->lock);
	return ok;
}

static void
test_threaded_reentry(void **state)
{
	struct cb_probe p;
	quorum_runtime *peer = peer_runtime();
	quorum_runtime *rt;

	cb_probe_init(&p);
	rt = probe_runtime(&p, peer, 64, NULL);
	assert_true(probe_wait(&p, &p.in_gate));
	assert_int_equal(p.rc_facts, QUORUM_EBUSY);
	assert_int_equal(p.rc_stop, QUORUM_EBUSY);
	assert_int_equal(p.rc_start, QUORUM_EBUSY);
	assert_int_equal(p.rc_process, QUORUM_EBUSY);
	assert_int_equal(p.rc_transfer, QUORUM_EBUSY);
	assert_int_equal(p.rc_members, 0);
	assert_int_equal(p.rc_leader, 0);
	assert_true(p.node_visible);

	/* From this thread: threaded mode refuses the driven calls. */
	assert_int_equal(quorum_runtime_process(rt, quorum_runtime_now_ms()), QUORUM_ESTATE);
	assert_int_equal(quorum_runtime_timeout_ms(rt, 0), QUORUM_ESTATE);
	assert_int_equal(quorum_runtime_fd(rt), -1);
	assert_int_equal(quorum_runtime_start(rt, NULL, 0), QUORUM_ESTATE);
	assert_null(quorum_runtime_node(rt));

	/* And the calls the callback could not make work from here. */
	{
		struct quorum_meta facts;

		assert_int_equal(quorum_runtime_get_facts(rt, &facts), 0);
		facts.priority = 7;
		assert_int_equal(quorum_runtime_set_facts(rt, &facts, 0), 0);
	}
	assert_int_equal(quorum_runtime_stop(rt, true), 0);
	quorum_runtime_free(rt);
	quorum_runtime_free(peer);
	cb_probe_destroy(&p);
}

struct submitter
{
	quorum_runtime *rt;
	int			rc;
	bool		done;
	struct cb_probe *p;
};

static void *
submitter_main(void *arg)
{
	struct submitter *s = arg;
	struct quorum_meta facts;
	int			rc;

	memset(&facts, 0, sizeof(facts));
	rc = quorum_runtime_set_facts(s->rt, &facts, 0);
	pthread_mutex_lock(&s->p->lock);
	s->rc = rc;
	s->done = true;
	pthread_cond_broadcast(&s->p->cond);
	pthread_mutex_unlock(&s->p->lock);
	return NULL;
}

/*
 * With the IO thread held in a callback and a queue of one, one of two
 * concurrent commands waits and the other is refused with QUORUM_ELIMIT.
 */
static void
test_queue_full(void **state)
{
	struct cb_probe p;
	quorum_runtime *peer = peer_runtime();
	quorum_runtime *rt;
	pthread_t	threads[2];
	struct submitter subs[2];
	struct timespec until;
	int			refused = 0;
	int			done = 0;

	cb_probe_init(&p);
	p.use_gate = true;
	rt = probe_runtime(&p, peer, 1, NULL);
	assert_true(probe_wait(&p, &p.in_gate));

	for (int i = 0; i < 2; i++)
	{
		subs[i].rt = rt;
		subs[i].rc = 1;
		subs[i].done = false;
		subs[i].p = &p;
		assert_int_equal(pthread_create(&threads[i], NULL, submitter_main, &subs[i]), 0);
	}

	/* Exactly one comes back, refused, while the IO thread is held. */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += RT_WAIT_MS / 1000;
	pthread_mutex_lock(&p.lock);
	while (!subs[0].done && !subs[1].done)
		if (pthread_cond_timedwait(&p.cond, &p.lock, &until) != 0)
			break;
	pthread_mutex_unlock(&p.lock);
	rt_sleep_ms(100);
	pthread_mutex_lock(&p.lock);
	for (int i = 0; i < 2; i++)
	{
		done += subs[i].done;
		refused += subs[i].done && subs[i].rc == QUORUM_ELIMIT;
	}
	p.gate_open = true;
	pthread_cond_broadcast(&p.cond);
	pthread_mutex_unlock(&p.lock);
	assert_int_equal(done, 1);
	assert_int_equal(refused, 1);

	for (int i = 0; i < 2; i++)
		pthread_join(threads[i], NULL);
	assert_true((subs[0].rc == 0 && subs[1].rc == QUORUM_ELIMIT) ||
				(subs[1].rc == 0 && subs[0].rc == QUORUM_ELIMIT));
	quorum_runtime_free(rt);
	quorum_runtime_free(peer);
	cb_probe_destroy(&p);
}

/* Whether a UDP socket can bind port on 127.0.0.1 (nobody holds it). */
static bool
udp_port_free(uint16_t port)
{
	struct sockaddr_in sin;
	int			fd = socket(AF_INET, SOCK_DGRAM, 0);
	bool		ok;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = bind(fd, (struct sockaddr *) &sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

/* Freed from a callback: the IO thread frees it once the callback returns. */
static void
test_threaded_free_from_callback(void **state)
{
	struct cb_probe p;
	quorum_runtime *peer = peer_runtime();
	uint16_t	port;
	quorum_time_ms end;

	cb_probe_init(&p);
	p.free_on_event = true;
	(void) probe_runtime(&p, peer, 64, &port);
	assert_int_not_equal(port, 0);
	assert_true(probe_wait(&p, &p.freed));
	end = quorum_runtime_now_ms() + RT_WAIT_MS;
	while (!udp_port_free(port) && quorum_runtime_now_ms() < end)
		rt_sleep_ms(10);
	assert_true(udp_port_free(port));
	quorum_runtime_free(peer);
	cb_probe_destroy(&p);
}

/* stop(leave): the others see the node left, not dead. */
static void
test_stop_with_leave(void **state)
{
	struct cluster c;
	struct quorum_member_info m[CLUSTER_MAX];
	size_t		count;
	quorum_time_ms end;
	bool		left = false;

	cluster_start(&c, 3);
	assert_true(cluster_wait_alive(&c, 3));
	assert_int_equal(quorum_runtime_stop(c.rt[2], true), 0);
	/* Snapshots still answer after stop. */
	assert_int_equal(quorum_runtime_members(c.rt[2], m, CLUSTER_MAX, &count), 0);
	assert_int_equal(count, 3);
	end = quorum_runtime_now_ms() + RT_WAIT_MS;
	while (!left && quorum_runtime_now_ms() < end)
	{
		left = rt_count_state(c.rt[0], QUORUM_MEMBER_LEFT) == 1 &&
			rt_count_state(c.rt[1], QUORUM_MEMBER_LEFT) == 1;
		if (!left)
			rt_sleep_ms(20);
	}
	assert_true(left);
	assert_int_equal(rt_count_state(c.rt[0], QUORUM_MEMBER_DEAD), 0);
	assert_true(rt_wait_events(&c.rec[0], QUORUM_EV_MEMBER_LEFT, 1));
	cluster_free(&c);
}

/* A failing persist callback stops the IO thread, and everyone hears why. */
static void
test_persist_failure_stops_thread(void **state)
{
	struct quorum_runtime_config rc;
	struct rt_record rec;
	struct quorum_runtime_stats st;
	struct quorum_meta facts;
	quorum_runtime *rt;
	quorum_time_ms end;

	rt_record_init(&rec);
	rec.persist_rc = QUORUM_EIO;
	rt_config(&rc, "n1", 0, &rec);
	assert_int_equal(quorum_runtime_new(&rc, &rt, NULL, 0), 0);
	assert_int_equal(quorum_runtime_start(rt, NULL, 0), 0);
	end = quorum_runtime_now_ms() + RT_WAIT_MS;
	do
	{
		assert_int_equal(quorum_runtime_stats(rt, &st), 0);
		if (st.running)
			rt_sleep_ms(5);
	} while (st.running && quorum_runtime_now_ms() < end);
	assert_false(st.running);
	assert_int_equal(st.error, QUORUM_EIO);
	memset(&facts, 0, sizeof(facts));
	assert_int_equal(quorum_runtime_set_facts(rt, &facts, 0), QUORUM_EIO);
	assert_int_equal(quorum_runtime_stop(rt, true), QUORUM_EIO);
	quorum_runtime_free(rt);
	rt_record_destroy(&rec);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cluster_elects_and_fails_over),
		cmocka_unit_test(test_commands_from_threads),
		cmocka_unit_test(test_threaded_reentry),
		cmocka_unit_test(test_queue_full),
		cmocka_unit_test(test_threaded_free_from_callback),
		cmocka_unit_test(test_stop_with_leave),
		cmocka_unit_test(test_persist_failure_stops_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
