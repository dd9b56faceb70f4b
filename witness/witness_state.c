/*-------------------------------------------------------------------------
 *
 * witness_state.c
 *	  The witness's durable record: the file IO around libquorum's
 *	  format (quorum/durable.h), which the PostgreSQL worker shares.
 *
 * libquorum asks for the record to be durable before it sends anything
 * that reveals it: a restarted witness must start above every incarnation
 * it used and must never vote twice in one term, or two leaders could be
 * elected in one term.  So the file is replaced atomically: write a
 * temporary file, fsync it, rename it over the old one, fsync the
 * directory; a crash leaves the old record or the new one, never a mix.
 *
 * witness/witness_state.c
 *
 *-------------------------------------------------------------------------
 */
#include "witness_state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
state_fail(char *errbuf, size_t errbuf_len, const char *fmt, ...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, errbuf_len, fmt, ap);
	va_end(ap);
	return -1;
}

int
witness_state_load(const char *dir, const char *node_name,
				   struct quorum_durable *durable, unsigned *format_version,
				   char *other_name, size_t other_len, char *errbuf, size_t errbuf_len)
{
	struct quorum_durable_file file;
	char		path[4096];
	char		why[256];
	char	   *buf;
	ssize_t		len;
	int			fd;

	memset(durable, 0, sizeof(*durable));
	if (snprintf(path, sizeof(path), "%s/%s", dir, WITNESS_STATE_FILE) >= (int) sizeof(path))
		return state_fail(errbuf, errbuf_len, "state directory path is too long");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
	{
		if (errno == ENOENT)
			return 0;
		return state_fail(errbuf, errbuf_len, "could not open \"%s\": %s", path,
						  strerror(errno));
	}
	/* One byte more than a record can hold, so that the parser sees a longer file. */
	buf = malloc(QUORUM_DURABLE_BYTES_MAX + 1);
	if (buf == NULL)
	{
		close(fd);
		return state_fail(errbuf, errbuf_len, "out of memory");
	}
	len = read(fd, buf, QUORUM_DURABLE_BYTES_MAX + 1);
	close(fd);
	if (len < 0)
	{
		free(buf);
		return state_fail(errbuf, errbuf_len, "could not read \"%s\": %s", path,
						  strerror(errno));
	}
	if (quorum_durable_parse(buf, (size_t) len, &file, why, sizeof(why)) != 0)
	{
		free(buf);
		return state_fail(errbuf, errbuf_len,
						  "invalid state file \"%s\": %s; restore it, or remove it to start as a new member",
						  path, why);
	}
	free(buf);
	if (strcmp(file.node_name, node_name) != 0)
	{
		snprintf(other_name, other_len, "%s", file.node_name);
		return 0;
	}
	*format_version = file.format_version;
	*durable = file.durable;
	return 1;
}

/* fsync a directory, so that a rename in it is durable. */
static int
state_fsync_dir(const char *dir)
{
	int			fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int			rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
witness_state_save(const char *dir, const char *node_name,
				   const struct quorum_durable *durable, char *errbuf, size_t errbuf_len)
{
	char		path[4096];
	char		tmp[4096];
	char		buf[QUORUM_DURABLE_BYTES_MAX];
	size_t		len;
	ssize_t		n;
	int			fd;
	int			rc;

	rc = quorum_durable_format(node_name, durable, buf, sizeof(buf), &len);
	if (rc != 0)
		return state_fail(errbuf, errbuf_len, "could not format the state: %s",
						  quorum_strerror(rc));
	if (snprintf(path, sizeof(path), "%s/%s", dir, WITNESS_STATE_FILE) >= (int) sizeof(path) ||
		snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, WITNESS_STATE_FILE) >= (int) sizeof(tmp))
		return state_fail(errbuf, errbuf_len, "state directory path is too long");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return state_fail(errbuf, errbuf_len, "could not create \"%s\": %s", tmp,
						  strerror(errno));
	errno = 0;
	n = write(fd, buf, len);
	if (n != (ssize_t) len || fsync(fd) != 0)
	{
		int			err = errno != 0 ? errno : ENOSPC;

		close(fd);
		unlink(tmp);
		return state_fail(errbuf, errbuf_len, "could not write \"%s\": %s", tmp,
						  strerror(err));
	}
	if (close(fd) != 0 || rename(tmp, path) != 0 || state_fsync_dir(dir) != 0)
		return state_fail(errbuf, errbuf_len, "could not replace \"%s\": %s", path,
						  strerror(errno));
	return 0;
}
