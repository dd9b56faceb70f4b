/*-------------------------------------------------------------------------
 *
 * http_render.c
 *	  What the HTTP endpoint answers: status codes with Patroni's meaning,
 *	  JSON bodies and the Prometheus text exposition.
 *
 * Every answer starts from one copy of the shared state taken under
 * LW_SHARED (http_view_take(), through pgq_snapshot_take()); the lock is
 * released before any text is written, and long before a byte goes to a
 * client.  Nothing rendered here carries a secret: no conninfo (it may
 * hold a password), no user names.
 *
 * The check paths (/primary, /read-write, /replica, /read-only, /health,
 * /leader) answer without credentials, since load balancers probe them;
 * /cluster and /metrics need them when pg_quorum.http_auth_file is set.
 *
 * extension/http_render.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

/* the shared state, this server's recovery and WAL receiver */
#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "replication/walreceiver.h"
#include "storage/spin.h"

#include "lib/stringinfo.h"
#include "utils/json.h"
#include "utils/timestamp.h"

#include "quorum/quorum.h"

#include "fence.h"
#include "guc.h"
#include "http.h"
#include "pg_compat.h"
#include "shmem.h"
#include "snapshot.h"

/* A copy of everything one answer needs. */
typedef struct HttpView
{
	PgqSnapshot shared;			/* with the members */

	/* This server, read outside the lock. */
	RecoveryState recovery;
	bool		streaming;		/* the WAL receiver streams */
	bool		lease_held;
	quorum_time_ms lease_left_ms;
} HttpView;

typedef enum HttpRoute
{
	HTTP_PRIMARY,
	HTTP_REPLICA,
	HTTP_READ_ONLY,
	HTTP_HEALTH,
	HTTP_LEADER,
	HTTP_CLUSTER,
	HTTP_METRICS
} HttpRoute;

static const struct
{
	const char *path;
	HttpRoute	route;
	bool		needs_auth;
}			http_routes[] = {
	{"/primary", HTTP_PRIMARY, false},
	{"/read-write", HTTP_PRIMARY, false},
	{"/replica", HTTP_REPLICA, false},
	{"/read-only", HTTP_READ_ONLY, false},
	{"/health", HTTP_HEALTH, false},
	{"/leader", HTTP_LEADER, false},
	{"/cluster", HTTP_CLUSTER, true},
	{"/metrics", HTTP_METRICS, true},
};

static void
http_view_take(HttpView *v)
{
	uint64		until;
	quorum_time_ms now;

	pgq_snapshot_take(&v->shared, true);

	v->recovery = GetRecoveryState();
	SpinLockAcquire(&WalRcv->mutex);
	v->streaming = WalRcv->walRcvState == WALRCV_STREAMING;
	SpinLockRelease(&WalRcv->mutex);

	/* The same reading of the fence as pgq_has_lease(), with the time left. */
	until = pg_atomic_read_u64(&pgq_shared->lease_until_ms);
	now = quorum_runtime_now_ms();
	v->lease_held = until != 0 && now < until;
	v->lease_left_ms = v->lease_held ? until - now : 0;
}

static bool
http_self_leads(const HttpView *v)
{
	return v->shared.worker_running && v->shared.leader[0] != '\0' &&
		strcmp(v->shared.leader, v->shared.node_name) == 0;
}

/*
 * /primary: this server leads, holds the lease and is out of recovery, so
 * a write would commit.  Without elections (pg_quorum.failover = off) there
 * is no lease, and a server out of recovery is the primary.
 */
static bool
http_is_primary(const HttpView *v)
{
	if (v->recovery != RECOVERY_STATE_DONE)
		return false;
	if (!pgq_elections_enabled)
		return true;
	return http_self_leads(v) && v->lease_held;
}

/*
 * /replica: a standby whose WAL receiver streams, on the timeline of the
 * leader this server knows, and (with ?lag=) no further behind it than
 * asked.  A standby still streaming from a deposed primary is on the old
 * timeline, so it fails this check once the new leader has promoted.
 */
static bool
http_is_replica(const HttpView *v, const PgqHttpRequest *req)
{
	const PgqMember *self = pgq_snapshot_member(&v->shared, v->shared.node_name);
	int64		lag;

	if (v->recovery != RECOVERY_STATE_ARCHIVE || !v->streaming || self == NULL)
		return false;
	if (!pgq_snapshot_lag(&v->shared, self, &lag))
		return false;
	return !req->has_lag || (uint64) lag <= req->lag_bytes;
}

static void
http_json_text(StringInfo out, const char *key, const char *value, bool comma)
{
	appendStringInfo(out, "%s\"%s\":", comma ? "," : "", key);
	if (value == NULL || value[0] == '\0')
		appendStringInfoString(out, "null");
	else
		escape_json(out, value);
}

static void
http_json_time(StringInfo out, const char *key, TimestampTz t)
{
	http_json_text(out, key, t == 0 ? NULL : timestamptz_to_str(t), true);
}

/* One member as a JSON object: quorum.nodes' columns but conninfo. */
static void
http_json_member(StringInfo out, const HttpView *v, const PgqMember *m)
{
	int64		lag;

	appendStringInfoChar(out, '{');
	http_json_text(out, "name", m->name, false);
	http_json_text(out, "address", m->address, true);
	http_json_text(out, "state", pgq_state_sql_name(m->state), true);
	appendStringInfo(out, ",\"incarnation\":" UINT64_FORMAT, m->incarnation);
	http_json_text(out, "role", pgq_member_role_name(m), true);
	appendStringInfo(out, ",\"is_self\":%s,\"is_leader\":%s,\"voter\":%s",
					 m->is_self ? "true" : "false",
					 m->is_leader ? "true" : "false",
					 m->voter ? "true" : "false");
	if (m->has_meta)
	{
		appendStringInfo(out, ",\"timeline\":%u,\"lsn\":\"%X/%X\"",
						 m->timeline, LSN_FORMAT_ARGS((XLogRecPtr) m->lsn));
		if (pgq_snapshot_lag(&v->shared, m, &lag))
			appendStringInfo(out, ",\"lag\":" INT64_FORMAT, lag);
		else
			appendStringInfoString(out, ",\"lag\":null");
		appendStringInfo(out, ",\"priority\":%d", m->priority);
		http_json_text(out, "tags", m->tags, true);
	}
	http_json_time(out, "state_since", m->state_since);
	http_json_time(out, "last_heard", m->last_heard);
	if (m->rtt_ms >= 0)
		appendStringInfo(out, ",\"rtt_ms\":%.3f", m->rtt_ms);
	appendStringInfoChar(out, '}');
}

/* The body of every check path: what this server is, and its leader. */
static void
http_json_self(StringInfo out, const HttpView *v)
{
	const PgqMember *self = pgq_snapshot_member(&v->shared, v->shared.node_name);
	int64		lag;

	appendStringInfoChar(out, '{');
	http_json_text(out, "name", v->shared.node_name, false);
	http_json_text(out, "role",
				   v->recovery == RECOVERY_STATE_DONE ? "primary" :
				   v->recovery == RECOVERY_STATE_ARCHIVE ? "standby" : "recovering",
				   true);
	appendStringInfo(out, ",\"lease\":%s,\"fenced\":%s,\"streaming\":%s",
					 v->lease_held ? "true" : "false",
					 pgq_elections_enabled && !v->lease_held ? "true" : "false",
					 v->streaming ? "true" : "false");
	if (self != NULL && pgq_snapshot_lag(&v->shared, self, &lag))
		appendStringInfo(out, ",\"lag\":" INT64_FORMAT, lag);
	appendStringInfo(out, ",\"term\":" UINT64_FORMAT, v->shared.term);
	http_json_text(out, "leader", v->shared.leader, true);
	appendStringInfo(out, ",\"has_quorum\":%s}\n", v->shared.has_quorum ? "true" : "false");
}

/* /leader: the leader this server knows, or "leader": null. */
static void
http_json_leader(StringInfo out, const HttpView *v)
{
	const PgqMember *leader = pgq_snapshot_member(&v->shared, v->shared.leader);

	appendStringInfo(out, "{\"term\":" UINT64_FORMAT ",\"leader\":", v->shared.term);
	if (leader != NULL)
		http_json_member(out, v, leader);
	else if (v->shared.leader[0] != '\0')
	{
		/* Elected, but gone from the member table: the name is all we know. */
		appendStringInfoString(out, "{\"name\":");
		escape_json(out, v->shared.leader);
		appendStringInfoChar(out, '}');
	}
	else
		appendStringInfoString(out, "null");
	appendStringInfoString(out, "}\n");
}

static void
http_json_cluster(StringInfo out, const HttpView *v)
{
	appendStringInfoChar(out, '{');
	http_json_text(out, "cluster", v->shared.cluster, false);
	appendStringInfo(out, ",\"term\":" UINT64_FORMAT, v->shared.term);
	http_json_text(out, "leader", v->shared.leader, true);
	appendStringInfoString(out, ",\"members\":[");
	for (int i = 0; i < v->shared.n_members; i++)
	{
		if (i > 0)
			appendStringInfoChar(out, ',');
		http_json_member(out, v, &v->shared.members[i]);
	}
	appendStringInfoString(out, "]}\n");
}

/* A Prometheus label value: backslash, double quote and newline escaped. */
static void
http_label(StringInfo out, const char *value)
{
	for (const char *p = value; *p != '\0'; p++)
	{
		if (*p == '\\' || *p == '"')
			appendStringInfoChar(out, '\\');
		if (*p == '\n')
			appendStringInfoString(out, "\\n");
		else
			appendStringInfoChar(out, *p);
	}
}

static void
http_metric_head(StringInfo out, const char *name, const char *type, const char *help)
{
	appendStringInfo(out, "# HELP pg_quorum_%s %s\n# TYPE pg_quorum_%s %s\n",
					 name, help, name, type);
}

/* A metric without labels. */
static void
http_metric(StringInfo out, const char *name, const char *type,
			const char *help, double value)
{
	http_metric_head(out, name, type, help);
	appendStringInfo(out, "pg_quorum_%s %.17g\n", name, value);
}

/* One sample of a labelled metric. */
static void
http_sample(StringInfo out, const char *name, const char *label,
			const char *label_value, double value)
{
	appendStringInfo(out, "pg_quorum_%s{%s=\"", name, label);
	http_label(out, label_value);
	appendStringInfo(out, "\"} %.17g\n", value);
}

/* The families with one sample per mode, state, peer, member or reason. */
static void
http_metrics_labelled(StringInfo out, const HttpView *v)
{
	static const PgqMode modes[] = {PGQ_MODE_ASYNC, PGQ_MODE_SYNC, PGQ_MODE_DEGRADED};
	const unsigned by_state[] = {
		v->shared.stats.members_alive, v->shared.stats.members_suspect,
		v->shared.stats.members_dead, v->shared.stats.members_left
	};
	const enum quorum_member_state states[] = {
		QUORUM_MEMBER_ALIVE, QUORUM_MEMBER_SUSPECT,
		QUORUM_MEMBER_DEAD, QUORUM_MEMBER_LEFT
	};

	http_metric_head(out, "mode", "gauge",
					 "Replication mode (quorum.status.mode): 1 for the current one.");
	for (int i = 0; i < lengthof(modes); i++)
		http_sample(out, "mode", "mode", pgq_mode_name(modes[i]),
					(pgq_elections_enabled ? v->shared.mode : PGQ_MODE_ASYNC) == modes[i]);

	http_metric_head(out, "members", "gauge", "Members by state, as this server sees them.");
	for (int i = 0; i < lengthof(states); i++)
		http_sample(out, "members", "state", pgq_state_sql_name(states[i]),
					by_state[i]);

	http_metric_head(out, "peer_rtt_seconds", "gauge",
					 "Last measured gossip round-trip time to each peer.");
	for (int i = 0; i < v->shared.n_members; i++)
		if (!v->shared.members[i].is_self && v->shared.members[i].rtt_ms >= 0)
			http_sample(out, "peer_rtt_seconds", "peer", v->shared.members[i].name,
						v->shared.members[i].rtt_ms / 1000.0);

	http_metric_head(out, "member_lag_bytes", "gauge",
					 "WAL bytes each member is behind the leader, as gossiped.");
	for (int i = 0; i < v->shared.n_members; i++)
	{
		int64		lag;

		if (pgq_snapshot_lag(&v->shared, &v->shared.members[i], &lag))
			http_sample(out, "member_lag_bytes", "member", v->shared.members[i].name, lag);
	}

	http_metric_head(out, "dropped_datagrams_total", "counter",
					 "Gossip datagrams dropped by this server's worker, by reason (since it started).");
	for (int r = 0; r < QUORUM_DROP__COUNT; r++)
		http_sample(out, "dropped_datagrams_total", "reason",
					quorum_drop_reason_name(r), v->shared.stats.drops[r]);
}

static void
http_metrics(StringInfo out, const HttpView *v)
{
	const struct
	{
		const char *name;
		const char *help;
		uint64		value;
	}			counters[] = {
		{"datagrams_received_total", "Gossip datagrams received (since the worker started).",
		v->shared.stats.datagrams_in},
		{"datagrams_sent_total", "Gossip datagrams sent (since the worker started).",
		v->shared.stats.datagrams_out},
		{"elections_total", "Elections this server started as a candidate (since the worker started).",
		v->shared.stats.elections_started},
		{"leader_changes_total", "Leader changes this server observed (since the worker started).",
		v->shared.stats.leader_changes},
		{"failovers_total", "Times this server was promoted to primary (since the server started).",
		v->shared.promotions_total},
	};

	http_metric(out, "up", "gauge",
				"Whether the pg_quorum worker runs on this server.",
				v->shared.worker_running);
	http_metric(out, "term", "gauge", "Current election term.", v->shared.term);
	http_metric_head(out, "leader", "gauge",
					 "The leader this server knows, as a label; no sample while none is known.");
	if (v->shared.leader[0] != '\0')
		http_sample(out, "leader", "name", v->shared.leader, 1);
	http_metric(out, "is_leader", "gauge",
				"Whether this server is the leader it knows.", http_self_leads(v));
	http_metric(out, "has_quorum", "gauge",
				"Whether this server sees a quorum of voters.", v->shared.has_quorum);
	http_metric(out, "lease_held", "gauge",
				"Whether this server holds the write lease (its commit fence is open).",
				v->lease_held);
	http_metric(out, "lease_remaining_seconds", "gauge",
				"Time until the write lease runs out unless renewed; 0 without it.",
				v->lease_left_ms / 1000.0);
	http_metric(out, "fenced", "gauge",
				"Whether the commit fence refuses writes here (quorum.status.fenced).",
				pgq_elections_enabled && !v->lease_held);
	http_metric(out, "paused", "gauge",
				"Whether automatic failover is paused.", v->shared.paused);
	http_metrics_labelled(out, v);
	for (int i = 0; i < lengthof(counters); i++)
		http_metric(out, counters[i].name, "counter", counters[i].help,
					counters[i].value);
}

/*
 * The answer of a known path to an authorized GET or HEAD: fills body (and
 * *type when not JSON) and returns the status.
 */
static int
http_route(HttpRoute route, const PgqHttpRequest *req, StringInfo body,
		   const char **type)
{
	HttpView	v;
	int			status = 200;

	http_view_take(&v);
	switch (route)
	{
		case HTTP_PRIMARY:
			status = http_is_primary(&v) ? 200 : 503;
			http_json_self(body, &v);
			break;
		case HTTP_REPLICA:
			status = http_is_replica(&v, req) ? 200 : 503;
			http_json_self(body, &v);
			break;
		case HTTP_READ_ONLY:
			/* Patroni's /read-only: any server that serves reads. */
			status = http_is_primary(&v) || http_is_replica(&v, req) ? 200 : 503;
			http_json_self(body, &v);
			break;
		case HTTP_HEALTH:
			/* Up: out of crash recovery, so it accepts connections. */
			status = v.recovery != RECOVERY_STATE_CRASH ? 200 : 503;
			http_json_self(body, &v);
			break;
		case HTTP_LEADER:
			status = http_self_leads(&v) ? 200 : 503;
			http_json_leader(body, &v);
			break;
		case HTTP_CLUSTER:
			http_json_cluster(body, &v);
			break;
		case HTTP_METRICS:
			*type = "text/plain; version=0.0.4; charset=utf-8";
			http_metrics(body, &v);
			break;
	}
	return status;
}

static const char *
http_reason(int status)
{
	switch (status)
	{
		case 200:
			return "OK";
		case 400:
			return "Bad Request";
		case 401:
			return "Unauthorized";
		case 404:
			return "Not Found";
		case 405:
			return "Method Not Allowed";
		case 503:
			return "Service Unavailable";
	}
	return "Error";
}

static void
http_error_body(StringInfo body, const char *message)
{
	appendStringInfoString(body, "{\"error\":");
	escape_json(body, message);
	appendStringInfoString(body, "}\n");
}

void
pgq_http_respond(const PgqHttpRequest *req, PgqHttpParse verdict,
				 bool authorized, StringInfo out)
{
	StringInfoData body;
	const char *type = "application/json";
	const char *extra = "";
	int			status = 200;
	int			r;

	initStringInfo(&body);
	for (r = 0; r < lengthof(http_routes); r++)
		if (verdict == PGQ_HTTP_OK && strcmp(req->path, http_routes[r].path) == 0)
			break;

	if (verdict != PGQ_HTTP_OK)
	{
		status = 400;
		http_error_body(&body, req->error != NULL ? req->error : "malformed request");
	}
	else if (req->method == PGQ_HTTP_OTHER)
	{
		status = 405;
		extra = "Allow: GET, HEAD\r\n";
		http_error_body(&body, "only GET and HEAD are served");
	}
	else if (r == lengthof(http_routes))
	{
		status = 404;
		http_error_body(&body, "no such path");
	}
	else if (http_routes[r].needs_auth && !authorized)
	{
		status = 401;
		extra = "WWW-Authenticate: Basic realm=\"pg_quorum\"\r\n";
		http_error_body(&body, "authentication required");
	}
	else
		status = http_route(http_routes[r].route, req, &body, &type);

	appendStringInfo(out,
					 "HTTP/1.1 %d %s\r\n"
					 "Content-Type: %s\r\n"
					 "Content-Length: %d\r\n"
					 "Cache-Control: no-store\r\n"
					 "Connection: close\r\n"
					 "%s\r\n",
					 status, http_reason(status), type, body.len, extra);
	if (verdict != PGQ_HTTP_OK || req->method != PGQ_HTTP_HEAD)
		appendBinaryStringInfo(out, body.data, body.len);
	pfree(body.data);
}
