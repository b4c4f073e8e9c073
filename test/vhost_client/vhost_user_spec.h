/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VTC_VHOST_USER_SPEC_H
#define VTC_VHOST_USER_SPEC_H

/*
 * vhost-user wire format, as written in the vhost-user protocol specification (QEMU's
 * docs/interop/vhost-user.rst). All fields are in the host's byte order.
 */

#include <stddef.h>
#include <stdint.h>

/* Front-end requests. */
enum vhost_user_request {
	VHOST_USER_NONE = 0,
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_RESET_OWNER = 4,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_LOG_BASE = 6,
	VHOST_USER_SET_LOG_FD = 7,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_SET_VRING_ERR = 14,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_SEND_RARP = 19,
	VHOST_USER_NET_SET_MTU = 20,
	VHOST_USER_SET_SLAVE_REQ_FD = 21,
	VHOST_USER_IOTLB_MSG = 22,
	VHOST_USER_SET_VRING_ENDIAN = 23,
	VHOST_USER_GET_CONFIG = 24,
	VHOST_USER_SET_CONFIG = 25,
	VHOST_USER_CREATE_CRYPTO_SESSION = 26,
	VHOST_USER_CLOSE_CRYPTO_SESSION = 27,
	VHOST_USER_POSTCOPY_ADVISE = 28,
	VHOST_USER_POSTCOPY_LISTEN = 29,
	VHOST_USER_POSTCOPY_END = 30,
	VHOST_USER_GET_INFLIGHT_FD = 31,
	VHOST_USER_SET_INFLIGHT_FD = 32,
	VHOST_USER_GPU_SET_SOCKET = 33,
	VHOST_USER_RESET_DEVICE = 34,
	VHOST_USER_VRING_KICK = 35,
	VHOST_USER_GET_MAX_MEM_SLOTS = 36,
	VHOST_USER_ADD_MEM_REG = 37,
	VHOST_USER_REM_MEM_REG = 38,
	VHOST_USER_SET_STATUS = 39,
	VHOST_USER_GET_STATUS = 40,
	VHOST_USER_REQUEST_MAX,
};

/* Virtio feature bit 30, reused by vhost-user to announce protocol feature negotiation. */
#define VHOST_USER_F_PROTOCOL_FEATURES 30
/* Dirty logging of every write into guest memory (migration). */
#define VHOST_F_LOG_ALL 26

/* Protocol feature bits. */
#define VHOST_USER_PROTOCOL_F_MQ 0
#define VHOST_USER_PROTOCOL_F_LOG_SHMFD 1
#define VHOST_USER_PROTOCOL_F_RARP 2
#define VHOST_USER_PROTOCOL_F_REPLY_ACK 3
#define VHOST_USER_PROTOCOL_F_MTU 4
#define VHOST_USER_PROTOCOL_F_SLAVE_REQ 5
#define VHOST_USER_PROTOCOL_F_CROSS_ENDIAN 6
#define VHOST_USER_PROTOCOL_F_CRYPTO_SESSION 7
#define VHOST_USER_PROTOCOL_F_PAGEFAULT 8
#define VHOST_USER_PROTOCOL_F_CONFIG 9
#define VHOST_USER_PROTOCOL_F_SLAVE_SEND_FD 10
#define VHOST_USER_PROTOCOL_F_HOST_NOTIFIER 11
#define VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD 12
#define VHOST_USER_PROTOCOL_F_RESET_DEVICE 13
#define VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS 14
#define VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS 15
#define VHOST_USER_PROTOCOL_F_STATUS 16

/* Header flags: bits 0-1 the version, bit 2 a reply, bit 3 the front end wants an ack. */
#define VHOST_USER_VERSION 0x1u
#define VHOST_USER_VERSION_MASK 0x3u
#define VHOST_USER_FLAG_REPLY (1u << 2)
#define VHOST_USER_FLAG_NEED_REPLY (1u << 3)

/* Limits of the baseline protocol (without CONFIGURE_MEM_SLOTS). */
#define VHOST_USER_MAX_REGIONS 8
#define VHOST_USER_MAX_FDS 8
#define VHOST_USER_MAX_CONFIG_SIZE 256

/* SET_VRING_KICK / CALL / ERR u64 payload: bits 0-7 the ring index, bit 8 "no fd attached". */
#define VHOST_USER_VRING_IDX_MASK 0xffu
#define VHOST_USER_VRING_NOFD (1u << 8)

/* SET_VRING_ADDR flags: log used ring writes. */
#define VHOST_USER_VRING_F_LOG 0x1u

/* GET_CONFIG / SET_CONFIG flags. */
#define VHOST_USER_CONFIG_FRONTEND 0u
#define VHOST_USER_CONFIG_MIGRATION 1u

struct vhost_user_hdr {
	uint32_t request; /* enum vhost_user_request */
	uint32_t flags;
	uint32_t size; /* payload bytes that follow */
} __attribute__((packed));
_Static_assert(sizeof(struct vhost_user_hdr) == 12, "vhost-user header is 12 bytes");

struct vhost_user_vring_state {
	uint32_t index;
	uint32_t num;
};
_Static_assert(sizeof(struct vhost_user_vring_state) == 8, "vring state is 8 bytes");

struct vhost_user_vring_addr {
	uint32_t index;
	uint32_t flags; /* VHOST_USER_VRING_F_LOG */
	uint64_t desc;  /* front-end (user) addresses, not guest-physical */
	uint64_t used;
	uint64_t avail;
	uint64_t log; /* guest-physical, for dirty logging */
};
_Static_assert(sizeof(struct vhost_user_vring_addr) == 40, "vring address is 40 bytes");

struct vhost_user_mem_region {
	uint64_t gpa; /* guest-physical start */
	uint64_t size;
	uint64_t uaddr;       /* front-end virtual address of gpa */
	uint64_t mmap_offset; /* where the region starts in the file passed with it */
};
_Static_assert(sizeof(struct vhost_user_mem_region) == 32, "memory region is 32 bytes");

struct vhost_user_mem {
	uint32_t nregions;
	uint32_t padding;
	struct vhost_user_mem_region regions[VHOST_USER_MAX_REGIONS];
};
_Static_assert(sizeof(struct vhost_user_mem) == 8 + 8 * 32, "memory table is 264 bytes");

/* ADD_MEM_REG / REM_MEM_REG payload. */
struct vhost_user_single_mem {
	uint64_t padding;
	struct vhost_user_mem_region region;
};
_Static_assert(sizeof(struct vhost_user_single_mem) == 40, "single memory region is 40 bytes");

struct vhost_user_log {
	uint64_t size;
	uint64_t offset;
};
_Static_assert(sizeof(struct vhost_user_log) == 16, "log description is 16 bytes");

struct vhost_user_config {
	uint32_t offset; /* into the device's config space */
	uint32_t size;   /* bytes of region used */
	uint32_t flags;  /* VHOST_USER_CONFIG_* */
	uint8_t region[VHOST_USER_MAX_CONFIG_SIZE];
};
_Static_assert(sizeof(struct vhost_user_config) == 12 + 256, "config space message is 268 bytes");

/* GET_INFLIGHT_FD / SET_INFLIGHT_FD payload; C layout with its tail padding (24 bytes). */
struct vhost_user_inflight {
	uint64_t mmap_size;
	uint64_t mmap_offset;
	uint16_t num_queues;
	uint16_t queue_size;
	uint32_t padding;
};
_Static_assert(sizeof(struct vhost_user_inflight) == 24, "inflight description is 24 bytes");

union vhost_user_payload {
	uint64_t u64;
	struct vhost_user_vring_state state;
	struct vhost_user_vring_addr addr;
	struct vhost_user_mem mem;
	struct vhost_user_single_mem single_mem;
	struct vhost_user_log log;
	struct vhost_user_config config;
	struct vhost_user_inflight inflight;
};
/* The config space message (268 bytes) padded to the union's 8-byte alignment. */
_Static_assert(sizeof(union vhost_user_payload) == 272, "payload union is 272 bytes");

struct vhost_user_msg {
	struct vhost_user_hdr hdr;
	union vhost_user_payload payload;
} __attribute__((packed));
_Static_assert(sizeof(struct vhost_user_msg) == 12 + 272, "vhost-user message is 284 bytes");
_Static_assert(offsetof(struct vhost_user_msg, payload) == 12, "payload follows the header");

#endif
