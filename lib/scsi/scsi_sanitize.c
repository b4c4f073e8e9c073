/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SANITIZE (SBC-3 4.11, 5.30): OVERWRITE writes the initialization pattern over every block,
 * BLOCK ERASE and CRYPTOGRAPHIC ERASE deallocate every block (UNMAP, or WRITE ZEROES when the bdev
 * cannot unmap; a bdev has no key to throw away, so a cryptographic erase is an erase), EXIT
 * FAILURE MODE leaves the state a failed sanitize left. The operation belongs to the logical
 * unit, not to the command: it runs in chunks on the reactor of the path (LUN) that started it,
 * survives task management (an aborted command completes TASK ABORTED, the operation goes on),
 * and while it runs every command but INQUIRY, REPORT LUNS and REQUEST SENSE gets NOT READY,
 * SANITIZE IN PROGRESS on every path (every I_T nexus); REQUEST SENSE reports the progress.
 *
 * Threads: the state is the logical unit's (struct scsi_lu): sanitize_state changes under
 * lu->lock and every path reads it without the lock (the dispatcher's checks, the fast path's
 * scsi_lun_quiet); the operation publishes its progress in lu->sanitize_progress. Starting a
 * sanitize takes the state under the lock, so two paths cannot start one each. The operation
 * holds its LUN (task_count): removing that path waits for the end, removing another does not.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vt/event.h"
#include "vt/util.h"

#include "scsi_internal.h"

/* Chunks (tests make them small to watch an operation in progress). */
#ifndef SANITIZE_CHUNK_BYTES
#define SANITIZE_CHUNK_BYTES (1024u * 1024) /* one OVERWRITE write */
#endif
#ifndef SANITIZE_ERASE_BLOCKS
#define SANITIZE_ERASE_BLOCKS (1ull << 20) /* one erase I/O at most, for the progress */
#endif
#define SANITIZE_MAX_PASSES 31

struct scsi_sanitize {
	struct vt_scsi_lun *lun;
	struct vt_bdev_channel *ch;
	struct vt_scsi_task *task; /* IMMED 0: the command waiting for the end, else NULL */
	uint8_t sa;
	bool ause;
	bool invert; /* OVERWRITE: invert the pattern between passes */
	uint8_t passes;
	uint8_t pass;    /* passes done */
	uint64_t blocks; /* of the medium */
	uint64_t lba;    /* next block of this pass */
	uint64_t chunk;  /* blocks of the I/O in flight */
	uint8_t *buf;    /* OVERWRITE: buf_blocks blocks of the pattern */
	uint64_t buf_blocks;
	struct iovec iov;
	struct vt_bdev_io_wait_entry io_wait;
};

static void sanitize_step(struct scsi_sanitize *s);

/* ---- parsing -------------------------------------------------------------------------------- */

int
scsi_parse_sanitize(struct vt_scsi_task *task)
{
	struct vt_scsi_lun *lun = task->lun;
	uint8_t sa = task->cdb[1] & 0x1f;
	bool ause = task->cdb[1] & 0x20;
	uint32_t len = vt_scsi_get16(&task->cdb[7]);
	uint32_t bs = vt_bdev_get_block_size(lun->bdev);
	bool failed_no_ause;

	if (sa == VT_SCSI_SANITIZE_OVERWRITE ? (len <= 4 || len > bs + 4) : len != 0) {
		return scsi_task_invalid_cdb_at(task, 7, -1);
	}
	pthread_mutex_lock(&lun->lu->lock);
	failed_no_ause = (atomic_load(&lun->lu->sanitize_state) & SCSI_LU_SANITIZE_FAILED) &&
			 !lun->lu->sanitize_ause;
	pthread_mutex_unlock(&lun->lu->lock);
	/* After a failed sanitize requested with AUSE 0 only a new sanitize that succeeds, also
	 * with AUSE 0, leaves the failure mode (SBC-3 4.11.3). */
	if (failed_no_ause && (ause || sa == VT_SCSI_SANITIZE_EXIT_FAILURE_MODE)) {
		return scsi_task_invalid_cdb_at(task, 1,
						sa == VT_SCSI_SANITIZE_EXIT_FAILURE_MODE ? 4 : 5);
	}
	task->xfer_needed = len;
	return 0;
}

/* Fills s->buf with the pattern of the OVERWRITE parameter list p (len bytes); 0, or -EINVAL
 * with CHECK CONDITION set. */
static int
sanitize_overwrite_params(struct vt_scsi_task *task, struct scsi_sanitize *s, const uint8_t *p,
			  uint32_t len)
{
	uint32_t bs = vt_bdev_get_block_size(task->lun->bdev);
	uint32_t ip_len = vt_scsi_get16(&p[2]);
	uint64_t n = s->buf_blocks * bs;

	if ((p[0] & 0x1f) == 0) {
		return scsi_task_invalid_param_at(task, 0, 4); /* OVERWRITE COUNT */
	}
	if (p[0] & 0x60) {
		return scsi_task_invalid_param_at(task, 0, 6); /* TEST: only 00b */
	}
	if (p[1] != 0) {
		return scsi_task_invalid_param_at(task, 1, 7);
	}
	if (ip_len == 0 || ip_len > bs || ip_len > len - 4) {
		return scsi_task_invalid_param_at(task, 2, -1);
	}
	s->invert = p[0] & 0x80;
	s->passes = p[0] & 0x1f;
	/* Every block starts with the pattern, repeated to its end (SBC-3 5.30.2.2). */
	for (uint32_t i = 0; i < bs; i++) {
		s->buf[i] = p[4 + i % ip_len];
	}
	for (uint64_t off = bs; off < n; off += bs) {
		memcpy(&s->buf[off], s->buf, bs);
	}
	return 0;
}

static void
sanitize_invert(struct scsi_sanitize *s)
{
	uint64_t n = s->buf_blocks * vt_bdev_get_block_size(s->lun->bdev);

	for (uint64_t i = 0; i < n; i++) {
		s->buf[i] = (uint8_t)~s->buf[i];
	}
}

/* ---- the operation -------------------------------------------------------------------------- */

static void
sanitize_free(struct scsi_sanitize *s)
{
	if (s->ch != NULL) {
		vt_bdev_put_io_channel(s->ch);
	}
	free(s->buf);
	free(s);
}

/* The end of the operation: the logical unit leaves the sanitize state (or enters the failure
 * mode), on every path. */
static void
sanitize_end(struct scsi_sanitize *s, bool ok)
{
	struct vt_scsi_lun *lun = s->lun;
	struct scsi_lu *lu = lun->lu;
	struct vt_scsi_task *task = s->task;

	pthread_mutex_lock(&lu->lock);
	lu->sanitize_ause = s->ause;
	atomic_store_explicit(&lu->sanitize_state, ok ? 0 : SCSI_LU_SANITIZE_FAILED,
			      memory_order_release);
	pthread_mutex_unlock(&lu->lock);
	if (!ok) {
		VT_ERRLOG("sanitize of lun %u of scsi device '%s' failed", lun->id, lun->dev->name);
	}
	if (task != NULL) {
		if (!ok) {
			scsi_task_check(task, VT_SCSI_SENSE_MEDIUM_ERROR,
					VT_SCSI_ASC_SANITIZE_FAILED);
		}
		scsi_task_complete(task);
	}
	sanitize_free(s);
	/* The operation held the LUN (its removal waits for it). */
	lun->task_count--;
	scsi_lun_task_done(lun);
}

static void
sanitize_io_done(struct vt_bdev_io *io, bool success, void *arg)
{
	struct scsi_sanitize *s = arg;

	(void)io;
	if (!success) {
		sanitize_end(s, false);
		return;
	}
	s->lba += s->chunk;
	sanitize_step(s);
}

static void
sanitize_retry(void *arg)
{
	sanitize_step(arg);
}

static int
sanitize_submit(struct scsi_sanitize *s)
{
	struct vt_scsi_lun *lun = s->lun;
	uint64_t left = s->blocks - s->lba;

	if (s->sa == VT_SCSI_SANITIZE_OVERWRITE) {
		s->chunk = VT_MIN(left, s->buf_blocks);
		s->iov.iov_base = s->buf;
		s->iov.iov_len = s->chunk * vt_bdev_get_block_size(lun->bdev);
		return vt_bdev_writev_blocks(lun->desc, s->ch, &s->iov, 1, s->lba, s->chunk, 0,
					     sanitize_io_done, s);
	}
	if (lun->unmap) {
		uint64_t max = vt_bdev_get_max_unmap_blocks(lun->bdev);

		s->chunk = VT_MIN(left, max != 0 ? VT_MIN(max, SANITIZE_ERASE_BLOCKS)
						 : SANITIZE_ERASE_BLOCKS);
		return vt_bdev_unmap_blocks(lun->desc, s->ch, s->lba, s->chunk, sanitize_io_done,
					    s);
	}
	s->chunk = VT_MIN(left, SANITIZE_ERASE_BLOCKS);
	if (vt_bdev_get_max_write_zeroes_blocks(lun->bdev) != 0) {
		s->chunk = VT_MIN(s->chunk, vt_bdev_get_max_write_zeroes_blocks(lun->bdev));
	}
	return vt_bdev_write_zeroes_blocks(lun->desc, s->ch, s->lba, s->chunk, sanitize_io_done, s);
}

/* PROGRESS INDICATION: the fraction done, of 65536 (SPC-4 4.5.2.4.4). */
static void
sanitize_progress(struct scsi_sanitize *s)
{
	uint64_t total = s->blocks * s->passes;
	uint64_t done = s->blocks * s->pass + s->lba;

	atomic_store_explicit(&s->lun->lu->sanitize_progress,
			      total == 0 ? 0 : (uint32_t)VT_MIN(done * 65536 / total, 0xffffu),
			      memory_order_relaxed);
}

static void
sanitize_step(struct scsi_sanitize *s)
{
	int rc;

	/* An aborted command (ABORT TASK, a reset) completes now; the operation goes on. */
	if (s->task != NULL && s->task->aborted) {
		scsi_task_complete(s->task);
		s->task = NULL;
	}
	if (s->lba == s->blocks) {
		s->pass++;
		if (s->sa != VT_SCSI_SANITIZE_OVERWRITE || s->pass == s->passes) {
			sanitize_end(s, true);
			return;
		}
		s->lba = 0;
		if (s->invert) {
			sanitize_invert(s);
		}
	}
	sanitize_progress(s);
	rc = sanitize_submit(s);
	if (rc == -ENOMEM) {
		s->io_wait.bdev = s->lun->bdev;
		s->io_wait.cb_fn = sanitize_retry;
		s->io_wait.cb_arg = s;
		rc = vt_bdev_queue_io_wait(s->lun->bdev, s->ch, &s->io_wait);
	}
	if (rc != 0) {
		sanitize_end(s, false);
	}
}

static struct scsi_sanitize *
sanitize_alloc(struct vt_scsi_task *task)
{
	struct vt_scsi_lun *lun = task->lun;
	uint32_t bs = vt_bdev_get_block_size(lun->bdev);
	struct scsi_sanitize *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		return NULL;
	}
	s->lun = lun;
	s->sa = task->cdb[1] & 0x1f;
	s->ause = task->cdb[1] & 0x20;
	s->passes = 1;
	s->blocks = vt_bdev_get_num_blocks(lun->bdev);
	s->ch = vt_bdev_get_io_channel(lun->desc);
	if (s->ch == NULL) {
		goto fail;
	}
	if (s->sa == VT_SCSI_SANITIZE_OVERWRITE) {
		s->buf_blocks = VT_MAX(1u, SANITIZE_CHUNK_BYTES / bs);
		s->buf = malloc(s->buf_blocks * bs);
		if (s->buf == NULL) {
			goto fail;
		}
	}
	return s;
fail:
	sanitize_free(s);
	return NULL;
}

/* Takes the logical unit's sanitize state for task: a new operation (start) or EXIT FAILURE
 * MODE. False (CHECK CONDITION set) when another path started one since the dispatcher's check. */
static bool
sanitize_claim(struct vt_scsi_task *task, bool start)
{
	struct scsi_lu *lu = task->lun->lu;
	bool ok;

	pthread_mutex_lock(&lu->lock);
	ok = !(atomic_load(&lu->sanitize_state) & SCSI_LU_SANITIZING);
	if (ok) {
		atomic_store(&lu->sanitize_progress, 0);
		atomic_store_explicit(&lu->sanitize_state, start ? SCSI_LU_SANITIZING : 0,
				      memory_order_release);
	}
	pthread_mutex_unlock(&lu->lock);
	if (!ok) {
		scsi_task_check(task, VT_SCSI_SENSE_NOT_READY, VT_SCSI_ASC_SANITIZE_IN_PROGRESS);
	}
	return ok;
}

void
scsi_exec_sanitize(struct vt_scsi_task *task)
{
	struct vt_scsi_lun *lun = task->lun;
	struct scsi_sanitize *s;
	uint32_t len;

	if ((task->cdb[1] & 0x1f) == VT_SCSI_SANITIZE_EXIT_FAILURE_MODE) {
		sanitize_claim(task, false);
		scsi_task_complete(task);
		return;
	}
	s = sanitize_alloc(task);
	if (s == NULL) {
		scsi_task_complete_check(task, VT_SCSI_SENSE_HARDWARE_ERROR,
					 VT_SCSI_ASC_INTERNAL_TARGET_FAILURE);
		return;
	}
	if (s->sa == VT_SCSI_SANITIZE_OVERWRITE) {
		/* The parameter list is at most a block and 4 bytes (the parser checked). */
		task->buf = malloc(task->xfer_needed);
		if (task->buf == NULL) {
			scsi_task_check(task, VT_SCSI_SENSE_HARDWARE_ERROR,
					VT_SCSI_ASC_INTERNAL_TARGET_FAILURE);
			goto fail;
		}
		len = scsi_task_get_data_out(task, task->buf, task->xfer_needed);
		if (len < task->xfer_needed) {
			scsi_task_check(task, VT_SCSI_SENSE_ILLEGAL_REQUEST,
					VT_SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
			goto fail;
		}
		if (sanitize_overwrite_params(task, s, task->buf, len) != 0) {
			goto fail;
		}
		/* The last pass writes the pattern itself (SBC-3 5.30.2.2). */
		if (s->invert && s->passes % 2 == 0) {
			sanitize_invert(s);
		}
	}
	if (!sanitize_claim(task, true)) {
		goto fail;
	}
	lun->task_count++;
	if (task->cdb[1] & 0x80) {
		scsi_task_complete(task); /* IMMED: status once the parameters are checked */
	} else {
		s->task = task;
	}
	sanitize_step(s);
	return;
fail:
	sanitize_free(s);
	scsi_task_complete(task);
}

/* ---- the LUN while a sanitize runs or failed ------------------------------------------------ */

bool
scsi_sanitize_check(struct vt_scsi_task *task, const struct scsi_cmd *cmd)
{
	uint32_t state = atomic_load_explicit(&task->lun->lu->sanitize_state, memory_order_acquire);

	if ((state & SCSI_LU_SANITIZING) && !(cmd->flags & SCSI_F_NO_UA)) {
		scsi_task_check(task, VT_SCSI_SENSE_NOT_READY, VT_SCSI_ASC_SANITIZE_IN_PROGRESS);
		return true;
	}
	if ((state & SCSI_LU_SANITIZE_FAILED) && task->cdb[0] != VT_SCSI_OP_SANITIZE &&
	    (cmd->flags & (SCSI_F_LBA | SCSI_F_MEDIUM_WRITE))) {
		scsi_task_check(task, VT_SCSI_SENSE_MEDIUM_ERROR, VT_SCSI_ASC_SANITIZE_FAILED);
		return true;
	}
	return false;
}

uint32_t
scsi_sanitize_sense(const struct vt_scsi_lun *lun, uint8_t *buf, bool desc)
{
	uint8_t sks[3];

	if (!scsi_lu_sanitizing(lun)) {
		return 0;
	}
	sks[0] = 0x80;
	vt_scsi_put16(&sks[1], (uint16_t)atomic_load_explicit(&lun->lu->sanitize_progress,
							      memory_order_relaxed));
	return scsi_sense_build_sks(buf, desc, VT_SCSI_SENSE_NOT_READY,
				    VT_SCSI_ASC_SANITIZE_IN_PROGRESS, false, 0, sks);
}
