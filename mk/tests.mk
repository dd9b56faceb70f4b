# Test targets that need running PostgreSQL servers (included by Makefile).
#
# Both run through scripts/sandbox.sh: as root the servers run as the
# postgres user in a private network namespace, otherwise as the caller.
# They test the installed extension ("make install" first).
#
# PGXS also declares "installcheck", without a recipe when REGRESS is
# unset (as here), so this recipe is the one that runs.

.PHONY: installcheck check-cluster chaos soak-chaos bench-detection bench-failover \
	bench-switchover bench-fence bench-haproxy

# pgTAP: pg_prove over test/sql/*.sql against a temporary server.
installcheck:
	@bash scripts/sandbox.sh bash scripts/run-sql-tests.sh

# Multi-server tests: prove test/cluster (PostgreSQL::Test::Cluster);
# "make check-cluster PROVE_FLAGS=-v" shows every test and note.
check-cluster:
	@PROVE_FLAGS='$(PROVE_FLAGS)' bash scripts/sandbox.sh bash scripts/run-cluster-tests.sh

# The fault campaign's short set (test/chaos): the checker's self-test and
# a few seeded runs of overlapping faults; "make chaos CHAOS_SET='SEED
# SERVERS MODE DURATION KINDS'" runs that one instead (SERVERS 3, 5 or 2w).
chaos:
	@bash scripts/sandbox.sh bash scripts/run-chaos.sh $(if $(CHAOS_SET),'$(CHAOS_SET)')

# The campaign's long run, outside CI: CHAOS_RUNS seeds from CHAOS_FROM,
# each in CHAOS_MODES ("sync async"); resumable, results accumulate per
# version of the code it runs under docs/soak/ (see scripts/chaos-soak.sh).
soak-chaos:
	@CHAOS_RUNS='$(CHAOS_RUNS)' CHAOS_FROM='$(CHAOS_FROM)' CHAOS_MODES='$(CHAOS_MODES)' \
		CHAOS_DURATION='$(CHAOS_DURATION)' CHAOS_KINDS='$(CHAOS_KINDS)' bash scripts/chaos-soak.sh

# Failure detection time on real servers (measures, asserts nothing).
bench-detection:
	@bash scripts/sandbox.sh perl test/bench/detection.pl $(PGQ_BENCH_RUNS)

# Failover: kill -9 of the postmaster, of every process, pg_ctl stop -m
# fast and quorum.failover() of the primary, and kill -9 of the postmaster
# while the standbys have a replay backlog, each to the first acknowledged
# write on another server, in synchronous and asynchronous mode (measures,
# asserts nothing); PGQ_BENCH_CASES, PGQ_BENCH_MODES and PGQ_BENCH_DIRTY_MB
# narrow or change it.
PGQ_BENCH_CASES ?= postmaster all stop switchover backlog
PGQ_BENCH_MODES ?= sync async
bench-failover:
	@for c in $(PGQ_BENCH_CASES); do for m in $(PGQ_BENCH_MODES); do \
		bash scripts/sandbox.sh perl test/bench/failover.pl $(or $(PGQ_BENCH_RUNS),5) $$c $$m \
		  $(PGQ_BENCH_DIRTY_MB) || exit 1; done; done

# Planned switchover: quorum.failover() to the first acknowledged write on
# the target.
bench-switchover:
	@bash scripts/sandbox.sh perl test/bench/switchover.pl $(PGQ_BENCH_RUNS)

# kill -9 of the primary to the first write through HAProxy, which checks
# GET /primary on the HTTP endpoint.
bench-haproxy:
	@bash scripts/sandbox.sh perl test/bench/haproxy.pl $(PGQ_BENCH_RUNS)

# pgbench throughput with and without pg_quorum loaded, interleaved.
bench-fence:
	@bash scripts/sandbox.sh perl test/bench/fence_overhead.pl $(PGQ_BENCH_RUNS)
