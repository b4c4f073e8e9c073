/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The data path of the file bdev module. Reads and writes go zero-copy on the I/O's iovecs when
 * they suit O_DIRECT and through one aligned bounce buffer otherwise; a short transfer continues
 * with the rest. FLUSH is fdatasync; UNMAP and WRITE_ZEROES are fallocate, falling back to
 * writing zeroes where the filesystem cannot; FUA writes carry RWF_DSYNC. RESET completes once
 * the I/O in flight on every reactor's channel has completed. GET_LBA_STATUS asks the file where
 * its holes are (lseek SEEK_DATA / SEEK_HOLE, on the worker thread): a hole is deallocated.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vt/log.h"
#include "lib/bdev/file/bdev_file.h"

_Static_assert(sizeof(struct file_io) <= VT_BDEV_IO_DRIVER_CTX, "file_io does not fit driver_ctx");

/* WRITE_ZEROES without fallocate writes this many zero bytes at a time. */
#define FILE_ZERO_BUF_SIZE (1024u * 1024u)
#define FILE_PUNCH_MODE (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)
#define FILE_ZERO_MODE (FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE)

/* Read-only anonymous mapping: zero pages that cost no memory. */
static void *g_zero_buf;
/* The kernel refused RWF_DSYNC once: FUA writes are followed by fdatasync instead. */
static bool g_rwf_dsync_unsupported;

static struct vt_bdev_io *
fio_to_io(struct file_io *fio)
{
	return VT_CONTAINEROF((uint8_t *)fio, struct vt_bdev_io, driver_ctx);
}

static struct file_disk *
fio_disk(struct file_io *fio)
{
	return fio->ch->fdisk;
}

/* ---- completion ------------------------------------------------------------------------- */

static void file_reset_wake(struct file_channel *ch);

static void
file_io_finish(struct file_io *fio, int rc)
{
	struct file_channel *ch = fio->ch;
	struct vt_bdev_io *io = fio_to_io(fio);

	free(fio->bounce);
	fio->bounce = NULL;
	free(fio->tmp_iovs);
	fio->tmp_iovs = NULL;
	ch->inflight--;
	if (rc == 0) {
		vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_SUCCESS);
	} else if (rc == -EAGAIN || rc == -ENOMEM) {
		/* Queue full or no bounce buffer: the bdev layer retries it later. */
		vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_NOMEM);
	} else {
		VT_DEBUGLOG(bdev_file, "%s I/O on bdev '%s' failed: %s\n",
			    vt_bdev_io_type_name(io->type), ch->fdisk->bdev.name, vt_strerror(-rc));
		vt_bdev_io_complete_errno(io, -rc);
	}
	if (ch->inflight == 0 && ch->reset_waiters != NULL) {
		file_reset_wake(ch);
	}
}

/* ---- reads and writes ------------------------------------------------------------------- */

/* True when O_DIRECT can use the iovecs as they are. */
static bool
file_iov_dio_ok(const struct file_disk *fdisk, const struct iovec *iov, int iovcnt)
{
	int i;

	for (i = 0; i < iovcnt; i++) {
		if (((uintptr_t)iov[i].iov_base & (fdisk->mem_align - 1)) != 0 ||
		    (iov[i].iov_len & (fdisk->len_align - 1)) != 0) {
			return false;
		}
	}
	return true;
}

/* The part of fio->iov not transferred yet (after a short read or write). */
static int
file_iov_remainder(struct file_io *fio, const struct iovec **iov, int *iovcnt)
{
	uint64_t skip = fio->done;
	int i = 0, n;

	while (i < fio->iovcnt && skip >= fio->iov[i].iov_len) {
		skip -= fio->iov[i].iov_len;
		i++;
	}
	n = fio->iovcnt - i;
	if (n <= 0) {
		return -EINVAL;
	}
	if (n == 1) {
		fio->cur_iov.iov_base = (uint8_t *)fio->iov[i].iov_base + skip;
		fio->cur_iov.iov_len = fio->iov[i].iov_len - skip;
		*iov = &fio->cur_iov;
		*iovcnt = 1;
		return 0;
	}
	free(fio->tmp_iovs);
	fio->tmp_iovs = malloc((size_t)n * sizeof(struct iovec));
	if (fio->tmp_iovs == NULL) {
		return -ENOMEM;
	}
	memcpy(fio->tmp_iovs, &fio->iov[i], (size_t)n * sizeof(struct iovec));
	fio->tmp_iovs[0].iov_base = (uint8_t *)fio->tmp_iovs[0].iov_base + skip;
	fio->tmp_iovs[0].iov_len -= skip;
	*iov = fio->tmp_iovs;
	*iovcnt = n;
	return 0;
}

/* Submits what remains of the transfer. */
static void
file_rw_submit(struct file_io *fio)
{
	struct file_channel *ch = fio->ch;
	const struct iovec *iov = fio->iov;
	int iovcnt = fio->iovcnt;
	int rc = 0;

	if (fio->stage == FILE_STAGE_ZERO_WRITE) {
		fio->cur_iov.iov_base = g_zero_buf;
		fio->cur_iov.iov_len = VT_MIN(fio->len - fio->done, (uint64_t)FILE_ZERO_BUF_SIZE);
		iov = &fio->cur_iov;
		iovcnt = 1;
	} else if (fio->done != 0) {
		rc = file_iov_remainder(fio, &iov, &iovcnt);
	}
	if (rc == 0) {
		rc = ch->engine->submit_rw(ch->group, fio, ch->fdisk->fd, fio->write, iov, iovcnt,
					   fio->offset + fio->done, fio->rw_flags);
	}
	if (rc != 0) {
		file_io_finish(fio, rc);
	}
}

static void
file_fdatasync_submit(struct file_io *fio)
{
	struct file_channel *ch = fio->ch;
	int rc;

	fio->stage = FILE_STAGE_FSYNC;
	rc = ch->engine->submit_fdatasync(ch->group, fio, ch->fdisk->fd);
	if (rc != 0) {
		file_io_finish(fio, rc);
	}
}

/* Zeroes the iovecs from byte skip on (a read that met the end of the file). */
static void
file_iov_zero_from(const struct iovec *iov, int iovcnt, uint64_t skip)
{
	int i;

	for (i = 0; i < iovcnt; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		memset((uint8_t *)iov[i].iov_base + skip, 0, iov[i].iov_len - skip);
		skip = 0;
	}
}

static void
file_rw_complete(struct file_io *fio)
{
	struct vt_bdev_io *io = fio_to_io(fio);

	if (!fio->write && fio->bounce != NULL) {
		vt_iov_from_buf(io->iovs, io->iovcnt, fio->bounce, fio->len);
	}
	if (fio->sync_after) {
		fio->sync_after = false;
		file_fdatasync_submit(fio);
		return;
	}
	file_io_finish(fio, 0);
}

static void
file_rw_done(struct file_io *fio, int64_t res)
{
	if (res == -EOPNOTSUPP && (fio->rw_flags & RWF_DSYNC) != 0) {
		/* A kernel without RWF_DSYNC for this file: write, then fdatasync. */
		if (!__atomic_exchange_n(&g_rwf_dsync_unsupported, true, __ATOMIC_RELAXED)) {
			VT_WARNLOG("RWF_DSYNC refused on bdev '%s': FUA writes are followed by "
				   "fdatasync\n",
				   fio_disk(fio)->bdev.name);
		}
		fio->rw_flags &= ~RWF_DSYNC;
		fio->sync_after = true;
		file_rw_submit(fio);
		return;
	}
	if (res < 0) {
		file_io_finish(fio, (int)res);
		return;
	}
	if (res == 0) {
		if (fio->write) {
			file_io_finish(fio, -EIO);
			return;
		}
		/* End of file inside the device (the file shrank): the rest reads as zeroes. */
		if (fio->bounce != NULL) {
			memset((uint8_t *)fio->bounce + fio->done, 0, fio->len - fio->done);
		} else {
			file_iov_zero_from(fio->iov, fio->iovcnt, fio->done);
		}
		fio->done = fio->len;
	} else {
		fio->done = VT_MIN(fio->done + (uint64_t)res, fio->len);
	}
	if (fio->done < fio->len) {
		file_rw_submit(fio);
		return;
	}
	file_rw_complete(fio);
}

static int
file_bounce_setup(struct file_io *fio, struct vt_bdev_io *io)
{
	struct file_disk *fdisk = fio_disk(fio);
	void *buf;

	if (posix_memalign(&buf, VT_MAX(fdisk->mem_align, (uint32_t)sizeof(void *)), fio->len) !=
	    0) {
		return -ENOMEM;
	}
	if (fio->write) {
		vt_iov_to_buf(io->iovs, io->iovcnt, buf, fio->len);
	}
	fio->bounce = buf;
	fio->bounce_iov.iov_base = buf;
	fio->bounce_iov.iov_len = fio->len;
	fio->iov = &fio->bounce_iov;
	fio->iovcnt = 1;
	fio->ch->bounced++;
	return 0;
}

static void
file_rw_start(struct file_io *fio, struct vt_bdev_io *io)
{
	struct file_disk *fdisk = fio_disk(fio);
	int rc;

	fio->stage = FILE_STAGE_RW;
	fio->write = io->type == VT_BDEV_IO_TYPE_WRITE;
	fio->offset = io->offset_blocks * fdisk->bdev.blocklen;
	fio->len = io->num_blocks * fdisk->bdev.blocklen;
	if (fio->write && (io->flags & VT_BDEV_IO_FLAG_FUA)) {
		if (__atomic_load_n(&g_rwf_dsync_unsupported, __ATOMIC_RELAXED)) {
			fio->sync_after = true;
		} else {
			fio->rw_flags = RWF_DSYNC;
		}
	}
	if (fdisk->nowait) {
		/* An EAGAIN completion becomes NOMEM: the bdev layer resubmits the I/O. */
		fio->rw_flags |= RWF_NOWAIT;
	}
	fio->iov = io->iovs;
	fio->iovcnt = io->iovcnt;
	if ((fdisk->direct && !file_iov_dio_ok(fdisk, io->iovs, io->iovcnt)) ||
	    io->iovcnt > IOV_MAX) {
		/* Unfit for O_DIRECT, or more iovecs than one readv / writev takes. */
		rc = file_bounce_setup(fio, io);
		if (rc != 0) {
			file_io_finish(fio, rc);
			return;
		}
	}
	file_rw_submit(fio);
}

/* ---- unmap and write zeroes ------------------------------------------------------------- */

static void
file_zero_write_start(struct file_io *fio)
{
	if (g_zero_buf == NULL) {
		file_io_finish(fio, -ENOMEM);
		return;
	}
	fio->stage = FILE_STAGE_ZERO_WRITE;
	fio->write = true;
	fio->rw_flags = 0;
	fio->done = 0;
	file_rw_submit(fio);
}

static void
file_falloc_submit(struct file_io *fio, int mode)
{
	struct file_channel *ch = fio->ch;
	struct file_disk *fdisk = ch->fdisk;
	int rc;

	if (mode == FILE_PUNCH_MODE && __atomic_load_n(&fdisk->no_punch_hole, __ATOMIC_RELAXED)) {
		mode = FILE_ZERO_MODE;
	}
	if (mode == FILE_ZERO_MODE && __atomic_load_n(&fdisk->no_zero_range, __ATOMIC_RELAXED)) {
		file_zero_write_start(fio);
		return;
	}
	fio->stage = FILE_STAGE_FALLOCATE;
	fio->falloc_mode = mode;
	rc = ch->engine->submit_fallocate(ch->group, fio, fdisk->fd, mode, fio->offset, fio->len);
	if (rc != 0) {
		file_io_finish(fio, rc);
	}
}

static void
file_falloc_done(struct file_io *fio, int64_t res)
{
	struct file_disk *fdisk = fio_disk(fio);

	if (res != -EOPNOTSUPP) {
		file_io_finish(fio, res < 0 ? (int)res : 0);
		return;
	}
	/* Not supported by this filesystem or device: remember it and take the next way. */
	if (fio->falloc_mode == FILE_PUNCH_MODE) {
		VT_NOTICELOG("'%s' of bdev '%s' cannot punch holes: UNMAP zeroes blocks instead\n",
			     fdisk->filename, fdisk->bdev.name);
		__atomic_store_n(&fdisk->no_punch_hole, true, __ATOMIC_RELAXED);
		file_falloc_submit(fio, FILE_ZERO_MODE);
		return;
	}
	VT_NOTICELOG("'%s' of bdev '%s' cannot zero ranges: zeroes are written instead\n",
		     fdisk->filename, fdisk->bdev.name);
	__atomic_store_n(&fdisk->no_zero_range, true, __ATOMIC_RELAXED);
	file_zero_write_start(fio);
}

static void
file_falloc_start(struct file_io *fio, struct vt_bdev_io *io, int mode)
{
	uint32_t blocklen = fio_disk(fio)->bdev.blocklen;

	fio->offset = io->offset_blocks * blocklen;
	fio->len = io->num_blocks * blocklen;
	file_falloc_submit(fio, mode);
}

/* ---- GET_LBA_STATUS --------------------------------------------------------------------- */

/* On the I/O's reactor with the worker's answer. */
static void
file_seek_done(void *arg)
{
	struct file_job *job = arg;
	struct file_io *fio = VT_CONTAINEROF(job, struct file_io, u.job);
	struct vt_bdev_io *io = fio_to_io(fio);
	struct file_channel *ch = fio->ch;
	uint32_t blocklen = ch->fdisk->bdev.blocklen;
	uint64_t blocks;

	/* A block partly in a hole holds data: holes count in whole blocks, data rounded up. */
	if (job->hole) {
		blocks = job->run / blocklen;
	} else {
		blocks = (job->run + blocklen - 1) / blocklen;
	}
	if (blocks == 0) {
		job->hole = !job->hole;
		blocks = 1;
	}
	blocks = VT_MIN(blocks, io->num_blocks);
	ch->inflight--;
	vt_bdev_io_complete_lba_status(io, job->hole ? VT_BDEV_LBA_DEALLOCATED : VT_BDEV_LBA_MAPPED,
				       blocks);
	if (ch->inflight == 0 && ch->reset_waiters != NULL) {
		file_reset_wake(ch);
	}
}

static void
file_seek_start(struct file_io *fio, struct vt_bdev_io *io)
{
	struct file_disk *fdisk = fio_disk(fio);
	struct file_job *job = &fio->u.job;

	fio->stage = FILE_STAGE_SEEK;
	*job = (struct file_job){
		.op = FILE_JOB_SEEK_DATA,
		.fd = fdisk->fd,
		.off = io->offset_blocks * fdisk->bdev.blocklen,
		.len = io->num_blocks * fdisk->bdev.blocklen,
		.reactor = vt_reactor_current(),
		.done = file_seek_done,
	};
	if (file_worker_submit(job) != 0) {
		/* No worker thread: ask here (the layer defers the user's callback). */
		file_worker_run_job(job);
		file_seek_done(job);
	}
}

/* ---- reset: completes once the I/O in flight on every channel has completed -------------- */

static void file_reset_visit(void *arg);

static int
file_reset_retry(void *arg)
{
	struct file_io *fio = arg;
	/* Once sent, fio belongs to the other reactor: do not touch it any more. */
	struct vt_poller *poller = fio->retry_poller;

	if (vt_send_msg(fio->retry_idx, fio->retry_fn, fio) == 0) {
		vt_poller_unregister(&poller);
	}
	return VT_POLLER_BUSY;
}

static void
file_reset_goto(struct file_io *fio, uint32_t idx, vt_msg_fn fn)
{
	if (idx == vt_reactor_current()) {
		fn(fio);
		return;
	}
	if (vt_send_msg(idx, fn, fio) == 0) {
		return;
	}
	/* The target's message ring is full: try again shortly. */
	fio->retry_idx = idx;
	fio->retry_fn = fn;
	fio->retry_poller = vt_poller_register(file_reset_retry, fio, 100, "bdev_file_reset");
	if (fio->retry_poller == NULL) {
		VT_ERRLOG("cannot forward a reset of bdev '%s' to reactor %u\n",
			  fio_disk(fio)->bdev.name, idx);
	}
}

static void
file_reset_finish(void *arg)
{
	vt_bdev_io_complete(fio_to_io(arg), VT_BDEV_IO_STATUS_SUCCESS);
}

static void
file_reset_next(struct file_io *fio)
{
	fio->reset_idx++;
	if (fio->reset_idx < vt_reactor_count()) {
		file_reset_goto(fio, fio->reset_idx, file_reset_visit);
	} else {
		file_reset_goto(fio, fio->reset_origin, file_reset_finish);
	}
}

/* On reactor reset_idx: waits for that reactor's channel to drain. */
static void
file_reset_visit(void *arg)
{
	struct file_io *fio = arg;
	struct file_channel *ch = fio_disk(fio)->chs[fio->reset_idx];

	if (ch != NULL && ch->inflight > 0) {
		fio->reset_next = ch->reset_waiters;
		ch->reset_waiters = fio;
		return;
	}
	file_reset_next(fio);
}

static void
file_reset_wake(struct file_channel *ch)
{
	struct file_io *fio = ch->reset_waiters, *next;

	ch->reset_waiters = NULL;
	for (; fio != NULL; fio = next) {
		next = fio->reset_next;
		file_reset_next(fio);
	}
}

static void
file_reset_start(struct file_io *fio)
{
	fio->stage = FILE_STAGE_RESET;
	fio->reset_origin = vt_reactor_current();
	fio->reset_idx = 0;
	file_reset_goto(fio, 0, file_reset_visit);
}

/* ---- engine completions ----------------------------------------------------------------- */

void
file_io_engine_done(struct file_io *fio, int64_t res)
{
	switch ((enum file_stage)fio->stage) {
	case FILE_STAGE_RW:
	case FILE_STAGE_ZERO_WRITE:
		file_rw_done(fio, res);
		break;
	case FILE_STAGE_FSYNC:
		file_io_finish(fio, res < 0 ? (int)res : 0);
		break;
	case FILE_STAGE_FALLOCATE:
		file_falloc_done(fio, res);
		break;
	case FILE_STAGE_RESET:
	case FILE_STAGE_SEEK:
		break;
	}
}

/* ---- bdev function table ---------------------------------------------------------------- */

void
file_submit_request(void *module_ch, struct vt_bdev_io *io)
{
	struct file_io *fio = (struct file_io *)io->driver_ctx;

	memset(fio, 0, offsetof(struct file_io, u));
	fio->ch = module_ch;
	if (io->type == VT_BDEV_IO_TYPE_RESET) {
		file_reset_start(fio);
		return;
	}
	fio->ch->inflight++;
	switch (io->type) {
	case VT_BDEV_IO_TYPE_READ:
	case VT_BDEV_IO_TYPE_WRITE:
		file_rw_start(fio, io);
		break;
	case VT_BDEV_IO_TYPE_FLUSH:
		file_fdatasync_submit(fio);
		break;
	case VT_BDEV_IO_TYPE_UNMAP:
		file_falloc_start(fio, io, FILE_PUNCH_MODE);
		break;
	case VT_BDEV_IO_TYPE_WRITE_ZEROES:
		file_falloc_start(fio, io, FILE_ZERO_MODE);
		break;
	case VT_BDEV_IO_TYPE_GET_LBA_STATUS:
		file_seek_start(fio, io);
		break;
	default:
		fio->ch->inflight--;
		vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_INVALID);
		break;
	}
}


/* ---- module init and fini --------------------------------------------------------------- */

int
file_io_init(void)
{
	void *buf = mmap(NULL, FILE_ZERO_BUF_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (buf == MAP_FAILED) {
		VT_ERRLOG("cannot map the zero buffer of the file bdev module: %s\n",
			  vt_strerror(errno));
		return -ENOMEM;
	}
	g_zero_buf = buf;
	return 0;
}

void
file_io_fini(void)
{
	if (g_zero_buf != NULL) {
		munmap(g_zero_buf, FILE_ZERO_BUF_SIZE);
		g_zero_buf = NULL;
	}
}
