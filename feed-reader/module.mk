# feed-reader: the library that follows an Atom feed and applies each entry once.
FR_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard feed-reader/src/*.c))
FR_LIB := $(BUILD)/lib/libfeedreader.a
$(FR_LIB): $(FR_OBJ)
MODULE_INCLUDES += -Ifeed-reader/include
LIBRARIES += $(FR_LIB)
