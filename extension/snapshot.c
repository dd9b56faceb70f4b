/*-------------------------------------------------------------------------
 *
 * snapshot.c
 *	  A backend's copy of the worker's shared state.
 *
 * The copy is taken under LW_SHARED and nothing else happens under the
 * lock, so a slow caller (a large result set, an HTTP client) never holds
 * up the worker; see shmem.c for the locking rules.
 *
 * extension/snapshot.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "storage/lwlock.h"

#include "quorum/quorum.h"

#include "shmem.h"
#include "snapshot.h"

void
pgq_require_shmem(void)
{
	if (pgq_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_quorum must be loaded via shared_preload_libraries"),
				 errhint("Add pg_quorum to shared_preload_libraries in postgresql.conf and restart the server.")));
}

void
pgq_require_worker(const PgqSnapshot *snap)
{
	if (!snap->worker_running)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_quorum worker is not running"),
				 errhint("Check the server log for why it stopped; it is restarted automatically.")));
}

void
pgq_snapshot_take(PgqSnapshot *snap, bool with_members)
{
	pgq_require_shmem();
	memset(snap, 0, sizeof(*snap));
	/* Allocated before the lock, so that nothing can fail while holding it. */
	if (with_members)
		snap->members = palloc(sizeof(PgqMember) * pgq_shared->members_max);

	LWLockAcquire(pgq_shared->lock, LW_SHARED);
	snap->worker_running = pgq_shared->worker_running;
	snap->promotions_total = pgq_shared->promotions_total;
	if (snap->worker_running)
	{
		snap->worker_pid = pgq_shared->worker_pid;
		snap->worker_started = pgq_shared->worker_started;
		memcpy(snap->node_name, pgq_shared->node_name, sizeof(snap->node_name));
		memcpy(snap->cluster, pgq_shared->cluster, sizeof(snap->cluster));
		snap->incarnation = pgq_shared->incarnation;
		snap->stats = pgq_shared->stats;
		snap->elections_enabled = pgq_shared->elections_enabled;
		snap->term = pgq_shared->term;
		memcpy(snap->leader, pgq_shared->leader, sizeof(snap->leader));
		snap->has_quorum = pgq_shared->has_quorum;
		snap->paused = pgq_shared->paused;
		snap->transferring = pgq_shared->transferring;
		snap->mode = pgq_shared->mode;
		if (with_members)
		{
			snap->n_members = pgq_shared->n_members;
			memcpy(snap->members, pgq_shared->members,
				   sizeof(PgqMember) * snap->n_members);
		}
	}
	LWLockRelease(pgq_shared->lock);
}

const PgqMember *
pgq_snapshot_member(const PgqSnapshot *snap, const char *name)
{
	if (name[0] == '\0')
		return NULL;
	for (int i = 0; i < snap->n_members; i++)
		if (strcmp(snap->members[i].name, name) == 0)
			return &snap->members[i];
	return NULL;
}

/*
 * Unknown means: no leader, metadata missing, or not on the leader's
 * timeline.  The leader itself is 0 behind.
 */
bool
pgq_snapshot_lag(const PgqSnapshot *snap, const PgqMember *m, int64 *lag)
{
	const PgqMember *leader = pgq_snapshot_member(snap, snap->leader);

	if (leader == NULL || !leader->has_meta || !m->has_meta ||
		m->timeline != leader->timeline)
		return false;
	*lag = m->lsn >= leader->lsn ? 0 : (int64) (leader->lsn - m->lsn);
	return true;
}

const char *
pgq_mode_name(PgqMode mode)
{
	switch (mode)
	{
		case PGQ_MODE_ASYNC:
			return "async";
		case PGQ_MODE_SYNC:
			return "sync";
		case PGQ_MODE_DEGRADED:
			return "degraded";
	}
	return "unknown";
}

const char *
pgq_member_role_name(const PgqMember *m)
{
	return m->has_meta ? pgq_role_sql_name(m->role) : "unknown";
}
