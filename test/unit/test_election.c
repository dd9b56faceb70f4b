/*-------------------------------------------------------------------------
 *
 * test_election.c
 *	  Unit tests of the election through the public node API: bootstrap
 *	  from a list and by gossip, events, the lease accessor, commands,
 *	  durable state across a restart, and persist-before-send.
 *
 * Up to five nodes talk through the shared test pump (pump.h: fixed
 * latency, per-link cuts, crashes), as in test_swim.c.  Its fake disk keeps
 * exactly what QUORUM_OUT_PERSIST handed out, and a restart hands it back
 * through config.restored; the raft module's own rules are tested in
 * test_raft.c, and the simulator checks the invariants over long random
 * runs.
 *
 * test/unit/test_election.c
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

#include "quorum/quorum.h"
#include "pump.h"

static unsigned t_voters;
static bool t_stop_wal;			/* config.stop_wal_to_vote */

/*
 * n1 .. n<t_voters> form the explicit first voter set unless t_voters is 0;
 * every node traces at INFO (to stderr with T_VERBOSE set).
 */
static void
t_configure(unsigned i, struct quorum_config *c, struct quorum_meta *facts)
{
	c->seed = 2000 + i;
	c->n_initial_voters = t_voters;
	c->trace_fn = pump_trace;
	c->trace_level = QUORUM_TRACE_INFO;
	c->stop_wal_to_vote = t_stop_wal;
	for (unsigned v = 0; v < t_voters; v++)
		snprintf(c->initial_voters[v], sizeof(c->initial_voters[v]), "n%u", v + 1);
	facts->lsn = 1000;
}

static void
t_config(unsigned i, unsigned voters, struct quorum_config *c)
{
	struct quorum_meta facts;

	t_voters = voters;
	pump_config(i, c, &facts);
}

static void
t_set_facts(unsigned i, enum quorum_role role, uint64_t lsn)
{
	struct quorum_input in = {.type = QUORUM_IN_FACTS, .now_ms = pump->now_ms};

	pump->n[i].facts.role = role;
	pump->n[i].facts.lsn = lsn;
	in.u.facts = pump->n[i].facts;
	pump_step(i, &in);
}

/*
 * Boots node i from its config and, if it ran before, its disk; it joins
 * through n1, and n1 through n2, so that a restarted n1 finds the others.
 */
static void
t_boot(unsigned i)
{
	pump_boot(i);
	if (i > 0)
		pump_join(i, 0);
	else if (pump->count > 1)
		pump_join(0, 1);
}

static int
t_leader(void)
{
	for (unsigned i = 0; i < pump->count; i++)
		if (pump->n[i].up &&
			strcmp(quorum_node_leader(pump->n[i].node), pump->n[i].config.name) == 0)
			return (int) i;
	return -1;
}

/* One leader with a lease, followed by every running node. */
static bool
t_stable(void)
{
	int			l = t_leader();

	if (l < 0 || !quorum_node_has_lease(pump->n[l].node, pump->now_ms))
		return false;
	for (unsigned i = 0; i < pump->count; i++)
		if (pump->n[i].up &&
			strcmp(quorum_node_leader(pump->n[i].node), pump->n[l].config.name) != 0)
			return false;
	return true;
}

/*
 * t_stable(), and the new cluster's leader has committed its NOOP and the
 * decisions that bind each voter to its member id, one per voter.
 */
static bool
t_settled(void)
{
	struct quorum_election_info info;

	return t_stable() &&
		quorum_node_election_get(pump->n[t_leader()].node, &info) == 0 &&
		info.last_index == 1 + 1 + info.n_voters &&
		info.commit_index == info.last_index;
}

static void
t_cluster(unsigned count, unsigned voters)
{
	t_voters = voters;
	pump->count = count;
	for (unsigned i = 0; i < count; i++)
		pump_configure(i);
	for (unsigned i = 0; i < count; i++)
		t_boot(i);
}

static int
t_setup(void **state)
{
	int			rc = pump_setup(state);

	t_stop_wal = false;
	if (rc == 0)
		pump->configure = t_configure;
	return rc;
}

/* ------------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------------
 */

static void
test_defaults(void **state)
{
	struct quorum_config c;
	struct quorum_election_info info;
	quorum_node *n = NULL;
	char		err[256];

	(void) state;
	quorum_config_init(&c);
	assert_true(c.voter);
	assert_int_equal(c.heartbeat_ms, 100);
	assert_int_equal(c.election_timeout_min_ms, 1200);
	assert_int_equal(c.election_timeout_max_ms, 1600);
	assert_int_equal(c.drift_ppm, 5000);
	assert_int_equal(c.lease_margin_ms, 100);
	assert_null(c.restored);
	/* Without a voter set the node only gossips: no election, no lease. */
	t_config(0, 0, &c);
	assert_int_equal(quorum_node_new(&c, NULL, 0, &n, err, sizeof(err)), 0);
	assert_int_equal(quorum_node_election_get(n, &info), 0);
	assert_false(info.bootstrapped);
	assert_int_equal(info.term, 0);
	assert_string_equal(quorum_node_leader(n), "");
	assert_false(quorum_node_has_lease(n, 100000));
	assert_false(quorum_node_is_voter(n, NULL));
	quorum_node_free(n);
	/* Timings that leave no room for a lease are refused, with a reason. */
	t_config(0, 1, &c);
	c.election_timeout_min_ms = 150;
	assert_int_equal(quorum_node_new(&c, NULL, 0, &n, err, sizeof(err)),
					 QUORUM_EINVAL);
	assert_non_null(strstr(err, "election_timeout_min_ms"));
	t_config(0, 1, &c);
	c.n_initial_voters = QUORUM_VOTERS_MAX + 1;
	assert_int_equal(quorum_node_new(&c, NULL, 0, &n, err, sizeof(err)),
					 QUORUM_EINVAL);
}

static void
test_election_events_and_lease(void **state)
{
	int			l;
	const struct quorum_event *e;
	struct quorum_election_info info;

	(void) state;
	t_cluster(3, 3);
	assert_true(pump_wait_until(t_stable, 8000));
	l = t_leader();
	assert_int_equal(quorum_node_election_get(pump->n[l].node, &info), 0);
	assert_int_equal(info.role, QUORUM_ELECTION_LEADER);
	assert_int_equal(info.n_voters, 3);
	assert_true(info.lease_until_ms > pump->now_ms);
	assert_true(quorum_node_is_voter(pump->n[l].node, "n3"));
	assert_false(quorum_node_is_voter(pump->n[l].node, "n4"));
	for (unsigned i = 0; i < 3; i++)
	{
		e = pump_last_event(i, QUORUM_EV_LEADER_CHANGED);
		assert_non_null(e);
		assert_string_equal(e->member, pump->n[l].config.name);
		assert_int_equal(e->term, quorum_node_term(pump->n[l].node));
		assert_string_equal(quorum_event_type_name(e->type), "leader_changed");
		/* The vote the disk holds is the one the node reports. */
		assert_string_equal(pump->n[i].disk.election.voted_for,
							quorum_node_voted_for(pump->n[i].node));
		assert_int_equal(pump->n[i].disk.election.snap.n_voters, 3);
	}
	e = pump_last_event((unsigned) l, QUORUM_EV_LEASE_GAINED);
	assert_non_null(e);
	assert_string_equal(e->member, pump->n[l].config.name);
	assert_int_equal(pump_count_events((unsigned) (l + 1) % 3,
									   QUORUM_EV_LEASE_GAINED, NULL), 0);
	/* The lease is a function of the host's clock, between steps too. */
	assert_true(quorum_node_has_lease(pump->n[l].node, pump->now_ms));
	assert_false(quorum_node_has_lease(pump->n[l].node, pump->now_ms + 5000));
	/* Cut off, the leader loses its lease, then steps down. */
	pump_isolate((unsigned) l, true);
	pump_run_for(1300);
	assert_non_null(pump_last_event((unsigned) l, QUORUM_EV_LEASE_LOST));
	assert_false(quorum_node_has_lease(pump->n[l].node, pump->now_ms));
}

/* bootstrap_expect: voters find each other by gossip (the voter flag). */
static void
test_bootstrap_expect_by_gossip(void **state)
{
	struct quorum_member_info info;

	(void) state;
	t_voters = 0;
	pump->count = 4;
	for (unsigned i = 0; i < 4; i++)
	{
		pump_configure(i);
		pump->n[i].config.bootstrap_expect = 3;
		pump->n[i].config.voter = i < 3;
		if (i == 1)
			pump->n[i].facts.role = QUORUM_ROLE_PRIMARY;
	}
	for (unsigned i = 0; i < 4; i++)
		t_boot(i);
	assert_true(pump_wait_until(t_stable, 12000));
	/* The existing primary wins the first election. */
	assert_int_equal(t_leader(), 1);
	assert_int_equal(quorum_node_term(pump->n[1].node), 1);
	assert_true(quorum_node_is_voter(pump->n[0].node, "n3"));
	assert_false(quorum_node_is_voter(pump->n[0].node, "n4"));
	/* n4 is no voter; it follows all the same. */
	assert_int_equal(quorum_node_member_find(pump->n[0].node, "n4", &info), 0);
	assert_string_equal(quorum_node_leader(pump->n[3].node), "n2");
}

/* The durable record survives a crash: term, vote and log come back. */
static void
test_restart_restores_election(void **state)
{
	int			l;
	unsigned	f;
	uint64_t	term;
	struct quorum_election_info info;

	(void) state;
	t_cluster(3, 3);
	assert_true(pump_wait_until(t_stable, 8000));
	l = t_leader();
	f = ((unsigned) l + 1) % 3;
	term = quorum_node_term(pump->n[f].node);
	pump_crash(f);
	t_boot(f);
	assert_int_equal(quorum_node_term(pump->n[f].node), term);
	assert_string_equal(quorum_node_voted_for(pump->n[f].node),
						pump->n[f].disk.election.voted_for);
	assert_int_equal(quorum_node_election_get(pump->n[f].node, &info), 0);
	assert_true(info.bootstrapped);
	assert_int_equal(info.n_voters, 3);
	assert_true(pump_wait_until(t_stable, 3000));
	assert_int_equal(t_leader(), l);
	/* Even the leader: it comes back a follower, and someone else leads. */
	pump_crash((unsigned) l);
	pump_run_for(3000);
	t_boot((unsigned) l);
	assert_true(pump_wait_until(t_stable, 3000));
	assert_int_not_equal(t_leader(), l);
	assert_true(quorum_node_term(pump->n[l].node) > term);
}

static void
test_commands(void **state)
{
	int			l,
				f;
	const struct quorum_event *e;
	struct quorum_election_info info;

	(void) state;
	t_cluster(4, 3);
	/* Before any leader: a decision has nowhere to go. */
	assert_int_equal(pump_command(0, QUORUM_CMD_PAUSE, ""), QUORUM_EBUSY);
	assert_non_null(strstr(quorum_node_errmsg(pump->n[0].node), "no leader"));
	assert_int_equal(pump_command(0, QUORUM_CMD_ADD_VOTER, ""), QUORUM_EINVAL);
	assert_true(pump_wait_until(t_settled, 8000));
	l = t_leader();
	f = (l + 1) % 3;
	/* Pause, asked at a follower, committed everywhere. */
	assert_int_equal(pump_command((unsigned) f, QUORUM_CMD_PAUSE, ""), 0);
	pump_run_for(300);
	for (unsigned i = 0; i < 4; i++)
	{
		assert_int_equal(quorum_node_election_get(pump->n[i].node, &info), 0);
		assert_true(info.paused);
		e = pump_last_event(i, QUORUM_EV_DECISION_COMMITTED);
		assert_non_null(e);
		assert_int_equal(e->decision.type, QUORUM_DECISION_PAUSE);
		assert_true(e->index > 1);
	}
	assert_int_equal(pump_command((unsigned) l, QUORUM_CMD_RESUME, ""), 0);
	pump_run_for(300);
	assert_int_equal(quorum_node_election_get(pump->n[3].node, &info), 0);
	assert_false(info.paused);
	/* n4 becomes a voter. */
	assert_int_equal(pump_command((unsigned) f, QUORUM_CMD_ADD_VOTER, "n4"), 0);
	pump_run_for(300);
	assert_true(quorum_node_is_voter(pump->n[3].node, "n4"));
	e = pump_last_event(3, QUORUM_EV_DECISION_COMMITTED);
	assert_int_equal(e->decision.type, QUORUM_DECISION_ADD_VOTER);
	assert_string_equal(e->member, "n4");
	assert_int_equal(pump_command((unsigned) l, QUORUM_CMD_ADD_VOTER, "nobody"),
					 QUORUM_ENOTFOUND);
	/* Switchover to n4 by name: a new term, n4 leads with the lease. */
	assert_int_equal(pump_command((unsigned) l, QUORUM_CMD_TRANSFER, "n4"), 0);
	pump_run_for(500);
	/* It waits for the leader's facts sampled after the lease was given up. */
	assert_int_equal(t_leader(), l);
	t_set_facts((unsigned) l, pump->n[l].facts.role, pump->n[l].facts.lsn);
	pump_run_for(500);
	assert_true(t_stable());
	assert_int_equal(t_leader(), 3);
	assert_string_equal(quorum_decision_type_name(QUORUM_DECISION_SWITCHOVER),
						"switchover");
	assert_string_equal(quorum_election_role_name(QUORUM_ELECTION_LEADER), "leader");
}

/*
 * quorum_node_log_leaders(): the leaders the log names, newest first, and
 * whether it names them all (not once the terms asked for were compacted).
 */
static void
test_log_leaders(void **state)
{
	struct quorum_term_leader out[4];
	bool		complete = true;
	int			first,
				second;
	uint64_t	first_term;
	size_t		n;

	(void) state;
	assert_int_equal(quorum_node_log_leaders(NULL, 0, out, 4, &complete), 0);
	assert_false(complete);
	t_cluster(3, 3);
	assert_true(pump_wait_until(t_settled, 8000));
	first = t_leader();
	first_term = quorum_node_term(pump->n[first].node);
	n = quorum_node_log_leaders(pump->n[first].node, 0, out, 4, &complete);
	assert_int_equal(n, 1);
	assert_true(complete);
	assert_int_equal(out[0].term, first_term);
	assert_string_equal(out[0].name, pump->n[first].config.name);
	/* The leader crashes; the next one's log names both, newest first. */
	pump_crash((unsigned) first);
	assert_true(pump_wait_until(t_stable, 8000));
	second = t_leader();
	assert_int_not_equal(second, first);
	n = quorum_node_log_leaders(pump->n[second].node, 0, out, 4, &complete);
	assert_int_equal(n, 2);
	assert_true(complete);
	assert_string_equal(out[0].name, pump->n[second].config.name);
	assert_int_equal(out[0].term, quorum_node_term(pump->n[second].node));
	assert_string_equal(out[1].name, pump->n[first].config.name);
	assert_int_equal(out[1].term, first_term);
	/* Only the terms after after_term; a short out still counts them all. */
	n = quorum_node_log_leaders(pump->n[second].node, first_term, out, 4, &complete);
	assert_int_equal(n, 1);
	assert_string_equal(out[0].name, pump->n[second].config.name);
	memset(out, 0, sizeof(out));
	assert_int_equal(quorum_node_log_leaders(pump->n[second].node, 0, out, 1, &complete), 2);
	assert_string_equal(out[0].name, pump->n[second].config.name);
	assert_string_equal(out[1].name, "");
	/* Enough decisions fold the NOOPs into the snapshot: no longer complete. */
	for (int k = 0; k < 12; k++)
	{
		assert_int_equal(pump_command((unsigned) second,
									  k % 2 == 0 ? QUORUM_CMD_PAUSE : QUORUM_CMD_RESUME, ""), 0);
		pump_run_for(200);
	}
	n = quorum_node_log_leaders(pump->n[second].node, 0, out, 4, &complete);
	assert_false(complete);
	assert_int_equal(n, 0);
	n = quorum_node_log_leaders(pump->n[second].node,
								quorum_node_term(pump->n[second].node), out, 4, &complete);
	assert_int_equal(n, 0);
	assert_true(complete);
}

/* Priority 0 never leads, even as the last voter standing. */
static void
test_priority_zero(void **state)
{
	(void) state;
	t_cluster(3, 3);
	pump->n[0].facts.priority = 0;
	t_set_facts(0, QUORUM_ROLE_STANDBY, 1000);
	assert_true(pump_wait_until(t_stable, 8000));
	assert_int_not_equal(t_leader(), 0);
	pump_crash(1);
	pump_crash(2);
	pump_run_for(10000);
	assert_int_equal(t_leader(), -1);
	assert_string_equal(quorum_node_leader(pump->n[0].node), "");
}

static bool
t_stop_wal_asked(unsigned i)
{
	struct quorum_election_info info;

	return quorum_node_election_get(pump->n[i].node, &info) == 0 && info.stop_wal;
}

/* The host stopped its WAL intake of node i at lsn: QUORUM_IN_WAL_STOPPED. */
static void
t_wal_stopped(unsigned i, uint64_t lsn)
{
	struct quorum_input in = {.type = QUORUM_IN_WAL_STOPPED, .now_ms = pump->now_ms};

	pump->n[i].facts.lsn = lsn;
	in.u.facts = pump->n[i].facts;
	pump_step(i, &in);
}

/* A host that stops its intake at once: stable within ms, or false. */
static bool
t_stable_stopping(quorum_time_ms ms)
{
	for (quorum_time_ms waited = 0; waited < ms; waited += 50)
	{
		for (unsigned i = 0; i < pump->count; i++)
			if (pump->n[i].up && t_stop_wal_asked(i))
				t_wal_stopped(i, pump->n[i].facts.lsn);
		if (t_stable())
			return true;
		pump_run_for(50);
	}
	return false;
}

/*
 * With stop_wal_to_vote a vote waits until the host stopped its WAL intake:
 * no leader while neither survivor reports, then the one whose WAL is ahead
 * by that report wins (judged on the report, not on the older sample), and
 * the intake may resume once it leads.
 */
static void
test_vote_waits_for_wal_stop(void **state)
{
	unsigned	a,
				b;
	int			l;

	(void) state;
	t_stop_wal = true;
	t_cluster(3, 3);
	assert_true(t_stable_stopping(8000));
	l = t_leader();
	a = (unsigned) (l + 1) % 3;
	b = (unsigned) (l + 2) % 3;
	assert_false(t_stop_wal_asked(a) || t_stop_wal_asked(b));
	pump_crash((unsigned) l);
	pump_run_for(4000);
	assert_int_equal(t_leader(), -1);
	assert_true(t_stop_wal_asked(a) || t_stop_wal_asked(b));
	/*
	 * Both sampled 1000 before; b has since flushed more.  Each reports
	 * again whenever asked: which of them campaigns first, and so which
	 * stops its intake again for the other's vote, depends on the timers.
	 */
	for (quorum_time_ms waited = 0; !t_stable() && waited < 6000; waited += 50)
	{
		if (t_stop_wal_asked(a))
			t_wal_stopped(a, 1000);
		if (t_stop_wal_asked(b))
			t_wal_stopped(b, 2000);
		pump_run_for(50);
	}
	assert_true(t_stable());
	assert_int_equal(t_leader(), (int) b);
	assert_false(t_stop_wal_asked(a));
	assert_false(t_stop_wal_asked(b));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, t_setup, pump_teardown)
		T(test_defaults),
		T(test_election_events_and_lease),
		T(test_bootstrap_expect_by_gossip),
		T(test_restart_restores_election),
		T(test_commands),
		T(test_log_leaders),
		T(test_priority_zero),
		T(test_vote_waits_for_wal_stop),
#undef T
	};

	return cmocka_run_group_tests_name("election", tests, NULL, NULL);
}
