/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The pg_quorum background worker: drives one libquorum node from a
 *	  WaitEventSet on the gossip socket, the latch and postmaster death.
 *
 * The worker is the only process that runs protocol code.  It uses
 * libquorum's driven-mode runtime on its own (only) thread: wait until the
 * socket is readable, the latch is set or the runtime's deadline passes,
 * then let the runtime do all pending work, feed this server's facts (role,
 * timeline, WAL position) when they change, carry out what the election
 * decided (reconcile.c: fence, promote, follow, synchronous mode), and
 * publish a snapshot to shared memory for the SQL views.  Time comes only
 * from quorum_runtime_now_ms().  The durable record (incarnation, term, vote,
 * decision log) is written by the persist callback before anything that
 * depends on it is sent (state.c).
 *
 * A bad setting ends the worker with FATAL naming it; the postmaster restarts
 * it after bgw_restart_time while the server keeps serving.  The worker never
 * aborts: a worker dying from a signal would restart the whole server.
 *
 * extension/worker.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <time.h>

/* these are always necessary for a bgworker */
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/condition_variable.h"
#include "storage/shmem.h"

/* this server's facts */
#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "access/xlogrecovery.h"
#include "replication/walreceiver.h"

#include "lib/stringinfo.h"
#include "storage/fd.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "quorum/quorum.h"

#include "errors.h"
#include "actions.h"
#include "fence.h"
#include "guc.h"
#include "pg_compat.h"
#include "reconcile.h"
#include "shmem.h"
#include "state.h"
#include "worker.h"

/*
 * How often this server's role and WAL position are re-read, ms: often
 * enough that the election ranks candidates by a recent WAL position.
 */
#define WORKER_FACTS_INTERVAL_MS 150
/* How often a vote waiting for the WAL receiver to exit looks again, ms. */
#define WORKER_WAL_STOP_POLL_MS 10
/* While writes that passed the fence still commit, ms. */
#define WORKER_FACTS_SETTLE_RETRY_MS 10
/* Least time between two LOG summaries of dropped datagrams, ms. */
#define WORKER_DROP_LOG_INTERVAL_MS 60000
/* Largest key file accepted, bytes: QUORUM_KEYS_MAX lines and comments. */
#define WORKER_KEY_FILE_BYTES_MAX 65536
/* A dying leader waits this long at most for commits past the fence, ms. */
#define WORKER_RESIGN_SETTLE_MAX_MS 100
/* While handing over before a stop: facts this fresh, ms ... */
#define WORKER_HANDOVER_FACTS_MS 10
/* ... and, once handed over, the postmaster's SIGQUIT this soon, ms. */
#define WORKER_HANDOVER_QUIT_WAIT_MS 2000

/* A member's gossiped metadata, less the WAL position. */
typedef struct WorkerSeenMeta
{
	char		name[QUORUM_NAME_MAX + 1];
	enum quorum_role role;
	uint32		timeline;
	int32		priority;
	char		conninfo[QUORUM_CONNINFO_MAX + 1];
	char		tags[QUORUM_TAGS_MAX + 1];
} WorkerSeenMeta;

typedef struct PgqWorker
{
	quorum_runtime *rt;
	char		node_name[QUORUM_NAME_MAX + 1];
	char		listen_text[QUORUM_ADDR_STRLEN];

	quorum_time_ms next_facts_ms;

	/* Events since the last publish; a ring, oldest overwritten. */
	PgqEvent	pending[PGQ_EVENTS_MAX];
	uint64		n_pending;

	uint64		drops_logged[QUORUM_DROP__COUNT];
	quorum_time_ms next_drop_log_ms;

	PgqMember  *members;		/* publish buffer, pgq_members_max long */
	PgqElectionStatus election; /* as reconcile.c last reported it */
	bool		facts_due;		/* re-read the facts now (role changed) */
	bool		wal_stopping;	/* a vote waits for the WAL receiver to exit */
	bool		facts_held;		/* pg_quorum.test_hold_facts took its sample */
	struct quorum_durable restored; /* what the last run persisted */

	/*
	 * The metadata each member had at its last recorded 'updated' event, to
	 * keep WAL progress alone out of quorum.events (see worker_event()).
	 */
	WorkerSeenMeta *seen;
	int			n_seen;
	int			seen_max;

	/* Told to stop (SIGTERM) while leading: the hand-over's state. */
	bool		stopping;		/* SIGTERM seen and acted on */
	quorum_time_ms handover_until_ms;	/* 0: no hand-over under way */
	bool		handed_over;	/* another server leads; immediate stop asked */
} PgqWorker;

static PgqWorker worker;

static volatile sig_atomic_t got_sigterm = false;
static volatile sig_atomic_t got_sigquit = false;
/* When the first SIGQUIT came (CLOCK_MONOTONIC, s), and how much later
 * another one ends the worker on the spot, s. */
static volatile time_t sigquit_at_s = 0;
#define WORKER_SIGQUIT_REPEAT_S 1

/*
 * SIGTERM: hand over (if leading) and leave the cluster gracefully at the
 * top of the loop rather than dying inside it, so peers see "left" instead
 * of suspecting us.
 */
static void
worker_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	got_sigterm = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

/*
 * SIGQUIT: the postmaster is restarting every process after a crash, or
 * stopping at once.  PostgreSQL's own handler exits on the spot; this one
 * only notes it (SetLatch is async-signal-safe), so that the loop can
 * resign the leadership with a sealed message first, which needs OpenSSL
 * and the node, neither fit for a signal handler.  The loop touches no
 * shared memory on that path but the fence's atomic, and exits with
 * _exit(2) as the default handler would.  A second SIGQUIT a while later,
 * or a worker stuck where the latch cannot wake it, ends as before: on the
 * spot, or by the postmaster's SIGKILL.  Not one that comes at once: the
 * postmaster signals a child and then its process group, so every SIGQUIT
 * it sends may arrive twice, and ending on the second one skipped the
 * resignation now and then (test 050 failed so).
 */
static void
worker_sigquit(SIGNAL_ARGS)
{
	int			save_errno = errno;
	struct timespec now;

	/* clock_gettime() is async-signal-safe */
	(void) clock_gettime(CLOCK_MONOTONIC, &now);
	if (got_sigquit && now.tv_sec - sigquit_at_s > WORKER_SIGQUIT_REPEAT_S)
		_exit(2);
	if (!got_sigquit)
		sigquit_at_s = now.tv_sec;
	got_sigquit = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

/* Monotonic ms to wall-clock: wall_now - (mono_now - t). */
static TimestampTz
worker_wall_time(quorum_time_ms t, quorum_time_ms mono_now, TimestampTz wall_now)
{
	if (t > mono_now)
		return wall_now;
	return wall_now - (TimestampTz) (mono_now - t) * 1000;
}

/* ---------------------------------------------------------------------
 * Configuration
 * ---------------------------------------------------------------------
 */

pg_noreturn static void worker_bad_setting(const char *name, const char *value,
										   const char *detail, const char *hint);

static void
worker_bad_setting(const char *name, const char *value, const char *detail,
				   const char *hint)
{
	/* A name too long is not echoed whole: its length is in the detail. */
	ereport(FATAL,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 value != NULL && strlen(value) <= QUORUM_NAME_MAX ?
			 errmsg("invalid value for parameter \"%s\": \"%s\"", name, value) :
			 errmsg("invalid value for parameter \"%s\"", name),
			 detail != NULL ? errdetail("%s", detail) : 0,
			 hint != NULL ? errhint("%s", hint) : 0));
}

static void
worker_load_keyring(struct quorum_keyring *keyring)
{
	char	   *path;
	char	   *text;
	char		errbuf[256];
	struct stat st;
	int			fd;
	int			len;

	memset(keyring, 0, sizeof(*keyring));
	if (pgq_key_file == NULL || pgq_key_file[0] == '\0')
	{
		if (!pgq_allow_plaintext)
			worker_bad_setting("pg_quorum.key_file", "",
							   "No key file is set and pg_quorum.allow_plaintext is off, so gossip could not be authenticated.",
							   "Set pg_quorum.key_file to a file of 64-hex-digit keys, or set pg_quorum.allow_plaintext = on to gossip without authentication or encryption.");
		return;
	}

	path = is_absolute_path(pgq_key_file) ? pstrdup(pgq_key_file) :
		psprintf("%s/%s", DataDir, pgq_key_file);
	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0 || fstat(fd, &st) != 0)
		worker_bad_setting("pg_quorum.key_file", pgq_key_file,
						   psprintf("Could not open file \"%s\": %m.", path), NULL);
	if (st.st_size > WORKER_KEY_FILE_BYTES_MAX)
		worker_bad_setting("pg_quorum.key_file", pgq_key_file,
						   psprintf("File \"%s\" is larger than %d bytes.", path,
									WORKER_KEY_FILE_BYTES_MAX), NULL);
	if (st.st_mode & S_IRWXO)
		ereport(WARNING,
				(errmsg("key file \"%s\" is accessible to other users", path),
				 errhint("Restrict its permissions, for example with chmod 600.")));

	text = palloc(st.st_size + 1);
	len = read(fd, text, st.st_size);
	if (len < 0)
		worker_bad_setting("pg_quorum.key_file", pgq_key_file,
						   psprintf("Could not read file \"%s\": %m.", path), NULL);
	CloseTransientFile(fd);
	text[len] = '\0';

	errbuf[0] = '\0';
	if (quorum_keyring_parse(text, len, keyring, errbuf, sizeof(errbuf)) != 0 ||
		keyring->count == 0)
		worker_bad_setting("pg_quorum.key_file", pgq_key_file,
						   psprintf("File \"%s\" is not a valid key file: %s.", path,
									errbuf[0] != '\0' ? errbuf : "it holds no key"),
						   "Write one key per line as 64 hexadecimal digits, the current key first.");
	explicit_bzero(text, len);
	pfree(text);
}

/*
 * The end of the WAL inserted so far.  GetXLogInsertRecPtr() points past
 * the header of a page that holds nothing yet, a position XLogFlush()
 * refuses as past the end of the WAL; no record ends right after a page
 * header, so such a position means the page's start.
 */
static XLogRecPtr
worker_inserted_end(void)
{
	XLogRecPtr	ptr = GetXLogInsertRecPtr();

	if (XLogSegmentOffset(ptr, wal_segment_size) == SizeOfXLogLongPHD)
		return ptr - SizeOfXLogLongPHD;
	if (ptr % XLOG_BLCKSZ == SizeOfXLogShortPHD)
		return ptr - SizeOfXLogShortPHD;
	return ptr;
}

/* Role, timeline and WAL position straight from shared memory. */
static void
worker_read_facts(struct quorum_meta *facts)
{
	bool		may_lead = true;

	memset(facts, 0, sizeof(*facts));
	switch (GetRecoveryState())
	{
		case RECOVERY_STATE_DONE:
			facts->role = QUORUM_ROLE_PRIMARY;
			facts->timeline = GetWALInsertionTimeLine();

			/*
			 * Flushed, not inserted: standbys receive only flushed WAL, and
			 * every commit is flushed before it is acknowledged, while
			 * records such as hint-bit page images can stay unflushed on a
			 * fenced primary for good, and a hand-over would wait on them.
			 */
			if (!pgq_has_lease())
			{
				/*
				 * Fenced: flush what is inserted, so that an asynchronous
				 * commit (acknowledged before its flush) is covered too.
				 */
				XLogFlush(worker_inserted_end());
			}
			facts->lsn = GetFlushRecPtr(NULL);
			break;
		case RECOVERY_STATE_ARCHIVE:
			{
				TimeLineID	tli = 0;
				TimeLineID	received_tli = 0;
				XLogRecPtr	received = GetWalRcvFlushRecPtr(NULL, &received_tli);

				/*
				 * What a promotion would keep: replayed, or received and
				 * flushed (promotion replays it first).  The primary
				 * reports its flush position, which can end inside a
				 * record that spans pages; replay stops before such a
				 * record, so only the received position can match it.
				 */
				facts->role = QUORUM_ROLE_STANDBY;
				may_lead = pgq_action_standby_consistent();
				facts->lsn = GetXLogReplayRecPtr(&tli);
				facts->timeline = tli;
				if (received_tli > tli ||
					(received_tli == tli && received > facts->lsn))
				{
					facts->lsn = received;
					facts->timeline = received_tli;
				}
				break;
			}
		case RECOVERY_STATE_CRASH:

			/*
			 * Crash recovery, or the startup process has not yet decided:
			 * this server is neither a primary nor a standby yet.
			 */
			facts->role = QUORUM_ROLE_UNKNOWN;
			may_lead = false;
			break;
	}

	/*
	 * No candidate while its promotion would fail: a standby whose data is
	 * not consistent yet ("WAL ends before consistent recovery point"), or a
	 * server whose startup process has not found its checkpoint yet (a
	 * standby may wait there for WAL no one sends).  A server in crash
	 * recovery campaigns once its redo is done (the fault campaign's seed
	 * 215: a just-rewound standby was elected, stopped on its promotion, and
	 * again after its restart).
	 */
	facts->priority = may_lead ? pgq_priority : 0;
	strlcpy(facts->conninfo, pgq_conninfo != NULL ? pgq_conninfo : "",
			sizeof(facts->conninfo));
	strlcpy(facts->tags, pgq_tags != NULL ? pgq_tags : "", sizeof(facts->tags));
}

/*
 * The election's part of the configuration.  With pg_quorum.failover = off
 * the node is no voter and bootstraps nothing: it gossips, and at most
 * learns of a cluster's leader without acting on it.
 */
static void
worker_configure_election(struct quorum_runtime_config *rc, const char *name)
{
	char		voters[PGQ_VOTERS_MAX][QUORUM_NAME_MAX + 1];
	unsigned	n_voters = 0;
	const char *detail;
	bool		listed = false;

	if (!pgq_elections_enabled)
	{
		rc->node.voter = false;
		rc->node.bootstrap_expect = 0;
		rc->node.n_initial_voters = 0;
		return;
	}
	if ((detail = pgq_check_voters(pgq_voters, voters, &n_voters)) != NULL)
		worker_bad_setting("pg_quorum.voters", pgq_voters, detail,
						   "List the node names of the first voters, separated by commas.");
	for (unsigned i = 0; i < n_voters; i++)
		listed = listed || strcmp(voters[i], name) == 0;
	if (listed && !pgq_voter)
		worker_bad_setting("pg_quorum.voters", pgq_voters,
						   psprintf("It names this server, \"%s\", but pg_quorum.voter is off.", name),
						   "Remove this server from the list or set pg_quorum.voter = on.");
	if (!quorum_timing_heartbeat_fits(pgq_heartbeat_interval_ms, pgq_election_timeout_ms))
		worker_bad_setting("pg_quorum.heartbeat_interval",
						   GetConfigOption("pg_quorum.heartbeat_interval", false, false),
						   psprintf("pg_quorum.heartbeat_interval must be less than half of pg_quorum.election_timeout (%d ms).",
									pgq_election_timeout_ms), NULL);

	rc->node.voter = pgq_voter;
	rc->node.bootstrap_expect = n_voters > 0 ? 0 : (unsigned) pgq_bootstrap_expect;
	rc->node.n_initial_voters = n_voters;
	memcpy(rc->node.initial_voters, voters, sizeof(voters[0]) * n_voters);
	rc->node.heartbeat_ms = pgq_heartbeat_interval_ms;
	rc->node.election_timeout_min_ms = pgq_election_timeout_ms;
	rc->node.election_timeout_max_ms = quorum_timing_election_max_ms(pgq_election_timeout_ms);
	/* A vote waits until this server takes no more WAL (worker_wal_intake). */
	rc->node.stop_wal_to_vote = true;
}

static void worker_trace(void *ctx, enum quorum_trace_level level,
						 const char *line);
static int	worker_persist(void *ctx, const struct quorum_durable *durable);
static void worker_event(void *ctx, const struct quorum_event *event);

/*
 * Validate every setting and build the runtime's configuration; FATAL on
 * the first bad one.
 */
static void
worker_configure(struct quorum_runtime_config *rc)
{
	const char *name = pgq_effective_node_name();
	const char *detail;
	struct quorum_addr peers[QUORUM_SEEDS_MAX];
	unsigned	n_peers = 0;

	quorum_runtime_config_init(rc);

	if (name[0] == '\0')
		worker_bad_setting("pg_quorum.node_name", "",
						   "pg_quorum.node_name is empty and so is cluster_name.",
						   "Set pg_quorum.node_name to a name unique within the cluster.");
	if ((detail = pgq_check_name(name, false)) != NULL)
		worker_bad_setting(pgq_node_name[0] != '\0' ? "pg_quorum.node_name" : "cluster_name",
						   name, detail, NULL);
	if ((detail = pgq_check_name(pgq_cluster, false)) != NULL)
		worker_bad_setting("pg_quorum.cluster", pgq_cluster, detail, NULL);
	if ((detail = pgq_check_listen(pgq_listen, &rc->bind)) != NULL)
		worker_bad_setting("pg_quorum.listen", pgq_listen, detail, NULL);
	if ((detail = pgq_check_peers(pgq_peers, peers, &n_peers)) != NULL)
		worker_bad_setting("pg_quorum.peers", pgq_peers, detail,
						   "List peers as comma-separated numeric address:port pairs.");
	if ((detail = pgq_check_text_length(pgq_conninfo, QUORUM_CONNINFO_MAX)) != NULL)
		worker_bad_setting("pg_quorum.conninfo", pgq_conninfo, detail, NULL);
	if ((detail = pgq_check_text_length(pgq_tags, QUORUM_TAGS_MAX)) != NULL)
		worker_bad_setting("pg_quorum.tags", pgq_tags, detail, NULL);
	if (!quorum_timing_probe_fits(pgq_probe_timeout_ms, pgq_probe_interval_ms))
		worker_bad_setting("pg_quorum.probe_timeout",
						   GetConfigOption("pg_quorum.probe_timeout", false, false),
						   psprintf("pg_quorum.probe_timeout must be shorter than pg_quorum.probe_interval (%d ms).",
									pgq_probe_interval_ms), NULL);
	worker_configure_election(rc, name);
	worker_load_keyring(&rc->node.keyring);

	strlcpy(worker.node_name, name, sizeof(worker.node_name));
	quorum_addr_format(&rc->bind, worker.listen_text, sizeof(worker.listen_text));

	strlcpy(rc->node.name, name, sizeof(rc->node.name));
	strlcpy(rc->node.cluster, pgq_cluster, sizeof(rc->node.cluster));
	rc->node.addr = rc->bind;
	rc->node.allow_plaintext = pgq_allow_plaintext;
	rc->node.seed = quorum_runtime_random_seed();
	{
		bool		loaded = pgq_state_load(name, &worker.restored);

		rc->node.incarnation_start = pgq_state_start_incarnation(name, loaded,
																  &worker.restored);
		rc->node.restored = loaded ? &worker.restored : NULL;
	}
	rc->node.members_max = pgq_members_max;
	rc->node.probe_interval_ms = pgq_probe_interval_ms;
	rc->node.probe_timeout_ms = pgq_probe_timeout_ms;
	rc->node.pushpull_interval_ms = pgq_pushpull_interval_ms;
	rc->node.suspicion_mult = pgq_suspicion_mult;
	rc->node.indirect_probes = pgq_indirect_probes;
	rc->node.trace_fn = worker_trace;
	rc->node.trace_level = message_level_is_interesting(DEBUG2) ? QUORUM_TRACE_DEBUG :
		message_level_is_interesting(DEBUG1) ? QUORUM_TRACE_INFO : QUORUM_TRACE_WARNING;

	/* The same peer list is usually given to every node: skip ourselves. */
	for (unsigned i = 0; i < n_peers; i++)
	{
		if (!quorum_addr_equal(&peers[i], &rc->bind))
			rc->seeds[rc->n_seeds++] = peers[i];
	}

	worker_read_facts(&rc->facts);
	rc->persist_fn = worker_persist;
	rc->event_fn = worker_event;
	rc->callback_ctx = NULL;
}

/* ---------------------------------------------------------------------
 * Runtime callbacks: called inside quorum_runtime_process(), so they must
 * not throw an ERROR through libquorum's frames.
 * ---------------------------------------------------------------------
 */

static void
worker_trace(void *ctx, enum quorum_trace_level level, const char *line)
{
	int			elevel = level == QUORUM_TRACE_WARNING ? LOG :
		level == QUORUM_TRACE_INFO ? DEBUG1 : DEBUG2;

	ereport(elevel, (errmsg_internal("pg_quorum: %s", line)));
}

static int
worker_persist(void *ctx, const struct quorum_durable *durable)
{
	if (!pgq_state_save(worker.node_name, durable))
		return QUORUM_EIO;
	/* Before this step's datagrams are sent (see reconcile.c). */
	if (pgq_elections_enabled)
		pgq_reconcile_persisted(quorum_runtime_node(worker.rt), durable,
								quorum_runtime_now_ms());
	return 0;
}

/*
 * Whether an 'updated' event changed anything but the WAL position.  A busy
 * primary's position changes at every facts poll; recording each would
 * push every membership change out of the event ring within a minute, and
 * quorum.nodes already shows the position.
 */
static bool
worker_update_is_news(const char *member)
{
	struct quorum_member_info info;
	WorkerSeenMeta *seen = NULL;
	bool		news;

	if (quorum_node_member_find(quorum_runtime_node(worker.rt), member, &info) != 0 ||
		!info.has_meta)
		return true;
	for (int i = 0; i < worker.n_seen; i++)
	{
		if (strcmp(worker.seen[i].name, member) == 0)
		{
			seen = &worker.seen[i];
			break;
		}
	}
	if (seen == NULL)
	{
		/* Forgetting everyone only costs one extra event per member. */
		if (worker.n_seen == worker.seen_max)
			worker.n_seen = 0;
		seen = &worker.seen[worker.n_seen++];
		strlcpy(seen->name, member, sizeof(seen->name));
		news = true;
	}
	else
		news = seen->role != info.meta.role ||
			seen->timeline != info.meta.timeline ||
			seen->priority != info.meta.priority ||
			strcmp(seen->conninfo, info.meta.conninfo) != 0 ||
			strcmp(seen->tags, info.meta.tags) != 0;
	seen->role = info.meta.role;
	seen->timeline = info.meta.timeline;
	seen->priority = info.meta.priority;
	strlcpy(seen->conninfo, info.meta.conninfo, sizeof(seen->conninfo));
	strlcpy(seen->tags, info.meta.tags, sizeof(seen->tags));
	return news;
}

/* Queue an event for quorum.events; published with the next snapshot. */
static void
worker_record(PgqEventKind kind, TimestampTz at, const char *node,
			  uint64 incarnation, uint64 term, const char *detail)
{
	PgqEvent   *ev = &worker.pending[worker.n_pending % PGQ_EVENTS_MAX];

	memset(ev, 0, sizeof(*ev));
	ev->at = at;
	ev->kind = kind;
	strlcpy(ev->node, node != NULL ? node : "", sizeof(ev->node));
	ev->incarnation = incarnation;
	ev->term = term;
	strlcpy(ev->detail, detail != NULL ? detail : "", sizeof(ev->detail));
	worker.n_pending++;
}

/* reconcile.c's events: stamped now. */
static void
worker_record_election(PgqEventKind kind, const char *node, uint64 term,
					   const char *detail)
{
	worker_record(kind, GetCurrentTimestamp(), node, 0, term, detail);
}

static void
worker_event(void *ctx, const struct quorum_event *event)
{
	PgqEventKind kind;

	switch (event->type)
	{
		case QUORUM_EV_MEMBER_ALIVE:
			kind = PGQ_EV_ALIVE;
			break;
		case QUORUM_EV_MEMBER_SUSPECT:
			kind = PGQ_EV_SUSPECT;
			break;
		case QUORUM_EV_MEMBER_DEAD:
			kind = PGQ_EV_DEAD;
			break;
		case QUORUM_EV_MEMBER_LEFT:
			kind = PGQ_EV_LEFT;
			break;
		case QUORUM_EV_MEMBER_UPDATED:
			if (!worker_update_is_news(event->member))
				return;
			kind = PGQ_EV_UPDATED;
			break;
		case QUORUM_EV_MEMBER_REAPED:
			kind = PGQ_EV_REAPED;
			break;
		default:
			pgq_reconcile_event(quorum_runtime_node(worker.rt), event);
			/*
			 * A hand-over starts: it waits for a fresh sample of the facts.
			 * The leader is gone (it resigned, say): the election that
			 * follows ranks the standbys by WAL, so sample it now, before
			 * this node asks for or judges a vote.
			 */
			if ((event->type == QUORUM_EV_DECISION_COMMITTED &&
				 event->decision.type == QUORUM_DECISION_SWITCHOVER) ||
				(event->type == QUORUM_EV_LEADER_CHANGED && event->member[0] == '\0'))
				worker.facts_due = true;
			return;
	}
	worker_record(kind, worker_wall_time(event->at_ms, quorum_runtime_now_ms(),
										 GetCurrentTimestamp()),
				  event->member, event->incarnation, 0, NULL);
}

/* ---------------------------------------------------------------------
 * Shared memory
 * ---------------------------------------------------------------------
 */

static void
worker_detach(int code, Datum arg)
{
	if (pgq_shared == NULL)
		return;
	if (LWLockHeldByMe(pgq_shared->lock))
		LWLockRelease(pgq_shared->lock);
	/* Fenced first: nothing may commit on the word of a dead worker. */
	pgq_fence_close();
	LWLockAcquire(pgq_shared->lock, LW_EXCLUSIVE);
	pgq_shared->worker_running = false;
	pgq_shared->worker_pid = 0;
	pgq_shared->worker_latch = NULL;
	pgq_shared->n_members = 0;
	pgq_shared->n_commands = 0;
	pgq_shared->leader[0] = '\0';
	pgq_shared->has_quorum = false;
	pgq_shared->transferring = false;
	LWLockRelease(pgq_shared->lock);
	ConditionVariableBroadcast(&pgq_shared->changed);
}

static void
worker_attach(void)
{
	on_shmem_exit(worker_detach, (Datum) 0);
	LWLockAcquire(pgq_shared->lock, LW_EXCLUSIVE);
	pgq_shared->worker_running = true;
	pgq_shared->worker_pid = MyProcPid;
	pgq_shared->worker_started = GetCurrentTimestamp();
	pgq_shared->worker_latch = MyLatch;
	strlcpy(pgq_shared->node_name, worker.node_name, sizeof(pgq_shared->node_name));
	strlcpy(pgq_shared->cluster, pgq_cluster, sizeof(pgq_shared->cluster));
	pgq_shared->incarnation = 0;
	memset(&pgq_shared->stats, 0, sizeof(pgq_shared->stats));
	pgq_shared->n_members = 0;
	pgq_shared->n_commands = 0;
	pgq_shared->elections_enabled = pgq_elections_enabled;
	pgq_shared->term = 0;
	pgq_shared->leader[0] = '\0';
	pgq_shared->has_quorum = false;
	pgq_shared->paused = false;
	pgq_shared->transferring = false;
	pgq_shared->mode = PGQ_MODE_ASYNC;
	pgq_shared->sync_names[0] = '\0';
	LWLockRelease(pgq_shared->lock);
}

static int
worker_member_cmp(const void *a, const void *b)
{
	return strcmp(((const PgqMember *) a)->name, ((const PgqMember *) b)->name);
}

static void
worker_copy_member(const struct quorum_member_info *info, PgqMember *m,
				   quorum_time_ms mono_now, TimestampTz wall_now)
{
	memset(m, 0, sizeof(*m));
	strlcpy(m->name, info->name, sizeof(m->name));
	quorum_addr_format(&info->addr, m->address, sizeof(m->address));
	m->state = info->state;
	m->incarnation = info->incarnation;
	m->is_self = info->is_self;
	m->has_meta = info->has_meta;
	if (info->has_meta)
	{
		m->role = info->meta.role;
		m->timeline = info->meta.timeline;
		m->lsn = info->meta.lsn;
		m->priority = info->meta.priority;
		strlcpy(m->conninfo, info->meta.conninfo, sizeof(m->conninfo));
		strlcpy(m->tags, info->meta.tags, sizeof(m->tags));
	}
	m->state_since = worker_wall_time(info->state_since_ms, mono_now, wall_now);
	m->last_heard = info->last_heard_ms == 0 ? 0 :
		worker_wall_time(info->last_heard_ms, mono_now, wall_now);
	m->rtt_ms = info->rtt_us == 0 ? -1.0 : info->rtt_us / 1000.0;
	m->probes_sent = info->probes_sent;
	m->probes_failed = info->probes_failed;
	m->acks_received = info->acks_received;
}

/*
 * Say once, when it starts, that this server's name is a voter bound to
 * another member id: it was rebuilt, or its pg_quorum.state restored from
 * an older copy (it then took a new id), since the name was admitted, so
 * it neither votes nor campaigns (issue 9, H8).
 */
static void
worker_check_admitted(const quorum_node *node)
{
	static bool unadmitted = false;
	bool		now = quorum_node_is_voter(node, NULL) &&
		!quorum_node_voter_admitted(node, NULL);

	if (now && !unadmitted)
		ereport(WARNING,
				(errmsg("pg_quorum node \"%s\" is not counted as a voter: the voter set names another member id for it",
						worker.node_name),
				 errdetail("This server's member id is %016llx.  It was rebuilt, or its pg_quorum.state was restored from an older copy, after its name became a voter; until it is admitted again it neither votes nor campaigns.",
						   (unsigned long long) quorum_node_member_id(node)),
				 errhint("Run SELECT quorum.add_voter('%s') on the leader or on this server to admit it.",
						 worker.node_name)));
	else if (!now && unadmitted)
		ereport(LOG,
				(errmsg("pg_quorum node \"%s\" is counted as a voter again", worker.node_name)));
	unadmitted = now;
}

/* Copy the node's view into shared memory for the SQL functions. */
static void
worker_publish(quorum_time_ms mono_now)
{
	const quorum_node *node = quorum_runtime_node(worker.rt);
	TimestampTz wall_now = GetCurrentTimestamp();
	struct quorum_node_stats stats;
	size_t		count = quorum_node_member_count(node);
	int			n = 0;
	uint64		self_incarnation = 0;
	uint64		first;

	for (size_t i = 0; i < count && n < pgq_members_max; i++)
	{
		struct quorum_member_info info;
		PgqMember  *m = &worker.members[n];

		if (quorum_node_member_get(node, i, &info) != 0)
			continue;
		worker_copy_member(&info, m, mono_now, wall_now);
		m->is_leader = strcmp(info.name, worker.election.leader) == 0;
		/* A voter's name answering with another member id is not one. */
		m->voter = quorum_node_voter_admitted(node, info.name);
		if (info.is_self)
			self_incarnation = info.incarnation;
		n++;
	}
	qsort(worker.members, n, sizeof(PgqMember), worker_member_cmp);
	worker_check_admitted(node);
	quorum_node_stats_get(node, &stats);

	/* Only the newest PGQ_EVENTS_MAX pending events are still in the ring. */
	first = worker.n_pending > PGQ_EVENTS_MAX ? worker.n_pending - PGQ_EVENTS_MAX : 0;

	LWLockAcquire(pgq_shared->lock, LW_EXCLUSIVE);
	memcpy(pgq_shared->members, worker.members, sizeof(PgqMember) * n);
	pgq_shared->n_members = n;
	pgq_shared->stats = stats;
	pgq_shared->incarnation = self_incarnation;
	pgq_shared->term = worker.election.term;
	strlcpy(pgq_shared->leader, worker.election.leader, sizeof(pgq_shared->leader));
	pgq_shared->has_quorum = worker.election.has_quorum;
	pgq_shared->paused = worker.election.paused;
	pgq_shared->transferring = worker.election.transferring;
	pgq_shared->mode = worker.election.mode;
	strlcpy(pgq_shared->sync_names, worker.election.sync_names,
			sizeof(pgq_shared->sync_names));
	for (uint64 e = first; e < worker.n_pending; e++)
	{
		pgq_shared->events[pgq_shared->events_total % PGQ_EVENTS_MAX] =
			worker.pending[e % PGQ_EVENTS_MAX];
		pgq_shared->events_total++;
		if (worker.pending[e % PGQ_EVENTS_MAX].kind == PGQ_EV_PROMOTED)
			pgq_shared->promotions_total++;
	}
	LWLockRelease(pgq_shared->lock);
	worker.n_pending = 0;
	ConditionVariableBroadcast(&pgq_shared->changed);
}

/* Publish the verdict on command id for the backend that waits for it. */
static void
worker_command_result(uint64 id, int rc, const char *detail)
{
	PgqCommandResult *r;

	if (id == 0)
		return;
	LWLockAcquire(pgq_shared->lock, LW_EXCLUSIVE);
	r = &pgq_shared->results[id % PGQ_COMMANDS_MAX];
	r->id = id;
	r->rc = rc;
	strlcpy(r->detail, detail != NULL ? detail : "", sizeof(r->detail));
	LWLockRelease(pgq_shared->lock);
	ConditionVariableBroadcast(&pgq_shared->changed);
}

/*
 * State the node could not persist (after a command, new facts or a step):
 * stop rather than go on with state that would not survive a crash.
 */
static void
worker_check_persisted(int rc)
{
	if (rc == QUORUM_EIO)
		ereport(FATAL,
				(errcode_for_file_access(),
				 errmsg("could not persist pg_quorum state to \"%s\"", PGQ_STATE_FILE),
				 errdetail("The worker stops rather than act on state that would not survive a crash, such as an incarnation or a vote.")));
}

/*
 * reconcile.c's own commands: pause and resume around degrading, and forget
 * for a removed voter (whose failures reconcile.c reports itself); also the
 * stop path's transfer and resignation, which report their own.
 */
static int
worker_reconcile_command(enum quorum_command_type type, const char *name)
{
	struct quorum_command qc;
	int			rc;

	memset(&qc, 0, sizeof(qc));
	qc.type = type;
	strlcpy(qc.name, name, sizeof(qc.name));
	rc = quorum_runtime_command(worker.rt, &qc, quorum_runtime_now_ms());
	worker_check_persisted(rc);
	if (rc != 0 && type == QUORUM_CMD_PAUSE)
		ereport(LOG,
				(errmsg("pg_quorum could not pause automatic failover"),
				 pgq_errdetail_quorum(rc, quorum_node_errmsg(quorum_runtime_node(worker.rt)))));
	else if (rc != 0 && type == QUORUM_CMD_RESUME)
		ereport(LOG,
				(errmsg("pg_quorum could not resume automatic failover"),
				 pgq_errdetail_quorum(rc, quorum_node_errmsg(quorum_runtime_node(worker.rt)))));
	return rc;
}

/*
 * The node's command for a backend's election command, and what it asks
 * for, for the log.
 */
static const char *
worker_election_qc(const PgqCommand *cmd, struct quorum_command *qc)
{
	const char *name = cmd->name;

	memset(qc, 0, sizeof(*qc));
	strlcpy(qc->name, name, sizeof(qc->name));
	switch (cmd->type)
	{
		case PGQ_CMD_SWITCHOVER:
			qc->type = QUORUM_CMD_TRANSFER;
			return name[0] == '\0' ? "a switchover to the best standby" :
				psprintf("a switchover to \"%s\"", name);
		case PGQ_CMD_PAUSE:
			qc->type = QUORUM_CMD_PAUSE;
			return "a pause of automatic failover";
		case PGQ_CMD_RESUME:
			qc->type = QUORUM_CMD_RESUME;
			return "the resumption of automatic failover";
		case PGQ_CMD_FORGET:

			/*
			 * A voter's removal is a decision, after which every server
			 * forgets it (reconcile.c); any other member only this server
			 * has to forget.
			 */
			if (quorum_node_is_voter(quorum_runtime_node(worker.rt), name))
			{
				qc->type = QUORUM_CMD_REMOVE_VOTER;
				return psprintf("the removal of the voter \"%s\"", name);
			}
			qc->type = QUORUM_CMD_FORGET;
			return psprintf("forgetting the member \"%s\"", name);
		case PGQ_CMD_ADD_VOTER:
			qc->type = QUORUM_CMD_ADD_VOTER;
			return psprintf("the addition of the voter \"%s\"", name);
		case PGQ_CMD_JOIN:
			break;
	}
	return NULL;
}

/* A decision command: a switchover, pause, resume, or a voter change. */
static int
worker_election_command(const PgqCommand *cmd, quorum_time_ms now)
{
	struct quorum_command qc;
	const char *what;
	int			rc;

	if (!pgq_elections_enabled)
		return QUORUM_ESTATE;
	if ((what = worker_election_qc(cmd, &qc)) == NULL)
		return QUORUM_EINVAL;
	rc = quorum_runtime_command(worker.rt, &qc, now);
	worker_check_persisted(rc);
	if (rc != 0)
		ereport(LOG,
				(errmsg("pg_quorum could not pass a backend's request to the cluster"),
				 errdetail("It asked for %s; libquorum reported: %s.", what,
						   quorum_node_errmsg(quorum_runtime_node(worker.rt)))));
	else
		ereport(LOG,
				(errmsg("pg_quorum passed a backend's request to the cluster"),
				 errdetail("It asks for %s.", what)));
	return rc;
}

/* Run the commands backends posted. */
static void
worker_run_commands(quorum_time_ms now)
{
	PgqCommand	commands[PGQ_COMMANDS_MAX];
	int			n;

	LWLockAcquire(pgq_shared->lock, LW_EXCLUSIVE);
	n = pgq_shared->n_commands;
	memcpy(commands, pgq_shared->commands, sizeof(PgqCommand) * n);
	pgq_shared->n_commands = 0;
	LWLockRelease(pgq_shared->lock);

	for (int i = 0; i < n; i++)
	{
		const PgqCommand *cmd = &commands[i];
		char		text[QUORUM_ADDR_STRLEN];
		int			rc;

		switch (cmd->type)
		{
			case PGQ_CMD_JOIN:
				quorum_addr_format(&cmd->addr, text, sizeof(text));
				rc = quorum_runtime_join(worker.rt, &cmd->addr, now);
				if (rc != 0)
					ereport(LOG,
							(errmsg("pg_quorum could not join through \"%s\"", text),
							 pgq_errdetail_quorum(rc, NULL)));
				else
					ereport(LOG, (errmsg("pg_quorum joining through \"%s\"", text)));
				worker_command_result(cmd->id, rc, NULL);
				break;
			case PGQ_CMD_SWITCHOVER:
			case PGQ_CMD_PAUSE:
			case PGQ_CMD_RESUME:
			case PGQ_CMD_FORGET:
			case PGQ_CMD_ADD_VOTER:
				rc = worker_election_command(cmd, now);
				worker_command_result(cmd->id, rc, rc != 0 ?
									  quorum_node_errmsg(quorum_runtime_node(worker.rt)) : NULL);
				break;
		}
	}
}

/* Feed role, timeline, WAL position and the gossiped settings, sampled now. */
static void
worker_refresh_facts(quorum_time_ms now, bool force)
{
	struct quorum_meta facts;
	int			rc;

	if (!force && !worker.facts_due && now < worker.next_facts_ms)
		return;
	/*
	 * Fenced with writes still before their record's flush: sample once
	 * they are done, however long that takes (issue 9, H4; see
	 * pgq_fence_settled()).
	 */
	if (pgq_elections_enabled && !pgq_fence_settled())
	{
		worker.facts_due = false;
		worker.next_facts_ms = now + WORKER_FACTS_SETTLE_RETRY_MS;
		return;
	}
	worker.facts_due = false;
	worker.next_facts_ms = now + WORKER_FACTS_INTERVAL_MS;
	if (pgq_test_hold_facts && worker.facts_held)
		return;
	worker.facts_held = pgq_test_hold_facts;
	worker_read_facts(&facts);
	if (worker.facts_held)
		ereport(LOG,
				(errmsg("pg_quorum.test_hold_facts: the election sees this server's WAL at %X/%X until it is turned off",
						LSN_FORMAT_ARGS(facts.lsn))));
	/* Fed even when unchanged: a hand-over waits for a fresh sample. */
	rc = quorum_runtime_set_facts(worker.rt, &facts, now);
	worker_check_persisted(rc);
	if (rc != 0)
		ereport(LOG,
				(errcode(pgq_errcode(rc)),
				 errmsg("pg_quorum could not update this node's gossiped facts"),
				 pgq_errdetail_quorum(rc, quorum_node_errmsg(quorum_runtime_node(worker.rt)))));
}

/* A rate-limited summary of dropped datagrams, never one line per packet. */
static void
worker_log_drops(quorum_time_ms now)
{
	struct quorum_node_stats stats;
	StringInfoData buf;
	uint64		total = 0;

	if (now < worker.next_drop_log_ms)
		return;
	quorum_node_stats_get(quorum_runtime_node(worker.rt), &stats);
	initStringInfo(&buf);
	for (int r = 0; r < QUORUM_DROP__COUNT; r++)
	{
		uint64		d = stats.drops[r] - worker.drops_logged[r];

		if (d == 0)
			continue;
		appendStringInfo(&buf, "%s%s: " UINT64_FORMAT, total > 0 ? ", " : "",
						 quorum_drop_reason_name(r), d);
		total += d;
		worker.drops_logged[r] = stats.drops[r];
	}
	if (total > 0)
	{
		ereport(LOG,
				(errmsg_plural("pg_quorum dropped " UINT64_FORMAT " incoming gossip datagram",
							   "pg_quorum dropped " UINT64_FORMAT " incoming gossip datagrams",
							   total, total),
				 errdetail("By reason since the last report: %s.", buf.data),
				 errhint("See the \"drop\" rows of quorum.health.")));
		worker.next_drop_log_ms = now + WORKER_DROP_LOG_INTERVAL_MS;
	}
	pfree(buf.data);
}

/* ---------------------------------------------------------------------
 * Stopping.  A leader that is told to stop hands the leadership over
 * first; one whose server is dying resigns it (plugin/raft_resign.c).
 * Either way the voters need not wait out their election timeouts.
 * ---------------------------------------------------------------------
 */

/* Tell the peers we are leaving, then exit like die() would. */
pg_noreturn static void worker_leave_and_exit(void);

static void
worker_leave_and_exit(void)
{
	quorum_time_ms now = quorum_runtime_now_ms();
	int			rc;

	pgq_fence_close();
	rc = quorum_runtime_leave(worker.rt, now);

	if (rc != 0)
		ereport(LOG,
				(errcode(pgq_errcode(rc)),
				 errmsg("pg_quorum could not leave the cluster gracefully"),
				 pgq_errdetail_quorum(rc, quorum_node_errmsg(quorum_runtime_node(worker.rt)))));
	else
		worker_publish(now);
	ereport(LOG, (errmsg("pg_quorum worker shutting down")));

	/* Exit status 1: the postmaster restarts us unless it is shutting down. */
	proc_exit(1);
}

/* Whether this server led the cluster at the last pass. */
static bool
worker_is_leader(void)
{
	return pgq_elections_enabled &&
		strcmp(worker.election.leader, worker.node_name) == 0;
}

/*
 * After closing the fence: wait, at most max_ms, until the commits that
 * passed it are done.  Those that had not passed its last check when it
 * closed are never answered (fence.c); this narrows the few microseconds
 * between that check and the answer of those that had.
 */
static void
worker_wait_settled(quorum_time_ms max_ms)
{
	quorum_time_ms until = quorum_runtime_now_ms() + max_ms;

	while (!pgq_fence_settled() && quorum_runtime_now_ms() < until)
		pg_usleep(1000L);
}

/*
 * The server is dying: its postmaster is gone, or it is restarting every
 * process after a crash (crash: after SIGQUIT).  A leader closes the fence
 * and resigns, so that another server is elected at once.  After SIGQUIT
 * the backends are being killed, so there is nothing to wait for, and no
 * shared memory is touched but the fence's atomic; the exit is the default
 * SIGQUIT handler's.
 */
pg_noreturn static void worker_resign_and_exit(const char *why, bool crash);

static void
worker_resign_and_exit(const char *why, bool crash)
{
	pgq_fence_close();
	if (worker_is_leader())
	{
		int			rc;

		if (!crash)
			worker_wait_settled(WORKER_RESIGN_SETTLE_MAX_MS);
		rc = worker_reconcile_command(QUORUM_CMD_RESIGN, "");
		if (rc != 0)
			ereport(LOG,
					(errcode(pgq_errcode(rc)),
					 errmsg("pg_quorum could not resign the leadership: %s", why),
					 pgq_errdetail_quorum(rc, quorum_node_errmsg(quorum_runtime_node(worker.rt)))));
		else
			ereport(LOG,
					(errmsg("pg_quorum resigned the leadership: %s", why),
					 errdetail("The voters elect another leader without waiting for their election timeouts.")));
	}
	if (crash)
		_exit(2);
	proc_exit(1);
}

/*
 * Whether a standby has flushed all WAL this server has flushed, so holds
 * every commit acknowledged here.
 */
static bool
worker_standby_has_all(void)
{
	char		names[QUORUM_VOTERS_MAX * 2][QUORUM_NAME_MAX + 1];
	uint64		flush[QUORUM_VOTERS_MAX * 2];
	XLogRecPtr	mine = GetFlushRecPtr(NULL);
	int			n = pgq_action_streaming_standbys(names, flush, lengthof(names));

	for (int i = 0; i < n; i++)
		if (flush[i] >= mine)
			return true;
	return false;
}

/*
 * SIGTERM on the leader (pg_ctl stop -m fast or smart, a service manager's
 * stop): hand the leadership to the best standby first, as
 * quorum.failover() does and with its guarantee (the target holds all the
 * WAL this server flushed, libquorum's transfer waits for it).  Returns
 * false, having said why in the log, when the stop must go on without one.
 */
static bool
worker_hand_over_start(quorum_time_ms now)
{
	const char *why = NULL;
	int			rc;

	if (!worker_is_leader())
		return false;
	if (worker.election.paused)
		why = "Automatic failover is paused.";
	else if (worker.election.mode == PGQ_MODE_DEGRADED && !worker_standby_has_all())
		why = "Synchronous mode is degraded and no standby has flushed every commit acknowledged here.";
	if (why != NULL)
	{
		ereport(LOG,
				(errmsg("pg_quorum stops without handing the leadership over"),
				 errdetail("%s", why),
				 errhint("The other servers elect a leader once their election timeouts pass.")));
		return false;
	}
	pgq_fence_close();
	rc = worker_reconcile_command(QUORUM_CMD_TRANSFER, "");
	if (rc != 0)
	{
		ereport(LOG,
				(errcode(pgq_errcode(rc)),
				 errmsg("pg_quorum stops without handing the leadership over"),
				 pgq_errdetail_quorum(rc, quorum_node_errmsg(quorum_runtime_node(worker.rt)))));
		return false;
	}
	ereport(LOG,
			(errmsg("pg_quorum hands the leadership over to the best standby before stopping")));
	/* Bounded by libquorum's own limit on a transfer, and a little more. */
	worker.handover_until_ms = now +
		quorum_timing_hand_over_ms(quorum_timing_election_max_ms(pgq_election_timeout_ms)) +
		WORKER_HANDOVER_FACTS_MS * 10;
	return true;
}

/*
 * Told to stop: whether to leave now.  While a hand-over runs the loop goes
 * on, with fresh facts (the transfer waits for a sample taken after the
 * lease was given up).  Once another server leads, this one asks for an
 * immediate shutdown, as a deposed primary does (actions.c): a fast one
 * would write a shutdown checkpoint past the new leader's fork and stream
 * it to standbys still following here; pg_quorum_rejoin rewinds what is
 * left of it.  The postmaster's SIGQUIT then ends the worker.
 */
static bool
worker_stop_due(quorum_time_ms now)
{
	if (!worker.stopping)
	{
		worker.stopping = true;
		return !worker_hand_over_start(now);
	}
	if (worker.handed_over)
		return now >= worker.handover_until_ms;
	if (worker.election.leader[0] != '\0' && !worker_is_leader())
	{
		ereport(LOG,
				(errmsg("pg_quorum handed the leadership over to \"%s\"; stopping at once",
						worker.election.leader)));
		worker.handed_over = true;
		worker.handover_until_ms = now + WORKER_HANDOVER_QUIT_WAIT_MS;
		pgq_action_stop_server(true);
		return false;
	}
	if (now >= worker.handover_until_ms)
	{
		ereport(LOG,
				(errmsg("pg_quorum could not hand the leadership over before stopping"),
				 errdetail("No standby caught up and took it over in time."),
				 errhint("The other servers elect a leader once their election timeouts pass.")));
		return true;
	}
	worker.next_facts_ms = Min(worker.next_facts_ms, now + WORKER_HANDOVER_FACTS_MS);
	return false;
}

static long
worker_timeout_ms(quorum_time_ms now)
{
	long		timeout = quorum_runtime_timeout_ms(worker.rt, now);
	long		hurry = pgq_action_hurry_timeout_ms(now);

	if (worker.next_facts_ms <= now || worker.facts_due)
		return 0;
	if (worker.stopping)
		timeout = Min(timeout, (long) (worker.handover_until_ms > now ?
									   worker.handover_until_ms - now : 0));
	/* A vote waits for the WAL receiver to exit: look again soon. */
	if (worker.wal_stopping)
		timeout = Min(timeout, WORKER_WAL_STOP_POLL_MS);
	if (hurry >= 0)
		timeout = Min(timeout, hurry);
	return Min(timeout, (long) (worker.next_facts_ms - now));
}

/*
 * Start: validate every setting, open the gossip socket, and attach to
 * shared memory; FATAL on the first failure.
 */
static void
worker_start(void)
{
	struct quorum_runtime_config rc;
	char		errbuf[256];
	int			err;

	if (pgq_shared == NULL)
		ereport(FATAL,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_quorum shared memory is not initialized")));

	worker_configure(&rc);
	pgq_reconcile_init(worker.node_name, worker_record_election,
					   worker_reconcile_command);
	if (pgq_allow_plaintext)
		ereport(WARNING,
				(errmsg("pg_quorum gossip traffic is neither authenticated nor encrypted"),
				 errdetail(rc.node.keyring.count > 0 ?
						   "pg_quorum.allow_plaintext is on: datagrams are sealed, but unsealed ones are accepted." :
						   "pg_quorum.allow_plaintext is on and no pg_quorum.key_file is set."),
				 errhint("Set pg_quorum.key_file and turn pg_quorum.allow_plaintext off.")));

	/*
	 * allow_alter_system = off refuses ALTER SYSTEM, not this worker's own
	 * edits of postgresql.auto.conf (actions.c), without which a standby
	 * could not follow a new leader: they go on, and the operator is told.
	 */
	if (pgq_elections_enabled && !PGQ_ALTER_SYSTEM_ALLOWED())
		ereport(WARNING,
				(errmsg("pg_quorum writes \"%s\" although \"allow_alter_system\" is off",
						PG_AUTOCONF_FILENAME),
				 errdetail("Automatic failover sets primary_conninfo and synchronous_standby_names there."),
				 errhint("Leave both settings to pg_quorum, or set pg_quorum.failover to off.")));

	errbuf[0] = '\0';
	err = quorum_runtime_new(&rc, &worker.rt, errbuf, sizeof(errbuf));
	explicit_bzero(&rc.node.keyring, sizeof(rc.node.keyring));
	if (err == QUORUM_EIO)
		ereport(FATAL,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not open the gossip socket for parameter \"pg_quorum.listen\": \"%s\"",
						pgq_listen),
				 errdetail("%s", errbuf)));
	if (err != 0)
		ereport(FATAL,
				(errcode(pgq_errcode(err)),
				 errmsg("could not start pg_quorum node \"%s\"", worker.node_name),
				 pgq_errdetail_quorum(err, errbuf)));

	worker.members = MemoryContextAllocZero(TopMemoryContext,
											sizeof(PgqMember) * pgq_members_max);
	worker.seen_max = pgq_members_max * 2;
	worker.seen = MemoryContextAllocZero(TopMemoryContext,
										 sizeof(WorkerSeenMeta) * worker.seen_max);
	worker_attach();
	ereport(LOG,
			(errmsg("pg_quorum worker started: node \"%s\" in cluster \"%s\" gossiping on %s with %u seed(s)",
					worker.node_name, pgq_cluster, worker.listen_text, rc.n_seeds)));
}

/*
 * The node holds a vote back until this server takes no more WAL from the
 * old leader (node.h, stop_wal): stop the intake, and once the WAL
 * receiver has exited, report the position the vote is judged on.
 */
static void
worker_wal_intake(quorum_time_ms now)
{
	struct quorum_election_info info;
	struct quorum_meta facts;
	bool		stopped;
	int			rc;

	if (!pgq_elections_enabled ||
		quorum_node_election_get(quorum_runtime_node(worker.rt), &info) != 0)
		return;
	worker.wal_stopping = false;
	if (!pgq_action_wal_intake(info.stop_wal, info.leader[0] != '\0', now, &stopped) ||
		!info.stop_wal)
		return;
	if (!stopped)
	{
		worker.wal_stopping = true;
		return;
	}
	worker_read_facts(&facts);
	rc = quorum_runtime_wal_stopped(worker.rt, &facts, now);
	worker_check_persisted(rc);
	if (rc != 0)
		ereport(LOG,
				(errcode(pgq_errcode(rc)),
				 errmsg("pg_quorum could not report this node's WAL position for its vote"),
				 pgq_errdetail_quorum(rc, quorum_node_errmsg(quorum_runtime_node(worker.rt)))));
}

/*
 * One pass, after a wake-up: run the commands backends posted, feed fresh
 * facts, let the runtime do its pending work, carry out what the election
 * decided, and publish the snapshot.
 */
static void
worker_pass(bool reloaded)
{
	quorum_time_ms now = quorum_runtime_now_ms();
	const quorum_node *node = quorum_runtime_node(worker.rt);
	int			err;

	worker_run_commands(now);
	worker_refresh_facts(now, reloaded);
	/* The commands and facts above can take a while: read the clock again. */
	err = quorum_runtime_process(worker.rt, quorum_runtime_now_ms());
	worker_check_persisted(err);
	if (err != 0)
		ereport(FATAL,
				(errcode(pgq_errcode(err)),
				 errmsg("pg_quorum could not process gossip"),
				 pgq_errdetail_quorum(err, quorum_node_errmsg(node))));
	worker_wal_intake(quorum_runtime_now_ms());
	worker.facts_due |= pgq_reconcile(node, quorum_runtime_now_ms(),
									  &worker.election);
	pgq_action_hurry_recovery(quorum_runtime_now_ms());
	worker_publish(now);
	worker_log_drops(now);
}

void
pgq_worker_main(Datum main_arg)
{
	WaitEventSet *set;
	MemoryContext loop_cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, worker_sigterm);
	pqsignal(SIGQUIT, worker_sigquit);
	BackgroundWorkerUnblockSignals();

	worker_start();
	set = CreateWaitEventSet(NULL, 3);
	AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(set, WL_SOCKET_READABLE, quorum_runtime_fd(worker.rt), NULL, NULL);
	AddWaitEventToSet(set, WL_POSTMASTER_DEATH, PGINVALID_SOCKET, NULL, NULL);
	loop_cxt = AllocSetContextCreate(TopMemoryContext, "pg_quorum worker loop",
									 ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		WaitEvent	event;
		bool		reloaded = false;
		MemoryContext old;

		if (WaitEventSetWait(set, worker_timeout_ms(quorum_runtime_now_ms()),
							 &event, 1, PGQ_WAIT_EVENT_MAIN) == 1 &&
			(event.events & WL_POSTMASTER_DEATH))
			worker_resign_and_exit("the postmaster died", false);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();

		if (got_sigquit)
			worker_resign_and_exit("the server is restarting after a crash, or stopping at once", true);
		if (got_sigterm && worker_stop_due(quorum_runtime_now_ms()))
			worker_leave_and_exit();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			reloaded = true;
		}

		old = MemoryContextSwitchTo(loop_cxt);
		worker_pass(reloaded);
		MemoryContextSwitchTo(old);
		MemoryContextReset(loop_cxt);
	}
}
