/*-------------------------------------------------------------------------
 *
 * timing.c
 *	  The timing rules hosts share with libquorum (node.h, "Timing
 *	  rules"): derived timeouts and the sanity checks on settings.
 *
 * They live here, once, because each host used to re-derive them from its
 * own settings (the PostgreSQL worker, its switchover hand-over, the
 * witness), and a host that drifted from libquorum would wait too little
 * for a hand-over or accept settings quorum_node_new() then refuses.
 * raft.c, raft_lease.c and node.c call the same functions.
 *
 * plugin/timing.c
 *
 *-------------------------------------------------------------------------
 */
#include "quorum/node.h"

quorum_time_ms
quorum_timing_election_max_ms(quorum_time_ms election_timeout_min_ms)
{
	return election_timeout_min_ms * 4 / 3;
}

quorum_time_ms
quorum_timing_hand_over_ms(quorum_time_ms election_timeout_max_ms)
{
	return 2 * election_timeout_max_ms;
}

quorum_time_ms
quorum_timing_wal_stop_ms(quorum_time_ms election_timeout_max_ms)
{
	return 3 * election_timeout_max_ms;
}

bool
quorum_timing_heartbeat_fits(quorum_time_ms heartbeat_ms,
							 quorum_time_ms election_timeout_min_ms)
{
	return heartbeat_ms > 0 && 2 * heartbeat_ms < election_timeout_min_ms;
}

bool
quorum_timing_probe_fits(quorum_time_ms probe_timeout_ms,
						 quorum_time_ms probe_interval_ms)
{
	return probe_timeout_ms > 0 && probe_timeout_ms < probe_interval_ms;
}

bool
quorum_member_may_lead(enum quorum_role role, int32_t priority)
{
	return priority > 0 && role != QUORUM_ROLE_WITNESS;
}
