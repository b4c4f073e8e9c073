/* SPDX-License-Identifier: BSD-3-Clause */
/* bdev_error_create, bdev_error_delete and bdev_error_inject_error, with SPDK's parameters. */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/json.h"
#include "vt/log.h"
#include "vt/rpc.h"
#include "vt/util.h"

#include "lib/bdev/bdev_vbdev.h"
#include "lib/bdev/error/bdev_error.h"

struct rpc_error_create {
	char *base_name;
	char *uuid;
};

static const struct vt_json_object_decoder g_error_create_decoders[] = {
	{ "base_name", offsetof(struct rpc_error_create, base_name), vt_json_decode_string },
	{ "uuid", offsetof(struct rpc_error_create, uuid), vt_json_decode_string, true },
};

static void
rpc_bdev_error_create(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_error_create p = { 0 };
	struct vt_bdev *bdev = NULL;
	struct vt_uuid uuid;
	char name[VT_BDEV_MAX_NAME_LEN + 8];
	int rc;

	if (vt_rpc_decode_params(req, params, g_error_create_decoders,
				 VT_COUNTOF(g_error_create_decoders), &p) != 0 ||
	    !bdev_vbdev_rpc_check_base(req, "base_name", p.base_name)) {
		goto out;
	}
	snprintf(name, sizeof(name), "EE_%s", p.base_name);
	if (!vt_bdev_rpc_check_new(req, name, p.uuid, &uuid)) {
		goto out;
	}
	rc = bdev_error_create(p.base_name, p.uuid != NULL ? &uuid : NULL, &bdev);
	vt_bdev_rpc_create_answer(req, rc, bdev, "error", name, p.uuid);
out:
	free(p.base_name);
	free(p.uuid);
}
VT_RPC_REGISTER("bdev_error_create", rpc_bdev_error_create, VT_RPC_STARTUP | VT_RPC_RUNTIME)

struct rpc_error_name {
	char *name;
};

static const struct vt_json_object_decoder g_error_delete_decoders[] = {
	{ "name", offsetof(struct rpc_error_name, name), vt_json_decode_string },
};

static void
rpc_bdev_error_delete(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_error_name p = { 0 };

	if (vt_rpc_decode_params(req, params, g_error_delete_decoders,
				 VT_COUNTOF(g_error_delete_decoders), &p) == 0) {
		vt_bdev_rpc_delete(req, p.name, &g_bdev_error_module, "an error bdev",
				   bdev_error_delete);
	}
	free(p.name);
}
VT_RPC_REGISTER("bdev_error_delete", rpc_bdev_error_delete, VT_RPC_STARTUP | VT_RPC_RUNTIME)

struct rpc_error_inject {
	char *name;
	char *io_type;
	char *error_type;
	uint32_t num;
	uint64_t queue_depth;
	uint64_t corrupt_offset;
	uint8_t corrupt_value;
};

static const struct vt_json_object_decoder g_error_inject_decoders[] = {
	{ "name", offsetof(struct rpc_error_inject, name), vt_json_decode_string },
	{ "io_type", offsetof(struct rpc_error_inject, io_type), vt_json_decode_string },
	{ "error_type", offsetof(struct rpc_error_inject, error_type), vt_json_decode_string },
	{ "num", offsetof(struct rpc_error_inject, num), vt_json_decode_uint32, true },
	{ "queue_depth", offsetof(struct rpc_error_inject, queue_depth), vt_json_decode_uint64,
	  true },
	{ "corrupt_offset", offsetof(struct rpc_error_inject, corrupt_offset),
	  vt_json_decode_uint64, true },
	{ "corrupt_value", offsetof(struct rpc_error_inject, corrupt_value), vt_json_decode_uint8,
	  true },
	/* NVMe status codes of SPDK's nvme_failure: no NVMe here. */
	VT_JSON_DECODER_DEFAULT_ONLY("nvme_sct", vt_json_decode_only_zero),
	VT_JSON_DECODER_DEFAULT_ONLY("nvme_sc", vt_json_decode_only_zero),
};

static void
rpc_bdev_error_inject_error(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_error_inject p = { .num = 1 };
	struct bdev_error_injection inj = { 0 };
	struct vt_bdev *bdev;
	uint32_t mask;

	if (vt_rpc_decode_params(req, params, g_error_inject_decoders,
				 VT_COUNTOF(g_error_inject_decoders), &p) != 0) {
		goto out;
	}
	if (bdev_error_parse_io_type(p.io_type, &mask) != 0) {
		vt_jsonrpc_send_error_response_fmt(
			req, VT_JSONRPC_ERROR_INVALID_PARAMS,
			"invalid parameter 'io_type': '%s' is not one of clear, read, write, unmap, "
			"flush, all",
			p.io_type);
		goto out;
	}
	if (bdev_error_parse_error_type(p.error_type, &inj.type) != 0) {
		vt_jsonrpc_send_error_response_fmt(
			req, VT_JSONRPC_ERROR_INVALID_PARAMS,
			"invalid parameter 'error_type': '%s' is not one of failure, pending, "
			"corrupt_data, nomem",
			p.error_type);
		goto out;
	}
	if (inj.type == BDEV_ERROR_CORRUPT_DATA && p.corrupt_value == 0 && p.num != 0 &&
	    mask != 0) {
		vt_jsonrpc_send_error_response(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
					       "invalid parameter 'corrupt_value': corrupt_data "
					       "needs a value from 1 to 255 to XOR");
		goto out;
	}
	bdev = vt_bdev_rpc_find(req, p.name, &g_bdev_error_module, "an error bdev", -ENODEV);
	if (bdev == NULL) {
		goto out;
	}
	inj.num = p.num;
	inj.queue_depth = p.queue_depth;
	inj.corrupt_offset = p.corrupt_offset;
	inj.corrupt_value = p.corrupt_value;
	bdev_error_inject(bdev, mask, &inj);
	vt_jsonrpc_send_bool_response(req, true);
out:
	free(p.name);
	free(p.io_type);
	free(p.error_type);
}
VT_RPC_REGISTER("bdev_error_inject_error", rpc_bdev_error_inject_error,
		VT_RPC_STARTUP | VT_RPC_RUNTIME)

static void
rpc_bdev_error_resume_pending(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_error_name p = { 0 };
	struct vt_bdev *bdev;

	if (vt_rpc_decode_params(req, params, g_error_delete_decoders,
				 VT_COUNTOF(g_error_delete_decoders), &p) == 0) {
		bdev = vt_bdev_rpc_find(req, p.name, &g_bdev_error_module, "an error bdev",
					-ENODEV);
		if (bdev != NULL) {
			bdev_error_resume_pending(bdev);
			vt_jsonrpc_send_bool_response(req, true);
		}
	}
	free(p.name);
}
VT_RPC_REGISTER("bdev_error_resume_pending", rpc_bdev_error_resume_pending,
		VT_RPC_STARTUP | VT_RPC_RUNTIME)

/* SPDK's names before its 19.10 renaming. */
static const struct vt_rpc_alias g_error_aliases[] = {
	{ "construct_error_bdev", "bdev_error_create" },
	{ "delete_error_bdev", "bdev_error_delete" },
	{ "bdev_inject_error", "bdev_error_inject_error" },
};
VT_RPC_REGISTER_ALIASES(g_error_aliases)
