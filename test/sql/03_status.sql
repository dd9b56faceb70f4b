-- test/sql/03_status.sql: quorum.status, one row about this node and its worker.
--
-- Expects the server and settings described in test/sql/README.md.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pg_quorum;
CREATE ROLE pgq_test_monitor IN ROLE pg_monitor;
CREATE ROLE pgq_test_nobody;
SELECT plan(15);

SELECT has_view('quorum', 'status', 'view quorum.status exists');
SELECT columns_are('quorum', 'status', ARRAY['node_name', 'cluster', 'incarnation', 'term', 'leader', 'has_quorum', 'fenced', 'mode', 'paused', 'members_alive', 'members_suspect', 'members_dead', 'members_left', 'local_health', 'worker_running', 'worker_pid', 'worker_started']);
SELECT results_eq(
	$$SELECT attname::text COLLATE "default", format_type(atttypid, atttypmod) COLLATE "default"
		FROM pg_attribute
	   WHERE attrelid = 'quorum.status'::regclass AND attnum > 0 AND NOT attisdropped
	   ORDER BY attnum$$,
	$$VALUES ('node_name', 'text'),
			 ('cluster', 'text'),
			 ('incarnation', 'bigint'),
			 ('term', 'bigint'),
			 ('leader', 'text'),
			 ('has_quorum', 'boolean'),
			 ('fenced', 'boolean'),
			 ('mode', 'text'),
			 ('paused', 'boolean'),
			 ('members_alive', 'integer'),
			 ('members_suspect', 'integer'),
			 ('members_dead', 'integer'),
			 ('members_left', 'integer'),
			 ('local_health', 'integer'),
			 ('worker_running', 'boolean'),
			 ('worker_pid', 'integer'),
			 ('worker_started', 'timestamp with time zone')$$,
	'quorum.status has its columns in order, with their types');
SELECT is(pgq_test_helpers.sqlstate_as('pgq_test_monitor', 'SELECT * FROM quorum.status'),
	'00000', 'a member of pg_monitor can read quorum.status');
SELECT is(pgq_test_helpers.sqlstate_as('pgq_test_nobody', 'SELECT * FROM quorum.status'),
	'42501', 'a role without pg_monitor cannot read quorum.status');
SELECT ok(NOT has_table_privilege('public', 'quorum.status', 'SELECT'),
	'PUBLIC has no SELECT on quorum.status');

SELECT ok(pgq_test_helpers.wait_for('SELECT worker_running FROM quorum.status'),
	'the worker is running');
SELECT is((SELECT count(*)::int FROM quorum.status), 1, 'quorum.status has exactly one row');
SELECT is((SELECT node_name FROM quorum.status), 'pgtap',
	'node_name is the configured pg_quorum.node_name');
SELECT is((SELECT cluster FROM quorum.status), 'pg_quorum',
	'cluster is the default pg_quorum.cluster');
SELECT ok((SELECT incarnation >= 1 FROM quorum.status),
	'the incarnation starts at 1 or above');
SELECT ok((SELECT position(convert_to('pg_quorum worker', 'UTF8') IN pg_read_binary_file('/proc/' || worker_pid || '/cmdline')) > 0
		   FROM quorum.status),
	'worker_pid is the pid of the running pg_quorum worker');
SELECT ok((SELECT worker_started BETWEEN pg_postmaster_start_time() AND now() FROM quorum.status),
	'worker_started lies between server start and now');
SELECT ok(pgq_test_helpers.wait_for($$SELECT s.members_alive = (SELECT count(*) FROM quorum.nodes WHERE state = 'alive')
		  AND s.members_alive >= 1 AND s.members_suspect = 0 AND s.members_dead = 0
		  FROM quorum.status s$$),
	'the member counts agree with quorum.nodes, this node alive among them');
SELECT is((SELECT local_health FROM quorum.status), 0,
	'a lone healthy node has local health 0');

SELECT * FROM finish();
ROLLBACK;
