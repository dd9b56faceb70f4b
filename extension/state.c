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
 * The text is libquorum's (quorum_durable_format/parse, shared with the
 * witness); this file does only the IO.
 *
 * The file records the node name too.  pg_basebackup and pg_rewind copy it
 * along with the data directory; a copy started under another node_name
 * must not inherit the source's identity, term or vote, so it ignores a
 * file written for another name and starts as a new member (it learns the
 * cluster's voter set from the leader).  pg_quorum_rejoin keeps a node's own
 * file across pg_rewind.  Without a file of its own, though, a node cannot know
 * whether it is new or an old member rebuilt from another server's copy,
 * so it starts at quorum_durable_start_incarnation()'s wall-clock value.
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

static void
state_malformed(const char *why)
{
	ereport(FATAL,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("invalid pg_quorum state file \"%s\"", PGQ_STATE_FILE),
			 errdetail("%s", why),
			 errhint("If the file was edited or damaged, restore it, or remove it to start this node as a new member.")));
}

bool
pgq_state_load(const char *node_name, struct quorum_durable *durable)
{
	struct quorum_durable_file file;
	char		errbuf[256];
	char	   *buf;
	int			fd;
	int			len;

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
	/* One byte more than a record can hold, so that the parser sees a longer file. */
	buf = palloc(QUORUM_DURABLE_BYTES_MAX + 1);
	len = read(fd, buf, QUORUM_DURABLE_BYTES_MAX + 1);
	if (len < 0)
		ereport(FATAL,
				(errcode_for_file_access(),
				 errmsg("could not read file \"%s\": %m", PGQ_STATE_FILE)));
	CloseTransientFile(fd);
	if (quorum_durable_parse(buf, (size_t) len, &file, errbuf, sizeof(errbuf)) != 0)
	{
		errbuf[0] = pg_toupper((unsigned char) errbuf[0]);
		state_malformed(psprintf("%s.", errbuf));
	}
	pfree(buf);

	if (strcmp(file.node_name, node_name) != 0)
	{
		ereport(LOG,
				(errmsg("ignoring pg_quorum state of node \"%s\", this is node \"%s\"",
						file.node_name, node_name),
				 errdetail("The data directory was copied from another node; this node starts with no term, vote or voter set of its own.")));
		return false;
	}
	if (file.format_version < QUORUM_DURABLE_FORMAT_VERSION)
		ereport(LOG,
				(errmsg("pg_quorum state file \"%s\" is in format %u; it is rewritten in format %d when next saved",
						PGQ_STATE_FILE, file.format_version, QUORUM_DURABLE_FORMAT_VERSION)));
	*durable = file.durable;
	return true;
}

uint64
pgq_state_start_incarnation(const char *node_name, bool loaded,
							const struct quorum_durable *durable)
{
	uint64		unix_ms;
	uint64		start;

	unix_ms = (uint64) ((GetCurrentTimestamp() / 1000) +
						(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * (uint64) (SECS_PER_DAY * 1000));
	start = quorum_durable_start_incarnation(loaded ? durable : NULL, unix_ms);
	if (!loaded)
		ereport(LOG,
				(errmsg("pg_quorum node \"%s\" has no durable state and starts at incarnation " UINT64_FORMAT,
						node_name, start)));
	return start;
}

/*
 * Replace path with len bytes of buf atomically and durably, through tmp;
 * false (after a LOG) on failure.
 */
static bool
state_write_file(const char *tmp, const char *path, const char *buf, size_t len)
{
	int			fd;

	fd = OpenTransientFile(tmp, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY);
	if (fd < 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", tmp)));
		return false;
	}
	errno = 0;
	if (write(fd, buf, len) != (ssize_t) len)
	{
		/* A short write without errno means the disk is full. */
		if (errno == 0)
			errno = ENOSPC;
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", tmp)));
		CloseTransientFile(fd);
		return false;
	}
	if (pg_fsync(fd) != 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not fsync file \"%s\": %m", tmp)));
		CloseTransientFile(fd);
		return false;
	}
	if (CloseTransientFile(fd) != 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not close file \"%s\": %m", tmp)));
		return false;
	}

	/* durable_rename() also fsyncs the directory entry. */
	return durable_rename(tmp, path, LOG) == 0;
}

bool
pgq_state_save(const char *node_name, const struct quorum_durable *durable)
{
	char	   *buf = palloc(QUORUM_DURABLE_BYTES_MAX);
	size_t		len;
	int			rc;
	bool		ok = false;

	rc = quorum_durable_format(node_name, durable, buf, QUORUM_DURABLE_BYTES_MAX, &len);
	if (rc != 0)
		ereport(LOG,
				(errmsg("could not format the pg_quorum state: %s", quorum_strerror(rc))));
	else
		ok = state_write_file(STATE_TMP_FILE, PGQ_STATE_FILE, buf, len);
	pfree(buf);
	return ok;
}

/*
 * pg_quorum.led: "node_name=NAME", "timeline=N", "term=T", one per line.
 * A copy made by pg_basebackup or pg_rewind names another node and is
 * ignored; so is a damaged file (it only ever makes the fence stricter to
 * know less, so it is not worth a FATAL).
 */
bool
pgq_state_load_led(const char *node_name, uint32 *timeline, uint64 *term)
{
	char		buf[QUORUM_NAME_MAX + 64];
	char		name[QUORUM_NAME_MAX + 1];
	unsigned int tli;
	unsigned long long t;
	int			fd;
	int			len;
	char		tail;

	StaticAssertStmt(QUORUM_NAME_MAX == 63, "the sscanf width below is QUORUM_NAME_MAX");
	*timeline = 0;
	*term = 0;
	fd = OpenTransientFile(PGQ_LED_FILE, O_RDONLY | PG_BINARY);
	if (fd < 0)
		return false;
	len = read(fd, buf, sizeof(buf) - 1);
	CloseTransientFile(fd);
	if (len <= 0)
		return false;
	buf[len] = '\0';
	if (sscanf(buf, "node_name=%63[^\n]\ntimeline=%u\nterm=%llu%c",
			   name, &tli, &t, &tail) != 4 || tail != '\n' ||
		strcmp(name, node_name) != 0)
		return false;
	*timeline = tli;
	*term = (uint64) t;
	return true;
}

bool
pgq_state_save_led(const char *node_name, uint32 timeline, uint64 term)
{
	char	   *buf = psprintf("node_name=%s\ntimeline=%u\nterm=" UINT64_FORMAT "\n",
							   node_name, timeline, term);
	bool		ok = state_write_file(PGQ_LED_FILE ".tmp", PGQ_LED_FILE, buf, strlen(buf));

	pfree(buf);
	return ok;
}
