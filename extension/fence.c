/*-------------------------------------------------------------------------
 *
 * fence.c
 *	  The commit fence: a transaction that wrote something cannot commit,
 *	  prepare, or commit a prepared transaction, while this server does not
 *	  hold the leader's write lease.
 *
 * The check is one lock-free atomic read of lease_until_ms in shared memory
 * (see shmem.c), compared with CLOCK_BOOTTIME read through the same
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
 * utility hook, each unless it touches temporary tables only.  So are the
 * statements and functions whose effects outlive their transaction, which
 * no refused commit could undo (DROP DATABASE, VACUUM, nextval() and the
 * rest that fence_utility.c lists).  Other DDL is rare during a hand-over
 * and is left to the commit check, whose abort undoes it: making the whole
 * transaction read-only instead would also refuse the temporary objects a
 * read-only session may create and roll back (pgTAP does).
 *
 * A statement of fence_utility.c's list that destroys (DROP DATABASE and
 * the like) and starts under the lease is counted in commits_in_flight
 * until it ends, as a commit past the fence is: a hand-over samples the
 * WAL position only once it is over, so the target takes all of its WAL or
 * the hand-over fails.  Its commit is still
 * refused if the lease went meanwhile, as a crash would have ended it; for
 * DROP DATABASE that leaves an invalid database, on the target as here.
 *
 * What a fenced primary still writes to its WAL: hint-bit page images
 * (wal_log_hints), pruning of pages that reads find full of dead tuples,
 * checkpoints and restart points, autovacuum (which the fence does not
 * refuse: it changes no data), and the records of transactions refused at
 * commit (their changes, then the abort).  None of it is a change that any
 * transaction committed or that outlives a transaction.
 *
 * Passing the check at pre-commit is not enough: after it PostgreSQL still
 * takes the NOTIFY lock, writes and flushes the commit record and waits for
 * synchronous standbys, and a commit stalled there (a slow disk, a lock, a
 * paused process) could be answered after the lease ended and another
 * server began to accept writes.  So the lease is checked again once the
 * commit (or prepare) record is durable, at XACT_EVENT_COMMIT and _PREPARE,
 * and in synchronous mode only once the standbys that synchronous_standby_names
 * requires have flushed it, whatever the session's synchronous_commit or a
 * cancelled wait said.  The transaction has committed by then and can be
 * neither refused nor rolled back (an ERROR there becomes a PANIC), so a
 * commit that fails this check is not answered at all: the session ends as
 * PostgreSQL's own synchronous-replication wait ends it when it is
 * terminated (no output to the client, then the pending die), and the
 * client sees a lost connection, an unknown outcome.  What remains is the
 * time between this check and the answer leaving the process, a few
 * microseconds of work that the lease's margin must cover.
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

/* after the commit: the synchronous standbys, and ending the session */
#include "replication/syncrep.h"
#include "replication/walsender_private.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"

#include "quorum/quorum.h"

#include "fence.h"
#include "guc.h"
#include "pg_compat.h"
#include "shmem.h"

static ProcessUtility_hook_type prev_process_utility = NULL;
/* This backend counts in commits_in_flight (see shmem.h) ... */
static bool counted_in_flight = false;
/* ... for a ROLLBACK PREPARED, which has nothing to check after it. */
static bool counted_rollback_prepared = false;
/* ... for a statement whose effects outlive its transaction (see above). */
static bool counted_statement = false;
static ExecutorStart_hook_type prev_executor_start = NULL;
/* The end of the record of the COMMIT PREPARED this transaction ran. */
static XLogRecPtr commit_prepared_end = InvalidXLogRecPtr;

/* Polling interval of the wait for synchronous standbys after a commit, ms. */
#define FENCE_STANDBY_POLL_MS 2

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

/*
 * How many backends wait for synchronous standbys.  Each is a commit,
 * prepare or two-phase command counted in commits_in_flight (ROLLBACK
 * PREPARED is counted for this alone), and its record is flushed: a WAL
 * position sampled now covers it.
 */
static uint32
fence_sync_waiters(void)
{
	uint32		n = 0;

	LWLockAcquire(SyncRepLock, LW_SHARED);
	for (uint32 i = 0; i < ProcGlobal->allProcCount; i++)
	{
		if (ProcGlobal->allProcs[i].syncRepState == SYNC_REP_WAITING)
			n++;
	}
	LWLockRelease(SyncRepLock);
	return n;
}

/*
 * Settled means: no write counted in flight is still before its record's
 * flush.  Without a bound: a hand-over waits for stragglers rather than
 * take a sample that misses them, and fails (the leader takes its lease
 * back and answers them) if they outlast its window.
 */
bool
pgq_fence_settled(void)
{
	uint32		in_flight;

	if (pgq_has_lease())
		return true;
	/* The fence is closed; read the count only after (see shmem.h). */
	pg_memory_barrier();
	in_flight = pg_atomic_read_u32(&pgq_shared->commits_in_flight);
	if (in_flight == 0)
		return true;

	/*
	 * Counted first: a backend that joins the waiters after that was
	 * counted then, and one that was counted but leaves the waiters
	 * meanwhile has finished.  Either way the comparison errs on the side
	 * of waiting.
	 */
	return fence_sync_waiters() >= in_flight;
}

static bool
fence_armed(void)
{
	return pgq_elections_enabled && IsUnderPostmaster && pgq_shared != NULL;
}

pg_noreturn static void fence_refuse(const char *what);
static void fence_statement_done(void);

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

	if (!(eflags & EXEC_FLAG_EXPLAIN_ONLY) && fence_closed_on_primary())
	{
		const char *call;

		if (fence_writes_shared_table(stmt))
			fence_refuse(psprintf("execute %s",
								  GetCommandTagName(CreateCommandTag((Node *) stmt))));
		if ((call = pgq_fence_plan_outside(stmt)) != NULL)
			fence_refuse(psprintf("execute %s", call));
	}
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
	/* Refused at once while fenced, never counted: it writes nothing. */
	if (!pgq_has_lease())
		fence_refuse(what);
	if (!counted_in_flight)
	{
		pg_atomic_fetch_add_u32(&pgq_shared->commits_in_flight, 1);
		counted_in_flight = true;
	}
	if (!pgq_has_lease())
		fence_refuse(what);
}

/*
 * Whether the standbys pg_quorum's synchronous mode requires have flushed
 * WAL up to end.  WalSndCtl's flush position is the one PostgreSQL's own
 * wait releases commits on: the walsenders advance it by the rule of
 * synchronous_standby_names (ANY k), as the checkpointer published it for
 * the whole cluster.  Without standbys named (asynchronous mode, or
 * degraded with failover paused) there is nothing to wait for.  A
 * remote_apply wait that returned may have been released on the apply
 * position alone.
 */
static bool
fence_standbys_hold(XLogRecPtr end)
{
	bool		hold;

	if (!pgq_synchronous || WalSndCtl == NULL)
		return true;
	/* Shared, and only in synchronous mode, where a commit waited anyway. */
	LWLockAcquire(SyncRepLock, LW_SHARED);
	hold = !PGQ_SYNC_STANDBYS_DEFINED(WalSndCtl) ||
		WalSndCtl->lsn[SYNC_REP_WAIT_FLUSH] >= end ||
		WalSndCtl->lsn[SYNC_REP_WAIT_APPLY] >= end;
	LWLockRelease(SyncRepLock);
	return hold;
}

/*
 * Wait until the standbys hold end, as SyncRepWaitForLSN() would have for a
 * session with synchronous_commit = on.  False if the wait must give up: a
 * cancel or terminate request, the postmaster's death, or the lease's end
 * (no answer can be given then anyway).  PostgreSQL's queue of waiters is
 * private to syncrep.c, so this polls; only sessions that bypassed or
 * cancelled PostgreSQL's own wait get here.
 */
static bool
fence_wait_for_standbys(XLogRecPtr end)
{
	/* synchronous_commit = off left the record to the WAL writer. */
	XLogFlush(end);
	while (!fence_standbys_hold(end))
	{
		int			rc;

		if (QueryCancelPending || ProcDiePending || !pgq_has_lease())
			return false;
		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_POSTMASTER_DEATH,
					   FENCE_STANDBY_POLL_MS, WAIT_EVENT_SYNC_REP);
		ResetLatch(MyLatch);
		if (rc & WL_POSTMASTER_DEATH)
			return false;
	}
	return true;
}

/*
 * The commit is durable and cannot be undone: end the session without
 * answering it, as SyncRepWaitForLSN() does when it is terminated.  Nothing
 * more reaches the client (the command's completion is only buffered and
 * never flushed, and the FATAL that follows is not sent either), and the
 * pending die ends the backend at its next interrupt check, once the commit
 * has finished; the latch makes sure that check comes even if the backend
 * goes on to wait for the client.
 */
static void
fence_end_unanswered(const char *what, const char *why)
{
	whereToSendOutput = DestNone;
	ereport(WARNING,
			(errmsg("pg_quorum closes the connection without acknowledging the %s", what),
			 errdetail("%s", why),
			 errhint("The transaction is durable here; whether it survives depends on the next leader's WAL.  The client sees a lost connection.")));
	InterruptPending = true;
	ProcDiePending = true;
	SetLatch(MyLatch);
}

/*
 * The last check before the answer, once the record ending at end is
 * flushed: the synchronous standbys hold it, then the lease still runs.
 * exact: end is the position PostgreSQL's own wait waited for, not a bound.
 */
static void
fence_check_after(XLogRecPtr end, bool exact, const char *what)
{
#ifdef QUORUM_BREAK_POST_COMMIT

	/*
	 * Only for a build broken on purpose (scripts/pg-matrix.sh 15
	 * broken-fence): without this check a commit stalled past the fence is
	 * answered late, and the campaign's history checker must say so.
	 */
	return;
#endif
	if (!fence_standbys_hold(end))
	{
		/*
		 * With synchronous_commit on or remote_apply, PostgreSQL has waited
		 * for end already, so only a cancel (or terminate) request can have
		 * ended its wait this early; that wait reset the request, and it
		 * ends here.  Other settings never waited: wait now.
		 */
		if (exact && synchronous_commit >= SYNCHRONOUS_COMMIT_REMOTE_FLUSH)
		{
			fence_end_unanswered(what, "The wait for the synchronous standbys pg_quorum requires was cancelled.");
			return;
		}
		if (!fence_wait_for_standbys(end))
		{
			fence_end_unanswered(what, pgq_has_lease() ?
								 "The wait for the synchronous standbys pg_quorum requires was cancelled." :
								 "This server lost its write lease before the synchronous standbys pg_quorum requires flushed the commit.");
			return;
		}
	}
	if (!pgq_has_lease())
		fence_end_unanswered(what, "This server lost its write lease while the commit record was being written.");
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
		case XACT_EVENT_PREPARE:
			if (counted_in_flight)
			{
				/*
				 * A commit's record ends at XactLastCommitEnd (flushed or
				 * not), a COMMIT PREPARED's where the utility hook saw it.
				 * A PREPARE's end is gone (XactLastRecEnd is reset), but
				 * twophase.c flushed it: the flushed position bounds it.
				 */
				if (counted_rollback_prepared)
					 /* nothing to answer for */ ;
				else if (XLogRecPtrIsInvalid(commit_prepared_end) && event == XACT_EVENT_COMMIT)
					fence_check_after(XactLastCommitEnd, true, "commit");
				else if (event == XACT_EVENT_COMMIT)
					fence_check_after(commit_prepared_end, true,
									  "commit of a prepared transaction");
				else
					fence_check_after(GetFlushRecPtr(NULL), false,
									  "prepared transaction");
			}
			/* FALLTHROUGH */
		case XACT_EVENT_ABORT:
			commit_prepared_end = InvalidXLogRecPtr;
			counted_rollback_prepared = false;
			if (counted_in_flight)
			{
				counted_in_flight = false;
				pg_atomic_fetch_sub_u32(&pgq_shared->commits_in_flight, 1);
			}
			/* An error ended the statement (VACUUM's commits do not). */
			if (event == XACT_EVENT_ABORT)
				fence_statement_done();
			break;
		default:
			break;
	}
}

/* The statement counted in commits_in_flight has ended. */
static void
fence_statement_done(void)
{
	if (counted_statement)
	{
		counted_statement = false;
		pg_atomic_fetch_sub_u32(&pgq_shared->commits_in_flight, 1);
	}
}

/*
 * A statement whose effects outlive its transaction: refused without the
 * lease, else, if it destroys, counted until it ends (in the same order as
 * a commit, see fence_check_counted()).  Returns whether this call counted
 * it (a nested one is counted with the outer one).
 */
static bool
fence_statement_start(const char *what, bool destroys)
{
	char	   *refusal = psprintf("execute %s", what);

	if (!pgq_has_lease())
		fence_refuse(refusal);
	if (!destroys || counted_statement)
		return false;
	pg_atomic_fetch_add_u32(&pgq_shared->commits_in_flight, 1);
	counted_statement = true;
	if (!pgq_has_lease())
	{
		fence_statement_done();
		fence_refuse(refusal);
	}
	return true;
}

static void
fence_process_utility(PlannedStmt *pstmt, const char *queryString,
					  bool readOnlyTree, ProcessUtilityContext context,
					  ParamListInfo params, QueryEnvironment *queryEnv,
					  DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;
	bool		commit_prepared = false;
	volatile bool counted_here = false;
	const char *outside;
	bool		destroys;

	/* Its own transaction has no id; it ends right after this statement. */
	if (IsA(stmt, TransactionStmt) &&
		((TransactionStmt *) stmt)->kind == TRANS_STMT_COMMIT_PREPARED &&
		fence_armed())
	{
		fence_check_counted(psprintf("commit prepared transaction \"%s\"",
									 ((TransactionStmt *) stmt)->gid));
		commit_prepared = true;
	}

	if (IsA(stmt, CopyStmt) && ((CopyStmt *) stmt)->is_from &&
		fence_closed_on_primary())
	{
		Oid			relid = RangeVarGetRelid(((CopyStmt *) stmt)->relation, NoLock, true);

		if (!OidIsValid(relid) || get_rel_persistence(relid) != RELPERSISTENCE_TEMP)
			fence_refuse("execute COPY FROM");
	}

	/*
	 * Its wait for synchronous standbys must count among the writes in
	 * flight (see fence_sync_waiters()); it undoes, so it is not refused.
	 */
	if (IsA(stmt, TransactionStmt) &&
		((TransactionStmt *) stmt)->kind == TRANS_STMT_ROLLBACK_PREPARED &&
		fence_armed() && !counted_in_flight)
	{
		pg_atomic_fetch_add_u32(&pgq_shared->commits_in_flight, 1);
		counted_in_flight = true;
		counted_rollback_prepared = true;
	}

	/* A standby refuses these itself. */
	if (fence_armed() && !RecoveryInProgress() &&
		(outside = pgq_fence_utility_outside(stmt, &destroys)) != NULL)
		counted_here = fence_statement_start(outside, destroys);

	PG_TRY();
	{
		if (prev_process_utility != NULL)
			prev_process_utility(pstmt, queryString, readOnlyTree, context, params,
								 queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		if (counted_here)
			fence_statement_done();
	}
	PG_END_TRY();

	/* Its commit record is the last one this backend wrote. */
	if (commit_prepared)
		commit_prepared_end = XactLastRecEnd;
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
