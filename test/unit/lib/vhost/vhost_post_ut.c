/* SPDX-License-Identifier: BSD-3-Clause */
/* vhost_post_msg: delivery, the backlog of a reactor whose receiver's ring is full, its order. */
#include <CUnit/Basic.h>
#include <pthread.h>
#include <string.h>

#include "lib/vhost/vhost_internal.h"

#include "test/unit/common/ut_main.h"
#include "test/unit/common/ut_reactor.h"

/* The posted messages that ran, in order, and how many ring-filling messages had run then. */
static const char *g_ran[8];
static int g_nran;
static int g_fill_ran;
static int g_fill_ran_at[8];

static void
record(void *arg)
{
	if (g_nran < (int)VT_COUNTOF(g_ran)) {
		g_fill_ran_at[g_nran] = g_fill_ran;
		g_ran[g_nran] = arg;
	}
	g_nran++;
}

static void
filler(void *arg)
{
	g_fill_ran++;
}

static void
reset(void)
{
	memset(g_ran, 0, sizeof(g_ran));
	g_nran = 0;
	g_fill_ran = 0;
}

static void
post_runs_on_the_receiving_reactor(void)
{
	struct vhost_post p;

	reset();
	vhost_post_msg(&p, 0, record, "a");
	CU_ASSERT_EQUAL(g_nran, 0);
	CU_ASSERT_FATAL(ut_poll_until(&g_nran, 1));
	CU_ASSERT_STRING_EQUAL(g_ran[0], "a");
}

static struct vhost_post g_post_d;

/* The first message of the full ring: posts while older posts still wait in the backlog. */
static void
post_d(void *arg)
{
	vhost_post_msg(&g_post_d, 0, record, "d");
}

static void
full_ring_defers_posts_and_keeps_their_order(void)
{
	struct vhost_post pa, pb;
	int nfill = 0;

	reset();
	CU_ASSERT_FATAL(vt_send_msg(0, post_d, NULL) == 0);
	while (vt_send_msg(0, filler, NULL) == 0) {
		nfill++;
	}
	CU_ASSERT_FATAL(nfill > 0);
	/* The receiver is this very reactor: waiting for room here would never end. */
	vhost_post_msg(&pa, 0, record, "a");
	vhost_post_msg(&pb, 0, record, "b");
	CU_ASSERT_EQUAL(g_nran, 0);
	CU_ASSERT_FATAL(ut_poll_until(&g_nran, 3));
	ut_poll(4);
	CU_ASSERT_EQUAL(g_nran, 3);
	CU_ASSERT_EQUAL(g_fill_ran, nfill);
	/* d found room in the ring but queued behind a and b; all three after the ring's messages. */
	CU_ASSERT_STRING_EQUAL(g_ran[0], "a");
	CU_ASSERT_STRING_EQUAL(g_ran[1], "b");
	CU_ASSERT_STRING_EQUAL(g_ran[2], "d");
	CU_ASSERT_EQUAL(g_fill_ran_at[0], nfill);
	/* The backlog is empty again: the next post goes straight to the ring. */
	vhost_post_msg(&pa, 0, record, "e");
	CU_ASSERT_TRUE(ut_poll_until(&g_nran, 4));
	CU_ASSERT_STRING_EQUAL(g_ran[3], "e");
}

static void *
post_from_thread(void *arg)
{
	vhost_post_msg(arg, 0, record, "t");
	return NULL;
}

static void
post_from_a_plain_thread_reaches_the_reactor(void)
{
	struct vhost_post p;
	pthread_t tid;

	reset();
	CU_ASSERT_FATAL(pthread_create(&tid, NULL, post_from_thread, &p) == 0);
	CU_ASSERT_FATAL(pthread_join(tid, NULL) == 0);
	CU_ASSERT_FATAL(ut_poll_until(&g_nran, 1));
	CU_ASSERT_STRING_EQUAL(g_ran[0], "t");
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	s = CU_add_suite("vhost_post", ut_reactor_suite_init, ut_reactor_suite_fini);
	CU_ADD_TEST(s, post_runs_on_the_receiving_reactor);
	CU_ADD_TEST(s, full_ring_defers_posts_and_keeps_their_order);
	CU_ADD_TEST(s, post_from_a_plain_thread_reaches_the_reactor);
	return ut_run_tests();
}
