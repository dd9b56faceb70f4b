#!/usr/bin/env bash
# scripts/sandbox.sh CMD [ARGS...]: run a command that starts PostgreSQL
# servers (pgTAP, cluster tests, benchmarks) the way all of ours run.
#
# As root (as CI is): copy scripts/ and the server-side tests into a fresh
# temporary directory owned by postgres (the checkout itself may be unreadable
# to postgres, e.g. under /root); enter a private network namespace whose
# only interface is its own loopback, so fault tests can use nftables without
# touching the host; run under "tini -s", a subreaper, because PID 1 here
# does not reap orphans and a kill -9'ed postmaster would otherwise stay a
# zombie whose lock file blocks its restart; and drop to the postgres user,
# keeping one capability, CAP_NET_ADMIN, as an ambient capability so that
# the tests can run "nft" (it is inherited by everything started inside,
# servers included, but it only reaches the private namespace's network:
# a process needs CAP_SYS_ADMIN to enter another namespace).
# As anyone else: the same in place, as the caller, inside a new user and
# network namespace when the kernel allows unprivileged ones (there the
# caller holds CAP_NET_ADMIN over the private network only); without a
# namespace otherwise, in which case tests that need nft fail and say why.
#
# CMD runs from the top of the tree (or its copy) with PATH, PERL5LIB,
# PG_REGRESS and TESTDIR set for PostgreSQL::Test::Cluster, and PGQ_WORK
# naming a scratch directory.  Servers it leaves running are stopped.  The
# scratch directory is removed when CMD succeeds, kept (and named) otherwise,
# or always kept with PGQ_KEEP_WORK=1.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Stop every server whose data directory lies under $1 and still runs.
stop_leftovers()
{
	local pidfile pid datadir
	while IFS= read -r pidfile; do
		pid=$(sed -n 1p "$pidfile" 2>/dev/null || true)
		datadir=$(sed -n 2p "$pidfile" 2>/dev/null || true)
		[[ "$pid" =~ ^[0-9]+$ ]] || continue
		kill -0 "$pid" 2>/dev/null || continue
		grep -q postgres "/proc/$pid/cmdline" 2>/dev/null || continue
		echo "sandbox: stopping leftover server $pid ($datadir)"
		# A test that died while it held the server with SIGSTOP.
		pkill -CONT -P "$pid" 2>/dev/null || true
		kill -CONT "$pid" 2>/dev/null || true
		pg_ctl -D "$datadir" stop -m immediate -w -t 20 >/dev/null 2>&1 ||
			kill -KILL "$pid" 2>/dev/null || true
	done < <(find "$1" -name postmaster.pid 2>/dev/null)
}

# Third stage: as the server user, under tini, from the tree to test.
inner()
{
	local work=$1 rc
	shift
	pgq_pg_env
	export PERL5LIB=$PG_PERL_DIR:$PWD/test/cluster/lib${PERL5LIB:+:$PERL5LIB}
	export TESTDIR=$work PGQ_WORK=$work
	# In the background and in its own process group, so that a TERM (a
	# time limit) runs the trap at once, ends the whole group, and still
	# stops the servers, which pg_ctl puts in sessions of their own.
	setsid "$@" &
	child=$!
	trap 'kill -TERM -- "-$child" 2>/dev/null; wait "$child"; stop_leftovers "$work"; exit 143' TERM INT
	set +e
	wait "$child"
	rc=$?
	set -e
	stop_leftovers "$work"
	exit $rc
}

# Second stage: inside the new network namespace.
in_netns()
{
	local work=$1
	shift
	ip link set lo up || pgq_die "could not bring up the loopback interface"
	pgq_is_root || exec bash scripts/sandbox.sh --inner "$work" "$@"
	cd "$work/src"
	# The caller's PATH may name directories postgres cannot read.
	export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	# setpriv execs (runuser would stay as a parent that kills its child
	# two seconds after a TERM, too soon to stop servers).
	exec setpriv --reuid=postgres --regid=postgres --init-groups \
		--inh-caps +net_admin --ambient-caps +net_admin -- \
		env HOME="$work" USER=postgres LOGNAME=postgres \
		bash scripts/sandbox.sh --inner "$work" "$@"
}

case "${1:-}" in
	--inner) shift; inner "$@" ;;
	--in-netns) shift; in_netns "$@" ;;
	"") pgq_die "usage: sandbox.sh CMD [ARGS...]" ;;
esac

# First stage: prepare the scratch directory and enter the sandbox.
work=$(mktemp -d "${TMPDIR:-/tmp}/pg_quorum-test.XXXXXX")
tini=()
command -v tini >/dev/null 2>&1 && tini=(tini -s --)
set +e
trap 'echo "sandbox: terminated"' TERM INT
if pgq_is_root; then
	command -v tini >/dev/null 2>&1 || pgq_die "tini is missing (run scripts/setup.sh)"
	mkdir "$work/src"
	(cd "$PGQ_ROOT" &&
		tar cf - --exclude=tmp_check scripts test/sql test/cluster test/bench test/chaos 2>/dev/null) |
		(cd "$work/src" && tar xf -)
	chown -R postgres:postgres "$work"
	chmod 700 "$work"
	PATH=$PATH:/usr/sbin:/sbin unshare --net -- "${tini[@]}" \
		bash "$work/src/scripts/sandbox.sh" --in-netns "$work" "$@" &
elif PATH=$PATH:/usr/sbin:/sbin unshare --user --map-current-user --net --keep-caps -- \
	ip link set lo up 2>/dev/null; then
	(cd "$PGQ_ROOT" && PATH=$PATH:/usr/sbin:/sbin exec unshare --user --map-current-user \
		--net --keep-caps -- "${tini[@]}" bash scripts/sandbox.sh --in-netns "$work" "$@") &
else
	(cd "$PGQ_ROOT" && exec "${tini[@]}" bash scripts/sandbox.sh --inner "$work" "$@") &
fi
# A TERM or INT (time limit, Ctrl-C) reaches the whole process group: the
# sandbox stops its servers and exits; this shell waits for that to finish.
child=$!
wait "$child"
rc=$?
while kill -0 "$child" 2>/dev/null; do
	wait "$child"
	rc=143
done
set -e
if [ $rc -eq 0 ] && [ -z "${PGQ_KEEP_WORK:-}" ]; then
	rm -rf "$work"
else
	echo "sandbox: logs and data kept in $work"
fi
exit $rc
