# subscriptions: the context's domain as a library (so tests can link it) and its program.
SUBSCRIPTIONS_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(filter-out contexts/subscriptions/main.c,$(wildcard contexts/subscriptions/*.c)))
SUBSCRIPTIONS_LIB := $(BUILD)/lib/libsubscriptions.a
$(SUBSCRIPTIONS_LIB): $(SUBSCRIPTIONS_OBJ)
LIBRARIES += $(SUBSCRIPTIONS_LIB)
PROGRAMS += $(BIN)/subscriptions
$(BIN)/subscriptions: $(BUILD)/contexts/subscriptions/main.o $(SUBSCRIPTIONS_LIB) $(CONTEXT_LIBS)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEPS_LIBS)

# samplefeed: loads contract samples into a feed (or prints their shape) for
# the contract tests of producers and consumers.
TEST_TOOLS += $(BUILD)/tests/samplefeed
$(eval $(call tool,$(BUILD)/tests/samplefeed,$(BUILD)/tests/tools/samplefeed.o,$(FS_LINK)))
# Unit tests include the context's headers by name.
$(BUILD)/tests/unit/check_subscriptions.o: ALL_CFLAGS += -Icontexts/subscriptions
$(eval $(call unit_test,check_subscriptions,$(SUBSCRIPTIONS_LIB) $(CONTEXT_LIBS)))
$(BUILD)/tests/unit/check_month_boundary.o: ALL_CFLAGS += -Icontexts/subscriptions
$(eval $(call unit_test,check_month_boundary,$(SUBSCRIPTIONS_LIB) $(CONTEXT_LIBS)))
