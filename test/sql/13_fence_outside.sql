-- test/sql/13_fence_outside.sql: statements whose effects outlive their
-- transaction are refused on a fenced primary before they start (issue 9,
-- H5).  A refused commit cannot undo them: DROP DATABASE would have
-- marked the database invalid and removed its files, a sequence would have
-- logged values the transaction consumed.  While the worker is stopped the
-- lone server is fenced; then each is refused with SQLSTATE 25006 and the
-- fence's message, and changes nothing: the database stays connectable,
-- the sequence where it was.  Their temporary counterparts still work, and
-- once the server leads again the same statements succeed.
--
-- Expects the server and settings described in test/sql/README.md.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pg_quorum;
SELECT plan(26);

SELECT ok(pgq_test_helpers.wait_for($$SELECT leader = 'pgtap' AND NOT fenced FROM quorum.status$$, 60),
	'the lone server leads and is not fenced');
SELECT lives_ok($$SELECT pgq_test_helpers.remote('DROP DATABASE IF EXISTS pgq_fence_db')$$,
	'no database of an earlier run is left');
SELECT lives_ok($$SELECT pgq_test_helpers.remote('CREATE DATABASE pgq_fence_db')$$,
	'the leader creates a database');
SELECT lives_ok($$SELECT pgq_test_helpers.remote('CREATE TABLE kept AS SELECT generate_series(1, 100) AS i', 'pgq_fence_db')$$,
	'with a table of 100 rows');
SELECT lives_ok($$SELECT pgq_test_helpers.remote('DROP SEQUENCE IF EXISTS pgq_outside_seq; CREATE SEQUENCE pgq_outside_seq')$$,
	'and a sequence');
SELECT is(pgq_test_helpers.remote_value('SELECT nextval(''pgq_outside_seq'')'), '1',
	'that has handed out a value');
CREATE TEMP TABLE seq_before AS
	SELECT pgq_test_helpers.remote_value('SELECT last_value || '' '' || log_cnt FROM pgq_outside_seq') AS v;

SELECT ok(pgq_test_helpers.sigterm(worker_pid), 'the worker is told to stop') FROM quorum.status;
SELECT ok(pgq_test_helpers.wait_for('SELECT fenced FROM quorum.status', 10),
	'without its worker the server is fenced');

SELECT throws_ok($$SELECT pgq_test_helpers.remote('DROP DATABASE pgq_fence_db')$$, '25006',
	'cannot execute DROP DATABASE on a fenced server',
	'DROP DATABASE is refused before it starts');
SELECT is(pgq_test_helpers.remote_value('SELECT count(*) FROM kept', 'pgq_fence_db'), '100',
	'the database it would have dropped is still complete and connectable');
SELECT throws_ok($$SELECT pgq_test_helpers.remote('CREATE DATABASE pgq_fence_db2')$$, '25006',
	'cannot execute CREATE DATABASE on a fenced server', 'CREATE DATABASE is refused');
SELECT throws_ok($$SELECT pgq_test_helpers.remote('ALTER DATABASE pgq_fence_db SET TABLESPACE pg_default')$$, '25006',
	'cannot execute ALTER DATABASE SET TABLESPACE on a fenced server',
	'ALTER DATABASE SET TABLESPACE is refused');
SELECT throws_ok($$SELECT pgq_test_helpers.remote('CREATE TABLESPACE pgq_fence_ts LOCATION ''/nonexistent''')$$, '25006',
	'cannot execute CREATE TABLESPACE on a fenced server', 'CREATE TABLESPACE is refused');
SELECT throws_ok($$SELECT pgq_test_helpers.remote('VACUUM kept', 'pgq_fence_db')$$, '25006',
	'cannot execute VACUUM on a fenced server', 'VACUUM is refused');
SELECT throws_ok($$SELECT pgq_test_helpers.remote('ANALYZE')$$, '25006',
	'cannot execute ANALYZE on a fenced server', 'a database-wide ANALYZE is refused');
SELECT throws_ok($$SELECT pgq_test_helpers.remote('ALTER TABLE kept SET TABLESPACE pg_default', 'pgq_fence_db')$$, '25006',
	'cannot execute ALTER TABLE SET TABLESPACE on a fenced server',
	'ALTER TABLE SET TABLESPACE is refused');
SELECT throws_ok($$SELECT pgq_test_helpers.remote('SELECT nextval(''pgq_outside_seq'')')$$, '25006',
	'cannot execute nextval() on a fenced server', 'nextval() of a sequence is refused when it starts');
SELECT throws_ok($$SELECT pgq_test_helpers.remote('SELECT setval(''pgq_outside_seq'', 1000)')$$, '25006',
	'cannot execute setval() on a fenced server', 'setval() is refused');
SELECT throws_ok($$SELECT pgq_test_helpers.remote('DO $do$ BEGIN PERFORM nextval(''pgq_outside_seq''); END $do$')$$, '25006',
	'cannot execute nextval() on a fenced server', 'nextval() from PL/pgSQL is refused');
SELECT throws_ok($$SELECT pgq_test_helpers.remote('SELECT pg_logical_emit_message(false, ''pgq'', ''fenced'')')$$, '25006',
	'cannot execute pg_logical_emit_message() on a fenced server',
	'a non-transactional logical message is refused');
SELECT is(pgq_test_helpers.remote_value('SELECT last_value || '' '' || log_cnt FROM pgq_outside_seq'), v,
	'the sequence did not move') FROM seq_before;

-- Temporary objects stay usable in a read-only session.
CREATE TEMP SEQUENCE pgq_outside_tmp_seq;
CREATE TEMP TABLE pgq_outside_tmp (i int);
SELECT is(nextval('pgq_outside_tmp_seq'), 1::bigint, 'nextval() of a temporary sequence works');
SELECT lives_ok('ANALYZE pgq_outside_tmp', 'ANALYZE of a temporary table works');

SELECT ok(pgq_test_helpers.wait_for($$SELECT leader = 'pgtap' AND NOT fenced FROM quorum.status$$, 60),
	'the restarted worker elects this server again and the fence opens');
SELECT is(pgq_test_helpers.remote_value('SELECT nextval(''pgq_outside_seq'')'), '2',
	'the sequence hands out the value after the last one it gave');
SELECT lives_ok($$SELECT pgq_test_helpers.remote('DROP DATABASE pgq_fence_db'); SELECT pgq_test_helpers.remote('DROP SEQUENCE pgq_outside_seq')$$,
	'DROP DATABASE works on the leader');

SELECT * FROM finish();
ROLLBACK;
