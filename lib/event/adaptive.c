/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The polling window of adaptive mode: how long a reactor keeps busy-polling after the last work
 * it found before it arms notifications and sleeps like in interrupt mode. A pure function of the
 * window and of what happened, so it is tested without a clock.
 *
 * Two things move it. A window that passes without work (the reactor goes to sleep) was polled in
 * vain: it shrinks by an eighth, at least by a step, so a reactor that goes idle again and again
 * converges on sleeping at once. An event that wakes the reactor (a kick, a message, a completion)
 * soon after its last work would have been caught by a longer window: the window grows to cover
 * that gap with a quarter more as a margin. A wake later than the largest window is a genuine pause
 * and teaches nothing. Work found while polling leaves the window alone.
 */
#include "lib/event/event_internal.h"

uint64_t
adaptive_window_next(uint64_t window_ns, enum adaptive_outcome outcome, uint64_t gap_ns)
{
	uint64_t step, target;

	window_ns = VT_MIN(window_ns, (uint64_t)ADAPTIVE_WINDOW_MAX_NS);
	switch (outcome) {
	case ADAPTIVE_VAIN:
		step = VT_MAX(window_ns / 8, (uint64_t)ADAPTIVE_WINDOW_STEP_NS);
		return window_ns > step ? window_ns - step : 0;
	case ADAPTIVE_LATE:
		if (gap_ns > ADAPTIVE_WINDOW_MAX_NS) {
			return window_ns;
		}
		target = gap_ns + gap_ns / 4 + ADAPTIVE_WINDOW_STEP_NS;
		return VT_MAX(window_ns, VT_MIN(target, (uint64_t)ADAPTIVE_WINDOW_MAX_NS));
	case ADAPTIVE_HIT:
	default:
		return window_ns;
	}
}
