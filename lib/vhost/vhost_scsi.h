/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VHOST_SCSI_H
#define VHOST_SCSI_H

/* The virtio-scsi personality (vhost_scsi.c) as its RPCs and subsystem (vhost_scsi_rpc.c) use it. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/vhost/vhost_internal.h"

#define VHOST_SCSI_MAX_TARGETS 256
#define VHOST_SCSI_TRANSPORT "vhost_user_scsi"
#define VHOST_SCSI_CTRL_QUEUE 0
#define VHOST_SCSI_EVENT_QUEUE 1
/* Request queues start at this index. */
#define VHOST_SCSI_FIRST_REQ_QUEUE 2
/* Data segments of one request (an indirect table of VHOST_VQ_INDIRECT_MIN_BOUND descriptors
 * holds them with the request and the response header). */
#define VHOST_SCSI_SEG_MAX (VHOST_VQ_INDIRECT_MIN_BOUND - 2)
#define VHOST_SCSI_MAX_SECTORS 0xffffu
#define VHOST_SCSI_CMD_PER_LUN 128u
#define VHOST_SCSI_SENSE_SIZE 96u
#define VHOST_SCSI_CDB_SIZE 32u
/* Events kept per session while the guest has no event buffer posted. */
#define VHOST_SCSI_MAX_PENDING_EVENTS 64
/* Period of the management poller that frees removed targets. */
#define VHOST_SCSI_MGMT_POLL_US 1000

extern const struct vhost_backend_ops g_vhost_scsi_ops;

/* On the controller's reactor: sets c->backend, c->features and c->protocol_features. */
int vhost_scsi_backend_create(struct vhost_ctrlr *c, char *err, size_t errlen);

/*
 * Controller's reactor: adds a target (num -1: the lowest free) backed by bdev_name as LUN 0.
 * Returns the target number or a negative errno with a message in err.
 */
int vhost_scsi_target_add(struct vhost_ctrlr *c, int num, const char *bdev_name, char *err,
			  size_t errlen);
/*
 * Controller's reactor: hot-detaches a target. New commands to it get LOGICAL UNIT NOT SUPPORTED
 * at once, every session that negotiated HOTPLUG gets a TRANSPORT_RESET / REMOVED event, and
 * cb(arg, 0) runs once the management poller freed it (no task in flight, bdev closed). Returns
 * 0 (cb will run) or a negative errno with a message in err: -ENODEV (no such target), -EINVAL
 * (out of range), -EALREADY (being removed).
 */
int vhost_scsi_target_remove(struct vhost_ctrlr *c, uint32_t num, void (*cb)(void *arg, int rc),
			     void *arg, char *err, size_t errlen);

/* Started (its socket exists) or registered with delay. Any thread. */
bool vhost_scsi_is_started(struct vhost_ctrlr *c);
void vhost_scsi_set_started(struct vhost_ctrlr *c);

/*
 * Session's reactor: queues a virtio-scsi event (VIRTIO_SCSI_T_*) about target (LUN 0) with
 * reason and delivers what is queued into the buffers the guest posted on the event queue. When
 * VHOST_SCSI_MAX_PENDING_EVENTS wait already, the event is dropped (-ENOBUFS) and the next one
 * delivered carries VIRTIO_SCSI_T_EVENTS_MISSED. Returns 0, -ENOBUFS or -ENODEV (no session).
 */
int vhost_scsi_send_event(struct vhost_session *s, uint32_t event, uint32_t target,
			  uint32_t reason);

#endif
