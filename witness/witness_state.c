/*-------------------------------------------------------------------------
 *
 * witness_state.c
 *	  The witness's durable record, in the same layout as the PostgreSQL
 *	  worker's pg_quorum.state, so that one description (and one reader)
 *	  fits both.
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
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_HEADER "# pg_quorum durable state; written by quorum_witness, do not edit\n"
/* A full log and voter set of long names fit easily; more is not ours. */
#define STATE_BYTES_MAX 32768

static int
state_fail(char *errbuf, size_t errbuf_len, const char *fmt, ...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, errbuf_len, fmt, ap);
	va_end(ap);
	return -1;
}

static bool
state_u64(const char *text, uint64_t *v)
{
	char	   *end;

	errno = 0;
	*v = strtoull(text, &end, 10);
	return errno == 0 && end != text && *end == '\0' && text[0] != '-';
}

static bool
state_name(char *dst, const char *src, bool empty_ok)
{
	if (strlen(src) > QUORUM_NAME_MAX || (!empty_ok && src[0] == '\0'))
		return false;
	strcpy(dst, src);
	return true;
}

/* One "key=value" line into *durable (name goes to name); false if bad. */
static bool
state_line(char *line, char *name, bool *have_name, bool *have_inc,
		   struct quorum_durable *durable, const char **why)
{
	struct quorum_election_durable *e = &durable->election;
	char	   *value = strchr(line, '=');

	if (value == NULL)
		return (*why = "a line without '='"), false;
	*value++ = '\0';
	if (strcmp(line, "node_name") == 0)
		return (*why = "the node name"), (*have_name = state_name(name, value, false));
	if (strcmp(line, "incarnation") == 0)
		return (*why = "the incarnation"), (*have_inc = state_u64(value, &durable->incarnation));
	if (strcmp(line, "term") == 0)
		return (*why = "the term"), state_u64(value, &e->term);
	if (strcmp(line, "voted_for") == 0)
		return (*why = "the vote"), state_name(e->voted_for, value, true);
	if (strcmp(line, "snapshot") == 0)
	{
		unsigned long long index, term, config_id;
		int			paused, n = 0;

		*why = "the snapshot line";
		if (sscanf(value, "%llu %llu %llx %d%n", &index, &term, &config_id,
				   &paused, &n) != 4 || value[n] != '\0' || (paused != 0 && paused != 1))
			return false;
		e->snap.index = index;
		e->snap.term = term;
		e->snap.config_id = config_id;
		e->snap.paused = paused == 1;
		return true;
	}
	if (strcmp(line, "voter") == 0)
	{
		*why = "a voter";
		return e->snap.n_voters < QUORUM_VOTERS_MAX &&
			state_name(e->snap.voters[e->snap.n_voters++], value, false);
	}
	if (strcmp(line, "entry") == 0)
	{
		struct quorum_decision *d;
		unsigned long long term;
		unsigned	type;
		int			n = 0;

		*why = "a log entry";
		if (e->n_entries >= QUORUM_LOG_MAX ||
			sscanf(value, "%llu %u%n", &term, &type, &n) != 2 ||
			(value[n] != ' ' && value[n] != '\0') ||
			type < QUORUM_DECISION_NOOP || type > QUORUM_DECISION_SWITCHOVER)
			return false;
		d = &e->entries[e->n_entries++];
		d->term = term;
		d->type = (uint8_t) type;
		return state_name(d->name, value[n] == ' ' ? value + n + 1 : "", true);
	}
	return (*why = "an unknown line"), false;
}

int
witness_state_load(const char *dir, const char *node_name,
				   struct quorum_durable *durable, char *other_name,
				   size_t other_len, char *errbuf, size_t errbuf_len)
{
	char		path[4096];
	char	   *buf;
	char		name[QUORUM_NAME_MAX + 1] = "";
	bool		have_name = false;
	bool		have_inc = false;
	ssize_t		len;
	int			fd;
	char	   *save;

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
	buf = malloc(STATE_BYTES_MAX + 2);
	if (buf == NULL)
	{
		close(fd);
		return state_fail(errbuf, errbuf_len, "out of memory");
	}
	len = read(fd, buf, STATE_BYTES_MAX + 1);
	close(fd);
	if (len < 0 || len > STATE_BYTES_MAX)
	{
		free(buf);
		return state_fail(errbuf, errbuf_len, "could not read \"%s\": %s", path,
						  len < 0 ? strerror(errno) : "the file is too large");
	}
	buf[len] = '\0';
	for (char *line = strtok_r(buf, "\n", &save); line != NULL;
		 line = strtok_r(NULL, "\n", &save))
	{
		const char *why = "";

		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (!state_line(line, name, &have_name, &have_inc, durable, &why))
		{
			free(buf);
			return state_fail(errbuf, errbuf_len,
							  "invalid state file \"%s\": bad %s; restore it, or remove it to start as a new member",
							  path, why);
		}
	}
	free(buf);
	if (!have_name || !have_inc)
		return state_fail(errbuf, errbuf_len,
						  "invalid state file \"%s\": no node name or incarnation", path);
	if (strcmp(name, node_name) != 0)
	{
		snprintf(other_name, other_len, "%s", name);
		memset(durable, 0, sizeof(*durable));
		return 0;
	}
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
	const struct quorum_election_durable *e = &durable->election;
	char		path[4096];
	char		tmp[4096];
	char		buf[STATE_BYTES_MAX];
	size_t		len = 0;
	ssize_t		n;
	int			fd;

#define STATE_PUT(...) \
	len += (size_t) snprintf(buf + len, len < sizeof(buf) ? sizeof(buf) - len : 0, __VA_ARGS__)
	STATE_PUT(STATE_HEADER "node_name=%s\nincarnation=%" PRIu64 "\n", node_name,
			  durable->incarnation);
	STATE_PUT("term=%" PRIu64 "\nvoted_for=%s\n", e->term, e->voted_for);
	STATE_PUT("snapshot=%" PRIu64 " %" PRIu64 " %llx %d\n", e->snap.index, e->snap.term,
			  (unsigned long long) e->snap.config_id, e->snap.paused ? 1 : 0);
	for (unsigned i = 0; i < e->snap.n_voters && i < QUORUM_VOTERS_MAX; i++)
		STATE_PUT("voter=%s\n", e->snap.voters[i]);
	for (uint32_t k = 0; k < e->n_entries && k < QUORUM_LOG_MAX; k++)
		STATE_PUT("entry=%" PRIu64 " %u %s\n", e->entries[k].term,
				  (unsigned) e->entries[k].type, e->entries[k].name);
#undef STATE_PUT
	if (len >= sizeof(buf))
		return state_fail(errbuf, errbuf_len, "the state record does not fit %zu bytes",
						  sizeof(buf));

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
