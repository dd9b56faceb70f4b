/*-------------------------------------------------------------------------
 *
 * http_render.c
 *	  What the HTTP endpoint answers: status codes with Patroni's meaning,
 *	  JSON bodies and the Prometheus text exposition.
 *
 * Every answer starts from one copy of the shared state taken under
 * LW_SHARED (http_view_take()); the lock is released before any text is
 * written, and long before a byte goes to a client.  Nothing rendered here
 * carries a secret: no conninfo (it may hold a password), no user names.
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
#include "storage/lwlock.h"
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

/* A copy of everything one answer needs; members is palloc'd. */
typedef struct HttpView
{
	bool		worker_running;
	char		node_name[QUORUM_NAME_MAX + 1];
	char		cluster[QUORUM_NAME_MAX + 1];
	struct quorum_node_stats stats;
	uint64		term;
	char		leader[QUORUM_NAME_MAX + 1];	/* "" = none known */
	bool		has_quorum;
	bool		paused;
	PgqMode		mode;
	uint64		promotions_total;
	int			n_members;
	PgqMember  *members;

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

	memset(v, 0, sizeof(*v));
	v->members = palloc(sizeof(PgqMember) * pgq_shared->members_max);

	LWLockAcquire(pgq_shared->lock, LW_SHARED);
	v->worker_running = pgq_shared->worker_running;
	v->promotions_total = pgq_shared->promotions_total;
	if (v->worker_running)
	{
		memcpy(v->node_name, pgq_shared->node_name, sizeof(v->node_name));
		memcpy(v->cluster, pgq_shared->cluster, sizeof(v->cluster));
		v->stats = pgq_shared->stats;
		v->term = pgq_shared->term;
		memcpy(v->leader, pgq_shared->leader, sizeof(v->leader));
		v->has_quorum = pgq_shared->has_quorum;
		v->paused = pgq_shared->paused;
		v->mode = pgq_shared->mode;
		v->n_members = pgq_shared->n_members;
		memcpy(v->members, pgq_shared->members, sizeof(PgqMember) * v->n_members);
	}
	LWLockRelease(pgq_shared->lock);

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

static const PgqMember *
http_member(const HttpView *v, const char *name)
{
	if (name[0] == '\0')
		return NULL;
	for (int i = 0; i < v->n_members; i++)
		if (strcmp(v->members[i].name, name) == 0)
			return &v->members[i];
	return NULL;
}

/*
 * Bytes m is behind the leader, both as last gossiped: what quorum.nodes
 * shows as lag.  False when unknown (no leader, no metadata, or another
 * timeline than the leader's).
 */
static bool
http_lag(const HttpView *v, const PgqMember *m, uint64 *lag)
{
	const PgqMember *leader = http_member(v, v->leader);

	if (leader == NULL || !leader->has_meta || !m->has_meta ||
		m->timeline != leader->timeline)
		return false;
	*lag = m->lsn >= leader->lsn ? 0 : leader->lsn - m->lsn;
	return true;
}

static bool
http_self_leads(const HttpView *v)
{
	return v->worker_running && v->leader[0] != '\0' &&
		strcmp(v->leader, v->node_name) == 0;
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
	const PgqMember *self = http_member(v, v->node_name);
	uint64		lag;

	if (v->recovery != RECOVERY_STATE_ARCHIVE || !v->streaming || self == NULL)
		return false;
	if (!http_lag(v, self, &lag))
		return false;
	return !req->has_lag || lag <= req->lag_bytes;
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
	uint64		lag;

	appendStringInfoChar(out, '{');
	http_json_text(out, "name", m->name, false);
	http_json_text(out, "address", m->address, true);
	http_json_text(out, "state", quorum_member_state_name(m->state), true);
	appendStringInfo(out, ",\"incarnation\":" UINT64_FORMAT, m->incarnation);
	http_json_text(out, "role", m->has_meta ? quorum_role_name(m->role) : "unknown", true);
	appendStringInfo(out, ",\"is_self\":%s,\"is_leader\":%s,\"voter\":%s",
					 m->is_self ? "true" : "false",
					 m->is_leader ? "true" : "false",
					 m->voter ? "true" : "false");
	if (m->has_meta)
	{
		appendStringInfo(out, ",\"timeline\":%u,\"lsn\":\"%X/%X\"",
						 m->timeline, LSN_FORMAT_ARGS((XLogRecPtr) m->lsn));
		if (http_lag(v, m, &lag))
			appendStringInfo(out, ",\"lag\":" UINT64_FORMAT, lag);
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
	const PgqMember *self = http_member(v, v->node_name);
	uint64		lag;

	appendStringInfoChar(out, '{');
	http_json_text(out, "name", v->node_name, false);
	http_json_text(out, "role",
				   v->recovery == RECOVERY_STATE_DONE ? "primary" :
				   v->recovery == RECOVERY_STATE_ARCHIVE ? "standby" : "recovering",
				   true);
	appendStringInfo(out, ",\"lease\":%s,\"fenced\":%s,\"streaming\":%s",
					 v->lease_held ? "true" : "false",
					 pgq_elections_enabled && !v->lease_held ? "true" : "false",
					 v->streaming ? "true" : "false");
	if (self != NULL && http_lag(v, self, &lag))
		appendStringInfo(out, ",\"lag\":" UINT64_FORMAT, lag);
	appendStringInfo(out, ",\"term\":" UINT64_FORMAT, v->term);
	http_json_text(out, "leader", v->leader, true);
	appendStringInfo(out, ",\"has_quorum\":%s}\n", v->has_quorum ? "true" : "false");
}

/* /leader: the leader this server knows, or "leader": null. */
static void
http_json_leader(StringInfo out, const HttpView *v)
{
	const PgqMember *leader = http_member(v, v->leader);

	appendStringInfo(out, "{\"term\":" UINT64_FORMAT ",\"leader\":", v->term);
	if (leader != NULL)
		http_json_member(out, v, leader);
	else if (v->leader[0] != '\0')
	{
		/* Elected, but gone from the member table: the name is all we know. */
		appendStringInfoString(out, "{\"name\":");
		escape_json(out, v->leader);
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
	http_json_text(out, "cluster", v->cluster, false);
	appendStringInfo(out, ",\"term\":" UINT64_FORMAT, v->term);
	http_json_text(out, "leader", v->leader, true);
	appendStringInfoString(out, ",\"members\":[");
	for (int i = 0; i < v->n_members; i++)
	{
		if (i > 0)
			appendStringInfoChar(out, ',');
		http_json_member(out, v, &v->members[i]);
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

static void
http_metrics(StringInfo out, const HttpView *v)
{
	static const struct
	{
		PgqMode		mode;
		const char *name;
	}			modes[] = {
		{PGQ_MODE_ASYNC, "async"}, {PGQ_MODE_SYNC, "sync"}, {PGQ_MODE_DEGRADED, "degraded"}
	};
	const unsigned by_state[] = {
		v->stats.members_alive, v->stats.members_suspect,
		v->stats.members_dead, v->stats.members_left
	};
	const struct
	{
		const char *name;
		const char *help;
		uint64		value;
	}			counters[] = {
		{"datagrams_received_total", "Gossip datagrams received (since the worker started).",
		v->stats.datagrams_in},
		{"datagrams_sent_total", "Gossip datagrams sent (since the worker started).",
		v->stats.datagrams_out},
		{"elections_total", "Elections this server started as a candidate (since the worker started).",
		v->stats.elections_started},
		{"leader_changes_total", "Leader changes this server observed (since the worker started).",
		v->stats.leader_changes},
		{"failovers_total", "Times this server was promoted to primary (since the server started).",
		v->promotions_total},
	};
	const enum quorum_member_state states[] = {
		QUORUM_MEMBER_ALIVE, QUORUM_MEMBER_SUSPECT,
		QUORUM_MEMBER_DEAD, QUORUM_MEMBER_LEFT
	};

	http_metric(out, "up", "gauge",
				"Whether the pg_quorum worker runs on this server.",
				v->worker_running);
	http_metric(out, "term", "gauge", "Current election term.", v->term);
	http_metric_head(out, "leader", "gauge",
					 "The leader this server knows, as a label; no sample while none is known.");
	if (v->leader[0] != '\0')
		http_sample(out, "leader", "name", v->leader, 1);
	http_metric(out, "is_leader", "gauge",
				"Whether this server is the leader it knows.", http_self_leads(v));
	http_metric(out, "has_quorum", "gauge",
				"Whether this server sees a quorum of voters.", v->has_quorum);
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
				"Whether automatic failover is paused.", v->paused);

	http_metric_head(out, "mode", "gauge",
					 "Replication mode (quorum.status.mode): 1 for the current one.");
	for (int i = 0; i < lengthof(modes); i++)
		http_sample(out, "mode", "mode", modes[i].name,
					(pgq_elections_enabled ? v->mode : PGQ_MODE_ASYNC) == modes[i].mode);

	http_metric_head(out, "members", "gauge", "Members by state, as this server sees them.");
	for (int i = 0; i < lengthof(states); i++)
		http_sample(out, "members", "state", quorum_member_state_name(states[i]),
					by_state[i]);

	http_metric_head(out, "peer_rtt_seconds", "gauge",
					 "Last measured gossip round-trip time to each peer.");
	for (int i = 0; i < v->n_members; i++)
		if (!v->members[i].is_self && v->members[i].rtt_ms >= 0)
			http_sample(out, "peer_rtt_seconds", "peer", v->members[i].name,
						v->members[i].rtt_ms / 1000.0);

	http_metric_head(out, "member_lag_bytes", "gauge",
					 "WAL bytes each member is behind the leader, as gossiped.");
	for (int i = 0; i < v->n_members; i++)
	{
		uint64		lag;

		if (http_lag(v, &v->members[i], &lag))
			http_sample(out, "member_lag_bytes", "member", v->members[i].name, lag);
	}

	http_metric_head(out, "dropped_datagrams_total", "counter",
					 "Gossip datagrams dropped by this server's worker, by reason (since it started).");
	for (int r = 0; r < QUORUM_DROP__COUNT; r++)
		http_sample(out, "dropped_datagrams_total", "reason",
					quorum_drop_reason_name(r), v->stats.drops[r]);

	for (int i = 0; i < lengthof(counters); i++)
		http_metric(out, counters[i].name, "counter", counters[i].help,
					counters[i].value);
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
	HttpView	v;

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
	{
		http_view_take(&v);
		switch (http_routes[r].route)
		{
			case HTTP_PRIMARY:
				status = http_is_primary(&v) ? 200 : 503;
				http_json_self(&body, &v);
				break;
			case HTTP_REPLICA:
				status = http_is_replica(&v, req) ? 200 : 503;
				http_json_self(&body, &v);
				break;
			case HTTP_READ_ONLY:
				/* Patroni's /read-only: any server that serves reads. */
				status = http_is_primary(&v) || http_is_replica(&v, req) ? 200 : 503;
				http_json_self(&body, &v);
				break;
			case HTTP_HEALTH:
				/* Up: out of crash recovery, so it accepts connections. */
				status = v.recovery != RECOVERY_STATE_CRASH ? 200 : 503;
				http_json_self(&body, &v);
				break;
			case HTTP_LEADER:
				status = http_self_leads(&v) ? 200 : 503;
				http_json_leader(&body, &v);
				break;
			case HTTP_CLUSTER:
				http_json_cluster(&body, &v);
				break;
			case HTTP_METRICS:
				type = "text/plain; version=0.0.4; charset=utf-8";
				http_metrics(&body, &v);
				break;
		}
	}

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
