-- test/sql/10_failover.sql: the election's status columns and the functions
-- that act on the election: quorum.failover(), pause(), resume(), forget(),
-- add_voter().
-- On a cluster of one only the refusals and pause/resume can be exercised;
-- switchovers between servers are tested in test/cluster.
--
-- Expects the server and settings described in test/sql/README.md.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pg_quorum;
CREATE ROLE pgq_test_monitor IN ROLE pg_monitor;
SELECT plan(52);

-- The objects and who may call them.
SELECT has_function('quorum', 'failover', ARRAY['text']);
SELECT function_returns('quorum', 'failover', ARRAY['text'], 'text');
SELECT has_function('quorum', 'pause', ARRAY[]::name[]);
SELECT function_returns('quorum', 'pause', ARRAY[]::name[], 'void');
SELECT has_function('quorum', 'resume', ARRAY[]::name[]);
SELECT function_returns('quorum', 'resume', ARRAY[]::name[], 'void');
SELECT has_function('quorum', 'forget', ARRAY['text']);
SELECT function_returns('quorum', 'forget', ARRAY['text'], 'void');
SELECT has_function('quorum', 'add_voter', ARRAY['text']);
SELECT function_returns('quorum', 'add_voter', ARRAY['text'], 'void');
SELECT is((SELECT pg_get_expr(proargdefaults, 0) FROM pg_proc
			WHERE oid = 'quorum.failover(text)'::regprocedure),
	'NULL::text', 'quorum.failover''s target defaults to NULL');
SELECT ok(NOT has_function_privilege('public', 'quorum.failover(text)', 'EXECUTE'),
	'PUBLIC may not execute quorum.failover()');
SELECT ok(NOT has_function_privilege('public', 'quorum.pause()', 'EXECUTE'),
	'PUBLIC may not execute quorum.pause()');
SELECT ok(NOT has_function_privilege('public', 'quorum.resume()', 'EXECUTE'),
	'PUBLIC may not execute quorum.resume()');
SELECT ok(NOT has_function_privilege('public', 'quorum.forget(text)', 'EXECUTE'),
	'PUBLIC may not execute quorum.forget()');
SELECT ok(NOT has_function_privilege('public', 'quorum.add_voter(text)', 'EXECUTE'),
	'PUBLIC may not execute quorum.add_voter()');
SELECT is(pgq_test_helpers.sqlstate_as('pgq_test_monitor', 'SELECT quorum.pause()'), '42501',
	'a pg_monitor member cannot pause failover');
SELECT is(pgq_test_helpers.sqlstate_as('pgq_test_monitor', 'SELECT quorum.failover()'), '42501',
	'a pg_monitor member cannot switch over');

-- A cluster of one: this server leads, with the lease.
SELECT ok(pgq_test_helpers.wait_for($$SELECT leader = 'pgtap' AND NOT fenced FROM quorum.status$$, 60),
	'the lone server is the leader and not fenced');
SELECT ok((SELECT term >= 1 AND has_quorum AND mode = 'async' AND NOT paused FROM quorum.status),
	'quorum.status: a term, a quorum, asynchronous mode, not paused');
SELECT is((SELECT (is_leader, voter, lag) FROM quorum.nodes WHERE is_self),
	(true, true, 0::bigint), 'quorum.nodes: this server is the leader, a voter, 0 bytes behind');
SELECT ok(EXISTS (SELECT FROM quorum.events
				   WHERE event = 'leader' AND node = 'pgtap' AND term >= 1 AND incarnation IS NULL),
	'quorum.events records the election of this server with its term');
SELECT ok(EXISTS (SELECT FROM quorum.events WHERE event = 'lease_gained' AND term >= 1),
	'quorum.events records that this server gained the lease');

-- The durable state file holds the election's record with the node name.
SELECT is(substring(pg_read_file('pg_quorum.state') from E'\nterm=([0-9]+)\n')::bigint,
	(SELECT term FROM quorum.status), 'pg_quorum.state holds the current term');
SELECT ok(pg_read_file('pg_quorum.state') ~ E'\nvoted_for=pgtap\n'
		  AND pg_read_file('pg_quorum.state') ~ E'\nvoter=[0-9a-f]+ pgtap\n'
		  AND pg_read_file('pg_quorum.state') ~ E'\nmember_id=[0-9a-f]+\n',
	'pg_quorum.state holds this term''s vote, the voter set and the member id');

-- quorum.failover(): refusals change nothing.
SELECT throws_ok($$SELECT quorum.failover('no_such_node')$$, '22023', NULL,
	'a switchover to an unknown member fails with invalid_parameter_value');
SELECT throws_ok($$SELECT quorum.failover('')$$, '22023', NULL,
	'a switchover to an empty name fails with invalid_parameter_value');
SELECT throws_ok($$SELECT quorum.failover()$$, '55000', NULL,
	'a switchover with no standby to take over fails with object_not_in_prerequisite_state');
SELECT is(quorum.failover('pgtap'), 'pgtap',
	'a switchover to the current leader returns its name');
SELECT is((SELECT leader FROM quorum.status), 'pgtap', 'the leader is unchanged');

-- quorum.forget()
SELECT throws_ok($$SELECT quorum.forget('no_such_node')$$, '22023', NULL,
	'forgetting an unknown member fails with invalid_parameter_value');
SELECT throws_ok($$SELECT quorum.forget('pgtap')$$, '22023', NULL,
	'forgetting this server itself fails with invalid_parameter_value');
SELECT is(quorum.forget(NULL)::text, NULL, 'quorum.forget(NULL) is NULL (strict)');

-- quorum.add_voter()
SELECT throws_ok($$SELECT quorum.add_voter('no_such_node')$$, '22023', NULL,
	'adding an unknown member fails with invalid_parameter_value');
SELECT lives_ok($$SELECT quorum.add_voter('pgtap')$$,
	'adding a member that is a voter already is harmless');
SELECT is((SELECT count(*)::int FROM quorum.nodes WHERE voter), 1,
	'and changes nothing: the lone server is still the only voter');
SELECT is(quorum.add_voter(NULL)::text, NULL, 'quorum.add_voter(NULL) is NULL (strict)');
SELECT is(pgq_test_helpers.sqlstate_as('pgq_test_monitor', $$SELECT quorum.add_voter('pgtap')$$),
	'42501', 'a pg_monitor member cannot add a voter');

-- pause and resume
SELECT lives_ok('SELECT quorum.pause()', 'quorum.pause() succeeds');
SELECT ok((SELECT paused FROM quorum.status), 'quorum.status shows failover paused');
SELECT ok(EXISTS (SELECT FROM quorum.events WHERE event = 'paused' AND term >= 1),
	'quorum.events records the pause');
SELECT lives_ok('SELECT quorum.pause()', 'pausing again is harmless');
SELECT throws_ok($$SELECT quorum.failover('pgtap')$$, '55000', NULL,
	'a switchover while paused fails with object_not_in_prerequisite_state');
SELECT throws_ok($$SELECT quorum.failover()$$, '55000', NULL,
	'a switchover to the best standby while paused fails the same way');
SELECT ok((SELECT leader = 'pgtap' AND NOT fenced FROM quorum.status),
	'while paused the leader keeps leading and writing');
SELECT lives_ok('SELECT quorum.resume()', 'quorum.resume() succeeds');
SELECT ok(NOT (SELECT paused FROM quorum.status), 'quorum.status shows failover active again');
SELECT ok(EXISTS (SELECT FROM quorum.events WHERE event = 'resumed' AND term >= 1),
	'quorum.events records the resumption');
SELECT lives_ok('SELECT quorum.resume()', 'resuming again is harmless');

-- The wait is bounded by pg_quorum.command_timeout.
SET LOCAL pg_quorum.command_timeout = '100ms';
SELECT is(current_setting('pg_quorum.command_timeout'), '100ms',
	'pg_quorum.command_timeout can be lowered in a session');
RESET pg_quorum.command_timeout;
SELECT throws_ok($$SELECT quorum.failover('no_such_node')$$, '22023', NULL,
	'checks come before any waiting');
SELECT ok((SELECT leader = 'pgtap' AND NOT fenced AND NOT paused FROM quorum.status),
	'after all this the server still leads, unfenced and not paused');

SELECT * FROM finish();
ROLLBACK;
