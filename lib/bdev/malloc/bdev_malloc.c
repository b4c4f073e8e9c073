/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Malloc bdevs: a RAM disk in an anonymous private mapping. The mapping is zero-filled and
 * becomes resident only where it is written, so an idle disk costs almost nothing; UNMAP and
 * WRITE_ZEROES of large ranges give whole pages back to the kernel (MADV_DONTNEED, which reads
 * back as zeroes) and clear only the edges. Every I/O completes inside submit_request; the bdev
 * layer defers the user's callback.
 *
 * GET_LBA_STATUS is exact, per block: a bitmap (one bit per block, set = mapped) in its own
 * anonymous mapping, so that it too costs memory only where blocks were written. WRITE and
 * WRITE_ZEROES map blocks, UNMAP deallocates them, a new disk is all deallocated. Bits are
 * changed with atomic operations: two reactors may write blocks that share a word.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/json.h"
#include "vt/log.h"
#include "vt/util.h"

#include "lib/bdev/malloc/bdev_malloc.h"

VT_LOG_REGISTER_COMPONENT(bdev_malloc)

/* Zeroing at least this much uses madvise on the whole pages instead of memset. */
#define MALLOC_MADVISE_MIN (256 * 1024)
/* GET_LBA_STATUS looks at no more than this many bitmap words (4 Mi blocks) per call. */
#define MALLOC_STATUS_SCAN_WORDS (64u * 1024)

struct malloc_disk {
	struct vt_bdev bdev;
	uint8_t *buf;
	size_t size;
	uint64_t *mapped;   /* bit per block: 1 = mapped, 0 = deallocated */
	size_t mapped_size; /* bytes of the bitmap's mapping */
};

struct vt_bdev_module g_bdev_malloc_module = {
	.name = "malloc",
	.config_batch = true,
};
VT_BDEV_MODULE_REGISTER(malloc, &g_bdev_malloc_module)

static size_t
malloc_page_size(void)
{
	static size_t page;

	if (page == 0) {
		long v = sysconf(_SC_PAGESIZE);

		page = v > 0 ? (size_t)v : 4096;
	}
	return page;
}

uint64_t
bdev_malloc_max_bytes(void)
{
	long pages = sysconf(_SC_PHYS_PAGES);

	return pages > 0 ? (uint64_t)pages * malloc_page_size() : UINT64_MAX;
}

static void
malloc_zero(struct malloc_disk *disk, uint64_t off, uint64_t len)
{
	uintptr_t p = (uintptr_t)disk->buf + off;
	size_t page = malloc_page_size();
	uintptr_t start = VT_ALIGN_UP(p, page);
	uintptr_t end = (p + len) & ~(uintptr_t)(page - 1);

	if (len >= MALLOC_MADVISE_MIN && end > start &&
	    madvise((void *)start, end - start, MADV_DONTNEED) == 0) {
		memset((void *)p, 0, start - p);
		memset((void *)end, 0, p + len - end);
		return;
	}
	memset((void *)p, 0, len);
}

/* Marks n blocks from first as mapped (set) or deallocated; untouched words stay unwritten. */
static void
malloc_map_range(struct malloc_disk *disk, uint64_t first, uint64_t n, bool set)
{
	while (n > 0) {
		uint64_t *word = &disk->mapped[first / 64];
		uint32_t bit = (uint32_t)(first % 64);
		uint64_t cnt = VT_MIN(64u - bit, n);
		uint64_t mask = (cnt == 64 ? ~0ull : (1ull << cnt) - 1) << bit;
		uint64_t cur = __atomic_load_n(word, __ATOMIC_RELAXED);

		if (set && (cur & mask) != mask) {
			__atomic_fetch_or(word, mask, __ATOMIC_RELAXED);
		} else if (!set && (cur & mask) != 0) {
			__atomic_fetch_and(word, ~mask, __ATOMIC_RELAXED);
		}
		first += cnt;
		n -= cnt;
	}
}

/* The state of block first and how many blocks (1..max) from it share it. */
static uint64_t
malloc_map_run(const struct malloc_disk *disk, uint64_t first, uint64_t max, bool *mapped)
{
	const uint64_t *word = &disk->mapped[first / 64];
	uint32_t bit = (uint32_t)(first % 64);
	uint64_t w = __atomic_load_n(word, __ATOMIC_RELAXED);
	bool state = (w >> bit) & 1;
	uint64_t n = 0;

	*mapped = state;
	for (uint32_t scanned = 0; n < max && scanned < MALLOC_STATUS_SCAN_WORDS; scanned++) {
		/* Bits that differ from the state, from position bit on. */
		uint64_t diff = (state ? ~w : w) >> bit;

		if (diff != 0) {
			n += (uint64_t)__builtin_ctzll(diff);
			break;
		}
		n += 64u - bit;
		bit = 0;
		if (n < max) {
			w = __atomic_load_n(++word, __ATOMIC_RELAXED);
		}
	}
	return VT_MAX(VT_MIN(n, max), (uint64_t)1);
}

static void
malloc_compare(struct malloc_disk *disk, struct vt_bdev_io *io, uint64_t off, uint64_t len)
{
	struct iovec mem = { .iov_base = disk->buf + off, .iov_len = len };
	size_t diff = 0;

	if (vt_iov_compare(io->iovs, io->iovcnt, &mem, 1, len, &diff) != 0) {
		vt_bdev_io_complete_miscompare(io, diff);
		return;
	}
	vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_SUCCESS);
}

static void
malloc_submit(void *module_ch, struct vt_bdev_io *io)
{
	struct malloc_disk *disk = io->bdev->ctxt;
	uint64_t off = io->offset_blocks * io->bdev->blocklen;
	uint64_t len = io->num_blocks * io->bdev->blocklen;

	switch (io->type) {
	case VT_BDEV_IO_TYPE_READ:
		vt_iov_from_buf(io->iovs, io->iovcnt, disk->buf + off, len);
		break;
	case VT_BDEV_IO_TYPE_WRITE:
		vt_iov_to_buf(io->iovs, io->iovcnt, disk->buf + off, len);
		malloc_map_range(disk, io->offset_blocks, io->num_blocks, true);
		break;
	case VT_BDEV_IO_TYPE_UNMAP:
	case VT_BDEV_IO_TYPE_WRITE_ZEROES:
		malloc_zero(disk, off, len);
		malloc_map_range(disk, io->offset_blocks, io->num_blocks,
				 io->type == VT_BDEV_IO_TYPE_WRITE_ZEROES);
		break;
	case VT_BDEV_IO_TYPE_GET_LBA_STATUS: {
		bool mapped;
		uint64_t n = malloc_map_run(disk, io->offset_blocks, io->num_blocks, &mapped);

		vt_bdev_io_complete_lba_status(
			io, mapped ? VT_BDEV_LBA_MAPPED : VT_BDEV_LBA_DEALLOCATED, n);
		return;
	}
	case VT_BDEV_IO_TYPE_COMPARE:
		malloc_compare(disk, io, off, len);
		return;
	case VT_BDEV_IO_TYPE_FLUSH:
	case VT_BDEV_IO_TYPE_RESET:
		break;
	default:
		vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_INVALID);
		return;
	}
	vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_SUCCESS);
}

static bool
malloc_io_type_supported(void *ctx, enum vt_bdev_io_type type)
{
	switch (type) {
	case VT_BDEV_IO_TYPE_READ:
	case VT_BDEV_IO_TYPE_WRITE:
	case VT_BDEV_IO_TYPE_UNMAP:
	case VT_BDEV_IO_TYPE_FLUSH:
	case VT_BDEV_IO_TYPE_RESET:
	case VT_BDEV_IO_TYPE_WRITE_ZEROES:
	case VT_BDEV_IO_TYPE_COMPARE:
	case VT_BDEV_IO_TYPE_GET_LBA_STATUS:
		return true;
	default:
		return false;
	}
}

static void
malloc_disk_free(struct malloc_disk *disk)
{
	if (disk->buf != NULL) {
		munmap(disk->buf, disk->size);
	}
	if (disk->mapped != NULL) {
		munmap(disk->mapped, disk->mapped_size);
	}
	free(disk->bdev.name);
	free(disk);
}

static int
malloc_destruct(void *ctx)
{
	malloc_disk_free(ctx);
	return 0;
}

static void
malloc_write_config_json(struct vt_bdev *bdev, struct vt_json_write_ctx *w)
{
	char uuid[VT_UUID_STRING_LEN];

	vt_uuid_fmt(uuid, sizeof(uuid), &bdev->uuid);
	vt_json_write_object_begin(w);
	vt_json_write_named_string(w, "method", "bdev_malloc_create");
	vt_json_write_named_object_begin(w, "params");
	vt_json_write_named_string(w, "name", bdev->name);
	vt_json_write_named_uint64(w, "num_blocks", vt_bdev_get_num_blocks(bdev));
	vt_json_write_named_uint64(w, "block_size", bdev->blocklen);
	if (bdev->phys_blocklen != 0) {
		vt_json_write_named_uint64(w, "physical_block_size", bdev->phys_blocklen);
	}
	vt_json_write_named_string(w, "uuid", uuid);
	vt_json_write_named_uint64(w, "optimal_io_boundary", bdev->optimal_io_boundary);
	vt_json_write_object_end(w);
	vt_json_write_object_end(w);
}

static const struct vt_bdev_fn_table g_malloc_fn_table = {
	.destruct = malloc_destruct,
	.submit_request = malloc_submit,
	.io_type_supported = malloc_io_type_supported,
	.write_config_json = malloc_write_config_json,
};

static char *
malloc_default_name(void)
{
	char name[32];

	for (uint32_t n = 0; n < UINT32_MAX; n++) {
		snprintf(name, sizeof(name), "Malloc%" PRIu32, n);
		if (vt_bdev_get_by_name(name) == NULL) {
			return vt_strdup(name);
		}
	}
	return NULL;
}

bool
bdev_malloc_phys_block_size_is_valid(uint32_t physical_block_size, uint32_t block_size)
{
	if (physical_block_size == 0) {
		return true;
	}
	return VT_IS_POW2(physical_block_size) && physical_block_size >= block_size &&
	       physical_block_size / block_size <= VT_BDEV_MAX_PHYS_BLOCKS_PER_BLOCK;
}

static int
malloc_check_opts(const struct bdev_malloc_opts *opts)
{
	if (!VT_IS_POW2(opts->block_size) || opts->block_size < 512 ||
	    opts->block_size > BDEV_MALLOC_MAX_BLOCK_SIZE) {
		return -EINVAL;
	}
	if (!bdev_malloc_phys_block_size_is_valid(opts->physical_block_size, opts->block_size)) {
		return -EINVAL;
	}
	if (opts->num_blocks == 0 ||
	    opts->num_blocks > bdev_malloc_max_bytes() / opts->block_size) {
		return -EINVAL;
	}
	if (opts->name != NULL && !vt_bdev_name_is_valid(opts->name)) {
		return -EINVAL;
	}
	return 0;
}

int
bdev_malloc_create(const struct bdev_malloc_opts *opts, struct vt_bdev **bdevp)
{
	struct malloc_disk *disk;
	void *buf;
	int rc;

	rc = malloc_check_opts(opts);
	if (rc != 0) {
		return rc;
	}
	disk = calloc(1, sizeof(*disk));
	if (disk == NULL) {
		return -ENOMEM;
	}
	disk->bdev.name = opts->name != NULL ? vt_strdup(opts->name) : malloc_default_name();
	if (disk->bdev.name == NULL) {
		rc = -ENOMEM;
		goto err;
	}
	disk->size = opts->num_blocks * opts->block_size;
	buf = mmap(NULL, disk->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		rc = -errno;
		VT_ERRLOG("cannot map %zu bytes for malloc bdev '%s': %s\n", disk->size,
			  disk->bdev.name, vt_strerror(-rc));
		goto err;
	}
	disk->buf = buf;
	disk->mapped_size = VT_ALIGN_UP((size_t)((opts->num_blocks + 63) / 64) * sizeof(uint64_t),
					malloc_page_size());
	buf = mmap(NULL, disk->mapped_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		   0);
	if (buf == MAP_FAILED) {
		rc = -errno;
		VT_ERRLOG("cannot map the block map of malloc bdev '%s': %s\n", disk->bdev.name,
			  vt_strerror(-rc));
		goto err;
	}
	disk->mapped = buf;
	disk->bdev.product_name = "Malloc disk";
	disk->bdev.blocklen = opts->block_size;
	disk->bdev.phys_blocklen = opts->physical_block_size;
	disk->bdev.blockcnt = opts->num_blocks;
	disk->bdev.write_cache = false;
	disk->bdev.optimal_io_boundary = opts->optimal_io_boundary;
	if (opts->uuid != NULL) {
		disk->bdev.uuid = *opts->uuid;
	}
	disk->bdev.ctxt = disk;
	disk->bdev.fn_table = &g_malloc_fn_table;
	disk->bdev.module = &g_bdev_malloc_module;
	rc = vt_bdev_register(&disk->bdev);
	if (rc != 0) {
		goto err;
	}
	VT_DEBUGLOG(bdev_malloc, "created malloc bdev '%s' of %zu bytes\n", disk->bdev.name,
		    disk->size);
	*bdevp = &disk->bdev;
	return 0;
err:
	malloc_disk_free(disk);
	return rc;
}

int
bdev_malloc_delete(struct vt_bdev *bdev, void (*cb)(void *cb_arg, int rc), void *cb_arg)
{
	if (bdev->module != &g_bdev_malloc_module) {
		return -ENODEV;
	}
	vt_bdev_unregister(bdev, cb, cb_arg);
	return 0;
}
