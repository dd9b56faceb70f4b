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

-- For writes that must commit while the calling file's own transaction is
-- rolled back at its end: a session of its own on this server, over
-- dblink.
CREATE EXTENSION IF NOT EXISTS dblink;

-- The connection string of a new session of database db on this server,
-- as the current user.
CREATE OR REPLACE FUNCTION pgq_test_helpers.conninfo(db text DEFAULT current_database())
RETURNS text LANGUAGE sql AS $fn$
	SELECT format('host=%s port=%s dbname=%s user=%s',
				  current_setting('unix_socket_directories'),
				  current_setting('port'), db, current_user)
$fn$;

-- Run sql in a new session of database db, in its own transaction.
CREATE OR REPLACE FUNCTION pgq_test_helpers.remote(sql text, db text DEFAULT current_database())
RETURNS text LANGUAGE sql AS $fn$
	SELECT dblink_exec(pgq_test_helpers.conninfo(db), sql)
$fn$;

-- The one value that query returns, run in a new session of database db.
CREATE OR REPLACE FUNCTION pgq_test_helpers.remote_value(query text,
	db text DEFAULT current_database())
RETURNS text LANGUAGE sql AS $fn$
	SELECT v FROM dblink(pgq_test_helpers.conninfo(db), query) AS t(v text)
$fn$;
