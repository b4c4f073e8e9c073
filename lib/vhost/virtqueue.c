/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Virtqueue engine: guest memory translation and the device side of split and packed rings.
 * Every value read from guest memory is read once into a local and validated before use; see
 * doc/virtqueue.md for the rules.
 */
#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "vt/log.h"
#include "vt/util.h"

#include "lib/vhost/virtqueue.h"
#include "lib/vhost/vhost_inflight.h"
#include "lib/vhost/vhost_log.h"

VT_LOG_REGISTER_COMPONENT(vhost_ring)

/* Packed ring descriptor flags (the kernel header gives them as bit numbers). */
#define PACKED_F_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define PACKED_F_USED (1u << VRING_PACKED_DESC_F_USED)
#define PACKED_EVENT_WRAP (1u << VRING_PACKED_EVENT_F_WRAP_CTR)

#define DESC_SIZE 16u

_Static_assert(sizeof(struct vring_desc) == DESC_SIZE, "split descriptor size");
_Static_assert(sizeof(struct vring_packed_desc) == DESC_SIZE, "packed descriptor size");
_Static_assert(sizeof(struct vring_used_elem) == 8, "used element size");
_Static_assert(sizeof(struct vring_packed_desc_event) == 4, "event suppression size");

static const char *const g_err_str[VHOST_VQ_ERR_COUNT] = {
	[VHOST_VQ_OK] = "no error",
	[VHOST_VQ_ERR_ADDR] = "buffer outside guest memory",
	[VHOST_VQ_ERR_LEN_ZERO] = "buffer of length 0",
	[VHOST_VQ_ERR_DIRECTION] = "device-readable buffer after a device-writable one",
	[VHOST_VQ_ERR_TOO_MANY_SEGS] = "too many segments",
	[VHOST_VQ_ERR_TOTAL_LEN] = "buffers add up to 4 GiB or more",
	[VHOST_VQ_ERR_INDIRECT_POS] = "indirect descriptor chained with other descriptors",
	[VHOST_VQ_ERR_LOOP] = "descriptor loop (chain longer than its table)",
	[VHOST_VQ_ERR_NEXT_RANGE] = "next descriptor index out of range",
	[VHOST_VQ_ERR_INDIRECT_NESTED] = "nested indirect descriptor",
	[VHOST_VQ_ERR_INDIRECT_NEXT] = "indirect descriptor with the next flag",
	[VHOST_VQ_ERR_INDIRECT_FEATURE] = "indirect descriptor without the indirect feature",
	[VHOST_VQ_ERR_INDIRECT_LEN] = "bad indirect table length",
	[VHOST_VQ_ERR_INDIRECT_ADDR] = "indirect table not inside one guest memory region",
	[VHOST_VQ_ERR_AVAIL_IDX] = "avail index moved by more than the queue size",
	[VHOST_VQ_ERR_HEAD_RANGE] = "head descriptor index out of range",
	[VHOST_VQ_ERR_ID_RANGE] = "buffer id out of range",
	[VHOST_VQ_ERR_CHAIN_LEN] = "descriptor chain longer than the queue",
	[VHOST_VQ_ERR_INFLIGHT] = "inflight record changed under the device",
};

const char *
vhost_vq_err_str(enum vhost_vq_err err)
{
	if ((unsigned int)err >= VHOST_VQ_ERR_COUNT) {
		return "unknown error";
	}
	return g_err_str[err];
}

/* ---- guest memory ------------------------------------------------------------------------ */

int
vhost_vq_mem_init(struct vhost_vq_mem *mem, const struct vhost_vq_mem_region *regions, uint32_t n)
{
	uint32_t i, j;

	memset(mem, 0, sizeof(*mem));
	if (n > VHOST_VQ_MEM_MAX_REGIONS) {
		VT_ERRLOG("too many guest memory regions: %" PRIu32 " (max %d)\n", n,
			  VHOST_VQ_MEM_MAX_REGIONS);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		const struct vhost_vq_mem_region *r = &regions[i];

		if (r->size == 0 || r->host == NULL || r->size > UINT64_MAX - r->gpa ||
		    r->size > UINTPTR_MAX - (uintptr_t)r->host) {
			VT_ERRLOG("invalid guest memory region %" PRIu32 ": gpa 0x%" PRIx64
				  " size 0x%" PRIx64 " host %p\n",
				  i, r->gpa, r->size, (void *)r->host);
			return -EINVAL;
		}
		for (j = 0; j < i; j++) {
			const struct vhost_vq_mem_region *o = &regions[j];

			if (r->gpa < o->gpa + o->size && o->gpa < r->gpa + r->size) {
				VT_ERRLOG("guest memory regions %" PRIu32 " and %" PRIu32
					  " overlap\n",
					  j, i);
				return -EINVAL;
			}
		}
	}
	memcpy(mem->regions, regions, n * sizeof(*regions));
	mem->nregions = n;
	return 0;
}

/* The region holding gpa, or NULL. Unused slots have size 0 and never match. */
static const struct vhost_vq_mem_region *
mem_find(const struct vhost_vq_mem *mem, uint64_t gpa, uint32_t *idx)
{
	uint32_t i;

	for (i = 0; i < mem->nregions; i++) {
		const struct vhost_vq_mem_region *r = &mem->regions[i];

		if (gpa - r->gpa < r->size) {
			*idx = i;
			return r;
		}
	}
	return NULL;
}

static int
mem_translate_slow(const struct vhost_vq_mem *mem, uint32_t *hint, uint64_t gpa, uint64_t len,
		   struct iovec *iov, uint32_t iov_max)
{
	const struct vhost_vq_mem_region *r;
	uint64_t off, chunk;
	uint32_t n = 0, idx;

	if (len == 0 || len > UINT64_MAX - gpa) {
		return -EINVAL;
	}
	while (len > 0) {
		r = mem_find(mem, gpa, &idx);
		if (r == NULL) {
			return -EFAULT;
		}
		off = gpa - r->gpa;
		chunk = VT_MIN(len, r->size - off);
		if (n > 0 && (uint8_t *)iov[n - 1].iov_base + iov[n - 1].iov_len == r->host + off) {
			/* Adjacent in host memory too: extend the previous segment. */
			iov[n - 1].iov_len += chunk;
		} else {
			if (n == iov_max) {
				return -ENOBUFS;
			}
			iov[n].iov_base = r->host + off;
			iov[n].iov_len = chunk;
			n++;
		}
		if (n == 1) {
			*hint = idx;
		}
		gpa += chunk;
		len -= chunk;
	}
	return (int)n;
}

/* Fast path: the whole range inside the region that served the previous translation. */
static inline int
mem_translate(const struct vhost_vq_mem *mem, uint32_t *hint, uint64_t gpa, uint64_t len,
	      struct iovec *iov, uint32_t iov_max)
{
	const struct vhost_vq_mem_region *r = &mem->regions[*hint];
	uint64_t off = gpa - r->gpa;

	if (vt_likely(off < r->size && len - 1 < r->size - off && iov_max > 0)) {
		/* len - 1 wraps for len 0, which the slow path rejects. */
		iov->iov_base = r->host + off;
		iov->iov_len = len;
		return 1;
	}
	return mem_translate_slow(mem, hint, gpa, len, iov, iov_max);
}

int
vhost_vq_mem_translate(const struct vhost_vq_mem *mem, uint32_t *hint, uint64_t gpa, uint64_t len,
		       struct iovec *iov, uint32_t iov_max)
{
	if (*hint >= VHOST_VQ_MEM_MAX_REGIONS) {
		*hint = 0;
	}
	return mem_translate(mem, hint, gpa, len, iov, iov_max);
}

static inline void *
mem_to_host(const struct vhost_vq_mem *mem, uint32_t *hint, uint64_t gpa, uint64_t len)
{
	const struct vhost_vq_mem_region *r = &mem->regions[*hint];
	uint64_t off = gpa - r->gpa;

	if (vt_unlikely(!(off < r->size))) {
		r = mem_find(mem, gpa, hint);
		if (r == NULL) {
			return NULL;
		}
		off = gpa - r->gpa;
	}
	if (len == 0 || len > r->size - off) {
		return NULL;
	}
	return r->host + off;
}

void *
vhost_vq_mem_to_host(const struct vhost_vq_mem *mem, uint32_t *hint, uint64_t gpa, uint64_t len)
{
	if (*hint >= VHOST_VQ_MEM_MAX_REGIONS) {
		*hint = 0;
	}
	return mem_to_host(mem, hint, gpa, len);
}

bool
vhost_vq_mem_host_range_valid(const struct vhost_vq_mem *mem, const void *host, uint64_t len)
{
	uint32_t i;

	for (i = 0; i < mem->nregions; i++) {
		const struct vhost_vq_mem_region *r = &mem->regions[i];
		uint64_t off = (uintptr_t)host - (uintptr_t)r->host;

		if (off < r->size) {
			return len > 0 && len <= r->size - off;
		}
	}
	return false;
}

/* ---- guest memory accessors ---------------------------------------------------------------- */

static inline uint16_t
load16(const uint16_t *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_RELAXED));
}

static inline uint16_t
load16_acquire(const uint16_t *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_ACQUIRE));
}

static inline void
store16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, htole16(v), __ATOMIC_RELAXED);
}

/* A descriptor as raw bytes, for the barrier below. */
struct desc_bytes {
	uint8_t b[DESC_SIZE];
};

/*
 * Copies one descriptor out of guest memory. The empty asm claims to rewrite the copy, so the
 * compiler cannot replace later uses of the copy by fresh reads of guest memory: every check and
 * use sees the same values even if the guest rewrites the descriptor meanwhile (no double
 * fetch). It constrains only the copy, not other memory. src may be unaligned (indirect tables).
 */
static inline void
desc_fetch(void *dst, const uint8_t *src)
{
	memcpy(dst, src, DESC_SIZE);
	__asm__ __volatile__("" : "+m"(*(struct desc_bytes *)dst));
}

/* ---- queue setup --------------------------------------------------------------------------- */

static void
vq_init_common(struct vhost_vq *vq, const struct vhost_vq_params *p, bool packed)
{
	memset(vq, 0, sizeof(*vq));
	vq->is_packed = packed;
	vq->event_idx = (p->features >> VIRTIO_RING_F_EVENT_IDX) & 1;
	vq->indirect = (p->features >> VIRTIO_RING_F_INDIRECT_DESC) & 1;
	vq->size = p->size;
	vq->indirect_max = VT_MAX((uint32_t)p->size, VHOST_VQ_INDIRECT_MIN_BOUND);
	vq->name = p->name != NULL ? p->name : "?";
	vq->index = p->index;
}

static bool
ptr_aligned(const void *p, uintptr_t align)
{
	return p != NULL && ((uintptr_t)p & (align - 1)) == 0;
}

int
vhost_vq_init_split(struct vhost_vq *vq, const struct vhost_vq_params *p, struct vring_desc *desc,
		    struct vring_avail *avail, struct vring_used *used)
{
	const char *name = p->name != NULL ? p->name : "?";

	if (!VT_IS_POW2(p->size) || p->size > VHOST_VQ_MAX_SIZE ||
	    ((p->features >> VIRTIO_F_RING_PACKED) & 1)) {
		VT_ERRLOG("cannot set up split virtqueue %s:%u: bad size %u or packed feature\n",
			  name, p->index, p->size);
		return -EINVAL;
	}
	if (!ptr_aligned(desc, 16) || !ptr_aligned(avail, 2) || !ptr_aligned(used, 4)) {
		VT_ERRLOG("cannot set up split virtqueue %s:%u: ring missing or misaligned\n", name,
			  p->index);
		return -EINVAL;
	}
	vq_init_common(vq, p, false);
	vq->mask = p->size - 1;
	vq->split.desc = desc;
	vq->split.avail = avail;
	vq->split.used = used;
	vq->last_avail_idx = p->avail_base;
	vq->avail_shadow = p->avail_base;
	vq->last_used_idx = p->used_base;
	vq->signalled_used = p->used_base;
	return 0;
}

int
vhost_vq_init_packed(struct vhost_vq *vq, const struct vhost_vq_params *p,
		     struct vring_packed_desc *desc, struct vring_packed_desc_event *driver,
		     struct vring_packed_desc_event *device)
{
	const char *name = p->name != NULL ? p->name : "?";
	uint16_t avail_slot = p->avail_base & ~PACKED_EVENT_WRAP;
	uint16_t used_slot = p->used_base & ~PACKED_EVENT_WRAP;

	if (p->size == 0 || p->size > VHOST_VQ_MAX_SIZE || avail_slot >= p->size ||
	    used_slot >= p->size || !((p->features >> VIRTIO_F_RING_PACKED) & 1)) {
		VT_ERRLOG("cannot set up packed virtqueue %s:%u: bad size %u, base %u/%u or "
			  "missing packed feature\n",
			  name, p->index, p->size, p->avail_base, p->used_base);
		return -EINVAL;
	}
	if (!ptr_aligned(desc, 16) || !ptr_aligned(driver, 4) || !ptr_aligned(device, 4)) {
		VT_ERRLOG("cannot set up packed virtqueue %s:%u: ring missing or misaligned\n",
			  name, p->index);
		return -EINVAL;
	}
	vq_init_common(vq, p, true);
	vq->packed.desc = desc;
	vq->packed.driver = driver;
	vq->packed.device = device;
	vq->last_avail_idx = avail_slot;
	vq->avail_wrap = (p->avail_base & PACKED_EVENT_WRAP) != 0;
	vq->last_used_idx = used_slot;
	vq->used_wrap = (p->used_base & PACKED_EVENT_WRAP) != 0;
	return 0;
}

void
vhost_vq_ring_sizes(bool packed, uint16_t size, uint64_t features, uint64_t *desc_len,
		    uint64_t *driver_len, uint64_t *device_len)
{
	uint64_t event = ((features >> VIRTIO_RING_F_EVENT_IDX) & 1) ? 2 : 0;

	*desc_len = (uint64_t)size * DESC_SIZE;
	if (packed) {
		*driver_len = sizeof(struct vring_packed_desc_event);
		*device_len = sizeof(struct vring_packed_desc_event);
	} else {
		*driver_len = 4 + 2 * (uint64_t)size + event;
		*device_len = 4 + 8 * (uint64_t)size + event;
	}
}

uint16_t
vhost_vq_get_avail_base(const struct vhost_vq *vq)
{
	if (vq->is_packed) {
		return vq->last_avail_idx | (vq->avail_wrap ? PACKED_EVENT_WRAP : 0);
	}
	return vq->last_avail_idx;
}

uint16_t
vhost_vq_get_used_base(const struct vhost_vq *vq)
{
	if (vq->is_packed) {
		return vq->last_used_idx | (vq->used_wrap ? PACKED_EVENT_WRAP : 0);
	}
	return vq->last_used_idx;
}

/* ---- errors -------------------------------------------------------------------------------- */

static int
vq_break(struct vhost_vq *vq, enum vhost_vq_err reason, uint32_t value, uint32_t limit)
{
	vq->broken = true;
	vq->broken_reason = reason;
	VT_ERRLOG("virtqueue %s:%u broken: %s (%" PRIu32 ", limit %" PRIu32 "); stopping it, the "
		  "device needs a reset\n",
		  vq->name, vq->index, vhost_vq_err_str(reason), value, limit);
	return -EIO;
}

/* State of one chain walk. */
struct walk {
	enum vhost_vq_err err; /* first fault, VHOST_VQ_OK if none */
	bool structural;       /* the walk stopped before the chain's end */
	bool last_writable;    /* the last buffer seen is device-writable */
	uint32_t last_len;     /* its length (0: no usable last buffer) */
	uint64_t last_addr;    /* its guest address */
};

static int
chain_fail(struct vhost_vq *vq, const struct vhost_vq_mem *mem, struct vhost_vq_chain *c,
	   const struct walk *w)
{
	c->err = (uint8_t)w->err;
	c->err_tail = NULL;
	if (!w->structural && w->last_writable && w->last_len > 0 &&
	    w->last_len - 1 <= UINT64_MAX - w->last_addr) {
		c->err_tail = mem_to_host(mem, &vq->mem_hint, w->last_addr + (w->last_len - 1), 1);
	}
	vq->nmalformed++;
	/* A hostile guest can send these in a loop: log the 1st, 2nd, 4th, 8th... */
	if (VT_IS_POW2(vq->nmalformed)) {
		VT_ERRLOG("malformed descriptor chain %u on virtqueue %s:%u: %s (%" PRIu64
			  " so far)\n",
			  c->id, vq->name, vq->index, vhost_vq_err_str(w->err), vq->nmalformed);
	} else {
		VT_DEBUGLOG(vhost_ring, "malformed descriptor chain %u on virtqueue %s:%u: %s\n",
			    c->id, vq->name, vq->index, vhost_vq_err_str(w->err));
	}
	return -EINVAL;
}

static inline void
walk_fail(struct walk *w, enum vhost_vq_err err, bool structural)
{
	if (w->err == VHOST_VQ_OK) {
		w->err = err;
	}
	w->structural |= structural;
}

/*
 * Adds one buffer to the chain. After a first fault, only remembers the buffer so the walk can
 * report the chain's tail.
 */
static inline void
chain_add(struct vhost_vq *vq, const struct vhost_vq_mem *mem, struct vhost_vq_chain *c,
	  struct walk *w, uint64_t addr, uint32_t len, bool writable)
{
	int rc;

	w->last_addr = addr;
	w->last_len = len;
	w->last_writable = writable;
	if (vt_unlikely(w->err != VHOST_VQ_OK)) {
		return;
	}
	if (vt_unlikely(len == 0)) {
		w->err = VHOST_VQ_ERR_LEN_ZERO;
		return;
	}
	if (vt_unlikely(!writable && c->niov != c->nreadable)) {
		w->err = VHOST_VQ_ERR_DIRECTION;
		return;
	}
	if (vt_unlikely((uint64_t)c->read_len + c->write_len + len > UINT32_MAX)) {
		w->err = VHOST_VQ_ERR_TOTAL_LEN;
		return;
	}
	rc = mem_translate(mem, &vq->mem_hint, addr, len, c->iov + c->niov, c->iov_max - c->niov);
	if (vt_unlikely(rc < 0)) {
		w->err = rc == -ENOBUFS ? VHOST_VQ_ERR_TOO_MANY_SEGS : VHOST_VQ_ERR_ADDR;
		return;
	}
	c->niov += (uint32_t)rc;
	if (writable) {
		c->write_len += len;
	} else {
		c->read_len += len;
		c->nreadable = c->niov;
	}
}

static inline void
chain_reset(struct vhost_vq_chain *c)
{
	c->niov = 0;
	c->nreadable = 0;
	c->read_len = 0;
	c->write_len = 0;
	c->err = VHOST_VQ_OK;
}

/*
 * Validates an indirect table descriptor and returns the table's host address, or NULL after
 * recording the fault. *n receives the number of entries.
 */
static const uint8_t *
indirect_table(struct vhost_vq *vq, const struct vhost_vq_mem *mem, uint64_t addr, uint32_t len,
	       uint32_t *n, struct walk *w)
{
	const uint8_t *table;

	if (!vq->indirect) {
		walk_fail(w, VHOST_VQ_ERR_INDIRECT_FEATURE, true);
		return NULL;
	}
	if (len == 0 || (len & (DESC_SIZE - 1)) != 0 || len / DESC_SIZE > vq->indirect_max) {
		walk_fail(w, VHOST_VQ_ERR_INDIRECT_LEN, true);
		return NULL;
	}
	table = mem_to_host(mem, &vq->mem_hint, addr, len);
	if (table == NULL) {
		walk_fail(w, VHOST_VQ_ERR_INDIRECT_ADDR, true);
		return NULL;
	}
	*n = len / DESC_SIZE;
	return table;
}

/* ---- inflight record: split rings ------------------------------------------------------------ */

/*
 * The record must be recoverable after a SIGKILL at any instruction. The process's stores all
 * reach the shared mapping once it is killed, in program order as the CPU executed them: only
 * the compiler could reorder them, and this stops it (no CPU fence, no syscall).
 */
#ifndef VQ_INF_STEP
/* Unit tests define it to take a snapshot (a simulated crash) at every ordering point. */
#define VQ_INF_STEP()
#endif

static inline void
inf_order(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	VQ_INF_STEP();
}

/* A head was taken from the avail ring: counter first, then the flag that makes it count. */
static inline void
inf_split_take(struct vhost_vq *vq, uint16_t head)
{
	struct vhost_inflight_desc_split *d = &vq->inf.split->desc[head];

	d->counter = vq->inf_counter++;
	inf_order();
	d->inflight = 1;
}

/* A used element for head id is about to be written: chain it into the last batch. */
static inline void
inf_split_done(struct vhost_vq *vq, uint16_t id)
{
	struct vhost_inflight_split *r = vq->inf.split;

	r->desc[id].next = r->last_batch_head;
	inf_order();
	r->last_batch_head = id;
}

/*
 * used->idx was just stored (n entries since the last publish, the newest at last_batch_head):
 * clear their flags, then say so with used_idx. Indexes read back from the record are bounded:
 * the front end can write it.
 */
static inline void
inf_split_commit(struct vhost_vq *vq, uint16_t n, uint16_t used_idx)
{
	struct vhost_inflight_split *r = vq->inf.split;
	uint16_t e = r->last_batch_head;

	inf_order();
	for (uint16_t i = 0; i < n && e < vq->inf_desc_num; i++) {
		r->desc[e].inflight = 0;
		e = r->desc[e].next;
	}
	inf_order();
	r->used_idx = used_idx;
}

/* ---- inflight record: packed rings ----------------------------------------------------------- */

/*
 * Records descriptor n (1-based) of the chain being taken into the entry at the free list's
 * head; the chain's head entry is inf_head. Returns false when the free list runs out (the
 * record was changed under us).
 */
static inline bool
inf_packed_take(struct vhost_vq *vq, const struct vring_packed_desc *d, uint16_t n, bool last)
{
	struct vhost_inflight_packed *r = vq->inf.packed;
	uint16_t head = vq->inf_head, cur = vq->inf_free, next;
	struct vhost_inflight_desc_packed *h, *e;

	if (vt_unlikely(cur >= vq->inf_desc_num || head >= vq->inf_desc_num)) {
		return false;
	}
	h = &r->desc[head];
	e = &r->desc[cur];
	if (n == 1) {
		h->num = 0;
		h->counter = vq->inf_counter++;
		inf_order();
		h->inflight = 1;
	}
	if (last) {
		h->last = cur;
	}
	e->id = d->id;
	e->flags = d->flags;
	e->len = d->len;
	e->addr = d->addr;
	h->num = n;
	next = e->next;
	inf_order();
	r->free_head = next;
	vq->inf_free = next;
	if (last) {
		inf_order();
		r->old_free_head = next;
		vq->inf_head = next;
	}
	return true;
}

/* A chain was only partly taken (the queue breaks): give its entries back. */
static void
inf_packed_untake(struct vhost_vq *vq)
{
	struct vhost_inflight_packed *r = vq->inf.packed;

	if (vq->inf_head < vq->inf_desc_num) {
		r->desc[vq->inf_head].inflight = 0;
	}
	inf_order();
	r->free_head = vq->inf_head;
	vq->inf_free = vq->inf_head;
}

/*
 * Buffer id is about to be written as used, the used position moving to (slot, wrap): its
 * entries go back to the head of the free list and the position is recorded, both uncommitted
 * until inf_packed_commit.
 */
static inline void
inf_packed_done(struct vhost_vq *vq, uint16_t id, uint16_t slot, bool wrap)
{
	struct vhost_inflight_packed *r = vq->inf.packed;
	uint16_t e = vq->inf_id_entry[id], last;

	last = e < vq->inf_desc_num ? r->desc[e].last : vq->inf_desc_num;
	if (vt_unlikely(last >= vq->inf_desc_num)) {
		vq_break(vq, VHOST_VQ_ERR_INFLIGHT, last, vq->inf_desc_num);
		return;
	}
	r->desc[last].next = vq->inf_free;
	inf_order();
	r->free_head = e;
	vq->inf_free = e;
	r->used_idx = slot;
	r->used_wrap_counter = wrap;
	vq->inf_pending++;
}

/*
 * The used descriptors pushed so far were just exposed (the batch's first flags): clear the
 * heads' flags (they lead the free list, newest first), then commit free_head and the used
 * position in the old_* fields.
 */
static void
inf_packed_commit(struct vhost_vq *vq)
{
	struct vhost_inflight_packed *r = vq->inf.packed;
	uint16_t e = vq->inf_free, last;

	inf_order();
	for (uint32_t i = 0; i < vq->inf_pending && e < vq->inf_desc_num; i++) {
		r->desc[e].inflight = 0;
		last = r->desc[e].last;
		if (last >= vq->inf_desc_num) {
			break;
		}
		e = r->desc[last].next;
	}
	inf_order();
	r->old_free_head = vq->inf_free;
	r->old_used_idx = vq->last_used_idx;
	r->old_used_wrap_counter = vq->used_wrap;
	vq->inf_head = vq->inf_free;
	vq->inf_pending = 0;
}

/* ---- split rings --------------------------------------------------------------------------- */

/*
 * Walks the chain starting at head (< size). Each table (the ring's, then at most one indirect
 * table) may be visited at most as many times as it has entries: more means a loop.
 */
static int
split_walk(struct vhost_vq *vq, const struct vhost_vq_mem *mem, struct vhost_vq_chain *c,
	   uint16_t head)
{
	const uint8_t *table = (const uint8_t *)vq->split.desc;
	uint32_t n = vq->size, budget = vq->size, idx = head;
	bool in_indirect = false;
	struct walk w = { .err = VHOST_VQ_OK };
	struct vring_desc d;
	uint16_t flags, ndescs = 0;

	for (;;) {
		if (vt_unlikely(budget == 0)) {
			walk_fail(&w, VHOST_VQ_ERR_LOOP, true);
			break;
		}
		budget--;
		desc_fetch(&d, table + (size_t)idx * DESC_SIZE);
		ndescs += !in_indirect;
		flags = le16toh(d.flags);
		if (vt_unlikely(flags & VRING_DESC_F_INDIRECT)) {
			if (in_indirect) {
				walk_fail(&w, VHOST_VQ_ERR_INDIRECT_NESTED, true);
				break;
			}
			if (flags & VRING_DESC_F_NEXT) {
				walk_fail(&w, VHOST_VQ_ERR_INDIRECT_NEXT, true);
				break;
			}
			table = indirect_table(vq, mem, le64toh(d.addr), le32toh(d.len), &n, &w);
			if (table == NULL) {
				break;
			}
			in_indirect = true;
			budget = n;
			idx = 0;
			continue;
		}
		chain_add(vq, mem, c, &w, le64toh(d.addr), le32toh(d.len),
			  (flags & VRING_DESC_F_WRITE) != 0);
		if (!(flags & VRING_DESC_F_NEXT)) {
			break;
		}
		idx = le16toh(d.next);
		if (vt_unlikely(idx >= n)) {
			walk_fail(&w, VHOST_VQ_ERR_NEXT_RANGE, true);
			break;
		}
	}
	c->ndescs = ndescs;
	if (vt_unlikely(w.err != VHOST_VQ_OK)) {
		return chain_fail(vq, mem, c, &w);
	}
	return 0;
}

static int
split_pop(struct vhost_vq *vq, const struct vhost_vq_mem *mem, struct vhost_vq_chain *c)
{
	uint16_t last = vq->last_avail_idx, avail_idx, head;

	if (last == vq->avail_shadow) {
		/* Acquire: the ring entries and descriptors below are read after the index. */
		avail_idx = load16_acquire(&vq->split.avail->idx);
		if (vt_unlikely((uint16_t)(avail_idx - last) > vq->size)) {
			return vq_break(vq, VHOST_VQ_ERR_AVAIL_IDX, (uint16_t)(avail_idx - last),
					vq->size);
		}
		vq->avail_shadow = avail_idx;
		if (avail_idx == last) {
			return -EAGAIN;
		}
	}
	head = load16(&vq->split.avail->ring[last & vq->mask]);
	if (vt_unlikely(head >= vq->size)) {
		return vq_break(vq, VHOST_VQ_ERR_HEAD_RANGE, head, vq->size);
	}
	vq->last_avail_idx = last + 1;
	if (vq->inf.any != NULL) {
		inf_split_take(vq, head);
	}
	if ((uint16_t)(last + 1) != vq->avail_shadow) {
		/*
		 * The next chain is already published: start pulling its head descriptor in now,
		 * so that miss overlaps this chain's work. A hint only; the pop reads both again.
		 */
		uint16_t next = load16(&vq->split.avail->ring[(uint16_t)(last + 1) & vq->mask]);

		if (next < vq->size) {
			__builtin_prefetch(&vq->split.desc[next]);
		}
	}
	chain_reset(c);
	c->id = head;
	c->pos = last;
	return split_walk(vq, mem, c, head);
}

/* Marks ring bytes [off, off + len) from base dirty, after their store, when logging is on. */
static inline void
vq_log(const struct vhost_vq *vq, uint64_t base, uint64_t off, uint64_t len)
{
	if (vt_unlikely(vq->log != NULL)) {
		vhost_log_mark(vq->log, base + off, len);
	}
}

void
vhost_vq_set_log(struct vhost_vq *vq, const struct vhost_log *log, uint64_t ring_gpa,
		 uint64_t event_gpa)
{
	vq->log = log;
	vq->log_ring_gpa = ring_gpa;
	vq->log_event_gpa = event_gpa;
}

static inline void
split_push(struct vhost_vq *vq, uint16_t id, uint32_t len)
{
	uint16_t slot = vq->last_used_idx & vq->mask;
	struct vring_used_elem *e = &vq->split.used->ring[slot];

	if (vq->inf.any != NULL) {
		inf_split_done(vq, id);
	}
	e->id = htole32(id);
	e->len = htole32(len);
	vq_log(vq, vq->log_ring_gpa,
	       offsetof(struct vring_used, ring) + (uint64_t)slot * sizeof(*e), sizeof(*e));
	vq->last_used_idx++;
	vq->batch_ndescs++;
}

static bool
split_publish(struct vhost_vq *vq)
{
	struct vring_avail *avail = vq->split.avail;
	uint16_t new = vq->last_used_idx, old = vq->signalled_used, event;

	/* Release: the used elements are visible before the index that exposes them. */
	__atomic_store_n(&vq->split.used->idx, htole16(new), __ATOMIC_RELEASE);
	vq_log(vq, vq->log_ring_gpa, offsetof(struct vring_used, idx), sizeof(uint16_t));
	if (vq->inf.any != NULL) {
		inf_split_commit(vq, (uint16_t)(new - old), new);
	}
	/*
	 * Full barrier: the index store must be visible before we read the driver's suppression
	 * fields, or a driver re-enabling notifications in between would miss this one.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->signalled_used = new;
	if (vq->event_idx) {
		/* Notify when used_event lies in [old, new): the entry it names was written now. */
		event = load16(&avail->ring[vq->size]);
		return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
	}
	return !(load16(&avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
}

static uint16_t *
split_avail_event(struct vhost_vq *vq)
{
	return (uint16_t *)&vq->split.used->ring[vq->size];
}

/* ---- packed rings -------------------------------------------------------------------------- */

/* A driver descriptor is available when AVAIL matches the wrap counter and USED does not. */
static inline bool
packed_desc_avail(uint16_t flags, bool wrap)
{
	return ((flags & PACKED_F_AVAIL) != 0) == wrap && ((flags & PACKED_F_USED) != 0) != wrap;
}

/* Packed indirect tables are sequential: every entry is used, only WRITE is meaningful. */
static void
packed_indirect(struct vhost_vq *vq, const struct vhost_vq_mem *mem, struct vhost_vq_chain *c,
		struct walk *w, const struct vring_packed_desc *d)
{
	struct vring_packed_desc e;
	const uint8_t *table;
	uint32_t i, n = 0;

	table = indirect_table(vq, mem, le64toh(d->addr), le32toh(d->len), &n, w);
	for (i = 0; i < n; i++) {
		desc_fetch(&e, table + (size_t)i * DESC_SIZE);
		chain_add(vq, mem, c, w, le64toh(e.addr), le32toh(e.len),
			  (le16toh(e.flags) & VRING_DESC_F_WRITE) != 0);
	}
}

/*
 * One descriptor of a packed chain (from the ring or from its copy in the inflight record). An
 * indirect descriptor must stand alone: first of its chain, no NEXT.
 */
static inline void
packed_add_desc(struct vhost_vq *vq, const struct vhost_vq_mem *mem, struct vhost_vq_chain *c,
		struct walk *w, const struct vring_packed_desc *d, bool alone)
{
	uint16_t flags = le16toh(d->flags);

	if (vt_unlikely(flags & VRING_DESC_F_INDIRECT)) {
		if (alone) {
			packed_indirect(vq, mem, c, w, d);
		} else {
			walk_fail(w, VHOST_VQ_ERR_INDIRECT_POS, false);
			w->last_len = 0;
		}
		return;
	}
	chain_add(vq, mem, c, w, le64toh(d->addr), le32toh(d->len),
		  (flags & VRING_DESC_F_WRITE) != 0);
}

/* A queue-breaking fault in the middle of a chain: nothing is consumed, nor recorded. */
static int
packed_pop_break(struct vhost_vq *vq, enum vhost_vq_err reason, uint32_t value, uint32_t limit)
{
	if (vq->inf.any != NULL) {
		inf_packed_untake(vq);
	}
	return vq_break(vq, reason, value, limit);
}

static int
packed_pop(struct vhost_vq *vq, const struct vhost_vq_mem *mem, struct vhost_vq_chain *c)
{
	const uint8_t *ring = (const uint8_t *)vq->packed.desc;
	uint16_t slot = vq->last_avail_idx, flags, ndescs = 0, id;
	bool wrap = vq->avail_wrap;
	struct walk w = { .err = VHOST_VQ_OK };
	struct vring_packed_desc d;

	/* Acquire: the rest of this chain is read after its first descriptor's flags. */
	flags = load16_acquire(&vq->packed.desc[slot].flags);
	if (!packed_desc_avail(flags, wrap)) {
		return -EAGAIN;
	}
	chain_reset(c);
	c->pos = slot;
	for (;;) {
		if (vt_unlikely(ndescs == vq->size)) {
			/* The buffer id sits in the last descriptor: this chain has none. */
			return packed_pop_break(vq, VHOST_VQ_ERR_CHAIN_LEN, ndescs, vq->size);
		}
		desc_fetch(&d, ring + (size_t)slot * DESC_SIZE);
		ndescs++;
		if (++slot == vq->size) {
			slot = 0;
			wrap = !wrap;
		}
		flags = le16toh(d.flags);
		if (vq->inf.any != NULL) {
			bool last = !(flags & VRING_DESC_F_NEXT);

			if (last && le16toh(d.id) >= vq->size) {
				return packed_pop_break(vq, VHOST_VQ_ERR_ID_RANGE, le16toh(d.id),
							vq->size);
			}
			if (last) {
				vq->inf_id_entry[le16toh(d.id)] = vq->inf_head;
			}
			if (!inf_packed_take(vq, &d, ndescs, last)) {
				return packed_pop_break(vq, VHOST_VQ_ERR_INFLIGHT, vq->inf_free,
							vq->inf_desc_num);
			}
		}
		packed_add_desc(vq, mem, c, &w, &d, ndescs == 1 && !(flags & VRING_DESC_F_NEXT));
		if (!(flags & VRING_DESC_F_NEXT)) {
			break;
		}
	}
	id = le16toh(d.id);
	if (vt_unlikely(id >= vq->size)) {
		return vq_break(vq, VHOST_VQ_ERR_ID_RANGE, id, vq->size);
	}
	vq->last_avail_idx = slot;
	vq->avail_wrap = wrap;
	c->id = id;
	c->ndescs = ndescs;
	if (vt_unlikely(w.err != VHOST_VQ_OK)) {
		return chain_fail(vq, mem, c, &w);
	}
	return 0;
}

static inline void
packed_flush_held(struct vhost_vq *vq)
{
	/* Release: every used descriptor of the batch is complete before the first is exposed. */
	__atomic_store_n(&vq->packed.desc[vq->batch_slot].flags, htole16(vq->batch_flags),
			 __ATOMIC_RELEASE);
	vq_log(vq, vq->log_ring_gpa, (uint64_t)vq->batch_slot * sizeof(struct vring_packed_desc),
	       sizeof(struct vring_packed_desc));
	vq->batch_flags = 0;
	vq->batch_held = false;
	if (vq->inf.any != NULL) {
		inf_packed_commit(vq);
	}
}

static inline void
packed_push(struct vhost_vq *vq, uint16_t id, uint16_t ndescs, uint32_t len)
{
	uint16_t slot = vq->last_used_idx;
	struct vring_packed_desc *d = &vq->packed.desc[slot];
	uint16_t flags = vq->used_wrap ? (PACKED_F_AVAIL | PACKED_F_USED) : 0;
	uint32_t next;
	bool next_wrap;

	if (len > 0) {
		flags |= VRING_DESC_F_WRITE;
	}
	/*
	 * A batch longer than the ring would come back to its own first slot (only a driver that
	 * reuses descriptors before seeing them used can cause it): expose what we hold first.
	 */
	if (vt_unlikely(vq->batch_held && vq->batch_run + ndescs > vq->size)) {
		packed_flush_held(vq);
	}
	next = (uint32_t)slot + ndescs;
	next_wrap = vq->used_wrap;
	if (next >= vq->size) {
		next -= vq->size;
		next_wrap = !next_wrap;
	}
	if (vq->inf.any != NULL) {
		/* Recorded before the ring stores: a rollback scrubs every slot they may reach. */
		inf_packed_done(vq, id, (uint16_t)next, next_wrap);
	}
	d->id = htole16(id);
	d->len = htole32(len);
	if (!vq->batch_held) {
		/* The first used descriptor of a batch is exposed last, by publish. */
		vq->batch_slot = slot;
		vq->batch_flags = flags;
		vq->batch_held = true;
		vq->batch_run = 0;
	} else {
		__atomic_store_n(&d->flags, htole16(flags), __ATOMIC_RELAXED);
	}
	vq_log(vq, vq->log_ring_gpa, (uint64_t)slot * sizeof(*d), sizeof(*d));
	vq->batch_run += ndescs;
	vq->used_wrap = next_wrap;
	vq->last_used_idx = (uint16_t)next;
	vq->batch_ndescs += ndescs;
}

/*
 * Whether the used descriptors written since the last publish (n slots ending before
 * last_used_idx) cross the driver's event: ENABLE always, DISABLE never, DESC when the slot and
 * wrap counter it names are among them. DESC without EVENT_IDX and the reserved value notify
 * (spurious notifications are allowed, missing ones are not).
 */
static bool
packed_need_notify(struct vhost_vq *vq, uint32_t n)
{
	uint32_t snapshot = __atomic_load_n((uint32_t *)vq->packed.driver, __ATOMIC_RELAXED);
	struct vring_packed_desc_event ev;
	uint16_t flags, off_wrap;
	int32_t back;

	/* One 32-bit read: off_wrap and flags from the same instant. */
	memcpy(&ev, &snapshot, sizeof(ev));
	flags = le16toh(ev.flags) & 3;
	if (flags == VRING_PACKED_EVENT_FLAG_DISABLE) {
		return false;
	}
	if (flags != VRING_PACKED_EVENT_FLAG_DESC || !vq->event_idx || n >= vq->size) {
		return true;
	}
	off_wrap = le16toh(ev.off_wrap);
	/* Distance from the event slot up to the next used slot; a past lap adds a ring. */
	back = (int32_t)vq->last_used_idx - (int32_t)(off_wrap & ~PACKED_EVENT_WRAP);
	if (((off_wrap & PACKED_EVENT_WRAP) != 0) != vq->used_wrap) {
		back += vq->size;
	}
	return back >= 1 && (uint32_t)back <= n;
}

static bool
packed_publish(struct vhost_vq *vq)
{
	if (vq->batch_held) {
		packed_flush_held(vq);
	}
	/* Full barrier: flags visible before we read the driver's event suppression. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return packed_need_notify(vq, vq->batch_ndescs);
}

/* ---- inflight record: resubmission and recovery ---------------------------------------------- */

/* Walks a packed chain from its copy in the record (the ring may hold used descriptors now). */
static int
inf_packed_resubmit(struct vhost_vq *vq, const struct vhost_vq_mem *mem, struct vhost_vq_chain *c,
		    uint16_t head)
{
	const struct vhost_inflight_packed *r = vq->inf.packed;
	struct walk w = { .err = VHOST_VQ_OK };
	struct vring_packed_desc d = { 0 };
	uint16_t num = r->desc[head].num, e = head, id;

	if (num == 0 || num > vq->size) {
		return vq_break(vq, VHOST_VQ_ERR_INFLIGHT, num, vq->size);
	}
	for (uint16_t k = 0; k < num; k++) {
		if (e >= vq->inf_desc_num) {
			return vq_break(vq, VHOST_VQ_ERR_INFLIGHT, e, vq->inf_desc_num);
		}
		d.addr = r->desc[e].addr;
		d.len = r->desc[e].len;
		d.id = r->desc[e].id;
		d.flags = r->desc[e].flags;
		/* Same rule as desc_fetch: every use below sees these values. */
		__asm__ __volatile__("" : "+m"(d));
		packed_add_desc(vq, mem, c, &w, &d, num == 1);
		e = r->desc[e].next;
	}
	id = le16toh(d.id);
	if (id >= vq->size) {
		return vq_break(vq, VHOST_VQ_ERR_ID_RANGE, id, vq->size);
	}
	vq->inf_id_entry[id] = head;
	c->id = id;
	c->ndescs = num;
	if (vt_unlikely(w.err != VHOST_VQ_OK)) {
		return chain_fail(vq, mem, c, &w);
	}
	return 0;
}

/* The next request the record held in flight, as vhost_vq_pop returns chains. */
static int
inf_resubmit_pop(struct vhost_vq *vq, const struct vhost_vq_mem *mem, struct vhost_vq_chain *c)
{
	uint16_t head = vq->inf_resubmit[vq->inf_next++];

	chain_reset(c);
	c->pos = 0;
	if (vq->is_packed) {
		return inf_packed_resubmit(vq, mem, c, head);
	}
	c->id = head;
	return split_walk(vq, mem, c, head);
}

/* A request found in flight: its counter and its entry. */
struct inf_found {
	uint64_t counter;
	uint16_t idx;
};

static int
inf_found_cmp(const void *a, const void *b)
{
	const struct inf_found *x = a, *y = b;

	if (x->counter != y->counter) {
		return x->counter < y->counter ? -1 : 1;
	}
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Sorts the n requests found by counter into the resubmit list; the next counter follows. */
static void
inf_queue_found(struct vhost_vq *vq, struct inf_found *found, uint32_t n)
{
	qsort(found, n, sizeof(*found), inf_found_cmp);
	vq->inf_counter = 0;
	for (uint32_t i = 0; i < n; i++) {
		vq->inf_resubmit[i] = found[i].idx;
		vq->inf_counter = found[i].counter + 1;
	}
	vq->inf_nresubmit = n;
	vq->inf_next = 0;
}

static int
inf_bad(const struct vhost_vq *vq, const char *why, uint32_t value)
{
	VT_ERRLOG("inflight record of virtqueue %s:%u is inconsistent: %s (%" PRIu32 "); the queue "
		  "is not started\n",
		  vq->name, vq->index, why, value);
	return -EINVAL;
}

/*
 * Split: a batch whose used->idx was stored but whose flags were not all cleared is finished
 * (used->idx - used_idx heads from last_batch_head); what is still flagged is in flight.
 */
static int
inf_split_recover(struct vhost_vq *vq, struct inf_found *found)
{
	struct vhost_inflight_split *r = vq->inf.split;
	uint16_t used = load16_acquire(&vq->split.used->idx), n = (uint16_t)(used - r->used_idx);
	uint16_t e = r->last_batch_head;
	uint32_t nfound = 0;

	if (n > vq->size) {
		return inf_bad(vq, "used index ahead of the record by more than the queue size", n);
	}
	for (uint16_t i = 0; i < n; i++) {
		if (e >= vq->inf_desc_num) {
			return inf_bad(vq, "last batch entry out of range", e);
		}
		r->desc[e].inflight = 0;
		e = r->desc[e].next;
	}
	inf_order();
	r->used_idx = used;
	for (uint32_t j = 0; j < vq->inf_desc_num; j++) {
		if (r->desc[j].inflight == 0) {
			continue;
		}
		if (j >= vq->size) {
			return inf_bad(vq, "head in flight beyond the queue size", j);
		}
		found[nfound].counter = r->desc[j].counter;
		found[nfound].idx = (uint16_t)j;
		nfound++;
	}
	inf_queue_found(vq, found, nfound);
	vq->last_used_idx = used;
	vq->signalled_used = used;
	vq->last_avail_idx = (uint16_t)(used + nfound);
	vq->avail_shadow = vq->last_avail_idx;
	return (int)nfound;
}

/* Slots from (slot, wrap) onwards: the position n descriptors later. */
static void
packed_advance(const struct vhost_vq *vq, uint16_t *slot, bool *wrap, uint32_t n)
{
	uint32_t next = (uint32_t)*slot + n;

	while (next >= vq->size) {
		next -= vq->size;
		*wrap = !*wrap;
	}
	*slot = (uint16_t)next;
}

/*
 * Packed: an update cut short is committed when its first used descriptor was exposed (its
 * USED flag matches the committed wrap counter), else rolled back; a rollback also turns the
 * ring slots it may have written back to "available" so the driver never sees them as used.
 */
static int
inf_packed_settle(struct vhost_vq *vq)
{
	struct vhost_inflight_packed *r = vq->inf.packed;
	uint16_t used = r->used_idx, old = r->old_used_idx, slot, flags;
	bool wrap = r->used_wrap_counter != 0, old_wrap = r->old_used_wrap_counter != 0, w;
	uint32_t dist;

	if (used >= vq->size || old >= vq->size) {
		return inf_bad(vq, "used index beyond the queue size", VT_MAX(used, old));
	}
	if (used == old && wrap == old_wrap) {
		return 0;
	}
	dist = (uint32_t)used + (wrap != old_wrap ? vq->size : 0) - old;
	if (dist == 0 || dist > vq->size) {
		return inf_bad(vq, "uncommitted used batch longer than the queue", dist);
	}
	flags = load16_acquire(&vq->packed.desc[old].flags);
	if (((flags & PACKED_F_USED) != 0) == old_wrap) {
		r->old_free_head = r->free_head;
		inf_order();
		r->old_used_idx = used;
		r->old_used_wrap_counter = wrap;
		return 0;
	}
	slot = old;
	w = old_wrap;
	for (uint32_t k = 1; k < dist; k++) {
		packed_advance(vq, &slot, &w, 1);
		flags = load16(&vq->packed.desc[slot].flags);
		if (((flags & PACKED_F_USED) != 0) == w) {
			store16(&vq->packed.desc[slot].flags, w ? PACKED_F_AVAIL : PACKED_F_USED);
		}
	}
	return 0;
}

/* Checks the chain of head entry h; returns its buffer id, or -1. */
static int
inf_packed_check_chain(struct vhost_vq *vq, uint16_t h)
{
	const struct vhost_inflight_packed *r = vq->inf.packed;
	uint16_t num = r->desc[h].num, e = h, id;

	if (num == 0 || num > vq->size) {
		return -1;
	}
	for (uint16_t k = 1; k < num; k++) {
		e = r->desc[e].next;
		if (e >= vq->inf_desc_num) {
			return -1;
		}
	}
	if (e != r->desc[h].last) {
		return -1;
	}
	id = le16toh(r->desc[e].id);
	return id < vq->size ? id : -1;
}

static int
inf_packed_recover(struct vhost_vq *vq, struct inf_found *found)
{
	struct vhost_inflight_packed *r = vq->inf.packed;
	uint32_t nfound = 0, ndescs = 0;
	uint16_t e, slot;
	bool wrap;
	int rc, id;

	rc = inf_packed_settle(vq);
	if (rc != 0) {
		return rc;
	}
	r->free_head = r->old_free_head;
	r->used_idx = r->old_used_idx;
	r->used_wrap_counter = r->old_used_wrap_counter;
	/* Entries of a chain taken only in part are in the free list again: not in flight. */
	e = r->free_head;
	for (uint32_t i = 0; i < vq->inf_desc_num && e < vq->inf_desc_num; i++) {
		r->desc[e].inflight = 0;
		e = r->desc[e].next;
	}
	for (uint16_t j = 0; j < vq->size; j++) {
		vq->inf_id_entry[j] = UINT16_MAX;
	}
	for (uint32_t j = 0; j < vq->inf_desc_num; j++) {
		if (r->desc[j].inflight == 0) {
			continue;
		}
		id = inf_packed_check_chain(vq, (uint16_t)j);
		if (id < 0) {
			return inf_bad(vq, "chain in flight with a bad length, link or id", j);
		}
		if (vq->inf_id_entry[id] != UINT16_MAX) {
			return inf_bad(vq, "two chains in flight with one buffer id", (uint32_t)id);
		}
		ndescs += r->desc[j].num;
		if (ndescs > vq->size) {
			return inf_bad(vq, "more descriptors in flight than the queue holds",
				       ndescs);
		}
		vq->inf_id_entry[id] = (uint16_t)j;
		found[nfound].counter = r->desc[j].counter;
		found[nfound].idx = (uint16_t)j;
		nfound++;
	}
	inf_queue_found(vq, found, nfound);
	slot = r->old_used_idx;
	wrap = r->old_used_wrap_counter != 0;
	vq->last_used_idx = slot;
	vq->used_wrap = wrap;
	packed_advance(vq, &slot, &wrap, ndescs);
	vq->last_avail_idx = slot;
	vq->avail_wrap = wrap;
	vq->inf_free = r->free_head;
	vq->inf_head = r->free_head;
	return (int)nfound;
}

static uint16_t
inf_version(const struct vhost_vq *vq)
{
	return vq->is_packed ? load16(&vq->inf.packed->version) : load16(&vq->inf.split->version);
}

/* What an area's features field says of its layout: written when a queue first starts on it. */
static uint64_t
inf_layout_features(bool packed)
{
	return packed ? 1ull << VIRTIO_F_RING_PACKED : 0;
}

/*
 * A record no back end has used (version 0: GET_INFLIGHT_FD made it, then a migration's
 * destination or a device reset started the queue): nothing is in flight, and the queue starts
 * at the front end's base. The area is laid out for this ring (the region was made before the
 * layout was known), takes those positions, then its version, last.
 */
static void
inf_start_fresh(struct vhost_vq *vq)
{
	vhost_inflight_queue_init(vq->inf.any, vq->is_packed, vq->inf_desc_num);
	vq->inf.split->features = inf_layout_features(vq->is_packed);
	vq->inf_nresubmit = 0;
	vq->inf_next = 0;
	vq->inf_counter = 0;
	if (vq->is_packed) {
		struct vhost_inflight_packed *r = vq->inf.packed;

		r->free_head = 0;
		r->old_free_head = 0;
		r->used_idx = vq->last_used_idx;
		r->old_used_idx = vq->last_used_idx;
		r->used_wrap_counter = vq->used_wrap;
		r->old_used_wrap_counter = vq->used_wrap;
		vq->inf_free = 0;
		vq->inf_head = 0;
		inf_order();
		r->version = VHOST_INFLIGHT_VERSION;
	} else {
		struct vhost_inflight_split *r = vq->inf.split;

		r->used_idx = vq->last_used_idx;
		r->last_batch_head = 0;
		inf_order();
		r->version = VHOST_INFLIGHT_VERSION;
	}
}

int
vhost_vq_inflight_attach(struct vhost_vq *vq, void *area, uint16_t desc_num, uint16_t *work)
{
	struct inf_found *found;
	int rc;

	if (area == NULL || work == NULL || desc_num < vq->size) {
		VT_ERRLOG(
			"cannot track virtqueue %s:%u in flight: the record holds %u entries, the "
			"queue has %u\n",
			vq->name, vq->index, desc_num, vq->size);
		return -EINVAL;
	}
	found = calloc(desc_num, sizeof(*found));
	if (found == NULL) {
		return -ENOMEM;
	}
	vq->inf.any = area;
	vq->inf_desc_num = desc_num;
	vq->inf_resubmit = work;
	vq->inf_id_entry = work + vq->size;
	vq->inf_pending = 0;
	if (inf_version(vq) == 0) {
		free(found);
		inf_start_fresh(vq);
		return 0;
	}
	if ((__atomic_load_n(&vq->inf.split->features, __ATOMIC_RELAXED) &
	     inf_layout_features(true)) != inf_layout_features(vq->is_packed)) {
		VT_ERRLOG("cannot recover virtqueue %s:%u from its inflight record: it was written "
			  "for a %s ring and the ring is %s\n",
			  vq->name, vq->index, vq->is_packed ? "split" : "packed",
			  vq->is_packed ? "packed" : "split");
		free(found);
		vq->inf.any = NULL;
		return -EINVAL;
	}
	rc = vq->is_packed ? inf_packed_recover(vq, found) : inf_split_recover(vq, found);
	free(found);
	if (rc < 0) {
		vq->inf.any = NULL;
		vq->inf_nresubmit = 0;
		return rc;
	}
	if (rc > 0) {
		VT_NOTICELOG("virtqueue %s:%u: %d requests in flight before the reconnection are "
			     "submitted again\n",
			     vq->name, vq->index, rc);
	}
	return rc;
}

/* ---- common entry points ------------------------------------------------------------------- */

int
vhost_vq_pop(struct vhost_vq *vq, const struct vhost_vq_mem *mem, struct vhost_vq_chain *chain)
{
	if (vt_unlikely(vq->broken)) {
		return -EIO;
	}
	if (vt_unlikely(vq->inf.any != NULL)) {
		if (vq->inf_next < vq->inf_nresubmit) {
			return inf_resubmit_pop(vq, mem, chain);
		}
		if (vq->is_packed && vq->batch_held) {
			/*
			 * The record's free list and old_* fields serve both directions: a chain
			 * is taken only once every push before it is committed (exposed).
			 */
			packed_flush_held(vq);
		}
	}
	if (vq->is_packed) {
		return packed_pop(vq, mem, chain);
	}
	return split_pop(vq, mem, chain);
}

void
vhost_vq_push(struct vhost_vq *vq, uint16_t id, uint16_t ndescs, uint32_t used_len)
{
	assert(id < vq->size);
	if (vq->is_packed) {
		assert(ndescs >= 1 && ndescs <= vq->size);
		packed_push(vq, id, ndescs, used_len);
	} else {
		split_push(vq, id, used_len);
	}
}

bool
vhost_vq_publish(struct vhost_vq *vq)
{
	bool notify;

	if (vq->batch_ndescs == 0) {
		return false;
	}
	notify = vq->is_packed ? packed_publish(vq) : split_publish(vq);
	vq->batch_ndescs = 0;
	return notify;
}

/* Logs the kick suppression field just stored (packed: device area; split: flags or event). */
static void
vq_log_kick_state(struct vhost_vq *vq)
{
	if (vt_likely(vq->log == NULL)) {
		return;
	}
	if (vq->is_packed) {
		vhost_log_mark(vq->log, vq->log_event_gpa, sizeof(struct vring_packed_desc_event));
	} else if (vq->event_idx) {
		vhost_log_mark(vq->log,
			       vq->log_ring_gpa + offsetof(struct vring_used, ring) +
				       (uint64_t)vq->size * sizeof(struct vring_used_elem),
			       sizeof(uint16_t));
	} else {
		vhost_log_mark(vq->log, vq->log_ring_gpa + offsetof(struct vring_used, flags),
			       sizeof(uint16_t));
	}
}

void
vhost_vq_kick_disable(struct vhost_vq *vq)
{
	if (vq->is_packed) {
		store16(&vq->packed.device->flags, VRING_PACKED_EVENT_FLAG_DISABLE);
	} else if (vq->event_idx) {
		/*
		 * The driver kicks when its avail idx crosses avail_event; one behind our position
		 * is an index it cannot cross before it has wrapped the whole 16-bit space.
		 */
		store16(split_avail_event(vq), (uint16_t)(vq->last_avail_idx - 1));
	} else {
		store16(&vq->split.used->flags, VRING_USED_F_NO_NOTIFY);
	}
	vq_log_kick_state(vq);
}

bool
vhost_vq_kick_enable(struct vhost_vq *vq)
{
	uint16_t flags;

	if (vq->is_packed) {
		store16(&vq->packed.device->flags, VRING_PACKED_EVENT_FLAG_ENABLE);
		vq_log_kick_state(vq);
		/* Full barrier: the driver must see the request before we look at the ring. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		flags = load16_acquire(&vq->packed.desc[vq->last_avail_idx].flags);
		return packed_desc_avail(flags, vq->avail_wrap);
	}
	if (vq->event_idx) {
		store16(split_avail_event(vq), vq->last_avail_idx);
	} else {
		store16(&vq->split.used->flags, 0);
	}
	vq_log_kick_state(vq);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return load16_acquire(&vq->split.avail->idx) != vq->last_avail_idx;
}
