/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Notifications (SPDK's notify_get_types / notify_get_notifications): named event types and a
 * bounded ring of the most recent events, each with an id that increases by one per event from 0.
 * Any thread may send; the ring keeps the last VT_NOTIFY_MAX_EVENTS events.
 */
#ifndef VT_NOTIFY_H
#define VT_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#define VT_NOTIFY_MAX_EVENTS 1024
#define VT_NOTIFY_MAX_TYPES 16
#define VT_NOTIFY_NAME_MAX 32
#define VT_NOTIFY_CTX_MAX 256

/* Registers a type name (idempotent). -EINVAL for a bad name, -ENOSPC when the table is full. */
int vt_notify_type_register(const char *type);

/*
 * Records an event of a registered type with its context (for bdev events, the bdev name; cut to
 * VT_NOTIFY_CTX_MAX - 1 bytes). Returns the event's id, or UINT64_MAX for an unregistered type.
 */
uint64_t vt_notify_send(const char *type, const char *ctx);

/* Calls cb for each registered type, in registration order. */
void vt_notify_foreach_type(void (*cb)(const char *type, void *arg), void *arg);

/*
 * Calls cb for up to max events with an id >= first_id still in the ring, oldest first (from the
 * oldest kept when first_id was overwritten). cb runs under the ring's lock: it must not send.
 * Returns how many events cb saw.
 */
uint64_t vt_notify_foreach_event(uint64_t first_id, uint64_t max,
				 void (*cb)(uint64_t id, const char *type, const char *ctx,
					    void *arg),
				 void *arg);

/* Forgets every event and restarts the ids at 0 (unit tests). Types stay. */
void vt_notify_reset(void);

#endif
