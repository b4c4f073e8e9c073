/* SPDX-License-Identifier: BSD-3-Clause */
/* Persistent reservations (scsi_pr.c) with two initiators. */
#include "test/unit/lib/scsi/ut_scsi.h"

static struct ut_fix g_f;
static uint8_t g_data[4096];

#define OUT VT_SCSI_DIR_TO_DEV
#define IN VT_SCSI_DIR_FROM_DEV
#define NONE VT_SCSI_DIR_NONE

static uint8_t
prout(struct vt_scsi_port *port, uint8_t sa, uint8_t type, uint64_t key, uint64_t sa_key,
      struct ut_cmd *c)
{
	uint8_t cdb[10] = { VT_SCSI_OP_PERSISTENT_RESERVE_OUT, sa, type, 0, 0, 0, 0, 0, 24, 0 };
	uint8_t p[24] = { 0 };

	vt_scsi_put64(p, key);
	vt_scsi_put64(&p[8], sa_key);
	return ut_run(c, port, 0, cdb, 10, OUT, p, 24);
}

static uint8_t
prin(struct vt_scsi_port *port, uint8_t sa, struct ut_cmd *c)
{
	uint8_t cdb[10] = { VT_SCSI_OP_PERSISTENT_RESERVE_IN, sa, 0, 0, 0, 0, 0, 0x10, 0, 0 };

	return ut_run(c, port, 0, cdb, 10, IN, g_data, 4096);
}

static uint8_t
write1(struct vt_scsi_port *port)
{
	uint8_t cdb[10] = { VT_SCSI_OP_WRITE_10, 0, 0, 0, 0, 1, 0, 0, 1, 0 };
	struct ut_cmd c;

	return ut_run(&c, port, 0, cdb, 10, OUT, g_data, UT_BS);
}

static uint8_t
read1(struct vt_scsi_port *port)
{
	uint8_t cdb[10] = { VT_SCSI_OP_READ_10, 0, 0, 0, 0, 1, 0, 0, 1, 0 };
	struct ut_cmd c;

	return ut_run(&c, port, 0, cdb, 10, IN, g_data, UT_BS);
}

static void
register_reserve_and_read_keys(void)
{
	struct ut_cmd c;

	ut_fix_setup(&g_f, "ut_pr");
	CU_ASSERT_EQUAL(prout(g_f.a, VT_SCSI_PROUT_REGISTER, 0, 0, 0xa, &c), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(prout(g_f.b, VT_SCSI_PROUT_REGISTER, 0, 0, 0xb, &c), VT_SCSI_STATUS_GOOD);
	/* A wrong key for an existing registration conflicts; IGNORE replaces it. */
	CU_ASSERT_EQUAL(prout(g_f.b, VT_SCSI_PROUT_REGISTER, 0, 0x1, 0xbb, &c),
			VT_SCSI_STATUS_RESERVATION_CONFLICT);
	CU_ASSERT_EQUAL(prout(g_f.b, VT_SCSI_PROUT_REGISTER_AND_IGNORE, 0, 0, 0xbb, &c),
			VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(prin(g_f.a, VT_SCSI_PRIN_READ_KEYS, &c), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(vt_scsi_get32(g_data), 3); /* generation */
	CU_ASSERT_EQUAL(vt_scsi_get32(&g_data[4]), 16);
	CU_ASSERT_EQUAL(vt_scsi_get64(&g_data[8]), 0xa);
	CU_ASSERT_EQUAL(vt_scsi_get64(&g_data[16]), 0xbb);
	/* A Write Exclusive reservation by A: B may read, not write. */
	CU_ASSERT_EQUAL(prout(g_f.a, VT_SCSI_PROUT_RESERVE, VT_SCSI_PR_WRITE_EXCLUSIVE, 0xa, 0, &c),
			VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(prin(g_f.b, VT_SCSI_PRIN_READ_RESERVATION, &c), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(vt_scsi_get32(&g_data[4]), 16);
	CU_ASSERT_EQUAL(vt_scsi_get64(&g_data[8]), 0xa);
	CU_ASSERT_EQUAL(g_data[21], VT_SCSI_PR_WRITE_EXCLUSIVE);
	CU_ASSERT_EQUAL(write1(g_f.a), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(read1(g_f.b), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(write1(g_f.b), VT_SCSI_STATUS_RESERVATION_CONFLICT);
	/* B cannot reserve; SPC-2 RESERVE is refused while registrations exist. */
	CU_ASSERT_EQUAL(
		prout(g_f.b, VT_SCSI_PROUT_RESERVE, VT_SCSI_PR_WRITE_EXCLUSIVE, 0xbb, 0, &c),
		VT_SCSI_STATUS_RESERVATION_CONFLICT);
	uint8_t res6[6] = { VT_SCSI_OP_RESERVE_6 };

	CU_ASSERT_EQUAL(ut_run(&c, g_f.a, 0, res6, 6, NONE, NULL, 0),
			VT_SCSI_STATUS_RESERVATION_CONFLICT);
	/* Releasing with another type is an error; with the right one it works. */
	CU_ASSERT_EQUAL(
		prout(g_f.a, VT_SCSI_PROUT_RELEASE, VT_SCSI_PR_EXCLUSIVE_ACCESS, 0xa, 0, &c),
		VT_SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(ut_sense(&c.task), UT_SK(UT_ILLEGAL, VT_SCSI_ASC_INVALID_RELEASE_OF_PR));
	CU_ASSERT_EQUAL(prout(g_f.a, VT_SCSI_PROUT_RELEASE, VT_SCSI_PR_WRITE_EXCLUSIVE, 0xa, 0, &c),
			VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(write1(g_f.b), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(prout(g_f.a, VT_SCSI_PROUT_CLEAR, 0, 0xa, 0, &c), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(prin(g_f.a, VT_SCSI_PRIN_READ_KEYS, &c), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(vt_scsi_get32(&g_data[4]), 0);
	ut_fix_teardown(&g_f);
}

static void
exclusive_access_registrants_only_and_preempt(void)
{
	struct ut_cmd c;
	uint8_t tur[6] = { 0 };

	ut_fix_setup(&g_f, "ut_pr");
	CU_ASSERT_EQUAL(prout(g_f.a, VT_SCSI_PROUT_REGISTER, 0, 0, 0xa, &c), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(prout(g_f.a, VT_SCSI_PROUT_RESERVE, VT_SCSI_PR_EXCLUSIVE_ACCESS_REGS_ONLY,
			      0xa, 0, &c),
			VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(read1(g_f.b), VT_SCSI_STATUS_RESERVATION_CONFLICT);
	CU_ASSERT_EQUAL(ut_run(&c, g_f.b, 0, tur, 6, NONE, NULL, 0), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(prout(g_f.b, VT_SCSI_PROUT_REGISTER, 0, 0, 0xb, &c), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(read1(g_f.b), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(write1(g_f.b), VT_SCSI_STATUS_GOOD);
	/* B preempts A: A's registration goes and A is told. */
	CU_ASSERT_EQUAL(
		prout(g_f.b, VT_SCSI_PROUT_PREEMPT, VT_SCSI_PR_EXCLUSIVE_ACCESS, 0xb, 0xa, &c),
		VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(ut_run(&c, g_f.a, 0, tur, 6, NONE, NULL, 0),
			VT_SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(ut_sense(&c.task),
			UT_SK(VT_SCSI_SENSE_UNIT_ATTENTION, VT_SCSI_ASC_REGISTRATIONS_PREEMPTED));
	CU_ASSERT_EQUAL(read1(g_f.a), VT_SCSI_STATUS_RESERVATION_CONFLICT);
	CU_ASSERT_EQUAL(prin(g_f.a, VT_SCSI_PRIN_READ_FULL_STATUS, &c), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(vt_scsi_get64(&g_data[8]), 0xb);
	CU_ASSERT_EQUAL(g_data[8 + 12], 0x01); /* R_HOLDER */
	CU_ASSERT_EQUAL(g_data[8 + 13], VT_SCSI_PR_EXCLUSIVE_ACCESS);
	CU_ASSERT_EQUAL(g_data[8 + 24], 0x05); /* iSCSI TransportID */
	CU_ASSERT_EQUAL(strcmp((char *)&g_data[8 + 28], "iqn.2024-01.ut:b"), 0);
	/* Preempting a key nobody has conflicts. */
	CU_ASSERT_EQUAL(prout(g_f.b, VT_SCSI_PROUT_PREEMPT_AND_ABORT, VT_SCSI_PR_EXCLUSIVE_ACCESS,
			      0xb, 0x99, &c),
			VT_SCSI_STATUS_RESERVATION_CONFLICT);
	CU_ASSERT_EQUAL(prout(g_f.b, VT_SCSI_PROUT_REGISTER, 0, 0xb, 0, &c), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(read1(g_f.a), VT_SCSI_STATUS_GOOD);
	ut_fix_teardown(&g_f);
}

static void
bad_prout_and_prin_requests_are_refused(void)
{
	uint8_t cdb[10] = { VT_SCSI_OP_PERSISTENT_RESERVE_OUT, 0, 0, 0, 0, 0, 0, 0, 20, 0 };
	uint8_t incdb[10] = { VT_SCSI_OP_PERSISTENT_RESERVE_IN, 0x04, 0, 0, 0, 0, 0, 0x10, 0, 0 };
	uint8_t p[24] = { 0 };
	struct ut_cmd c;

	ut_fix_setup(&g_f, "ut_pr");
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, p, 20, UT_ILLEGAL,
			VT_SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
	cdb[8] = 24;
	p[20] = 0x08; /* SPEC_I_PT */
	vt_scsi_put64(&p[8], 1);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, p, 24, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST);
	cdb[1] = VT_SCSI_PROUT_RESERVE;
	cdb[2] = 0x02; /* no such type */
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, p, 24, UT_ILLEGAL, VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	cdb[2] = 0x13; /* a scope other than LU_SCOPE */
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, p, 24, UT_ILLEGAL, VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	CU_ASSERT_EQUAL(c.task.sense[17], 2);
	/* REGISTER, REGISTER AND IGNORE EXISTING KEY and CLEAR ignore SCOPE and TYPE. */
	p[20] = 0;
	cdb[2] = 0xf2;
	cdb[1] = VT_SCSI_PROUT_REGISTER;
	UT_EXPECT_GOOD(&c, g_f.a, cdb, OUT, p, 24);
	cdb[1] = VT_SCSI_PROUT_REGISTER_AND_IGNORE;
	vt_scsi_put64(&p[8], 2);
	UT_EXPECT_GOOD(&c, g_f.a, cdb, OUT, p, 24);
	cdb[1] = VT_SCSI_PROUT_CLEAR;
	vt_scsi_put64(p, 2);
	UT_EXPECT_GOOD(&c, g_f.a, cdb, OUT, p, 24);
	CU_ASSERT_EQUAL(prin(g_f.a, VT_SCSI_PRIN_READ_KEYS, &c), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(vt_scsi_get32(&g_data[4]), 0); /* CLEAR removed the registration */
	memset(p, 0, sizeof(p));
	cdb[2] = 0x02;
	cdb[1] = 0x08; /* no such action */
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, p, 24, UT_ILLEGAL, VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	UT_EXPECT_CHECK(&c, g_f.a, incdb, IN, g_data, 4096, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	CU_ASSERT_EQUAL(prin(g_f.a, VT_SCSI_PRIN_REPORT_CAPABILITIES, &c), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(vt_scsi_get16(g_data), 8);
	CU_ASSERT_EQUAL(g_data[2] & 0x01, 0x01); /* PTPL_C */
	CU_ASSERT_EQUAL(g_data[3] & 0x81, 0x80); /* TMV, PTPL_A clear */
	CU_ASSERT_EQUAL(g_data[4], 0xea);
	CU_ASSERT_EQUAL(g_data[5], 0x01);
	ut_fix_teardown(&g_f);
}

int
main(void)
{
	CU_pSuite s;

	CU_initialize_registry();
	s = CU_add_suite("scsi_pr", ut_reactor_suite_init, ut_reactor_suite_fini);
	CU_ADD_TEST(s, register_reserve_and_read_keys);
	CU_ADD_TEST(s, exclusive_access_registrants_only_and_preempt);
	CU_ADD_TEST(s, bad_prout_and_prin_requests_are_refused);
	return ut_run_tests();
}
