/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bdev_set_qos_limit with SPDK's parameters (schema.yaml): name, rw_ios_per_sec,
 * rw_mbytes_per_sec, r_mbytes_per_sec, w_mbytes_per_sec; a limit left out keeps its value, 0
 * removes it. Where SPDK rounds an IOPS limit up to a multiple of 1000, vtarget refuses it with
 * an error naming the parameter. Also the config lines save_config writes for it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/json.h"
#include "vt/rpc.h"

#include "lib/bdev/bdev_internal.h"

struct rpc_set_qos_limit {
	char *name;
	uint64_t limits[BDEV_QOS_NUM_LIMITS];
};

static const struct vt_json_object_decoder g_set_qos_limit_decoders[] = {
	{ "name", offsetof(struct rpc_set_qos_limit, name), vt_json_decode_string, false },
	{ "rw_ios_per_sec", offsetof(struct rpc_set_qos_limit, limits[BDEV_QOS_RW_IOPS]),
	  vt_json_decode_uint64, true },
	{ "rw_mbytes_per_sec", offsetof(struct rpc_set_qos_limit, limits[BDEV_QOS_RW_BPS]),
	  vt_json_decode_uint64, true },
	{ "r_mbytes_per_sec", offsetof(struct rpc_set_qos_limit, limits[BDEV_QOS_R_BPS]),
	  vt_json_decode_uint64, true },
	{ "w_mbytes_per_sec", offsetof(struct rpc_set_qos_limit, limits[BDEV_QOS_W_BPS]),
	  vt_json_decode_uint64, true },
};

/* 0, or an error answered naming the bad parameter. */
static int
rpc_qos_check(struct vt_jsonrpc_request *req, const uint64_t limits[BDEV_QOS_NUM_LIMITS])
{
	bool given = false;

	for (int i = 0; i < BDEV_QOS_NUM_LIMITS; i++) {
		if (limits[i] == BDEV_QOS_LIMIT_KEEP) {
			continue;
		}
		given = true;
		if (bdev_qos_check_limit(i, limits[i]) == 0) {
			continue;
		}
		if (i == BDEV_QOS_RW_IOPS) {
			vt_jsonrpc_send_error_response_fmt(
				req, VT_JSONRPC_ERROR_INVALID_PARAMS,
				"rw_ios_per_sec %" PRIu64 " is not a multiple of %llu up to %llu "
				"(0 removes the limit)",
				limits[i], BDEV_QOS_MIN_IOS_PER_SEC, BDEV_QOS_MAX_IOS_PER_SEC);
		} else {
			vt_jsonrpc_send_error_response_fmt(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
							   "%s %" PRIu64 " is above %llu",
							   bdev_qos_limit_name(i), limits[i],
							   BDEV_QOS_MAX_MBYTES_PER_SEC);
		}
		return -EINVAL;
	}
	if (!given) {
		vt_jsonrpc_send_error_response(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
					       "no rate limit given: set at least one of "
					       "rw_ios_per_sec, rw_mbytes_per_sec, "
					       "r_mbytes_per_sec, w_mbytes_per_sec");
		return -EINVAL;
	}
	return 0;
}

static void
rpc_bdev_set_qos_limit(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_set_qos_limit p = { 0 };
	struct vt_bdev *bdev;
	int rc;

	for (int i = 0; i < BDEV_QOS_NUM_LIMITS; i++) {
		p.limits[i] = BDEV_QOS_LIMIT_KEEP;
	}
	if (vt_rpc_decode_params(req, params, g_set_qos_limit_decoders,
				 VT_COUNTOF(g_set_qos_limit_decoders), &p) != 0) {
		goto out;
	}
	if (rpc_qos_check(req, p.limits) != 0) {
		goto out;
	}
	bdev = vt_bdev_get_by_name(p.name);
	if (bdev == NULL || atomic_load(&bdev->internal->removing)) {
		vt_jsonrpc_send_error_response_fmt(req, -ENODEV, "bdev '%s' does not exist",
						   p.name);
		goto out;
	}
	rc = bdev_qos_set_limits(bdev->internal, p.limits);
	if (rc != 0) {
		vt_jsonrpc_send_error_response(req, rc,
					       "cannot set the rate limits: out of memory");
		goto out;
	}
	vt_jsonrpc_send_bool_response(req, true);
out:
	free(p.name);
}
VT_RPC_REGISTER("bdev_set_qos_limit", rpc_bdev_set_qos_limit, VT_RPC_STARTUP | VT_RPC_RUNTIME)

static const struct vt_rpc_alias g_qos_aliases[] = {
	{ "set_bdev_qos_limit", "bdev_set_qos_limit" },
};
VT_RPC_REGISTER_ALIASES(g_qos_aliases)

void
bdev_qos_write_limits_json(struct vt_json_write_ctx *w, struct bdev_internal *bi)
{
	uint64_t limits[BDEV_QOS_NUM_LIMITS];

	bdev_qos_get_limits(bi, limits);
	vt_json_write_named_object_begin(w, "assigned_rate_limits");
	for (int i = 0; i < BDEV_QOS_NUM_LIMITS; i++) {
		vt_json_write_named_uint64(w, bdev_qos_limit_name(i), limits[i]);
	}
	vt_json_write_object_end(w);
}

void
bdev_qos_write_config_json(struct vt_json_write_ctx *w)
{
	uint64_t limits[BDEV_QOS_NUM_LIMITS];
	struct bdev_internal *bi;

	for (bi = bdev_registry_first(); bi != NULL; bi = bdev_registry_next(bi)) {
		if (atomic_load(&bi->removing) ||
		    !atomic_load_explicit(&bi->qos_on, memory_order_acquire)) {
			continue;
		}
		bdev_qos_get_limits(bi, limits);
		vt_json_write_object_begin(w);
		vt_json_write_named_string(w, "method", "bdev_set_qos_limit");
		vt_json_write_named_object_begin(w, "params");
		vt_json_write_named_string(w, "name", bi->bdev->name);
		for (int i = 0; i < BDEV_QOS_NUM_LIMITS; i++) {
			vt_json_write_named_uint64(w, bdev_qos_limit_name(i), limits[i]);
		}
		vt_json_write_object_end(w);
		vt_json_write_object_end(w);
	}
}
