# Other PostgreSQL versions and the Debian packages (included by Makefile).
#
# "make check-matrix" builds, installs and tests pg_quorum (pgTAP and the
# cluster tests) against each version of PGQ_PG_VERSIONS; versions other
# than the system's 15 are built from Debian's source packages by
# scripts/pg-build.sh, into a cache outside the tree, and reused.  A
# version that does not build counts as failed.  "make deb" builds the
# Debian packages for the installed PostgreSQL 15 into build/deb/ and "make
# check-deb" tests them (see scripts/deb.sh).  "make check-upgrade" runs
# the rolling upgrade test: servers of the previous release
# (scripts/old-build.sh) replaced one by one by servers of this tree's
# build, on PostgreSQL PGQ_UPGRADE_PG_VERSION (the previous release, 0.1,
# runs on 15 only).  "make check-broken-fence" shows the fault campaign's
# history checker firing on a build without the fence's post-commit check.

PGQ_PG_VERSIONS ?= 15 17 18
PGQ_UPGRADE_PG_VERSION ?= 15

.PHONY: check-matrix deb check-deb check-upgrade check-broken-fence

check-matrix:
	@pass=0; fail=0; failed=""; \
	for v in $(PGQ_PG_VERSIONS); do \
		if bash scripts/pg-matrix.sh $$v all; then pass=$$((pass + 1)); \
		else fail=$$((fail + 1)); failed="$$failed $$v"; fi; \
	done; \
	echo "check-matrix: PostgreSQL $(PGQ_PG_VERSIONS); failed:$${failed:- none}"; \
	echo "$$pass passed, $$fail failed"; \
	[ $$fail -eq 0 ]

deb:
	@bash scripts/deb.sh build

check-deb:
	@bash scripts/deb.sh test

check-upgrade:
	@bash scripts/pg-matrix.sh $(PGQ_UPGRADE_PG_VERSION) upgrade

check-broken-fence:
	@bash scripts/pg-matrix.sh $(PGQ_UPGRADE_PG_VERSION) broken-fence
