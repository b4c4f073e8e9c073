/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * raid1 rebuild: copies the array onto a leg being rebuilt, one window at a time, on reactor 0,
 * while I/O goes on. The new leg already receives every write (it is REBUILDING and every
 * channel has a channel to it) before the copy starts. What the copy must not do is write old
 * data over a newer write: between its read from an online leg and its write to the new leg, a
 * user write to the same blocks would be lost. So each window is locked first:
 *
 * 1. publish the window and raise win_active; from then on, writes overlapping it wait on
 *    their channel (they check win_active as they start, on their own reactor);
 * 2. a sweep visits every reactor in turn and goes on once that channel has no write in
 *    flight that overlaps the window (one submitted before it saw the window);
 * 3. read the window from an online leg, write it to the new leg;
 * 4. lower win_active and sweep again, each channel resubmitting the writes it held.
 *
 * A read or write error on the new leg, or its removal, ends the rebuild (the leg fails); an
 * error on the source fails that leg and the copy retries from another online leg.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "vt/bdev.h"
#include "vt/event.h"
#include "vt/log.h"
#include "vt/util.h"

#include "lib/bdev/raid/bdev_raid.h"

struct raid_rebuild {
	struct raid_bdev *raid;
	uint8_t target;
	uint8_t source;
	uint64_t done;    /* raid blocks copied */
	uint64_t win_len; /* blocks per window */
	void *buf;
	struct iovec iov;
	struct vt_bdev_channel *src_ch, *dst_ch; /* reactor 0's */
	struct raid_sweep sweep;
	struct vt_bdev_io_wait_entry wait; /* for an I/O object after -ENOMEM */
	bool stopping;
};

static void rebuild_next(struct raid_rebuild *rb);

uint64_t
raid_rebuild_progress(const struct raid_rebuild *rb, uint8_t *target)
{
	*target = rb->target;
	return rb->done;
}

static void
rebuild_put_src(struct raid_rebuild *rb)
{
	if (rb->src_ch != NULL) {
		vt_bdev_put_io_channel(rb->src_ch);
		rb->src_ch = NULL;
	}
}

static void
rebuild_end(struct raid_rebuild *rb, bool ok)
{
	struct raid_bdev *raid = rb->raid;
	struct raid_leg *leg = &raid->legs[rb->target];
	int st = RAID_LEG_REBUILDING;

	rebuild_put_src(rb);
	if (rb->dst_ch != NULL) {
		vt_bdev_put_io_channel(rb->dst_ch);
	}
	raid->rebuild = NULL;
	if (ok && __atomic_compare_exchange_n(&leg->state, &st, RAID_LEG_ONLINE, false,
					      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		VT_NOTICELOG("raid bdev '%s': rebuild of '%s' done (%" PRIu64 " blocks)\n",
			     raid->bdev.name, leg->name, rb->done);
		if (raid->superblock) {
			raid_sb_update(raid);
		}
	} else {
		VT_ERRLOG("raid bdev '%s': rebuild of '%s' stopped at block %" PRIu64 "\n",
			  raid->bdev.name, leg->name != NULL ? leg->name : "", rb->done);
		if (!raid->deleting && raid->state == RAID_STATE_ONLINE &&
		    raid_leg_state(leg) == RAID_LEG_REBUILDING) {
			raid_leg_failed(raid, rb->target);
		}
	}
	free(rb->buf);
	free(rb);
	raid_ctl_done(raid);
}

/* An online leg to copy from, with a channel on reactor 0; false when none is left. */
static bool
rebuild_pick_source(struct raid_rebuild *rb)
{
	struct raid_bdev *raid = rb->raid;

	rebuild_put_src(rb);
	for (uint8_t i = 0; i < raid->num_legs; i++) {
		if (raid_leg_state(&raid->legs[i]) == RAID_LEG_ONLINE &&
		    raid->legs[i].desc != NULL) {
			rb->src_ch = vt_bdev_get_io_channel(raid->legs[i].desc);
			if (rb->src_ch != NULL) {
				rb->source = i;
				return true;
			}
		}
	}
	return false;
}

static bool
unlock_visit(struct raid_sweep *s, struct raid_channel *ch)
{
	(void)s;
	raid1_window_release(ch);
	return true;
}

static void
unlock_done(struct raid_sweep *s)
{
	struct raid_rebuild *rb = s->arg;

	rebuild_next(rb);
}

/* Unlocks the window: held writes go on, then the next window. */
static void
rebuild_unlock(struct raid_rebuild *rb)
{
	__atomic_store_n(&rb->raid->win_active, 0, __ATOMIC_SEQ_CST);
	memset(&rb->sweep, 0, sizeof(rb->sweep));
	rb->sweep.visit = unlock_visit;
	rb->sweep.done = unlock_done;
	rb->sweep.arg = rb;
	raid_sweep_start(rb->raid, &rb->sweep);
}

static void rebuild_copy(struct raid_rebuild *rb);
static void rebuild_copy_msg(void *arg);

static void
rebuild_write_done(struct vt_bdev_io *io, bool success, void *arg)
{
	struct raid_rebuild *rb = arg;

	(void)io;
	if (!success) {
		rb->stopping = true;
	} else {
		rb->done += rb->raid->win_len;
	}
	rebuild_unlock(rb);
}

/* Runs cb(rb) once desc's bdev has a free I/O object on ch; false when it cannot wait. */
static bool
rebuild_wait_nomem(struct raid_rebuild *rb, struct raid_leg *leg, struct vt_bdev_channel *ch,
		   void (*cb)(void *arg))
{
	rb->wait.bdev = leg->bdev;
	rb->wait.cb_fn = cb;
	rb->wait.cb_arg = rb;
	return vt_bdev_queue_io_wait(leg->bdev, ch, &rb->wait) == 0;
}

static void
rebuild_write(void *arg)
{
	struct raid_rebuild *rb = arg;
	struct raid_bdev *raid = rb->raid;
	struct raid_leg *dst = &raid->legs[rb->target];
	int rc;

	if (raid_leg_state(dst) != RAID_LEG_REBUILDING) {
		rb->stopping = true;
		rebuild_unlock(rb);
		return;
	}
	rc = vt_bdev_writev_blocks(dst->desc, rb->dst_ch, &rb->iov, 1,
				   raid->win_off + dst->data_offset, raid->win_len, 0,
				   rebuild_write_done, rb);
	if (rc == -ENOMEM && rebuild_wait_nomem(rb, dst, rb->dst_ch, rebuild_write)) {
		return;
	}
	if (rc != 0) {
		rb->stopping = true;
		rebuild_unlock(rb);
	}
}

static void
rebuild_read_done(struct vt_bdev_io *io, bool success, void *arg)
{
	struct raid_rebuild *rb = arg;

	(void)io;
	if (!success) {
		raid_leg_failed(rb->raid, rb->source);
		rebuild_copy(rb);
		return;
	}
	rebuild_write(rb);
}

/* The window is locked: read it from a source. */
static void
rebuild_copy(struct raid_rebuild *rb)
{
	struct raid_bdev *raid = rb->raid;
	struct raid_leg *src;
	int rc;

	if (raid_leg_state(&raid->legs[rb->source]) != RAID_LEG_ONLINE &&
	    !rebuild_pick_source(rb)) {
		rb->stopping = true;
		rebuild_unlock(rb);
		return;
	}
	src = &raid->legs[rb->source];
	rb->iov.iov_base = rb->buf;
	rb->iov.iov_len = raid->win_len * raid->bdev.blocklen;
	rc = vt_bdev_readv_blocks(src->desc, rb->src_ch, &rb->iov, 1,
				  raid->win_off + src->data_offset, raid->win_len,
				  rebuild_read_done, rb);
	if (rc == -ENOMEM && rebuild_wait_nomem(rb, src, rb->src_ch, rebuild_copy_msg)) {
		return;
	}
	if (rc != 0) {
		rb->stopping = true;
		rebuild_unlock(rb);
	}
}

static void
rebuild_copy_msg(void *arg)
{
	rebuild_copy(arg);
}

static bool
quiesce_visit(struct raid_sweep *s, struct raid_channel *ch)
{
	if (!raid1_window_busy(ch)) {
		return true;
	}
	ch->quiesce_sweep = s;
	return false;
}

static void
quiesce_done(struct raid_sweep *s)
{
	rebuild_copy(s->arg);
}

static void
rebuild_next(struct raid_rebuild *rb)
{
	struct raid_bdev *raid = rb->raid;
	uint64_t left = raid->bdev.blockcnt - rb->done;

	if (rb->stopping || raid->deleting || raid->state != RAID_STATE_ONLINE ||
	    raid_leg_state(&raid->legs[rb->target]) != RAID_LEG_REBUILDING) {
		rebuild_end(rb, false);
		return;
	}
	if (left == 0) {
		rebuild_end(rb, true);
		return;
	}
	raid->win_off = rb->done;
	raid->win_len = left < rb->win_len ? left : rb->win_len;
	__atomic_store_n(&raid->win_active, 1, __ATOMIC_SEQ_CST);
	memset(&rb->sweep, 0, sizeof(rb->sweep));
	rb->sweep.visit = quiesce_visit;
	rb->sweep.done = quiesce_done;
	rb->sweep.arg = rb;
	raid_sweep_start(raid, &rb->sweep);
}

int
raid_rebuild_start(struct raid_bdev *raid, uint8_t target)
{
	struct raid_rebuild *rb;
	size_t bytes = RAID_REBUILD_WINDOW_BYTES;

	if (raid->rebuild != NULL) {
		return -EBUSY;
	}
	rb = calloc(1, sizeof(*rb));
	if (rb == NULL) {
		return -ENOMEM;
	}
	rb->raid = raid;
	rb->target = target;
	rb->win_len = bytes / raid->bdev.blocklen;
	if (posix_memalign(&rb->buf, 4096, bytes) != 0) {
		free(rb);
		return -ENOMEM;
	}
	rb->dst_ch = vt_bdev_get_io_channel(raid->legs[target].desc);
	if (rb->dst_ch == NULL || !rebuild_pick_source(rb)) {
		if (rb->dst_ch != NULL) {
			vt_bdev_put_io_channel(rb->dst_ch);
		}
		free(rb->buf);
		free(rb);
		return -ENODEV;
	}
	raid->rebuild = rb;
	raid->ctl_ops++;
	VT_NOTICELOG("raid bdev '%s': rebuilding '%s' from '%s'\n", raid->bdev.name,
		     raid->legs[target].name, raid->legs[rb->source].name);
	rebuild_next(rb);
	return 0;
}
