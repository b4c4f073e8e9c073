/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RBD bdevs: a Ceph RBD image opened through librbd. Creation connects (a private cluster) or
 * takes a reference on a registered cluster, then opens the pool and the image in a job, and
 * registers the bdev on reactor 0 once that is done; nothing is left behind when a step fails.
 * An image resized elsewhere is noticed through rbd_update_watch and announced as a bdev resize.
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
#include "lib/bdev/rbd/bdev_rbd.h"

VT_LOG_REGISTER_COMPONENT(bdev_rbd)

#define MIB (1024ull * 1024)

static void rbd_module_fini(void);
static void rbd_write_clusters_config(struct vt_json_write_ctx *w);

struct vt_bdev_module g_bdev_rbd_module = {
	.name = "rbd",
	.module_fini = rbd_module_fini,
	.io_ctx_size = sizeof(struct rbd_io),
	.config_json = rbd_write_clusters_config,
};
VT_BDEV_MODULE_REGISTER(rbd, &g_bdev_rbd_module)

/* Every rbd bdev, registered or being created (reactor 0). */
static TAILQ_HEAD(, rbd_disk) g_rbd_disks = TAILQ_HEAD_INITIALIZER(g_rbd_disks);

bool
bdev_rbd_cluster_in_use(const struct rbd_cluster *c)
{
	return c->refs > 0;
}

static void
disk_free(struct rbd_disk *disk)
{
	free(disk->bdev.name);
	free(disk->pool_name);
	free(disk->rbd_name);
	free(disk->user_id);
	rbd_kv_free(&disk->config);
	free(disk);
}

/* ---- opening and closing (jobs) ---------------------------------------------------------- */

static void disk_watch_cb(void *arg);

/* Job: undoes what disk_open did (any thread). */
static void
disk_close(struct rbd_disk *disk)
{
	if (disk->watching) {
		rbd_update_unwatch(disk->image, disk->watch_handle);
		disk->watching = false;
	}
	if (disk->image != NULL) {
		rbd_close(disk->image);
		disk->image = NULL;
	}
	if (disk->ioctx != NULL) {
		rados_ioctx_destroy(disk->ioctx);
		disk->ioctx = NULL;
	}
	if (disk->private_cluster) {
		rbd_cluster_disconnect(disk->cluster);
	}
}

/* Job: connects (private cluster), opens pool and image, reads the size, starts the watch. */
static int
disk_open(struct rbd_disk *disk, bool read_only, uint64_t *size, struct rbd_err *err)
{
	int rc;

	if (disk->private_cluster && rbd_cluster_connect(disk->cluster, err) != 0) {
		return err->rc;
	}
	rc = rados_ioctx_create(disk->cluster->rados, disk->pool_name, &disk->ioctx);
	if (rc < 0) {
		disk->ioctx = NULL;
		rbd_err_set(err, rc, "cannot open pool '%s': %s", disk->pool_name,
			    rc == -ENOENT ? "no such pool" : vt_strerror(-rc));
		goto fail;
	}
	if (read_only) {
		rc = rbd_open_read_only(disk->ioctx, disk->rbd_name, &disk->image, NULL);
	} else {
		rc = rbd_open(disk->ioctx, disk->rbd_name, &disk->image, NULL);
	}
	if (rc < 0) {
		disk->image = NULL;
		rbd_err_set(err, rc, "cannot open image '%s' in pool '%s': %s", disk->rbd_name,
			    disk->pool_name, rc == -ENOENT ? "no such image" : vt_strerror(-rc));
		goto fail;
	}
	rc = rbd_get_size(disk->image, size);
	if (rc < 0) {
		rbd_err_set(err, rc, "cannot read the size of image '%s': %s", disk->rbd_name,
			    vt_strerror(-rc));
		goto fail;
	}
	rc = rbd_update_watch(disk->image, &disk->watch_handle, disk_watch_cb, disk);
	if (rc < 0) {
		rbd_err_set(err, rc, "cannot watch image '%s' for updates: %s", disk->rbd_name,
			    vt_strerror(-rc));
		goto fail;
	}
	disk->watching = true;
	return 0;
fail:
	disk_close(disk);
	return rc;
}

/* ---- creation ---------------------------------------------------------------------------- */

static const struct vt_bdev_fn_table g_rbd_fn_table;

struct create_ctx {
	struct rbd_disk *disk;
	bool read_only;
	bool name_given;
	uint64_t size;
	struct rbd_err err;
	rbd_create_cb cb;
	void *cb_arg;
};

static void
disk_release_cluster(struct rbd_disk *disk)
{
	if (disk->private_cluster) {
		rbd_cluster_free(disk->cluster);
	} else if (disk->cluster != NULL) {
		disk->cluster->refs--;
	}
	disk->cluster = NULL;
}

static void
create_work(void *arg)
{
	struct create_ctx *ctx = arg;

	disk_open(ctx->disk, ctx->read_only, &ctx->size, &ctx->err);
}

/* The failed creation's close job is done: answer with the error kept in ctx. */
static void
create_undone(void *arg)
{
	struct create_ctx *ctx = arg;

	TAILQ_REMOVE(&g_rbd_disks, ctx->disk, link);
	disk_release_cluster(ctx->disk);
	disk_free(ctx->disk);
	ctx->cb(ctx->cb_arg, NULL, &ctx->err);
	free(ctx);
}

static void
create_undo_work(void *arg)
{
	struct create_ctx *ctx = arg;

	disk_close(ctx->disk);
}

/* Ceph0, Ceph1, ...: the first name no bdev has. */
static int
pick_default_name(struct rbd_disk *disk)
{
	char name[32];

	for (uint32_t i = 0; i < UINT32_MAX; i++) {
		snprintf(name, sizeof(name), "Ceph%" PRIu32, i);
		if (vt_bdev_get_by_name(name) == NULL) {
			disk->bdev.name = strdup(name);
			return disk->bdev.name == NULL ? -ENOMEM : 0;
		}
	}
	return -ENOSPC;
}

static int
create_register(struct create_ctx *ctx)
{
	struct rbd_disk *disk = ctx->disk;
	int rc;

	if (ctx->size < disk->bdev.blocklen) {
		rbd_err_set(&ctx->err, -EINVAL,
			    "image '%s' (%" PRIu64 " bytes) is smaller than "
			    "one block of %" PRIu32 " bytes",
			    disk->rbd_name, ctx->size, disk->bdev.blocklen);
		return -EINVAL;
	}
	if (!ctx->name_given && pick_default_name(disk) != 0) {
		rbd_err_set(&ctx->err, -ENOMEM, "cannot name the bdev");
		return -ENOMEM;
	}
	disk->bdev.blockcnt = ctx->size / disk->bdev.blocklen;
	rc = vt_bdev_register(&disk->bdev);
	if (rc != 0) {
		rbd_err_set(&ctx->err, rc, "%s",
			    rc == -EEXIST ? "a bdev with this name or uuid "
					    "already exists"
					  : vt_strerror(-rc));
	}
	return rc;
}

static void
create_done(void *arg)
{
	struct create_ctx *ctx = arg;

	if (ctx->err.rc == 0 && create_register(ctx) == 0) {
		VT_NOTICELOG("rbd bdev '%s' on %s/%s: %" PRIu64 " blocks of %" PRIu32 " bytes\n",
			     ctx->disk->bdev.name, ctx->disk->pool_name, ctx->disk->rbd_name,
			     ctx->disk->bdev.blockcnt, ctx->disk->bdev.blocklen);
		ctx->cb(ctx->cb_arg, &ctx->disk->bdev, NULL);
		free(ctx);
		return;
	}
	if (ctx->disk->image != NULL || ctx->disk->cluster->connected) {
		if (rbd_job_start(create_undo_work, create_undone, ctx) == 0) {
			return;
		}
		disk_close(ctx->disk);
	}
	create_undone(ctx);
}

static int
disk_init(struct rbd_disk *disk, const struct rbd_create_opts *opts, struct rbd_err *err)
{
	disk->pool_name = strdup(opts->pool_name);
	disk->rbd_name = strdup(opts->rbd_name);
	disk->bdev.name = opts->name != NULL ? strdup(opts->name) : NULL;
	if (disk->pool_name == NULL || disk->rbd_name == NULL ||
	    (opts->name != NULL && disk->bdev.name == NULL) ||
	    (opts->user_id != NULL && (disk->user_id = strdup(opts->user_id)) == NULL) ||
	    rbd_kv_dup(&disk->config, opts->config) != 0) {
		rbd_err_set(err, -ENOMEM, "out of memory");
		return -ENOMEM;
	}
	disk->bdev.product_name = "Ceph Rbd Disk";
	disk->bdev.blocklen = opts->block_size;
	disk->bdev.write_cache = true;
	/* Atomic in the cluster, not only in this daemon: librbd's compare-and-write, which must
	 * stay inside one object; one block never crosses one. */
	disk->bdev.acwu = 1;
	disk->bdev.read_only = opts->read_only;
	disk->bdev.ctxt = disk;
	disk->bdev.fn_table = &g_rbd_fn_table;
	disk->bdev.module = &g_bdev_rbd_module;
	if (opts->uuid != NULL) {
		disk->bdev.uuid = *opts->uuid;
	}
	return 0;
}

static int
disk_take_cluster(struct rbd_disk *disk, const struct rbd_create_opts *opts, struct rbd_err *err)
{
	if (opts->cluster_name != NULL) {
		disk->cluster = rbd_cluster_find(opts->cluster_name);
		if (disk->cluster == NULL || disk->cluster->removing) {
			disk->cluster = NULL;
			rbd_err_set(err, -ENOENT, "rbd cluster '%s' is not registered",
				    opts->cluster_name);
			return -ENOENT;
		}
		disk->cluster->refs++;
		return 0;
	}
	disk->cluster = rbd_cluster_new(NULL, opts->user_id, opts->config, NULL, NULL);
	if (disk->cluster == NULL) {
		rbd_err_set(err, -ENOMEM, "out of memory");
		return -ENOMEM;
	}
	disk->private_cluster = true;
	return 0;
}

int
bdev_rbd_create(const struct rbd_create_opts *opts, rbd_create_cb cb, void *cb_arg,
		struct rbd_err *err)
{
	struct create_ctx *ctx = calloc(1, sizeof(*ctx));
	struct rbd_disk *disk = calloc(1, sizeof(*disk));
	int rc;

	if (ctx == NULL || disk == NULL) {
		rbd_err_set(err, -ENOMEM, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	rc = disk_init(disk, opts, err);
	if (rc == 0) {
		rc = disk_take_cluster(disk, opts, err);
	}
	if (rc != 0) {
		goto fail;
	}
	ctx->disk = disk;
	ctx->read_only = opts->read_only;
	ctx->name_given = opts->name != NULL;
	ctx->cb = cb;
	ctx->cb_arg = cb_arg;
	rc = rbd_job_start(create_work, create_done, ctx);
	if (rc != 0) {
		rbd_err_set(err, rc, "cannot start the connection: %s", vt_strerror(-rc));
		disk_release_cluster(disk);
		goto fail;
	}
	TAILQ_INSERT_TAIL(&g_rbd_disks, disk, link);
	return 0;
fail:
	if (disk != NULL) {
		disk_free(disk);
	}
	free(ctx);
	return rc;
}

/* ---- destruction ------------------------------------------------------------------------- */

static void
destruct_work(void *arg)
{
	disk_close(arg);
}

static void
destruct_done(void *arg)
{
	struct rbd_disk *disk = arg;

	TAILQ_REMOVE(&g_rbd_disks, disk, link);
	disk_release_cluster(disk);
	vt_bdev_destruct_done(&disk->bdev, 0);
	disk_free(disk);
}

/* A size job may still run: the disk is freed once it has come back (size_done). */
static void
destruct_start(struct rbd_disk *disk)
{
	if (rbd_job_start(destruct_work, destruct_done, disk) != 0) {
		disk_close(disk);
		destruct_done(disk);
	}
}

static int
rbd_destruct(void *ctx)
{
	struct rbd_disk *disk = ctx;

	disk->destructing = true;
	if (!disk->size_check_running) {
		destruct_start(disk);
	}
	return 1;
}

int
bdev_rbd_delete(struct vt_bdev *bdev, void (*cb)(void *cb_arg, int rc), void *cb_arg)
{
	vt_bdev_unregister(bdev, cb, cb_arg);
	return 0;
}

/* ---- size changes ------------------------------------------------------------------------ */

static void size_check_start(struct rbd_disk *disk);

static void
size_work(void *arg)
{
	struct rbd_disk *disk = arg;

	disk->size_rc = rbd_get_size(disk->image, &disk->new_size);
}

static void
size_done(void *arg)
{
	struct rbd_disk *disk = arg;
	uint64_t blocks = disk->new_size / disk->bdev.blocklen;

	disk->size_check_running = false;
	if (disk->destructing) {
		destruct_start(disk);
		return;
	}
	if (disk->size_rc < 0) {
		VT_WARNLOG("cannot read the new size of rbd image '%s': %s\n", disk->rbd_name,
			   vt_strerror(-disk->size_rc));
	} else if (blocks != disk->bdev.blockcnt && blocks > 0) {
		VT_NOTICELOG("rbd bdev '%s': image resized to %" PRIu64 " bytes\n", disk->bdev.name,
			     disk->new_size);
		vt_bdev_notify_blockcnt_change(&disk->bdev, blocks);
	}
	if (disk->size_check_again) {
		size_check_start(disk);
	}
}

static void
size_check_start(struct rbd_disk *disk)
{
	if (disk->destructing) {
		return;
	}
	if (disk->size_check_running) {
		disk->size_check_again = true;
		return;
	}
	disk->size_check_again = false;
	disk->size_check_running = true;
	if (rbd_job_start(size_work, size_done, disk) != 0) {
		disk->size_check_running = false;
	}
}

/* On reactor 0: the image header changed (size, features, snapshots). */
static void
disk_updated(void *arg)
{
	struct rbd_disk *disk;

	/* The disk may have gone between the callback and this message: look it up. */
	TAILQ_FOREACH (disk, &g_rbd_disks, link) {
		if (disk == arg) {
			size_check_start(disk);
			return;
		}
	}
}

/* librbd's thread. */
static void
disk_watch_cb(void *arg)
{
	if (vt_send_msg(0, disk_updated, arg) != 0) {
		VT_WARNLOG("cannot post an rbd image update to reactor 0\n");
	}
}

struct resize_ctx {
	struct rbd_disk *disk;
	uint64_t bytes;
	struct rbd_err err;
	rbd_resize_cb cb;
	void *cb_arg;
};

static void
resize_work(void *arg)
{
	struct resize_ctx *ctx = arg;
	int rc = rbd_resize(ctx->disk->image, ctx->bytes);

	if (rc < 0) {
		rbd_err_set(&ctx->err, rc, "cannot resize image '%s': %s", ctx->disk->rbd_name,
			    vt_strerror(-rc));
	}
}

static void
resize_done(void *arg)
{
	struct resize_ctx *ctx = arg;
	uint64_t blocks = ctx->bytes / ctx->disk->bdev.blocklen;

	if (ctx->err.rc == 0 && !ctx->disk->destructing && blocks != ctx->disk->bdev.blockcnt) {
		ctx->err.rc = vt_bdev_notify_blockcnt_change(&ctx->disk->bdev, blocks);
		if (ctx->err.rc != 0) {
			rbd_err_set(&ctx->err, ctx->err.rc, "cannot announce the new size: %s",
				    vt_strerror(-ctx->err.rc));
		}
	}
	ctx->disk->size_check_running = false;
	if (ctx->disk->destructing) {
		destruct_start(ctx->disk);
	}
	ctx->cb(ctx->cb_arg, ctx->err.rc == 0 ? NULL : &ctx->err);
	free(ctx);
}

int
bdev_rbd_resize(struct rbd_disk *disk, uint64_t new_size_mib, rbd_resize_cb cb, void *cb_arg,
		struct rbd_err *err)
{
	uint64_t cur = disk->bdev.blockcnt * disk->bdev.blocklen;
	struct resize_ctx *ctx;
	int rc;

	if (new_size_mib == 0 || new_size_mib > UINT64_MAX / MIB || new_size_mib * MIB < cur) {
		rbd_err_set(err, -EINVAL,
			    "invalid parameter 'new_size': %" PRIu64 " MiB is smaller "
			    "than the current size (%" PRIu64 " bytes); rbd bdevs only grow",
			    new_size_mib, cur);
		return -EINVAL;
	}
	if (disk->size_check_running || disk->destructing) {
		rbd_err_set(err, -EBUSY, "bdev '%s' is being resized or deleted", disk->bdev.name);
		return -EBUSY;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		rbd_err_set(err, -ENOMEM, "out of memory");
		return -ENOMEM;
	}
	ctx->disk = disk;
	ctx->bytes = new_size_mib * MIB;
	ctx->cb = cb;
	ctx->cb_arg = cb_arg;
	/* The size job's flag also keeps destruct waiting for this one. */
	disk->size_check_running = true;
	rc = rbd_job_start(resize_work, resize_done, ctx);
	if (rc != 0) {
		disk->size_check_running = false;
		free(ctx);
		rbd_err_set(err, rc, "cannot start the resize: %s", vt_strerror(-rc));
	}
	return rc;
}

/* ---- the fn_table ------------------------------------------------------------------------ */

static void *
rbd_create_channel(void *ctx)
{
	/* No per-reactor state: the completion lists are the module's (bdev_rbd_io.c). */
	return ctx;
}

static void
rbd_destroy_channel(void *ctx, void *module_ch)
{
}

/* SPDK's shape: {"rbd": {pool_name, rbd_name, then the cluster's or the bdev's options}}. */
static void
rbd_dump_info_json(void *ctx, struct vt_json_write_ctx *w)
{
	struct rbd_disk *disk = ctx;

	vt_json_write_named_object_begin(w, "rbd");
	vt_json_write_named_string(w, "pool_name", disk->pool_name);
	vt_json_write_named_string(w, "rbd_name", disk->rbd_name);
	if (!disk->private_cluster) {
		vt_json_write_named_string(w, "cluster_name", disk->cluster->name);
		rbd_cluster_dump(disk->cluster, w, false);
	} else {
		if (disk->user_id != NULL) {
			vt_json_write_named_string(w, "user_id", disk->user_id);
		}
		rbd_kv_dump(w, "config", &disk->config);
	}
	vt_json_write_object_end(w);
}

static void
rbd_write_config_json(struct vt_bdev *bdev, struct vt_json_write_ctx *w)
{
	struct rbd_disk *disk = bdev->ctxt;
	char uuid[VT_UUID_STRING_LEN];

	vt_json_write_object_begin(w);
	vt_json_write_named_string(w, "method", "bdev_rbd_create");
	vt_json_write_named_object_begin(w, "params");
	vt_json_write_named_string(w, "name", bdev->name);
	vt_json_write_named_string(w, "pool_name", disk->pool_name);
	vt_json_write_named_string(w, "rbd_name", disk->rbd_name);
	vt_json_write_named_uint64(w, "block_size", bdev->blocklen);
	if (disk->private_cluster) {
		if (disk->user_id != NULL) {
			vt_json_write_named_string(w, "user_id", disk->user_id);
		}
		rbd_kv_dump(w, "config", &disk->config);
	} else {
		vt_json_write_named_string(w, "cluster_name", disk->cluster->name);
	}
	if (bdev->read_only) {
		vt_json_write_named_bool(w, "read_only", true);
	}
	vt_uuid_fmt(uuid, sizeof(uuid), &bdev->uuid);
	vt_json_write_named_string(w, "uuid", uuid);
	vt_json_write_object_end(w);
	vt_json_write_object_end(w);
}

static const struct vt_bdev_fn_table g_rbd_fn_table = {
	.destruct = rbd_destruct,
	.submit_request = rbd_submit_request,
	.io_type_supported = rbd_io_type_supported,
	.create_channel = rbd_create_channel,
	.destroy_channel = rbd_destroy_channel,
	.dump_info_json = rbd_dump_info_json,
	.write_config_json = rbd_write_config_json,
};

/* bdev_rbd_register_cluster entries for every registered cluster. */
static void
rbd_write_clusters_config(struct vt_json_write_ctx *w)
{
	for (struct rbd_cluster *c = rbd_cluster_first(); c != NULL; c = rbd_cluster_next(c)) {
		if (c->removing) {
			continue;
		}
		vt_json_write_object_begin(w);
		vt_json_write_named_string(w, "method", "bdev_rbd_register_cluster");
		vt_json_write_named_object_begin(w, "params");
		vt_json_write_named_string(w, "name", c->name);
		rbd_cluster_dump(c, w, false);
		vt_json_write_object_end(w);
		vt_json_write_object_end(w);
	}
}

static void
rbd_module_fini(void)
{
	struct rbd_cluster *c;

	rbd_jobs_drain();
	while ((c = rbd_cluster_first()) != NULL) {
		rbd_cluster_remove(c);
		rbd_cluster_disconnect(c);
		rbd_cluster_free(c);
	}
}
