#!/usr/bin/env bash
# scripts/demo.sh [start|status|stop]: a local three-server pg_quorum cluster.
#
# "start" (the default) installs what is missing, builds and installs the
# extension, then starts on 127.0.0.1 a primary (node1) and two streaming
# standbys made with pg_basebackup (node2, node3), each loading pg_quorum
# with a generated key, and waits until all three see each other alive.
# "status" shows quorum.nodes again; "stop" stops the servers and removes
# the demo directory.  Servers run as the caller, or as postgres when the
# caller is root, in PGQ_DEMO_DIR (default: ./demo in the checkout, or
# /tmp/pg_quorum-demo as root).  Local connections are trusted: this is a
# demo, not a deployment.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if pgq_is_root; then
	DEMO_DIR=${PGQ_DEMO_DIR:-/tmp/pg_quorum-demo}
else
	DEMO_DIR=${PGQ_DEMO_DIR:-$PGQ_ROOT/demo}
fi
NODES=(node1 node2 node3)
JOIN_TIMEOUT_S=60

# psql against demo server N (1-3), via its Unix socket.
demo_psql()
{
	local n=$1
	shift
	pgq_as_server "$DEMO_DIR" psql -X -h "$DEMO_DIR" -p "$(cat "$DEMO_DIR/node$n.port")" \
		-U postgres -d postgres "$@"
}

demo_stop()
{
	local n
	[ -d "$DEMO_DIR" ] || { echo "demo: nothing to stop ($DEMO_DIR does not exist)"; return 0; }
	pgq_pg_env
	for n in "${NODES[@]}"; do
		if [ -f "$DEMO_DIR/$n/postmaster.pid" ]; then
			echo "demo: stopping $n"
			pgq_as_server "$DEMO_DIR" pg_ctl -D "$DEMO_DIR/$n" stop -m fast -w -t 60 >/dev/null ||
				pgq_as_server "$DEMO_DIR" pg_ctl -D "$DEMO_DIR/$n" stop -m immediate -w -t 30 >/dev/null || true
		fi
	done
	rm -rf "$DEMO_DIR"
	echo "demo: stopped, $DEMO_DIR removed"
}

demo_show()
{
	demo_psql 1 -P pager=off -c \
		'SELECT name, address, state, role, is_leader, voter, timeline, lsn, lag, priority, conninfo, rtt_ms FROM quorum.nodes ORDER BY name'
}

# All three servers show all three alive, with their roles known?
all_alive()
{
	local n out
	for n in 1 2 3; do
		out=$(demo_psql "$n" -Atc "SELECT count(*) FROM quorum.nodes WHERE state = 'alive' AND role <> 'unknown'" 2>/dev/null) || return 1
		[ "$out" = 3 ] || return 1
	done
}

# demo_install: the packages, the build and the extension's install.
demo_install()
{
	pgq_log "installing what is missing"
	bash "$PGQ_ROOT/scripts/setup.sh"
	pgq_pg_env
	pgq_log "building"
	make -C "$PGQ_ROOT" -j2 PG_CONFIG="$PG_CONFIG"
	pgq_log "installing the extension"
	pgq_as_root make -C "$PGQ_ROOT" install PG_CONFIG="$PG_CONFIG" >/dev/null
}

# demo_prepare: an empty DEMO_DIR for the server user, free ports for the
# servers (pg) and their gossip (gossip), and the cluster's key.
demo_prepare()
{
	local user ports i
	[ -d "$DEMO_DIR" ] && demo_stop
	user=$(pgq_server_user)
	mkdir -p "$DEMO_DIR"
	pgq_is_root && chown "$user:" "$DEMO_DIR"
	chmod 700 "$DEMO_DIR"

	read -r -a ports < <(pgq_free_ports 6)
	pg=("${ports[@]:0:3}")
	gossip=("${ports[@]:3:3}")
	for i in 0 1 2; do
		echo "${pg[$i]}" >"$DEMO_DIR/node$((i + 1)).port"
	done
	pgq_as_server "$DEMO_DIR" bash -c "umask 077 && openssl rand -hex 32 >'$DEMO_DIR/quorum.key'"
}

# node_conf I: the settings that differ between servers (appended last,
# so they override what a standby copied from the primary).
node_conf()
{
	local i=$1 peers="" j
	for j in 0 1 2; do
		[ "$j" = "$i" ] && continue
		peers+="${peers:+,}127.0.0.1:${gossip[$j]}"
	done
	cat <<CONF

# Added by scripts/demo.sh for node$((i + 1))
port = ${pg[$i]}
pg_quorum.node_name = 'node$((i + 1))'
pg_quorum.listen = '127.0.0.1:${gossip[$i]}'
pg_quorum.peers = '$peers'
pg_quorum.conninfo = 'host=127.0.0.1 port=${pg[$i]} user=postgres'
CONF
}

# demo_create_primary: initdb and start node1 with every server's settings.
demo_create_primary()
{
	pgq_log "creating the primary node1 (port ${pg[0]})"
	pgq_as_server "$DEMO_DIR" initdb -D "$DEMO_DIR/node1" -U postgres -A trust \
		--locale=C.UTF-8 --no-instructions >"$DEMO_DIR/initdb.log"
	pgq_as_server "$DEMO_DIR" bash -c "cat >>'$DEMO_DIR/node1/postgresql.conf'" <<CONF

# Added by scripts/demo.sh for every server
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DEMO_DIR'
wal_level = replica
max_wal_senders = 10
hot_standby = on
# pg_rewind, which pg_quorum_rejoin runs, needs both: hints logged, and the
# old primary's WAL back to the last checkpoint it shares with the leader.
wal_log_hints = on
wal_keep_size = '256MB'
shared_preload_libraries = 'pg_quorum'
pg_quorum.key_file = '$DEMO_DIR/quorum.key'
# The three servers are the voters; the leader keeps a quorum of standbys
# synchronous, so that a failover loses no acknowledged commit.
pg_quorum.voters = 'node1,node2,node3'
pg_quorum.synchronous = on
$(node_conf 0)
CONF
	pgq_as_server "$DEMO_DIR" pg_ctl -D "$DEMO_DIR/node1" -l "$DEMO_DIR/node1.log" -w -t 60 start >/dev/null
}

# demo_create_standbys: node2 and node3 from pg_basebackup of node1.
demo_create_standbys()
{
	local i n
	for i in 1 2; do
		n=node$((i + 1))
		pgq_log "creating the standby $n (port ${pg[$i]}) with pg_basebackup"
		pgq_as_server "$DEMO_DIR" pg_basebackup -h 127.0.0.1 -p "${pg[0]}" -U postgres \
			-D "$DEMO_DIR/$n" -R -X stream -c fast
		{
			node_conf "$i"
			# Its node name as application_name, for synchronous_standby_names.
			echo "primary_conninfo = 'host=127.0.0.1 port=${pg[0]} user=postgres application_name=$n'"
		} | pgq_as_server "$DEMO_DIR" bash -c "cat >>'$DEMO_DIR/$n/postgresql.conf'"
		pgq_as_server "$DEMO_DIR" pg_ctl -D "$DEMO_DIR/$n" -l "$DEMO_DIR/$n.log" -w -t 60 start >/dev/null
	done
}

# demo_wait_until SECONDS WHAT CMD...: poll CMD every 0.2 s; after SECONDS
# without success say that WHAT did not happen, show the servers' last log
# lines and exit.
demo_wait_until()
{
	local limit=$1 what=$2 t0=$SECONDS n
	shift 2
	until "$@"; do
		if [ $((SECONDS - t0)) -ge "$limit" ]; then
			echo "demo: $what within ${limit}s" >&2
			for n in "${NODES[@]}"; do
				echo "---- last lines of $DEMO_DIR/$n.log ----" >&2
				tail -n 15 "$DEMO_DIR/$n.log" >&2
			done
			echo "Stop the servers with: bash scripts/demo.sh stop" >&2
			exit 1
		fi
		sleep 0.2
	done
}

create_extension() { demo_psql 1 -q -c 'CREATE EXTENSION IF NOT EXISTS pg_quorum' 2>/dev/null; }

# demo_howto: what to try next, with this cluster's ports and paths.
demo_howto()
{
	local as=""
	pgq_is_root && as="runuser -u postgres -- "
	cat <<EOT

The cluster runs in $DEMO_DIR (logs: node1.log, node2.log, node3.log).
Connect to a server (node1 is the primary; node2 and node3 are standbys):

    psql -h 127.0.0.1 -p ${pg[0]} -U postgres     # node1
    psql -h 127.0.0.1 -p ${pg[1]} -U postgres     # node2
    psql -h 127.0.0.1 -p ${pg[2]} -U postgres     # node3

and try: SELECT * FROM quorum.nodes; SELECT * FROM quorum.status;
         SELECT * FROM quorum.events; SELECT * FROM quorum.health;

Watch a failover: kill node1's postmaster, and within about two seconds
node2 or node3 is the leader and writable (SELECT leader, fenced FROM
quorum.status), the other one following it.  Then bring node1 back as a
standby of the new leader (pg_rewind included):

    ${as}kill -9 \$(head -1 $DEMO_DIR/node1/postmaster.pid)
    ${as}$PG_BINDIR/pg_quorum_rejoin -D $DEMO_DIR/node1 --peer 'host=127.0.0.1 port=${pg[1]} user=postgres' --peer 'host=127.0.0.1 port=${pg[2]} user=postgres'
    ${as}$PG_BINDIR/pg_ctl -D $DEMO_DIR/node1 -l $DEMO_DIR/node1.log start

and switch over back to it with SELECT quorum.failover('node1') (the
deposed primary stops itself; rejoin and start it the same way).

Watch failure detection: stop node3 abruptly, look at quorum.nodes on node1
(node3 turns suspect, then dead), then start node3 again (alive, with a
higher incarnation):

    ${as}$PG_BINDIR/pg_ctl -D $DEMO_DIR/node3 stop -m immediate
    bash scripts/demo.sh status
    ${as}$PG_BINDIR/pg_ctl -D $DEMO_DIR/node3 -l $DEMO_DIR/node3.log start

Show the membership again: bash scripts/demo.sh status
Stop everything:           bash scripts/demo.sh stop
EOT
}

demo_start()
{
	local t0
	demo_install
	demo_prepare
	demo_create_primary
	demo_create_standbys
	# node1 starts fenced and accepts writes once the three have elected
	# it, so the first write (the extension) is retried until then.
	pgq_log "waiting until node1 is elected and accepts CREATE EXTENSION pg_quorum (at most ${JOIN_TIMEOUT_S}s)"
	demo_wait_until "$JOIN_TIMEOUT_S" "node1 did not accept a write" create_extension
	pgq_log "waiting until every server sees all three alive and knows their roles (at most ${JOIN_TIMEOUT_S}s)"
	t0=$SECONDS
	demo_wait_until "$JOIN_TIMEOUT_S" "the servers did not all see each other alive" all_alive
	pgq_log "all three servers alive after $((SECONDS - t0))s; SELECT * FROM quorum.nodes on node1:"
	demo_show
	demo_howto
}

case "${1:-start}" in
	start) demo_start ;;
	status)
		[ -f "$DEMO_DIR/node1.port" ] || pgq_die "no demo running in $DEMO_DIR (start one with: bash scripts/demo.sh)"
		pgq_pg_env
		demo_show
		;;
	stop) demo_stop ;;
	*) pgq_die "usage: scripts/demo.sh [start|status|stop]" ;;
esac
