/*-------------------------------------------------------------------------
 *
 * state.c
 *	  Durable state of the local node: the incarnation and the election's
 *	  record (term, vote, decision log), in a small text file in the data
 *	  directory.
 *
 * libquorum asks for this record to be made durable before it sends
 * anything that reveals it, so that a restarted node always starts above
 * every incarnation it ever used and never votes twice in one term.  The
 * file is replaced atomically (write a temporary file, fsync, rename, fsync
 * the directory), so a crash leaves either the old or the new record, never
 * a torn one, and term, vote and log always agree.
 *
 * The format is one "key=value" per line: node_name, incarnation, term,
 * voted_for, snapshot ("index term config_id paused"), one voter= line per
 * voter of the snapshot, and one entry= line ("term type name") per log
 * entry after it.  Names contain no control characters (pgq_check_name),
 * so a line holds one name whole.
 *
 * The file records the node name too.  pg_basebackup and pg_rewind copy it
 * along with the data directory; a copy started under another node_name
 * must not inherit the source's identity, term or vote, so it ignores a
 * file written for another name and starts as a new member (it learns the
 * cluster's voter set from the leader).  pg_quorum_rejoin keeps a node's own
 * file across pg_rewind.  Without a file of its own, though, a node cannot know
 * whether it is new or an old member rebuilt from another server's copy
 * (a standby re-cloned under its old name, a rewound old primary), and
 * starting at 1 would then put it below the incarnation and boot its peers
 * remember, so they would ignore it as stale.  It starts instead at the
 * wall clock in milliseconds since the Unix epoch: above any earlier run's
 * incarnation unless that run refuted suspicions more than a thousand
 * times a second.
 *
 * extension/state.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* files */
#include "lib/stringinfo.h"
#include "storage/fd.h"
#include "utils/timestamp.h"

#include "quorum/quorum.h"

#include "pg_compat.h"
#include "state.h"

#define STATE_TMP_FILE PGQ_STATE_FILE ".tmp"
#define STATE_HEADER "# pg_quorum durable state; written by the pg_quorum worker, do not edit\n"
/* Largest file: a full log and voter set of long names; anything larger is
 * not ours. */
#define STATE_BYTES_MAX 32768

static void
state_malformed(const char *why)
{
	ereport(FATAL,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("invalid pg_quorum state file \"%s\"", PGQ_STATE_FILE),
			 errdetail("%s", why),
			 errhint("If the file was edited or damaged, restore it, or remove it to start this node as a new member.")));
}

static uint64
state_u64(const char *text, const char *what)
{
	char	   *end;
	uint64		v;

	errno = 0;
	v = strtou64(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0')
		state_malformed(psprintf("The %s is not a number.", what));
	return v;
}

static void
state_name(char *dst, const char *src, bool empty_ok, const char *what)
{
	if (strlen(src) > QUORUM_NAME_MAX || (!empty_ok && src[0] == '\0'))
		state_malformed(psprintf("The %s is not a valid node name.", what));
	strlcpy(dst, src, QUORUM_NAME_MAX + 1);
}

bool
pgq_state_load(const char *node_name, struct quorum_durable *durable)
{
	struct quorum_election_durable *e = &durable->election;
	char	   *buf;
	char		name[QUORUM_NAME_MAX + 1];
	bool		have_name = false;
	bool		have_incarnation = false;
	int			fd;
	int			len;
	char	   *line;
	char	   *save;

	memset(durable, 0, sizeof(*durable));
	fd = OpenTransientFile(PGQ_STATE_FILE, O_RDONLY | PG_BINARY);
	if (fd < 0)
	{
		if (errno == ENOENT)
			return false;
		ereport(FATAL,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", PGQ_STATE_FILE)));
	}
	buf = palloc(STATE_BYTES_MAX + 2);
	len = read(fd, buf, STATE_BYTES_MAX + 1);
	if (len < 0)
		ereport(FATAL,
				(errcode_for_file_access(),
				 errmsg("could not read file \"%s\": %m", PGQ_STATE_FILE)));
	CloseTransientFile(fd);
	if (len > STATE_BYTES_MAX)
		state_malformed("The file is too large.");
	buf[len] = '\0';

	for (line = strtok_r(buf, "\n", &save); line != NULL;
		 line = strtok_r(NULL, "\n", &save))
	{
		char	   *value = strchr(line, '=');

		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (value == NULL)
			state_malformed("The file contains a line without '='.");
		*value++ = '\0';
		if (strcmp(line, "node_name") == 0)
		{
			state_name(name, value, false, "node name");
			have_name = true;
		}
		else if (strcmp(line, "incarnation") == 0)
		{
			durable->incarnation = state_u64(value, "incarnation");
			have_incarnation = true;
		}
		else if (strcmp(line, "term") == 0)
			e->term = state_u64(value, "term");
		else if (strcmp(line, "voted_for") == 0)
			state_name(e->voted_for, value, true, "vote");
		else if (strcmp(line, "snapshot") == 0)
		{
			unsigned long long index,
						term,
						config_id;
			int			paused,
						n = 0;

			if (sscanf(value, "%llu %llu %llx %d%n", &index, &term, &config_id,
					   &paused, &n) != 4 || value[n] != '\0' ||
				(paused != 0 && paused != 1))
				state_malformed("The snapshot line is not \"index term config_id paused\".");
			e->snap.index = index;
			e->snap.term = term;
			e->snap.config_id = config_id;
			e->snap.paused = paused == 1;
		}
		else if (strcmp(line, "voter") == 0)
		{
			if (e->snap.n_voters >= QUORUM_VOTERS_MAX)
				state_malformed("The file lists too many voters.");
			state_name(e->snap.voters[e->snap.n_voters++], value, false, "voter");
		}
		else if (strcmp(line, "entry") == 0)
		{
			struct quorum_decision *d;
			unsigned long long term;
			unsigned	type;
			int			n = 0;

			if (e->n_entries >= QUORUM_LOG_MAX)
				state_malformed("The file holds too many log entries.");
			if (sscanf(value, "%llu %u%n", &term, &type, &n) != 2 ||
				(value[n] != ' ' && value[n] != '\0') ||
				type < QUORUM_DECISION_NOOP || type > QUORUM_DECISION_SWITCHOVER)
				state_malformed("A log entry is not \"term type name\".");
			d = &e->entries[e->n_entries++];
			d->term = term;
			d->type = (uint8_t) type;
			state_name(d->name, value[n] == ' ' ? value + n + 1 : "", true,
					   "log entry's name");
		}
		else
			state_malformed("The file contains an unknown line.");
	}
	pfree(buf);
	if (!have_name || !have_incarnation)
		state_malformed("The file lacks the node name or the incarnation.");

	if (strcmp(name, node_name) != 0)
	{
		ereport(LOG,
				(errmsg("ignoring pg_quorum state of node \"%s\", this is node \"%s\"",
						name, node_name),
				 errdetail("The data directory was copied from another node; this node starts with no term, vote or voter set of its own.")));
		memset(durable, 0, sizeof(*durable));
		return false;
	}
	return true;
}

uint64
pgq_state_start_incarnation(const char *node_name, bool loaded,
							const struct quorum_durable *durable)
{
	uint64		fresh;

	if (loaded)
		return durable->incarnation + 1;

	fresh = (uint64) ((GetCurrentTimestamp() / 1000) +
					  (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * (uint64) (SECS_PER_DAY * 1000));
	ereport(LOG,
			(errmsg("pg_quorum node \"%s\" has no durable state and starts at incarnation " UINT64_FORMAT,
					node_name, fresh)));
	return fresh;
}

bool
pgq_state_save(const char *node_name, const struct quorum_durable *durable)
{
	const struct quorum_election_durable *e = &durable->election;
	StringInfoData buf;
	int			fd;
	bool		ok = false;

	initStringInfo(&buf);
	appendStringInfo(&buf, STATE_HEADER "node_name=%s\nincarnation=" UINT64_FORMAT "\n",
					 node_name, durable->incarnation);
	appendStringInfo(&buf, "term=" UINT64_FORMAT "\nvoted_for=%s\n", e->term, e->voted_for);
	appendStringInfo(&buf, "snapshot=" UINT64_FORMAT " " UINT64_FORMAT " %llx %d\n",
					 e->snap.index, e->snap.term,
					 (unsigned long long) e->snap.config_id, e->snap.paused ? 1 : 0);
	for (unsigned i = 0; i < e->snap.n_voters && i < QUORUM_VOTERS_MAX; i++)
		appendStringInfo(&buf, "voter=%s\n", e->snap.voters[i]);
	for (uint32 k = 0; k < e->n_entries && k < QUORUM_LOG_MAX; k++)
		appendStringInfo(&buf, "entry=" UINT64_FORMAT " %u %s\n", e->entries[k].term,
						 (unsigned) e->entries[k].type, e->entries[k].name);

	fd = OpenTransientFile(STATE_TMP_FILE, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY);
	if (fd < 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", STATE_TMP_FILE)));
		goto done;
	}
	errno = 0;
	if (write(fd, buf.data, buf.len) != buf.len)
	{
		/* A short write without errno means the disk is full. */
		if (errno == 0)
			errno = ENOSPC;
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", STATE_TMP_FILE)));
		CloseTransientFile(fd);
		goto done;
	}
	if (pg_fsync(fd) != 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not fsync file \"%s\": %m", STATE_TMP_FILE)));
		CloseTransientFile(fd);
		goto done;
	}
	if (CloseTransientFile(fd) != 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not close file \"%s\": %m", STATE_TMP_FILE)));
		goto done;
	}

	/* durable_rename() also fsyncs the directory entry. */
	ok = durable_rename(STATE_TMP_FILE, PGQ_STATE_FILE, LOG) == 0;
done:
	pfree(buf.data);
	return ok;
}
