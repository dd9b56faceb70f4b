/*-------------------------------------------------------------------------
 *
 * vote.c
 *	  What a vote promises about the voter's WAL (issue 9, H1): a voter
 *	  judges a candidate on its WAL as it is when it votes, and from then on
 *	  takes no more WAL from the old leader.
 *
 * The hazard needs three things the toy database (wal.c) models: facts
 * that are a sample, older than the WAL itself; replication that keeps
 * flowing while the gossip to the leader is cut; and synchronous
 * replication to ANY k standbys, so that one standby's flush acknowledges
 * a commit.  vote_stale_sample is what the QUORUM_BREAK_STALE_VOTE core
 * (a voter judges on its last sample and keeps streaming) must fail.
 *
 * test/sim/scenarios/vote.c
 *
 *-------------------------------------------------------------------------
 */
#include "scenario.h"
#include "wal.h"

#include <string.h>

static int	vote_leader;

static bool
vote_stable(struct sim_world *w)
{
	return sim_check_leader_stable(w, &vote_leader, sim_why, sizeof(sim_why));
}

static struct sim_world *
vote_world(unsigned n, quorum_time_ms sample_ms, unsigned sync_k)
{
	struct sim_opts o;
	struct sim_world *w;

	sim_test_opts(&o, n, 0);
	o.join_spread_ms = 200;
	sim_opts_election(&o, n, 250);
	w = sim_test_new(&o);
	w->wal->sample_ms = sample_ms;
	w->wal->sync_k = sync_k;
	return w;
}

static void
vote_set_priority(struct sim_world *w, unsigned h, int32_t priority)
{
	struct quorum_meta f = w->hosts[h].facts;

	f.priority = priority;
	sim_host_set_facts(w, h, &f);
}

/* Just after a round fed every host's facts (sample_ms apart). */
static bool
vote_just_sampled(struct sim_world *w)
{
	return w->now_ms < w->wal->db[1].sampled_ms + w->wal->interval_ms;
}

/*
 * Synchronous mode, ANY 1 (n1, n2): n0 leads; n1 may vote but never
 * campaign (priority 0), so the only candidate is n2.  Facts are sampled
 * every 3 s, which makes every vote within that time judge a stale sample
 * (the forced form of a 150 ms poll racing a commit).  Right after a
 * sample, n0's gossip is cut from everyone while its replication to n1
 * still flows and its replication to n2 does not: until n0's lease ends,
 * its commits are acknowledged by n1 alone.  n2 then asks n1 for its vote.
 * Judged on n1's sample, n2 is as good as n1 and wins without those
 * commits; judged on n1's WAL after its intake stopped, n2 is refused.
 */
TEST(vote_stale_sample)
{
	struct sim_world *W = vote_world(3, 3000, 1);
	struct quorum_election_info info;
	uint64_t	acked;

	vote_set_priority(W, 1, 0);
	SIM_WAIT_UNTIL(vote_stable(W) && vote_leader == 0, 10000);
	SIM_WAIT_UNTIL(vote_just_sampled(W), 4000);
	acked = sim_check_election_counts(W)->acked_writes;
	SIM_ISOLATE(0);
	sim_wal_replication(W, 0, 1, SIM_WAL_REPL_KEEP);
	SIM_RUN_FOR(6000);
	SIM_ASSERT(sim_check_election_counts(W)->acked_writes > acked,
			   "no commit was acknowledged by n1 after the cut: the scenario proves nothing");
	SIM_ASSERT(quorum_node_election_get(W->hosts[2].node, &info) == 0 &&
			   info.role != QUORUM_ELECTION_LEADER,
			   "n2 leads without the writes n1 acknowledged");
	sim_note("%llu commits acknowledged by n1 alone after the cut; n2 refused",
			 (unsigned long long) (sim_check_election_counts(W)->acked_writes - acked));

	/* Healed, n1 streams again and the cluster elects someone. */
	sim_wal_replication(W, 0, 1, SIM_WAL_REPL_NET);
	SIM_HEAL();
	SIM_WAIT_UNTIL(vote_stable(W), 10000);
}

/*
 * The same cut with facts fed every round and a majority acknowledging:
 * the voter's intake stops before each vote and resumes after, the cluster
 * elects n2 or n1 within the usual bound, and nothing acknowledged is lost.
 */
TEST(vote_stop_then_follow)
{
	struct sim_world *W = vote_world(3, 0, 0);
	int			old;

	SIM_WAIT_UNTIL(vote_stable(W), 10000);
	old = vote_leader;
	SIM_ISOLATE((unsigned) old);
	SIM_WAIT_UNTIL(vote_stable(W) && vote_leader != old, 5000);
	sim_note("a new leader %d ms after the cut", (int) sim_waited_ms);
	SIM_HEAL();
	SIM_RUN_FOR(3000);
	SIM_WAIT_UNTIL(vote_stable(W), 5000);
}

static struct quorum_election_info
vote_info(struct sim_world *w, unsigned h)
{
	struct quorum_election_info info;

	memset(&info, 0, sizeof(info));
	(void) quorum_node_election_get(w->hosts[h].node, &info);
	return info;
}

static bool
vote_has_entry(struct sim_world *w, unsigned h, uint64_t index)
{
	return vote_info(w, h).last_index >= index;
}

/*
 * Issue 9, H7: a pause that a voter missed.  Synchronous mode, ANY 1: n0
 * leads; replication from n0 to both standbys is cut (its gossip flows), so
 * commits wait, and n0 pauses failover to degrade.  n2 receives the PAUSE
 * entry and then hears nothing more from n0 (a one-way cut), so it never
 * learns that the PAUSE committed; n1 does, and keeps n0's lease going
 * while n0 acknowledges writes on its own.  n0 crashes.  n2 may campaign
 * (it does not know the pause) and, holding every entry, may even win; as
 * leader it must not be promoted while its log says paused: it lacks every
 * commit n0 acknowledged alone.  (QUORUM_BREAK_PAUSE_PROMOTE must fail.)
 */
TEST(pause_missed_no_promotion)
{
	struct sim_world *W = vote_world(3, 0, 1);
	uint64_t	acked,
				pause_index;

	SIM_WAIT_UNTIL(vote_stable(W) && vote_leader == 0 &&
				   sim_check_election_counts(W)->acked_writes > 0, 10000);
	sim_wal_replication(W, 0, 1, SIM_WAL_REPL_CUT);
	sim_wal_replication(W, 0, 2, SIM_WAL_REPL_CUT);
	pause_index = vote_info(W, 0).last_index + 1;
	sim_host_command_named(W, 0, QUORUM_CMD_PAUSE, "");
	SIM_WAIT_UNTIL(vote_has_entry(W, 2, pause_index), 2000);
	SIM_CUT(0, 2);
	SIM_WAIT_UNTIL(vote_info(W, 0).paused && vote_info(W, 1).paused, 2000);
	SIM_ASSERT(!vote_info(W, 2).paused, "n2 learnt that the PAUSE committed: the scenario proves nothing");
	acked = sim_check_election_counts(W)->acked_writes;
	SIM_RUN_FOR(2000);
	SIM_ASSERT(sim_check_election_counts(W)->acked_writes > acked,
			   "n0 acknowledged nothing alone: the scenario proves nothing");
	SIM_CRASH(0);
	SIM_RUN_FOR(8000);
	for (unsigned h = 1; h < 3; h++)
		SIM_ASSERT(W->wal->db[h].role != QUORUM_ROLE_PRIMARY,
				   "n%u was promoted while failover was paused", h);
	sim_note("%llu commits acknowledged by n0 alone; n2 %s, and nobody was promoted",
			 (unsigned long long) (sim_check_election_counts(W)->acked_writes - acked),
			 vote_info(W, 2).role == QUORUM_ELECTION_LEADER ? "leads" : "does not lead");
}

/*
 * Issue 10: a paused leader that lost its majority for a moment takes its
 * lease back.  n0 leads, degraded (replication to both standbys cut, failover
 * paused, acknowledging alone); it is cut off long enough to lose its lease.
 * Once healed, nobody else may campaign (failover is paused), but n0, the
 * primary that led last, may: it leads again, writes again, and nobody was
 * promoted meanwhile.  Before this, such a cluster stayed without a writable
 * server until an operator resumed failover.
 */
TEST(paused_leader_takes_lease_back)
{
	struct sim_world *W = vote_world(3, 0, 1);
	uint64_t	acked,
				term;

	SIM_WAIT_UNTIL(vote_stable(W) && vote_leader == 0 &&
				   sim_check_election_counts(W)->acked_writes > 0, 10000);
	sim_wal_replication(W, 0, 1, SIM_WAL_REPL_CUT);
	sim_wal_replication(W, 0, 2, SIM_WAL_REPL_CUT);
	sim_host_command_named(W, 1, QUORUM_CMD_PAUSE, "");
	SIM_WAIT_UNTIL(vote_info(W, 0).paused && vote_info(W, 1).paused &&
				   vote_info(W, 2).paused, 2000);
	acked = sim_check_election_counts(W)->acked_writes;
	SIM_RUN_FOR(1000);
	SIM_ASSERT(sim_check_election_counts(W)->acked_writes > acked,
			   "n0 acknowledged nothing alone: the scenario proves nothing");
	term = vote_info(W, 0).term;
	SIM_ISOLATE(0);
	SIM_WAIT_UNTIL(vote_info(W, 0).role != QUORUM_ELECTION_LEADER, 5000);
	SIM_HEAL();
	sim_wal_replication(W, 0, 1, SIM_WAL_REPL_CUT);
	sim_wal_replication(W, 0, 2, SIM_WAL_REPL_CUT);
	SIM_WAIT_UNTIL(vote_stable(W) && vote_leader == 0 && vote_info(W, 0).term > term,
				   6000);
	sim_note("n0 leads term %llu again %d ms after the heal",
			 (unsigned long long) vote_info(W, 0).term, (int) sim_waited_ms);
	acked = sim_check_election_counts(W)->acked_writes;
	SIM_RUN_FOR(1000);
	SIM_ASSERT(sim_check_election_counts(W)->acked_writes > acked,
			   "n0 leads but acknowledges nothing");
	for (unsigned h = 1; h < 3; h++)
		SIM_ASSERT(W->wal->db[h].role != QUORUM_ROLE_PRIMARY,
				   "n%u was promoted while failover was paused", h);
}

/*
 * Only the primary that led last takes the lease back while paused; not an
 * older primary.  n0 leads; replication from n1 to n0 and n2 is cut, and a
 * switchover makes n1 the leader: n0 stays a primary (it never streams from
 * n1), n2 stays on n0's timeline.  n1's commits wait, so it pauses failover
 * and acknowledges alone; then it crashes.  n0 is a primary with every
 * entry of the log, and n2 would vote for it (its WAL is no further than
 * n0's), but n0 lacks every commit n1 acknowledged: it must not campaign.
 * (QUORUM_BREAK_PAUSED_CAMPAIGN lets any primary campaign and must fail.)
 */
TEST(paused_old_primary_stays_out)
{
	struct sim_world *W = vote_world(3, 0, 1);
	uint64_t	acked;

	SIM_WAIT_UNTIL(vote_stable(W) && vote_leader == 0 &&
				   sim_check_election_counts(W)->acked_writes > 0, 10000);
	sim_wal_replication(W, 1, 0, SIM_WAL_REPL_CUT);
	sim_wal_replication(W, 1, 2, SIM_WAL_REPL_CUT);
	sim_host_command_named(W, 0, QUORUM_CMD_TRANSFER, "n1");
	SIM_WAIT_UNTIL(vote_stable(W) && vote_leader == 1 &&
				   W->wal->db[1].role == QUORUM_ROLE_PRIMARY, 5000);
	sim_host_command_named(W, 1, QUORUM_CMD_PAUSE, "");
	SIM_WAIT_UNTIL(vote_info(W, 0).paused && vote_info(W, 2).paused, 2000);
	acked = sim_check_election_counts(W)->acked_writes;
	SIM_RUN_FOR(1000);
	SIM_ASSERT(sim_check_election_counts(W)->acked_writes > acked,
			   "n1 acknowledged nothing alone: the scenario proves nothing");
	SIM_ASSERT(W->wal->db[0].role == QUORUM_ROLE_PRIMARY,
			   "n0 is no longer a primary: the scenario proves nothing");
	SIM_CRASH(1);
	SIM_RUN_FOR(8000);
	SIM_ASSERT(vote_info(W, 0).role != QUORUM_ELECTION_LEADER &&
			   vote_info(W, 2).role != QUORUM_ELECTION_LEADER,
			   "a server leads while failover is paused and the last leader is down");
	sim_note("%llu commits acknowledged by n1 alone; nobody leads after its crash",
			 (unsigned long long) (sim_check_election_counts(W)->acked_writes - acked));
}

/*
 * Issue 10: standbys restarted while failover is paused.  A restarted node
 * knows no commit index, so it does not know that the PAUSE in its log is
 * committed; it must still not campaign: as leader it would not be
 * promoted, and the primary, deposed by its win, would stop.  n0 leads,
 * failover is paused, n1 and n2 crash (n0 loses its lease) and restart:
 * n0 leads again, every time over several rounds.
 */
TEST(paused_restarted_standbys_stay_out)
{
	struct sim_world *W = vote_world(3, 0, 0);

	SIM_WAIT_UNTIL(vote_stable(W) && vote_leader == 0, 10000);
	sim_host_command_named(W, 0, QUORUM_CMD_PAUSE, "");
	SIM_WAIT_UNTIL(vote_info(W, 1).paused && vote_info(W, 2).paused, 2000);
	for (int round = 0; round < 5; round++)
	{
		SIM_CRASH(1);
		SIM_CRASH(2);
		SIM_WAIT_UNTIL(vote_info(W, 0).role != QUORUM_ELECTION_LEADER, 5000);
		SIM_RESTART(1);
		SIM_RESTART(2);
		SIM_WAIT_UNTIL(vote_stable(W), 8000);
		SIM_ASSERT(vote_leader == 0, "n%d leads after the restarts while failover is paused",
				   vote_leader);
	}
	for (unsigned h = 1; h < 3; h++)
		SIM_ASSERT(W->wal->db[h].role != QUORUM_ROLE_PRIMARY,
				   "n%u was promoted while failover was paused", h);
}
