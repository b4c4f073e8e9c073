/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Interrupt coalescing on a fake clock: the delay follows the completion rate, calls inside the
 * delay are owed and sent when it ends (never later), a stop or a change of call fd sends what
 * is owed, turning coalescing off sends everything at once.
 */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/vhost/vhost_coalesce.c"

#include "test/unit/common/ut_main.h"

static uint64_t g_now;

uint64_t
vt_get_ticks(void)
{
	return g_now;
}

static struct vhost_ctrlr g_c;
static struct vhost_session g_s;
static struct vhost_queue g_q[2];
static uint64_t g_ncalls[2];

/* The calls written to queue i's eventfd so far. */
static uint64_t
calls(int i)
{
	uint64_t v = 0;

	if (read(g_q[i].callfd, &v, sizeof(v)) == sizeof(v)) {
		g_ncalls[i] += v;
	}
	return g_ncalls[i];
}

#define US 1000ull
#define MS 1000000ull

/* A session with two queues (no reactor: the rate check is called by hand). */
static void
setup(uint32_t delay_us, uint32_t iops)
{
	memset(&g_c, 0, sizeof(g_c));
	memset(&g_s, 0, sizeof(g_s));
	memset(g_ncalls, 0, sizeof(g_ncalls));
	g_now = 1000 * MS;
	g_s.ctrlr = &g_c;
	g_s.coal.timerfd = -1;
	for (uint16_t i = 0; i < 2; i++) {
		int fd = g_q[i].callfd;

		memset(&g_q[i], 0, sizeof(g_q[i]));
		g_q[i].callfd = fd;
		g_q[i].s = &g_s;
		g_q[i].index = i;
		if (g_q[i].callfd > 0) {
			close(g_q[i].callfd);
		}
		g_q[i].callfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		g_s.queues[i] = &g_q[i];
	}
	g_c.coal_delay_us = delay_us;
	g_c.coal_iops_threshold = iops;
	/* What vhost_coal_session_apply sets, without registering pollers. */
	g_s.coal.base_ns = (uint64_t)delay_us * US;
	g_s.coal.iops_threshold = iops;
	coal_rate_check(&g_s); /* the windows start now */
}

/* n completions on q within one rate interval, then the check. */
static void
interval(struct vhost_queue *q, uint64_t n)
{
	q->completed += n;
	g_now += VHOST_COAL_CHECK_MS * MS;
	coal_rate_check(&g_s);
}

static void
delay_follows_rate_and_is_capped(void)
{
	setup(1000, 10000); /* 100 per 10 ms */
	interval(&g_q[0], 100);
	CU_ASSERT_EQUAL(g_q[0].coal_delay_ns, 0);
	interval(&g_q[0], 150); /* 50 % above: half the base */
	CU_ASSERT_EQUAL(g_q[0].coal_delay_ns, 500 * US);
	interval(&g_q[0], 100000); /* far above: never more than the base */
	CU_ASSERT_EQUAL(g_q[0].coal_delay_ns, 1000 * US);
	CU_ASSERT_EQUAL(g_q[1].coal_delay_ns, 0); /* per queue */
	interval(&g_q[0], 10);
	CU_ASSERT_EQUAL(g_q[0].coal_delay_ns, 0);
}

static void
long_delays_are_measured_over_two_delays(void)
{
	setup(30000, 1000);   /* 60 ms windows: 60 completions per window at the threshold */
	interval(&g_q[0], 5); /* the first window is 10 ms: 5 is below 10 */
	CU_ASSERT_EQUAL(g_q[0].coal_delay_ns, 0);
	for (int i = 0; i < 5; i++) {
		interval(&g_q[0], i == 0 ? 90 : 0); /* a burst, then nothing while calls wait */
		CU_ASSERT_EQUAL(g_q[0].coal_delay_ns, 0);
	}
	interval(&g_q[0], 0); /* 60 ms: 90 completions, 50 % above */
	CU_ASSERT_EQUAL(g_q[0].coal_delay_ns, 15000 * US);
}

static void
calls_inside_the_delay_are_owed_then_sent_on_time(void)
{
	setup(1000, 10000);
	interval(&g_q[0], 100000);
	vhost_coal_notify(&g_q[0]); /* the first goes at once */
	CU_ASSERT_EQUAL(calls(0), 1);
	for (int i = 0; i < 50; i++) {
		g_now += 10 * US;
		vhost_coal_notify(&g_q[0]);
	}
	CU_ASSERT_EQUAL(calls(0), 1);
	CU_ASSERT_TRUE(g_q[0].coal_pending);
	CU_ASSERT_EQUAL(g_s.coal.npending, 1);
	/* 500 us after the call: the poller finds nothing due yet. */
	vhost_coal_flush(&g_s);
	CU_ASSERT_EQUAL(calls(0), 1);
	g_now += 499 * US;
	vhost_coal_flush(&g_s);
	CU_ASSERT_EQUAL(calls(0), 1);
	g_now += 1 * US; /* delay_base_us after the last call */
	vhost_coal_flush(&g_s);
	CU_ASSERT_EQUAL(calls(0), 2);
	CU_ASSERT_FALSE(g_q[0].coal_pending);
	CU_ASSERT_EQUAL(g_s.coal.npending, 0);
	/* Nothing owed: the poller sends nothing more. */
	g_now += 5 * MS;
	vhost_coal_flush(&g_s);
	CU_ASSERT_EQUAL(calls(0), 2);
}

static void
below_threshold_every_call_goes_at_once(void)
{
	setup(1000, 10000);
	interval(&g_q[0], 50);
	for (int i = 0; i < 20; i++) {
		g_now += 1 * US;
		vhost_coal_notify(&g_q[0]);
	}
	CU_ASSERT_EQUAL(calls(0), 20);
	CU_ASSERT_EQUAL(g_s.coal.npending, 0);
}

static void
stop_sends_what_is_owed(void)
{
	setup(1000, 10000);
	interval(&g_q[1], 100000);
	vhost_coal_notify(&g_q[1]);
	g_now += 1 * US;
	vhost_coal_notify(&g_q[1]);
	CU_ASSERT_EQUAL(calls(1), 1);
	vhost_coal_queue_stop(&g_q[1]);
	CU_ASSERT_EQUAL(calls(1), 2);
	CU_ASSERT_EQUAL(g_s.coal.npending, 0);
	/* A stopping queue does not wait. */
	g_q[1].stopping = true;
	vhost_coal_notify(&g_q[1]);
	CU_ASSERT_EQUAL(calls(1), 3);
}

static void
off_sends_everything_owed(void)
{
	setup(1000, 10000);
	g_q[1].completed += 100000;
	interval(&g_q[0], 100000);
	for (int i = 0; i < 2; i++) {
		vhost_coal_notify(&g_q[0]);
		vhost_coal_notify(&g_q[1]);
	}
	CU_ASSERT_EQUAL(g_s.coal.npending, 2);
	g_c.coal_delay_us = 0;
	vhost_coal_session_apply(&g_s);
	CU_ASSERT_EQUAL(calls(0), 2);
	CU_ASSERT_EQUAL(calls(1), 2);
	CU_ASSERT_EQUAL(g_s.coal.npending, 0);
	CU_ASSERT_EQUAL(g_s.coal.base_ns, 0);
	CU_ASSERT_EQUAL(g_q[0].coal_delay_ns, 0);
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	s = CU_add_suite("vhost_coalesce", NULL, NULL);
	CU_ADD_TEST(s, delay_follows_rate_and_is_capped);
	CU_ADD_TEST(s, long_delays_are_measured_over_two_delays);
	CU_ADD_TEST(s, calls_inside_the_delay_are_owed_then_sent_on_time);
	CU_ADD_TEST(s, below_threshold_every_call_goes_at_once);
	CU_ADD_TEST(s, stop_sends_what_is_owed);
	CU_ADD_TEST(s, off_sends_everything_owed);
	return ut_run_tests();
}
