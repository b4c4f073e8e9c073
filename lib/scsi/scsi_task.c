/* SPDX-License-Identifier: BSD-3-Clause */
/* Task results: status and sense, data-in copies, bdev error mapping and completion. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vt/event.h"
#include "vt/util.h"

#include "scsi_internal.h"

static bool
task_desc_sense(const struct vt_scsi_task *task)
{
	return task->lun != NULL && task->lun->d_sense;
}

void
scsi_task_check_info(struct vt_scsi_task *task, uint8_t key, uint16_t asc, uint64_t info)
{
	task->status = VT_SCSI_STATUS_CHECK_CONDITION;
	task->sense_len =
		scsi_sense_build(task->sense, task_desc_sense(task), key, asc, true, info);
}

void
scsi_task_check(struct vt_scsi_task *task, uint8_t key, uint16_t asc)
{
	task->status = VT_SCSI_STATUS_CHECK_CONDITION;
	task->sense_len = scsi_sense_build(task->sense, task_desc_sense(task), key, asc, false, 0);
}

void
vt_scsi_task_set_check(struct vt_scsi_task *task, uint8_t key, uint16_t asc_ascq)
{
	task->status = VT_SCSI_STATUS_CHECK_CONDITION;
	task->sense_len = scsi_sense_build(task->sense, false, key, asc_ascq, false, 0);
}

/* For parsers: INVALID FIELD IN CDB, and the value a parser returns with it. */
int
scsi_task_invalid_cdb(struct vt_scsi_task *task)
{
	scsi_task_check(task, VT_SCSI_SENSE_ILLEGAL_REQUEST, VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
	return -EINVAL;
}

static int
task_invalid_field(struct vt_scsi_task *task, bool cdb, uint16_t byte, int bit)
{
	uint8_t sks[3];

	scsi_sense_field_pointer(sks, cdb, byte, bit);
	task->status = VT_SCSI_STATUS_CHECK_CONDITION;
	task->sense_len = scsi_sense_build_sks(
		task->sense, task_desc_sense(task), VT_SCSI_SENSE_ILLEGAL_REQUEST,
		cdb ? VT_SCSI_ASC_INVALID_FIELD_IN_CDB : VT_SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST,
		false, 0, sks);
	return -EINVAL;
}

/* Initiators (and libiscsi's test suite) tell an unsupported service action from a bad field
 * of a supported one by the field pointer: every INVALID FIELD names its byte. */
int
scsi_task_invalid_cdb_at(struct vt_scsi_task *task, uint16_t byte, int bit)
{
	return task_invalid_field(task, true, byte, bit);
}

int
scsi_task_invalid_param_at(struct vt_scsi_task *task, uint16_t byte, int bit)
{
	return task_invalid_field(task, false, byte, bit);
}

/* Inlined into scsi_task_rw_done, READ and WRITE's completion; task_finish for deferrals. */
static inline void
task_finish_now(struct vt_scsi_task *task)
{
	struct vt_scsi_lun *lun = task->lun;
	struct vt_scsi_port *port = task->port;

	/* Only multi-step commands have these: READ and WRITE skip the calls. */
	if (vt_unlikely(task->buf != NULL)) {
		free(task->buf);
		task->buf = NULL;
	}
	if (vt_unlikely(task->split_iovs != NULL)) {
		free(task->split_iovs);
		task->split_iovs = NULL;
	}
	if (task->aborted) {
		task->status = VT_SCSI_STATUS_TASK_ABORTED;
		task->sense_len = 0;
		task->data_transferred = 0;
	}
	if (port != NULL) {
		port->tasks--;
	}
	if (lun != NULL) {
		TAILQ_REMOVE(&lun->tasks, task, link);
		lun->task_count--;
	}
	if (vt_unlikely(task->tmf != NULL)) {
		scsi_tmf_task_done(task);
	}
	task->cb(task);
	if (lun != NULL && vt_unlikely(lun->removing)) {
		scsi_lun_task_done(lun);
	}
}

static void
task_finish(void *arg)
{
	task_finish_now(arg);
}

static void
task_results_final(struct vt_scsi_task *task)
{
	if (task->status != VT_SCSI_STATUS_GOOD && task->status != VT_SCSI_STATUS_CONDITION_MET) {
		task->data_transferred = 0;
	}
}

/* Completes task: its callback runs on the next iteration of this reactor. */
void
scsi_task_complete(struct vt_scsi_task *task)
{
	task_results_final(task);
	vt_defer(&task->defer, task_finish, task);
}

/*
 * Completes task now, from a bdev completion callback: the bdev layer already runs those from a
 * deferred call, never inside the submit call, so the transport's callback cannot run inside
 * vt_scsi_dev_queue_task; a second deferral would only cost a reactor iteration. The status is
 * GOOD here (task_results_final has nothing to do).
 */
void
scsi_task_rw_done(struct vt_bdev_io *io, bool success, void *arg)
{
	struct vt_scsi_task *task = arg;

	if (vt_unlikely(!success)) {
		scsi_task_io_failed(task, io);
		return;
	}
	task->data_transferred = task->xfer_needed;
	task->residual = (int64_t)task->transfer_len - task->xfer_needed;
	task_finish_now(task);
}

void
scsi_task_complete_check(struct vt_scsi_task *task, uint8_t key, uint16_t asc)
{
	scsi_task_check(task, key, asc);
	scsi_task_complete(task);
}

void
scsi_task_complete_data(struct vt_scsi_task *task, const void *data, uint32_t len)
{
	uint32_t n = 0;

	if (task->dir == VT_SCSI_DIR_FROM_DEV) {
		n = (uint32_t)vt_iov_from_buf(task->iovs, task->iovcnt, data,
					      VT_MIN(len, task->transfer_len));
	}
	task->data_transferred = n;
	task->residual = (int64_t)task->transfer_len - len;
	task->status = VT_SCSI_STATUS_GOOD;
	scsi_task_complete(task);
}

uint32_t
scsi_task_get_data_out(struct vt_scsi_task *task, void *buf, uint32_t len)
{
	uint32_t n;

	if (task->dir != VT_SCSI_DIR_TO_DEV) {
		return 0;
	}
	n = (uint32_t)vt_iov_to_buf(task->iovs, task->iovcnt, buf, VT_MIN(len, task->transfer_len));
	task->data_transferred = n;
	/* The command wants len bytes: the rest of a larger buffer is an underflow. */
	task->residual = (int64_t)task->transfer_len - len;
	return n;
}

/* Maps a failed bdev I/O to sense data and completes the task. */
void
scsi_task_io_failed(struct vt_scsi_task *task, struct vt_bdev_io *io)
{
	enum vt_bdev_io_status st = vt_bdev_io_get_status(io);
	enum vt_bdev_io_type type = vt_bdev_io_get_type(io);

	switch (st) {
	case VT_BDEV_IO_STATUS_MISCOMPARE:
		scsi_task_check_info(task, VT_SCSI_SENSE_MISCOMPARE,
				     VT_SCSI_ASC_MISCOMPARE_DURING_VERIFY,
				     vt_bdev_io_get_miscompare_offset(io));
		break;
	case VT_BDEV_IO_STATUS_ABORTED:
		scsi_task_check(task, VT_SCSI_SENSE_ABORTED_COMMAND, VT_SCSI_ASC_NONE);
		break;
	default:
		if (type == VT_BDEV_IO_TYPE_READ || type == VT_BDEV_IO_TYPE_COMPARE) {
			scsi_task_check(task, VT_SCSI_SENSE_MEDIUM_ERROR,
					VT_SCSI_ASC_UNRECOVERED_READ_ERROR);
		} else if (type == VT_BDEV_IO_TYPE_FLUSH) {
			scsi_task_check(task, VT_SCSI_SENSE_HARDWARE_ERROR,
					VT_SCSI_ASC_INTERNAL_TARGET_FAILURE);
		} else {
			scsi_task_check(task, VT_SCSI_SENSE_MEDIUM_ERROR, VT_SCSI_ASC_WRITE_ERROR);
		}
		break;
	}
	scsi_task_complete(task);
}

static void
task_retry(void *arg)
{
	struct vt_scsi_task *task = arg;

	task->resubmit(task);
}

void
scsi_task_submit_error(struct vt_scsi_task *task, int rc)
{
	if (rc == -ENOMEM && task->resubmit != NULL) {
		task->io_wait.bdev = task->lun->bdev;
		task->io_wait.cb_fn = task_retry;
		task->io_wait.cb_arg = task;
		if (vt_bdev_queue_io_wait(task->lun->bdev, scsi_task_channel(task),
					  &task->io_wait) == 0) {
			return;
		}
	}
	if (rc == -ENODEV) {
		scsi_task_complete_check(task, VT_SCSI_SENSE_ILLEGAL_REQUEST,
					 VT_SCSI_ASC_LUN_NOT_SUPPORTED);
	} else if (rc == -ERANGE) {
		/* The bdev shrank since the parser's check, or the one-step READ / WRITE, which
		 * leaves the range to the bdev layer. */
		scsi_task_complete_check(task, VT_SCSI_SENSE_ILLEGAL_REQUEST,
					 VT_SCSI_ASC_LBA_OUT_OF_RANGE);
	} else if (rc == -EBADF) {
		scsi_task_complete_check(task, VT_SCSI_SENSE_DATA_PROTECT,
					 VT_SCSI_ASC_WRITE_PROTECTED);
	} else {
		VT_DEBUGLOG(scsi, "bdev submit failed on lun %u: %s", task->lun->id,
			    vt_strerror(-rc));
		scsi_task_complete_check(task, VT_SCSI_SENSE_HARDWARE_ERROR,
					 VT_SCSI_ASC_INTERNAL_TARGET_FAILURE);
	}
}

/* The port's channel to the task's LUN, taken on first use; NULL on ENOMEM. */
struct vt_bdev_channel *
scsi_task_channel(struct vt_scsi_task *task)
{
	struct vt_scsi_port *port = task->port;
	uint32_t id = task->lun->id;

	if (port->ch[id] == NULL) {
		port->ch[id] = vt_bdev_get_io_channel(task->lun->desc);
	}
	return port->ch[id];
}
