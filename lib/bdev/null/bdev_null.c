/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Null bdevs: reads return zeroes, writes are dropped; no memory behind them. For benchmarks of
 * everything above the bdev, and for tests. With read_zeroes off (a vtarget extension, like
 * qemu-storage-daemon's null-co read-zeroes=off) reads leave their buffers untouched. GET_LBA_STATUS answers "deallocated" everywhere: no
 * block is ever backed by storage, and every read returns what a deallocated block reads as
 * (zeroes, which is what LBPRZ promises). Every I/O completes inside submit_request; the bdev
 * layer defers the user's callback.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/json.h"
#include "vt/log.h"
#include "vt/util.h"

#include "lib/bdev/null/bdev_null.h"

VT_LOG_REGISTER_COMPONENT(bdev_null)

#define MIB (1024ull * 1024)

struct vt_bdev_module g_bdev_null_module = {
	.name = "null",
	.config_batch = true,
};
VT_BDEV_MODULE_REGISTER(null, &g_bdev_null_module)

struct null_disk {
	struct vt_bdev bdev;
	bool read_zeroes;
};

/* One memset per buffer: the usual case is one buffer that holds it all (a 4 KiB read). */
static void
null_zero_fill(struct vt_bdev_io *io)
{
	size_t len = io->num_blocks * io->bdev->blocklen;

	if (vt_likely(io->iovcnt == 1 && io->iovs[0].iov_len >= len)) {
		memset(io->iovs[0].iov_base, 0, len);
	} else {
		vt_iov_memset(io->iovs, io->iovcnt, 0, len);
	}
}

static void
null_submit(void *module_ch, struct vt_bdev_io *io)
{
	const struct null_disk *disk = io->bdev->ctxt;

	switch (io->type) {
	case VT_BDEV_IO_TYPE_READ:
		if (disk->read_zeroes) {
			null_zero_fill(io);
		}
		break;
	case VT_BDEV_IO_TYPE_WRITE:
	case VT_BDEV_IO_TYPE_UNMAP:
	case VT_BDEV_IO_TYPE_WRITE_ZEROES:
	case VT_BDEV_IO_TYPE_FLUSH:
	case VT_BDEV_IO_TYPE_RESET:
		break;
	case VT_BDEV_IO_TYPE_GET_LBA_STATUS:
		vt_bdev_io_complete_lba_status(io, VT_BDEV_LBA_DEALLOCATED, io->num_blocks);
		return;
	default:
		vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_INVALID);
		return;
	}
	vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_SUCCESS);
}

static bool
null_io_type_supported(void *ctx, enum vt_bdev_io_type type)
{
	switch (type) {
	case VT_BDEV_IO_TYPE_READ:
	case VT_BDEV_IO_TYPE_WRITE:
	case VT_BDEV_IO_TYPE_UNMAP:
	case VT_BDEV_IO_TYPE_FLUSH:
	case VT_BDEV_IO_TYPE_RESET:
	case VT_BDEV_IO_TYPE_WRITE_ZEROES:
	case VT_BDEV_IO_TYPE_GET_LBA_STATUS:
		return true;
	default:
		return false;
	}
}

static int
null_destruct(void *ctx)
{
	struct null_disk *disk = ctx;

	free(disk->bdev.name);
	free(disk);
	return 0;
}

static void
null_write_config_json(struct vt_bdev *bdev, struct vt_json_write_ctx *w)
{
	const struct null_disk *disk = bdev->ctxt;
	char uuid[VT_UUID_STRING_LEN];

	vt_uuid_fmt(uuid, sizeof(uuid), &bdev->uuid);
	vt_json_write_object_begin(w);
	vt_json_write_named_string(w, "method", "bdev_null_create");
	vt_json_write_named_object_begin(w, "params");
	vt_json_write_named_string(w, "name", bdev->name);
	vt_json_write_named_uint64(w, "num_blocks", vt_bdev_get_num_blocks(bdev));
	vt_json_write_named_uint64(w, "block_size", bdev->blocklen);
	if (bdev->phys_blocklen != 0) {
		vt_json_write_named_uint64(w, "physical_block_size", bdev->phys_blocklen);
	}
	vt_json_write_named_string(w, "uuid", uuid);
	if (!disk->read_zeroes) {
		vt_json_write_named_bool(w, "read_zeroes", false);
	}
	vt_json_write_object_end(w);
	vt_json_write_object_end(w);
}

static const struct vt_bdev_fn_table g_null_fn_table = {
	.destruct = null_destruct,
	.submit_request = null_submit,
	.io_type_supported = null_io_type_supported,
	.write_config_json = null_write_config_json,
};

int
bdev_null_create(const struct bdev_null_opts *opts, struct vt_bdev **bdevp)
{
	struct null_disk *disk;
	struct vt_bdev *bdev;
	int rc;

	if (!VT_IS_POW2(opts->block_size) || opts->block_size < 512 ||
	    opts->block_size > BDEV_NULL_MAX_BLOCK_SIZE || opts->num_blocks == 0 ||
	    opts->num_blocks > UINT64_MAX / opts->block_size ||
	    !vt_bdev_name_is_valid(opts->name)) {
		return -EINVAL;
	}
	disk = calloc(1, sizeof(*disk));
	if (disk == NULL) {
		return -ENOMEM;
	}
	disk->read_zeroes = !opts->no_read_zeroes;
	bdev = &disk->bdev;
	bdev->name = vt_strdup(opts->name);
	if (bdev->name == NULL) {
		free(disk);
		return -ENOMEM;
	}
	bdev->product_name = "Null disk";
	bdev->blocklen = opts->block_size;
	bdev->phys_blocklen = opts->physical_block_size;
	bdev->blockcnt = opts->num_blocks;
	if (opts->uuid != NULL) {
		bdev->uuid = *opts->uuid;
	}
	bdev->ctxt = disk;
	bdev->fn_table = &g_null_fn_table;
	bdev->module = &g_bdev_null_module;
	rc = vt_bdev_register(bdev);
	if (rc != 0) {
		free(bdev->name);
		free(disk);
		return rc;
	}
	VT_DEBUGLOG(bdev_null, "created null bdev '%s'\n", bdev->name);
	*bdevp = bdev;
	return 0;
}

int
bdev_null_delete(struct vt_bdev *bdev, void (*cb)(void *cb_arg, int rc), void *cb_arg)
{
	if (bdev->module != &g_bdev_null_module) {
		return -ENODEV;
	}
	vt_bdev_unregister(bdev, cb, cb_arg);
	return 0;
}

int
bdev_null_resize(struct vt_bdev *bdev, uint64_t new_size_mib)
{
	uint64_t cur = vt_bdev_get_num_blocks(bdev) * bdev->blocklen;

	if (bdev->module != &g_bdev_null_module || new_size_mib == 0 ||
	    new_size_mib > UINT64_MAX / MIB || new_size_mib * MIB < cur) {
		return -EINVAL;
	}
	/* A MiB is a whole number of blocks: block sizes are powers of two up to 64 KiB. */
	return vt_bdev_notify_blockcnt_change(bdev, new_size_mib * MIB / bdev->blocklen);
}
