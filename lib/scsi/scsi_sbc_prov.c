/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Logical block provisioning: UNMAP, WRITE SAME (UNMAP and NDOB bits) and GET LBA STATUS (what
 * the bdev says is mapped or deallocated). Long ranges go to the bdev in pieces, one after the
 * other, within its per-I/O limits.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vt/util.h"

#include "scsi_internal.h"

enum prov_op {
	PROV_UNMAP,
	PROV_ZEROES,
	PROV_WRITE, /* the pattern block replicated in task->buf */
};

static void prov_step(struct vt_scsi_task *task);

static uint64_t
prov_chunk(struct vt_scsi_task *task)
{
	struct vt_bdev *bdev = task->lun->bdev;
	uint64_t limit;

	switch (task->op_count) {
	case PROV_UNMAP:
		limit = vt_bdev_get_max_unmap_blocks(bdev);
		break;
	case PROV_ZEROES:
		limit = vt_bdev_get_max_write_zeroes_blocks(bdev);
		break;
	default:
		limit = task->buf_len / vt_bdev_get_block_size(bdev);
		break;
	}
	return limit == 0 ? task->op_left : VT_MIN(limit, task->op_left);
}

static void
prov_done(struct vt_bdev_io *io, bool success, void *arg)
{
	struct vt_scsi_task *task = arg;
	uint64_t n = task->op_chunk;

	if (!success) {
		scsi_task_io_failed(task, io);
		return;
	}
	task->op_lba += n;
	task->op_left -= n;
	prov_step(task);
}

/* UNMAP: the next descriptor of the parameter list, if any; false when all are done. */
static bool
prov_next_desc(struct vt_scsi_task *task)
{
	const struct vt_scsi_unmap_desc *d;

	while (task->op_left == 0 && task->op_index < task->num_blocks) {
		d = (const struct vt_scsi_unmap_desc *)((uint8_t *)task->buf +
							sizeof(struct vt_scsi_unmap_header)) +
		    task->op_index++;
		task->op_lba = vt_scsi_get64(d->lba);
		task->op_left = vt_scsi_get32(d->num_blocks);
	}
	return task->op_left != 0;
}

static void
prov_step(struct vt_scsi_task *task)
{
	struct vt_scsi_lun *lun = task->lun;
	struct vt_bdev_channel *ch = scsi_task_channel(task);
	uint64_t n;
	int rc;

	if (task->cdb[0] == VT_SCSI_OP_UNMAP && !prov_next_desc(task)) {
		task->op_left = 0;
	}
	if (task->op_left == 0) {
		scsi_task_complete(task);
		return;
	}
	if (ch == NULL) {
		scsi_task_submit_error(task, -ENOMEM);
		return;
	}
	n = prov_chunk(task);
	task->op_chunk = n;
	switch (task->op_count) {
	case PROV_UNMAP:
		rc = vt_bdev_unmap_blocks(lun->desc, ch, task->op_lba, n, prov_done, task);
		break;
	case PROV_ZEROES:
		rc = vt_bdev_write_zeroes_blocks(lun->desc, ch, task->op_lba, n, prov_done, task);
		break;
	default:
		task->buf_iov[0].iov_base = task->buf;
		task->buf_iov[0].iov_len = n * vt_bdev_get_block_size(lun->bdev);
		rc = vt_bdev_writev_blocks(lun->desc, ch, task->buf_iov, 1, task->op_lba, n,
					   task->fua ? VT_BDEV_IO_FLAG_FUA : 0, prov_done, task);
		break;
	}
	if (rc != 0) {
		scsi_task_submit_error(task, rc);
	}
}

/* ---- UNMAP ---------------------------------------------------------------------------------- */

int
scsi_parse_unmap(struct vt_scsi_task *task)
{
	if (!task->lun->unmap) {
		scsi_task_check(task, VT_SCSI_SENSE_ILLEGAL_REQUEST,
				VT_SCSI_ASC_INVALID_COMMAND_OPCODE);
		return -ENOTSUP;
	}
	task->xfer_needed = vt_scsi_get16(&task->cdb[7]);
	return 0;
}

static int
unmap_param_error(struct vt_scsi_task *task, uint16_t asc)
{
	scsi_task_check(task, VT_SCSI_SENSE_ILLEGAL_REQUEST, asc);
	return -EINVAL;
}

/* Validates the parameter list in task->buf (len bytes); sets the descriptor count. */
static int
unmap_check_list(struct vt_scsi_task *task, uint32_t len)
{
	const struct vt_scsi_unmap_header *h = task->buf;
	const struct vt_scsi_unmap_desc *d = (const void *)(h + 1);
	uint32_t bdl, count;
	uint64_t total = 0;

	if (len < sizeof(*h)) {
		return unmap_param_error(task, VT_SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
	}
	/* Lengths past the data sent are cut to it; a partial descriptor is ignored (SBC-3). */
	bdl = VT_MIN((uint32_t)vt_scsi_get16(h->block_desc_data_len), len - (uint32_t)sizeof(*h));
	count = bdl / sizeof(*d);
	if (count > SCSI_MAX_UNMAP_DESCS) {
		return scsi_task_invalid_param_at(task, 2, -1); /* BLOCK DESCRIPTOR DATA LENGTH */
	}
	for (uint32_t i = 0; i < count; i++) {
		uint64_t lba = vt_scsi_get64(d[i].lba), n = vt_scsi_get32(d[i].num_blocks);

		if (!scsi_lba_range_ok(task->lun, lba, n)) {
			return unmap_param_error(task, VT_SCSI_ASC_LBA_OUT_OF_RANGE);
		}
		total += n;
	}
	if (total > SCSI_MAX_UNMAP_LBAS) {
		return unmap_param_error(task, VT_SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST);
	}
	task->num_blocks = count; /* descriptors, walked by prov_next_desc */
	return 0;
}

void
scsi_exec_unmap(struct vt_scsi_task *task)
{
	uint32_t max = sizeof(struct vt_scsi_unmap_header) +
		       (SCSI_MAX_UNMAP_DESCS + 1) * sizeof(struct vt_scsi_unmap_desc);
	uint32_t len = VT_MIN(task->xfer_needed, max);

	if (task->xfer_needed == 0) {
		scsi_task_complete(task);
		return;
	}
	task->buf = calloc(1, len);
	if (task->buf == NULL) {
		scsi_task_submit_error(task, -ENOMEM);
		return;
	}
	len = scsi_task_get_data_out(task, task->buf, len);
	if (unmap_check_list(task, len) != 0) {
		scsi_task_complete(task);
		return;
	}
	task->lba = 0;
	task->op_index = 0;
	task->op_left = 0;
	task->op_count = PROV_UNMAP;
	task->resubmit = prov_step;
	prov_step(task);
}

/* ---- WRITE SAME ----------------------------------------------------------------------------- */

/*
 * WSNZ is 0: NUMBER OF LOGICAL BLOCKS 0 means from the LBA to the end of the medium (an LBA past
 * the end is LBA OUT OF RANGE), and like any other count it may not exceed the MAXIMUM WRITE SAME
 * LENGTH (INVALID FIELD IN CDB).
 */
int
scsi_parse_write_same(struct vt_scsi_task *task)
{
	bool ten = task->cdb[0] == VT_SCSI_OP_WRITE_SAME_10;
	bool unmap = task->cdb[1] & 0x08, ndob = !ten && (task->cdb[1] & 0x01);
	uint64_t bs = vt_bdev_get_block_size(task->lun->bdev);
	uint64_t capacity = vt_bdev_get_num_blocks(task->lun->bdev);

	scsi_sbc_decode(task);
	if (task->num_blocks == 0) {
		if (task->lba > capacity) {
			scsi_task_check(task, VT_SCSI_SENSE_ILLEGAL_REQUEST,
					VT_SCSI_ASC_LBA_OUT_OF_RANGE);
			return -ERANGE;
		}
		task->num_blocks = capacity - task->lba;
	}
	if (task->num_blocks > SCSI_MAX_WRITE_SAME_BYTES / bs) {
		return scsi_task_invalid_cdb_at(task, scsi_cmd_length_field(task->cdb), -1);
	}
	/* On a read-only LUN the write protection answers first (the dispatcher checks it). */
	if (unmap && !task->lun->unmap && !task->lun->read_only) {
		return scsi_task_invalid_cdb_at(task, 1, 3);
	}
	task->xfer_needed = ndob ? 0 : (uint32_t)bs;
	return 0;
}

/* Fills task->buf with copies of the block; false on ENOMEM. */
static bool
write_same_pattern(struct vt_scsi_task *task, const uint8_t *block, uint32_t bs)
{
	uint64_t blocks = VT_MIN(task->num_blocks, (uint64_t)(SCSI_WS_CHUNK_BYTES / bs));

	free(task->buf);
	task->buf_len = (uint32_t)(VT_MAX(blocks, 1) * bs);
	task->buf = malloc(task->buf_len);
	if (task->buf == NULL) {
		return false;
	}
	for (uint32_t off = 0; off < task->buf_len; off += bs) {
		memcpy((uint8_t *)task->buf + off, block, bs);
	}
	return true;
}

void
scsi_exec_write_same(struct vt_scsi_task *task)
{
	struct vt_scsi_lun *lun = task->lun;
	uint32_t bs = vt_bdev_get_block_size(lun->bdev);
	bool unmap = task->cdb[1] & 0x08;
	bool zero = true;

	task->fua = !lun->wce && vt_bdev_has_write_cache(lun->bdev);
	if (task->xfer_needed != 0) {
		task->buf = malloc(bs);
		if (task->buf == NULL) {
			scsi_task_submit_error(task, -ENOMEM);
			return;
		}
		scsi_task_get_data_out(task, task->buf, bs);
		task->residual = (int64_t)task->transfer_len - bs;
		zero = vt_buf_is_zero(task->buf, bs);
	}
	task->op_lba = task->lba;
	task->op_left = task->num_blocks;
	/* UNMAP set: the blocks are unmapped whatever the block holds (SBC-3 lets the device server
	 * unmap or write; unmapping is what the initiator asked for, and they then read as zeros,
	 * LBPRZ); libiscsi's WriteSame10.UnmapUntilEnd sends 0xff blocks and expects zeros back. A
	 * zero block without UNMAP is written as zeroes. */
	if (unmap && lun->unmap) {
		task->op_count = PROV_UNMAP;
	} else if (zero && lun->write_zeroes) {
		task->op_count = PROV_ZEROES;
	} else {
		uint8_t *block = task->buf;

		task->buf = NULL;
		if (block == NULL) {
			block = calloc(1, bs);
		}
		if (block == NULL || !write_same_pattern(task, block, bs)) {
			free(block);
			scsi_task_submit_error(task, -ENOMEM);
			return;
		}
		free(block);
		task->op_count = PROV_WRITE;
	}
	task->resubmit = prov_step;
	prov_step(task);
}

/* ---- GET LBA STATUS ------------------------------------------------------------------------- */

int
scsi_parse_get_lba_status(struct vt_scsi_task *task)
{
	task->lba = vt_scsi_get64(&task->cdb[2]);
	task->num_blocks = 1; /* the starting LBA must be on the medium */
	task->xfer_needed = vt_scsi_get32(&task->cdb[10]);
	return 0;
}

/*
 * GET LBA STATUS: one descriptor per extent of blocks in the same state, from the starting LBA
 * on, each asked of the bdev (vt_bdev_get_lba_status), as many as the allocation length holds
 * (at most SCSI_MAX_LBA_STATUS_DESCS) or until the end of the medium. A fully provisioned LUN
 * (LBPME 0) reports every block mapped (SBC-3: PROVISIONING STATUS 0 for all LBAs).
 */
static void lba_status_step(struct vt_scsi_task *task);

static void
lba_status_finish(struct vt_scsi_task *task)
{
	uint32_t len = 8 + task->op_index * (uint32_t)sizeof(struct vt_scsi_lba_status_desc);

	vt_scsi_put32(task->buf, len - 4);
	scsi_task_complete_data(task, task->buf, VT_MIN(len, task->xfer_needed));
}

/* Appends the extent [op_lba, op_lba + n) in state deallocated (or mapped). */
static void
lba_status_add(struct vt_scsi_task *task, uint64_t n, bool deallocated)
{
	struct vt_scsi_lba_status_desc *d =
		(void *)((uint8_t *)task->buf + 8 + task->op_index * sizeof(*d));

	vt_scsi_put64(d->lba, task->op_lba);
	vt_scsi_put32(d->num_blocks, (uint32_t)n);
	d->provisioning = deallocated ? 0x01 : 0x00;
	task->op_index++;
	task->op_lba += n;
	task->op_left -= n;
}

static void
lba_status_done(struct vt_bdev_io *io, bool success, void *arg)
{
	struct vt_scsi_task *task = arg;
	uint64_t n;
	enum vt_bdev_lba_status st;

	if (!success) {
		scsi_task_io_failed(task, io);
		return;
	}
	st = vt_bdev_io_get_lba_status(io, &n);
	lba_status_add(task, VT_MIN(n, task->op_chunk), st == VT_BDEV_LBA_DEALLOCATED);
	lba_status_step(task);
}

static void
lba_status_step(struct vt_scsi_task *task)
{
	struct vt_bdev_channel *ch;
	int rc;

	if (task->op_left == 0 || task->op_index == task->op_count) {
		lba_status_finish(task);
		return;
	}
	task->op_chunk = VT_MIN(task->op_left, (uint64_t)UINT32_MAX);
	if (!task->lun->unmap) {
		lba_status_add(task, task->op_chunk, false);
		lba_status_step(task);
		return;
	}
	ch = scsi_task_channel(task);
	if (ch == NULL) {
		scsi_task_submit_error(task, -ENOMEM);
		return;
	}
	rc = vt_bdev_get_lba_status(task->lun->desc, ch, task->op_lba, task->op_chunk,
				    lba_status_done, task);
	if (rc != 0) {
		scsi_task_submit_error(task, rc);
	}
}

void
scsi_exec_get_lba_status(struct vt_scsi_task *task)
{
	uint32_t fit =
		task->xfer_needed > 8
			? (task->xfer_needed - 8) / (uint32_t)sizeof(struct vt_scsi_lba_status_desc)
			: 0;

	task->op_count = VT_MIN(VT_MAX(fit, 1u), SCSI_MAX_LBA_STATUS_DESCS);
	task->buf = calloc(1, 8 + task->op_count * sizeof(struct vt_scsi_lba_status_desc));
	if (task->buf == NULL) {
		scsi_task_complete_check(task, VT_SCSI_SENSE_HARDWARE_ERROR,
					 VT_SCSI_ASC_INTERNAL_TARGET_FAILURE);
		return;
	}
	task->op_index = 0;
	task->op_lba = task->lba;
	task->op_left = vt_bdev_get_num_blocks(task->lun->bdev) - task->lba;
	task->resubmit = lba_status_step;
	lba_status_step(task);
}
