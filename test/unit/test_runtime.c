/*-------------------------------------------------------------------------
 *
 * test_runtime.c
 *	  Unit tests of the runtime's driven mode and of the API contract both
 *	  modes share: configuration checks, persist before send, re-entry from
 *	  callbacks (QUORUM_EBUSY), deferred free, snapshot reads, push-pull
 *	  over TCP and its UDP fallback, and garbage on the TCP port.
 *
 * Runtimes here are driven from the test's own poll() loop over real
 * loopback sockets, as the PostgreSQL worker drives its one; the threaded
 * mode has its own file (test_runtime_thread.c).
 *
 * test/unit/test_runtime.c
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
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime_clock.h"
#include "runtime_util.h"

#define MAX_RT 4

/* One poll() over every runtime's descriptor, then process() on each. */
static void
pump_once(quorum_runtime **rts, int n)
{
	struct pollfd pfd[MAX_RT];
	quorum_time_ms now = quorum_runtime_now_ms();
	int			timeout = 20;

	for (int i = 0; i < n; i++)
	{
		int			t = quorum_runtime_timeout_ms(rts[i], now);

		assert_true(t >= 0);
		if (t < timeout)
			timeout = t;
		pfd[i].fd = quorum_runtime_fd(rts[i]);
		pfd[i].events = POLLIN;
		assert_true(pfd[i].fd >= 0);
	}
	(void) poll(pfd, (nfds_t) n, timeout);
	for (int i = 0; i < n; i++)
		assert_int_equal(quorum_runtime_process(rts[i], quorum_runtime_now_ms()), 0);
}

/* Pump until pred() holds or RT_WAIT_MS pass; whether it held. */
static bool
pump_until(quorum_runtime **rts, int n, bool (*pred) (quorum_runtime **, int))
{
	quorum_time_ms end = quorum_runtime_now_ms() + RT_WAIT_MS;

	while (quorum_runtime_now_ms() < end)
	{
		pump_once(rts, n);
		if (pred(rts, n))
			return true;
	}
	return false;
}

static bool
all_alive(quorum_runtime **rts, int n)
{
	for (int i = 0; i < n; i++)
		if (rt_count_state(rts[i], QUORUM_MEMBER_ALIVE) != (unsigned) n)
			return false;
	return true;
}

static bool
leader_agreed(quorum_runtime **rts, int n)
{
	char		first[QUORUM_NAME_MAX + 1];

	for (int i = 0; i < n; i++)
	{
		char		name[QUORUM_NAME_MAX + 1];

		if (quorum_runtime_leader(rts[i], name, sizeof(name), NULL) != 0 ||
			name[0] == '\0')
			return false;
		if (i == 0)
			strcpy(first, name);
		else if (strcmp(first, name) != 0)
			return false;
	}
	return true;
}

/* Two driven runtimes, n2 seeded with n1; tcp for both. */
static void
make_pair(quorum_runtime **rts, struct rt_record *recs, enum quorum_runtime_tcp tcp1,
		  enum quorum_runtime_tcp tcp2)
{
	struct quorum_runtime_config rc;
	char		err[256];

	rt_record_init(&recs[0]);
	rt_record_init(&recs[1]);
	rt_config(&rc, "n1", 2, &recs[0]);
	rc.tcp = tcp1;
	assert_int_equal(quorum_runtime_new(&rc, &rts[0], err, sizeof(err)), 0);
	rt_config(&rc, "n2", 2, &recs[1]);
	rc.tcp = tcp2;
	rc.seeds[0] = rt_addr_of(rts[0]);
	rc.n_seeds = 1;
	assert_int_not_equal(rc.seeds[0].port, 0);
	assert_int_equal(quorum_runtime_new(&rc, &rts[1], err, sizeof(err)), 0);
}

static void
free_pair(quorum_runtime **rts, struct rt_record *recs)
{
	quorum_runtime_free(rts[0]);
	quorum_runtime_free(rts[1]);
	rt_record_destroy(&recs[0]);
	rt_record_destroy(&recs[1]);
}

/*
 * Issue 9, H2 and H3b: an input read 300 ms into a pass carries the host's
 * time plus those 300 ms (never less than the host's time, whatever the
 * clock did), and the runtime's clock is boot time, which counts a suspend.
 */
static void
test_clock_rules(void **state)
{
	struct quorum__runtime_clock c;
	struct timespec a,
				b;
	quorum_time_ms now;

	quorum__runtime_clock_start(&c, 5000, 120000);
	assert_int_equal(quorum__runtime_clock_stamp(&c, 120000), 5000);
	assert_int_equal(quorum__runtime_clock_stamp(&c, 120300), 5300);
	assert_int_equal(quorum__runtime_clock_stamp(&c, 119000), 5000);
	/* A suspend: monotonic stood still for 60 s, boot time did not. */
	assert_int_equal(quorum__runtime_clock_pick(1000, 61000), 61000);

	assert_int_equal(clock_gettime(CLOCK_BOOTTIME, &a), 0);
	now = quorum_runtime_now_ms();
	assert_int_equal(clock_gettime(CLOCK_BOOTTIME, &b), 0);
	assert_true(now >= (quorum_time_ms) a.tv_sec * 1000 + (quorum_time_ms) a.tv_nsec / 1000000);
	assert_true(now <= (quorum_time_ms) b.tv_sec * 1000 + (quorum_time_ms) b.tv_nsec / 1000000);
}

static void
test_config_invalid(void **state)
{
	struct quorum_runtime_config rc;
	quorum_runtime *rt = (quorum_runtime *) 0x1;
	char		err[256];

	assert_int_equal(quorum_runtime_new(NULL, &rt, err, sizeof(err)), QUORUM_EINVAL);
	rt_config(&rc, "n1", 0, NULL);
	assert_int_equal(quorum_runtime_new(&rc, NULL, err, sizeof(err)), QUORUM_EINVAL);

	rc.bind.family = 5;
	assert_int_equal(quorum_runtime_new(&rc, &rt, err, sizeof(err)), QUORUM_EINVAL);
	assert_null(rt);
	assert_non_null(strstr(err, "neither IPv4 nor IPv6"));

	rt_config(&rc, "n1", 0, NULL);
	rc.n_seeds = QUORUM_SEEDS_MAX + 1;
	assert_int_equal(quorum_runtime_new(&rc, &rt, err, sizeof(err)), QUORUM_EINVAL);
	assert_non_null(strstr(err, "too many seeds"));

	rt_config(&rc, "n1", 0, NULL);
	rc.command_queue_max = 0;
	assert_int_equal(quorum_runtime_new(&rc, &rt, err, sizeof(err)), QUORUM_EINVAL);
	assert_non_null(strstr(err, "command_queue_max"));

	rt_config(&rc, "n1", 0, NULL);
	rc.tcp = (enum quorum_runtime_tcp) 9;
	assert_int_equal(quorum_runtime_new(&rc, &rt, err, sizeof(err)), QUORUM_EINVAL);

	rt_config(&rc, "n1", 0, NULL);
	rc.rejoin_interval_ms = 0;
	assert_int_equal(quorum_runtime_new(&rc, &rt, NULL, 0), QUORUM_EINVAL);

	/* The node's own checks come through with their reason. */
	rt_config(&rc, "", 0, NULL);
	assert_int_equal(quorum_runtime_new(&rc, &rt, err, sizeof(err)), QUORUM_EINVAL);
	assert_true(err[0] != '\0');
}

static void
test_bind_conflict(void **state)
{
	struct quorum_runtime_config rc;
	quorum_runtime *a;
	quorum_runtime *b = NULL;
	char		err[256];

	rt_config(&rc, "n1", 0, NULL);
	rc.tcp = QUORUM_RUNTIME_TCP_ON;
	assert_int_equal(quorum_runtime_new(&rc, &a, err, sizeof(err)), 0);
	rt_config(&rc, "n2", 0, NULL);
	rc.bind = rt_addr_of(a);
	assert_int_equal(quorum_runtime_new(&rc, &b, err, sizeof(err)), QUORUM_EIO);
	assert_null(b);
	assert_non_null(strstr(err, "could not bind UDP socket"));
	quorum_runtime_free(a);
}

/* NULL and freed runtimes are refused everywhere, never dereferenced. */
static void
test_null_and_freed(void **state)
{
	struct quorum_member_info m;
	struct quorum_election_info ei;
	struct quorum_runtime_stats st;
	struct quorum_meta facts;
	struct quorum_command cmd;
	struct quorum_addr a;
	size_t		count;
	char		buf[8];

	memset(&facts, 0, sizeof(facts));
	memset(&cmd, 0, sizeof(cmd));
	rt_loopback(&a, 1);
	assert_int_equal(quorum_runtime_fd(NULL), -1);
	assert_int_equal(quorum_runtime_timeout_ms(NULL, 0), QUORUM_EINVAL);
	assert_int_equal(quorum_runtime_process(NULL, 0), QUORUM_EINVAL);
	assert_int_equal(quorum_runtime_start(NULL, NULL, 0), QUORUM_EINVAL);
	assert_int_equal(quorum_runtime_stop(NULL, true), QUORUM_EINVAL);
	assert_int_equal(quorum_runtime_set_facts(NULL, &facts, 0), QUORUM_EINVAL);
	assert_int_equal(quorum_runtime_join(NULL, &a, 0), QUORUM_EINVAL);
	assert_int_equal(quorum_runtime_leave(NULL, 0), QUORUM_EINVAL);
	assert_int_equal(quorum_runtime_command(NULL, &cmd, 0), QUORUM_EINVAL);
	assert_int_equal(quorum_runtime_transfer(NULL, "x", 0), QUORUM_EINVAL);
	assert_int_equal(quorum_runtime_members(NULL, &m, 1, &count), QUORUM_EINVAL);
	assert_int_equal(quorum_runtime_election(NULL, &ei), QUORUM_EINVAL);
	assert_int_equal(quorum_runtime_leader(NULL, buf, sizeof(buf), NULL), QUORUM_EINVAL);
	assert_false(quorum_runtime_has_lease(NULL, 0));
	assert_int_equal(quorum_runtime_stats(NULL, &st), QUORUM_EINVAL);
	assert_int_equal(quorum_runtime_get_facts(NULL, &facts), QUORUM_EINVAL);
	assert_null(quorum_runtime_node(NULL));
	quorum_runtime_free(NULL);
	quorum_runtime_config_init(NULL);

	/* Valid runtime, NULL arguments. */
	{
		struct quorum_runtime_config rc;
		quorum_runtime *rt;

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
		/* Keep freed memory mapped, so that the read below cannot fault. */
		mallopt(M_TRIM_THRESHOLD, 64 << 20);
		mallopt(M_MMAP_THRESHOLD, 16 << 20);
#endif
		rt_config(&rc, "n1", 0, NULL);
		assert_int_equal(quorum_runtime_new(&rc, &rt, NULL, 0), 0);
		assert_int_equal(quorum_runtime_set_facts(rt, NULL, 0), QUORUM_EINVAL);
		assert_int_equal(quorum_runtime_join(rt, NULL, 0), QUORUM_EINVAL);
		assert_int_equal(quorum_runtime_command(rt, NULL, 0), QUORUM_EINVAL);
		assert_int_equal(quorum_runtime_members(rt, NULL, 1, &count), QUORUM_EINVAL);
		assert_int_equal(quorum_runtime_members(rt, &m, 1, NULL), QUORUM_EINVAL);
		assert_int_equal(quorum_runtime_election(rt, NULL), QUORUM_EINVAL);
		assert_int_equal(quorum_runtime_leader(rt, NULL, 0, NULL), QUORUM_EINVAL);
		assert_int_equal(quorum_runtime_stats(rt, NULL), QUORUM_EINVAL);
		assert_int_equal(quorum_runtime_get_facts(rt, NULL), QUORUM_EINVAL);
		{
			char		longname[QUORUM_NAME_MAX + 8];

			memset(longname, 'x', sizeof(longname) - 1);
			longname[sizeof(longname) - 1] = '\0';
			assert_int_equal(quorum_runtime_transfer(rt, longname, 0), QUORUM_EINVAL);
		}
		/* Not started: threaded-only calls say so. */
		assert_int_equal(quorum_runtime_stop(rt, false), QUORUM_ESTATE);
		quorum_runtime_free(rt);

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)

		/*
		 * Use after free, best effort: the magic was cleared.  Not under a
		 * sanitizer, which rightly reports the read of freed memory.
		 */
		assert_int_equal(quorum_runtime_process(rt, 0), QUORUM_EINVAL);
		assert_int_equal(quorum_runtime_members(rt, &m, 1, &count), QUORUM_EINVAL);
		quorum_runtime_free(rt);	/* a double free is ignored */
#endif
	}
}

/*
 * Two driven runtimes find each other through the seed, elect a leader,
 * and the first process() persists before anything is sent.
 */
static void
test_driven_pair(void **state)
{
	quorum_runtime *rts[2];
	struct rt_record recs[2];
	struct quorum_runtime_stats st;
	struct quorum_member_info m[4];
	struct quorum_election_info ei;
	size_t		count;
	char		small[2];

	make_pair(rts, recs, QUORUM_RUNTIME_TCP_OFF, QUORUM_RUNTIME_TCP_OFF);

	/* Before the first process(): nothing persisted, due at once. */
	assert_int_equal(recs[0].persists, 0);
	assert_int_equal(quorum_runtime_timeout_ms(rts[0], quorum_runtime_now_ms()), 0);
	assert_int_equal(quorum_runtime_process(rts[0], quorum_runtime_now_ms()), 0);
	assert_true(recs[0].persists >= 1);

	assert_true(pump_until(rts, 2, all_alive));
	assert_true(pump_until(rts, 2, leader_agreed));
	assert_true(rt_record_events(&recs[0], QUORUM_EV_MEMBER_ALIVE) >= 1);
	assert_true(rt_record_events(&recs[1], QUORUM_EV_LEADER_CHANGED) >= 1);

	/* Snapshot reads. */
	assert_int_equal(quorum_runtime_members(rts[0], m, 4, &count), 0);
	assert_int_equal(count, 2);
	assert_int_equal(quorum_runtime_members(rts[0], m, 1, &count), QUORUM_ENOSPACE);
	assert_int_equal(count, 2);
	assert_int_equal(quorum_runtime_members(rts[0], NULL, 0, &count), QUORUM_ENOSPACE);
	assert_int_equal(quorum_runtime_election(rts[1], &ei), 0);
	assert_true(ei.bootstrapped);
	assert_int_equal(ei.n_voters, 2);
	assert_true(ei.term >= 1);
	assert_int_equal(quorum_runtime_leader(rts[1], small, sizeof(small), NULL),
					 QUORUM_ENOSPACE);
	assert_string_equal(small, "");
	assert_int_equal(quorum_runtime_stats(rts[0], &st), 0);
	assert_false(st.running);
	assert_true(st.wakeups > 0);
	assert_true(st.node.datagrams_in > 0);
	assert_int_equal(st.tcp_frames_out + st.tcp_frames_in, 0);
	assert_int_equal(quorum_runtime_fd(rts[0]) >= 0, true);
	assert_non_null(quorum_runtime_node(rts[0]));

	/* Driven for good: it cannot be started any more. */
	assert_int_equal(quorum_runtime_start(rts[0], NULL, 0), QUORUM_ESTATE);

	free_pair(rts, recs);
}

/* Facts set in driven mode are gossiped, and read back. */
static bool
n1_sees_tags(quorum_runtime **rts, int n)
{
	struct quorum_member_info m[4];
	size_t		count;

	if (quorum_runtime_members(rts[0], m, 4, &count) != 0)
		return false;
	for (size_t i = 0; i < count; i++)
		if (strcmp(m[i].name, "n2") == 0 && m[i].has_meta &&
			strcmp(m[i].meta.tags, "zone=b") == 0)
			return true;
	return false;
}

static void
test_driven_facts_and_leave(void **state)
{
	quorum_runtime *rts[2];
	struct rt_record recs[2];
	struct quorum_meta facts;

	make_pair(rts, recs, QUORUM_RUNTIME_TCP_OFF, QUORUM_RUNTIME_TCP_OFF);
	assert_true(pump_until(rts, 2, all_alive));

	assert_int_equal(quorum_runtime_get_facts(rts[1], &facts), 0);
	snprintf(facts.tags, sizeof(facts.tags), "zone=b");
	assert_int_equal(quorum_runtime_set_facts(rts[1], &facts, quorum_runtime_now_ms()), 0);
	memset(&facts, 0, sizeof(facts));
	assert_int_equal(quorum_runtime_get_facts(rts[1], &facts), 0);
	assert_string_equal(facts.tags, "zone=b");
	assert_true(pump_until(rts, 2, n1_sees_tags));

	/* Leave: n1 sees it left; n2 refuses further commands. */
	assert_int_equal(quorum_runtime_leave(rts[1], quorum_runtime_now_ms()), 0);
	assert_int_equal(quorum_runtime_leave(rts[1], quorum_runtime_now_ms()), QUORUM_ESTATE);
	assert_int_equal(quorum_runtime_set_facts(rts[1], &facts, quorum_runtime_now_ms()),
					 QUORUM_ESTATE);
	{
		quorum_time_ms end = quorum_runtime_now_ms() + RT_WAIT_MS;

		while (rt_count_state(rts[0], QUORUM_MEMBER_LEFT) != 1 &&
			   quorum_runtime_now_ms() < end)
			pump_once(rts, 2);
	}
	assert_int_equal(rt_count_state(rts[0], QUORUM_MEMBER_LEFT), 1);
	free_pair(rts, recs);
}

/* ---------------------------------------------------------------------
 * Re-entry from callbacks.
 * ---------------------------------------------------------------------
 */

struct reentry
{
	quorum_runtime *rt;
	bool		tried;
	int			rc_process;
	int			rc_facts;
	int			rc_join;
	int			rc_command;
	int			rc_start;
	int			rc_stop;
	int			rc_members;
	bool		node_visible;
	bool		free_on_event;
	bool		freed;
};

static void
reentry_event(void *ctx, const struct quorum_event *ev)
{
	struct reentry *r = ctx;
	struct quorum_meta facts;
	struct quorum_command cmd;
	struct quorum_member_info m[4];
	struct quorum_addr a;
	size_t		count;

	if (r->free_on_event)
	{
		if (!r->freed)
		{
			r->freed = true;
			quorum_runtime_free(r->rt);
			/* Deferred: the runtime is still usable for reads here. */
			r->rc_members = quorum_runtime_members(r->rt, m, 4, &count);
		}
		return;
	}
	if (r->tried)
		return;
	r->tried = true;
	memset(&facts, 0, sizeof(facts));
	memset(&cmd, 0, sizeof(cmd));
	cmd.type = QUORUM_CMD_PAUSE;
	rt_loopback(&a, 9);
	r->rc_process = quorum_runtime_process(r->rt, quorum_runtime_now_ms());
	r->rc_facts = quorum_runtime_set_facts(r->rt, &facts, 0);
	r->rc_join = quorum_runtime_join(r->rt, &a, 0);
	r->rc_command = quorum_runtime_command(r->rt, &cmd, 0);
	r->rc_start = quorum_runtime_start(r->rt, NULL, 0);
	r->rc_stop = quorum_runtime_stop(r->rt, false);
	r->rc_members = quorum_runtime_members(r->rt, m, 4, &count);
	r->node_visible = quorum_runtime_node(r->rt) != NULL;
}

static void
test_reentry_from_callback(void **state)
{
	struct quorum_runtime_config rc;
	struct reentry r;
	quorum_runtime *peer;

	/* A peer, so that the runtime under test gets a membership event. */
	rt_config(&rc, "peer", 0, NULL);
	assert_int_equal(quorum_runtime_new(&rc, &peer, NULL, 0), 0);

	memset(&r, 0, sizeof(r));
	rt_config(&rc, "n1", 0, NULL);
	rc.event_fn = reentry_event;
	rc.callback_ctx = &r;
	rc.seeds[0] = rt_addr_of(peer);
	rc.n_seeds = 1;
	assert_int_equal(quorum_runtime_new(&rc, &r.rt, NULL, 0), 0);
	{
		quorum_runtime *rts[2] = {r.rt, peer};
		quorum_time_ms end = quorum_runtime_now_ms() + RT_WAIT_MS;

		while (!r.tried && quorum_runtime_now_ms() < end)
			pump_once(rts, 2);
	}
	assert_true(r.tried);
	assert_int_equal(r.rc_process, QUORUM_EBUSY);
	assert_int_equal(r.rc_facts, QUORUM_EBUSY);
	assert_int_equal(r.rc_join, QUORUM_EBUSY);
	assert_int_equal(r.rc_command, QUORUM_EBUSY);
	assert_int_equal(r.rc_start, QUORUM_EBUSY);
	assert_int_equal(r.rc_stop, QUORUM_EBUSY);
	assert_int_equal(r.rc_members, 0);
	assert_true(r.node_visible);

	/* Outside the callback everything works again. */
	assert_int_equal(quorum_runtime_process(r.rt, quorum_runtime_now_ms()), 0);
	quorum_runtime_free(r.rt);
	quorum_runtime_free(peer);
}

/*
 * quorum_runtime_free() from a callback is deferred until process()
 * returns; ASan's leak check proves it really happens then.
 */
static void
test_free_from_callback(void **state)
{
	struct quorum_runtime_config rc;
	struct reentry r;
	quorum_runtime *peer;
	quorum_time_ms end = quorum_runtime_now_ms() + RT_WAIT_MS;

	rt_config(&rc, "peer", 0, NULL);
	assert_int_equal(quorum_runtime_new(&rc, &peer, NULL, 0), 0);
	memset(&r, 0, sizeof(r));
	r.free_on_event = true;
	rt_config(&rc, "n1", 0, NULL);
	rc.event_fn = reentry_event;
	rc.callback_ctx = &r;
	rc.seeds[0] = rt_addr_of(peer);
	rc.n_seeds = 1;
	assert_int_equal(quorum_runtime_new(&rc, &r.rt, NULL, 0), 0);

	while (!r.freed && quorum_runtime_now_ms() < end)
	{
		assert_int_equal(quorum_runtime_process(r.rt, quorum_runtime_now_ms()), 0);
		assert_int_equal(quorum_runtime_process(peer, quorum_runtime_now_ms()), 0);
		rt_sleep_ms(5);
	}
	assert_true(r.freed);
	assert_int_equal(r.rc_members, 0);
	/* r.rt is gone now; only the peer is left to free. */
	quorum_runtime_free(peer);
}

/* A failing persist callback stops the step's sends and is returned. */
static void
test_persist_failure(void **state)
{
	quorum_runtime *rts[2];
	struct rt_record recs[2];
	struct quorum_runtime_stats st;

	make_pair(rts, recs, QUORUM_RUNTIME_TCP_OFF, QUORUM_RUNTIME_TCP_OFF);
	recs[1].persist_rc = QUORUM_EIO;
	/* n2's first step persists its incarnation, and fails. */
	assert_int_equal(quorum_runtime_process(rts[1], quorum_runtime_now_ms()), QUORUM_EIO);
	/* Nothing of n2's reached n1 (it would have joined through n1). */
	rt_sleep_ms(50);
	assert_int_equal(quorum_runtime_process(rts[0], quorum_runtime_now_ms()), 0);
	assert_int_equal(quorum_runtime_stats(rts[0], &st), 0);
	assert_int_equal(st.node.datagrams_in, 0);
	free_pair(rts, recs);
}

/* ---------------------------------------------------------------------
 * Push-pull over TCP.
 * ---------------------------------------------------------------------
 */

static void
test_tcp_pushpull_driven(void **state)
{
	quorum_runtime *rts[2];
	struct rt_record recs[2];
	struct quorum_runtime_stats s1;
	struct quorum_runtime_stats s2;
	quorum_time_ms end;

	make_pair(rts, recs, QUORUM_RUNTIME_TCP_ON, QUORUM_RUNTIME_TCP_ON);
	assert_true(pump_until(rts, 2, all_alive));

	/* Several anti-entropy rounds (300 ms each) go over TCP both ways. */
	end = quorum_runtime_now_ms() + RT_WAIT_MS;
	do
	{
		pump_once(rts, 2);
		assert_int_equal(quorum_runtime_stats(rts[0], &s1), 0);
		assert_int_equal(quorum_runtime_stats(rts[1], &s2), 0);
	} while ((s1.tcp_frames_in < 3 || s2.tcp_frames_in < 3) &&
			 quorum_runtime_now_ms() < end);
	assert_true(s1.tcp_frames_in >= 3);
	assert_true(s2.tcp_frames_in >= 3);
	assert_true(s1.tcp_accepts >= 1 && s1.tcp_connects >= 1);
	assert_int_equal(s1.tcp_errors + s2.tcp_errors, 0);
	assert_int_equal(s1.tcp_fallbacks + s2.tcp_fallbacks, 0);
	assert_int_equal(s1.node.drops[QUORUM_DROP_AUTH] + s2.node.drops[QUORUM_DROP_AUTH], 0);
	free_pair(rts, recs);
}

/* A peer without TCP (like the PostgreSQL worker) gets push-pull by UDP. */
static void
test_tcp_fallback(void **state)
{
	quorum_runtime *rts[2];
	struct rt_record recs[2];
	struct quorum_runtime_stats s1;
	struct quorum_runtime_stats s2;
	quorum_time_ms end;

	make_pair(rts, recs, QUORUM_RUNTIME_TCP_OFF, QUORUM_RUNTIME_TCP_ON);
	assert_true(pump_until(rts, 2, all_alive));
	end = quorum_runtime_now_ms() + RT_WAIT_MS;
	do
	{
		pump_once(rts, 2);
		assert_int_equal(quorum_runtime_stats(rts[1], &s2), 0);
	} while (s2.tcp_fallbacks < 3 && quorum_runtime_now_ms() < end);
	assert_int_equal(quorum_runtime_stats(rts[0], &s1), 0);
	assert_true(s2.tcp_fallbacks >= 3);
	assert_int_equal(s2.tcp_frames_out, 0);
	assert_int_equal(s1.tcp_frames_in, 0);
	assert_true(s1.node.pushpulls >= 2);
	/* n1 still answers push-pulls: the exchange works, by UDP. */
	assert_int_equal(rt_count_state(rts[0], QUORUM_MEMBER_ALIVE), 2);
	free_pair(rts, recs);
}

/* Garbage on the TCP port closes that connection and nothing else. */
static void
test_tcp_garbage(void **state)
{
	struct quorum_runtime_config rc;
	struct quorum_runtime_stats st;
	struct sockaddr_in sin;
	quorum_runtime *rt;
	struct quorum_addr a;
	uint8_t		bad[3][64];
	size_t		lens[3];

	/* Not our protocol at all. */
	memcpy(bad[0], "GET / HTTP/1.0\r\n\r\n", 18);
	lens[0] = 18;
	/* A frame longer than any datagram. */
	memcpy(bad[1], "QPT1\x1f\x90\0\0\xff\xff\xff\xff", 12);
	lens[1] = 12;
	/* A well-framed datagram sealed with a key nobody has. */
	memcpy(bad[2], "QPT1\x1f\x90\0\0\0\0\0\x28\x01\xaa\xbb\xcc\xdd", 17);
	memset(bad[2] + 17, 'x', 35);
	lens[2] = 12 + 40;

	rt_config(&rc, "n1", 0, NULL);
	rc.tcp = QUORUM_RUNTIME_TCP_ON;
	assert_int_equal(quorum_runtime_new(&rc, &rt, NULL, 0), 0);
	a = rt_addr_of(rt);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(a.port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	for (int i = 0; i < 3; i++)
	{
		int			fd = socket(AF_INET, SOCK_STREAM, 0);
		quorum_time_ms end = quorum_runtime_now_ms() + RT_WAIT_MS;
		uint64_t	errors_before;
		struct quorum_runtime_stats now;

		assert_int_equal(quorum_runtime_stats(rt, &st), 0);
		errors_before = st.tcp_errors;
		assert_int_equal(connect(fd, (struct sockaddr *) &sin, sizeof(sin)), 0);
		assert_int_equal(send(fd, bad[i], lens[i], 0), (ssize_t) lens[i]);
		close(fd);
		do
		{
			assert_int_equal(quorum_runtime_process(rt, quorum_runtime_now_ms()), 0);
			assert_int_equal(quorum_runtime_stats(rt, &now), 0);
			rt_sleep_ms(2);
		} while (now.tcp_errors == errors_before && now.node.drops[QUORUM_DROP_AUTH] == 0 &&
				 quorum_runtime_now_ms() < end);
		if (i < 2)
			assert_true(now.tcp_errors > errors_before);
		else
		{
			assert_int_equal(now.node.drops[QUORUM_DROP_AUTH], 1);
			assert_int_equal(now.tcp_errors, errors_before);
		}
	}
	assert_int_equal(quorum_runtime_stats(rt, &st), 0);
	assert_int_equal(st.tcp_accepts, 3);
	assert_int_equal(st.tcp_frames_in, 1);
	assert_int_equal(st.node.datagrams_in, 1);
	quorum_runtime_free(rt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_invalid),
		cmocka_unit_test(test_bind_conflict),
		cmocka_unit_test(test_null_and_freed),
		cmocka_unit_test(test_driven_pair),
		cmocka_unit_test(test_driven_facts_and_leave),
		cmocka_unit_test(test_reentry_from_callback),
		cmocka_unit_test(test_free_from_callback),
		cmocka_unit_test(test_persist_failure),
		cmocka_unit_test(test_tcp_pushpull_driven),
		cmocka_unit_test(test_tcp_fallback),
		cmocka_unit_test(test_tcp_garbage),
		cmocka_unit_test(test_clock_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
