/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * LBA range locks: what makes COMPARE_AND_WRITE, OR_WRITE and WRITE_ATOMIC atomic against every
 * WRITE, WRITE_ZEROES, UNMAP and range-locking I/O to overlapping blocks, whichever channel they
 * come through. A WRITE_ATOMIC range also holds off READ and COMPARE (and drains those already
 * running), so that no read sees part of it.
 *
 * A bdev keeps a short list of locked ranges under a spinlock, and an atomic count of them:
 * while the count is zero (nearly always) writes never take the lock. Locking a range:
 *
 * 1. on the locking I/O's reactor, under the spinlock: if an overlapping range is locked,
 *    mark this reactor as a waiter of that range and queue the I/O on the channel; otherwise
 *    insert the range (count + 1);
 * 2. sweep: visit every reactor in turn with a message; each counts the overlapping writes its
 *    channel already has running (submitted before it saw the range) and, if there are any,
 *    passes the sweep on only when the last of them completes;
 * 3. back on the owner, the range is held: compare then write, read-OR then write, or write.
 *
 * A write that overlaps a locked range waits on its own channel's lock_wait_q and marks its
 * reactor on the range. Unlocking sends each marked reactor a message that retries its waiters;
 * the channel's retry poller is the backstop when a message cannot be sent.
 *
 * Why the sweep sees every earlier write: a reactor checks the count and submits in one go, and
 * the sweep message reaches it after the count was raised, so a write either saw the range or was
 * already running when the message arrived.
 */
#include <assert.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/event.h"
#include "vt/log.h"

#include "lib/bdev/bdev_internal.h"

static void range_sweep_msg(void *arg);

static void
range_queue_wait(struct bdev_io_internal *bio)
{
	struct vt_bdev_channel *ch = bio->ch;

	bio->state = BIO_LOCK_WAIT;
	TAILQ_INSERT_TAIL(&ch->lock_wait_q, bio, link);
	bdev_channel_arm_retry(ch);
}

/* Whether an I/O of user type utype must wait for (and be drained by) range r. */
static inline bool
range_holds_off(const struct bdev_range *r, uint8_t utype)
{
	uint8_t f = g_bdev_io_flags[utype];

	return (f & BDEV_IOF_LOCKED) || ((f & BDEV_IOF_READS) && r->excl_reads);
}

/*
 * Under range_lock: marks the first range overlapping [off, off + num) that holds off utype as
 * waited for. A range-locking I/O (BDEV_IOF_RANGE) conflicts with every overlapping range.
 */
static bool
range_conflict_locked(struct bdev_internal *bi, uint64_t off, uint64_t num, uint32_t reactor,
		      uint8_t utype)
{
	bool locker = g_bdev_io_flags[utype] & BDEV_IOF_RANGE;
	struct bdev_range *r;

	TAILQ_FOREACH (r, &bi->ranges, link) {
		if (bdev_ranges_overlap(r->offset, r->num, off, num) &&
		    (locker || range_holds_off(r, utype))) {
			r->waiters |= 1ull << reactor;
			return true;
		}
	}
	return false;
}

bool
bdev_range_wait(struct bdev_io_internal *bio)
{
	struct vt_bdev_channel *ch = bio->ch;
	struct bdev_internal *bi = ch->bi;
	bool conflict;

	pthread_spin_lock(&bi->range_lock);
	conflict = range_conflict_locked(bi, bio->io.offset_blocks, bio->io.num_blocks, ch->reactor,
					 bio->utype);
	pthread_spin_unlock(&bi->range_lock);
	if (conflict) {
		range_queue_wait(bio);
	}
	return conflict;
}

static void
range_send_retry(void *arg)
{
	struct bdev_range *r = arg;

	if (vt_send_msg(r->retry_idx, r->retry_fn, r) != 0) {
		vt_defer(&r->retry, range_send_retry, r);
	}
}

/* A full ring only delays the sweep: the send is retried on the next iteration. */
static void
range_send(struct bdev_range *r, uint32_t idx, vt_msg_fn fn)
{
	if (vt_send_msg(idx, fn, r) == 0) {
		return;
	}
	r->retry_idx = idx;
	r->retry_fn = fn;
	vt_defer(&r->retry, range_send_retry, r);
}

static void
range_locked_msg(void *arg)
{
	struct bdev_range *r = arg;

	bdev_range_locked(r->bio);
}

static void
range_sweep_next(struct bdev_range *r)
{
	if (++r->sweep < vt_reactor_count()) {
		range_send(r, r->sweep, range_sweep_msg);
	} else {
		range_send(r, r->owner, range_locked_msg);
	}
}

/* Running I/O of ch that r holds off and overlaps: it started before this reactor saw r. */
static uint32_t
range_count_running(struct vt_bdev_channel *ch, const struct bdev_range *r)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < ch->pool_used; i++) {
		const struct bdev_io_internal *b = &ch->pool[i];

		if ((b->state == BIO_MODULE || b->state == BIO_NOMEM) &&
		    range_holds_off(r, b->utype) &&
		    bdev_ranges_overlap(r->offset, r->num, b->io.offset_blocks, b->io.num_blocks)) {
			n++;
		}
	}
	return n;
}

static void
range_sweep_msg(void *arg)
{
	struct bdev_range *r = arg;
	struct vt_bdev_channel *ch = r->bi->channels[r->sweep];
	uint32_t n;

	assert(vt_reactor_current() == r->sweep);
	n = ch != NULL ? range_count_running(ch, r) : 0;
	if (n != 0) {
		r->drain_count = n;
		TAILQ_INSERT_TAIL(&ch->lock_drains, r, drain_link);
		return;
	}
	range_sweep_next(r);
}

void
bdev_range_drain_io_done(struct vt_bdev_channel *ch, struct bdev_io_internal *bio)
{
	struct bdev_range *r, *next;

	if (!(g_bdev_io_flags[bio->utype] & (BDEV_IOF_LOCKED | BDEV_IOF_READS))) {
		return;
	}
	for (r = TAILQ_FIRST(&ch->lock_drains); r != NULL; r = next) {
		next = TAILQ_NEXT(r, drain_link);
		if (!range_holds_off(r, bio->utype) ||
		    !bdev_ranges_overlap(r->offset, r->num, bio->io.offset_blocks,
					 bio->io.num_blocks)) {
			continue;
		}
		if (--r->drain_count == 0) {
			TAILQ_REMOVE(&ch->lock_drains, r, drain_link);
			range_sweep_next(r);
		}
	}
}

void
bdev_range_lock(struct bdev_io_internal *bio)
{
	struct vt_bdev_channel *ch = bio->ch;
	struct bdev_internal *bi = ch->bi;
	struct bdev_range *r = &bio->range;
	bool conflict;

	r->offset = bio->io.offset_blocks;
	r->num = bio->io.num_blocks;
	r->waiters = 0;
	r->owner = ch->reactor;
	r->excl_reads = bio->utype == VT_BDEV_IO_TYPE_WRITE_ATOMIC;
	pthread_spin_lock(&bi->range_lock);
	conflict = range_conflict_locked(bi, r->offset, r->num, ch->reactor, bio->utype);
	if (!conflict) {
		TAILQ_INSERT_TAIL(&bi->ranges, r, link);
		atomic_fetch_add_explicit(&bi->range_count, 1, memory_order_release);
	}
	pthread_spin_unlock(&bi->range_lock);
	if (conflict) {
		range_queue_wait(bio);
		return;
	}
	bio->range_held = true;
	bio->state = BIO_LOCKING;
	r->sweep = 0;
	range_send(r, 0, range_sweep_msg);
}

static void
range_notify_msg(void *arg)
{
	struct bdev_internal *bi = arg;
	uint32_t reactor = vt_reactor_current();
	struct vt_bdev_channel *ch = reactor < VT_MAX_REACTORS ? bi->channels[reactor] : NULL;

	if (ch != NULL && !TAILQ_EMPTY(&ch->lock_wait_q)) {
		bdev_channel_queue_lock_retry(ch);
	}
	bdev_unref(bi);
}

void
bdev_range_unlock(struct bdev_io_internal *bio)
{
	struct vt_bdev_channel *ch = bio->ch;
	struct bdev_internal *bi = ch->bi;
	struct bdev_range *r = &bio->range;
	uint64_t waiters;
	uint32_t i;

	pthread_spin_lock(&bi->range_lock);
	TAILQ_REMOVE(&bi->ranges, r, link);
	atomic_fetch_sub_explicit(&bi->range_count, 1, memory_order_release);
	waiters = r->waiters;
	pthread_spin_unlock(&bi->range_lock);
	bio->range_held = false;
	while (waiters != 0) {
		i = (uint32_t)__builtin_ctzll(waiters);
		waiters &= waiters - 1;
		if (i == ch->reactor) {
			bdev_channel_queue_lock_retry(ch);
			continue;
		}
		bdev_ref(bi);
		if (vt_send_msg(i, range_notify_msg, bi) != 0) {
			/* That channel's retry poller picks its waiters up. */
			bdev_unref(bi);
		}
	}
}
