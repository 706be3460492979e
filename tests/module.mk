# Test helpers shared by every Check program (tests/unit/testkit.c), and the
# small tools the integration tests use. Each library and context declares its
# own unit tests in its module.mk with $(call unit_test,...).
TESTKIT_OBJ := $(BUILD)/tests/unit/testkit.o
# Tests and tools see what the contexts see; a context's unit test adds its
# context's folder (in that context's module.mk).
$(BUILD)/tests/%.o: MODULE_INCLUDES = $(CONTEXT_INCLUDES)
$(TESTKIT_OBJ): ALL_CFLAGS += $(CHECK_CFLAGS)
$(BUILD)/tests/unit/%.o: ALL_CFLAGS += $(CHECK_CFLAGS)

FREEPORT := $(BUILD)/tests/freeport
TEST_TOOLS += $(FREEPORT)
$(eval $(call tool,$(FREEPORT),$(BUILD)/tests/tools/freeport.o,))

# system_latency: R1 and R2 latency of a running system (make bench).
SYSTEM_LATENCY := $(BUILD)/tests/system_latency
BENCHES += $(SYSTEM_LATENCY)
$(eval $(call tool,$(SYSTEM_LATENCY),$(BUILD)/tests/bench/system_latency.o,))
