/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Raid bdevs: raid0 and concat geometry at strip and leg boundaries, iovec cutting, the
 * superblock format, and raid1 through the bdev layer on one reactor over memory legs (a small
 * module here that counts I/Os and fails writes on demand): read balancing, degraded writes, a
 * failing leg leaving the array, and a rebuild with writes to the window being copied.
 */
#include <CUnit/Basic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bdev/raid/bdev_raid.c"
#include "lib/bdev/raid/bdev_raid_io.c"
#include "lib/bdev/raid/bdev_raid_math.c"
#include "lib/bdev/raid/bdev_raid_rebuild.c"
#include "lib/bdev/raid/bdev_raid_sb.c"

#include "test/unit/common/ut_bdev.h"
#include "test/unit/common/ut_main.h"
#include "test/unit/common/ut_reactor.h"

#define BS 512
#define LEG_BLOCKS 8192 /* 4 MiB: four rebuild windows */

/* ---- memory legs ----------------------------------------------------------------------------- */

struct mem_leg {
	struct vt_bdev bdev;
	uint8_t *data;
	int reads, writes;
	bool fail_writes, fail_reads;
	bool hold_writes; /* writes wait in held[] until mem_release() */
	struct vt_bdev_io *held[8];
	int nheld;
};

static struct vt_bdev_module g_mem_module = { .name = "ut_mem" };

static int
mem_destruct(void *ctx)
{
	struct mem_leg *m = ctx;

	free(m->data);
	free(m->bdev.name);
	free(m);
	return 0;
}

static void
mem_submit(void *ch, struct vt_bdev_io *io)
{
	struct mem_leg *m = io->bdev->ctxt;
	uint8_t *p = m->data + io->offset_blocks * BS;
	size_t len = io->num_blocks * BS;

	(void)ch;
	switch (io->type) {
	case VT_BDEV_IO_TYPE_READ:
		m->reads++;
		if (m->fail_reads) {
			vt_bdev_io_complete_errno(io, EIO);
			return;
		}
		vt_iov_from_buf(io->iovs, io->iovcnt, p, len);
		break;
	case VT_BDEV_IO_TYPE_WRITE:
		m->writes++;
		if (m->fail_writes) {
			vt_bdev_io_complete_errno(io, EIO);
			return;
		}
		if (m->hold_writes) {
			CU_ASSERT_FATAL(m->nheld < 8);
			m->held[m->nheld++] = io;
			return;
		}
		vt_iov_to_buf(io->iovs, io->iovcnt, p, len);
		break;
	default:
		break;
	}
	vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_SUCCESS);
}

/* Applies and completes held write i (the leg chooses the order in which writes land). */
static void
mem_release(struct mem_leg *m, int i)
{
	struct vt_bdev_io *io = m->held[i];

	CU_ASSERT_FATAL(i < m->nheld);
	m->nheld--;
	memmove(&m->held[i], &m->held[i + 1], (size_t)(m->nheld - i) * sizeof(io));
	vt_iov_to_buf(io->iovs, io->iovcnt, m->data + io->offset_blocks * BS, io->num_blocks * BS);
	vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_SUCCESS);
}

static bool
mem_supported(void *ctx, enum vt_bdev_io_type type)
{
	(void)ctx;
	return type == VT_BDEV_IO_TYPE_READ || type == VT_BDEV_IO_TYPE_WRITE ||
	       type == VT_BDEV_IO_TYPE_FLUSH;
}

static int g_mem_ch;

static void *
mem_create_channel(void *ctx)
{
	(void)ctx;
	return &g_mem_ch;
}

static void
mem_destroy_channel(void *ctx, void *ch)
{
	(void)ctx;
	(void)ch;
}

static const struct vt_bdev_fn_table g_mem_fn = {
	.destruct = mem_destruct,
	.submit_request = mem_submit,
	.io_type_supported = mem_supported,
	.create_channel = mem_create_channel,
	.destroy_channel = mem_destroy_channel,
};

static struct mem_leg *
mem_create(const char *name, uint64_t blocks)
{
	struct mem_leg *m = calloc(1, sizeof(*m));

	CU_ASSERT_FATAL(m != NULL);
	m->data = calloc(blocks, BS);
	m->bdev.name = strdup(name);
	m->bdev.blocklen = BS;
	m->bdev.blockcnt = blocks;
	m->bdev.ctxt = m;
	m->bdev.fn_table = &g_mem_fn;
	m->bdev.module = &g_mem_module;
	CU_ASSERT_FATAL(vt_bdev_register(&m->bdev) == 0);
	return m;
}

static void
mem_delete(struct mem_leg *m)
{
	int done = 0;

	vt_bdev_unregister(&m->bdev, ut_delete_cb, &done);
	CU_ASSERT(ut_poll_until(&done, 1));
}

/* ---- the raid under test --------------------------------------------------------------------- */

struct ut_raid {
	struct raid_bdev *raid;
	struct vt_bdev_desc *desc;
	struct vt_bdev_channel *ch;
};

static void
ut_event(enum vt_bdev_event_type type, struct vt_bdev *bdev, void *ctx)
{
	(void)type;
	(void)bdev;
	(void)ctx;
}

static void
ut_raid_create(struct ut_raid *u, const char *name, enum raid_level level, uint32_t strip_kb,
	       char **legs, uint8_t n)
{
	memset(u, 0, sizeof(*u));
	CU_ASSERT_FATAL(raid_create(name, level, strip_kb, legs, n, NULL, false, &u->raid) == 0);
	CU_ASSERT_FATAL(u->raid->registered);
	CU_ASSERT_FATAL(vt_bdev_open(name, true, ut_event, NULL, &u->desc) == 0);
	u->ch = vt_bdev_get_io_channel(u->desc);
	CU_ASSERT_FATAL(u->ch != NULL);
}

static void
ut_raid_delete(struct ut_raid *u)
{
	int done = 0;

	vt_bdev_put_io_channel(u->ch);
	vt_bdev_close(u->desc);
	CU_ASSERT(raid_delete(u->raid, ut_delete_cb, &done) == 0);
	CU_ASSERT(ut_poll_until(&done, 1));
}

static void
ut_rw(struct ut_raid *u, bool write, void *buf, uint64_t off, uint64_t num, bool want_ok)
{
	struct iovec iov = { buf, num * BS };
	struct ut_result r = { 0 };
	int rc;

	if (write) {
		rc = vt_bdev_writev_blocks(u->desc, u->ch, &iov, 1, off, num, 0, ut_io_cb, &r);
	} else {
		rc = vt_bdev_readv_blocks(u->desc, u->ch, &iov, 1, off, num, ut_io_cb, &r);
	}
	CU_ASSERT_FATAL(rc == 0);
	CU_ASSERT(ut_poll_until(&r.done, 1));
	CU_ASSERT_EQUAL(r.success, want_ok);
}

/* ---- geometry -------------------------------------------------------------------------------- */

static void
raid0_maps_strips_round_robin_at_boundaries(void)
{
	struct raid_leg legs[3] = { { .data_size = 100 },
				    { .data_size = 90 },
				    { .data_size = 95 } };
	uint64_t leg_off, len;
	uint8_t leg;

	/* 8-block strips: every leg counts 88 blocks (11 strips). */
	CU_ASSERT_EQUAL(raid_compute_blockcnt(RAID_LEVEL_0, 3, legs, 3), 3 * 88);
	len = raid_map(RAID_LEVEL_0, 3, legs, 3, 7, 10, &leg, &leg_off);
	CU_ASSERT(leg == 0 && leg_off == 7 && len == 1); /* the last block of strip 0 */
	len = raid_map(RAID_LEVEL_0, 3, legs, 3, 8, 20, &leg, &leg_off);
	CU_ASSERT(leg == 1 && leg_off == 0 && len == 8); /* strip 1, whole */
	len = raid_map(RAID_LEVEL_0, 3, legs, 3, 23, 1, &leg, &leg_off);
	CU_ASSERT(leg == 2 && leg_off == 7 && len == 1);
	len = raid_map(RAID_LEVEL_0, 3, legs, 3, 24, 3, &leg, &leg_off);
	CU_ASSERT(leg == 0 && leg_off == 8 && len == 3); /* strip 3 wraps to leg 0, its strip 1 */
	len = raid_map(RAID_LEVEL_0, 3, legs, 3, 3 * 88 - 1, 1, &leg, &leg_off);
	CU_ASSERT(leg == 2 && leg_off == 87 && len == 1); /* the very last block */
}

static void
strip_size_is_a_power_of_two_of_whole_blocks(void)
{
	uint32_t blocks, shift;

	CU_ASSERT(raid_strip_blocks(64, 512, &blocks, &shift) == 0 && blocks == 128 && shift == 7);
	CU_ASSERT(raid_strip_blocks(4, 4096, &blocks, &shift) == 0 && blocks == 1 && shift == 0);
	CU_ASSERT_EQUAL(raid_strip_blocks(48, 512, &blocks, &shift), -EINVAL);
	CU_ASSERT_EQUAL(raid_strip_blocks(0, 512, &blocks, &shift), -EINVAL);
	CU_ASSERT_EQUAL(raid_strip_blocks(2, 4096, &blocks, &shift), -EINVAL);
}

static void
concat_sums_legs_rounded_to_strips(void)
{
	struct raid_leg legs[3] = { { .data_size = 100 }, { .data_size = 50 }, { .data_size = 7 } };
	uint64_t leg_off, len;
	uint8_t leg;

	/* 8-block strips: 96 + 48 + 0. */
	CU_ASSERT_EQUAL(raid_compute_blockcnt(RAID_LEVEL_CONCAT, 3, legs, 3), 144);
	CU_ASSERT(legs[0].concat_start == 0 && legs[1].concat_start == 96);
	len = raid_map(RAID_LEVEL_CONCAT, 3, legs, 3, 90, 20, &leg, &leg_off);
	CU_ASSERT(leg == 0 && leg_off == 90 && len == 6); /* up to the end of leg 0 */
	len = raid_map(RAID_LEVEL_CONCAT, 3, legs, 3, 96, 20, &leg, &leg_off);
	CU_ASSERT(leg == 1 && leg_off == 0 && len == 20);
	len = raid_map(RAID_LEVEL_CONCAT, 3, legs, 3, 143, 1, &leg, &leg_off);
	CU_ASSERT(leg == 1 && leg_off == 47 && len == 1);
	/* raid1: the smallest leg. */
	CU_ASSERT_EQUAL(raid_compute_blockcnt(RAID_LEVEL_1, 0, legs, 3), 7);
}

static void
iov_cut_narrows_and_restores(void)
{
	char a[100], b[50], c[30];
	struct iovec iov[3] = { { a, 100 }, { b, 50 }, { c, 30 } };
	struct iovec orig[3], f, l;
	int idx, cnt;

	memcpy(orig, iov, sizeof(iov));
	raid_iov_cut(iov, 3, 90, 70, &idx, &cnt, &f, &l); /* a[90..100) b[0..50) c[0..10) */
	CU_ASSERT(idx == 0 && cnt == 3);
	CU_ASSERT(iov[0].iov_base == a + 90 && iov[0].iov_len == 10);
	CU_ASSERT(iov[1].iov_len == 50 && iov[2].iov_base == c && iov[2].iov_len == 10);
	raid_iov_restore(iov, idx, cnt, &f, &l);
	CU_ASSERT(memcmp(iov, orig, sizeof(iov)) == 0);
	raid_iov_cut(iov, 3, 110, 20, &idx, &cnt, &f, &l); /* inside b */
	CU_ASSERT(idx == 1 && cnt == 1 && iov[1].iov_base == b + 10 && iov[1].iov_len == 20);
	raid_iov_restore(iov, idx, cnt, &f, &l);
	CU_ASSERT(memcmp(iov, orig, sizeof(iov)) == 0);
	raid_iov_cut(iov, 3, 150, 30, &idx, &cnt, &f, &l); /* all of c */
	CU_ASSERT(idx == 2 && cnt == 1 && iov[2].iov_base == c && iov[2].iov_len == 30);
	raid_iov_restore(iov, idx, cnt, &f, &l);
	CU_ASSERT(memcmp(iov, orig, sizeof(iov)) == 0);
}

/* ---- superblock ------------------------------------------------------------------------------ */

static void
superblock_round_trips_and_corruption_is_refused(void)
{
	static uint8_t buf[RAID_SB_BYTES];
	struct raid_sb sb = { 0 }, out;

	vt_uuid_generate(&sb.uuid);
	snprintf(sb.name, sizeof(sb.name), "r1");
	sb.seq = 42;
	sb.blockcnt = 12345;
	sb.block_size = 512;
	sb.level = RAID_LEVEL_1;
	sb.num_legs = 3;
	sb.this_leg = 2;
	for (int i = 0; i < 3; i++) {
		vt_uuid_generate(&sb.legs[i].uuid);
		sb.legs[i].data_offset = 2048;
		sb.legs[i].data_size = 12345;
		sb.legs[i].state = i == 1 ? RAID_SB_LEG_MISSING : RAID_SB_LEG_CONFIGURED;
	}
	raid_sb_encode(&sb, buf);
	CU_ASSERT(memcmp(buf, "VTRAIDSB", 8) == 0);
	CU_ASSERT_EQUAL(raid_sb_decode(buf, &out), 0);
	CU_ASSERT(memcmp(&out, &sb, sizeof(sb)) == 0);
	/* One flipped bit anywhere is caught by the checksum. */
	buf[400] ^= 0x10;
	CU_ASSERT_EQUAL(raid_sb_decode(buf, &out), -EILSEQ);
	buf[400] ^= 0x10;
	buf[3000] ^= 1;
	CU_ASSERT_EQUAL(raid_sb_decode(buf, &out), -EILSEQ);
	buf[3000] ^= 1;
	buf[0] = 'X';
	CU_ASSERT_EQUAL(raid_sb_decode(buf, &out), -EINVAL);
	/* A well-sealed superblock with impossible fields is refused too. */
	sb.this_leg = 3;
	raid_sb_encode(&sb, buf);
	CU_ASSERT_EQUAL(raid_sb_decode(buf, &out), -ERANGE);
	/* CRC-32C's check value. */
	CU_ASSERT_EQUAL(raid_crc32c(0, "123456789", 9), 0xE3069283u);
}

/* ---- raid1 ----------------------------------------------------------------------------------- */

static void
raid1_pick_balances_by_reads_in_flight(void)
{
	uint32_t reads[3] = { 0, 0, 0 }, rr = 0;

	CU_ASSERT_EQUAL(raid1_pick_read_leg(reads, 0x7, 3, &rr), 0);
	CU_ASSERT_EQUAL(raid1_pick_read_leg(reads, 0x7, 3, &rr), 1);
	CU_ASSERT_EQUAL(raid1_pick_read_leg(reads, 0x7, 3, &rr), 2);
	CU_ASSERT_EQUAL(raid1_pick_read_leg(reads, 0x5, 3, &rr), 0); /* leg 1 not usable */
	reads[2] = 4;
	reads[0] = 1;
	CU_ASSERT_EQUAL(raid1_pick_read_leg(reads, 0x7, 3, &rr), 1);
	CU_ASSERT_EQUAL(raid1_pick_read_leg(reads, 0x4, 3, &rr), 2);
	CU_ASSERT_EQUAL(raid1_pick_read_leg(reads, 0, 3, &rr), -1);
}

static void
raid1_reads_are_balanced_and_writes_reach_every_leg(void)
{
	struct mem_leg *m0 = mem_create("b0", LEG_BLOCKS), *m1 = mem_create("b1", LEG_BLOCKS);
	char *names[2] = { "b0", "b1" };
	struct ut_result r[64] = { 0 };
	static uint8_t buf[64][BS];
	struct iovec iov[64];
	struct ut_raid u;
	int done = 0;

	ut_raid_create(&u, "r1b", RAID_LEVEL_1, 0, names, 2);
	memset(buf[0], 0xab, BS);
	ut_rw(&u, true, buf[0], 5, 1, true);
	CU_ASSERT(m0->writes == 1 && m1->writes == 1);
	CU_ASSERT(m0->data[5 * BS] == 0xab && m1->data[5 * BS] == 0xab);
	/* 64 reads in flight at once: 32 on each leg. */
	for (int i = 0; i < 64; i++) {
		iov[i].iov_base = buf[i];
		iov[i].iov_len = BS;
		CU_ASSERT(vt_bdev_readv_blocks(u.desc, u.ch, &iov[i], 1, (uint64_t)i, 1, ut_io_cb,
					       &r[i]) == 0);
	}
	for (int i = 0; i < 64; i++) {
		CU_ASSERT(ut_poll_until(&r[i].done, 1) && r[i].success);
		done += r[i].done;
	}
	CU_ASSERT_EQUAL(done, 64);
	CU_ASSERT_EQUAL(m0->reads, 32);
	CU_ASSERT_EQUAL(m1->reads, 32);
	ut_raid_delete(&u);
	mem_delete(m0);
	mem_delete(m1);
}

static void
raid1_overlapping_writes_are_serialized_so_legs_stay_identical(void)
{
	struct mem_leg *m0 = mem_create("o0", LEG_BLOCKS), *m1 = mem_create("o1", LEG_BLOCKS);
	char *names[2] = { "o0", "o1" };
	static uint8_t a[8 * BS], b[8 * BS], c[BS];
	struct iovec iov[3] = { { a, sizeof(a) }, { b, sizeof(b) }, { c, sizeof(c) } };
	struct ut_result r[3] = { 0 };
	struct ut_raid u;

	ut_raid_create(&u, "r1o", RAID_LEVEL_1, 0, names, 2);
	memset(a, 0xaa, sizeof(a));
	memset(b, 0xbb, sizeof(b));
	memset(c, 0xcc, sizeof(c));
	m0->hold_writes = true;
	m1->hold_writes = true;
	/* A (blocks 16..23), then B (20..27) overlapping it, then C (100) overlapping neither. */
	CU_ASSERT(vt_bdev_writev_blocks(u.desc, u.ch, &iov[0], 1, 16, 8, 0, ut_io_cb, &r[0]) == 0);
	CU_ASSERT(vt_bdev_writev_blocks(u.desc, u.ch, &iov[1], 1, 20, 8, 0, ut_io_cb, &r[1]) == 0);
	CU_ASSERT(vt_bdev_writev_blocks(u.desc, u.ch, &iov[2], 1, 100, 1, 0, ut_io_cb, &r[2]) == 0);
	ut_poll(5);
	/* B waits for A; C goes on: each leg has A and C. */
	CU_ASSERT_EQUAL(m0->nheld, 2);
	CU_ASSERT_EQUAL(m1->nheld, 2);
	CU_ASSERT(m0->held[0]->offset_blocks == 16 && m1->held[0]->offset_blocks == 16);
	/* The legs land A in different orders relative to C; A completes, then B is sent. */
	mem_release(m0, 0);
	mem_release(m1, 1);
	mem_release(m1, 0);
	mem_release(m0, 0);
	CU_ASSERT(ut_poll_until(&r[0].done, 1) && r[0].success);
	CU_ASSERT(ut_poll_until(&r[2].done, 1) && r[2].success);
	CU_ASSERT_EQUAL(r[1].done, 0);
	CU_ASSERT_EQUAL(m0->nheld, 1);
	CU_ASSERT_EQUAL(m1->nheld, 1);
	CU_ASSERT(m0->held[0]->offset_blocks == 20 && m1->held[0]->offset_blocks == 20);
	mem_release(m1, 0);
	mem_release(m0, 0);
	CU_ASSERT(ut_poll_until(&r[1].done, 1) && r[1].success);
	/* Both legs: A on 16..19, B on 20..27. */
	CU_ASSERT(memcmp(m0->data, m1->data, (size_t)LEG_BLOCKS * BS) == 0);
	CU_ASSERT(m0->data[19 * BS] == 0xaa && m0->data[20 * BS] == 0xbb);
	m0->hold_writes = false;
	m1->hold_writes = false;
	ut_raid_delete(&u);
	mem_delete(m0);
	mem_delete(m1);
}

static void
raid1_degraded_writes_and_a_failing_leg_leaves_the_array(void)
{
	struct mem_leg *m0 = mem_create("d0", LEG_BLOCKS), *m1 = mem_create("d1", LEG_BLOCKS);
	struct mem_leg *m2 = mem_create("d2", LEG_BLOCKS);
	char *names[3] = { "d0", "d1", "d2" };
	static uint8_t buf[4 * BS], rbuf[4 * BS];
	struct ut_raid u;
	int done = 0;

	ut_raid_create(&u, "r1d", RAID_LEVEL_1, 0, names, 3);
	/* A write error on one leg: the write succeeds on the others, the leg leaves. */
	m1->fail_writes = true;
	memset(buf, 0x11, sizeof(buf));
	ut_rw(&u, true, buf, 0, 4, true);
	ut_poll(20);
	CU_ASSERT_EQUAL(raid_leg_state(&u.raid->legs[1]), RAID_LEG_EMPTY);
	CU_ASSERT(vt_bdev_get_claim_owner(&m1->bdev) == NULL);
	CU_ASSERT_EQUAL(u.raid->state, RAID_STATE_ONLINE);
	/* Hot-removal of another: degraded to one leg, writes and reads go on. */
	CU_ASSERT(raid_remove_leg(u.raid, 2, ut_delete_cb, &done) == 0);
	CU_ASSERT(ut_poll_until(&done, 1));
	CU_ASSERT_EQUAL(raid_count_legs(u.raid, RAID_LEG_ONLINE), 1);
	memset(buf, 0x22, sizeof(buf));
	m2->writes = 0;
	ut_rw(&u, true, buf, 8, 4, true);
	CU_ASSERT_EQUAL(m2->writes, 0);
	CU_ASSERT(memcmp(m0->data + 8 * BS, buf, sizeof(buf)) == 0);
	ut_rw(&u, false, rbuf, 8, 4, true);
	CU_ASSERT(memcmp(rbuf, buf, sizeof(buf)) == 0);
	/* The last online leg failing: the write fails and the array goes offline. */
	m0->fail_writes = true;
	ut_rw(&u, true, buf, 0, 1, false);
	ut_poll(20);
	CU_ASSERT_EQUAL(u.raid->state, RAID_STATE_OFFLINE);
	ut_raid_delete(&u);
	mem_delete(m0);
	mem_delete(m1);
	mem_delete(m2);
}

static void
raid1_failed_read_is_retried_on_another_leg(void)
{
	struct mem_leg *m0 = mem_create("f0", LEG_BLOCKS), *m1 = mem_create("f1", LEG_BLOCKS);
	char *names[2] = { "f0", "f1" };
	static uint8_t buf[8 * BS], rbuf[8 * BS];
	struct ut_raid u;

	ut_raid_create(&u, "r1f", RAID_LEVEL_1, 0, names, 2);
	memset(buf, 0x3c, sizeof(buf));
	ut_rw(&u, true, buf, 16, 8, true);
	m0->fail_reads = true;
	m1->fail_reads = false;
	/* Whichever leg the first read picks, it succeeds; the failing leg leaves the array. */
	for (int i = 0; i < 4; i++) {
		memset(rbuf, 0, sizeof(rbuf));
		ut_rw(&u, false, rbuf, 16, 8, true);
		CU_ASSERT(memcmp(rbuf, buf, sizeof(buf)) == 0);
	}
	ut_poll(20);
	CU_ASSERT(m0->reads >= 1);
	CU_ASSERT_EQUAL(raid_leg_state(&u.raid->legs[0]), RAID_LEG_EMPTY);
	CU_ASSERT_EQUAL(raid_count_legs(u.raid, RAID_LEG_ONLINE), 1);
	CU_ASSERT_EQUAL(u.raid->state, RAID_STATE_ONLINE);
	ut_raid_delete(&u);
	mem_delete(m0);
	mem_delete(m1);
}

static void
rebuild_copies_and_writes_to_the_window_being_copied_are_held_then_reach_the_new_leg(void)
{
	struct mem_leg *m0 = mem_create("w0", LEG_BLOCKS), *m1 = mem_create("w1", LEG_BLOCKS);
	struct mem_leg *m2 = mem_create("w2", LEG_BLOCKS);
	char *names[2] = { "w0", "w1" };
	static uint8_t buf[LEG_BLOCKS * BS / 4], wbuf[8 * BS];
	struct iovec iov = { wbuf, sizeof(wbuf) };
	struct raid_channel *rch;
	struct ut_result r = { 0 };
	struct ut_raid u;
	uint64_t win, off;
	int done = 0;

	ut_raid_create(&u, "r1w", RAID_LEVEL_1, 0, names, 2);
	for (size_t i = 0; i < sizeof(buf); i++) {
		buf[i] = (uint8_t)(i * 7 + 3);
	}
	for (uint64_t q = 0; q < 4; q++) {
		ut_rw(&u, true, buf, q * LEG_BLOCKS / 4, LEG_BLOCKS / 4, true);
	}
	CU_ASSERT(raid_remove_leg(u.raid, 1, ut_delete_cb, &done) == 0);
	CU_ASSERT(ut_poll_until(&done, 1));
	CU_ASSERT_EQUAL(raid_add_leg(u.raid, "w2"), 0);
	CU_ASSERT_EQUAL(u.raid->legs[1].bdev, &m2->bdev);
	/* Run until the second window is locked, then write into it. */
	win = RAID_REBUILD_WINDOW_BYTES / BS;
	for (int i = 0; i < 100000 &&
			!(u.raid->rebuild != NULL && u.raid->win_active && u.raid->win_off == win);
	     i++) {
		vt_reactor_poll_once();
	}
	CU_ASSERT_FATAL(u.raid->win_active && u.raid->win_off == win);
	off = win + 100;
	memset(wbuf, 0x5a, sizeof(wbuf));
	CU_ASSERT(vt_bdev_writev_blocks(u.desc, u.ch, &iov, 1, off, 8, 0, ut_io_cb, &r) == 0);
	rch = u.raid->chs[0];
	/* Held while the window is copied: not on any leg yet. Once the window is unlocked it
	 * goes to both legs, after the copy (which would otherwise overwrite it on w2). */
	CU_ASSERT_EQUAL(r.done, 0);
	CU_ASSERT(!TAILQ_EMPTY(&rch->win_wait));
	CU_ASSERT(m0->data[off * BS] != 0x5a);
	CU_ASSERT(ut_poll_until(&r.done, 1) && r.success);
	/* A write beyond the copy point reaches the new leg at once. */
	memset(wbuf, 0x6b, sizeof(wbuf));
	ut_rw(&u, true, wbuf, LEG_BLOCKS - 8, 8, true);
	CU_ASSERT(m2->data[(LEG_BLOCKS - 8) * BS] == 0x6b);
	for (int i = 0; i < 100000 && raid_leg_state(&u.raid->legs[1]) != RAID_LEG_ONLINE; i++) {
		vt_reactor_poll_once();
	}
	CU_ASSERT_EQUAL(raid_leg_state(&u.raid->legs[1]), RAID_LEG_ONLINE);
	CU_ASSERT(u.raid->rebuild == NULL && !u.raid->win_active);
	CU_ASSERT(m2->data[off * BS] == 0x5a);
	CU_ASSERT(memcmp(m0->data, m2->data, (size_t)LEG_BLOCKS * BS) == 0);
	ut_raid_delete(&u);
	mem_delete(m0);
	mem_delete(m1);
	mem_delete(m2);
}

static void
raid0_io_crosses_strips_and_legs(void)
{
	struct mem_leg *m0 = mem_create("s0", 256), *m1 = mem_create("s1", 256);
	char *names[2] = { "s0", "s1" };
	static uint8_t buf[40 * BS], rbuf[40 * BS];
	struct ut_raid u;

	ut_raid_create(&u, "r0s", RAID_LEVEL_0, 4, names, 2); /* 8-block strips */
	CU_ASSERT_EQUAL(u.raid->bdev.blockcnt, 512);
	for (size_t i = 0; i < sizeof(buf); i++) {
		buf[i] = (uint8_t)(i / BS);
	}
	ut_rw(&u, true, buf, 5, 40, true); /* blocks 5..44: strips 0..5 */
	/* Block 5 (strip 0) on s0 at 5; block 8 (strip 1) on s1 at 0; block 16 on s0 at 8. */
	CU_ASSERT(m0->data[5 * BS] == 0 && m1->data[0] == 3 && m0->data[8 * BS] == 11);
	CU_ASSERT(m1->data[(16 + 4) * BS] == 39); /* block 44: strip 5, s1's strip 2 */
	ut_rw(&u, false, rbuf, 5, 40, true);
	CU_ASSERT(memcmp(buf, rbuf, sizeof(buf)) == 0);
	ut_raid_delete(&u);
	mem_delete(m0);
	mem_delete(m1);
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	s = CU_add_suite("bdev_raid_math", NULL, NULL);
	CU_ADD_TEST(s, raid0_maps_strips_round_robin_at_boundaries);
	CU_ADD_TEST(s, strip_size_is_a_power_of_two_of_whole_blocks);
	CU_ADD_TEST(s, concat_sums_legs_rounded_to_strips);
	CU_ADD_TEST(s, iov_cut_narrows_and_restores);
	CU_ADD_TEST(s, superblock_round_trips_and_corruption_is_refused);
	CU_ADD_TEST(s, raid1_pick_balances_by_reads_in_flight);
	s = CU_add_suite("bdev_raid_io", ut_reactor_suite_init, ut_reactor_suite_fini);
	CU_ADD_TEST(s, raid1_reads_are_balanced_and_writes_reach_every_leg);
	CU_ADD_TEST(s, raid1_overlapping_writes_are_serialized_so_legs_stay_identical);
	CU_ADD_TEST(s, raid1_degraded_writes_and_a_failing_leg_leaves_the_array);
	CU_ADD_TEST(s, raid1_failed_read_is_retried_on_another_leg);
	CU_ADD_TEST(
		s,
		rebuild_copies_and_writes_to_the_window_being_copied_are_held_then_reach_the_new_leg);
	CU_ADD_TEST(s, raid0_io_crosses_strips_and_legs);
	return ut_run_tests();
}
