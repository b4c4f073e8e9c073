/* SPDX-License-Identifier: BSD-3-Clause */
/* The RPC layer's own methods: rpc_get_methods and spdk_get_version (SPDK's names and shapes). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vt/json.h"
#include "vt/rpc.h"
#include "vt/util.h"

#ifndef VT_VERSION_STRING
#error "VT_VERSION_STRING must be defined (mk/common.mk passes it)"
#endif

struct rpc_get_methods {
	bool current;
	bool include_aliases;
};

static const struct vt_json_object_decoder rpc_get_methods_decoders[] = {
	{ "current", offsetof(struct rpc_get_methods, current), vt_json_decode_bool, true },
	{ "include_aliases", offsetof(struct rpc_get_methods, include_aliases), vt_json_decode_bool,
	  true },
};

static void
rpc_write_names(struct vt_json_write_ctx *w, bool aliases, bool current)
{
	uint32_t iter, mask;
	const char *name;

	name = aliases ? vt_rpc_alias_first(&iter, &mask) : vt_rpc_method_first(&iter, &mask);
	while (name != NULL) {
		if (!current || (mask & vt_rpc_get_state()) != 0) {
			vt_json_write_string(w, name);
		}
		name = aliases ? vt_rpc_alias_next(&iter, &mask) : vt_rpc_method_next(&iter, &mask);
	}
}

static void
rpc_rpc_get_methods(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_get_methods p = { 0 };
	struct vt_json_write_ctx *w;

	if (vt_rpc_decode_params(req, params, rpc_get_methods_decoders,
				 VT_COUNTOF(rpc_get_methods_decoders), &p) != 0) {
		return;
	}
	w = vt_jsonrpc_begin_result(req);
	vt_json_write_array_begin(w);
	rpc_write_names(w, false, p.current);
	if (p.include_aliases) {
		rpc_write_names(w, true, p.current);
	}
	vt_json_write_array_end(w);
	vt_jsonrpc_end_result(req, w);
}
VT_RPC_REGISTER("rpc_get_methods", rpc_rpc_get_methods,
		VT_RPC_STARTUP | VT_RPC_RUNTIME | VT_RPC_PREINIT)

/*
 * Splits "major.minor.patch[suffix]" (suffix: anything after the patch number, e.g. "-pre").
 * Missing parts stay 0.
 */
static void
rpc_version_split(const char *v, uint64_t *major, uint64_t *minor, uint64_t *patch,
		  const char **suffix)
{
	uint64_t *parts[3] = { major, minor, patch };
	char *end;
	size_t i;

	*major = *minor = *patch = 0;
	for (i = 0; i < VT_COUNTOF(parts); i++) {
		if (*v < '0' || *v > '9') {
			break;
		}
		*parts[i] = strtoull(v, &end, 10);
		v = end;
		if (i + 1 < VT_COUNTOF(parts) && *v == '.' && v[1] >= '0' && v[1] <= '9') {
			v++;
		} else {
			break;
		}
	}
	*suffix = v;
}

static void
rpc_spdk_get_version(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct vt_json_write_ctx *w;
	uint64_t major, minor, patch;
	const char *suffix;

	if (params != NULL && !(YAJL_IS_OBJECT(params) && params->u.object.len == 0) &&
	    !(YAJL_IS_ARRAY(params) && params->u.array.len == 0)) {
		vt_jsonrpc_send_error_response(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
					       "spdk_get_version requires no parameters");
		return;
	}
	rpc_version_split(VT_VERSION_STRING, &major, &minor, &patch, &suffix);
	w = vt_jsonrpc_begin_result(req);
	vt_json_write_object_begin(w);
	vt_json_write_named_string(w, "version", "vtarget v" VT_VERSION_STRING);
	vt_json_write_named_object_begin(w, "fields");
	vt_json_write_named_uint64(w, "major", major);
	vt_json_write_named_uint64(w, "minor", minor);
	vt_json_write_named_uint64(w, "patch", patch);
	vt_json_write_named_string(w, "suffix", suffix);
	vt_json_write_object_end(w);
	vt_json_write_object_end(w);
	vt_jsonrpc_end_result(req, w);
}
VT_RPC_REGISTER("spdk_get_version", rpc_spdk_get_version,
		VT_RPC_STARTUP | VT_RPC_RUNTIME | VT_RPC_PREINIT)

/* SPDK's names before its 19.10 renaming. */
static const struct vt_rpc_alias g_builtin_aliases[] = {
	{ "get_rpc_methods", "rpc_get_methods" },
	{ "get_spdk_version", "spdk_get_version" },
};
VT_RPC_REGISTER_ALIASES(g_builtin_aliases)
