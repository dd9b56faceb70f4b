#!/usr/bin/env bash
# scripts/deb.sh build|test: the Debian packages.
#
#   build  dpkg-buildpackage in a copy of this tree (it writes into debian/
#          and puts the .debs in the parent directory), for the PostgreSQL
#          versions debian/pgversions and the installed server-dev packages
#          allow (15 on Debian 12); the .debs land in build/deb/
#   test   install build/deb/*.deb with dpkg into the system's PostgreSQL,
#          check what they hold, run the pgTAP suite against them, and
#          purge them again, all under /tmp/pgq-serial.lock (the system's
#          PostgreSQL is shared).  Run it before any "make install": the
#          packages must not lean on files a source install left behind.
#
# "make deb" runs build; scripts/test.sh runs both.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out=$PGQ_ROOT/build/deb
packages=(postgresql-15-pg-quorum libquorum0 libquorum-dev quorum-witness)

build()
{
	local work
	work=$(mktemp -d "${TMPDIR:-/tmp}/pg_quorum-deb.XXXXXX")
	pgq_copy_tree "$work/pg-quorum"
	(cd "$work/pg-quorum" && dpkg-buildpackage -b -us -uc -j"${PGQ_PG_JOBS:-2}") ||
		{ rm -rf "$work"; pgq_die "dpkg-buildpackage failed"; }
	rm -rf "$out"
	mkdir -p "$out"
	mv "$work"/*.deb "$out/"
	rm -rf "$work"
	for p in "${packages[@]}"; do
		compgen -G "$out/${p}_*.deb" >/dev/null || pgq_die "no package $p was built"
	done
	ls -l "$out"
}

# The checks and the suite; the caller purges the packages afterwards.
installed_checks()
{
	local pkglibdir sharedir owner cc_out pc libdir rc=0
	pgq_pg_env
	pkglibdir=$("$PG_CONFIG" --pkglibdir)
	sharedir=$("$PG_CONFIG" --sharedir)
	for f in "$pkglibdir/pg_quorum.so" "$sharedir/extension/pg_quorum.control" \
		"$PG_BINDIR/pg_quorum_rejoin"; do
		owner=$(dpkg -S "$f" 2>/dev/null | cut -d: -f1)
		if [ "$owner" = postgresql-15-pg-quorum ]; then
			echo "ok: $f from $owner"
		else
			echo "not ok: $f is not from postgresql-15-pg-quorum (${owner:-no package})"
			rc=1
		fi
	done
	if /usr/bin/quorum_witness --version >/dev/null &&
		[ -f /lib/systemd/system/quorum-witness.service ] &&
		grep -q '^ExecStart=/usr/bin/quorum_witness ' /lib/systemd/system/quorum-witness.service; then
		echo "ok: quorum-witness runs, and its unit starts /usr/bin/quorum_witness"
	else
		echo "not ok: quorum-witness's binary or systemd unit"
		rc=1
	fi
	# libquorum-dev: an embedder's build, through the package's pkg-config
	# file, named by path: a source "make install" puts another libquorum
	# (and .pc) under /usr/local, which pkg-config, the linker and ld.so
	# would prefer.
	cc_out=$(mktemp -d)
	pc=$(dpkg -L libquorum-dev | grep '/libquorum\.pc$' | head -n 1)
	libdir=$(pkg-config --variable=libdir "$pc" 2>/dev/null || true)
	if [ -n "$libdir" ] &&
		cc -std=c11 -D_GNU_SOURCE -o "$cc_out/leader_server" "$PGQ_ROOT/examples/leader_server.c" \
			$(pkg-config --cflags "$pc") -L"$libdir" $(pkg-config --libs "$pc") -lpthread &&
		LD_LIBRARY_PATH=$libdir ldd "$cc_out/leader_server" |
			grep -q "libquorum.so.0 => $libdir/libquorum.so.0 "; then
		echo "ok: examples/leader_server.c builds against libquorum-dev and links libquorum0"
	else
		echo "not ok: building examples/leader_server.c against libquorum-dev (${pc:-no .pc file})"
		rc=1
	fi
	rm -rf "$cc_out"
	[ "$rc" -eq 0 ] || echo "deb: a check of the installed packages failed"
	# The pgTAP suite against the packaged extension; its summary line is
	# the last one.
	bash "$PGQ_ROOT/scripts/sandbox.sh" bash scripts/run-sql-tests.sh || rc=1
	return "$rc"
}

test_debs()
{
	local debs=() rc=0
	for p in "${packages[@]}"; do
		debs+=("$(compgen -G "$out/${p}_*.deb" | head -n 1)")
	done
	[ -n "${debs[0]}" ] || pgq_die "no packages in $out (run make deb)"
	pgq_as_root dpkg -i "${debs[@]}" || {
		pgq_as_root dpkg -P "${packages[@]}" || true
		pgq_die "dpkg -i failed"
	}
	installed_checks || rc=1
	pgq_as_root dpkg -P "${packages[@]}" || rc=1
	return "$rc"
}

case "${1:-}" in
	build) build ;;
	test)
		if [ -z "${PGQ_SERIAL_LOCKED:-}" ]; then
			PGQ_SERIAL_LOCKED=1 exec flock /tmp/pgq-serial.lock bash "$0" test
		fi
		test_debs
		;;
	*) pgq_die "usage: scripts/deb.sh build|test" ;;
esac
