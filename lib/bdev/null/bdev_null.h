/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_BDEV_NULL_H
#define VT_BDEV_NULL_H

#include <stdbool.h>
#include <stdint.h>

#include "vt/bdev_module.h"

/* Largest null bdev block size; the smallest is 512. */
#define BDEV_NULL_MAX_BLOCK_SIZE 65536

struct bdev_null_opts {
	const char *name;
	uint64_t num_blocks;
	uint32_t block_size;          /* a power of two, 512..BDEV_NULL_MAX_BLOCK_SIZE */
	uint32_t physical_block_size; /* 0: block_size; else as vt_bdev.phys_blocklen */
	const struct vt_uuid *uuid;   /* NULL: generated */
	bool no_read_zeroes;          /* reads leave their buffers untouched (benchmarks) */
};

extern struct vt_bdev_module g_bdev_null_module;

/* On reactor 0. 0, -EINVAL, -EEXIST (name or uuid in use), -ENOMEM. */
int bdev_null_create(const struct bdev_null_opts *opts, struct vt_bdev **bdev);
/*
 * Unregisters a null bdev: 0 and cb(cb_arg, rc) once it is gone, or -ENODEV (cb not called)
 * when bdev is not a null bdev.
 */
int bdev_null_delete(struct vt_bdev *bdev, void (*cb)(void *cb_arg, int rc), void *cb_arg);
/*
 * Grows a null bdev to new_size_mib MiB and sends RESIZE to its users. -EINVAL: not a null bdev,
 * 0, too large, or smaller than now (null bdevs never shrink, like SPDK's).
 */
int bdev_null_resize(struct vt_bdev *bdev, uint64_t new_size_mib);

#endif
