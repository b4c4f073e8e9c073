/* SPDX-License-Identifier: BSD-3-Clause */
#include <CUnit/Basic.h>
#include <errno.h>
#include <string.h>

#include "lib/util/cpuset.c"
#include "test/unit/common/ut_main.h"

/* Parses str and checks the result holds exactly the cpus in want[0..n). */
static void
assert_parses_to(const char *str, const uint32_t *want, size_t n)
{
	struct vt_cpuset s, expect;
	size_t i;

	vt_cpuset_zero(&expect);
	for (i = 0; i < n; i++) {
		vt_cpuset_set(&expect, want[i]);
	}
	CU_ASSERT_EQUAL_FATAL(vt_cpuset_parse(&s, str), 0);
	CU_ASSERT(vt_cpuset_equal(&s, &expect));
	CU_ASSERT_EQUAL(vt_cpuset_count(&s), n);
}

static void
assert_rejected(const char *str)
{
	struct vt_cpuset s, before;

	vt_cpuset_zero(&s);
	vt_cpuset_set(&s, 5);
	before = s;
	CU_ASSERT_EQUAL(vt_cpuset_parse(&s, str), -EINVAL);
	/* A refused string leaves the set as it was. */
	CU_ASSERT(vt_cpuset_equal(&s, &before));
}

static void
cpuset_parse_accepts_hex_with_and_without_prefix(void)
{
	static const uint32_t c01[] = { 0, 1 }, c4[] = { 4 }, c_mixed[] = { 0, 2, 3, 5, 7 };

	assert_parses_to("0x3", c01, 2);
	assert_parses_to("3", c01, 2);
	assert_parses_to("0X10", c4, 1);
	assert_parses_to("0xad", c_mixed, 5);
	assert_parses_to("0xAD", c_mixed, 5);
	assert_parses_to("00000003", c01, 2);
}

static void
cpuset_parse_accepts_hex_up_to_1024_bits(void)
{
	static const uint32_t c_top[] = { 1023 }, c64[] = { 64 }, c_edges[] = { 0, 1023 };
	char mask[2 + 256 + 1];

	/* The highest cpu: an 8 followed by 255 zeros. */
	mask[0] = '0';
	mask[1] = 'x';
	mask[2] = '8';
	memset(mask + 3, '0', 255);
	mask[258] = '\0';
	assert_parses_to(mask, c_top, 1);
	mask[257] = '1';
	assert_parses_to(mask, c_edges, 2);
	assert_parses_to("0x10000000000000000", c64, 1);
}

static void
cpuset_parse_allows_leading_zeros_beyond_1024_bits(void)
{
	static const uint32_t c0[] = { 0 };
	char mask[400];

	memset(mask, '0', sizeof(mask) - 2);
	mask[sizeof(mask) - 2] = '1';
	mask[sizeof(mask) - 1] = '\0';
	assert_parses_to(mask, c0, 1);
}

static void
cpuset_parse_rejects_cpu_beyond_1024_bits(void)
{
	char mask[2 + 257 + 1];

	/* A 1 followed by 256 zeros is cpu 1024. */
	mask[0] = '0';
	mask[1] = 'x';
	mask[2] = '1';
	memset(mask + 3, '0', 256);
	mask[259] = '\0';
	assert_rejected(mask);
}

static void
cpuset_parse_rejects_bad_hex(void)
{
	assert_rejected("");
	assert_rejected("0x");
	assert_rejected("0xg");
	assert_rejected("12z");
	assert_rejected(" 0x3");
	assert_rejected("0x3 ");
	assert_rejected("-1");
	assert_rejected("0x-3");
}

static void
cpuset_parse_rejects_empty_mask(void)
{
	assert_rejected("0");
	assert_rejected("0x0");
	assert_rejected("0x0000");
}

static void
cpuset_parse_accepts_list(void)
{
	static const uint32_t c_list[] = { 0, 2, 3, 4, 5, 7 }, c1[] = { 1 },
			      c_range[] = { 1022, 1023 }, c_blank[] = { 0, 2, 3 };

	assert_parses_to("[0,2-5,7]", c_list, 6);
	assert_parses_to("[1]", c1, 1);
	assert_parses_to("[1-1]", c1, 1);
	assert_parses_to("[1022-1023]", c_range, 2);
	assert_parses_to("[ 0 , 2 - 3 ]", c_blank, 3);
	/* Duplicates and overlaps just set the same cpus again. */
	assert_parses_to("[2-3,0,3,2]", c_blank, 3);
}

static void
cpuset_parse_rejects_empty_list(void)
{
	assert_rejected("[]");
	assert_rejected("[ ]");
	assert_rejected("[");
}

static void
cpuset_parse_rejects_reversed_range(void)
{
	assert_rejected("[5-2]");
	assert_rejected("[0,3-1]");
}

static void
cpuset_parse_rejects_core_out_of_range(void)
{
	assert_rejected("[1024]");
	assert_rejected("[0-1024]");
	assert_rejected("[99999999999999999999]");
}

static void
cpuset_parse_rejects_list_garbage(void)
{
	assert_rejected("[0,]");
	assert_rejected("[,0]");
	assert_rejected("[0,,1]");
	assert_rejected("[0");
	assert_rejected("[0-]");
	assert_rejected("[-3]");
	assert_rejected("[a]");
	assert_rejected("[0]x");
	assert_rejected("[0] ");
	assert_rejected("[1;2]");
	assert_rejected("[0x1]");
	assert_rejected("[+1]");
	assert_rejected("0,1");
}

static void
cpuset_parse_rejects_null(void)
{
	struct vt_cpuset s;

	CU_ASSERT_EQUAL(vt_cpuset_parse(&s, NULL), -EINVAL);
	CU_ASSERT_EQUAL(vt_cpuset_parse(NULL, "0x1"), -EINVAL);
}

static void
cpuset_fmt_writes_shortest_hex(void)
{
	struct vt_cpuset s;
	char buf[VT_CPUSET_FMT_LEN];

	vt_cpuset_zero(&s);
	CU_ASSERT_STRING_EQUAL(vt_cpuset_fmt(&s, buf, sizeof(buf)), "0x0");
	vt_cpuset_set(&s, 0);
	vt_cpuset_set(&s, 1);
	CU_ASSERT_STRING_EQUAL(vt_cpuset_fmt(&s, buf, sizeof(buf)), "0x3");
	vt_cpuset_set(&s, 64);
	CU_ASSERT_STRING_EQUAL(vt_cpuset_fmt(&s, buf, sizeof(buf)), "0x10000000000000003");
	CU_ASSERT_PTR_EQUAL(vt_cpuset_fmt(&s, buf, sizeof(buf)), buf);
}

static void
cpuset_fmt_round_trips_through_parse(void)
{
	struct vt_cpuset s, back;
	char buf[VT_CPUSET_FMT_LEN];

	vt_cpuset_zero(&s);
	vt_cpuset_set(&s, 0);
	vt_cpuset_set(&s, 77);
	vt_cpuset_set(&s, 1023);
	vt_cpuset_fmt(&s, buf, sizeof(buf));
	CU_ASSERT_EQUAL(strlen(buf), VT_CPUSET_FMT_LEN - 1);
	CU_ASSERT_EQUAL(vt_cpuset_parse(&back, buf), 0);
	CU_ASSERT(vt_cpuset_equal(&s, &back));
}

static void
cpuset_fmt_gives_empty_string_when_buffer_too_small(void)
{
	struct vt_cpuset s;
	char buf[8];

	vt_cpuset_zero(&s);
	vt_cpuset_set(&s, 40);
	CU_ASSERT_STRING_EQUAL(vt_cpuset_fmt(&s, buf, sizeof(buf)), "");
	vt_cpuset_zero(&s);
	vt_cpuset_set(&s, 12);
	/* "0x1000" plus NUL needs exactly 7 bytes. */
	CU_ASSERT_STRING_EQUAL(vt_cpuset_fmt(&s, buf, 7), "0x1000");
	CU_ASSERT_STRING_EQUAL(vt_cpuset_fmt(&s, buf, 6), "");
}

static void
cpuset_set_clear_isset_ignore_out_of_range(void)
{
	struct vt_cpuset s, zero;

	vt_cpuset_zero(&s);
	vt_cpuset_zero(&zero);
	vt_cpuset_set(&s, VT_CPUSET_MAX);
	CU_ASSERT(vt_cpuset_equal(&s, &zero));
	CU_ASSERT(!vt_cpuset_isset(&s, VT_CPUSET_MAX));
	vt_cpuset_set(&s, 63);
	vt_cpuset_set(&s, 64);
	CU_ASSERT(vt_cpuset_isset(&s, 63));
	CU_ASSERT(vt_cpuset_isset(&s, 64));
	CU_ASSERT(!vt_cpuset_isset(&s, 62));
	vt_cpuset_clear(&s, 63);
	vt_cpuset_clear(&s, VT_CPUSET_MAX + 5);
	CU_ASSERT(!vt_cpuset_isset(&s, 63));
	CU_ASSERT_EQUAL(vt_cpuset_count(&s), 1);
}

static void
cpuset_subset_and_and_behave_as_sets(void)
{
	struct vt_cpuset a, b;

	CU_ASSERT_EQUAL(vt_cpuset_parse(&a, "[1,3]"), 0);
	CU_ASSERT_EQUAL(vt_cpuset_parse(&b, "[0-3,200]"), 0);
	CU_ASSERT(vt_cpuset_subset(&a, &b));
	CU_ASSERT(!vt_cpuset_subset(&b, &a));
	CU_ASSERT(vt_cpuset_subset(&a, &a));
	CU_ASSERT(!vt_cpuset_equal(&a, &b));
	vt_cpuset_and(&b, &a);
	CU_ASSERT(vt_cpuset_equal(&a, &b));
	CU_ASSERT_EQUAL(vt_cpuset_parse(&b, "[0,2]"), 0);
	vt_cpuset_and(&b, &a);
	CU_ASSERT_EQUAL(vt_cpuset_count(&b), 0);
}

static void
cpuset_next_walks_set_cpus_across_words(void)
{
	struct vt_cpuset s;

	CU_ASSERT_EQUAL(vt_cpuset_parse(&s, "[0,63,64,500,1023]"), 0);
	CU_ASSERT_EQUAL(vt_cpuset_next(&s, 0), 0);
	CU_ASSERT_EQUAL(vt_cpuset_next(&s, 1), 63);
	CU_ASSERT_EQUAL(vt_cpuset_next(&s, 64), 64);
	CU_ASSERT_EQUAL(vt_cpuset_next(&s, 65), 500);
	CU_ASSERT_EQUAL(vt_cpuset_next(&s, 501), 1023);
	CU_ASSERT_EQUAL(vt_cpuset_next(&s, 1024), -1);
	vt_cpuset_clear(&s, 1023);
	CU_ASSERT_EQUAL(vt_cpuset_next(&s, 501), -1);
	vt_cpuset_zero(&s);
	CU_ASSERT_EQUAL(vt_cpuset_next(&s, 0), -1);
}

int
main(void)
{
	CU_pSuite suite;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("cpuset", NULL, NULL);
	CU_ADD_TEST(suite, cpuset_parse_accepts_hex_with_and_without_prefix);
	CU_ADD_TEST(suite, cpuset_parse_accepts_hex_up_to_1024_bits);
	CU_ADD_TEST(suite, cpuset_parse_allows_leading_zeros_beyond_1024_bits);
	CU_ADD_TEST(suite, cpuset_parse_rejects_cpu_beyond_1024_bits);
	CU_ADD_TEST(suite, cpuset_parse_rejects_bad_hex);
	CU_ADD_TEST(suite, cpuset_parse_rejects_empty_mask);
	CU_ADD_TEST(suite, cpuset_parse_accepts_list);
	CU_ADD_TEST(suite, cpuset_parse_rejects_empty_list);
	CU_ADD_TEST(suite, cpuset_parse_rejects_reversed_range);
	CU_ADD_TEST(suite, cpuset_parse_rejects_core_out_of_range);
	CU_ADD_TEST(suite, cpuset_parse_rejects_list_garbage);
	CU_ADD_TEST(suite, cpuset_parse_rejects_null);
	CU_ADD_TEST(suite, cpuset_fmt_writes_shortest_hex);
	CU_ADD_TEST(suite, cpuset_fmt_round_trips_through_parse);
	CU_ADD_TEST(suite, cpuset_fmt_gives_empty_string_when_buffer_too_small);
	CU_ADD_TEST(suite, cpuset_set_clear_isset_ignore_out_of_range);
	CU_ADD_TEST(suite, cpuset_subset_and_and_behave_as_sets);
	CU_ADD_TEST(suite, cpuset_next_walks_set_cpus_across_words);

	return ut_run_tests();
}
