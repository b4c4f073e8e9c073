/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Interrupt coalescing (vhost_controller_set_coalescing {ctrlr, delay_base_us, iops_threshold}).
 *
 * Every VHOST_COAL_CHECK_MS (or two delays, when longer) each queue's completions are counted. A
 * queue that completed more than its share of iops_threshold in that window waits between two
 * used-buffer notifications (calls): delay_base_us * (rate - threshold) / threshold, as SPDK
 * computes it, but never more than delay_base_us. A call that falls inside the wait is owed, not dropped: the session poller
 * sends it when its time comes and, in interrupt mode, a timerfd wakes the reactor for it. So a
 * completion is notified at most delay_base_us after it was published (plus the reactor's
 * latency), however the load changes. A queue that stops, or whose call fd changes, sends what
 * it owes at once.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "vt/event.h"
#include "vt/json.h"
#include "vt/log.h"
#include "vt/rpc.h"
#include "vt/util.h"

#include "lib/vhost/vhost_internal.h"

/* ---- reactor side -------------------------------------------------------------------------- */

static void
coal_arm(struct vhost_session *s, uint64_t when)
{
	struct itimerspec its = { 0 };

	if (s->coal.timerfd < 0 || (s->coal.armed_ns != 0 && s->coal.armed_ns <= when)) {
		return;
	}
	/* vt_get_ticks() is CLOCK_MONOTONIC in nanoseconds. */
	its.it_value.tv_sec = (time_t)(when / VT_TICKS_HZ);
	its.it_value.tv_nsec = (long)(when % VT_TICKS_HZ);
	if (timerfd_settime(s->coal.timerfd, TFD_TIMER_ABSTIME, &its, NULL) != 0) {
		VT_ERRLOG("session %s: cannot arm the coalescing timer: %s\n", s->name,
			  vt_strerror(errno));
		return;
	}
	s->coal.armed_ns = when;
}

static void
coal_send(struct vhost_queue *q, uint64_t now)
{
	if (q->coal_pending) {
		q->coal_pending = false;
		q->s->coal.npending--;
	}
	if (q->callfd >= 0) {
		vhost_queue_notify(q);
	}
	q->coal_next_ns = now + q->coal_delay_ns;
}

void
vhost_coal_notify(struct vhost_queue *q)
{
	uint64_t now = vt_get_ticks();

	if (now >= q->coal_next_ns || q->stopping) {
		coal_send(q, now);
		return;
	}
	if (!q->coal_pending) {
		q->coal_pending = true;
		q->s->coal.npending++;
		coal_arm(q->s, q->coal_next_ns);
	}
}

void
vhost_coal_flush(struct vhost_session *s)
{
	uint64_t now = vt_get_ticks();
	uint64_t next = UINT64_MAX;

	for (uint32_t i = 0; i < VHOST_MAX_QUEUES && s->coal.npending > 0; i++) {
		struct vhost_queue *q = s->queues[i];

		if (q == NULL || !q->coal_pending) {
			continue;
		}
		if (now >= q->coal_next_ns) {
			coal_send(q, now);
		} else {
			next = VT_MIN(next, q->coal_next_ns);
		}
	}
	if (next != UINT64_MAX) {
		coal_arm(s, next);
	}
}

void
vhost_coal_queue_stop(struct vhost_queue *q)
{
	if (q->coal_pending) {
		coal_send(q, vt_get_ticks());
	}
}

/* Interrupt mode: the timer only wakes the reactor; the session poller sends the calls. */
static int
coal_timer_fired(void *arg, uint32_t events)
{
	struct vhost_session *s = arg;
	uint64_t val;

	(void)events;
	if (read(s->coal.timerfd, &val, sizeof(val)) < 0 && errno != EAGAIN) {
		VT_DEBUGLOG(vhost, "session %s: cannot read the coalescing timer: %s\n", s->name,
			    vt_strerror(errno));
	}
	s->coal.armed_ns = 0;
	vhost_coal_flush(s);
	return VT_POLLER_BUSY;
}

/*
 * Each queue's wait from its completion rate. The window is at least two delays long: a queue
 * whose calls wait completes little while it waits (the driver has nothing to resubmit), and a
 * shorter window would see it idle and drop the delay every other interval.
 */
static int
coal_rate_check(void *arg)
{
	struct vhost_session *s = arg;
	uint64_t base = s->coal.base_ns, now = vt_get_ticks();
	uint64_t window = VT_MAX(VHOST_COAL_CHECK_MS * 1000000ull, 2 * base);

	for (uint32_t i = 0; i < VHOST_MAX_QUEUES; i++) {
		struct vhost_queue *q = s->queues[i];
		uint64_t done, rate, elapsed;

		if (q == NULL) {
			continue;
		}
		if (q->coal_last_check_ns == 0) {
			/* A new queue: its first window starts now. */
			q->coal_last_check_ns = now;
			q->coal_last_done = q->completed;
			continue;
		}
		elapsed = now - q->coal_last_check_ns;
		/* The first window is short: a busy queue starts coalescing early. */
		if (elapsed < (q->coal_measured ? window : VHOST_COAL_CHECK_MS * 1000000ull)) {
			continue;
		}
		q->coal_measured = true;
		/* The threshold's share of the time elapsed (at least one completion). */
		rate = VT_MAX((uint64_t)s->coal.iops_threshold * elapsed / VT_TICKS_HZ, 1ull);
		done = q->completed - q->coal_last_done;
		q->coal_last_done = q->completed;
		q->coal_last_check_ns = now;
		q->coal_delay_ns = done > rate ? VT_MIN(base, base * (done - rate) / rate) : 0;
	}
	return VT_POLLER_IDLE;
}

static void
coal_session_off(struct vhost_session *s)
{
	s->coal.base_ns = 0;
	for (uint32_t i = 0; i < VHOST_MAX_QUEUES; i++) {
		if (s->queues[i] != NULL) {
			vhost_coal_queue_stop(s->queues[i]);
			s->queues[i]->coal_delay_ns = 0;
			s->queues[i]->coal_next_ns = 0;
		}
	}
	vhost_coal_session_fini(s);
}

static int
coal_session_on(struct vhost_session *s)
{
	if (s->coal.rate_poller == NULL) {
		s->coal.rate_poller = vt_poller_register(coal_rate_check, s,
							 VHOST_COAL_CHECK_MS * 1000ull, s->name);
		if (s->coal.rate_poller == NULL) {
			return -ENOMEM;
		}
	}
	if (!s->interrupt_mode || s->coal.timerfd >= 0) {
		return 0;
	}
	s->coal.timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->coal.timerfd < 0) {
		return -errno;
	}
	s->coal.timer_poller =
		vt_fd_poller_register(s->coal.timerfd, EPOLLIN, coal_timer_fired, s, s->name);
	return s->coal.timer_poller == NULL ? -ENOMEM : 0;
}

void
vhost_coal_session_apply(struct vhost_session *s)
{
	const struct vhost_ctrlr *c = s->ctrlr;
	uint64_t base = (uint64_t)c->coal_delay_us * 1000u;
	int rc;

	if (base == 0) {
		if (s->coal.base_ns != 0) {
			coal_session_off(s);
		}
		return;
	}
	rc = coal_session_on(s);
	if (rc != 0) {
		VT_ERRLOG("session %s: cannot start interrupt coalescing: %s\n", s->name,
			  vt_strerror(-rc));
		coal_session_off(s);
		return;
	}
	s->coal.base_ns = base;
	s->coal.iops_threshold = c->coal_iops_threshold;
	for (uint32_t i = 0; i < VHOST_MAX_QUEUES; i++) {
		struct vhost_queue *q = s->queues[i];

		if (q != NULL) {
			q->coal_delay_ns = VT_MIN(q->coal_delay_ns, base);
			q->coal_next_ns = VT_MIN(q->coal_next_ns, vt_get_ticks() + base);
		}
	}
}

void
vhost_coal_session_fini(struct vhost_session *s)
{
	vt_poller_unregister(&s->coal.rate_poller);
	vt_poller_unregister(&s->coal.timer_poller);
	if (s->coal.timerfd >= 0) {
		close(s->coal.timerfd);
		s->coal.timerfd = -1;
	}
	s->coal.armed_ns = 0;
}

/* ---- the RPC (reactor 0) ------------------------------------------------------------------- */

struct rpc_set_coalescing {
	char *ctrlr;
	uint32_t delay_base_us;
	uint32_t iops_threshold;
};

static const struct vt_json_object_decoder g_set_coalescing_decoders[] = {
	{ "ctrlr", offsetof(struct rpc_set_coalescing, ctrlr), vt_json_decode_string },
	{ "delay_base_us", offsetof(struct rpc_set_coalescing, delay_base_us),
	  vt_json_decode_uint32 },
	{ "iops_threshold", offsetof(struct rpc_set_coalescing, iops_threshold),
	  vt_json_decode_uint32 },
};

/* Each reactor: its controllers' sessions take the settings (idempotent). */
static void
apply_on_reactor(void *arg)
{
	uint32_t me = vt_reactor_current();
	struct vhost_session *s;
	struct vhost_ctrlr *c;

	(void)arg;
	pthread_mutex_lock(&g_vhost_mutex);
	for (c = vhost_ctrlr_first(); c != NULL; c = vhost_ctrlr_next(c)) {
		if (c->reactor != me) {
			continue;
		}
		TAILQ_FOREACH (s, &c->sessions, link) {
			if (s->attached && !s->destroying) {
				vhost_coal_session_apply(s);
			}
		}
	}
	pthread_mutex_unlock(&g_vhost_mutex);
}

static void
apply_done(void *arg)
{
	vt_jsonrpc_send_bool_response(arg, true);
}

static int
check_coalescing(struct vt_jsonrpc_request *req, const struct rpc_set_coalescing *p)
{
	if (p->delay_base_us > VHOST_COAL_DELAY_MAX_US) {
		vt_jsonrpc_send_error_response_fmt(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
						   "invalid parameter 'delay_base_us': %" PRIu32
						   " is above the longest delay, %u",
						   p->delay_base_us, VHOST_COAL_DELAY_MAX_US);
		return -EINVAL;
	}
	if (p->iops_threshold < VHOST_COAL_IOPS_MIN) {
		vt_jsonrpc_send_error_response_fmt(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
						   "invalid parameter 'iops_threshold': %" PRIu32
						   " is below the lowest threshold, %u",
						   p->iops_threshold, VHOST_COAL_IOPS_MIN);
		return -EINVAL;
	}
	return 0;
}

static void
rpc_vhost_controller_set_coalescing(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_set_coalescing p = { 0 };
	struct vhost_ctrlr *c;
	bool ok;
	int rc;

	if (vt_rpc_decode_params(req, params, g_set_coalescing_decoders,
				 VT_COUNTOF(g_set_coalescing_decoders), &p) != 0) {
		return;
	}
	if (check_coalescing(req, &p) != 0) {
		goto out;
	}
	c = vhost_ctrlr_find(p.ctrlr);
	pthread_mutex_lock(&g_vhost_mutex);
	ok = c != NULL && c->state == VHOST_CTRLR_RUNNING;
	if (ok) {
		c->coal_delay_us = p.delay_base_us;
		c->coal_iops_threshold = p.iops_threshold;
	}
	pthread_mutex_unlock(&g_vhost_mutex);
	if (!ok) {
		vt_jsonrpc_send_error_response_fmt(req, -ENODEV, "controller '%s' does not exist",
						   p.ctrlr);
		goto out;
	}
	rc = vt_for_each_reactor(apply_on_reactor, req, apply_done);
	if (rc != 0) {
		vt_jsonrpc_send_error_response(req, rc, "cannot reach the reactors");
	}
out:
	free(p.ctrlr);
}
/* At start-up too: a config file sets it right after creating the controller. */
VT_RPC_REGISTER("vhost_controller_set_coalescing", rpc_vhost_controller_set_coalescing,
		VT_RPC_STARTUP | VT_RPC_RUNTIME)

/* ---- JSON ---------------------------------------------------------------------------------- */

void
vhost_coal_get(struct vhost_ctrlr *c, uint32_t *delay_us, uint32_t *iops_threshold)
{
	pthread_mutex_lock(&g_vhost_mutex);
	*delay_us = c->coal_delay_us;
	*iops_threshold = c->coal_iops_threshold;
	pthread_mutex_unlock(&g_vhost_mutex);
}

void
vhost_coal_write_config_json(struct vhost_ctrlr *c, struct vt_json_write_ctx *w)
{
	uint32_t delay, iops;

	vhost_coal_get(c, &delay, &iops);
	if (delay == 0) {
		return;
	}
	vt_json_write_object_begin(w);
	vt_json_write_named_string(w, "method", "vhost_controller_set_coalescing");
	vt_json_write_named_object_begin(w, "params");
	vt_json_write_named_string(w, "ctrlr", c->name);
	vt_json_write_named_uint64(w, "delay_base_us", delay);
	vt_json_write_named_uint64(w, "iops_threshold", iops);
	vt_json_write_object_end(w);
	vt_json_write_object_end(w);
}
