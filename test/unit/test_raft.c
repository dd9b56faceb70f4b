/*-------------------------------------------------------------------------
 *
 * test_raft.c
 *	  Unit tests of the election and decision-log state machine (raft.h),
 *	  driven directly through its pure API by a small message pump.
 *
 * The pump carries quorum__raft_msg structs between up to 7 instances with a
 * fixed latency, optional loss, per-link cuts, crashes and restarts.  Each
 * node has its own clock (origin and drift in ppm) while the pump keeps a
 * global one, so the lease can be checked in real time.  After every input
 * the pump does what a host does: write the durable image to a fake disk,
 * then "send" and record events, and on every step it checks persist-before-
 * send, one leader per term and at most one valid lease at a time.  A
 * restart boots from the disk only, never from the old instance's memory.
 *
 * test/unit/test_raft.c
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

#include "raft.h"
#include "quorum/error.h"

#define T_MAX 7
#define T_QUEUE_MAX 8192
#define T_EVENTS_MAX 4096
#define T_TERMS_MAX 4096
#define T_LATENCY_MS 2
/* The default election timeout span, as libquorum derives it. */
#define T_ELECTION_MAX_MS quorum_timing_election_max_ms(QUORUM__RAFT_ELECTION_MIN_MS)

struct t_node
{
	struct quorum__raft r;
	struct quorum__raft_config cfg;
	struct quorum_meta facts;
	bool		up;
	struct quorum_election_durable disk;	/* the fake disk */
	bool		disk_written;
	unsigned	persists;
	unsigned	boots;			/* the datagram header's boot (node.c) */
	int32_t		ppm;
	int64_t		origin;
};

struct t_item
{
	quorum_time_ms at;
	unsigned	from;
	unsigned	to;
	struct quorum__raft_msg m;
};

struct t_event
{
	unsigned	node;
	quorum_time_ms global_ms;
	struct quorum__raft_event e;
};

struct t_world
{
	unsigned	n;
	quorum_time_ms now;			/* global */
	struct t_node node[T_MAX];
	bool		cut[T_MAX][T_MAX];
	struct t_item *q;			/* ring, FIFO by time (fixed latency) */
	size_t		head;
	size_t		len;
	double		loss;
	uint64_t	rng;
	int			drop_type;		/* drop messages of this type ... */
	unsigned	drop_count;		/* ... this many times */
	bool		old_version[T_MAX]; /* release 0.1 on the wire (t_enqueue) */
	struct t_event ev[T_EVENTS_MAX];
	size_t		n_ev;
	char		term_leader[T_TERMS_MAX][QUORUM_NAME_MAX + 1];
	char		violation[512];
	uint64_t	delivered;
};

static struct t_world *W;

/* ------------------------------------------------------------------------
 * The pump
 * ------------------------------------------------------------------------
 */

static quorum_time_ms
t_local(unsigned i, quorum_time_ms g)
{
	const struct t_node *tn = &W->node[i];

	return (quorum_time_ms) (tn->origin + (int64_t) g +
							 (int64_t) g * tn->ppm / 1000000);
}

/* The first global instant at which node i's clock reads at least local. */
static quorum_time_ms
t_global(unsigned i, quorum_time_ms local)
{
	int64_t		g = ((int64_t) local - W->node[i].origin) * 1000000 /
		(1000000 + W->node[i].ppm);

	if (g < 0)
		g = 0;
	while (t_local(i, (quorum_time_ms) g) < local)
		g++;
	while (g > 0 && t_local(i, (quorum_time_ms) g - 1) >= local)
		g--;
	return (quorum_time_ms) g;
}

static int
t_index(const char *name)
{
	for (unsigned i = 0; i < W->n; i++)
		if (strcmp(W->node[i].cfg.name, name) == 0)
			return (int) i;
	return -1;
}

static bool
t_chance(double p)
{
	W->rng = W->rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double) (W->rng >> 11) / 9007199254740992.0 < p;
}

static void
t_violate(const char *fmt,...)
{
	va_list		ap;

	if (W->violation[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(W->violation, sizeof(W->violation), fmt, ap);
	va_end(ap);
}

/*
 * Persist-before-send: after the disk write, no message may reveal a term
 * above the disk's, a vote the disk does not hold, or log entries it lacks.
 */
static void
t_check_msg(unsigned i, const struct quorum__raft_msg *m)
{
	const struct quorum_election_durable *disk = &W->node[i].disk;
	/* A MEMBER names the term of the vote it goes with, a pre-vote's too. */
	bool		pre = m->type == QUORUM__RAFT_MSG_PREVOTE ||
		m->type == QUORUM__RAFT_MSG_PREVOTE_RESP ||
		m->type == QUORUM__RAFT_MSG_MEMBER;

	if (!pre && m->term > disk->term)
		t_violate("n%u sent %s of term %llu with term %llu on disk", i + 1,
				  quorum__raft_msg_type_name(m->type),
				  (unsigned long long) m->term, (unsigned long long) disk->term);
	if (m->type == QUORUM__RAFT_MSG_VOTE_RESP && m->u.vote_resp.granted &&
		(disk->term != m->term || strcmp(disk->voted_for, m->to) != 0))
		t_violate("n%u granted its vote to %s in term %llu before writing it",
				  i + 1, m->to, (unsigned long long) m->term);
	if (m->type == QUORUM__RAFT_MSG_VOTE &&
		strcmp(disk->voted_for, m->from) != 0)
		t_violate("n%u asked for votes before writing its own", i + 1);
	if (m->type == QUORUM__RAFT_MSG_APPEND_RESP && m->u.append_resp.success &&
		m->u.append_resp.match_index > disk->snap.index + disk->n_entries)
		t_violate("n%u acknowledged index %llu with %llu on disk", i + 1,
				  (unsigned long long) m->u.append_resp.match_index,
				  (unsigned long long) (disk->snap.index + disk->n_entries));
}

static void
t_enqueue(unsigned from, const struct quorum__raft_msg *m)
{
	int			to = t_index(m->to);
	struct t_item *it;

	if (to < 0 || W->cut[from][to] || t_chance(W->loss))
		return;
	if ((int) m->type == W->drop_type && W->drop_count > 0)
	{
		W->drop_count--;
		return;
	}
	assert_true(W->len < T_QUEUE_MAX);
	it = &W->q[(W->head + W->len++) % T_QUEUE_MAX];
	it->at = W->now + T_LATENCY_MS;
	it->from = from;
	it->to = (unsigned) to;
	it->m = *m;
	it->m.boot = W->node[from].boots;
	/* 0.1 asks for no promise, sends none, and echoes the ask unread. */
	if (W->old_version[from] && m->type == QUORUM__RAFT_MSG_APPEND)
		it->m.u.append.promise_asked = false;
	if (W->old_version[from] && m->type == QUORUM__RAFT_MSG_SNAPSHOT)
		it->m.u.snapshot.promise_asked = false;
	if (W->old_version[from] && m->type == QUORUM__RAFT_MSG_APPEND_RESP)
	{
		it->m.u.append_resp.promise_ms = 0;
		it->m.u.append_resp.member_id = 0;
	}
	/* 0.1 neither sends MEMBER nor decodes it, nor decisions with ids. */
	if ((W->old_version[from] || W->old_version[to]) &&
		m->type == QUORUM__RAFT_MSG_MEMBER)
	{
		W->len--;
		return;
	}
	if (W->old_version[to] && m->type == QUORUM__RAFT_MSG_APPEND)
		for (uint32_t k = 0; k < m->u.append.n_entries; k++)
			if (m->u.append.entries[k].member_id != 0)
				t_violate("n%u sent a member id to n%d, of release 0.1", from + 1, to + 1);
	if (W->old_version[to] && m->type == QUORUM__RAFT_MSG_SNAPSHOT)
		for (unsigned k = 0; k < m->u.snapshot.snap.n_voters; k++)
			if (m->u.snapshot.snap.voter_ids[k] != 0)
				t_violate("n%u sent a member id to n%d, of release 0.1", from + 1, to + 1);
	/* 0.1's decoder drops an answer with a promise as malformed. */
	if (W->old_version[to] && m->type == QUORUM__RAFT_MSG_APPEND_RESP &&
		m->u.append_resp.promise_ms != 0)
		t_violate("n%u sent a promise to n%d, of release 0.1", from + 1, to + 1);
}

/* Invariants after every step: one leader per term, one lease at a time. */
static void
t_check_world(void)
{
	int			holder = -1;

	for (unsigned i = 0; i < W->n; i++)
	{
		struct t_node *tn = &W->node[i];

		if (!tn->up)
			continue;
		if (tn->r.state == QUORUM__RAFT_LEADER && tn->r.d.term < T_TERMS_MAX)
		{
			char	   *slot = W->term_leader[tn->r.d.term];

			if (slot[0] == '\0')
				memcpy(slot, tn->cfg.name, QUORUM_NAME_MAX + 1);
			else if (strcmp(slot, tn->cfg.name) != 0)
				t_violate("two leaders in term %llu: %s and %s",
						  (unsigned long long) tn->r.d.term, slot, tn->cfg.name);
		}
		if (quorum__raft_has_lease(&tn->r, t_local(i, W->now)))
		{
			if (holder >= 0)
				t_violate("n%d and n%u both hold a lease at %llu", holder + 1,
						  i + 1, (unsigned long long) W->now);
			holder = (int) i;
		}
	}
}

static void
t_output(unsigned i)
{
	struct t_node *tn = &W->node[i];
	struct quorum__raft *r = &tn->r;

	if (r->persist)
	{
		quorum__raft_durable_image(r, &tn->disk);
		tn->disk_written = true;
		tn->persists++;
	}
	for (unsigned k = 0; k < r->n_out; k++)
	{
		t_check_msg(i, &r->out[k]);
		t_enqueue(i, &r->out[k]);
	}
	for (unsigned k = 0; k < r->n_events && W->n_ev < T_EVENTS_MAX; k++)
	{
		W->ev[W->n_ev].node = i;
		W->ev[W->n_ev].global_ms = W->now;
		W->ev[W->n_ev].e = r->events[k];
		W->n_ev++;
	}
	quorum__raft_output_reset(r);
	t_check_world();
}

/* A tick; like a host that samples its database, it feeds the facts too. */
static void
t_tick(unsigned i)
{
	quorum__raft_set_facts(&W->node[i].r, &W->node[i].facts, t_local(i, W->now));
	quorum__raft_tick(&W->node[i].r, t_local(i, W->now));
	t_output(i);
}

static void
t_run_until(quorum_time_ms end)
{
	quorum_time_ms last = UINT64_MAX;
	unsigned	same = 0;

	for (;;)
	{
		quorum_time_ms next = UINT64_MAX;
		int			who = -1;

		if (W->len > 0)
			next = W->q[W->head].at;
		for (unsigned i = 0; i < W->n; i++)
		{
			quorum_time_ms d;

			if (!W->node[i].up)
				continue;
			d = t_global(i, quorum__raft_deadline(&W->node[i].r));
			if (d < next)
			{
				next = d;
				who = (int) i;
			}
		}
		if (next > end)
			break;
		if (next > W->now)
			W->now = next;
		same = W->now == last ? same + 1 : 0;
		last = W->now;
		assert_true(same < 1000);	/* a deadline that never moves */
		if (who >= 0)
		{
			t_tick((unsigned) who);
			continue;
		}
		{
			struct t_item it = W->q[W->head];

			W->head = (W->head + 1) % T_QUEUE_MAX;
			W->len--;
			if (!W->node[it.to].up || W->cut[it.from][it.to])
				continue;
			W->delivered++;
			quorum__raft_receive(&W->node[it.to].r, &it.m, t_local(it.to, W->now));
			t_output(it.to);
		}
	}
	W->now = end;
}

static void
t_run_for(quorum_time_ms ms)
{
	t_run_until(W->now + ms);
}

/* ------------------------------------------------------------------------
 * Nodes
 * ------------------------------------------------------------------------
 */

static void
t_peers_seen(unsigned i)
{
	for (unsigned j = 0; j < W->n; j++)
		if (j != i && W->node[j].cfg.name[0] != '\0')
			quorum__raft_peer_seen(&W->node[i].r, W->node[j].cfg.name,
								   W->node[j].facts.role, t_local(i, W->now));
}

static void
t_boot(unsigned i)
{
	struct t_node *tn = &W->node[i];
	char		err[256] = "";

	assert_int_equal(quorum__raft_init(&tn->r, &tn->cfg,
									   tn->disk_written ? &tn->disk : NULL,
									   &tn->facts, t_local(i, W->now), err,
									   sizeof(err)), 0);
	tn->up = true;
	tn->boots++;
	t_peers_seen(i);
	t_output(i);
}

static void
t_crash(unsigned i)
{
	if (!W->node[i].up)
		return;
	quorum__raft_destroy(&W->node[i].r);
	W->node[i].up = false;
}

static void
t_restart(unsigned i)
{
	t_crash(i);
	t_boot(i);
}

static void
t_set_facts(unsigned i, enum quorum_role role, uint32_t tl, uint64_t lsn,
			int32_t priority)
{
	struct t_node *tn = &W->node[i];

	tn->facts.role = role;
	tn->facts.timeline = tl;
	tn->facts.lsn = lsn;
	tn->facts.priority = priority;
	if (tn->up)
	{
		quorum__raft_set_facts(&tn->r, &tn->facts, t_local(i, W->now));
		t_output(i);
	}
}

/* n nodes n1..nn, all voters of an explicit list unless voters < n. */
static void
t_world(unsigned n, unsigned voters, uint64_t seed)
{
	W->n = n;
	W->rng = seed;
	for (unsigned i = 0; i < n; i++)
	{
		struct quorum__raft_config *c = &W->node[i].cfg;

		quorum__raft_config_init(c);
		snprintf(c->name, sizeof(c->name), "n%u", i + 1);
		c->seed = seed * 100 + i;
		c->voter = i < voters;
		c->n_initial_voters = voters;
		for (unsigned v = 0; v < voters; v++)
			snprintf(c->initial_voters[v], sizeof(c->initial_voters[v]), "n%u", v + 1);
		W->node[i].facts.role = QUORUM_ROLE_STANDBY;
		W->node[i].facts.timeline = 1;
		W->node[i].facts.lsn = 1000;
		W->node[i].facts.priority = 100;
	}
}

static void
t_boot_all(void)
{
	for (unsigned i = 0; i < W->n; i++)
		t_boot(i);
	/* Gossip: everyone knows everyone, whatever the boot order. */
	for (unsigned i = 0; i < W->n; i++)
	{
		t_peers_seen(i);
		t_output(i);
	}
}

static int
t_leader(void)
{
	int			best = -1;

	for (unsigned i = 0; i < W->n; i++)
		if (W->node[i].up && W->node[i].r.state == QUORUM__RAFT_LEADER &&
			(best < 0 || W->node[i].r.d.term > W->node[best].r.d.term))
			best = (int) i;
	return best;
}

/* A leader with a lease that every running node follows. */
static bool
t_stable(void)
{
	int			l = t_leader();

	if (l < 0 || !quorum__raft_has_lease(&W->node[l].r, t_local((unsigned) l, W->now)))
		return false;
	for (unsigned i = 0; i < W->n; i++)
		if (W->node[i].up && !W->cut[l][i] && !W->cut[i][l] &&
			strcmp(W->node[i].r.leader, W->node[l].cfg.name) != 0)
			return false;
	return true;
}

/* The leader has bound every voter to a member id, and committed it. */
static bool
t_ids_bound(void)
{
	int			l = t_leader();

	if (l < 0 || W->node[l].r.config_index > W->node[l].r.commit)
		return false;
	for (unsigned v = 0; v < W->node[l].r.n_voters; v++)
		if (W->node[l].r.voter_ids[v] == 0)
			return false;
	return true;
}

/* t_stable() with a leader other than t_not, or equal to t_want if set. */
static int	t_not = -1;
static int	t_want = -1;

static bool
t_stable_new(void)
{
	int			l = t_leader();

	return t_stable() && l != t_not && (t_want < 0 || l == t_want);
}

static bool
t_wait(bool (*pred) (void), quorum_time_ms bound_ms)
{
	quorum_time_ms end = W->now + bound_ms;

	while (!pred())
	{
		if (W->now >= end)
			return false;
		t_run_for(5);
	}
	return true;
}

static void
t_isolate(unsigned i, bool on)
{
	for (unsigned j = 0; j < W->n; j++)
		if (j != i)
			W->cut[i][j] = W->cut[j][i] = on;
}

static void
t_heal(void)
{
	memset(W->cut, 0, sizeof(W->cut));
}

static size_t
t_count(unsigned node, enum quorum__raft_event_type type)
{
	size_t		n = 0;

	for (size_t k = 0; k < W->n_ev; k++)
		if (W->ev[k].node == node && W->ev[k].e.type == type)
			n++;
	return n;
}

/* Global time of node's last event of type, or 0. */
static quorum_time_ms
t_last_at(unsigned node, enum quorum__raft_event_type type)
{
	quorum_time_ms at = 0;

	for (size_t k = 0; k < W->n_ev; k++)
		if (W->ev[k].node == node && W->ev[k].e.type == type)
			at = W->ev[k].global_ms;
	return at;
}

static struct quorum__raft_msg
t_vote_msg(const char *from, const char *to, uint64_t term,
		   const struct quorum__raft *like, bool pre)
{
	struct quorum__raft_msg m;

	memset(&m, 0, sizeof(m));
	m.type = pre ? QUORUM__RAFT_MSG_PREVOTE : QUORUM__RAFT_MSG_VOTE;
	snprintf(m.from, sizeof(m.from), "%s", from);
	snprintf(m.to, sizeof(m.to), "%s", to);
	m.term = term;
	m.config_id = like->d.snap.config_id;
	m.u.vote.last_index = quorum__raft_last_index(like);
	m.u.vote.last_term = quorum__raft_last_term(like);
	m.u.vote.pos.role = QUORUM_ROLE_STANDBY;
	m.u.vote.pos.timeline = 1;
	m.u.vote.pos.lsn = 1000;
	m.u.vote.pos.priority = 100;
	return m;
}

/* Delivers m to node i at once and returns its answer (a copy). */
static struct quorum__raft_msg
t_ask(unsigned i, const struct quorum__raft_msg *m)
{
	struct quorum__raft *r = &W->node[i].r;
	struct quorum__raft_msg answer;

	memset(&answer, 0, sizeof(answer));
	quorum__raft_receive(r, m, t_local(i, W->now));
	/* The first: a granted vote's MEMBER follows its VOTE_RESP. */
	for (unsigned k = 0; k < r->n_out; k++)
		if (strcmp(r->out[k].to, m->from) == 0)
		{
			answer = r->out[k];
			break;
		}
	t_output(i);
	return answer;
}

static int
t_setup(void **state)
{
	(void) state;
	W = calloc(1, sizeof(*W));
	if (W == NULL)
		return 1;
	W->q = calloc(T_QUEUE_MAX, sizeof(*W->q));
	W->drop_type = -1;
	t_not = t_want = -1;
	return W->q == NULL;
}

static int
t_teardown(void **state)
{
	(void) state;
	for (unsigned i = 0; i < T_MAX; i++)
		t_crash(i);
	free(W->q);
	free(W);
	W = NULL;
	return 0;
}

#define T_NO_VIOLATION() \
	do { if (W->violation[0] != '\0') fail_msg("%s", W->violation); } while (0)

/* ------------------------------------------------------------------------
 * Tests: configuration
 * ------------------------------------------------------------------------
 */

static void
test_lease_length(void **state)
{
	struct quorum__raft_config c;
	struct quorum__raft r;
	char		err[256];

	(void) state;
	quorum__raft_config_init(&c);
	/* 1200 * 0.995 / 1.005 = 1188.06, minus the 100 ms margin. */
	assert_int_equal(quorum__raft_lease_length(&c), 1088);
	c.drift_ppm = 0;
	assert_int_equal(quorum__raft_lease_length(&c), 1100);
	/* The timing rule: below E / (1 + rho) * (1 - rho) for every rho. */
	for (uint32_t ppm = 0; ppm < 100000; ppm += 997)
	{
		c.drift_ppm = ppm;
		assert_true((double) quorum__raft_lease_length(&c) / (1 - ppm / 1e6) <
					(double) c.election_timeout_min_ms / (1 + ppm / 1e6));
	}
	quorum__raft_config_init(&c);
	snprintf(c.name, sizeof(c.name), "n1");
	c.election_timeout_min_ms = 150;
	assert_int_equal(quorum__raft_init(&r, &c, NULL, NULL, 0, err, sizeof(err)),
					 QUORUM_EINVAL);
	assert_non_null(strstr(err, "heartbeat"));
	quorum__raft_config_init(&c);
	snprintf(c.name, sizeof(c.name), "n1");
	c.election_timeout_max_ms = 1000;
	assert_int_equal(quorum__raft_init(&r, &c, NULL, NULL, 0, err, sizeof(err)),
					 QUORUM_EINVAL);
}

/* The peer table under churn: lookups by name stay right, voters stay. */
static void
test_peer_table_churn(void **state)
{
	struct quorum__raft_config c;
	struct quorum__raft r;
	char		name[16];
	unsigned	found = 0;

	(void) state;
	quorum__raft_config_init(&c);
	snprintf(c.name, sizeof(c.name), "self");
	c.peers_max = 64;
	c.n_initial_voters = 2;
	snprintf(c.initial_voters[0], sizeof(c.initial_voters[0]), "self");
	snprintf(c.initial_voters[1], sizeof(c.initial_voters[1]), "v1");
	assert_int_equal(quorum__raft_init(&r, &c, NULL, NULL, 0, NULL, 0), 0);
	for (unsigned round = 0; round < 20; round++)
	{
		for (unsigned i = 0; i < 100; i++)
		{
			snprintf(name, sizeof(name), "m%u", (i * 7 + round) % 100);
			quorum__raft_peer_seen(&r, name, QUORUM_ROLE_STANDBY, round);
		}
		/* Room for the largest voter set is kept free of non-voters. */
		assert_true(r.n_peers <= c.peers_max - 1);
		for (unsigned i = 0; i < 100; i += 1 + round % 3)
		{
			snprintf(name, sizeof(name), "m%u", i);
			quorum__raft_peer_gone(&r, name, round);
		}
		quorum__raft_peer_gone(&r, "v1", round);
		assert_non_null(quorum__raft_peer_find(&r, "v1"));
		for (unsigned k = 0; k < r.n_peers; k++)
			assert_ptr_equal(quorum__raft_peer_find(&r, r.peers[k].name), &r.peers[k]);
	}
	for (unsigned i = 0; i < 100; i++)
	{
		snprintf(name, sizeof(name), "m%u", i);
		found += quorum__raft_peer_find(&r, name) != NULL;
	}
	assert_int_equal(found + 1, r.n_peers);
	assert_null(quorum__raft_peer_find(&r, "self"));
	quorum__raft_destroy(&r);
}

/* ------------------------------------------------------------------------
 * Tests: election
 * ------------------------------------------------------------------------
 */

static void
test_election_three(void **state)
{
	int			l;

	(void) state;
	t_world(3, 3, 1);
	t_boot_all();
	/* Fresh nodes are sticky for E, then the shortest timeout wins. */
	assert_true(t_wait(t_stable, 2 * T_ELECTION_MAX_MS + 200));
	l = t_leader();
	assert_true(l >= 0);
	assert_true(W->now >= QUORUM__RAFT_ELECTION_MIN_MS);
	assert_int_equal(W->node[l].r.d.term, 1);
	assert_int_equal(t_count((unsigned) l, QUORUM__RAFT_EV_LEASE_GAINED), 1);
	t_run_for(QUORUM__RAFT_HEARTBEAT_MS + 2 * T_LATENCY_MS);
	for (unsigned i = 0; i < 3; i++)
	{
		assert_string_equal(W->node[i].r.leader, W->node[l].cfg.name);
		/*
		 * The NOOP of term 1 is committed everywhere, and so are the three
		 * decisions that bind each voter to its member id.
		 */
		assert_int_equal(W->node[i].r.commit, 5);
		for (unsigned v = 0; v < 3; v++)
			assert_int_equal(W->node[i].r.voter_ids[v],
							 W->node[t_index(W->node[i].r.voters[v])].r.cfg.member_id);
	}
	/* And it stays so: heartbeats keep everyone in term 1. */
	t_run_for(20000);
	assert_int_equal(t_leader(), l);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(W->node[i].r.d.term, 1);
	T_NO_VIOLATION();
}

static void
test_single_voter(void **state)
{
	(void) state;
	t_world(1, 1, 2);
	t_boot_all();
	assert_true(t_wait(t_stable, 4000));
	assert_int_equal(W->node[0].r.commit, 2);
	T_NO_VIOLATION();
}

/* Over many seeds: one leader per term, elected in the predicted window. */
static void
test_election_many_seeds(void **state)
{
	(void) state;
	for (uint64_t seed = 1; seed <= 40; seed++)
	{
		unsigned	n = 3 + 2 * (unsigned) (seed % 3);

		t_teardown(NULL);
		t_setup(NULL);
		t_world(n, n, seed);
		W->loss = 0.02;
		t_boot_all();
		assert_true(t_wait(t_stable, 12000));
		T_NO_VIOLATION();
	}
}

/* A crashed leader is replaced after a timeout, with a lease, in time. */
static void
test_leader_crash_failover(void **state)
{
	int			old,
				now_leader;
	quorum_time_ms crash_at;

	(void) state;
	t_world(5, 5, 3);
	t_boot_all();
	assert_true(t_wait(t_stable, 6000));
	old = t_leader();
	t_run_for(537);
	crash_at = W->now;
	t_crash((unsigned) old);
	assert_true(t_wait(t_stable, T_ELECTION_MAX_MS + 500));
	now_leader = t_leader();
	assert_int_not_equal(now_leader, old);
	/* Never before the minimum timeout since the last heartbeat. */
	assert_true(W->now - crash_at >=
				QUORUM__RAFT_ELECTION_MIN_MS - QUORUM__RAFT_HEARTBEAT_MS);
	assert_int_equal(W->node[now_leader].r.d.term, 2);
	T_NO_VIOLATION();
}

/*
 * A message of type from node from to node to in term, its body zero (a
 * RESIGN has none; an APPEND so is an empty heartbeat), delivered now.
 */
static void
t_deliver(enum quorum__raft_msg_type type, unsigned from, unsigned to, uint64_t term)
{
	struct quorum__raft_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	strcpy(m.from, W->node[from].cfg.name);
	strcpy(m.to, W->node[to].cfg.name);
	m.term = term;
	m.config_id = W->node[to].r.d.snap.config_id;
	quorum__raft_receive(&W->node[to].r, &m, t_local(to, W->now));
	t_output(to);
}

/* Leader old resigns, giving its lease up, and dies; returns when. */
static quorum_time_ms
t_resign_and_die(unsigned old)
{
	quorum_time_ms at = W->now;

	assert_int_equal(quorum__raft_resign(&W->node[old].r, t_local(old, W->now)), 0);
	assert_false(quorum__raft_has_lease(&W->node[old].r, t_local(old, W->now)));
	t_output(old);
	t_crash(old);
	t_not = (int) old;
	return at;
}

/*
 * A leader whose database died resigns (raft_resign.c): the others elect a
 * leader long before the minimum election timeout, with one lease at a
 * time throughout; a RESIGN from a follower, of another term, or replayed
 * once the term moved on changes nothing, and only a leader can resign.
 * A heartbeat it sent just before, overtaken by the RESIGN, does not name
 * it leader again: the voter would be sticky once more and refuse the
 * other's pre-vote for a whole election timeout.
 */
static void
test_leader_resigns(void **state)
{
	unsigned	old,
				a,
				b;
	int			l;
	quorum_time_ms at;

	(void) state;
	t_world(3, 3, 7);
	t_boot_all();
	assert_true(t_wait(t_stable, 2 * T_ELECTION_MAX_MS + 200));
	old = (unsigned) t_leader();
	a = (old + 1) % 3;
	b = (old + 2) % 3;
	t_run_for(537);

	t_deliver(QUORUM__RAFT_MSG_RESIGN, a, b, W->node[b].r.d.term);
	t_deliver(QUORUM__RAFT_MSG_RESIGN, old, b, W->node[b].r.d.term - 1);
	t_deliver(QUORUM__RAFT_MSG_RESIGN, old, b, W->node[b].r.d.term + 1);
	assert_string_equal(W->node[b].r.leader, W->node[old].cfg.name);
	assert_int_equal(quorum__raft_resign(&W->node[a].r, t_local(a, W->now)), QUORUM_ESTATE);
	t_output(a);

	at = t_resign_and_die(old);
	t_deliver(QUORUM__RAFT_MSG_RESIGN, old, b, 1);
	t_deliver(QUORUM__RAFT_MSG_APPEND, old, b, 1);
	assert_string_equal(W->node[b].r.leader, "");
	assert_true(t_wait(t_stable_new, QUORUM__RAFT_ELECTION_MIN_MS / 2));
	assert_true(W->now - at < QUORUM__RAFT_ELECTION_MIN_MS / 2);
	l = t_leader();
	assert_int_equal(W->node[l].r.d.term, 2);

	/* The old term's RESIGN, replayed, leaves the new leader in place. */
	t_deliver(QUORUM__RAFT_MSG_RESIGN, old, (unsigned) l == a ? b : a, 1);
	t_run_for(3 * T_ELECTION_MAX_MS);
	assert_int_equal(t_leader(), l);
	assert_int_equal(W->node[l].r.d.term, 2);
	T_NO_VIOLATION();
}

/* Delivers node from's pending message to node to, if any, at once. */
static void
t_deliver_pending(unsigned from, unsigned to)
{
	struct quorum__raft *r = &W->node[from].r;

	for (unsigned k = 0; k < r->n_out; k++)
		if (strcmp(r->out[k].to, W->node[to].cfg.name) == 0)
		{
			quorum__raft_receive(&W->node[to].r, &r->out[k], t_local(to, W->now));
			t_output(to);
			return;
		}
}

/*
 * Five voters; the leader resigns and dies; two of the others campaign at
 * the same instant, and each gets one of the two remaining votes first.
 * Nobody can win that term: the candidates see the split and try again
 * after a heartbeat or two, so there is a leader long before the minimum
 * election timeout.
 */
static void
test_split_vote_after_resign(void **state)
{
	(void) state;
	for (uint64_t seed = 200; seed < 210; seed++)
	{
		unsigned	old,
					a,
					b,
					c,
					d;
		uint64_t	term;
		quorum_time_ms at;

		t_teardown(NULL);
		t_setup(NULL);
		t_world(5, 5, seed);
		t_boot_all();
		assert_true(t_wait(t_stable, 2 * T_ELECTION_MAX_MS + 200));
		old = (unsigned) t_leader();
		a = (old + 1) % 5;
		b = (old + 2) % 5;
		c = (old + 3) % 5;
		d = (old + 4) % 5;
		term = W->node[old].r.d.term;
		t_run_for(537);
		at = t_resign_and_die(old);
		for (unsigned i = 0; i < 5; i++)
			if (i != old)
				t_deliver(QUORUM__RAFT_MSG_RESIGN, old, i, term);
		quorum__raft_campaign(&W->node[a].r, false);
		quorum__raft_campaign(&W->node[c].r, false);
		t_deliver_pending(a, b);
		t_deliver_pending(c, d);
		assert_string_equal(W->node[b].r.d.voted_for, W->node[a].cfg.name);
		assert_string_equal(W->node[d].r.d.voted_for, W->node[c].cfg.name);
		t_output(a);
		t_output(c);
		assert_true(t_wait(t_stable_new, QUORUM__RAFT_ELECTION_MIN_MS / 2));
		assert_true(W->now - at < QUORUM__RAFT_ELECTION_MIN_MS / 2);
		assert_true(W->node[t_leader()].r.d.term > term + 1);
		T_NO_VIOLATION();
	}
}

/*
 * Both followers' timers run out at the same instant, or a round trip
 * apart: the lower-ranked one yields at the pre-vote (or, having just
 * granted one, waits), so the vote is not split and term + 1 has a leader.
 */
static void
test_simultaneous_candidates_no_split(void **state)
{
	(void) state;
	for (uint64_t seed = 100; seed < 130; seed++)
	{
		quorum_time_ms offset = (seed % 3) * 2 + (seed % 2);
		int			l;
		unsigned	a,
					b;
		uint64_t	term;

		t_teardown(NULL);
		t_setup(NULL);
		t_world(3, 3, seed);
		t_boot_all();
		assert_true(t_wait(t_stable, 6000));
		l = t_leader();
		a = ((unsigned) l + 1) % 3;
		b = ((unsigned) l + 2) % 3;
		term = W->node[l].r.d.term;
		t_crash((unsigned) l);
		t_run_for(QUORUM__RAFT_ELECTION_MIN_MS / 2);
		W->node[a].r.election_at_ms = t_local(a, W->now) + QUORUM__RAFT_ELECTION_MIN_MS;
		W->node[b].r.election_at_ms = W->node[a].r.election_at_ms + offset;
		t_not = l;
		assert_true(t_wait(t_stable_new, QUORUM__RAFT_ELECTION_MIN_MS + 300));
		assert_int_equal(W->node[t_leader()].r.d.term, term + 1);
		/* At the same instant, the higher-ranked (the smaller name) wins. */
		if (offset == 0)
			assert_int_equal(t_leader(), (int) (a < b ? a : b));
		T_NO_VIOLATION();
	}
}

/* One lost vote answer costs a heartbeat, not an election timeout. */
static void
test_lost_vote_resent(void **state)
{
	int			l;
	quorum_time_ms crash_at;

	(void) state;
	t_world(3, 3, 27);
	t_boot_all();
	assert_true(t_wait(t_stable, 6000));
	l = t_leader();
	W->drop_type = QUORUM__RAFT_MSG_VOTE_RESP;
	W->drop_count = 1;
	crash_at = W->now;
	t_crash((unsigned) l);
	t_not = l;
	assert_true(t_wait(t_stable_new, T_ELECTION_MAX_MS +
					   2 * QUORUM__RAFT_HEARTBEAT_MS));
	assert_int_equal(W->drop_count, 0);
	assert_true(W->now - crash_at <= T_ELECTION_MAX_MS +
				2 * QUORUM__RAFT_HEARTBEAT_MS);
	T_NO_VIOLATION();
}

/* A leader stopped for 1 s (SIGSTOP) comes back to no election at all. */
static void
test_pause_one_second_no_election(void **state)
{
	int			l;
	uint64_t	term;

	(void) state;
	t_world(3, 3, 4);
	t_boot_all();
	assert_true(t_wait(t_stable, 6000));
	l = t_leader();
	term = W->node[l].r.d.term;
	for (int round = 0; round < 10; round++)
	{
		/* Stopped: it neither ticks nor reads; what it sends is lost. */
		t_run_for(33);
		W->node[l].up = false;
		t_isolate((unsigned) l, true);
		t_run_for(1000);
		t_isolate((unsigned) l, false);
		W->node[l].up = true;
		t_tick((unsigned) l);
		t_run_for(3000);
		assert_int_equal(t_leader(), l);
		for (unsigned i = 0; i < 3; i++)
			assert_int_equal(W->node[i].r.d.term, term);
	}
	T_NO_VIOLATION();
}

/* Pre-vote: a node back from a partition does not depose the leader. */
static void
test_prevote_no_disruption(void **state)
{
	int			l;
	unsigned	f;
	uint64_t	term;

	(void) state;
	t_world(3, 3, 5);
	t_boot_all();
	assert_true(t_wait(t_stable, 6000));
	l = t_leader();
	f = ((unsigned) l + 1) % 3;
	term = W->node[l].r.d.term;
	t_isolate(f, true);
	t_run_for(10000);
	/* It kept asking for pre-votes, but never bumped its term. */
	assert_true(W->node[f].r.stats.prevotes_started >= 4);
	assert_int_equal(W->node[f].r.d.term, term);
	t_isolate(f, false);
	t_run_for(3000);
	assert_int_equal(t_leader(), l);
	assert_int_equal(W->node[l].r.d.term, term);
	assert_string_equal(W->node[f].r.leader, W->node[l].cfg.name);
	T_NO_VIOLATION();
}

/* Stickiness: even a real vote request of a higher term changes nothing. */
static void
test_sticky_voter_ignores_higher_term(void **state)
{
	int			l;
	unsigned	f;
	struct quorum__raft_msg m,
				a;
	uint64_t	term;

	(void) state;
	t_world(3, 3, 6);
	t_boot_all();
	assert_true(t_wait(t_stable, 6000));
	l = t_leader();
	f = ((unsigned) l + 1) % 3;
	term = W->node[f].r.d.term;
	m = t_vote_msg(W->node[(l + 2) % 3].cfg.name, W->node[f].cfg.name,
				   term + 5, &W->node[f].r, false);
	a = t_ask(f, &m);
	assert_int_equal(a.type, QUORUM__RAFT_MSG_VOTE_RESP);
	assert_false(a.u.vote_resp.granted);
	assert_int_equal(a.u.vote_resp.refusal, QUORUM__RAFT_REFUSE_STICKY);
	assert_true(a.u.vote_resp.sticky_ms > 1000);
	assert_int_equal(W->node[f].r.d.term, term);
	/* The leader itself always refuses. */
	m = t_vote_msg(W->node[f].cfg.name, W->node[l].cfg.name, term + 5,
				   &W->node[l].r, false);
	a = t_ask((unsigned) l, &m);
	assert_int_equal(a.u.vote_resp.refusal, QUORUM__RAFT_REFUSE_STICKY);
	assert_int_equal(t_leader(), l);
	T_NO_VIOLATION();
}

/* Check-quorum: a leader cut off from the majority steps down, lease first. */
static void
test_check_quorum_step_down(void **state)
{
	int			l;
	quorum_time_ms cut_at,
				lost_at,
				down_at = 0;

	(void) state;
	t_world(5, 5, 7);
	t_boot_all();
	assert_true(t_wait(t_stable, 6000));
	l = t_leader();
	cut_at = W->now;
	t_isolate((unsigned) l, true);
	while (W->node[l].r.state == QUORUM__RAFT_LEADER)
		t_run_for(1);
	down_at = W->now;
	lost_at = t_last_at((unsigned) l, QUORUM__RAFT_EV_LEASE_LOST);
	assert_true(lost_at > 0);
	/* The last acknowledged round was sent at most a heartbeat before. */
	assert_true(lost_at <= cut_at + 1088);
	assert_true(lost_at >= cut_at + 1088 - QUORUM__RAFT_HEARTBEAT_MS - 2 * T_LATENCY_MS);
	assert_true(down_at <= cut_at + QUORUM__RAFT_ELECTION_MIN_MS);
	assert_true(down_at > lost_at);
	assert_int_equal(W->node[l].r.stats.step_downs, 1);
	/* The majority elects a new leader, whose lease starts after. */
	t_not = l;
	assert_true(t_wait(t_stable_new, 4000));
	assert_int_not_equal(t_leader(), l);
	assert_true(t_last_at((unsigned) t_leader(), QUORUM__RAFT_EV_LEASE_GAINED) > lost_at);
	T_NO_VIOLATION();
}

/* Node i refuses votes for e ms after hearing a leader (set before boot). */
static void
t_election_timeout(unsigned i, quorum_time_ms e)
{
	W->node[i].cfg.election_timeout_min_ms = e;
	W->node[i].cfg.election_timeout_max_ms = quorum_timing_election_max_ms(e);
}

/*
 * Issue 9, H6: the leader's election timeout 3000 ms, the others' 1200 ms.
 * A lease derived from the leader's own timeout (2616 ms) would outlast the
 * others' promise; each answer carries its sender's promise, so the lease
 * is the one 1200 ms allows, and the new leader's starts after it ends.
 */
static void
test_lease_timeout_mismatch(void **state)
{
	quorum_time_ms cut_at,
				lost,
				gained;
	int			nl;

	(void) state;
	for (uint64_t seed = 41; seed < 51; seed++)
	{
		t_teardown(NULL);
		t_setup(NULL);
		t_world(3, 3, seed);
		t_election_timeout(0, 3000);
		W->node[0].facts.role = QUORUM_ROLE_PRIMARY;
		t_boot_all();
		assert_true(t_wait(t_stable, 12000));
		assert_int_equal(t_leader(), 0);
		t_run_for(seed % 97);
		cut_at = W->now;
		t_isolate(0, true);
		t_not = 0;
		assert_true(t_wait(t_stable_new, 5000));
		nl = t_leader();
		lost = t_last_at(0, QUORUM__RAFT_EV_LEASE_LOST);
		gained = t_last_at((unsigned) nl, QUORUM__RAFT_EV_LEASE_GAINED);
		assert_true(lost > 0 && lost <= cut_at + 1088);
		assert_true(gained > lost);
		T_NO_VIOLATION();
	}
}

/*
 * A rolling upgrade from 0.1: an answer without a promise (a 0.1 voter)
 * counts as promising the leader's own timeout, so old voters give a lease
 * again, never longer than the leader's own timeout allows, though they
 * refuse votes for longer; and a 0.1 leader gets no promise it could not
 * decode (t_enqueue), while its voters still give it a lease.
 */
static void
test_lease_old_peers(void **state)
{
	quorum_time_ms cut_at,
				lost;

	(void) state;
	t_world(3, 3, 5);
	t_election_timeout(1, 3000);
	t_election_timeout(2, 3000);
	W->node[0].facts.role = QUORUM_ROLE_PRIMARY;
	W->old_version[1] = W->old_version[2] = true;
	t_boot_all();
	assert_true(t_wait(t_stable, 6000));
	assert_int_equal(t_leader(), 0);
	t_run_for(500);
	assert_true(W->node[0].r.stats.acks_unpromised > 0);
	assert_true(quorum__raft_has_lease(&W->node[0].r, t_local(0, W->now)));
	cut_at = W->now;
	t_isolate(0, true);
	t_run_for(3000);
	lost = t_last_at(0, QUORUM__RAFT_EV_LEASE_LOST);
	assert_true(lost > 0 && lost <= cut_at + 1088);
	T_NO_VIOLATION();

	t_teardown(NULL);
	t_setup(NULL);
	t_world(3, 3, 5);
	W->node[0].facts.role = QUORUM_ROLE_PRIMARY;
	W->old_version[0] = true;
	t_boot_all();
	assert_true(t_wait(t_stable, 6000));
	assert_int_equal(t_leader(), 0);
	t_run_for(500);
	assert_true(W->node[0].r.stats.acks_unpromised > 0);
	assert_true(quorum__raft_has_lease(&W->node[0].r, t_local(0, W->now)));
	T_NO_VIOLATION();
}

/*
 * The lease under worst-case drift: the old leader's clock slow, everyone
 * else's fast, the leader cut off right after a round was acknowledged.  The
 * pump's checker fails on any overlap; the margin between the two is shown.
 */
static void
test_lease_drift_no_overlap(void **state)
{
	(void) state;
	for (uint64_t seed = 11; seed < 31; seed++)
	{
		int			l,
					nl;
		quorum_time_ms lost,
					gained;

		t_teardown(NULL);
		t_setup(NULL);
		t_world(3, 3, seed);
		t_boot_all();
		assert_true(t_wait(t_stable, 6000));
		l = t_leader();
		for (unsigned i = 0; i < 3; i++)
		{
			/* Re-origin so that clocks stay continuous at the change. */
			quorum_time_ms local = t_local(i, W->now);

			W->node[i].ppm = (int) i == l ? -5000 : 5000;
			W->node[i].origin = 0;
			W->node[i].origin = (int64_t) local - (int64_t) t_local(i, W->now);
		}
		t_run_for(seed % 97);
		t_isolate((unsigned) l, true);
		t_not = l;
		assert_true(t_wait(t_stable_new, 5000));
		nl = t_leader();
		assert_int_not_equal(nl, l);
		lost = t_last_at((unsigned) l, QUORUM__RAFT_EV_LEASE_LOST);
		gained = t_last_at((unsigned) nl, QUORUM__RAFT_EV_LEASE_GAINED);
		assert_true(lost > 0 && gained > lost);
		T_NO_VIOLATION();
	}
}

/* ------------------------------------------------------------------------
 * Tests: the election restriction
 * ------------------------------------------------------------------------
 */

static void
test_wal_restriction_judge(void **state)
{
	struct quorum__raft_msg m,
				a;
	struct quorum__raft *r;

	(void) state;
	t_world(3, 3, 8);
	t_boot_all();
	t_set_facts(0, QUORUM_ROLE_STANDBY, 2, 5000, 100);
	t_run_for(QUORUM__RAFT_ELECTION_MIN_MS);	/* past boot stickiness */
	r = &W->node[0].r;
	assert_int_equal(r->state, QUORUM__RAFT_FOLLOWER);
	m = t_vote_msg("n2", "n1", r->d.term + 1, r, true);
	/* Older timeline loses even with more WAL. */
	m.u.vote.pos.timeline = 1;
	m.u.vote.pos.lsn = 9000;
	a = t_ask(0, &m);
	assert_false(a.u.vote_resp.granted);
	assert_int_equal(a.u.vote_resp.refusal, QUORUM__RAFT_REFUSE_WAL);
	/* Same timeline, less WAL: refused. */
	m.u.vote.pos.timeline = 2;
	m.u.vote.pos.lsn = 4999;
	a = t_ask(0, &m);
	assert_int_equal(a.u.vote_resp.refusal, QUORUM__RAFT_REFUSE_WAL);
	/* Equal: granted; a standby voter ranks a primary at equal WAL above. */
	m.u.vote.pos.lsn = 5000;
	a = t_ask(0, &m);
	assert_true(a.u.vote_resp.granted);
	t_set_facts(0, QUORUM_ROLE_PRIMARY, 2, 5000, 100);
	a = t_ask(0, &m);
	assert_int_equal(a.u.vote_resp.refusal, QUORUM__RAFT_REFUSE_WAL);
	m.u.vote.pos.role = QUORUM_ROLE_PRIMARY;
	a = t_ask(0, &m);
	assert_true(a.u.vote_resp.granted);
	/* Priority 0 is never voted for, whatever its WAL. */
	m.u.vote.pos.lsn = 1 << 30;
	m.u.vote.pos.priority = 0;
	a = t_ask(0, &m);
	assert_int_equal(a.u.vote_resp.refusal, QUORUM__RAFT_REFUSE_PRIORITY);
	/* A shorter decision log loses (Raft §5.4.1). */
	m.u.vote.pos.priority = 1;
	m.u.vote.last_index = 0;
	m.u.vote.last_term = 0;
	assert_int_equal(quorum__raft_last_index(r), 1);
	a = t_ask(0, &m);
	assert_int_equal(a.u.vote_resp.refusal, QUORUM__RAFT_REFUSE_LOG);
	/* Pre-votes change nothing durable. */
	assert_int_equal(W->node[0].r.d.voted_for[0], '\0');
}

/* After the leader dies, the standby with more WAL always wins. */
static void
test_wal_restriction_failover(void **state)
{
	(void) state;
	for (uint64_t seed = 40; seed < 60; seed++)
	{
		int			l,
					nl;
		unsigned	a,
					b;

		t_teardown(NULL);
		t_setup(NULL);
		t_world(3, 3, seed);
		t_boot_all();
		assert_true(t_wait(t_stable, 6000));
		l = t_leader();
		a = ((unsigned) l + 1) % 3;
		b = ((unsigned) l + 2) % 3;
		/* b has more WAL than a; which one is which varies with the seed. */
		if (seed % 2)
		{
			unsigned	t = a;

			a = b;
			b = t;
		}
		t_set_facts(a, QUORUM_ROLE_STANDBY, 1, 2000, 100);
		t_set_facts(b, QUORUM_ROLE_STANDBY, 1, 2500, 100);
		t_crash((unsigned) l);
		assert_true(t_wait(t_stable, 8000));
		nl = t_leader();
		assert_int_equal(nl, (int) b);
		T_NO_VIOLATION();
	}
}

/* Priority 0 and non-voters never campaign, so with them alone: no leader. */
static void
test_priority_zero_never_candidate(void **state)
{
	int			l;

	(void) state;
	t_world(4, 3, 9);
	t_set_facts(0, QUORUM_ROLE_STANDBY, 1, 1000, 0);
	t_boot_all();
	assert_true(t_wait(t_stable, 8000));
	l = t_leader();
	assert_true(l == 1 || l == 2);
	/* n4 is not a voter: it follows, but is not counted or asked. */
	assert_string_equal(W->node[3].r.leader, W->node[l].cfg.name);
	assert_false(quorum__raft_is_voter(&W->node[l].r, "n4"));
	t_crash((unsigned) l);
	t_crash((unsigned) (l == 1 ? 2 : 1));
	/* n1 (priority 0) and n4 (non-voter) are left: neither ever asks. */
	t_run_for(20000);
	assert_int_equal(t_leader(), -1);
	assert_int_equal(W->node[0].r.stats.prevotes_started, 0);
	assert_int_equal(W->node[3].r.stats.prevotes_started, 0);
	assert_string_equal(W->node[0].r.leader, "");
	T_NO_VIOLATION();
}

/* ------------------------------------------------------------------------
 * Tests: durability
 * ------------------------------------------------------------------------
 */

/* A vote written to disk survives a restart; the restarted node refuses. */
static void
test_vote_survives_restart(void **state)
{
	struct quorum__raft_msg m,
				a;
	uint64_t	term;

	(void) state;
	t_world(3, 3, 10);
	t_boot_all();
	t_run_for(QUORUM__RAFT_ELECTION_MIN_MS + 1);
	/* Hand-driven: n1 asked by n2 for a term nobody is in yet. */
	t_isolate(0, true);
	term = W->node[0].r.d.term + 7;
	m = t_vote_msg("n2", "n1", term, &W->node[0].r, false);
	W->node[0].r.contact_ms = 0;	/* as if no leader was ever heard */
	a = t_ask(0, &m);
	assert_true(a.u.vote_resp.granted);
	assert_int_equal(W->node[0].disk.term, term);
	assert_string_equal(W->node[0].disk.voted_for, "n2");
	/* kill -9 and restart from the disk. */
	t_restart(0);
	t_isolate(0, true);
	assert_int_equal(W->node[0].r.d.term, term);
	assert_string_equal(W->node[0].r.d.voted_for, "n2");
	/* Restarted: sticky first, then a firm refusal for n3 in that term. */
	m = t_vote_msg("n3", "n1", term, &W->node[0].r, false);
	a = t_ask(0, &m);
	assert_int_equal(a.u.vote_resp.refusal, QUORUM__RAFT_REFUSE_STICKY);
	t_run_for(QUORUM__RAFT_ELECTION_MIN_MS);
	a = t_ask(0, &m);
	assert_false(a.u.vote_resp.granted);
	assert_int_equal(a.u.vote_resp.refusal, QUORUM__RAFT_REFUSE_VOTED);
	/* The same candidate asking again gets the same answer. */
	m = t_vote_msg("n2", "n1", term, &W->node[0].r, false);
	a = t_ask(0, &m);
	assert_true(a.u.vote_resp.granted);
	T_NO_VIOLATION();
}

/* Restarts of random nodes at random times never break the invariants. */
static void
test_restart_storm(void **state)
{
	(void) state;
	t_world(5, 5, 12);
	W->loss = 0.05;
	t_boot_all();
	for (int k = 0; k < 200; k++)
	{
		unsigned	i = (unsigned) (k * 7 + k / 3) % 5;

		t_run_for(50 + (quorum_time_ms) ((k * 131) % 900));
		t_restart(i);
		T_NO_VIOLATION();
	}
	W->loss = 0;
	assert_true(t_wait(t_stable, 10000));
	/* The disk is what a node restarts with, term and all. */
	for (unsigned i = 0; i < 5; i++)
		assert_true(W->node[i].disk.term == W->node[i].r.d.term);
	T_NO_VIOLATION();
}

/*
 * Every message of a busy run (loss, partitions, restarts, decisions and
 * switchovers) is checked against the disk by t_check_msg().
 */
static void
test_persist_before_send(void **state)
{
	unsigned	persists = 0;

	(void) state;
	t_world(5, 5, 13);
	W->loss = 0.1;
	t_boot_all();
	for (int k = 0; k < 40; k++)
	{
		int			l = t_leader();
		quorum_time_ms now = l >= 0 ? t_local((unsigned) l, W->now) : 0;

		if (l >= 0 && k % 4 == 1)
		{
			(void) quorum__raft_pause(&W->node[l].r, true, now);
			(void) quorum__raft_pause(&W->node[l].r, false, now);
			t_output((unsigned) l);
		}
		if (l >= 0 && k % 7 == 3)
		{
			(void) quorum__raft_transfer(&W->node[l].r, "", now);
			t_output((unsigned) l);
		}
		if (l >= 0 && k % 5 == 0)
			t_isolate((unsigned) l, true);
		if (k % 5 == 2)
			t_heal();
		if (k % 6 == 4)
			t_restart((unsigned) (k % 5));
		t_run_for(700);
		T_NO_VIOLATION();
	}
	for (unsigned i = 0; i < 5; i++)
		persists += W->node[i].persists;
	assert_true(persists > 40);
	assert_true(W->delivered > 1000);
	T_NO_VIOLATION();
}

/* ------------------------------------------------------------------------
 * Tests: the decision log
 * ------------------------------------------------------------------------
 */

static bool
t_all_paused(void)
{
	for (unsigned i = 0; i < W->n; i++)
		if (W->node[i].up && !W->node[i].r.paused)
			return false;
	return true;
}

static bool
t_none_paused(void)
{
	for (unsigned i = 0; i < W->n; i++)
		if (W->node[i].up && W->node[i].r.paused)
			return false;
	return true;
}

static uint64_t t_resume_index;
static int	t_resume_leader;

/* Every live node other than the leader holds the RESUME entry. */
static bool
t_followers_hold_resume(void)
{
	for (unsigned i = 0; i < W->n; i++)
		if (W->node[i].up && (int) i != t_resume_leader &&
			quorum__raft_last_index(&W->node[i].r) < t_resume_index)
			return false;
	return true;
}

/*
 * The leader resumes failover and dies before the voters learn that the
 * RESUME committed: they go by the RESUME in their logs, elect a new leader
 * and commit it, instead of staying paused for good.
 */
static void
test_resume_uncommitted_leader_dies(void **state)
{
	(void) state;
	t_world(3, 3, 15);
	t_boot_all();
	assert_true(t_wait(t_stable, 6000));
	t_resume_leader = t_leader();
	assert_int_equal(quorum__raft_pause(&W->node[t_resume_leader].r, true,
										t_local((unsigned) t_resume_leader, W->now)), 0);
	t_output((unsigned) t_resume_leader);
	assert_true(t_wait(t_all_paused, 500));
	assert_int_equal(quorum__raft_pause(&W->node[t_resume_leader].r, false,
										t_local((unsigned) t_resume_leader, W->now)), 0);
	t_output((unsigned) t_resume_leader);
	t_resume_index = quorum__raft_last_index(&W->node[t_resume_leader].r);
	assert_true(t_wait(t_followers_hold_resume, 200));
	t_crash((unsigned) t_resume_leader);
	/* The premise: no follower knows the RESUME committed. */
	for (unsigned i = 0; i < W->n; i++)
		if ((int) i != t_resume_leader)
		{
			assert_true(W->node[i].r.paused);
			assert_true(W->node[i].r.commit < t_resume_index);
		}
	assert_true(t_wait(t_stable, 5000));
	assert_true(t_leader() != t_resume_leader);
	assert_true(t_wait(t_none_paused, 1000));
	T_NO_VIOLATION();
}

/* Pause is replicated and committed; while paused, no automatic election. */
static void
test_pause_resume(void **state)
{
	int			l;
	unsigned	f;

	(void) state;
	t_world(3, 3, 14);
	t_boot_all();
	assert_true(t_wait(t_stable, 6000));
	l = t_leader();
	f = ((unsigned) l + 1) % 3;
	/* A follower forwards the request to the leader. */
	assert_int_equal(quorum__raft_pause(&W->node[f].r, true, t_local(f, W->now)), 0);
	t_output(f);
	assert_true(t_wait(t_all_paused, 500));
	for (unsigned i = 0; i < 3; i++)
		assert_true(t_count(i, QUORUM__RAFT_EV_COMMITTED) >= 1);
	t_crash((unsigned) l);
	t_run_for(10000);
	assert_int_equal(t_leader(), -1);
	/* Resume with no leader: this node may campaign, then commits it. */
	assert_int_equal(quorum__raft_pause(&W->node[f].r, false, t_local(f, W->now)), 0);
	assert_true(t_wait(t_stable, 4000));
	assert_int_equal(t_leader(), (int) f);
	assert_true(t_wait(t_none_paused, 1000));
	/* The old leader comes back, reads its log, and follows. */
	t_boot((unsigned) l);
	assert_true(t_wait(t_none_paused, 2000));
	assert_true(t_wait(t_stable, 2000));
	assert_int_equal(t_leader(), (int) f);
	T_NO_VIOLATION();
}

static bool
t_logs_match(void)
{
	int			l = t_leader();

	if (l < 0)
		return false;
	for (unsigned i = 0; i < W->n; i++)
		if (W->node[i].up &&
			W->node[i].r.commit != quorum__raft_last_index(&W->node[l].r))
			return false;
	return true;
}

/* Entries commit everywhere; the log compacts; a laggard gets a snapshot. */
static void
test_replication_and_compaction(void **state)
{
	int			l;
	unsigned	lag;

	(void) state;
	t_world(3, 3, 15);
	t_boot_all();
	assert_true(t_wait(t_stable, 6000));
	l = t_leader();
	lag = ((unsigned) l + 1) % 3;
	t_crash(lag);
	for (int k = 0; k < 3 * QUORUM_LOG_MAX; k++)
	{
		assert_int_equal(quorum__raft_propose(&W->node[l].r,
											  k % 2 ? QUORUM_DECISION_RESUME : QUORUM_DECISION_PAUSE,
											  "", t_local((unsigned) l, W->now)), 0);
		t_output((unsigned) l);
		t_run_for(10);
	}
	/* Committed with a majority of two; compaction kept the log short. */
	assert_true(W->node[l].r.commit >= 3 * QUORUM_LOG_MAX);
	assert_true(W->node[l].r.d.snap.index > 2);
	assert_true(W->node[l].r.d.n_entries <= QUORUM_LOG_MAX / 2 + 1);
	t_boot(lag);
	assert_true(t_wait(t_logs_match, 3000));
	assert_true(W->node[lag].r.d.snap.index > 2);
	assert_int_equal(W->node[lag].r.paused, W->node[l].r.paused);
	assert_int_equal(W->node[lag].r.d.snap.config_id, W->node[l].r.d.snap.config_id);
	T_NO_VIOLATION();
}

/* Three voters, a leader, every voter bound to its member id. */
static int
t_bound_world(uint64_t seed)
{
	t_world(3, 3, seed);
	t_boot_all();
	assert_true(t_wait(t_stable, 6000));
	assert_true(t_wait(t_ids_bound, 1000));
	assert_true(t_wait(t_logs_match, 1000));
	return t_leader();
}

/*
 * f was rebuilt or restored under a voter's name and is not admitted: with
 * the leader l cut from the third voter, f's answers keep neither lease nor
 * office.  Heals the cut and waits for a leader again.
 */
static void
t_check_not_counted(unsigned l, unsigned f)
{
	unsigned	g = 3 - l - f;

	W->cut[l][g] = W->cut[g][l] = true;
	t_run_for(3 * T_ELECTION_MAX_MS);
	assert_int_equal(t_leader(), -1);
	for (unsigned i = 0; i < 3; i++)
		assert_false(quorum__raft_has_lease(&W->node[i].r, t_local(i, W->now)));
	t_heal();
	assert_true(t_wait(t_stable, 6000));
}

/*
 * quorum.add_voter(f) at the leader: f's name votes with f's member id
 * from then on, and f's answers keep the leader in office without the
 * third voter.  Returns the leader.
 */
static int
t_admit_and_count(unsigned f)
{
	int			l = t_leader();
	unsigned	g;

	assert_int_not_equal(l, (int) f);
	assert_int_equal(quorum__raft_propose(&W->node[l].r, QUORUM_DECISION_ADD_VOTER,
										  W->node[f].cfg.name,
										  t_local((unsigned) l, W->now)), 0);
	t_output((unsigned) l);
	assert_true(t_wait(t_logs_match, 1000));
	assert_true(quorum__raft_self_voter(&W->node[f].r));
	assert_true(quorum__raft_admits(&W->node[l].r, W->node[f].cfg.name,
									W->node[f].r.cfg.member_id));
	g = 3 - (unsigned) l - f;
	W->cut[l][g] = W->cut[g][l] = true;
	t_run_for(3 * T_ELECTION_MAX_MS);
	assert_int_equal(t_leader(), l);
	assert_true(quorum__raft_has_lease(&W->node[l].r, t_local((unsigned) l, W->now)));
	return l;
}

/*
 * Issue 9, H8: a voter rebuilt under its name (no record: term 0, no vote,
 * a new member id) must not count as that voter.  On a core without member
 * ids it bootstraps from the list and answers everyone, so a leader cut
 * from the third voter keeps its lease on the rebuilt voter's answers
 * alone, and the rebuilt voter would grant a second vote in a term it had
 * already voted in.
 */
static void
test_rebuilt_voter_not_counted(void **state)
{
	int			l;
	unsigned	f;
	uint64_t	old_id;

	(void) state;
	l = t_bound_world(23);
	f = (unsigned) (l + 1) % 3;
	old_id = W->node[f].r.cfg.member_id;

	/* Rebuilt: no record, and another seed, so another member id. */
	t_crash(f);
	W->node[f].disk_written = false;
	memset(&W->node[f].disk, 0, sizeof(W->node[f].disk));
	W->node[f].cfg.seed += 1000;
	t_boot(f);
	assert_int_not_equal(W->node[f].r.cfg.member_id, old_id);
	assert_int_equal(W->node[f].r.d.term, 0);
	t_run_for(1000);
	/* The leader's snapshot told it that its name votes with another id. */
	assert_true(quorum__raft_self_unadmitted(&W->node[f].r));
	assert_false(quorum__raft_self_voter(&W->node[f].r));
	assert_true(W->node[l].r.stats.id_mismatches > 0);

	/* The leader cut from the third voter: f is not counted, nor votes. */
	t_check_not_counted((unsigned) l, f);
	assert_true(W->node[f].r.stats.votes_unadmitted > 0);
	assert_string_equal(W->node[f].r.d.voted_for, "");

	/* quorum.add_voter(f): the name now votes with f's new id. */
	l = t_admit_and_count(f);
	assert_false(quorum__raft_admits(&W->node[l].r, W->node[f].cfg.name, old_id));
	/* Admitting the same member again is refused. */
	assert_int_equal(quorum__raft_propose(&W->node[l].r, QUORUM_DECISION_ADD_VOTER,
										  W->node[f].cfg.name,
										  t_local((unsigned) l, W->now)), QUORUM_EINVAL);
	T_NO_VIOLATION();
}

/*
 * A candidate counts a bound voter's grant only with that voter's MEMBER
 * for the very vote naming the bound id, whichever arrives first.
 */
static void
test_vote_needs_member_id(void **state)
{
	struct quorum__raft *c;
	struct quorum__raft_msg m;
	unsigned	ci;
	unsigned	a;
	int			l;

	(void) state;
	l = t_bound_world(29);
	/* A follower campaigns alone (isolated, so nobody hears it). */
	ci = (unsigned) (l + 1) % 3;
	a = (unsigned) (l + 2) % 3;
	c = &W->node[ci].r;
	t_isolate(ci, true);
	quorum__raft_campaign(c, false);
	t_output(ci);
	assert_int_equal(c->state, QUORUM__RAFT_CANDIDATE);

	memset(&m, 0, sizeof(m));
	m.type = QUORUM__RAFT_MSG_VOTE_RESP;
	snprintf(m.from, sizeof(m.from), "%s", W->node[a].cfg.name);
	snprintf(m.to, sizeof(m.to), "%s", c->cfg.name);
	m.term = c->d.term;
	m.config_id = c->d.snap.config_id;
	m.u.vote_resp.granted = true;
	(void) t_ask(ci, &m);
	/* A grant alone: the voter set binds a's name to an id; not counted. */
	assert_int_equal(c->state, QUORUM__RAFT_CANDIDATE);

	memset(&m.u, 0, sizeof(m.u));
	m.type = QUORUM__RAFT_MSG_MEMBER;
	m.u.member.member_id = W->node[a].r.cfg.member_id ^ 1;
	(void) t_ask(ci, &m);
	assert_int_equal(c->state, QUORUM__RAFT_CANDIDATE);
	assert_true(c->stats.id_mismatches > 0);

	/* Of an earlier term: not this vote's. */
	m.u.member.member_id = W->node[a].r.cfg.member_id;
	m.term = c->d.term - 1;
	(void) t_ask(ci, &m);
	assert_int_equal(c->state, QUORUM__RAFT_CANDIDATE);

	m.term = c->d.term;
	(void) t_ask(ci, &m);
	assert_int_equal(c->state, QUORUM__RAFT_LEADER);
}

/*
 * Issue 9, H8: a voter whose record is restored from an older copy (same
 * member id, older term, vote and log) is told so by the leader, which saw
 * a newer record of it; it takes a new member id and counts again only
 * once ADD_VOTER admits that one.  On a core without persist sequence
 * numbers nothing notices, and its answers keep the leader's lease.
 */
static void
test_restored_record_detected(void **state)
{
	struct quorum_election_durable copy;
	int			l;
	unsigned	f;
	uint64_t	id;

	(void) state;
	l = t_bound_world(31);
	f = (unsigned) (l + 1) % 3;
	copy = W->node[f].disk;
	id = W->node[f].r.cfg.member_id;

	/* Two more decisions, which f writes and acknowledges after the copy. */
	assert_int_equal(quorum__raft_pause(&W->node[l].r, true, t_local((unsigned) l, W->now)), 0);
	t_output((unsigned) l);
	assert_true(t_wait(t_logs_match, 1000));
	assert_int_equal(quorum__raft_pause(&W->node[l].r, false, t_local((unsigned) l, W->now)), 0);
	t_output((unsigned) l);
	assert_true(t_wait(t_logs_match, 1000));
	t_run_for(500);
	assert_true(W->node[f].disk.persist_seq > copy.persist_seq);

	/* f restarts from the copy. */
	t_crash(f);
	W->node[f].disk = copy;
	t_boot(f);
	assert_int_equal(W->node[f].r.cfg.member_id, id);
	t_run_for(1000);
	assert_true(W->node[l].r.stats.stale_answers > 0);
	assert_int_equal(W->node[f].r.stats.restores_detected, 1);
	assert_int_not_equal(W->node[f].r.cfg.member_id, id);
	assert_true(quorum__raft_self_unadmitted(&W->node[f].r));
	/* The new id is on its disk before it answers with it. */
	assert_int_equal(W->node[f].disk.persist_seq, W->node[f].r.d.persist_seq);

	/* The leader cut from the third voter: f is not counted. */
	t_check_not_counted((unsigned) l, f);
	/* Admitted again under its new id, it counts. */
	(void) t_admit_and_count(f);
	T_NO_VIOLATION();
}

/* Voter changes one at a time; a removed leader leaves office. */
static void
test_config_change_one_at_a_time(void **state)
{
	int			l;
	struct quorum__raft *r;
	quorum_time_ms now;

	(void) state;
	t_world(5, 3, 16);
	W->node[3].cfg.voter = W->node[4].cfg.voter = true;
	t_boot_all();
	assert_true(t_wait(t_stable, 6000));
	/* The leader binds the voters' member ids first, one change each. */
	assert_true(t_wait(t_ids_bound, 1000));
	l = t_leader();
	r = &W->node[l].r;
	now = t_local((unsigned) l, W->now);
	assert_int_equal(quorum__raft_propose(r, QUORUM_DECISION_ADD_VOTER, "n4", now), 0);
	/* The previous change has not committed yet: refused. */
	assert_int_equal(quorum__raft_propose(r, QUORUM_DECISION_ADD_VOTER, "n5", now),
					 QUORUM_ESTATE);
	assert_int_equal(quorum__raft_propose(r, QUORUM_DECISION_ADD_VOTER, "zz", now),
					 QUORUM_ESTATE);
	t_output((unsigned) l);
	/* In force at once, on the leader. */
	assert_int_equal(r->n_voters, 4);
	assert_true(t_wait(t_logs_match, 1000));
	now = t_local((unsigned) l, W->now);
	assert_int_equal(quorum__raft_propose(r, QUORUM_DECISION_ADD_VOTER, "zz", now),
					 QUORUM_ENOTFOUND);
	assert_int_equal(quorum__raft_propose(r, QUORUM_DECISION_ADD_VOTER, "n4", now),
					 QUORUM_EINVAL);
	assert_int_equal(quorum__raft_propose(r, QUORUM_DECISION_ADD_VOTER, "n5", now), 0);
	t_output((unsigned) l);
	assert_true(t_wait(t_logs_match, 1000));
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(W->node[i].r.n_voters, 5);
	/* Remove the leader itself: it commits, then steps down. */
	assert_int_equal(quorum__raft_propose(r, QUORUM_DECISION_REMOVE_VOTER,
										  W->node[l].cfg.name,
										  t_local((unsigned) l, W->now)), 0);
	t_output((unsigned) l);
	t_run_for(200);
	assert_int_not_equal(W->node[l].r.state, QUORUM__RAFT_LEADER);
	assert_true(t_wait(t_stable, 4000));
	assert_int_not_equal(t_leader(), l);
	assert_int_equal(W->node[t_leader()].r.n_voters, 4);
	assert_false(quorum__raft_is_voter(&W->node[t_leader()].r, W->node[l].cfg.name));
	/* It never campaigns again. */
	t_isolate((unsigned) t_leader(), true);
	t_run_for(8000);
	assert_int_not_equal(t_leader(), l);
	T_NO_VIOLATION();
}

/* ------------------------------------------------------------------------
 * Tests: bootstrap
 * ------------------------------------------------------------------------
 */

static void
t_world_expect(unsigned n, unsigned expect, uint64_t seed)
{
	t_world(n, 0, seed);
	for (unsigned i = 0; i < n; i++)
	{
		W->node[i].cfg.voter = true;
		W->node[i].cfg.bootstrap_expect = expect;
	}
}

/* bootstrap_expect: the first voter set forms from gossip, then an election. */
static void
test_bootstrap_expect(void **state)
{
	(void) state;
	t_world_expect(3, 3, 17);
	/* Two nodes only: they wait. */
	W->n = 2;
	t_boot_all();
	t_run_for(5000);
	assert_int_equal(W->node[0].r.n_voters, 0);
	assert_int_equal(t_leader(), -1);
	W->n = 3;
	t_boot(2);
	for (unsigned i = 0; i < 3; i++)
	{
		t_peers_seen(i);
		t_output(i);
	}
	assert_true(t_wait(t_stable, 3 * T_ELECTION_MAX_MS + 1000));
	for (unsigned i = 0; i < 3; i++)
	{
		assert_int_equal(W->node[i].r.n_voters, 3);
		assert_int_equal(W->node[i].r.d.snap.config_id, W->node[0].r.d.snap.config_id);
		assert_true(W->node[i].disk_written);
	}
	T_NO_VIOLATION();
}

/* More voter-capable members than expected: nobody bootstraps. */
static void
test_bootstrap_expect_too_many(void **state)
{
	(void) state;
	t_world_expect(4, 3, 18);
	t_boot_all();
	t_run_for(8000);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(W->node[i].r.n_voters, 0);
	assert_int_equal(t_leader(), -1);
}

/*
 * A newcomer with bootstrap_expect meets an existing cluster with a voter
 * down: it must join that cluster, not bootstrap one of its own with the
 * members it can count.  Bootstrapped members never say HELLO, and the
 * leader answers the newcomer's HELLO with the cluster's snapshot.
 */
static void
test_bootstrap_expect_joins_existing(void **state)
{
	int			l;

	(void) state;
	t_world(4, 3, 26);
	W->node[3].cfg.n_initial_voters = 0;
	W->node[3].cfg.bootstrap_expect = 3;
	W->node[3].cfg.voter = true;
	W->n = 3;
	t_boot_all();
	assert_true(t_wait(t_stable, 6000));
	l = t_leader();
	t_crash(((unsigned) l + 1) % 3);
	W->n = 4;
	t_boot(3);
	for (unsigned i = 0; i < 4; i++)
		if (W->node[i].up)
		{
			t_peers_seen(i);
			t_output(i);
		}
	assert_true(t_wait(t_stable, 2000));
	t_run_for(3 * T_ELECTION_MAX_MS);
	assert_int_equal(W->node[3].r.d.snap.config_id, W->node[l].r.d.snap.config_id);
	assert_string_equal(W->node[3].r.leader, W->node[l].cfg.name);
	assert_false(quorum__raft_is_voter(&W->node[3].r, "n4"));
	/* And the leader has learnt from its answers that it may vote. */
	assert_true(quorum__raft_peer_find(&W->node[l].r, "n4")->voter_capable);
	T_NO_VIOLATION();
}

/* The existing primary wins the first election, on every seed. */
static void
test_bootstrap_primary_wins(void **state)
{
	(void) state;
	for (uint64_t seed = 60; seed < 80; seed++)
	{
		unsigned	p = (unsigned) (seed % 3);

		t_teardown(NULL);
		t_setup(NULL);
		t_world_expect(3, 3, seed);
		for (unsigned i = 0; i < 3; i++)
			W->node[i].facts.lsn = i == p ? 1000 : 900 + 50 * i;
		W->node[p].facts.role = QUORUM_ROLE_PRIMARY;
		t_boot_all();
		assert_true(t_wait(t_stable, 4 * T_ELECTION_MAX_MS));
		assert_int_equal(t_leader(), (int) p);
		assert_int_equal(W->node[p].r.d.term, 1);
		T_NO_VIOLATION();
	}
}

/* Two clusters bootstrapped apart ignore each other's messages. */
static void
test_foreign_config_ignored(void **state)
{
	struct quorum__raft_msg m,
				a;

	(void) state;
	t_world(3, 3, 19);
	t_boot_all();
	assert_true(t_wait(t_stable, 6000));
	m = t_vote_msg("n2", "n1", 99, &W->node[0].r, false);
	m.config_id ^= 1;
	a = t_ask(0, &m);
	assert_int_equal(a.type, 0);
	assert_true(W->node[0].r.d.term < 99);
	assert_true(W->node[0].r.stats.msgs_dropped >= 1);
}

/* ------------------------------------------------------------------------
 * Tests: leadership transfer
 * ------------------------------------------------------------------------
 */

static void
test_transfer(void **state)
{
	int			l;
	unsigned	target;
	uint64_t	term;
	quorum_time_ms asked;

	(void) state;
	t_world(3, 3, 20);
	t_boot_all();
	assert_true(t_wait(t_stable, 6000));
	l = t_leader();
	target = ((unsigned) l + 2) % 3;
	term = W->node[l].r.d.term;
	asked = W->now;
	/* Asked at a follower: it goes through the log, so everyone sees it. */
	assert_int_equal(quorum__raft_transfer(&W->node[(l + 1) % 3].r,
										   W->node[target].cfg.name,
										   t_local((l + 1) % 3, W->now)), 0);
	t_output(((unsigned) l + 1) % 3);
	t_want = (int) target;
	assert_true(t_wait(t_stable_new, 1000));
	assert_int_equal(W->node[target].r.d.term, term + 1);
	/* Fast: no election timeout waited, only round trips. */
	assert_true(W->now - asked < 200);
	assert_true(t_last_at((unsigned) l, QUORUM__RAFT_EV_LEASE_LOST) <=
				t_last_at(target, QUORUM__RAFT_EV_LEASE_GAINED));
	assert_true(t_count(target, QUORUM__RAFT_EV_COMMITTED) >= 1);
	T_NO_VIOLATION();
}

/* The target must catch up in WAL first; the lease stays given up. */
static void
test_transfer_waits_for_catch_up(void **state)
{
	int			l;
	unsigned	target;

	(void) state;
	t_world(3, 3, 21);
	t_boot_all();
	assert_true(t_wait(t_stable, 6000));
	l = t_leader();
	target = ((unsigned) l + 1) % 3;
	t_set_facts((unsigned) l, QUORUM_ROLE_PRIMARY, 1, 5000, 100);
	t_set_facts(target, QUORUM_ROLE_STANDBY, 1, 4000, 100);
	assert_int_equal(quorum__raft_transfer(&W->node[l].r, W->node[target].cfg.name,
										   t_local((unsigned) l, W->now)), 0);
	t_output((unsigned) l);
	t_run_for(1000);
	assert_int_equal(t_leader(), l);
	assert_false(quorum__raft_has_lease(&W->node[l].r, t_local((unsigned) l, W->now)));
	assert_false(W->node[l].r.transfer_sent);
	t_set_facts(target, QUORUM_ROLE_STANDBY, 1, 5000, 100);
	t_want = (int) target;
	assert_true(t_wait(t_stable_new, 1000));
	T_NO_VIOLATION();
}

/* A target that never answers: the transfer gives up and the lease returns. */
static void
test_transfer_timeout(void **state)
{
	int			l;
	unsigned	target;

	(void) state;
	t_world(5, 5, 22);
	t_boot_all();
	assert_true(t_wait(t_stable, 6000));
	l = t_leader();
	target = ((unsigned) l + 1) % 5;
	t_set_facts((unsigned) l, QUORUM_ROLE_PRIMARY, 1, 5000, 100);
	t_crash(target);
	assert_int_equal(quorum__raft_transfer(&W->node[l].r, W->node[target].cfg.name,
										   t_local((unsigned) l, W->now)), 0);
	t_output((unsigned) l);
	t_run_for(100);
	assert_false(quorum__raft_has_lease(&W->node[l].r, t_local((unsigned) l, W->now)));
	t_run_for(2 * T_ELECTION_MAX_MS + 200);
	/* Never sent TIMEOUT_NOW, so it may take the lease again. */
	assert_int_equal(t_leader(), l);
	assert_true(quorum__raft_has_lease(&W->node[l].r, t_local((unsigned) l, W->now)));
	T_NO_VIOLATION();
}

/* A lost TIMEOUT_NOW is sent again with the next round. */
static void
test_transfer_timeout_now_lost(void **state)
{
	int			l;
	unsigned	target;
	quorum_time_ms asked;

	(void) state;
	t_world(3, 3, 24);
	t_boot_all();
	assert_true(t_wait(t_stable, 6000));
	l = t_leader();
	target = ((unsigned) l + 1) % 3;
	W->drop_type = QUORUM__RAFT_MSG_TIMEOUT_NOW;
	W->drop_count = 2;
	asked = W->now;
	assert_int_equal(quorum__raft_transfer(&W->node[l].r, W->node[target].cfg.name,
										   t_local((unsigned) l, W->now)), 0);
	t_output((unsigned) l);
	t_want = (int) target;
	assert_true(t_wait(t_stable_new, 1000));
	assert_int_equal(W->drop_count, 0);
	/* Two rounds later, not an election timeout later. */
	assert_true(W->now - asked < 3 * QUORUM__RAFT_HEARTBEAT_MS + 50);
	T_NO_VIOLATION();
}

/* A stale TIMEOUT_NOW (an older term) starts nothing. */
static void
test_stale_timeout_now(void **state)
{
	int			l;
	unsigned	f;
	struct quorum__raft_msg m;

	(void) state;
	t_world(3, 3, 23);
	t_boot_all();
	assert_true(t_wait(t_stable, 6000));
	l = t_leader();
	f = ((unsigned) l + 1) % 3;
	memset(&m, 0, sizeof(m));
	m.type = QUORUM__RAFT_MSG_TIMEOUT_NOW;
	snprintf(m.from, sizeof(m.from), "%s", W->node[l].cfg.name);
	snprintf(m.to, sizeof(m.to), "%s", W->node[f].cfg.name);
	m.term = W->node[f].r.d.term - 1;
	m.config_id = W->node[f].r.d.snap.config_id;
	(void) t_ask(f, &m);
	assert_int_equal(W->node[f].r.state, QUORUM__RAFT_FOLLOWER);
	t_run_for(2000);
	assert_int_equal(t_leader(), l);
	T_NO_VIOLATION();
}

/* The pump's own checkers are not vacuous: forge a second lease holder. */
static void
test_pump_checker_bites(void **state)
{
	int			l;
	unsigned	f;

	(void) state;
	t_world(3, 3, 25);
	t_boot_all();
	assert_true(t_wait(t_stable, 6000));
	T_NO_VIOLATION();
	l = t_leader();
	f = ((unsigned) l + 1) % 3;
	W->node[f].r.state = QUORUM__RAFT_LEADER;
	W->node[f].r.d.term = W->node[l].r.d.term + 1;
	W->node[f].r.lease_until_ms = UINT64_MAX;
	t_check_world();
	assert_non_null(strstr(W->violation, "both hold a lease"));
	W->violation[0] = '\0';
	W->node[f].r.lease_released = true;
	W->node[f].r.d.term = W->node[l].r.d.term;
	t_check_world();
	assert_non_null(strstr(W->violation, "two leaders in term"));
	W->node[f].r.state = QUORUM__RAFT_FOLLOWER;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lease_length),
		cmocka_unit_test(test_peer_table_churn),
		cmocka_unit_test_setup_teardown(test_election_three, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_single_voter, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_election_many_seeds, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_leader_crash_failover, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_leader_resigns, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_split_vote_after_resign, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_simultaneous_candidates_no_split, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_lost_vote_resent, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_pause_one_second_no_election, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_prevote_no_disruption, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_sticky_voter_ignores_higher_term, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_check_quorum_step_down, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_lease_drift_no_overlap, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_lease_timeout_mismatch, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_lease_old_peers, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_wal_restriction_judge, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_wal_restriction_failover, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_priority_zero_never_candidate, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_vote_survives_restart, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_restart_storm, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_persist_before_send, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_pause_resume, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_resume_uncommitted_leader_dies, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_replication_and_compaction, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_config_change_one_at_a_time, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_rebuilt_voter_not_counted, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_vote_needs_member_id, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_restored_record_detected, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_bootstrap_expect, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_bootstrap_expect_too_many, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_bootstrap_expect_joins_existing, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_bootstrap_primary_wins, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_foreign_config_ignored, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_transfer, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_transfer_waits_for_catch_up, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_transfer_timeout, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_transfer_timeout_now_lost, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_stale_timeout_now, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_pump_checker_bites, t_setup, t_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
