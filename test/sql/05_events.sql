-- test/sql/05_events.sql: quorum.events, recent membership events, newest last.
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
-- The SQLSTATE that query raises when run as role_name ('00000' if none).
CREATE FUNCTION pg_temp.sqlstate_as(role_name name, query text)
RETURNS text LANGUAGE plpgsql AS $fn$
BEGIN
	EXECUTE format('SET LOCAL ROLE %I', role_name);
	BEGIN
		EXECUTE query;
	EXCEPTION WHEN OTHERS THEN
		RESET ROLE;
		RETURN SQLSTATE;
	END;
	RESET ROLE;
	RETURN '00000';
END
$fn$;
CREATE ROLE pgq_test_monitor IN ROLE pg_monitor;
CREATE ROLE pgq_test_nobody;
SELECT plan(10);

SELECT has_view('quorum', 'events', 'view quorum.events exists');
SELECT columns_are('quorum', 'events', ARRAY['at', 'event', 'node', 'incarnation', 'term', 'detail']);
SELECT results_eq(
	$$SELECT attname::text COLLATE "default", format_type(atttypid, atttypmod) COLLATE "default"
		FROM pg_attribute
	   WHERE attrelid = 'quorum.events'::regclass AND attnum > 0 AND NOT attisdropped
	   ORDER BY attnum$$,
	$$VALUES ('at', 'timestamp with time zone'),
			 ('event', 'text'),
			 ('node', 'text'),
			 ('incarnation', 'bigint'),
			 ('term', 'bigint'),
			 ('detail', 'text')$$,
	'quorum.events has its columns in order, with their types');
SELECT is(pg_temp.sqlstate_as('pgq_test_monitor', 'SELECT * FROM quorum.events'),
	'00000', 'a member of pg_monitor can read quorum.events');
SELECT is(pg_temp.sqlstate_as('pgq_test_nobody', 'SELECT * FROM quorum.events'),
	'42501', 'a role without pg_monitor cannot read quorum.events');
SELECT ok(NOT has_table_privilege('public', 'quorum.events', 'SELECT'),
	'PUBLIC has no SELECT on quorum.events');

SELECT ok(pg_temp.wait_for('SELECT worker_running FROM quorum.status'),
	'the worker is running');
SELECT ok((SELECT coalesce(bool_and(
				CASE WHEN event IN ('alive', 'suspect', 'dead', 'left', 'updated', 'reaped')
					 THEN node <> '' AND incarnation IS NOT NULL AND term IS NULL
					 ELSE event IN ('leader', 'lease_gained', 'lease_lost', 'paused', 'resumed',
									'voter_added', 'voter_removed', 'switchover', 'promoted',
									'following', 'deposed', 'degraded', 'synchronous')
						  AND incarnation IS NULL AND term IS NOT NULL END
				AND at <= now()), true)
		  FROM quorum.events),
	'every event has a known kind, a time in the past, and an incarnation (membership) or a term (election)');
SELECT ok((SELECT coalesce(bool_and(at >= prev), true)
		  FROM (SELECT at, lag(at) OVER () AS prev FROM quorum.events) e
		  WHERE prev IS NOT NULL),
	'events come oldest first, newest last');
SELECT ok((SELECT count(*) <= 256 FROM quorum.events), 'at most 256 events are kept');

SELECT * FROM finish();
ROLLBACK;
