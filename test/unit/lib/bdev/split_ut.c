/* SPDX-License-Identifier: BSD-3-Clause */
/* The split bdev's geometry: part sizes, SPDK's clamping of the count, and the range checks. */
#include <CUnit/Basic.h>
#include <stdint.h>
#include <string.h>

#include "lib/bdev/split/bdev_split.c"

#include "test/unit/common/ut_main.h"

static void
even_split_drops_the_remainder(void)
{
	uint64_t blocks = 0;
	uint32_t parts = 0;
	const char *bad = NULL;

	CU_ASSERT_EQUAL(bdev_split_geometry(1003, 512, 4, 0, &blocks, &parts, &bad), 0);
	CU_ASSERT_EQUAL(blocks, 250);
	CU_ASSERT_EQUAL(parts, 4);
	/* One block each at most. */
	CU_ASSERT_EQUAL(bdev_split_geometry(7, 512, 7, 0, &blocks, &parts, &bad), 0);
	CU_ASSERT(blocks == 1 && parts == 7);
	CU_ASSERT_EQUAL(bdev_split_geometry(7, 512, 8, 0, &blocks, &parts, &bad), -EINVAL);
	CU_ASSERT_STRING_EQUAL(bad, "split_count");
}

static void
sized_split_clamps_the_count(void)
{
	uint64_t blocks = 0;
	uint32_t parts = 0;
	const char *bad = NULL;

	/* 10 MiB of 512-byte blocks in 3 MiB parts: 3 fit. */
	CU_ASSERT_EQUAL(bdev_split_geometry(20480, 512, 5, 3, &blocks, &parts, &bad), 0);
	CU_ASSERT(blocks == 6144 && parts == 3);
	/* Exactly the base. */
	CU_ASSERT_EQUAL(bdev_split_geometry(2048, 4096, 1, 8, &blocks, &parts, &bad), 0);
	CU_ASSERT(blocks == 2048 && parts == 1);
	/* Larger than the base. */
	CU_ASSERT_EQUAL(bdev_split_geometry(2048, 4096, 1, 9, &blocks, &parts, &bad), -EINVAL);
	CU_ASSERT_STRING_EQUAL(bad, "split_size_mb");
	/* Not whole blocks: 1 MiB of 2 MiB blocks (block sizes are powers of two up to 64 KiB
	 * here, so only an impossible block size shows it). */
	CU_ASSERT_EQUAL(bdev_split_geometry(100, 3 * 1024 * 1024, 1, 1, &blocks, &parts, &bad),
			-EINVAL);
	CU_ASSERT_STRING_EQUAL(bad, "split_size_mb");
	/* Overflow of MiB to bytes. */
	CU_ASSERT_EQUAL(
		bdev_split_geometry(UINT64_MAX, 512, 1, UINT64_MAX / 1024, &blocks, &parts, &bad),
		-EINVAL);
	CU_ASSERT_STRING_EQUAL(bad, "split_size_mb");
}

static void
count_limits(void)
{
	uint64_t blocks = 0;
	uint32_t parts = 0;
	const char *bad = NULL;

	CU_ASSERT_EQUAL(bdev_split_geometry(1 << 20, 512, 0, 0, &blocks, &parts, &bad), -EINVAL);
	CU_ASSERT_STRING_EQUAL(bad, "split_count");
	CU_ASSERT_EQUAL(bdev_split_geometry(1ull << 40, 512, BDEV_SPLIT_MAX_COUNT + 1, 0, &blocks,
					    &parts, &bad),
			-EINVAL);
	CU_ASSERT_EQUAL(bdev_split_geometry(1ull << 40, 512, BDEV_SPLIT_MAX_COUNT, 0, &blocks,
					    &parts, &bad),
			0);
	CU_ASSERT_EQUAL(parts, BDEV_SPLIT_MAX_COUNT);
	/* The last part ends within the base. */
	CU_ASSERT((uint64_t)(parts - 1) * blocks + blocks <= 1ull << 40);
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	s = CU_add_suite("bdev_split", NULL, NULL);
	CU_ADD_TEST(s, even_split_drops_the_remainder);
	CU_ADD_TEST(s, sized_split_clamps_the_count);
	CU_ADD_TEST(s, count_limits);
	return ut_run_tests();
}
