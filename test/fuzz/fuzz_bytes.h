/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_FUZZ_BYTES_H
#define VT_FUZZ_BYTES_H

/*
 * Reads a fuzzer input as a stream of fields for the host-side harnesses (fuzz_scsi_cmd,
 * fuzz_json_rpc, fuzz_config). Past the end every field reads as zero, so any input decodes to
 * something and a short input is a prefix of a longer one.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct fz_bytes {
	const uint8_t *p;
	size_t left;
};

static inline void
fz_init(struct fz_bytes *f, const uint8_t *data, size_t size)
{
	f->p = data;
	f->left = size;
}

static inline uint8_t
fz_u8(struct fz_bytes *f)
{
	if (f->left == 0) {
		return 0;
	}
	f->left--;
	return *f->p++;
}

static inline uint16_t
fz_u16(struct fz_bytes *f)
{
	uint16_t v = fz_u8(f);

	return (uint16_t)(v << 8 | fz_u8(f));
}

static inline uint32_t
fz_u32(struct fz_bytes *f)
{
	uint32_t v = fz_u16(f);

	return v << 16 | fz_u16(f);
}

static inline uint64_t
fz_u64(struct fz_bytes *f)
{
	uint64_t v = fz_u32(f);

	return v << 32 | fz_u32(f);
}

/* Copies up to len bytes of input into dst and zero-fills the rest; returns the bytes copied. */
static inline size_t
fz_bytes(struct fz_bytes *f, void *dst, size_t len)
{
	size_t n = len < f->left ? len : f->left;

	if (len == 0) {
		return 0;
	}
	memcpy(dst, f->p, n);
	memset((uint8_t *)dst + n, 0, len - n);
	f->p += n;
	f->left -= n;
	return n;
}

static inline int
fz_done(const struct fz_bytes *f)
{
	return f->left == 0;
}

#endif
