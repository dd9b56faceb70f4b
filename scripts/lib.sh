# scripts/lib.sh: helpers shared by the scripts in this directory (sourced).
#
# It finds the PostgreSQL to build and test against through pg_config (the
# system's 15, or a version scripts/pg-build.sh built), knows which user runs servers
# (postgres when the caller is root, since PostgreSQL refuses to run as
# root; the caller otherwise), and picks free ports.

PGQ_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

pgq_log() { printf '==> %s\n' "$*"; }
pgq_die() { printf 'error: %s\n' "$*" >&2; exit 1; }
pgq_is_root() { [ "$(id -u)" -eq 0 ]; }

# Run a command as root: directly when we are root, else through sudo.
pgq_as_root()
{
	if pgq_is_root; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		pgq_die "need root for: $* (install sudo or run as root)"
	fi
}

# The user that runs PostgreSQL servers.
pgq_server_user()
{
	if pgq_is_root; then echo postgres; else id -un; fi
}

# Run a command as the server user, from a directory that user can read
# (initdb and pg_ctl fail in a directory they cannot read).
pgq_as_server()
{
	local dir=$1; shift
	if pgq_is_root; then
		(cd "$dir" && runuser -u postgres -- "$@")
	else
		(cd "$dir" && "$@")
	fi
}

# Where scripts/pg-build.sh keeps the PostgreSQL versions it builds: outside
# the checkout, and readable by the postgres user when we are root (servers
# run as postgres, and /root is closed to it).  PGQ_PG_CACHE overrides it.
pgq_pg_cache()
{
	if [ -n "${PGQ_PG_CACHE:-}" ]; then
		echo "$PGQ_PG_CACHE"
	elif pgq_is_root; then
		echo /var/cache/pg_quorum
	else
		echo "${XDG_CACHE_HOME:-$HOME/.cache}/pg_quorum"
	fi
}

# Sets PG_CONFIG, PG_BINDIR, PGXS_DIR, PG_PERL_DIR and PG_REGRESS for one
# PostgreSQL installation, and puts its bindir first on PATH.  Which one:
# PG_CONFIG when set (any prefix, e.g. one scripts/pg-build.sh built); else
# PGQ_PG_VERSION's build in the cache when it names another version than
# the system's 15; else the system's PostgreSQL 15.
pgq_pg_env()
{
	if [ -z "${PG_CONFIG:-}" ] && [ -n "${PGQ_PG_VERSION:-}" ] &&
		[ "$PGQ_PG_VERSION" != 15 ]; then
		PG_CONFIG=$(pgq_pg_cache)/pg-$PGQ_PG_VERSION/bin/pg_config
		[ -x "$PG_CONFIG" ] ||
			pgq_die "PostgreSQL $PGQ_PG_VERSION is not built (run scripts/pg-build.sh $PGQ_PG_VERSION)"
	fi
	if [ -z "${PG_CONFIG:-}" ]; then
		if [ -x /usr/lib/postgresql/15/bin/pg_config ]; then
			PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
		else
			PG_CONFIG=$(command -v pg_config) || pgq_die "pg_config not found (run scripts/setup.sh)"
		fi
	fi
	PG_BINDIR=$("$PG_CONFIG" --bindir)
	PGXS_DIR=$(cd "$(dirname "$("$PG_CONFIG" --pgxs)")/../.." && pwd)
	PG_PERL_DIR=$PGXS_DIR/src/test/perl
	PG_REGRESS=$PGXS_DIR/src/test/regress/pg_regress
	export PG_CONFIG PG_REGRESS
	case ":$PATH:" in
		*":$PG_BINDIR:"*) ;;
		*) PATH=$PG_BINDIR:$PATH ;;
	esac
	export PATH
}

# Prints N distinct ports that are free on 127.0.0.1 for both TCP and UDP.
pgq_free_ports()
{
	perl "$PGQ_ROOT/scripts/free-ports.pl" "$1"
}

# Copy this tree's sources, without its build outputs or .git, into the
# directory $1 (created empty), for builds that must not mix with the
# tree's own (another PostgreSQL version, the Debian packages).
pgq_copy_tree()
{
	rm -rf "$1"
	mkdir -p "$1"
	tar -C "$PGQ_ROOT" -c --exclude=./.git --exclude=./build \
		--exclude='*.o' --exclude='*.so' --exclude='*.bc' --exclude='*.d' \
		--exclude=./tools/pg_quorum_rejoin --exclude=./tmp_check --exclude=./demo . |
		tar -C "$1" -x
}

# pgq_pg_copy PG_CONFIG DEST: a second installation of the PostgreSQL that
# PG_CONFIG belongs to, in DEST (made empty), without pg_quorum's files, for
# servers of two pg_quorum releases side by side (scripts/old-build.sh).
# PostgreSQL finds its files relative to its binaries, so a copy of its
# directories at the same relative places works: a --prefix build
# (scripts/pg-build.sh) is one directory; Debian's 15 spreads over
# /usr/lib/postgresql/15, /usr/share/postgresql/15 and /usr/include/postgresql,
# which DEST gets as DEST/usr/lib/postgresql/15 and so on.  The system's
# installation, which other work on this machine installs into, is copied
# under /tmp/pgq-serial.lock (unless the caller holds it: PGQ_SERIAL_LOCKED).
# Prints the directory holding the copy's bin and lib (what
# PostgreSQL::Test::Cluster calls install_path).
pgq_pg_copy()
{
	local pgc=$1 dest=$2 home fd="" d
	local dirs=()
	home=$(cd "$("$pgc" --bindir)/.." && pwd)
	# The prefix holds them all in a --prefix build; Debian's do not.
	for d in "$home" "$("$pgc" --sharedir)" "$("$pgc" --includedir)" "$("$pgc" --pkglibdir)"; do
		d=$(cd "$d" && pwd)
		case "$d/" in "$home"/*) [ "$d" = "$home" ] || continue ;; esac
		dirs+=("$d")
	done
	rm -rf "$dest"
	mkdir -p "$dest"
	case "$home/" in
		"$(pgq_pg_cache)"/*) ;;
		*)
			if [ -z "${PGQ_SERIAL_LOCKED:-}" ]; then
				exec {fd}>/tmp/pgq-serial.lock
				flock "$fd"
			fi
			;;
	esac
	for d in "${dirs[@]}"; do
		mkdir -p "$dest$(dirname "$d")"
		cp -a "$d" "$dest$(dirname "$d")/"
	done
	if [ -n "$fd" ]; then exec {fd}>&-; fi
	rm -f "$dest$home/.pg_quorum-complete"
	local pkglibdir sharedir bindir
	pkglibdir=$("$dest$home/bin/pg_config" --pkglibdir)
	sharedir=$("$dest$home/bin/pg_config" --sharedir)
	bindir=$("$dest$home/bin/pg_config" --bindir)
	[ "$bindir" = "$dest$home/bin" ] || pgq_die "the copy of $home in $dest does not relocate ($bindir)"
	rm -rf "$pkglibdir/pg_quorum.so" "$pkglibdir/bitcode/pg_quorum" \
		"$pkglibdir/bitcode/pg_quorum.index.bc" "$sharedir"/extension/pg_quorum[.-]* \
		"$bindir/pg_quorum_rejoin" "$bindir/quorum_witness"
	echo "$dest$home"
}
