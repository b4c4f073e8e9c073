/* SPDX-License-Identifier: BSD-3-Clause */
/* vhost_get_controllers and vhost_delete_controller, with SPDK's parameters and results. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "vt/json.h"
#include "vt/log.h"
#include "vt/rpc.h"
#include "vt/util.h"

#include "lib/vhost/vhost_internal.h"

struct rpc_ctrlr_name {
	char *name;
};

static const struct vt_json_object_decoder g_get_controllers_decoders[] = {
	{ "name", offsetof(struct rpc_ctrlr_name, name), vt_json_decode_string, true },
};

struct get_ctx {
	struct vt_jsonrpc_request *req;
	char *name;
};

static bool
ctrlr_visible(const struct vhost_ctrlr *c)
{
	return c->state != VHOST_CTRLR_CREATING;
}

/* Reactor 0, the sessions' figures collected. */
static void
get_controllers_write(void *arg)
{
	struct get_ctx *ctx = arg;
	struct vt_json_write_ctx *w;
	struct vhost_ctrlr *c;

	if (ctx->name != NULL) {
		c = vhost_ctrlr_find(ctx->name);
		if (c == NULL || !ctrlr_visible(c)) {
			/* Deleted while the figures were collected. */
			vt_jsonrpc_send_error_response_fmt(
				ctx->req, -ENODEV, "controller '%s' does not exist", ctx->name);
			goto out;
		}
	}
	w = vt_jsonrpc_begin_result(ctx->req);
	if (w != NULL) {
		vt_json_write_array_begin(w);
		for (c = vhost_ctrlr_first(); c != NULL; c = vhost_ctrlr_next(c)) {
			if (ctrlr_visible(c) &&
			    (ctx->name == NULL || vhost_ctrlr_find(ctx->name) == c)) {
				vhost_ctrlr_dump_json(c, w);
			}
		}
		vt_json_write_array_end(w);
	}
	vt_jsonrpc_end_result(ctx->req, w);
out:
	free(ctx->name);
	free(ctx);
}

static void
rpc_vhost_get_controllers(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_ctrlr_name p = { 0 };
	struct get_ctx *ctx;
	struct vhost_ctrlr *c;
	int rc;

	if (vt_rpc_decode_params(req, params, g_get_controllers_decoders,
				 VT_COUNTOF(g_get_controllers_decoders), &p) != 0) {
		return;
	}
	if (p.name != NULL) {
		c = vhost_ctrlr_find(p.name);
		if (c == NULL || !ctrlr_visible(c)) {
			vt_jsonrpc_send_error_response_fmt(req, -ENODEV,
							   "controller '%s' does "
							   "not exist",
							   p.name);
			free(p.name);
			return;
		}
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		free(p.name);
		vt_jsonrpc_send_error_response(req, -ENOMEM, "out of memory");
		return;
	}
	ctx->req = req;
	ctx->name = p.name;
	rc = vhost_sessions_snapshot(get_controllers_write, ctx);
	if (rc != 0) {
		vt_jsonrpc_send_error_response(req, rc, "cannot collect the session figures");
		free(ctx->name);
		free(ctx);
	}
}
VT_RPC_REGISTER("vhost_get_controllers", rpc_vhost_get_controllers, VT_RPC_RUNTIME)

static const struct vt_json_object_decoder g_delete_decoders[] = {
	{ "ctrlr", offsetof(struct rpc_ctrlr_name, name), vt_json_decode_string },
};

static void
delete_done(void *arg, int rc)
{
	struct vt_jsonrpc_request *req = arg;

	vt_jsonrpc_send_bool_response(req, true);
}

static void
rpc_vhost_delete_controller(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_ctrlr_name p = { 0 };
	struct vhost_ctrlr *c;
	uint32_t nlive;
	int rc;

	if (vt_rpc_decode_params(req, params, g_delete_decoders, VT_COUNTOF(g_delete_decoders),
				 &p) != 0) {
		return;
	}
	c = vhost_ctrlr_find(p.name);
	if (c == NULL || !ctrlr_visible(c)) {
		vt_jsonrpc_send_error_response_fmt(req, -ENODEV, "controller '%s' does not exist",
						   p.name);
		goto out;
	}
	pthread_mutex_lock(&g_vhost_mutex);
	nlive = vhost_ctrlr_connected(c);
	pthread_mutex_unlock(&g_vhost_mutex);
	rc = vhost_ctrlr_delete(c, false, delete_done, req);
	if (rc == -EBUSY) {
		vt_jsonrpc_send_error_response_fmt(req, -EBUSY,
						   "controller '%s' has a guest "
						   "connected (%u session%s): disconnect it first",
						   p.name, nlive, nlive == 1 ? "" : "s");
	} else if (rc == -EALREADY) {
		vt_jsonrpc_send_error_response_fmt(req, -EALREADY,
						   "controller '%s' is already "
						   "being deleted",
						   p.name);
	} else if (rc != 0) {
		vt_jsonrpc_send_error_response_fmt(req, rc, "cannot delete controller '%s': %s",
						   p.name, vt_strerror(-rc));
	}
out:
	free(p.name);
}
VT_RPC_REGISTER("vhost_delete_controller", rpc_vhost_delete_controller, VT_RPC_RUNTIME)
