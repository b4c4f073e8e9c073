/* SPDX-License-Identifier: BSD-3-Clause */
/* bdev_malloc_create and bdev_malloc_delete, with SPDK's parameters and results. */
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

#include "lib/bdev/malloc/bdev_malloc.h"

struct rpc_malloc_create {
	char *name;
	uint64_t num_blocks;
	uint32_t block_size;
	uint32_t physical_block_size;
	char *uuid;
	uint32_t optimal_io_boundary;
};

static const struct vt_json_object_decoder g_malloc_create_decoders[] = {
	{ "name", offsetof(struct rpc_malloc_create, name), vt_json_decode_string, true },
	{ "num_blocks", offsetof(struct rpc_malloc_create, num_blocks), vt_json_decode_uint64 },
	{ "block_size", offsetof(struct rpc_malloc_create, block_size), vt_json_decode_uint32 },
	{ "physical_block_size", offsetof(struct rpc_malloc_create, physical_block_size),
	  vt_json_decode_uint32, true },
	{ "uuid", offsetof(struct rpc_malloc_create, uuid), vt_json_decode_string, true },
	{ "optimal_io_boundary", offsetof(struct rpc_malloc_create, optimal_io_boundary),
	  vt_json_decode_uint32, true },
	/* SPDK's metadata, protection information and NUMA placement: not here. */
	VT_JSON_DECODER_DEFAULT_ONLY("md_size", vt_json_decode_only_zero),
	VT_JSON_DECODER_DEFAULT_ONLY("md_interleave", vt_json_decode_only_false),
	VT_JSON_DECODER_DEFAULT_ONLY("dif_type", vt_json_decode_only_zero),
	VT_JSON_DECODER_DEFAULT_ONLY("dif_is_head_of_md", vt_json_decode_only_false),
	VT_JSON_DECODER_DEFAULT_ONLY("dif_pi_format", vt_json_decode_only_zero),
	VT_JSON_DECODER_DEFAULT_ONLY("numa_id", vt_json_decode_only_minus_one),
};

/* Answers -32602 (or -EEXIST) for the first bad parameter; returns false then. */
static bool
rpc_malloc_check(struct vt_jsonrpc_request *req, const struct rpc_malloc_create *p,
		 struct vt_uuid *uuid)
{
	uint64_t max = bdev_malloc_max_bytes();

	if (!vt_bdev_rpc_check_name_block_size(req, p->name, p->block_size,
					       BDEV_MALLOC_MAX_BLOCK_SIZE)) {
		return false;
	}
	if (!vt_bdev_rpc_check_phys_block_size(req, p->physical_block_size, p->block_size)) {
		return false;
	}
	if (p->num_blocks == 0) {
		vt_jsonrpc_send_error_response(
			req, VT_JSONRPC_ERROR_INVALID_PARAMS,
			"invalid parameter 'num_blocks': must be at least 1");
		return false;
	}
	if (p->num_blocks > max / p->block_size) {
		vt_jsonrpc_send_error_response_fmt(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
						   "invalid parameter 'num_blocks': %" PRIu64
						   " blocks of %" PRIu32 " bytes exceed the memory "
						   "of this machine (%" PRIu64 " MiB)",
						   p->num_blocks, p->block_size, max >> 20);
		return false;
	}
	return vt_bdev_rpc_check_new(req, p->name, p->uuid, uuid);
}

static void
rpc_bdev_malloc_create(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_malloc_create p = { 0 };
	struct bdev_malloc_opts opts = { 0 };
	struct vt_bdev *bdev = NULL;
	struct vt_uuid uuid;
	int rc;

	if (vt_rpc_decode_params(req, params, g_malloc_create_decoders,
				 VT_COUNTOF(g_malloc_create_decoders), &p) != 0 ||
	    !rpc_malloc_check(req, &p, &uuid)) {
		goto out;
	}
	opts.name = p.name;
	opts.num_blocks = p.num_blocks;
	opts.block_size = p.block_size;
	opts.physical_block_size = p.physical_block_size;
	opts.uuid = p.uuid != NULL ? &uuid : NULL;
	opts.optimal_io_boundary = p.optimal_io_boundary;
	rc = bdev_malloc_create(&opts, &bdev);
	vt_bdev_rpc_create_answer(req, rc, bdev, "malloc", p.name, p.uuid);
out:
	free(p.name);
	free(p.uuid);
}
VT_RPC_REGISTER("bdev_malloc_create", rpc_bdev_malloc_create, VT_RPC_STARTUP | VT_RPC_RUNTIME)

struct rpc_malloc_delete {
	char *name;
};

static const struct vt_json_object_decoder g_malloc_delete_decoders[] = {
	{ "name", offsetof(struct rpc_malloc_delete, name), vt_json_decode_string },
};

static void
rpc_bdev_malloc_delete(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_malloc_delete p = { 0 };

	if (vt_rpc_decode_params(req, params, g_malloc_delete_decoders,
				 VT_COUNTOF(g_malloc_delete_decoders), &p) == 0) {
		vt_bdev_rpc_delete(req, p.name, &g_bdev_malloc_module, "a malloc bdev",
				   bdev_malloc_delete);
	}
	free(p.name);
}
VT_RPC_REGISTER("bdev_malloc_delete", rpc_bdev_malloc_delete, VT_RPC_STARTUP | VT_RPC_RUNTIME)

/* SPDK's names before its 19.10 renaming. */
static const struct vt_rpc_alias g_malloc_aliases[] = {
	{ "construct_malloc_bdev", "bdev_malloc_create" },
	{ "delete_malloc_bdev", "bdev_malloc_delete" },
};
VT_RPC_REGISTER_ALIASES(g_malloc_aliases)
