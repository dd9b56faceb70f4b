-- test/sql/08_worker_restart.sql: the worker restarts after it is stopped, with a
-- higher incarnation read back from its durable state file; meanwhile the
-- views say that no worker runs.
--
-- Expects the server and settings described in test/sql/README.md.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pg_quorum;
SELECT plan(8);

SELECT ok(pgq_test_helpers.wait_for('SELECT worker_running FROM quorum.status'),
	'the worker is running');

CREATE TEMP TABLE before AS SELECT worker_pid, incarnation FROM quorum.status;
SELECT ok(pgq_test_helpers.sigterm((SELECT worker_pid FROM before)), 'the worker is sent SIGTERM');

SELECT ok(pgq_test_helpers.wait_for($$SELECT NOT worker_running AND worker_pid IS NULL AND incarnation IS NULL
		  AND worker_started IS NULL AND members_alive = 0 AND node_name = 'pgtap'
		  FROM quorum.status$$, 10),
	'while it is down, quorum.status says so, with nulls and zero counts');
SELECT ok(pgq_test_helpers.wait_for($$SELECT (SELECT count(*) FROM quorum.nodes) = 0
		  OR (SELECT worker_running FROM quorum.status)$$, 10),
	'while it is down, quorum.nodes is empty');
SELECT ok(pgq_test_helpers.wait_for($$SELECT s.worker_running AND s.worker_pid <> b.worker_pid
		  FROM quorum.status s, before b$$, 30),
	'the postmaster restarts the worker');
SELECT ok(pgq_test_helpers.wait_for($$SELECT s.incarnation > b.incarnation FROM quorum.status s, before b$$, 10),
	'the restarted node has a higher incarnation than before');

SELECT is(substring(pg_read_file('pg_quorum.state') from E'\nnode_name=([^\n]*)\n'), 'pgtap',
	'the state file in the data directory names this node');
SELECT is(substring(pg_read_file('pg_quorum.state') from E'\nincarnation=([0-9]+)\n')::bigint,
	(SELECT incarnation FROM quorum.status),
	'the state file holds the incarnation this run started at');

SELECT * FROM finish();
ROLLBACK;
