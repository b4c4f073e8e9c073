/* SPDX-License-Identifier: BSD-3-Clause */
/* INQUIRY: standard data and the vital product data pages. */
#include <string.h>

#include "vt/util.h"

#include "scsi_internal.h"

#define VPD_MAX 1024

static void
pad_copy(char *dst, size_t len, const char *src)
{
	size_t n = src != NULL ? strlen(src) : 0;

	memset(dst, ' ', len);
	memcpy(dst, src, VT_MIN(n, len));
}

void
scsi_spc_inquiry_std(struct vt_scsi_lun *lun, uint8_t *buf)
{
	struct vt_scsi_inquiry_std *inq = (struct vt_scsi_inquiry_std *)buf;
	const char *product = vt_bdev_get_product_name(lun->bdev);

	memset(inq, 0, sizeof(*inq));
	inq->peripheral = 0x00;    /* connected direct access block device */
	inq->version = 0x06;       /* SPC-4 */
	inq->flags3 = 0x10 | 0x02; /* HiSup, response data format 2 */
	inq->additional_len = sizeof(*inq) - 5;
	/* TPGS 01b: implicit ALUA (REPORT TARGET PORT GROUPS); 3PC: EXTENDED COPY. */
	inq->flags5 = 0x10 | 0x08;
	inq->flags7 = 0x02; /* CmdQue */
	pad_copy(inq->vendor, sizeof(inq->vendor), "VTARGET");
	pad_copy(inq->product, sizeof(inq->product),
		 product != NULL && product[0] != '\0' ? product : "vtarget disk");
	pad_copy(inq->revision, sizeof(inq->revision), "0001");
	vt_scsi_put16(inq->version_desc[0], VT_SCSI_VERSION_SAM5);
	vt_scsi_put16(inq->version_desc[1], VT_SCSI_VERSION_SPC4);
	vt_scsi_put16(inq->version_desc[2], VT_SCSI_VERSION_SBC3);
}

static const uint8_t g_vpd_pages[] = {
	VT_SCSI_VPD_SUPPORTED,
	VT_SCSI_VPD_UNIT_SERIAL,
	VT_SCSI_VPD_DEVICE_ID,
	VT_SCSI_VPD_EXTENDED_INQUIRY,
	VT_SCSI_VPD_THIRD_PARTY_COPY,
	VT_SCSI_VPD_BLOCK_LIMITS,
	VT_SCSI_VPD_BLOCK_CHARACTERISTICS,
	VT_SCSI_VPD_LB_PROVISIONING,
};

static uint32_t
vpd_supported(struct vt_scsi_lun *lun, uint8_t *p)
{
	(void)lun;
	memcpy(p, g_vpd_pages, sizeof(g_vpd_pages));
	return sizeof(g_vpd_pages);
}

static uint32_t
vpd_serial(struct vt_scsi_lun *lun, uint8_t *p)
{
	const char *name = vt_bdev_get_name(lun->bdev);
	size_t n = VT_MIN(strlen(name), (size_t)252);

	memcpy(p, name, n);
	return (uint32_t)n;
}

/* One designation descriptor header; returns the offset of its identifier. */
static uint32_t
desig(uint8_t *p, uint8_t code_set, uint8_t assoc_type, uint8_t len)
{
	p[0] = code_set;
	p[1] = assoc_type;
	p[2] = 0;
	p[3] = len;
	return 4;
}

static uint32_t
vpd_device_id(struct vt_scsi_lun *lun, uint8_t *p)
{
	const struct vt_uuid *uuid = vt_bdev_get_uuid(lun->bdev);
	char ustr[VT_UUID_STRING_LEN];
	const char *dname = lun->dev->name;
	uint32_t off = 0, n;

	/* NAA IEEE Registered Extended (6h), logical unit: the bdev's UUID behind the NAA nibble. */
	off += desig(&p[off], 0x01, 0x03, 16);
	memcpy(&p[off], uuid->u, 16);
	p[off] = (uint8_t)(0x60 | (p[off] & 0x0f));
	off += 16;
	/* T10 vendor identification, logical unit: vendor then the UUID in text. */
	vt_uuid_fmt(ustr, sizeof(ustr), uuid);
	off += desig(&p[off], 0x02, 0x01, 8 + 36);
	memcpy(&p[off], "VTARGET ", 8);
	memcpy(&p[off + 8], ustr, 36);
	off += 8 + 36;
	/* Relative target port identifier (target port association): distinct per device, so
	 * multipath sees each controller as its own port to the same logical unit. */
	off += desig(&p[off], 0x01, 0x14, 4);
	memset(&p[off], 0, 4);
	vt_scsi_put16(&p[off + 2], lun->dev->rtpi);
	off += 4;
	/* Target port group (one per target port, numbered like it). */
	off += desig(&p[off], 0x01, 0x15, 4);
	memset(&p[off], 0, 4);
	vt_scsi_put16(&p[off + 2], lun->dev->rtpi);
	off += 4;
	/* SCSI name string of the target device: its name, NUL padded to a multiple of 4. */
	n = (uint32_t)VT_MIN(strlen(dname), (size_t)251);
	n = VT_ALIGN_UP(n + 1, 4u);
	off += desig(&p[off], 0x03, 0x28, (uint8_t)n);
	memset(&p[off], 0, n);
	memcpy(&p[off], dname, VT_MIN(strlen(dname), (size_t)251));
	off += n;
	return off;
}

bool
scsi_vpd_lun_has_designator(struct vt_scsi_lun *lun, const uint8_t *d)
{
	uint8_t page[VPD_MAX];
	uint32_t len = vpd_device_id(lun, page);

	for (uint32_t off = 0; off + 4 <= len; off += 4u + page[off + 3]) {
		const uint8_t *p = &page[off];

		if ((p[1] & 0x30) == 0 && (p[0] & 0x0f) == (d[0] & 0x0f) &&
		    (p[1] & 0x0f) == (d[1] & 0x0f) && (d[1] & 0x30) == 0 && p[3] == d[3] &&
		    memcmp(&p[4], &d[4], p[3]) == 0) {
			return true;
		}
	}
	return false;
}

/* ---- REPORT TARGET PORT GROUPS (SPC-4 6.36) ------------------------------------------------ */

#define TPG_MAX_PORTS 64

int
scsi_parse_report_tpgs(struct vt_scsi_task *task)
{
	task->xfer_needed = vt_scsi_get32(&task->cdb[6]);
	return 0;
}

/* Every path to the logical unit is its own target port group, active/optimized, with one
 * port; implicit ALUA (the groups never change state). */
void
scsi_exec_report_tpgs(struct vt_scsi_task *task)
{
	uint8_t data[8 + TPG_MAX_PORTS * 12];
	uint16_t rtpi[TPG_MAX_PORTS];
	bool extended = (task->cdb[1] >> 5) == 1;
	uint32_t n = scsi_lu_tports(task->lun->lu, rtpi, TPG_MAX_PORTS);
	uint32_t hdr = extended ? 8 : 4, off = hdr;

	memset(data, 0, sizeof(data));
	for (uint32_t i = 0; i < n; i++, off += 12) {
		uint8_t *d = &data[off];

		d[0] = 0x00; /* PREF 0, ASYMMETRIC ACCESS STATE: active/optimized */
		d[1] = 0x01; /* AO_SUP: the only state it supports */
		vt_scsi_put16(&d[2], rtpi[i]);
		d[5] = 0x00; /* STATUS CODE: no status */
		d[7] = 1;    /* TARGET PORT COUNT */
		vt_scsi_put16(&d[10], rtpi[i]);
	}
	vt_scsi_put32(data, off - 4);
	if (extended) {
		data[4] = 0x10; /* FORMAT TYPE 1: the extended header */
		data[5] = 0;    /* IMPLICIT TRANSITION TIME: none */
	}
	scsi_task_complete_data(task, data, VT_MIN(off, task->xfer_needed));
}

/* Third-party Copy (SPC-4 7.8.17): one Supported Commands descriptor naming EXTENDED COPY
 * (LID1) and the RECEIVE COPY RESULTS service actions. */
static uint32_t
vpd_third_party_copy(struct vt_scsi_lun *lun, uint8_t *p)
{
	static const uint8_t cmds[] = {
		VT_SCSI_OP_EXTENDED_COPY,         1, VT_SCSI_XCOPY_LID1,
		VT_SCSI_OP_RECEIVE_COPY_RESULTS,  2, VT_SCSI_RCR_COPY_STATUS,
		VT_SCSI_RCR_OPERATING_PARAMETERS,
	};
	uint32_t len = VT_ALIGN_UP(1u + (uint32_t)sizeof(cmds), 4u);

	(void)lun;
	memset(p, 0, 4 + len);
	vt_scsi_put16(&p[0], 0x0001); /* Supported Commands */
	vt_scsi_put16(&p[2], (uint16_t)len);
	p[4] = sizeof(cmds);
	memcpy(&p[5], cmds, sizeof(cmds));
	return 4 + len;
}

static uint32_t
vpd_extended(struct vt_scsi_lun *lun, uint8_t *p)
{
	memset(p, 0, 60);
	p[1] = 0x01;                                                         /* SIMPSUP */
	p[2] = lun->wce || vt_bdev_has_write_cache(lun->bdev) ? 0x01 : 0x00; /* V_SUP */
	return 60;
}

static uint32_t
vpd_block_limits(struct vt_scsi_lun *lun, uint8_t *p)
{
	uint32_t bs = vt_bdev_get_block_size(lun->bdev);
	uint32_t boundary = vt_bdev_get_optimal_io_boundary(lun->bdev);
	/* Logical blocks per physical block (READ CAPACITY(16)'s 2^LBPPBE), a power of two. */
	uint32_t lbppb = vt_bdev_get_physical_block_size(lun->bdev) / bs;
	uint32_t opt = boundary != 0 ? boundary : VT_MAX(1u, SCSI_OPT_XFER_BYTES / bs);

	memset(p, 0, 60);
	p[0] = 0x00; /* WSNZ 0: WRITE SAME of 0 blocks is to the end */
	p[1] = (uint8_t)vt_bdev_get_acwu(lun->bdev);
	/* Transfers of whole physical blocks avoid a read-modify-write below the bdev: the
	 * physical block is the OPTIMAL TRANSFER LENGTH GRANULARITY, and the OPTIMAL TRANSFER
	 * LENGTH a multiple of it (Linux ignores an optimal size that is not). */
	vt_scsi_put16(&p[2], (uint16_t)VT_MIN(lbppb, (uint32_t)UINT16_MAX));
	vt_scsi_put32(&p[4], SCSI_MAX_XFER_BYTES / bs);
	vt_scsi_put32(&p[8], (uint32_t)VT_MIN(VT_ALIGN_UP((uint64_t)opt, lbppb),
					      (uint64_t)(UINT32_MAX & ~(lbppb - 1))));
	vt_scsi_put32(&p[12], SCSI_MAX_XFER_BYTES / bs); /* maximum prefetch length */
	if (lun->unmap) {
		vt_scsi_put32(&p[16], SCSI_MAX_UNMAP_LBAS);
		vt_scsi_put32(&p[20], SCSI_MAX_UNMAP_DESCS);
		/* Ranges beyond the bdev's own UNMAP limit are split by scsi_sbc_prov.c. Any range
		 * is unmapped, but whole physical blocks from LBA 0 (the lowest aligned LBA) are
		 * what frees space below a bdev with larger physical blocks: OPTIMAL UNMAP
		 * GRANULARITY is the physical block, with UGAVALID and alignment 0 then. */
		vt_scsi_put32(&p[24], lbppb);
		if (lbppb > 1) {
			vt_scsi_put32(&p[28], 0x80000000u); /* UGAVALID, alignment 0 */
		}
	}
	vt_scsi_put64(&p[32], SCSI_MAX_WRITE_SAME_BYTES / bs);
	/* WRITE ATOMIC(16): MAXIMUM ATOMIC TRANSFER LENGTH; ATOMIC ALIGNMENT, ATOMIC TRANSFER
	 * LENGTH GRANULARITY 0 (none); no atomic boundaries (both boundary fields 0). */
	if (vt_bdev_io_type_supported(lun->bdev, VT_BDEV_IO_TYPE_WRITE_ATOMIC)) {
		vt_scsi_put32(&p[40], SCSI_MAX_ATOMIC_XFER_BYTES / bs);
	}
	return 60;
}

static uint32_t
vpd_block_characteristics(struct vt_scsi_lun *lun, uint8_t *p)
{
	(void)lun;
	memset(p, 0, 60);
	vt_scsi_put16(&p[0], 0x0001); /* non-rotating medium */
	/* WABEREQ 01b, WACEREQ 01b: reads after a SANITIZE BLOCK ERASE or CRYPTOGRAPHIC ERASE
	 * complete GOOD (the blocks read as zeros, scsi_sanitize.c). */
	p[3] = 0x40 | 0x10;
	return 60;
}

static uint32_t
vpd_provisioning(struct vt_scsi_lun *lun, uint8_t *p)
{
	memset(p, 0, 4);
	if (lun->unmap) {
		/* LBPU, LBPWS, LBPWS10, LBPRZ: every bdev module reads zeros from unmapped blocks. */
		p[1] = 0x80 | 0x40 | 0x20 | 0x04;
		p[2] = 0x02; /* thin provisioned */
	}
	return 4;
}

static uint32_t (*const g_vpd_fn[256])(struct vt_scsi_lun *, uint8_t *) = {
	[VT_SCSI_VPD_SUPPORTED] = vpd_supported,
	[VT_SCSI_VPD_UNIT_SERIAL] = vpd_serial,
	[VT_SCSI_VPD_DEVICE_ID] = vpd_device_id,
	[VT_SCSI_VPD_EXTENDED_INQUIRY] = vpd_extended,
	[VT_SCSI_VPD_THIRD_PARTY_COPY] = vpd_third_party_copy,
	[VT_SCSI_VPD_BLOCK_LIMITS] = vpd_block_limits,
	[VT_SCSI_VPD_BLOCK_CHARACTERISTICS] = vpd_block_characteristics,
	[VT_SCSI_VPD_LB_PROVISIONING] = vpd_provisioning,
};

int
scsi_parse_inquiry(struct vt_scsi_task *task)
{
	bool evpd = task->cdb[1] & 0x01;
	uint8_t page = task->cdb[2];

	if ((!evpd && page != 0) || (evpd && g_vpd_fn[page] == NULL)) {
		return scsi_task_invalid_cdb_at(task, 2, -1);
	}
	task->xfer_needed = vt_scsi_get16(&task->cdb[3]);
	return 0;
}

void
scsi_exec_inquiry(struct vt_scsi_task *task)
{
	uint8_t data[VPD_MAX];
	uint8_t page = task->cdb[2];
	uint32_t len;

	if (!(task->cdb[1] & 0x01)) {
		scsi_spc_inquiry_std(task->lun, data);
		len = sizeof(struct vt_scsi_inquiry_std);
	} else {
		data[0] = 0x00;
		data[1] = page;
		len = g_vpd_fn[page](task->lun, &data[4]);
		vt_scsi_put16(&data[2], (uint16_t)len);
		len += 4;
	}
	scsi_task_complete_data(task, data, VT_MIN(len, task->xfer_needed));
}
