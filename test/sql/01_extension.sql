-- test/sql/01_extension.sql: the extension, its schema and functions, and
-- who may call them.
--
-- Expects the server and settings described in test/sql/README.md.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pg_quorum;
SELECT plan(27);

SELECT has_extension('pg_quorum', 'pg_quorum is installed');
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'pg_quorum'),
	'0.2', 'its version is the control file''s default_version');
SELECT ok(current_setting('shared_preload_libraries') ~ '(^|[ ,])pg_quorum($|[ ,])',
	'pg_quorum is in shared_preload_libraries');
SELECT has_schema('quorum', 'schema quorum exists');
SELECT is((SELECT count(*)::int FROM pg_depend
			WHERE classid = 'pg_namespace'::regclass
			  AND objid = 'quorum'::regnamespace
			  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_quorum')
			  AND deptype = 'e'),
	1, 'schema quorum belongs to the extension');

SELECT has_function('quorum', 'nodes_internal', ARRAY[]::name[]);
SELECT has_function('quorum', 'status_internal', ARRAY[]::name[]);
SELECT has_function('quorum', 'events_internal', ARRAY[]::name[]);
SELECT has_function('quorum', 'health_internal', ARRAY[]::name[]);
SELECT has_function('quorum', 'join', ARRAY['text']);
SELECT function_returns('quorum', 'join', ARRAY['text'], 'void');

SELECT set_eq(
	$$SELECT c.relname::text FROM pg_class c
	   WHERE c.relnamespace = 'quorum'::regnamespace AND c.relkind = 'v'$$,
	ARRAY['nodes', 'status', 'events', 'health'],
	'the schema has exactly the four views');

-- Reading is for monitoring roles only; acting is for superusers only.
SELECT ok(has_schema_privilege('pg_monitor', 'quorum', 'USAGE'),
	'pg_monitor may use schema quorum');
SELECT ok(has_function_privilege('pg_monitor', 'quorum.nodes_internal()', 'EXECUTE'),
	'pg_monitor may execute quorum.nodes_internal()');
SELECT ok(has_function_privilege('pg_monitor', 'quorum.status_internal()', 'EXECUTE'),
	'pg_monitor may execute quorum.status_internal()');
SELECT ok(has_function_privilege('pg_monitor', 'quorum.events_internal()', 'EXECUTE'),
	'pg_monitor may execute quorum.events_internal()');
SELECT ok(has_function_privilege('pg_monitor', 'quorum.health_internal()', 'EXECUTE'),
	'pg_monitor may execute quorum.health_internal()');
SELECT ok(NOT has_function_privilege('public', 'quorum.nodes_internal()', 'EXECUTE'),
	'PUBLIC may not execute quorum.nodes_internal()');
SELECT ok(NOT has_function_privilege('public', 'quorum.status_internal()', 'EXECUTE'),
	'PUBLIC may not execute quorum.status_internal()');
SELECT ok(NOT has_function_privilege('public', 'quorum.events_internal()', 'EXECUTE'),
	'PUBLIC may not execute quorum.events_internal()');
SELECT ok(NOT has_function_privilege('public', 'quorum.health_internal()', 'EXECUTE'),
	'PUBLIC may not execute quorum.health_internal()');
SELECT ok(NOT has_function_privilege('public', 'quorum.join(text)', 'EXECUTE'),
	'PUBLIC may not execute quorum.join()');
SELECT ok(NOT has_function_privilege('pg_monitor', 'quorum.join(text)', 'EXECUTE'),
	'pg_monitor may not execute quorum.join()');

-- The extension can be dropped, taking its schema along, and recreated.
DROP EXTENSION pg_quorum;
SELECT hasnt_schema('quorum', 'DROP EXTENSION removes schema quorum');
SELECT lives_ok('CREATE EXTENSION pg_quorum', 'the extension can be created again');
SELECT has_schema('quorum', 'schema quorum exists again');

-- A second CREATE EXTENSION fails cleanly rather than half-creating objects.
SELECT throws_ok('CREATE EXTENSION pg_quorum', '42710', NULL,
	'creating the extension twice fails with duplicate_object');

SELECT * FROM finish();
ROLLBACK;
