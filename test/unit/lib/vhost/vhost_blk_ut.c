/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio-blk personality without rte_vhost: request parsing and checks on fabricated
 * iovecs, the config space and features from a bdev description, then whole requests through
 * the reactor side of a session (vhost_session.c) on fabricated guest memory and a malloc bdev,
 * with the test playing the driver on split and packed rings.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/vhost/vhost_blk.c"

#include "lib/bdev/bdev_internal.h"
#include "lib/event/event_internal.h"
#include "lib/bdev/malloc/bdev_malloc.h"
#include "test/unit/common/ut_bdev.h"
#include "test/unit/common/ut_chain.h"
#include "test/unit/common/ut_main.h"
#include "test/unit/common/ut_reactor.h"

/* ---- pure parts: parse, check, config ------------------------------------------------------ */

static struct iovec g_iov[8];
static struct vhost_vq_chain g_c;
static struct blk_req g_br;

/* A chain of n buffers, the first nr device-readable. */
static void
chain_set(const struct iovec *iov, uint32_t n, uint32_t nr)
{
	memset(&g_br, 0, sizeof(g_br));
	ut_chain_fill(&g_c, g_iov, VT_COUNTOF(g_iov), iov, n, nr);
}

static void
hdr_set(struct virtio_blk_outhdr *h, uint32_t type, uint64_t sector)
{
	h->type = htole32(type);
	h->ioprio = 0;
	h->sector = htole64(sector);
}

static void
parse_finds_header_data_and_status_of_a_read(void)
{
	struct virtio_blk_outhdr h;
	uint8_t data[4096], status = 0xff;
	struct iovec iov[3] = { { &h, 16 }, { data, sizeof(data) }, { &status, 1 } };

	hdr_set(&h, VIRTIO_BLK_T_IN, 77);
	chain_set(iov, 3, 1);
	CU_ASSERT_EQUAL(blk_parse(&g_br, &g_c), 0);
	CU_ASSERT_EQUAL(g_br.type, VIRTIO_BLK_T_IN);
	CU_ASSERT_EQUAL(g_br.sector, 77);
	CU_ASSERT_PTR_EQUAL(g_br.status, &status);
	CU_ASSERT_EQUAL(g_br.ndata, 1);
	CU_ASSERT_PTR_EQUAL(g_br.data[0].iov_base, data);
	CU_ASSERT_EQUAL(g_br.data_len, 4096);
}

static void
parse_splits_header_from_data_sharing_one_buffer(void)
{
	uint8_t buf[16 + 1024], status = 0xff;
	struct iovec iov[2] = { { buf, sizeof(buf) }, { &status, 1 } };

	hdr_set((struct virtio_blk_outhdr *)buf, VIRTIO_BLK_T_OUT, 8);
	chain_set(iov, 2, 1);
	CU_ASSERT_EQUAL(blk_parse(&g_br, &g_c), 0);
	CU_ASSERT_EQUAL(g_br.type, VIRTIO_BLK_T_OUT);
	CU_ASSERT_EQUAL(g_br.ndata, 1);
	CU_ASSERT_PTR_EQUAL(g_br.data[0].iov_base, buf + 16);
	CU_ASSERT_EQUAL(g_br.data[0].iov_len, 1024);
	CU_ASSERT_EQUAL(g_br.data_len, 1024);
	CU_ASSERT_PTR_EQUAL(g_br.status, &status);
}

static void
parse_takes_status_from_the_end_of_the_last_data_buffer(void)
{
	struct virtio_blk_outhdr h;
	uint8_t buf[512 + 1];
	struct iovec iov[2] = { { &h, 16 }, { buf, sizeof(buf) } };

	hdr_set(&h, VIRTIO_BLK_T_IN, 0);
	chain_set(iov, 2, 1);
	CU_ASSERT_EQUAL(blk_parse(&g_br, &g_c), 0);
	CU_ASSERT_PTR_EQUAL(g_br.status, buf + 512);
	CU_ASSERT_EQUAL(g_br.ndata, 1);
	CU_ASSERT_EQUAL(g_br.data[0].iov_len, 512);
	CU_ASSERT_EQUAL(g_br.data_len, 512);
}

static void
parse_reassembles_header_split_across_buffers(void)
{
	uint8_t hb[16], data[512], status;
	struct iovec iov[4] = { { hb, 10 }, { hb + 10, 6 }, { data, 512 }, { &status, 1 } };

	hdr_set((struct virtio_blk_outhdr *)hb, VIRTIO_BLK_T_OUT, 0x123456789ull);
	chain_set(iov, 4, 3);
	CU_ASSERT_EQUAL(blk_parse(&g_br, &g_c), 0);
	CU_ASSERT_EQUAL(g_br.type, VIRTIO_BLK_T_OUT);
	CU_ASSERT_EQUAL(g_br.sector, 0x123456789ull);
	CU_ASSERT_EQUAL(g_br.ndata, 1);
	CU_ASSERT_PTR_EQUAL(g_br.data[0].iov_base, data);
	CU_ASSERT_EQUAL(g_br.data_len, 512);
}

static void
parse_answers_ioerr_for_header_shorter_than_16_bytes(void)
{
	uint8_t hb[15], status = 0xff;
	struct iovec iov[2] = { { hb, sizeof(hb) }, { &status, 1 } };

	chain_set(iov, 2, 1);
	CU_ASSERT_EQUAL(blk_parse(&g_br, &g_c), VIRTIO_BLK_S_IOERR);
	CU_ASSERT_PTR_EQUAL(g_br.status, &status);
}

static void
parse_without_writable_byte_cannot_answer(void)
{
	struct virtio_blk_outhdr h;
	uint8_t data[512];
	struct iovec iov[2] = { { &h, 16 }, { data, sizeof(data) } };

	hdr_set(&h, VIRTIO_BLK_T_OUT, 0);
	chain_set(iov, 2, 2);
	CU_ASSERT_EQUAL(blk_parse(&g_br, &g_c), -1);
}

/* A controller as blk_check sees it: 1000 blocks of 4 KiB, discard and write zeroes. */
static void
bc_init(struct blk_ctrlr *bc, bool readonly)
{
	memset(bc, 0, sizeof(*bc));
	bc->info = (struct blk_info){
		.block_size = 4096,
		.num_blocks = 1000,
		.readonly = readonly,
		.unmap = true,
		.write_zeroes = true,
		.max_unmap_blocks = 64,
	};
	blk_config_build(&bc->info, &bc->cfg);
	bc->num_blocks = 1000;
	bc->block_shift = 12;
	bc->block_mask = 4095;
	bc->readonly = readonly;
	bc->discard = !readonly;
	bc->write_zeroes = !readonly;
	bc->max_discard_sectors = le32toh(bc->cfg.max_discard_sectors);
	bc->max_write_zeroes_sectors = le32toh(bc->cfg.max_write_zeroes_sectors);
	bc->bdev_name = "Malloc0";
}

static int
check_rw(struct blk_ctrlr *bc, uint32_t type, uint64_t sector, uint32_t len)
{
	memset(&g_br, 0, sizeof(g_br));
	g_br.type = type;
	g_br.sector = sector;
	g_br.data_len = len;
	return blk_check(bc, &g_br);
}

static void
check_refuses_misaligned_and_out_of_range_io(void)
{
	struct blk_ctrlr bc;

	bc_init(&bc, false);
	CU_ASSERT_EQUAL(check_rw(&bc, VIRTIO_BLK_T_IN, 8, 4096), BLK_EXEC);
	CU_ASSERT_EQUAL(g_br.offset_blocks, 1);
	CU_ASSERT_EQUAL(g_br.num_blocks, 1);
	CU_ASSERT_EQUAL(g_br.used_len, 4097);
	CU_ASSERT_EQUAL(check_rw(&bc, VIRTIO_BLK_T_IN, 1, 4096), VIRTIO_BLK_S_IOERR);
	CU_ASSERT_EQUAL(check_rw(&bc, VIRTIO_BLK_T_OUT, 8, 512), VIRTIO_BLK_S_IOERR);
	CU_ASSERT_EQUAL(check_rw(&bc, VIRTIO_BLK_T_OUT, 8, 4100), VIRTIO_BLK_S_IOERR);
	CU_ASSERT_EQUAL(check_rw(&bc, VIRTIO_BLK_T_IN, 7992, 4096), BLK_EXEC);
	CU_ASSERT_EQUAL(check_rw(&bc, VIRTIO_BLK_T_IN, 7992, 8192), VIRTIO_BLK_S_IOERR);
	CU_ASSERT_EQUAL(check_rw(&bc, VIRTIO_BLK_T_IN, 8000, 4096), VIRTIO_BLK_S_IOERR);
	CU_ASSERT_EQUAL(check_rw(&bc, VIRTIO_BLK_T_IN, UINT64_MAX, 4096), VIRTIO_BLK_S_IOERR);
	CU_ASSERT_EQUAL(check_rw(&bc, VIRTIO_BLK_T_IN, UINT64_MAX >> 9, 4096), VIRTIO_BLK_S_IOERR);
}

static void
check_zero_length_io_succeeds_inside_the_device_only(void)
{
	struct blk_ctrlr bc;

	bc_init(&bc, false);
	CU_ASSERT_EQUAL(check_rw(&bc, VIRTIO_BLK_T_IN, 8000, 0), VIRTIO_BLK_S_OK);
	CU_ASSERT_EQUAL(check_rw(&bc, VIRTIO_BLK_T_IN, 8008, 0), VIRTIO_BLK_S_IOERR);
}

static int
check_segs(struct blk_ctrlr *bc, uint32_t type, const struct virtio_blk_discard_write_zeroes *s,
	   uint32_t n, uint32_t len)
{
	static struct virtio_blk_discard_write_zeroes buf[VHOST_BLK_MAX_DWZ_SEGS + 2];
	static struct iovec iov;

	memcpy(buf, s, n * sizeof(*s));
	iov.iov_base = buf;
	iov.iov_len = len;
	memset(&g_br, 0, sizeof(g_br));
	g_br.type = type;
	g_br.data = &iov;
	g_br.ndata = 1;
	g_br.data_len = len;
	return blk_check(bc, &g_br);
}

static struct virtio_blk_discard_write_zeroes
seg(uint64_t sector, uint32_t num, uint32_t flags)
{
	return (struct virtio_blk_discard_write_zeroes){
		.sector = htole64(sector),
		.num_sectors = htole32(num),
		.flags = htole32(flags),
	};
}

static void
check_segments_follow_flags_limits_and_alignment(void)
{
	struct virtio_blk_discard_write_zeroes s[VHOST_BLK_MAX_DWZ_SEGS + 1];
	struct blk_ctrlr bc;

	bc_init(&bc, false);
	s[0] = seg(8, 16, 0);
	s[1] = seg(800, 512, 0);
	CU_ASSERT_EQUAL(check_segs(&bc, VIRTIO_BLK_T_DISCARD, s, 2, 32), BLK_EXEC);
	CU_ASSERT_EQUAL(g_br.nseg, 2);
	CU_ASSERT_EQUAL(g_br.segs[0].sector, 1);
	CU_ASSERT_EQUAL(g_br.segs[0].num_sectors, 2);
	CU_ASSERT_EQUAL(g_br.segs[1].sector, 100);
	CU_ASSERT_EQUAL(g_br.segs[1].num_sectors, 64);
	/* DISCARD takes no flag; WRITE_ZEROES takes UNMAP and no other. */
	s[0] = seg(8, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	CU_ASSERT_EQUAL(check_segs(&bc, VIRTIO_BLK_T_DISCARD, s, 1, 16), VIRTIO_BLK_S_UNSUPP);
	CU_ASSERT_EQUAL(check_segs(&bc, VIRTIO_BLK_T_WRITE_ZEROES, s, 1, 16), BLK_EXEC);
	s[0] = seg(8, 8, 2);
	CU_ASSERT_EQUAL(check_segs(&bc, VIRTIO_BLK_T_WRITE_ZEROES, s, 1, 16), VIRTIO_BLK_S_UNSUPP);
	/* More than max_discard_sectors (64 blocks = 512 sectors) in one range. */
	s[0] = seg(0, 520, 0);
	CU_ASSERT_EQUAL(check_segs(&bc, VIRTIO_BLK_T_DISCARD, s, 1, 16), VIRTIO_BLK_S_IOERR);
	s[0] = seg(4, 8, 0);
	CU_ASSERT_EQUAL(check_segs(&bc, VIRTIO_BLK_T_DISCARD, s, 1, 16), VIRTIO_BLK_S_IOERR);
	s[0] = seg(7992, 16, 0);
	CU_ASSERT_EQUAL(check_segs(&bc, VIRTIO_BLK_T_DISCARD, s, 1, 16), VIRTIO_BLK_S_IOERR);
	CU_ASSERT_EQUAL(check_segs(&bc, VIRTIO_BLK_T_DISCARD, s, 1, 0), VIRTIO_BLK_S_IOERR);
	CU_ASSERT_EQUAL(check_segs(&bc, VIRTIO_BLK_T_DISCARD, s, 1, 15), VIRTIO_BLK_S_IOERR);
	for (uint32_t i = 0; i <= VHOST_BLK_MAX_DWZ_SEGS; i++) {
		s[i] = seg(8 * i, 8, 0);
	}
	CU_ASSERT_EQUAL(check_segs(&bc, VIRTIO_BLK_T_DISCARD, s, VHOST_BLK_MAX_DWZ_SEGS,
				   VHOST_BLK_MAX_DWZ_SEGS * 16),
			BLK_EXEC);
	CU_ASSERT_EQUAL(check_segs(&bc, VIRTIO_BLK_T_DISCARD, s, VHOST_BLK_MAX_DWZ_SEGS + 1,
				   (VHOST_BLK_MAX_DWZ_SEGS + 1) * 16),
			VIRTIO_BLK_S_IOERR);
}

static void
check_refuses_changes_to_read_only_device(void)
{
	struct virtio_blk_discard_write_zeroes s = seg(8, 8, 0);
	struct blk_ctrlr bc;

	bc_init(&bc, true);
	CU_ASSERT_EQUAL(check_rw(&bc, VIRTIO_BLK_T_OUT, 8, 4096), VIRTIO_BLK_S_IOERR);
	CU_ASSERT_EQUAL(check_segs(&bc, VIRTIO_BLK_T_DISCARD, &s, 1, 16), VIRTIO_BLK_S_IOERR);
	CU_ASSERT_EQUAL(check_segs(&bc, VIRTIO_BLK_T_WRITE_ZEROES, &s, 1, 16), VIRTIO_BLK_S_IOERR);
	CU_ASSERT_EQUAL(check_rw(&bc, VIRTIO_BLK_T_IN, 8, 4096), BLK_EXEC);
	CU_ASSERT_EQUAL(check_rw(&bc, VIRTIO_BLK_T_FLUSH, 0, 0), VIRTIO_BLK_S_OK);
}

static void
check_answers_unsupp_for_unknown_types_and_unoffered_features(void)
{
	struct virtio_blk_discard_write_zeroes s = seg(8, 8, 0);
	struct blk_ctrlr bc;

	bc_init(&bc, false);
	CU_ASSERT_EQUAL(check_rw(&bc, VIRTIO_BLK_T_SCSI_CMD, 0, 0), VIRTIO_BLK_S_UNSUPP);
	CU_ASSERT_EQUAL(check_rw(&bc, 10, 0, 0), VIRTIO_BLK_S_UNSUPP);
	CU_ASSERT_EQUAL(check_rw(&bc, VIRTIO_BLK_T_SECURE_ERASE, 0, 0), VIRTIO_BLK_S_UNSUPP);
	CU_ASSERT_EQUAL(check_rw(&bc, VIRTIO_BLK_T_BARRIER | VIRTIO_BLK_T_OUT, 0, 0),
			VIRTIO_BLK_S_UNSUPP);
	bc.discard = false;
	CU_ASSERT_EQUAL(check_segs(&bc, VIRTIO_BLK_T_DISCARD, &s, 1, 16), VIRTIO_BLK_S_UNSUPP);
}

static void
check_get_id_writes_name_zero_padded_not_terminated_at_20(void)
{
	uint8_t out[32];
	struct iovec iov = { out, sizeof(out) };
	struct blk_ctrlr bc;

	bc_init(&bc, false);
	memset(out, 0xaa, sizeof(out));
	g_br = (struct blk_req){ .type = VIRTIO_BLK_T_GET_ID,
				 .data = &iov,
				 .ndata = 1,
				 .data_len = sizeof(out) };
	CU_ASSERT_EQUAL(blk_check(&bc, &g_br), VIRTIO_BLK_S_OK);
	CU_ASSERT_EQUAL(g_br.used_len, 21);
	CU_ASSERT_EQUAL(memcmp(out, "Malloc0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20), 0);
	CU_ASSERT_EQUAL(out[20], 0xaa);
	bc.bdev_name = "a_bdev_name_of_25_chars__";
	memset(out, 0xaa, sizeof(out));
	CU_ASSERT_EQUAL(blk_check(&bc, &g_br), VIRTIO_BLK_S_OK);
	CU_ASSERT_EQUAL(memcmp(out, "a_bdev_name_of_25_ch", 20), 0);
	CU_ASSERT_EQUAL(out[20], 0xaa);
	g_br.data_len = 8;
	iov.iov_len = 8;
	memset(out, 0xaa, sizeof(out));
	CU_ASSERT_EQUAL(blk_check(&bc, &g_br), VIRTIO_BLK_S_OK);
	CU_ASSERT_EQUAL(g_br.used_len, 9);
	CU_ASSERT_EQUAL(out[8], 0xaa);
}

static void
check_flush_without_volatile_cache_completes_at_once(void)
{
	struct blk_ctrlr bc;

	bc_init(&bc, false);
	CU_ASSERT_EQUAL(check_rw(&bc, VIRTIO_BLK_T_FLUSH, 0, 0), VIRTIO_BLK_S_OK);
	bc.flush = true;
	CU_ASSERT_EQUAL(check_rw(&bc, VIRTIO_BLK_T_FLUSH, 0, 0), BLK_EXEC);
	bc.removed = true;
	CU_ASSERT_EQUAL(check_rw(&bc, VIRTIO_BLK_T_FLUSH, 0, 0), VIRTIO_BLK_S_IOERR);
	CU_ASSERT_EQUAL(check_rw(&bc, VIRTIO_BLK_T_IN, 0, 4096), VIRTIO_BLK_S_IOERR);
}

static void
config_reflects_bdev_geometry_and_limits(void)
{
	struct blk_info d = {
		.block_size = 4096,
		.num_blocks = 1000,
		.write_cache = true,
		.flush = true,
		.unmap = true,
		.write_zeroes = true,
		.max_unmap_blocks = 64,
		.optimal_io_boundary = 8,
	};
	struct virtio_blk_config cfg;

	blk_config_build(&d, &cfg);
	CU_ASSERT_EQUAL(le64toh(cfg.capacity), 8000);
	CU_ASSERT_EQUAL(le32toh(cfg.blk_size), 4096);
	CU_ASSERT_EQUAL(le32toh(cfg.seg_max), VHOST_BLK_SEG_MAX);
	CU_ASSERT_EQUAL(le32toh(cfg.size_max), VHOST_BLK_SIZE_MAX);
	CU_ASSERT_EQUAL(le16toh(cfg.num_queues), VHOST_MAX_QUEUES);
	CU_ASSERT_EQUAL(cfg.physical_block_exp, 0);
	CU_ASSERT_EQUAL(le16toh(cfg.min_io_size), 1);
	CU_ASSERT_EQUAL(le32toh(cfg.opt_io_size), 8);
	CU_ASSERT_EQUAL(cfg.wce, 1);
	CU_ASSERT_EQUAL(le32toh(cfg.max_discard_sectors), 512);
	CU_ASSERT_EQUAL(le32toh(cfg.max_discard_seg), VHOST_BLK_MAX_DWZ_SEGS);
	CU_ASSERT_EQUAL(le32toh(cfg.discard_sector_alignment), 8);
	/* No limit: the largest whole number of blocks in 32 bits of sectors. */
	CU_ASSERT_EQUAL(le32toh(cfg.max_write_zeroes_sectors), UINT32_MAX / 8 * 8);
	CU_ASSERT_EQUAL(le32toh(cfg.max_write_zeroes_seg), VHOST_BLK_MAX_DWZ_SEGS);
	d.readonly = true;
	blk_config_build(&d, &cfg);
	CU_ASSERT_EQUAL(cfg.max_discard_sectors, 0);
	CU_ASSERT_EQUAL(cfg.max_write_zeroes_sectors, 0);
}

static void
features_follow_bdev_capabilities(void)
{
	struct blk_info d = { .block_size = 512, .num_blocks = 8, .flush = true };
	uint64_t f = blk_features(&d, false);

	CU_ASSERT((f & (1ull << VIRTIO_F_VERSION_1)) != 0);
	CU_ASSERT((f & (1ull << VIRTIO_RING_F_EVENT_IDX)) != 0);
	CU_ASSERT((f & (1ull << VIRTIO_RING_F_INDIRECT_DESC)) != 0);
	CU_ASSERT((f & (1ull << VHOST_USER_VIRTIO_F_PROTOCOL_FEATURES)) != 0);
	CU_ASSERT((f & (1ull << VIRTIO_BLK_F_SEG_MAX)) != 0);
	CU_ASSERT((f & (1ull << VIRTIO_BLK_F_BLK_SIZE)) != 0);
	CU_ASSERT((f & (1ull << VIRTIO_BLK_F_MQ)) != 0);
	CU_ASSERT_FALSE(f & (1ull << VIRTIO_BLK_F_FLUSH)); /* no volatile cache */
	CU_ASSERT_FALSE(f & (1ull << VIRTIO_BLK_F_DISCARD));
	CU_ASSERT_FALSE(f & (1ull << VIRTIO_BLK_F_WRITE_ZEROES));
	CU_ASSERT_FALSE(f & (1ull << VIRTIO_BLK_F_RO));
	CU_ASSERT_FALSE(f & (1ull << VIRTIO_F_RING_PACKED));
	CU_ASSERT_FALSE(f & (1ull << VIRTIO_F_NOTIFY_ON_EMPTY));
	CU_ASSERT_FALSE(f & (1ull << VIRTIO_F_IN_ORDER));
	d.write_cache = true;
	d.unmap = true;
	d.write_zeroes = true;
	f = blk_features(&d, true);
	CU_ASSERT((f & (1ull << VIRTIO_BLK_F_FLUSH)) != 0);
	CU_ASSERT((f & (1ull << VIRTIO_BLK_F_DISCARD)) != 0);
	CU_ASSERT((f & (1ull << VIRTIO_BLK_F_WRITE_ZEROES)) != 0);
	CU_ASSERT((f & (1ull << VIRTIO_F_RING_PACKED)) != 0);
	d.readonly = true;
	f = blk_features(&d, false);
	CU_ASSERT((f & (1ull << VIRTIO_BLK_F_RO)) != 0);
	CU_ASSERT_FALSE(f & (1ull << VIRTIO_BLK_F_DISCARD));
	CU_ASSERT_FALSE(f & (1ull << VIRTIO_BLK_F_WRITE_ZEROES));
}

/* ---- whole requests through a session ------------------------------------------------------ */

#define MEM_GPA 0x100000ull
#define MEM_SIZE (4u << 20)
#define GAP_GPA 0x10000ull /* outside guest memory */
#define QSIZE 64
#define F_BASE ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_INDIRECT_DESC))
#define F_EVENT_IDX (1ull << VIRTIO_RING_F_EVENT_IDX)
#define F_PACKED (1ull << VIRTIO_F_RING_PACKED)
#define PACKED_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define PACKED_USED (1u << VRING_PACKED_DESC_F_USED)

static uint8_t *g_mem;
static uint64_t g_bump;
static struct vhost_ctrlr *g_ctrlr;
static struct vhost_session *g_s;
static struct vhost_mem_map *g_map;
static struct vt_bdev *g_bdev;
static int g_kickfd = -1; /* the next queue_start's kick eventfd (dup'd) */

/* The driver's view of one queue. */
struct ut_q {
	uint16_t index;
	bool packed;
	uint64_t features;
	uint64_t desc, drv, dev; /* ring gpas */
	uint16_t next_desc;      /* split: next free descriptor */
	uint16_t avail_idx;      /* split */
	uint16_t used_seen;      /* split */
	uint16_t slot;           /* packed: next slot */
	bool wrap;               /* packed: driver wrap counter */
	uint16_t used_slot;      /* packed: next slot to reap */
	bool used_wrap;
	int callfd;
};

struct ut_buf {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

static void *
gva(uint64_t gpa)
{
	return g_mem + (gpa - MEM_GPA);
}

static uint64_t
galloc(uint32_t len)
{
	uint64_t gpa = MEM_GPA + g_bump;

	g_bump += VT_ALIGN_UP((uint64_t)len, 64ull);
	CU_ASSERT_FATAL(g_bump <= MEM_SIZE);
	return gpa;
}

static bool
ut_poll_until_answered(struct vhost_call *call)
{
	uint64_t deadline = vt_get_ticks() + UT_POLL_TIMEOUT_MS * (VT_TICKS_HZ / 1000);

	while (!atomic_load(&call->answered) && vt_get_ticks() < deadline) {
		vt_reactor_poll_once();
	}
	return atomic_load(&call->answered);
}

static bool
ut_all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] != v) {
			return false;
		}
	}
	return true;
}

static struct vhost_call *
ut_call(void (*fn)(struct vhost_call *call))
{
	struct vhost_call *call = vhost_call_alloc(g_s, fn);

	CU_ASSERT_FATAL(call != NULL);
	atomic_fetch_add(&call->refs, 1); /* the reactor's, as vhost_call_run takes it */
	return call;
}

/* Runs a call on this reactor and polls until it is answered; returns its rc. */
static int
ut_run(struct vhost_call *call)
{
	call->fn(call);
	CU_ASSERT(ut_poll_until_answered(call));
	return call->rc;
}

static void
session_setup(const char *bdev_name, bool readonly)
{
	struct vhost_vq_mem_region r = { .gpa = MEM_GPA, .size = MEM_SIZE };
	struct bdev_malloc_opts opts = { .name = bdev_name, .num_blocks = 2048, .block_size = 512 };
	struct vhost_call *call;
	char err[256];

	g_mem = aligned_alloc(4096, MEM_SIZE);
	CU_ASSERT_FATAL(g_mem != NULL);
	memset(g_mem, 0, MEM_SIZE);
	g_bump = 0;
	r.host = g_mem;
	CU_ASSERT_EQUAL_FATAL(bdev_malloc_create(&opts, &g_bdev), 0);
	g_ctrlr = calloc(1, sizeof(*g_ctrlr));
	snprintf(g_ctrlr->name, sizeof(g_ctrlr->name), "ut");
	g_ctrlr->ops = &g_vhost_blk_ops;
	g_ctrlr->reactor = 0;
	g_ctrlr->state = VHOST_CTRLR_RUNNING;
	TAILQ_INIT(&g_ctrlr->sessions);
	CU_ASSERT_EQUAL_FATAL(vhost_blk_backend_create(g_ctrlr, bdev_name, readonly, false, true,
						       err, sizeof(err)),
			      0);
	g_s = vhost_session_alloc(g_ctrlr, 0);
	CU_ASSERT_FATAL(g_s != NULL);
	TAILQ_INSERT_TAIL(&g_ctrlr->sessions, g_s, link);
	call = ut_call(vhost_session_attach_fn);
	CU_ASSERT_EQUAL(ut_run(call), 0);
	vhost_call_put(call);
	g_map = vhost_mem_map_wrap(&r, 1);
	CU_ASSERT_FATAL(g_map != NULL);
	call = ut_call(vhost_session_set_map_fn);
	call->u.map = g_map;
	CU_ASSERT_EQUAL(ut_run(call), 0);
	vhost_call_put(call);
}

static void
ut_delete_done(void *arg, int rc)
{
	(*(int *)arg)++;
}

static void
ut_removed(void *arg)
{
	(*(int *)arg)++;
}

static void
session_teardown(void)
{
	int done = 0, removed = 0;

	vhost_session_destroy_msg(g_s);
	ut_poll(4);
	CU_ASSERT(TAILQ_EMPTY(&g_ctrlr->sessions));
	g_vhost_blk_ops.remove(g_ctrlr, ut_removed, &removed);
	CU_ASSERT(ut_poll_until(&removed, 1));
	free(g_ctrlr);
	if (g_bdev != NULL) {
		CU_ASSERT_EQUAL(bdev_malloc_delete(g_bdev, ut_delete_done, &done), 0);
		CU_ASSERT(ut_poll_until(&done, 1));
	}
	free(g_mem);
}

static int
queue_start(struct ut_q *uq, uint16_t index, uint64_t features, int callfd)
{
	struct vhost_call *call = ut_call(vhost_queue_start_fn);
	struct vhost_queue_params *p = &call->u.start;
	int rc;

	memset(uq, 0, sizeof(*uq));
	uq->index = index;
	uq->features = features;
	uq->packed = (features & F_PACKED) != 0;
	uq->wrap = true;
	uq->used_wrap = true;
	uq->callfd = callfd;
	uq->desc = galloc(16 * QSIZE);
	uq->drv = galloc(uq->packed ? 4 : 6 + 2 * QSIZE);
	uq->dev = galloc(uq->packed ? 4 : 6 + 8 * QSIZE);
	p->vq = (struct vhost_vq_params){
		.name = "ut",
		.index = index,
		.size = QSIZE,
		.features = features,
		.avail_base = uq->packed ? 0x8000 : 0,
		.used_base = uq->packed ? 0x8000 : 0,
	};
	p->desc = gva(uq->desc);
	p->driver = gva(uq->drv);
	p->device = gva(uq->dev);
	/* As vhost_user.c computes them: split, the used ring; packed, descriptors and events. */
	p->log_ring_gpa = uq->packed ? uq->desc : uq->dev;
	p->log_event_gpa = uq->packed ? uq->dev : 0;
	p->kickfd = g_kickfd >= 0 ? dup(g_kickfd) : -1;
	p->callfd = callfd >= 0 ? dup(callfd) : -1;
	p->map = g_map;
	p->q = vhost_queue_alloc(g_s, QSIZE);
	CU_ASSERT_FATAL(p->q != NULL);
	rc = ut_run(call);
	vhost_call_put(call);
	return rc;
}

/* Stops a queue; returns the avail base it reported. */
static uint16_t
queue_stop(uint16_t index)
{
	struct vhost_call *call = ut_call(vhost_queue_stop_fn);
	uint16_t base;

	call->qidx = index;
	CU_ASSERT_EQUAL(ut_run(call), 0);
	CU_ASSERT(call->u.stop.valid);
	base = call->u.stop.avail_base;
	vhost_call_put(call);
	return base;
}

static void
split_submit(struct ut_q *uq, const struct ut_buf *b, int n)
{
	struct vring_desc *desc = gva(uq->desc);
	struct vring_avail *avail = gva(uq->drv);
	uint16_t head = uq->next_desc;

	for (int i = 0; i < n; i++) {
		uint16_t d = (uint16_t)((head + i) % QSIZE);

		desc[d].addr = htole64(b[i].gpa);
		desc[d].len = htole32(b[i].len);
		desc[d].flags = htole16((b[i].write ? VRING_DESC_F_WRITE : 0) |
					(i + 1 < n ? VRING_DESC_F_NEXT : 0));
		desc[d].next = htole16((uint16_t)((d + 1) % QSIZE));
	}
	uq->next_desc = (uint16_t)((head + n) % QSIZE);
	avail->ring[uq->avail_idx % QSIZE] = htole16(head);
	__atomic_store_n(&avail->idx, htole16(++uq->avail_idx), __ATOMIC_RELEASE);
}

static void
packed_submit(struct ut_q *uq, const struct ut_buf *b, int n)
{
	struct vring_packed_desc *ring = gva(uq->desc);
	uint16_t first = uq->slot, first_flags = 0, id = uq->slot;

	for (int i = 0; i < n; i++) {
		uint16_t f = (b[i].write ? VRING_DESC_F_WRITE : 0) |
			     (i + 1 < n ? VRING_DESC_F_NEXT : 0) |
			     (uq->wrap ? PACKED_AVAIL : PACKED_USED);
		struct vring_packed_desc *d = &ring[uq->slot];

		d->addr = htole64(b[i].gpa);
		d->len = htole32(b[i].len);
		d->id = htole16(id);
		if (i == 0) {
			first_flags = f;
		} else {
			d->flags = htole16(f);
		}
		if (++uq->slot == QSIZE) {
			uq->slot = 0;
			uq->wrap = !uq->wrap;
		}
	}
	__atomic_store_n(&ring[first].flags, htole16(first_flags), __ATOMIC_RELEASE);
}

static void
submit(struct ut_q *uq, const struct ut_buf *b, int n)
{
	if (uq->packed) {
		packed_submit(uq, b, n);
	} else {
		split_submit(uq, b, n);
	}
}

/* Polls up to ms until the device returns a buffer; true with its used length. */
static bool
reap_within(struct ut_q *uq, uint32_t *len, uint64_t ms)
{
	uint64_t deadline = vt_get_ticks() + ms * (VT_TICKS_HZ / 1000);

	do {
		vt_reactor_poll_once();
		if (uq->packed) {
			struct vring_packed_desc *d =
				&((struct vring_packed_desc *)gva(uq->desc))[uq->used_slot];
			uint16_t f = __atomic_load_n(&d->flags, __ATOMIC_ACQUIRE);
			bool avail = f & PACKED_AVAIL, used = f & PACKED_USED;

			if (avail == uq->used_wrap && used == uq->used_wrap) {
				*len = le32toh(d->len);
				/* Every chain here is 3 descriptors or told by the caller. */
				return true;
			}
		} else {
			struct vring_used *u = gva(uq->dev);

			if (le16toh(__atomic_load_n(&u->idx, __ATOMIC_ACQUIRE)) != uq->used_seen) {
				*len = le32toh(u->ring[uq->used_seen % QSIZE].len);
				uq->used_seen++;
				return true;
			}
		}
	} while (vt_get_ticks() < deadline);
	return false;
}

static bool
reap(struct ut_q *uq, uint32_t *len)
{
	return reap_within(uq, len, UT_POLL_TIMEOUT_MS);
}

/* Packed: moves the reap position past a chain of n descriptors. */
static void
packed_consumed(struct ut_q *uq, int n)
{
	for (int i = 0; i < n; i++) {
		if (++uq->used_slot == QSIZE) {
			uq->used_slot = 0;
			uq->used_wrap = !uq->used_wrap;
		}
	}
}

/* One blk request: header, data (data_len bytes at data_gpa, may be 0), status. */
static uint8_t
blk_io(struct ut_q *uq, uint32_t type, uint64_t sector, uint64_t data_gpa, uint32_t data_len,
       uint32_t *used_len)
{
	uint64_t hdr = galloc(16), st = galloc(1);
	struct ut_buf b[3];
	int n = 0;
	uint32_t len = 0;

	hdr_set(gva(hdr), type, sector);
	*(uint8_t *)gva(st) = 0xee;
	b[n++] = (struct ut_buf){ hdr, 16, false };
	if (data_len > 0) {
		b[n++] =
			(struct ut_buf){ data_gpa, data_len,
					 type != VIRTIO_BLK_T_OUT && type != VIRTIO_BLK_T_DISCARD &&
						 type != VIRTIO_BLK_T_WRITE_ZEROES };
	}
	b[n++] = (struct ut_buf){ st, 1, true };
	submit(uq, b, n);
	CU_ASSERT_FATAL(reap(uq, &len));
	if (uq->packed) {
		packed_consumed(uq, n);
	}
	if (used_len != NULL) {
		*used_len = len;
	}
	return *(uint8_t *)gva(st);
}

static void
queue_writes_then_reads_back_guest_buffers(void)
{
	uint64_t wbuf, rbuf;
	struct ut_q uq;
	uint32_t used;

	session_setup("ut_rw", false);
	wbuf = galloc(8192);
	rbuf = galloc(8192);
	CU_ASSERT_EQUAL(queue_start(&uq, 0, F_BASE | F_EVENT_IDX, -1), 0);
	for (uint32_t i = 0; i < 8192; i++) {
		((uint8_t *)gva(wbuf))[i] = (uint8_t)(i * 7 + 3);
	}
	CU_ASSERT_EQUAL(blk_io(&uq, VIRTIO_BLK_T_OUT, 16, wbuf, 8192, &used), VIRTIO_BLK_S_OK);
	CU_ASSERT_EQUAL(used, 1);
	CU_ASSERT_EQUAL(blk_io(&uq, VIRTIO_BLK_T_IN, 16, rbuf, 8192, &used), VIRTIO_BLK_S_OK);
	CU_ASSERT_EQUAL(used, 8193);
	CU_ASSERT_EQUAL(memcmp(gva(rbuf), gva(wbuf), 8192), 0);
	CU_ASSERT_EQUAL(blk_io(&uq, VIRTIO_BLK_T_FLUSH, 0, 0, 0, NULL), VIRTIO_BLK_S_OK);
	CU_ASSERT_EQUAL(blk_io(&uq, VIRTIO_BLK_T_GET_ID, 0, rbuf, 20, &used), VIRTIO_BLK_S_OK);
	CU_ASSERT_EQUAL(used, 21);
	CU_ASSERT_EQUAL(memcmp(gva(rbuf), "ut_rw\0\0\0", 8), 0);
	CU_ASSERT_EQUAL(queue_stop(0), 4);
	session_teardown();
}

static void
queue_serves_packed_ring_and_discard_write_zeroes(void)
{
	uint64_t wbuf, rbuf, segs;
	struct virtio_blk_discard_write_zeroes *s;
	struct ut_q uq;

	session_setup("ut_packed", false);
	wbuf = galloc(4096);
	rbuf = galloc(4096);
	segs = galloc(32);
	CU_ASSERT_EQUAL(queue_start(&uq, 1, F_BASE | F_EVENT_IDX | F_PACKED, -1), 0);
	memset(gva(wbuf), 0x5a, 4096);
	for (int round = 0; round < QSIZE; round++) { /* wraps the ring several times */
		CU_ASSERT_EQUAL_FATAL(blk_io(&uq, VIRTIO_BLK_T_OUT, 8, wbuf, 4096, NULL),
				      VIRTIO_BLK_S_OK);
	}
	s = gva(segs);
	s[0] = seg(8, 4, 0);
	s[1] = seg(12, 4, 0);
	CU_ASSERT_EQUAL(blk_io(&uq, VIRTIO_BLK_T_DISCARD, 0, segs, 32, NULL), VIRTIO_BLK_S_OK);
	CU_ASSERT_EQUAL(blk_io(&uq, VIRTIO_BLK_T_IN, 8, rbuf, 4096, NULL), VIRTIO_BLK_S_OK);
	CU_ASSERT(ut_all_bytes(gva(rbuf), 4096, 0));
	CU_ASSERT_EQUAL(blk_io(&uq, VIRTIO_BLK_T_OUT, 8, wbuf, 4096, NULL), VIRTIO_BLK_S_OK);
	s[0] = seg(8, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	CU_ASSERT_EQUAL(blk_io(&uq, VIRTIO_BLK_T_WRITE_ZEROES, 0, segs, 16, NULL), VIRTIO_BLK_S_OK);
	memset(gva(rbuf), 0xff, 4096);
	CU_ASSERT_EQUAL(blk_io(&uq, VIRTIO_BLK_T_IN, 8, rbuf, 4096, NULL), VIRTIO_BLK_S_OK);
	CU_ASSERT(ut_all_bytes(gva(rbuf), 4096, 0));
	queue_stop(1);
	session_teardown();
}

static void
queue_answers_ioerr_beyond_capacity_and_keeps_serving(void)
{
	uint64_t buf;
	struct ut_q uq;

	session_setup("ut_range", false);
	buf = galloc(4096);
	CU_ASSERT_EQUAL(queue_start(&uq, 0, F_BASE, -1), 0);
	CU_ASSERT_EQUAL(blk_io(&uq, VIRTIO_BLK_T_IN, 2048, buf, 512, NULL), VIRTIO_BLK_S_IOERR);
	CU_ASSERT_EQUAL(blk_io(&uq, VIRTIO_BLK_T_IN, 2047, buf, 1024, NULL), VIRTIO_BLK_S_IOERR);
	CU_ASSERT_EQUAL(blk_io(&uq, 99, 0, buf, 512, NULL), VIRTIO_BLK_S_UNSUPP);
	CU_ASSERT_EQUAL(blk_io(&uq, VIRTIO_BLK_T_IN, 2047, buf, 512, NULL), VIRTIO_BLK_S_OK);
	queue_stop(0);
	session_teardown();
}

static void
queue_writes_ioerr_into_tail_of_a_malformed_chain(void)
{
	uint64_t hdr, st;
	struct ut_buf b[3];
	struct ut_q uq;
	uint32_t len;

	session_setup("ut_bad", false);
	hdr = galloc(16);
	st = galloc(1);
	CU_ASSERT_EQUAL(queue_start(&uq, 0, F_BASE, -1), 0);
	hdr_set(gva(hdr), VIRTIO_BLK_T_IN, 0);
	*(uint8_t *)gva(st) = 0xee;
	b[0] = (struct ut_buf){ hdr, 16, false };
	b[1] = (struct ut_buf){ GAP_GPA, 512, true }; /* outside guest memory */
	b[2] = (struct ut_buf){ st, 1, true };
	submit(&uq, b, 3);
	CU_ASSERT_FATAL(reap(&uq, &len));
	CU_ASSERT_EQUAL(len, 1);
	CU_ASSERT_EQUAL(*(uint8_t *)gva(st), VIRTIO_BLK_S_IOERR);
	CU_ASSERT_EQUAL(blk_io(&uq, VIRTIO_BLK_T_FLUSH, 0, 0, 0, NULL), VIRTIO_BLK_S_OK);
	queue_stop(0);
	session_teardown();
}

static void
queue_stops_on_a_request_without_status_byte(void)
{
	uint64_t hdr, data;
	struct ut_buf b[2];
	struct ut_q uq, other;
	uint32_t len;

	session_setup("ut_nostatus", false);
	hdr = galloc(16);
	data = galloc(512);
	CU_ASSERT_EQUAL(queue_start(&uq, 0, F_BASE, -1), 0);
	CU_ASSERT_EQUAL(queue_start(&other, 1, F_BASE, -1), 0);
	hdr_set(gva(hdr), VIRTIO_BLK_T_OUT, 0);
	b[0] = (struct ut_buf){ hdr, 16, false };
	b[1] = (struct ut_buf){ data, 512, false };
	submit(&uq, b, 2);
	CU_ASSERT_FALSE(reap_within(&uq, &len, 100));
	/* Nothing behind it is served; the other queue is. */
	submit(&uq, b, 2);
	CU_ASSERT_FALSE(reap_within(&uq, &len, 100));
	CU_ASSERT_EQUAL(blk_io(&other, VIRTIO_BLK_T_FLUSH, 0, 0, 0, NULL), VIRTIO_BLK_S_OK);
	CU_ASSERT_EQUAL(g_s->nrun, 1);
	queue_stop(0);
	queue_stop(1);
	session_teardown();
}

static void
queue_serves_chains_longer_than_the_inline_iovecs(void)
{
	const uint32_t nseg = 200;
	uint64_t hdr, st, table, data;
	struct vring_desc *t;
	struct ut_q uq;
	uint32_t len;

	session_setup("ut_long", false);
	hdr = galloc(16);
	st = galloc(1);
	table = galloc((nseg + 2) * 16);
	CU_ASSERT_EQUAL(queue_start(&uq, 0, F_BASE, -1), 0);
	hdr_set(gva(hdr), VIRTIO_BLK_T_IN, 0);
	t = gva(table);
	/* 1 KiB buffers every 2 KiB: no two adjacent, one iovec each. */
	data = galloc(nseg * 2048);
	for (uint32_t i = 0; i < nseg + 2; i++) {
		uint64_t a = i == 0 ? hdr : i == nseg + 1 ? st : data + (i - 1) * 2048;

		t[i].addr = htole64(a);
		t[i].len = htole32(i == 0 ? 16 : i == nseg + 1 ? 1 : 1024);
		t[i].flags = htole16((i > 0 ? VRING_DESC_F_WRITE : 0) |
				     (i < nseg + 1 ? VRING_DESC_F_NEXT : 0));
		t[i].next = htole16((uint16_t)(i + 1));
	}
	*(uint8_t *)gva(st) = 0xee;
	/* Three such requests at once: the first two borrow spare arrays, the third waits. */
	for (int r = 0; r < 4; r++) {
		struct vring_desc *desc = gva(uq.desc);
		struct vring_avail *avail = gva(uq.drv);

		desc[r].addr = htole64(table);
		desc[r].len = htole32((nseg + 2) * 16);
		desc[r].flags = htole16(VRING_DESC_F_INDIRECT);
		avail->ring[uq.avail_idx % QSIZE] = htole16((uint16_t)r);
		uq.avail_idx++;
	}
	__atomic_store_n(&((struct vring_avail *)gva(uq.drv))->idx, htole16(uq.avail_idx),
			 __ATOMIC_RELEASE);
	for (int r = 0; r < 4; r++) {
		CU_ASSERT_FATAL(reap(&uq, &len));
		CU_ASSERT_EQUAL(len, nseg * 1024 + 1);
	}
	CU_ASSERT_EQUAL(*(uint8_t *)gva(st), VIRTIO_BLK_S_OK);
	queue_stop(0);
	session_teardown();
}

static void
stop_answers_only_after_in_flight_requests_complete(void)
{
	uint64_t buf, hdr, st;
	struct vhost_call *call;
	struct ut_buf b[3];
	struct ut_q uq;
	uint32_t len;

	session_setup("ut_drain", false);
	buf = galloc(4096);
	hdr = galloc(16);
	st = galloc(1);
	CU_ASSERT_EQUAL(queue_start(&uq, 0, F_BASE, -1), 0);
	hdr_set(gva(hdr), VIRTIO_BLK_T_IN, 0);
	b[0] = (struct ut_buf){ hdr, 16, false };
	b[1] = (struct ut_buf){ buf, 4096, true };
	b[2] = (struct ut_buf){ st, 1, true };
	submit(&uq, b, 3);
	/* One iteration: the request is popped and at the bdev, not completed yet. */
	vt_reactor_poll_once();
	CU_ASSERT_EQUAL(g_s->queues[0]->inflight, 1);
	call = ut_call(vhost_queue_stop_fn);
	call->qidx = 0;
	call->fn(call);
	CU_ASSERT_FALSE(atomic_load(&call->answered));
	CU_ASSERT(ut_poll_until_answered(call));
	CU_ASSERT(call->u.stop.valid);
	CU_ASSERT_EQUAL(call->u.stop.avail_base, 1);
	CU_ASSERT_EQUAL(call->u.stop.used_base, 1);
	/* The request was completed and published before the answer. */
	CU_ASSERT_EQUAL(le16toh(((struct vring_used *)gva(uq.dev))->idx), 1);
	CU_ASSERT_EQUAL(*(uint8_t *)gva(st), VIRTIO_BLK_S_OK);
	vhost_call_put(call);
	CU_ASSERT_PTR_NULL(g_s->queues[0]);
	(void)len;
	session_teardown();
}

/* The daemon stop's pause: in-flight requests are counted, complete and are published; no
 * new request is taken, on that queue or on one started while the daemon stops. */
static void
pause_publishes_in_flight_requests_and_takes_no_new_one(void)
{
	uint64_t buf, hdr, st, st2;
	struct ut_buf b[3];
	struct ut_q uq, uq1;
	uint32_t len;

	session_setup("ut_pause", false);
	buf = galloc(4096);
	hdr = galloc(16);
	st = galloc(1);
	st2 = galloc(1);
	CU_ASSERT_EQUAL(queue_start(&uq, 0, F_BASE, -1), 0);
	hdr_set(gva(hdr), VIRTIO_BLK_T_IN, 0);
	b[0] = (struct ut_buf){ hdr, 16, false };
	b[1] = (struct ut_buf){ buf, 4096, true };
	b[2] = (struct ut_buf){ st, 1, true };
	submit(&uq, b, 3);
	vt_reactor_poll_once();
	CU_ASSERT_EQUAL_FATAL(g_s->queues[0]->inflight, 1);
	vhost_queue_pause(g_s->queues[0]);
	CU_ASSERT(g_s->queues[0]->paused);
	CU_ASSERT_EQUAL(atomic_load(&g_vhost_quiesce_inflight), 1);
	/* Completed and published by the pause's own path, with no poller pass. */
	CU_ASSERT(reap(&uq, &len));
	CU_ASSERT_EQUAL(*(uint8_t *)gva(st), VIRTIO_BLK_S_OK);
	CU_ASSERT_EQUAL(atomic_load(&g_vhost_quiesce_inflight), 0);
	/* A request made available now is not taken. */
	*(uint8_t *)gva(st2) = 0xee;
	b[2] = (struct ut_buf){ st2, 1, true };
	submit(&uq, b, 3);
	CU_ASSERT_FALSE(reap_within(&uq, &len, 100));
	CU_ASSERT_EQUAL(g_s->queues[0]->inflight, 0);
	CU_ASSERT_EQUAL(*(uint8_t *)gva(st2), 0xee);
	/* A queue started while the daemon stops starts paused. */
	atomic_store(&g_vhost_quiescing, true);
	CU_ASSERT_EQUAL(queue_start(&uq1, 1, F_BASE, -1), 0);
	CU_ASSERT(g_s->queues[1]->paused);
	submit(&uq1, b, 3);
	CU_ASSERT_FALSE(reap_within(&uq1, &len, 100));
	/* The stop reports the one request taken: the front end resubmits the other. */
	CU_ASSERT_EQUAL(queue_stop(0), 1);
	CU_ASSERT_EQUAL(queue_stop(1), 0);
	vhost_quiesce_reset();
	CU_ASSERT_FALSE(atomic_load(&g_vhost_quiescing));
	session_teardown();
}

static uint64_t
eventfd_count(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v)) {
		return 0;
	}
	return v;
}

static void
notifications_follow_the_driver_and_come_once_per_pass(void)
{
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	uint64_t buf, hdr, st;
	struct vring_avail *avail;
	struct ut_buf b[3];
	struct ut_q uq;
	uint32_t len;

	CU_ASSERT_FATAL(efd >= 0);
	session_setup("ut_notify", false);
	buf = galloc(4 * 512);
	hdr = galloc(16 * 4);
	st = galloc(4);
	CU_ASSERT_EQUAL(queue_start(&uq, 0, F_BASE, efd), 0);
	avail = gva(uq.drv);
	/* Four requests in one batch: their completions come in one pass, one notification. */
	for (int i = 0; i < 4; i++) {
		hdr_set(gva(hdr + 16 * i), VIRTIO_BLK_T_IN, (uint64_t)i);
		b[0] = (struct ut_buf){ hdr + 16 * i, 16, false };
		b[1] = (struct ut_buf){ buf + 512 * i, 512, true };
		b[2] = (struct ut_buf){ st + i, 1, true };
		submit(&uq, b, 3);
	}
	for (int i = 0; i < 4; i++) {
		CU_ASSERT(reap(&uq, &len));
	}
	ut_poll(2);
	CU_ASSERT_EQUAL(eventfd_count(efd), 1);
	/* The driver asks for no interrupts: none. */
	avail->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	CU_ASSERT_EQUAL(blk_io(&uq, VIRTIO_BLK_T_FLUSH, 0, 0, 0, NULL), VIRTIO_BLK_S_OK);
	ut_poll(2);
	CU_ASSERT_EQUAL(eventfd_count(efd), 0);
	avail->flags = 0;
	CU_ASSERT_EQUAL(blk_io(&uq, VIRTIO_BLK_T_FLUSH, 0, 0, 0, NULL), VIRTIO_BLK_S_OK);
	ut_poll(2);
	CU_ASSERT_EQUAL(eventfd_count(efd), 1);
	/* Polling: the device asked the driver not to kick. */
	CU_ASSERT(le16toh(((struct vring_used *)gva(uq.dev))->flags) & VRING_USED_F_NO_NOTIFY);
	queue_stop(0);
	session_teardown();
	close(efd);
}

static void
hot_removed_bdev_fails_io_and_reports_capacity_zero(void)
{
	struct virtio_blk_config cfg;
	struct blk_ctrlr *bc;
	uint64_t buf;
	struct ut_q uq;
	int done = 0;

	session_setup("ut_hotrm", false);
	buf = galloc(512);
	bc = g_ctrlr->backend;
	CU_ASSERT_EQUAL(queue_start(&uq, 0, F_BASE, -1), 0);
	CU_ASSERT_EQUAL(blk_io(&uq, VIRTIO_BLK_T_IN, 0, buf, 512, NULL), VIRTIO_BLK_S_OK);
	CU_ASSERT_EQUAL(bdev_malloc_delete(g_bdev, ut_delete_done, &done), 0);
	CU_ASSERT(ut_poll_until(&done, 1)); /* the controller closed its descriptor */
	g_bdev = NULL;
	CU_ASSERT(atomic_load(&bc->gone));
	CU_ASSERT_EQUAL(blk_io(&uq, VIRTIO_BLK_T_IN, 0, buf, 512, NULL), VIRTIO_BLK_S_IOERR);
	blk_get_config(g_ctrlr, (uint8_t *)&cfg, sizeof(cfg));
	CU_ASSERT_EQUAL(cfg.capacity, 0);
	queue_stop(0);
	session_teardown();
}

/* A session in interrupt mode with queue 0 started on kick fd kfd, EVENT_IDX: its used ring. */
static struct vring_used *
kick_queue_start(const char *name, struct ut_q *uq, int kfd)
{
	session_setup(name, false);
	g_s->interrupt_mode = true;
	g_kickfd = kfd;
	CU_ASSERT_EQUAL(queue_start(uq, 0, F_BASE | F_EVENT_IDX, -1), 0);
	g_kickfd = -1;
	return gva(uq->dev);
}

/* The avail_event field (after the used ring's entries): the index the next kick is for. */
static uint16_t
avail_event(struct vring_used *used)
{
	return le16toh(((volatile uint16_t *)used)[2 + 4 * QSIZE]);
}

/* An adaptive reactor within its polling window (arming false) keeps kicks off when idle. */
static void
adaptive_window_keeps_kicks_off_until_reactor_arms(void)
{
	int kfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct reactor *r = reactor_get_current();
	struct vring_used *used;
	struct ut_q uq;

	CU_ASSERT_FATAL(kfd >= 0);
	used = kick_queue_start("ut_adapt", &uq, kfd);
	/* The queue found work: kicks go off, and stay off while the reactor polls. */
	CU_ASSERT_EQUAL(blk_io(&uq, VIRTIO_BLK_T_FLUSH, 0, 0, 0, NULL), VIRTIO_BLK_S_OK);
	r->arming = false;
	CU_ASSERT_EQUAL(blk_io(&uq, VIRTIO_BLK_T_FLUSH, 0, 0, 0, NULL), VIRTIO_BLK_S_OK);
	ut_poll(3);
	CU_ASSERT_FALSE(g_s->queues[0]->kicks_on);
	/* The window passed: the next idle pass asks for the next available index. */
	r->arming = true;
	ut_poll(1);
	CU_ASSERT(g_s->queues[0]->kicks_on);
	CU_ASSERT_EQUAL(avail_event(used), 2);
	queue_stop(0);
	session_teardown();
	close(kfd);
}

static void
interrupt_mode_rearms_kicks_when_idle(void)
{
	int kfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct vring_used *used;
	struct ut_q uq;

	CU_ASSERT_FATAL(kfd >= 0);
	used = kick_queue_start("ut_intr", &uq, kfd);
	CU_ASSERT_EQUAL(blk_io(&uq, VIRTIO_BLK_T_FLUSH, 0, 0, 0, NULL), VIRTIO_BLK_S_OK);
	ut_poll(3);
	/* Idle: kicks requested for the next available index (avail_event after the ring). */
	CU_ASSERT(g_s->queues[0]->kicks_on);
	CU_ASSERT_EQUAL(avail_event(used), 1);
	/* Idle, nothing in flight: the session poller lets the reactor sleep. */
	CU_ASSERT_EQUAL(vt_reactor_poll_once(), VT_POLLER_IDLE);
	queue_stop(0);
	session_teardown();
	close(kfd);
}

static void
interrupt_mode_without_kick_fd_keeps_polling(void)
{
	struct ut_q uq;

	session_setup("ut_nokick", false);
	g_s->interrupt_mode = true;
	CU_ASSERT_EQUAL(queue_start(&uq, 0, F_BASE, -1), 0);
	CU_ASSERT(g_s->queues[0]->no_kicks);
	CU_ASSERT_EQUAL(vt_reactor_poll_once(), VT_POLLER_BUSY);
	CU_ASSERT_EQUAL(blk_io(&uq, VIRTIO_BLK_T_FLUSH, 0, 0, 0, NULL), VIRTIO_BLK_S_OK);
	CU_ASSERT(le16toh(((struct vring_used *)gva(uq.dev))->flags) & VRING_USED_F_NO_NOTIFY);
	queue_stop(0);
	session_teardown();
}

static void
requests_wait_for_bdev_io_objects_and_all_complete(void)
{
	struct bdev_opts saved = g_bdev_opts, small = g_bdev_opts;
	uint64_t buf, hdr, st;
	struct ut_buf b[3];
	struct ut_q uq;
	uint32_t len;
	char err[128];

	/* Channels created from now on hold 4 I/O objects: 16 requests cannot all go at once. */
	small.bdev_io_cache_size = 4;
	CU_ASSERT_EQUAL_FATAL(bdev_set_opts(&small, err, sizeof(err)), 0);
	session_setup("ut_nomem", false);
	buf = galloc(16 * 512);
	hdr = galloc(16 * 16);
	st = galloc(16);
	CU_ASSERT_EQUAL(queue_start(&uq, 0, F_BASE, -1), 0);
	for (int i = 0; i < 16; i++) {
		hdr_set(gva(hdr + 16 * i), VIRTIO_BLK_T_IN, (uint64_t)i);
		*(uint8_t *)gva(st + i) = 0xee;
		b[0] = (struct ut_buf){ hdr + 16 * i, 16, false };
		b[1] = (struct ut_buf){ buf + 512 * i, 512, true };
		b[2] = (struct ut_buf){ st + i, 1, true };
		submit(&uq, b, 3);
	}
	for (int i = 0; i < 16; i++) {
		CU_ASSERT_FATAL(reap(&uq, &len));
		CU_ASSERT_EQUAL(len, 513);
	}
	for (int i = 0; i < 16; i++) {
		CU_ASSERT_EQUAL(*(uint8_t *)gva(st + i), VIRTIO_BLK_S_OK);
	}
	queue_stop(0);
	session_teardown();
	CU_ASSERT_EQUAL(bdev_set_opts(&saved, err, sizeof(err)), 0);
}

static void
session_destroy_waits_for_every_queue(void)
{
	struct ut_q a, b;

	session_setup("ut_destroy", false);
	CU_ASSERT_EQUAL(queue_start(&a, 0, F_BASE, -1), 0);
	CU_ASSERT_EQUAL(queue_start(&b, 5, F_BASE | F_PACKED, -1), 0);
	CU_ASSERT_EQUAL(g_s->nqueues, 2);
	CU_ASSERT_EQUAL(blk_io(&b, VIRTIO_BLK_T_FLUSH, 0, 0, 0, NULL), VIRTIO_BLK_S_OK);
	session_teardown(); /* asserts the session left the controller's list */
}

/* A restart with completions in the ring notifies once: the last one may have gone to the
 * call fd the front end just replaced. A fresh queue does not. */
static void
queue_restart_with_used_entries_notifies_the_new_call_fd(void)
{
	int callfd = eventfd(0, EFD_NONBLOCK);
	struct vhost_call *call;
	struct vhost_queue_params *p;
	struct ut_q uq;
	uint64_t val = 0;

	session_setup("ut_restart", false);
	CU_ASSERT_FATAL(callfd >= 0);
	CU_ASSERT_EQUAL(queue_start(&uq, 0, F_BASE, callfd), 0);
	CU_ASSERT(read(callfd, &val, sizeof(val)) < 0); /* fresh: nothing */
	queue_stop(0);

	call = ut_call(vhost_queue_start_fn);
	p = &call->u.start;
	p->vq = (struct vhost_vq_params){
		.name = "ut",
		.index = 0,
		.size = QSIZE,
		.features = F_BASE,
		.avail_base = 3,
		.used_base = 3,
	};
	p->desc = gva(uq.desc);
	p->driver = gva(uq.drv);
	p->device = gva(uq.dev);
	p->kickfd = -1;
	p->callfd = dup(callfd);
	p->map = g_map;
	p->q = vhost_queue_alloc(g_s, QSIZE);
	CU_ASSERT_FATAL(p->q != NULL);
	CU_ASSERT_EQUAL(ut_run(call), 0);
	vhost_call_put(call);
	CU_ASSERT_EQUAL(read(callfd, &val, sizeof(val)), (ssize_t)sizeof(val));
	CU_ASSERT_EQUAL(val, 1);
	queue_stop(0);
	close(callfd);
	session_teardown();
}

/* ---- dirty logging (migration) ------------------------------------------------------------- */

#define PAGE ((uint64_t)4096)
#define LOG_PAGES ((MEM_GPA + MEM_SIZE) / PAGE)

static uint8_t g_logbits[LOG_PAGES / 8];

/* Hands the session a log over g_logbits (cleared) with LOG_ALL on or off. */
static void
log_set(bool on)
{
	struct vhost_call *call = ut_call(vhost_session_set_log_fn);

	memset(g_logbits, 0, sizeof(g_logbits));
	call->u.log.log = vhost_log_wrap(g_logbits, sizeof(g_logbits));
	call->u.log.replace = true;
	call->u.log.on = on;
	CU_ASSERT_EQUAL(ut_run(call), 0);
	vhost_call_put(call);
}

static bool
log_marked(uint64_t gpa)
{
	uint64_t page = gpa / PAGE;

	return (g_logbits[page / 8] >> (page % 8)) & 1;
}

/* A page of its own (gpa of its start); everything allocated later is on later pages. */
static uint64_t
galloc_pages(uint32_t n)
{
	g_bump = VT_ALIGN_UP(g_bump, PAGE);
	return galloc(n * (uint32_t)PAGE);
}

/*
 * The pages marked at or above first (the buffers; the rings are below it) are exactly the
 * ones listed (gpas inside them, 0-terminated).
 */
static void
assert_marked_exactly(uint64_t first, const uint64_t *gpas)
{
	for (uint64_t p = first / PAGE; p < LOG_PAGES; p++) {
		bool want = false;

		for (const uint64_t *g = gpas; *g != 0; g++) {
			want |= *g / PAGE == p;
		}
		CU_ASSERT_EQUAL(log_marked(p * PAGE), want);
		if (log_marked(p * PAGE) != want) {
			printf("page 0x%" PRIx64 ": marked %d, expected %d\n", p * PAGE,
			       log_marked(p * PAGE), want);
		}
	}
}

/* One request with its header, data and status each where the caller wants them. */
static uint8_t
blk_io_at(struct ut_q *uq, uint32_t type, uint64_t hdr, uint64_t data, uint32_t data_len,
	  uint64_t st)
{
	bool to_dev = type == VIRTIO_BLK_T_OUT;
	struct ut_buf b[3] = {
		{ hdr, 16, false },
		{ data, data_len, !to_dev },
		{ st, 1, true },
	};
	uint32_t len;

	hdr_set(gva(hdr), type, 8);
	*(uint8_t *)gva(st) = 0xee;
	submit(uq, b, 3);
	CU_ASSERT_FATAL(reap(uq, &len));
	if (uq->packed) {
		packed_consumed(uq, 3);
	}
	return *(uint8_t *)gva(st);
}

/* The ring store that published the last request is logged (split: used->idx). */
static void
assert_ring_logged(const struct ut_q *uq)
{
	if (uq->packed) {
		CU_ASSERT_TRUE(log_marked(uq->desc));
	} else {
		CU_ASSERT_TRUE(log_marked(uq->dev + offsetof(struct vring_used, idx)));
	}
}

static void
log_each_write_path(uint64_t features)
{
	uint64_t hdr, data, st, first;
	const char *name = (features & F_PACKED) ? "ut_logp" : "ut_logs";
	struct ut_q uq;

	session_setup(name, false);
	log_set(true);
	CU_ASSERT_EQUAL(queue_start(&uq, 0, features, -1), 0);
	first = galloc_pages(1); /* every buffer below is above the rings */
	hdr = galloc_pages(1);
	data = galloc_pages(3);
	st = galloc_pages(1) + 100;

	/* A read crossing a page boundary marks both pages, and the status byte its page. */
	memset(g_logbits, 0, sizeof(g_logbits));
	CU_ASSERT_EQUAL(blk_io_at(&uq, VIRTIO_BLK_T_IN, hdr, data + PAGE - 512, 1024, st),
			VIRTIO_BLK_S_OK);
	assert_marked_exactly(first, (const uint64_t[]){ data, data + PAGE, st, 0 });
	assert_ring_logged(&uq);

	/* A write: the data is the device's to read, only the status byte is written. */
	memset(g_logbits, 0, sizeof(g_logbits));
	CU_ASSERT_EQUAL(blk_io_at(&uq, VIRTIO_BLK_T_OUT, hdr, data + PAGE - 512, 1024, st),
			VIRTIO_BLK_S_OK);
	assert_marked_exactly(first, (const uint64_t[]){ st, 0 });
	assert_ring_logged(&uq);

	/* GET_ID: 20 bytes of a larger buffer; the buffer's second page is not touched. */
	memset(g_logbits, 0, sizeof(g_logbits));
	CU_ASSERT_EQUAL(blk_io_at(&uq, VIRTIO_BLK_T_GET_ID, hdr, data + PAGE - 20, 512, st),
			VIRTIO_BLK_S_OK);
	assert_marked_exactly(first, (const uint64_t[]){ data, st, 0 });

	/* FLUSH with a writable buffer: only the status byte is written. */
	memset(g_logbits, 0, sizeof(g_logbits));
	CU_ASSERT_EQUAL(blk_io_at(&uq, VIRTIO_BLK_T_FLUSH, hdr, data, 512, st), VIRTIO_BLK_S_OK);
	assert_marked_exactly(first, (const uint64_t[]){ st, 0 });

	/* LOG_ALL off: a read marks nothing at all, rings included. */
	log_set(false);
	CU_ASSERT_EQUAL(blk_io_at(&uq, VIRTIO_BLK_T_IN, hdr, data + PAGE - 512, 1024, st),
			VIRTIO_BLK_S_OK);
	for (size_t i = 0; i < sizeof(g_logbits); i++) {
		CU_ASSERT_EQUAL(g_logbits[i], 0);
	}
	/* And on again on the running queue. */
	log_set(true);
	CU_ASSERT_EQUAL(blk_io_at(&uq, VIRTIO_BLK_T_IN, hdr, data, 512, st), VIRTIO_BLK_S_OK);
	assert_marked_exactly(first, (const uint64_t[]){ data, st, 0 });
	queue_stop(0);
	session_teardown();
}

/* The handover: a stop answers once the request in flight completed, logged and published. */
static void
stop_answers_once_in_flight_completions_are_logged(void)
{
	uint64_t buf, hdr, st, first;
	struct vhost_call *call;
	struct ut_buf b[3];
	struct ut_q uq;

	session_setup("ut_logdrain", false);
	log_set(true);
	CU_ASSERT_EQUAL(queue_start(&uq, 0, F_BASE, -1), 0);
	first = galloc_pages(1);
	hdr = galloc_pages(1);
	buf = galloc_pages(1);
	st = galloc_pages(1);
	hdr_set(gva(hdr), VIRTIO_BLK_T_IN, 0);
	memset(gva(buf), 0xa5, 4096);
	b[0] = (struct ut_buf){ hdr, 16, false };
	b[1] = (struct ut_buf){ buf, 4096, true };
	b[2] = (struct ut_buf){ st, 1, true };
	submit(&uq, b, 3);
	vt_reactor_poll_once();
	CU_ASSERT_EQUAL(g_s->queues[0]->inflight, 1);
	memset(g_logbits, 0, sizeof(g_logbits));
	call = ut_call(vhost_queue_stop_fn);
	call->qidx = 0;
	call->fn(call);
	CU_ASSERT_FALSE(atomic_load(&call->answered));
	CU_ASSERT_EQUAL(log_marked(buf), false);
	CU_ASSERT(ut_poll_until_answered(call));
	CU_ASSERT_EQUAL(call->u.stop.avail_base, 1);
	CU_ASSERT_EQUAL(call->u.stop.used_base, 1);
	assert_marked_exactly(first, (const uint64_t[]){ buf, st, 0 });
	assert_ring_logged(&uq);
	vhost_call_put(call);
	session_teardown();
}

static void
log_marks_exactly_the_pages_each_write_path_touched_split(void)
{
	log_each_write_path(F_BASE | F_EVENT_IDX);
}

static void
log_marks_exactly_the_pages_each_write_path_touched_packed(void)
{
	log_each_write_path(F_BASE | F_EVENT_IDX | F_PACKED);
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	s = CU_add_suite("vhost_blk_parse", NULL, NULL);
	CU_ADD_TEST(s, parse_finds_header_data_and_status_of_a_read);
	CU_ADD_TEST(s, parse_splits_header_from_data_sharing_one_buffer);
	CU_ADD_TEST(s, parse_takes_status_from_the_end_of_the_last_data_buffer);
	CU_ADD_TEST(s, parse_reassembles_header_split_across_buffers);
	CU_ADD_TEST(s, parse_answers_ioerr_for_header_shorter_than_16_bytes);
	CU_ADD_TEST(s, parse_without_writable_byte_cannot_answer);
	CU_ADD_TEST(s, check_refuses_misaligned_and_out_of_range_io);
	CU_ADD_TEST(s, check_zero_length_io_succeeds_inside_the_device_only);
	CU_ADD_TEST(s, check_segments_follow_flags_limits_and_alignment);
	CU_ADD_TEST(s, check_refuses_changes_to_read_only_device);
	CU_ADD_TEST(s, check_answers_unsupp_for_unknown_types_and_unoffered_features);
	CU_ADD_TEST(s, check_get_id_writes_name_zero_padded_not_terminated_at_20);
	CU_ADD_TEST(s, check_flush_without_volatile_cache_completes_at_once);
	CU_ADD_TEST(s, config_reflects_bdev_geometry_and_limits);
	CU_ADD_TEST(s, features_follow_bdev_capabilities);
	s = CU_add_suite("vhost_blk_queue", ut_reactor_suite_init, ut_reactor_suite_fini);
	CU_ADD_TEST(s, queue_writes_then_reads_back_guest_buffers);
	CU_ADD_TEST(s, queue_serves_packed_ring_and_discard_write_zeroes);
	CU_ADD_TEST(s, queue_answers_ioerr_beyond_capacity_and_keeps_serving);
	CU_ADD_TEST(s, queue_restart_with_used_entries_notifies_the_new_call_fd);
	CU_ADD_TEST(s, queue_writes_ioerr_into_tail_of_a_malformed_chain);
	CU_ADD_TEST(s, queue_stops_on_a_request_without_status_byte);
	CU_ADD_TEST(s, queue_serves_chains_longer_than_the_inline_iovecs);
	CU_ADD_TEST(s, stop_answers_only_after_in_flight_requests_complete);
	CU_ADD_TEST(s, pause_publishes_in_flight_requests_and_takes_no_new_one);
	CU_ADD_TEST(s, notifications_follow_the_driver_and_come_once_per_pass);
	CU_ADD_TEST(s, hot_removed_bdev_fails_io_and_reports_capacity_zero);
	CU_ADD_TEST(s, interrupt_mode_rearms_kicks_when_idle);
	CU_ADD_TEST(s, adaptive_window_keeps_kicks_off_until_reactor_arms);
	CU_ADD_TEST(s, interrupt_mode_without_kick_fd_keeps_polling);
	CU_ADD_TEST(s, requests_wait_for_bdev_io_objects_and_all_complete);
	CU_ADD_TEST(s, session_destroy_waits_for_every_queue);
	CU_ADD_TEST(s, log_marks_exactly_the_pages_each_write_path_touched_split);
	CU_ADD_TEST(s, log_marks_exactly_the_pages_each_write_path_touched_packed);
	CU_ADD_TEST(s, stop_answers_once_in_flight_completions_are_logged);
	return ut_run_tests();
}
