/*-------------------------------------------------------------------------
 *
 * pg_quorum--0.1.sql
 *	  SQL objects of pg_quorum 0.1: the quorum schema, its views, and the
 *	  functions that act: join(), failover(), pause(), resume(), forget(),
 *	  add_voter().
 *
 * Each view is a set-returning C function plus a view over it, as
 * pg_stat_statements does, so the column list is defined once (the
 * function's OUT parameters) and the view is what users and grants see.
 * The functions only copy the background worker's snapshot out of shared
 * memory; they never do protocol work.
 *
 * The control file places the extension itself in pg_catalog and this
 * script creates the quorum schema, so that the schema belongs to the
 * extension and DROP EXTENSION removes it (a schema created from the
 * control file's "schema" would outlive the extension).
 *
 * sql/pg_quorum--0.1.sql
 *
 *-------------------------------------------------------------------------
 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION pg_quorum" to load this file. \quit

CREATE SCHEMA quorum;
COMMENT ON SCHEMA quorum IS 'pg_quorum: gossip membership, leader election and failover';
GRANT USAGE ON SCHEMA quorum TO pg_monitor;

/*
 * quorum.nodes: one row per member this node knows, itself included
 * (is_self), ordered by name; empty while the worker is not running.
 *   state        'alive', 'suspect', 'dead' or 'left'
 *   role         'primary', 'standby', 'witness' or 'unknown' (also when
 *                the member's metadata has not reached this node yet, in
 *                which case timeline .. tags are null)
 *   is_leader    the leader this node knows (null with pg_quorum.failover
 *                off, as is voter)
 *   voter        in the voter set this node knows
 *   timeline, lsn  the member's WAL position as it last gossiped it
 *   lag          bytes behind the leader's position as both last gossiped
 *                it; null when no leader is known or it is on another
 *                timeline
 *   state_since  when this node saw the member enter its state
 *   last_heard   last direct message from the member; null if never
 *   rtt_ms       smoothed probe round trip; null until measured
 */
CREATE FUNCTION quorum.nodes_internal(
	OUT name text,
	OUT address text,
	OUT state text,
	OUT incarnation bigint,
	OUT role text,
	OUT is_self boolean,
	OUT is_leader boolean,
	OUT voter boolean,
	OUT timeline integer,
	OUT lsn pg_catalog.pg_lsn,
	OUT lag bigint,
	OUT priority integer,
	OUT conninfo text,
	OUT tags text,
	OUT state_since timestamptz,
	OUT last_heard timestamptz,
	OUT rtt_ms double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgq_nodes'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW quorum.nodes AS
	SELECT * FROM quorum.nodes_internal();

/*
 * quorum.status: exactly one row about this node.  While the worker is not
 * running, worker_running is false, incarnation, worker_pid and
 * worker_started are null and the counts are 0; node_name and cluster then
 * show the configured values.  local_health is Lifeguard's awareness score,
 * 0 = healthy; higher means this node itself is missing acks and slows down.
 *   term         the election term this node is in
 *   leader       the leader it knows; null when none
 *   has_quorum   it knows a leader that holds a majority of the voters
 *   fenced       a write transaction cannot commit here now (no lease)
 *   mode         'async' (pg_quorum.synchronous off), 'sync' (a quorum of
 *                healthy standbys is synchronous) or 'degraded' (too few
 *                healthy standbys: commits wait, or, once failover is
 *                paused, do not wait for a quorum)
 *   paused       automatic failover is paused (quorum.pause())
 * With pg_quorum.failover = off, term, leader, has_quorum and paused are
 * null, fenced is false and mode is 'async'.
 */
CREATE FUNCTION quorum.status_internal(
	OUT node_name text,
	OUT cluster text,
	OUT incarnation bigint,
	OUT term bigint,
	OUT leader text,
	OUT has_quorum boolean,
	OUT fenced boolean,
	OUT mode text,
	OUT paused boolean,
	OUT members_alive integer,
	OUT members_suspect integer,
	OUT members_dead integer,
	OUT members_left integer,
	OUT local_health integer,
	OUT worker_running boolean,
	OUT worker_pid integer,
	OUT worker_started timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgq_status'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW quorum.status AS
	SELECT * FROM quorum.status_internal();

/*
 * quorum.events: the most recent 256 events, oldest first and newest last;
 * kept across worker restarts, lost at server restart.
 *   event        membership: 'alive', 'suspect', 'dead', 'left', 'updated'
 *                (the member's role, timeline, priority, conninfo or tags
 *                changed; WAL progress alone is not an event, quorum.nodes
 *                shows it) or 'reaped' (forgotten);
 *                election: 'leader' (node = the new leader, '' = none),
 *                'lease_gained', 'lease_lost', 'paused', 'resumed',
 *                'voter_added', 'voter_removed', 'switchover' (node = the
 *                requested target, '' = the best);
 *                this server's actions: 'promoted', 'following' (node = the
 *                primary it now replicates from), 'deposed' (it ran as a
 *                primary while node leads), 'degraded' and 'synchronous'
 *                (synchronous mode lost or regained its quorum; detail =
 *                synchronous_standby_names), 'diverged' (this standby
 *                replayed past the fork of node's timeline: it needs a
 *                rewind)
 *   incarnation  membership events: the member's incarnation; else null
 *   term         election and action events: the term; else null
 *   detail       more about the event, or null
 */
CREATE FUNCTION quorum.events_internal(
	OUT at timestamptz,
	OUT event text,
	OUT node text,
	OUT incarnation bigint,
	OUT term bigint,
	OUT detail text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgq_events'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW quorum.events AS
	SELECT * FROM quorum.events_internal();

/*
 * quorum.health: gossip health, one row per kind of thing; columns that do
 * not apply to a kind are null.  Empty while the worker is not running.
 *   kind 'local'  name = this node: probes_sent, probes_failed (all
 *                 probes this node sent, and those that got no direct or
 *                 indirect ack), local_health, datagrams_in/out,
 *                 bytes_in/out
 *   kind 'peer'   name = another member: probes_sent, probes_failed,
 *                 acks_received, rtt_ms, last_heard
 *   kind 'drop'   name = why incoming datagrams were dropped ('malformed',
 *                 'oversize', 'version', 'auth', 'plaintext', 'cluster',
 *                 'replay', 'self', 'table_full', 'outbox_full', as libquorum
 *                 names them): dropped, counted since the worker started
 */
CREATE FUNCTION quorum.health_internal(
	OUT kind text,
	OUT name text,
	OUT probes_sent bigint,
	OUT probes_failed bigint,
	OUT acks_received bigint,
	OUT rtt_ms double precision,
	OUT last_heard timestamptz,
	OUT dropped bigint,
	OUT local_health integer,
	OUT datagrams_in bigint,
	OUT datagrams_out bigint,
	OUT bytes_in bigint,
	OUT bytes_out bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgq_health'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW quorum.health AS
	SELECT * FROM quorum.health_internal();

/*
 * quorum.join(address): ask the worker to contact the member gossiping at
 * address ('host:port' or '[v6]:port', numeric).  Returns once the request
 * is queued; quorum.nodes shows whether it worked.
 */
CREATE FUNCTION quorum.join(address text)
RETURNS void
AS 'MODULE_PATHNAME', 'pgq_join'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

/*
 * quorum.failover(target): planned switchover to target, or to the best
 * standby when null.  The leader gives up its lease, waits until the
 * target's WAL has reached its own and hands leadership over; returns the
 * new leader's name once it runs as the primary.  Waits at most
 * pg_quorum.command_timeout.  SQLSTATEs: 22023 for a target that is
 * unknown, not a voter or of priority 0; 55000 for a target that is not
 * an alive standby on the leader's timeline within
 * pg_quorum.switchover_lag_max, no quorum, failover paused, or a switchover
 * already under way; 57014 when no new leader took over in time.
 */
CREATE FUNCTION quorum.failover(target text DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'pgq_failover'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;

/*
 * quorum.pause() / quorum.resume(): switch automatic failover off and on
 * for the whole cluster (a committed decision; quorum.status.paused).
 * Return once the decision is committed.
 */
CREATE FUNCTION quorum.pause()
RETURNS void
AS 'MODULE_PATHNAME', 'pgq_pause'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION quorum.resume()
RETURNS void
AS 'MODULE_PATHNAME', 'pgq_resume'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

/*
 * quorum.forget(node): remove a dead or departed member for good, from the
 * voter set and the member table.
 */
CREATE FUNCTION quorum.forget(node text)
RETURNS void
AS 'MODULE_PATHNAME', 'pgq_forget'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

/*
 * quorum.add_voter(node): make an alive member a voter (a decision of the
 * cluster), e.g. the server that replaces one removed with forget().
 */
CREATE FUNCTION quorum.add_voter(node text)
RETURNS void
AS 'MODULE_PATHNAME', 'pgq_add_voter'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

-- Monitoring roles may read; nobody else, and nobody but superusers may act.
REVOKE ALL ON FUNCTION quorum.nodes_internal() FROM PUBLIC;
REVOKE ALL ON FUNCTION quorum.status_internal() FROM PUBLIC;
REVOKE ALL ON FUNCTION quorum.events_internal() FROM PUBLIC;
REVOKE ALL ON FUNCTION quorum.health_internal() FROM PUBLIC;
REVOKE ALL ON FUNCTION quorum.join(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION quorum.failover(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION quorum.pause() FROM PUBLIC;
REVOKE ALL ON FUNCTION quorum.resume() FROM PUBLIC;
REVOKE ALL ON FUNCTION quorum.forget(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION quorum.add_voter(text) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION quorum.nodes_internal() TO pg_monitor;
GRANT EXECUTE ON FUNCTION quorum.status_internal() TO pg_monitor;
GRANT EXECUTE ON FUNCTION quorum.events_internal() TO pg_monitor;
GRANT EXECUTE ON FUNCTION quorum.health_internal() TO pg_monitor;

GRANT SELECT ON quorum.nodes, quorum.status, quorum.events, quorum.health TO pg_monitor;
