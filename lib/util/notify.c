/* SPDX-License-Identifier: BSD-3-Clause */
/* Notification types and the ring of recent events (see vt/notify.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "vt/notify.h"

struct notify_event {
	char type[VT_NOTIFY_NAME_MAX];
	char ctx[VT_NOTIFY_CTX_MAX];
};

static pthread_mutex_t g_notify_lock = PTHREAD_MUTEX_INITIALIZER;
static char g_types[VT_NOTIFY_MAX_TYPES][VT_NOTIFY_NAME_MAX];
static unsigned int g_num_types;
static struct notify_event g_events[VT_NOTIFY_MAX_EVENTS];
/* Id of the next event; the ring holds ids [g_next_id - min(g_next_id, MAX), g_next_id). */
static uint64_t g_next_id;

static int
type_index_locked(const char *type)
{
	for (unsigned int i = 0; i < g_num_types; i++) {
		if (strcmp(g_types[i], type) == 0) {
			return (int)i;
		}
	}
	return -1;
}

int
vt_notify_type_register(const char *type)
{
	size_t len;
	int rc = 0;

	if (type == NULL) {
		return -EINVAL;
	}
	len = strnlen(type, VT_NOTIFY_NAME_MAX);
	if (len == 0 || len >= VT_NOTIFY_NAME_MAX) {
		return -EINVAL;
	}
	pthread_mutex_lock(&g_notify_lock);
	if (type_index_locked(type) >= 0) {
		goto out;
	}
	if (g_num_types == VT_NOTIFY_MAX_TYPES) {
		rc = -ENOSPC;
		goto out;
	}
	memcpy(g_types[g_num_types], type, len + 1);
	g_num_types++;
out:
	pthread_mutex_unlock(&g_notify_lock);
	return rc;
}

uint64_t
vt_notify_send(const char *type, const char *ctx)
{
	struct notify_event *ev;
	uint64_t id = UINT64_MAX;

	if (type == NULL) {
		return id;
	}
	pthread_mutex_lock(&g_notify_lock);
	if (type_index_locked(type) < 0) {
		goto out;
	}
	id = g_next_id++;
	ev = &g_events[id % VT_NOTIFY_MAX_EVENTS];
	snprintf(ev->type, sizeof(ev->type), "%s", type);
	snprintf(ev->ctx, sizeof(ev->ctx), "%s", ctx != NULL ? ctx : "");
out:
	pthread_mutex_unlock(&g_notify_lock);
	return id;
}

void
vt_notify_foreach_type(void (*cb)(const char *type, void *arg), void *arg)
{
	pthread_mutex_lock(&g_notify_lock);
	for (unsigned int i = 0; i < g_num_types; i++) {
		cb(g_types[i], arg);
	}
	pthread_mutex_unlock(&g_notify_lock);
}

uint64_t
vt_notify_foreach_event(uint64_t first_id, uint64_t max,
			void (*cb)(uint64_t id, const char *type, const char *ctx, void *arg),
			void *arg)
{
	uint64_t id, n = 0, oldest;

	pthread_mutex_lock(&g_notify_lock);
	oldest = g_next_id > VT_NOTIFY_MAX_EVENTS ? g_next_id - VT_NOTIFY_MAX_EVENTS : 0;
	for (id = first_id > oldest ? first_id : oldest; id < g_next_id && n < max; id++, n++) {
		const struct notify_event *ev = &g_events[id % VT_NOTIFY_MAX_EVENTS];

		cb(id, ev->type, ev->ctx, arg);
	}
	pthread_mutex_unlock(&g_notify_lock);
	return n;
}

void
vt_notify_reset(void)
{
	pthread_mutex_lock(&g_notify_lock);
	g_next_id = 0;
	memset(g_events, 0, sizeof(g_events));
	pthread_mutex_unlock(&g_notify_lock);
}
