/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-blk requests: header, data, status; asynchronous submit and synchronous helpers. */

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vtc_internal.h"

/* Most data buffers vtc_blk_submit splits a request into. */
#define BLK_MAX_SEGS 1024

int
vtc_blk_req_init(struct vtc_mem *mem, struct vtc_blk_req *req, uint32_t data_cap)
{
	memset(req, 0, sizeof(*req));
	req->hdr = vtc_mem_alloc(mem, sizeof(*req->hdr), 16, &req->hdr_gpa);
	req->status = vtc_mem_alloc(mem, 1, 1, &req->status_gpa);
	if (req->hdr == NULL || req->status == NULL) {
		return -ENOMEM;
	}
	if (data_cap > 0) {
		req->data = vtc_mem_alloc(mem, data_cap, 4096, &req->data_gpa);
		if (req->data == NULL) {
			return -ENOMEM;
		}
	}
	req->data_cap = data_cap;
	return 0;
}

static bool
type_reads_data(uint32_t type)
{
	return type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
}

int
vtc_blk_submit(struct vtc_vq *vq, struct vtc_blk_req *req, uint32_t type, uint64_t sector,
	       uint32_t len, uint32_t flags)
{
	struct vtc_buf local[18];
	struct vtc_buf *bufs = local;
	uint32_t seg = req->seg_size ? req->seg_size : len;
	uint32_t nsegs = len ? (len + seg - 1) / seg : 0;
	uint16_t n = 0;
	int rc;

	if (len > req->data_cap || nsegs > BLK_MAX_SEGS) {
		VT_ERRLOG("invalid virtio-blk request: %u data bytes (buffer %u, segment size %u)",
			  len, req->data_cap, req->seg_size);
		return -EINVAL;
	}
	if (nsegs + 2 > sizeof(local) / sizeof(local[0])) {
		bufs = calloc(nsegs + 2, sizeof(*bufs));
		if (bufs == NULL) {
			return -ENOMEM;
		}
	}
	req->hdr->type = htole32(type);
	req->hdr->ioprio = 0;
	req->hdr->sector = htole64(sector);
	*req->status = 0xff;
	req->type = type;
	req->len = len;

	bufs[n++] = (struct vtc_buf){ .gpa = req->hdr_gpa, .len = sizeof(*req->hdr) };
	for (uint32_t off = 0; off < len; off += seg) {
		bufs[n++] = (struct vtc_buf){ .gpa = req->data_gpa + off,
					      .len = len - off < seg ? len - off : seg,
					      .write = type_reads_data(type) };
	}
	bufs[n++] = (struct vtc_buf){ .gpa = req->status_gpa, .len = 1, .write = true };

	rc = vtc_vq_submit(vq, bufs, n, flags, req);
	if (bufs != local) {
		free(bufs);
	}
	return rc;
}

/* Submits on queue q and waits for that request; returns its status or a negative errno. */
static int
blk_sync(struct vtc_dev *dev, uint16_t q, struct vtc_blk_req *req, uint32_t type, uint64_t sector,
	 uint32_t len, uint32_t flags)
{
	uint64_t deadline = vtc_now_ns() + (uint64_t)dev->opts.io_timeout_ms * 1000000ull;
	struct vtc_vq *vq;
	uint32_t used;
	int rc;

	rc = vtc_dev_idle_vq(dev, q, &vq);
	if (rc != 0) {
		return rc;
	}
	rc = vtc_blk_submit(vq, req, type, sector, len, flags);
	if (rc < 0) {
		return rc;
	}
	rc = vtc_vq_kick_wait(vq, req, deadline, &used);
	if (rc == -ETIMEDOUT) {
		VT_ERRLOG("virtio-blk request type %u sector %lu on queue %u of '%s': no "
			  "completion after %u ms",
			  type, (unsigned long)sector, q, dev->opts.path, dev->opts.io_timeout_ms);
	}
	return rc != 0 ? rc : *req->status;
}

/* The request and data pointer to use: buf itself when it is guest memory, else the bounce. */
static int
pick_req(struct vtc_dev *dev, void *buf, uint32_t len, struct vtc_blk_req *req, bool *bounced)
{
	uint64_t gpa;

	*bounced = false;
	if (!dev->bounce_ready) {
		VT_ERRLOG("device '%s' is not started", dev->opts.path);
		return -EINVAL;
	}
	*req = dev->bounce;
	if (len == 0 || buf == NULL) {
		return 0;
	}
	if (vtc_mem_host_to_gpa(&dev->mem, buf, len, &gpa) == 0) {
		req->data = buf;
		req->data_gpa = gpa;
		req->data_cap = len;
		return 0;
	}
	if (len > dev->bounce.data_cap) {
		VT_ERRLOG("request of %u bytes exceeds the bounce buffer (%u bytes); use guest "
			  "memory for larger buffers",
			  len, dev->bounce.data_cap);
		return -EINVAL;
	}
	*bounced = true;
	return 0;
}

int
vtc_blk_read(struct vtc_dev *dev, uint16_t q, uint64_t sector, void *buf, uint32_t len,
	     uint32_t flags)
{
	struct vtc_blk_req req;
	bool bounced;
	int rc;

	rc = pick_req(dev, buf, len, &req, &bounced);
	if (rc != 0) {
		return rc;
	}
	rc = blk_sync(dev, q, &req, VIRTIO_BLK_T_IN, sector, len, flags);
	if (rc == VIRTIO_BLK_S_OK && bounced) {
		memcpy(buf, req.data, len);
	}
	return rc;
}

int
vtc_blk_write(struct vtc_dev *dev, uint16_t q, uint64_t sector, const void *buf, uint32_t len,
	      uint32_t flags)
{
	struct vtc_blk_req req;
	bool bounced;
	int rc;

	rc = pick_req(dev, (void *)buf, len, &req, &bounced);
	if (rc != 0) {
		return rc;
	}
	if (bounced) {
		memcpy(req.data, buf, len);
	}
	return blk_sync(dev, q, &req, VIRTIO_BLK_T_OUT, sector, len, flags);
}

int
vtc_blk_flush(struct vtc_dev *dev, uint16_t q)
{
	struct vtc_blk_req req;
	bool bounced;
	int rc;

	rc = pick_req(dev, NULL, 0, &req, &bounced);
	return rc != 0 ? rc : blk_sync(dev, q, &req, VIRTIO_BLK_T_FLUSH, 0, 0, 0);
}

int
vtc_blk_get_id(struct vtc_dev *dev, uint16_t q, char id[VIRTIO_BLK_ID_BYTES])
{
	struct vtc_blk_req req;
	bool bounced;
	int rc;

	rc = pick_req(dev, NULL, 0, &req, &bounced);
	if (rc != 0) {
		return rc;
	}
	if (req.data_cap < VIRTIO_BLK_ID_BYTES) {
		return -EINVAL;
	}
	memset(req.data, 0, VIRTIO_BLK_ID_BYTES);
	rc = blk_sync(dev, q, &req, VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, 0);
	if (rc == VIRTIO_BLK_S_OK) {
		memcpy(id, req.data, VIRTIO_BLK_ID_BYTES);
	}
	return rc;
}

static int
blk_ranges(struct vtc_dev *dev, uint16_t q, uint32_t type, const struct vtc_blk_range *ranges,
	   uint32_t n)
{
	struct virtio_blk_discard_write_zeroes *wire;
	struct vtc_blk_req req;
	uint32_t len = n * (uint32_t)sizeof(*wire);
	bool bounced;
	int rc;

	rc = pick_req(dev, NULL, 0, &req, &bounced);
	if (rc != 0) {
		return rc;
	}
	if (n == 0 || n > req.data_cap / sizeof(*wire)) {
		VT_ERRLOG("invalid number of ranges %u", n);
		return -EINVAL;
	}
	wire = (struct virtio_blk_discard_write_zeroes *)req.data;
	for (uint32_t i = 0; i < n; i++) {
		wire[i].sector = htole64(ranges[i].sector);
		wire[i].num_sectors = htole32(ranges[i].num_sectors);
		wire[i].flags = htole32(ranges[i].flags);
	}
	return blk_sync(dev, q, &req, type, 0, len, 0);
}

int
vtc_blk_discard(struct vtc_dev *dev, uint16_t q, const struct vtc_blk_range *ranges, uint32_t n)
{
	return blk_ranges(dev, q, VIRTIO_BLK_T_DISCARD, ranges, n);
}

int
vtc_blk_write_zeroes(struct vtc_dev *dev, uint16_t q, const struct vtc_blk_range *ranges,
		     uint32_t n)
{
	return blk_ranges(dev, q, VIRTIO_BLK_T_WRITE_ZEROES, ranges, n);
}

const char *
vtc_blk_status_str(int status, char *buf, size_t len)
{
	switch (status) {
	case VIRTIO_BLK_S_OK:
		return "OK";
	case VIRTIO_BLK_S_IOERR:
		return "IOERR";
	case VIRTIO_BLK_S_UNSUPP:
		return "UNSUPP";
	default:
		if (status < 0) {
			snprintf(buf, len, "%s", strerror(-status));
		} else {
			snprintf(buf, len, "0x%02x", status);
		}
		return buf;
	}
}
