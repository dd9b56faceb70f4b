-- test/sql/05_events.sql: quorum.events, recent membership events, newest last.
--
-- Expects the server and settings described in test/sql/README.md.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pg_quorum;
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
SELECT is(pgq_test_helpers.sqlstate_as('pgq_test_monitor', 'SELECT * FROM quorum.events'),
	'00000', 'a member of pg_monitor can read quorum.events');
SELECT is(pgq_test_helpers.sqlstate_as('pgq_test_nobody', 'SELECT * FROM quorum.events'),
	'42501', 'a role without pg_monitor cannot read quorum.events');
SELECT ok(NOT has_table_privilege('public', 'quorum.events', 'SELECT'),
	'PUBLIC has no SELECT on quorum.events');

SELECT ok(pgq_test_helpers.wait_for('SELECT worker_running FROM quorum.status'),
	'the worker is running');
SELECT ok((SELECT coalesce(bool_and(
				CASE WHEN event IN ('alive', 'suspect', 'dead', 'left', 'updated', 'reaped')
					 THEN node <> '' AND incarnation IS NOT NULL AND term IS NULL
					 ELSE event IN ('leader', 'lease_gained', 'lease_lost', 'paused', 'resumed',
									'voter_added', 'voter_removed', 'switchover', 'promoted',
									'following', 'deposed', 'degraded', 'synchronous', 'diverged')
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
