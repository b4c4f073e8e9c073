/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reactors: one per core of the cpuset, each a loop of messages, deferred calls, pollers, timed
 * pollers and fd pollers. Reactor 0 runs on the thread that called vt_reactors_init(); the others
 * get a pinned thread in vt_reactors_start().
 *
 * Waking a sleeping reactor (interrupt mode) without a syscall on the sender's fast path: the
 * reactor stores sleeping = true, issues a seq_cst fence and looks at its ring once more before
 * epoll_wait; a sender publishes its message, issues a seq_cst fence and writes the eventfd only
 * if it sees sleeping. One of the two fences comes first, so either the reactor sees the message
 * or the sender sees the flag: no wake-up is lost.
 *
 * Adaptive mode is interrupt mode with a delay: a reactor sleeps only after an iteration in which
 * it armed its notifications (arming, which interrupt mode keeps always on), and it arms them
 * only once an idle iteration comes later than its polling window after the last work
 * (adaptive.c tunes the window).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "vt/event.h"
#include "vt/log.h"
#include "lib/event/event_internal.h"

VT_LOG_REGISTER_COMPONENT(event)

static struct reactor *g_reactors[VT_MAX_REACTORS];
static uint32_t g_num_reactors;
static struct vt_cpuset g_cpuset;
static bool g_interrupt_mode; /* reactors may sleep: interrupt or adaptive mode */
static enum vt_poll_mode g_poll_mode;
static bool g_initialized;
static __thread uint32_t t_current = VT_REACTOR_NONE;


uint64_t
reactor_us_to_ticks(uint64_t us)
{
	return us * (VT_TICKS_HZ / 1000000ULL);
}

struct reactor *
reactor_get_current(void)
{
	uint32_t idx = t_current;

	return idx < g_num_reactors ? g_reactors[idx] : NULL;
}

/* ---- creation and teardown --------------------------------------------------------------- */

/*
 * Reads /sys/devices/system/cpu/online ("0-3,6") into online. False when it cannot be read; the
 * affinity check still catches offline cores then, with a less precise message.
 */
static bool
read_online_cores(struct vt_cpuset *online)
{
	char buf[512], list[516];
	size_t len;
	FILE *f;

	f = fopen("/sys/devices/system/cpu/online", "r");
	if (f == NULL) {
		return false;
	}
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ')) {
		len--;
	}
	buf[len] = '\0';
	snprintf(list, sizeof(list), "[%s]", buf);
	return vt_cpuset_parse(online, list) == 0;
}

static int
check_cpuset(const struct vt_cpuset *cpus)
{
	uint32_t count = vt_cpuset_count(cpus);
	char mask[VT_CPUSET_MAX / 4 + 3];
	struct vt_cpuset online;
	bool have_online;
	cpu_set_t allowed;
	int core, rc;

	if (count == 0) {
		VT_ERRLOG("cannot create reactors: empty cpu mask\n");
		return -EINVAL;
	}
	if (count > VT_MAX_REACTORS) {
		VT_ERRLOG("cannot create reactors: cpu mask %s has %u cores, at most %d "
			  "supported\n",
			  vt_cpuset_fmt(cpus, mask, sizeof(mask)), count, VT_MAX_REACTORS);
		return -EINVAL;
	}
	CPU_ZERO(&allowed);
	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) {
		rc = -errno;
		VT_ERRLOG("cannot read the process's cpu affinity: %s\n", vt_strerror(-rc));
		return rc;
	}
	have_online = read_online_cores(&online);
	for (core = vt_cpuset_next(cpus, 0); core >= 0; core = vt_cpuset_next(cpus, core + 1)) {
		if (have_online && !vt_cpuset_isset(&online, (uint32_t)core)) {
			VT_ERRLOG("cannot create reactor on core %d: core is not online\n", core);
			return -EINVAL;
		}
		if (core >= CPU_SETSIZE || !CPU_ISSET(core, &allowed)) {
			VT_ERRLOG("cannot create reactor on core %d: core is not in the process's "
				  "allowed cpu set (see taskset / cgroup cpuset)\n",
				  core);
			return -EINVAL;
		}
	}
	return 0;
}

static void
reactor_free(struct reactor *r)
{
	uint64_t dropped = 0;
	vt_msg_fn fn;
	void *arg;

	if (r == NULL) {
		return;
	}
	if (r->ring.slots != NULL) {
		while (msg_ring_dequeue(&r->ring, &fn, &arg)) {
			dropped++;
		}
	}
	if (dropped > 0) {
		VT_WARNLOG("reactor %u freed with %" PRIu64 " messages that never ran\n", r->idx,
			   dropped);
	}
	poller_free_all(r);
	if (r->efd >= 0) {
		close(r->efd);
	}
	if (r->epfd >= 0) {
		close(r->epfd);
	}
	msg_ring_fini(&r->ring);
	free(r);
}

static struct reactor *
reactor_alloc(uint32_t idx, uint32_t core, enum vt_poll_mode mode)
{
	bool interrupt_mode = mode != VT_POLL_MODE_POLL;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	struct reactor *r;
	int rc;

	r = aligned_alloc(EVENT_CACHE_LINE, VT_ALIGN_UP(sizeof(*r), EVENT_CACHE_LINE));
	if (r == NULL) {
		VT_ERRLOG("cannot allocate reactor %u\n", idx);
		return NULL;
	}
	memset(r, 0, sizeof(*r));
	r->idx = idx;
	r->core = core;
	r->start_tsc = vt_get_ticks();
	r->epfd = -1;
	r->efd = -1;
	/* Only an adaptive reactor ever holds its notifications back. */
	r->arming = mode != VT_POLL_MODE_ADAPTIVE;
	r->window_ns = mode == VT_POLL_MODE_ADAPTIVE ? ADAPTIVE_WINDOW_INIT_NS : 0;
	TAILQ_INIT(&r->active);
	TAILQ_INIT(&r->pending);
	TAILQ_INIT(&r->timed);
	TAILQ_INIT(&r->fds);
	TAILQ_INIT(&r->dead);
	TAILQ_INIT(&r->defers);
	atomic_init(&r->sleeping, false);
	atomic_init(&r->notified, false);
	atomic_init(&r->stop, false);

	rc = msg_ring_init(&r->ring, MSG_RING_SIZE);
	if (rc != 0) {
		free(r);
		return NULL;
	}
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0) {
		VT_ERRLOG("cannot create epoll fd of reactor %u: %s\n", idx, vt_strerror(errno));
		goto err;
	}
	if (interrupt_mode) {
		r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (r->efd < 0) {
			VT_ERRLOG("cannot create eventfd of reactor %u: %s\n", idx,
				  vt_strerror(errno));
			goto err;
		}
		/* data.ptr NULL marks the message eventfd; pollers are never NULL. */
		if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->efd, &ev) != 0) {
			VT_ERRLOG("cannot add eventfd of reactor %u to epoll: %s\n", idx,
				  vt_strerror(errno));
			goto err;
		}
	}
	return r;
err:
	reactor_free(r);
	return NULL;
}

int
reactors_init_on(const uint32_t *cores, uint32_t n, bool interrupt_mode)
{
	return reactors_init_on_mode(cores, n,
				     interrupt_mode ? VT_POLL_MODE_INTERRUPT : VT_POLL_MODE_POLL);
}

int
reactors_init_on_mode(const uint32_t *cores, uint32_t n, enum vt_poll_mode mode)
{
	struct vt_cpuset set;
	uint32_t idx;
	int rc;

	if (g_initialized) {
		VT_ERRLOG("cannot create reactors: already created\n");
		return -EBUSY;
	}
	if (n == 0 || n > VT_MAX_REACTORS) {
		VT_ERRLOG("cannot create %u reactors: use 1 to %d\n", n, VT_MAX_REACTORS);
		return -EINVAL;
	}
	vt_cpuset_zero(&set);
	for (idx = 0; idx < n; idx++) {
		vt_cpuset_set(&set, cores[idx]);
	}
	rc = check_cpuset(&set);
	if (rc != 0) {
		return rc;
	}
	for (idx = 0; idx < n; idx++) {
		g_reactors[idx] = reactor_alloc(idx, cores[idx], mode);
		if (g_reactors[idx] == NULL) {
			rc = -ENOMEM;
			goto err;
		}
	}
	g_num_reactors = n;
	g_cpuset = set;
	g_interrupt_mode = mode != VT_POLL_MODE_POLL;
	g_poll_mode = mode;
	g_initialized = true;
	t_current = 0;
	return 0;
err:
	while (idx > 0) {
		idx--;
		reactor_free(g_reactors[idx]);
		g_reactors[idx] = NULL;
	}
	return rc;
}

int
vt_reactors_init(const struct vt_cpuset *cpus, bool interrupt_mode)
{
	return vt_reactors_init_mode(cpus,
				     interrupt_mode ? VT_POLL_MODE_INTERRUPT : VT_POLL_MODE_POLL);
}

int
vt_reactors_init_mode(const struct vt_cpuset *cpus, enum vt_poll_mode mode)
{
	uint32_t cores[VT_MAX_REACTORS], n = 0;
	int core, rc;

	/* Also bounds the number of cores to VT_MAX_REACTORS. */
	rc = check_cpuset(cpus);
	if (rc != 0) {
		return rc;
	}
	for (core = vt_cpuset_next(cpus, 0); core >= 0; core = vt_cpuset_next(cpus, core + 1)) {
		cores[n++] = (uint32_t)core;
	}
	return reactors_init_on_mode(cores, n, mode);
}

void
vt_reactors_fini(void)
{
	uint32_t i;

	for (i = 0; i < g_num_reactors; i++) {
		reactor_free(g_reactors[i]);
		g_reactors[i] = NULL;
	}
	g_num_reactors = 0;
	vt_cpuset_zero(&g_cpuset);
	g_interrupt_mode = false;
	g_poll_mode = VT_POLL_MODE_POLL;
	g_initialized = false;
	t_current = VT_REACTOR_NONE;
}

/* ---- the loop ---------------------------------------------------------------------------- */

static int
reactor_run_msgs(struct reactor *r)
{
	vt_msg_fn fn;
	void *arg;
	int n;

	for (n = 0; n < MSG_BATCH; n++) {
		if (!msg_ring_dequeue(&r->ring, &fn, &arg)) {
			break;
		}
		fn(arg);
	}
	return n > 0 ? VT_POLLER_BUSY : VT_POLLER_IDLE;
}

static int
reactor_run_defers(struct reactor *r)
{
	struct defer_list now;
	struct vt_defer *d;

	if (TAILQ_EMPTY(&r->defers)) {
		return VT_POLLER_IDLE;
	}
	/* Calls deferred while these run wait for the next iteration. */
	TAILQ_INIT(&now);
	TAILQ_CONCAT(&now, &r->defers, link);
	while ((d = TAILQ_FIRST(&now)) != NULL) {
		TAILQ_REMOVE(&now, d, link);
		d->queued = false;
		d->fn(d->arg);
	}
	return VT_POLLER_BUSY;
}

void
reactor_clear_wakeup(struct reactor *r)
{
	uint64_t val;

	/* Non-blocking; EAGAIN means another path drained it already. */
	if (read(r->efd, &val, sizeof(val)) < 0 && errno != EAGAIN) {
		VT_ERRLOG("cannot read eventfd of reactor %u: %s\n", r->idx, vt_strerror(errno));
	}
}

static int
reactor_epoll(struct reactor *r, const struct timespec *timeout)
{
	static atomic_bool no_pwait2;
	bool fallback = atomic_load_explicit(&no_pwait2, memory_order_relaxed);
	int n = -1;

	if (!fallback) {
		n = epoll_pwait2(r->epfd, r->events, REACTOR_MAX_EVENTS, timeout, NULL);
		if (n < 0 && errno == ENOSYS) {
			atomic_store_explicit(&no_pwait2, true, memory_order_relaxed);
			fallback = true;
		}
	}
	if (fallback) {
		/* Kernels before 5.11: millisecond timeouts, rounded up. */
		int ms = -1;

		if (timeout != NULL) {
			ms = (int)VT_MIN((uint64_t)timeout->tv_sec * 1000 +
						 ((uint64_t)timeout->tv_nsec + 999999) / 1000000,
					 (uint64_t)INT32_MAX);
		}
		n = epoll_wait(r->epfd, r->events, REACTOR_MAX_EVENTS, ms);
	}
	r->wake_tsc = vt_get_ticks();
	if (n < 0) {
		if (errno != EINTR) {
			VT_ERRLOG("epoll_wait failed on reactor %u: %s\n", r->idx,
				  vt_strerror(errno));
		}
		return VT_POLLER_IDLE;
	}
	return poller_dispatch_events(r, r->events, n);
}

/* Dispatches the fds that are ready, without waiting. */
static int
reactor_check_fds(struct reactor *r)
{
	static const struct timespec zero = { 0, 0 };

	return reactor_epoll(r, &zero);
}

/*
 * Interrupt mode, idle iteration: sleeps until a message, an fd event or the next timed poller
 * is due. With block false (vt_reactor_poll_once) it only checks the fds.
 */
static int
reactor_sleep(struct reactor *r, uint64_t now, bool block)
{
	uint64_t ns = block ? poller_next_timeout(r, now) : 0;
	struct timespec ts;
	int rc;

	if (ns == 0) {
		return reactor_check_fds(r);
	}
	/* A sender that sees sleeping (acquire) also sees notified cleared. */
	atomic_store_explicit(&r->notified, false, memory_order_relaxed);
	atomic_store_explicit(&r->sleeping, true, memory_order_release);
	atomic_thread_fence(memory_order_seq_cst);
	if (!msg_ring_empty(&r->ring) || atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		atomic_store_explicit(&r->sleeping, false, memory_order_relaxed);
		return VT_POLLER_BUSY;
	}
	ts.tv_sec = (time_t)(ns / VT_TICKS_HZ);
	ts.tv_nsec = (long)(ns % VT_TICKS_HZ);
	rc = reactor_epoll(r, ns == UINT64_MAX ? NULL : &ts);
	atomic_store_explicit(&r->sleeping, false, memory_order_relaxed);
	return rc;
}

/* Adds the ticks from start to end to the reactor's busy or idle time. */
static void
reactor_account(struct reactor *r, uint64_t start, uint64_t end, bool busy)
{
	uint64_t *counter = busy ? &r->busy_tsc : &r->idle_tsc;

	if (end > start) {
		__atomic_store_n(counter, *counter + (end - start), __ATOMIC_RELAXED);
	}
}

/*
 * Adaptive mode, after the pollers ran: work restarts the polling window; an idle iteration
 * past the window makes the next one arm the notifications (and sleep if it finds nothing).
 */
static void
reactor_adapt(struct reactor *r, int busy, uint64_t now)
{
	if (busy != VT_POLLER_IDLE) {
		r->last_work = now;
		r->arming = false;
		r->polling = true;
	} else if (!r->arming && now - r->last_work >= r->window_ns) {
		r->arming = true;
	}
}

static void
reactor_set_window(struct reactor *r, enum adaptive_outcome outcome, uint64_t gap_ns)
{
	__atomic_store_n(&r->window_ns, adaptive_window_next(r->window_ns, outcome, gap_ns),
			 __ATOMIC_RELAXED);
}

/*
 * Adaptive mode, after a sleep that began at slept_at: tunes the window from what the sleep
 * brought. A wake at once is no late request but one already pending (a kick the driver sent
 * while the reactor polled, say): a longer window would not have helped.
 */
static void
reactor_adapt_sleep(struct reactor *r, bool woken, uint64_t slept_at)
{
	if (r->polling) {
		reactor_set_window(r, ADAPTIVE_VAIN, 0);
		r->polling = false;
	}
	if (woken && r->wake_tsc - slept_at >= ADAPTIVE_WINDOW_STEP_NS) {
		reactor_set_window(r, ADAPTIVE_LATE, r->wake_tsc - r->last_work);
	}
}

static int
reactor_iteration(struct reactor *r, bool may_sleep)
{
	int busy = VT_POLLER_IDLE, timed = VT_POLLER_IDLE;
	/* Where the last iteration ended: time between iterations is accounted too. */
	uint64_t now, start = r->last_tsc;
	/* The pollers armed their notifications in this iteration: it may end in a sleep. */
	bool armed = r->arming;

	r->in_iteration = true;
	busy |= reactor_run_msgs(r);
	busy |= reactor_run_defers(r);
	busy |= poller_run_active(r);
	now = vt_get_ticks();
	if (!TAILQ_EMPTY(&r->timed) && TAILQ_FIRST(&r->timed)->next_run <= now) {
		timed = poller_run_timed(r, now);
	}
	if (r->num_fd_pollers > 0 && now >= r->next_fd_check) {
		r->next_fd_check = now + reactor_us_to_ticks(VT_FD_CHECK_INTERVAL_US);
		busy |= reactor_check_fds(r);
	}
	if (g_poll_mode == VT_POLL_MODE_ADAPTIVE) {
		/* Timed pollers (housekeeping) do not keep a reactor polling. */
		reactor_adapt(r, busy, now);
	}
	busy |= timed;
	if (g_interrupt_mode && armed && busy == VT_POLLER_IDLE) {
		/* Calls deferred and pollers registered during this iteration are work to do. */
		may_sleep = may_sleep && TAILQ_EMPTY(&r->pending) && TAILQ_EMPTY(&r->defers);
		now = vt_get_ticks();
		/* Nothing so far, and the wait itself, are idle; what the wake-up brought is not. */
		reactor_account(r, start, now, false);
		r->wake_tsc = now;
		busy |= reactor_sleep(r, now, may_sleep);
		reactor_account(r, now, r->wake_tsc, false);
		start = r->wake_tsc;
		if (g_poll_mode == VT_POLL_MODE_ADAPTIVE && may_sleep) {
			reactor_adapt_sleep(r, busy != VT_POLLER_IDLE, now);
		}
	}
	if (r->has_dead || !TAILQ_EMPTY(&r->pending)) {
		poller_reap(r);
	}
	r->in_iteration = false;
	r->last_tsc = vt_get_ticks();
	reactor_account(r, start, r->last_tsc, busy != VT_POLLER_IDLE);
	return busy;
}

int
vt_reactor_poll_once(void)
{
	struct reactor *r = reactor_get_current();

	if (r == NULL) {
		VT_ERRLOG("cannot poll: not on a reactor thread\n");
		return VT_POLLER_IDLE;
	}
	r->last_tsc = vt_get_ticks();
	return reactor_iteration(r, false);
}

static void
reactor_run(struct reactor *r)
{
	r->last_tsc = vt_get_ticks();
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		reactor_iteration(r, true);
	}
}

static void *
reactor_thread(void *arg)
{
	struct reactor *r = arg;
	char name[16];

	/* Named from inside, so the name is set before the first message runs. */
	snprintf(name, sizeof(name), "reactor_%u", r->idx);
	pthread_setname_np(pthread_self(), name);
	t_current = r->idx;
	reactor_run(r);
	return NULL;
}

/* ---- start and stop ---------------------------------------------------------------------- */

static void
set_core(cpu_set_t *set, uint32_t core)
{
	CPU_ZERO(set);
	CPU_SET(core, set);
}

static int
reactor_spawn(struct reactor *r)
{
	pthread_attr_t attr;
	cpu_set_t set;
	int rc;

	rc = pthread_attr_init(&attr);
	if (rc != 0) {
		return -rc;
	}
	set_core(&set, r->core);
	rc = pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	if (rc == 0) {
		rc = pthread_create(&r->thread, &attr, reactor_thread, r);
	}
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		VT_ERRLOG("cannot start reactor %u on core %u: %s\n", r->idx, r->core,
			  vt_strerror(rc));
		return -rc;
	}
	r->thread_started = true;
	return 0;
}

void
vt_reactors_start(void)
{
	cpu_set_t saved, set;
	bool restore;
	uint32_t i;
	int rc;

	if (!g_initialized || t_current != 0) {
		VT_ERRLOG("cannot start reactors: %s\n",
			  !g_initialized ? "not created"
					 : "not called on the thread that created them");
		return;
	}
	restore = pthread_getaffinity_np(pthread_self(), sizeof(saved), &saved) == 0;
	set_core(&set, g_reactors[0]->core);
	rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (rc != 0) {
		VT_WARNLOG("cannot pin reactor 0 to core %u: %s\n", g_reactors[0]->core,
			   vt_strerror(rc));
	}
	for (i = 1; i < g_num_reactors; i++) {
		if (reactor_spawn(g_reactors[i]) != 0) {
			vt_reactors_stop();
			break;
		}
	}
	reactor_run(g_reactors[0]);
	for (i = 1; i < g_num_reactors; i++) {
		if (g_reactors[i]->thread_started) {
			pthread_join(g_reactors[i]->thread, NULL);
			g_reactors[i]->thread_started = false;
		}
	}
	/* The caller may go on with other work after the reactors (tests, shutdown). */
	if (restore) {
		pthread_setaffinity_np(pthread_self(), sizeof(saved), &saved);
	}
}

static void
reactor_wake(struct reactor *r)
{
	uint64_t one = 1;

	if (write(r->efd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
		VT_ERRLOG("cannot wake reactor %u: %s\n", r->idx, vt_strerror(errno));
	}
}

void
vt_reactors_stop(void)
{
	uint32_t i;

	for (i = 0; i < g_num_reactors; i++) {
		atomic_store_explicit(&g_reactors[i]->stop, true, memory_order_seq_cst);
		if (g_reactors[i]->efd >= 0) {
			reactor_wake(g_reactors[i]);
		}
	}
}

/* ---- queries ----------------------------------------------------------------------------- */

uint32_t
vt_reactor_count(void)
{
	return g_num_reactors;
}

uint32_t
vt_reactor_current(void)
{
	return t_current;
}

uint32_t
vt_reactor_core(uint32_t idx)
{
	return idx < g_num_reactors ? g_reactors[idx]->core : VT_REACTOR_NONE;
}

int
vt_reactor_for_core(uint32_t core)
{
	uint32_t i;

	for (i = 0; i < g_num_reactors; i++) {
		if (g_reactors[i]->core == core) {
			return (int)i;
		}
	}
	return -ENOENT;
}

const struct vt_cpuset *
vt_reactors_cpuset(void)
{
	return &g_cpuset;
}

bool
vt_reactors_interrupt_mode(void)
{
	return g_interrupt_mode;
}

enum vt_poll_mode
vt_reactors_poll_mode(void)
{
	return g_poll_mode;
}

bool
vt_reactor_arming(void)
{
	struct reactor *r = reactor_get_current();

	return r != NULL && r->arming;
}

static const char *const g_poll_mode_names[] = {
	[VT_POLL_MODE_POLL] = "poll",
	[VT_POLL_MODE_INTERRUPT] = "interrupt",
	[VT_POLL_MODE_ADAPTIVE] = "adaptive",
};

int
vt_poll_mode_parse(const char *name, enum vt_poll_mode *mode)
{
	size_t i;

	for (i = 0; i < VT_COUNTOF(g_poll_mode_names); i++) {
		if (name != NULL && strcmp(name, g_poll_mode_names[i]) == 0) {
			*mode = (enum vt_poll_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *
vt_poll_mode_name(enum vt_poll_mode mode)
{
	return (size_t)mode < VT_COUNTOF(g_poll_mode_names) ? g_poll_mode_names[mode] : "unknown";
}

/* ---- messages and deferred calls --------------------------------------------------------- */

int
vt_send_msg(uint32_t idx, vt_msg_fn fn, void *arg)
{
	struct reactor *r;
	int rc;

	if (vt_unlikely(idx >= g_num_reactors)) {
		return -EINVAL;
	}
	r = g_reactors[idx];
	rc = msg_ring_enqueue(&r->ring, fn, arg);
	if (vt_unlikely(rc != 0)) {
		return rc;
	}
	if (g_interrupt_mode) {
		atomic_thread_fence(memory_order_seq_cst);
		if (atomic_load_explicit(&r->sleeping, memory_order_acquire) &&
		    !atomic_exchange_explicit(&r->notified, true, memory_order_relaxed)) {
			reactor_wake(r);
		}
	}
	return 0;
}

void
vt_defer(struct vt_defer *d, vt_msg_fn fn, void *arg)
{
	struct reactor *r = reactor_get_current();

	if (d->queued) {
		return;
	}
	if (r == NULL) {
		VT_ERRLOG("cannot defer a call: not on a reactor thread\n");
		return;
	}
	d->fn = fn;
	d->arg = arg;
	d->queued = true;
	TAILQ_INSERT_TAIL(&r->defers, d, link);
}

/* ---- statistics ------------------------------------------------------------------------- */

static uint32_t
count_pollers(const struct poller_list *list)
{
	const struct vt_poller *p;
	uint32_t n = 0;

	TAILQ_FOREACH (p, list, link) {
		n++;
	}
	return n;
}

int
vt_reactor_get_stats(uint32_t idx, struct vt_reactor_stats *st)
{
	struct reactor *r;

	if (idx >= g_num_reactors || st == NULL) {
		return -EINVAL;
	}
	r = g_reactors[idx];
	memset(st, 0, sizeof(*st));
	st->busy_ticks = __atomic_load_n(&r->busy_tsc, __ATOMIC_RELAXED);
	st->idle_ticks = __atomic_load_n(&r->idle_tsc, __ATOMIC_RELAXED);
	st->start_ticks = r->start_tsc;
	st->core = r->core;
	st->in_interrupt = g_interrupt_mode;
	st->poll_mode = g_poll_mode;
	st->window_ns = __atomic_load_n(&r->window_ns, __ATOMIC_RELAXED);
	/* The poller lists belong to the reactor's thread. */
	if (t_current == idx) {
		st->active_pollers = count_pollers(&r->active) + count_pollers(&r->pending);
		st->timed_pollers = count_pollers(&r->timed);
		st->fd_pollers = r->num_fd_pollers;
		st->tid = (uint64_t)gettid();
		st->own = true;
	}
	return 0;
}

/* ---- vt_for_each_reactor ----------------------------------------------------------------- */

struct for_each_ctx {
	vt_msg_fn fn;
	vt_msg_fn done;
	void *arg;
	uint32_t orig;         /* reactor that runs done */
	uint32_t next;         /* next reactor to run fn, or g_num_reactors when done is due */
	struct vt_defer retry; /* resends after a full ring */
};

static void for_each_step(void *arg);

static void
for_each_done(void *arg)
{
	struct for_each_ctx *ctx = arg;

	ctx->done(ctx->arg);
	free(ctx);
}

/* Sends the next step; on a full ring tries again on the next iteration of this reactor. */
static void
for_each_forward(void *arg)
{
	struct for_each_ctx *ctx = arg;
	int rc;

	if (ctx->next < g_num_reactors) {
		rc = vt_send_msg(ctx->next, for_each_step, ctx);
	} else {
		rc = vt_send_msg(ctx->orig, for_each_done, ctx);
	}
	if (rc != 0) {
		vt_defer(&ctx->retry, for_each_forward, ctx);
	}
}

static void
for_each_step(void *arg)
{
	struct for_each_ctx *ctx = arg;

	ctx->fn(ctx->arg);
	ctx->next++;
	for_each_forward(ctx);
}

int
vt_for_each_reactor(vt_msg_fn fn, void *arg, vt_msg_fn done)
{
	struct for_each_ctx *ctx;
	int rc;

	if (g_num_reactors == 0) {
		return -EINVAL;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		return -ENOMEM;
	}
	ctx->fn = fn;
	ctx->done = done;
	ctx->arg = arg;
	/* A caller that is no reactor (e.g. DPDK's thread) gets done on reactor 0. */
	ctx->orig = t_current < g_num_reactors ? t_current : 0;
	ctx->next = 0;
	rc = vt_send_msg(0, for_each_step, ctx);
	if (rc != 0) {
		free(ctx);
	}
	return rc;
}
