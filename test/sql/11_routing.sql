-- test/sql/11_routing.sql: quorum.connection_string() and quorum.dot().
--
-- Expects the server and settings described in test/sql/README.md: one
-- member, "pgtap", which leads itself and whose pg_quorum.conninfo names
-- its Unix socket directory and port.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pg_quorum;
CREATE ROLE pgq_test_monitor IN ROLE pg_monitor;
CREATE ROLE pgq_test_nobody;
SELECT plan(26);

SELECT ok(pgq_test_helpers.wait_for(
	$$SELECT leader = 'pgtap' FROM quorum.status$$),
	'the single member leads');

-- connection_string --------------------------------------------------------
SELECT has_function('quorum', 'connection_string', ARRAY['text', 'text', 'boolean']);
SELECT function_returns('quorum', 'connection_string', ARRAY['text', 'text', 'boolean'], 'text');

-- The host is the socket directory of pg_quorum.conninfo, percent-encoded.
SELECT is(quorum.connection_string('pgq_test', 'app'),
	format('postgresql://%s:%s/pgq_test?user=app&target_session_attrs=read-write',
		replace(substring(current_setting('pg_quorum.conninfo') FROM 'host=(\S+)'), '/', '%2F'),
		substring(current_setting('pg_quorum.conninfo') FROM 'port=(\d+)')),
	'a read-write URI of the member''s host and port, with the caller''s database and user');
SELECT is(quorum.connection_string('pgq_test', 'app', false),
	replace(quorum.connection_string('pgq_test', 'app'),
		'target_session_attrs=read-write', 'target_session_attrs=prefer-standby'),
	'read_write false asks for prefer-standby');
SELECT is(quorum.connection_string('my db', 'o''neil@x'),
	replace(replace(quorum.connection_string('pgq_test', 'app'),
		'/pgq_test?', '/my%20db?'), 'user=app', 'user=o%27neil%40x'),
	'the database and user are percent-encoded');
SELECT ok(quorum.connection_string('pgq_test', 'app') !~ '(password|sslmode|application_name|host=)',
	'nothing but hosts and ports is taken from the conninfo');
SELECT is(quorum.connection_string(NULL, 'app'), NULL, 'a null database gives null');

SELECT throws_ok($$SELECT quorum.connection_string('', 'app')$$, '22023', NULL,
	'an empty database name is refused with invalid_parameter_value');
SELECT throws_ok($$SELECT quorum.connection_string('pgq_test', '')$$, '22023', NULL,
	'an empty user name is refused with invalid_parameter_value');
SELECT throws_ok(format('SELECT quorum.connection_string(%L, %L)', repeat('d', 64), 'app'),
	'42622', NULL, 'a database name longer than a name is refused with name_too_long');
SELECT throws_ok(format('SELECT quorum.connection_string(%L, %L)', 'db', repeat('u', 100)),
	'42622', 'user name is too long', 'the message does not echo the long name');

-- dot ---------------------------------------------------------------------
SELECT has_function('quorum', 'dot', ARRAY[]::name[]);
SELECT ok(quorum.dot() ~ '^digraph pg_quorum \{\n', 'dot() is a digraph named pg_quorum');
SELECT ok(quorum.dot() ~ '\n\}\n$', 'it ends with a closing brace');
SELECT is(length(quorum.dot()) - length(replace(quorum.dot(), '{', '')),
	length(quorum.dot()) - length(replace(quorum.dot(), '}', '')),
	'its braces balance');
SELECT is((length(replace(quorum.dot(), '\"', '')) - length(replace(replace(quorum.dot(), '\"', ''), '"', ''))) % 2,
	0, 'its double quotes balance');
SELECT ok(quorum.dot() ~ 'label="pg_quorum cluster \\"pg_quorum\\", term \d+, leader pgtap, as seen by pgtap"',
	'the graph title names the cluster, term and leader');
SELECT ok(quorum.dot() ~ E'\n\t"pgtap" \\[label="pgtap\\\\nprimary, alive\\\\nleader, voter\\\\ntimeline 1, lsn [0-9A-F]+/[0-9A-F]+"',
	'the member is a node labelled with its name, role, state, leader, voter and WAL position');
SELECT ok(quorum.dot() ~ '"pgtap" \[[^]]*peripheries=2', 'the leader has a double border');
SELECT ok(quorum.dot() ~ '"pgtap" \[[^]]*style="filled,bold"', 'a voter is drawn bold');
SELECT ok(quorum.dot() !~ '->', 'a cluster of one has no replication edge');
SELECT ok(strpos(quorum.dot(), E'\n\t"pgtap" [label="pgtap\n') = 0,
	'line breaks inside labels are DOT''s \n escapes, not newlines');

-- privileges -------------------------------------------------------------
SELECT is(pgq_test_helpers.sqlstate_as('pgq_test_monitor', $$SELECT quorum.connection_string('d', 'u')$$),
	'00000', 'a member of pg_monitor may call connection_string()');
SELECT is(pgq_test_helpers.sqlstate_as('pgq_test_nobody', $$SELECT quorum.dot()$$),
	'42501', 'a role without pg_monitor may not call dot()');
SELECT is(pgq_test_helpers.sqlstate_as('pgq_test_nobody', $$SELECT quorum.connection_string('d', 'u')$$),
	'42501', 'a role without pg_monitor may not call connection_string()');

SELECT * FROM finish();
ROLLBACK;
