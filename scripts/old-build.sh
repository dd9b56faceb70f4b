#!/usr/bin/env bash
# scripts/old-build.sh [VERSION]: build the previous release of pg_quorum
# (the one operators run before they upgrade to this tree) for PostgreSQL
# VERSION (default 15), into an installation of its own, and print the
# directory holding its bin and lib on the last line of stdout; the rolling
# upgrade test (test/cluster/upgrade/) runs servers of both releases.
#
# The previous release is the last commit on this branch's first-parent
# line whose pg_quorum.control has another default_version than this
# tree's (PGQ_OLD_REV overrides it).  That needs the history: a shallow
# clone has none.  The commit is exported with "git archive" into the cache
# (scripts/lib.sh's pgq_pg_cache), built there and installed into
# pg-VERSION-old, a copy of VERSION's installation (scripts/lib.sh's
# pgq_pg_copy).  A copy whose stamp names the same commit and the same
# PostgreSQL is reused.
#
# 0.1 was written for PostgreSQL 15 only: built against 17 it compiles with
# warnings (functions that 17 renamed or changed) and does not work.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

version=${1:-15}

# default_version of the pg_quorum.control given on stdin.
control_version()
{
	sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p"
}

# The newest first-parent commit before the one that changed default_version
# to this tree's.
previous_release()
{
	local cur c
	cur=$(control_version <"$PGQ_ROOT/pg_quorum.control")
	git -C "$PGQ_ROOT" rev-parse --git-dir >/dev/null 2>&1 ||
		pgq_die "$PGQ_ROOT is not a git checkout: set PGQ_OLD_REV to the previous release's commit"
	[ "$(git -C "$PGQ_ROOT" rev-parse --is-shallow-repository)" = false ] ||
		pgq_die "a shallow clone lacks the previous release: git fetch --unshallow, or set PGQ_OLD_REV"
	for c in $(git -C "$PGQ_ROOT" rev-list --first-parent HEAD -- pg_quorum.control); do
		git -C "$PGQ_ROOT" rev-parse -q --verify "$c^" >/dev/null || continue
		if [ "$(git -C "$PGQ_ROOT" show "$c^:pg_quorum.control" | control_version)" != "$cur" ]; then
			git -C "$PGQ_ROOT" rev-parse "$c^"
			return
		fi
	done
	pgq_die "no commit before this tree's default_version $cur"
}

if [ -n "${PGQ_OLD_REV:-}" ]; then
	rev=$(git -C "$PGQ_ROOT" rev-parse --verify "$PGQ_OLD_REV^{commit}") ||
		pgq_die "PGQ_OLD_REV=$PGQ_OLD_REV is not a commit"
else
	rev=$(previous_release)
fi
old_version=$(git -C "$PGQ_ROOT" show "$rev:pg_quorum.control" | control_version)

if [ "$version" != 15 ]; then
	bash "$PGQ_ROOT/scripts/pg-build.sh" "$version" >/dev/null
fi
unset PG_CONFIG
PGQ_PG_VERSION=$version pgq_pg_env
cache=$(pgq_pg_cache)
dest=$cache/pg-$version-old
src=$cache/old-src-$version
stamp_file=$dest/.pg_quorum-old-complete
inst=$dest$(cd "$PG_BINDIR/.." && pwd)
stamp_text="pg_quorum $old_version at $rev; $("$PG_CONFIG" --version), configured $("$PG_CONFIG" --configure | md5sum | cut -c1-32)"

if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp_text" ] &&
	[ -x "$inst/bin/pg_config" ]; then
	echo "old-build: pg_quorum $old_version (${rev:0:12}) reused from $dest" >&2
	echo "$inst"
	exit 0
fi

t0=$(date +%s)
pgq_log "pg_quorum $old_version (${rev:0:12}) for PostgreSQL $version into $dest" >&2
# Built in place: the build records the installation's directories
# (pg_quorum_rejoin finds pg_rewind through them), so the copy cannot be
# moved afterwards; the stamp, written last, marks a finished one.
pgq_pg_copy "$PG_CONFIG" "$dest" >/dev/null
rm -rf "$src"
mkdir -p "$src"
git -C "$PGQ_ROOT" archive "$rev" | tar -C "$src" -x
make -C "$src" --no-print-directory -j"${PGQ_PG_JOBS:-2}" PG_CONFIG="$inst/bin/pg_config" all >&2
make -C "$src" --no-print-directory PG_CONFIG="$inst/bin/pg_config" install >&2
[ "$(control_version <"$("$inst/bin/pg_config" --sharedir)/extension/pg_quorum.control")" = "$old_version" ] ||
	pgq_die "$inst does not hold pg_quorum $old_version after its install"
echo "$stamp_text" >"$stamp_file"
echo "old-build: pg_quorum $old_version built in $(($(date +%s) - t0)) s" >&2
echo "$inst"
