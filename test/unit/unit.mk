# test/unit/unit.mk: C unit tests of libquorum (cmocka), included by the
# top-level Makefile.
#
#   make check-unit       every test/unit/test_*.c against build/libquorum.a
#   make check-unit-asan  the same tests, with the plugin sources and the
#                         tests built with ASan + UBSan into build/asan/
#
# Each test binary is one cmocka program, linked with the shared test pump
# (test/unit/pump.c, the small fake network of the multi-node tests; it
# defines no tests of its own).  Both targets end with one line
# "N passed, N failed" that sums the tests of every binary; a binary that
# dies before cmocka reports (a sanitizer abort, a crash outside a test)
# counts as one more failure.

UNIT_SRCS := $(sort $(wildcard test/unit/test_*.c))
UNIT_BINS := $(patsubst test/unit/%.c,build/unit/%,$(UNIT_SRCS))
UNIT_ASAN_BINS := $(patsubst test/unit/%.c,build/asan/unit/%,$(UNIT_SRCS))
UNIT_SHARED_OBJS := build/unit/pump.o
UNIT_ASAN_SHARED_OBJS := build/asan/unit/pump.o

UNIT_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Wno-unused-parameter \
	-Iinclude -Iplugin -Itest/unit
UNIT_LIBS = -lcmocka $(QUORUM_LIBS)

UNIT_SAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
UNIT_ASAN_QUORUM_CFLAGS = $(filter-out -O2,$(QUORUM_CFLAGS)) -O1 $(UNIT_SAN)
UNIT_ASAN_OBJS := $(patsubst plugin/%.c,build/asan/plugin/%.o,$(QUORUM_SRCS))

build/unit/%.o: test/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -MMD -MP -c $< -o $@

build/unit/test_%: build/unit/test_%.o $(UNIT_SHARED_OBJS) build/libquorum.a
	$(CC) -o $@ $< $(UNIT_SHARED_OBJS) build/libquorum.a $(UNIT_LIBS)

build/asan/plugin/%.o: plugin/%.c
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_ASAN_QUORUM_CFLAGS) -MMD -MP -c $< -o $@

build/asan/libquorum.a: $(UNIT_ASAN_OBJS)
	rm -f $@
	ar rcs $@ $^

build/asan/unit/%.o: test/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) $(UNIT_SAN) -MMD -MP -c $< -o $@

build/asan/unit/test_%: build/asan/unit/test_%.o $(UNIT_ASAN_SHARED_OBJS) build/asan/libquorum.a
	$(CC) $(UNIT_SAN) -o $@ $< $(UNIT_ASAN_SHARED_OBJS) build/asan/libquorum.a $(UNIT_LIBS)

# Runs the binaries in $(1) and prints the summary.  Passed tests are the
# "[       OK ]" lines; a test that started ("[ RUN      ]") without one
# failed, whether cmocka caught it or the process died in it.  $(2), if
# given, is more shell commands run after the binaries and before the
# summary, which add their own counts to the shell variables pass and fail
# (check-tsan's witness tests, mk/programs.mk).
define UNIT_RUN
	@pass=0; fail=0; \
	for t in $(1); do \
		echo "== $$t"; \
		$$t > $$t.log 2>&1; rc=$$?; \
		cat $$t.log; \
		run=$$(grep -c '^\[ RUN      \]' $$t.log); \
		ok=$$(grep -c '^\[       OK \]' $$t.log); \
		bad=$$((run - ok)); \
		if [ $$rc -ne 0 ] && [ $$bad -eq 0 ]; then \
			echo "$$t: exited with status $$rc"; bad=1; \
		fi; \
		pass=$$((pass + ok)); fail=$$((fail + bad)); \
	done; \
	$(if $(2),$(2); )echo "$$pass passed, $$fail failed"; \
	test $$fail -eq 0
endef

.PHONY: check-unit check-unit-asan
check-unit: $(UNIT_BINS)
	$(call UNIT_RUN,$(UNIT_BINS))

check-unit-asan: export ASAN_OPTIONS = detect_leaks=1:abort_on_error=0:strict_string_checks=1
check-unit-asan: export UBSAN_OPTIONS = print_stacktrace=1:halt_on_error=1
check-unit-asan: $(UNIT_ASAN_BINS)
	$(call UNIT_RUN,$(UNIT_ASAN_BINS))

# Test binaries are not intermediate: keep them for debugging.
.SECONDARY: $(UNIT_BINS:=.o) $(UNIT_ASAN_BINS:=.o) $(UNIT_BINS) $(UNIT_ASAN_BINS) \
	$(UNIT_SHARED_OBJS) $(UNIT_ASAN_SHARED_OBJS)

-include $(UNIT_BINS:=.d) $(UNIT_ASAN_BINS:=.d) $(UNIT_ASAN_OBJS:.o=.d) \
	$(UNIT_SHARED_OBJS:.o=.d) $(UNIT_ASAN_SHARED_OBJS:.o=.d)
