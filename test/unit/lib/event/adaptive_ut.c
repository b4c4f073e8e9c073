/* SPDX-License-Identifier: BSD-3-Clause */
#include <CUnit/Basic.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "lib/event/adaptive.c"
#include "test/unit/common/ut_main.h"
#include "test/unit/common/ut_reactor.h"

#define US 1000u

/* ---- the window tuning (a pure function) ------------------------------------------------- */

static void
vain_window_shrinks_by_an_eighth(void)
{
	CU_ASSERT_EQUAL(adaptive_window_next(200 * US, ADAPTIVE_VAIN, 0), 175 * US);
	CU_ASSERT_EQUAL(adaptive_window_next(80 * US, ADAPTIVE_VAIN, 0), 70 * US);
}

static void
vain_window_shrinks_by_at_least_a_step_down_to_zero(void)
{
	CU_ASSERT_EQUAL(adaptive_window_next(4 * US, ADAPTIVE_VAIN, 0), 3 * US);
	CU_ASSERT_EQUAL(adaptive_window_next(500, ADAPTIVE_VAIN, 0), 0);
	CU_ASSERT_EQUAL(adaptive_window_next(0, ADAPTIVE_VAIN, 0), 0);
}

static void
repeated_vain_windows_reach_zero(void)
{
	uint64_t w = ADAPTIVE_WINDOW_MAX_NS;
	int n;

	for (n = 0; n < 100 && w > 0; n++) {
		w = adaptive_window_next(w, ADAPTIVE_VAIN, 0);
	}
	CU_ASSERT_EQUAL(w, 0);
	/* Geometric, then by steps: a few dozen sleeps, not hundreds. */
	CU_ASSERT(n < 40);
}

static void
late_wake_grows_window_over_the_gap_with_margin(void)
{
	/* 40 us + a quarter + one step. */
	CU_ASSERT_EQUAL(adaptive_window_next(10 * US, ADAPTIVE_LATE, 40 * US), 51 * US);
	CU_ASSERT_EQUAL(adaptive_window_next(0, ADAPTIVE_LATE, 4 * US), 6 * US);
}

static void
late_wake_never_shrinks_window(void)
{
	CU_ASSERT_EQUAL(adaptive_window_next(100 * US, ADAPTIVE_LATE, 20 * US), 100 * US);
}

static void
late_wake_is_capped_at_max(void)
{
	CU_ASSERT_EQUAL(adaptive_window_next(10 * US, ADAPTIVE_LATE, 190 * US),
			ADAPTIVE_WINDOW_MAX_NS);
	CU_ASSERT_EQUAL(adaptive_window_next(10 * US, ADAPTIVE_LATE, ADAPTIVE_WINDOW_MAX_NS),
			ADAPTIVE_WINDOW_MAX_NS);
}

static void
wake_after_a_long_pause_leaves_window_alone(void)
{
	CU_ASSERT_EQUAL(adaptive_window_next(10 * US, ADAPTIVE_LATE, ADAPTIVE_WINDOW_MAX_NS + 1),
			10 * US);
	CU_ASSERT_EQUAL(adaptive_window_next(10 * US, ADAPTIVE_LATE, 5ull * 1000 * 1000 * 1000),
			10 * US);
}

static void
hit_leaves_window_alone(void)
{
	CU_ASSERT_EQUAL(adaptive_window_next(33 * US, ADAPTIVE_HIT, 20 * US), 33 * US);
}

static void
window_above_max_is_clamped(void)
{
	CU_ASSERT_EQUAL(adaptive_window_next(UINT64_MAX, ADAPTIVE_HIT, 0), ADAPTIVE_WINDOW_MAX_NS);
	CU_ASSERT_EQUAL(adaptive_window_next(UINT64_MAX, ADAPTIVE_LATE, 1), ADAPTIVE_WINDOW_MAX_NS);
}

/*
 * Requests every period_ns, the reactor idle in between: count how many of the first rounds it
 * missed (slept) and the window it settles on.
 */
static uint64_t
simulate_periodic(uint64_t window, uint64_t period_ns, int rounds, int *misses)
{
	int i;

	*misses = 0;
	for (i = 0; i < rounds; i++) {
		if (window >= period_ns) {
			window = adaptive_window_next(window, ADAPTIVE_HIT, period_ns);
			continue;
		}
		(*misses)++;
		window = adaptive_window_next(window, ADAPTIVE_VAIN, 0);
		window = adaptive_window_next(window, ADAPTIVE_LATE, period_ns);
	}
	return window;
}

static void
periodic_requests_within_max_are_caught_after_one_miss(void)
{
	int misses;
	uint64_t w = simulate_periodic(0, 30 * US, 1000, &misses);

	CU_ASSERT(w >= 30 * US);
	CU_ASSERT(w <= ADAPTIVE_WINDOW_MAX_NS);
	CU_ASSERT_EQUAL(misses, 1);
	w = simulate_periodic(5 * US, 150 * US, 1000, &misses);
	CU_ASSERT(w >= 150 * US);
	CU_ASSERT_EQUAL(misses, 1);
}

static void
periodic_requests_beyond_max_never_keep_reactor_polling(void)
{
	int misses;
	uint64_t w = simulate_periodic(ADAPTIVE_WINDOW_INIT_NS, 1000 * US, 100, &misses);

	/* Each request comes after a sleep: polling for them would be in vain. */
	CU_ASSERT_EQUAL(w, 0);
	CU_ASSERT_EQUAL(misses, 100);
}

/* ---- mode names -------------------------------------------------------------------------- */

static void
poll_mode_names_parse_both_ways(void)
{
	enum vt_poll_mode m = VT_POLL_MODE_POLL;

	CU_ASSERT_EQUAL(vt_poll_mode_parse("adaptive", &m), 0);
	CU_ASSERT_EQUAL(m, VT_POLL_MODE_ADAPTIVE);
	CU_ASSERT_STRING_EQUAL(vt_poll_mode_name(m), "adaptive");
	CU_ASSERT_EQUAL(vt_poll_mode_parse("interrupt", &m), 0);
	CU_ASSERT_EQUAL(m, VT_POLL_MODE_INTERRUPT);
	CU_ASSERT_EQUAL(vt_poll_mode_parse("poll", &m), 0);
	CU_ASSERT_EQUAL(m, VT_POLL_MODE_POLL);
	CU_ASSERT_STRING_EQUAL(vt_poll_mode_name(m), "poll");
	CU_ASSERT_EQUAL(vt_poll_mode_parse("Adaptive", &m), -EINVAL);
	CU_ASSERT_EQUAL(vt_poll_mode_parse("", &m), -EINVAL);
	CU_ASSERT_EQUAL(vt_poll_mode_parse(NULL, &m), -EINVAL);
	CU_ASSERT_EQUAL(m, VT_POLL_MODE_POLL);
}

/* ---- an adaptive reactor ----------------------------------------------------------------- */

struct probe {
	int rc;      /* what the poller returns */
	bool arming; /* vt_reactor_arming() seen by its last run */
	int runs;
};

static int
probe_poll(void *arg)
{
	struct probe *p = arg;

	p->arming = vt_reactor_arming();
	p->runs++;
	return p->rc;
}

static void
arming_follows_the_mode(void)
{
	struct probe p = { .rc = VT_POLLER_IDLE };

	CU_ASSERT_EQUAL_FATAL(ut_reactor_init_one_mode(VT_POLL_MODE_POLL), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(vt_poller_register(probe_poll, &p, 0, "probe"));
	ut_poll(3);
	/* Nothing in poll mode arms, but nothing is held back either. */
	CU_ASSERT_TRUE(p.arming);
	CU_ASSERT_FALSE(vt_reactors_interrupt_mode());
	vt_reactors_fini();

	CU_ASSERT_EQUAL_FATAL(ut_reactor_init_one_mode(VT_POLL_MODE_INTERRUPT), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(vt_poller_register(probe_poll, &p, 0, "probe"));
	p.rc = VT_POLLER_BUSY;
	ut_poll(2);
	CU_ASSERT_TRUE(p.arming);
	CU_ASSERT_EQUAL(vt_reactors_poll_mode(), VT_POLL_MODE_INTERRUPT);
	vt_reactors_fini();
}

static void
adaptive_reactor_arms_only_after_its_window(void)
{
	struct probe p = { .rc = VT_POLLER_BUSY };
	struct vt_reactor_stats st;
	struct reactor *r;

	CU_ASSERT_EQUAL_FATAL(ut_reactor_init_one_mode(VT_POLL_MODE_ADAPTIVE), 0);
	CU_ASSERT_TRUE(vt_reactors_interrupt_mode());
	CU_ASSERT_EQUAL(vt_reactors_poll_mode(), VT_POLL_MODE_ADAPTIVE);
	r = reactor_get_current();
	CU_ASSERT_EQUAL(r->window_ns, ADAPTIVE_WINDOW_INIT_NS);
	CU_ASSERT_EQUAL(vt_reactor_get_stats(0, &st), 0);
	CU_ASSERT_EQUAL(st.poll_mode, VT_POLL_MODE_ADAPTIVE);
	CU_ASSERT_EQUAL(st.window_ns, ADAPTIVE_WINDOW_INIT_NS);
	CU_ASSERT_TRUE(st.in_interrupt);
	CU_ASSERT_PTR_NOT_NULL_FATAL(vt_poller_register(probe_poll, &p, 0, "probe"));
	ut_poll(2);
	CU_ASSERT_FALSE(p.arming);
	CU_ASSERT_FALSE(vt_reactor_arming());

	/* A window no test outlasts: idle iterations within it keep polling. */
	r->window_ns = 3600ull * VT_TICKS_HZ;
	p.rc = VT_POLLER_IDLE;
	ut_poll(5);
	CU_ASSERT_FALSE(p.arming);
	CU_ASSERT_FALSE(vt_reactor_arming());

	/* Past the window: the next iteration arms, and its pollers see it. */
	r->window_ns = 0;
	vt_reactor_poll_once();
	CU_ASSERT_FALSE(p.arming);
	CU_ASSERT_TRUE(vt_reactor_arming());
	vt_reactor_poll_once();
	CU_ASSERT_TRUE(p.arming);

	/* Work disarms at once. */
	p.rc = VT_POLLER_BUSY;
	vt_reactor_poll_once();
	CU_ASSERT_TRUE(p.arming);
	CU_ASSERT_FALSE(vt_reactor_arming());
	vt_reactor_poll_once();
	CU_ASSERT_FALSE(p.arming);
	vt_reactors_fini();
}

static int
timed_stop(void *arg)
{
	int *runs = arg;

	(*runs)++;
	vt_reactors_stop();
	return VT_POLLER_BUSY;
}

static void
adaptive_reactor_sleeps_until_timed_poller(void)
{
	uint64_t start, wall, cpu;
	int runs = 0;

	CU_ASSERT_EQUAL_FATAL(ut_reactor_init_one_mode(VT_POLL_MODE_ADAPTIVE), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(vt_poller_register(timed_stop, &runs, 100000, "stop"));
	start = vt_get_ticks();
	cpu = ut_thread_cpu_ns();
	vt_reactors_start();
	cpu = ut_thread_cpu_ns() - cpu;
	wall = vt_get_ticks() - start;
	CU_ASSERT_EQUAL(runs, 1);
	CU_ASSERT(wall >= 100 * 1000000ULL);
	/* Polling would burn the 100 ms; a window of at most 200 us and a sleep cost little. */
	CU_ASSERT(cpu < 30 * 1000000ULL);
	vt_reactors_fini();
}

static void
stop_msg(void *arg)
{
	bool *ran = arg;

	*ran = true;
	vt_reactors_stop();
}

struct later {
	struct reactor *r;
	bool ran;
};

static void *
send_later(void *arg)
{
	struct later *l = arg;
	uint64_t deadline = vt_get_ticks() + 10 * VT_TICKS_HZ;

	/* Polls until the reactor sleeps, then lets it sleep for 20 ms before the message. */
	while (!atomic_load(&l->r->sleeping) && vt_get_ticks() < deadline) {
		usleep(100);
	}
	CU_ASSERT_TRUE(atomic_load(&l->r->sleeping));
	usleep(20000);
	CU_ASSERT_EQUAL(vt_send_msg(0, stop_msg, &l->ran), 0);
	return NULL;
}

static void
message_wakes_sleeping_adaptive_reactor(void)
{
	struct later l = {};
	pthread_t th;
	uint64_t cpu;

	CU_ASSERT_EQUAL_FATAL(ut_reactor_init_one_mode(VT_POLL_MODE_ADAPTIVE), 0);
	l.r = reactor_get_current();
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, send_later, &l), 0);
	cpu = ut_thread_cpu_ns();
	vt_reactors_start();
	cpu = ut_thread_cpu_ns() - cpu;
	pthread_join(th, NULL);
	CU_ASSERT_TRUE(l.ran);
	/* It slept through the 20 ms rather than polling. */
	CU_ASSERT(cpu < 15 * 1000000ULL);
	vt_reactors_fini();
}

int
main(void)
{
	CU_pSuite suite;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("adaptive_window", NULL, NULL);
	CU_ADD_TEST(suite, vain_window_shrinks_by_an_eighth);
	CU_ADD_TEST(suite, vain_window_shrinks_by_at_least_a_step_down_to_zero);
	CU_ADD_TEST(suite, repeated_vain_windows_reach_zero);
	CU_ADD_TEST(suite, late_wake_grows_window_over_the_gap_with_margin);
	CU_ADD_TEST(suite, late_wake_never_shrinks_window);
	CU_ADD_TEST(suite, late_wake_is_capped_at_max);
	CU_ADD_TEST(suite, wake_after_a_long_pause_leaves_window_alone);
	CU_ADD_TEST(suite, hit_leaves_window_alone);
	CU_ADD_TEST(suite, window_above_max_is_clamped);
	CU_ADD_TEST(suite, periodic_requests_within_max_are_caught_after_one_miss);
	CU_ADD_TEST(suite, periodic_requests_beyond_max_never_keep_reactor_polling);
	CU_ADD_TEST(suite, poll_mode_names_parse_both_ways);
	suite = CU_add_suite("adaptive_reactor", NULL, NULL);
	CU_ADD_TEST(suite, arming_follows_the_mode);
	CU_ADD_TEST(suite, adaptive_reactor_arms_only_after_its_window);
	CU_ADD_TEST(suite, adaptive_reactor_sleeps_until_timed_poller);
	CU_ADD_TEST(suite, message_wakes_sleeping_adaptive_reactor);

	return ut_run_tests();
}
