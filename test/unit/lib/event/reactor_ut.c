/* SPDX-License-Identifier: BSD-3-Clause */
#include <CUnit/Basic.h>
#include <dirent.h>
#include <sys/eventfd.h>
#include <sys/resource.h>

#include "lib/event/reactor.c"
#include "test/unit/common/ut_main.h"
#include "test/unit/common/ut_reactor.h"

/* ---- helpers ----------------------------------------------------------------------------- */

static uint32_t g_core0, g_core1;

/*
 * The cores for two reactors: the first two this process may run on, or one core twice when it
 * may run on only one (taskset -c N, a 1-core machine): the reactors then share it, and every
 * multi-reactor test still runs. Fails the test when no core can be found.
 */
static void
pick_two_cores(void)
{
	uint32_t cores[2] = { 0, 0 };
	int n = ut_allowed_cpus(cores, 2);

	CU_ASSERT_FATAL(n >= 1);
	g_core0 = cores[0];
	g_core1 = n >= 2 ? cores[1] : cores[0];
}

static int
init_two(bool interrupt_mode)
{
	uint32_t cores[2] = { g_core0, g_core1 };

	return reactors_init_on(cores, 2, interrupt_mode);
}

static bool g_watchdog_fired;

/* Ends a multi-reactor test that hangs. */
static int
watchdog(void *arg)
{
	g_watchdog_fired = true;
	vt_reactors_stop();
	return VT_POLLER_BUSY;
}

static void
arm_watchdog(uint64_t ms)
{
	g_watchdog_fired = false;
	CU_ASSERT_FATAL(vt_poller_register(watchdog, NULL, ms * 1000, "watchdog") != NULL);
}

static int
count_tasks(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/task");
	int n = 0;

	if (d == NULL) {
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.') {
			n++;
		}
	}
	closedir(d);
	return n;
}

static void
count_msg(void *arg)
{
	(*(int *)arg)++;
}

/* ---- creation ---------------------------------------------------------------------------- */

static void
reactors_init_makes_caller_reactor_0(void)
{
	CU_ASSERT_EQUAL(vt_reactor_current(), VT_REACTOR_NONE);
	CU_ASSERT_EQUAL_FATAL(ut_reactor_init_one(false), 0);
	CU_ASSERT_EQUAL(vt_reactor_current(), 0);
	CU_ASSERT_EQUAL(vt_reactor_count(), 1);
	CU_ASSERT_EQUAL(vt_reactor_for_core(vt_reactor_core(0)), 0);
	CU_ASSERT_EQUAL(vt_reactor_for_core(VT_CPUSET_MAX - 1), -ENOENT);
	CU_ASSERT_EQUAL(vt_reactor_core(1), VT_REACTOR_NONE);
	CU_ASSERT_EQUAL(vt_cpuset_count(vt_reactors_cpuset()), 1);
	CU_ASSERT_FALSE(vt_reactors_interrupt_mode());
	vt_reactors_fini();
	CU_ASSERT_EQUAL(vt_reactor_current(), VT_REACTOR_NONE);
	CU_ASSERT_EQUAL(vt_reactor_count(), 0);
}

static void
reactors_init_rejects_core_not_allowed(void)
{
	struct vt_cpuset set;

	vt_cpuset_zero(&set);
	vt_cpuset_set(&set, VT_CPUSET_MAX - 1);
	CU_ASSERT_EQUAL(vt_reactors_init(&set, false), -EINVAL);
	CU_ASSERT_EQUAL(vt_reactor_count(), 0);
	CU_ASSERT_EQUAL(vt_reactor_current(), VT_REACTOR_NONE);
}

static void
reactors_init_rejects_more_than_max_reactors(void)
{
	struct vt_cpuset set;
	uint32_t c;

	vt_cpuset_zero(&set);
	for (c = 0; c <= VT_MAX_REACTORS; c++) {
		vt_cpuset_set(&set, c);
	}
	CU_ASSERT_EQUAL(vt_reactors_init(&set, false), -EINVAL);
	CU_ASSERT_EQUAL(vt_reactor_count(), 0);
}

static void
reactors_init_twice_returns_ebusy(void)
{
	CU_ASSERT_EQUAL_FATAL(ut_reactor_init_one(false), 0);
	CU_ASSERT_EQUAL(ut_reactor_init_one(false), -EBUSY);
	vt_reactors_fini();
}

/* ---- messages and deferred calls (one reactor) ------------------------------------------- */

static void
msg_to_self_runs_on_next_poll_once(void)
{
	int count = 0;

	CU_ASSERT_EQUAL_FATAL(ut_reactor_init_one(false), 0);
	CU_ASSERT_EQUAL(vt_send_msg(0, count_msg, &count), 0);
	CU_ASSERT_EQUAL(count, 0);
	CU_ASSERT_EQUAL(vt_reactor_poll_once(), VT_POLLER_BUSY);
	CU_ASSERT_EQUAL(count, 1);
	CU_ASSERT_EQUAL(vt_reactor_poll_once(), VT_POLLER_IDLE);
	CU_ASSERT_EQUAL(count, 1);
	vt_reactors_fini();
}

static void
send_msg_rejects_bad_index(void)
{
	int count = 0;

	CU_ASSERT_EQUAL_FATAL(ut_reactor_init_one(false), 0);
	CU_ASSERT_EQUAL(vt_send_msg(1, count_msg, &count), -EINVAL);
	CU_ASSERT_EQUAL(vt_send_msg(VT_REACTOR_NONE, count_msg, &count), -EINVAL);
	vt_reactors_fini();
}

static void
send_msg_to_full_ring_returns_enomem(void)
{
	int count = 0, i;
	uint32_t sent = 0;

	CU_ASSERT_EQUAL_FATAL(ut_reactor_init_one(false), 0);
	while (vt_send_msg(0, count_msg, &count) == 0) {
		sent++;
	}
	CU_ASSERT_EQUAL(sent, MSG_RING_SIZE);
	CU_ASSERT_EQUAL(vt_send_msg(0, count_msg, &count), -ENOMEM);
	/* One iteration runs a bounded batch, which frees room again. */
	vt_reactor_poll_once();
	CU_ASSERT_EQUAL(count, MSG_BATCH);
	CU_ASSERT_EQUAL(vt_send_msg(0, count_msg, &count), 0);
	for (i = 0; i < (int)(MSG_RING_SIZE / MSG_BATCH) + 2; i++) {
		vt_reactor_poll_once();
	}
	CU_ASSERT_EQUAL(count, (int)MSG_RING_SIZE + 1);
	vt_reactors_fini();
}

static void
fifo_msg(void *arg)
{
	static uintptr_t expect;
	uintptr_t v = (uintptr_t)arg;

	if (v == 0) {
		expect = 0;
	}
	CU_ASSERT_EQUAL(v, expect);
	expect++;
}

static void
msgs_run_in_send_order(void)
{
	uintptr_t i;

	CU_ASSERT_EQUAL_FATAL(ut_reactor_init_one(false), 0);
	for (i = 0; i < 1000; i++) {
		CU_ASSERT_EQUAL(vt_send_msg(0, fifo_msg, (void *)i), 0);
	}
	for (i = 0; i < 1000 / MSG_BATCH + 1; i++) {
		vt_reactor_poll_once();
	}
	CU_ASSERT_TRUE(msg_ring_empty(&g_reactors[0]->ring));
	vt_reactors_fini();
}

static void
defer_runs_once_even_if_queued_twice(void)
{
	struct vt_defer d = {};
	int count = 0;

	CU_ASSERT_EQUAL_FATAL(ut_reactor_init_one(false), 0);
	vt_defer(&d, count_msg, &count);
	vt_defer(&d, count_msg, &count);
	CU_ASSERT_TRUE(d.queued);
	CU_ASSERT_EQUAL(count, 0);
	CU_ASSERT_EQUAL(vt_reactor_poll_once(), VT_POLLER_BUSY);
	CU_ASSERT_EQUAL(count, 1);
	CU_ASSERT_FALSE(d.queued);
	CU_ASSERT_EQUAL(vt_reactor_poll_once(), VT_POLLER_IDLE);
	CU_ASSERT_EQUAL(count, 1);
	vt_reactors_fini();
}

struct requeue {
	struct vt_defer d;
	int runs;
};

static void
requeue_self(void *arg)
{
	struct requeue *rq = arg;

	if (++rq->runs < 3) {
		vt_defer(&rq->d, requeue_self, rq);
	}
}

static void
defer_queued_from_deferred_call_runs_next_iteration(void)
{
	struct requeue rq = {};

	CU_ASSERT_EQUAL_FATAL(ut_reactor_init_one(false), 0);
	vt_defer(&rq.d, requeue_self, &rq);
	vt_reactor_poll_once();
	CU_ASSERT_EQUAL(rq.runs, 1);
	vt_reactor_poll_once();
	CU_ASSERT_EQUAL(rq.runs, 2);
	vt_reactor_poll_once();
	CU_ASSERT_EQUAL(rq.runs, 3);
	vt_reactor_poll_once();
	CU_ASSERT_EQUAL(rq.runs, 3);
	vt_reactors_fini();
}

static uint32_t g_visits[4];
static uint32_t g_num_visits;
static uint32_t g_done_on;
static int g_done_count;

static void
visit(void *arg)
{
	g_visits[g_num_visits++ % 4] = vt_reactor_current();
}

static void
visit_done(void *arg)
{
	g_done_on = vt_reactor_current();
	g_done_count++;
	if (arg != NULL) {
		vt_reactors_stop();
	}
}

static void
for_each_reactor_single_calls_fn_then_done(void)
{
	int i;

	g_num_visits = 0;
	g_done_count = 0;
	CU_ASSERT_EQUAL_FATAL(ut_reactor_init_one(false), 0);
	CU_ASSERT_EQUAL(vt_for_each_reactor(visit, NULL, visit_done), 0);
	for (i = 0; i < 4; i++) {
		vt_reactor_poll_once();
	}
	CU_ASSERT_EQUAL(g_num_visits, 1);
	CU_ASSERT_EQUAL(g_visits[0], 0);
	CU_ASSERT_EQUAL(g_done_count, 1);
	CU_ASSERT_EQUAL(g_done_on, 0);
	vt_reactors_fini();
}

static void
poll_once_does_not_block_in_interrupt_mode(void)
{
	uint64_t start;

	CU_ASSERT_EQUAL_FATAL(ut_reactor_init_one(true), 0);
	CU_ASSERT_TRUE(vt_reactors_interrupt_mode());
	start = vt_get_ticks();
	CU_ASSERT_EQUAL(vt_reactor_poll_once(), VT_POLLER_IDLE);
	CU_ASSERT(vt_get_ticks() - start < VT_TICKS_HZ / 2);
	vt_reactors_fini();
}

static void
get_ticks_is_monotonic_nanoseconds(void)
{
	uint64_t a, b;

	a = vt_get_ticks();
	usleep(2000);
	b = vt_get_ticks();
	CU_ASSERT(b - a >= 2000000);
	CU_ASSERT(b - a < VT_TICKS_HZ);
}

/* ---- two reactors ------------------------------------------------------------------------ */

#define PP_COUNT 100000
#define PP_WINDOW 256

static struct {
	uint64_t sent, recv0, recv1;
	bool in_order;
} g_pp;

static void
pp_on0(void *arg)
{
	if ((uintptr_t)arg != g_pp.recv0) {
		g_pp.in_order = false;
	}
	if (++g_pp.recv0 == PP_COUNT) {
		vt_reactors_stop();
	}
}

static void
pp_on1(void *arg)
{
	if ((uintptr_t)arg != g_pp.recv1) {
		g_pp.in_order = false;
	}
	g_pp.recv1++;
	if (vt_send_msg(0, pp_on0, arg) != 0) {
		g_pp.in_order = false;
	}
}

static int
pp_sender(void *arg)
{
	int busy = VT_POLLER_IDLE;

	while (g_pp.sent < PP_COUNT && g_pp.sent - g_pp.recv0 < PP_WINDOW) {
		if (vt_send_msg(1, pp_on1, (void *)(uintptr_t)g_pp.sent) != 0) {
			break;
		}
		g_pp.sent++;
		busy = VT_POLLER_BUSY;
	}
	return busy;
}

static void
two_reactors_ping_pong_messages_in_order(void)
{
	pick_two_cores();
	memset(&g_pp, 0, sizeof(g_pp));
	g_pp.in_order = true;
	CU_ASSERT_EQUAL_FATAL(init_two(false), 0);
	CU_ASSERT_EQUAL(vt_reactor_count(), 2);
	CU_ASSERT_FATAL(vt_poller_register(pp_sender, NULL, 0, "pp_sender") != NULL);
	arm_watchdog(60000);
	vt_reactors_start();
	CU_ASSERT_FALSE(g_watchdog_fired);
	CU_ASSERT_EQUAL(g_pp.recv1, PP_COUNT);
	CU_ASSERT_EQUAL(g_pp.recv0, PP_COUNT);
	CU_ASSERT_TRUE(g_pp.in_order);
	vt_reactors_fini();
}

#define PT_COUNT 100000

static uint64_t g_pt_recv;
static bool g_pt_in_order;

static void
pt_on1(void *arg)
{
	if ((uintptr_t)arg != g_pt_recv || vt_reactor_current() != 1) {
		g_pt_in_order = false;
	}
	if (++g_pt_recv == PT_COUNT) {
		vt_reactors_stop();
	}
}

static void *
pt_thread(void *arg)
{
	uintptr_t i;

	for (i = 0; i < PT_COUNT; i++) {
		while (vt_send_msg(1, pt_on1, (void *)i) == -ENOMEM) {
			sched_yield();
		}
		/* Let the reactor go to sleep now and then (interrupt mode). */
		if (arg != NULL && i % 16 == 0) {
			usleep(20);
		}
	}
	return NULL;
}

static void
run_plain_thread_messages(bool interrupt_mode, int count)
{
	pthread_t th;

	g_pt_recv = 0;
	g_pt_in_order = true;
	CU_ASSERT_EQUAL_FATAL(init_two(interrupt_mode), 0);
	arm_watchdog(60000);
	CU_ASSERT_EQUAL_FATAL(
		pthread_create(&th, NULL, pt_thread, interrupt_mode ? (void *)1 : NULL), 0);
	vt_reactors_start();
	pthread_join(th, NULL);
	CU_ASSERT_FALSE(g_watchdog_fired);
	CU_ASSERT_EQUAL(g_pt_recv, (uint64_t)count);
	CU_ASSERT_TRUE(g_pt_in_order);
	vt_reactors_fini();
}

static void
messages_from_plain_thread_arrive_in_order(void)
{
	pick_two_cores();
	run_plain_thread_messages(false, PT_COUNT);
}

static void
interrupt_mode_loses_no_wakeup_from_plain_thread(void)
{
	pick_two_cores();
	run_plain_thread_messages(true, PT_COUNT);
}

static void
stop_after_done(void *arg)
{
	vt_reactors_stop();
}

static int g_for_each_rc;

/* On reactor 1: done (non-NULL arg) stops the reactors. */
static void
start_for_each_stop(void *arg)
{
	g_for_each_rc = vt_for_each_reactor(visit, (void *)1, visit_done);
}

static void
for_each_reactor_visits_all_then_done_on_caller(void)
{
	pick_two_cores();
	g_num_visits = 0;
	g_done_count = 0;
	g_done_on = VT_REACTOR_NONE;
	g_for_each_rc = -1;
	CU_ASSERT_EQUAL_FATAL(init_two(false), 0);
	arm_watchdog(20000);
	CU_ASSERT_EQUAL(vt_send_msg(1, start_for_each_stop, NULL), 0);
	vt_reactors_start();
	CU_ASSERT_FALSE(g_watchdog_fired);
	CU_ASSERT_EQUAL(g_for_each_rc, 0);
	CU_ASSERT_EQUAL(g_num_visits, 2);
	CU_ASSERT_EQUAL(g_visits[0], 0);
	CU_ASSERT_EQUAL(g_visits[1], 1);
	CU_ASSERT_EQUAL(g_done_count, 1);
	CU_ASSERT_EQUAL(g_done_on, 1);
	vt_reactors_fini();
}

static struct {
	int cpu0, cpu1;
	char name1[16];
	uint32_t current1;
	int tasks_running;
} g_pin;

static void
pin_check_on1(void *arg)
{
	g_pin.cpu1 = sched_getcpu();
	g_pin.current1 = vt_reactor_current();
	pthread_getname_np(pthread_self(), g_pin.name1, sizeof(g_pin.name1));
	g_pin.tasks_running = count_tasks();
	vt_send_msg(0, stop_after_done, NULL);
}

static void
pin_check_on0(void *arg)
{
	g_pin.cpu0 = sched_getcpu();
	vt_send_msg(1, pin_check_on1, NULL);
}

static void
reactor_threads_are_pinned_named_and_joined(void)
{
	cpu_set_t before, after;
	int tasks;

	pick_two_cores();
	memset(&g_pin, 0, sizeof(g_pin));
	/* Sanitizers may run threads of their own. */
	tasks = count_tasks();
	CU_ASSERT_FATAL(tasks >= 1);
	pthread_getaffinity_np(pthread_self(), sizeof(before), &before);
	CU_ASSERT_EQUAL_FATAL(init_two(false), 0);
	arm_watchdog(20000);
	CU_ASSERT_EQUAL(vt_send_msg(0, pin_check_on0, NULL), 0);
	vt_reactors_start();
	CU_ASSERT_FALSE(g_watchdog_fired);
	CU_ASSERT_EQUAL(g_pin.cpu0, (int)g_core0);
	CU_ASSERT_EQUAL(g_pin.cpu1, (int)g_core1);
	CU_ASSERT_EQUAL(g_pin.current1, 1);
	CU_ASSERT_STRING_EQUAL(g_pin.name1, "reactor_1");
	CU_ASSERT_EQUAL(g_pin.tasks_running, tasks + 1);
	/* Joined: only the calling thread is left, with its affinity given back. */
	CU_ASSERT_EQUAL(count_tasks(), tasks);
	pthread_getaffinity_np(pthread_self(), sizeof(after), &after);
	CU_ASSERT_TRUE(CPU_EQUAL(&before, &after));
	vt_reactors_fini();
}

/* ---- interrupt mode ---------------------------------------------------------------------- */

#define IRQ_TIMER_MS 500

static struct {
	int efd;
	struct vt_poller *fd_poller;
	struct vt_poller *timer;
	uint64_t start_wall, start_cpu;
	uint64_t msg_sent, msg_seen;
	uint64_t fd_written, fd_seen;
	uint64_t timer_wall, timer_cpu;
	int fd_calls, timer_calls;
	uint32_t fd_events;
	ssize_t fd_read;
	bool registered;
} g_irq;

static int
irq_fd(void *arg, uint32_t events)
{
	uint64_t v;

	g_irq.fd_seen = vt_get_ticks();
	g_irq.fd_calls++;
	g_irq.fd_events = events;
	g_irq.fd_read = read(g_irq.efd, &v, sizeof(v));
	return VT_POLLER_BUSY;
}

static int
irq_timer(void *arg)
{
	g_irq.timer_wall = vt_get_ticks() - g_irq.start_wall;
	g_irq.timer_cpu = ut_thread_cpu_ns() - g_irq.start_cpu;
	g_irq.timer_calls++;
	vt_poller_unregister(&g_irq.timer);
	vt_poller_unregister(&g_irq.fd_poller);
	vt_send_msg(0, stop_after_done, NULL);
	return VT_POLLER_BUSY;
}

static void
irq_setup_on1(void *arg)
{
	g_irq.start_wall = vt_get_ticks();
	g_irq.start_cpu = ut_thread_cpu_ns();
	g_irq.fd_poller = vt_fd_poller_register(g_irq.efd, EPOLLIN, irq_fd, NULL, "irq_fd");
	g_irq.timer = vt_poller_register(irq_timer, NULL, IRQ_TIMER_MS * 1000, "irq_timer");
	g_irq.registered = g_irq.fd_poller != NULL && g_irq.timer != NULL;
}

static void
irq_msg_on1(void *arg)
{
	g_irq.msg_seen = vt_get_ticks();
}

static void *
irq_thread(void *arg)
{
	uint64_t one = 1;

	usleep(100 * 1000);
	g_irq.msg_sent = vt_get_ticks();
	vt_send_msg(1, irq_msg_on1, NULL);
	usleep(100 * 1000);
	g_irq.fd_written = vt_get_ticks();
	if (write(g_irq.efd, &one, sizeof(one)) != sizeof(one)) {
		g_irq.fd_written = 0;
	}
	return NULL;
}

static void
interrupt_mode_sleeps_and_wakes_for_msg_fd_and_timer(void)
{
	uint64_t cpu0;
	pthread_t th;

	pick_two_cores();
	memset(&g_irq, 0, sizeof(g_irq));
	g_irq.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	CU_ASSERT_FATAL(g_irq.efd >= 0);
	CU_ASSERT_EQUAL_FATAL(init_two(true), 0);
	CU_ASSERT_EQUAL(vt_send_msg(1, irq_setup_on1, NULL), 0);
	arm_watchdog(20000);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, irq_thread, NULL), 0);
	cpu0 = ut_thread_cpu_ns();
	vt_reactors_start();
	cpu0 = ut_thread_cpu_ns() - cpu0;
	pthread_join(th, NULL);

	CU_ASSERT_FALSE(g_watchdog_fired);
	CU_ASSERT_TRUE(g_irq.registered);
	/* Without a wake-up the message and the fd would wait for the timer (about 300 ms). */
	CU_ASSERT(g_irq.msg_seen >= g_irq.msg_sent);
	CU_ASSERT(g_irq.msg_seen - g_irq.msg_sent < 150 * 1000000ULL);
	CU_ASSERT_EQUAL(g_irq.fd_calls, 1);
	CU_ASSERT(g_irq.fd_events & EPOLLIN);
	CU_ASSERT_EQUAL(g_irq.fd_read, (ssize_t)sizeof(uint64_t));
	CU_ASSERT(g_irq.fd_written != 0 && g_irq.fd_seen >= g_irq.fd_written);
	CU_ASSERT(g_irq.fd_seen - g_irq.fd_written < 150 * 1000000ULL);
	CU_ASSERT_EQUAL(g_irq.timer_calls, 1);
	CU_ASSERT(g_irq.timer_wall >= IRQ_TIMER_MS * 1000000ULL);
	CU_ASSERT(g_irq.timer_wall < 5 * VT_TICKS_HZ);
	/* A polling reactor would burn the whole 500 ms; a sleeping one almost nothing. */
	CU_ASSERT(g_irq.timer_cpu < 50 * 1000000ULL);
	CU_ASSERT(cpu0 < 100 * 1000000ULL);
	printf("\n  reactor 1 cpu %.1f ms, reactor 0 cpu %.1f ms over %.0f ms; wake-up latency "
	       "msg %.3f ms fd %.3f ms\n",
	       g_irq.timer_cpu / 1e6, cpu0 / 1e6, g_irq.timer_wall / 1e6,
	       (g_irq.msg_seen - g_irq.msg_sent) / 1e6, (g_irq.fd_seen - g_irq.fd_written) / 1e6);
	vt_reactors_fini();
	close(g_irq.efd);
}

static void
stop_before_start_returns_at_once(void)
{
	int tasks = count_tasks();

	pick_two_cores();
	CU_ASSERT_EQUAL_FATAL(init_two(true), 0);
	vt_reactors_stop();
	vt_reactors_start();
	CU_ASSERT_EQUAL(count_tasks(), tasks);
	vt_reactors_fini();
}

int
main(void)
{
	CU_pSuite suite;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("reactor", NULL, NULL);
	CU_ADD_TEST(suite, reactors_init_makes_caller_reactor_0);
	CU_ADD_TEST(suite, reactors_init_rejects_core_not_allowed);
	CU_ADD_TEST(suite, reactors_init_rejects_more_than_max_reactors);
	CU_ADD_TEST(suite, reactors_init_twice_returns_ebusy);
	CU_ADD_TEST(suite, msg_to_self_runs_on_next_poll_once);
	CU_ADD_TEST(suite, send_msg_rejects_bad_index);
	CU_ADD_TEST(suite, send_msg_to_full_ring_returns_enomem);
	CU_ADD_TEST(suite, msgs_run_in_send_order);
	CU_ADD_TEST(suite, defer_runs_once_even_if_queued_twice);
	CU_ADD_TEST(suite, defer_queued_from_deferred_call_runs_next_iteration);
	CU_ADD_TEST(suite, for_each_reactor_single_calls_fn_then_done);
	CU_ADD_TEST(suite, poll_once_does_not_block_in_interrupt_mode);
	CU_ADD_TEST(suite, get_ticks_is_monotonic_nanoseconds);
	CU_ADD_TEST(suite, two_reactors_ping_pong_messages_in_order);
	CU_ADD_TEST(suite, messages_from_plain_thread_arrive_in_order);
	CU_ADD_TEST(suite, interrupt_mode_loses_no_wakeup_from_plain_thread);
	CU_ADD_TEST(suite, for_each_reactor_visits_all_then_done_on_caller);
	CU_ADD_TEST(suite, reactor_threads_are_pinned_named_and_joined);
	CU_ADD_TEST(suite, interrupt_mode_sleeps_and_wakes_for_msg_fd_and_timer);
	CU_ADD_TEST(suite, stop_before_start_returns_at_once);

	return ut_run_tests();
}
