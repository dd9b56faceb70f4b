/*-------------------------------------------------------------------------
 *
 * sqlapi.h
 *	  What the SQL-callable functions share: a backend's copy of the
 *	  worker's snapshot, and the SQL spelling of member states and roles.
 *
 * sqlapi.c implements the views on it, commands.c the functions that ask
 * the worker to act.
 *
 * extension/sqlapi.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_SQLAPI_H
#define PGQ_SQLAPI_H

#include "datatype/timestamp.h"

#include "quorum/quorum.h"

#include "shmem.h"

/*
 * A copy of the parts of the shared state one function needs, taken under
 * LW_SHARED.  members is palloc'd; n_members is 0 when no worker runs, so
 * a stale view of a dead worker never shows as current.
 */
typedef struct PgqSnapshot
{
	bool		worker_running;
	int			worker_pid;
	TimestampTz worker_started;
	char		node_name[QUORUM_NAME_MAX + 1];
	char		cluster[QUORUM_NAME_MAX + 1];
	uint64		incarnation;
	struct quorum_node_stats stats;
	bool		elections_enabled;	/* the worker's pg_quorum.failover */
	uint64		term;
	char		leader[QUORUM_NAME_MAX + 1];
	bool		has_quorum;
	bool		paused;
	bool		transferring;
	PgqMode		mode;
	int			n_members;
	PgqMember  *members;
} PgqSnapshot;

/* ERROR unless pg_quorum was loaded by shared_preload_libraries. */
extern void pgq_require_shmem(void);

extern void pgq_snapshot_take(PgqSnapshot *snap, bool with_members);

/* The member called name in the snapshot, or NULL. */
extern const PgqMember *pgq_snapshot_member(const PgqSnapshot *snap,
											const char *name);

/*
 * Bytes member m is behind the leader's WAL position as both last gossiped
 * it; false when unknown.
 */
extern bool pgq_snapshot_lag(const PgqSnapshot *snap, const PgqMember *m,
							 int64 *lag);

/* The SQL API's text values of quorum.nodes.state and .role. */
extern const char *pgq_state_sql_name(enum quorum_member_state state);
extern const char *pgq_role_sql_name(enum quorum_role role);

#endif							/* PGQ_SQLAPI_H */
