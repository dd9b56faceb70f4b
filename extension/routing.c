/*-------------------------------------------------------------------------
 *
 * routing.c
 *	  How clients find the primary: quorum.connection_string(), a fenced
 *	  primary that looks read-only to libpq, and quorum.dot(), a Graphviz
 *	  picture of the cluster.
 *
 * quorum.connection_string() builds a libpq multi-host URI from the hosts
 * and ports of the members' gossiped conninfo (parsed with libpq itself, so
 * that every conninfo form libpq accepts is understood).  It never copies a
 * user, password or any other keyword: the gossiped conninfo is for
 * replication, the application's database and user are the caller's.
 *
 * libpq (14 and later) picks a server for target_session_attrs=read-write
 * from the in_hot_standby and default_transaction_read_only values the
 * server reports at connection start; a standby reports in_hot_standby on.
 * A primary that is fenced but still up (pg_quorum.stop_deposed_primary
 * off, or an old primary cut off from the majority) would still report
 * both off and be chosen, only to refuse every commit.  So while such a
 * primary stays fenced, the worker sets default_transaction_read_only = on
 * in postgresql.auto.conf and reloads: new sessions get it in their startup
 * ParameterStatus, existing ones get it (and a ParameterStatus message)
 * when they process the reload.  It removes the setting as soon as the
 * server may write again.  A server that starts fenced and was never
 * allowed to write in this worker's life is not marked unless another
 * leader is known, so that an ordinary start (fenced for a moment, then
 * elected) does not flip the setting.
 *
 * extension/routing.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

/* SQL-callable functions */
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "nodes/value.h"
#include "utils/builtins.h"

#include "libpq-fe.h"

#include "quorum/quorum.h"

#include "actions.h"
#include "guc.h"
#include "routing.h"
#include "shmem.h"
#include "snapshot.h"

/* A primary fenced this long is marked read-only for libpq, ms. */
#define ROUTING_READ_ONLY_AFTER_MS 500
/* Between two attempts to write postgresql.auto.conf that failed, ms. */
#define ROUTING_RETRY_MS 1000

PG_FUNCTION_INFO_V1(pgq_connection_string);
PG_FUNCTION_INFO_V1(pgq_dot);

/* ---------------------------------------------------------------------
 * The worker's side: a fenced primary looks read-only
 * ---------------------------------------------------------------------
 */

typedef struct RoutingState
{
	bool		known;			/* the setting was brought in line once */
	bool		read_only;		/* as last written */
	bool		was_writable;	/* this worker let the server write */
	quorum_time_ms fenced_since_ms;	/* 0 = not a fenced primary */
	quorum_time_ms retry_ms;	/* after a failed write, not before then */
} RoutingState;

static RoutingState rst;

void
pgq_routing_reconcile(bool may_write, bool in_recovery, bool other_leader,
					  quorum_time_ms now)
{
	bool		fenced_primary = pgq_elections_enabled && !in_recovery && !may_write;
	bool		want;
	bool		changed;

	if (may_write)
		rst.was_writable = true;
	if (!fenced_primary)
		rst.fenced_since_ms = 0;
	else if (rst.fenced_since_ms == 0)
		rst.fenced_since_ms = now;

	want = fenced_primary && (rst.was_writable || other_leader) &&
		now >= rst.fenced_since_ms + ROUTING_READ_ONLY_AFTER_MS;
	if ((rst.known && want == rst.read_only) || now < rst.retry_ms)
		return;
	if (!pgq_action_set_setting("default_transaction_read_only",
								want ? "on" : NULL, &changed))
	{
		rst.retry_ms = now + ROUTING_RETRY_MS;	/* logged; retried then */
		return;
	}
	rst.known = true;
	rst.read_only = want;
	if (changed)
		ereport(LOG,
				(errmsg(want ?
						"pg_quorum set default_transaction_read_only for this fenced primary, so that clients asking for a read-write server skip it" :
						"pg_quorum removed default_transaction_read_only: this server may write")));
}

/* ---------------------------------------------------------------------
 * Backends: a copy of the members
 * ---------------------------------------------------------------------
 */

/* The snapshot with its members; ERROR while no worker runs. */
static void
routing_snapshot(PgqSnapshot *snap)
{
	pgq_snapshot_take(snap, true);
	pgq_require_worker(snap);
}

/* ---------------------------------------------------------------------
 * quorum.connection_string()
 * ---------------------------------------------------------------------
 */

/* s percent-encoded for a URI, every byte but RFC 3986's unreserved. */
static void
routing_append_encoded(StringInfo buf, const char *s)
{
	for (const unsigned char *p = (const unsigned char *) s; *p != '\0'; p++)
	{
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~')
			appendStringInfoChar(buf, (char) *p);
		else
			appendStringInfo(buf, "%%%02X", *p);
	}
}

/* One host[:port] of a URI's host list; an IPv6 literal in brackets. */
static void
routing_append_host(StringInfo buf, const char *host, const char *port)
{
	if (strchr(host, ':') != NULL)
		appendStringInfo(buf, "[%s]", host);
	else
		routing_append_encoded(buf, host);
	if (port != NULL && port[0] != '\0')
	{
		appendStringInfoChar(buf, ':');
		routing_append_encoded(buf, port);
	}
}

/*
 * Append member m's hosts and ports (its conninfo may list several) to
 * hosts, each "host[:port]" once; false if its conninfo names none.
 */
static bool
routing_member_hosts(const PgqMember *m, List **hosts)
{
	PQconninfoOption *opts = PQconninfoParse(m->conninfo, NULL);
	const char *host = NULL;
	const char *hostaddr = NULL;
	const char *port = NULL;
	char	   *hcopy;
	char	   *pcopy;
	char	   *hsave = NULL;
	char	   *psave = NULL;
	bool		any = false;

	if (opts == NULL)
		return false;
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
	{
		if (o->val == NULL || o->val[0] == '\0')
			continue;
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0)
			hostaddr = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
	}
	hcopy = pstrdup(host != NULL ? host : hostaddr != NULL ? hostaddr : "");
	pcopy = pstrdup(port != NULL ? port : "");
	PQconninfoFree(opts);

	/* libpq pairs the n-th host with the n-th port, or one port with all. */
	for (char *h = strtok_r(hcopy, ",", &hsave); h != NULL;
		 h = strtok_r(NULL, ",", &hsave))
	{
		char	   *p = strtok_r(psave == NULL ? pcopy : NULL, ",", &psave);
		StringInfoData item;

		if (p == NULL)
			p = strchr(pcopy, ',') == NULL ? pcopy : "";
		initStringInfo(&item);
		routing_append_host(&item, h, p);
		if (!list_member(*hosts, makeString(item.data)))
			*hosts = lappend(*hosts, makeString(item.data));
		any = true;
	}
	return any;
}

static void
routing_check_name(const char *what, const char *value)
{
	if (value[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", what),
				 errhint("Give the %s the application connects with.", what)));
	if (strlen(value) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("%s is too long", what),
				 errdetail("It is %zu bytes long; at most %d are allowed.",
						   strlen(value), NAMEDATALEN - 1),
				 errhint("Give the %s as the server stores it.", what)));
}

/*
 * The database members' hosts: for read_write the leader first (the likely
 * answer), for reads the standbys first.  Witnesses have no database, and a
 * member that left is not coming back under its name.
 */
static List *
routing_hosts(const PgqSnapshot *snap, bool read_write)
{
	List	   *hosts = NIL;
	const PgqMember *leader = pgq_snapshot_member(snap, snap->leader);

	for (int pass = 0; pass < 2; pass++)
	{
		for (int i = 0; i < snap->n_members; i++)
		{
			const PgqMember *m = &snap->members[i];
			bool		first;

			if (!m->has_meta || m->role == QUORUM_ROLE_WITNESS ||
				m->state == QUORUM_MEMBER_LEFT || m->conninfo[0] == '\0')
				continue;
			first = read_write ? m == leader : m->role == QUORUM_ROLE_STANDBY;
			if (first == (pass == 0))
				(void) routing_member_hosts(m, &hosts);
		}
	}
	return hosts;
}

/*
 * quorum.connection_string(dbname, user, read_write): a libpq URI that
 * reaches the primary (read_write) or preferably a standby.
 */
Datum
pgq_connection_string(PG_FUNCTION_ARGS)
{
	char	   *dbname = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *user = text_to_cstring(PG_GETARG_TEXT_PP(1));
	bool		read_write = PG_GETARG_BOOL(2);
	PgqSnapshot snap;
	List	   *hosts;
	ListCell   *lc;
	StringInfoData uri;

	routing_check_name("database name", dbname);
	routing_check_name("user name", user);
	routing_snapshot(&snap);
	hosts = routing_hosts(&snap, read_write);
	if (hosts == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no member advertises a host to connect to"),
				 errdetail("No database member's pg_quorum.conninfo names a host or hostaddr."),
				 errhint("Set pg_quorum.conninfo with host and port on every database server.")));

	initStringInfo(&uri);
	appendStringInfoString(&uri, "postgresql://");
	foreach(lc, hosts)
	{
		if (lc != list_head(hosts))
			appendStringInfoChar(&uri, ',');
		appendStringInfoString(&uri, strVal(lfirst(lc)));
	}
	appendStringInfoChar(&uri, '/');
	routing_append_encoded(&uri, dbname);
	appendStringInfoString(&uri, "?user=");
	routing_append_encoded(&uri, user);
	appendStringInfo(&uri, "&target_session_attrs=%s",
					 read_write ? "read-write" : "prefer-standby");
	PG_RETURN_TEXT_P(cstring_to_text(uri.data));
}

/* ---------------------------------------------------------------------
 * quorum.dot()
 * ---------------------------------------------------------------------
 */

/*
 * s as a DOT double-quoted string; a newline becomes DOT's line break "\n"
 * (names contain no control characters, so every newline is a label's).
 */
static void
routing_append_dot_string(StringInfo buf, const char *s)
{
	appendStringInfoChar(buf, '"');
	for (const char *p = s; *p != '\0'; p++)
	{
		if (*p == '\n')
		{
			appendStringInfoString(buf, "\\n");
			continue;
		}
		if (*p == '"' || *p == '\\')
			appendStringInfoChar(buf, '\\');
		appendStringInfoChar(buf, *p);
	}
	appendStringInfoChar(buf, '"');
}

/* Fill and outline colours per state, readable in print as on screen. */
static const char *
routing_state_colour(enum quorum_member_state state)
{
	switch (state)
	{
		case QUORUM_MEMBER_ALIVE:
			return "#d9f2d9";
		case QUORUM_MEMBER_SUSPECT:
			return "#fff2cc";
		case QUORUM_MEMBER_DEAD:
			return "#f4cccc";
		case QUORUM_MEMBER_LEFT:
			return "#e0e0e0";
	}
	return "#ffffff";
}

static void
routing_dot_member(StringInfo buf, const PgqSnapshot *snap, const PgqMember *m)
{
	bool		is_leader = strcmp(m->name, snap->leader) == 0;
	bool		witness = m->has_meta && m->role == QUORUM_ROLE_WITNESS;
	StringInfoData label;

	initStringInfo(&label);
	appendStringInfo(&label, "%s\n%s, %s", m->name, pgq_member_role_name(m),
					 pgq_state_sql_name(m->state));
	if (is_leader || m->voter)
		appendStringInfo(&label, "\n%s%s%s", is_leader ? "leader" : "",
						 is_leader && m->voter ? ", " : "", m->voter ? "voter" : "");
	if (m->has_meta && !witness)
		appendStringInfo(&label, "\ntimeline %u, lsn %X/%X", m->timeline,
						 (uint32) (m->lsn >> 32), (uint32) m->lsn);

	appendStringInfoString(buf, "\t");
	routing_append_dot_string(buf, m->name);
	appendStringInfoString(buf, " [label=");
	routing_append_dot_string(buf, label.data);
	appendStringInfo(buf, ", shape=%s, style=\"%s\", fillcolor=\"%s\"%s%s];\n",
					 witness ? "ellipse" : "box",
					 m->voter ? "filled,bold" : "filled,dashed",
					 routing_state_colour(m->state),
					 is_leader ? ", peripheries=2" : "",
					 m->is_self ? ", penwidth=2" : "");
	pfree(label.data);
}

/*
 * Who streams from whom.  On the leader, its WAL senders say exactly which
 * standbys stream from it (solid edges); elsewhere, a standby follows the
 * leader the cluster elected, which is what gossip shows (dashed edges).
 */
static void
routing_dot_streams(StringInfo buf, const PgqSnapshot *snap)
{
	const PgqMember *leader = pgq_snapshot_member(snap, snap->leader);
	char		streaming[64][QUORUM_NAME_MAX + 1];
	uint64		flush[64];
	int			n_streaming = 0;
	bool		here = leader != NULL && leader->is_self;

	if (leader == NULL)
		return;
	if (here)
		n_streaming = pgq_action_streaming_standbys(streaming, flush, lengthof(flush));
	for (int i = 0; i < snap->n_members; i++)
	{
		const PgqMember *m = &snap->members[i];
		bool		seen = false;
		int64		lag;

		if (m == leader || !m->has_meta || m->role != QUORUM_ROLE_STANDBY ||
			m->state == QUORUM_MEMBER_LEFT)
			continue;
		for (int s = 0; s < n_streaming; s++)
			seen |= strcmp(streaming[s], m->name) == 0;
		appendStringInfoString(buf, "\t");
		routing_append_dot_string(buf, leader->name);
		appendStringInfoString(buf, " -> ");
		routing_append_dot_string(buf, m->name);
		if (pgq_snapshot_lag(snap, m, &lag))
			appendStringInfo(buf, " [label=\"lag " INT64_FORMAT " bytes\"", lag);
		else
			appendStringInfoString(buf, " [label=\"lag unknown\"");
		appendStringInfo(buf, ", style=%s];\n",
						 here && seen ? "solid" : here ? "dotted" : "dashed");
	}
}

/* quorum.dot(): the cluster as this server sees it, in Graphviz DOT. */
Datum
pgq_dot(PG_FUNCTION_ARGS)
{
	PgqSnapshot snap;
	StringInfoData buf;
	StringInfoData title;

	routing_snapshot(&snap);
	initStringInfo(&title);
	appendStringInfo(&title, "pg_quorum cluster \"%s\", term " UINT64_FORMAT
					 ", leader %s, as seen by %s",
					 snap.cluster, snap.term,
					 snap.leader[0] != '\0' ? snap.leader : "none", snap.node_name);

	initStringInfo(&buf);
	appendStringInfoString(&buf, "digraph pg_quorum {\n\tgraph [label=");
	routing_append_dot_string(&buf, title.data);
	appendStringInfoString(&buf, ", labelloc=t, fontname=\"Helvetica\"];\n"
						   "\tnode [fontname=\"Helvetica\", fontsize=11];\n"
						   "\tedge [fontname=\"Helvetica\", fontsize=10];\n");
	for (int i = 0; i < snap.n_members; i++)
		routing_dot_member(&buf, &snap, &snap.members[i]);
	routing_dot_streams(&buf, &snap);
	appendStringInfoString(&buf, "}\n");
	PG_RETURN_TEXT_P(cstring_to_text(buf.data));
}
