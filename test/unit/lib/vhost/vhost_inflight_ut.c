/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The inflight record (lib/vhost/vhost_inflight.c and its use in virtqueue.c): the layout sizes
 * of the vhost-user spec, the checks of a region handed back by SET_INFLIGHT_FD, and recovery
 * from a record cut at every step of the update sequence, split and packed: a snapshot of the
 * rings and the record is taken at every ordering point of the data path (a SIGKILL there), a
 * new queue recovers from it, and the driver must get every request completed exactly once.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define REG_SIZE 0x10000u
#define QSIZE 16u
#define REC_BYTES 4096u
#define NCHAINS 6u

static uint8_t *g_reg;      /* guest memory: rings and buffers */
static uint8_t *g_rec;      /* one queue's inflight area */
static uint8_t *g_snap_reg; /* the state at the cut */
static uint8_t *g_snap_rec;
static int g_cut_target = -1; /* ordering point at which the snapshot is taken */
static int g_cut_count;       /* ordering points passed */
static bool g_cut_taken;

static void
cut_point(void)
{
	if (g_cut_count++ == g_cut_target) {
		memcpy(g_snap_reg, g_reg, REG_SIZE);
		memcpy(g_snap_rec, g_rec, REC_BYTES);
		g_cut_taken = true;
	}
}

#define VQ_INF_STEP() cut_point()
#include "lib/vhost/virtqueue.c"
#include "lib/vhost/vhost_inflight.c"

#include "test/unit/common/ut_main.h"

/* Ring layout in the one region (guest-physical 0). */
#define DESC_GPA 0x0u
#define DRIVER_GPA 0x1000u
#define DEVICE_GPA 0x2000u
#define HDR_GPA 0x4000u
#define DATA_GPA 0x5000u

static struct vhost_vq_mem g_mem;
static struct vhost_vq g_vq;
static struct iovec g_iov[64];
static struct vhost_vq_chain g_chain = { .iov = g_iov, .iov_max = 64 };
static uint16_t g_work[2 * QSIZE];

/* ---- layout -------------------------------------------------------------------------------- */

static void
layout_sizes_match_the_spec_formula(void)
{
	static const uint16_t sizes[] = { 128, 256, 1024 };

	/* The figure: a 1024-entry split queue needs 16,448 bytes. */
	CU_ASSERT_EQUAL(vhost_inflight_queue_bytes(false, 1024), 16448);
	CU_ASSERT_EQUAL(vhost_inflight_queue_bytes(false, 128), 2112);
	CU_ASSERT_EQUAL(vhost_inflight_queue_bytes(false, 256), 4160);
	CU_ASSERT_EQUAL(vhost_inflight_queue_bytes(true, 128), 4160);
	CU_ASSERT_EQUAL(vhost_inflight_queue_bytes(true, 256), 8256);
	CU_ASSERT_EQUAL(vhost_inflight_queue_bytes(true, 1024), 32832);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t n = sizes[i];

		/* ALIGN_UP(header + n * entry, 64): headers 16 / 32 bytes, entries 16 / 32. */
		CU_ASSERT_EQUAL(vhost_inflight_queue_bytes(false, sizes[i]),
				(16 + 16 * n + 63) / 64 * 64);
		CU_ASSERT_EQUAL(vhost_inflight_queue_bytes(true, sizes[i]),
				(32 + 32 * n + 63) / 64 * 64);
	}
}

static void
create_initialises_every_queue_area(void)
{
	struct vhost_inflight *r;
	struct vhost_inflight_split *a;
	char err[256];
	int fd;

	/* Each area has room for either layout: the packed one, the larger. */
	CU_ASSERT_EQUAL(vhost_inflight_area_bytes(256), 8256);
	CU_ASSERT_EQUAL(vhost_inflight_area_bytes(100), vhost_inflight_queue_bytes(true, 100));
	CU_ASSERT(vhost_inflight_area_bytes(128) >= vhost_inflight_queue_bytes(false, 128));
	r = vhost_inflight_create(2, 256, 64, &fd, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT(fd >= 0);
	CU_ASSERT_EQUAL(r->size, 2 * 8256);
	CU_ASSERT_EQUAL(lseek(fd, 0, SEEK_END), 2 * 8256);
	a = vhost_inflight_queue(r, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(a->version, 0); /* no back end has used it yet */
	CU_ASSERT_EQUAL(a->desc_num, 256);
	CU_ASSERT_EQUAL(a->features, 0);
	CU_ASSERT_PTR_NULL(vhost_inflight_queue(r, 2));
	vhost_inflight_unref(r);
	close(fd);
	/* A packed ring may have any size: a record for 100 entries is made. */
	r = vhost_inflight_create(1, 100, 64, &fd, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL(r);
	vhost_inflight_unref(r);
	close(fd);
	/* Geometry the spec does not allow. */
	CU_ASSERT_PTR_NULL(vhost_inflight_create(2, 0, 64, &fd, err, sizeof(err)));
	CU_ASSERT_PTR_NULL(vhost_inflight_create(2, 40000, 64, &fd, err, sizeof(err)));
	CU_ASSERT_PTR_NULL(vhost_inflight_create(0, 128, 64, &fd, err, sizeof(err)));
	CU_ASSERT_PTR_NULL(vhost_inflight_create(65, 128, 64, &fd, err, sizeof(err)));
}

/* A region as GET_INFLIGHT_FD made it; the test then spoils it one way or another. */
static int
fresh_region(uint16_t nq, uint16_t qs, struct vhost_user_inflight *m)
{
	struct vhost_inflight *r;
	char err[256];
	int fd;

	r = vhost_inflight_create(nq, qs, 64, &fd, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	m->mmap_size = r->size;
	m->mmap_offset = 0;
	m->num_queues = nq;
	m->queue_size = qs;
	vhost_inflight_unref(r);
	return fd;
}

static void
map_checks_size_version_and_geometry(void)
{
	struct vhost_user_inflight m, bad;
	struct vhost_inflight *r;
	uint16_t version = 7;
	char err[256];
	int fd;

	fd = fresh_region(2, 128, &m);
	r = vhost_inflight_map(fd, &m, 64, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL(r);
	vhost_inflight_unref(r);
	/* A size that holds two split areas but not two areas of either layout. */
	bad = m;
	bad.mmap_size = 2 * vhost_inflight_queue_bytes(false, 128);
	CU_ASSERT_PTR_NULL(vhost_inflight_map(fd, &bad, 64, err, sizeof(err)));
	CU_ASSERT(strstr(err, "need") != NULL);
	/* A queue size that is not the one the region was made for. */
	bad = m;
	bad.queue_size = 64;
	CU_ASSERT_PTR_NULL(vhost_inflight_map(fd, &bad, 64, err, sizeof(err)));
	CU_ASSERT(strstr(err, "entries") != NULL);
	/* More queues than the region holds. */
	bad = m;
	bad.num_queues = 3;
	CU_ASSERT_PTR_NULL(vhost_inflight_map(fd, &bad, 64, err, sizeof(err)));
	bad.num_queues = 0;
	CU_ASSERT_PTR_NULL(vhost_inflight_map(fd, &bad, 64, err, sizeof(err)));
	/* A size beyond the file (truncated fd), and an offset + size that wraps. */
	bad = m;
	bad.mmap_offset = 4096;
	CU_ASSERT_PTR_NULL(vhost_inflight_map(fd, &bad, 64, err, sizeof(err)));
	CU_ASSERT(strstr(err, "shorter") != NULL);
	bad.mmap_offset = UINT64_MAX - 10;
	CU_ASSERT_PTR_NULL(vhost_inflight_map(fd, &bad, 64, err, sizeof(err)));
	/* The memfd of GET_INFLIGHT_FD is sealed: nobody can shrink it under a mapping. */
	CU_ASSERT_NOT_EQUAL(ftruncate(fd, 100), 0);
	close(fd);
	/* A truncated file of the front end's own. */
	fd = memfd_create("inflight_ut", 0);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(ftruncate(fd, 100), 0);
	CU_ASSERT_PTR_NULL(vhost_inflight_map(fd, &m, 64, err, sizeof(err)));
	CU_ASSERT(strstr(err, "shorter") != NULL);
	close(fd);
	/* Wrong version in the second queue's area. */
	fd = fresh_region(2, 128, &m);
	CU_ASSERT_EQUAL(pwrite(fd, &version, 2,
			       (off_t)vhost_inflight_area_bytes(128) +
				       offsetof(struct vhost_inflight_split, version)),
			2);
	CU_ASSERT_PTR_NULL(vhost_inflight_map(fd, &m, 64, err, sizeof(err)));
	CU_ASSERT(strstr(err, "version") != NULL);
	close(fd);
	/* Not a file at all. */
	CU_ASSERT_PTR_NULL(vhost_inflight_map(-1, &m, 64, err, sizeof(err)));
}

/* ---- rings --------------------------------------------------------------------------------- */

static void
mem_setup(void)
{
	struct vhost_vq_mem_region reg = { .gpa = 0, .size = REG_SIZE, .host = g_reg };

	memset(g_reg, 0, REG_SIZE);
	CU_ASSERT_EQUAL_FATAL(vhost_vq_mem_init(&g_mem, &reg, 1), 0);
}

static struct vring_desc *
sdesc(uint16_t i)
{
	return (struct vring_desc *)(g_reg + DESC_GPA) + i;
}

static struct vring_avail *
savail(void)
{
	return (struct vring_avail *)(g_reg + DRIVER_GPA);
}

static struct vring_used *
sused(void)
{
	return (struct vring_used *)(g_reg + DEVICE_GPA);
}

static struct vring_packed_desc *
pdesc(uint16_t i)
{
	return (struct vring_packed_desc *)(g_reg + DESC_GPA) + i;
}

/* A new queue over the current memory (base: what a front end would send). */
static void
vq_init(bool packed, uint16_t base)
{
	struct vhost_vq_params p = {
		.name = "inflight_ut",
		.size = QSIZE,
		.features = packed ? 1ull << VIRTIO_F_RING_PACKED : 0,
		.avail_base = base,
		.used_base = base,
	};

	if (packed) {
		CU_ASSERT_EQUAL_FATAL(vhost_vq_init_packed(&g_vq, &p, pdesc(0),
							   (void *)(g_reg + DRIVER_GPA),
							   (void *)(g_reg + DEVICE_GPA)),
				      0);
	} else {
		CU_ASSERT_EQUAL_FATAL(vhost_vq_init_split(&g_vq, &p, sdesc(0), savail(), sused()),
				      0);
	}
}

/* A queue area as a back end that ran the queue leaves it (version set): recovery applies. */
static void
used_record(void *area, bool packed, uint16_t qs)
{
	vhost_inflight_queue_init(area, packed, qs);
	if (packed) {
		((struct vhost_inflight_packed *)area)->features = 1ull << VIRTIO_F_RING_PACKED;
		((struct vhost_inflight_packed *)area)->version = VHOST_INFLIGHT_VERSION;
	} else {
		((struct vhost_inflight_split *)area)->version = VHOST_INFLIGHT_VERSION;
	}
}

/* Split: NCHAINS chains of two descriptors (header R, data W), heads 0, 2, 4... */
static void
split_driver_setup(void)
{
	for (uint16_t i = 0; i < NCHAINS; i++) {
		uint16_t h = 2 * i;

		sdesc(h)->addr = htole64(HDR_GPA);
		sdesc(h)->len = htole32(16);
		sdesc(h)->flags = htole16(VRING_DESC_F_NEXT);
		sdesc(h)->next = htole16(h + 1);
		sdesc(h + 1)->addr = htole64(DATA_GPA);
		sdesc(h + 1)->len = htole32(512);
		sdesc(h + 1)->flags = htole16(VRING_DESC_F_WRITE);
		savail()->ring[i] = htole16(h);
	}
	savail()->idx = htole16(NCHAINS);
}

/*
 * Packed: NCHAINS chains of two descriptors with ids 0.. starting at slot PACKED_START (wrap 1),
 * so the ring's end is crossed.
 */
#define PACKED_START 10u

static void
packed_driver_setup(void)
{
	uint16_t slot = PACKED_START;
	bool wrap = true;

	/* Slots of no chain: used on the previous lap (the driver reads them with wrap 0). */
	for (uint16_t i = 0; i < QSIZE; i++) {
		pdesc(i)->flags = htole16(PACKED_F_AVAIL | PACKED_F_USED);
	}
	for (uint16_t i = 0; i < NCHAINS; i++) {
		for (uint16_t k = 0; k < 2; k++) {
			struct vring_packed_desc *d = pdesc(slot);
			uint16_t f = wrap ? PACKED_F_AVAIL : PACKED_F_USED;

			d->addr = htole64(k == 0 ? HDR_GPA : DATA_GPA);
			d->len = htole32(k == 0 ? 16 : 512);
			d->id = htole16(k == 1 ? i : 0xbeef);
			f |= k == 0 ? VRING_DESC_F_NEXT : VRING_DESC_F_WRITE;
			d->flags = htole16(f);
			if (++slot == QSIZE) {
				slot = 0;
				wrap = !wrap;
			}
		}
	}
}

/* The ids the driver sees used, in order, from its first used position. */
static uint32_t
driver_used(bool packed, uint16_t *ids)
{
	uint32_t n = 0;

	if (!packed) {
		uint16_t idx = le16toh(sused()->idx);

		for (uint16_t i = 0; i < idx && n < 2 * NCHAINS; i++) {
			ids[n++] = (uint16_t)le32toh(sused()->ring[i % QSIZE].id);
		}
		return n;
	}
	uint16_t slot = PACKED_START;
	bool wrap = true;

	while (n < 2 * NCHAINS) {
		uint16_t f = le16toh(pdesc(slot)->flags);

		if (((f & PACKED_F_AVAIL) != 0) != wrap || ((f & PACKED_F_USED) != 0) != wrap) {
			break;
		}
		ids[n++] = le16toh(pdesc(slot)->id);
		/* Every chain has two descriptors. */
		for (int k = 0; k < 2; k++) {
			if (++slot == QSIZE) {
				slot = 0;
				wrap = !wrap;
			}
		}
	}
	return n;
}

static uint16_t
pop_one(void)
{
	CU_ASSERT_EQUAL_FATAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	return g_chain.id;
}

static void
push_one(uint16_t id)
{
	vhost_vq_push(&g_vq, id, 2, 512);
	cut_point();
}

/*
 * The data path: pops, pushes out of order, publishes, pops between pushes, and a last push
 * that is never published. Every API call is also a cut point.
 */
static void
run_scenario(void)
{
	uint16_t a, b, c, d, e;

	a = pop_one();
	cut_point();
	b = pop_one();
	cut_point();
	c = pop_one();
	cut_point();
	push_one(b);
	push_one(a);
	vhost_vq_publish(&g_vq);
	cut_point();
	d = pop_one();
	cut_point();
	push_one(c);
	e = pop_one();
	cut_point();
	vhost_vq_publish(&g_vq);
	cut_point();
	push_one(e);
	vhost_vq_publish(&g_vq);
	cut_point();
	push_one(d);
}

static void
attach_fresh(bool packed)
{
	used_record(g_rec, packed, QSIZE);
	if (packed) {
		struct vhost_inflight_packed *r = (void *)g_rec;

		r->used_idx = PACKED_START;
		r->old_used_idx = PACKED_START;
	}
	CU_ASSERT_EQUAL_FATAL(vhost_vq_inflight_attach(&g_vq, g_rec, QSIZE, g_work), 0);
}

/*
 * After recovery from the snapshot: the driver's used view is unchanged, every request not
 * seen used comes out of the queue exactly once (the resubmitted ones first, in the order they
 * were first taken, which is id order here), and once they complete the driver has seen every
 * request exactly once.
 */
static void
check_recovery(bool packed, int cut)
{
	uint16_t before[2 * NCHAINS], after[2 * NCHAINS], popped[NCHAINS];
	uint32_t nbefore, nafter, npopped = 0, seen[NCHAINS] = { 0 };
	int rc;

	memcpy(g_reg, g_snap_reg, REG_SIZE);
	memcpy(g_rec, g_snap_rec, REC_BYTES);
	nbefore = driver_used(packed, before);
	/* A stale base, as QEMU sends after a crash: the record decides. */
	vq_init(packed, packed ? (PACKED_START | VHOST_VQ_PACKED_INITIAL_BASE) : 0);
	rc = vhost_vq_inflight_attach(&g_vq, g_rec, QSIZE, g_work);
	CU_ASSERT_FATAL(rc >= 0);
	CU_ASSERT_EQUAL(driver_used(packed, after), nbefore);
	while (vhost_vq_pop(&g_vq, &g_mem, &g_chain) == 0) {
		CU_ASSERT_FATAL(npopped < NCHAINS);
		popped[npopped++] = g_chain.id;
		CU_ASSERT_EQUAL(g_chain.niov, 2);
		CU_ASSERT_EQUAL(g_chain.write_len, 512);
	}
	CU_ASSERT(!vhost_vq_is_broken(&g_vq));
	CU_ASSERT_EQUAL(nbefore + npopped, NCHAINS);
	for (uint32_t i = 1; i < npopped; i++) {
		CU_ASSERT(popped[i - 1] < popped[i]);
	}
	/* One at a time: a stale used descriptor further on would show as an extra one. */
	for (uint32_t i = 0; i < npopped; i++) {
		vhost_vq_push(&g_vq, popped[i], 2, 512);
		vhost_vq_publish(&g_vq);
		CU_ASSERT_EQUAL(driver_used(packed, after), nbefore + i + 1);
	}
	nafter = driver_used(packed, after);
	CU_ASSERT_EQUAL(nafter, NCHAINS);
	for (uint32_t i = 0; i < nafter; i++) {
		uint16_t id = packed ? after[i] : after[i] / 2;

		CU_ASSERT_FATAL(id < NCHAINS);
		seen[id]++;
	}
	for (uint32_t i = 0; i < NCHAINS; i++) {
		if (seen[i] != 1) {
			fprintf(stderr, "cut %d: request %u completed %u times\n", cut, i, seen[i]);
		}
		CU_ASSERT_EQUAL(seen[i], 1);
	}
}

static void
recovery_at_every_cut(bool packed)
{
	int cut;

	for (cut = 0;; cut++) {
		mem_setup();
		vq_init(packed, packed ? (PACKED_START | VHOST_VQ_PACKED_INITIAL_BASE) : 0);
		if (packed) {
			packed_driver_setup();
		} else {
			split_driver_setup();
		}
		attach_fresh(packed);
		g_cut_target = cut;
		g_cut_count = 0;
		g_cut_taken = false;
		cut_point(); /* before anything */
		run_scenario();
		cut_point(); /* after everything */
		g_cut_target = -1;
		if (!g_cut_taken) {
			break;
		}
		check_recovery(packed, cut);
	}
	/* Every step of the sequence was a cut: at least the API calls and the ordering points. */
	CU_ASSERT(cut > 30);
}

static void
split_recovers_from_a_cut_at_every_step(void)
{
	recovery_at_every_cut(false);
}

static void
packed_recovers_from_a_cut_at_every_step(void)
{
	recovery_at_every_cut(true);
}

static void
split_recovery_completes_a_cut_batch_and_resubmits_oldest_first(void)
{
	struct vhost_inflight_split *r = (void *)g_rec;

	/* Heads 4 then 0 then 2 taken; 2 published (used->idx 1), its flag not yet cleared. */
	mem_setup();
	split_driver_setup();
	used_record(g_rec, false, QSIZE);
	r->desc[4] = (struct vhost_inflight_desc_split){ .inflight = 1, .counter = 10 };
	r->desc[0] = (struct vhost_inflight_desc_split){ .inflight = 1, .counter = 11 };
	r->desc[2] = (struct vhost_inflight_desc_split){ .inflight = 1, .counter = 12 };
	r->last_batch_head = 2;
	sused()->ring[0].id = htole32(2);
	sused()->idx = htole16(1);
	vq_init(false, 0);
	CU_ASSERT_EQUAL(vhost_vq_inflight_attach(&g_vq, g_rec, QSIZE, g_work), 2);
	CU_ASSERT_EQUAL(r->used_idx, 1);
	CU_ASSERT_EQUAL(r->desc[2].inflight, 0);
	CU_ASSERT_EQUAL(pop_one(), 4);
	CU_ASSERT_EQUAL(pop_one(), 0);
	/* Then the ring, after the three taken before: position 3, head 6. */
	CU_ASSERT_EQUAL(pop_one(), 6);
	CU_ASSERT_EQUAL(g_vq.inf_counter, 13);
}

/*
 * A record no back end has used (GET_INFLIGHT_FD's, version 0) on a ring far from its start (a
 * migration's destination; a device reset): the queue starts at the front end's base, nothing is
 * resubmitted, and the record takes the positions and its version.
 */
static void
fresh_record_starts_at_the_front_ends_base(void)
{
	struct vhost_inflight_split *r = (void *)g_rec;
	struct vhost_inflight_packed *p = (void *)g_rec;

	mem_setup();
	split_driver_setup();
	savail()->idx = htole16(450 + NCHAINS);
	sused()->idx = htole16(450);
	vhost_inflight_queue_init(g_rec, false, QSIZE);
	vq_init(false, 450);
	CU_ASSERT_EQUAL(vhost_vq_inflight_attach(&g_vq, g_rec, QSIZE, g_work), 0);
	CU_ASSERT_EQUAL(r->version, VHOST_INFLIGHT_VERSION);
	CU_ASSERT_EQUAL(r->used_idx, 450);
	CU_ASSERT_EQUAL(g_vq.last_avail_idx, 450);
	CU_ASSERT_EQUAL(pop_one(), savail()->ring[450 % QSIZE]);
	/* The same record seen again (a reconnection): now recovered, the taken head in flight. */
	vq_init(false, 450);
	CU_ASSERT_EQUAL(vhost_vq_inflight_attach(&g_vq, g_rec, QSIZE, g_work), 1);

	mem_setup();
	vhost_inflight_queue_init(g_rec, true, QSIZE);
	vq_init(true, (uint16_t)(PACKED_START | PACKED_EVENT_WRAP));
	CU_ASSERT_EQUAL(vhost_vq_inflight_attach(&g_vq, g_rec, QSIZE, g_work), 0);
	CU_ASSERT_EQUAL(p->version, VHOST_INFLIGHT_VERSION);
	CU_ASSERT_EQUAL(p->used_idx, PACKED_START);
	CU_ASSERT_EQUAL(p->old_used_idx, PACKED_START);
	CU_ASSERT_EQUAL(p->used_wrap_counter, 1);
	CU_ASSERT_EQUAL(g_vq.last_avail_idx, PACKED_START);
}

/*
 * GET_INFLIGHT_FD may come while the previous start's features are set (QEMU's vhost-user-scsi
 * asks before SET_FEATURES: SeaBIOS's split rings, then Linux's packed ones): a fresh area takes
 * the layout of the ring that first starts on it, whatever it held, and keeps it; a used area
 * is recovered only by a ring of its layout.
 */
static void
fresh_area_takes_the_rings_layout_and_keeps_it(void)
{
	struct vhost_inflight_split *r = (void *)g_rec;
	struct vhost_inflight_packed *p = (void *)g_rec;

	mem_setup();
	packed_driver_setup();
	vhost_inflight_queue_init(g_rec, false, QSIZE); /* what GET_INFLIGHT_FD writes */
	vq_init(true, (uint16_t)(PACKED_START | PACKED_EVENT_WRAP));
	CU_ASSERT_EQUAL(vhost_vq_inflight_attach(&g_vq, g_rec, QSIZE, g_work), 0);
	CU_ASSERT_EQUAL(p->features, 1ull << VIRTIO_F_RING_PACKED);
	CU_ASSERT_EQUAL(p->version, VHOST_INFLIGHT_VERSION);
	CU_ASSERT_EQUAL(p->used_wrap_counter, 1);
	CU_ASSERT_EQUAL(p->desc[0].next, 1); /* the packed free list */
	CU_ASSERT_EQUAL(p->desc[QSIZE - 1].next, QSIZE);
	/* A request goes through it, and it recovers as packed with that request in flight. */
	CU_ASSERT_EQUAL(pop_one(), 0);
	vq_init(true, (uint16_t)(PACKED_START | PACKED_EVENT_WRAP));
	CU_ASSERT_EQUAL(vhost_vq_inflight_attach(&g_vq, g_rec, QSIZE, g_work), 1);
	/* A split ring does not recover from it. */
	mem_setup();
	vq_init(false, 0);
	CU_ASSERT_EQUAL(vhost_vq_inflight_attach(&g_vq, g_rec, QSIZE, g_work), -EINVAL);
	CU_ASSERT_PTR_NULL(g_vq.inf.any);
	/* Nor does a packed ring from a used split area. */
	used_record(g_rec, false, QSIZE);
	vq_init(true, VHOST_VQ_PACKED_INITIAL_BASE);
	CU_ASSERT_EQUAL(vhost_vq_inflight_attach(&g_vq, g_rec, QSIZE, g_work), -EINVAL);
	/* A fresh area that a packed init left behind serves a split ring. */
	vhost_inflight_queue_init(g_rec, true, QSIZE);
	vq_init(false, 0);
	CU_ASSERT_EQUAL(vhost_vq_inflight_attach(&g_vq, g_rec, QSIZE, g_work), 0);
	CU_ASSERT_EQUAL(r->features, 0);
	CU_ASSERT_EQUAL(r->desc[0].next, 0);
	CU_ASSERT_EQUAL(r->version, VHOST_INFLIGHT_VERSION);
}

static void
recovery_refuses_inconsistent_records(void)
{
	struct vhost_inflight_split *r = (void *)g_rec;
	struct vhost_inflight_packed *p = (void *)g_rec;

	mem_setup();
	used_record(g_rec, false, 32);
	r->desc[20].inflight = 1; /* beyond the ring's 16 entries */
	vq_init(false, 0);
	CU_ASSERT_EQUAL(vhost_vq_inflight_attach(&g_vq, g_rec, 32, g_work), -EINVAL);
	CU_ASSERT_PTR_NULL(g_vq.inf.any);
	/* Fewer entries than the ring. */
	CU_ASSERT_EQUAL(vhost_vq_inflight_attach(&g_vq, g_rec, 8, g_work), -EINVAL);
	/* used->idx far ahead of the record's. */
	used_record(g_rec, false, QSIZE);
	sused()->idx = htole16(100);
	CU_ASSERT_EQUAL(vhost_vq_inflight_attach(&g_vq, g_rec, QSIZE, g_work), -EINVAL);
	/* Packed: a chain whose links do not end at its last entry; two chains with one id. */
	mem_setup();
	vq_init(true, VHOST_VQ_PACKED_INITIAL_BASE);
	used_record(g_rec, true, QSIZE);
	p->desc[0] = (struct vhost_inflight_desc_packed){ .inflight = 1,
							  .num = 2,
							  .next = 1,
							  .last = 5 };
	p->free_head = p->old_free_head = 2;
	CU_ASSERT_EQUAL(vhost_vq_inflight_attach(&g_vq, g_rec, QSIZE, g_work), -EINVAL);
	used_record(g_rec, true, QSIZE);
	p->desc[0] = (struct vhost_inflight_desc_packed){ .inflight = 1, .num = 1, .last = 0 };
	p->desc[1] = (struct vhost_inflight_desc_packed){ .inflight = 1, .num = 1, .last = 1 };
	p->free_head = p->old_free_head = 2;
	CU_ASSERT_EQUAL(vhost_vq_inflight_attach(&g_vq, g_rec, QSIZE, g_work), -EINVAL);
}

static int
suite_init(void)
{
	g_reg = aligned_alloc(4096, REG_SIZE);
	g_snap_reg = malloc(REG_SIZE);
	g_rec = aligned_alloc(64, REC_BYTES);
	g_snap_rec = malloc(REC_BYTES);
	return g_reg == NULL || g_snap_reg == NULL || g_rec == NULL || g_snap_rec == NULL ? -1 : 0;
}

static int
suite_fini(void)
{
	free(g_reg);
	free(g_snap_reg);
	free(g_rec);
	free(g_snap_rec);
	return 0;
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	s = CU_add_suite("vhost_inflight", suite_init, suite_fini);
	CU_ADD_TEST(s, layout_sizes_match_the_spec_formula);
	CU_ADD_TEST(s, create_initialises_every_queue_area);
	CU_ADD_TEST(s, map_checks_size_version_and_geometry);
	CU_ADD_TEST(s, fresh_record_starts_at_the_front_ends_base);
	CU_ADD_TEST(s, fresh_area_takes_the_rings_layout_and_keeps_it);
	CU_ADD_TEST(s, split_recovers_from_a_cut_at_every_step);
	CU_ADD_TEST(s, packed_recovers_from_a_cut_at_every_step);
	CU_ADD_TEST(s, split_recovery_completes_a_cut_batch_and_resubmits_oldest_first);
	CU_ADD_TEST(s, recovery_refuses_inconsistent_records);
	return ut_run_tests();
}
