#!/usr/bin/env bash
# scripts/pg-build.sh VERSION: build PostgreSQL VERSION (15, 17 or 18) from
# Debian's source package into a prefix outside the checkout, and print the
# path of its pg_config on the last line of stdout.
#
# Debian 12 has binary packages for 15 only, and its archive is the only
# registry these machines reach, so 17 and 18 come from the source packages
# of trixie and sid, fetched with a deb-src entry this script adds.  Their
# build dependencies do not resolve on Debian 12 ("apt-get build-dep"
# fails), so upstream's configure runs by hand, with the Debian 12 build
# tools scripts/setup.sh installs.  VERSION 15 is the system's own server
# and builds nothing.
#
# The prefix is pg-VERSION in the cache scripts/lib.sh's pgq_pg_cache names
# (/var/cache/pg_quorum as root, ${XDG_CACHE_HOME:-~/.cache}/pg_quorum
# otherwise, PGQ_PG_CACHE when set).  A prefix whose stamp matches this
# script's configure options and contrib modules is reused as it is;
# anything else there is rebuilt.  PGQ_PG_JOBS sets make's -j (default 2).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

version=${1:-}
case "$version" in
	15|16|17|18) ;;
	*) pgq_die "usage: scripts/pg-build.sh VERSION (15, 17 or 18)" ;;
esac

if [ "$version" = 15 ]; then
	bash "$PGQ_ROOT/scripts/setup.sh" >&2
	unset PG_CONFIG PGQ_PG_VERSION
	pgq_pg_env
	echo "$PG_CONFIG"
	exit 0
fi

# The suite whose source package carries this major version.
case "$version" in
	16) pgq_die "no PostgreSQL 16 source package is reachable in Debian's archive (trixie has 17, sid 18)" ;;
	17) suite=trixie ;;
	18) suite=sid ;;
esac

cache=$(pgq_pg_cache)
prefix=$cache/pg-$version
jobs=${PGQ_PG_JOBS:-2}

# The options of Debian's own packages that change what an extension
# compiles against or links with (pg_config.h, struct layouts such as
# Port's with GSSAPI, the server's libraries), so that a module built here
# behaves as it would against Debian's server.  Left out: languages (tcl,
# perl, python), LLVM JIT, dtrace and NLS, which change no extension
# header and only cost build time.
configure_opts=(
	--prefix="$prefix"
	--with-openssl --with-gssapi --with-ldap --with-pam
	--with-libxml --with-icu --with-lz4 --with-zstd --with-uuid=e2fs
	--with-systemd --with-selinux --with-system-tzdata=/usr/share/zoneinfo
	--enable-debug --enable-tap-tests --with-pgport=5432
)
# The contrib modules the suites use (the pgTAP suite uses dblink).
contrib=(dblink)
stamp_text="configure ${configure_opts[*]}; contrib ${contrib[*]}"

if [ -f "$prefix/.pg_quorum-complete" ] &&
	[ "$(cat "$prefix/.pg_quorum-complete")" = "$stamp_text" ] &&
	[ -x "$prefix/bin/pg_config" ]; then
	echo "pg-build: PostgreSQL $version reused from $prefix" >&2
	echo "$prefix/bin/pg_config"
	exit 0
fi

t0=$(date +%s)
bash "$PGQ_ROOT/scripts/setup.sh" >&2

# The deb-src entry, and an update of that source's index alone (the
# system's other lists are left as they are).
src_list=/etc/apt/sources.list.d/pg_quorum-src-$suite.sources
if [ ! -f "$src_list" ]; then
	pgq_log "adding deb-src for $suite ($src_list)" >&2
	printf '%s\n' \
		"# Added by pg_quorum's scripts/pg-build.sh: source packages only." \
		"Types: deb-src" \
		"URIs: http://deb.debian.org/debian" \
		"Suites: $suite" \
		"Components: main" \
		"Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" |
		pgq_as_root tee "$src_list.tmp" >/dev/null
	pgq_as_root mv "$src_list.tmp" "$src_list"
fi
# apt may be held by another apt-get for a while: wait for its lock.
pgq_as_root apt-get update -q -o DPkg::Lock::Timeout=300 \
	-o Dir::Etc::sourcelist="$src_list" -o Dir::Etc::sourceparts=- \
	-o APT::Get::List-Cleanup=0 >&2

src=$cache/src-$version
rm -rf "$src" "$prefix"
mkdir -p "$src"
pgq_log "fetching postgresql-$version from $suite" >&2
# apt-get source drops privileges to _apt when it can; the directory must
# be writable by it, or the download falls back with a warning.
if ! (cd "$src" && apt-get source -q --download-only "postgresql-$version/$suite" >&2); then
	# The mirror can list a point release whose files it does not hold yet
	# (trixie's index named 17.12 while its pool had 17.11 only).  Then
	# the release pinned here is fetched by apt's own downloader, checked
	# against the SHA-256 of its signed .dsc.
	case "$version" in
		17) pin=17.11 sha=dd27f2b3c59e73ed14aa3324901242bf69a032a6347805f274e6260322d42979 ;;
		*) pgq_die "apt-get source postgresql-$version failed" ;;
	esac
	pgq_log "falling back to the pinned postgresql-$version $pin" >&2
	/usr/lib/apt/apt-helper download-file \
		"http://deb.debian.org/debian/pool/main/p/postgresql-$version/postgresql-${version}_$pin.orig.tar.bz2" \
		"$src/postgresql-${version}_$pin.orig.tar.bz2" "SHA256:$sha" >&2 ||
		pgq_die "could not fetch postgresql-$version $pin either"
fi
tarball=$(find "$src" -maxdepth 1 -name "postgresql-${version}_*.orig.tar.*" | head -n 1)
[ -n "$tarball" ] || pgq_die "no upstream tarball for postgresql-$version in $src"
# Upstream's tree as released: Debian's patches change paths and defaults
# for its packaging, none of which matters to an extension's build.
tar -xf "$tarball" -C "$src"
tree=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name "postgresql-$version*" | head -n 1)
[ -n "$tree" ] || pgq_die "the tarball $tarball held no postgresql-$version directory"

pgq_log "configuring $(basename "$tree") into $prefix" >&2
(cd "$tree" && ./configure "${configure_opts[@]}" >"$src/configure.log" 2>&1) ||
	{ tail -n 30 "$src/configure.log" >&2; pgq_die "configure failed (log: $src/configure.log)"; }
pgq_log "building with make -j$jobs" >&2
(cd "$tree" && make -s -j"$jobs" >"$src/make.log" 2>&1) ||
	{ tail -n 40 "$src/make.log" >&2; pgq_die "make failed (log: $src/make.log)"; }
# The top-level install covers pg_config, the PGXS makefiles, the server
# headers, pg_regress (src/test/regress) and, with --enable-tap-tests,
# the PostgreSQL::Test modules of src/test/perl.
(cd "$tree" && make -s install >"$src/install.log" 2>&1) ||
	{ tail -n 40 "$src/install.log" >&2; pgq_die "make install failed (log: $src/install.log)"; }
for m in "${contrib[@]}"; do
	(cd "$tree/contrib/$m" && make -s -j"$jobs" install >>"$src/install.log" 2>&1) ||
		{ tail -n 40 "$src/install.log" >&2; pgq_die "contrib/$m failed (log: $src/install.log)"; }
done

pgc=$prefix/bin/pg_config
pgxs_dir=$(dirname "$("$pgc" --pgxs)")/../..
for f in "$pgc" "$("$pgc" --bindir)/initdb" "$("$pgc" --bindir)/pg_rewind" \
	"$("$pgc" --pgxs)" "$pgxs_dir/src/test/regress/pg_regress" \
	"$pgxs_dir/src/test/perl/PostgreSQL/Test/Cluster.pm" \
	"$("$pgc" --includedir-server)/postgres.h" \
	"$("$pgc" --sharedir)/extension/dblink.control"; do
	[ -e "$f" ] || pgq_die "the install lacks $f"
done

# pgTAP is SQL only; the system's copy (for 15) serves every version.
sys_share=$(/usr/lib/postgresql/15/bin/pg_config --sharedir 2>/dev/null || true)
if compgen -G "$sys_share/extension/pgtap*" >/dev/null; then
	cp "$sys_share"/extension/pgtap* "$("$pgc" --sharedir)/extension/"
else
	pgq_die "pgTAP is not installed for the system's PostgreSQL (run scripts/setup.sh)"
fi

# Servers run as postgres when we are root: let it read the prefix.
chmod -R a+rX "$cache"
rm -rf "$src"
echo "$stamp_text" >"$prefix/.pg_quorum-complete"
# CPU time says more than wall time on a shared machine.
cpu=$(times | tail -n 1)
pgq_log "PostgreSQL $version built in $(($(date +%s) - t0))s (CPU of its commands, user and system: $cpu)" >&2
echo "$prefix/bin/pg_config"
