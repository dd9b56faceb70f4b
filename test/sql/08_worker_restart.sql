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

-- One observation of the down period, polled until it comes: quorum.status
-- read on both sides of quorum.nodes, so that the member count belongs to
-- a moment without a worker (the postmaster restarts it 5 s later).
CREATE FUNCTION pg_temp.observe_down(timeout_s double precision)
RETURNS TABLE (status_down boolean, nodes int) LANGUAGE plpgsql AS $fn$
DECLARE
	deadline timestamptz := clock_timestamp() + make_interval(secs => timeout_s);
	before_down boolean;
	after_down boolean;
BEGIN
	LOOP
		SELECT NOT worker_running INTO before_down FROM quorum.status;
		SELECT count(*)::int INTO nodes FROM quorum.nodes;
		SELECT NOT worker_running AND worker_pid IS NULL AND incarnation IS NULL
			   AND worker_started IS NULL AND members_alive = 0 AND node_name = 'pgtap'
		  INTO status_down FROM quorum.status;
		SELECT NOT worker_running INTO after_down FROM quorum.status;
		IF before_down AND after_down THEN
			RETURN NEXT;
			RETURN;
		END IF;
		IF clock_timestamp() > deadline THEN
			RETURN;
		END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
END
$fn$;
CREATE TEMP TABLE down AS SELECT * FROM pg_temp.observe_down(10);

SELECT is((SELECT status_down FROM down), true,
	'while it is down, quorum.status says so, with nulls and zero counts');
SELECT is((SELECT nodes FROM down), 0,
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
