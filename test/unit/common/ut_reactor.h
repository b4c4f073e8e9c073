/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_UT_REACTOR_H
#define VT_UT_REACTOR_H

/*
 * Reactors for unit tests: one reactor on a core this process may use, never started, which the
 * test drives with vt_reactor_poll_once(), and bounded waits on it.
 */

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "vt/event.h"
#include "vt/util.h"

/* How long ut_poll_until waits before it gives up; a test may define it first. */
#ifndef UT_POLL_TIMEOUT_MS
#define UT_POLL_TIMEOUT_MS 3000
#endif

/* The first n (at most) cores this process may run on, lowest first; returns how many. */
static inline int
ut_allowed_cpus(uint32_t *cpus, int n)
{
	cpu_set_t allowed;
	int c, found = 0;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) {
		return 0;
	}
	for (c = 0; c < CPU_SETSIZE && found < n; c++) {
		if (CPU_ISSET(c, &allowed)) {
			cpus[found++] = (uint32_t)c;
		}
	}
	return found;
}

/* One reactor in mode on the first core this process may use: 0 or vt_reactors_init's error. */
static inline int
ut_reactor_init_one_mode(enum vt_poll_mode mode)
{
	struct vt_cpuset set;
	uint32_t cpu;

	if (ut_allowed_cpus(&cpu, 1) != 1) {
		return -ENODEV;
	}
	vt_cpuset_zero(&set);
	vt_cpuset_set(&set, cpu);
	return vt_reactors_init_mode(&set, mode);
}

/* One reactor in poll or interrupt mode. */
static inline int
ut_reactor_init_one(bool interrupt_mode)
{
	return ut_reactor_init_one_mode(interrupt_mode ? VT_POLL_MODE_INTERRUPT
						       : VT_POLL_MODE_POLL);
}

/* CPU time of the calling thread, in nanoseconds. */
static inline uint64_t
ut_thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * VT_TICKS_HZ + (uint64_t)ts.tv_nsec;
}

/* CUnit suite init and cleanup for a suite on one reactor in poll mode. */
static inline int
ut_reactor_suite_init(void)
{
	return ut_reactor_init_one(false);
}

static inline int
ut_reactor_suite_fini(void)
{
	vt_reactors_fini();
	return 0;
}

/* Runs n iterations of the calling reactor. */
static inline void
ut_poll(int n)
{
	while (n-- > 0) {
		vt_reactor_poll_once();
	}
}

/* Polls until *counter reaches want or UT_POLL_TIMEOUT_MS pass; true when it got there. */
static inline bool
ut_poll_until(const int *counter, int want)
{
	uint64_t deadline = vt_get_ticks() + UT_POLL_TIMEOUT_MS * (VT_TICKS_HZ / 1000);

	while (*counter < want && vt_get_ticks() < deadline) {
		vt_reactor_poll_once();
	}
	return *counter >= want;
}

#endif
