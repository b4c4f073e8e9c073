/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers of the virtual bdev modules (error, delay, split): a bdev stacked on a claimed base,
 * whose I/O goes down to the base on the submitting reactor.
 */
#ifndef VT_LIB_BDEV_VBDEV_H
#define VT_LIB_BDEV_VBDEV_H

#include <stdint.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"

/* Copies the base's geometry and limits into vbdev (blockcnt too). */
void bdev_vbdev_copy_geometry(struct vt_bdev *vbdev, const struct vt_bdev *base);

/*
 * Submits io's operation to the base through desc/ch, at io->offset_blocks + shift. Returns what
 * the vt_bdev_* call returns (cb runs later only when 0).
 */
int bdev_vbdev_submit(struct vt_bdev_desc *desc, struct vt_bdev_channel *ch, struct vt_bdev_io *io,
		      uint64_t shift, vt_bdev_io_cb cb, void *cb_arg);
/* Completes io for a submission that returned rc != 0 (-ENOMEM: NOMEM, retried by the layer). */
void bdev_vbdev_submit_failed(struct vt_bdev_io *io, int rc);
/* Completes io as base_io completed (status, errno, miscompare offset, LBA status). */
void bdev_vbdev_complete(struct vt_bdev_io *io, struct vt_bdev_io *base_io);
/* Whether a virtual bdev over base supports type (OR_WRITE and WRITE_ATOMIC the layer emulates). */
bool bdev_vbdev_io_type_supported(struct vt_bdev *base, enum vt_bdev_io_type type);

struct vt_jsonrpc_request;
/* For create RPCs: base exists and is not claimed; else answers naming param and returns false. */
bool bdev_vbdev_rpc_check_base(struct vt_jsonrpc_request *req, const char *param,
			       const char *base_name);

#endif
