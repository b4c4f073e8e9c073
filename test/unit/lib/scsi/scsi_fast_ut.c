/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The dispatcher's fast path for READ / WRITE (10) and (16) (scsi_cmd.c): its one condition
 * (scsi_lun_quiet) for each pending state, and the full path's answers whenever something is
 * pending: unit attention, SPC-2 and persistent reservations, a failed SANITIZE, CDB bits outside
 * the usage map; the fast path's own answers (data, LBA range, FUA) match the full path's.
 */
#include "lib/scsi/scsi_cmd.c"

#include "test/unit/lib/scsi/ut_scsi.h"

static struct ut_fix g_f;
static uint8_t g_buf[4 * UT_BS];
static uint8_t g_pat[4 * UT_BS];

#define IN VT_SCSI_DIR_FROM_DEV
#define OUT VT_SCSI_DIR_TO_DEV
#define NONE VT_SCSI_DIR_NONE

static struct vt_scsi_lun *
lun0(void)
{
	return g_f.dev->luns[0];
}

/* READ / WRITE (10) or (16), by op, of n blocks at lba. */
static void
rw_cdb(uint8_t *cdb, uint8_t op, uint64_t lba, uint32_t n)
{
	bool ten = op == VT_SCSI_OP_READ_10 || op == VT_SCSI_OP_WRITE_10;

	memset(cdb, 0, ten ? 10 : 16);
	cdb[0] = op;
	if (ten) {
		vt_scsi_put32(&cdb[2], (uint32_t)lba);
		vt_scsi_put16(&cdb[7], (uint16_t)n);
	} else {
		vt_scsi_put64(&cdb[2], lba);
		vt_scsi_put32(&cdb[10], n);
	}
}

static void
quiet_is_false_for_each_pending_condition(void)
{
	struct vt_scsi_lun *lun;

	ut_fix_setup(&g_f, "ut_fast_q");
	lun = lun0();
	CU_ASSERT_TRUE(scsi_lun_quiet(lun, g_f.a));
	CU_ASSERT_TRUE(scsi_lun_quiet(lun, g_f.b));
	/* A unit attention is per port. */
	g_f.a->ua[0] |= SCSI_UA_MODE_CHANGED;
	CU_ASSERT_FALSE(scsi_lun_quiet(lun, g_f.a));
	CU_ASSERT_TRUE(scsi_lun_quiet(lun, g_f.b));
	g_f.a->ua[0] = 0;
	/* The sanitize state is the logical unit's. */
	lun->lu->sanitize_state = SCSI_LU_SANITIZE_FAILED;
	CU_ASSERT_FALSE(scsi_lun_quiet(lun, g_f.a));
	CU_ASSERT_FALSE(scsi_lun_quiet(lun, g_f.b));
	lun->lu->sanitize_state = SCSI_LU_SANITIZING;
	CU_ASSERT_FALSE(scsi_lun_quiet(lun, g_f.a));
	lun->lu->sanitize_state = 0;
	/* The logical unit, shared by every path: an SPC-2 reservation, a persistent reservation
	 * or a registration on any nexus guards it (scsi_lu_update_guard). */
	lun->lu->spc2_holder = g_f.b;
	scsi_lu_update_guard(lun->lu);
	CU_ASSERT_FALSE(scsi_lun_quiet(lun, g_f.a));
	CU_ASSERT_FALSE(scsi_lun_quiet(lun, g_f.b));
	lun->lu->spc2_holder = NULL;
	lun->lu->pr.reserved = true;
	scsi_lu_update_guard(lun->lu);
	CU_ASSERT_FALSE(scsi_lun_quiet(lun, g_f.a));
	lun->lu->pr.reserved = false;
	lun->lu->pr.num_regs = 1;
	scsi_lu_update_guard(lun->lu);
	CU_ASSERT_FALSE(scsi_lun_quiet(lun, g_f.a));
	lun->lu->pr.num_regs = 0;
	scsi_lu_update_guard(lun->lu);
	CU_ASSERT_TRUE(scsi_lun_quiet(lun, g_f.a));
	ut_fix_teardown(&g_f);
}

static void
fast_reads_and_writes_move_data_and_check_like_the_full_path(void)
{
	uint8_t w16[16], r10[10], r16[16];
	struct ut_cmd c;

	ut_fix_setup(&g_f, "ut_fast_rw");
	for (size_t i = 0; i < sizeof(g_pat); i++) {
		g_pat[i] = (uint8_t)(i * 7 + 3);
	}
	rw_cdb(w16, VT_SCSI_OP_WRITE_16, 100, 4);
	UT_EXPECT_GOOD(&c, g_f.a, w16, OUT, g_pat, sizeof(g_pat));
	CU_ASSERT_EQUAL(c.task.data_transferred, sizeof(g_pat));
	memset(g_buf, 0, sizeof(g_buf));
	rw_cdb(r10, VT_SCSI_OP_READ_10, 100, 4);
	UT_EXPECT_GOOD(&c, g_f.a, r10, IN, g_buf, sizeof(g_buf));
	CU_ASSERT_EQUAL(memcmp(g_buf, g_pat, sizeof(g_buf)), 0);
	/* A larger data-in buffer: the underflow is reported as on the full path. */
	rw_cdb(r16, VT_SCSI_OP_READ_16, 100, 2);
	UT_EXPECT_GOOD(&c, g_f.a, r16, IN, g_buf, sizeof(g_buf));
	CU_ASSERT_EQUAL(c.task.residual, (int64_t)(2 * UT_BS));
	/* FUA goes through (byte 1 bit 3 is in the usage map). */
	w16[1] = 0x08;
	UT_EXPECT_GOOD(&c, g_f.a, w16, OUT, g_pat, sizeof(g_pat));
	CU_ASSERT_TRUE(c.task.fua);
	/* Past the end, and a data-out buffer that does not match the CDB. */
	rw_cdb(r16, VT_SCSI_OP_READ_16, UT_BLOCKS - 1, 2);
	UT_EXPECT_CHECK(&c, g_f.a, r16, IN, g_buf, sizeof(g_buf), UT_ILLEGAL,
			VT_SCSI_ASC_LBA_OUT_OF_RANGE);
	rw_cdb(w16, VT_SCSI_OP_WRITE_16, 0, 2);
	UT_EXPECT_CHECK(&c, g_f.a, w16, OUT, g_pat, sizeof(g_pat), UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	/* A bit outside the usage map (byte 14 bit 7): the full path's field pointer. */
	rw_cdb(r16, VT_SCSI_OP_READ_16, 0, 1);
	r16[14] = 0x80;
	UT_EXPECT_CHECK(&c, g_f.a, r16, IN, g_buf, UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	CU_ASSERT_EQUAL(c.task.sense[15], 0x80 | 0x40 | 0x08 | 7); /* SKSV, C/D, BPV, bit 7 */
	CU_ASSERT_EQUAL(c.task.sense[17], 14);
	/* READ(10): the bytes after its 10 are not its CDB; a bit in its control byte is. */
	rw_cdb(r16, VT_SCSI_OP_READ_10, 0, 1);
	memset(&r16[10], 0xff, 6);
	CU_ASSERT_EQUAL(ut_run(&c, g_f.a, 0, r16, 16, IN, g_buf, UT_BS), VT_SCSI_STATUS_GOOD);
	r16[9] = 0x01;
	CU_ASSERT_EQUAL(ut_run(&c, g_f.a, 0, r16, 16, IN, g_buf, UT_BS),
			VT_SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(ut_sense(&c.task), UT_SK(UT_ILLEGAL, VT_SCSI_ASC_INVALID_FIELD_IN_CDB));
	CU_ASSERT_EQUAL(c.task.sense[17], 9);
	ut_fix_teardown(&g_f);
}

static void
pending_unit_attention_and_failed_sanitize_take_the_full_path(void)
{
	uint8_t r16[16], w10[10];
	struct ut_cmd c;

	ut_fix_setup(&g_f, "ut_fast_ua");
	rw_cdb(r16, VT_SCSI_OP_READ_16, 8, 1);
	g_f.a->ua[0] |= SCSI_UA_CAPACITY_CHANGED;
	UT_EXPECT_CHECK(&c, g_f.a, r16, IN, g_buf, UT_BS, VT_SCSI_SENSE_UNIT_ATTENTION,
			VT_SCSI_ASC_CAPACITY_DATA_CHANGED);
	/* Reported once; the other port never had it. */
	UT_EXPECT_GOOD(&c, g_f.a, r16, IN, g_buf, UT_BS);
	g_f.a->ua[0] |= SCSI_UA_MODE_CHANGED;
	UT_EXPECT_GOOD(&c, g_f.b, r16, IN, g_buf, UT_BS);
	rw_cdb(w10, VT_SCSI_OP_WRITE_10, 8, 1);
	UT_EXPECT_CHECK(&c, g_f.a, w10, OUT, g_pat, UT_BS, VT_SCSI_SENSE_UNIT_ATTENTION,
			VT_SCSI_ASC_MODE_PARAMETERS_CHANGED);
	lun0()->lu->sanitize_state = SCSI_LU_SANITIZE_FAILED;
	UT_EXPECT_CHECK(&c, g_f.a, w10, OUT, g_pat, UT_BS, VT_SCSI_SENSE_MEDIUM_ERROR,
			VT_SCSI_ASC_SANITIZE_FAILED);
	UT_EXPECT_CHECK(&c, g_f.b, r16, IN, g_buf, UT_BS, VT_SCSI_SENSE_MEDIUM_ERROR,
			VT_SCSI_ASC_SANITIZE_FAILED);
	lun0()->lu->sanitize_state = 0;
	UT_EXPECT_GOOD(&c, g_f.a, w10, OUT, g_pat, UT_BS);
	ut_fix_teardown(&g_f);
}

static void
reservations_take_the_full_path(void)
{
	uint8_t r16[16], w16[16], w10[10];
	uint8_t res6[6] = { VT_SCSI_OP_RESERVE_6 }, rel6[6] = { VT_SCSI_OP_RELEASE_6 };
	struct ut_cmd c;

	ut_fix_setup(&g_f, "ut_fast_pr");
	rw_cdb(r16, VT_SCSI_OP_READ_16, 8, 1);
	rw_cdb(w16, VT_SCSI_OP_WRITE_16, 8, 1);
	rw_cdb(w10, VT_SCSI_OP_WRITE_10, 8, 1);
	/* SPC-2: B holds the LUN; A conflicts on reads and writes, B goes on. */
	UT_EXPECT_GOOD(&c, g_f.b, res6, NONE, NULL, 0);
	CU_ASSERT_EQUAL(ut_run(&c, g_f.a, 0, r16, 16, IN, g_buf, UT_BS),
			VT_SCSI_STATUS_RESERVATION_CONFLICT);
	CU_ASSERT_EQUAL(ut_run(&c, g_f.a, 0, w10, 10, OUT, g_pat, UT_BS),
			VT_SCSI_STATUS_RESERVATION_CONFLICT);
	UT_EXPECT_GOOD(&c, g_f.b, w16, OUT, g_pat, UT_BS);
	UT_EXPECT_GOOD(&c, g_f.b, rel6, NONE, NULL, 0);
	UT_EXPECT_GOOD(&c, g_f.a, w16, OUT, g_pat, UT_BS);
	/* Persistent: B registers key 0xb and reserves WRITE EXCLUSIVE; A may read, not write. */
	for (int step = 0; step < 2; step++) {
		uint8_t cdb[10] = { VT_SCSI_OP_PERSISTENT_RESERVE_OUT, 0, 0, 0, 0, 0, 0, 0, 24, 0 };
		uint8_t p[24] = { 0 };

		cdb[1] = step == 0 ? VT_SCSI_PROUT_REGISTER : VT_SCSI_PROUT_RESERVE;
		cdb[2] = step == 0 ? 0 : VT_SCSI_PR_WRITE_EXCLUSIVE;
		vt_scsi_put64(step == 0 ? &p[8] : p, 0xb);
		CU_ASSERT_EQUAL(ut_run(&c, g_f.b, 0, cdb, 10, OUT, p, 24), VT_SCSI_STATUS_GOOD);
	}
	CU_ASSERT_FALSE(scsi_lun_quiet(lun0(), g_f.a));
	UT_EXPECT_GOOD(&c, g_f.a, r16, IN, g_buf, UT_BS);
	CU_ASSERT_EQUAL(ut_run(&c, g_f.a, 0, w16, 16, OUT, g_pat, UT_BS),
			VT_SCSI_STATUS_RESERVATION_CONFLICT);
	CU_ASSERT_EQUAL(ut_run(&c, g_f.a, 0, w10, 10, OUT, g_pat, UT_BS),
			VT_SCSI_STATUS_RESERVATION_CONFLICT);
	UT_EXPECT_GOOD(&c, g_f.b, w10, OUT, g_pat, UT_BS);
	ut_fix_teardown(&g_f);
}

/* cmd_fast_rw on a task as vt_scsi_dev_queue_task prepares it. */
static bool
fast_rw(struct vt_scsi_task *t, struct vt_scsi_port *port, const uint8_t *cdb, enum vt_scsi_dir dir,
	uint32_t len)
{
	static struct iovec iov;

	memset(t, 0, sizeof(*t));
	memcpy(t->cdb, cdb, 16);
	t->cdb_len = 16;
	iov.iov_base = g_buf;
	iov.iov_len = len;
	t->iovs = &iov;
	t->iovcnt = 1;
	t->dir = dir;
	t->transfer_len = len;
	scsi_task_reset_results(t);
	t->port = port;
	t->lun = lun0();
	return cmd_fast_rw(t, &g_cmds[cdb[0]]);
}

static void
one_step_submission_leaves_every_unusual_case_to_the_full_path(void)
{
	uint8_t r16[16], w10[16];
	struct vt_scsi_task t;
	struct ut_cmd c;

	ut_fix_setup(&g_f, "ut_fast_one");
	rw_cdb(r16, VT_SCSI_OP_READ_16, 0, 1);
	/* Port b has no channel to the LUN before its first I/O: the full path opens it. */
	CU_ASSERT_FALSE(fast_rw(&t, g_f.b, r16, IN, UT_BS));
	UT_EXPECT_GOOD(&c, g_f.b, r16, IN, g_buf, UT_BS);
	UT_EXPECT_GOOD(&c, g_f.a, r16, IN, g_buf, UT_BS);
	/* No blocks, a buffer larger or smaller than the transfer or in the other direction, a
	 * range past the end: each answered by cmd_run (the other tests check its answers). */
	rw_cdb(r16, VT_SCSI_OP_READ_16, 0, 0);
	CU_ASSERT_FALSE(fast_rw(&t, g_f.a, r16, IN, 0));
	rw_cdb(r16, VT_SCSI_OP_READ_16, 0, 1);
	CU_ASSERT_FALSE(fast_rw(&t, g_f.a, r16, IN, 2 * UT_BS));
	CU_ASSERT_FALSE(fast_rw(&t, g_f.a, r16, IN, UT_BS - 1));
	CU_ASSERT_FALSE(fast_rw(&t, g_f.a, r16, OUT, UT_BS));
	/* Past the end (and an LBA that overflows): the one-step path submits, the bdev layer's
	 * range check refuses, the answer is the full path's; a write changes nothing. */
	rw_cdb(r16, VT_SCSI_OP_READ_16, UT_BLOCKS, 1);
	UT_EXPECT_CHECK(&c, g_f.a, r16, IN, g_buf, UT_BS, UT_ILLEGAL, VT_SCSI_ASC_LBA_OUT_OF_RANGE);
	CU_ASSERT_EQUAL(c.task.data_transferred, 0);
	CU_ASSERT_EQUAL(c.task.residual, (int64_t)UT_BS);
	rw_cdb(r16, VT_SCSI_OP_READ_16, UINT64_MAX, 2);
	UT_EXPECT_CHECK(&c, g_f.a, r16, IN, g_buf, 2 * UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_LBA_OUT_OF_RANGE);
	memset(g_buf, 0x5a, UT_BS);
	rw_cdb(w10, VT_SCSI_OP_WRITE_10, UT_BLOCKS - 1, 1);
	UT_EXPECT_GOOD(&c, g_f.a, w10, OUT, g_buf, UT_BS);
	rw_cdb(w10, VT_SCSI_OP_WRITE_10, UT_BLOCKS - 1, 2);
	UT_EXPECT_CHECK(&c, g_f.a, w10, OUT, g_pat, 2 * UT_BS, UT_ILLEGAL,
			VT_SCSI_ASC_LBA_OUT_OF_RANGE);
	memset(g_buf, 0, UT_BS);
	rw_cdb(r16, VT_SCSI_OP_READ_16, UT_BLOCKS - 1, 1);
	UT_EXPECT_GOOD(&c, g_f.a, r16, IN, g_buf, UT_BS);
	for (uint32_t i = 0; i < UT_BS; i++) {
		if (g_buf[i] != 0x5a) {
			CU_FAIL("the refused write changed the last block");
			break;
		}
	}
	/* A write to a read-only LUN: WRITE PROTECTED from the full path. */
	rw_cdb(w10, VT_SCSI_OP_WRITE_10, 0, 1);
	lun0()->read_only = true;
	CU_ASSERT_FALSE(fast_rw(&t, g_f.a, w10, OUT, UT_BS));
	CU_ASSERT_EQUAL(ut_run(&c, g_f.a, 0, w10, 10, OUT, g_pat, UT_BS),
			VT_SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(ut_sense(&c.task),
			UT_SK(VT_SCSI_SENSE_DATA_PROTECT, VT_SCSI_ASC_WRITE_PROTECTED));
	lun0()->read_only = false;
	ut_fix_teardown(&g_f);
}

/* A transport need not clear the task: lib/scsi sets its own fields (vhost_scsi.c leaves them as
 * the previous request left them). Garbage in them changes no answer, on the one-step path (a
 * WRITE, a READ) or off it (a READ out of range, an INQUIRY). */
static void
tasks_with_stale_library_fields_are_served_like_clean_ones(void)
{
	static struct iovec iov;
	uint8_t cdb[16];
	struct ut_cmd c;

	ut_fix_setup(&g_f, "ut_fast_dirty");
	for (int op = 0; op < 4; op++) {
		uint32_t len = op == 3 ? 36 : 2 * UT_BS;

		memset(&c, 0xa5, sizeof(c));
		memset(cdb, 0, sizeof(cdb));
		if (op < 3) {
			rw_cdb(cdb, op == 0 ? VT_SCSI_OP_WRITE_16 : VT_SCSI_OP_READ_10,
			       op == 2 ? UT_BLOCKS - 1 : 8, 2);
		} else {
			cdb[0] = VT_SCSI_OP_INQUIRY;
			cdb[4] = 36;
		}
		memcpy(c.task.cdb, cdb, 16);
		c.task.cdb_len = 16;
		c.task.lun_id = 0;
		iov.iov_base = op == 0 ? g_pat : g_buf;
		iov.iov_len = len;
		c.task.iovs = &iov;
		c.task.iovcnt = 1;
		c.task.dir = op == 0 ? OUT : IN;
		c.task.transfer_len = len;
		c.task.cb = ut_task_cb;
		c.task.cb_arg = &c;
		c.done = 0;
		vt_scsi_dev_queue_task(g_f.a, &c.task);
		CU_ASSERT_FATAL(ut_poll_until(&c.done, 1));
		if (op == 2) {
			CU_ASSERT_EQUAL(c.task.status, VT_SCSI_STATUS_CHECK_CONDITION);
			CU_ASSERT_EQUAL(ut_sense(&c.task), UT_SK(VT_SCSI_SENSE_ILLEGAL_REQUEST,
								 VT_SCSI_ASC_LBA_OUT_OF_RANGE));
			CU_ASSERT_EQUAL(c.task.data_transferred, 0);
			CU_ASSERT_EQUAL(c.task.residual, len);
			continue;
		}
		CU_ASSERT_EQUAL(c.task.status, VT_SCSI_STATUS_GOOD);
		CU_ASSERT_EQUAL(c.task.sense_len, 0);
		CU_ASSERT_EQUAL(c.task.data_transferred, len);
		CU_ASSERT_EQUAL(c.task.residual, 0);
		if (op == 1) {
			CU_ASSERT_EQUAL(memcmp(g_buf, g_pat, 2 * UT_BS), 0);
		}
	}
	/* The INQUIRY's answer: a direct-access device, SPC-4, the whole standard data's length. */
	CU_ASSERT_EQUAL(g_buf[0], 0x00);
	CU_ASSERT_EQUAL(g_buf[2], 0x06);
	CU_ASSERT_EQUAL(g_buf[4], sizeof(struct vt_scsi_inquiry_std) - 5);
	ut_fix_teardown(&g_f);
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	s = CU_add_suite("scsi_fast", ut_reactor_suite_init, ut_reactor_suite_fini);
	CU_ADD_TEST(s, quiet_is_false_for_each_pending_condition);
	CU_ADD_TEST(s, fast_reads_and_writes_move_data_and_check_like_the_full_path);
	CU_ADD_TEST(s, pending_unit_attention_and_failed_sanitize_take_the_full_path);
	CU_ADD_TEST(s, reservations_take_the_full_path);
	CU_ADD_TEST(s, one_step_submission_leaves_every_unusual_case_to_the_full_path);
	CU_ADD_TEST(s, tasks_with_stale_library_fields_are_served_like_clean_ones);
	return ut_run_tests();
}
