/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Raid bdevs (raid0, raid1, concat) over claimed base bdevs ("legs"). The raid object lives on
 * reactor 0, which opens, claims and closes the legs; each reactor's raid channel holds a channel
 * to each leg it sends I/O to. A leg's state is read by every reactor (atomically): a leg that
 * fails or is removed is first marked FAILED, which stops new I/O to it, then a sweep visits every
 * reactor in turn and drops each channel's base channel once its I/O to the leg has drained, and
 * only then is the leg's descriptor closed and its claim released. A raid1 goes on degraded while
 * one leg is online; raid0 and concat, or a raid1 without an online leg, go offline (the bdev is
 * unregistered, the raid stays listed until bdev_raid_delete).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/event.h"
#include "vt/json.h"
#include "vt/log.h"
#include "vt/util.h"

#include "lib/bdev/bdev_vbdev.h"
#include "lib/bdev/raid/bdev_raid.h"

VT_LOG_REGISTER_COMPONENT(bdev_raid)

struct raid_list g_raids = TAILQ_HEAD_INITIALIZER(g_raids);

static void raid_module_fini(void);

struct vt_bdev_module g_bdev_raid_module = {
	.name = "raid",
	.io_ctx_size = sizeof(struct raid_io_ctx),
	.module_fini = raid_module_fini,
	.examine = raid_examine,
};
VT_BDEV_MODULE_REGISTER(raid, &g_bdev_raid_module)

uint8_t
raid_count_legs(const struct raid_bdev *raid, int state)
{
	uint8_t n = 0;

	for (uint8_t i = 0; i < raid->num_legs; i++) {
		n += raid_leg_state(&raid->legs[i]) == state;
	}
	return n;
}

static uint8_t
raid_count_attached(const struct raid_bdev *raid)
{
	uint8_t n = 0;

	for (uint8_t i = 0; i < raid->num_legs; i++) {
		n += raid->legs[i].bdev != NULL;
	}
	return n;
}

struct raid_bdev *
raid_find(const char *name)
{
	struct raid_bdev *raid;

	TAILQ_FOREACH (raid, &g_raids, link) {
		if (strcmp(raid->bdev.name, name) == 0) {
			return raid;
		}
	}
	return NULL;
}

struct raid_bdev *
raid_find_by_uuid(const struct vt_uuid *uuid)
{
	struct raid_bdev *raid;

	TAILQ_FOREACH (raid, &g_raids, link) {
		if (memcmp(&raid->bdev.uuid, uuid, sizeof(*uuid)) == 0) {
			return raid;
		}
	}
	return NULL;
}

struct raid_bdev *
raid_find_base(const char *name, uint8_t *leg)
{
	struct raid_bdev *raid;

	TAILQ_FOREACH (raid, &g_raids, link) {
		for (uint8_t i = 0; i < raid->num_legs; i++) {
			if (raid->legs[i].bdev != NULL && raid->legs[i].name != NULL &&
			    strcmp(raid->legs[i].name, name) == 0) {
				*leg = i;
				return raid;
			}
		}
	}
	return NULL;
}

/* ---- channels ------------------------------------------------------------------------------ */

static void *
raid_create_channel(void *ctx)
{
	struct raid_bdev *raid = ctx;
	struct raid_channel *ch = calloc(1, sizeof(*ch));
	int st;

	if (ch == NULL) {
		return NULL;
	}
	ch->raid = raid;
	ch->reactor = vt_reactor_current();
	TAILQ_INIT(&ch->writes);
	TAILQ_INIT(&ch->win_wait);
	TAILQ_INIT(&ch->ovl_wait);
	for (uint8_t i = 0; i < raid->num_legs; i++) {
		st = raid_leg_state(&raid->legs[i]);
		if (st != RAID_LEG_ONLINE && st != RAID_LEG_REBUILDING) {
			continue;
		}
		ch->base_ch[i] = vt_bdev_get_io_channel(raid->legs[i].desc);
		if (ch->base_ch[i] == NULL) {
			goto err;
		}
	}
	raid->chs[ch->reactor] = ch;
	return ch;
err:
	for (uint8_t i = 0; i < raid->num_legs; i++) {
		if (ch->base_ch[i] != NULL) {
			vt_bdev_put_io_channel(ch->base_ch[i]);
		}
	}
	free(ch);
	return NULL;
}

static void
raid_destroy_channel(void *ctx, void *module_ch)
{
	struct raid_bdev *raid = ctx;
	struct raid_channel *ch = module_ch;

	raid->chs[ch->reactor] = NULL;
	for (uint8_t i = 0; i < raid->num_legs; i++) {
		if (ch->base_ch[i] != NULL) {
			vt_bdev_put_io_channel(ch->base_ch[i]);
		}
		/* A release sweep waiting here goes on (nothing is in flight any more). */
		if (ch->release_sweep[i] != NULL) {
			raid_sweep_resume(ch->release_sweep[i]);
		}
	}
	if (ch->quiesce_sweep != NULL) {
		raid_sweep_resume(ch->quiesce_sweep);
	}
	free(ch);
}

/* ---- sweeps -------------------------------------------------------------------------------- */

static void sweep_visit(void *arg);

static void
sweep_finish(void *arg)
{
	struct raid_sweep *s = arg;
	struct raid_bdev *raid = s->raid;

	s->done(s);
	raid_ctl_done(raid);
}

static void
sweep_next(struct raid_sweep *s)
{
	int rc;

	if (s->reactor >= vt_reactor_count()) {
		rc = vt_send_msg(0, sweep_finish, s);
	} else {
		rc = vt_send_msg(s->reactor, sweep_visit, s);
	}
	if (rc != 0) {
		VT_ERRLOG("raid bdev '%s': cannot send a sweep message (%d)\n", s->raid->bdev.name,
			  rc);
	}
}

static void
sweep_visit(void *arg)
{
	struct raid_sweep *s = arg;
	struct raid_channel *ch = s->raid->chs[s->reactor];

	if (ch != NULL && !s->visit(s, ch)) {
		return;
	}
	s->reactor++;
	sweep_next(s);
}

void
raid_sweep_start(struct raid_bdev *raid, struct raid_sweep *s)
{
	s->raid = raid;
	s->reactor = 0;
	raid->ctl_ops++;
	sweep_next(s);
}

void
raid_sweep_resume(struct raid_sweep *s)
{
	s->reactor++;
	sweep_next(s);
}

/* ---- legs ---------------------------------------------------------------------------------- */

static void raid_leg_event(enum vt_bdev_event_type type, struct vt_bdev *bdev, void *ctx);

int
raid_leg_attach(struct raid_bdev *raid, uint8_t i, const char *name)
{
	struct raid_leg *leg = &raid->legs[i];
	struct vt_bdev *bdev;
	uint64_t off = 0;
	int rc;

	bdev = vt_bdev_get_by_name(name);
	if (bdev == NULL) {
		return -ENODEV;
	}
	if (raid->blocklen != 0 && vt_bdev_get_block_size(bdev) != raid->blocklen) {
		return -EINVAL;
	}
	if (raid->superblock) {
		off = RAID_SB_DATA_OFFSET_BYTES / vt_bdev_get_block_size(bdev);
	}
	if (vt_bdev_get_num_blocks(bdev) <= off) {
		return -ENOSPC;
	}
	/* The event context is the leg's address, stable while the raid exists. */
	rc = vt_bdev_open(name, true, raid_leg_event, leg, &leg->desc);
	if (rc != 0) {
		return rc;
	}
	rc = vt_bdev_claim(leg->desc, "raid");
	if (rc != 0) {
		vt_bdev_close(leg->desc);
		leg->desc = NULL;
		return rc;
	}
	if (leg->name == NULL || strcmp(leg->name, name) != 0) {
		free(leg->name);
		leg->name = vt_strdup(name);
		if (leg->name == NULL) {
			vt_bdev_close(leg->desc);
			leg->desc = NULL;
			return -ENOMEM;
		}
	}
	leg->bdev = vt_bdev_desc_get_bdev(leg->desc);
	leg->uuid = *vt_bdev_get_uuid(bdev);
	leg->data_offset = off;
	leg->data_size = vt_bdev_get_num_blocks(bdev) - off;
	raid->blocklen = vt_bdev_get_block_size(bdev);
	return 0;
}

/* Closes an attached leg's descriptor (reactor 0; no channel of it is left). */
static void
raid_leg_detach(struct raid_leg *leg)
{
	if (leg->desc != NULL) {
		vt_bdev_close(leg->desc);
	}
	leg->desc = NULL;
	leg->bdev = NULL;
	__atomic_store_n(&leg->state, RAID_LEG_EMPTY, __ATOMIC_RELEASE);
}

/* The raid whose legs[] holds leg. */
static struct raid_bdev *
raid_of_leg(struct raid_leg *leg, uint8_t *idx)
{
	struct raid_bdev *raid;

	TAILQ_FOREACH (raid, &g_raids, link) {
		if (leg >= raid->legs && leg < raid->legs + RAID_MAX_LEGS) {
			*idx = (uint8_t)(leg - raid->legs);
			return raid;
		}
	}
	return NULL;
}

static void raid_go_offline(struct raid_bdev *raid);

static bool
release_visit(struct raid_sweep *s, struct raid_channel *ch)
{
	uint8_t l = s->leg;

	if (ch->base_ch[l] == NULL) {
		return true;
	}
	if (ch->leg_inflight[l] != 0) {
		ch->release_sweep[l] = s;
		return false;
	}
	vt_bdev_put_io_channel(ch->base_ch[l]);
	ch->base_ch[l] = NULL;
	return true;
}

void
raid_leg_io_done(struct raid_channel *ch, uint8_t l)
{
	struct raid_sweep *s;

	ch->leg_inflight[l]--;
	if (ch->leg_inflight[l] == 0 && ch->release_sweep[l] != NULL) {
		s = ch->release_sweep[l];
		ch->release_sweep[l] = NULL;
		vt_bdev_put_io_channel(ch->base_ch[l]);
		ch->base_ch[l] = NULL;
		raid_sweep_resume(s);
	}
}

static void
release_done(struct raid_sweep *s)
{
	struct raid_bdev *raid = s->raid;
	struct raid_leg *leg = &raid->legs[s->leg];
	void (*cb)(void *arg, int rc) = leg->removed_cb;
	void *arg = leg->removed_arg;

	VT_NOTICELOG("raid bdev '%s': base bdev '%s' released\n", raid->bdev.name,
		     leg->name != NULL ? leg->name : "");
	raid_leg_detach(leg);
	leg->releasing = false;
	leg->removed_cb = NULL;
	free(s);
	if (raid->superblock && raid->registered) {
		raid_sb_update(raid);
	}
	if (cb != NULL) {
		cb(arg, 0);
	}
}

/* Reactor 0: leg l (state FAILED) stops receiving I/O; its claim is released once drained. */
static void
raid_leg_release(struct raid_bdev *raid, uint8_t l)
{
	struct raid_leg *leg = &raid->legs[l];
	struct raid_sweep *s;

	if (leg->releasing) {
		return;
	}
	leg->releasing = true;
	if (raid->level != RAID_LEVEL_1 || raid_count_legs(raid, RAID_LEG_ONLINE) == 0) {
		raid_go_offline(raid);
	}
	if (!raid->registered || raid->destructing) {
		/* No channels: nothing to drain. */
		leg->releasing = false;
		raid_leg_detach(leg);
		return;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		VT_ERRLOG("raid bdev '%s': out of memory releasing a leg\n", raid->bdev.name);
		leg->releasing = false;
		return;
	}
	s->leg = l;
	s->visit = release_visit;
	s->done = release_done;
	raid_sweep_start(raid, s);
}

struct leg_failed_msg {
	struct raid_bdev *raid;
	uint8_t leg;
};

static void
leg_failed_msg(void *arg)
{
	struct leg_failed_msg *m = arg;
	struct raid_bdev *raid;

	/* The raid may be gone since (deleted while the failed I/O completed). */
	TAILQ_FOREACH (raid, &g_raids, link) {
		if (raid == m->raid) {
			break;
		}
	}
	if (raid == NULL || raid->deleting) {
		free(m);
		return;
	}
	/* The leg may have left already (removed meanwhile); a new leg in its slot is not it. */
	if (raid_leg_state(&raid->legs[m->leg]) == RAID_LEG_FAILED &&
	    raid->legs[m->leg].bdev != NULL) {
		VT_ERRLOG("raid bdev '%s': base bdev '%s' failed; it leaves the array\n",
			  raid->bdev.name, raid->legs[m->leg].name);
		raid_leg_release(raid, m->leg);
	}
	free(m);
}

void
raid_leg_failed(struct raid_bdev *raid, uint8_t l)
{
	struct raid_leg *leg = &raid->legs[l];
	struct leg_failed_msg *m;
	int st = raid_leg_state(leg);

	while (st == RAID_LEG_ONLINE || st == RAID_LEG_REBUILDING) {
		if (__atomic_compare_exchange_n(&leg->state, &st, RAID_LEG_FAILED, false,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			m = malloc(sizeof(*m));
			if (m == NULL) {
				VT_ERRLOG("raid: out of memory reporting a failed leg\n");
				return;
			}
			m->raid = raid;
			m->leg = l;
			if (vt_send_msg(0, leg_failed_msg, m) != 0) {
				free(m);
			}
			return;
		}
	}
}

static void
raid_leg_event(enum vt_bdev_event_type type, struct vt_bdev *bdev, void *ctx)
{
	struct raid_leg *leg = ctx;
	struct raid_bdev *raid;
	uint8_t l;
	int st;

	(void)bdev;
	if (type != VT_BDEV_EVENT_REMOVE) {
		return;
	}
	raid = raid_of_leg(leg, &l);
	if (raid == NULL) {
		return;
	}
	VT_NOTICELOG("raid bdev '%s': base bdev '%s' removed\n", raid->bdev.name, leg->name);
	st = raid_leg_state(leg);
	if (st == RAID_LEG_EMPTY && !raid->registered) {
		/* Attached while configuring: just let go. */
		raid_leg_detach(leg);
		return;
	}
	__atomic_store_n(&leg->state, RAID_LEG_FAILED, __ATOMIC_RELEASE);
	raid_leg_release(raid, l);
}

int
raid_remove_leg(struct raid_bdev *raid, uint8_t l, void (*cb)(void *arg, int rc), void *arg)
{
	struct raid_leg *leg = &raid->legs[l];

	if (leg->bdev == NULL) {
		return -ENODEV;
	}
	if (leg->releasing || leg->removed_cb != NULL) {
		return -EBUSY;
	}
	if (!raid->registered) {
		raid_leg_detach(leg);
		cb(arg, 0);
		return 0;
	}
	leg->removed_cb = cb;
	leg->removed_arg = arg;
	__atomic_store_n(&leg->state, RAID_LEG_FAILED, __ATOMIC_RELEASE);
	raid_leg_release(raid, l);
	return 0;
}

/* ---- adding a leg (raid1) ------------------------------------------------------------------- */

static bool
attach_visit(struct raid_sweep *s, struct raid_channel *ch)
{
	uint8_t l = s->leg;

	if (ch->base_ch[l] == NULL) {
		ch->base_ch[l] = vt_bdev_get_io_channel(s->raid->legs[l].desc);
		if (ch->base_ch[l] == NULL) {
			VT_ERRLOG("raid bdev '%s': no channel to its new leg on reactor %" PRIu32
				  "\n",
				  s->raid->bdev.name, ch->reactor);
		}
	}
	return true;
}

static void
attach_done(struct raid_sweep *s)
{
	struct raid_bdev *raid = s->raid;
	uint8_t l = s->leg;

	free(s);
	if (raid_leg_state(&raid->legs[l]) != RAID_LEG_REBUILDING) {
		return;
	}
	if (raid->superblock) {
		raid_sb_update(raid);
	}
	if (raid_rebuild_start(raid, l) != 0) {
		raid_leg_failed(raid, l);
	}
}

int
raid_add_leg(struct raid_bdev *raid, const char *name)
{
	struct raid_sweep *s;
	uint8_t l;
	int rc;

	if (raid->level != RAID_LEVEL_1 || !raid->registered) {
		return -EINVAL;
	}
	for (l = 0; l < raid->num_legs; l++) {
		if (raid->legs[l].bdev == NULL && !raid->legs[l].releasing) {
			break;
		}
	}
	if (l == raid->num_legs) {
		return -ENOSPC;
	}
	if (raid->rebuild != NULL) {
		return -EBUSY;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return -ENOMEM;
	}
	rc = raid_leg_attach(raid, l, name);
	if (rc != 0) {
		free(s);
		return rc;
	}
	if (raid->legs[l].data_size < raid->bdev.blockcnt) {
		raid_leg_detach(&raid->legs[l]);
		free(s);
		return -ENOSPC;
	}
	raid->legs[l].data_size = raid->bdev.blockcnt;
	__atomic_store_n(&raid->legs[l].state, RAID_LEG_REBUILDING, __ATOMIC_RELEASE);
	s->leg = l;
	s->visit = attach_visit;
	s->done = attach_done;
	raid_sweep_start(raid, s);
	return 0;
}

/* ---- the bdev -------------------------------------------------------------------------------- */

void
raid_ctl_done(struct raid_bdev *raid)
{
	raid->ctl_ops--;
	if (raid->ctl_ops == 0 && raid->destructing) {
		raid->destructing = false;
		for (uint8_t i = 0; i < raid->num_legs; i++) {
			raid_leg_detach(&raid->legs[i]);
		}
		vt_bdev_destruct_done(&raid->bdev, 0);
	}
}

static int
raid_destruct(void *ctx)
{
	struct raid_bdev *raid = ctx;

	raid->registered = false;
	raid->state = RAID_STATE_OFFLINE;
	if (raid->ctl_ops != 0) {
		raid->destructing = true;
		return 1;
	}
	for (uint8_t i = 0; i < raid->num_legs; i++) {
		raid_leg_detach(&raid->legs[i]);
	}
	return 0;
}

static void
raid_unregistered(void *arg, int rc)
{
	struct raid_bdev *raid = arg;
	void (*cb)(void *arg, int rc) = raid->delete_cb;
	void *cb_arg = raid->delete_arg;

	if (raid->deleting) {
		raid_free(raid);
		if (cb != NULL) {
			cb(cb_arg, rc);
		}
	}
}

static void
raid_go_offline(struct raid_bdev *raid)
{
	if (!raid->registered || raid->state == RAID_STATE_OFFLINE) {
		return;
	}
	VT_ERRLOG("raid bdev '%s' goes offline\n", raid->bdev.name);
	raid->state = RAID_STATE_OFFLINE;
	vt_bdev_unregister(&raid->bdev, raid_unregistered, raid);
}

static void
raid_dump_info_json(void *ctx, struct vt_json_write_ctx *w)
{
	struct raid_bdev *raid = ctx;

	vt_json_write_named_object_begin(w, "raid");
	raid_write_info_json(raid, w);
	vt_json_write_object_end(w);
}

void
raid_write_info_json(struct raid_bdev *raid, struct vt_json_write_ctx *w)
{
	char uuid[VT_UUID_STRING_LEN];
	uint64_t done;
	uint8_t target;

	vt_uuid_fmt(uuid, sizeof(uuid), &raid->bdev.uuid);
	vt_json_write_named_string(w, "uuid", uuid);
	vt_json_write_named_uint64(w, "strip_size_kb", raid->strip_size_kb);
	vt_json_write_named_string(w, "state", raid_state_name(raid->state));
	vt_json_write_named_string(w, "raid_level", raid_level_name(raid->level));
	vt_json_write_named_bool(w, "superblock", raid->superblock);
	vt_json_write_named_uint64(w, "num_base_bdevs", raid->num_legs);
	vt_json_write_named_uint64(w, "num_base_bdevs_discovered", raid_count_attached(raid));
	vt_json_write_named_uint64(w, "num_base_bdevs_operational",
				   raid_count_legs(raid, RAID_LEG_ONLINE));
	if (raid->rebuild != NULL) {
		done = raid_rebuild_progress(raid->rebuild, &target);
		vt_json_write_named_object_begin(w, "process");
		vt_json_write_named_string(w, "type", "rebuild");
		vt_json_write_named_string(w, "target", raid->legs[target].name);
		vt_json_write_named_object_begin(w, "progress");
		vt_json_write_named_uint64(w, "blocks", done);
		vt_json_write_named_uint64(
			w, "percent", raid->bdev.blockcnt ? done * 100 / raid->bdev.blockcnt : 0);
		vt_json_write_object_end(w);
		vt_json_write_object_end(w);
	}
	vt_json_write_named_array_begin(w, "base_bdevs_list");
	for (uint8_t i = 0; i < raid->num_legs; i++) {
		struct raid_leg *leg = &raid->legs[i];

		vt_json_write_object_begin(w);
		if (leg->bdev != NULL || (!raid->registered && leg->name != NULL)) {
			vt_json_write_named_string(w, "name", leg->name);
		} else {
			vt_json_write_named_null(w, "name");
		}
		vt_uuid_fmt(uuid, sizeof(uuid), &leg->uuid);
		vt_json_write_named_string(w, "uuid", uuid);
		vt_json_write_named_bool(w, "is_configured", leg->bdev != NULL);
		vt_json_write_named_uint64(w, "data_offset", leg->data_offset);
		vt_json_write_named_uint64(w, "data_size", leg->data_size);
		vt_json_write_object_end(w);
	}
	vt_json_write_array_end(w);
}

static void
raid_write_config_json(struct vt_bdev *bdev, struct vt_json_write_ctx *w)
{
	struct raid_bdev *raid = bdev->ctxt;
	char uuid[VT_UUID_STRING_LEN];

	/* A superblock array reassembles from its legs; replaying its creation would wipe it. */
	if (raid->superblock) {
		return;
	}
	vt_uuid_fmt(uuid, sizeof(uuid), &bdev->uuid);
	vt_json_write_object_begin(w);
	vt_json_write_named_string(w, "method", "bdev_raid_create");
	vt_json_write_named_object_begin(w, "params");
	vt_json_write_named_string(w, "name", bdev->name);
	vt_json_write_named_string(w, "uuid", uuid);
	if (raid->strip_size_kb != 0) {
		vt_json_write_named_uint64(w, "strip_size_kb", raid->strip_size_kb);
	}
	vt_json_write_named_string(w, "raid_level", raid_level_name(raid->level));
	vt_json_write_named_bool(w, "superblock", false);
	vt_json_write_named_array_begin(w, "base_bdevs");
	for (uint8_t i = 0; i < raid->num_legs; i++) {
		if (raid->legs[i].bdev != NULL) {
			vt_json_write_string(w, raid->legs[i].name);
		}
	}
	vt_json_write_array_end(w);
	vt_json_write_object_end(w);
	vt_json_write_object_end(w);
}

static bool
raid_io_type_supported_cb(void *ctx, enum vt_bdev_io_type type)
{
	return raid_io_type_supported(ctx, type);
}

static const struct vt_bdev_fn_table g_raid_fn_table = {
	.destruct = raid_destruct,
	.submit_request = raid_submit_request,
	.io_type_supported = raid_io_type_supported_cb,
	.create_channel = raid_create_channel,
	.destroy_channel = raid_destroy_channel,
	.dump_info_json = raid_dump_info_json,
	.write_config_json = raid_write_config_json,
};

int
raid_configure(struct raid_bdev *raid)
{
	struct raid_leg *first = NULL;
	uint64_t blockcnt;
	int rc;

	for (uint8_t i = 0; i < raid->num_legs; i++) {
		if (raid->legs[i].bdev != NULL) {
			first = first != NULL ? first : &raid->legs[i];
		} else if (raid->sb_seq == 0 || raid->level != RAID_LEVEL_1) {
			/* Created here, or without redundancy: every leg is needed. */
			return -EAGAIN;
		}
	}
	if (first == NULL) {
		return -EAGAIN;
	}
	if (raid->level != RAID_LEVEL_1) {
		rc = raid_strip_blocks(raid->strip_size_kb, raid->blocklen, &raid->strip_blocks,
				       &raid->strip_shift);
		if (rc != 0) {
			return rc;
		}
	}
	if (raid->sb_blockcnt != 0) {
		blockcnt = raid->sb_blockcnt;
		if (raid->level == RAID_LEVEL_CONCAT) {
			raid_compute_blockcnt(raid->level, raid->strip_shift, raid->legs,
					      raid->num_legs);
		}
	} else {
		blockcnt = raid_compute_blockcnt(raid->level, raid->strip_shift, raid->legs,
						 raid->num_legs);
	}
	if (blockcnt == 0) {
		return -ENOSPC;
	}
	bdev_vbdev_copy_geometry(&raid->bdev, first->bdev);
	raid->bdev.blockcnt = blockcnt;
	raid->bdev.product_name = "Raid Volume";
	raid->bdev.optimal_io_boundary = raid->strip_blocks;
	raid->bdev.max_unmap_blocks = 0;
	raid->bdev.max_write_zeroes_blocks = 0;
	raid->bdev.acwu = 0;
	for (uint8_t i = 0; i < raid->num_legs; i++) {
		struct raid_leg *leg = &raid->legs[i];

		if (leg->bdev == NULL) {
			continue;
		}
		if (raid->level == RAID_LEVEL_1) {
			leg->data_size = blockcnt;
		} else if (raid->level == RAID_LEVEL_0) {
			leg->data_size = blockcnt / raid->num_legs;
		} else {
			leg->data_size = (leg->data_size >> raid->strip_shift) << raid->strip_shift;
		}
		raid->bdev.write_cache |= leg->bdev->write_cache;
		__atomic_store_n(&leg->state, RAID_LEG_ONLINE, __ATOMIC_RELEASE);
	}
	raid->bdev.ctxt = raid;
	raid->bdev.fn_table = &g_raid_fn_table;
	raid->bdev.module = &g_bdev_raid_module;
	rc = vt_bdev_register(&raid->bdev);
	if (rc != 0) {
		for (uint8_t i = 0; i < raid->num_legs; i++) {
			if (raid->legs[i].bdev != NULL) {
				__atomic_store_n(&raid->legs[i].state, RAID_LEG_EMPTY,
						 __ATOMIC_RELEASE);
			}
		}
		return rc;
	}
	raid->registered = true;
	raid->state = RAID_STATE_ONLINE;
	VT_NOTICELOG("raid bdev '%s' online: %s, %" PRIu64 " blocks, %u of %u legs\n",
		     raid->bdev.name, raid_level_name(raid->level), blockcnt,
		     raid_count_legs(raid, RAID_LEG_ONLINE), raid->num_legs);
	if (raid->superblock) {
		raid_sb_update(raid);
	}
	return 0;
}

void
raid_free(struct raid_bdev *raid)
{
	TAILQ_REMOVE(&g_raids, raid, link);
	for (uint8_t i = 0; i < RAID_MAX_LEGS; i++) {
		free(raid->legs[i].name);
	}
	free(raid->bdev.name);
	free(raid);
}

int
raid_create(const char *name, enum raid_level level, uint32_t strip_size_kb, char **base_names,
	    uint8_t n, const struct vt_uuid *uuid, bool superblock, struct raid_bdev **out)
{
	struct raid_bdev *raid;
	int rc;

	if (n == 0 || n > RAID_MAX_LEGS || (level == RAID_LEVEL_1 && n < 2)) {
		return -EINVAL;
	}
	raid = calloc(1, sizeof(*raid));
	if (raid == NULL) {
		return -ENOMEM;
	}
	raid->bdev.name = vt_strdup(name);
	if (raid->bdev.name == NULL) {
		free(raid);
		return -ENOMEM;
	}
	raid->level = level;
	raid->strip_size_kb = level == RAID_LEVEL_1 ? 0 : strip_size_kb;
	raid->num_legs = n;
	raid->superblock = superblock;
	raid->state = RAID_STATE_CONFIGURING;
	if (uuid != NULL) {
		raid->bdev.uuid = *uuid;
	} else {
		vt_uuid_generate(&raid->bdev.uuid);
	}
	TAILQ_INSERT_TAIL(&g_raids, raid, link);
	for (uint8_t i = 0; i < n; i++) {
		raid->legs[i].name = vt_strdup(base_names[i]);
		if (raid->legs[i].name == NULL) {
			rc = -ENOMEM;
			goto err;
		}
		if (vt_bdev_get_by_name(base_names[i]) == NULL) {
			continue; /* configuring: attached when it appears (examine) */
		}
		rc = raid_leg_attach(raid, i, base_names[i]);
		if (rc != 0) {
			goto err;
		}
	}
	rc = raid_configure(raid);
	if (rc != 0 && rc != -EAGAIN) {
		goto err;
	}
	*out = raid;
	return 0;
err:
	for (uint8_t i = 0; i < n; i++) {
		raid_leg_detach(&raid->legs[i]);
	}
	raid_free(raid);
	return rc;
}

int
raid_delete(struct raid_bdev *raid, void (*cb)(void *arg, int rc), void *arg)
{
	if (raid->deleting) {
		return -EBUSY;
	}
	raid->deleting = true;
	raid->delete_cb = cb;
	raid->delete_arg = arg;
	if (raid->registered) {
		if (raid->state != RAID_STATE_OFFLINE) {
			raid->state = RAID_STATE_OFFLINE;
			vt_bdev_unregister(&raid->bdev, raid_unregistered, raid);
		}
		/* Going offline already: raid_unregistered frees it. */
		return 0;
	}
	for (uint8_t i = 0; i < raid->num_legs; i++) {
		raid_leg_detach(&raid->legs[i]);
	}
	raid_free(raid);
	cb(arg, 0);
	return 0;
}

static void
raid_module_fini(void)
{
	struct raid_bdev *raid, *tmp;

	/* Registered raids were unregistered by the layer; what is left never came online. */
	for (raid = TAILQ_FIRST(&g_raids); raid != NULL; raid = tmp) {
		tmp = TAILQ_NEXT(raid, link);
		if (!raid->registered) {
			for (uint8_t i = 0; i < raid->num_legs; i++) {
				raid_leg_detach(&raid->legs[i]);
			}
			raid_free(raid);
		}
	}
}
