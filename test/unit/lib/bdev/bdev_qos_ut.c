/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * QoS rate limits (bdev_qos.c). The buckets on a fake clock: IOPS and byte accounting, the
 * read/write split, debt after a large I/O, bursts after idle, several threads (reactors) drawing
 * on one bdev's buckets. Then the channel side on one reactor over a module that completes at
 * once, with the fake clock: queued I/O released in submission order as tokens come, a limit
 * raised or removed with I/O queued, I/O types the limits ignore, a reset and a hot-remove with I/O
 * queued (failed, nothing left behind).
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

#include "lib/bdev/bdev_internal.h"
#include "lib/bdev/bdev_qos.c"
#include "test/unit/common/ut_main.h"
#include "test/unit/common/ut_reactor.h"

#define MS (VT_TICKS_HZ / 1000)
#define SEC VT_TICKS_HZ
#define KIB 1024u
#define MIB (1024u * 1024u)

static uint64_t g_now;

static uint64_t
fake_now(void)
{
	return g_now;
}

static void
limits_of(uint64_t limits[BDEV_QOS_NUM_LIMITS], uint64_t iops, uint64_t rw, uint64_t r, uint64_t w)
{
	limits[BDEV_QOS_RW_IOPS] = iops;
	limits[BDEV_QOS_RW_BPS] = rw;
	limits[BDEV_QOS_R_BPS] = r;
	limits[BDEV_QOS_W_BPS] = w;
}

/* Buckets with these limits set at now; true when any limit is set. */
static bool
qos_start(struct bdev_qos *qos, uint64_t now, uint64_t iops, uint64_t rw, uint64_t r, uint64_t w)
{
	uint64_t l[BDEV_QOS_NUM_LIMITS];

	bdev_qos_init(qos);
	limits_of(l, iops, rw, r, w);
	return bdev_qos_set(qos, l, now);
}

/* Offers an I/O every step ticks from *now for duration ticks; returns how many passed. */
static uint64_t
offer(struct bdev_qos *qos, uint64_t *now, uint64_t duration, uint64_t step, bool read,
      uint64_t bytes)
{
	uint64_t end = *now + duration, n = 0;

	for (; *now < end; *now += step) {
		n += bdev_qos_admit(qos, read, bytes, *now);
	}
	return n;
}

/* ---- buckets ------------------------------------------------------------------------------ */

static void
iops_limit_passes_its_rate_and_no_more(void)
{
	struct bdev_qos qos;
	uint64_t now = 5 * SEC, n;

	CU_ASSERT(qos_start(&qos, now, 1000, 0, 0, 0));
	/* A new limit starts with an empty bucket: no burst at once. */
	CU_ASSERT_FALSE(bdev_qos_admit(&qos, true, 4 * KIB, now));
	n = offer(&qos, &now, 5 * SEC, 10 * 1000, true, 4 * KIB);
	CU_ASSERT(n >= 4999 && n <= 5001);
	/* Writes draw on the same bucket. */
	n = offer(&qos, &now, 2 * SEC, 10 * 1000, false, 4 * KIB);
	CU_ASSERT(n >= 1999 && n <= 2001);
	bdev_qos_fini(&qos);
}

static void
idle_time_saves_at_most_one_burst(void)
{
	struct bdev_qos qos;
	uint64_t now = 0, n;

	CU_ASSERT(qos_start(&qos, now, 10000, 0, 0, 0));
	now += 10 * SEC;
	/* All at the same instant: the burst (BDEV_QOS_BURST_US of the rate) and not more. */
	n = offer(&qos, &now, 1, 1, true, 512);
	CU_ASSERT_EQUAL(n, 1);
	n = 1;
	while (bdev_qos_admit(&qos, true, 512, now)) {
		n++;
	}
	/* The last may pass on the nanoseconds of filling since the first. */
	CU_ASSERT(n >= 10000ull * BDEV_QOS_BURST_US / 1000000);
	CU_ASSERT(n <= 10000ull * BDEV_QOS_BURST_US / 1000000 + 1);
	bdev_qos_fini(&qos);
}

static void
byte_limit_counts_bytes_of_each_io(void)
{
	struct bdev_qos qos;
	uint64_t now = 0, n;

	CU_ASSERT(qos_start(&qos, now, 0, 1, 0, 0));
	/* 1 MiB/s of 4 KiB I/O: 256 per second. */
	n = offer(&qos, &now, 4 * SEC, 100 * 1000, true, 4 * KIB);
	CU_ASSERT(n >= 1023 && n <= 1025);
	/* Of 64 KiB I/O: 16 per second. */
	n = offer(&qos, &now, 4 * SEC, 100 * 1000, false, 64 * KIB);
	CU_ASSERT(n >= 63 && n <= 65);
	bdev_qos_fini(&qos);
}

static void
io_larger_than_the_bucket_passes_and_leaves_a_debt(void)
{
	struct bdev_qos qos;
	uint64_t now = 0;

	CU_ASSERT(qos_start(&qos, now, 0, 1, 0, 0));
	now += 1 * MS;
	/* 4 MiB while 1 KiB is saved: it passes, then nothing for about 4 s. */
	CU_ASSERT(bdev_qos_admit(&qos, false, 4 * MIB, now));
	now += 3900 * MS;
	CU_ASSERT_FALSE(bdev_qos_admit(&qos, false, 512, now));
	now += 200 * MS;
	CU_ASSERT(bdev_qos_admit(&qos, false, 512, now));
	bdev_qos_fini(&qos);
}

static void
read_and_write_limits_split_by_direction(void)
{
	struct bdev_qos qos;
	uint64_t l[BDEV_QOS_NUM_LIMITS], now = 0, start, reads = 0, writes = 0;

	bdev_qos_init(&qos);
	/* Reads 1 MiB/s, writes 2 MiB/s, both together unlimited. */
	limits_of(l, 0, 0, 1, 2);
	bdev_qos_set(&qos, l, now);
	for (start = now; now < start + 4 * SEC; now += 50 * 1000) {
		reads += bdev_qos_admit(&qos, true, 4 * KIB, now);
		writes += bdev_qos_admit(&qos, false, 4 * KIB, now);
	}
	CU_ASSERT(reads >= 1023 && reads <= 1025);
	CU_ASSERT(writes >= 2047 && writes <= 2049);

	/* Now together at most 2 MiB/s: reads still at most 1 MiB/s, the sum at 2 MiB/s. */
	limits_of(l, 0, 2, BDEV_QOS_LIMIT_KEEP, BDEV_QOS_LIMIT_KEEP);
	CU_ASSERT(bdev_qos_set(&qos, l, now));
	reads = writes = 0;
	for (start = now; now < start + 4 * SEC; now += 50 * 1000) {
		reads += bdev_qos_admit(&qos, true, 4 * KIB, now);
		writes += bdev_qos_admit(&qos, false, 4 * KIB, now);
	}
	CU_ASSERT(reads <= 1025);
	CU_ASSERT(reads + writes >= 2046 && reads + writes <= 2050);
	bdev_qos_get(&qos, l);
	CU_ASSERT_EQUAL(l[BDEV_QOS_RW_IOPS], 0);
	CU_ASSERT_EQUAL(l[BDEV_QOS_RW_BPS], 2);
	CU_ASSERT_EQUAL(l[BDEV_QOS_R_BPS], 1);
	CU_ASSERT_EQUAL(l[BDEV_QOS_W_BPS], 2);

	/* All removed: everything passes, and no limit is left. */
	limits_of(l, 0, 0, 0, 0);
	CU_ASSERT_FALSE(bdev_qos_set(&qos, l, now));
	CU_ASSERT_EQUAL(offer(&qos, &now, 1000, 1, true, 1 * MIB), 1000);
	bdev_qos_fini(&qos);
}

static void
limit_checks_follow_spdk_units(void)
{
	CU_ASSERT_EQUAL(bdev_qos_check_limit(BDEV_QOS_RW_IOPS, 0), 0);
	CU_ASSERT_EQUAL(bdev_qos_check_limit(BDEV_QOS_RW_IOPS, 20000), 0);
	CU_ASSERT_EQUAL(bdev_qos_check_limit(BDEV_QOS_RW_IOPS, 1500), -EINVAL);
	CU_ASSERT_EQUAL(bdev_qos_check_limit(BDEV_QOS_RW_IOPS, 999), -EINVAL);
	CU_ASSERT_EQUAL(bdev_qos_check_limit(BDEV_QOS_RW_BPS, 1), 0);
	CU_ASSERT_EQUAL(bdev_qos_check_limit(BDEV_QOS_W_BPS, BDEV_QOS_MAX_MBYTES_PER_SEC + 1),
			-EINVAL);
	CU_ASSERT_STRING_EQUAL(bdev_qos_limit_name(BDEV_QOS_R_BPS), "r_mbytes_per_sec");
}

/* Several reactors draw on one bdev's buckets: a shared clock each offer advances. */
#define MT_THREADS 4
#define MT_OFFERS 200000
#define MT_STEP 1000 /* ns of the shared clock per offer */

struct mt_ctx {
	struct bdev_qos *qos;
	atomic_uint_fast64_t *clock;
	atomic_bool *go;
	uint64_t passed;
};

static void *
mt_thread(void *arg)
{
	struct mt_ctx *c = arg;

	while (!atomic_load(c->go)) {
	}
	for (int i = 0; i < MT_OFFERS; i++) {
		uint64_t now = atomic_fetch_add(c->clock, MT_STEP) + MT_STEP;

		c->passed += bdev_qos_admit(c->qos, i % 2 == 0, 4 * KIB, now);
	}
	return NULL;
}

static void
several_reactors_share_one_limit(void)
{
	struct bdev_qos qos;
	uint64_t total = 0, expect;
	atomic_uint_fast64_t clock = 0;
	atomic_bool go = false;
	struct mt_ctx ctx[MT_THREADS];
	pthread_t t[MT_THREADS];

	CU_ASSERT(qos_start(&qos, 0, 100000, 0, 0, 0));
	for (int i = 0; i < MT_THREADS; i++) {
		ctx[i] = (struct mt_ctx){ .qos = &qos, .clock = &clock, .go = &go };
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, mt_thread, &ctx[i]), 0);
	}
	atomic_store(&go, true);
	for (int i = 0; i < MT_THREADS; i++) {
		pthread_join(t[i], NULL);
		total += ctx[i].passed;
	}
	/*
	 * 800000 offers over 0.8 s of the shared clock at 100000 IOPS: 80000 in total, whatever
	 * the share of each thread. A clock value a thread took before another thread's later
	 * one may reach the lock after it (it then fills nothing): at most a few I/O fewer.
	 */
	expect = 100000ull * MT_THREADS * MT_OFFERS * MT_STEP / SEC;
	CU_ASSERT(total <= expect + 1);
	CU_ASSERT(total >= expect - expect / 100);
	bdev_qos_fini(&qos);
}

/* ---- channels: a module that completes at once -------------------------------------------- */

#define QT_BLOCK 512
#define QT_BLOCKS 64
#define QT_IOS 16

struct qt_disk {
	struct vt_bdev bdev;
	int destructed;
	uint32_t submitted;
};

static struct vt_bdev_module g_qt_module = { .name = "qt" };
VT_BDEV_MODULE_REGISTER(qt, &g_qt_module)

static void
qt_submit(void *module_ch, struct vt_bdev_io *io)
{
	struct qt_disk *d = io->bdev->ctxt;

	d->submitted++;
	vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_SUCCESS);
}

static bool
qt_io_type_supported(void *ctx, enum vt_bdev_io_type type)
{
	return type == VT_BDEV_IO_TYPE_READ || type == VT_BDEV_IO_TYPE_WRITE ||
	       type == VT_BDEV_IO_TYPE_FLUSH;
}

static int
qt_destruct(void *ctx)
{
	struct qt_disk *d = ctx;

	d->destructed++;
	return 0;
}

static void *
qt_create_channel(void *ctx)
{
	return ctx;
}

static void
qt_destroy_channel(void *ctx, void *module_ch)
{
}

static const struct vt_bdev_fn_table g_qt_fn_table = {
	.destruct = qt_destruct,
	.submit_request = qt_submit,
	.io_type_supported = qt_io_type_supported,
	.create_channel = qt_create_channel,
	.destroy_channel = qt_destroy_channel,
};

struct qt_fix {
	struct qt_disk d;
	struct vt_bdev_desc *desc;
	struct vt_bdev_channel *ch;
	uint8_t buf[QT_BLOCK];
	struct iovec iov;
	int done;              /* completions */
	int failed;            /* of which unsuccessful */
	int order[QT_IOS * 2]; /* cb_arg index of each completion */
	int removes;
};

static void
qt_event_cb(enum vt_bdev_event_type type, struct vt_bdev *bdev, void *ctx)
{
	struct qt_fix *f = ctx;

	if (type == VT_BDEV_EVENT_REMOVE) {
		f->removes++;
	}
}

static void
qt_fix_open(struct qt_fix *f, const char *name)
{
	memset(f, 0, sizeof(*f));
	f->d.bdev.name = (char *)name;
	f->d.bdev.product_name = "QoS disk";
	f->d.bdev.blocklen = QT_BLOCK;
	f->d.bdev.blockcnt = QT_BLOCKS;
	f->d.bdev.ctxt = &f->d;
	f->d.bdev.fn_table = &g_qt_fn_table;
	f->d.bdev.module = &g_qt_module;
	f->iov.iov_base = f->buf;
	f->iov.iov_len = sizeof(f->buf);
	CU_ASSERT_EQUAL_FATAL(vt_bdev_register(&f->d.bdev), 0);
	CU_ASSERT_EQUAL_FATAL(vt_bdev_open(name, true, qt_event_cb, f, &f->desc), 0);
	f->ch = vt_bdev_get_io_channel(f->desc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->ch);
}

static void
qt_unreg_cb(void *cb_arg, int rc)
{
	(*(int *)cb_arg)++;
}

static void
qt_fix_close(struct qt_fix *f)
{
	int unreg = 0;

	vt_bdev_put_io_channel(f->ch);
	vt_bdev_close(f->desc);
	vt_bdev_unregister(&f->d.bdev, qt_unreg_cb, &unreg);
	CU_ASSERT(ut_poll_until(&unreg, 1));
	CU_ASSERT_EQUAL(f->d.destructed, 1);
}

static struct qt_fix *g_fix;

static void
qt_io_cb(struct vt_bdev_io *io, bool success, void *cb_arg)
{
	struct qt_fix *f = g_fix;

	if (f->done < (int)VT_COUNTOF(f->order)) {
		f->order[f->done] = (int)(intptr_t)cb_arg;
	}
	f->done++;
	f->failed += !success;
}

static int
qt_read(struct qt_fix *f, int idx)
{
	return vt_bdev_readv_blocks(f->desc, f->ch, &f->iov, 1, 0, 1, qt_io_cb,
				    (void *)(intptr_t)idx);
}

static void
qt_set(struct qt_fix *f, uint64_t iops, uint64_t rw, uint64_t r, uint64_t w)
{
	uint64_t l[BDEV_QOS_NUM_LIMITS];

	limits_of(l, iops, rw, r, w);
	CU_ASSERT_EQUAL(bdev_qos_set_limits(f->d.bdev.internal, l), 0);
}

/* Polls for more than one timeslice: whatever the poller may release has been released. */
static void
qt_poll_timeslices(int n)
{
	uint64_t end = vt_get_ticks() + (uint64_t)n * BDEV_QOS_TIMESLICE_US * 1000;

	while (vt_get_ticks() < end) {
		vt_reactor_poll_once();
	}
}

static void
queued_io_is_released_in_order_as_tokens_come(void)
{
	struct qt_fix f;

	g_fix = &f;
	g_bdev_qos_now = fake_now;
	g_now = 100 * SEC;
	qt_fix_open(&f, "qt_order");
	qt_set(&f, 1000, 0, 0, 0);
	for (int i = 0; i < 5; i++) {
		CU_ASSERT_EQUAL(qt_read(&f, i), 0);
	}
	qt_poll_timeslices(3);
	CU_ASSERT_EQUAL(f.done, 0);
	CU_ASSERT_EQUAL(f.d.submitted, 0);
	/* 3 ms at 1000 IOPS: three of them, the oldest first. */
	g_now += 3 * MS;
	CU_ASSERT(ut_poll_until(&f.done, 3));
	qt_poll_timeslices(3);
	CU_ASSERT_EQUAL(f.done, 3);
	/* A flush is not limited: it passes the queued reads. */
	CU_ASSERT_EQUAL(vt_bdev_flush_blocks(f.desc, f.ch, 0, 1, qt_io_cb, (void *)(intptr_t)99),
			0);
	CU_ASSERT(ut_poll_until(&f.done, 4));
	/* A read submitted now waits behind the queued ones even with a token at hand. */
	g_now += 1 * MS;
	CU_ASSERT_EQUAL(qt_read(&f, 5), 0);
	g_now += 2 * MS;
	CU_ASSERT(ut_poll_until(&f.done, 7));
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(f.order[i], i);
	}
	CU_ASSERT_EQUAL(f.order[3], 99);
	CU_ASSERT_EQUAL(f.order[4], 3);
	CU_ASSERT_EQUAL(f.order[5], 4);
	CU_ASSERT_EQUAL(f.order[6], 5);
	CU_ASSERT_EQUAL(f.failed, 0);
	/* The queue is empty again: the poller is gone. */
	CU_ASSERT_PTR_NULL(f.ch->qos_poller);
	qt_fix_close(&f);
	g_bdev_qos_now = vt_get_ticks;
}

static void
removing_the_limits_releases_everything_queued(void)
{
	struct qt_fix f;
	uint64_t l[BDEV_QOS_NUM_LIMITS];

	g_fix = &f;
	g_bdev_qos_now = fake_now;
	g_now = 200 * SEC;
	qt_fix_open(&f, "qt_remove_limits");
	qt_set(&f, 0, 1, 0, 0);
	for (int i = 0; i < QT_IOS; i++) {
		CU_ASSERT_EQUAL(qt_read(&f, i), 0);
	}
	qt_poll_timeslices(2);
	CU_ASSERT_EQUAL(f.done, 0);
	/* The clock stands still: only the removal can release them. */
	qt_set(&f, 0, 0, 0, 0);
	bdev_qos_get_limits(f.d.bdev.internal, l);
	CU_ASSERT_EQUAL(l[BDEV_QOS_RW_BPS], 0);
	CU_ASSERT(ut_poll_until(&f.done, QT_IOS));
	for (int i = 0; i < QT_IOS; i++) {
		CU_ASSERT_EQUAL(f.order[i], i);
	}
	CU_ASSERT_EQUAL(f.failed, 0);
	/* No limit left: I/O goes straight to the module. */
	CU_ASSERT_EQUAL(qt_read(&f, 100), 0);
	CU_ASSERT_EQUAL(f.d.submitted, QT_IOS + 1);
	qt_fix_close(&f);
	g_bdev_qos_now = vt_get_ticks;
}

static void
raising_the_limit_releases_queued_io_at_the_new_rate(void)
{
	struct qt_fix f;

	g_fix = &f;
	g_bdev_qos_now = fake_now;
	g_now = 300 * SEC;
	qt_fix_open(&f, "qt_raise");
	qt_set(&f, 1000, 0, 0, 0);
	for (int i = 0; i < QT_IOS; i++) {
		CU_ASSERT_EQUAL(qt_read(&f, i), 0);
	}
	/* Raised to 1,000,000 IOPS: 1 ms later all sixteen may go. */
	qt_set(&f, 1000000, BDEV_QOS_LIMIT_KEEP, BDEV_QOS_LIMIT_KEEP, BDEV_QOS_LIMIT_KEEP);
	g_now += 1 * MS;
	CU_ASSERT(ut_poll_until(&f.done, QT_IOS));
	for (int i = 0; i < QT_IOS; i++) {
		CU_ASSERT_EQUAL(f.order[i], i);
	}
	qt_fix_close(&f);
	g_bdev_qos_now = vt_get_ticks;
}

static void
hot_remove_fails_queued_io_and_frees_the_bdev(void)
{
	struct qt_fix f;
	int unreg = 0;

	g_fix = &f;
	g_bdev_qos_now = fake_now;
	g_now = 400 * SEC;
	qt_fix_open(&f, "qt_hot_remove");
	qt_set(&f, 0, 0, 0, 1);
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(vt_bdev_writev_blocks(f.desc, f.ch, &f.iov, 1, 0, 1, 0, qt_io_cb,
						      (void *)(intptr_t)i),
				0);
	}
	/* A read is not limited by a write limit, but it keeps its place behind them. */
	CU_ASSERT_EQUAL(qt_read(&f, 10), 0);
	qt_poll_timeslices(2);
	CU_ASSERT_EQUAL(f.done, 0);
	vt_bdev_unregister(&f.d.bdev, qt_unreg_cb, &unreg);
	/* The clock stands still: the queued I/O fails, it is not started. */
	CU_ASSERT(ut_poll_until(&f.done, 5));
	CU_ASSERT_EQUAL(f.failed, 5);
	CU_ASSERT_EQUAL(f.d.submitted, 0);
	CU_ASSERT_EQUAL(f.removes, 1);
	vt_bdev_put_io_channel(f.ch);
	vt_bdev_close(f.desc);
	CU_ASSERT(ut_poll_until(&unreg, 1));
	CU_ASSERT_EQUAL(f.d.destructed, 1);
	g_bdev_qos_now = vt_get_ticks;
}

static void
reset_aborts_queued_io(void)
{
	struct qt_fix f;

	g_fix = &f;
	g_bdev_qos_now = fake_now;
	g_now = 500 * SEC;
	qt_fix_open(&f, "qt_reset");
	qt_set(&f, 1000, 0, 0, 0);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(qt_read(&f, i), 0);
	}
	CU_ASSERT_EQUAL(vt_bdev_reset(f.desc, f.ch, qt_io_cb, (void *)(intptr_t)50), 0);
	CU_ASSERT(ut_poll_until(&f.done, 4));
	CU_ASSERT_EQUAL(f.failed, 3);
	CU_ASSERT_EQUAL(f.order[3], 50);
	CU_ASSERT(TAILQ_EMPTY(&f.ch->qos_q));
	qt_fix_close(&f);
	g_bdev_qos_now = vt_get_ticks;
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	s = CU_add_suite("qos_buckets", NULL, NULL);
	CU_ADD_TEST(s, iops_limit_passes_its_rate_and_no_more);
	CU_ADD_TEST(s, idle_time_saves_at_most_one_burst);
	CU_ADD_TEST(s, byte_limit_counts_bytes_of_each_io);
	CU_ADD_TEST(s, io_larger_than_the_bucket_passes_and_leaves_a_debt);
	CU_ADD_TEST(s, read_and_write_limits_split_by_direction);
	CU_ADD_TEST(s, limit_checks_follow_spdk_units);
	CU_ADD_TEST(s, several_reactors_share_one_limit);
	s = CU_add_suite("qos_channels", ut_reactor_suite_init, ut_reactor_suite_fini);
	CU_ADD_TEST(s, queued_io_is_released_in_order_as_tokens_come);
	CU_ADD_TEST(s, removing_the_limits_releases_everything_queued);
	CU_ADD_TEST(s, raising_the_limit_releases_queued_io_at_the_new_rate);
	CU_ADD_TEST(s, hot_remove_fails_queued_io_and_frees_the_bdev);
	CU_ADD_TEST(s, reset_aborts_queued_io);
	return ut_run_tests();
}
