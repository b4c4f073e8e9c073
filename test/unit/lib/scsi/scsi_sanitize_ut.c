/* SPDX-License-Identifier: BSD-3-Clause */
/* SANITIZE (scsi_sanitize.c) on a malloc bdev: the methods, the state while one runs, errors. */
#define SANITIZE_CHUNK_BYTES 4096u /* 8 blocks per OVERWRITE write */
#define SANITIZE_ERASE_BLOCKS 64u  /* 32 erase I/Os over the LUN */
#include "lib/scsi/scsi_sanitize.c"

#include "lib/bdev/error/bdev_error.h"
#include "test/unit/lib/scsi/ut_scsi.h"

static struct ut_fix g_f;
static uint8_t g_buf[64 * 1024];
static uint8_t g_rbuf[64 * 1024];

#define OUT VT_SCSI_DIR_TO_DEV
#define IN VT_SCSI_DIR_FROM_DEV
#define NONE VT_SCSI_DIR_NONE
#define IMMED 0x80
#define AUSE 0x20

static void
sanitize_cdb(uint8_t *cdb, uint8_t flags_sa, uint16_t len)
{
	memset(cdb, 0, 10);
	cdb[0] = VT_SCSI_OP_SANITIZE;
	cdb[1] = flags_sa;
	vt_scsi_put16(&cdb[7], len);
}

/* An OVERWRITE parameter list with a pattern of n bytes (seed + i); returns its length. */
static uint16_t
overwrite_list(uint8_t *p, uint8_t byte0, uint16_t n, uint8_t seed)
{
	p[0] = byte0;
	p[1] = 0;
	vt_scsi_put16(&p[2], n);
	for (uint16_t i = 0; i < n; i++) {
		p[4 + i] = (uint8_t)(seed + i);
	}
	return (uint16_t)(4 + n);
}

static void
rw(uint8_t op, uint32_t lba, uint16_t n, uint8_t *buf)
{
	uint8_t cdb[10] = { op };
	struct ut_cmd c;

	vt_scsi_put32(&cdb[2], lba);
	vt_scsi_put16(&cdb[7], n);
	CU_ASSERT_EQUAL(
		ut_run(&c, g_f.a, 0, cdb, 10, op == VT_SCSI_OP_READ_10 ? IN : OUT, buf, n * UT_BS),
		VT_SCSI_STATUS_GOOD);
}

/* True when block buf starts with pattern p (n bytes) repeated to its end. */
static bool
block_is_pattern(const uint8_t *buf, const uint8_t *p, uint16_t n)
{
	for (uint32_t i = 0; i < UT_BS; i++) {
		if (buf[i] != p[i % n]) {
			return false;
		}
	}
	return true;
}

static struct vt_scsi_lun *
lun0(void)
{
	return vt_scsi_dev_get_lun(g_f.dev, 0);
}

static void
wait_sanitize_done(void)
{
	for (int i = 0; i < 100000 && scsi_lu_sanitizing(lun0()); i++) {
		vt_reactor_poll_once();
	}
	CU_ASSERT_FALSE(scsi_lu_sanitizing(lun0()));
}

static uint32_t
tur_sense(void)
{
	uint8_t tur[6] = { 0 };
	struct ut_cmd c;

	return ut_run(&c, g_f.a, 0, tur, 6, NONE, NULL, 0) == VT_SCSI_STATUS_GOOD
		       ? 0
		       : ut_sense(&c.task);
}

static void
sanitize_overwrite_writes_the_pattern_to_every_block(void)
{
	uint8_t cdb[10];
	struct ut_cmd c;
	uint16_t len;

	ut_fix_setup(&g_f, "ut_san");
	memset(g_buf, 0xee, 8 * UT_BS);
	rw(VT_SCSI_OP_WRITE_10, 0, 8, g_buf);
	/* 300 bytes: every block starts with the pattern, which repeats from there. */
	len = overwrite_list(g_buf, 0x01, 300, 7);
	sanitize_cdb(cdb, VT_SCSI_SANITIZE_OVERWRITE, len);
	UT_EXPECT_GOOD(&c, g_f.a, cdb, OUT, g_buf, len);
	CU_ASSERT_EQUAL(c.task.data_transferred, len);
	CU_ASSERT_FALSE(scsi_lu_sanitizing(lun0())); /* IMMED 0: done with the command */
	rw(VT_SCSI_OP_READ_10, 0, 1, g_rbuf);
	CU_ASSERT(block_is_pattern(g_rbuf, &g_buf[4], 300));
	rw(VT_SCSI_OP_READ_10, UT_BLOCKS - 1, 1, g_rbuf);
	CU_ASSERT(block_is_pattern(g_rbuf, &g_buf[4], 300));
	/* A whole block of pattern. */
	len = overwrite_list(g_buf, 0x01, UT_BS, 100);
	sanitize_cdb(cdb, VT_SCSI_SANITIZE_OVERWRITE, len);
	UT_EXPECT_GOOD(&c, g_f.a, cdb, OUT, g_buf, len);
	rw(VT_SCSI_OP_READ_10, UT_BLOCKS / 2, 1, g_rbuf);
	CU_ASSERT_EQUAL(memcmp(g_rbuf, &g_buf[4], UT_BS), 0);
	ut_fix_teardown(&g_f);
}

static void
sanitize_overwrite_with_invert_ends_with_the_pattern(void)
{
	uint8_t cdb[10];
	struct ut_cmd c;
	uint16_t len;

	ut_fix_setup(&g_f, "ut_san");
	/* INVERT, 2 passes: the inverted pattern first, the pattern last. */
	len = overwrite_list(g_buf, 0x80 | 0x02, 4, 0x50);
	sanitize_cdb(cdb, VT_SCSI_SANITIZE_OVERWRITE, len);
	UT_EXPECT_GOOD(&c, g_f.a, cdb, OUT, g_buf, len);
	rw(VT_SCSI_OP_READ_10, 3, 1, g_rbuf);
	CU_ASSERT(block_is_pattern(g_rbuf, &g_buf[4], 4));
	/* ... and 3 passes. */
	len = overwrite_list(g_buf, 0x80 | 0x03, 4, 0x60);
	sanitize_cdb(cdb, VT_SCSI_SANITIZE_OVERWRITE, len);
	UT_EXPECT_GOOD(&c, g_f.a, cdb, OUT, g_buf, len);
	rw(VT_SCSI_OP_READ_10, UT_BLOCKS - 1, 1, g_rbuf);
	CU_ASSERT(block_is_pattern(g_rbuf, &g_buf[4], 4));
	ut_fix_teardown(&g_f);
}

static void
sanitize_block_and_crypto_erase_leave_zeros(void)
{
	uint8_t sas[2] = { VT_SCSI_SANITIZE_BLOCK_ERASE, VT_SCSI_SANITIZE_CRYPTO_ERASE };
	uint8_t cdb[10], zero[UT_BS] = { 0 };
	struct ut_cmd c;

	ut_fix_setup(&g_f, "ut_san");
	for (int i = 0; i < 2; i++) {
		memset(g_buf, 'a', 16 * UT_BS);
		rw(VT_SCSI_OP_WRITE_10, 0, 16, g_buf);
		rw(VT_SCSI_OP_WRITE_10, UT_BLOCKS - 16, 16, g_buf);
		sanitize_cdb(cdb, sas[i], 0);
		UT_EXPECT_GOOD(&c, g_f.a, cdb, NONE, NULL, 0);
		rw(VT_SCSI_OP_READ_10, 0, 16, g_rbuf);
		for (int b = 0; b < 16; b++) {
			CU_ASSERT_EQUAL(memcmp(&g_rbuf[b * UT_BS], zero, UT_BS), 0);
		}
		rw(VT_SCSI_OP_READ_10, UT_BLOCKS - 1, 1, g_rbuf);
		CU_ASSERT_EQUAL(memcmp(g_rbuf, zero, UT_BS), 0);
	}
	ut_fix_teardown(&g_f);
}

static void
sanitize_in_progress_refuses_medium_commands_and_reports_progress(void)
{
	uint8_t cdb[10], rs[6] = { VT_SCSI_OP_REQUEST_SENSE, 0, 0, 0, 252, 0 };
	uint8_t inq[6] = { VT_SCSI_OP_INQUIRY, 0, 0, 0, 96, 0 };
	uint8_t rd[10] = { VT_SCSI_OP_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	uint8_t sense[252];
	struct ut_cmd c;

	ut_fix_setup(&g_f, "ut_san");
	/* IMMED: GOOD once the CDB is checked, the erase goes on in 32 steps. */
	sanitize_cdb(cdb, IMMED | VT_SCSI_SANITIZE_BLOCK_ERASE, 0);
	UT_EXPECT_GOOD(&c, g_f.a, cdb, NONE, NULL, 0);
	CU_ASSERT_FATAL(scsi_lu_sanitizing(lun0()));
	CU_ASSERT_EQUAL(tur_sense(),
			UT_SK(VT_SCSI_SENSE_NOT_READY, VT_SCSI_ASC_SANITIZE_IN_PROGRESS));
	UT_EXPECT_CHECK(&c, g_f.b, rd, IN, g_rbuf, UT_BS, VT_SCSI_SENSE_NOT_READY,
			VT_SCSI_ASC_SANITIZE_IN_PROGRESS);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, NONE, NULL, 0, VT_SCSI_SENSE_NOT_READY,
			VT_SCSI_ASC_SANITIZE_IN_PROGRESS);
	UT_EXPECT_GOOD(&c, g_f.a, inq, IN, g_rbuf, 96);
	/* REQUEST SENSE: NOT READY, SANITIZE IN PROGRESS, SKSV with the progress indication. */
	UT_EXPECT_GOOD(&c, g_f.a, rs, IN, sense, sizeof(sense));
	CU_ASSERT_EQUAL(sense[0] & 0x7f, 0x70);
	CU_ASSERT_EQUAL(sense[2] & 0x0f, VT_SCSI_SENSE_NOT_READY);
	CU_ASSERT_EQUAL(vt_scsi_get16(&sense[12]), VT_SCSI_ASC_SANITIZE_IN_PROGRESS);
	CU_ASSERT_EQUAL(sense[15], 0x80);
	CU_ASSERT(vt_scsi_get16(&sense[16]) > 0); /* some of it is done by now */
	/* ... in descriptor format: the sense key specific descriptor. */
	rs[1] = 0x01;
	UT_EXPECT_GOOD(&c, g_f.a, rs, IN, sense, sizeof(sense));
	CU_ASSERT_EQUAL(sense[0] & 0x7f, 0x72);
	CU_ASSERT_EQUAL(sense[8], 0x02);
	CU_ASSERT_EQUAL(sense[8 + 4], 0x80);
	wait_sanitize_done();
	CU_ASSERT_EQUAL(tur_sense(), 0);
	rs[1] = 0;
	UT_EXPECT_GOOD(&c, g_f.a, rs, IN, sense, sizeof(sense));
	CU_ASSERT_EQUAL(sense[2] & 0x0f, VT_SCSI_SENSE_NO_SENSE);
	ut_fix_teardown(&g_f);
}

static void
sanitize_goes_on_when_its_command_is_aborted(void)
{
	uint8_t cdb[10];
	struct iovec iov;
	struct ut_cmd c;
	uint16_t len;

	ut_fix_setup(&g_f, "ut_san");
	len = overwrite_list(g_buf, 0x01, 8, 0x30);
	sanitize_cdb(cdb, VT_SCSI_SANITIZE_OVERWRITE, len);
	ut_start(&c, &iov, g_f.a, cdb, 10, OUT, g_buf, len, 9);
	vt_reactor_poll_once();
	vt_reactor_poll_once();
	CU_ASSERT_EQUAL(c.done, 0);
	CU_ASSERT_EQUAL(ut_tmf_send(g_f.a, VT_SCSI_TMF_ABORT_TASK, 0, 9), VT_SCSI_TMF_COMPLETE);
	CU_ASSERT_EQUAL(c.done, 1);
	CU_ASSERT_EQUAL(c.task.status, VT_SCSI_STATUS_TASK_ABORTED);
	/* The operation itself is not a task: it still runs, then the whole LUN has the pattern. */
	CU_ASSERT_EQUAL(tur_sense(),
			UT_SK(VT_SCSI_SENSE_NOT_READY, VT_SCSI_ASC_SANITIZE_IN_PROGRESS));
	wait_sanitize_done();
	rw(VT_SCSI_OP_READ_10, UT_BLOCKS - 1, 1, g_rbuf);
	CU_ASSERT(block_is_pattern(g_rbuf, &g_buf[4], 8));
	ut_fix_teardown(&g_f);
}

static void
sanitize_refuses_bad_cdbs_and_parameter_lists(void)
{
	uint8_t cdb[10];
	struct ut_cmd c;
	uint16_t len;

	ut_fix_setup(&g_f, "ut_san");
	/* Service actions other than 01h, 02h, 03h, 1Fh. */
	sanitize_cdb(cdb, 0x00, 0);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, NONE, NULL, 0, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	sanitize_cdb(cdb, 0x04, 0);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, NONE, NULL, 0, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	/* Reserved bit 6 of byte 1 and reserved bytes 2-6. */
	sanitize_cdb(cdb, 0x40 | VT_SCSI_SANITIZE_BLOCK_ERASE, 0);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, NONE, NULL, 0, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	for (int i = 2; i < 7; i++) {
		sanitize_cdb(cdb, VT_SCSI_SANITIZE_BLOCK_ERASE, 0);
		cdb[i] = (uint8_t)i;
		UT_EXPECT_CHECK(&c, g_f.a, cdb, NONE, NULL, 0, UT_ILLEGAL,
				VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
		CU_ASSERT_EQUAL(vt_scsi_get16(&c.task.sense[16]), i);
	}
	/* A parameter list for the methods that take none: the pointer names its length. */
	for (uint8_t sa = VT_SCSI_SANITIZE_BLOCK_ERASE; sa <= VT_SCSI_SANITIZE_EXIT_FAILURE_MODE;
	     sa = sa == VT_SCSI_SANITIZE_CRYPTO_ERASE ? VT_SCSI_SANITIZE_EXIT_FAILURE_MODE
						      : (uint8_t)(sa + 1)) {
		sanitize_cdb(cdb, sa, 8);
		UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_buf, 8, UT_ILLEGAL,
				VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
		CU_ASSERT_EQUAL(vt_scsi_get16(&c.task.sense[16]), 7);
	}
	/* OVERWRITE: 5 to block size + 4 bytes of parameter list. */
	overwrite_list(g_buf, 0x01, UT_BS, 0);
	sanitize_cdb(cdb, VT_SCSI_SANITIZE_OVERWRITE, 4);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_buf, 4, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	sanitize_cdb(cdb, VT_SCSI_SANITIZE_OVERWRITE, UT_BS + 5);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_buf, UT_BS + 5, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	/* OVERWRITE COUNT 0, TEST, a pattern of 0 bytes, longer than a block or than the list. */
	len = overwrite_list(g_buf, 0x00, 8, 0);
	sanitize_cdb(cdb, VT_SCSI_SANITIZE_OVERWRITE, len);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_buf, len, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST);
	CU_ASSERT_EQUAL(c.task.sense[15], 0x80 | 0x08 | 4);
	len = overwrite_list(g_buf, 0x21, 8, 0);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_buf, len, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST);
	overwrite_list(g_buf, 0x01, 0, 0);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_buf, len, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST);
	CU_ASSERT_EQUAL(vt_scsi_get16(&c.task.sense[16]), 2);
	vt_scsi_put16(&g_buf[2], 9);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_buf, len, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST);
	overwrite_list(g_buf, 0x01, UT_BS, 0);
	vt_scsi_put16(&g_buf[2], UT_BS + 4);
	sanitize_cdb(cdb, VT_SCSI_SANITIZE_OVERWRITE, UT_BS + 4);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_buf, UT_BS + 4, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST);
	/* A buffer shorter than the PARAMETER LIST LENGTH. */
	len = overwrite_list(g_buf, 0x01, 8, 0);
	sanitize_cdb(cdb, VT_SCSI_SANITIZE_OVERWRITE, len);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_buf, len - 2, UT_ILLEGAL,
			VT_SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
	CU_ASSERT_FALSE(scsi_lu_sanitizing(lun0()));
	ut_fix_teardown(&g_f);
}

static void
sanitize_failure_mode_refuses_medium_access_until_left(void)
{
	uint8_t cdb[10], rd[10] = { VT_SCSI_OP_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	struct ut_cmd c;

	ut_fix_setup(&g_f, "ut_san");
	/* Nothing failed: EXIT FAILURE MODE has nothing to leave. */
	sanitize_cdb(cdb, VT_SCSI_SANITIZE_EXIT_FAILURE_MODE, 0);
	UT_EXPECT_GOOD(&c, g_f.a, cdb, NONE, NULL, 0);
	/* A sanitize requested with AUSE 0 failed: only a sanitize that succeeds leaves. */
	lun0()->lu->sanitize_state = SCSI_LU_SANITIZE_FAILED;
	lun0()->lu->sanitize_ause = false;
	UT_EXPECT_CHECK(&c, g_f.a, rd, IN, g_rbuf, UT_BS, VT_SCSI_SENSE_MEDIUM_ERROR,
			VT_SCSI_ASC_SANITIZE_FAILED);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, NONE, NULL, 0, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	sanitize_cdb(cdb, AUSE | VT_SCSI_SANITIZE_BLOCK_ERASE, 0);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, NONE, NULL, 0, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	CU_ASSERT_EQUAL(c.task.sense[15], 0x80 | 0x40 | 0x08 | 5);
	sanitize_cdb(cdb, VT_SCSI_SANITIZE_BLOCK_ERASE, 0);
	UT_EXPECT_GOOD(&c, g_f.a, cdb, NONE, NULL, 0);
	UT_EXPECT_GOOD(&c, g_f.a, rd, IN, g_rbuf, UT_BS);
	/* With AUSE 1, EXIT FAILURE MODE leaves it. */
	lun0()->lu->sanitize_state = SCSI_LU_SANITIZE_FAILED;
	lun0()->lu->sanitize_ause = true;
	UT_EXPECT_CHECK(&c, g_f.a, rd, IN, g_rbuf, UT_BS, VT_SCSI_SENSE_MEDIUM_ERROR,
			VT_SCSI_ASC_SANITIZE_FAILED);
	sanitize_cdb(cdb, VT_SCSI_SANITIZE_EXIT_FAILURE_MODE, 0);
	UT_EXPECT_GOOD(&c, g_f.a, cdb, NONE, NULL, 0);
	UT_EXPECT_GOOD(&c, g_f.a, rd, IN, g_rbuf, UT_BS);
	ut_fix_teardown(&g_f);
}

static void
lun_removal_waits_for_a_sanitize_in_progress(void)
{
	uint8_t cdb[10];
	struct ut_cmd c;
	int done = 0;

	ut_fix_setup(&g_f, "ut_san");
	sanitize_cdb(cdb, IMMED | VT_SCSI_SANITIZE_BLOCK_ERASE, 0);
	UT_EXPECT_GOOD(&c, g_f.a, cdb, NONE, NULL, 0);
	CU_ASSERT_FATAL(scsi_lu_sanitizing(lun0()));
	/* No task is in flight, but the operation holds the LUN (and its bdev) until it ends. */
	CU_ASSERT_EQUAL(vt_scsi_dev_remove_lun(g_f.dev, 0, ut_lun_done, &done), 0);
	vt_reactor_poll_once();
	vt_reactor_poll_once();
	CU_ASSERT_EQUAL(done, 0);
	CU_ASSERT(ut_poll_until(&done, 1));
	ut_fix_teardown(&g_f);
}

static void
sanitize_is_reported_as_supported_with_its_usage_data(void)
{
	uint8_t cdb[12] = { VT_SCSI_OP_MAINTENANCE_IN,
			    VT_SCSI_MI_REPORT_SUPPORTED_OPCODES,
			    0x02,
			    VT_SCSI_OP_SANITIZE,
			    0,
			    VT_SCSI_SANITIZE_OVERWRITE,
			    0,
			    0,
			    0,
			    64 };
	struct ut_cmd c;

	ut_fix_setup(&g_f, "ut_san");
	UT_EXPECT_GOOD(&c, g_f.a, cdb, IN, g_rbuf, 64);
	CU_ASSERT_EQUAL(g_rbuf[1] & 0x07, 0x03); /* supported as in the standard */
	CU_ASSERT_EQUAL(vt_scsi_get16(&g_rbuf[2]), 10);
	CU_ASSERT_EQUAL(g_rbuf[4], VT_SCSI_OP_SANITIZE);
	CU_ASSERT_EQUAL(g_rbuf[5], IMMED | AUSE | VT_SCSI_SANITIZE_OVERWRITE);
	ut_fix_teardown(&g_f);
}

/* ---- one logical unit, two paths ------------------------------------------------------------ */

/* Path 2: LUN 0 of a second device (another controller, another target port) on bdev name, with
 * the initiator of g_f.a: another I_T nexus to the same logical unit. */
static struct vt_scsi_dev *g_dev2;
static struct vt_scsi_port *g_p2;

static void
path2_add(const char *name)
{
	g_dev2 = vt_scsi_dev_create("ut.t2", 1);
	CU_ASSERT_FATAL(g_dev2 != NULL);
	CU_ASSERT_EQUAL_FATAL(vt_scsi_dev_add_lun(g_dev2, name, 0, NULL, NULL), 0);
	g_p2 = vt_scsi_port_create(g_dev2, "iqn.2024-01.ut:a");
	CU_ASSERT_FATAL(g_p2 != NULL);
	ut_clear_ua(g_p2);
	CU_ASSERT_PTR_EQUAL(vt_scsi_dev_get_lun(g_dev2, 0)->lu, lun0()->lu);
}

/* Removes path 2's LUN (waits for it) unless done already, then the device. */
static void
path2_remove(bool lun_removed)
{
	int done = 0;

	CU_ASSERT_EQUAL(vt_scsi_port_destroy(g_p2), 0);
	if (!lun_removed) {
		CU_ASSERT_EQUAL(vt_scsi_dev_remove_lun(g_dev2, 0, ut_lun_done, &done), 0);
		CU_ASSERT(ut_poll_until(&done, 1));
	}
	CU_ASSERT_EQUAL(vt_scsi_dev_destroy(g_dev2), 0);
}

/* Asserts that REQUEST SENSE through port says SANITIZE IN PROGRESS with a progress indication
 * (running) or no sense (not running); returns the progress. */
static uint16_t
request_sense_progress(struct vt_scsi_port *port, bool running)
{
	uint8_t rs[6] = { VT_SCSI_OP_REQUEST_SENSE, 0, 0, 0, 252, 0 };
	uint8_t sense[252];
	struct ut_cmd c;

	memset(sense, 0xff, sizeof(sense));
	CU_ASSERT_EQUAL(ut_run(&c, port, 0, rs, 6, IN, sense, sizeof(sense)), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(sense[0] & 0x7f, 0x70);
	if (!running) {
		CU_ASSERT_EQUAL(sense[2] & 0x0f, VT_SCSI_SENSE_NO_SENSE);
		CU_ASSERT_EQUAL(vt_scsi_get16(&sense[12]), VT_SCSI_ASC_NONE);
		return 0;
	}
	CU_ASSERT_EQUAL(sense[2] & 0x0f, VT_SCSI_SENSE_NOT_READY);
	CU_ASSERT_EQUAL(vt_scsi_get16(&sense[12]), VT_SCSI_ASC_SANITIZE_IN_PROGRESS);
	CU_ASSERT_EQUAL(sense[15], 0x80);
	return vt_scsi_get16(&sense[16]);
}

static void
sanitize_through_one_path_is_seen_on_every_path(void)
{
	uint8_t cdb[10], tur[6] = { VT_SCSI_OP_TEST_UNIT_READY };
	uint8_t inq[6] = { VT_SCSI_OP_INQUIRY, 0, 0, 0, 96, 0 };
	uint8_t rd[10] = { VT_SCSI_OP_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	uint16_t len, p1, p2;
	struct ut_cmd c;

	ut_fix_setup(&g_f, "ut_san2");
	path2_add("ut_san2");
	/* Three OVERWRITE passes of 256 writes each, started through path 1 (IMMED). */
	len = overwrite_list(g_buf, 0x03, 4, 0x5a);
	sanitize_cdb(cdb, IMMED | VT_SCSI_SANITIZE_OVERWRITE, len);
	UT_EXPECT_GOOD(&c, g_f.a, cdb, OUT, g_buf, len);
	CU_ASSERT_FATAL(scsi_lu_sanitizing(vt_scsi_dev_get_lun(g_dev2, 0)));
	/* Path 2 (another target port, even another initiator port of it): refused. */
	CU_ASSERT_EQUAL(ut_run(&c, g_p2, 0, tur, 6, NONE, NULL, 0), VT_SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(ut_sense(&c.task),
			UT_SK(VT_SCSI_SENSE_NOT_READY, VT_SCSI_ASC_SANITIZE_IN_PROGRESS));
	CU_ASSERT_EQUAL(ut_run(&c, g_p2, 0, rd, 10, IN, g_rbuf, UT_BS),
			VT_SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(ut_sense(&c.task),
			UT_SK(VT_SCSI_SENSE_NOT_READY, VT_SCSI_ASC_SANITIZE_IN_PROGRESS));
	/* A second SANITIZE through path 2 is refused too; INQUIRY is not. */
	CU_ASSERT_EQUAL(ut_run(&c, g_p2, 0, cdb, 10, OUT, g_buf, len),
			VT_SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(ut_sense(&c.task),
			UT_SK(VT_SCSI_SENSE_NOT_READY, VT_SCSI_ASC_SANITIZE_IN_PROGRESS));
	CU_ASSERT_EQUAL(ut_run(&c, g_p2, 0, inq, 6, IN, g_rbuf, 96), VT_SCSI_STATUS_GOOD);
	/* REQUEST SENSE through either path: the same operation's progress, growing. */
	p1 = request_sense_progress(g_p2, true);
	p2 = request_sense_progress(g_f.a, true);
	CU_ASSERT(p2 >= p1);
	CU_ASSERT(request_sense_progress(g_p2, true) >= p2);
	CU_ASSERT(scsi_lu_sanitizing(lun0()));
	wait_sanitize_done();
	/* The end, on both paths: no sense, commands run, the pattern is on the medium. */
	request_sense_progress(g_p2, false);
	request_sense_progress(g_f.a, false);
	CU_ASSERT_EQUAL(ut_run(&c, g_p2, 0, tur, 6, NONE, NULL, 0), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(ut_run(&c, g_p2, 0, rd, 10, IN, g_rbuf, UT_BS), VT_SCSI_STATUS_GOOD);
	CU_ASSERT(block_is_pattern(g_rbuf, &g_buf[4], 4));
	UT_EXPECT_GOOD(&c, g_f.a, tur, NONE, NULL, 0);
	path2_remove(false);
	ut_fix_teardown(&g_f);
}

static void
removing_either_path_during_a_sanitize_leaves_the_other_consistent(void)
{
	uint8_t cdb[10], tur[6] = { VT_SCSI_OP_TEST_UNIT_READY };
	struct ut_cmd c;
	int done = 0;

	/* The issuing path goes: its removal waits for the operation, path 2 sees it to the end. */
	ut_fix_setup(&g_f, "ut_san3");
	path2_add("ut_san3");
	sanitize_cdb(cdb, IMMED | VT_SCSI_SANITIZE_BLOCK_ERASE, 0);
	UT_EXPECT_GOOD(&c, g_f.a, cdb, NONE, NULL, 0);
	CU_ASSERT_EQUAL(vt_scsi_dev_remove_lun(g_f.dev, 0, ut_lun_done, &done), 0);
	CU_ASSERT_EQUAL(ut_run(&c, g_p2, 0, tur, 6, NONE, NULL, 0), VT_SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(ut_sense(&c.task),
			UT_SK(VT_SCSI_SENSE_NOT_READY, VT_SCSI_ASC_SANITIZE_IN_PROGRESS));
	CU_ASSERT(ut_poll_until(&done, 1));
	CU_ASSERT_EQUAL(ut_run(&c, g_p2, 0, tur, 6, NONE, NULL, 0), VT_SCSI_STATUS_GOOD);
	request_sense_progress(g_p2, false);
	path2_remove(false);
	ut_fix_teardown(&g_f);

	/* The other path goes at once; the operation ends on the issuing one. */
	done = 0;
	ut_fix_setup(&g_f, "ut_san3");
	path2_add("ut_san3");
	UT_EXPECT_GOOD(&c, g_f.a, cdb, NONE, NULL, 0);
	CU_ASSERT_EQUAL(vt_scsi_dev_remove_lun(g_dev2, 0, ut_lun_done, &done), 0);
	CU_ASSERT(ut_poll_until(&done, 1));
	CU_ASSERT(scsi_lu_sanitizing(lun0()));
	wait_sanitize_done();
	UT_EXPECT_GOOD(&c, g_f.a, tur, NONE, NULL, 0);
	path2_remove(true);
	ut_fix_teardown(&g_f);
}

static void
ut_error_deleted(void *arg, int rc)
{
	CU_ASSERT_EQUAL(rc, 0);
	(*(int *)arg)++;
}

static void
failed_sanitize_is_seen_on_every_path(void)
{
	struct bdev_malloc_opts opts = { .name = "ut_sanf",
					 .num_blocks = UT_BLOCKS,
					 .block_size = UT_BS };
	struct bdev_error_injection inj = { .type = BDEV_ERROR_FAILURE, .num = 1 };
	uint8_t cdb[10], rd[10] = { VT_SCSI_OP_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	struct vt_bdev *base, *ee;
	struct ut_cmd c;
	int del = 0;
	uint16_t len;

	/* Both paths on an error bdev whose next write fails: path 1's OVERWRITE fails. */
	memset(&g_f, 0, sizeof(g_f));
	CU_ASSERT_EQUAL_FATAL(bdev_malloc_create(&opts, &base), 0);
	CU_ASSERT_EQUAL_FATAL(bdev_error_create("ut_sanf", NULL, &ee), 0);
	g_f.dev = vt_scsi_dev_create("ut.target", 0);
	CU_ASSERT_FATAL(g_f.dev != NULL);
	CU_ASSERT_EQUAL_FATAL(vt_scsi_dev_add_lun(g_f.dev, "EE_ut_sanf", 0, NULL, NULL), 0);
	g_f.a = vt_scsi_port_create(g_f.dev, "iqn.2024-01.ut:a");
	CU_ASSERT_FATAL(g_f.a != NULL);
	ut_clear_ua(g_f.a);
	path2_add("EE_ut_sanf");
	CU_ASSERT_EQUAL(bdev_error_inject(ee, 1u << BDEV_ERROR_SLOT_WRITE, &inj), 0);
	len = overwrite_list(g_buf, 0x01, 4, 0);
	sanitize_cdb(cdb, VT_SCSI_SANITIZE_OVERWRITE, len);
	UT_EXPECT_CHECK(&c, g_f.a, cdb, OUT, g_buf, len, VT_SCSI_SENSE_MEDIUM_ERROR,
			VT_SCSI_ASC_SANITIZE_FAILED);
	/* Path 2 is in the failure mode too: medium access refused, TEST UNIT READY not. */
	CU_ASSERT_EQUAL(ut_run(&c, g_p2, 0, rd, 10, IN, g_rbuf, UT_BS),
			VT_SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(ut_sense(&c.task),
			UT_SK(VT_SCSI_SENSE_MEDIUM_ERROR, VT_SCSI_ASC_SANITIZE_FAILED));
	/* Requested with AUSE 0: EXIT FAILURE MODE through path 2 is refused ... */
	sanitize_cdb(cdb, VT_SCSI_SANITIZE_EXIT_FAILURE_MODE, 0);
	CU_ASSERT_EQUAL(ut_run(&c, g_p2, 0, cdb, 10, NONE, NULL, 0),
			VT_SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(ut_sense(&c.task), UT_SK(UT_ILLEGAL, VT_SCSI_ASC_INVALID_FIELD_IN_CDB));
	/* ... a sanitize through path 2 that succeeds leaves it, for path 1 as well. */
	len = overwrite_list(g_buf, 0x01, 4, 0);
	sanitize_cdb(cdb, VT_SCSI_SANITIZE_OVERWRITE, len);
	CU_ASSERT_EQUAL(ut_run(&c, g_p2, 0, cdb, 10, OUT, g_buf, len), VT_SCSI_STATUS_GOOD);
	UT_EXPECT_GOOD(&c, g_f.a, rd, IN, g_rbuf, UT_BS);
	CU_ASSERT_EQUAL(ut_run(&c, g_p2, 0, rd, 10, IN, g_rbuf, UT_BS), VT_SCSI_STATUS_GOOD);
	path2_remove(false);
	CU_ASSERT_EQUAL(vt_scsi_port_destroy(g_f.a), 0);
	del = 0;
	CU_ASSERT_EQUAL(vt_scsi_dev_remove_lun(g_f.dev, 0, ut_lun_done, &del), 0);
	CU_ASSERT(ut_poll_until(&del, 1));
	CU_ASSERT_EQUAL(vt_scsi_dev_destroy(g_f.dev), 0);
	del = 0;
	CU_ASSERT_EQUAL(bdev_error_delete(ee, ut_error_deleted, &del), 0);
	CU_ASSERT(ut_poll_until(&del, 1));
	del = 0;
	CU_ASSERT_EQUAL(bdev_malloc_delete(base, ut_delete_cb, &del), 0);
	CU_ASSERT(ut_poll_until(&del, 1));
}

int
main(void)
{
	CU_pSuite s;

	CU_initialize_registry();
	s = CU_add_suite("scsi_sanitize", ut_reactor_suite_init, ut_reactor_suite_fini);
	CU_ADD_TEST(s, sanitize_overwrite_writes_the_pattern_to_every_block);
	CU_ADD_TEST(s, sanitize_overwrite_with_invert_ends_with_the_pattern);
	CU_ADD_TEST(s, sanitize_block_and_crypto_erase_leave_zeros);
	CU_ADD_TEST(s, sanitize_in_progress_refuses_medium_commands_and_reports_progress);
	CU_ADD_TEST(s, sanitize_goes_on_when_its_command_is_aborted);
	CU_ADD_TEST(s, sanitize_refuses_bad_cdbs_and_parameter_lists);
	CU_ADD_TEST(s, sanitize_failure_mode_refuses_medium_access_until_left);
	CU_ADD_TEST(s, lun_removal_waits_for_a_sanitize_in_progress);
	CU_ADD_TEST(s, sanitize_is_reported_as_supported_with_its_usage_data);
	CU_ADD_TEST(s, sanitize_through_one_path_is_seen_on_every_path);
	CU_ADD_TEST(s, removing_either_path_during_a_sanitize_leaves_the_other_consistent);
	CU_ADD_TEST(s, failed_sanitize_is_seen_on_every_path);
	return ut_run_tests();
}
