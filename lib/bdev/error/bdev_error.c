/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Error-injection bdevs ("EE_<base>"): a passthrough over a claimed base bdev that fails, holds,
 * corrupts or NOMEMs the next N I/Os of a type when told to (bdev_error_inject_error). The fault
 * tests of other features stack one between a bdev and its user.
 *
 * The injection table is shared by every reactor: reactor 0 writes an entry's fields and then
 * publishes its count (release); a submitting reactor takes one from the count with a CAS (acquire)
 * before it reads the fields. Each reactor's channel holds its own base channel, its count of I/Os
 * in flight (for queue_depth) and the I/Os held by "pending": a reset on that channel aborts
 * them; a poller that runs every 10 ms while some are held sends them down once
 * bdev_error_resume_pending has bumped the disk's generation, and aborts them once the bdev is
 * being removed (so a removal never waits for them).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/event.h"
#include "vt/json.h"
#include "vt/log.h"
#include "vt/util.h"

#include "lib/bdev/bdev_vbdev.h"
#include "lib/bdev/error/bdev_error.h"

VT_LOG_REGISTER_COMPONENT(bdev_error)

struct vt_bdev_module g_bdev_error_module = {
	.name = "error",
	.io_ctx_size = sizeof(struct error_io_ctx),
};
VT_BDEV_MODULE_REGISTER(error, &g_bdev_error_module)

static uint32_t
error_slot(enum vt_bdev_io_type type)
{
	switch (type) {
	case VT_BDEV_IO_TYPE_READ:
		return BDEV_ERROR_SLOT_READ;
	case VT_BDEV_IO_TYPE_WRITE:
		return BDEV_ERROR_SLOT_WRITE;
	case VT_BDEV_IO_TYPE_UNMAP:
		return BDEV_ERROR_SLOT_UNMAP;
	case VT_BDEV_IO_TYPE_FLUSH:
		return BDEV_ERROR_SLOT_FLUSH;
	default:
		return BDEV_ERROR_NUM_SLOTS;
	}
}

int
bdev_error_parse_io_type(const char *s, uint32_t *mask)
{
	static const struct {
		const char *name;
		uint32_t mask;
	} types[] = {
		{ "clear", 0 },
		{ "read", 1u << BDEV_ERROR_SLOT_READ },
		{ "write", 1u << BDEV_ERROR_SLOT_WRITE },
		{ "unmap", 1u << BDEV_ERROR_SLOT_UNMAP },
		{ "flush", 1u << BDEV_ERROR_SLOT_FLUSH },
		{ "all", (1u << BDEV_ERROR_NUM_SLOTS) - 1 },
	};

	for (size_t i = 0; i < VT_COUNTOF(types); i++) {
		if (strcmp(s, types[i].name) == 0) {
			*mask = types[i].mask;
			return 0;
		}
	}
	return -EINVAL;
}

int
bdev_error_parse_error_type(const char *s, enum bdev_error_type *type)
{
	static const char *const names[] = {
		[BDEV_ERROR_FAILURE] = "failure",
		[BDEV_ERROR_PENDING] = "pending",
		[BDEV_ERROR_CORRUPT_DATA] = "corrupt_data",
		[BDEV_ERROR_NOMEM] = "nomem",
	};

	for (size_t i = 0; i < VT_COUNTOF(names); i++) {
		if (names[i] != NULL && strcmp(s, names[i]) == 0) {
			*type = (enum bdev_error_type)i;
			return 0;
		}
	}
	return -EINVAL;
}

void
bdev_error_table_set(struct bdev_error_table *t, uint32_t mask,
		     const struct bdev_error_injection *inj)
{
	for (uint32_t i = 0; i < BDEV_ERROR_NUM_SLOTS; i++) {
		struct bdev_error_injection *e = &t->slot[i];

		if (mask == 0) {
			__atomic_store_n(&e->num, 0, __ATOMIC_RELEASE);
			continue;
		}
		if (!(mask & (1u << i))) {
			continue;
		}
		__atomic_store_n(&e->num, 0, __ATOMIC_RELEASE);
		e->type = inj->type;
		e->queue_depth = inj->queue_depth;
		e->corrupt_offset = inj->corrupt_offset;
		e->corrupt_value = inj->corrupt_value;
		__atomic_store_n(&e->num, inj->num, __ATOMIC_RELEASE);
	}
}

bool
bdev_error_table_take(struct bdev_error_table *t, enum vt_bdev_io_type io_type, uint64_t in_flight,
		      struct bdev_error_injection *out)
{
	uint32_t slot = error_slot(io_type);
	struct bdev_error_injection *e;
	uint32_t num;

	if (slot == BDEV_ERROR_NUM_SLOTS) {
		return false;
	}
	e = &t->slot[slot];
	num = __atomic_load_n(&e->num, __ATOMIC_ACQUIRE);
	do {
		if (num == 0) {
			return false;
		}
		if (e->queue_depth != 0 && in_flight < e->queue_depth) {
			return false;
		}
	} while (!__atomic_compare_exchange_n(&e->num, &num, num - 1, false, __ATOMIC_ACQ_REL,
					      __ATOMIC_ACQUIRE));
	*out = *e;
	return true;
}

void
bdev_error_corrupt(struct iovec *iovs, int iovcnt, uint64_t offset, uint8_t value)
{
	for (int i = 0; i < iovcnt; i++) {
		if (offset < iovs[i].iov_len) {
			((uint8_t *)iovs[i].iov_base)[offset] ^= value;
			return;
		}
		offset -= iovs[i].iov_len;
	}
}

static void
error_io_done(struct vt_bdev_io *base_io, bool success, void *cb_arg)
{
	struct vt_bdev_io *io = cb_arg;
	struct error_io_ctx *ctx = (struct error_io_ctx *)io->driver_ctx;

	ctx->ch->in_flight--;
	if (success && ctx->corrupt_value != 0) {
		bdev_error_corrupt(io->iovs, io->iovcnt, ctx->corrupt_offset, ctx->corrupt_value);
	}
	bdev_vbdev_complete(io, base_io);
}

static void
error_abort_pending(struct error_channel *ch)
{
	struct error_io_ctx *ctx;

	while ((ctx = TAILQ_FIRST(&ch->pending)) != NULL) {
		TAILQ_REMOVE(&ch->pending, ctx, link);
		vt_bdev_io_complete(ctx->io, VT_BDEV_IO_STATUS_ABORTED);
	}
}

static void error_pass(struct error_channel *ch, struct vt_bdev_io *io);

static int
error_pending_poll(void *arg)
{
	struct error_channel *ch = arg;
	struct error_disk *disk = ch->disk;
	bool abort = __atomic_load_n(&disk->removing, __ATOMIC_ACQUIRE);
	uint32_t gen = __atomic_load_n(&disk->resume_gen, __ATOMIC_ACQUIRE);
	struct error_io_ctx *ctx, *tmp;
	int busy = VT_POLLER_IDLE;

	for (ctx = TAILQ_FIRST(&ch->pending); ctx != NULL; ctx = tmp) {
		tmp = TAILQ_NEXT(ctx, link);
		if (!abort && ctx->resume_gen == gen) {
			continue;
		}
		TAILQ_REMOVE(&ch->pending, ctx, link);
		busy = VT_POLLER_BUSY;
		if (abort) {
			vt_bdev_io_complete(ctx->io, VT_BDEV_IO_STATUS_ABORTED);
		} else {
			error_pass(ch, ctx->io);
		}
	}
	if (TAILQ_EMPTY(&ch->pending)) {
		vt_poller_unregister(&ch->pending_poller);
	}
	return busy;
}

static void
error_hold(struct error_channel *ch, struct error_io_ctx *ctx)
{
	ctx->resume_gen = __atomic_load_n(&ch->disk->resume_gen, __ATOMIC_ACQUIRE);
	TAILQ_INSERT_TAIL(&ch->pending, ctx, link);
	if (ch->pending_poller == NULL) {
		ch->pending_poller =
			vt_poller_register(error_pending_poll, ch, 10000, "bdev_error_pending");
		if (ch->pending_poller == NULL) {
			VT_ERRLOG("error bdev '%s': no poller, a pending I/O is failed instead\n",
				  ch->disk->bdev.name);
			TAILQ_REMOVE(&ch->pending, ctx, link);
			vt_bdev_io_complete_errno(ctx->io, EIO);
		}
	}
}

static void
error_pass(struct error_channel *ch, struct vt_bdev_io *io)
{
	int rc;

	ch->in_flight++;
	rc = bdev_vbdev_submit(ch->disk->base_desc, ch->base_ch, io, 0, error_io_done, io);
	if (rc != 0) {
		ch->in_flight--;
		bdev_vbdev_submit_failed(io, rc);
	}
}

static void
error_submit(void *module_ch, struct vt_bdev_io *io)
{
	struct error_channel *ch = module_ch;
	struct error_io_ctx *ctx = (struct error_io_ctx *)io->driver_ctx;
	struct bdev_error_injection inj;

	memset(ctx, 0, sizeof(*ctx));
	ctx->io = io;
	ctx->ch = ch;
	if (io->type == VT_BDEV_IO_TYPE_RESET) {
		error_abort_pending(ch);
	}
	/* in_flight counts this I/O too: queue_depth 1 is "always". */
	if (!bdev_error_table_take(&ch->disk->table, io->type, ch->in_flight + 1, &inj)) {
		error_pass(ch, io);
		return;
	}
	switch (inj.type) {
	case BDEV_ERROR_FAILURE:
		vt_bdev_io_complete_errno(io, EIO);
		return;
	case BDEV_ERROR_NOMEM:
		vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_NOMEM);
		return;
	case BDEV_ERROR_PENDING:
		error_hold(ch, ctx);
		return;
	case BDEV_ERROR_CORRUPT_DATA:
		if (io->type == VT_BDEV_IO_TYPE_WRITE) {
			bdev_error_corrupt(io->iovs, io->iovcnt, inj.corrupt_offset,
					   inj.corrupt_value);
		} else if (io->type == VT_BDEV_IO_TYPE_READ) {
			ctx->corrupt_offset = inj.corrupt_offset;
			ctx->corrupt_value = inj.corrupt_value;
		}
		error_pass(ch, io);
		return;
	}
}

static bool
error_io_type_supported(void *ctx, enum vt_bdev_io_type type)
{
	struct error_disk *disk = ctx;

	return bdev_vbdev_io_type_supported(disk->base, type);
}

static void *
error_create_channel(void *ctx)
{
	struct error_disk *disk = ctx;
	struct error_channel *ch = calloc(1, sizeof(*ch));

	if (ch == NULL) {
		return NULL;
	}
	ch->disk = disk;
	TAILQ_INIT(&ch->pending);
	ch->base_ch = vt_bdev_get_io_channel(disk->base_desc);
	if (ch->base_ch == NULL) {
		free(ch);
		return NULL;
	}
	return ch;
}

static void
error_destroy_channel(void *ctx, void *module_ch)
{
	struct error_channel *ch = module_ch;

	(void)ctx;
	/* The layer destroys a channel without I/O in flight; abort anything left anyway. */
	error_abort_pending(ch);
	vt_poller_unregister(&ch->pending_poller);
	vt_bdev_put_io_channel(ch->base_ch);
	free(ch);
}

static void
error_disk_free(struct error_disk *disk)
{
	free(disk->bdev.name);
	free(disk);
}

static int
error_destruct(void *ctx)
{
	struct error_disk *disk = ctx;

	vt_bdev_close(disk->base_desc);
	VT_DEBUGLOG(bdev_error, "error bdev '%s' destroyed\n", disk->bdev.name);
	error_disk_free(disk);
	return 0;
}

static void
error_dump_info_json(void *ctx, struct vt_json_write_ctx *w)
{
	struct error_disk *disk = ctx;

	vt_json_write_named_object_begin(w, "error_disk");
	vt_json_write_named_string(w, "base_bdev", vt_bdev_get_name(disk->base));
	vt_json_write_object_end(w);
}

static void
error_write_config_json(struct vt_bdev *bdev, struct vt_json_write_ctx *w)
{
	struct error_disk *disk = bdev->ctxt;
	char uuid[VT_UUID_STRING_LEN];

	vt_uuid_fmt(uuid, sizeof(uuid), &bdev->uuid);
	vt_json_write_object_begin(w);
	vt_json_write_named_string(w, "method", "bdev_error_create");
	vt_json_write_named_object_begin(w, "params");
	vt_json_write_named_string(w, "base_name", vt_bdev_get_name(disk->base));
	vt_json_write_named_string(w, "uuid", uuid);
	vt_json_write_object_end(w);
	vt_json_write_object_end(w);
}

static const struct vt_bdev_fn_table g_error_fn_table = {
	.destruct = error_destruct,
	.submit_request = error_submit,
	.io_type_supported = error_io_type_supported,
	.create_channel = error_create_channel,
	.destroy_channel = error_destroy_channel,
	.dump_info_json = error_dump_info_json,
	.write_config_json = error_write_config_json,
};

/* The base goes: this bdev goes with it (its users see their own REMOVE). */
static void
error_base_event(enum vt_bdev_event_type type, struct vt_bdev *base, void *ctx)
{
	struct error_disk *disk = ctx;

	(void)base;
	if (type != VT_BDEV_EVENT_REMOVE || disk->removing) {
		return;
	}
	__atomic_store_n(&disk->removing, true, __ATOMIC_RELEASE);
	VT_NOTICELOG("base bdev '%s' removed: removing error bdev '%s'\n",
		     vt_bdev_get_name(disk->base), disk->bdev.name);
	vt_bdev_unregister(&disk->bdev, NULL, NULL);
}

int
bdev_error_create(const char *base_name, const struct vt_uuid *uuid, struct vt_bdev **bdevp)
{
	struct error_disk *disk;
	struct vt_bdev *base;
	size_t len;
	int rc;

	disk = calloc(1, sizeof(*disk));
	if (disk == NULL) {
		return -ENOMEM;
	}
	rc = vt_bdev_open(base_name, true, error_base_event, disk, &disk->base_desc);
	if (rc != 0) {
		free(disk);
		return rc;
	}
	base = vt_bdev_desc_get_bdev(disk->base_desc);
	disk->base = base;
	len = strlen(vt_bdev_get_name(base)) + sizeof("EE_");
	disk->bdev.name = malloc(len);
	if (disk->bdev.name == NULL) {
		rc = -ENOMEM;
		goto err_close;
	}
	snprintf(disk->bdev.name, len, "EE_%s", vt_bdev_get_name(base));
	rc = vt_bdev_claim(disk->base_desc, "error");
	if (rc != 0) {
		goto err_close;
	}
	disk->bdev.product_name = "Error Injection Disk";
	bdev_vbdev_copy_geometry(&disk->bdev, base);
	if (uuid != NULL) {
		disk->bdev.uuid = *uuid;
	}
	disk->bdev.ctxt = disk;
	disk->bdev.fn_table = &g_error_fn_table;
	disk->bdev.module = &g_bdev_error_module;
	rc = vt_bdev_register(&disk->bdev);
	if (rc != 0) {
		goto err_close;
	}
	VT_DEBUGLOG(bdev_error, "created error bdev '%s' on '%s'\n", disk->bdev.name, base_name);
	*bdevp = &disk->bdev;
	return 0;
err_close:
	vt_bdev_close(disk->base_desc);
	error_disk_free(disk);
	return rc;
}

int
bdev_error_delete(struct vt_bdev *bdev, void (*cb)(void *cb_arg, int rc), void *cb_arg)
{
	struct error_disk *disk = bdev->ctxt;

	if (bdev->module != &g_bdev_error_module) {
		return -ENODEV;
	}
	__atomic_store_n(&disk->removing, true, __ATOMIC_RELEASE);
	vt_bdev_unregister(bdev, cb, cb_arg);
	return 0;
}

int
bdev_error_inject(struct vt_bdev *bdev, uint32_t io_mask, const struct bdev_error_injection *inj)
{
	struct error_disk *disk = bdev->ctxt;

	if (bdev->module != &g_bdev_error_module) {
		return -ENODEV;
	}
	bdev_error_table_set(&disk->table, io_mask, inj);
	return 0;
}

void
bdev_error_resume_pending(struct vt_bdev *bdev)
{
	struct error_disk *disk = bdev->ctxt;

	__atomic_add_fetch(&disk->resume_gen, 1, __ATOMIC_ACQ_REL);
}
