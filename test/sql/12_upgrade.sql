-- test/sql/12_upgrade.sql: installing 0.1 and updating it step by step gives
-- what a fresh install of the default version gives (pg_cron's way).
--
-- Expects the server and settings described in test/sql/README.md.
BEGIN;
SELECT plan(8);

-- What the extension owns, with signatures, grants and C symbols.
CREATE FUNCTION pg_temp.objects() RETURNS SETOF text LANGUAGE sql AS $$
	SELECT format('%s %s(%s) -> %s %s %s %s', p.prokind, p.proname,
			pg_get_function_arguments(p.oid), pg_get_function_result(p.oid),
			p.prosrc, p.provolatile, coalesce(p.proacl::text, ''))
	  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
	 WHERE n.nspname = 'quorum'
	UNION ALL
	SELECT format('view %s %s %s', c.relname, pg_get_viewdef(c.oid), coalesce(c.relacl::text, ''))
	  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	 WHERE n.nspname = 'quorum'
	UNION ALL
	SELECT format('schema %s', coalesce(n.nspacl::text, ''))
	  FROM pg_namespace n WHERE n.nspname = 'quorum'
	ORDER BY 1
$$;

DROP EXTENSION IF EXISTS pg_quorum;
CREATE EXTENSION pg_quorum;
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'pg_quorum'),
	'0.2', 'CREATE EXTENSION installs 0.2');
CREATE TEMP TABLE fresh AS SELECT * FROM pg_temp.objects() AS o;
SELECT ok((SELECT count(*) FROM fresh) > 10, 'a fresh install has its objects');

DROP EXTENSION pg_quorum;
CREATE EXTENSION pg_quorum VERSION '0.1';
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'pg_quorum'),
	'0.1', 'version 0.1 can still be installed');
SELECT hasnt_function('quorum', 'connection_string', ARRAY['text', 'text', 'boolean'],
	'0.1 has no connection_string()');
SELECT lives_ok($$ALTER EXTENSION pg_quorum UPDATE TO '0.2'$$, 'ALTER EXTENSION UPDATE from 0.1 to 0.2 works');
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'pg_quorum'),
	'0.2', 'the extension is at 0.2');
SELECT set_eq('SELECT * FROM pg_temp.objects()', 'SELECT * FROM fresh',
	'the updated extension has exactly the objects, grants and symbols of a fresh install');
SELECT is((SELECT count(*)::int FROM pg_depend
			WHERE refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_quorum')
			  AND classid = 'pg_proc'::regclass AND deptype = 'e'
			  AND objid IN ('quorum.connection_string(text, text, boolean)'::regprocedure,
							'quorum.dot()'::regprocedure)),
	2, 'the new functions belong to the extension');

SELECT * FROM finish();
ROLLBACK;
