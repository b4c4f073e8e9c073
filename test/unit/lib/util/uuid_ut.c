/* SPDX-License-Identifier: BSD-3-Clause */
#include <CUnit/Basic.h>
#include <errno.h>
#include <string.h>

#include "lib/util/uuid.c"
#include "test/unit/common/ut_main.h"

static void
uuid_generate_sets_version_4_and_rfc_variant(void)
{
	struct vt_uuid u;
	int i;

	for (i = 0; i < 32; i++) {
		vt_uuid_generate(&u);
		CU_ASSERT_EQUAL(u.u[6] >> 4, 4);
		CU_ASSERT_EQUAL(u.u[8] >> 6, 2);
		CU_ASSERT(!vt_uuid_is_null(&u));
	}
}

static void
uuid_generate_gives_different_values(void)
{
	struct vt_uuid a, b;

	vt_uuid_generate(&a);
	vt_uuid_generate(&b);
	CU_ASSERT(vt_uuid_compare(&a, &b) != 0);
}

static void
uuid_fmt_writes_canonical_lower_case(void)
{
	static const struct vt_uuid u = { { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01,
					    0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef } };
	char buf[VT_UUID_STRING_LEN];

	CU_ASSERT_EQUAL(vt_uuid_fmt(buf, sizeof(buf), &u), 0);
	CU_ASSERT_STRING_EQUAL(buf, "12345678-9abc-def0-0123-456789abcdef");
}

static void
uuid_fmt_rejects_small_buffer(void)
{
	struct vt_uuid u = { { 0 } };
	char buf[VT_UUID_STRING_LEN];

	buf[0] = 'x';
	CU_ASSERT_EQUAL(vt_uuid_fmt(buf, VT_UUID_STRING_LEN - 1, &u), -EINVAL);
	CU_ASSERT_EQUAL(buf[0], 'x');
	CU_ASSERT_EQUAL(vt_uuid_fmt(NULL, 100, &u), -EINVAL);
}

static void
uuid_parse_accepts_any_case(void)
{
	static const struct vt_uuid want = { { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01,
					       0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef } };
	struct vt_uuid u;

	CU_ASSERT_EQUAL(vt_uuid_parse(&u, "12345678-9abc-def0-0123-456789abcdef"), 0);
	CU_ASSERT_EQUAL(vt_uuid_compare(&u, &want), 0);
	memset(&u, 0, sizeof(u));
	CU_ASSERT_EQUAL(vt_uuid_parse(&u, "12345678-9ABC-DEF0-0123-456789AbCdEf"), 0);
	CU_ASSERT_EQUAL(vt_uuid_compare(&u, &want), 0);
}

static void
uuid_parse_rejects_malformed(void)
{
	static const char *const bad[] = {
		"",
		"12345678-9abc-def0-0123-456789abcde",   /* short */
		"12345678-9abc-def0-0123-456789abcdef0", /* long */
		"123456789abc-def0-0123-456789abcdef-",  /* dash moved */
		"12345678_9abc-def0-0123-456789abcdef",  /* not a dash */
		"12345678-9abc-def0-0123-456789abcdeg",  /* not hex */
		"{2345678-9abc-def0-0123-456789abcdef}",
		"123456789abcdef00123456789abcdef", /* no dashes */
		" 2345678-9abc-def0-0123-456789abcdef",
	};
	struct vt_uuid u, before;
	size_t i;

	memset(&u, 0x77, sizeof(u));
	before = u;
	for (i = 0; i < VT_COUNTOF(bad); i++) {
		CU_ASSERT_EQUAL(vt_uuid_parse(&u, bad[i]), -EINVAL);
	}
	CU_ASSERT_EQUAL(vt_uuid_parse(&u, NULL), -EINVAL);
	CU_ASSERT_EQUAL(vt_uuid_compare(&u, &before), 0);
}

static void
uuid_fmt_and_parse_round_trip(void)
{
	struct vt_uuid a, b;
	char buf[VT_UUID_STRING_LEN];

	vt_uuid_generate(&a);
	CU_ASSERT_EQUAL(vt_uuid_fmt(buf, sizeof(buf), &a), 0);
	CU_ASSERT_EQUAL(strlen(buf), 36);
	CU_ASSERT_EQUAL(vt_uuid_parse(&b, buf), 0);
	CU_ASSERT_EQUAL(vt_uuid_compare(&a, &b), 0);
}

static void
uuid_compare_orders_bytewise_and_is_null_detects_zero(void)
{
	struct vt_uuid a = { { 0 } }, b = { { 0 } };

	CU_ASSERT(vt_uuid_is_null(&a));
	CU_ASSERT_EQUAL(vt_uuid_compare(&a, &b), 0);
	b.u[15] = 1;
	CU_ASSERT(!vt_uuid_is_null(&b));
	CU_ASSERT(vt_uuid_compare(&a, &b) < 0);
	CU_ASSERT(vt_uuid_compare(&b, &a) > 0);
	a.u[0] = 1;
	CU_ASSERT(vt_uuid_compare(&a, &b) > 0);
}

int
main(void)
{
	CU_pSuite suite;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("uuid", NULL, NULL);
	CU_ADD_TEST(suite, uuid_generate_sets_version_4_and_rfc_variant);
	CU_ADD_TEST(suite, uuid_generate_gives_different_values);
	CU_ADD_TEST(suite, uuid_fmt_writes_canonical_lower_case);
	CU_ADD_TEST(suite, uuid_fmt_rejects_small_buffer);
	CU_ADD_TEST(suite, uuid_parse_accepts_any_case);
	CU_ADD_TEST(suite, uuid_parse_rejects_malformed);
	CU_ADD_TEST(suite, uuid_fmt_and_parse_round_trip);
	CU_ADD_TEST(suite, uuid_compare_orders_bytewise_and_is_null_detects_zero);

	return ut_run_tests();
}
