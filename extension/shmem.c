/*-------------------------------------------------------------------------
 *
 * shmem.c
 *	  Allocation of PgqSharedState, the worker's window onto SQL.
 *
 * Locking: one LWLock (tranche "pg_quorum") protects every field.
 *
 *	- The worker takes it LW_EXCLUSIVE to publish a snapshot after each
 *	  quorum_runtime_process(), to append events, to take queued commands,
 *	  and to set or clear its pid and latch.
 *	- A backend takes it LW_SHARED only to copy the snapshot into its own
 *	  memory, and builds its result rows after releasing it, so a slow client
 *	  never holds up the worker.
 *	- A backend takes it LW_EXCLUSIVE only to append one command; it reads
 *	  worker_latch under the lock and calls SetLatch() after releasing it (a
 *	  latch that has meanwhile been recycled gets a harmless spurious wakeup).
 *
 * Three fields are outside the lock.  lease_until_ms is a pg_atomic_uint64
 * that the worker writes and every committing backend reads without any
 * lock, so the fence costs one atomic read and works even while the worker
 * holds the lock or is stuck; commits_in_flight is an atomic counter that
 * committing backends move and the worker reads.  changed is a condition variable the worker
 * broadcasts after each publish; backends waiting for a command's outcome
 * sleep on it and re-read the snapshot under the lock.
 *
 * No backend ever does protocol work or calls into libquorum's node.
 *
 * extension/shmem.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

/* shared memory and its lock */
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "quorum/quorum.h"

#include "guc.h"
#include "pg_compat.h"
#include "shmem.h"

#define PGQ_TRANCHE_NAME "pg_quorum"

PgqSharedState *pgq_shared = NULL;

static Size
shmem_size(void)
{
	return add_size(offsetof(PgqSharedState, members),
					mul_size(sizeof(PgqMember), pgq_members_max));
}

/* Called from shmem_request_hook. */
void
pgq_shmem_request(void)
{
	RequestAddinShmemSpace(shmem_size());
	RequestNamedLWLockTranche(PGQ_TRANCHE_NAME, 1);
}

/* Called from shmem_startup_hook, in the postmaster (and after a reset). */
void
pgq_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	pgq_shared = ShmemInitStruct("pg_quorum", shmem_size(), &found);
	if (!found)
	{
		memset(pgq_shared, 0, shmem_size());
		pgq_shared->lock = &(GetNamedLWLockTranche(PGQ_TRANCHE_NAME))->lock;
		pgq_shared->members_max = pgq_members_max;
		pg_atomic_init_u64(&pgq_shared->lease_until_ms, 0);
		pg_atomic_init_u32(&pgq_shared->commits_in_flight, 0);
		ConditionVariableInit(&pgq_shared->changed);
		pgq_shared->next_command_id = 1;
	}
	LWLockRelease(AddinShmemInitLock);
}
