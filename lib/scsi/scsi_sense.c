/* SPDX-License-Identifier: BSD-3-Clause */
/* Sense data in fixed (70h) and descriptor (72h) format, SPC-4 4.5. */
#include <string.h>

#include "scsi_internal.h"

static uint32_t
sense_fixed(uint8_t *buf, uint8_t key, uint16_t asc, bool info_valid, uint64_t info,
	    const uint8_t *sks)
{
	memset(buf, 0, VT_SCSI_FIXED_SENSE_LEN);
	buf[0] = 0x70;
	buf[2] = key & 0xf;
	/* The fixed format carries 32 bits of INFORMATION; a larger value cannot be VALID. */
	if (info_valid && info <= UINT32_MAX) {
		buf[0] |= 0x80;
		vt_scsi_put32(&buf[3], (uint32_t)info);
	}
	buf[7] = VT_SCSI_FIXED_SENSE_LEN - 8;
	buf[12] = (uint8_t)(asc >> 8);
	buf[13] = (uint8_t)asc;
	if (sks != NULL) {
		memcpy(&buf[15], sks, 3);
	}
	return VT_SCSI_FIXED_SENSE_LEN;
}

static uint32_t
sense_desc(uint8_t *buf, uint8_t key, uint16_t asc, bool info_valid, uint64_t info,
	   const uint8_t *sks)
{
	uint32_t len = VT_SCSI_DESC_SENSE_LEN;

	memset(buf, 0,
	       VT_SCSI_DESC_SENSE_LEN + VT_SCSI_DESC_SENSE_INFO_LEN + VT_SCSI_DESC_SENSE_SKS_LEN);
	buf[0] = 0x72;
	buf[1] = key & 0xf;
	buf[2] = (uint8_t)(asc >> 8);
	buf[3] = (uint8_t)asc;
	if (info_valid) {
		uint8_t *d = &buf[VT_SCSI_DESC_SENSE_LEN];

		d[0] = 0x00; /* information descriptor */
		d[1] = 0x0a;
		d[2] = 0x80; /* VALID */
		vt_scsi_put64(&d[4], info);
		len += VT_SCSI_DESC_SENSE_INFO_LEN;
	}
	if (sks != NULL) {
		uint8_t *d = &buf[len];

		d[0] = 0x02; /* sense key specific descriptor */
		d[1] = 0x06;
		memcpy(&d[4], sks, 3);
		len += VT_SCSI_DESC_SENSE_SKS_LEN;
	}
	buf[7] = (uint8_t)(len - 8);
	return len;
}

/*
 * Writes sense data to buf (VT_SCSI_SENSE_MAX bytes) and returns its length. sks, when not NULL,
 * is the 3-byte sense-key specific field (SKSV set by the caller), e.g. a field pointer.
 */
uint32_t
scsi_sense_build_sks(uint8_t *buf, bool desc, uint8_t key, uint16_t asc, bool info_valid,
		     uint64_t info, const uint8_t *sks)
{
	if (desc) {
		return sense_desc(buf, key, asc, info_valid, info, sks);
	}
	return sense_fixed(buf, key, asc, info_valid, info, sks);
}

uint32_t
scsi_sense_build(uint8_t *buf, bool desc, uint8_t key, uint16_t asc, bool info_valid, uint64_t info)
{
	return scsi_sense_build_sks(buf, desc, key, asc, info_valid, info, NULL);
}

/* The sense-key specific field pointer (SPC-4 4.5.2.4.2) of byte (bit, or -1) of the CDB
 * (cdb true) or of the parameter list. */
void
scsi_sense_field_pointer(uint8_t *sks, bool cdb, uint16_t byte, int bit)
{
	sks[0] = (uint8_t)(0x80 | (cdb ? 0x40 : 0x00) | (bit >= 0 ? 0x08 | (bit & 0x07) : 0));
	vt_scsi_put16(&sks[1], byte);
}
