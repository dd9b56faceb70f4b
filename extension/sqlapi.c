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

/* the shared snapshot */
#include "storage/latch.h"
#include "storage/lwlock.h"

#include "quorum/quorum.h"

#include "errors.h"
#include "guc.h"
#include "pg_compat.h"
#include "shmem.h"

PG_FUNCTION_INFO_V1(pgq_nodes);
PG_FUNCTION_INFO_V1(pgq_status);
PG_FUNCTION_INFO_V1(pgq_events);
PG_FUNCTION_INFO_V1(pgq_health);
PG_FUNCTION_INFO_V1(pgq_join);

#define NODES_COLS 14
#define STATUS_COLS 11
#define EVENTS_COLS 4
#define HEALTH_COLS 13

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
sqlapi_event_name(enum quorum_event_type type)
{
	switch (type)
	{
		case QUORUM_EV_MEMBER_ALIVE:
			return "alive";
		case QUORUM_EV_MEMBER_SUSPECT:
			return "suspect";
		case QUORUM_EV_MEMBER_DEAD:
			return "dead";
		case QUORUM_EV_MEMBER_LEFT:
			return "left";
		case QUORUM_EV_MEMBER_UPDATED:
			return "updated";
		case QUORUM_EV_MEMBER_REAPED:
			return "reaped";
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
		if (with_members)
		{
			snap->n_members = pgq_shared->n_members;
			memcpy(snap->members, pgq_shared->members,
				   sizeof(PgqMember) * snap->n_members);
		}
	}
	LWLockRelease(pgq_shared->lock);
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
		int			c = 0;

		memset(nulls, 0, sizeof(nulls));
		values[c++] = CStringGetTextDatum(m->name);
		values[c++] = CStringGetTextDatum(m->address);
		values[c++] = CStringGetTextDatum(sqlapi_state_name(m->state));
		values[c++] = Int64GetDatum((int64) m->incarnation);
		values[c++] = CStringGetTextDatum(m->has_meta ? sqlapi_role_name(m->role) : "unknown");
		values[c++] = BoolGetDatum(m->is_self);
		if (m->has_meta)
		{
			values[c++] = Int32GetDatum((int32) m->timeline);
			values[c++] = LSNGetDatum((XLogRecPtr) m->lsn);
			values[c++] = Int32GetDatum(m->priority);
			values[c++] = CStringGetTextDatum(m->conninfo);
			values[c++] = CStringGetTextDatum(m->tags);
		}
		else
		{
			for (int k = 0; k < 5; k++)
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
		values[1] = CStringGetTextDatum(sqlapi_event_name(events[i].type));
		values[2] = CStringGetTextDatum(events[i].node);
		values[3] = Int64GetDatum((int64) events[i].incarnation);
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
	Latch	   *latch = NULL;
	bool		running;
	bool		queued = false;

	sqlapi_check_shmem();
	detail = pgq_check_address(address, &addr);
	if (detail != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid gossip address \"%s\"", address),
				 errdetail("%s", detail),
				 errhint("Give the numeric address and port a member listens on (its pg_quorum.listen), such as \"192.0.2.5:7946\".")));

	LWLockAcquire(pgq_shared->lock, LW_EXCLUSIVE);
	running = pgq_shared->worker_running;
	if (running && pgq_shared->n_commands < PGQ_COMMANDS_MAX)
	{
		PgqCommand *cmd = &pgq_shared->commands[pgq_shared->n_commands++];

		cmd->type = PGQ_CMD_JOIN;
		cmd->addr = addr;
		latch = pgq_shared->worker_latch;
		queued = true;
	}
	LWLockRelease(pgq_shared->lock);

	if (!running)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not join through \"%s\": the pg_quorum worker is not running",
						address),
				 errhint("Check the server log for why it stopped; it is restarted automatically.")));
	if (!queued)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not join through \"%s\": too many requests are pending",
						address),
				 errdetail("%d requests are waiting for the pg_quorum worker.",
						   PGQ_COMMANDS_MAX),
				 errhint("Try again in a moment.")));
	if (latch != NULL)
		SetLatch(latch);
	PG_RETURN_VOID();
}
