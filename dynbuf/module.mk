# dynbuf: the one growable, capped byte buffer (and the log line format),
# shared by both libraries and the programs the way curl shares curlx
# between libcurl and the tool: one source, one object, its own archive.
# A module that may use it adds DYNBUF_INCLUDES to its include path and
# DYNBUF_LIB after its own archive when linking; dynbuf sees no one else.
DYNBUF_OBJ := $(BUILD)/dynbuf/dynbuf.o
DYNBUF_LIB := $(BUILD)/lib/libdynbuf.a
$(DYNBUF_LIB): $(DYNBUF_OBJ)
DYNBUF_INCLUDES := -Idynbuf
$(BUILD)/dynbuf/%.o: MODULE_INCLUDES = $(DYNBUF_INCLUDES)
LIBRARIES += $(DYNBUF_LIB)

$(eval $(call unit_test,check_dynbuf,$(DYNBUF_LIB)))
