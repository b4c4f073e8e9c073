/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VHOST_USER_SPEC_H
#define VHOST_USER_SPEC_H

/*
 * vhost-user wire formats (QEMU's docs/interop/vhost-user.rst) that lib/vhost inspects in its
 * message handlers, and the layout of the message context DPDK 22.11's rte_vhost hands to them.
 * Names carry a VHOST_USER_REQ_ / VHOST_USER_PROTO_F_ prefix so they never clash with the few
 * macros rte_vhost.h defines. All fields are little-endian (x86 only, like rte_vhost).
 */

#include <stddef.h>
#include <stdint.h>

/* Front-end requests (the "master" message types). */
enum vhost_user_req {
	VHOST_USER_REQ_NONE = 0,
	VHOST_USER_REQ_GET_FEATURES = 1,
	VHOST_USER_REQ_SET_FEATURES = 2,
	VHOST_USER_REQ_SET_OWNER = 3,
	VHOST_USER_REQ_RESET_OWNER = 4,
	VHOST_USER_REQ_SET_MEM_TABLE = 5,
	VHOST_USER_REQ_SET_LOG_BASE = 6,
	VHOST_USER_REQ_SET_LOG_FD = 7,
	VHOST_USER_REQ_SET_VRING_NUM = 8,
	VHOST_USER_REQ_SET_VRING_ADDR = 9,
	VHOST_USER_REQ_SET_VRING_BASE = 10,
	VHOST_USER_REQ_GET_VRING_BASE = 11,
	VHOST_USER_REQ_SET_VRING_KICK = 12,
	VHOST_USER_REQ_SET_VRING_CALL = 13,
	VHOST_USER_REQ_SET_VRING_ERR = 14,
	VHOST_USER_REQ_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_REQ_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_REQ_GET_QUEUE_NUM = 17,
	VHOST_USER_REQ_SET_VRING_ENABLE = 18,
	VHOST_USER_REQ_SEND_RARP = 19,
	VHOST_USER_REQ_NET_SET_MTU = 20,
	VHOST_USER_REQ_SET_BACKEND_REQ_FD = 21,
	VHOST_USER_REQ_IOTLB_MSG = 22,
	VHOST_USER_REQ_SET_VRING_ENDIAN = 23,
	VHOST_USER_REQ_GET_CONFIG = 24,
	VHOST_USER_REQ_SET_CONFIG = 25,
	VHOST_USER_REQ_CREATE_CRYPTO_SESSION = 26,
	VHOST_USER_REQ_CLOSE_CRYPTO_SESSION = 27,
	VHOST_USER_REQ_POSTCOPY_ADVISE = 28,
	VHOST_USER_REQ_POSTCOPY_LISTEN = 29,
	VHOST_USER_REQ_POSTCOPY_END = 30,
	VHOST_USER_REQ_GET_INFLIGHT_FD = 31,
	VHOST_USER_REQ_SET_INFLIGHT_FD = 32,
	VHOST_USER_REQ_GPU_SET_SOCKET = 33,
	VHOST_USER_REQ_RESET_DEVICE = 34,
	VHOST_USER_REQ_VRING_KICK = 35,
	VHOST_USER_REQ_GET_MAX_MEM_SLOTS = 36,
	VHOST_USER_REQ_ADD_MEM_REG = 37,
	VHOST_USER_REQ_REM_MEM_REG = 38,
	VHOST_USER_REQ_SET_STATUS = 39,
	VHOST_USER_REQ_GET_STATUS = 40,
};

/* Protocol feature bits (GET/SET_PROTOCOL_FEATURES). */
#define VHOST_USER_PROTO_F_MQ 0
#define VHOST_USER_PROTO_F_LOG_SHMFD 1
#define VHOST_USER_PROTO_F_RARP 2
#define VHOST_USER_PROTO_F_REPLY_ACK 3
#define VHOST_USER_PROTO_F_MTU 4
#define VHOST_USER_PROTO_F_BACKEND_REQ 5
#define VHOST_USER_PROTO_F_CROSS_ENDIAN 6
#define VHOST_USER_PROTO_F_CRYPTO_SESSION 7
#define VHOST_USER_PROTO_F_PAGEFAULT 8
#define VHOST_USER_PROTO_F_CONFIG 9
#define VHOST_USER_PROTO_F_BACKEND_SEND_FD 10
#define VHOST_USER_PROTO_F_HOST_NOTIFIER 11
#define VHOST_USER_PROTO_F_INFLIGHT_SHMFD 12
#define VHOST_USER_PROTO_F_RESET_DEVICE 13
#define VHOST_USER_PROTO_F_INBAND_NOTIFICATIONS 14
#define VHOST_USER_PROTO_F_CONFIGURE_MEM_SLOTS 15
#define VHOST_USER_PROTO_F_STATUS 16

/* The virtio feature bit that announces protocol features (vhost-user specific). */
#define VHOST_USER_VIRTIO_F_PROTOCOL_FEATURES 30
/* The virtio feature bit of vhost's dirty logging (VHOST_F_LOG_ALL). */
#define VHOST_USER_F_LOG_ALL 26
/* SET_VRING_ADDR flags: log_guest_addr is valid, log the used ring there. */
#define VHOST_USER_VRING_F_LOG 0

/* Header flags. */
#define VHOST_USER_HDR_VERSION_MASK 0x3u
#define VHOST_USER_HDR_REPLY (1u << 2)
#define VHOST_USER_HDR_NEED_REPLY (1u << 3)

/* SET_VRING_KICK / CALL / ERR payload: queue index in bits 0-7, "no fd" in bit 8. */
#define VHOST_USER_VRING_IDX_MASK 0xffu
#define VHOST_USER_VRING_NOFD (1u << 8)

#define VHOST_USER_MAX_MEM_REGIONS 8
#define VHOST_USER_MAX_CONFIG_SIZE 256

/* SET_VRING_NUM, SET_VRING_BASE, GET_VRING_BASE, SET_VRING_ENABLE. */
struct vhost_user_vring_state {
	uint32_t index;
	uint32_t num;
};

/* SET_VRING_ADDR: the rings as addresses in the front end's own address space. */
struct vhost_user_vring_addr {
	uint32_t index;
	uint32_t flags; /* bit 0: log the used ring (migration) */
	uint64_t desc_user_addr;
	uint64_t used_user_addr;
	uint64_t avail_user_addr;
	uint64_t log_guest_addr;
};

/* SET_LOG_BASE (with LOG_SHMFD; the log's fd comes as ancillary data). */
struct vhost_user_log {
	uint64_t mmap_size;   /* bytes of bitmap */
	uint64_t mmap_offset; /* where the bitmap starts in the fd */
};

struct vhost_user_mem_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset; /* offset of guest_phys_addr in the region's file */
};

/* SET_MEM_TABLE; the region fds come as ancillary data, one per region, in order. */
struct vhost_user_mem {
	uint32_t nregions;
	uint32_t padding;
	struct vhost_user_mem_region regions[VHOST_USER_MAX_MEM_REGIONS];
};

/* GET_CONFIG / SET_CONFIG. */
struct vhost_user_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t region[VHOST_USER_MAX_CONFIG_SIZE];
};

#define VHOST_USER_CONFIG_HDR_SIZE offsetof(struct vhost_user_config, region)

_Static_assert(sizeof(struct vhost_user_vring_state) == 8, "vring state size");
_Static_assert(sizeof(struct vhost_user_vring_addr) == 40, "vring address size");
_Static_assert(sizeof(struct vhost_user_mem_region) == 32, "memory region size");
_Static_assert(sizeof(struct vhost_user_log) == 16, "log size");
_Static_assert(sizeof(struct vhost_user_mem) == 8 + 8 * 32, "memory table size");
_Static_assert(sizeof(struct vhost_user_config) == 12 + 256, "config size");

/*
 * The message as rte_vhost 22.11 holds it: 12 bytes of header, then a payload union whose largest
 * member (a crypto session) is 632 bytes. The packing is rte_vhost's (__rte_packed).
 */
#define VHOST_USER_DPDK_PAYLOAD_SIZE 632

struct vhost_user_msg {
	uint32_t request; /* enum vhost_user_req */
	uint32_t flags;   /* VHOST_USER_HDR_* and the version (1) */
	uint32_t size;    /* payload bytes that follow the header */
	union {
		uint64_t u64;
		struct vhost_user_vring_state state;
		struct vhost_user_vring_addr addr;
		struct vhost_user_mem memory;
		struct vhost_user_config config;
		uint8_t raw[VHOST_USER_DPDK_PAYLOAD_SIZE];
	} payload;
} __attribute__((packed));

#define VHOST_USER_HDR_SIZE offsetof(struct vhost_user_msg, payload)

/*
 * What rte_vhost 22.11 passes to the extern pre/post message handlers (its struct
 * vhu_msg_context): the message, then the file descriptors that came with it. The offsets were
 * read from the installed librte_vhost.a (read_vhost_message passes ctx + 0x284 as the fd array
 * and ctx + 0x2a4 as the count; the payload limit it checks is 0x278).
 */
struct vhost_user_msg_ctx {
	struct vhost_user_msg msg;
	int fds[VHOST_USER_MAX_MEM_REGIONS];
	int fd_num;
} __attribute__((packed));

_Static_assert(VHOST_USER_HDR_SIZE == 12, "vhost-user header size");
_Static_assert(sizeof(struct vhost_user_msg) == 0x284, "rte_vhost 22.11 message size");
_Static_assert(offsetof(struct vhost_user_msg_ctx, fds) == 0x284, "rte_vhost 22.11 fds offset");
_Static_assert(offsetof(struct vhost_user_msg_ctx, fd_num) == 0x2a4,
	       "rte_vhost 22.11 fd count offset");

#endif
