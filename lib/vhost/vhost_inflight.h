/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VHOST_INFLIGHT_H
#define VHOST_INFLIGHT_H

/*
 * The inflight record of VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD (the vhost-user spec's "Inflight
 * I/O tracking"): a shared memory region, one area per queue, in which the back end keeps the
 * requests it took from a ring and has not yet made visible as used. The front end keeps the
 * region across a back-end crash and hands it to the next back end (SET_INFLIGHT_FD), which
 * resubmits what the record holds. Pure C: no DPDK. The region is untrusted (the front end can
 * write it): everything read from it is bounded before use. See doc/reconnect.md.
 *
 * The record is host-endian (front end and back end share the host); the descriptor copies of
 * packed rings are kept as the guest wrote them (little-endian).
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The version this back end writes and accepts. */
#define VHOST_INFLIGHT_VERSION 1
/* Each queue's area starts on this boundary. */
#define VHOST_INFLIGHT_ALIGN 64

/* ---- the spec's layout ------------------------------------------------------------------- */

/* Split rings: one entry per descriptor index (a head is an index of the descriptor table). */
struct vhost_inflight_desc_split {
	uint8_t inflight; /* the chain with this head was taken and is not used yet */
	uint8_t padding[5];
	uint16_t next;    /* the last batch of used heads, newest first */
	uint64_t counter; /* order in which the heads were taken */
};

struct vhost_inflight_split {
	uint64_t features;
	uint16_t version;
	uint16_t desc_num;        /* entries in desc[] */
	uint16_t last_batch_head; /* first head of the batch being published */
	uint16_t used_idx;        /* used->idx once the batch's inflight flags are clear */
	struct vhost_inflight_desc_split desc[];
};

/*
 * Packed rings: the entries form a free list; a chain taken from the ring occupies one entry per
 * descriptor (a copy of it, since used descriptors overwrite the ring), the first of which (the
 * head) carries inflight, counter, num and last.
 */
struct vhost_inflight_desc_packed {
	uint8_t inflight;
	uint8_t padding;
	uint16_t next;    /* next entry of the chain or of the free list */
	uint16_t last;    /* head: the chain's last entry */
	uint16_t num;     /* head: descriptors in the chain */
	uint64_t counter; /* head: order in which the chains were taken */
	uint16_t id;      /* copy of the ring descriptor (little-endian) */
	uint16_t flags;
	uint32_t len;
	uint64_t addr;
};

struct vhost_inflight_packed {
	uint64_t features;
	uint16_t version;
	uint16_t desc_num; /* entries in desc[] */
	uint16_t free_head;
	uint16_t old_free_head; /* committed values: what a crash rolls back to */
	uint16_t used_idx;
	uint16_t old_used_idx;
	uint8_t used_wrap_counter;
	uint8_t old_used_wrap_counter;
	uint8_t padding[7];
	struct vhost_inflight_desc_packed desc[];
};

_Static_assert(sizeof(struct vhost_inflight_desc_split) == 16, "split inflight entry size");
_Static_assert(sizeof(struct vhost_inflight_split) == 16, "split inflight header size");
_Static_assert(sizeof(struct vhost_inflight_desc_packed) == 32, "packed inflight entry size");
_Static_assert(offsetof(struct vhost_inflight_packed, desc) == 32, "packed inflight header size");

/* GET_INFLIGHT_FD / SET_INFLIGHT_FD payload (24 bytes: the 16-bit fields are padded). */
struct vhost_user_inflight {
	uint64_t mmap_size;
	uint64_t mmap_offset;
	uint16_t num_queues;
	uint16_t queue_size;
};

_Static_assert(sizeof(struct vhost_user_inflight) == 24, "inflight message size");

/*
 * Bytes of one queue's area: the header and queue_size entries, rounded up to
 * VHOST_INFLIGHT_ALIGN (split, 1024 entries: 16 + 16 * 1024 -> 16,448).
 */
uint64_t vhost_inflight_queue_bytes(bool packed, uint16_t queue_size);

/*
 * Bytes of one queue's area in a region: room for either layout (the packed one, the larger).
 * The layout is not known when the region is made or handed back (GET/SET_INFLIGHT_FD can come
 * before SET_FEATURES); an area takes the ring's layout when a queue first starts on it and
 * keeps it in its features field (VIRTIO_F_RING_PACKED).
 */
uint64_t vhost_inflight_area_bytes(uint16_t queue_size);

/* Writes a fresh area: version, desc_num, nothing in flight (packed: the free list). */
void vhost_inflight_queue_init(void *area, bool packed, uint16_t queue_size);

/* ---- a mapped region ---------------------------------------------------------------------- */

struct vhost_inflight {
	atomic_uint refs;
	void *map_base; /* our mmap (NULL for vhost_inflight_wrap) */
	size_t map_len;
	uint8_t *base;       /* the mapping + the message's offset */
	uint64_t size;       /* mmap_size */
	uint64_t queue_size; /* bytes of one queue's area */
	uint16_t nqueues;
	uint16_t desc_num; /* entries per queue */
};

/*
 * GET_INFLIGHT_FD: a new memfd of nqueues areas, each of version 0 (no back end has used it) and
 * of either layout. Returns the region and its fd in *fd (the caller sends it, then closes it),
 * or NULL with a message in err.
 */
struct vhost_inflight *vhost_inflight_create(uint16_t nqueues, uint16_t queue_size,
					     uint16_t max_queues, int *fd, char *err,
					     size_t errlen);

/*
 * SET_INFLIGHT_FD: maps what the front end hands back and checks it: a regular file holding
 * offset + size bytes, a queue count of 1 .. max_queues, a queue size of 1 .. 32768, size
 * covering every queue's area (vhost_inflight_area_bytes), and each area of version 0 or this
 * version with desc_num equal to the queue size. Whether an area's layout fits the ring is
 * checked when a queue starts on it. NULL with a message in err otherwise; fd stays the caller's.
 */
struct vhost_inflight *vhost_inflight_map(int fd, const struct vhost_user_inflight *msg,
					  uint16_t max_queues, char *err, size_t errlen);

/* A region over memory the caller owns (unit tests); nothing is checked or unmapped. */
struct vhost_inflight *vhost_inflight_wrap(void *base, uint16_t nqueues, uint16_t queue_size);

/* Queue idx's area, NULL when the region has no such queue. */
void *vhost_inflight_queue(const struct vhost_inflight *r, uint16_t idx);

/* Any thread. */
void vhost_inflight_ref(struct vhost_inflight *r);
void vhost_inflight_unref(struct vhost_inflight *r);

#endif
