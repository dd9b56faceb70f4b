/*-------------------------------------------------------------------------
 *
 * pg_quorum--0.1--0.2.sql
 *	  pg_quorum 0.2: client routing and a picture of the cluster,
 *	  quorum.connection_string() and quorum.dot().
 *
 * CREATE EXTENSION pg_quorum runs pg_quorum--0.1.sql and then this script,
 * so a fresh install and an update from 0.1 create the same objects (the
 * pgTAP test 11_upgrade.sql compares them).
 *
 * sql/pg_quorum--0.1--0.2.sql
 *
 *-------------------------------------------------------------------------
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_quorum UPDATE TO '0.2'" to load this file. \quit

/*
 * quorum.connection_string(dbname, user, read_write): a libpq multi-host
 * URI naming every database member's host and port, as their
 * pg_quorum.conninfo gives them (never its user, password or other
 * keywords), with target_session_attrs=read-write, or prefer-standby when
 * read_write is false.  For example
 *   postgresql://db1:5432,db2:5432,db3:5432/app?user=app&target_session_attrs=read-write
 * SQLSTATEs: 22023 for an empty dbname or user, 42622 for one longer than
 * a name can be, 55000 when the worker is not running or no member
 * advertises a host.
 */
CREATE FUNCTION quorum.connection_string(dbname text, "user" text,
										 read_write boolean DEFAULT true)
RETURNS text
AS 'MODULE_PATHNAME', 'pgq_connection_string'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

/*
 * quorum.dot(): the cluster as this server sees it, as a Graphviz digraph:
 * one node per member (name, role, state, leader, voter, WAL position;
 * the leader drawn with a double border, a witness as an ellipse,
 * non-voters dashed) and an edge from the leader to each standby, labelled
 * with its lag in bytes.  Render with
 *   psql -Atc 'SELECT quorum.dot()' | dot -Tsvg > cluster.svg
 */
CREATE FUNCTION quorum.dot()
RETURNS text
AS 'MODULE_PATHNAME', 'pgq_dot'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

-- Both read what quorum.nodes shows (hosts and ports included): monitoring
-- roles may, as they may read the views.
REVOKE ALL ON FUNCTION quorum.connection_string(text, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION quorum.dot() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION quorum.connection_string(text, text, boolean) TO pg_monitor;
GRANT EXECUTE ON FUNCTION quorum.dot() TO pg_monitor;
