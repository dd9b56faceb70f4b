# test/fuzz/fuzz.mk: libFuzzer targets, one per decoder, included by the
# top-level Makefile.
#
#   make fuzz          build build/fuzz/fuzz_{wire,unseal,keyring,http,durable,history}
#   make check-fuzz    run each for FUZZ_SECONDS from its committed seeds in
#                      test/fuzz/corpus/<target>/; ends "N passed, N failed"
#   make fuzz-corpus   regenerate the committed seeds (gen_corpus.c)
#
# The plugin sources a target needs are compiled again with the fuzzer's
# instrumentation into build/fuzz/plugin/, so a target does not depend on
# the rest of libquorum.  New inputs go to build/fuzz/work/<target>/, never
# into the committed seeds; crashes go to build/fuzz/artifacts/.  libFuzzer
# writes what it finds into its first corpus directory, so a run by hand
# names the work directory first, as check-fuzz does:
#
#   build/fuzz/fuzz_wire build/fuzz/work/wire test/fuzz/corpus/wire

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 20
FUZZ_TARGETS := wire unseal keyring http durable history
FUZZ_BINS := $(addprefix build/fuzz/fuzz_,$(FUZZ_TARGETS))
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Iinclude -Iplugin $(FUZZ_SAN)

# The plugin objects each target links.
FUZZ_OBJS_wire := wire error
FUZZ_OBJS_unseal := seal error
FUZZ_OBJS_keyring := keyring error
FUZZ_OBJS_durable := durable error
FUZZ_OBJS_http :=
FUZZ_OBJS_history :=

# The HTTP request parser is the extension's, and includes no PostgreSQL
# header; its seeds are hand-written requests.
build/fuzz/fuzz_http.o: FUZZ_CFLAGS += -Iextension
build/fuzz/fuzz_http: build/fuzz/extension/http_parse.o
# So does the timeline history parser; its seeds are hand-written files.
build/fuzz/fuzz_history.o: FUZZ_CFLAGS += -Iextension
build/fuzz/fuzz_history: build/fuzz/extension/timeline_history.o
build/fuzz/extension/%.o: extension/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

build/fuzz/plugin/%.o: plugin/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

build/fuzz/%.o: test/fuzz/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

define FUZZ_LINK_RULE
build/fuzz/fuzz_$(1): build/fuzz/fuzz_$(1).o $(patsubst %,build/fuzz/plugin/%.o,$(FUZZ_OBJS_$(1)))
	$$(FUZZ_CC) $$(FUZZ_SAN) -fsanitize=fuzzer -o $$@ $$^ -lssl -lcrypto
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_LINK_RULE,$(t))))

build/fuzz/gen_corpus: test/fuzz/gen_corpus.c build/fuzz/plugin/wire.o \
		build/fuzz/plugin/seal.o build/fuzz/plugin/durable.o build/fuzz/plugin/error.o
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^ -lssl -lcrypto

.PHONY: fuzz check-fuzz fuzz-corpus
fuzz: $(FUZZ_BINS)

fuzz-corpus: build/fuzz/gen_corpus
	mkdir -p $(addprefix test/fuzz/corpus/,$(FUZZ_TARGETS))
	build/fuzz/gen_corpus test/fuzz/corpus

# A target passes when libFuzzer exits 0 after FUZZ_SECONDS: no crash, no
# sanitizer report, no failed check, no leak, no timeout.
check-fuzz: $(FUZZ_BINS)
	@pass=0; fail=0; \
	for t in $(FUZZ_TARGETS); do \
		mkdir -p build/fuzz/work/$$t build/fuzz/artifacts; \
		echo "== fuzz_$$t for $(FUZZ_SECONDS)s"; \
		if build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
			-rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix=build/fuzz/artifacts/$$t- \
			build/fuzz/work/$$t test/fuzz/corpus/$$t \
			> build/fuzz/fuzz_$$t.log 2>&1; then \
			tail -n 12 build/fuzz/fuzz_$$t.log | grep -E '^(stat::number_of_executed_units|Done)' ; \
			pass=$$((pass + 1)); \
		else \
			tail -n 40 build/fuzz/fuzz_$$t.log; \
			echo "fuzz_$$t FAILED: see build/fuzz/fuzz_$$t.log and build/fuzz/artifacts/"; \
			fail=$$((fail + 1)); \
		fi; \
	done; \
	echo "$$pass passed, $$fail failed"; \
	test $$fail -eq 0

-include $(wildcard build/fuzz/*.d build/fuzz/plugin/*.d build/fuzz/extension/*.d)
