/* SPDX-License-Identifier: BSD-3-Clause */
/* Block commands (scsi_sbc.c, scsi_sbc_prov.c) on a malloc bdev through the dispatcher. */
#include "test/unit/lib/scsi/ut_scsi.h"
#include "lib/scsi/scsi_internal.h"

static struct ut_fix g_f;
static uint8_t g_buf[64 * 1024];
static uint8_t g_rbuf[64 * 1024];

#define OUT VT_SCSI_DIR_TO_DEV
#define IN VT_SCSI_DIR_FROM_DEV
#define NONE VT_SCSI_DIR_NONE

static void
fill(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++) {
		p[i] = (uint8_t)(seed + i * 7);
	}
}

static void
cdb10(uint8_t *cdb, uint8_t op, uint8_t flags, uint32_t lba, uint16_t n)
{
	memset(cdb, 0, 10);
	cdb[0] = op;
	cdb[1] = flags;
	vt_scsi_put32(&cdb[2], lba);
	vt_scsi_put16(&cdb[7], n);
}

static void
cdb12(uint8_t *cdb, uint8_t op, uint8_t flags, uint32_t lba, uint32_t n)
{
	memset(cdb, 0, 12);
	cdb[0] = op;
	cdb[1] = flags;
	vt_scsi_put32(&cdb[2], lba);
	vt_scsi_put32(&cdb[6], n);
}

static void
cdb16(uint8_t *cdb, uint8_t op, uint8_t flags, uint64_t lba, uint32_t n)
{
	memset(cdb, 0, 16);
	cdb[0] = op;
	cdb[1] = flags;
	vt_scsi_put64(&cdb[2], lba);
	vt_scsi_put32(&cdb[10], n);
}

static void
setup(void)
{
	ut_fix_setup(&g_f, "ut_sbc");
}

static void
teardown(void)
{
	ut_fix_teardown(&g_f);
}

static void
rw_all_sizes_round_trip_data(void)
{
	uint8_t c10[10], c12[12], c16[16], c6[6] = { VT_SCSI_OP_WRITE_6, 0, 0, 5, 2, 0 };
	struct ut_cmd c;

	setup();
	fill(g_buf, 4 * UT_BS, 1);
	UT_EXPECT_GOOD(&c, g_f.a, c6, OUT, g_buf, 2 * UT_BS);
	CU_ASSERT_EQUAL(c.task.data_transferred, 2 * UT_BS);
	c6[0] = VT_SCSI_OP_READ_6;
	memset(g_rbuf, 0, sizeof(g_rbuf));
	UT_EXPECT_GOOD(&c, g_f.a, c6, IN, g_rbuf, 2 * UT_BS);
	CU_ASSERT_EQUAL(memcmp(g_rbuf, g_buf, 2 * UT_BS), 0);

	fill(g_buf, 4 * UT_BS, 2);
	cdb10(c10, VT_SCSI_OP_WRITE_10, 0x08, 100, 3); /* FUA */
	UT_EXPECT_GOOD(&c, g_f.a, c10, OUT, g_buf, 3 * UT_BS);
	cdb12(c12, VT_SCSI_OP_READ_12, 0x1e, 100, 3); /* DPO FUA RARC FUA_NV */
	UT_EXPECT_GOOD(&c, g_f.a, c12, IN, g_rbuf, 3 * UT_BS);
	CU_ASSERT_EQUAL(memcmp(g_rbuf, g_buf, 3 * UT_BS), 0);

	fill(g_buf, 4 * UT_BS, 3);
	cdb12(c12, VT_SCSI_OP_WRITE_12, 0x10, UT_BLOCKS - 4, 4);
	UT_EXPECT_GOOD(&c, g_f.a, c12, OUT, g_buf, 4 * UT_BS);
	cdb16(c16, VT_SCSI_OP_READ_16, 0, UT_BLOCKS - 4, 4);
	UT_EXPECT_GOOD(&c, g_f.a, c16, IN, g_rbuf, 4 * UT_BS);
	CU_ASSERT_EQUAL(memcmp(g_rbuf, g_buf, 4 * UT_BS), 0);
	cdb16(c16, VT_SCSI_OP_WRITE_16, 0x08, 7, 1);
	UT_EXPECT_GOOD(&c, g_f.a, c16, OUT, g_buf, UT_BS);
	cdb10(c10, VT_SCSI_OP_READ_10, 0, 7, 1);
	UT_EXPECT_GOOD(&c, g_f.a, c10, IN, g_rbuf, UT_BS);
	CU_ASSERT_EQUAL(memcmp(g_rbuf, g_buf, UT_BS), 0);
	teardown();
}

static void
rw_larger_buffer_reports_underflow_residual(void)
{
	uint8_t c10[10];
	struct ut_cmd c;

	setup();
	cdb10(c10, VT_SCSI_OP_READ_10, 0, 0, 2);
	UT_EXPECT_GOOD(&c, g_f.a, c10, IN, g_rbuf, 4 * UT_BS);
	CU_ASSERT_EQUAL(c.task.data_transferred, 2 * UT_BS);
	CU_ASSERT_EQUAL(c.task.residual, 2 * UT_BS);
	teardown();
}

static void
rw_refuses_range_beyond_the_medium(void)
{
	uint8_t c10[10], c16[16], c6[6] = { VT_SCSI_OP_READ_6, 0, 0x07, 0xff, 2, 0 };
	struct ut_cmd c;

	setup();
	/* READ(6) LBA 2047, 2 blocks: one past the end. */
	UT_EXPECT_CHECK(&c, g_f.a, c6, IN, g_rbuf, 2 * UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_LBA_OUT_OF_RANGE);
	cdb10(c10, VT_SCSI_OP_WRITE_10, 0, UT_BLOCKS, 1);
	UT_EXPECT_CHECK(&c, g_f.a, c10, OUT, g_buf, UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_LBA_OUT_OF_RANGE);
	cdb16(c16, VT_SCSI_OP_READ_16, 0, UINT64_MAX, 1);
	UT_EXPECT_CHECK(&c, g_f.a, c16, IN, g_rbuf, UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_LBA_OUT_OF_RANGE);
	/* 0 blocks past the end is still out of range; 0 blocks at LBA 0 is a no-op. */
	cdb10(c10, VT_SCSI_OP_READ_10, 0, UT_BLOCKS + 1, 0);
	UT_EXPECT_CHECK(&c, g_f.a, c10, IN, NULL, 0, UT_ILLEGAL, VT_SCSI_ASC_LBA_OUT_OF_RANGE);
	cdb10(c10, VT_SCSI_OP_READ_10, 0, 0, 0);
	UT_EXPECT_GOOD(&c, g_f.a, c10, NONE, NULL, 0);
	teardown();
}

static void
rw_refuses_bad_fields_and_buffers(void)
{
	uint8_t c10[10], c16[16];
	struct ut_cmd c;

	setup();
	cdb10(c10, VT_SCSI_OP_READ_10, 0x20, 0, 1); /* RDPROTECT */
	UT_EXPECT_CHECK(&c, g_f.a, c10, IN, g_rbuf, UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	cdb10(c10, VT_SCSI_OP_WRITE_10, 0x04, 0, 1); /* obsolete bit in WRITE */
	UT_EXPECT_CHECK(&c, g_f.a, c10, OUT, g_buf, UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	cdb10(c10, VT_SCSI_OP_READ_10, 0, 0, 1);
	c10[9] = 0x04; /* NACA */
	UT_EXPECT_CHECK(&c, g_f.a, c10, IN, g_rbuf, UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	/* Transfer length beyond the Block Limits maximum (8 MiB). */
	cdb16(c16, VT_SCSI_OP_READ_16, 0, 0, 16385);
	UT_EXPECT_CHECK(&c, g_f.a, c16, IN, g_rbuf, sizeof(g_rbuf), UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	/* A buffer too small for the data, or in the wrong direction. */
	cdb10(c10, VT_SCSI_OP_READ_10, 0, 0, 2);
	UT_EXPECT_CHECK(&c, g_f.a, c10, IN, g_rbuf, UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	cdb10(c10, VT_SCSI_OP_WRITE_10, 0, 0, 1);
	UT_EXPECT_CHECK(&c, g_f.a, c10, IN, g_rbuf, UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	teardown();
}

static void
read_capacity_reports_geometry_and_provisioning(void)
{
	uint8_t c10[10] = { VT_SCSI_OP_READ_CAPACITY_10 };
	uint8_t c16[16] = { VT_SCSI_OP_SERVICE_ACTION_IN_16, VT_SCSI_SAI_READ_CAPACITY_16 };
	uint8_t data[32];
	struct ut_cmd c;

	setup();
	UT_EXPECT_GOOD(&c, g_f.a, c10, IN, data, 8);
	CU_ASSERT_EQUAL(vt_scsi_get32(data), UT_BLOCKS - 1);
	CU_ASSERT_EQUAL(vt_scsi_get32(&data[4]), UT_BS);
	vt_scsi_put32(&c16[10], 32);
	UT_EXPECT_GOOD(&c, g_f.a, c16, IN, data, 32);
	CU_ASSERT_EQUAL(vt_scsi_get64(data), UT_BLOCKS - 1);
	CU_ASSERT_EQUAL(vt_scsi_get32(&data[8]), UT_BS);
	CU_ASSERT_EQUAL(data[14] & 0xc0, 0xc0); /* LBPME, LBPRZ */
	CU_ASSERT_EQUAL(data[13] & 0x0f, 0);    /* LBPPBE: see scsi_sbc.c */
	/* Allocation length 12: the first 12 bytes only. */
	vt_scsi_put32(&c16[10], 12);
	UT_EXPECT_GOOD(&c, g_f.a, c16, IN, data, 32);
	CU_ASSERT_EQUAL(c.task.data_transferred, 12);
	/* PMI 0 with an LBA; an unknown service action of SERVICE ACTION IN(16). */
	c10[5] = 1;
	UT_EXPECT_CHECK(&c, g_f.a, c10, IN, data, 8, UT_ILLEGAL, VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	c16[1] = 0x11;
	UT_EXPECT_CHECK(&c, g_f.a, c16, IN, data, 32, UT_ILLEGAL, VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	teardown();
}

static void
verify_bytchk_compares_and_reports_miscompare_offset(void)
{
	uint8_t c10[10], c12[12], c16[16];
	struct ut_cmd c;

	setup();
	fill(g_buf, 2 * UT_BS, 9);
	cdb10(c10, VT_SCSI_OP_WRITE_10, 0, 20, 2);
	UT_EXPECT_GOOD(&c, g_f.a, c10, OUT, g_buf, 2 * UT_BS);
	cdb10(c10, VT_SCSI_OP_VERIFY_10, 0x02, 20, 2);
	UT_EXPECT_GOOD(&c, g_f.a, c10, OUT, g_buf, 2 * UT_BS);
	g_buf[UT_BS + 3] ^= 0xff;
	cdb16(c16, VT_SCSI_OP_VERIFY_16, 0x02, 20, 2);
	UT_EXPECT_CHECK(&c, g_f.a, c16, OUT, g_buf, 2 * UT_BS, VT_SCSI_SENSE_MISCOMPARE,
			VT_SCSI_ASC_MISCOMPARE_DURING_VERIFY);
	CU_ASSERT_EQUAL(c.task.sense[0], 0xf0); /* fixed, VALID */
	CU_ASSERT_EQUAL(vt_scsi_get32(&c.task.sense[3]), UT_BS + 3);
	/* BYTCHK 0 checks the range only. */
	cdb12(c12, VT_SCSI_OP_VERIFY_12, 0, 20, 2);
	UT_EXPECT_GOOD(&c, g_f.a, c12, NONE, NULL, 0);
	cdb12(c12, VT_SCSI_OP_VERIFY_12, 0, UT_BLOCKS - 1, 2);
	UT_EXPECT_CHECK(&c, g_f.a, c12, NONE, NULL, 0, UT_ILLEGAL, VT_SCSI_ASC_LBA_OUT_OF_RANGE);
	cdb10(c10, VT_SCSI_OP_VERIFY_10, 0x04, 20, 2); /* BYTCHK 10b: reserved */
	UT_EXPECT_CHECK(&c, g_f.a, c10, OUT, g_buf, 2 * UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	teardown();
}

static void
write_and_verify_writes_data(void)
{
	uint8_t c10[10], c12[12], c16[16];
	struct ut_cmd c;

	setup();
	fill(g_buf, UT_BS, 4);
	cdb10(c10, VT_SCSI_OP_WRITE_AND_VERIFY_10, 0x02, 30, 1);
	UT_EXPECT_GOOD(&c, g_f.a, c10, OUT, g_buf, UT_BS);
	cdb12(c12, VT_SCSI_OP_WRITE_AND_VERIFY_12, 0, 31, 1);
	UT_EXPECT_GOOD(&c, g_f.a, c12, OUT, g_buf, UT_BS);
	cdb16(c16, VT_SCSI_OP_READ_16, 0, 30, 2);
	UT_EXPECT_GOOD(&c, g_f.a, c16, IN, g_rbuf, 2 * UT_BS);
	CU_ASSERT_EQUAL(memcmp(g_rbuf, g_buf, UT_BS), 0);
	CU_ASSERT_EQUAL(memcmp(g_rbuf + UT_BS, g_buf, UT_BS), 0);
	cdb16(c16, VT_SCSI_OP_WRITE_AND_VERIFY_16, 0, UT_BLOCKS, 1);
	UT_EXPECT_CHECK(&c, g_f.a, c16, OUT, g_buf, UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_LBA_OUT_OF_RANGE);
	cdb10(c10, VT_SCSI_OP_WRITE_AND_VERIFY_10, 0x20, 30, 1); /* WRPROTECT */
	UT_EXPECT_CHECK(&c, g_f.a, c10, OUT, g_buf, UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	teardown();
}

static void
prefetch_and_sync_cache_check_the_range(void)
{
	uint8_t c10[10], c16[16];
	struct ut_cmd c;

	setup();
	cdb10(c10, VT_SCSI_OP_PRE_FETCH_10, 0x02, 0, 10);
	UT_EXPECT_GOOD(&c, g_f.a, c10, NONE, NULL, 0);
	cdb16(c16, VT_SCSI_OP_PRE_FETCH_16, 0, UT_BLOCKS - 1, 2);
	UT_EXPECT_CHECK(&c, g_f.a, c16, NONE, NULL, 0, UT_ILLEGAL, VT_SCSI_ASC_LBA_OUT_OF_RANGE);
	cdb10(c10, VT_SCSI_OP_SYNCHRONIZE_CACHE_10, 0, 0, 0);
	UT_EXPECT_GOOD(&c, g_f.a, c10, NONE, NULL, 0);
	cdb16(c16, VT_SCSI_OP_SYNCHRONIZE_CACHE_16, 0x02, 5, 5);
	UT_EXPECT_GOOD(&c, g_f.a, c16, NONE, NULL, 0);
	cdb16(c16, VT_SCSI_OP_SYNCHRONIZE_CACHE_16, 0, UT_BLOCKS + 1, 0);
	UT_EXPECT_CHECK(&c, g_f.a, c16, NONE, NULL, 0, UT_ILLEGAL, VT_SCSI_ASC_LBA_OUT_OF_RANGE);
	cdb10(c10, VT_SCSI_OP_SYNCHRONIZE_CACHE_10, 0x04, 0, 0); /* SYNC_NV: obsolete */
	UT_EXPECT_CHECK(&c, g_f.a, c10, NONE, NULL, 0, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	teardown();
}

static void
compare_and_write_is_conditional(void)
{
	uint8_t cdb[16] = { VT_SCSI_OP_COMPARE_AND_WRITE };
	struct ut_cmd c;

	setup();
	/* Blocks 40-41 are zero: compare zeros, write the pattern. */
	memset(g_buf, 0, 2 * UT_BS);
	fill(g_buf + 2 * UT_BS, 2 * UT_BS, 5);
	vt_scsi_put64(&cdb[2], 40);
	cdb[13] = 2;
	UT_EXPECT_GOOD(&c, g_f.a, cdb, OUT, g_buf, 4 * UT_BS);
	CU_ASSERT_EQUAL(c.task.data_transferred, 4 * UT_BS);
	/* Same again: the blocks no longer hold zeros; the byte offset is in INFORMATION. */
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_buf, 4 * UT_BS, VT_SCSI_SENSE_MISCOMPARE,
			VT_SCSI_ASC_MISCOMPARE_DURING_VERIFY);
	CU_ASSERT_EQUAL(vt_scsi_get32(&c.task.sense[3]), 0);
	uint8_t rcdb[10];

	cdb10(rcdb, VT_SCSI_OP_READ_10, 0, 40, 2);
	UT_EXPECT_GOOD(&c, g_f.a, rcdb, IN, g_rbuf, 2 * UT_BS);
	CU_ASSERT_EQUAL(memcmp(g_rbuf, g_buf + 2 * UT_BS, 2 * UT_BS), 0);
	/* Now compare the pattern (one byte off in block 1) and write zeros. */
	memcpy(g_buf, g_rbuf, 2 * UT_BS);
	g_buf[UT_BS + 10] ^= 1;
	memset(g_buf + 2 * UT_BS, 0, 2 * UT_BS);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_buf, 4 * UT_BS, VT_SCSI_SENSE_MISCOMPARE,
			VT_SCSI_ASC_MISCOMPARE_DURING_VERIFY);
	CU_ASSERT_EQUAL(vt_scsi_get32(&c.task.sense[3]), UT_BS + 10);
	/* More blocks than the ACWU, and beyond the end. */
	cdb[13] = (uint8_t)(vt_bdev_get_acwu(g_f.bdev) + 1);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_buf, sizeof(g_buf), UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	cdb[13] = 1;
	vt_scsi_put64(&cdb[2], UT_BLOCKS);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_buf, 2 * UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_LBA_OUT_OF_RANGE);
	teardown();
}

static bool
all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] != v) {
			return false;
		}
	}
	return true;
}

static void
unmap_zeroes_listed_ranges_and_checks_the_list(void)
{
	uint8_t cdb[10] = { VT_SCSI_OP_UNMAP }, w[10], r[10];
	uint8_t list[8 + 2 * 16] = { 0 };
	struct ut_cmd c;

	setup();
	memset(g_buf, 0xaa, 8 * UT_BS);
	cdb10(w, VT_SCSI_OP_WRITE_10, 0, 0, 8);
	UT_EXPECT_GOOD(&c, g_f.a, w, OUT, g_buf, 8 * UT_BS);
	vt_scsi_put16(&list[0], sizeof(list) - 2);
	vt_scsi_put16(&list[2], 32);
	vt_scsi_put64(&list[8], 1);
	vt_scsi_put32(&list[16], 2);
	vt_scsi_put64(&list[24], 6);
	vt_scsi_put32(&list[32], 1);
	vt_scsi_put16(&cdb[7], sizeof(list));
	UT_EXPECT_GOOD(&c, g_f.a, cdb, OUT, list, sizeof(list));
	cdb10(r, VT_SCSI_OP_READ_10, 0, 0, 8);
	UT_EXPECT_GOOD(&c, g_f.a, r, IN, g_rbuf, 8 * UT_BS);
	CU_ASSERT(all_bytes(g_rbuf, UT_BS, 0xaa));
	CU_ASSERT(all_bytes(g_rbuf + UT_BS, 2 * UT_BS, 0));
	CU_ASSERT(all_bytes(g_rbuf + 3 * UT_BS, 3 * UT_BS, 0xaa));
	CU_ASSERT(all_bytes(g_rbuf + 6 * UT_BS, UT_BS, 0));
	CU_ASSERT(all_bytes(g_rbuf + 7 * UT_BS, UT_BS, 0xaa));
	/* Parameter list length 0, and a list without descriptors: nothing to do. */
	vt_scsi_put16(&cdb[7], 0);
	UT_EXPECT_GOOD(&c, g_f.a, cdb, NONE, NULL, 0);
	vt_scsi_put16(&list[2], 0);
	vt_scsi_put16(&cdb[7], 8);
	UT_EXPECT_GOOD(&c, g_f.a, cdb, OUT, list, 8);
	/* A list shorter than its header. */
	vt_scsi_put16(&cdb[7], 4);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, list, 4, UT_ILLEGAL,
			VT_SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
	/* A descriptor past the end. */
	vt_scsi_put16(&list[2], 16);
	vt_scsi_put64(&list[8], UT_BLOCKS - 1);
	vt_scsi_put32(&list[16], 2);
	vt_scsi_put16(&cdb[7], 24);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, list, 24, UT_ILLEGAL, VT_SCSI_ASC_LBA_OUT_OF_RANGE);
	/* More blocks than MAXIMUM UNMAP LBA COUNT. */
	vt_scsi_put64(&list[8], 0);
	vt_scsi_put32(&list[16], 1024 * 1024 + 1);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, list, 24, UT_ILLEGAL, VT_SCSI_ASC_LBA_OUT_OF_RANGE);
	/* ANCHOR is not supported. */
	cdb[1] = 0x01;
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, list, 24, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	teardown();
}

static void
write_same_replicates_unmaps_and_zeroes(void)
{
	uint8_t c10[10], c16[16], r[10];
	struct ut_cmd c;

	setup();
	fill(g_buf, UT_BS, 11);
	cdb10(c10, VT_SCSI_OP_WRITE_SAME_10, 0, 100, 600); /* more than one pattern chunk */
	UT_EXPECT_GOOD(&c, g_f.a, c10, OUT, g_buf, UT_BS);
	for (uint32_t lba = 100; lba < 700; lba += 100) {
		cdb10(r, VT_SCSI_OP_READ_10, 0, lba, 100);
		UT_EXPECT_GOOD(&c, g_f.a, r, IN, g_rbuf, 100 * UT_BS);
		for (uint32_t i = 0; i < 100; i++) {
			CU_ASSERT_EQUAL(memcmp(g_rbuf + i * UT_BS, g_buf, UT_BS), 0);
		}
	}
	/* UNMAP bit with a zero block, then NDOB: both leave zeros. */
	memset(g_rbuf, 0, UT_BS);
	cdb10(c10, VT_SCSI_OP_WRITE_SAME_10, 0x08, 100, 10);
	UT_EXPECT_GOOD(&c, g_f.a, c10, OUT, g_rbuf, UT_BS);
	cdb16(c16, VT_SCSI_OP_WRITE_SAME_16, 0x09, 110, 10);
	UT_EXPECT_GOOD(&c, g_f.a, c16, NONE, NULL, 0);
	cdb10(r, VT_SCSI_OP_READ_10, 0, 100, 21);
	UT_EXPECT_GOOD(&c, g_f.a, r, IN, g_rbuf, 21 * UT_BS);
	CU_ASSERT(all_bytes(g_rbuf, 20 * UT_BS, 0));
	CU_ASSERT_EQUAL(memcmp(g_rbuf + 20 * UT_BS, g_buf, UT_BS), 0);
	/* ANCHOR, beyond the end. */
	cdb16(c16, VT_SCSI_OP_WRITE_SAME_16, 0x10, 0, 1);
	UT_EXPECT_CHECK(&c, g_f.a, c16, OUT, g_buf, UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	cdb16(c16, VT_SCSI_OP_WRITE_SAME_16, 0, UT_BLOCKS - 1, 2);
	UT_EXPECT_CHECK(&c, g_f.a, c16, OUT, g_buf, UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_LBA_OUT_OF_RANGE);
	teardown();
}

static void
get_lba_status_reports_mapped_and_deallocated_extents(void)
{
	uint8_t cdb[16] = { VT_SCSI_OP_SERVICE_ACTION_IN_16, VT_SCSI_SAI_GET_LBA_STATUS };
	uint8_t data[8 + 16 * 8], c10[10], um[24] = { 0, 22, 0, 16 };
	struct ut_cmd c;

	setup();
	/* Blocks 40-59 written, then 50-51 unmapped; the rest never written (deallocated). */
	fill(g_buf, 20 * UT_BS, 3);
	cdb10(c10, VT_SCSI_OP_WRITE_10, 0, 40, 20);
	UT_EXPECT_GOOD(&c, g_f.a, c10, OUT, g_buf, 20 * UT_BS);
	vt_scsi_put64(&um[8], 50);
	vt_scsi_put32(&um[16], 2);
	cdb10(c10, VT_SCSI_OP_UNMAP, 0, 0, 0);
	vt_scsi_put16(&c10[7], sizeof(um));
	UT_EXPECT_GOOD(&c, g_f.a, c10, OUT, um, sizeof(um));
	vt_scsi_put64(&cdb[2], 48);
	vt_scsi_put32(&cdb[10], sizeof(data));
	memset(data, 0xee, sizeof(data));
	UT_EXPECT_GOOD(&c, g_f.a, cdb, IN, data, sizeof(data));
	/* Four extents, then the end of the medium: 4 + 4 * 16 bytes follow the length. */
	CU_ASSERT_EQUAL(vt_scsi_get32(data), 4 + 4 * 16);
	CU_ASSERT_EQUAL(c.task.data_transferred, 8 + 4 * 16);
	CU_ASSERT_EQUAL(vt_scsi_get64(&data[8]), 48);
	CU_ASSERT_EQUAL(vt_scsi_get32(&data[16]), 2);
	CU_ASSERT_EQUAL(data[20] & 0x0f, 0);
	CU_ASSERT_EQUAL(vt_scsi_get64(&data[24]), 50);
	CU_ASSERT_EQUAL(vt_scsi_get32(&data[32]), 2);
	CU_ASSERT_EQUAL(data[36] & 0x0f, 1);
	CU_ASSERT_EQUAL(vt_scsi_get64(&data[40]), 52);
	CU_ASSERT_EQUAL(vt_scsi_get32(&data[48]), 8);
	CU_ASSERT_EQUAL(data[52] & 0x0f, 0);
	CU_ASSERT_EQUAL(vt_scsi_get64(&data[56]), 60);
	CU_ASSERT_EQUAL(vt_scsi_get32(&data[64]), UT_BLOCKS - 60);
	CU_ASSERT_EQUAL(data[68] & 0x0f, 1);
	/* An allocation length for one descriptor gets the first extent only. */
	vt_scsi_put32(&cdb[10], 24);
	UT_EXPECT_GOOD(&c, g_f.a, cdb, IN, data, 24);
	CU_ASSERT_EQUAL(vt_scsi_get32(data), 20);
	CU_ASSERT_EQUAL(vt_scsi_get64(&data[8]), 48);
	CU_ASSERT_EQUAL(vt_scsi_get32(&data[16]), 2);
	vt_scsi_put64(&cdb[2], UT_BLOCKS);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, IN, data, sizeof(data), UT_ILLEGAL,
			VT_SCSI_ASC_LBA_OUT_OF_RANGE);
	teardown();
}

static void
read_defect_data_returns_an_empty_list_in_the_requested_format(void)
{
	uint8_t c10[10] = { VT_SCSI_OP_READ_DEFECT_DATA_10, 0, 0x18 | 0x03 };
	uint8_t c12[12] = { VT_SCSI_OP_READ_DEFECT_DATA_12, 0x10 | 0x05 };
	uint8_t data[32];
	struct ut_cmd c;

	setup();
	vt_scsi_put16(&c10[7], sizeof(data));
	memset(data, 0xee, sizeof(data));
	UT_EXPECT_GOOD(&c, g_f.a, c10, IN, data, sizeof(data));
	/* PLISTV, GLISTV, long block format; DEFECT LIST LENGTH 0. */
	CU_ASSERT_EQUAL(c.task.data_transferred, 4);
	CU_ASSERT_EQUAL(data[1], 0x1b);
	CU_ASSERT_EQUAL(vt_scsi_get16(&data[2]), 0);
	vt_scsi_put32(&c12[2], 7); /* any address descriptor index */
	vt_scsi_put32(&c12[6], sizeof(data));
	memset(data, 0xee, sizeof(data));
	UT_EXPECT_GOOD(&c, g_f.a, c12, IN, data, sizeof(data));
	CU_ASSERT_EQUAL(c.task.data_transferred, 8);
	CU_ASSERT_EQUAL(data[1], 0x15);
	CU_ASSERT_EQUAL(vt_scsi_get32(&data[4]), 0);
	/* Format 111b is reserved. */
	c10[2] = 0x07;
	UT_EXPECT_CHECK(&c, g_f.a, c10, IN, data, sizeof(data), UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	c12[1] = 0x07;
	UT_EXPECT_CHECK(&c, g_f.a, c12, IN, data, sizeof(data), UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	teardown();
}

static void
orwrite_ors_the_data_into_the_blocks(void)
{
	uint8_t c16[16], c10[10];
	struct ut_cmd c;

	setup();
	memset(g_buf, 0x0f, 4 * UT_BS);
	cdb10(c10, VT_SCSI_OP_WRITE_10, 0, 30, 4);
	UT_EXPECT_GOOD(&c, g_f.a, c10, OUT, g_buf, 4 * UT_BS);
	memset(g_buf, 0x30, 4 * UT_BS);
	g_buf[UT_BS + 1] = 0xc0;
	cdb16(c16, VT_SCSI_OP_ORWRITE_16, 0x08, 30, 4); /* FUA */
	UT_EXPECT_GOOD(&c, g_f.a, c16, OUT, g_buf, 4 * UT_BS);
	CU_ASSERT_EQUAL(c.task.data_transferred, 4 * UT_BS);
	cdb10(c10, VT_SCSI_OP_READ_10, 0, 30, 4);
	UT_EXPECT_GOOD(&c, g_f.a, c10, IN, g_rbuf, 4 * UT_BS);
	CU_ASSERT_EQUAL(g_rbuf[0], 0x3f);
	CU_ASSERT_EQUAL(g_rbuf[UT_BS + 1], 0xcf);
	CU_ASSERT_EQUAL(g_rbuf[4 * UT_BS - 1], 0x3f);
	/* 0 blocks: nothing; ORPROTECT: no protection information; the range is checked. */
	cdb16(c16, VT_SCSI_OP_ORWRITE_16, 0, 30, 0);
	UT_EXPECT_GOOD(&c, g_f.a, c16, NONE, NULL, 0);
	cdb16(c16, VT_SCSI_OP_ORWRITE_16, 0x20, 30, 1);
	UT_EXPECT_CHECK(&c, g_f.a, c16, OUT, g_buf, UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	cdb16(c16, VT_SCSI_OP_ORWRITE_16, 0, UT_BLOCKS - 1, 2);
	UT_EXPECT_CHECK(&c, g_f.a, c16, OUT, g_buf, 2 * UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_LBA_OUT_OF_RANGE);
	teardown();
}

static void
wa16(uint8_t *cdb, uint8_t flags, uint64_t lba, uint16_t boundary, uint16_t n)
{
	memset(cdb, 0, 16);
	cdb[0] = VT_SCSI_OP_WRITE_ATOMIC_16;
	cdb[1] = flags;
	vt_scsi_put64(&cdb[2], lba);
	vt_scsi_put16(&cdb[10], boundary);
	vt_scsi_put16(&cdb[12], n);
}

static void
write_atomic_writes_within_the_block_limits(void)
{
	uint8_t c16[16], c10[10],
		inq[6] = { VT_SCSI_OP_INQUIRY, 0x01, VT_SCSI_VPD_BLOCK_LIMITS, 0, 64, 0 };
	uint8_t vpd[64];
	struct ut_cmd c;

	setup();
	/* Block Limits: MAXIMUM ATOMIC TRANSFER LENGTH, no alignment, granularity, boundary. */
	UT_EXPECT_GOOD(&c, g_f.a, inq, IN, vpd, sizeof(vpd));
	CU_ASSERT_EQUAL(vt_scsi_get32(&vpd[44]), SCSI_MAX_ATOMIC_XFER_BYTES / UT_BS);
	CU_ASSERT(vt_scsi_get32(&vpd[44]) <= vt_scsi_get32(&vpd[8]));
	for (int i = 48; i < 64; i++) {
		CU_ASSERT_EQUAL(vpd[i], 0);
	}
	fill(g_buf, 3 * UT_BS, 9);
	wa16(c16, 0x18, 70, 0, 3); /* DPO FUA */
	UT_EXPECT_GOOD(&c, g_f.a, c16, OUT, g_buf, 3 * UT_BS);
	cdb10(c10, VT_SCSI_OP_READ_10, 0, 70, 3);
	UT_EXPECT_GOOD(&c, g_f.a, c10, IN, g_rbuf, 3 * UT_BS);
	CU_ASSERT_EQUAL(memcmp(g_rbuf, g_buf, 3 * UT_BS), 0);
	wa16(c16, 0, 70, 0, 0);
	UT_EXPECT_GOOD(&c, g_f.a, c16, NONE, NULL, 0);
	/* Longer than the atomic limit, an atomic boundary, WRPROTECT: INVALID FIELD IN CDB. */
	wa16(c16, 0, 0, 0, SCSI_MAX_ATOMIC_XFER_BYTES / UT_BS + 1);
	UT_EXPECT_CHECK(&c, g_f.a, c16, OUT, g_buf, UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	CU_ASSERT_EQUAL(c.task.sense[15], 0xc0); /* SKSV, C/D: a field of the CDB */
	CU_ASSERT_EQUAL(vt_scsi_get16(&c.task.sense[16]), 12);
	wa16(c16, 0, 70, 1, 1);
	UT_EXPECT_CHECK(&c, g_f.a, c16, OUT, g_buf, UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	wa16(c16, 0x40, 70, 0, 1);
	UT_EXPECT_CHECK(&c, g_f.a, c16, OUT, g_buf, UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	wa16(c16, 0, UT_BLOCKS + 1, 0, 0);
	UT_EXPECT_CHECK(&c, g_f.a, c16, NONE, NULL, 0, UT_ILLEGAL, VT_SCSI_ASC_LBA_OUT_OF_RANGE);
	teardown();
}

/* Adds a malloc bdev of blocks x UT_BS as LUN 1 (read-only if asked) and clears its unit
 * attention for initiator A. */
static struct vt_bdev *
add_lun1(const char *name, uint64_t blocks, bool read_only)
{
	struct bdev_malloc_opts opts = { .name = name, .num_blocks = blocks, .block_size = UT_BS };
	uint8_t tur[6] = { 0 };
	struct vt_bdev *bdev;
	struct ut_cmd c;

	CU_ASSERT_EQUAL_FATAL(bdev_malloc_create(&opts, &bdev), 0);
	bdev->read_only = read_only;
	CU_ASSERT_EQUAL_FATAL(vt_scsi_dev_add_lun(g_f.dev, name, 1, NULL, NULL), 1);
	for (int i = 0; i < 4; i++) {
		if (ut_run(&c, g_f.a, 1, tur, 6, NONE, NULL, 0) == VT_SCSI_STATUS_GOOD) {
			break;
		}
	}
	return bdev;
}

static void
remove_lun1(struct vt_bdev *bdev)
{
	int done = 0, del = 0;

	CU_ASSERT_EQUAL(vt_scsi_dev_remove_lun(g_f.dev, 1, ut_lun_done, &done), 0);
	CU_ASSERT(ut_poll_until(&done, 1));
	CU_ASSERT_EQUAL(bdev_malloc_delete(bdev, ut_delete_cb, &del), 0);
	CU_ASSERT(ut_poll_until(&del, 1));
}

static void
write_same_zero_blocks_runs_to_the_end_of_the_medium(void)
{
	uint8_t c10[10], c16[16], r[10];
	struct ut_cmd c;

	setup();
	fill(g_buf, UT_BS, 21);
	/* WSNZ is 0: 0 blocks from LBA UT_BLOCKS - 8 writes the last 8 blocks. */
	cdb10(c10, VT_SCSI_OP_WRITE_SAME_10, 0, UT_BLOCKS - 8, 0);
	UT_EXPECT_GOOD(&c, g_f.a, c10, OUT, g_buf, UT_BS);
	cdb10(r, VT_SCSI_OP_READ_10, 0, UT_BLOCKS - 9, 9);
	UT_EXPECT_GOOD(&c, g_f.a, r, IN, g_rbuf, 9 * UT_BS);
	CU_ASSERT(memcmp(g_rbuf, g_buf, UT_BS) != 0);
	for (uint32_t i = 1; i < 9; i++) {
		CU_ASSERT_EQUAL(memcmp(g_rbuf + i * UT_BS, g_buf, UT_BS), 0);
	}
	/* With UNMAP, from the LBA to the end reads back as zeros (LBPRZ). */
	cdb16(c16, VT_SCSI_OP_WRITE_SAME_16, 0x08, UT_BLOCKS - 4, 0);
	UT_EXPECT_GOOD(&c, g_f.a, c16, OUT, g_buf, UT_BS);
	UT_EXPECT_GOOD(&c, g_f.a, r, IN, g_rbuf, 9 * UT_BS);
	CU_ASSERT_EQUAL(memcmp(g_rbuf + 4 * UT_BS, g_buf, UT_BS), 0);
	CU_ASSERT(all_bytes(g_rbuf + 5 * UT_BS, 4 * UT_BS, 0));
	/* 0 blocks at the capacity itself: nothing to write. */
	cdb10(c10, VT_SCSI_OP_WRITE_SAME_10, 0, UT_BLOCKS, 0);
	UT_EXPECT_GOOD(&c, g_f.a, c10, OUT, g_buf, UT_BS);
	teardown();
}

static void
write_same_zero_blocks_past_the_end_is_lba_out_of_range(void)
{
	uint8_t c10[10], c16[16];
	struct ut_cmd c;

	setup();
	cdb10(c10, VT_SCSI_OP_WRITE_SAME_10, 0, UT_BLOCKS + 1, 0);
	UT_EXPECT_CHECK(&c, g_f.a, c10, OUT, g_buf, UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_LBA_OUT_OF_RANGE);
	cdb10(c10, VT_SCSI_OP_WRITE_SAME_10, 0, 0xffffffffu, 0);
	UT_EXPECT_CHECK(&c, g_f.a, c10, OUT, g_buf, UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_LBA_OUT_OF_RANGE);
	cdb16(c16, VT_SCSI_OP_WRITE_SAME_16, 0, 1ull << 63, 0);
	UT_EXPECT_CHECK(&c, g_f.a, c16, OUT, g_buf, UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_LBA_OUT_OF_RANGE);
	teardown();
}

static void
write_same_beyond_maximum_length_is_invalid_field(void)
{
	uint32_t max = 8u * 1024 * 1024 / UT_BS; /* MAXIMUM WRITE SAME LENGTH */
	uint8_t c16[16], c10[10];
	struct vt_bdev *big;
	struct ut_cmd c;

	setup();
	cdb16(c16, VT_SCSI_OP_WRITE_SAME_16, 0, 0, max + 1);
	UT_EXPECT_CHECK(&c, g_f.a, c16, OUT, g_buf, UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	CU_ASSERT_EQUAL(vt_scsi_get16(&c.task.sense[16]), 10); /* the NUMBER OF BLOCKS field */
	/* On a LUN larger than the maximum, 0 blocks counts to the end and is checked too. */
	big = add_lun1("ut_sbc_big", 2 * max, false);
	cdb10(c10, VT_SCSI_OP_WRITE_SAME_10, 0, 0, 0);
	CU_ASSERT_EQUAL(ut_run(&c, g_f.a, 1, c10, 10, OUT, g_buf, UT_BS),
			VT_SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(ut_sense(&c.task), UT_SK(UT_ILLEGAL, VT_SCSI_ASC_INVALID_FIELD_IN_CDB));
	cdb10(c10, VT_SCSI_OP_WRITE_SAME_10, 0, max - 1, 0);
	CU_ASSERT_EQUAL(ut_run(&c, g_f.a, 1, c10, 10, OUT, g_buf, UT_BS),
			VT_SCSI_STATUS_CHECK_CONDITION);
	cdb10(c10, VT_SCSI_OP_WRITE_SAME_10, 0x08, max, 0);
	CU_ASSERT_EQUAL(ut_run(&c, g_f.a, 1, c10, 10, OUT, g_buf, UT_BS), VT_SCSI_STATUS_GOOD);
	remove_lun1(big);
	teardown();
}

static void
write_same_unmap_deallocates_whatever_the_block_holds(void)
{
	uint8_t c10[10], r[10];
	struct ut_cmd c;

	setup();
	fill(g_buf, 8 * UT_BS, 31);
	cdb10(c10, VT_SCSI_OP_WRITE_10, 0, 40, 8);
	UT_EXPECT_GOOD(&c, g_f.a, c10, OUT, g_buf, 8 * UT_BS);
	memset(g_buf, 0xff, UT_BS);
	cdb10(c10, VT_SCSI_OP_WRITE_SAME_10, 0x08, 40, 8);
	UT_EXPECT_GOOD(&c, g_f.a, c10, OUT, g_buf, UT_BS);
	cdb10(r, VT_SCSI_OP_READ_10, 0, 40, 8);
	UT_EXPECT_GOOD(&c, g_f.a, r, IN, g_rbuf, 8 * UT_BS);
	CU_ASSERT(all_bytes(g_rbuf, 8 * UT_BS, 0));
	teardown();
}

/* g_f on a malloc bdev with 4 KiB physical blocks of UT_BS logical blocks (LBPPB 8). */
#define UT_LBPPB 8u

static void
setup_physical(void)
{
	struct bdev_malloc_opts opts = {
		.name = "ut_sbc_pbs",
		.num_blocks = UT_BLOCKS,
		.block_size = UT_BS,
		.physical_block_size = UT_LBPPB * UT_BS,
	};

	memset(&g_f, 0, sizeof(g_f));
	CU_ASSERT_EQUAL_FATAL(bdev_malloc_create(&opts, &g_f.bdev), 0);
	g_f.dev = vt_scsi_dev_create("ut.target", 0);
	CU_ASSERT_FATAL(g_f.dev != NULL);
	CU_ASSERT_EQUAL_FATAL(vt_scsi_dev_add_lun(g_f.dev, "ut_sbc_pbs", 0, NULL, NULL), 0);
	g_f.a = vt_scsi_port_create(g_f.dev, "iqn.2024-01.ut:a");
	g_f.b = vt_scsi_port_create(g_f.dev, "iqn.2024-01.ut:b");
	CU_ASSERT_FATAL(g_f.a != NULL && g_f.b != NULL);
	ut_clear_ua(g_f.a);
	ut_clear_ua(g_f.b);
}

/* READ CAPACITY(16) byte 13 and the Block Limits granularities of the LUN in g_f. */
static void
read_physical_geometry(uint8_t *lbppbe, uint8_t *lalba_hi, uint16_t *xfer_gran, uint32_t *opt_xfer,
		       uint32_t *unmap_gran, uint32_t *uga)
{
	uint8_t c16[16] = { VT_SCSI_OP_SERVICE_ACTION_IN_16, VT_SCSI_SAI_READ_CAPACITY_16 };
	uint8_t inq[6] = { VT_SCSI_OP_INQUIRY, 1, VT_SCSI_VPD_BLOCK_LIMITS, 0, 64, 0 };
	uint8_t data[64];
	struct ut_cmd c;

	vt_scsi_put32(&c16[10], 32);
	UT_EXPECT_GOOD(&c, g_f.a, c16, IN, data, 32);
	*lbppbe = data[13] & 0x0f;
	*lalba_hi = data[14] & 0x3f;
	CU_ASSERT_EQUAL(data[15], 0);
	UT_EXPECT_GOOD(&c, g_f.a, inq, IN, data, 64);
	*xfer_gran = vt_scsi_get16(&data[6]);
	*opt_xfer = vt_scsi_get32(&data[12]);
	*unmap_gran = vt_scsi_get32(&data[28]);
	*uga = vt_scsi_get32(&data[32]);
}

static void
physical_block_size_sets_lbppbe_and_block_limits_granularity(void)
{
	uint8_t lbppbe, lalba;
	uint16_t gran;
	uint32_t opt, unmap_gran, uga;

	/* A bdev without a physical block size: LBPPBE 0, granularities of one block. */
	setup();
	read_physical_geometry(&lbppbe, &lalba, &gran, &opt, &unmap_gran, &uga);
	CU_ASSERT_EQUAL(lbppbe, 0);
	CU_ASSERT_EQUAL(lalba, 0);
	CU_ASSERT_EQUAL(gran, 1);
	CU_ASSERT_EQUAL(opt, 128u * 1024 / UT_BS);
	CU_ASSERT_EQUAL(unmap_gran, 1);
	CU_ASSERT_EQUAL(uga, 0);
	teardown();
	/* 4 KiB physical blocks on 512 B: LBPPBE 3, lowest aligned LBA 0, both granularities 8
	 * with UGAVALID and alignment 0, OPTIMAL TRANSFER LENGTH a multiple of 8. */
	setup_physical();
	read_physical_geometry(&lbppbe, &lalba, &gran, &opt, &unmap_gran, &uga);
	CU_ASSERT_EQUAL(lbppbe, 3);
	CU_ASSERT_EQUAL(lalba, 0);
	CU_ASSERT_EQUAL(gran, UT_LBPPB);
	CU_ASSERT_EQUAL(opt, 128u * 1024 / UT_BS);
	CU_ASSERT_EQUAL(unmap_gran, UT_LBPPB);
	CU_ASSERT_EQUAL(uga, 0x80000000u);
	/* An optimal I/O boundary that is not whole physical blocks is rounded up to them. */
	g_f.bdev->optimal_io_boundary = 3;
	read_physical_geometry(&lbppbe, &lalba, &gran, &opt, &unmap_gran, &uga);
	CU_ASSERT_EQUAL(opt, UT_LBPPB);
	g_f.bdev->optimal_io_boundary = 16;
	read_physical_geometry(&lbppbe, &lalba, &gran, &opt, &unmap_gran, &uga);
	CU_ASSERT_EQUAL(opt, 16);
	ut_fix_teardown(&g_f);
}

/* What libiscsi's WriteSame10/16.UnmapUnaligned and InvalidDataOutSize check (LBPPB > 1). */
static void
write_same_unmap_of_part_of_a_physical_block_deallocates_it(void)
{
	uint8_t c10[10], c16[16], r[10];
	struct ut_cmd c;

	setup_physical();
	for (uint32_t i = 1; i < UT_LBPPB; i++) {
		fill(g_buf, UT_LBPPB * UT_BS, (uint8_t)i);
		cdb10(c10, VT_SCSI_OP_WRITE_10, 0, 0, UT_LBPPB);
		UT_EXPECT_GOOD(&c, g_f.a, c10, OUT, g_buf, UT_LBPPB * UT_BS);
		memset(g_rbuf, 0xa6, UT_BS);
		if (i % 2 != 0) {
			cdb10(c10, VT_SCSI_OP_WRITE_SAME_10, 0x08, i, (uint16_t)(UT_LBPPB - i));
			UT_EXPECT_GOOD(&c, g_f.a, c10, OUT, g_rbuf, UT_BS);
		} else {
			cdb16(c16, VT_SCSI_OP_WRITE_SAME_16, 0x08, i, UT_LBPPB - i);
			UT_EXPECT_GOOD(&c, g_f.a, c16, OUT, g_rbuf, UT_BS);
		}
		/* The blocks before i keep their data, the rest of the physical block reads 0. */
		cdb10(r, VT_SCSI_OP_READ_10, 0, 0, UT_LBPPB);
		UT_EXPECT_GOOD(&c, g_f.a, r, IN, g_rbuf, UT_LBPPB * UT_BS);
		CU_ASSERT_EQUAL(memcmp(g_rbuf, g_buf, i * UT_BS), 0);
		CU_ASSERT(all_bytes(g_rbuf + i * UT_BS, (UT_LBPPB - i) * UT_BS, 0));
	}
	/* Half a block and two blocks of data for one block stay refused on this LUN. */
	cdb16(c16, VT_SCSI_OP_WRITE_SAME_16, 0x08, 0, 1);
	UT_EXPECT_CHECK(&c, g_f.a, c16, OUT, g_buf, UT_BS / 2, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	UT_EXPECT_CHECK(&c, g_f.a, c16, OUT, g_buf, 2 * UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	ut_fix_teardown(&g_f);
}

static void
write_data_out_must_match_the_blocks_exactly(void)
{
	uint8_t c10[10], c16[16], caw[16] = { VT_SCSI_OP_COMPARE_AND_WRITE };
	struct ut_cmd c;

	setup();
	/* WRITE SAME: half a block and two blocks are refused, pointing at NUMBER OF BLOCKS. */
	cdb10(c10, VT_SCSI_OP_WRITE_SAME_10, 0x08, 0, 1);
	UT_EXPECT_CHECK(&c, g_f.a, c10, OUT, g_buf, UT_BS / 2, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	CU_ASSERT_EQUAL(vt_scsi_get16(&c.task.sense[16]), 7);
	UT_EXPECT_CHECK(&c, g_f.a, c10, OUT, g_buf, 2 * UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	/* WRITE(10)/WRITE(16) with a larger buffer than the blocks. */
	cdb10(c10, VT_SCSI_OP_WRITE_10, 0, 0, 1);
	UT_EXPECT_CHECK(&c, g_f.a, c10, OUT, g_buf, 2 * UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	cdb16(c16, VT_SCSI_OP_WRITE_16, 0, 0, 2);
	UT_EXPECT_CHECK(&c, g_f.a, c16, OUT, g_buf, 3 * UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	CU_ASSERT_EQUAL(vt_scsi_get16(&c.task.sense[16]), 10);
	/* COMPARE AND WRITE of 1 block with 4 blocks of data. */
	caw[13] = 1;
	UT_EXPECT_CHECK(&c, g_f.a, caw, OUT, g_buf, 4 * UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	CU_ASSERT_EQUAL(vt_scsi_get16(&c.task.sense[16]), 13);
	/* NDOB: no data needed, a buffer is ignored (underflow). */
	cdb16(c16, VT_SCSI_OP_WRITE_SAME_16, 0x09, 0, 1);
	UT_EXPECT_GOOD(&c, g_f.a, c16, OUT, g_buf, UT_BS);
	CU_ASSERT_EQUAL(c.task.residual, UT_BS);
	teardown();
}

static void
write_to_read_only_lun_is_protected_before_buffer_checks(void)
{
	uint8_t ws[10], w[10], rd[10];
	struct vt_bdev *ro;
	struct ut_cmd c;

	setup();
	ro = add_lun1("ut_sbc_ro", 64, true);
	/* WRITE SAME UNMAP without a data buffer: WRITE PROTECTED, not a buffer error. */
	cdb10(ws, VT_SCSI_OP_WRITE_SAME_10, 0x08, 0, 1);
	CU_ASSERT_EQUAL(ut_run(&c, g_f.a, 1, ws, 10, NONE, NULL, 0),
			VT_SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(ut_sense(&c.task),
			UT_SK(VT_SCSI_SENSE_DATA_PROTECT, VT_SCSI_ASC_WRITE_PROTECTED));
	cdb10(w, VT_SCSI_OP_WRITE_10, 0, 0, 1);
	CU_ASSERT_EQUAL(ut_run(&c, g_f.a, 1, w, 10, OUT, g_buf, UT_BS),
			VT_SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(ut_sense(&c.task),
			UT_SK(VT_SCSI_SENSE_DATA_PROTECT, VT_SCSI_ASC_WRITE_PROTECTED));
	cdb10(rd, VT_SCSI_OP_READ_10, 0, 0, 1);
	CU_ASSERT_EQUAL(ut_run(&c, g_f.a, 1, rd, 10, IN, g_rbuf, UT_BS), VT_SCSI_STATUS_GOOD);
	/* A read-only bdev that cannot unmap either (a read-only file): still WRITE PROTECTED. */
	g_f.dev->luns[1]->unmap = false;
	CU_ASSERT_EQUAL(ut_run(&c, g_f.a, 1, ws, 10, OUT, g_buf, UT_BS),
			VT_SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(ut_sense(&c.task),
			UT_SK(VT_SCSI_SENSE_DATA_PROTECT, VT_SCSI_ASC_WRITE_PROTECTED));
	remove_lun1(ro);
	teardown();
}

static void
parameter_data_out_reports_residual_of_the_unused_buffer(void)
{
	uint8_t cdb[10] = { VT_SCSI_OP_UNMAP };
	uint8_t list[64] = { 0 };
	struct ut_cmd c;

	setup();
	vt_scsi_put16(&list[0], 22);
	vt_scsi_put16(&list[2], 16);
	vt_scsi_put64(&list[8], 3);
	vt_scsi_put32(&list[16], 1);
	vt_scsi_put16(&cdb[7], 24);
	/* The buffer holds exactly the parameter list: nothing left over. */
	UT_EXPECT_GOOD(&c, g_f.a, cdb, OUT, list, 24);
	CU_ASSERT_EQUAL(c.task.data_transferred, 24);
	CU_ASSERT_EQUAL(c.task.residual, 0);
	/* A larger buffer: the bytes past the parameter list length are an underflow. */
	UT_EXPECT_GOOD(&c, g_f.a, cdb, OUT, list, sizeof(list));
	CU_ASSERT_EQUAL(c.task.residual, (int64_t)sizeof(list) - 24);
	teardown();
}

int
main(void)
{
	CU_pSuite s;

	CU_initialize_registry();
	s = CU_add_suite("scsi_sbc", ut_reactor_suite_init, ut_reactor_suite_fini);
	CU_ADD_TEST(s, rw_all_sizes_round_trip_data);
	CU_ADD_TEST(s, rw_larger_buffer_reports_underflow_residual);
	CU_ADD_TEST(s, rw_refuses_range_beyond_the_medium);
	CU_ADD_TEST(s, rw_refuses_bad_fields_and_buffers);
	CU_ADD_TEST(s, read_capacity_reports_geometry_and_provisioning);
	CU_ADD_TEST(s, verify_bytchk_compares_and_reports_miscompare_offset);
	CU_ADD_TEST(s, write_and_verify_writes_data);
	CU_ADD_TEST(s, prefetch_and_sync_cache_check_the_range);
	CU_ADD_TEST(s, compare_and_write_is_conditional);
	CU_ADD_TEST(s, unmap_zeroes_listed_ranges_and_checks_the_list);
	CU_ADD_TEST(s, write_same_replicates_unmaps_and_zeroes);
	CU_ADD_TEST(s, get_lba_status_reports_mapped_and_deallocated_extents);
	CU_ADD_TEST(s, read_defect_data_returns_an_empty_list_in_the_requested_format);
	CU_ADD_TEST(s, orwrite_ors_the_data_into_the_blocks);
	CU_ADD_TEST(s, write_atomic_writes_within_the_block_limits);
	CU_ADD_TEST(s, write_same_zero_blocks_runs_to_the_end_of_the_medium);
	CU_ADD_TEST(s, write_same_zero_blocks_past_the_end_is_lba_out_of_range);
	CU_ADD_TEST(s, write_same_beyond_maximum_length_is_invalid_field);
	CU_ADD_TEST(s, write_same_unmap_deallocates_whatever_the_block_holds);
	CU_ADD_TEST(s, physical_block_size_sets_lbppbe_and_block_limits_granularity);
	CU_ADD_TEST(s, write_same_unmap_of_part_of_a_physical_block_deallocates_it);
	CU_ADD_TEST(s, write_data_out_must_match_the_blocks_exactly);
	CU_ADD_TEST(s, write_to_read_only_lun_is_protected_before_buffer_checks);
	CU_ADD_TEST(s, parameter_data_out_reports_residual_of_the_unused_buffer);
	return ut_run_tests();
}
