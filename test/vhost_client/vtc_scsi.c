/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-scsi requests: commands on the request queues (queue 2 and up), task management on the
 * control queue (0), event buffers on the event queue (1).
 */

#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "vtc_internal.h"

_Static_assert(sizeof(struct virtio_scsi_cmd_req) == 51, "virtio-scsi request header size");
_Static_assert(sizeof(struct virtio_scsi_cmd_resp) == 108, "virtio-scsi response header size");
_Static_assert(sizeof(struct virtio_scsi_event) == 16, "virtio-scsi event size");
_Static_assert(sizeof(struct virtio_scsi_ctrl_tmf_req) == 24, "virtio-scsi TMF request size");

void
vtc_scsi_opts_init(struct vtc_dev_opts *opts)
{
	vtc_dev_opts_init(opts);
	opts->features = VTC_RING_FEATURES | VTC_SCSI_FEATURES;
	opts->config_size = sizeof(struct virtio_scsi_config);
	opts->num_queues = VTC_SCSI_FIRST_REQ_QUEUE + 1;
	/* Event waits last seconds: sleep on the call eventfds rather than spin. */
	opts->interrupt = true;
}

void
vtc_scsi_config(const struct vtc_dev *dev, struct virtio_scsi_config *cfg)
{
	struct virtio_scsi_config raw;

	/* GET_CONFIG stored the bytes as they came; the scsi layout is smaller than blk's. */
	_Static_assert(sizeof(raw) <= sizeof(dev->config), "config space buffer");
	memcpy(&raw, &dev->config, sizeof(raw));
	cfg->num_queues = le32toh(raw.num_queues);
	cfg->seg_max = le32toh(raw.seg_max);
	cfg->max_sectors = le32toh(raw.max_sectors);
	cfg->cmd_per_lun = le32toh(raw.cmd_per_lun);
	cfg->event_info_size = le32toh(raw.event_info_size);
	cfg->sense_size = le32toh(raw.sense_size);
	cfg->cdb_size = le32toh(raw.cdb_size);
	cfg->max_channel = le16toh(raw.max_channel);
	cfg->max_target = le16toh(raw.max_target);
	cfg->max_lun = le32toh(raw.max_lun);
}

void
vtc_scsi_lun(uint8_t lun[8], uint8_t target, uint16_t lun_id)
{
	memset(lun, 0, 8);
	lun[0] = 1;
	lun[1] = target;
	/* Flat space addressing (01b in the top bits), as Linux's virtio_scsi does. */
	lun[2] = (uint8_t)(0x40 | ((lun_id >> 8) & 0x3f));
	lun[3] = (uint8_t)lun_id;
}

/* ---- commands ------------------------------------------------------------------------------ */

void
vtc_scsi_cdb_rw16(uint8_t *cdb, uint8_t opcode, uint64_t lba, uint32_t nblocks)
{
	memset(cdb, 0, 16);
	cdb[0] = opcode;
	for (int i = 0; i < 8; i++) {
		cdb[2 + i] = (uint8_t)(lba >> (56 - 8 * i));
	}
	for (int i = 0; i < 4; i++) {
		cdb[10 + i] = (uint8_t)(nblocks >> (24 - 8 * i));
	}
}

int
vtc_scsi_req_init(struct vtc_mem *mem, struct vtc_scsi_req *req, uint32_t data_cap)
{
	memset(req, 0, sizeof(*req));
	req->hdr = vtc_mem_alloc(mem, sizeof(*req->hdr), 64, &req->hdr_gpa);
	req->resp = vtc_mem_alloc(mem, sizeof(*req->resp), 64, &req->resp_gpa);
	if (req->hdr == NULL || req->resp == NULL) {
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

/* Fills req's header for cmd and describes its chain in bufs (4 at most); n or -EINVAL. */
static int
scsi_req_bufs(struct vtc_scsi_req *req, const struct vtc_scsi_cmd *cmd, struct vtc_buf *bufs)
{
	uint16_t n = 0;

	if ((uint64_t)cmd->out_len + cmd->in_len > req->data_cap) {
		VT_ERRLOG("invalid virtio-scsi command: %u data-out and %u data-in bytes "
			  "(buffer %u)",
			  cmd->out_len, cmd->in_len, req->data_cap);
		return -EINVAL;
	}
	memset(req->hdr, 0, sizeof(*req->hdr));
	memcpy(req->hdr->lun, cmd->lun, sizeof(req->hdr->lun));
	req->hdr->tag = htole64(cmd->tag);
	req->hdr->task_attr = VIRTIO_SCSI_S_SIMPLE;
	memcpy(req->hdr->cdb, cmd->cdb, sizeof(req->hdr->cdb));
	memset(req->resp, 0xff, sizeof(*req->resp));
	req->out_len = cmd->out_len;
	req->in_len = cmd->in_len;

	bufs[n++] = (struct vtc_buf){ .gpa = req->hdr_gpa, .len = sizeof(*req->hdr) };
	if (cmd->out_len > 0) {
		bufs[n++] = (struct vtc_buf){ .gpa = req->data_gpa, .len = cmd->out_len };
	}
	bufs[n++] =
		(struct vtc_buf){ .gpa = req->resp_gpa, .len = sizeof(*req->resp), .write = true };
	if (cmd->in_len > 0) {
		/* After the data-out bytes, so a bidirectional command keeps both. */
		bufs[n++] = (struct vtc_buf){ .gpa = req->data_gpa + cmd->out_len,
					      .len = cmd->in_len,
					      .write = true };
	}
	return n;
}

int
vtc_scsi_submit(struct vtc_vq *vq, struct vtc_scsi_req *req, const struct vtc_scsi_cmd *cmd,
		uint32_t flags)
{
	struct vtc_buf bufs[4];
	int n = scsi_req_bufs(req, cmd, bufs);

	if (n < 0) {
		return n;
	}
	return vtc_vq_submit(vq, bufs, (uint16_t)n, flags, req);
}

bool
vtc_scsi_sense_decode(const uint8_t *sense, uint32_t len, uint8_t *key, uint8_t *asc, uint8_t *ascq)
{
	uint8_t code = len > 0 ? sense[0] & 0x7f : 0;

	if ((code == 0x70 || code == 0x71) && len >= 14) {
		*key = sense[2] & 0x0f;
		*asc = sense[12];
		*ascq = sense[13];
		return true;
	}
	if ((code == 0x72 || code == 0x73) && len >= 4) {
		*key = sense[1] & 0x0f;
		*asc = sense[2];
		*ascq = sense[3];
		return true;
	}
	return false;
}

void
vtc_scsi_result_parse(const struct vtc_scsi_req *req, uint32_t used_len,
		      struct vtc_scsi_result *res)
{
	const struct virtio_scsi_cmd_resp *r = req->resp;

	memset(res, 0, sizeof(*res));
	res->used_len = used_len;
	res->response = r->response;
	res->status = r->status;
	res->resid = le32toh(r->resid);
	res->sense_len = le32toh(r->sense_len);
	/* A device may claim more sense than the field holds: keep what is there. */
	memcpy(res->sense, r->sense, sizeof(res->sense));
	vtc_scsi_sense_decode(res->sense,
			      res->sense_len < sizeof(res->sense) ? res->sense_len
								  : (uint32_t)sizeof(res->sense),
			      &res->sense_key, &res->asc, &res->ascq);
}

int
vtc_scsi_cmd_sync(struct vtc_dev *dev, uint16_t q, struct vtc_scsi_req *req,
		  const struct vtc_scsi_cmd *cmd, struct vtc_scsi_result *res)
{
	struct vtc_buf bufs[4];
	struct vtc_vq *vq;
	uint32_t len;
	int n, rc;

	if (q < VTC_SCSI_FIRST_REQ_QUEUE) {
		VT_ERRLOG("queue %u of '%s' is not a request queue", q, dev->opts.path);
		return -EINVAL;
	}
	if (vtc_dev_idle_vq(dev, q, &vq) != 0) {
		return -EINVAL;
	}
	n = scsi_req_bufs(req, cmd, bufs);
	if (n < 0) {
		return n;
	}
	rc = vtc_vq_submit_sync(vq, bufs, (uint16_t)n, 0, &len);
	if (rc == 0) {
		vtc_scsi_result_parse(req, len, res);
	}
	return rc;
}

/* ---- control queue ------------------------------------------------------------------------- */

int
vtc_scsi_tmf(struct vtc_dev *dev, uint32_t subtype, const uint8_t lun[8], uint64_t tag,
	     uint8_t *response)
{
	struct vtc_mem_mark mark;
	struct vtc_vq *vq;
	struct virtio_scsi_ctrl_tmf_req *req;
	struct virtio_scsi_ctrl_tmf_resp *resp;
	struct vtc_buf bufs[2];
	uint32_t len = 0;
	int rc;

	if (vtc_dev_idle_vq(dev, VTC_SCSI_CTRL_QUEUE, &vq) != 0) {
		return -EINVAL;
	}
	vtc_mem_mark(&dev->mem, &mark);
	req = vtc_mem_alloc(&dev->mem, sizeof(*req), 64, &bufs[0].gpa);
	resp = vtc_mem_alloc(&dev->mem, sizeof(*resp), 64, &bufs[1].gpa);
	if (req == NULL || resp == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	req->type = htole32(VIRTIO_SCSI_T_TMF);
	req->subtype = htole32(subtype);
	memcpy(req->lun, lun, sizeof(req->lun));
	req->tag = htole64(tag);
	resp->response = 0xff;
	bufs[0].len = sizeof(*req);
	bufs[0].write = false;
	bufs[1].len = sizeof(*resp);
	bufs[1].write = true;
	rc = vtc_vq_submit_sync(vq, bufs, 2, 0, &len);
	if (rc == 0 && len < sizeof(*resp)) {
		VT_ERRLOG("TMF on '%s' completed with used length %u", dev->opts.path, len);
		rc = -EPROTO;
	}
	if (rc == 0) {
		*response = resp->response;
	}
out:
	vtc_mem_release(&dev->mem, &mark);
	return rc;
}

/* ---- event queue --------------------------------------------------------------------------- */

int
vtc_scsi_event_post(struct vtc_dev *dev, struct virtio_scsi_event *buf)
{
	struct vtc_vq *vq = vtc_dev_vq(dev, VTC_SCSI_EVENT_QUEUE);
	struct vtc_buf b = { .len = sizeof(*buf), .write = true };
	int rc;

	if (vq == NULL || !vq->started) {
		VT_ERRLOG("the event queue of '%s' is not started", dev->opts.path);
		return -EINVAL;
	}
	rc = vtc_mem_host_to_gpa(&dev->mem, buf, sizeof(*buf), &b.gpa);
	if (rc != 0) {
		VT_ERRLOG("event buffer %p is not in the guest memory of '%s'", (void *)buf,
			  dev->opts.path);
		return rc;
	}
	memset(buf, 0, sizeof(*buf));
	rc = vtc_vq_submit(vq, &b, 1, 0, buf);
	if (rc < 0) {
		return rc;
	}
	return vtc_vq_kick(vq);
}

int
vtc_scsi_event_reap(struct vtc_dev *dev, struct vtc_scsi_event *evs, uint32_t max)
{
	struct vtc_vq *vq = vtc_dev_vq(dev, VTC_SCSI_EVENT_QUEUE);
	struct vtc_cpl cpls[32];
	int n;

	if (vq == NULL) {
		return -EINVAL;
	}
	n = vtc_vq_reap(vq, cpls, max < 32 ? max : 32);
	for (int i = 0; i < n; i++) {
		struct virtio_scsi_event *e = cpls[i].cookie;

		memset(&evs[i], 0, sizeof(evs[i]));
		evs[i].buf = e;
		evs[i].len = cpls[i].len;
		if (e == NULL || cpls[i].unknown) {
			VT_ERRLOG("event queue of '%s': completion of unknown id %u",
				  dev->opts.path, cpls[i].id);
			return -EPROTO;
		}
		if (cpls[i].len >= sizeof(*e)) {
			evs[i].event = le32toh(e->event);
			memcpy(evs[i].lun, e->lun, sizeof(evs[i].lun));
			evs[i].reason = le32toh(e->reason);
		}
	}
	return n;
}
