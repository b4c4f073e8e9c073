/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The data path: each bdev I/O becomes one librbd aio call on the caller's iovecs (no copy).
 * librbd completes on its own threads; the completion is pushed onto a lock-free list of the
 * submitting reactor, and the push that finds the list empty sends that reactor one message,
 * which completes everything on the list. A reactor thus gets one message per batch and is never
 * blocked by librbd's threads, and a librbd thread waits only when the reactor's message ring is
 * full.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/log.h"
#include "vt/util.h"
#include "lib/bdev/rbd/bdev_rbd.h"

_Static_assert(sizeof(struct rbd_io) <= VT_BDEV_IO_DRIVER_CTX, "rbd_io too large");

/* Completed I/Os of each reactor, newest first. */
static _Atomic(struct rbd_io *) g_rbd_done[VT_MAX_REACTORS];

static int rbd_submit_op(struct rbd_io *rio, enum vt_bdev_io_type type);

/* librbd reports the image offset of the first difference; the layer wants it from the start. */
static void
rbd_io_miscompare(struct rbd_io *rio)
{
	struct vt_bdev_io *io = rio->bdev_io;
	uint64_t off = io->offset_blocks * io->bdev->blocklen;
	uint64_t len = io->num_blocks * io->bdev->blocklen;
	uint64_t at = rio->mismatch_off;

	if (at >= off && at - off < len) {
		at -= off;
	} else if (at >= len) {
		at = 0;
	}
	vt_bdev_io_complete_miscompare(io, at);
}

static void
rbd_io_finish(struct rbd_io *rio)
{
	struct vt_bdev_io *io = rio->bdev_io;
	int rc;

	free(rio->cw_bounce);
	rio->cw_bounce = NULL;
	if (rio->result == -EILSEQ && io->type == VT_BDEV_IO_TYPE_COMPARE_AND_WRITE) {
		rbd_io_miscompare(rio);
		return;
	}
	if (rio->result < 0) {
		vt_bdev_io_complete_errno(io, (int)-rio->result);
		return;
	}
	if (rio->flush_after) {
		rio->flush_after = false;
		rc = rbd_submit_op(rio, VT_BDEV_IO_TYPE_FLUSH);
		if (rc != 0) {
			vt_bdev_io_complete_errno(io, -rc);
		}
		return;
	}
	vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_SUCCESS);
}

/* On the reactor: completes every I/O on its list, oldest first. */
static void
rbd_drain(void *arg)
{
	_Atomic(struct rbd_io *) *head = arg;
	struct rbd_io *list = atomic_exchange(head, NULL);
	struct rbd_io *rev = NULL, *next;

	while (list != NULL) {
		next = list->next;
		list->next = rev;
		rev = list;
		list = next;
	}
	while (rev != NULL) {
		next = rev->next;
		rbd_io_finish(rev);
		rev = next;
	}
}

/* librbd's thread. */
static void
rbd_push_done(struct rbd_io *rio)
{
	_Atomic(struct rbd_io *) *head = &g_rbd_done[rio->reactor];
	const struct timespec pause = { .tv_nsec = 50 * 1000 };
	struct rbd_io *old = atomic_load(head);
	int rc;

	do {
		rio->next = old;
	} while (!atomic_compare_exchange_weak(head, &old, rio));
	if (old != NULL) {
		return; /* the message sent for the first one will find this one too */
	}
	while ((rc = vt_send_msg(rio->reactor, rbd_drain, (void *)head)) == -ENOMEM) {
		nanosleep(&pause, NULL);
	}
	if (rc != 0) {
		VT_ERRLOG("cannot post rbd completions to reactor %u: %s\n", rio->reactor,
			  vt_strerror(-rc));
	}
}

static void
rbd_aio_done(rbd_completion_t comp, void *arg)
{
	struct rbd_io *rio = arg;

	rio->result = rbd_aio_get_return_value(comp);
	rbd_aio_release(comp);
	rbd_push_done(rio);
}

/*
 * librbd's compare-and-write takes one buffer per side. The layer limits it to acwu (one block,
 * so it never crosses an object); a block split over guest pages arrives as several iovecs and
 * is gathered into one allocation, the only copy of the data path and a rare one.
 */
static int
rbd_submit_cw(struct rbd_io *rio, rbd_image_t image, uint64_t off, uint64_t len,
	      rbd_completion_t comp)
{
	struct vt_bdev_io *io = rio->bdev_io;
	const char *cmp = io->cmp_iovs[0].iov_base;
	const char *buf = io->iovs[0].iov_base;

	if (io->cmp_iovcnt != 1 || io->iovcnt != 1) {
		rio->cw_bounce = malloc(2 * len);
		if (rio->cw_bounce == NULL) {
			return -ENOMEM;
		}
		vt_iov_to_buf(io->cmp_iovs, io->cmp_iovcnt, rio->cw_bounce, len);
		vt_iov_to_buf(io->iovs, io->iovcnt, (char *)rio->cw_bounce + len, len);
		cmp = rio->cw_bounce;
		buf = (char *)rio->cw_bounce + len;
	}
	return (int)rbd_aio_compare_and_write(image, off, len, cmp, buf, comp, &rio->mismatch_off,
					      0);
}

static int
rbd_submit_op(struct rbd_io *rio, enum vt_bdev_io_type type)
{
	struct vt_bdev_io *io = rio->bdev_io;
	struct rbd_disk *disk = io->bdev->ctxt;
	uint64_t off = io->offset_blocks * io->bdev->blocklen;
	uint64_t len = io->num_blocks * io->bdev->blocklen;
	rbd_completion_t comp;
	int rc;

	rc = rbd_aio_create_completion(rio, rbd_aio_done, &comp);
	if (rc < 0) {
		return rc;
	}
	switch (type) {
	case VT_BDEV_IO_TYPE_READ:
		rc = rbd_aio_readv(disk->image, io->iovs, io->iovcnt, off, comp);
		break;
	case VT_BDEV_IO_TYPE_WRITE:
		rc = rbd_aio_writev(disk->image, io->iovs, io->iovcnt, off, comp);
		break;
	case VT_BDEV_IO_TYPE_UNMAP:
		rc = rbd_aio_discard(disk->image, off, len, comp);
		break;
	case VT_BDEV_IO_TYPE_WRITE_ZEROES:
		rc = rbd_aio_write_zeroes(disk->image, off, len, comp, 0, 0);
		break;
	case VT_BDEV_IO_TYPE_FLUSH:
	case VT_BDEV_IO_TYPE_RESET:
		/* librbd cannot abort what it was given: a reset waits for the writes before it. */
		rc = rbd_aio_flush(disk->image, comp);
		break;
	case VT_BDEV_IO_TYPE_COMPARE_AND_WRITE:
		rc = rbd_submit_cw(rio, disk->image, off, len, comp);
		break;
	default:
		rc = -ENOTSUP;
		break;
	}
	if (rc < 0) {
		rbd_aio_release(comp);
		free(rio->cw_bounce);
		rio->cw_bounce = NULL;
	}
	return rc;
}

void
rbd_submit_request(void *module_ch, struct vt_bdev_io *io)
{
	struct rbd_io *rio = (struct rbd_io *)io->driver_ctx;
	int rc;

	rio->bdev_io = io;
	rio->next = NULL;
	rio->reactor = vt_reactor_current();
	rio->result = 0;
	rio->cw_bounce = NULL;
	rio->mismatch_off = 0;
	rio->flush_after = io->type == VT_BDEV_IO_TYPE_WRITE && (io->flags & VT_BDEV_IO_FLAG_FUA);
	if (!rbd_io_type_supported(io->bdev->ctxt, io->type)) {
		vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_INVALID);
		return;
	}
	rc = rbd_submit_op(rio, io->type);
	if (rc == -ENOMEM) {
		vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_NOMEM);
	} else if (rc != 0) {
		vt_bdev_io_complete_errno(io, -rc);
	}
}

bool
rbd_io_type_supported(void *ctx, enum vt_bdev_io_type type)
{
	switch (type) {
	case VT_BDEV_IO_TYPE_READ:
	case VT_BDEV_IO_TYPE_WRITE:
	case VT_BDEV_IO_TYPE_UNMAP:
	case VT_BDEV_IO_TYPE_FLUSH:
	case VT_BDEV_IO_TYPE_RESET:
	case VT_BDEV_IO_TYPE_WRITE_ZEROES:
	case VT_BDEV_IO_TYPE_COMPARE_AND_WRITE:
		return true;
	default:
		return false;
	}
}
