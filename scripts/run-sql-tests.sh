#!/usr/bin/env bash
# scripts/run-sql-tests.sh [FILES...]: run the pgTAP tests (test/sql/*.sql by
# default) with pg_prove against a temporary server started with
# shared_preload_libraries = 'pg_quorum', a generated key file and free ports,
# after loading the helpers the files share (test/sql/setup/helpers.sql)
# into the test database.  The server listens on a Unix socket only; its
# gossip socket is on 127.0.0.1.  Run it through scripts/sandbox.sh ("make
# installcheck" does), which makes it work as root too.  Ends with
# "N passed, N failed".
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
pgq_pg_env

work=${PGQ_WORK:-}
if [ -z "$work" ]; then
	work=$(mktemp -d "${TMPDIR:-/tmp}/pg_quorum-sql.XXXXXX")
fi
dir=$work/sql
data=$dir/data
rm -rf "$dir"
mkdir -p "$dir/sock"

if [ $# -gt 0 ]; then files=("$@"); else files=(test/sql/*.sql); fi
if [ ! -e "${files[0]}" ]; then
	echo "run-sql-tests: no pgTAP files in test/sql"
	echo "0 passed, 1 failed"
	exit 1
fi

read -r pgport gossip_port < <(pgq_free_ports 2)

fail()
{
	echo "run-sql-tests: $*"
	if [ -f "$dir/server.log" ]; then
		echo "---- last lines of the server log ----"
		tail -n 40 "$dir/server.log"
	fi
	echo "0 passed, 1 failed"
	exit 1
}

initdb -D "$data" -U postgres -A trust --no-sync --no-instructions \
	>"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log"; fail "initdb failed"; }
(umask 077 && openssl rand -hex 32 >"$data/quorum.key") || fail "could not make a key"
cat >>"$data/postgresql.conf" <<CONF

# Added by scripts/run-sql-tests.sh
port = $pgport
listen_addresses = ''
unix_socket_directories = '$dir/sock'
fsync = off
log_line_prefix = '%m [%p] %q%a '
shared_preload_libraries = 'pg_quorum'
pg_quorum.node_name = 'pgtap'
pg_quorum.listen = '127.0.0.1:$gossip_port'
pg_quorum.peers = ''
pg_quorum.key_file = 'quorum.key'
pg_quorum.conninfo = 'host=$dir/sock port=$pgport'
# A cluster of one: the server elects itself and takes the write lease, so
# that writes (createdb, CREATE EXTENSION) can commit through the fence.
pg_quorum.bootstrap_expect = 1
# So that the fence's check of PREPARE TRANSACTION can be tested.
max_prepared_transactions = 2
CONF

stop_server()
{
	pg_ctl -D "$data" stop -m fast -w -t 60 >/dev/null 2>&1 ||
		pg_ctl -D "$data" stop -m immediate -w -t 20 >/dev/null 2>&1
}
trap stop_server EXIT

pg_ctl -D "$data" -l "$dir/server.log" -w -t 60 start >/dev/null ||
	fail "the server did not start"
export PGHOST=$dir/sock PGPORT=$pgport PGUSER=postgres
# The server starts fenced; the first write commits once it has elected
# itself (about two election timeouts).
deadline=$((SECONDS + 60))
until createdb pgq_test 2>"$dir/createdb.err"; do
	[ "$SECONDS" -lt "$deadline" ] || { cat "$dir/createdb.err"; fail "createdb failed"; }
	sleep 0.2
done
# The helpers that the test files share (test/sql/README.md), committed
# once into schema pgq_test_helpers: now, since the server has just shown
# that it commits writes.
psql -X -q -1 -v ON_ERROR_STOP=1 -d pgq_test -f "$PGQ_ROOT/test/sql/setup/helpers.sql" \
	>"$dir/helpers.log" 2>&1 ||
	{ cat "$dir/helpers.log"; fail "could not load test/sql/setup/helpers.sql"; }
psql -X -q -v ON_ERROR_STOP=1 -d pgq_test -c 'CREATE EXTENSION IF NOT EXISTS pgtap' ||
	fail "pgTAP is not installed (run scripts/setup.sh)"

pg_prove -d pgq_test "${files[@]}" 2>&1 | tee "$dir/pg_prove.out"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ]; then
	echo "---- last lines of the server log ($dir/server.log) ----"
	tail -n 60 "$dir/server.log"
fi
perl scripts/tap-summary.pl "$dir/pg_prove.out" "$rc"
