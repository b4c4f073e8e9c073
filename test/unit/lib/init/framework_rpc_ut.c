/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Framework RPCs (lib/init/framework_rpc.c) called in-process through vt_rpc_call on one reactor
 * driven by vt_reactor_poll_once(). vt_app_stop is replaced to observe spdk_kill_instance.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <string.h>

#include "lib/init/framework_rpc.c"
#include "test/unit/common/ut_main.h"
#include "test/unit/common/ut_reactor.h"
#include "test/unit/common/ut_rpc.h"

static int g_stop_calls;
static int g_stop_rc;

void
vt_app_stop(int rc)
{
	g_stop_calls++;
	g_stop_rc = rc;
}

/* The application is not waiting for framework_start_init here. */
int
init_app_start_init(struct vt_jsonrpc_request *req)
{
	(void)req;
	return -EALREADY;
}

static void
ut_a_write_config(struct vt_json_write_ctx *w)
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

static struct ut_rpc
call(const char *method, const char *params_json)
{
	struct ut_rpc res;

	ut_rpc(&res, method, params_json);
	return res;
}

static void
get_subsystems_lists_init_order_with_dependencies(void)
{
	struct ut_rpc res = call("framework_get_subsystems", NULL);

	CU_ASSERT_EQUAL(res.code, 0);
	CU_ASSERT_STRING_EQUAL(res.result, "[{\"subsystem\":\"ut_a\",\"depends_on\":[]},"
					   "{\"subsystem\":\"ut_b\",\"depends_on\":[\"ut_a\"]}]");
}

static void
get_subsystems_rejects_parameters(void)
{
	struct ut_rpc res = call("framework_get_subsystems", "{\"x\":1}");

	CU_ASSERT_EQUAL(res.code, VT_JSONRPC_ERROR_INVALID_PARAMS);

	res = call("framework_get_subsystems", "{}");
	CU_ASSERT_EQUAL(res.code, 0);
}

static void
get_config_returns_the_subsystem_entries(void)
{
	struct ut_rpc res = call("framework_get_config", "{\"name\":\"ut_a\"}");

	CU_ASSERT_EQUAL(res.code, 0);
	CU_ASSERT_STRING_EQUAL(res.result, "[{\"method\":\"ut_a_create\",\"params\":{\"n\":1}}]");
}

static void
get_config_without_callback_returns_empty_array(void)
{
	struct ut_rpc res = call("framework_get_config", "{\"name\":\"ut_b\"}");

	CU_ASSERT_EQUAL(res.code, 0);
	CU_ASSERT_STRING_EQUAL(res.result, "[]");
}

static void
get_config_of_unknown_subsystem_is_invalid_params(void)
{
	struct ut_rpc res = call("framework_get_config", "{\"name\":\"nosuch\"}");

	CU_ASSERT_EQUAL(res.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_STRING_EQUAL(res.msg, "subsystem 'nosuch' not found");
}

static void
get_config_without_name_is_invalid_params(void)
{
	struct ut_rpc res = call("framework_get_config", NULL);

	CU_ASSERT_EQUAL(res.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.msg, "name"));
}

static void
wait_init_answers_true_at_once_at_runtime(void)
{
	struct ut_rpc res;

	vt_rpc_set_state(VT_RPC_RUNTIME);
	res = call("framework_wait_init", NULL);
	CU_ASSERT_EQUAL(res.code, 0);
	CU_ASSERT_STRING_EQUAL(res.result, "true");
}

static void
wait_init_waits_until_startup_ends(void)
{
	struct ut_rpc res;

	vt_rpc_set_state(VT_RPC_STARTUP);
	ut_rpc_start(&res, "framework_wait_init", NULL);
	ut_poll(100);
	CU_ASSERT_FALSE(res.done);

	vt_rpc_set_state(VT_RPC_RUNTIME);
	init_framework_rpc_ready();
	ut_poll_until(&res.done, 1);
	CU_ASSERT_TRUE(res.done);
	CU_ASSERT_EQUAL(res.code, 0);
	CU_ASSERT_STRING_EQUAL(res.result, "true");
}

static void
wait_init_fails_when_startup_is_abandoned(void)
{
	struct ut_rpc res;

	vt_rpc_set_state(VT_RPC_STARTUP);
	ut_rpc_start(&res, "framework_wait_init", NULL);
	ut_poll(100);
	CU_ASSERT_FALSE(res.done);

	init_framework_rpc_shutdown();
	ut_poll_until(&res.done, 1);
	CU_ASSERT_TRUE(res.done);
	CU_ASSERT_EQUAL(res.code, VT_JSONRPC_ERROR_INTERNAL_ERROR);
	vt_rpc_set_state(VT_RPC_RUNTIME);
}

static void
kill_instance_rejects_unknown_signal(void)
{
	struct ut_rpc res = call("spdk_kill_instance", "{\"sig_name\":\"SIGUSR1\"}");

	CU_ASSERT_EQUAL(res.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.msg, "SIGUSR1"));
	CU_ASSERT_EQUAL(g_stop_calls, 0);

	res = call("spdk_kill_instance", NULL);
	CU_ASSERT_EQUAL(res.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_EQUAL(g_stop_calls, 0);
}

static void
kill_instance_sigterm_answers_then_stops(void)
{
	struct ut_rpc res;
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

static void
ut_init_done(int rc, void *arg)
{
	int *out = arg;

	*out = rc;
}

static int
suite_init(void)
{
	int i, rc = 1;

	if (ut_reactor_init_one(false) != 0) {
		return -1;
	}
	vt_rpc_set_state(VT_RPC_STARTUP);
	/* Sorts the registry into init order. */
	vt_subsystem_init(ut_init_done, &rc);
	for (i = 0; i < 1000 && rc == 1; i++) {
		vt_reactor_poll_once();
	}
	vt_rpc_set_state(VT_RPC_RUNTIME);
	return rc == 0 ? 0 : -1;
}

int
main(void)
{
	CU_pSuite suite;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("framework_rpc", suite_init, ut_reactor_suite_fini);
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

	return ut_run_tests();
}
