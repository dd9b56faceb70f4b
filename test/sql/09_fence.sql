-- test/sql/09_fence.sql: the commit fence.  The lone server (a cluster of
-- one, pg_quorum.bootstrap_expect = 1) leads and holds the write lease, so
-- writes commit; while its worker is stopped it has no lease, and a
-- transaction that wrote something cannot commit, prepare, or commit a
-- prepared transaction, with SQLSTATE 25006, while read-only ones work.
-- A statement that would write rows of a table (DML, row locks, COPY FROM)
-- is refused before it writes any WAL: it takes no transaction id, and so
-- is nextval() (13_fence_outside.sql tests the rest of its kind).  Other
-- writes (DDL) are refused at commit.
-- Once the restarted worker has elected itself again, writes commit again.
--
-- The writes run through pgq_test_helpers.remote(), each in its own
-- session and transaction, since this file's own transaction is rolled
-- back.
--
-- Expects the server and settings described in test/sql/README.md.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pg_quorum;
SELECT plan(23);

SELECT ok(pgq_test_helpers.wait_for($$SELECT leader = 'pgtap' AND NOT fenced FROM quorum.status$$, 60),
	'the lone server leads and is not fenced');
SELECT lives_ok($$SELECT pgq_test_helpers.remote('DROP TABLE IF EXISTS pgq_fence_probe; CREATE TABLE pgq_fence_probe (i int); INSERT INTO pgq_fence_probe VALUES (1); DROP SEQUENCE IF EXISTS pgq_fence_seq; CREATE SEQUENCE pgq_fence_seq')$$,
	'the leader commits a write transaction');
SELECT lives_ok($$SELECT pgq_test_helpers.remote('BEGIN; INSERT INTO pgq_fence_probe VALUES (2); PREPARE TRANSACTION ''pgq_fence_1''')$$,
	'the leader prepares a write transaction');

-- Stop the worker: it fences the server before it exits, and the
-- postmaster restarts it only after 5 s, which then campaigns again.
SELECT ok(pgq_test_helpers.sigterm(worker_pid), 'the worker is told to stop') FROM quorum.status;
SELECT ok(pgq_test_helpers.wait_for('SELECT fenced FROM quorum.status', 10),
	'without its worker the server is fenced');

SELECT throws_ok($$SELECT pgq_test_helpers.remote('INSERT INTO pgq_fence_probe VALUES (3)')$$, '25006', NULL,
	'a write transaction cannot commit on a fenced server');
SELECT throws_ok($$SELECT pgq_test_helpers.remote('BEGIN; CREATE TEMP TABLE pgq_t (i int); COMMIT')$$, '25006', NULL,
	'a transaction that wrote only a temporary table cannot commit either');
SELECT throws_ok($$SELECT pgq_test_helpers.remote('UPDATE pgq_fence_probe SET i = i')$$, '25006',
	'cannot execute UPDATE on a fenced server',
	'a write statement is refused when it starts, with the fence''s message');
SELECT lives_ok($q$SELECT pgq_test_helpers.remote($r$
	DO $do$
	BEGIN
		BEGIN
			INSERT INTO pgq_fence_probe VALUES (5);
		EXCEPTION WHEN read_only_sql_transaction THEN
			NULL;
		END;
		IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
			RAISE EXCEPTION 'the refused INSERT took transaction id %', pg_current_xact_id_if_assigned();
		END IF;
	END
	$do$
	$r$)$q$,
	'a refused INSERT took no transaction id, so it wrote no WAL');
SELECT throws_ok($$SELECT pgq_test_helpers.remote('SELECT i FROM pgq_fence_probe FOR UPDATE')$$, '25006',
	'cannot execute SELECT FOR UPDATE on a fenced server',
	'row locks are refused on a fenced server');
SELECT throws_ok($$SELECT pgq_test_helpers.remote('WITH gone AS (DELETE FROM pgq_fence_probe RETURNING i) SELECT count(*) FROM gone')$$,
	'25006', NULL, 'a data-modifying WITH is refused on a fenced server');
SELECT throws_ok($$SELECT pgq_test_helpers.remote('COPY pgq_fence_probe FROM PROGRAM ''echo 6''')$$, '25006',
	'cannot execute COPY FROM on a fenced server', 'COPY FROM is refused when it starts');
SELECT throws_ok($$SELECT pgq_test_helpers.remote('SELECT nextval(''pgq_fence_seq'')')$$, '25006',
	'cannot execute nextval() on a fenced server',
	'nextval() is refused when it starts');
SELECT throws_ok($$SELECT pgq_test_helpers.remote('CREATE TABLE pgq_fence_ddl (i int)')$$, '25006',
	'cannot commit a write transaction on a fenced server',
	'DDL cannot commit on a fenced server');
SELECT lives_ok($$SELECT pgq_test_helpers.remote('BEGIN; SELECT count(*) FROM pgq_fence_probe; COMMIT')$$,
	'a read-only transaction commits on a fenced server');
SELECT lives_ok($$SELECT pgq_test_helpers.remote('BEGIN READ ONLY; SELECT pg_is_in_recovery(); COMMIT')$$,
	'an explicitly read-only transaction commits on a fenced server');
SELECT throws_ok($$SELECT pgq_test_helpers.remote('BEGIN; INSERT INTO pgq_fence_probe VALUES (4); PREPARE TRANSACTION ''pgq_fence_2''')$$, '25006', NULL,
	'a write transaction cannot be prepared on a fenced server');
SELECT throws_ok($$SELECT pgq_test_helpers.remote('COMMIT PREPARED ''pgq_fence_1''')$$, '25006', NULL,
	'a prepared write transaction cannot be committed on a fenced server');
SELECT is((SELECT count(*)::int FROM pg_prepared_xacts WHERE gid = 'pgq_fence_1'), 1,
	'the refused COMMIT PREPARED left the prepared transaction in place');

SELECT ok(pgq_test_helpers.wait_for($$SELECT leader = 'pgtap' AND NOT fenced FROM quorum.status$$, 60),
	'the restarted worker elects this server again and the fence opens');
SELECT lives_ok($$SELECT pgq_test_helpers.remote('COMMIT PREPARED ''pgq_fence_1''')$$,
	'the prepared transaction commits once the server leads again');
SELECT is(pgq_test_helpers.remote_value('SELECT array_agg(i ORDER BY i) FROM pgq_fence_probe'),
	'{1,2}', 'exactly the rows of the transactions that committed are there');
SELECT lives_ok($$SELECT pgq_test_helpers.remote('DROP TABLE pgq_fence_probe; DROP SEQUENCE pgq_fence_seq')$$,
	'the probe table is dropped');

SELECT * FROM finish();
ROLLBACK;
