#!/usr/bin/env bash
# scripts/pg-matrix.sh VERSION STEP: one step of the suites against
# PostgreSQL VERSION, for scripts/test.sh and "make check-matrix".
#
#   build    scripts/pg-build.sh VERSION (reused when cached), then
#            "make all" in a copy of this tree
#   install  "make install" of that copy into VERSION's prefix
#   pgtap    "make installcheck" there
#   cluster  "make check-cluster" there
#   all      the four, in order, stopping at the first that fails
#   upgrade  the rolling upgrade test (test/cluster/upgrade/) on two copies
#            of VERSION's installation: the previous release
#            (scripts/old-build.sh) in one, this tree's build ("make
#            install" of the tree "build" made) in the other; no lock,
#            since neither is the system's.  The previous release, 0.1,
#            runs on 15 only.
#   broken-fence  this tree built without the fence's post-commit check
#            (-DQUORUM_BREAK_POST_COMMIT) into a copy of VERSION's
#            installation, and test/cluster/broken/: the fault campaign's
#            history checker must report the commits it answers late.
#
# For any VERSION but 15 the copy lives next to VERSION's prefix in the
# cache (scripts/lib.sh's pgq_pg_cache), so that its objects never mix with
# this tree's, and it installs into VERSION's own prefix, which no other
# suite uses: no lock is needed.  That prefix keeps the last install, so
# build forgets it and install records a good one: pgtap and cluster fail
# at once instead of testing what an earlier tree installed.  VERSION 15 is the system's server, which
# other work on this machine installs into too: its steps run in this tree,
# and install+test hold /tmp/pgq-serial.lock.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

version=${1:-}
step=${2:-}
[ -n "$version" ] && [ -n "$step" ] ||
	pgq_die "usage: scripts/pg-matrix.sh VERSION build|install|pgtap|cluster|all|upgrade|broken-fence"

unset PG_CONFIG
export PGQ_PG_VERSION=$version

if [ "$version" = 15 ]; then
	tree=$PGQ_ROOT
	installed=
else
	tree=$(pgq_pg_cache)/tree-$version
	installed=$tree.installed
fi

run_make()
{
	pgq_pg_env
	pgq_log "PostgreSQL $version ($PG_CONFIG): make $*"
	make -C "$tree" --no-print-directory PG_CONFIG="$PG_CONFIG" "$@"
}

# The system's 15 is shared with other work on this machine: install and
# test it under the lock, taken once (PGQ_SERIAL_LOCKED) when "all" holds
# it over install and tests together.
# Only an install of the copy's last build is worth testing.
need_install()
{
	if [ -n "$installed" ] && [ ! -e "$installed" ]; then
		echo "pg-matrix: PostgreSQL $version holds no install of this tree's last build" \
			"(its build or install failed or did not run): not testing an older one"
		echo "0 passed, 1 failed"
		exit 1
	fi
}

locked()
{
	if [ "$version" = 15 ] && [ -z "${PGQ_SERIAL_LOCKED:-}" ]; then
		PGQ_SERIAL_LOCKED=1 flock /tmp/pgq-serial.lock "$@"
	else
		"$@"
	fi
}

case "$step" in
	build)
		[ -z "$installed" ] || rm -f "$installed"
		pgc=$(bash "$PGQ_ROOT/scripts/pg-build.sh" "$version" | tail -n 1)
		[ -x "$pgc" ] || pgq_die "scripts/pg-build.sh $version gave no pg_config"
		if [ "$tree" != "$PGQ_ROOT" ]; then
			pgq_copy_tree "$tree"
		fi
		run_make -j"${PGQ_PG_JOBS:-2}" all
		;;
	install)
		# Only the system's 15 needs root; a built version's prefix is ours.
		if pgq_is_root || [ "$version" != 15 ]; then
			locked bash "$0" "$version" install-as-is
		else
			locked sudo -E bash "$0" "$version" install-as-is
		fi
		;;
	install-as-is)
		run_make install
		[ -z "$installed" ] || touch "$installed"
		;;
	pgtap)
		need_install
		locked bash "$0" "$version" make-installcheck
		;;
	cluster)
		need_install
		locked bash "$0" "$version" make-check-cluster
		;;
	upgrade)
		old=$(bash "$PGQ_ROOT/scripts/old-build.sh" "$version" | tail -n 1)
		pgq_pg_env
		new=$(pgq_pg_copy "$PG_CONFIG" "$(pgq_pg_cache)/pg-$version-new")
		pgq_log "PostgreSQL $version: this tree into $new"
		make -C "$tree" --no-print-directory PG_CONFIG="$new/bin/pg_config" install >/dev/null
		PGQ_UPGRADE_OLD=$old PGQ_UPGRADE_NEW=$new bash "$PGQ_ROOT/scripts/sandbox.sh" \
			bash scripts/run-cluster-tests.sh test/cluster/upgrade/060_rolling_upgrade.pl
		;;
	broken-fence)
		# The campaign's checker must fire on a build that answers commits
		# after its lease ended: this tree without the fence's post-commit
		# check, in a copy of VERSION's installation (no lock needed).
		broken_tree=$(pgq_pg_cache)/tree-$version-broken
		pgq_copy_tree "$broken_tree"
		pgq_pg_env
		broken=$(pgq_pg_copy "$PG_CONFIG" "$(pgq_pg_cache)/pg-$version-broken")
		pgq_log "PostgreSQL $version: this tree with -DQUORUM_BREAK_POST_COMMIT into $broken"
		make -C "$broken_tree" --no-print-directory -j"${PGQ_PG_JOBS:-2}" \
			PG_CONFIG="$broken/bin/pg_config" COPT=-DQUORUM_BREAK_POST_COMMIT all install >/dev/null
		PGQ_BROKEN_INSTALL=$broken bash "$PGQ_ROOT/scripts/sandbox.sh" \
			bash scripts/run-cluster-tests.sh test/cluster/broken/070_checker_late_commit.pl
		;;
	make-installcheck|make-check-cluster)
		run_make "${step#make-}"
		;;
	all)
		bash "$0" "$version" build || exit 1
		locked bash -c 'for s in install pgtap cluster; do bash "$0" "$1" "$s" || exit 1; done' \
			"$0" "$version"
		;;
	*)
		pgq_die "unknown step \"$step\" (build, install, pgtap, cluster, all, upgrade or broken-fence)"
		;;
esac
