/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_FUZZ_COMMON_H
#define VT_FUZZ_COMMON_H

/* Shared by the libFuzzer harnesses. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vt/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Hostile input logs an error per rejected request: silence the logs unless VT_FUZZ_LOG is set
 * (to see what a crashing input did).
 */
static inline void
fuzz_quiet_logs(void)
{
	if (getenv("VT_FUZZ_LOG") == NULL) {
		vt_log_set_print_level(VT_LOG_DISABLED);
		vt_log_set_level(VT_LOG_DISABLED);
	}
}

/* A little-endian reader over the input; reads past the end give zeroes. */
struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

static inline uint8_t
fuzz_u8(struct fuzz_in *in)
{
	if (in->left == 0) {
		return 0;
	}
	in->left--;
	return *in->p++;
}

static inline uint16_t
fuzz_u16(struct fuzz_in *in)
{
	uint16_t v = fuzz_u8(in);

	return (uint16_t)(v | fuzz_u8(in) << 8);
}

static inline uint32_t
fuzz_u32(struct fuzz_in *in)
{
	uint32_t v = fuzz_u16(in);

	return v | (uint32_t)fuzz_u16(in) << 16;
}

static inline uint64_t
fuzz_u64(struct fuzz_in *in)
{
	uint64_t v = fuzz_u32(in);

	return v | (uint64_t)fuzz_u32(in) << 32;
}

/* Copies up to n bytes (fewer at the end of the input); returns how many. */
static inline size_t
fuzz_bytes(struct fuzz_in *in, void *dst, size_t n)
{
	if (n > in->left) {
		n = in->left;
	}
	memcpy(dst, in->p, n);
	in->p += n;
	in->left -= n;
	return n;
}

#endif
