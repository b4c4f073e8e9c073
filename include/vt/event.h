/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_EVENT_H
#define VT_EVENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "vt/util.h"

/*
 * Reactors: one thread per core of the application's cpumask, each running a loop of
 * messages, deferred calls, pollers, timed pollers and fd pollers. Every object belongs to one
 * reactor; other reactors talk to it with vt_send_msg (lock-free, no syscall unless the target
 * reactor sleeps in interrupt mode).
 *
 * Poll mode (default): the loop never sleeps; fd pollers are checked with a zero-timeout
 * epoll_wait every VT_FD_CHECK_INTERVAL_US microseconds. Interrupt mode: when a whole loop
 * iteration found no work (every poller idle, no messages, no deferred calls), the reactor sleeps
 * in epoll_wait until an fd is ready, the next timed poller is due or a message arrives (the sender
 * writes the reactor's eventfd only when it is asleep).
 *
 * Adaptive mode: the machinery of interrupt mode (message eventfds, kick and completion fds on
 * epoll), but a reactor keeps polling for a short window after the last work it found (0 to
 * 200 us, tuned by the reactor: longer when work arrives soon after it slept, shorter when it
 * polled in vain); then one more iteration arms the notifications and, if it finds nothing,
 * the reactor sleeps exactly as in interrupt mode.
 */

#define VT_MAX_REACTORS 64
#define VT_REACTOR_NONE UINT32_MAX
#define VT_FD_CHECK_INTERVAL_US 100

enum {
	VT_POLLER_IDLE = 0,
	VT_POLLER_BUSY = 1,
};

typedef void (*vt_msg_fn)(void *arg);
/* Returns VT_POLLER_BUSY when it did work, VT_POLLER_IDLE otherwise. */
typedef int (*vt_poller_fn)(void *arg);
/* events is the epoll event mask that fired (EPOLLIN, EPOLLOUT, EPOLLHUP, ...). */
typedef int (*vt_fd_poller_fn)(void *arg, uint32_t events);

struct vt_poller;

/*
 * Creates one reactor per core of cpus (reactor index 0 = lowest core). The calling thread becomes
 * reactor 0 at once (vt_reactor_current() == 0), so single-reactor unit tests can drive it with
 * vt_reactor_poll_once() without starting threads. Returns 0 or a negative errno.
 */
int vt_reactors_init(const struct vt_cpuset *cpus, bool interrupt_mode);

enum vt_poll_mode {
	VT_POLL_MODE_POLL,      /* busy-poll, never sleep */
	VT_POLL_MODE_INTERRUPT, /* sleep whenever an iteration found nothing */
	VT_POLL_MODE_ADAPTIVE,  /* poll while there is work and a short window after, then sleep */
};

/* vt_reactors_init with any of the three modes. */
int vt_reactors_init_mode(const struct vt_cpuset *cpus, enum vt_poll_mode mode);
/* "poll", "interrupt", "adaptive" to a mode: 0 or -EINVAL. */
int vt_poll_mode_parse(const char *name, enum vt_poll_mode *mode);
const char *vt_poll_mode_name(enum vt_poll_mode mode);
/* Frees the reactors; call after vt_reactors_start() returned (or instead of it). */
void vt_reactors_fini(void);
/*
 * Starts a pinned thread for every reactor but 0 and runs reactor 0 on the calling thread until
 * vt_reactors_stop(); returns after every reactor thread has been joined.
 */
void vt_reactors_start(void);
/* Any thread: asks every reactor to leave its loop. */
void vt_reactors_stop(void);
uint32_t vt_reactor_count(void);
/* Index of the reactor running on this thread, or VT_REACTOR_NONE. */
uint32_t vt_reactor_current(void);
/* CPU core of reactor idx. */
uint32_t vt_reactor_core(uint32_t idx);
/* Reactor index for a core, or -ENOENT. */
int vt_reactor_for_core(uint32_t core);
/* The cpumask the reactors were created on. */
const struct vt_cpuset *vt_reactors_cpuset(void);
/*
 * True when reactors may sleep (interrupt or adaptive mode): work sources then set up what
 * wakes a sleeping reactor (an fd poller on an eventfd) instead of being polled only.
 */
bool vt_reactors_interrupt_mode(void);
enum vt_poll_mode vt_reactors_poll_mode(void);
/*
 * On a reactor: false while an adaptive reactor is within its polling window, so pollers keep
 * their notifications (guest kicks) off; true once the window has passed (this iteration ends
 * in a sleep if they find nothing), and always in the other modes. False off a reactor.
 */
bool vt_reactor_arming(void);
/* Runs one loop iteration of the current reactor. Returns VT_POLLER_BUSY if it found work. */
int vt_reactor_poll_once(void);

/*
 * Sends fn(arg) to reactor idx; runs there in FIFO order with other messages from the same sender.
 * Callable from any thread, including non-reactor threads (e.g. DPDK's vhost-events thread).
 * Returns 0 or -ENOMEM when the target's ring is full, -EINVAL for a bad index.
 */
int vt_send_msg(uint32_t idx, vt_msg_fn fn, void *arg);

/*
 * Runs fn(arg) on every reactor in turn, one after the other (0, 1, ...), then done(arg) on the
 * reactor that called. Returns 0 or -ENOMEM.
 */
int vt_for_each_reactor(vt_msg_fn fn, void *arg, vt_msg_fn done);

/* A call deferred to the next iteration of the current reactor; embedded, never allocated. */
struct vt_defer {
	TAILQ_ENTRY(vt_defer) link;
	vt_msg_fn fn;
	void *arg;
	bool queued; /* true while on the reactor's deferred list */
};

/* Queues d on the current reactor; a no-op if it is already queued. */
void vt_defer(struct vt_defer *d, vt_msg_fn fn, void *arg);

/*
 * Registers a poller on the current reactor: period_us 0 runs it on every iteration; otherwise at
 * most once per period. name is for diagnostics. NULL on failure.
 */
struct vt_poller *vt_poller_register(vt_poller_fn fn, void *arg, uint64_t period_us,
				     const char *name);
/*
 * Registers fd on the current reactor's epoll set with events (EPOLLIN, EPOLLOUT...); fn runs
 * with the fired events. The fd stays owned by the caller.
 */
struct vt_poller *vt_fd_poller_register(int fd, uint32_t events, vt_fd_poller_fn fn, void *arg,
					const char *name);
int vt_fd_poller_modify(struct vt_poller *poller, uint32_t events);
/* Unregisters (must be on the owning reactor; safe from inside the poller's own callback) and
 * sets *poller to NULL. NULL-safe. */
void vt_poller_unregister(struct vt_poller **poller);

/* Busy and idle time of a reactor (framework_get_reactors, thread_get_stats). */
struct vt_reactor_stats {
	uint64_t busy_ticks;  /* iterations that did work (messages, pollers that were busy...) */
	uint64_t idle_ticks;  /* iterations that found nothing, time asleep in epoll included */
	uint64_t start_ticks; /* vt_get_ticks() when the reactor was created */
	uint32_t core;
	bool in_interrupt; /* the reactor sleeps when idle (interrupt or adaptive mode) */
	enum vt_poll_mode poll_mode;
	uint64_t window_ns; /* adaptive mode: the current polling window, else 0 */
	/* Only filled when called on reactor idx itself (own true). */
	bool own;
	uint32_t active_pollers; /* period-0 pollers */
	uint32_t timed_pollers;
	uint32_t fd_pollers;
	uint64_t tid; /* the reactor thread's Linux thread id */
};

/* Fills st for reactor idx (any thread; the poller counts and tid only on that reactor). */
int vt_reactor_get_stats(uint32_t idx, struct vt_reactor_stats *st);

/* Monotonic time in nanoseconds (CLOCK_MONOTONIC). */
uint64_t vt_get_ticks(void);
#define VT_TICKS_HZ 1000000000ULL

/* ---- subsystems -------------------------------------------------------------------------- */

struct vt_json_write_ctx;

/*
 * A subsystem is initialised in registration order (which follows link order: bdev before vhost)
 * and finalised in reverse. init and fini run on reactor 0 and must call vt_subsystem_init_done /
 * vt_subsystem_fini_done when done (possibly later).
 */
struct vt_subsystem {
	const char *name;
	void (*init)(void);
	void (*fini)(void);
	/* Writes a JSON array of {"method":..., "params":...} objects; NULL writes []. */
	void (*write_config_json)(struct vt_json_write_ctx *w);
	TAILQ_ENTRY(vt_subsystem) link;
};

struct vt_subsystem_depend {
	const char *name;
	const char *depends_on;
	TAILQ_ENTRY(vt_subsystem_depend) link;
};

void vt_subsystem_register(struct vt_subsystem *subsystem);
void vt_subsystem_add_depend(struct vt_subsystem_depend *depend);

#define VT_SUBSYSTEM_REGISTER(_name)                                              \
	__attribute__((constructor)) static void _name##_subsystem_register(void) \
	{                                                                         \
		vt_subsystem_register(&_name);                                    \
	}

#define VT_SUBSYSTEM_DEPEND(_name, _depends_on)                                             \
	static struct vt_subsystem_depend __subsystem_##_name##_depend_on_##_depends_on = { \
		.name = #_name,                                                             \
		.depends_on = #_depends_on,                                                 \
	};                                                                                  \
	__attribute__((constructor)) static void _name##_depend_on_##_depends_on(void)      \
	{                                                                                   \
		vt_subsystem_add_depend(&__subsystem_##_name##_depend_on_##_depends_on);    \
	}

/* Initialises all subsystems in dependency order, then cb(rc, arg) on reactor 0. */
void vt_subsystem_init(void (*cb)(int rc, void *arg), void *arg);
/* Finalises the initialised ones in reverse order, then cb(arg) on reactor 0. */
void vt_subsystem_fini(void (*cb)(void *arg), void *arg);
void vt_subsystem_init_done(int rc);
void vt_subsystem_fini_done(void);
struct vt_subsystem *vt_subsystem_find(const char *name);
/* Iteration in init order. */
struct vt_subsystem *vt_subsystem_first(void);
struct vt_subsystem *vt_subsystem_next(struct vt_subsystem *s);
/* Dependencies of s, for framework_get_subsystems: iterate depends on names. */
struct vt_subsystem_depend *vt_subsystem_depend_first(void);
struct vt_subsystem_depend *vt_subsystem_depend_next(struct vt_subsystem_depend *d);

#endif
