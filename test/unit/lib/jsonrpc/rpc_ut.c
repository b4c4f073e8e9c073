/* SPDX-License-Identifier: BSD-3-Clause */
/* The method registry, answering, and in-process calls (vt_rpc_call). */
#include <CUnit/Basic.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/jsonrpc/rpc.c"
#include "test/unit/common/ut_main.h"

/* ---- test methods ------------------------------------------------------------------------ */

static struct vt_jsonrpc_request *g_pending;
static yajl_val g_pending_params;

static void
t_echo(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct vt_json_write_ctx *w = vt_jsonrpc_begin_result(req);

	vt_json_write_val(w, params);
	vt_jsonrpc_end_result(req, w);
}

static void
t_async(struct vt_jsonrpc_request *req, yajl_val params)
{
	g_pending = req;
	g_pending_params = params;
}

static void
t_fail(struct vt_jsonrpc_request *req, yajl_val params)
{
	vt_jsonrpc_send_error_response_fmt(req, -32000, "failed %d time%s", 3, "s");
}

static void
t_twice(struct vt_jsonrpc_request *req, yajl_val params)
{
	vt_jsonrpc_send_bool_response(req, true);
	vt_jsonrpc_send_error_response(req, -32000, "too late");
}

static void
t_bad_result(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct vt_json_write_ctx *w = vt_jsonrpc_begin_result(req);

	vt_json_write_array_begin(w);
	vt_jsonrpc_end_result(req, w);
}

static void
t_error_code_zero(struct vt_jsonrpc_request *req, yajl_val params)
{
	vt_jsonrpc_send_error_response(req, 0, "zero");
}

struct t_params {
	char *name;
	uint32_t size;
};

static const struct vt_json_object_decoder g_t_decoders[] = {
	{ "name", offsetof(struct t_params, name), vt_json_decode_string, false },
	{ "size", offsetof(struct t_params, size), vt_json_decode_uint32, true },
};

static void
t_decode(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct t_params p = { 0 };
	struct vt_json_write_ctx *w;

	if (vt_rpc_decode_params(req, params, g_t_decoders, VT_COUNTOF(g_t_decoders), &p) == 0) {
		w = vt_jsonrpc_begin_result(req);
		vt_json_write_stringf(w, "%s/%u", p.name, p.size);
		vt_jsonrpc_end_result(req, w);
	}
	free(p.name);
}

/* ---- call results ------------------------------------------------------------------------ */

struct call_result {
	int calls;
	int code;
	char msg[256];
	char result[1024]; /* the result tree written back as text */
};

static void
call_cb(void *arg, int code, const char *err_msg, yajl_val result)
{
	struct call_result *r = arg;
	struct vt_json_write_ctx *w;

	r->calls++;
	r->code = code;
	snprintf(r->msg, sizeof(r->msg), "%s", err_msg != NULL ? err_msg : "(null)");
	r->result[0] = '\0';
	if (result != NULL) {
		w = vt_json_write_begin(false);
		vt_json_write_val(w, result);
		CU_ASSERT_EQUAL(vt_json_write_end(w), 0);
		snprintf(r->result, sizeof(r->result), "%s", vt_json_write_buf(w, NULL));
		vt_json_write_free(w);
	}
}

static yajl_val
parse(const char *text)
{
	char err[128];
	yajl_val v = vt_json_parse(text, strlen(text), err, sizeof(err));

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	return v;
}

/* Calls method with params text (NULL: none) and returns what the callback got. */
static struct call_result
call(const char *method, const char *params)
{
	struct call_result r = { 0 };
	yajl_val p = params != NULL ? parse(params) : NULL;

	vt_rpc_call(method, p, call_cb, &r);
	yajl_tree_free(p);
	return r;
}

/* ---- tests ------------------------------------------------------------------------------- */

static void
call_returns_result_tree(void)
{
	struct call_result r = call("t_echo", "{\"a\":[1,\"x\",{\"b\":null}],\"n\":2.50}");

	CU_ASSERT_EQUAL(r.calls, 1);
	CU_ASSERT_EQUAL(r.code, 0);
	CU_ASSERT_STRING_EQUAL(r.msg, "(null)");
	CU_ASSERT_STRING_EQUAL(r.result, "{\"a\":[1,\"x\",{\"b\":null}],\"n\":2.50}");
	r = call("t_echo", NULL);
	CU_ASSERT_EQUAL(r.code, 0);
	CU_ASSERT_STRING_EQUAL(r.result, "null");
}

static void
call_async_answer_delivered_later_with_copied_params(void)
{
	struct call_result r = { 0 };
	yajl_val p = parse("{\"k\":\"v\"}");
	struct vt_json_write_ctx *w;

	vt_rpc_call("t_async", p, call_cb, &r);
	/* The caller's tree may go at once: the handler has its own copy. */
	yajl_tree_free(p);
	CU_ASSERT_EQUAL(r.calls, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g_pending);
	CU_ASSERT_STRING_EQUAL(YAJL_GET_STRING(vt_json_object_get(g_pending_params, "k")), "v");
	w = vt_jsonrpc_begin_result(g_pending);
	vt_json_write_object_begin(w);
	vt_json_write_named_string(w, "later", "yes");
	vt_json_write_object_end(w);
	vt_jsonrpc_end_result(g_pending, w);
	g_pending = NULL;
	CU_ASSERT_EQUAL(r.calls, 1);
	CU_ASSERT_EQUAL(r.code, 0);
	CU_ASSERT_STRING_EQUAL(r.result, "{\"later\":\"yes\"}");
}

static void
call_unknown_method_gets_32601(void)
{
	struct call_result r = call("no_such", NULL);

	CU_ASSERT_EQUAL(r.calls, 1);
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_METHOD_NOT_FOUND);
	CU_ASSERT_STRING_EQUAL(r.msg, "Method not found: 'no_such'");
	CU_ASSERT_STRING_EQUAL(r.result, "");
}

static void
call_not_allowed_in_state_gets_32601(void)
{
	struct call_result r;

	vt_rpc_set_state(VT_RPC_RUNTIME);
	CU_ASSERT_EQUAL(vt_rpc_get_state(), VT_RPC_RUNTIME);
	r = call("t_startup_only", NULL);
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_METHOD_NOT_FOUND);
	CU_ASSERT_STRING_EQUAL(r.msg,
			       "method 't_startup_only' is not allowed in the runtime state");
	vt_rpc_set_state(VT_RPC_STARTUP);
	r = call("t_startup_only", NULL);
	CU_ASSERT_EQUAL(r.code, 0);
	r = call("t_runtime_only", NULL);
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_METHOD_NOT_FOUND);
	CU_ASSERT_STRING_EQUAL(r.msg,
			       "method 't_runtime_only' is not allowed in the startup state");
}

static void
call_error_response_code_and_message(void)
{
	struct call_result r = call("t_fail", "[]");

	CU_ASSERT_EQUAL(r.calls, 1);
	CU_ASSERT_EQUAL(r.code, -32000);
	CU_ASSERT_STRING_EQUAL(r.msg, "failed 3 times");
	r = call("t_error_code_zero", NULL);
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INTERNAL_ERROR);
	CU_ASSERT_STRING_EQUAL(r.msg, "zero");
}

static void
decode_params_failure_answers_32602(void)
{
	struct call_result r = call("t_decode", "{\"size\":1}");

	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_STRING_EQUAL(r.msg, "missing parameter 'name'");
	r = call("t_decode", "{\"name\":\"n\",\"size\":-4}");
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_STRING_EQUAL(r.msg, "invalid parameter 'size': expected unsigned integer");
	r = call("t_decode", "{\"name\":\"n\",\"size\":4}");
	CU_ASSERT_EQUAL(r.code, 0);
	CU_ASSERT_STRING_EQUAL(r.result, "\"n/4\"");
}

static void
invalid_result_answers_32603(void)
{
	struct call_result r = call("t_bad_result", NULL);

	CU_ASSERT_EQUAL(r.calls, 1);
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INTERNAL_ERROR);
	CU_ASSERT_STRING_EQUAL(r.msg, "internal error: invalid result");
}

static void
second_answer_is_dropped(void)
{
	struct call_result r = call("t_twice", NULL);

	CU_ASSERT_EQUAL(r.calls, 1);
	CU_ASSERT_EQUAL(r.code, 0);
	CU_ASSERT_STRING_EQUAL(r.result, "true");
}

static void
call_rejects_scalar_params(void)
{
	struct call_result r = call("t_echo", "5");

	CU_ASSERT_EQUAL(r.calls, 1);
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_REQUEST);
}

static void
alias_runs_its_method(void)
{
	struct call_result r = call("t_echo_old", "[7]");

	CU_ASSERT_EQUAL(r.code, 0);
	CU_ASSERT_STRING_EQUAL(r.result, "[7]");
	/* An alias whose method was never registered is not found. */
	r = call("t_dangling", NULL);
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_METHOD_NOT_FOUND);
}

static void
notification_gets_no_writer_but_is_answered(void)
{
	struct vt_jsonrpc_request *req;

	req = jsonrpc_request_alloc("t_echo", NULL, NULL, NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(req);
	CU_ASSERT_PTR_NULL(vt_jsonrpc_begin_result(req));
	CU_ASSERT_TRUE(jsonrpc_request_run(req));
	CU_ASSERT_TRUE(req->answered);
	CU_ASSERT_EQUAL(req->code, 0);
	CU_ASSERT_PTR_NULL(req->result);
	jsonrpc_request_free(req);
}

static void
method_iteration_follows_registration_order(void)
{
	const char *expected[] = { "t_echo",   "t_async",        "t_fail",
				   "t_twice",  "t_bad_result",   "t_error_code_zero",
				   "t_decode", "t_startup_only", "t_runtime_only" };
	uint32_t iter, mask, n = 0;
	const char *name;

	for (name = vt_rpc_method_first(&iter, &mask); name != NULL;
	     name = vt_rpc_method_next(&iter, &mask)) {
		CU_ASSERT_FATAL(n < VT_COUNTOF(expected));
		CU_ASSERT_STRING_EQUAL(name, expected[n]);
		if (strcmp(name, "t_startup_only") == 0) {
			CU_ASSERT_EQUAL(mask, VT_RPC_STARTUP);
		}
		n++;
	}
	CU_ASSERT_EQUAL(n, VT_COUNTOF(expected));
}

static void
alias_iteration_reports_method_mask(void)
{
	uint32_t iter, mask = 99;
	const char *name;

	name = vt_rpc_alias_first(&iter, &mask);
	CU_ASSERT_STRING_EQUAL(name, "t_echo_old");
	CU_ASSERT_EQUAL(mask, VT_RPC_STARTUP | VT_RPC_RUNTIME);
	name = vt_rpc_alias_next(&iter, &mask);
	CU_ASSERT_STRING_EQUAL(name, "t_dangling");
	CU_ASSERT_EQUAL(mask, 0);
	CU_ASSERT_PTR_NULL(vt_rpc_alias_next(&iter, &mask));
}

/* Runs fn in a child and reports whether it died of SIGABRT. */
static bool
aborts(void (*fn)(void))
{
	int status;
	pid_t pid = fork();

	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		/* Keep the expected error line out of the test output. */
		if (freopen("/dev/null", "w", stderr) == NULL) {
			_exit(2);
		}
		fn();
		_exit(0);
	}
	CU_ASSERT_EQUAL_FATAL(waitpid(pid, &status, 0), pid);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void
register_same_method(void)
{
	vt_rpc_register_method("t_echo", t_echo, VT_RPC_RUNTIME);
}

static void
register_alias_named_like_method(void)
{
	vt_rpc_register_alias("t_fail", "t_echo");
}

static void
register_new_method(void)
{
	vt_rpc_register_method("t_brand_new", t_echo, VT_RPC_RUNTIME);
}

static void
duplicate_registration_aborts(void)
{
	CU_ASSERT_TRUE(aborts(register_same_method));
	CU_ASSERT_TRUE(aborts(register_alias_named_like_method));
	CU_ASSERT_FALSE(aborts(register_new_method));
}

int
main(void)
{
	CU_pSuite s;

	vt_rpc_register_method("t_echo", t_echo, VT_RPC_STARTUP | VT_RPC_RUNTIME);
	vt_rpc_register_method("t_async", t_async, VT_RPC_STARTUP | VT_RPC_RUNTIME);
	vt_rpc_register_method("t_fail", t_fail, VT_RPC_STARTUP | VT_RPC_RUNTIME);
	vt_rpc_register_method("t_twice", t_twice, VT_RPC_STARTUP | VT_RPC_RUNTIME);
	vt_rpc_register_alias("t_echo_old", "t_echo");
	vt_rpc_register_method("t_bad_result", t_bad_result, VT_RPC_STARTUP | VT_RPC_RUNTIME);
	vt_rpc_register_method("t_error_code_zero", t_error_code_zero,
			       VT_RPC_STARTUP | VT_RPC_RUNTIME);
	vt_rpc_register_method("t_decode", t_decode, VT_RPC_STARTUP | VT_RPC_RUNTIME);
	vt_rpc_register_method("t_startup_only", t_echo, VT_RPC_STARTUP);
	vt_rpc_register_method("t_runtime_only", t_echo, VT_RPC_RUNTIME);
	vt_rpc_register_alias("t_dangling", "t_never_registered");

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	s = CU_add_suite("rpc", NULL, NULL);
	CU_ADD_TEST(s, call_returns_result_tree);
	CU_ADD_TEST(s, call_async_answer_delivered_later_with_copied_params);
	CU_ADD_TEST(s, call_unknown_method_gets_32601);
	CU_ADD_TEST(s, call_not_allowed_in_state_gets_32601);
	CU_ADD_TEST(s, call_error_response_code_and_message);
	CU_ADD_TEST(s, decode_params_failure_answers_32602);
	CU_ADD_TEST(s, invalid_result_answers_32603);
	CU_ADD_TEST(s, second_answer_is_dropped);
	CU_ADD_TEST(s, call_rejects_scalar_params);
	CU_ADD_TEST(s, alias_runs_its_method);
	CU_ADD_TEST(s, notification_gets_no_writer_but_is_answered);
	CU_ADD_TEST(s, method_iteration_follows_registration_order);
	CU_ADD_TEST(s, alias_iteration_reports_method_mask);
	CU_ADD_TEST(s, duplicate_registration_aborts);

	return ut_run_tests();
}
