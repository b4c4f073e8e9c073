/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Framework RPCs (SPDK's names and shapes): the subsystem list, each subsystem's configuration
 * (scripts/rpc.py save_config is built on these two), waiting for the end of start-up, and
 * spdk_kill_instance.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include "vt/event.h"
#include "vt/init.h"
#include "vt/json.h"
#include "vt/log.h"
#include "vt/rpc.h"

#include "lib/init/init_internal.h"

/* Lets the answer of spdk_kill_instance reach the client before the process acts on it. */
#define KILL_DELAY_US 50000

/* Methods without parameters accept none, null or {}. */
static bool
params_empty(yajl_val params)
{
	return params == NULL || YAJL_IS_NULL(params) ||
	       (YAJL_IS_OBJECT(params) && params->u.object.len == 0);
}

static void
rpc_framework_get_subsystems(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct vt_json_write_ctx *w;
	struct vt_subsystem *s;
	struct vt_subsystem_depend *d;

	if (!params_empty(params)) {
		vt_jsonrpc_send_error_response(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
					       "framework_get_subsystems takes no parameters");
		return;
	}
	w = vt_jsonrpc_begin_result(req);
	if (w == NULL) {
		vt_jsonrpc_end_result(req, w);
		return;
	}
	vt_json_write_array_begin(w);
	for (s = vt_subsystem_first(); s != NULL; s = vt_subsystem_next(s)) {
		vt_json_write_object_begin(w);
		vt_json_write_named_string(w, "subsystem", s->name);
		vt_json_write_named_array_begin(w, "depends_on");
		for (d = vt_subsystem_depend_first(); d != NULL; d = vt_subsystem_depend_next(d)) {
			if (strcmp(d->name, s->name) == 0) {
				vt_json_write_string(w, d->depends_on);
			}
		}
		vt_json_write_array_end(w);
		vt_json_write_object_end(w);
	}
	vt_json_write_array_end(w);
	vt_jsonrpc_end_result(req, w);
}
VT_RPC_REGISTER("framework_get_subsystems", rpc_framework_get_subsystems,
		VT_RPC_STARTUP | VT_RPC_RUNTIME)

struct rpc_get_config {
	char *name;
	bool with_batches; /* group entries SPDK's load_config may send as one batch */
};

static const struct vt_json_object_decoder rpc_get_config_decoders[] = {
	{ "name", offsetof(struct rpc_get_config, name), vt_json_decode_string },
	{ "with_batches", offsetof(struct rpc_get_config, with_batches), vt_json_decode_bool,
	  true },
};

static void
rpc_framework_get_config(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_get_config p = { 0 };
	struct vt_json_write_ctx *w;
	struct vt_subsystem *s;

	if (vt_rpc_decode_params(req, params, rpc_get_config_decoders,
				 VT_COUNTOF(rpc_get_config_decoders), &p) != 0) {
		goto out;
	}
	s = vt_subsystem_find(p.name);
	if (s == NULL) {
		vt_jsonrpc_send_error_response_fmt(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
						   "subsystem '%s' not found", p.name);
		goto out;
	}
	w = vt_jsonrpc_begin_result(req);
	vt_json_write_set_batches(w, p.with_batches);
	if (w != NULL) {
		if (s->write_config_json != NULL) {
			s->write_config_json(w);
		} else {
			vt_json_write_array_begin(w);
			vt_json_write_array_end(w);
		}
	}
	vt_jsonrpc_end_result(req, w);
out:
	free(p.name);
}
VT_RPC_REGISTER("framework_get_config", rpc_framework_get_config, VT_RPC_STARTUP | VT_RPC_RUNTIME)

/*
 * framework_start_init: only in the pre-init state (--wait-for-rpc), once; answered once the
 * subsystems are up and the config is replayed (SPDK answers when its subsystems are up).
 */
static void
rpc_framework_start_init(struct vt_jsonrpc_request *req, yajl_val params)
{
	if (!params_empty(params)) {
		vt_jsonrpc_send_error_response(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
					       "framework_start_init takes no parameters");
		return;
	}
	if (init_app_start_init(req) != 0) {
		vt_jsonrpc_send_error_response(req, -EALREADY,
					       "the subsystems are already being initialized");
	}
}
VT_RPC_REGISTER("framework_start_init", rpc_framework_start_init, VT_RPC_PREINIT)

/* A framework_wait_init request that arrived during start-up. */
struct init_waiter {
	struct vt_jsonrpc_request *req;
	STAILQ_ENTRY(init_waiter) link;
};

static STAILQ_HEAD(, init_waiter) g_init_waiters = STAILQ_HEAD_INITIALIZER(g_init_waiters);

static void
rpc_framework_wait_init(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct init_waiter *waiter;

	if (!params_empty(params)) {
		vt_jsonrpc_send_error_response(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
					       "framework_wait_init takes no parameters");
		return;
	}
	if (vt_rpc_get_state() == VT_RPC_RUNTIME) {
		vt_jsonrpc_send_bool_response(req, true);
		return;
	}
	waiter = calloc(1, sizeof(*waiter));
	if (waiter == NULL) {
		vt_jsonrpc_send_error_response(req, VT_JSONRPC_ERROR_INTERNAL_ERROR,
					       "out of memory");
		return;
	}
	waiter->req = req;
	STAILQ_INSERT_TAIL(&g_init_waiters, waiter, link);
}
VT_RPC_REGISTER("framework_wait_init", rpc_framework_wait_init,
		VT_RPC_STARTUP | VT_RPC_RUNTIME | VT_RPC_PREINIT)

static void
init_waiters_answer(bool ready)
{
	struct init_waiter *waiter;

	while ((waiter = STAILQ_FIRST(&g_init_waiters)) != NULL) {
		STAILQ_REMOVE_HEAD(&g_init_waiters, link);
		if (ready) {
			vt_jsonrpc_send_bool_response(waiter->req, true);
		} else {
			vt_jsonrpc_send_error_response(waiter->req, VT_JSONRPC_ERROR_INTERNAL_ERROR,
						       "the target is shutting down before the "
						       "end of its start-up");
		}
		free(waiter);
	}
}

void
init_framework_rpc_ready(void)
{
	init_waiters_answer(true);
}

void
init_framework_rpc_shutdown(void)
{
	init_waiters_answer(false);
}

static const struct {
	const char *name;
	int signo;
} g_kill_signals[] = {
	{ "SIGINT", SIGINT },
	{ "SIGTERM", SIGTERM },
	{ "SIGKILL", SIGKILL },
};

struct kill_ctx {
	struct vt_poller *poller;
	uint64_t due; /* vt_get_ticks() value at which to act */
	int signo;
	const char *sig_name; /* from g_kill_signals */
};

static int
kill_poll(void *arg)
{
	struct kill_ctx *ctx = arg;
	const char *sig_name = ctx->sig_name;
	int signo = ctx->signo;

	if (vt_get_ticks() < ctx->due) {
		return VT_POLLER_IDLE;
	}
	vt_poller_unregister(&ctx->poller);
	free(ctx);
	if (signo == SIGKILL) {
		VT_NOTICELOG("spdk_kill_instance: killing the process (SIGKILL)\n");
		kill(getpid(), SIGKILL);
	} else {
		/* The same orderly shutdown the signal itself would start. */
		VT_NOTICELOG("spdk_kill_instance: %s\n", sig_name);
		vt_app_stop(0);
	}
	return VT_POLLER_BUSY;
}

struct rpc_kill {
	char *sig_name;
};

static const struct vt_json_object_decoder rpc_kill_decoders[] = {
	{ "sig_name", offsetof(struct rpc_kill, sig_name), vt_json_decode_string },
};

/* Index in g_kill_signals, or -EINVAL. */
static int
kill_signal_from_name(const char *name)
{
	size_t i;

	for (i = 0; i < VT_COUNTOF(g_kill_signals); i++) {
		if (strcmp(name, g_kill_signals[i].name) == 0) {
			return (int)i;
		}
	}
	return -EINVAL;
}

static void
rpc_spdk_kill_instance(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_kill p = { 0 };
	struct kill_ctx *ctx;
	int idx;

	if (vt_rpc_decode_params(req, params, rpc_kill_decoders, VT_COUNTOF(rpc_kill_decoders),
				 &p) != 0) {
		goto out;
	}
	idx = kill_signal_from_name(p.sig_name);
	if (idx < 0) {
		vt_jsonrpc_send_error_response_fmt(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
						   "invalid parameter 'sig_name': unknown signal "
						   "'%s' (SIGINT, SIGTERM or SIGKILL)",
						   p.sig_name);
		goto out;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		vt_jsonrpc_send_error_response(req, VT_JSONRPC_ERROR_INTERNAL_ERROR,
					       "out of memory");
		goto out;
	}
	ctx->signo = g_kill_signals[idx].signo;
	ctx->sig_name = g_kill_signals[idx].name;
	ctx->due = vt_get_ticks() + KILL_DELAY_US * 1000ULL;
	ctx->poller = vt_poller_register(kill_poll, ctx, KILL_DELAY_US / 5, "spdk_kill_instance");
	if (ctx->poller == NULL) {
		free(ctx);
		vt_jsonrpc_send_error_response(req, VT_JSONRPC_ERROR_INTERNAL_ERROR,
					       "cannot register a poller");
		goto out;
	}
	vt_jsonrpc_send_bool_response(req, true);
out:
	free(p.sig_name);
}
VT_RPC_REGISTER("spdk_kill_instance", rpc_spdk_kill_instance, VT_RPC_STARTUP | VT_RPC_RUNTIME)

/* SPDK's names before its 19.10 renaming. */
static const struct vt_rpc_alias g_framework_aliases[] = {
	{ "wait_subsystem_init", "framework_wait_init" },
	{ "start_subsystem_init", "framework_start_init" },
	{ "get_subsystems", "framework_get_subsystems" },
	{ "get_subsystem_config", "framework_get_config" },
	{ "kill_instance", "spdk_kill_instance" },
};
VT_RPC_REGISTER_ALIASES(g_framework_aliases)
