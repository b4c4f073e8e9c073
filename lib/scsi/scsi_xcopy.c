/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * EXTENDED COPY (LID1) and RECEIVE COPY RESULTS (SPC-4 6.4, 6.18): a copy manager for block to
 * block copies between the LUNs of one device. Target descriptors are identification descriptors
 * (E4h) naming a LUN by one of its logical unit designators of VPD page 83h; segment descriptors
 * are block device to block device (02h). The whole parameter list is checked before any block
 * moves; the copy then reads and writes in chunks through the bdev layer, one I/O at a time on
 * this reactor, and stops at the next chunk once the command is aborted. Other LUNs named by the
 * list are held (their removal waits) until the copy ends. The results RECEIVE COPY RESULTS
 * reports belong to the logical unit (struct scsi_lu, under lu->lock), keyed by the issuing I_T
 * nexus and list identifier: any LUN (path) of the logical unit on that nexus finds them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vt/util.h"

#include "scsi_internal.h"

#define XCOPY_HDR_LEN 16
#define XCOPY_TGT_DESC_LEN 32
#define XCOPY_B2B_DESC_LEN 28
#define XCOPY_MAX_TARGETS 8u
#define XCOPY_MAX_SEGMENTS 32u
#define XCOPY_MAX_DESC_LIST 1024u /* target plus segment descriptor bytes */
#ifndef XCOPY_CHUNK_BYTES
#define XCOPY_CHUNK_BYTES (1024u * 1024) /* one read then one write (tests make it small) */
#endif

#define XCOPY_TGT_IDENT 0xe4
#define XCOPY_SEG_B2B 0x02

struct xcopy_segment {
	uint16_t src; /* target descriptor indexes */
	uint16_t dst;
	uint64_t src_lba;
	uint64_t dst_lba;
	uint64_t blocks;
	bool backward; /* overlapping, destination after source: from the end */
};

struct xcopy {
	struct vt_scsi_task *task;
	struct vt_scsi_lun *tgt[XCOPY_MAX_TARGETS]; /* NULL: no such LUN here */
	uint32_t num_tgts;
	struct xcopy_segment seg[XCOPY_MAX_SEGMENTS];
	uint32_t num_segs;
	uint32_t cur;   /* segment being copied */
	uint64_t done;  /* its blocks copied */
	uint64_t chunk; /* blocks of the read or write in flight */
	bool writing;
	struct scsi_copy_result *result; /* NULL when the list asks for none */
	struct iovec iov;
	struct vt_bdev_io_wait_entry io_wait;
	uint32_t buf_len;
	uint8_t buf[]; /* XCOPY_CHUNK_BYTES */
};

static void xcopy_step(struct xcopy *x);

/* ---- sense ---------------------------------------------------------------------------------- */

static int
xcopy_param_error(struct vt_scsi_task *task, uint16_t asc)
{
	scsi_task_check(task, VT_SCSI_SENSE_ILLEGAL_REQUEST, asc);
	return -EINVAL;
}

/* COPY ABORTED; the segment pointer names the descriptor at byte off of the parameter list. */
static int
xcopy_aborted(struct vt_scsi_task *task, uint16_t asc, uint32_t off)
{
	uint8_t sks[3];

	sks[0] = 0x80 | 0x20; /* SKSV, SD: the pointer is to a segment descriptor */
	vt_scsi_put16(&sks[1], (uint16_t)off);
	task->status = VT_SCSI_STATUS_CHECK_CONDITION;
	task->sense_len = scsi_sense_build_sks(task->sense, task->lun->d_sense,
					       VT_SCSI_SENSE_COPY_ABORTED, asc, false, 0, sks);
	return -EIO;
}

/* ---- parameter list ------------------------------------------------------------------------- */

static struct vt_scsi_lun *
xcopy_find_lun(struct vt_scsi_dev *dev, const uint8_t *desig)
{
	for (uint32_t i = 0; i < VT_SCSI_DEV_MAX_LUNS; i++) {
		struct vt_scsi_lun *lun = vt_scsi_dev_get_lun(dev, i);

		if (lun != NULL && scsi_vpd_lun_has_designator(lun, desig)) {
			return lun;
		}
	}
	return NULL;
}

/* One identification target descriptor at p (byte off of the list). */
static int
xcopy_parse_target(struct vt_scsi_task *task, struct xcopy *x, const uint8_t *p, uint32_t off)
{
	struct vt_scsi_lun *lun;

	/* Byte 1 bits 7-5 (SPC-3's LU ID TYPE and NUL) are reserved in SPC-4, which this target
	 * claims: ignored, as libiscsi's ValidTgtDescr expects of an SPC-4 device. */
	if ((p[1] & 0x1f) != 0) {
		return scsi_task_invalid_param_at(task, (uint16_t)(off + 1), 4);
	}
	if (p[7] > 20) {
		return scsi_task_invalid_param_at(task, (uint16_t)(off + 7), -1);
	}
	lun = xcopy_find_lun(task->lun->dev, &p[4]);
	if (lun != NULL && vt_scsi_get24(&p[29]) != vt_bdev_get_block_size(lun->bdev)) {
		return xcopy_aborted(task, VT_SCSI_ASC_INCORRECT_COPY_TARGET_TYPE, off);
	}
	x->tgt[x->num_tgts++] = lun;
	return 0;
}

static int
xcopy_parse_targets(struct vt_scsi_task *task, struct xcopy *x, const uint8_t *list, uint32_t end)
{
	uint32_t off;
	int rc;

	for (off = XCOPY_HDR_LEN; off < end; off += XCOPY_TGT_DESC_LEN) {
		if (x->num_tgts == XCOPY_MAX_TARGETS) {
			return xcopy_param_error(task, VT_SCSI_ASC_TOO_MANY_TARGET_DESCS);
		}
		if (list[off] != XCOPY_TGT_IDENT) {
			return xcopy_param_error(task, VT_SCSI_ASC_UNSUPPORTED_TARGET_DESC_TYPE);
		}
		if (off + XCOPY_TGT_DESC_LEN > end) {
			return scsi_task_invalid_param_at(task, 2, -1); /* list length */
		}
		rc = xcopy_parse_target(task, x, &list[off], off);
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

/* One block to block segment descriptor at p (byte off of the list). */
static int
xcopy_parse_segment(struct vt_scsi_task *task, struct xcopy *x, const uint8_t *p, uint32_t off)
{
	struct xcopy_segment *s = &x->seg[x->num_segs];
	struct vt_scsi_lun *src, *dst;

	if (vt_scsi_get16(&p[2]) != XCOPY_B2B_DESC_LEN - 4) {
		return scsi_task_invalid_param_at(task, (uint16_t)(off + 2), -1);
	}
	s->src = vt_scsi_get16(&p[4]);
	s->dst = vt_scsi_get16(&p[6]);
	s->blocks = vt_scsi_get16(&p[10]);
	s->src_lba = vt_scsi_get64(&p[12]);
	s->dst_lba = vt_scsi_get64(&p[20]);
	src = s->src < x->num_tgts ? x->tgt[s->src] : NULL;
	dst = s->dst < x->num_tgts ? x->tgt[s->dst] : NULL;
	if (src == NULL || dst == NULL) {
		return xcopy_aborted(task, VT_SCSI_ASC_COPY_TARGET_NOT_REACHABLE, off);
	}
	/* One block size for both ends: DC (which end NUMBER OF BLOCKS counts) is then moot. */
	if (vt_bdev_get_block_size(src->bdev) != vt_bdev_get_block_size(dst->bdev)) {
		return xcopy_aborted(task, VT_SCSI_ASC_INCORRECT_COPY_TARGET_TYPE, off);
	}
	/* A range past the end: COPY ABORTED with no additional sense code, the segment pointer
	 * saying which (libiscsi 1.19 accepts no other code here). */
	if (!scsi_lba_range_ok(src, s->src_lba, s->blocks) ||
	    !scsi_lba_range_ok(dst, s->dst_lba, s->blocks)) {
		return xcopy_aborted(task, VT_SCSI_ASC_NONE, off);
	}
	if (dst->read_only) {
		return xcopy_aborted(task, VT_SCSI_ASC_WRITE_PROTECTED, off);
	}
	/* Another LUN of the list being sanitized (the dispatcher checked the command's own). */
	if (scsi_lu_sanitizing(src) || scsi_lu_sanitizing(dst)) {
		return xcopy_aborted(task, VT_SCSI_ASC_SANITIZE_IN_PROGRESS, off);
	}
	s->backward = src == dst && s->dst_lba > s->src_lba && s->dst_lba < s->src_lba + s->blocks;
	x->num_segs++;
	return 0;
}

static int
xcopy_parse_segments(struct vt_scsi_task *task, struct xcopy *x, const uint8_t *list,
		     uint32_t start, uint32_t end)
{
	uint32_t off;
	int rc;

	for (off = start; off < end; off += XCOPY_B2B_DESC_LEN) {
		if (x->num_segs == XCOPY_MAX_SEGMENTS) {
			return xcopy_param_error(task, VT_SCSI_ASC_TOO_MANY_SEGMENT_DESCS);
		}
		if (list[off] != XCOPY_SEG_B2B) {
			return xcopy_param_error(task, VT_SCSI_ASC_UNSUPPORTED_SEGMENT_DESC_TYPE);
		}
		if (off + XCOPY_B2B_DESC_LEN > end) {
			return scsi_task_invalid_param_at(task, 8, -1); /* list length */
		}
		rc = xcopy_parse_segment(task, x, &list[off], off);
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

/* Under lu->lock: the result of task's nexus's copy list_id on task's logical unit, or NULL. */
static struct scsi_copy_result *
xcopy_find_result(struct vt_scsi_task *task, uint8_t list_id)
{
	struct scsi_lu *lu = task->lun->lu;
	struct scsi_nexus nx;

	scsi_task_nexus(task, &nx);
	for (uint32_t i = 0; i < SCSI_XCOPY_MAX_HELD; i++) {
		struct scsi_copy_result *r = &lu->copy_results[i];

		if (r->used && r->list_id == list_id && scsi_nexus_eq(&r->nx, &nx)) {
			return r;
		}
	}
	return NULL;
}

/* The parameter list header: lengths, then LIST ID USAGE (SPC-4 6.4.3.2). */
static int
xcopy_parse_header(struct vt_scsi_task *task, const uint8_t *list, uint32_t len)
{
	uint32_t tgt_len = vt_scsi_get16(&list[2]);
	uint32_t seg_len = vt_scsi_get32(&list[8]);
	uint32_t inline_len = vt_scsi_get32(&list[12]);
	uint8_t usage = (list[1] >> 3) & 0x03;
	struct scsi_copy_result *r;
	bool busy;

	if (len < XCOPY_HDR_LEN || tgt_len > XCOPY_MAX_DESC_LIST ||
	    seg_len > XCOPY_MAX_DESC_LIST - tgt_len ||
	    (uint64_t)XCOPY_HDR_LEN + tgt_len + seg_len + inline_len > len) {
		return xcopy_param_error(task, VT_SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
	}
	if (inline_len != 0) {
		return scsi_task_invalid_param_at(task, 12, -1); /* no inline data */
	}
	if (usage == 0x01) {
		return scsi_task_invalid_param_at(task, 1, 4); /* LIST ID USAGE 01b: reserved */
	}
	if (usage == 0x03 && list[0] != 0) {
		return scsi_task_invalid_param_at(task, 0, -1); /* no list: LIST IDENTIFIER 0 */
	}
	if (usage == 0x03) {
		return 0;
	}
	pthread_mutex_lock(&task->lun->lu->lock);
	r = xcopy_find_result(task, list[0]);
	busy = r != NULL && !r->done;
	/* A new list with the identifier of a finished one supersedes its results, whether or not
	 * it gets to copy (libiscsi's CopyStatus expects list 1 unknown after ValidSegDescr). */
	if (r != NULL && !busy) {
		r->used = false;
	}
	pthread_mutex_unlock(&task->lun->lu->lock);
	if (busy) {
		return xcopy_param_error(task, VT_SCSI_ASC_OPERATION_IN_PROGRESS);
	}
	return 0;
}

/* Takes a result slot of the logical unit for the copy (a finished one of the same list, or the
 * oldest finished). The slot lives as long as the logical unit, which the command's LUN holds;
 * its fields change under lu->lock. */
static struct scsi_copy_result *
xcopy_hold_result(struct vt_scsi_task *task, uint8_t list_id)
{
	struct scsi_lu *lu = task->lun->lu;
	struct scsi_copy_result *r;

	pthread_mutex_lock(&lu->lock);
	r = xcopy_find_result(task, list_id);
	for (uint32_t i = 0; r == NULL && i < SCSI_XCOPY_MAX_HELD; i++) {
		struct scsi_copy_result *c =
			&lu->copy_results[(lu->copy_results_next + i) % SCSI_XCOPY_MAX_HELD];

		if (!c->used || c->done) {
			r = c;
			lu->copy_results_next =
				(lu->copy_results_next + i + 1) % SCSI_XCOPY_MAX_HELD;
		}
	}
	if (r != NULL) {
		memset(r, 0, sizeof(*r));
		r->used = true;
		r->list_id = list_id;
		scsi_task_nexus(task, &r->nx);
	}
	/* NULL: every slot is a copy in progress, this one is not held. */
	pthread_mutex_unlock(&lu->lock);
	return r;
}

/* Checks the whole list in list (len bytes) into x; 0, or nonzero with CHECK CONDITION set. */
static int
xcopy_parse(struct vt_scsi_task *task, struct xcopy *x, const uint8_t *list, uint32_t len)
{
	uint32_t tgt_end, seg_end;
	int rc;

	rc = xcopy_parse_header(task, list, len);
	if (rc != 0) {
		return rc;
	}
	tgt_end = XCOPY_HDR_LEN + vt_scsi_get16(&list[2]);
	seg_end = tgt_end + vt_scsi_get32(&list[8]);
	rc = xcopy_parse_targets(task, x, list, tgt_end);
	if (rc != 0) {
		return rc;
	}
	return xcopy_parse_segments(task, x, list, tgt_end, seg_end);
}

/* ---- the copy ------------------------------------------------------------------------------- */

static struct vt_bdev_channel *
xcopy_channel(struct vt_scsi_task *task, struct vt_scsi_lun *lun)
{
	struct vt_scsi_port *port = task->port;

	if (port->ch[lun->id] == NULL) {
		port->ch[lun->id] = vt_bdev_get_io_channel(lun->desc);
	}
	return port->ch[lun->id];
}

/* Holds (hold) or releases the LUNs other than the command's that the segments name. */
static void
xcopy_hold_luns(struct xcopy *x, bool hold)
{
	for (uint32_t i = 0; i < x->num_tgts; i++) {
		struct vt_scsi_lun *lun = x->tgt[i];
		bool seen = lun == NULL || lun == x->task->lun;

		for (uint32_t j = 0; j < i && !seen; j++) {
			seen = x->tgt[j] == lun;
		}
		if (seen) {
			continue;
		}
		if (hold) {
			lun->task_count++;
		} else {
			lun->task_count--;
			scsi_lun_task_done(lun);
		}
	}
}

static void
xcopy_finish(struct xcopy *x)
{
	struct vt_scsi_task *task = x->task;

	if (x->result != NULL) {
		pthread_mutex_lock(&task->lun->lu->lock);
		x->result->done = true;
		x->result->failed = task->status != VT_SCSI_STATUS_GOOD || task->aborted;
		pthread_mutex_unlock(&task->lun->lu->lock);
	}
	xcopy_hold_luns(x, false);
	scsi_task_complete(task); /* frees x (task->buf) */
}

static void
xcopy_fail(struct xcopy *x, uint16_t asc)
{
	xcopy_aborted(x->task, asc, 0);
	xcopy_finish(x);
}

static void
xcopy_io_done(struct vt_bdev_io *io, bool success, void *arg)
{
	struct xcopy *x = arg;
	struct xcopy_segment *s = &x->seg[x->cur];

	if (!success) {
		xcopy_fail(x, vt_bdev_io_get_type(io) == VT_BDEV_IO_TYPE_READ
				      ? VT_SCSI_ASC_UNRECOVERED_READ_ERROR
				      : VT_SCSI_ASC_WRITE_ERROR);
		return;
	}
	if (!x->writing) {
		x->writing = true;
		xcopy_step(x);
		return;
	}
	x->writing = false;
	x->done += x->chunk;
	if (x->result != NULL) {
		pthread_mutex_lock(&x->task->lun->lu->lock);
		x->result->bytes += x->chunk * vt_bdev_get_block_size(x->tgt[s->dst]->bdev);
		pthread_mutex_unlock(&x->task->lun->lu->lock);
	}
	xcopy_step(x);
}

static void
xcopy_retry(void *arg)
{
	xcopy_step(arg);
}

/* Submits the read or the write of the current chunk. */
static int
xcopy_submit(struct xcopy *x)
{
	struct xcopy_segment *s = &x->seg[x->cur];
	struct vt_scsi_lun *lun = x->tgt[x->writing ? s->dst : s->src];
	struct vt_bdev_channel *ch;
	uint64_t off;

	if (lun->removing || lun->gone || scsi_lu_sanitizing(lun)) {
		return -ENODEV;
	}
	ch = xcopy_channel(x->task, lun);
	if (ch == NULL) {
		return -ENOMEM;
	}
	if (!x->writing) {
		x->chunk = VT_MIN(s->blocks - x->done,
				  (uint64_t)(x->buf_len / vt_bdev_get_block_size(lun->bdev)));
	}
	off = s->backward ? s->blocks - x->done - x->chunk : x->done;
	x->iov.iov_base = x->buf;
	x->iov.iov_len = x->chunk * vt_bdev_get_block_size(lun->bdev);
	if (x->writing) {
		return vt_bdev_writev_blocks(lun->desc, ch, &x->iov, 1, s->dst_lba + off, x->chunk,
					     0, xcopy_io_done, x);
	}
	return vt_bdev_readv_blocks(lun->desc, ch, &x->iov, 1, s->src_lba + off, x->chunk,
				    xcopy_io_done, x);
}

static void
xcopy_step(struct xcopy *x)
{
	struct vt_scsi_task *task = x->task;
	struct xcopy_segment *s;
	int rc;

	if (task->aborted) {
		xcopy_finish(x); /* completes TASK ABORTED */
		return;
	}
	while (!x->writing && x->cur < x->num_segs && x->done == x->seg[x->cur].blocks) {
		x->cur++;
		x->done = 0;
		if (x->result != NULL) {
			pthread_mutex_lock(&task->lun->lu->lock);
			x->result->segments++;
			pthread_mutex_unlock(&task->lun->lu->lock);
		}
	}
	if (x->cur == x->num_segs) {
		xcopy_finish(x);
		return;
	}
	s = &x->seg[x->cur];
	rc = xcopy_submit(x);
	if (rc == -ENOMEM) {
		struct vt_bdev *bdev = x->tgt[x->writing ? s->dst : s->src]->bdev;

		x->io_wait.bdev = bdev;
		x->io_wait.cb_fn = xcopy_retry;
		x->io_wait.cb_arg = x;
		rc = vt_bdev_queue_io_wait(
			bdev, xcopy_channel(task, x->tgt[x->writing ? s->dst : s->src]),
			&x->io_wait);
	}
	if (rc == -ENODEV) {
		xcopy_fail(x, VT_SCSI_ASC_COPY_TARGET_NOT_REACHABLE);
	} else if (rc == -EBADF) {
		xcopy_fail(x, VT_SCSI_ASC_WRITE_PROTECTED);
	} else if (rc != 0) {
		xcopy_fail(x, VT_SCSI_ASC_INTERNAL_TARGET_FAILURE);
	}
}

/* ---- EXTENDED COPY -------------------------------------------------------------------------- */

int
scsi_parse_extended_copy(struct vt_scsi_task *task)
{
	task->xfer_needed = vt_scsi_get32(&task->cdb[10]);
	return 0;
}

void
scsi_exec_extended_copy(struct vt_scsi_task *task)
{
	uint32_t max = XCOPY_HDR_LEN + XCOPY_MAX_DESC_LIST;
	uint32_t len = VT_MIN(task->xfer_needed, max);
	uint8_t *list;
	struct xcopy *x;

	/* A parameter list length of zero is no copy and no error (SPC-4 6.4.1). */
	if (task->xfer_needed == 0) {
		scsi_task_complete(task);
		return;
	}
	x = calloc(1, sizeof(*x) + XCOPY_CHUNK_BYTES);
	list = calloc(1, max);
	if (x == NULL || list == NULL) {
		free(x);
		free(list);
		scsi_task_complete_check(task, VT_SCSI_SENSE_HARDWARE_ERROR,
					 VT_SCSI_ASC_INTERNAL_TARGET_FAILURE);
		return;
	}
	task->buf = x;
	x->task = task;
	x->buf_len = XCOPY_CHUNK_BYTES;
	/* Bytes past the largest list accepted are never looked at: a header whose lengths reach
	 * them is refused by its MAXIMUM DESCRIPTOR LIST LENGTH check. */
	len = scsi_task_get_data_out(task, list, len);
	if (xcopy_parse(task, x, list, len) != 0) {
		free(list);
		scsi_task_complete(task);
		return;
	}
	if (((list[1] >> 3) & 0x03) == 0x00) {
		x->result = xcopy_hold_result(task, list[0]);
	}
	free(list);
	xcopy_hold_luns(x, true);
	xcopy_step(x);
}

/* ---- RECEIVE COPY RESULTS ------------------------------------------------------------------- */

int
scsi_parse_receive_copy_results(struct vt_scsi_task *task)
{
	task->xfer_needed = vt_scsi_get32(&task->cdb[10]);
	return 0;
}

/* COPY STATUS (SPC-4 6.18.3) of the copy with the CDB's list identifier that this I_T nexus
 * issued, through any LUN of the logical unit. */
static uint32_t
rcr_copy_status(struct vt_scsi_task *task, uint8_t *p)
{
	struct scsi_lu *lu = task->lun->lu;
	const struct scsi_copy_result *found;
	struct scsi_copy_result r;
	uint64_t count;
	uint8_t units = 0;

	pthread_mutex_lock(&lu->lock);
	found = xcopy_find_result(task, task->cdb[2]);
	if (found != NULL) {
		r = *found;
	}
	pthread_mutex_unlock(&lu->lock);
	if (found == NULL) {
		return 0;
	}
	/* TRANSFER COUNT in the smallest unit (bytes, KiB, MiB, ...) in which it fits. */
	for (count = r.bytes; count > UINT32_MAX; count >>= 10) {
		units++;
	}
	memset(p, 0, 12);
	vt_scsi_put32(&p[0], 8);
	p[4] = !r.done ? 0x00 : r.failed ? 0x02 : 0x01;
	vt_scsi_put16(&p[5], r.segments);
	p[7] = units;
	vt_scsi_put32(&p[8], (uint32_t)count);
	return 12;
}

/* OPERATING PARAMETERS (SPC-4 6.18.5): the limits the parser enforces. */
static uint32_t
rcr_operating_parameters(struct vt_scsi_task *task, uint8_t *p)
{
	uint32_t bs = vt_bdev_get_block_size(task->lun->bdev);

	memset(p, 0, 46);
	vt_scsi_put32(&p[0], 46 - 4);
	p[4] = 0x01; /* SNLID: LIST ID USAGE 11b is supported */
	vt_scsi_put16(&p[8], XCOPY_MAX_TARGETS);
	vt_scsi_put16(&p[10], XCOPY_MAX_SEGMENTS);
	vt_scsi_put32(&p[12], XCOPY_MAX_DESC_LIST);
	vt_scsi_put32(&p[16], 0xffffu * bs); /* NUMBER OF BLOCKS is 16 bits */
	vt_scsi_put16(&p[34], SCSI_XCOPY_MAX_HELD);
	p[36] = SCSI_XCOPY_MAX_HELD;
	p[37] = (uint8_t)__builtin_ctz(bs); /* data segment granularity (log2) */
	p[43] = 2;
	p[44] = XCOPY_SEG_B2B;
	p[45] = XCOPY_TGT_IDENT;
	return 46;
}

void
scsi_exec_receive_copy_results(struct vt_scsi_task *task)
{
	uint8_t data[64];
	uint32_t len;

	if ((task->cdb[1] & 0x1f) == VT_SCSI_RCR_OPERATING_PARAMETERS) {
		len = rcr_operating_parameters(task, data);
	} else {
		len = rcr_copy_status(task, data);
		if (len == 0) {
			/* No copy of this I_T nexus has the list identifier (SPC-4 6.18.1). */
			scsi_task_invalid_cdb_at(task, 2, -1);
			scsi_task_complete(task);
			return;
		}
	}
	scsi_task_complete_data(task, data, VT_MIN(len, task->xfer_needed));
}
