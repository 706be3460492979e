# Fuzz harnesses (libFuzzer): tests/fuzz/fuzz_NAME.c, each with its seed
# corpus in tests/fuzz/corpus/NAME/. `make fuzz` builds them with clang and
# the sanitizers in build/fuzz/ and runs each for FUZZ_SECONDS (default 30).
FUZZERS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzzers/%,$(wildcard tests/fuzz/fuzz_*.c))
# Harnesses may reach into the libraries' internals.
$(BUILD)/tests/fuzz/%.o: MODULE_INCLUDES = $(CONTEXT_INCLUDES) -Ifeed-server/src -Ifeed-reader/src
$(BUILD)/fuzzers/%: $(BUILD)/tests/fuzz/%.o $(CONTEXT_LIBS)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(DEPS_LIBS)
.PHONY: fuzzers
fuzzers: $(FUZZERS)
