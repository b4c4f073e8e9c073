/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_LIB_BDEV_SPLIT_H
#define VT_LIB_BDEV_SPLIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"

/* Most parts one base is split into. */
#define BDEV_SPLIT_MAX_COUNT 65536u

struct split_part;

/* One split base: the claim and the descriptor its parts share. */
struct split_base {
	struct vt_bdev *base;
	struct vt_bdev_desc *desc; /* owned by reactor 0, claimed */
	char *base_name;
	uint32_t count;         /* parts created */
	uint64_t split_size_mb; /* as asked (0: the base divided evenly) */
	uint64_t part_blocks;
	uint32_t alive; /* parts not yet destructed */
	bool removing;
	struct split_part **parts;
	TAILQ_ENTRY(split_base) link;
};

struct split_part {
	struct vt_bdev bdev;
	struct split_base *sb;
	uint32_t index;
	uint64_t offset_blocks; /* on the base */
};

struct split_channel {
	struct vt_bdev_channel *base_ch;
};

extern struct vt_bdev_module g_bdev_split_module;

/*
 * The geometry of a split of base_blocks blocks of blocklen bytes into count parts of size_mb MiB
 * (0: base_blocks / count each). Sets *part_blocks and *parts (count, lowered as SPDK does to the
 * number that fit). -EINVAL: count 0 or above BDEV_SPLIT_MAX_COUNT (*bad = "split_count"), count
 * parts of at least one block do not fit ("split_count"), size_mb is not whole blocks, too large,
 * or larger than the base ("split_size_mb").
 */
int bdev_split_geometry(uint64_t base_blocks, uint32_t blocklen, uint32_t count, uint64_t size_mb,
			uint64_t *part_blocks, uint32_t *parts, const char **bad);

/* On reactor 0. Creates the parts; *sbp for their names. */
int bdev_split_create(const char *base_name, uint32_t count, uint64_t size_mb,
		      struct split_base **sbp);
struct split_base *bdev_split_find(const char *base_name);
/* Unregisters every part; cb(cb_arg, 0) once all are gone. */
void bdev_split_delete(struct split_base *sb, void (*cb)(void *cb_arg, int rc), void *cb_arg);

#endif
