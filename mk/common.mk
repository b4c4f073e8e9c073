# Shared build settings. ROOT is set by the including Makefile.
-include $(ROOT)/mk/config.mk
include $(ROOT)/mk/deps.mk

CC ?= cc
BUILD_DIR ?= $(ROOT)/build
# Make BUILD_DIR absolute so sub-makes agree.
override BUILD_DIR := $(abspath $(BUILD_DIR))

VT_VERSION := 0.1.0

CFLAGS_BASE := -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
	-Wformat=2 -Wstrict-prototypes -D_GNU_SOURCE -fno-common -g -pthread \
	-I$(ROOT)/include -I$(ROOT) -DVT_VERSION_STRING='"$(VT_VERSION)"'

ifeq ($(CONFIG_DEBUG),y)
CFLAGS_BASE += -O0 -DDEBUG
else
CFLAGS_BASE += -O2 -DNDEBUG
endif

SAN_FLAGS :=
ifeq ($(CONFIG_ASAN),y)
SAN_FLAGS += -fsanitize=address -fno-omit-frame-pointer
endif
ifeq ($(CONFIG_UBSAN),y)
SAN_FLAGS += -fsanitize=undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
endif
CFLAGS_BASE += $(SAN_FLAGS)

# DPDK headers only for the libraries that talk to DPDK (lib/init, later lib/vhost).
DPDK_CFLAGS := $(shell pkg-config --cflags libdpdk 2>/dev/null)
# Static DPDK: only the libraries rte_vhost and the EAL need (a dynamic EAL would load every
# installed driver).
DPDK_LIBS := -Wl,--start-group -l:librte_vhost.a -l:librte_dmadev.a -l:librte_cryptodev.a \
	-l:librte_hash.a -l:librte_pci.a -l:librte_ethdev.a -l:librte_meter.a -l:librte_net.a \
	-l:librte_mbuf.a -l:librte_mempool.a -l:librte_rcu.a -l:librte_ring.a -l:librte_eal.a \
	-l:librte_telemetry.a -l:librte_kvargs.a -Wl,--end-group -lbsd -lnuma

SYS_LIBS := $(DPDK_LIBS) -l:libyajl_s.a -luring -laio -latomic -lpthread -ldl -lm -lrt
# The rbd bdev module (lib/bdev/rbd).
SYS_LIBS += -lrbd -lrados
# lib/bdev/iscsi: the iSCSI initiator library (libiscsi-dev).
SYS_LIBS += -liscsi
LDFLAGS_BASE := -pthread $(SAN_FLAGS)

VT_LIB_FILES := $(foreach l,$(VT_LIBS),$(BUILD_DIR)/lib/libvt_$(l).a)
# Programs link every library whole so constructors (RPC methods, modules, subsystems) register.
VT_LINK_WHOLE := -Wl,--whole-archive $(VT_LIB_FILES) -Wl,--no-whole-archive $(SYS_LIBS)
VT_LINK := -Wl,--start-group $(VT_LIB_FILES) -Wl,--end-group $(SYS_LIBS)

Q ?= @

# gcc-only warnings (clang builds the fuzz targets).
ifneq ($(findstring clang,$(shell $(CC) --version 2>/dev/null | head -1)),clang)
CFLAGS_BASE += -Wshadow=local
endif
