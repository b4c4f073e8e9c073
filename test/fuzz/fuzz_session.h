/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_FUZZ_SESSION_H
#define VT_FUZZ_SESSION_H

/*
 * A personality's whole request path for a harness: one reactor driven by the harness, a malloc
 * bdev, a controller and a session on fabricated guest memory (one heap block of exactly its
 * size, so AddressSanitizer sees any access outside it), and a driver that builds chains from
 * the input on split or packed rings, directly or through an indirect table, then polls until
 * the device answers (or stops the queue). Modelled on the unit tests' session helpers
 * (test/unit/lib/vhost/vhost_blk_ut.c).
 *
 * The including file includes the personality's source first (for its ops and backend).
 */

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bdev/malloc/bdev_malloc.h"
#include "lib/vhost/vhost_internal.h"
#include "test/fuzz/fuzz_common.h"
#include "test/unit/common/ut_reactor.h"

#define FS_MEM_GPA 0x100000ull
#define FS_MEM_SIZE (1u << 20)
#define FS_GAP_GPA 0x10000ull /* outside guest memory */
#define FS_QSIZE 64
#define FS_RINGS 0x4000u /* ring area size per queue at the start of memory */
#define FS_BUMP_START (4 * FS_RINGS)
#define FS_MAX_BUFS 8
#define FS_MAX_LONG (FS_MAX_BUFS * 256)
#define FS_PACKED_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define FS_PACKED_USED (1u << VRING_PACKED_DESC_F_USED)
/* Reactor iterations without an answer after which a request counts as never answered. */
#define FS_IDLE_POLLS 64
/* A call (start, stop) that takes longer than this is a hang: abort, keep the input. */
#define FS_CALL_TIMEOUT_TICKS (10 * VT_TICKS_HZ)

static uint8_t *g_fs_mem;
static uint64_t g_fs_bump;
static struct vhost_ctrlr *g_fs_ctrlr;
static struct vhost_session *g_fs_s;
static struct vhost_mem_map *g_fs_map;
static struct vt_bdev *g_fs_bdev;

/* The driver's view of one queue. */
struct fs_q {
	uint16_t index;
	bool packed;
	bool started;
	uint64_t desc, drv, dev; /* ring gpas */
	uint16_t next_desc;      /* split: next free descriptor */
	uint16_t avail_idx;      /* split */
	uint16_t used_seen;      /* split */
	uint16_t slot;           /* packed: next slot */
	bool wrap;               /* packed: driver wrap counter */
	uint16_t used_slot;      /* packed: next slot to reap */
	bool used_wrap;
	uint16_t ndescs_of[FS_QSIZE]; /* ring descriptors of the chain with this id */
	int outstanding;              /* chains made available and not yet returned */
	uint32_t since_drain;         /* ring descriptors used since nothing was outstanding */
};

struct fs_buf {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* Long chains (more buffers than the request's inline iovecs): built here. */
static struct fs_buf g_fs_long[FS_MAX_LONG];

/*
 * Repeats each buffer but the first and the last (header and status) 1 + rep times in
 * g_fs_long (the same guest memory again: legal); returns the new count. Up to 1538 buffers:
 * beyond an indirect table's 1024 on purpose.
 */
static inline int
fs_lengthen(const struct fs_buf *b, int n, uint8_t rep)
{
	int m = 0;

	for (int i = 0; i < n; i++) {
		int times = i == 0 || i == n - 1 ? 1 : 1 + rep;

		for (int r = 0; r < times; r++) {
			g_fs_long[m++] = b[i];
		}
	}
	return m;
}

static inline void *
fs_gva(uint64_t gpa)
{
	return g_fs_mem + (gpa - FS_MEM_GPA);
}

static inline bool
fs_in_mem(uint64_t gpa, uint64_t len)
{
	return gpa >= FS_MEM_GPA && gpa - FS_MEM_GPA <= FS_MEM_SIZE &&
	       len <= FS_MEM_SIZE - (gpa - FS_MEM_GPA);
}

/* Guest memory for buffers and tables; wraps back to the start when full (buffers overlap). */
static inline uint64_t
fs_galloc(uint32_t len)
{
	uint64_t a = VT_ALIGN_UP((uint64_t)len, 64ull);

	if (a > FS_MEM_SIZE - FS_BUMP_START) {
		a = FS_MEM_SIZE - FS_BUMP_START;
	}
	if (g_fs_bump + a > FS_MEM_SIZE) {
		g_fs_bump = FS_BUMP_START;
	}
	g_fs_bump += a;
	return FS_MEM_GPA + g_fs_bump - a;
}

static inline void
fs_wait(struct vhost_call *call)
{
	uint64_t deadline = vt_get_ticks() + FS_CALL_TIMEOUT_TICKS;

	while (!atomic_load(&call->answered)) {
		vt_reactor_poll_once();
		if (vt_get_ticks() > deadline) {
			fprintf(stderr, "fuzz: a vhost call was not answered in 10 s\n");
			abort();
		}
	}
}

/* Runs a reactor call here and waits for its answer; returns its rc. */
static inline int
fs_run(void (*fn)(struct vhost_call *call), struct vhost_call **out)
{
	struct vhost_call *call = vhost_call_alloc(g_fs_s, fn);
	int rc;

	if (call == NULL) {
		abort();
	}
	atomic_fetch_add(&call->refs, 1); /* the reactor's, as vhost_call_run takes it */
	if (out != NULL) {
		*out = call;
		return 0;
	}
	call->fn(call);
	fs_wait(call);
	rc = call->rc;
	vhost_call_put(call);
	return rc;
}

/*
 * Once per process: reactor, guest memory, a malloc bdev (2048 blocks of 512 bytes) called
 * bdev_name, the controller with ops, backend_create(c) (the personality's), a session attached
 * with the memory map.
 */
static inline void
fs_setup(const char *bdev_name, const struct vhost_backend_ops *ops,
	 int (*backend_create)(struct vhost_ctrlr *c))
{
	struct vhost_vq_mem_region r = { .gpa = FS_MEM_GPA, .size = FS_MEM_SIZE };
	struct bdev_malloc_opts opts = { .name = bdev_name, .num_blocks = 2048, .block_size = 512 };
	struct vhost_call *call;

	fuzz_quiet_logs();
	if (ut_reactor_init_one(false) != 0) {
		abort();
	}
	g_fs_mem = malloc(FS_MEM_SIZE);
	if (g_fs_mem == NULL || bdev_malloc_create(&opts, &g_fs_bdev) != 0) {
		abort();
	}
	memset(g_fs_mem, 0, FS_MEM_SIZE);
	r.host = g_fs_mem;
	g_fs_ctrlr = calloc(1, sizeof(*g_fs_ctrlr));
	if (g_fs_ctrlr == NULL) {
		abort();
	}
	snprintf(g_fs_ctrlr->name, sizeof(g_fs_ctrlr->name), "fuzz");
	g_fs_ctrlr->ops = ops;
	g_fs_ctrlr->reactor = 0;
	g_fs_ctrlr->state = VHOST_CTRLR_RUNNING;
	TAILQ_INIT(&g_fs_ctrlr->sessions);
	if (backend_create(g_fs_ctrlr) != 0) {
		abort();
	}
	g_fs_s = vhost_session_alloc(g_fs_ctrlr, 0);
	if (g_fs_s == NULL) {
		abort();
	}
	TAILQ_INSERT_TAIL(&g_fs_ctrlr->sessions, g_fs_s, link);
	if (fs_run(vhost_session_attach_fn, NULL) != 0) {
		abort();
	}
	g_fs_map = vhost_mem_map_wrap(&r, 1);
	if (g_fs_map == NULL) {
		abort();
	}
	fs_run(vhost_session_set_map_fn, &call);
	call->u.map = g_fs_map;
	call->fn(call);
	fs_wait(call);
	vhost_call_put(call);
	g_fs_bump = FS_BUMP_START;
}

/* Starts queue index (its rings in slot index % 4 of the ring area); returns the start's rc. */
static inline int
fs_queue_start(struct fs_q *fq, uint16_t index, uint64_t features)
{
	uint64_t rings = FS_MEM_GPA + (uint64_t)(index % 4) * FS_RINGS;
	struct vhost_queue_params *p;
	struct vhost_call *call;
	int rc;

	memset(fq, 0, sizeof(*fq));
	memset(fs_gva(rings), 0, FS_RINGS);
	fq->index = index;
	fq->packed = (features & (1ull << VIRTIO_F_RING_PACKED)) != 0;
	fq->wrap = true;
	fq->used_wrap = true;
	fq->desc = rings;
	fq->drv = rings + 16 * FS_QSIZE;
	fq->dev = fq->drv + 0x400;
	fs_run(vhost_queue_start_fn, &call);
	p = &call->u.start;
	p->vq = (struct vhost_vq_params){
		.name = "fuzz",
		.index = index,
		.size = FS_QSIZE,
		.features = features,
		.avail_base = fq->packed ? VHOST_VQ_PACKED_INITIAL_BASE : 0,
		.used_base = fq->packed ? VHOST_VQ_PACKED_INITIAL_BASE : 0,
	};
	p->desc = fs_gva(fq->desc);
	p->driver = fs_gva(fq->drv);
	p->device = fs_gva(fq->dev);
	p->kickfd = -1;
	p->callfd = -1;
	p->map = g_fs_map;
	p->q = vhost_queue_alloc(g_fs_s, FS_QSIZE);
	if (p->q == NULL) {
		abort();
	}
	call->fn(call);
	fs_wait(call);
	rc = call->rc;
	vhost_call_put(call);
	fq->started = rc == 0;
	return rc;
}

/* Stops a started queue (waits for its drain). */
static inline void
fs_queue_stop(struct fs_q *fq)
{
	struct vhost_call *call;

	if (!fq->started) {
		return;
	}
	fs_run(vhost_queue_stop_fn, &call);
	call->qidx = fq->index;
	call->fn(call);
	fs_wait(call);
	vhost_call_put(call);
	fq->started = false;
}

/* Writes one descriptor; split: flags and next; packed: flags (the caller orders the first). */
static inline void
fs_split_desc(struct vring_desc *d, const struct fs_buf *b, uint16_t flags, uint16_t next)
{
	d->addr = htole64(b->gpa);
	d->len = htole32(b->len);
	d->flags = htole16(flags | (b->write ? VRING_DESC_F_WRITE : 0));
	d->next = htole16(next);
}

/*
 * Makes the n buffers available as one chain, through an indirect table when indirect. Returns
 * the number of ring descriptors used (what the device returns for a packed chain).
 */
static inline int
fs_submit(struct fs_q *fq, const struct fs_buf *b, int n, bool indirect)
{
	struct fs_buf tb;

	if (indirect) {
		struct vring_desc *t;

		tb = (struct fs_buf){ fs_galloc(16u * (uint32_t)n), 16u * (uint32_t)n, false };
		t = fs_gva(tb.gpa);
		for (int i = 0; i < n; i++) {
			if (fq->packed) {
				/* Packed tables are sequential: flags say only WRITE. */
				struct vring_packed_desc *pt = (struct vring_packed_desc *)t;

				pt[i] = (struct vring_packed_desc){
					.addr = htole64(b[i].gpa),
					.len = htole32(b[i].len),
					.flags = htole16(b[i].write ? VRING_DESC_F_WRITE : 0),
				};
			} else {
				fs_split_desc(&t[i], &b[i], i + 1 < n ? VRING_DESC_F_NEXT : 0,
					      (uint16_t)(i + 1));
			}
		}
		b = &tb;
		n = 1;
	}
	if (fq->packed) {
		struct vring_packed_desc *ring = fs_gva(fq->desc);
		uint16_t first = fq->slot, first_flags = 0, id = fq->slot;

		for (int i = 0; i < n; i++) {
			uint16_t f = (b[i].write ? VRING_DESC_F_WRITE : 0) |
				     (i + 1 < n ? VRING_DESC_F_NEXT : 0) |
				     (indirect ? VRING_DESC_F_INDIRECT : 0) |
				     (fq->wrap ? FS_PACKED_AVAIL : FS_PACKED_USED);
			struct vring_packed_desc *d = &ring[fq->slot];

			d->addr = htole64(b[i].gpa);
			d->len = htole32(b[i].len);
			d->id = htole16(id);
			if (i == 0) {
				first_flags = f;
			} else {
				d->flags = htole16(f);
			}
			if (++fq->slot == FS_QSIZE) {
				fq->slot = 0;
				fq->wrap = !fq->wrap;
			}
		}
		fq->ndescs_of[id] = (uint16_t)n;
		__atomic_store_n(&ring[first].flags, htole16(first_flags), __ATOMIC_RELEASE);
	} else {
		struct vring_desc *desc = fs_gva(fq->desc);
		struct vring_avail *avail = fs_gva(fq->drv);
		uint16_t head = fq->next_desc;

		for (int i = 0; i < n; i++) {
			uint16_t d = (uint16_t)((head + i) % FS_QSIZE);

			fs_split_desc(&desc[d], &b[i],
				      (i + 1 < n ? VRING_DESC_F_NEXT : 0) |
					      (indirect ? VRING_DESC_F_INDIRECT : 0),
				      (uint16_t)((d + 1) % FS_QSIZE));
		}
		fq->next_desc = (uint16_t)((head + n) % FS_QSIZE);
		fq->ndescs_of[head] = (uint16_t)n;
		avail->ring[fq->avail_idx % FS_QSIZE] = htole16(head);
		__atomic_store_n(&avail->idx, htole16(++fq->avail_idx), __ATOMIC_RELEASE);
	}
	fq->outstanding++;
	fq->since_drain += (uint32_t)n;
	return n;
}

/* Polls until the device returns a chain; false if it does not. */
static inline bool
fs_reap_one(struct fs_q *fq)
{
	for (int idle = 0; idle < FS_IDLE_POLLS; idle++) {
		vt_reactor_poll_once();
		if (fq->packed) {
			struct vring_packed_desc *d =
				&((struct vring_packed_desc *)fs_gva(fq->desc))[fq->used_slot];
			uint16_t f = __atomic_load_n(&d->flags, __ATOMIC_ACQUIRE);
			bool avail = f & FS_PACKED_AVAIL, used = f & FS_PACKED_USED;

			if (avail == fq->used_wrap && used == fq->used_wrap) {
				uint16_t id = le16toh(d->id);
				int ndescs = id < FS_QSIZE ? fq->ndescs_of[id] : 1;

				fq->outstanding--;
				for (int i = 0; i < VT_MAX(ndescs, 1); i++) {
					if (++fq->used_slot == FS_QSIZE) {
						fq->used_slot = 0;
						fq->used_wrap = !fq->used_wrap;
					}
				}
				return true;
			}
		} else {
			struct vring_used *u = fs_gva(fq->dev);

			if (le16toh(__atomic_load_n(&u->idx, __ATOMIC_ACQUIRE)) != fq->used_seen) {
				fq->used_seen++;
				fq->outstanding--;
				return true;
			}
		}
	}
	return false;
}

/* Reaps every outstanding chain; false when the device stopped answering. */
static inline bool
fs_reap_all(struct fs_q *fq)
{
	while (fq->outstanding > 0) {
		if (!fs_reap_one(fq)) {
			return false;
		}
	}
	fq->since_drain = 0;
	return true;
}

/*
 * Whether a chain of n more buffers (at most n ring descriptors) may go in before the
 * outstanding ones are reaped: the driver reuses descriptors in ring order, so the ring must not
 * wrap onto chains still out.
 */
static inline bool
fs_room(const struct fs_q *fq, int n)
{
	return fq->since_drain + (uint32_t)n <= FS_QSIZE;
}

/*
 * Builds up to FS_MAX_BUFS buffers from the input: per buffer a kind byte (bit 0 device-writable,
 * bits 1-2 where: 0 fresh guest memory, 1 outside guest memory, 2 the previous buffer again,
 * 3 fresh memory ending at the very end of guest memory), a le16 length, and for a readable
 * buffer up to 64 bytes of contents (the rest zero). Returns how many buffers.
 */
static inline int
fs_bufs_from_input(struct fuzz_in *in, struct fs_buf *b, uint8_t nbufs)
{
	int n = 1 + nbufs % FS_MAX_BUFS;

	for (int i = 0; i < n; i++) {
		uint8_t kind = fuzz_u8(in);
		uint32_t len = fuzz_u16(in);

		b[i].write = kind & 1;
		b[i].len = len;
		switch ((kind >> 1) & 3) {
		case 1:
			b[i].gpa = FS_GAP_GPA;
			break;
		case 2:
			b[i].gpa = i > 0 ? b[i - 1].gpa : fs_galloc(len);
			break;
		case 3:
			b[i].gpa =
				FS_MEM_GPA + FS_MEM_SIZE - VT_MIN(len, FS_MEM_SIZE - FS_BUMP_START);
			break;
		default:
			b[i].gpa = fs_galloc(len);
			break;
		}
		if (fs_in_mem(b[i].gpa, len) && len > 0) {
			uint8_t *p = fs_gva(b[i].gpa);
			size_t got = 0;

			if (!b[i].write) {
				got = fuzz_bytes(in, p, VT_MIN(len, 64u));
			}
			memset(p + got, b[i].write ? 0xee : 0, len - got);
		}
	}
	return n;
}

#endif
