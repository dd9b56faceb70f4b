/*-------------------------------------------------------------------------
 *
 * actions.h
 *	  What the worker does to PostgreSQL when the election says so: promote,
 *	  follow a new primary, set synchronous_standby_names, stop a deposed
 *	  primary; and which standbys stream from this server.
 *
 * extension/actions.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_ACTIONS_H
#define PGQ_ACTIONS_H

#include "quorum/quorum.h"

#include "shmem.h"

/* Ask the startup process to end recovery, as pg_promote() does. */
extern bool pgq_action_promote(void);

/*
 * Wake the startup process, at a bounded rate, while a promotion is pending
 * or primary_conninfo has just changed, so that it does not sit out
 * wal_retrieve_retry_interval (see actions.c).  Call on every pass.
 */
extern void pgq_action_hurry_recovery(quorum_time_ms now);

/* Milliseconds until pgq_action_hurry_recovery() wants a call, -1: none. */
extern long pgq_action_hurry_timeout_ms(quorum_time_ms now);

/*
 * Whether the startup process has taken the promote request in (true once
 * out of recovery); wakes it then, so that the worker may block for a while.
 */
extern bool pgq_action_promotion_seen(void);

/*
 * Whether this standby's data is consistent: its replay has reached the
 * control file's minimum recovery point and no backup is still to end.
 * Until then a promotion fails ("WAL ends before consistent recovery
 * point"), so it must not lead.
 */
extern bool pgq_action_standby_consistent(void);

/*
 * Make primary_conninfo leader_conninfo plus application_name = self and
 * reload, unless it already is that.  *changed says whether it was written.
 */
extern bool pgq_action_follow(const char *leader_conninfo, const char *self,
							  bool *changed);

/*
 * stop: take no more WAL (empty primary_conninfo and reload); *stopped
 * once the WAL receiver has exited.  !stop: put back the primary_conninfo
 * the stop replaced (one an earlier run replaced: once leader_known, or
 * after the longest stop; see actions.c).  Call on every pass with the
 * node's stop_wal.
 */
extern bool pgq_action_wal_intake(bool stop, bool leader_known, quorum_time_ms now,
								  bool *stopped);

/* Set synchronous_standby_names (in postgresql.auto.conf) and reload,
 * unless it already has that value. */
extern bool pgq_action_set_sync_names(const char *value, bool *changed);

/*
 * Set a setting in postgresql.auto.conf, or remove it when value is NULL,
 * and reload if the file changed (*changed).
 */
extern bool pgq_action_set_setting(const char *name, const char *value,
								   bool *changed);

/*
 * Make this standby's promotion, for the leader of term, take the term as
 * its timeline ID, and in any case one above taken, which member who has
 * used (see actions.c).
 */
extern void pgq_action_skip_timelines(uint64 term, uint32 taken, const char *who);

/* Ask the postmaster for an immediate or a fast shutdown (see actions.c). */
extern void pgq_action_stop_server(bool immediate);

/* Where this standby replayed to, and where the leader's timeline forks. */
typedef struct PgqReplayFork
{
	uint32		tli;			/* timeline of the last record replayed */
	uint64		replayed;		/* end of that record */
	uint64		fork;			/* where tli ends in the leader's history */
} PgqReplayFork;

/*
 * Whether this standby replayed past the point where the history of the
 * leader's timeline leader_tli forks off its own (see actions.c).
 */
extern bool pgq_action_replay_forked(uint32 leader_tli, PgqReplayFork *fork);

/*
 * Names (application_name) of the standbys streaming from this server right
 * now and the WAL position each has flushed, at most max of them; returns
 * how many.
 */
extern int	pgq_action_streaming_standbys(char (*names)[QUORUM_NAME_MAX + 1],
										  uint64 *flush, int max);

/* How many standbys a commit must reach: k = n_voters - majority, >= 1. */
extern int	pgq_sync_quorum(unsigned n_voters);

/*
 * synchronous_standby_names 'ANY k (names...)', or '' for k = 0; false if
 * it does not fit out.
 */
extern bool pgq_sync_names(int k, char (*names)[QUORUM_NAME_MAX + 1], int n,
						   char *out, size_t out_len);

#endif							/* PGQ_ACTIONS_H */
