# feed-reader: the library that follows an Atom feed and applies each entry once.
FR_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard feed-reader/src/*.c))
FR_LIB := $(BUILD)/lib/libfeedreader.a
$(FR_LIB): $(FR_OBJ)
# FR_INCLUDES is the public header; the library itself also sees dynbuf's.
FR_INCLUDES := -Ifeed-reader/include
FR_MODULE_INCLUDES := $(FR_INCLUDES) $(DYNBUF_INCLUDES)
$(BUILD)/feed-reader/%.o: MODULE_INCLUDES = $(FR_MODULE_INCLUDES)
LIBRARIES += $(FR_LIB)

# Unit tests: the follower against a misbehaving producer (badserver.c) and
# against the real feed-server library.
FR_TEST_HELPERS := $(BUILD)/tests/unit/badserver.o
$(eval $(call unit_test,check_feed_reader,$(FR_TEST_HELPERS) $(FR_LIB) $(FS_LINK)))

# feedfollow: follows a feed into a database (kill test, benchmarks).
FEEDFOLLOW := $(BUILD)/tests/feedfollow
TEST_TOOLS += $(FEEDFOLLOW)
$(eval $(call tool,$(FEEDFOLLOW),$(BUILD)/tests/tools/feedfollow.o,$(FR_LIB) $(DYNBUF_LIB)))

# Benchmark helper of tests/bench/bench_feed_reader.sh.
FR_BENCH_TOOLS := $(BUILD)/tests/bench_feed_reader_tools
BENCHES += $(FR_BENCH_TOOLS)
$(eval $(call tool,$(FR_BENCH_TOOLS),$(BUILD)/tests/bench/bench_feed_reader_tools.o,$(FS_LINK)))
$(eval $(call unit_test,check_feed_reader_server,$(FR_LIB) $(FS_LINK)))
