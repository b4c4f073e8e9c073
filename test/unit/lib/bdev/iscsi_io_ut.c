/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The iSCSI bdev's request mapping with libiscsi faked at the link seam: which command each I/O
 * type becomes (on the I/O's own iovecs), UNMAP and WRITE SAME split by the target's limits,
 * SCSI status and sense turned into errnos, short reads, timeouts and requests sent again after
 * a session reset.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bdev/iscsi/bdev_iscsi_io.c"

#include "test/unit/common/ut_main.h"

VT_LOG_REGISTER_COMPONENT(bdev_iscsi)

/* ---- fakes: the bdev layer, the reactor, libiscsi ----------------------------------------- */

static int g_completed;
static int g_status;
static int g_errno;
static uint32_t g_current = 0;
static int g_msgs_sent;
static uint32_t g_msg_target;
static uint64_t g_now = 1000;
static int g_kicks;

void
vt_bdev_io_complete(struct vt_bdev_io *io, enum vt_bdev_io_status status)
{
	(void)io;
	g_completed++;
	g_status = status;
	g_errno = 0;
}

void
vt_bdev_io_complete_errno(struct vt_bdev_io *io, int err)
{
	(void)io;
	g_completed++;
	g_status = VT_BDEV_IO_STATUS_FAILED;
	g_errno = err;
}

const char *
vt_bdev_io_type_name(enum vt_bdev_io_type type)
{
	(void)type;
	return "io";
}

uint32_t
vt_reactor_current(void)
{
	return g_current;
}

int
vt_send_msg(uint32_t idx, vt_msg_fn fn, void *arg)
{
	g_msgs_sent++;
	g_msg_target = idx;
	(void)fn;
	(void)arg;
	return 0;
}

uint64_t
vt_get_ticks(void)
{
	return g_now;
}

void
iscsi_lun_kick(struct iscsi_lun *lun)
{
	(void)lun;
	g_kicks++;
}

enum fake_cmd { CMD_NONE, CMD_READ16, CMD_WRITE16, CMD_SYNC16, CMD_UNMAP, CMD_WS16 };

static struct {
	enum fake_cmd cmd;
	int lun;
	uint64_t lba;
	uint32_t len; /* bytes for READ/WRITE, blocks for UNMAP/WRITE SAME */
	int blocksize;
	int fua;
	struct scsi_iovec *iov;
	int niov;
	unsigned char *data;
	int unmap_descs;
	int calls;
	bool fail; /* the next task creation returns NULL */
} g_last;
static int g_tasks_freed;

static struct scsi_task *
fake_task(enum fake_cmd cmd)
{
	g_last.cmd = cmd;
	g_last.calls++;
	if (g_last.fail) {
		g_last.fail = false;
		return NULL;
	}
	return calloc(1, sizeof(struct scsi_task));
}

static void
record_rw(int lun, uint64_t lba, uint32_t datalen, int blocksize, int fua, struct scsi_iovec *iov,
	  int niov)
{
	g_last.lun = lun;
	g_last.lba = lba;
	g_last.len = datalen;
	g_last.blocksize = blocksize;
	g_last.fua = fua;
	g_last.iov = iov;
	g_last.niov = niov;
}

struct scsi_task *
iscsi_read16_iov_task(struct iscsi_context *iscsi, int lun, uint64_t lba, uint32_t datalen,
		      int blocksize, int rdprotect, int dpo, int fua, int fua_nv, int group_number,
		      iscsi_command_cb cb, void *private_data, struct scsi_iovec *iov, int niov)
{
	record_rw(lun, lba, datalen, blocksize, fua, iov, niov);
	return fake_task(CMD_READ16);
}

struct scsi_task *
iscsi_write16_iov_task(struct iscsi_context *iscsi, int lun, uint64_t lba, unsigned char *data,
		       uint32_t datalen, int blocksize, int wrprotect, int dpo, int fua, int fua_nv,
		       int group_number, iscsi_command_cb cb, void *private_data,
		       struct scsi_iovec *iov, int niov)
{
	record_rw(lun, lba, datalen, blocksize, fua, iov, niov);
	g_last.data = data;
	return fake_task(CMD_WRITE16);
}

struct scsi_task *
iscsi_synchronizecache16_task(struct iscsi_context *iscsi, int lun, uint64_t lba,
			      uint32_t num_blocks, int syncnv, int immed, iscsi_command_cb cb,
			      void *private_data)
{
	g_last.lba = lba;
	g_last.len = num_blocks;
	return fake_task(CMD_SYNC16);
}

struct scsi_task *
iscsi_unmap_task(struct iscsi_context *iscsi, int lun, int anchor, int group,
		 struct unmap_list *list, int list_len, iscsi_command_cb cb, void *private_data)
{
	g_last.lba = list[0].lba;
	g_last.len = list[0].num;
	g_last.unmap_descs = list_len;
	return fake_task(CMD_UNMAP);
}

struct scsi_task *
iscsi_writesame16_task(struct iscsi_context *iscsi, int lun, uint64_t lba, unsigned char *data,
		       uint32_t datalen, uint32_t num_blocks, int anchor, int unmap, int wrprotect,
		       int group, iscsi_command_cb cb, void *private_data)
{
	g_last.lba = lba;
	g_last.len = num_blocks;
	g_last.data = data;
	g_last.blocksize = (int)datalen;
	return fake_task(CMD_WS16);
}

void
scsi_free_scsi_task(struct scsi_task *task)
{
	g_tasks_freed++;
	free(task);
}

const char *
iscsi_get_error(struct iscsi_context *iscsi)
{
	(void)iscsi;
	return "fake";
}

/* ---- helpers ------------------------------------------------------------------------------ */

static struct iscsi_lun g_lun;
static struct vt_bdev_io g_io;
static struct iovec g_iov[3];
static uint8_t g_zero[4096];

static void
reset(void)
{
	memset(&g_lun, 0, sizeof(g_lun));
	memset(&g_io, 0, sizeof(g_io));
	memset(&g_last, 0, sizeof(g_last));
	TAILQ_INIT(&g_lun.inflight);
	TAILQ_INIT(&g_lun.waiting);
	TAILQ_INIT(&g_lun.completing);
	g_lun.bdev.name = "iSCSI0";
	g_lun.bdev.blocklen = 512;
	g_lun.lun_id = 3;
	g_lun.state = ISCSI_LUN_ONLINE;
	g_lun.ctx = (struct iscsi_context *)0x1;
	g_lun.zero_block = g_zero;
	g_lun.unmap_supported = true;
	g_lun.write_same_supported = true;
	g_io.bdev = &g_lun.bdev;
	g_completed = 0;
	g_status = 0;
	g_errno = 0;
	g_current = 0;
	g_msgs_sent = 0;
	g_tasks_freed = 0;
	g_kicks = 0;
}

static struct iscsi_io *
submit(enum vt_bdev_io_type type, uint64_t lba, uint64_t blocks)
{
	g_io.type = type;
	g_io.offset_blocks = lba;
	g_io.num_blocks = blocks;
	g_io.iovs = g_iov;
	g_io.iovcnt = 3;
	iscsi_submit(&g_lun, &g_io);
	return (struct iscsi_io *)g_io.driver_ctx;
}

/* The target answers the command in flight. */
static void
answer(struct iscsi_io *ctx, int status)
{
	command_done(NULL, status, ctx->task, ctx);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void
status_and_sense_become_errnos(void)
{
	struct scsi_task t = { 0 };

	CU_ASSERT_EQUAL(iscsi_status_to_errno(SCSI_STATUS_GOOD, &t), 0);
	t.sense.key = SCSI_SENSE_ILLEGAL_REQUEST;
	t.sense.ascq = 0x2000;
	CU_ASSERT_EQUAL(iscsi_status_to_errno(SCSI_STATUS_CHECK_CONDITION, &t), -ENOTSUP);
	t.sense.ascq = 0x2100;
	CU_ASSERT_EQUAL(iscsi_status_to_errno(SCSI_STATUS_CHECK_CONDITION, &t), -ERANGE);
	t.sense.ascq = 0x2400;
	CU_ASSERT_EQUAL(iscsi_status_to_errno(SCSI_STATUS_CHECK_CONDITION, &t), -EINVAL);
	t.sense.key = SCSI_SENSE_MEDIUM_ERROR;
	CU_ASSERT_EQUAL(iscsi_status_to_errno(SCSI_STATUS_CHECK_CONDITION, &t), -EIO);
	t.sense.key = SCSI_SENSE_DATA_PROTECTION;
	t.sense.ascq = 0x2700;
	CU_ASSERT_EQUAL(iscsi_status_to_errno(SCSI_STATUS_CHECK_CONDITION, &t), -EROFS);
	t.sense.ascq = 0x2707;
	CU_ASSERT_EQUAL(iscsi_status_to_errno(SCSI_STATUS_CHECK_CONDITION, &t), -ENOSPC);
	t.sense.key = SCSI_SENSE_UNIT_ATTENTION;
	CU_ASSERT_EQUAL(iscsi_status_to_errno(SCSI_STATUS_CHECK_CONDITION, &t), -EAGAIN);
	t.sense.key = SCSI_SENSE_MISCOMPARE;
	CU_ASSERT_EQUAL(iscsi_status_to_errno(SCSI_STATUS_CHECK_CONDITION, &t), -EILSEQ);
	CU_ASSERT_EQUAL(iscsi_status_to_errno(SCSI_STATUS_CHECK_CONDITION, NULL), -EIO);
	CU_ASSERT_EQUAL(iscsi_status_to_errno(SCSI_STATUS_BUSY, &t), -EBUSY);
	CU_ASSERT_EQUAL(iscsi_status_to_errno(0x28, &t), -EBUSY);
	CU_ASSERT_EQUAL(iscsi_status_to_errno(SCSI_STATUS_RESERVATION_CONFLICT, &t), -EACCES);
	CU_ASSERT_EQUAL(iscsi_status_to_errno(SCSI_STATUS_TIMEOUT, &t), -ETIMEDOUT);
	CU_ASSERT_EQUAL(iscsi_status_to_errno(SCSI_STATUS_CANCELLED, &t), -ECANCELED);
	CU_ASSERT_EQUAL(iscsi_status_to_errno(SCSI_STATUS_ERROR, &t), -EIO);
}

static void
read_is_read16_on_the_io_iovecs(void)
{
	struct iscsi_io *ctx;

	reset();
	ctx = submit(VT_BDEV_IO_TYPE_READ, 100, 8);
	CU_ASSERT_EQUAL(g_last.cmd, CMD_READ16);
	CU_ASSERT_EQUAL(g_last.lun, 3);
	CU_ASSERT_EQUAL(g_last.lba, 100);
	CU_ASSERT_EQUAL(g_last.len, 8 * 512);
	CU_ASSERT_EQUAL(g_last.blocksize, 512);
	/* No bounce buffer: libiscsi gets the I/O's own iovec array. */
	CU_ASSERT_PTR_EQUAL(g_last.iov, (struct scsi_iovec *)g_iov);
	CU_ASSERT_EQUAL(g_last.niov, 3);
	CU_ASSERT_EQUAL(g_kicks, 1);
	CU_ASSERT_PTR_EQUAL(TAILQ_FIRST(&g_lun.inflight), ctx);
	CU_ASSERT_EQUAL(g_completed, 0);
	answer(ctx, SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(g_completed, 1);
	CU_ASSERT_EQUAL(g_status, VT_BDEV_IO_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(g_tasks_freed, 1);
	CU_ASSERT(TAILQ_EMPTY(&g_lun.inflight));
}

static void
short_read_fails(void)
{
	struct iscsi_io *ctx;

	reset();
	ctx = submit(VT_BDEV_IO_TYPE_READ, 0, 8);
	ctx->task->residual_status = SCSI_RESIDUAL_UNDERFLOW;
	ctx->task->residual = 512;
	answer(ctx, SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(g_status, VT_BDEV_IO_STATUS_FAILED);
	CU_ASSERT_EQUAL(g_errno, -EIO);
}

static void
write_carries_fua_and_sense_fails_it(void)
{
	struct iscsi_io *ctx;

	reset();
	g_io.flags = VT_BDEV_IO_FLAG_FUA;
	ctx = submit(VT_BDEV_IO_TYPE_WRITE, 7, 2);
	CU_ASSERT_EQUAL(g_last.cmd, CMD_WRITE16);
	CU_ASSERT_EQUAL(g_last.fua, 1);
	CU_ASSERT_PTR_NULL(g_last.data);
	CU_ASSERT_PTR_EQUAL(g_last.iov, (struct scsi_iovec *)g_iov);
	ctx->task->sense.key = SCSI_SENSE_DATA_PROTECTION;
	ctx->task->sense.ascq = 0x2700;
	answer(ctx, SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(g_errno, -EROFS);
	g_io.flags = 0;
	ctx = submit(VT_BDEV_IO_TYPE_WRITE, 7, 2);
	CU_ASSERT_EQUAL(g_last.fua, 0);
	answer(ctx, SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(g_tasks_freed, 2);
}

static void
flush_is_synchronize_cache16_of_everything(void)
{
	struct iscsi_io *ctx;

	reset();
	ctx = submit(VT_BDEV_IO_TYPE_FLUSH, 10, 20);
	CU_ASSERT_EQUAL(g_last.cmd, CMD_SYNC16);
	CU_ASSERT_EQUAL(g_last.lba, 0);
	CU_ASSERT_EQUAL(g_last.len, 0);
	answer(ctx, SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(g_status, VT_BDEV_IO_STATUS_SUCCESS);
}

static void
unmap_is_split_by_block_limits(void)
{
	struct iscsi_io *ctx;
	const uint64_t want_lba[] = { 1000, 1000 + 32768, 1000 + 65536, 1000 + 98304 };
	const uint32_t want_len[] = { 32768, 32768, 32768, 100000 - 98304 };

	reset();
	g_lun.max_unmap_lba = 32768;
	ctx = submit(VT_BDEV_IO_TYPE_UNMAP, 1000, 100000);
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(g_last.cmd, CMD_UNMAP);
		CU_ASSERT_EQUAL(g_last.lba, want_lba[i]);
		CU_ASSERT_EQUAL(g_last.len, want_len[i]);
		CU_ASSERT_EQUAL(g_last.unmap_descs, 1);
		CU_ASSERT_EQUAL(g_completed, 0);
		answer(ctx, SCSI_STATUS_GOOD);
	}
	CU_ASSERT_EQUAL(g_last.calls, 4);
	CU_ASSERT_EQUAL(g_completed, 1);
	CU_ASSERT_EQUAL(g_status, VT_BDEV_IO_STATUS_SUCCESS);
	/* A chunk that fails ends the I/O: no further command. */
	reset();
	g_lun.max_unmap_lba = 10;
	ctx = submit(VT_BDEV_IO_TYPE_UNMAP, 0, 30);
	answer(ctx, SCSI_STATUS_GOOD);
	ctx->task->sense.key = SCSI_SENSE_ILLEGAL_REQUEST;
	ctx->task->sense.ascq = 0x2000;
	answer(ctx, SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(g_last.calls, 2);
	CU_ASSERT_EQUAL(g_completed, 1);
	CU_ASSERT_EQUAL(g_errno, -ENOTSUP);
}

static void
write_zeroes_is_write_same16_of_a_zero_block(void)
{
	struct iscsi_io *ctx;

	reset();
	g_lun.max_ws_len = 0; /* no limit stated: the default chunk */
	ctx = submit(VT_BDEV_IO_TYPE_WRITE_ZEROES, 5, BDEV_ISCSI_DEFAULT_MAX_RANGE + 1);
	CU_ASSERT_EQUAL(g_last.cmd, CMD_WS16);
	CU_ASSERT_EQUAL(g_last.lba, 5);
	CU_ASSERT_EQUAL(g_last.len, BDEV_ISCSI_DEFAULT_MAX_RANGE);
	CU_ASSERT_PTR_EQUAL(g_last.data, g_zero);
	CU_ASSERT_EQUAL(g_last.blocksize, 512);
	answer(ctx, SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(g_last.lba, 5 + BDEV_ISCSI_DEFAULT_MAX_RANGE);
	CU_ASSERT_EQUAL(g_last.len, 1);
	answer(ctx, SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(g_completed, 1);
	CU_ASSERT_EQUAL(g_status, VT_BDEV_IO_STATUS_SUCCESS);
}

static void
command_libiscsi_cannot_make_fails_with_eio(void)
{
	reset();
	g_last.fail = true;
	submit(VT_BDEV_IO_TYPE_READ, 0, 1);
	CU_ASSERT_EQUAL(g_completed, 1);
	CU_ASSERT_EQUAL(g_errno, -EIO);
	CU_ASSERT(TAILQ_EMPTY(&g_lun.inflight));
}

static void
io_without_session_waits_for_the_login(void)
{
	struct iscsi_io *ctx;

	reset();
	g_lun.state = ISCSI_LUN_RECONNECTING;
	g_lun.ctx = NULL;
	g_lun.timeout_ticks = 500;
	ctx = submit(VT_BDEV_IO_TYPE_READ, 0, 1);
	CU_ASSERT_EQUAL(g_last.calls, 0);
	CU_ASSERT_PTR_EQUAL(TAILQ_FIRST(&g_lun.waiting), ctx);
	CU_ASSERT_EQUAL(ctx->deadline, g_now + 500);
	/* The session back: it is sent. */
	g_lun.state = ISCSI_LUN_ONLINE;
	g_lun.ctx = (struct iscsi_context *)0x1;
	TAILQ_REMOVE(&g_lun.waiting, ctx, link);
	ctx->queued = false;
	iscsi_io_start(ctx);
	CU_ASSERT_EQUAL(g_last.calls, 1);
	CU_ASSERT_PTR_EQUAL(TAILQ_FIRST(&g_lun.inflight), ctx);
	answer(ctx, SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(g_completed, 1);
}

static void
cancelled_after_deadline_times_out_before_it_is_resent(void)
{
	struct iscsi_io *ctx;

	reset();
	g_lun.timeout_ticks = 500;
	g_lun.max_unmap_lba = 8;
	ctx = submit(VT_BDEV_IO_TYPE_UNMAP, 0, 16);
	answer(ctx, SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(g_last.lba, 8);
	/* A session reset cancels it before its deadline: the chunk goes back to wait for the
	 * next login. */
	g_lun.state = ISCSI_LUN_RECONNECTING;
	g_lun.ctx = NULL;
	answer(ctx, SCSI_STATUS_CANCELLED);
	CU_ASSERT_EQUAL(g_completed, 0);
	CU_ASSERT_PTR_EQUAL(TAILQ_FIRST(&g_lun.waiting), ctx);
	CU_ASSERT_EQUAL(ctx->next_lba, 8);
	CU_ASSERT_EQUAL(ctx->left, 8);
	/* Logged in again: the same chunk is sent. */
	g_lun.state = ISCSI_LUN_ONLINE;
	g_lun.ctx = (struct iscsi_context *)0x1;
	TAILQ_REMOVE(&g_lun.waiting, ctx, link);
	ctx->queued = false;
	iscsi_io_start(ctx);
	CU_ASSERT_EQUAL(g_last.lba, 8);
	CU_ASSERT_EQUAL(g_last.len, 8);
	/* Cancelled past its deadline: it fails with ETIMEDOUT. */
	g_now += 600;
	answer(ctx, SCSI_STATUS_CANCELLED);
	CU_ASSERT_EQUAL(g_completed, 1);
	CU_ASSERT_EQUAL(g_errno, -ETIMEDOUT);
	CU_ASSERT(TAILQ_EMPTY(&g_lun.inflight));
	CU_ASSERT(TAILQ_EMPTY(&g_lun.waiting));
}

static void
io_of_another_reactor_travels_both_ways(void)
{
	struct iscsi_io *ctx;

	reset();
	g_current = 1;
	ctx = submit(VT_BDEV_IO_TYPE_READ, 0, 1);
	CU_ASSERT_EQUAL(g_msgs_sent, 1);
	CU_ASSERT_EQUAL(g_msg_target, 0);
	CU_ASSERT_EQUAL(ctx->reactor, 1);
	/* On reactor 0 the command is sent; its completion goes back to reactor 1. */
	g_current = 0;
	iscsi_io_start(ctx);
	answer(ctx, SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(g_msgs_sent, 2);
	CU_ASSERT_EQUAL(g_msg_target, 1);
	CU_ASSERT_EQUAL(g_completed, 0);
}

static void
io_types_follow_what_the_target_offers(void)
{
	reset();
	CU_ASSERT(iscsi_io_type_supported(&g_lun, VT_BDEV_IO_TYPE_READ));
	CU_ASSERT(iscsi_io_type_supported(&g_lun, VT_BDEV_IO_TYPE_FLUSH));
	CU_ASSERT(iscsi_io_type_supported(&g_lun, VT_BDEV_IO_TYPE_UNMAP));
	CU_ASSERT(!iscsi_io_type_supported(&g_lun, VT_BDEV_IO_TYPE_RESET));
	g_lun.unmap_supported = false;
	g_lun.write_same_supported = false;
	CU_ASSERT(!iscsi_io_type_supported(&g_lun, VT_BDEV_IO_TYPE_UNMAP));
	CU_ASSERT(!iscsi_io_type_supported(&g_lun, VT_BDEV_IO_TYPE_WRITE_ZEROES));
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	s = CU_add_suite("bdev_iscsi_io", NULL, NULL);
	CU_add_test(s, "status_and_sense_become_errnos", status_and_sense_become_errnos);
	CU_add_test(s, "read_is_read16_on_the_io_iovecs", read_is_read16_on_the_io_iovecs);
	CU_add_test(s, "short_read_fails", short_read_fails);
	CU_add_test(s, "write_carries_fua_and_sense_fails_it",
		    write_carries_fua_and_sense_fails_it);
	CU_add_test(s, "flush_is_synchronize_cache16_of_everything",
		    flush_is_synchronize_cache16_of_everything);
	CU_add_test(s, "unmap_is_split_by_block_limits", unmap_is_split_by_block_limits);
	CU_add_test(s, "write_zeroes_is_write_same16_of_a_zero_block",
		    write_zeroes_is_write_same16_of_a_zero_block);
	CU_add_test(s, "command_libiscsi_cannot_make_fails_with_eio",
		    command_libiscsi_cannot_make_fails_with_eio);
	CU_add_test(s, "io_without_session_waits_for_the_login",
		    io_without_session_waits_for_the_login);
	CU_add_test(s, "cancelled_after_deadline_times_out_before_it_is_resent",
		    cancelled_after_deadline_times_out_before_it_is_resent);
	CU_add_test(s, "io_of_another_reactor_travels_both_ways",
		    io_of_another_reactor_travels_both_ways);
	CU_add_test(s, "io_types_follow_what_the_target_offers",
		    io_types_follow_what_the_target_offers);
	return ut_run_tests();
}
