/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_BDEV_MALLOC_H
#define VT_BDEV_MALLOC_H

#include <stdbool.h>
#include <stdint.h>

#include "vt/bdev_module.h"

/* Largest malloc bdev block size; the smallest is 512. */
#define BDEV_MALLOC_MAX_BLOCK_SIZE 65536

struct bdev_malloc_opts {
	const char *name; /* NULL: "MallocN" with the first free N */
	uint64_t num_blocks;
	uint32_t block_size; /* a power of two, 512..BDEV_MALLOC_MAX_BLOCK_SIZE */
	/* 0: same as block_size; else a power of two, block_size to
	 * VT_BDEV_MAX_PHYS_BLOCKS_PER_BLOCK times it (bdev_malloc_phys_block_size_is_valid). */
	uint32_t physical_block_size;
	const struct vt_uuid *uuid;   /* NULL: generated */
	uint32_t optimal_io_boundary; /* in blocks, 0 = none */
};

extern struct vt_bdev_module g_bdev_malloc_module;

/* Largest size in bytes a malloc bdev may have: the machine's physical memory. */
uint64_t bdev_malloc_max_bytes(void);
/* The rule for bdev_malloc_opts.physical_block_size against a valid block_size. */
bool bdev_malloc_phys_block_size_is_valid(uint32_t physical_block_size, uint32_t block_size);
/* On reactor 0. 0, -EINVAL, -EEXIST (name or uuid in use), -ENOMEM. */
int bdev_malloc_create(const struct bdev_malloc_opts *opts, struct vt_bdev **bdev);
/*
 * Unregisters a malloc bdev: 0 and cb(cb_arg, rc) once it is gone, or -ENODEV (cb not called)
 * when bdev is not a malloc bdev.
 */
int bdev_malloc_delete(struct vt_bdev *bdev, void (*cb)(void *cb_arg, int rc), void *cb_arg);

#endif
