/* SPDX-License-Identifier: BSD-3-Clause */
/* Log-linear latency histogram: constant memory, O(1) insert, percentiles within 1.6 %. */

#include <string.h>

#include "vtc_internal.h"

#define SUB_COUNT (1u << VTC_HIST_SUB_BITS)    /* buckets per power of two */
#define LINEAR_LIMIT (2u << VTC_HIST_SUB_BITS) /* values below are exact */

void
vtc_hist_init(struct vtc_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min_ns = UINT64_MAX;
}

static uint32_t
bucket_of(uint64_t v)
{
	uint32_t msb, idx;

	if (v < LINEAR_LIMIT) {
		return (uint32_t)v;
	}
	msb = 63u - (uint32_t)__builtin_clzll(v);
	if (msb >= VTC_HIST_MAX_BITS) {
		return VTC_HIST_BUCKETS - 1;
	}
	/* The top VTC_HIST_SUB_BITS + 1 bits of v: SUB_COUNT .. 2 * SUB_COUNT - 1. */
	idx = LINEAR_LIMIT + (msb - VTC_HIST_SUB_BITS - 1) * SUB_COUNT +
	      (uint32_t)(v >> (msb - VTC_HIST_SUB_BITS)) - SUB_COUNT;
	return idx;
}

/* Lowest value of a bucket and its width. */
static void
bucket_range(uint32_t b, uint64_t *low, uint64_t *width)
{
	uint32_t msb, sub;

	if (b < LINEAR_LIMIT) {
		*low = b;
		*width = 1;
		return;
	}
	msb = (b - LINEAR_LIMIT) / SUB_COUNT + VTC_HIST_SUB_BITS + 1;
	sub = (b - LINEAR_LIMIT) % SUB_COUNT;
	*width = 1ull << (msb - VTC_HIST_SUB_BITS);
	*low = ((uint64_t)SUB_COUNT + sub) << (msb - VTC_HIST_SUB_BITS);
}

void
vtc_hist_add(struct vtc_hist *h, uint64_t ns)
{
	h->buckets[bucket_of(ns)]++;
	h->count++;
	h->sum_ns += ns;
	if (ns < h->min_ns) {
		h->min_ns = ns;
	}
	if (ns > h->max_ns) {
		h->max_ns = ns;
	}
}

void
vtc_hist_merge(struct vtc_hist *dst, const struct vtc_hist *src)
{
	for (uint32_t i = 0; i < VTC_HIST_BUCKETS; i++) {
		dst->buckets[i] += src->buckets[i];
	}
	dst->count += src->count;
	dst->sum_ns += src->sum_ns;
	if (src->min_ns < dst->min_ns) {
		dst->min_ns = src->min_ns;
	}
	if (src->max_ns > dst->max_ns) {
		dst->max_ns = src->max_ns;
	}
}

uint64_t
vtc_hist_quantile(const struct vtc_hist *h, double q)
{
	uint64_t rank, seen = 0;

	if (h->count == 0) {
		return 0;
	}
	rank = (uint64_t)(q * (double)h->count + 0.999999);
	if (rank == 0) {
		rank = 1;
	}
	if (rank > h->count) {
		rank = h->count;
	}
	for (uint32_t i = 0; i < VTC_HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank) {
			uint64_t low, width, mid;

			if (i == VTC_HIST_BUCKETS - 1) {
				/* The overflow bucket: no upper bound but the maximum. */
				return h->max_ns;
			}

			bucket_range(i, &low, &width);
			mid = low + width / 2;
			/* The extremes are known exactly. */
			if (mid > h->max_ns) {
				mid = h->max_ns;
			}
			if (mid < h->min_ns) {
				mid = h->min_ns;
			}
			return mid;
		}
	}
	return h->max_ns;
}
