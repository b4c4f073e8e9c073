/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The LBA range locks (bdev_range.c) across two running reactors: COMPARE_AND_WRITE increments
 * of a counter in block 0 from both reactors at once, each comparing and writing blocks 0-1 while
 * plain writes hit block 1 from reactor 1, over a module that completes on a later poller
 * iteration: no increment may be lost. Built with -fsanitize=thread, the test also shows that the
 * lock orders every C&W compare read after the overlapping writes (see g_media_lock). Also checks
 * what crosses reactors on the way: statistics summed over both channels and REMOVE delivered on
 * each descriptor's reactor.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/event.h"
#include "vt/util.h"

#include "test/unit/common/ut_main.h"
#include "test/unit/common/ut_reactor.h"

#define RT_BLOCK 512
#define RT_BLOCKS 16
#define RT_INCREMENTS 150
#define RT_PLAIN_WRITES 300
#define RT_CAW_BLOCKS 2
#define RT_MAX_PENDING 64
#define RT_TIMEOUT_US (20 * 1000 * 1000)

/* ---- a module that completes two poller iterations later ---------------------------------- */

struct rt_disk {
	struct vt_bdev bdev;
	uint8_t data[RT_BLOCKS * RT_BLOCK];
	atomic_int destructed;
};

struct rt_channel {
	struct vt_poller *poller;
	struct vt_bdev_io *pending[RT_MAX_PENDING];
	uint32_t age[RT_MAX_PENDING];
	uint32_t n;
};

static struct vt_bdev_module g_rt_module = { .name = "rt" };
VT_BDEV_MODULE_REGISTER(rt, &g_rt_module)

/*
 * Plain READs are not ordered against COMPARE_AND_WRITE, so they and all writes take a mutex: a
 * race detector (TSAN) then only sees the C&W's own compare reads against other writes, which
 * the range lock alone must order.
 */
static pthread_mutex_t g_media_lock = PTHREAD_MUTEX_INITIALIZER;

static void
rt_execute(struct vt_bdev_io *io)
{
	struct rt_disk *d = io->bdev->ctxt;
	uint8_t *p = d->data + io->offset_blocks * RT_BLOCK;
	size_t len = io->num_blocks * RT_BLOCK;
	bool plain_read = vt_bdev_io_get_type(io) == VT_BDEV_IO_TYPE_READ;

	if (io->type == VT_BDEV_IO_TYPE_READ) {
		if (plain_read) {
			pthread_mutex_lock(&g_media_lock);
		}
		vt_iov_from_buf(io->iovs, io->iovcnt, p, len);
		if (plain_read) {
			pthread_mutex_unlock(&g_media_lock);
		}
	} else if (io->type == VT_BDEV_IO_TYPE_WRITE) {
		pthread_mutex_lock(&g_media_lock);
		vt_iov_to_buf(io->iovs, io->iovcnt, p, len);
		pthread_mutex_unlock(&g_media_lock);
	}
	vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_SUCCESS);
}

static int
rt_poll(void *arg)
{
	struct rt_channel *ch = arg;
	uint32_t i = 0, busy = 0;
	struct vt_bdev_io *io;

	while (i < ch->n) {
		if (++ch->age[i] < 2) {
			i++;
			continue;
		}
		io = ch->pending[i];
		ch->n--;
		ch->pending[i] = ch->pending[ch->n];
		ch->age[i] = ch->age[ch->n];
		rt_execute(io);
		busy = 1;
	}
	return busy ? VT_POLLER_BUSY : VT_POLLER_IDLE;
}

static void
rt_submit(void *module_ch, struct vt_bdev_io *io)
{
	struct rt_channel *ch = module_ch;

	if (ch->n == RT_MAX_PENDING) {
		vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_NOMEM);
		return;
	}
	ch->pending[ch->n] = io;
	ch->age[ch->n] = 0;
	ch->n++;
}

static bool
rt_supported(void *ctx, enum vt_bdev_io_type type)
{
	return type == VT_BDEV_IO_TYPE_READ || type == VT_BDEV_IO_TYPE_WRITE;
}

static int
rt_destruct(void *ctx)
{
	struct rt_disk *d = ctx;

	atomic_fetch_add(&d->destructed, 1);
	return 0;
}

static void *
rt_create_channel(void *ctx)
{
	struct rt_channel *ch = calloc(1, sizeof(*ch));

	if (ch != NULL) {
		ch->poller = vt_poller_register(rt_poll, ch, 0, "rt");
	}
	return ch;
}

static void
rt_destroy_channel(void *ctx, void *module_ch)
{
	struct rt_channel *ch = module_ch;

	vt_poller_unregister(&ch->poller);
	free(ch);
}

static const struct vt_bdev_fn_table g_rt_fn = {
	.destruct = rt_destruct,
	.submit_request = rt_submit,
	.io_type_supported = rt_supported,
	.create_channel = rt_create_channel,
	.destroy_channel = rt_destroy_channel,
};

/* ---- the workers: one per reactor --------------------------------------------------------- */

struct rt_worker {
	uint32_t reactor;
	struct vt_bdev_desc *desc;
	struct vt_bdev_channel *ch;
	uint8_t cur[RT_CAW_BLOCKS * RT_BLOCK];  /* blocks 0-1 as read */
	uint8_t next[RT_CAW_BLOCKS * RT_BLOCK]; /* the same, counter plus one */
	struct iovec cur_iov;
	struct iovec next_iov;
	uint32_t done; /* successful increments */
	uint32_t miscompares;
	atomic_int errors;
	atomic_bool finished;
	atomic_int removes;
};

static struct rt_disk g_disk;
static struct rt_worker g_workers[2];
static atomic_int g_failures;
static struct vt_bdev_io_stat g_stat;
static atomic_int g_unregistered;
static struct vt_poller *g_timeout;
static struct vt_poller *g_watch;

static void rt_read_counter(struct rt_worker *w);

static uint32_t
rt_value(const uint8_t *block)
{
	uint32_t v;

	memcpy(&v, block, sizeof(v));
	return v;
}

static void
rt_event_cb(enum vt_bdev_event_type type, struct vt_bdev *bdev, void *ctx)
{
	struct rt_worker *w = ctx;

	if (type != VT_BDEV_EVENT_REMOVE) {
		return;
	}
	if (vt_reactor_current() != w->reactor) {
		atomic_fetch_add(&g_failures, 1);
	}
	atomic_fetch_add(&w->removes, 1);
	vt_bdev_put_io_channel(w->ch);
	vt_bdev_close(w->desc);
}

static void
rt_caw_done(struct vt_bdev_io *io, bool success, void *arg)
{
	struct rt_worker *w = arg;

	if (success) {
		w->done++;
	} else if (vt_bdev_io_get_status(io) == VT_BDEV_IO_STATUS_MISCOMPARE) {
		w->miscompares++;
	} else {
		atomic_fetch_add(&w->errors, 1);
		atomic_store(&w->finished, true);
		return;
	}
	if (w->done == RT_INCREMENTS) {
		atomic_store(&w->finished, true);
		return;
	}
	rt_read_counter(w);
}

static void
rt_read_done(struct vt_bdev_io *io, bool success, void *arg)
{
	struct rt_worker *w = arg;
	uint32_t v;
	int rc;

	if (!success) {
		atomic_fetch_add(&w->errors, 1);
		atomic_store(&w->finished, true);
		return;
	}
	v = rt_value(w->cur) + 1;
	memcpy(w->next, w->cur, sizeof(w->next));
	memcpy(w->next, &v, sizeof(v));
	rc = vt_bdev_comparev_and_writev_blocks(w->desc, w->ch, &w->cur_iov, 1, &w->next_iov, 1, 0,
						RT_CAW_BLOCKS, rt_caw_done, w);
	if (rc != 0) {
		atomic_fetch_add(&w->errors, 1);
		atomic_store(&w->finished, true);
	}
}

static void
rt_read_counter(struct rt_worker *w)
{
	if (vt_bdev_readv_blocks(w->desc, w->ch, &w->cur_iov, 1, 0, RT_CAW_BLOCKS, rt_read_done,
				 w) != 0) {
		atomic_fetch_add(&w->errors, 1);
		atomic_store(&w->finished, true);
	}
}

/* Reactor 1's plain writes to block 1, through the worker's channel, one at a time. */
static uint8_t g_plain[RT_BLOCK];
static struct iovec g_plain_iov = { g_plain, RT_BLOCK };
static uint32_t g_plain_done;
static atomic_bool g_plain_finished;

static void rt_plain_write(struct rt_worker *w);

static void
rt_plain_done(struct vt_bdev_io *io, bool success, void *arg)
{
	struct rt_worker *w = arg;

	if (!success) {
		atomic_fetch_add(&w->errors, 1);
	}
	if (++g_plain_done == RT_PLAIN_WRITES) {
		atomic_store(&g_plain_finished, true);
		return;
	}
	rt_plain_write(w);
}

static void
rt_plain_write(struct rt_worker *w)
{
	memcpy(g_plain, &g_plain_done, sizeof(g_plain_done));
	if (vt_bdev_writev_blocks(w->desc, w->ch, &g_plain_iov, 1, 1, 1, 0, rt_plain_done, w) !=
	    0) {
		atomic_fetch_add(&w->errors, 1);
		atomic_store(&g_plain_finished, true);
	}
}

/* On the worker's reactor. */
static void
rt_worker_start(void *arg)
{
	struct rt_worker *w = arg;

	w->reactor = vt_reactor_current();
	w->cur_iov.iov_base = w->cur;
	w->cur_iov.iov_len = sizeof(w->cur);
	w->next_iov.iov_base = w->next;
	w->next_iov.iov_len = sizeof(w->next);
	if (vt_bdev_open("rt0", true, rt_event_cb, w, &w->desc) != 0) {
		atomic_fetch_add(&w->errors, 1);
		atomic_store(&w->finished, true);
		return;
	}
	w->ch = vt_bdev_get_io_channel(w->desc);
	if (w->ch == NULL) {
		atomic_fetch_add(&w->errors, 1);
		atomic_store(&w->finished, true);
		return;
	}
	rt_read_counter(w);
	if (w == &g_workers[1]) {
		rt_plain_write(w);
	}
}

static void
rt_unregistered(void *arg, int rc)
{
	if (rc != 0) {
		atomic_fetch_add(&g_failures, 1);
	}
	atomic_store(&g_unregistered, 1);
	vt_poller_unregister(&g_timeout);
	vt_poller_unregister(&g_watch);
	vt_reactors_stop();
}

static void
rt_stat_done(struct vt_bdev *bdev, const struct vt_bdev_io_stat *stat, void *arg, int rc)
{
	if (rc != 0) {
		atomic_fetch_add(&g_failures, 1);
	} else {
		g_stat = *stat;
	}
	vt_bdev_unregister(&g_disk.bdev, rt_unregistered, NULL);
}

/* Reactor 0: waits for both workers, then collects statistics and removes the bdev. */
static int
rt_watch(void *arg)
{
	static bool collecting;

	if (collecting || !atomic_load(&g_workers[0].finished) ||
	    !atomic_load(&g_workers[1].finished) || !atomic_load(&g_plain_finished)) {
		return VT_POLLER_IDLE;
	}
	collecting = true;
	vt_bdev_get_io_stat(&g_disk.bdev, rt_stat_done, NULL);
	return VT_POLLER_BUSY;
}

static int
rt_timeout(void *arg)
{
	atomic_fetch_add(&g_failures, 1);
	vt_poller_unregister(&g_timeout);
	vt_poller_unregister(&g_watch);
	vt_reactors_stop();
	return VT_POLLER_BUSY;
}

static void
rt_start(void *arg)
{
	g_disk.bdev.name = "rt0";
	g_disk.bdev.blocklen = RT_BLOCK;
	g_disk.bdev.blockcnt = RT_BLOCKS;
	g_disk.bdev.ctxt = &g_disk;
	g_disk.bdev.fn_table = &g_rt_fn;
	g_disk.bdev.module = &g_rt_module;
	if (vt_bdev_register(&g_disk.bdev) != 0) {
		atomic_fetch_add(&g_failures, 1);
		vt_reactors_stop();
		return;
	}
	g_timeout = vt_poller_register(rt_timeout, NULL, RT_TIMEOUT_US, "rt_timeout");
	g_watch = vt_poller_register(rt_watch, NULL, 100, "rt_watch");
	rt_worker_start(&g_workers[0]);
	if (vt_send_msg(1, rt_worker_start, &g_workers[1]) != 0) {
		atomic_fetch_add(&g_failures, 1);
	}
}

static void
compare_and_write_from_two_reactors_never_loses_an_increment(void)
{
	struct vt_cpuset set;
	uint32_t cores[2];

	if (ut_allowed_cpus(cores, 2) < 2) {
		fprintf(stderr, "only one CPU available: the two-reactor test cannot run\n");
		return;
	}
	vt_cpuset_zero(&set);
	vt_cpuset_set(&set, cores[0]);
	vt_cpuset_set(&set, cores[1]);
	CU_ASSERT_EQUAL_FATAL(vt_reactors_init(&set, false), 0);
	CU_ASSERT_EQUAL_FATAL(vt_send_msg(0, rt_start, NULL), 0);
	vt_reactors_start();
	vt_reactors_fini();

	CU_ASSERT_EQUAL(atomic_load(&g_failures), 0);
	CU_ASSERT_EQUAL(atomic_load(&g_workers[0].errors), 0);
	CU_ASSERT_EQUAL(atomic_load(&g_workers[1].errors), 0);
	CU_ASSERT_EQUAL(g_workers[0].done, RT_INCREMENTS);
	CU_ASSERT_EQUAL(g_workers[1].done, RT_INCREMENTS);
	/* Every successful increment is in the block: none was overwritten by the other side. */
	CU_ASSERT_EQUAL(rt_value(g_disk.data), 2 * RT_INCREMENTS);
	CU_ASSERT_EQUAL(g_plain_done, RT_PLAIN_WRITES);
	/* Statistics of both reactors' channels: C&W count as writes. */
	CU_ASSERT_EQUAL(g_stat.num_write_ops, 2 * RT_INCREMENTS + RT_PLAIN_WRITES);
	CU_ASSERT_EQUAL(g_stat.num_errors, g_workers[0].miscompares + g_workers[1].miscompares);
	/* Each reactor's descriptor got REMOVE on its own reactor, then the bdev went. */
	CU_ASSERT_EQUAL(atomic_load(&g_workers[0].removes), 1);
	CU_ASSERT_EQUAL(atomic_load(&g_workers[1].removes), 1);
	CU_ASSERT_EQUAL(atomic_load(&g_unregistered), 1);
	CU_ASSERT_EQUAL(atomic_load(&g_disk.destructed), 1);
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	s = CU_add_suite("bdev_range", NULL, NULL);
	CU_ADD_TEST(s, compare_and_write_from_two_reactors_never_loses_an_increment);
	return ut_run_tests();
}
