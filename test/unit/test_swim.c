/*-------------------------------------------------------------------------
 *
 * test_swim.c
 *	  Unit tests of the membership protocol: 2 to 5 nodes driven by hand
 *	  through the public step API, with a fake clock and a tiny network.
 *
 * The network is the shared test pump (pump.h): fixed latency, per-channel
 * cuts and crashes, with every step checked for persist-before-send.  The
 * full simulator (test/sim/) does loss, reordering and the rest.
 *
 * test/unit/test_swim.c
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

static enum quorum_member_state
t_state(unsigned viewer, unsigned member)
{
	struct quorum_member_info info;
	char		name[16];

	snprintf(name, sizeof(name), "n%u", member + 1);
	if (quorum_node_member_find(pump->n[viewer].node, name, &info) != 0)
		return (enum quorum_member_state) -1;
	return info.state;
}

static void
t_info(unsigned viewer, unsigned member, struct quorum_member_info *info)
{
	char		name[16];

	snprintf(name, sizeof(name), "n%u", member + 1);
	assert_int_equal(quorum_node_member_find(pump->n[viewer].node, name, info), 0);
}

/* Everyone up sees everyone up as alive. */
static bool
t_converged(void)
{
	for (unsigned i = 0; i < pump->count; i++)
	{
		if (!pump->n[i].up)
			continue;
		for (unsigned j = 0; j < pump->count; j++)
			if (pump->n[j].up && t_state(i, j) != QUORUM_MEMBER_ALIVE)
				return false;
	}
	return true;
}

/*
 * Boots count nodes, all joining through n1, and waits for convergence;
 * pump->configure, if a test set it, adjusts each node's configuration.
 */
static void
t_cluster(unsigned count)
{
	pump_cluster(count);
	assert_true(pump_wait_until(t_converged, 5000));
}

/* ------------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------------
 */

static void
test_join_converges(void **state)
{
	(void) state;
	t_cluster(3);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(quorum_node_member_count(pump->n[i].node), 3);
	assert_int_equal(pump_count_events(0, QUORUM_EV_MEMBER_ALIVE, "n2"), 1);
	assert_int_equal(pump_count_events(2, QUORUM_EV_MEMBER_ALIVE, "n2"), 1);
	/* And it stays converged while probing goes on. */
	pump_run_for(5000);
	assert_true(t_converged());
}

/* A joiner learns the whole table from the seed's push-pull answer at once. */
static void
test_join_pushpull_answer(void **state)
{
	struct quorum_node_stats st;

	(void) state;
	t_cluster(3);
	pump->count = 4;
	pump_configure(3);
	pump_boot(3);
	pump_join(3, 0);
	/* one round trip: push (2 ms), reply (2 ms) */
	pump_run_for(2 * PUMP_LATENCY_MS);
	assert_int_equal(quorum_node_member_count(pump->n[3].node), 4);
	assert_int_equal(t_state(3, 1), QUORUM_MEMBER_ALIVE);
	assert_int_equal(t_state(3, 2), QUORUM_MEMBER_ALIVE);
	assert_int_equal(t_state(0, 3), QUORUM_MEMBER_ALIVE);
	quorum_node_stats_get(pump->n[0].node, &st);
	assert_true(st.pushpulls >= 3);
	/* The push and the answer, marked for a transport (pump.c checks each). */
	assert_true(pump->pushpulls_marked >= 2);
	assert_true(pump_wait_until(t_converged, 3000));
}

static void
test_probe_ack(void **state)
{
	struct quorum_member_info info;
	struct quorum_node_stats st;

	(void) state;
	t_cluster(3);
	pump_run_for(3000);
	for (unsigned i = 0; i < 3; i++)
	{
		quorum_node_stats_get(pump->n[i].node, &st);
		assert_true(st.probes_sent >= 10);
		assert_int_equal(st.probes_failed, 0);
		assert_int_equal(st.indirect_probes_sent, 0);
		assert_int_equal(st.local_health, 0);
		assert_int_equal(st.members_alive, 3);
		for (unsigned d = 0; d < QUORUM_DROP__COUNT; d++)
			assert_int_equal(st.drops[d], 0);
	}
	t_info(0, 1, &info);
	assert_true(info.probes_sent >= 5);
	assert_int_equal(info.acks_received, info.probes_sent);
	/* Round trip is two hops of PUMP_LATENCY_MS. */
	assert_int_equal(info.rtt_us, 2 * PUMP_LATENCY_MS * 1000);
	assert_true(info.last_heard_ms + 500 >= pump->now_ms);
}

static unsigned t_viewer;
static unsigned t_target;
static enum quorum_member_state t_want;

static bool
t_state_is(void)
{
	return t_state(t_viewer, t_target) == t_want;
}

static bool
t_wait_state(unsigned viewer, unsigned target, enum quorum_member_state want,
			 quorum_time_ms bound_ms)
{
	t_viewer = viewer;
	t_target = target;
	t_want = want;
	return pump_wait_until(t_state_is, bound_ms);
}

/*
 * A silent member is suspected within two probe rounds and declared dead
 * no earlier than the minimum and no later than the maximum suspicion
 * timeout (N = 3: min 4 * 1 * 200 = 800 ms, max 6 * 800 = 4800 ms).
 */
static void
test_silent_node_suspect_then_dead(void **state)
{
	quorum_time_ms crashed,
				suspected,
				dead;
	struct quorum_node_stats st;

	(void) state;
	t_cluster(3);
	pump_run_for(1000);
	crashed = pump->now_ms;
	pump_crash(2);
	assert_true(t_wait_state(0, 2, QUORUM_MEMBER_SUSPECT, 2 * 2 * 200 + 200));
	suspected = pump->now_ms;
	assert_true(t_wait_state(0, 2, QUORUM_MEMBER_DEAD, 4800 + 20));
	dead = pump->now_ms;
	assert_true(dead - suspected >= 800 - 20);
	assert_true(suspected > crashed);
	assert_int_equal(pump_count_events(0, QUORUM_EV_MEMBER_SUSPECT, "n3"), 1);
	assert_int_equal(pump_count_events(0, QUORUM_EV_MEMBER_DEAD, "n3"), 1);
	assert_true(t_wait_state(1, 2, QUORUM_MEMBER_DEAD, 1000));
	assert_int_equal(pump_count_events(1, QUORUM_EV_MEMBER_DEAD, "n3"), 1);
	quorum_node_stats_get(pump->n[0].node, &st);
	assert_int_equal(st.members_dead, 1);
	assert_int_equal(st.members_alive, 2);
	assert_true(st.probes_failed >= 1);
	/* The survivors stay healthy: the helpers NACKed, so no blame on us. */
	assert_int_equal(st.local_health, 0);
	pump_run_for(5000);
	assert_int_equal(t_state(0, 1), QUORUM_MEMBER_ALIVE);
	assert_int_equal(t_state(0, 2), QUORUM_MEMBER_DEAD);
}

/* With the direct path n1 <-> n2 cut, n3 relays the acks: nobody is suspected. */
static void
test_indirect_probe(void **state)
{
	struct quorum_node_stats st;

	(void) state;
	t_cluster(3);
	pump_cut_both(0, 1, true);
	for (int i = 0; i < 500; i++)
	{
		pump_run_for(10);
		assert_int_equal(t_state(0, 1), QUORUM_MEMBER_ALIVE);
		assert_int_equal(t_state(1, 0), QUORUM_MEMBER_ALIVE);
	}
	quorum_node_stats_get(pump->n[0].node, &st);
	assert_true(st.indirect_probes_sent >= 5);
	assert_int_equal(st.probes_failed, 0);
	assert_int_equal(st.local_health, 0);
}

static bool
t_n3_refuted_everywhere(void)
{
	struct quorum_member_info info;

	for (unsigned i = 0; i < pump->count; i++)
	{
		t_info(i, 2, &info);
		if (info.state != QUORUM_MEMBER_ALIVE || info.incarnation < 2)
			return false;
	}
	return t_converged();
}

/*
 * n3 is cut off just long enough to be suspected; once it hears of it, it
 * refutes with a higher incarnation, persisted before it is sent (the pump
 * checks that order on every step).
 */
static void
test_refute_suspicion(void **state)
{
	struct quorum_node_stats st;
	struct quorum_member_info self;

	(void) state;
	t_cluster(5);
	pump_isolate(2, true);
	assert_true(t_wait_state(0, 2, QUORUM_MEMBER_SUSPECT, 3000));
	pump_isolate(2, false);
	assert_true(pump_wait_until(t_n3_refuted_everywhere, 3000));
	assert_int_equal(quorum_node_member_get(pump->n[2].node, 0, &self), 0);
	assert_true(self.incarnation >= 2);
	assert_true(pump->n[2].disk.incarnation >= self.incarnation);
	quorum_node_stats_get(pump->n[2].node, &st);
	assert_true(st.suspicions_refuted >= 1);
	assert_int_equal(pump_count_events(0, QUORUM_EV_MEMBER_DEAD, "n3"), 0);
	assert_true(pump_count_events(0, QUORUM_EV_MEMBER_ALIVE, "n3") >= 2);
}

static void
t_configure_trace_n1(unsigned i, struct quorum_config *c, struct quorum_meta *facts)
{
	if (i == 0)
	{
		c->trace_fn = pump_trace;
		c->trace_level = QUORUM_TRACE_INFO;
	}
}

/*
 * Five nodes, n5 crashes: the other three suspicions confirm n1's, so n1
 * declares it dead well before the 4800 ms maximum (k = 3, and
 * 4800 - 4000 * ln(C + 1) / ln 4 gives 2800 ms at C = 1).
 */
static void
test_confirmations_shorten_suspicion(void **state)
{
	quorum_time_ms suspected;

	(void) state;
	pump->configure = t_configure_trace_n1;
	t_cluster(5);
	pump_crash(4);
	assert_true(t_wait_state(0, 4, QUORUM_MEMBER_SUSPECT, 3000));
	suspected = pump->now_ms;
	assert_true(t_wait_state(0, 4, QUORUM_MEMBER_DEAD, 4800));
	assert_true(pump->now_ms - suspected <= 2800 + 20);
	assert_non_null(strstr(pump->trace, "suspect n5 confirmed by"));
	assert_non_null(strstr(pump->trace, "n1 n5 dead (inc 1"));
}

static void
test_metadata_propagates(void **state)
{
	struct quorum_input in = {.type = QUORUM_IN_FACTS};
	struct quorum_member_info info;

	(void) state;
	t_cluster(3);
	t_info(2, 0, &info);
	assert_true(info.has_meta);
	assert_int_equal(info.meta_version, 1);
	assert_int_equal(info.meta.priority, 100);

	in.now_ms = pump->now_ms;
	in.u.facts.role = QUORUM_ROLE_PRIMARY;
	in.u.facts.timeline = 2;
	in.u.facts.lsn = 123456;
	in.u.facts.priority = 50;
	snprintf(in.u.facts.conninfo, sizeof(in.u.facts.conninfo), "host=n1 port=5432");
	pump_step(0, &in);
	/* The same facts again are no news. */
	pump_step(0, &in);
	pump_run_for(1000);
	for (unsigned i = 1; i < 3; i++)
	{
		t_info(i, 0, &info);
		assert_int_equal(info.meta_version, 2);
		assert_int_equal(info.meta.role, QUORUM_ROLE_PRIMARY);
		assert_int_equal(info.meta.lsn, 123456);
		assert_int_equal(info.meta.timeline, 2);
		assert_string_equal(info.meta.conninfo, "host=n1 port=5432");
		assert_int_equal(pump_count_events(i, QUORUM_EV_MEMBER_UPDATED, "n1"), 1);
	}
	t_info(0, 0, &info);
	assert_int_equal(info.meta_version, 2);
}

static void
t_configure_slots_n1(unsigned i, struct quorum_config *c, struct quorum_meta *facts)
{
	if (i == 0)
		c->meta_slots_max = 2;
}

/* With one metadata slot (our own), others are known but without metadata. */
static void
test_metadata_slots_full(void **state)
{
	struct quorum_member_info info;
	struct quorum_node_stats st;

	(void) state;
	pump->configure = t_configure_slots_n1;
	t_cluster(3);
	quorum_node_stats_get(pump->n[0].node, &st);
	assert_true(st.drops[QUORUM_DROP_TABLE_FULL] >= 1);
	t_info(0, 1, &info);
	{
		struct quorum_member_info other;

		t_info(0, 2, &other);
		/* exactly one of the two got the one free slot */
		assert_true(info.has_meta != other.has_meta);
	}
}

static void
test_leave(void **state)
{
	struct quorum_input in = {.type = QUORUM_IN_COMMAND};
	struct quorum_output out;
	struct quorum_node_stats st;

	(void) state;
	t_cluster(4);
	in.now_ms = pump->now_ms;
	in.u.command.type = QUORUM_CMD_LEAVE;
	assert_int_equal(quorum_node_step(pump->n[3].node, &in, &out), 0);
	assert_true(out.n_datagrams >= 1);
	assert_true(out.flags & QUORUM_OUT_SEND);
	pump_output(3, &out);
	assert_int_equal(quorum_node_deadline_ms(pump->n[3].node), UINT64_MAX);
	in.type = QUORUM_IN_TICK;
	assert_int_equal(quorum_node_step(pump->n[3].node, &in, &out), QUORUM_ESTATE);
	assert_int_equal(out.n_datagrams, 0);
	assert_non_null(strstr(quorum_node_errmsg(pump->n[3].node), "left"));
	pump_crash(3);
	for (unsigned i = 0; i < 3; i++)
		assert_true(t_wait_state(i, 3, QUORUM_MEMBER_LEFT, 2000));
	pump_run_for(10000);
	for (unsigned i = 0; i < 3; i++)
	{
		assert_int_equal(t_state(i, 3), QUORUM_MEMBER_LEFT);
		assert_int_equal(pump_count_events(i, QUORUM_EV_MEMBER_LEFT, "n4"), 1);
		assert_int_equal(pump_count_events(i, QUORUM_EV_MEMBER_DEAD, "n4"), 0);
	}
	quorum_node_stats_get(pump->n[0].node, &st);
	assert_int_equal(st.members_left, 1);
}

/* FORGET reaps a dead member at once, on this node only; never a live one. */
static void
test_forget(void **state)
{
	(void) state;
	t_cluster(3);
	assert_int_equal(pump_command(0, QUORUM_CMD_FORGET, "n2"), QUORUM_ESTATE);
	assert_non_null(strstr(quorum_node_errmsg(pump->n[0].node), "alive"));
	assert_int_equal(pump_command(0, QUORUM_CMD_FORGET, "n1"), QUORUM_ENOTFOUND);
	assert_int_equal(pump_command(0, QUORUM_CMD_FORGET, "nobody"), QUORUM_ENOTFOUND);
	assert_int_equal(quorum_node_member_count(pump->n[0].node), 3);
	pump_crash(2);
	assert_true(t_wait_state(0, 2, QUORUM_MEMBER_DEAD, 6000));
	assert_true(t_wait_state(1, 2, QUORUM_MEMBER_DEAD, 6000));
	assert_int_equal(pump_command(0, QUORUM_CMD_FORGET, "n3"), 0);
	assert_int_equal(quorum_node_member_count(pump->n[0].node), 2);
	assert_int_equal((int) t_state(0, 2), -1);
	assert_int_equal(pump_count_events(0, QUORUM_EV_MEMBER_REAPED, "n3"), 1);
	assert_int_equal(pump_command(0, QUORUM_CMD_FORGET, "n3"), QUORUM_ENOTFOUND);
	/* n2 still gossips n3 as dead: that does not bring it back. */
	pump_run_for(5000);
	assert_int_equal((int) t_state(0, 2), -1);
	assert_int_equal(t_state(1, 2), QUORUM_MEMBER_DEAD);
	assert_int_equal(t_state(0, 1), QUORUM_MEMBER_ALIVE);
	/* Heard alive again, it is a member again. */
	pump_boot(2);
	pump_join(2, 1);
	assert_true(t_wait_state(0, 2, QUORUM_MEMBER_ALIVE, 6000));
}

static void
t_configure_reap(unsigned i, struct quorum_config *c, struct quorum_meta *facts)
{
	c->gossip_to_dead_ms = 1000;
	c->reap_dead_ms = 2000;
}

/* Dead members are forgotten after reap_dead_ms. */
static void
test_reap(void **state)
{
	(void) state;
	pump->configure = t_configure_reap;
	t_cluster(3);
	pump_crash(2);
	assert_true(t_wait_state(0, 2, QUORUM_MEMBER_DEAD, 6000));
	assert_int_equal(quorum_node_member_count(pump->n[0].node), 3);
	/* reaped when its turn in the probe order comes after 2000 ms */
	pump_run_for(2000 + 2 * 200 + 20);
	assert_int_equal(quorum_node_member_count(pump->n[0].node), 2);
	assert_int_equal((int) t_state(0, 2), -1);
	assert_int_equal(pump_count_events(0, QUORUM_EV_MEMBER_REAPED, "n3"), 1);
	pump_run_for(2000);
	assert_int_equal(t_state(0, 1), QUORUM_MEMBER_ALIVE);
}

/* A crashed node restarts at a higher incarnation (and boot) and is back. */
static void
test_restart_higher_incarnation(void **state)
{
	struct quorum_member_info info;
	uint64_t	incarnation;

	(void) state;
	t_cluster(3);
	pump_crash(2);
	assert_true(t_wait_state(0, 2, QUORUM_MEMBER_DEAD, 6000));
	/* pump_boot() starts it one above what its disk holds. */
	incarnation = pump->n[2].disk.incarnation + 1;
	pump->n[2].config.seed = 99;
	pump_boot(2);
	pump_join(2, 1);
	assert_int_equal(pump->n[2].config.incarnation_start, incarnation);
	assert_true(pump_wait_until(t_converged, 3000));
	t_info(0, 2, &info);
	assert_int_equal(info.incarnation, incarnation);
	assert_int_equal(pump->n[2].disk.incarnation, incarnation);
	/* the new boot's datagrams are not taken for replays of the old one */
	pump_run_for(3000);
	assert_true(t_converged());
}

/*
 * Both sides of a long cut declare each other dead; after healing, gossip
 * to the dead tells each side, which refutes, and the cluster reconverges.
 */
static void
test_gossip_to_dead_heals(void **state)
{
	struct quorum_member_info info;

	(void) state;
	t_cluster(3);
	pump_isolate(2, true);
	assert_true(t_wait_state(0, 2, QUORUM_MEMBER_DEAD, 8000));
	assert_true(t_wait_state(2, 0, QUORUM_MEMBER_DEAD, 8000));
	pump_isolate(2, false);
	assert_true(pump_wait_until(t_converged, 10000));
	t_info(0, 2, &info);
	assert_true(info.incarnation >= 2);
}

static void
t_configure_reconnect(unsigned i, struct quorum_config *c, struct quorum_meta *facts)
{
	c->gossip_to_dead_ms = 1000;
	c->pushpull_interval_ms = 2000;
}

/*
 * A partition that outlasts gossip_to_dead_ms: nothing crosses it any more
 * but the reconnect push-pull to a dead member, which must heal it.
 */
static void
test_reconnect_after_long_partition(void **state)
{
	(void) state;
	pump->configure = t_configure_reconnect;
	t_cluster(4);
	for (unsigned a = 0; a < 2; a++)
		for (unsigned b = 2; b < 4; b++)
			pump_cut_both(a, b, true);
	pump_run_for(15000);
	assert_int_equal(t_state(0, 3), QUORUM_MEMBER_DEAD);
	assert_int_equal(t_state(3, 0), QUORUM_MEMBER_DEAD);
	for (unsigned a = 0; a < 2; a++)
		for (unsigned b = 2; b < 4; b++)
			pump_cut_both(a, b, false);
	assert_true(pump_wait_until(t_converged, 3 * 2000 + 1000));
}

/* Our own outgoing datagrams lost: probes fail with no nacks, health drops. */
static void
test_local_health(void **state)
{
	struct quorum_node_stats st;
	struct quorum_member_info info;

	(void) state;
	t_cluster(4);
	for (unsigned b = 1; b < 4; b++)
		pump->cut[0][b] = true;
	pump_run_for(1000);
	quorum_node_stats_get(pump->n[0].node, &st);
	assert_true(st.local_health >= 1);
	assert_true(st.local_health <= 7);
	for (unsigned b = 1; b < 4; b++)
		pump->cut[0][b] = false;
	/* n1 was surely suspected meanwhile; it refutes, and heals */
	pump_run_for(20000);
	quorum_node_stats_get(pump->n[0].node, &st);
	assert_int_equal(st.local_health, 0);
	assert_true(t_converged());
	t_info(0, 0, &info);
	assert_true(info.incarnation >= 1);
}

static void
t_configure_pushpull(unsigned i, struct quorum_config *c, struct quorum_meta *facts)
{
	c->pushpull_interval_ms = 1000;
}

/* Push-pull repairs a member whose news was never gossiped to us. */
static void
test_pushpull_periodic(void **state)
{
	struct quorum_node_stats st;

	(void) state;
	pump->configure = t_configure_pushpull;
	t_cluster(3);
	pump_run_for(5000);
	quorum_node_stats_get(pump->n[1].node, &st);
	/* about one exchange a second started by n2, plus those it answered */
	assert_true(st.pushpulls >= 4);
	assert_true(t_converged());
}

static enum quorum_trace_level t_trace_level;

static void
t_configure_trace(unsigned i, struct quorum_config *c, struct quorum_meta *facts)
{
	c->trace_fn = pump_trace;
	c->trace_level = t_trace_level;
}

/* Boots 3 traced nodes, crashes n3 and runs 3 s; the trace is in pump->trace. */
static void
t_traced_crash_run(enum quorum_trace_level level)
{
	t_trace_level = level;
	pump->configure = t_configure_trace;
	pump_cluster(3);
	pump_run_for(1000);
	pump_crash(2);
	pump_run_for(3000);
}

/* The same inputs give the same decisions, line for line (golden traces). */
static void
test_trace_deterministic(void **state)
{
	char	   *first;
	unsigned long long at;
	char		who[8];

	(void) state;
	t_traced_crash_run(QUORUM_TRACE_DEBUG);
	first = strdup(pump->trace);
	assert_non_null(first);
	assert_true(strlen(first) > 1000);
	pump_teardown(NULL);
	pump_setup(NULL);
	t_traced_crash_run(QUORUM_TRACE_DEBUG);
	assert_string_equal(first, pump->trace);
	free(first);
	/* "[%8llu] <self> <text>" */
	assert_int_equal(sscanf(pump->trace, "[%8llu] %7s ", &at, who), 2);
	assert_int_equal(pump->trace[9], ']');
	assert_non_null(strstr(pump->trace, "] n1 suspect n3 (inc 1, by "));
	assert_non_null(strstr(pump->trace, "] n1 ping n3 timed out -> indirect probe via n2\n"));
	assert_non_null(strstr(pump->trace, "] n2 n3 dead (inc 1"));
}

/* Filtered levels are not even formatted: nothing reaches the callback. */
static void
test_trace_filtered(void **state)
{
	(void) state;
	t_traced_crash_run(QUORUM_TRACE_WARNING);
	assert_int_equal(pump->trace_len, 0);
	assert_int_equal(t_state(0, 2), QUORUM_MEMBER_DEAD);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, pump_setup, pump_teardown)
		T(test_join_converges),
		T(test_join_pushpull_answer),
		T(test_probe_ack),
		T(test_silent_node_suspect_then_dead),
		T(test_indirect_probe),
		T(test_refute_suspicion),
		T(test_confirmations_shorten_suspicion),
		T(test_metadata_propagates),
		T(test_metadata_slots_full),
		T(test_leave),
		T(test_forget),
		T(test_reap),
		T(test_restart_higher_incarnation),
		T(test_gossip_to_dead_heals),
		T(test_reconnect_after_long_partition),
		T(test_local_health),
		T(test_pushpull_periodic),
		T(test_trace_deterministic),
		T(test_trace_filtered),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
