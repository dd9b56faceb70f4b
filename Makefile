# Makefile for pg_quorum: libquorum (plugin/) and the PostgreSQL extension.
#
# "make" builds build/libquorum.a, build/libquorum.so and pg_quorum.so;
# "make install" installs the extension through PGXS (and "make
# install-lib" the library for other servers).  The test targets are listed
# by "make help".

EXTENSION = pg_quorum
# The version has one source, the control file; everything derives it.
EXTVERSION := $(shell sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" pg_quorum.control)

MODULE_big = pg_quorum
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard extension/*.c)))
DATA = $(sort $(wildcard sql/pg_quorum--*.sql))
# libpq parses the members' conninfo for quorum.connection_string(), as
# dblink and postgres_fdw link it.
PG_CPPFLAGS = -Iinclude -I$(libpq_srcdir)
PG_CFLAGS = -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
SHLIB_LINK = build/libquorum.a -lssl -lcrypto
SHLIB_LINK_INTERNAL = $(libpq)
EXTRA_CLEAN = build

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

include mk/libquorum.mk
-include test/unit/unit.mk
-include test/sim/sim.mk
-include test/fuzz/fuzz.mk
-include mk/tests.mk
-include mk/tools.mk
-include mk/programs.mk
-include mk/matrix.mk

$(shlib): build/libquorum.a

.PHONY: check-meta help
# META.json must carry the control file's version (pg_cron's drift).
check-meta:
	@grep -q '"version": "$(EXTVERSION)"' META.json && \
	test "$$(grep -c '"version": "$(EXTVERSION)"' META.json)" -ge 2 && \
	echo "check-meta: META.json matches version $(EXTVERSION)" || \
	{ echo "check-meta: META.json does not carry version $(EXTVERSION) in both places"; exit 1; }

help:
	@echo "build:      all (libquorum, pg_quorum.so, tools, witness, example)  install  install-lib  install-witness"
	@echo "tests:      check-unit  check-unit-asan  check-tsan  check-sim  soak-sim  check-fuzz  check-meta"
	@echo "            installcheck (pgTAP, needs install)  check-cluster (PostgreSQL::Test::Cluster, needs install)"
	@echo "            chaos  soak-chaos  check-matrix  check-upgrade  check-broken-fence  deb  check-deb"
	@echo "benchmarks: bench-sim  bench-detection  bench-failover  bench-switchover  bench-fence  bench-fence-cost  bench-idle  bench-haproxy"
	@echo "everything: bash scripts/test.sh (installs what is missing, runs every suite, one closing line)"
