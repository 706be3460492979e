# feed-server: the library that stores a feed in SQLite and serves it as Atom.
FS_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard feed-server/src/*.c))
FS_LIB := $(BUILD)/lib/libfeedserver.a
$(FS_LIB): $(FS_OBJ)
# FS_INCLUDES is the public header, for the library's users; the library
# itself compiles with it and dynbuf's, and is linked before DYNBUF_LIB.
FS_INCLUDES := -Ifeed-server/include
FS_MODULE_INCLUDES := $(FS_INCLUDES) $(DYNBUF_INCLUDES)
$(BUILD)/feed-server/%.o: MODULE_INCLUDES = $(FS_MODULE_INCLUDES)
LIBRARIES += $(FS_LIB)
FS_LINK := $(FS_LIB) $(DYNBUF_LIB)

# Tools the tests and benchmarks run (build/tests/feedgen, build/tests/feedserve).
FEEDGEN := $(BUILD)/tests/feedgen
FEEDSERVE := $(BUILD)/tests/feedserve
TEST_TOOLS += $(FEEDGEN)
$(eval $(call tool,$(FEEDGEN),$(BUILD)/tests/tools/feedgen.o,$(FS_LINK)))
TEST_TOOLS += $(FEEDSERVE)
$(eval $(call tool,$(FEEDSERVE),$(BUILD)/tests/tools/feedserve.o,$(FS_LINK)))

$(eval $(call unit_test,check_feed_store,$(FS_LINK)))
$(eval $(call unit_test,check_feed_server,$(FS_LINK)))
$(eval $(call unit_test,check_slow_clients,$(FS_LINK)))
$(eval $(call unit_test,check_feed_server_deferred,$(FS_LINK)))
# Its cross-process long-poll test runs feedgen as the other process.
$(BUILD)/tests/check_feed_server: | $(BUILD)/tests/feedgen

# Benchmark helper for tests/bench/bench_feed_server.sh.
FS_BENCH_APPEND := $(BUILD)/tests/bench_feed_server_append
BENCHES += $(FS_BENCH_APPEND)
$(eval $(call tool,$(FS_BENCH_APPEND),$(BUILD)/tests/bench/bench_feed_server_append.o,$(FS_LINK)))
FS_BENCH_WAKE := $(BUILD)/tests/bench_feed_server_wake
BENCHES += $(FS_BENCH_WAKE)
$(eval $(call tool,$(FS_BENCH_WAKE),$(BUILD)/tests/bench/bench_feed_server_wake.o,$(FS_LINK)))
