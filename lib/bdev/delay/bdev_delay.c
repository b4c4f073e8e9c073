/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Delay bdevs: a passthrough over a claimed base bdev that holds every read's and write's
 * completion for a configured latency before the user sees it (an artificial drive latency), the
 * average one usually and the p99 one for about one I/O in a hundred. Other I/O types complete as
 * soon as the base completes them. The held I/Os wait on the submitting reactor, in a list per
 * channel ordered by release time, released by a timed poller that exists while the list is not
 * empty: nothing sleeps. A latency change applies to I/Os submitted after it. Once the bdev is
 * being removed, held I/Os complete at once.
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
#include "lib/bdev/delay/bdev_delay.h"

VT_LOG_REGISTER_COMPONENT(bdev_delay)

/* The release poller's period: the resolution of the latencies. */
#define DELAY_POLL_PERIOD_US 10

static const char *const g_latency_names[BDEV_DELAY_NUM_LATENCIES] = {
	[BDEV_DELAY_AVG_READ] = "avg_read",
	[BDEV_DELAY_P99_READ] = "p99_read",
	[BDEV_DELAY_AVG_WRITE] = "avg_write",
	[BDEV_DELAY_P99_WRITE] = "p99_write",
};

struct vt_bdev_module g_bdev_delay_module = {
	.name = "delay",
	.io_ctx_size = sizeof(struct delay_io_ctx),
};
VT_BDEV_MODULE_REGISTER(delay, &g_bdev_delay_module)

int
bdev_delay_parse_latency_type(const char *s, enum bdev_delay_latency *out)
{
	for (int i = 0; i < BDEV_DELAY_NUM_LATENCIES; i++) {
		if (strcmp(s, g_latency_names[i]) == 0) {
			*out = (enum bdev_delay_latency)i;
			return 0;
		}
	}
	return -EINVAL;
}

int
bdev_delay_check_latencies(const uint64_t lat[BDEV_DELAY_NUM_LATENCIES],
			   enum bdev_delay_latency *bad)
{
	for (int i = 0; i < BDEV_DELAY_NUM_LATENCIES; i++) {
		if (lat[i] > BDEV_DELAY_MAX_LATENCY_US) {
			*bad = (enum bdev_delay_latency)i;
			return -EINVAL;
		}
	}
	if (lat[BDEV_DELAY_AVG_READ] > lat[BDEV_DELAY_P99_READ]) {
		*bad = BDEV_DELAY_AVG_READ;
		return -EINVAL;
	}
	if (lat[BDEV_DELAY_AVG_WRITE] > lat[BDEV_DELAY_P99_WRITE]) {
		*bad = BDEV_DELAY_AVG_WRITE;
		return -EINVAL;
	}
	return 0;
}

uint64_t
bdev_delay_pick_us(const uint64_t lat[BDEV_DELAY_NUM_LATENCIES], enum vt_bdev_io_type type,
		   uint64_t draw)
{
	bool p99 = draw % 100 == 0;

	switch (type) {
	case VT_BDEV_IO_TYPE_READ:
		return lat[p99 ? BDEV_DELAY_P99_READ : BDEV_DELAY_AVG_READ];
	case VT_BDEV_IO_TYPE_WRITE:
		return lat[p99 ? BDEV_DELAY_P99_WRITE : BDEV_DELAY_AVG_WRITE];
	default:
		return 0;
	}
}

static uint64_t
delay_rand(struct delay_channel *ch)
{
	uint64_t x = ch->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	ch->rng = x;
	return x;
}

static void
delay_release(struct delay_io_ctx *ctx)
{
	struct vt_bdev_io *io = ctx->io;

	switch (ctx->status) {
	case VT_BDEV_IO_STATUS_MISCOMPARE:
		vt_bdev_io_complete_miscompare(io, ctx->miscompare_offset);
		break;
	case VT_BDEV_IO_STATUS_FAILED:
		vt_bdev_io_complete_errno(io, ctx->err);
		break;
	default:
		vt_bdev_io_complete(io, ctx->status);
		break;
	}
}

static int
delay_poll(void *arg)
{
	struct delay_channel *ch = arg;
	struct delay_io_ctx *ctx;
	uint64_t now = vt_get_ticks();
	int busy = VT_POLLER_IDLE;

	/* Being removed: the held I/Os complete now, so a long latency never delays a removal. */
	if (__atomic_load_n(&ch->disk->removing, __ATOMIC_ACQUIRE)) {
		now = UINT64_MAX;
	}
	while ((ctx = TAILQ_FIRST(&ch->held)) != NULL && ctx->release_ticks <= now) {
		TAILQ_REMOVE(&ch->held, ctx, link);
		delay_release(ctx);
		busy = VT_POLLER_BUSY;
	}
	if (TAILQ_EMPTY(&ch->held)) {
		vt_poller_unregister(&ch->poller);
	}
	return busy;
}

/* Inserts ctx by release time (the same latency keeps submission order: a tail append). */
static void
delay_hold(struct delay_channel *ch, struct delay_io_ctx *ctx)
{
	struct delay_io_ctx *it;

	TAILQ_FOREACH_REVERSE (it, &ch->held, delay_held, link) {
		if (it->release_ticks <= ctx->release_ticks) {
			break;
		}
	}
	if (it == NULL) {
		TAILQ_INSERT_HEAD(&ch->held, ctx, link);
	} else {
		TAILQ_INSERT_AFTER(&ch->held, it, ctx, link);
	}
	if (ch->poller == NULL) {
		ch->poller = vt_poller_register(delay_poll, ch, DELAY_POLL_PERIOD_US, "bdev_delay");
		if (ch->poller == NULL) {
			/* No timer: release now rather than never. */
			VT_ERRLOG("delay bdev '%s': cannot register its poller\n",
				  ch->disk->bdev.name);
			TAILQ_REMOVE(&ch->held, ctx, link);
			delay_release(ctx);
		}
	}
}

static void
delay_io_done(struct vt_bdev_io *base_io, bool success, void *cb_arg)
{
	struct vt_bdev_io *io = cb_arg;
	struct delay_io_ctx *ctx = (struct delay_io_ctx *)io->driver_ctx;

	(void)success;
	if (ctx->latency_ticks == 0) {
		bdev_vbdev_complete(io, base_io);
		return;
	}
	ctx->status = vt_bdev_io_get_status(base_io);
	ctx->err = vt_bdev_io_get_errno(base_io);
	ctx->miscompare_offset = vt_bdev_io_get_miscompare_offset(base_io);
	ctx->release_ticks = vt_get_ticks() + ctx->latency_ticks;
	delay_hold(ctx->ch, ctx);
}

static void
delay_submit(void *module_ch, struct vt_bdev_io *io)
{
	struct delay_channel *ch = module_ch;
	struct delay_disk *disk = ch->disk;
	struct delay_io_ctx *ctx = (struct delay_io_ctx *)io->driver_ctx;
	uint64_t lat[BDEV_DELAY_NUM_LATENCIES];
	int rc;

	memset(ctx, 0, sizeof(*ctx));
	ctx->io = io;
	ctx->ch = ch;
	for (int i = 0; i < BDEV_DELAY_NUM_LATENCIES; i++) {
		lat[i] = __atomic_load_n(&disk->latency_us[i], __ATOMIC_RELAXED);
	}
	ctx->latency_ticks =
		bdev_delay_pick_us(lat, io->type, delay_rand(ch)) * (VT_TICKS_HZ / 1000000);
	rc = bdev_vbdev_submit(disk->base_desc, ch->base_ch, io, 0, delay_io_done, io);
	if (rc != 0) {
		bdev_vbdev_submit_failed(io, rc);
	}
}

static bool
delay_io_type_supported(void *ctx, enum vt_bdev_io_type type)
{
	struct delay_disk *disk = ctx;

	return bdev_vbdev_io_type_supported(disk->base, type);
}

static void *
delay_create_channel(void *ctx)
{
	struct delay_disk *disk = ctx;
	struct delay_channel *ch = calloc(1, sizeof(*ch));

	if (ch == NULL) {
		return NULL;
	}
	ch->disk = disk;
	TAILQ_INIT(&ch->held);
	ch->rng = (vt_get_ticks() ^ (uintptr_t)ch) | 1;
	ch->base_ch = vt_bdev_get_io_channel(disk->base_desc);
	if (ch->base_ch == NULL) {
		free(ch);
		return NULL;
	}
	return ch;
}

static void
delay_destroy_channel(void *ctx, void *module_ch)
{
	struct delay_channel *ch = module_ch;
	struct delay_io_ctx *io_ctx;

	(void)ctx;
	/* The layer destroys a channel without I/O in flight; release anything left anyway. */
	while ((io_ctx = TAILQ_FIRST(&ch->held)) != NULL) {
		TAILQ_REMOVE(&ch->held, io_ctx, link);
		delay_release(io_ctx);
	}
	vt_poller_unregister(&ch->poller);
	vt_bdev_put_io_channel(ch->base_ch);
	free(ch);
}

static void
delay_disk_free(struct delay_disk *disk)
{
	free(disk->bdev.name);
	free(disk);
}

static int
delay_destruct(void *ctx)
{
	struct delay_disk *disk = ctx;

	vt_bdev_close(disk->base_desc);
	VT_DEBUGLOG(bdev_delay, "delay bdev '%s' destroyed\n", disk->bdev.name);
	delay_disk_free(disk);
	return 0;
}

static void
delay_dump_info_json(void *ctx, struct vt_json_write_ctx *w)
{
	struct delay_disk *disk = ctx;

	vt_json_write_named_object_begin(w, "delay");
	vt_json_write_named_string(w, "name", disk->bdev.name);
	vt_json_write_named_string(w, "base_bdev_name", vt_bdev_get_name(disk->base));
	vt_json_write_named_uint64(w, "avg_read_latency", disk->latency_us[BDEV_DELAY_AVG_READ]);
	vt_json_write_named_uint64(w, "p99_read_latency", disk->latency_us[BDEV_DELAY_P99_READ]);
	vt_json_write_named_uint64(w, "avg_write_latency", disk->latency_us[BDEV_DELAY_AVG_WRITE]);
	vt_json_write_named_uint64(w, "p99_write_latency", disk->latency_us[BDEV_DELAY_P99_WRITE]);
	vt_json_write_object_end(w);
}

static void
delay_write_config_json(struct vt_bdev *bdev, struct vt_json_write_ctx *w)
{
	struct delay_disk *disk = bdev->ctxt;
	char uuid[VT_UUID_STRING_LEN];

	vt_uuid_fmt(uuid, sizeof(uuid), &bdev->uuid);
	vt_json_write_object_begin(w);
	vt_json_write_named_string(w, "method", "bdev_delay_create");
	vt_json_write_named_object_begin(w, "params");
	vt_json_write_named_string(w, "base_bdev_name", vt_bdev_get_name(disk->base));
	vt_json_write_named_string(w, "name", bdev->name);
	vt_json_write_named_uint64(w, "avg_read_latency", disk->latency_us[BDEV_DELAY_AVG_READ]);
	vt_json_write_named_uint64(w, "p99_read_latency", disk->latency_us[BDEV_DELAY_P99_READ]);
	vt_json_write_named_uint64(w, "avg_write_latency", disk->latency_us[BDEV_DELAY_AVG_WRITE]);
	vt_json_write_named_uint64(w, "p99_write_latency", disk->latency_us[BDEV_DELAY_P99_WRITE]);
	vt_json_write_named_string(w, "uuid", uuid);
	vt_json_write_object_end(w);
	vt_json_write_object_end(w);
}

static const struct vt_bdev_fn_table g_delay_fn_table = {
	.destruct = delay_destruct,
	.submit_request = delay_submit,
	.io_type_supported = delay_io_type_supported,
	.create_channel = delay_create_channel,
	.destroy_channel = delay_destroy_channel,
	.dump_info_json = delay_dump_info_json,
	.write_config_json = delay_write_config_json,
};

static void
delay_base_event(enum vt_bdev_event_type type, struct vt_bdev *base, void *ctx)
{
	struct delay_disk *disk = ctx;

	(void)base;
	if (type != VT_BDEV_EVENT_REMOVE || disk->removing) {
		return;
	}
	__atomic_store_n(&disk->removing, true, __ATOMIC_RELEASE);
	VT_NOTICELOG("base bdev '%s' removed: removing delay bdev '%s'\n",
		     vt_bdev_get_name(disk->base), disk->bdev.name);
	vt_bdev_unregister(&disk->bdev, NULL, NULL);
}

int
bdev_delay_create(const char *name, const char *base_name,
		  const uint64_t lat[BDEV_DELAY_NUM_LATENCIES], const struct vt_uuid *uuid,
		  struct vt_bdev **bdevp)
{
	enum bdev_delay_latency bad;
	struct delay_disk *disk;
	int rc;

	if (!vt_bdev_name_is_valid(name) || bdev_delay_check_latencies(lat, &bad) != 0) {
		return -EINVAL;
	}
	disk = calloc(1, sizeof(*disk));
	if (disk == NULL) {
		return -ENOMEM;
	}
	disk->bdev.name = vt_strdup(name);
	if (disk->bdev.name == NULL) {
		free(disk);
		return -ENOMEM;
	}
	memcpy(disk->latency_us, lat, sizeof(disk->latency_us));
	rc = vt_bdev_open(base_name, true, delay_base_event, disk, &disk->base_desc);
	if (rc != 0) {
		delay_disk_free(disk);
		return rc;
	}
	disk->base = vt_bdev_desc_get_bdev(disk->base_desc);
	rc = vt_bdev_claim(disk->base_desc, "delay");
	if (rc != 0) {
		goto err_close;
	}
	disk->bdev.product_name = "delay";
	bdev_vbdev_copy_geometry(&disk->bdev, disk->base);
	if (uuid != NULL) {
		disk->bdev.uuid = *uuid;
	}
	disk->bdev.ctxt = disk;
	disk->bdev.fn_table = &g_delay_fn_table;
	disk->bdev.module = &g_bdev_delay_module;
	rc = vt_bdev_register(&disk->bdev);
	if (rc != 0) {
		goto err_close;
	}
	VT_DEBUGLOG(bdev_delay, "created delay bdev '%s' on '%s'\n", name, base_name);
	*bdevp = &disk->bdev;
	return 0;
err_close:
	vt_bdev_close(disk->base_desc);
	delay_disk_free(disk);
	return rc;
}

int
bdev_delay_delete(struct vt_bdev *bdev, void (*cb)(void *cb_arg, int rc), void *cb_arg)
{
	struct delay_disk *disk = bdev->ctxt;

	if (bdev->module != &g_bdev_delay_module) {
		return -ENODEV;
	}
	__atomic_store_n(&disk->removing, true, __ATOMIC_RELEASE);
	vt_bdev_unregister(bdev, cb, cb_arg);
	return 0;
}

int
bdev_delay_update(struct vt_bdev *bdev, enum bdev_delay_latency which, uint64_t us)
{
	struct delay_disk *disk = bdev->ctxt;
	uint64_t lat[BDEV_DELAY_NUM_LATENCIES];
	enum bdev_delay_latency bad;

	if (bdev->module != &g_bdev_delay_module || which >= BDEV_DELAY_NUM_LATENCIES) {
		return -ENODEV;
	}
	memcpy(lat, disk->latency_us, sizeof(lat));
	lat[which] = us;
	if (bdev_delay_check_latencies(lat, &bad) != 0) {
		return -EINVAL;
	}
	__atomic_store_n(&disk->latency_us[which], us, __ATOMIC_RELAXED);
	return 0;
}
