/*-------------------------------------------------------------------------
 *
 * reconcile.c
 *	  The reconciler: after every step of the node, bring this server in
 *	  line with what libquorum's election decided.
 *
 * The node decides who leads and whether this server holds the write lease;
 * this file only carries that out, level-triggered (it compares the wanted
 * state with the current one on every pass, so a missed signal or a failed
 * attempt is simply retried):
 *
 *	fence     publish the lease's end in shared memory, or 0, for the commit
 *	          fence; writes are allowed only on the leader with the lease,
 *	          running as the primary, outside a switchover, and on a timeline
 *	          no member has gone past, nor, unheard from, may have (see
 *	          below);
 *	promote   the leader with the lease that is still a standby promotes
 *	          itself (actions.c), once per term, retried if it is slow;
 *	follow    a standby points primary_conninfo at the leader's conninfo;
 *	          one whose replay went past the point where the leader's
 *	          timeline forked off its own can never follow, and with
 *	          pg_quorum.stop_diverged_standby it shuts its server down so
 *	          that pg_quorum_rejoin rewinds it;
 *	deposed   a primary that learns of another leader records it and, with
 *	          pg_quorum.stop_deposed_primary, shuts its server down, after
 *	          letting a quorum.failover() that waits on it see the result;
 *	sync      the leader keeps synchronous_standby_names at a quorum of the
 *	          healthy standbys, and degrades only with failover paused
 *	          (reconcile_sync()); a standby keeps the strict list its
 *	          promotion sets ready (reconcile_ready_names()).
 *
 * Two safety details.  A switchover hands leadership over with TIMEOUT_NOW,
 * which lets the target be elected at once, and libquorum gives the lease up
 * in the same step; but the runtime sends a step's datagrams before the
 * worker can publish anything, so a write could commit here in that gap.
 * The leader appends the SWITCHOVER decision (and has the runtime persist
 * it) at least one round trip before it can commit and act on it, so the
 * persist callback, which runs before any send, fences this server as soon
 * as such a decision of its own term appears, until leadership moved on or
 * the hand-over had time to fail.  Second, libquorum ranks candidates by
 * timeline first: a primary whose timeline another member has gone past
 * (someone promoted while this server was cut off) must not write on, even
 * if it is elected again, because that member would outrank the writes
 * made here.  It stays fenced, says so in the log, and hands the
 * leadership to that member once it is alive; that member, a primary
 * deposed by it, keeps running for it instead of stopping, and
 * pg_quorum_rejoin does not rewind a server onto an older timeline.  Nor
 * does such a primary write while a server that led a later term, which
 * may have been promoted, has not been heard from since
 * (reconcile_unchecked_leader()).
 *
 * Its name keeps it apart from the two other meanings of "failover": the
 * setting pg_quorum.failover (pgq_elections_enabled, whether this server
 * takes part at all) and the planned switchover quorum.failover()
 * (commands.c).
 *
 * extension/reconcile.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

/* this server's recovery state and timeline */
#include "access/xlog.h"
#include "miscadmin.h"

/* the fence's lease and the switchover waiters */
#include "port/atomics.h"
#include "storage/lwlock.h"

#include "quorum/quorum.h"

#include "actions.h"
#include "fence.h"
#include "guc.h"
#include "pg_compat.h"
#include "routing.h"
#include "reconcile.h"
#include "shmem.h"
#include "slots.h"
#include "state.h"

/* Between two promote requests in one term, ms. */
#define RECONCILE_PROMOTE_RETRY_MS 5000
/* Between two recomputations of synchronous_standby_names, ms. */
#define RECONCILE_SYNC_INTERVAL_MS 250
/* A deposed primary lets a waiting quorum.failover() see the new primary
 * for this long before it stops, ms ... */
#define RECONCILE_STOP_GRACE_MS 500
/* ... but never waits longer than this for that, ms. */
#define RECONCILE_STOP_WAIT_MAX_MS 10000
/* Added to libquorum's hand-over window (2 longest election timeouts). */
#define RECONCILE_HOLD_EXTRA_MS 1000
/* Between two automatic pause or resume requests, ms. */
#define RECONCILE_AUTO_CMD_MS 1000
/* How long a removed member may still be seen alive before it is kept, ms. */
#define RECONCILE_FORGET_RETRY_MS 30000
/* Between two looks at whether this standby replayed past the leader's fork, ms. */
#define RECONCILE_FORK_CHECK_MS 1000
/* Time the backends get to reload synchronous_standby_names, ms. */
#define RECONCILE_RELOAD_MS 200

typedef struct ReconcileState
{
	char		self[QUORUM_NAME_MAX + 1];
	PgqRecordFn record;
	PgqCommandFn command;
	quorum_time_ms hand_over_ms;	/* libquorum's transfer window */

	/* switchover hold (see the header comment) */
	uint64		hold_term;
	quorum_time_ms hold_until_ms;	/* 0 = no hold */
	uint64		switchover_index_seen;

	/* a switchover of the current term was committed */
	uint64		transfer_term;
	quorum_time_ms transfer_until_ms;

	bool		was_in_recovery;
	uint64		promote_term;
	quorum_time_ms promote_retry_ms;

	char		followed_leader[QUORUM_NAME_MAX + 1];
	char		followed_conninfo[QUORUM_CONNINFO_MAX + 1];

	quorum_time_ms next_fork_check_ms;
	uint64		diverged_logged_term;

	uint64		deposed_term;
	quorum_time_ms deposed_since_ms;
	quorum_time_ms leader_primary_since_ms;
	bool		deposed_waiters;	/* a quorum.failover() here waited */
	bool		stop_requested;
	uint64		awaits_logged_term;

	uint64		stale_logged_term;
	/* The last timeline each member gossiped (reconcile_member_timeline()). */
	int			n_timelines;
	struct
	{
		char		name[QUORUM_NAME_MAX + 1];
		uint32		tli;
	}			timelines[64];
	quorum_time_ms stale_transfer_ms;	/* next hand-over attempt */

	/* pg_quorum.led: the newest term this server wrote in, on led_timeline */
	uint32		led_timeline;
	uint64		led_term;
	uint64		unchecked_logged_term;

	PgqMode		mode;
	bool		mode_known;		/* mode was computed as leader this term */
	bool		mode_waiting;	/* degraded, and commits still wait */
	uint64		mode_term;
	char		sync_names[PGQ_SYNC_NAMES_MAX];	/* as we last set it */
	quorum_time_ms next_sync_ms;
	quorum_time_ms paused_seen_ms;	/* when this leader saw failover paused */
	quorum_time_ms short_since_ms;	/* since when too few standbys are healthy */
	uint64		sync_ready_term;	/* names set for this term ... */
	quorum_time_ms sync_open_ms;	/* ... and backends reloaded by then */
	bool		auto_paused;	/* this worker paused it, to degrade */
	uint64		restore_lsn;	/* WAL to be on k standbys before resuming */
	quorum_time_ms next_auto_cmd_ms;

	/* Removed voters this server is still to forget (reconcile_forget()). */
	int			n_forget;
	struct
	{
		char		name[QUORUM_NAME_MAX + 1];
		quorum_time_ms until_ms;	/* give up then; 0 = not tried yet */
	}			forget[QUORUM_VOTERS_MAX];
	quorum_time_ms forget_next_ms;	/* next attempt */
} ReconcileState;

static ReconcileState st;

/* What one pass reconciles against, read once at its start. */
typedef struct ReconcilePass
{
	const quorum_node *node;
	struct quorum_election_info info;
	quorum_time_ms now;
	bool		self_leader;
	bool		in_recovery;
	quorum_time_ms lease_until;	/* 0 = no lease */
} ReconcilePass;

/*
 * The voter standbys the leader's synchronous_standby_names names: every
 * voter but this server and witnesses, with the WAL each has flushed here
 * (0 when it is not streaming, or not alive in gossip).
 */
typedef struct ReconcileStandbys
{
	int			n;
	int			n_healthy;		/* flush != 0 */
	char		names[QUORUM_VOTERS_MAX][QUORUM_NAME_MAX + 1];
	uint64		flush[QUORUM_VOTERS_MAX];
} ReconcileStandbys;

void
pgq_reconcile_init(const char *self, PgqRecordFn record, PgqCommandFn command)
{
	memset(&st, 0, sizeof(st));
	strlcpy(st.self, self, sizeof(st.self));
	st.record = record;
	st.command = command;
	st.was_in_recovery = RecoveryInProgress();
	(void) pgq_state_load_led(self, &st.led_timeline, &st.led_term);
	st.hand_over_ms =
		quorum_timing_hand_over_ms(quorum_timing_election_max_ms(pgq_election_timeout_ms));
}

void
pgq_reconcile_persisted(const quorum_node *node,
						const struct quorum_durable *durable,
						quorum_time_ms now)
{
	const struct quorum_election_durable *e = &durable->election;
	struct quorum_election_info info;

	if (quorum_node_election_get(node, &info) != 0 ||
		info.role != QUORUM_ELECTION_LEADER)
		return;
	for (uint32 k = 0; k < e->n_entries && k < QUORUM_LOG_MAX; k++)
	{
		const struct quorum_decision *d = &e->entries[k];
		uint64		index = e->snap.index + 1 + k;

		if (d->type != QUORUM_DECISION_SWITCHOVER || d->term != e->term ||
			index <= st.switchover_index_seen)
			continue;
		st.switchover_index_seen = index;
		/* Only a hand-over to another member gives the lease up. */
		if (strcmp(d->name, st.self) == 0)
			continue;
		pgq_fence_close();
		st.hold_term = e->term;
		st.hold_until_ms = now + st.hand_over_ms + RECONCILE_HOLD_EXTRA_MS;
		if (d->name[0] != '\0')
			ereport(LOG,
					(errmsg("pg_quorum fenced this server for a switchover to \"%s\"",
							d->name)));
		else
			ereport(LOG,
					(errmsg("pg_quorum fenced this server for a switchover to the best standby")));
	}
}

/* A decision the cluster committed: record it, and note what it asks of us. */
static void
reconcile_committed(const quorum_node *node, const struct quorum_event *event)
{
	const struct quorum_decision *d = &event->decision;
	char		detail[64];

	snprintf(detail, sizeof(detail), "decision " UINT64_FORMAT, event->index);
	switch ((enum quorum_decision_type) d->type)
	{
		case QUORUM_DECISION_ADD_VOTER:
			st.record(PGQ_EV_VOTER_ADDED, d->name, d->term, detail);
			break;
		case QUORUM_DECISION_REMOVE_VOTER:
			st.record(PGQ_EV_VOTER_REMOVED, d->name, d->term, detail);
			if (strcmp(d->name, st.self) != 0 && st.n_forget < QUORUM_VOTERS_MAX)
			{
				st.forget[st.n_forget].until_ms = 0;
				strlcpy(st.forget[st.n_forget++].name, d->name, QUORUM_NAME_MAX + 1);
			}
			break;
		case QUORUM_DECISION_PAUSE:
			st.record(PGQ_EV_PAUSED, "", d->term, detail);
			ereport(LOG, (errmsg("pg_quorum: automatic failover is paused")));
			break;
		case QUORUM_DECISION_RESUME:
			st.record(PGQ_EV_RESUMED, "", d->term, detail);
			ereport(LOG, (errmsg("pg_quorum: automatic failover is resumed")));
			break;
		case QUORUM_DECISION_SWITCHOVER:
			st.record(PGQ_EV_SWITCHOVER, d->name, d->term, detail);
			if (d->term == quorum_node_term(node))
			{
				st.transfer_term = d->term;
				st.transfer_until_ms = event->at_ms + st.hand_over_ms +
					RECONCILE_HOLD_EXTRA_MS;
			}
			break;
		case QUORUM_DECISION_NOOP:
			break;
	}
}

void
pgq_reconcile_event(const quorum_node *node, const struct quorum_event *event)
{
	switch (event->type)
	{
		case QUORUM_EV_LEADER_CHANGED:
			st.record(PGQ_EV_LEADER, event->member, event->term, NULL);
			if (event->member[0] != '\0')
				ereport(LOG,
						(errmsg("pg_quorum: \"%s\" is the leader in term " UINT64_FORMAT,
								event->member, event->term)));
			else
				ereport(LOG,
						(errmsg("pg_quorum: no leader in term " UINT64_FORMAT,
								event->term)));
			break;
		case QUORUM_EV_LEASE_GAINED:
			st.record(PGQ_EV_LEASE_GAINED, event->member, event->term, NULL);
			break;
		case QUORUM_EV_LEASE_LOST:
			st.record(PGQ_EV_LEASE_LOST, event->member, event->term, NULL);
			break;
		case QUORUM_EV_DECISION_COMMITTED:
			reconcile_committed(node, event);
			break;
		default:
			break;
	}
}

/* ---------------------------------------------------------------------
 * fence
 * ---------------------------------------------------------------------
 */

/*
 * The timeline a member is on: the one it gossips, or, while it gossips
 * none (it is in crash recovery, or still starting, and says role unknown
 * and timeline 0; or its metadata did not fit), the last one it gossiped.
 * A member killed on a newer timeline and started again must not look
 * older to a stale leader for the second its recovery takes (seed 218).
 */
static uint32
reconcile_member_timeline(const struct quorum_member_info *m)
{
	int			i;

	for (i = 0; i < st.n_timelines; i++)
		if (strcmp(st.timelines[i].name, m->name) == 0)
			break;
	if (m->has_meta && m->meta.role != QUORUM_ROLE_UNKNOWN)
	{
		if (i == st.n_timelines && i < (int) lengthof(st.timelines))
			strlcpy(st.timelines[st.n_timelines++].name, m->name, QUORUM_NAME_MAX + 1);
		if (i < st.n_timelines)
			st.timelines[i].tli = m->meta.timeline;
		return m->meta.timeline;
	}
	return i < st.n_timelines ? st.timelines[i].tli : 0;
}

/*
 * The newest timeline another member is on (0 if none is known); *who
 * names a member on it.  A dead member's counts until it is reaped, unless
 * only alive voters that may lead are asked for (a hand-over's target).
 */
static uint32
reconcile_newest_timeline(const quorum_node *node, bool may_lead_only, char *who)
{
	size_t		count = quorum_node_member_count(node);
	uint32		newest = 0;

	for (size_t i = 0; i < count; i++)
	{
		struct quorum_member_info m;
		uint32		tli;

		if (quorum_node_member_get(node, i, &m) != 0 || m.is_self)
			continue;
		tli = reconcile_member_timeline(&m);
		if (may_lead_only &&
			(!m.has_meta || m.state != QUORUM_MEMBER_ALIVE ||
			 !quorum_node_is_voter(node, m.name) ||
			 !quorum_member_may_lead(m.meta.role, m.meta.priority)))
			continue;
		if (tli > newest)
		{
			strlcpy(who, m.name, QUORUM_NAME_MAX + 1);
			newest = tli;
		}
	}
	return newest;
}

/*
 * A stale leader hands the leadership to an alive voter on a timeline past
 * its own, as quorum.failover() would: libquorum ranks that member's WAL
 * above every other, so an election without this server would pick it
 * anyway, and it writes on where its timeline left off.  Without this, the
 * cluster stays unwritable until an operator acts, and pg_quorum_rejoin on
 * that member (which would rewind it onto this older timeline, dropping
 * the writes it acknowledged there) no longer does so (seed 218).
 */
static void
reconcile_hand_over_stale(const ReconcilePass *p, TimeLineID mine)
{
	char		who[QUORUM_NAME_MAX + 1];
	uint32		tli = reconcile_newest_timeline(p->node, true, who);

	if (tli <= mine || p->now < st.stale_transfer_ms)
		return;
	st.stale_transfer_ms = p->now + st.hand_over_ms + RECONCILE_HOLD_EXTRA_MS;
	ereport(LOG,
			(errmsg("pg_quorum leader \"%s\" hands the leadership to \"%s\", which is on timeline %u, past this primary's timeline %u",
					st.self, who, tli, mine)));
	(void) st.command(QUORUM_CMD_TRANSFER, who);
}

/*
 * Whether this leader's primary runs on a timeline some member has gone
 * past (see the header comment); warns once per term, and hands over to
 * such a member while it is alive.
 */
static bool
reconcile_stale(const ReconcilePass *p, TimeLineID mine)
{
	char		who[QUORUM_NAME_MAX + 1];
	uint32		tli = reconcile_newest_timeline(p->node, false, who);

	if (tli <= mine)
		return false;
	if (st.stale_logged_term != p->info.term)
	{
		st.stale_logged_term = p->info.term;
		ereport(WARNING,
				(errmsg("pg_quorum leader \"%s\" stays fenced: member \"%s\" is on timeline %u, past this primary's timeline %u",
						st.self, who, tli, mine),
				 errdetail("Another server was promoted while this one was cut off; writing on here could be outranked and lost."),
				 errhint("It hands the leadership to \"%s\" once that server runs again; pg_quorum_rejoin leaves it on its timeline.",
						 who)));
	}
	reconcile_hand_over_stale(p, mine);
	return true;
}

/*
 * Whether a member this leader must hear from before it writes is cleared:
 * no voter any more (quorum.forget() gave up whatever it wrote), a
 * witness, or alive and gossiping a timeline no newer than this primary's
 * (a newer one is reconcile_stale()'s to handle).
 */
static bool
reconcile_member_cleared(const quorum_node *node, const char *name, TimeLineID mine)
{
	struct quorum_member_info m;

	if (!quorum_node_is_voter(node, name))
		return true;
	if (quorum_node_member_find(node, name, &m) != 0 || !m.has_meta)
		return false;
	if (m.meta.role == QUORUM_ROLE_WITNESS)
		return true;
	return m.state == QUORUM_MEMBER_ALIVE && m.meta.role != QUORUM_ROLE_UNKNOWN &&
		m.meta.timeline <= mine;
}

/*
 * Whether this leader, running as the primary, must stay fenced because
 * another server led a term after the last one this server wrote in on
 * its timeline, and has not been heard from since (*who names it).
 *
 * The rule of reconcile_stale() works only once gossip told this server of
 * the newer timeline.  A primary restarted without pg_quorum_rejoin
 * (which reached no peer) may be elected again before that: gossip from
 * the member that was promoted is cut, and the others may have passed on
 * only what it said before its promotion.  It then acknowledged writes on
 * the old timeline after the new one's (the fault campaign's seed 238).
 * The decision log closes that gap without gossip: every leader that held
 * a lease had its NOOP on a majority, so this leader's own log names it.
 * Such a leader may have promoted and written on a timeline this server
 * does not hold; until it gossips its timeline again (or is forgotten)
 * this server does not write.  A leader that promoted in this very term
 * is on a new timeline past every earlier term's, so it has nothing to
 * check; pg_quorum.led carries the newest term this server wrote in across
 * restarts, so that only the terms after it count.  Where the log was
 * compacted past that term, every voter must be heard from.
 */
static bool
reconcile_unchecked_leader(const ReconcilePass *p, TimeLineID mine, char *who)
{
	struct quorum_term_leader leaders[QUORUM_LOG_MAX];
	uint64		after = st.led_timeline == mine ? st.led_term : 0;
	bool		complete;
	size_t		n;

	if (st.promote_term == p->info.term || after >= p->info.term)
		return false;
	n = quorum_node_log_leaders(p->node, after, leaders, lengthof(leaders), &complete);
	for (size_t i = 0; i < n && i < lengthof(leaders); i++)
	{
		if (strcmp(leaders[i].name, st.self) == 0 ||
			reconcile_member_cleared(p->node, leaders[i].name, mine))
			continue;
		strlcpy(who, leaders[i].name, QUORUM_NAME_MAX + 1);
		return true;
	}
	if (complete)
		return false;
	for (int i = 0; i < p->info.n_voters; i++)
	{
		if (strcmp(p->info.voters[i], st.self) == 0 ||
			reconcile_member_cleared(p->node, p->info.voters[i], mine))
			continue;
		strlcpy(who, p->info.voters[i], QUORUM_NAME_MAX + 1);
		return true;
	}
	return false;
}

/* reconcile_unchecked_leader(), said once per term. */
static bool
reconcile_unchecked(const ReconcilePass *p, TimeLineID mine)
{
	char		who[QUORUM_NAME_MAX + 1];

	if (!reconcile_unchecked_leader(p, mine, who))
		return false;
	if (st.unchecked_logged_term != p->info.term)
	{
		st.unchecked_logged_term = p->info.term;
		ereport(WARNING,
				(errmsg("pg_quorum leader \"%s\" stays fenced until it hears from \"%s\", which led a term after this primary last wrote on timeline %u",
						st.self, who, mine),
				 errdetail("\"%s\" may have been promoted and have acknowledged writes on a newer timeline that this server does not hold.",
						   who),
				 errhint("It writes once \"%s\" gossips a timeline no newer than this one, and hands the leadership over if it is on a newer one; quorum.forget('%s') gives up whatever it wrote.",
						 who, who)));
	}
	return true;
}

/*
 * Publish the lease's end, or 0: the only thing backends read.  Returns
 * whether this server may write.
 */
static bool
reconcile_fence(const ReconcilePass *p)
{
	/* The timeline this primary writes on; 0 where it writes on none. */
	TimeLineID	mine = p->self_leader && !p->in_recovery ? GetWALInsertionTimeLine() : 0;
	bool		stale = mine != 0 &&
		(reconcile_stale(p, mine) || reconcile_unchecked(p, mine));
	bool		may_write;

	may_write = pgq_elections_enabled && p->self_leader && p->lease_until != 0 &&
		!p->in_recovery && st.hold_until_ms == 0 && !stale &&
		(!pgq_synchronous ||
		 (st.sync_ready_term == p->info.term && p->now >= st.sync_open_ms));
	pg_atomic_write_u64(&pgq_shared->lease_until_ms, may_write ? p->lease_until : 0);
	/* After the fence opened: a slow fsync here delays no write. */
	if (may_write && (st.led_timeline != mine || st.led_term < p->info.term))
	{
		st.led_timeline = mine;
		st.led_term = p->info.term;
		(void) pgq_state_save_led(st.self, mine, p->info.term);
	}
	return may_write;
}

/* The switchover hold and the switchover flag end with their term. */
static void
reconcile_expire_switchover(const ReconcilePass *p)
{
	if (st.hold_until_ms != 0 &&
		(!p->self_leader || p->info.term != st.hold_term || p->now >= st.hold_until_ms))
		st.hold_until_ms = 0;
	if (st.transfer_until_ms != 0 &&
		(p->info.term != st.transfer_term || p->now >= st.transfer_until_ms))
		st.transfer_until_ms = 0;
}

/* ---------------------------------------------------------------------
 * promote, follow, deposed
 * ---------------------------------------------------------------------
 */

static void reconcile_strict_names(const ReconcilePass *p);

/* The leader with the lease, while still a standby, promotes itself. */
static void
reconcile_promote(const ReconcilePass *p)
{
	if (p->lease_until == 0 ||
		(st.promote_term == p->info.term && p->now < st.promote_retry_ms))
		return;
	/* Failover is paused: a degraded leader may have committed alone. */
	if (p->info.promotion_paused)
	{
		static uint64 logged_term = 0;

		if (logged_term != p->info.term)
			ereport(LOG,
					(errmsg("pg_quorum does not promote this standby: it leads term " UINT64_FORMAT " but failover is paused",
							p->info.term),
					 errdetail("The leader before it may have acknowledged commits that no standby holds."),
					 errhint("Run quorum.resume() once the old primary's commits are known to be on this server, or accepted as lost.")));
		logged_term = p->info.term;
		return;
	}
	if (st.promote_term != p->info.term)
	{
		st.record(PGQ_EV_PROMOTED, st.self, p->info.term, NULL);
		ereport(LOG,
				(errmsg("pg_quorum is promoting this standby: it leads term " UINT64_FORMAT " and holds the lease",
						p->info.term)));
	}

	/*
	 * In synchronous mode the first commit after promotion must already
	 * wait for k standbys: set the strict list before the promotion, so
	 * that no backend runs a write before reloading.
	 */
	if (pgq_synchronous)
	{
		reconcile_strict_names(p);
		st.sync_ready_term = p->info.term;
		st.sync_open_ms = p->now;
	}
	/* The new timeline's ID is the term's, and no member's used one. */
	{
		char		who[QUORUM_NAME_MAX + 1] = "";
		uint32		taken = reconcile_newest_timeline(p->node, false, who);

		pgq_action_skip_timelines(p->info.term, taken, who);
	}
	(void) pgq_action_promote();
	st.promote_term = p->info.term;
	st.promote_retry_ms = p->now + RECONCILE_PROMOTE_RETRY_MS;
}

/* A standby replicates from the leader's conninfo. */
static void
reconcile_follow(const ReconcilePass *p)
{
	const char *leader = p->info.leader;
	struct quorum_member_info m;
	bool		changed;

	if (quorum_node_member_find(p->node, leader, &m) != 0 || !m.has_meta ||
		m.meta.conninfo[0] == '\0')
		return;
	if (strcmp(st.followed_leader, leader) == 0 &&
		strcmp(st.followed_conninfo, m.meta.conninfo) == 0)
		return;
	if (!pgq_action_follow(m.meta.conninfo, st.self, &changed))
		return;
	strlcpy(st.followed_leader, leader, sizeof(st.followed_leader));
	strlcpy(st.followed_conninfo, m.meta.conninfo, sizeof(st.followed_conninfo));
	if (changed)
	{
		st.record(PGQ_EV_FOLLOWING, leader, p->info.term, m.meta.conninfo);
		ereport(LOG,
				(errmsg("pg_quorum: this standby now replicates from the leader \"%s\"",
						leader),
				 errdetail("primary_conninfo is \"%s\" plus this node's application_name.",
						   m.meta.conninfo)));
	}
}

/*
 * A standby that replayed past the point where the leader's timeline forks
 * off its own cannot follow it (actions.c): PostgreSQL retries for ever.
 * Shut it down (fast: it writes no WAL) so that the service manager's
 * pg_quorum_rejoin rewinds it, or say in the log that it needs that.
 */
static void
reconcile_diverged(const ReconcilePass *p)
{
	struct quorum_member_info m;
	PgqReplayFork fork;

	if (p->now < st.next_fork_check_ms || st.stop_requested)
		return;
	st.next_fork_check_ms = p->now + RECONCILE_FORK_CHECK_MS;
	if (quorum_node_member_find(p->node, p->info.leader, &m) != 0 || !m.has_meta ||
		!pgq_action_replay_forked(m.meta.timeline, &fork))
		return;
	/* Left up (the setting is off), it says so once per term, not every check. */
	if (st.diverged_logged_term == p->info.term)
		return;
	st.diverged_logged_term = p->info.term;
	ereport(LOG,
			(errmsg("pg_quorum: this standby cannot follow the leader \"%s\": it replayed timeline %u up to %X/%X, past the point where the leader's timeline %u forks off it",
					p->info.leader, fork.tli, LSN_FORMAT_ARGS(fork.replayed),
					m.meta.timeline),
			 fork.fork != 0 ?
			 errdetail("The leader's timeline forks off timeline %u at %X/%X.",
					   fork.tli, LSN_FORMAT_ARGS(fork.fork)) :
			 errdetail("Timeline %u is not in the leader's history.", fork.tli),
			 pgq_stop_diverged_standby ?
			 errhint("It shuts down now; pg_quorum_rejoin rewinds it before it starts again.") :
			 errhint("Stop it and run pg_quorum_rejoin, which rewinds it.")));
	if (!pgq_stop_diverged_standby)
		return;
	st.record(PGQ_EV_DIVERGED, p->info.leader, p->info.term, NULL);
	pgq_action_stop_server(false);
	st.stop_requested = true;
}

/*
 * Whether a deposed primary may stop now.  The grace applies once a
 * quorum.failover() was seen waiting here, even after it stopped waiting:
 * it still has to send its result to its client, which the shutdown would
 * cut off.
 */
static bool
reconcile_may_stop(const ReconcilePass *p)
{
	struct quorum_member_info m;
	int			waiters;
	bool		leader_primary;

	leader_primary = quorum_node_member_find(p->node, p->info.leader, &m) == 0 &&
		m.has_meta && m.meta.role == QUORUM_ROLE_PRIMARY;
	if (leader_primary && st.leader_primary_since_ms == 0)
		st.leader_primary_since_ms = p->now;
	LWLockAcquire(pgq_shared->lock, LW_SHARED);
	waiters = pgq_shared->switchover_waiters;
	LWLockRelease(pgq_shared->lock);
	st.deposed_waiters |= waiters > 0;

	return (waiters == 0 && !st.deposed_waiters) ||
		(leader_primary && p->now >= st.leader_primary_since_ms + RECONCILE_STOP_GRACE_MS) ||
		p->now >= st.deposed_since_ms + RECONCILE_STOP_WAIT_MAX_MS;
}

/*
 * Whether this primary, deposed, is on a timeline past the leader's: then
 * that leader stays fenced and hands the leadership here
 * (reconcile_hand_over_stale()), and stopping would only leave the cluster
 * without a writable server, and pg_quorum_rejoin could not help.  A leader
 * whose metadata is not known yet is not waited for.
 */
static bool
reconcile_awaits_hand_over(const ReconcilePass *p)
{
	struct quorum_member_info m;
	TimeLineID	mine = GetWALInsertionTimeLine();

	if (quorum_node_member_find(p->node, p->info.leader, &m) != 0 || !m.has_meta ||
		m.meta.timeline >= mine || !quorum_node_is_voter(p->node, st.self) ||
		!quorum_member_may_lead(QUORUM_ROLE_PRIMARY, pgq_priority))
		return false;
	if (st.awaits_logged_term != p->info.term)
	{
		st.awaits_logged_term = p->info.term;
		ereport(LOG,
				(errmsg("pg_quorum keeps this deposed primary running: it is on timeline %u, past timeline %u of the leader \"%s\"",
						mine, m.meta.timeline, p->info.leader),
				 errdetail("The leader stays fenced and hands the leadership to this server.")));
	}
	return true;
}

/* A primary that learns of another leader: record it, and maybe stop. */
static void
reconcile_deposed(const ReconcilePass *p)
{
	bool		awaits = reconcile_awaits_hand_over(p);

	if (st.deposed_term != p->info.term)
	{
		st.deposed_term = p->info.term;
		st.deposed_since_ms = p->now;
		st.leader_primary_since_ms = 0;
		st.deposed_waiters = false;
		st.record(PGQ_EV_DEPOSED, p->info.leader, p->info.term, NULL);
		ereport(LOG,
				(errmsg("pg_quorum: this server runs as a primary but \"%s\" is the leader in term " UINT64_FORMAT,
						p->info.leader, p->info.term),
				 errdetail("It is fenced: no write transaction can commit here."),
				 awaits ?
				 errhint("It keeps running while the leader hands the leadership to it.") :
				 pgq_stop_deposed_primary ?
				 errhint("It shuts down now; run pg_quorum_rejoin before starting it again, to make it a standby.") :
				 errhint("Stop it and run pg_quorum_rejoin to make it a standby.")));
	}
	if (!pgq_stop_deposed_primary || st.stop_requested || awaits || !reconcile_may_stop(p))
		return;
	ereport(LOG,
			(errmsg("pg_quorum is shutting down this deposed primary (pg_quorum.stop_deposed_primary is on)")));
	pgq_action_stop_server(true);
	st.stop_requested = true;
}

/* ---------------------------------------------------------------------
 * sync
 * ---------------------------------------------------------------------
 */

static void
reconcile_standbys(const ReconcilePass *p, ReconcileStandbys *s)
{
	char		streaming[QUORUM_VOTERS_MAX * 2][QUORUM_NAME_MAX + 1];
	uint64		streamed[QUORUM_VOTERS_MAX * 2];
	int			n_streaming = pgq_action_streaming_standbys(streaming, streamed,
															lengthof(streaming));

	s->n = 0;
	s->n_healthy = 0;
	for (unsigned v = 0; v < p->info.n_voters && v < QUORUM_VOTERS_MAX; v++)
	{
		const char *voter = p->info.voters[v];
		struct quorum_member_info m;
		bool		known = quorum_node_member_find(p->node, voter, &m) == 0;
		uint64		flush = 0;

		if (strcmp(voter, st.self) == 0 ||
			(known && m.has_meta && m.meta.role == QUORUM_ROLE_WITNESS))
			continue;
		if (known && m.state == QUORUM_MEMBER_ALIVE)
		{
			for (int i = 0; i < n_streaming; i++)
				if (strcmp(streaming[i], voter) == 0)
					flush = Max(flush, streamed[i]);
		}
		strlcpy(s->names[s->n], voter, QUORUM_NAME_MAX + 1);
		s->flush[s->n++] = flush;
		if (flush != 0)
			s->n_healthy++;
	}
}

/* synchronous_standby_names 'ANY k (the healthy standbys)'; false if too long. */
static bool
reconcile_healthy_names(const ReconcileStandbys *s, int k, char *list, size_t len)
{
	char		healthy[QUORUM_VOTERS_MAX][QUORUM_NAME_MAX + 1];
	int			h = 0;

	for (int i = 0; i < s->n; i++)
		if (s->flush[i] != 0)
			strlcpy(healthy[h++], s->names[i], QUORUM_NAME_MAX + 1);
	return pgq_sync_names(k, healthy, h, list, len);
}

/* How many of the standbys have flushed at least lsn. */
static int
reconcile_flushed(const ReconcileStandbys *s, uint64 lsn)
{
	int			count = 0;

	for (int i = 0; i < s->n; i++)
		if (s->flush[i] != 0 && s->flush[i] >= lsn)
			count++;
	return count;
}

/* Set synchronous_standby_names to list and remember it; false on failure. */
static bool
reconcile_set_names(const char *list)
{
	bool		changed;

	if (!pgq_action_set_sync_names(list, &changed))
		return false;
	strlcpy(st.sync_names, list, sizeof(st.sync_names));
	return true;
}

static void
reconcile_set_mode(PgqMode mode, bool waiting, const ReconcilePass *p,
				   const char *names, const char *why)
{
	if (st.mode_known && mode == st.mode && waiting == st.mode_waiting)
		return;
	st.mode_waiting = waiting;
	st.record(mode == PGQ_MODE_DEGRADED ? PGQ_EV_DEGRADED : PGQ_EV_SYNCHRONOUS,
			  st.self, p->info.term, why);
	if (mode == PGQ_MODE_DEGRADED)
		ereport(LOG,
				(errmsg("pg_quorum synchronous mode is degraded"),
				 errdetail("%s; synchronous_standby_names is \"%s\".", why, names)));
	else
		ereport(LOG,
				(errmsg("pg_quorum synchronous mode has a quorum of standbys"),
				 errdetail("synchronous_standby_names is \"%s\".", names)));
	st.mode = mode;
	st.mode_known = true;
}

/*
 * synchronous_standby_names is set for this term: the fence may open once
 * the backends have had time to reload it (they do before their next
 * command), so that no commit of this term is acknowledged without it.
 */
static void
reconcile_sync_ready(const ReconcilePass *p)
{
	if (st.sync_ready_term == p->info.term)
		return;
	st.sync_ready_term = p->info.term;
	st.sync_open_ms = p->now + RECONCILE_RELOAD_MS;
}

/* 'ANY k (every voter standby)': commits wait for k of them. */
static void
reconcile_strict_names(const ReconcilePass *p)
{
	ReconcileStandbys s;
	char		list[PGQ_SYNC_NAMES_MAX];

	reconcile_standbys(p, &s);
	if (pgq_sync_names(pgq_sync_quorum(p->info.n_voters), s.names, s.n,
					   list, sizeof(list)))
		(void) reconcile_set_names(list);
}

/*
 * A standby keeps the strict list its promotion needs set already: it has
 * no effect on a standby, and then the promotion does not wait for
 * postgresql.auto.conf to be written, fsynced and reloaded (tens of ms when
 * a stopping primary's checkpoint keeps the disk busy), and the first
 * commit cannot race the checkpointer's reload of it.  In asynchronous mode
 * it undoes only what this worker set.
 */
static void
reconcile_ready_names(const ReconcilePass *p)
{
	if (p->now < st.next_sync_ms)
		return;
	st.next_sync_ms = p->now + RECONCILE_SYNC_INTERVAL_MS;
	if (pgq_synchronous)
		reconcile_strict_names(p);
	else if (st.sync_names[0] != '\0')
		(void) reconcile_set_names("");
}

/*
 * k standbys are healthy: 'ANY k (the healthy ones)'.  Failover this worker
 * paused to degrade is resumed once they hold everything written while
 * degraded.
 */
static void
reconcile_sync_quorum(const ReconcilePass *p, const ReconcileStandbys *s, int k)
{
	char		list[PGQ_SYNC_NAMES_MAX];

	if (!reconcile_healthy_names(s, k, list, sizeof(list)) ||
		!reconcile_set_names(list))
		return;
	reconcile_sync_ready(p);
	reconcile_set_mode(PGQ_MODE_SYNC, false, p, list, list);
	st.short_since_ms = 0;

	if (!st.auto_paused)
		return;
	if (!p->info.paused)
	{
		/* Someone resumed it already. */
		st.auto_paused = false;
		st.restore_lsn = 0;
	}
	else if (st.restore_lsn == 0)
		st.restore_lsn = GetXLogInsertRecPtr();
	else if (reconcile_flushed(s, st.restore_lsn) >= k &&
			 p->now >= st.next_auto_cmd_ms)
	{
		st.next_auto_cmd_ms = p->now + RECONCILE_AUTO_CMD_MS;
		if (st.command(QUORUM_CMD_RESUME, "") == 0)
			ereport(LOG,
					(errmsg("pg_quorum resumes automatic failover"),
					 errdetail("%d standbys hold every commit again.", k)));
	}
}

/*
 * Too few healthy standbys: commits wait, and if that lasts an election
 * timeout (a new leader's standbys reconnect well within it), pause
 * failover so as to degrade; degrade only once it is paused.
 */
static void
reconcile_sync_short(const ReconcilePass *p, ReconcileStandbys *s, int k)
{
	char		list[PGQ_SYNC_NAMES_MAX];
	bool		degrade;
	bool		listed;

	if (st.short_since_ms == 0)
		st.short_since_ms = p->now;
	/* A RESUME in the log lets voters campaign again already: no degrading. */
	degrade = p->info.paused && !p->info.resume_pending && st.paused_seen_ms != 0 &&
		p->now >= st.paused_seen_ms + 2 * (quorum_time_ms) pgq_heartbeat_interval_ms;
	if (degrade)
		listed = reconcile_healthy_names(s, s->n_healthy, list, sizeof(list));
	else
		listed = pgq_sync_names(k, s->names, s->n, list, sizeof(list));
	if (!listed || !reconcile_set_names(list))
		return;
	reconcile_sync_ready(p);
	st.restore_lsn = 0;
	if (!p->info.paused && p->now >= st.next_auto_cmd_ms &&
		p->now >= st.short_since_ms + (quorum_time_ms) pgq_election_timeout_ms)
	{
		st.next_auto_cmd_ms = p->now + RECONCILE_AUTO_CMD_MS;
		if (st.command(QUORUM_CMD_PAUSE, "") == 0)
		{
			st.auto_paused = true;
			ereport(LOG,
					(errmsg("pg_quorum pauses automatic failover"),
					 errdetail("%d of the %d standbys a commit needs are healthy.  Commits wait for a standby until the pause is committed; then they are acknowledged by this server alone, and failover stays paused until enough standbys hold them.",
							   s->n_healthy, k)));
		}
	}
	reconcile_set_mode(PGQ_MODE_DEGRADED, !degrade, p, list,
					   degrade ? psprintf("%d of %d standbys healthy; failover paused, commits do not wait for a quorum",
										  s->n_healthy, k) :
					   psprintf("%d of %d standbys healthy; commits wait until failover is paused",
								s->n_healthy, k));
}

/*
 * The leader's synchronous_standby_names, every RECONCILE_SYNC_INTERVAL_MS.
 *
 * A commit must reach k = pgq_sync_quorum() voter standbys, so that every
 * majority that can elect a successor holds it.  With k healthy (alive,
 * streaming) standbys the list is 'ANY k (healthy ones)'.  With fewer, the
 * leader may not simply lower k: a commit acknowledged by fewer standbys is
 * lost if the others elect a successor (as when this leader is cut off and
 * its standbys vanish from gossip while it still holds its lease).  So it
 * degrades as Patroni does: first it makes failover impossible (a PAUSE
 * decision, committed by a majority and known to the voters), and only then
 * lowers k to the healthy standbys, or to '' with none; until then the list
 * names every voter standby with the full k and commits wait.  When k
 * standbys are healthy again and have flushed everything written while
 * degraded, it resumes failover, if it was the one that paused it.
 */
static void
reconcile_sync(const ReconcilePass *p)
{
	ReconcileStandbys s;
	int			k = pgq_sync_quorum(p->info.n_voters);

	if (p->now < st.next_sync_ms && st.mode_term == p->info.term)
		return;
	st.next_sync_ms = p->now + RECONCILE_SYNC_INTERVAL_MS;
	if (st.mode_term != p->info.term)
	{
		st.mode_term = p->info.term;
		st.mode_known = false;
		st.short_since_ms = 0;
	}
	if (!p->info.paused)
		st.paused_seen_ms = 0;
	else if (st.paused_seen_ms == 0)
		st.paused_seen_ms = p->now;

	if (!pgq_synchronous)
	{
		/* Undo only what this worker set; an operator's value stays. */
		if (st.sync_names[0] != '\0')
			(void) reconcile_set_names("");
		st.mode = PGQ_MODE_ASYNC;
		st.mode_known = false;
		return;
	}
	reconcile_standbys(p, &s);
	if (s.n_healthy >= k)
		reconcile_sync_quorum(p, &s, k);
	else
		reconcile_sync_short(p, &s, k);
}

/* ---------------------------------------------------------------------
 * forget, status, and the pass itself
 * ---------------------------------------------------------------------
 */

/*
 * quorum.forget() removes a member for good: once its removal from the
 * voters is committed, every server forgets it from its member table, so
 * that its row leaves quorum.nodes everywhere.  One that this server still
 * sees alive or suspect (gossip of its stop has not arrived yet) is retried
 * for RECONCILE_FORGET_RETRY_MS; one still alive then (it was not stopped)
 * stays, as a member that no longer votes.  A removal replayed after a
 * restart, of a member that has been made a voter again since, is skipped.
 */
static void
reconcile_forget(const quorum_node *node, quorum_time_ms now)
{
	int			kept = 0;

	if (st.n_forget == 0 || now < st.forget_next_ms)
		return;
	st.forget_next_ms = now + RECONCILE_SYNC_INTERVAL_MS;
	for (int i = 0; i < st.n_forget; i++)
	{
		const char *name = st.forget[i].name;
		int			rc;

		if (quorum_node_is_voter(node, name))
			continue;
		if (st.forget[i].until_ms == 0)
			st.forget[i].until_ms = now + RECONCILE_FORGET_RETRY_MS;
		rc = st.command(QUORUM_CMD_FORGET, name);
		if (rc == QUORUM_ESTATE && now < st.forget[i].until_ms)
		{
			st.forget[kept++] = st.forget[i];
			continue;
		}
		if (rc == 0)
			ereport(LOG,
					(errmsg("pg_quorum forgot the removed member \"%s\"", name)));
		else if (rc == QUORUM_ESTATE)
			ereport(LOG,
					(errmsg("pg_quorum keeps the removed member \"%s\" in its member table: it is alive",
							name),
					 errhint("It no longer votes.  Once it is stopped and shown dead, quorum.forget() removes its row.")));
	}
	st.n_forget = kept;
}

/* What the worker publishes about the election after this pass. */
static void
reconcile_status(const ReconcilePass *p, PgqElectionStatus *status)
{
	bool		writer = p->self_leader && !p->in_recovery;

	status->term = p->info.term;
	strlcpy(status->leader, p->info.leader, sizeof(status->leader));
	status->has_quorum = p->info.leader[0] != '\0';
	status->paused = p->info.paused;
	status->transferring = st.transfer_until_ms != 0 &&
		p->info.term == st.transfer_term;
	if (writer && pgq_synchronous && st.mode_known)
		status->mode = st.mode;
	else
		status->mode = pgq_synchronous ? PGQ_MODE_SYNC : PGQ_MODE_ASYNC;
	strlcpy(status->sync_names, p->self_leader ? st.sync_names : "",
			sizeof(status->sync_names));
	status->n_voters = Min(p->info.n_voters, QUORUM_VOTERS_MAX);
	memcpy(status->voters, p->info.voters, sizeof(status->voters));
}

bool
pgq_reconcile(const quorum_node *node, quorum_time_ms now,
			  PgqElectionStatus *status)
{
	ReconcilePass p;
	bool		facts_changed = false;
	bool		may_write;

	memset(status, 0, sizeof(*status));
	reconcile_forget(node, now);
	if (quorum_node_election_get(node, &p.info) != 0)
	{
		pgq_fence_close();
		return false;
	}
	p.node = node;
	p.now = now;
	p.in_recovery = RecoveryInProgress();
	p.self_leader = p.info.leader[0] != '\0' && strcmp(p.info.leader, st.self) == 0;
	p.lease_until = p.info.lease_until_ms > now ? p.info.lease_until_ms : 0;
	reconcile_expire_switchover(&p);

	/* The leader's synchronous_standby_names come before its first write. */
	if (pgq_elections_enabled && p.self_leader && !p.in_recovery)
		reconcile_sync(&p);
	else if (pgq_elections_enabled && p.in_recovery)
		reconcile_ready_names(&p);
	/*
	 * A new leader's standbys find their slots before its first write.  Once
	 * its startup process has taken the promote request in, it creates them
	 * as a primary would while recovery ends (a physical slot can be created
	 * in recovery): each costs a few fsyncs, and made after the promotion
	 * they kept the fence shut and the standbys' first connections failing
	 * for that long (about 0.1 s with fsync on).  Not before: the startup
	 * process may need the worker's wake-ups until then (actions.c).
	 */
	if (pgq_elections_enabled)
		pgq_slots_reconcile(node, st.self, p.self_leader,
							p.in_recovery &&
							!(p.self_leader && st.promote_term == p.info.term &&
							  pgq_action_promotion_seen()),
							p.info.term, now);
	may_write = reconcile_fence(&p);
	pgq_routing_reconcile(may_write, p.in_recovery,
						  p.info.leader[0] != '\0' && !p.self_leader, now);
	if (pgq_elections_enabled)
	{
		if (p.self_leader && p.in_recovery)
			reconcile_promote(&p);
		if (st.was_in_recovery && !p.in_recovery)
		{
			ereport(LOG, (errmsg("pg_quorum: this server now runs as the primary")));
			facts_changed = true;
		}
		if (!p.self_leader && p.info.leader[0] != '\0')
		{
			if (p.in_recovery)
			{
				reconcile_follow(&p);
				reconcile_diverged(&p);
			}
			else
				reconcile_deposed(&p);
		}
	}
	st.was_in_recovery = p.in_recovery;
	reconcile_status(&p, status);
	return facts_changed;
}
