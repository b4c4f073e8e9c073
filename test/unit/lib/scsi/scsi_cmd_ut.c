/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The dispatcher and device (scsi_cmd.c, scsi_dev.c, scsi_tmf.c): opcode checks, unit attention
 * sequences, missing and removed LUNs, REPORT LUNS and task management.
 */
#include "test/unit/lib/scsi/ut_scsi.h"

static struct ut_fix g_f;
static uint8_t g_data[4096];

#define IN VT_SCSI_DIR_FROM_DEV
#define NONE VT_SCSI_DIR_NONE

static const uint8_t g_tur[6] = { 0 };

static uint32_t
tur_sense(struct vt_scsi_port *port)
{
	struct ut_cmd c;

	if (ut_run(&c, port, 0, g_tur, 6, NONE, NULL, 0) == VT_SCSI_STATUS_GOOD) {
		return 0;
	}
	return ut_sense(&c.task);
}

static void
unknown_opcode_and_short_cdb_are_refused(void)
{
	/* 0x8c: READ ATTRIBUTE, a 16-byte opcode vtarget does not implement. */
	uint8_t op[6] = { 0xc0 }, rattr[16] = { 0x8c }, rd[10] = { VT_SCSI_OP_READ_10 };
	struct ut_cmd c;

	ut_fix_setup(&g_f, "ut_cmd");
	UT_EXPECT_CHECK(&c, g_f.a, op, NONE, NULL, 0, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_COMMAND_OPCODE);
	UT_EXPECT_CHECK(&c, g_f.a, rattr, NONE, NULL, 0, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_COMMAND_OPCODE);
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(ut_run(&c, g_f.a, 0, rd, 10, NONE, NULL, 0), VT_SCSI_STATUS_GOOD);
	c.task.cdb_len = 6;
	c.done = 0;
	vt_scsi_dev_queue_task(g_f.a, &c.task);
	CU_ASSERT(ut_poll_until(&c.done, 1));
	CU_ASSERT_EQUAL(ut_sense(&c.task), UT_SK(UT_ILLEGAL, VT_SCSI_ASC_INVALID_FIELD_IN_CDB));
	ut_fix_teardown(&g_f);
}

static void
unit_attentions_follow_creation_resize_and_lun_changes(void)
{
	uint8_t inq[6] = { VT_SCSI_OP_INQUIRY, 0, 0, 0, 36, 0 };
	uint8_t rs[6] = { VT_SCSI_OP_REQUEST_SENSE, 0, 0, 0, 18, 0 };
	struct vt_scsi_port *p;
	struct ut_cmd c;

	ut_fix_setup(&g_f, "ut_cmd");
	p = vt_scsi_port_create(g_f.dev, "iqn.2024-01.ut:c");
	CU_ASSERT_FATAL(p != NULL);
	/* INQUIRY passes a pending unit attention; TEST UNIT READY reports it once. */
	UT_EXPECT_GOOD(&c, p, inq, IN, g_data, 36);
	CU_ASSERT_EQUAL(tur_sense(p),
			UT_SK(VT_SCSI_SENSE_UNIT_ATTENTION, VT_SCSI_ASC_POWER_ON_RESET));
	CU_ASSERT_EQUAL(tur_sense(p), 0);
	/* A resize: every nexus gets CAPACITY DATA HAS CHANGED. */
	CU_ASSERT_EQUAL(vt_bdev_notify_blockcnt_change(g_f.bdev, UT_BLOCKS * 2), 0);
	ut_poll(4);
	CU_ASSERT_EQUAL(tur_sense(p),
			UT_SK(VT_SCSI_SENSE_UNIT_ATTENTION, VT_SCSI_ASC_CAPACITY_DATA_CHANGED));
	CU_ASSERT_EQUAL(tur_sense(p), 0);
	/* REQUEST SENSE returns and clears it for the other port. */
	UT_EXPECT_GOOD(&c, g_f.a, rs, IN, g_data, 18);
	CU_ASSERT_EQUAL(g_data[2], VT_SCSI_SENSE_UNIT_ATTENTION);
	CU_ASSERT_EQUAL(vt_scsi_get16(&g_data[12]), VT_SCSI_ASC_CAPACITY_DATA_CHANGED);
	CU_ASSERT_EQUAL(tur_sense(g_f.a), 0);
	vt_scsi_dev_report_luns_changed(g_f.dev);
	CU_ASSERT_EQUAL(tur_sense(p),
			UT_SK(VT_SCSI_SENSE_UNIT_ATTENTION, VT_SCSI_ASC_REPORTED_LUNS_CHANGED));
	CU_ASSERT_EQUAL(vt_scsi_port_destroy(p), 0);
	ut_fix_teardown(&g_f);
}

static void
missing_lun_gets_qualifier_3_and_lun_not_supported(void)
{
	uint8_t inq[6] = { VT_SCSI_OP_INQUIRY, 0, 0, 0, 36, 0 };
	uint8_t rl[12] = { VT_SCSI_OP_REPORT_LUNS, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0 };
	uint8_t rs[6] = { VT_SCSI_OP_REQUEST_SENSE, 0, 0, 0, 18, 0 };
	struct ut_cmd c;

	ut_fix_setup(&g_f, "ut_cmd");
	CU_ASSERT_EQUAL(ut_run(&c, g_f.a, 5, inq, 6, IN, g_data, 36), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(g_data[0], 0x7f);
	CU_ASSERT_EQUAL(ut_run(&c, g_f.a, 5, g_tur, 6, NONE, NULL, 0),
			VT_SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(ut_sense(&c.task), UT_SK(UT_ILLEGAL, VT_SCSI_ASC_LUN_NOT_SUPPORTED));
	CU_ASSERT_EQUAL(ut_run(&c, g_f.a, 5, rs, 6, IN, g_data, 18), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(vt_scsi_get16(&g_data[12]), VT_SCSI_ASC_LUN_NOT_SUPPORTED);
	/* REPORT LUNS through a missing LUN lists LUN 0. */
	CU_ASSERT_EQUAL(ut_run(&c, g_f.a, 5, rl, 12, IN, g_data, 64), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(vt_scsi_get32(g_data), 8);
	CU_ASSERT_EQUAL(c.task.data_transferred, 16);
	rl[2] = 0x01; /* well-known LUNs: none */
	CU_ASSERT_EQUAL(ut_run(&c, g_f.a, 0, rl, 12, IN, g_data, 64), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(vt_scsi_get32(g_data), 0);
	rl[2] = 0x03;
	UT_EXPECT_CHECK(&c, g_f.a, rl, IN, g_data, 64, UT_ILLEGAL,
			VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	/* The device-less helper for transports. */
	memset(&c, 0, sizeof(c));
	memcpy(c.task.cdb, inq, 6);
	c.task.cdb_len = 6;
	c.task.iovs = &(struct iovec){ g_data, 36 };
	c.task.iovcnt = 1;
	c.task.dir = IN;
	c.task.transfer_len = 36;
	c.task.cb = ut_task_cb;
	c.task.cb_arg = &c;
	vt_scsi_task_complete_no_lun(&c.task);
	CU_ASSERT(ut_poll_until(&c.done, 1));
	CU_ASSERT_EQUAL(g_data[0], 0x7f);
	ut_fix_teardown(&g_f);
}

static int g_hotremoved;

static void
hotremove_cb(struct vt_scsi_dev *dev, uint32_t lun_id, void *arg)
{
	g_hotremoved++;
}

static void
lun_removal_waits_for_tasks_in_flight(void)
{
	struct bdev_malloc_opts opts = { .name = "ut_rm", .num_blocks = 64, .block_size = 512 };
	uint8_t rd[10] = { VT_SCSI_OP_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	struct vt_bdev *bdev;
	struct ut_cmd c, c2;
	int done = 0, del = 0;

	ut_fix_setup(&g_f, "ut_cmd");
	CU_ASSERT_EQUAL_FATAL(bdev_malloc_create(&opts, &bdev), 0);
	CU_ASSERT_EQUAL(vt_scsi_dev_add_lun(g_f.dev, "ut_rm", 3, hotremove_cb, NULL), 3);
	/* A second LUN on the same bdev is another path to the same logical unit. */
	CU_ASSERT_EQUAL(vt_scsi_dev_add_lun(g_f.dev, "ut_rm", 4, NULL, NULL), 4);
	CU_ASSERT_EQUAL(vt_scsi_dev_add_lun(g_f.dev, "nope", -1, NULL, NULL), -ENODEV);
	CU_ASSERT_EQUAL(vt_scsi_dev_add_lun(g_f.dev, "ut_rm", 3, NULL, NULL), -EEXIST);
	CU_ASSERT_EQUAL(ut_run(&c, g_f.a, 3, g_tur, 6, NONE, NULL, 0),
			VT_SCSI_STATUS_CHECK_CONDITION); /* power on UA */
	/* A read in flight when the removal starts completes normally; then the LUN goes. */
	memset(&c, 0, sizeof(c));
	memcpy(c.task.cdb, rd, 10);
	c.task.cdb_len = 10;
	c.task.lun_id = 3;
	c.task.iovs = &(struct iovec){ g_data, 512 };
	c.task.iovcnt = 1;
	c.task.dir = IN;
	c.task.transfer_len = 512;
	c.task.cb = ut_task_cb;
	c.task.cb_arg = &c;
	vt_scsi_dev_queue_task(g_f.a, &c.task);
	CU_ASSERT_EQUAL(vt_scsi_dev_remove_lun(g_f.dev, 3, ut_lun_done, &done), 0);
	CU_ASSERT_EQUAL(vt_scsi_dev_remove_lun(g_f.dev, 3, ut_lun_done, &done), -EALREADY);
	CU_ASSERT_EQUAL(ut_run(&c2, g_f.a, 3, g_tur, 6, NONE, NULL, 0),
			VT_SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(ut_sense(&c2.task), UT_SK(UT_ILLEGAL, VT_SCSI_ASC_LUN_NOT_SUPPORTED));
	CU_ASSERT(ut_poll_until(&c.done, 1));
	CU_ASSERT_EQUAL(c.task.status, VT_SCSI_STATUS_GOOD);
	CU_ASSERT(ut_poll_until(&done, 1));
	CU_ASSERT_FALSE(vt_scsi_dev_has_lun(g_f.dev, 3));
	/* Hot removal of the bdev calls the transport's callback. */
	CU_ASSERT_EQUAL(vt_scsi_dev_add_lun(g_f.dev, "ut_rm", -1, hotremove_cb, NULL), 1);
	CU_ASSERT_EQUAL(bdev_malloc_delete(bdev, ut_delete_cb, &del), 0);
	ut_poll(4);
	CU_ASSERT_EQUAL(g_hotremoved, 1);
	CU_ASSERT_FALSE(vt_scsi_dev_has_lun(g_f.dev, 1));
	CU_ASSERT_EQUAL(vt_scsi_dev_remove_lun(g_f.dev, 1, ut_lun_done, &done), 0);
	CU_ASSERT(ut_poll_until(&done, 2));
	CU_ASSERT(ut_poll_until(&del, 1));
	ut_fix_teardown(&g_f);
}

struct ut_tmf {
	struct vt_scsi_tmf tmf;
	int done;
};

static void
ut_tmf_cb(struct vt_scsi_tmf *tmf)
{
	struct ut_tmf *t = (struct ut_tmf *)tmf;

	t->done++;
}

static void
ut_tmf_run(struct ut_tmf *t, struct vt_scsi_port *port, enum vt_scsi_tmf_func func, uint64_t lun,
	   uint64_t tag)
{
	memset(t, 0, sizeof(*t));
	t->tmf.func = func;
	t->tmf.lun_id = lun;
	t->tmf.tag = tag;
	t->tmf.cb = ut_tmf_cb;
	vt_scsi_port_task_mgmt(port, &t->tmf);
}

static void
task_management_aborts_queries_and_resets(void)
{
	uint8_t rd[10] = { VT_SCSI_OP_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	struct ut_cmd c;
	struct ut_tmf t, q;

	ut_fix_setup(&g_f, "ut_cmd");
	memset(&c, 0, sizeof(c));
	memcpy(c.task.cdb, rd, 10);
	c.task.cdb_len = 10;
	c.task.tag = 77;
	c.task.iovs = &(struct iovec){ g_data, 512 };
	c.task.iovcnt = 1;
	c.task.dir = IN;
	c.task.transfer_len = 512;
	c.task.cb = ut_task_cb;
	c.task.cb_arg = &c;
	vt_scsi_dev_queue_task(g_f.a, &c.task);
	ut_tmf_run(&q, g_f.a, VT_SCSI_TMF_QUERY_TASK, 0, 77);
	ut_tmf_run(&t, g_f.a, VT_SCSI_TMF_ABORT_TASK, 0, 77);
	CU_ASSERT(ut_poll_until(&t.done, 1));
	CU_ASSERT_EQUAL(c.done, 1); /* the task first */
	CU_ASSERT_EQUAL(c.task.status, VT_SCSI_STATUS_TASK_ABORTED);
	CU_ASSERT_EQUAL(q.done, 1);
	CU_ASSERT_EQUAL(q.tmf.response, VT_SCSI_TMF_SUCCEEDED);
	CU_ASSERT_EQUAL(t.tmf.response, VT_SCSI_TMF_COMPLETE);
	ut_tmf_run(&q, g_f.a, VT_SCSI_TMF_QUERY_TASK, 0, 77);
	CU_ASSERT(ut_poll_until(&q.done, 1));
	CU_ASSERT_EQUAL(q.tmf.response, VT_SCSI_TMF_COMPLETE);
	ut_tmf_run(&q, g_f.a, VT_SCSI_TMF_ABORT_TASK_SET, 9, 0);
	CU_ASSERT(ut_poll_until(&q.done, 1));
	CU_ASSERT_EQUAL(q.tmf.response, VT_SCSI_TMF_INCORRECT_LUN);
	/* LUN reset: the other nexus sees BUS DEVICE RESET FUNCTION OCCURRED. */
	ut_tmf_run(&t, g_f.a, VT_SCSI_TMF_LOGICAL_UNIT_RESET, 0, 0);
	CU_ASSERT(ut_poll_until(&t.done, 1));
	CU_ASSERT_EQUAL(tur_sense(g_f.a), 0);
	CU_ASSERT_EQUAL(tur_sense(g_f.b),
			UT_SK(VT_SCSI_SENSE_UNIT_ATTENTION, VT_SCSI_ASC_BUS_DEVICE_RESET));
	ut_tmf_run(&t, g_f.b, VT_SCSI_TMF_I_T_NEXUS_RESET, 0, 0);
	CU_ASSERT(ut_poll_until(&t.done, 1));
	CU_ASSERT_EQUAL(tur_sense(g_f.b),
			UT_SK(VT_SCSI_SENSE_UNIT_ATTENTION, VT_SCSI_ASC_I_T_NEXUS_LOSS));
	ut_fix_teardown(&g_f);
}

int
main(void)
{
	CU_pSuite s;

	CU_initialize_registry();
	s = CU_add_suite("scsi_cmd", ut_reactor_suite_init, ut_reactor_suite_fini);
	CU_ADD_TEST(s, unknown_opcode_and_short_cdb_are_refused);
	CU_ADD_TEST(s, unit_attentions_follow_creation_resize_and_lun_changes);
	CU_ADD_TEST(s, missing_lun_gets_qualifier_3_and_lun_not_supported);
	CU_ADD_TEST(s, lun_removal_waits_for_tasks_in_flight);
	CU_ADD_TEST(s, task_management_aborts_queries_and_resets);
	return ut_run_tests();
}
