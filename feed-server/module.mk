# feed-server: the library that stores a feed in SQLite and serves it as Atom.
FS_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard feed-server/src/*.c))
FS_LIB := $(BUILD)/lib/libfeedserver.a
$(FS_LIB): $(FS_OBJ)
FS_INCLUDES := -Ifeed-server/include
$(BUILD)/feed-server/%.o: MODULE_INCLUDES = $(FS_INCLUDES)
LIBRARIES += $(FS_LIB)

# Tools the tests and benchmarks run (build/tests/feedgen, build/tests/feedserve).
FEEDGEN := $(BUILD)/tests/feedgen
FEEDSERVE := $(BUILD)/tests/feedserve
TEST_TOOLS += $(FEEDGEN)
$(eval $(call tool,$(FEEDGEN),$(BUILD)/tests/tools/feedgen.o,$(FS_LIB)))
TEST_TOOLS += $(FEEDSERVE)
$(eval $(call tool,$(FEEDSERVE),$(BUILD)/tests/tools/feedserve.o,$(FS_LIB)))

$(eval $(call unit_test,check_feed_store,$(FS_LIB)))
$(eval $(call unit_test,check_feed_server,$(FS_LIB)))
$(eval $(call unit_test,check_slow_clients,$(FS_LIB)))
# Its cross-process long-poll test runs feedgen as the other process.
$(BUILD)/tests/check_feed_server: | $(BUILD)/tests/feedgen

# Benchmark helper for tests/bench/bench_feed_server.sh.
FS_BENCH_APPEND := $(BUILD)/tests/bench_feed_server_append
BENCHES += $(FS_BENCH_APPEND)
$(eval $(call tool,$(FS_BENCH_APPEND),$(BUILD)/tests/bench/bench_feed_server_append.o,$(FS_LIB)))
FS_BENCH_WAKE := $(BUILD)/tests/bench_feed_server_wake
BENCHES += $(FS_BENCH_WAKE)
$(eval $(call tool,$(FS_BENCH_WAKE),$(BUILD)/tests/bench/bench_feed_server_wake.o,$(FS_LIB)))
