/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bdev_raid_create, bdev_raid_delete, bdev_raid_get_bdevs, bdev_raid_remove_base_bdev and
 * bdev_raid_add_base_bdev, with SPDK's parameters and result shapes.
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

#include "lib/bdev/bdev_vbdev.h"
#include "lib/bdev/raid/bdev_raid.h"

/* SPDK's rpc.py sends base_bdevs as one whitespace-separated string; JSON clients as an array. */
static int
decode_base_bdevs(yajl_val val, void *out)
{
	struct vt_json_string_array *a = out;
	const char *p, *end;

	if (!YAJL_IS_STRING(val)) {
		return vt_json_decode_string_array(val, out);
	}
	vt_json_string_array_free(a);
	a->items = calloc(RAID_MAX_LEGS + 1, sizeof(*a->items));
	if (a->items == NULL) {
		return -ENOMEM;
	}
	/* At most one more than allowed is kept: enough to say there are too many. */
	for (p = val->u.string; *p != '\0' && a->count <= RAID_MAX_LEGS; p = end) {
		while (*p == ' ' || *p == '\t') {
			p++;
		}
		for (end = p; *end != '\0' && *end != ' ' && *end != '\t'; end++) {
		}
		if (end == p) {
			break;
		}
		a->items[a->count] = strndup(p, (size_t)(end - p));
		if (a->items[a->count] == NULL) {
			return -ENOMEM;
		}
		a->count++;
	}
	return 0;
}

struct rpc_raid_create {
	char *name;
	char *raid_level;
	uint32_t strip_size_kb;
	struct vt_json_string_array base_bdevs;
	char *uuid;
	bool superblock;
};

static const struct vt_json_object_decoder g_raid_create_decoders[] = {
	{ "name", offsetof(struct rpc_raid_create, name), vt_json_decode_string },
	{ "raid_level", offsetof(struct rpc_raid_create, raid_level), vt_json_decode_string },
	{ "strip_size_kb", offsetof(struct rpc_raid_create, strip_size_kb), vt_json_decode_uint32,
	  true },
	{ "base_bdevs", offsetof(struct rpc_raid_create, base_bdevs), decode_base_bdevs },
	{ "uuid", offsetof(struct rpc_raid_create, uuid), vt_json_decode_string, true },
	{ "superblock", offsetof(struct rpc_raid_create, superblock), vt_json_decode_bool, true },
};

/* The checks of base_bdevs; answers naming the parameter and returns false at the first. */
static bool
rpc_raid_check_bases(struct vt_jsonrpc_request *req, const struct rpc_raid_create *p,
		     enum raid_level level)
{
	const struct vt_json_string_array *b = &p->base_bdevs;
	uint32_t blocklen = 0;
	struct vt_bdev *bdev;

	if (b->count == 0 || b->count > RAID_MAX_LEGS || (level == RAID_LEVEL_1 && b->count < 2)) {
		vt_jsonrpc_send_error_response_fmt(
			req, VT_JSONRPC_ERROR_INVALID_PARAMS,
			"invalid parameter 'base_bdevs': %zu bdevs; %s takes %d to %d", b->count,
			raid_level_name(level), level == RAID_LEVEL_1 ? 2 : 1, RAID_MAX_LEGS);
		return false;
	}
	for (size_t i = 0; i < b->count; i++) {
		for (size_t j = 0; j < i; j++) {
			if (strcmp(b->items[i], b->items[j]) == 0) {
				vt_jsonrpc_send_error_response_fmt(
					req, VT_JSONRPC_ERROR_INVALID_PARAMS,
					"invalid parameter 'base_bdevs': '%s' is listed twice",
					b->items[i]);
				return false;
			}
		}
		bdev = vt_bdev_get_by_name(b->items[i]);
		if (bdev == NULL) {
			continue; /* the raid waits for it (configuring) */
		}
		if (!bdev_vbdev_rpc_check_base(req, "base_bdevs", b->items[i])) {
			return false;
		}
		if (blocklen != 0 && vt_bdev_get_block_size(bdev) != blocklen) {
			vt_jsonrpc_send_error_response_fmt(
				req, VT_JSONRPC_ERROR_INVALID_PARAMS,
				"invalid parameter 'base_bdevs': '%s' has %" PRIu32
				"-byte blocks, the others %" PRIu32,
				b->items[i], vt_bdev_get_block_size(bdev), blocklen);
			return false;
		}
		blocklen = vt_bdev_get_block_size(bdev);
		if (p->superblock &&
		    vt_bdev_get_num_blocks(bdev) * blocklen <= RAID_SB_DATA_OFFSET_BYTES) {
			vt_jsonrpc_send_error_response_fmt(
				req, VT_JSONRPC_ERROR_INVALID_PARAMS,
				"invalid parameter 'base_bdevs': '%s' is too small for a superblock "
				"(the data starts at %u bytes)",
				b->items[i], RAID_SB_DATA_OFFSET_BYTES);
			return false;
		}
	}
	if (level != RAID_LEVEL_1 && blocklen != 0 &&
	    (uint64_t)p->strip_size_kb * 1024 < blocklen) {
		vt_jsonrpc_send_error_response_fmt(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
						   "invalid parameter 'strip_size_kb': %" PRIu32
						   " KiB is less than a block (%" PRIu32 " bytes)",
						   p->strip_size_kb, blocklen);
		return false;
	}
	return true;
}

static bool
rpc_raid_check_create(struct vt_jsonrpc_request *req, const struct rpc_raid_create *p,
		      enum raid_level *level)
{
	if (!vt_bdev_name_is_valid(p->name)) {
		vt_jsonrpc_send_error_response_fmt(
			req, VT_JSONRPC_ERROR_INVALID_PARAMS,
			"invalid parameter 'name': '%s' is not a bdev name", p->name);
		return false;
	}
	if (raid_find(p->name) != NULL) {
		vt_jsonrpc_send_error_response_fmt(req, -EEXIST, "raid bdev '%s' already exists",
						   p->name);
		return false;
	}
	if (raid_parse_level(p->raid_level, level) != 0) {
		vt_jsonrpc_send_error_response_fmt(
			req, VT_JSONRPC_ERROR_INVALID_PARAMS,
			"invalid parameter 'raid_level': '%s' is not one of raid0, 0, raid1, 1, "
			"concat",
			p->raid_level);
		return false;
	}
	if (*level == RAID_LEVEL_1 && p->strip_size_kb != 0) {
		vt_jsonrpc_send_error_response(
			req, VT_JSONRPC_ERROR_INVALID_PARAMS,
			"invalid parameter 'strip_size_kb': raid1 has no strip (leave it out or 0)");
		return false;
	}
	if (*level != RAID_LEVEL_1 &&
	    (p->strip_size_kb == 0 || (p->strip_size_kb & (p->strip_size_kb - 1)) != 0)) {
		vt_jsonrpc_send_error_response_fmt(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
						   "invalid parameter 'strip_size_kb': %" PRIu32
						   " is not a power of two (required for %s)",
						   p->strip_size_kb, raid_level_name(*level));
		return false;
	}
	return rpc_raid_check_bases(req, p, *level);
}

static void
rpc_bdev_raid_create(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_raid_create p = { 0 };
	struct raid_bdev *raid = NULL;
	enum raid_level level;
	struct vt_uuid uuid;
	int rc;

	if (vt_rpc_decode_params(req, params, g_raid_create_decoders,
				 VT_COUNTOF(g_raid_create_decoders), &p) != 0) {
		goto out;
	}
	if (!rpc_raid_check_create(req, &p, &level) ||
	    !vt_bdev_rpc_check_new(req, p.name, p.uuid, &uuid)) {
		goto out;
	}
	if (p.uuid != NULL && raid_find_by_uuid(&uuid) != NULL) {
		vt_jsonrpc_send_error_response_fmt(
			req, -EEXIST, "invalid parameter 'uuid': a raid with uuid '%s' exists",
			p.uuid);
		goto out;
	}
	rc = raid_create(p.name, level, p.strip_size_kb, p.base_bdevs.items,
			 (uint8_t)p.base_bdevs.count, p.uuid != NULL ? &uuid : NULL, p.superblock,
			 &raid);
	if (rc != 0) {
		vt_jsonrpc_send_error_response_fmt(req, rc, "cannot create raid bdev '%s': %s",
						   p.name, strerror(-rc));
		goto out;
	}
	vt_jsonrpc_send_bool_response(req, true);
out:
	free(p.name);
	free(p.raid_level);
	vt_json_string_array_free(&p.base_bdevs);
	free(p.uuid);
}
VT_RPC_REGISTER("bdev_raid_create", rpc_bdev_raid_create, VT_RPC_STARTUP | VT_RPC_RUNTIME)

struct rpc_raid_name {
	char *name;
};

static const struct vt_json_object_decoder g_raid_delete_decoders[] = {
	{ "name", offsetof(struct rpc_raid_name, name), vt_json_decode_string },
	VT_JSON_DECODER_DEFAULT_ONLY("clear_sb", vt_json_decode_only_false),
};

static void
rpc_raid_answer(void *arg, int rc)
{
	struct vt_jsonrpc_request *req = arg;

	if (rc == 0) {
		vt_jsonrpc_send_bool_response(req, true);
	} else {
		vt_jsonrpc_send_error_response_fmt(req, rc, "%s", strerror(-rc));
	}
}

static void
rpc_bdev_raid_delete(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_raid_name p = { 0 };
	struct raid_bdev *raid;
	int rc;

	if (vt_rpc_decode_params(req, params, g_raid_delete_decoders,
				 VT_COUNTOF(g_raid_delete_decoders), &p) != 0) {
		goto out;
	}
	raid = raid_find(p.name);
	if (raid == NULL) {
		vt_jsonrpc_send_error_response_fmt(
			req, -ENODEV, "invalid parameter 'name': raid bdev '%s' does not exist",
			p.name);
		goto out;
	}
	rc = raid_delete(raid, rpc_raid_answer, req);
	if (rc != 0) {
		vt_jsonrpc_send_error_response_fmt(
			req, rc, "raid bdev '%s' is already being deleted", p.name);
	}
out:
	free(p.name);
}
VT_RPC_REGISTER("bdev_raid_delete", rpc_bdev_raid_delete, VT_RPC_STARTUP | VT_RPC_RUNTIME)

struct rpc_raid_category {
	char *category;
};

static const struct vt_json_object_decoder g_raid_get_decoders[] = {
	{ "category", offsetof(struct rpc_raid_category, category), vt_json_decode_string },
};

static void
rpc_bdev_raid_get_bdevs(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_raid_category p = { 0 };
	struct vt_json_write_ctx *w;
	struct raid_bdev *raid;
	int want = -1;

	if (vt_rpc_decode_params(req, params, g_raid_get_decoders, VT_COUNTOF(g_raid_get_decoders),
				 &p) != 0) {
		goto out;
	}
	if (strcmp(p.category, "online") == 0) {
		want = RAID_STATE_ONLINE;
	} else if (strcmp(p.category, "configuring") == 0) {
		want = RAID_STATE_CONFIGURING;
	} else if (strcmp(p.category, "offline") == 0) {
		want = RAID_STATE_OFFLINE;
	} else if (strcmp(p.category, "all") != 0) {
		vt_jsonrpc_send_error_response_fmt(
			req, VT_JSONRPC_ERROR_INVALID_PARAMS,
			"invalid parameter 'category': '%s' is not one of all, online, "
			"configuring, offline",
			p.category);
		goto out;
	}
	w = vt_jsonrpc_begin_result(req);
	if (w != NULL) {
		vt_json_write_array_begin(w);
		TAILQ_FOREACH (raid, &g_raids, link) {
			if (want >= 0 && (int)raid->state != want) {
				continue;
			}
			vt_json_write_object_begin(w);
			vt_json_write_named_string(w, "name", raid->bdev.name);
			raid_write_info_json(raid, w);
			vt_json_write_object_end(w);
		}
		vt_json_write_array_end(w);
	}
	vt_jsonrpc_end_result(req, w);
out:
	free(p.category);
}
VT_RPC_REGISTER("bdev_raid_get_bdevs", rpc_bdev_raid_get_bdevs, VT_RPC_STARTUP | VT_RPC_RUNTIME)

static const struct vt_json_object_decoder g_raid_remove_decoders[] = {
	{ "name", offsetof(struct rpc_raid_name, name), vt_json_decode_string },
};

static void
rpc_bdev_raid_remove_base_bdev(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_raid_name p = { 0 };
	struct raid_bdev *raid;
	uint8_t leg;
	int rc;

	if (vt_rpc_decode_params(req, params, g_raid_remove_decoders,
				 VT_COUNTOF(g_raid_remove_decoders), &p) != 0) {
		goto out;
	}
	raid = raid_find_base(p.name, &leg);
	if (raid == NULL) {
		vt_jsonrpc_send_error_response_fmt(
			req, -ENODEV, "invalid parameter 'name': bdev '%s' is not a raid base bdev",
			p.name);
		goto out;
	}
	rc = raid_remove_leg(raid, leg, rpc_raid_answer, req);
	if (rc != 0) {
		vt_jsonrpc_send_error_response_fmt(
			req, rc, "base bdev '%s' is already being removed", p.name);
	}
out:
	free(p.name);
}
VT_RPC_REGISTER("bdev_raid_remove_base_bdev", rpc_bdev_raid_remove_base_bdev,
		VT_RPC_STARTUP | VT_RPC_RUNTIME)

struct rpc_raid_add {
	char *raid_bdev;
	char *base_bdev;
};

static const struct vt_json_object_decoder g_raid_add_decoders[] = {
	{ "raid_bdev", offsetof(struct rpc_raid_add, raid_bdev), vt_json_decode_string },
	{ "base_bdev", offsetof(struct rpc_raid_add, base_bdev), vt_json_decode_string },
};

static void
rpc_bdev_raid_add_base_bdev(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_raid_add p = { 0 };
	struct raid_bdev *raid;
	int rc;

	if (vt_rpc_decode_params(req, params, g_raid_add_decoders, VT_COUNTOF(g_raid_add_decoders),
				 &p) != 0) {
		goto out;
	}
	raid = raid_find(p.raid_bdev);
	if (raid == NULL) {
		vt_jsonrpc_send_error_response_fmt(
			req, -ENODEV,
			"invalid parameter 'raid_bdev': raid bdev '%s' does not exist",
			p.raid_bdev);
		goto out;
	}
	if (raid->level != RAID_LEVEL_1 || raid->state != RAID_STATE_ONLINE) {
		vt_jsonrpc_send_error_response_fmt(
			req, -EINVAL,
			"invalid parameter 'raid_bdev': '%s' is %s and %s; a leg can be added to an "
			"online raid1 only",
			p.raid_bdev, raid_level_name(raid->level), raid_state_name(raid->state));
		goto out;
	}
	if (!bdev_vbdev_rpc_check_base(req, "base_bdev", p.base_bdev)) {
		goto out;
	}
	rc = raid_add_leg(raid, p.base_bdev);
	switch (rc) {
	case 0:
		vt_jsonrpc_send_bool_response(req, true);
		break;
	case -ENOSPC:
		vt_jsonrpc_send_error_response_fmt(
			req, rc,
			"invalid parameter 'base_bdev': raid '%s' has no empty slot, or '%s' is "
			"smaller than its legs",
			p.raid_bdev, p.base_bdev);
		break;
	case -EINVAL:
		vt_jsonrpc_send_error_response_fmt(
			req, rc, "invalid parameter 'base_bdev': '%s' has another block size",
			p.base_bdev);
		break;
	case -EBUSY:
		vt_jsonrpc_send_error_response_fmt(
			req, rc, "invalid parameter 'raid_bdev': '%s' is rebuilding already",
			p.raid_bdev);
		break;
	default:
		vt_jsonrpc_send_error_response_fmt(req, rc, "cannot add '%s' to '%s': %s",
						   p.base_bdev, p.raid_bdev, strerror(-rc));
		break;
	}
out:
	free(p.raid_bdev);
	free(p.base_bdev);
}
VT_RPC_REGISTER("bdev_raid_add_base_bdev", rpc_bdev_raid_add_base_bdev,
		VT_RPC_STARTUP | VT_RPC_RUNTIME)
