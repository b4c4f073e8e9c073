/* SPDX-License-Identifier: BSD-3-Clause */
/* bdev_iscsi_create, bdev_iscsi_delete and bdev_iscsi_set_options, with SPDK's parameters. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/json.h"
#include "vt/log.h"
#include "vt/rpc.h"
#include "vt/util.h"

#include "lib/bdev/iscsi/bdev_iscsi.h"

/* Longest timeout accepted: a day (libiscsi and the tick count in seconds and nanoseconds). */
#define ISCSI_MAX_TIMEOUT_SEC (24u * 3600)

struct rpc_iscsi_create {
	char *name;
	char *initiator_iqn;
	char *url;
};

static const struct vt_json_object_decoder g_iscsi_create_decoders[] = {
	{ "name", offsetof(struct rpc_iscsi_create, name), vt_json_decode_string },
	{ "initiator_iqn", offsetof(struct rpc_iscsi_create, initiator_iqn),
	  vt_json_decode_string },
	{ "url", offsetof(struct rpc_iscsi_create, url), vt_json_decode_string },
};

static bool
rpc_iscsi_check_create(struct vt_jsonrpc_request *req, const struct rpc_iscsi_create *p)
{
	if (!vt_bdev_name_is_valid(p->name)) {
		vt_jsonrpc_send_error_response_fmt(
			req, VT_JSONRPC_ERROR_INVALID_PARAMS,
			"invalid parameter 'name': '%s' is not a bdev name", p->name);
		return false;
	}
	if (p->initiator_iqn[0] == '\0' || strlen(p->initiator_iqn) > 223) {
		/* RFC 7143: an iSCSI name is at most 223 bytes. */
		vt_jsonrpc_send_error_response(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
					       "invalid parameter 'initiator_iqn': an iSCSI name "
					       "of 1 to 223 bytes is expected");
		return false;
	}
	if (vt_bdev_get_by_name(p->name) != NULL || bdev_iscsi_name_in_use(p->name)) {
		vt_jsonrpc_send_error_response_fmt(req, -EEXIST, "bdev '%s' already exists",
						   p->name);
		return false;
	}
	return true;
}

static void
rpc_bdev_iscsi_create(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_iscsi_create p = { 0 };
	char err[512];
	int rc;

	if (vt_rpc_decode_params(req, params, g_iscsi_create_decoders,
				 VT_COUNTOF(g_iscsi_create_decoders), &p) != 0) {
		goto out;
	}
	if (!rpc_iscsi_check_create(req, &p)) {
		goto out;
	}
	/* Answered later, once logged in (or not). */
	rc = bdev_iscsi_create(req, p.name, p.initiator_iqn, p.url, err, sizeof(err));
	if (rc == -EINVAL) {
		vt_jsonrpc_send_error_response(req, VT_JSONRPC_ERROR_INVALID_PARAMS, err);
	} else if (rc != 0) {
		vt_jsonrpc_send_error_response_fmt(req, rc, "cannot create iscsi bdev '%s': %s",
						   p.name, err);
	}
out:
	free(p.name);
	free(p.initiator_iqn);
	free(p.url);
}
VT_RPC_REGISTER("bdev_iscsi_create", rpc_bdev_iscsi_create, VT_RPC_STARTUP | VT_RPC_RUNTIME)

struct rpc_iscsi_name {
	char *name;
};

static const struct vt_json_object_decoder g_iscsi_delete_decoders[] = {
	{ "name", offsetof(struct rpc_iscsi_name, name), vt_json_decode_string },
};

static void
rpc_bdev_iscsi_delete(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_iscsi_name p = { 0 };

	if (vt_rpc_decode_params(req, params, g_iscsi_delete_decoders,
				 VT_COUNTOF(g_iscsi_delete_decoders), &p) == 0) {
		vt_bdev_rpc_delete(req, p.name, &g_bdev_iscsi_module, "an iscsi bdev",
				   bdev_iscsi_delete);
	}
	free(p.name);
}
VT_RPC_REGISTER("bdev_iscsi_delete", rpc_bdev_iscsi_delete, VT_RPC_STARTUP | VT_RPC_RUNTIME)

static const struct vt_json_object_decoder g_iscsi_opts_decoders[] = {
	{ "timeout_sec", offsetof(struct bdev_iscsi_opts, timeout_sec), vt_json_decode_uint64,
	  true },
};

static void
rpc_bdev_iscsi_set_options(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct bdev_iscsi_opts opts;

	bdev_iscsi_get_opts(&opts);
	if (vt_rpc_decode_params(req, params, g_iscsi_opts_decoders,
				 VT_COUNTOF(g_iscsi_opts_decoders), &opts) != 0) {
		return;
	}
	if (opts.timeout_sec > ISCSI_MAX_TIMEOUT_SEC) {
		vt_jsonrpc_send_error_response_fmt(
			req, VT_JSONRPC_ERROR_INVALID_PARAMS,
			"invalid parameter 'timeout_sec': %llu s is more than a day (%u s)",
			(unsigned long long)opts.timeout_sec, ISCSI_MAX_TIMEOUT_SEC);
		return;
	}
	bdev_iscsi_set_opts(&opts);
	vt_jsonrpc_send_bool_response(req, true);
}
VT_RPC_REGISTER("bdev_iscsi_set_options", rpc_bdev_iscsi_set_options,
		VT_RPC_STARTUP | VT_RPC_RUNTIME)
