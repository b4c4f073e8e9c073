/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio-scsi controller RPCs (SPDK's parameters and results): vhost_create_scsi_controller,
 * vhost_start_scsi_controller, vhost_scsi_controller_add_target,
 * vhost_scsi_controller_remove_target; and the "vhost_scsi" subsystem, whose config dump
 * recreates each controller as SPDK does (create with delay, add the targets, start).
 *
 * A controller created with delay is registered (visible, deletable, targets can be added) but
 * has no socket until vhost_start_scsi_controller.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vt/event.h"
#include "vt/json.h"
#include "vt/log.h"
#include "vt/rpc.h"
#include "vt/util.h"

#include "lib/vhost/vhost_internal.h"
#include "lib/vhost/vhost_scsi.h"

static bool g_shutting_down;

/* Reactor 0: a scsi controller that is visible (created; started or delayed). */
static struct vhost_ctrlr *
scsi_ctrlr_find(struct vt_jsonrpc_request *req, const char *name)
{
	struct vhost_ctrlr *c = vhost_ctrlr_find(name);

	if (c == NULL || c->state != VHOST_CTRLR_RUNNING) {
		vt_jsonrpc_send_error_response_fmt(req, -ENODEV, "controller '%s' does not exist",
						   name);
		return NULL;
	}
	if (c->ops != &g_vhost_scsi_ops) {
		vt_jsonrpc_send_error_response_fmt(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
						   "controller '%s' is not a scsi controller",
						   name);
		return NULL;
	}
	return c;
}

static int
error_code(int rc)
{
	return rc == -EINVAL ? VT_JSONRPC_ERROR_INVALID_PARAMS : rc;
}

/* ---- vhost_create_scsi_controller ----------------------------------------------------------- */

struct rpc_create_scsi {
	char *ctrlr;
	char *cpumask;
	bool delay;
};

static const struct vt_json_object_decoder g_create_scsi_decoders[] = {
	{ "ctrlr", offsetof(struct rpc_create_scsi, ctrlr), vt_json_decode_string },
	{ "cpumask", offsetof(struct rpc_create_scsi, cpumask), vt_json_decode_string, true },
	{ "delay", offsetof(struct rpc_create_scsi, delay), vt_json_decode_bool, true },
};

static int
create_scsi_backend(struct vhost_ctrlr *c, void *arg, char *err, size_t errlen)
{
	return vhost_scsi_backend_create(c, err, errlen);
}

static void
create_scsi_created(struct vhost_ctrlr *c, bool listening)
{
	if (listening) {
		vhost_scsi_set_started(c);
	} else {
		VT_NOTICELOG("vhost controller '%s' (%s) created; its socket waits for "
			     "vhost_start_scsi_controller\n",
			     c->name, c->ops->name);
	}
}

static const struct vhost_create_ops g_create_scsi_ops = {
	.backend = &g_vhost_scsi_ops,
	.backend_create = create_scsi_backend,
	.created = create_scsi_created,
	.shutting_down = &g_shutting_down,
};

static void
rpc_vhost_create_scsi_controller(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_create_scsi p = { 0 };

	if (vt_rpc_decode_params(req, params, g_create_scsi_decoders,
				 VT_COUNTOF(g_create_scsi_decoders), &p) == 0) {
		vhost_ctrlr_create(req, &g_create_scsi_ops, p.ctrlr, p.cpumask, p.delay, NULL);
	}
	free(p.ctrlr);
	free(p.cpumask);
}
VT_RPC_REGISTER("vhost_create_scsi_controller", rpc_vhost_create_scsi_controller,
		VT_RPC_STARTUP | VT_RPC_RUNTIME)

/* ---- vhost_start_scsi_controller ------------------------------------------------------------ */

struct rpc_ctrlr {
	char *ctrlr;
};

static const struct vt_json_object_decoder g_ctrlr_decoders[] = {
	{ "ctrlr", offsetof(struct rpc_ctrlr, ctrlr), vt_json_decode_string },
};

static void
rpc_vhost_start_scsi_controller(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_ctrlr p = { 0 };
	struct vhost_ctrlr *c;
	char err[256];
	int rc;

	if (vt_rpc_decode_params(req, params, g_ctrlr_decoders, VT_COUNTOF(g_ctrlr_decoders), &p) !=
	    0) {
		return;
	}
	c = scsi_ctrlr_find(req, p.ctrlr);
	if (c == NULL) {
		goto out;
	}
	if (vhost_scsi_is_started(c)) {
		vt_jsonrpc_send_error_response_fmt(req, -EALREADY,
						   "controller '%s' is already started", p.ctrlr);
		goto out;
	}
	rc = vhost_user_register(c, err, sizeof(err));
	if (rc != 0) {
		vt_jsonrpc_send_error_response(req, error_code(rc), err);
		goto out;
	}
	vhost_scsi_set_started(c);
	VT_NOTICELOG("vhost controller '%s' (%s) listening on %s, reactor %u\n", c->name,
		     c->ops->name, c->path, c->reactor);
	vt_jsonrpc_send_bool_response(req, true);
out:
	free(p.ctrlr);
}
VT_RPC_REGISTER("vhost_start_scsi_controller", rpc_vhost_start_scsi_controller,
		VT_RPC_STARTUP | VT_RPC_RUNTIME)

/* ---- targets ---------------------------------------------------------------------------------- */

struct rpc_target {
	char *ctrlr;
	int32_t scsi_target_num;
	char *bdev_name;
};

static const struct vt_json_object_decoder g_add_target_decoders[] = {
	{ "ctrlr", offsetof(struct rpc_target, ctrlr), vt_json_decode_string },
	{ "scsi_target_num", offsetof(struct rpc_target, scsi_target_num), vt_json_decode_int32 },
	{ "bdev_name", offsetof(struct rpc_target, bdev_name), vt_json_decode_string },
};

static const struct vt_json_object_decoder g_remove_target_decoders[] = {
	{ "ctrlr", offsetof(struct rpc_target, ctrlr), vt_json_decode_string },
	{ "scsi_target_num", offsetof(struct rpc_target, scsi_target_num), vt_json_decode_int32 },
};

struct target_ctx {
	struct vt_jsonrpc_request *req;
	struct rpc_target p;
	struct vhost_ctrlr *c;
	int rc;
	char err[256];
	struct vhost_post post; /* between reactor 0 and the controller's reactor */
};

static void
target_ctx_free(struct target_ctx *ctx)
{
	free(ctx->p.ctrlr);
	free(ctx->p.bdev_name);
	free(ctx);
}

static void
add_target_reply(void *arg)
{
	struct target_ctx *ctx = arg;
	struct vt_json_write_ctx *w;

	if (ctx->rc < 0) {
		vt_jsonrpc_send_error_response(ctx->req, error_code(ctx->rc), ctx->err);
	} else {
		w = vt_jsonrpc_begin_result(ctx->req);
		if (w != NULL) {
			vt_json_write_int64(w, ctx->rc);
			vt_jsonrpc_end_result(ctx->req, w);
		}
	}
	target_ctx_free(ctx);
}

static void
add_target_on_reactor(void *arg)
{
	struct target_ctx *ctx = arg;

	ctx->rc = vhost_scsi_target_add(ctx->c, ctx->p.scsi_target_num, ctx->p.bdev_name, ctx->err,
					sizeof(ctx->err));
	vhost_post_msg(&ctx->post, 0, add_target_reply, ctx);
}

/* Reactor 0: decodes, finds the controller and pins it; NULL after an error response. */
static struct target_ctx *
target_ctx_get(struct vt_jsonrpc_request *req, yajl_val params,
	       const struct vt_json_object_decoder *dec, size_t ndec)
{
	struct target_ctx *ctx = calloc(1, sizeof(*ctx));

	if (ctx == NULL) {
		vt_jsonrpc_send_error_response(req, -ENOMEM, "out of memory");
		return NULL;
	}
	ctx->req = req;
	if (vt_rpc_decode_params(req, params, dec, ndec, &ctx->p) != 0) {
		target_ctx_free(ctx);
		return NULL;
	}
	ctx->c = scsi_ctrlr_find(req, ctx->p.ctrlr);
	if (ctx->c == NULL) {
		target_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

static void
rpc_vhost_scsi_controller_add_target(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct target_ctx *ctx = target_ctx_get(req, params, g_add_target_decoders,
						VT_COUNTOF(g_add_target_decoders));

	if (ctx != NULL) {
		/*
		 * The controller cannot go away meanwhile: deletion also runs on reactor 0 and
		 * reaches the controller's reactor after this message.
		 */
		vhost_post_msg(&ctx->post, ctx->c->reactor, add_target_on_reactor, ctx);
	}
}
VT_RPC_REGISTER("vhost_scsi_controller_add_target", rpc_vhost_scsi_controller_add_target,
		VT_RPC_STARTUP | VT_RPC_RUNTIME)

static void
remove_target_reply(void *arg)
{
	struct target_ctx *ctx = arg;

	if (ctx->rc < 0) {
		vt_jsonrpc_send_error_response(ctx->req, error_code(ctx->rc), ctx->err);
	} else {
		vt_jsonrpc_send_bool_response(ctx->req, true);
	}
	target_ctx_free(ctx);
}

static void
remove_target_done(void *arg, int rc)
{
	struct target_ctx *ctx = arg;

	ctx->rc = rc;
	vhost_post_msg(&ctx->post, 0, remove_target_reply, ctx);
}

static void
remove_target_on_reactor(void *arg)
{
	struct target_ctx *ctx = arg;
	int rc;

	if (ctx->p.scsi_target_num < 0) {
		snprintf(ctx->err, sizeof(ctx->err), "invalid target number %d: use 0 to %d",
			 ctx->p.scsi_target_num, VHOST_SCSI_MAX_TARGETS - 1);
		remove_target_done(ctx, -EINVAL);
		return;
	}
	rc = vhost_scsi_target_remove(ctx->c, (uint32_t)ctx->p.scsi_target_num, remove_target_done,
				      ctx, ctx->err, sizeof(ctx->err));
	if (rc != 0) {
		remove_target_done(ctx, rc);
	}
}

static void
rpc_vhost_scsi_controller_remove_target(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct target_ctx *ctx = target_ctx_get(req, params, g_remove_target_decoders,
						VT_COUNTOF(g_remove_target_decoders));

	if (ctx != NULL) {
		vhost_post_msg(&ctx->post, ctx->c->reactor, remove_target_on_reactor, ctx);
	}
}
VT_RPC_REGISTER("vhost_scsi_controller_remove_target", rpc_vhost_scsi_controller_remove_target,
		VT_RPC_STARTUP | VT_RPC_RUNTIME)

/* ---- the vhost_scsi subsystem --------------------------------------------------------------- */

static void
vhost_scsi_subsystem_init(void)
{
	vhost_quiesce_reset();
	g_shutting_down = false;
	vt_subsystem_init_done(0);
}

static void
vhost_scsi_fini_done(void *arg)
{
	vt_subsystem_fini_done();
}

static void
vhost_scsi_quiesced(void *arg)
{
	vhost_ctrlr_delete_all(&g_vhost_scsi_ops, vhost_scsi_fini_done, NULL);
}

static void
vhost_scsi_subsystem_fini(void)
{
	g_shutting_down = true;
	/* Every personality's requests drain before the first controller goes. */
	vhost_quiesce_all(vhost_scsi_quiesced, NULL);
}

static void
vhost_scsi_write_config(struct vt_json_write_ctx *w)
{
	vhost_ctrlr_write_config_all(&g_vhost_scsi_ops, w);
}

static struct vt_subsystem g_vhost_scsi_subsystem = {
	.name = "vhost_scsi",
	.init = vhost_scsi_subsystem_init,
	.fini = vhost_scsi_subsystem_fini,
	.write_config_json = vhost_scsi_write_config,
};

VT_SUBSYSTEM_REGISTER(g_vhost_scsi_subsystem)
VT_SUBSYSTEM_DEPEND(vhost_scsi, bdev)
