/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The reactor side of a session: queues started and stopped one by one, the request pools, the
 * session poller (one per session, polling its running queues in turn), used-buffer
 * notifications (one per queue and poller pass at most) and, in interrupt mode, guest kicks as
 * fd pollers re-armed before the reactor sleeps. Plus the calls through which the vhost-events
 * thread drives all this. Nothing here touches rte_vhost.
 *
 * A queue stop first takes the queue off the poller (no new chain is fetched), then waits for
 * its requests to complete, publishes their used entries and only then answers: the ring
 * indexes it reports cover every request the guest made available and the device took.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "vt/event.h"
#include "vt/log.h"
#include "vt/util.h"

#include "lib/vhost/vhost_internal.h"

VT_LOG_REGISTER_COMPONENT(vhost)

/* ---- calls from the vhost-events thread --------------------------------------------------- */

struct vhost_call *
vhost_call_alloc(struct vhost_session *s, void (*fn)(struct vhost_call *call))
{
	struct vhost_call *call = calloc(1, sizeof(*call));

	if (call == NULL) {
		VT_ERRLOG("cannot allocate a call for session %s\n", s->name);
		return NULL;
	}
	if (sem_init(&call->sem, 0, 0) != 0) {
		free(call);
		return NULL;
	}
	atomic_init(&call->refs, 1);
	atomic_init(&call->answered, false);
	call->s = s;
	call->fn = fn;
	return call;
}

void
vhost_call_put(struct vhost_call *call)
{
	if (call != NULL && atomic_fetch_sub(&call->refs, 1) == 1) {
		sem_destroy(&call->sem);
		free(call);
	}
}

static void
call_msg(void *arg)
{
	struct vhost_call *call = arg;

	call->fn(call);
}

void
vhost_call_done(struct vhost_call *call, int rc)
{
	call->rc = rc;
	atomic_store(&call->answered, true);
	sem_post(&call->sem);
	vhost_call_put(call);
}

static void
timespec_add_ms(struct timespec *ts, uint32_t ms)
{
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int
vhost_call_run(struct vhost_call *call, const char *what)
{
	struct vhost_session *s = call->s;
	uint32_t reactor = s->ctrlr->reactor;
	struct timespec deadline;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	timespec_add_ms(&deadline, VHOST_CALL_TIMEOUT_MS);
	atomic_fetch_add(&call->refs, 1); /* the reactor's */
	while ((rc = vt_send_msg(reactor, call_msg, call)) == -ENOMEM) {
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > deadline.tv_sec) {
			break;
		}
		usleep(100);
	}
	if (rc != 0) {
		VT_ERRLOG("session %s: cannot reach reactor %" PRIu32 " for %s: %s\n", s->name,
			  reactor, what, vt_strerror(-rc));
		vhost_call_put(call);
		return rc;
	}
	call->sent = true;
	while (sem_clockwait(&call->sem, CLOCK_MONOTONIC, &deadline) != 0) {
		if (errno == EINTR) {
			continue;
		}
		VT_ERRLOG("session %s: reactor %" PRIu32 " did not finish %s within %d ms; going "
			  "on without it\n",
			  s->name, reactor, what, VHOST_CALL_TIMEOUT_MS);
		return -ETIMEDOUT;
	}
	return call->rc;
}

/* ---- allocation ----------------------------------------------------------------------------- */

struct vhost_session *
vhost_session_alloc(struct vhost_ctrlr *c, int vid)
{
	struct vhost_session *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		VT_ERRLOG("cannot allocate a session for controller '%s'\n", c->name);
		return NULL;
	}
	s->ctrlr = c;
	s->vid = vid;
	s->conn_fd = -1;
	s->ve.inflight_fd = -1;
	s->coal.timerfd = -1;
	snprintf(s->name, sizeof(s->name), "%s:vid%d", c->name, vid);
	return s;
}

static size_t
req_ctx_offset(void)
{
	return sizeof(struct vhost_req);
}

struct vhost_queue *
vhost_queue_alloc(struct vhost_session *s, uint16_t size)
{
	size_t ctx = VT_ALIGN_UP(s->ctrlr->ops->req_ctx_size, (size_t)16);
	struct vhost_queue *q;
	size_t big_bytes;

	if (size == 0) {
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	if (q == NULL) {
		return NULL;
	}
	q->s = s;
	q->kickfd = -1;
	q->callfd = -1;
	q->nreqs = VT_MIN((uint32_t)size, (uint32_t)VHOST_MAX_QUEUE_REQS);
	q->req_stride = req_ctx_offset() + ctx + VHOST_REQ_INLINE_IOVS * sizeof(struct iovec);
	/* A chain: the ring's descriptors, one indirect table, a split per region boundary. */
	q->big_iov_max = (uint32_t)size +
			 VT_MAX((uint32_t)size, (uint32_t)VHOST_VQ_INDIRECT_MIN_BOUND) +
			 2 * VHOST_VQ_MEM_MAX_REGIONS;
	big_bytes = (size_t)q->big_iov_max * sizeof(struct iovec);
	q->reqs = aligned_alloc(16, q->nreqs * q->req_stride);
	q->chain.iov = malloc(big_bytes);
	q->chain.iov_max = q->big_iov_max;
	q->inf_work = calloc(2 * (size_t)size, sizeof(uint16_t));
	if (q->reqs == NULL || q->chain.iov == NULL || q->inf_work == NULL) {
		goto fail;
	}
	for (uint32_t i = 0; i < VHOST_QUEUE_SPARE_IOVS; i++) {
		q->spare[i] = malloc(big_bytes);
		if (q->spare[i] == NULL) {
			goto fail;
		}
		q->nspare++;
	}
	memset(q->reqs, 0, q->nreqs * q->req_stride);
	for (uint32_t i = q->nreqs; i-- > 0;) {
		struct vhost_req *req = (struct vhost_req *)(q->reqs + i * q->req_stride);

		req->q = q;
		req->inline_iov = (struct iovec *)((uint8_t *)req + req_ctx_offset() + ctx);
		req->next_free = q->free;
		q->free = req;
	}
	return q;
fail:
	VT_ERRLOG("session %s: cannot allocate a queue of %" PRIu16 " entries\n", s->name, size);
	vhost_queue_free(q);
	return NULL;
}

void
vhost_queue_free(struct vhost_queue *q)
{
	if (q == NULL) {
		return;
	}
	for (uint32_t i = 0; i < q->nspare; i++) {
		free(q->spare[i]);
	}
	free(q->chain.iov);
	free(q->reqs);
	free(q->inf_work);
	free(q);
}

/* ---- the data path ------------------------------------------------------------------------ */

void
vhost_queue_notify(struct vhost_queue *q)
{
	uint64_t one = 1;

	/* A full eventfd counter (EAGAIN) already means "notified". */
	if (write(q->callfd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
		VT_DEBUGLOG(vhost, "session %s q%u: cannot write the call eventfd: %s\n",
			    q->s->name, q->index, vt_strerror(errno));
	}
}

static inline void
queue_publish(struct vhost_queue *q)
{
	q->dirty = false;
	if (vhost_vq_publish(&q->vq) && q->callfd >= 0) {
		if (vt_likely(q->s->coal.base_ns == 0)) {
			vhost_queue_notify(q);
		} else {
			vhost_coal_notify(q);
		}
	}
}

static void
run_remove(struct vhost_session *s, struct vhost_queue *q)
{
	for (uint32_t i = 0; i < s->nrun; i++) {
		if (s->run[i] == q) {
			s->run[i] = s->run[--s->nrun];
			break;
		}
	}
	q->running = false;
}

/* Takes the queue off the poller after a fault that needs a device reset. */
static void
queue_break(struct vhost_queue *q, const char *why)
{
	if (!q->running) {
		return;
	}
	VT_ERRLOG("session %s: queue %u stopped (%s); the device needs a reset\n", q->s->name,
		  q->index, why);
	run_remove(q->s, q);
	vt_poller_unregister(&q->kick_poller);
}

/* Moves the popped chain into req; the iovecs go to its inline array when they fit. */
static inline void
req_take_chain(struct vhost_queue *q, struct vhost_req *req, int rc)
{
	struct vhost_vq_chain *c = &q->chain;
	struct iovec *iov = req->inline_iov;
	uint32_t iov_max = VHOST_REQ_INLINE_IOVS;

	req->big = false;
	if (vt_likely(rc == 0)) {
		if (vt_likely(c->niov <= VHOST_REQ_INLINE_IOVS)) {
			memcpy(iov, c->iov, c->niov * sizeof(*iov));
		} else {
			/* The request keeps the large array; the next chain goes to a spare. */
			iov = c->iov;
			iov_max = q->big_iov_max;
			c->iov = q->nspare > 0 ? q->spare[--q->nspare] : NULL;
			req->big = true;
		}
	} else {
		/* A rejected chain's iovecs mean nothing. */
		c->niov = 0;
		c->nreadable = 0;
	}
	req->chain = *c;
	req->chain.iov = iov;
	req->chain.iov_max = iov_max;
}

static void
queue_give_back_iov(struct vhost_queue *q, struct iovec *iov)
{
	if (q->chain.iov == NULL) {
		q->chain.iov = iov;
	} else {
		q->spare[q->nspare++] = iov;
	}
}

static void queue_finish(struct vhost_queue *q);

static void
queue_finish_defer(void *arg)
{
	queue_finish(arg);
}

static inline void
req_release(struct vhost_queue *q, struct vhost_req *req)
{
	if (vt_unlikely(req->big)) {
		queue_give_back_iov(q, req->chain.iov);
		req->big = false;
	}
	req->next_free = q->free;
	q->free = req;
	q->inflight--;
	if (vt_unlikely(!q->running)) {
		/* Stopping or broken: no poller pass publishes for it any more. */
		if (q->dirty) {
			queue_publish(q);
		}
		if (q->paused) {
			atomic_fetch_sub(&g_vhost_quiesce_inflight, 1);
		}
		if (q->stopping && q->inflight == 0) {
			vt_defer(&q->finish_defer, queue_finish_defer, q);
		}
	}
}

void
vhost_req_done(struct vhost_req *req, uint32_t used_len)
{
	struct vhost_queue *q = req->q;

	vhost_vq_push(&q->vq, req->chain.id, req->chain.ndescs, used_len);
	q->dirty = true;
	q->completed++;
	req_release(q, req);
}

void
vhost_req_fail_queue(struct vhost_req *req, const char *why)
{
	struct vhost_queue *q = req->q;

	queue_break(q, why);
	req_release(q, req);
}

static int
queue_poll(struct vhost_queue *q)
{
	struct vhost_req *req;
	uint32_t n = 0;
	int rc;

	while (n < VHOST_POLL_BATCH && q->free != NULL && q->chain.iov != NULL) {
		rc = vhost_vq_pop(&q->vq, q->mem, &q->chain);
		if (rc == -EAGAIN) {
			break;
		}
		if (vt_unlikely(rc == -EIO)) {
			queue_break(q, vhost_vq_err_str(vhost_vq_broken_reason(&q->vq)));
			break;
		}
		req = q->free;
		q->free = req->next_free;
		req_take_chain(q, req, rc);
		q->inflight++;
		n++;
		q->submit(req);
		if (vt_unlikely(!q->running)) {
			break;
		}
	}
	if (q->dirty) {
		queue_publish(q);
	}
	return n > 0 ? VT_POLLER_BUSY : VT_POLLER_IDLE;
}

/*
 * Interrupt mode: kicks stay off while the queue has work; once a pass finds nothing they are
 * re-armed, and buffers that came meanwhile keep the reactor awake for one more pass. Adaptive
 * mode: the same, but the reactor says when to re-arm (arm: its polling window has passed).
 */
static int
queue_poll_interrupt(struct vhost_queue *q, bool arm)
{
	int busy = queue_poll(q);

	if (vt_unlikely(q->no_kicks)) {
		return VT_POLLER_BUSY; /* the front end polls: so must we, sleeping is not safe */
	}

	if (busy == VT_POLLER_BUSY) {
		if (q->kicks_on) {
			vhost_vq_kick_disable(&q->vq);
			q->kicks_on = false;
		}
		return busy;
	}
	if (!q->kicks_on && q->running && arm) {
		q->kicks_on = true;
		/* With every request taken, completions (not kicks) wake the reactor. */
		if (vhost_vq_kick_enable(&q->vq) && q->free != NULL && q->chain.iov != NULL) {
			return VT_POLLER_BUSY;
		}
	}
	return VT_POLLER_IDLE;
}

/* A queue the personality takes buffers from itself: only asks it whether it has work. */
static int
queue_poll_demand(struct vhost_queue *q)
{
	int busy = q->s->ctrlr->ops->queue_demand_poll(q);

	if (q->dirty) {
		queue_publish(q);
	}
	return busy;
}

struct vhost_req *
vhost_queue_take(struct vhost_queue *q)
{
	struct vhost_req *req;
	int rc;

	if (!q->running || q->free == NULL || q->chain.iov == NULL) {
		return NULL;
	}
	rc = vhost_vq_pop(&q->vq, q->mem, &q->chain);
	if (rc == -EAGAIN && q->kicks_on && vhost_vq_kick_enable(&q->vq)) {
		/* Re-armed at the ring's end (EVENT_IDX): the next buffer kicks; one came already. */
		rc = vhost_vq_pop(&q->vq, q->mem, &q->chain);
	}
	if (rc == -EAGAIN) {
		return NULL;
	}
	if (vt_unlikely(rc == -EIO)) {
		queue_break(q, vhost_vq_err_str(vhost_vq_broken_reason(&q->vq)));
		return NULL;
	}
	req = q->free;
	q->free = req->next_free;
	req_take_chain(q, req, rc);
	q->inflight++;
	return req;
}

void
vhost_queue_flush(struct vhost_queue *q)
{
	if (q->dirty) {
		queue_publish(q);
	}
}

struct vhost_queue *
vhost_session_queue(struct vhost_session *s, uint16_t idx)
{
	struct vhost_queue *q = idx < VHOST_MAX_QUEUES ? s->queues[idx] : NULL;

	return q != NULL && q->running ? q : NULL;
}

static int
session_poll(void *arg)
{
	struct vhost_session *s = arg;
	int busy = VT_POLLER_IDLE;
	bool arm = s->interrupt_mode && vt_reactor_arming();

	/* Backwards: a queue that breaks swaps the last one into its slot, already visited. */
	for (uint32_t i = s->nrun; i-- > 0;) {
		struct vhost_queue *q = s->run[i];

		if (vt_unlikely(q->on_demand)) {
			busy |= queue_poll_demand(q);
		} else if (s->interrupt_mode) {
			busy |= queue_poll_interrupt(q, arm);
		} else {
			busy |= queue_poll(q);
		}
	}
	if (vt_unlikely(s->coal.npending > 0)) {
		vhost_coal_flush(s);
	}
	return busy;
}

static int
queue_kick(void *arg, uint32_t events)
{
	struct vhost_queue *q = arg;
	uint64_t val;

	/* The session poller does the work on the next iteration; this only clears the fd. */
	if (read(q->kickfd, &val, sizeof(val)) < 0 && errno != EAGAIN) {
		VT_DEBUGLOG(vhost, "session %s q%u: cannot read the kick eventfd: %s\n", q->s->name,
			    q->index, vt_strerror(errno));
	}
	return VT_POLLER_BUSY;
}

/* ---- queue life cycle (reactor) ------------------------------------------------------------- */

static void session_destroy_finish(struct vhost_session *s);

static void
queue_close_fds(struct vhost_queue *q)
{
	vt_poller_unregister(&q->kick_poller);
	if (q->kickfd >= 0) {
		close(q->kickfd);
		q->kickfd = -1;
	}
	if (q->callfd >= 0) {
		close(q->callfd);
		q->callfd = -1;
	}
}

/* Every request is back: answer the stop and free the queue. */
static void
queue_finish(struct vhost_queue *q)
{
	struct vhost_session *s = q->s;
	struct vhost_call *call = q->stop_call;

	if (q->dirty) {
		queue_publish(q);
	}
	vhost_coal_queue_stop(q);
	if (call != NULL) {
		call->u.stop.avail_base = vhost_vq_get_avail_base(&q->vq);
		call->u.stop.used_base = vhost_vq_get_used_base(&q->vq);
		call->u.stop.valid = true;
		q->stop_call = NULL;
		vhost_call_done(call, 0);
	}
	VT_DEBUGLOG(vhost, "session %s: queue %u stopped after %" PRIu64 " requests\n", s->name,
		    q->index, q->completed);
	if (s->queues[q->index] == q) {
		s->queues[q->index] = NULL;
	}
	queue_close_fds(q);
	vhost_mem_map_unref(q->map);
	vhost_log_unref(q->log);
	vhost_inflight_unref(q->inf_record);
	vhost_queue_free(q);
	s->nqueues--;
	if (s->destroying && s->nqueues == 0) {
		session_destroy_finish(s);
	}
}

void
vhost_queue_pause(struct vhost_queue *q)
{
	if (q->paused) {
		return;
	}
	q->paused = true;
	atomic_fetch_add(&g_vhost_quiesce_inflight, q->inflight);
	if (q->running) {
		run_remove(q->s, q);
	}
	vt_poller_unregister(&q->kick_poller);
}

/* Stops fetching; the queue finishes once its requests are done. */
static void
queue_begin_stop(struct vhost_queue *q)
{
	if (q->stopping) {
		return;
	}
	q->stopping = true;
	vhost_coal_queue_stop(q);
	if (q->running) {
		run_remove(q->s, q);
	}
	vt_poller_unregister(&q->kick_poller);
	if (q->inflight == 0) {
		vt_defer(&q->finish_defer, queue_finish_defer, q);
	}
}

static void
start_fail(struct vhost_call *call, int rc)
{
	struct vhost_queue_params *p = &call->u.start;

	if (p->kickfd >= 0) {
		close(p->kickfd);
	}
	if (p->callfd >= 0) {
		close(p->callfd);
	}
	vhost_inflight_unref(p->inflight);
	vhost_queue_free(p->q);
	vhost_call_done(call, rc);
}

/* Logging on for q when the session logs, off otherwise. */
static void
queue_apply_log(struct vhost_queue *q)
{
	struct vhost_session *s = q->s;
	struct vhost_log *want = s->log_all ? s->log : NULL;

	if (q->log == want) {
		return;
	}
	vhost_log_ref(want);
	vhost_log_unref(q->log);
	q->log = want;
	vhost_vq_set_log(&q->vq, want, q->vq.log_ring_gpa, q->vq.log_event_gpa);
}

static int
queue_init_ring(struct vhost_queue *q, const struct vhost_queue_params *p)
{
	if (p->vq.features & (1ull << VIRTIO_F_RING_PACKED)) {
		return vhost_vq_init_packed(&q->vq, &p->vq, p->desc, p->driver, p->device);
	}
	return vhost_vq_init_split(&q->vq, &p->vq, p->desc, p->driver, p->device);
}

/* Recovers the queue's state from the inflight record, which the queue keeps (the reference). */
static int
queue_attach_inflight(struct vhost_queue *q, struct vhost_queue_params *p)
{
	struct vhost_inflight *r = p->inflight;
	void *area = vhost_inflight_queue(r, p->vq.index);
	int rc;

	if (area == NULL) {
		VT_ERRLOG("session %s: cannot start queue %u: the inflight record has %u queues\n",
			  q->s->name, p->vq.index, r->nqueues);
		return -EINVAL;
	}
	rc = vhost_vq_inflight_attach(&q->vq, area, r->desc_num, q->inf_work);
	if (rc < 0) {
		return rc;
	}
	q->inf_record = r;
	p->inflight = NULL;
	return 0;
}

void
vhost_queue_start_fn(struct vhost_call *call)
{
	struct vhost_queue_params *p = &call->u.start;
	struct vhost_session *s = call->s;
	struct vhost_queue *q = p->q, *old;
	uint16_t idx = p->vq.index;
	int rc;

	if (s->destroying || idx >= VHOST_MAX_QUEUES) {
		start_fail(call, -ENODEV);
		return;
	}
	old = s->queues[idx];
	if (old != NULL) {
		/* Its stop timed out for the vhost-events thread: it finishes on its own. */
		queue_begin_stop(old);
		old->detached = true;
		s->queues[idx] = NULL;
		if (p->inflight != NULL && old->inflight > 0) {
			/*
			 * Its requests are still in the record: a new queue would resubmit them
			 * while they run. The next vring message tries again.
			 */
			VT_ERRLOG(
				"session %s: cannot start queue %u: the previous one still has %u "
				"requests in flight in the inflight record\n",
				s->name, idx, old->inflight);
			start_fail(call, -EBUSY);
			return;
		}
	}
	rc = queue_init_ring(q, p);
	if (rc != 0) {
		VT_ERRLOG("session %s: cannot start queue %u: invalid ring layout\n", s->name, idx);
		start_fail(call, rc);
		return;
	}
	if (p->inflight != NULL) {
		rc = queue_attach_inflight(q, p);
		if (rc != 0) {
			start_fail(call, rc);
			return;
		}
	}
	q->index = idx;
	q->mem = &p->map->mem;
	q->map = p->map;
	vhost_mem_map_ref(q->map);
	q->kickfd = p->kickfd;
	q->callfd = p->callfd;
	q->submit = s->ctrlr->ops->req_submit;
	q->backend = s->ctrlr->backend;
	q->on_demand =
		s->ctrlr->ops->queue_on_demand != NULL && s->ctrlr->ops->queue_on_demand(idx);
	/* Before the first ring store (the kick settings below). */
	vhost_vq_set_log(&q->vq, NULL, p->log_ring_gpa, p->log_event_gpa);
	queue_apply_log(q);
	if (s->interrupt_mode && q->kickfd >= 0) {
		/* An on-demand queue keeps kicks on: new buffers may be what it waits for. */
		q->kick_poller = vt_fd_poller_register(q->kickfd, EPOLLIN, queue_kick, q, s->name);
		q->kicks_on = true;
		vhost_vq_kick_enable(&q->vq);
	} else {
		/* Poll mode, or a front end that gave no kick fd (VHOST_USER_VRING_NOFD). */
		q->no_kicks = s->interrupt_mode;
		vhost_vq_kick_disable(&q->vq);
	}
	s->queues[idx] = q;
	s->run[s->nrun++] = q;
	q->running = true;
	s->nqueues++;
	if (vt_unlikely(atomic_load(&g_vhost_quiescing))) {
		/* A front end that (re)starts a queue while the daemon stops gets it paused. */
		vhost_queue_pause(q);
	}
	s->snap.features = p->vq.features;
	/*
	 * A restart with used entries in the ring: the notification for the last ones may have
	 * gone to the call fd the front end just replaced (rte_vhost restarts a ring when
	 * SET_VRING_CALL changes it, as QEMU does when the guest unmasks the queue's vector).
	 * One notification on the new fd: the driver looks at the ring, a spurious one is harmless.
	 */
	if (q->callfd >= 0 &&
	    p->vq.used_base != (q->vq.is_packed ? VHOST_VQ_PACKED_INITIAL_BASE : 0)) {
		vhost_queue_notify(q);
	}
	VT_DEBUGLOG(vhost,
		    "session %s: queue %u started (%s, %" PRIu16 " entries, avail %" PRIu16
		    " used %" PRIu16 ")\n",
		    s->name, idx, q->vq.is_packed ? "packed" : "split", p->vq.size,
		    p->vq.avail_base, p->vq.used_base);
	vhost_call_done(call, 0);
}

void
vhost_queue_stop_fn(struct vhost_call *call)
{
	struct vhost_session *s = call->s;
	struct vhost_queue *q = call->qidx < VHOST_MAX_QUEUES ? s->queues[call->qidx] : NULL;

	if (q == NULL) {
		call->u.stop.valid = false;
		vhost_call_done(call, 0);
		return;
	}
	if (q->stop_call != NULL) {
		/* An earlier stop the vhost-events thread gave up on: this one supersedes it. */
		q->stop_call->u.stop.valid = false;
		vhost_call_done(q->stop_call, 0);
	}
	q->stop_call = call;
	queue_begin_stop(q);
}

void
vhost_queue_set_callfd_fn(struct vhost_call *call)
{
	struct vhost_session *s = call->s;
	struct vhost_queue *q = call->qidx < VHOST_MAX_QUEUES ? s->queues[call->qidx] : NULL;

	if (q == NULL) {
		if (call->u.fd >= 0) {
			close(call->u.fd);
		}
		vhost_call_done(call, 0);
		return;
	}
	if (q->callfd >= 0) {
		close(q->callfd);
	}
	q->callfd = call->u.fd;
	/* A notification may have gone to the old fd meanwhile: one spurious one is harmless. */
	vhost_coal_queue_stop(q);
	if (q->callfd >= 0) {
		vhost_queue_notify(q);
	}
	vhost_call_done(call, 0);
}

void
vhost_session_set_map_fn(struct vhost_call *call)
{
	struct vhost_session *s = call->s;
	struct vhost_mem_map *old = s->map;

	/* Running queues keep a reference to the mapping their rings and requests are in. */
	s->map = call->u.map;
	vhost_mem_map_unref(old);
	vhost_call_done(call, 0);
}

void
vhost_session_set_log_fn(struct vhost_call *call)
{
	struct vhost_session *s = call->s;
	struct vhost_log *old = NULL;

	if (call->u.log.replace) {
		old = s->log;
		s->log = call->u.log.log;
	}
	s->log_all = call->u.log.on;
	/*
	 * Queues still draining log too: their completions are published after this. A queue
	 * drops its reference to a replaced log here, so the old mapping goes with the last one.
	 */
	for (uint32_t i = 0; i < VHOST_MAX_QUEUES; i++) {
		if (s->queues[i] != NULL) {
			queue_apply_log(s->queues[i]);
		}
	}
	vhost_log_unref(old);
	VT_DEBUGLOG(vhost, "session %s: dirty logging %s\n", s->name,
		    s->log_all && s->log != NULL ? "on" : "off");
	vhost_call_done(call, 0);
}

void
vhost_session_attach_fn(struct vhost_call *call)
{
	struct vhost_session *s = call->s;
	const struct vhost_backend_ops *ops = s->ctrlr->ops;
	int rc = 0;

	s->interrupt_mode = vt_reactors_interrupt_mode();
	s->poller = vt_poller_register(session_poll, s, 0, s->name);
	if (s->poller == NULL) {
		vhost_call_done(call, -ENOMEM);
		return;
	}
	if (ops->session_start != NULL) {
		rc = ops->session_start(s);
	}
	s->attached = rc == 0;
	if (s->attached) {
		pthread_mutex_lock(&g_vhost_mutex);
		vhost_coal_session_apply(s);
		pthread_mutex_unlock(&g_vhost_mutex);
	}
	vhost_call_done(call, rc);
}

/* ---- session teardown (reactor) ------------------------------------------------------------ */

static void
session_destroy_finish(struct vhost_session *s)
{
	struct vhost_ctrlr *c = s->ctrlr;
	void (*drained_fn)(void *arg) = NULL;
	void *drained_arg = NULL;

	vt_poller_unregister(&s->poller);
	vhost_coal_session_fini(s);
	if (s->attached && c->ops->session_stop != NULL) {
		c->ops->session_stop(s);
	}
	vhost_mem_map_unref(s->map);
	s->map = NULL;
	vhost_log_unref(s->log);
	s->log = NULL;
	/* The vhost-events thread is done with the session: its inflight state is ours to free. */
	vhost_inflight_unref(s->ve.inflight);
	s->ve.inflight = NULL;
	if (s->ve.inflight_fd >= 0) {
		close(s->ve.inflight_fd);
	}
	pthread_mutex_lock(&g_vhost_mutex);
	TAILQ_REMOVE(&c->sessions, s, link);
	if (TAILQ_EMPTY(&c->sessions) && c->drained_fn != NULL) {
		drained_fn = c->drained_fn;
		drained_arg = c->drained_arg;
		c->drained_fn = NULL;
	}
	pthread_mutex_unlock(&g_vhost_mutex);
	VT_NOTICELOG("session %s closed\n", s->name);
	free(s);
	if (drained_fn != NULL) {
		/* The controller lives until its deletion ends: the message may wait in it. */
		vhost_post_msg(&c->drained_post, 0, drained_fn, drained_arg);
	}
}

void
vhost_session_destroy_msg(void *arg)
{
	struct vhost_session *s = arg;

	s->destroying = true;
	for (uint32_t i = 0; i < VHOST_MAX_QUEUES; i++) {
		if (s->queues[i] != NULL) {
			queue_begin_stop(s->queues[i]);
		}
	}
	if (s->nqueues == 0) {
		session_destroy_finish(s);
	}
}

/* ---- snapshots for vhost_get_controllers ---------------------------------------------------- */

struct snapshot_ctx {
	void (*cb)(void *arg);
	void *arg;
};

static void
snapshot_on_reactor(void *arg)
{
	uint32_t me = vt_reactor_current();
	struct vhost_session *s;
	struct vhost_ctrlr *c;

	pthread_mutex_lock(&g_vhost_mutex);
	for (c = vhost_ctrlr_first(); c != NULL; c = vhost_ctrlr_next(c)) {
		if (c->reactor != me) {
			continue;
		}
		TAILQ_FOREACH (s, &c->sessions, link) {
			s->snap.queues_started = 0;
			s->snap.max_queues = 0;
			s->snap.inflight = 0;
			s->snap.completed = 0;
			s->snap.dirty_log = s->log_all && s->log != NULL;
			for (uint32_t i = 0; i < VHOST_MAX_QUEUES; i++) {
				struct vhost_queue *q = s->queues[i];

				if (q == NULL) {
					continue;
				}
				s->snap.queues_started += q->stopping ? 0 : 1;
				s->snap.max_queues = i + 1;
				s->snap.inflight += q->inflight;
				s->snap.completed += q->completed;
			}
		}
	}
	pthread_mutex_unlock(&g_vhost_mutex);
}

static void
snapshot_done(void *arg)
{
	struct snapshot_ctx *ctx = arg;

	ctx->cb(ctx->arg);
	free(ctx);
}

int
vhost_sessions_snapshot(void (*cb)(void *arg), void *arg)
{
	struct snapshot_ctx *ctx = calloc(1, sizeof(*ctx));
	int rc;

	if (ctx == NULL) {
		return -ENOMEM;
	}
	ctx->cb = cb;
	ctx->arg = arg;
	rc = vt_for_each_reactor(snapshot_on_reactor, ctx, snapshot_done);
	if (rc != 0) {
		free(ctx);
	}
	return rc;
}
