-- test/sql/02_settings.sql: the pg_quorum.* settings.
--
-- Expects the server and settings described in test/sql/README.md.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pg_quorum;
SELECT plan(12);

SELECT results_eq(
	$$SELECT name::text, context::text, vartype::text, coalesce(unit, '')::text,
			 boot_val::text
		FROM pg_settings WHERE name LIKE 'pg\_quorum.%' ORDER BY name$$,
	$$VALUES ('pg_quorum.allow_plaintext', 'postmaster', 'bool', '', 'off'),
			 ('pg_quorum.cluster', 'postmaster', 'string', '', 'pg_quorum'),
			 ('pg_quorum.conninfo', 'sighup', 'string', '', ''),
			 ('pg_quorum.indirect_probes', 'postmaster', 'integer', '', '3'),
			 ('pg_quorum.key_file', 'postmaster', 'string', '', ''),
			 ('pg_quorum.listen', 'postmaster', 'string', '', ''),
			 ('pg_quorum.members_max', 'postmaster', 'integer', '', '64'),
			 ('pg_quorum.node_name', 'postmaster', 'string', '', ''),
			 ('pg_quorum.peers', 'postmaster', 'string', '', ''),
			 ('pg_quorum.priority', 'sighup', 'integer', '', '100'),
			 ('pg_quorum.probe_interval', 'postmaster', 'integer', 'ms', '200'),
			 ('pg_quorum.probe_timeout', 'postmaster', 'integer', 'ms', '100'),
			 ('pg_quorum.pushpull_interval', 'postmaster', 'integer', 'ms', '10000'),
			 ('pg_quorum.suspicion_mult', 'postmaster', 'integer', '', '4'),
			 ('pg_quorum.tags', 'sighup', 'string', '', '')$$,
	'every setting exists with its context, type, unit and default');

SELECT is(current_setting('pg_quorum.node_name'), 'pgtap',
	'pg_quorum.node_name is the configured name');
SELECT is(current_setting('pg_quorum.key_file'), 'quorum.key',
	'pg_quorum.key_file is the configured file');
SELECT is(current_setting('pg_quorum.allow_plaintext'), 'off',
	'plaintext gossip is off by default');
SELECT ok(current_setting('pg_quorum.listen') ~ '^127\.0\.0\.1:[0-9]+$',
	'pg_quorum.listen is an address on 127.0.0.1');
SELECT is(current_setting('pg_quorum.probe_interval'), '200ms',
	'timings are shown with their unit');

-- The prefix is reserved: a misspelt setting is an error, not a placeholder.
SELECT throws_ok($$SET pg_quorum.no_such_setting = 'x'$$, '42602', NULL,
	'an unknown pg_quorum.* setting cannot be set');
SELECT throws_ok($$SET pg_quorum.listen = '127.0.0.1:1'$$, '55P02', NULL,
	'pg_quorum.listen cannot be changed in a session');
SELECT throws_ok($$SET pg_quorum.peers = ''$$, '55P02', NULL,
	'pg_quorum.peers cannot be changed in a session');
SELECT throws_ok($$SET pg_quorum.priority = 5$$, '55P02', NULL,
	'pg_quorum.priority is changed by reloading, not in a session');
SELECT throws_ok($$SET pg_quorum.probe_interval = '1s'$$, '55P02', NULL,
	'pg_quorum.probe_interval cannot be changed in a session');
SELECT throws_ok($$SET pg_quorum.key_file = 'other.key'$$, '55P02', NULL,
	'pg_quorum.key_file cannot be changed in a session');

SELECT * FROM finish();
ROLLBACK;
