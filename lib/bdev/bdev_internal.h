/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_BDEV_INTERNAL_H
#define VT_BDEV_INTERNAL_H

/*
 * Private to lib/bdev: the layer's part of a bdev (struct bdev_internal), descriptors, channels
 * and the I/O object. Ownership:
 *
 * - the registry, every bdev's descriptor list, claims and aliases are protected by g_bdev_mutex
 *   (bdev.c) and changed on reactor 0, except vt_bdev_open / vt_bdev_close, which run on the
 *   descriptor's reactor;
 * - a channel, its I/O pool and its queues belong to one reactor and are touched only there;
 * - the LBA range locks of COMPARE_AND_WRITE, OR_WRITE and WRITE_ATOMIC are the only data
 *   shared between reactors on the data path: a spinlock-protected list plus an atomic counter
 *   that lets reads and writes skip the lock while no range is locked;
 * - bdev_internal.refs counts the registration, open descriptors, live channels and messages in
 *   flight; the bdev is destructed once it is removing and the count reaches zero.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <sys/queue.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/event.h"

_Static_assert(VT_MAX_REACTORS <= 64, "range lock waiter masks are one uint64_t");

/* Defaults and limits of bdev_set_options. */
#define BDEV_DEFAULT_IO_POOL_SIZE (64 * 1024 - 1)
#define BDEV_DEFAULT_IO_CACHE_SIZE 1024
#define BDEV_MAX_IO_CACHE_SIZE (64 * 1024)
#define BDEV_DEFAULT_SMALL_BUF_POOL_SIZE 8191
#define BDEV_DEFAULT_LARGE_BUF_POOL_SIZE 1023
/* Backstop period for retrying I/O queued on NOMEM or on a locked range. */
#define BDEV_RETRY_PERIOD_US 1000
/* Default COMPARE_AND_WRITE unit: 64 KiB of blocks, at least 1, at most 255 (SCSI's limit). */
#define BDEV_DEFAULT_ACWU_BYTES (64 * 1024)
#define BDEV_MAX_DEFAULT_ACWU 255

struct bdev_opts {
	uint32_t bdev_io_pool_size;   /* checked against the cache size, like SPDK */
	uint32_t bdev_io_cache_size;  /* I/O objects preallocated by each channel */
	bool bdev_auto_examine;       /* modules' examine hooks run at register */
	uint32_t small_buf_pool_size; /* stored and dumped; no shared buffer pools */
	uint32_t large_buf_pool_size;
};

/* What each I/O type needs from the submission checks. */
enum {
	BDEV_IOF_DATA = 0x1,      /* carries iovecs of num_blocks * blocklen bytes */
	BDEV_IOF_WRITE = 0x2,     /* needs a writable descriptor */
	BDEV_IOF_LOCKED = 0x4,    /* waits for overlapping locked ranges (C&W) */
	BDEV_IOF_ZERO_LEN = 0x8,  /* num_blocks 0 is allowed */
	BDEV_IOF_NO_RANGE = 0x10, /* no offset / length at all */
	BDEV_IOF_READS = 0x20,    /* waits for overlapping WRITE_ATOMIC ranges (reads) */
	BDEV_IOF_RANGE = 0x40,    /* takes an LBA range lock itself (C&W, OR, atomic) */
};
extern const uint8_t g_bdev_io_flags[VT_BDEV_NUM_IO_TYPES];

enum bdev_io_state {
	BIO_FREE = 0,
	BIO_FROZEN,     /* submitted while a reset runs; started when it ends */
	BIO_LOCK_WAIT,  /* waits for an overlapping locked range */
	BIO_LOCKING,    /* COMPARE_AND_WRITE draining writes before holding its range */
	BIO_NOMEM,      /* waits for resources (module NOMEM or a bounce buffer) */
	BIO_MODULE,     /* in the module */
	BIO_RESET_WAIT, /* emulated reset waiting for the channel's I/O */
	BIO_DONE,       /* completed, callback pending */
	BIO_QOS,        /* held by a QoS rate limit on the channel's qos_q */
};

/* Multi-step I/O the layer drives itself. */
enum bdev_io_step {
	BIO_STEP_NONE = 0,
	BIO_STEP_CMP_READ,     /* emulated COMPARE: reading the blocks into cmp_buf */
	BIO_STEP_CW_CMP,       /* COMPARE_AND_WRITE: native COMPARE of cmp_iovs */
	BIO_STEP_CW_READ,      /* COMPARE_AND_WRITE: reading the blocks into cmp_buf */
	BIO_STEP_CW_WRITE,     /* COMPARE_AND_WRITE: writing iovs */
	BIO_STEP_OR_READ,      /* OR_WRITE: reading the blocks into cmp_buf */
	BIO_STEP_OR_WRITE,     /* OR_WRITE: writing cmp_buf, the blocks ORed with iovs */
	BIO_STEP_ATOMIC_WRITE, /* WRITE_ATOMIC: writing iovs while the range is held */
};

struct bdev_internal;

/* The shape of a latency histogram (SPDK's histogram_data layout), in ticks (nanoseconds). */
struct bdev_hist_cfg {
	uint32_t granularity; /* each power-of-two range split in (1 << granularity) buckets */
	uint32_t min_range;
	uint32_t max_range;
	int io_type;  /* the only type counted, or -1 for every type */
	uint64_t gen; /* changes with each bdev_enable_histogram */
};

/* A locked LBA range; embedded in the COMPARE_AND_WRITE, OR_WRITE or WRITE_ATOMIC I/O that
 * holds it. */
struct bdev_range {
	TAILQ_ENTRY(bdev_range) link;       /* on bdev_internal.ranges */
	TAILQ_ENTRY(bdev_range) drain_link; /* on a channel's lock_drains while draining */
	uint64_t offset;
	uint64_t num;
	uint64_t waiters; /* bit per reactor with I/O waiting for this range */
	struct bdev_internal *bi;
	struct bdev_io_internal *bio;
	uint32_t owner;        /* reactor of the COMPARE_AND_WRITE */
	uint32_t sweep;        /* reactor whose channel is being drained */
	uint32_t drain_count;  /* overlapping writes still running on that channel */
	bool excl_reads;       /* WRITE_ATOMIC: reads wait for it (and are drained) too */
	struct vt_defer retry; /* resends a sweep message that found a full ring */
	vt_msg_fn retry_fn;
	uint32_t retry_idx;
};

/* The layer's I/O object: the module's struct vt_bdev_io first, then the layer's fields. */
struct bdev_io_internal {
	struct vt_bdev_io io;
	struct vt_bdev_channel *ch;
	vt_bdev_io_cb cb;
	void *cb_arg;
	uint64_t submit_ticks;
	struct bdev_io_internal *next_free;
	TAILQ_ENTRY(bdev_io_internal) link; /* on at most one channel queue */
	uint8_t utype; /* the user's type; io.type is what the module is asked to do */
	int8_t status;
	uint8_t state;      /* enum bdev_io_state */
	uint8_t step;       /* enum bdev_io_step */
	bool range_held;    /* a range-locking I/O holds range */
	uint8_t lba_status; /* GET_LBA_STATUS: enum vt_bdev_lba_status */
	int err;            /* errno of a FAILED I/O */
	uint64_t miscompare_off;
	uint64_t lba_status_blocks; /* GET_LBA_STATUS: length of the extent */
	/* Multi-step I/O: the user's data iovecs while the module works on others. */
	struct iovec *saved_iovs;
	int saved_iovcnt;
	void *cmp_buf; /* emulated compare: the blocks read */
	struct iovec cmp_iov;
	/* Alignment bounce: the iovecs the module would have seen, and the aligned copy. */
	void *align_buf;
	struct iovec *align_iovs;
	int align_iovcnt;
	struct iovec *align_cmp_iovs;
	int align_cmp_iovcnt;
	struct iovec align_iov[2];
	struct bdev_range range;
};

TAILQ_HEAD(bdev_io_list, bdev_io_internal);

struct vt_bdev_channel {
	struct vt_bdev *bdev;
	struct bdev_internal *bi;
	void *module_ch;
	struct bdev_io_internal *free_head; /* LIFO of free I/O objects */
	struct bdev_io_internal *pool;      /* pool_size objects, initialised on first use */
	uint32_t pool_size;
	uint32_t pool_used;
	uint32_t outstanding; /* objects taken from the pool */
	uint32_t active;      /* non-reset I/O submitted and not completed */
	uint32_t frozen;      /* of which waiting on frozen_q */
	uint32_t in_module;
	uint32_t resets; /* a reset is running (0 or 1) */
	uint32_t refcnt;
	uint32_t reactor;
	bool in_deferred;
	bool lock_retry; /* lock_wait_q should be retried */
	bool destroyed;
	struct vt_defer defer; /* completions, retries, io_wait, resets */
	struct bdev_io_list done_q;
	struct bdev_io_list nomem_q;
	struct bdev_io_list lock_wait_q;
	struct bdev_io_list frozen_q;
	struct bdev_io_internal *reset_wait; /* emulated reset waiting for active == frozen */
	TAILQ_HEAD(, bdev_range) lock_drains;
	TAILQ_HEAD(, vt_bdev_io_wait_entry) io_wait_q;
	struct vt_poller *retry_poller;
	struct vt_bdev_io_stat stat;
	struct bdev_io_list qos_q;    /* held by the QoS limits, in submission order */
	struct vt_poller *qos_poller; /* releases qos_q each timeslice while it is not empty */
	/* Latency histogram (bdev_enable_histogram): NULL while off; its shape is hist_cfg. */
	uint64_t *hist;
	struct bdev_hist_cfg hist_cfg;
};

struct bdev_alias {
	TAILQ_ENTRY(bdev_alias) link;
	char *name;
};

struct vt_bdev_desc {
	struct vt_bdev *bdev;
	struct bdev_internal *bi;
	bool write;
	bool closed; /* on the owner reactor */
	uint32_t reactor;
	vt_bdev_event_cb event_cb;
	void *event_ctx;
	atomic_uint refs;   /* the user's and one per event message in flight */
	atomic_uint events; /* bit (1 << type) per event to deliver */
	atomic_bool msg_pending;
	char *claim_owner; /* this descriptor's claim (under g_bdev_mutex), or NULL */
	TAILQ_ENTRY(vt_bdev_desc) link;
	TAILQ_ENTRY(vt_bdev_desc) retry_link; /* on g_event_retry (under g_bdev_mutex) */
};

struct bdev_internal {
	/* Read by every submission. */
	atomic_bool removing;
	atomic_uint range_count;              /* ranges on the ranges list */
	bool supported[VT_BDEV_NUM_IO_TYPES]; /* what users may submit */
	bool native[VT_BDEV_NUM_IO_TYPES];    /* what the module does itself */
	uint32_t buf_align;                   /* > 1: bounce buffers that miss it */
	uint32_t acwu;
	struct vt_bdev *bdev;
	struct vt_bdev_channel *channels[VT_MAX_REACTORS]; /* slot i touched on reactor i */

	pthread_spinlock_t range_lock;
	TAILQ_HEAD(, bdev_range) ranges;

	atomic_bool qos_on;   /* some QoS limit is set: READ and WRITE go through bdev_qos_hold */
	struct bdev_qos *qos; /* created by the first bdev_set_qos_limit, freed with the bdev */

	/* Under g_bdev_mutex. */
	TAILQ_ENTRY(bdev_internal) link;
	TAILQ_HEAD(, vt_bdev_desc) descs;
	TAILQ_HEAD(, bdev_alias) aliases;
	/* The oldest claiming descriptor (NULL: unclaimed); every claimer when claim_key is set. */
	struct vt_bdev_desc *claim_desc;
	char *claim_key;                /* a shared claim's key; NULL for an exclusive claim */
	struct vt_bdev_io_stat retired; /* statistics of destroyed channels */
	bool hist_on;                   /* bdev_enable_histogram */
	struct bdev_hist_cfg hist_cfg;
	uint64_t *hist_retired; /* the histograms of destroyed channels while on */

	atomic_uint refs;
	void (*unregister_cb)(void *cb_arg, int rc);
	void *unregister_arg;
	struct vt_defer final_defer;
};

/* bdev.c */
extern pthread_mutex_t g_bdev_mutex;
void bdev_ref(struct bdev_internal *bi);
void bdev_unref(struct bdev_internal *bi);
struct bdev_internal *bdev_lookup_locked(const char *name);
/* Registry iteration on reactor 0, including bdevs being removed. */
struct bdev_internal *bdev_registry_first(void);
struct bdev_internal *bdev_registry_next(struct bdev_internal *bi);
/* The most recently registered unclaimed bdev not being removed (the newest one not being
 * removed when all are claimed); *empty tells if any bdev is left. */
struct bdev_internal *bdev_registry_newest_live(bool *empty);

/* bdev_desc.c */
void bdev_desc_post_event_locked(struct vt_bdev_desc *desc, enum vt_bdev_event_type type);

/* bdev_subsystem.c */
extern struct bdev_opts g_bdev_opts;
int bdev_set_opts(const struct bdev_opts *opts, char *err, size_t errlen);
/* A bdev is gone: the subsystem's fini, if running, unregisters the next one. */
void bdev_fini_continue(void);
/* Runs the other modules' examine hooks on a newly registered bdev. */
void bdev_modules_examine(struct vt_bdev *bdev);
/* Examines in progress (vt_bdev_examine_hold minus releases). */
uint32_t bdev_examines_pending(void);

/* bdev_histogram.c (on the channel's reactor) */
void bdev_hist_channel_init(struct vt_bdev_channel *ch);
void bdev_hist_channel_fini(struct vt_bdev_channel *ch);
void bdev_hist_tally(struct vt_bdev_channel *ch, uint8_t type, uint64_t ticks);
/* The bdev is freed. */
void bdev_hist_free(struct bdev_internal *bi);

/* bdev_channel.c */
void bdev_channel_deferred(void *arg);
void bdev_channel_queue_lock_retry(struct vt_bdev_channel *ch);
void bdev_channel_retry_lock_waiters(struct vt_bdev_channel *ch);
void bdev_channel_retry_nomem(struct vt_bdev_channel *ch);
void bdev_channel_arm_retry(struct vt_bdev_channel *ch);
void bdev_stat_add(struct vt_bdev_io_stat *dst, const struct vt_bdev_io_stat *src);
void bdev_stat_init(struct vt_bdev_io_stat *stat);

/* bdev_io.c */
void bdev_io_start(struct bdev_io_internal *bio);
void bdev_io_to_module(struct bdev_io_internal *bio);
void bdev_io_done(struct bdev_io_internal *bio);
/* A range-locking I/O holds its range: runs its steps. */
void bdev_range_locked(struct bdev_io_internal *bio);

/* bdev_range.c */
/* True when bio overlaps a locked range that holds it off (a write: any; a read: one of a
 * WRITE_ATOMIC): it was queued on its channel's lock_wait_q. */
bool bdev_range_wait(struct bdev_io_internal *bio);
/* COMPARE_AND_WRITE, OR_WRITE, WRITE_ATOMIC: locks its range (or queues it) and drains
 * overlapping writes (and, for WRITE_ATOMIC, reads). */
void bdev_range_lock(struct bdev_io_internal *bio);
void bdev_range_unlock(struct bdev_io_internal *bio);
/* An I/O that was running left the running states on ch. */
void bdev_range_drain_io_done(struct vt_bdev_channel *ch, struct bdev_io_internal *bio);

/* bdev_qos.c */
enum bdev_qos_limit {
	BDEV_QOS_RW_IOPS, /* I/O per second, reads and writes */
	BDEV_QOS_RW_BPS,  /* bytes per second, reads and writes (set in MiB/s) */
	BDEV_QOS_R_BPS,   /* bytes per second, reads */
	BDEV_QOS_W_BPS,   /* bytes per second, writes */
	BDEV_QOS_NUM_LIMITS,
};
#define BDEV_QOS_LIMIT_KEEP UINT64_MAX /* bdev_qos_set: leave this limit as it is */
#define BDEV_QOS_MIN_IOS_PER_SEC 1000ULL
#define BDEV_QOS_MAX_IOS_PER_SEC (1000ULL * 1000 * 1000 * 1000)
#define BDEV_QOS_MAX_MBYTES_PER_SEC (1000ULL * 1000 * 1000)
#define BDEV_QOS_TIMESLICE_US 1000
#define BDEV_QOS_BURST_US 250000 /* what a bucket saves up at most: 250 ms of its rate */

struct bdev_qos_bucket {
	double rate_per_tick; /* tokens (I/O or bytes) per tick; 0: no limit */
	double avail;         /* tokens at hand; negative after an I/O larger than what was left */
	double burst;         /* most tokens a bucket holds */
};

struct bdev_qos {
	pthread_spinlock_t lock;              /* every field, taken on any reactor */
	uint64_t limits[BDEV_QOS_NUM_LIMITS]; /* as set: I/O per second or MiB per second */
	struct bdev_qos_bucket buckets[BDEV_QOS_NUM_LIMITS];
	uint64_t last_ticks; /* when the buckets were last filled */
};

extern uint64_t (*g_bdev_qos_now)(void);
const char *bdev_qos_limit_name(enum bdev_qos_limit type);
/* -EINVAL when value is not a valid setting of that limit (IOPS: a multiple of 1000). */
int bdev_qos_check_limit(enum bdev_qos_limit type, uint64_t value);
void bdev_qos_init(struct bdev_qos *qos);
void bdev_qos_fini(struct bdev_qos *qos);
/* Sets the limits (BDEV_QOS_LIMIT_KEEP leaves one); true when any limit is left. */
bool bdev_qos_set(struct bdev_qos *qos, const uint64_t limits[BDEV_QOS_NUM_LIMITS], uint64_t now);
void bdev_qos_get(struct bdev_qos *qos, uint64_t limits[BDEV_QOS_NUM_LIMITS]);
/* True when an I/O of that direction and size may start now (its cost is then taken). */
bool bdev_qos_admit(struct bdev_qos *qos, bool read, uint64_t bytes, uint64_t now);
/* On submission while qos_on or the channel's qos_q is not empty: true when bio was queued. */
bool bdev_qos_hold(struct bdev_io_internal *bio);
void bdev_qos_channel_fini(struct vt_bdev_channel *ch);
/* Reactor 0 (RPC, config replay). */
int bdev_qos_set_limits(struct bdev_internal *bi, const uint64_t limits[BDEV_QOS_NUM_LIMITS]);
void bdev_qos_get_limits(struct bdev_internal *bi, uint64_t limits[BDEV_QOS_NUM_LIMITS]);
void bdev_qos_free(struct bdev_internal *bi);
/* bdev_qos_rpc.c: bdev_get_bdevs' assigned_rate_limits; save_config's bdev_set_qos_limit lines. */
struct vt_json_write_ctx;
void bdev_qos_write_limits_json(struct vt_json_write_ctx *w, struct bdev_internal *bi);
void bdev_qos_write_config_json(struct vt_json_write_ctx *w);

/* Runs the channel's deferred work on the next iteration (no-op when already queued). */
static inline void
bdev_channel_defer(struct vt_bdev_channel *ch)
{
	vt_defer(&ch->defer, bdev_channel_deferred, ch);
}

/* An I/O object from the channel's pool, or NULL when all are taken. */
static inline struct bdev_io_internal *
bdev_channel_get_io(struct vt_bdev_channel *ch)
{
	struct bdev_io_internal *bio = ch->free_head;

	if (vt_likely(bio != NULL)) {
		ch->free_head = bio->next_free;
	} else if (ch->pool_used < ch->pool_size) {
		/* First use of this object: the mapping is zeroed, set the constant fields. */
		bio = &ch->pool[ch->pool_used++];
		bio->io.bdev = ch->bdev;
		bio->io.internal = bio;
		bio->ch = ch;
		bio->range.bi = ch->bi;
		bio->range.bio = bio;
	} else {
		return NULL;
	}
	ch->outstanding++;
	return bio;
}

static inline bool
bdev_ranges_overlap(uint64_t off1, uint64_t num1, uint64_t off2, uint64_t num2)
{
	return off1 < off2 + num2 && off2 < off1 + num1;
}

static inline struct bdev_io_internal *
bdev_io_from_io(struct vt_bdev_io *io)
{
	return VT_CONTAINEROF(io, struct bdev_io_internal, io);
}

#endif
