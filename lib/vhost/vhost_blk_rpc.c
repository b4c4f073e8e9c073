/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost_create_blk_controller (SPDK's parameters and result) and the "vhost_blk" subsystem:
 * its config dump recreates every blk controller with every parameter; its fini deletes them
 * (front ends still connected are disconnected, their requests drained first).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vt/bdev.h"
#include "vt/event.h"
#include "vt/json.h"
#include "vt/log.h"
#include "vt/rpc.h"
#include "vt/util.h"

#include "lib/vhost/vhost_blk.h"
#include "lib/vhost/vhost_internal.h"

struct rpc_create_blk {
	char *ctrlr;
	char *dev_name;
	char *cpumask;
	char *transport;
	bool readonly;
	bool packed_ring;
};

static const struct vt_json_object_decoder g_create_blk_decoders[] = {
	{"ctrlr", offsetof(struct rpc_create_blk, ctrlr), vt_json_decode_string},
	{"dev_name", offsetof(struct rpc_create_blk, dev_name), vt_json_decode_string},
	{"cpumask", offsetof(struct rpc_create_blk, cpumask), vt_json_decode_string, true},
	{"transport", offsetof(struct rpc_create_blk, transport), vt_json_decode_string, true},
	{"readonly", offsetof(struct rpc_create_blk, readonly), vt_json_decode_bool, true},
	{"packed_ring", offsetof(struct rpc_create_blk, packed_ring), vt_json_decode_bool, true},
};

struct create_ctx {
	struct vt_jsonrpc_request *req;
	struct rpc_create_blk p;
	struct vhost_ctrlr *c;
	int rc;
	char err[256];
};

static bool g_shutting_down;

static void
create_ctx_free(struct create_ctx *ctx)
{
	free(ctx->p.ctrlr);
	free(ctx->p.dev_name);
	free(ctx->p.cpumask);
	free(ctx->p.transport);
	free(ctx);
}

static void
send_msg(uint32_t reactor, vt_msg_fn fn, void *arg)
{
	while (vt_send_msg(reactor, fn, arg) == -ENOMEM) {
		usleep(100);
	}
}

static void
create_error(struct create_ctx *ctx)
{
	int rc = ctx->rc;
	/* Errno codes where SPDK's users look for them; bad parameters as -32602. */
	int code = rc == -EEXIST || rc == -ENODEV || rc == -EADDRINUSE || rc == -ENOMEM ||
			   rc == -ESHUTDOWN ? rc : VT_JSONRPC_ERROR_INVALID_PARAMS;

	vt_jsonrpc_send_error_response(ctx->req, code, ctx->err);
	create_ctx_free(ctx);
}

/* Reactor 0, after the personality let go of a controller that could not start. */
static void
create_undone(void *arg)
{
	struct create_ctx *ctx = arg;

	vhost_ctrlr_free(ctx->c);
	create_error(ctx);
}

static void
create_undo_backend_done(void *arg)
{
	send_msg(0, create_undone, arg);
}

static void
create_undo_backend(void *arg)
{
	struct create_ctx *ctx = arg;

	g_vhost_blk_ops.remove(ctx->c, create_undo_backend_done, ctx);
}

/* Reactor 0: the bdev side is ready (or failed); open the socket. */
static void
create_backend_done(void *arg)
{
	struct create_ctx *ctx = arg;

	if (ctx->rc != 0) {
		create_undone(ctx);
		return;
	}
	if (g_shutting_down) {
		ctx->rc = -ESHUTDOWN;
		snprintf(ctx->err, sizeof(ctx->err), "the application is shutting down");
	} else {
		ctx->rc = vhost_ctrlr_start(ctx->c, ctx->err, sizeof(ctx->err));
	}
	if (ctx->rc != 0) {
		send_msg(ctx->c->reactor, create_undo_backend, ctx);
		return;
	}
	vt_jsonrpc_send_bool_response(ctx->req, true);
	create_ctx_free(ctx);
}

/* The controller's reactor: open and claim the bdev there (its events come there). */
static void
create_backend(void *arg)
{
	struct create_ctx *ctx = arg;

	ctx->rc = vhost_blk_backend_create(ctx->c, ctx->p.dev_name, ctx->p.readonly,
					   ctx->p.packed_ring, ctx->err, sizeof(ctx->err));
	send_msg(0, create_backend_done, ctx);
}

static void
rpc_vhost_create_blk_controller(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct create_ctx *ctx = calloc(1, sizeof(*ctx));

	if (ctx == NULL) {
		vt_jsonrpc_send_error_response(req, -ENOMEM, "out of memory");
		return;
	}
	ctx->req = req;
	if (vt_rpc_decode_params(req, params, g_create_blk_decoders,
				 VT_COUNTOF(g_create_blk_decoders), &ctx->p) != 0) {
		create_ctx_free(ctx);
		return;
	}
	if (ctx->p.transport != NULL && strcmp(ctx->p.transport, VHOST_BLK_TRANSPORT) != 0) {
		vt_jsonrpc_send_error_response_fmt(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
						   "invalid parameter 'transport': '%s' is not "
						   "supported (only '%s')", ctx->p.transport,
						   VHOST_BLK_TRANSPORT);
		create_ctx_free(ctx);
		return;
	}
	ctx->rc = vhost_ctrlr_alloc(ctx->p.ctrlr, ctx->p.cpumask, &g_vhost_blk_ops, &ctx->c,
				    ctx->err, sizeof(ctx->err));
	if (ctx->rc != 0) {
		create_error(ctx);
		return;
	}
	send_msg(ctx->c->reactor, create_backend, ctx);
}
VT_RPC_REGISTER("vhost_create_blk_controller", rpc_vhost_create_blk_controller,
		VT_RPC_STARTUP | VT_RPC_RUNTIME)

/* ---- the vhost_blk subsystem --------------------------------------------------------------- */

static void
vhost_blk_subsystem_init(void)
{
	g_shutting_down = false;
	vt_subsystem_init_done(0);
}

static void
vhost_blk_fini_done(void *arg)
{
	vt_subsystem_fini_done();
}

static void
vhost_blk_subsystem_fini(void)
{
	g_shutting_down = true;
	vhost_ctrlr_delete_all(&g_vhost_blk_ops, vhost_blk_fini_done, NULL);
}

static void
vhost_blk_write_config(struct vt_json_write_ctx *w)
{
	struct vhost_ctrlr *c;

	vt_json_write_array_begin(w);
	for (c = vhost_ctrlr_first(); c != NULL; c = vhost_ctrlr_next(c)) {
		if (c->ops == &g_vhost_blk_ops && c->state == VHOST_CTRLR_RUNNING) {
			c->ops->write_config_json(c, w);
		}
	}
	vt_json_write_array_end(w);
}

static struct vt_subsystem g_vhost_blk_subsystem = {
	.name = "vhost_blk",
	.init = vhost_blk_subsystem_init,
	.fini = vhost_blk_subsystem_fini,
	.write_config_json = vhost_blk_write_config,
};

VT_SUBSYSTEM_REGISTER(g_vhost_blk_subsystem)
VT_SUBSYSTEM_DEPEND(vhost_blk, bdev)
