/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Framework RPCs (lib/init/framework_rpc.c) called in-process through vt_rpc_call on one reactor
 * driven by vt_reactor_poll_once(). vt_app_stop is replaced to observe spdk_kill_instance.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "lib/init/framework_rpc.c"

static int g_stop_calls;
static int g_stop_rc;

void vt_app_stop(int rc)
{
	g_stop_calls++;
	g_stop_rc = rc;
}

static void ut_a_write_config(struct vt_json_write_ctx *w)
{
	vt_json_write_array_begin(w);
	vt_json_write_object_begin(w);
	vt_json_write_named_string(w, "method", "ut_a_create");
	vt_json_write_named_object_begin(w, "params");
	vt_json_write_named_uint64(w, "n", 1);
	vt_json_write_object_end(w);
	vt_json_write_object_end(w);
	vt_json_write_array_end(w);
}

/* Registered b before a; b depends on a, so the init order is a, b. */
static struct vt_subsystem g_ut_b = { .name = "ut_b" };
static struct vt_subsystem g_ut_a = { .name = "ut_a", .write_config_json = ut_a_write_config };
VT_SUBSYSTEM_REGISTER(g_ut_b)
VT_SUBSYSTEM_REGISTER(g_ut_a)
VT_SUBSYSTEM_DEPEND(ut_b, ut_a)

struct call_result {
	bool done;
	int code;
	char msg[256];
	char result[1024];
};

static void call_done(void *arg, int code, const char *err_msg, yajl_val result)
{
	struct call_result *res = arg;
	struct vt_json_write_ctx *w;

	res->done = true;
	res->code = code;
	snprintf(res->msg, sizeof(res->msg), "%s", err_msg != NULL ? err_msg : "");
	if (result != NULL) {
		w = vt_json_write_begin(false);
		vt_json_write_val(w, result);
		snprintf(res->result, sizeof(res->result), "%s", vt_json_write_buf(w, NULL));
		vt_json_write_free(w);
	}
}

static void poll_until(const bool *flag, int max_iterations)
{
	int i;

	for (i = 0; i < max_iterations && !*flag; i++) {
		vt_reactor_poll_once();
	}
}

/* Starts a call; the caller polls. params_json NULL = no params. */
static void call_start(struct call_result *res, const char *method, const char *params_json,
		       yajl_val *params)
{
	char err[128];

	memset(res, 0, sizeof(*res));
	*params = NULL;
	if (params_json != NULL) {
		*params = vt_json_parse(params_json, strlen(params_json), err, sizeof(err));
		CU_ASSERT_PTR_NOT_NULL_FATAL(*params);
	}
	vt_rpc_call(method, *params, call_done, res);
}

static struct call_result call(const char *method, const char *params_json)
{
	struct call_result res;
	yajl_val params;

	call_start(&res, method, params_json, &params);
	poll_until(&res.done, 1000);
	CU_ASSERT_TRUE(res.done);
	yajl_tree_free(params);
	return res;
}

static void get_subsystems_lists_init_order_with_dependencies(void)
{
	struct call_result res = call("framework_get_subsystems", NULL);

	CU_ASSERT_EQUAL(res.code, 0);
	CU_ASSERT_STRING_EQUAL(res.result, "[{\"subsystem\":\"ut_a\",\"depends_on\":[]},"
				"{\"subsystem\":\"ut_b\",\"depends_on\":[\"ut_a\"]}]");
}

static void get_subsystems_rejects_parameters(void)
{
	struct call_result res = call("framework_get_subsystems", "{\"x\":1}");

	CU_ASSERT_EQUAL(res.code, VT_JSONRPC_ERROR_INVALID_PARAMS);

	res = call("framework_get_subsystems", "{}");
	CU_ASSERT_EQUAL(res.code, 0);
}

static void get_config_returns_the_subsystem_entries(void)
{
	struct call_result res = call("framework_get_config", "{\"name\":\"ut_a\"}");

	CU_ASSERT_EQUAL(res.code, 0);
	CU_ASSERT_STRING_EQUAL(res.result, "[{\"method\":\"ut_a_create\",\"params\":{\"n\":1}}]");
}

static void get_config_without_callback_returns_empty_array(void)
{
	struct call_result res = call("framework_get_config", "{\"name\":\"ut_b\"}");

	CU_ASSERT_EQUAL(res.code, 0);
	CU_ASSERT_STRING_EQUAL(res.result, "[]");
}

static void get_config_of_unknown_subsystem_is_invalid_params(void)
{
	struct call_result res = call("framework_get_config", "{\"name\":\"nosuch\"}");

	CU_ASSERT_EQUAL(res.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_STRING_EQUAL(res.msg, "subsystem 'nosuch' not found");
}

static void get_config_without_name_is_invalid_params(void)
{
	struct call_result res = call("framework_get_config", NULL);

	CU_ASSERT_EQUAL(res.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.msg, "name"));
}

static void wait_init_answers_true_at_once_at_runtime(void)
{
	struct call_result res;

	vt_rpc_set_state(VT_RPC_RUNTIME);
	res = call("framework_wait_init", NULL);
	CU_ASSERT_EQUAL(res.code, 0);
	CU_ASSERT_STRING_EQUAL(res.result, "true");
}

static void wait_init_waits_until_startup_ends(void)
{
	struct call_result res;
	yajl_val params;

	vt_rpc_set_state(VT_RPC_STARTUP);
	call_start(&res, "framework_wait_init", NULL, &params);
	poll_until(&res.done, 100);
	CU_ASSERT_FALSE(res.done);

	vt_rpc_set_state(VT_RPC_RUNTIME);
	init_framework_rpc_ready();
	poll_until(&res.done, 100);
	CU_ASSERT_TRUE(res.done);
	CU_ASSERT_EQUAL(res.code, 0);
	CU_ASSERT_STRING_EQUAL(res.result, "true");
}

static void wait_init_fails_when_startup_is_abandoned(void)
{
	struct call_result res;
	yajl_val params;

	vt_rpc_set_state(VT_RPC_STARTUP);
	call_start(&res, "framework_wait_init", NULL, &params);
	poll_until(&res.done, 100);
	CU_ASSERT_FALSE(res.done);

	init_framework_rpc_shutdown();
	poll_until(&res.done, 100);
	CU_ASSERT_TRUE(res.done);
	CU_ASSERT_EQUAL(res.code, VT_JSONRPC_ERROR_INTERNAL_ERROR);
	vt_rpc_set_state(VT_RPC_RUNTIME);
}

static void kill_instance_rejects_unknown_signal(void)
{
	struct call_result res = call("spdk_kill_instance", "{\"sig_name\":\"SIGUSR1\"}");

	CU_ASSERT_EQUAL(res.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.msg, "SIGUSR1"));
	CU_ASSERT_EQUAL(g_stop_calls, 0);

	res = call("spdk_kill_instance", NULL);
	CU_ASSERT_EQUAL(res.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_EQUAL(g_stop_calls, 0);
}

static void kill_instance_sigterm_answers_then_stops(void)
{
	struct call_result res;
	uint64_t deadline;

	g_stop_calls = 0;
	g_stop_rc = -1;
	res = call("spdk_kill_instance", "{\"sig_name\":\"SIGTERM\"}");
	CU_ASSERT_EQUAL(res.code, 0);
	CU_ASSERT_STRING_EQUAL(res.result, "true");
	/* The stop follows the answer, not the other way round. */
	CU_ASSERT_EQUAL(g_stop_calls, 0);

	deadline = vt_get_ticks() + 2 * VT_TICKS_HZ;
	while (g_stop_calls == 0 && vt_get_ticks() < deadline) {
		vt_reactor_poll_once();
		usleep(1000);
	}
	CU_ASSERT_EQUAL(g_stop_calls, 1);
	CU_ASSERT_EQUAL(g_stop_rc, 0);
}

static void ut_init_done(int rc, void *arg)
{
	int *out = arg;

	*out = rc;
}

static int suite_init(void)
{
	struct vt_cpuset cpus;
	cpu_set_t allowed;
	int cpu, rc = 1;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) {
		return -1;
	}
	for (cpu = 0; cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &allowed); cpu++) {
	}
	vt_cpuset_zero(&cpus);
	vt_cpuset_set(&cpus, (uint32_t)cpu);
	if (vt_reactors_init(&cpus, false) != 0) {
		return -1;
	}
	vt_rpc_set_state(VT_RPC_STARTUP);
	/* Sorts the registry into init order. */
	vt_subsystem_init(ut_init_done, &rc);
	for (cpu = 0; cpu < 1000 && rc == 1; cpu++) {
		vt_reactor_poll_once();
	}
	vt_rpc_set_state(VT_RPC_RUNTIME);
	return rc == 0 ? 0 : -1;
}

static int suite_fini(void)
{
	vt_reactors_fini();
	return 0;
}

int main(void)
{
	CU_pSuite suite;
	unsigned int failures;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("framework_rpc", suite_init, suite_fini);
	CU_ADD_TEST(suite, get_subsystems_lists_init_order_with_dependencies);
	CU_ADD_TEST(suite, get_subsystems_rejects_parameters);
	CU_ADD_TEST(suite, get_config_returns_the_subsystem_entries);
	CU_ADD_TEST(suite, get_config_without_callback_returns_empty_array);
	CU_ADD_TEST(suite, get_config_of_unknown_subsystem_is_invalid_params);
	CU_ADD_TEST(suite, get_config_without_name_is_invalid_params);
	CU_ADD_TEST(suite, wait_init_answers_true_at_once_at_runtime);
	CU_ADD_TEST(suite, wait_init_waits_until_startup_ends);
	CU_ADD_TEST(suite, wait_init_fails_when_startup_is_abandoned);
	CU_ADD_TEST(suite, kill_instance_rejects_unknown_signal);
	CU_ADD_TEST(suite, kill_instance_sigterm_answers_then_stops);

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failures != 0;
}
