/*-------------------------------------------------------------------------
 *
 * state.c
 *	  Durable state of the local node: the incarnation, in a small text file
 *	  in the data directory.
 *
 * libquorum asks for the incarnation to be made durable before it sends
 * anything that reveals it, so that a restarted node always starts above
 * every incarnation it ever used.  The file is replaced atomically (write a
 * temporary file, fsync, rename, fsync the directory), so a crash leaves
 * either the old or the new content, never a torn one.
 *
 * The file records the node name too.  pg_basebackup and pg_rewind copy it
 * along with the data directory; a copy started under another node_name
 * must not inherit the source's identity, so it ignores a file written for
 * another name.  Without a file of its own, though, a node cannot know
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
#include "storage/fd.h"
#include "utils/timestamp.h"

#include "quorum/quorum.h"

#include "pg_compat.h"
#include "state.h"

#define STATE_TMP_FILE PGQ_STATE_FILE ".tmp"
#define STATE_HEADER "# pg_quorum durable state; written by the pg_quorum worker, do not edit\n"
/* The file is a few lines; anything larger is not ours. */
#define STATE_BYTES_MAX 4096

static void
state_malformed(const char *why)
{
	ereport(FATAL,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("invalid pg_quorum state file \"%s\"", PGQ_STATE_FILE),
			 errdetail("%s", why),
			 errhint("If the file was edited or damaged, restore it, or remove it to start this node as a new member.")));
}

/* Incarnation last persisted by node_name; false if there is none. */
static bool
state_load(const char *node_name, uint64 *incarnation_out)
{
	char		buf[STATE_BYTES_MAX + 1];
	char		name[QUORUM_NAME_MAX + 2];
	bool		have_name = false;
	bool		have_incarnation = false;
	uint64		incarnation = 0;
	int			fd;
	int			len;
	char	   *line;
	char	   *save;

	fd = OpenTransientFile(PGQ_STATE_FILE, O_RDONLY | PG_BINARY);
	if (fd < 0)
	{
		if (errno == ENOENT)
			return false;
		ereport(FATAL,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", PGQ_STATE_FILE)));
	}
	len = read(fd, buf, sizeof(buf));
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
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (strncmp(line, "node_name=", 10) == 0)
		{
			if (strlen(line + 10) > QUORUM_NAME_MAX)
				state_malformed("The node name is too long.");
			strlcpy(name, line + 10, sizeof(name));
			have_name = true;
		}
		else if (strncmp(line, "incarnation=", 12) == 0)
		{
			char	   *end;

			errno = 0;
			incarnation = strtou64(line + 12, &end, 10);
			if (errno != 0 || end == line + 12 || *end != '\0')
				state_malformed("The incarnation is not a number.");
			have_incarnation = true;
		}
		else
			state_malformed("The file contains an unknown line.");
	}
	if (!have_name || !have_incarnation)
		state_malformed("The file lacks the node name or the incarnation.");

	if (strcmp(name, node_name) != 0)
	{
		ereport(LOG,
				(errmsg("ignoring pg_quorum state of node \"%s\", this is node \"%s\"",
						name, node_name),
				 errdetail("The data directory was copied from another node.")));
		return false;
	}
	*incarnation_out = incarnation;
	return true;
}

uint64
pgq_state_start_incarnation(const char *node_name)
{
	uint64		persisted;
	uint64		fresh;

	if (state_load(node_name, &persisted))
		return persisted + 1;

	fresh = (uint64) ((GetCurrentTimestamp() / 1000) +
					  (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * (uint64) (SECS_PER_DAY * 1000));
	ereport(LOG,
			(errmsg("pg_quorum node \"%s\" has no durable state and starts at incarnation " UINT64_FORMAT,
					node_name, fresh)));
	return fresh;
}

bool
pgq_state_save(const char *node_name, uint64 incarnation)
{
	char		buf[STATE_BYTES_MAX];
	int			len;
	int			fd;

	len = snprintf(buf, sizeof(buf), STATE_HEADER "node_name=%s\nincarnation=" UINT64_FORMAT "\n",
				   node_name, incarnation);

	fd = OpenTransientFile(STATE_TMP_FILE, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY);
	if (fd < 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", STATE_TMP_FILE)));
		return false;
	}
	errno = 0;
	if (write(fd, buf, len) != len)
	{
		/* A short write without errno means the disk is full. */
		if (errno == 0)
			errno = ENOSPC;
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", STATE_TMP_FILE)));
		CloseTransientFile(fd);
		return false;
	}
	if (pg_fsync(fd) != 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not fsync file \"%s\": %m", STATE_TMP_FILE)));
		CloseTransientFile(fd);
		return false;
	}
	if (CloseTransientFile(fd) != 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not close file \"%s\": %m", STATE_TMP_FILE)));
		return false;
	}

	/* durable_rename() also fsyncs the directory entry. */
	return durable_rename(STATE_TMP_FILE, PGQ_STATE_FILE, LOG) == 0;
}
