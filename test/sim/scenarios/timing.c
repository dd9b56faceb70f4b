/*-------------------------------------------------------------------------
 *
 * timing.c
 *	  Issue 9's timing hazards in the simulator: election timeouts that
 *	  differ between servers (H6), a heartbeat stamped with the time its
 *	  pass started after a persist stalled the pass (H2), and a leader whose
 *	  monotonic clock stood still while its machine was suspended (H3b).
 *
 * Each scenario passes on the fixed core and fails, through the checker of
 * one valid lease at a time (check_election.c), on the core built with the
 * fix removed: QUORUM_BREAK_PROMISE, QUORUM_BREAK_STAMP and
 * QUORUM_BREAK_SUSPEND (check-sim.sh runs them).
 *
 * test/sim/scenarios/timing.c
 *
 *-------------------------------------------------------------------------
 */
#include "scenario.h"

#include <string.h>

static int	timing_leader;

static bool
timing_stable(struct sim_world *w, int not)
{
	return sim_check_leader_stable(w, &timing_leader, sim_why, sizeof(sim_why)) &&
		timing_leader != not;
}

/* Three voters, n0 the primary; with the toy database if wal. */
static struct sim_world *
timing_world(uint64_t salt, bool wal)
{
	struct sim_opts o;

	sim_test_opts(&o, 3, salt);
	o.join_spread_ms = 200;
	sim_opts_election(&o, 3, wal ? 250 : 0);
	return sim_test_new(&o);
}

/*
 * H6: the leader runs election_timeout 3000 ms, the others 1200 ms, as
 * during a rolling change of the setting.  A lease derived from the
 * leader's own timeout (2616 ms) outlasts the others' promise not to vote
 * (1200 ms after the last heartbeat): cut off, the leader would still hold
 * it when they elect a new one.  Ten seeds, the cut anywhere in a round.
 */
TEST(timeout_mismatch_lease)
{
	for (uint64_t salt = 0; salt < 10; salt++)
	{
		struct sim_world *W = timing_world(salt, true);
		quorum_time_ms cut_at;

		SIM_ELECTION_TIMEOUT(0, 3000);
		SIM_WAIT_UNTIL(timing_stable(W, -1), 15000);
		SIM_ASSERT(timing_leader == 0, "n%d leads, not the primary n0", timing_leader);
		SIM_RUN_FOR(500 + sim_rng_below(&W->rng, 100));
		cut_at = W->now_ms;
		SIM_ISOLATE(0);
		SIM_WAIT_UNTIL(timing_stable(W, 0), 4000);
		if (salt == 0)
			sim_note("n%d leads with a lease %llu ms after n0 (3000 ms) was cut off",
					 timing_leader, (unsigned long long) (W->now_ms - cut_at));
		sim_test_free(W);
	}
}

/*
 * H2: n1's persist of a decision takes 900 ms in the middle of a pass; the
 * leader's heartbeats queue meanwhile and are read in the same pass, and
 * n0's heartbeats stop reaching n1 just before it returns, and n0 hears
 * nothing from n1 once its answers are out.  n2 has been cut off from n0
 * all along, so it votes for n1 as soon as n1 campaigns.  Were
 * the queued heartbeats stamped with the pass's start, n1 would count its
 * last contact 900 ms too early and win while n0's lease, which runs from
 * the last of those heartbeats' send time, still held.
 */
TEST(stalled_persist_stamps)
{
	struct sim_world *W = timing_world(0, false);
	struct quorum_command cmd;
	quorum_time_ms stalled_at;

	SIM_WAIT_UNTIL(timing_stable(W, -1), 10000);
	SIM_ASSERT(timing_leader == 0, "n%d leads, not the primary n0", timing_leader);
	SIM_CUT(0, 2);
	SIM_CUT(2, 0);
	SIM_RUN_FOR(2500);
	SIM_ASSERT(timing_stable(W, -1) || timing_leader == 0,
			   "n0 lost the lead while only n2 was cut off");

	/* A decision makes n1 persist; that persist stalls its pass. */
	SIM_SLOW_PERSIST(1, 900);
	memset(&cmd, 0, sizeof(cmd));
	cmd.type = QUORUM_CMD_PAUSE;
	SIM_ASSERT(sim_host_command(W, 0, &cmd) == 0, "PAUSE refused");
	cmd.type = QUORUM_CMD_RESUME;
	SIM_ASSERT(sim_host_command(W, 0, &cmd) == 0, "RESUME refused");
	SIM_WAIT_UNTIL(W->hosts[1].stalled, 500);
	stalled_at = W->now_ms;
	SIM_RUN_FOR(850 - (W->now_ms - stalled_at));
	SIM_CUT(0, 1);
	SIM_WAIT_UNTIL(!W->hosts[1].stalled, 200);
	/* Its answers are on their way; n0 hears nothing of n1's campaign. */
	SIM_CUT(1, 0);
	SIM_WAIT_UNTIL(timing_stable(W, 0), 5000);
	sim_note("n%d leads %llu ms after n1's stalled persist began",
			 timing_leader, (unsigned long long) (W->now_ms - stalled_at));
}

/*
 * H3b: the leader's machine is suspended for 4 s.  Its monotonic clock
 * stands still meanwhile; the others elect a new leader after their
 * timeout.  A lease measured on the monotonic clock would still run while
 * (and after) the machine sleeps; on boot time it has ended.
 */
TEST(suspend_ends_lease)
{
	for (uint64_t salt = 0; salt < 5; salt++)
	{
		struct sim_world *W = timing_world(salt, true);
		quorum_time_ms at;

		SIM_WAIT_UNTIL(timing_stable(W, -1), 10000);
		SIM_RUN_FOR(sim_rng_below(&W->rng, 100));
		at = W->now_ms;
		SIM_SUSPEND((unsigned) timing_leader, 4000);
		SIM_WAIT_UNTIL(timing_stable(W, timing_leader), 4000);
		SIM_RUN_FOR(4000 - (W->now_ms - at) + 1000);
		SIM_WAIT_UNTIL(timing_stable(W, -1), 5000);
		sim_test_free(W);
	}
}
