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
 * The commit check alone would let a fenced primary keep writing WAL: an
 * INSERT runs, logs its tuples, and only its commit is refused, which logs
 * an abort record.  That WAL is harmless to the data but not to a hand-over:
 * the switchover target chases a position that keeps moving, and a standby
 * that streams it goes past the point where the new leader's timeline forks
 * and can no longer follow it.  So the bulk of writes is refused when it
 * starts, before it writes anything: INSERT, UPDATE, DELETE, MERGE,
 * data-modifying WITH and row locks in the executor hook, COPY FROM in the
 * utility hook, each unless it touches temporary tables only.  DDL,
 * nextval() and the like are rare during a hand-over and are left to the
 * commit check: making the whole transaction read-only instead would also
 * refuse the temporary objects a read-only session may create and roll
 * back (pgTAP does).  Statements already running when the lease goes are
 * left to the commit check as well.
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
#include "access/xlog.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "parser/parsetree.h"
#include "tcop/utility.h"
#include "utils/lsyscache.h"

/* the shared lease */
#include "port/atomics.h"
#include "storage/lwlock.h"

#include "quorum/quorum.h"

#include "fence.h"
#include "guc.h"
#include "pg_compat.h"
#include "shmem.h"

static ProcessUtility_hook_type prev_process_utility = NULL;
/* This backend counts in commits_in_flight (see shmem.h). */
static bool counted_in_flight = false;
static ExecutorStart_hook_type prev_executor_start = NULL;

bool
pgq_has_lease(void)
{
	uint64		until;

	if (pgq_shared == NULL)
		return false;
	until = pg_atomic_read_u64(&pgq_shared->lease_until_ms);
	return until != 0 && quorum_runtime_now_ms() < until;
}

void
pgq_fence_close(void)
{
	if (pgq_shared != NULL)
		pg_atomic_write_u64(&pgq_shared->lease_until_ms, 0);
}

bool
pgq_fence_settled(void)
{
	if (pgq_has_lease())
		return true;
	/* The fence is closed; read the count only after (see shmem.h). */
	pg_memory_barrier();
	return pg_atomic_read_u32(&pgq_shared->commits_in_flight) == 0;
}

static bool
fence_armed(void)
{
	return pgq_elections_enabled && IsUnderPostmaster && pgq_shared != NULL;
}

pg_noreturn static void fence_refuse(const char *what);

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

/*
 * Whether a statement starting now must not write: the fence is armed and
 * closed on a server that could write (a standby refuses writes itself).
 */
static bool
fence_closed_on_primary(void)
{
	return fence_armed() && !pgq_has_lease() && !RecoveryInProgress();
}

/*
 * Whether the statement writes or locks rows of a table that is not
 * temporary.  Temporary tables stay writable, as in any read-only
 * transaction (pgTAP keeps its results in them); such a transaction still
 * cannot commit.
 */
static bool
fence_writes_shared_table(PlannedStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->resultRelations)
	{
		RangeTblEntry *rte = rt_fetch(lfirst_int(lc), stmt->rtable);

		if (get_rel_persistence(rte->relid) != RELPERSISTENCE_TEMP)
			return true;
	}
	foreach(lc, stmt->rowMarks)
	{
		PlanRowMark *mark = (PlanRowMark *) lfirst(lc);
		RangeTblEntry *rte;

		/* REFERENCE and COPY marks lock nothing (the other tables of a join). */
		if (!RowMarkRequiresRowShareLock(mark->markType))
			continue;
		rte = rt_fetch(mark->rti, stmt->rtable);
		if (rte->rtekind == RTE_RELATION &&
			get_rel_persistence(rte->relid) != RELPERSISTENCE_TEMP)
			return true;
	}
	return false;
}

static void
fence_executor_start(QueryDesc *queryDesc, int eflags)
{
	PlannedStmt *stmt = queryDesc->plannedstmt;

	if (!(eflags & EXEC_FLAG_EXPLAIN_ONLY) && fence_closed_on_primary() &&
		fence_writes_shared_table(stmt))
		fence_refuse(psprintf("execute %s",
							  GetCommandTagName(CreateCommandTag((Node *) stmt))));
	if (prev_executor_start != NULL)
		prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/*
 * Count this backend in commits_in_flight, then check the lease: in that
 * order (the add is a full barrier), so that the worker, which closes the
 * fence before it reads the count, either sees this commit counted or has
 * closed the fence before this check.  The transaction's end uncounts it,
 * whether it committed, prepared or failed (the refusal included).
 */
static void
fence_check_counted(const char *what)
{
	if (!counted_in_flight)
	{
		pg_atomic_fetch_add_u32(&pgq_shared->commits_in_flight, 1);
		counted_in_flight = true;
	}
	if (!pgq_has_lease())
		fence_refuse(what);
}

static void
fence_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			if (fence_armed() && TransactionIdIsValid(GetTopTransactionIdIfAny()))
				fence_check_counted(event == XACT_EVENT_PRE_COMMIT ?
									"commit a write transaction" :
									"prepare a write transaction");
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			if (counted_in_flight)
			{
				counted_in_flight = false;
				pg_atomic_fetch_sub_u32(&pgq_shared->commits_in_flight, 1);
			}
			break;
		default:
			break;
	}
}

static void
fence_process_utility(PlannedStmt *pstmt, const char *queryString,
					  bool readOnlyTree, ProcessUtilityContext context,
					  ParamListInfo params, QueryEnvironment *queryEnv,
					  DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;

	/* Its own transaction has no id; it ends right after this statement. */
	if (IsA(stmt, TransactionStmt) &&
		((TransactionStmt *) stmt)->kind == TRANS_STMT_COMMIT_PREPARED &&
		fence_armed())
		fence_check_counted(psprintf("commit prepared transaction \"%s\"",
									 ((TransactionStmt *) stmt)->gid));

	if (IsA(stmt, CopyStmt) && ((CopyStmt *) stmt)->is_from &&
		fence_closed_on_primary())
	{
		Oid			relid = RangeVarGetRelid(((CopyStmt *) stmt)->relation, NoLock, true);

		if (!OidIsValid(relid) || get_rel_persistence(relid) != RELPERSISTENCE_TEMP)
			fence_refuse("execute COPY FROM");
	}

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
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = fence_executor_start;
}
