/* SPDX-License-Identifier: BSD-3-Clause */
/* EXTENDED COPY (LID1) and RECEIVE COPY RESULTS (scsi_xcopy.c) on malloc bdevs. */
#define XCOPY_CHUNK_BYTES 4096u /* 8 blocks: a copy takes many steps */
#include "lib/scsi/scsi_xcopy.c"

#include "test/unit/lib/scsi/ut_scsi.h"

static struct ut_fix g_f;
static uint8_t g_buf[64 * 1024];
static uint8_t g_rbuf[64 * 1024];
static uint8_t g_list[2048];
static uint8_t g_desig[24]; /* LUN 0's NAA designator */

#define OUT VT_SCSI_DIR_TO_DEV
#define IN VT_SCSI_DIR_FROM_DEV
#define NONE VT_SCSI_DIR_NONE
#define COPY_ABORTED VT_SCSI_SENSE_COPY_ABORTED

/* ---- parameter list builders ---------------------------------------------------------------- */

static void
list_header(uint8_t list_id, uint8_t usage, uint32_t tgt_len, uint32_t seg_len)
{
	memset(g_list, 0, XCOPY_HDR_LEN);
	g_list[0] = list_id;
	g_list[1] = (uint8_t)(usage << 3);
	vt_scsi_put16(&g_list[2], (uint16_t)tgt_len);
	vt_scsi_put32(&g_list[8], seg_len);
}

/* An identification target descriptor at off naming desig with block length bs. */
static uint32_t
list_target(uint32_t off, const uint8_t *desig, uint32_t bs)
{
	uint8_t *p = &g_list[off];

	memset(p, 0, XCOPY_TGT_DESC_LEN);
	p[0] = XCOPY_TGT_IDENT;
	memcpy(&p[4], desig, 4u + desig[3]);
	p[29] = (uint8_t)(bs >> 16);
	p[30] = (uint8_t)(bs >> 8);
	p[31] = (uint8_t)bs;
	return off + XCOPY_TGT_DESC_LEN;
}

static uint32_t
list_segment(uint32_t off, uint16_t src, uint16_t dst, uint16_t blocks, uint64_t src_lba,
	     uint64_t dst_lba)
{
	uint8_t *p = &g_list[off];

	memset(p, 0, XCOPY_B2B_DESC_LEN);
	p[0] = XCOPY_SEG_B2B;
	vt_scsi_put16(&p[2], XCOPY_B2B_DESC_LEN - 4);
	vt_scsi_put16(&p[4], src);
	vt_scsi_put16(&p[6], dst);
	vt_scsi_put16(&p[10], blocks);
	vt_scsi_put64(&p[12], src_lba);
	vt_scsi_put64(&p[20], dst_lba);
	return off + XCOPY_B2B_DESC_LEN;
}

/* One target (LUN 0) and one segment: the list most tests start from; returns its length. */
static uint32_t
list_simple(uint8_t list_id, uint8_t usage, uint16_t blocks, uint64_t src_lba, uint64_t dst_lba)
{
	list_header(list_id, usage, XCOPY_TGT_DESC_LEN, XCOPY_B2B_DESC_LEN);
	list_target(XCOPY_HDR_LEN, g_desig, UT_BS);
	return list_segment(XCOPY_HDR_LEN + XCOPY_TGT_DESC_LEN, 0, 0, blocks, src_lba, dst_lba);
}

static void
xcopy_cdb(uint8_t *cdb, uint32_t len)
{
	memset(cdb, 0, 16);
	cdb[0] = VT_SCSI_OP_EXTENDED_COPY;
	vt_scsi_put32(&cdb[10], len);
}

/* ---- block helpers -------------------------------------------------------------------------- */

static void
rw(uint64_t lun, uint8_t op, uint32_t lba, uint16_t n, uint8_t *buf)
{
	uint8_t cdb[10] = { op };
	struct ut_cmd c;

	vt_scsi_put32(&cdb[2], lba);
	vt_scsi_put16(&cdb[7], n);
	CU_ASSERT_EQUAL(ut_run(&c, g_f.a, lun, cdb, 10, op == VT_SCSI_OP_READ_10 ? IN : OUT, buf,
			       n * UT_BS),
			VT_SCSI_STATUS_GOOD);
}

static void
fill(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++) {
		p[i] = (uint8_t)(seed + i * 13);
	}
}

static bool
is_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] != 0) {
			return false;
		}
	}
	return true;
}

static void
setup(void)
{
	ut_fix_setup(&g_f, "ut_xcopy");
	ut_lun_designator(g_f.a, 0, g_desig);
}

/* A second LUN (lun_id) on a bdev of bs-byte blocks; its unit attention cleared for port a. */
static struct vt_bdev *
add_lun(const char *name, uint32_t lun_id, uint32_t bs)
{
	struct bdev_malloc_opts opts = { .name = name, .num_blocks = UT_BLOCKS, .block_size = bs };
	uint8_t tur[6] = { 0 };
	struct vt_bdev *bdev;
	struct ut_cmd c;

	CU_ASSERT_EQUAL_FATAL(bdev_malloc_create(&opts, &bdev), 0);
	CU_ASSERT_EQUAL_FATAL(vt_scsi_dev_add_lun(g_f.dev, name, (int)lun_id, NULL, NULL),
			      (int)lun_id);
	ut_run(&c, g_f.a, lun_id, tur, 6, NONE, NULL, 0);
	ut_run(&c, g_f.b, lun_id, tur, 6, NONE, NULL, 0);
	return bdev;
}

static void
remove_lun(uint32_t lun_id, struct vt_bdev *bdev)
{
	int done = 0, del = 0;

	CU_ASSERT_EQUAL(vt_scsi_dev_remove_lun(g_f.dev, lun_id, ut_lun_done, &done), 0);
	CU_ASSERT(ut_poll_until(&done, 1));
	CU_ASSERT_EQUAL(bdev_malloc_delete(bdev, ut_delete_cb, &del), 0);
	CU_ASSERT(ut_poll_until(&del, 1));
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void
extended_copy_copies_blocks_within_a_lun(void)
{
	uint8_t cdb[16];
	struct ut_cmd c;
	uint32_t len;

	setup();
	fill(g_buf, 100 * UT_BS, 3);
	rw(0, VT_SCSI_OP_WRITE_10, 10, 100, g_buf);
	len = list_simple(1, 0x02, 100, 10, 1500);
	xcopy_cdb(cdb, len);
	UT_EXPECT_GOOD(&c, g_f.a, cdb, OUT, g_list, len);
	CU_ASSERT_EQUAL(c.task.data_transferred, len);
	rw(0, VT_SCSI_OP_READ_10, 1500, 100, g_rbuf);
	CU_ASSERT_EQUAL(memcmp(g_buf, g_rbuf, 100 * UT_BS), 0);
	/* A parameter list length of 0 copies nothing and is no error. */
	xcopy_cdb(cdb, 0);
	UT_EXPECT_GOOD(&c, g_f.a, cdb, NONE, NULL, 0);
	ut_fix_teardown(&g_f);
}

static void
extended_copy_overlapping_forward_range_copies_from_the_end(void)
{
	uint8_t cdb[16];
	struct ut_cmd c;
	uint32_t len;

	setup();
	fill(g_buf, 64 * UT_BS, 9);
	rw(0, VT_SCSI_OP_WRITE_10, 0, 64, g_buf);
	/* Blocks 0-63 to 5-68: a front-to-back copy would read what it just wrote. */
	len = list_simple(1, 0x02, 64, 0, 5);
	xcopy_cdb(cdb, len);
	UT_EXPECT_GOOD(&c, g_f.a, cdb, OUT, g_list, len);
	rw(0, VT_SCSI_OP_READ_10, 5, 64, g_rbuf);
	CU_ASSERT_EQUAL(memcmp(g_buf, g_rbuf, 64 * UT_BS), 0);
	ut_fix_teardown(&g_f);
}

static void
extended_copy_copies_between_luns_of_the_device(void)
{
	struct vt_bdev *b1 = NULL;
	uint8_t cdb[16], desig1[24];
	struct ut_cmd c;
	uint32_t off;

	setup();
	b1 = add_lun("ut_xcopy1", 1, UT_BS);
	ut_lun_designator(g_f.a, 1, desig1);
	CU_ASSERT_NOT_EQUAL(memcmp(desig1, g_desig, 24), 0);
	fill(g_buf, 32 * UT_BS, 77);
	rw(0, VT_SCSI_OP_WRITE_10, 0, 32, g_buf);
	/* Sent to LUN 0, copying LUN 0 blocks 0-31 to LUN 1 blocks 100-131. */
	list_header(2, 0x00, 2 * XCOPY_TGT_DESC_LEN, XCOPY_B2B_DESC_LEN);
	off = list_target(XCOPY_HDR_LEN, g_desig, UT_BS);
	off = list_target(off, desig1, UT_BS);
	off = list_segment(off, 0, 1, 32, 0, 100);
	xcopy_cdb(cdb, off);
	UT_EXPECT_GOOD(&c, g_f.a, cdb, OUT, g_list, off);
	rw(1, VT_SCSI_OP_READ_10, 100, 32, g_rbuf);
	CU_ASSERT_EQUAL(memcmp(g_buf, g_rbuf, 32 * UT_BS), 0);
	/* The copy held LUN 1 only while it ran. */
	CU_ASSERT_EQUAL(vt_scsi_lun_tasks_in_flight(vt_scsi_dev_get_lun(g_f.dev, 1)), 0);
	/* LUN 1's logical unit being sanitized: the copy is aborted. */
	vt_scsi_dev_get_lun(g_f.dev, 1)->lu->sanitize_state = SCSI_LU_SANITIZING;
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_list, off, COPY_ABORTED,
			VT_SCSI_ASC_SANITIZE_IN_PROGRESS);
	vt_scsi_dev_get_lun(g_f.dev, 1)->lu->sanitize_state = 0;
	remove_lun(1, b1);
	ut_fix_teardown(&g_f);
}

static void
extended_copy_refuses_bad_list_lengths(void)
{
	uint8_t cdb[16];
	struct ut_cmd c;
	uint32_t len, off;

	setup();
	len = list_simple(1, 0, 8, 0, 100);
	/* Shorter than the header, or than the descriptors the header announces. */
	xcopy_cdb(cdb, 8);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_list, 8, UT_ILLEGAL,
			VT_SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
	xcopy_cdb(cdb, len - 1);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_list, len - 1, UT_ILLEGAL,
			VT_SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
	xcopy_cdb(cdb, XCOPY_HDR_LEN + XCOPY_TGT_DESC_LEN - 1);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_list, XCOPY_HDR_LEN + XCOPY_TGT_DESC_LEN - 1,
			UT_ILLEGAL, VT_SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
	/* Descriptors beyond the MAXIMUM DESCRIPTOR LIST LENGTH. */
	list_header(1, 0, 9 * XCOPY_TGT_DESC_LEN, 33 * XCOPY_B2B_DESC_LEN);
	xcopy_cdb(cdb, sizeof(g_list));
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_list, sizeof(g_list), UT_ILLEGAL,
			VT_SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
	/* Inline data is not supported: INVALID FIELD IN PARAMETER LIST on INLINE DATA LENGTH. */
	len = list_simple(1, 0, 8, 0, 100);
	vt_scsi_put32(&g_list[12], 4);
	xcopy_cdb(cdb, len + 4);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_list, len + 4, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST);
	CU_ASSERT_EQUAL(c.task.sense[15], 0x80); /* SKSV, parameter list */
	CU_ASSERT_EQUAL(vt_scsi_get16(&c.task.sense[16]), 12);
	/* LIST ID USAGE 01b is reserved. */
	len = list_simple(1, 0x01, 8, 0, 100);
	xcopy_cdb(cdb, len);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_list, len, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST);
	CU_ASSERT_EQUAL(c.task.sense[15], 0x80 | 0x08 | 4);
	CU_ASSERT_EQUAL(vt_scsi_get16(&c.task.sense[16]), 1);
	/* A segment descriptor with a wrong DESCRIPTOR LENGTH. */
	list_header(1, 0, XCOPY_TGT_DESC_LEN, XCOPY_B2B_DESC_LEN);
	off = list_target(XCOPY_HDR_LEN, g_desig, UT_BS);
	list_segment(off, 0, 0, 8, 0, 100);
	vt_scsi_put16(&g_list[off + 2], 0x14);
	xcopy_cdb(cdb, off + XCOPY_B2B_DESC_LEN);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_list, off + XCOPY_B2B_DESC_LEN, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST);
	CU_ASSERT_EQUAL(vt_scsi_get16(&c.task.sense[16]), off + 2);
	ut_fix_teardown(&g_f);
}

static void
extended_copy_refuses_too_many_or_unsupported_descriptors(void)
{
	uint8_t cdb[16];
	struct ut_cmd c;
	uint32_t off;

	setup();
	list_header(1, 0, (XCOPY_MAX_TARGETS + 1) * XCOPY_TGT_DESC_LEN, XCOPY_B2B_DESC_LEN);
	off = XCOPY_HDR_LEN;
	for (uint32_t i = 0; i < XCOPY_MAX_TARGETS + 1; i++) {
		off = list_target(off, g_desig, UT_BS);
	}
	off = list_segment(off, 0, 0, 1, 0, 100);
	xcopy_cdb(cdb, off);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_list, off, UT_ILLEGAL,
			VT_SCSI_ASC_TOO_MANY_TARGET_DESCS);
	list_header(1, 0, XCOPY_TGT_DESC_LEN, (XCOPY_MAX_SEGMENTS + 1) * XCOPY_B2B_DESC_LEN);
	off = list_target(XCOPY_HDR_LEN, g_desig, UT_BS);
	for (uint32_t i = 0; i < XCOPY_MAX_SEGMENTS + 1; i++) {
		off = list_segment(off, 0, 0, 1, 0, 100);
	}
	xcopy_cdb(cdb, off);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_list, off, UT_ILLEGAL,
			VT_SCSI_ASC_TOO_MANY_SEGMENT_DESCS);
	/* A Fibre Channel N_Port_Name target descriptor (E0h). */
	off = list_simple(1, 0, 8, 0, 100);
	g_list[XCOPY_HDR_LEN] = 0xe0;
	xcopy_cdb(cdb, off);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_list, off, UT_ILLEGAL,
			VT_SCSI_ASC_UNSUPPORTED_TARGET_DESC_TYPE);
	/* A stream to stream segment descriptor (03h). */
	off = list_simple(1, 0, 8, 0, 100);
	g_list[XCOPY_HDR_LEN + XCOPY_TGT_DESC_LEN] = 0x03;
	xcopy_cdb(cdb, off);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_list, off, UT_ILLEGAL,
			VT_SCSI_ASC_UNSUPPORTED_SEGMENT_DESC_TYPE);
	/* A target of another device type than block. */
	off = list_simple(1, 0, 8, 0, 100);
	g_list[XCOPY_HDR_LEN + 1] = 0x01;
	xcopy_cdb(cdb, off);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_list, off, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST);
	CU_ASSERT_EQUAL(vt_scsi_get16(&c.task.sense[16]), XCOPY_HDR_LEN + 1);
	ut_fix_teardown(&g_f);
}

static void
extended_copy_aborts_on_unreachable_targets_and_ranges(void)
{
	uint32_t seg = XCOPY_HDR_LEN + XCOPY_TGT_DESC_LEN;
	struct vt_bdev *b2;
	uint8_t cdb[16], other[24], desig2[24];
	struct ut_cmd c;
	uint32_t off;

	setup();
	/* A designator no LUN of the device has. */
	memcpy(other, g_desig, sizeof(other));
	other[4 + 5] ^= 0xff;
	list_header(1, 0, XCOPY_TGT_DESC_LEN, XCOPY_B2B_DESC_LEN);
	off = list_target(XCOPY_HDR_LEN, other, UT_BS);
	off = list_segment(off, 0, 0, 8, 0, 100);
	xcopy_cdb(cdb, off);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_list, off, COPY_ABORTED,
			VT_SCSI_ASC_COPY_TARGET_NOT_REACHABLE);
	/* A segment naming a target descriptor that is not there. */
	off = list_simple(1, 0, 8, 0, 100);
	vt_scsi_put16(&g_list[seg + 6], 1);
	xcopy_cdb(cdb, off);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_list, off, COPY_ABORTED,
			VT_SCSI_ASC_COPY_TARGET_NOT_REACHABLE);
	CU_ASSERT_EQUAL(c.task.sense[15], 0x80 | 0x20); /* SKSV, SD: segment pointer */
	CU_ASSERT_EQUAL(vt_scsi_get16(&c.task.sense[16]), seg);
	/* Blocks past the end of the destination. */
	off = list_simple(1, 0, 8, 0, UT_BLOCKS - 1);
	xcopy_cdb(cdb, off);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_list, off, COPY_ABORTED, VT_SCSI_ASC_NONE);
	/* A DISK BLOCK LENGTH that is not the LUN's, and LUNs of different block sizes. */
	off = list_simple(1, 0, 8, 0, 100);
	g_list[XCOPY_HDR_LEN + 30] = 0x10;
	xcopy_cdb(cdb, off);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_list, off, COPY_ABORTED,
			VT_SCSI_ASC_INCORRECT_COPY_TARGET_TYPE);
	b2 = add_lun("ut_xcopy2", 2, 4096);
	ut_lun_designator(g_f.a, 2, desig2);
	list_header(1, 0, 2 * XCOPY_TGT_DESC_LEN, XCOPY_B2B_DESC_LEN);
	off = list_target(XCOPY_HDR_LEN, g_desig, UT_BS);
	off = list_target(off, desig2, 4096);
	off = list_segment(off, 0, 1, 8, 0, 0);
	xcopy_cdb(cdb, off);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_list, off, COPY_ABORTED,
			VT_SCSI_ASC_INCORRECT_COPY_TARGET_TYPE);
	remove_lun(2, b2);
	ut_fix_teardown(&g_f);
}

static void
receive_copy_results_reports_copy_status_and_operating_parameters(void)
{
	uint8_t cdb[16], rcr[16] = { VT_SCSI_OP_RECEIVE_COPY_RESULTS, VT_SCSI_RCR_COPY_STATUS, 7 };
	struct ut_cmd c;
	uint32_t len;

	setup();
	vt_scsi_put32(&rcr[10], 1024);
	/* No copy with list identifier 7: INVALID FIELD IN CDB on LIST IDENTIFIER. */
	UT_EXPECT_CHECK(&c, g_f.a, rcr, IN, g_rbuf, 1024, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	CU_ASSERT_EQUAL(vt_scsi_get16(&c.task.sense[16]), 2);
	len = list_simple(7, 0x00, 40, 0, 200);
	xcopy_cdb(cdb, len);
	UT_EXPECT_GOOD(&c, g_f.a, cdb, OUT, g_list, len);
	UT_EXPECT_GOOD(&c, g_f.a, rcr, IN, g_rbuf, 1024);
	CU_ASSERT_EQUAL(c.task.data_transferred, 12);
	CU_ASSERT_EQUAL(vt_scsi_get32(&g_rbuf[0]), 8);
	CU_ASSERT_EQUAL(g_rbuf[4], 0x01);              /* completed without error */
	CU_ASSERT_EQUAL(vt_scsi_get16(&g_rbuf[5]), 1); /* segments processed */
	CU_ASSERT_EQUAL(g_rbuf[7], 0x00);              /* bytes */
	CU_ASSERT_EQUAL(vt_scsi_get32(&g_rbuf[8]), 40 * UT_BS);
	/* The other initiator has no copy 7; a discarded list (usage 10b) is not held. */
	UT_EXPECT_CHECK(&c, g_f.b, rcr, IN, g_rbuf, 1024, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	len = list_simple(8, 0x02, 1, 0, 300);
	xcopy_cdb(cdb, len);
	UT_EXPECT_GOOD(&c, g_f.a, cdb, OUT, g_list, len);
	rcr[2] = 8;
	UT_EXPECT_CHECK(&c, g_f.a, rcr, IN, g_rbuf, 1024, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	/* A new list 7, even one refused, supersedes the results of the last. */
	len = list_simple(7, 0x00, 8, 0, UT_BLOCKS);
	xcopy_cdb(cdb, len);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_list, len, COPY_ABORTED, VT_SCSI_ASC_NONE);
	rcr[2] = 7;
	UT_EXPECT_CHECK(&c, g_f.a, rcr, IN, g_rbuf, 1024, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	/* OPERATING PARAMETERS: the limits the parser enforces. */
	rcr[1] = VT_SCSI_RCR_OPERATING_PARAMETERS;
	rcr[2] = 0;
	UT_EXPECT_GOOD(&c, g_f.a, rcr, IN, g_rbuf, 1024);
	CU_ASSERT_EQUAL(vt_scsi_get32(&g_rbuf[0]), c.task.data_transferred - 4);
	CU_ASSERT_EQUAL(vt_scsi_get16(&g_rbuf[8]), XCOPY_MAX_TARGETS);
	CU_ASSERT_EQUAL(vt_scsi_get16(&g_rbuf[10]), XCOPY_MAX_SEGMENTS);
	CU_ASSERT_EQUAL(vt_scsi_get32(&g_rbuf[12]), XCOPY_MAX_DESC_LIST);
	CU_ASSERT_EQUAL(g_rbuf[43], 2);
	CU_ASSERT_EQUAL(g_rbuf[44], XCOPY_SEG_B2B);
	CU_ASSERT_EQUAL(g_rbuf[45], XCOPY_TGT_IDENT);
	/* LIST IDENTIFIER is reserved for OPERATING PARAMETERS. */
	rcr[2] = 1;
	UT_EXPECT_CHECK(&c, g_f.a, rcr, IN, g_rbuf, 1024, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	ut_fix_teardown(&g_f);
}

static void
copy_results_belong_to_the_logical_unit_and_the_issuing_nexus(void)
{
	uint8_t cdb[16], rcr[16] = { VT_SCSI_OP_RECEIVE_COPY_RESULTS, VT_SCSI_RCR_COPY_STATUS, 9 };
	uint8_t tur[6] = { 0 };
	struct vt_scsi_port *p2;
	struct vt_scsi_dev *t2;
	struct ut_cmd c;
	int done = 0;
	uint32_t len;

	/* Paths to the logical unit of "ut_xcopy": LUNs 0 and 1 of the device (one target port)
	 * and LUN 0 of device t2 (another target port), with an initiator port named like a. */
	setup();
	CU_ASSERT_EQUAL_FATAL(vt_scsi_dev_add_lun(g_f.dev, "ut_xcopy", 1, NULL, NULL), 1);
	ut_run(&c, g_f.a, 1, tur, 6, NONE, NULL, 0);
	ut_run(&c, g_f.b, 1, tur, 6, NONE, NULL, 0);
	t2 = vt_scsi_dev_create("ut.t2", 1);
	CU_ASSERT_FATAL(t2 != NULL);
	CU_ASSERT_EQUAL_FATAL(vt_scsi_dev_add_lun(t2, "ut_xcopy", 0, NULL, NULL), 0);
	p2 = vt_scsi_port_create(t2, "iqn.2024-01.ut:a");
	CU_ASSERT_FATAL(p2 != NULL);
	ut_clear_ua(p2);
	CU_ASSERT_PTR_EQUAL(vt_scsi_dev_get_lun(t2, 0)->lu, vt_scsi_dev_get_lun(g_f.dev, 1)->lu);
	vt_scsi_put32(&rcr[10], 1024);
	len = list_simple(9, 0x00, 24, 0, 400);
	xcopy_cdb(cdb, len);
	UT_EXPECT_GOOD(&c, g_f.a, cdb, OUT, g_list, len);
	/* The same I_T nexus through the other LUN of the logical unit finds it. */
	CU_ASSERT_EQUAL(ut_run(&c, g_f.a, 1, rcr, 16, IN, g_rbuf, 1024), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(g_rbuf[4], 0x01);
	CU_ASSERT_EQUAL(vt_scsi_get16(&g_rbuf[5]), 1);
	CU_ASSERT_EQUAL(vt_scsi_get32(&g_rbuf[8]), 24 * UT_BS);
	/* Another initiator, and the same initiator name on another target port (another I_T
	 * nexus: SPC-4 scopes list identifiers by nexus), do not. */
	CU_ASSERT_EQUAL(ut_run(&c, g_f.b, 1, rcr, 16, IN, g_rbuf, 1024),
			VT_SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(ut_sense(&c.task), UT_SK(UT_ILLEGAL, VT_SCSI_ASC_INVALID_FIELD_IN_CDB));
	CU_ASSERT_EQUAL(ut_run(&c, p2, 0, rcr, 16, IN, g_rbuf, 1024),
			VT_SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(ut_sense(&c.task), UT_SK(UT_ILLEGAL, VT_SCSI_ASC_INVALID_FIELD_IN_CDB));
	/* A copy through t2 is that nexus's own: found there, not through a's. */
	rcr[2] = 10;
	len = list_simple(10, 0x00, 4, 0, 500);
	xcopy_cdb(cdb, len);
	CU_ASSERT_EQUAL(ut_run(&c, p2, 0, cdb, 16, OUT, g_list, len), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(ut_run(&c, p2, 0, rcr, 16, IN, g_rbuf, 1024), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(vt_scsi_get32(&g_rbuf[8]), 4 * UT_BS);
	CU_ASSERT_EQUAL(ut_run(&c, g_f.a, 0, rcr, 16, IN, g_rbuf, 1024),
			VT_SCSI_STATUS_CHECK_CONDITION);
	/* The issuing LUN goes: the logical unit, and the results, stay with the other paths. */
	CU_ASSERT_EQUAL(vt_scsi_dev_remove_lun(g_f.dev, 0, ut_lun_done, &done), 0);
	CU_ASSERT(ut_poll_until(&done, 1));
	rcr[2] = 9;
	CU_ASSERT_EQUAL(ut_run(&c, g_f.a, 1, rcr, 16, IN, g_rbuf, 1024), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(vt_scsi_get32(&g_rbuf[8]), 24 * UT_BS);
	CU_ASSERT_EQUAL(vt_scsi_port_destroy(p2), 0);
	done = 0;
	CU_ASSERT_EQUAL(vt_scsi_dev_remove_lun(t2, 0, ut_lun_done, &done), 0);
	CU_ASSERT(ut_poll_until(&done, 1));
	CU_ASSERT_EQUAL(vt_scsi_dev_destroy(t2), 0);
	done = 0;
	CU_ASSERT_EQUAL(vt_scsi_dev_remove_lun(g_f.dev, 1, ut_lun_done, &done), 0);
	CU_ASSERT(ut_poll_until(&done, 1));
	ut_fix_teardown(&g_f);
}

static void
extended_copy_stops_at_the_next_chunk_when_aborted(void)
{
	uint8_t cdb[16];
	struct iovec iov;
	struct ut_cmd c;
	uint32_t len;

	setup();
	fill(g_buf, 8 * UT_BS, 1);
	rw(0, VT_SCSI_OP_WRITE_10, 1016, 8, g_buf); /* the last source chunk */
	memset(g_rbuf, 0, 8 * UT_BS);
	rw(0, VT_SCSI_OP_WRITE_10, 2040, 8, g_rbuf); /* ... and its destination */
	/* 1024 blocks in chunks of 8: 256 I/Os. */
	len = list_simple(3, 0x00, 1024, 0, 1024);
	xcopy_cdb(cdb, len);
	ut_start(&c, &iov, g_f.a, cdb, 16, OUT, g_list, len, 42);
	for (int i = 0; i < 4; i++) {
		vt_reactor_poll_once();
	}
	CU_ASSERT_EQUAL(c.done, 0);
	CU_ASSERT_EQUAL(ut_tmf_send(g_f.a, VT_SCSI_TMF_ABORT_TASK, 0, 42), VT_SCSI_TMF_COMPLETE);
	CU_ASSERT_EQUAL(c.done, 1);
	CU_ASSERT_EQUAL(c.task.status, VT_SCSI_STATUS_TASK_ABORTED);
	rw(0, VT_SCSI_OP_READ_10, 2040, 8, g_rbuf);
	CU_ASSERT(is_zero(g_rbuf, 8 * UT_BS));
	/* The copy's status says it ended in error. */
	cdb[0] = VT_SCSI_OP_RECEIVE_COPY_RESULTS;
	memset(&cdb[1], 0, 15);
	cdb[2] = 3;
	vt_scsi_put32(&cdb[10], 64);
	UT_EXPECT_GOOD(&c, g_f.a, cdb, IN, g_rbuf, 64);
	CU_ASSERT_EQUAL(g_rbuf[4], 0x02);
	CU_ASSERT(vt_scsi_get32(&g_rbuf[8]) < 1024 * UT_BS);
	ut_fix_teardown(&g_f);
}

int
main(void)
{
	CU_pSuite s;

	CU_initialize_registry();
	s = CU_add_suite("scsi_xcopy", ut_reactor_suite_init, ut_reactor_suite_fini);
	CU_ADD_TEST(s, extended_copy_copies_blocks_within_a_lun);
	CU_ADD_TEST(s, extended_copy_overlapping_forward_range_copies_from_the_end);
	CU_ADD_TEST(s, extended_copy_copies_between_luns_of_the_device);
	CU_ADD_TEST(s, extended_copy_refuses_bad_list_lengths);
	CU_ADD_TEST(s, extended_copy_refuses_too_many_or_unsupported_descriptors);
	CU_ADD_TEST(s, extended_copy_aborts_on_unreachable_targets_and_ranges);
	CU_ADD_TEST(s, receive_copy_results_reports_copy_status_and_operating_parameters);
	CU_ADD_TEST(s, copy_results_belong_to_the_logical_unit_and_the_issuing_nexus);
	CU_ADD_TEST(s, extended_copy_stops_at_the_next_chunk_when_aborted);
	return ut_run_tests();
}
