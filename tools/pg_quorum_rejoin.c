/*-------------------------------------------------------------------------
 *
 * pg_quorum_rejoin.c
 *	  Turn a stopped PostgreSQL server into a standby of the current
 *	  pg_quorum leader, rewinding it with pg_rewind when its WAL diverged.
 *
 * A service manager runs this before every start of the server
 * (ExecStartPre=), so a deposed primary that stopped itself, or crashed,
 * comes back as a standby.  The order of work is what makes it safe:
 *
 *	1. refuse if the server is running;
 *	2. ask the peers (libpq, SQL: quorum.status and quorum.nodes) for the
 *	   leader, retrying while an election is under way; with none found,
 *	   change nothing and exit 0 (the whole cluster may be starting, and the
 *	   server starts fenced anyway); change nothing either when the leader
 *	   is on an older timeline than this server: it stays fenced and hands
 *	   the leadership here once this server runs (extension/reconcile.c);
 *	3. copy this server's own configuration files and pg_quorum.state to a
 *	   directory next to the data directory, since pg_rewind replaces them
 *	   with the leader's (and a copied pg_quorum.state would lose this node's
 *	   term and vote); a later run restores them first if a run died here;
 *	4. checkpoint the leader (a just-promoted server's control file names its
 *	   new timeline only after that, and pg_rewind reads it there), then run
 *	   pg_rewind --source-server=<leader> (it rewinds only when the WAL
 *	   diverged, and reports "no rewind required" otherwise), and treat as
 *	   failed a rewind that left the directory without WAL it must replay,
 *	   or a primary on the leader's timeline ID;
 *	5. restore the kept files, then write standby.signal and
 *	   primary_conninfo into postgresql.auto.conf (temporary file, fsync,
 *	   rename, fsync of the directory).
 *
 * Any failure exits 1 before the directory could start as a standby with
 * diverged data: the service manager then does not start the server.
 * PostgreSQL itself also refuses to follow a timeline that forked before its
 * own replay position, so a step that is skipped (an uncleanly stopped
 * standby cannot be rewound) can stall replication but never mix histories.
 *
 * Only libpq and POSIX; it runs no protocol code.
 *
 * tools/pg_quorum_rejoin.c
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

/* QUORUM_NAME_MAX */
#include "quorum/types.h"
#include "timeline_history.h"

#define PROGNAME "pg_quorum_rejoin"

#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* Peers asked, at most; files kept across a rewind, at most. */
#define PEERS_MAX 32
#define KEEP_MAX 32
/* Seconds between two rounds of asking every peer for the leader. */
#define POLL_INTERVAL_S 1
/*
 * Seconds of rounds in which no peer names a leader, not even one still
 * promoting, after which the search ends before --timeout: with every
 * reachable peer leaderless, the cluster may need this server's vote, and
 * it starts fenced anyway.  Several election timeouts at the defaults.
 */
#define NO_LEADER_WAIT_S 6
/* libpq connect_timeout for each peer, seconds. */
#define CONNECT_TIMEOUT_S "3"
/* Largest configuration file handled, bytes. */
#define FILE_BYTES_MAX (16 * 1024 * 1024)

/* Files of the data directory that belong to this server, not the leader. */
static const char *const default_keep[] = {
	"postgresql.conf",
	"postgresql.auto.conf",
	"pg_hba.conf",
	"pg_ident.conf",
	"pg_quorum.state",
};

typedef struct Options
{
	const char *pgdata;
	const char *peers[PEERS_MAX];
	int			n_peers;
	const char *node_name;
	int			timeout_s;
	bool		require_leader;
	const char *keep[KEEP_MAX];
	int			n_keep;
	const char *pg_rewind;
	bool		rebuild;
	bool		dry_run;
} Options;

typedef struct Leader
{
	char	   *name;
	char	   *conninfo;
	char	   *via;			/* the peer that told us */
	uint32_t	timeline;		/* the leader's, as it gossips it; 0 = unknown */
	uint32_t	self_timeline;	/* this server's, as the peer last heard it */
} Leader;

static Options opt;

/* One line on stderr: "pg_quorum_rejoin: <what>the message". */
static void
vreport(const char *what, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s", PROGNAME, what);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static void msg(const char *fmt,...) __attribute__((format(printf, 1, 2)));

static void
msg(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vreport("", fmt, ap);
	va_end(ap);
}

static void fail(const char *fmt,...) __attribute__((noreturn, format(printf, 1, 2)));

static void
fail(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vreport("error: ", fmt, ap);
	va_end(ap);
	exit(EXIT_FAIL);
}

static void usage_error(const char *fmt,...) __attribute__((noreturn, format(printf, 1, 2)));

static void
usage_error(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vreport("", fmt, ap);
	va_end(ap);
	exit(EXIT_USAGE);
}

static char *
xstrdup(const char *s)
{
	char	   *d = strdup(s);

	if (d == NULL)
		fail("out of memory");
	return d;
}

static char *
path_join(const char *dir, const char *name)
{
	char	   *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		fail("out of memory");
	return p;
}

static void
usage(FILE *f)
{
	fprintf(f,
			"%s turns a stopped server into a standby of the current pg_quorum leader,\n"
			"running pg_rewind first when its WAL diverged.  Run it before every start.\n\n"
			"Usage:\n"
			"  %s -D DATADIR --peer CONNINFO [--peer CONNINFO ...] [OPTION]...\n\n"
			"Options:\n"
			"  -D, --pgdata=DIR        data directory of the stopped server\n"
			"      --peer=CONNINFO     libpq connection string of another member (repeatable)\n"
			"      --node-name=NAME    this server's pg_quorum.node_name (default: from its configuration)\n"
			"      --timeout=SECONDS   how long to look for a leader (default 30)\n"
			"      --require-leader    fail when no leader is found instead of leaving the directory unchanged\n"
			"      --keep=FILE         another data-directory file to keep across a rewind (repeatable);\n"
			"                          files that postgresql.conf includes are always kept\n"
			"      --pg-rewind=PATH    pg_rewind to run (default: the one next to this program)\n"
			"      --rebuild           when pg_rewind fails, copy the leader with pg_basebackup instead,\n"
			"                          keeping this server's configuration files\n"
			"  -n, --dry-run           say what would be done, change nothing\n"
			"  -?, --help              show this help\n\n"
			"Exit status: 0 ready to start, 1 do not start, 2 usage error.\n",
			PROGNAME, PROGNAME);
}

/*
 * A node name as pg_quorum takes it; a name that is too long is refused
 * with its length, not quoted whole (it may be anything at all).
 */
static void
check_node_name(const char *name, const char *where)
{
	if (strlen(name) > QUORUM_NAME_MAX)
		usage_error("invalid node name from %s: it is %zu bytes long; at most %d are allowed",
					where, strlen(name), QUORUM_NAME_MAX);
}

static int
parse_timeout(const char *arg)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > 86400)
		usage_error("invalid --timeout \"%s\": give whole seconds from 0 to 86400", arg);
	return (int) v;
}

/* One option of parse_args(); c is getopt_long's answer. */
static void
parse_option(int c, char **argv)
{
	switch (c)
	{
		case 'D':
			opt.pgdata = optarg;
			break;
		case 1:
			if (opt.n_peers == PEERS_MAX)
				usage_error("at most %d --peer options are allowed", PEERS_MAX);
			opt.peers[opt.n_peers++] = optarg;
			break;
		case 2:
			check_node_name(optarg, "--node-name");
			opt.node_name = optarg;
			break;
		case 3:
			opt.timeout_s = parse_timeout(optarg);
			break;
		case 4:
			opt.require_leader = true;
			break;
		case 5:
			if (opt.n_keep == KEEP_MAX || strchr(optarg, '/') != NULL ||
				strcmp(optarg, "..") == 0 || strcmp(optarg, ".") == 0)
				usage_error("invalid --keep \"%s\": give the name of a file directly in the data directory (at most %d)",
							optarg, KEEP_MAX);
			opt.keep[opt.n_keep++] = optarg;
			break;
		case 6:
			opt.pg_rewind = optarg;
			break;
		case 7:
			opt.rebuild = true;
			break;
		case 'n':
			opt.dry_run = true;
			break;
		case '?':
			if (optopt == 0 && strcmp(argv[optind - 1], "-?") != 0 &&
				strcmp(argv[optind - 1], "--help") != 0)
			{
				usage(stderr);
				exit(EXIT_USAGE);
			}
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(EXIT_USAGE);
	}
}

static void
parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"pgdata", required_argument, NULL, 'D'},
		{"peer", required_argument, NULL, 1},
		{"node-name", required_argument, NULL, 2},
		{"timeout", required_argument, NULL, 3},
		{"require-leader", no_argument, NULL, 4},
		{"keep", required_argument, NULL, 5},
		{"pg-rewind", required_argument, NULL, 6},
		{"rebuild", no_argument, NULL, 7},
		{"dry-run", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, '?'},
		{NULL, 0, NULL, 0}
	};
	int			c;

	opt.timeout_s = 30;
	while ((c = getopt_long(argc, argv, "D:n?", longopts, NULL)) != -1)
		parse_option(c, argv);
	if (optind < argc)
		usage_error("unexpected argument \"%s\"", argv[optind]);
	if (opt.pgdata == NULL)
		usage_error("no data directory given (-D)");
	if (opt.n_peers == 0)
		usage_error("no peer given (--peer)");
	for (int i = 0; i < opt.n_peers; i++)
	{
		char	   *err = NULL;
		PQconninfoOption *o = PQconninfoParse(opt.peers[i], &err);

		if (o == NULL)
			usage_error("invalid --peer \"%s\": %s", opt.peers[i],
						err != NULL ? err : "out of memory");
		PQconninfoFree(o);
	}
}

/* ---------------------------------------------------------------------
 * Files
 * ---------------------------------------------------------------------
 */

static bool
file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Whole file into memory; NULL with errno set on failure. */
static char *
read_file(const char *path, size_t *len_out)
{
	int			fd = open(path, O_RDONLY);
	struct stat st;
	char	   *buf;
	size_t		len = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || st.st_size > FILE_BYTES_MAX)
	{
		if (errno == 0)
			errno = EFBIG;
		close(fd);
		return NULL;
	}
	buf = malloc((size_t) st.st_size + 1);
	if (buf == NULL)
		fail("out of memory");
	while (len < (size_t) st.st_size)
	{
		ssize_t		n = read(fd, buf + len, (size_t) st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t) n;
	}
	close(fd);
	buf[len] = '\0';
	if (len_out != NULL)
		*len_out = len;
	return buf;
}

static void
fsync_path(const char *path, bool is_dir)
{
	int			fd = open(path, is_dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);

	if (fd < 0)
		fail("could not open \"%s\" to fsync it: %s", path, strerror(errno));
	if (fsync(fd) != 0)
		fail("could not fsync \"%s\": %s", path, strerror(errno));
	close(fd);
}

/*
 * Replace dir/name with data durably: a temporary file in the same
 * directory, fsync, rename over the old one, fsync the directory.
 */
static void
write_file_durably(const char *dir, const char *name, const char *data,
				   size_t len, mode_t mode)
{
	char	   *path = path_join(dir, name);
	char	   *tmp;
	int			fd;
	size_t		done = 0;

	if (asprintf(&tmp, "%s/%s.%s.tmp", dir, name, PROGNAME) < 0)
		fail("out of memory");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0)
		fail("could not create \"%s\": %s", tmp, strerror(errno));
	while (done < len)
	{
		ssize_t		n = write(fd, data + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail("could not write \"%s\": %s", tmp, n < 0 ? strerror(errno) : "disk full");
		done += (size_t) n;
	}
	if (fsync(fd) != 0)
		fail("could not fsync \"%s\": %s", tmp, strerror(errno));
	if (close(fd) != 0)
		fail("could not close \"%s\": %s", tmp, strerror(errno));
	if (rename(tmp, path) != 0)
		fail("could not rename \"%s\" to \"%s\": %s", tmp, path, strerror(errno));
	/* name may have directories: fsync the one the file is in. */
	tmp[strlen(tmp) - strlen(strrchr(tmp, '/'))] = '\0';
	fsync_path(tmp, true);
	free(tmp);
	free(path);
}

/* ---------------------------------------------------------------------
 * Kept files: saved next to the data directory across a rewind
 * ---------------------------------------------------------------------
 */

/* A growing list of data-directory paths, each relative and listed once. */
typedef struct FileList
{
	char	  **names;
	int			n;
	int			cap;
} FileList;

static void
filelist_add(FileList *l, const char *name)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->names[i], name) == 0)
			return;
	if (l->n == l->cap)
	{
		l->cap = l->cap == 0 ? 16 : l->cap * 2;
		l->names = realloc(l->names, sizeof(char *) * (size_t) l->cap);
		if (l->names == NULL)
			fail("out of memory");
	}
	l->names[l->n++] = xstrdup(name);
}

/* "<pgdata>.pg_quorum_rejoin": outside the data directory, which pg_rewind
 * makes identical to the leader's (deleting files only the target has). */
static char *
keep_dir(void)
{
	char	   *d;
	size_t		len = strlen(opt.pgdata);

	while (len > 1 && opt.pgdata[len - 1] == '/')
		len--;
	if (asprintf(&d, "%.*s.%s", (int) len, opt.pgdata, PROGNAME) < 0)
		fail("out of memory");
	return d;
}

/*
 * Next to the keep directory, "<data directory>.pg_quorum_rejoin.rewinding"
 * exists from just before pg_rewind starts until it has succeeded.  A
 * pg_rewind that failed or was killed after it began copying leaves a
 * directory half rewound, which PostgreSQL would start, and which a second
 * pg_rewind could rewind wrongly: it finds the blocks to copy in the
 * directory's own WAL, which the first may have replaced.  Only a rebuild
 * clears it.  (Not in the data directory: pg_rewind removes files the
 * leader does not have.)
 */
static char *
rewind_marker(void)
{
	char	   *kdir = keep_dir();
	char	   *m;

	if (asprintf(&m, "%s.rewinding", kdir) < 0)
		fail("out of memory");
	free(kdir);
	return m;
}

static void
rewind_marker_set(bool on)
{
	char	   *m = rewind_marker();
	char	   *slash = strrchr(m, '/');
	char	   *dir = slash == NULL ? xstrdup(".") : strndup(m, (size_t) (slash - m));

	if (dir == NULL)
		fail("out of memory");
	if (on)
		write_file_durably(dir, slash == NULL ? m : slash + 1, "", 0, 0600);
	else if (unlink(m) == 0)
		fsync_path(dir, true);
	else if (errno != ENOENT)
		fail("could not remove \"%s\": %s", m, strerror(errno));
	free(dir);
	free(m);
}

static bool
rewind_unfinished(void)
{
	char	   *m = rewind_marker();
	bool		there = file_exists(m);

	free(m);
	return there;
}

static void conf_scan_file(const char *root, const char *path, int depth,
						   FileList *out);

/*
 * path relative to the data directory root (both resolved), or NULL when
 * it lies outside it, where pg_rewind does not write.
 */
static const char *
conf_relative(const char *root, const char *resolved)
{
	size_t		len = strlen(root);

	if (strncmp(resolved, root, len) != 0 || resolved[len] != '/')
		return NULL;
	return resolved + len + 1;
}

/* An included file or directory entry: keep it and look inside it. */
static void
conf_include(const char *root, const char *path, int depth, FileList *out)
{
	char	   *resolved = realpath(path, NULL);
	const char *rel;
	struct stat st;

	if (resolved == NULL || stat(resolved, &st) != 0 || !S_ISREG(st.st_mode))
	{
		free(resolved);
		return;					/* include_if_exists of a missing file */
	}
	rel = conf_relative(root, resolved);
	if (rel != NULL)
		filelist_add(out, rel);
	conf_scan_file(root, resolved, depth + 1, out);
	free(resolved);
}

/* include_dir: its *.conf files, as PostgreSQL reads them. */
static void
conf_include_dir(const char *root, const char *dir, int depth, FileList *out)
{
	DIR		   *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
	{
		size_t		len = strlen(e->d_name);
		char	   *p;

		if (e->d_name[0] == '.' || len < 6 || strcmp(e->d_name + len - 5, ".conf") != 0)
			continue;
		p = path_join(dir, e->d_name);
		conf_include(root, p, depth, out);
		free(p);
	}
	closedir(d);
}

/*
 * The value of one configuration line into value (at most cap - 1 bytes):
 * a quoted string with '' and backslash escapes, or a bare word.  Returns
 * false for a line without a value.
 */
static bool
conf_value(const char *p, char *value, size_t cap)
{
	size_t		n = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '=')
		p++;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '\'')
	{
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '#' && *p != '\r' && n + 1 < cap)
			value[n++] = *p++;
		value[n] = '\0';
		return n > 0;
	}
	for (p++; *p != '\0' && n + 1 < cap; p++)
	{
		if (*p == '\'' && p[1] == '\'')
			p++;
		else if (*p == '\'')
			break;
		else if (*p == '\\' && p[1] != '\0')
			p++;
		value[n++] = *p;
	}
	value[n] = '\0';
	return *p == '\'';
}

/*
 * Every file that path includes (include, include_if_exists, include_dir),
 * recursively, into out when it lies in the data directory.  A relative
 * name is relative to the including file's directory, as in PostgreSQL.
 */
static void
conf_scan_file(const char *root, const char *path, int depth, FileList *out)
{
	char	   *text;
	char	   *save = NULL;
	char	   *dir;
	char	   *tmp;

	/* PostgreSQL refuses deeper nesting (CONF_FILE_MAX_DEPTH). */
	if (depth > 10 || (text = read_file(path, NULL)) == NULL)
		return;
	tmp = xstrdup(path);
	dir = xstrdup(dirname(tmp));
	free(tmp);
	for (char *line = strtok_r(text, "\n", &save); line != NULL;
		 line = strtok_r(NULL, "\n", &save))
	{
		char		value[PATH_MAX];
		char	   *target;
		size_t		kw;
		bool		is_dir;

		while (*line == ' ' || *line == '\t')
			line++;
		kw = strspn(line, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_");
		is_dir = kw == 11 && strncasecmp(line, "include_dir", kw) == 0;
		if (!is_dir && !(kw == 7 && strncasecmp(line, "include", kw) == 0) &&
			!(kw == 17 && strncasecmp(line, "include_if_exists", kw) == 0))
			continue;
		if (!conf_value(line + kw, value, sizeof(value)))
			continue;
		target = value[0] == '/' ? xstrdup(value) : path_join(dir, value);
		if (is_dir)
			conf_include_dir(root, target, depth, out);
		else
			conf_include(root, target, depth, out);
		free(target);
	}
	free(dir);
	free(text);
}

/*
 * The files to keep: the defaults, --keep, and every configuration file
 * that postgresql.conf includes from inside the data directory.
 */
static void
keep_list(FileList *out)
{
	char	   *root = realpath(opt.pgdata, NULL);
	char	   *conf;

	if (root == NULL)
		fail("could not resolve \"%s\": %s", opt.pgdata, strerror(errno));
	for (size_t i = 0; i < sizeof(default_keep) / sizeof(default_keep[0]); i++)
		filelist_add(out, default_keep[i]);
	for (int i = 0; i < opt.n_keep; i++)
		filelist_add(out, opt.keep[i]);
	conf = path_join(root, "postgresql.conf");
	conf_scan_file(root, conf, 1, out);
	free(conf);
	free(root);
}

/* dir/name's directories, created as needed (owner only, as PostgreSQL's). */
static void
make_parents(const char *dir, const char *name)
{
	char	   *path = path_join(dir, name);

	for (char *s = path + strlen(dir) + 1; (s = strchr(s, '/')) != NULL; s++)
	{
		*s = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			fail("could not create directory \"%s\": %s", path, strerror(errno));
		*s = '/';
	}
	free(path);
}

/* Copy from/src to to/dst durably, with its mode; false if src is absent. */
static bool
copy_kept(const char *from, const char *src, const char *to, const char *dst)
{
	char	   *path = path_join(from, src);
	struct stat st;
	size_t		len;
	char	   *data;

	if (stat(path, &st) != 0)
	{
		free(path);
		return false;
	}
	data = read_file(path, &len);
	if (data == NULL)
		fail("could not read \"%s\": %s", path, strerror(errno));
	make_parents(to, dst);
	write_file_durably(to, dst, data, len, st.st_mode & 07777);
	free(data);
	free(path);
	return true;
}

/*
 * Copy every kept file that exists into the keep directory, as f<N>, and
 * their data-directory paths into its "manifest", line N; and the node
 * name, which a rebuild cut off half-way cannot read from an empty data
 * directory.  The directory is complete once its "complete" marker
 * exists; only then is it restored.
 */
static void
keep_save(const char *kdir, const char *self)
{
	FileList	names = {0};
	char	   *manifest = NULL;
	size_t		mlen = 0;
	FILE	   *m;

	keep_list(&names);
	if (mkdir(kdir, 0700) != 0)
		fail("could not create \"%s\" to keep this server's files across the rewind: %s",
			 kdir, strerror(errno));
	m = open_memstream(&manifest, &mlen);
	if (m == NULL)
		fail("out of memory");
	for (int i = 0, k = 0; i < names.n; i++)
	{
		char		slot[32];

		snprintf(slot, sizeof(slot), "f%d", k);
		if (!copy_kept(opt.pgdata, names.names[i], kdir, slot))
			continue;
		fprintf(m, "%s\n", names.names[i]);
		k++;
	}
	fclose(m);
	write_file_durably(kdir, "manifest", manifest, mlen, 0600);
	write_file_durably(kdir, "node_name", self, strlen(self), 0600);
	write_file_durably(kdir, "complete", "", 0, 0600);
	free(manifest);
}

/* Put the kept files back and remove the keep directory. */
static void
keep_restore(const char *kdir)
{
	char	   *marker = path_join(kdir, "complete");
	char	   *mpath = path_join(kdir, "manifest");
	char	   *name_path = path_join(kdir, "node_name");
	char	   *manifest;
	char	   *save = NULL;
	int			k = 0;

	if (!file_exists(marker))
	{
		free(marker);
		free(mpath);
		free(name_path);
		return;
	}
	manifest = read_file(mpath, NULL);
	if (manifest == NULL)
		fail("could not read \"%s\": %s", mpath, strerror(errno));
	for (char *name = strtok_r(manifest, "\n", &save); name != NULL;
		 name = strtok_r(NULL, "\n", &save), k++)
	{
		char		slot[32];

		snprintf(slot, sizeof(slot), "f%d", k);
		if (!copy_kept(kdir, slot, opt.pgdata, name))
			fail("\"%s\" lacks the kept copy of \"%s\"", kdir, name);
	}
	/* Remove the marker first: a half-removed directory is never restored. */
	if (unlink(marker) != 0)
		fail("could not remove \"%s\": %s", marker, strerror(errno));
	for (int i = 0; i < k; i++)
	{
		char		slot[32];
		char	   *p;

		snprintf(slot, sizeof(slot), "f%d", i);
		p = path_join(kdir, slot);
		(void) unlink(p);
		free(p);
	}
	(void) unlink(mpath);
	(void) unlink(name_path);
	if (rmdir(kdir) != 0)
		msg("could not remove \"%s\": %s", kdir, strerror(errno));
	free(manifest);
	free(marker);
	free(mpath);
	free(name_path);
}

/* ---------------------------------------------------------------------
 * The local server
 * ---------------------------------------------------------------------
 */

/* Directory of this executable, where pg_rewind, postgres and
 * pg_controldata are installed too. */
static char *
own_bindir(void)
{
	char		buf[PATH_MAX];
	ssize_t		n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return xstrdup(dirname(buf));
}

static char *
pg_program(const char *name)
{
	char	   *dir = own_bindir();
	char	   *p;

	if (dir != NULL)
	{
		p = path_join(dir, name);
		free(dir);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
#ifdef PGQ_PG_BINDIR
	p = path_join(PGQ_PG_BINDIR, name);
	if (access(p, X_OK) == 0)
		return p;
	free(p);
#endif
	return xstrdup(name);		/* from PATH */
}

/* Running: a postmaster.pid whose process exists. */
static bool
server_running(long *pid_out)
{
	char	   *path = path_join(opt.pgdata, "postmaster.pid");
	char	   *text = read_file(path, NULL);
	long		pid;

	free(path);
	if (text == NULL)
		return false;
	pid = strtol(text, NULL, 10);
	free(text);
	*pid_out = pid;
	if (pid <= 0)
		return false;
	return kill((pid_t) pid, 0) == 0 || errno == EPERM;
}

/*
 * Run argv, capturing up to cap-1 bytes of its standard output into out
 * (NULL: let it print); the exit status, or -1 if it could not run.
 */
static int
run(char *const argv[], char *out, size_t cap, bool c_locale)
{
	int			pipefd[2] = {-1, -1};
	pid_t		pid;
	int			status;
	size_t		len = 0;

	if (out != NULL && pipe(pipefd) != 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
	{
		if (out != NULL)
		{
			dup2(pipefd[1], STDOUT_FILENO);
			close(pipefd[0]);
			close(pipefd[1]);
		}
		if (c_locale)
		{
			setenv("LC_ALL", "C", 1);
			unsetenv("LANGUAGE");
		}
		execvp(argv[0], argv);
		fprintf(stderr, "%s: could not run \"%s\": %s\n", PROGNAME, argv[0], strerror(errno));
		_exit(127);
	}
	if (out != NULL)
	{
		close(pipefd[1]);
		for (;;)
		{
			char		chunk[4096];
			ssize_t		n = read(pipefd[0], chunk, sizeof(chunk));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			if (len + 1 < cap)
			{
				size_t		take = (size_t) n < cap - 1 - len ? (size_t) n : cap - 1 - len;

				memcpy(out + len, chunk, take);
				len += take;
			}
		}
		close(pipefd[0]);
		out[len] = '\0';
	}
	while (waitpid(pid, &status, 0) < 0)
	{
		if (errno != EINTR)
			return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
chomp(char *s)
{
	size_t		n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
}

/* A setting as the stopped server would see it (postgres -C). */
static char *
server_setting(const char *name)
{
	char	   *postgres = pg_program("postgres");
	char		out[1024];
	char	   *argv[] = {postgres, "-D", (char *) opt.pgdata, "-C", (char *) name, NULL};
	int			rc = run(argv, out, sizeof(out), true);

	free(postgres);
	if (rc != 0)
		return xstrdup("");
	chomp(out);
	return xstrdup(out);
}

/*
 * The node name: --node-name, else the one keep_save() noted when the data
 * directory is an interrupted rebuild (kdir non-NULL), else the server's
 * configuration.
 */
static char *
local_node_name(const char *kdir)
{
	char	   *name;

	if (opt.node_name != NULL)
		return xstrdup(opt.node_name);
	if (kdir != NULL)
	{
		char	   *path = path_join(kdir, "node_name");

		name = read_file(path, NULL);
		free(path);
		if (name != NULL && name[0] != '\0')
		{
			check_node_name(name, "the kept configuration");
			return name;
		}
		free(name);
	}
	name = server_setting("pg_quorum.node_name");
	if (name[0] == '\0')
	{
		free(name);
		name = server_setting("cluster_name");
	}
	if (name[0] == '\0')
	{
		msg("could not determine this server's node name: pg_quorum.node_name and cluster_name are empty");
		msg("give it with --node-name");
		exit(EXIT_USAGE);
	}
	check_node_name(name, "the server's configuration");
	return name;
}

/* pg_controldata's report of the data directory (free it). */
static char *
controldata_report(void)
{
	char	   *prog = pg_program("pg_controldata");
	static char out[16384];
	char	   *argv[] = {prog, "-D", (char *) opt.pgdata, NULL};
	int			rc = run(argv, out, sizeof(out), true);

	free(prog);
	if (rc != 0)
		fail("pg_controldata failed for \"%s\"", opt.pgdata);
	return xstrdup(out);
}

/* A field of that report, e.g. "Database cluster state" (free it). */
static char *
controldata_field(const char *report, const char *label)
{
	const char *line = strstr(report, label);
	char	   *value;

	if (line == NULL || line[strlen(label)] != ':')
		fail("pg_controldata did not report \"%s\" for \"%s\"", label, opt.pgdata);
	line += strlen(label) + 1;
	while (*line == ' ')
		line++;
	value = xstrdup(line);
	value[strcspn(value, "\n")] = '\0';
	return value;
}

/* A timeline ID field of that report, e.g. "Latest checkpoint's TimeLineID". */
static uint32_t
controldata_timeline(const char *report, const char *label)
{
	char	   *text = controldata_field(report, label);
	uint32_t	tli = (uint32_t) strtoul(text, NULL, 10);

	free(text);
	return tli;
}

/* "Latest checkpoint's TimeLineID": the timeline pg_rewind compares. */
static uint32_t
checkpoint_timeline(void)
{
	char	   *report = controldata_report();
	uint32_t	tli = controldata_timeline(report, "Latest checkpoint's TimeLineID");

	free(report);
	return tli;
}

/*
 * The newest timeline the control file shows this directory on: a
 * standby's replay may have gone past its last restartpoint's timeline.
 */
static uint32_t
local_timeline(void)
{
	char	   *report = controldata_report();
	uint32_t	checkpoint = controldata_timeline(report, "Latest checkpoint's TimeLineID");
	uint32_t	min_recovery = controldata_timeline(report, "Min recovery ending loc's timeline");

	free(report);
	return checkpoint > min_recovery ? checkpoint : min_recovery;
}

/* "Database cluster state", e.g. "shut down". */
static char *
cluster_state(void)
{
	char	   *report = controldata_report();
	char	   *state = controldata_field(report, "Database cluster state");

	free(report);
	return state;
}

/* ---------------------------------------------------------------------
 * The leader
 * ---------------------------------------------------------------------
 */

static PGconn *
peer_connect(const char *conninfo)
{
	const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
	const char *vals[] = {CONNECT_TIMEOUT_S, PROGNAME, conninfo, NULL};
	PGconn	   *conn = PQconnectdbParams(keys, vals, 1);

	if (conn == NULL)
		fail("out of memory");
	return conn;
}

/* What one peer said about the leader. */
typedef enum PeerAnswer
{
	PEER_LEADER,				/* a usable leader, in *leader */
	PEER_PENDING,				/* a leader it names is not usable yet */
	PEER_PAUSED_NO_OTHER,		/* failover paused, no leader or self */
	PEER_NONE,					/* unreachable, or it knows no leader */
} PeerAnswer;

/*
 * Ask one peer; PEER_LEADER and *leader filled when it knows a leader other
 * than self whose conninfo is known and which already runs as the primary
 * (a leader still promoting is on the old timeline, where pg_rewind would
 * see no divergence that is about to appear).
 */
static PeerAnswer
ask_peer(const char *peer, const char *self, Leader *leader, char **why)
{
	PGconn	   *conn = peer_connect(peer);
	PGresult   *res;
	PeerAnswer	answer = PEER_PENDING;

	*why = NULL;
	if (PQstatus(conn) != CONNECTION_OK)
	{
		if (asprintf(why, "could not connect: %s", PQerrorMessage(conn)) < 0)
			*why = NULL;
		PQfinish(conn);
		return PEER_NONE;
	}
	res = PQexecParams(conn,
					   "SELECT s.leader, n.conninfo, n.role, "
					   "coalesce(n.timeline, 0), coalesce(me.timeline, 0), "
					   "coalesce(s.paused, false) "
					   "FROM quorum.status s LEFT JOIN quorum.nodes n ON n.name = s.leader "
					   "LEFT JOIN quorum.nodes me ON me.name = $1",
					   1, NULL, &self, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
	{
		if (asprintf(why, "query failed: %s", PQerrorMessage(conn)) < 0)
			*why = NULL;
		answer = PEER_NONE;
	}
	else if (strcmp(PQgetvalue(res, 0, 5), "t") == 0 &&
			 (PQgetisnull(res, 0, 0) || strcmp(PQgetvalue(res, 0, 0), self) == 0))
	{
		*why = xstrdup(PQgetisnull(res, 0, 0)
					   ? "it knows no leader, and failover is paused"
					   : "it names this server as leader, and failover is paused");
		answer = PEER_PAUSED_NO_OTHER;
	}
	else if (PQgetisnull(res, 0, 0))
	{
		*why = xstrdup("it knows no leader");
		answer = PEER_NONE;
	}
	else if (strcmp(PQgetvalue(res, 0, 0), self) == 0)
		*why = xstrdup("it still names this (stopped) server as leader");
	else if (PQgetisnull(res, 0, 1) || PQgetvalue(res, 0, 1)[0] == '\0')
	{
		if (asprintf(why, "it does not know the conninfo of leader \"%s\"",
					 PQgetvalue(res, 0, 0)) < 0)
			*why = NULL;
	}
	else if (PQgetisnull(res, 0, 2) || strcmp(PQgetvalue(res, 0, 2), "primary") != 0)
	{
		if (asprintf(why, "leader \"%s\" is not running as the primary yet",
					 PQgetvalue(res, 0, 0)) < 0)
			*why = NULL;
	}
	else
	{
		leader->name = xstrdup(PQgetvalue(res, 0, 0));
		leader->conninfo = xstrdup(PQgetvalue(res, 0, 1));
		leader->via = xstrdup(peer);
		leader->timeline = (uint32_t) strtoul(PQgetvalue(res, 0, 3), NULL, 10);
		leader->self_timeline = (uint32_t) strtoul(PQgetvalue(res, 0, 4), NULL, 10);
		answer = PEER_LEADER;
	}
	PQclear(res);
	PQfinish(conn);
	return answer;
}

/*
 * Ask the peers in rounds until one names a usable leader (true), until
 * --timeout, or until no peer has named any leader for NO_LEADER_WAIT_S:
 * waiting longer then only delays an election that may need this server,
 * unless need_leader (the directory cannot start without one).  Nor does it
 * wait while failover is paused and the peers that answer name no leader
 * but this server: no other is elected then (only the primary that led
 * last may campaign), and waiting would only keep the primary down through
 * a restart in maintenance, the very restart a pause is for (the fault
 * campaign's seed 221).
 */
static bool
find_leader(const char *self, bool need_leader, Leader *leader)
{
	time_t		start = time(NULL);
	time_t		deadline = start + opt.timeout_s;
	time_t		leaderless_since = start;

	for (int round = 0;; round++)
	{
		bool		pending = false;
		bool		paused_no_other = false;
		bool		last_round;

		for (int i = 0; i < opt.n_peers; i++)
		{
			char	   *why;
			PeerAnswer	answer = ask_peer(opt.peers[i], self, leader, &why);

			if (answer == PEER_LEADER)
				return true;
			pending |= answer == PEER_PENDING;
			paused_no_other |= answer == PEER_PAUSED_NO_OTHER;
			if (round == 0 || time(NULL) >= deadline)
			{
				if (why != NULL)
					chomp(why);
				msg("peer \"%s\": %s", opt.peers[i], why != NULL ? why : "out of memory");
			}
			free(why);
		}
		if (paused_no_other && !pending && !need_leader)
		{
			msg("failover is paused and no peer names a leader other than this server: "
				"none is elected until quorum.resume()");
			return false;
		}
		if (pending || paused_no_other)
			leaderless_since = time(NULL);
		last_round = time(NULL) >= deadline;
		if (!last_round && !need_leader &&
			time(NULL) - leaderless_since >= NO_LEADER_WAIT_S)
		{
			msg("no peer has named a leader for %d s", NO_LEADER_WAIT_S);
			return false;
		}
		if (last_round)
			return false;
		sleep(POLL_INTERVAL_S);
	}
}

/* ---------------------------------------------------------------------
 * Standby configuration
 * ---------------------------------------------------------------------
 */

/* value quoted for a conninfo string: '...' with \ and ' escaped. */
static void
append_conninfo_value(char **buf, size_t *len, size_t *cap, const char *v)
{
	if (*cap - *len < strlen(v) * 2 + 4)
	{
		*cap = *len + strlen(v) * 2 + 64;
		*buf = realloc(*buf, *cap);
		if (*buf == NULL)
			fail("out of memory");
	}
	(*buf)[(*len)++] = '\'';
	for (const char *p = v; *p; p++)
	{
		if (*p == '\'' || *p == '\\')
			(*buf)[(*len)++] = '\\';
		(*buf)[(*len)++] = *p;
	}
	(*buf)[(*len)++] = '\'';
	(*buf)[*len] = '\0';
}

/* " keyword='value'" appended to the conninfo being built in *buf. */
static void
append_conninfo_pair(char **buf, size_t *len, size_t *cap, const char *keyword,
					 const char *value)
{
	if (*cap - *len < strlen(keyword) + 3)
	{
		*cap = *len + strlen(keyword) + 64;
		*buf = realloc(*buf, *cap);
		if (*buf == NULL)
			fail("out of memory");
	}
	*len += (size_t) sprintf(*buf + *len, "%s%s=", *len > 0 ? " " : "", keyword);
	append_conninfo_value(buf, len, cap, value);
}

/*
 * The leader's conninfo (keyword=value or URI) as keyword=value pairs, with
 * pairs[] added: replacing the leader's own values when override, else only
 * where the leader's conninfo does not set them.
 */
static char *
conninfo_with(const char *leader_conninfo, const char *const pairs[][2], size_t n_pairs,
			  bool override)
{
	char	   *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(leader_conninfo, &err);
	char	   *buf = xstrdup("");
	size_t		len = 0;
	size_t		cap = 1;

	if (opts == NULL)
		fail("the leader's conninfo \"%s\" is not valid: %s", leader_conninfo,
			 err != NULL ? err : "out of memory");
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
	{
		bool		replaced = false;

		if (o->val == NULL)
			continue;
		for (size_t i = 0; i < n_pairs; i++)
			replaced |= override && strcmp(o->keyword, pairs[i][0]) == 0;
		if (!replaced)
			append_conninfo_pair(&buf, &len, &cap, o->keyword, o->val);
	}
	for (size_t i = 0; i < n_pairs; i++)
	{
		bool		set = false;

		for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
			if (strcmp(o->keyword, pairs[i][0]) == 0 && o->val != NULL && o->val[0] != '\0')
				set = true;
		if (override || !set)
			append_conninfo_pair(&buf, &len, &cap, pairs[i][0], pairs[i][1]);
	}
	PQconninfoFree(opts);
	return buf;
}

/*
 * The leader's conninfo with application_name set to this node's name, so
 * that the leader's synchronous_standby_names can name it.  Spelled as the
 * worker spells it (pgq_action_follow(): libpq takes the last of a repeated
 * keyword), or the worker would rewrite it, and restart the WAL receiver, a
 * moment after the start.
 */
static char *
standby_conninfo(const char *leader_conninfo, const char *self)
{
	size_t		cap = strlen(leader_conninfo) + sizeof(" application_name=");
	size_t		len;
	char	   *buf = malloc(cap);

	/* Only to fail on a conninfo that does not parse. */
	free(conninfo_with(leader_conninfo, NULL, 0, false));
	if (buf == NULL)
		fail("out of memory");
	len = (size_t) snprintf(buf, cap, "%s application_name=", leader_conninfo);
	append_conninfo_value(&buf, &len, &cap, self);
	return buf;
}

/*
 * Connection settings added to the leader's conninfo for pg_rewind and
 * pg_basebackup unless it sets them: the leader may be cut off while they
 * run, and libpq's defaults would wait minutes on a silent network (no
 * connect timeout, the kernel's SYN retries and keepalive times) before
 * this run fails and the service manager can try again.
 */
static const char *const rewind_defaults[][2] = {
	{"dbname", "postgres"},
	{"connect_timeout", "10"},
	{"keepalives_idle", "5"},
	{"keepalives_interval", "2"},
	{"keepalives_count", "3"},
	{"tcp_user_timeout", "10000"},
};

/* The leader's conninfo for pg_rewind and pg_basebackup. */
static char *
rewind_conninfo(const char *leader_conninfo)
{
	return conninfo_with(leader_conninfo, rewind_defaults,
						 sizeof(rewind_defaults) / sizeof(rewind_defaults[0]), false);
}

/*
 * postgresql.auto.conf with every primary_conninfo line replaced by one
 * new line, in the format ALTER SYSTEM writes (value in single quotes,
 * quotes doubled).  Other lines are kept as they are.
 */
static void
write_primary_conninfo(const char *conninfo)
{
	char	   *path = path_join(opt.pgdata, "postgresql.auto.conf");
	char	   *old = read_file(path, NULL);
	size_t		cap = (old != NULL ? strlen(old) : 0) + strlen(conninfo) * 2 + 256;
	char	   *out = malloc(cap);
	size_t		len = 0;

	if (out == NULL)
		fail("out of memory");
	if (old == NULL)
	{
		if (errno != ENOENT)
			fail("could not read \"%s\": %s", path, strerror(errno));
		len += (size_t) sprintf(out, "# Do not edit this file manually!\n"
								"# It will be overwritten by the ALTER SYSTEM command.\n");
	}
	else
	{
		char	   *save;

		for (char *line = strtok_r(old, "\n", &save); line != NULL;
			 line = strtok_r(NULL, "\n", &save))
		{
			const char *p = line;

			while (*p == ' ' || *p == '\t')
				p++;
			if (strncmp(p, "primary_conninfo", 16) == 0 &&
				(p[16] == ' ' || p[16] == '\t' || p[16] == '='))
				continue;
			len += (size_t) sprintf(out + len, "%s\n", line);
		}
		free(old);
	}
	len += (size_t) sprintf(out + len, "primary_conninfo = '");
	for (const char *p = conninfo; *p; p++)
	{
		if (*p == '\'')
			out[len++] = '\'';
		out[len++] = *p;
	}
	len += (size_t) sprintf(out + len, "'\n");
	write_file_durably(opt.pgdata, "postgresql.auto.conf", out, len, 0600);
	free(out);
	free(path);
}

/*
 * A freshly promoted leader's control file still names its old timeline
 * until its first checkpoint, and pg_rewind reads the timeline from there:
 * it would see "the same timeline" and rewind nothing.  So checkpoint first,
 * as the pg_rewind documentation asks.  Returns the leader's timeline as
 * pg_rewind then reads it.
 */
static uint32_t
checkpoint_leader(const char *conninfo)
{
	PGconn	   *conn = peer_connect(conninfo);
	PGresult   *res;
	uint32_t	tli;

	if (PQstatus(conn) != CONNECTION_OK)
		fail("could not connect to the leader to checkpoint it: %s", PQerrorMessage(conn));
	res = PQexec(conn, "CHECKPOINT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		fail("could not checkpoint the leader, which pg_rewind needs after a promotion: %s"
			 "Give the conninfo's user superuser or the pg_checkpoint role.",
			 PQerrorMessage(conn));
	PQclear(res);
	res = PQexec(conn, "SELECT timeline_id FROM pg_control_checkpoint()");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		fail("could not read the leader's timeline: %s", PQerrorMessage(conn));
	tli = (uint32_t) strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	PQfinish(conn);
	return tli;
}

/*
 * Fail, changing nothing, unless the leader answers a connection now: the
 * leader may have been cut off since it was found, and emptying the data
 * directory for a copy that cannot start would only leave a server that
 * can neither start nor vote.
 */
static void
leader_reachable_or_fail(const char *source, const char *what)
{
	PGconn	   *conn = peer_connect(source);

	if (PQstatus(conn) != CONNECTION_OK)
	{
		if (rewind_unfinished())
			fail("could not connect to the leader to %s; pg_rewind did not finish on \"%s\", "
				 "which is rebuilt by the next run with --rebuild: %s",
				 what, opt.pgdata, PQerrorMessage(conn));
		fail("could not connect to the leader to %s; \"%s\" is unchanged: %s",
			 what, opt.pgdata, PQerrorMessage(conn));
	}
	PQfinish(conn);
}

/* ---------------------------------------------------------------------
 * The WAL a rewound directory must replay
 *
 * pg_rewind copies the leader's WAL from the fork on, and the directory
 * then replays from the last checkpoint the two share, along the leader's
 * timeline history.  A leader that no longer has the WAL of the fork (it
 * was removed, or the leader was itself rebuilt after it) leaves a rewound
 * directory that starts, asks the leader for that WAL again and again, and
 * never becomes consistent: pg_rewind itself does not check.  So check here
 * that every segment from the checkpoint to the end of the rewind is in the
 * directory, as the startup process would look for it.
 * ---------------------------------------------------------------------
 */

static bool
parse_lsn(const char *s, uint64_t *lsn)
{
	unsigned int hi,
				lo;

	if (sscanf(s, "%X/%X", &hi, &lo) != 2)
		return false;
	*lsn = ((uint64_t) hi << 32) | lo;
	return true;
}

/*
 * The timelines of history up to tli, oldest first, from its history file
 * in pg_wal (pg_rewind copied the leader's); false when it cannot be read
 * or does not parse.
 */
static bool
read_history(uint32_t tli, PgqTimeline *tl, int max, int *n_out)
{
	char		name[64];
	char	   *path;
	char	   *text = NULL;

	if (tli > 1)
	{
		snprintf(name, sizeof(name), "pg_wal/%08X.history", tli);
		path = path_join(opt.pgdata, name);
		text = read_file(path, NULL);
		free(path);
		if (text == NULL)
			return false;
	}
	*n_out = pgq_timeline_history_parse(text != NULL ? text : "", tli, tl, max);
	free(text);
	return *n_out > 0;
}

/*
 * The backup_label pg_rewind writes when it rewound the directory (a
 * rewound directory has the leader's control file, and timeline), or NULL
 * when it found nothing to rewind.  The caller frees it.
 */
static char *
rewind_label(void)
{
	char	   *label_path = path_join(opt.pgdata, "backup_label");
	char	   *label = read_file(label_path, NULL);

	free(label_path);
	return label;
}

/*
 * The first segment from the rewind's checkpoint (label: its backup_label)
 * to its end that the directory lacks (its file name, in a static buffer),
 * or NULL when none is missing or there is nothing to check.  A segment
 * is there if a file of it exists on the timeline of its last byte that is
 * replayed, or on a later timeline of the history that began at or before
 * it (such a file holds the earlier timeline's WAL up to the switch).
 */
static const char *
rewound_wal_missing(const char *label)
{
	static char missing[32];
	const char *start;
	char	   *report;
	char	   *seg_size_text;
	char	   *end_text;
	uint64_t	redo,
				end,
				seg_size,
				per_id;
	uint32_t	end_tli;
	PgqTimeline tl[PGQ_TIMELINES_MAX];
	int			n_tl;
	bool		usable;

	start = strstr(label, "START WAL LOCATION: ");
	if (start == NULL || !parse_lsn(start + strlen("START WAL LOCATION: "), &redo))
		return NULL;
	report = controldata_report();
	seg_size_text = controldata_field(report, "Bytes per WAL segment");
	end_tli = controldata_timeline(report, "Min recovery ending loc's timeline");
	end_text = controldata_field(report, "Minimum recovery ending location");
	free(report);
	seg_size = strtoull(seg_size_text, NULL, 10);
	usable = seg_size != 0 && end_tli != 0 && parse_lsn(end_text, &end) && end >= redo &&
		read_history(end_tli, tl, PGQ_TIMELINES_MAX, &n_tl);
	free(seg_size_text);
	free(end_text);
	if (!usable)
		return NULL;

	per_id = UINT64_C(0x100000000) / seg_size;
	for (uint64_t seg = redo / seg_size; seg <= end / seg_size; seg++)
	{
		uint64_t	last = (seg + 1) * seg_size - 1 < end ? (seg + 1) * seg_size - 1 : end;
		int			need = 0;
		bool		found = false;

		while (need < n_tl - 1 && last >= tl[need].end)
			need++;
		for (int i = need; i < n_tl && !found; i++)
		{
			char		name[64];
			char	   *path;
			uint64_t	begin = i == 0 ? 0 : tl[i - 1].end;

			if (begin / seg_size > seg)
				break;
			snprintf(name, sizeof(name), "pg_wal/%08X%08X%08X", tl[i].tli,
					 (uint32_t) (seg / per_id), (uint32_t) (seg % per_id));
			path = path_join(opt.pgdata, name);
			found = file_exists(path);
			free(path);
		}
		if (!found)
		{
			snprintf(missing, sizeof(missing), "%08X%08X%08X", tl[need].tli,
					 (uint32_t) (seg / per_id), (uint32_t) (seg % per_id));
			return missing;
		}
	}
	return NULL;
}

static int
run_pg_rewind(const char *source)
{
	char	   *prog = opt.pg_rewind != NULL ? xstrdup(opt.pg_rewind) : pg_program("pg_rewind");
	char	   *source_arg;
	char	   *target_arg;
	int			rc;

	if (asprintf(&source_arg, "--source-server=%s", source) < 0 ||
		asprintf(&target_arg, "--target-pgdata=%s", opt.pgdata) < 0)
		fail("out of memory");
	{
		char	   *argv[] = {prog, target_arg, source_arg, NULL};

		msg("running %s %s --source-server=<the leader>", prog, target_arg);
		rc = run(argv, NULL, 0, false);
	}
	free(source_arg);
	free(target_arg);
	free(prog);
	return rc;
}

/* ---------------------------------------------------------------------
 * Rebuild: a fresh copy of the leader when pg_rewind cannot rewind
 * ---------------------------------------------------------------------
 */

/* Remove everything in dir, recursively, but not dir itself. */
static int
empty_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (ftw->level == 0)
		return 0;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) != 0)
		fail("could not remove \"%s\": %s", path, strerror(errno));
	return 0;
}

/*
 * A copy made by pg_basebackup would put a symlinked pg_wal or a
 * tablespace inside the data directory: leave such servers to the operator.
 */
static void
rebuild_check_layout(void)
{
	char	   *wal = path_join(opt.pgdata, "pg_wal");
	char	   *tblspc = path_join(opt.pgdata, "pg_tblspc");
	struct stat st;
	DIR		   *d;
	struct dirent *e;

	if (lstat(wal, &st) == 0 && S_ISLNK(st.st_mode))
		fail("cannot rebuild \"%s\": its pg_wal is a symbolic link; rebuild it with pg_basebackup --waldir",
			 opt.pgdata);
	if ((d = opendir(tblspc)) != NULL)
	{
		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.')
				fail("cannot rebuild \"%s\": it has tablespaces; rebuild it with pg_basebackup --tablespace-mapping",
					 opt.pgdata);
		closedir(d);
	}
	free(wal);
	free(tblspc);
}

/*
 * Replace the data directory with a base backup of the leader.  Its own
 * configuration is in the keep directory already and is put back after.
 */
static void
rebuild_from_leader(const char *source)
{
	char	   *prog = pg_program("pg_basebackup");
	char	   *argv[] = {prog, "-D", (char *) opt.pgdata, "-d", (char *) source,
	"-X", "stream", "-c", "fast", NULL};
	int			rc;

	rebuild_check_layout();
	leader_reachable_or_fail(source, "rebuild it");
	msg("rebuilding \"%s\" from the leader with pg_basebackup (--rebuild)", opt.pgdata);
	if (nftw(opt.pgdata, empty_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fail("could not empty \"%s\": %s", opt.pgdata, strerror(errno));
	msg("running %s -D %s -d <the leader> -X stream -c fast", prog, opt.pgdata);
	rc = run(argv, NULL, 0, false);
	free(prog);
	if (rc != 0)
		fail("pg_basebackup failed (exit status %d); \"%s\" is incomplete, and this server's "
			 "configuration is kept in \"%s\": run %s --rebuild again",
			 rc, opt.pgdata, keep_dir(), PROGNAME);
}

/* ---------------------------------------------------------------------
 * main
 * ---------------------------------------------------------------------
 */

/*
 * Before anything else: a data directory of a stopped server, with the
 * files an interrupted run kept put back.  A rebuild that died in
 * pg_basebackup left no PG_VERSION; with --rebuild it is done again.
 * Returns whether the directory must be rebuilt.
 */
static bool
check_data_directory(const char *kdir, bool *unfinished)
{
	char	   *pgv = path_join(opt.pgdata, "PG_VERSION");
	char	   *marker = path_join(kdir, "complete");
	bool		rebuild_again = false;
	long		pid = 0;

	if (!file_exists(pgv))
	{
		if (!opt.rebuild || !file_exists(marker))
			fail("\"%s\" is not a PostgreSQL data directory (no PG_VERSION)", opt.pgdata);
		msg("\"%s\" is an interrupted rebuild; rebuilding it again", opt.pgdata);
		rebuild_again = true;
	}
	free(pgv);
	free(marker);
	if (!rebuild_again && server_running(&pid))
		fail("the server is running (postmaster pid %ld); stop it first", pid);

	if (!rebuild_again && file_exists(kdir) && !opt.dry_run)
	{
		msg("restoring the files an interrupted run kept in \"%s\"", kdir);
		keep_restore(kdir);
		if (file_exists(kdir))
			fail("\"%s\" exists but is incomplete; remove it after checking the data directory's configuration", kdir);
	}
	*unfinished = !rebuild_again && rewind_unfinished();
	if (*unfinished && !opt.rebuild)
		fail("pg_rewind did not finish on \"%s\" in an earlier run: it may be half rewound, "
			 "and rewinding it again could leave changed blocks behind.  Run %s again with "
			 "--rebuild to copy the leader with pg_basebackup.", opt.pgdata, PROGNAME);
	if (*unfinished)
		msg("pg_rewind did not finish on \"%s\" in an earlier run; rebuilding it", opt.pgdata);
	return rebuild_again;
}

/*
 * Rewind (or rebuild) the directory against the leader, keeping this
 * server's own files across it.  primary: the directory has no
 * standby.signal.
 *
 * A primary's timeline is one it began itself, and promotion takes the next
 * timeline ID that has no history file in the promoted server's own pg_wal.
 * So a leader on the same timeline ID as a primary began another timeline
 * of that ID: both promoted from the same timeline, neither with the
 * other's history file (the first was killed or cut off before any other
 * server streamed from it).  pg_rewind compares timeline IDs only and
 * rewinds nothing; the standby would replay its own WAL on that timeline,
 * then the leader's from wherever its own ended: no valid record there, so
 * it never follows, or one, and it mixes the two histories.
 */
static void
rewind_to_leader(const Leader *leader, const char *self, const char *kdir,
				 bool primary, bool rebuild_again, bool unfinished)
{
	char	   *source = rewind_conninfo(leader->conninfo);
	const char *missing = NULL;
	bool		same_timeline = false;
	int			rc = 0;

	if (unfinished)
		keep_save(kdir, self);
	else if (!rebuild_again)
	{
		uint32_t	leader_tli = checkpoint_leader(source);
		char	   *label = NULL;

		keep_save(kdir, self);
		rewind_marker_set(true);
		rc = run_pg_rewind(source);
		if (rc == 0)
		{
			rewind_marker_set(false);
			label = rewind_label();
		}
		if (rc != 0 && opt.rebuild)
			msg("pg_rewind failed (exit status %d)", rc);
		else if (rc == 0 && primary && label == NULL && checkpoint_timeline() == leader_tli)
		{
			same_timeline = true;
			msg("\"%s\" was a primary on timeline %u, the leader's: its WAL there is its own, "
				"and pg_rewind, which compares timeline IDs only, found nothing to rewind",
				opt.pgdata, leader_tli);
		}
		else if (label != NULL && (missing = rewound_wal_missing(label)) != NULL)
			msg("pg_rewind left \"%s\" without WAL segment %s, which it must replay "
				"and which the leader no longer has", opt.pgdata, missing);
		free(label);
	}
	if (rebuild_again || unfinished || ((rc != 0 || missing != NULL || same_timeline) && opt.rebuild))
	{
		rebuild_from_leader(source);
		rewind_marker_set(false);
		rc = 0;
		missing = NULL;
		same_timeline = false;
	}
	keep_restore(kdir);
	if (same_timeline)
		fail("the data directory was not made a standby.  Run %s again with --rebuild "
			 "to copy the leader with pg_basebackup.", PROGNAME);
	if (missing != NULL)
		fail("the data directory was not made a standby.  Run %s again with --rebuild "
			 "to copy the leader with pg_basebackup, and keep more WAL with wal_keep_size.",
			 PROGNAME);
	if (rc != 0)
		fail("pg_rewind failed (exit status %d); the data directory was not made a standby, "
			 "and may be half rewound.  Run %s again with --rebuild to copy the leader with "
			 "pg_basebackup (if pg_rewind needs wal_log_hints = on or data checksums, or could "
			 "not find WAL, set those, or keep more with wal_keep_size, for next time).",
			 rc, PROGNAME);
	free(source);
}

int
main(int argc, char **argv)
{
	char	   *self;
	char	   *state;
	char	   *kdir;
	char	   *signal_path;
	bool		standby;
	bool		rewind;
	bool		rebuild_again;
	bool		unfinished;
	bool		must_rebuild;	/* an earlier run's rebuild or rewind is unfinished */
	Leader		leader = {0};

	parse_args(argc, argv);
	if (geteuid() == 0)
		fail("cannot be run as root; run it as the operating-system user that owns the server");
	kdir = keep_dir();
	rebuild_again = check_data_directory(kdir, &unfinished);
	must_rebuild = rebuild_again || unfinished;

	self = local_node_name(rebuild_again ? kdir : NULL);
	if (!find_leader(self, opt.require_leader || must_rebuild, &leader))
	{
		if (opt.require_leader || must_rebuild)
			fail("no peer named a leader within %d s", opt.timeout_s);
		msg("no peer named a leader other than \"%s\": leaving \"%s\" unchanged "
			"(it starts fenced and waits for an election)", self, opt.pgdata);
		return 0;
	}
	msg("leader is \"%s\" (according to \"%s\")", leader.name, leader.via);

	/*
	 * A leader elected while this server was away, on a timeline older than
	 * this server's, stays fenced (extension/reconcile.c) and hands the
	 * leadership over once this server runs: writes acknowledged here on the
	 * newer timeline must not be rewound away.
	 */
	if (!must_rebuild && leader.timeline != 0)
	{
		uint32_t	mine = local_timeline();

		if (leader.self_timeline > mine)
			mine = leader.self_timeline;
		if (mine > leader.timeline)
		{
			msg("leader \"%s\" is on timeline %u, older than this server's timeline %u: "
				"leaving \"%s\" unchanged, since the leader hands the leadership to this server "
				"once it runs", leader.name, leader.timeline, mine, opt.pgdata);
			return 0;
		}
	}

	signal_path = path_join(opt.pgdata, "standby.signal");
	standby = file_exists(signal_path);
	state = rebuild_again ? xstrdup("rebuild interrupted") :
		unfinished ? xstrdup("rewind interrupted") : cluster_state();

	/*
	 * pg_rewind brings an uncleanly stopped primary to a clean state in
	 * single-user mode, which cannot run with standby.signal; an uncleanly
	 * stopped standby has generated no WAL of its own, and PostgreSQL will
	 * not follow a timeline that forked before its replay position.
	 */
	rewind = must_rebuild || !standby || strcmp(state, "shut down in recovery") == 0 ||
		strcmp(state, "shut down") == 0;
	if (opt.dry_run)
	{
		msg("dry run: this server (\"%s\", %s, cluster state \"%s\") would %sbecome a standby of \"%s\"",
			self, standby ? "a standby" : "a primary", state,
			rewind ? "be checked by pg_rewind and " : "", leader.name);
		return 0;
	}

	if (rewind)
		rewind_to_leader(&leader, self, kdir, !standby, rebuild_again, unfinished);
	else
		msg("not running pg_rewind: the standby was not shut down cleanly (state \"%s\")", state);

	write_primary_conninfo(standby_conninfo(leader.conninfo, self));
	write_file_durably(opt.pgdata, "standby.signal", "", 0, 0600);
	msg("\"%s\" is now a standby of \"%s\"; start it", opt.pgdata, leader.name);
	return 0;
}
