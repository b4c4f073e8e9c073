/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Controller creation, the flow both personalities' create RPCs share:
 *
 *   reactor 0                      the controller's reactor
 *   vhost_ctrlr_alloc (the name)
 *                           ---->  ops->backend_create (opens and claims bdevs there, where
 *                                  their events come)
 *   open the socket         <----
 *   answer true
 *
 * and on a failure after the backend was set up: backend_ops->remove on the controller's reactor,
 * vhost_ctrlr_free on reactor 0, then the error answer.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "vt/bdev.h"
#include "vt/event.h"
#include "vt/log.h"
#include "vt/rpc.h"

#include "lib/vhost/vhost_internal.h"

struct create_ctx {
	struct vt_jsonrpc_request *req;
	const struct vhost_create_ops *ops;
	void *arg;  /* the RPC's, for ops->backend_create */
	bool delay; /* visible without a socket */
	struct vhost_ctrlr *c;
	int rc;
	char err[256];
	struct vhost_post post; /* between reactor 0 and the controller's reactor */
};

static void
create_ctx_free(struct create_ctx *ctx)
{
	if (ctx->ops->free_arg != NULL) {
		ctx->ops->free_arg(ctx->arg);
	}
	free(ctx);
}

static void
create_error(struct create_ctx *ctx)
{
	int rc = ctx->rc;
	/* Errno codes where SPDK's users look for them; bad parameters as -32602. */
	int code = rc == -EEXIST || rc == -ENODEV || rc == -EADDRINUSE || rc == -ENOMEM ||
				   rc == -ESHUTDOWN || rc == -EBUSY
			   ? rc
			   : VT_JSONRPC_ERROR_INVALID_PARAMS;

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
	struct create_ctx *ctx = arg;

	vhost_post_msg(&ctx->post, 0, create_undone, ctx);
}

static void
create_undo_backend(void *arg)
{
	struct create_ctx *ctx = arg;

	ctx->c->ops->remove(ctx->c, create_undo_backend_done, ctx);
}

/* Reactor 0: the backend is ready (or failed); open the socket. */
static void
create_backend_done(void *arg)
{
	struct create_ctx *ctx = arg;

	if (ctx->rc != 0) {
		create_undone(ctx);
		return;
	}
	if (*ctx->ops->shutting_down) {
		ctx->rc = -ESHUTDOWN;
		snprintf(ctx->err, sizeof(ctx->err), "the application is shutting down");
	} else if (ctx->delay) {
		/* Visible without a socket until the personality opens it. */
		pthread_mutex_lock(&g_vhost_mutex);
		ctx->c->state = VHOST_CTRLR_RUNNING;
		pthread_mutex_unlock(&g_vhost_mutex);
	} else {
		ctx->rc = vhost_ctrlr_start(ctx->c, ctx->err, sizeof(ctx->err));
	}
	if (ctx->rc != 0) {
		vhost_post_msg(&ctx->post, ctx->c->reactor, create_undo_backend, ctx);
		return;
	}
	if (ctx->ops->created != NULL) {
		ctx->ops->created(ctx->c, !ctx->delay);
	}
	vt_jsonrpc_send_bool_response(ctx->req, true);
	create_ctx_free(ctx);
}

/* The controller's reactor. */
static void
create_backend(void *arg)
{
	struct create_ctx *ctx = arg;

	ctx->rc = ctx->ops->backend_create(ctx->c, ctx->arg, ctx->err, sizeof(ctx->err));
	vhost_post_msg(&ctx->post, 0, create_backend_done, ctx);
}

void
vhost_ctrlr_create(struct vt_jsonrpc_request *req, const struct vhost_create_ops *ops,
		   const char *name, const char *cpumask, bool delay, void *arg)
{
	struct create_ctx *ctx = calloc(1, sizeof(*ctx));

	if (ctx == NULL) {
		vt_jsonrpc_send_error_response(req, -ENOMEM, "out of memory");
		if (ops->free_arg != NULL) {
			ops->free_arg(arg);
		}
		return;
	}
	ctx->req = req;
	ctx->ops = ops;
	ctx->arg = arg;
	ctx->delay = delay;
	ctx->rc =
		vhost_ctrlr_alloc(name, cpumask, ops->backend, &ctx->c, ctx->err, sizeof(ctx->err));
	if (ctx->rc != 0) {
		create_error(ctx);
		return;
	}
	vhost_post_msg(&ctx->post, ctx->c->reactor, create_backend, ctx);
}

/* ---- claims --------------------------------------------------------------------------------- */

void
vhost_claim_owner(const struct vhost_ctrlr *c, char *buf, size_t len)
{
	snprintf(buf, len, "vhost controller '%s'", c->name);
}

int
vhost_claimed_error(const char *bdev_name, char *err, size_t errlen)
{
	struct vt_bdev *bdev = vt_bdev_get_by_name(bdev_name);
	const char *owner = bdev != NULL ? vt_bdev_get_claim_owner(bdev) : NULL;

	/* The owner may have let go meanwhile: the refusal still stands for this call. */
	snprintf(err, errlen, "bdev '%s' is claimed by %s", bdev_name,
		 owner != NULL ? owner : "another user");
	return -EBUSY;
}
