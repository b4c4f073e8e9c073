/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_LIB_BDEV_DELAY_H
#define VT_LIB_BDEV_DELAY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"

/* Longest latency accepted, in microseconds (an hour). */
#define BDEV_DELAY_MAX_LATENCY_US (3600ull * 1000 * 1000)

enum bdev_delay_latency {
	BDEV_DELAY_AVG_READ = 0,
	BDEV_DELAY_P99_READ,
	BDEV_DELAY_AVG_WRITE,
	BDEV_DELAY_P99_WRITE,
	BDEV_DELAY_NUM_LATENCIES,
};

struct delay_disk {
	struct vt_bdev bdev;
	struct vt_bdev *base;
	struct vt_bdev_desc *base_desc; /* owned by reactor 0, claimed */
	/* Microseconds; written on reactor 0, read (relaxed) by the submitting reactors. */
	uint64_t latency_us[BDEV_DELAY_NUM_LATENCIES];
	bool removing; /* (atomic) held I/Os are released at once */
};

struct delay_io_ctx;

struct delay_channel {
	struct delay_disk *disk;
	struct vt_bdev_channel *base_ch;
	struct vt_poller *poller;                  /* registered while I/Os are held */
	uint64_t rng;                              /* xorshift64 state for the 1-in-100 p99 draw */
	TAILQ_HEAD(delay_held, delay_io_ctx) held; /* completed below, ordered by release time */
};

struct delay_io_ctx {
	struct vt_bdev_io *io;
	struct delay_channel *ch;
	uint64_t latency_ticks; /* added once the base completes; 0 = none */
	/* The base's result, kept to be replayed (the base I/O is freed after its callback). */
	enum vt_bdev_io_status status;
	int err;
	uint64_t miscompare_offset;
	uint64_t release_ticks;
	TAILQ_ENTRY(delay_io_ctx) link;
};

extern struct vt_bdev_module g_bdev_delay_module;

/* SPDK's latency_type names; -EINVAL for others. */
int bdev_delay_parse_latency_type(const char *s, enum bdev_delay_latency *out);
/* 0 when every latency is <= the maximum and each average is <= its p99; otherwise -EINVAL and
 * *bad names the first offending latency. */
int bdev_delay_check_latencies(const uint64_t lat[BDEV_DELAY_NUM_LATENCIES],
			       enum bdev_delay_latency *bad);
/* The latency (µs) an I/O of type gets, draw being a uniform random number: the p99 one when
 * draw % 100 == 0, the average otherwise; 0 for types that are not delayed. */
uint64_t bdev_delay_pick_us(const uint64_t lat[BDEV_DELAY_NUM_LATENCIES], enum vt_bdev_io_type type,
			    uint64_t draw);

/* On reactor 0. */
int bdev_delay_create(const char *name, const char *base_name,
		      const uint64_t lat[BDEV_DELAY_NUM_LATENCIES], const struct vt_uuid *uuid,
		      struct vt_bdev **bdevp);
int bdev_delay_delete(struct vt_bdev *bdev, void (*cb)(void *cb_arg, int rc), void *cb_arg);
/* -EINVAL when the new value breaks bdev_delay_check_latencies. */
int bdev_delay_update(struct vt_bdev *bdev, enum bdev_delay_latency which, uint64_t us);

#endif
