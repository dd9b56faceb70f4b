-- test/sql/06_health.sql: quorum.health: local, per-peer and dropped-datagram rows.
--
-- Expects the server and settings described in test/sql/README.md.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pg_quorum;
CREATE ROLE pgq_test_monitor IN ROLE pg_monitor;
CREATE ROLE pgq_test_nobody;

-- Send one datagram that is not gossip to this node's gossip port.
CREATE FUNCTION pg_temp.send_garbage() RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
	-- The program reads its input so that COPY never hits a closed pipe.
	EXECUTE format($c$COPY (SELECT 1) TO PROGRAM 'cat >/dev/null; bash -c "printf not-gossip > /dev/udp/127.0.0.1/%s"'$c$,
				   split_part(current_setting('pg_quorum.listen'), ':', 2)::int);
END
$fn$;
SELECT plan(13);

SELECT has_view('quorum', 'health', 'view quorum.health exists');
SELECT columns_are('quorum', 'health', ARRAY['kind', 'name', 'probes_sent', 'probes_failed', 'acks_received', 'rtt_ms', 'last_heard', 'dropped', 'local_health', 'datagrams_in', 'datagrams_out', 'bytes_in', 'bytes_out']);
SELECT results_eq(
	$$SELECT attname::text COLLATE "default", format_type(atttypid, atttypmod) COLLATE "default"
		FROM pg_attribute
	   WHERE attrelid = 'quorum.health'::regclass AND attnum > 0 AND NOT attisdropped
	   ORDER BY attnum$$,
	$$VALUES ('kind', 'text'),
			 ('name', 'text'),
			 ('probes_sent', 'bigint'),
			 ('probes_failed', 'bigint'),
			 ('acks_received', 'bigint'),
			 ('rtt_ms', 'double precision'),
			 ('last_heard', 'timestamp with time zone'),
			 ('dropped', 'bigint'),
			 ('local_health', 'integer'),
			 ('datagrams_in', 'bigint'),
			 ('datagrams_out', 'bigint'),
			 ('bytes_in', 'bigint'),
			 ('bytes_out', 'bigint')$$,
	'quorum.health has its columns in order, with their types');
SELECT is(pgq_test_helpers.sqlstate_as('pgq_test_monitor', 'SELECT * FROM quorum.health'),
	'00000', 'a member of pg_monitor can read quorum.health');
SELECT is(pgq_test_helpers.sqlstate_as('pgq_test_nobody', 'SELECT * FROM quorum.health'),
	'42501', 'a role without pg_monitor cannot read quorum.health');
SELECT ok(NOT has_table_privilege('public', 'quorum.health', 'SELECT'),
	'PUBLIC has no SELECT on quorum.health');

SELECT ok(pgq_test_helpers.wait_for('SELECT worker_running FROM quorum.status'),
	'the worker is running');
SELECT ok(pgq_test_helpers.wait_for($$SELECT count(*) = 1 FROM quorum.health WHERE kind = 'local'$$),
	'there is one local row');
SELECT ok((SELECT name = 'pgtap' AND local_health = 0 AND datagrams_in >= 0 AND datagrams_out >= 0
				  AND bytes_in >= 0 AND bytes_out >= 0 AND dropped IS NULL
		   FROM quorum.health WHERE kind = 'local'),
	'the local row names this node and carries its counters');
SELECT set_eq($$SELECT name FROM quorum.health WHERE kind = 'drop'$$,
	ARRAY['malformed', 'oversize', 'version', 'auth', 'plaintext', 'cluster',
		  'replay', 'self', 'table_full', 'outbox_full'],
	'there is a drop row for every drop reason');
SELECT ok((SELECT bool_and(dropped >= 0 AND probes_sent IS NULL AND rtt_ms IS NULL)
		   FROM quorum.health WHERE kind = 'drop'),
	'drop rows carry a count and no probe columns');
SELECT is((SELECT count(*)::int FROM quorum.health WHERE kind = 'peer'), 0,
	'a node without peers has no peer rows');

-- A datagram that is not gossip is dropped and counted, never acted on.
CREATE TEMP TABLE before AS
	SELECT (SELECT sum(dropped) FROM quorum.health WHERE kind = 'drop') AS dropped,
		   (SELECT datagrams_in FROM quorum.health WHERE kind = 'local') AS datagrams_in;
SELECT pg_temp.send_garbage();
SELECT ok(pgq_test_helpers.wait_for($$SELECT (SELECT sum(dropped) FROM quorum.health WHERE kind = 'drop')
		  > (SELECT dropped FROM before)$$, 10),
	'a garbage datagram is counted as dropped');

SELECT * FROM finish();
ROLLBACK;
