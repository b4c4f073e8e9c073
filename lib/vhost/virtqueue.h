/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VHOST_VIRTQUEUE_H
#define VHOST_VIRTQUEUE_H

/*
 * The virtqueue engine of lib/vhost: guest memory translation, and split and packed virtqueues
 * seen from the device side. Pure C: no DPDK, no rte_vhost. Everything read from guest memory
 * is validated before use (see doc/virtqueue.md for the rules and the errors).
 *
 * Threading: a struct vhost_vq belongs to one thread (the reactor that polls it). A struct
 * vhost_vq_mem is read-only once built and may be shared by the queues of a session.
 *
 * Typical use on the data path:
 *
 *	while ((rc = vhost_vq_pop(vq, mem, &req->chain)) != -EAGAIN) {
 *		if (rc == -EIO) { stop the queue; break; }
 *		if (rc == -EINVAL) { error status via chain.err_tail, or stop; continue; }
 *		submit req;
 *	}
 *	... on completion: vhost_vq_push(vq, req->chain.id, req->chain.ndescs, used_len);
 *	... once per batch: if (vhost_vq_publish(vq)) write the call eventfd;
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

/* ---- guest memory ------------------------------------------------------------------------ */

/* vhost-user's (and rte_vhost's) limit on memory regions. */
#define VHOST_VQ_MEM_MAX_REGIONS 8

struct vhost_vq_mem_region {
	uint64_t gpa;  /* guest-physical start */
	uint64_t size; /* bytes; 0 marks an unused slot */
	uint8_t *host; /* host address of gpa */
};

/* The guest memory table. Read-only once built; unused slots are zeroed. */
struct vhost_vq_mem {
	uint32_t nregions;
	struct vhost_vq_mem_region regions[VHOST_VQ_MEM_MAX_REGIONS];
};

/*
 * Builds the table from n regions. Returns 0, or -EINVAL when n exceeds the limit, a region is
 * empty, its guest or host range wraps around the address space, or two regions overlap in
 * guest-physical space. On error the table is left empty.
 */
int vhost_vq_mem_init(struct vhost_vq_mem *mem, const struct vhost_vq_mem_region *regions,
		      uint32_t n);

/*
 * Translates the guest range [gpa, gpa + len) into host iovecs; the range may span adjacent
 * regions (one iovec per region). *hint is a region index remembered between calls (the fast
 * path tries it first); keep one per queue, start it at 0. Returns the number of iovecs used
 * (>= 1), -EINVAL for len 0 or a range that wraps, -EFAULT when a byte lies outside every region,
 * -ENOBUFS when more than iov_max iovecs would be needed.
 */
int vhost_vq_mem_translate(const struct vhost_vq_mem *mem, uint32_t *hint, uint64_t gpa,
			   uint64_t len, struct iovec *iov, uint32_t iov_max);

/*
 * Host address of the guest range [gpa, gpa + len) when it lies inside one region, else NULL
 * (also for len 0). For structures that must be contiguous: rings, indirect tables.
 */
void *vhost_vq_mem_to_host(const struct vhost_vq_mem *mem, uint32_t *hint, uint64_t gpa,
			   uint64_t len);

/*
 * True when the host range [host, host + len) (len > 0) lies inside one region. For checking
 * ring addresses that the front end gives as host (its own virtual) addresses.
 */
bool vhost_vq_mem_host_range_valid(const struct vhost_vq_mem *mem, const void *host, uint64_t len);

/* ---- virtqueues -------------------------------------------------------------------------- */

struct vhost_log;
struct vhost_inflight_split;
struct vhost_inflight_packed;

/* Largest queue size (split and packed). */
#define VHOST_VQ_MAX_SIZE 32768
/*
 * An indirect table may hold up to max(queue size, VHOST_VQ_INDIRECT_MIN_BOUND) descriptors.
 * The spec does not count indirect entries toward the queue size; Linux sizes its tables by the
 * scatter-gather list, which it bounds by the device's seg_max.
 */
#define VHOST_VQ_INDIRECT_MIN_BOUND 1024

/* Why a chain was rejected (chain.err) or the queue broken (vhost_vq_broken_reason()). */
enum vhost_vq_err {
	VHOST_VQ_OK = 0,
	/* Per-descriptor faults: the walk goes on to the end of the chain to find its tail. */
	VHOST_VQ_ERR_ADDR,          /* buffer outside guest memory, or address + len wraps */
	VHOST_VQ_ERR_LEN_ZERO,      /* buffer of length 0 */
	VHOST_VQ_ERR_DIRECTION,     /* device-readable buffer after a device-writable */
	VHOST_VQ_ERR_TOO_MANY_SEGS, /* more iovecs than the chain's capacity */
	VHOST_VQ_ERR_TOTAL_LEN,     /* buffers add up to more than 4 GiB - 1 */
	VHOST_VQ_ERR_INDIRECT_POS,  /* packed: indirect descriptor chained with others */
	/* Structural faults: the walk stops, no tail. */
	VHOST_VQ_ERR_LOOP,             /* more descriptors than the (indirect) table holds */
	VHOST_VQ_ERR_NEXT_RANGE,       /* next index beyond the (indirect) table */
	VHOST_VQ_ERR_INDIRECT_NESTED,  /* INDIRECT inside an indirect table */
	VHOST_VQ_ERR_INDIRECT_NEXT,    /* INDIRECT and NEXT in one descriptor */
	VHOST_VQ_ERR_INDIRECT_FEATURE, /* INDIRECT without VIRTIO_RING_F_INDIRECT_DESC */
	VHOST_VQ_ERR_INDIRECT_LEN,     /* table length 0, not a multiple of 16, or too large */
	VHOST_VQ_ERR_INDIRECT_ADDR,    /* table not inside one guest memory region */
	/* Queue-breaking faults (-EIO): the queue needs a reset. */
	VHOST_VQ_ERR_AVAIL_IDX,  /* split: avail idx moved by more than the size */
	VHOST_VQ_ERR_HEAD_RANGE, /* split: head index >= queue size */
	VHOST_VQ_ERR_ID_RANGE,   /* packed: buffer id >= queue size */
	VHOST_VQ_ERR_CHAIN_LEN,  /* packed: chain longer than the queue size */
	VHOST_VQ_ERR_INFLIGHT,   /* the inflight record changed under the device */
	VHOST_VQ_ERR_COUNT,
};

/* A short lower-case description ("buffer outside guest memory"). */
const char *vhost_vq_err_str(enum vhost_vq_err err);

/*
 * One request's descriptor chain. The caller sets iov and iov_max once (the request object owns
 * the array); vhost_vq_pop fills the rest. Direction per segment: iov[0 .. nreadable) are
 * device-readable, iov[nreadable .. niov) device-writable (the virtio ordering rule is enforced,
 * so the boundary describes every segment).
 */
struct vhost_vq_chain {
	struct iovec *iov; /* caller's array */
	uint32_t iov_max;  /* its capacity */

	uint32_t niov;      /* iovecs filled */
	uint32_t nreadable; /* leading device-readable iovecs */
	uint32_t read_len;  /* bytes in the readable iovecs */
	uint32_t write_len; /* bytes in the writable iovecs (read_len + write_len < 4 GiB) */
	uint16_t id;        /* split: head descriptor index; packed: buffer id (< size) */
	uint16_t ndescs;    /* descriptors taken from the ring (packed push needs it) */
	uint16_t pos;       /* split: avail ring index; packed: slot of the first descriptor */
	uint8_t err;        /* enum vhost_vq_err after -EINVAL */
	/*
	 * After -EINVAL: the host address of the chain's last byte when the chain's last buffer
	 * is device-writable and that byte lies in guest memory (virtio-blk's status byte);
	 * NULL otherwise. Not set on success.
	 */
	uint8_t *err_tail;
};

/* Queue parameters. The ring pointers are host addresses the caller checked to be in memory. */
struct vhost_vq_params {
	const char *name;  /* for log messages (controller name); must outlive the queue */
	uint16_t index;    /* queue index, for log messages */
	uint16_t size;     /* split: power of two; both: 1 .. VHOST_VQ_MAX_SIZE */
	uint64_t features; /* negotiated virtio feature bits */
	/*
	 * Where to start, in vhost-user's encoding: split: the index; packed: bits 0-14 the ring
	 * slot, bit 15 the wrap counter (1 on a fresh queue).
	 */
	uint16_t avail_base;
	uint16_t used_base;
};

/* The base of a fresh packed ring (slot 0, wrap counter 1); a fresh split ring's is 0. */
#define VHOST_VQ_PACKED_INITIAL_BASE 0x8000u

/* Queue state; fields are private to virtqueue.c. */
struct vhost_vq {
	/* Hot, read-mostly. */
	bool is_packed; /* packed ring (VIRTIO_F_RING_PACKED) */
	bool event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;  /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	bool broken;    /* a queue-breaking fault was seen: pop returns -EIO */
	uint16_t size;
	uint16_t mask;         /* split: size - 1 */
	uint32_t indirect_max; /* most descriptors in an indirect table */
	uint32_t mem_hint;     /* last guest memory region hit */

	/* Device-side ring state. */
	uint16_t last_avail_idx; /* split: free-running; packed: ring slot */
	uint16_t avail_shadow;   /* split: last avail->idx read */
	uint16_t last_used_idx;  /* split: free-running; packed: ring slot */
	uint16_t signalled_used; /* split: used idx at the last notification decision */
	uint32_t batch_ndescs;   /* descriptors pushed since the last publish */
	bool avail_wrap;         /* packed: device's view of the driver wrap counter */
	bool used_wrap;          /* packed: device ring wrap counter */
	bool batch_held;         /* packed: a first used descriptor awaits its flags */
	uint16_t batch_slot;     /* packed: slot of that descriptor */
	uint16_t batch_flags;    /* packed: its flags, written by publish */
	uint32_t batch_run;      /* packed: descriptors pushed since batch_slot */

	union {
		struct {
			struct vring_desc *desc;
			struct vring_avail *avail;
			struct vring_used *used;
		} split;
		struct {
			struct vring_packed_desc *desc;
			/* Driver and device event suppression structures. */
			struct vring_packed_desc_event *driver;
			struct vring_packed_desc_event *device;
		} packed;
	};

	/*
	 * Dirty logging (migration), NULL while off: every store into the rings is marked in it
	 * right after the store. Split: log_ring_gpa is the used ring (the front end's
	 * log_guest_addr); packed: the descriptor ring, and log_event_gpa the device event area.
	 */
	const struct vhost_log *log;
	uint64_t log_ring_gpa;
	uint64_t log_event_gpa;

	/*
	 * Inflight record (INFLIGHT_SHMFD), NULL while off: a pop marks its chain in it, a
	 * publish clears it (see vhost_vq_inflight_attach). The local copies are the truth; the
	 * record's fields are written, and read back only with bounds.
	 */
	union {
		void *any;
		struct vhost_inflight_split *split;
		struct vhost_inflight_packed *packed;
	} inf;
	uint16_t inf_desc_num;  /* entries of the record */
	uint16_t inf_free;      /* packed: free_head */
	uint16_t inf_head;      /* packed: old_free_head (head entry of the next chain) */
	uint32_t inf_pending;   /* packed: pushes not yet committed */
	uint64_t inf_counter;   /* the next request's counter */
	uint16_t *inf_resubmit; /* recovered heads (split) or head entries (packed), oldest first */
	uint16_t *inf_id_entry; /* packed: buffer id -> head entry */
	uint32_t inf_nresubmit; /* entries of inf_resubmit */
	uint32_t inf_next;      /* the next one to hand out */

	/* Cold. */
	enum vhost_vq_err broken_reason;
	uint64_t nmalformed; /* chains rejected with -EINVAL */
	const char *name;
	uint16_t index;
};

/*
 * Attaches a split queue: desc, avail and used are the rings' host addresses, aligned 16, 2 and
 * 4. The used ring's flags are left as the driver initialised them (guest kicks enabled).
 * Returns 0 or -EINVAL (bad size, misaligned or NULL ring).
 */
int vhost_vq_init_split(struct vhost_vq *vq, const struct vhost_vq_params *params,
			struct vring_desc *desc, struct vring_avail *avail,
			struct vring_used *used);

/*
 * Attaches a packed queue: the descriptor ring (aligned 16) and the driver and device event
 * suppression structures (aligned 4). Returns 0 or -EINVAL (bad size or base, misaligned or
 * NULL ring).
 */
int vhost_vq_init_packed(struct vhost_vq *vq, const struct vhost_vq_params *params,
			 struct vring_packed_desc *desc, struct vring_packed_desc_event *driver,
			 struct vring_packed_desc_event *device);

/*
 * Bytes of the three ring areas for a queue of this size and features (split: desc table, avail
 * ring, used ring including the event index fields when negotiated; packed: descriptor ring and
 * the two 4-byte event structures), so the caller can check them against guest memory.
 */
void vhost_vq_ring_sizes(bool packed, uint16_t size, uint64_t features, uint64_t *desc_len,
			 uint64_t *driver_len, uint64_t *device_len);

/*
 * Takes the next available chain and fills *chain. Returns:
 *   0        a valid chain;
 *   -EAGAIN  nothing available;
 *   -EINVAL  a malformed chain: it is consumed, chain->id (and ndescs) are valid, chain->err says
 *            why and chain->err_tail may point to the last writable byte; the caller must push
 *            it back (with an error status when it can write one) or stop the queue;
 *   -EIO     the queue is broken (vhost_vq_broken_reason()); nothing was consumed and every
 *            later call returns -EIO: stop the queue, the device needs a reset.
 */
int vhost_vq_pop(struct vhost_vq *vq, const struct vhost_vq_mem *mem, struct vhost_vq_chain *chain);

/*
 * Returns a chain to the driver: id and ndescs from the popped chain, used_len the bytes written
 * into its device-writable buffers. Visible to the guest only after vhost_vq_publish().
 */
void vhost_vq_push(struct vhost_vq *vq, uint16_t id, uint16_t ndescs, uint32_t used_len);

/*
 * Publishes the chains pushed since the last call (split: used->idx; packed: the first used
 * descriptor's flags, with release ordering) and returns true when the driver wants a used
 * buffer notification (the caller writes the call eventfd). False when nothing was pushed.
 */
bool vhost_vq_publish(struct vhost_vq *vq);

/* Asks the driver not to kick (the device polls). Advisory: kicks may still come. */
void vhost_vq_kick_disable(struct vhost_vq *vq);

/*
 * Asks the driver to kick on its next available buffer, before the device sleeps on the kick
 * eventfd. Returns true when buffers are already available: poll again instead of sleeping
 * (the re-check that closes the race with a driver that did not see the request).
 */
bool vhost_vq_kick_enable(struct vhost_vq *vq);

/*
 * Turns dirty logging of the ring stores on (log not NULL) or off. ring_gpa / event_gpa: see
 * struct vhost_vq. The log must outlive the queue or the next call.
 */
void vhost_vq_set_log(struct vhost_vq *vq, const struct vhost_log *log, uint64_t ring_gpa,
		      uint64_t event_gpa);

/*
 * Attaches the queue's area of the inflight record and recovers from it, after init and before
 * the first pop: completes or rolls back an update a crash cut short (the vhost-user spec's
 * procedure), moves the queue's positions to what the record and the ring say (split: used->idx
 * and the requests in flight; packed: the committed used position and the descriptors in
 * flight), and queues the requests in flight for resubmission: the next pops return them, oldest
 * (lowest counter) first, before any new chain of the ring. desc_num: the area's entries (>= the
 * queue size); work: 2 * queue size entries owned by the caller for the queue's life. Returns the
 * number of requests to resubmit, or -EINVAL (logged) when the record is inconsistent.
 */
int vhost_vq_inflight_attach(struct vhost_vq *vq, void *area, uint16_t desc_num, uint16_t *work);

/* Positions for GET_VRING_BASE, in the encoding of struct vhost_vq_params. */
uint16_t vhost_vq_get_avail_base(const struct vhost_vq *vq);
uint16_t vhost_vq_get_used_base(const struct vhost_vq *vq);

static inline bool
vhost_vq_is_broken(const struct vhost_vq *vq)
{
	return vq->broken;
}

static inline enum vhost_vq_err
vhost_vq_broken_reason(const struct vhost_vq *vq)
{
	return vq->broken_reason;
}

#endif
