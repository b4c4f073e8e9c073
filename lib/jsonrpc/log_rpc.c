/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Logging RPCs, with SPDK's names, parameters and results: log_set_flag, log_clear_flag,
 * log_get_flags, log_set_level, log_get_level, log_set_print_level, log_get_print_level,
 * log_enable_timestamps.
 */
#include <stddef.h>
#include <stdlib.h>

#include "vt/json.h"
#include "vt/log.h"
#include "vt/rpc.h"
#include "vt/util.h"

struct rpc_log_flag {
	char *flag;
};

static const struct vt_json_object_decoder rpc_log_flag_decoders[] = {
	{ "flag", offsetof(struct rpc_log_flag, flag), vt_json_decode_string, false },
};

struct rpc_log_level {
	char *level;
};

static const struct vt_json_object_decoder rpc_log_level_decoders[] = {
	{ "level", offsetof(struct rpc_log_level, level), vt_json_decode_string, false },
};

/*
 * Methods without parameters accept a missing "params", {} or [], and refuse anything else so a
 * misspelt call is not silently taken for another.
 */
static bool
rpc_log_check_no_params(struct vt_jsonrpc_request *req, yajl_val params, const char *method)
{
	if (params == NULL || (YAJL_IS_OBJECT(params) && params->u.object.len == 0) ||
	    (YAJL_IS_ARRAY(params) && params->u.array.len == 0)) {
		return true;
	}
	vt_jsonrpc_send_error_response_fmt(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
					   "%s requires no parameters", method);
	return false;
}

static void
rpc_log_change_flag(struct vt_jsonrpc_request *req, yajl_val params, bool enable)
{
	struct rpc_log_flag p = { 0 };
	int rc;

	if (vt_rpc_decode_params(req, params, rpc_log_flag_decoders,
				 VT_COUNTOF(rpc_log_flag_decoders), &p) != 0) {
		goto out;
	}
	rc = enable ? vt_log_set_flag(p.flag) : vt_log_clear_flag(p.flag);
	if (rc != 0) {
		vt_jsonrpc_send_error_response_fmt(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
						   "unknown log flag '%s'", p.flag);
		goto out;
	}
	vt_jsonrpc_send_bool_response(req, true);
out:
	free(p.flag);
}

static void
rpc_log_set_flag(struct vt_jsonrpc_request *req, yajl_val params)
{
	rpc_log_change_flag(req, params, true);
}
VT_RPC_REGISTER("log_set_flag", rpc_log_set_flag, VT_RPC_STARTUP | VT_RPC_RUNTIME | VT_RPC_PREINIT)

static void
rpc_log_clear_flag(struct vt_jsonrpc_request *req, yajl_val params)
{
	rpc_log_change_flag(req, params, false);
}
VT_RPC_REGISTER("log_clear_flag", rpc_log_clear_flag,
		VT_RPC_STARTUP | VT_RPC_RUNTIME | VT_RPC_PREINIT)

static void
rpc_log_get_flags(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct vt_json_write_ctx *w;
	struct vt_log_flag *f;

	if (!rpc_log_check_no_params(req, params, "log_get_flags")) {
		return;
	}
	w = vt_jsonrpc_begin_result(req);
	if (w != NULL) {
		vt_json_write_object_begin(w);
		for (f = vt_log_flag_first(); f != NULL; f = vt_log_flag_next(f)) {
			vt_json_write_named_bool(w, f->name,
						 __atomic_load_n(&f->enabled, __ATOMIC_RELAXED));
		}
		vt_json_write_object_end(w);
	}
	vt_jsonrpc_end_result(req, w);
}
VT_RPC_REGISTER("log_get_flags", rpc_log_get_flags,
		VT_RPC_STARTUP | VT_RPC_RUNTIME | VT_RPC_PREINIT)

static void
rpc_log_change_level(struct vt_jsonrpc_request *req, yajl_val params, bool print)
{
	struct rpc_log_level p = { 0 };
	enum vt_log_level level;

	if (vt_rpc_decode_params(req, params, rpc_log_level_decoders,
				 VT_COUNTOF(rpc_log_level_decoders), &p) != 0) {
		goto out;
	}
	if (vt_log_level_from_string(p.level, &level) != 0) {
		vt_jsonrpc_send_error_response_fmt(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
						   "unknown log level '%s'", p.level);
		goto out;
	}
	if (print) {
		vt_log_set_print_level(level);
	} else {
		vt_log_set_level(level);
	}
	vt_jsonrpc_send_bool_response(req, true);
out:
	free(p.level);
}

static void
rpc_log_send_level(struct vt_jsonrpc_request *req, yajl_val params, const char *method,
		   enum vt_log_level level)
{
	struct vt_json_write_ctx *w;

	if (!rpc_log_check_no_params(req, params, method)) {
		return;
	}
	w = vt_jsonrpc_begin_result(req);
	if (w != NULL) {
		vt_json_write_string(w, vt_log_level_to_string(level));
	}
	vt_jsonrpc_end_result(req, w);
}

static void
rpc_log_set_level(struct vt_jsonrpc_request *req, yajl_val params)
{
	rpc_log_change_level(req, params, false);
}
VT_RPC_REGISTER("log_set_level", rpc_log_set_level,
		VT_RPC_STARTUP | VT_RPC_RUNTIME | VT_RPC_PREINIT)

static void
rpc_log_get_level(struct vt_jsonrpc_request *req, yajl_val params)
{
	rpc_log_send_level(req, params, "log_get_level", vt_log_get_level());
}
VT_RPC_REGISTER("log_get_level", rpc_log_get_level,
		VT_RPC_STARTUP | VT_RPC_RUNTIME | VT_RPC_PREINIT)

static void
rpc_log_set_print_level(struct vt_jsonrpc_request *req, yajl_val params)
{
	rpc_log_change_level(req, params, true);
}
VT_RPC_REGISTER("log_set_print_level", rpc_log_set_print_level,
		VT_RPC_STARTUP | VT_RPC_RUNTIME | VT_RPC_PREINIT)

static void
rpc_log_get_print_level(struct vt_jsonrpc_request *req, yajl_val params)
{
	rpc_log_send_level(req, params, "log_get_print_level", vt_log_get_print_level());
}
VT_RPC_REGISTER("log_get_print_level", rpc_log_get_print_level,
		VT_RPC_STARTUP | VT_RPC_RUNTIME | VT_RPC_PREINIT)

struct rpc_log_timestamps {
	bool enabled;
};

static const struct vt_json_object_decoder rpc_log_timestamps_decoders[] = {
	{ "enabled", offsetof(struct rpc_log_timestamps, enabled), vt_json_decode_bool, false },
};

static void
rpc_log_enable_timestamps(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_log_timestamps p = { 0 };

	if (vt_rpc_decode_params(req, params, rpc_log_timestamps_decoders,
				 VT_COUNTOF(rpc_log_timestamps_decoders), &p) != 0) {
		return;
	}
	vt_log_enable_timestamps(p.enabled);
	vt_jsonrpc_send_bool_response(req, true);
}
VT_RPC_REGISTER("log_enable_timestamps", rpc_log_enable_timestamps,
		VT_RPC_STARTUP | VT_RPC_RUNTIME | VT_RPC_PREINIT)

/* SPDK's names before its 19.10 renaming (and the trace_flag names before 19.01). */
static const struct vt_rpc_alias g_log_aliases[] = {
	{ "set_log_flag", "log_set_flag" },
	{ "clear_log_flag", "log_clear_flag" },
	{ "get_log_flags", "log_get_flags" },
	{ "set_trace_flag", "log_set_flag" },
	{ "clear_trace_flag", "log_clear_flag" },
	{ "get_trace_flags", "log_get_flags" },
	{ "set_log_level", "log_set_level" },
	{ "get_log_level", "log_get_level" },
	{ "set_log_print_level", "log_set_print_level" },
	{ "get_log_print_level", "log_get_print_level" },
};
VT_RPC_REGISTER_ALIASES(g_log_aliases)
