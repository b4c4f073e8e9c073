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
/* Request queues start at this index (0: control queue, 1: event queue). */
#define VHOST_SCSI_FIRST_REQ_QUEUE 2
/* Data segments of one request (an indirect table of VHOST_VQ_INDIRECT_MIN_BOUND descriptors
 * holds them with the request and the response header). */
#define VHOST_SCSI_SEG_MAX (VHOST_VQ_INDIRECT_MIN_BOUND - 2)
#define VHOST_SCSI_MAX_SECTORS 0xffffu
#define VHOST_SCSI_CMD_PER_LUN 128u
#define VHOST_SCSI_SENSE_SIZE 96u
#define VHOST_SCSI_CDB_SIZE 32u
/* Event buffers kept per session (the guest posts 8). */
#define VHOST_SCSI_MAX_EVENT_BUFS 64

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
 * Controller's reactor: removes a target; cb(arg, rc) runs once its LUN is gone (possibly before
 * this returns). Returns 0 (cb will run) or a negative errno with a message in err: -ENODEV (no
 * such target), -EINVAL (out of range), -EBUSY (a front end is connected: hot-detach is not done).
 */
int vhost_scsi_target_remove(struct vhost_ctrlr *c, uint32_t num, void (*cb)(void *arg, int rc),
			     void *arg, char *err, size_t errlen);

/* Started (its socket exists) or registered with delay. Any thread. */
bool vhost_scsi_is_started(struct vhost_ctrlr *c);
void vhost_scsi_set_started(struct vhost_ctrlr *c);

/*
 * Session's reactor: posts a virtio-scsi event (VIRTIO_SCSI_T_*) about target (LUN 0) with
 * reason in one of the buffers the guest posted on the event queue. Without a buffer the event is
 * lost and the next one carries VIRTIO_SCSI_T_EVENTS_MISSED. Returns 0 or -ENOBUFS.
 */
int vhost_scsi_send_event(struct vhost_session *s, uint32_t event, uint32_t target,
			  uint32_t reason);

#endif
