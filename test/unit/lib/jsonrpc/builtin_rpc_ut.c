/* SPDX-License-Identifier: BSD-3-Clause */
/* rpc_get_methods and spdk_get_version, called in-process. */
#include <CUnit/Basic.h>
#include <inttypes.h>

#include "lib/jsonrpc/builtin_rpc.c"
#include "test/unit/common/ut_main.h"

struct call_result {
	int calls;
	int code;
	char msg[256];
	char result[2048];
};

static void
call_cb(void *arg, int code, const char *err_msg, yajl_val result)
{
	struct call_result *r = arg;
	struct vt_json_write_ctx *w;

	r->calls++;
	r->code = code;
	snprintf(r->msg, sizeof(r->msg), "%s", err_msg != NULL ? err_msg : "");
	r->result[0] = '\0';
	if (result != NULL) {
		w = vt_json_write_begin(false);
		vt_json_write_val(w, result);
		CU_ASSERT_EQUAL(vt_json_write_end(w), 0);
		snprintf(r->result, sizeof(r->result), "%s", vt_json_write_buf(w, NULL));
		vt_json_write_free(w);
	}
}

static struct call_result
call(const char *method, const char *params)
{
	struct call_result r = { 0 };
	char err[128];
	yajl_val p = NULL;

	if (params != NULL) {
		p = vt_json_parse(params, strlen(params), err, sizeof(err));
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	}
	vt_rpc_call(method, p, call_cb, &r);
	yajl_tree_free(p);
	CU_ASSERT_EQUAL(r.calls, 1);
	return r;
}

static void
t_method(struct vt_jsonrpc_request *req, yajl_val params)
{
	vt_jsonrpc_send_bool_response(req, true);
}

static void
version_split_reads_parts_and_suffix(void)
{
	uint64_t major, minor, patch;
	const char *suffix;

	rpc_version_split("0.1.0", &major, &minor, &patch, &suffix);
	CU_ASSERT(major == 0 && minor == 1 && patch == 0);
	CU_ASSERT_STRING_EQUAL(suffix, "");
	rpc_version_split("12.34.56-rc1", &major, &minor, &patch, &suffix);
	CU_ASSERT(major == 12 && minor == 34 && patch == 56);
	CU_ASSERT_STRING_EQUAL(suffix, "-rc1");
	rpc_version_split("3.1", &major, &minor, &patch, &suffix);
	CU_ASSERT(major == 3 && minor == 1 && patch == 0);
	CU_ASSERT_STRING_EQUAL(suffix, "");
	rpc_version_split("2.x", &major, &minor, &patch, &suffix);
	CU_ASSERT(major == 2 && minor == 0 && patch == 0);
	CU_ASSERT_STRING_EQUAL(suffix, ".x");
	rpc_version_split("dev", &major, &minor, &patch, &suffix);
	CU_ASSERT(major == 0 && minor == 0 && patch == 0);
	CU_ASSERT_STRING_EQUAL(suffix, "dev");
}

static void
get_version_reports_version_and_fields(void)
{
	struct call_result r = call("spdk_get_version", NULL);
	uint64_t major, minor, patch;
	const char *suffix;
	char expected[256];

	rpc_version_split(VT_VERSION_STRING, &major, &minor, &patch, &suffix);
	snprintf(expected, sizeof(expected),
		 "{\"version\":\"vtarget v%s\",\"fields\":{\"major\":%" PRIu64 ",\"minor\":%" PRIu64
		 ",\"patch\":%" PRIu64 ",\"suffix\":\"%s\"}}",
		 VT_VERSION_STRING, major, minor, patch, suffix);
	CU_ASSERT_EQUAL(r.code, 0);
	CU_ASSERT_STRING_EQUAL(r.result, expected);
	/* The version the build uses today. */
	if (strcmp(VT_VERSION_STRING, "0.1.0") == 0) {
		CU_ASSERT_STRING_EQUAL(r.result,
				       "{\"version\":\"vtarget v0.1.0\",\"fields\":"
				       "{\"major\":0,\"minor\":1,\"patch\":0,\"suffix\":\"\"}}");
	}
	r = call("spdk_get_version", "{}");
	CU_ASSERT_EQUAL(r.code, 0);
}

static void
get_version_rejects_params(void)
{
	struct call_result r = call("spdk_get_version", "{\"x\":1}");

	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_STRING_EQUAL(r.msg, "spdk_get_version requires no parameters");
}

static void
get_methods_lists_all_in_registration_order(void)
{
	struct call_result r;

	vt_rpc_set_state(VT_RPC_RUNTIME);
	r = call("rpc_get_methods", NULL);
	CU_ASSERT_EQUAL(r.code, 0);
	/* The builtins register in constructors, before main() adds the test methods. */
	CU_ASSERT_STRING_EQUAL(r.result, "[\"rpc_get_methods\",\"spdk_get_version\","
					 "\"t_startup_only\",\"t_both\"]");
	vt_rpc_set_state(VT_RPC_STARTUP);
}

static void
get_methods_current_filters_by_state(void)
{
	struct call_result r;

	vt_rpc_set_state(VT_RPC_RUNTIME);
	r = call("rpc_get_methods", "{\"current\":true}");
	CU_ASSERT_EQUAL(r.code, 0);
	CU_ASSERT_STRING_EQUAL(r.result, "[\"rpc_get_methods\",\"spdk_get_version\",\"t_both\"]");
	vt_rpc_set_state(VT_RPC_STARTUP);
	r = call("rpc_get_methods", "{\"current\":true}");
	CU_ASSERT_STRING_EQUAL(r.result, "[\"rpc_get_methods\",\"spdk_get_version\","
					 "\"t_startup_only\",\"t_both\"]");
}

static void
get_methods_include_aliases(void)
{
	struct call_result r;

	/* The methods, then the aliases (builtin_rpc.c's own, then the test's). */
	r = call("rpc_get_methods", "{\"include_aliases\":true}");
	CU_ASSERT_EQUAL(r.code, 0);
	CU_ASSERT_STRING_EQUAL(r.result, "[\"rpc_get_methods\",\"spdk_get_version\","
					 "\"t_startup_only\",\"t_both\",\"get_rpc_methods\","
					 "\"get_spdk_version\",\"t_old_startup\"]");
	vt_rpc_set_state(VT_RPC_RUNTIME);
	r = call("rpc_get_methods", "{\"include_aliases\":true,\"current\":true}");
	CU_ASSERT_STRING_EQUAL(r.result, "[\"rpc_get_methods\",\"spdk_get_version\",\"t_both\","
					 "\"get_rpc_methods\",\"get_spdk_version\"]");
	vt_rpc_set_state(VT_RPC_STARTUP);
}

static void
get_methods_rejects_bad_params(void)
{
	struct call_result r = call("rpc_get_methods", "{\"current\":1}");

	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_STRING_EQUAL(r.msg, "invalid parameter 'current': expected boolean");
	r = call("rpc_get_methods", "{\"all\":true}");
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_STRING_EQUAL(r.msg, "unknown parameter 'all'");
}

int
main(void)
{
	CU_pSuite s;

	vt_rpc_register_method("t_startup_only", t_method, VT_RPC_STARTUP);
	vt_rpc_register_method("t_both", t_method, VT_RPC_STARTUP | VT_RPC_RUNTIME);
	vt_rpc_register_alias("t_old_startup", "t_startup_only");

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	s = CU_add_suite("builtin_rpc", NULL, NULL);
	CU_ADD_TEST(s, version_split_reads_parts_and_suffix);
	CU_ADD_TEST(s, get_version_reports_version_and_fields);
	CU_ADD_TEST(s, get_version_rejects_params);
	CU_ADD_TEST(s, get_methods_lists_all_in_registration_order);
	CU_ADD_TEST(s, get_methods_current_filters_by_state);
	CU_ADD_TEST(s, get_methods_include_aliases);
	CU_ADD_TEST(s, get_methods_rejects_bad_params);

	return ut_run_tests();
}
