/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iSCSI bdev request mapping: READ and WRITE become READ(16) / WRITE(16) on the I/O's own iovecs
 * (no bounce buffer), FLUSH SYNCHRONIZE CACHE(16), UNMAP one-descriptor UNMAPs and WRITE_ZEROES
 * WRITE SAME(16) of a zeroed block, both sent one after the other in chunks no larger than the
 * target's Block Limits allow. A command's SCSI status and sense become the I/O's errno.
 * Everything here runs on reactor 0 but the submit and the final completion, which run on the
 * submitting reactor.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/event.h"
#include "vt/log.h"

#include "lib/bdev/iscsi/bdev_iscsi.h"

VT_LOG_DECLARE_COMPONENT(bdev_iscsi);

/* libiscsi documents struct scsi_iovec as laid out like struct iovec: the I/O's iovecs are
 * handed to it as they are. */
_Static_assert(sizeof(struct scsi_iovec) == sizeof(struct iovec), "scsi_iovec layout");
_Static_assert(offsetof(struct scsi_iovec, iov_base) == offsetof(struct iovec, iov_base),
	       "scsi_iovec layout");
_Static_assert(offsetof(struct scsi_iovec, iov_len) == offsetof(struct iovec, iov_len),
	       "scsi_iovec layout");
_Static_assert(sizeof(struct iscsi_io) <= VT_BDEV_IO_DRIVER_CTX, "iscsi_io fits driver_ctx");

#define ASC_INVALID_OPCODE 0x2000
#define ASC_LBA_OUT_OF_RANGE 0x2100
#define ASC_WRITE_PROTECTED 0x2700
#define ASC_SPACE_ALLOC_FAILED 0x2707
#define STATUS_TASK_SET_FULL 0x28

static int
sense_to_errno(const struct scsi_sense *sense)
{
	switch (sense->key) {
	case SCSI_SENSE_ILLEGAL_REQUEST:
		if (sense->ascq == ASC_INVALID_OPCODE) {
			return -ENOTSUP;
		}
		if (sense->ascq == ASC_LBA_OUT_OF_RANGE) {
			return -ERANGE;
		}
		return -EINVAL;
	case SCSI_SENSE_DATA_PROTECTION:
		return sense->ascq == ASC_SPACE_ALLOC_FAILED ? -ENOSPC : -EROFS;
	case SCSI_SENSE_NOT_READY:
	case SCSI_SENSE_UNIT_ATTENTION:
		return -EAGAIN;
	case SCSI_SENSE_COMMAND_ABORTED:
		return -ECANCELED;
	case SCSI_SENSE_MISCOMPARE:
		return -EILSEQ;
	default:
		return -EIO;
	}
}

int
iscsi_status_to_errno(int status, const struct scsi_task *task)
{
	switch (status) {
	case SCSI_STATUS_GOOD:
		return 0;
	case SCSI_STATUS_CHECK_CONDITION:
		return task != NULL ? sense_to_errno(&task->sense) : -EIO;
	case SCSI_STATUS_BUSY:
	case STATUS_TASK_SET_FULL:
		return -EBUSY;
	case SCSI_STATUS_RESERVATION_CONFLICT:
		return -EACCES;
	case SCSI_STATUS_TIMEOUT:
		return -ETIMEDOUT;
	case SCSI_STATUS_CANCELLED:
		return -ECANCELED;
	default:
		return -EIO;
	}
}

void
iscsi_io_complete_msg(void *arg)
{
	struct iscsi_io *ctx = arg;

	if (ctx->err == 0) {
		vt_bdev_io_complete(ctx->io, VT_BDEV_IO_STATUS_SUCCESS);
	} else {
		vt_bdev_io_complete_errno(ctx->io, ctx->err);
	}
}

void
iscsi_io_finish(struct iscsi_io *ctx, int err)
{
	ctx->err = err;
	if (ctx->reactor == vt_reactor_current()) {
		iscsi_io_complete_msg(ctx);
		return;
	}
	if (vt_send_msg(ctx->reactor, iscsi_io_complete_msg, ctx) != 0) {
		/* The submitting reactor's ring is full: the LUN's tick sends it again (the I/O
		 * cannot complete anywhere else). */
		TAILQ_INSERT_TAIL(&ctx->lun->completing, ctx, link);
	}
}

static void
io_unlink(struct iscsi_io *ctx)
{
	if (!ctx->queued) {
		return;
	}
	if (ctx->on_waiting) {
		TAILQ_REMOVE(&ctx->lun->waiting, ctx, link);
	} else {
		TAILQ_REMOVE(&ctx->lun->inflight, ctx, link);
	}
	ctx->queued = false;
	ctx->on_waiting = false;
}

static uint32_t
chunk_limit(const struct iscsi_io *ctx)
{
	const struct iscsi_lun *lun = ctx->lun;
	uint32_t max =
		ctx->io->type == VT_BDEV_IO_TYPE_UNMAP ? lun->max_unmap_lba : lun->max_ws_len;

	return max != 0 ? max : BDEV_ISCSI_DEFAULT_MAX_RANGE;
}

static void
command_done(struct iscsi_context *iscsi, int status, void *command_data, void *private_data)
{
	struct iscsi_io *ctx = private_data;
	struct scsi_task *task = command_data != NULL ? command_data : ctx->task;
	int err = iscsi_status_to_errno(status, task);

	if (err == 0 && task != NULL && ctx->io->type == VT_BDEV_IO_TYPE_READ &&
	    task->residual_status != SCSI_RESIDUAL_NO_RESIDUAL && task->residual != 0) {
		/* A short read is an error: the caller's buffer is not what it asked for. (UNMAP's
		 * parameter list may be shorter than what libiscsi announced.) */
		err = -EIO;
	}
	if (ctx->task != NULL) {
		scsi_free_scsi_task(ctx->task);
		ctx->task = NULL;
	}
	io_unlink(ctx);
	if (err == 0 && ctx->left > 0) {
		iscsi_io_start(ctx);
		return;
	}
	if (err == -ECANCELED) {
		if (ctx->deadline != 0 && vt_get_ticks() >= ctx->deadline) {
			err = -ETIMEDOUT;
		} else if (!ctx->lun->removing) {
			/* The session was reset under it: send it again after the next login. */
			ctx->next_lba -= ctx->chunk;
			ctx->left += ctx->chunk;
			iscsi_io_start(ctx);
			return;
		}
	}
	if (err != 0) {
		VT_DEBUGLOG(bdev_iscsi,
			    "iscsi bdev '%s': %s of %" PRIu64 "+%" PRIu64 " failed: %s (status "
			    "0x%x, sense key %d, asc/ascq 0x%04x): %s\n",
			    ctx->lun->bdev.name, vt_bdev_io_type_name(ctx->io->type),
			    ctx->io->offset_blocks, ctx->io->num_blocks, vt_strerror(-err), status,
			    task != NULL ? (int)task->sense.key : -1,
			    task != NULL ? (unsigned)task->sense.ascq : 0u, iscsi_get_error(iscsi));
	}
	iscsi_io_finish(ctx, err);
}

/* The next command of ctx's I/O; NULL when libiscsi could not make one. */
static struct scsi_task *
io_make_task(struct iscsi_io *ctx)
{
	struct iscsi_lun *lun = ctx->lun;
	struct iscsi_context *is = lun->ctx;
	struct vt_bdev_io *io = ctx->io;
	uint32_t bs = lun->bdev.blocklen;
	uint32_t len = (uint32_t)(io->num_blocks * bs);
	int fua = (io->flags & VT_BDEV_IO_FLAG_FUA) != 0;
	struct unmap_list range;
	uint32_t n;

	switch (io->type) {
	case VT_BDEV_IO_TYPE_READ:
		return iscsi_read16_iov_task(is, lun->lun_id, io->offset_blocks, len, bs, 0, 0, 0,
					     0, 0, command_done, ctx, (struct scsi_iovec *)io->iovs,
					     io->iovcnt);
	case VT_BDEV_IO_TYPE_WRITE:
		return iscsi_write16_iov_task(is, lun->lun_id, io->offset_blocks, NULL, len, bs, 0,
					      0, fua, 0, 0, command_done, ctx,
					      (struct scsi_iovec *)io->iovs, io->iovcnt);
	case VT_BDEV_IO_TYPE_FLUSH:
		return iscsi_synchronizecache16_task(is, lun->lun_id, 0, 0, 0, 0, command_done,
						     ctx);
	case VT_BDEV_IO_TYPE_UNMAP:
		n = ctx->left < chunk_limit(ctx) ? (uint32_t)ctx->left : chunk_limit(ctx);
		range.lba = ctx->next_lba;
		range.num = n;
		ctx->chunk = n;
		ctx->next_lba += n;
		ctx->left -= n;
		/* libiscsi copies the descriptor into the command's parameter list. */
		return iscsi_unmap_task(is, lun->lun_id, 0, 0, &range, 1, command_done, ctx);
	case VT_BDEV_IO_TYPE_WRITE_ZEROES:
		n = ctx->left < chunk_limit(ctx) ? (uint32_t)ctx->left : chunk_limit(ctx);
		range.lba = ctx->next_lba;
		ctx->chunk = n;
		ctx->next_lba += n;
		ctx->left -= n;
		return iscsi_writesame16_task(is, lun->lun_id, range.lba, lun->zero_block, bs, n, 0,
					      0, 0, 0, command_done, ctx);
	default:
		return NULL;
	}
}

void
iscsi_io_start(struct iscsi_io *ctx)
{
	struct iscsi_lun *lun = ctx->lun;

	if (lun->removing) {
		iscsi_io_finish(ctx, -ENODEV);
		return;
	}
	if (lun->ctx == NULL || lun->state != ISCSI_LUN_ONLINE) {
		/* No session: wait for the login (the timeout still applies). */
		TAILQ_INSERT_TAIL(&lun->waiting, ctx, link);
		ctx->queued = true;
		ctx->on_waiting = true;
		return;
	}
	ctx->task = io_make_task(ctx);
	if (ctx->task == NULL) {
		VT_ERRLOG("iscsi bdev '%s': cannot queue a %s command: %s\n", lun->bdev.name,
			  vt_bdev_io_type_name(ctx->io->type), iscsi_get_error(lun->ctx));
		iscsi_io_finish(ctx, -EIO);
		return;
	}
	TAILQ_INSERT_TAIL(&lun->inflight, ctx, link);
	ctx->queued = true;
	iscsi_lun_kick(lun);
}

static void
io_start_msg(void *arg)
{
	iscsi_io_start(arg);
}

void
iscsi_submit(void *module_ch, struct vt_bdev_io *io)
{
	struct iscsi_lun *lun = module_ch;
	struct iscsi_io *ctx = (struct iscsi_io *)io->driver_ctx;
	uint64_t timeout = __atomic_load_n(&lun->timeout_ticks, __ATOMIC_RELAXED);

	memset(ctx, 0, sizeof(*ctx));
	ctx->io = io;
	ctx->lun = lun;
	ctx->reactor = vt_reactor_current();
	ctx->deadline = timeout != 0 ? vt_get_ticks() + timeout : 0;
	ctx->next_lba = io->offset_blocks;
	if (io->type == VT_BDEV_IO_TYPE_UNMAP || io->type == VT_BDEV_IO_TYPE_WRITE_ZEROES) {
		ctx->left = io->num_blocks;
	}
	if (ctx->reactor == 0) {
		iscsi_io_start(ctx);
		return;
	}
	if (vt_send_msg(0, io_start_msg, ctx) != 0) {
		vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_NOMEM);
	}
}

bool
iscsi_io_type_supported(void *ctx, enum vt_bdev_io_type type)
{
	struct iscsi_lun *lun = ctx;

	switch (type) {
	case VT_BDEV_IO_TYPE_READ:
	case VT_BDEV_IO_TYPE_WRITE:
	case VT_BDEV_IO_TYPE_FLUSH:
		return true;
	case VT_BDEV_IO_TYPE_UNMAP:
		return lun->unmap_supported;
	case VT_BDEV_IO_TYPE_WRITE_ZEROES:
		return lun->write_same_supported;
	default:
		return false;
	}
}
