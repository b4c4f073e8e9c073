/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libaio engine of the file module: one AIO context per reactor, shared by every file bdev on
 * it. Reads and writes are batched into one io_submit per reactor iteration; completions are
 * reaped with a zero-timeout io_getevents by a period-0 poller, or in interrupt mode when the
 * eventfd every iocb signals becomes readable. fdatasync and fallocate go to the worker thread.
 */

#include <errno.h>
#include <libaio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vt/log.h"
#include "lib/bdev/file/bdev_file.h"

_Static_assert(sizeof(struct iocb) <= FILE_ENGINE_CTX_SIZE, "iocb does not fit the engine ctx");

#define AIO_QUEUE_DEPTH 256
#define AIO_REAP_BATCH 64

/* fg.inflight counts the iocbs queued or submitted, not reaped; every iocb signals fg.efd. */
struct aio_group {
	struct file_group fg;
	io_context_t ctx;
	uint32_t npending; /* iocbs queued for the next io_submit */
	struct iocb *pending[AIO_QUEUE_DEPTH];
	struct io_event events[AIO_REAP_BATCH];
};

static struct file_group *g_aio_groups[VT_MAX_REACTORS];

static struct aio_group *
to_aio_group(struct file_group *fg)
{
	return VT_CONTAINEROF(fg, struct aio_group, fg);
}

static struct file_io *
iocb_to_fio(struct iocb *iocb)
{
	return VT_CONTAINEROF((uint8_t *)iocb, struct file_io, u.engine_ctx);
}

static void
aio_group_release(struct file_group *fg)
{
	if (fg->efd >= 0) {
		close(fg->efd);
	}
	io_destroy(to_aio_group(fg)->ctx);
}

static void
aio_flush(struct file_group *fg)
{
	struct aio_group *g = to_aio_group(fg);
	struct iocb *batch[AIO_QUEUE_DEPTH];
	uint32_t n = g->npending, done = 0;
	int rc;

	/* Completions below may queue new iocbs (a resubmission): they go to a fresh batch. */
	memcpy(batch, g->pending, n * sizeof(batch[0]));
	g->npending = 0;
	while (done < n) {
		rc = io_submit(g->ctx, (long)(n - done), &batch[done]);
		if (rc > 0) {
			done += (uint32_t)rc;
			continue;
		}
		if (rc == 0 || rc == -EAGAIN) {
			/* The kernel is short of resources: the bdev layer retries them. */
			rc = -EAGAIN;
			while (done < n) {
				fg->inflight--;
				file_io_engine_done(iocb_to_fio(batch[done++]), rc);
			}
			return;
		}
		/* The first remaining iocb was refused (bad fd, unsupported rw flag...). */
		fg->inflight--;
		file_io_engine_done(iocb_to_fio(batch[done++]), rc);
	}
}

static int
aio_reap(struct aio_group *g)
{
	struct timespec zero = { 0 };
	int i, n;

	n = io_getevents(g->ctx, 0, AIO_REAP_BATCH, g->events, &zero);
	if (n <= 0) {
		if (n < 0 && n != -EINTR) {
			VT_ERRLOG("io_getevents failed on reactor %u: %s\n", g->fg.reactor,
				  vt_strerror(-n));
		}
		return VT_POLLER_IDLE;
	}
	for (i = 0; i < n; i++) {
		g->fg.inflight--;
		file_io_engine_done(iocb_to_fio(g->events[i].obj), (int64_t)(long)g->events[i].res);
	}
	return VT_POLLER_BUSY;
}

static int
aio_poll(void *arg)
{
	struct aio_group *g = arg;

	if (g->fg.inflight == 0) {
		return VT_POLLER_IDLE;
	}
	return aio_reap(g);
}

static int
aio_fd_event(void *arg, uint32_t events)
{
	struct aio_group *g = arg;
	uint64_t count;
	int rc = VT_POLLER_IDLE;

	if (read(g->fg.efd, &count, sizeof(count)) < 0 && errno != EAGAIN) {
		VT_ERRLOG("cannot read aio eventfd on reactor %u: %s\n", g->fg.reactor,
			  vt_strerror(errno));
	}
	while (g->fg.inflight > g->npending && aio_reap(g) == VT_POLLER_BUSY) {
		rc = VT_POLLER_BUSY;
	}
	return rc;
}

static int
aio_group_setup(struct file_group *fg)
{
	struct aio_group *g = to_aio_group(fg);
	int rc;

	rc = io_setup(AIO_QUEUE_DEPTH, &g->ctx);
	if (rc < 0) {
		VT_ERRLOG("cannot set up an aio context on reactor %u (io_setup: %s); see "
			  "/proc/sys/fs/aio-max-nr\n",
			  fg->reactor, vt_strerror(-rc));
		return rc;
	}
	if (vt_reactors_interrupt_mode()) {
		fg->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (fg->efd >= 0) {
			fg->poller = vt_fd_poller_register(fg->efd, EPOLLIN, aio_fd_event, g,
							   "bdev_aio");
		}
		if (fg->poller != NULL && vt_reactors_poll_mode() == VT_POLL_MODE_ADAPTIVE) {
			/* While the reactor polls, fds are only checked now and then. */
			fg->reap_poller = vt_poller_register(aio_poll, g, 0, "bdev_aio");
			if (fg->reap_poller == NULL) {
				vt_poller_unregister(&fg->poller);
			}
		}
	} else {
		fg->poller = vt_poller_register(aio_poll, g, 0, "bdev_aio");
	}
	if (fg->poller == NULL) {
		VT_ERRLOG("cannot register the aio completion poller on reactor %u\n", fg->reactor);
		aio_group_release(fg);
		return -ENOMEM;
	}
	return 0;
}

static const struct file_group_ops g_aio_group_ops = {
	.what = "aio context",
	.size = sizeof(struct aio_group),
	.groups = g_aio_groups,
	.setup = aio_group_setup,
	.release = aio_group_release,
	.flush = aio_flush,
};

static void *
aio_group_get(void)
{
	struct file_group *fg = file_group_get(&g_aio_group_ops);

	return fg != NULL ? to_aio_group(fg) : NULL;
}

static void
aio_group_put(void *group)
{
	file_group_put(&((struct aio_group *)group)->fg);
}

static int
aio_submit_rw(void *group, struct file_io *fio, int fd, bool write, const struct iovec *iov,
	      int iovcnt, uint64_t off, int rw_flags)
{
	struct aio_group *g = group;
	struct iocb *iocb = (struct iocb *)fio->u.engine_ctx;

	if (g->fg.inflight >= AIO_QUEUE_DEPTH) {
		return -EAGAIN;
	}
	if (write) {
		io_prep_pwritev2(iocb, fd, iov, iovcnt, (long long)off, rw_flags);
	} else {
		io_prep_preadv2(iocb, fd, iov, iovcnt, (long long)off, rw_flags);
	}
	iocb->data = fio;
	if (g->fg.efd >= 0) {
		io_set_eventfd(iocb, g->fg.efd);
	}
	g->pending[g->npending++] = iocb;
	g->fg.inflight++;
	file_group_defer_flush(&g->fg);
	return 0;
}

static void
aio_job_done(void *arg)
{
	struct file_job *job = arg;

	file_io_engine_done(VT_CONTAINEROF(job, struct file_io, u.job), job->result);
}

static int
aio_submit_job(struct file_io *fio, enum file_job_op op, int fd, int mode, uint64_t off,
	       uint64_t len)
{
	struct file_job *job = &fio->u.job;

	*job = (struct file_job){
		.op = op,
		.fd = fd,
		.mode = mode,
		.off = off,
		.len = len,
		.reactor = vt_reactor_current(),
		.done = aio_job_done,
	};
	return file_worker_submit(job);
}

static int
aio_submit_fdatasync(void *group, struct file_io *fio, int fd)
{
	return aio_submit_job(fio, FILE_JOB_FDATASYNC, fd, 0, 0, 0);
}

static int
aio_submit_fallocate(void *group, struct file_io *fio, int fd, int mode, uint64_t off, uint64_t len)
{
	return aio_submit_job(fio, FILE_JOB_FALLOCATE, fd, mode, off, len);
}

const struct file_engine file_engine_aio = {
	.name = "libaio",
	.group_get = aio_group_get,
	.group_put = aio_group_put,
	.submit_rw = aio_submit_rw,
	.submit_fdatasync = aio_submit_fdatasync,
	.submit_fallocate = aio_submit_fallocate,
};
