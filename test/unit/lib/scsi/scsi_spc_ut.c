/* SPDX-License-Identifier: BSD-3-Clause */
/* Primary commands (scsi_spc.c, scsi_vpd.c, scsi_mode.c) through the dispatcher. */
#include "test/unit/lib/scsi/ut_scsi.h"

#include "lib/scsi/scsi_internal.h"

static struct ut_fix g_f;
static uint8_t g_data[8192];

#define OUT VT_SCSI_DIR_TO_DEV
#define IN VT_SCSI_DIR_FROM_DEV
#define NONE VT_SCSI_DIR_NONE

static void
inquiry_standard_data_names_the_target(void)
{
	uint8_t cdb[6] = { VT_SCSI_OP_INQUIRY, 0, 0, 0, 96, 0 };
	struct ut_cmd c;

	ut_fix_setup(&g_f, "ut_spc");
	UT_EXPECT_GOOD(&c, g_f.a, cdb, IN, g_data, 96);
	CU_ASSERT_EQUAL(c.task.data_transferred, 96);
	CU_ASSERT_EQUAL(g_data[0], 0x00);
	CU_ASSERT_EQUAL(g_data[2], 0x06);
	CU_ASSERT_EQUAL(g_data[3], 0x12);
	CU_ASSERT_EQUAL(g_data[4], 91);
	CU_ASSERT_EQUAL(memcmp(&g_data[8], "VTARGET Malloc disk     0001", 28), 0);
	CU_ASSERT_EQUAL(vt_scsi_get16(&g_data[60]), VT_SCSI_VERSION_SPC4);
	CU_ASSERT_EQUAL(vt_scsi_get16(&g_data[62]), VT_SCSI_VERSION_SBC3);
	/* Allocation length 5 cuts the data. */
	cdb[4] = 5;
	UT_EXPECT_GOOD(&c, g_f.a, cdb, IN, g_data, 96);
	CU_ASSERT_EQUAL(c.task.data_transferred, 5);
	/* A page code without EVPD, CMDDT, an unknown VPD page. */
	cdb[2] = 0x80;
	UT_EXPECT_CHECK(&c, g_f.a, cdb, IN, g_data, 96, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	cdb[1] = 0x02;
	cdb[2] = 0;
	UT_EXPECT_CHECK(&c, g_f.a, cdb, IN, g_data, 96, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	cdb[1] = 0x01;
	cdb[2] = 0x87;
	UT_EXPECT_CHECK(&c, g_f.a, cdb, IN, g_data, 96, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	ut_fix_teardown(&g_f);
}

static void
inquiry_vpd_pages_are_consistent(void)
{
	uint8_t cdb[6] = { VT_SCSI_OP_INQUIRY, 1, 0, 0x10, 0, 0 };
	uint8_t pages[16];
	struct ut_cmd c;

	ut_fix_setup(&g_f, "ut_spc");
	UT_EXPECT_GOOD(&c, g_f.a, cdb, IN, g_data, 4096);
	CU_ASSERT_EQUAL(g_data[3], 8); /* 00h 80h 83h 86h 8Fh B0h B1h B2h */
	memcpy(pages, &g_data[4], 8);
	for (int i = 0; i < 8; i++) {
		cdb[2] = pages[i];
		UT_EXPECT_GOOD(&c, g_f.a, cdb, IN, g_data, 4096);
		CU_ASSERT_EQUAL(g_data[1], pages[i]);
		CU_ASSERT_EQUAL(c.task.data_transferred, 4u + vt_scsi_get16(&g_data[2]));
	}
	cdb[2] = VT_SCSI_VPD_UNIT_SERIAL;
	UT_EXPECT_GOOD(&c, g_f.a, cdb, IN, g_data, 4096);
	CU_ASSERT_EQUAL(memcmp(&g_data[4], "ut_spc", 6), 0);
	cdb[2] = VT_SCSI_VPD_DEVICE_ID;
	UT_EXPECT_GOOD(&c, g_f.a, cdb, IN, g_data, 4096);
	CU_ASSERT_EQUAL(g_data[4 + 1] & 0x0f, 3); /* NAA first */
	CU_ASSERT_EQUAL(g_data[4 + 4] >> 4, 6);
	cdb[2] = VT_SCSI_VPD_BLOCK_LIMITS;
	UT_EXPECT_GOOD(&c, g_f.a, cdb, IN, g_data, 4096);
	CU_ASSERT_EQUAL(vt_scsi_get16(&g_data[2]), 0x3c);
	CU_ASSERT_EQUAL(g_data[5], vt_bdev_get_acwu(g_f.bdev));
	CU_ASSERT_EQUAL(vt_scsi_get32(&g_data[8]), 8u * 1024 * 1024 / UT_BS);
	CU_ASSERT_EQUAL(vt_scsi_get32(&g_data[20]), 1024u * 1024);
	CU_ASSERT_EQUAL(vt_scsi_get32(&g_data[24]), 256);
	CU_ASSERT_EQUAL(g_data[4] & 0x01, 0); /* WSNZ 0: 0 blocks = to the end */
	/* MAXIMUM WRITE SAME LENGTH = MAXIMUM TRANSFER LENGTH. */
	CU_ASSERT_EQUAL(vt_scsi_get64(&g_data[36]), vt_scsi_get32(&g_data[8]));
	cdb[2] = VT_SCSI_VPD_BLOCK_CHARACTERISTICS;
	UT_EXPECT_GOOD(&c, g_f.a, cdb, IN, g_data, 4096);
	CU_ASSERT_EQUAL(vt_scsi_get16(&g_data[4]), 1);
	cdb[2] = VT_SCSI_VPD_LB_PROVISIONING;
	UT_EXPECT_GOOD(&c, g_f.a, cdb, IN, g_data, 4096);
	CU_ASSERT_EQUAL(g_data[5] & 0xe4, 0xe4); /* LBPU LBPWS LBPWS10 LBPRZ */
	ut_fix_teardown(&g_f);
}

static void
request_sense_reports_no_sense_and_format(void)
{
	uint8_t cdb[6] = { VT_SCSI_OP_REQUEST_SENSE, 0, 0, 0, 252, 0 };
	struct ut_cmd c;

	ut_fix_setup(&g_f, "ut_spc");
	UT_EXPECT_GOOD(&c, g_f.a, cdb, IN, g_data, 252);
	CU_ASSERT_EQUAL(c.task.data_transferred, 18);
	CU_ASSERT_EQUAL(g_data[0], 0x70);
	CU_ASSERT_EQUAL(g_data[2], 0);
	cdb[1] = 1;
	UT_EXPECT_GOOD(&c, g_f.a, cdb, IN, g_data, 252);
	CU_ASSERT_EQUAL(g_data[0], 0x72);
	cdb[1] = 2;
	UT_EXPECT_CHECK(&c, g_f.a, cdb, IN, g_data, 252, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	ut_fix_teardown(&g_f);
}

static void
simple_commands_succeed_and_check_reserved_bits(void)
{
	uint8_t tur[6] = { 0 }, ssu[6] = { VT_SCSI_OP_START_STOP_UNIT, 1, 0, 0, 0x01, 0 };
	uint8_t pa[6] = { VT_SCSI_OP_PREVENT_ALLOW_MEDIUM_REMOVAL, 0, 0, 0, 1, 0 };
	struct ut_cmd c;

	ut_fix_setup(&g_f, "ut_spc");
	UT_EXPECT_GOOD(&c, g_f.a, tur, NONE, NULL, 0);
	UT_EXPECT_GOOD(&c, g_f.a, ssu, NONE, NULL, 0);
	ssu[4] = 0x02; /* LOEJ, stop */
	UT_EXPECT_GOOD(&c, g_f.a, ssu, NONE, NULL, 0);
	UT_EXPECT_GOOD(&c, g_f.a, pa, NONE, NULL, 0);
	tur[1] = 0x20;
	UT_EXPECT_CHECK(&c, g_f.a, tur, NONE, NULL, 0, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	ssu[4] = 0x08; /* reserved bit */
	UT_EXPECT_CHECK(&c, g_f.a, ssu, NONE, NULL, 0, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	pa[4] = 0x04;
	UT_EXPECT_CHECK(&c, g_f.a, pa, NONE, NULL, 0, UT_ILLEGAL, VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	ut_fix_teardown(&g_f);
}

static void
mode_sense_reports_pages_block_descriptors_and_changeable(void)
{
	uint8_t ms6[6] = { VT_SCSI_OP_MODE_SENSE_6, 0, 0x3f, 0, 255, 0 };
	uint8_t ms10[10] = { VT_SCSI_OP_MODE_SENSE_10, 0x10, 0x3f, 0, 0, 0, 0, 1, 0, 0 };
	struct ut_cmd c;

	ut_fix_setup(&g_f, "ut_spc");
	UT_EXPECT_GOOD(&c, g_f.a, ms6, IN, g_data, 255);
	CU_ASSERT_EQUAL(g_data[0], 3 + 8 + 20 + 12 + 12);
	CU_ASSERT_EQUAL(g_data[3], 8);
	CU_ASSERT_EQUAL(vt_scsi_get32(&g_data[4]), UT_BLOCKS);
	CU_ASSERT_EQUAL(g_data[12], 0x08);
	CU_ASSERT_EQUAL(g_data[32], 0x0a);
	CU_ASSERT_EQUAL(g_data[44], 0x1c);
	/* DBD: no block descriptor; caching page only. */
	ms6[1] = 0x08;
	ms6[2] = 0x08;
	UT_EXPECT_GOOD(&c, g_f.a, ms6, IN, g_data, 255);
	CU_ASSERT_EQUAL(g_data[0], 3 + 20);
	CU_ASSERT_EQUAL(g_data[3], 0);
	/* Changeable: D_SENSE yes, WCE no (a malloc bdev has no volatile cache). */
	ms6[2] = 0x40 | 0x3f;
	UT_EXPECT_GOOD(&c, g_f.a, ms6, IN, g_data, 255);
	CU_ASSERT_EQUAL(g_data[4 + 2], 0x00);
	CU_ASSERT_EQUAL(g_data[4 + 20 + 2], 0x04);
	/* LLBAA gives the 16-byte descriptor. */
	UT_EXPECT_GOOD(&c, g_f.a, ms10, IN, g_data, 256);
	CU_ASSERT_EQUAL(g_data[4] & 1, 1);
	CU_ASSERT_EQUAL(vt_scsi_get16(&g_data[6]), 16);
	CU_ASSERT_EQUAL(vt_scsi_get64(&g_data[8]), UT_BLOCKS);
	/* Saved values, an unknown page, an unknown subpage. */
	ms6[1] = 0;
	ms6[2] = 0xc0 | 0x08;
	UT_EXPECT_CHECK(&c, g_f.a, ms6, IN, g_data, 255, UT_ILLEGAL,
			VT_SCSI_ASC_SAVING_PARAMS_NOT_SUPPORTED);
	ms6[2] = 0x01;
	UT_EXPECT_CHECK(&c, g_f.a, ms6, IN, g_data, 255, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	ms6[2] = 0x08;
	ms6[3] = 0x01;
	UT_EXPECT_CHECK(&c, g_f.a, ms6, IN, g_data, 255, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	ut_fix_teardown(&g_f);
}

static void
mode_select_sets_d_sense_and_tells_other_initiators(void)
{
	uint8_t sel[6] = { VT_SCSI_OP_MODE_SELECT_6, 0x10, 0, 0, 16, 0 };
	uint8_t list[16] = { 0, 0, 0, 0, 0x0a, 0x0a, 0x04, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0 };
	uint8_t rd[10] = { VT_SCSI_OP_READ_10, 0, 0xff, 0, 0, 0, 0, 0, 1, 0 };
	struct ut_cmd c;

	ut_fix_setup(&g_f, "ut_spc");
	UT_EXPECT_GOOD(&c, g_f.a, sel, OUT, list, 16);
	/* Errors now come in descriptor format (72h). */
	CU_ASSERT_EQUAL(ut_run(&c, g_f.a, 0, rd, 10, IN, g_data, UT_BS),
			VT_SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(c.task.sense[0], 0x72);
	CU_ASSERT_EQUAL(ut_sense(&c.task), UT_SK(UT_ILLEGAL, VT_SCSI_ASC_LBA_OUT_OF_RANGE));
	/* Initiator B is told the parameters changed. */
	CU_ASSERT_EQUAL(ut_run(&c, g_f.b, 0, rd, 10, IN, g_data, UT_BS),
			VT_SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(ut_sense(&c.task),
			UT_SK(VT_SCSI_SENSE_UNIT_ATTENTION, VT_SCSI_ASC_MODE_PARAMETERS_CHANGED));
	/* A non-changeable bit, a bad page length, a truncated list, SP. */
	list[6] = 0x04 | 0x02;
	UT_EXPECT_CHECK(&c, g_f.a, sel, OUT, list, 16, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST);
	/* The field pointer (descriptor format now) names list byte 6, bit 1. */
	CU_ASSERT_EQUAL(c.task.sense[8], 0x02);
	CU_ASSERT_EQUAL(c.task.sense[12], 0x80 | 0x08 | 1);
	CU_ASSERT_EQUAL(vt_scsi_get16(&c.task.sense[13]), 6);
	list[6] = 0;
	list[5] = 0x09;
	UT_EXPECT_CHECK(&c, g_f.a, sel, OUT, list, 16, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST);
	list[5] = 0x0a;
	sel[4] = 10;
	UT_EXPECT_CHECK(&c, g_f.a, sel, OUT, list, 10, UT_ILLEGAL,
			VT_SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
	sel[1] = 0x11;
	UT_EXPECT_CHECK(&c, g_f.a, sel, OUT, list, 16, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	/* Back to fixed format. */
	sel[1] = 0x10;
	sel[4] = 16;
	UT_EXPECT_GOOD(&c, g_f.a, sel, OUT, list, 16);
	UT_EXPECT_CHECK(&c, g_f.a, rd, IN, g_data, UT_BS, UT_ILLEGAL, VT_SCSI_ASC_LBA_OUT_OF_RANGE);
	CU_ASSERT_EQUAL(c.task.sense[0], 0x70);
	ut_fix_teardown(&g_f);
}

static void
report_supported_opcodes_matches_the_parsers(void)
{
	uint8_t cdb[12] = { VT_SCSI_OP_MAINTENANCE_IN, VT_SCSI_MI_REPORT_SUPPORTED_OPCODES };
	uint8_t one[12];
	uint32_t len, n = 0;
	struct ut_cmd c;

	ut_fix_setup(&g_f, "ut_spc");
	vt_scsi_put32(&cdb[6], sizeof(g_data));
	UT_EXPECT_GOOD(&c, g_f.a, cdb, IN, g_data, sizeof(g_data));
	len = vt_scsi_get32(g_data);
	CU_ASSERT(len > 40 * 8);
	for (uint32_t off = 4; off < 4 + len; off += 8, n++) {
		uint8_t *d = &g_data[off];
		static uint8_t rsp[64];
		struct ut_cmd c1;

		memcpy(one, cdb, sizeof(one));
		one[2] = (d[5] & 1) ? 2 : 1;
		one[3] = d[0];
		vt_scsi_put16(&one[4], vt_scsi_get16(&d[2]));
		vt_scsi_put32(&one[6], sizeof(rsp));
		CU_ASSERT_EQUAL(ut_run(&c1, g_f.a, 0, one, 12, IN, rsp, sizeof(rsp)),
				VT_SCSI_STATUS_GOOD);
		CU_ASSERT_EQUAL(rsp[1] & 7, 3);
		CU_ASSERT_EQUAL(vt_scsi_get16(&rsp[2]), vt_scsi_get16(&d[6]));
		CU_ASSERT_EQUAL(rsp[4], d[0]);
		/* The other one-command option fails for this opcode. */
		one[2] = (d[5] & 1) ? 1 : 2;
		CU_ASSERT_EQUAL(ut_run(&c1, g_f.a, 0, one, 12, IN, rsp, sizeof(rsp)),
				VT_SCSI_STATUS_CHECK_CONDITION);
	}
	CU_ASSERT(n > 40);
	/* An opcode not supported; an invalid reporting option. */
	one[2] = 1;
	one[3] = 0x8c;
	UT_EXPECT_GOOD(&c, g_f.a, one, IN, g_data, 64);
	CU_ASSERT_EQUAL(g_data[1] & 7, 1);
	one[2] = 5;
	UT_EXPECT_CHECK(&c, g_f.a, one, IN, g_data, 64, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	ut_fix_teardown(&g_f);
}

static void
reserve6_excludes_the_other_initiator_until_released(void)
{
	uint8_t res[6] = { VT_SCSI_OP_RESERVE_6 }, rel[6] = { VT_SCSI_OP_RELEASE_6 };
	uint8_t tur[6] = { 0 }, inq[6] = { VT_SCSI_OP_INQUIRY, 0, 0, 0, 36, 0 };
	uint8_t res10[10] = { VT_SCSI_OP_RESERVE_10 };
	struct ut_cmd c;

	ut_fix_setup(&g_f, "ut_spc");
	UT_EXPECT_GOOD(&c, g_f.a, res, NONE, NULL, 0);
	UT_EXPECT_GOOD(&c, g_f.a, tur, NONE, NULL, 0);
	CU_ASSERT_EQUAL(ut_run(&c, g_f.b, 0, tur, 6, NONE, NULL, 0),
			VT_SCSI_STATUS_RESERVATION_CONFLICT);
	CU_ASSERT_EQUAL(ut_run(&c, g_f.b, 0, res10, 10, NONE, NULL, 0),
			VT_SCSI_STATUS_RESERVATION_CONFLICT);
	UT_EXPECT_GOOD(&c, g_f.b, inq, IN, g_data, 36);
	UT_EXPECT_GOOD(&c, g_f.b, rel, NONE, NULL, 0); /* not the holder: no effect */
	CU_ASSERT_EQUAL(ut_run(&c, g_f.b, 0, tur, 6, NONE, NULL, 0),
			VT_SCSI_STATUS_RESERVATION_CONFLICT);
	UT_EXPECT_GOOD(&c, g_f.a, rel, NONE, NULL, 0);
	UT_EXPECT_GOOD(&c, g_f.b, tur, NONE, NULL, 0);
	res[1] = 0x10; /* 3RDPTY: obsolete */
	UT_EXPECT_CHECK(&c, g_f.a, res, NONE, NULL, 0, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	ut_fix_teardown(&g_f);
}

/* Fixed-format sense-key specific bytes: SKSV, C/D, BPV + bit, field pointer. */
static void
expect_field_pointer(const struct vt_scsi_task *t, uint8_t flags, uint16_t byte)
{
	CU_ASSERT_EQUAL(t->sense[0] & 0x7f, 0x70);
	CU_ASSERT_EQUAL(t->sense[15], flags);
	CU_ASSERT_EQUAL(vt_scsi_get16(&t->sense[16]), byte);
}

static void
report_opcodes_option_mismatch_points_at_reporting_options(void)
{
	uint8_t cdb[12] = { VT_SCSI_OP_MAINTENANCE_IN, VT_SCSI_MI_REPORT_SUPPORTED_OPCODES, 2 };
	struct ut_cmd c;

	/* libiscsi takes INVALID FIELD IN CDB on a MAINTENANCE IN command without a field pointer
	 * (or with one at byte 1) for "command not supported" and skips the test. */
	ut_fix_setup(&g_f, "ut_spc");
	vt_scsi_put32(&cdb[6], 64);
	cdb[3] = VT_SCSI_OP_TEST_UNIT_READY; /* option 2 on an opcode without service actions */
	UT_EXPECT_CHECK(&c, g_f.a, cdb, IN, g_data, 64, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	expect_field_pointer(&c.task, 0xc8 | 2, 2);
	cdb[2] = 1; /* option 1 on one with service actions */
	cdb[3] = VT_SCSI_OP_SERVICE_ACTION_IN_16;
	UT_EXPECT_CHECK(&c, g_f.a, cdb, IN, g_data, 64, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	expect_field_pointer(&c.task, 0xc8 | 2, 2);
	cdb[2] = 4; /* reserved reporting option */
	UT_EXPECT_CHECK(&c, g_f.a, cdb, IN, g_data, 64, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	expect_field_pointer(&c.task, 0xc8 | 2, 2);
	ut_fix_teardown(&g_f);
}

static void
invalid_field_sense_points_at_the_offending_cdb_bit(void)
{
	uint8_t rd[10] = { VT_SCSI_OP_READ_10, 0x01 }, sai[16] = { 0x9e, 0x1f };
	uint8_t ms[6] = { VT_SCSI_OP_MODE_SENSE_6, 0, 0x3e, 0, 64, 0 };
	uint8_t inq[6] = { VT_SCSI_OP_INQUIRY, 1, 0x42, 0, 64, 0 };
	struct ut_cmd c;

	ut_fix_setup(&g_f, "ut_spc");
	/* A reserved bit (READ(10) byte 1 bit 0), with the bit pointer. */
	UT_EXPECT_CHECK(&c, g_f.a, rd, IN, g_data, 512, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	expect_field_pointer(&c.task, 0xc8, 1);
	/* An unsupported service action: the SERVICE ACTION field, byte 1. */
	UT_EXPECT_CHECK(&c, g_f.a, sai, IN, g_data, 64, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	expect_field_pointer(&c.task, 0xc8 | 4, 1);
	/* An unsupported mode page (byte 2 bit 5 down) and VPD page (byte 2). */
	UT_EXPECT_CHECK(&c, g_f.a, ms, IN, g_data, 64, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	expect_field_pointer(&c.task, 0xc8 | 5, 2);
	UT_EXPECT_CHECK(&c, g_f.a, inq, IN, g_data, 64, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	expect_field_pointer(&c.task, 0xc0, 2);
	ut_fix_teardown(&g_f);
}

static void
descriptor_sense_carries_the_field_pointer_descriptor(void)
{
	uint8_t buf[VT_SCSI_SENSE_MAX], sks[3];
	uint32_t len;

	scsi_sense_field_pointer(sks, true, 13, -1);
	len = scsi_sense_build_sks(buf, true, VT_SCSI_SENSE_ILLEGAL_REQUEST,
				   VT_SCSI_ASC_INVALID_FIELD_IN_CDB, false, 0, sks);
	CU_ASSERT_EQUAL(len, VT_SCSI_DESC_SENSE_LEN + VT_SCSI_DESC_SENSE_SKS_LEN);
	CU_ASSERT_EQUAL(buf[0], 0x72);
	CU_ASSERT_EQUAL(buf[7], VT_SCSI_DESC_SENSE_SKS_LEN);
	CU_ASSERT_EQUAL(buf[8], 0x02);
	CU_ASSERT_EQUAL(buf[9], 0x06);
	CU_ASSERT_EQUAL(buf[12], 0xc0);
	CU_ASSERT_EQUAL(vt_scsi_get16(&buf[13]), 13);
	/* Information and field pointer together still fit libiscsi's 32-byte sense buffer. */
	scsi_sense_field_pointer(sks, false, 3, 7);
	len = scsi_sense_build_sks(buf, true, VT_SCSI_SENSE_ILLEGAL_REQUEST,
				   VT_SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST, true, 5, sks);
	CU_ASSERT(len <= 32);
	CU_ASSERT_EQUAL(buf[8 + 12], 0x02);
	CU_ASSERT_EQUAL(buf[8 + 12 + 4], 0x8f);
}

int
main(void)
{
	CU_pSuite s;

	CU_initialize_registry();
	s = CU_add_suite("scsi_spc", ut_reactor_suite_init, ut_reactor_suite_fini);
	CU_ADD_TEST(s, inquiry_standard_data_names_the_target);
	CU_ADD_TEST(s, inquiry_vpd_pages_are_consistent);
	CU_ADD_TEST(s, request_sense_reports_no_sense_and_format);
	CU_ADD_TEST(s, simple_commands_succeed_and_check_reserved_bits);
	CU_ADD_TEST(s, mode_sense_reports_pages_block_descriptors_and_changeable);
	CU_ADD_TEST(s, mode_select_sets_d_sense_and_tells_other_initiators);
	CU_ADD_TEST(s, report_supported_opcodes_matches_the_parsers);
	CU_ADD_TEST(s, reserve6_excludes_the_other_initiator_until_released);
	CU_ADD_TEST(s, report_opcodes_option_mismatch_points_at_reporting_options);
	CU_ADD_TEST(s, invalid_field_sense_points_at_the_offending_cdb_bit);
	CU_ADD_TEST(s, descriptor_sense_carries_the_field_pointer_descriptor);
	return ut_run_tests();
}
