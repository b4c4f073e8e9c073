/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RPCs of the bdev layer, with SPDK's names, parameters and result shapes: bdev_get_bdevs,
 * bdev_get_iostat, bdev_set_options and bdev_wait_for_examine, and the checks, lookup and delete
 * the modules' RPCs share. They run on reactor 0, the only reactor that changes the registry, so
 * walking it needs no lock.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/event.h"
#include "vt/json.h"
#include "vt/log.h"
#include "vt/rpc.h"

#include "lib/bdev/bdev_internal.h"

static void
rpc_send_no_bdev(struct vt_jsonrpc_request *req, const char *name)
{
	vt_jsonrpc_send_error_response_fmt(req, -ENODEV, "bdev '%s' does not exist", name);
}

/* A live bdev by name, alias or UUID; NULL when there is none or it is being removed. */
static struct bdev_internal *
rpc_lookup_bdev(const char *name)
{
	struct vt_bdev *bdev = vt_bdev_get_by_name(name);

	if (bdev == NULL || atomic_load(&bdev->internal->removing)) {
		return NULL;
	}
	return bdev->internal;
}

/* ---- bdev_get_bdevs ----------------------------------------------------------------------- */

static void
rpc_dump_io_types(struct vt_json_write_ctx *w, struct vt_bdev *bdev)
{
	static const enum vt_bdev_io_type types[] = {
		VT_BDEV_IO_TYPE_READ,
		VT_BDEV_IO_TYPE_WRITE,
		VT_BDEV_IO_TYPE_UNMAP,
		VT_BDEV_IO_TYPE_FLUSH,
		VT_BDEV_IO_TYPE_RESET,
		VT_BDEV_IO_TYPE_COMPARE,
		VT_BDEV_IO_TYPE_COMPARE_AND_WRITE,
		VT_BDEV_IO_TYPE_WRITE_ZEROES,
	};

	vt_json_write_named_object_begin(w, "supported_io_types");
	for (size_t i = 0; i < VT_COUNTOF(types); i++) {
		vt_json_write_named_bool(w, vt_bdev_io_type_name(types[i]),
					 vt_bdev_io_type_supported(bdev, types[i]));
	}
	vt_json_write_named_bool(w, "abort", false);
	vt_json_write_named_bool(w, "nvme_admin", false);
	vt_json_write_named_bool(w, "nvme_io", false);
	vt_json_write_object_end(w);
}

static void
rpc_dump_bdev(struct vt_json_write_ctx *w, struct bdev_internal *bi)
{
	struct vt_bdev *bdev = bi->bdev;
	char uuid[VT_UUID_STRING_LEN];
	struct bdev_alias *a;

	vt_json_write_object_begin(w);
	vt_json_write_named_string(w, "name", bdev->name);
	vt_json_write_named_array_begin(w, "aliases");
	TAILQ_FOREACH (a, &bi->aliases, link) {
		vt_json_write_string(w, a->name);
	}
	vt_json_write_array_end(w);
	vt_json_write_named_string(w, "product_name", vt_bdev_get_product_name(bdev));
	vt_json_write_named_uint64(w, "block_size", bdev->blocklen);
	vt_json_write_named_uint64(w, "num_blocks", vt_bdev_get_num_blocks(bdev));
	vt_uuid_fmt(uuid, sizeof(uuid), &bdev->uuid);
	vt_json_write_named_string(w, "uuid", uuid);
	bdev_qos_write_limits_json(w, bi);
	vt_json_write_named_bool(w, "claimed", bi->claim_desc != NULL);
	if (bi->claim_desc != NULL) {
		vt_json_write_named_string(w, "claim_type",
					   bi->claim_key != NULL ? "read_many_write_shared"
								 : "exclusive_write");
	}
	vt_json_write_named_bool(w, "zoned", false);
	rpc_dump_io_types(w, bdev);
	/* vtarget's additions: what SCSI and virtio-blk advertise. */
	vt_json_write_named_bool(w, "write_cache", bdev->write_cache);
	vt_json_write_named_uint64(w, "md_size", 0);
	vt_json_write_named_uint64(w, "optimal_io_boundary", bdev->optimal_io_boundary);
	vt_json_write_named_uint64(w, "buf_align", bi->buf_align);
	vt_json_write_named_uint64(w, "acwu", bi->acwu);
	vt_json_write_named_bool(w, "read_only", bdev->read_only);
	vt_json_write_named_object_begin(w, "driver_specific");
	if (bdev->fn_table->dump_info_json != NULL) {
		bdev->fn_table->dump_info_json(bdev->ctxt, w);
	}
	vt_json_write_object_end(w);
	vt_json_write_object_end(w);
}

struct rpc_get_bdevs {
	char *name;
	uint64_t timeout; /* ms to wait for the named bdev to appear (SPDK semantics) */
};

/* A bdev_get_bdevs with a name and a timeout, waiting for that bdev to be registered. */
struct rpc_get_bdevs_wait {
	struct vt_jsonrpc_request *req;
	char *name;
	uint64_t deadline; /* vt_get_ticks() value after which the answer is -ENODEV */
	struct vt_poller *poller;
};

#define RPC_GET_BDEVS_WAIT_PERIOD_US 5000

static const struct vt_json_object_decoder g_get_bdevs_decoders[] = {
	{ "name", offsetof(struct rpc_get_bdevs, name), vt_json_decode_string, true },
	{ "timeout", offsetof(struct rpc_get_bdevs, timeout), vt_json_decode_uint64, true },
};

static void
rpc_get_bdevs_answer_one(struct vt_jsonrpc_request *req, struct bdev_internal *bi)
{
	struct vt_json_write_ctx *w = vt_jsonrpc_begin_result(req);

	vt_json_write_array_begin(w);
	rpc_dump_bdev(w, bi);
	vt_json_write_array_end(w);
	vt_jsonrpc_end_result(req, w);
}

static int
rpc_get_bdevs_wait_poll(void *arg)
{
	struct rpc_get_bdevs_wait *wait = arg;
	struct bdev_internal *bi = rpc_lookup_bdev(wait->name);

	if (bi == NULL && vt_get_ticks() < wait->deadline) {
		return VT_POLLER_IDLE;
	}
	if (bi != NULL) {
		rpc_get_bdevs_answer_one(wait->req, bi);
	} else {
		rpc_send_no_bdev(wait->req, wait->name);
	}
	vt_poller_unregister(&wait->poller);
	free(wait->name);
	free(wait);
	return VT_POLLER_BUSY;
}

/* Takes ownership of name. Returns 0, or -ENOMEM (nothing answered). */
static int
rpc_get_bdevs_wait(struct vt_jsonrpc_request *req, char *name, uint64_t timeout_ms)
{
	struct rpc_get_bdevs_wait *wait = calloc(1, sizeof(*wait));

	if (wait == NULL) {
		return -ENOMEM;
	}
	wait->req = req;
	wait->name = name;
	wait->deadline = vt_get_ticks() + timeout_ms * (VT_TICKS_HZ / 1000);
	wait->poller = vt_poller_register(rpc_get_bdevs_wait_poll, wait,
					  RPC_GET_BDEVS_WAIT_PERIOD_US, "bdev_get_bdevs_wait");
	if (wait->poller == NULL) {
		free(wait);
		return -ENOMEM;
	}
	return 0;
}

static void
rpc_bdev_get_bdevs(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_get_bdevs p = { 0 };
	struct bdev_internal *bi = NULL;
	struct vt_json_write_ctx *w;

	if (vt_rpc_decode_params(req, params, g_get_bdevs_decoders,
				 VT_COUNTOF(g_get_bdevs_decoders), &p) != 0) {
		goto out;
	}
	if (p.name != NULL) {
		bi = rpc_lookup_bdev(p.name);
		if (bi == NULL && p.timeout > 0) {
			/* SPDK waits up to timeout ms for the bdev to be registered. */
			if (rpc_get_bdevs_wait(req, p.name, p.timeout) == 0) {
				return;
			}
			vt_jsonrpc_send_error_response(req, -ENOMEM,
						       "cannot wait for bdev: out of memory");
			goto out;
		}
		if (bi == NULL) {
			rpc_send_no_bdev(req, p.name);
			goto out;
		}
	}
	w = vt_jsonrpc_begin_result(req);
	vt_json_write_array_begin(w);
	if (bi != NULL) {
		rpc_dump_bdev(w, bi);
	} else {
		for (bi = bdev_registry_first(); bi != NULL; bi = bdev_registry_next(bi)) {
			if (!atomic_load(&bi->removing)) {
				rpc_dump_bdev(w, bi);
			}
		}
	}
	vt_json_write_array_end(w);
	vt_jsonrpc_end_result(req, w);
out:
	free(p.name);
}
VT_RPC_REGISTER("bdev_get_bdevs", rpc_bdev_get_bdevs, VT_RPC_STARTUP | VT_RPC_RUNTIME)

/* ---- bdev_get_iostat ---------------------------------------------------------------------- */

struct rpc_iostat {
	struct vt_jsonrpc_request *req;
	struct bdev_internal **bdevs; /* referenced until the answer is sent */
	struct vt_bdev_io_stat *stats;
	uint32_t count;
	uint32_t next;
	int rc;
	enum vt_bdev_reset_stat_mode reset_mode;
	struct vt_bdev_io_stat_channels *channels; /* per_channel: the one bdev's channels */
	bool reset_only;                           /* bdev_reset_iostat: answers true */
};

/* The statistics members, as SPDK writes them (inside an open object). */
static void
rpc_write_stat_fields(struct vt_json_write_ctx *w, const struct vt_bdev_io_stat *s)
{
	vt_json_write_named_uint64(w, "bytes_read", s->bytes_read);
	vt_json_write_named_uint64(w, "num_read_ops", s->num_read_ops);
	vt_json_write_named_uint64(w, "bytes_written", s->bytes_written);
	vt_json_write_named_uint64(w, "num_write_ops", s->num_write_ops);
	vt_json_write_named_uint64(w, "bytes_unmapped", s->bytes_unmapped);
	vt_json_write_named_uint64(w, "num_unmap_ops", s->num_unmap_ops);
	vt_json_write_named_uint64(w, "bytes_copied", 0);
	vt_json_write_named_uint64(w, "num_copy_ops", 0);
	vt_json_write_named_uint64(w, "read_latency_ticks", s->read_latency_ticks);
	vt_json_write_named_uint64(w, "max_read_latency_ticks", s->max_read_latency_ticks);
	vt_json_write_named_uint64(w, "min_read_latency_ticks", s->min_read_latency_ticks);
	vt_json_write_named_uint64(w, "write_latency_ticks", s->write_latency_ticks);
	vt_json_write_named_uint64(w, "max_write_latency_ticks", s->max_write_latency_ticks);
	vt_json_write_named_uint64(w, "min_write_latency_ticks", s->min_write_latency_ticks);
	vt_json_write_named_uint64(w, "unmap_latency_ticks", s->unmap_latency_ticks);
	vt_json_write_named_uint64(w, "max_unmap_latency_ticks", s->max_unmap_latency_ticks);
	vt_json_write_named_uint64(w, "min_unmap_latency_ticks", s->min_unmap_latency_ticks);
	vt_json_write_named_uint64(w, "copy_latency_ticks", 0);
	vt_json_write_named_uint64(w, "max_copy_latency_ticks", 0);
	vt_json_write_named_uint64(w, "min_copy_latency_ticks", 0);
	vt_json_write_named_uint64(w, "num_errors", s->num_errors);
}

static void
rpc_iostat_free(struct rpc_iostat *ctx)
{
	for (uint32_t i = 0; i < ctx->count; i++) {
		bdev_unref(ctx->bdevs[i]);
	}
	free(ctx->bdevs);
	free(ctx->stats);
	free(ctx->channels);
	free(ctx);
}

/* SPDK's per_channel shape: the bdev's name and one entry per channel, with its thread. */
static void
rpc_iostat_write_channels(struct vt_json_write_ctx *w, struct rpc_iostat *ctx)
{
	vt_json_write_named_string(w, "name", ctx->bdevs[0]->bdev->name);
	vt_json_write_named_array_begin(w, "channels");
	for (uint32_t i = 0; i < ctx->channels->count; i++) {
		vt_json_write_object_begin(w);
		/* SPDK numbers threads from 1; vtarget has one thread per reactor. */
		vt_json_write_named_uint64(w, "thread_id", ctx->channels->ch[i].reactor + 1);
		vt_json_write_named_uint64(w, "reactor", ctx->channels->ch[i].reactor);
		rpc_write_stat_fields(w, &ctx->channels->ch[i].stat);
		vt_json_write_object_end(w);
	}
	vt_json_write_array_end(w);
}

static void
rpc_iostat_finish(struct rpc_iostat *ctx)
{
	struct vt_json_write_ctx *w;

	if (ctx->rc != 0) {
		vt_jsonrpc_send_error_response_fmt(ctx->req, ctx->rc,
						   "cannot collect I/O statistics: %s",
						   vt_strerror(-ctx->rc));
		rpc_iostat_free(ctx);
		return;
	}
	if (ctx->reset_only) {
		vt_jsonrpc_send_bool_response(ctx->req, true);
		rpc_iostat_free(ctx);
		return;
	}
	w = vt_jsonrpc_begin_result(ctx->req);
	vt_json_write_object_begin(w);
	vt_json_write_named_uint64(w, "tick_rate", VT_TICKS_HZ);
	vt_json_write_named_uint64(w, "ticks", vt_get_ticks());
	if (ctx->channels != NULL) {
		rpc_iostat_write_channels(w, ctx);
	} else {
		vt_json_write_named_array_begin(w, "bdevs");
		for (uint32_t i = 0; i < ctx->count; i++) {
			vt_json_write_object_begin(w);
			vt_json_write_named_string(w, "name", ctx->bdevs[i]->bdev->name);
			rpc_write_stat_fields(w, &ctx->stats[i]);
			vt_json_write_object_end(w);
		}
		vt_json_write_array_end(w);
	}
	vt_json_write_object_end(w);
	vt_jsonrpc_end_result(ctx->req, w);
	rpc_iostat_free(ctx);
}

static void rpc_iostat_next(struct rpc_iostat *ctx);

static void
rpc_iostat_cb(struct vt_bdev *bdev, const struct vt_bdev_io_stat *stat, void *arg, int rc)
{
	struct rpc_iostat *ctx = arg;

	if (rc != 0) {
		ctx->rc = rc;
		rpc_iostat_finish(ctx);
		return;
	}
	ctx->stats[ctx->next++] = *stat;
	rpc_iostat_next(ctx);
}

static void
rpc_iostat_next(struct rpc_iostat *ctx)
{
	if (ctx->next == ctx->count) {
		rpc_iostat_finish(ctx);
		return;
	}
	vt_bdev_get_io_stat_ext(ctx->bdevs[ctx->next]->bdev, ctx->reset_mode, ctx->channels,
				rpc_iostat_cb, ctx);
}

/* Room for n bdevs. */
static int
rpc_iostat_alloc(struct rpc_iostat *ctx, uint32_t n)
{
	ctx->bdevs = calloc(VT_MAX(n, 1u), sizeof(*ctx->bdevs));
	ctx->stats = calloc(VT_MAX(n, 1u), sizeof(*ctx->stats));
	return ctx->bdevs == NULL || ctx->stats == NULL ? -ENOMEM : 0;
}

static void
rpc_iostat_add(struct rpc_iostat *ctx, struct bdev_internal *bi)
{
	bdev_ref(bi);
	ctx->bdevs[ctx->count++] = bi;
}

/* Every live bdev, each referenced so none goes while statistics are collected. */
static int
rpc_iostat_collect_all(struct rpc_iostat *ctx)
{
	struct bdev_internal *bi;
	uint32_t n = 0;

	for (bi = bdev_registry_first(); bi != NULL; bi = bdev_registry_next(bi)) {
		n += !atomic_load(&bi->removing);
	}
	if (rpc_iostat_alloc(ctx, n) != 0) {
		return -ENOMEM;
	}
	for (bi = bdev_registry_first(); bi != NULL && ctx->count < n;
	     bi = bdev_registry_next(bi)) {
		if (!atomic_load(&bi->removing)) {
			rpc_iostat_add(ctx, bi);
		}
	}
	return 0;
}

/* The named bdevs, in the order given; -ENODEV (answered) for a name that is not a bdev. */
static int
rpc_iostat_collect_names(struct rpc_iostat *ctx, char **names, uint32_t n)
{
	struct bdev_internal *bi;

	if (rpc_iostat_alloc(ctx, n) != 0) {
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		bi = rpc_lookup_bdev(names[i]);
		if (bi == NULL) {
			rpc_send_no_bdev(ctx->req, names[i]);
			return -ENODEV;
		}
		rpc_iostat_add(ctx, bi);
	}
	return 0;
}

struct rpc_get_iostat {
	char *name;                        /* SPDK before 23.01: one bdev */
	struct vt_json_string_array names; /* SPDK since: a list of bdevs */
	bool per_channel;
	char *reset_mode;
};

static const struct vt_json_object_decoder g_get_iostat_decoders[] = {
	{ "name", offsetof(struct rpc_get_iostat, name), vt_json_decode_string, true },
	{ "names", offsetof(struct rpc_get_iostat, names), vt_json_decode_string_array, true },
	{ "per_channel", offsetof(struct rpc_get_iostat, per_channel), vt_json_decode_bool, true },
	{ "reset_mode", offsetof(struct rpc_get_iostat, reset_mode), vt_json_decode_string, true },
};

static const char *const g_reset_mode_names[] = {
	[VT_BDEV_RESET_STAT_NONE] = "none",
	[VT_BDEV_RESET_STAT_ERROR] = "error",
	[VT_BDEV_RESET_STAT_MAXMIN] = "maxmin",
	[VT_BDEV_RESET_STAT_ALL] = "all",
};

/* The mode named by name (NULL: dflt) of parameter param; false after answering -32602. */
static bool
rpc_iostat_reset_mode(struct vt_jsonrpc_request *req, const char *param, const char *name,
		      enum vt_bdev_reset_stat_mode dflt, enum vt_bdev_reset_stat_mode *mode)
{
	*mode = dflt;
	if (name == NULL) {
		return true;
	}
	for (size_t i = 0; i < VT_COUNTOF(g_reset_mode_names); i++) {
		if (strcmp(name, g_reset_mode_names[i]) == 0) {
			*mode = (enum vt_bdev_reset_stat_mode)i;
			return true;
		}
	}
	vt_jsonrpc_send_error_response_fmt(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
					   "invalid parameter '%s': '%s' is not one of "
					   "all, maxmin, error, none",
					   param, name);
	return false;
}

/* Checks the combination and fills ctx; false after answering. */
static bool
rpc_iostat_setup(struct vt_jsonrpc_request *req, struct rpc_get_iostat *p, struct rpc_iostat *ctx)
{
	char **names = p->name != NULL ? &p->name : p->names.items;
	uint32_t n = p->name != NULL ? 1 : (uint32_t)p->names.count;
	bool by_name = p->name != NULL || p->names.items != NULL;
	int rc;

	if (p->name != NULL && p->names.items != NULL) {
		vt_jsonrpc_send_error_response(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
					       "invalid parameters: 'name' and 'names' together");
		return false;
	}
	if (p->per_channel && (!by_name || n != 1)) {
		vt_jsonrpc_send_error_response(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
					       "invalid parameter 'per_channel': needs exactly "
					       "one bdev in 'names'");
		return false;
	}
	if (!rpc_iostat_reset_mode(req, "reset_mode", p->reset_mode, VT_BDEV_RESET_STAT_NONE,
				   &ctx->reset_mode)) {
		return false;
	}
	if (p->per_channel) {
		ctx->channels = calloc(1, sizeof(*ctx->channels));
		if (ctx->channels == NULL) {
			vt_jsonrpc_send_error_response(req, VT_JSONRPC_ERROR_INTERNAL_ERROR,
						       "out of memory");
			return false;
		}
	}
	rc = by_name ? rpc_iostat_collect_names(ctx, names, n) : rpc_iostat_collect_all(ctx);
	if (rc == -ENOMEM) {
		vt_jsonrpc_send_error_response(req, VT_JSONRPC_ERROR_INTERNAL_ERROR,
					       "out of memory");
	}
	return rc == 0;
}

static void
rpc_bdev_get_iostat(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_get_iostat p = { 0 };
	struct rpc_iostat *ctx;

	if (vt_rpc_decode_params(req, params, g_get_iostat_decoders,
				 VT_COUNTOF(g_get_iostat_decoders), &p) != 0) {
		goto out;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		vt_jsonrpc_send_error_response(req, VT_JSONRPC_ERROR_INTERNAL_ERROR,
					       "out of memory");
		goto out;
	}
	ctx->req = req;
	if (!rpc_iostat_setup(req, &p, ctx)) {
		rpc_iostat_free(ctx);
		goto out;
	}
	rpc_iostat_next(ctx);
out:
	free(p.name);
	free(p.reset_mode);
	vt_json_string_array_free(&p.names);
}
VT_RPC_REGISTER("bdev_get_iostat", rpc_bdev_get_iostat, VT_RPC_STARTUP | VT_RPC_RUNTIME)

/* ---- bdev_reset_iostat -------------------------------------------------------------------- */

struct rpc_reset_iostat {
	char *name;
	char *mode;
};

static const struct vt_json_object_decoder g_reset_iostat_decoders[] = {
	{ "name", offsetof(struct rpc_reset_iostat, name), vt_json_decode_string, true },
	{ "mode", offsetof(struct rpc_reset_iostat, mode), vt_json_decode_string, true },
};

/*
 * SPDK's bdev_reset_iostat {name, mode}: resets the statistics of one bdev (or of every bdev)
 * the way bdev_get_iostat's reset_mode does, without reporting them; mode defaults to all.
 */
static void
rpc_bdev_reset_iostat(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_reset_iostat p = { 0 };
	struct rpc_iostat *ctx;
	int rc;

	if (vt_rpc_decode_params(req, params, g_reset_iostat_decoders,
				 VT_COUNTOF(g_reset_iostat_decoders), &p) != 0) {
		goto out;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		vt_jsonrpc_send_error_response(req, VT_JSONRPC_ERROR_INTERNAL_ERROR,
					       "out of memory");
		goto out;
	}
	ctx->req = req;
	ctx->reset_only = true;
	if (!rpc_iostat_reset_mode(req, "mode", p.mode, VT_BDEV_RESET_STAT_ALL, &ctx->reset_mode)) {
		rpc_iostat_free(ctx);
		goto out;
	}
	rc = p.name != NULL ? rpc_iostat_collect_names(ctx, &p.name, 1)
			    : rpc_iostat_collect_all(ctx);
	if (rc != 0) {
		if (rc == -ENOMEM) {
			vt_jsonrpc_send_error_response(req, VT_JSONRPC_ERROR_INTERNAL_ERROR,
						       "out of memory");
		}
		rpc_iostat_free(ctx);
		goto out;
	}
	rpc_iostat_next(ctx);
out:
	free(p.name);
	free(p.mode);
}
VT_RPC_REGISTER("bdev_reset_iostat", rpc_bdev_reset_iostat, VT_RPC_STARTUP | VT_RPC_RUNTIME)

/* ---- bdev_set_options --------------------------------------------------------------------- */

struct rpc_set_options {
	struct bdev_opts opts;
	uint32_t iobuf_small_cache_size; /* newer SPDK names: accepted, no effect */
	uint32_t iobuf_large_cache_size;
};

static const struct vt_json_object_decoder g_set_options_decoders[] = {
	{ "bdev_io_pool_size", offsetof(struct rpc_set_options, opts.bdev_io_pool_size),
	  vt_json_decode_uint32, true },
	{ "bdev_io_cache_size", offsetof(struct rpc_set_options, opts.bdev_io_cache_size),
	  vt_json_decode_uint32, true },
	{ "bdev_auto_examine", offsetof(struct rpc_set_options, opts.bdev_auto_examine),
	  vt_json_decode_bool, true },
	{ "small_buf_pool_size", offsetof(struct rpc_set_options, opts.small_buf_pool_size),
	  vt_json_decode_uint32, true },
	{ "large_buf_pool_size", offsetof(struct rpc_set_options, opts.large_buf_pool_size),
	  vt_json_decode_uint32, true },
	{ "iobuf_small_cache_size", offsetof(struct rpc_set_options, iobuf_small_cache_size),
	  vt_json_decode_uint32, true },
	{ "iobuf_large_cache_size", offsetof(struct rpc_set_options, iobuf_large_cache_size),
	  vt_json_decode_uint32, true },
};

/*
 * Registered for the start-up state only, like SPDK: channels created earlier keep their pools,
 * so a later change would apply to some channels and not others. At run time the RPC layer
 * refuses the call, and `rpc.py load_config` skips it.
 */
static void
rpc_bdev_set_options(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_set_options p = { 0 };
	char err[256];

	pthread_mutex_lock(&g_bdev_mutex);
	p.opts = g_bdev_opts;
	pthread_mutex_unlock(&g_bdev_mutex);
	/* Like SPDK, an absent bdev_auto_examine means true. */
	p.opts.bdev_auto_examine = true;
	if (vt_rpc_decode_params(req, params, g_set_options_decoders,
				 VT_COUNTOF(g_set_options_decoders), &p) != 0) {
		return;
	}
	if (bdev_set_opts(&p.opts, err, sizeof(err)) != 0) {
		vt_jsonrpc_send_error_response(req, VT_JSONRPC_ERROR_INVALID_PARAMS, err);
		return;
	}
	vt_jsonrpc_send_bool_response(req, true);
}
VT_RPC_REGISTER("bdev_set_options", rpc_bdev_set_options, VT_RPC_STARTUP | VT_RPC_PREINIT)

/* ---- bdev_wait_for_examine ---------------------------------------------------------------- */

#define RPC_WAIT_EXAMINE_PERIOD_US 1000

struct rpc_wait_examine {
	struct vt_jsonrpc_request *req;
	struct vt_poller *poller;
};

static int
rpc_wait_examine_poll(void *arg)
{
	struct rpc_wait_examine *w = arg;

	if (bdev_examines_pending() != 0) {
		return VT_POLLER_IDLE;
	}
	vt_poller_unregister(&w->poller);
	vt_jsonrpc_send_bool_response(w->req, true);
	free(w);
	return VT_POLLER_BUSY;
}

/* Answers once the examines in progress (a raid reading its superblocks) are over. */
static void
rpc_bdev_wait_for_examine(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_wait_examine *w;

	if (params != NULL && !(YAJL_IS_OBJECT(params) && params->u.object.len == 0)) {
		vt_jsonrpc_send_error_response(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
					       "bdev_wait_for_examine takes no parameters");
		return;
	}
	if (bdev_examines_pending() == 0) {
		vt_jsonrpc_send_bool_response(req, true);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (w != NULL) {
		w->req = req;
		w->poller = vt_poller_register(rpc_wait_examine_poll, w, RPC_WAIT_EXAMINE_PERIOD_US,
					       "bdev_wait_for_examine");
	}
	if (w == NULL || w->poller == NULL) {
		free(w);
		vt_jsonrpc_send_error_response(req, VT_JSONRPC_ERROR_INTERNAL_ERROR,
					       "out of memory");
	}
}
VT_RPC_REGISTER("bdev_wait_for_examine", rpc_bdev_wait_for_examine, VT_RPC_STARTUP | VT_RPC_RUNTIME)

/* ---- SPDK's names before 19.10 ------------------------------------------------------------- */

static const struct vt_rpc_alias g_bdev_aliases[] = {
	{ "get_bdevs", "bdev_get_bdevs" },
	{ "get_bdevs_iostat", "bdev_get_iostat" },
	{ "set_bdev_options", "bdev_set_options" },
};
VT_RPC_REGISTER_ALIASES(g_bdev_aliases)

/*
 * delete_bdev (SPDK before 19.07) deleted a bdev of any module: it is answered by the delete
 * method of the bdev's module, found in this table.
 */
static const struct {
	const char *module;
	const char *product_name; /* NULL: any bdev of the module */
	const char *method;
} g_delete_methods[] = {
	{ "malloc", NULL, "bdev_malloc_delete" },
	{ "null", NULL, "bdev_null_delete" },
	{ "file", "AIO disk", "bdev_aio_delete" },
	{ "file", "URING bdev", "bdev_uring_delete" },
};

static const char *
rpc_delete_method_of(const struct vt_bdev *bdev)
{
	for (size_t i = 0; i < VT_COUNTOF(g_delete_methods); i++) {
		if (strcmp(bdev->module->name, g_delete_methods[i].module) == 0 &&
		    (g_delete_methods[i].product_name == NULL ||
		     strcmp(bdev->product_name, g_delete_methods[i].product_name) == 0)) {
			return g_delete_methods[i].method;
		}
	}
	return NULL;
}

/* The module's delete method answered: pass its answer on. */
static void
rpc_delete_bdev_done(void *arg, int code, const char *err_msg, yajl_val result)
{
	struct vt_jsonrpc_request *req = arg;
	struct vt_json_write_ctx *w;

	if (code != 0) {
		vt_jsonrpc_send_error_response(req, code, err_msg);
		return;
	}
	w = vt_jsonrpc_begin_result(req);
	vt_json_write_val(w, result);
	vt_jsonrpc_end_result(req, w);
}

struct rpc_delete_bdev {
	char *name;
};

static const struct vt_json_object_decoder g_delete_bdev_decoders[] = {
	{ "name", offsetof(struct rpc_delete_bdev, name), vt_json_decode_string },
};

static void
rpc_delete_bdev(struct vt_jsonrpc_request *req, yajl_val params)
{
	static bool deprecation_logged;
	struct rpc_delete_bdev p = { 0 };
	struct vt_bdev *bdev;
	const char *method;

	if (!deprecation_logged) {
		deprecation_logged = true;
		VT_WARNLOG("rpc method 'delete_bdev' is deprecated, use the delete method of the "
			   "bdev's module instead (bdev_malloc_delete, bdev_null_delete, "
			   "bdev_aio_delete, bdev_uring_delete)\n");
	}
	if (vt_rpc_decode_params(req, params, g_delete_bdev_decoders,
				 VT_COUNTOF(g_delete_bdev_decoders), &p) != 0) {
		goto out;
	}
	bdev = vt_bdev_get_by_name(p.name);
	if (bdev == NULL) {
		rpc_send_no_bdev(req, p.name);
		goto out;
	}
	method = rpc_delete_method_of(bdev);
	if (method == NULL) {
		vt_jsonrpc_send_error_response_fmt(req, -ENOTSUP,
						   "bdev '%s' (module %s) cannot be "
						   "deleted by delete_bdev",
						   p.name, bdev->module->name);
		goto out;
	}
	/* The module's method checks and answers; params are {"name"} for each. */
	vt_rpc_call(method, params, rpc_delete_bdev_done, req);
out:
	free(p.name);
}
VT_RPC_REGISTER("delete_bdev", rpc_delete_bdev, VT_RPC_RUNTIME)

/* ---- helpers for the modules' RPCs -------------------------------------------------------- */

struct vt_bdev *
vt_bdev_rpc_find(struct vt_jsonrpc_request *req, const char *name,
		 const struct vt_bdev_module *module, const char *what, int wrong_module_code)
{
	struct vt_bdev *bdev = vt_bdev_get_by_name(name);

	if (bdev == NULL) {
		rpc_send_no_bdev(req, name);
		return NULL;
	}
	if (bdev->module != module) {
		vt_jsonrpc_send_error_response_fmt(req, wrong_module_code, "bdev '%s' is not %s",
						   name, what);
		return NULL;
	}
	return bdev;
}

bool
vt_bdev_rpc_check_name_block_size(struct vt_jsonrpc_request *req, const char *name,
				  uint32_t block_size, uint32_t max_block_size)
{
	if (name != NULL && !vt_bdev_name_is_valid(name)) {
		vt_jsonrpc_send_error_response_fmt(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
						   "invalid parameter 'name': '%s' must be 1 to %d "
						   "printable characters without spaces",
						   name, VT_BDEV_MAX_NAME_LEN);
		return false;
	}
	if (!VT_IS_POW2(block_size) || block_size < 512 || block_size > max_block_size) {
		vt_jsonrpc_send_error_response_fmt(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
						   "invalid parameter 'block_size': %" PRIu32
						   " is not a power of two from 512 to %" PRIu32,
						   block_size, max_block_size);
		return false;
	}
	return true;
}

bool
vt_bdev_rpc_check_phys_block_size(struct vt_jsonrpc_request *req, uint32_t physical_block_size,
				  uint32_t block_size)
{
	if (physical_block_size == 0 ||
	    (VT_IS_POW2(physical_block_size) && physical_block_size >= block_size &&
	     physical_block_size / block_size <= VT_BDEV_MAX_PHYS_BLOCKS_PER_BLOCK)) {
		return true;
	}
	vt_jsonrpc_send_error_response_fmt(
		req, VT_JSONRPC_ERROR_INVALID_PARAMS,
		"invalid parameter 'physical_block_size': %" PRIu32
		" is not 0 or a power of two from block_size (%" PRIu32 ") to %u times it",
		physical_block_size, block_size, VT_BDEV_MAX_PHYS_BLOCKS_PER_BLOCK);
	return false;
}

bool
vt_bdev_rpc_check_new(struct vt_jsonrpc_request *req, const char *name, const char *uuid,
		      struct vt_uuid *out)
{
	if (uuid != NULL && vt_uuid_parse(out, uuid) != 0) {
		vt_jsonrpc_send_error_response_fmt(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
						   "invalid parameter 'uuid': '%s' is not a UUID",
						   uuid);
		return false;
	}
	if (name != NULL && vt_bdev_get_by_name(name) != NULL) {
		vt_jsonrpc_send_error_response_fmt(req, -EEXIST, "bdev '%s' already exists", name);
		return false;
	}
	return true;
}

void
vt_bdev_rpc_create_answer(struct vt_jsonrpc_request *req, int rc, struct vt_bdev *bdev,
			  const char *kind, const char *name, const char *uuid)
{
	struct vt_json_write_ctx *w;

	if (rc == -EEXIST) {
		vt_jsonrpc_send_error_response_fmt(req, rc, "a bdev with uuid '%s' already exists",
						   uuid != NULL ? uuid : "");
	} else if (rc != 0) {
		vt_jsonrpc_send_error_response_fmt(req, rc, "cannot create %s bdev '%s': %s", kind,
						   name != NULL ? name : "", vt_strerror(-rc));
	} else {
		w = vt_jsonrpc_begin_result(req);
		vt_json_write_string(w, vt_bdev_get_name(bdev));
		vt_jsonrpc_end_result(req, w);
	}
}

struct rpc_delete_ctx {
	struct vt_jsonrpc_request *req;
	char name[]; /* as the request gave it, for the answer */
};

static void
rpc_bdev_deleted(void *cb_arg, int rc)
{
	struct rpc_delete_ctx *ctx = cb_arg;

	if (rc == -EBUSY) {
		vt_jsonrpc_send_error_response_fmt(ctx->req, rc,
						   "bdev '%s' is already being "
						   "deleted",
						   ctx->name);
	} else if (rc != 0) {
		vt_jsonrpc_send_error_response_fmt(ctx->req, rc, "cannot delete bdev '%s': %s",
						   ctx->name, vt_strerror(-rc));
	} else {
		vt_jsonrpc_send_bool_response(ctx->req, true);
	}
	free(ctx);
}

void
vt_bdev_rpc_delete(struct vt_jsonrpc_request *req, const char *name,
		   const struct vt_bdev_module *module, const char *what,
		   int (*delete_fn)(struct vt_bdev *bdev, void (*cb)(void *cb_arg, int rc),
				    void *cb_arg))
{
	size_t len = strlen(name) + 1;
	struct rpc_delete_ctx *ctx;
	struct vt_bdev *bdev;
	int rc;

	/* SPDK answers -ENODEV for a bdev of another module too. */
	bdev = vt_bdev_rpc_find(req, name, module, what, -ENODEV);
	if (bdev == NULL) {
		return;
	}
	ctx = calloc(1, sizeof(*ctx) + len);
	if (ctx == NULL) {
		vt_jsonrpc_send_error_response(req, VT_JSONRPC_ERROR_INTERNAL_ERROR,
					       "out of memory");
		return;
	}
	ctx->req = req;
	memcpy(ctx->name, name, len);
	/* Answers once the bdev is gone: every user has closed it and it is freed. */
	rc = delete_fn(bdev, rpc_bdev_deleted, ctx);
	if (rc != 0) {
		rpc_bdev_deleted(ctx, rc);
	}
}
