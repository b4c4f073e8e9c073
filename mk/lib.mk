# Builds one static library from every .c in its folder and its sub-folders (bdev modules).
# The including Makefile sets ROOT and LIBNAME, optionally LIB_CFLAGS.
include $(ROOT)/mk/common.mk

SRCS := $(sort $(wildcard *.c */*.c))
OBJDIR := $(BUILD_DIR)/obj/lib/$(LIBNAME)
OBJS := $(patsubst %.c,$(OBJDIR)/%.o,$(SRCS))
LIB := $(BUILD_DIR)/lib/libvt_$(LIBNAME).a

all: $(LIB)

$(LIB): $(OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar crs $@ $(OBJS)

$(OBJDIR)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC lib/$(LIBNAME)/$<"
	$(Q)$(CC) $(CFLAGS_BASE) $(LIB_CFLAGS) -MMD -MP -c $< -o $@

-include $(OBJS:.o=.d)

clean:
	rm -rf $(OBJDIR) $(LIB)

.PHONY: all clean
