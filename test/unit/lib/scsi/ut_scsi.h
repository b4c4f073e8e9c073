/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_UT_SCSI_H
#define VT_UT_SCSI_H

/*
 * For lib/scsi tests: a malloc bdev behind LUN 0 of a device with two initiator ports, on one
 * reactor, and a synchronous command runner that checks status and sense.
 */

#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "vt/bdev.h"
#include "vt/scsi.h"

#include "lib/bdev/malloc/bdev_malloc.h"
#include "test/unit/common/ut_bdev.h"
#include "test/unit/common/ut_main.h"
#include "test/unit/common/ut_reactor.h"

#define UT_BLOCKS 2048u
#define UT_BS 512u

struct ut_fix {
	struct vt_bdev *bdev;
	struct vt_scsi_dev *dev;
	struct vt_scsi_port *a; /* initiator A */
	struct vt_scsi_port *b; /* initiator B */
};

struct ut_cmd {
	struct vt_scsi_task task;
	int done;
};

static void
ut_task_cb(struct vt_scsi_task *task)
{
	struct ut_cmd *c = task->cb_arg;

	c->done++;
}

/* Runs cdb on LUN lun from port with a buffer of len bytes in direction dir; returns status. */
static inline uint8_t
ut_run(struct ut_cmd *c, struct vt_scsi_port *port, uint64_t lun, const uint8_t *cdb,
       uint32_t cdb_len, enum vt_scsi_dir dir, void *buf, uint32_t len)
{
	static struct iovec iov;

	memset(c, 0, sizeof(*c));
	memcpy(c->task.cdb, cdb, cdb_len);
	c->task.cdb_len = cdb_len < 16 ? 16 : cdb_len;
	c->task.lun_id = lun;
	iov.iov_base = buf;
	iov.iov_len = len;
	c->task.iovs = &iov;
	c->task.iovcnt = 1;
	c->task.dir = dir;
	c->task.transfer_len = len;
	c->task.cb = ut_task_cb;
	c->task.cb_arg = c;
	vt_scsi_dev_queue_task(port, &c->task);
	CU_ASSERT_EQUAL(c->done, 0); /* never completes inside the submit call */
	CU_ASSERT_FATAL(ut_poll_until(&c->done, 1));
	return c->task.status;
}

/* Sense key and ASC/ASCQ of a CHECK CONDITION in either format. */
static inline uint32_t
ut_sense(const struct vt_scsi_task *t)
{
	if ((t->sense[0] & 0x7f) == 0x72) {
		return (uint32_t)(t->sense[1] & 0xf) << 16 | t->sense[2] << 8 | t->sense[3];
	}
	return (uint32_t)(t->sense[2] & 0xf) << 16 | t->sense[12] << 8 | t->sense[13];
}

#define UT_SK(key, asc) (((uint32_t)(key) << 16) | (asc))

/* Asserts that running cdb gives CHECK CONDITION with key/asc. */
#define UT_EXPECT_CHECK(c, port, cdb, dir, buf, len, key, asc)                       \
	do {                                                                         \
		CU_ASSERT_EQUAL(ut_run(c, port, 0, cdb, sizeof(cdb), dir, buf, len), \
				VT_SCSI_STATUS_CHECK_CONDITION);                     \
		CU_ASSERT_EQUAL(ut_sense(&(c)->task), UT_SK(key, asc));              \
	} while (0)

#define UT_EXPECT_GOOD(c, port, cdb, dir, buf, len) \
	CU_ASSERT_EQUAL(ut_run(c, port, 0, cdb, sizeof(cdb), dir, buf, len), VT_SCSI_STATUS_GOOD)

#define UT_ILLEGAL VT_SCSI_SENSE_ILLEGAL_REQUEST

/* Clears the power-on unit attention of a port on LUN 0. */
static inline void
ut_clear_ua(struct vt_scsi_port *port)
{
	uint8_t tur[6] = { 0 };
	struct ut_cmd c;

	for (int i = 0; i < 8; i++) {
		if (ut_run(&c, port, 0, tur, 6, VT_SCSI_DIR_NONE, NULL, 0) == VT_SCSI_STATUS_GOOD) {
			return;
		}
	}
	CU_FAIL("unit attentions do not clear");
}

static inline void
ut_fix_setup(struct ut_fix *f, const char *name)
{
	struct bdev_malloc_opts opts = {
		.name = name,
		.num_blocks = UT_BLOCKS,
		.block_size = UT_BS,
	};

	memset(f, 0, sizeof(*f));
	CU_ASSERT_EQUAL_FATAL(bdev_malloc_create(&opts, &f->bdev), 0);
	f->dev = vt_scsi_dev_create("ut.target", 0);
	CU_ASSERT_FATAL(f->dev != NULL);
	CU_ASSERT_EQUAL_FATAL(vt_scsi_dev_add_lun(f->dev, name, 0, NULL, NULL), 0);
	f->a = vt_scsi_port_create(f->dev, "iqn.2024-01.ut:a");
	f->b = vt_scsi_port_create(f->dev, "iqn.2024-01.ut:b");
	CU_ASSERT_FATAL(f->a != NULL && f->b != NULL);
	ut_clear_ua(f->a);
	ut_clear_ua(f->b);
}

static void
ut_lun_done(struct vt_scsi_dev *dev, uint32_t lun_id, void *arg)
{
	int *done = arg;

	(*done)++;
}

static inline void
ut_fix_teardown(struct ut_fix *f)
{
	int done = 0, del = 0;

	CU_ASSERT_EQUAL(vt_scsi_port_destroy(f->a), 0);
	CU_ASSERT_EQUAL(vt_scsi_port_destroy(f->b), 0);
	if (vt_scsi_dev_remove_lun(f->dev, 0, ut_lun_done, &done) == 0) {
		CU_ASSERT(ut_poll_until(&done, 1));
	}
	CU_ASSERT_EQUAL(vt_scsi_dev_destroy(f->dev), 0);
	CU_ASSERT_EQUAL(bdev_malloc_delete(f->bdev, ut_delete_cb, &del), 0);
	CU_ASSERT(ut_poll_until(&del, 1));
}

/* ---- long-running commands and task management (scsi_xcopy_ut, scsi_sanitize_ut) ----------- */

/* Queues cdb like ut_run without waiting; the caller polls c->done. iov must outlive the task. */
static inline void
ut_start(struct ut_cmd *c, struct iovec *iov, struct vt_scsi_port *port, const uint8_t *cdb,
	 uint32_t cdb_len, enum vt_scsi_dir dir, void *buf, uint32_t len, uint64_t tag)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->task.cdb, cdb, cdb_len);
	c->task.cdb_len = cdb_len < 16 ? 16 : cdb_len;
	c->task.tag = tag;
	iov->iov_base = buf;
	iov->iov_len = len;
	c->task.iovs = iov;
	c->task.iovcnt = 1;
	c->task.dir = dir;
	c->task.transfer_len = len;
	c->task.cb = ut_task_cb;
	c->task.cb_arg = c;
	vt_scsi_dev_queue_task(port, &c->task);
}

struct ut_tmf_req {
	struct vt_scsi_tmf tmf;
	int done;
};

static void
ut_tmf_req_cb(struct vt_scsi_tmf *tmf)
{
	((struct ut_tmf_req *)tmf)->done++;
}

/* Runs a task management function to its end; returns its response. */
static inline enum vt_scsi_tmf_response
ut_tmf_send(struct vt_scsi_port *port, enum vt_scsi_tmf_func func, uint64_t lun, uint64_t tag)
{
	struct ut_tmf_req t;

	memset(&t, 0, sizeof(t));
	t.tmf.func = func;
	t.tmf.lun_id = lun;
	t.tmf.tag = tag;
	t.tmf.cb = ut_tmf_req_cb;
	vt_scsi_port_task_mgmt(port, &t.tmf);
	CU_ASSERT_FATAL(ut_poll_until(&t.done, 1));
	return t.tmf.response;
}

/* Copies the first designation descriptor of LUN lun's VPD page 83h (4 + up to 20 bytes) to d. */
static inline void
ut_lun_designator(struct vt_scsi_port *port, uint64_t lun, uint8_t *d)
{
	uint8_t cdb[6] = { VT_SCSI_OP_INQUIRY, 1, VT_SCSI_VPD_DEVICE_ID, 0, 255, 0 };
	uint8_t page[255];
	struct ut_cmd c;

	memset(page, 0, sizeof(page));
	CU_ASSERT_EQUAL(ut_run(&c, port, lun, cdb, 6, VT_SCSI_DIR_FROM_DEV, page, sizeof(page)),
			VT_SCSI_STATUS_GOOD);
	CU_ASSERT_FATAL(page[4 + 3] <= 20);
	memcpy(d, &page[4], 4u + page[4 + 3]);
}

#endif
