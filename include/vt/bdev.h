/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_BDEV_H
#define VT_BDEV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include "vt/event.h"
#include "vt/util.h"

/*
 * Block devices. A user opens a descriptor on its reactor, takes a per-reactor I/O channel and
 * submits I/O with iovecs; the completion callback runs on the same reactor, never from inside the
 * submit call. Bounds (offset + length within the device) and lengths (iovec total equals
 * num_blocks * block size) are checked in one place before any module sees the I/O.
 */

struct vt_bdev;
struct vt_bdev_desc;
struct vt_bdev_channel;
struct vt_bdev_io;

enum vt_bdev_io_type {
	VT_BDEV_IO_TYPE_INVALID = 0,
	VT_BDEV_IO_TYPE_READ,
	VT_BDEV_IO_TYPE_WRITE,
	VT_BDEV_IO_TYPE_UNMAP,
	VT_BDEV_IO_TYPE_FLUSH,
	VT_BDEV_IO_TYPE_RESET,
	VT_BDEV_IO_TYPE_WRITE_ZEROES,
	VT_BDEV_IO_TYPE_COMPARE,
	VT_BDEV_IO_TYPE_COMPARE_AND_WRITE,
	VT_BDEV_IO_TYPE_OR_WRITE,       /* emulated by the layer (read, OR, write under a lock) */
	VT_BDEV_IO_TYPE_WRITE_ATOMIC,   /* emulated by the layer (a write under a lock) */
	VT_BDEV_IO_TYPE_GET_LBA_STATUS, /* modules without it: every block is mapped */
	VT_BDEV_NUM_IO_TYPES,
};

/* SPDK's names for supported_io_types: "read", "write", "unmap", "flush", "reset",
 * "write_zeroes", "compare", "compare_and_write"; vtarget's own "or_write", "write_atomic",
 * "get_lba_status" (not listed by bdev_get_bdevs). */
const char *vt_bdev_io_type_name(enum vt_bdev_io_type type);

enum vt_bdev_io_status {
	VT_BDEV_IO_STATUS_MISCOMPARE = -5, /* compare found a difference (see miscompare offset) */
	VT_BDEV_IO_STATUS_ABORTED = -4,    /* reset or removal aborted it */
	VT_BDEV_IO_STATUS_NOMEM = -3,      /* module-internal: retried by the bdev layer */
	VT_BDEV_IO_STATUS_INVALID = -2,    /* rejected by the module as invalid */
	VT_BDEV_IO_STATUS_FAILED = -1,     /* media or backend error; see vt_bdev_io_get_errno */
	VT_BDEV_IO_STATUS_PENDING = 0,
	VT_BDEV_IO_STATUS_SUCCESS = 1,
};

/* FUA: the data is on stable storage when the write completes. */
#define VT_BDEV_IO_FLAG_FUA 0x1

/* Provisioning state of an extent of blocks (vt_bdev_get_lba_status). */
enum vt_bdev_lba_status {
	VT_BDEV_LBA_MAPPED = 0,      /* mapped, or the module cannot tell */
	VT_BDEV_LBA_DEALLOCATED = 1, /* deallocated: reads return zeroes */
};

enum vt_bdev_event_type {
	VT_BDEV_EVENT_REMOVE,
	VT_BDEV_EVENT_RESIZE,
};

/* Runs on the reactor that opened the descriptor. On REMOVE the user must close it soon. */
typedef void (*vt_bdev_event_cb)(enum vt_bdev_event_type type, struct vt_bdev *bdev, void *ctx);
/* Completion; io is released by the bdev layer after the callback returns. */
typedef void (*vt_bdev_io_cb)(struct vt_bdev_io *io, bool success, void *cb_arg);

/* ---- lookup and properties (reactor 0, or any reactor holding a descriptor) ---------------- */

struct vt_bdev *vt_bdev_get_by_name(const char *name); /* name or alias */
struct vt_bdev *vt_bdev_first(void);
struct vt_bdev *vt_bdev_next(struct vt_bdev *prev);
const char *vt_bdev_get_name(const struct vt_bdev *bdev);
const char *vt_bdev_get_product_name(const struct vt_bdev *bdev);
uint32_t vt_bdev_get_block_size(const struct vt_bdev *bdev);
/* Physical block size in bytes: a power-of-two multiple of the block size (equal by default). */
uint32_t vt_bdev_get_physical_block_size(const struct vt_bdev *bdev);
uint64_t vt_bdev_get_num_blocks(const struct vt_bdev *bdev);
const struct vt_uuid *vt_bdev_get_uuid(const struct vt_bdev *bdev);
bool vt_bdev_io_type_supported(struct vt_bdev *bdev, enum vt_bdev_io_type type);
bool vt_bdev_is_read_only(const struct vt_bdev *bdev);
bool vt_bdev_has_write_cache(const struct vt_bdev *bdev);
/* Required buffer alignment in bytes (1 = none); buffers that miss it are bounced, not failed. */
uint32_t vt_bdev_get_buf_align(const struct vt_bdev *bdev);
uint32_t vt_bdev_get_optimal_io_boundary(const struct vt_bdev *bdev);
/* Largest UNMAP / WRITE_ZEROES in one I/O, in blocks (0 = no limit). */
uint64_t vt_bdev_get_max_unmap_blocks(const struct vt_bdev *bdev);
uint64_t vt_bdev_get_max_write_zeroes_blocks(const struct vt_bdev *bdev);
/* Largest COMPARE_AND_WRITE in blocks. */
uint32_t vt_bdev_get_acwu(const struct vt_bdev *bdev);
/* The (oldest) claim holder's owner name, or NULL. */
const char *vt_bdev_get_claim_owner(const struct vt_bdev *bdev);

/* ---- descriptors and channels ------------------------------------------------------------ */

/*
 * Opens a descriptor owned by the calling reactor; events go to event_cb there. write == false
 * gives a read-only descriptor (writes fail with -EBADF). Returns 0, -ENODEV (no such bdev or being
 * removed), -EPERM (write open of a bdev claimed by another owner, or of a read-only bdev).
 */
int vt_bdev_open(const char *name, bool write, vt_bdev_event_cb event_cb, void *event_ctx,
		 struct vt_bdev_desc **desc);
/* On the owning reactor. Any claim taken through desc is released. */
void vt_bdev_close(struct vt_bdev_desc *desc);
struct vt_bdev *vt_bdev_desc_get_bdev(struct vt_bdev_desc *desc);
/* Exclusive write claim; -EPERM if someone else holds one (or the bdev is read-only). The claim
 * makes desc writable. owner names the claimer in messages ("raid", "vhost controller 'b0'"). */
int vt_bdev_claim(struct vt_bdev_desc *desc, const char *owner);
/*
 * Shared write claim: any number of descriptors may hold one with the same key (e.g. "scsi": every
 * SCSI logical unit on the bdev; they coordinate writers through reservations). -EBUSY when an
 * exclusive claim or a shared one of another key is held, -EPERM for a read-only bdev. The claim
 * makes desc writable; it goes with vt_bdev_release_claim or vt_bdev_close.
 */
int vt_bdev_claim_shared(struct vt_bdev_desc *desc, const char *owner, const char *key);
/* True when the bdev's claim is a shared one. */
bool vt_bdev_claim_is_shared(const struct vt_bdev *bdev);
void vt_bdev_release_claim(struct vt_bdev_desc *desc);

/* The calling reactor's channel to desc's bdev (reference counted). NULL on ENOMEM. */
struct vt_bdev_channel *vt_bdev_get_io_channel(struct vt_bdev_desc *desc);
void vt_bdev_put_io_channel(struct vt_bdev_channel *ch);

/* ---- I/O ---------------------------------------------------------------------------------- */
/*
 * All return 0 when submitted (cb runs later, on this reactor), or without calling cb:
 * -ERANGE blocks beyond the device's end (the one range check: callers need not repeat it);
 * -EINVAL zero length, or iovec length not num_blocks * block size;
 * -EBADF write to a read-only descriptor; -ENOTSUP type not supported by the bdev;
 * -ENODEV bdev being removed; -ENOMEM no free I/O object (use vt_bdev_queue_io_wait).
 */
int vt_bdev_readv_blocks(struct vt_bdev_desc *desc, struct vt_bdev_channel *ch, struct iovec *iov,
			 int iovcnt, uint64_t offset_blocks, uint64_t num_blocks, vt_bdev_io_cb cb,
			 void *cb_arg);
int vt_bdev_writev_blocks(struct vt_bdev_desc *desc, struct vt_bdev_channel *ch, struct iovec *iov,
			  int iovcnt, uint64_t offset_blocks, uint64_t num_blocks, uint32_t flags,
			  vt_bdev_io_cb cb, void *cb_arg);
int vt_bdev_flush_blocks(struct vt_bdev_desc *desc, struct vt_bdev_channel *ch,
			 uint64_t offset_blocks, uint64_t num_blocks, vt_bdev_io_cb cb,
			 void *cb_arg);
int vt_bdev_unmap_blocks(struct vt_bdev_desc *desc, struct vt_bdev_channel *ch,
			 uint64_t offset_blocks, uint64_t num_blocks, vt_bdev_io_cb cb,
			 void *cb_arg);
int vt_bdev_write_zeroes_blocks(struct vt_bdev_desc *desc, struct vt_bdev_channel *ch,
				uint64_t offset_blocks, uint64_t num_blocks, vt_bdev_io_cb cb,
				void *cb_arg);
int vt_bdev_reset(struct vt_bdev_desc *desc, struct vt_bdev_channel *ch, vt_bdev_io_cb cb,
		  void *cb_arg);
/* Reads the blocks and compares them with iov; a difference completes with MISCOMPARE. */
int vt_bdev_comparev_blocks(struct vt_bdev_desc *desc, struct vt_bdev_channel *ch,
			    struct iovec *iov, int iovcnt, uint64_t offset_blocks,
			    uint64_t num_blocks, vt_bdev_io_cb cb, void *cb_arg);
/*
 * Atomic against every other write to the same blocks through any channel: compares the blocks
 * with cmp_iov and, only if equal, writes write_iov. num_blocks <= vt_bdev_get_acwu().
 */
int vt_bdev_comparev_and_writev_blocks(struct vt_bdev_desc *desc, struct vt_bdev_channel *ch,
				       struct iovec *cmp_iov, int cmp_iovcnt,
				       struct iovec *write_iov, int write_iovcnt,
				       uint64_t offset_blocks, uint64_t num_blocks,
				       vt_bdev_io_cb cb, void *cb_arg);

/*
 * Reads the blocks, ORs the data of iov into them and writes the result, atomic against every
 * other write to the same blocks through any channel (SCSI ORWRITE). flags: VT_BDEV_IO_FLAG_FUA.
 */
int vt_bdev_or_writev_blocks(struct vt_bdev_desc *desc, struct vt_bdev_channel *ch,
			     struct iovec *iov, int iovcnt, uint64_t offset_blocks,
			     uint64_t num_blocks, uint32_t flags, vt_bdev_io_cb cb, void *cb_arg);
/*
 * A write that is all-or-nothing for every other I/O through the layer: no read of these blocks
 * sees part of it, and no other write to them interleaves with it (SCSI WRITE ATOMIC). The layer
 * holds an LBA range lock that also keeps reads out while the write runs. It is not atomic
 * against a crash: a module's write of several blocks may be torn by a power loss.
 */
int vt_bdev_writev_atomic_blocks(struct vt_bdev_desc *desc, struct vt_bdev_channel *ch,
				 struct iovec *iov, int iovcnt, uint64_t offset_blocks,
				 uint64_t num_blocks, uint32_t flags, vt_bdev_io_cb cb,
				 void *cb_arg);
/*
 * The provisioning state of the extent that starts at offset_blocks: the callback reads it with
 * vt_bdev_io_get_lba_status, which tells how many blocks (1..max_blocks) from offset_blocks
 * share that state. Modules that do not track it answer MAPPED for all max_blocks.
 */
int vt_bdev_get_lba_status(struct vt_bdev_desc *desc, struct vt_bdev_channel *ch,
			   uint64_t offset_blocks, uint64_t max_blocks, vt_bdev_io_cb cb,
			   void *cb_arg);

/* Inside a completion callback. */
enum vt_bdev_io_status vt_bdev_io_get_status(const struct vt_bdev_io *io);
/* Of a successful GET_LBA_STATUS: the state, and in *num_blocks the extent's length. */
enum vt_bdev_lba_status vt_bdev_io_get_lba_status(const struct vt_bdev_io *io,
						  uint64_t *num_blocks);
/* errno of a FAILED I/O (EIO when the module gave none). */
int vt_bdev_io_get_errno(const struct vt_bdev_io *io);
/* Byte offset of the first difference of a MISCOMPARE. */
uint64_t vt_bdev_io_get_miscompare_offset(const struct vt_bdev_io *io);
enum vt_bdev_io_type vt_bdev_io_get_type(const struct vt_bdev_io *io);

/* Waiting for a free I/O object after -ENOMEM: cb_fn runs on this reactor when one is free. */
struct vt_bdev_io_wait_entry {
	TAILQ_ENTRY(vt_bdev_io_wait_entry) link;
	struct vt_bdev *bdev;
	void (*cb_fn)(void *cb_arg);
	void *cb_arg;
};
int vt_bdev_queue_io_wait(struct vt_bdev *bdev, struct vt_bdev_channel *ch,
			  struct vt_bdev_io_wait_entry *entry);

/* ---- statistics --------------------------------------------------------------------------- */

struct vt_bdev_io_stat {
	uint64_t bytes_read;
	uint64_t num_read_ops;
	uint64_t bytes_written;
	uint64_t num_write_ops;
	uint64_t bytes_unmapped;
	uint64_t num_unmap_ops;
	uint64_t read_latency_ticks;
	uint64_t max_read_latency_ticks;
	uint64_t min_read_latency_ticks;
	uint64_t write_latency_ticks;
	uint64_t max_write_latency_ticks;
	uint64_t min_write_latency_ticks;
	uint64_t unmap_latency_ticks;
	uint64_t max_unmap_latency_ticks;
	uint64_t min_unmap_latency_ticks;
	uint64_t num_errors;
};

/* Sums the statistics of every channel (visiting each reactor), then cb(bdev, stat, arg, rc) on
 * the calling reactor. */
void vt_bdev_get_io_stat(struct vt_bdev *bdev,
			 void (*cb)(struct vt_bdev *bdev, const struct vt_bdev_io_stat *stat,
				    void *arg, int rc),
			 void *arg);

/* What vt_bdev_get_io_stat_ext resets once it has read the figures (SPDK's reset modes). */
enum vt_bdev_reset_stat_mode {
	VT_BDEV_RESET_STAT_NONE,
	VT_BDEV_RESET_STAT_ERROR,  /* num_errors */
	VT_BDEV_RESET_STAT_MAXMIN, /* the max and min latencies */
	VT_BDEV_RESET_STAT_ALL,    /* everything */
};

/* The figures of each live channel, filled by vt_bdev_get_io_stat_ext. */
struct vt_bdev_io_stat_channels {
	uint32_t count;
	struct {
		uint32_t reactor; /* the channel's reactor */
		struct vt_bdev_io_stat stat;
	} ch[VT_MAX_REACTORS];
};

/*
 * vt_bdev_get_io_stat, and on each reactor resets its channel's figures after reading them as
 * mode says (those of destroyed channels too); channels, when not NULL, receives each live
 * channel's figures before cb runs.
 */
void vt_bdev_get_io_stat_ext(struct vt_bdev *bdev, enum vt_bdev_reset_stat_mode mode,
			     struct vt_bdev_io_stat_channels *channels,
			     void (*cb)(struct vt_bdev *bdev, const struct vt_bdev_io_stat *stat,
					void *arg, int rc),
			     void *arg);

#endif
