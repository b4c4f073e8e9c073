/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SPC-4 primary commands: TEST UNIT READY, REQUEST SENSE, INQUIRY (standard data; VPD pages in
 * scsi_vpd.c), REPORT LUNS, START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL, REPORT SUPPORTED
 * OPERATION CODES, and the SPC-2 RESERVE / RELEASE pair.
 */
#include <errno.h>
#include <string.h>

#include "vt/util.h"

#include "scsi_internal.h"

/* ---- TEST UNIT READY, START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL ------------------------ */

int
scsi_parse_test_unit_ready(struct vt_scsi_task *task)
{
	(void)task;
	return 0;
}

void
scsi_exec_test_unit_ready(struct vt_scsi_task *task)
{
	scsi_task_complete(task);
}

/* The medium is not removable and never stops: power conditions, START and LOEJ are accepted
 * and have no effect (the unit stays ready), as the disk of a virtual machine behaves. */
int
scsi_parse_start_stop_unit(struct vt_scsi_task *task)
{
	(void)task;
	return 0;
}

void
scsi_exec_start_stop_unit(struct vt_scsi_task *task)
{
	scsi_task_complete(task);
}

int
scsi_parse_prevent_allow(struct vt_scsi_task *task)
{
	(void)task;
	return 0;
}

void
scsi_exec_prevent_allow(struct vt_scsi_task *task)
{
	scsi_task_complete(task);
}

/* ---- REQUEST SENSE -------------------------------------------------------------------------- */

int
scsi_parse_request_sense(struct vt_scsi_task *task)
{
	task->xfer_needed = task->cdb[4];
	return 0;
}

void
scsi_exec_request_sense(struct vt_scsi_task *task)
{
	uint8_t data[VT_SCSI_SENSE_MAX];
	bool desc = task->cdb[1] & 0x01;
	uint32_t len;

	uint16_t asc;

	/* A pending unit attention is reported as sense data and cleared (SPC-4 6.39). */
	if (scsi_ua_pop(task->port, task->lun->id, &asc)) {
		len = scsi_sense_build(data, desc, VT_SCSI_SENSE_UNIT_ATTENTION, asc, false, 0);
	} else {
		/* SANITIZE IN PROGRESS with the progress indication (SBC-3 4.11.2), through
		 * whichever path started it; else no sense. */
		len = scsi_sanitize_sense(task->lun, data, desc);
		if (len == 0) {
			len = scsi_sense_build(data, desc, VT_SCSI_SENSE_NO_SENSE, VT_SCSI_ASC_NONE,
					       false, 0);
		}
	}
	scsi_task_complete_data(task, data, VT_MIN(len, task->xfer_needed));
}

/* ---- REPORT LUNS ---------------------------------------------------------------------------- */

/* Writes the LUN list for select into buf (len bytes); returns the full length of the list. */
int
scsi_spc_report_luns_data(struct vt_scsi_dev *dev, uint8_t *buf, uint32_t len, uint8_t select)
{
	uint32_t n = 0, off = 8;

	memset(buf, 0, len);
	if (select == 0x00 || select == 0x02) {
		for (uint32_t i = 0; i < VT_SCSI_DEV_MAX_LUNS; i++) {
			if (vt_scsi_dev_get_lun(dev, i) == NULL) {
				continue;
			}
			if (off + 8 <= len) {
				/* Peripheral device addressing, bus 0: fits every LUN below 256. */
				buf[off + 1] = (uint8_t)i;
			}
			off += 8;
			n++;
		}
	}
	vt_scsi_put32(buf, n * 8);
	return (int)off;
}

int
scsi_parse_report_luns(struct vt_scsi_task *task)
{
	uint8_t select = task->cdb[2];

	if (select != 0x00 && select != 0x01 && select != 0x02) {
		return scsi_task_invalid_cdb_at(task, 2, -1);
	}
	task->xfer_needed = vt_scsi_get32(&task->cdb[6]);
	return 0;
}

void
scsi_exec_report_luns(struct vt_scsi_task *task)
{
	uint8_t data[8 + 8 * VT_SCSI_DEV_MAX_LUNS];
	int len = scsi_spc_report_luns_data(task->port->dev, data, sizeof(data), task->cdb[2]);

	scsi_task_complete_data(task, data, VT_MIN((uint32_t)len, task->xfer_needed));
}

/* ---- REPORT SUPPORTED OPERATION CODES ------------------------------------------------------- */

#define RSOC_TIMEOUTS_LEN 12

static uint32_t
rsoc_timeouts(uint8_t *p)
{
	memset(p, 0, RSOC_TIMEOUTS_LEN);
	vt_scsi_put16(p, RSOC_TIMEOUTS_LEN - 2);
	return RSOC_TIMEOUTS_LEN;
}

static uint32_t
rsoc_all_one(uint8_t *p, const struct scsi_cmd *cmd, bool sa, bool rctd)
{
	uint32_t len = 8;

	memset(p, 0, 8);
	p[0] = cmd->usage[0];
	vt_scsi_put16(&p[2], sa ? cmd->sa : 0);
	p[5] = (uint8_t)((rctd ? 0x02 : 0) | (sa ? 0x01 : 0));
	vt_scsi_put16(&p[6], cmd->cdb_len);
	if (rctd) {
		len += rsoc_timeouts(&p[8]);
	}
	return len;
}

static uint32_t
rsoc_all(uint8_t *buf, bool rctd)
{
	uint32_t off = 4;

	for (uint32_t op = 0; op < 256; op++) {
		const struct scsi_cmd *cmd = scsi_cmd_lookup((uint8_t)op);

		if (cmd == NULL) {
			continue;
		}
		if (cmd->sa_cmds == NULL) {
			off += rsoc_all_one(&buf[off], cmd, false, rctd);
			continue;
		}
		for (uint8_t i = 0; i < cmd->sa_count; i++) {
			off += rsoc_all_one(&buf[off], &cmd->sa_cmds[i], true, rctd);
		}
	}
	vt_scsi_put32(buf, off - 4);
	return off;
}

/* One-command format; cmd NULL reports "not supported". */
static uint32_t
rsoc_one(uint8_t *buf, const struct scsi_cmd *cmd, bool rctd)
{
	uint32_t off = 4;

	memset(buf, 0, 4);
	if (cmd == NULL) {
		buf[1] = 0x01;
		return 4;
	}
	buf[1] = (uint8_t)((rctd ? 0x80 : 0) | 0x03);
	vt_scsi_put16(&buf[2], cmd->cdb_len);
	memcpy(&buf[4], cmd->usage, cmd->cdb_len);
	off += cmd->cdb_len;
	if (rctd) {
		off += rsoc_timeouts(&buf[off]);
	}
	return off;
}

int
scsi_parse_report_opcodes(struct vt_scsi_task *task)
{
	uint8_t options = task->cdb[2] & 0x07;

	if (options > 3) {
		return scsi_task_invalid_cdb_at(task, 2, 2);
	}
	task->xfer_needed = vt_scsi_get32(&task->cdb[6]);
	return 0;
}

/* Resolves the requested command of the one-command formats: 0 with *out (NULL = not
 * supported), or -EINVAL for a request that does not fit the reporting option. */
static int
rsoc_find(const uint8_t *cdb, const struct scsi_cmd **out)
{
	const struct scsi_cmd *cmd = scsi_cmd_lookup(cdb[3]);
	uint8_t options = cdb[2] & 0x07;
	uint16_t sa = vt_scsi_get16(&cdb[4]);

	*out = NULL;
	if (cmd == NULL) {
		return 0;
	}
	if (options == 1) {
		if (cmd->sa_cmds != NULL) {
			return -EINVAL;
		}
		*out = cmd;
		return 0;
	}
	if (cmd->sa_cmds == NULL) {
		if (options == 2) {
			return -EINVAL;
		}
		*out = cmd;
		return 0;
	}
	*out = sa <= 0x1f ? scsi_cmd_lookup_sa(cmd, (uint8_t)sa) : NULL;
	return 0;
}

void
scsi_exec_report_opcodes(struct vt_scsi_task *task)
{
	uint8_t data[4 + 256 * (8 + RSOC_TIMEOUTS_LEN)];
	bool rctd = task->cdb[2] & 0x80;
	const struct scsi_cmd *cmd;
	uint32_t len;

	if ((task->cdb[2] & 0x07) == 0) {
		len = rsoc_all(data, rctd);
	} else {
		if (rsoc_find(task->cdb, &cmd) != 0) {
			/* The REPORTING OPTIONS do not fit the requested operation code. */
			scsi_task_invalid_cdb_at(task, 2, 2);
			scsi_task_complete(task);
			return;
		}
		len = rsoc_one(data, cmd, rctd);
	}
	scsi_task_complete_data(task, data, VT_MIN(len, task->xfer_needed));
}

/* ---- RESERVE / RELEASE (SPC-2) ------------------------------------------------------------- */

int
scsi_parse_reserve(struct vt_scsi_task *task)
{
	(void)task;
	return 0;
}

void
scsi_exec_reserve(struct vt_scsi_task *task)
{
	scsi_pr_spc2_reserve(task);
	scsi_task_complete(task);
}

int
scsi_parse_release(struct vt_scsi_task *task)
{
	(void)task;
	return 0;
}

void
scsi_exec_release(struct vt_scsi_task *task)
{
	scsi_pr_spc2_release(task);
	scsi_task_complete(task);
}
