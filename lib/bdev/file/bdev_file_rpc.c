/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RPCs of the file module, with SPDK's names, parameters and results: bdev_aio_create /
 * bdev_aio_delete / bdev_aio_rescan and bdev_uring_create / bdev_uring_delete /
 * bdev_uring_rescan. Failures answer the negative errno as the code with a message naming the
 * object ("cannot open 'x': No such file or directory", "bdev 'y' does not exist").
 */

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "vt/log.h"
#include "vt/rpc.h"
#include "lib/bdev/file/bdev_file.h"

#define RPC_FILE_ERR_LEN 512

struct rpc_file_create {
	char *name;
	char *filename;
	uint32_t block_size;
	bool readonly;
	bool fallocate;
	bool nowait;
	char *uuid;
};

static const struct vt_json_object_decoder rpc_aio_create_decoders[] = {
	{ "name", offsetof(struct rpc_file_create, name), vt_json_decode_string },
	{ "filename", offsetof(struct rpc_file_create, filename), vt_json_decode_string },
	{ "block_size", offsetof(struct rpc_file_create, block_size), vt_json_decode_uint32, true },
	{ "readonly", offsetof(struct rpc_file_create, readonly), vt_json_decode_bool, true },
	{ "fallocate", offsetof(struct rpc_file_create, fallocate), vt_json_decode_bool, true },
	{ "uuid", offsetof(struct rpc_file_create, uuid), vt_json_decode_string, true },
	{ "nowait", offsetof(struct rpc_file_create, nowait), vt_json_decode_bool, true },
};

static const struct vt_json_object_decoder rpc_uring_create_decoders[] = {
	{ "name", offsetof(struct rpc_file_create, name), vt_json_decode_string },
	{ "filename", offsetof(struct rpc_file_create, filename), vt_json_decode_string },
	{ "block_size", offsetof(struct rpc_file_create, block_size), vt_json_decode_uint32, true },
	{ "uuid", offsetof(struct rpc_file_create, uuid), vt_json_decode_string, true },
};

static void
rpc_file_create(struct vt_jsonrpc_request *req, yajl_val params, enum file_kind kind)
{
	/* UNMAP and WRITE_ZEROES are on unless "fallocate": false says otherwise. */
	struct rpc_file_create r = { .fallocate = true };
	struct file_create_opts opts;
	struct vt_json_write_ctx *w;
	char err[RPC_FILE_ERR_LEN];
	struct vt_uuid uuid;
	int rc;

	if (kind == FILE_KIND_AIO) {
		rc = vt_rpc_decode_params(req, params, rpc_aio_create_decoders,
					  VT_COUNTOF(rpc_aio_create_decoders), &r);
	} else {
		rc = vt_rpc_decode_params(req, params, rpc_uring_create_decoders,
					  VT_COUNTOF(rpc_uring_create_decoders), &r);
	}
	if (rc != 0) {
		goto out;
	}
	if (r.uuid != NULL && vt_uuid_parse(&uuid, r.uuid) != 0) {
		vt_jsonrpc_send_error_response_fmt(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
						   "invalid parameter 'uuid': '%s' is not a UUID",
						   r.uuid);
		goto out;
	}
	opts = (struct file_create_opts){
		.name = r.name,
		.filename = r.filename,
		.block_size = r.block_size,
		.readonly = r.readonly,
		.fallocate = r.fallocate,
		.nowait = r.nowait,
		.uuid = r.uuid != NULL ? &uuid : NULL,
		.kind = kind,
	};
	rc = bdev_file_create(&opts, err, sizeof(err));
	if (rc != 0) {
		vt_jsonrpc_send_error_response(req, rc, err);
		goto out;
	}
	w = vt_jsonrpc_begin_result(req);
	if (w != NULL) {
		vt_json_write_string(w, r.name);
	}
	vt_jsonrpc_end_result(req, w);
out:
	free(r.name);
	free(r.filename);
	free(r.uuid);
}

static void
rpc_bdev_aio_create(struct vt_jsonrpc_request *req, yajl_val params)
{
	rpc_file_create(req, params, FILE_KIND_AIO);
}
VT_RPC_REGISTER("bdev_aio_create", rpc_bdev_aio_create, VT_RPC_STARTUP | VT_RPC_RUNTIME)

static void
rpc_bdev_uring_create(struct vt_jsonrpc_request *req, yajl_val params)
{
	rpc_file_create(req, params, FILE_KIND_URING);
}
VT_RPC_REGISTER("bdev_uring_create", rpc_bdev_uring_create, VT_RPC_STARTUP | VT_RPC_RUNTIME)

struct rpc_file_name {
	char *name;
};

static const struct vt_json_object_decoder rpc_file_name_decoders[] = {
	{ "name", offsetof(struct rpc_file_name, name), vt_json_decode_string },
};

/* Decodes {"name"} and finds the bdev; NULL when it answered the request already. */
static struct file_disk *
rpc_file_lookup(struct vt_jsonrpc_request *req, yajl_val params, enum file_kind kind)
{
	struct rpc_file_name r = { NULL };
	struct file_disk *fdisk = NULL;
	char err[RPC_FILE_ERR_LEN];

	if (vt_rpc_decode_params(req, params, rpc_file_name_decoders,
				 VT_COUNTOF(rpc_file_name_decoders), &r) != 0) {
		goto out;
	}
	fdisk = bdev_file_find(r.name, kind, err, sizeof(err));
	if (fdisk == NULL) {
		vt_jsonrpc_send_error_response(req, -ENODEV, err);
	}
out:
	free(r.name);
	return fdisk;
}

static void
rpc_file_delete_done(void *cb_arg, int rc)
{
	struct vt_jsonrpc_request *req = cb_arg;

	if (rc != 0) {
		vt_jsonrpc_send_error_response_fmt(req, rc, "cannot delete bdev: %s",
						   vt_strerror(-rc));
		return;
	}
	vt_jsonrpc_send_bool_response(req, true);
}

static void
rpc_file_delete(struct vt_jsonrpc_request *req, yajl_val params, enum file_kind kind)
{
	struct file_disk *fdisk = rpc_file_lookup(req, params, kind);
	char err[RPC_FILE_ERR_LEN];
	int rc;

	if (fdisk == NULL) {
		return;
	}
	rc = bdev_file_delete(fdisk, rpc_file_delete_done, req, err, sizeof(err));
	if (rc != 0) {
		vt_jsonrpc_send_error_response(req, rc, err);
	}
}

static void
rpc_bdev_aio_delete(struct vt_jsonrpc_request *req, yajl_val params)
{
	rpc_file_delete(req, params, FILE_KIND_AIO);
}
VT_RPC_REGISTER("bdev_aio_delete", rpc_bdev_aio_delete, VT_RPC_RUNTIME)

static void
rpc_bdev_uring_delete(struct vt_jsonrpc_request *req, yajl_val params)
{
	rpc_file_delete(req, params, FILE_KIND_URING);
}
VT_RPC_REGISTER("bdev_uring_delete", rpc_bdev_uring_delete, VT_RPC_RUNTIME)

static void
rpc_file_rescan(struct vt_jsonrpc_request *req, yajl_val params, enum file_kind kind)
{
	struct file_disk *fdisk = rpc_file_lookup(req, params, kind);
	char err[RPC_FILE_ERR_LEN];
	int rc;

	if (fdisk == NULL) {
		return;
	}
	rc = bdev_file_rescan(fdisk, err, sizeof(err));
	if (rc != 0) {
		vt_jsonrpc_send_error_response(req, rc, err);
		return;
	}
	vt_jsonrpc_send_bool_response(req, true);
}

static void
rpc_bdev_aio_rescan(struct vt_jsonrpc_request *req, yajl_val params)
{
	rpc_file_rescan(req, params, FILE_KIND_AIO);
}
VT_RPC_REGISTER("bdev_aio_rescan", rpc_bdev_aio_rescan, VT_RPC_RUNTIME)

static void
rpc_bdev_uring_rescan(struct vt_jsonrpc_request *req, yajl_val params)
{
	rpc_file_rescan(req, params, FILE_KIND_URING);
}
VT_RPC_REGISTER("bdev_uring_rescan", rpc_bdev_uring_rescan, VT_RPC_RUNTIME)

/* SPDK's names before its 19.10 renaming, still accepted by its rpc.py users' scripts. */
static const struct vt_rpc_alias g_file_aliases[] = {
	{ "construct_aio_bdev", "bdev_aio_create" },
	{ "delete_aio_bdev", "bdev_aio_delete" },
};
VT_RPC_REGISTER_ALIASES(g_file_aliases)
