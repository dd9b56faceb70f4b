/*-------------------------------------------------------------------------
 *
 * sqlapi.c
 *	  SQL-callable functions behind the quorum.* views.
 *
 * Backends never run protocol code.  The set-returning functions copy the
 * worker's snapshot out of shared memory under LW_SHARED and build their
 * rows after releasing the lock.  The functions that ask the worker to act
 * (quorum.join(), quorum.failover() and the others) are in commands.c.
 *
 * The text values of the state and role columns are libquorum's display
 * names, through snapshot.h, so that quorum.nodes, /cluster and quorum.dot()
 * spell them alike; the event names are the extension's own (its events
 * are not libquorum's).
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

/* the events ring is read under the lock here */
#include "storage/lwlock.h"

#include "quorum/quorum.h"

#include "fence.h"
#include "guc.h"
#include "pg_compat.h"
#include "shmem.h"
#include "snapshot.h"
#include "sqlapi.h"

PG_FUNCTION_INFO_V1(pgq_nodes);
PG_FUNCTION_INFO_V1(pgq_status);
PG_FUNCTION_INFO_V1(pgq_events);
PG_FUNCTION_INFO_V1(pgq_health);

#define NODES_COLS 17
#define STATUS_COLS 17
#define EVENTS_COLS 6
#define HEALTH_COLS 13

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
		case PGQ_EV_DIVERGED:
			return "diverged";
	}
	return "unknown";
}

/* quorum.nodes_internal(): one row per member, this node included. */
Datum
pgq_nodes(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PgqSnapshot snap;

	InitMaterializedSRF(fcinfo, 0);
	pgq_snapshot_take(&snap, true);

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
		values[c++] = CStringGetTextDatum(pgq_state_sql_name(m->state));
		values[c++] = Int64GetDatum((int64) m->incarnation);
		values[c++] = CStringGetTextDatum(pgq_member_role_name(m));
		values[c++] = BoolGetDatum(m->is_self);
		values[c] = BoolGetDatum(m->is_leader);
		nulls[c++] = !snap.elections_enabled;
		values[c] = BoolGetDatum(m->voter);
		nulls[c++] = !snap.elections_enabled;
		if (m->has_meta)
		{
			values[c++] = Int32GetDatum((int32) m->timeline);
			values[c++] = LSNGetDatum((XLogRecPtr) m->lsn);
			if (pgq_snapshot_lag(&snap, m, &lag))
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
	PgqSnapshot snap;
	Datum		values[STATUS_COLS];
	bool		nulls[STATUS_COLS];
	int			c = 0;

	InitMaterializedSRF(fcinfo, 0);
	pgq_snapshot_take(&snap, false);
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
	values[c++] = CStringGetTextDatum(pgq_mode_name(pgq_elections_enabled && snap.worker_running ?
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
	pgq_require_shmem();
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
	PgqSnapshot snap;
	Datum		values[HEALTH_COLS];
	bool		nulls[HEALTH_COLS];

	InitMaterializedSRF(fcinfo, 0);
	pgq_snapshot_take(&snap, true);
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
