/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost_create_blk_controller (SPDK's parameters and result) and the "vhost_blk" subsystem:
 * its config dump recreates every blk controller with every parameter; its fini deletes them
 * (front ends still connected are disconnected, their requests drained first).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

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
	bool shared; /* vtarget's extension: share the bdev with other shared blk controllers */
};

static const struct vt_json_object_decoder g_create_blk_decoders[] = {
	{ "ctrlr", offsetof(struct rpc_create_blk, ctrlr), vt_json_decode_string },
	{ "dev_name", offsetof(struct rpc_create_blk, dev_name), vt_json_decode_string },
	{ "cpumask", offsetof(struct rpc_create_blk, cpumask), vt_json_decode_string, true },
	{ "transport", offsetof(struct rpc_create_blk, transport), vt_json_decode_string, true },
	{ "readonly", offsetof(struct rpc_create_blk, readonly), vt_json_decode_bool, true },
	{ "packed_ring", offsetof(struct rpc_create_blk, packed_ring), vt_json_decode_bool, true },
	{ "shared", offsetof(struct rpc_create_blk, shared), vt_json_decode_bool, true },
};

static bool g_shutting_down;

static void
create_blk_free(void *arg)
{
	struct rpc_create_blk *p = arg;

	free(p->ctrlr);
	free(p->dev_name);
	free(p->cpumask);
	free(p->transport);
	free(p);
}

/* The controller's reactor: open and claim the bdev there (its events come there). */
static int
create_blk_backend(struct vhost_ctrlr *c, void *arg, char *err, size_t errlen)
{
	struct rpc_create_blk *p = arg;

	return vhost_blk_backend_create(c, p->dev_name, p->readonly, p->shared, p->packed_ring, err,
					errlen);
}

static const struct vhost_create_ops g_create_blk_ops = {
	.backend = &g_vhost_blk_ops,
	.backend_create = create_blk_backend,
	.free_arg = create_blk_free,
	.shutting_down = &g_shutting_down,
};

static void
rpc_vhost_create_blk_controller(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_create_blk *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		vt_jsonrpc_send_error_response(req, -ENOMEM, "out of memory");
		return;
	}
	if (vt_rpc_decode_params(req, params, g_create_blk_decoders,
				 VT_COUNTOF(g_create_blk_decoders), p) != 0) {
		create_blk_free(p);
		return;
	}
	if (p->transport != NULL && strcmp(p->transport, VHOST_BLK_TRANSPORT) != 0) {
		vt_jsonrpc_send_error_response_fmt(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
						   "invalid parameter 'transport': '%s' is not "
						   "supported (only '%s')",
						   p->transport, VHOST_BLK_TRANSPORT);
		create_blk_free(p);
		return;
	}
	vhost_ctrlr_create(req, &g_create_blk_ops, p->ctrlr, p->cpumask, false, p);
}
VT_RPC_REGISTER("vhost_create_blk_controller", rpc_vhost_create_blk_controller,
		VT_RPC_STARTUP | VT_RPC_RUNTIME)

/* ---- the vhost_blk subsystem --------------------------------------------------------------- */

static void
vhost_blk_subsystem_init(void)
{
	vhost_quiesce_reset();
	g_shutting_down = false;
	vt_subsystem_init_done(0);
}

static void
vhost_blk_fini_done(void *arg)
{
	vt_subsystem_fini_done();
}

static void
vhost_blk_quiesced(void *arg)
{
	vhost_ctrlr_delete_all(&g_vhost_blk_ops, vhost_blk_fini_done, NULL);
}

static void
vhost_blk_subsystem_fini(void)
{
	g_shutting_down = true;
	/* Every personality's requests drain before the first controller goes. */
	vhost_quiesce_all(vhost_blk_quiesced, NULL);
}

static void
vhost_blk_write_config(struct vt_json_write_ctx *w)
{
	vhost_ctrlr_write_config_all(&g_vhost_blk_ops, w);
}

static struct vt_subsystem g_vhost_blk_subsystem = {
	.name = "vhost_blk",
	.init = vhost_blk_subsystem_init,
	.fini = vhost_blk_subsystem_fini,
	.write_config_json = vhost_blk_write_config,
};

VT_SUBSYSTEM_REGISTER(g_vhost_blk_subsystem)
VT_SUBSYSTEM_DEPEND(vhost_blk, bdev)
