/* SPDX-License-Identifier: BSD-3-Clause */
#include <CUnit/Basic.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/event/poller.c"
#include "test/unit/common/ut_main.h"
#include "test/unit/common/ut_reactor.h"

static void
setup_reactor(bool interrupt_mode)
{
	CU_ASSERT_EQUAL_FATAL(ut_reactor_init_one(interrupt_mode), 0);
}

struct counter {
	int runs;
	int rc;                   /* what the poller returns */
	struct vt_poller *self;   /* unregistered by the callback when unregister_self */
	struct vt_poller **other; /* unregistered by the callback when set */
	bool unregister_self;
	uint64_t last_run;
	uint64_t min_gap; /* shortest time between two runs */
};

static int
count_poll(void *arg)
{
	struct counter *c = arg;
	uint64_t now = vt_get_ticks();

	if (c->runs > 0 && now - c->last_run < c->min_gap) {
		c->min_gap = now - c->last_run;
	}
	c->last_run = now;
	c->runs++;
	if (c->unregister_self) {
		vt_poller_unregister(&c->self);
	}
	if (c->other != NULL) {
		vt_poller_unregister(c->other);
	}
	return c->rc;
}

static void
poller_period0_runs_every_iteration(void)
{
	struct counter c = { .rc = VT_POLLER_BUSY };
	struct vt_poller *p;
	int i;

	setup_reactor(false);
	p = vt_poller_register(count_poll, &c, 0, "every");
	CU_ASSERT_FATAL(p != NULL);
	for (i = 0; i < 10; i++) {
		CU_ASSERT_EQUAL(vt_reactor_poll_once(), VT_POLLER_BUSY);
	}
	CU_ASSERT_EQUAL(c.runs, 10);
	vt_poller_unregister(&p);
	CU_ASSERT_PTR_NULL(p);
	vt_reactor_poll_once();
	CU_ASSERT_EQUAL(c.runs, 10);
	vt_reactors_fini();
}

static void
poller_idle_result_makes_iteration_idle(void)
{
	struct counter c = { .rc = VT_POLLER_IDLE };
	struct vt_poller *p;

	setup_reactor(false);
	p = vt_poller_register(count_poll, &c, 0, "idle");
	CU_ASSERT_EQUAL(vt_reactor_poll_once(), VT_POLLER_IDLE);
	c.rc = VT_POLLER_BUSY;
	CU_ASSERT_EQUAL(vt_reactor_poll_once(), VT_POLLER_BUSY);
	CU_ASSERT_EQUAL(c.runs, 2);
	vt_poller_unregister(&p);
	vt_reactors_fini();
}

static void
timed_poller_respects_period(void)
{
	struct counter c = { .rc = VT_POLLER_BUSY, .min_gap = UINT64_MAX };
	const uint64_t period_us = 20000;
	struct vt_poller *p;
	uint64_t start;

	setup_reactor(false);
	start = vt_get_ticks();
	p = vt_poller_register(count_poll, &c, period_us, "timed");
	CU_ASSERT_FATAL(p != NULL);
	vt_reactor_poll_once();
	CU_ASSERT_EQUAL(c.runs, 0);
	while (vt_get_ticks() - start < 110 * 1000000ULL) {
		vt_reactor_poll_once();
		usleep(500);
	}
	/* At most 110 / 20 runs; at least a few even on a loaded machine. */
	CU_ASSERT(c.runs >= 2 && c.runs <= 5);
	CU_ASSERT(c.min_gap >= period_us * 1000);
	vt_poller_unregister(&p);
	vt_reactors_fini();
}

static void
timed_pollers_run_in_expiry_order(void)
{
	struct vt_poller *a, *b, *c;
	struct reactor *r;

	setup_reactor(false);
	r = reactor_get_current();
	a = vt_poller_register(count_poll, NULL, 30000, "a");
	b = vt_poller_register(count_poll, NULL, 10000, "b");
	c = vt_poller_register(count_poll, NULL, 20000, "c");
	CU_ASSERT_PTR_EQUAL(TAILQ_FIRST(&r->timed), b);
	CU_ASSERT_PTR_EQUAL(TAILQ_NEXT(b, link), c);
	CU_ASSERT_PTR_EQUAL(TAILQ_NEXT(c, link), a);
	CU_ASSERT(poller_next_timeout(r, vt_get_ticks()) <= 10000 * 1000ULL);
	vt_poller_unregister(&b);
	CU_ASSERT_PTR_EQUAL(TAILQ_FIRST(&r->timed), c);
	vt_poller_unregister(&a);
	vt_poller_unregister(&c);
	CU_ASSERT_EQUAL(poller_next_timeout(r, vt_get_ticks()), UINT64_MAX);
	vt_reactors_fini();
}

static void
poller_unregister_inside_own_callback(void)
{
	struct counter c = { .rc = VT_POLLER_BUSY, .unregister_self = true };

	setup_reactor(false);
	c.self = vt_poller_register(count_poll, &c, 0, "self");
	CU_ASSERT_FATAL(c.self != NULL);
	vt_reactor_poll_once();
	CU_ASSERT_EQUAL(c.runs, 1);
	CU_ASSERT_PTR_NULL(c.self);
	vt_reactor_poll_once();
	CU_ASSERT_EQUAL(c.runs, 1);
	CU_ASSERT_TRUE(TAILQ_EMPTY(&reactor_get_current()->active));
	vt_reactors_fini();
}

static void
timed_poller_unregister_inside_own_callback(void)
{
	struct counter c = { .rc = VT_POLLER_BUSY, .unregister_self = true };
	struct reactor *r;
	uint64_t start;

	setup_reactor(false);
	r = reactor_get_current();
	c.self = vt_poller_register(count_poll, &c, 1000, "self_timed");
	start = vt_get_ticks();
	while (c.runs == 0 && vt_get_ticks() - start < VT_TICKS_HZ) {
		vt_reactor_poll_once();
	}
	CU_ASSERT_EQUAL(c.runs, 1);
	CU_ASSERT_PTR_NULL(c.self);
	CU_ASSERT_TRUE(TAILQ_EMPTY(&r->timed));
	CU_ASSERT_TRUE(TAILQ_EMPTY(&r->dead));
	usleep(3000);
	vt_reactor_poll_once();
	CU_ASSERT_EQUAL(c.runs, 1);
	vt_reactors_fini();
}

static void
poller_unregister_later_poller_from_callback(void)
{
	struct counter first = { .rc = VT_POLLER_BUSY };
	struct counter second = { .rc = VT_POLLER_BUSY };
	struct vt_poller *p1, *p2;

	setup_reactor(false);
	p1 = vt_poller_register(count_poll, &first, 0, "first");
	p2 = vt_poller_register(count_poll, &second, 0, "second");
	first.other = &p2;
	vt_reactor_poll_once();
	CU_ASSERT_EQUAL(first.runs, 1);
	CU_ASSERT_EQUAL(second.runs, 0);
	CU_ASSERT_PTR_NULL(p2);
	vt_reactor_poll_once();
	CU_ASSERT_EQUAL(first.runs, 2);
	CU_ASSERT_EQUAL(second.runs, 0);
	vt_poller_unregister(&p1);
	vt_reactors_fini();
}

static struct vt_poller *g_new_poller;
static struct counter g_new_counter;

static int
register_another(void *arg)
{
	if (g_new_poller == NULL) {
		g_new_poller = vt_poller_register(count_poll, &g_new_counter, 0, "new");
	}
	return VT_POLLER_BUSY;
}

static void
poller_registered_during_iteration_runs_from_next(void)
{
	struct vt_poller *p;

	memset(&g_new_counter, 0, sizeof(g_new_counter));
	g_new_poller = NULL;
	setup_reactor(false);
	p = vt_poller_register(register_another, NULL, 0, "registrar");
	vt_reactor_poll_once();
	CU_ASSERT_PTR_NOT_NULL(g_new_poller);
	CU_ASSERT_EQUAL(g_new_counter.runs, 0);
	vt_reactor_poll_once();
	CU_ASSERT_EQUAL(g_new_counter.runs, 1);
	vt_poller_unregister(&p);
	vt_poller_unregister(&g_new_poller);
	vt_reactors_fini();
}

struct fd_ctx {
	int fd;
	int calls;
	uint32_t events;
	struct vt_poller *self;
	bool unregister_self;
};

static int
fd_poll(void *arg, uint32_t events)
{
	struct fd_ctx *f = arg;
	uint64_t v;

	f->calls++;
	f->events = events;
	if (events & EPOLLIN) {
		if (read(f->fd, &v, sizeof(v)) != sizeof(v)) {
			f->calls += 1000;
		}
	}
	if (f->unregister_self) {
		vt_poller_unregister(&f->self);
	}
	return VT_POLLER_BUSY;
}

/* Polls until f has been called, within a second. */
static void
poll_until_called(struct fd_ctx *f, int calls)
{
	uint64_t start = vt_get_ticks();

	while (f->calls < calls && vt_get_ticks() - start < VT_TICKS_HZ) {
		vt_reactor_poll_once();
	}
}

/* A few iterations spread over about a millisecond. */
static void
poll_a_bit(void)
{
	int i;

	for (i = 0; i < 4; i++) {
		vt_reactor_poll_once();
		usleep(250);
	}
}

static void
fd_poller_fires_on_eventfd_write(void)
{
	struct fd_ctx f = {};
	uint64_t one = 1;

	setup_reactor(false);
	f.fd = eventfd(0, EFD_NONBLOCK);
	f.self = vt_fd_poller_register(f.fd, EPOLLIN, fd_poll, &f, "efd");
	CU_ASSERT_FATAL(f.self != NULL);
	poll_a_bit();
	CU_ASSERT_EQUAL(f.calls, 0);
	CU_ASSERT_EQUAL(write(f.fd, &one, sizeof(one)), (ssize_t)sizeof(one));
	poll_until_called(&f, 1);
	CU_ASSERT_EQUAL(f.calls, 1);
	CU_ASSERT(f.events & EPOLLIN);
	vt_poller_unregister(&f.self);
	CU_ASSERT_EQUAL(reactor_get_current()->num_fd_pollers, 0);
	CU_ASSERT_EQUAL(write(f.fd, &one, sizeof(one)), (ssize_t)sizeof(one));
	poll_a_bit();
	CU_ASSERT_EQUAL(f.calls, 1);
	vt_reactors_fini();
	close(f.fd);
}

static void
fd_poller_fires_in_interrupt_mode_poll_once(void)
{
	struct fd_ctx f = {};
	uint64_t one = 1;

	setup_reactor(true);
	f.fd = eventfd(0, EFD_NONBLOCK);
	f.self = vt_fd_poller_register(f.fd, EPOLLIN, fd_poll, &f, "efd");
	CU_ASSERT_EQUAL(write(f.fd, &one, sizeof(one)), (ssize_t)sizeof(one));
	poll_until_called(&f, 1);
	CU_ASSERT_EQUAL(f.calls, 1);
	vt_poller_unregister(&f.self);
	vt_reactors_fini();
	close(f.fd);
}

static void
fd_poller_modify_changes_events(void)
{
	struct fd_ctx f = {};

	setup_reactor(false);
	f.fd = eventfd(0, EFD_NONBLOCK);
	f.self = vt_fd_poller_register(f.fd, EPOLLIN, fd_poll, &f, "efd");
	poll_a_bit();
	CU_ASSERT_EQUAL(f.calls, 0);
	/* An eventfd is always writable. */
	CU_ASSERT_EQUAL(vt_fd_poller_modify(f.self, EPOLLOUT), 0);
	poll_until_called(&f, 1);
	CU_ASSERT(f.calls >= 1);
	CU_ASSERT(f.events & EPOLLOUT);
	vt_poller_unregister(&f.self);
	vt_reactors_fini();
	close(f.fd);
}

static void
fd_poller_unregister_inside_own_callback(void)
{
	struct fd_ctx f = { .unregister_self = true };
	uint64_t one = 1;

	setup_reactor(false);
	f.fd = eventfd(0, EFD_NONBLOCK);
	f.self = vt_fd_poller_register(f.fd, EPOLLOUT, fd_poll, &f, "efd");
	poll_until_called(&f, 1);
	CU_ASSERT_EQUAL(f.calls, 1);
	CU_ASSERT_PTR_NULL(f.self);
	CU_ASSERT_EQUAL(write(f.fd, &one, sizeof(one)), (ssize_t)sizeof(one));
	poll_a_bit();
	CU_ASSERT_EQUAL(f.calls, 1);
	CU_ASSERT_TRUE(TAILQ_EMPTY(&reactor_get_current()->fds));
	vt_reactors_fini();
	close(f.fd);
}

static void
fd_poller_register_rejects_bad_fd(void)
{
	setup_reactor(false);
	CU_ASSERT_PTR_NULL(vt_fd_poller_register(-1, EPOLLIN, fd_poll, NULL, "bad"));
	CU_ASSERT_EQUAL(vt_fd_poller_modify(NULL, EPOLLIN), -EINVAL);
	vt_reactors_fini();
}

static void *
register_off_reactor(void *arg)
{
	return vt_poller_register(count_poll, NULL, 0, "off");
}

static void
poller_register_off_reactor_returns_null(void)
{
	pthread_t th;
	void *ret = (void *)1;

	setup_reactor(false);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, register_off_reactor, NULL), 0);
	pthread_join(th, &ret);
	CU_ASSERT_PTR_NULL(ret);
	vt_reactors_fini();
}

static int g_stop_runs;

static int
stop_poll(void *arg)
{
	g_stop_runs++;
	vt_reactors_stop();
	return VT_POLLER_BUSY;
}

static void
interrupt_mode_reactor_sleeps_until_timed_poller(void)
{
	struct timespec c0, c1;
	uint64_t start, wall, cpu;

	g_stop_runs = 0;
	setup_reactor(true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(vt_poller_register(stop_poll, NULL, 100000, "stop"));
	start = vt_get_ticks();
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	vt_reactors_start();
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	wall = vt_get_ticks() - start;
	cpu = (uint64_t)(c1.tv_sec - c0.tv_sec) * VT_TICKS_HZ + (uint64_t)c1.tv_nsec -
	      (uint64_t)c0.tv_nsec;
	CU_ASSERT_EQUAL(g_stop_runs, 1);
	CU_ASSERT(wall >= 100 * 1000000ULL);
	CU_ASSERT(wall < 5 * VT_TICKS_HZ);
	/* Polling would burn the 100 ms; sleeping in epoll costs next to nothing. */
	CU_ASSERT(cpu < 30 * 1000000ULL);
	vt_reactors_fini();
}

static void
fini_frees_registered_pollers(void)
{
	struct counter c = {};
	struct reactor *r;
	int fd;

	setup_reactor(false);
	r = reactor_get_current();
	fd = eventfd(0, EFD_NONBLOCK);
	CU_ASSERT_PTR_NOT_NULL(vt_poller_register(count_poll, &c, 0, "left0"));
	CU_ASSERT_PTR_NOT_NULL(vt_poller_register(count_poll, &c, 1000000, "left1"));
	CU_ASSERT_PTR_NOT_NULL(vt_fd_poller_register(fd, EPOLLIN, fd_poll, NULL, "left2"));
	poller_free_all(r);
	CU_ASSERT_TRUE(TAILQ_EMPTY(&r->active));
	CU_ASSERT_TRUE(TAILQ_EMPTY(&r->timed));
	CU_ASSERT_TRUE(TAILQ_EMPTY(&r->fds));
	/* And through vt_reactors_fini (ASan's leak check sees the rest). */
	CU_ASSERT_PTR_NOT_NULL(vt_poller_register(count_poll, &c, 0, "left3"));
	vt_reactors_fini();
	close(fd);
}

int
main(void)
{
	CU_pSuite suite;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("poller", NULL, NULL);
	CU_ADD_TEST(suite, poller_period0_runs_every_iteration);
	CU_ADD_TEST(suite, poller_idle_result_makes_iteration_idle);
	CU_ADD_TEST(suite, timed_poller_respects_period);
	CU_ADD_TEST(suite, timed_pollers_run_in_expiry_order);
	CU_ADD_TEST(suite, poller_unregister_inside_own_callback);
	CU_ADD_TEST(suite, timed_poller_unregister_inside_own_callback);
	CU_ADD_TEST(suite, poller_unregister_later_poller_from_callback);
	CU_ADD_TEST(suite, poller_registered_during_iteration_runs_from_next);
	CU_ADD_TEST(suite, fd_poller_fires_on_eventfd_write);
	CU_ADD_TEST(suite, fd_poller_fires_in_interrupt_mode_poll_once);
	CU_ADD_TEST(suite, fd_poller_modify_changes_events);
	CU_ADD_TEST(suite, fd_poller_unregister_inside_own_callback);
	CU_ADD_TEST(suite, fd_poller_register_rejects_bad_fd);
	CU_ADD_TEST(suite, poller_register_off_reactor_returns_null);
	CU_ADD_TEST(suite, interrupt_mode_reactor_sleeps_until_timed_poller);
	CU_ADD_TEST(suite, fini_frees_registered_pollers);

	return ut_run_tests();
}
