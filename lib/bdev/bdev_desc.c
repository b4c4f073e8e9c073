/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Descriptors, their events and claims. A descriptor belongs to the reactor that opened it; its
 * events (REMOVE, RESIZE) are posted on reactor 0 under g_bdev_mutex and delivered there by a
 * message. At most one message per descriptor is in flight: events posted meanwhile are bits the
 * message picks up. A message that finds the target's ring full is sent again by a poller on
 * reactor 0, so no event is lost.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/event.h"
#include "vt/log.h"
#include "vt/util.h"

#include "lib/bdev/bdev_internal.h"

#define BDEV_EVENT_RETRY_US 1000

/* Descriptors whose event message found a full ring (reactor 0, under g_bdev_mutex). */
static TAILQ_HEAD(, vt_bdev_desc) g_event_retry = TAILQ_HEAD_INITIALIZER(g_event_retry);
static struct vt_poller *g_event_retry_poller;

/* ---- descriptor events -------------------------------------------------------------------- */

static void
desc_unref(struct vt_bdev_desc *desc)
{
	if (atomic_fetch_sub(&desc->refs, 1) == 1) {
		free(desc);
	}
}

/* On the descriptor's reactor. */
static void
desc_event_msg(void *arg)
{
	struct vt_bdev_desc *desc = arg;
	unsigned int events;

	/* Clear the flag before taking the events: a later post then sends a new message. */
	atomic_store(&desc->msg_pending, false);
	events = atomic_exchange(&desc->events, 0);
	if (!desc->closed && (events & (1u << VT_BDEV_EVENT_RESIZE))) {
		desc->event_cb(VT_BDEV_EVENT_RESIZE, desc->bdev, desc->event_ctx);
	}
	/* The RESIZE callback may have closed the descriptor. */
	if (!desc->closed && (events & (1u << VT_BDEV_EVENT_REMOVE))) {
		desc->event_cb(VT_BDEV_EVENT_REMOVE, desc->bdev, desc->event_ctx);
	}
	desc_unref(desc);
}

static int
desc_event_retry_poll(void *arg)
{
	TAILQ_HEAD(, vt_bdev_desc) todo = TAILQ_HEAD_INITIALIZER(todo);
	struct vt_bdev_desc *desc;
	int busy = VT_POLLER_IDLE;

	pthread_mutex_lock(&g_bdev_mutex);
	TAILQ_CONCAT(&todo, &g_event_retry, retry_link);
	while ((desc = TAILQ_FIRST(&todo)) != NULL) {
		/* Off every list before sending: once sent, the message may free desc. */
		TAILQ_REMOVE(&todo, desc, retry_link);
		if (vt_send_msg(desc->reactor, desc_event_msg, desc) != 0) {
			TAILQ_INSERT_TAIL(&g_event_retry, desc, retry_link);
			continue;
		}
		busy = VT_POLLER_BUSY;
	}
	if (TAILQ_EMPTY(&g_event_retry)) {
		vt_poller_unregister(&g_event_retry_poller);
	}
	pthread_mutex_unlock(&g_bdev_mutex);
	return busy;
}

/* Under g_bdev_mutex on reactor 0. At most one message per descriptor is in flight. */
void
bdev_desc_post_event_locked(struct vt_bdev_desc *desc, enum vt_bdev_event_type type)
{
	atomic_fetch_or(&desc->events, 1u << type);
	if (atomic_exchange(&desc->msg_pending, true)) {
		return;
	}
	atomic_fetch_add(&desc->refs, 1);
	if (vt_send_msg(desc->reactor, desc_event_msg, desc) == 0) {
		return;
	}
	/* The message keeps its reference and is sent again by the retry poller. */
	TAILQ_INSERT_TAIL(&g_event_retry, desc, retry_link);
	if (g_event_retry_poller == NULL) {
		g_event_retry_poller = vt_poller_register(desc_event_retry_poll, NULL,
							  BDEV_EVENT_RETRY_US, "bdev_events");
		if (g_event_retry_poller == NULL) {
			VT_ERRLOG("cannot register the bdev event retry poller\n");
		}
	}
}

/* ---- descriptors and claims --------------------------------------------------------------- */

int
vt_bdev_open(const char *name, bool write, vt_bdev_event_cb event_cb, void *event_ctx,
	     struct vt_bdev_desc **descp)
{
	uint32_t reactor = vt_reactor_current();
	struct vt_bdev_desc *desc;
	struct bdev_internal *bi;
	int rc = 0;

	*descp = NULL;
	if (name == NULL || event_cb == NULL || reactor == VT_REACTOR_NONE) {
		return -EINVAL;
	}
	desc = calloc(1, sizeof(*desc));
	if (desc == NULL) {
		return -ENOMEM;
	}
	pthread_mutex_lock(&g_bdev_mutex);
	bi = bdev_lookup_locked(name);
	if (bi == NULL || atomic_load(&bi->removing)) {
		rc = -ENODEV;
	} else if (write && (bi->bdev->read_only || bi->claim_desc != NULL)) {
		rc = -EPERM;
	}
	if (rc != 0) {
		pthread_mutex_unlock(&g_bdev_mutex);
		free(desc);
		VT_DEBUGLOG(bdev, "cannot open bdev '%s': %s\n", name, vt_strerror(-rc));
		return rc;
	}
	desc->bdev = bi->bdev;
	desc->bi = bi;
	desc->write = write;
	desc->reactor = reactor;
	desc->event_cb = event_cb;
	desc->event_ctx = event_ctx;
	atomic_init(&desc->refs, 1);
	atomic_init(&desc->events, 0);
	atomic_init(&desc->msg_pending, false);
	TAILQ_INSERT_TAIL(&bi->descs, desc, link);
	bdev_ref(bi);
	pthread_mutex_unlock(&g_bdev_mutex);
	*descp = desc;
	return 0;
}

/* Drops desc's claim (under g_bdev_mutex); the next claimer of a shared claim stands for it. */
static void
claim_drop_locked(struct bdev_internal *bi, struct vt_bdev_desc *desc)
{
	struct vt_bdev_desc *d;

	if (desc->claim_owner == NULL) {
		return;
	}
	free(desc->claim_owner);
	desc->claim_owner = NULL;
	if (bi->claim_desc != desc) {
		return;
	}
	bi->claim_desc = NULL;
	TAILQ_FOREACH (d, &bi->descs, link) {
		if (d->claim_owner != NULL) {
			bi->claim_desc = d;
			return;
		}
	}
	free(bi->claim_key);
	bi->claim_key = NULL;
}

void
vt_bdev_close(struct vt_bdev_desc *desc)
{
	struct bdev_internal *bi = desc->bi;

	assert(vt_reactor_current() == desc->reactor);
	pthread_mutex_lock(&g_bdev_mutex);
	TAILQ_REMOVE(&bi->descs, desc, link);
	claim_drop_locked(bi, desc);
	pthread_mutex_unlock(&g_bdev_mutex);
	desc->closed = true;
	bdev_unref(bi);
	desc_unref(desc);
}

struct vt_bdev *
vt_bdev_desc_get_bdev(struct vt_bdev_desc *desc)
{
	return desc->bdev;
}

/* Takes a claim for desc: exclusive (key NULL) or shared with every claimer of the same key. */
static int
claim_take(struct vt_bdev_desc *desc, const char *owner, const char *key)
{
	struct bdev_internal *bi = desc->bi;
	char *copy, *key_copy = NULL;
	int rc = 0;

	if (owner == NULL) {
		return -EINVAL;
	}
	copy = vt_strdup(owner);
	if (key != NULL) {
		key_copy = vt_strdup(key);
	}
	if (copy == NULL || (key != NULL && key_copy == NULL)) {
		free(copy);
		free(key_copy);
		return -ENOMEM;
	}
	pthread_mutex_lock(&g_bdev_mutex);
	if (desc->claim_owner != NULL) {
		rc = strcmp(desc->claim_owner, owner) == 0 ? 0 : -EBUSY;
	} else if (bi->claim_desc != NULL &&
		   (key == NULL || bi->claim_key == NULL || strcmp(bi->claim_key, key) != 0)) {
		rc = -EBUSY;
	} else if (bi->bdev->read_only) {
		rc = -EPERM;
	} else {
		/* Like SPDK, a claim makes its descriptor writable. */
		desc->write = true;
		desc->claim_owner = copy;
		copy = NULL;
		if (bi->claim_desc == NULL) {
			bi->claim_desc = desc;
			bi->claim_key = key_copy;
			key_copy = NULL;
		}
	}
	pthread_mutex_unlock(&g_bdev_mutex);
	free(copy);
	free(key_copy);
	return rc;
}

int
vt_bdev_claim(struct vt_bdev_desc *desc, const char *owner)
{
	int rc = claim_take(desc, owner, NULL);

	if (rc != 0) {
		VT_DEBUGLOG(bdev, "cannot claim bdev '%s' for '%s': %s\n", desc->bdev->name, owner,
			    vt_strerror(-rc));
	}
	/* Callers of the exclusive claim have always seen -EPERM for "claimed". */
	return rc == -EBUSY ? -EPERM : rc;
}

int
vt_bdev_claim_shared(struct vt_bdev_desc *desc, const char *owner, const char *key)
{
	if (key == NULL) {
		return -EINVAL;
	}
	return claim_take(desc, owner, key);
}

bool
vt_bdev_claim_is_shared(const struct vt_bdev *bdev)
{
	bool shared;

	pthread_mutex_lock(&g_bdev_mutex);
	shared = bdev->internal->claim_key != NULL;
	pthread_mutex_unlock(&g_bdev_mutex);
	return shared;
}

void
vt_bdev_release_claim(struct vt_bdev_desc *desc)
{
	pthread_mutex_lock(&g_bdev_mutex);
	claim_drop_locked(desc->bi, desc);
	pthread_mutex_unlock(&g_bdev_mutex);
}

const char *
vt_bdev_get_claim_owner(const struct vt_bdev *bdev)
{
	struct vt_bdev_desc *d = bdev->internal->claim_desc;

	return d != NULL ? d->claim_owner : NULL;
}
