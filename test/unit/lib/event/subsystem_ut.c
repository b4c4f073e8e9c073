/* SPDX-License-Identifier: BSD-3-Clause */
#include <CUnit/Basic.h>
#include <stdio.h>

#include "lib/event/subsystem.c"
#include "test/unit/common/ut_main.h"
#include "test/unit/common/ut_reactor.h"

/* What happened, in order: "iA" init of A, "fA" fini of A. */
static char g_trace[256];
static int g_fail_rc[4]; /* init result of subsystems A..D */
static bool g_async;     /* init completes only when the test says so */
static int g_init_rc;
static int g_init_cbs;
static int g_fini_cbs;

static void
trace(const char *what, const char *name)
{
	size_t len = strlen(g_trace);

	snprintf(g_trace + len, sizeof(g_trace) - len, "%s%s%s", len ? " " : "", what, name);
}

#define TEST_SUBSYSTEM(X, I)                                  \
	static void X##_init(void)                            \
	{                                                     \
		trace("i", #X);                               \
		if (!g_async) {                               \
			vt_subsystem_init_done(g_fail_rc[I]); \
		}                                             \
	}                                                     \
	static void X##_fini(void)                            \
	{                                                     \
		trace("f", #X);                               \
		vt_subsystem_fini_done();                     \
	}                                                     \
	static struct vt_subsystem g_##X = {                  \
		.name = #X,                                   \
		.init = X##_init,                             \
		.fini = X##_fini,                             \
	}

TEST_SUBSYSTEM(A, 0);
TEST_SUBSYSTEM(B, 1);
TEST_SUBSYSTEM(C, 2);
TEST_SUBSYSTEM(D, 3);

static struct vt_subsystem g_noop = { .name = "noop" };

static void
reset(void)
{
	TAILQ_INIT(&g_subsystems);
	TAILQ_INIT(&g_depends);
	g_last_inited = NULL;
	g_current = NULL;
	g_init_running = false;
	g_fini_running = false;
	g_fini_requested = false;
	g_trace[0] = '\0';
	memset(g_fail_rc, 0, sizeof(g_fail_rc));
	g_async = false;
	g_init_rc = 1;
	g_init_cbs = 0;
	g_fini_cbs = 0;
}

static void
setup(void)
{
	reset();
	CU_ASSERT_EQUAL_FATAL(ut_reactor_init_one(false), 0);
}

static void
teardown(void)
{
	vt_reactors_fini();
}

static void
poll_some(void)
{
	int i;

	for (i = 0; i < 20; i++) {
		vt_reactor_poll_once();
	}
}

static void
init_cb(int rc, void *arg)
{
	g_init_rc = rc;
	g_init_cbs++;
	if (vt_reactor_count() > 0) {
		CU_ASSERT_EQUAL(vt_reactor_current(), 0);
	}
}

static void
fini_cb(void *arg)
{
	g_fini_cbs++;
	CU_ASSERT_EQUAL(vt_reactor_current(), 0);
}

static struct vt_subsystem_depend g_a_on_c = { .name = "A", .depends_on = "C" };
static struct vt_subsystem_depend g_c_on_b = { .name = "C", .depends_on = "B" };
static struct vt_subsystem_depend g_b_on_a = { .name = "B", .depends_on = "A" };
static struct vt_subsystem_depend g_a_on_x = { .name = "A", .depends_on = "X" };

static void
subsystem_init_keeps_registration_order_without_dependencies(void)
{
	setup();
	vt_subsystem_register(&g_A);
	vt_subsystem_register(&g_B);
	vt_subsystem_register(&g_C);
	vt_subsystem_init(init_cb, NULL);
	/* Every step runs from a message: nothing happens inside the call. */
	CU_ASSERT_STRING_EQUAL(g_trace, "");
	poll_some();
	CU_ASSERT_EQUAL(g_init_cbs, 1);
	CU_ASSERT_EQUAL(g_init_rc, 0);
	CU_ASSERT_STRING_EQUAL(g_trace, "iA iB iC");
	vt_subsystem_fini(fini_cb, NULL);
	poll_some();
	CU_ASSERT_EQUAL(g_fini_cbs, 1);
	CU_ASSERT_STRING_EQUAL(g_trace, "iA iB iC fC fB fA");
	teardown();
}

static void
subsystem_init_orders_by_dependency(void)
{
	struct vt_subsystem *s;

	setup();
	vt_subsystem_register(&g_A);
	vt_subsystem_register(&g_B);
	vt_subsystem_register(&g_C);
	vt_subsystem_register(&g_D);
	vt_subsystem_add_depend(&g_a_on_c);
	/* Registration order before init. */
	s = vt_subsystem_first();
	CU_ASSERT_PTR_EQUAL(s, &g_A);
	CU_ASSERT_PTR_EQUAL(vt_subsystem_next(s), &g_B);
	vt_subsystem_init(init_cb, NULL);
	poll_some();
	CU_ASSERT_EQUAL(g_init_rc, 0);
	/* A waits for C; the others keep their order. */
	CU_ASSERT_STRING_EQUAL(g_trace, "iB iC iA iD");
	/* Init order after. */
	s = vt_subsystem_first();
	CU_ASSERT_PTR_EQUAL(s, &g_B);
	s = vt_subsystem_next(s);
	CU_ASSERT_PTR_EQUAL(s, &g_C);
	s = vt_subsystem_next(s);
	CU_ASSERT_PTR_EQUAL(s, &g_A);
	s = vt_subsystem_next(s);
	CU_ASSERT_PTR_EQUAL(s, &g_D);
	CU_ASSERT_PTR_NULL(vt_subsystem_next(s));
	vt_subsystem_fini(fini_cb, NULL);
	poll_some();
	CU_ASSERT_STRING_EQUAL(g_trace, "iB iC iA iD fD fA fC fB");
	teardown();
}

static void
subsystem_init_orders_dependency_chain(void)
{
	setup();
	vt_subsystem_register(&g_C);
	vt_subsystem_register(&g_B);
	vt_subsystem_register(&g_A);
	vt_subsystem_add_depend(&g_c_on_b);
	vt_subsystem_add_depend(&g_b_on_a);
	vt_subsystem_init(init_cb, NULL);
	poll_some();
	CU_ASSERT_EQUAL(g_init_rc, 0);
	CU_ASSERT_STRING_EQUAL(g_trace, "iA iB iC");
	teardown();
}

static void
subsystem_init_unknown_dependency_returns_enoent(void)
{
	setup();
	vt_subsystem_register(&g_A);
	vt_subsystem_add_depend(&g_a_on_x);
	vt_subsystem_init(init_cb, NULL);
	poll_some();
	CU_ASSERT_EQUAL(g_init_cbs, 1);
	CU_ASSERT_EQUAL(g_init_rc, -ENOENT);
	CU_ASSERT_STRING_EQUAL(g_trace, "");
	vt_subsystem_fini(fini_cb, NULL);
	poll_some();
	CU_ASSERT_EQUAL(g_fini_cbs, 1);
	CU_ASSERT_STRING_EQUAL(g_trace, "");
	teardown();
}

static void
subsystem_init_dependency_cycle_returns_eloop(void)
{
	setup();
	vt_subsystem_register(&g_A);
	vt_subsystem_register(&g_B);
	vt_subsystem_register(&g_C);
	vt_subsystem_add_depend(&g_a_on_c);
	vt_subsystem_add_depend(&g_c_on_b);
	vt_subsystem_add_depend(&g_b_on_a);
	vt_subsystem_init(init_cb, NULL);
	poll_some();
	CU_ASSERT_EQUAL(g_init_rc, -ELOOP);
	CU_ASSERT_STRING_EQUAL(g_trace, "");
	teardown();
}

static void
subsystem_init_failure_stops_and_fini_reverses_initialised_only(void)
{
	setup();
	vt_subsystem_register(&g_A);
	vt_subsystem_register(&g_B);
	vt_subsystem_register(&g_C);
	vt_subsystem_register(&g_D);
	g_fail_rc[2] = -EIO;
	vt_subsystem_init(init_cb, NULL);
	poll_some();
	CU_ASSERT_EQUAL(g_init_cbs, 1);
	CU_ASSERT_EQUAL(g_init_rc, -EIO);
	CU_ASSERT_STRING_EQUAL(g_trace, "iA iB iC");
	vt_subsystem_fini(fini_cb, NULL);
	poll_some();
	CU_ASSERT_EQUAL(g_fini_cbs, 1);
	CU_ASSERT_STRING_EQUAL(g_trace, "iA iB iC fB fA");
	teardown();
}

static void
subsystem_init_waits_for_late_init_done(void)
{
	setup();
	g_async = true;
	vt_subsystem_register(&g_A);
	vt_subsystem_register(&g_B);
	vt_subsystem_init(init_cb, NULL);
	poll_some();
	CU_ASSERT_STRING_EQUAL(g_trace, "iA");
	CU_ASSERT_EQUAL(g_init_cbs, 0);
	vt_subsystem_init_done(0);
	poll_some();
	CU_ASSERT_STRING_EQUAL(g_trace, "iA iB");
	CU_ASSERT_EQUAL(g_init_cbs, 0);
	vt_subsystem_init_done(0);
	poll_some();
	CU_ASSERT_EQUAL(g_init_cbs, 1);
	CU_ASSERT_EQUAL(g_init_rc, 0);
	/* A second completion is refused. */
	vt_subsystem_init_done(0);
	poll_some();
	CU_ASSERT_EQUAL(g_init_cbs, 1);
	vt_subsystem_fini(fini_cb, NULL);
	poll_some();
	CU_ASSERT_STRING_EQUAL(g_trace, "iA iB fB fA");
	teardown();
}

static void
subsystem_fini_during_init_cancels_then_finalises(void)
{
	setup();
	g_async = true;
	vt_subsystem_register(&g_A);
	vt_subsystem_register(&g_B);
	vt_subsystem_init(init_cb, NULL);
	poll_some();
	CU_ASSERT_STRING_EQUAL(g_trace, "iA");
	vt_subsystem_fini(fini_cb, NULL);
	poll_some();
	CU_ASSERT_EQUAL(g_fini_cbs, 0);
	vt_subsystem_init_done(0);
	poll_some();
	CU_ASSERT_EQUAL(g_init_cbs, 1);
	CU_ASSERT_EQUAL(g_init_rc, -ECANCELED);
	CU_ASSERT_EQUAL(g_fini_cbs, 1);
	CU_ASSERT_STRING_EQUAL(g_trace, "iA fA");
	teardown();
}

static void
subsystem_without_callbacks_is_skipped(void)
{
	setup();
	vt_subsystem_register(&g_noop);
	vt_subsystem_register(&g_A);
	vt_subsystem_init(init_cb, NULL);
	poll_some();
	CU_ASSERT_EQUAL(g_init_rc, 0);
	CU_ASSERT_STRING_EQUAL(g_trace, "iA");
	vt_subsystem_fini(fini_cb, NULL);
	poll_some();
	CU_ASSERT_EQUAL(g_fini_cbs, 1);
	CU_ASSERT_STRING_EQUAL(g_trace, "iA fA");
	teardown();
}

static void
subsystem_init_twice_returns_ebusy(void)
{
	setup();
	vt_subsystem_register(&g_A);
	vt_subsystem_init(init_cb, NULL);
	poll_some();
	CU_ASSERT_EQUAL(g_init_rc, 0);
	vt_subsystem_init(init_cb, NULL);
	poll_some();
	CU_ASSERT_EQUAL(g_init_cbs, 2);
	CU_ASSERT_EQUAL(g_init_rc, -EBUSY);
	CU_ASSERT_STRING_EQUAL(g_trace, "iA");
	vt_subsystem_fini(fini_cb, NULL);
	poll_some();
	teardown();
}

static void
subsystem_find_and_depend_iteration(void)
{
	struct vt_subsystem_depend *d;

	setup();
	vt_subsystem_register(&g_A);
	vt_subsystem_register(&g_C);
	vt_subsystem_add_depend(&g_a_on_c);
	vt_subsystem_add_depend(&g_c_on_b);
	CU_ASSERT_PTR_EQUAL(vt_subsystem_find("C"), &g_C);
	CU_ASSERT_PTR_NULL(vt_subsystem_find("B"));
	d = vt_subsystem_depend_first();
	CU_ASSERT_PTR_EQUAL(d, &g_a_on_c);
	d = vt_subsystem_depend_next(d);
	CU_ASSERT_PTR_EQUAL(d, &g_c_on_b);
	CU_ASSERT_PTR_NULL(vt_subsystem_depend_next(d));
	teardown();
}

static void
subsystem_init_without_reactors_runs_inline(void)
{
	reset();
	vt_subsystem_register(&g_A);
	vt_subsystem_init(init_cb, NULL);
	CU_ASSERT_EQUAL(g_init_rc, 0);
	CU_ASSERT_STRING_EQUAL(g_trace, "iA");
	g_fini_cbs = 0;
	vt_subsystem_fini(NULL, NULL);
	CU_ASSERT_STRING_EQUAL(g_trace, "iA fA");
	CU_ASSERT_PTR_NULL(g_last_inited);
}

int
main(void)
{
	CU_pSuite suite;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("subsystem", NULL, NULL);
	CU_ADD_TEST(suite, subsystem_init_keeps_registration_order_without_dependencies);
	CU_ADD_TEST(suite, subsystem_init_orders_by_dependency);
	CU_ADD_TEST(suite, subsystem_init_orders_dependency_chain);
	CU_ADD_TEST(suite, subsystem_init_unknown_dependency_returns_enoent);
	CU_ADD_TEST(suite, subsystem_init_dependency_cycle_returns_eloop);
	CU_ADD_TEST(suite, subsystem_init_failure_stops_and_fini_reverses_initialised_only);
	CU_ADD_TEST(suite, subsystem_init_waits_for_late_init_done);
	CU_ADD_TEST(suite, subsystem_fini_during_init_cancels_then_finalises);
	CU_ADD_TEST(suite, subsystem_without_callbacks_is_skipped);
	CU_ADD_TEST(suite, subsystem_init_twice_returns_ebusy);
	CU_ADD_TEST(suite, subsystem_find_and_depend_iteration);
	CU_ADD_TEST(suite, subsystem_init_without_reactors_runs_inline);

	return ut_run_tests();
}
