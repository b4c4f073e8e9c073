/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Replay of an SPDK-format configuration:
 *
 *   {"subsystems": [{"subsystem": "bdev", "config": [{"method": ..., "params": {...}}, ...]}]}
 *
 * The whole text is checked first (structure, subsystem names, method entries), so a malformed
 * entry at the end never leaves half a configuration applied. Then every method is called
 * through the RPC registry, subsystems and entries in file order, one at a time: the next call
 * starts only after the previous one answered (methods may answer asynchronously), and the
 * first failure ends the replay. An entry may also be a batch (an array of method entries, as
 * framework_get_config "with_batches" writes them): its entries are replayed in order.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "vt/event.h"
#include "vt/init.h"
#include "vt/json.h"
#include "vt/log.h"
#include "vt/rpc.h"

#include "lib/init/init_internal.h"

VT_LOG_REGISTER_COMPONENT(init)

struct config_ctx {
	yajl_val tree;
	yajl_val subsystems;   /* the "subsystems" array of tree */
	size_t sub_idx;        /* subsystem whose entries are being replayed */
	size_t entry_idx;      /* next entry of that subsystem */
	size_t batch_idx;      /* next entry inside entry entry_idx when it is a batch */
	struct vt_defer defer; /* runs the next step on a fresh stack */
	int rc;
	char err[512];
	init_json_config_cb cb;
	void *arg;
};

static int config_error(struct config_ctx *ctx, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
config_error(struct config_ctx *ctx, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx->err, sizeof(ctx->err), fmt, ap);
	va_end(ap);
	ctx->rc = rc;
	return rc;
}

/* The "config" array of a subsystem entry, or NULL when it is missing or null. */
static yajl_val
config_entries(yajl_val sub)
{
	yajl_val config = vt_json_object_get(sub, "config");

	return YAJL_IS_ARRAY(config) ? config : NULL;
}

static const char *
config_subsystem_name(yajl_val sub)
{
	return YAJL_GET_STRING(vt_json_object_get(sub, "subsystem"));
}

static int
config_check_entry(struct config_ctx *ctx, const char *name, size_t j, yajl_val entry)
{
	yajl_val method, params;

	if (!YAJL_IS_OBJECT(entry)) {
		return config_error(ctx, -EINVAL,
				    "config: entry %zu of subsystem '%s' is not an "
				    "object",
				    j, name);
	}
	method = vt_json_object_get(entry, "method");
	if (!YAJL_IS_STRING(method)) {
		return config_error(ctx, -EINVAL,
				    "config: entry %zu of subsystem '%s' has no "
				    "'method' string",
				    j, name);
	}
	params = vt_json_object_get(entry, "params");
	if (params != NULL && !YAJL_IS_NULL(params) && !YAJL_IS_OBJECT(params) &&
	    !YAJL_IS_ARRAY(params)) {
		return config_error(ctx, -EINVAL,
				    "config: 'params' of %s (entry %zu of subsystem "
				    "'%s') must be an object",
				    YAJL_GET_STRING(method), j, name);
	}
	return 0;
}

static int
config_check_entry_or_batch(struct config_ctx *ctx, const char *name, size_t j, yajl_val entry)
{
	size_t k;
	int rc;

	if (!YAJL_IS_ARRAY(entry)) {
		return config_check_entry(ctx, name, j, entry);
	}
	for (k = 0; k < entry->u.array.len; k++) {
		rc = config_check_entry(ctx, name, j, entry->u.array.values[k]);
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

static int
config_check_subsystem(struct config_ctx *ctx, size_t i, yajl_val sub)
{
	yajl_val config;
	const char *name;
	size_t j;
	int rc;

	if (!YAJL_IS_OBJECT(sub)) {
		return config_error(ctx, -EINVAL, "config: subsystems[%zu] is not an object", i);
	}
	name = config_subsystem_name(sub);
	if (name == NULL) {
		return config_error(ctx, -EINVAL, "config: subsystems[%zu] has no 'subsystem' name",
				    i);
	}
	if (vt_subsystem_find(name) == NULL) {
		return config_error(ctx, -ENOENT, "config: unknown subsystem '%s'", name);
	}
	config = vt_json_object_get(sub, "config");
	if (config == NULL || YAJL_IS_NULL(config)) {
		return 0;
	}
	if (!YAJL_IS_ARRAY(config)) {
		return config_error(ctx, -EINVAL,
				    "config: 'config' of subsystem '%s' must be an "
				    "array or null",
				    name);
	}
	for (j = 0; j < config->u.array.len; j++) {
		rc = config_check_entry_or_batch(ctx, name, j, config->u.array.values[j]);
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

static int
config_check(struct config_ctx *ctx)
{
	size_t i;
	int rc;

	if (!YAJL_IS_OBJECT(ctx->tree)) {
		return config_error(ctx, -EINVAL,
				    "config: expected an object with a 'subsystems' "
				    "array, found %s",
				    vt_json_type_name(ctx->tree));
	}
	ctx->subsystems = vt_json_object_get(ctx->tree, "subsystems");
	if (!YAJL_IS_ARRAY(ctx->subsystems)) {
		return config_error(ctx, -EINVAL, "config: %s 'subsystems' array",
				    ctx->subsystems == NULL ? "missing" : "invalid");
	}
	for (i = 0; i < ctx->subsystems->u.array.len; i++) {
		rc = config_check_subsystem(ctx, i, ctx->subsystems->u.array.values[i]);
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

static void
config_finish(void *arg)
{
	struct config_ctx *ctx = arg;

	ctx->cb(ctx->rc, ctx->rc != 0 ? ctx->err : NULL, ctx->arg);
	yajl_tree_free(ctx->tree);
	free(ctx);
}

/*
 * The next method entry, advancing over finished batches and finished or empty subsystems; NULL
 * at the end.
 */
static yajl_val
config_next_entry(struct config_ctx *ctx)
{
	yajl_val entries, entry;

	while (ctx->sub_idx < ctx->subsystems->u.array.len) {
		entries = config_entries(ctx->subsystems->u.array.values[ctx->sub_idx]);
		if (entries == NULL || ctx->entry_idx >= entries->u.array.len) {
			ctx->sub_idx++;
			ctx->entry_idx = 0;
			ctx->batch_idx = 0;
			continue;
		}
		entry = entries->u.array.values[ctx->entry_idx];
		if (!YAJL_IS_ARRAY(entry)) {
			return entry;
		}
		if (ctx->batch_idx < entry->u.array.len) {
			return entry->u.array.values[ctx->batch_idx];
		}
		ctx->entry_idx++;
		ctx->batch_idx = 0;
	}
	return NULL;
}

/* Past the entry config_next_entry returned. */
static void
config_advance(struct config_ctx *ctx)
{
	yajl_val entries = config_entries(ctx->subsystems->u.array.values[ctx->sub_idx]);

	if (YAJL_IS_ARRAY(entries->u.array.values[ctx->entry_idx])) {
		ctx->batch_idx++;
	} else {
		ctx->entry_idx++;
	}
}

static void config_step(void *arg);

static void
config_call_done(void *arg, int code, const char *err_msg, yajl_val result)
{
	struct config_ctx *ctx = arg;
	yajl_val entry = config_next_entry(ctx);
	const char *method = YAJL_GET_STRING(vt_json_object_get(entry, "method"));

	if (code != 0) {
		config_error(ctx, -EIO, "config: %s failed: %s (code %d)", method,
			     err_msg != NULL ? err_msg : "no message", code);
		/* Deferred too: the method may have answered from inside vt_rpc_call. */
		vt_defer(&ctx->defer, config_finish, ctx);
		return;
	}
	config_advance(ctx);
	vt_defer(&ctx->defer, config_step, ctx);
}

static void
config_step(void *arg)
{
	struct config_ctx *ctx = arg;
	yajl_val entry = config_next_entry(ctx);
	yajl_val params;
	const char *method;

	if (entry == NULL) {
		config_finish(ctx);
		return;
	}
	method = YAJL_GET_STRING(vt_json_object_get(entry, "method"));
	params = vt_json_object_get(entry, "params");
	if (YAJL_IS_NULL(params)) {
		params = NULL;
	}
	VT_DEBUGLOG(init, "config: calling %s (subsystem '%s')\n", method,
		    config_subsystem_name(ctx->subsystems->u.array.values[ctx->sub_idx]));
	/* ctx may be gone once vt_rpc_call returns: nothing may follow it. */
	vt_rpc_call(method, params, config_call_done, ctx);
}

void
init_json_config_load(const char *text, size_t len, init_json_config_cb cb, void *arg)
{
	struct config_ctx *ctx;
	char perr[256];

	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		cb(-ENOMEM, "config: out of memory", arg);
		return;
	}
	ctx->cb = cb;
	ctx->arg = arg;
	ctx->tree = vt_json_parse(text, len, perr, sizeof(perr));
	if (ctx->tree == NULL) {
		config_error(ctx, -EINVAL, "config: invalid JSON: %s", perr);
	} else {
		config_check(ctx);
	}
	vt_defer(&ctx->defer, ctx->rc == 0 ? config_step : config_finish, ctx);
}

struct config_public_cb {
	void (*cb)(int rc, void *arg);
	void *arg;
};

static void
config_public_done(int rc, const char *err, void *arg)
{
	struct config_public_cb pcb = *(struct config_public_cb *)arg;

	free(arg);
	if (rc != 0) {
		VT_ERRLOG("%s\n", err);
	}
	pcb.cb(rc, pcb.arg);
}

void
vt_json_config_load(const char *text, size_t len, void (*cb)(int rc, void *arg), void *arg)
{
	struct config_public_cb *pcb = malloc(sizeof(*pcb));

	if (pcb == NULL) {
		VT_ERRLOG("config: out of memory\n");
		cb(-ENOMEM, arg);
		return;
	}
	pcb->cb = cb;
	pcb->arg = arg;
	init_json_config_load(text, len, config_public_done, pcb);
}
