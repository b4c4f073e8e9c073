/* SPDX-License-Identifier: BSD-3-Clause */
#include <CUnit/Basic.h>
#include <string.h>

#include "lib/util/iov.c"
#include "test/unit/common/ut_main.h"

static uint8_t g_a[64], g_b[64];

static void
fill_pattern(uint8_t *p, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i++) {
		p[i] = (uint8_t)(seed + i);
	}
}

static void
iov_length_sums_all_including_empty(void)
{
	struct iovec iov[] = {
		{ g_a, 3 },
		{ NULL, 0 },
		{ g_a + 3, 10 },
		{ g_a + 13, 0 },
	};

	CU_ASSERT_EQUAL(vt_iov_length(iov, 4), 13);
	CU_ASSERT_EQUAL(vt_iov_length(iov, 0), 0);
	CU_ASSERT_EQUAL(vt_iov_length(NULL, 0), 0);
}

static void
iov_from_buf_fills_across_iovecs_and_skips_empty_ones(void)
{
	uint8_t src[20];
	struct iovec iov[] = {
		{ g_a, 5 },
		{ NULL, 0 },
		{ g_a + 10, 7 },
		{ g_a + 30, 8 },
	};

	memset(g_a, 0xee, sizeof(g_a));
	fill_pattern(src, sizeof(src), 1);
	CU_ASSERT_EQUAL(vt_iov_from_buf(iov, 4, src, sizeof(src)), 20);
	CU_ASSERT(memcmp(g_a, src, 5) == 0);
	CU_ASSERT(memcmp(g_a + 10, src + 5, 7) == 0);
	CU_ASSERT(memcmp(g_a + 30, src + 12, 8) == 0);
	/* Gaps between iovecs are untouched. */
	CU_ASSERT_EQUAL(g_a[5], 0xee);
	CU_ASSERT_EQUAL(g_a[17], 0xee);
	CU_ASSERT_EQUAL(g_a[38], 0xee);
}

static void
iov_from_buf_stops_at_len_shorter_than_iovecs(void)
{
	uint8_t src[6] = { 1, 2, 3, 4, 5, 6 };
	struct iovec iov[] = { { g_a, 4 }, { g_a + 4, 20 } };

	memset(g_a, 0, sizeof(g_a));
	CU_ASSERT_EQUAL(vt_iov_from_buf(iov, 2, src, 6), 6);
	CU_ASSERT(memcmp(g_a, src, 6) == 0);
	CU_ASSERT_EQUAL(g_a[6], 0);
}

static void
iov_from_buf_stops_when_iovecs_run_out(void)
{
	uint8_t src[32];
	struct iovec iov[] = { { g_a, 4 }, { g_a + 8, 4 } };

	memset(g_a, 0, sizeof(g_a));
	fill_pattern(src, sizeof(src), 1);
	CU_ASSERT_EQUAL(vt_iov_from_buf(iov, 2, src, sizeof(src)), 8);
	CU_ASSERT_EQUAL(g_a[12], 0);
	CU_ASSERT_EQUAL(vt_iov_from_buf(iov, 0, src, sizeof(src)), 0);
}

static void
iov_to_buf_gathers_across_iovecs(void)
{
	uint8_t dst[32];
	struct iovec iov[] = { { g_a, 3 }, { g_a + 3, 0 }, { g_a + 20, 5 } };

	fill_pattern(g_a, sizeof(g_a), 0);
	memset(dst, 0xaa, sizeof(dst));
	CU_ASSERT_EQUAL(vt_iov_to_buf(iov, 3, dst, sizeof(dst)), 8);
	CU_ASSERT(memcmp(dst, g_a, 3) == 0);
	CU_ASSERT(memcmp(dst + 3, g_a + 20, 5) == 0);
	CU_ASSERT_EQUAL(dst[8], 0xaa);
	/* A shorter len gathers only that much. */
	memset(dst, 0xaa, sizeof(dst));
	CU_ASSERT_EQUAL(vt_iov_to_buf(iov, 3, dst, 4), 4);
	CU_ASSERT_EQUAL(dst[3], g_a[20]);
	CU_ASSERT_EQUAL(dst[4], 0xaa);
}

static void
iov_memset_fills_up_to_len(void)
{
	struct iovec iov[] = { { g_a, 2 }, { NULL, 0 }, { g_a + 10, 10 } };

	memset(g_a, 0, sizeof(g_a));
	CU_ASSERT_EQUAL(vt_iov_memset(iov, 3, 0x5a, 7), 7);
	CU_ASSERT_EQUAL(g_a[0], 0x5a);
	CU_ASSERT_EQUAL(g_a[1], 0x5a);
	CU_ASSERT_EQUAL(g_a[2], 0);
	CU_ASSERT_EQUAL(g_a[14], 0x5a);
	CU_ASSERT_EQUAL(g_a[15], 0);
	CU_ASSERT_EQUAL(vt_iov_memset(iov, 3, 0x11, 100), 12);
	CU_ASSERT_EQUAL(g_a[19], 0x11);
	CU_ASSERT_EQUAL(g_a[20], 0);
}

static void
iov_copy_copies_the_shorter_of_two_layouts(void)
{
	struct iovec src[] = { { g_a, 5 }, { g_a + 5, 0 }, { g_a + 5, 11 } };
	struct iovec dst[] = { { g_b, 3 }, { g_b + 10, 7 }, { NULL, 0 }, { g_b + 20, 20 } };
	uint8_t flat_src[16], flat_dst[16];

	fill_pattern(g_a, sizeof(g_a), 9);
	memset(g_b, 0, sizeof(g_b));
	CU_ASSERT_EQUAL(vt_iov_copy(dst, 4, src, 3), 16);
	vt_iov_to_buf(src, 3, flat_src, sizeof(flat_src));
	vt_iov_to_buf(dst, 4, flat_dst, sizeof(flat_dst));
	CU_ASSERT(memcmp(flat_src, flat_dst, 16) == 0);
	CU_ASSERT_EQUAL(g_b[26], 0);
	/* Destination shorter than the source. */
	CU_ASSERT_EQUAL(vt_iov_copy(dst, 1, src, 3), 3);
	CU_ASSERT_EQUAL(vt_iov_copy(dst, 4, src, 0), 0);
}

static void
iov_compare_equal_arrays_with_different_layouts(void)
{
	struct iovec a[] = { { g_a, 10 }, { g_a + 10, 0 }, { g_a + 10, 22 } };
	struct iovec b[] = { { g_b, 1 }, { g_b + 1, 30 }, { g_b + 31, 1 } };
	size_t off = 12345;

	fill_pattern(g_a, sizeof(g_a), 3);
	memcpy(g_b, g_a, sizeof(g_b));
	CU_ASSERT_EQUAL(vt_iov_compare(a, 3, b, 3, 32, &off), 0);
	CU_ASSERT_EQUAL(off, 12345);
	CU_ASSERT_EQUAL(vt_iov_compare(a, 3, b, 3, 0, NULL), 0);
}

static void
iov_compare_reports_offset_across_iovecs(void)
{
	struct iovec a[] = { { g_a, 7 }, { g_a + 7, 25 } };
	struct iovec b[] = { { g_b, 3 }, { NULL, 0 }, { g_b + 3, 13 }, { g_b + 16, 16 } };
	size_t off = 0;

	fill_pattern(g_a, sizeof(g_a), 3);
	memcpy(g_b, g_a, sizeof(g_b));
	/* Offset 20: in a's second iovec and b's third. */
	g_b[20] ^= 0xff;
	CU_ASSERT_EQUAL(vt_iov_compare(a, 2, b, 4, 32, &off), 1);
	CU_ASSERT_EQUAL(off, 20);
	/* A len stopping before the difference sees equal data. */
	CU_ASSERT_EQUAL(vt_iov_compare(a, 2, b, 4, 20, &off), 0);
	/* First difference at an iovec boundary of b. */
	g_b[20] ^= 0xff;
	g_b[16] ^= 0x01;
	CU_ASSERT_EQUAL(vt_iov_compare(a, 2, b, 4, 32, &off), 1);
	CU_ASSERT_EQUAL(off, 16);
	/* The off pointer is optional. */
	CU_ASSERT_EQUAL(vt_iov_compare(a, 2, b, 4, 32, NULL), 1);
}

static void
iov_compare_reports_end_of_shorter_array(void)
{
	struct iovec a[] = { { g_a, 8 } };
	struct iovec b[] = { { g_b, 4 }, { g_b + 4, 8 } };
	size_t off = 0;

	fill_pattern(g_a, sizeof(g_a), 3);
	memcpy(g_b, g_a, sizeof(g_b));
	CU_ASSERT_EQUAL(vt_iov_compare(a, 1, b, 2, 12, &off), 1);
	CU_ASSERT_EQUAL(off, 8);
	CU_ASSERT_EQUAL(vt_iov_compare(b, 2, a, 1, 12, &off), 1);
	CU_ASSERT_EQUAL(off, 8);
	CU_ASSERT_EQUAL(vt_iov_compare(a, 1, b, 2, 8, &off), 0);
}

static void
iov_aligned_checks_base_and_length(void)
{
	static uint8_t buf[8192] __attribute__((aligned(4096)));
	struct iovec ok[] = { { buf, 512 }, { buf + 1024, 1024 }, { buf + 3, 0 } };
	struct iovec bad_base[] = { { buf + 8, 512 } };
	struct iovec bad_len[] = { { buf, 512 }, { buf + 512, 100 } };

	CU_ASSERT(vt_iov_aligned(ok, 3, 512));
	CU_ASSERT(!vt_iov_aligned(ok, 3, 4096));
	CU_ASSERT(!vt_iov_aligned(bad_base, 1, 512));
	CU_ASSERT(vt_iov_aligned(bad_base, 1, 8));
	CU_ASSERT(!vt_iov_aligned(bad_len, 2, 512));
	CU_ASSERT(vt_iov_aligned(bad_len, 2, 4));
	CU_ASSERT(vt_iov_aligned(bad_len, 0, 512));
}

static void
iov_aligned_rejects_non_power_of_two(void)
{
	static uint8_t buf[1024] __attribute__((aligned(512)));
	struct iovec iov[] = { { buf, 512 } };

	CU_ASSERT(!vt_iov_aligned(iov, 1, 0));
	CU_ASSERT(!vt_iov_aligned(iov, 1, 3));
	CU_ASSERT(!vt_iov_aligned(iov, 1, 384));
	CU_ASSERT(vt_iov_aligned(iov, 1, 1));
}

static void
buf_is_zero_finds_any_nonzero_byte(void)
{
	uint8_t buf[100];
	size_t i;

	memset(buf, 0, sizeof(buf));
	CU_ASSERT(vt_buf_is_zero(buf, sizeof(buf)));
	CU_ASSERT(vt_buf_is_zero(buf, 0));
	for (i = 0; i < sizeof(buf); i++) {
		buf[i] = 1;
		CU_ASSERT(!vt_buf_is_zero(buf, sizeof(buf)));
		CU_ASSERT(vt_buf_is_zero(buf, i));
		buf[i] = 0;
	}
}

int
main(void)
{
	CU_pSuite suite;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("iov", NULL, NULL);
	CU_ADD_TEST(suite, iov_length_sums_all_including_empty);
	CU_ADD_TEST(suite, iov_from_buf_fills_across_iovecs_and_skips_empty_ones);
	CU_ADD_TEST(suite, iov_from_buf_stops_at_len_shorter_than_iovecs);
	CU_ADD_TEST(suite, iov_from_buf_stops_when_iovecs_run_out);
	CU_ADD_TEST(suite, iov_to_buf_gathers_across_iovecs);
	CU_ADD_TEST(suite, iov_memset_fills_up_to_len);
	CU_ADD_TEST(suite, iov_copy_copies_the_shorter_of_two_layouts);
	CU_ADD_TEST(suite, iov_compare_equal_arrays_with_different_layouts);
	CU_ADD_TEST(suite, iov_compare_reports_offset_across_iovecs);
	CU_ADD_TEST(suite, iov_compare_reports_end_of_shorter_array);
	CU_ADD_TEST(suite, iov_aligned_checks_base_and_length);
	CU_ADD_TEST(suite, iov_aligned_rejects_non_power_of_two);
	CU_ADD_TEST(suite, buf_is_zero_finds_any_nonzero_byte);

	return ut_run_tests();
}
