-- test/sql/07_join.sql: quorum.join(address).
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
SELECT plan(11);

SELECT ok(pg_temp.wait_for('SELECT worker_running FROM quorum.status'),
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

SELECT is(pg_temp.sqlstate_as('pgq_test_monitor', $$SELECT quorum.join('127.0.0.1:9')$$),
	'42501', 'pg_monitor may not call quorum.join()');

SELECT * FROM finish();
ROLLBACK;
