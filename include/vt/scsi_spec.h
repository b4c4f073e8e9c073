/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_SCSI_SPEC_H
#define VT_SCSI_SPEC_H

/*
 * SCSI wire formats (SAM-5, SPC-4, SBC-3): operation codes, status, sense keys and additional
 * sense codes, and the fixed-size parameter data this target builds. Multi-byte fields are big
 * endian on the wire; the structs below use byte arrays so no padding or byte order creeps in.
 */

#include <stdint.h>

/* ---- status (SAM-5) ------------------------------------------------------------------------ */
#define VT_SCSI_STATUS_GOOD 0x00
#define VT_SCSI_STATUS_CHECK_CONDITION 0x02
#define VT_SCSI_STATUS_CONDITION_MET 0x04
#define VT_SCSI_STATUS_BUSY 0x08
#define VT_SCSI_STATUS_RESERVATION_CONFLICT 0x18
#define VT_SCSI_STATUS_TASK_SET_FULL 0x28
#define VT_SCSI_STATUS_ACA_ACTIVE 0x30
#define VT_SCSI_STATUS_TASK_ABORTED 0x40

/* ---- operation codes ----------------------------------------------------------------------- */
enum vt_scsi_opcode {
	VT_SCSI_OP_TEST_UNIT_READY = 0x00,
	VT_SCSI_OP_REQUEST_SENSE = 0x03,
	VT_SCSI_OP_READ_6 = 0x08,
	VT_SCSI_OP_WRITE_6 = 0x0a,
	VT_SCSI_OP_INQUIRY = 0x12,
	VT_SCSI_OP_MODE_SELECT_6 = 0x15,
	VT_SCSI_OP_RESERVE_6 = 0x16,
	VT_SCSI_OP_RELEASE_6 = 0x17,
	VT_SCSI_OP_MODE_SENSE_6 = 0x1a,
	VT_SCSI_OP_START_STOP_UNIT = 0x1b,
	VT_SCSI_OP_PREVENT_ALLOW_MEDIUM_REMOVAL = 0x1e,
	VT_SCSI_OP_READ_CAPACITY_10 = 0x25,
	VT_SCSI_OP_READ_10 = 0x28,
	VT_SCSI_OP_WRITE_10 = 0x2a,
	VT_SCSI_OP_WRITE_AND_VERIFY_10 = 0x2e,
	VT_SCSI_OP_VERIFY_10 = 0x2f,
	VT_SCSI_OP_PRE_FETCH_10 = 0x34,
	VT_SCSI_OP_SYNCHRONIZE_CACHE_10 = 0x35,
	VT_SCSI_OP_READ_DEFECT_DATA_10 = 0x37,
	VT_SCSI_OP_WRITE_SAME_10 = 0x41,
	VT_SCSI_OP_UNMAP = 0x42,
	VT_SCSI_OP_SANITIZE = 0x48,
	VT_SCSI_OP_MODE_SELECT_10 = 0x55,
	VT_SCSI_OP_RESERVE_10 = 0x56,
	VT_SCSI_OP_RELEASE_10 = 0x57,
	VT_SCSI_OP_MODE_SENSE_10 = 0x5a,
	VT_SCSI_OP_PERSISTENT_RESERVE_IN = 0x5e,
	VT_SCSI_OP_PERSISTENT_RESERVE_OUT = 0x5f,
	VT_SCSI_OP_EXTENDED_COPY = 0x83,
	VT_SCSI_OP_RECEIVE_COPY_RESULTS = 0x84,
	VT_SCSI_OP_COMPARE_AND_WRITE = 0x89,
	VT_SCSI_OP_READ_16 = 0x88,
	VT_SCSI_OP_WRITE_16 = 0x8a,
	VT_SCSI_OP_ORWRITE_16 = 0x8b,
	VT_SCSI_OP_WRITE_AND_VERIFY_16 = 0x8e,
	VT_SCSI_OP_VERIFY_16 = 0x8f,
	VT_SCSI_OP_PRE_FETCH_16 = 0x90,
	VT_SCSI_OP_SYNCHRONIZE_CACHE_16 = 0x91,
	VT_SCSI_OP_WRITE_SAME_16 = 0x93,
	VT_SCSI_OP_WRITE_ATOMIC_16 = 0x9c,
	VT_SCSI_OP_SERVICE_ACTION_IN_16 = 0x9e,
	VT_SCSI_OP_REPORT_LUNS = 0xa0,
	VT_SCSI_OP_MAINTENANCE_IN = 0xa3,
	VT_SCSI_OP_READ_12 = 0xa8,
	VT_SCSI_OP_WRITE_12 = 0xaa,
	VT_SCSI_OP_WRITE_AND_VERIFY_12 = 0xae,
	VT_SCSI_OP_VERIFY_12 = 0xaf,
	VT_SCSI_OP_READ_DEFECT_DATA_12 = 0xb7,
};

/* Service actions. */
#define VT_SCSI_SAI_READ_CAPACITY_16 0x10
#define VT_SCSI_SAI_GET_LBA_STATUS 0x12
#define VT_SCSI_MI_REPORT_SUPPORTED_OPCODES 0x0c
#define VT_SCSI_MI_REPORT_TARGET_PORT_GROUPS 0x0a

/* SANITIZE service actions (SBC-3 5.30). */
#define VT_SCSI_SANITIZE_OVERWRITE 0x01
#define VT_SCSI_SANITIZE_BLOCK_ERASE 0x02
#define VT_SCSI_SANITIZE_CRYPTO_ERASE 0x03
#define VT_SCSI_SANITIZE_EXIT_FAILURE_MODE 0x1f

/* EXTENDED COPY and RECEIVE COPY RESULTS service actions (SPC-4 6.4, 6.18). */
#define VT_SCSI_XCOPY_LID1 0x00
#define VT_SCSI_RCR_COPY_STATUS 0x00
#define VT_SCSI_RCR_OPERATING_PARAMETERS 0x03

#define VT_SCSI_PRIN_READ_KEYS 0x00
#define VT_SCSI_PRIN_READ_RESERVATION 0x01
#define VT_SCSI_PRIN_REPORT_CAPABILITIES 0x02
#define VT_SCSI_PRIN_READ_FULL_STATUS 0x03

#define VT_SCSI_PROUT_REGISTER 0x00
#define VT_SCSI_PROUT_RESERVE 0x01
#define VT_SCSI_PROUT_RELEASE 0x02
#define VT_SCSI_PROUT_CLEAR 0x03
#define VT_SCSI_PROUT_PREEMPT 0x04
#define VT_SCSI_PROUT_PREEMPT_AND_ABORT 0x05
#define VT_SCSI_PROUT_REGISTER_AND_IGNORE 0x06
#define VT_SCSI_PROUT_REGISTER_AND_MOVE 0x07

/* Persistent reservation types. */
#define VT_SCSI_PR_WRITE_EXCLUSIVE 0x1
#define VT_SCSI_PR_EXCLUSIVE_ACCESS 0x3
#define VT_SCSI_PR_WRITE_EXCLUSIVE_REGS_ONLY 0x5
#define VT_SCSI_PR_EXCLUSIVE_ACCESS_REGS_ONLY 0x6
#define VT_SCSI_PR_WRITE_EXCLUSIVE_ALL_REGS 0x7
#define VT_SCSI_PR_EXCLUSIVE_ACCESS_ALL_REGS 0x8

/* ---- sense keys and additional sense codes (ASC << 8 | ASCQ) ------------------------------- */
enum vt_scsi_sense_key {
	VT_SCSI_SENSE_NO_SENSE = 0x0,
	VT_SCSI_SENSE_RECOVERED_ERROR = 0x1,
	VT_SCSI_SENSE_NOT_READY = 0x2,
	VT_SCSI_SENSE_MEDIUM_ERROR = 0x3,
	VT_SCSI_SENSE_HARDWARE_ERROR = 0x4,
	VT_SCSI_SENSE_ILLEGAL_REQUEST = 0x5,
	VT_SCSI_SENSE_UNIT_ATTENTION = 0x6,
	VT_SCSI_SENSE_DATA_PROTECT = 0x7,
	VT_SCSI_SENSE_COPY_ABORTED = 0xa,
	VT_SCSI_SENSE_ABORTED_COMMAND = 0xb,
	VT_SCSI_SENSE_MISCOMPARE = 0xe,
};

#define VT_SCSI_ASC_NONE 0x0000
#define VT_SCSI_ASC_OPERATION_IN_PROGRESS 0x0016
#define VT_SCSI_ASC_SANITIZE_IN_PROGRESS 0x041b
#define VT_SCSI_ASC_UNREACHABLE_COPY_TARGET 0x0804
#define VT_SCSI_ASC_COPY_TARGET_NOT_REACHABLE 0x0d02
#define VT_SCSI_ASC_INCORRECT_COPY_TARGET_TYPE 0x0d03
#define VT_SCSI_ASC_WRITE_ERROR 0x0c00
#define VT_SCSI_ASC_UNRECOVERED_READ_ERROR 0x1100
#define VT_SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR 0x1a00
#define VT_SCSI_ASC_MISCOMPARE_DURING_VERIFY 0x1d00
#define VT_SCSI_ASC_INVALID_COMMAND_OPCODE 0x2000
#define VT_SCSI_ASC_LBA_OUT_OF_RANGE 0x2100
#define VT_SCSI_ASC_INVALID_FIELD_IN_CDB 0x2400
#define VT_SCSI_ASC_LUN_NOT_SUPPORTED 0x2500
#define VT_SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST 0x2600
#define VT_SCSI_ASC_INVALID_RELEASE_OF_PR 0x2604
#define VT_SCSI_ASC_TOO_MANY_TARGET_DESCS 0x2606
#define VT_SCSI_ASC_UNSUPPORTED_TARGET_DESC_TYPE 0x2607
#define VT_SCSI_ASC_TOO_MANY_SEGMENT_DESCS 0x2608
#define VT_SCSI_ASC_UNSUPPORTED_SEGMENT_DESC_TYPE 0x2609
#define VT_SCSI_ASC_WRITE_PROTECTED 0x2700
#define VT_SCSI_ASC_POWER_ON_RESET 0x2900
#define VT_SCSI_ASC_BUS_DEVICE_RESET 0x2903
#define VT_SCSI_ASC_I_T_NEXUS_LOSS 0x2907
#define VT_SCSI_ASC_MODE_PARAMETERS_CHANGED 0x2a01
#define VT_SCSI_ASC_RESERVATIONS_PREEMPTED 0x2a03
#define VT_SCSI_ASC_RESERVATIONS_RELEASED 0x2a04
#define VT_SCSI_ASC_REGISTRATIONS_PREEMPTED 0x2a05
#define VT_SCSI_ASC_CAPACITY_DATA_CHANGED 0x2a09
#define VT_SCSI_ASC_COMMANDS_CLEARED_BY_ANOTHER 0x2f00
#define VT_SCSI_ASC_SAVING_PARAMS_NOT_SUPPORTED 0x3900
#define VT_SCSI_ASC_REPORTED_LUNS_CHANGED 0x3f0e
#define VT_SCSI_ASC_SANITIZE_FAILED 0x3103
#define VT_SCSI_ASC_INTERNAL_TARGET_FAILURE 0x4400
#define VT_SCSI_ASC_INSUFFICIENT_REGISTRATION_RESOURCES 0x5504

/* Largest sense data this target builds and the SPC limit a transport must carry. */
#define VT_SCSI_SENSE_MAX 96
#define VT_SCSI_FIXED_SENSE_LEN 18
#define VT_SCSI_DESC_SENSE_LEN 8
#define VT_SCSI_DESC_SENSE_INFO_LEN 12
#define VT_SCSI_DESC_SENSE_SKS_LEN 8 /* sense key specific descriptor (field pointer) */

/* ---- parameter data ------------------------------------------------------------------------ */

/* Standard INQUIRY data as built here: 36 bytes of SPC-2 fields plus version descriptors. */
struct vt_scsi_inquiry_std {
	uint8_t peripheral; /* qualifier (7-5), device type (4-0) */
	uint8_t rmb;
	uint8_t version;
	uint8_t flags3; /* NormACA, HiSup, response data format */
	uint8_t additional_len;
	uint8_t flags5;
	uint8_t flags6;
	uint8_t flags7; /* CmdQue */
	char vendor[8];
	char product[16];
	char revision[4];
	uint8_t vendor_specific[20];
	uint8_t flags56;
	uint8_t reserved57;
	uint8_t version_desc[8][2];
	uint8_t reserved74[22];
};
_Static_assert(sizeof(struct vt_scsi_inquiry_std) == 96, "standard inquiry is 96 bytes");

struct vt_scsi_read_capacity_10 {
	uint8_t last_lba[4];
	uint8_t block_len[4];
};
_Static_assert(sizeof(struct vt_scsi_read_capacity_10) == 8, "read capacity 10 is 8 bytes");

struct vt_scsi_read_capacity_16 {
	uint8_t last_lba[8];
	uint8_t block_len[4];
	uint8_t prot;
	uint8_t lbppbe;         /* P_I_EXPONENT (7-4), LBPPBE (3-0) */
	uint8_t lbpme_lalba[2]; /* LBPME (15), LBPRZ (14), lowest aligned LBA (13-0) */
	uint8_t reserved[16];
};
_Static_assert(sizeof(struct vt_scsi_read_capacity_16) == 32, "read capacity 16 is 32 bytes");

struct vt_scsi_unmap_header {
	uint8_t data_len[2];
	uint8_t block_desc_data_len[2];
	uint8_t reserved[4];
};
_Static_assert(sizeof(struct vt_scsi_unmap_header) == 8, "unmap header is 8 bytes");

struct vt_scsi_unmap_desc {
	uint8_t lba[8];
	uint8_t num_blocks[4];
	uint8_t reserved[4];
};
_Static_assert(sizeof(struct vt_scsi_unmap_desc) == 16, "unmap descriptor is 16 bytes");

/* GET LBA STATUS: an 8-byte header then 16-byte descriptors. */
struct vt_scsi_lba_status_desc {
	uint8_t lba[8];
	uint8_t num_blocks[4];
	uint8_t provisioning; /* 0 mapped, 1 deallocated, 2 anchored */
	uint8_t reserved[3];
};
_Static_assert(sizeof(struct vt_scsi_lba_status_desc) == 16, "lba status descriptor is 16 bytes");

/* PERSISTENT RESERVE OUT basic parameter list. */
struct vt_scsi_prout_params {
	uint8_t res_key[8];
	uint8_t sa_res_key[8];
	uint8_t obsolete[4];
	uint8_t flags; /* SPEC_I_PT (3), ALL_TG_PT (2), APTPL (0) */
	uint8_t reserved;
	uint8_t obsolete2[2];
};
_Static_assert(sizeof(struct vt_scsi_prout_params) == 24, "prout parameter list is 24 bytes");

/* Mode parameter headers. */
struct vt_scsi_mode_header_6 {
	uint8_t mode_data_len;
	uint8_t medium_type;
	uint8_t dev_specific; /* WP (7), DPOFUA (4) */
	uint8_t block_desc_len;
};
_Static_assert(sizeof(struct vt_scsi_mode_header_6) == 4, "mode header 6 is 4 bytes");

struct vt_scsi_mode_header_10 {
	uint8_t mode_data_len[2];
	uint8_t medium_type;
	uint8_t dev_specific;
	uint8_t longlba;
	uint8_t reserved;
	uint8_t block_desc_len[2];
};
_Static_assert(sizeof(struct vt_scsi_mode_header_10) == 8, "mode header 10 is 8 bytes");

/* Mode pages this target has, and their lengths including the 2-byte page header. */
#define VT_SCSI_MODE_PAGE_CACHING 0x08
#define VT_SCSI_MODE_PAGE_CONTROL 0x0a
#define VT_SCSI_MODE_PAGE_INFO_EXCEPTIONS 0x1c
#define VT_SCSI_MODE_PAGE_ALL 0x3f
#define VT_SCSI_MODE_PAGE_CACHING_LEN 20
#define VT_SCSI_MODE_PAGE_CONTROL_LEN 12
#define VT_SCSI_MODE_PAGE_INFO_EXCEPTIONS_LEN 12

/* VPD pages. */
#define VT_SCSI_VPD_SUPPORTED 0x00
#define VT_SCSI_VPD_UNIT_SERIAL 0x80
#define VT_SCSI_VPD_DEVICE_ID 0x83
#define VT_SCSI_VPD_EXTENDED_INQUIRY 0x86
#define VT_SCSI_VPD_THIRD_PARTY_COPY 0x8f
#define VT_SCSI_VPD_BLOCK_LIMITS 0xb0
#define VT_SCSI_VPD_BLOCK_CHARACTERISTICS 0xb1
#define VT_SCSI_VPD_LB_PROVISIONING 0xb2

/* Version descriptors (SPC-4 table "version descriptor values"). */
#define VT_SCSI_VERSION_SAM5 0x00a0
#define VT_SCSI_VERSION_SPC4 0x0460
#define VT_SCSI_VERSION_SBC3 0x04c0

/* ---- big-endian field helpers --------------------------------------------------------------- */

static inline uint16_t
vt_scsi_get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t
vt_scsi_get24(const uint8_t *p)
{
	return ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
}

static inline uint32_t
vt_scsi_get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t
vt_scsi_get64(const uint8_t *p)
{
	return ((uint64_t)vt_scsi_get32(p) << 32) | vt_scsi_get32(p + 4);
}

static inline void
vt_scsi_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
vt_scsi_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void
vt_scsi_put64(uint8_t *p, uint64_t v)
{
	vt_scsi_put32(p, (uint32_t)(v >> 32));
	vt_scsi_put32(p + 4, (uint32_t)v);
}

#endif
