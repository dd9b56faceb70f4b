-- test/sql/04_nodes.sql: quorum.nodes, one row per member.
--
-- Expects the server and settings described in test/sql/README.md.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pg_quorum;
CREATE ROLE pgq_test_monitor IN ROLE pg_monitor;
CREATE ROLE pgq_test_nobody;
SELECT plan(15);

SELECT has_view('quorum', 'nodes', 'view quorum.nodes exists');
SELECT columns_are('quorum', 'nodes', ARRAY['name', 'address', 'state', 'incarnation', 'role', 'is_self', 'is_leader', 'voter', 'timeline', 'lsn', 'lag', 'priority', 'conninfo', 'tags', 'state_since', 'last_heard', 'rtt_ms']);
SELECT results_eq(
	$$SELECT attname::text COLLATE "default", format_type(atttypid, atttypmod) COLLATE "default"
		FROM pg_attribute
	   WHERE attrelid = 'quorum.nodes'::regclass AND attnum > 0 AND NOT attisdropped
	   ORDER BY attnum$$,
	$$VALUES ('name', 'text'),
			 ('address', 'text'),
			 ('state', 'text'),
			 ('incarnation', 'bigint'),
			 ('role', 'text'),
			 ('is_self', 'boolean'),
			 ('is_leader', 'boolean'),
			 ('voter', 'boolean'),
			 ('timeline', 'integer'),
			 ('lsn', 'pg_lsn'),
			 ('lag', 'bigint'),
			 ('priority', 'integer'),
			 ('conninfo', 'text'),
			 ('tags', 'text'),
			 ('state_since', 'timestamp with time zone'),
			 ('last_heard', 'timestamp with time zone'),
			 ('rtt_ms', 'double precision')$$,
	'quorum.nodes has its columns in order, with their types');
SELECT is(pgq_test_helpers.sqlstate_as('pgq_test_monitor', 'SELECT * FROM quorum.nodes'),
	'00000', 'a member of pg_monitor can read quorum.nodes');
SELECT is(pgq_test_helpers.sqlstate_as('pgq_test_nobody', 'SELECT * FROM quorum.nodes'),
	'42501', 'a role without pg_monitor cannot read quorum.nodes');
SELECT ok(NOT has_table_privilege('public', 'quorum.nodes', 'SELECT'),
	'PUBLIC has no SELECT on quorum.nodes');

SELECT ok(pgq_test_helpers.wait_for('SELECT worker_running FROM quorum.status'),
	'the worker is running');
SELECT ok(pgq_test_helpers.wait_for($$SELECT count(*) = 1 FROM quorum.nodes WHERE is_self$$),
	'exactly one row is this node itself');
SELECT is((SELECT name FROM quorum.nodes WHERE is_self), 'pgtap',
	'the self row carries the configured node name');
SELECT is((SELECT address FROM quorum.nodes WHERE is_self), current_setting('pg_quorum.listen'),
	'the self row''s address is pg_quorum.listen');
SELECT is((SELECT state FROM quorum.nodes WHERE is_self), 'alive',
	'this node is alive');
SELECT ok(pgq_test_helpers.wait_for($$SELECT role = 'primary' AND timeline = 1 AND lsn > '0/0'
		  FROM quorum.nodes WHERE is_self$$),
	'this node reports itself as primary on timeline 1 with a WAL position');
SELECT ok((SELECT lsn <= pg_current_wal_insert_lsn() FROM quorum.nodes WHERE is_self),
	'its WAL position is not ahead of the server''s');
SELECT is((SELECT (priority, conninfo, tags) FROM quorum.nodes WHERE is_self),
	(100, current_setting('pg_quorum.conninfo'), ''::text),
	'priority, conninfo and tags are the settings''');
SELECT ok((SELECT incarnation = (SELECT incarnation FROM quorum.status)
		  AND state_since <= now() FROM quorum.nodes WHERE is_self),
	'the self row''s incarnation matches quorum.status and state_since is set');

SELECT * FROM finish();
ROLLBACK;
