# mk/programs.mk: the programs built on libquorum, the ThreadSanitizer run
# of the threaded runtime, and the idle benchmark (included by Makefile).
#
#   make                  also builds build/quorum_witness (the witness
#                         daemon, witness/) and build/leader_server (the
#                         example host, examples/)
#   make check-tsan       test_runtime and test_runtime_thread under
#                         ThreadSanitizer, then the witness daemon's own
#                         tests (test/witness/test_witness.sh) against TSan builds
#                         of the daemon and the example; ends with one line
#                         "N passed, N failed" summing both
#   make bench-idle       idle CPU and resident memory of 5 threaded-runtime
#                         processes on 127.0.0.1 (measures, asserts nothing)
#   make bench-fence-cost the commit fence's operations timed on their own,
#                         in ns (test/bench/fence_cost.c; PGQ_BENCH_XACT_US
#                         = microseconds per transaction to compare with)
#   make install          also installs quorum_witness next to pg_ctl, where
#                         the cluster tests find it
#   make install-witness  quorum_witness, its systemd unit and an example
#                         configuration under QUORUM_PREFIX (/usr/local), for
#                         a witness machine without PostgreSQL

PROGRAMS = build/quorum_witness build/leader_server
PROGRAMS_CFLAGS = -std=c11 -D_GNU_SOURCE -O2 -g $(QUORUM_WARN) -Iinclude
PROGRAMS_LIBS = -lssl -lcrypto -lpthread
PROGRAMS_HEADERS := $(wildcard include/quorum/*.h)
WITNESS_SRCS = witness/quorum_witness.c witness/witness_state.c
PROGRAMS_BINDIR := $(shell $(PG_CONFIG) --bindir)

all: $(PROGRAMS)

build/quorum_witness: $(WITNESS_SRCS) witness/witness_state.h $(PROGRAMS_HEADERS) build/libquorum.a
	$(CC) $(PROGRAMS_CFLAGS) -o $@ $(WITNESS_SRCS) build/libquorum.a $(PROGRAMS_LIBS)

build/leader_server: examples/leader_server.c $(PROGRAMS_HEADERS) build/libquorum.a
	$(CC) $(PROGRAMS_CFLAGS) -o $@ $< build/libquorum.a $(PROGRAMS_LIBS)

# ThreadSanitizer builds: the plugin (with its internal assertions, like the
# other sanitizer builds), the runtime tests, and both programs.
PROGRAMS_TSAN = -fsanitize=thread -fno-omit-frame-pointer
PROGRAMS_TSAN_OBJS := $(patsubst plugin/%.c,build/tsan/plugin/%.o,$(QUORUM_SRCS))
PROGRAMS_TSAN_TESTS = build/tsan/unit/test_runtime build/tsan/unit/test_runtime_thread

build/tsan/plugin/%.o: plugin/%.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -O2,$(QUORUM_CFLAGS)) -O1 $(PROGRAMS_TSAN) -MMD -MP -c $< -o $@

build/tsan/libquorum.a: $(PROGRAMS_TSAN_OBJS)
	rm -f $@
	ar rcs $@ $^

build/tsan/unit/%.o: test/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) $(PROGRAMS_TSAN) -MMD -MP -c $< -o $@

build/tsan/unit/test_%: build/tsan/unit/test_%.o build/tsan/libquorum.a
	$(CC) $(PROGRAMS_TSAN) -o $@ $< build/tsan/libquorum.a -lcmocka $(PROGRAMS_LIBS)

build/tsan/quorum_witness: $(WITNESS_SRCS) witness/witness_state.h $(PROGRAMS_HEADERS) build/tsan/libquorum.a
	$(CC) $(filter-out -O2,$(PROGRAMS_CFLAGS)) -O1 $(PROGRAMS_TSAN) -o $@ $(WITNESS_SRCS) \
		build/tsan/libquorum.a $(PROGRAMS_LIBS)

build/tsan/leader_server: examples/leader_server.c $(PROGRAMS_HEADERS) build/tsan/libquorum.a
	$(CC) $(filter-out -O2,$(PROGRAMS_CFLAGS)) -O1 $(PROGRAMS_TSAN) -o $@ $< \
		build/tsan/libquorum.a $(PROGRAMS_LIBS)

# The runtime tests run through test/unit/unit.mk's UNIT_RUN, which counts
# cmocka's tests (a binary that exits non-zero with no failed test counts
# once); PROGRAMS_TSAN_WITNESS then adds the witness script's own line
# "witness: N passed, N failed", and one failure if it printed none or
# ThreadSanitizer reported.
define PROGRAMS_TSAN_WITNESS
	echo "== test/witness/test_witness.sh (TSan builds)"; \
	bash test/witness/test_witness.sh build/tsan/quorum_witness build/tsan/leader_server \
		2>&1 | tee build/tsan/test_witness.log; \
	line=$$(grep -E '^witness: [0-9]+ passed, [0-9]+ failed' build/tsan/test_witness.log | tail -n 1); \
	if [ -n "$$line" ]; then \
		set -- $$line; pass=$$((pass + $$2)); fail=$$((fail + $$4)); \
	else \
		echo "test/witness/test_witness.sh printed no summary"; fail=$$((fail + 1)); \
	fi; \
	if grep -q 'WARNING: ThreadSanitizer' build/tsan/test_witness.log; then \
		echo "ThreadSanitizer reported in the witness tests"; fail=$$((fail + 1)); \
	fi
endef

.PHONY: check-tsan bench-idle bench-fence-cost install-programs uninstall-programs \
	install-witness
check-tsan: export TSAN_OPTIONS = halt_on_error=1 second_deadlock_stack=1
check-tsan: $(PROGRAMS_TSAN_TESTS) build/tsan/quorum_witness build/tsan/leader_server
	$(call UNIT_RUN,$(PROGRAMS_TSAN_TESTS),$(PROGRAMS_TSAN_WITNESS))

bench-idle: $(PROGRAMS)
	@bash examples/bench_idle.sh $(PGQ_BENCH_SECONDS)

build/fence_cost: test/bench/fence_cost.c $(PROGRAMS_HEADERS) build/libquorum.a
	$(CC) $(PROGRAMS_CFLAGS) -o $@ $< build/libquorum.a $(PROGRAMS_LIBS)

bench-fence-cost: build/fence_cost
	@build/fence_cost 20 $(PGQ_BENCH_XACT_US)

install: install-programs
install-programs: build/quorum_witness
	$(MKDIR_P) '$(DESTDIR)$(PROGRAMS_BINDIR)'
	$(INSTALL_PROGRAM) build/quorum_witness '$(DESTDIR)$(PROGRAMS_BINDIR)/'

uninstall: uninstall-programs
uninstall-programs:
	rm -f '$(DESTDIR)$(PROGRAMS_BINDIR)/quorum_witness'

install-witness: build/quorum_witness
	install -d $(DESTDIR)$(QUORUM_PREFIX)/bin $(DESTDIR)$(QUORUM_PREFIX)/share/quorum-witness
	install -m 755 build/quorum_witness $(DESTDIR)$(QUORUM_PREFIX)/bin/
	install -m 644 witness/quorum-witness.service witness/quorum-witness.conf.example \
		$(DESTDIR)$(QUORUM_PREFIX)/share/quorum-witness/

.SECONDARY: $(PROGRAMS_TSAN_TESTS:=.o) $(PROGRAMS_TSAN_TESTS)

-include $(PROGRAMS_TSAN_OBJS:.o=.d) $(PROGRAMS_TSAN_TESTS:=.d)
