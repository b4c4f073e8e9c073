/* SPDX-License-Identifier: BSD-3-Clause */
#include <CUnit/Basic.h>
#include <math.h>

#include "lib/jsonrpc/json.c"
#include "test/unit/common/ut_main.h"

/* ---- helpers ----------------------------------------------------------------------------- */

static yajl_val
parse_ok(const char *text)
{
	char err[256] = "";
	yajl_val v = vt_json_parse(text, strlen(text), err, sizeof(err));

	CU_ASSERT_PTR_NOT_NULL(v);
	if (v == NULL) {
		fprintf(stderr, "parse of '%s' failed: %s\n", text, err);
	}
	return v;
}

/* Ends w and compares its text; frees w. */
static void
check_written(struct vt_json_write_ctx *w, const char *expected)
{
	size_t len;
	const char *buf;

	CU_ASSERT_EQUAL(vt_json_write_end(w), 0);
	buf = vt_json_write_buf(w, &len);
	CU_ASSERT_STRING_EQUAL(buf, expected);
	CU_ASSERT_EQUAL(len, strlen(expected));
	if (strcmp(buf, expected) != 0) {
		fprintf(stderr, "\nwrote    '%s'\nexpected '%s'\n", buf, expected);
	}
	vt_json_write_free(w);
}

/* ---- writer ------------------------------------------------------------------------------ */

static void
write_compact_object_exact_text(void)
{
	struct vt_json_write_ctx *w = vt_json_write_begin(false);

	vt_json_write_object_begin(w);
	vt_json_write_named_int64(w, "a", -5);
	vt_json_write_named_string(w, "b", "x");
	vt_json_write_named_bool(w, "c", true);
	vt_json_write_named_null(w, "d");
	vt_json_write_named_array_begin(w, "e");
	vt_json_write_uint64(w, 1);
	vt_json_write_bool(w, false);
	vt_json_write_array_end(w);
	vt_json_write_named_object_begin(w, "f");
	vt_json_write_object_end(w);
	vt_json_write_named_stringf(w, "g", "%s-%d", "n", 7);
	vt_json_write_object_end(w);
	check_written(w, "{\"a\":-5,\"b\":\"x\",\"c\":true,\"d\":null,\"e\":[1,false],\"f\":{},"
			 "\"g\":\"n-7\"}");
}

static void
write_pretty_indents_two_spaces(void)
{
	struct vt_json_write_ctx *w = vt_json_write_begin(true);

	vt_json_write_object_begin(w);
	vt_json_write_named_array_begin(w, "a");
	vt_json_write_int64(w, 1);
	vt_json_write_int64(w, 2);
	vt_json_write_array_end(w);
	vt_json_write_named_string(w, "b", "c");
	vt_json_write_object_end(w);
	check_written(w, "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": \"c\"\n}\n");
}

static void
write_integers_full_range(void)
{
	struct vt_json_write_ctx *w = vt_json_write_begin(false);

	vt_json_write_array_begin(w);
	vt_json_write_uint64(w, UINT64_MAX);
	vt_json_write_int64(w, INT64_MIN);
	vt_json_write_int64(w, INT64_MAX);
	vt_json_write_uint64(w, 0);
	vt_json_write_array_end(w);
	check_written(w, "[18446744073709551615,-9223372036854775808,9223372036854775807,0]");
}

static void
write_double_shortest_round_trip(void)
{
	struct vt_json_write_ctx *w = vt_json_write_begin(false);

	vt_json_write_array_begin(w);
	vt_json_write_double(w, 0.1);
	vt_json_write_double(w, 1.0);
	vt_json_write_double(w, -2.5);
	vt_json_write_double(w, 1e300);
	vt_json_write_double(w, 1.0 / 3.0);
	vt_json_write_array_end(w);
	check_written(w, "[0.1,1.0,-2.5,1e+300,0.3333333333333333]");
}

static void
write_double_nan_is_error(void)
{
	struct vt_json_write_ctx *w = vt_json_write_begin(false);

	vt_json_write_double(w, NAN);
	CU_ASSERT_EQUAL(vt_json_write_end(w), -EINVAL);
	vt_json_write_free(w);
	w = vt_json_write_begin(false);
	vt_json_write_double(w, INFINITY);
	CU_ASSERT_EQUAL(vt_json_write_end(w), -EINVAL);
	vt_json_write_free(w);
}

static void
write_string_escapes_quotes_and_controls(void)
{
	struct vt_json_write_ctx *w = vt_json_write_begin(false);

	vt_json_write_string(w, "a\"b\\c\n\x01/");
	check_written(w, "\"a\\\"b\\\\c\\n\\u0001/\"");
}

static void
write_string_invalid_utf8_is_error(void)
{
	struct vt_json_write_ctx *w = vt_json_write_begin(false);

	vt_json_write_string(w, "bad \xff byte");
	CU_ASSERT_EQUAL(vt_json_write_end(w), -EINVAL);
	vt_json_write_free(w);
}

static void
write_value_without_name_in_object_is_error(void)
{
	struct vt_json_write_ctx *w = vt_json_write_begin(false);

	vt_json_write_object_begin(w);
	vt_json_write_int64(w, 1);
	vt_json_write_object_end(w);
	CU_ASSERT_EQUAL(vt_json_write_end(w), -EINVAL);
	vt_json_write_free(w);
}

static void
write_name_outside_object_is_error(void)
{
	struct vt_json_write_ctx *w = vt_json_write_begin(false);

	vt_json_write_array_begin(w);
	vt_json_write_name(w, "a");
	CU_ASSERT_EQUAL(vt_json_write_end(w), -EINVAL);
	vt_json_write_free(w);
	w = vt_json_write_begin(false);
	vt_json_write_name(w, "a");
	CU_ASSERT_EQUAL(vt_json_write_end(w), -EINVAL);
	vt_json_write_free(w);
}

static void
write_name_without_value_is_error(void)
{
	struct vt_json_write_ctx *w = vt_json_write_begin(false);

	vt_json_write_object_begin(w);
	vt_json_write_name(w, "a");
	vt_json_write_object_end(w);
	CU_ASSERT_EQUAL(vt_json_write_end(w), -EINVAL);
	vt_json_write_free(w);
}

static void
write_unclosed_or_empty_is_error(void)
{
	struct vt_json_write_ctx *w = vt_json_write_begin(false);

	vt_json_write_array_begin(w);
	CU_ASSERT_EQUAL(vt_json_write_end(w), -EINVAL);
	vt_json_write_free(w);
	w = vt_json_write_begin(false);
	CU_ASSERT_EQUAL(vt_json_write_end(w), -EINVAL);
	vt_json_write_free(w);
}

static void
write_second_top_level_value_is_error(void)
{
	struct vt_json_write_ctx *w = vt_json_write_begin(false);

	vt_json_write_int64(w, 1);
	vt_json_write_int64(w, 2);
	CU_ASSERT_EQUAL(vt_json_write_end(w), -EINVAL);
	vt_json_write_free(w);
}

static void
write_mismatched_close_is_error(void)
{
	struct vt_json_write_ctx *w = vt_json_write_begin(false);

	vt_json_write_array_begin(w);
	vt_json_write_object_end(w);
	CU_ASSERT_EQUAL(vt_json_write_end(w), -EINVAL);
	vt_json_write_free(w);
}

static void
write_error_is_sticky(void)
{
	struct vt_json_write_ctx *w = vt_json_write_begin(false);
	size_t len;

	vt_json_write_array_begin(w);
	vt_json_write_int64(w, 1);
	vt_json_write_object_end(w); /* wrong closer */
	vt_json_write_array_end(w);  /* would be right, but the writer is in error */
	vt_json_write_int64(w, 2);
	CU_ASSERT_EQUAL(vt_json_write_end(w), -EINVAL);
	CU_ASSERT_STRING_EQUAL(vt_json_write_buf(w, &len), "[1");
	vt_json_write_free(w);
}

static void
write_null_writer_is_noop(void)
{
	size_t len = 99;

	vt_json_write_object_begin(NULL);
	vt_json_write_named_string(NULL, "a", "b");
	vt_json_write_named_stringf(NULL, "a", "%d", 1);
	vt_json_write_val(NULL, NULL);
	vt_json_write_object_end(NULL);
	CU_ASSERT_EQUAL(vt_json_write_end(NULL), -EINVAL);
	CU_ASSERT_STRING_EQUAL(vt_json_write_buf(NULL, &len), "");
	CU_ASSERT_EQUAL(len, 0);
	vt_json_write_free(NULL);
}

static void
write_depth_limit_is_error(void)
{
	struct vt_json_write_ctx *w = vt_json_write_begin(false);
	int i;

	for (i = 0; i < JSON_WRITE_MAX_DEPTH; i++) {
		vt_json_write_array_begin(w);
	}
	for (i = 0; i < JSON_WRITE_MAX_DEPTH; i++) {
		vt_json_write_array_end(w);
	}
	CU_ASSERT_EQUAL(vt_json_write_end(w), 0);
	vt_json_write_free(w);
	w = vt_json_write_begin(false);
	for (i = 0; i <= JSON_WRITE_MAX_DEPTH; i++) {
		vt_json_write_array_begin(w);
	}
	CU_ASSERT_EQUAL(vt_json_write_end(w), -EINVAL);
	vt_json_write_free(w);
}

static void
write_val_reemits_numbers_by_text(void)
{
	const char *text = "{\"a\":[1,2.50,-3e2,\"s\\\"q\",true,false,null],"
			   "\"b\":{\"c\":123456789012345678901234567890},\"d\":[]}";
	yajl_val v = parse_ok(text);
	struct vt_json_write_ctx *w = vt_json_write_begin(false);

	vt_json_write_val(w, v);
	check_written(w, text);
	yajl_tree_free(v);
}

static void
write_val_as_member_value(void)
{
	yajl_val v = parse_ok("[1, {\"x\": \"y\"}]");
	struct vt_json_write_ctx *w = vt_json_write_begin(false);

	vt_json_write_object_begin(w);
	vt_json_write_name(w, "v");
	vt_json_write_val(w, v);
	vt_json_write_name(w, "n");
	vt_json_write_val(w, NULL);
	vt_json_write_object_end(w);
	check_written(w, "{\"v\":[1,{\"x\":\"y\"}],\"n\":null}");
	yajl_tree_free(v);
}

/* ---- parser ------------------------------------------------------------------------------ */

static void
parse_uses_only_len_bytes(void)
{
	const char text[] = "{\"a\":1}garbage";
	char err[128];
	yajl_val v = vt_json_parse(text, 7, err, sizeof(err));

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL(YAJL_GET_INTEGER(vt_json_object_get(v, "a")), 1);
	yajl_tree_free(v);
}

static void
parse_rejects_trailing_garbage_with_one_line_message(void)
{
	const char *text = "{\"a\":1} x";
	char err[256] = "";

	CU_ASSERT_PTR_NULL(vt_json_parse(text, strlen(text), err, sizeof(err)));
	CU_ASSERT(err[0] != '\0');
	CU_ASSERT_PTR_NULL(strchr(err, '\n'));
}

static void
parse_rejects_truncated_text(void)
{
	const char *text = "{\"a\":[1,2";
	char err[256] = "";

	CU_ASSERT_PTR_NULL(vt_json_parse(text, strlen(text), err, sizeof(err)));
	CU_ASSERT_STRING_EQUAL(err, "parse error: premature EOF");
}

static void
parse_rejects_nul_byte(void)
{
	const char text[] = "[1,\0 2]";
	char err[256] = "";

	CU_ASSERT_PTR_NULL(vt_json_parse(text, sizeof(text) - 1, err, sizeof(err)));
	CU_ASSERT_STRING_EQUAL(err, "parse error: NUL byte in JSON text");
}

static void
parse_rejects_empty_text(void)
{
	char err[256] = "";

	CU_ASSERT_PTR_NULL(vt_json_parse("", 0, err, sizeof(err)));
	CU_ASSERT(err[0] != '\0');
}

/* depth nested arrays around inner: [[[inner]]]. */
static char *
nested(unsigned depth, const char *inner)
{
	size_t ilen = strlen(inner), len = 2 * (size_t)depth + ilen + 1;
	char *s = malloc(len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	memset(s, '[', depth);
	memcpy(s + depth, inner, ilen);
	memset(s + depth + ilen, ']', depth);
	s[len - 1] = '\0';
	return s;
}

static void
parse_accepts_max_depth(void)
{
	char *s = nested(VT_JSON_MAX_DEPTH, "1");
	yajl_val v = parse_ok(s);

	yajl_tree_free(v);
	free(s);
}

static void
parse_rejects_deeper_than_max_depth(void)
{
	char *s = nested(VT_JSON_MAX_DEPTH + 1, "1");
	char err[256] = "";

	CU_ASSERT_PTR_NULL(vt_json_parse(s, strlen(s), err, sizeof(err)));
	CU_ASSERT_STRING_EQUAL(err, "parse error: nesting deeper than 64 levels");
	free(s);
	/* Far deeper than yajl_tree_free's recursion could survive. */
	s = nested(200000, "1");
	CU_ASSERT_PTR_NULL(vt_json_parse(s, strlen(s), err, sizeof(err)));
	free(s);
}

static void
parse_depth_ignores_brackets_in_strings(void)
{
	char *s = nested(VT_JSON_MAX_DEPTH, "\"[[[[[[[[[[{{{{{{{{{{\\\"[[[[\"");
	yajl_val v = parse_ok(s);

	yajl_tree_free(v);
	free(s);
}

static void
parse_depth_sees_through_comments(void)
{
	char *deep = nested(VT_JSON_MAX_DEPTH + 1, "1");
	char text[512], err[256];

	/* A quote inside a comment must not hide the brackets after it. */
	snprintf(text, sizeof(text), "/* \" */ %s", deep);
	CU_ASSERT_PTR_NULL(vt_json_parse(text, strlen(text), err, sizeof(err)));
	CU_ASSERT_STRING_EQUAL(err, "parse error: nesting deeper than 64 levels");
	snprintf(text, sizeof(text), "// \"\n%s", deep);
	CU_ASSERT_PTR_NULL(vt_json_parse(text, strlen(text), err, sizeof(err)));
	CU_ASSERT_STRING_EQUAL(err, "parse error: nesting deeper than 64 levels");
	free(deep);
}

static void
object_get_finds_member_by_key(void)
{
	yajl_val v = parse_ok("{\"a\":1,\"b\":\"x\"}");

	CU_ASSERT_STRING_EQUAL(YAJL_GET_STRING(vt_json_object_get(v, "b")), "x");
	CU_ASSERT_PTR_NULL(vt_json_object_get(v, "c"));
	CU_ASSERT_PTR_NULL(vt_json_object_get(v->u.object.values[0], "a"));
	CU_ASSERT_PTR_NULL(vt_json_object_get(NULL, "a"));
	yajl_tree_free(v);
}

static void
type_name_names_each_type(void)
{
	yajl_val v = parse_ok("[\"s\",1,{},[],true,false,null]");

	CU_ASSERT_STRING_EQUAL(vt_json_type_name(v->u.array.values[0]), "string");
	CU_ASSERT_STRING_EQUAL(vt_json_type_name(v->u.array.values[1]), "number");
	CU_ASSERT_STRING_EQUAL(vt_json_type_name(v->u.array.values[2]), "object");
	CU_ASSERT_STRING_EQUAL(vt_json_type_name(v->u.array.values[3]), "array");
	CU_ASSERT_STRING_EQUAL(vt_json_type_name(v->u.array.values[4]), "boolean");
	CU_ASSERT_STRING_EQUAL(vt_json_type_name(v->u.array.values[5]), "boolean");
	CU_ASSERT_STRING_EQUAL(vt_json_type_name(v->u.array.values[6]), "null");
	CU_ASSERT_STRING_EQUAL(vt_json_type_name(NULL), "none");
	yajl_tree_free(v);
}

/* ---- stream scanner ---------------------------------------------------------------------- */

/* Scans text whole and returns the values found, separated by '|'. */
static void
scan_all(const char *text, char *out, size_t outlen, bool eof)
{
	struct json_scanner s;
	size_t len = strlen(text), o = 0;

	json_scanner_init(&s);
	out[0] = '\0';
	for (;;) {
		bool got = json_scanner_next(&s, text, len) == JSON_SCAN_VALUE;

		if (!got && eof) {
			got = json_scanner_finish(&s, len);
		}
		if (!got) {
			break;
		}
		o += (size_t)snprintf(out + o, outlen - o, "%s%.*s", o ? "|" : "",
				      (int)(s.pos - s.value_start), text + s.value_start);
	}
}

static void
scanner_splits_pipelined_values(void)
{
	char out[256];

	scan_all(" {\"a\":\"}\"}[1,[2]]\n\"s\\\"}\" 12 true{}", out, sizeof(out), false);
	CU_ASSERT_STRING_EQUAL(out, "{\"a\":\"}\"}|[1,[2]]|\"s\\\"}\"|12|true|{}");
	/* The last {} is complete too once scanned again. */
	scan_all("{}{}", out, sizeof(out), false);
	CU_ASSERT_STRING_EQUAL(out, "{}|{}");
}

static void
scanner_bare_literal_waits_for_delimiter(void)
{
	char out[64];

	scan_all("123", out, sizeof(out), false);
	CU_ASSERT_STRING_EQUAL(out, "");
	scan_all("123", out, sizeof(out), true);
	CU_ASSERT_STRING_EQUAL(out, "123");
}

static void
scanner_skips_comments_between_values(void)
{
	char out[128];

	scan_all("/* { */ {\"a\":/*}*/1} // [\n [2]", out, sizeof(out), false);
	CU_ASSERT_STRING_EQUAL(out, "{\"a\":/*}*/1}|[2]");
}

static void
scanner_stray_closer_is_a_value(void)
{
	char out[64];

	scan_all("] {}", out, sizeof(out), false);
	CU_ASSERT_STRING_EQUAL(out, "]|{}");
}

static void
scanner_value_split_byte_by_byte(void)
{
	const char *text = "{\"a\":[\"\\\\\",\"]\"]} {\"b\":2}";
	struct json_scanner s;
	size_t len, values = 0, ends[2] = { 0 };

	json_scanner_init(&s);
	for (len = 0; len <= strlen(text); len++) {
		while (json_scanner_next(&s, text, len) == JSON_SCAN_VALUE) {
			CU_ASSERT(values < 2);
			if (values < 2) {
				ends[values] = s.pos;
			}
			values++;
		}
	}
	CU_ASSERT_EQUAL(values, 2);
	CU_ASSERT_EQUAL(ends[0], 16);
	CU_ASSERT_EQUAL(ends[1], strlen(text));
}

static void
scanner_keep_and_shift_preserve_partial_value(void)
{
	char buf[64] = "  {\"a\":";
	struct json_scanner s;
	size_t keep;

	json_scanner_init(&s);
	CU_ASSERT_EQUAL(json_scanner_next(&s, buf, strlen(buf)), JSON_SCAN_MORE);
	keep = json_scanner_keep(&s);
	CU_ASSERT_EQUAL(keep, 2);
	memmove(buf, buf + keep, strlen(buf + keep) + 1);
	json_scanner_shift(&s, keep);
	memcpy(buf + strlen(buf), "1}", 3);
	CU_ASSERT_EQUAL(json_scanner_next(&s, buf, strlen(buf)), JSON_SCAN_VALUE);
	CU_ASSERT_EQUAL(s.value_start, 0);
	CU_ASSERT_EQUAL(s.pos, strlen("{\"a\":1}"));
}

/* ---- decoders ---------------------------------------------------------------------------- */

/* Decodes the single element of a one-element JSON array text. */
static int
decode_one(const char *text, vt_json_decode_fn fn, void *out)
{
	yajl_val v = parse_ok(text);
	int rc;

	if (v == NULL) {
		return -999;
	}
	rc = fn(v->u.array.values[0], out);
	yajl_tree_free(v);
	return rc;
}

static void
decode_string_copies_and_replaces(void)
{
	char *s = NULL;

	CU_ASSERT_EQUAL(decode_one("[\"abc\"]", vt_json_decode_string, &s), 0);
	CU_ASSERT_STRING_EQUAL(s, "abc");
	/* The previous value is freed (ASAN would report the leak). */
	CU_ASSERT_EQUAL(decode_one("[\"\\u00e9t\\u00e9\"]", vt_json_decode_string, &s), 0);
	CU_ASSERT_STRING_EQUAL(s, "\xc3\xa9t\xc3\xa9");
	free(s);
}

static void
decode_string_rejects_other_types(void)
{
	const char *bad[] = { "[1]", "[null]", "[true]", "[{}]", "[[]]" };
	char *s = NULL;
	size_t i;

	for (i = 0; i < VT_COUNTOF(bad); i++) {
		CU_ASSERT_EQUAL(decode_one(bad[i], vt_json_decode_string, &s), -EINVAL);
		CU_ASSERT_PTR_NULL(s);
	}
}

static void
decode_bool_accepts_only_true_and_false(void)
{
	const char *bad[] = { "[1]", "[0]", "[\"true\"]", "[null]", "[{}]" };
	bool b = false;
	size_t i;

	CU_ASSERT_EQUAL(decode_one("[true]", vt_json_decode_bool, &b), 0);
	CU_ASSERT_TRUE(b);
	CU_ASSERT_EQUAL(decode_one("[false]", vt_json_decode_bool, &b), 0);
	CU_ASSERT_FALSE(b);
	for (i = 0; i < VT_COUNTOF(bad); i++) {
		CU_ASSERT_EQUAL(decode_one(bad[i], vt_json_decode_bool, &b), -EINVAL);
	}
}

static void
decode_uint64_accepts_integral_values(void)
{
	const struct {
		const char *text;
		uint64_t val;
	} ok[] = {
		{ "[0]", 0 },
		{ "[-0]", 0 },
		{ "[18446744073709551615]", UINT64_MAX },
		{ "[1e3]", 1000 },
		{ "[1E+3]", 1000 },
		{ "[1.0]", 1 },
		{ "[1.50e1]", 15 },
		{ "[1500e-2]", 15 },
		{ "[0.0e999999999]", 0 },
		{ "[1.8446744073709551615e19]", UINT64_MAX },
	};
	uint64_t v;
	size_t i;

	for (i = 0; i < VT_COUNTOF(ok); i++) {
		v = 12345;
		CU_ASSERT_EQUAL(decode_one(ok[i].text, vt_json_decode_uint64, &v), 0);
		CU_ASSERT_EQUAL(v, ok[i].val);
	}
}

static void
decode_uint64_rejects_fractions_negatives_and_overflow(void)
{
	const char *bad[] = {
		"[18446744073709551616]", "[-1]",     "[1.5]",   "[1e-1]", "[15e-1]", "[1e20]",
		"[1e999999999]",          "[0.55e1]", "[\"1\"]", "[true]", "[null]",  "[[1]]",
	};
	uint64_t v = 7;
	size_t i;

	for (i = 0; i < VT_COUNTOF(bad); i++) {
		CU_ASSERT_EQUAL(decode_one(bad[i], vt_json_decode_uint64, &v), -EINVAL);
		CU_ASSERT_EQUAL(v, 7);
	}
}

static void
decode_narrow_unsigned_checks_range(void)
{
	uint32_t u32 = 0;
	uint16_t u16 = 0;
	uint8_t u8 = 0;

	CU_ASSERT_EQUAL(decode_one("[4294967295]", vt_json_decode_uint32, &u32), 0);
	CU_ASSERT_EQUAL(u32, UINT32_MAX);
	CU_ASSERT_EQUAL(decode_one("[4294967296]", vt_json_decode_uint32, &u32), -EINVAL);
	CU_ASSERT_EQUAL(decode_one("[-1]", vt_json_decode_uint32, &u32), -EINVAL);
	CU_ASSERT_EQUAL(decode_one("[65535]", vt_json_decode_uint16, &u16), 0);
	CU_ASSERT_EQUAL(u16, UINT16_MAX);
	CU_ASSERT_EQUAL(decode_one("[65536]", vt_json_decode_uint16, &u16), -EINVAL);
	CU_ASSERT_EQUAL(decode_one("[255]", vt_json_decode_uint8, &u8), 0);
	CU_ASSERT_EQUAL(u8, UINT8_MAX);
	CU_ASSERT_EQUAL(decode_one("[256]", vt_json_decode_uint8, &u8), -EINVAL);
	CU_ASSERT_EQUAL(decode_one("[2.5]", vt_json_decode_uint8, &u8), -EINVAL);
	CU_ASSERT_EQUAL(u8, UINT8_MAX);
}

static void
decode_signed_checks_range(void)
{
	int32_t i32 = 0;
	int64_t i64 = 0;

	CU_ASSERT_EQUAL(decode_one("[-2147483648]", vt_json_decode_int32, &i32), 0);
	CU_ASSERT_EQUAL(i32, INT32_MIN);
	CU_ASSERT_EQUAL(decode_one("[2147483647]", vt_json_decode_int32, &i32), 0);
	CU_ASSERT_EQUAL(i32, INT32_MAX);
	CU_ASSERT_EQUAL(decode_one("[-2147483649]", vt_json_decode_int32, &i32), -EINVAL);
	CU_ASSERT_EQUAL(decode_one("[2147483648]", vt_json_decode_int32, &i32), -EINVAL);
	CU_ASSERT_EQUAL(decode_one("[-1.5]", vt_json_decode_int32, &i32), -EINVAL);
	CU_ASSERT_EQUAL(decode_one("[-2e2]", vt_json_decode_int32, &i32), 0);
	CU_ASSERT_EQUAL(i32, -200);
	CU_ASSERT_EQUAL(decode_one("[-9223372036854775808]", vt_json_decode_int64, &i64), 0);
	CU_ASSERT_EQUAL(i64, INT64_MIN);
	CU_ASSERT_EQUAL(decode_one("[9223372036854775807]", vt_json_decode_int64, &i64), 0);
	CU_ASSERT_EQUAL(i64, INT64_MAX);
	CU_ASSERT_EQUAL(decode_one("[-9223372036854775809]", vt_json_decode_int64, &i64), -EINVAL);
	CU_ASSERT_EQUAL(decode_one("[9223372036854775808]", vt_json_decode_int64, &i64), -EINVAL);
	CU_ASSERT_EQUAL(decode_one("[\"-1\"]", vt_json_decode_int64, &i64), -EINVAL);
	CU_ASSERT_EQUAL(i64, INT64_MAX);
}

struct test_params {
	char *name;
	uint64_t num_blocks;
	uint8_t small;
	int32_t delta;
	bool flag;
	int custom;
};

static int
decode_custom(yajl_val val, void *out)
{
	(void)out;
	return YAJL_IS_STRING(val) ? 0 : -EINVAL;
}

static const struct vt_json_object_decoder g_test_decoders[] = {
	{ "name", offsetof(struct test_params, name), vt_json_decode_string, false },
	{ "num_blocks", offsetof(struct test_params, num_blocks), vt_json_decode_uint64, true },
	{ "small", offsetof(struct test_params, small), vt_json_decode_uint8, true },
	{ "delta", offsetof(struct test_params, delta), vt_json_decode_int32, true },
	{ "flag", offsetof(struct test_params, flag), vt_json_decode_bool, true },
	{ "custom", offsetof(struct test_params, custom), decode_custom, true },
};

/* Decodes text with g_test_decoders; returns rc and leaves the message in err. */
static int
decode_params(const char *text, struct test_params *p, char *err, size_t errlen)
{
	yajl_val v = text != NULL ? parse_ok(text) : NULL;
	int rc;

	memset(p, 0, sizeof(*p));
	err[0] = '\0';
	rc = vt_json_decode_object(v, g_test_decoders, VT_COUNTOF(g_test_decoders), p, err, errlen);
	yajl_tree_free(v);
	return rc;
}

static void
decode_object_fills_members(void)
{
	struct test_params p;
	char err[256];

	CU_ASSERT_EQUAL(decode_params("{\"flag\":true,\"name\":\"Malloc0\",\"num_blocks\":8,"
				      "\"small\":3,\"delta\":-4,\"custom\":\"c\"}",
				      &p, err, sizeof(err)),
			0);
	CU_ASSERT_STRING_EQUAL(p.name, "Malloc0");
	CU_ASSERT_EQUAL(p.num_blocks, 8);
	CU_ASSERT_EQUAL(p.small, 3);
	CU_ASSERT_EQUAL(p.delta, -4);
	CU_ASSERT_TRUE(p.flag);
	free(p.name);
	/* Optional members may be missing. */
	CU_ASSERT_EQUAL(decode_params("{\"name\":\"x\"}", &p, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(p.num_blocks, 0);
	free(p.name);
}

static void
decode_object_reports_missing_parameter(void)
{
	struct test_params p;
	char err[256];

	CU_ASSERT_EQUAL(decode_params("{\"num_blocks\":1}", &p, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "missing parameter 'name'");
	/* No params at all decode as {}. */
	CU_ASSERT_EQUAL(decode_params(NULL, &p, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "missing parameter 'name'");
}

static void
decode_object_null_params_with_all_optional_is_ok(void)
{
	bool flag = false;
	const struct vt_json_object_decoder d[] = {
		{ "flag", 0, vt_json_decode_bool, true },
	};
	char err[64] = "";

	CU_ASSERT_EQUAL(vt_json_decode_object(NULL, d, 1, &flag, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
}

struct default_only_params {
	uint32_t size;
};

static const struct vt_json_object_decoder g_default_only_decoders[] = {
	{ "size", offsetof(struct default_only_params, size), vt_json_decode_uint32, true },
	VT_JSON_DECODER_DEFAULT_ONLY("md_size", vt_json_decode_only_zero),
	VT_JSON_DECODER_DEFAULT_ONLY("md_interleave", vt_json_decode_only_false),
	VT_JSON_DECODER_DEFAULT_ONLY("numa_id", vt_json_decode_only_minus_one),
};

static int
decode_default_only(const char *text, char *err, size_t errlen)
{
	struct default_only_params p = { 0 };
	yajl_val v = parse_ok(text);
	int rc;

	rc = vt_json_decode_object(v, g_default_only_decoders, VT_COUNTOF(g_default_only_decoders),
				   &p, err, errlen);
	yajl_tree_free(v);
	return rc;
}

static void
decode_default_only_accepts_the_default_and_refuses_other_values(void)
{
	char err[256] = "";

	CU_ASSERT_EQUAL(decode_default_only("{\"md_size\":0,\"md_interleave\":false,"
					    "\"numa_id\":-1,\"size\":4}",
					    err, sizeof(err)),
			0);
	CU_ASSERT_EQUAL(decode_default_only("{\"md_size\":8}", err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "invalid parameter 'md_size': 8 is not supported (vtarget "
				    "lacks the feature; only 0 is accepted)");
	CU_ASSERT_EQUAL(decode_default_only("{\"md_interleave\":true}", err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "invalid parameter 'md_interleave': true is not supported "
				    "(vtarget lacks the feature; only false is accepted)");
	CU_ASSERT_EQUAL(decode_default_only("{\"numa_id\":0}", err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "only -1 is accepted"));
	CU_ASSERT_EQUAL(
		decode_default_only("{\"md_size\":99999999999999999999999}", err, sizeof(err)),
		-EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "is not supported"));
	/* A wrong type is a type error, not "not supported". */
	CU_ASSERT_EQUAL(decode_default_only("{\"md_size\":\"0\"}", err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "invalid parameter 'md_size': expected integer");
	CU_ASSERT_EQUAL(decode_default_only("{\"md_interleave\":0}", err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "invalid parameter 'md_interleave': expected boolean");
}

static void
decode_string_array_copies_strings_and_refuses_others(void)
{
	struct vt_json_string_array a = { 0 };
	yajl_val v = parse_ok("[\"a\",\"bc\"]");

	CU_ASSERT_EQUAL(vt_json_decode_string_array(v, &a), 0);
	CU_ASSERT_EQUAL(a.count, 2);
	CU_ASSERT_STRING_EQUAL(a.items[1], "bc");
	yajl_tree_free(v);
	v = parse_ok("[\"a\",1]");
	CU_ASSERT_EQUAL(vt_json_decode_string_array(v, &a), -EINVAL);
	CU_ASSERT_EQUAL(a.count, 2);
	yajl_tree_free(v);
	v = parse_ok("\"a\"");
	CU_ASSERT_EQUAL(vt_json_decode_string_array(v, &a), -EINVAL);
	yajl_tree_free(v);
	vt_json_string_array_free(&a);
	CU_ASSERT_EQUAL(a.count, 0);
	CU_ASSERT_PTR_NULL(a.items);
}

/* A member after a decoded string fails: the string is freed again, nothing is left to free. */
static void
decode_object_failure_releases_what_it_decoded(void)
{
	struct arr_params {
		char *name;
		struct vt_json_string_array names;
		uint32_t n;
	} p = { 0 };
	static const struct vt_json_object_decoder dec[] = {
		{ "name", offsetof(struct arr_params, name), vt_json_decode_string },
		{ "names", offsetof(struct arr_params, names), vt_json_decode_string_array, true },
		{ "n", offsetof(struct arr_params, n), vt_json_decode_uint32 },
	};
	const char *bad[] = {
		"{\"name\":\"x\",\"names\":[\"a\",\"b\"],\"n\":\"abc\"}",
		"{\"name\":\"x\",\"names\":[\"a\"],\"nope\":1}",
		"{\"names\":[\"a\"],\"name\":\"x\"}",
	};
	char err[256];

	for (size_t i = 0; i < VT_COUNTOF(bad); i++) {
		yajl_val v = parse_ok(bad[i]);

		CU_ASSERT_EQUAL(
			vt_json_decode_object(v, dec, VT_COUNTOF(dec), &p, err, sizeof(err)),
			-EINVAL);
		CU_ASSERT_PTR_NULL(p.name);
		CU_ASSERT_PTR_NULL(p.names.items);
		CU_ASSERT_EQUAL(p.names.count, 0);
		yajl_tree_free(v);
	}
}

static void
decode_object_reports_invalid_parameter_type(void)
{
	struct test_params p;
	char err[256];

	CU_ASSERT_EQUAL(
		decode_params("{\"name\":\"x\",\"num_blocks\":\"abc\"}", &p, err, sizeof(err)),
		-EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "invalid parameter 'num_blocks': expected unsigned integer");
	free(p.name);
	CU_ASSERT_EQUAL(decode_params("{\"name\":\"x\",\"num_blocks\":-1}", &p, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "invalid parameter 'num_blocks': expected unsigned integer");
	free(p.name);
	CU_ASSERT_EQUAL(decode_params("{\"name\":5}", &p, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "invalid parameter 'name': expected string");
	CU_ASSERT_EQUAL(decode_params("{\"name\":\"x\",\"flag\":1}", &p, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "invalid parameter 'flag': expected boolean");
	free(p.name);
	CU_ASSERT_EQUAL(decode_params("{\"name\":\"x\",\"delta\":0.5}", &p, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "invalid parameter 'delta': expected integer");
	free(p.name);
	CU_ASSERT_EQUAL(decode_params("{\"name\":\"x\",\"custom\":1}", &p, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "invalid parameter 'custom'");
	free(p.name);
}

static void
decode_object_reports_out_of_range_parameter(void)
{
	struct test_params p;
	char err[256];

	CU_ASSERT_EQUAL(decode_params("{\"name\":\"x\",\"small\":256}", &p, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_STRING_EQUAL(err,
			       "invalid parameter 'small': expected unsigned integer up to 255");
	free(p.name);
	CU_ASSERT_EQUAL(decode_params("{\"name\":\"x\",\"delta\":3e9}", &p, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "invalid parameter 'delta': expected integer between "
				    "-2147483648 and 2147483647");
	free(p.name);
	CU_ASSERT_EQUAL(decode_params("{\"name\":\"x\",\"num_blocks\":1e30}", &p, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "invalid parameter 'num_blocks': expected unsigned integer "
				    "up to 18446744073709551615");
	free(p.name);
}

static void
decode_object_reports_unknown_and_duplicate_parameters(void)
{
	struct test_params p;
	char err[256];

	CU_ASSERT_EQUAL(decode_params("{\"name\":\"x\",\"foo\":1}", &p, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "unknown parameter 'foo'");
	free(p.name);
	/* An unknown member is reported before a missing one: it is likely the misspelling. */
	CU_ASSERT_EQUAL(decode_params("{\"nme\":\"x\"}", &p, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "unknown parameter 'nme'");
	CU_ASSERT_EQUAL(decode_params("{\"name\":\"x\",\"name\":\"y\"}", &p, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "duplicate parameter 'name'");
	free(p.name);
}

static void
decode_object_rejects_non_object(void)
{
	struct test_params p;
	char err[256];

	CU_ASSERT_EQUAL(decode_params("[\"x\"]", &p, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "params must be an object");
	CU_ASSERT_EQUAL(decode_params("\"x\"", &p, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "params must be an object");
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	s = CU_add_suite("json_write", NULL, NULL);
	CU_ADD_TEST(s, write_compact_object_exact_text);
	CU_ADD_TEST(s, write_pretty_indents_two_spaces);
	CU_ADD_TEST(s, write_integers_full_range);
	CU_ADD_TEST(s, write_double_shortest_round_trip);
	CU_ADD_TEST(s, write_double_nan_is_error);
	CU_ADD_TEST(s, write_string_escapes_quotes_and_controls);
	CU_ADD_TEST(s, write_string_invalid_utf8_is_error);
	CU_ADD_TEST(s, write_value_without_name_in_object_is_error);
	CU_ADD_TEST(s, write_name_outside_object_is_error);
	CU_ADD_TEST(s, write_name_without_value_is_error);
	CU_ADD_TEST(s, write_unclosed_or_empty_is_error);
	CU_ADD_TEST(s, write_second_top_level_value_is_error);
	CU_ADD_TEST(s, write_mismatched_close_is_error);
	CU_ADD_TEST(s, write_error_is_sticky);
	CU_ADD_TEST(s, write_null_writer_is_noop);
	CU_ADD_TEST(s, write_depth_limit_is_error);
	CU_ADD_TEST(s, write_val_reemits_numbers_by_text);
	CU_ADD_TEST(s, write_val_as_member_value);

	s = CU_add_suite("json_parse", NULL, NULL);
	CU_ADD_TEST(s, parse_uses_only_len_bytes);
	CU_ADD_TEST(s, parse_rejects_trailing_garbage_with_one_line_message);
	CU_ADD_TEST(s, parse_rejects_truncated_text);
	CU_ADD_TEST(s, parse_rejects_nul_byte);
	CU_ADD_TEST(s, parse_rejects_empty_text);
	CU_ADD_TEST(s, parse_accepts_max_depth);
	CU_ADD_TEST(s, parse_rejects_deeper_than_max_depth);
	CU_ADD_TEST(s, parse_depth_ignores_brackets_in_strings);
	CU_ADD_TEST(s, parse_depth_sees_through_comments);
	CU_ADD_TEST(s, object_get_finds_member_by_key);
	CU_ADD_TEST(s, type_name_names_each_type);

	s = CU_add_suite("json_scan", NULL, NULL);
	CU_ADD_TEST(s, scanner_splits_pipelined_values);
	CU_ADD_TEST(s, scanner_bare_literal_waits_for_delimiter);
	CU_ADD_TEST(s, scanner_skips_comments_between_values);
	CU_ADD_TEST(s, scanner_stray_closer_is_a_value);
	CU_ADD_TEST(s, scanner_value_split_byte_by_byte);
	CU_ADD_TEST(s, scanner_keep_and_shift_preserve_partial_value);

	s = CU_add_suite("json_decode", NULL, NULL);
	CU_ADD_TEST(s, decode_string_copies_and_replaces);
	CU_ADD_TEST(s, decode_string_rejects_other_types);
	CU_ADD_TEST(s, decode_bool_accepts_only_true_and_false);
	CU_ADD_TEST(s, decode_uint64_accepts_integral_values);
	CU_ADD_TEST(s, decode_uint64_rejects_fractions_negatives_and_overflow);
	CU_ADD_TEST(s, decode_narrow_unsigned_checks_range);
	CU_ADD_TEST(s, decode_signed_checks_range);
	CU_ADD_TEST(s, decode_object_fills_members);
	CU_ADD_TEST(s, decode_object_reports_missing_parameter);
	CU_ADD_TEST(s, decode_object_null_params_with_all_optional_is_ok);
	CU_ADD_TEST(s, decode_object_reports_invalid_parameter_type);
	CU_ADD_TEST(s, decode_default_only_accepts_the_default_and_refuses_other_values);
	CU_ADD_TEST(s, decode_string_array_copies_strings_and_refuses_others);
	CU_ADD_TEST(s, decode_object_failure_releases_what_it_decoded);
	CU_ADD_TEST(s, decode_object_reports_out_of_range_parameter);
	CU_ADD_TEST(s, decode_object_reports_unknown_and_duplicate_parameters);
	CU_ADD_TEST(s, decode_object_rejects_non_object);

	return ut_run_tests();
}
