/* SPDX-License-Identifier: BSD-3-Clause */
/* bdev_delay_create, bdev_delay_delete and bdev_delay_update_latency, with SPDK's parameters. */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/json.h"
#include "vt/log.h"
#include "vt/rpc.h"
#include "vt/util.h"

#include "lib/bdev/bdev_vbdev.h"
#include "lib/bdev/delay/bdev_delay.h"

static const char *const g_latency_params[BDEV_DELAY_NUM_LATENCIES] = {
	[BDEV_DELAY_AVG_READ] = "avg_read_latency",
	[BDEV_DELAY_P99_READ] = "p99_read_latency",
	[BDEV_DELAY_AVG_WRITE] = "avg_write_latency",
	[BDEV_DELAY_P99_WRITE] = "p99_write_latency",
};

struct rpc_delay_create {
	char *base_bdev_name;
	char *name;
	uint64_t lat[BDEV_DELAY_NUM_LATENCIES];
	char *uuid;
};

static const struct vt_json_object_decoder g_delay_create_decoders[] = {
	{ "base_bdev_name", offsetof(struct rpc_delay_create, base_bdev_name),
	  vt_json_decode_string },
	{ "name", offsetof(struct rpc_delay_create, name), vt_json_decode_string },
	{ "avg_read_latency", offsetof(struct rpc_delay_create, lat[BDEV_DELAY_AVG_READ]),
	  vt_json_decode_uint64 },
	{ "p99_read_latency", offsetof(struct rpc_delay_create, lat[BDEV_DELAY_P99_READ]),
	  vt_json_decode_uint64 },
	{ "avg_write_latency", offsetof(struct rpc_delay_create, lat[BDEV_DELAY_AVG_WRITE]),
	  vt_json_decode_uint64 },
	{ "p99_write_latency", offsetof(struct rpc_delay_create, lat[BDEV_DELAY_P99_WRITE]),
	  vt_json_decode_uint64 },
	{ "uuid", offsetof(struct rpc_delay_create, uuid), vt_json_decode_string, true },
};

/* Answers -32602 naming the first bad latency; returns false then. */
static bool
rpc_delay_check_latencies(struct vt_jsonrpc_request *req, const uint64_t *lat)
{
	enum bdev_delay_latency bad;

	if (bdev_delay_check_latencies(lat, &bad) == 0) {
		return true;
	}
	if (lat[bad] > BDEV_DELAY_MAX_LATENCY_US) {
		vt_jsonrpc_send_error_response_fmt(
			req, VT_JSONRPC_ERROR_INVALID_PARAMS,
			"invalid parameter '%s': %" PRIu64 " us is more than the maximum, %llu us",
			g_latency_params[bad], lat[bad], BDEV_DELAY_MAX_LATENCY_US);
	} else {
		vt_jsonrpc_send_error_response_fmt(
			req, VT_JSONRPC_ERROR_INVALID_PARAMS,
			"invalid parameter '%s': %" PRIu64 " us is more than '%s' (%" PRIu64 " us)",
			g_latency_params[bad], lat[bad], g_latency_params[bad + 1], lat[bad + 1]);
	}
	return false;
}

static void
rpc_bdev_delay_create(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_delay_create p = { 0 };
	struct vt_bdev *bdev = NULL;
	struct vt_uuid uuid;
	int rc;

	if (vt_rpc_decode_params(req, params, g_delay_create_decoders,
				 VT_COUNTOF(g_delay_create_decoders), &p) != 0) {
		goto out;
	}
	if (!vt_bdev_name_is_valid(p.name)) {
		vt_jsonrpc_send_error_response_fmt(
			req, VT_JSONRPC_ERROR_INVALID_PARAMS,
			"invalid parameter 'name': '%s' is not a bdev name", p.name);
		goto out;
	}
	if (!rpc_delay_check_latencies(req, p.lat) ||
	    !bdev_vbdev_rpc_check_base(req, "base_bdev_name", p.base_bdev_name) ||
	    !vt_bdev_rpc_check_new(req, p.name, p.uuid, &uuid)) {
		goto out;
	}
	rc = bdev_delay_create(p.name, p.base_bdev_name, p.lat, p.uuid != NULL ? &uuid : NULL,
			       &bdev);
	vt_bdev_rpc_create_answer(req, rc, bdev, "delay", p.name, p.uuid);
out:
	free(p.base_bdev_name);
	free(p.name);
	free(p.uuid);
}
VT_RPC_REGISTER("bdev_delay_create", rpc_bdev_delay_create, VT_RPC_STARTUP | VT_RPC_RUNTIME)

struct rpc_delay_name {
	char *name;
};

static const struct vt_json_object_decoder g_delay_delete_decoders[] = {
	{ "name", offsetof(struct rpc_delay_name, name), vt_json_decode_string },
};

static void
rpc_bdev_delay_delete(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_delay_name p = { 0 };

	if (vt_rpc_decode_params(req, params, g_delay_delete_decoders,
				 VT_COUNTOF(g_delay_delete_decoders), &p) == 0) {
		vt_bdev_rpc_delete(req, p.name, &g_bdev_delay_module, "a delay bdev",
				   bdev_delay_delete);
	}
	free(p.name);
}
VT_RPC_REGISTER("bdev_delay_delete", rpc_bdev_delay_delete, VT_RPC_STARTUP | VT_RPC_RUNTIME)

struct rpc_delay_update {
	char *delay_bdev_name;
	char *latency_type;
	uint64_t latency_us;
};

static const struct vt_json_object_decoder g_delay_update_decoders[] = {
	{ "delay_bdev_name", offsetof(struct rpc_delay_update, delay_bdev_name),
	  vt_json_decode_string },
	{ "latency_type", offsetof(struct rpc_delay_update, latency_type), vt_json_decode_string },
	{ "latency_us", offsetof(struct rpc_delay_update, latency_us), vt_json_decode_uint64 },
};

static void
rpc_bdev_delay_update_latency(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_delay_update p = { 0 };
	enum bdev_delay_latency which;
	struct vt_bdev *bdev;

	if (vt_rpc_decode_params(req, params, g_delay_update_decoders,
				 VT_COUNTOF(g_delay_update_decoders), &p) != 0) {
		goto out;
	}
	if (bdev_delay_parse_latency_type(p.latency_type, &which) != 0) {
		vt_jsonrpc_send_error_response_fmt(
			req, VT_JSONRPC_ERROR_INVALID_PARAMS,
			"invalid parameter 'latency_type': '%s' is not one of avg_read, p99_read, "
			"avg_write, p99_write",
			p.latency_type);
		goto out;
	}
	bdev = vt_bdev_rpc_find(req, p.delay_bdev_name, &g_bdev_delay_module, "a delay bdev",
				-ENODEV);
	if (bdev == NULL) {
		goto out;
	}
	if (bdev_delay_update(bdev, which, p.latency_us) != 0) {
		vt_jsonrpc_send_error_response_fmt(
			req, VT_JSONRPC_ERROR_INVALID_PARAMS,
			"invalid parameter 'latency_us': %" PRIu64 " us as %s latency is above the "
			"maximum (%llu us) or puts an average above its p99",
			p.latency_us, p.latency_type, BDEV_DELAY_MAX_LATENCY_US);
		goto out;
	}
	vt_jsonrpc_send_bool_response(req, true);
out:
	free(p.delay_bdev_name);
	free(p.latency_type);
}
VT_RPC_REGISTER("bdev_delay_update_latency", rpc_bdev_delay_update_latency,
		VT_RPC_STARTUP | VT_RPC_RUNTIME)
