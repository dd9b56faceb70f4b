/*-------------------------------------------------------------------------
 *
 * slots.c
 *	  Physical replication slots, one per member, kept on the leader so that
 *	  it keeps exactly the WAL each standby still needs.
 *
 * Without slots a standby keeps up only as long as wal_keep_size covers
 * its lag.  As Patroni and pg_auto_failover do, the leader holds a physical
 * slot for every database member it knows (other than itself and
 * witnesses), named pgq_<member> (pgq_slots_name()), and every standby streams
 * through its own with primary_slot_name.  Level-triggered, like the rest
 * of the reconciler:
 *
 *	leader     creates the missing slots, reserving WAL from now, before the
 *	           fence opens in a new term (the reconciler calls this first),
 *	           so that a standby that follows a new leader finds its slot;
 *	           drops the pgq_ slots of members that are no longer in the
 *	           member table (forgotten or reaped);
 *	standby    sets primary_slot_name to its own slot, and drops any pgq_
 *	           slot of its own left from a time it led (nothing streams from
 *	           it, and an unused slot would hold WAL back for ever).
 *
 * Slots that do not start with pgq_ are the operator's and never touched.
 * A slot that cannot be created or dropped (max_replication_slots reached,
 * a slot still in use) is a LOG and retried; it never keeps the fence shut,
 * since a slot only saves WAL and safety does not depend on it.
 *
 * pg_quorum.replication_slots = off turns all of this off, for a rolling
 * upgrade from a build that creates no slots: a standby that names a slot
 * the old leader never creates would not stream at all.  Off, nothing is
 * created or dropped (slots already there stay, for the operator), and
 * primary_slot_name is removed when it is the one pg_quorum sets, so the
 * standby streams without a slot.
 *
 * Only the worker calls this, between libquorum steps; nothing here throws
 * (slot functions that ereport(ERROR) run under PG_TRY and become LOG).
 *
 * extension/slots.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

/* replication slots and the settings that govern them */
#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "miscadmin.h"
#include "replication/slot.h"
#include "storage/lwlock.h"
#include "utils/memutils.h"

#include "quorum/quorum.h"

#include "actions.h"
#include "guc.h"
#include "pg_compat.h"
#include "slots.h"

/* Between two passes over the slots while nothing changed, ms. */
#define SLOTS_INTERVAL_MS 1000
#define SLOTS_PREFIX "pgq_"

typedef struct SlotsState
{
	uint64		term;			/* leader: the term of the last pass */
	bool		leading;		/* the leader, running as the primary */
	quorum_time_ms next_ms;
	bool		no_slots_logged;
} SlotsState;

static SlotsState sst;

/*
 * The slot of member name: pgq_ plus the name in lower case with every
 * character a slot name cannot hold replaced by '_'; when that changed the
 * name or it would be too long, a hash of the exact name is appended, so
 * that two members never share a slot.
 */
void
pgq_slots_name(const char *member, char *out)
{
	size_t		len = strlen(member);
	bool		exact = len <= NAMEDATALEN - 1 - strlen(SLOTS_PREFIX);
	size_t		keep = Min(len, NAMEDATALEN - 1 - strlen(SLOTS_PREFIX) - 9);
	char	   *p = out + strlen(SLOTS_PREFIX);

	strcpy(out, SLOTS_PREFIX);
	for (size_t i = 0; i < len && i < NAMEDATALEN - 1 - strlen(SLOTS_PREFIX); i++)
	{
		char		c = member[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')
			p[i] = c;
		else if (c >= 'A' && c <= 'Z')
		{
			p[i] = c - 'A' + 'a';
			exact = false;		/* "Node1" and "node1" need two slots */
		}
		else
		{
			p[i] = '_';
			exact = false;
		}
	}
	p[Min(len, NAMEDATALEN - 1 - strlen(SLOTS_PREFIX))] = '\0';
	if (!exact)
	{
		uint32		h = 2166136261u;	/* FNV-1a */

		for (size_t i = 0; i < len; i++)
			h = (h ^ (unsigned char) member[i]) * 16777619u;
		snprintf(p + keep, NAMEDATALEN - strlen(SLOTS_PREFIX) - keep, "_%08x", h);
	}
}

static void
slots_create_one(const char *name)
{
	/* What pg_create_physical_replication_slot(name, true) does. */
	PGQ_SLOT_CREATE_PHYSICAL(name);
	ReplicationSlotReserveWal();
	ReplicationSlotMarkDirty();
	ReplicationSlotSave();
	ReplicationSlotRelease();
}

static void
slots_drop_one(const char *name)
{
	ReplicationSlotDrop(name, true);
}

/*
 * Run fn(name), slots_create_one() or slots_drop_one(), and turn an ERROR
 * into a LOG with the slot function's message as detail; false if it failed.
 */
static bool
slots_try(void (*fn) (const char *), const char *name)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool ok = true;

	PG_TRY();
	{
		fn(name);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		LWLockReleaseAll();
		if (MyReplicationSlot != NULL)
			ReplicationSlotRelease();
		ereport(LOG,
				(errmsg(fn == slots_create_one ?
						"pg_quorum could not create replication slot \"%s\"" :
						"pg_quorum could not drop replication slot \"%s\"", name),
				 errdetail("PostgreSQL reported: %s.", edata->message),
				 edata->hint != NULL ? errhint("%s", edata->hint) : 0));
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/*
 * The pgq_ physical slots on this server, at most max, with whether a
 * WAL sender uses each.
 */
static int
slots_list(char (*names)[NAMEDATALEN], bool *active, int max)
{
	int			n = 0;

	LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
	for (int i = 0; i < max_replication_slots && n < max; i++)
	{
		ReplicationSlot *s = &ReplicationSlotCtl->replication_slots[i];

		if (!s->in_use || s->data.database != InvalidOid ||
			strncmp(NameStr(s->data.name), SLOTS_PREFIX, strlen(SLOTS_PREFIX)) != 0)
			continue;
		strlcpy(names[n], NameStr(s->data.name), NAMEDATALEN);
		active[n++] = s->active_pid != 0;
	}
	LWLockRelease(ReplicationSlotControlLock);
	return n;
}

/* The slots the leader should hold: one per database member but itself. */
static int
slots_wanted(const quorum_node *node, char (*wanted)[NAMEDATALEN], int max)
{
	size_t		count = quorum_node_member_count(node);
	int			n = 0;

	for (size_t i = 0; i < count && n < max; i++)
	{
		struct quorum_member_info m;

		/* Metadata says whether it is a witness; it follows within a round. */
		if (quorum_node_member_get(node, i, &m) != 0 || m.is_self ||
			!m.has_meta || m.meta.role == QUORUM_ROLE_WITNESS)
			continue;
		pgq_slots_name(m.name, wanted[n++]);
	}
	return n;
}

static bool
slots_contains(char (*names)[NAMEDATALEN], int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

static void
slots_leader_pass(const quorum_node *node)
{
	char		(*have)[NAMEDATALEN] = palloc(sizeof(*have) * max_replication_slots);
	bool	   *active = palloc(sizeof(bool) * max_replication_slots);
	char		(*wanted)[NAMEDATALEN] = palloc(sizeof(*wanted) * pgq_members_max);
	int			n_have = slots_list(have, active, max_replication_slots);
	int			n_wanted = slots_wanted(node, wanted, pgq_members_max);

	for (int w = 0; w < n_wanted; w++)
	{
		if (!slots_contains(have, n_have, wanted[w]) &&
			slots_try(slots_create_one, wanted[w]))
			ereport(LOG,
					(errmsg("pg_quorum created replication slot \"%s\"", wanted[w])));
	}
	for (int h = 0; h < n_have; h++)
	{
		if (!slots_contains(wanted, n_wanted, have[h]) &&
			slots_try(slots_drop_one, have[h]))
			ereport(LOG,
					(errmsg("pg_quorum dropped replication slot \"%s\": its member is gone",
							have[h])));
	}
	pfree(have);
	pfree(active);
	pfree(wanted);
}

static void
slots_standby_pass(const char *self)
{
	char		mine[NAMEDATALEN];
	char		(*have)[NAMEDATALEN] = palloc(sizeof(*have) * max_replication_slots);
	bool	   *active = palloc(sizeof(bool) * max_replication_slots);
	int			n_have = slots_list(have, active, max_replication_slots);
	bool		changed;

	pgq_slots_name(self, mine);
	if (PrimarySlotName == NULL || strcmp(PrimarySlotName, mine) != 0)
	{
		if (pgq_action_set_setting("primary_slot_name", mine, &changed) && changed)
			ereport(LOG,
					(errmsg("pg_quorum set primary_slot_name to \"%s\"", mine)));
	}
	for (int h = 0; h < n_have; h++)
	{
		if (!active[h] && slots_try(slots_drop_one, have[h]))
			ereport(LOG,
					(errmsg("pg_quorum dropped replication slot \"%s\": this server is a standby",
							have[h])));
	}
	pfree(have);
	pfree(active);
}

/* Off: take back the primary_slot_name slots_standby_pass() set. */
static void
slots_off_pass(const char *self)
{
	char		mine[NAMEDATALEN];
	bool		changed;

	pgq_slots_name(self, mine);
	if (PrimarySlotName != NULL && strcmp(PrimarySlotName, mine) == 0 &&
		pgq_action_set_setting("primary_slot_name", NULL, &changed) && changed)
		ereport(LOG,
				(errmsg("pg_quorum removed primary_slot_name \"%s\": pg_quorum.replication_slots is off",
						mine)));
}

void
pgq_slots_reconcile(const quorum_node *node, const char *self, bool leader,
					bool in_recovery, uint64 term, quorum_time_ms now)
{
	/* A leader still promoting is handled as a standby until it is not. */
	bool		leading = leader && !in_recovery;

	if (leading == sst.leading && (!leading || term == sst.term) &&
		now < sst.next_ms)
		return;
	sst.leading = leading;
	sst.term = term;
	sst.next_ms = now + SLOTS_INTERVAL_MS;

	/* Whatever the role: a primary's setting matters once it is a standby. */
	if (!pgq_replication_slots)
	{
		slots_off_pass(self);
		return;
	}
	if (max_replication_slots == 0)
	{
		if (!sst.no_slots_logged)
			ereport(LOG,
					(errmsg("pg_quorum cannot manage replication slots: max_replication_slots is 0"),
					 errhint("Set max_replication_slots to at least the number of members.")));
		sst.no_slots_logged = true;
		return;
	}
	/*
	 * A primary restarting after a crash is in recovery too, but it is no
	 * standby: its slots stay for the standbys that will stream from it.
	 */
	if (leading)
		slots_leader_pass(node);
	else if (in_recovery && GetRecoveryState() == RECOVERY_STATE_ARCHIVE)
		slots_standby_pass(self);
}
