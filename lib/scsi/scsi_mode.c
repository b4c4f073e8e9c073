/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MODE SENSE and MODE SELECT (6 and 10) with three pages: caching (WCE), control (D_SENSE) and
 * informational exceptions. Parameters are per LUN, shared by every initiator; a change made by
 * one sets MODE PARAMETERS CHANGED for the others. Nothing is saved (SP and PC 3 are refused).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vt/util.h"

#include "scsi_internal.h"

enum mode_pc {
	MODE_PC_CURRENT = 0,
	MODE_PC_CHANGEABLE = 1,
	MODE_PC_DEFAULT = 2,
	MODE_PC_SAVED = 3,
};

/* WCE can be changed only where the bdev has a volatile cache to turn off. */
static bool
mode_wce_changeable(const struct vt_scsi_lun *lun)
{
	return vt_bdev_has_write_cache(lun->bdev);
}

static uint32_t
mode_page_caching(const struct vt_scsi_lun *lun, enum mode_pc pc, uint8_t *p)
{
	memset(p, 0, VT_SCSI_MODE_PAGE_CACHING_LEN);
	p[0] = VT_SCSI_MODE_PAGE_CACHING;
	p[1] = VT_SCSI_MODE_PAGE_CACHING_LEN - 2;
	switch (pc) {
	case MODE_PC_CHANGEABLE:
		p[2] = mode_wce_changeable(lun) ? 0x04 : 0x00;
		break;
	case MODE_PC_DEFAULT:
		p[2] = vt_bdev_has_write_cache(lun->bdev) ? 0x04 : 0x00;
		break;
	default:
		p[2] = lun->wce ? 0x04 : 0x00;
		break;
	}
	return VT_SCSI_MODE_PAGE_CACHING_LEN;
}

static uint32_t
mode_page_control(const struct vt_scsi_lun *lun, enum mode_pc pc, uint8_t *p)
{
	memset(p, 0, VT_SCSI_MODE_PAGE_CONTROL_LEN);
	p[0] = VT_SCSI_MODE_PAGE_CONTROL;
	p[1] = VT_SCSI_MODE_PAGE_CONTROL_LEN - 2;
	switch (pc) {
	case MODE_PC_CHANGEABLE:
		p[2] = 0x04;
		break;
	case MODE_PC_DEFAULT:
		p[2] = 0x00;
		break;
	default:
		p[2] = lun->d_sense ? 0x04 : 0x00;
		break;
	}
	if (pc != MODE_PC_CHANGEABLE) {
		vt_scsi_put16(&p[8], 0xffff); /* busy timeout period: unlimited */
	}
	return VT_SCSI_MODE_PAGE_CONTROL_LEN;
}

static uint32_t
mode_page_iec(const struct vt_scsi_lun *lun, enum mode_pc pc, uint8_t *p)
{
	(void)lun;
	(void)pc;
	memset(p, 0, VT_SCSI_MODE_PAGE_INFO_EXCEPTIONS_LEN);
	p[0] = VT_SCSI_MODE_PAGE_INFO_EXCEPTIONS;
	p[1] = VT_SCSI_MODE_PAGE_INFO_EXCEPTIONS_LEN - 2;
	return VT_SCSI_MODE_PAGE_INFO_EXCEPTIONS_LEN;
}

struct mode_page {
	uint8_t code;
	uint8_t len;
	uint32_t (*build)(const struct vt_scsi_lun *lun, enum mode_pc pc, uint8_t *p);
};

static const struct mode_page g_mode_pages[] = {
	{ VT_SCSI_MODE_PAGE_CACHING, VT_SCSI_MODE_PAGE_CACHING_LEN, mode_page_caching },
	{ VT_SCSI_MODE_PAGE_CONTROL, VT_SCSI_MODE_PAGE_CONTROL_LEN, mode_page_control },
	{ VT_SCSI_MODE_PAGE_INFO_EXCEPTIONS, VT_SCSI_MODE_PAGE_INFO_EXCEPTIONS_LEN, mode_page_iec },
};

static const struct mode_page *
mode_page_find(uint8_t code)
{
	for (size_t i = 0; i < VT_COUNTOF(g_mode_pages); i++) {
		if (g_mode_pages[i].code == code) {
			return &g_mode_pages[i];
		}
	}
	return NULL;
}

/* ---- MODE SENSE ----------------------------------------------------------------------------- */

int
scsi_parse_mode_sense(struct vt_scsi_task *task)
{
	bool ten = task->cdb[0] == VT_SCSI_OP_MODE_SENSE_10;
	uint8_t pc = task->cdb[2] >> 6, page = task->cdb[2] & 0x3f, subpage = task->cdb[3];

	if (pc == MODE_PC_SAVED) {
		scsi_task_check(task, VT_SCSI_SENSE_ILLEGAL_REQUEST,
				VT_SCSI_ASC_SAVING_PARAMS_NOT_SUPPORTED);
		return -EINVAL;
	}
	if (page == VT_SCSI_MODE_PAGE_ALL) {
		if (subpage != 0x00 && subpage != 0xff) {
			return scsi_task_invalid_cdb_at(task, 3, -1);
		}
	} else if (mode_page_find(page) == NULL) {
		return scsi_task_invalid_cdb_at(task, 2, 5);
	} else if (subpage != 0x00 && subpage != 0xff) {
		return scsi_task_invalid_cdb_at(task, 3, -1);
	}
	task->xfer_needed = ten ? vt_scsi_get16(&task->cdb[7]) : task->cdb[4];
	return 0;
}

/* The block descriptor: short (8 bytes) or long (16 bytes, LLBAA). */
static uint32_t
mode_block_desc(const struct vt_scsi_lun *lun, bool longlba, uint8_t *p)
{
	uint64_t blocks = vt_bdev_get_num_blocks(lun->bdev);
	uint32_t bs = vt_bdev_get_block_size(lun->bdev);

	if (longlba) {
		memset(p, 0, 16);
		vt_scsi_put64(p, blocks);
		vt_scsi_put32(&p[12], bs);
		return 16;
	}
	memset(p, 0, 8);
	vt_scsi_put32(p, blocks > UINT32_MAX ? UINT32_MAX : (uint32_t)blocks);
	vt_scsi_put32(&p[4], bs & 0xffffff);
	return 8;
}

void
scsi_exec_mode_sense(struct vt_scsi_task *task)
{
	struct vt_scsi_lun *lun = task->lun;
	bool ten = task->cdb[0] == VT_SCSI_OP_MODE_SENSE_10;
	bool dbd = task->cdb[1] & 0x08, llbaa = ten && (task->cdb[1] & 0x10);
	enum mode_pc pc = task->cdb[2] >> 6;
	uint8_t page = task->cdb[2] & 0x3f;
	uint8_t data[256];
	uint32_t hdr = ten ? 8 : 4, off = hdr, bd = 0;

	memset(data, 0, hdr);
	if (!dbd) {
		bd = mode_block_desc(lun, llbaa, &data[off]);
		off += bd;
	}
	for (size_t i = 0; i < VT_COUNTOF(g_mode_pages); i++) {
		if (page == VT_SCSI_MODE_PAGE_ALL || page == g_mode_pages[i].code) {
			off += g_mode_pages[i].build(lun, pc, &data[off]);
		}
	}
	/* Device-specific parameter: WP for a read-only LUN, DPOFUA. */
	if (ten) {
		vt_scsi_put16(&data[0], (uint16_t)(off - 2));
		data[3] = (uint8_t)((lun->read_only ? 0x80 : 0) | 0x10);
		data[4] = llbaa && !dbd ? 0x01 : 0x00;
		vt_scsi_put16(&data[6], (uint16_t)bd);
	} else {
		data[0] = (uint8_t)(off - 1);
		data[2] = (uint8_t)((lun->read_only ? 0x80 : 0) | 0x10);
		data[3] = (uint8_t)bd;
	}
	scsi_task_complete_data(task, data, VT_MIN(off, task->xfer_needed));
}

/* ---- MODE SELECT ---------------------------------------------------------------------------- */

int
scsi_parse_mode_select(struct vt_scsi_task *task)
{
	bool ten = task->cdb[0] == VT_SCSI_OP_MODE_SELECT_10;

	if (task->cdb[1] & 0x01) {
		/* SP: nothing can be saved. */
		return scsi_task_invalid_cdb_at(task, 1, 0);
	}
	task->xfer_needed = ten ? vt_scsi_get16(&task->cdb[7]) : task->cdb[4];
	return 0;
}

static int
mode_param_error(struct vt_scsi_task *task, uint16_t asc)
{
	scsi_task_check(task, VT_SCSI_SENSE_ILLEGAL_REQUEST, asc);
	return -EINVAL;
}

/* Checks one page of the parameter list against the changeable mask and applies it to cur. */
static int
mode_select_page(struct vt_scsi_task *task, const uint8_t *buf, uint32_t off, uint32_t len,
		 bool *wce, bool *d_sense)
{
	const uint8_t *p = &buf[off];
	uint32_t left = len - off;
	const struct mode_page *mp;
	uint8_t cur[32], chg[32];

	if (left < 2) {
		return mode_param_error(task, VT_SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
	}
	if (p[0] & 0x40) {
		return scsi_task_invalid_param_at(task, (uint16_t)off, 6); /* SPF */
	}
	mp = mode_page_find(p[0] & 0x3f);
	if (mp == NULL) {
		return scsi_task_invalid_param_at(task, (uint16_t)off, 5);
	}
	if (p[1] != mp->len - 2) {
		return scsi_task_invalid_param_at(task, (uint16_t)(off + 1), -1);
	}
	if (left < mp->len) {
		return mode_param_error(task, VT_SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
	}
	mp->build(task->lun, MODE_PC_CURRENT, cur);
	mp->build(task->lun, MODE_PC_CHANGEABLE, chg);
	/* Bytes 2.. must equal the current value wherever they are not changeable (PS ignored). */
	for (uint32_t i = 2; i < mp->len; i++) {
		uint8_t bad = (p[i] ^ cur[i]) & ~chg[i];

		if (bad != 0) {
			return scsi_task_invalid_param_at(task, (uint16_t)(off + i),
							  31 - __builtin_clz(bad));
		}
	}
	if (mp->code == VT_SCSI_MODE_PAGE_CACHING) {
		*wce = p[2] & 0x04;
	} else if (mp->code == VT_SCSI_MODE_PAGE_CONTROL) {
		*d_sense = p[2] & 0x04;
	}
	return mp->len;
}

static int
mode_select_parse_list(struct vt_scsi_task *task, const uint8_t *buf, uint32_t len, bool *wce,
		       bool *d_sense)
{
	bool ten = task->cdb[0] == VT_SCSI_OP_MODE_SELECT_10;
	uint32_t hdr = ten ? 8 : 4, bdlen, off;
	int rc;

	if (len < hdr) {
		return mode_param_error(task, VT_SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
	}
	bdlen = ten ? vt_scsi_get16(&buf[6]) : buf[3];
	if (hdr + bdlen > len) {
		return mode_param_error(task, VT_SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
	}
	/* A block descriptor may only restate the block length (0 = unchanged). */
	if (bdlen != 0) {
		uint32_t bs = bdlen == 16  ? vt_scsi_get32(&buf[hdr + 12])
			      : bdlen == 8 ? vt_scsi_get24(&buf[hdr + 5])
					   : UINT32_MAX;

		if (bs != 0 && bs != vt_bdev_get_block_size(task->lun->bdev)) {
			/* The BLOCK LENGTH field, or BLOCK DESCRIPTOR LENGTH for an odd size. */
			uint32_t at = bdlen == 16  ? hdr + 12
				      : bdlen == 8 ? hdr + 5
						   : (ten ? 6u : 3u);

			return scsi_task_invalid_param_at(task, (uint16_t)at, -1);
		}
	}
	for (off = hdr + bdlen; off < len; off += (uint32_t)rc) {
		rc = mode_select_page(task, buf, off, len, wce, d_sense);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

void
scsi_exec_mode_select(struct vt_scsi_task *task)
{
	struct vt_scsi_lun *lun = task->lun;
	uint8_t buf[1024];
	uint32_t len = VT_MIN(task->xfer_needed, (uint32_t)sizeof(buf));
	bool wce = lun->wce, d_sense = lun->d_sense;

	if (task->xfer_needed == 0) {
		scsi_task_complete(task);
		return;
	}
	if (task->xfer_needed > sizeof(buf) || scsi_task_get_data_out(task, buf, len) < len) {
		scsi_task_complete_check(task, VT_SCSI_SENSE_ILLEGAL_REQUEST,
					 VT_SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
		return;
	}
	if (mode_select_parse_list(task, buf, len, &wce, &d_sense) != 0) {
		scsi_task_complete(task);
		return;
	}
	if (wce != lun->wce || d_sense != lun->d_sense) {
		/* The logical unit's parameters: every path changes, every other nexus is told. */
		scsi_lu_set_mode(lun, wce, d_sense, task->port);
	}
	scsi_task_complete(task);
}
