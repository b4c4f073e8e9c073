/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The raid bdev's data path, on the submitting reactor.
 *
 * raid0 and concat: an I/O is cut at strip (raid0) or leg (concat) boundaries into pieces sent
 * one after another; a piece's data is the parent's iovec array narrowed in place (its first and
 * last entries saved and restored when the piece completes), so nothing is allocated.
 *
 * raid1: a write goes to every leg that is online or being rebuilt, and succeeds when an online
 * leg took it; a leg that fails it leaves the array. A read goes to the online leg with the fewest
 * reads in flight on this channel (round-robin among equals) and is retried on another leg when it
 * fails. While a rebuild copies a window, writes overlapping the window wait on their channel. A
 * write overlapping a write of the same channel still in flight waits for it: each leg may apply
 * two writes in flight in either order, so both in flight at once could leave legs that differ.
 */
#include <errno.h>
#include <string.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/log.h"

#include "lib/bdev/bdev_vbdev.h"
#include "lib/bdev/raid/bdev_raid.h"

static uint8_t
leg_of_io(const struct raid_bdev *raid, const struct vt_bdev_io *base_io)
{
	for (uint8_t i = 0; i < raid->num_legs; i++) {
		if (raid->legs[i].bdev == base_io->bdev) {
			return i;
		}
	}
	return 0;
}

static void
ctx_set_error(struct raid_io_ctx *ctx, const struct vt_bdev_io *base_io)
{
	if (ctx->err == 0) {
		ctx->err = vt_bdev_io_get_errno(base_io);
		ctx->status = vt_bdev_io_get_status(base_io);
	}
}

static void
ctx_complete(struct raid_io_ctx *ctx)
{
	if (ctx->err == 0) {
		vt_bdev_io_complete(ctx->io, VT_BDEV_IO_STATUS_SUCCESS);
	} else if (ctx->status == VT_BDEV_IO_STATUS_FAILED || ctx->status == 0) {
		vt_bdev_io_complete_errno(ctx->io, ctx->err);
	} else {
		vt_bdev_io_complete(ctx->io, ctx->status);
	}
}

/* ---- raid0 / concat: pieces ---------------------------------------------------------------- */

static void piece_submit(void *arg);

static void
piece_done(struct vt_bdev_io *base_io, bool success, void *cb_arg)
{
	struct raid_io_ctx *ctx = cb_arg;
	struct vt_bdev_io *io = ctx->io;
	struct raid_bdev *raid = ctx->ch->raid;
	uint64_t leg_off, len;
	uint8_t leg;

	if (ctx->cut_cnt > 0) {
		raid_iov_restore(io->iovs, ctx->cut_idx, ctx->cut_cnt, &ctx->cut_first,
				 &ctx->cut_last);
		ctx->cut_cnt = 0;
	}
	raid_leg_io_done(ctx->ch, ctx->leg);
	if (!success) {
		ctx_set_error(ctx, base_io);
		ctx_complete(ctx);
		return;
	}
	len = raid_map(raid->level, raid->strip_shift, raid->legs, raid->num_legs, ctx->next_off,
		       io->offset_blocks + io->num_blocks - ctx->next_off, &leg, &leg_off);
	ctx->next_off += len;
	if (ctx->next_off >= io->offset_blocks + io->num_blocks) {
		ctx_complete(ctx);
		return;
	}
	piece_submit(ctx);
}

static int
piece_io(struct raid_io_ctx *ctx, struct raid_leg *leg, struct vt_bdev_channel *bch, uint64_t off,
	 uint64_t len)
{
	struct vt_bdev_io *io = ctx->io;
	struct iovec *iov = io->iovs + ctx->cut_idx;

	switch (io->type) {
	case VT_BDEV_IO_TYPE_READ:
		return vt_bdev_readv_blocks(leg->desc, bch, iov, ctx->cut_cnt, off, len, piece_done,
					    ctx);
	case VT_BDEV_IO_TYPE_WRITE:
		return vt_bdev_writev_blocks(leg->desc, bch, iov, ctx->cut_cnt, off, len, io->flags,
					     piece_done, ctx);
	case VT_BDEV_IO_TYPE_UNMAP:
		return vt_bdev_unmap_blocks(leg->desc, bch, off, len, piece_done, ctx);
	case VT_BDEV_IO_TYPE_WRITE_ZEROES:
		return vt_bdev_write_zeroes_blocks(leg->desc, bch, off, len, piece_done, ctx);
	default:
		return -ENOTSUP;
	}
}

static void
piece_submit(void *arg)
{
	struct raid_io_ctx *ctx = arg;
	struct vt_bdev_io *io = ctx->io;
	struct raid_channel *ch = ctx->ch;
	struct raid_bdev *raid = ch->raid;
	uint64_t leg_off, len, byte_off;
	uint8_t l;
	int rc;

	len = raid_map(raid->level, raid->strip_shift, raid->legs, raid->num_legs, ctx->next_off,
		       io->offset_blocks + io->num_blocks - ctx->next_off, &l, &leg_off);
	if (ch->base_ch[l] == NULL || raid_leg_state(&raid->legs[l]) != RAID_LEG_ONLINE) {
		ctx->err = EIO;
		ctx_complete(ctx);
		return;
	}
	ctx->leg = l;
	ctx->cut_cnt = 0;
	if (io->type == VT_BDEV_IO_TYPE_READ || io->type == VT_BDEV_IO_TYPE_WRITE) {
		byte_off = (ctx->next_off - io->offset_blocks) * raid->bdev.blocklen;
		raid_iov_cut(io->iovs, io->iovcnt, byte_off, len * raid->bdev.blocklen,
			     &ctx->cut_idx, &ctx->cut_cnt, &ctx->cut_first, &ctx->cut_last);
	}
	rc = piece_io(ctx, &raid->legs[l], ch->base_ch[l], leg_off + raid->legs[l].data_offset,
		      len);
	if (rc == 0) {
		ch->leg_inflight[l]++;
		return;
	}
	if (ctx->cut_cnt > 0) {
		raid_iov_restore(io->iovs, ctx->cut_idx, ctx->cut_cnt, &ctx->cut_first,
				 &ctx->cut_last);
		ctx->cut_cnt = 0;
	}
	if (rc == -ENOMEM && ctx->next_off == io->offset_blocks) {
		vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_NOMEM);
		return;
	}
	if (rc == -ENOMEM) {
		ctx->wait.bdev = raid->legs[l].bdev;
		ctx->wait.cb_fn = piece_submit;
		ctx->wait.cb_arg = ctx;
		if (vt_bdev_queue_io_wait(raid->legs[l].bdev, ch->base_ch[l], &ctx->wait) == 0) {
			return;
		}
	}
	ctx->err = -rc;
	ctx_complete(ctx);
}

/* ---- fan-out to every leg (raid1 writes, flush) ------------------------------------------- */

static void fanout_submit(void *arg);
static void raid1_write(struct raid_io_ctx *ctx);

/* The writes waiting on list (for the window or an overlapping write) go on in their order. */
static void
raid1_resubmit(struct raid_io_list *list)
{
	struct raid_io_list held = TAILQ_HEAD_INITIALIZER(held);
	struct raid_io_ctx *ctx;

	TAILQ_CONCAT(&held, list, link);
	while ((ctx = TAILQ_FIRST(&held)) != NULL) {
		TAILQ_REMOVE(&held, ctx, link);
		raid1_write(ctx);
	}
}

static void
raid1_write_finish(struct raid_io_ctx *ctx)
{
	struct raid_channel *ch = ctx->ch;

	if (ctx->in_writes) {
		TAILQ_REMOVE(&ch->writes, ctx, link);
		ctx->in_writes = false;
		if (!TAILQ_EMPTY(&ch->ovl_wait)) {
			raid1_resubmit(&ch->ovl_wait);
		}
		if (ch->quiesce_sweep != NULL && !raid1_window_busy(ch)) {
			struct raid_sweep *s = ch->quiesce_sweep;

			ch->quiesce_sweep = NULL;
			raid_sweep_resume(s);
		}
	}
	/* raid1: one online leg that holds the data is enough; raid0 and concat need them all. */
	if (ch->raid->level == RAID_LEVEL_1) {
		if (ctx->ok_online > 0) {
			ctx->err = 0;
		} else if (ctx->err == 0) {
			ctx->err = EIO;
		}
	}
	ctx_complete(ctx);
}

static void
fanout_done(struct vt_bdev_io *base_io, bool success, void *cb_arg)
{
	struct raid_io_ctx *ctx = cb_arg;
	struct raid_bdev *raid = ctx->ch->raid;
	uint8_t l = leg_of_io(raid, base_io);

	raid_leg_io_done(ctx->ch, l);
	if (success) {
		ctx->ok_online += raid_leg_state(&raid->legs[l]) == RAID_LEG_ONLINE;
	} else {
		ctx_set_error(ctx, base_io);
		if (raid->level == RAID_LEVEL_1 &&
		    vt_bdev_io_get_status(base_io) == VT_BDEV_IO_STATUS_FAILED) {
			raid_leg_failed(raid, l);
		}
	}
	if (--ctx->pending == 0 && ctx->to_submit == 0) {
		raid1_write_finish(ctx);
	}
}

static int
fanout_one(struct raid_io_ctx *ctx, uint8_t l)
{
	struct raid_bdev *raid = ctx->ch->raid;
	struct raid_leg *leg = &raid->legs[l];
	struct vt_bdev_channel *bch = ctx->ch->base_ch[l];

	if (ctx->io->type == VT_BDEV_IO_TYPE_FLUSH) {
		return vt_bdev_flush_blocks(leg->desc, bch, leg->data_offset, leg->data_size,
					    fanout_done, ctx);
	}
	return bdev_vbdev_submit(leg->desc, bch, ctx->io, leg->data_offset, fanout_done, ctx);
}

static void
fanout_submit(void *arg)
{
	struct raid_io_ctx *ctx = arg;
	struct raid_channel *ch = ctx->ch;
	struct raid_bdev *raid = ch->raid;
	int rc, st;

	while (ctx->to_submit != 0) {
		uint8_t l = (uint8_t)__builtin_ctz(ctx->to_submit);

		st = raid_leg_state(&raid->legs[l]);
		if (ch->base_ch[l] == NULL ||
		    (st != RAID_LEG_ONLINE && st != RAID_LEG_REBUILDING)) {
			ctx->to_submit &= ~(1u << l);
			continue;
		}
		rc = fanout_one(ctx, l);
		if (rc == -ENOMEM) {
			ctx->wait.bdev = raid->legs[l].bdev;
			ctx->wait.cb_fn = fanout_submit;
			ctx->wait.cb_arg = ctx;
			if (vt_bdev_queue_io_wait(raid->legs[l].bdev, ch->base_ch[l], &ctx->wait) ==
			    0) {
				return;
			}
		}
		ctx->to_submit &= ~(1u << l);
		if (rc != 0) {
			if (ctx->err == 0) {
				ctx->err = -rc;
			}
			continue;
		}
		ch->leg_inflight[l]++;
		ctx->pending++;
	}
	if (ctx->pending == 0) {
		raid1_write_finish(ctx);
	}
}

static void
fanout_start(struct raid_io_ctx *ctx)
{
	ctx->to_submit =
		ctx->ch->raid->num_legs >= 32 ? UINT32_MAX : (1u << ctx->ch->raid->num_legs) - 1;
	/* Holds the I/O open until every leg is submitted. */
	ctx->pending++;
	fanout_submit(ctx);
	if (--ctx->pending == 0 && ctx->to_submit == 0) {
		raid1_write_finish(ctx);
	}
}

/* ---- raid1 window ----------------------------------------------------------------------------- */

static bool
overlaps_window(const struct raid_bdev *raid, const struct vt_bdev_io *io)
{
	return io->offset_blocks < raid->win_off + raid->win_len &&
	       raid->win_off < io->offset_blocks + io->num_blocks;
}

static bool
ios_overlap(const struct vt_bdev_io *a, const struct vt_bdev_io *b)
{
	return a->offset_blocks < b->offset_blocks + b->num_blocks &&
	       b->offset_blocks < a->offset_blocks + a->num_blocks;
}

/*
 * Whether a write of this channel to some of the same blocks is in flight or waits before it.
 * Two overlapping writes in flight at once could reach the legs in different orders (each leg
 * is free to complete them in any order), leaving legs that differ: the later one waits.
 */
static bool
raid1_write_overlaps(const struct raid_channel *ch, const struct raid_io_ctx *ctx)
{
	const struct raid_io_ctx *o;

	TAILQ_FOREACH (o, &ch->writes, link) {
		if (ios_overlap(o->io, ctx->io)) {
			return true;
		}
	}
	TAILQ_FOREACH (o, &ch->ovl_wait, link) {
		if (ios_overlap(o->io, ctx->io)) {
			return true;
		}
	}
	return false;
}

static void
raid1_write(struct raid_io_ctx *ctx)
{
	struct raid_channel *ch = ctx->ch;
	struct raid_bdev *raid = ch->raid;

	if (__atomic_load_n(&raid->win_active, __ATOMIC_SEQ_CST) &&
	    overlaps_window(raid, ctx->io)) {
		TAILQ_INSERT_TAIL(&ch->win_wait, ctx, link);
		return;
	}
	if (raid1_write_overlaps(ch, ctx)) {
		TAILQ_INSERT_TAIL(&ch->ovl_wait, ctx, link);
		return;
	}
	TAILQ_INSERT_TAIL(&ch->writes, ctx, link);
	ctx->in_writes = true;
	fanout_start(ctx);
}

bool
raid1_window_busy(struct raid_channel *ch)
{
	struct raid_bdev *raid = ch->raid;
	struct raid_io_ctx *ctx;

	if (!__atomic_load_n(&raid->win_active, __ATOMIC_SEQ_CST)) {
		return false;
	}
	TAILQ_FOREACH (ctx, &ch->writes, link) {
		if (overlaps_window(raid, ctx->io)) {
			return true;
		}
	}
	return false;
}

void
raid1_window_release(struct raid_channel *ch)
{
	raid1_resubmit(&ch->win_wait);
}

/* ---- raid1 reads --------------------------------------------------------------------------- */

static void raid1_read(struct raid_io_ctx *ctx);

static void
raid1_read_done(struct vt_bdev_io *base_io, bool success, void *cb_arg)
{
	struct raid_io_ctx *ctx = cb_arg;
	struct raid_channel *ch = ctx->ch;
	uint8_t l = ctx->leg;

	ch->leg_reads[l]--;
	raid_leg_io_done(ch, l);
	if (success) {
		ctx->err = 0;
		ctx_complete(ctx);
		return;
	}
	ctx_set_error(ctx, base_io);
	if (vt_bdev_io_get_status(base_io) == VT_BDEV_IO_STATUS_FAILED) {
		raid_leg_failed(ch->raid, l);
	}
	raid1_read(ctx);
}

static uint32_t
raid1_readable(const struct raid_channel *ch)
{
	const struct raid_bdev *raid = ch->raid;
	uint32_t mask = 0;

	for (uint8_t i = 0; i < raid->num_legs; i++) {
		if (ch->base_ch[i] != NULL && raid_leg_state(&raid->legs[i]) == RAID_LEG_ONLINE) {
			mask |= 1u << i;
		}
	}
	return mask;
}

static void
raid1_read(struct raid_io_ctx *ctx)
{
	struct raid_channel *ch = ctx->ch;
	struct raid_bdev *raid = ch->raid;
	int leg, rc;

	for (;;) {
		leg = raid1_pick_read_leg(ch->leg_reads, raid1_readable(ch) & ~ctx->tried,
					  raid->num_legs, &ch->rr);
		if (leg < 0) {
			if (ctx->err == 0) {
				ctx->err = EIO;
			}
			ctx_complete(ctx);
			return;
		}
		ctx->tried |= 1u << leg;
		ctx->leg = (uint8_t)leg;
		rc = bdev_vbdev_submit(raid->legs[leg].desc, ch->base_ch[leg], ctx->io,
				       raid->legs[leg].data_offset, raid1_read_done, ctx);
		if (rc == 0) {
			ch->leg_reads[leg]++;
			ch->leg_inflight[leg]++;
			return;
		}
		if (rc == -ENOMEM) {
			vt_bdev_io_complete(ctx->io, VT_BDEV_IO_STATUS_NOMEM);
			return;
		}
		ctx->err = -rc;
	}
}

/* ---- entry ---------------------------------------------------------------------------------- */

void
raid_submit_request(void *module_ch, struct vt_bdev_io *io)
{
	struct raid_channel *ch = module_ch;
	struct raid_io_ctx *ctx = (struct raid_io_ctx *)io->driver_ctx;

	memset(ctx, 0, offsetof(struct raid_io_ctx, link));
	ctx->io = io;
	ctx->ch = ch;
	ctx->next_off = io->offset_blocks;
	switch (io->type) {
	case VT_BDEV_IO_TYPE_RESET:
		vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_SUCCESS);
		return;
	case VT_BDEV_IO_TYPE_FLUSH:
		fanout_start(ctx);
		return;
	case VT_BDEV_IO_TYPE_READ:
		if (ch->raid->level == RAID_LEVEL_1) {
			raid1_read(ctx);
			return;
		}
		break;
	case VT_BDEV_IO_TYPE_WRITE:
	case VT_BDEV_IO_TYPE_UNMAP:
	case VT_BDEV_IO_TYPE_WRITE_ZEROES:
		if (ch->raid->level == RAID_LEVEL_1) {
			raid1_write(ctx);
			return;
		}
		break;
	default:
		vt_bdev_io_complete_errno(io, ENOTSUP);
		return;
	}
	piece_submit(ctx);
}

bool
raid_io_type_supported(void *c, enum vt_bdev_io_type type)
{
	struct raid_bdev *raid = c;

	switch (type) {
	case VT_BDEV_IO_TYPE_READ:
	case VT_BDEV_IO_TYPE_WRITE:
	case VT_BDEV_IO_TYPE_FLUSH:
	case VT_BDEV_IO_TYPE_RESET:
		return true;
	case VT_BDEV_IO_TYPE_UNMAP:
	case VT_BDEV_IO_TYPE_WRITE_ZEROES:
		for (uint8_t i = 0; i < raid->num_legs; i++) {
			if (raid->legs[i].bdev != NULL &&
			    !vt_bdev_io_type_supported(raid->legs[i].bdev, type)) {
				return false;
			}
		}
		return true;
	default:
		return false;
	}
}
