# cloud-api: the context's domain as a library (so tests can link it) and its program.
CLOUD_API_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(filter-out contexts/cloud-api/main.c,$(wildcard contexts/cloud-api/*.c)))
CLOUD_API_LIB := $(BUILD)/lib/libcloud-api.a
$(CLOUD_API_LIB): $(CLOUD_API_OBJ)
LIBRARIES += $(CLOUD_API_LIB)
PROGRAMS += $(BIN)/cloud-api
$(BIN)/cloud-api: $(BUILD)/contexts/cloud-api/main.o $(CLOUD_API_LIB) $(CONTEXT_LIBS)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEPS_LIBS)
# The benchmark's baseline: the same program without the meter, built from
# the same sources with -DCLOUD_API_UNMETERED. Only tests/bench uses it; it
# is not in PROGRAMS, so it is never installed.
BENCHES += $(BUILD)/bench/cloud-api-unmetered
$(BUILD)/bench/cloud-api-main-unmetered.o: contexts/cloud-api/main.c $(FLAGS_STAMP) $(CONFIG)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -DCLOUD_API_UNMETERED -c $< -o $@
$(BUILD)/bench/cloud-api-main-unmetered.o: MODULE_INCLUDES := $(CONTEXT_INCLUDES)
$(BUILD)/bench/cloud-api-unmetered: $(BUILD)/bench/cloud-api-main-unmetered.o $(CLOUD_API_LIB) $(CONTEXT_LIBS)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEPS_LIBS)
# Unit tests include the context's headers by name.
$(BUILD)/tests/unit/check_cloud_api.o: ALL_CFLAGS += -Icontexts/cloud-api
$(eval $(call unit_test,check_cloud_api,$(CLOUD_API_LIB) $(CONTEXT_LIBS)))
