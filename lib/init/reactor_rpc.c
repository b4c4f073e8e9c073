/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * framework_get_reactors and thread_get_stats with SPDK's shapes. vtarget has one thread per
 * reactor (no lightweight threads), so each reactor lists one lw_thread, "reactor_N", and
 * thread_get_stats one thread per reactor. busy/idle are the reactor loop's ticks (VT_TICKS_HZ,
 * nanoseconds) spent in iterations that did work / found nothing (sleeping included).
 * framework_get_reactors adds poll_mode and adaptive_window_us to each reactor.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "vt/event.h"
#include "vt/json.h"
#include "vt/rpc.h"
#include "vt/util.h"

struct reactors_ctx {
	struct vt_jsonrpc_request *req;
	struct vt_json_write_ctx *w;
	bool threads; /* thread_get_stats rather than framework_get_reactors */
};

/* Methods without parameters accept none, null, {} or []. */
static bool
params_empty(yajl_val params)
{
	return params == NULL || YAJL_IS_NULL(params) ||
	       (YAJL_IS_OBJECT(params) && params->u.object.len == 0) ||
	       (YAJL_IS_ARRAY(params) && params->u.array.len == 0);
}

/* SPDK's cpumask form: hex without "0x". */
static void
write_cpumask(struct vt_json_write_ctx *w, uint32_t core)
{
	struct vt_cpuset set;
	char buf[VT_CPUSET_FMT_LEN];
	const char *s;

	vt_cpuset_zero(&set);
	vt_cpuset_set(&set, core);
	s = vt_cpuset_fmt(&set, buf, sizeof(buf));
	vt_json_write_named_string(w, "cpumask", s[0] == '0' && s[1] == 'x' ? s + 2 : s);
}

static void
write_thread_name(struct vt_json_write_ctx *w, uint32_t idx)
{
	char name[32];

	snprintf(name, sizeof(name), "reactor_%u", idx);
	vt_json_write_named_string(w, "name", name);
	vt_json_write_named_uint64(w, "id", (uint64_t)idx + 1);
}

/* On each reactor in turn. */
static void
reactors_collect(void *arg)
{
	struct reactors_ctx *ctx = arg;
	struct vt_json_write_ctx *w = ctx->w;
	struct vt_reactor_stats st;
	uint32_t idx = vt_reactor_current();

	if (vt_reactor_get_stats(idx, &st) != 0) {
		return;
	}
	vt_json_write_object_begin(w);
	if (ctx->threads) {
		write_thread_name(w, idx);
		write_cpumask(w, st.core);
		vt_json_write_named_uint64(w, "busy", st.busy_ticks);
		vt_json_write_named_uint64(w, "idle", st.idle_ticks);
		vt_json_write_named_uint64(w, "active_pollers_count", st.active_pollers);
		vt_json_write_named_uint64(w, "timed_pollers_count", st.timed_pollers);
		vt_json_write_named_uint64(w, "paused_pollers_count", 0);
		vt_json_write_named_uint64(w, "fd_pollers_count", st.fd_pollers);
	} else {
		vt_json_write_named_uint64(w, "lcore", st.core);
		vt_json_write_named_uint64(w, "tid", st.tid);
		vt_json_write_named_uint64(w, "busy", st.busy_ticks);
		vt_json_write_named_uint64(w, "idle", st.idle_ticks);
		vt_json_write_named_bool(w, "in_interrupt", st.in_interrupt);
		/* vtarget's own: the mode and, in adaptive mode, the current polling window. */
		vt_json_write_named_string(w, "poll_mode", vt_poll_mode_name(st.poll_mode));
		vt_json_write_named_uint64(w, "adaptive_window_us", st.window_ns / 1000);
		vt_json_write_named_array_begin(w, "lw_threads");
		vt_json_write_object_begin(w);
		write_thread_name(w, idx);
		write_cpumask(w, st.core);
		/* Read here, after busy and idle: elapsed >= busy + idle. */
		vt_json_write_named_uint64(w, "elapsed", vt_get_ticks() - st.start_ticks);
		vt_json_write_object_end(w);
		vt_json_write_array_end(w);
	}
	vt_json_write_object_end(w);
}

static void
reactors_done(void *arg)
{
	struct reactors_ctx *ctx = arg;

	vt_json_write_array_end(ctx->w);
	vt_json_write_object_end(ctx->w);
	vt_jsonrpc_end_result(ctx->req, ctx->w);
	free(ctx);
}

static void
rpc_reactors(struct vt_jsonrpc_request *req, yajl_val params, const char *method, bool threads)
{
	struct reactors_ctx *ctx;

	if (!params_empty(params)) {
		vt_jsonrpc_send_error_response_fmt(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
						   "%s takes no parameters", method);
		return;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		vt_jsonrpc_send_error_response(req, VT_JSONRPC_ERROR_INTERNAL_ERROR,
					       "out of memory");
		return;
	}
	ctx->req = req;
	ctx->threads = threads;
	ctx->w = vt_jsonrpc_begin_result(req);
	if (ctx->w == NULL) {
		vt_jsonrpc_end_result(req, NULL);
		free(ctx);
		return;
	}
	vt_json_write_object_begin(ctx->w);
	vt_json_write_named_uint64(ctx->w, "tick_rate", VT_TICKS_HZ);
	if (!threads) {
		vt_json_write_named_uint64(ctx->w, "pid", (uint64_t)getpid());
	}
	vt_json_write_named_array_begin(ctx->w, threads ? "threads" : "reactors");
	if (vt_for_each_reactor(reactors_collect, ctx, reactors_done) != 0) {
		/* Close what was opened: the answer is the empty list. */
		reactors_done(ctx);
	}
}

static void
rpc_framework_get_reactors(struct vt_jsonrpc_request *req, yajl_val params)
{
	rpc_reactors(req, params, "framework_get_reactors", false);
}
VT_RPC_REGISTER("framework_get_reactors", rpc_framework_get_reactors, VT_RPC_RUNTIME)

static void
rpc_thread_get_stats(struct vt_jsonrpc_request *req, yajl_val params)
{
	rpc_reactors(req, params, "thread_get_stats", true);
}
VT_RPC_REGISTER("thread_get_stats", rpc_thread_get_stats, VT_RPC_RUNTIME)
