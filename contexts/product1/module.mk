# product1: the context's domain as a library (so tests can link it) and its program.
PRODUCT1_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(filter-out contexts/product1/main.c,$(wildcard contexts/product1/*.c)))
PRODUCT1_LIB := $(BUILD)/lib/libproduct1.a
$(PRODUCT1_LIB): $(PRODUCT1_OBJ)
LIBRARIES += $(PRODUCT1_LIB)
PROGRAMS += $(BIN)/product1
$(BIN)/product1: $(BUILD)/contexts/product1/main.o $(PRODUCT1_LIB) $(CONTEXT_LIBS)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEPS_LIBS)
$(eval $(call unit_test,check_product1,$(PRODUCT1_LIB) $(CONTEXT_LIBS)))
$(BUILD)/tests/unit/check_product1.o: ALL_CFLAGS += -Icontexts/product1
