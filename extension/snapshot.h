/*-------------------------------------------------------------------------
 *
 * snapshot.h
 *	  A backend's copy of the worker's shared state, and what every reader
 *	  of it asks: which member is called what, how far behind the leader
 *	  a member is, and what a mode, a state and a role are called.
 *
 * The SQL views (sqlapi.c, commands.c), quorum.connection_string() and
 * quorum.dot() (routing.c) and the HTTP endpoint (http_render.c) all read
 * the shared state this way, so they cannot disagree on a member's lag or
 * on the mode's name.
 *
 * extension/snapshot.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_SNAPSHOT_H
#define PGQ_SNAPSHOT_H

#include "datatype/timestamp.h"

#include "quorum/quorum.h"

#include "shmem.h"

/*
 * A copy of the shared state, taken under LW_SHARED.  members is palloc'd
 * (NULL unless asked for); all but promotions_total stays zero while no
 * worker runs, so a stale view of a dead worker never shows as current.
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
	char		leader[QUORUM_NAME_MAX + 1];	/* "" = none known */
	bool		has_quorum;
	bool		paused;
	bool		transferring;
	PgqMode		mode;
	uint64		promotions_total;	/* survives worker restarts */
	int			n_members;
	PgqMember  *members;
} PgqSnapshot;

/* ERROR unless pg_quorum was loaded by shared_preload_libraries. */
extern void pgq_require_shmem(void);

extern void pgq_snapshot_take(PgqSnapshot *snap, bool with_members);

/* ERROR (55000) unless snap was taken while the worker ran. */
extern void pgq_require_worker(const PgqSnapshot *snap);

/* The member called name in the snapshot, or NULL (always for ""). */
extern const PgqMember *pgq_snapshot_member(const PgqSnapshot *snap,
											const char *name);

/*
 * Bytes member m is behind the leader's WAL position as both last gossiped
 * it; false when unknown.
 */
extern bool pgq_snapshot_lag(const PgqSnapshot *snap, const PgqMember *m,
							 int64 *lag);

/* The text of quorum.status.mode, also /metrics' mode label. */
extern const char *pgq_mode_name(PgqMode mode);

/*
 * The text of a member's state and role in quorum.nodes, /cluster, /metrics
 * and quorum.dot(): libquorum's display names, which plugin/names.c keeps
 * stable for this use, so that the views and the endpoint cannot spell them
 * apart.  pgq_member_role_name() is "unknown" until the member's metadata
 * has arrived.
 */
static inline const char *
pgq_state_sql_name(enum quorum_member_state state)
{
	return quorum_member_state_name(state);
}

static inline const char *
pgq_role_sql_name(enum quorum_role role)
{
	return quorum_role_name(role);
}

extern const char *pgq_member_role_name(const PgqMember *m);

#endif							/* PGQ_SNAPSHOT_H */
