/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The daemon stop's drain, before any controller is deleted: every queue of every session stops
 * taking requests from its ring, and the stop waits, with the front ends still connected, until
 * the requests in flight are completed and their used entries published. Only then do the
 * controllers go (their sockets close): a front end that sees the hang-up reads a used index that
 * covers every request the daemon took, and whatever it made available meanwhile was never
 * taken. At the stop bound (--stop-timeout) the process ends with the rest unpublished: never
 * completed with an error, and, for a front end that kept the inflight record, resubmitted by it.
 *
 * Reactor 0 drives it; each reactor pauses the queues of its own controllers (vhost_queue_pause).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

#include "vt/event.h"
#include "vt/init.h"
#include "vt/log.h"

#include "lib/vhost/vhost_internal.h"

/* The drain's poll period (reactor 0). */
#define QUIESCE_POLL_US 1000

atomic_bool g_vhost_quiescing;
atomic_uint g_vhost_quiesce_inflight;

static struct {
	bool started;
	bool done;
	void (*cb)(void *arg);
	void *arg;
	uint64_t start;
	uint32_t initial; /* requests in flight once every queue was paused */
	struct vt_poller *poller;
} g_quiesce;

static void
quiesce_finish(void)
{
	void (*cb)(void *arg) = g_quiesce.cb;

	vt_poller_unregister(&g_quiesce.poller);
	g_quiesce.done = true;
	g_quiesce.cb = NULL;
	if (g_quiesce.initial > 0) {
		VT_NOTICELOG("vhost: %" PRIu32
			     " requests in flight completed and published in %" PRIu64 " ms\n",
			     g_quiesce.initial, (vt_get_ticks() - g_quiesce.start) / 1000000);
	}
	if (cb != NULL) {
		cb(g_quiesce.arg);
	}
}

/* The process ends without deleting its controllers: their socket files go now. */
static void
quiesce_unlink_sockets(void)
{
	struct vhost_ctrlr *c;

	pthread_mutex_lock(&g_vhost_mutex);
	for (c = vhost_ctrlr_first(); c != NULL; c = vhost_ctrlr_next(c)) {
		if (c->socket_registered) {
			unlink(c->path);
		}
	}
	pthread_mutex_unlock(&g_vhost_mutex);
}

static int
quiesce_poll(void *arg)
{
	uint32_t left = atomic_load(&g_vhost_quiesce_inflight);
	uint64_t deadline = vt_app_stop_deadline();

	if (left == 0) {
		quiesce_finish();
		return VT_POLLER_BUSY;
	}
	if (deadline != 0 && vt_get_ticks() >= deadline) {
		VT_WARNLOG(
			"vhost: %" PRIu32 " of %" PRIu32 " requests still in flight at the stop "
			"bound; they stay unpublished (not failed) for the front end to resubmit\n",
			left, g_quiesce.initial);
		quiesce_unlink_sockets();
		vt_app_stop_bound_reached();
	}
	return VT_POLLER_IDLE;
}

/* Each reactor in turn: pause the queues of the controllers it runs. */
static void
quiesce_reactor(void *arg)
{
	uint32_t self = vt_reactor_current();
	struct vhost_session *s;
	struct vhost_ctrlr *c;

	pthread_mutex_lock(&g_vhost_mutex);
	for (c = vhost_ctrlr_first(); c != NULL; c = vhost_ctrlr_next(c)) {
		if (c->reactor != self) {
			continue;
		}
		/* A session leaves the list only on this reactor: none goes while we look. */
		TAILQ_FOREACH (s, &c->sessions, link) {
			for (uint32_t i = 0; i < VHOST_MAX_QUEUES; i++) {
				if (s->queues[i] != NULL) {
					vhost_queue_pause(s->queues[i]);
				}
			}
		}
	}
	pthread_mutex_unlock(&g_vhost_mutex);
}

static void
quiesce_paused(void *arg)
{
	uint64_t deadline = vt_app_stop_deadline();

	g_quiesce.initial = atomic_load(&g_vhost_quiesce_inflight);
	if (g_quiesce.initial > 0) {
		VT_NOTICELOG("vhost: no new requests taken; waiting for %" PRIu32
			     " in flight (stop "
			     "bound in %" PRIu64 " ms)\n",
			     g_quiesce.initial,
			     deadline > vt_get_ticks() ? (deadline - vt_get_ticks()) / 1000000 : 0);
	}
	g_quiesce.poller = vt_poller_register(quiesce_poll, NULL, QUIESCE_POLL_US, "vhost_quiesce");
	if (g_quiesce.poller == NULL) {
		VT_ERRLOG("vhost: cannot poll the stop's drain; going on without waiting\n");
		quiesce_finish();
	}
}

void
vhost_quiesce_all(void (*cb)(void *arg), void *arg)
{
	if (g_quiesce.done) {
		cb(arg);
		return;
	}
	if (g_quiesce.started) {
		/* The personalities' finis run one after the other: never two waiters. */
		VT_ERRLOG("vhost: stop drain already running\n");
		cb(arg);
		return;
	}
	g_quiesce.started = true;
	g_quiesce.cb = cb;
	g_quiesce.arg = arg;
	g_quiesce.start = vt_get_ticks();
	atomic_store(&g_vhost_quiescing, true);
	if (vt_for_each_reactor(quiesce_reactor, NULL, quiesce_paused) != 0) {
		VT_ERRLOG("vhost: cannot reach the reactors to drain them; going on without "
			  "waiting\n");
		quiesce_finish();
	}
}

void
vhost_quiesce_reset(void)
{
	if (g_quiesce.cb != NULL) {
		return; /* a drain still runs: it ends on its own */
	}
	vt_poller_unregister(&g_quiesce.poller);
	g_quiesce.started = false;
	g_quiesce.done = false;
	atomic_store(&g_vhost_quiescing, false);
	atomic_store(&g_vhost_quiesce_inflight, 0);
}
