/* SPDX-License-Identifier: BSD-3-Clause */
/* bdev_split_create and bdev_split_delete, with SPDK's parameters and results. */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/json.h"
#include "vt/log.h"
#include "vt/rpc.h"
#include "vt/util.h"

#include "lib/bdev/bdev_vbdev.h"
#include "lib/bdev/split/bdev_split.h"

struct rpc_split_create {
	char *base_bdev;
	uint32_t split_count;
	uint64_t split_size_mb;
};

static const struct vt_json_object_decoder g_split_create_decoders[] = {
	{ "base_bdev", offsetof(struct rpc_split_create, base_bdev), vt_json_decode_string },
	{ "split_count", offsetof(struct rpc_split_create, split_count), vt_json_decode_uint32 },
	{ "split_size_mb", offsetof(struct rpc_split_create, split_size_mb), vt_json_decode_uint64,
	  true },
};

static void
rpc_bdev_split_create(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_split_create p = { 0 };
	struct vt_json_write_ctx *w;
	struct split_base *sb = NULL;
	struct vt_bdev *base;
	uint64_t part_blocks;
	const char *bad;
	uint32_t parts;
	int rc;

	if (vt_rpc_decode_params(req, params, g_split_create_decoders,
				 VT_COUNTOF(g_split_create_decoders), &p) != 0) {
		goto out;
	}
	if (bdev_split_find(p.base_bdev) != NULL) {
		vt_jsonrpc_send_error_response_fmt(req, -EEXIST,
						   "invalid parameter 'base_bdev': bdev '%s' is "
						   "already split",
						   p.base_bdev);
		goto out;
	}
	if (!bdev_vbdev_rpc_check_base(req, "base_bdev", p.base_bdev)) {
		goto out;
	}
	base = vt_bdev_get_by_name(p.base_bdev);
	if (bdev_split_geometry(vt_bdev_get_num_blocks(base), vt_bdev_get_block_size(base),
				p.split_count, p.split_size_mb, &part_blocks, &parts, &bad) != 0) {
		vt_jsonrpc_send_error_response_fmt(
			req, VT_JSONRPC_ERROR_INVALID_PARAMS,
			"invalid parameter '%s': cannot split bdev '%s' (%" PRIu64
			" blocks of %" PRIu32 " bytes) into %" PRIu32 " parts of %" PRIu64
			" MiB (0: equal parts of the whole; at most %u parts of whole blocks)",
			bad, p.base_bdev, vt_bdev_get_num_blocks(base),
			vt_bdev_get_block_size(base), p.split_count, p.split_size_mb,
			BDEV_SPLIT_MAX_COUNT);
		goto out;
	}
	rc = bdev_split_create(p.base_bdev, p.split_count, p.split_size_mb, &sb);
	if (rc != 0) {
		vt_jsonrpc_send_error_response_fmt(req, rc, "cannot split bdev '%s': %s",
						   p.base_bdev, vt_strerror(-rc));
		goto out;
	}
	w = vt_jsonrpc_begin_result(req);
	vt_json_write_array_begin(w);
	for (uint32_t i = 0; i < sb->count; i++) {
		vt_json_write_string(w, sb->parts[i]->bdev.name);
	}
	vt_json_write_array_end(w);
	vt_jsonrpc_end_result(req, w);
out:
	free(p.base_bdev);
}
VT_RPC_REGISTER("bdev_split_create", rpc_bdev_split_create, VT_RPC_STARTUP | VT_RPC_RUNTIME)

struct rpc_split_delete {
	char *base_bdev;
};

static const struct vt_json_object_decoder g_split_delete_decoders[] = {
	{ "base_bdev", offsetof(struct rpc_split_delete, base_bdev), vt_json_decode_string },
};

struct rpc_split_delete_ctx {
	struct vt_jsonrpc_request *req;
	uint32_t left;
	int rc;
};

static void
rpc_split_part_deleted(void *cb_arg, int rc)
{
	struct rpc_split_delete_ctx *ctx = cb_arg;

	if (rc != 0 && ctx->rc == 0) {
		ctx->rc = rc;
	}
	if (--ctx->left != 0) {
		return;
	}
	if (ctx->rc != 0) {
		vt_jsonrpc_send_error_response_fmt(ctx->req, ctx->rc, "cannot delete a split: %s",
						   vt_strerror(-ctx->rc));
	} else {
		vt_jsonrpc_send_bool_response(ctx->req, true);
	}
	free(ctx);
}

static void
rpc_bdev_split_delete(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_split_delete p = { 0 };
	struct rpc_split_delete_ctx *ctx;
	struct split_base *sb;

	if (vt_rpc_decode_params(req, params, g_split_delete_decoders,
				 VT_COUNTOF(g_split_delete_decoders), &p) != 0) {
		goto out;
	}
	sb = bdev_split_find(p.base_bdev);
	if (sb == NULL) {
		vt_jsonrpc_send_error_response_fmt(
			req, -ENODEV,
			"invalid parameter 'base_bdev': bdev '%s' is not "
			"split",
			p.base_bdev);
		goto out;
	}
	if (sb->removing) {
		vt_jsonrpc_send_error_response_fmt(
			req, -EBUSY, "the split of bdev '%s' is already being deleted",
			p.base_bdev);
		goto out;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		vt_jsonrpc_send_error_response(req, VT_JSONRPC_ERROR_INTERNAL_ERROR,
					       "out of memory");
		goto out;
	}
	ctx->req = req;
	ctx->left = sb->alive;
	bdev_split_delete(sb, rpc_split_part_deleted, ctx);
out:
	free(p.base_bdev);
}
VT_RPC_REGISTER("bdev_split_delete", rpc_bdev_split_delete, VT_RPC_STARTUP | VT_RPC_RUNTIME)

/* SPDK's names before its 19.10 renaming. */
static const struct vt_rpc_alias g_split_aliases[] = {
	{ "construct_split_vbdev", "bdev_split_create" },
	{ "destruct_split_vbdev", "bdev_split_delete" },
};
VT_RPC_REGISTER_ALIASES(g_split_aliases)
