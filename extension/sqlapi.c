/*-------------------------------------------------------------------------
 *
 * sqlapi.c
 *	  SQL-callable functions behind the quorum.* views, and quorum.join().
 *
 * Backends never run protocol code.  The set-returning functions copy the
 * worker's snapshot out of shared memory under LW_SHARED and build their
 * rows after releasing the lock; quorum.join() validates its argument and
 * queues a command for the worker, then sets the worker's latch.
 *
 * The text values of state, role and event columns are the SQL API's
 * contract, so they are spelled here rather than borrowed from libquorum's
 * display names.
 *
 * extension/sqlapi.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

/* SQL-callable functions and their result sets */
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

/* the shared snapshot, and waiting for it to change */
#include "miscadmin.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/lwlock.h"

#include "quorum/quorum.h"

#include "errors.h"
#include "fence.h"
#include "guc.h"
#include "pg_compat.h"
#include "shmem.h"

PG_FUNCTION_INFO_V1(pgq_nodes);
PG_FUNCTION_INFO_V1(pgq_status);
PG_FUNCTION_INFO_V1(pgq_events);
PG_FUNCTION_INFO_V1(pgq_health);
PG_FUNCTION_INFO_V1(pgq_join);
PG_FUNCTION_INFO_V1(pgq_failover);
PG_FUNCTION_INFO_V1(pgq_pause);
PG_FUNCTION_INFO_V1(pgq_resume);
PG_FUNCTION_INFO_V1(pgq_forget);
PG_FUNCTION_INFO_V1(pgq_add_voter);

#define NODES_COLS 17
#define STATUS_COLS 17
#define EVENTS_COLS 6
#define HEALTH_COLS 13

/* How long one sleep on the condition variable lasts at most, ms. */
#define SQLAPI_POLL_MS 100

static const char *
sqlapi_state_name(enum quorum_member_state state)
{
	switch (state)
	{
		case QUORUM_MEMBER_ALIVE:
			return "alive";
		case QUORUM_MEMBER_SUSPECT:
			return "suspect";
		case QUORUM_MEMBER_DEAD:
			return "dead";
		case QUORUM_MEMBER_LEFT:
			return "left";
	}
	return "unknown";
}

static const char *
sqlapi_role_name(enum quorum_role role)
{
	switch (role)
	{
		case QUORUM_ROLE_PRIMARY:
			return "primary";
		case QUORUM_ROLE_STANDBY:
			return "standby";
		case QUORUM_ROLE_WITNESS:
			return "witness";
		case QUORUM_ROLE_UNKNOWN:
			break;
	}
	return "unknown";
}

static const char *
sqlapi_event_name(PgqEventKind kind)
{
	switch (kind)
	{
		case PGQ_EV_ALIVE:
			return "alive";
		case PGQ_EV_SUSPECT:
			return "suspect";
		case PGQ_EV_DEAD:
			return "dead";
		case PGQ_EV_LEFT:
			return "left";
		case PGQ_EV_UPDATED:
			return "updated";
		case PGQ_EV_REAPED:
			return "reaped";
		case PGQ_EV_LEADER:
			return "leader";
		case PGQ_EV_LEASE_GAINED:
			return "lease_gained";
		case PGQ_EV_LEASE_LOST:
			return "lease_lost";
		case PGQ_EV_PAUSED:
			return "paused";
		case PGQ_EV_RESUMED:
			return "resumed";
		case PGQ_EV_VOTER_ADDED:
			return "voter_added";
		case PGQ_EV_VOTER_REMOVED:
			return "voter_removed";
		case PGQ_EV_SWITCHOVER:
			return "switchover";
		case PGQ_EV_PROMOTED:
			return "promoted";
		case PGQ_EV_FOLLOWING:
			return "following";
		case PGQ_EV_DEPOSED:
			return "deposed";
		case PGQ_EV_DEGRADED:
			return "degraded";
		case PGQ_EV_SYNCHRONOUS:
			return "synchronous";
	}
	return "unknown";
}

static const char *
sqlapi_mode_name(PgqMode mode)
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

static void
sqlapi_check_shmem(void)
{
	if (pgq_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_quorum must be loaded via shared_preload_libraries"),
				 errhint("Add pg_quorum to shared_preload_libraries in postgresql.conf and restart the server.")));
}

/*
 * A copy of the parts of the shared state one function needs, taken under
 * LW_SHARED.  members is palloc'd; n_members is 0 when no worker runs, so
 * a stale view of a dead worker never shows as current.
 */
typedef struct SqlapiSnapshot
{
	bool		worker_running;
	int			worker_pid;
	TimestampTz worker_started;
	char		node_name[QUORUM_NAME_MAX + 1];
	char		cluster[QUORUM_NAME_MAX + 1];
	uint64		incarnation;
	struct quorum_node_stats stats;
	bool		failover_enabled;
	uint64		term;
	char		leader[QUORUM_NAME_MAX + 1];
	bool		has_quorum;
	bool		paused;
	bool		transferring;
	PgqMode		mode;
	int			n_members;
	PgqMember  *members;
} SqlapiSnapshot;

static void
sqlapi_snapshot(SqlapiSnapshot *snap, bool with_members)
{
	sqlapi_check_shmem();
	memset(snap, 0, sizeof(*snap));
	if (with_members)
		snap->members = palloc(sizeof(PgqMember) * pgq_shared->members_max);

	LWLockAcquire(pgq_shared->lock, LW_SHARED);
	snap->worker_running = pgq_shared->worker_running;
	if (snap->worker_running)
	{
		snap->worker_pid = pgq_shared->worker_pid;
		snap->worker_started = pgq_shared->worker_started;
		memcpy(snap->node_name, pgq_shared->node_name, sizeof(snap->node_name));
		memcpy(snap->cluster, pgq_shared->cluster, sizeof(snap->cluster));
		snap->incarnation = pgq_shared->incarnation;
		snap->stats = pgq_shared->stats;
		snap->failover_enabled = pgq_shared->failover_enabled;
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

static const PgqMember *
sqlapi_find_member(const SqlapiSnapshot *snap, const char *name)
{
	for (int i = 0; i < snap->n_members; i++)
		if (strcmp(snap->members[i].name, name) == 0)
			return &snap->members[i];
	return NULL;
}

/*
 * Bytes member m is behind the leader's WAL position as both last gossiped
 * it; false when unknown: no leader, metadata missing, or not on the
 * leader's timeline.  The leader itself is 0 behind.
 */
static bool
sqlapi_lag(const SqlapiSnapshot *snap, const PgqMember *m, int64 *lag)
{
	const PgqMember *leader = snap->leader[0] != '\0' ?
		sqlapi_find_member(snap, snap->leader) : NULL;

	if (leader == NULL || !leader->has_meta || !m->has_meta ||
		m->timeline != leader->timeline)
		return false;
	*lag = m->lsn >= leader->lsn ? 0 : (int64) (leader->lsn - m->lsn);
	return true;
}

/* quorum.nodes_internal(): one row per member, this node included. */
Datum
pgq_nodes(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SqlapiSnapshot snap;

	InitMaterializedSRF(fcinfo, 0);
	sqlapi_snapshot(&snap, true);

	for (int i = 0; i < snap.n_members; i++)
	{
		const PgqMember *m = &snap.members[i];
		Datum		values[NODES_COLS];
		bool		nulls[NODES_COLS];
		int64		lag;
		int			c = 0;

		memset(nulls, 0, sizeof(nulls));
		values[c++] = CStringGetTextDatum(m->name);
		values[c++] = CStringGetTextDatum(m->address);
		values[c++] = CStringGetTextDatum(sqlapi_state_name(m->state));
		values[c++] = Int64GetDatum((int64) m->incarnation);
		values[c++] = CStringGetTextDatum(m->has_meta ? sqlapi_role_name(m->role) : "unknown");
		values[c++] = BoolGetDatum(m->is_self);
		values[c] = BoolGetDatum(m->is_leader);
		nulls[c++] = !snap.failover_enabled;
		values[c] = BoolGetDatum(m->voter);
		nulls[c++] = !snap.failover_enabled;
		if (m->has_meta)
		{
			values[c++] = Int32GetDatum((int32) m->timeline);
			values[c++] = LSNGetDatum((XLogRecPtr) m->lsn);
			if (sqlapi_lag(&snap, m, &lag))
				values[c++] = Int64GetDatum(lag);
			else
				nulls[c++] = true;
			values[c++] = Int32GetDatum(m->priority);
			values[c++] = CStringGetTextDatum(m->conninfo);
			values[c++] = CStringGetTextDatum(m->tags);
		}
		else
		{
			for (int k = 0; k < 6; k++)
				nulls[c++] = true;
		}
		values[c] = TimestampTzGetDatum(m->state_since);
		nulls[c] = m->state_since == 0;
		c++;
		values[c] = TimestampTzGetDatum(m->last_heard);
		nulls[c] = m->last_heard == 0;
		c++;
		values[c] = Float8GetDatum(m->rtt_ms);
		nulls[c] = m->rtt_ms < 0;
		c++;
		Assert(c == NODES_COLS);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* quorum.status_internal(): exactly one row, also when no worker runs. */
Datum
pgq_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SqlapiSnapshot snap;
	Datum		values[STATUS_COLS];
	bool		nulls[STATUS_COLS];
	int			c = 0;

	InitMaterializedSRF(fcinfo, 0);
	sqlapi_snapshot(&snap, false);
	memset(nulls, 0, sizeof(nulls));

	if (snap.worker_running)
	{
		values[c++] = CStringGetTextDatum(snap.node_name);
		values[c++] = CStringGetTextDatum(snap.cluster);
		values[c++] = Int64GetDatum((int64) snap.incarnation);
	}
	else
	{
		/* What the worker would use, so an operator sees what is meant. */
		const char *name = pgq_effective_node_name();

		values[c] = CStringGetTextDatum(name);
		nulls[c++] = name[0] == '\0';
		values[c] = CStringGetTextDatum(pgq_cluster != NULL ? pgq_cluster : "");
		nulls[c++] = pgq_cluster == NULL;
		nulls[c++] = true;
	}

	/*
	 * term .. paused: null with pg_quorum.failover = off, and what is
	 * unknown while no worker runs.  fenced is what the commit fence would
	 * decide right now, from the same shared value.
	 */
	values[c] = Int64GetDatum((int64) snap.term);
	nulls[c++] = !pgq_elections_enabled || !snap.worker_running;
	values[c] = CStringGetTextDatum(snap.leader);
	nulls[c++] = !pgq_elections_enabled || snap.leader[0] == '\0';
	values[c] = BoolGetDatum(snap.worker_running && snap.has_quorum);
	nulls[c++] = !pgq_elections_enabled;
	values[c++] = BoolGetDatum(pgq_elections_enabled && !pgq_has_lease());
	values[c++] = CStringGetTextDatum(sqlapi_mode_name(pgq_elections_enabled && snap.worker_running ?
													   snap.mode : PGQ_MODE_ASYNC));
	values[c] = BoolGetDatum(snap.paused);
	nulls[c++] = !pgq_elections_enabled || !snap.worker_running;
	values[c++] = Int32GetDatum((int32) snap.stats.members_alive);
	values[c++] = Int32GetDatum((int32) snap.stats.members_suspect);
	values[c++] = Int32GetDatum((int32) snap.stats.members_dead);
	values[c++] = Int32GetDatum((int32) snap.stats.members_left);
	values[c++] = Int32GetDatum((int32) snap.stats.local_health);
	values[c++] = BoolGetDatum(snap.worker_running);
	values[c] = Int32GetDatum(snap.worker_pid);
	nulls[c++] = !snap.worker_running;
	values[c] = TimestampTzGetDatum(snap.worker_started);
	nulls[c++] = !snap.worker_running;
	Assert(c == STATUS_COLS);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

/* quorum.events_internal(): the ring of recent events, oldest first. */
Datum
pgq_events(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PgqEvent   *events;
	uint64		total;
	uint64		first;
	int			n = 0;

	InitMaterializedSRF(fcinfo, 0);
	sqlapi_check_shmem();
	events = palloc(sizeof(PgqEvent) * PGQ_EVENTS_MAX);

	LWLockAcquire(pgq_shared->lock, LW_SHARED);
	total = pgq_shared->events_total;
	first = total > PGQ_EVENTS_MAX ? total - PGQ_EVENTS_MAX : 0;
	for (uint64 e = first; e < total; e++)
		events[n++] = pgq_shared->events[e % PGQ_EVENTS_MAX];
	LWLockRelease(pgq_shared->lock);

	for (int i = 0; i < n; i++)
	{
		Datum		values[EVENTS_COLS];
		bool		nulls[EVENTS_COLS];

		memset(nulls, 0, sizeof(nulls));
		values[0] = TimestampTzGetDatum(events[i].at);
		values[1] = CStringGetTextDatum(sqlapi_event_name(events[i].kind));
		values[2] = CStringGetTextDatum(events[i].node);
		values[3] = Int64GetDatum((int64) events[i].incarnation);
		nulls[3] = events[i].incarnation == 0;
		values[4] = Int64GetDatum((int64) events[i].term);
		nulls[4] = events[i].term == 0;
		values[5] = CStringGetTextDatum(events[i].detail);
		nulls[5] = events[i].detail[0] == '\0';
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * quorum.health_internal(): one 'local' row, one 'peer' row per other
 * member, one 'drop' row per drop reason.  Columns that do not apply to a
 * kind are null.
 */
Datum
pgq_health(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SqlapiSnapshot snap;
	Datum		values[HEALTH_COLS];
	bool		nulls[HEALTH_COLS];

	InitMaterializedSRF(fcinfo, 0);
	sqlapi_snapshot(&snap, true);
	if (!snap.worker_running)
		return (Datum) 0;

	/* kind, name, probes_sent, probes_failed, acks_received, rtt_ms,
	 * last_heard, dropped, local_health, datagrams_in, datagrams_out,
	 * bytes_in, bytes_out */
	memset(nulls, true, sizeof(nulls));
	values[0] = CStringGetTextDatum("local");
	nulls[0] = false;
	values[1] = CStringGetTextDatum(snap.node_name);
	nulls[1] = false;
	values[2] = Int64GetDatum((int64) snap.stats.probes_sent);
	nulls[2] = false;
	values[3] = Int64GetDatum((int64) snap.stats.probes_failed);
	nulls[3] = false;
	values[8] = Int32GetDatum((int32) snap.stats.local_health);
	values[9] = Int64GetDatum((int64) snap.stats.datagrams_in);
	values[10] = Int64GetDatum((int64) snap.stats.datagrams_out);
	values[11] = Int64GetDatum((int64) snap.stats.bytes_in);
	values[12] = Int64GetDatum((int64) snap.stats.bytes_out);
	for (int k = 8; k <= 12; k++)
		nulls[k] = false;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);

	for (int i = 0; i < snap.n_members; i++)
	{
		const PgqMember *m = &snap.members[i];

		if (m->is_self)
			continue;
		memset(nulls, true, sizeof(nulls));
		values[0] = CStringGetTextDatum("peer");
		values[1] = CStringGetTextDatum(m->name);
		values[2] = Int64GetDatum((int64) m->probes_sent);
		values[3] = Int64GetDatum((int64) m->probes_failed);
		values[4] = Int64GetDatum((int64) m->acks_received);
		for (int k = 0; k <= 4; k++)
			nulls[k] = false;
		values[5] = Float8GetDatum(m->rtt_ms);
		nulls[5] = m->rtt_ms < 0;
		values[6] = TimestampTzGetDatum(m->last_heard);
		nulls[6] = m->last_heard == 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	for (int r = 0; r < QUORUM_DROP__COUNT; r++)
	{
		memset(nulls, true, sizeof(nulls));
		values[0] = CStringGetTextDatum("drop");
		nulls[0] = false;
		values[1] = CStringGetTextDatum(quorum_drop_reason_name(r));
		nulls[1] = false;
		values[7] = Int64GetDatum((int64) snap.stats.drops[r]);
		nulls[7] = false;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* ---------------------------------------------------------------------
 * Commands to the worker
 * ---------------------------------------------------------------------
 */

/*
 * Queue one command and wake the worker; returns its id.  what completes
 * "could not %s" in the errors.
 */
static uint64
sqlapi_post(PgqCommandType type, const char *name,
			const struct quorum_addr *addr, const char *what)
{
	Latch	   *latch = NULL;
	bool		running;
	bool		queued = false;
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
		queued = true;
	}
	LWLockRelease(pgq_shared->lock);

	if (!running)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not %s: the pg_quorum worker is not running", what),
				 errhint("Check the server log for why it stopped; it is restarted automatically.")));
	if (!queued)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not %s: too many requests are pending", what),
				 errdetail("%d requests are waiting for the pg_quorum worker.",
						   PGQ_COMMANDS_MAX),
				 errhint("Try again in a moment.")));
	if (latch != NULL)
		SetLatch(latch);
	return id;
}

static TimestampTz
sqlapi_deadline(void)
{
	return TimestampTzPlusMilliseconds(GetCurrentTimestamp(), pgq_command_timeout_ms);
}

/*
 * Sleep until the worker publishes again or the deadline passes; false once
 * the deadline has passed.  Interrupts (cancel, terminate) are served.
 */
static bool
sqlapi_sleep(TimestampTz deadline)
{
	long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);

	if (left <= 0)
		return false;
	(void) ConditionVariableTimedSleep(&pgq_shared->changed,
									   Min(left, SQLAPI_POLL_MS),
									   PGQ_WAIT_EVENT_MAIN);
	CHECK_FOR_INTERRUPTS();
	return true;
}

/*
 * Wait for the worker's verdict on command id: a quorum_error, 0 when the
 * node accepted it.  detail receives the worker's explanation.
 */
static int
sqlapi_wait_result(uint64 id, TimestampTz deadline, char *detail, const char *what)
{
	ConditionVariablePrepareToSleep(&pgq_shared->changed);
	for (;;)
	{
		bool		done = false;
		bool		running;
		int			rc = 0;

		LWLockAcquire(pgq_shared->lock, LW_SHARED);
		running = pgq_shared->worker_running;
		if (pgq_shared->results[id % PGQ_COMMANDS_MAX].id == id)
		{
			const PgqCommandResult *r = &pgq_shared->results[id % PGQ_COMMANDS_MAX];

			rc = r->rc;
			strlcpy(detail, r->detail, PGQ_DETAIL_MAX);
			done = true;
		}
		LWLockRelease(pgq_shared->lock);
		if (done)
		{
			ConditionVariableCancelSleep();
			return rc;
		}
		if (!running)
		{
			ConditionVariableCancelSleep();
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("could not %s: the pg_quorum worker stopped", what),
					 errhint("Check the server log for why it stopped; it is restarted automatically.")));
		}
		if (!sqlapi_sleep(deadline))
		{
			ConditionVariableCancelSleep();
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("could not %s: the pg_quorum worker did not answer within %d ms",
							what, pgq_command_timeout_ms),
					 errhint("Check the server log; raise pg_quorum.command_timeout to wait longer.")));
		}
	}
}

/* A refusal by the node, with the SQLSTATE its code maps to. */
static void
sqlapi_refused(int rc, const char *what, const char *detail)
{
	int			code = rc == QUORUM_ENOTFOUND ? ERRCODE_INVALID_PARAMETER_VALUE :
		rc == QUORUM_EBUSY ? ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE :
		pgq_errcode(rc);

	ereport(ERROR,
			(errcode(code),
			 errmsg("could not %s: %s", what, quorum_strerror(rc)),
			 detail[0] != '\0' ? errdetail("%s", detail) : 0));
}

/* The checks every election command makes first. */
static void
sqlapi_require_failover(const SqlapiSnapshot *snap, const char *what)
{
	if (!pgq_elections_enabled)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not %s: pg_quorum.failover is off", what),
				 errdetail("This server takes no part in elections."),
				 errhint("Set pg_quorum.failover = on and restart the server.")));
	if (!snap->worker_running)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not %s: the pg_quorum worker is not running", what),
				 errhint("Check the server log for why it stopped; it is restarted automatically.")));
}

static void
sqlapi_require_quorum(const SqlapiSnapshot *snap, const char *what)
{
	if (snap->leader[0] == '\0' || !snap->has_quorum)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not %s: no quorum", what),
				 errdetail("This server knows no leader holding a majority of the voters."),
				 errhint("Check quorum.nodes: a majority of the voters must be alive and see each other.")));
}

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

	sqlapi_check_shmem();
	detail = pgq_check_address(address, &addr);
	if (detail != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid gossip address \"%s\"", address),
				 errdetail("%s", detail),
				 errhint("Give the numeric address and port a member listens on (its pg_quorum.listen), such as \"192.0.2.5:7946\".")));
	(void) sqlapi_post(PGQ_CMD_JOIN, NULL, &addr,
					   psprintf("join through \"%s\"", address));
	PG_RETURN_VOID();
}

/*
 * Whether m can take over now: a voter with a priority above 0, alive, a
 * standby on the leader's timeline and at most pg_quorum.switchover_lag_max
 * behind.  Returns NULL, or why not, and sets *bad_param when the reason is
 * the argument itself (22023) rather than the member's state (55000).
 */
static const char *
sqlapi_unfit_target(const SqlapiSnapshot *snap, const PgqMember *m, bool *bad_param)
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
	if (m->priority <= 0)
		return "Its pg_quorum.priority is 0, which means never promote it.";
	if (m->role == QUORUM_ROLE_WITNESS)
		return "It is a witness, which has no database.";
	*bad_param = false;
	if (m->state != QUORUM_MEMBER_ALIVE)
		return psprintf("It is %s.", sqlapi_state_name(m->state));
	if (m->role != QUORUM_ROLE_STANDBY)
		return psprintf("It runs as %s, not as a standby.", sqlapi_role_name(m->role));
	if (!sqlapi_lag(snap, m, &lag))
		return "It is not on the leader's timeline, or the leader's WAL position is unknown.";
	if (lag > (int64) pgq_switchover_lag_max_kb * 1024)
		return psprintf("It is " INT64_FORMAT " bytes behind the leader; pg_quorum.switchover_lag_max is %d kB.",
						lag, pgq_switchover_lag_max_kb);
	return NULL;
}

/* Announce the start of a wait the worker should let finish (see worker.c). */
static void
sqlapi_waiters(int delta)
{
	LWLockAcquire(pgq_shared->lock, LW_EXCLUSIVE);
	pgq_shared->switchover_waiters += delta;
	LWLockRelease(pgq_shared->lock);
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
	const char *what = target != NULL ?
		psprintf("switch over to \"%s\"", target) : "switch over";
	SqlapiSnapshot snap;
	char		old_leader[QUORUM_NAME_MAX + 1];
	char		detail[PGQ_DETAIL_MAX];
	char		result[QUORUM_NAME_MAX + 1];
	TimestampTz deadline = sqlapi_deadline();
	uint64		old_term;
	uint64		id;
	int			rc;
	bool		bad_param;
	bool		done = false;
	bool		saw_transfer = false;
	bool		resumed = false;

	sqlapi_snapshot(&snap, true);
	sqlapi_require_failover(&snap, what);
	if (snap.paused)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not %s: failover is paused", what),
				 errhint("Run quorum.resume() first.")));
	sqlapi_require_quorum(&snap, what);
	if (snap.transferring)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not %s: a switchover is already under way", what),
				 errhint("Wait until quorum.status shows the new leader.")));

	if (target != NULL)
	{
		const PgqMember *m = sqlapi_find_member(&snap, target);
		const char *why;

		if (m == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("could not %s: no such member", what),
					 errhint("quorum.nodes lists the members.")));
		if (strcmp(target, snap.leader) == 0)
		{
			ereport(NOTICE,
					(errmsg("\"%s\" is already the leader", target)));
			PG_RETURN_TEXT_P(cstring_to_text(target));
		}
		if ((why = sqlapi_unfit_target(&snap, m, &bad_param)) != NULL)
			ereport(ERROR,
					(errcode(bad_param ? ERRCODE_INVALID_PARAMETER_VALUE :
							 ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("could not %s: the member cannot take over", what),
					 errdetail("%s", why),
					 bad_param ? 0 : errhint("Retry when it is a streaming standby close to the leader.")));
	}
	else
	{
		bool		any = false;

		for (int i = 0; i < snap.n_members && !any; i++)
			any = strcmp(snap.members[i].name, snap.leader) != 0 &&
				sqlapi_unfit_target(&snap, &snap.members[i], &bad_param) == NULL;
		if (!any)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("could not %s: no standby can take over", what),
					 errdetail("No voter with a priority above 0 is an alive standby on the leader's timeline within pg_quorum.switchover_lag_max."),
					 errhint("quorum.nodes shows each member's state, role, lag and priority.")));
	}

	strlcpy(old_leader, snap.leader, sizeof(old_leader));
	old_term = snap.term;
	id = sqlapi_post(PGQ_CMD_FAILOVER, target != NULL ? target : "", NULL, what);
	rc = sqlapi_wait_result(id, deadline, detail, what);
	if (rc != 0)
		sqlapi_refused(rc, what, detail);

	/*
	 * Accepted: wait for a new leader that runs as the primary.  Should the
	 * hand-over window pass in the old term (the target did not catch up,
	 * and the leader took its lease back), say so at once rather than at
	 * the deadline.
	 */
	sqlapi_waiters(1);
	PG_TRY();
	{
		ConditionVariablePrepareToSleep(&pgq_shared->changed);
		while (!done)
		{
			const PgqMember *m;

			sqlapi_snapshot(&snap, true);
			m = snap.leader[0] != '\0' ? sqlapi_find_member(&snap, snap.leader) : NULL;
			if (snap.term > old_term && m != NULL && strcmp(snap.leader, old_leader) != 0 &&
				m->has_meta && m->role == QUORUM_ROLE_PRIMARY)
			{
				strlcpy(result, snap.leader, sizeof(result));
				done = true;
				break;
			}
			if (snap.transferring)
				saw_transfer = true;
			else if (saw_transfer && snap.term == old_term &&
					 strcmp(snap.leader, old_leader) == 0)
			{
				resumed = true;
				break;
			}
			if (!sqlapi_sleep(deadline))
				break;
		}
		ConditionVariableCancelSleep();
	}
	PG_FINALLY();
	{
		sqlapi_waiters(-1);
	}
	PG_END_TRY();

	if (resumed)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not %s: the hand-over did not complete", what),
				 errdetail("The target did not catch up with the leader's WAL within the hand-over window; \"%s\" stays the leader in term " UINT64_FORMAT ".",
						   old_leader, old_term),
				 errhint("Retry when the target's lag in quorum.nodes is small, or with fewer writes.")));
	if (!done)
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("could not %s: no new leader took over within %d ms", what,
						pgq_command_timeout_ms),
				 errdetail("The leader gave up its lease for the hand-over; if the target did not catch up, the leader resumes by itself."),
				 errhint("Check quorum.status and quorum.events; raise pg_quorum.command_timeout to wait longer.")));
	if (target != NULL && strcmp(result, target) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not %s: \"%s\" became the leader instead", what, result)));
	PG_RETURN_TEXT_P(cstring_to_text(result));
}

/* quorum.pause() and quorum.resume(): a decision, then wait for it. */
static void
sqlapi_pause(bool pause)
{
	const char *what = pause ? "pause failover" : "resume failover";
	SqlapiSnapshot snap;
	char		detail[PGQ_DETAIL_MAX];
	TimestampTz deadline = sqlapi_deadline();
	uint64		id;
	int			rc;

	sqlapi_snapshot(&snap, false);
	sqlapi_require_failover(&snap, what);
	if (snap.paused == pause)
	{
		ereport(NOTICE,
				(errmsg("failover is already %s", pause ? "paused" : "active")));
		return;
	}
	/* Resume works without a leader: it is how a paused cluster recovers. */
	if (pause)
		sqlapi_require_quorum(&snap, what);

	id = sqlapi_post(pause ? PGQ_CMD_PAUSE : PGQ_CMD_RESUME, NULL, NULL, what);
	rc = sqlapi_wait_result(id, deadline, detail, what);
	if (rc != 0)
		sqlapi_refused(rc, what, detail);

	ConditionVariablePrepareToSleep(&pgq_shared->changed);
	for (;;)
	{
		sqlapi_snapshot(&snap, false);
		if (snap.paused == pause)
		{
			/*
			 * Committed here; the other voters learn the commit with the
			 * leader's next heartbeats.  Waiting for two of them keeps a
			 * voter that has the decision but not yet its commit from
			 * campaigning as if failover were still on, should the leader
			 * die right after this returns.
			 */
			TimestampTz settled = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
															  2 * pgq_heartbeat_interval_ms);

			while (sqlapi_sleep(Min(settled, deadline)))
				;
			break;
		}
		if (!sqlapi_sleep(deadline))
		{
			ConditionVariableCancelSleep();
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("could not %s: the decision was not committed within %d ms",
							what, pgq_command_timeout_ms),
					 errdetail("It may still be committed later; quorum.status shows whether failover is paused."),
					 errhint("Check that a majority of the voters is alive.")));
		}
	}
	ConditionVariableCancelSleep();
}

Datum
pgq_pause(PG_FUNCTION_ARGS)
{
	sqlapi_pause(true);
	PG_RETURN_VOID();
}

Datum
pgq_resume(PG_FUNCTION_ARGS)
{
	sqlapi_pause(false);
	PG_RETURN_VOID();
}

/* The first checks of forget() and add_voter(): the member must exist. */
static const PgqMember *
sqlapi_require_member(SqlapiSnapshot *snap, const char *name, const char *what)
{
	const PgqMember *m;

	sqlapi_snapshot(snap, true);
	sqlapi_require_failover(snap, what);
	m = sqlapi_find_member(snap, name);
	if (m == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not %s: no such member", what),
				 errhint("quorum.nodes lists the members.")));
	return m;
}

/* events_total now: where to look for the events of a command posted next. */
static uint64
sqlapi_events_total(void)
{
	uint64		total;

	LWLockAcquire(pgq_shared->lock, LW_SHARED);
	total = pgq_shared->events_total;
	LWLockRelease(pgq_shared->lock);
	return total;
}

/* Whether an event of this kind about node was recorded since since. */
static bool
sqlapi_event_since(PgqEventKind kind, const char *node, uint64 since)
{
	bool		found = false;
	uint64		total;

	LWLockAcquire(pgq_shared->lock, LW_SHARED);
	total = pgq_shared->events_total;
	if (total > PGQ_EVENTS_MAX && since < total - PGQ_EVENTS_MAX)
		since = total - PGQ_EVENTS_MAX;
	for (uint64 e = since; e < total && !found; e++)
	{
		const PgqEvent *ev = &pgq_shared->events[e % PGQ_EVENTS_MAX];

		found = ev->kind == kind && strcmp(ev->node, node) == 0;
	}
	LWLockRelease(pgq_shared->lock);
	return found;
}

/*
 * Wait until a voter change is committed, as this server sees it: name
 * added to the voters (voter; the commit's event since events_since, as the
 * voter set already counts a decision only appended), or name gone from the
 * member table (!voter, forget(): it is forgotten after the commit).
 */
static void
sqlapi_wait_voter_change(const char *name, bool voter, uint64 events_since,
						 TimestampTz deadline, const char *what)
{
	SqlapiSnapshot snap;

	ConditionVariablePrepareToSleep(&pgq_shared->changed);
	for (;;)
	{
		sqlapi_snapshot(&snap, true);
		if (voter ? sqlapi_event_since(PGQ_EV_VOTER_ADDED, name, events_since) :
			sqlapi_find_member(&snap, name) == NULL)
			break;
		if (!sqlapi_sleep(deadline))
		{
			ConditionVariableCancelSleep();
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("could not %s: the decision was not committed within %d ms",
							what, pgq_command_timeout_ms),
					 errdetail("It may still be committed later; quorum.nodes shows the voters."),
					 errhint("Check that a majority of the voters is alive.")));
		}
	}
	ConditionVariableCancelSleep();
}

/*
 * quorum.forget(node): remove a member for good, from the voter set and
 * from the member table.  Only a member that is dead or left, and not the
 * leader; removing a voter needs a quorum.
 */
Datum
pgq_forget(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	const char *what = psprintf("forget \"%s\"", name);
	SqlapiSnapshot snap;
	const PgqMember *m;
	char		detail[PGQ_DETAIL_MAX];
	TimestampTz deadline = sqlapi_deadline();
	uint64		id;
	int			rc;

	m = sqlapi_require_member(&snap, name, what);
	if (m->is_self)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not %s: it is this server", what),
				 errhint("Run quorum.forget() on another member after stopping this server.")));
	if (m->state == QUORUM_MEMBER_ALIVE || m->state == QUORUM_MEMBER_SUSPECT)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not %s: it is %s", what, sqlapi_state_name(m->state)),
				 errdetail("Only a member that is dead or has left can be forgotten."),
				 errhint("Stop that server first, and wait until quorum.nodes shows it dead.")));
	if (strcmp(name, snap.leader) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not %s: it is the leader", what),
				 errhint("Wait until another leader is elected.")));
	if (m->voter)
		sqlapi_require_quorum(&snap, what);

	id = sqlapi_post(PGQ_CMD_FORGET, name, NULL, what);
	rc = sqlapi_wait_result(id, deadline, detail, what);
	if (rc != 0)
		sqlapi_refused(rc, what, detail);

	/* Gone from this server's members: a voter once its removal commits. */
	sqlapi_wait_voter_change(name, false, 0, deadline, what);
	PG_RETURN_VOID();
}

/*
 * quorum.add_voter(node): the cluster decides to count an alive member among
 * the voters, as on the server that replaces one removed with forget().  It
 * must run with pg_quorum.voter = on; waits until the decision is committed.
 */
Datum
pgq_add_voter(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	const char *what = psprintf("add \"%s\" to the voters", name);
	SqlapiSnapshot snap;
	const PgqMember *m;
	char		detail[PGQ_DETAIL_MAX];
	TimestampTz deadline = sqlapi_deadline();
	uint64		events_since;
	uint64		id;
	int			rc;

	m = sqlapi_require_member(&snap, name, what);
	if (m->voter)
	{
		ereport(NOTICE, (errmsg("\"%s\" is already a voter", name)));
		PG_RETURN_VOID();
	}
	if (m->state != QUORUM_MEMBER_ALIVE)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not %s: it is %s", what, sqlapi_state_name(m->state)),
				 errdetail("Only an alive member can become a voter."),
				 errhint("Start that server and wait until quorum.nodes shows it alive.")));
	sqlapi_require_quorum(&snap, what);

	events_since = sqlapi_events_total();
	id = sqlapi_post(PGQ_CMD_ADD_VOTER, name, NULL, what);
	rc = sqlapi_wait_result(id, deadline, detail, what);
	if (rc == QUORUM_ENOTFOUND)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not %s: it cannot vote", what),
				 errdetail("%s", detail),
				 errhint("Set pg_quorum.voter = on on that server and restart it.")));
	if (rc != 0)
		sqlapi_refused(rc, what, detail);

	sqlapi_wait_voter_change(name, true, events_since, deadline, what);
	PG_RETURN_VOID();
}
