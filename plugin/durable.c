/*-------------------------------------------------------------------------
 *
 * durable.c
 *	  The text format of a node's durable record, printed and parsed.
 *
 * One "key=value" per line, '#' lines are comments:
 *
 *	  format_version=3			(absent in version 1)
 *	  node_name=NAME
 *	  incarnation=N
 *	  member_id=HEX				(version 3: nonzero, created with the record)
 *	  persist_seq=N				(version 3)
 *	  term=N
 *	  voted_for=NAME			(empty: no vote in term)
 *	  snapshot=INDEX TERM CONFIG_ID_HEX PAUSED(0|1)
 *	  voter=ID_HEX NAME			(one per voter of the snapshot)
 *	  entry=TERM TYPE ID_HEX NAME	(one per log entry after the snapshot)
 *
 * Versions 1 and 2 have no member_id or persist_seq and no ID_HEX in voter
 * and entry lines: they read as member id 0, which the election takes as
 * "not bound yet", so a cluster upgraded from them keeps voting.
 *
 * A name runs to the end of its line, so it may hold any byte but a newline
 * or NUL; the hosts' own name checks are stricter.  The parser refuses
 * every key it does not know, rather than skipping it: the file holds a
 * vote, and the host rewrites it whole on every persist, so an older
 * library that skipped a newer version's key would silently drop it
 * (a later version adds a member id) and then act on a record it only
 * partly understood.  A newer format_version is refused the same way:
 * going back to an older library is then a deliberate act (restore its
 * file, or remove it and start as a new member), never a silent loss.
 * A repeated key is refused as damage.  Like keyring.c this module does no
 * IO; a fuzz target exercises it (test/fuzz/fuzz_durable.c).
 *
 * plugin/durable.c
 *
 *-------------------------------------------------------------------------
 */
#include "quorum/durable.h"
#include "quorum/error.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DURABLE_HEADER "# pg_quorum durable state, written by libquorum; do not edit\n"
/* The longest line the format writes is an entry with a long name. */
#define DURABLE_LINE_MAX 128

/* Keys that may appear once, as bits of a mask. */
enum durable_once
{
	DURABLE_VERSION = 1 << 0,
	DURABLE_NAME = 1 << 1,
	DURABLE_INCARNATION = 1 << 2,
	DURABLE_TERM = 1 << 3,
	DURABLE_VOTE = 1 << 4,
	DURABLE_SNAPSHOT = 1 << 5,
	DURABLE_MEMBER_ID = 1 << 6,
	DURABLE_PERSIST_SEQ = 1 << 7
};

/* Since version 3 voter and entry lines carry a member id. */
#define DURABLE_IDS_SINCE 3

struct durable_parser
{
	struct quorum_durable_file *file;
	unsigned	lineno;
	unsigned	seen;			/* enum durable_once bits */
	bool		any_key;
	char	   *errbuf;
	size_t		errbuf_len;
};

static int	durable_error(struct durable_parser *p, const char *fmt, ...)
			__attribute__((format(printf, 2, 3)));

static int
durable_error(struct durable_parser *p, const char *fmt, ...)
{
	char		why[160];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	/* Line 0: the record as a whole. */
	if (p->errbuf != NULL && p->errbuf_len > 0 && p->lineno > 0)
		snprintf(p->errbuf, p->errbuf_len, "line %u: %s", p->lineno, why);
	else if (p->errbuf != NULL && p->errbuf_len > 0)
		snprintf(p->errbuf, p->errbuf_len, "%s", why);
	return QUORUM_EMALFORMED;
}

/*
 * Decimal (base 10) or hex (base 16) digits only, no sign or blank, up to
 * UINT64_MAX, ending at a NUL or, with stop_at_space, a blank too; *end is
 * where it stopped.
 */
static bool
durable_u64(const char *s, unsigned base, bool stop_at_space,
			uint64_t *v, const char **end)
{
	uint64_t	n = 0;
	const char *c = s;

	for (; *c != '\0' && !(stop_at_space && *c == ' '); c++)
	{
		unsigned	d;

		if (*c >= '0' && *c <= '9')
			d = (unsigned) (*c - '0');
		else if (base == 16 && *c >= 'a' && *c <= 'f')
			d = (unsigned) (*c - 'a' + 10);
		else
			return false;
		if (n > (UINT64_MAX - d) / base)
			return false;
		n = n * base + d;
	}
	*v = n;
	*end = c;
	return c != s;
}

/* One whole value as a number, or an error naming what. */
static int
durable_number(struct durable_parser *p, const char *value, uint64_t *v,
			   const char *what)
{
	const char *end;

	if (!durable_u64(value, 10, false, v, &end))
		return durable_error(p, "the %s is not a number", what);
	return 0;
}

static int
durable_name(struct durable_parser *p, char *dst, const char *value,
			 bool empty_ok, const char *what)
{
	size_t		len = strlen(value);

	if (len > QUORUM_NAME_MAX || (!empty_ok && len == 0))
		return durable_error(p, "the %s is not a name of 1 to %d bytes",
							 what, QUORUM_NAME_MAX);
	memcpy(dst, value, len + 1);
	return 0;
}

/* "INDEX TERM CONFIG_ID_HEX PAUSED" */
static int
durable_snapshot(struct durable_parser *p, const char *value)
{
	struct quorum_log_snapshot *s = &p->file->durable.election.snap;
	const char *c = value;
	uint64_t	paused = 0;

	if (!durable_u64(c, 10, true, &s->index, &c) || *c++ != ' ' ||
		!durable_u64(c, 10, true, &s->term, &c) || *c++ != ' ' ||
		!durable_u64(c, 16, true, &s->config_id, &c) || *c++ != ' ' ||
		!durable_u64(c, 10, false, &paused, &c) || paused > 1)
		return durable_error(p, "the snapshot is not \"index term config_id paused\"");
	s->paused = paused == 1;
	return 0;
}

/*
 * A member id in hex and a blank before the name that follows, in version 3;
 * nothing in older versions (id 0).
 */
static bool
durable_member_id(struct durable_parser *p, const char **c, uint64_t *id)
{
	*id = 0;
	if (p->file->format_version < DURABLE_IDS_SINCE)
		return true;
	return durable_u64(*c, 16, true, id, c) && *(*c)++ == ' ';
}

/*
 * "TERM TYPE ID_HEX NAME" (version 3) or "TERM TYPE NAME", the name possibly
 * empty (then without the blank).
 */
static int
durable_entry(struct durable_parser *p, const char *value)
{
	struct quorum_election_durable *e = &p->file->durable.election;
	struct quorum_decision *d;
	const char *c = value;
	uint64_t	term;
	uint64_t	type;
	uint64_t	id = 0;

	if (e->n_entries >= QUORUM_LOG_MAX)
		return durable_error(p, "more than %d log entries", QUORUM_LOG_MAX);
	if (!durable_u64(c, 10, true, &term, &c) || *c++ != ' ' ||
		!durable_u64(c, 10, true, &type, &c) ||
		type < QUORUM_DECISION_NOOP || type > QUORUM_DECISION_SWITCHOVER)
		return durable_error(p, "the log entry is not \"term type name\"");
	if (p->file->format_version >= DURABLE_IDS_SINCE &&
		(*c++ != ' ' || !durable_u64(c, 16, true, &id, &c)))
		return durable_error(p, "the log entry is not \"term type member_id name\"");
	if (*c != ' ' && *c != '\0')
		return durable_error(p, "the log entry is not \"term type name\"");
	d = &e->entries[e->n_entries++];
	d->term = term;
	d->type = (uint8_t) type;
	d->member_id = id;
	return durable_name(p, d->name, *c == ' ' ? c + 1 : "", true,
						"log entry's name");
}

/* "ID_HEX NAME" (version 3) or "NAME" */
static int
durable_voter(struct durable_parser *p, const char *value)
{
	struct quorum_log_snapshot *s = &p->file->durable.election.snap;
	const char *c = value;

	if (s->n_voters >= QUORUM_VOTERS_MAX)
		return durable_error(p, "more than %d voters", QUORUM_VOTERS_MAX);
	if (!durable_member_id(p, &c, &s->voter_ids[s->n_voters]))
		return durable_error(p, "the voter is not \"member_id name\"");
	return durable_name(p, s->voters[s->n_voters++], c, false, "voter");
}

static int
durable_version(struct durable_parser *p, const char *value)
{
	uint64_t	v = 0;
	int			rc = durable_number(p, value, &v, "format version");

	if (rc != 0)
		return rc;
	/* It decides how the rest is read, so it must come first. */
	if (p->any_key)
		return durable_error(p, "format_version is not the first line");
	if (v == 0 || v > QUORUM_DURABLE_FORMAT_VERSION)
		return durable_error(p, "format version %" PRIu64 " is not one this libquorum reads (1 to %d): the file was written by a newer version",
							 v, QUORUM_DURABLE_FORMAT_VERSION);
	p->file->format_version = (unsigned) v;
	return 0;
}

/* Apply one "key=value" line; the key is known to be new if it is singular. */
static int
durable_key(struct durable_parser *p, const char *key, const char *value)
{
	struct quorum_durable *d = &p->file->durable;

	if (strcmp(key, "format_version") == 0)
		return durable_version(p, value);
	if (strcmp(key, "node_name") == 0)
		return durable_name(p, p->file->node_name, value, false, "node name");
	if (strcmp(key, "incarnation") == 0)
		return durable_number(p, value, &d->incarnation, "incarnation");
	if (strcmp(key, "term") == 0)
		return durable_number(p, value, &d->election.term, "term");
	if (strcmp(key, "voted_for") == 0)
		return durable_name(p, d->election.voted_for, value, true, "vote");
	if (strcmp(key, "snapshot") == 0)
		return durable_snapshot(p, value);
	if (strcmp(key, "member_id") == 0 || strcmp(key, "persist_seq") == 0)
	{
		bool		is_id = key[0] == 'm';
		const char *end;
		uint64_t	v;

		if (p->file->format_version < DURABLE_IDS_SINCE)
			return durable_error(p, "\"%s\" is not a key of format version %u",
								 key, p->file->format_version);
		if (!durable_u64(value, is_id ? 16 : 10, false, &v, &end) ||
			(is_id && v == 0))
			return durable_error(p, "the %s is not a %s", key,
								 is_id ? "nonzero hex number" : "number");
		*(is_id ? &d->member_id : &d->election.persist_seq) = v;
		return 0;
	}
	if (strcmp(key, "voter") == 0)
		return durable_voter(p, value);
	if (strcmp(key, "entry") == 0)
		return durable_entry(p, value);
	return durable_error(p, "unknown key \"%s\"", key);
}

/* Which enum durable_once bit key is; 0 for keys that may repeat. */
static unsigned
durable_once_bit(const char *key)
{
	static const struct
	{
		const char *key;
		unsigned	bit;
	}			once[] = {
		{"format_version", DURABLE_VERSION},
		{"node_name", DURABLE_NAME},
		{"incarnation", DURABLE_INCARNATION},
		{"term", DURABLE_TERM},
		{"voted_for", DURABLE_VOTE},
		{"snapshot", DURABLE_SNAPSHOT},
		{"member_id", DURABLE_MEMBER_ID},
		{"persist_seq", DURABLE_PERSIST_SEQ},
	};

	for (size_t i = 0; i < sizeof(once) / sizeof(once[0]); i++)
		if (strcmp(key, once[i].key) == 0)
			return once[i].bit;
	return 0;
}

/* One line, without its newline, n bytes that may hold anything. */
static int
durable_line(struct durable_parser *p, const char *text, size_t n)
{
	char		line[DURABLE_LINE_MAX + 1];
	char	   *value;
	unsigned	bit;

	if (n == 0 || text[0] == '#')
		return 0;
	if (n > DURABLE_LINE_MAX)
		return durable_error(p, "the line is longer than %d bytes", DURABLE_LINE_MAX);
	if (memchr(text, '\0', n) != NULL)
		return durable_error(p, "the line contains a NUL byte");
	memcpy(line, text, n);
	line[n] = '\0';
	value = strchr(line, '=');
	if (value == NULL)
		return durable_error(p, "the line is not \"key=value\"");
	*value++ = '\0';
	bit = durable_once_bit(line);
	if ((p->seen & bit) != 0)
		return durable_error(p, "\"%s\" appears twice", line);
	p->seen |= bit;
	if (durable_key(p, line, value) != 0)
		return QUORUM_EMALFORMED;
	p->any_key = true;
	return 0;
}

int
quorum_durable_parse(const char *text, size_t len,
					 struct quorum_durable_file *file,
					 char *errbuf, size_t errbuf_len)
{
	struct durable_parser p = {file, 0, 0, false, errbuf, errbuf_len};
	size_t		pos = 0;
	int			rc = 0;

	if (errbuf != NULL && errbuf_len > 0)
		errbuf[0] = '\0';
	if (file == NULL || (text == NULL && len > 0))
		return QUORUM_EINVAL;
	memset(file, 0, sizeof(*file));
	file->format_version = 1;
	if (len > QUORUM_DURABLE_BYTES_MAX)
		rc = durable_error(&p, "the record is longer than %d bytes",
						   QUORUM_DURABLE_BYTES_MAX);
	while (rc == 0 && pos < len)
	{
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t		n = nl != NULL ? (size_t) (nl - (text + pos)) : len - pos;

		p.lineno++;
		rc = durable_line(&p, text + pos, n);
		pos += n + 1;
	}
	p.lineno = 0;
	if (rc == 0 && (p.seen & (DURABLE_NAME | DURABLE_INCARNATION)) !=
		(DURABLE_NAME | DURABLE_INCARNATION))
		rc = durable_error(&p, "the record has no node_name or no incarnation");
	if (rc == 0 && file->format_version >= DURABLE_IDS_SINCE &&
		(p.seen & DURABLE_MEMBER_ID) == 0)
		rc = durable_error(&p, "the record has no member_id");
	if (rc != 0)
		memset(file, 0, sizeof(*file));
	return rc;
}

static bool
durable_printable(const char *name, bool empty_ok)
{
	size_t		len = strnlen(name, QUORUM_NAME_MAX + 1);

	return len <= QUORUM_NAME_MAX && (empty_ok || len > 0) &&
		memchr(name, '\n', len) == NULL;
}

static bool
durable_printable_all(const char *node_name, const struct quorum_election_durable *e)
{
	if (!durable_printable(node_name, false) ||
		!durable_printable(e->voted_for, true) ||
		e->snap.n_voters > QUORUM_VOTERS_MAX || e->n_entries > QUORUM_LOG_MAX)
		return false;
	for (unsigned i = 0; i < e->snap.n_voters; i++)
		if (!durable_printable(e->snap.voters[i], false))
			return false;
	for (uint32_t k = 0; k < e->n_entries; k++)
		if (!durable_printable(e->entries[k].name, true) ||
			e->entries[k].type < QUORUM_DECISION_NOOP ||
			e->entries[k].type > QUORUM_DECISION_SWITCHOVER)
			return false;
	return true;
}

int
quorum_durable_format(const char *node_name, const struct quorum_durable *durable,
					  char *buf, size_t buf_len, size_t *len)
{
	const struct quorum_election_durable *e;
	size_t		n = 0;

	if (node_name == NULL || durable == NULL || buf == NULL || len == NULL ||
		durable->member_id == 0 ||
		!durable_printable_all(node_name, &durable->election))
		return QUORUM_EINVAL;
	e = &durable->election;
#define DURABLE_PUT(...) \
	n += (size_t) snprintf(buf + n, n < buf_len ? buf_len - n : 0, __VA_ARGS__)
	DURABLE_PUT(DURABLE_HEADER "format_version=%d\nnode_name=%s\n",
				QUORUM_DURABLE_FORMAT_VERSION, node_name);
	DURABLE_PUT("incarnation=%" PRIu64 "\nmember_id=%" PRIx64 "\npersist_seq=%" PRIu64 "\n",
				durable->incarnation, durable->member_id, e->persist_seq);
	DURABLE_PUT("term=%" PRIu64 "\nvoted_for=%s\n", e->term, e->voted_for);
	DURABLE_PUT("snapshot=%" PRIu64 " %" PRIu64 " %" PRIx64 " %d\n",
				e->snap.index, e->snap.term, e->snap.config_id,
				e->snap.paused ? 1 : 0);
	for (unsigned i = 0; i < e->snap.n_voters; i++)
		DURABLE_PUT("voter=%" PRIx64 " %s\n", e->snap.voter_ids[i], e->snap.voters[i]);
	for (uint32_t k = 0; k < e->n_entries; k++)
		DURABLE_PUT("entry=%" PRIu64 " %u %" PRIx64 "%s%s\n", e->entries[k].term,
					(unsigned) e->entries[k].type, e->entries[k].member_id,
					e->entries[k].name[0] != '\0' ? " " : "", e->entries[k].name);
#undef DURABLE_PUT
	if (n >= buf_len)
		return QUORUM_ELIMIT;
	*len = n;
	return 0;
}

uint64_t
quorum_durable_start_incarnation(const struct quorum_durable *restored,
								 uint64_t unix_time_ms)
{
	return restored != NULL ? restored->incarnation + 1 : unix_time_ms;
}
