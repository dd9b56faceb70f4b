/*-------------------------------------------------------------------------
 *
 * quorum_witness.c
 *	  The witness daemon: a voter of a pg_quorum cluster without a database,
 *	  so that two PostgreSQL servers plus one witness keep a majority when
 *	  either server is lost.
 *
 * It is libquorum's threaded runtime plus a few hundred lines: settings
 * from a key = value file and/or flags, the durable record in a state
 * directory (witness_state.c, the worker's layout), logging to stderr, and
 * signals handled on the main thread with sigwait() (the runtime's IO
 * thread blocks them all).  The node gossips role "witness" and priority 0,
 * so it votes and counts for the lease's majority but is never a candidate.
 *
 *   SIGTERM, SIGINT  leave the cluster gracefully and exit 0
 *   SIGUSR2          log the membership and the election state
 *   SIGHUP           ignored (settings are read at start only)
 * Exit status: 0 after a clean leave, 1 on a runtime failure (the state
 * could not be written), 2 for bad settings.
 *
 * witness/quorum_witness.c
 *
 *-------------------------------------------------------------------------
 */
#include <quorum/quorum.h>

#include "witness_state.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WITNESS_KEY_FILE_BYTES_MAX 65536
#define WITNESS_LINE_MAX 4096

/* Log levels, least to most severe. */
enum witness_level
{
	LOG_DEBUG = 0,
	LOG_INFO,
	LOG_WARNING,
	LOG_ERROR
};

static const char *const witness_level_names[] = {"DEBUG", "INFO", "WARNING", "ERROR"};

struct witness_settings
{
	char		name[QUORUM_NAME_MAX + 1];
	char		cluster[QUORUM_NAME_MAX + 1];
	char		listen[128];
	char		peers[2048];
	char		key_file[1024];
	char		state_dir[1024];
	char		voters[QUORUM_VOTERS_MAX * (QUORUM_NAME_MAX + 2)];
	int			bootstrap_expect;
	bool		allow_plaintext;
	bool		tcp;
	int			election_timeout_ms;
	int			heartbeat_interval_ms;
	int			probe_interval_ms;
	int			probe_timeout_ms;
	int			pushpull_interval_ms;
	int			suspicion_mult;
	int			indirect_probes;
	int			members_max;
	enum witness_level log_level;
	bool		check_only;
};

static struct witness_settings settings;
static enum witness_level log_level = LOG_INFO;

static void
witness_log(enum witness_level level, const char *fmt, ...)
__attribute__((format(printf, 2, 3)));

/* One line to stderr: wall-clock time, pid, level, message. */
static void
witness_log(enum witness_level level, const char *fmt, ...)
{
	char		msg[1024];
	char		stamp[32];
	struct timespec ts;
	struct tm	tm;
	va_list		ap;

	if (level < log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	/* One fprintf per line: stdio's lock keeps lines whole across threads. */
	fprintf(stderr, "%s.%03ld quorum_witness[%d] %s: %s\n", stamp, ts.tv_nsec / 1000000,
			(int) getpid(), witness_level_names[level], msg);
}

static void
witness_usage(FILE *out)
{
	fprintf(out,
			"quorum_witness: a voter of a pg_quorum cluster that has no database.\n\n"
			"Usage: quorum_witness [-c FILE] [OPTION]...\n\n"
			"Settings (in FILE as \"key = value\", with \"_\" or \"-\"; flags win):\n"
			"  -c, --config=FILE            read settings from FILE\n"
			"  -n, --name=NAME              this witness's node name (required)\n"
			"      --cluster=NAME           cluster name (default pg_quorum)\n"
			"  -l, --listen=ADDR:PORT       gossip address, UDP and TCP (required)\n"
			"  -p, --peers=ADDR:PORT,...    members to join through\n"
			"  -k, --key-file=FILE          cluster keys, 64 hex digits per line\n"
			"  -D, --state-dir=DIR          where the durable state lives (required)\n"
			"      --voters=NAME,...        first voter set (same on every member)\n"
			"      --bootstrap-expect=N     or: form it once N voters see each other\n"
			"      --allow-plaintext        gossip without a key (not for production)\n"
			"      --tcp=on|off             push-pull over TCP (default on)\n"
			"      --election-timeout=MS    (default 1200; same on every member)\n"
			"      --heartbeat-interval=MS  (default 100)\n"
			"      --probe-interval=MS      (default 200)\n"
			"      --probe-timeout=MS       (default 100)\n"
			"      --pushpull-interval=MS   (default 10000)\n"
			"      --suspicion-mult=N       (default 4)\n"
			"      --indirect-probes=N      (default 3)\n"
			"      --members-max=N          (default 64)\n"
			"      --log-level=LEVEL        debug, info, warning or error (default info)\n"
			"      --check                  check the settings and the state, then exit\n"
			"  -h, --help, -V, --version\n\n"
			"Signals: TERM or INT leave the cluster and exit; USR2 logs the state.\n");
}

static void
settings_defaults(struct witness_settings *s)
{
	memset(s, 0, sizeof(*s));
	strcpy(s->cluster, "pg_quorum");
	s->tcp = true;
	s->election_timeout_ms = 1200;
	s->heartbeat_interval_ms = 100;
	s->probe_interval_ms = 200;
	s->probe_timeout_ms = 100;
	s->pushpull_interval_ms = 10000;
	s->suspicion_mult = 4;
	s->indirect_probes = 3;
	s->members_max = 64;
	s->log_level = LOG_INFO;
}

static bool
parse_bool(const char *v, bool *out)
{
	if (strcmp(v, "on") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0 ||
		strcmp(v, "yes") == 0)
		return (*out = true), true;
	if (strcmp(v, "off") == 0 || strcmp(v, "false") == 0 || strcmp(v, "0") == 0 ||
		strcmp(v, "no") == 0)
		return (*out = false), true;
	return false;
}

/* An integer in [min, max]; with ms, "1200", "1200ms" or "2s". */
static bool
parse_int(const char *v, bool ms, long min, long max, int *out)
{
	char	   *end;
	long		n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || end == v)
		return false;
	if (ms && strcmp(end, "s") == 0)
	{
		if (n > LONG_MAX / 1000)
			return false;
		n *= 1000;
	}
	else if (!(ms && strcmp(end, "ms") == 0) && *end != '\0')
		return false;
	if (n < min || n > max)
		return false;
	*out = (int) n;
	return true;
}

/* Copies v into dst; NULL, or why not (a value too long, with its length). */
static const char *
copy_text(char *dst, size_t size, const char *v)
{
	static char why[96];

	if (strlen(v) >= size)
	{
		snprintf(why, sizeof(why), "the value is %zu bytes long; at most %zu are allowed",
				 strlen(v), size - 1);
		return why;
	}
	strcpy(dst, v);
	return NULL;
}

/*
 * A rejected value as the log shows it: quoted, unless it is so long that
 * echoing it whole would bury the message (the reason gives its length).
 */
static const char *
shown_value(const char *v, char *buf, size_t size)
{
	if (strlen(v) > 64)
		return "(too long to show)";
	snprintf(buf, size, "\"%s\"", v);
	return buf;
}

/*
 * Apply one setting by its name (flag name without "--", "_" and "-"
 * alike).  Returns NULL, or what is wrong with it.
 */
static const char *
settings_set(struct witness_settings *s, const char *key_in, const char *v)
{
	char		key[64];
	size_t		i;

	for (i = 0; key_in[i] != '\0' && i < sizeof(key) - 1; i++)
		key[i] = key_in[i] == '_' ? '-' : key_in[i];
	key[i] = '\0';

#define TEXT(k, field) \
	if (strcmp(key, k) == 0) \
		return copy_text(s->field, sizeof(s->field), v)
#define INT(k, field, ms, lo, hi) \
	if (strcmp(key, k) == 0) \
		return parse_int(v, ms, lo, hi, &s->field) ? NULL : \
			(ms ? "the value is not a time in ms (" #lo " to " #hi ")" : \
			 "the value is not a number from " #lo " to " #hi)
	TEXT("name", name);
	TEXT("cluster", cluster);
	TEXT("listen", listen);
	TEXT("peers", peers);
	TEXT("key-file", key_file);
	TEXT("state-dir", state_dir);
	TEXT("voters", voters);
	INT("bootstrap-expect", bootstrap_expect, false, 0, QUORUM_VOTERS_MAX);
	INT("election-timeout", election_timeout_ms, true, 50, 600000);
	INT("heartbeat-interval", heartbeat_interval_ms, true, 10, 60000);
	INT("probe-interval", probe_interval_ms, true, 10, 60000);
	INT("probe-timeout", probe_timeout_ms, true, 5, 60000);
	INT("pushpull-interval", pushpull_interval_ms, true, 0, 3600000);
	INT("suspicion-mult", suspicion_mult, false, 1, 100);
	INT("indirect-probes", indirect_probes, false, 0, 16);
	INT("members-max", members_max, false, 2, 1024);
#undef TEXT
#undef INT
	if (strcmp(key, "allow-plaintext") == 0)
		return parse_bool(v, &s->allow_plaintext) ? NULL : "the value is not on or off";
	if (strcmp(key, "tcp") == 0)
		return parse_bool(v, &s->tcp) ? NULL : "the value is not on or off";
	if (strcmp(key, "log-level") == 0)
	{
		for (int l = LOG_DEBUG; l <= LOG_ERROR; l++)
			if (strcasecmp(v, witness_level_names[l]) == 0)
				return (s->log_level = (enum witness_level) l), NULL;
		return "the value is not debug, info, warning or error";
	}
	return "no such setting";
}

/* Strip blanks at both ends, in place. */
static char *
trim(char *p)
{
	char	   *end;

	while (*p == ' ' || *p == '\t')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return p;
}

/* Read "key = value" lines; '#' starts a comment; values may be quoted. */
static bool
settings_load_file(struct witness_settings *s, const char *path)
{
	char		line[WITNESS_LINE_MAX];
	FILE	   *f = fopen(path, "r");
	int			lineno = 0;

	if (f == NULL)
	{
		witness_log(LOG_ERROR, "could not open configuration file \"%s\": %s", path,
					strerror(errno));
		return false;
	}
	while (fgets(line, sizeof(line), f) != NULL)
	{
		char	   *eq;
		char	   *key;
		char	   *value;
		const char *why;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		key = trim(line);
		if (key[0] == '#' || key[0] == '\0')
			continue;
		eq = strchr(key, '=');
		if (eq == NULL)
		{
			witness_log(LOG_ERROR, "%s:%d: expected \"key = value\"", path, lineno);
			fclose(f);
			return false;
		}
		*eq = '\0';
		key = trim(key);
		value = trim(eq + 1);
		if ((value[0] == '\'' || value[0] == '"') && strlen(value) >= 2 &&
			value[strlen(value) - 1] == value[0])
		{
			value[strlen(value) - 1] = '\0';
			value++;
		}
		else if (strchr(value, '#') != NULL)
			value = trim(strtok(value, "#"));
		if ((why = settings_set(s, key, value)) != NULL)
		{
			char		shown[80];

			witness_log(LOG_ERROR, "%s:%d: invalid value for \"%s\": %s: %s", path,
						lineno, key, shown_value(value, shown, sizeof(shown)), why);
			fclose(f);
			return false;
		}
	}
	fclose(f);
	return true;
}

/* Comma-separated names into the config's initial voters. */
static bool
parse_voters(const char *text, struct quorum_config *c)
{
	char		buf[sizeof(settings.voters)];
	char	   *save;

	strcpy(buf, text);
	c->n_initial_voters = 0;
	for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save))
	{
		t = trim(t);
		if (t[0] == '\0')
			continue;
		if (c->n_initial_voters == QUORUM_VOTERS_MAX || strlen(t) > QUORUM_NAME_MAX)
			return false;
		strcpy(c->initial_voters[c->n_initial_voters++], t);
	}
	return true;
}

/* Comma-separated addresses into the seeds, skipping our own. */
static bool
parse_peers(const char *text, struct quorum_runtime_config *rc, char *bad, size_t bad_len)
{
	char		buf[sizeof(settings.peers)];
	char	   *save;

	strcpy(buf, text);
	for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save))
	{
		struct quorum_addr a;

		t = trim(t);
		if (t[0] == '\0')
			continue;
		if (quorum_addr_parse(t, &a) != 0 || a.port == 0)
			return snprintf(bad, bad_len, "%s", t), false;
		if (quorum_addr_equal(&a, &rc->bind))
			continue;
		if (rc->n_seeds == QUORUM_SEEDS_MAX)
			return snprintf(bad, bad_len, "more than %d peers", QUORUM_SEEDS_MAX), false;
		rc->seeds[rc->n_seeds++] = a;
	}
	return true;
}

static bool
load_keyring(const char *path, struct quorum_keyring *keyring)
{
	char		text[WITNESS_KEY_FILE_BYTES_MAX + 1];
	char		err[256];
	struct stat st;
	ssize_t		len;
	int			fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) != 0)
	{
		witness_log(LOG_ERROR, "could not open key file \"%s\": %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	if (st.st_mode & S_IRWXO)
		witness_log(LOG_WARNING, "key file \"%s\" is accessible to other users; restrict it with chmod 600",
					path);
	len = read(fd, text, WITNESS_KEY_FILE_BYTES_MAX + 1);
	close(fd);
	if (len < 0 || len > WITNESS_KEY_FILE_BYTES_MAX)
	{
		witness_log(LOG_ERROR, "could not read key file \"%s\": %s", path,
					len < 0 ? strerror(errno) : "it is too large");
		return false;
	}
	if (quorum_keyring_parse(text, (size_t) len, keyring, err, sizeof(err)) != 0 ||
		keyring->count == 0)
	{
		witness_log(LOG_ERROR, "key file \"%s\" is not valid: %s", path,
					err[0] != '\0' ? err : "it holds no key");
		explicit_bzero(text, sizeof(text));
		return false;
	}
	explicit_bzero(text, sizeof(text));
	return true;
}

/* ---------------------------------------------------------------------
 * Runtime callbacks (on the IO thread).
 * ---------------------------------------------------------------------
 */

static pthread_t main_thread;

static int
witness_persist(void *ctx, const struct quorum_durable *durable)
{
	char		err[512];

	(void) ctx;
	if (witness_state_save(settings.state_dir, settings.name, durable, err, sizeof(err)) != 0)
	{
		witness_log(LOG_ERROR, "%s", err);
		/* Wake the main thread, which stops and exits with status 1. */
		pthread_kill(main_thread, SIGUSR1);
		return QUORUM_EIO;
	}
	witness_log(LOG_DEBUG, "persisted incarnation %" PRIu64 ", term %" PRIu64 ", vote \"%s\"",
				durable->incarnation, durable->election.term, durable->election.voted_for);
	return 0;
}

static void
witness_event(void *ctx, const struct quorum_event *ev)
{
	(void) ctx;
	switch (ev->type)
	{
		case QUORUM_EV_LEADER_CHANGED:
			if (ev->member[0] != '\0')
				witness_log(LOG_INFO, "leader is \"%s\" (term %" PRIu64 ")", ev->member, ev->term);
			else
				witness_log(LOG_INFO, "no leader (term %" PRIu64 ")", ev->term);
			break;
		case QUORUM_EV_DECISION_COMMITTED:
			witness_log(LOG_INFO, "decision committed: %s%s%s%s (index %" PRIu64 ")",
						quorum_decision_type_name(ev->decision.type),
						ev->decision.name[0] ? " \"" : "", ev->decision.name,
						ev->decision.name[0] ? "\"" : "", ev->index);
			break;
		case QUORUM_EV_MEMBER_UPDATED:
			witness_log(LOG_DEBUG, "member \"%s\" updated its metadata", ev->member);
			break;
		case QUORUM_EV_LEASE_GAINED:
		case QUORUM_EV_LEASE_LOST:
			/* A witness never leads. */
			witness_log(LOG_WARNING, "unexpected %s", quorum_event_type_name(ev->type));
			break;
		default:
			witness_log(ev->type == QUORUM_EV_MEMBER_ALIVE ? LOG_INFO : LOG_WARNING,
						"member \"%s\" is %s (incarnation %" PRIu64 ")", ev->member,
						quorum_event_type_name(ev->type), ev->incarnation);
			break;
	}
}

static void
witness_trace(void *ctx, enum quorum_trace_level level, const char *line)
{
	(void) ctx;
	witness_log(level == QUORUM_TRACE_WARNING ? LOG_WARNING :
				level == QUORUM_TRACE_INFO ? LOG_INFO : LOG_DEBUG, "%s", line);
}

/* SIGUSR2: the membership and the election, from consistent snapshots. */
static void
witness_report(quorum_runtime *rt)
{
	struct quorum_member_info m[64];
	struct quorum_election_info ei;
	size_t		n = 0;

	(void) quorum_runtime_members(rt, m, 64, &n);
	if (quorum_runtime_election(rt, &ei) == 0)
		witness_log(LOG_INFO, "term %" PRIu64 ", leader \"%s\", voted for \"%s\", %u voters, %s",
					ei.term, ei.leader, ei.voted_for, ei.n_voters,
					ei.paused ? "paused" : "not paused");
	for (size_t i = 0; i < n && i < 64; i++)
	{
		char		addr[QUORUM_ADDR_STRLEN];

		quorum_addr_format(&m[i].addr, addr, sizeof(addr));
		witness_log(LOG_INFO, "member \"%s\" %s %s role %s timeline %u lsn %" PRIu64 "%s",
					m[i].name, addr, quorum_member_state_name(m[i].state),
					m[i].has_meta ? quorum_role_name(m[i].meta.role) : "?",
					m[i].meta.timeline, m[i].meta.lsn, m[i].is_self ? " (self)" : "");
	}
}

/* ---------------------------------------------------------------------
 * main
 * ---------------------------------------------------------------------
 */

/* Every setting checked, the runtime's configuration built; exit 2 on error. */
static void
witness_configure(struct quorum_runtime_config *rc)
{
	char		bad[256];

	quorum_runtime_config_init(rc);
#define REQUIRE(cond, ...) \
	do { if (!(cond)) { witness_log(LOG_ERROR, __VA_ARGS__); exit(2); } } while (0)
	REQUIRE(settings.name[0] != '\0', "no node name: set \"name\" or --name");
	REQUIRE(strlen(settings.name) <= QUORUM_NAME_MAX && strcspn(settings.name, "\t\r\n,") == strlen(settings.name),
			"invalid node name \"%s\"", settings.name);
	REQUIRE(settings.cluster[0] != '\0' && strlen(settings.cluster) <= QUORUM_NAME_MAX,
			"invalid cluster name \"%s\"", settings.cluster);
	REQUIRE(settings.listen[0] != '\0', "no gossip address: set \"listen\" or --listen");
	REQUIRE(quorum_addr_parse(settings.listen, &rc->bind) == 0 && rc->bind.port != 0,
			"invalid value for \"listen\": \"%s\" is not a numeric address and port such as 192.0.2.5:7946",
			settings.listen);
	REQUIRE(parse_peers(settings.peers, rc, bad, sizeof(bad)),
			"invalid value for \"peers\": \"%s\" is not a numeric address and port", bad);
	REQUIRE(settings.state_dir[0] != '\0', "no state directory: set \"state_dir\" or --state-dir");
	REQUIRE(parse_voters(settings.voters, &rc->node),
			"invalid value for \"voters\": at most %d names of at most %d bytes",
			QUORUM_VOTERS_MAX, QUORUM_NAME_MAX);
	REQUIRE(quorum_timing_probe_fits((quorum_time_ms) settings.probe_timeout_ms,
									 (quorum_time_ms) settings.probe_interval_ms),
			"probe_timeout (%d ms) must be shorter than probe_interval (%d ms)",
			settings.probe_timeout_ms, settings.probe_interval_ms);
	REQUIRE(quorum_timing_heartbeat_fits((quorum_time_ms) settings.heartbeat_interval_ms,
										 (quorum_time_ms) settings.election_timeout_ms),
			"heartbeat_interval (%d ms) must be less than half of election_timeout (%d ms)",
			settings.heartbeat_interval_ms, settings.election_timeout_ms);
	if (settings.key_file[0] != '\0')
		REQUIRE(load_keyring(settings.key_file, &rc->node.keyring), "no usable key");
	else
		REQUIRE(settings.allow_plaintext,
				"no key file: set \"key_file\", or allow_plaintext = on to gossip without authentication");
#undef REQUIRE
	if (settings.allow_plaintext)
		witness_log(LOG_WARNING, "gossip is %s: allow_plaintext is on",
					settings.key_file[0] != '\0' ? "sealed, but unsealed datagrams are accepted" :
					"neither authenticated nor encrypted");

	strcpy(rc->node.name, settings.name);
	strcpy(rc->node.cluster, settings.cluster);
	rc->node.addr = rc->bind;
	rc->node.allow_plaintext = settings.allow_plaintext;
	rc->node.seed = quorum_runtime_random_seed();
	rc->node.members_max = (unsigned) settings.members_max;
	rc->node.probe_interval_ms = (quorum_time_ms) settings.probe_interval_ms;
	rc->node.probe_timeout_ms = (quorum_time_ms) settings.probe_timeout_ms;
	rc->node.pushpull_interval_ms = (quorum_time_ms) settings.pushpull_interval_ms;
	rc->node.suspicion_mult = (unsigned) settings.suspicion_mult;
	rc->node.indirect_probes = (unsigned) settings.indirect_probes;
	rc->node.voter = true;
	rc->node.bootstrap_expect = rc->node.n_initial_voters > 0 ? 0 :
		(unsigned) settings.bootstrap_expect;
	rc->node.heartbeat_ms = (quorum_time_ms) settings.heartbeat_interval_ms;
	rc->node.election_timeout_min_ms = (quorum_time_ms) settings.election_timeout_ms;
	rc->node.election_timeout_max_ms =
		quorum_timing_election_max_ms((quorum_time_ms) settings.election_timeout_ms);
	rc->node.trace_fn = witness_trace;
	rc->node.trace_level = settings.log_level == LOG_DEBUG ? QUORUM_TRACE_DEBUG :
		settings.log_level == LOG_INFO ? QUORUM_TRACE_INFO : QUORUM_TRACE_WARNING;
	/* A voter without a database: never a candidate, never promoted. */
	rc->facts.role = QUORUM_ROLE_WITNESS;
	rc->facts.priority = 0;
	snprintf(rc->facts.tags, sizeof(rc->facts.tags), "witness");
	rc->tcp = settings.tcp ? QUORUM_RUNTIME_TCP_ON : QUORUM_RUNTIME_TCP_OFF;
	rc->persist_fn = witness_persist;
	rc->event_fn = witness_event;
}

/*
 * Hold the state directory (created if need be, but not by --check), so
 * that two witnesses never share one vote.  Returns the lock's descriptor,
 * 0 for --check without a directory yet, or -1.
 */
static int
witness_lock_dir(const char *dir, bool create)
{
	char		path[4096];
	struct stat st;
	int			fd;

	if (!create && stat(dir, &st) != 0 && errno == ENOENT)
		return 0;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
	{
		witness_log(LOG_ERROR, "could not create state directory \"%s\": %s", dir, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/quorum_witness.lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
	{
		witness_log(LOG_ERROR, "could not open \"%s\": %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0)
	{
		witness_log(LOG_ERROR, "state directory \"%s\" is in use by another quorum_witness", dir);
		close(fd);
		return -1;
	}
	return fd;
}

/* The flags; a long name is also the setting's name (settings_set). */
static const struct option witness_options[] = {
	{"config", required_argument, NULL, 'c'},
	{"name", required_argument, NULL, 'n'},
	{"cluster", required_argument, NULL, 0},
	{"listen", required_argument, NULL, 'l'},
	{"peers", required_argument, NULL, 'p'},
	{"key-file", required_argument, NULL, 'k'},
	{"state-dir", required_argument, NULL, 'D'},
	{"voters", required_argument, NULL, 0},
	{"bootstrap-expect", required_argument, NULL, 0},
	{"allow-plaintext", no_argument, NULL, 0},
	{"tcp", required_argument, NULL, 0},
	{"election-timeout", required_argument, NULL, 0},
	{"heartbeat-interval", required_argument, NULL, 0},
	{"probe-interval", required_argument, NULL, 0},
	{"probe-timeout", required_argument, NULL, 0},
	{"pushpull-interval", required_argument, NULL, 0},
	{"suspicion-mult", required_argument, NULL, 0},
	{"indirect-probes", required_argument, NULL, 0},
	{"members-max", required_argument, NULL, 0},
	{"log-level", required_argument, NULL, 0},
	{"check", no_argument, NULL, 0},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0}
};

/*
 * Settings from the command line and the configuration file, the flags
 * applied after the file so that they win.  Returns -1 to go on, or the
 * exit status (0 after --help or --version, 2 for a bad argument).
 */
static int
witness_arguments(int argc, char **argv)
{
	const char *flag_keys[64];
	const char *flag_values[64];
	int			n_flags = 0;
	const char *config_file = NULL;
	int			opt;
	int			idx;

	settings_defaults(&settings);
	while ((opt = getopt_long(argc, argv, "c:n:l:p:k:D:hV", witness_options, &idx)) != -1)
	{
		const char *key = NULL;

		switch (opt)
		{
			case 'c':
				config_file = optarg;
				continue;
			case 'h':
				witness_usage(stdout);
				return 0;
			case 'V':
				printf("quorum_witness (libquorum) %s\n", QUORUM_VERSION_STRING);
				return 0;
			case 0:
				key = witness_options[idx].name;
				break;
			case '?':
				witness_usage(stderr);
				return 2;
			default:
				for (int i = 0; witness_options[i].name != NULL; i++)
					if (witness_options[i].val == opt)
						key = witness_options[i].name;
				break;
		}
		if (n_flags == 64)
			return 2;
		flag_keys[n_flags] = key;
		flag_values[n_flags++] = optarg != NULL ? optarg : "on";
	}
	if (optind < argc)
	{
		witness_log(LOG_ERROR, "unexpected argument \"%s\"", argv[optind]);
		return 2;
	}
	if (config_file != NULL && !settings_load_file(&settings, config_file))
		return 2;
	for (int i = 0; i < n_flags; i++)
	{
		const char *why;

		if (strcmp(flag_keys[i], "check") == 0)
		{
			settings.check_only = true;
			continue;
		}
		if ((why = settings_set(&settings, flag_keys[i], flag_values[i])) != NULL)
		{
			char		shown[80];

			witness_log(LOG_ERROR, "invalid value for --%s: %s: %s", flag_keys[i],
						shown_value(flag_values[i], shown, sizeof(shown)), why);
			return 2;
		}
	}
	log_level = settings.log_level;
	return -1;
}

/*
 * The durable record of the last run, into *restored and the runtime's
 * configuration.  Returns 1 if there was one of this node's, 0 if not, -1
 * (after a log line) if it is unreadable.
 */
static int
witness_restore(struct quorum_runtime_config *rc, struct quorum_durable *restored)
{
	char		other[QUORUM_NAME_MAX + 1] = "";
	char		err[512];
	unsigned	format_version = 0;
	struct timespec ts;
	int			loaded;

	loaded = witness_state_load(settings.state_dir, settings.name, restored,
								&format_version, other, sizeof(other),
								err, sizeof(err));
	if (loaded < 0)
	{
		witness_log(LOG_ERROR, "%s", err);
		return -1;
	}
	if (other[0] != '\0')
		witness_log(LOG_WARNING, "ignoring the durable state of node \"%s\" in \"%s\"; this is \"%s\", which starts as a new member",
					other, settings.state_dir, settings.name);
	if (loaded && format_version < QUORUM_DURABLE_FORMAT_VERSION)
		witness_log(LOG_INFO, "the durable state is in format %u; it is rewritten in format %d when next saved",
					format_version, QUORUM_DURABLE_FORMAT_VERSION);
	/* The wall clock: used only without a record of this node's own. */
	clock_gettime(CLOCK_REALTIME, &ts);
	rc->node.incarnation_start =
		quorum_durable_start_incarnation(loaded ? restored : NULL,
										 (uint64_t) ts.tv_sec * 1000 +
										 (uint64_t) ts.tv_nsec / 1000000);
	rc->node.restored = loaded ? restored : NULL;
	return loaded;
}

/*
 * Start the node and serve signals until told to stop; returns the exit
 * status.  Signals go to sigwait() here, on the main thread only: the
 * runtime's IO thread inherits the blocked mask.
 */
static int
witness_serve(struct quorum_runtime_config *rc, int lock_fd, uint64_t term)
{
	char		err[512];
	quorum_runtime *rt;
	sigset_t	sigs;
	int			rcode;

	main_thread = pthread_self();
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	rcode = quorum_runtime_new(rc, &rt, err, sizeof(err));
	explicit_bzero(&rc->node.keyring, sizeof(rc->node.keyring));
	if (rcode == 0)
		rcode = quorum_runtime_start(rt, err, sizeof(err));
	if (rcode != 0)
	{
		witness_log(LOG_ERROR, "could not start node \"%s\": %s: %s", settings.name,
					quorum_strerror(rcode), err);
		return rcode == QUORUM_EINVAL ? 2 : 1;
	}
	witness_log(LOG_INFO, "witness \"%s\" started in cluster \"%s\" on %s with %u peer(s), incarnation %" PRIu64 ", term %" PRIu64,
				settings.name, settings.cluster, settings.listen, rc->n_seeds,
				rc->node.incarnation_start, term);

	for (;;)
	{
		int			sig;
		bool		failed;

		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGUSR2)
		{
			witness_report(rt);
			continue;
		}
		if (sig == SIGHUP)
		{
			witness_log(LOG_INFO, "SIGHUP ignored: settings are read at start; restart to change them");
			continue;
		}
		failed = sig == SIGUSR1;
		if (!failed)
			witness_log(LOG_INFO, "received %s: leaving the cluster", strsignal(sig));
		rcode = quorum_runtime_stop(rt, !failed);
		quorum_runtime_free(rt);
		close(lock_fd);
		if (rcode != 0)
		{
			witness_log(LOG_ERROR, "stopped: %s", quorum_strerror(rcode));
			return 1;
		}
		witness_log(LOG_INFO, "left the cluster; exiting");
		return 0;
	}
}

int
main(int argc, char **argv)
{
	struct quorum_runtime_config rc;
	struct quorum_durable restored;
	int			status;
	int			loaded;
	int			lock_fd;

	if ((status = witness_arguments(argc, argv)) >= 0)
		return status;
	witness_configure(&rc);

	lock_fd = witness_lock_dir(settings.state_dir, !settings.check_only);
	if (lock_fd < 0)
		return settings.check_only ? 2 : 1;
	if ((loaded = witness_restore(&rc, &restored)) < 0)
		return 2;
	if (settings.check_only)
	{
		printf("configuration ok: node \"%s\" in cluster \"%s\" on %s, %u peer(s), %s\n",
			   settings.name, settings.cluster, settings.listen, rc.n_seeds,
			   loaded ? "durable state found" : "no durable state yet");
		explicit_bzero(&rc.node.keyring, sizeof(rc.node.keyring));
		return 0;
	}
	return witness_serve(&rc, lock_fd, loaded ? restored.election.term : 0);
}
