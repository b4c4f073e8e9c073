/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vhost-user protocol layer on DPDK 22.11's rte_vhost, the only file that includes
 * rte_vhost.h. It runs on rte_vhost's vhost-events thread (one thread, every socket, one message
 * at a time) and:
 *
 * - checks every front-end message rte_vhost would act on without checking it (the pre-message
 *   handler): memory tables, queue indexes, ring sizes and addresses, message sizes. A bad
 *   message ends that connection; the daemon and the other sessions go on;
 * - answers GET_CONFIG and GET_QUEUE_NUM itself (rte_vhost answers them only for vDPA);
 * - starts each queue as soon as it is usable (kick set, enabled, rings translated), whether or
 *   not rte_vhost ever calls new_device, and stops it (drained, indexes handed back to
 *   rte_vhost for GET_VRING_BASE) before any message that changes or tears down what it uses.
 *
 * The work itself happens on the controller's reactor through calls (vhost_session.c).
 */
#define ALLOW_EXPERIMENTAL_API

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_log.h>
#include <rte_version.h>
#include <rte_vhost.h>

/*
 * The pre/post message handlers read rte_vhost's private message context through
 * struct vhost_user_msg_ctx (vhost_user_spec.h), whose layout was checked against DPDK 22.11
 * only: another release may lay it out differently and the handlers would misread every message.
 * Building against it must stop here until the layout is checked again.
 */
#if RTE_VERSION < RTE_VERSION_NUM(22, 11, 0, 0) || RTE_VERSION >= RTE_VERSION_NUM(22, 12, 0, 0)
#error "lib/vhost/vhost_user_spec.h mirrors rte_vhost's message layout of DPDK 22.11 (checked: 22.11.0 to 22.11.11); this DPDK is another release: check struct vhost_user_msg_ctx against its lib/vhost/vhost_user.h, then widen this test"
#endif

#include "vt/event.h"
#include "vt/init.h"
#include "vt/log.h"
#include "vt/util.h"

#include "lib/vhost/vhost_internal.h"

VT_LOG_REGISTER_COMPONENT(vhost_user)

/* Sessions by vid, under g_vhost_mutex; a slot is cleared when its connection is gone. */
static struct vhost_session *g_vid_sessions[RTE_MAX_VHOST_DEVICE];

static enum rte_vhost_msg_result pre_msg(int vid, void *msg);
static enum rte_vhost_msg_result post_msg(int vid, void *msg);

static const struct rte_vhost_user_extern_ops g_extern_ops = {
	.pre_msg_handle = pre_msg,
	.post_msg_handle = post_msg,
};

struct vhost_session *
vhost_user_vid_session(int vid, bool take)
{
	struct vhost_session *s = NULL;

	if (vid < 0 || vid >= RTE_MAX_VHOST_DEVICE) {
		return NULL;
	}
	pthread_mutex_lock(&g_vhost_mutex);
	s = g_vid_sessions[vid];
	if (s != NULL && take) {
		g_vid_sessions[vid] = NULL;
		s->live = false;
		s->ctrlr->nlive--;
	}
	pthread_mutex_unlock(&g_vhost_mutex);
	return s;
}

static void
post_destroy(struct vhost_session *s)
{
	while (vt_send_msg(s->ctrlr->reactor, vhost_session_destroy_msg, s) == -ENOMEM) {
		usleep(100);
	}
}

/* ---- queues, seen from the vhost-events thread --------------------------------------------- */

static int
dup_fd(int fd)
{
	return fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
}

/* Returns 0 once the queue is stopped and drained, -ETIMEDOUT (or -ENOMEM) otherwise. */
static int
ve_stop_queue(struct vhost_session *s, uint16_t idx)
{
	struct vhost_call *call;
	int rc;

	if (!s->ve.started[idx]) {
		return 0;
	}
	s->ve.started[idx] = false;
	call = vhost_call_alloc(s, vhost_queue_stop_fn);
	if (call == NULL) {
		return -ENOMEM;
	}
	call->qidx = idx;
	rc = vhost_call_run(call, "a queue stop");
	if (rc == 0 && call->u.stop.valid) {
		/* GET_VRING_BASE answers rte_vhost's copy of the indexes: make it ours. */
		rte_vhost_set_vring_base(s->vid, idx, call->u.stop.avail_base,
					 call->u.stop.used_base);
	}
	vhost_call_put(call);
	return rc;
}

static void
ve_stop_all(struct vhost_session *s)
{
	for (uint16_t i = 0; i < VHOST_MAX_QUEUES; i++) {
		ve_stop_queue(s, i);
	}
}

/* Our addresses of the three ring areas, checked to lie in guest memory. */
static int
ve_ring_addrs(struct vhost_session *s, uint16_t idx, const struct rte_vhost_vring *vr,
	      uint64_t features, struct vhost_queue_params *p)
{
	bool packed = (features >> VIRTIO_F_RING_PACKED) & 1;
	uint64_t dl, drl, dvl;

	vhost_vq_ring_sizes(packed, vr->size, features, &dl, &drl, &dvl);
	p->desc = vhost_mem_map_from_ext(s->ve.map, (uintptr_t)vr->desc, dl);
	p->driver = vhost_mem_map_from_ext(s->ve.map, (uintptr_t)vr->avail, drl);
	p->device = vhost_mem_map_from_ext(s->ve.map, (uintptr_t)vr->used, dvl);
	if (p->desc == NULL || p->driver == NULL || p->device == NULL) {
		VT_ERRLOG("session %s: queue %u not started: its rings are not inside guest "
			  "memory\n",
			  s->name, idx);
		return -EFAULT;
	}
	/*
	 * Where ring stores are logged: split, the used ring at the front end's log_guest_addr
	 * (its own address when no VHOST_VRING_F_LOG came); packed, the descriptor ring written
	 * back and the device event area.
	 */
	if (packed) {
		p->log_ring_gpa = vhost_log_host_to_gpa(&s->ve.map->mem, p->desc);
		p->log_event_gpa = vhost_log_host_to_gpa(&s->ve.map->mem, p->device);
	} else {
		p->log_ring_gpa = s->ve.vring_log[idx]
					  ? s->ve.vring_log_gpa[idx]
					  : vhost_log_host_to_gpa(&s->ve.map->mem, p->device);
		p->log_event_gpa = 0;
	}
	return 0;
}

/* Bytes of dirty log a memory table needs: a bit for every page up to its highest address. */
static uint64_t
log_needed(const struct vhost_user_mem *t)
{
	uint64_t end = 0;

	for (uint32_t i = 0; i < t->nregions && i < VHOST_USER_MAX_MEM_REGIONS; i++) {
		const struct vhost_user_mem_region *r = &t->regions[i];

		end = VT_MAX(end, r->guest_phys_addr + r->memory_size);
	}
	return vhost_log_bytes_for(end);
}

static uint64_t
ve_log_needed(const struct vhost_session *s)
{
	return s->ve.has_mem ? log_needed(&s->ve.mem_table) : 0;
}

/* LOG_ALL with a log that covers guest memory, or no LOG_ALL: queues may run. */
static bool
ve_log_ready(const struct vhost_session *s)
{
	return !s->ve.log_all || (s->ve.has_log && s->ve.log_size >= ve_log_needed(s));
}

/* Hands the reactor a new log (log not NULL) and / or the LOG_ALL state. */
static int
ve_send_log(struct vhost_session *s, struct vhost_log *log)
{
	struct vhost_call *call = vhost_call_alloc(s, vhost_session_set_log_fn);
	int rc;

	if (call == NULL) {
		return -ENOMEM;
	}
	call->u.log.log = log;
	call->u.log.replace = log != NULL;
	call->u.log.on = s->ve.log_all;
	rc = vhost_call_run(call, "a dirty log change");
	if (!call->sent) {
		vhost_call_put(call);
		return rc != 0 ? rc : -EIO;
	}
	vhost_call_put(call);
	return 0;
}

/* INFLIGHT_SHMFD negotiated and a record handed over: queues start from it. */
static bool
ve_inflight_on(const struct vhost_session *s)
{
	return (s->ve.protocol_features & (1ull << VHOST_USER_PROTO_F_INFLIGHT_SHMFD)) &&
	       s->ve.inflight != NULL;
}

/* Starts queue idx when the front end has made it usable. */
static void
ve_maybe_start(struct vhost_session *s, uint16_t idx)
{
	struct vhost_session_ve *ve = &s->ve;
	struct vhost_queue_params *p;
	struct rte_vhost_vring vr;
	struct vhost_call *call;
	uint64_t features = 0;
	uint16_t avail, used;
	int rc;

	if (ve->started[idx] || !ve->kicked[idx] || ve->map == NULL) {
		return;
	}
	if (!ve->enabled[idx] && (ve->features >> VHOST_USER_VIRTIO_F_PROTOCOL_FEATURES) & 1) {
		return; /* with protocol features a ring waits for SET_VRING_ENABLE */
	}
	if (rte_vhost_get_vhost_vring(s->vid, idx, &vr) != 0 || vr.desc == NULL ||
	    vr.avail == NULL || vr.used == NULL || vr.size == 0) {
		return; /* rings not translated (yet) */
	}
	if (!ve_log_ready(s)) {
		/* QEMU sends LOG_ALL before the log when a device starts during a migration. */
		VT_WARNLOG("session %s: queue %u waits: LOG_ALL negotiated without a dirty log "
			   "covering guest memory (SET_LOG_BASE)\n",
			   s->name, idx);
		return;
	}
	if (rte_vhost_get_negotiated_features(s->vid, &features) != 0 ||
	    rte_vhost_get_vring_base(s->vid, idx, &avail, &used) != 0) {
		return;
	}
	call = vhost_call_alloc(s, vhost_queue_start_fn);
	if (call == NULL) {
		return;
	}
	p = &call->u.start;
	p->kickfd = -1;
	p->callfd = -1;
	if (ve_ring_addrs(s, idx, &vr, features, p) != 0) {
		goto out;
	}
	p->q = vhost_queue_alloc(s, vr.size);
	if (p->q == NULL) {
		goto out;
	}
	p->vq.name = s->name;
	p->vq.index = idx;
	p->vq.size = vr.size;
	p->vq.features = features;
	p->vq.avail_base = avail;
	p->vq.used_base = used;
	p->map = ve->map;
	p->kickfd = dup_fd(vr.kickfd);
	p->callfd = dup_fd(vr.callfd);
	if (ve_inflight_on(s)) {
		p->inflight = ve->inflight;
		vhost_inflight_ref(p->inflight);
	}
	rc = vhost_call_run(call, "a queue start");
	if (!call->sent) {
		vhost_inflight_unref(p->inflight);
		vhost_queue_free(p->q);
		if (p->kickfd >= 0) {
			close(p->kickfd);
		}
		if (p->callfd >= 0) {
			close(p->callfd);
		}
	} else if (rc == 0 || rc == -ETIMEDOUT) {
		/* A late start still happens: stop it like a running one. */
		ve->started[idx] = true;
	}
out:
	vhost_call_put(call);
}

static void
ve_maybe_start_all(struct vhost_session *s)
{
	for (uint16_t i = 0; i < VHOST_MAX_QUEUES; i++) {
		ve_maybe_start(s, i);
	}
}

/* The front end replaced the call eventfd of a running queue. */
static void
ve_update_callfd(struct vhost_session *s, uint16_t idx)
{
	struct rte_vhost_vring vr;
	struct vhost_call *call;

	if (rte_vhost_get_vhost_vring(s->vid, idx, &vr) != 0) {
		return;
	}
	call = vhost_call_alloc(s, vhost_queue_set_callfd_fn);
	if (call == NULL) {
		return;
	}
	call->qidx = idx;
	call->u.fd = dup_fd(vr.callfd);
	vhost_call_run(call, "a call eventfd update");
	if (!call->sent && call->u.fd >= 0) {
		close(call->u.fd);
	}
	vhost_call_put(call);
}

/* ---- message checks (pre-message handler) -------------------------------------------------- */

/* Ends the connection: no reply-ack that could let the front end go on. */
static enum rte_vhost_msg_result refuse(struct vhost_session *s, struct vhost_user_msg_ctx *ctx,
					const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static enum rte_vhost_msg_result
refuse(struct vhost_session *s, struct vhost_user_msg_ctx *ctx, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	VT_ERRLOG("session %s: refusing vhost-user message %" PRIu32 ": %s; closing the "
		  "connection\n",
		  s != NULL ? s->name : "?", ctx->msg.request, why);
	/* rte_vhost closes the fds of a message only when nobody handled it. */
	for (int i = 0; i < ctx->fd_num && i < VHOST_USER_MAX_MEM_REGIONS; i++) {
		if (ctx->fds[i] >= 0) {
			close(ctx->fds[i]);
			ctx->fds[i] = -1;
		}
	}
	ctx->fd_num = 0;
	ctx->msg.flags &= ~VHOST_USER_HDR_NEED_REPLY;
	return RTE_VHOST_MSG_RESULT_ERR;
}

static bool
size_ok(const struct vhost_user_msg *m, size_t need)
{
	return m->size >= need;
}

/* Queue index of a vring message, or -1 when the message is too short. */
static int
msg_queue_index(const struct vhost_user_msg *m)
{
	switch (m->request) {
	case VHOST_USER_REQ_SET_VRING_KICK:
	case VHOST_USER_REQ_SET_VRING_CALL:
	case VHOST_USER_REQ_SET_VRING_ERR:
		return size_ok(m, sizeof(uint64_t))
			       ? (int)(m->payload.u64 & VHOST_USER_VRING_IDX_MASK)
			       : -1;
	case VHOST_USER_REQ_SET_VRING_ADDR:
		return size_ok(m, sizeof(struct vhost_user_vring_addr)) ? (int)m->payload.addr.index
									: -1;
	default:
		return size_ok(m, sizeof(struct vhost_user_vring_state))
			       ? (int)VT_MIN(m->payload.state.index, (uint32_t)INT_MAX)
			       : -1;
	}
}

static enum rte_vhost_msg_result
reply(struct vhost_user_msg_ctx *ctx, uint32_t size)
{
	ctx->msg.size = size;
	ctx->fd_num = 0;
	return RTE_VHOST_MSG_RESULT_REPLY;
}

static enum rte_vhost_msg_result
on_get_config(struct vhost_session *s, struct vhost_user_msg_ctx *ctx)
{
	uint8_t space[VHOST_USER_MAX_CONFIG_SIZE];
	struct vhost_user_config cfg;

	if (!size_ok(&ctx->msg, VHOST_USER_CONFIG_HDR_SIZE)) {
		return refuse(s, ctx, "GET_CONFIG of %" PRIu32 " bytes", ctx->msg.size);
	}
	/* The payload sits at offset 12 of a packed message: work on aligned copies. */
	memcpy(&cfg, ctx->msg.payload.raw, VHOST_USER_CONFIG_HDR_SIZE);
	if (cfg.size > VHOST_USER_MAX_CONFIG_SIZE || cfg.offset > VHOST_USER_MAX_CONFIG_SIZE ||
	    cfg.size > VHOST_USER_MAX_CONFIG_SIZE - cfg.offset) {
		return refuse(s, ctx, "GET_CONFIG of %" PRIu32 " bytes at offset %" PRIu32,
			      cfg.size, cfg.offset);
	}
	s->ctrlr->ops->get_config(s->ctrlr, space, sizeof(space));
	memcpy(ctx->msg.payload.raw + VHOST_USER_CONFIG_HDR_SIZE, space + cfg.offset, cfg.size);
	return reply(ctx, VHOST_USER_CONFIG_HDR_SIZE + cfg.size);
}

static bool
ve_any_started(const struct vhost_session *s)
{
	for (uint32_t i = 0; i < VHOST_MAX_QUEUES; i++) {
		if (s->ve.started[i]) {
			return true;
		}
	}
	return false;
}

/*
 * SET_FEATURES. A change of LOG_ALL alone (migration starts or ends) switches the queues'
 * logging without stopping them; any other change restarts them.
 */
static enum rte_vhost_msg_result
on_set_virtio_features(struct vhost_session *s, struct vhost_user_msg_ctx *ctx, uint64_t f)
{
	const uint64_t log_bit = 1ull << VHOST_USER_F_LOG_ALL;
	bool log_all = (f & log_bit) != 0, was = s->ve.log_all;

	if (log_all && !was && ve_any_started(s)) {
		if (!s->ve.has_log) {
			return refuse(s, ctx,
				      "LOG_ALL on running queues without a dirty log "
				      "(SET_LOG_BASE first)");
		}
		if (s->ve.log_size < ve_log_needed(s)) {
			return refuse(s, ctx,
				      "LOG_ALL with a dirty log of %" PRIu64 " bytes; guest "
				      "memory needs %" PRIu64,
				      s->ve.log_size, ve_log_needed(s));
		}
	}
	if (s->ve.features_set && (f & ~log_bit) != (s->ve.features & ~log_bit)) {
		ve_stop_all(s); /* the queues ran with the old features */
	}
	s->ve.features = f;
	s->ve.features_set = true;
	s->ve.log_all = log_all;
	if (log_all != was && ve_send_log(s, NULL) != 0) {
		return refuse(s, ctx, "cannot reach the session's reactor to switch dirty logging");
	}
	return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
}

static enum rte_vhost_msg_result
on_set_features(struct vhost_session *s, struct vhost_user_msg_ctx *ctx, bool protocol)
{
	uint64_t offered = protocol ? s->ctrlr->protocol_features : s->ctrlr->features;
	uint64_t f;

	if (!size_ok(&ctx->msg, sizeof(uint64_t))) {
		return refuse(s, ctx, "features message of %" PRIu32 " bytes", ctx->msg.size);
	}
	f = ctx->msg.payload.u64;
	if (f & ~offered) {
		return refuse(s, ctx, "%sfeatures 0x%" PRIx64 " were not offered (0x%" PRIx64 ")",
			      protocol ? "protocol " : "", f & ~offered, offered);
	}
	if (protocol) {
		s->ve.protocol_features = f;
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	}
	return on_set_virtio_features(s, ctx, f);
}

static enum rte_vhost_msg_result
on_set_mem_table(struct vhost_session *s, struct vhost_user_msg_ctx *ctx)
{
	int fds[VHOST_USER_MAX_MEM_REGIONS];
	struct vhost_user_mem table;
	char err[256];

	memcpy(&table, ctx->msg.payload.raw, sizeof(table));
	memcpy(fds, (const uint8_t *)ctx + offsetof(struct vhost_user_msg_ctx, fds), sizeof(fds));
	if (vhost_mem_check_table(&table, ctx->msg.size, fds, ctx->fd_num, err, sizeof(err)) != 0) {
		return refuse(s, ctx, "%s", err);
	}
	if (s->ve.log_all && s->ve.has_log) {
		uint64_t need = log_needed(&table);

		if (s->ve.log_size < need) {
			return refuse(s, ctx,
				      "memory table needs a dirty log of %" PRIu64 " bytes; "
				      "the log has %" PRIu64 " (send a larger SET_LOG_BASE first)",
				      need, s->ve.log_size);
		}
	}
	/* rte_vhost unmaps the old regions: no queue may be running across the change. */
	ve_stop_all(s);
	s->ve.mem_table = table;
	s->ve.has_mem = true;
	return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
}

/*
 * SET_LOG_BASE: maps the front end's bitmap (our own mapping; rte_vhost never sees the
 * message), checks that it covers guest memory, hands it to the reactor (which drops the old
 * one once no queue writes to it) and replies with an empty payload, as QEMU expects.
 */
static enum rte_vhost_msg_result
on_set_log_base(struct vhost_session *s, struct vhost_user_msg_ctx *ctx)
{
	struct vhost_user_log lm;
	struct vhost_log *log;
	uint64_t need = ve_log_needed(s);
	char err[256];

	if (!(s->ve.protocol_features & (1ull << VHOST_USER_PROTO_F_LOG_SHMFD))) {
		return refuse(s, ctx, "SET_LOG_BASE without LOG_SHMFD negotiated");
	}
	if (!size_ok(&ctx->msg, sizeof(lm)) || ctx->fd_num != 1 || ctx->fds[0] < 0) {
		return refuse(s, ctx,
			      "SET_LOG_BASE of %" PRIu32 " bytes with %d fds (16 bytes and "
			      "one fd expected)",
			      ctx->msg.size, ctx->fd_num);
	}
	memcpy(&lm, ctx->msg.payload.raw, sizeof(lm));
	if (lm.mmap_size < need) {
		return refuse(s, ctx, "dirty log of %" PRIu64 " bytes; guest memory needs %" PRIu64,
			      lm.mmap_size, need);
	}
	log = vhost_log_map(ctx->fds[0], lm.mmap_size, lm.mmap_offset, err, sizeof(err));
	if (log == NULL) {
		return refuse(s, ctx, "%s", err);
	}
	close(ctx->fds[0]);
	ctx->fds[0] = -1;
	ctx->fd_num = 0;
	if (ve_send_log(s, log) != 0) {
		vhost_log_unref(log);
		return refuse(s, ctx, "cannot hand the dirty log to the session's reactor");
	}
	s->ve.has_log = true;
	s->ve.log_size = lm.mmap_size;
	VT_NOTICELOG("session %s: dirty log of %" PRIu64 " bytes at offset %" PRIu64 "\n", s->name,
		     lm.mmap_size, lm.mmap_offset);
	ve_maybe_start_all(s); /* queues that waited for it */
	return reply(ctx, 0);
}

/*
 * GET_INFLIGHT_FD: a fresh record for the queue count and size the front end asks for. Its areas
 * take their ring layout when the queues start: QEMU's vhost-user-scsi asks before SET_FEATURES,
 * while the features of the previous start (SeaBIOS's split rings) are still set. The memfd is
 * ours until the next one or the session's end: the reply carries it.
 */
static enum rte_vhost_msg_result
on_get_inflight_fd(struct vhost_session *s, struct vhost_user_msg_ctx *ctx)
{
	struct vhost_user_inflight m;
	struct vhost_inflight *r;
	char err[256];
	int fd;

	if (!(s->ve.protocol_features & (1ull << VHOST_USER_PROTO_F_INFLIGHT_SHMFD))) {
		return refuse(s, ctx, "GET_INFLIGHT_FD without INFLIGHT_SHMFD negotiated");
	}
	if (!size_ok(&ctx->msg, sizeof(m)) || ctx->fd_num != 0) {
		/* The reply's fd takes the first slot: none may come with the request. */
		return refuse(s, ctx,
			      "GET_INFLIGHT_FD of %" PRIu32 " bytes with %d fds (%zu and "
			      "none expected)",
			      ctx->msg.size, ctx->fd_num, sizeof(m));
	}
	memcpy(&m, ctx->msg.payload.raw, sizeof(m));
	r = vhost_inflight_create(m.num_queues, m.queue_size, VHOST_MAX_QUEUES, &fd, err,
				  sizeof(err));
	if (r == NULL) {
		return refuse(s, ctx, "%s", err);
	}
	m.mmap_size = r->size;
	m.mmap_offset = 0;
	/* The front end maps the memfd itself; our mapping is made again by SET_INFLIGHT_FD. */
	vhost_inflight_unref(r);
	if (s->ve.inflight_fd >= 0) {
		close(s->ve.inflight_fd);
	}
	s->ve.inflight_fd = fd;
	VT_NOTICELOG("session %s: new inflight record of %u queues of %u entries (%" PRIu64
		     " bytes)\n",
		     s->name, m.num_queues, m.queue_size, m.mmap_size);
	memcpy(ctx->msg.payload.raw, &m, sizeof(m));
	ctx->msg.size = sizeof(m);
	ctx->fds[0] = fd;
	ctx->fd_num = 1;
	return RTE_VHOST_MSG_RESULT_REPLY;
}

/*
 * SET_INFLIGHT_FD: the record the queues start from (after a reconnection, what the previous
 * back end left in it). Checked before anything uses it; a bad one ends the connection.
 */
static enum rte_vhost_msg_result
on_set_inflight_fd(struct vhost_session *s, struct vhost_user_msg_ctx *ctx)
{
	struct vhost_user_inflight m;
	struct vhost_inflight *r;
	char err[256];

	if (!(s->ve.protocol_features & (1ull << VHOST_USER_PROTO_F_INFLIGHT_SHMFD))) {
		return refuse(s, ctx, "SET_INFLIGHT_FD without INFLIGHT_SHMFD negotiated");
	}
	if (!size_ok(&ctx->msg, sizeof(m)) || ctx->fd_num != 1 || ctx->fds[0] < 0) {
		return refuse(s, ctx,
			      "SET_INFLIGHT_FD of %" PRIu32 " bytes with %d fds (%zu bytes and "
			      "one fd expected)",
			      ctx->msg.size, ctx->fd_num, sizeof(m));
	}
	memcpy(&m, ctx->msg.payload.raw, sizeof(m));
	r = vhost_inflight_map(ctx->fds[0], &m, VHOST_MAX_QUEUES, err, sizeof(err));
	if (r == NULL) {
		return refuse(s, ctx, "bad inflight region: %s", err);
	}
	close(ctx->fds[0]);
	ctx->fds[0] = -1;
	ctx->fd_num = 0;
	/* Queues that run on the old record stop first (drained: nothing left in it). */
	ve_stop_all(s);
	vhost_inflight_unref(s->ve.inflight);
	s->ve.inflight = r;
	VT_NOTICELOG("session %s: inflight record of %u queues of %u entries\n", s->name,
		     r->nqueues, r->desc_num);
	ve_maybe_start_all(s);
	return RTE_VHOST_MSG_RESULT_OK;
}

static enum rte_vhost_msg_result
on_vring_num(struct vhost_session *s, struct vhost_user_msg_ctx *ctx, uint16_t idx)
{
	uint32_t num = ctx->msg.payload.state.num;
	bool packed = (s->ve.features >> VIRTIO_F_RING_PACKED) & 1;

	if (num == 0 || num > VHOST_VQ_MAX_SIZE || (!packed && !VT_IS_POW2(num))) {
		return refuse(s, ctx, "queue %u size %" PRIu32 " (a %s of 1 to %d)", idx, num,
			      packed ? "number" : "power of two", VHOST_VQ_MAX_SIZE);
	}
	ve_stop_queue(s, idx);
	s->ve.vring_num[idx] = num;
	return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
}

static enum rte_vhost_msg_result
on_vring_addr(struct vhost_session *s, struct vhost_user_msg_ctx *ctx, uint16_t idx)
{
	struct vhost_user_vring_addr addr, *a = &addr;
	uint32_t num = s->ve.vring_num[idx];
	bool packed = (s->ve.features >> VIRTIO_F_RING_PACKED) & 1;
	uint64_t dl = 1, drl = 1, dvl = 1;

	memcpy(&addr, ctx->msg.payload.raw, sizeof(addr));
	ve_stop_queue(s, idx);
	s->ve.vring_log[idx] = (a->flags >> VHOST_USER_VRING_F_LOG) & 1;
	s->ve.vring_log_gpa[idx] = a->log_guest_addr;
	if (!s->ve.has_mem) {
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED; /* checked again at start */
	}
	if (num != 0) {
		vhost_vq_ring_sizes(packed, (uint16_t)num, s->ve.features, &dl, &drl, &dvl);
	}
	if (!vhost_mem_table_has_uaddr(&s->ve.mem_table, a->desc_user_addr, dl) ||
	    !vhost_mem_table_has_uaddr(&s->ve.mem_table, a->avail_user_addr, drl) ||
	    !vhost_mem_table_has_uaddr(&s->ve.mem_table, a->used_user_addr, dvl)) {
		return refuse(s, ctx,
			      "a ring of queue %u (desc 0x%" PRIx64 ", avail 0x%" PRIx64
			      ", used 0x%" PRIx64 ") is not inside one memory region",
			      idx, a->desc_user_addr, a->avail_user_addr, a->used_user_addr);
	}
	return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
}

static enum rte_vhost_msg_result
on_vring_base(struct vhost_session *s, struct vhost_user_msg_ctx *ctx, uint16_t idx)
{
	uint32_t num = ctx->msg.payload.state.num, size = s->ve.vring_num[idx];
	bool packed = (s->ve.features >> VIRTIO_F_RING_PACKED) & 1;

	/*
	 * Packed rings: bits 0-14 the avail slot, 15 its wrap counter, 16-30 the used slot, 31 its
	 * wrap counter (QEMU sends both halves; rte_vhost starts both from the first).
	 */
	if (packed && size != 0 && ((num & 0x7fff) >= size || ((num >> 16) & 0x7fff) >= size)) {
		return refuse(s, ctx, "queue %u base 0x%" PRIx32 " is beyond its size", idx, num);
	}
	ve_stop_queue(s, idx);
	return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
}

static enum rte_vhost_msg_result
on_vring_msg(struct vhost_session *s, struct vhost_user_msg_ctx *ctx)
{
	struct vhost_user_msg *m = &ctx->msg;
	int idx = msg_queue_index(m);

	if (idx < 0) {
		return refuse(s, ctx, "vring message of %" PRIu32 " bytes", m->size);
	}
	if (idx >= VHOST_MAX_QUEUES) {
		return refuse(s, ctx, "queue index %d (the device has %d queues)", idx,
			      VHOST_MAX_QUEUES);
	}
	switch (m->request) {
	case VHOST_USER_REQ_SET_VRING_NUM:
		return on_vring_num(s, ctx, (uint16_t)idx);
	case VHOST_USER_REQ_SET_VRING_ADDR:
		return on_vring_addr(s, ctx, (uint16_t)idx);
	case VHOST_USER_REQ_SET_VRING_BASE:
		return on_vring_base(s, ctx, (uint16_t)idx);
	case VHOST_USER_REQ_GET_VRING_BASE:
		s->ve.kicked[idx] = false; /* rte_vhost closes the kick and call fds */
		if (ve_stop_queue(s, (uint16_t)idx) != 0) {
			/*
			 * Its requests are still in flight: indexes that do not cover them would
			 * have the next back end (a migration's destination) lose or repeat them.
			 */
			return refuse(s, ctx, "queue %d did not drain: no ring base to answer",
				      idx);
		}
		break;
	case VHOST_USER_REQ_SET_VRING_KICK:
		ve_stop_queue(s, (uint16_t)idx);
		break;
	case VHOST_USER_REQ_SET_VRING_ENABLE:
		s->ve.enabled[idx] = m->payload.state.num != 0;
		if (!s->ve.enabled[idx]) {
			ve_stop_queue(s, (uint16_t)idx);
		}
		break;
	default:
		break;
	}
	return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
}

static void
ve_reset(struct vhost_session *s)
{
	ve_stop_all(s);
	memset(s->ve.vring_num, 0, sizeof(s->ve.vring_num));
	memset(s->ve.enabled, 0, sizeof(s->ve.enabled));
	memset(s->ve.kicked, 0, sizeof(s->ve.kicked));
	s->ve.features = 0;
	s->ve.features_set = false;
	s->ve.protocol_features = 0;
	s->ve.has_mem = false;
	vhost_inflight_unref(s->ve.inflight);
	s->ve.inflight = NULL;
	if (s->ve.log_all) {
		s->ve.log_all = false;
		ve_send_log(s, NULL);
	}
}

static enum rte_vhost_msg_result
pre_msg(int vid, void *arg)
{
	struct vhost_user_msg_ctx *ctx = arg;
	struct vhost_user_msg *m = &ctx->msg;
	struct vhost_session *s = vhost_user_vid_session(vid, false);

	if (s == NULL) {
		return refuse(NULL, ctx, "no session for vid %d", vid);
	}
	VT_DEBUGLOG(vhost_user, "session %s: message %" PRIu32 " (%" PRIu32 " bytes, %d fds)\n",
		    s->name, m->request, m->size, ctx->fd_num);
	switch (m->request) {
	case VHOST_USER_REQ_GET_CONFIG:
		return on_get_config(s, ctx);
	case VHOST_USER_REQ_SET_CONFIG:
		/* Nothing of the config space is writable (no CONFIG_WCE). */
		return RTE_VHOST_MSG_RESULT_OK;
	case VHOST_USER_REQ_GET_QUEUE_NUM:
		ctx->msg.payload.u64 = VHOST_MAX_QUEUES;
		return reply(ctx, sizeof(uint64_t));
	case VHOST_USER_REQ_SET_FEATURES:
		return on_set_features(s, ctx, false);
	case VHOST_USER_REQ_SET_PROTOCOL_FEATURES:
		return on_set_features(s, ctx, true);
	case VHOST_USER_REQ_SET_MEM_TABLE:
		return on_set_mem_table(s, ctx);
	case VHOST_USER_REQ_SET_VRING_NUM:
	case VHOST_USER_REQ_SET_VRING_ADDR:
	case VHOST_USER_REQ_SET_VRING_BASE:
	case VHOST_USER_REQ_GET_VRING_BASE:
	case VHOST_USER_REQ_SET_VRING_KICK:
	case VHOST_USER_REQ_SET_VRING_CALL:
	case VHOST_USER_REQ_SET_VRING_ERR:
	case VHOST_USER_REQ_SET_VRING_ENABLE:
		return on_vring_msg(s, ctx);
	case VHOST_USER_REQ_RESET_OWNER:
		ve_reset(s);
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	case VHOST_USER_REQ_SET_LOG_BASE:
		return on_set_log_base(s, ctx);
	case VHOST_USER_REQ_GET_INFLIGHT_FD:
		return on_get_inflight_fd(s, ctx);
	case VHOST_USER_REQ_SET_INFLIGHT_FD:
		return on_set_inflight_fd(s, ctx);
	case VHOST_USER_REQ_SET_LOG_FD:
	case VHOST_USER_REQ_SEND_RARP:
	case VHOST_USER_REQ_NET_SET_MTU:
	case VHOST_USER_REQ_IOTLB_MSG:
	case VHOST_USER_REQ_CREATE_CRYPTO_SESSION:
	case VHOST_USER_REQ_CLOSE_CRYPTO_SESSION:
	case VHOST_USER_REQ_POSTCOPY_ADVISE:
	case VHOST_USER_REQ_POSTCOPY_LISTEN:
	case VHOST_USER_REQ_POSTCOPY_END:
		return refuse(s, ctx, "a feature this device does not offer");
	default:
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	}
}

/* ---- after rte_vhost handled a message ------------------------------------------------------ */

static int
ve_new_map(struct vhost_session *s)
{
	struct vhost_mem_region_desc d[VHOST_VQ_MEM_MAX_REGIONS];
	struct rte_vhost_memory *mem = NULL;
	struct vhost_mem_map *map;
	struct vhost_call *call;
	char err[256];
	uint32_t n;

	if (rte_vhost_get_mem_table(s->vid, &mem) != 0) {
		VT_ERRLOG("session %s: cannot read the memory table\n", s->name);
		return -EINVAL;
	}
	n = VT_MIN(mem->nregions, (uint32_t)VHOST_VQ_MEM_MAX_REGIONS);
	for (uint32_t i = 0; i < n; i++) {
		const struct rte_vhost_mem_region *r = &mem->regions[i];

		d[i].gpa = r->guest_phys_addr;
		d[i].size = r->size;
		d[i].fd = r->fd;
		d[i].mmap_offset = r->host_user_addr - (uint64_t)(uintptr_t)r->mmap_addr;
		d[i].mmap_size = r->mmap_size;
		d[i].ext_host = r->host_user_addr;
	}
	map = vhost_mem_map_create(d, mem->nregions, err, sizeof(err));
	free(mem);
	if (map == NULL) {
		VT_ERRLOG("session %s: cannot map guest memory: %s\n", s->name, err);
		return -EINVAL;
	}
	call = vhost_call_alloc(s, vhost_session_set_map_fn);
	if (call == NULL) {
		vhost_mem_map_unref(map);
		return -ENOMEM;
	}
	call->u.map = map;
	vhost_call_run(call, "a memory table change");
	if (!call->sent) {
		vhost_mem_map_unref(map);
		vhost_call_put(call);
		return -EIO;
	}
	vhost_call_put(call);
	/* The reactor holds the map until the next one; this thread only reads it. */
	s->ve.map = map;
	return 0;
}

static enum rte_vhost_msg_result
post_msg(int vid, void *arg)
{
	struct vhost_user_msg_ctx *ctx = arg;
	struct vhost_user_msg *m = &ctx->msg;
	struct vhost_session *s = vhost_user_vid_session(vid, false);
	int idx;

	if (s == NULL) {
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	}
	switch (m->request) {
	case VHOST_USER_REQ_SET_MEM_TABLE:
		if (ve_new_map(s) != 0) {
			return refuse(s, ctx, "guest memory cannot be mapped");
		}
		ve_maybe_start_all(s);
		break;
	case VHOST_USER_REQ_SET_FEATURES:
		ve_maybe_start_all(s);
		break;
	case VHOST_USER_REQ_SET_VRING_KICK:
	case VHOST_USER_REQ_SET_VRING_CALL:
	case VHOST_USER_REQ_SET_VRING_ENABLE:
	case VHOST_USER_REQ_SET_VRING_ADDR:
	case VHOST_USER_REQ_SET_VRING_NUM:
	case VHOST_USER_REQ_SET_VRING_BASE:
		idx = msg_queue_index(m); /* checked by pre_msg */
		if (m->request == VHOST_USER_REQ_SET_VRING_KICK) {
			s->ve.kicked[idx] = true;
		}
		if (m->request == VHOST_USER_REQ_SET_VRING_CALL && s->ve.started[idx]) {
			ve_update_callfd(s, (uint16_t)idx);
			break;
		}
		ve_maybe_start(s, (uint16_t)idx);
		break;
	default:
		break;
	}
	return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
}

/* ---- rte_vhost device callbacks ------------------------------------------------------------- */

static struct vhost_ctrlr *
ctrlr_by_path(const char *path)
{
	struct vhost_ctrlr *c;

	for (c = vhost_ctrlr_first(); c != NULL; c = vhost_ctrlr_next(c)) {
		if (strcmp(c->path, path) == 0) {
			return c;
		}
	}
	return NULL;
}

static int
new_connection(int vid)
{
	char path[PATH_MAX];
	struct vhost_session *s;
	struct vhost_ctrlr *c;
	struct vhost_call *call;
	int rc;

	if (vid < 0 || vid >= RTE_MAX_VHOST_DEVICE ||
	    rte_vhost_get_ifname(vid, path, sizeof(path)) != 0) {
		return -1;
	}
	pthread_mutex_lock(&g_vhost_mutex);
	c = ctrlr_by_path(path);
	if (c == NULL || c->state != VHOST_CTRLR_RUNNING) {
		pthread_mutex_unlock(&g_vhost_mutex);
		VT_WARNLOG("refusing a front end on %s: its controller is %s\n", path,
			   c == NULL ? "unknown" : "being deleted");
		return -1;
	}
	s = vhost_session_alloc(c, vid);
	if (s == NULL) {
		pthread_mutex_unlock(&g_vhost_mutex);
		return -1;
	}
	s->id = ++c->next_session_id;
	snprintf(s->name, sizeof(s->name), "%s:%" PRIu32, c->name, s->id);
	TAILQ_INSERT_TAIL(&c->sessions, s, link);
	c->nlive++;
	s->live = true;
	g_vid_sessions[vid] = s;
	pthread_mutex_unlock(&g_vhost_mutex);
	vhost_conn_identify(s);

	rte_vhost_extern_callback_register(vid, &g_extern_ops, NULL);
	call = vhost_call_alloc(s, vhost_session_attach_fn);
	rc = call != NULL ? vhost_call_run(call, "a session start") : -ENOMEM;
	if (call == NULL || !call->sent || (rc != 0 && rc != -ETIMEDOUT)) {
		vhost_call_put(call);
		VT_ERRLOG("session %s: cannot start: %s\n", s->name, vt_strerror(-rc));
		if (vhost_user_vid_session(vid, true) == s) {
			post_destroy(s);
		}
		return -1;
	}
	vhost_call_put(call);
	VT_NOTICELOG("session %s: front end connected to %s (vid %d)\n", s->name, path, vid);
	return 0;
}

static void
destroy_connection(int vid)
{
	struct vhost_session *s = vhost_user_vid_session(vid, true);

	if (s == NULL) {
		return;
	}
	VT_NOTICELOG("session %s: front end disconnected\n", s->name);
	/* Our mapping and fds outlive rte_vhost's: the reactor drains at its own pace. */
	post_destroy(s);
}

static int
new_device(int vid)
{
	VT_DEBUGLOG(vhost_user, "vid %d: device running (driver ready)\n", vid);
	return 0;
}

static void
destroy_device(int vid)
{
	/* Queues are stopped one by one from the messages that stop them, not here. */
	VT_DEBUGLOG(vhost_user, "vid %d: device stopped\n", vid);
}

static int
vring_state_changed(int vid, uint16_t idx, int enable)
{
	struct vhost_session *s = vhost_user_vid_session(vid, false);

	if (s == NULL || idx >= VHOST_MAX_QUEUES) {
		return 0;
	}
	if (enable) {
		ve_maybe_start(s, idx);
	} else {
		ve_stop_queue(s, idx);
	}
	return 0;
}

static const struct rte_vhost_device_ops g_device_ops = {
	.new_device = new_device,
	.destroy_device = destroy_device,
	.vring_state_changed = vring_state_changed,
	.new_connection = new_connection,
	.destroy_connection = destroy_connection,
};

/* ---- sockets -------------------------------------------------------------------------------- */

/*
 * rte_vhost's vhost-events thread polls a snapshot of its fd set and takes a new listening socket
 * into account only when poll() returns, which is after up to a second when nothing else happens:
 * a front end connecting to a controller just created (QEMU right after the RPC, a hot-plug)
 * would wait that long for its first answer. A private socket in the runtime folder, connected
 * to once after each new listener, wakes the thread; its connections are accepted and dropped.
 */
static char g_wake_path[sizeof(((struct sockaddr_un *)NULL)->sun_path)];

static int
wake_new_connection(int vid)
{
	return 0;
}

static void
wake_destroy_connection(int vid)
{
}

static const struct rte_vhost_device_ops g_wake_ops = {
	.new_connection = wake_new_connection,
	.destroy_connection = wake_destroy_connection,
};

static void
wake_setup(void)
{
	const char *dir = vt_app_runtime_dir();
	int n;

	if (dir[0] == '\0') {
		return;
	}
	n = snprintf(g_wake_path, sizeof(g_wake_path), "%s/vhost-wake", dir);
	if (n < 0 || (size_t)n >= sizeof(g_wake_path)) {
		g_wake_path[0] = '\0';
		return;
	}
	if (rte_vhost_driver_register(g_wake_path, 0) != 0) {
		g_wake_path[0] = '\0';
		return;
	}
	if (rte_vhost_driver_callback_register(g_wake_path, &g_wake_ops) != 0 ||
	    rte_vhost_driver_start(g_wake_path) != 0) {
		rte_vhost_driver_unregister(g_wake_path);
		g_wake_path[0] = '\0';
	}
}

/* Makes the vhost-events thread poll again (and so see the listener just added). */
static void
wake_events_thread(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (g_wake_path[0] == '\0') {
		return;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		return;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", g_wake_path);
	/* Queued in the backlog even if nobody accepts at once; closing it is fine. */
	(void)connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
}

/* A socket file left by a daemon that died is removed; one somebody listens on is not. */
static int
check_socket_path(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) != 0) {
		return 0;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "'%s' exists and is not a socket", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create a socket: %s", vt_strerror(errno));
		return -errno;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen, "socket '%s' is in use by another process", path);
		return -EADDRINUSE;
	}
	if (unlink(path) != 0) {
		snprintf(err, errlen, "cannot remove the stale socket '%s': %s", path,
			 vt_strerror(errno));
		return -EEXIST;
	}
	return 0;
}

/*
 * The owner, group and mode the operator asked for (--vhost-sock-owner/-group/-mode), so that a
 * front end running as another user (libvirt's QEMU as libvirt-qemu) may connect. The socket
 * listens already: a front end that connects before this is one root let in anyway.
 */
static int
apply_sock_perms(const char *path, char *err, size_t errlen)
{
	int64_t uid, gid;
	int32_t mode;

	vt_app_vhost_sock_perms(&uid, &gid, &mode);
	if ((uid >= 0 || gid >= 0) && chown(path, (uid_t)uid, (gid_t)gid) != 0) {
		int rc = -errno;

		snprintf(err, errlen, "cannot set the owner of '%s': %s", path, vt_strerror(-rc));
		return rc;
	}
	if (mode >= 0 && chmod(path, (mode_t)mode) != 0) {
		int rc = -errno;

		snprintf(err, errlen, "cannot set the mode of '%s': %s", path, vt_strerror(-rc));
		return rc;
	}
	return 0;
}

int
vhost_user_register(struct vhost_ctrlr *c, char *err, size_t errlen)
{
	static bool quiet;
	int rc = check_socket_path(c->path, err, errlen);

	if (!quiet) {
		/* rte_vhost logs every message at INFO: keep its warnings and errors only. */
		rte_log_set_level_pattern("lib.vhost.*", RTE_LOG_WARNING);
		quiet = true;
		wake_setup();
	}
	if (rc != 0) {
		return rc;
	}
	if (rte_vhost_driver_register(c->path, 0) != 0) {
		snprintf(err, errlen, "cannot register the vhost-user socket '%s'", c->path);
		return -EINVAL;
	}
	if (rte_vhost_driver_set_features(c->path, c->features) != 0 ||
	    rte_vhost_driver_set_protocol_features(c->path, c->protocol_features) != 0 ||
	    rte_vhost_driver_callback_register(c->path, &g_device_ops) != 0) {
		snprintf(err, errlen, "cannot configure the vhost-user socket '%s'", c->path);
		goto fail;
	}
	if (rte_vhost_driver_start(c->path) != 0) {
		snprintf(err, errlen, "cannot listen on '%s' (is the folder there and writable?)",
			 c->path);
		goto fail;
	}
	if (apply_sock_perms(c->path, err, errlen) != 0) {
		goto fail;
	}
	c->socket_registered = true;
	wake_events_thread();
	return 0;
fail:
	rte_vhost_driver_unregister(c->path);
	return -EINVAL;
}

void
vhost_user_unregister(struct vhost_ctrlr *c)
{
	struct vhost_session *gone[RTE_MAX_VHOST_DEVICE];
	uint32_t n = 0;

	/* Closes the socket and the connections left (without destroy_connection for them). */
	if (rte_vhost_driver_unregister(c->path) != 0) {
		VT_ERRLOG("cannot unregister the vhost-user socket '%s'\n", c->path);
	}
	c->socket_registered = false;
	pthread_mutex_lock(&g_vhost_mutex);
	for (int vid = 0; vid < RTE_MAX_VHOST_DEVICE; vid++) {
		struct vhost_session *s = g_vid_sessions[vid];

		if (s != NULL && s->ctrlr == c) {
			g_vid_sessions[vid] = NULL;
			s->live = false;
			c->nlive--;
			gone[n++] = s;
		}
	}
	pthread_mutex_unlock(&g_vhost_mutex);
	for (uint32_t i = 0; i < n; i++) {
		VT_NOTICELOG("session %s: disconnected by the controller's deletion\n",
			     gone[i]->name);
		post_destroy(gone[i]);
	}
}

void
vhost_user_config_changed(struct vhost_session *s)
{
	uint64_t pf = 0;

	/* Only front ends that set up the back-end channel (BACKEND_REQ) hear about it. */
	if (rte_vhost_get_negotiated_protocol_features(s->vid, &pf) == 0 &&
	    (pf & (1ull << VHOST_USER_PROTO_F_BACKEND_REQ)) != 0) {
		rte_vhost_slave_config_change(s->vid, false);
	}
}
