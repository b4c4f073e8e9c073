/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split bdevs: a claimed base cut into equal parts "<base>p0".."<base>p<N-1>", each a bdev whose
 * block b is the base's block offset + b. The parts share one descriptor and claim of the base;
 * the bdev layer keeps each part's I/O within the part, so adding the offset stays within the
 * base. The base going (deleted, hot-removed) removes every part; the last part destructed
 * releases the base.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/json.h"
#include "vt/log.h"
#include "vt/util.h"

#include "lib/bdev/bdev_vbdev.h"
#include "lib/bdev/split/bdev_split.h"

VT_LOG_REGISTER_COMPONENT(bdev_split)

#define MIB (1024ull * 1024)

struct vt_bdev_module g_bdev_split_module = {
	.name = "split",
};
VT_BDEV_MODULE_REGISTER(split, &g_bdev_split_module)

static TAILQ_HEAD(, split_base) g_split_bases = TAILQ_HEAD_INITIALIZER(g_split_bases);

int
bdev_split_geometry(uint64_t base_blocks, uint32_t blocklen, uint32_t count, uint64_t size_mb,
		    uint64_t *part_blocks, uint32_t *parts, const char **bad)
{
	uint64_t size, max;

	if (count == 0 || count > BDEV_SPLIT_MAX_COUNT) {
		*bad = "split_count";
		return -EINVAL;
	}
	if (size_mb != 0) {
		if (size_mb > UINT64_MAX / MIB || (size_mb * MIB) % blocklen != 0 ||
		    size_mb * MIB / blocklen > base_blocks) {
			*bad = "split_size_mb";
			return -EINVAL;
		}
		size = size_mb * MIB / blocklen;
	} else {
		size = base_blocks / count;
		if (size == 0) {
			*bad = "split_count";
			return -EINVAL;
		}
	}
	/* SPDK lowers the count to what fits. */
	max = base_blocks / size;
	*parts = count > max ? (uint32_t)max : count;
	*part_blocks = size;
	return 0;
}

static void
split_io_done(struct vt_bdev_io *base_io, bool success, void *cb_arg)
{
	(void)success;
	bdev_vbdev_complete(cb_arg, base_io);
}

static void
split_submit(void *module_ch, struct vt_bdev_io *io)
{
	struct split_channel *ch = module_ch;
	struct split_part *part = io->bdev->ctxt;
	int rc;

	rc = bdev_vbdev_submit(part->sb->desc, ch->base_ch, io, part->offset_blocks, split_io_done,
			       io);
	if (rc != 0) {
		bdev_vbdev_submit_failed(io, rc);
	}
}

static bool
split_io_type_supported(void *ctx, enum vt_bdev_io_type type)
{
	struct split_part *part = ctx;

	return bdev_vbdev_io_type_supported(part->sb->base, type);
}

static void *
split_create_channel(void *ctx)
{
	struct split_part *part = ctx;
	struct split_channel *ch = calloc(1, sizeof(*ch));

	if (ch == NULL) {
		return NULL;
	}
	ch->base_ch = vt_bdev_get_io_channel(part->sb->desc);
	if (ch->base_ch == NULL) {
		free(ch);
		return NULL;
	}
	return ch;
}

static void
split_destroy_channel(void *ctx, void *module_ch)
{
	struct split_channel *ch = module_ch;

	(void)ctx;
	vt_bdev_put_io_channel(ch->base_ch);
	free(ch);
}

static void
split_base_free(struct split_base *sb)
{
	if (sb->desc != NULL) {
		vt_bdev_close(sb->desc);
	}
	free(sb->parts);
	free(sb->base_name);
	free(sb);
}

/* Drops a reference (each live part holds one): the last frees the base's state. */
static void
split_base_put(struct split_base *sb)
{
	if (--sb->alive == 0) {
		TAILQ_REMOVE(&g_split_bases, sb, link);
		VT_DEBUGLOG(bdev_split, "split of '%s' gone\n", sb->base_name);
		split_base_free(sb);
	}
}

static int
split_destruct(void *ctx)
{
	struct split_part *part = ctx;
	struct split_base *sb = part->sb;

	sb->parts[part->index] = NULL;
	free(part->bdev.name);
	free(part);
	split_base_put(sb);
	return 0;
}

static void
split_dump_info_json(void *ctx, struct vt_json_write_ctx *w)
{
	struct split_part *part = ctx;

	vt_json_write_named_object_begin(w, "split");
	vt_json_write_named_string(w, "base_bdev", part->sb->base_name);
	vt_json_write_named_uint64(w, "offset_blocks", part->offset_blocks);
	vt_json_write_object_end(w);
}

/* One entry per split base, written by its first part. */
static void
split_write_config_json(struct vt_bdev *bdev, struct vt_json_write_ctx *w)
{
	struct split_part *part = bdev->ctxt;
	struct split_base *sb = part->sb;

	if (part->index != 0) {
		return;
	}
	vt_json_write_object_begin(w);
	vt_json_write_named_string(w, "method", "bdev_split_create");
	vt_json_write_named_object_begin(w, "params");
	vt_json_write_named_string(w, "base_bdev", sb->base_name);
	vt_json_write_named_uint64(w, "split_count", sb->count);
	vt_json_write_named_uint64(w, "split_size_mb", sb->split_size_mb);
	vt_json_write_object_end(w);
	vt_json_write_object_end(w);
}

static const struct vt_bdev_fn_table g_split_fn_table = {
	.destruct = split_destruct,
	.submit_request = split_submit,
	.io_type_supported = split_io_type_supported,
	.create_channel = split_create_channel,
	.destroy_channel = split_destroy_channel,
	.dump_info_json = split_dump_info_json,
	.write_config_json = split_write_config_json,
};

static void
split_unregister_all(struct split_base *sb, void (*cb)(void *cb_arg, int rc), void *cb_arg)
{
	sb->removing = true;
	/* A part may be destructed inside vt_bdev_unregister: hold sb across the loop. */
	sb->alive++;
	for (uint32_t i = 0; i < sb->count; i++) {
		if (sb->parts[i] != NULL) {
			vt_bdev_unregister(&sb->parts[i]->bdev, cb, cb_arg);
		}
	}
	split_base_put(sb);
}

static void
split_base_event(enum vt_bdev_event_type type, struct vt_bdev *base, void *ctx)
{
	struct split_base *sb = ctx;

	(void)base;
	if (type != VT_BDEV_EVENT_REMOVE || sb->removing) {
		return;
	}
	VT_NOTICELOG("base bdev '%s' removed: removing its %" PRIu32 " split parts\n",
		     sb->base_name, sb->count);
	split_unregister_all(sb, NULL, NULL);
}

struct split_base *
bdev_split_find(const char *base_name)
{
	struct split_base *sb;

	TAILQ_FOREACH (sb, &g_split_bases, link) {
		if (strcmp(sb->base_name, base_name) == 0) {
			return sb;
		}
	}
	return NULL;
}

static int
split_part_add(struct split_base *sb, uint32_t i)
{
	struct split_part *part = calloc(1, sizeof(*part));
	size_t len = strlen(sb->base_name) + 16;
	int rc;

	if (part == NULL) {
		return -ENOMEM;
	}
	part->bdev.name = malloc(len);
	if (part->bdev.name == NULL) {
		free(part);
		return -ENOMEM;
	}
	snprintf(part->bdev.name, len, "%sp%" PRIu32, sb->base_name, i);
	part->sb = sb;
	part->index = i;
	part->offset_blocks = (uint64_t)i * sb->part_blocks;
	part->bdev.product_name = "Split Disk";
	bdev_vbdev_copy_geometry(&part->bdev, sb->base);
	part->bdev.blockcnt = sb->part_blocks;
	part->bdev.ctxt = part;
	part->bdev.fn_table = &g_split_fn_table;
	part->bdev.module = &g_bdev_split_module;
	rc = vt_bdev_register(&part->bdev);
	if (rc != 0) {
		free(part->bdev.name);
		free(part);
		return rc;
	}
	sb->parts[i] = part;
	sb->alive++;
	return 0;
}

static void
split_rollback_done(void *cb_arg, int rc)
{
	(void)cb_arg;
	(void)rc;
}

int
bdev_split_create(const char *base_name, uint32_t count, uint64_t size_mb, struct split_base **sbp)
{
	struct split_base *sb;
	const char *bad;
	uint32_t parts;
	int rc;

	if (bdev_split_find(base_name) != NULL) {
		return -EEXIST;
	}
	sb = calloc(1, sizeof(*sb));
	if (sb == NULL) {
		return -ENOMEM;
	}
	sb->base_name = vt_strdup(base_name);
	if (sb->base_name == NULL) {
		free(sb);
		return -ENOMEM;
	}
	rc = vt_bdev_open(base_name, true, split_base_event, sb, &sb->desc);
	if (rc != 0) {
		sb->desc = NULL;
		split_base_free(sb);
		return rc;
	}
	sb->base = vt_bdev_desc_get_bdev(sb->desc);
	rc = bdev_split_geometry(vt_bdev_get_num_blocks(sb->base), sb->base->blocklen, count,
				 size_mb, &sb->part_blocks, &parts, &bad);
	if (rc == 0) {
		rc = vt_bdev_claim(sb->desc, "split");
	}
	if (rc != 0) {
		split_base_free(sb);
		return rc;
	}
	sb->count = parts;
	sb->split_size_mb = size_mb;
	sb->parts = calloc(parts, sizeof(*sb->parts));
	if (sb->parts == NULL) {
		split_base_free(sb);
		return -ENOMEM;
	}
	TAILQ_INSERT_TAIL(&g_split_bases, sb, link);
	for (uint32_t i = 0; i < parts; i++) {
		rc = split_part_add(sb, i);
		if (rc != 0) {
			VT_ERRLOG("cannot create split part %" PRIu32 " of '%s': %s\n", i,
				  base_name, vt_strerror(-rc));
			if (sb->alive == 0) {
				TAILQ_REMOVE(&g_split_bases, sb, link);
				split_base_free(sb);
			} else {
				split_unregister_all(sb, split_rollback_done, NULL);
			}
			return rc;
		}
	}
	VT_DEBUGLOG(bdev_split, "split '%s' into %" PRIu32 " parts of %" PRIu64 " blocks\n",
		    base_name, parts, sb->part_blocks);
	*sbp = sb;
	return 0;
}

void
bdev_split_delete(struct split_base *sb, void (*cb)(void *cb_arg, int rc), void *cb_arg)
{
	split_unregister_all(sb, cb, cb_arg);
}
