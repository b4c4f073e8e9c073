/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * io_uring engine of the file module: one ring per reactor, shared by every file bdev on it.
 * Submissions are batched: the SQEs prepared during a reactor iteration are submitted with one
 * io_uring_submit from a deferred call (or at once when the SQ is full). Completions are reaped by
 * a period-0 poller, or in interrupt mode by an fd poller on an eventfd registered with the ring.
 */

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vt/log.h"
#include "lib/bdev/file/bdev_file.h"

/* SQ entries per ring; the CQ gets twice as many. Not const so tests can force a failure. */
static unsigned int g_uring_entries = 256;
/* Completions reaped per poller run in poll mode (interrupt mode drains the ring). */
#define URING_REAP_BATCH 64

/* fg.inflight counts the SQEs prepared or submitted, not reaped; fg.efd is the ring's eventfd. */
struct uring_group {
	struct file_group fg;
	struct io_uring ring;
	uint32_t max_inflight; /* the CQ size: never more outstanding than fits */
	uint32_t queued;       /* SQEs prepared, not submitted yet */
};

static struct file_group *g_uring_groups[VT_MAX_REACTORS];

static struct uring_group *
to_uring_group(struct file_group *fg)
{
	return VT_CONTAINEROF(fg, struct uring_group, fg);
}

static void
uring_group_release(struct file_group *fg)
{
	struct uring_group *g = to_uring_group(fg);

	if (fg->efd >= 0) {
		io_uring_unregister_eventfd(&g->ring);
		close(fg->efd);
	}
	io_uring_queue_exit(&g->ring);
}

static void
uring_flush(struct uring_group *g)
{
	int rc;

	if (g->queued == 0) {
		return;
	}
	rc = io_uring_submit(&g->ring);
	if (rc >= 0) {
		g->queued -= VT_MIN((uint32_t)rc, g->queued);
		return;
	}
	/* -EAGAIN / -EBUSY / -EINTR: the kernel is short of resources; the caller retries. */
	if (rc != -EAGAIN && rc != -EBUSY && rc != -EINTR) {
		VT_ERRLOG("io_uring_submit failed on reactor %u: %s\n", g->fg.reactor,
			  vt_strerror(-rc));
	}
}

/* The deferred submit call: SQEs the kernel could not take yet go in the next iteration. */
static void
uring_submit_deferred(struct file_group *fg)
{
	struct uring_group *g = to_uring_group(fg);

	uring_flush(g);
	if (g->queued != 0) {
		file_group_defer_flush(fg);
	}
}

static int
uring_reap(struct uring_group *g, unsigned int max)
{
	struct io_uring_cqe *cqe;
	struct file_io *fio;
	unsigned int n = 0;
	int64_t res;

	while (n < max && io_uring_peek_cqe(&g->ring, &cqe) == 0 && cqe != NULL) {
		fio = io_uring_cqe_get_data(cqe);
		res = cqe->res;
		io_uring_cqe_seen(&g->ring, cqe);
		g->fg.inflight--;
		n++;
		file_io_engine_done(fio, res);
	}
	return n ? VT_POLLER_BUSY : VT_POLLER_IDLE;
}

static int
uring_poll(void *arg)
{
	struct uring_group *g = arg;

	if (g->fg.inflight == 0) {
		return VT_POLLER_IDLE;
	}
	return uring_reap(g, URING_REAP_BATCH);
}

static int
uring_fd_event(void *arg, uint32_t events)
{
	struct uring_group *g = arg;
	uint64_t count;

	/* Clear the eventfd first: a completion posted after this read signals it again. */
	if (read(g->fg.efd, &count, sizeof(count)) < 0 && errno != EAGAIN) {
		VT_ERRLOG("cannot read io_uring eventfd on reactor %u: %s\n", g->fg.reactor,
			  vt_strerror(errno));
	}
	return uring_reap(g, UINT32_MAX);
}

static int
uring_group_setup_events(struct uring_group *g)
{
	struct file_group *fg = &g->fg;
	int rc;

	if (!vt_reactors_interrupt_mode()) {
		fg->poller = vt_poller_register(uring_poll, g, 0, "bdev_uring");
		return fg->poller ? 0 : -ENOMEM;
	}
	fg->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fg->efd < 0) {
		return -errno;
	}
	rc = io_uring_register_eventfd(&g->ring, fg->efd);
	if (rc < 0) {
		return rc;
	}
	fg->poller = vt_fd_poller_register(fg->efd, EPOLLIN, uring_fd_event, g, "bdev_uring");
	if (fg->poller == NULL) {
		return -ENOMEM;
	}
	if (vt_reactors_poll_mode() == VT_POLL_MODE_ADAPTIVE) {
		/* While the reactor polls, fds are only checked now and then: peek the ring. */
		fg->reap_poller = vt_poller_register(uring_poll, g, 0, "bdev_uring");
		if (fg->reap_poller == NULL) {
			vt_poller_unregister(&fg->poller);
			return -ENOMEM;
		}
	}
	return 0;
}

static int
uring_group_setup(struct file_group *fg)
{
	static bool warned;
	struct uring_group *g = to_uring_group(fg);
	int rc;

	rc = io_uring_queue_init(g_uring_entries, &g->ring, 0);
	if (rc < 0) {
		if (!warned) {
			VT_WARNLOG("io_uring unavailable (io_uring_queue_init: %s), uring bdevs "
				   "use libaio\n",
				   vt_strerror(-rc));
			warned = true;
		}
		return rc;
	}
	g->max_inflight = g->ring.cq.ring_entries;
	rc = uring_group_setup_events(g);
	if (rc < 0) {
		VT_ERRLOG("cannot set up io_uring completions on reactor %u: %s\n", fg->reactor,
			  vt_strerror(-rc));
		uring_group_release(fg);
		return rc;
	}
	return 0;
}

static const struct file_group_ops g_uring_group_ops = {
	.what = "io_uring",
	.size = sizeof(struct uring_group),
	.groups = g_uring_groups,
	.setup = uring_group_setup,
	.release = uring_group_release,
	.flush = uring_submit_deferred,
};

static void *
uring_group_get(void)
{
	struct file_group *fg = file_group_get(&g_uring_group_ops);

	return fg != NULL ? to_uring_group(fg) : NULL;
}

static void
uring_group_put(void *group)
{
	file_group_put(&((struct uring_group *)group)->fg);
}

/* An SQE for fio, or NULL when the ring has no room (the caller answers -EAGAIN). */
static struct io_uring_sqe *
uring_get_sqe(struct uring_group *g, struct file_io *fio)
{
	struct io_uring_sqe *sqe;

	if (g->fg.inflight >= g->max_inflight) {
		return NULL;
	}
	sqe = io_uring_get_sqe(&g->ring);
	if (sqe == NULL) {
		uring_flush(g);
		sqe = io_uring_get_sqe(&g->ring);
		if (sqe == NULL) {
			return NULL;
		}
	}
	return sqe;
}

static void
uring_queued(struct uring_group *g)
{
	g->fg.inflight++;
	g->queued++;
	file_group_defer_flush(&g->fg);
}

static int
uring_submit_rw(void *group, struct file_io *fio, int fd, bool write, const struct iovec *iov,
		int iovcnt, uint64_t off, int rw_flags)
{
	struct uring_group *g = group;
	struct io_uring_sqe *sqe = uring_get_sqe(g, fio);

	if (sqe == NULL) {
		return -EAGAIN;
	}
	if (write) {
		io_uring_prep_writev(sqe, fd, iov, (unsigned int)iovcnt, off);
	} else {
		io_uring_prep_readv(sqe, fd, iov, (unsigned int)iovcnt, off);
	}
	/* Both preps set the fd, iovecs and offset; rw_flags is the RWF_* set (RWF_DSYNC). */
	sqe->rw_flags = rw_flags;
	io_uring_sqe_set_data(sqe, fio);
	uring_queued(g);
	return 0;
}

static int
uring_submit_fdatasync(void *group, struct file_io *fio, int fd)
{
	struct uring_group *g = group;
	struct io_uring_sqe *sqe = uring_get_sqe(g, fio);

	if (sqe == NULL) {
		return -EAGAIN;
	}
	io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
	io_uring_sqe_set_data(sqe, fio);
	uring_queued(g);
	return 0;
}

static int
uring_submit_fallocate(void *group, struct file_io *fio, int fd, int mode, uint64_t off,
		       uint64_t len)
{
	struct uring_group *g = group;
	struct io_uring_sqe *sqe = uring_get_sqe(g, fio);

	if (sqe == NULL) {
		return -EAGAIN;
	}
	io_uring_prep_fallocate(sqe, fd, mode, (off_t)off, (off_t)len);
	io_uring_sqe_set_data(sqe, fio);
	uring_queued(g);
	return 0;
}

const struct file_engine file_engine_uring = {
	.name = "io_uring",
	.group_get = uring_group_get,
	.group_put = uring_group_put,
	.submit_rw = uring_submit_rw,
	.submit_fdatasync = uring_submit_fdatasync,
	.submit_fallocate = uring_submit_fallocate,
};
