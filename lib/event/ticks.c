/* SPDX-License-Identifier: BSD-3-Clause */
/* vt_get_ticks(): monotonic nanoseconds, from the TSC where that is safe. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vt/event.h"
#include "vt/util.h"
#include "lib/event/event_internal.h"

/*
 * vt_get_ticks() counts nanoseconds of CLOCK_MONOTONIC. clock_gettime costs tens of ns (vDSO
 * seqlock, ordered TSC read), paid on every reactor iteration and every bdev I/O, so on x86-64
 * with an invariant TSC that the kernel itself uses as its clocksource, ticks come from rdtsc
 * instead: ns = base_ns + ((tsc - base_tsc) * mult >> TSC_SHIFT).
 *
 * The TSC rate is measured against CLOCK_MONOTONIC without blocking anyone: until TSC_CAL_NS
 * after the first call every call reads clock_gettime, and the call that sees the window elapsed
 * publishes a first scale. TSC_REFINE_NS after the first call, the rate is measured again over the
 * longer window and a second scale is published, continuing from the first one's value at that
 * instant so that ticks never jump. Each scale lives in its own slot and is written once, before
 * its pointer is published, so readers never see a half-written one.
 */
#define TSC_SHIFT 32
#define TSC_CAL_NS (20 * 1000 * 1000ULL)
#define TSC_REFINE_NS (2 * 1000 * 1000 * 1000ULL)
#define TSC_SAMPLES 7

enum tsc_state {
	TSC_UNKNOWN,     /* not checked yet */
	TSC_BUSY,        /* one thread is sampling or writing a scale */
	TSC_CALIBRATING, /* usable; measuring its rate */
	TSC_FIRST,       /* first scale published */
	TSC_FINAL,       /* refined scale published */
	TSC_UNUSABLE,    /* clock_gettime only */
};

struct tsc_scale {
	uint64_t base_tsc; /* TSC and ns at the origin of this scale */
	uint64_t base_ns;
	uint64_t mult;         /* ns per TSC tick << TSC_SHIFT */
	uint64_t refine_after; /* TSC ticks past base_tsc after which to refine; < 2^63 */
};

static struct {
	_Atomic int state;
	_Atomic(const struct tsc_scale *) scale; /* NULL until TSC_FIRST */
	uint64_t cal_tsc; /* a TSC and ns pair at the start of the calibration */
	uint64_t cal_ns;
	struct tsc_scale slots[2];
} g_tsc;

static inline uint64_t
monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * VT_TICKS_HZ + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <x86intrin.h>

static inline uint64_t
tsc_read(void)
{
	return __rdtsc();
}

/* Invariant TSC (CPUID 0x80000007 EDX bit 8) and the kernel clocksource is "tsc". */
static bool
tsc_usable(void)
{
	unsigned int eax, ebx, ecx, edx;
	char buf[32] = "";
	size_t len;
	FILE *f;

	if (__get_cpuid(0x80000007, &eax, &ebx, &ecx, &edx) == 0 || (edx & (1u << 8)) == 0) {
		return false;
	}
	f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
	if (f == NULL) {
		return false;
	}
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	return strcmp(buf, "tsc\n") == 0;
}
#else
static inline uint64_t
tsc_read(void)
{
	return 0;
}

static bool
tsc_usable(void)
{
	return false;
}
#endif

/*
 * A TSC value taken at the same instant as CLOCK_MONOTONIC ns: of a few tries, the one whose
 * bracketing TSC reads lie closest together (not preempted, not interrupted), at their midpoint.
 */
static void
tsc_sample(uint64_t *tsc, uint64_t *ns)
{
	uint64_t best = UINT64_MAX, t1, t2, n;
	int i;

	for (i = 0; i < TSC_SAMPLES; i++) {
		t1 = tsc_read();
		n = monotonic_ns();
		t2 = tsc_read();
		if (t2 >= t1 && t2 - t1 < best) {
			best = t2 - t1;
			*tsc = t1 + (t2 - t1) / 2;
			*ns = n;
		}
	}
	if (best == UINT64_MAX) {
		*tsc = tsc_read();
		*ns = monotonic_ns();
	}
}

static inline uint64_t
scale_ns(const struct tsc_scale *s, uint64_t tsc)
{
	uint64_t d = tsc - s->base_tsc;

	/* A TSC read a hair behind base_tsc on another core counts as base_tsc. */
	if ((int64_t)d < 0) {
		d = 0;
	}
	return s->base_ns + (uint64_t)(((unsigned __int128)d * s->mult) >> TSC_SHIFT);
}

/* The rate measured from the calibration start to (tsc, ns), or 0 if it is not believable. */
static uint64_t
tsc_mult(uint64_t tsc, uint64_t ns)
{
	uint64_t dtsc = tsc - g_tsc.cal_tsc, dns = ns - g_tsc.cal_ns;

	/* Went backwards, or ticks slower than 16 MHz: not a clock to trust. */
	if (tsc <= g_tsc.cal_tsc || ns <= g_tsc.cal_ns || dtsc < dns / 16) {
		return 0;
	}
	return (uint64_t)(((unsigned __int128)dns << TSC_SHIFT) / dtsc);
}

static bool
tsc_claim(int from)
{
	return atomic_compare_exchange_strong(&g_tsc.state, &from, TSC_BUSY);
}

static void
tsc_set_state(int state)
{
	atomic_store_explicit(&g_tsc.state, state, memory_order_release);
}

/* Slow path: clock_gettime while calibrating, and the calibration steps. */
static uint64_t __attribute__((noinline)) ticks_slow(const struct tsc_scale *s)
{
	int state = atomic_load_explicit(&g_tsc.state, memory_order_acquire);
	struct tsc_scale *next;
	uint64_t ns, tsc, mult, left;

	if (s != NULL) {
		/* Past refine_after (or behind base): refine once, else keep this scale. */
		tsc = tsc_read();
		if (state != TSC_FIRST || !tsc_claim(TSC_FIRST)) {
			return scale_ns(s, tsc);
		}
		tsc_sample(&tsc, &ns);
		mult = tsc_mult(tsc, ns);
		next = &g_tsc.slots[1];
		next->base_tsc = tsc;
		next->base_ns = scale_ns(s, tsc);
		next->mult = mult != 0 ? mult : s->mult;
		/* Never refine again; a d behind base (as unsigned, >= 2^63) still goes slow. */
		next->refine_after = (uint64_t)INT64_MAX;
		atomic_store_explicit(&g_tsc.scale, next, memory_order_release);
		tsc_set_state(TSC_FINAL);
		return next->base_ns;
	}
	if (state == TSC_UNKNOWN) {
		if (tsc_claim(TSC_UNKNOWN)) {
			bool ok = tsc_usable();

			if (ok) {
				tsc_sample(&g_tsc.cal_tsc, &g_tsc.cal_ns);
			}
			tsc_set_state(ok ? TSC_CALIBRATING : TSC_UNUSABLE);
		}
		return monotonic_ns();
	}
	if (state != TSC_CALIBRATING) {
		return monotonic_ns();
	}
	ns = monotonic_ns();
	if (ns - g_tsc.cal_ns < TSC_CAL_NS || !tsc_claim(TSC_CALIBRATING)) {
		return ns;
	}
	tsc_sample(&tsc, &ns);
	mult = tsc_mult(tsc, ns);
	if (mult == 0) {
		tsc_set_state(TSC_UNUSABLE);
		return ns;
	}
	next = &g_tsc.slots[0];
	next->base_tsc = tsc;
	next->base_ns = ns;
	next->mult = mult;
	/* The refined window starts at cal_tsc, so it has run TSC_REFINE_NS by then. */
	left = ns - g_tsc.cal_ns < TSC_REFINE_NS ? TSC_REFINE_NS - (ns - g_tsc.cal_ns) : 0;
	next->refine_after = (uint64_t)(((unsigned __int128)left << TSC_SHIFT) / mult);
	atomic_store_explicit(&g_tsc.scale, next, memory_order_release);
	tsc_set_state(TSC_FIRST);
	return ns;
}

uint64_t
vt_get_ticks(void)
{
	const struct tsc_scale *s = atomic_load_explicit(&g_tsc.scale, memory_order_acquire);
	uint64_t d;

	if (vt_unlikely(s == NULL)) {
		return ticks_slow(NULL);
	}
	d = tsc_read() - s->base_tsc;
	if (vt_unlikely(d >= s->refine_after)) {
		return ticks_slow(s);
	}
	return s->base_ns + (uint64_t)(((unsigned __int128)d * s->mult) >> TSC_SHIFT);
}
