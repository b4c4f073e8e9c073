/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio-blk personality: one controller = one bdev. Requests are parsed first (header,
 * status byte, data segments, all from the chain's validated iovecs), checked (type, features,
 * read-only, alignment and range against the device, in one place per kind), then executed on
 * the bdev with the guest's buffers as the iovecs (zero copy). A bdev out of I/O objects queues
 * the request for a retry; nothing is failed for lack of resources.
 *
 * Statuses: a request the device cannot serve gets IOERR (bad range, misaligned, short header,
 * writes to a read-only or removed device), a type it does not know or a feature it did not
 * offer gets UNSUPP. A chain with no writable byte for the status cannot be answered: its queue
 * stops (the device needs a reset). See doc/vhost.md.
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_blk.h>

#include "vt/bdev.h"
#include "vt/event.h"
#include "vt/json.h"
#include "vt/log.h"
#include "vt/util.h"

#include "lib/vhost/vhost_blk.h"
#include "lib/vhost/vhost_internal.h"

#define SECTOR_SHIFT 9
#define BLK_HDR_SIZE 16u

/* vhost-user protocol features of a blk controller. */
#define BLK_PROTOCOL_FEATURES                                                             \
	((1ull << VHOST_USER_PROTO_F_MQ) | (1ull << VHOST_USER_PROTO_F_REPLY_ACK) |       \
	 (1ull << VHOST_USER_PROTO_F_CONFIG) | (1ull << VHOST_USER_PROTO_F_BACKEND_REQ) | \
	 (1ull << VHOST_USER_PROTO_F_LOG_SHMFD) | (1ull << VHOST_USER_PROTO_F_INFLIGHT_SHMFD))

_Static_assert(sizeof(struct virtio_blk_outhdr) == BLK_HDR_SIZE, "virtio-blk header size");
_Static_assert(sizeof(struct virtio_blk_discard_write_zeroes) == 16, "discard range size");
_Static_assert(sizeof(struct virtio_blk_config) <= VHOST_USER_MAX_CONFIG_SIZE, "config space size");

/* What the config space and the features are computed from. */
struct blk_info {
	uint32_t block_size;
	uint64_t num_blocks; /* 0 once the bdev is removed */
	bool readonly;
	bool write_cache;
	bool flush; /* the bdev takes FLUSH */
	bool unmap;
	bool write_zeroes;
	uint64_t max_unmap_blocks; /* 0 = no limit */
	uint64_t max_write_zeroes_blocks;
	uint32_t optimal_io_boundary; /* blocks, 0 = none */
};

struct blk_ctrlr {
	/* The request path (the controller's reactor). */
	struct vt_bdev_desc *desc;
	struct vt_bdev_channel *ch;
	struct vt_bdev *bdev;
	uint64_t num_blocks;
	uint64_t block_mask; /* block size - 1, in bytes */
	uint32_t block_shift;
	uint32_t max_discard_sectors;
	uint32_t max_write_zeroes_sectors;
	uint64_t inflight; /* requests holding the bdev (submitted or waiting) */
	bool readonly;
	bool removed; /* hot-removed: every request fails */
	bool flush;
	bool discard;         /* VIRTIO_BLK_F_DISCARD offered */
	bool write_zeroes;    /* VIRTIO_BLK_F_WRITE_ZEROES offered */
	bool free_on_release; /* removal came while the release was deferred */
	struct vt_defer release_defer;
	void (*removed_fn)(void *arg); /* the removal's continuation, after the release */
	void *removed_arg;

	/* Set at creation, read anywhere. */
	struct vhost_ctrlr *ctrlr;
	struct blk_info info;
	char *bdev_name;
	bool packed_ring;
	bool shared;      /* the claim is shared with other "shared" blk controllers */
	atomic_bool gone; /* the bdev was released after a hot-remove */

	/* The config space, read by the vhost-events thread. */
	pthread_mutex_t cfg_lock;
	struct virtio_blk_config cfg;
};

/* Per request. */
struct blk_req {
	uint8_t *status;    /* the chain's last byte */
	struct iovec *data; /* data segments (inside the chain's iovecs) */
	int ndata;
	uint32_t data_len;
	uint32_t type;
	uint32_t used_len; /* on success */
	uint64_t sector;
	uint64_t offset_blocks;
	uint64_t num_blocks;
	bool holds;        /* counted in blk_ctrlr.inflight */
	bool data_written; /* a read went to the bdev: its buffers may hold data */
	bool seg_failed;
	uint16_t nseg;
	uint16_t next_seg;
	uint16_t pending;
	struct vt_bdev_io_wait_entry wait;
	/* DISCARD / WRITE_ZEROES ranges, converted in place to blocks (host order). */
	struct virtio_blk_discard_write_zeroes segs[VHOST_BLK_MAX_DWZ_SEGS];
};

/* blk_check_* return this when the request goes to the bdev; a status otherwise. */
#define BLK_EXEC (-1)

/* ---- config space and features ---------------------------------------------------------- */

/* blocks as 512-byte sectors in 32 bits, saturating at the largest whole-block value. */
static uint32_t
blocks_to_sectors32(uint64_t blocks, uint32_t sectors_per_block)
{
	uint32_t cap = UINT32_MAX / sectors_per_block * sectors_per_block;

	if (blocks == 0 || blocks > cap / sectors_per_block) {
		return cap;
	}
	return (uint32_t)(blocks * sectors_per_block);
}

static uint64_t
blk_features(const struct blk_info *d, bool packed_ring)
{
	uint64_t f = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_ANY_LAYOUT) |
		     (1ull << VIRTIO_RING_F_INDIRECT_DESC) | (1ull << VIRTIO_RING_F_EVENT_IDX) |
		     (1ull << VHOST_USER_VIRTIO_F_PROTOCOL_FEATURES) |
		     (1ull << VHOST_USER_F_LOG_ALL) | (1ull << VIRTIO_BLK_F_SIZE_MAX) |
		     (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
		     (1ull << VIRTIO_BLK_F_TOPOLOGY) | (1ull << VIRTIO_BLK_F_MQ);

	if (packed_ring) {
		f |= 1ull << VIRTIO_F_RING_PACKED;
	}
	if (d->readonly) {
		f |= 1ull << VIRTIO_BLK_F_RO;
	}
	if (d->write_cache && d->flush) {
		f |= 1ull << VIRTIO_BLK_F_FLUSH;
	}
	if (d->unmap && !d->readonly) {
		f |= 1ull << VIRTIO_BLK_F_DISCARD;
	}
	if (d->write_zeroes && !d->readonly) {
		f |= 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
	}
	return f;
}

static void
blk_config_build(const struct blk_info *d, struct virtio_blk_config *cfg)
{
	uint32_t spb = d->block_size >> SECTOR_SHIFT;

	memset(cfg, 0, sizeof(*cfg));
	cfg->capacity = htole64(d->num_blocks * spb);
	cfg->size_max = htole32(VHOST_BLK_SIZE_MAX);
	cfg->seg_max = htole32(VHOST_BLK_SEG_MAX);
	cfg->blk_size = htole32(d->block_size);
	cfg->physical_block_exp = 0;
	cfg->alignment_offset = 0;
	cfg->min_io_size = htole16(1);
	cfg->opt_io_size = htole32(d->optimal_io_boundary);
	cfg->wce = d->write_cache ? 1 : 0;
	cfg->num_queues = htole16(VHOST_MAX_QUEUES);
	if (d->unmap && !d->readonly) {
		cfg->max_discard_sectors = htole32(blocks_to_sectors32(d->max_unmap_blocks, spb));
		cfg->max_discard_seg = htole32(VHOST_BLK_MAX_DWZ_SEGS);
		cfg->discard_sector_alignment = htole32(spb);
	}
	if (d->write_zeroes && !d->readonly) {
		cfg->max_write_zeroes_sectors =
			htole32(blocks_to_sectors32(d->max_write_zeroes_blocks, spb));
		cfg->max_write_zeroes_seg = htole32(VHOST_BLK_MAX_DWZ_SEGS);
		/* WRITE_ZEROES always goes to the bdev as write-zeroes, whatever the flag. */
		cfg->write_zeroes_may_unmap = 0;
	}
}

static void
blk_info_from_bdev(struct vt_bdev *bdev, bool readonly, struct blk_info *d)
{
	memset(d, 0, sizeof(*d));
	d->block_size = vt_bdev_get_block_size(bdev);
	d->num_blocks = vt_bdev_get_num_blocks(bdev);
	d->readonly = readonly;
	d->write_cache = vt_bdev_has_write_cache(bdev);
	d->flush = vt_bdev_io_type_supported(bdev, VT_BDEV_IO_TYPE_FLUSH);
	d->unmap = vt_bdev_io_type_supported(bdev, VT_BDEV_IO_TYPE_UNMAP);
	d->write_zeroes = vt_bdev_io_type_supported(bdev, VT_BDEV_IO_TYPE_WRITE_ZEROES);
	d->max_unmap_blocks = vt_bdev_get_max_unmap_blocks(bdev);
	d->max_write_zeroes_blocks = vt_bdev_get_max_write_zeroes_blocks(bdev);
	d->optimal_io_boundary = vt_bdev_get_optimal_io_boundary(bdev);
}

static void
blk_get_config(struct vhost_ctrlr *c, uint8_t *buf, uint32_t len)
{
	struct blk_ctrlr *bc = c->backend;
	uint32_t n = VT_MIN(len, (uint32_t)sizeof(bc->cfg));

	memset(buf, 0, len);
	pthread_mutex_lock(&bc->cfg_lock);
	memcpy(buf, &bc->cfg, n);
	pthread_mutex_unlock(&bc->cfg_lock);
}

/* Reactor: the capacity changed (resize, removal): new config, front ends told. */
static void
blk_config_refresh(struct blk_ctrlr *bc)
{
	struct vhost_ctrlr *c = bc->ctrlr;
	struct vhost_session *s;

	pthread_mutex_lock(&bc->cfg_lock);
	bc->info.num_blocks = bc->removed ? 0 : bc->num_blocks;
	blk_config_build(&bc->info, &bc->cfg);
	pthread_mutex_unlock(&bc->cfg_lock);
	if (c == NULL) {
		return;
	}
	pthread_mutex_lock(&g_vhost_mutex);
	if (c->state == VHOST_CTRLR_RUNNING) {
		TAILQ_FOREACH (s, &c->sessions, link) {
			if (s->live) {
				vhost_user_config_changed(s);
			}
		}
	}
	pthread_mutex_unlock(&g_vhost_mutex);
}

/* ---- the bdev ---------------------------------------------------------------------------- */

static void
blk_release(struct blk_ctrlr *bc)
{
	if (bc->ch != NULL) {
		vt_bdev_put_io_channel(bc->ch);
		bc->ch = NULL;
	}
	if (bc->desc != NULL) {
		vt_bdev_close(bc->desc);
		bc->desc = NULL;
	}
	atomic_store(&bc->gone, true);
}

static void
blk_free(struct blk_ctrlr *bc)
{
	pthread_mutex_destroy(&bc->cfg_lock);
	free(bc->bdev_name);
	free(bc);
}

static void
blk_release_deferred(void *arg)
{
	struct blk_ctrlr *bc = arg;

	blk_release(bc);
	if (bc->free_on_release) {
		void (*fn)(void *arg) = bc->removed_fn;
		void *fn_arg = bc->removed_arg;

		blk_free(bc);
		fn(fn_arg);
	}
}

static void
blk_bdev_event(enum vt_bdev_event_type type, struct vt_bdev *bdev, void *ctx)
{
	struct blk_ctrlr *bc = ctx;

	if (type == VT_BDEV_EVENT_RESIZE) {
		bc->num_blocks = vt_bdev_get_num_blocks(bdev);
		VT_NOTICELOG("bdev '%s' of vhost controller '%s' resized to %" PRIu64 " blocks\n",
			     bc->bdev_name, bc->ctrlr != NULL ? bc->ctrlr->name : "?",
			     bc->num_blocks);
		blk_config_refresh(bc);
		return;
	}
	if (bc->removed) {
		return;
	}
	VT_NOTICELOG("bdev '%s' of vhost controller '%s' removed: its I/O fails from now on\n",
		     bc->bdev_name, bc->ctrlr != NULL ? bc->ctrlr->name : "?");
	bc->removed = true;
	blk_config_refresh(bc);
	if (bc->inflight == 0) {
		vt_defer(&bc->release_defer, blk_release_deferred, bc);
	}
}

/* ---- requests ------------------------------------------------------------------------------- */

static void
blk_finish(struct vhost_req *req, uint8_t status, uint32_t used_len)
{
	struct blk_req *br = vhost_req_ctx(req);

	/*
	 * Migration: the data a read or GET_ID put in guest memory, then the status byte, are
	 * marked dirty before the used ring shows the request done. A failed read may have
	 * filled part of its buffers: they count as written.
	 */
	if (vt_unlikely(req->q->vq.log != NULL)) {
		if (br->type == VIRTIO_BLK_T_IN && br->data_written) {
			vhost_req_log_data(req, br->data, br->ndata, br->data_len);
		} else if (br->type == VIRTIO_BLK_T_GET_ID) {
			vhost_req_log_data(req, br->data, br->ndata, used_len - 1);
		}
	}
	*br->status = status;
	vhost_req_log_buf(req, br->status, 1);
	if (br->holds) {
		struct blk_ctrlr *bc = req->q->backend;

		br->holds = false;
		if (--bc->inflight == 0 && vt_unlikely(bc->removed)) {
			vt_defer(&bc->release_defer, blk_release_deferred, bc);
		}
	}
	vhost_req_done(req, used_len);
}

static void
blk_io_done(struct vt_bdev_io *io, bool success, void *arg)
{
	struct vhost_req *req = arg;
	struct blk_req *br = vhost_req_ctx(req);

	if (vt_likely(success)) {
		blk_finish(req, VIRTIO_BLK_S_OK, br->used_len);
	} else {
		blk_finish(req, VIRTIO_BLK_S_IOERR, 1);
	}
}

static void blk_execute(struct vhost_req *req);

static void
blk_retry(void *arg)
{
	blk_execute(arg);
}

static void
blk_hold(struct blk_ctrlr *bc, struct blk_req *br)
{
	if (!br->holds) {
		br->holds = true;
		bc->inflight++;
	}
}

/* After a bdev submission: 0 in flight, -ENOMEM waits for an I/O object; else fails. */
static int
blk_submitted(struct vhost_req *req, int rc)
{
	struct blk_ctrlr *bc = req->q->backend;
	struct blk_req *br = vhost_req_ctx(req);

	if (vt_likely(rc == 0)) {
		blk_hold(bc, br);
		return 0;
	}
	if (rc == -ENOMEM) {
		blk_hold(bc, br);
		br->wait.bdev = bc->bdev;
		br->wait.cb_fn = blk_retry;
		br->wait.cb_arg = req;
		if (vt_bdev_queue_io_wait(bc->bdev, bc->ch, &br->wait) == 0) {
			return 0;
		}
	}
	return rc;
}

static uint8_t
errno_status(int rc)
{
	return rc == -ENOTSUP ? VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_IOERR;
}

static void
blk_segs_maybe_finish(struct vhost_req *req)
{
	struct blk_req *br = vhost_req_ctx(req);

	if (br->pending == 0 && (br->next_seg == br->nseg || br->seg_failed)) {
		blk_finish(req, br->seg_failed ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK, 1);
	}
}

static void
blk_seg_done(struct vt_bdev_io *io, bool success, void *arg)
{
	struct vhost_req *req = arg;
	struct blk_req *br = vhost_req_ctx(req);

	br->pending--;
	if (!success) {
		br->seg_failed = true;
	}
	blk_segs_maybe_finish(req);
}

static void
blk_segs_continue(struct vhost_req *req)
{
	struct blk_ctrlr *bc = req->q->backend;
	struct blk_req *br = vhost_req_ctx(req);
	bool wz = br->type == VIRTIO_BLK_T_WRITE_ZEROES;
	int rc;

	if (bc->removed) {
		br->seg_failed = true;
	}
	while (!br->seg_failed && br->next_seg < br->nseg) {
		struct virtio_blk_discard_write_zeroes *seg = &br->segs[br->next_seg];

		if (seg->num_sectors == 0) {
			br->next_seg++;
			continue;
		}
		if (wz) {
			rc = vt_bdev_write_zeroes_blocks(bc->desc, bc->ch, seg->sector,
							 seg->num_sectors, blk_seg_done, req);
		} else {
			rc = vt_bdev_unmap_blocks(bc->desc, bc->ch, seg->sector, seg->num_sectors,
						  blk_seg_done, req);
		}
		if (rc == -ENOMEM) {
			if (blk_submitted(req, rc) == 0) {
				return; /* blk_retry continues from this range */
			}
		}
		if (rc != 0) {
			br->seg_failed = true;
			break;
		}
		blk_hold(bc, br);
		br->pending++;
		br->next_seg++;
	}
	blk_segs_maybe_finish(req);
}

/* Sends a checked request to the bdev (first time, or again after -ENOMEM). */
static void
blk_execute(struct vhost_req *req)
{
	struct blk_ctrlr *bc = req->q->backend;
	struct blk_req *br = vhost_req_ctx(req);
	int rc;

	if (br->type == VIRTIO_BLK_T_DISCARD || br->type == VIRTIO_BLK_T_WRITE_ZEROES) {
		blk_segs_continue(req);
		return;
	}
	if (vt_unlikely(bc->removed)) {
		blk_finish(req, VIRTIO_BLK_S_IOERR, 1);
		return;
	}
	switch (br->type) {
	case VIRTIO_BLK_T_IN:
		br->data_written = true;
		rc = vt_bdev_readv_blocks(bc->desc, bc->ch, br->data, br->ndata, br->offset_blocks,
					  br->num_blocks, blk_io_done, req);
		break;
	case VIRTIO_BLK_T_OUT:
		rc = vt_bdev_writev_blocks(bc->desc, bc->ch, br->data, br->ndata, br->offset_blocks,
					   br->num_blocks, 0, blk_io_done, req);
		break;
	default: /* VIRTIO_BLK_T_FLUSH */
		rc = vt_bdev_flush_blocks(bc->desc, bc->ch, 0, bc->num_blocks, blk_io_done, req);
		break;
	}
	rc = blk_submitted(req, rc);
	if (vt_unlikely(rc != 0)) {
		blk_finish(req, errno_status(rc), 1);
	}
}

/*
 * Finds the header, the status byte and the data segments in place. Returns 0, a status to
 * answer at once (a header shorter than 16 bytes), or -1 when there is no writable byte for the
 * status.
 */
static int
blk_parse(struct blk_req *br, struct vhost_vq_chain *c)
{
	struct virtio_blk_outhdr hdr;
	struct iovec *iov = c->iov;
	uint32_t nr = c->nreadable;
	struct iovec *last;

	if (vt_unlikely(c->write_len == 0 || c->niov == 0)) {
		return -1;
	}
	last = &iov[c->niov - 1];
	br->status = (uint8_t *)last->iov_base + last->iov_len - 1;
	br->holds = false;
	br->data_written = false;
	br->used_len = 1;
	if (vt_likely(nr > 0 && iov[0].iov_len >= BLK_HDR_SIZE)) {
		memcpy(&hdr, iov[0].iov_base, BLK_HDR_SIZE);
	} else if (c->read_len >= BLK_HDR_SIZE) {
		vt_iov_to_buf(iov, (int)nr, &hdr, BLK_HDR_SIZE);
	} else {
		return VIRTIO_BLK_S_IOERR;
	}
	br->type = le32toh(hdr.type);
	br->sector = le64toh(hdr.sector);
	if (br->type == VIRTIO_BLK_T_OUT || br->type == VIRTIO_BLK_T_DISCARD ||
	    br->type == VIRTIO_BLK_T_WRITE_ZEROES) {
		/* Data: the device-readable bytes after the header. */
		uint32_t i = 0, skip = BLK_HDR_SIZE;

		while (skip > 0) {
			if (iov[i].iov_len > skip) {
				iov[i].iov_base = (uint8_t *)iov[i].iov_base + skip;
				iov[i].iov_len -= skip;
				skip = 0;
			} else {
				skip -= (uint32_t)iov[i].iov_len;
				i++;
			}
		}
		br->data = &iov[i];
		br->ndata = (int)(nr - i);
		br->data_len = c->read_len - BLK_HDR_SIZE;
	} else {
		/* Data: the device-writable bytes before the status byte. */
		last->iov_len--;
		br->data = &iov[nr];
		br->ndata = (int)(c->niov - nr) - (last->iov_len == 0 ? 1 : 0);
		br->data_len = c->write_len - 1;
	}
	return 0;
}

/* Byte range [sector * 512, + len) as whole blocks inside the device, or false. */
static bool
blk_range(const struct blk_ctrlr *bc, uint64_t sector, uint64_t len, uint64_t *offset_blocks,
	  uint64_t *num_blocks)
{
	uint64_t off;

	if (sector > (UINT64_MAX >> SECTOR_SHIFT)) {
		return false;
	}
	off = sector << SECTOR_SHIFT;
	if (((off | len) & bc->block_mask) != 0) {
		return false;
	}
	*offset_blocks = off >> bc->block_shift;
	*num_blocks = len >> bc->block_shift;
	return *offset_blocks <= bc->num_blocks && *num_blocks <= bc->num_blocks - *offset_blocks;
}

static int
blk_check_rw(const struct blk_ctrlr *bc, struct blk_req *br)
{
	if (br->type == VIRTIO_BLK_T_OUT && bc->readonly) {
		return VIRTIO_BLK_S_IOERR;
	}
	if (vt_unlikely((br->data_len & ((1u << SECTOR_SHIFT) - 1)) != 0 ||
			!blk_range(bc, br->sector, br->data_len, &br->offset_blocks,
				   &br->num_blocks))) {
		return VIRTIO_BLK_S_IOERR;
	}
	if (vt_unlikely(br->num_blocks == 0)) {
		return VIRTIO_BLK_S_OK; /* nothing to transfer; the sector was in range */
	}
	if (br->type == VIRTIO_BLK_T_IN) {
		br->used_len = br->data_len + 1;
	}
	return BLK_EXEC;
}

static int
blk_check_segs(const struct blk_ctrlr *bc, struct blk_req *br)
{
	bool wz = br->type == VIRTIO_BLK_T_WRITE_ZEROES;
	uint32_t max_sectors = wz ? bc->max_write_zeroes_sectors : bc->max_discard_sectors;
	uint32_t n = br->data_len / sizeof(br->segs[0]);

	if (!(wz ? bc->write_zeroes : bc->discard)) {
		return bc->readonly ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_UNSUPP;
	}
	if (br->data_len == 0 || br->data_len % sizeof(br->segs[0]) != 0 ||
	    n > VHOST_BLK_MAX_DWZ_SEGS) {
		return VIRTIO_BLK_S_IOERR;
	}
	/* One copy out of guest memory; every later use reads the copy. */
	vt_iov_to_buf(br->data, br->ndata, br->segs, br->data_len);
	for (uint32_t i = 0; i < n; i++) {
		struct virtio_blk_discard_write_zeroes *seg = &br->segs[i];
		uint32_t flags = le32toh(seg->flags), num = le32toh(seg->num_sectors);
		uint64_t ob, nb;

		/* DISCARD takes no flag; WRITE_ZEROES takes UNMAP. */
		if (wz ? (flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) != 0 : flags != 0) {
			return VIRTIO_BLK_S_UNSUPP;
		}
		if (num > max_sectors ||
		    !blk_range(bc, le64toh(seg->sector), (uint64_t)num << SECTOR_SHIFT, &ob, &nb)) {
			return VIRTIO_BLK_S_IOERR;
		}
		seg->sector = ob;
		seg->num_sectors = (uint32_t)nb;
	}
	br->nseg = (uint16_t)n;
	br->next_seg = 0;
	br->pending = 0;
	br->seg_failed = false;
	return BLK_EXEC;
}

static int
blk_get_id(const struct blk_ctrlr *bc, struct blk_req *br)
{
	char id[VIRTIO_BLK_ID_BYTES] = { 0 };
	size_t n = strnlen(bc->bdev_name, sizeof(id));

	/* The bdev name, zero-padded; not NUL-terminated when it is 20 bytes long. */
	memcpy(id, bc->bdev_name, n);
	n = VT_MIN((size_t)br->data_len, sizeof(id));
	vt_iov_from_buf(br->data, br->ndata, id, n);
	br->used_len = (uint32_t)n + 1;
	return VIRTIO_BLK_S_OK;
}

/* The checks of one request: BLK_EXEC, or the status to answer without the bdev. */
static int
blk_check(const struct blk_ctrlr *bc, struct blk_req *br)
{
	if (vt_unlikely(bc->removed)) {
		return VIRTIO_BLK_S_IOERR;
	}
	switch (br->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return blk_check_rw(bc, br);
	case VIRTIO_BLK_T_FLUSH:
		/* Without a volatile cache (or a way to flush it) the data is already stable. */
		return bc->flush ? BLK_EXEC : VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		return blk_get_id(bc, br);
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return blk_check_segs(bc, br);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/* A chain vhost_vq_pop rejected: IOERR in its last byte when that byte is writable. */
static void
blk_malformed(struct vhost_req *req)
{
	uint8_t *tail = req->chain.err_tail;

	if (tail == NULL) {
		vhost_req_fail_queue(req, vhost_vq_err_str(req->chain.err));
		return;
	}
	*tail = VIRTIO_BLK_S_IOERR;
	vhost_req_log_buf(req, tail, 1);
	vhost_req_done(req, 1);
}

static void
blk_submit(struct vhost_req *req)
{
	struct blk_ctrlr *bc = req->q->backend;
	struct blk_req *br = vhost_req_ctx(req);
	int rc;

	if (vt_unlikely(req->chain.err != VHOST_VQ_OK)) {
		blk_malformed(req);
		return;
	}
	rc = blk_parse(br, &req->chain);
	if (vt_unlikely(rc < 0)) {
		vhost_req_fail_queue(req, "a request without a writable status byte");
		return;
	}
	if (vt_likely(rc == 0)) {
		rc = blk_check(bc, br);
		if (vt_likely(rc == BLK_EXEC)) {
			blk_execute(req);
			return;
		}
	}
	blk_finish(req, (uint8_t)rc, rc == VIRTIO_BLK_S_OK ? br->used_len : 1);
}

/* ---- controller life cycle (the controller's reactor) ---------------------------------------- */

/* Opens the bdev read-only, then a claim makes the descriptor writable: exclusive, or shared with
 * other blk controllers created with "shared". */
static int
blk_open(struct blk_ctrlr *bc, const char *dev_name, bool readonly, bool shared, char *err,
	 size_t errlen)
{
	char owner[VHOST_CTRLR_NAME_MAX + 32];
	int rc = vt_bdev_open(dev_name, false, blk_bdev_event, bc, &bc->desc);

	if (rc == -ENODEV) {
		snprintf(err, errlen, "bdev '%s' does not exist", dev_name);
		return rc;
	}
	if (rc != 0) {
		snprintf(err, errlen, "cannot open bdev '%s': %s", dev_name, vt_strerror(-rc));
		return rc;
	}
	if (!readonly) {
		vhost_claim_owner(bc->ctrlr, owner, sizeof(owner));
		rc = shared ? vt_bdev_claim_shared(bc->desc, owner, VHOST_BLK_CLAIM_OWNER)
			    : vt_bdev_claim(bc->desc, owner);
		if (rc != 0 && vt_bdev_is_read_only(vt_bdev_desc_get_bdev(bc->desc))) {
			snprintf(err, errlen,
				 "bdev '%s' is read-only: create the controller readonly",
				 dev_name);
			return -EPERM;
		}
		if (rc == -EPERM || rc == -EBUSY) {
			return vhost_claimed_error(dev_name, err, errlen);
		}
		if (rc != 0) {
			snprintf(err, errlen, "cannot claim bdev '%s': %s", dev_name,
				 vt_strerror(-rc));
			return rc;
		}
	}
	bc->bdev = vt_bdev_desc_get_bdev(bc->desc);
	bc->ch = vt_bdev_get_io_channel(bc->desc);
	if (bc->ch == NULL) {
		snprintf(err, errlen, "cannot get an I/O channel of bdev '%s'", dev_name);
		return -ENOMEM;
	}
	return 0;
}

int
vhost_blk_backend_create(struct vhost_ctrlr *c, const char *dev_name, bool readonly, bool shared,
			 bool packed_ring, char *err, size_t errlen)
{
	struct blk_ctrlr *bc = calloc(1, sizeof(*bc));
	int rc;

	if (bc == NULL || (bc->bdev_name = vt_strdup(dev_name)) == NULL) {
		free(bc);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&bc->cfg_lock, NULL);
	atomic_init(&bc->gone, false);
	bc->ctrlr = c;
	rc = blk_open(bc, dev_name, readonly, shared, err, errlen);
	if (rc != 0) {
		blk_release(bc);
		blk_free(bc);
		return rc;
	}
	bc->readonly = readonly;
	bc->shared = shared && !readonly;
	bc->packed_ring = packed_ring;
	blk_info_from_bdev(bc->bdev, readonly, &bc->info);
	bc->num_blocks = bc->info.num_blocks;
	bc->block_shift = (uint32_t)__builtin_ctz(bc->info.block_size);
	bc->block_mask = bc->info.block_size - 1;
	/* FLUSH reaches the bdev only when there is a volatile cache to write back. */
	bc->flush = bc->info.flush && bc->info.write_cache && !readonly;
	bc->discard = bc->info.unmap && !readonly;
	bc->write_zeroes = bc->info.write_zeroes && !readonly;
	blk_config_build(&bc->info, &bc->cfg);
	bc->max_discard_sectors = le32toh(bc->cfg.max_discard_sectors);
	bc->max_write_zeroes_sectors = le32toh(bc->cfg.max_write_zeroes_sectors);
	c->backend = bc;
	c->features = blk_features(&bc->info, packed_ring);
	c->protocol_features = BLK_PROTOCOL_FEATURES;
	return 0;
}

static void
blk_remove(struct vhost_ctrlr *c, void (*done)(void *arg), void *arg)
{
	struct blk_ctrlr *bc = c->backend;

	c->backend = NULL;
	bc->ctrlr = NULL;
	if (bc->release_defer.queued) {
		/* The deferred release frees it and goes on with the removal. */
		bc->free_on_release = true;
		bc->removed_fn = done;
		bc->removed_arg = arg;
		return;
	}
	blk_release(bc);
	blk_free(bc);
	done(arg);
}

/* ---- JSON (reactor 0) ------------------------------------------------------------------------ */

static void
blk_dump_info_json(struct vhost_ctrlr *c, struct vt_json_write_ctx *w)
{
	struct blk_ctrlr *bc = c->backend;

	vt_json_write_named_object_begin(w, "block");
	vt_json_write_named_bool(w, "readonly", bc->readonly);
	if (atomic_load(&bc->gone)) {
		vt_json_write_named_null(w, "bdev");
	} else {
		vt_json_write_named_string(w, "bdev", bc->bdev_name);
	}
	vt_json_write_named_string(w, "transport", VHOST_BLK_TRANSPORT);
	vt_json_write_named_bool(w, "packed_ring", bc->packed_ring);
	vt_json_write_named_bool(w, "shared", bc->shared);
	vt_json_write_object_end(w);
}

static void
blk_write_config_json(struct vhost_ctrlr *c, struct vt_json_write_ctx *w)
{
	struct blk_ctrlr *bc = c->backend;
	char mask[VT_CPUSET_FMT_LEN];

	if (atomic_load(&bc->gone)) {
		return; /* its bdev is gone: nothing to recreate it on */
	}
	vt_json_write_object_begin(w);
	vt_json_write_named_string(w, "method", "vhost_create_blk_controller");
	vt_json_write_named_object_begin(w, "params");
	vt_json_write_named_string(w, "ctrlr", c->name);
	vt_json_write_named_string(w, "dev_name", bc->bdev_name);
	vt_json_write_named_string(w, "cpumask", vt_cpuset_fmt(&c->cpumask, mask, sizeof(mask)));
	vt_json_write_named_bool(w, "readonly", bc->readonly);
	vt_json_write_named_bool(w, "packed_ring", bc->packed_ring);
	vt_json_write_named_string(w, "transport", VHOST_BLK_TRANSPORT);
	if (bc->shared) {
		vt_json_write_named_bool(w, "shared", true); /* vtarget's extension */
	}
	vt_json_write_object_end(w);
	vt_json_write_object_end(w);
}

const struct vhost_backend_ops g_vhost_blk_ops = {
	.name = VHOST_BLK_TRANSPORT,
	.json_key = "block",
	.req_ctx_size = sizeof(struct blk_req),
	.req_submit = blk_submit,
	.get_config = blk_get_config,
	.dump_info_json = blk_dump_info_json,
	.write_config_json = blk_write_config_json,
	.remove = blk_remove,
};
