-- test/sql/setup/helpers.sql: the helper functions that several pgTAP files
-- call, in schema pgq_test_helpers.  scripts/run-sql-tests.sh loads this
-- file once into the test database, committed, before pg_prove runs the
-- files (each of which rolls back whatever it creates itself).  It is not
-- a test: it is outside the test/sql/*.sql that pg_prove runs.  Loading it
-- again replaces the functions.
--
-- A helper that only one file uses stays in that file, in pg_temp.
CREATE SCHEMA IF NOT EXISTS pgq_test_helpers;

-- Poll a boolean query until it is true or timeout_s seconds have passed.
CREATE OR REPLACE FUNCTION pgq_test_helpers.wait_for(query text,
	timeout_s double precision DEFAULT 30)
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
CREATE OR REPLACE FUNCTION pgq_test_helpers.sqlstate_as(role_name name, query text)
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

-- Send SIGTERM to the process pid, the way the postmaster stops the
-- worker at shutdown: the worker has no database connection, so
-- pg_terminate_backend() does not know it.
CREATE OR REPLACE FUNCTION pgq_test_helpers.sigterm(pid int)
RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN
	-- The program reads its input so that COPY never hits a closed pipe.
	EXECUTE format($c$COPY (SELECT 1) TO PROGRAM 'cat >/dev/null; kill -TERM %s'$c$, pid);
	RETURN true;
END
$fn$;
