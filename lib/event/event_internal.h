/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_EVENT_INTERNAL_H
#define VT_EVENT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/queue.h>

#include "vt/event.h"

#define EVENT_CACHE_LINE 64

/* ---- message ring (msg_ring.c) ----------------------------------------------------------- */

/* Entries per reactor ring; a power of two. */
#define MSG_RING_SIZE (64u * 1024u)
/* Messages a reactor runs per loop iteration at most, so pollers are never starved. */
#define MSG_BATCH 64

/*
 * One slot of the bounded multi-producer single-consumer ring (Vyukov's bounded queue). seq says
 * who may use the slot: seq == pos means free for the producer that claimed position pos,
 * seq == pos + 1 means filled for the consumer at position pos.
 */
struct msg_slot {
	_Atomic uint64_t seq;
	vt_msg_fn fn;
	void *arg;
};

struct msg_ring {
	/* Next position producers claim (CAS); alone on its cache line, producers contend on it. */
	_Alignas(EVENT_CACHE_LINE) _Atomic uint64_t enqueue_pos;
	/* Next position the consumer reads; touched by the consumer only. */
	_Alignas(EVENT_CACHE_LINE) uint64_t dequeue_pos;
	uint64_t mask;
	struct msg_slot *slots;
};

int msg_ring_init(struct msg_ring *ring, uint32_t size);
void msg_ring_fini(struct msg_ring *ring);
/* Any thread. Returns 0, or -ENOMEM when the ring is full. */
int msg_ring_enqueue(struct msg_ring *ring, vt_msg_fn fn, void *arg);
/* Consumer thread only. Returns true and fills fn/arg, or false when empty. */
bool msg_ring_dequeue(struct msg_ring *ring, vt_msg_fn *fn, void **arg);
/* Consumer thread only: true when the next slot holds no published message. */
bool msg_ring_empty(struct msg_ring *ring);

/* ---- pollers (poller.c) ------------------------------------------------------------------ */

enum poller_kind {
	POLLER_ACTIVE, /* period 0: every iteration */
	POLLER_TIMED,  /* period > 0: when due */
	POLLER_FD,     /* on the reactor's epoll set */
};

enum poller_state {
	POLLER_STATE_LISTED,  /* on its kind's list (or on the pending list) */
	POLLER_STATE_RUNNING, /* timed poller taken off the timed list while it runs */
	POLLER_STATE_DEAD,    /* unregistered during an iteration; freed by the reaper */
};

#define POLLER_NAME_LEN 48

struct vt_poller {
	TAILQ_ENTRY(vt_poller) link;
	enum poller_kind kind;
	enum poller_state state;
	struct reactor *reactor;
	union {
		vt_poller_fn fn;
		vt_fd_poller_fn fd_fn;
	};
	void *arg;
	uint64_t period_ticks; /* timed pollers */
	uint64_t next_run;     /* timed pollers: vt_get_ticks() value when due */
	int fd;                /* fd pollers, else -1 */
	uint32_t events;       /* fd pollers: the epoll mask registered */
	char name[POLLER_NAME_LEN];
};

TAILQ_HEAD(poller_list, vt_poller);

/*
 * Reactor i on cores[i]; a core may be named more than once (its reactors then share it: the
 * unit tests run multi-reactor cases on a one-core machine this way). The daemon uses
 * vt_reactors_init, one reactor per core of its cpumask.
 */
int reactors_init_on(const uint32_t *cores, uint32_t n, bool interrupt_mode);
/* The same with any of the three modes. */
int reactors_init_on_mode(const uint32_t *cores, uint32_t n, enum vt_poll_mode mode);
/* Runs every period-0 poller. Returns VT_POLLER_BUSY if one did work. */
int poller_run_active(struct reactor *r);
/* Runs the timed pollers due at now. */
int poller_run_timed(struct reactor *r, uint64_t now);
/* Dispatches n epoll events (fd pollers, the message eventfd). */
int poller_dispatch_events(struct reactor *r, const struct epoll_event *ev, int n);
/* End of iteration: frees the pollers unregistered during it, lists the ones registered. */
void poller_reap(struct reactor *r);
/* Frees every poller of r (reactor teardown). */
void poller_free_all(struct reactor *r);
/* Nanoseconds until the next timed poller is due (0 if overdue), or UINT64_MAX if none. */
uint64_t poller_next_timeout(struct reactor *r, uint64_t now);

/* ---- adaptive polling window (adaptive.c) ------------------------------------------------- */

/* The window stays within [0, ADAPTIVE_WINDOW_MAX_NS]; a reactor starts at ..._INIT_NS. */
#define ADAPTIVE_WINDOW_MAX_NS (200u * 1000u)
#define ADAPTIVE_WINDOW_INIT_NS (50u * 1000u)
/* Smallest change of the window. */
#define ADAPTIVE_WINDOW_STEP_NS 1000u

enum adaptive_outcome {
	ADAPTIVE_HIT,  /* polling found work within the window */
	ADAPTIVE_VAIN, /* the window passed without work: the reactor goes to sleep */
	ADAPTIVE_LATE, /* an event woke the sleeping reactor gap_ns after its last work */
};

/* The next window after outcome (gap_ns only matters for ADAPTIVE_LATE). */
uint64_t adaptive_window_next(uint64_t window_ns, enum adaptive_outcome outcome, uint64_t gap_ns);

/* ---- reactors (reactor.c) ---------------------------------------------------------------- */

#define REACTOR_MAX_EVENTS 64

TAILQ_HEAD(defer_list, vt_defer);

struct reactor {
	/* Consumer side, touched by the owning thread only. */
	struct msg_ring ring;
	uint32_t idx;
	uint32_t core;
	int epfd;
	int efd;           /* message eventfd (interrupt mode), else -1 */
	bool in_iteration; /* pollers registered now wait for the next iteration */
	bool has_dead;     /* an unregistered poller waits for the reaper */
	uint32_t num_fd_pollers;
	uint64_t next_fd_check;     /* poll mode: vt_get_ticks() of the next zero-timeout epoll */
	struct poller_list active;  /* period-0 pollers */
	struct poller_list pending; /* period-0 pollers registered during this iteration */
	struct poller_list timed;   /* sorted by next_run */
	struct poller_list fds;     /* fd pollers */
	struct poller_list dead;    /* timed pollers unregistered during this iteration */
	struct defer_list defers;
	struct epoll_event events[REACTOR_MAX_EVENTS];
	pthread_t thread;
	bool thread_started;
	/* Busy/idle accounting (framework_get_reactors): written by the owner, read by anyone. */
	uint64_t busy_tsc;  /* ticks of iterations that did work */
	uint64_t idle_tsc;  /* ticks of iterations that found nothing, sleeping included */
	uint64_t start_tsc; /* when the reactor was created */
	uint64_t wake_tsc;  /* when the last epoll wait returned */
	uint64_t last_tsc;  /* when the last iteration ended */
	/*
	 * Adaptive mode: arming says the pollers arm their notifications in this iteration, which
	 * ends in a sleep if they find nothing (always true in the other modes). window_ns is
	 * read by anyone (framework_get_reactors).
	 */
	bool arming;
	bool polling;       /* adaptive: a window began since the last sleep */
	uint64_t window_ns; /* adaptive: how long to poll after the last work */
	uint64_t last_work; /* adaptive: when the last work restarted the window */

	/* Shared with senders and vt_reactors_stop(). */
	/* In (or about to enter) epoll_wait. */
	_Alignas(EVENT_CACHE_LINE) _Atomic bool sleeping;
	_Atomic bool notified; /* a sender wrote efd since the reactor last went to sleep */
	_Atomic bool stop;
};

/* The reactor running on this thread, or NULL. */
struct reactor *reactor_get_current(void);
/* Reads the message eventfd after epoll reported it. */
void reactor_clear_wakeup(struct reactor *r);
uint64_t reactor_us_to_ticks(uint64_t us);

#endif
