/*-------------------------------------------------------------------------
 *
 * actions.c
 *	  Promote, follow, synchronous_standby_names and stop, each through
 *	  PostgreSQL's own mechanism, for the worker.
 *
 * Promotion is what pg_promote() does: create the "promote" signal file in
 * the data directory and send SIGUSR1 to the postmaster, which tells the
 * startup process to finish recovery.
 *
 * Following a new primary and keeping synchronous_standby_names both change
 * a setting in postgresql.auto.conf and send SIGHUP to the postmaster (since
 * PostgreSQL 13 the WAL receiver restarts on a primary_conninfo change, with
 * no server restart).  ALTER SYSTEM would need a database connection, and
 * the worker has none by design: it must run, gossip and follow while a
 * standby is still recovering, when no connection is possible (before a
 * consistent state, or with hot_standby = off).  A short-lived dynamic
 * worker with a connection would have the same problem and add a failure
 * mode.  So the worker rewrites the file the way ALTER SYSTEM does
 * (AlterSystemSetConfigFile() in guc.c): under AutoFileLock, so it never
 * races an ALTER SYSTEM; parse the current file with ParseConfigFp(), keep
 * every other line, replace the one setting, write postgresql.auto.conf.tmp
 * in ALTER SYSTEM's format, fsync it and durable_rename() it over the file.
 * A file that does not parse is left alone (LOG), never overwritten.
 *
 * The startup process sleeps up to wal_retrieve_retry_interval (5 s by
 * default) after its WAL source failed, and a promote request or a reload
 * wakes it once.  That one wake-up can be spent just before the sleep
 * begins: a reload (the strict synchronous_standby_names set right before
 * promoting, or a new primary_conninfo) restarts the WAL receiver, the
 * promote request then arrives while it is still connecting, and the
 * startup process, having noticed it there, sleeps the rest of the interval
 * before it ends recovery.  Likewise a follower whose first connection to
 * the new leader fails sleeps before its next.  So until recovery has ended
 * (after a promote request) or for a while after primary_conninfo changed
 * (while no WAL receiver streams), the worker keeps setting the startup
 * process's latch, as the WAL receiver does when WAL arrives: each wake-up
 * ends such a sleep, and one that finds nothing to do costs a loop.
 *
 * Nothing here may throw: the worker calls it between libquorum steps, and
 * failures are LOG messages that the worker retries on its next pass.
 *
 * extension/actions.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

/* signals, files and settings */
#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "access/xlogrecovery.h"
#include "common/controldata_utils.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/proc.h"
#include "storage/lwlock.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"

/* the standbys that stream from this server */
#include "replication/syncrep.h"
#include "replication/walsender.h"
#include "replication/walreceiver.h"
#include "replication/walsender_private.h"
#include "storage/spin.h"
#include "utils/backend_status.h"

#include "lib/stringinfo.h"

#include "quorum/quorum.h"

#include "actions.h"
#include "guc.h"
#include "pg_compat.h"
#include "timeline_history.h"

#define AUTO_CONF_TMP PG_AUTOCONF_FILENAME ".tmp"

/* How often the startup process is woken while a promotion is pending, ms. */
#define HURRY_PROMOTE_EVERY_MS 20
/*
 * After primary_conninfo changed, while no WAL receiver streams: every
 * HURRY_FOLLOW_EVERY_MS during the first HURRY_FOLLOW_FAST_MS, then every
 * HURRY_FOLLOW_SLOW_EVERY_MS until HURRY_FOLLOW_MS, so that a leader that
 * stays unreachable costs a few failed connections, not one per wake-up.
 */
#define HURRY_FOLLOW_EVERY_MS 50
#define HURRY_FOLLOW_FAST_MS 2000
#define HURRY_FOLLOW_SLOW_EVERY_MS 500
#define HURRY_FOLLOW_MS 10000

static struct
{
	bool		promoting;		/* a promote request is pending */
	bool		follow_changed; /* primary_conninfo changed since last pass */
	quorum_time_ms follow_since_ms; /* 0: not hurrying a follower */
	quorum_time_ms next_ms;		/* next wake-up */
}			hurry;

bool
pgq_action_promote(void)
{
	FILE	   *f;

	if (!RecoveryInProgress())
		return true;
	f = AllocateFile(PROMOTE_SIGNAL_FILE, "w");
	if (f == NULL)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", PROMOTE_SIGNAL_FILE)));
		return false;
	}
	if (FreeFile(f) != 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", PROMOTE_SIGNAL_FILE)));
		return false;
	}
	if (kill(PostmasterPid, SIGUSR1) != 0)
	{
		ereport(LOG,
				(errmsg("could not send the promote signal to the postmaster: %m")));
		(void) unlink(PROMOTE_SIGNAL_FILE);
		return false;
	}
	hurry.promoting = true;
	hurry.next_ms = 0;
	return true;
}

static WalRcvState
actions_wal_receiver_state(void)
{
	WalRcvState state;

	SpinLockAcquire(&WalRcv->mutex);
	state = WalRcv->walRcvState;
	SpinLockRelease(&WalRcv->mutex);
	return state;
}

/*
 * Whether this standby has replayed all the WAL it holds itself.  Started
 * again, it replays its own pg_wal from its last restartpoint first, and
 * reports how far that has got, far short of what it holds; its WAL
 * receiver, which would show what it took in, has not run yet.  The
 * startup process starts a WAL receiver, or waits to try the sources
 * again, only when it found no more WAL of its own; either shows that the
 * replay position is the end of this server's WAL.  (A replay paused by
 * recovery_min_apply_delay or pg_wal_replay_pause() shows neither, and
 * such a standby holds its vote until it takes WAL in again.)
 */
static bool
actions_own_wal_replayed(void)
{
	if (GetWalRcvFlushRecPtr(NULL, NULL) != InvalidXLogRecPtr)
		return true;
	for (uint32 i = 0; i < ProcGlobal->allProcCount; i++)
	{
		uint32		waiting = *(volatile uint32 *) &ProcGlobal->allProcs[i].wait_event_info;

		if (waiting == WAIT_EVENT_RECOVERY_RETRIEVE_RETRY_INTERVAL ||
			waiting == WAIT_EVENT_RECOVERY_WAL_STREAM)
			return true;
	}
	return false;
}

/* Whether the startup process should still be woken, as of now. */
static bool
actions_hurrying(quorum_time_ms now)
{
	if (!RecoveryInProgress())
	{
		memset(&hurry, 0, sizeof(hurry));
		return false;
	}
	if (hurry.follow_changed)
	{
		hurry.follow_changed = false;
		hurry.follow_since_ms = now;
		hurry.next_ms = now;
	}
	if (hurry.follow_since_ms != 0 && now - hurry.follow_since_ms >= HURRY_FOLLOW_MS)
		hurry.follow_since_ms = 0;
	return hurry.promoting || hurry.follow_since_ms != 0;
}

void
pgq_action_hurry_recovery(quorum_time_ms now)
{
	if (!actions_hurrying(now) || now < hurry.next_ms)
		return;
	if (hurry.promoting)
		hurry.next_ms = now + HURRY_PROMOTE_EVERY_MS;
	else if (now - hurry.follow_since_ms < HURRY_FOLLOW_FAST_MS)
		hurry.next_ms = now + HURRY_FOLLOW_EVERY_MS;
	else
		hurry.next_ms = now + HURRY_FOLLOW_SLOW_EVERY_MS;
	/* A streaming WAL receiver wakes the startup process itself. */
	if (!hurry.promoting && actions_wal_receiver_state() == WALRCV_STREAMING)
		return;
	WakeupRecovery();
}

bool
pgq_action_standby_consistent(void)
{
	static bool consistent = false;	/* it stays so until the next crash */
	ControlFileData *control;
	bool		crc_ok;
	XLogRecPtr	replayed;

	if (consistent)
		return true;
	replayed = GetXLogReplayRecPtr(NULL);
	control = get_controlfile(DataDir, &crc_ok);
	/* A torn read while the startup process writes it: not this time. */
	consistent = crc_ok && replayed != InvalidXLogRecPtr &&
		control->minRecoveryPoint <= replayed &&
		control->backupStartPoint == InvalidXLogRecPtr &&
		!control->backupEndRequired;
	pfree(control);
	return consistent;
}

/*
 * Whether the startup process has taken this server's promote request in.
 * From then on it sleeps at most once more before it ends recovery (its
 * retry wait, after stopping the WAL receiver), and the wake-up sent here,
 * after it last reset its latch before that sleep, ends that sleep at
 * once: so the worker may then spend a while on other work (creating
 * slots, with fsyncs) without its periodic wake-ups.
 */
bool
pgq_action_promotion_seen(void)
{
	if (!RecoveryInProgress())
		return true;
	if (!hurry.promoting || !PromoteIsTriggered())
		return false;
	WakeupRecovery();
	return true;
}

long
pgq_action_hurry_timeout_ms(quorum_time_ms now)
{
	if (!actions_hurrying(now))
		return -1;
	return hurry.next_ms > now ? (long) (hurry.next_ms - now) : 0;
}

/*
 * The whole of a small file into buf (initialized here), false if it does
 * not exist, cannot be read (LOG) or is longer than max bytes.
 */
static bool
actions_read_file(const char *path, StringInfo buf, size_t max)
{
	FILE	   *f = AllocateFile(path, "r");
	char		chunk[1024];
	size_t		n;
	bool		ok;

	if (f == NULL)
	{
		if (errno != ENOENT)
			ereport(LOG,
					(errcode_for_file_access(),
					 errmsg("could not open file \"%s\": %m", path)));
		return false;
	}
	initStringInfo(buf);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && buf->len + n <= max)
		appendBinaryStringInfo(buf, chunk, n);
	ok = !ferror(f) && n == 0;
	if (ferror(f))
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not read file \"%s\": %m", path)));
	FreeFile(f);
	if (!ok)
		pfree(buf->data);
	return ok;
}

void
pgq_action_stop_server(bool immediate)
{
	/*
	 * SIGQUIT: immediate shutdown, for a deposed primary.  A fast shutdown
	 * would write a shutdown checkpoint and have the WAL senders stream it:
	 * a standby still following this server would then go past the point
	 * where the new leader's timeline forks and could not follow it.  It
	 * would also wait for WAL senders whose connections a partition left
	 * half open, for as long as TCP retries (tens of seconds).  Nothing of
	 * this server's WAL past the fork is wanted: pg_quorum_rejoin rewinds it
	 * (pg_rewind finishes the crash recovery first).
	 *
	 * SIGINT: fast shutdown, for a standby.  It writes no WAL, and pg_rewind
	 * needs a standby shut down cleanly: its crash recovery in single-user
	 * mode refuses standby.signal.
	 */
	if (kill(PostmasterPid, immediate ? SIGQUIT : SIGINT) != 0)
		ereport(LOG, (errmsg("could not ask the postmaster to shut down: %m")));
}

/*
 * Whether this standby's replay went past the point where the timeline
 * history of leader_tli forks off the timeline it replays: the startup
 * process then never follows that timeline ("new timeline forked off
 * current database system timeline before current recovery point") and
 * only a rewind makes it a standby of the leader again.  A standby gets
 * there by taking in an old primary's last WAL after the new leader's
 * fork (it was cut off from the election, or still followed a server
 * that stopped).  The WAL receiver fetches the leader's history file into
 * pg_wal when it connects; until it has, nothing is known (false).  A file
 * that does not parse decides nothing either.
 */
bool
pgq_action_replay_forked(uint32 leader_tli, PgqReplayFork *fork)
{
	char		path[MAXPGPATH];
	StringInfoData text;
	PgqTimeline history[PGQ_TIMELINES_MAX];
	int			n;

	fork->replayed = GetXLogReplayRecPtr(&fork->tli);
	fork->fork = 0;
	if (leader_tli <= fork->tli || fork->replayed == InvalidXLogRecPtr)
		return false;
	TLHistoryFilePath(path, leader_tli);
	if (!actions_read_file(path, &text, PGQ_TIMELINES_MAX * 128))
		return false;
	n = pgq_timeline_history_parse(text.data, leader_tli, history, lengthof(history));
	pfree(text.data);
	if (n < 0)
	{
		ereport(LOG,
				(errmsg("pg_quorum ignores timeline history file \"%s\": it does not parse", path)));
		return false;
	}
	return pgq_timeline_forked_before(history, n, fork->tli, fork->replayed, &fork->fork);
}

/* value escaped as ALTER SYSTEM writes it: quotes doubled, in quotes. */
static void
actions_append_quoted(StringInfo buf, const char *value)
{
	appendStringInfoChar(buf, '\'');
	for (const char *p = value; *p != '\0'; p++)
	{
		if (*p == '\'')
			appendStringInfoChar(buf, '\'');
		appendStringInfoChar(buf, *p);
	}
	appendStringInfoChar(buf, '\'');
}

static bool
actions_write_file(const char *path, const char *data, int len, bool durable)
{
	int			fd = OpenTransientFile(path, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY);

	if (fd < 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", path)));
		return false;
	}
	errno = 0;
	if (write(fd, data, len) != len)
	{
		if (errno == 0)
			errno = ENOSPC;
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", path)));
		CloseTransientFile(fd);
		return false;
	}
	if (durable && pg_fsync(fd) != 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not fsync file \"%s\": %m", path)));
		CloseTransientFile(fd);
		return false;
	}
	if (CloseTransientFile(fd) != 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not close file \"%s\": %m", path)));
		return false;
	}
	return true;
}

/*
 * Set name = value in postgresql.auto.conf, as ALTER SYSTEM SET does, or
 * remove the setting when value is NULL (ALTER SYSTEM RESET), and keep every
 * other setting.  The file is left alone when it already says so.  false
 * (after a LOG) if the file could not be read, parsed or written.
 */
static bool
actions_set_auto_conf(const char *name, const char *value, bool *written)
{
	ConfigVariable *head = NULL;
	ConfigVariable *tail = NULL;
	StringInfoData buf;
	FILE	   *in;
	bool		ok = true;
	int			n_same = 0;
	int			n_found = 0;

	if (written != NULL)
		*written = false;

	LWLockAcquire(AutoFileLock, LW_EXCLUSIVE);

	in = AllocateFile(PG_AUTOCONF_FILENAME, "r");
	if (in == NULL && errno != ENOENT)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", PG_AUTOCONF_FILENAME)));
		ok = false;
	}
	else if (in != NULL)
	{
		ok = ParseConfigFp(in, PG_AUTOCONF_FILENAME, 0, LOG, &head, &tail);
		FreeFile(in);
		if (!ok)
			ereport(LOG,
					(errmsg("could not set \"%s\": file \"%s\" contains errors",
							name, PG_AUTOCONF_FILENAME),
					 errhint("Correct the file, for example with ALTER SYSTEM RESET, so that pg_quorum can update it.")));
	}

	for (ConfigVariable *item = head; ok && item != NULL; item = item->next)
	{
		if (pg_strcasecmp(item->name, name) != 0)
			continue;
		n_found++;
		if (value != NULL && strcmp(item->value, value) == 0)
			n_same++;
	}
	if (ok && n_found == (value != NULL ? 1 : 0) && n_same == n_found)
	{
		LWLockRelease(AutoFileLock);
		FreeConfigVariables(head);
		return true;
	}

	if (ok)
	{
		initStringInfo(&buf);
		appendStringInfoString(&buf, "# Do not edit this file manually!\n");
		appendStringInfoString(&buf, "# It will be overwritten by the ALTER SYSTEM command.\n");
		for (ConfigVariable *item = head; item != NULL; item = item->next)
		{
			if (pg_strcasecmp(item->name, name) == 0)
				continue;
			appendStringInfo(&buf, "%s = ", item->name);
			actions_append_quoted(&buf, item->value);
			appendStringInfoChar(&buf, '\n');
		}
		if (value != NULL)
		{
			appendStringInfo(&buf, "%s = ", name);
			actions_append_quoted(&buf, value);
			appendStringInfoChar(&buf, '\n');
		}

		ok = actions_write_file(AUTO_CONF_TMP, buf.data, buf.len, true) &&
			durable_rename(AUTO_CONF_TMP, PG_AUTOCONF_FILENAME, LOG) == 0;
		if (!ok)
			(void) unlink(AUTO_CONF_TMP);
		else if (written != NULL)
			*written = true;
		pfree(buf.data);
	}
	LWLockRelease(AutoFileLock);
	FreeConfigVariables(head);
	return ok;
}

static bool
actions_reload(void)
{
	if (kill(PostmasterPid, SIGHUP) != 0)
	{
		ereport(LOG, (errmsg("could not ask the postmaster to reload: %m")));
		return false;
	}
	return true;
}

/*
 * A vote stops the WAL intake (the node's stop_wal, see node.h): the
 * primary_conninfo in force is kept here, primary_conninfo is emptied and
 * the server reloaded, and the intake counts as stopped once the WAL
 * receiver has exited: the startup process stops it when primary_conninfo
 * changes, and starts none while it is empty.  When the node no longer
 * asks, the kept value comes back on the next pass (the old leader, if
 * nobody won), unless the reconciler re-points this standby to a new
 * leader first (pgq_action_follow(), later in the same pass): restoring
 * the old leader's value first would start a WAL receiver towards a dead
 * primary, which the startup process must stop again (and then sleep
 * until woken) before it can stream from the new one.
 *
 * The kept value is also in INTAKE_FILE, written before primary_conninfo
 * is emptied and removed once it is back, since the empty value is durable
 * and the node's stop is not: a worker restarted during the stop (or the
 * server) takes the stop over from the file.  Its node no longer knows when
 * it voted, so the value comes back once a leader is known (the reconciler
 * then follows it) or once a whole stop has passed since this start, the
 * longest the vote can still elect anyone (node.h, stop_wal: three maximum
 * election timeouts); a new stop meanwhile lets the node decide again.  The
 * file names its node: a copy pg_basebackup or pg_rewind brought from
 * another server is removed unused.
 */
#define INTAKE_FILE "pg_quorum.intake"
#define INTAKE_TMP_FILE INTAKE_FILE ".tmp"

static struct
{
	bool		active;
	bool		looked;			/* INTAKE_FILE of an earlier run looked for */
	bool		resuming;		/* restore kept on the next call */
	quorum_time_ms resume_ms;	/* taken over: not before, without a leader */
	char	   *kept;			/* in TopMemoryContext */
}			intake;

/* More timeline IDs than a promotion skips for a member: its metadata is wrong. */
#define ACTIONS_SKIP_TIMELINES_MAX 64
/* More than it skips to reach its term: the term is far past every timeline. */
#define ACTIONS_TERM_TIMELINES_MAX 4096

/*
 * Make this standby's promotion, for the leader of term, take a timeline
 * ID no other promotion can take: the term itself, and in any case one
 * above taken, which member who has used.
 *
 * PostgreSQL takes the ID after the newest history file in its own
 * pg_wal, so two servers promoted from the same timeline, neither with
 * the other's history file (the first was killed or cut off before anyone
 * streamed from it), take the same ID for different WAL.  Nothing tells
 * those timelines apart afterwards: pg_rewind compares IDs and rewinds
 * nothing, and a standby of one replays the other's WAL from wherever its
 * own ended, where it finds no valid record (it never follows) or, worse,
 * one (the histories mix).  Gossip about a member's timeline (taken) does
 * not close that: a leader killed before its gossip reached anyone leaves
 * an ID nobody knows of.  A term has one leader, and a leader promotes
 * once in its term, so a promotion that takes its term's ID can collide
 * with no other.  A timeline is only ever started by a leader of a later
 * term than the timeline it leaves, so in a cluster whose timelines all
 * came from such promotions the term is always past this server's
 * timeline; where it is not (timelines made before pg_quorum ran, or by
 * hand), the promotion falls back to the ID above taken, and says so.
 *
 * The IDs below the one wanted are filled with history files that hold
 * only a comment: for PostgreSQL a history of their own timeline alone,
 * which the startup process refuses to follow ("not a child of this
 * timeline") until its promotion skips past them.  They are not made
 * durable: only this promotion reads them, and the new timeline's own
 * history file, which PostgreSQL does make durable, is what later
 * promotions count from.  Failing, this logs and leaves the promotion to
 * take the ID it would.
 */
void
pgq_action_skip_timelines(uint64 term, uint32 taken, const char *who)
{
	char		path[MAXPGPATH];
	char		tmp[MAXPGPATH];
	StringInfoData text;
	TimeLineID	replay_tli;
	uint32		next;
	uint32		first;
	uint32		last;

	/*
	 * Not before replay has begun: the replay timeline is 0 then, and the
	 * IDs from 1 up include the timelines this server's own WAL is on.
	 */
	(void) GetXLogReplayRecPtr(&replay_tli);
	if (replay_tli == 0)
		return;
	if (taken > replay_tli && taken - replay_tli >= ACTIONS_SKIP_TIMELINES_MAX)
	{
		ereport(LOG,
				(errmsg("pg_quorum does not skip timeline IDs up to %u for this promotion: too many",
						taken),
				 errdetail("Member \"%s\" gossips timeline %u; this server is on timeline %u, and at most %d IDs are skipped for a member.",
						   who, taken, replay_tli, ACTIONS_SKIP_TIMELINES_MAX)));
		taken = 0;
	}
	last = taken;
	if (term > replay_tli && term - replay_tli <= ACTIONS_TERM_TIMELINES_MAX)
		last = Max(last, (uint32) term - 1);
	else
		ereport(LOG,
				(errmsg("pg_quorum cannot give this promotion the timeline ID of its term " UINT64_FORMAT,
						term),
				 errdetail("This server is on timeline %u; at most %d IDs are skipped to reach the term.  The promotion takes the next ID no member is known to have used, which a leader killed before its gossip reached anyone may have used too.",
						   replay_tli, ACTIONS_TERM_TIMELINES_MAX)));

	/*
	 * A history file that is there is never replaced: it may be a real one
	 * (pg_rewind copies the leader's, the WAL receiver fetches them), which
	 * the startup process needs to follow its timeline.  The fault
	 * campaign's seed 215 replaced one and the promotion ended in "could not
	 * locate a valid checkpoint record".
	 */
	first = 0;
	initStringInfo(&text);
	for (next = replay_tli + 1; next <= last; next++)
	{
		struct stat sb;

		TLHistoryFilePath(path, next);
		if (stat(path, &sb) == 0)
			continue;
		if (first == 0)
			first = next;
		resetStringInfo(&text);
		appendStringInfo(&text,
						 "# pg_quorum: timeline ID %u is below %u, the one the leader of term " UINT64_FORMAT " promotes to; no server's WAL is on it here.\n",
						 next, last + 1, term);
		snprintf(tmp, sizeof(tmp), "%s.pg_quorum.tmp", path);
		if (!actions_write_file(tmp, text.data, text.len, false))
			break;
		if (rename(tmp, path) != 0)
		{
			ereport(LOG,
					(errcode_for_file_access(),
					 errmsg("could not rename file \"%s\" to \"%s\": %m", tmp, path)));
			break;
		}
	}
	pfree(text.data);
	if (next <= last || first == 0)
		return;
	if (last == taken)
		ereport(LOG,
				(errmsg("pg_quorum skips timeline IDs %u to %u for this promotion: member \"%s\" has been on timeline %u",
						first, last, who, taken),
				 errdetail("Two servers on one timeline ID with different WAL cannot be told apart, by pg_rewind or by their standbys.")));
	else
		ereport(LOG,
				(errmsg("pg_quorum skips timeline IDs %u to %u for this promotion: the leader of term " UINT64_FORMAT " promotes to timeline " UINT64_FORMAT,
						first, last, term, term),
				 errdetail("Each term has one leader, so no other promotion takes that timeline ID.")));
}

bool
pgq_action_follow(const char *leader_conninfo, const char *self, bool *changed)
{
	StringInfoData want;
	bool		ok = true;

	*changed = false;
	/* libpq takes the last of a repeated keyword, so ours wins. */
	initStringInfo(&want);
	appendStringInfo(&want, "%s application_name='", leader_conninfo);
	for (const char *p = self; *p != '\0'; p++)
	{
		if (*p == '\'' || *p == '\\')
			appendStringInfoChar(&want, '\\');
		appendStringInfoChar(&want, *p);
	}
	appendStringInfoChar(&want, '\'');

	/*
	 * The file decides, not this process's setting: that lags until the
	 * worker has taken its own reload in, and a leader known right after
	 * the intake was stopped for a vote found the setting still at the
	 * leader's conninfo while the file said '' (the standby then never
	 * took WAL in again).
	 */
	{
		bool		written = false;

		ok = actions_set_auto_conf("primary_conninfo", want.data, &written);
		if (ok && (written || PrimaryConnInfo == NULL || strcmp(PrimaryConnInfo, want.data) != 0))
		{
			ok = actions_reload();
			*changed = ok;
			hurry.follow_changed |= ok;
		}
	}
	/* The new leader's conninfo replaces the one a resuming intake kept. */
	if (ok && intake.resuming)
	{
		intake.active = false;
		intake.resuming = false;
		(void) durable_unlink(INTAKE_FILE, LOG);
		ereport(LOG,
				(errmsg("pg_quorum resumed this standby's WAL intake")));
	}
	pfree(want.data);
	return ok;
}

static void
intake_keep(const char *conninfo)
{
	if (intake.kept != NULL)
		pfree(intake.kept);
	intake.kept = MemoryContextStrdup(TopMemoryContext, conninfo);
}

/* INTAKE_FILE: this node's name, a newline, the kept primary_conninfo. */
static bool
intake_save(void)
{
	StringInfoData buf;
	bool		ok;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s\n%s", pgq_effective_node_name(), intake.kept);
	ok = actions_write_file(INTAKE_TMP_FILE, buf.data, buf.len, true) &&
		durable_rename(INTAKE_TMP_FILE, INTAKE_FILE, LOG) == 0;
	pfree(buf.data);
	return ok;
}

static void
intake_take_over(quorum_time_ms now)
{
	StringInfoData buf;
	char	   *conninfo;

	intake.looked = true;
	if (!actions_read_file(INTAKE_FILE, &buf, MaxAllocSize - 1))
		return;
	conninfo = strchr(buf.data, '\n');
	if (conninfo != NULL)
		*conninfo++ = '\0';
	if (conninfo == NULL || strcmp(buf.data, pgq_effective_node_name()) != 0)
	{
		ereport(LOG,
				(errmsg("pg_quorum removed file \"%s\", which another node wrote", INTAKE_FILE)));
		(void) durable_unlink(INTAKE_FILE, LOG);
	}
	else
	{
		intake_keep(conninfo);
		intake.active = true;
		intake.resume_ms = now +
			quorum_timing_wal_stop_ms(quorum_timing_election_max_ms(pgq_election_timeout_ms));
		ereport(LOG,
				(errmsg("pg_quorum found this standby's WAL intake stopped for a vote by an earlier run"),
				 errdetail("It resumes once a leader is known, or in %lld ms without one.",
						   (long long) (intake.resume_ms - now))));
	}
	pfree(buf.data);
}

bool
pgq_action_wal_intake(bool stop, bool leader_known, quorum_time_ms now,
					  bool *stopped)
{
	*stopped = false;
	if (!intake.looked)
		intake_take_over(now);
	if (!RecoveryInProgress())
	{
		/* A primary takes no WAL; the fence stops its own writes. */
		if (intake.active)
			(void) durable_unlink(INTAKE_FILE, LOG);
		intake.active = false;
		intake.resuming = false;
		*stopped = stop;
		return true;
	}
	if (stop)
	{
		intake.resume_ms = 0;
		intake.resuming = false;
	}
	if (stop && !intake.active)
	{
		intake_keep(PrimaryConnInfo != NULL ? PrimaryConnInfo : "");
		if (!intake_save() ||
			!actions_set_auto_conf("primary_conninfo", "", NULL) || !actions_reload())
			return false;
		intake.active = true;
		ereport(LOG,
				(errmsg("pg_quorum stopped this standby's WAL intake before it votes"),
				 errdetail("A vote promises what this server holds when it votes; it takes no more WAL until a leader is known.")));
	}
	else if (!stop && intake.active && !intake.resuming &&
			 (leader_known || now >= intake.resume_ms))
		intake.resuming = true;
	else if (!stop && intake.active && intake.resuming)
	{
		bool		changed;

		if (!pgq_action_set_setting("primary_conninfo",
									intake.kept[0] != '\0' ? intake.kept : NULL, &changed))
			return false;
		intake.active = false;
		intake.resuming = false;
		(void) durable_unlink(INTAKE_FILE, LOG);
		hurry.follow_changed |= changed;
		ereport(LOG,
				(errmsg("pg_quorum resumed this standby's WAL intake")));
	}
	/*
	 * Emptied by this pass's reload only once the worker has reloaded too.
	 * Never during crash recovery: the position a vote is judged on is then
	 * how far redo has got, not the end of the WAL this server holds, which
	 * is only known once redo is done (the fault campaign's seed 216: a
	 * primary killed and started again voted for a standby without the
	 * commits it had acknowledged).  The vote waits until recovery ends.
	 * Nor, for the same reason, while a standby started again still
	 * replays its own pg_wal (actions_own_wal_replayed()).
	 */
	*stopped = stop && GetRecoveryState() != RECOVERY_STATE_CRASH &&
		(PrimaryConnInfo == NULL || PrimaryConnInfo[0] == '\0') &&
		actions_wal_receiver_state() == WALRCV_STOPPED &&
		actions_own_wal_replayed();
	return true;
}

bool
pgq_action_set_sync_names(const char *value, bool *changed)
{
	*changed = false;
	if (SyncRepStandbyNames != NULL && strcmp(SyncRepStandbyNames, value) == 0)
		return true;
	if (!actions_set_auto_conf("synchronous_standby_names", value, NULL) ||
		!actions_reload())
		return false;
	*changed = true;
	return true;
}

bool
pgq_action_set_setting(const char *name, const char *value, bool *changed)
{
	*changed = false;
	if (!actions_set_auto_conf(name, value, changed))
		return false;
	return !*changed || actions_reload();
}

int
pgq_action_streaming_standbys(char (*names)[QUORUM_NAME_MAX + 1], uint64 *flush,
							  int max)
{
	pid_t		pids[128];
	XLogRecPtr	flushed[128];
	int			n_pids = 0;
	int			n = 0;
	int			backends;

	if (WalSndCtl == NULL)
		return 0;
	for (int i = 0; i < max_wal_senders && n_pids < (int) lengthof(pids); i++)
	{
		WalSnd	   *w = &WalSndCtl->walsnds[i];
		pid_t		pid;
		WalSndState state;
		XLogRecPtr	f;

		SpinLockAcquire(&w->mutex);
		pid = w->pid;
		state = w->state;
		f = w->flush;
		SpinLockRelease(&w->mutex);
		if (pid != 0 && state == WALSNDSTATE_STREAMING)
		{
			flushed[n_pids] = f;
			pids[n_pids++] = pid;
		}
	}
	if (n_pids == 0)
		return 0;

	/* application_name lives in the backend status array; take a fresh copy. */
	pgstat_clear_backend_activity_snapshot();
	backends = pgstat_fetch_stat_numbackends();
	for (int b = 1; b <= backends && n < max; b++)
	{
		LocalPgBackendStatus *local = pgstat_get_local_beentry_by_index(b);

		if (local == NULL)
			continue;
		for (int i = 0; i < n_pids; i++)
		{
			if (local->backendStatus.st_procpid == pids[i] &&
				local->backendStatus.st_appname != NULL &&
				local->backendStatus.st_appname[0] != '\0')
			{
				strlcpy(names[n], local->backendStatus.st_appname,
						QUORUM_NAME_MAX + 1);
				flush[n++] = flushed[i];
				break;
			}
		}
	}
	pgstat_clear_backend_activity_snapshot();
	return n;
}

int
pgq_sync_quorum(unsigned n_voters)
{
	/*
	 * A commit is on the leader and k standbys.  Any majority that can elect
	 * a successor (a majority of the n_voters) among the other n_voters - 1
	 * voters includes one of those k if k >= n_voters - majority.
	 */
	int			k = (int) n_voters - (int) (n_voters / 2 + 1);

	return Max(k, 1);
}

bool
pgq_sync_names(int k, char (*names)[QUORUM_NAME_MAX + 1], int n, char *out,
			   size_t out_len)
{
	StringInfoData buf;
	bool		fits;

	if (k <= 0 || n <= 0)
	{
		out[0] = '\0';
		return true;
	}
	initStringInfo(&buf);
	appendStringInfo(&buf, "ANY %d (", k);
	for (int i = 0; i < n; i++)
	{
		appendStringInfoString(&buf, i > 0 ? ", \"" : "\"");
		for (const char *p = names[i]; *p != '\0'; p++)
		{
			if (*p == '"')
				appendStringInfoChar(&buf, '"');
			appendStringInfoChar(&buf, *p);
		}
		appendStringInfoChar(&buf, '"');
	}
	appendStringInfoChar(&buf, ')');
	fits = strlen(buf.data) < out_len;
	strlcpy(out, fits ? buf.data : "", out_len);
	pfree(buf.data);
	return fits;
}
