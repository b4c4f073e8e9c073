/* SPDX-License-Identifier: BSD-3-Clause */
/* bdev_null_create, bdev_null_delete and bdev_null_resize, with SPDK's parameters and results. */
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

#include "lib/bdev/null/bdev_null.h"

struct rpc_null_create {
	char *name;
	uint64_t num_blocks;
	uint32_t block_size;
	uint32_t physical_block_size;
	char *uuid;
	bool read_zeroes;
};

static const struct vt_json_object_decoder g_null_create_decoders[] = {
	{ "name", offsetof(struct rpc_null_create, name), vt_json_decode_string },
	{ "num_blocks", offsetof(struct rpc_null_create, num_blocks), vt_json_decode_uint64 },
	{ "block_size", offsetof(struct rpc_null_create, block_size), vt_json_decode_uint32 },
	{ "uuid", offsetof(struct rpc_null_create, uuid), vt_json_decode_string, true },
	{ "physical_block_size", offsetof(struct rpc_null_create, physical_block_size),
	  vt_json_decode_uint32, true },
	/* vtarget's own (SPDK has no such parameter): false leaves read buffers untouched. */
	{ "read_zeroes", offsetof(struct rpc_null_create, read_zeroes), vt_json_decode_bool, true },
	/* SPDK's metadata, protection information and write/unmap hints: not here. */
	VT_JSON_DECODER_DEFAULT_ONLY("md_size", vt_json_decode_only_zero),
	VT_JSON_DECODER_DEFAULT_ONLY("dif_type", vt_json_decode_only_zero),
	VT_JSON_DECODER_DEFAULT_ONLY("dif_pi_format", vt_json_decode_only_zero),
	VT_JSON_DECODER_DEFAULT_ONLY("dif_is_head_of_md", vt_json_decode_only_false),
	VT_JSON_DECODER_DEFAULT_ONLY("preferred_write_granularity", vt_json_decode_only_zero),
	VT_JSON_DECODER_DEFAULT_ONLY("preferred_write_alignment", vt_json_decode_only_zero),
	VT_JSON_DECODER_DEFAULT_ONLY("optimal_write_size", vt_json_decode_only_zero),
	VT_JSON_DECODER_DEFAULT_ONLY("preferred_unmap_granularity", vt_json_decode_only_zero),
	VT_JSON_DECODER_DEFAULT_ONLY("preferred_unmap_alignment", vt_json_decode_only_zero),
};

/* Answers -32602 (or -EEXIST) for the first bad parameter; returns false then. */
static bool
rpc_null_check(struct vt_jsonrpc_request *req, const struct rpc_null_create *p,
	       struct vt_uuid *uuid)
{
	if (!vt_bdev_rpc_check_name_block_size(req, p->name, p->block_size,
					       BDEV_NULL_MAX_BLOCK_SIZE)) {
		return false;
	}
	if (!vt_bdev_rpc_check_phys_block_size(req, p->physical_block_size, p->block_size)) {
		return false;
	}
	if (p->num_blocks == 0 || p->num_blocks > UINT64_MAX / p->block_size) {
		vt_jsonrpc_send_error_response_fmt(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
						   "invalid parameter 'num_blocks': %" PRIu64
						   " is 0 or too large",
						   p->num_blocks);
		return false;
	}
	return vt_bdev_rpc_check_new(req, p->name, p->uuid, uuid);
}

static void
rpc_bdev_null_create(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_null_create p = { .read_zeroes = true };
	struct bdev_null_opts opts = { 0 };
	struct vt_bdev *bdev = NULL;
	struct vt_uuid uuid;
	int rc;

	if (vt_rpc_decode_params(req, params, g_null_create_decoders,
				 VT_COUNTOF(g_null_create_decoders), &p) != 0 ||
	    !rpc_null_check(req, &p, &uuid)) {
		goto out;
	}
	opts.name = p.name;
	opts.num_blocks = p.num_blocks;
	opts.block_size = p.block_size;
	opts.physical_block_size = p.physical_block_size;
	opts.uuid = p.uuid != NULL ? &uuid : NULL;
	opts.no_read_zeroes = !p.read_zeroes;
	rc = bdev_null_create(&opts, &bdev);
	vt_bdev_rpc_create_answer(req, rc, bdev, "null", p.name, p.uuid);
out:
	free(p.name);
	free(p.uuid);
}
VT_RPC_REGISTER("bdev_null_create", rpc_bdev_null_create, VT_RPC_STARTUP | VT_RPC_RUNTIME)

struct rpc_null_name {
	char *name;
};

static const struct vt_json_object_decoder g_null_delete_decoders[] = {
	{ "name", offsetof(struct rpc_null_name, name), vt_json_decode_string },
};

static void
rpc_bdev_null_delete(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_null_name p = { 0 };

	if (vt_rpc_decode_params(req, params, g_null_delete_decoders,
				 VT_COUNTOF(g_null_delete_decoders), &p) == 0) {
		vt_bdev_rpc_delete(req, p.name, &g_bdev_null_module, "a null bdev",
				   bdev_null_delete);
	}
	free(p.name);
}
VT_RPC_REGISTER("bdev_null_delete", rpc_bdev_null_delete, VT_RPC_STARTUP | VT_RPC_RUNTIME)

struct rpc_null_resize {
	char *name;
	uint64_t new_size; /* MiB */
};

static const struct vt_json_object_decoder g_null_resize_decoders[] = {
	{ "name", offsetof(struct rpc_null_resize, name), vt_json_decode_string },
	{ "new_size", offsetof(struct rpc_null_resize, new_size), vt_json_decode_uint64 },
};

static void
rpc_bdev_null_resize(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_null_resize p = { 0 };
	struct vt_bdev *bdev;
	uint64_t cur;
	int rc;

	if (vt_rpc_decode_params(req, params, g_null_resize_decoders,
				 VT_COUNTOF(g_null_resize_decoders), &p) != 0) {
		goto out;
	}
	/* SPDK answers -EINVAL when the bdev belongs to another module. */
	bdev = vt_bdev_rpc_find(req, p.name, &g_bdev_null_module, "a null bdev", -EINVAL);
	if (bdev == NULL) {
		goto out;
	}
	cur = vt_bdev_get_num_blocks(bdev) * vt_bdev_get_block_size(bdev);
	if (p.new_size == 0 || p.new_size > UINT64_MAX / (1024 * 1024) ||
	    p.new_size * 1024 * 1024 < cur) {
		vt_jsonrpc_send_error_response_fmt(
			req, VT_JSONRPC_ERROR_INVALID_PARAMS,
			"invalid parameter 'new_size': %" PRIu64 " MiB is "
			"smaller than the current size of bdev '%s' (%" PRIu64
			" bytes) or too large; null bdevs only grow",
			p.new_size, p.name, cur);
		goto out;
	}
	rc = bdev_null_resize(bdev, p.new_size);
	if (rc != 0) {
		vt_jsonrpc_send_error_response_fmt(req, rc, "cannot resize bdev '%s': %s", p.name,
						   vt_strerror(-rc));
		goto out;
	}
	vt_jsonrpc_send_bool_response(req, true);
out:
	free(p.name);
}
VT_RPC_REGISTER("bdev_null_resize", rpc_bdev_null_resize, VT_RPC_STARTUP | VT_RPC_RUNTIME)

/* SPDK's names before its 19.10 renaming. */
static const struct vt_rpc_alias g_null_aliases[] = {
	{ "construct_null_bdev", "bdev_null_create" },
	{ "delete_null_bdev", "bdev_null_delete" },
};
VT_RPC_REGISTER_ALIASES(g_null_aliases)
