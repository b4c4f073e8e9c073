/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio-scsi personality: one controller = one HBA with up to 256 targets, each a lib/scsi
 * device with one LUN (LUN 0) backed by a bdev. Queue 0 is the control queue (task management,
 * asynchronous notification), queue 1 the event queue (its buffers are kept until an event is
 * sent), queues 2 and up carry commands.
 *
 * A command's chain is: virtio_scsi_cmd_req, data-out buffers (device-readable), then
 * virtio_scsi_cmd_resp and data-in buffers (device-writable). The guest's data buffers go to
 * lib/scsi unchanged as the task's iovecs; lib/scsi decides every case of a buffer that does not
 * fit the CDB, and the response carries its status, sense and residual (doc/scsi_conformance.md,
 * "transport rules"). The lib/scsi devices and the per-session ports live on the controller's
 * reactor, where every session of the controller runs. See doc/vhost_scsi.md.
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_scsi.h>

#include "vt/bdev.h"
#include "vt/event.h"
#include "vt/json.h"
#include "vt/log.h"
#include "vt/scsi.h"
#include "vt/util.h"

#include "lib/vhost/vhost_internal.h"
#include "lib/vhost/vhost_scsi.h"

#define SCSI_REQ_SIZE ((uint32_t)sizeof(struct virtio_scsi_cmd_req))
#define SCSI_RESP_SIZE ((uint32_t)sizeof(struct virtio_scsi_cmd_resp))
/* Pieces the response header may be cut in. */
#define SCSI_RESP_MAX_IOVS 8

/*
 * vhost-user protocol features of a scsi controller. No CONFIG: QEMU's vhost-user-scsi builds the
 * virtio-scsi config space from its own properties and never asks for ours, and warns at each
 * start when a back end offers CONFIG. GET_CONFIG is still answered if a front end sends it.
 */
#define SCSI_PROTOCOL_FEATURES                                                               \
	((1ull << VHOST_USER_PROTO_F_MQ) | (1ull << VHOST_USER_PROTO_F_REPLY_ACK) |          \
	 (1ull << VHOST_USER_PROTO_F_BACKEND_REQ) | (1ull << VHOST_USER_PROTO_F_LOG_SHMFD) | \
	 (1ull << VHOST_USER_PROTO_F_INFLIGHT_SHMFD))

_Static_assert(sizeof(struct virtio_scsi_cmd_req) == 51, "virtio-scsi request header size");
_Static_assert(sizeof(struct virtio_scsi_cmd_resp) == 108, "virtio-scsi response header size");
_Static_assert(sizeof(struct virtio_scsi_event) == 16, "virtio-scsi event size");
_Static_assert(sizeof(struct virtio_scsi_config) <= VHOST_USER_MAX_CONFIG_SIZE,
	       "config space size");

struct scsi_target {
	struct vt_scsi_dev *dev; /* NULL: no target with this number */
	char *bdev_name;
	bool removing;                         /* hot-detach under way: answers as if empty */
	bool lun_gone;                         /* lib/scsi finished the LUN's removal */
	void (*removed_cb)(void *arg, int rc); /* the remove RPC waiting for the end */
	void *removed_arg;
};

struct scsi_ctrlr {
	struct vhost_ctrlr *ctrlr;
	struct scsi_target tgt[VHOST_SCSI_MAX_TARGETS];
	char port_name[32]; /* the guest initiator's port name (stable per controller) */
	atomic_bool started;
	/* The management poller: frees removed targets once nothing references them. */
	struct vt_poller *mgmt_poller;
	uint32_t nremoving;            /* targets being removed */
	void (*deleted_fn)(void *arg); /* the controller is being deleted: call when empty */
	void *deleted_arg;
	/* Guards tgt[].dev / bdev_name against the JSON dumps on reactor 0. */
	pthread_mutex_t lock;
	struct virtio_scsi_config cfg; /* constant */
};

struct scsi_event {
	uint32_t event;
	uint32_t target;
	uint32_t reason;
};

/*
 * Per session: the initiator's ports, one per target, created on first use, and the events not
 * yet delivered (a ring of VHOST_SCSI_MAX_PENDING_EVENTS; when it is full the newest is dropped
 * and the next one delivered carries VIRTIO_SCSI_T_EVENTS_MISSED).
 */
struct scsi_session {
	struct scsi_ctrlr *sc;
	struct vt_scsi_port *port[VHOST_SCSI_MAX_TARGETS];
	struct scsi_event ev[VHOST_SCSI_MAX_PENDING_EVENTS];
	uint32_t ev_head;
	uint32_t ev_count;
	bool events_missed;
};

enum scsi_req_kind {
	SCSI_REQ_CMD,
	SCSI_REQ_TMF,
};

struct scsi_req {
	union {
		struct vt_scsi_task task;
		struct vt_scsi_tmf tmf;
	} u;
	struct vhost_req *req;
	struct iovec resp_iov[SCSI_RESP_MAX_IOVS]; /* the response header in guest memory */
	int resp_iovcnt;
	uint32_t target;
	enum scsi_req_kind kind;
};

/* ---- config space and features ------------------------------------------------------------- */

static uint64_t
scsi_features(void)
{
	return (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_ANY_LAYOUT) |
	       (1ull << VIRTIO_RING_F_INDIRECT_DESC) | (1ull << VIRTIO_RING_F_EVENT_IDX) |
	       (1ull << VHOST_USER_VIRTIO_F_PROTOCOL_FEATURES) | (1ull << VIRTIO_F_RING_PACKED) |
	       (1ull << VHOST_USER_F_LOG_ALL) | (1ull << VIRTIO_SCSI_F_HOTPLUG) |
	       (1ull << VIRTIO_SCSI_F_CHANGE);
}

static void
scsi_config_build(struct virtio_scsi_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->num_queues = htole32(VHOST_MAX_QUEUES - VHOST_SCSI_FIRST_REQ_QUEUE);
	cfg->seg_max = htole32(VHOST_SCSI_SEG_MAX);
	cfg->max_sectors = htole32(VHOST_SCSI_MAX_SECTORS);
	cfg->cmd_per_lun = htole32(VHOST_SCSI_CMD_PER_LUN);
	cfg->event_info_size = htole32((uint32_t)sizeof(struct virtio_scsi_event));
	cfg->sense_size = htole32(VHOST_SCSI_SENSE_SIZE);
	cfg->cdb_size = htole32(VHOST_SCSI_CDB_SIZE);
	cfg->max_channel = htole16(0);
	cfg->max_target = htole16(VHOST_SCSI_MAX_TARGETS - 1);
	cfg->max_lun = htole32(0);
}

static void
scsi_get_config(struct vhost_ctrlr *c, uint8_t *buf, uint32_t len)
{
	struct scsi_ctrlr *sc = c->backend;

	memset(buf, 0, len);
	memcpy(buf, &sc->cfg, VT_MIN(len, (uint32_t)sizeof(sc->cfg)));
}

/* ---- LUN addressing -------------------------------------------------------------------------- */

/*
 * virtio-scsi's single-level LUN: byte 0 is 1, byte 1 the target, bytes 2-3 the LUN (flat or
 * peripheral addressing). Returns false when byte 0 is not 1.
 */
static bool
scsi_decode_lun(const uint8_t lun[8], uint32_t *target, uint64_t *lun_id)
{
	if (lun[0] != 1) {
		return false;
	}
	*target = lun[1];
	*lun_id = (((uint64_t)lun[2] << 8) | lun[3]) & 0x3fff;
	return true;
}

/* The target's device when it exists and is not being removed, else NULL. */
static struct vt_scsi_dev *
scsi_target_dev(struct scsi_ctrlr *sc, uint32_t target)
{
	struct scsi_target *t = &sc->tgt[target];

	return t->removing ? NULL : t->dev;
}

static inline struct vt_scsi_port *
scsi_session_port(struct scsi_session *ss, uint32_t target)
{
	struct vt_scsi_dev *dev = scsi_target_dev(ss->sc, target);

	if (dev == NULL) {
		return NULL;
	}
	if (ss->port[target] == NULL) {
		ss->port[target] = vt_scsi_port_create(dev, ss->sc->port_name);
	}
	return ss->port[target];
}

/* ---- responses ------------------------------------------------------------------------------- */

/* scsi_split_writable for a header cut in pieces (or a chain too short for it). */
static bool
scsi_split_writable_pieces(struct scsi_req *sr, struct vhost_vq_chain *c, uint32_t hdr_len,
			   struct iovec **data, int *ndata)
{
	uint32_t i = c->nreadable, left = hdr_len;

	if (c->write_len < hdr_len) {
		return false;
	}
	sr->resp_iovcnt = 0;
	while (left > 0) {
		struct iovec *iov = &c->iov[i];
		uint32_t n = (uint32_t)VT_MIN((uint64_t)left, (uint64_t)iov->iov_len);

		if (sr->resp_iovcnt == SCSI_RESP_MAX_IOVS) {
			return false;
		}
		sr->resp_iov[sr->resp_iovcnt].iov_base = iov->iov_base;
		sr->resp_iov[sr->resp_iovcnt].iov_len = n;
		sr->resp_iovcnt++;
		left -= n;
		if (n == iov->iov_len) {
			i++;
		} else {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= n;
		}
	}
	*data = &c->iov[i];
	*ndata = (int)(c->niov - i);
	return true;
}

/*
 * Splits the device-writable part of a chain into the response header (resp_iov) and the data-in
 * buffers (in place). Returns false when the header does not fit or is cut in too many pieces.
 */
static inline bool
scsi_split_writable(struct scsi_req *sr, struct vhost_vq_chain *c, uint32_t hdr_len,
		    struct iovec **data, int *ndata)
{
	uint32_t i = c->nreadable;
	struct iovec *iov = &c->iov[i];

	/* The usual layout: the header alone in the first writable buffer, or at its start. */
	if (vt_unlikely(c->write_len < hdr_len || iov->iov_len < hdr_len)) {
		return scsi_split_writable_pieces(sr, c, hdr_len, data, ndata);
	}
	sr->resp_iov[0].iov_base = iov->iov_base;
	sr->resp_iov[0].iov_len = hdr_len;
	sr->resp_iovcnt = 1;
	if (iov->iov_len == hdr_len) {
		i++;
	} else {
		iov->iov_base = (uint8_t *)iov->iov_base + hdr_len;
		iov->iov_len -= hdr_len;
	}
	*data = &c->iov[i];
	*ndata = (int)(c->niov - i);
	return true;
}

/* Skips the request header in the device-readable iovecs; the data-out buffers follow. */
static void
scsi_skip_readable(struct vhost_vq_chain *c, uint32_t hdr_len, struct iovec **data, int *ndata)
{
	uint32_t i = 0, skip = hdr_len;

	if (vt_likely(c->iov[0].iov_len == hdr_len)) {
		/* The usual layout: the header alone in the first buffer. */
		*data = &c->iov[1];
		*ndata = (int)c->nreadable - 1;
		return;
	}
	while (skip > 0) {
		if (c->iov[i].iov_len > skip) {
			c->iov[i].iov_base = (uint8_t *)c->iov[i].iov_base + skip;
			c->iov[i].iov_len -= skip;
			skip = 0;
		} else {
			skip -= (uint32_t)c->iov[i].iov_len;
			i++;
		}
	}
	*data = &c->iov[i];
	*ndata = (int)(c->nreadable - i);
}

/* Writes the response header (and logs it while migrating). */
static void
scsi_write_resp(struct scsi_req *sr, const void *buf, size_t len)
{
	size_t n = len;

	if (vt_likely(sr->resp_iovcnt == 1 && sr->resp_iov[0].iov_len >= len)) {
		/* The usual case, the header in one buffer: a copy of a known size. */
		memcpy(sr->resp_iov[0].iov_base, buf, len);
	} else {
		n = vt_iov_from_buf(sr->resp_iov, sr->resp_iovcnt, buf, len);
	}
	vhost_req_log_iov(sr->req, sr->resp_iov, sr->resp_iovcnt, n);
}

/* The virtio-scsi response of a task lib/scsi (or the transport) completed. */
static inline void
scsi_task_to_resp(const struct vt_scsi_task *task, struct virtio_scsi_cmd_resp *resp)
{
	static const struct virtio_scsi_cmd_resp zero;
	int64_t resid = task->residual > 0 ? task->residual : 0;

	/* A copy of a known size from a constant: the compiler writes it with a few vector
	 * stores, where memset would be a call. */
	memcpy(resp, &zero, sizeof(*resp));
	if (resid > task->transfer_len) {
		resid = task->transfer_len;
	}
	resp->resid = htole32((uint32_t)resid);
	resp->status = task->status;
	resp->response = task->status == VT_SCSI_STATUS_TASK_ABORTED ? VIRTIO_SCSI_S_ABORTED
								     : VIRTIO_SCSI_S_OK;
	if (task->status == VT_SCSI_STATUS_CHECK_CONDITION) {
		uint32_t n = VT_MIN(task->sense_len, VHOST_SCSI_SENSE_SIZE);

		n = VT_MIN(n, (uint32_t)sizeof(task->sense));
		resp->sense_len = htole32(n);
		memcpy(resp->sense, task->sense, n);
	}
}

/*
 * Migration: the data-in a task wrote, marked before the response and the used ring. A task
 * that failed part way may have filled more than it reports: its whole buffer counts then.
 */
static void
scsi_log_data_in(struct scsi_req *sr, const struct vt_scsi_task *task)
{
	uint64_t len = task->status == VT_SCSI_STATUS_GOOD
			       ? VT_MIN(task->data_transferred, task->transfer_len)
			       : task->transfer_len;

	vhost_req_log_data(sr->req, task->iovs, task->iovcnt, len);
}

/* scsi_cmd_done's response for a header cut in pieces: built on the stack, then copied. */
static void __attribute__((noinline))
scsi_cmd_resp_pieces(struct scsi_req *sr, const struct vt_scsi_task *task)
{
	struct virtio_scsi_cmd_resp resp;

	scsi_task_to_resp(task, &resp);
	scsi_write_resp(sr, &resp, sizeof(resp));
}

static void
scsi_cmd_done(struct vt_scsi_task *task)
{
	struct scsi_req *sr = task->cb_arg;
	uint32_t used = SCSI_RESP_SIZE;

	if (task->dir == VT_SCSI_DIR_FROM_DEV) {
		used += VT_MIN(task->data_transferred, task->transfer_len);
		scsi_log_data_in(sr, task);
	}
	if (vt_likely(sr->resp_iovcnt == 1 && sr->resp_iov[0].iov_len >= SCSI_RESP_SIZE)) {
		/* The header in one buffer (the usual layout): built in place, every byte of it as
		 * the used length says, without a copy through the stack. */
		scsi_task_to_resp(task, sr->resp_iov[0].iov_base);
		vhost_req_log_iov(sr->req, sr->resp_iov, 1, SCSI_RESP_SIZE);
	} else {
		scsi_cmd_resp_pieces(sr, task);
	}
	vhost_req_done(sr->req, used);
}

/* ---- commands ---------------------------------------------------------------------------------- */

/*
 * Fills sr's task from a command chain. Returns 0 (task ready), 1 (answered by the transport:
 * the task's results are set), -1 (the chain cannot be answered), or a virtio-scsi response
 * code + 2 (response without a task: bad LUN address).
 */
static int
scsi_cmd_parse(struct scsi_req *sr, struct vhost_vq_chain *c, uint8_t lun_out[8])
{
	struct virtio_scsi_cmd_req hdr;
	struct vt_scsi_task *task = &sr->u.task;
	struct iovec *out, *in;
	int nout, nin;
	uint32_t out_len, in_len;

	if (!scsi_split_writable(sr, c, SCSI_RESP_SIZE, &in, &nin)) {
		return -1;
	}
	/* Only the inputs: lib/scsi sets its own fields and the results (vt_scsi_dev_queue_task,
	 * vt_scsi_task_complete_no_lun); the answer given here sets them too. */
	if (c->read_len < SCSI_REQ_SIZE) {
		return VIRTIO_SCSI_S_FAILURE + 2;
	}
	/* Each field copied once, then only the copies are read: the guest may change its buffer
	 * meanwhile. */
	if (vt_likely(c->iov[0].iov_len >= SCSI_REQ_SIZE)) {
		const struct virtio_scsi_cmd_req *g = c->iov[0].iov_base;

		memcpy(lun_out, g->lun, 8);
		memcpy(&hdr.tag, &g->tag, sizeof(hdr.tag));
		memcpy(task->cdb, g->cdb, VHOST_SCSI_CDB_SIZE);
	} else {
		vt_iov_to_buf(c->iov, (int)c->nreadable, &hdr, SCSI_REQ_SIZE);
		memcpy(lun_out, hdr.lun, 8);
		memcpy(task->cdb, hdr.cdb, VHOST_SCSI_CDB_SIZE);
	}
	if (!scsi_decode_lun(lun_out, &sr->target, &task->lun_id)) {
		return VIRTIO_SCSI_S_BAD_TARGET + 2;
	}
	scsi_skip_readable(c, SCSI_REQ_SIZE, &out, &nout);
	out_len = c->read_len - SCSI_REQ_SIZE;
	in_len = c->write_len - SCSI_RESP_SIZE;
	task->cdb_len = VHOST_SCSI_CDB_SIZE;
	task->tag = le64toh(hdr.tag);
	task->cb = scsi_cmd_done;
	task->cb_arg = sr;
	if (out_len > 0 && in_len > 0) {
		/* Bidirectional: not something lib/scsi does (INOUT is not offered). */
		task->dir = VT_SCSI_DIR_NONE;
		task->iovs = NULL;
		task->iovcnt = 0;
		task->transfer_len = 0;
		task->data_transferred = 0;
		task->residual = 0;
		vt_scsi_task_set_check(task, VT_SCSI_SENSE_ILLEGAL_REQUEST,
				       VT_SCSI_ASC_INVALID_FIELD_IN_CDB);
		return 1;
	}
	if (out_len > 0) {
		task->dir = VT_SCSI_DIR_TO_DEV;
		task->iovs = out;
		task->iovcnt = nout;
		task->transfer_len = out_len;
	} else if (in_len > 0) {
		task->dir = VT_SCSI_DIR_FROM_DEV;
		task->iovs = in;
		task->iovcnt = nin;
		task->transfer_len = in_len;
	} else {
		task->dir = VT_SCSI_DIR_NONE;
		task->iovs = NULL;
		task->iovcnt = 0;
		task->transfer_len = 0;
	}
	return 0;
}

static void
scsi_cmd_submit(struct vhost_req *req, struct scsi_session *ss)
{
	struct scsi_req *sr = vhost_req_ctx(req);
	struct vt_scsi_task *task = &sr->u.task;
	struct vt_scsi_port *port;
	uint8_t lun[8];
	int rc;

	sr->req = req;
	sr->kind = SCSI_REQ_CMD;
	rc = scsi_cmd_parse(sr, &req->chain, lun);
	if (vt_unlikely(rc < 0)) {
		vhost_req_fail_queue(req, "a command without room for the response header");
		return;
	}
	if (vt_unlikely(rc == 1)) {
		scsi_cmd_done(task);
		return;
	}
	if (vt_unlikely(rc >= 2)) {
		struct virtio_scsi_cmd_resp resp;

		memset(&resp, 0, sizeof(resp));
		resp.response = (uint8_t)(rc - 2);
		scsi_write_resp(sr, &resp, sizeof(resp));
		vhost_req_done(req, SCSI_RESP_SIZE);
		return;
	}
	port = ss != NULL ? scsi_session_port(ss, sr->target) : NULL;
	if (port == NULL) {
		/* No target with this number (or it is being removed). */
		vt_scsi_task_complete_no_lun(task);
		return;
	}
	vt_scsi_dev_queue_task(port, task);
}

/* ---- control queue --------------------------------------------------------------------------- */

static void
scsi_ctrl_answer(struct vhost_req *req, const void *resp, uint32_t len)
{
	struct scsi_req *sr = vhost_req_ctx(req);

	scsi_write_resp(sr, resp, len);
	vhost_req_done(req, len);
}

static uint8_t
tmf_response(enum vt_scsi_tmf_response r)
{
	switch (r) {
	case VT_SCSI_TMF_COMPLETE:
		return VIRTIO_SCSI_S_OK; /* FUNCTION COMPLETE */
	case VT_SCSI_TMF_SUCCEEDED:
		return VIRTIO_SCSI_S_FUNCTION_SUCCEEDED;
	case VT_SCSI_TMF_INCORRECT_LUN:
		return VIRTIO_SCSI_S_INCORRECT_LUN;
	default:
		return VIRTIO_SCSI_S_FUNCTION_REJECTED;
	}
}

static void
scsi_tmf_done(struct vt_scsi_tmf *tmf)
{
	struct scsi_req *sr = tmf->cb_arg;
	uint8_t resp = tmf_response(tmf->response);

	scsi_ctrl_answer(sr->req, &resp, 1);
}

/* virtio-scsi's TMF subtype as lib/scsi's function; false for the ones not supported. */
static bool
tmf_func(uint32_t subtype, enum vt_scsi_tmf_func *func)
{
	switch (subtype) {
	case VIRTIO_SCSI_T_TMF_ABORT_TASK:
		*func = VT_SCSI_TMF_ABORT_TASK;
		return true;
	case VIRTIO_SCSI_T_TMF_ABORT_TASK_SET:
		*func = VT_SCSI_TMF_ABORT_TASK_SET;
		return true;
	case VIRTIO_SCSI_T_TMF_CLEAR_TASK_SET:
		*func = VT_SCSI_TMF_CLEAR_TASK_SET;
		return true;
	case VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET:
		*func = VT_SCSI_TMF_I_T_NEXUS_RESET;
		return true;
	case VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET:
		*func = VT_SCSI_TMF_LOGICAL_UNIT_RESET;
		return true;
	case VIRTIO_SCSI_T_TMF_QUERY_TASK:
		*func = VT_SCSI_TMF_QUERY_TASK;
		return true;
	case VIRTIO_SCSI_T_TMF_QUERY_TASK_SET:
		*func = VT_SCSI_TMF_QUERY_TASK_SET;
		return true;
	default:
		return false; /* CLEAR ACA and unknown ones */
	}
}

static void
scsi_tmf_submit(struct vhost_req *req, struct scsi_session *ss)
{
	struct scsi_req *sr = vhost_req_ctx(req);
	struct vhost_vq_chain *c = &req->chain;
	struct virtio_scsi_ctrl_tmf_req hdr;
	struct vt_scsi_tmf *tmf = &sr->u.tmf;
	struct vt_scsi_port *port;
	enum vt_scsi_tmf_func func;
	uint8_t resp;

	if (c->read_len < sizeof(hdr)) {
		resp = VIRTIO_SCSI_S_FAILURE;
		scsi_ctrl_answer(req, &resp, 1);
		return;
	}
	vt_iov_to_buf(c->iov, (int)c->nreadable, &hdr, sizeof(hdr));
	memset(tmf, 0, sizeof(*tmf));
	if (!tmf_func(le32toh(hdr.subtype), &func)) {
		resp = VIRTIO_SCSI_S_FUNCTION_REJECTED;
		scsi_ctrl_answer(req, &resp, 1);
		return;
	}
	if (!scsi_decode_lun(hdr.lun, &sr->target, &tmf->lun_id)) {
		resp = VIRTIO_SCSI_S_BAD_TARGET;
		scsi_ctrl_answer(req, &resp, 1);
		return;
	}
	port = ss != NULL ? scsi_session_port(ss, sr->target) : NULL;
	if (port == NULL) {
		resp = VIRTIO_SCSI_S_BAD_TARGET;
		scsi_ctrl_answer(req, &resp, 1);
		return;
	}
	sr->kind = SCSI_REQ_TMF;
	tmf->func = func;
	tmf->tag = le64toh(hdr.tag);
	tmf->cb = scsi_tmf_done;
	tmf->cb_arg = sr;
	vt_scsi_port_task_mgmt(port, tmf);
}

static void
scsi_ctrl_submit(struct vhost_req *req, struct scsi_session *ss)
{
	struct scsi_req *sr = vhost_req_ctx(req);
	struct vhost_vq_chain *c = &req->chain;
	struct iovec *rest;
	int nrest;
	uint32_t type;

	sr->req = req;
	if (c->read_len < sizeof(type) || c->write_len == 0) {
		vhost_req_fail_queue(req, "a control request without a type or a response buffer");
		return;
	}
	vt_iov_to_buf(c->iov, (int)c->nreadable, &type, sizeof(type));
	type = le32toh(type);
	switch (type) {
	case VIRTIO_SCSI_T_TMF:
		if (!scsi_split_writable(sr, c, sizeof(struct virtio_scsi_ctrl_tmf_resp), &rest,
					 &nrest)) {
			break;
		}
		scsi_tmf_submit(req, ss);
		return;
	case VIRTIO_SCSI_T_AN_QUERY:
	case VIRTIO_SCSI_T_AN_SUBSCRIBE: {
		struct virtio_scsi_ctrl_an_resp resp;

		if (!scsi_split_writable(sr, c, sizeof(resp), &rest, &nrest)) {
			break;
		}
		/* No asynchronous event is reported: event_actual 0. */
		memset(&resp, 0, sizeof(resp));
		resp.response = VIRTIO_SCSI_S_OK;
		scsi_ctrl_answer(req, &resp, sizeof(resp));
		return;
	}
	default:
		if (scsi_split_writable(sr, c, 1, &rest, &nrest)) {
			uint8_t resp = VIRTIO_SCSI_S_FAILURE;

			scsi_ctrl_answer(req, &resp, 1);
			return;
		}
		break;
	}
	vhost_req_fail_queue(req, "a control request without room for its response");
}

/* ---- event queue ----------------------------------------------------------------------------- */

/*
 * The event queue is an on-demand queue (vhost_internal.h): its buffers stay in the guest's ring
 * until an event is there to fill one, so stopping and restarting the ring (QEMU does at guest
 * boot) loses none of them. Returns how many events went out.
 */
static uint32_t
scsi_event_flush(struct vhost_session *s, struct scsi_session *ss)
{
	struct vhost_queue *q = vhost_session_queue(s, VHOST_SCSI_EVENT_QUEUE);
	struct virtio_scsi_event ev;
	struct vhost_req *req;
	uint32_t sent = 0;

	if (q == NULL) {
		return 0;
	}
	while (ss->ev_count > 0 && (req = vhost_queue_take(q)) != NULL) {
		const struct scsi_event *e = &ss->ev[ss->ev_head];
		uint32_t event = e->event;

		if (req->chain.err != VHOST_VQ_OK) {
			vhost_req_fail_queue(req, vhost_vq_err_str(req->chain.err));
			break;
		}
		if (req->chain.write_len < sizeof(ev)) {
			/* Too small for an event: given back unused. */
			VT_DEBUGLOG(vhost,
				    "session %s: event buffer of %" PRIu32 " bytes skipped\n",
				    s->name, req->chain.write_len);
			vhost_req_done(req, 0);
			continue;
		}
		if (ss->events_missed) {
			event |= VIRTIO_SCSI_T_EVENTS_MISSED;
			ss->events_missed = false;
		}
		memset(&ev, 0, sizeof(ev));
		ev.event = htole32(event);
		ev.lun[0] = 1;
		ev.lun[1] = (uint8_t)e->target;
		ev.reason = htole32(e->reason);
		vt_iov_from_buf(&req->chain.iov[req->chain.nreadable],
				(int)(req->chain.niov - req->chain.nreadable), &ev, sizeof(ev));
		vhost_req_log_iov(req, &req->chain.iov[req->chain.nreadable],
				  (int)(req->chain.niov - req->chain.nreadable), sizeof(ev));
		vhost_req_done(req, sizeof(ev));
		ss->ev_head = (ss->ev_head + 1) % VHOST_SCSI_MAX_PENDING_EVENTS;
		ss->ev_count--;
		sent++;
	}
	vhost_queue_flush(q);
	return sent;
}

int
vhost_scsi_send_event(struct vhost_session *s, uint32_t event, uint32_t target, uint32_t reason)
{
	struct scsi_session *ss = s->backend_ctx;
	struct scsi_event *e;
	int rc = 0;

	if (ss == NULL) {
		return -ENODEV;
	}
	if (ss->ev_count == VHOST_SCSI_MAX_PENDING_EVENTS) {
		/* The guest posts no buffers: the next event delivered says some were lost. */
		ss->events_missed = true;
		rc = -ENOBUFS;
	} else {
		e = &ss->ev[(ss->ev_head + ss->ev_count) % VHOST_SCSI_MAX_PENDING_EVENTS];
		e->event = event;
		e->target = target;
		e->reason = reason;
		ss->ev_count++;
	}
	scsi_event_flush(s, ss);
	return rc;
}

static bool
scsi_queue_on_demand(uint16_t index)
{
	return index == VHOST_SCSI_EVENT_QUEUE;
}

static int
scsi_queue_demand_poll(struct vhost_queue *q)
{
	struct scsi_session *ss = q->s->backend_ctx;

	if (ss == NULL || ss->ev_count == 0) {
		return VT_POLLER_IDLE;
	}
	return scsi_event_flush(q->s, ss) > 0 ? VT_POLLER_BUSY : VT_POLLER_IDLE;
}

/*
 * Sends an event about target num to every session of c that negotiated feature (HOTPLUG for
 * transport resets, CHANGE for parameter changes). Controller's reactor.
 */
static void
scsi_notify_sessions(struct vhost_ctrlr *c, uint64_t feature, uint32_t event, uint32_t num,
		     uint32_t reason)
{
	struct vhost_session *s;

	if (c == NULL) {
		return;
	}
	pthread_mutex_lock(&g_vhost_mutex);
	TAILQ_FOREACH (s, &c->sessions, link) {
		if (s->backend_ctx == NULL || !(s->snap.features & (1ull << feature))) {
			continue;
		}
		if (vhost_scsi_send_event(s, event, num, reason) == -ENOBUFS) {
			VT_WARNLOG("session %s: event queue full, event %#" PRIx32
				   " for target %" PRIu32
				   " dropped (the guest will be told events were missed)\n",
				   s->name, event, num);
		}
	}
	pthread_mutex_unlock(&g_vhost_mutex);
}

/* ---- requests ---------------------------------------------------------------------------------- */

static void
scsi_submit(struct vhost_req *req)
{
	struct scsi_session *ss = req->q->s->backend_ctx;

	if (vt_unlikely(req->chain.err != VHOST_VQ_OK)) {
		vhost_req_fail_queue(req, vhost_vq_err_str(req->chain.err));
		return;
	}
	if (vt_likely(req->q->index >= VHOST_SCSI_FIRST_REQ_QUEUE)) {
		scsi_cmd_submit(req, ss);
	} else if (req->q->index == VHOST_SCSI_CTRL_QUEUE) {
		scsi_ctrl_submit(req, ss);
	} else {
		/* The event queue is on demand: never popped by the poller. */
		vhost_req_fail_queue(req, "a request on the event queue");
	}
}

static int
scsi_session_start(struct vhost_session *s)
{
	struct scsi_session *ss = calloc(1, sizeof(*ss));

	if (ss == NULL) {
		return -ENOMEM;
	}
	ss->sc = s->ctrlr->backend;
	s->backend_ctx = ss;
	return 0;
}

static void
scsi_session_stop(struct vhost_session *s)
{
	struct scsi_session *ss = s->backend_ctx;

	if (ss == NULL) {
		return;
	}
	for (uint32_t i = 0; i < VHOST_SCSI_MAX_TARGETS; i++) {
		if (ss->port[i] != NULL && vt_scsi_port_destroy(ss->port[i]) != 0) {
			VT_ERRLOG("session %s: port of target %" PRIu32 " still busy\n", s->name,
				  i);
		}
	}
	s->backend_ctx = NULL;
	free(ss);
}

/* ---- targets (the controller's reactor) ------------------------------------------------------- */

static void scsi_target_hotremove(struct vt_scsi_dev *dev, uint32_t lun_id, void *arg);
static void scsi_target_resized(struct vt_scsi_dev *dev, uint32_t lun_id, void *arg);

/*
 * A target added while guests are connected: each session gets its nexus to the target now, with
 * POWER ON and REPORTED LUNS DATA HAS CHANGED pending (reported by its first commands there),
 * and a TRANSPORT_RESET / RESCAN event if it negotiated HOTPLUG.
 */
static void
scsi_hot_attached(struct vhost_ctrlr *c, uint32_t num)
{
	struct scsi_ctrlr *sc = c->backend;
	struct vhost_session *s;
	bool any = false;

	pthread_mutex_lock(&g_vhost_mutex);
	TAILQ_FOREACH (s, &c->sessions, link) {
		if (s->backend_ctx != NULL && scsi_session_port(s->backend_ctx, num) != NULL) {
			any = true;
		}
	}
	pthread_mutex_unlock(&g_vhost_mutex);
	if (any) {
		vt_scsi_dev_report_luns_changed(sc->tgt[num].dev);
	}
	scsi_notify_sessions(c, VIRTIO_SCSI_F_HOTPLUG, VIRTIO_SCSI_T_TRANSPORT_RESET, num,
			     VIRTIO_SCSI_EVT_RESET_RESCAN);
}

int
vhost_scsi_target_add(struct vhost_ctrlr *c, int num, const char *bdev_name, char *err,
		      size_t errlen)
{
	struct scsi_ctrlr *sc = c->backend;
	struct vt_scsi_dev *dev;
	char name[VHOST_CTRLR_NAME_MAX + 16];
	char owner[VHOST_CTRLR_NAME_MAX + 32];
	char *bname;
	int rc;

	if (num < -1 || num >= VHOST_SCSI_MAX_TARGETS) {
		snprintf(err, errlen,
			 "invalid target number %d: use 0 to %d, or -1 for the first "
			 "free one",
			 num, VHOST_SCSI_MAX_TARGETS - 1);
		return -EINVAL;
	}
	if (num == -1) {
		for (int i = 0; i < VHOST_SCSI_MAX_TARGETS; i++) {
			if (sc->tgt[i].dev == NULL) {
				num = i;
				break;
			}
		}
		if (num == -1) {
			snprintf(err, errlen, "controller '%s' has no free target number", c->name);
			return -ENOSPC;
		}
	} else if (sc->tgt[num].dev != NULL) {
		snprintf(err, errlen, "target %d of controller '%s' is %s", num, c->name,
			 sc->tgt[num].removing ? "being removed" : "in use");
		return -EEXIST;
	}
	snprintf(name, sizeof(name), "%s.%d", c->name, num);
	bname = vt_strdup(bdev_name);
	dev = vt_scsi_dev_create(name, (uint32_t)num);
	if (dev == NULL || bname == NULL) {
		if (dev != NULL) {
			vt_scsi_dev_destroy(dev);
		}
		free(bname);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	vhost_claim_owner(c, owner, sizeof(owner));
	vt_scsi_dev_set_claim_owner(dev, owner);
	rc = vt_scsi_dev_add_lun(dev, bdev_name, 0, scsi_target_hotremove, sc);
	if (rc < 0) {
		vt_scsi_dev_destroy(dev);
		free(bname);
		if (rc == -ENODEV) {
			snprintf(err, errlen, "bdev '%s' does not exist", bdev_name);
		} else if (rc == -EBUSY) {
			vhost_claimed_error(bdev_name, err, errlen);
		} else {
			snprintf(err, errlen, "cannot add bdev '%s': %s", bdev_name,
				 vt_strerror(-rc));
		}
		return rc;
	}
	vt_scsi_dev_set_lun_resize_cb(dev, 0, scsi_target_resized, sc);
	pthread_mutex_lock(&sc->lock);
	sc->tgt[num].dev = dev;
	sc->tgt[num].bdev_name = bname;
	sc->tgt[num].removing = false;
	sc->tgt[num].lun_gone = false;
	pthread_mutex_unlock(&sc->lock);
	VT_NOTICELOG("vhost controller '%s': target %d is bdev '%s'\n", c->name, num, bdev_name);
	scsi_hot_attached(c, (uint32_t)num);
	return num;
}

/* The bdev behind a target changed size: guests that negotiated CHANGE re-read the capacity. */
static void
scsi_target_resized(struct vt_scsi_dev *dev, uint32_t lun_id, void *arg)
{
	struct scsi_ctrlr *sc = arg;
	uint32_t num = vt_scsi_dev_get_id(dev);

	(void)lun_id;
	VT_NOTICELOG("vhost controller '%s': bdev '%s' of target %" PRIu32 " was resized\n",
		     sc->ctrlr != NULL ? sc->ctrlr->name : "?", sc->tgt[num].bdev_name, num);
	/* reason: ASC in bits 0-7, ASCQ in bits 8-15 (CAPACITY DATA HAS CHANGED) */
	scsi_notify_sessions(sc->ctrlr, VIRTIO_SCSI_F_CHANGE, VIRTIO_SCSI_T_PARAM_CHANGE, num,
			     (VT_SCSI_ASC_CAPACITY_DATA_CHANGED >> 8) |
				     ((VT_SCSI_ASC_CAPACITY_DATA_CHANGED & 0xff) << 8));
}

/* lib/scsi finished removing the LUN (no task in flight, bdev closed). */
static void
scsi_lun_gone(struct vt_scsi_dev *dev, uint32_t lun_id, void *arg)
{
	struct scsi_ctrlr *sc = arg;

	(void)lun_id;
	sc->tgt[vt_scsi_dev_get_id(dev)].lun_gone = true;
}

/* Destroys every session's port of target num; false while one still has tasks in flight. */
static bool
scsi_target_release_ports(struct scsi_ctrlr *sc, uint32_t num)
{
	struct vhost_session *s;
	bool all = true;

	if (sc->ctrlr == NULL) {
		return true; /* deleted: no session is left */
	}
	pthread_mutex_lock(&g_vhost_mutex);
	TAILQ_FOREACH (s, &sc->ctrlr->sessions, link) {
		struct scsi_session *ss = s->backend_ctx;

		if (ss == NULL || ss->port[num] == NULL) {
			continue;
		}
		if (vt_scsi_port_destroy(ss->port[num]) == 0) {
			ss->port[num] = NULL;
		} else {
			all = false;
		}
	}
	pthread_mutex_unlock(&g_vhost_mutex);
	return all;
}

static void
scsi_ctrlr_free(struct scsi_ctrlr *sc)
{
	pthread_mutex_destroy(&sc->lock);
	free(sc);
}

/* Frees target num's device and name; runs the remove RPC's continuation. */
static void
scsi_target_free(struct scsi_ctrlr *sc, uint32_t num)
{
	struct scsi_target *t = &sc->tgt[num];
	struct vt_scsi_dev *dev = t->dev;
	char *bname = t->bdev_name;
	void (*cb)(void *arg, int rc) = t->removed_cb;
	void *cb_arg = t->removed_arg;

	pthread_mutex_lock(&sc->lock);
	memset(t, 0, sizeof(*t));
	pthread_mutex_unlock(&sc->lock);
	if (vt_scsi_dev_destroy(dev) != 0) {
		VT_ERRLOG("scsi device of target %" PRIu32 " still busy\n", num);
	}
	VT_NOTICELOG("vhost controller '%s': target %" PRIu32 " (bdev '%s') removed\n",
		     sc->ctrlr != NULL ? sc->ctrlr->name : "(deleted)", num, bname);
	free(bname);
	sc->nremoving--;
	if (cb != NULL) {
		cb(cb_arg, 0);
	}
}

/*
 * The management poller (the controller's reactor, while a target is being removed): frees each
 * removed target once lib/scsi closed its LUN and no session's port has a task in flight, then
 * finishes a controller deletion waiting for that.
 */
static int
scsi_mgmt_poll(void *arg)
{
	struct scsi_ctrlr *sc = arg;
	int busy = VT_POLLER_IDLE;

	for (uint32_t i = 0; i < VHOST_SCSI_MAX_TARGETS && sc->nremoving > 0; i++) {
		struct scsi_target *t = &sc->tgt[i];

		if (t->dev == NULL || !t->removing || !t->lun_gone) {
			continue;
		}
		if (scsi_target_release_ports(sc, i)) {
			scsi_target_free(sc, i);
			busy = VT_POLLER_BUSY;
		}
	}
	if (sc->nremoving == 0) {
		void (*fn)(void *arg) = sc->deleted_fn;
		void *fn_arg = sc->deleted_arg;

		vt_poller_unregister(&sc->mgmt_poller);
		if (fn != NULL) {
			scsi_ctrlr_free(sc);
			fn(fn_arg);
		}
	}
	return busy;
}

/* Starts a hot-detach of target num (exists, not being removed). */
static int
scsi_target_begin_remove(struct scsi_ctrlr *sc, uint32_t num, void (*cb)(void *arg, int rc),
			 void *arg)
{
	struct scsi_target *t = &sc->tgt[num];
	int rc;

	if (sc->mgmt_poller == NULL) {
		sc->mgmt_poller = vt_poller_register(scsi_mgmt_poll, sc, VHOST_SCSI_MGMT_POLL_US,
						     "vhost_scsi_mgmt");
		if (sc->mgmt_poller == NULL) {
			return -ENOMEM;
		}
	}
	/* From now on new commands see no target; tasks in flight complete as usual. */
	t->removing = true;
	t->removed_cb = cb;
	t->removed_arg = arg;
	sc->nremoving++;
	scsi_notify_sessions(sc->ctrlr, VIRTIO_SCSI_F_HOTPLUG, VIRTIO_SCSI_T_TRANSPORT_RESET, num,
			     VIRTIO_SCSI_EVT_RESET_REMOVED);
	rc = vt_scsi_dev_remove_lun(t->dev, 0, scsi_lun_gone, sc);
	if (rc == -ENOENT) {
		t->lun_gone = true; /* no LUN left to close */
	} else if (rc != 0) {
		VT_ERRLOG("cannot remove the lun of target %" PRIu32 ": %s\n", num,
			  vt_strerror(-rc));
		t->lun_gone = true;
	}
	return 0;
}

/* The bdev under a target is going away (bdev_*_delete): the target is hot-detached. */
static void
scsi_target_hotremove(struct vt_scsi_dev *dev, uint32_t lun_id, void *arg)
{
	struct scsi_ctrlr *sc = arg;
	uint32_t num = vt_scsi_dev_get_id(dev);

	(void)lun_id;
	if (sc->tgt[num].dev != dev || sc->tgt[num].removing) {
		return;
	}
	VT_NOTICELOG("vhost controller '%s': bdev '%s' of target %" PRIu32 " hot-removed; "
		     "detaching the target\n",
		     sc->ctrlr != NULL ? sc->ctrlr->name : "?", sc->tgt[num].bdev_name, num);
	if (scsi_target_begin_remove(sc, num, NULL, NULL) != 0) {
		/* No poller: the LUN still closes itself, the target stays listed but empty. */
		vt_scsi_dev_remove_lun(dev, 0, NULL, NULL);
	}
}

int
vhost_scsi_target_remove(struct vhost_ctrlr *c, uint32_t num, void (*cb)(void *arg, int rc),
			 void *arg, char *err, size_t errlen)
{
	struct scsi_ctrlr *sc = c->backend;
	int rc;

	if (num >= VHOST_SCSI_MAX_TARGETS) {
		snprintf(err, errlen, "invalid target number %" PRIu32 ": use 0 to %d", num,
			 VHOST_SCSI_MAX_TARGETS - 1);
		return -EINVAL;
	}
	if (sc->tgt[num].dev == NULL) {
		snprintf(err, errlen, "controller '%s' has no target %" PRIu32, c->name, num);
		return -ENODEV;
	}
	if (sc->tgt[num].removing) {
		snprintf(err, errlen, "target %" PRIu32 " of controller '%s' is being removed", num,
			 c->name);
		return -EALREADY;
	}
	rc = scsi_target_begin_remove(sc, num, cb, arg);
	if (rc != 0) {
		snprintf(err, errlen, "cannot remove target %" PRIu32 ": %s", num,
			 vt_strerror(-rc));
	}
	return rc;
}

/* ---- controller life cycle ------------------------------------------------------------------- */

int
vhost_scsi_backend_create(struct vhost_ctrlr *c, char *err, size_t errlen)
{
	struct scsi_ctrlr *sc = calloc(1, sizeof(*sc));
	uint64_t h = 14695981039346656037ull;

	if (sc == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&sc->lock, NULL);
	atomic_init(&sc->started, false);
	sc->ctrlr = c;
	scsi_config_build(&sc->cfg);
	/* A stable initiator name per controller: persistent reservations survive reconnects. */
	for (const char *p = c->name; *p != '\0'; p++) {
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	}
	snprintf(sc->port_name, sizeof(sc->port_name), "naa.5%015" PRIx64,
		 (uint64_t)(h & 0xfffffffffffffull));
	c->backend = sc;
	c->features = scsi_features();
	c->protocol_features = SCSI_PROTOCOL_FEATURES;
	return 0;
}

/* No session is left: every target goes (bdev claims released), then done(arg). */
static void
scsi_remove(struct vhost_ctrlr *c, void (*done)(void *arg), void *arg)
{
	struct scsi_ctrlr *sc = c->backend;

	c->backend = NULL;
	sc->ctrlr = NULL;
	for (uint32_t i = 0; i < VHOST_SCSI_MAX_TARGETS; i++) {
		if (sc->tgt[i].dev == NULL || sc->tgt[i].removing) {
			continue;
		}
		if (scsi_target_begin_remove(sc, i, NULL, NULL) != 0) {
			/* Out of memory for the poller: close the LUN and drop the device now. */
			vt_scsi_dev_remove_lun(sc->tgt[i].dev, 0, NULL, NULL);
		}
	}
	if (sc->nremoving == 0) {
		vt_poller_unregister(&sc->mgmt_poller);
		scsi_ctrlr_free(sc);
		done(arg);
		return;
	}
	sc->deleted_fn = done;
	sc->deleted_arg = arg;
}

bool
vhost_scsi_is_started(struct vhost_ctrlr *c)
{
	struct scsi_ctrlr *sc = c->backend;

	return atomic_load(&sc->started);
}

void
vhost_scsi_set_started(struct vhost_ctrlr *c)
{
	struct scsi_ctrlr *sc = c->backend;

	atomic_store(&sc->started, true);
}

/* ---- JSON (reactor 0) ------------------------------------------------------------------------ */

static void
scsi_dump_info_json(struct vhost_ctrlr *c, struct vt_json_write_ctx *w)
{
	struct scsi_ctrlr *sc = c->backend;

	vt_json_write_named_array_begin(w, "scsi");
	pthread_mutex_lock(&sc->lock);
	for (uint32_t i = 0; i < VHOST_SCSI_MAX_TARGETS; i++) {
		if (sc->tgt[i].dev == NULL) {
			continue;
		}
		vt_json_write_object_begin(w);
		vt_json_write_named_uint64(w, "scsi_dev_num", i);
		vt_json_write_named_uint64(w, "id", vt_scsi_dev_get_id(sc->tgt[i].dev));
		vt_json_write_named_string(w, "target_name", vt_scsi_dev_get_name(sc->tgt[i].dev));
		vt_json_write_named_array_begin(w, "luns");
		vt_json_write_object_begin(w);
		vt_json_write_named_uint64(w, "id", 0);
		vt_json_write_named_string(w, "bdev_name", sc->tgt[i].bdev_name);
		vt_json_write_object_end(w);
		vt_json_write_array_end(w);
		vt_json_write_object_end(w);
	}
	pthread_mutex_unlock(&sc->lock);
	vt_json_write_array_end(w);
}

static void
scsi_write_config_json(struct vhost_ctrlr *c, struct vt_json_write_ctx *w)
{
	struct scsi_ctrlr *sc = c->backend;
	char mask[VT_CPUSET_FMT_LEN];

	vt_json_write_object_begin(w);
	vt_json_write_named_string(w, "method", "vhost_create_scsi_controller");
	vt_json_write_named_object_begin(w, "params");
	vt_json_write_named_string(w, "ctrlr", c->name);
	vt_json_write_named_string(w, "cpumask", vt_cpuset_fmt(&c->cpumask, mask, sizeof(mask)));
	vt_json_write_named_bool(w, "delay", true);
	vt_json_write_object_end(w);
	vt_json_write_object_end(w);

	pthread_mutex_lock(&sc->lock);
	for (uint32_t i = 0; i < VHOST_SCSI_MAX_TARGETS; i++) {
		if (sc->tgt[i].dev == NULL) {
			continue;
		}
		vt_json_write_object_begin(w);
		vt_json_write_named_string(w, "method", "vhost_scsi_controller_add_target");
		vt_json_write_named_object_begin(w, "params");
		vt_json_write_named_string(w, "ctrlr", c->name);
		vt_json_write_named_uint64(w, "scsi_target_num", i);
		vt_json_write_named_string(w, "bdev_name", sc->tgt[i].bdev_name);
		vt_json_write_object_end(w);
		vt_json_write_object_end(w);
	}
	pthread_mutex_unlock(&sc->lock);

	if (atomic_load(&sc->started)) {
		vt_json_write_object_begin(w);
		vt_json_write_named_string(w, "method", "vhost_start_scsi_controller");
		vt_json_write_named_object_begin(w, "params");
		vt_json_write_named_string(w, "ctrlr", c->name);
		vt_json_write_object_end(w);
		vt_json_write_object_end(w);
	}
}

const struct vhost_backend_ops g_vhost_scsi_ops = {
	.name = VHOST_SCSI_TRANSPORT,
	.json_key = "scsi",
	.req_ctx_size = sizeof(struct scsi_req),
	.session_start = scsi_session_start,
	.session_stop = scsi_session_stop,
	.req_submit = scsi_submit,
	.get_config = scsi_get_config,
	.dump_info_json = scsi_dump_info_json,
	.write_config_json = scsi_write_config_json,
	.queue_on_demand = scsi_queue_on_demand,
	.queue_demand_poll = scsi_queue_demand_poll,
	.remove = scsi_remove,
};
