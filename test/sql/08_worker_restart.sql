-- test/sql/08_worker_restart.sql: the worker restarts after it is stopped, with a
-- higher incarnation read back from its durable state file; meanwhile the
-- views say that no worker runs.
--
-- Expects the server and settings described in test/sql/README.md.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pg_quorum;
-- Poll a boolean query until it is true or timeout_s seconds have passed.
CREATE FUNCTION pg_temp.wait_for(query text, timeout_s double precision DEFAULT 30)
RETURNS boolean LANGUAGE plpgsql AS $fn$
DECLARE
	deadline timestamptz := clock_timestamp() + make_interval(secs => timeout_s);
	result boolean;
BEGIN
	LOOP
		EXECUTE query INTO result;
		IF result THEN
			RETURN true;
		END IF;
		IF clock_timestamp() > deadline THEN
			RETURN false;
		END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
END
$fn$;
SELECT plan(8);

SELECT ok(pg_temp.wait_for('SELECT worker_running FROM quorum.status'),
	'the worker is running');

CREATE TEMP TABLE before AS SELECT worker_pid, incarnation FROM quorum.status;
-- The worker has no database connection, so pg_terminate_backend() does
-- not know it: signal it the way the postmaster does at shutdown.
CREATE FUNCTION pg_temp.sigterm(pid int) RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN
	-- The program reads its input so that COPY never hits a closed pipe.
	EXECUTE format($c$COPY (SELECT 1) TO PROGRAM 'cat >/dev/null; kill -TERM %s'$c$, pid);
	RETURN true;
END
$fn$;
SELECT ok(pg_temp.sigterm((SELECT worker_pid FROM before)), 'the worker is sent SIGTERM');

SELECT ok(pg_temp.wait_for($$SELECT NOT worker_running AND worker_pid IS NULL AND incarnation IS NULL
		  AND worker_started IS NULL AND members_alive = 0 AND node_name = 'pgtap'
		  FROM quorum.status$$, 10),
	'while it is down, quorum.status says so, with nulls and zero counts');
SELECT ok(pg_temp.wait_for($$SELECT (SELECT count(*) FROM quorum.nodes) = 0
		  OR (SELECT worker_running FROM quorum.status)$$, 10),
	'while it is down, quorum.nodes is empty');
SELECT ok(pg_temp.wait_for($$SELECT s.worker_running AND s.worker_pid <> b.worker_pid
		  FROM quorum.status s, before b$$, 30),
	'the postmaster restarts the worker');
SELECT ok(pg_temp.wait_for($$SELECT s.incarnation > b.incarnation FROM quorum.status s, before b$$, 10),
	'the restarted node has a higher incarnation than before');

SELECT is(substring(pg_read_file('pg_quorum.state') from E'\nnode_name=([^\n]*)\n'), 'pgtap',
	'the state file in the data directory names this node');
SELECT is(substring(pg_read_file('pg_quorum.state') from E'\nincarnation=([0-9]+)\n')::bigint,
	(SELECT incarnation FROM quorum.status),
	'the state file holds the incarnation this run started at');

SELECT * FROM finish();
ROLLBACK;
