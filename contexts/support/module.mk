# support: what the contexts share that is not about feeds (logging,
# command lines, request bodies, JSON, HTML pages, /status and /metrics).
SUPPORT_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard contexts/support/*.c))
SUPPORT_LIB := $(BUILD)/lib/libsupport.a
$(SUPPORT_LIB): $(SUPPORT_OBJ)
MODULE_INCLUDES += -Icontexts/support
LIBRARIES += $(SUPPORT_LIB)
# Every program links these, in this order.
CONTEXT_LIBS = $(SUPPORT_LIB) $(FR_LIB) $(FS_LIB)
$(eval $(call unit_test,check_support,$(CONTEXT_LIBS)))
