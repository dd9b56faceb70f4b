/*-------------------------------------------------------------------------
 *
 * fence.c
 *	  The commit fence: a transaction that wrote something cannot commit,
 *	  prepare, or commit a prepared transaction, while this server does not
 *	  hold the leader's write lease.
 *
 * The check is one lock-free atomic read of lease_until_ms in shared memory
 * (see shmem.c), compared with CLOCK_MONOTONIC read through the same
 * function the worker uses, quorum_runtime_now_ms().  The worker publishes
 * the lease's end as libquorum computes it, so the fence closes by itself
 * when the lease runs out, even if the worker is stuck or gone; it starts
 * at 0, so a server starts fenced.  Only the error path takes the shared
 * lock, to name the leader.
 *
 * "Wrote something" means the transaction has a transaction id: every
 * change to a table, catalog or large object takes one, and read-only work
 * never does.  COMMIT PREPARED is checked in the utility hook, because the
 * transaction that runs it has no id of its own.  The fence is not armed in
 * single-user mode (crash recovery, wraparound repair) or with
 * pg_quorum.failover = off.
 *
 * Callbacks and hooks registered in the postmaster by _PG_init() are
 * inherited by every backend it forks.
 *
 * extension/fence.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

/* transactions and the utility hook */
#include "access/transam.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"

/* the shared lease */
#include "port/atomics.h"
#include "storage/lwlock.h"

#include "quorum/quorum.h"

#include "fence.h"
#include "guc.h"
#include "pg_compat.h"
#include "shmem.h"

static ProcessUtility_hook_type prev_process_utility = NULL;

bool
pgq_has_lease(void)
{
	uint64		until;

	if (pgq_shared == NULL)
		return false;
	until = pg_atomic_read_u64(&pgq_shared->lease_until_ms);
	return until != 0 && quorum_runtime_now_ms() < until;
}

static bool
fence_armed(void)
{
	return pgq_failover_enabled && IsUnderPostmaster && pgq_shared != NULL;
}

static void fence_refuse(const char *what) pg_attribute_noreturn();

/* what completes "cannot %s on a fenced server". */
static void
fence_refuse(const char *what)
{
	char		leader[QUORUM_NAME_MAX + 1];
	char		self[QUORUM_NAME_MAX + 1];

	LWLockAcquire(pgq_shared->lock, LW_SHARED);
	strlcpy(leader, pgq_shared->worker_running ? pgq_shared->leader : "",
			sizeof(leader));
	strlcpy(self, pgq_shared->node_name, sizeof(self));
	LWLockRelease(pgq_shared->lock);

	if (leader[0] != '\0' && strcmp(leader, self) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot %s on a fenced server", what),
				 errdetail("This server is the pg_quorum leader but does not hold the write lease at the moment; a switchover may be under way."),
				 errhint("Retry the transaction; quorum.status shows the leader and whether this server is fenced.")));
	if (leader[0] != '\0')
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot %s on a fenced server", what),
				 errdetail("This server does not hold the pg_quorum write lease; the leader is \"%s\".",
						   leader),
				 errhint("Run the transaction on the leader.")));
	ereport(ERROR,
			(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
			 errmsg("cannot %s on a fenced server", what),
			 errdetail("This server does not hold the pg_quorum write lease, and no leader is known."),
			 errhint("Retry once the cluster has elected a leader; quorum.status shows it.")));
}

static void
fence_xact_callback(XactEvent event, void *arg)
{
	const char *what;

	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			what = "commit a write transaction";
			break;
		case XACT_EVENT_PRE_PREPARE:
			what = "prepare a write transaction";
			break;
		default:
			return;
	}
	if (!fence_armed() || !TransactionIdIsValid(GetTopTransactionIdIfAny()) ||
		pgq_has_lease())
		return;
	fence_refuse(what);
}

static void
fence_process_utility(PlannedStmt *pstmt, const char *queryString,
					  bool readOnlyTree, ProcessUtilityContext context,
					  ParamListInfo params, QueryEnvironment *queryEnv,
					  DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;

	if (IsA(stmt, TransactionStmt) &&
		((TransactionStmt *) stmt)->kind == TRANS_STMT_COMMIT_PREPARED &&
		fence_armed() && !pgq_has_lease())
		fence_refuse(psprintf("commit prepared transaction \"%s\"",
							  ((TransactionStmt *) stmt)->gid));

	if (prev_process_utility != NULL)
		prev_process_utility(pstmt, queryString, readOnlyTree, context, params,
							 queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

void
pgq_fence_init(void)
{
	RegisterXactCallback(fence_xact_callback, NULL);
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = fence_process_utility;
}
