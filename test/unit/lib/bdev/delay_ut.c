/* SPDX-License-Identifier: BSD-3-Clause */
/* The delay bdev: latency checks, the p99 draw, and the release order of held I/Os. */
#include <CUnit/Basic.h>
#include <stdint.h>
#include <string.h>

#include "lib/bdev/delay/bdev_delay.c"

#include "test/unit/common/ut_main.h"

static void
latencies_are_checked(void)
{
	uint64_t lat[BDEV_DELAY_NUM_LATENCIES] = { 10, 20, 30, 40 };
	enum bdev_delay_latency bad = BDEV_DELAY_NUM_LATENCIES;

	CU_ASSERT_EQUAL(bdev_delay_check_latencies(lat, &bad), 0);
	lat[BDEV_DELAY_AVG_READ] = 21;
	CU_ASSERT_EQUAL(bdev_delay_check_latencies(lat, &bad), -EINVAL);
	CU_ASSERT_EQUAL(bad, BDEV_DELAY_AVG_READ);
	lat[BDEV_DELAY_AVG_READ] = 20; /* equal is fine */
	CU_ASSERT_EQUAL(bdev_delay_check_latencies(lat, &bad), 0);
	lat[BDEV_DELAY_P99_WRITE] = 29;
	CU_ASSERT_EQUAL(bdev_delay_check_latencies(lat, &bad), -EINVAL);
	CU_ASSERT_EQUAL(bad, BDEV_DELAY_AVG_WRITE);
	lat[BDEV_DELAY_P99_WRITE] = BDEV_DELAY_MAX_LATENCY_US + 1;
	CU_ASSERT_EQUAL(bdev_delay_check_latencies(lat, &bad), -EINVAL);
	CU_ASSERT_EQUAL(bad, BDEV_DELAY_P99_WRITE);
	lat[BDEV_DELAY_P99_WRITE] = BDEV_DELAY_MAX_LATENCY_US;
	CU_ASSERT_EQUAL(bdev_delay_check_latencies(lat, &bad), 0);
}

static void
pick_uses_p99_one_in_a_hundred(void)
{
	const uint64_t lat[BDEV_DELAY_NUM_LATENCIES] = { 10, 20, 30, 40 };
	struct delay_channel ch = { .rng = 12345 };
	int p99 = 0;

	CU_ASSERT_EQUAL(bdev_delay_pick_us(lat, VT_BDEV_IO_TYPE_READ, 1), 10);
	CU_ASSERT_EQUAL(bdev_delay_pick_us(lat, VT_BDEV_IO_TYPE_READ, 200), 20);
	CU_ASSERT_EQUAL(bdev_delay_pick_us(lat, VT_BDEV_IO_TYPE_WRITE, 7), 30);
	CU_ASSERT_EQUAL(bdev_delay_pick_us(lat, VT_BDEV_IO_TYPE_WRITE, 0), 40);
	CU_ASSERT_EQUAL(bdev_delay_pick_us(lat, VT_BDEV_IO_TYPE_UNMAP, 0), 0);
	CU_ASSERT_EQUAL(bdev_delay_pick_us(lat, VT_BDEV_IO_TYPE_FLUSH, 5), 0);
	/* The channel's generator: about 1 % over 100000 draws. */
	for (int i = 0; i < 100000; i++) {
		p99 += bdev_delay_pick_us(lat, VT_BDEV_IO_TYPE_READ, delay_rand(&ch)) == 20;
	}
	CU_ASSERT(p99 > 800 && p99 < 1200);
}

static void
parse_latency_types(void)
{
	enum bdev_delay_latency t;

	CU_ASSERT(bdev_delay_parse_latency_type("p99_write", &t) == 0 && t == BDEV_DELAY_P99_WRITE);
	CU_ASSERT(bdev_delay_parse_latency_type("avg_read", &t) == 0 && t == BDEV_DELAY_AVG_READ);
	CU_ASSERT_EQUAL(bdev_delay_parse_latency_type("avg", &t), -EINVAL);
}

static void
held_ios_are_ordered_by_release_time(void)
{
	struct delay_channel ch = { 0 };
	struct delay_io_ctx ctx[4];
	const uint64_t release[4] = { 30, 10, 30, 20 };
	const int want[4] = { 1, 3, 0, 2 };
	struct delay_io_ctx *it;
	int i = 0;

	TAILQ_INIT(&ch.held);
	ch.poller = (struct vt_poller *)1; /* pretend registered: no reactor here */
	for (int k = 0; k < 4; k++) {
		memset(&ctx[k], 0, sizeof(ctx[k]));
		ctx[k].release_ticks = release[k];
		delay_hold(&ch, &ctx[k]);
	}
	/* By release time; equal times keep their order. */
	TAILQ_FOREACH (it, &ch.held, link) {
		CU_ASSERT_EQUAL(it - ctx, want[i]);
		i++;
	}
	CU_ASSERT_EQUAL(i, 4);
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	s = CU_add_suite("bdev_delay", NULL, NULL);
	CU_ADD_TEST(s, latencies_are_checked);
	CU_ADD_TEST(s, pick_uses_p99_one_in_a_hundred);
	CU_ADD_TEST(s, parse_latency_types);
	CU_ADD_TEST(s, held_ios_are_ordered_by_release_time);
	return ut_run_tests();
}
