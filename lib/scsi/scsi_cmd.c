/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The command table and the dispatcher. Every command goes through the same steps, once, before
 * its own code runs: LUN state, unit attentions, opcode and service action, CDB length, reserved
 * bits and the control byte (from the CDB usage map, which REPORT SUPPORTED OPERATION CODES
 * reports), reservations, the command's parser, the LBA range, the data buffer, write protection.
 * READ / WRITE (10) and (16), the data path, skip the steps that cannot apply while nothing is
 * pending on the LUN for the port (scsi_lun_quiet): they go straight from the CDB checks to the
 * parser. Anything pending sends them the full way.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "vt/util.h"

#include "scsi_internal.h"

VT_LOG_REGISTER_COMPONENT(scsi)

/* The command tables are laid out by hand: one command per entry, its CDB usage mask on a line. */
/* clang-format off */

#define F_RD (SCSI_F_DATA_IN | SCSI_F_LBA | SCSI_F_BLOCK_DATA | SCSI_F_PR_READ)
#define F_WR (SCSI_F_DATA_OUT | SCSI_F_LBA | SCSI_F_BLOCK_DATA | SCSI_F_MEDIUM_WRITE | \
	      SCSI_F_PR_WRITE)
/* VERIFY moves data-out only with BYTCHK set (xfer_needed 0 otherwise). */
#define F_VERIFY (SCSI_F_DATA_OUT | SCSI_F_LBA | SCSI_F_BLOCK_DATA | SCSI_F_PR_READ)
#define F_INFO (SCSI_F_NO_UA | SCSI_F_NO_LUN | SCSI_F_PR_ALLOWED | SCSI_F_SPC2_ALLOWED)

#define CMD(n, len, fl, h) .name = n, .cdb_len = len, .flags = fl, .parse = scsi_parse_##h, \
	.execute = scsi_exec_##h

static const struct scsi_cmd g_sai16_cmds[] = {
	{ CMD("READ CAPACITY(16)", 16, SCSI_F_DATA_IN | SCSI_F_PR_ALLOWED, read_capacity_16),
	  .sa = VT_SCSI_SAI_READ_CAPACITY_16,
	  .usage = { 0x9e, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		     0xff, 0x01, 0x00 } },
	{ CMD("GET LBA STATUS", 16, SCSI_F_DATA_IN | SCSI_F_LBA | SCSI_F_PR_READ, get_lba_status),
	  .sa = VT_SCSI_SAI_GET_LBA_STATUS,
	  .usage = { 0x9e, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		     0xff, 0x00, 0x00 } },
};

static const struct scsi_cmd g_maint_in_cmds[] = {
	{ CMD("REPORT TARGET PORT GROUPS", 12,
	      SCSI_F_DATA_IN | SCSI_F_PR_ALLOWED | SCSI_F_SPC2_ALLOWED, report_tpgs),
	  .sa = VT_SCSI_MI_REPORT_TARGET_PORT_GROUPS,
	  .usage = { 0xa3, 0xea, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00 } },
	{ CMD("REPORT SUPPORTED OPERATION CODES", 12,
	      SCSI_F_DATA_IN | SCSI_F_PR_ALLOWED | SCSI_F_SPC2_ALLOWED, report_opcodes),
	  .sa = VT_SCSI_MI_REPORT_SUPPORTED_OPCODES,
	  .usage = { 0xa3, 0x0c, 0x87, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00 } },
};

#define PRIN(n, s) { CMD(n, 10, SCSI_F_DATA_IN | SCSI_F_PR_SELF, prin), .sa = s, \
	.usage = { 0x5e, s, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00 } }
static const struct scsi_cmd g_prin_cmds[] = {
	PRIN("PERSISTENT RESERVE IN READ KEYS", VT_SCSI_PRIN_READ_KEYS),
	PRIN("PERSISTENT RESERVE IN READ RESERVATION", VT_SCSI_PRIN_READ_RESERVATION),
	PRIN("PERSISTENT RESERVE IN REPORT CAPABILITIES", VT_SCSI_PRIN_REPORT_CAPABILITIES),
	PRIN("PERSISTENT RESERVE IN READ FULL STATUS", VT_SCSI_PRIN_READ_FULL_STATUS),
};

/* Byte 2 (SCOPE, TYPE): ignored by REGISTER, REGISTER AND IGNORE EXISTING KEY and CLEAR (SPC-4
 * 6.17.2), so every bit is usable there. */
#define PROUT(n, s, b2) { CMD(n, 10, SCSI_F_DATA_OUT | SCSI_F_PR_SELF, prout), .sa = s, \
	.usage = { 0x5f, s, b2, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00 } }
static const struct scsi_cmd g_prout_cmds[] = {
	PROUT("PERSISTENT RESERVE OUT REGISTER", VT_SCSI_PROUT_REGISTER, 0xff),
	PROUT("PERSISTENT RESERVE OUT RESERVE", VT_SCSI_PROUT_RESERVE, 0x0f),
	PROUT("PERSISTENT RESERVE OUT RELEASE", VT_SCSI_PROUT_RELEASE, 0x0f),
	PROUT("PERSISTENT RESERVE OUT CLEAR", VT_SCSI_PROUT_CLEAR, 0xff),
	PROUT("PERSISTENT RESERVE OUT PREEMPT", VT_SCSI_PROUT_PREEMPT, 0x0f),
	PROUT("PERSISTENT RESERVE OUT PREEMPT AND ABORT", VT_SCSI_PROUT_PREEMPT_AND_ABORT, 0x0f),
	PROUT("PERSISTENT RESERVE OUT REGISTER AND IGNORE EXISTING KEY",
	      VT_SCSI_PROUT_REGISTER_AND_IGNORE, 0xff),
	PROUT("PERSISTENT RESERVE OUT REGISTER AND MOVE", VT_SCSI_PROUT_REGISTER_AND_MOVE, 0x0f),
};

/* IMMED and AUSE beside the service action; PARAMETER LIST LENGTH. */
#define SANITIZE(n, s) { CMD(n, 10, SCSI_F_DATA_OUT | SCSI_F_MEDIUM_WRITE | SCSI_F_PR_WRITE, \
	sanitize), .sa = s, .usage = { 0x48, 0xa0 | s, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, \
	0x00 } }
static const struct scsi_cmd g_sanitize_cmds[] = {
	SANITIZE("SANITIZE OVERWRITE", VT_SCSI_SANITIZE_OVERWRITE),
	SANITIZE("SANITIZE BLOCK ERASE", VT_SCSI_SANITIZE_BLOCK_ERASE),
	SANITIZE("SANITIZE CRYPTOGRAPHIC ERASE", VT_SCSI_SANITIZE_CRYPTO_ERASE),
	SANITIZE("SANITIZE EXIT FAILURE MODE", VT_SCSI_SANITIZE_EXIT_FAILURE_MODE),
};

static const struct scsi_cmd g_xcopy_cmds[] = {
	{ CMD("EXTENDED COPY(LID1)", 16, SCSI_F_DATA_OUT | SCSI_F_PR_WRITE, extended_copy),
	  .sa = VT_SCSI_XCOPY_LID1,
	  .usage = { 0x83, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
		     0xff, 0x00, 0x00 } },
};

static const struct scsi_cmd g_rcr_cmds[] = {
	{ CMD("RECEIVE COPY RESULTS COPY STATUS", 16, SCSI_F_DATA_IN | SCSI_F_PR_ALLOWED,
	      receive_copy_results),
	  .sa = VT_SCSI_RCR_COPY_STATUS,
	  .usage = { 0x84, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
		     0xff, 0x00, 0x00 } },
	{ CMD("RECEIVE COPY RESULTS OPERATING PARAMETERS", 16, SCSI_F_DATA_IN | SCSI_F_PR_ALLOWED,
	      receive_copy_results),
	  .sa = VT_SCSI_RCR_OPERATING_PARAMETERS,
	  .usage = { 0x84, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
		     0xff, 0x00, 0x00 } },
};

/* LBA and length layouts of the block command groups, as usage bytes 2.. */
#define U6 0x1f, 0xff, 0xff, 0xff, 0x00
#define U10(b1) b1, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0x00
#define U12(b1) b1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0x00
#define U16(b1) b1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, \
	0x1f, 0x00

static const struct scsi_cmd g_cmds[256] = {
	[VT_SCSI_OP_TEST_UNIT_READY] = { CMD("TEST UNIT READY", 6, SCSI_F_PR_ALLOWED,
					     test_unit_ready),
		.usage = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 } },
	[VT_SCSI_OP_REQUEST_SENSE] = { CMD("REQUEST SENSE", 6, F_INFO | SCSI_F_DATA_IN,
					   request_sense),
		.usage = { 0x03, 0x01, 0x00, 0x00, 0xff, 0x00 } },
	[VT_SCSI_OP_READ_6] = { CMD("READ(6)", 6, F_RD, rw), .usage = { 0x08, U6 } },
	[VT_SCSI_OP_WRITE_6] = { CMD("WRITE(6)", 6, F_WR, rw), .usage = { 0x0a, U6 } },
	[VT_SCSI_OP_INQUIRY] = { CMD("INQUIRY", 6, F_INFO | SCSI_F_DATA_IN, inquiry),
		.usage = { 0x12, 0x01, 0xff, 0xff, 0xff, 0x00 } },
	[VT_SCSI_OP_MODE_SELECT_6] = { CMD("MODE SELECT(6)", 6, SCSI_F_DATA_OUT | SCSI_F_PR_WRITE,
					   mode_select),
		.usage = { 0x15, 0x11, 0x00, 0x00, 0xff, 0x00 } },
	[VT_SCSI_OP_RESERVE_6] = { CMD("RESERVE(6)", 6, SCSI_F_PR_WRITE, reserve),
		.usage = { 0x16, 0x00, 0x00, 0x00, 0x00, 0x00 } },
	[VT_SCSI_OP_RELEASE_6] = { CMD("RELEASE(6)", 6, SCSI_F_SPC2_ALLOWED | SCSI_F_PR_WRITE,
				       release),
		.usage = { 0x17, 0x00, 0x00, 0x00, 0x00, 0x00 } },
	[VT_SCSI_OP_MODE_SENSE_6] = { CMD("MODE SENSE(6)", 6, SCSI_F_DATA_IN | SCSI_F_PR_READ,
					  mode_sense),
		.usage = { 0x1a, 0x08, 0xff, 0xff, 0xff, 0x00 } },
	[VT_SCSI_OP_START_STOP_UNIT] = { CMD("START STOP UNIT", 6, SCSI_F_PR_WRITE,
					     start_stop_unit),
		.usage = { 0x1b, 0x01, 0x00, 0x0f, 0xf7, 0x00 } },
	[VT_SCSI_OP_PREVENT_ALLOW_MEDIUM_REMOVAL] = { CMD("PREVENT ALLOW MEDIUM REMOVAL", 6,
							  SCSI_F_PR_WRITE, prevent_allow),
		.usage = { 0x1e, 0x00, 0x00, 0x00, 0x03, 0x00 } },
	[VT_SCSI_OP_READ_CAPACITY_10] = { CMD("READ CAPACITY(10)", 10,
					      SCSI_F_DATA_IN | SCSI_F_PR_ALLOWED,
					      read_capacity_10),
		.usage = { 0x25, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x01, 0x00 } },
	[VT_SCSI_OP_READ_10] = { CMD("READ(10)", 10, F_RD, rw), .usage = { 0x28, U10(0x1e) } },
	[VT_SCSI_OP_WRITE_10] = { CMD("WRITE(10)", 10, F_WR, rw), .usage = { 0x2a, U10(0x1a) } },
	[VT_SCSI_OP_WRITE_AND_VERIFY_10] = { CMD("WRITE AND VERIFY(10)", 10, F_WR, write_verify),
		.usage = { 0x2e, U10(0x12) } },
	[VT_SCSI_OP_VERIFY_10] = { CMD("VERIFY(10)", 10, F_VERIFY, verify),
		.usage = { 0x2f, U10(0x12) } },
	[VT_SCSI_OP_PRE_FETCH_10] = { CMD("PRE-FETCH(10)", 10, SCSI_F_LBA | SCSI_F_PR_READ,
					  prefetch),
		.usage = { 0x34, U10(0x02) } },
	[VT_SCSI_OP_SYNCHRONIZE_CACHE_10] = { CMD("SYNCHRONIZE CACHE(10)", 10,
						  SCSI_F_LBA | SCSI_F_PR_WRITE, sync_cache),
		.usage = { 0x35, U10(0x02) } },
	[VT_SCSI_OP_READ_DEFECT_DATA_10] = { CMD("READ DEFECT DATA(10)", 10,
						 SCSI_F_DATA_IN | SCSI_F_PR_READ, read_defect_data),
		.usage = { 0x37, 0x00, 0x1f, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00 } },
	[VT_SCSI_OP_WRITE_SAME_10] = { CMD("WRITE SAME(10)", 10,
					   SCSI_F_DATA_OUT | SCSI_F_LBA | SCSI_F_BLOCK_DATA |
					   SCSI_F_MEDIUM_WRITE | SCSI_F_PR_WRITE, write_same),
		.usage = { 0x41, U10(0x08) } },
	[VT_SCSI_OP_UNMAP] = { CMD("UNMAP", 10, SCSI_F_DATA_OUT | SCSI_F_MEDIUM_WRITE |
				   SCSI_F_PR_WRITE, unmap),
		.usage = { 0x42, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1f, 0xff, 0xff, 0x00 } },
	[VT_SCSI_OP_SANITIZE] = { .name = "SANITIZE", .cdb_len = 10,
		.sa_cmds = g_sanitize_cmds, .sa_count = VT_COUNTOF(g_sanitize_cmds) },
	[VT_SCSI_OP_MODE_SELECT_10] = { CMD("MODE SELECT(10)", 10,
					    SCSI_F_DATA_OUT | SCSI_F_PR_WRITE, mode_select),
		.usage = { 0x55, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00 } },
	[VT_SCSI_OP_RESERVE_10] = { CMD("RESERVE(10)", 10, SCSI_F_PR_WRITE, reserve),
		.usage = { 0x56, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 } },
	[VT_SCSI_OP_RELEASE_10] = { CMD("RELEASE(10)", 10, SCSI_F_SPC2_ALLOWED | SCSI_F_PR_WRITE,
					release),
		.usage = { 0x57, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 } },
	[VT_SCSI_OP_MODE_SENSE_10] = { CMD("MODE SENSE(10)", 10, SCSI_F_DATA_IN | SCSI_F_PR_READ,
					   mode_sense),
		.usage = { 0x5a, 0x18, 0xff, 0xff, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00 } },
	[VT_SCSI_OP_PERSISTENT_RESERVE_IN] = { .name = "PERSISTENT RESERVE IN", .cdb_len = 10,
		.sa_cmds = g_prin_cmds, .sa_count = VT_COUNTOF(g_prin_cmds) },
	[VT_SCSI_OP_PERSISTENT_RESERVE_OUT] = { .name = "PERSISTENT RESERVE OUT", .cdb_len = 10,
		.sa_cmds = g_prout_cmds, .sa_count = VT_COUNTOF(g_prout_cmds) },
	[VT_SCSI_OP_EXTENDED_COPY] = { .name = "EXTENDED COPY", .cdb_len = 16,
		.sa_cmds = g_xcopy_cmds, .sa_count = VT_COUNTOF(g_xcopy_cmds) },
	[VT_SCSI_OP_RECEIVE_COPY_RESULTS] = { .name = "RECEIVE COPY RESULTS", .cdb_len = 16,
		.sa_cmds = g_rcr_cmds, .sa_count = VT_COUNTOF(g_rcr_cmds) },
	[VT_SCSI_OP_READ_16] = { CMD("READ(16)", 16, F_RD, rw), .usage = { 0x88, U16(0x1e) } },
	[VT_SCSI_OP_COMPARE_AND_WRITE] = { CMD("COMPARE AND WRITE", 16,
					       F_WR | SCSI_F_PR_READ, compare_and_write),
		.usage = { 0x89, 0x1a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00,
			   0x00, 0xff, 0x1f, 0x00 } },
	[VT_SCSI_OP_WRITE_16] = { CMD("WRITE(16)", 16, F_WR, rw), .usage = { 0x8a, U16(0x1a) } },
	[VT_SCSI_OP_ORWRITE_16] = { CMD("ORWRITE(16)", 16, F_WR, orwrite),
		.usage = { 0x8b, U16(0x1a) } },
	[VT_SCSI_OP_WRITE_AND_VERIFY_16] = { CMD("WRITE AND VERIFY(16)", 16, F_WR, write_verify),
		.usage = { 0x8e, U16(0x12) } },
	[VT_SCSI_OP_VERIFY_16] = { CMD("VERIFY(16)", 16, F_VERIFY, verify),
		.usage = { 0x8f, U16(0x12) } },
	[VT_SCSI_OP_PRE_FETCH_16] = { CMD("PRE-FETCH(16)", 16, SCSI_F_LBA | SCSI_F_PR_READ,
					  prefetch),
		.usage = { 0x90, U16(0x02) } },
	[VT_SCSI_OP_SYNCHRONIZE_CACHE_16] = { CMD("SYNCHRONIZE CACHE(16)", 16,
						  SCSI_F_LBA | SCSI_F_PR_WRITE, sync_cache),
		.usage = { 0x91, U16(0x02) } },
	[VT_SCSI_OP_WRITE_SAME_16] = { CMD("WRITE SAME(16)", 16,
					   SCSI_F_DATA_OUT | SCSI_F_LBA | SCSI_F_BLOCK_DATA |
					   SCSI_F_MEDIUM_WRITE | SCSI_F_PR_WRITE, write_same),
		.usage = { 0x93, U16(0x09) } },
	[VT_SCSI_OP_WRITE_ATOMIC_16] = { CMD("WRITE ATOMIC(16)", 16, F_WR, write_atomic),
		.usage = { 0x9c, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00,
			   0xff, 0xff, 0x1f, 0x00 } },
	[VT_SCSI_OP_SERVICE_ACTION_IN_16] = { .name = "SERVICE ACTION IN(16)", .cdb_len = 16,
		.sa_cmds = g_sai16_cmds, .sa_count = VT_COUNTOF(g_sai16_cmds) },
	[VT_SCSI_OP_REPORT_LUNS] = { CMD("REPORT LUNS", 12, F_INFO | SCSI_F_DATA_IN, report_luns),
		.usage = { 0xa0, 0x00, 0xff, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00,
			   0x00 } },
	[VT_SCSI_OP_MAINTENANCE_IN] = { .name = "MAINTENANCE IN", .cdb_len = 12,
		.sa_cmds = g_maint_in_cmds, .sa_count = VT_COUNTOF(g_maint_in_cmds) },
	[VT_SCSI_OP_READ_12] = { CMD("READ(12)", 12, F_RD, rw), .usage = { 0xa8, U12(0x1e) } },
	[VT_SCSI_OP_WRITE_12] = { CMD("WRITE(12)", 12, F_WR, rw), .usage = { 0xaa, U12(0x1a) } },
	[VT_SCSI_OP_WRITE_AND_VERIFY_12] = { CMD("WRITE AND VERIFY(12)", 12, F_WR, write_verify),
		.usage = { 0xae, U12(0x12) } },
	[VT_SCSI_OP_VERIFY_12] = { CMD("VERIFY(12)", 12, F_VERIFY, verify),
		.usage = { 0xaf, U12(0x12) } },
	[VT_SCSI_OP_READ_DEFECT_DATA_12] = { CMD("READ DEFECT DATA(12)", 12,
						 SCSI_F_DATA_IN | SCSI_F_PR_READ, read_defect_data),
		.usage = { 0xb7, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
			   0x00 } },
};
/* clang-format on */

const struct scsi_cmd *
scsi_cmd_lookup(uint8_t opcode)
{
	const struct scsi_cmd *cmd = &g_cmds[opcode];

	return cmd->name != NULL ? cmd : NULL;
}

/* The service action field: byte 1 bits 4-0 in every command set here that has one. */
uint8_t
scsi_cmd_sa(const struct scsi_cmd *op, const uint8_t *cdb)
{
	(void)op;
	return cdb[1] & 0x1f;
}

const struct scsi_cmd *
scsi_cmd_lookup_sa(const struct scsi_cmd *op, uint8_t sa)
{
	for (uint8_t i = 0; i < op->sa_count; i++) {
		if (op->sa_cmds[i].sa == sa) {
			return &op->sa_cmds[i];
		}
	}
	return NULL;
}

/* Reserved bits, obsolete bits and NACA/LINK in the control byte are refused here, with a
 * field pointer to the highest offending bit. */
static bool
cmd_cdb_bits_valid(struct vt_scsi_task *task, const struct scsi_cmd *cmd)
{
	const uint8_t *cdb = task->cdb;

	for (uint8_t i = 1; i < cmd->cdb_len; i++) {
		uint8_t bad = cdb[i] & ~cmd->usage[i];

		if (bad != 0) {
			VT_DEBUGLOG(scsi, "%s: cdb byte %u has unsupported bits 0x%02x", cmd->name,
				    i, bad);
			scsi_task_invalid_cdb_at(task, i, 31 - __builtin_clz(bad));
			return false;
		}
	}
	return true;
}

/* The byte of the TRANSFER LENGTH field of a block command (the field a buffer mismatch is
 * blamed on). */
uint16_t
scsi_cmd_length_field(const uint8_t *cdb)
{
	if (cdb[0] == VT_SCSI_OP_COMPARE_AND_WRITE) {
		return 13;
	}
	if (cdb[0] == VT_SCSI_OP_WRITE_ATOMIC_16) {
		return 12;
	}
	switch (cdb[0] >> 5) {
	case 0:
		return 4;
	case 1:
	case 2:
		return 7;
	case 5:
		return 6;
	default:
		return 10;
	}
}

/*
 * The data buffer against what the CDB asks for; false with CHECK CONDITION set. Block data
 * cannot be moved in part: a data-in buffer must hold all of it (a larger one is an underflow),
 * and a data-out buffer must be exactly as long as the blocks the CDB names, since a write whose
 * CDB and buffer disagree has no single meaning (SAM-5 leaves overflow and underflow of data-out
 * to the device server; this one refuses them, as libiscsi's InvalidDataOutSize tests want).
 */
static bool
cmd_buffer_valid(struct vt_scsi_task *task, const struct scsi_cmd *cmd)
{
	enum vt_scsi_dir want = (cmd->flags & SCSI_F_DATA_OUT)  ? VT_SCSI_DIR_TO_DEV
				: (cmd->flags & SCSI_F_DATA_IN) ? VT_SCSI_DIR_FROM_DEV
								: VT_SCSI_DIR_NONE;
	bool bad;

	if (task->xfer_needed == 0) {
		return true;
	}
	if (task->transfer_len > 0 && task->dir != want) {
		scsi_task_invalid_cdb(task);
		return false;
	}
	if (!(cmd->flags & SCSI_F_BLOCK_DATA)) {
		return true;
	}
	bad = task->dir != want || task->transfer_len < task->xfer_needed ||
	      (want == VT_SCSI_DIR_TO_DEV && task->transfer_len != task->xfer_needed);
	if (bad) {
		VT_DEBUGLOG(scsi, "%s: buffer of %u bytes for %u bytes of block data", cmd->name,
			    task->transfer_len, task->xfer_needed);
		scsi_task_invalid_cdb_at(task, scsi_cmd_length_field(task->cdb), -1);
		return false;
	}
	return true;
}

static const struct scsi_cmd *
cmd_resolve(struct vt_scsi_task *task)
{
	const struct scsi_cmd *cmd = scsi_cmd_lookup(task->cdb[0]);

	if (cmd == NULL) {
		scsi_task_check(task, VT_SCSI_SENSE_ILLEGAL_REQUEST,
				VT_SCSI_ASC_INVALID_COMMAND_OPCODE);
		return NULL;
	}
	if (task->cdb_len < cmd->cdb_len) {
		scsi_task_invalid_cdb(task);
		return NULL;
	}
	if (cmd->sa_cmds != NULL) {
		cmd = scsi_cmd_lookup_sa(cmd, scsi_cmd_sa(cmd, task->cdb));
		if (cmd == NULL) {
			/* The field pointer names the SERVICE ACTION field: "not supported". */
			scsi_task_invalid_cdb_at(task, 1, 4);
			return NULL;
		}
	}
	if (!cmd_cdb_bits_valid(task, cmd)) {
		return NULL;
	}
	return cmd;
}

/*
 * Nothing on the LUN that the checks before a READ or WRITE's parser act on, for this port: no
 * unit attention pending, no SANITIZE running or failed, and the logical unit unguarded (no
 * SPC-2 reservation, no persistent reservation or registration on any path: scsi_lu.c). The
 * fast path's one condition: keep it in step with scsi_ua_report, scsi_sanitize_check and
 * scsi_pr_check.
 */
static bool
scsi_lun_quiet(const struct vt_scsi_lun *lun, const struct vt_scsi_port *port)
{
	return atomic_load_explicit(&port->ua[lun->id], memory_order_relaxed) == 0 &&
	       atomic_load_explicit(&lun->lu->sanitize_state, memory_order_relaxed) == 0 &&
	       !atomic_load_explicit(&lun->lu->guarded, memory_order_acquire);
}

/* READ / WRITE (10) and (16) whose CDB has no bit outside the usage map, on a quiet LUN: the
 * table entry, else NULL (the full path then). */
static const struct scsi_cmd *
cmd_fast(const struct vt_scsi_task *task)
{
	const struct scsi_cmd *cmd;
	uint64_t c[2], u[2], bad;

	switch (task->cdb[0]) {
	case VT_SCSI_OP_READ_10:
	case VT_SCSI_OP_WRITE_10:
	case VT_SCSI_OP_READ_16:
	case VT_SCSI_OP_WRITE_16:
		break;
	default:
		return NULL;
	}
	cmd = &g_cmds[task->cdb[0]];
	if (vt_unlikely(task->cdb_len < cmd->cdb_len) ||
	    vt_unlikely(!scsi_lun_quiet(task->lun, task->port))) {
		return NULL;
	}
	/* The CDB against its usage map (byte 0, the opcode, always matches), eight bytes at a
	 * time; the full path names the offending bit. */
	memcpy(c, task->cdb, 16);
	memcpy(u, cmd->usage, 16);
	if (cmd->cdb_len == 10) {
		/* Bytes 8 and 9 only: what follows a 10-byte CDB is not part of it. */
		static const uint8_t tail10[8] = { 0xff, 0xff };
		uint64_t m;

		memcpy(&m, tail10, sizeof(m));
		c[1] &= m;
	}
	bad = (c[0] & ~u[0]) | (c[1] & ~u[1]);
	return bad == 0 ? cmd : NULL;
}

static void cmd_run(struct vt_scsi_task *task, const struct scsi_cmd *cmd);

/*
 * READ / WRITE (10) and (16) that cmd_fast let through: cmd_run's checks and the bdev submission
 * in one step for the usual case (blocks to move, a buffer of exactly the transfer in the
 * command's direction, the port's channel to the LUN open, a writable LUN for a write). The range
 * is the bdev layer's one check: -ERANGE from the submission is LOGICAL BLOCK ADDRESS OUT OF
 * RANGE, as cmd_run would answer. False, with nothing done, for any other case: cmd_run then
 * answers.
 */
static inline bool
cmd_fast_rw(struct vt_scsi_task *task, const struct scsi_cmd *cmd)
{
	struct vt_scsi_lun *lun = task->lun;
	const uint8_t *cdb = task->cdb;
	struct vt_bdev_channel *ch = task->port->ch[lun->id];
	bool write = (cmd->flags & SCSI_F_MEDIUM_WRITE) != 0;
	uint64_t lba, blocks, bytes;
	int rc;

	if (cdb[0] & 0x80) { /* READ(16) 88h, WRITE(16) 8Ah */
		lba = vt_scsi_get64(&cdb[2]);
		blocks = vt_scsi_get32(&cdb[10]);
	} else { /* READ(10) 28h, WRITE(10) 2Ah */
		lba = vt_scsi_get32(&cdb[2]);
		blocks = vt_scsi_get16(&cdb[7]);
	}
	bytes = blocks * lun->block_size;
	if (vt_unlikely(blocks == 0 || bytes > SCSI_MAX_XFER_BYTES || bytes != task->transfer_len ||
			task->dir != (write ? VT_SCSI_DIR_TO_DEV : VT_SCSI_DIR_FROM_DEV) ||
			ch == NULL || (write && lun->read_only))) {
		return false;
	}
	task->cmd = cmd;
	task->lba = lba;
	task->num_blocks = blocks;
	task->xfer_needed = (uint32_t)bytes;
	task->fua = (cdb[1] & 0x08) != 0;
	task->resubmit = scsi_sbc_submit_rw;
	rc = scsi_sbc_rw_io(task, ch, task->iovs, task->iovcnt, write);
	if (vt_unlikely(rc != 0)) {
		scsi_task_submit_error(task, rc);
	}
	return true;
}

static void task_reset_parse(struct vt_scsi_task *task);

/* Everything but a quiet READ / WRITE: unit attentions, the CDB's checks, reservations. */
static void __attribute__((noinline))
cmd_dispatch_slow(struct vt_scsi_task *task, const struct scsi_cmd *cmd)
{
	task_reset_parse(task);
	if (cmd != NULL) {
		/* cmd_fast's: cmd_fast_rw left it to the parser. */
		cmd_run(task, cmd);
		return;
	}
	cmd = scsi_cmd_lookup(task->cdb[0]);
	if ((cmd == NULL || !(cmd->flags & SCSI_F_NO_UA)) &&
	    scsi_ua_report(task->port, task->lun->id, task)) {
		goto complete;
	}
	cmd = cmd_resolve(task);
	if (cmd == NULL) {
		goto complete;
	}
	task->cmd = cmd;
	if (scsi_sanitize_check(task, cmd)) {
		goto complete;
	}
	if (scsi_pr_check(task, cmd)) {
		goto complete;
	}
	cmd_run(task, cmd);
	return;
complete:
	scsi_task_complete(task);
}

/* The one-step READ / WRITE when it applies (the usual case inlined here), else the rest. */
static inline void
cmd_dispatch(struct vt_scsi_task *task)
{
	const struct scsi_cmd *cmd = cmd_fast(task);

	if (vt_likely(cmd != NULL) && vt_likely(cmd_fast_rw(task, cmd))) {
		return;
	}
	cmd_dispatch_slow(task, cmd);
}

/* From the command's parser on: the LBA range, write protection, the buffer, execution. */
static void
cmd_run(struct vt_scsi_task *task, const struct scsi_cmd *cmd)
{
	struct vt_scsi_lun *lun = task->lun;

	task->cmd = cmd;
	if (cmd->parse(task) != 0) {
		goto complete;
	}
	if ((cmd->flags & SCSI_F_LBA) && !scsi_lba_range_ok(lun, task->lba, task->num_blocks)) {
		scsi_task_check(task, VT_SCSI_SENSE_ILLEGAL_REQUEST, VT_SCSI_ASC_LBA_OUT_OF_RANGE);
		goto complete;
	}
	/* Write protection before the buffer: a write to a read-only LUN is WRITE PROTECTED
	 * whatever it carries (libiscsi's ReadOnly test sends WRITE SAME UNMAP without data). */
	if ((cmd->flags & SCSI_F_MEDIUM_WRITE) && lun->read_only) {
		scsi_task_check(task, VT_SCSI_SENSE_DATA_PROTECT, VT_SCSI_ASC_WRITE_PROTECTED);
		goto complete;
	}
	if (!cmd_buffer_valid(task, cmd)) {
		goto complete;
	}
	VT_DEBUGLOG(scsi, "lun %u: %s lba %" PRIu64 " blocks %" PRIu64, lun->id, cmd->name,
		    task->lba, task->num_blocks);
	cmd->execute(task);
	return;
complete:
	scsi_task_complete(task);
}

/*
 * The fields a command's parser and execution set, cleared for every path but the one-step READ /
 * WRITE, which sets each of them itself (cmd_fast_rw); scsi_task_reset_results clears the rest.
 */
static void
task_reset_parse(struct vt_scsi_task *task)
{
	task->cmd = NULL;
	task->resubmit = NULL;
	task->fua = false;
	task->lba = 0;
	task->num_blocks = 0;
	task->xfer_needed = 0;
	task->buf_len = 0;
	task->op_lba = 0;
	task->op_left = 0;
	task->op_chunk = 0;
	task->op_index = 0;
	task->op_count = 0;
}

void
vt_scsi_dev_queue_task(struct vt_scsi_port *port, struct vt_scsi_task *task)
{
	struct vt_scsi_dev *dev = port->dev;
	struct vt_scsi_lun *lun = NULL;

	scsi_task_reset_results(task);
	task->port = port;
	port->tasks++;
	if (task->lun_id < VT_SCSI_DEV_MAX_LUNS) {
		lun = dev->luns[task->lun_id];
	}
	if (lun == NULL || lun->removing || lun->gone) {
		task->lun = NULL;
		task_reset_parse(task);
		scsi_dev_exec_no_lun(task, scsi_cmd_lookup(task->cdb[0]));
		return;
	}
	task->lun = lun;
	TAILQ_INSERT_TAIL(&lun->tasks, task, link);
	lun->task_count++;
	cmd_dispatch(task);
}
