# test/sim/sim.mk: the deterministic simulator, included by the top-level
# Makefile.
#
#   make check-sim   fixed scenarios, the broken-core checks, sim-fuzz seeds
#                    (over 10^6 steps); ends with "N passed, N failed"
#   make soak-sim    sim-fuzz on many more seeds and steps (SOAK_SEEDS,
#                    SOAK_STEPS); every failure prints its replay command
#   make bench-sim   dissemination, bandwidth and election benchmarks
#
# The simulator links the real plugin sources, compiled here a second time
# with -DQUORUM_SIMULATION into build/sim/, and once more for each core that
# is broken on purpose, to show that a checker can fail: -DQUORUM_BREAK_REFUTE
# (never refutes) into build/sim-broken/, -DQUORUM_BREAK_VOTE_PERSIST (the
# vote never reaches the disk) into build/sim-break-vote/, and
# -DQUORUM_BREAK_LEASE (a lease longer than the election timeout) into
# build/sim-break-lease/.  runtime.c is left out: it owns real sockets and
# clocks, which the simulator replaces.

SIM_PLUGIN_SRCS := $(filter-out plugin/runtime.c,$(QUORUM_SRCS))
SIM_PLUGIN_OBJS := $(patsubst plugin/%.c,build/sim/plugin/%.o,$(SIM_PLUGIN_SRCS))
SIM_BROKEN_OBJS := $(patsubst plugin/%.c,build/sim-broken/plugin/%.o,$(SIM_PLUGIN_SRCS))
SIM_BREAK_VOTE_OBJS := $(patsubst plugin/%.c,build/sim-break-vote/plugin/%.o,$(SIM_PLUGIN_SRCS))
SIM_BREAK_LEASE_OBJS := $(patsubst plugin/%.c,build/sim-break-lease/plugin/%.o,$(SIM_PLUGIN_SRCS))

SIM_COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
SIM_CFLAGS = -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wshadow \
	-Iinclude -Itest/sim -Iplugin -DSIM_COMMIT='"$(SIM_COMMIT)"'
SIM_LIBS = $(QUORUM_LIBS) -lm

# Objects that print the commit are rebuilt when HEAD moves.
SIM_COMMIT_STAMP := build/sim/commit-$(SIM_COMMIT).stamp
SIM_MAIN_OBJS := build/sim/obj/main_scenarios.o build/sim/obj/main_fuzz.o \
	$(patsubst test/sim/%.c,build/sim/obj/%.o,$(wildcard test/sim/bench_*.c))

$(SIM_COMMIT_STAMP):
	@mkdir -p $(dir $@)
	@rm -f build/sim/commit-*.stamp
	@touch $@

$(SIM_MAIN_OBJS): $(SIM_COMMIT_STAMP)

SIM_LIB_SRCS := test/sim/sim.c test/sim/net.c test/sim/host.c test/sim/check.c \
	test/sim/check_election.c test/sim/wal.c
SIM_LIB_OBJS := $(patsubst test/sim/%.c,build/sim/obj/%.o,$(SIM_LIB_SRCS))
SIM_SCENARIO_SRCS := $(sort $(wildcard test/sim/scenarios/*.c))
SIM_SCENARIO_OBJS := $(patsubst test/sim/%.c,build/sim/obj/%.o,$(SIM_SCENARIO_SRCS))

build/sim/plugin/%.o: plugin/%.c
	@mkdir -p $(dir $@)
	$(CC) $(QUORUM_CFLAGS) -DQUORUM_SIMULATION -MMD -MP -c $< -o $@

build/sim-broken/plugin/%.o: plugin/%.c
	@mkdir -p $(dir $@)
	$(CC) $(QUORUM_CFLAGS) -DQUORUM_SIMULATION -DQUORUM_BREAK_REFUTE -MMD -MP -c $< -o $@

build/sim-break-vote/plugin/%.o: plugin/%.c
	@mkdir -p $(dir $@)
	$(CC) $(QUORUM_CFLAGS) -DQUORUM_SIMULATION -DQUORUM_BREAK_VOTE_PERSIST -MMD -MP -c $< -o $@

build/sim-break-lease/plugin/%.o: plugin/%.c
	@mkdir -p $(dir $@)
	$(CC) $(QUORUM_CFLAGS) -DQUORUM_SIMULATION -DQUORUM_BREAK_LEASE -MMD -MP -c $< -o $@

build/sim/obj/%.o: test/sim/%.c
	@mkdir -p $(dir $@)
	$(CC) $(SIM_CFLAGS) -MMD -MP -c $< -o $@

build/sim/libquorum-sim.a: $(SIM_PLUGIN_OBJS)
	rm -f $@
	ar rcs $@ $^

build/sim-broken/libquorum-sim.a: $(SIM_BROKEN_OBJS)
	rm -f $@
	ar rcs $@ $^

build/sim-break-vote/libquorum-sim.a: $(SIM_BREAK_VOTE_OBJS)
	rm -f $@
	ar rcs $@ $^

build/sim-break-lease/libquorum-sim.a: $(SIM_BREAK_LEASE_OBJS)
	rm -f $@
	ar rcs $@ $^

build/sim/sim-test: build/sim/obj/main_scenarios.o $(SIM_SCENARIO_OBJS) $(SIM_LIB_OBJS) build/sim/libquorum-sim.a
	$(CC) -o $@ $^ $(SIM_LIBS)

build/sim-broken/sim-test: build/sim/obj/main_scenarios.o $(SIM_SCENARIO_OBJS) $(SIM_LIB_OBJS) build/sim-broken/libquorum-sim.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(SIM_LIBS)

build/sim-break-vote/sim-test: build/sim/obj/main_scenarios.o $(SIM_SCENARIO_OBJS) $(SIM_LIB_OBJS) build/sim-break-vote/libquorum-sim.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(SIM_LIBS)

build/sim-break-lease/sim-test: build/sim/obj/main_scenarios.o $(SIM_SCENARIO_OBJS) $(SIM_LIB_OBJS) build/sim-break-lease/libquorum-sim.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(SIM_LIBS)

# Issue 9's timing fixes, each removed in a core of its own:
# QUORUM_BREAK_PROMISE (the lease ignores the voters' own election timeouts),
# QUORUM_BREAK_STAMP (inputs read after a stalled persist carry the pass's
# start) and QUORUM_BREAK_SUSPEND (the runtime's clock is CLOCK_MONOTONIC).
define SIM_BREAK_BUILD
SIM_BREAK_$(1)_OBJS := $$(patsubst plugin/%.c,build/sim-break-$(2)/plugin/%.o,$$(SIM_PLUGIN_SRCS))

build/sim-break-$(2)/plugin/%.o: plugin/%.c
	@mkdir -p $$(dir $$@)
	$$(CC) $$(QUORUM_CFLAGS) -DQUORUM_SIMULATION -DQUORUM_BREAK_$(1) -MMD -MP -c $$< -o $$@

build/sim-break-$(2)/libquorum-sim.a: $$(SIM_BREAK_$(1)_OBJS)
	rm -f $$@
	ar rcs $$@ $$^

build/sim-break-$(2)/sim-test: build/sim/obj/main_scenarios.o $$(SIM_SCENARIO_OBJS) $$(SIM_LIB_OBJS) build/sim-break-$(2)/libquorum-sim.a
	@mkdir -p $$(dir $$@)
	$$(CC) -o $$@ $$^ $$(SIM_LIBS)

SIM_BINS += build/sim-break-$(2)/sim-test
-include $$(SIM_BREAK_$(1)_OBJS:.o=.d)
endef

build/sim/sim-fuzz: build/sim/obj/main_fuzz.o $(SIM_LIB_OBJS) build/sim/libquorum-sim.a
	$(CC) -o $@ $^ $(SIM_LIBS)

build/sim/bench-%: build/sim/obj/bench_%.o build/sim/obj/bench_common.o $(SIM_LIB_OBJS) build/sim/libquorum-sim.a
	$(CC) -o $@ $^ $(SIM_LIBS)

SIM_BINS = build/sim/sim-test build/sim-broken/sim-test build/sim/sim-fuzz \
	build/sim-break-vote/sim-test build/sim-break-lease/sim-test
SIM_BENCHES = build/sim/bench-dissemination build/sim/bench-bandwidth \
	build/sim/bench-election
$(eval $(call SIM_BREAK_BUILD,PROMISE,promise))
$(eval $(call SIM_BREAK_BUILD,STAMP,stamp))
$(eval $(call SIM_BREAK_BUILD,SUSPEND,suspend))
$(eval $(call SIM_BREAK_BUILD,STALE_VOTE,stale-vote))
$(eval $(call SIM_BREAK_BUILD,PAUSE_PROMOTE,pause))
$(eval $(call SIM_BREAK_BUILD,MEMBER_ID,member-id))
$(eval $(call SIM_BREAK_BUILD,PAUSED_CAMPAIGN,paused-campaign))

SOAK_SEEDS ?= 200
SOAK_STEPS ?= 1000000

.PHONY: sim check-sim soak-sim bench-sim
sim: $(SIM_BINS) $(SIM_BENCHES)

check-sim: $(SIM_BINS)
	@bash test/sim/check-sim.sh build/sim build/sim-broken build/sim-break-vote build/sim-break-lease \
		build/sim-break-promise build/sim-break-stamp build/sim-break-suspend \
		build/sim-break-stale-vote build/sim-break-pause build/sim-break-member-id \
		build/sim-break-paused-campaign

soak-sim: build/sim/sim-fuzz
	@bash test/sim/soak-sim.sh build/sim $(SOAK_SEEDS) $(SOAK_STEPS)

# Benchmarks take longer than the tests; the defaults stop at N = 1000, and
# test/sim/README.md gives the commands and figures for larger N.
bench-sim: $(SIM_BENCHES)
	build/sim/bench-dissemination
	build/sim/bench-bandwidth
	build/sim/bench-election

-include $(SIM_PLUGIN_OBJS:.o=.d) $(SIM_BROKEN_OBJS:.o=.d)
-include $(SIM_BREAK_VOTE_OBJS:.o=.d) $(SIM_BREAK_LEASE_OBJS:.o=.d)
-include $(SIM_LIB_OBJS:.o=.d) $(SIM_SCENARIO_OBJS:.o=.d)
-include build/sim/obj/main_scenarios.d build/sim/obj/main_fuzz.d
-include $(patsubst test/sim/%.c,build/sim/obj/%.d,$(wildcard test/sim/bench_*.c))
