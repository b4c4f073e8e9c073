/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Config replay (lib/init/json_config.c) against fake RPC methods on one reactor driven by
 * vt_reactor_poll_once(): order, asynchronous answers, the first failure, missing params, null
 * config, bad JSON, unknown subsystems.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <string.h>

#include "lib/init/json_config.c"
#include "test/unit/common/ut_main.h"
#include "test/unit/common/ut_reactor.h"

/* Subsystems the test configs name; never initialised. */
static struct vt_subsystem g_ut_sub_a = { .name = "ut_a" };
static struct vt_subsystem g_ut_sub_b = { .name = "ut_b" };
VT_SUBSYSTEM_REGISTER(g_ut_sub_a)
VT_SUBSYSTEM_REGISTER(g_ut_sub_b)

/* Calls seen by the fake methods, as "tag,tag,..." ("-" for a call without params). */
static char g_calls[256];

static void
calls_add(yajl_val params)
{
	const char *tag = params != NULL ? YAJL_GET_STRING(vt_json_object_get(params, "tag")) : "-";
	size_t len = strlen(g_calls);

	snprintf(g_calls + len, sizeof(g_calls) - len, "%s%s", len > 0 ? "," : "",
		 tag != NULL ? tag : "?");
}

static void
ut_record(struct vt_jsonrpc_request *req, yajl_val params)
{
	calls_add(params);
	vt_jsonrpc_send_bool_response(req, true);
}
VT_RPC_REGISTER("ut_config_record", ut_record, VT_RPC_STARTUP | VT_RPC_RUNTIME)

static void
ut_fail(struct vt_jsonrpc_request *req, yajl_val params)
{
	calls_add(params);
	vt_jsonrpc_send_error_response(req, VT_JSONRPC_ERROR_INVALID_PARAMS, "ut bad thing");
}
VT_RPC_REGISTER("ut_config_fail", ut_fail, VT_RPC_STARTUP | VT_RPC_RUNTIME)

/* Answers on a later reactor iteration, like a method that waits for I/O. */
static struct vt_jsonrpc_request *g_async_req;
static struct vt_defer g_async_defer;

static void
ut_async_answer(void *arg)
{
	vt_jsonrpc_send_bool_response(g_async_req, true);
	g_async_req = NULL;
}

static void
ut_async(struct vt_jsonrpc_request *req, yajl_val params)
{
	calls_add(params);
	g_async_req = req;
	vt_defer(&g_async_defer, ut_async_answer, NULL);
}
VT_RPC_REGISTER("ut_config_async", ut_async, VT_RPC_STARTUP | VT_RPC_RUNTIME)

struct load_result {
	bool done;
	int rc;
	char err[512];
};

static void
load_done(int rc, const char *err, void *arg)
{
	struct load_result *res = arg;

	res->done = true;
	res->rc = rc;
	snprintf(res->err, sizeof(res->err), "%s", err != NULL ? err : "");
}

static void
poll_until_done(const bool *done)
{
	int i;

	for (i = 0; i < 10000 && !*done; i++) {
		vt_reactor_poll_once();
	}
}

static struct load_result
load(const char *text)
{
	struct load_result res = { 0 };

	g_calls[0] = '\0';
	init_json_config_load(text, strlen(text), load_done, &res);
	poll_until_done(&res.done);
	CU_ASSERT_TRUE(res.done);
	return res;
}

#define ENTRY(method, tag) "{\"method\":\"" method "\",\"params\":{\"tag\":\"" tag "\"}}"

static void
config_replays_subsystems_and_entries_in_file_order(void)
{
	struct load_result res = load(
		"{\"subsystems\":["
		"{\"subsystem\":\"ut_b\",\"config\":[" ENTRY("ut_config_record", "b1") "," ENTRY(
			"ut_config_record", "b2") "]},"
						  "{\"subsystem\":\"ut_a\",\"config\":[" ENTRY(
							  "ut_config_record", "a1") "]}]}");

	CU_ASSERT_EQUAL(res.rc, 0);
	CU_ASSERT_STRING_EQUAL(res.err, "");
	CU_ASSERT_STRING_EQUAL(g_calls, "b1,b2,a1");
}

static void
config_waits_for_an_asynchronous_answer_before_the_next_entry(void)
{
	struct load_result res = load("{\"subsystems\":[{\"subsystem\":\"ut_a\",\"config\":[" ENTRY(
		"ut_config_async", "x1") "," ENTRY("ut_config_record",
						   "x2") "," ENTRY("ut_config_async", "x3") "]}]}");

	CU_ASSERT_EQUAL(res.rc, 0);
	CU_ASSERT_STRING_EQUAL(g_calls, "x1,x2,x3");
	CU_ASSERT_PTR_NULL(g_async_req);
}

static void
config_stops_at_first_failure_naming_method_and_message(void)
{
	struct load_result res = load("{\"subsystems\":[{\"subsystem\":\"ut_a\",\"config\":[" ENTRY(
		"ut_config_record",
		"f1") "," ENTRY("ut_config_fail",
				"f2") "," ENTRY("ut_config_record",
						"f3") "]},"
						      "{\"subsystem\":\"ut_b\",\"config\":[" ENTRY(
							      "ut_config_record", "f4") "]}]}");

	CU_ASSERT_EQUAL(res.rc, -EIO);
	CU_ASSERT_STRING_EQUAL(res.err,
			       "config: ut_config_fail failed: ut bad thing (code -32602)");
	CU_ASSERT_STRING_EQUAL(g_calls, "f1,f2");
}

static void
config_reports_an_unknown_method_by_name(void)
{
	struct load_result res = load("{\"subsystems\":[{\"subsystem\":\"ut_a\",\"config\":[" ENTRY(
		"ut_config_no_such_method", "u1") "," ENTRY("ut_config_record", "u2") "]}]}");

	CU_ASSERT_EQUAL(res.rc, -EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "config: ut_config_no_such_method failed: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "(code -32601)"));
	CU_ASSERT_STRING_EQUAL(g_calls, "");
}

static void
config_calls_method_without_params_with_null_params(void)
{
	struct load_result res = load("{\"subsystems\":[{\"subsystem\":\"ut_a\",\"config\":["
				      "{\"method\":\"ut_config_record\"},"
				      "{\"method\":\"ut_config_record\",\"params\":null}," ENTRY(
					      "ut_config_record", "p3") "]}]}");

	CU_ASSERT_EQUAL(res.rc, 0);
	CU_ASSERT_STRING_EQUAL(g_calls, "-,-,p3");
}

static void
config_accepts_null_missing_and_empty_config(void)
{
	struct load_result res =
		load("{\"subsystems\":[{\"subsystem\":\"ut_a\",\"config\":null},"
		     "{\"subsystem\":\"ut_b\"},"
		     "{\"subsystem\":\"ut_a\",\"config\":[]},"
		     "{\"subsystem\":\"ut_b\",\"config\":[" ENTRY("ut_config_record", "n1") "]}]}");

	CU_ASSERT_EQUAL(res.rc, 0);
	CU_ASSERT_STRING_EQUAL(g_calls, "n1");

	res = load("{\"subsystems\":[]}");
	CU_ASSERT_EQUAL(res.rc, 0);
	CU_ASSERT_STRING_EQUAL(g_calls, "");
}

static void
config_rejects_bad_json_without_calling_anything(void)
{
	struct load_result res = load("{\"subsystems\":[{\"subsystem\":\"ut_a\",\"config\":[" ENTRY(
		"ut_config_record", "j1"));

	CU_ASSERT_EQUAL(res.rc, -EINVAL);
	CU_ASSERT_EQUAL(strncmp(res.err, "config: invalid JSON: ", 22), 0);
	CU_ASSERT_STRING_EQUAL(g_calls, "");
}

static void
config_rejects_unknown_subsystem_before_replaying_anything(void)
{
	struct load_result res = load("{\"subsystems\":[{\"subsystem\":\"ut_a\",\"config\":[" ENTRY(
		"ut_config_record", "k1") "]},"
					  "{\"subsystem\":\"ut_nosuch\",\"config\":null}]}");

	CU_ASSERT_EQUAL(res.rc, -ENOENT);
	CU_ASSERT_STRING_EQUAL(res.err, "config: unknown subsystem 'ut_nosuch'");
	CU_ASSERT_STRING_EQUAL(g_calls, "");
}

static void
config_rejects_bad_structure_before_replaying_anything(void)
{
	static const struct {
		const char *text;
		const char *err;
	} cases[] = {
		{ "[]", "config: expected an object with a 'subsystems' array, found array" },
		{ "{}", "config: missing 'subsystems' array" },
		{ "{\"subsystems\":{}}", "config: invalid 'subsystems' array" },
		{ "{\"subsystems\":[3]}", "config: subsystems[0] is not an object" },
		{ "{\"subsystems\":[{\"config\":[]}]}",
		  "config: subsystems[0] has no 'subsystem' name" },
		{ "{\"subsystems\":[{\"subsystem\":\"ut_a\",\"config\":{}}]}",
		  "config: 'config' of subsystem 'ut_a' must be an array or null" },
		{ "{\"subsystems\":[{\"subsystem\":\"ut_a\",\"config\":[" ENTRY(
			  "ut_config_record", "s1") ",{\"params\":{}}]}]}",
		  "config: entry 1 of subsystem 'ut_a' has no 'method' string" },
		{ "{\"subsystems\":[{\"subsystem\":\"ut_a\",\"config\":[" ENTRY("ut_config_record",
										"s1") ",7]}]}",
		  "config: entry 1 of subsystem 'ut_a' is not an object" },
		{ "{\"subsystems\":[{\"subsystem\":\"ut_a\",\"config\":["
		  "{\"method\":\"ut_config_record\",\"params\":\"x\"}]}]}",
		  "config: 'params' of ut_config_record (entry 0 of subsystem 'ut_a') must be an "
		  "object" },
	};
	struct load_result res;
	size_t i;

	for (i = 0; i < VT_COUNTOF(cases); i++) {
		res = load(cases[i].text);
		CU_ASSERT_EQUAL(res.rc, -EINVAL);
		CU_ASSERT_STRING_EQUAL(res.err, cases[i].err);
		CU_ASSERT_STRING_EQUAL(g_calls, "");
	}
}

static void
config_callback_never_runs_before_load_returns(void)
{
	struct load_result res = { 0 };
	const char *text = "{\"subsystems\":[]}";

	init_json_config_load(text, strlen(text), load_done, &res);
	CU_ASSERT_FALSE(res.done);
	poll_until_done(&res.done);
	CU_ASSERT_TRUE(res.done);

	res.done = false;
	init_json_config_load("{", 1, load_done, &res);
	CU_ASSERT_FALSE(res.done);
	poll_until_done(&res.done);
	CU_ASSERT_TRUE(res.done);
	CU_ASSERT_EQUAL(res.rc, -EINVAL);
}

static void
public_done(int rc, void *arg)
{
	struct load_result *res = arg;

	res->done = true;
	res->rc = rc;
}

static void
public_load_passes_rc_to_callback(void)
{
	const char *ok = "{\"subsystems\":[{\"subsystem\":\"ut_a\",\"config\":[" ENTRY(
		"ut_config_record", "v1") "]}]}";
	const char *bad = "{\"subsystems\":[{\"subsystem\":\"ut_a\",\"config\":[" ENTRY(
		"ut_config_fail", "v2") "]}]}";
	struct load_result res = { 0 };

	g_calls[0] = '\0';
	vt_json_config_load(ok, strlen(ok), public_done, &res);
	poll_until_done(&res.done);
	CU_ASSERT_TRUE(res.done);
	CU_ASSERT_EQUAL(res.rc, 0);

	res.done = false;
	vt_json_config_load(bad, strlen(bad), public_done, &res);
	poll_until_done(&res.done);
	CU_ASSERT_TRUE(res.done);
	CU_ASSERT_EQUAL(res.rc, -EIO);
	CU_ASSERT_STRING_EQUAL(g_calls, "v1,v2");
}

/* One reactor on a core this process may use; never started, driven by poll_once. */
static int
suite_init(void)
{
	if (ut_reactor_init_one(false) != 0) {
		return -1;
	}
	vt_rpc_set_state(VT_RPC_STARTUP);
	return 0;
}

int
main(void)
{
	CU_pSuite suite;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("json_config", suite_init, ut_reactor_suite_fini);
	CU_ADD_TEST(suite, config_replays_subsystems_and_entries_in_file_order);
	CU_ADD_TEST(suite, config_waits_for_an_asynchronous_answer_before_the_next_entry);
	CU_ADD_TEST(suite, config_stops_at_first_failure_naming_method_and_message);
	CU_ADD_TEST(suite, config_reports_an_unknown_method_by_name);
	CU_ADD_TEST(suite, config_calls_method_without_params_with_null_params);
	CU_ADD_TEST(suite, config_accepts_null_missing_and_empty_config);
	CU_ADD_TEST(suite, config_rejects_bad_json_without_calling_anything);
	CU_ADD_TEST(suite, config_rejects_unknown_subsystem_before_replaying_anything);
	CU_ADD_TEST(suite, config_rejects_bad_structure_before_replaying_anything);
	CU_ADD_TEST(suite, config_callback_never_runs_before_load_returns);
	CU_ADD_TEST(suite, public_load_passes_rc_to_callback);

	return ut_run_tests();
}
