/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Virtqueue engine tests on fabricated guest memory: three malloc'd regions at chosen guest
 * addresses (R0 and R1 adjacent in guest space, R2 apart), rings in R0, buffers anywhere. The
 * tests play the driver by writing little-endian rings by hand.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lib/vhost/virtqueue.c"
#include "lib/vhost/vhost_log.h"

#define REG_SIZE 0x10000u
#define R0_GPA 0x0u
#define R1_GPA 0x10000u /* right after R0 */
#define R2_GPA 0x100000u
#define GAP_GPA 0x80000u /* in no region */

/* Ring layout inside R0. */
#define DESC_GPA 0x0u
#define AVAIL_GPA 0x8000u
#define USED_GPA 0x9000u
#define DRIVER_EV_GPA 0x8000u
#define DEVICE_EV_GPA 0x9000u
/* Buffers. */
#define HDR_GPA 0xa000u
#define DATA_GPA 0xb000u
#define STATUS_GPA 0xcfffu
#define TABLE_GPA (R2_GPA + 0x1000u)

#define IOV_CAP 1100u
#define F_INDIRECT (1ull << VIRTIO_RING_F_INDIRECT_DESC)
#define F_EVENT_IDX (1ull << VIRTIO_RING_F_EVENT_IDX)
#define F_PACKED (1ull << VIRTIO_F_RING_PACKED)

static uint8_t *g_reg[3];
static struct vhost_vq_mem g_mem;
static struct vhost_vq g_vq;
static struct iovec g_iov[IOV_CAP];
static struct vhost_vq_chain g_chain = { .iov = g_iov, .iov_max = IOV_CAP };
static uint16_t g_avail_idx; /* driver's split avail idx */
static uint16_t g_drv_slot;  /* driver's next packed slot */
static bool g_drv_wrap;      /* driver ring wrap counter */

static uint8_t *
hva(uint64_t gpa)
{
	if (gpa >= R2_GPA) {
		return g_reg[2] + (gpa - R2_GPA);
	}
	if (gpa >= R1_GPA) {
		return g_reg[1] + (gpa - R1_GPA);
	}
	return g_reg[0] + gpa;
}

static void
mem_setup(void)
{
	struct vhost_vq_mem_region r[3] = {
		{ .gpa = R0_GPA, .size = REG_SIZE, .host = g_reg[0] },
		{ .gpa = R1_GPA, .size = REG_SIZE, .host = g_reg[1] },
		{ .gpa = R2_GPA, .size = REG_SIZE, .host = g_reg[2] },
	};
	int i;

	for (i = 0; i < 3; i++) {
		memset(g_reg[i], 0, REG_SIZE);
	}
	CU_ASSERT_EQUAL_FATAL(vhost_vq_mem_init(&g_mem, r, 3), 0);
	g_chain.iov_max = IOV_CAP;
}

/* ---- split driver helpers ---------------------------------------------------------------- */

static struct vring_desc *
sdesc(uint16_t i)
{
	return (struct vring_desc *)hva(DESC_GPA) + i;
}

static struct vring_avail *
savail(void)
{
	return (struct vring_avail *)hva(AVAIL_GPA);
}

static struct vring_used *
sused(void)
{
	return (struct vring_used *)hva(USED_GPA);
}

static void
set_desc(struct vring_desc *d, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	d->addr = htole64(addr);
	d->len = htole32(len);
	d->flags = htole16(flags);
	d->next = htole16(next);
}

static void
split_setup_base(uint16_t size, uint64_t features, uint16_t base)
{
	struct vhost_vq_params p = {
		.name = "vq_ut",
		.index = 0,
		.size = size,
		.features = features,
		.avail_base = base,
		.used_base = base,
	};

	mem_setup();
	g_avail_idx = base;
	savail()->idx = htole16(base);
	sused()->idx = htole16(base);
	CU_ASSERT_EQUAL_FATAL(vhost_vq_init_split(&g_vq, &p, sdesc(0), savail(), sused()), 0);
}

static void
split_setup(uint16_t size, uint64_t features)
{
	split_setup_base(size, features, 0);
}

static void
avail_add(uint16_t head)
{
	savail()->ring[g_avail_idx & (g_vq.size - 1)] = htole16(head);
	g_avail_idx++;
	savail()->idx = htole16(g_avail_idx);
}

/* The usual blk-like chain at head: 16-byte header (R), 4 KiB data (W), status byte (W). */
static void
add_blk_chain(uint16_t head)
{
	uint16_t size = g_vq.size;

	set_desc(sdesc(head), HDR_GPA, 16, VRING_DESC_F_NEXT, (head + 1) & (size - 1));
	set_desc(sdesc((head + 1) & (size - 1)), DATA_GPA, 4096,
		 VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, (head + 2) & (size - 1));
	set_desc(sdesc((head + 2) & (size - 1)), STATUS_GPA, 1, VRING_DESC_F_WRITE, 0);
	avail_add(head);
}

static void
assert_blk_chain(uint16_t head)
{
	CU_ASSERT_EQUAL(g_chain.id, head);
	CU_ASSERT_EQUAL(g_chain.niov, 3);
	CU_ASSERT_EQUAL(g_chain.nreadable, 1);
	CU_ASSERT_EQUAL(g_chain.read_len, 16);
	CU_ASSERT_EQUAL(g_chain.write_len, 4097);
	CU_ASSERT(g_iov[0].iov_base == hva(HDR_GPA) && g_iov[0].iov_len == 16);
	CU_ASSERT(g_iov[1].iov_base == hva(DATA_GPA) && g_iov[1].iov_len == 4096);
	CU_ASSERT(g_iov[2].iov_base == hva(STATUS_GPA) && g_iov[2].iov_len == 1);
}

/* Pops expecting -EINVAL with err; returns the chain's err_tail. */
static uint8_t *
pop_malformed(enum vhost_vq_err err, uint16_t head)
{
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), -EINVAL);
	CU_ASSERT_EQUAL(g_chain.err, err);
	CU_ASSERT_EQUAL(g_chain.id, head);
	CU_ASSERT(!vhost_vq_is_broken(&g_vq));
	return g_chain.err_tail;
}

/* ---- guest memory ------------------------------------------------------------------------ */

static void
mem_init_rejects_bad_tables(void)
{
	struct vhost_vq_mem_region r[9];
	struct vhost_vq_mem mem;
	uint32_t i;

	for (i = 0; i < 9; i++) {
		r[i] = (struct vhost_vq_mem_region){ .gpa = i * 0x1000ull,
						     .size = 0x1000,
						     .host = g_reg[0] };
	}
	CU_ASSERT_EQUAL(vhost_vq_mem_init(&mem, r, 8), 0);
	CU_ASSERT_EQUAL(vhost_vq_mem_init(&mem, r, 9), -EINVAL);
	CU_ASSERT_EQUAL(mem.nregions, 0);
	r[1].gpa = 0x800; /* overlaps region 0 */
	CU_ASSERT_EQUAL(vhost_vq_mem_init(&mem, r, 2), -EINVAL);
	r[1].gpa = 0x1000;
	r[1].size = 0;
	CU_ASSERT_EQUAL(vhost_vq_mem_init(&mem, r, 2), -EINVAL);
	r[1].size = 0x1000;
	r[1].gpa = UINT64_MAX - 0x10; /* gpa + size wraps */
	CU_ASSERT_EQUAL(vhost_vq_mem_init(&mem, r, 2), -EINVAL);
	r[1].gpa = 0x1000;
	r[1].host = NULL;
	CU_ASSERT_EQUAL(vhost_vq_mem_init(&mem, r, 2), -EINVAL);
}

static void
mem_translate_maps_range_inside_one_region(void)
{
	struct iovec iov[4];
	uint32_t hint = 0;

	mem_setup();
	CU_ASSERT_EQUAL(vhost_vq_mem_translate(&g_mem, &hint, R2_GPA + 0x10, 0x100, iov, 4), 1);
	CU_ASSERT(iov[0].iov_base == g_reg[2] + 0x10 && iov[0].iov_len == 0x100);
	CU_ASSERT_EQUAL(hint, 2);
	/* The whole region, to its last byte. */
	CU_ASSERT_EQUAL(vhost_vq_mem_translate(&g_mem, &hint, R0_GPA, REG_SIZE, iov, 4), 1);
	CU_ASSERT(iov[0].iov_base == g_reg[0] && iov[0].iov_len == REG_SIZE);
	CU_ASSERT_EQUAL(hint, 0);
}

static void
mem_translate_splits_range_across_adjacent_regions(void)
{
	struct iovec iov[4];
	uint32_t hint = 2;

	mem_setup();
	CU_ASSERT_EQUAL(vhost_vq_mem_translate(&g_mem, &hint, R1_GPA - 0x10, 0x30, iov, 4), 2);
	CU_ASSERT(iov[0].iov_base == g_reg[0] + REG_SIZE - 0x10 && iov[0].iov_len == 0x10);
	CU_ASSERT(iov[1].iov_base == g_reg[1] && iov[1].iov_len == 0x20);
	/* Not enough iovecs for the two pieces. */
	CU_ASSERT_EQUAL(vhost_vq_mem_translate(&g_mem, &hint, R1_GPA - 0x10, 0x30, iov, 1),
			-ENOBUFS);
	CU_ASSERT_EQUAL(vhost_vq_mem_translate(&g_mem, &hint, R1_GPA, 0x30, iov, 0), -ENOBUFS);
}

static void
mem_translate_merges_regions_contiguous_in_host_memory(void)
{
	struct vhost_vq_mem_region r[2] = {
		{ .gpa = 0x1000, .size = 0x800, .host = g_reg[0] },
		{ .gpa = 0x1800, .size = 0x800, .host = g_reg[0] + 0x800 },
	};
	struct vhost_vq_mem mem;
	struct iovec iov[2];
	uint32_t hint = 0;

	CU_ASSERT_EQUAL_FATAL(vhost_vq_mem_init(&mem, r, 2), 0);
	CU_ASSERT_EQUAL(vhost_vq_mem_translate(&mem, &hint, 0x1700, 0x200, iov, 2), 1);
	CU_ASSERT(iov[0].iov_base == g_reg[0] + 0x700 && iov[0].iov_len == 0x200);
}

static void
mem_translate_rejects_ranges_outside_memory(void)
{
	struct iovec iov[4];
	uint32_t hint = 0;

	mem_setup();
	CU_ASSERT_EQUAL(vhost_vq_mem_translate(&g_mem, &hint, GAP_GPA, 1, iov, 4), -EFAULT);
	/* Starts in R1, runs past its end into the gap. */
	CU_ASSERT_EQUAL(vhost_vq_mem_translate(&g_mem, &hint, R1_GPA + REG_SIZE - 8, 16, iov, 4),
			-EFAULT);
	/* Ends one byte past R2. */
	CU_ASSERT_EQUAL(vhost_vq_mem_translate(&g_mem, &hint, R2_GPA, REG_SIZE + 1, iov, 4),
			-EFAULT);
	/* Starts before R2 in the gap. */
	CU_ASSERT_EQUAL(vhost_vq_mem_translate(&g_mem, &hint, R2_GPA - 1, 2, iov, 4), -EFAULT);
}

static void
mem_translate_rejects_wrapping_and_empty_ranges(void)
{
	struct iovec iov[4];
	uint32_t hint = 0;

	mem_setup();
	CU_ASSERT_EQUAL(vhost_vq_mem_translate(&g_mem, &hint, UINT64_MAX - 5, 10, iov, 4), -EINVAL);
	/* A length that wraps from inside a region: the fast path must not accept it. */
	CU_ASSERT_EQUAL(vhost_vq_mem_translate(&g_mem, &hint, R0_GPA + 0x10, UINT64_MAX, iov, 4),
			-EINVAL);
	CU_ASSERT_EQUAL(vhost_vq_mem_translate(&g_mem, &hint, R0_GPA + 0x10, 0, iov, 4), -EINVAL);
}

static void
mem_hint_never_reaches_a_removed_region(void)
{
	struct vhost_vq_mem_region r = { .gpa = R0_GPA, .size = REG_SIZE, .host = g_reg[0] };
	struct iovec iov[1];
	uint32_t hint = 0;

	mem_setup();
	CU_ASSERT_EQUAL(vhost_vq_mem_translate(&g_mem, &hint, R2_GPA, 8, iov, 1), 1);
	CU_ASSERT_EQUAL(hint, 2);
	/* The table shrinks to R0 (SET_MEM_TABLE): the hint still names slot 2. */
	CU_ASSERT_EQUAL_FATAL(vhost_vq_mem_init(&g_mem, &r, 1), 0);
	CU_ASSERT_EQUAL(vhost_vq_mem_translate(&g_mem, &hint, R2_GPA, 8, iov, 1), -EFAULT);
	CU_ASSERT(vhost_vq_mem_to_host(&g_mem, &hint, R2_GPA, 8) == NULL);
	hint = 1000; /* out of range: reset, not used */
	CU_ASSERT_EQUAL(vhost_vq_mem_translate(&g_mem, &hint, R0_GPA, 8, iov, 1), 1);
}

static void
mem_to_host_requires_one_region(void)
{
	uint32_t hint = 0;

	mem_setup();
	CU_ASSERT(vhost_vq_mem_to_host(&g_mem, &hint, R2_GPA + 4, 16) == g_reg[2] + 4);
	CU_ASSERT(vhost_vq_mem_to_host(&g_mem, &hint, R1_GPA - 8, 16) == NULL);
	CU_ASSERT(vhost_vq_mem_to_host(&g_mem, &hint, R2_GPA + 4, 0) == NULL);
	CU_ASSERT(vhost_vq_mem_to_host(&g_mem, &hint, R2_GPA + 4, UINT64_MAX) == NULL);
	CU_ASSERT(vhost_vq_mem_host_range_valid(&g_mem, g_reg[1] + 16, REG_SIZE - 16));
	CU_ASSERT(!vhost_vq_mem_host_range_valid(&g_mem, g_reg[1] + 16, REG_SIZE - 15));
	CU_ASSERT(!vhost_vq_mem_host_range_valid(&g_mem, g_reg[1], 0));
	CU_ASSERT(!vhost_vq_mem_host_range_valid(&g_mem, &hint, 1));
}

/* ---- split: good chains -------------------------------------------------------------------- */

static void
split_init_rejects_bad_parameters(void)
{
	struct vhost_vq_params p = { .name = "vq_ut", .size = 100 };
	struct vhost_vq vq;

	mem_setup();
	CU_ASSERT_EQUAL(vhost_vq_init_split(&vq, &p, sdesc(0), savail(), sused()), -EINVAL);
	p.size = 0;
	CU_ASSERT_EQUAL(vhost_vq_init_split(&vq, &p, sdesc(0), savail(), sused()), -EINVAL);
	p.size = 128;
	CU_ASSERT_EQUAL(
		vhost_vq_init_split(&vq, &p, sdesc(0), (void *)(hva(AVAIL_GPA) + 1), sused()),
		-EINVAL);
	CU_ASSERT_EQUAL(
		vhost_vq_init_split(&vq, &p, (void *)(hva(DESC_GPA) + 8), savail(), sused()),
		-EINVAL);
	p.features = F_PACKED;
	CU_ASSERT_EQUAL(vhost_vq_init_split(&vq, &p, sdesc(0), savail(), sused()), -EINVAL);
	p.features = 0;
	p.size = VHOST_VQ_MAX_SIZE;
	CU_ASSERT_EQUAL(vhost_vq_init_split(&vq, &p, sdesc(0), savail(), sused()), 0);
}

static void
split_pop_empty_queue_returns_eagain(void)
{
	split_setup(128, 0);
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), -EAGAIN);
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), -EAGAIN);
}

static void
split_pop_returns_direct_chain_with_directions_and_totals(void)
{
	split_setup(128, 0);
	add_blk_chain(5);
	add_blk_chain(20);
	CU_ASSERT_EQUAL_FATAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	assert_blk_chain(5);
	CU_ASSERT_EQUAL(g_chain.ndescs, 3);
	CU_ASSERT_EQUAL(g_chain.pos, 0);
	CU_ASSERT_EQUAL_FATAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	assert_blk_chain(20);
	CU_ASSERT_EQUAL(g_chain.pos, 1);
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), -EAGAIN);
	CU_ASSERT_EQUAL(vhost_vq_get_avail_base(&g_vq), 2);
}

static void
split_pop_follows_indirect_table_after_direct_descriptors(void)
{
	struct vring_desc *t = (struct vring_desc *)hva(TABLE_GPA);

	split_setup(128, F_INDIRECT);
	/* One direct header, then an indirect table: data (W) at entry 2, status (W) at 0. */
	set_desc(sdesc(7), HDR_GPA, 16, VRING_DESC_F_NEXT, 9);
	set_desc(sdesc(9), TABLE_GPA, 3 * 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
	set_desc(&t[0], DATA_GPA, 4096, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	set_desc(&t[2], STATUS_GPA, 1, VRING_DESC_F_WRITE, 0);
	set_desc(&t[1], 0xdead0000, 1, 0, 0); /* unreferenced garbage */
	avail_add(7);
	CU_ASSERT_EQUAL_FATAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	assert_blk_chain(7);
	CU_ASSERT_EQUAL(g_chain.ndescs, 2);
}

static void
split_pop_splits_buffer_spanning_two_regions(void)
{
	split_setup(128, 0);
	set_desc(sdesc(0), R1_GPA - 0x100, 0x200, VRING_DESC_F_WRITE, 0);
	avail_add(0);
	CU_ASSERT_EQUAL_FATAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	CU_ASSERT_EQUAL(g_chain.niov, 2);
	CU_ASSERT_EQUAL(g_chain.nreadable, 0);
	CU_ASSERT_EQUAL(g_chain.write_len, 0x200);
	CU_ASSERT(g_iov[0].iov_base == g_reg[0] + REG_SIZE - 0x100 && g_iov[0].iov_len == 0x100);
	CU_ASSERT(g_iov[1].iov_base == g_reg[1] && g_iov[1].iov_len == 0x100);
}

static void
split_pop_accepts_chain_as_long_as_the_queue(void)
{
	uint16_t i;

	split_setup(64, 0);
	for (i = 0; i < 64; i++) {
		set_desc(sdesc(i), R2_GPA + i * 16u, 16, i < 32 ? 0 : VRING_DESC_F_WRITE, i + 1);
		sdesc(i)->flags |= htole16(i < 63 ? VRING_DESC_F_NEXT : 0);
	}
	avail_add(0);
	CU_ASSERT_EQUAL_FATAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	CU_ASSERT_EQUAL(g_chain.niov, 64);
	CU_ASSERT_EQUAL(g_chain.nreadable, 32);
	CU_ASSERT_EQUAL(g_chain.ndescs, 64);
	CU_ASSERT_EQUAL(g_chain.read_len, 32 * 16);
	CU_ASSERT_EQUAL(g_chain.write_len, 32 * 16);
}

static void
split_pop_accepts_indirect_table_of_1024_entries(void)
{
	struct vring_desc *t = (struct vring_desc *)hva(R2_GPA);
	uint32_t i;

	split_setup(16, F_INDIRECT);
	for (i = 0; i < 1024; i++) {
		set_desc(&t[i], R1_GPA + i, 1, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, i + 1);
	}
	t[1023].flags = htole16(VRING_DESC_F_WRITE);
	set_desc(sdesc(3), R2_GPA, 1024 * 16, VRING_DESC_F_INDIRECT, 0);
	avail_add(3);
	CU_ASSERT_EQUAL_FATAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	CU_ASSERT_EQUAL(g_chain.niov, 1024);
	CU_ASSERT_EQUAL(g_chain.write_len, 1024);
	/* One entry more than the bound. */
	set_desc(sdesc(3), R2_GPA, 1025 * 16, VRING_DESC_F_INDIRECT, 0);
	avail_add(3);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_INDIRECT_LEN, 3) == NULL);
}

static void
split_pop_handles_avail_idx_wraparound(void)
{
	uint16_t i;

	split_setup_base(8, 0, 65534);
	for (i = 0; i < 4; i++) {
		set_desc(sdesc(i), DATA_GPA, 512, VRING_DESC_F_WRITE, 0);
		avail_add(i);
	}
	CU_ASSERT_EQUAL(g_avail_idx, 2);
	for (i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL_FATAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
		CU_ASSERT_EQUAL(g_chain.id, i);
		CU_ASSERT_EQUAL(g_chain.pos, (uint16_t)(65534 + i));
		vhost_vq_push(&g_vq, g_chain.id, g_chain.ndescs, 512);
	}
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), -EAGAIN);
	vhost_vq_publish(&g_vq);
	CU_ASSERT_EQUAL(le16toh(sused()->idx), 2);
	/* 65534 & 7 = 6: entries at slots 6, 7, 0, 1. */
	CU_ASSERT_EQUAL(le32toh(sused()->ring[6].id), 0);
	CU_ASSERT_EQUAL(le32toh(sused()->ring[7].id), 1);
	CU_ASSERT_EQUAL(le32toh(sused()->ring[0].id), 2);
	CU_ASSERT_EQUAL(le32toh(sused()->ring[1].id), 3);
	CU_ASSERT_EQUAL(vhost_vq_get_used_base(&g_vq), 2);
}

static void
split_pop_accepts_a_full_ring(void)
{
	uint16_t i;

	split_setup(8, 0);
	for (i = 0; i < 8; i++) {
		set_desc(sdesc(i), DATA_GPA, 512, 0, 0);
		avail_add(i);
	}
	for (i = 0; i < 8; i++) {
		CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	}
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), -EAGAIN);
}

/* ---- split: malicious chains ----------------------------------------------------------------- */

static void
split_pop_rejects_address_outside_memory_and_reports_status_byte(void)
{
	split_setup(128, 0);
	add_blk_chain(0);
	sdesc(1)->addr = htole64(GAP_GPA);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_ADDR, 0) == hva(STATUS_GPA));
	/* The queue goes on. */
	add_blk_chain(10);
	CU_ASSERT_EQUAL_FATAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	assert_blk_chain(10);
}

static void
split_pop_rejects_address_length_overflow(void)
{
	split_setup(128, 0);
	add_blk_chain(0);
	sdesc(1)->addr = htole64(UINT64_MAX - 100);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_ADDR, 0) == hva(STATUS_GPA));
	/* The status descriptor itself wraps: no tail can be given. */
	add_blk_chain(10);
	sdesc(12)->addr = htole64(UINT64_MAX);
	sdesc(12)->len = htole32(2);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_ADDR, 10) == NULL);
}

static void
split_pop_detects_descriptor_loop(void)
{
	split_setup(128, 0);
	set_desc(sdesc(0), HDR_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(sdesc(1), DATA_GPA, 16, VRING_DESC_F_NEXT, 2);
	set_desc(sdesc(2), DATA_GPA, 16, VRING_DESC_F_NEXT, 0);
	avail_add(0);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_LOOP, 0) == NULL);
	/* A descriptor pointing at itself. */
	set_desc(sdesc(5), DATA_GPA, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 5);
	avail_add(5);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_LOOP, 5) == NULL);
}

static void
split_pop_detects_loop_inside_indirect_table(void)
{
	struct vring_desc *t = (struct vring_desc *)hva(TABLE_GPA);

	split_setup(128, F_INDIRECT);
	set_desc(&t[0], DATA_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(&t[1], DATA_GPA, 16, VRING_DESC_F_NEXT, 0);
	set_desc(sdesc(0), TABLE_GPA, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	avail_add(0);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_LOOP, 0) == NULL);
}

static void
split_pop_rejects_next_index_out_of_range(void)
{
	struct vring_desc *t = (struct vring_desc *)hva(TABLE_GPA);

	split_setup(128, F_INDIRECT);
	set_desc(sdesc(0), HDR_GPA, 16, VRING_DESC_F_NEXT, 128);
	avail_add(0);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_NEXT_RANGE, 0) == NULL);
	/* Inside an indirect table the bound is the table's length. */
	set_desc(&t[0], DATA_GPA, 16, VRING_DESC_F_NEXT, 2);
	set_desc(sdesc(1), TABLE_GPA, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	avail_add(1);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_NEXT_RANGE, 1) == NULL);
}

static void
split_pop_rejects_nested_indirect(void)
{
	struct vring_desc *t = (struct vring_desc *)hva(TABLE_GPA);

	split_setup(128, F_INDIRECT);
	set_desc(&t[0], HDR_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(&t[1], TABLE_GPA, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	set_desc(sdesc(0), TABLE_GPA, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	avail_add(0);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_INDIRECT_NESTED, 0) == NULL);
}

static void
split_pop_rejects_indirect_with_next(void)
{
	split_setup(128, F_INDIRECT);
	set_desc(sdesc(0), TABLE_GPA, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	set_desc(sdesc(1), STATUS_GPA, 1, VRING_DESC_F_WRITE, 0);
	set_desc((struct vring_desc *)hva(TABLE_GPA), DATA_GPA, 16, 0, 0);
	avail_add(0);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_INDIRECT_NEXT, 0) == NULL);
}

static void
split_pop_rejects_indirect_without_feature(void)
{
	split_setup(128, 0);
	set_desc(sdesc(0), TABLE_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	set_desc((struct vring_desc *)hva(TABLE_GPA), DATA_GPA, 16, 0, 0);
	avail_add(0);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_INDIRECT_FEATURE, 0) == NULL);
}

static void
split_pop_rejects_bad_indirect_tables(void)
{
	split_setup(128, F_INDIRECT);
	set_desc((struct vring_desc *)hva(TABLE_GPA), DATA_GPA, 16, 0, 0);
	set_desc(sdesc(0), TABLE_GPA, 0, VRING_DESC_F_INDIRECT, 0);
	avail_add(0);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_INDIRECT_LEN, 0) == NULL);
	set_desc(sdesc(1), TABLE_GPA, 24, VRING_DESC_F_INDIRECT, 0);
	avail_add(1);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_INDIRECT_LEN, 1) == NULL);
	set_desc(sdesc(2), GAP_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	avail_add(2);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_INDIRECT_ADDR, 2) == NULL);
	/* Straddles R0 and R1: tables must be contiguous in one region. */
	set_desc(sdesc(3), R1_GPA - 16, 32, VRING_DESC_F_INDIRECT, 0);
	avail_add(3);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_INDIRECT_ADDR, 3) == NULL);
	/* Ends past R2. */
	set_desc(sdesc(4), R2_GPA + REG_SIZE - 16, 32, VRING_DESC_F_INDIRECT, 0);
	avail_add(4);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_INDIRECT_ADDR, 4) == NULL);
}

static void
split_pop_rejects_readable_after_writable(void)
{
	split_setup(128, 0);
	set_desc(sdesc(0), HDR_GPA, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	set_desc(sdesc(1), DATA_GPA, 512, VRING_DESC_F_NEXT, 2);
	set_desc(sdesc(2), STATUS_GPA, 1, VRING_DESC_F_WRITE, 0);
	avail_add(0);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_DIRECTION, 0) == hva(STATUS_GPA));
	/* Ending on a readable buffer: no status byte to offer. */
	set_desc(sdesc(4), DATA_GPA, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 5);
	set_desc(sdesc(5), HDR_GPA, 16, 0, 0);
	avail_add(4);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_DIRECTION, 4) == NULL);
}

static void
split_pop_rejects_zero_length_buffer(void)
{
	split_setup(128, 0);
	add_blk_chain(0);
	sdesc(1)->len = 0;
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_LEN_ZERO, 0) == hva(STATUS_GPA));
}

static void
split_pop_rejects_more_segments_than_capacity(void)
{
	split_setup(128, 0);
	add_blk_chain(0);
	g_chain.iov_max = 2;
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_TOO_MANY_SEGS, 0) == hva(STATUS_GPA));
	/* A buffer split across regions needs two iovecs. */
	set_desc(sdesc(8), HDR_GPA, 16, VRING_DESC_F_NEXT, 9);
	set_desc(sdesc(9), R1_GPA - 1, 2, VRING_DESC_F_WRITE, 0);
	avail_add(8);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_TOO_MANY_SEGS, 8) == hva(R1_GPA));
	g_chain.iov_max = IOV_CAP;
}

static void
split_pop_rejects_total_length_of_4gib(void)
{
	/* A 16 GiB guest region that is only address space: pop never touches buffer memory. */
	size_t big = 16ull << 30;
	void *space =
		mmap(NULL, big, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct vhost_vq_mem_region r[2] = {
		{ .gpa = R0_GPA, .size = REG_SIZE, .host = g_reg[0] },
		{ .gpa = 1ull << 32, .size = big, .host = space },
	};

	CU_ASSERT_FATAL(space != MAP_FAILED);
	split_setup(128, 0);
	CU_ASSERT_EQUAL_FATAL(vhost_vq_mem_init(&g_mem, r, 2), 0);
	set_desc(sdesc(0), 1ull << 32, 0x80000000u, VRING_DESC_F_NEXT, 1);
	set_desc(sdesc(1), 1ull << 33, 0x7fffffffu, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	set_desc(sdesc(2), STATUS_GPA, 1, VRING_DESC_F_WRITE, 0);
	avail_add(0);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_TOTAL_LEN, 0) == hva(STATUS_GPA));
	/* One byte less is accepted. */
	sdesc(1)->len = htole32(0x7ffffffeu);
	avail_add(0);
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	CU_ASSERT_EQUAL(g_chain.read_len + g_chain.write_len, UINT32_MAX);
	munmap(space, big);
}

static void
split_pop_breaks_queue_when_avail_idx_jumps(void)
{
	split_setup(128, 0);
	add_blk_chain(0);
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	/* 129 new entries on a 128-entry ring. */
	savail()->idx = htole16(1 + 129);
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), -EIO);
	CU_ASSERT(vhost_vq_is_broken(&g_vq));
	CU_ASSERT_EQUAL(vhost_vq_broken_reason(&g_vq), VHOST_VQ_ERR_AVAIL_IDX);
	/* Going backwards is a huge jump too; the queue stays broken either way. */
	savail()->idx = htole16(1);
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), -EIO);
	CU_ASSERT_EQUAL(vhost_vq_get_avail_base(&g_vq), 1);

	split_setup(128, 0);
	savail()->idx = htole16(0xffff);
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), -EIO);
}

static void
split_pop_breaks_queue_on_head_index_beyond_size(void)
{
	split_setup(128, 0);
	avail_add(128);
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), -EIO);
	CU_ASSERT_EQUAL(vhost_vq_broken_reason(&g_vq), VHOST_VQ_ERR_HEAD_RANGE);
	/* Nothing consumed. */
	CU_ASSERT_EQUAL(vhost_vq_get_avail_base(&g_vq), 0);
	add_blk_chain(0);
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), -EIO);
}

/* ---- split: used ring and notifications ------------------------------------------------------ */

static void
split_push_fills_used_ring_and_publish_exposes_idx(void)
{
	split_setup(128, 0);
	add_blk_chain(0);
	add_blk_chain(3);
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	/* Completed out of order. */
	vhost_vq_push(&g_vq, 3, 3, 4097);
	vhost_vq_push(&g_vq, 0, 3, 1);
	CU_ASSERT_EQUAL(le32toh(sused()->ring[0].id), 3);
	CU_ASSERT_EQUAL(le32toh(sused()->ring[0].len), 4097);
	CU_ASSERT_EQUAL(le32toh(sused()->ring[1].id), 0);
	CU_ASSERT_EQUAL(le32toh(sused()->ring[1].len), 1);
	CU_ASSERT_EQUAL(le16toh(sused()->idx), 0);
	CU_ASSERT(vhost_vq_publish(&g_vq));
	CU_ASSERT_EQUAL(le16toh(sused()->idx), 2);
	/* Nothing new: no store, no notification. */
	sused()->idx = htole16(77);
	CU_ASSERT(!vhost_vq_publish(&g_vq));
	CU_ASSERT_EQUAL(le16toh(sused()->idx), 77);
}

static void
split_publish_honours_no_interrupt_without_event_idx(void)
{
	split_setup(128, 0);
	vhost_vq_push(&g_vq, 0, 1, 0);
	CU_ASSERT(vhost_vq_publish(&g_vq));
	savail()->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	vhost_vq_push(&g_vq, 1, 1, 0);
	CU_ASSERT(!vhost_vq_publish(&g_vq));
	CU_ASSERT_EQUAL(le16toh(sused()->idx), 2);
}

static void
split_publish_follows_used_event(void)
{
	uint16_t *used_event;

	split_setup(128, F_EVENT_IDX);
	used_event = &savail()->ring[128];
	/* NO_INTERRUPT is ignored with EVENT_IDX. */
	savail()->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	*used_event = htole16(0);
	vhost_vq_push(&g_vq, 0, 1, 0);
	CU_ASSERT(vhost_vq_publish(&g_vq)); /* idx 0 -> 1 crosses 0 */
	vhost_vq_push(&g_vq, 1, 1, 0);
	CU_ASSERT(!vhost_vq_publish(&g_vq)); /* 1 -> 2 does not */
	*used_event = htole16(4);
	vhost_vq_push(&g_vq, 2, 1, 0);
	vhost_vq_push(&g_vq, 3, 1, 0);
	CU_ASSERT(!vhost_vq_publish(&g_vq)); /* 2 -> 4: entry 4 not written yet */
	vhost_vq_push(&g_vq, 4, 1, 0);
	vhost_vq_push(&g_vq, 5, 1, 0);
	CU_ASSERT(vhost_vq_publish(&g_vq)); /* 4 -> 6 wrote entry 4 */
}

static void
split_publish_event_idx_wraps_at_16_bits(void)
{
	uint16_t *used_event;

	split_setup_base(128, F_EVENT_IDX, 65535);
	used_event = &savail()->ring[128];
	*used_event = htole16(65535);
	vhost_vq_push(&g_vq, 0, 1, 0);
	vhost_vq_push(&g_vq, 1, 1, 0);
	CU_ASSERT(vhost_vq_publish(&g_vq)); /* 65535 -> 1 wrote entry 65535 */
	CU_ASSERT_EQUAL(le16toh(sused()->idx), 1);

	split_setup_base(128, F_EVENT_IDX, 65535);
	*used_event = htole16(0);
	vhost_vq_push(&g_vq, 0, 1, 0);
	vhost_vq_push(&g_vq, 1, 1, 0);
	CU_ASSERT(vhost_vq_publish(&g_vq)); /* wrote entry 0 after the wrap */

	split_setup_base(128, F_EVENT_IDX, 65535);
	*used_event = htole16(1);
	vhost_vq_push(&g_vq, 0, 1, 0);
	vhost_vq_push(&g_vq, 1, 1, 0);
	CU_ASSERT(!vhost_vq_publish(&g_vq)); /* entry 1 comes next */

	split_setup_base(128, F_EVENT_IDX, 65535);
	*used_event = htole16(65534);
	vhost_vq_push(&g_vq, 0, 1, 0);
	vhost_vq_push(&g_vq, 1, 1, 0);
	CU_ASSERT(!vhost_vq_publish(&g_vq)); /* already past before this batch */
}

static void
split_kick_suppression_uses_used_flags_without_event_idx(void)
{
	split_setup(128, 0);
	vhost_vq_kick_disable(&g_vq);
	CU_ASSERT_EQUAL(le16toh(sused()->flags), VRING_USED_F_NO_NOTIFY);
	CU_ASSERT(!vhost_vq_kick_enable(&g_vq));
	CU_ASSERT_EQUAL(le16toh(sused()->flags), 0);
	/* A buffer the driver added while kicks were off: do not sleep. */
	vhost_vq_kick_disable(&g_vq);
	add_blk_chain(0);
	CU_ASSERT(vhost_vq_kick_enable(&g_vq));
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	CU_ASSERT(!vhost_vq_kick_enable(&g_vq));
}

static void
split_kick_suppression_uses_avail_event_with_event_idx(void)
{
	uint16_t *avail_event;

	split_setup_base(128, F_EVENT_IDX, 10);
	avail_event = (uint16_t *)&sused()->ring[128];
	vhost_vq_kick_disable(&g_vq);
	CU_ASSERT_EQUAL(le16toh(*avail_event), 9);
	CU_ASSERT_EQUAL(le16toh(sused()->flags), 0);
	CU_ASSERT(!vhost_vq_kick_enable(&g_vq));
	CU_ASSERT_EQUAL(le16toh(*avail_event), 10);
	add_blk_chain(0);
	CU_ASSERT(vhost_vq_kick_enable(&g_vq));
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	CU_ASSERT(!vhost_vq_kick_enable(&g_vq));
	CU_ASSERT_EQUAL(le16toh(*avail_event), 11);
}

/* ---- packed driver helpers ------------------------------------------------------------------- */

static struct vring_packed_desc *
pdesc(uint16_t i)
{
	return (struct vring_packed_desc *)hva(DESC_GPA) + i;
}

static struct vring_packed_desc_event *
driver_ev(void)
{
	return (struct vring_packed_desc_event *)hva(DRIVER_EV_GPA);
}

static struct vring_packed_desc_event *
device_ev(void)
{
	return (struct vring_packed_desc_event *)hva(DEVICE_EV_GPA);
}

static void
packed_setup(uint16_t size, uint64_t features)
{
	struct vhost_vq_params p = {
		.name = "vq_ut",
		.index = 1,
		.size = size,
		.features = features | F_PACKED,
		.avail_base = PACKED_EVENT_WRAP,
		.used_base = PACKED_EVENT_WRAP,
	};

	mem_setup();
	g_drv_slot = 0;
	g_drv_wrap = true;
	CU_ASSERT_EQUAL_FATAL(vhost_vq_init_packed(&g_vq, &p, pdesc(0), driver_ev(), device_ev()),
			      0);
}

struct pbuf {
	uint64_t addr;
	uint32_t len;
	uint16_t flags; /* WRITE, INDIRECT */
};

/* Makes a chain of n buffers available under buffer id, first descriptor's flags last. */
static void
packed_add(const struct pbuf *b, uint16_t n, uint16_t id)
{
	uint16_t first = g_drv_slot, first_flags = 0, i, flags;

	for (i = 0; i < n; i++) {
		struct vring_packed_desc *d = pdesc(g_drv_slot);

		flags = b[i].flags | (i + 1 < n ? VRING_DESC_F_NEXT : 0) |
			(g_drv_wrap ? PACKED_F_AVAIL : PACKED_F_USED);
		d->addr = htole64(b[i].addr);
		d->len = htole32(b[i].len);
		d->id = htole16(i + 1 == n ? id : 0xbeef);
		if (i == 0) {
			first_flags = flags;
		} else {
			d->flags = htole16(flags);
		}
		if (++g_drv_slot == g_vq.size) {
			g_drv_slot = 0;
			g_drv_wrap = !g_drv_wrap;
		}
	}
	pdesc(first)->flags = htole16(first_flags);
}

static void
packed_add_one(uint64_t addr, uint32_t len, uint16_t flags, uint16_t id)
{
	struct pbuf b = { addr, len, flags };

	packed_add(&b, 1, id);
}

static const struct pbuf g_blk[3] = {
	{ HDR_GPA, 16, 0 },
	{ DATA_GPA, 4096, VRING_DESC_F_WRITE },
	{ STATUS_GPA, 1, VRING_DESC_F_WRITE },
};

/* ---- packed: pop ----------------------------------------------------------------------------- */

static void
packed_init_rejects_bad_parameters(void)
{
	struct vhost_vq_params p = { .name = "vq_ut", .size = 100, .features = F_PACKED };
	struct vhost_vq vq;

	mem_setup();
	/* Packed queues need not be a power of two. */
	CU_ASSERT_EQUAL(vhost_vq_init_packed(&vq, &p, pdesc(0), driver_ev(), device_ev()), 0);
	p.avail_base = 100;
	CU_ASSERT_EQUAL(vhost_vq_init_packed(&vq, &p, pdesc(0), driver_ev(), device_ev()), -EINVAL);
	p.avail_base = 99 | PACKED_EVENT_WRAP;
	CU_ASSERT_EQUAL(vhost_vq_init_packed(&vq, &p, pdesc(0), driver_ev(), device_ev()), 0);
	CU_ASSERT_EQUAL(vhost_vq_get_avail_base(&vq), 99 | PACKED_EVENT_WRAP);
	p.size = 0;
	CU_ASSERT_EQUAL(vhost_vq_init_packed(&vq, &p, pdesc(0), driver_ev(), device_ev()), -EINVAL);
	p.size = 128;
	p.features = 0;
	CU_ASSERT_EQUAL(vhost_vq_init_packed(&vq, &p, pdesc(0), driver_ev(), device_ev()), -EINVAL);
	p.features = F_PACKED;
	CU_ASSERT_EQUAL(vhost_vq_init_packed(&vq, &p, pdesc(0), (void *)(hva(DRIVER_EV_GPA) + 2),
					     device_ev()),
			-EINVAL);
}

static void
packed_pop_empty_ring_returns_eagain(void)
{
	packed_setup(16, 0);
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), -EAGAIN);
	/* A descriptor marked for the other lap is not available. */
	pdesc(0)->flags = htole16(PACKED_F_USED);
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), -EAGAIN);
	pdesc(0)->flags = htole16(PACKED_F_AVAIL | PACKED_F_USED);
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), -EAGAIN);
}

static void
packed_pop_returns_chain_with_id_from_last_descriptor(void)
{
	packed_setup(16, 0);
	packed_add(g_blk, 3, 9);
	packed_add_one(DATA_GPA, 512, 0, 4);
	CU_ASSERT_EQUAL_FATAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	assert_blk_chain(9);
	CU_ASSERT_EQUAL(g_chain.ndescs, 3);
	CU_ASSERT_EQUAL(g_chain.pos, 0);
	CU_ASSERT_EQUAL_FATAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	CU_ASSERT_EQUAL(g_chain.id, 4);
	CU_ASSERT_EQUAL(g_chain.ndescs, 1);
	CU_ASSERT_EQUAL(g_chain.pos, 3);
	CU_ASSERT_EQUAL(g_chain.nreadable, 1);
	CU_ASSERT_EQUAL(g_chain.read_len, 512);
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), -EAGAIN);
}

static void
packed_pop_and_push_flip_wrap_counters_each_lap(void)
{
	uint16_t lap, i, want;

	packed_setup(4, 0);
	for (lap = 0; lap < 3; lap++) {
		for (i = 0; i < 4; i++) {
			packed_add_one(DATA_GPA, 512, VRING_DESC_F_WRITE, i);
		}
		for (i = 0; i < 4; i++) {
			CU_ASSERT_EQUAL_FATAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
			CU_ASSERT_EQUAL(g_chain.id, i);
			vhost_vq_push(&g_vq, g_chain.id, g_chain.ndescs, i == 0 ? 0 : 100);
		}
		CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), -EAGAIN);
		CU_ASSERT(vhost_vq_publish(&g_vq));
		/* Lap 0 is used with wrap 1 (AVAIL and USED set), lap 1 with 0, and so on. */
		want = (lap & 1) ? 0 : (PACKED_F_AVAIL | PACKED_F_USED);
		for (i = 0; i < 4; i++) {
			CU_ASSERT_EQUAL(le16toh(pdesc(i)->flags),
					want | (i == 0 ? 0 : VRING_DESC_F_WRITE));
			CU_ASSERT_EQUAL(le16toh(pdesc(i)->id), i);
			CU_ASSERT_EQUAL(le32toh(pdesc(i)->len), i == 0 ? 0 : 100);
		}
		CU_ASSERT_EQUAL(vhost_vq_get_avail_base(&g_vq), (lap & 1) ? PACKED_EVENT_WRAP : 0);
		CU_ASSERT_EQUAL(vhost_vq_get_used_base(&g_vq), (lap & 1) ? PACKED_EVENT_WRAP : 0);
	}
}

static void
packed_pop_chain_across_the_ring_end(void)
{
	packed_setup(4, 0);
	packed_add_one(DATA_GPA, 512, 0, 0);
	packed_add_one(DATA_GPA, 512, 0, 1);
	packed_add_one(DATA_GPA, 512, 0, 2);
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	vhost_vq_push(&g_vq, 0, 1, 0);
	vhost_vq_push(&g_vq, 1, 1, 0);
	vhost_vq_push(&g_vq, 2, 1, 0);
	vhost_vq_publish(&g_vq);
	/* Slots 3 and 0: the second descriptor is in the next lap. */
	packed_add(g_blk, 2, 3);
	CU_ASSERT_EQUAL_FATAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	CU_ASSERT_EQUAL(g_chain.id, 3);
	CU_ASSERT_EQUAL(g_chain.ndescs, 2);
	CU_ASSERT_EQUAL(g_chain.niov, 2);
	CU_ASSERT_EQUAL(vhost_vq_get_avail_base(&g_vq), 1);
	vhost_vq_push(&g_vq, 3, 2, 4096);
	CU_ASSERT(vhost_vq_publish(&g_vq));
	/* One used descriptor at slot 3 with the first lap's wrap, then the used ring wraps. */
	CU_ASSERT_EQUAL(le16toh(pdesc(3)->flags),
			PACKED_F_AVAIL | PACKED_F_USED | VRING_DESC_F_WRITE);
	CU_ASSERT_EQUAL(le16toh(pdesc(3)->id), 3);
	CU_ASSERT_EQUAL(vhost_vq_get_used_base(&g_vq), 1);
}

static void
packed_pop_breaks_queue_on_buffer_id_beyond_size(void)
{
	packed_setup(16, 0);
	packed_add(g_blk, 3, 16);
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), -EIO);
	CU_ASSERT_EQUAL(vhost_vq_broken_reason(&g_vq), VHOST_VQ_ERR_ID_RANGE);
	CU_ASSERT_EQUAL(vhost_vq_get_avail_base(&g_vq), PACKED_EVENT_WRAP);
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), -EIO);
}

static void
packed_pop_breaks_queue_on_chain_longer_than_ring(void)
{
	uint16_t i;

	packed_setup(4, 0);
	/* Every slot says NEXT: the walk would go round the ring. */
	for (i = 0; i < 4; i++) {
		pdesc(i)->addr = htole64(DATA_GPA);
		pdesc(i)->len = htole32(16);
		pdesc(i)->flags = htole16(VRING_DESC_F_NEXT | PACKED_F_AVAIL);
	}
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), -EIO);
	CU_ASSERT_EQUAL(vhost_vq_broken_reason(&g_vq), VHOST_VQ_ERR_CHAIN_LEN);
}

static void
packed_pop_accepts_chain_as_long_as_the_ring(void)
{
	struct pbuf b[8];
	uint16_t i;

	packed_setup(8, 0);
	for (i = 0; i < 8; i++) {
		b[i] = (struct pbuf){ R2_GPA + i * 16u, 16, i < 4 ? 0 : VRING_DESC_F_WRITE };
	}
	packed_add(b, 8, 7);
	CU_ASSERT_EQUAL_FATAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	CU_ASSERT_EQUAL(g_chain.ndescs, 8);
	CU_ASSERT_EQUAL(g_chain.nreadable, 4);
	CU_ASSERT_EQUAL(g_chain.niov, 8);
}

static void
packed_pop_rejects_malformed_buffers_with_known_id(void)
{
	struct pbuf b[3];

	packed_setup(16, 0);
	memcpy(b, g_blk, sizeof(b));
	b[1].addr = GAP_GPA;
	packed_add(b, 3, 2);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_ADDR, 2) == hva(STATUS_GPA));
	CU_ASSERT_EQUAL(g_chain.ndescs, 3);
	memcpy(b, g_blk, sizeof(b));
	b[2].flags = 0; /* readable after writable */
	packed_add(b, 3, 5);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_DIRECTION, 5) == NULL);
	/* The queue goes on; the malformed chains are returned like any other. */
	vhost_vq_push(&g_vq, 2, 3, 0);
	vhost_vq_push(&g_vq, 5, 3, 0);
	packed_add(g_blk, 3, 1);
	CU_ASSERT_EQUAL_FATAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	assert_blk_chain(1);
	CU_ASSERT_EQUAL(g_chain.pos, 6);
}

static void
packed_pop_reads_indirect_table_sequentially(void)
{
	struct vring_packed_desc *t = (struct vring_packed_desc *)hva(TABLE_GPA);
	unsigned int i;

	packed_setup(16, F_INDIRECT);
	for (i = 0; i < 3; i++) {
		t[i].addr = htole64(g_blk[i].addr);
		t[i].len = htole32(g_blk[i].len);
		/* NEXT and ids inside the table are reserved and ignored. */
		t[i].flags = htole16(g_blk[i].flags | VRING_DESC_F_NEXT);
		t[i].id = htole16(0xffff);
	}
	packed_add_one(TABLE_GPA, 3 * 16, VRING_DESC_F_INDIRECT, 11);
	CU_ASSERT_EQUAL_FATAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	assert_blk_chain(11);
	CU_ASSERT_EQUAL(g_chain.ndescs, 1);
}

static void
packed_pop_rejects_bad_indirect_use(void)
{
	struct vring_packed_desc *t = (struct vring_packed_desc *)hva(TABLE_GPA);
	struct pbuf b[2] = {
		{ TABLE_GPA, 16, VRING_DESC_F_INDIRECT },
		{ STATUS_GPA, 1, VRING_DESC_F_WRITE },
	};

	packed_setup(16, F_INDIRECT);
	t[0].addr = htole64(DATA_GPA);
	t[0].len = htole32(16);
	/* Indirect chained with NEXT: the id is still found in the last descriptor. */
	packed_add(b, 2, 6);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_INDIRECT_POS, 6) == hva(STATUS_GPA));
	CU_ASSERT_EQUAL(g_chain.ndescs, 2);
	/* Indirect after another descriptor. */
	b[0] = (struct pbuf){ HDR_GPA, 16, 0 };
	b[1] = (struct pbuf){ TABLE_GPA, 16, VRING_DESC_F_INDIRECT };
	packed_add(b, 2, 7);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_INDIRECT_POS, 7) == NULL);
	packed_add_one(TABLE_GPA, 24, VRING_DESC_F_INDIRECT, 8);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_INDIRECT_LEN, 8) == NULL);
	packed_add_one(TABLE_GPA, 0, VRING_DESC_F_INDIRECT, 9);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_INDIRECT_LEN, 9) == NULL);
	packed_add_one(GAP_GPA, 16, VRING_DESC_F_INDIRECT, 10);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_INDIRECT_ADDR, 10) == NULL);

	packed_setup(16, 0);
	packed_add_one(TABLE_GPA, 16, VRING_DESC_F_INDIRECT, 1);
	CU_ASSERT(pop_malformed(VHOST_VQ_ERR_INDIRECT_FEATURE, 1) == NULL);
}

/* ---- packed: used descriptors and notifications ---------------------------------------------- */

static void
packed_publish_writes_first_used_flags_last(void)
{
	uint16_t avail_flags = PACKED_F_AVAIL; /* driver lap 0 */

	packed_setup(16, 0);
	packed_add_one(DATA_GPA, 512, VRING_DESC_F_WRITE, 0);
	packed_add_one(DATA_GPA, 512, VRING_DESC_F_WRITE, 1);
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	vhost_vq_push(&g_vq, 1, 1, 512);
	vhost_vq_push(&g_vq, 0, 1, 0);
	/* Before publish: ids and lengths written, slot 0 still looks available. */
	CU_ASSERT_EQUAL(le16toh(pdesc(0)->id), 1);
	CU_ASSERT_EQUAL(le32toh(pdesc(0)->len), 512);
	CU_ASSERT_EQUAL(le16toh(pdesc(0)->flags), avail_flags | VRING_DESC_F_WRITE);
	CU_ASSERT_EQUAL(le16toh(pdesc(1)->flags), PACKED_F_AVAIL | PACKED_F_USED);
	CU_ASSERT(vhost_vq_publish(&g_vq));
	CU_ASSERT_EQUAL(le16toh(pdesc(0)->flags),
			PACKED_F_AVAIL | PACKED_F_USED | VRING_DESC_F_WRITE);
	CU_ASSERT(!vhost_vq_publish(&g_vq));
}

static void
packed_publish_follows_driver_event_flags(void)
{
	packed_setup(16, 0);
	vhost_vq_push(&g_vq, 0, 1, 0);
	CU_ASSERT(vhost_vq_publish(&g_vq)); /* ENABLE (zeroed) */
	driver_ev()->flags = htole16(VRING_PACKED_EVENT_FLAG_DISABLE);
	vhost_vq_push(&g_vq, 1, 1, 0);
	CU_ASSERT(!vhost_vq_publish(&g_vq));
	/* DESC without EVENT_IDX negotiated: notify rather than risk a lost interrupt. */
	driver_ev()->flags = htole16(VRING_PACKED_EVENT_FLAG_DESC);
	driver_ev()->off_wrap = htole16(15);
	vhost_vq_push(&g_vq, 2, 1, 0);
	CU_ASSERT(vhost_vq_publish(&g_vq));
}

static void
packed_publish_follows_event_offset_and_wrap(void)
{
	uint16_t i;

	packed_setup(8, F_EVENT_IDX);
	driver_ev()->flags = htole16(VRING_PACKED_EVENT_FLAG_DESC);
	driver_ev()->off_wrap = htole16(1 | PACKED_EVENT_WRAP);
	vhost_vq_push(&g_vq, 0, 1, 0);
	CU_ASSERT(!vhost_vq_publish(&g_vq)); /* wrote slot 0 */
	vhost_vq_push(&g_vq, 1, 1, 0);
	vhost_vq_push(&g_vq, 2, 1, 0);
	CU_ASSERT(vhost_vq_publish(&g_vq)); /* wrote slots 1, 2 */
	/* A slot of the next lap (wrap 0) is not reached yet. */
	driver_ev()->off_wrap = htole16(3);
	vhost_vq_push(&g_vq, 3, 1, 0);
	CU_ASSERT(!vhost_vq_publish(&g_vq));
	for (i = 4; i < 6; i++) {
		vhost_vq_push(&g_vq, i, 1, 0);
	}
	CU_ASSERT(!vhost_vq_publish(&g_vq)); /* slots 4, 5 */
	/* Slots 6, 7 of lap 1 and then slot 0 of lap 2 (wrap 0), as one chain of 3. */
	driver_ev()->off_wrap = htole16(7 | PACKED_EVENT_WRAP);
	vhost_vq_push(&g_vq, 6, 3, 0);
	CU_ASSERT(vhost_vq_publish(&g_vq));
	CU_ASSERT_EQUAL(vhost_vq_get_used_base(&g_vq), 1);
	driver_ev()->off_wrap = htole16(0);
	vhost_vq_push(&g_vq, 7, 1, 0);
	CU_ASSERT(!vhost_vq_publish(&g_vq)); /* slot 1 of lap 2; slot 0 was before */
	driver_ev()->off_wrap = htole16(2);
	vhost_vq_push(&g_vq, 0, 1, 0);
	CU_ASSERT(vhost_vq_publish(&g_vq)); /* slot 2, wrap 0 */
}

static void
packed_kick_suppression_uses_device_event_flags(void)
{
	packed_setup(16, 0);
	vhost_vq_kick_disable(&g_vq);
	CU_ASSERT_EQUAL(le16toh(device_ev()->flags), VRING_PACKED_EVENT_FLAG_DISABLE);
	CU_ASSERT(!vhost_vq_kick_enable(&g_vq));
	CU_ASSERT_EQUAL(le16toh(device_ev()->flags), VRING_PACKED_EVENT_FLAG_ENABLE);
	vhost_vq_kick_disable(&g_vq);
	packed_add(g_blk, 3, 0);
	CU_ASSERT(vhost_vq_kick_enable(&g_vq));
	CU_ASSERT_EQUAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	CU_ASSERT(!vhost_vq_kick_enable(&g_vq));
}

static void
ring_sizes_match_the_spec(void)
{
	uint64_t d, drv, dev;

	vhost_vq_ring_sizes(false, 256, 0, &d, &drv, &dev);
	CU_ASSERT(d == 4096 && drv == 4 + 512 && dev == 4 + 2048);
	vhost_vq_ring_sizes(false, 256, F_EVENT_IDX, &d, &drv, &dev);
	CU_ASSERT(d == 4096 && drv == 6 + 512 && dev == 6 + 2048);
	vhost_vq_ring_sizes(true, 256, F_EVENT_IDX, &d, &drv, &dev);
	CU_ASSERT(d == 4096 && drv == 4 && dev == 4);
	CU_ASSERT_STRING_EQUAL(vhost_vq_err_str(VHOST_VQ_ERR_LOOP),
			       "descriptor loop (chain longer than its table)");
	CU_ASSERT_STRING_EQUAL(vhost_vq_err_str(VHOST_VQ_ERR_COUNT), "unknown error");
}

/* ---- random rings ---------------------------------------------------------------------------- */

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;

static uint32_t
rnd(void)
{
	g_rng ^= g_rng << 13;
	g_rng ^= g_rng >> 7;
	g_rng ^= g_rng << 17;
	return (uint32_t)(g_rng >> 16);
}

/* Guest addresses that hit region edges, the gap and the top of the address space. */
static uint64_t
rnd_addr(void)
{
	static const uint64_t base[] = {
		R0_GPA,           R1_GPA, R2_GPA, GAP_GPA, R1_GPA + REG_SIZE, R2_GPA + REG_SIZE,
		UINT64_MAX - 0xff
	};

	return base[rnd() % VT_COUNTOF(base)] +
	       (rnd() % 3 == 0 ? -(uint64_t)(rnd() % 64) : rnd() % REG_SIZE);
}

static uint32_t
rnd_len(void)
{
	switch (rnd() % 4) {
	case 0:
		return rnd() % 4;
	case 1:
		return rnd() % 256;
	case 2:
		return rnd() % (2 * REG_SIZE);
	default:
		return rnd();
	}
}

static void
rnd_desc(uint8_t *d, uint16_t limit)
{
	struct vring_desc x = {
		.addr = htole64(rnd() % 4 == 0 ? R2_GPA + 16 * (rnd() % 8) : rnd_addr()),
		.len = htole32(rnd() % 4 == 0 ? 16 * (rnd() % 6) : rnd_len()),
		.flags = htole16(rnd() % 8),
		.next = htole16(rnd() % (limit + 2)),
	};

	memcpy(d, &x, sizeof(x));
}

static bool
iov_in_memory(const struct iovec *iov)
{
	int i;

	for (i = 0; i < 3; i++) {
		uintptr_t off = (uintptr_t)iov->iov_base - (uintptr_t)g_reg[i];

		if (off < REG_SIZE && iov->iov_len > 0 && iov->iov_len <= REG_SIZE - off) {
			return true;
		}
	}
	return false;
}

/* Checks what pop returned: only the documented codes, and sane iovecs for a chain. */
static void
check_random_pop(int rc, uint16_t size)
{
	uint64_t rlen = 0, wlen = 0;
	uint32_t i;

	CU_ASSERT(rc == 0 || rc == -EAGAIN || rc == -EINVAL || rc == -EIO);
	if (rc == -EINVAL) {
		CU_ASSERT(g_chain.id < size);
		CU_ASSERT(g_chain.err > VHOST_VQ_OK && g_chain.err < VHOST_VQ_ERR_AVAIL_IDX);
		CU_ASSERT(g_chain.err_tail == NULL ||
			  iov_in_memory(&(struct iovec){ g_chain.err_tail, 1 }));
	}
	if (rc != 0) {
		return;
	}
	CU_ASSERT(g_chain.id < size);
	CU_ASSERT(g_chain.niov >= 1 && g_chain.niov <= g_chain.iov_max);
	CU_ASSERT(g_chain.nreadable <= g_chain.niov);
	for (i = 0; i < g_chain.niov; i++) {
		CU_ASSERT(iov_in_memory(&g_iov[i]));
		*(i < g_chain.nreadable ? &rlen : &wlen) += g_iov[i].iov_len;
	}
	CU_ASSERT(rlen == g_chain.read_len && wlen == g_chain.write_len);
}

static void
split_pop_keeps_every_iovec_inside_guest_memory_on_random_rings(void)
{
	uint32_t round, i;
	int rc, pops;

	for (round = 0; round < 400; round++) {
		split_setup(16, F_INDIRECT);
		g_chain.iov_max = 1 + rnd() % 32;
		for (i = 0; i < 16; i++) {
			rnd_desc((uint8_t *)sdesc(i), 16);
		}
		for (i = 0; i < 8; i++) {
			rnd_desc(hva(R2_GPA) + 16 * i, 8);
		}
		for (i = 0; i < 17; i++) {
			savail()->ring[i] = htole16(rnd() % 20);
		}
		savail()->idx = htole16(rnd() % 4 == 0 ? rnd() : rnd() % 17);
		for (pops = 0; pops < 40; pops++) {
			rc = vhost_vq_pop(&g_vq, &g_mem, &g_chain);
			check_random_pop(rc, 16);
			if (rc == -EAGAIN || rc == -EIO) {
				break;
			}
		}
		CU_ASSERT(pops < 40);
	}
	g_chain.iov_max = IOV_CAP;
}

static void
packed_pop_keeps_every_iovec_inside_guest_memory_on_random_rings(void)
{
	uint32_t round, i;
	int rc, pops;

	for (round = 0; round < 400; round++) {
		packed_setup(12, F_INDIRECT);
		g_chain.iov_max = 1 + rnd() % 32;
		for (i = 0; i < 12; i++) {
			rnd_desc((uint8_t *)pdesc(i), 16);
			/* next is the id here; flags get random AVAIL/USED bits too. */
			pdesc(i)->flags |= htole16(rnd() % 2 ? PACKED_F_AVAIL : 0);
			pdesc(i)->flags |= htole16(rnd() % 4 == 0 ? PACKED_F_USED : 0);
		}
		for (i = 0; i < 8; i++) {
			rnd_desc(hva(R2_GPA) + 16 * i, 8);
		}
		for (pops = 0; pops < 40; pops++) {
			rc = vhost_vq_pop(&g_vq, &g_mem, &g_chain);
			check_random_pop(rc, 12);
			if (rc == -EAGAIN || rc == -EIO) {
				break;
			}
		}
		CU_ASSERT(pops < 40);
	}
	g_chain.iov_max = IOV_CAP;
}

/* ---- dirty logging of ring stores ------------------------------------------------------------ */

/* A bitmap for guest-physical 0 .. 2 MiB (512 pages). */
static uint8_t g_logbits[64];
static struct vhost_log g_vlog = { .refs = 1, .bits = g_logbits, .size = sizeof(g_logbits) };

static uint32_t
log_count(void)
{
	uint32_t n = 0;

	for (size_t i = 0; i < sizeof(g_logbits); i++) {
		n += (uint32_t)__builtin_popcount(g_logbits[i]);
	}
	return n;
}

static bool
log_page(uint64_t page)
{
	return (g_logbits[page / 8] >> (page % 8)) & 1;
}

static void
split_log_marks_used_element_and_idx_at_log_guest_addr(void)
{
	/*
	 * The front end's log_guest_addr stands for the used ring: 4 bytes before a page end, so
	 * flags and idx are on page 1 and element 0 on page 2.
	 */
	const uint64_t log_gpa = 0x2000 - 4;

	split_setup(8, 0);
	vhost_vq_set_log(&g_vq, &g_vlog, log_gpa, 0);
	add_blk_chain(0);
	CU_ASSERT_EQUAL_FATAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	memset(g_logbits, 0, sizeof(g_logbits));
	vhost_vq_push(&g_vq, g_chain.id, g_chain.ndescs, 4097);
	CU_ASSERT_TRUE(log_page(2)); /* the element */
	CU_ASSERT_EQUAL(log_count(), 1);
	memset(g_logbits, 0, sizeof(g_logbits));
	CU_ASSERT_TRUE(vhost_vq_publish(&g_vq));
	CU_ASSERT_TRUE(log_page(1)); /* used->idx */
	CU_ASSERT_EQUAL(log_count(), 1);
	/* Kick suppression writes used->flags: logged too. */
	memset(g_logbits, 0, sizeof(g_logbits));
	vhost_vq_kick_disable(&g_vq);
	CU_ASSERT_TRUE(log_page(1));
	CU_ASSERT_EQUAL(log_count(), 1);
}

static void
split_without_log_marks_nothing(void)
{
	split_setup(8, F_EVENT_IDX);
	memset(g_logbits, 0, sizeof(g_logbits));
	vhost_vq_set_log(&g_vq, &g_vlog, USED_GPA, 0);
	vhost_vq_set_log(&g_vq, NULL, USED_GPA, 0); /* logging switched off again */
	add_blk_chain(0);
	CU_ASSERT_EQUAL_FATAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	vhost_vq_push(&g_vq, g_chain.id, g_chain.ndescs, 4097);
	vhost_vq_publish(&g_vq);
	vhost_vq_kick_enable(&g_vq);
	vhost_vq_kick_disable(&g_vq);
	CU_ASSERT_EQUAL(log_count(), 0);
	CU_ASSERT_EQUAL(le16toh(sused()->idx), 1);
}

static void
packed_log_marks_the_descriptors_written_back(void)
{
	/* The descriptor ring as the log sees it: slot 0 ends a page, slot 1 starts the next. */
	const uint64_t ring_gpa = 0x3000 - sizeof(struct vring_packed_desc);

	packed_setup(16, 0);
	vhost_vq_set_log(&g_vq, &g_vlog, ring_gpa, 0x7000);
	packed_add_one(DATA_GPA, 512, VRING_DESC_F_WRITE, 5);
	packed_add_one(DATA_GPA, 512, VRING_DESC_F_WRITE, 6);
	memset(g_logbits, 0, sizeof(g_logbits));
	CU_ASSERT_EQUAL_FATAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	vhost_vq_push(&g_vq, g_chain.id, g_chain.ndescs, 512);
	CU_ASSERT_EQUAL_FATAL(vhost_vq_pop(&g_vq, &g_mem, &g_chain), 0);
	vhost_vq_push(&g_vq, g_chain.id, g_chain.ndescs, 512);
	CU_ASSERT_TRUE(log_page(2)); /* slot 0: id and len */
	CU_ASSERT_TRUE(log_page(3)); /* slot 1: id, len and flags */
	CU_ASSERT_EQUAL(log_count(), 2);
	memset(g_logbits, 0, sizeof(g_logbits));
	vhost_vq_publish(&g_vq); /* slot 0's flags, last */
	CU_ASSERT_TRUE(log_page(2));
	CU_ASSERT_EQUAL(log_count(), 1);
	CU_ASSERT_EQUAL(le16toh(pdesc(0)->id), 5);
	/* The device event area. */
	memset(g_logbits, 0, sizeof(g_logbits));
	vhost_vq_kick_disable(&g_vq);
	CU_ASSERT_TRUE(log_page(7));
	CU_ASSERT_EQUAL(log_count(), 1);
}

static int
suite_init(void)
{
	int i;

	for (i = 0; i < 3; i++) {
		g_reg[i] = aligned_alloc(4096, REG_SIZE);
		if (g_reg[i] == NULL) {
			return -1;
		}
	}
	return 0;
}

static int
suite_fini(void)
{
	int i;

	for (i = 0; i < 3; i++) {
		free(g_reg[i]);
	}
	return 0;
}

int
main(void)
{
	CU_pSuite mem, split, packed;
	unsigned int failures;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	mem = CU_add_suite("vq_mem", suite_init, suite_fini);
	CU_ADD_TEST(mem, mem_init_rejects_bad_tables);
	CU_ADD_TEST(mem, mem_translate_maps_range_inside_one_region);
	CU_ADD_TEST(mem, mem_translate_splits_range_across_adjacent_regions);
	CU_ADD_TEST(mem, mem_translate_merges_regions_contiguous_in_host_memory);
	CU_ADD_TEST(mem, mem_translate_rejects_ranges_outside_memory);
	CU_ADD_TEST(mem, mem_translate_rejects_wrapping_and_empty_ranges);
	CU_ADD_TEST(mem, mem_hint_never_reaches_a_removed_region);
	CU_ADD_TEST(mem, mem_to_host_requires_one_region);
	CU_ADD_TEST(mem, ring_sizes_match_the_spec);

	split = CU_add_suite("vq_split", suite_init, suite_fini);
	CU_ADD_TEST(split, split_init_rejects_bad_parameters);
	CU_ADD_TEST(split, split_pop_empty_queue_returns_eagain);
	CU_ADD_TEST(split, split_pop_returns_direct_chain_with_directions_and_totals);
	CU_ADD_TEST(split, split_pop_follows_indirect_table_after_direct_descriptors);
	CU_ADD_TEST(split, split_pop_splits_buffer_spanning_two_regions);
	CU_ADD_TEST(split, split_pop_accepts_chain_as_long_as_the_queue);
	CU_ADD_TEST(split, split_pop_accepts_indirect_table_of_1024_entries);
	CU_ADD_TEST(split, split_pop_handles_avail_idx_wraparound);
	CU_ADD_TEST(split, split_pop_accepts_a_full_ring);
	CU_ADD_TEST(split, split_pop_rejects_address_outside_memory_and_reports_status_byte);
	CU_ADD_TEST(split, split_pop_rejects_address_length_overflow);
	CU_ADD_TEST(split, split_pop_detects_descriptor_loop);
	CU_ADD_TEST(split, split_pop_detects_loop_inside_indirect_table);
	CU_ADD_TEST(split, split_pop_rejects_next_index_out_of_range);
	CU_ADD_TEST(split, split_pop_rejects_nested_indirect);
	CU_ADD_TEST(split, split_pop_rejects_indirect_with_next);
	CU_ADD_TEST(split, split_pop_rejects_indirect_without_feature);
	CU_ADD_TEST(split, split_pop_rejects_bad_indirect_tables);
	CU_ADD_TEST(split, split_pop_rejects_readable_after_writable);
	CU_ADD_TEST(split, split_pop_rejects_zero_length_buffer);
	CU_ADD_TEST(split, split_pop_rejects_more_segments_than_capacity);
	CU_ADD_TEST(split, split_pop_rejects_total_length_of_4gib);
	CU_ADD_TEST(split, split_pop_breaks_queue_when_avail_idx_jumps);
	CU_ADD_TEST(split, split_pop_breaks_queue_on_head_index_beyond_size);
	CU_ADD_TEST(split, split_push_fills_used_ring_and_publish_exposes_idx);
	CU_ADD_TEST(split, split_publish_honours_no_interrupt_without_event_idx);
	CU_ADD_TEST(split, split_publish_follows_used_event);
	CU_ADD_TEST(split, split_publish_event_idx_wraps_at_16_bits);
	CU_ADD_TEST(split, split_kick_suppression_uses_used_flags_without_event_idx);
	CU_ADD_TEST(split, split_kick_suppression_uses_avail_event_with_event_idx);
	CU_ADD_TEST(split, split_pop_keeps_every_iovec_inside_guest_memory_on_random_rings);
	CU_ADD_TEST(split, split_log_marks_used_element_and_idx_at_log_guest_addr);
	CU_ADD_TEST(split, split_without_log_marks_nothing);

	packed = CU_add_suite("vq_packed", suite_init, suite_fini);
	CU_ADD_TEST(packed, packed_init_rejects_bad_parameters);
	CU_ADD_TEST(packed, packed_pop_empty_ring_returns_eagain);
	CU_ADD_TEST(packed, packed_pop_returns_chain_with_id_from_last_descriptor);
	CU_ADD_TEST(packed, packed_pop_and_push_flip_wrap_counters_each_lap);
	CU_ADD_TEST(packed, packed_pop_chain_across_the_ring_end);
	CU_ADD_TEST(packed, packed_pop_breaks_queue_on_buffer_id_beyond_size);
	CU_ADD_TEST(packed, packed_pop_breaks_queue_on_chain_longer_than_ring);
	CU_ADD_TEST(packed, packed_pop_accepts_chain_as_long_as_the_ring);
	CU_ADD_TEST(packed, packed_pop_rejects_malformed_buffers_with_known_id);
	CU_ADD_TEST(packed, packed_pop_reads_indirect_table_sequentially);
	CU_ADD_TEST(packed, packed_pop_rejects_bad_indirect_use);
	CU_ADD_TEST(packed, packed_publish_writes_first_used_flags_last);
	CU_ADD_TEST(packed, packed_publish_follows_driver_event_flags);
	CU_ADD_TEST(packed, packed_publish_follows_event_offset_and_wrap);
	CU_ADD_TEST(packed, packed_kick_suppression_uses_device_event_flags);
	CU_ADD_TEST(packed, packed_pop_keeps_every_iovec_inside_guest_memory_on_random_rings);
	CU_ADD_TEST(packed, packed_log_marks_the_descriptors_written_back);

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failures != 0;
}
