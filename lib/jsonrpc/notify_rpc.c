/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * notify_get_types and notify_get_notifications {id, max}, with SPDK's parameters and results:
 * ["bdev_register", ...] and [{"type": "bdev_register", "ctx": "Malloc0", "id": 0}, ...].
 */
#include <stddef.h>
#include <stdint.h>

#include "vt/json.h"
#include "vt/notify.h"
#include "vt/rpc.h"
#include "vt/util.h"

static void
write_type(const char *type, void *arg)
{
	vt_json_write_string(arg, type);
}

static void
rpc_notify_get_types(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct vt_json_write_ctx *w;

	if (params != NULL && !((YAJL_IS_OBJECT(params) && params->u.object.len == 0) ||
				(YAJL_IS_ARRAY(params) && params->u.array.len == 0))) {
		vt_jsonrpc_send_error_response_fmt(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
						   "notify_get_types requires no parameters");
		return;
	}
	w = vt_jsonrpc_begin_result(req);
	if (w != NULL) {
		vt_json_write_array_begin(w);
		vt_notify_foreach_type(write_type, w);
		vt_json_write_array_end(w);
	}
	vt_jsonrpc_end_result(req, w);
}
VT_RPC_REGISTER("notify_get_types", rpc_notify_get_types, VT_RPC_STARTUP | VT_RPC_RUNTIME)

struct rpc_notify_get_notifications {
	uint64_t id;
	uint64_t max;
};

static const struct vt_json_object_decoder rpc_notify_get_notifications_decoders[] = {
	{ "id", offsetof(struct rpc_notify_get_notifications, id), vt_json_decode_uint64, true },
	{ "max", offsetof(struct rpc_notify_get_notifications, max), vt_json_decode_uint64, true },
};

static void
write_event(uint64_t id, const char *type, const char *ctx, void *arg)
{
	struct vt_json_write_ctx *w = arg;

	vt_json_write_object_begin(w);
	vt_json_write_named_string(w, "type", type);
	vt_json_write_named_string(w, "ctx", ctx);
	vt_json_write_named_uint64(w, "id", id);
	vt_json_write_object_end(w);
}

static void
rpc_notify_get_notifications(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_notify_get_notifications p = { .id = 0, .max = UINT64_MAX };
	struct vt_json_write_ctx *w;

	if (params != NULL &&
	    vt_rpc_decode_params(req, params, rpc_notify_get_notifications_decoders,
				 VT_COUNTOF(rpc_notify_get_notifications_decoders), &p) != 0) {
		return;
	}
	w = vt_jsonrpc_begin_result(req);
	if (w != NULL) {
		vt_json_write_array_begin(w);
		vt_notify_foreach_event(p.id, p.max, write_event, w);
		vt_json_write_array_end(w);
	}
	vt_jsonrpc_end_result(req, w);
}
VT_RPC_REGISTER("notify_get_notifications", rpc_notify_get_notifications,
		VT_RPC_STARTUP | VT_RPC_RUNTIME)
