/* SPDX-License-Identifier: BSD-3-Clause */
/* The error-injection bdev: its injection table, byte corruption, and name parsing. */
#include <CUnit/Basic.h>
#include <stdint.h>
#include <string.h>

#include "lib/bdev/error/bdev_error.c"

#include "test/unit/common/ut_main.h"

static void
parse_names_follow_spdk(void)
{
	uint32_t mask = 99;
	enum bdev_error_type t;

	CU_ASSERT(bdev_error_parse_io_type("clear", &mask) == 0 && mask == 0);
	CU_ASSERT(bdev_error_parse_io_type("read", &mask) == 0 &&
		  mask == 1u << BDEV_ERROR_SLOT_READ);
	CU_ASSERT(bdev_error_parse_io_type("all", &mask) == 0 && mask == 0xf);
	CU_ASSERT_EQUAL(bdev_error_parse_io_type("READ", &mask), -EINVAL);
	CU_ASSERT_EQUAL(bdev_error_parse_io_type("write_zeroes", &mask), -EINVAL);
	CU_ASSERT(bdev_error_parse_error_type("nomem", &t) == 0 && t == BDEV_ERROR_NOMEM);
	CU_ASSERT(bdev_error_parse_error_type("corrupt_data", &t) == 0 &&
		  t == BDEV_ERROR_CORRUPT_DATA);
	CU_ASSERT_EQUAL(bdev_error_parse_error_type("nvme_failure", &t), -EINVAL);
}

static void
table_counts_down_per_type_and_clears(void)
{
	struct bdev_error_table t = { 0 };
	struct bdev_error_injection inj = { .type = BDEV_ERROR_FAILURE, .num = 2 }, out;

	bdev_error_table_set(&t, 1u << BDEV_ERROR_SLOT_READ, &inj);
	CU_ASSERT_FALSE(bdev_error_table_take(&t, VT_BDEV_IO_TYPE_WRITE, 1, &out));
	CU_ASSERT_FALSE(bdev_error_table_take(&t, VT_BDEV_IO_TYPE_RESET, 1, &out));
	CU_ASSERT_TRUE(bdev_error_table_take(&t, VT_BDEV_IO_TYPE_READ, 1, &out));
	CU_ASSERT_EQUAL(out.type, BDEV_ERROR_FAILURE);
	CU_ASSERT_TRUE(bdev_error_table_take(&t, VT_BDEV_IO_TYPE_READ, 1, &out));
	CU_ASSERT_FALSE(bdev_error_table_take(&t, VT_BDEV_IO_TYPE_READ, 1, &out));
	/* "all" arms every type; "clear" (mask 0) disarms them all. */
	inj.num = 5;
	bdev_error_table_set(&t, 0xf, &inj);
	CU_ASSERT_TRUE(bdev_error_table_take(&t, VT_BDEV_IO_TYPE_FLUSH, 1, &out));
	CU_ASSERT_TRUE(bdev_error_table_take(&t, VT_BDEV_IO_TYPE_UNMAP, 1, &out));
	bdev_error_table_set(&t, 0, &inj);
	CU_ASSERT_FALSE(bdev_error_table_take(&t, VT_BDEV_IO_TYPE_FLUSH, 1, &out));
	CU_ASSERT_FALSE(bdev_error_table_take(&t, VT_BDEV_IO_TYPE_WRITE, 1, &out));
}

static void
queue_depth_gates_the_injection(void)
{
	struct bdev_error_table t = { 0 };
	struct bdev_error_injection inj = { .type = BDEV_ERROR_NOMEM, .num = 1, .queue_depth = 4 };
	struct bdev_error_injection out;

	bdev_error_table_set(&t, 1u << BDEV_ERROR_SLOT_WRITE, &inj);
	CU_ASSERT_FALSE(bdev_error_table_take(&t, VT_BDEV_IO_TYPE_WRITE, 3, &out));
	/* Not consumed while gated. */
	CU_ASSERT_TRUE(bdev_error_table_take(&t, VT_BDEV_IO_TYPE_WRITE, 4, &out));
	CU_ASSERT_EQUAL(out.type, BDEV_ERROR_NOMEM);
	CU_ASSERT_FALSE(bdev_error_table_take(&t, VT_BDEV_IO_TYPE_WRITE, 9, &out));
}

static void
corrupt_flips_one_byte_across_iovecs(void)
{
	uint8_t a[4] = { 0 }, b[8] = { 0 };
	struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	uint8_t za[4] = { 0 }, zb[8] = { 0 };

	bdev_error_corrupt(iov, 2, 5, 0x5a);
	CU_ASSERT_EQUAL(b[1], 0x5a);
	b[1] = 0;
	CU_ASSERT(memcmp(a, za, sizeof(a)) == 0 && memcmp(b, zb, sizeof(b)) == 0);
	bdev_error_corrupt(iov, 2, 0, 0xff);
	CU_ASSERT_EQUAL(a[0], 0xff);
	a[0] = 0;
	/* Beyond the data: nothing. */
	bdev_error_corrupt(iov, 2, 12, 0xff);
	CU_ASSERT(memcmp(a, za, sizeof(a)) == 0 && memcmp(b, zb, sizeof(b)) == 0);
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	s = CU_add_suite("bdev_error", NULL, NULL);
	CU_ADD_TEST(s, parse_names_follow_spdk);
	CU_ADD_TEST(s, table_counts_down_per_type_and_clears);
	CU_ADD_TEST(s, queue_depth_gates_the_injection);
	CU_ADD_TEST(s, corrupt_flips_one_byte_across_iovecs);
	return ut_run_tests();
}
