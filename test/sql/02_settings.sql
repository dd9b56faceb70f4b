-- test/sql/02_settings.sql: the pg_quorum.* settings.
--
-- Expects the server and settings described in test/sql/README.md.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pg_quorum;
SELECT plan(18);

SELECT results_eq(
	$$SELECT name::text, context::text, vartype::text, coalesce(unit, '')::text,
			 boot_val::text
		FROM pg_settings WHERE name LIKE 'pg\_quorum.%' ORDER BY name$$,
	$$VALUES ('pg_quorum.allow_plaintext', 'postmaster', 'bool', '', 'off'),
			 ('pg_quorum.bootstrap_expect', 'postmaster', 'integer', '', '0'),
			 ('pg_quorum.cluster', 'postmaster', 'string', '', 'pg_quorum'),
			 ('pg_quorum.command_timeout', 'superuser', 'integer', 'ms', '30000'),
			 ('pg_quorum.conninfo', 'sighup', 'string', '', ''),
			 ('pg_quorum.election_timeout', 'postmaster', 'integer', 'ms', '1200'),
			 ('pg_quorum.failover', 'postmaster', 'bool', '', 'on'),
			 ('pg_quorum.heartbeat_interval', 'postmaster', 'integer', 'ms', '100'),
			 ('pg_quorum.http_auth_file', 'sighup', 'string', '', ''),
			 ('pg_quorum.http_listen', 'postmaster', 'string', '', ''),
			 ('pg_quorum.http_ssl_cert_file', 'postmaster', 'string', '', ''),
			 ('pg_quorum.http_ssl_key_file', 'postmaster', 'string', '', ''),
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
			 ('pg_quorum.replication_slots', 'sighup', 'bool', '', 'on'),
			 ('pg_quorum.stop_deposed_primary', 'sighup', 'bool', '', 'on'),
			 ('pg_quorum.stop_diverged_standby', 'sighup', 'bool', '', 'on'),
			 ('pg_quorum.suspicion_mult', 'postmaster', 'integer', '', '4'),
			 ('pg_quorum.switchover_lag_max', 'sighup', 'integer', 'kB', '16384'),
			 ('pg_quorum.synchronous', 'sighup', 'bool', '', 'off'),
			 ('pg_quorum.tags', 'sighup', 'string', '', ''),
			 ('pg_quorum.test_hold_facts', 'sighup', 'bool', '', 'off'),
			 ('pg_quorum.voter', 'postmaster', 'bool', '', 'on'),
			 ('pg_quorum.voters', 'postmaster', 'string', '', '')$$,
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
SELECT throws_ok($$SET pg_quorum.synchronous = on$$, '55P02', NULL,
	'pg_quorum.synchronous is changed by reloading, not in a session');
SELECT is(current_setting('pg_quorum.replication_slots'), 'on',
	'replication slots are managed unless turned off');
SELECT throws_ok($$SET pg_quorum.replication_slots = off$$, '55P02', NULL,
	'pg_quorum.replication_slots is changed by reloading, not in a session');
SELECT throws_ok($$SET pg_quorum.bootstrap_expect = 3$$, '55P02', NULL,
	'pg_quorum.bootstrap_expect cannot be changed in a session');
SELECT lives_ok($$SET LOCAL pg_quorum.command_timeout = '2min'$$,
	'a superuser may set pg_quorum.command_timeout in a session');
SELECT throws_ok($$SET pg_quorum.command_timeout = '50ms'$$, '22023', NULL,
	'pg_quorum.command_timeout below 100ms is rejected');

SELECT * FROM finish();
ROLLBACK;
