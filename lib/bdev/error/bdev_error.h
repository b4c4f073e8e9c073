/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_LIB_BDEV_ERROR_H
#define VT_LIB_BDEV_ERROR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"

/* What an injected I/O gets. */
enum bdev_error_type {
	BDEV_ERROR_FAILURE = 0,  /* fails with EIO without reaching the base */
	BDEV_ERROR_PENDING,      /* held until resumed, aborted by a reset or the bdev's removal */
	BDEV_ERROR_CORRUPT_DATA, /* reaches the base; one byte XORed (writes before, reads after) */
	BDEV_ERROR_NOMEM,        /* completed NOMEM: the bdev layer retries it */
};

/* The I/O types an injection can name; "all" is every slot, "clear" none. */
enum {
	BDEV_ERROR_SLOT_READ = 0,
	BDEV_ERROR_SLOT_WRITE,
	BDEV_ERROR_SLOT_UNMAP,
	BDEV_ERROR_SLOT_FLUSH,
	BDEV_ERROR_NUM_SLOTS,
};

struct bdev_error_injection {
	enum bdev_error_type type;
	uint32_t num;         /* I/Os still to inject; 0 = off */
	uint64_t queue_depth; /* inject only while this many I/Os (this one included) are in
			       * flight on the channel; 0 = always */
	uint64_t corrupt_offset;
	uint8_t corrupt_value;
};

struct bdev_error_table {
	struct bdev_error_injection slot[BDEV_ERROR_NUM_SLOTS];
};

struct error_disk {
	struct vt_bdev bdev;
	struct vt_bdev *base;
	struct vt_bdev_desc *base_desc; /* owned by reactor 0, claimed */
	struct bdev_error_table table;
	bool removing;       /* (atomic) held "pending" I/Os are aborted */
	uint32_t resume_gen; /* (atomic) bumped by bdev_error_resume_pending */
};

struct error_io_ctx;

struct error_channel {
	struct error_disk *disk;
	struct vt_bdev_channel *base_ch;
	uint64_t in_flight;
	struct vt_poller *pending_poller; /* registered while I/Os are held */
	TAILQ_HEAD(, error_io_ctx) pending;
};

struct error_io_ctx {
	struct vt_bdev_io *io;
	struct error_channel *ch;
	uint64_t corrupt_offset;
	uint8_t corrupt_value; /* a read's corruption after it completes; 0 = none */
	uint32_t resume_gen;   /* the disk's resume_gen when it was held */
	TAILQ_ENTRY(error_io_ctx) link;
};

extern struct vt_bdev_module g_bdev_error_module;

/* Parse SPDK's names: io_type -> mask of slots (clear: 0), error_type. -EINVAL otherwise. */
int bdev_error_parse_io_type(const char *s, uint32_t *mask);
int bdev_error_parse_error_type(const char *s, enum bdev_error_type *type);
/* Sets the slots of mask to inj (mask 0: clears every slot). */
void bdev_error_table_set(struct bdev_error_table *t, uint32_t mask,
			  const struct bdev_error_injection *inj);
/* Takes one injection for an I/O of io_type with in_flight I/Os on its channel; false: none. */
bool bdev_error_table_take(struct bdev_error_table *t, enum vt_bdev_io_type io_type,
			   uint64_t in_flight, struct bdev_error_injection *out);
/* XORs value into the byte at offset of the iovecs (nothing when beyond them). */
void bdev_error_corrupt(struct iovec *iovs, int iovcnt, uint64_t offset, uint8_t value);

/* On reactor 0. */
int bdev_error_create(const char *base_name, const struct vt_uuid *uuid, struct vt_bdev **bdevp);
int bdev_error_delete(struct vt_bdev *bdev, void (*cb)(void *cb_arg, int rc), void *cb_arg);
int bdev_error_inject(struct vt_bdev *bdev, uint32_t io_mask,
		      const struct bdev_error_injection *inj);

/* The held "pending" I/Os go down to the base (each reactor's within 10 ms). */
void bdev_error_resume_pending(struct vt_bdev *bdev);

#endif
