/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the file bdev module (lib/bdev/file) through the real bdev layer, on temporary
 * files, for both engines (libaio and io_uring) in poll mode and in interrupt mode, plus its RPCs.
 */

#include <CUnit/Basic.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/bdev/file/bdev_file.c"
#include "lib/bdev/file/bdev_file_aio.c"
#include "lib/bdev/file/bdev_file_group.c"
#include "lib/bdev/file/bdev_file_io.c"
#include "lib/bdev/file/bdev_file_rpc.c"
#include "lib/bdev/file/bdev_file_uring.c"
#include "lib/bdev/file/bdev_file_worker.c"

#define UT_POLL_TIMEOUT_MS 10000
#include "test/unit/common/ut_main.h"
#include "test/unit/common/ut_reactor.h"
#include "test/unit/common/ut_rpc.h"

#define UT_TIMEOUT_NS (UT_POLL_TIMEOUT_MS * (VT_TICKS_HZ / 1000))
#define UT_BS 512u
#define UT_FILE_SIZE (8u * 1024 * 1024)

static char g_dir[64];
static enum file_kind g_kind;
static bool g_interrupt;
static int g_file_seq;

/* ---- reactor and subsystem plumbing ----------------------------------------------------- */

static bool
poll_until(const bool *flag)
{
	uint64_t deadline = vt_get_ticks() + UT_TIMEOUT_NS;

	while (!*flag) {
		if (vt_get_ticks() > deadline) {
			return false;
		}
		vt_reactor_poll_once();
	}
	return true;
}

static bool
poll_until_count(const int *count, int want)
{
	uint64_t deadline = vt_get_ticks() + UT_TIMEOUT_NS;

	while (*count < want) {
		if (vt_get_ticks() > deadline) {
			return false;
		}
		vt_reactor_poll_once();
	}
	return *count == want;
}

static void
poll_for(uint64_t us)
{
	uint64_t deadline = vt_get_ticks() + us * 1000;

	while (vt_get_ticks() < deadline) {
		vt_reactor_poll_once();
	}
}

static void
subsys_init_done(int rc, void *arg)
{
	int *out = arg;

	*out = rc;
}

static void
subsys_fini_done(void *arg)
{
	*(bool *)arg = true;
}

static int
stack_up(bool interrupt)
{
	int rc = 1;

	if (ut_reactor_init_one(interrupt) != 0) {
		return -1;
	}
	vt_subsystem_init(subsys_init_done, &rc);
	while (rc == 1) {
		vt_reactor_poll_once();
	}
	return rc;
}

static void
stack_down(void)
{
	bool done = false;

	vt_subsystem_fini(subsys_fini_done, &done);
	poll_until(&done);
	vt_reactors_fini();
}

/* ---- files ------------------------------------------------------------------------------ */

/* A new sparse file of size bytes; returns its path (static storage, one per call). */
static const char *
make_file(uint64_t size)
{
	static char paths[64][128];
	char *path = paths[g_file_seq % 64];
	int fd;

	snprintf(path, sizeof(paths[0]), "%s/f%d.img", g_dir, g_file_seq++);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(ftruncate(fd, (off_t)size) == 0);
	close(fd);
	return path;
}

static int
create(const char *name, const char *path, bool readonly, uint32_t block_size)
{
	struct file_create_opts opts = {
		.name = name,
		.filename = path,
		.block_size = block_size,
		.readonly = readonly,
		.fallocate = true,
		.kind = g_kind,
	};
	char err[256];

	return bdev_file_create(&opts, err, sizeof(err));
}

static void
delete_done(void *arg, int rc)
{
	int *out = arg;

	*out = rc;
}

static int delete (const char *name)
{
	struct file_disk *fdisk;
	char err[256];
	int rc = 1;

	fdisk = bdev_file_find(name, g_kind, err, sizeof(err));
	if (fdisk == NULL) {
		return -ENODEV;
	}
	if (bdev_file_delete(fdisk, delete_done, &rc, err, sizeof(err)) != 0) {
		return -EIO;
	}
	while (rc == 1) {
		vt_reactor_poll_once();
	}
	return rc;
}

/* ---- descriptors and I/O ---------------------------------------------------------------- */

struct ut_dev {
	struct vt_bdev_desc *desc;
	struct vt_bdev_channel *ch;
	struct vt_bdev *bdev;
	int resize_events;
	int remove_events;
};

static void
ut_event(enum vt_bdev_event_type type, struct vt_bdev *bdev, void *ctx)
{
	struct ut_dev *d = ctx;

	if (type == VT_BDEV_EVENT_RESIZE) {
		d->resize_events++;
	} else {
		d->remove_events++;
	}
}

static void
dev_open(struct ut_dev *d, const char *name, bool write)
{
	memset(d, 0, sizeof(*d));
	CU_ASSERT_FATAL(vt_bdev_open(name, write, ut_event, d, &d->desc) == 0);
	d->bdev = vt_bdev_desc_get_bdev(d->desc);
	d->ch = vt_bdev_get_io_channel(d->desc);
	CU_ASSERT_FATAL(d->ch != NULL);
}

static void
dev_close(struct ut_dev *d)
{
	vt_bdev_put_io_channel(d->ch);
	vt_bdev_close(d->desc);
	/* Let the layer destroy the channel (it may do so on a later iteration). */
	poll_for(1000);
}

static struct file_channel *
dev_fch(struct ut_dev *d)
{
	return vt_bdev_channel_get_module_ch(d->ch);
}

struct ut_io {
	bool done;
	bool success;
	int err;
	enum vt_bdev_io_status status;
};

static void
io_done(struct vt_bdev_io *io, bool success, void *cb_arg)
{
	struct ut_io *u = cb_arg;

	u->done = true;
	u->success = success;
	u->status = vt_bdev_io_get_status(io);
	u->err = success ? 0 : vt_bdev_io_get_errno(io);
}

/* Waits for u; returns 0 on success, the errno otherwise, -1 when it never completed. */
static int
io_wait(int rc, struct ut_io *u)
{
	if (rc != 0) {
		return rc;
	}
	if (!poll_until(&u->done)) {
		return -1;
	}
	return u->success ? 0 : (u->err ? u->err : EIO);
}

static int
dev_writev(struct ut_dev *d, struct iovec *iov, int iovcnt, uint64_t lba, uint64_t n,
	   uint32_t flags)
{
	struct ut_io u = { 0 };

	return io_wait(
		vt_bdev_writev_blocks(d->desc, d->ch, iov, iovcnt, lba, n, flags, io_done, &u), &u);
}

static int
dev_readv(struct ut_dev *d, struct iovec *iov, int iovcnt, uint64_t lba, uint64_t n)
{
	struct ut_io u = { 0 };

	return io_wait(vt_bdev_readv_blocks(d->desc, d->ch, iov, iovcnt, lba, n, io_done, &u), &u);
}

static int
dev_write(struct ut_dev *d, void *buf, uint64_t lba, uint64_t n, uint32_t flags)
{
	struct iovec iov = { buf, n * vt_bdev_get_block_size(d->bdev) };

	return dev_writev(d, &iov, 1, lba, n, flags);
}

static int
dev_read(struct ut_dev *d, void *buf, uint64_t lba, uint64_t n)
{
	struct iovec iov = { buf, n * vt_bdev_get_block_size(d->bdev) };

	return dev_readv(d, &iov, 1, lba, n);
}

static int
dev_flush(struct ut_dev *d)
{
	struct ut_io u = { 0 };

	return io_wait(vt_bdev_flush_blocks(d->desc, d->ch, 0, vt_bdev_get_num_blocks(d->bdev),
					    io_done, &u),
		       &u);
}

static int
dev_unmap(struct ut_dev *d, uint64_t lba, uint64_t n)
{
	struct ut_io u = { 0 };

	return io_wait(vt_bdev_unmap_blocks(d->desc, d->ch, lba, n, io_done, &u), &u);
}

static int
dev_write_zeroes(struct ut_dev *d, uint64_t lba, uint64_t n)
{
	struct ut_io u = { 0 };

	return io_wait(vt_bdev_write_zeroes_blocks(d->desc, d->ch, lba, n, io_done, &u), &u);
}

static void *
abuf(size_t len)
{
	void *p = NULL;

	CU_ASSERT_FATAL(posix_memalign(&p, 4096, len) == 0);
	return p;
}

static void
fill(void *buf, size_t len, unsigned int seed)
{
	uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		p[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 9));
	}
}

/* Reads blocks [lba, lba + n) straight from the file. */
static void
file_pread(const char *path, void *buf, uint64_t lba, uint64_t n)
{
	int fd = open(path, O_RDONLY);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(pread(fd, buf, n * UT_BS, (off_t)(lba * UT_BS)) == (ssize_t)(n * UT_BS));
	close(fd);
}

static const struct file_engine *
expected_engine(void)
{
	return g_kind == FILE_KIND_URING ? &file_engine_uring : &file_engine_aio;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void
rw_round_trip_with_aligned_iovecs_is_zero_copy(void)
{
	const char *path = make_file(UT_FILE_SIZE);
	size_t len = 64 * UT_BS;
	uint8_t *wbuf = abuf(len), *rbuf = abuf(len), *fbuf = abuf(len);
	struct iovec wiov[2] = { { wbuf, 16 * UT_BS }, { wbuf + 16 * UT_BS, 48 * UT_BS } };
	struct ut_dev d;

	CU_ASSERT_FATAL(create("F0", path, false, 0) == 0);
	dev_open(&d, "F0", true);
	CU_ASSERT(dev_fch(&d)->engine == expected_engine());
	CU_ASSERT(vt_bdev_get_block_size(d.bdev) == UT_BS);
	CU_ASSERT(vt_bdev_get_num_blocks(d.bdev) == UT_FILE_SIZE / UT_BS);
	fill(wbuf, len, 1);
	CU_ASSERT(dev_writev(&d, wiov, 2, 100, 64, 0) == 0);
	memset(rbuf, 0, len);
	CU_ASSERT(dev_read(&d, rbuf, 100, 64) == 0);
	CU_ASSERT(memcmp(wbuf, rbuf, len) == 0);
	CU_ASSERT(dev_fch(&d)->bounced == 0);
	/* The data is where the LBA says, in the file itself. */
	file_pread(path, fbuf, 100, 64);
	CU_ASSERT(memcmp(wbuf, fbuf, len) == 0);
	dev_close(&d);
	CU_ASSERT(delete ("F0") == 0);
	free(wbuf);
	free(rbuf);
	free(fbuf);
}

static void
rw_round_trip_with_unaligned_iovecs_bounces(void)
{
	const char *path = make_file(UT_FILE_SIZE);
	size_t len = 8 * UT_BS;
	uint8_t *w0 = abuf(len), *w1 = abuf(len), *r0 = abuf(len), *r1 = abuf(len);
	uint8_t *expect = abuf(len), *got = abuf(len);
	/* Aligned addresses, lengths that are not multiples of the block alignment. */
	struct iovec wiov[2] = { { w0, 3 * UT_BS + 100 }, { w1, 5 * UT_BS - 100 } };
	struct iovec riov[2] = { { r0, 5 * UT_BS - 7 }, { r1, 3 * UT_BS + 7 } };
	struct ut_dev d;
	struct file_disk *fdisk;

	CU_ASSERT_FATAL(create("F1", path, false, 0) == 0);
	dev_open(&d, "F1", true);
	fdisk = d.bdev->ctxt;
	fill(expect, len, 2);
	memcpy(w0, expect, wiov[0].iov_len);
	memcpy(w1, expect + wiov[0].iov_len, wiov[1].iov_len);
	CU_ASSERT(dev_writev(&d, wiov, 2, 7, 8, 0) == 0);
	CU_ASSERT(dev_readv(&d, riov, 2, 7, 8) == 0);
	memcpy(got, r0, riov[0].iov_len);
	memcpy(got + riov[0].iov_len, r1, riov[1].iov_len);
	CU_ASSERT(memcmp(expect, got, len) == 0);
	file_pread(path, got, 7, 8);
	CU_ASSERT(memcmp(expect, got, len) == 0);
	if (fdisk->direct) {
		/* O_DIRECT cannot take these iovecs: the module (or the layer) copied them. */
		CU_ASSERT(!file_iov_dio_ok(fdisk, wiov, 2));
	}
	dev_close(&d);
	CU_ASSERT(delete ("F1") == 0);
	free(w0);
	free(w1);
	free(r0);
	free(r1);
	free(expect);
	free(got);
}

static void
module_bounce_copies_misaligned_data_both_ways(void)
{
	const char *path = make_file(UT_FILE_SIZE);
	size_t len = 8 * UT_BS;
	uint8_t *b0 = abuf(len), *b1 = abuf(len), *expect = abuf(len), *got = abuf(len);
	/* Fine for the layer (512-byte aligned), not for a 4096-byte O_DIRECT length alignment. */
	struct iovec iov[2] = { { b0, 3 * UT_BS }, { b1, 5 * UT_BS } };
	struct file_disk *fdisk;
	struct ut_dev d;

	CU_ASSERT_FATAL(create("F2", path, false, 0) == 0);
	fdisk = vt_bdev_get_by_name("F2")->ctxt;
	/* As a 4Kn disk whose DMA alignment is 512 bytes reports itself. */
	fdisk->len_align = 4096;
	dev_open(&d, "F2", true);
	fill(expect, len, 3);
	memcpy(b0, expect, iov[0].iov_len);
	memcpy(b1, expect + iov[0].iov_len, iov[1].iov_len);
	CU_ASSERT(dev_writev(&d, iov, 2, 16, 8, 0) == 0);
	memset(b0, 0, len);
	memset(b1, 0, len);
	CU_ASSERT(dev_readv(&d, iov, 2, 16, 8) == 0);
	CU_ASSERT(memcmp(b0, expect, iov[0].iov_len) == 0);
	CU_ASSERT(memcmp(b1, expect + iov[0].iov_len, iov[1].iov_len) == 0);
	file_pread(path, got, 16, 8);
	CU_ASSERT(memcmp(got, expect, len) == 0);
	CU_ASSERT(dev_fch(&d)->bounced == (fdisk->direct ? 2 : 0));
	dev_close(&d);
	CU_ASSERT(delete ("F2") == 0);
	free(b0);
	free(b1);
	free(expect);
	free(got);
}

static void
read_of_sparse_file_and_past_eof_returns_zeroes(void)
{
	const char *path = make_file(UT_FILE_SIZE);
	size_t len = 16 * UT_BS;
	uint8_t *wbuf = abuf(len), *rbuf = abuf(len), *zero = calloc(1, len);
	struct iovec iov[3] = {
		{ rbuf, 4 * UT_BS },
		{ rbuf + 4 * UT_BS, 6 * UT_BS },
		{ rbuf + 10 * UT_BS, 6 * UT_BS },
	};
	struct ut_dev d;

	CU_ASSERT_FATAL(create("F3", path, false, 0) == 0);
	dev_open(&d, "F3", true);
	/* A hole reads as zeroes. */
	memset(rbuf, 0xa5, len);
	CU_ASSERT(dev_read(&d, rbuf, 1000, 16) == 0);
	CU_ASSERT(memcmp(rbuf, zero, len) == 0);
	/* The file shrinks under the bdev: the part past the new end of file reads as zeroes. */
	fill(wbuf, len, 4);
	CU_ASSERT(dev_write(&d, wbuf, 0, 16, 0) == 0);
	CU_ASSERT(truncate(path, 8 * UT_BS) == 0);
	memset(rbuf, 0xa5, len);
	/* Several iovecs: the rest after the short read starts inside the second one. */
	CU_ASSERT(dev_readv(&d, iov, 3, 0, 16) == 0);
	CU_ASSERT(memcmp(rbuf, wbuf, 8 * UT_BS) == 0);
	CU_ASSERT(memcmp(rbuf + 8 * UT_BS, zero, 8 * UT_BS) == 0);
	/* Entirely past the end of file. */
	memset(rbuf, 0xa5, len);
	CU_ASSERT(dev_read(&d, rbuf, 64, 16) == 0);
	CU_ASSERT(memcmp(rbuf, zero, len) == 0);
	dev_close(&d);
	CU_ASSERT(delete ("F3") == 0);
	free(wbuf);
	free(rbuf);
	free(zero);
}

static void
flush_succeeds(void)
{
	const char *path = make_file(UT_FILE_SIZE);
	uint8_t *buf = abuf(UT_BS);
	struct ut_dev d;

	CU_ASSERT_FATAL(create("F4", path, false, 0) == 0);
	CU_ASSERT(vt_bdev_has_write_cache(vt_bdev_get_by_name("F4")));
	CU_ASSERT(vt_bdev_io_type_supported(vt_bdev_get_by_name("F4"), VT_BDEV_IO_TYPE_FLUSH));
	dev_open(&d, "F4", true);
	fill(buf, UT_BS, 5);
	CU_ASSERT(dev_write(&d, buf, 3, 1, 0) == 0);
	CU_ASSERT(dev_flush(&d) == 0);
	dev_close(&d);
	CU_ASSERT(delete ("F4") == 0);
	free(buf);
}

static uint64_t
file_allocated(const char *path)
{
	struct stat st;

	CU_ASSERT_FATAL(stat(path, &st) == 0);
	return (uint64_t)st.st_blocks * 512;
}

static void
unmap_punches_a_hole_and_reads_back_zeroes(void)
{
	const char *path = make_file(UT_FILE_SIZE);
	size_t len = 256 * UT_BS;
	uint8_t *wbuf = abuf(len), *rbuf = abuf(len), *zero = calloc(1, len);
	struct ut_dev d;
	uint64_t before;

	CU_ASSERT_FATAL(create("F5", path, false, 0) == 0);
	CU_ASSERT(vt_bdev_io_type_supported(vt_bdev_get_by_name("F5"), VT_BDEV_IO_TYPE_UNMAP));
	dev_open(&d, "F5", true);
	fill(wbuf, len, 6);
	CU_ASSERT(dev_write(&d, wbuf, 0, 256, 0) == 0);
	CU_ASSERT(dev_flush(&d) == 0);
	before = file_allocated(path);
	CU_ASSERT(dev_unmap(&d, 64, 128) == 0);
	CU_ASSERT(file_allocated(path) < before);
	CU_ASSERT(dev_read(&d, rbuf, 0, 256) == 0);
	CU_ASSERT(memcmp(rbuf, wbuf, 64 * UT_BS) == 0);
	CU_ASSERT(memcmp(rbuf + 64 * UT_BS, zero, 128 * UT_BS) == 0);
	CU_ASSERT(memcmp(rbuf + 192 * UT_BS, wbuf + 192 * UT_BS, 64 * UT_BS) == 0);
	dev_close(&d);
	CU_ASSERT(delete ("F5") == 0);
	free(wbuf);
	free(rbuf);
	free(zero);
}

struct ut_lbas {
	bool done;
	bool success;
	enum vt_bdev_lba_status st;
	uint64_t n;
};

static void
lbas_done(struct vt_bdev_io *io, bool success, void *cb_arg)
{
	struct ut_lbas *u = cb_arg;

	u->done = true;
	u->success = success;
	if (success) {
		u->st = vt_bdev_io_get_lba_status(io, &u->n);
	}
}

/* The state of lba and the length of its extent (at most max); false when it failed. */
static bool
dev_lba_status(struct ut_dev *d, uint64_t lba, uint64_t max, enum vt_bdev_lba_status *st,
	       uint64_t *n)
{
	struct ut_lbas u = { 0 };

	if (vt_bdev_get_lba_status(d->desc, d->ch, lba, max, lbas_done, &u) != 0 ||
	    !poll_until(&u.done) || !u.success) {
		return false;
	}
	*st = u.st;
	*n = u.n;
	return true;
}

static void
get_lba_status_reports_holes_as_deallocated(void)
{
	const char *path = make_file(UT_FILE_SIZE);
	size_t len = 256 * UT_BS;
	uint8_t *wbuf = abuf(len);
	enum vt_bdev_lba_status st = VT_BDEV_LBA_MAPPED;
	uint64_t n = 0;
	struct ut_dev d;

	CU_ASSERT_FATAL(create("F13", path, false, 0) == 0);
	dev_open(&d, "F13", true);
	/* A new sparse file: all hole. */
	CU_ASSERT(dev_lba_status(&d, 0, 1000, &st, &n));
	CU_ASSERT_EQUAL(st, VT_BDEV_LBA_DEALLOCATED);
	CU_ASSERT_EQUAL(n, 1000);
	fill(wbuf, len, 9);
	CU_ASSERT(dev_write(&d, wbuf, 0, 256, 0) == 0);
	CU_ASSERT(dev_unmap(&d, 64, 128) == 0);
	CU_ASSERT(dev_lba_status(&d, 0, 1000, &st, &n));
	CU_ASSERT_EQUAL(st, VT_BDEV_LBA_MAPPED);
	CU_ASSERT_EQUAL(n, 64);
	CU_ASSERT(dev_lba_status(&d, 64, 1000, &st, &n));
	CU_ASSERT_EQUAL(st, VT_BDEV_LBA_DEALLOCATED);
	CU_ASSERT_EQUAL(n, 128);
	CU_ASSERT(dev_lba_status(&d, 192, 10, &st, &n));
	CU_ASSERT_EQUAL(st, VT_BDEV_LBA_MAPPED);
	CU_ASSERT_EQUAL(n, 10);
	/* Past the data the file is a hole up to its end. */
	CU_ASSERT(dev_lba_status(&d, 256, UT_FILE_SIZE / UT_BS - 256, &st, &n));
	CU_ASSERT_EQUAL(st, VT_BDEV_LBA_DEALLOCATED);
	CU_ASSERT_EQUAL(n, UT_FILE_SIZE / UT_BS - 256);
	dev_close(&d);
	CU_ASSERT(delete ("F13") == 0);
	free(wbuf);
}

static void
write_zeroes_reads_back_zeroes(void)
{
	const char *path = make_file(UT_FILE_SIZE);
	size_t len = 64 * UT_BS;
	uint8_t *wbuf = abuf(len), *rbuf = abuf(len), *zero = calloc(1, len);
	struct ut_dev d;

	CU_ASSERT_FATAL(create("F6", path, false, 0) == 0);
	dev_open(&d, "F6", true);
	fill(wbuf, len, 7);
	CU_ASSERT(dev_write(&d, wbuf, 10, 64, 0) == 0);
	CU_ASSERT(dev_write_zeroes(&d, 11, 62) == 0);
	CU_ASSERT(dev_read(&d, rbuf, 10, 64) == 0);
	CU_ASSERT(memcmp(rbuf, wbuf, UT_BS) == 0);
	CU_ASSERT(memcmp(rbuf + UT_BS, zero, 62 * UT_BS) == 0);
	CU_ASSERT(memcmp(rbuf + 63 * UT_BS, wbuf + 63 * UT_BS, UT_BS) == 0);
	dev_close(&d);
	CU_ASSERT(delete ("F6") == 0);
	free(wbuf);
	free(rbuf);
	free(zero);
}

static void
unmap_and_write_zeroes_without_fallocate_support_write_zeroes(void)
{
	const char *path = make_file(UT_FILE_SIZE);
	/* 3 MiB: more than one chunk of the zero buffer. */
	uint64_t nblocks = 3 * 1024 * 1024 / UT_BS + 5;
	size_t len = nblocks * UT_BS;
	uint8_t *wbuf = abuf(len), *rbuf = abuf(len), *zero = calloc(1, len);
	struct file_disk *fdisk;
	struct ut_dev d;

	CU_ASSERT_FATAL(create("F7", path, false, 0) == 0);
	fdisk = vt_bdev_get_by_name("F7")->ctxt;
	/* As a filesystem answering EOPNOTSUPP would have taught the module. */
	fdisk->no_punch_hole = true;
	fdisk->no_zero_range = true;
	dev_open(&d, "F7", true);
	fill(wbuf, len, 8);
	CU_ASSERT(dev_write(&d, wbuf, 1, nblocks, 0) == 0);
	CU_ASSERT(dev_write_zeroes(&d, 2, nblocks - 2) == 0);
	CU_ASSERT(dev_read(&d, rbuf, 1, nblocks) == 0);
	CU_ASSERT(memcmp(rbuf, wbuf, UT_BS) == 0);
	CU_ASSERT(memcmp(rbuf + UT_BS, zero, (nblocks - 2) * UT_BS) == 0);
	CU_ASSERT(memcmp(rbuf + (nblocks - 1) * UT_BS, wbuf + (nblocks - 1) * UT_BS, UT_BS) == 0);
	CU_ASSERT(dev_write(&d, wbuf, 1, nblocks, 0) == 0);
	CU_ASSERT(dev_unmap(&d, 1, 8) == 0);
	CU_ASSERT(dev_read(&d, rbuf, 1, 9) == 0);
	CU_ASSERT(memcmp(rbuf, zero, 8 * UT_BS) == 0);
	CU_ASSERT(memcmp(rbuf + 8 * UT_BS, wbuf + 8 * UT_BS, UT_BS) == 0);
	dev_close(&d);
	CU_ASSERT(delete ("F7") == 0);
	free(wbuf);
	free(rbuf);
	free(zero);
}

static void
fua_write_completes_with_rwf_dsync_and_with_fdatasync(void)
{
	const char *path = make_file(UT_FILE_SIZE);
	size_t len = 8 * UT_BS;
	uint8_t *wbuf = abuf(len), *rbuf = abuf(len);
	struct ut_dev d;

	CU_ASSERT_FATAL(create("F8", path, false, 0) == 0);
	dev_open(&d, "F8", true);
	fill(wbuf, len, 9);
	CU_ASSERT(dev_write(&d, wbuf, 40, 8, VT_BDEV_IO_FLAG_FUA) == 0);
	CU_ASSERT(!g_rwf_dsync_unsupported);
	file_pread(path, rbuf, 40, 8);
	CU_ASSERT(memcmp(rbuf, wbuf, len) == 0);
	/* A kernel without RWF_DSYNC: the write is followed by an fdatasync. */
	g_rwf_dsync_unsupported = true;
	fill(wbuf, len, 10);
	CU_ASSERT(dev_write(&d, wbuf, 40, 8, VT_BDEV_IO_FLAG_FUA) == 0);
	file_pread(path, rbuf, 40, 8);
	CU_ASSERT(memcmp(rbuf, wbuf, len) == 0);
	g_rwf_dsync_unsupported = false;
	dev_close(&d);
	CU_ASSERT(delete ("F8") == 0);
	free(wbuf);
	free(rbuf);
}

static void
readonly_bdev_refuses_writes(void)
{
	const char *path = make_file(UT_FILE_SIZE);
	struct vt_bdev_desc *desc = NULL;
	uint8_t *buf = abuf(UT_BS);
	struct file_disk *fdisk;
	struct vt_bdev *bdev;
	struct ut_dev d;

	CU_ASSERT_FATAL(create("F9", path, true, 0) == 0);
	bdev = vt_bdev_get_by_name("F9");
	fdisk = bdev->ctxt;
	CU_ASSERT(vt_bdev_is_read_only(bdev));
	CU_ASSERT((fcntl(fdisk->fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
	CU_ASSERT(vt_bdev_io_type_supported(bdev, VT_BDEV_IO_TYPE_READ));
	CU_ASSERT(!vt_bdev_io_type_supported(bdev, VT_BDEV_IO_TYPE_WRITE));
	CU_ASSERT(!vt_bdev_io_type_supported(bdev, VT_BDEV_IO_TYPE_UNMAP));
	CU_ASSERT(!vt_bdev_io_type_supported(bdev, VT_BDEV_IO_TYPE_WRITE_ZEROES));
	CU_ASSERT(vt_bdev_open("F9", true, ut_event, NULL, &desc) == -EPERM);
	dev_open(&d, "F9", false);
	CU_ASSERT(dev_read(&d, buf, 0, 1) == 0);
	CU_ASSERT(dev_write(&d, buf, 0, 1, 0) != 0);
	dev_close(&d);
	CU_ASSERT(delete ("F9") == 0);
	free(buf);
}

static void
rescan_after_growing_the_file_sends_resize(void)
{
	const char *path = make_file(UT_FILE_SIZE);
	struct file_disk *fdisk;
	char err[256];
	struct ut_dev d;

	CU_ASSERT_FATAL(create("F10", path, false, 0) == 0);
	fdisk = bdev_file_find("F10", g_kind, err, sizeof(err));
	CU_ASSERT_FATAL(fdisk != NULL);
	dev_open(&d, "F10", true);
	/* Unchanged size: no event. */
	CU_ASSERT(bdev_file_rescan(fdisk, err, sizeof(err)) == 0);
	poll_for(2000);
	CU_ASSERT(d.resize_events == 0);
	/* 2 MiB more and a partial block, which does not count. */
	CU_ASSERT(truncate(path, UT_FILE_SIZE + 2 * 1024 * 1024 + 100) == 0);
	CU_ASSERT(bdev_file_rescan(fdisk, err, sizeof(err)) == 0);
	CU_ASSERT(poll_until_count(&d.resize_events, 1));
	CU_ASSERT(vt_bdev_get_num_blocks(d.bdev) == (UT_FILE_SIZE + 2 * 1024 * 1024) / UT_BS);
	dev_close(&d);
	CU_ASSERT(delete ("F10") == 0);
}

static void
create_fails_for_a_missing_file(void)
{
	struct file_create_opts opts = {
		.name = "Missing",
		.filename = "/nonexistent/vt_file_ut.img",
		.kind = g_kind,
	};
	char err[256];

	CU_ASSERT(bdev_file_create(&opts, err, sizeof(err)) == -ENOENT);
	CU_ASSERT_STRING_EQUAL(err, "cannot open '/nonexistent/vt_file_ut.img': No such file or "
				    "directory");
	CU_ASSERT(vt_bdev_get_by_name("Missing") == NULL);
}

static void
create_checks_block_size_and_rounds_size_down(void)
{
	const char *path = make_file(3 * 4096 + 100);
	struct vt_bdev *bdev;

	CU_ASSERT(create("F11", path, false, 1000) == -EINVAL);
	CU_ASSERT(create("F11", path, false, 256) == -EINVAL);
	CU_ASSERT(create("F11", make_file(100), false, 0) == -EINVAL);
	CU_ASSERT_FATAL(create("F11", path, false, 4096) == 0);
	CU_ASSERT(create("F11", path, false, 0) == -EEXIST);
	bdev = vt_bdev_get_by_name("F11");
	CU_ASSERT(vt_bdev_get_block_size(bdev) == 4096);
	CU_ASSERT(vt_bdev_get_num_blocks(bdev) == 3);
	CU_ASSERT(((struct file_disk *)bdev->ctxt)->block_size_override);
	CU_ASSERT_STRING_EQUAL(vt_bdev_get_product_name(bdev),
			       g_kind == FILE_KIND_AIO ? "AIO disk" : "URING bdev");
	CU_ASSERT(delete ("F11") == 0);
}

static void
reset_completes_after_io_in_flight(void)
{
	const char *path = make_file(UT_FILE_SIZE);
	size_t len = 32 * UT_BS;
	uint8_t *buf = abuf(len);
	struct iovec iov = { buf, len };
	struct ut_io w = { 0 }, r = { 0 };
	struct ut_dev d;

	CU_ASSERT_FATAL(create("F12", path, false, 0) == 0);
	CU_ASSERT(vt_bdev_io_type_supported(vt_bdev_get_by_name("F12"), VT_BDEV_IO_TYPE_RESET));
	dev_open(&d, "F12", true);
	fill(buf, len, 11);
	CU_ASSERT(vt_bdev_writev_blocks(d.desc, d.ch, &iov, 1, 0, 32, 0, io_done, &w) == 0);
	CU_ASSERT(vt_bdev_reset(d.desc, d.ch, io_done, &r) == 0);
	CU_ASSERT(poll_until(&r.done));
	CU_ASSERT(r.success);
	/* The write was submitted before the reset: it completed (either way) first. */
	CU_ASSERT(w.done);
	CU_ASSERT(dev_fch(&d)->inflight == 0);
	dev_close(&d);
	CU_ASSERT(delete ("F12") == 0);
	free(buf);
}

static void
delete_syncs_closes_and_removes_the_bdev(void)
{
	const char *path = make_file(UT_FILE_SIZE);
	uint8_t *buf = abuf(UT_BS), *got = abuf(UT_BS);
	struct ut_dev d;

	CU_ASSERT_FATAL(create("F13", path, false, 0) == 0);
	dev_open(&d, "F13", true);
	fill(buf, UT_BS, 12);
	CU_ASSERT(dev_write(&d, buf, 5, 1, 0) == 0);
	dev_close(&d);
	/* The last deletion step, fdatasync and close, runs on the worker thread. */
	CU_ASSERT(delete ("F13") == 0);
	CU_ASSERT(vt_bdev_get_by_name("F13") == NULL);
	file_pread(path, got, 5, 1);
	CU_ASSERT(memcmp(buf, got, UT_BS) == 0);
	/* The name can be used again. */
	CU_ASSERT(create("F13", path, false, 0) == 0);
	CU_ASSERT(delete ("F13") == 0);
	free(buf);
	free(got);
}

static const char *
json_of(struct vt_json_write_ctx *w)
{
	size_t len;

	CU_ASSERT(vt_json_write_end(w) == 0);
	return vt_json_write_buf(w, &len);
}

static void
json_describes_and_recreates_the_bdev(void)
{
	const char *path = make_file(UT_FILE_SIZE);
	struct vt_json_write_ctx *w;
	struct vt_bdev *bdev;
	char expect[512], uuid[VT_UUID_STRING_LEN];

	CU_ASSERT_FATAL(create("F14", path, false, 4096) == 0);
	bdev = vt_bdev_get_by_name("F14");
	CU_ASSERT(vt_uuid_fmt(uuid, sizeof(uuid), &bdev->uuid) == 0);

	w = vt_json_write_begin(false);
	vt_json_write_object_begin(w);
	bdev->fn_table->dump_info_json(bdev->ctxt, w);
	vt_json_write_object_end(w);
	if (g_kind == FILE_KIND_AIO) {
		snprintf(expect, sizeof(expect),
			 "{\"aio\":{\"filename\":\"%s\","
			 "\"block_size_override\":true,\"readonly\":false,\"fallocate\":true,"
			 "\"nowait\":false}}",
			 path);
	} else {
		snprintf(expect, sizeof(expect), "{\"uring\":{\"filename\":\"%s\"}}", path);
	}
	CU_ASSERT_STRING_EQUAL(json_of(w), expect);
	vt_json_write_free(w);

	w = vt_json_write_begin(false);
	bdev->fn_table->write_config_json(bdev, w);
	if (g_kind == FILE_KIND_AIO) {
		snprintf(expect, sizeof(expect),
			 "{\"method\":\"bdev_aio_create\",\"params\":{"
			 "\"name\":\"F14\",\"filename\":\"%s\",\"block_size\":4096,"
			 "\"readonly\":false,\"fallocate\":true,\"nowait\":false,\"uuid\":\"%s\"}}",
			 path, uuid);
	} else {
		snprintf(expect, sizeof(expect),
			 "{\"method\":\"bdev_uring_create\",\"params\":{"
			 "\"name\":\"F14\",\"filename\":\"%s\",\"block_size\":4096,"
			 "\"uuid\":\"%s\"}}",
			 path, uuid);
	}
	CU_ASSERT_STRING_EQUAL(json_of(w), expect);
	vt_json_write_free(w);
	CU_ASSERT(delete ("F14") == 0);
}

static void
uring_falls_back_to_libaio_when_the_ring_cannot_be_set_up(void)
{
	const char *path = make_file(UT_FILE_SIZE);
	uint8_t *wbuf = abuf(UT_BS), *rbuf = abuf(UT_BS);
	unsigned int saved = g_uring_entries;
	struct ut_dev d;

	CU_ASSERT_FATAL(create("F15", path, false, 0) == 0);
	g_uring_entries = 0; /* io_uring_queue_init refuses an empty ring */
	dev_open(&d, "F15", true);
	g_uring_entries = saved;
	CU_ASSERT(dev_fch(&d)->engine == &file_engine_aio);
	fill(wbuf, UT_BS, 13);
	CU_ASSERT(dev_write(&d, wbuf, 9, 1, 0) == 0);
	CU_ASSERT(dev_read(&d, rbuf, 9, 1) == 0);
	CU_ASSERT(memcmp(wbuf, rbuf, UT_BS) == 0);
	CU_ASSERT(dev_flush(&d) == 0);
	dev_close(&d);
	CU_ASSERT(delete ("F15") == 0);
	free(wbuf);
	free(rbuf);
}

static void
many_ios_in_flight_all_complete(void)
{
	const char *path = make_file(UT_FILE_SIZE);
	enum { N = 600 }; /* more than a ring or an AIO context holds: some are retried */
	uint8_t *buf = abuf((size_t)N * UT_BS), *got = abuf((size_t)N * UT_BS);
	struct iovec iov[N];
	static struct ut_io u[N];
	struct ut_dev d;
	int i, ok = 0, submitted = 0;

	CU_ASSERT_FATAL(create("F16", path, false, 0) == 0);
	dev_open(&d, "F16", true);
	fill(buf, (size_t)N * UT_BS, 14);
	memset(u, 0, sizeof(u));
	for (i = 0; i < N; i++) {
		iov[i].iov_base = buf + (size_t)i * UT_BS;
		iov[i].iov_len = UT_BS;
		if (vt_bdev_writev_blocks(d.desc, d.ch, &iov[i], 1, (uint64_t)i * 3, 1, 0, io_done,
					  &u[i]) == 0) {
			submitted++;
		}
	}
	for (i = 0; i < N; i++) {
		if (u[i].done || poll_until(&u[i].done)) {
			ok += u[i].success;
		}
	}
	CU_ASSERT(ok == submitted);
	for (i = 0; i < submitted; i++) {
		file_pread(path, got, (uint64_t)i * 3, 1);
		CU_ASSERT(memcmp(got, buf + (size_t)i * UT_BS, UT_BS) == 0);
	}
	dev_close(&d);
	CU_ASSERT(delete ("F16") == 0);
	free(buf);
	free(got);
}

/* ---- RPCs ------------------------------------------------------------------------------- */

static void __attribute__((format(printf, 3, 4)))
rpc(struct ut_rpc *a, const char *method, const char *params_fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, params_fmt);
	vsnprintf(text, sizeof(text), params_fmt, ap);
	va_end(ap);
	ut_rpc(a, method, text);
}

static void
rpcs_create_rescan_and_delete_with_spdk_results(void)
{
	const char *path = make_file(UT_FILE_SIZE);
	struct ut_rpc a;

	rpc(&a, "bdev_aio_create", "{\"name\":\"R0\",\"filename\":\"%s\",\"block_size\":512}",
	    path);
	CU_ASSERT(a.code == 0);
	CU_ASSERT_STRING_EQUAL(a.result, "\"R0\"");
	rpc(&a, "bdev_aio_create", "{\"name\":\"R0\",\"filename\":\"%s\"}", path);
	CU_ASSERT(a.code == -EEXIST);
	CU_ASSERT_STRING_EQUAL(a.msg, "bdev 'R0' already exists");
	rpc(&a, "bdev_aio_rescan", "{\"name\":\"%s\"}", "R0");
	CU_ASSERT(a.code == 0);
	CU_ASSERT_STRING_EQUAL(a.result, "true");
	rpc(&a, "bdev_uring_delete", "{\"name\":\"%s\"}", "R0");
	CU_ASSERT(a.code == -ENODEV);
	CU_ASSERT_STRING_EQUAL(a.msg, "bdev 'R0' is not a uring bdev");
	rpc(&a, "bdev_aio_delete", "{\"name\":\"%s\"}", "R0");
	CU_ASSERT(a.code == 0);
	CU_ASSERT_STRING_EQUAL(a.result, "true");
	CU_ASSERT(vt_bdev_get_by_name("R0") == NULL);

	rpc(&a, "bdev_uring_create",
	    "{\"name\":\"R1\",\"filename\":\"%s\","
	    "\"uuid\":\"0b7c4a2e-56c4-4f6e-9d1c-6e0a3c1f2b9d\"}",
	    path);
	CU_ASSERT(a.code == 0);
	CU_ASSERT_STRING_EQUAL(a.result, "\"R1\"");
	CU_ASSERT_STRING_EQUAL(vt_bdev_get_product_name(vt_bdev_get_by_name("R1")), "URING bdev");
	rpc(&a, "bdev_uring_rescan", "{\"name\":\"%s\"}", "R1");
	CU_ASSERT_STRING_EQUAL(a.result, "true");
	rpc(&a, "bdev_uring_delete", "{\"name\":\"%s\"}", "R1");
	CU_ASSERT_STRING_EQUAL(a.result, "true");
}

static void
rpcs_report_missing_files_and_unknown_bdevs(void)
{
	struct ut_rpc a;

	rpc(&a, "bdev_aio_create", "{\"name\":\"R2\",\"filename\":\"%s\"}", "/nonexistent/x.img");
	CU_ASSERT(a.code == -ENOENT);
	CU_ASSERT_STRING_EQUAL(a.msg,
			       "cannot open '/nonexistent/x.img': No such file or directory");
	rpc(&a, "bdev_uring_create", "{\"name\":\"R2\",\"filename\":\"%s\"}", "/nonexistent/x.img");
	CU_ASSERT(a.code == -ENOENT);
	rpc(&a, "bdev_aio_delete", "{\"name\":\"%s\"}", "Nope");
	CU_ASSERT(a.code == -ENODEV);
	CU_ASSERT_STRING_EQUAL(a.msg, "bdev 'Nope' does not exist");
	rpc(&a, "bdev_uring_rescan", "{\"name\":\"%s\"}", "Nope");
	CU_ASSERT(a.code == -ENODEV);
	rpc(&a, "bdev_aio_create", "{\"name\":\"%s\"}", "R3");
	CU_ASSERT(a.code == VT_JSONRPC_ERROR_INVALID_PARAMS);
	/* readonly is an aio parameter only, as in SPDK. */
	rpc(&a, "bdev_uring_create", "{\"name\":\"R3\",\"filename\":\"%s\",\"readonly\":true}",
	    "/x");
	CU_ASSERT(a.code == VT_JSONRPC_ERROR_INVALID_PARAMS);
}

static void
rpc_readonly_and_fallocate_options_reach_the_bdev(void)
{
	const char *path = make_file(UT_FILE_SIZE);
	struct ut_rpc a;
	struct vt_bdev *bdev;

	rpc(&a, "bdev_aio_create", "{\"name\":\"R4\",\"filename\":\"%s\",\"readonly\":true}", path);
	CU_ASSERT_FATAL(a.code == 0);
	bdev = vt_bdev_get_by_name("R4");
	CU_ASSERT(vt_bdev_is_read_only(bdev));
	CU_ASSERT(!vt_bdev_io_type_supported(bdev, VT_BDEV_IO_TYPE_WRITE));
	rpc(&a, "bdev_aio_delete", "{\"name\":\"%s\"}", "R4");
	rpc(&a, "bdev_aio_create", "{\"name\":\"R5\",\"filename\":\"%s\",\"fallocate\":false}",
	    path);
	CU_ASSERT_FATAL(a.code == 0);
	bdev = vt_bdev_get_by_name("R5");
	CU_ASSERT(vt_bdev_io_type_supported(bdev, VT_BDEV_IO_TYPE_WRITE));
	CU_ASSERT(!vt_bdev_io_type_supported(bdev, VT_BDEV_IO_TYPE_UNMAP));
	CU_ASSERT(!((struct file_disk *)bdev->ctxt)->fallocate);
	rpc(&a, "bdev_aio_delete", "{\"name\":\"%s\"}", "R5");
	CU_ASSERT(a.code == 0);
}

static void
rpc_deprecated_aio_names_still_work(void)
{
	const char *path = make_file(UT_FILE_SIZE);
	struct ut_rpc a;

	rpc(&a, "construct_aio_bdev", "{\"name\":\"R6\",\"filename\":\"%s\"}", path);
	CU_ASSERT(a.code == 0);
	CU_ASSERT(vt_bdev_get_by_name("R6") != NULL);
	rpc(&a, "delete_aio_bdev", "{\"name\":\"%s\"}", "R6");
	CU_ASSERT_STRING_EQUAL(a.result, "true");
	CU_ASSERT(vt_bdev_get_by_name("R6") == NULL);
}

/* ---- suites ----------------------------------------------------------------------------- */

static int
suite_init(enum file_kind kind, bool interrupt)
{
	g_kind = kind;
	g_interrupt = interrupt;
	return stack_up(interrupt);
}

static int
suite_fini(void)
{
	stack_down();
	return 0;
}

static int
aio_poll_init(void)
{
	return suite_init(FILE_KIND_AIO, false);
}
static int
uring_poll_init(void)
{
	return suite_init(FILE_KIND_URING, false);
}
static int
aio_intr_init(void)
{
	return suite_init(FILE_KIND_AIO, true);
}
static int
uring_intr_init(void)
{
	return suite_init(FILE_KIND_URING, true);
}

static int
rpc_init(void)
{
	/* As after the config replay: delete and rescan are runtime methods. */
	vt_rpc_set_state(VT_RPC_RUNTIME);
	return suite_init(FILE_KIND_AIO, false);
}

struct ut_test {
	const char *name;
	CU_TestFunc fn;
};

#define UT_TEST(fn)     \
	{               \
#fn, fn \
	}

static const struct ut_test g_engine_tests[] = {
	UT_TEST(rw_round_trip_with_aligned_iovecs_is_zero_copy),
	UT_TEST(rw_round_trip_with_unaligned_iovecs_bounces),
	UT_TEST(module_bounce_copies_misaligned_data_both_ways),
	UT_TEST(read_of_sparse_file_and_past_eof_returns_zeroes),
	UT_TEST(flush_succeeds),
	UT_TEST(unmap_punches_a_hole_and_reads_back_zeroes),
	UT_TEST(write_zeroes_reads_back_zeroes),
	UT_TEST(get_lba_status_reports_holes_as_deallocated),
	UT_TEST(unmap_and_write_zeroes_without_fallocate_support_write_zeroes),
	UT_TEST(fua_write_completes_with_rwf_dsync_and_with_fdatasync),
	UT_TEST(readonly_bdev_refuses_writes),
	UT_TEST(rescan_after_growing_the_file_sends_resize),
	UT_TEST(create_fails_for_a_missing_file),
	UT_TEST(create_checks_block_size_and_rounds_size_down),
	UT_TEST(reset_completes_after_io_in_flight),
	UT_TEST(delete_syncs_closes_and_removes_the_bdev),
	UT_TEST(json_describes_and_recreates_the_bdev),
	UT_TEST(many_ios_in_flight_all_complete),
};

static const struct ut_test g_uring_fallback_test =
	UT_TEST(uring_falls_back_to_libaio_when_the_ring_cannot_be_set_up);

static int
add_suite(const char *name, CU_InitializeFunc init, bool uring)
{
	CU_pSuite s = CU_add_suite(name, init, suite_fini);
	size_t i;

	if (s == NULL) {
		return -1;
	}
	for (i = 0; i < VT_COUNTOF(g_engine_tests); i++) {
		if (CU_add_test(s, g_engine_tests[i].name, g_engine_tests[i].fn) == NULL) {
			return -1;
		}
	}
	if (uring && CU_add_test(s, g_uring_fallback_test.name, g_uring_fallback_test.fn) == NULL) {
		return -1;
	}
	return 0;
}

static int
add_rpc_suite(void)
{
	CU_pSuite s = CU_add_suite("file_rpc", rpc_init, suite_fini);

	if (s == NULL ||
	    CU_add_test(s, "rpcs_create_rescan_and_delete_with_spdk_results",
			rpcs_create_rescan_and_delete_with_spdk_results) == NULL ||
	    CU_add_test(s, "rpcs_report_missing_files_and_unknown_bdevs",
			rpcs_report_missing_files_and_unknown_bdevs) == NULL ||
	    CU_add_test(s, "rpc_readonly_and_fallocate_options_reach_the_bdev",
			rpc_readonly_and_fallocate_options_reach_the_bdev) == NULL ||
	    CU_add_test(s, "rpc_deprecated_aio_names_still_work",
			rpc_deprecated_aio_names_still_work) == NULL) {
		return -1;
	}
	return 0;
}

static int
remove_tree(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	return system(cmd);
}

int
main(int argc, char **argv)
{
	int rc;

	snprintf(g_dir, sizeof(g_dir), "/tmp/vt_file_ut.XXXXXX");
	if (mkdtemp(g_dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	vt_log_set_print_level(VT_LOG_WARN);
	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	if (add_suite("file_aio", aio_poll_init, false) ||
	    add_suite("file_uring", uring_poll_init, true) ||
	    add_suite("file_aio_interrupt", aio_intr_init, false) ||
	    add_suite("file_uring_interrupt", uring_intr_init, true) || add_rpc_suite()) {
		CU_cleanup_registry();
		return 1;
	}
	rc = ut_run_tests();
	if (remove_tree() != 0) {
		fprintf(stderr, "cannot remove %s\n", g_dir);
	}
	return rc;
}
