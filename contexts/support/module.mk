# support: what the contexts share that is not about feeds (logging,
# command lines, request bodies, JSON, HTML pages, /status and /metrics).
SUPPORT_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard contexts/support/*.c))
SUPPORT_LIB := $(BUILD)/lib/libsupport.a
$(SUPPORT_LIB): $(SUPPORT_OBJ)
# Every context (support included) sees support, the two libraries' public
# headers and dynbuf's; its own headers it includes from its own folder.
CONTEXT_INCLUDES := -Icontexts/support $(FS_INCLUDES) $(FR_INCLUDES) $(DYNBUF_INCLUDES)
$(BUILD)/contexts/%.o: MODULE_INCLUDES = $(CONTEXT_INCLUDES)
LIBRARIES += $(SUPPORT_LIB)
# Every program links these, in this order.
CONTEXT_LIBS = $(SUPPORT_LIB) $(FR_LIB) $(FS_LIB) $(DYNBUF_LIB)
$(eval $(call unit_test,check_support,$(CONTEXT_LIBS)))
