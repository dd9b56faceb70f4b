-- test/sql/07_join.sql: quorum.join(address).
--
-- Expects the server and settings described in test/sql/README.md.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pg_quorum;
CREATE ROLE pgq_test_monitor IN ROLE pg_monitor;
CREATE ROLE pgq_test_nobody;
SELECT plan(11);

SELECT ok(pgq_test_helpers.wait_for('SELECT worker_running FROM quorum.status'),
	'the worker is running');

SELECT throws_ok($$SELECT quorum.join('x:y')$$, '22023', NULL,
	'a host that is not a numeric address is rejected');
SELECT throws_ok($$SELECT quorum.join('127.0.0.1')$$, '22023', NULL,
	'an address without a port is rejected');
SELECT throws_ok($$SELECT quorum.join('127.0.0.1:0')$$, '22023', NULL,
	'port 0 is rejected');
SELECT throws_ok($$SELECT quorum.join('127.0.0.1:65536')$$, '22023', NULL,
	'a port above 65535 is rejected');
SELECT throws_ok($$SELECT quorum.join('0.0.0.0:7946')$$, '22023', NULL,
	'a wildcard address is rejected');
SELECT throws_ok($$SELECT quorum.join('')$$, '22023', NULL,
	'an empty address is rejected');
SELECT ok((SELECT quorum.join(NULL) IS NULL), 'a NULL address does nothing');
SELECT lives_ok($$SELECT quorum.join('127.0.0.1:9')$$,
	'a well-formed IPv4 address is accepted');
SELECT lives_ok($$SELECT quorum.join('[::1]:9')$$,
	'a well-formed IPv6 address is accepted');

SELECT is(pgq_test_helpers.sqlstate_as('pgq_test_monitor', $$SELECT quorum.join('127.0.0.1:9')$$),
	'42501', 'pg_monitor may not call quorum.join()');

SELECT * FROM finish();
ROLLBACK;
