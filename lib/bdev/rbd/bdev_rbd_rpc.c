/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bdev_rbd_register_cluster, bdev_rbd_unregister_cluster, bdev_rbd_get_clusters_info,
 * bdev_rbd_create, bdev_rbd_delete and bdev_rbd_resize, with SPDK's parameters and results. The
 * slow ones (connect, open, close, resize) answer from reactor 0 once their job is done.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/json.h"
#include "vt/log.h"
#include "vt/rpc.h"
#include "vt/util.h"
#include "lib/bdev/rbd/bdev_rbd.h"

/* Largest block size of an rbd bdev (librbd has no limit; the bdev layer's blocks are small). */
#define RBD_MAX_BLOCK_SIZE 65536u

/* A JSON object of strings ({"mon_host": "...", "key": "..."}) into a struct rbd_kv. */
static int
decode_kv(yajl_val val, void *out)
{
	struct rbd_kv *m = out;
	size_t n;

	if (!YAJL_IS_OBJECT(val)) {
		return -EINVAL;
	}
	rbd_kv_free(m);
	n = val->u.object.len;
	m->kv = calloc(2 * n + 1, sizeof(char *));
	if (m->kv == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		yajl_val v = val->u.object.values[i];

		if (!YAJL_IS_STRING(v) || val->u.object.keys[i][0] == '\0') {
			m->count = i;
			rbd_kv_free(m);
			return -EINVAL;
		}
		m->kv[2 * i] = strdup(val->u.object.keys[i]);
		m->kv[2 * i + 1] = strdup(v->u.string);
		m->count = i + 1;
		if (m->kv[2 * i] == NULL || m->kv[2 * i + 1] == NULL) {
			rbd_kv_free(m);
			return -ENOMEM;
		}
	}
	return 0;
}

/*
 * SPDK's core_mask pins librados' threads; vtarget leaves them to the scheduler, so any value is
 * refused as not supported (not as an unknown parameter).
 */
static int
decode_no_core_mask(yajl_val val, void *out)
{
	return YAJL_IS_STRING(val) ? -ENOTSUP : -EINVAL;
}

static void
answer_err(struct vt_jsonrpc_request *req, const char *what, const char *name,
	   const struct rbd_err *err)
{
	vt_jsonrpc_send_error_response_fmt(req, err->rc, "cannot %s '%s': %s", what,
					   name != NULL ? name : "", err->msg);
}

/* ---- clusters ---------------------------------------------------------------------------- */

struct rpc_register_cluster {
	char *name;
	char *user_id;
	struct rbd_kv config_param;
	char *config_file;
	char *key_file;
};

static const struct vt_json_object_decoder g_register_decoders[] = {
	{ "name", offsetof(struct rpc_register_cluster, name), vt_json_decode_string },
	{ "user_id", offsetof(struct rpc_register_cluster, user_id), vt_json_decode_string, true },
	{ "config_param", offsetof(struct rpc_register_cluster, config_param), decode_kv, true },
	{ "config_file", offsetof(struct rpc_register_cluster, config_file), vt_json_decode_string,
	  true },
	{ "key_file", offsetof(struct rpc_register_cluster, key_file), vt_json_decode_string,
	  true },
	VT_JSON_DECODER_DEFAULT_ONLY("core_mask", decode_no_core_mask),
};

struct register_ctx {
	struct vt_jsonrpc_request *req;
	struct rbd_cluster *cluster;
	struct rbd_err err;
};

static void
register_work(void *arg)
{
	struct register_ctx *ctx = arg;

	rbd_cluster_connect(ctx->cluster, &ctx->err);
}

static void
register_done(void *arg)
{
	struct register_ctx *ctx = arg;
	struct vt_json_write_ctx *w;

	/* Kept in the list (removing) while connecting, so the name stays taken. */
	rbd_cluster_remove(ctx->cluster);
	if (ctx->err.rc != 0) {
		answer_err(ctx->req, "register rbd cluster", ctx->cluster->name, &ctx->err);
		rbd_cluster_free(ctx->cluster);
	} else {
		ctx->cluster->removing = false;
		rbd_cluster_add(ctx->cluster);
		VT_NOTICELOG("rbd cluster '%s' connected\n", ctx->cluster->name);
		w = vt_jsonrpc_begin_result(ctx->req);
		vt_json_write_string(w, ctx->cluster->name);
		vt_jsonrpc_end_result(ctx->req, w);
	}
	free(ctx);
}

static void
rpc_bdev_rbd_register_cluster(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_register_cluster p = { 0 };
	struct register_ctx *ctx = NULL;
	int rc;

	if (vt_rpc_decode_params(req, params, g_register_decoders, VT_COUNTOF(g_register_decoders),
				 &p) != 0) {
		goto out;
	}
	if (p.name[0] == '\0') {
		vt_jsonrpc_send_error_response(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
					       "invalid parameter 'name': must not be empty");
		goto out;
	}
	if (rbd_cluster_find(p.name) != NULL) {
		vt_jsonrpc_send_error_response_fmt(
			req, -EEXIST, "rbd cluster '%s' is already registered", p.name);
		goto out;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx != NULL) {
		ctx->cluster = rbd_cluster_new(p.name, p.user_id, &p.config_param, p.config_file,
					       p.key_file);
	}
	if (ctx == NULL || ctx->cluster == NULL) {
		vt_jsonrpc_send_error_response(req, -ENOMEM, "out of memory");
		goto fail;
	}
	ctx->req = req;
	ctx->cluster->removing = true;
	rbd_cluster_add(ctx->cluster);
	rc = rbd_job_start(register_work, register_done, ctx);
	if (rc != 0) {
		rbd_cluster_remove(ctx->cluster);
		vt_jsonrpc_send_error_response_fmt(req, rc, "cannot register rbd cluster '%s': %s",
						   p.name, vt_strerror(-rc));
		goto fail;
	}
	goto out;
fail:
	if (ctx != NULL) {
		rbd_cluster_free(ctx->cluster);
		free(ctx);
	}
out:
	free(p.name);
	free(p.user_id);
	free(p.config_file);
	free(p.key_file);
	rbd_kv_free(&p.config_param);
}
VT_RPC_REGISTER("bdev_rbd_register_cluster", rpc_bdev_rbd_register_cluster,
		VT_RPC_STARTUP | VT_RPC_RUNTIME)

struct rpc_cluster_name {
	char *name;
};

static const struct vt_json_object_decoder g_cluster_name_decoders[] = {
	{ "name", offsetof(struct rpc_cluster_name, name), vt_json_decode_string },
};

static const struct vt_json_object_decoder g_cluster_name_opt_decoders[] = {
	{ "name", offsetof(struct rpc_cluster_name, name), vt_json_decode_string, true },
};

/* A registered (connected) cluster, or answers -ENOENT and returns NULL. */
static struct rbd_cluster *
rpc_find_cluster(struct vt_jsonrpc_request *req, const char *name)
{
	struct rbd_cluster *c = rbd_cluster_find(name);

	if (c == NULL || c->removing) {
		vt_jsonrpc_send_error_response_fmt(req, -ENOENT,
						   "rbd cluster '%s' is not registered", name);
		return NULL;
	}
	return c;
}

struct unregister_ctx {
	struct vt_jsonrpc_request *req;
	struct rbd_cluster *cluster;
};

static void
unregister_work(void *arg)
{
	struct unregister_ctx *ctx = arg;

	rbd_cluster_disconnect(ctx->cluster);
}

static void
unregister_done(void *arg)
{
	struct unregister_ctx *ctx = arg;

	rbd_cluster_remove(ctx->cluster);
	rbd_cluster_free(ctx->cluster);
	vt_jsonrpc_send_bool_response(ctx->req, true);
	free(ctx);
}

static void
rpc_bdev_rbd_unregister_cluster(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_cluster_name p = { 0 };
	struct unregister_ctx *ctx;
	struct rbd_cluster *c;

	if (vt_rpc_decode_params(req, params, g_cluster_name_decoders,
				 VT_COUNTOF(g_cluster_name_decoders), &p) != 0 ||
	    (c = rpc_find_cluster(req, p.name)) == NULL) {
		goto out;
	}
	if (bdev_rbd_cluster_in_use(c)) {
		vt_jsonrpc_send_error_response_fmt(req, -EBUSY,
						   "rbd cluster '%s' is in use by "
						   "%" PRIu32 " bdev(s)",
						   p.name, c->refs);
		goto out;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		vt_jsonrpc_send_error_response(req, -ENOMEM, "out of memory");
		goto out;
	}
	ctx->req = req;
	ctx->cluster = c;
	c->removing = true;
	if (rbd_job_start(unregister_work, unregister_done, ctx) != 0) {
		unregister_work(ctx);
		unregister_done(ctx);
	}
out:
	free(p.name);
}
VT_RPC_REGISTER("bdev_rbd_unregister_cluster", rpc_bdev_rbd_unregister_cluster,
		VT_RPC_STARTUP | VT_RPC_RUNTIME)

static void
rpc_bdev_rbd_get_clusters_info(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_cluster_name p = { 0 };
	struct vt_json_write_ctx *w;
	struct rbd_cluster *c = NULL;

	if (vt_rpc_decode_params(req, params, g_cluster_name_opt_decoders,
				 VT_COUNTOF(g_cluster_name_opt_decoders), &p) != 0 ||
	    (p.name != NULL && (c = rpc_find_cluster(req, p.name)) == NULL)) {
		goto out;
	}
	w = vt_jsonrpc_begin_result(req);
	if (c != NULL) {
		vt_json_write_object_begin(w);
		rbd_cluster_dump(c, w, true);
		vt_json_write_object_end(w);
	} else {
		vt_json_write_array_begin(w);
		for (c = rbd_cluster_first(); c != NULL; c = rbd_cluster_next(c)) {
			if (!c->removing) {
				vt_json_write_object_begin(w);
				rbd_cluster_dump(c, w, true);
				vt_json_write_object_end(w);
			}
		}
		vt_json_write_array_end(w);
	}
	vt_jsonrpc_end_result(req, w);
out:
	free(p.name);
}
VT_RPC_REGISTER("bdev_rbd_get_clusters_info", rpc_bdev_rbd_get_clusters_info,
		VT_RPC_STARTUP | VT_RPC_RUNTIME)

/* ---- bdevs ------------------------------------------------------------------------------- */

struct rpc_rbd_create {
	char *name;
	char *user_id;
	char *pool_name;
	char *rbd_name;
	uint32_t block_size;
	struct rbd_kv config;
	char *cluster_name;
	char *uuid;
	bool read_only;
};

static const struct vt_json_object_decoder g_create_decoders[] = {
	{ "name", offsetof(struct rpc_rbd_create, name), vt_json_decode_string, true },
	{ "user_id", offsetof(struct rpc_rbd_create, user_id), vt_json_decode_string, true },
	{ "pool_name", offsetof(struct rpc_rbd_create, pool_name), vt_json_decode_string },
	{ "rbd_name", offsetof(struct rpc_rbd_create, rbd_name), vt_json_decode_string },
	{ "block_size", offsetof(struct rpc_rbd_create, block_size), vt_json_decode_uint32 },
	{ "config", offsetof(struct rpc_rbd_create, config), decode_kv, true },
	{ "cluster_name", offsetof(struct rpc_rbd_create, cluster_name), vt_json_decode_string,
	  true },
	{ "uuid", offsetof(struct rpc_rbd_create, uuid), vt_json_decode_string, true },
	{ "read_only", offsetof(struct rpc_rbd_create, read_only), vt_json_decode_bool, true },
};

static bool
rpc_rbd_check(struct vt_jsonrpc_request *req, const struct rpc_rbd_create *p, struct vt_uuid *uuid)
{
	if (!vt_bdev_rpc_check_name_block_size(req, p->name, p->block_size, RBD_MAX_BLOCK_SIZE)) {
		return false;
	}
	if (p->pool_name[0] == '\0' || p->rbd_name[0] == '\0') {
		vt_jsonrpc_send_error_response_fmt(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
						   "invalid parameter '%s': must not be empty",
						   p->pool_name[0] == '\0' ? "pool_name"
									   : "rbd_name");
		return false;
	}
	if (p->cluster_name != NULL && (p->user_id != NULL || p->config.count > 0)) {
		vt_jsonrpc_send_error_response(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
					       "invalid parameter 'cluster_name': the cluster's "
					       "user_id and options apply; give user_id and config "
					       "only without it");
		return false;
	}
	if (p->cluster_name != NULL && rpc_find_cluster(req, p->cluster_name) == NULL) {
		return false;
	}
	return vt_bdev_rpc_check_new(req, p->name, p->uuid, uuid);
}

struct create_rpc_ctx {
	struct vt_jsonrpc_request *req;
	char *name; /* as given, for the error message */
};

static void
create_rpc_done(void *cb_arg, struct vt_bdev *bdev, const struct rbd_err *err)
{
	struct create_rpc_ctx *ctx = cb_arg;
	struct vt_json_write_ctx *w;

	if (bdev == NULL) {
		answer_err(ctx->req, "create rbd bdev", ctx->name != NULL ? ctx->name : "(default)",
			   err);
	} else {
		w = vt_jsonrpc_begin_result(ctx->req);
		vt_json_write_string(w, vt_bdev_get_name(bdev));
		vt_jsonrpc_end_result(ctx->req, w);
	}
	free(ctx->name);
	free(ctx);
}

static void
rpc_bdev_rbd_create(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_rbd_create p = { 0 };
	struct rbd_create_opts opts = { 0 };
	struct create_rpc_ctx *ctx;
	struct rbd_err err = { 0 };
	struct vt_uuid uuid;

	if (vt_rpc_decode_params(req, params, g_create_decoders, VT_COUNTOF(g_create_decoders),
				 &p) != 0 ||
	    !rpc_rbd_check(req, &p, &uuid)) {
		goto out;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL || (p.name != NULL && (ctx->name = strdup(p.name)) == NULL)) {
		free(ctx);
		vt_jsonrpc_send_error_response(req, -ENOMEM, "out of memory");
		goto out;
	}
	ctx->req = req;
	opts.name = p.name;
	opts.user_id = p.user_id;
	opts.pool_name = p.pool_name;
	opts.rbd_name = p.rbd_name;
	opts.block_size = p.block_size;
	opts.config = &p.config;
	opts.cluster_name = p.cluster_name;
	opts.uuid = p.uuid != NULL ? &uuid : NULL;
	opts.read_only = p.read_only;
	if (bdev_rbd_create(&opts, create_rpc_done, ctx, &err) != 0) {
		answer_err(req, "create rbd bdev", p.name != NULL ? p.name : "(default)", &err);
		free(ctx->name);
		free(ctx);
	}
out:
	free(p.name);
	free(p.user_id);
	free(p.pool_name);
	free(p.rbd_name);
	free(p.cluster_name);
	free(p.uuid);
	rbd_kv_free(&p.config);
}
VT_RPC_REGISTER("bdev_rbd_create", rpc_bdev_rbd_create, VT_RPC_STARTUP | VT_RPC_RUNTIME)

struct rpc_rbd_delete {
	char *name;
};

static const struct vt_json_object_decoder g_delete_decoders[] = {
	{ "name", offsetof(struct rpc_rbd_delete, name), vt_json_decode_string },
};

static void
rpc_bdev_rbd_delete(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_rbd_delete p = { 0 };

	if (vt_rpc_decode_params(req, params, g_delete_decoders, VT_COUNTOF(g_delete_decoders),
				 &p) == 0) {
		vt_bdev_rpc_delete(req, p.name, &g_bdev_rbd_module, "an rbd bdev", bdev_rbd_delete);
	}
	free(p.name);
}
VT_RPC_REGISTER("bdev_rbd_delete", rpc_bdev_rbd_delete, VT_RPC_STARTUP | VT_RPC_RUNTIME)

struct rpc_rbd_resize {
	char *name;
	uint64_t new_size;
};

static const struct vt_json_object_decoder g_resize_decoders[] = {
	{ "name", offsetof(struct rpc_rbd_resize, name), vt_json_decode_string },
	{ "new_size", offsetof(struct rpc_rbd_resize, new_size), vt_json_decode_uint64 },
};

static void
resize_rpc_done(void *cb_arg, const struct rbd_err *err)
{
	struct vt_jsonrpc_request *req = cb_arg;

	if (err != NULL) {
		vt_jsonrpc_send_error_response(req, err->rc, err->msg);
	} else {
		vt_jsonrpc_send_bool_response(req, true);
	}
}

static void
rpc_bdev_rbd_resize(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_rbd_resize p = { 0 };
	struct rbd_err err = { 0 };
	struct vt_bdev *bdev;

	if (vt_rpc_decode_params(req, params, g_resize_decoders, VT_COUNTOF(g_resize_decoders),
				 &p) != 0 ||
	    (bdev = vt_bdev_rpc_find(req, p.name, &g_bdev_rbd_module, "an rbd bdev", -ENODEV)) ==
		    NULL) {
		goto out;
	}
	if (bdev_rbd_resize(bdev->ctxt, p.new_size, resize_rpc_done, req, &err) != 0) {
		vt_jsonrpc_send_error_response(
			req, err.rc == -EINVAL ? VT_JSONRPC_ERROR_INVALID_PARAMS : err.rc, err.msg);
	}
out:
	free(p.name);
}
VT_RPC_REGISTER("bdev_rbd_resize", rpc_bdev_rbd_resize, VT_RPC_STARTUP | VT_RPC_RUNTIME)
