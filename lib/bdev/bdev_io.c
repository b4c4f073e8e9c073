/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The I/O path. Every I/O is checked once, in bdev_io_check(), before it takes an object from
 * its channel's pool (bdev_channel.c). Completions from the module, synchronous or not, go to the
 * channel's done_q; the channel's deferred call runs the user callbacks, so a callback never runs
 * inside the submit call. A module's NOMEM puts the I/O on the channel's nomem_q.
 *
 * COMPARE on a module without it reads into a bounce buffer and compares; COMPARE_AND_WRITE
 * locks its LBA range (bdev_range.c), compares (natively or so) and writes only on a match;
 * OR_WRITE locks its range, reads into a bounce buffer, ORs the user's data into it and writes
 * it; WRITE_ATOMIC locks its range (keeping reads out too) and writes. GET_LBA_STATUS on a
 * module without it answers "mapped" at once. Modules with a buffer alignment get aligned copies
 * of buffers that miss it.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/event.h"
#include "vt/log.h"
#include "vt/util.h"

#include "lib/bdev/bdev_internal.h"

const uint8_t g_bdev_io_flags[VT_BDEV_NUM_IO_TYPES] = {
	[VT_BDEV_IO_TYPE_READ] = BDEV_IOF_DATA | BDEV_IOF_READS,
	[VT_BDEV_IO_TYPE_WRITE] = BDEV_IOF_DATA | BDEV_IOF_WRITE | BDEV_IOF_LOCKED,
	[VT_BDEV_IO_TYPE_UNMAP] = BDEV_IOF_WRITE | BDEV_IOF_LOCKED,
	[VT_BDEV_IO_TYPE_FLUSH] = BDEV_IOF_WRITE | BDEV_IOF_ZERO_LEN,
	[VT_BDEV_IO_TYPE_RESET] = BDEV_IOF_NO_RANGE,
	[VT_BDEV_IO_TYPE_WRITE_ZEROES] = BDEV_IOF_WRITE | BDEV_IOF_LOCKED,
	[VT_BDEV_IO_TYPE_COMPARE] = BDEV_IOF_DATA | BDEV_IOF_READS,
	[VT_BDEV_IO_TYPE_COMPARE_AND_WRITE] = BDEV_IOF_DATA | BDEV_IOF_WRITE | BDEV_IOF_RANGE,
	[VT_BDEV_IO_TYPE_OR_WRITE] = BDEV_IOF_DATA | BDEV_IOF_WRITE | BDEV_IOF_RANGE,
	[VT_BDEV_IO_TYPE_WRITE_ATOMIC] = BDEV_IOF_DATA | BDEV_IOF_WRITE | BDEV_IOF_RANGE,
	[VT_BDEV_IO_TYPE_GET_LBA_STATUS] = 0,
};

/* ---- buffers of multi-step and bounced I/O ------------------------------------------------ */

static inline size_t
bio_bytes(const struct bdev_io_internal *bio)
{
	return bio->io.num_blocks * bio->ch->bdev->blocklen;
}

/* Gives the module aligned copies of buffers that miss the bdev's alignment. */
static int
bdev_io_bounce(struct bdev_io_internal *bio)
{
	struct vt_bdev_io *io = &bio->io;
	size_t align = bio->ch->bi->buf_align;
	bool cw = io->type == VT_BDEV_IO_TYPE_COMPARE_AND_WRITE;
	size_t len, off;
	void *buf;

	if (!(g_bdev_io_flags[io->type] & BDEV_IOF_DATA)) {
		return 0;
	}
	if (vt_iov_aligned(io->iovs, io->iovcnt, align) &&
	    (!cw || vt_iov_aligned(io->cmp_iovs, io->cmp_iovcnt, align))) {
		return 0;
	}
	len = bio_bytes(bio);
	off = VT_ALIGN_UP(len, align);
	if (posix_memalign(&buf, VT_MAX(align, sizeof(void *)), cw ? off + len : len) != 0) {
		return -ENOMEM;
	}
	bio->align_buf = buf;
	bio->align_iovs = io->iovs;
	bio->align_iovcnt = io->iovcnt;
	bio->align_iov[0].iov_base = buf;
	bio->align_iov[0].iov_len = len;
	if (io->type != VT_BDEV_IO_TYPE_READ) {
		vt_iov_to_buf(io->iovs, io->iovcnt, buf, len);
	}
	io->iovs = &bio->align_iov[0];
	io->iovcnt = 1;
	if (cw) {
		bio->align_cmp_iovs = io->cmp_iovs;
		bio->align_cmp_iovcnt = io->cmp_iovcnt;
		bio->align_iov[1].iov_base = (char *)buf + off;
		bio->align_iov[1].iov_len = len;
		vt_iov_to_buf(io->cmp_iovs, io->cmp_iovcnt, bio->align_iov[1].iov_base, len);
		io->cmp_iovs = &bio->align_iov[1];
		io->cmp_iovcnt = 1;
	}
	return 0;
}

static void
bdev_io_unbounce(struct bdev_io_internal *bio, bool copy_out)
{
	struct vt_bdev_io *io = &bio->io;

	if (copy_out && io->type == VT_BDEV_IO_TYPE_READ) {
		vt_iov_from_buf(bio->align_iovs, bio->align_iovcnt, bio->align_buf, bio_bytes(bio));
	}
	io->iovs = bio->align_iovs;
	io->iovcnt = bio->align_iovcnt;
	if (io->type == VT_BDEV_IO_TYPE_COMPARE_AND_WRITE) {
		io->cmp_iovs = bio->align_cmp_iovs;
		io->cmp_iovcnt = bio->align_cmp_iovcnt;
	}
	free(bio->align_buf);
	bio->align_buf = NULL;
}

/* Buffers the module's next step needs; -ENOMEM sends the I/O to the NOMEM queue. */
static int
bdev_io_prepare(struct bdev_io_internal *bio)
{
	struct vt_bdev_io *io = &bio->io;
	size_t len;

	if ((bio->step == BIO_STEP_CMP_READ || bio->step == BIO_STEP_CW_READ ||
	     bio->step == BIO_STEP_OR_READ) &&
	    bio->cmp_buf == NULL) {
		len = bio_bytes(bio);
		if (posix_memalign(&bio->cmp_buf, VT_MAX(64u, bio->ch->bi->buf_align), len) != 0) {
			bio->cmp_buf = NULL;
			return -ENOMEM;
		}
		bio->cmp_iov.iov_base = bio->cmp_buf;
		bio->cmp_iov.iov_len = len;
		bio->saved_iovs = io->iovs;
		bio->saved_iovcnt = io->iovcnt;
		io->iovs = &bio->cmp_iov;
		io->iovcnt = 1;
	}
	if (bio->ch->bi->buf_align > 1 && bio->align_buf == NULL) {
		return bdev_io_bounce(bio);
	}
	return 0;
}

/* Back to the user's view: own buffers freed, the user's iovecs and type restored. */
static void
bdev_io_release_buffers(struct bdev_io_internal *bio)
{
	struct vt_bdev_io *io = &bio->io;

	if (bio->align_buf != NULL) {
		bdev_io_unbounce(bio, false);
	}
	free(bio->cmp_buf);
	bio->cmp_buf = NULL;
	if (bio->saved_iovs != NULL) {
		io->iovs = bio->saved_iovs;
		io->iovcnt = bio->saved_iovcnt;
		bio->saved_iovs = NULL;
	}
	io->type = bio->utype;
	bio->step = BIO_STEP_NONE;
}

/* ---- submission --------------------------------------------------------------------------- */

/* SIZE_MAX (never a valid length: lengths are multiples of 512) when absent or overflowing. */
static inline size_t
bdev_iov_len(const struct iovec *iov, int iovcnt)
{
	size_t len = 0;

	if (vt_unlikely(iov == NULL || iovcnt <= 0)) {
		return SIZE_MAX;
	}
	for (int i = 0; i < iovcnt; i++) {
		if (vt_unlikely(__builtin_add_overflow(len, iov[i].iov_len, &len))) {
			return SIZE_MAX;
		}
	}
	return len;
}

/* The one place every I/O is checked; returns the errno of vt/bdev.h. */
static inline int
bdev_io_check(const struct vt_bdev_desc *desc, const struct vt_bdev_channel *ch,
	      enum vt_bdev_io_type type, const struct iovec *iov, int iovcnt,
	      const struct iovec *cmp_iov, int cmp_iovcnt, uint64_t offset, uint64_t num,
	      vt_bdev_io_cb cb)
{
	const struct vt_bdev *bdev = desc->bdev;
	const struct bdev_internal *bi = desc->bi;
	uint8_t f = g_bdev_io_flags[type];
	uint64_t blockcnt;
	size_t len;

	if (vt_unlikely(ch == NULL || ch->bdev != bdev || cb == NULL)) {
		return -EINVAL;
	}
	if (vt_unlikely(atomic_load_explicit(&bi->removing, memory_order_relaxed))) {
		return -ENODEV;
	}
	if (vt_unlikely(!bi->supported[type])) {
		return -ENOTSUP;
	}
	if (vt_unlikely((f & BDEV_IOF_WRITE) && !desc->write)) {
		return -EBADF;
	}
	if (f & BDEV_IOF_NO_RANGE) {
		return 0;
	}
	if (vt_unlikely(num == 0 && !(f & BDEV_IOF_ZERO_LEN))) {
		return -EINVAL;
	}
	blockcnt = __atomic_load_n(&bdev->blockcnt, __ATOMIC_RELAXED);
	if (vt_unlikely(offset > blockcnt || num > blockcnt - offset)) {
		return -ERANGE;
	}
	if (!(f & BDEV_IOF_DATA)) {
		return 0;
	}
	/* Cannot overflow: blockcnt * blocklen was checked when the size was set. */
	len = num * bdev->blocklen;
	if (vt_unlikely(bdev_iov_len(iov, iovcnt) != len)) {
		return -EINVAL;
	}
	if (vt_unlikely(type == VT_BDEV_IO_TYPE_COMPARE_AND_WRITE) &&
	    (num > bi->acwu || bdev_iov_len(cmp_iov, cmp_iovcnt) != len)) {
		return -EINVAL;
	}
	return 0;
}

static __attribute__((always_inline)) inline int
bdev_submit(struct vt_bdev_desc *desc, struct vt_bdev_channel *ch, enum vt_bdev_io_type type,
	    struct iovec *iov, int iovcnt, struct iovec *cmp_iov, int cmp_iovcnt, uint64_t offset,
	    uint64_t num, uint32_t flags, vt_bdev_io_cb cb, void *cb_arg)
{
	struct bdev_io_internal *bio;
	struct vt_bdev_io *io;
	int rc;

	rc = bdev_io_check(desc, ch, type, iov, iovcnt, cmp_iov, cmp_iovcnt, offset, num, cb);
	if (vt_unlikely(rc != 0)) {
		return rc;
	}
	bio = bdev_channel_get_io(ch);
	if (vt_unlikely(bio == NULL)) {
		return -ENOMEM;
	}
	io = &bio->io;
	io->type = type;
	io->flags = flags;
	io->offset_blocks = offset;
	io->num_blocks = num;
	io->iovs = iov;
	io->iovcnt = iovcnt;
	io->cmp_iovs = cmp_iov;
	io->cmp_iovcnt = cmp_iovcnt;
	bio->utype = type;
	bio->status = VT_BDEV_IO_STATUS_PENDING;
	bio->step = BIO_STEP_NONE;
	bio->err = 0;
	bio->cb = cb;
	bio->cb_arg = cb_arg;
	bio->submit_ticks = vt_get_ticks();
	if (type != VT_BDEV_IO_TYPE_RESET) {
		ch->active++;
	}
	if (vt_unlikely(atomic_load_explicit(&ch->bi->qos_on, memory_order_relaxed) ||
			!TAILQ_EMPTY(&ch->qos_q)) &&
	    bdev_qos_hold(bio)) {
		return 0;
	}
	bdev_io_start(bio);
	return 0;
}

void
bdev_io_to_module(struct bdev_io_internal *bio)
{
	struct vt_bdev_channel *ch = bio->ch;

	if (vt_unlikely(bio->step != BIO_STEP_NONE || ch->bi->buf_align > 1) &&
	    bdev_io_prepare(bio) != 0) {
		bio->state = BIO_NOMEM;
		TAILQ_INSERT_TAIL(&ch->nomem_q, bio, link);
		bdev_channel_arm_retry(ch);
		return;
	}
	bio->state = BIO_MODULE;
	ch->in_module++;
	ch->bdev->fn_table->submit_request(ch->module_ch, &bio->io);
}

static void
ch_abort_queue(struct vt_bdev_channel *ch, struct bdev_io_list *q)
{
	struct bdev_io_internal *bio;

	while ((bio = TAILQ_FIRST(q)) != NULL) {
		TAILQ_REMOVE(q, bio, link);
		bdev_io_release_buffers(bio);
		bio->status = VT_BDEV_IO_STATUS_ABORTED;
		bdev_io_done(bio);
	}
}

/*
 * A reset aborts the channel's queued I/O and holds new I/O until it ends. The module's reset
 * runs at once; without one, the reset ends when the channel's running I/O has completed.
 */
static void
bdev_reset_start(struct bdev_io_internal *bio)
{
	struct vt_bdev_channel *ch = bio->ch;

	ch->resets = 1;
	ch_abort_queue(ch, &ch->nomem_q);
	ch_abort_queue(ch, &ch->lock_wait_q);
	ch_abort_queue(ch, &ch->qos_q);
	if (ch->bi->native[VT_BDEV_IO_TYPE_RESET]) {
		bdev_io_to_module(bio);
		return;
	}
	bio->state = BIO_RESET_WAIT;
	ch->reset_wait = bio;
	bdev_channel_defer(ch);
}

void
bdev_io_start(struct bdev_io_internal *bio)
{
	struct vt_bdev_channel *ch = bio->ch;
	struct bdev_internal *bi = ch->bi;
	uint8_t type = bio->utype;

	if (vt_unlikely(ch->resets != 0)) {
		bio->state = BIO_FROZEN;
		TAILQ_INSERT_TAIL(&ch->frozen_q, bio, link);
		if (type != VT_BDEV_IO_TYPE_RESET) {
			ch->frozen++;
		}
		return;
	}
	switch (type) {
	case VT_BDEV_IO_TYPE_RESET:
		bdev_reset_start(bio);
		return;
	case VT_BDEV_IO_TYPE_COMPARE_AND_WRITE:
	case VT_BDEV_IO_TYPE_OR_WRITE:
	case VT_BDEV_IO_TYPE_WRITE_ATOMIC:
		bdev_range_lock(bio);
		return;
	case VT_BDEV_IO_TYPE_GET_LBA_STATUS:
		if (!bi->native[VT_BDEV_IO_TYPE_GET_LBA_STATUS]) {
			bio->lba_status = VT_BDEV_LBA_MAPPED;
			bio->lba_status_blocks = bio->io.num_blocks;
			bio->status = VT_BDEV_IO_STATUS_SUCCESS;
			bdev_io_done(bio);
			return;
		}
		break;
	case VT_BDEV_IO_TYPE_COMPARE:
		if (!bi->native[VT_BDEV_IO_TYPE_COMPARE]) {
			bio->step = BIO_STEP_CMP_READ;
			bio->io.type = VT_BDEV_IO_TYPE_READ;
		}
		break;
	default:
		break;
	}
	if ((g_bdev_io_flags[type] & (BDEV_IOF_LOCKED | BDEV_IOF_READS)) &&
	    vt_unlikely(atomic_load_explicit(&bi->range_count, memory_order_acquire) != 0) &&
	    bdev_range_wait(bio)) {
		return;
	}
	bdev_io_to_module(bio);
}

int
vt_bdev_readv_blocks(struct vt_bdev_desc *desc, struct vt_bdev_channel *ch, struct iovec *iov,
		     int iovcnt, uint64_t offset_blocks, uint64_t num_blocks, vt_bdev_io_cb cb,
		     void *cb_arg)
{
	return bdev_submit(desc, ch, VT_BDEV_IO_TYPE_READ, iov, iovcnt, NULL, 0, offset_blocks,
			   num_blocks, 0, cb, cb_arg);
}

int
vt_bdev_writev_blocks(struct vt_bdev_desc *desc, struct vt_bdev_channel *ch, struct iovec *iov,
		      int iovcnt, uint64_t offset_blocks, uint64_t num_blocks, uint32_t flags,
		      vt_bdev_io_cb cb, void *cb_arg)
{
	return bdev_submit(desc, ch, VT_BDEV_IO_TYPE_WRITE, iov, iovcnt, NULL, 0, offset_blocks,
			   num_blocks, flags, cb, cb_arg);
}

int
vt_bdev_flush_blocks(struct vt_bdev_desc *desc, struct vt_bdev_channel *ch, uint64_t offset_blocks,
		     uint64_t num_blocks, vt_bdev_io_cb cb, void *cb_arg)
{
	return bdev_submit(desc, ch, VT_BDEV_IO_TYPE_FLUSH, NULL, 0, NULL, 0, offset_blocks,
			   num_blocks, 0, cb, cb_arg);
}

int
vt_bdev_unmap_blocks(struct vt_bdev_desc *desc, struct vt_bdev_channel *ch, uint64_t offset_blocks,
		     uint64_t num_blocks, vt_bdev_io_cb cb, void *cb_arg)
{
	return bdev_submit(desc, ch, VT_BDEV_IO_TYPE_UNMAP, NULL, 0, NULL, 0, offset_blocks,
			   num_blocks, 0, cb, cb_arg);
}

int
vt_bdev_write_zeroes_blocks(struct vt_bdev_desc *desc, struct vt_bdev_channel *ch,
			    uint64_t offset_blocks, uint64_t num_blocks, vt_bdev_io_cb cb,
			    void *cb_arg)
{
	return bdev_submit(desc, ch, VT_BDEV_IO_TYPE_WRITE_ZEROES, NULL, 0, NULL, 0, offset_blocks,
			   num_blocks, 0, cb, cb_arg);
}

int
vt_bdev_reset(struct vt_bdev_desc *desc, struct vt_bdev_channel *ch, vt_bdev_io_cb cb, void *cb_arg)
{
	return bdev_submit(desc, ch, VT_BDEV_IO_TYPE_RESET, NULL, 0, NULL, 0, 0, 0, 0, cb, cb_arg);
}

int
vt_bdev_comparev_blocks(struct vt_bdev_desc *desc, struct vt_bdev_channel *ch, struct iovec *iov,
			int iovcnt, uint64_t offset_blocks, uint64_t num_blocks, vt_bdev_io_cb cb,
			void *cb_arg)
{
	return bdev_submit(desc, ch, VT_BDEV_IO_TYPE_COMPARE, iov, iovcnt, NULL, 0, offset_blocks,
			   num_blocks, 0, cb, cb_arg);
}

int
vt_bdev_comparev_and_writev_blocks(struct vt_bdev_desc *desc, struct vt_bdev_channel *ch,
				   struct iovec *cmp_iov, int cmp_iovcnt, struct iovec *write_iov,
				   int write_iovcnt, uint64_t offset_blocks, uint64_t num_blocks,
				   vt_bdev_io_cb cb, void *cb_arg)
{
	return bdev_submit(desc, ch, VT_BDEV_IO_TYPE_COMPARE_AND_WRITE, write_iov, write_iovcnt,
			   cmp_iov, cmp_iovcnt, offset_blocks, num_blocks, 0, cb, cb_arg);
}

int
vt_bdev_or_writev_blocks(struct vt_bdev_desc *desc, struct vt_bdev_channel *ch, struct iovec *iov,
			 int iovcnt, uint64_t offset_blocks, uint64_t num_blocks, uint32_t flags,
			 vt_bdev_io_cb cb, void *cb_arg)
{
	return bdev_submit(desc, ch, VT_BDEV_IO_TYPE_OR_WRITE, iov, iovcnt, NULL, 0, offset_blocks,
			   num_blocks, flags, cb, cb_arg);
}

int
vt_bdev_writev_atomic_blocks(struct vt_bdev_desc *desc, struct vt_bdev_channel *ch,
			     struct iovec *iov, int iovcnt, uint64_t offset_blocks,
			     uint64_t num_blocks, uint32_t flags, vt_bdev_io_cb cb, void *cb_arg)
{
	return bdev_submit(desc, ch, VT_BDEV_IO_TYPE_WRITE_ATOMIC, iov, iovcnt, NULL, 0,
			   offset_blocks, num_blocks, flags, cb, cb_arg);
}

int
vt_bdev_get_lba_status(struct vt_bdev_desc *desc, struct vt_bdev_channel *ch,
		       uint64_t offset_blocks, uint64_t max_blocks, vt_bdev_io_cb cb, void *cb_arg)
{
	return bdev_submit(desc, ch, VT_BDEV_IO_TYPE_GET_LBA_STATUS, NULL, 0, NULL, 0,
			   offset_blocks, max_blocks, 0, cb, cb_arg);
}

/* ---- range-locking I/O: COMPARE_AND_WRITE, OR_WRITE, WRITE_ATOMIC ------------------------- */

static void
bdev_or_locked(struct bdev_io_internal *bio)
{
	bio->step = BIO_STEP_OR_READ;
	bio->io.type = VT_BDEV_IO_TYPE_READ;
	bdev_io_to_module(bio);
}

static void
bdev_atomic_locked(struct bdev_io_internal *bio)
{
	struct bdev_internal *bi = bio->ch->bi;

	if (bi->native[VT_BDEV_IO_TYPE_WRITE_ATOMIC]) {
		bdev_io_to_module(bio);
		return;
	}
	bio->step = BIO_STEP_ATOMIC_WRITE;
	bio->io.type = VT_BDEV_IO_TYPE_WRITE;
	bdev_io_to_module(bio);
}

/* On the I/O's reactor once its range is locked and no overlapping write (nor, for
 * WRITE_ATOMIC, read) runs anywhere. */
void
bdev_range_locked(struct bdev_io_internal *bio)
{
	struct bdev_internal *bi = bio->ch->bi;
	struct vt_bdev_io *io = &bio->io;

	if (bio->utype == VT_BDEV_IO_TYPE_OR_WRITE) {
		bdev_or_locked(bio);
		return;
	}
	if (bio->utype == VT_BDEV_IO_TYPE_WRITE_ATOMIC) {
		bdev_atomic_locked(bio);
		return;
	}
	if (bi->native[VT_BDEV_IO_TYPE_COMPARE_AND_WRITE]) {
		bdev_io_to_module(bio);
		return;
	}
	if (bi->native[VT_BDEV_IO_TYPE_COMPARE]) {
		bio->step = BIO_STEP_CW_CMP;
		bio->saved_iovs = io->iovs;
		bio->saved_iovcnt = io->iovcnt;
		io->type = VT_BDEV_IO_TYPE_COMPARE;
		io->iovs = io->cmp_iovs;
		io->iovcnt = io->cmp_iovcnt;
	} else {
		bio->step = BIO_STEP_CW_READ;
		io->type = VT_BDEV_IO_TYPE_READ;
	}
	bdev_io_to_module(bio);
}

static void
bdev_cw_write(struct bdev_io_internal *bio)
{
	bio->step = BIO_STEP_CW_WRITE;
	bio->io.type = VT_BDEV_IO_TYPE_WRITE;
	bio->status = VT_BDEV_IO_STATUS_PENDING;
	bdev_io_to_module(bio);
}

/* True (and the I/O set to MISCOMPARE) when the blocks read differ from data. */
static bool
bdev_io_miscompared(struct bdev_io_internal *bio, const struct iovec *data, int datacnt)
{
	size_t off = 0;

	if (vt_iov_compare(data, datacnt, &bio->cmp_iov, 1, bio_bytes(bio), &off) == 0) {
		return false;
	}
	bio->status = VT_BDEV_IO_STATUS_MISCOMPARE;
	bio->miscompare_off = off;
	return true;
}

/* OR_WRITE: cmp_buf holds the blocks read; ORs the user's data into it and writes it. */
static void
bdev_or_write(struct bdev_io_internal *bio)
{
	uint8_t *dst = bio->cmp_buf;
	size_t left = bio_bytes(bio);

	for (int i = 0; i < bio->saved_iovcnt && left > 0; i++) {
		const uint8_t *src = bio->saved_iovs[i].iov_base;
		size_t n = VT_MIN(bio->saved_iovs[i].iov_len, left);
		size_t j = 0;

		for (; j + sizeof(uint64_t) <= n; j += sizeof(uint64_t)) {
			uint64_t a, b;

			memcpy(&a, dst + j, sizeof(a));
			memcpy(&b, src + j, sizeof(b));
			a |= b;
			memcpy(dst + j, &a, sizeof(a));
		}
		for (; j < n; j++) {
			dst[j] |= src[j];
		}
		dst += n;
		left -= n;
	}
	bio->step = BIO_STEP_OR_WRITE;
	bio->io.type = VT_BDEV_IO_TYPE_WRITE;
	bio->status = VT_BDEV_IO_STATUS_PENDING;
	bdev_io_to_module(bio);
}

/* The module finished one step of a multi-step I/O with bio->status. */
static void
bdev_io_step_done(struct bdev_io_internal *bio)
{
	bool ok = bio->status == VT_BDEV_IO_STATUS_SUCCESS;

	switch (bio->step) {
	case BIO_STEP_CMP_READ:
		if (ok) {
			bdev_io_miscompared(bio, bio->saved_iovs, bio->saved_iovcnt);
		}
		break;
	case BIO_STEP_CW_READ:
		if (ok && !bdev_io_miscompared(bio, bio->io.cmp_iovs, bio->io.cmp_iovcnt)) {
			bdev_io_release_buffers(bio);
			bdev_cw_write(bio);
			return;
		}
		break;
	case BIO_STEP_CW_CMP:
		if (ok) {
			bdev_io_release_buffers(bio);
			bdev_cw_write(bio);
			return;
		}
		break;
	case BIO_STEP_OR_READ:
		if (ok) {
			bdev_or_write(bio);
			return;
		}
		break;
	default:
		break;
	}
	bdev_io_release_buffers(bio);
	bdev_io_done(bio);
}

/* ---- completion --------------------------------------------------------------------------- */

void
bdev_io_done(struct bdev_io_internal *bio)
{
	struct vt_bdev_channel *ch = bio->ch;
	uint8_t prev = bio->state;

	if (vt_unlikely(bio->range_held)) {
		bdev_range_unlock(bio);
	}
	bio->state = BIO_DONE;
	if (vt_likely(bio->utype != VT_BDEV_IO_TYPE_RESET)) {
		ch->active--;
	} else {
		ch->resets = 0;
	}
	TAILQ_INSERT_TAIL(&ch->done_q, bio, link);
	bdev_channel_defer(ch);
	if (vt_unlikely(!TAILQ_EMPTY(&ch->lock_drains)) &&
	    (prev == BIO_MODULE || prev == BIO_NOMEM)) {
		bdev_range_drain_io_done(ch, bio);
	}
}

void
vt_bdev_io_complete(struct vt_bdev_io *io, enum vt_bdev_io_status status)
{
	struct bdev_io_internal *bio = bdev_io_from_io(io);
	struct vt_bdev_channel *ch = bio->ch;

	assert(bio->state == BIO_MODULE);
	assert(vt_reactor_current() == ch->reactor);
	ch->in_module--;
	if (vt_unlikely(bio->align_buf != NULL)) {
		bdev_io_unbounce(bio, status == VT_BDEV_IO_STATUS_SUCCESS);
	}
	if (vt_unlikely(status == VT_BDEV_IO_STATUS_NOMEM)) {
		/* Resubmitted when another I/O of the channel completes, or by the poller. */
		bio->state = BIO_NOMEM;
		TAILQ_INSERT_TAIL(&ch->nomem_q, bio, link);
		bdev_channel_arm_retry(ch);
		return;
	}
	if (vt_unlikely(status < VT_BDEV_IO_STATUS_MISCOMPARE ||
			status > VT_BDEV_IO_STATUS_SUCCESS ||
			status == VT_BDEV_IO_STATUS_PENDING)) {
		VT_ERRLOG("bdev '%s' completed an I/O with invalid status %d\n", ch->bdev->name,
			  (int)status);
		status = VT_BDEV_IO_STATUS_FAILED;
	}
	bio->status = status;
	if (vt_unlikely(bio->step != BIO_STEP_NONE)) {
		bdev_io_step_done(bio);
		return;
	}
	bdev_io_done(bio);
}

void
vt_bdev_io_complete_errno(struct vt_bdev_io *io, int err)
{
	bdev_io_from_io(io)->err = err < 0 ? -err : err;
	vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_FAILED);
}

void
vt_bdev_io_complete_miscompare(struct vt_bdev_io *io, uint64_t byte_offset)
{
	bdev_io_from_io(io)->miscompare_off = byte_offset;
	vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_MISCOMPARE);
}

void
vt_bdev_io_complete_lba_status(struct vt_bdev_io *io, enum vt_bdev_lba_status status,
			       uint64_t num_blocks)
{
	struct bdev_io_internal *bio = bdev_io_from_io(io);

	if (vt_unlikely(num_blocks == 0 || num_blocks > io->num_blocks ||
			(status != VT_BDEV_LBA_MAPPED && status != VT_BDEV_LBA_DEALLOCATED))) {
		VT_ERRLOG("bdev '%s' answered an invalid lba status (%d, %" PRIu64 " of %" PRIu64
			  " blocks)\n",
			  io->bdev->name, (int)status, num_blocks, io->num_blocks);
		vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_FAILED);
		return;
	}
	bio->lba_status = (uint8_t)status;
	bio->lba_status_blocks = num_blocks;
	vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_SUCCESS);
}

enum vt_bdev_lba_status
vt_bdev_io_get_lba_status(const struct vt_bdev_io *io, uint64_t *num_blocks)
{
	*num_blocks = io->internal->lba_status_blocks;
	return (enum vt_bdev_lba_status)io->internal->lba_status;
}

enum vt_bdev_io_status
vt_bdev_io_get_status(const struct vt_bdev_io *io)
{
	return (enum vt_bdev_io_status)io->internal->status;
}

int
vt_bdev_io_get_errno(const struct vt_bdev_io *io)
{
	switch (io->internal->status) {
	case VT_BDEV_IO_STATUS_SUCCESS:
		return 0;
	case VT_BDEV_IO_STATUS_FAILED:
		return io->internal->err != 0 ? io->internal->err : EIO;
	case VT_BDEV_IO_STATUS_ABORTED:
		return ECANCELED;
	case VT_BDEV_IO_STATUS_INVALID:
		return EINVAL;
	case VT_BDEV_IO_STATUS_MISCOMPARE:
		return EILSEQ;
	default:
		return EIO;
	}
}

uint64_t
vt_bdev_io_get_miscompare_offset(const struct vt_bdev_io *io)
{
	return io->internal->miscompare_off;
}

enum vt_bdev_io_type
vt_bdev_io_get_type(const struct vt_bdev_io *io)
{
	return (enum vt_bdev_io_type)io->internal->utype;
}
