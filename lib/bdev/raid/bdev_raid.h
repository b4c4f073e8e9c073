/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_LIB_BDEV_RAID_H
#define VT_LIB_BDEV_RAID_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/event.h"

/* Most base bdevs in one raid bdev. */
#define RAID_MAX_LEGS 32
/* With a superblock, a leg's data starts this far in (the superblock lives in the first block). */
#define RAID_SB_DATA_OFFSET_BYTES (1024u * 1024u)
/* Size of the superblock area that is read and written (one or more whole blocks). */
#define RAID_SB_BYTES 4096u
/* The rebuild copies this much of the raid at a time, with the window locked against writes. */
#define RAID_REBUILD_WINDOW_BYTES (1024u * 1024u)

enum raid_level {
	RAID_LEVEL_0,
	RAID_LEVEL_1,
	RAID_LEVEL_CONCAT,
};

enum raid_state {
	RAID_STATE_ONLINE,      /* registered as a bdev */
	RAID_STATE_CONFIGURING, /* waiting for base bdevs */
	RAID_STATE_OFFLINE,     /* lost too many legs; only bdev_raid_delete remains */
};

/* A leg (slot) of the array. */
enum raid_leg_state {
	RAID_LEG_EMPTY,      /* no base bdev (missing, removed or failed and released) */
	RAID_LEG_ONLINE,     /* receives reads and writes */
	RAID_LEG_REBUILDING, /* receives writes while the rebuild fills it */
	RAID_LEG_FAILED,     /* failed or removed: its channels are being released */
};

struct raid_bdev;

struct raid_leg {
	char *name;                /* the base bdev's name; NULL for an empty slot */
	struct vt_uuid uuid;       /* the base bdev's uuid (null while empty) */
	struct vt_bdev *bdev;      /* NULL while not attached */
	struct vt_bdev_desc *desc; /* owned by reactor 0, claimed */
	uint64_t data_offset;      /* blocks of the base before the raid's data */
	uint64_t data_size;        /* blocks of the base used by the raid */
	uint64_t concat_start;     /* concat: the raid LBA of this leg's first block */
	int state;                 /* enum raid_leg_state; atomic (read by every reactor) */
	bool releasing;            /* reactor 0: a release sweep runs for this leg */
	void (*removed_cb)(void *arg, int rc); /* bdev_raid_remove_base_bdev's answer */
	void *removed_arg;
};

struct raid_io_ctx;
struct raid_sweep;
struct raid_rebuild;

TAILQ_HEAD(raid_io_list, raid_io_ctx);

struct raid_channel {
	struct raid_bdev *raid;
	uint32_t reactor;
	struct vt_bdev_channel *base_ch[RAID_MAX_LEGS];  /* NULL for legs without I/O here */
	uint32_t leg_inflight[RAID_MAX_LEGS];            /* sub-I/Os in flight per leg */
	struct raid_sweep *release_sweep[RAID_MAX_LEGS]; /* waits for leg_inflight to drain */
	uint32_t leg_reads[RAID_MAX_LEGS];               /* raid1: reads in flight per leg */
	uint32_t rr;                                     /* raid1: round-robin tie breaker */
	TAILQ_HEAD(, raid_io_ctx) writes;                /* raid1 writes in flight */
	struct raid_io_list win_wait;                    /* raid1 writes held by the window */
	struct raid_io_list ovl_wait;     /* raid1 writes waiting for an overlapping write */
	struct raid_sweep *quiesce_sweep; /* waits for writes overlapping the window */
};

struct raid_bdev {
	struct vt_bdev bdev;
	TAILQ_ENTRY(raid_bdev) link;
	enum raid_level level;
	enum raid_state state;
	uint32_t strip_size_kb; /* as given (0 for raid1) */
	uint32_t strip_blocks;  /* strip in blocks (power of two), 0 for raid1 */
	uint32_t strip_shift;
	uint32_t blocklen; /* of the legs (0 until the first leg is attached) */
	uint8_t num_legs;
	struct raid_leg legs[RAID_MAX_LEGS];
	bool superblock;
	uint64_t sb_seq;      /* sequence number of the last superblock written or read */
	uint64_t sb_blockcnt; /* from a superblock: the raid's size, to be matched */
	uint8_t sb_leg_state[RAID_MAX_LEGS]; /* from a superblock: enum raid_sb_leg_state */
	bool registered;                     /* the vt_bdev is registered */
	bool deleting;    /* bdev_raid_delete: free once the bdev is destructed */
	bool destructing; /* destruct waits for ctl_ops */
	uint32_t ctl_ops; /* reactor 0: rebuilds, superblock writes, sweeps running */
	bool sb_writing, sb_dirty;
	struct raid_channel *chs[VT_MAX_REACTORS]; /* each written only by its reactor */
	/* The rebuild's locked window (raid LBAs): writes overlapping it wait. */
	uint64_t win_off, win_len;
	int win_active; /* atomic */
	struct raid_rebuild *rebuild;
	void (*delete_cb)(void *arg, int rc);
	void *delete_arg;
};

/* One I/O to the raid bdev, in io->driver_ctx. */
struct raid_io_ctx {
	struct vt_bdev_io *io;
	struct raid_channel *ch;
	uint32_t pending;   /* sub-I/Os in flight */
	uint32_t to_submit; /* raid1 writes: legs (bit mask) still to submit (after NOMEM) */
	uint32_t tried;     /* raid1 reads: legs (bit mask) already tried */
	uint32_t ok_online; /* raid1 writes: online legs that succeeded */
	int err;            /* first error (positive errno), 0 = none */
	enum vt_bdev_io_status status;
	uint64_t next_off;    /* raid0/concat: the next raid LBA to submit */
	uint8_t leg;          /* leg of the piece or read in flight */
	bool in_writes;       /* on ch->writes */
	int cut_idx, cut_cnt; /* raid0/concat: iovs changed for the piece in flight */
	struct iovec cut_first, cut_last;
	TAILQ_ENTRY(raid_io_ctx) link;
	struct vt_bdev_io_wait_entry wait;
};

_Static_assert(sizeof(struct raid_io_ctx) <= VT_BDEV_IO_DRIVER_CTX, "raid io ctx too large");

/* A walk over every reactor's raid channel, one reactor after another, then done on reactor 0. */
struct raid_sweep {
	struct raid_bdev *raid;
	uint32_t reactor;
	uint8_t leg;
	/* On each reactor with a channel: true when that channel is ready now; false when it will
	 * call raid_sweep_resume itself. */
	bool (*visit)(struct raid_sweep *s, struct raid_channel *ch);
	void (*done)(struct raid_sweep *s); /* on reactor 0; frees s */
	void *arg;
};

/* A leg's state, as any reactor reads it. */
static inline int
raid_leg_state(const struct raid_leg *leg)
{
	return __atomic_load_n(&leg->state, __ATOMIC_ACQUIRE);
}

extern struct vt_bdev_module g_bdev_raid_module;
TAILQ_HEAD(raid_list, raid_bdev);
extern struct raid_list g_raids;

/* ---- pure geometry (bdev_raid_math.c) ---- */
int raid_parse_level(const char *s, enum raid_level *level);
const char *raid_level_name(enum raid_level level);
const char *raid_state_name(enum raid_state state);
/* Strip in blocks from strip_size_kb: -EINVAL unless a power of two of at least one block. */
int raid_strip_blocks(uint32_t strip_size_kb, uint32_t blocklen, uint32_t *blocks, uint32_t *shift);
/* The raid's size from its legs' data sizes (raid0: smallest rounded to strips times n; concat:
 * each rounded to strips, summed, concat_start filled; raid1: smallest). */
uint64_t raid_compute_blockcnt(enum raid_level level, uint32_t strip_shift, struct raid_leg *legs,
			       uint8_t n);
/* Maps raid LBA off (num blocks wanted) to a leg: *leg, *leg_off (within the leg's data),
 * returns the blocks of the piece on that leg (<= num). raid0 and concat only. */
uint64_t raid_map(enum raid_level level, uint32_t strip_shift, const struct raid_leg *legs,
		  uint8_t n, uint64_t off, uint64_t num, uint8_t *leg, uint64_t *leg_off);
/* Narrows iov[] in place to bytes [off, off + len): *idx and *cnt the entries, the first and last
 * entries' original values saved for raid_iov_restore. */
void raid_iov_cut(struct iovec *iov, int iovcnt, uint64_t off, uint64_t len, int *idx, int *cnt,
		  struct iovec *save_first, struct iovec *save_last);
void raid_iov_restore(struct iovec *iov, int idx, int cnt, const struct iovec *save_first,
		      const struct iovec *save_last);
/* raid1: the leg a read goes to: the operational one (bit in usable) with fewest reads in flight,
 * ties broken round-robin from *rr. -1 when none. */
int raid1_pick_read_leg(const uint32_t *reads, uint32_t usable, uint8_t n, uint32_t *rr);

/* ---- core (bdev_raid.c) ---- */
struct raid_bdev *raid_find(const char *name);
struct raid_bdev *raid_find_by_uuid(const struct vt_uuid *uuid);
/* The raid and leg using base bdev name; NULL when none. */
struct raid_bdev *raid_find_base(const char *name, uint8_t *leg);
int raid_create(const char *name, enum raid_level level, uint32_t strip_size_kb, char **base_names,
		uint8_t n, const struct vt_uuid *uuid, bool superblock, struct raid_bdev **out);
/* Answers cb(arg, rc) once the raid is gone. */
int raid_delete(struct raid_bdev *raid, void (*cb)(void *arg, int rc), void *arg);
/* Removes the leg (as a hot-remove); cb(arg, rc) once its claim is released. */
int raid_remove_leg(struct raid_bdev *raid, uint8_t leg, void (*cb)(void *arg, int rc), void *arg);
/* raid1: adds base bdev name into an empty slot and starts its rebuild. */
int raid_add_leg(struct raid_bdev *raid, const char *name);
/* Opens and claims base bdev name into slot leg (not yet visible to I/O). */
int raid_leg_attach(struct raid_bdev *raid, uint8_t leg, const char *name);
/* Once every leg the raid waits for is attached: computes the size and registers the bdev. */
int raid_configure(struct raid_bdev *raid);
void raid_free(struct raid_bdev *raid);
void raid_sweep_start(struct raid_bdev *raid, struct raid_sweep *s);
void raid_sweep_resume(struct raid_sweep *s);
/* Any reactor: a leg's I/O failed: it leaves the array (raid1) or takes the array offline. */
void raid_leg_failed(struct raid_bdev *raid, uint8_t leg);
void raid_ctl_done(struct raid_bdev *raid);
void raid_write_info_json(struct raid_bdev *raid, struct vt_json_write_ctx *w);
uint8_t raid_count_legs(const struct raid_bdev *raid, int state);

/* ---- I/O (bdev_raid_io.c) ---- */
void raid_submit_request(void *module_ch, struct vt_bdev_io *io);
bool raid_io_type_supported(void *ctx, enum vt_bdev_io_type type);
/* Resubmits the writes the window held (after the window moved). */
void raid1_window_release(struct raid_channel *ch);
/* Whether ch has writes in flight overlapping the window. */
bool raid1_window_busy(struct raid_channel *ch);
void raid_leg_io_done(struct raid_channel *ch, uint8_t leg);

/* ---- rebuild (bdev_raid_rebuild.c) ---- */
int raid_rebuild_start(struct raid_bdev *raid, uint8_t target);
/* Progress in raid blocks, for bdev_raid_get_bdevs. */
uint64_t raid_rebuild_progress(const struct raid_rebuild *rb, uint8_t *target);

/* ---- superblock (bdev_raid_sb.c) ---- */
enum raid_sb_leg_state {
	RAID_SB_LEG_MISSING = 0,
	RAID_SB_LEG_CONFIGURED = 1,
	RAID_SB_LEG_REBUILDING = 2,
};

/* The decoded superblock (the on-disk form is little-endian, see doc/raid.md). */
struct raid_sb {
	struct vt_uuid uuid;
	char name[VT_BDEV_MAX_NAME_LEN + 1];
	uint64_t seq;
	uint64_t blockcnt;
	uint32_t block_size;
	uint32_t level;
	uint32_t strip_size_kb;
	uint8_t num_legs;
	uint8_t this_leg;
	struct {
		struct vt_uuid uuid;
		uint64_t data_offset;
		uint64_t data_size;
		uint32_t state;
	} legs[RAID_MAX_LEGS];
};

uint32_t raid_crc32c(uint32_t crc, const void *buf, size_t len);
/* Encodes sb into buf (RAID_SB_BYTES). */
void raid_sb_encode(const struct raid_sb *sb, void *buf);
/* Decodes and checks buf: -EINVAL (not a superblock), -EILSEQ (bad checksum), -ERANGE (bad
 * fields). */
int raid_sb_decode(const void *buf, struct raid_sb *sb);
/* Writes the raid's superblock to every attached leg (coalesced when one write runs). */
void raid_sb_update(struct raid_bdev *raid);
/* The examine hook: looks for a superblock on a new bdev. */
void raid_examine(struct vt_bdev *bdev);

#endif
