/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The rbd bdev module with librados and librbd faked (the fakes below are link seams: defined
 * here, they win over the shared libraries): how each bdev I/O maps to a librbd aio call on the
 * caller's iovecs, completions from a foreign thread reaching the reactor, errors turned into
 * bdev errors and RPC answers, failed creations undoing every step, the cluster reference rules
 * and the resize watch.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bdev/rbd/bdev_rbd.c"
#include "lib/bdev/rbd/bdev_rbd_cluster.c"
#include "lib/bdev/rbd/bdev_rbd_io.c"
#include "lib/bdev/rbd/bdev_rbd_job.c"
#include "lib/bdev/rbd/bdev_rbd_rpc.c"

#include "vt/event.h"
#include "vt/rpc.h"

#include "lib/bdev/bdev_internal.h"
#include "test/unit/common/ut_bdev.h"
#include "test/unit/common/ut_main.h"
#include "test/unit/common/ut_reactor.h"
#include "test/unit/common/ut_rpc.h"

/* ---- fakes ------------------------------------------------------------------------------- */

enum fake_op { OP_READ, OP_WRITE, OP_DISCARD, OP_ZEROES, OP_FLUSH, OP_CW };

struct fake_comp {
	rbd_callback_t cb;
	void *arg;
	ssize_t ret;
};

#define MAX_PENDING 16

static struct {
	int connect_rc;
	int creates, shutdowns, ioctxs, ioctx_destroys, opens, closes, watches, unwatches;
	bool opened_read_only;
	uint64_t size;
	char last_conf_key[64];
	rbd_update_callback_t watch_cb;
	void *watch_arg;
	int submit_rc; /* returned by the next aio call */
	/* Submitted aio calls, completed by fake_complete_all. */
	pthread_mutex_t lock;
	int npending;
	struct {
		enum fake_op op;
		uint64_t off, len;
		const struct iovec *iov;
		int iovcnt;
		struct fake_comp *comp;
	} pending[MAX_PENDING];
} g_fake = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int g_token;

int
rados_create(rados_t *cluster, const char *const id)
{
	g_fake.creates++;
	*cluster = (rados_t)&g_token;
	return 0;
}

int
rados_conf_read_file(rados_t cluster, const char *path)
{
	return path != NULL && strcmp(path, "/missing.conf") == 0 ? -ENOENT : 0;
}

int
rados_conf_set(rados_t cluster, const char *option, const char *value)
{
	snprintf(g_fake.last_conf_key, sizeof(g_fake.last_conf_key), "%s", option);
	return strcmp(option, "bad_opt") == 0 ? -ENOENT : 0;
}

int
rados_connect(rados_t cluster)
{
	return g_fake.connect_rc;
}

void
rados_shutdown(rados_t cluster)
{
	g_fake.shutdowns++;
}

int
rados_ioctx_create(rados_t cluster, const char *pool_name, rados_ioctx_t *ioctx)
{
	if (strcmp(pool_name, "nopool") == 0) {
		return -ENOENT;
	}
	g_fake.ioctxs++;
	*ioctx = (rados_ioctx_t)&g_token;
	return 0;
}

void
rados_ioctx_destroy(rados_ioctx_t io)
{
	g_fake.ioctx_destroys++;
}

static int
fake_open(const char *name, rbd_image_t *image)
{
	if (strcmp(name, "noimg") == 0) {
		return -ENOENT;
	}
	g_fake.opens++;
	*image = (rbd_image_t)&g_token;
	return 0;
}

int
rbd_open(rados_ioctx_t io, const char *name, rbd_image_t *image, const char *snap_name)
{
	g_fake.opened_read_only = false;
	return fake_open(name, image);
}

int
rbd_open_read_only(rados_ioctx_t io, const char *name, rbd_image_t *image, const char *snap_name)
{
	g_fake.opened_read_only = true;
	return fake_open(name, image);
}

int
rbd_close(rbd_image_t image)
{
	g_fake.closes++;
	return 0;
}

int
rbd_get_size(rbd_image_t image, uint64_t *size)
{
	*size = g_fake.size;
	return 0;
}

int
rbd_resize(rbd_image_t image, uint64_t size)
{
	g_fake.size = size;
	return 0;
}

int
rbd_update_watch(rbd_image_t image, uint64_t *handle, rbd_update_callback_t watch_cb, void *arg)
{
	g_fake.watches++;
	g_fake.watch_cb = watch_cb;
	g_fake.watch_arg = arg;
	*handle = 7;
	return 0;
}

int
rbd_update_unwatch(rbd_image_t image, uint64_t handle)
{
	CU_ASSERT_EQUAL(handle, 7);
	g_fake.unwatches++;
	return 0;
}

int
rbd_aio_create_completion(void *cb_arg, rbd_callback_t complete_cb, rbd_completion_t *c)
{
	struct fake_comp *comp = calloc(1, sizeof(*comp));

	if (comp == NULL) {
		return -ENOMEM;
	}
	comp->cb = complete_cb;
	comp->arg = cb_arg;
	*c = comp;
	return 0;
}

ssize_t
rbd_aio_get_return_value(rbd_completion_t c)
{
	return ((struct fake_comp *)c)->ret;
}

void
rbd_aio_release(rbd_completion_t c)
{
	free(c);
}

static int
fake_submit(enum fake_op op, uint64_t off, uint64_t len, const struct iovec *iov, int iovcnt,
	    rbd_completion_t c)
{
	int rc = g_fake.submit_rc;

	if (rc != 0) {
		g_fake.submit_rc = 0;
		return rc;
	}
	pthread_mutex_lock(&g_fake.lock);
	CU_ASSERT_FATAL(g_fake.npending < MAX_PENDING);
	g_fake.pending[g_fake.npending].op = op;
	g_fake.pending[g_fake.npending].off = off;
	g_fake.pending[g_fake.npending].len = len;
	g_fake.pending[g_fake.npending].iov = iov;
	g_fake.pending[g_fake.npending].iovcnt = iovcnt;
	g_fake.pending[g_fake.npending].comp = c;
	g_fake.npending++;
	pthread_mutex_unlock(&g_fake.lock);
	return 0;
}

static uint64_t
iov_len(const struct iovec *iov, int n)
{
	uint64_t len = 0;

	for (int i = 0; i < n; i++) {
		len += iov[i].iov_len;
	}
	return len;
}

int
rbd_aio_readv(rbd_image_t image, const struct iovec *iov, int iovcnt, uint64_t off,
	      rbd_completion_t c)
{
	return fake_submit(OP_READ, off, iov_len(iov, iovcnt), iov, iovcnt, c);
}

int
rbd_aio_writev(rbd_image_t image, const struct iovec *iov, int iovcnt, uint64_t off,
	       rbd_completion_t c)
{
	return fake_submit(OP_WRITE, off, iov_len(iov, iovcnt), iov, iovcnt, c);
}

int
rbd_aio_discard(rbd_image_t image, uint64_t off, uint64_t len, rbd_completion_t c)
{
	return fake_submit(OP_DISCARD, off, len, NULL, 0, c);
}

int
rbd_aio_write_zeroes(rbd_image_t image, uint64_t off, size_t len, rbd_completion_t c,
		     int zero_flags, int op_flags)
{
	return fake_submit(OP_ZEROES, off, len, NULL, 0, c);
}

int
rbd_aio_flush(rbd_image_t image, rbd_completion_t c)
{
	return fake_submit(OP_FLUSH, 0, 0, NULL, 0, c);
}

/* The last compare-and-write: its buffers' first bytes and where to report a mismatch. */
static struct {
	char cmp0, buf0;
	uint64_t *mismatch_off;
} g_cw;

ssize_t
rbd_aio_compare_and_write(rbd_image_t image, uint64_t off, size_t len, const char *cmp_buf,
			  const char *buf, rbd_completion_t c, uint64_t *mismatch_off, int op_flags)
{
	g_cw.cmp0 = cmp_buf[0];
	g_cw.buf0 = buf[0];
	g_cw.mismatch_off = mismatch_off;
	return fake_submit(OP_CW, off, len, NULL, 0, c);
}

static ssize_t g_complete_ret;

/* librbd's completion thread: completes everything pending with g_complete_ret. */
static void *
fake_completer(void *arg)
{
	pthread_mutex_lock(&g_fake.lock);
	for (int i = 0; i < g_fake.npending; i++) {
		struct fake_comp *c = g_fake.pending[i].comp;

		c->ret = g_complete_ret;
		c->cb(c, c->arg);
	}
	g_fake.npending = 0;
	pthread_mutex_unlock(&g_fake.lock);
	return NULL;
}

static void
fake_complete_all(ssize_t ret)
{
	pthread_t t;

	g_complete_ret = ret;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, fake_completer, NULL), 0);
	pthread_join(t, NULL);
}

static void
fake_reset(void)
{
	pthread_mutex_t lock = g_fake.lock;

	memset(&g_fake, 0, sizeof(g_fake));
	g_fake.lock = lock;
	g_fake.size = 1024 * 1024;
}

/* ---- helpers ----------------------------------------------------------------------------- */

struct ut_create {
	int done;
	struct vt_bdev *bdev;
	struct rbd_err err;
};

static void
ut_create_cb(void *cb_arg, struct vt_bdev *bdev, const struct rbd_err *err)
{
	struct ut_create *c = cb_arg;

	c->done++;
	c->bdev = bdev;
	if (err != NULL) {
		c->err = *err;
	}
}

static struct vt_bdev *
ut_create_rbd(const char *name, const char *pool, const char *image, bool ro)
{
	struct rbd_create_opts opts = {
		.name = name,
		.pool_name = pool,
		.rbd_name = image,
		.block_size = 512,
		.read_only = ro,
	};
	struct ut_create c = { 0 };
	struct rbd_err err = { 0 };

	CU_ASSERT_EQUAL_FATAL(bdev_rbd_create(&opts, ut_create_cb, &c, &err), 0);
	CU_ASSERT_FATAL(ut_poll_until(&c.done, 1));
	return c.bdev;
}

static void
ut_delete(struct vt_bdev *bdev)
{
	int done = 0;

	CU_ASSERT_EQUAL(bdev_rbd_delete(bdev, ut_delete_cb, &done), 0);
	CU_ASSERT(ut_poll_until(&done, 1));
}

struct ut_open {
	struct vt_bdev_desc *desc;
	struct vt_bdev_channel *ch;
	int resized;
};

static void
ut_event_cb(enum vt_bdev_event_type type, struct vt_bdev *bdev, void *ctx)
{
	struct ut_open *o = ctx;

	if (type == VT_BDEV_EVENT_RESIZE) {
		o->resized++;
	}
}

static void
ut_open(struct ut_open *o, const char *name)
{
	memset(o, 0, sizeof(*o));
	CU_ASSERT_EQUAL_FATAL(vt_bdev_open(name, true, ut_event_cb, o, &o->desc), 0);
	o->ch = vt_bdev_get_io_channel(o->desc);
	CU_ASSERT_FATAL(o->ch != NULL);
}

static void
ut_close(struct ut_open *o)
{
	vt_bdev_put_io_channel(o->ch);
	vt_bdev_close(o->desc);
}

/* Waits until n aio calls are pending (the layer submits on the next reactor iteration). */
static bool
ut_wait_pending(int n)
{
	for (int i = 0; i < 100000; i++) {
		pthread_mutex_lock(&g_fake.lock);
		bool ok = g_fake.npending >= n;
		pthread_mutex_unlock(&g_fake.lock);
		if (ok) {
			return true;
		}
		ut_poll(1);
	}
	return false;
}

/* ---- tests ------------------------------------------------------------------------------- */

static void
rbd_maps_each_io_to_one_aio_call_on_the_callers_iovecs(void)
{
	struct vt_bdev *bdev;
	uint8_t buf[4096];
	struct iovec iov[2] = { { buf, 512 }, { buf + 512, 1024 } };
	struct ut_result r[6] = { 0 };
	struct ut_open o;

	fake_reset();
	bdev = ut_create_rbd("ut_rbd_io", "p", "img", false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bdev);
	CU_ASSERT_EQUAL(bdev->blockcnt, 2048);
	CU_ASSERT_STRING_EQUAL(bdev->product_name, "Ceph Rbd Disk");
	ut_open(&o, "ut_rbd_io");
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(o.desc, o.ch, iov, 2, 4, 3, ut_io_cb, &r[0]), 0);
	CU_ASSERT_EQUAL(vt_bdev_writev_blocks(o.desc, o.ch, iov, 2, 8, 3, 0, ut_io_cb, &r[1]), 0);
	CU_ASSERT_EQUAL(vt_bdev_unmap_blocks(o.desc, o.ch, 16, 4, ut_io_cb, &r[2]), 0);
	CU_ASSERT_EQUAL(vt_bdev_write_zeroes_blocks(o.desc, o.ch, 32, 2, ut_io_cb, &r[3]), 0);
	CU_ASSERT_EQUAL(vt_bdev_flush_blocks(o.desc, o.ch, 0, 2048, ut_io_cb, &r[4]), 0);
	CU_ASSERT_FATAL(ut_wait_pending(5));
	CU_ASSERT_EQUAL(g_fake.pending[0].op, OP_READ);
	CU_ASSERT_EQUAL(g_fake.pending[0].off, 4 * 512);
	CU_ASSERT_EQUAL(g_fake.pending[0].len, 3 * 512);
	/* No bounce copy: librbd gets the caller's iovecs. */
	CU_ASSERT_PTR_EQUAL(g_fake.pending[0].iov, iov);
	CU_ASSERT_EQUAL(g_fake.pending[0].iovcnt, 2);
	CU_ASSERT_EQUAL(g_fake.pending[1].op, OP_WRITE);
	CU_ASSERT_EQUAL(g_fake.pending[1].off, 8 * 512);
	CU_ASSERT_PTR_EQUAL(g_fake.pending[1].iov, iov);
	CU_ASSERT_EQUAL(g_fake.pending[2].op, OP_DISCARD);
	CU_ASSERT_EQUAL(g_fake.pending[2].off, 16 * 512);
	CU_ASSERT_EQUAL(g_fake.pending[2].len, 4 * 512);
	CU_ASSERT_EQUAL(g_fake.pending[3].op, OP_ZEROES);
	CU_ASSERT_EQUAL(g_fake.pending[3].off, 32 * 512);
	CU_ASSERT_EQUAL(g_fake.pending[3].len, 2 * 512);
	CU_ASSERT_EQUAL(g_fake.pending[4].op, OP_FLUSH);
	CU_ASSERT_EQUAL(r[0].done + r[1].done + r[2].done + r[3].done + r[4].done, 0);
	/* Completed on a foreign thread, delivered on the reactor. */
	fake_complete_all(0);
	CU_ASSERT(ut_poll_until(&r[4].done, 1));
	for (int i = 0; i < 5; i++) {
		CU_ASSERT_EQUAL(r[i].done, 1);
		CU_ASSERT_TRUE(r[i].success);
	}
	CU_ASSERT_FALSE(vt_bdev_io_type_supported(bdev, VT_BDEV_IO_TYPE_GET_LBA_STATUS) &&
			bdev->internal->native[VT_BDEV_IO_TYPE_GET_LBA_STATUS]);
	CU_ASSERT_TRUE(bdev->internal->native[VT_BDEV_IO_TYPE_COMPARE_AND_WRITE]);
	CU_ASSERT_EQUAL(vt_bdev_get_acwu(bdev), 1);
	ut_close(&o);
	ut_delete(bdev);
	CU_ASSERT_EQUAL(g_fake.closes, 1);
	CU_ASSERT_EQUAL(g_fake.unwatches, 1);
	CU_ASSERT_EQUAL(g_fake.ioctx_destroys, 1);
	CU_ASSERT_EQUAL(g_fake.shutdowns, 1);
}

static void
rbd_fua_write_is_followed_by_a_flush(void)
{
	struct vt_bdev *bdev;
	uint8_t buf[512];
	struct iovec iov = { buf, sizeof(buf) };
	struct ut_result r = { 0 };
	struct ut_open o;

	fake_reset();
	bdev = ut_create_rbd("ut_rbd_fua", "p", "img", false);
	ut_open(&o, "ut_rbd_fua");
	CU_ASSERT_EQUAL(vt_bdev_writev_blocks(o.desc, o.ch, &iov, 1, 1, 1, VT_BDEV_IO_FLAG_FUA,
					      ut_io_cb, &r),
			0);
	CU_ASSERT_FATAL(ut_wait_pending(1));
	CU_ASSERT_EQUAL(g_fake.pending[0].op, OP_WRITE);
	fake_complete_all(0);
	CU_ASSERT_FATAL(ut_wait_pending(1));
	CU_ASSERT_EQUAL(g_fake.pending[0].op, OP_FLUSH);
	CU_ASSERT_EQUAL(r.done, 0);
	fake_complete_all(0);
	CU_ASSERT(ut_poll_until(&r.done, 1));
	CU_ASSERT_TRUE(r.success);
	ut_close(&o);
	ut_delete(bdev);
}

static void
rbd_errors_become_bdev_errors(void)
{
	struct vt_bdev *bdev;
	uint8_t buf[512];
	struct iovec iov = { buf, sizeof(buf) };
	struct ut_result r1 = { 0 }, r2 = { 0 };
	struct ut_open o;

	fake_reset();
	bdev = ut_create_rbd("ut_rbd_err", "p", "img", false);
	ut_open(&o, "ut_rbd_err");
	/* librbd reports a failure in the completion (an OSD op timeout). */
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(o.desc, o.ch, &iov, 1, 0, 1, ut_io_cb, &r1), 0);
	CU_ASSERT_FATAL(ut_wait_pending(1));
	fake_complete_all(-ETIMEDOUT);
	CU_ASSERT(ut_poll_until(&r1.done, 1));
	CU_ASSERT_FALSE(r1.success);
	CU_ASSERT_EQUAL(r1.status, VT_BDEV_IO_STATUS_FAILED);
	/* librbd refuses the submission (a blocklisted client). */
	g_fake.submit_rc = -ESHUTDOWN;
	CU_ASSERT_EQUAL(vt_bdev_writev_blocks(o.desc, o.ch, &iov, 1, 0, 1, 0, ut_io_cb, &r2), 0);
	CU_ASSERT(ut_poll_until(&r2.done, 1));
	CU_ASSERT_FALSE(r2.success);
	CU_ASSERT_EQUAL(r2.status, VT_BDEV_IO_STATUS_FAILED);
	ut_close(&o);
	ut_delete(bdev);
}

static void
rbd_compare_and_write_uses_librbds_and_reports_the_mismatch(void)
{
	struct vt_bdev *bdev;
	uint8_t cmp[512], buf[512];
	struct iovec cmp_iov = { cmp, sizeof(cmp) }, buf_iov = { buf, sizeof(buf) };
	/* The same block split over two buffers each (a block across guest pages). */
	struct iovec cmp2[2] = { { cmp, 100 }, { cmp + 100, 412 } };
	struct iovec buf2[2] = { { buf, 300 }, { buf + 300, 212 } };
	struct ut_result r1 = { 0 }, r2 = { 0 };
	struct ut_open o;

	fake_reset();
	bdev = ut_create_rbd("ut_rbd_cw", "p", "img", false);
	ut_open(&o, "ut_rbd_cw");
	memset(cmp, 'c', sizeof(cmp));
	memset(buf, 'w', sizeof(buf));
	CU_ASSERT_EQUAL(vt_bdev_comparev_and_writev_blocks(o.desc, o.ch, &cmp_iov, 1, &buf_iov, 1,
							   9, 1, ut_io_cb, &r1),
			0);
	CU_ASSERT_FATAL(ut_wait_pending(1));
	CU_ASSERT_EQUAL(g_fake.pending[0].op, OP_CW);
	CU_ASSERT_EQUAL(g_fake.pending[0].off, 9 * 512);
	CU_ASSERT_EQUAL(g_fake.pending[0].len, 512);
	CU_ASSERT_EQUAL(g_cw.cmp0, 'c');
	CU_ASSERT_EQUAL(g_cw.buf0, 'w');
	fake_complete_all(0);
	CU_ASSERT(ut_poll_until(&r1.done, 1));
	CU_ASSERT_TRUE(r1.success);

	CU_ASSERT_EQUAL(vt_bdev_comparev_and_writev_blocks(o.desc, o.ch, cmp2, 2, buf2, 2, 9, 1,
							   ut_io_cb, &r2),
			0);
	CU_ASSERT_FATAL(ut_wait_pending(1));
	CU_ASSERT_EQUAL(g_cw.cmp0, 'c');
	CU_ASSERT_EQUAL(g_cw.buf0, 'w');
	/* librbd: no match, at image byte 9 * 512 + 37. */
	*g_cw.mismatch_off = 9 * 512 + 37;
	fake_complete_all(-EILSEQ);
	CU_ASSERT(ut_poll_until(&r2.done, 1));
	CU_ASSERT_FALSE(r2.success);
	CU_ASSERT_EQUAL(r2.status, VT_BDEV_IO_STATUS_MISCOMPARE);
	CU_ASSERT_EQUAL(r2.miscompare, 37);
	ut_close(&o);
	ut_delete(bdev);
}

static void
rbd_failed_creations_undo_every_step(void)
{
	struct rbd_create_opts opts = { .pool_name = "nopool",
					.rbd_name = "img",
					.block_size = 512 };
	struct ut_create c = { 0 };
	struct rbd_err err = { 0 };

	fake_reset();
	CU_ASSERT_EQUAL(bdev_rbd_create(&opts, ut_create_cb, &c, &err), 0);
	CU_ASSERT(ut_poll_until(&c.done, 1));
	CU_ASSERT_PTR_NULL(c.bdev);
	CU_ASSERT_EQUAL(c.err.rc, -ENOENT);
	CU_ASSERT_STRING_EQUAL(c.err.msg, "cannot open pool 'nopool': no such pool");
	CU_ASSERT_EQUAL(g_fake.shutdowns, g_fake.creates);

	fake_reset();
	memset(&c, 0, sizeof(c));
	opts.pool_name = "p";
	opts.rbd_name = "noimg";
	CU_ASSERT_EQUAL(bdev_rbd_create(&opts, ut_create_cb, &c, &err), 0);
	CU_ASSERT(ut_poll_until(&c.done, 1));
	CU_ASSERT_EQUAL(c.err.rc, -ENOENT);
	CU_ASSERT_STRING_EQUAL(c.err.msg, "cannot open image 'noimg' in pool 'p': no such image");
	CU_ASSERT_EQUAL(g_fake.ioctx_destroys, g_fake.ioctxs);
	CU_ASSERT_EQUAL(g_fake.shutdowns, 1);

	fake_reset();
	memset(&c, 0, sizeof(c));
	opts.rbd_name = "img";
	g_fake.connect_rc = -ETIMEDOUT;
	CU_ASSERT_EQUAL(bdev_rbd_create(&opts, ut_create_cb, &c, &err), 0);
	CU_ASSERT(ut_poll_until(&c.done, 1));
	CU_ASSERT_EQUAL(c.err.rc, -ETIMEDOUT);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.err.msg, "no monitor answered"));
	CU_ASSERT_EQUAL(g_fake.shutdowns, 1);
	CU_ASSERT_EQUAL(g_fake.ioctxs, 0);

	/* An image smaller than one block. */
	fake_reset();
	memset(&c, 0, sizeof(c));
	g_fake.size = 100;
	CU_ASSERT_EQUAL(bdev_rbd_create(&opts, ut_create_cb, &c, &err), 0);
	CU_ASSERT(ut_poll_until(&c.done, 1));
	CU_ASSERT_EQUAL(c.err.rc, -EINVAL);
	CU_ASSERT_EQUAL(g_fake.closes, 1);
	CU_ASSERT_EQUAL(g_fake.unwatches, 1);
	CU_ASSERT_EQUAL(g_fake.shutdowns, 1);
	CU_ASSERT_PTR_NULL(TAILQ_FIRST(&g_rbd_disks));
	CU_ASSERT_PTR_NULL(vt_bdev_first());
}

static void
rbd_read_only_opens_the_image_read_only(void)
{
	struct vt_bdev *bdev;

	fake_reset();
	bdev = ut_create_rbd(NULL, "p", "img", true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bdev);
	CU_ASSERT_STRING_EQUAL(bdev->name, "Ceph0");
	CU_ASSERT_TRUE(g_fake.opened_read_only);
	CU_ASSERT_TRUE(vt_bdev_is_read_only(bdev));
	ut_delete(bdev);
}

static void
rbd_image_resize_seen_through_the_watch(void)
{
	struct vt_bdev *bdev;
	struct ut_open o;

	fake_reset();
	bdev = ut_create_rbd("ut_rbd_watch", "p", "img", false);
	ut_open(&o, "ut_rbd_watch");
	g_fake.size = 4 * 1024 * 1024;
	g_fake.watch_cb(g_fake.watch_arg);
	CU_ASSERT(ut_poll_until(&o.resized, 1));
	CU_ASSERT_EQUAL(vt_bdev_get_num_blocks(bdev), 8192);
	ut_close(&o);
	ut_delete(bdev);
}

static void
rpc_clusters_are_shared_and_refused_while_in_use(void)
{
	struct ut_rpc r;

	fake_reset();
	vt_rpc_set_state(VT_RPC_RUNTIME);
	ut_rpc(&r, "bdev_rbd_register_cluster",
	       "{\"name\":\"cl\",\"user_id\":\"u\",\"config_param\":{\"mon_host\":\"1.2.3.4\"},"
	       "\"key_file\":\"/k\"}");
	CU_ASSERT_EQUAL(r.code, 0);
	CU_ASSERT_STRING_EQUAL(r.result, "\"cl\"");
	ut_rpc(&r, "bdev_rbd_register_cluster", "{\"name\":\"cl\"}");
	CU_ASSERT_EQUAL(r.code, -EEXIST);
	ut_rpc(&r, "bdev_rbd_get_clusters_info", "{\"name\":\"cl\"}");
	CU_ASSERT_STRING_EQUAL(r.result,
			       "{\"cluster_name\":\"cl\",\"user_id\":\"u\",\"config_param\":"
			       "{\"mon_host\":\"1.2.3.4\"},\"key_file\":\"/k\"}");
	ut_rpc(&r, "bdev_rbd_create",
	       "{\"name\":\"R0\",\"pool_name\":\"p\",\"rbd_name\":\"a\",\"block_size\":4096,"
	       "\"cluster_name\":\"cl\"}");
	CU_ASSERT_STRING_EQUAL(r.result, "\"R0\"");
	ut_rpc(&r, "bdev_rbd_create",
	       "{\"name\":\"R1\",\"pool_name\":\"p\",\"rbd_name\":\"b\",\"block_size\":4096,"
	       "\"cluster_name\":\"cl\"}");
	CU_ASSERT_STRING_EQUAL(r.result, "\"R1\"");
	/* One connection for both. */
	CU_ASSERT_EQUAL(g_fake.creates, 1);
	CU_ASSERT_EQUAL(rbd_cluster_find("cl")->refs, 2);
	ut_rpc(&r, "bdev_rbd_unregister_cluster", "{\"name\":\"cl\"}");
	CU_ASSERT_EQUAL(r.code, -EBUSY);
	CU_ASSERT_STRING_EQUAL(r.msg, "rbd cluster 'cl' is in use by 2 bdev(s)");
	ut_rpc(&r, "bdev_rbd_create",
	       "{\"pool_name\":\"p\",\"rbd_name\":\"b\",\"block_size\":512,\"cluster_name\":\"cl\","
	       "\"user_id\":\"x\"}");
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	ut_rpc(&r, "bdev_rbd_create",
	       "{\"pool_name\":\"p\",\"rbd_name\":\"noimg\",\"block_size\":512,"
	       "\"cluster_name\":\"cl\"}");
	CU_ASSERT_EQUAL(r.code, -ENOENT);
	CU_ASSERT_STRING_EQUAL(r.msg, "cannot create rbd bdev '(default)': cannot open image "
				      "'noimg' in pool 'p': no such image");
	CU_ASSERT_EQUAL(rbd_cluster_find("cl")->refs, 2);
	ut_rpc(&r, "bdev_rbd_resize", "{\"name\":\"R0\",\"new_size\":8}");
	CU_ASSERT_STRING_EQUAL(r.result, "true");
	CU_ASSERT_EQUAL(g_fake.size, 8 * 1024 * 1024);
	CU_ASSERT_EQUAL(vt_bdev_get_num_blocks(vt_bdev_get_by_name("R0")), 2048);
	ut_rpc(&r, "bdev_rbd_resize", "{\"name\":\"R0\",\"new_size\":1}");
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	ut_rpc(&r, "bdev_rbd_delete", "{\"name\":\"R0\"}");
	CU_ASSERT_STRING_EQUAL(r.result, "true");
	ut_rpc(&r, "bdev_rbd_delete", "{\"name\":\"R1\"}");
	CU_ASSERT_STRING_EQUAL(r.result, "true");
	/* A shared connection stays up for the cluster. */
	CU_ASSERT_EQUAL(g_fake.shutdowns, 0);
	ut_rpc(&r, "bdev_rbd_unregister_cluster", "{\"name\":\"cl\"}");
	CU_ASSERT_STRING_EQUAL(r.result, "true");
	CU_ASSERT_EQUAL(g_fake.shutdowns, 1);
	ut_rpc(&r, "bdev_rbd_get_clusters_info", NULL);
	CU_ASSERT_STRING_EQUAL(r.result, "[]");
}

static void
rpc_register_cluster_errors_name_what_failed(void)
{
	struct ut_rpc r;

	fake_reset();
	ut_rpc(&r, "bdev_rbd_register_cluster",
	       "{\"name\":\"c\",\"config_file\":\"/missing.conf\"}");
	CU_ASSERT_EQUAL(r.code, -ENOENT);
	CU_ASSERT_STRING_EQUAL(r.msg, "cannot register rbd cluster 'c': cannot read config file "
				      "'/missing.conf': No such file or directory");
	ut_rpc(&r, "bdev_rbd_register_cluster",
	       "{\"name\":\"c\",\"config_param\":{\"bad_opt\":\"1\"}}");
	CU_ASSERT_EQUAL(r.code, -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.msg, "invalid rados option 'bad_opt' = '1'"));
	ut_rpc(&r, "bdev_rbd_register_cluster", "{\"name\":\"c\",\"config_param\":[1]}");
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	/* The mount timeout is bounded unless the user set one. */
	g_fake.connect_rc = -ETIMEDOUT;
	ut_rpc(&r, "bdev_rbd_register_cluster", "{\"name\":\"c\"}");
	CU_ASSERT_EQUAL(r.code, -ETIMEDOUT);
	CU_ASSERT_STRING_EQUAL(g_fake.last_conf_key, "rados_mon_op_timeout");
	CU_ASSERT_PTR_NULL(rbd_cluster_first());
	CU_ASSERT_EQUAL(g_fake.shutdowns, g_fake.creates);
}

static void
write_config_json_follows_spdk(void)
{
	struct vt_bdev *bdev;
	struct vt_json_write_ctx *w;
	char uuid[VT_UUID_STRING_LEN], expect[512];

	fake_reset();
	bdev = ut_create_rbd("ut_rbd_cfg", "p", "img", false);
	w = vt_json_write_begin(false);
	g_rbd_fn_table.write_config_json(bdev, w);
	CU_ASSERT_EQUAL(vt_json_write_end(w), 0);
	vt_uuid_fmt(uuid, sizeof(uuid), &bdev->uuid);
	snprintf(expect, sizeof(expect),
		 "{\"method\":\"bdev_rbd_create\",\"params\":{\"name\":\"ut_rbd_cfg\","
		 "\"pool_name\":\"p\",\"rbd_name\":\"img\",\"block_size\":512,\"uuid\":\"%s\"}}",
		 uuid);
	CU_ASSERT_STRING_EQUAL(vt_json_write_buf(w, NULL), expect);
	vt_json_write_free(w);
	ut_delete(bdev);
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	s = CU_add_suite("bdev_rbd", ut_reactor_suite_init, ut_reactor_suite_fini);
	CU_ADD_TEST(s, rbd_maps_each_io_to_one_aio_call_on_the_callers_iovecs);
	CU_ADD_TEST(s, rbd_fua_write_is_followed_by_a_flush);
	CU_ADD_TEST(s, rbd_errors_become_bdev_errors);
	CU_ADD_TEST(s, rbd_compare_and_write_uses_librbds_and_reports_the_mismatch);
	CU_ADD_TEST(s, rbd_failed_creations_undo_every_step);
	CU_ADD_TEST(s, rbd_read_only_opens_the_image_read_only);
	CU_ADD_TEST(s, rbd_image_resize_seen_through_the_watch);
	CU_ADD_TEST(s, rpc_clusters_are_shared_and_refused_while_in_use);
	CU_ADD_TEST(s, rpc_register_cluster_errors_name_what_failed);
	CU_ADD_TEST(s, write_config_json_follows_spdk);
	return ut_run_tests();
}
