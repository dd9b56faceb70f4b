/*-------------------------------------------------------------------------
 *
 * guc.c
 *	  Every pg_quorum.* setting, defined in one function, alphabetically.
 *
 * Most settings are PGC_POSTMASTER because they size shared memory or the
 * node, which is built once per worker start.  conninfo, priority and tags
 * are PGC_SIGHUP: they are gossiped metadata, and the worker re-reads them
 * on reload and gossips the change.  pgq_check_text_length() lets the
 * worker re-check the two whose length the wire format limits.  synchronous,
 * stop_deposed_primary, stop_diverged_standby, switchover_lag_max and
 * replication_slots are PGC_SIGHUP too: the worker and the SQL functions
 * read them when they act.  command_timeout is PGC_SUSET, so a superuser's session can wait longer for one switchover.
 *
 * Why the check hooks are lenient in the postmaster: a value from
 * postgresql.conf is first stored as a placeholder and only checked when
 * _PG_init() defines the setting; a rejected value is then replaced by the
 * default with a mere WARNING, so the worker could never report it.  So in
 * the postmaster the hooks accept anything, and the worker validates at
 * start and stops with FATAL naming the setting and the bad value while the
 * server keeps running.  In a backend (ALTER SYSTEM) the hooks reject bad
 * values at once.
 *
 * extension/guc.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "miscadmin.h"
#include "utils/guc.h"

#include "quorum/quorum.h"

#include "guc.h"
#include "pg_compat.h"

bool		pgq_allow_plaintext = false;
int			pgq_bootstrap_expect = 0;
char	   *pgq_cluster = NULL;
int			pgq_command_timeout_ms = 30000;
char	   *pgq_conninfo = NULL;
int			pgq_election_timeout_ms = 1200;
bool		pgq_elections_enabled = true;
int			pgq_heartbeat_interval_ms = 100;
char	   *pgq_http_auth_file = NULL;
char	   *pgq_http_listen = NULL;
char	   *pgq_http_ssl_cert_file = NULL;
char	   *pgq_http_ssl_key_file = NULL;
int			pgq_indirect_probes = 3;
char	   *pgq_key_file = NULL;
char	   *pgq_listen = NULL;
int			pgq_members_max = 64;
char	   *pgq_node_name = NULL;
char	   *pgq_peers = NULL;
int			pgq_priority = 100;
int			pgq_probe_interval_ms = 200;
int			pgq_probe_timeout_ms = 100;
int			pgq_pushpull_interval_ms = 10000;
bool		pgq_replication_slots = true;
bool		pgq_stop_deposed_primary = true;
bool		pgq_stop_diverged_standby = true;
int			pgq_suspicion_mult = 4;
int			pgq_switchover_lag_max_kb = 16384;
bool		pgq_synchronous = false;
char	   *pgq_tags = NULL;
bool		pgq_test_hold_facts = false;
bool		pgq_voter = true;
char	   *pgq_voters = NULL;

/* Room for one detail sentence; validators run one at a time. */
static char guc_detail[512];

static bool
guc_strict(void)
{
	return IsUnderPostmaster;
}

static const char *
guc_detailf(const char *fmt,...) pg_attribute_printf(1, 2);

static const char *
guc_detailf(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(guc_detail, sizeof(guc_detail), fmt, ap);
	va_end(ap);
	return guc_detail;
}

const char *
pgq_effective_node_name(void)
{
	if (pgq_node_name != NULL && pgq_node_name[0] != '\0')
		return pgq_node_name;
	return cluster_name != NULL ? cluster_name : "";
}

const char *
pgq_check_name(const char *value, bool empty_ok)
{
	if (value == NULL || value[0] == '\0')
		return empty_ok ? NULL : guc_detailf("The name must not be empty.");
	if (strlen(value) > QUORUM_NAME_MAX)
		return guc_detailf("The name is %zu bytes long; at most %d are allowed.",
						   strlen(value), QUORUM_NAME_MAX);
	for (const char *p = value; *p != '\0'; p++)
	{
		if ((unsigned char) *p < 0x20 || *p == 0x7f)
			return guc_detailf("The name contains a control character.");
	}
	return NULL;
}

/* One "host:port" item; what names the item in the detail sentence. */
static const char *
guc_check_addr(const char *item, struct quorum_addr *addr, bool for_listen)
{
	static const uint8_t zeros[16];

	const char *colon = strrchr(item, ':');

	/* Say what is wrong with a port, the likeliest typo, precisely. */
	if (colon != NULL && colon[1] != '\0' &&
		strspn(colon + 1, "0123456789") == strlen(colon + 1) &&
		(strlen(colon + 1) > 5 || atoi(colon + 1) > 65535))
		return guc_detailf("\"%s\" has port %s, which is out of range (1 to 65535).",
						   item, colon + 1);
	if (quorum_addr_parse(item, addr) != 0)
		return guc_detailf("\"%s\" is not a numeric address and port such as \"192.0.2.5:7946\" or \"[2001:db8::5]:7946\".",
						   item);
	if (addr->port == 0)
		return guc_detailf("\"%s\" has port 0; a fixed port is required.", item);
	if (memcmp(addr->bytes, zeros, addr->family == 4 ? 4 : 16) == 0)
		return for_listen ?
			guc_detailf("\"%s\" is a wildcard address, but this address is also advertised to peers and must be one they can reach.",
						item) :
			guc_detailf("\"%s\" is a wildcard address, which no peer can be reached at.",
						item);
	return NULL;
}

const char *
pgq_check_address(const char *value, struct quorum_addr *addr)
{
	struct quorum_addr dummy;

	return guc_check_addr(value != NULL ? value : "",
						  addr != NULL ? addr : &dummy, false);
}

/*
 * The next entry of the comma-separated list at *p, with the blanks around
 * it trimmed so that "a:1, b:2" reads as the operator meant it: its start,
 * and its length in *len; NULL after the last entry.  Advances *p.
 */
static const char *
guc_list_next(const char **p, size_t *len)
{
	const char *start = *p;
	const char *end;
	size_t		n;

	if (start == NULL || start[0] == '\0')
		return NULL;
	end = strchr(start, ',');
	n = end != NULL ? (size_t) (end - start) : strlen(start);
	while (n > 0 && (*start == ' ' || *start == '\t'))
		start++, n--;
	while (n > 0 && (start[n - 1] == ' ' || start[n - 1] == '\t'))
		n--;
	*p = end != NULL ? end + 1 : NULL;
	*len = n;
	return start;
}

const char *
pgq_check_listen(const char *value, struct quorum_addr *addr)
{
	struct quorum_addr dummy;

	if (value == NULL || value[0] == '\0')
		return guc_detailf("An address and port for the gossip socket, such as \"192.0.2.5:7946\", is required.");
	return guc_check_addr(value, addr != NULL ? addr : &dummy, true);
}

const char *
pgq_check_peers(const char *value, struct quorum_addr *seeds, unsigned *n_seeds)
{
	struct quorum_addr local[QUORUM_SEEDS_MAX];
	char		item[256];
	unsigned	n = 0;
	const char *p = value;
	const char *start;
	size_t		len;

	if (seeds == NULL)
		seeds = local;
	while ((start = guc_list_next(&p, &len)) != NULL)
	{
		const char *detail;

		if (len >= sizeof(item))
			return guc_detailf("An entry is %zu bytes long, which is too long for an address.", len);
		memcpy(item, start, len);
		item[len] = '\0';
		if (len > 0)
		{
			if (n == QUORUM_SEEDS_MAX)
				return guc_detailf("At most %d peers can be listed.", QUORUM_SEEDS_MAX);
			detail = guc_check_addr(item, &seeds[n], false);
			if (detail != NULL)
				return detail;
			n++;
		}
	}
	if (n_seeds != NULL)
		*n_seeds = n;
	return NULL;
}

const char *
pgq_check_text_length(const char *value, int max)
{
	if (value != NULL && strlen(value) > (size_t) max)
		return guc_detailf("The value is %zu bytes long; at most %d are allowed.",
						   strlen(value), max);
	return NULL;
}

/*
 * The first voter set: comma-separated node names, blanks around them
 * ignored, no duplicates, at most PGQ_VOTERS_MAX.  names may be NULL.
 */
const char *
pgq_check_voters(const char *value, char (*names)[QUORUM_NAME_MAX + 1],
				 unsigned *n_names)
{
	char		local[PGQ_VOTERS_MAX][QUORUM_NAME_MAX + 1];
	char		item[QUORUM_NAME_MAX + 2];
	unsigned	n = 0;
	const char *p = value;
	const char *start;
	size_t		len;

	if (names == NULL)
		names = local;
	while ((start = guc_list_next(&p, &len)) != NULL)
	{
		const char *detail;

		if (len == 0)
			return guc_detailf("An entry of the list is empty.");
		if (len > QUORUM_NAME_MAX)
			return guc_detailf("An entry is %zu bytes long; at most %d are allowed.",
							   len, QUORUM_NAME_MAX);
		memcpy(item, start, len);
		item[len] = '\0';
		if ((detail = pgq_check_name(item, false)) != NULL)
			return detail;
		for (unsigned i = 0; i < n; i++)
			if (strcmp(names[i], item) == 0)
				return guc_detailf("\"%s\" is listed twice.", item);
		if (n == PGQ_VOTERS_MAX)
			return guc_detailf("At most %d voters can be listed.", PGQ_VOTERS_MAX);
		strlcpy(names[n++], item, QUORUM_NAME_MAX + 1);
	}
	if (n_names != NULL)
		*n_names = n;
	return NULL;
}

static bool
guc_report(const char *detail)
{
	if (detail == NULL)
		return true;
	GUC_check_errdetail("%s", detail);
	return false;
}

/*
 * A name: PostgreSQL's own message would quote the whole value, however
 * long, so a name that is too long gets a message that does not.
 */
static bool
guc_check_name(const char *param, const char *value, bool empty_ok)
{
	if (value != NULL && strlen(value) > QUORUM_NAME_MAX)
		GUC_check_errmsg("invalid value for parameter \"%s\": the name is too long", param);
	return guc_report(pgq_check_name(value, empty_ok));
}

static bool
guc_check_cluster(char **newval, void **extra, GucSource source)
{
	if (!guc_strict())
		return true;
	return guc_check_name("pg_quorum.cluster", *newval, false);
}

static bool
guc_check_conninfo(char **newval, void **extra, GucSource source)
{
	if (!guc_strict())
		return true;
	return guc_report(pgq_check_text_length(*newval, QUORUM_CONNINFO_MAX));
}

static bool
guc_check_listen(char **newval, void **extra, GucSource source)
{
	/* Empty is the boot value; the worker reports it as missing. */
	if (!guc_strict() || *newval == NULL || (*newval)[0] == '\0')
		return true;
	return guc_report(pgq_check_listen(*newval, NULL));
}

static bool
guc_check_node_name(char **newval, void **extra, GucSource source)
{
	if (!guc_strict())
		return true;
	return guc_check_name("pg_quorum.node_name", *newval, true);
}

static bool
guc_check_peers(char **newval, void **extra, GucSource source)
{
	if (!guc_strict())
		return true;
	return guc_report(pgq_check_peers(*newval, NULL, NULL));
}

static bool
guc_check_voters(char **newval, void **extra, GucSource source)
{
	if (!guc_strict())
		return true;
	return guc_report(pgq_check_voters(*newval, NULL, NULL));
}

static bool
guc_check_tags(char **newval, void **extra, GucSource source)
{
	if (!guc_strict())
		return true;
	return guc_report(pgq_check_text_length(*newval, QUORUM_TAGS_MAX));
}

void
pgq_define_gucs(void)
{
	DefineCustomBoolVariable("pg_quorum.allow_plaintext",
							 "Allows gossip without a key: neither authenticated nor encrypted.",
							 "Off by default; running without pg_quorum.key_file must be asked for explicitly.",
							 &pgq_allow_plaintext,
							 false,
							 PGC_POSTMASTER,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pg_quorum.bootstrap_expect",
							"Voter-capable servers that must see each other before a new cluster forms its first voter set.",
							"0 means join an existing cluster only; ignored when pg_quorum.voters is set.",
							&pgq_bootstrap_expect,
							0, 0, PGQ_VOTERS_MAX,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("pg_quorum.cluster",
							   "Name of the cluster; gossip from another cluster is dropped.",
							   NULL,
							   &pgq_cluster,
							   "pg_quorum",
							   PGC_POSTMASTER,
							   0,
							   guc_check_cluster, NULL, NULL);

	DefineCustomIntVariable("pg_quorum.command_timeout",
							"Time quorum.failover(), pause(), resume() and forget() wait for the cluster.",
							NULL,
							&pgq_command_timeout_ms,
							30000, 100, 3600000,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomStringVariable("pg_quorum.conninfo",
							   "Connection string peers use to reach this server's PostgreSQL.",
							   "Gossiped to every member.",
							   &pgq_conninfo,
							   "",
							   PGC_SIGHUP,
							   0,
							   guc_check_conninfo, NULL, NULL);

	DefineCustomIntVariable("pg_quorum.election_timeout",
							"Shortest time without a leader's heartbeat before a voter starts an election.",
							"The longest is 4/3 of it; the write lease is a little shorter.  Use the same value on every server.",
							&pgq_election_timeout_ms,
							1200, 50, 600000,
							PGC_POSTMASTER,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("pg_quorum.failover",
							 "Takes part in elections: the fence, promotion, following and synchronous mode.",
							 "Off means gossip membership and the views only.",
							 &pgq_elections_enabled,
							 true,
							 PGC_POSTMASTER,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pg_quorum.heartbeat_interval",
							"Time between the leader's heartbeats.",
							"Must be less than half of pg_quorum.election_timeout.",
							&pgq_heartbeat_interval_ms,
							100, 10, 60000,
							PGC_POSTMASTER,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomStringVariable("pg_quorum.http_auth_file",
							   "File holding \"user:password\" for the HTTP endpoint's basic authentication.",
							   "Empty means no authentication.  /cluster and /metrics need it; the health paths never do.  A relative path is relative to the data directory.",
							   &pgq_http_auth_file,
							   "",
							   PGC_SIGHUP,
							   0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("pg_quorum.http_listen",
							   "Address and port of the HTTP endpoint for load balancers and Prometheus.",
							   "Empty (the default) means no HTTP endpoint.",
							   &pgq_http_listen,
							   "",
							   PGC_POSTMASTER,
							   0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("pg_quorum.http_ssl_cert_file",
							   "Certificate chain file for TLS on the HTTP endpoint.",
							   "With pg_quorum.http_ssl_key_file, the endpoint speaks HTTPS only.  A relative path is relative to the data directory.",
							   &pgq_http_ssl_cert_file,
							   "",
							   PGC_POSTMASTER,
							   0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("pg_quorum.http_ssl_key_file",
							   "Private key file for TLS on the HTTP endpoint.",
							   NULL,
							   &pgq_http_ssl_key_file,
							   "",
							   PGC_POSTMASTER,
							   0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("pg_quorum.indirect_probes",
							"Members asked to probe a peer after a direct probe fails.",
							NULL,
							&pgq_indirect_probes,
							3, 0, 16,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("pg_quorum.key_file",
							   "File holding the cluster keys, one 64-hex-digit key per line, primary first.",
							   "A relative path is relative to the data directory.",
							   &pgq_key_file,
							   "",
							   PGC_POSTMASTER,
							   0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("pg_quorum.listen",
							   "Address and port of the gossip socket, also advertised to peers.",
							   "A numeric address such as 192.0.2.5:7946 or [2001:db8::5]:7946.",
							   &pgq_listen,
							   "",
							   PGC_POSTMASTER,
							   0,
							   guc_check_listen, NULL, NULL);

	DefineCustomIntVariable("pg_quorum.members_max",
							"Most members, this node included, the membership table holds.",
							NULL,
							&pgq_members_max,
							64, 2, 1024,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("pg_quorum.node_name",
							   "Name of this node, unique within the cluster.",
							   "Empty means the server's cluster_name.",
							   &pgq_node_name,
							   "",
							   PGC_POSTMASTER,
							   0,
							   guc_check_node_name, NULL, NULL);

	DefineCustomStringVariable("pg_quorum.peers",
							   "Comma-separated gossip addresses of other members to join through.",
							   NULL,
							   &pgq_peers,
							   "",
							   PGC_POSTMASTER,
							   0,
							   guc_check_peers, NULL, NULL);

	DefineCustomIntVariable("pg_quorum.priority",
							"Promotion priority of this server; 0 means never promote it.",
							"Gossiped to every member.",
							&pgq_priority,
							100, 0, INT_MAX,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_quorum.probe_interval",
							"Time between failure-detection probes.",
							NULL,
							&pgq_probe_interval_ms,
							200, 10, 60000,
							PGC_POSTMASTER,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_quorum.probe_timeout",
							"Time to wait for a probe's answer before asking other members.",
							"Must be shorter than pg_quorum.probe_interval.",
							&pgq_probe_timeout_ms,
							100, 5, 60000,
							PGC_POSTMASTER,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_quorum.pushpull_interval",
							"Time between full-state exchanges with a random member; 0 disables them.",
							NULL,
							&pgq_pushpull_interval_ms,
							10000, 0, 3600000,
							PGC_POSTMASTER,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("pg_quorum.replication_slots",
							 "Keeps a physical replication slot per member on the leader and streams standbys through theirs.",
							 "Off leaves replication slots and primary_slot_name alone, for a rolling upgrade from a build without slots.",
							 &pgq_replication_slots,
							 true,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("pg_quorum.stop_deposed_primary",
							 "Shuts this server down when it runs as a primary and another server is the leader.",
							 "Off keeps a deposed primary running, fenced.",
							 &pgq_stop_deposed_primary,
							 true,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("pg_quorum.stop_diverged_standby",
							 "Shuts this standby down when it replayed past the point where the leader's timeline forks off its own.",
							 "Such a standby can never follow the leader; pg_quorum_rejoin rewinds it.  Off keeps it running.",
							 &pgq_stop_diverged_standby,
							 true,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pg_quorum.suspicion_mult",
							"Multiplier of the probe interval that a suspected member has to refute the suspicion.",
							NULL,
							&pgq_suspicion_mult,
							4, 1, 100,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_quorum.switchover_lag_max",
							"Largest WAL distance behind the leader at which quorum.failover() accepts a target.",
							NULL,
							&pgq_switchover_lag_max_kb,
							16384, 0, INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("pg_quorum.synchronous",
							 "Keeps synchronous_standby_names at a quorum of healthy standbys while this server leads.",
							 NULL,
							 &pgq_synchronous,
							 false,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("pg_quorum.tags",
							   "Free-form tags gossiped with this server's metadata.",
							   NULL,
							   &pgq_tags,
							   "",
							   PGC_SIGHUP,
							   0,
							   guc_check_tags, NULL, NULL);

	DefineCustomBoolVariable("pg_quorum.test_hold_facts",
							 "For tests only: stops re-reading this server's WAL position for the election, so that the last sample goes stale on purpose.",
							 "A vote still re-reads it, after the WAL intake stopped.  Never set it in production.",
							 &pgq_test_hold_facts,
							 false,
							 PGC_SIGHUP,
							 GUC_NOT_IN_SAMPLE,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("pg_quorum.voter",
							 "Allows this server to be a voter: to vote, and to be elected if its priority is above 0.",
							 NULL,
							 &pgq_voter,
							 true,
							 PGC_POSTMASTER,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("pg_quorum.voters",
							   "First voter set of a new cluster: comma-separated node names.",
							   "Give every server the same list; empty means use pg_quorum.bootstrap_expect.",
							   &pgq_voters,
							   "",
							   PGC_POSTMASTER,
							   0,
							   guc_check_voters, NULL, NULL);

	MarkGUCPrefixReserved("pg_quorum");
}
