/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VTC_INTERNAL_H
#define VTC_INTERNAL_H

/* Private to the vtc library: the device and queue objects and the helpers between its files. */

#include "vt/log.h"

#include "vhost_client.h"

/* Per buffer id bookkeeping (split: the head descriptor index; packed: the buffer id). */
struct vtc_slot {
	void *cookie;
	uint16_t ndescs; /* ring entries the chain holds (1 for an indirect one) */
	bool inflight;
};

struct vtc_vq {
	struct vtc_dev *dev;
	uint16_t index;
	uint16_t size;
	bool packed;
	bool event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool interrupt; /* the driver takes notifications (else suppresses them) */
	bool started;   /* vtc_vq_setup done and no GET_VRING_BASE since */
	bool broken;    /* the device broke the ring: submit and reap refuse */
	int kick_fd;
	int call_fd;

	/* Ring areas (host pointers into guest memory) and their guest-physical addresses. */
	void *desc;
	void *driver; /* split: avail ring; packed: driver event suppression */
	void *device; /* split: used ring; packed: device event suppression */
	uint64_t desc_gpa;
	uint64_t driver_gpa;
	uint64_t device_gpa;

	/* Split. */
	uint16_t avail_idx; /* next avail index to publish */
	uint16_t last_used; /* next used entry to read */
	uint16_t kick_old;  /* avail index at the last kick decision */

	/* Packed. */
	uint16_t next_avail; /* ring slot of the next descriptor to write */
	bool avail_wrap;     /* driver ring wrap counter */
	uint16_t next_used;  /* ring slot of the next used descriptor to read */
	bool used_wrap;      /* device ring wrap counter expected at next_used */
	uint16_t kick_added; /* descriptors made available since the last kick decision */

	/*
	 * Free lists. Split: descriptor indexes linked by free_next, chains keep their order
	 * while in flight so they can be given back without reading the (device-visible) ring.
	 * Packed: buffer ids as a stack in free_next; ring slots are counted in free_descs.
	 */
	uint16_t *free_next;
	uint16_t free_head;
	uint32_t free_ids;   /* packed: ids on the stack */
	uint32_t free_descs; /* ring entries free */
	struct vtc_slot *slots;
	uint32_t inflight;

	/* Per id indirect tables: indirect_max entries each, contiguous. */
	struct vring_desc *ind;
	uint64_t ind_gpa;
	uint16_t indirect_max;

	uint64_t kicks;
	uint64_t kicks_suppressed;
	uint64_t calls;
	uint64_t call_writes; /* the eventfd counts read: the back end's writes */
};

struct vtc_dev {
	struct vtc_dev_opts opts;
	char path[108]; /* copy of opts.path */
	int sock;
	bool peer_closed;
	bool started;
	bool offline;   /* vtc_dev_new_offline: no socket, no messages */
	bool mem_owned; /* vtc_dev_start created the default region */
	uint64_t offered_features;
	uint64_t features;
	uint64_t offered_protocol_features;
	uint64_t protocol_features;
	uint16_t max_queues;
	uint16_t num_queues;
	uint32_t config_len;
	struct virtio_blk_config config;
	struct vtc_mem mem;
	struct vtc_vq vqs[VTC_MAX_QUEUES];
	/* Inflight area from GET_INFLIGHT_FD. */
	int inflight_fd;
	void *inflight_addr;
	struct vhost_user_inflight inflight;
	/* Synchronous blk helpers: one request with a bounce buffer. */
	struct vtc_blk_req bounce;
	bool bounce_ready;
};

static inline bool
vtc_has_protocol(const struct vtc_dev *dev, unsigned int bit)
{
	return (dev->protocol_features >> bit) & 1;
}

/* vtc_proto.c */
const char *vtc_request_name(uint32_t request);
int vtc_connect(struct vtc_dev *dev);
void vtc_disconnect(struct vtc_dev *dev);
/* vtc_request; *reply_fd (may be NULL) gets a descriptor the reply carries. */
int vtc_request_fd(struct vtc_dev *dev, uint32_t request, const void *payload, uint32_t size,
		   const int *fds, int nfds, struct vhost_user_msg *reply, int *reply_fd);

/* vtc_vq.c */
int vtc_vq_alloc(struct vtc_vq *vq, struct vtc_dev *dev, uint16_t index);
void vtc_vq_free(struct vtc_vq *vq);
/*
 * After a chain was submitted on vq: kicks and waits until deadline (vtc_now_ns() clock) for the
 * next completion, which must be cookie's chain: 0 with its used length in *len, -ETIMEDOUT (not
 * logged: the caller says what it waited for), -EPROTO (another chain completed), or the error
 * of the kick, the reap or the wait.
 */
int vtc_vq_kick_wait(struct vtc_vq *vq, const void *cookie, uint64_t deadline, uint32_t *len);
/*
 * Queue q of dev for a synchronous request: started (else -EINVAL) and idle (else -EBUSY),
 * both logged.
 */
int vtc_dev_idle_vq(struct vtc_dev *dev, uint16_t q, struct vtc_vq **out);

/* vtc_split.c and vtc_packed.c: the ring formats behind vtc_vq.c. */
void vtc_split_init(struct vtc_vq *vq);
int vtc_split_add(struct vtc_vq *vq, const struct vtc_desc *descs, uint16_t n, void *cookie);
bool vtc_split_need_kick(struct vtc_vq *vq);
bool vtc_split_has_used(struct vtc_vq *vq);
int vtc_split_reap(struct vtc_vq *vq, struct vtc_cpl *cpls, uint32_t max);
void vtc_split_set_interrupt(struct vtc_vq *vq);

void vtc_packed_init(struct vtc_vq *vq);
int vtc_packed_add(struct vtc_vq *vq, const struct vtc_desc *descs, uint16_t n, void *cookie);
bool vtc_packed_need_kick(struct vtc_vq *vq);
bool vtc_packed_has_used(struct vtc_vq *vq);
int vtc_packed_reap(struct vtc_vq *vq, struct vtc_cpl *cpls, uint32_t max);
void vtc_packed_set_interrupt(struct vtc_vq *vq);

/* Little-endian guest fields through volatile-free atomics (the other side is a process). */
static inline uint16_t
vtc_load16_acquire(const uint16_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void
vtc_store16_release(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline uint16_t
vtc_load16(const uint16_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void
vtc_store16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline void
vtc_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
#endif
}

/* Orders our ring stores before our loads of the device's suppression fields. */
static inline void
vtc_mb(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

#endif
