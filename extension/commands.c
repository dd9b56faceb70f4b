/*-------------------------------------------------------------------------
 *
 * commands.c
 *	  The SQL functions that ask the worker to act: quorum.join(),
 *	  quorum.failover() (the planned switchover), quorum.pause(),
 *	  quorum.resume(), quorum.forget() and quorum.add_voter().
 *
 * A backend never runs protocol code.  Each function checks what it can
 * from the worker's snapshot, posts one command into the queue in shared
 * memory and sets the worker's latch, then waits for the worker's verdict
 * and, for a decision of the cluster, until the outcome shows in the
 * snapshot.  All waiting goes through commands_wait(): a sleep on the
 * condition variable the worker broadcasts after every publish, with
 * pg_quorum.command_timeout as the deadline and interrupts served.
 *
 * Errors follow PostgreSQL's message style: a literal primary message,
 * the reason in errdetail, what to do in errhint, and the SQLSTATEs the
 * README documents (22023 for a bad argument, 55000 for a state that does
 * not allow the request, 57014 when the deadline passes).
 *
 * extension/commands.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

/* SQL-callable functions */
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

/* the command queue, and waiting for the worker */
#include "miscadmin.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/lwlock.h"

#include "quorum/quorum.h"

#include "errors.h"
#include "guc.h"
#include "pg_compat.h"
#include "shmem.h"
#include "sqlapi.h"

PG_FUNCTION_INFO_V1(pgq_join);
PG_FUNCTION_INFO_V1(pgq_failover);
PG_FUNCTION_INFO_V1(pgq_pause);
PG_FUNCTION_INFO_V1(pgq_resume);
PG_FUNCTION_INFO_V1(pgq_forget);
PG_FUNCTION_INFO_V1(pgq_add_voter);

/* How long one sleep on the condition variable lasts at most, ms. */
#define COMMANDS_POLL_MS 100

/* A condition commands_wait() waits for; arg is the caller's. */
typedef bool (*CommandsDoneFn) (void *arg);

/* ---------------------------------------------------------------------
 * Waiting
 * ---------------------------------------------------------------------
 */

static TimestampTz
commands_deadline(void)
{
	return TimestampTzPlusMilliseconds(GetCurrentTimestamp(), pgq_command_timeout_ms);
}

/*
 * Wait until done(arg) holds, re-checking whenever the worker publishes and
 * at least every COMMANDS_POLL_MS; false once the deadline has passed
 * without it.  With done NULL, simply wait out the deadline.  Interrupts
 * (cancel, terminate) are served; an ERROR leaves the condition variable
 * to the transaction's abort, which cancels the sleep.
 */
static bool
commands_wait(TimestampTz deadline, CommandsDoneFn done, void *arg)
{
	bool		met = false;

	ConditionVariablePrepareToSleep(&pgq_shared->changed);
	for (;;)
	{
		long		left;

		if (done != NULL && (met = done(arg)))
			break;
		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		if (left <= 0)
			break;
		(void) ConditionVariableTimedSleep(&pgq_shared->changed,
										   Min(left, COMMANDS_POLL_MS),
										   PGQ_WAIT_EVENT_MAIN);
		CHECK_FOR_INTERRUPTS();
	}
	ConditionVariableCancelSleep();
	return met;
}

pg_noreturn static void commands_no_worker(void);

static void
commands_no_worker(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("pg_quorum worker is not running"),
			 errhint("Check the server log for why it stopped; it is restarted automatically.")));
}

pg_noreturn static void commands_not_committed(const char *view);

/* A decision the node accepted was not committed in time. */
static void
commands_not_committed(const char *view)
{
	ereport(ERROR,
			(errcode(ERRCODE_QUERY_CANCELED),
			 errmsg("decision was not committed within %d ms", pgq_command_timeout_ms),
			 errdetail("It may still be committed later; %s shows whether it was.", view),
			 errhint("Check that a majority of the voters is alive.")));
}

/* ---------------------------------------------------------------------
 * Posting a command and waiting for the worker's verdict
 * ---------------------------------------------------------------------
 */

/* Queue one command and wake the worker; returns its id. */
static uint64
commands_post(PgqCommandType type, const char *name,
			  const struct quorum_addr *addr)
{
	Latch	   *latch = NULL;
	bool		running;
	uint64		id = 0;

	LWLockAcquire(pgq_shared->lock, LW_EXCLUSIVE);
	running = pgq_shared->worker_running;
	if (running && pgq_shared->n_commands < PGQ_COMMANDS_MAX)
	{
		PgqCommand *cmd = &pgq_shared->commands[pgq_shared->n_commands++];

		memset(cmd, 0, sizeof(*cmd));
		id = pgq_shared->next_command_id++;
		cmd->id = id;
		cmd->type = type;
		if (addr != NULL)
			cmd->addr = *addr;
		if (name != NULL)
			strlcpy(cmd->name, name, sizeof(cmd->name));
		latch = pgq_shared->worker_latch;
	}
	LWLockRelease(pgq_shared->lock);

	if (!running)
		commands_no_worker();
	if (latch == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("too many pg_quorum requests are pending"),
				 errdetail("%d requests are waiting for the pg_quorum worker.",
						   PGQ_COMMANDS_MAX),
				 errhint("Try again in a moment.")));
	SetLatch(latch);
	return id;
}

/* The worker's verdict on one command, as commands_answered() reads it. */
typedef struct CommandsVerdict
{
	uint64		id;
	bool		answered;
	bool		worker_gone;
	int			rc;				/* a quorum_error, 0 = accepted */
	char		detail[PGQ_DETAIL_MAX];
} CommandsVerdict;

static bool
commands_answered(void *arg)
{
	CommandsVerdict *v = arg;
	const PgqCommandResult *r = &pgq_shared->results[v->id % PGQ_COMMANDS_MAX];

	LWLockAcquire(pgq_shared->lock, LW_SHARED);
	v->worker_gone = !pgq_shared->worker_running;
	if (r->id == v->id)
	{
		v->answered = true;
		v->rc = r->rc;
		strlcpy(v->detail, r->detail, sizeof(v->detail));
	}
	LWLockRelease(pgq_shared->lock);
	return v->answered || v->worker_gone;
}

/*
 * Post a command and wait for the worker's verdict on it: 0 when the node
 * accepted it, else a quorum_error with the worker's explanation in
 * v->detail.
 */
static int
commands_run(PgqCommandType type, const char *name, TimestampTz deadline,
			 CommandsVerdict *v)
{
	memset(v, 0, sizeof(*v));
	v->id = commands_post(type, name, NULL);
	if (!commands_wait(deadline, commands_answered, v))
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("pg_quorum worker did not answer within %d ms",
						pgq_command_timeout_ms),
				 errhint("Check the server log; raise pg_quorum.command_timeout to wait longer.")));
	if (!v->answered)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_quorum worker stopped before it answered"),
				 errhint("Check the server log for why it stopped; it is restarted automatically.")));
	return v->rc;
}

/* ---------------------------------------------------------------------
 * The checks the election commands share
 * ---------------------------------------------------------------------
 */

/* This server takes part in elections, and its worker runs. */
static void
commands_require_elections(const PgqSnapshot *snap)
{
	if (!pgq_elections_enabled)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("this server takes no part in elections"),
				 errdetail("pg_quorum.failover is off."),
				 errhint("Set pg_quorum.failover = on and restart the server.")));
	if (!snap->worker_running)
		commands_no_worker();
}

static void
commands_require_quorum(const PgqSnapshot *snap)
{
	if (snap->leader[0] == '\0' || !snap->has_quorum)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no leader with a quorum is known"),
				 errdetail("This server knows no leader holding a majority of the voters."),
				 errhint("Check quorum.nodes: a majority of the voters must be alive and see each other.")));
}

/* The member called name, which the caller's argument must name. */
static const PgqMember *
commands_require_member(const PgqSnapshot *snap, const char *name)
{
	const PgqMember *m = pgq_snapshot_member(snap, name);

	if (m == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("member \"%s\" does not exist", name),
				 errhint("quorum.nodes lists the members.")));
	return m;
}

/* The first checks of forget() and add_voter(): name must be a member. */
static const PgqMember *
commands_require_election_member(PgqSnapshot *snap, const char *name)
{
	pgq_snapshot_take(snap, true);
	commands_require_elections(snap);
	return commands_require_member(snap, name);
}

/* ---------------------------------------------------------------------
 * quorum.join()
 * ---------------------------------------------------------------------
 */

/*
 * quorum.join(address): ask the worker to contact a member.  Returns as
 * soon as the request is queued; quorum.nodes shows the outcome.
 */
Datum
pgq_join(PG_FUNCTION_ARGS)
{
	char	   *address = text_to_cstring(PG_GETARG_TEXT_PP(0));
	struct quorum_addr addr;
	const char *detail;

	pgq_require_shmem();
	detail = pgq_check_address(address, &addr);
	if (detail != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid gossip address \"%s\"", address),
				 errdetail("%s", detail),
				 errhint("Give the numeric address and port a member listens on (its pg_quorum.listen), such as \"192.0.2.5:7946\".")));
	(void) commands_post(PGQ_CMD_JOIN, NULL, &addr);
	PG_RETURN_VOID();
}

/* ---------------------------------------------------------------------
 * quorum.failover(): the planned switchover
 * ---------------------------------------------------------------------
 */

/*
 * Whether m can take over now: a voter with a priority above 0, alive, a
 * standby on the leader's timeline and at most pg_quorum.switchover_lag_max
 * behind.  Returns NULL, or why not, and sets *bad_param when the reason is
 * the argument itself (22023) rather than the member's state (55000).
 */
static const char *
switchover_unfit_target(const PgqSnapshot *snap, const PgqMember *m, bool *bad_param)
{
	int64		lag;

	*bad_param = true;
	if (!m->voter)
		return "It is not a voter.";
	if (!m->has_meta)
	{
		*bad_param = false;
		return "Its metadata has not reached this server yet.";
	}
	if (!quorum_member_may_lead(m->role, m->priority))
		return m->role == QUORUM_ROLE_WITNESS ? "It is a witness, which has no database." :
			"Its pg_quorum.priority is 0, which means never promote it.";
	*bad_param = false;
	if (m->state != QUORUM_MEMBER_ALIVE)
		return psprintf("It is %s.", pgq_state_sql_name(m->state));
	if (m->role != QUORUM_ROLE_STANDBY)
		return psprintf("It runs as %s, not as a standby.", pgq_role_sql_name(m->role));
	if (!pgq_snapshot_lag(snap, m, &lag))
		return "It is not on the leader's timeline, or the leader's WAL position is unknown.";
	if (lag > (int64) pgq_switchover_lag_max_kb * 1024)
		return psprintf("It is " INT64_FORMAT " bytes behind the leader; pg_quorum.switchover_lag_max is %d kB.",
						lag, pgq_switchover_lag_max_kb);
	return NULL;
}

/*
 * The checks before a switchover to target (NULL: the best standby).
 * Returns false, with a NOTICE, when target already leads.
 */
static bool
switchover_check(const PgqSnapshot *snap, const char *target)
{
	const char *why;
	bool		bad_param;

	commands_require_elections(snap);
	if (snap->paused)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot switch over while automatic failover is paused"),
				 errhint("Run quorum.resume() first.")));
	commands_require_quorum(snap);
	if (snap->transferring)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("a switchover is already under way"),
				 errhint("Wait until quorum.status shows the new leader.")));

	if (target == NULL)
	{
		for (int i = 0; i < snap->n_members; i++)
			if (strcmp(snap->members[i].name, snap->leader) != 0 &&
				switchover_unfit_target(snap, &snap->members[i], &bad_param) == NULL)
				return true;
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no standby can take over"),
				 errdetail("No voter with a priority above 0 is an alive standby on the leader's timeline within pg_quorum.switchover_lag_max."),
				 errhint("quorum.nodes shows each member's state, role, lag and priority.")));
	}

	why = switchover_unfit_target(snap, commands_require_member(snap, target), &bad_param);
	if (strcmp(target, snap->leader) == 0)
	{
		ereport(NOTICE, (errmsg("\"%s\" is already the leader", target)));
		return false;
	}
	if (why != NULL)
		ereport(ERROR,
				(errcode(bad_param ? ERRCODE_INVALID_PARAMETER_VALUE :
						 ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("member \"%s\" cannot take over", target),
				 errdetail("%s", why),
				 bad_param ? 0 : errhint("Retry when it is a streaming standby close to the leader.")));
	return true;
}

/* Waiting for the hand-over's outcome, as switchover_done() sees it. */
typedef struct SwitchoverWait
{
	char		old_leader[QUORUM_NAME_MAX + 1];
	uint64		old_term;
	bool		saw_transfer;
	bool		resumed;		/* the old leader took its lease back */
	char		new_leader[QUORUM_NAME_MAX + 1];	/* "" = none yet */
} SwitchoverWait;

/*
 * Done once a new leader runs as the primary, or once the hand-over window
 * passed in the old term (the target did not catch up, and the leader took
 * its lease back), which is said at once rather than at the deadline.
 */
static bool
switchover_done(void *arg)
{
	SwitchoverWait *w = arg;
	PgqSnapshot snap;
	const PgqMember *m;

	pgq_snapshot_take(&snap, true);
	m = snap.leader[0] != '\0' ? pgq_snapshot_member(&snap, snap.leader) : NULL;
	if (snap.term > w->old_term && m != NULL && strcmp(snap.leader, w->old_leader) != 0 &&
		m->has_meta && m->role == QUORUM_ROLE_PRIMARY)
		strlcpy(w->new_leader, snap.leader, sizeof(w->new_leader));
	else if (snap.transferring)
		w->saw_transfer = true;
	else if (w->saw_transfer && snap.term == w->old_term &&
			 strcmp(snap.leader, w->old_leader) == 0)
		w->resumed = true;
	pfree(snap.members);
	return w->new_leader[0] != '\0' || w->resumed;
}

/* Announce a wait the worker should let finish (see reconcile.c). */
static void
switchover_waiters(int delta)
{
	LWLockAcquire(pgq_shared->lock, LW_EXCLUSIVE);
	pgq_shared->switchover_waiters += delta;
	LWLockRelease(pgq_shared->lock);
}

/* Wait for the accepted hand-over's outcome; ERROR unless it succeeded. */
static void
switchover_wait(SwitchoverWait *w, TimestampTz deadline)
{
	switchover_waiters(1);
	PG_TRY();
	{
		(void) commands_wait(deadline, switchover_done, w);
	}
	PG_FINALLY();
	{
		switchover_waiters(-1);
	}
	PG_END_TRY();

	if (w->resumed)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("hand-over did not complete"),
				 errdetail("Within the hand-over window, either a commit on the leader did not finish or the target did not catch up with the leader's WAL; \"%s\" stays the leader in term " UINT64_FORMAT ".",
						   w->old_leader, w->old_term),
				 errhint("Retry when the target's lag in quorum.nodes is small and no commit on the leader is stuck (pg_stat_activity shows its wait).")));
	if (w->new_leader[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("no new leader took over within %d ms", pgq_command_timeout_ms),
				 errdetail("The leader gave up its lease for the hand-over; if the target did not catch up, the leader resumes by itself."),
				 errhint("Check quorum.status and quorum.events; raise pg_quorum.command_timeout to wait longer.")));
}

/*
 * quorum.failover(target text DEFAULT NULL): planned switchover.  Checks the
 * target, asks the leader (through this server's worker) to hand over, and
 * waits until a new leader runs as the primary; returns its name.
 */
Datum
pgq_failover(PG_FUNCTION_ARGS)
{
	char	   *target = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	TimestampTz deadline = commands_deadline();
	PgqSnapshot snap;
	SwitchoverWait w;
	CommandsVerdict v;

	pgq_snapshot_take(&snap, true);
	if (!switchover_check(&snap, target))
		PG_RETURN_TEXT_P(cstring_to_text(target));

	memset(&w, 0, sizeof(w));
	strlcpy(w.old_leader, snap.leader, sizeof(w.old_leader));
	w.old_term = snap.term;
	if (commands_run(PGQ_CMD_SWITCHOVER, target != NULL ? target : "", deadline, &v) != 0)
		ereport(ERROR,
				(errcode(pgq_errcode(v.rc)),
				 errmsg("could not switch over"),
				 pgq_errdetail_quorum(v.rc, v.detail)));

	switchover_wait(&w, deadline);
	if (target != NULL && strcmp(w.new_leader, target) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("member \"%s\" became the leader instead of \"%s\"",
						w.new_leader, target)));
	PG_RETURN_TEXT_P(cstring_to_text(w.new_leader));
}

/* ---------------------------------------------------------------------
 * quorum.pause() and quorum.resume()
 * ---------------------------------------------------------------------
 */

static bool
commands_paused(void *arg)
{
	bool		paused;

	LWLockAcquire(pgq_shared->lock, LW_SHARED);
	paused = pgq_shared->paused;
	LWLockRelease(pgq_shared->lock);
	return paused == *(bool *) arg;
}

/*
 * The decision is committed here once the snapshot shows it; the other
 * voters learn the commit with the leader's next heartbeats.  Waiting for
 * two of them keeps a voter that has the decision but not yet its commit
 * from campaigning as if failover were still on, should the leader die
 * right after this returns.
 */
static void
commands_wait_paused(bool pause, TimestampTz deadline)
{
	TimestampTz settled;

	if (!commands_wait(deadline, commands_paused, &pause))
		commands_not_committed("quorum.status");
	settled = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
										  2 * pgq_heartbeat_interval_ms);
	(void) commands_wait(Min(settled, deadline), NULL, NULL);
}

/*
 * pause: the cluster decides that no automatic election happens.  Unlike
 * pause, resume works without a leader: it is how a paused cluster that
 * lost its leader recovers.
 */
static void
commands_set_paused(bool pause)
{
	TimestampTz deadline = commands_deadline();
	PgqSnapshot snap;
	CommandsVerdict v;

	pgq_snapshot_take(&snap, false);
	commands_require_elections(&snap);
	if (snap.paused == pause)
	{
		if (pause)
			ereport(NOTICE, (errmsg("automatic failover is already paused")));
		else
			ereport(NOTICE, (errmsg("automatic failover is already active")));
		return;
	}
	if (pause)
		commands_require_quorum(&snap);
	if (commands_run(pause ? PGQ_CMD_PAUSE : PGQ_CMD_RESUME, NULL, deadline, &v) == 0)
		commands_wait_paused(pause, deadline);
	else if (pause)
		ereport(ERROR,
				(errcode(pgq_errcode(v.rc)),
				 errmsg("could not pause automatic failover"),
				 pgq_errdetail_quorum(v.rc, v.detail)));
	else
		ereport(ERROR,
				(errcode(pgq_errcode(v.rc)),
				 errmsg("could not resume automatic failover"),
				 pgq_errdetail_quorum(v.rc, v.detail)));
}

Datum
pgq_pause(PG_FUNCTION_ARGS)
{
	commands_set_paused(true);
	PG_RETURN_VOID();
}

Datum
pgq_resume(PG_FUNCTION_ARGS)
{
	commands_set_paused(false);
	PG_RETURN_VOID();
}

/* ---------------------------------------------------------------------
 * quorum.forget() and quorum.add_voter()
 * ---------------------------------------------------------------------
 */

/* Whether name is in this server's member table. */
static bool
commands_has_member(const char *name)
{
	bool		found = false;

	LWLockAcquire(pgq_shared->lock, LW_SHARED);
	for (int i = 0; i < pgq_shared->n_members && !found; i++)
		found = strcmp(pgq_shared->members[i].name, name) == 0;
	LWLockRelease(pgq_shared->lock);
	return found;
}

static bool
commands_forgotten(void *arg)
{
	return !commands_has_member((const char *) arg);
}

/* A voter_added event, about name, since the event count 'since'. */
typedef struct CommandsVoterAdded
{
	const char *name;
	uint64		since;
} CommandsVoterAdded;

static bool
commands_voter_added(void *arg)
{
	const CommandsVoterAdded *a = arg;
	uint64		since = a->since;
	bool		found = false;
	uint64		total;

	LWLockAcquire(pgq_shared->lock, LW_SHARED);
	total = pgq_shared->events_total;
	if (total > PGQ_EVENTS_MAX && since < total - PGQ_EVENTS_MAX)
		since = total - PGQ_EVENTS_MAX;
	for (uint64 e = since; e < total && !found; e++)
	{
		const PgqEvent *ev = &pgq_shared->events[e % PGQ_EVENTS_MAX];

		found = ev->kind == PGQ_EV_VOTER_ADDED && strcmp(ev->node, a->name) == 0;
	}
	LWLockRelease(pgq_shared->lock);
	return found;
}

/*
 * quorum.forget(node): remove a member for good, from the voter set and
 * from the member table.  Only a member that is dead or left, and not the
 * leader; removing a voter needs a quorum.  Returns once it is gone from
 * this server's members: for a voter, after its removal is committed.
 */
Datum
pgq_forget(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	TimestampTz deadline = commands_deadline();
	PgqSnapshot snap;
	const PgqMember *m;
	CommandsVerdict v;

	m = commands_require_election_member(&snap, name);
	if (m->is_self)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot forget this server"),
				 errhint("Run quorum.forget() on another member after stopping this server.")));
	if (m->state == QUORUM_MEMBER_ALIVE || m->state == QUORUM_MEMBER_SUSPECT)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot forget member \"%s\"", name),
				 errdetail("It is %s; only a member that is dead or has left can be forgotten.",
						   pgq_state_sql_name(m->state)),
				 errhint("Stop that server first, and wait until quorum.nodes shows it dead.")));
	if (strcmp(name, snap.leader) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot forget member \"%s\"", name),
				 errdetail("It is the leader."),
				 errhint("Wait until another leader is elected.")));
	if (m->voter)
		commands_require_quorum(&snap);

	if (commands_run(PGQ_CMD_FORGET, name, deadline, &v) != 0)
		ereport(ERROR,
				(errcode(pgq_errcode(v.rc)),
				 errmsg("could not forget member \"%s\"", name),
				 pgq_errdetail_quorum(v.rc, v.detail)));
	if (!commands_wait(deadline, commands_forgotten, name))
		commands_not_committed("quorum.nodes");
	PG_RETURN_VOID();
}

/*
 * quorum.add_voter(node): the cluster decides to count an alive member among
 * the voters, as on the server that replaces one removed with forget(), or
 * a server rebuilt or restored under a voter's name (issue 9, H8).  It
 * must run with pg_quorum.voter = on; waits until the decision is committed
 * (its event, as the voter set already counts a decision only appended).
 */
Datum
pgq_add_voter(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	TimestampTz deadline = commands_deadline();
	PgqSnapshot snap;
	const PgqMember *m;
	CommandsVerdict v;
	CommandsVoterAdded added;

	m = commands_require_election_member(&snap, name);

	/*
	 * A voter's name answers with the member id it is bound to, or it is
	 * not counted (a server rebuilt or restored under the name): then the
	 * leader admits the member that answers now.  Only the leader hears
	 * the answers, and a server knows its own id; elsewhere a voter's name
	 * looks admitted.
	 */
	if (m->voter && !m->is_self && strcmp(snap.leader, snap.node_name) != 0)
	{
		ereport(NOTICE,
				(errmsg("\"%s\" is already a voter", name),
				 errhint("If that server was rebuilt or its state restored from a copy, run quorum.add_voter() on the leader (%s) or on that server.",
						 snap.leader[0] != '\0' ? snap.leader : "none known")));
		PG_RETURN_VOID();
	}
	if (m->voter)
	{
		ereport(NOTICE, (errmsg("\"%s\" is already a voter", name)));
		PG_RETURN_VOID();
	}
	if (m->state != QUORUM_MEMBER_ALIVE)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot add member \"%s\" to the voters", name),
				 errdetail("It is %s; only an alive member can become a voter.",
						   pgq_state_sql_name(m->state)),
				 errhint("Start that server and wait until quorum.nodes shows it alive.")));
	commands_require_quorum(&snap);

	LWLockAcquire(pgq_shared->lock, LW_SHARED);
	added.since = pgq_shared->events_total;
	LWLockRelease(pgq_shared->lock);
	added.name = name;
	if (commands_run(PGQ_CMD_ADD_VOTER, name, deadline, &v) == QUORUM_ENOTFOUND)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot add member \"%s\" to the voters", name),
				 pgq_errdetail_quorum(v.rc, v.detail),
				 errhint("Set pg_quorum.voter = on on that server and restart it.")));
	if (v.rc != 0)
		ereport(ERROR,
				(errcode(pgq_errcode(v.rc)),
				 errmsg("could not add member \"%s\" to the voters", name),
				 pgq_errdetail_quorum(v.rc, v.detail)));
	if (!commands_wait(deadline, commands_voter_added, &added))
		commands_not_committed("quorum.nodes");
	PG_RETURN_VOID();
}
