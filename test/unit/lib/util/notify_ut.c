/* SPDX-License-Identifier: BSD-3-Clause */
#include <CUnit/Basic.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/util/notify.c"
#include "test/unit/common/ut_main.h"

struct seen {
	uint64_t ids[VT_NOTIFY_MAX_EVENTS + 8];
	char ctx[8][VT_NOTIFY_CTX_MAX];
	char type[8][VT_NOTIFY_NAME_MAX];
	size_t n;
};

static void
collect(uint64_t id, const char *type, const char *ctx, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8) {
		snprintf(s->ctx[s->n], sizeof(s->ctx[0]), "%s", ctx);
		snprintf(s->type[s->n], sizeof(s->type[0]), "%s", type);
	}
	s->ids[s->n++] = id;
}

static void
count_type(const char *type, void *arg)
{
	(void)type;
	(*(unsigned int *)arg)++;
}

static void
notify_types_register_once_and_refuse_bad_names(void)
{
	char long_name[VT_NOTIFY_NAME_MAX + 1];
	unsigned int n = 0;

	CU_ASSERT_EQUAL(vt_notify_type_register("t_a"), 0);
	CU_ASSERT_EQUAL(vt_notify_type_register("t_a"), 0);
	CU_ASSERT_EQUAL(vt_notify_type_register("t_b"), 0);
	CU_ASSERT_EQUAL(vt_notify_type_register(""), -EINVAL);
	CU_ASSERT_EQUAL(vt_notify_type_register(NULL), -EINVAL);
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	CU_ASSERT_EQUAL(vt_notify_type_register(long_name), -EINVAL);
	vt_notify_foreach_type(count_type, &n);
	CU_ASSERT_EQUAL(n, 2);
}

static void
notify_events_get_increasing_ids_from_zero(void)
{
	struct seen s = { .n = 0 };

	vt_notify_reset();
	CU_ASSERT_EQUAL(vt_notify_send("t_a", "first"), 0);
	CU_ASSERT_EQUAL(vt_notify_send("t_b", "second"), 1);
	CU_ASSERT_EQUAL(vt_notify_send("unknown", "x"), UINT64_MAX);
	CU_ASSERT_EQUAL(vt_notify_send("t_a", "third"), 2);
	CU_ASSERT_EQUAL(vt_notify_foreach_event(0, UINT64_MAX, collect, &s), 3);
	CU_ASSERT_EQUAL(s.n, 3);
	CU_ASSERT_EQUAL(s.ids[0], 0);
	CU_ASSERT_STRING_EQUAL(s.type[1], "t_b");
	CU_ASSERT_STRING_EQUAL(s.ctx[1], "second");
	CU_ASSERT_STRING_EQUAL(s.ctx[2], "third");
	/* From an id, at most max. */
	s.n = 0;
	CU_ASSERT_EQUAL(vt_notify_foreach_event(1, 1, collect, &s), 1);
	CU_ASSERT_EQUAL(s.ids[0], 1);
	s.n = 0;
	CU_ASSERT_EQUAL(vt_notify_foreach_event(3, 10, collect, &s), 0);
	CU_ASSERT_EQUAL(vt_notify_foreach_event(0, 0, collect, &s), 0);
	CU_ASSERT_EQUAL(s.n, 0);
}

static void
notify_ring_keeps_the_last_events(void)
{
	static struct seen s;
	char ctx[32];
	uint64_t total = VT_NOTIFY_MAX_EVENTS + 5;

	vt_notify_reset();
	for (uint64_t i = 0; i < total; i++) {
		snprintf(ctx, sizeof(ctx), "ev%" PRIu64, i);
		CU_ASSERT_EQUAL(vt_notify_send("t_a", ctx), i);
	}
	s.n = 0;
	/* Ids 0..4 were overwritten: the walk starts at the oldest kept. */
	CU_ASSERT_EQUAL(vt_notify_foreach_event(0, UINT64_MAX, collect, &s), VT_NOTIFY_MAX_EVENTS);
	CU_ASSERT_EQUAL(s.ids[0], 5);
	CU_ASSERT_STRING_EQUAL(s.ctx[0], "ev5");
	CU_ASSERT_EQUAL(s.ids[s.n - 1], total - 1);
	for (size_t i = 1; i < s.n; i++) {
		CU_ASSERT_EQUAL(s.ids[i], s.ids[i - 1] + 1);
	}
}

static void
notify_long_context_is_cut(void)
{
	char big[VT_NOTIFY_CTX_MAX + 50];
	struct seen s = { .n = 0 };

	vt_notify_reset();
	memset(big, 'n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CU_ASSERT_EQUAL(vt_notify_send("t_a", big), 0);
	CU_ASSERT_EQUAL(vt_notify_send("t_a", NULL), 1);
	vt_notify_foreach_event(0, 2, collect, &s);
	CU_ASSERT_EQUAL(strlen(s.ctx[0]), VT_NOTIFY_CTX_MAX - 1);
	CU_ASSERT_STRING_EQUAL(s.ctx[1], "");
}

int
main(void)
{
	CU_pSuite suite;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("notify", NULL, NULL);
	CU_ADD_TEST(suite, notify_types_register_once_and_refuse_bad_names);
	CU_ADD_TEST(suite, notify_events_get_increasing_ids_from_zero);
	CU_ADD_TEST(suite, notify_ring_keeps_the_last_events);
	CU_ADD_TEST(suite, notify_long_context_is_cut);

	return ut_run_tests();
}
