/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers of the virtual bdev modules: passing an I/O down to the base, and back up. */
#include <errno.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/rpc.h"

#include "lib/bdev/bdev_vbdev.h"

void
bdev_vbdev_copy_geometry(struct vt_bdev *vbdev, const struct vt_bdev *base)
{
	vbdev->blocklen = base->blocklen;
	vbdev->phys_blocklen = base->phys_blocklen;
	vbdev->blockcnt = vt_bdev_get_num_blocks(base);
	vbdev->write_cache = base->write_cache;
	vbdev->read_only = base->read_only;
	vbdev->buf_align = base->buf_align;
	vbdev->optimal_io_boundary = base->optimal_io_boundary;
	vbdev->max_unmap_blocks = base->max_unmap_blocks;
	vbdev->max_write_zeroes_blocks = base->max_write_zeroes_blocks;
	vbdev->acwu = base->acwu;
}

int
bdev_vbdev_submit(struct vt_bdev_desc *d, struct vt_bdev_channel *ch, struct vt_bdev_io *io,
		  uint64_t shift, vt_bdev_io_cb cb, void *cb_arg)
{
	uint64_t off = io->offset_blocks + shift;

	switch (io->type) {
	case VT_BDEV_IO_TYPE_READ:
		return vt_bdev_readv_blocks(d, ch, io->iovs, io->iovcnt, off, io->num_blocks, cb,
					    cb_arg);
	case VT_BDEV_IO_TYPE_WRITE:
		return vt_bdev_writev_blocks(d, ch, io->iovs, io->iovcnt, off, io->num_blocks,
					     io->flags, cb, cb_arg);
	case VT_BDEV_IO_TYPE_UNMAP:
		return vt_bdev_unmap_blocks(d, ch, off, io->num_blocks, cb, cb_arg);
	case VT_BDEV_IO_TYPE_FLUSH:
		return vt_bdev_flush_blocks(d, ch, off, io->num_blocks, cb, cb_arg);
	case VT_BDEV_IO_TYPE_WRITE_ZEROES:
		return vt_bdev_write_zeroes_blocks(d, ch, off, io->num_blocks, cb, cb_arg);
	case VT_BDEV_IO_TYPE_RESET:
		return vt_bdev_reset(d, ch, cb, cb_arg);
	case VT_BDEV_IO_TYPE_COMPARE:
		return vt_bdev_comparev_blocks(d, ch, io->iovs, io->iovcnt, off, io->num_blocks, cb,
					       cb_arg);
	case VT_BDEV_IO_TYPE_COMPARE_AND_WRITE:
		return vt_bdev_comparev_and_writev_blocks(d, ch, io->cmp_iovs, io->cmp_iovcnt,
							  io->iovs, io->iovcnt, off, io->num_blocks,
							  cb, cb_arg);
	case VT_BDEV_IO_TYPE_GET_LBA_STATUS:
		return vt_bdev_get_lba_status(d, ch, off, io->num_blocks, cb, cb_arg);
	default:
		return -ENOTSUP;
	}
}

void
bdev_vbdev_submit_failed(struct vt_bdev_io *io, int rc)
{
	if (rc == -ENOMEM) {
		vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_NOMEM);
	} else {
		vt_bdev_io_complete_errno(io, -rc);
	}
}

void
bdev_vbdev_complete(struct vt_bdev_io *io, struct vt_bdev_io *base_io)
{
	enum vt_bdev_io_status status = vt_bdev_io_get_status(base_io);
	enum vt_bdev_lba_status lba;
	uint64_t n;

	switch (status) {
	case VT_BDEV_IO_STATUS_SUCCESS:
		if (io->type == VT_BDEV_IO_TYPE_GET_LBA_STATUS) {
			lba = vt_bdev_io_get_lba_status(base_io, &n);
			vt_bdev_io_complete_lba_status(io, lba, n);
			return;
		}
		vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_SUCCESS);
		return;
	case VT_BDEV_IO_STATUS_MISCOMPARE:
		vt_bdev_io_complete_miscompare(io, vt_bdev_io_get_miscompare_offset(base_io));
		return;
	case VT_BDEV_IO_STATUS_FAILED:
		vt_bdev_io_complete_errno(io, vt_bdev_io_get_errno(base_io));
		return;
	default:
		vt_bdev_io_complete(io, status);
		return;
	}
}

bool
bdev_vbdev_io_type_supported(struct vt_bdev *base, enum vt_bdev_io_type type)
{
	switch (type) {
	case VT_BDEV_IO_TYPE_OR_WRITE:
	case VT_BDEV_IO_TYPE_WRITE_ATOMIC:
		return false;
	case VT_BDEV_IO_TYPE_RESET:
		return true;
	default:
		return vt_bdev_io_type_supported(base, type);
	}
}

bool
bdev_vbdev_rpc_check_base(struct vt_jsonrpc_request *req, const char *param, const char *base_name)
{
	struct vt_bdev *base = vt_bdev_get_by_name(base_name);
	const char *owner;

	if (base == NULL) {
		vt_jsonrpc_send_error_response_fmt(
			req, -ENODEV, "invalid parameter '%s': bdev '%s' does not exist", param,
			base_name);
		return false;
	}
	owner = vt_bdev_get_claim_owner(base);
	if (owner != NULL) {
		vt_jsonrpc_send_error_response_fmt(
			req, -EPERM, "invalid parameter '%s': bdev '%s' is already claimed by '%s'",
			param, base_name, owner);
		return false;
	}
	return true;
}
