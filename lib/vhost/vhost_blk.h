/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VHOST_BLK_H
#define VHOST_BLK_H

/* The virtio-blk personality (vhost_blk.c) as its RPCs and subsystem (vhost_blk_rpc.c) use it. */

#include <stdbool.h>
#include <stddef.h>

#include "lib/vhost/vhost_internal.h"

/* Advertised limits. */
#define VHOST_BLK_SEG_MAX (VHOST_REQ_INLINE_IOVS - 2) /* data segments; header + status */
#define VHOST_BLK_SIZE_MAX (1u << 20)                 /* bytes in one segment */
#define VHOST_BLK_MAX_DWZ_SEGS 16                     /* DISCARD / WRITE_ZEROES ranges */
#define VHOST_BLK_CLAIM_OWNER "vhost_blk"             /* the key of shared blk claims */
#define VHOST_BLK_TRANSPORT "vhost_user_blk"

extern const struct vhost_backend_ops g_vhost_blk_ops;

/*
 * On the controller's reactor: opens dev_name (and claims it unless readonly: exclusively, or
 * shared with other shared blk controllers), takes the I/O channel and sets c->backend,
 * c->features and c->protocol_features. Returns 0 or a negative errno with a message in err
 * (-EBUSY: claimed by someone else).
 */
int vhost_blk_backend_create(struct vhost_ctrlr *c, const char *dev_name, bool readonly,
			     bool shared, bool packed_ring, char *err, size_t errlen);

#endif
