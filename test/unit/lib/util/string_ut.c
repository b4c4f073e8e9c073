/* SPDX-License-Identifier: BSD-3-Clause */
#include <CUnit/Basic.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/string.c"
#include "test/unit/common/ut_main.h"

static void
strdup_copies_and_refuses_null(void)
{
	char *s = vt_strdup("bdev0");

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "bdev0");
	free(s);
	/* NULL is logged (to stderr) and refused. */
	CU_ASSERT_PTR_NULL(vt_strdup(NULL));
}

static void
sprintf_alloc_formats_long_strings(void)
{
	char big[5000];
	char *s;

	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	s = vt_sprintf_alloc("%s-%d-%s", "Malloc", 42, big);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(strlen(s), 10 + sizeof(big) - 1);
	CU_ASSERT(strncmp(s, "Malloc-42-qqq", 13) == 0);
	free(s);
}

static void
strtou64_parses_whole_string_base_0(void)
{
	uint64_t v = 0;

	CU_ASSERT_EQUAL(vt_strtou64("0", &v), 0);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(vt_strtou64("4096", &v), 0);
	CU_ASSERT_EQUAL(v, 4096);
	CU_ASSERT_EQUAL(vt_strtou64("0x1F", &v), 0);
	CU_ASSERT_EQUAL(v, 31);
	CU_ASSERT_EQUAL(vt_strtou64("010", &v), 0);
	CU_ASSERT_EQUAL(v, 8);
	CU_ASSERT_EQUAL(vt_strtou64("18446744073709551615", &v), 0);
	CU_ASSERT_EQUAL(v, UINT64_MAX);
}

static void
strtou64_rejects_sign_garbage_and_empty(void)
{
	static const char *const bad[] = {
		"", "-1", "-0", "+1", " 1", "1 ", "12a", "0x", "08", "1.5", "abc", "\t7",
	};
	uint64_t v = 99;
	size_t i;

	for (i = 0; i < VT_COUNTOF(bad); i++) {
		CU_ASSERT_EQUAL(vt_strtou64(bad[i], &v), -EINVAL);
	}
	CU_ASSERT_EQUAL(vt_strtou64(NULL, &v), -EINVAL);
	CU_ASSERT_EQUAL(v, 99);
}

static void
strtou64_reports_overflow_as_erange(void)
{
	uint64_t v = 99;

	CU_ASSERT_EQUAL(vt_strtou64("18446744073709551616", &v), -ERANGE);
	CU_ASSERT_EQUAL(vt_strtou64("0x10000000000000000", &v), -ERANGE);
	CU_ASSERT_EQUAL(v, 99);
}

static void
strtoi64_parses_signed_values(void)
{
	int64_t v = 0;

	CU_ASSERT_EQUAL(vt_strtoi64("-1", &v), 0);
	CU_ASSERT_EQUAL(v, -1);
	CU_ASSERT_EQUAL(vt_strtoi64("+12", &v), 0);
	CU_ASSERT_EQUAL(v, 12);
	CU_ASSERT_EQUAL(vt_strtoi64("-0x10", &v), 0);
	CU_ASSERT_EQUAL(v, -16);
	CU_ASSERT_EQUAL(vt_strtoi64("9223372036854775807", &v), 0);
	CU_ASSERT_EQUAL(v, INT64_MAX);
	CU_ASSERT_EQUAL(vt_strtoi64("-9223372036854775808", &v), 0);
	CU_ASSERT_EQUAL(v, INT64_MIN);
}

static void
strtoi64_rejects_bad_input_and_overflow(void)
{
	static const char *const bad[] = { "", "-", "+", "--1", "- 1", " -1", "1x", "-1 ", "+-1" };
	int64_t v = 5;
	size_t i;

	for (i = 0; i < VT_COUNTOF(bad); i++) {
		CU_ASSERT_EQUAL(vt_strtoi64(bad[i], &v), -EINVAL);
	}
	CU_ASSERT_EQUAL(vt_strtoi64(NULL, &v), -EINVAL);
	CU_ASSERT_EQUAL(vt_strtoi64("9223372036854775808", &v), -ERANGE);
	CU_ASSERT_EQUAL(vt_strtoi64("-9223372036854775809", &v), -ERANGE);
	CU_ASSERT_EQUAL(v, 5);
}

static void
parse_capacity_accepts_binary_suffixes(void)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{ "64", 64 },
		{ "0", 0 },
		{ "512B", 512 },
		{ "512b", 512 },
		{ "64k", 65536 },
		{ "64K", 65536 },
		{ "4KiB", 4096 },
		{ "4kib", 4096 },
		{ "4KB", 4096 },
		{ "1M", 1048576 },
		{ "1MiB", 1048576 },
		{ "2G", 2147483648ULL },
		{ "2gb", 2147483648ULL },
		{ "3T", 3ULL << 40 },
		{ "16777215T", 16777215ULL << 40 },
	};
	uint64_t v;
	size_t i;

	for (i = 0; i < VT_COUNTOF(ok); i++) {
		v = 1;
		CU_ASSERT_EQUAL(vt_parse_capacity(ok[i].s, &v), 0);
		CU_ASSERT_EQUAL(v, ok[i].v);
	}
}

static void
parse_capacity_rejects_bad_syntax(void)
{
	static const char *const bad[] = {
		"",    "k",   "-1",  "+1",  " 1",   "1 ",  "1 M",   "1.5G", "1X",
		"1MM", "1Mi", "1iB", "1BB", "0x10", "1kk", "1KiBs", "1Gb2",
	};
	uint64_t v = 7;
	size_t i;

	for (i = 0; i < VT_COUNTOF(bad); i++) {
		CU_ASSERT_EQUAL(vt_parse_capacity(bad[i], &v), -EINVAL);
	}
	CU_ASSERT_EQUAL(vt_parse_capacity(NULL, &v), -EINVAL);
	CU_ASSERT_EQUAL(v, 7);
}

static void
parse_capacity_reports_overflow_as_erange(void)
{
	uint64_t v = 7;

	CU_ASSERT_EQUAL(vt_parse_capacity("16777216T", &v), -ERANGE);
	CU_ASSERT_EQUAL(vt_parse_capacity("18014398509481984k", &v), -ERANGE);
	CU_ASSERT_EQUAL(vt_parse_capacity("18446744073709551616", &v), -ERANGE);
	CU_ASSERT_EQUAL(v, 7);
	CU_ASSERT_EQUAL(vt_parse_capacity("18014398509481983k", &v), 0);
	CU_ASSERT_EQUAL(v, 18014398509481983ULL << 10);
}

static void
strerror_names_known_errors_and_accepts_negative(void)
{
	CU_ASSERT_STRING_EQUAL(vt_strerror(ENODEV), "No such device");
	CU_ASSERT_STRING_EQUAL(vt_strerror(-ENODEV), "No such device");
	CU_ASSERT_STRING_EQUAL(vt_strerror(0), "Success");
}

static void
strerror_formats_unknown_errors(void)
{
	CU_ASSERT_STRING_EQUAL(vt_strerror(9999), "Unknown error 9999");
	CU_ASSERT_STRING_EQUAL(vt_strerror(-9999), "Unknown error 9999");
	CU_ASSERT_STRING_EQUAL(vt_strerror(INT_MIN), "Unknown error -2147483648");
}

static void *
strerror_thread(void *arg)
{
	/* Another thread's unknown-error text must not overwrite ours. */
	const char *s = vt_strerror(7777);

	return (void *)(uintptr_t)(strcmp(s, "Unknown error 7777") == 0);
}

static void
strerror_unknown_buffer_is_per_thread(void)
{
	const char *mine = vt_strerror(5555);
	pthread_t th;
	void *ok = NULL;

	CU_ASSERT_FATAL(pthread_create(&th, NULL, strerror_thread, NULL) == 0);
	pthread_join(th, &ok);
	CU_ASSERT(ok != NULL);
	CU_ASSERT_STRING_EQUAL(mine, "Unknown error 5555");
}

static void
name_is_valid_accepts_allowed_characters(void)
{
	CU_ASSERT(vt_name_is_valid("Malloc0", 64));
	CU_ASSERT(vt_name_is_valid("a.b_c-D9", 64));
	CU_ASSERT(vt_name_is_valid("x", 1));
	CU_ASSERT(vt_name_is_valid("abcd", 4));
}

static void
name_is_valid_rejects_empty_long_and_bad_characters(void)
{
	CU_ASSERT(!vt_name_is_valid("", 64));
	CU_ASSERT(!vt_name_is_valid(NULL, 64));
	CU_ASSERT(!vt_name_is_valid("abcde", 4));
	CU_ASSERT(!vt_name_is_valid("a b", 64));
	CU_ASSERT(!vt_name_is_valid("a/b", 64));
	CU_ASSERT(!vt_name_is_valid("a:b", 64));
	CU_ASSERT(!vt_name_is_valid("caf\xc3\xa9", 64));
	CU_ASSERT(!vt_name_is_valid("x", 0));
}

int
main(void)
{
	CU_pSuite suite;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("string", NULL, NULL);
	CU_ADD_TEST(suite, strdup_copies_and_refuses_null);
	CU_ADD_TEST(suite, sprintf_alloc_formats_long_strings);
	CU_ADD_TEST(suite, strtou64_parses_whole_string_base_0);
	CU_ADD_TEST(suite, strtou64_rejects_sign_garbage_and_empty);
	CU_ADD_TEST(suite, strtou64_reports_overflow_as_erange);
	CU_ADD_TEST(suite, strtoi64_parses_signed_values);
	CU_ADD_TEST(suite, strtoi64_rejects_bad_input_and_overflow);
	CU_ADD_TEST(suite, parse_capacity_accepts_binary_suffixes);
	CU_ADD_TEST(suite, parse_capacity_rejects_bad_syntax);
	CU_ADD_TEST(suite, parse_capacity_reports_overflow_as_erange);
	CU_ADD_TEST(suite, strerror_names_known_errors_and_accepts_negative);
	CU_ADD_TEST(suite, strerror_formats_unknown_errors);
	CU_ADD_TEST(suite, strerror_unknown_buffer_is_per_thread);
	CU_ADD_TEST(suite, name_is_valid_accepts_allowed_characters);
	CU_ADD_TEST(suite, name_is_valid_rejects_empty_long_and_bad_characters);

	return ut_run_tests();
}
