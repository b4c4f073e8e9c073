/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SBC-3 block commands on the LUN's bdev: READ CAPACITY, READ / WRITE, VERIFY, WRITE AND VERIFY,
 * PRE-FETCH, SYNCHRONIZE CACHE, COMPARE AND WRITE, ORWRITE(16), WRITE ATOMIC(16) (SBC-4) and
 * READ DEFECT DATA(10/12) (an empty list). Each parser decodes its CDB into task->lba,
 * task->num_blocks and task->xfer_needed; the dispatcher checks the range and the buffer before
 * any execute function runs. UNMAP, WRITE SAME and GET LBA STATUS are in scsi_sbc_prov.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vt/util.h"

#include "scsi_internal.h"

static uint32_t
sbc_bs(const struct vt_scsi_task *task)
{
	return vt_bdev_get_block_size(task->lun->bdev);
}

/* Logical blocks per physical block of the LUN's bdev: a power of two from 1 to 2^15. */
static uint32_t
sbc_blocks_per_physical(const struct vt_scsi_task *task)
{
	return vt_bdev_get_physical_block_size(task->lun->bdev) / sbc_bs(task);
}

/* LBA and transfer length of the 10/12/16-byte layouts and READ(6)/WRITE(6). */
void
scsi_sbc_decode(struct vt_scsi_task *task)
{
	const uint8_t *cdb = task->cdb;

	switch (cdb[0] >> 5) {
	case 0: /* 6-byte: 21-bit LBA, 0 blocks means 256 */
		task->lba = vt_scsi_get24(&cdb[1]) & 0x1fffff;
		task->num_blocks = cdb[4] == 0 ? 256 : cdb[4];
		break;
	case 1:
	case 2: /* 10-byte */
		task->lba = vt_scsi_get32(&cdb[2]);
		task->num_blocks = vt_scsi_get16(&cdb[7]);
		break;
	case 5: /* 12-byte */
		task->lba = vt_scsi_get32(&cdb[2]);
		task->num_blocks = vt_scsi_get32(&cdb[6]);
		break;
	default: /* 16-byte */
		task->lba = vt_scsi_get64(&cdb[2]);
		task->num_blocks = vt_scsi_get32(&cdb[10]);
		break;
	}
}

/* Sets xfer_needed for num_blocks of data; INVALID FIELD IN CDB beyond max_bytes. */
static int
sbc_set_xfer(struct vt_scsi_task *task, uint64_t blocks, uint64_t max_bytes)
{
	uint64_t bytes = blocks * sbc_bs(task);

	if (bytes > max_bytes) {
		return scsi_task_invalid_cdb_at(task, scsi_cmd_length_field(task->cdb), -1);
	}
	task->xfer_needed = (uint32_t)bytes;
	return 0;
}

/*
 * The part [off, off + len) of the task's buffer as an iovec array: the buffer itself when it is
 * exactly that, else a copy of the descriptors cut to the range (in task->split_iovs).
 */
static int
sbc_iov_range(struct vt_scsi_task *task, uint64_t off, uint64_t len, struct iovec **iov, int *cnt)
{
	struct iovec *dst;
	int n = 0;

	if (off == 0 && len == task->transfer_len) {
		*iov = task->iovs;
		*cnt = task->iovcnt;
		return 0;
	}
	if (task->split_iovs == NULL) {
		task->split_iovs = calloc((size_t)task->iovcnt * 2, sizeof(struct iovec));
		task->op_index = 0;
		if (task->split_iovs == NULL) {
			return -ENOMEM;
		}
	}
	dst = &task->split_iovs[task->op_index];
	for (int i = 0; i < task->iovcnt && len > 0; i++) {
		size_t l = task->iovs[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		dst[n].iov_base = (uint8_t *)task->iovs[i].iov_base + off;
		dst[n].iov_len = VT_MIN(l - off, len);
		len -= dst[n].iov_len;
		off = 0;
		n++;
	}
	task->op_index += (uint32_t)n;
	*iov = dst;
	*cnt = n;
	return 0;
}

/*
 * Starts a data command: GOOD at once for 0 blocks, else submit(task), which runs again when the
 * bdev layer had no I/O object for it.
 */
static void
sbc_start(struct vt_scsi_task *task, void (*submit)(struct vt_scsi_task *task))
{
	if (task->num_blocks == 0) {
		scsi_task_complete(task);
		return;
	}
	task->resubmit = submit;
	submit(task);
}

/*
 * For a submit function: the task's channel, with its whole data buffer as an iovec array; NULL
 * after the submission failed (-ENOMEM: it is retried).
 */
static struct vt_bdev_channel *
sbc_submit_begin(struct vt_scsi_task *task, struct iovec **iov, int *cnt)
{
	struct vt_bdev_channel *ch = scsi_task_channel(task);

	if (ch == NULL || sbc_iov_range(task, 0, task->xfer_needed, iov, cnt) != 0) {
		scsi_task_submit_error(task, -ENOMEM);
		return NULL;
	}
	task->op_index = 0;
	return ch;
}

/* ---- READ / WRITE --------------------------------------------------------------------------- */

int
scsi_parse_rw(struct vt_scsi_task *task)
{
	scsi_sbc_decode(task);
	/* 6-byte CDBs have no flags; the others carry FUA in byte 1 bit 3. */
	task->fua = (task->cdb[0] >> 5) != 0 && (task->cdb[1] & 0x08);
	return sbc_set_xfer(task, task->num_blocks, SCSI_MAX_XFER_BYTES);
}

void
scsi_sbc_submit_rw(struct vt_scsi_task *task)
{
	struct vt_bdev_channel *ch;
	bool write = task->cmd != NULL &&
		     (((const struct scsi_cmd *)task->cmd)->flags & SCSI_F_MEDIUM_WRITE);
	struct iovec *iov;
	int cnt, rc;

	ch = sbc_submit_begin(task, &iov, &cnt);
	if (ch == NULL) {
		return;
	}
	rc = scsi_sbc_rw_io(task, ch, iov, cnt, write);
	if (rc != 0) {
		scsi_task_submit_error(task, rc);
	}
}

void
scsi_exec_rw(struct vt_scsi_task *task)
{
	sbc_start(task, scsi_sbc_submit_rw);
}

/* WRITE AND VERIFY: a write that is on the medium when it completes; the verification of data
 * just written through the same path cannot fail, so BYTCHK changes nothing. */
int
scsi_parse_write_verify(struct vt_scsi_task *task)
{
	scsi_sbc_decode(task);
	task->fua = true;
	return sbc_set_xfer(task, task->num_blocks, SCSI_MAX_XFER_BYTES);
}

void
scsi_exec_write_verify(struct vt_scsi_task *task)
{
	scsi_exec_rw(task);
}

/* ---- VERIFY --------------------------------------------------------------------------------- */

int
scsi_parse_verify(struct vt_scsi_task *task)
{
	bool bytchk = task->cdb[1] & 0x02;

	scsi_sbc_decode(task);
	if (!bytchk) {
		return 0;
	}
	return sbc_set_xfer(task, task->num_blocks, SCSI_MAX_XFER_BYTES);
}

static void
sbc_submit_compare(struct vt_scsi_task *task)
{
	struct vt_bdev_channel *ch;
	struct iovec *iov;
	int cnt, rc;

	ch = sbc_submit_begin(task, &iov, &cnt);
	if (ch == NULL) {
		return;
	}
	rc = vt_bdev_comparev_blocks(task->lun->desc, ch, iov, cnt, task->lba, task->num_blocks,
				     scsi_task_rw_done, task);
	if (rc != 0) {
		scsi_task_submit_error(task, rc);
	}
}

void
scsi_exec_verify(struct vt_scsi_task *task)
{
	/* BYTCHK 0: the medium is memory or a file; a range that passed the check is readable. */
	if (task->xfer_needed == 0) {
		scsi_task_complete(task);
		return;
	}
	sbc_start(task, sbc_submit_compare);
}

/* ---- COMPARE AND WRITE ---------------------------------------------------------------------- */

int
scsi_parse_compare_and_write(struct vt_scsi_task *task)
{
	task->lba = vt_scsi_get64(&task->cdb[2]);
	task->num_blocks = task->cdb[13];
	task->fua = task->cdb[1] & 0x08;
	if (task->num_blocks > vt_bdev_get_acwu(task->lun->bdev)) {
		return scsi_task_invalid_cdb_at(task, 13, -1);
	}
	return sbc_set_xfer(task, task->num_blocks * 2, SCSI_MAX_XFER_BYTES);
}

static void
sbc_submit_caw(struct vt_scsi_task *task)
{
	struct vt_bdev_channel *ch = scsi_task_channel(task);
	uint64_t half = task->xfer_needed / 2;
	struct iovec *cmp, *wr;
	int ccnt, wcnt, rc;

	free(task->split_iovs);
	task->split_iovs = NULL;
	if (ch == NULL || sbc_iov_range(task, 0, half, &cmp, &ccnt) != 0 ||
	    sbc_iov_range(task, half, half, &wr, &wcnt) != 0) {
		scsi_task_submit_error(task, -ENOMEM);
		return;
	}
	rc = vt_bdev_comparev_and_writev_blocks(task->lun->desc, ch, cmp, ccnt, wr, wcnt, task->lba,
						task->num_blocks, scsi_task_rw_done, task);
	if (rc != 0) {
		scsi_task_submit_error(task, rc);
	}
}

void
scsi_exec_compare_and_write(struct vt_scsi_task *task)
{
	sbc_start(task, sbc_submit_caw);
}

/* ---- ORWRITE(16), WRITE ATOMIC(16) ---------------------------------------------------------- */

/*
 * ORWRITE(16) (SBC-3 5.10): the blocks become (blocks OR data-out), read and written under the
 * bdev layer's LBA range lock, so no other write to them interleaves. ORPROTECT must be 0 (the
 * CDB usage map refuses it). ORWRITE(32) (BMOP, generation processing) is not supported.
 */
int
scsi_parse_orwrite(struct vt_scsi_task *task)
{
	scsi_sbc_decode(task);
	task->fua = task->cdb[1] & 0x08;
	return sbc_set_xfer(task, task->num_blocks, SCSI_MAX_XFER_BYTES);
}

/*
 * WRITE ATOMIC(16) (SBC-4 5.48): all or none of the blocks, for every other command of every
 * initiator (the bdev layer holds an LBA range lock that keeps reads and writes of them out
 * while it runs). The Block Limits page says: MAXIMUM ATOMIC TRANSFER LENGTH =
 * SCSI_MAX_ATOMIC_XFER_BYTES, no alignment or granularity rule, no atomic boundary (the ATOMIC
 * BOUNDARY field must be 0: the CDB usage map refuses anything else).
 */
int
scsi_parse_write_atomic(struct vt_scsi_task *task)
{
	task->lba = vt_scsi_get64(&task->cdb[2]);
	task->num_blocks = vt_scsi_get16(&task->cdb[12]);
	task->fua = task->cdb[1] & 0x08;
	return sbc_set_xfer(task, task->num_blocks, SCSI_MAX_ATOMIC_XFER_BYTES);
}

static void
sbc_submit_locked_write(struct vt_scsi_task *task)
{
	struct vt_bdev_channel *ch;
	struct iovec *iov;
	int cnt, rc;

	ch = sbc_submit_begin(task, &iov, &cnt);
	if (ch == NULL) {
		return;
	}
	if (task->cdb[0] == VT_SCSI_OP_ORWRITE_16) {
		rc = vt_bdev_or_writev_blocks(task->lun->desc, ch, iov, cnt, task->lba,
					      task->num_blocks, scsi_sbc_write_flags(task),
					      scsi_task_rw_done, task);
	} else {
		rc = vt_bdev_writev_atomic_blocks(task->lun->desc, ch, iov, cnt, task->lba,
						  task->num_blocks, scsi_sbc_write_flags(task),
						  scsi_task_rw_done, task);
	}
	if (rc != 0) {
		scsi_task_submit_error(task, rc);
	}
}

void
scsi_exec_orwrite(struct vt_scsi_task *task)
{
	sbc_start(task, sbc_submit_locked_write);
}

void
scsi_exec_write_atomic(struct vt_scsi_task *task)
{
	sbc_start(task, sbc_submit_locked_write);
}

/* ---- READ DEFECT DATA ------------------------------------------------------------------------ */

/*
 * READ DEFECT DATA(10) and (12) (SBC-3 5.18, 5.19): the medium has no defects, in any format.
 * The answer is the header alone: PLISTV and GLISTV as requested (both lists exist, and are
 * empty), the requested DEFECT LIST FORMAT, DEFECT LIST LENGTH 0; any ADDRESS DESCRIPTOR INDEX
 * (12) is past the end of the empty list. Format 111b is reserved: INVALID FIELD IN CDB.
 */
static uint8_t
rdd_flags_byte(const struct vt_scsi_task *task)
{
	return task->cdb[0] == VT_SCSI_OP_READ_DEFECT_DATA_10 ? 2 : 1;
}

int
scsi_parse_read_defect_data(struct vt_scsi_task *task)
{
	uint8_t at = rdd_flags_byte(task);

	if ((task->cdb[at] & 0x07) == 0x07) {
		return scsi_task_invalid_cdb_at(task, at, 2);
	}
	task->xfer_needed = task->cdb[0] == VT_SCSI_OP_READ_DEFECT_DATA_10
				    ? vt_scsi_get16(&task->cdb[7])
				    : vt_scsi_get32(&task->cdb[6]);
	return 0;
}

void
scsi_exec_read_defect_data(struct vt_scsi_task *task)
{
	uint8_t hdr[8];
	uint32_t len = task->cdb[0] == VT_SCSI_OP_READ_DEFECT_DATA_10 ? 4 : 8;

	/* (12): bytes 2-3 GENERATION CODE 0 (SBC-4: not supported), 4-7 the length. */
	memset(hdr, 0, sizeof(hdr));
	hdr[1] = task->cdb[rdd_flags_byte(task)] & 0x1f; /* PLISTV, GLISTV, format */
	scsi_task_complete_data(task, hdr, VT_MIN(len, task->xfer_needed));
}

/* ---- PRE-FETCH, SYNCHRONIZE CACHE ------------------------------------------------------------ */

int
scsi_parse_prefetch(struct vt_scsi_task *task)
{
	scsi_sbc_decode(task);
	return 0;
}

/* Nothing is cached ahead: GOOD says the blocks were not all placed in a cache (SBC-3 5.9). */
void
scsi_exec_prefetch(struct vt_scsi_task *task)
{
	scsi_task_complete(task);
}

int
scsi_parse_sync_cache(struct vt_scsi_task *task)
{
	scsi_sbc_decode(task);
	return 0;
}

static void
sbc_submit_flush(struct vt_scsi_task *task)
{
	struct vt_bdev_channel *ch = scsi_task_channel(task);
	int rc;

	if (ch == NULL) {
		scsi_task_submit_error(task, -ENOMEM);
		return;
	}
	rc = vt_bdev_flush_blocks(task->lun->desc, ch, task->op_lba, task->op_left,
				  scsi_task_rw_done, task);
	if (rc != 0) {
		scsi_task_submit_error(task, rc);
	}
}

void
scsi_exec_sync_cache(struct vt_scsi_task *task)
{
	uint64_t blocks = vt_bdev_get_num_blocks(task->lun->bdev);

	task->op_lba = task->lba;
	/* 0 blocks: from the LBA to the end of the medium. */
	task->op_left = task->num_blocks != 0 ? task->num_blocks : blocks - task->lba;
	if (task->op_left == 0 ||
	    !vt_bdev_io_type_supported(task->lun->bdev, VT_BDEV_IO_TYPE_FLUSH)) {
		scsi_task_complete(task);
		return;
	}
	task->resubmit = sbc_submit_flush;
	sbc_submit_flush(task);
}

/* ---- READ CAPACITY -------------------------------------------------------------------------- */

int
scsi_parse_read_capacity_10(struct vt_scsi_task *task)
{
	/* PMI 0 with a non-zero LBA is an error (SBC-3 5.15). */
	if (!(task->cdb[8] & 0x01) && vt_scsi_get32(&task->cdb[2]) != 0) {
		return scsi_task_invalid_cdb_at(task, 2, -1);
	}
	task->xfer_needed = sizeof(struct vt_scsi_read_capacity_10);
	return 0;
}

void
scsi_exec_read_capacity_10(struct vt_scsi_task *task)
{
	struct vt_scsi_read_capacity_10 rc;
	uint64_t last = vt_bdev_get_num_blocks(task->lun->bdev) - 1;

	vt_scsi_put32(rc.last_lba, last > UINT32_MAX ? UINT32_MAX : (uint32_t)last);
	vt_scsi_put32(rc.block_len, sbc_bs(task));
	scsi_task_complete_data(task, &rc, sizeof(rc));
}

int
scsi_parse_read_capacity_16(struct vt_scsi_task *task)
{
	if (!(task->cdb[14] & 0x01) && vt_scsi_get64(&task->cdb[2]) != 0) {
		return scsi_task_invalid_cdb_at(task, 2, -1);
	}
	task->xfer_needed = vt_scsi_get32(&task->cdb[10]);
	return 0;
}

void
scsi_exec_read_capacity_16(struct vt_scsi_task *task)
{
	struct vt_scsi_read_capacity_16 rc;

	memset(&rc, 0, sizeof(rc));
	vt_scsi_put64(rc.last_lba, vt_bdev_get_num_blocks(task->lun->bdev) - 1);
	vt_scsi_put32(rc.block_len, sbc_bs(task));
	/* LBPPBE: log2 of logical blocks per physical block, 0 unless the bdev has a larger
	 * physical block (the bdev layer keeps the ratio a power of two of at most 2^15). The
	 * lowest aligned LBA is 0. libiscsi 1.19's GetLBAStatus.UnmapSingle cannot pass on a LUN
	 * with LBPPBE > 0 (doc/scsi_conformance.md), which is why it is not the default. */
	rc.lbppbe = (uint8_t)(__builtin_ctz(sbc_blocks_per_physical(task)) & 0x0f);
	if (task->lun->unmap) {
		rc.lbpme_lalba[0] = 0x80 | 0x40; /* LBPME, LBPRZ */
	}
	scsi_task_complete_data(task, &rc, VT_MIN((uint32_t)sizeof(rc), task->xfer_needed));
}
