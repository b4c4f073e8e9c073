/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The file bdev module: a regular file or a block device as a bdev, opened with O_DIRECT when the
 * filesystem allows it (buffered otherwise). This file: creation (open, geometry, registration),
 * deletion, rescan, channels and the JSON dumps. The data path is in bdev_file_io.c, the I/O goes
 * through an engine (io_uring or libaio) shared per reactor.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vt/json.h"
#include "vt/log.h"
#include "lib/bdev/file/bdev_file.h"

VT_LOG_REGISTER_COMPONENT(bdev_file)

#define FILE_MIN_BLOCK_SIZE 512u

static int file_module_init(void);
static void file_module_fini(void);

static struct vt_bdev_module g_file_module = {
	.name = "file",
	.module_init = file_module_init,
	.module_fini = file_module_fini,
	.io_ctx_size = sizeof(struct file_io),
};
VT_BDEV_MODULE_REGISTER(file, &g_file_module)

/* Every file bdev; reactor 0 only. */
static TAILQ_HEAD(, file_disk) g_file_disks = TAILQ_HEAD_INITIALIZER(g_file_disks);

/* The deletion of one bdev; outlives the file_disk. */
struct file_delete_ctx {
	struct file_disk *fdisk;
	bool destructed; /* destruct ran: fdisk is gone */
	void (*cb)(void *cb_arg, int rc);
	void *cb_arg;
};

static void
file_disk_free(struct file_disk *fdisk)
{
	free(fdisk->filename);
	free(fdisk->bdev.name);
	free(fdisk);
}

static bool
file_io_type_supported(void *ctx, enum vt_bdev_io_type type)
{
	struct file_disk *fdisk = ctx;

	switch (type) {
	case VT_BDEV_IO_TYPE_READ:
	case VT_BDEV_IO_TYPE_FLUSH:
	case VT_BDEV_IO_TYPE_RESET:
	case VT_BDEV_IO_TYPE_GET_LBA_STATUS:
		return true;
	case VT_BDEV_IO_TYPE_WRITE:
		return !fdisk->readonly;
	case VT_BDEV_IO_TYPE_UNMAP:
	case VT_BDEV_IO_TYPE_WRITE_ZEROES:
		return !fdisk->readonly && fdisk->fallocate;
	default:
		return false;
	}
}

static void *
file_create_channel(void *ctx)
{
	struct file_disk *fdisk = ctx;
	struct file_channel *ch;

	ch = calloc(1, sizeof(*ch));
	if (ch == NULL) {
		return NULL;
	}
	ch->fdisk = fdisk;
	ch->reactor = vt_reactor_current();
	if (ch->reactor >= VT_MAX_REACTORS) {
		free(ch);
		return NULL;
	}
	if (fdisk->kind == FILE_KIND_URING) {
		ch->engine = &file_engine_uring;
		ch->group = ch->engine->group_get();
	}
	if (ch->group == NULL) {
		ch->engine = &file_engine_aio;
		ch->group = ch->engine->group_get();
	}
	if (ch->group == NULL) {
		free(ch);
		return NULL;
	}
	fdisk->chs[ch->reactor] = ch;
	return ch;
}

static void
file_destroy_channel(void *ctx, void *module_ch)
{
	struct file_disk *fdisk = ctx;
	struct file_channel *ch = module_ch;

	if (ch->inflight != 0) {
		VT_ERRLOG("channel of bdev '%s' destroyed with %" PRIu64 " I/Os in flight\n",
			  fdisk->bdev.name, ch->inflight);
	}
	ch->engine->group_put(ch->group);
	fdisk->chs[ch->reactor] = NULL;
	free(ch);
}

static void
file_close_done(void *arg)
{
	struct file_disk *fdisk =
		VT_CONTAINEROF((struct file_job *)arg, struct file_disk, close_job);
	int rc = fdisk->close_job.result;

	if (rc != 0) {
		VT_ERRLOG("cannot sync '%s' of bdev '%s' at close: %s\n", fdisk->filename,
			  fdisk->bdev.name, vt_strerror(-rc));
	}
	vt_bdev_destruct_done(&fdisk->bdev, rc);
	file_disk_free(fdisk);
}

/* The last descriptor is gone: make the data durable and close the file off the reactor. */
static int
file_destruct(void *ctx)
{
	struct file_disk *fdisk = ctx;
	struct file_job *job = &fdisk->close_job;

	TAILQ_REMOVE(&g_file_disks, fdisk, link);
	if (fdisk->delete_ctx != NULL) {
		fdisk->delete_ctx->destructed = true;
	}
	*job = (struct file_job){
		.op = FILE_JOB_CLOSE,
		.fd = fdisk->fd,
		.sync_first = !fdisk->readonly,
		.reactor = vt_reactor_current(),
		.done = file_close_done,
	};
	fdisk->fd = -1;
	if (file_worker_submit(job) != 0) {
		/* No worker thread: sync and close here, report on the next iteration. */
		file_worker_run_job(job);
		vt_defer(&fdisk->close_defer, file_close_done, job);
	}
	return 1;
}

static void
file_dump_info_json(void *ctx, struct vt_json_write_ctx *w)
{
	struct file_disk *fdisk = ctx;

	if (fdisk->kind == FILE_KIND_URING) {
		vt_json_write_named_object_begin(w, "uring");
		vt_json_write_named_string(w, "filename", fdisk->filename);
		vt_json_write_object_end(w);
		return;
	}
	vt_json_write_named_object_begin(w, "aio");
	vt_json_write_named_string(w, "filename", fdisk->filename);
	vt_json_write_named_bool(w, "block_size_override", fdisk->block_size_override);
	vt_json_write_named_bool(w, "readonly", fdisk->readonly);
	vt_json_write_named_bool(w, "fallocate", fdisk->fallocate);
	vt_json_write_named_bool(w, "nowait", fdisk->nowait);
	vt_json_write_object_end(w);
}

static void
file_write_config_json(struct vt_bdev *bdev, struct vt_json_write_ctx *w)
{
	struct file_disk *fdisk = bdev->ctxt;
	char uuid[VT_UUID_STRING_LEN];
	bool aio = fdisk->kind == FILE_KIND_AIO;

	vt_json_write_object_begin(w);
	vt_json_write_named_string(w, "method", aio ? "bdev_aio_create" : "bdev_uring_create");
	vt_json_write_named_object_begin(w, "params");
	vt_json_write_named_string(w, "name", bdev->name);
	vt_json_write_named_string(w, "filename", fdisk->filename);
	if (fdisk->block_size_override) {
		vt_json_write_named_uint64(w, "block_size", bdev->blocklen);
	}
	if (aio) {
		vt_json_write_named_bool(w, "readonly", fdisk->readonly);
		vt_json_write_named_bool(w, "fallocate", fdisk->fallocate);
		vt_json_write_named_bool(w, "nowait", fdisk->nowait);
	}
	if (vt_uuid_fmt(uuid, sizeof(uuid), &bdev->uuid) == 0) {
		vt_json_write_named_string(w, "uuid", uuid);
	}
	vt_json_write_object_end(w);
	vt_json_write_object_end(w);
}

static const struct vt_bdev_fn_table g_file_fn_table = {
	.destruct = file_destruct,
	.submit_request = file_submit_request,
	.io_type_supported = file_io_type_supported,
	.create_channel = file_create_channel,
	.destroy_channel = file_destroy_channel,
	.dump_info_json = file_dump_info_json,
	.write_config_json = file_write_config_json,
};

/* ---- opening and geometry --------------------------------------------------------------- */

struct file_geometry {
	bool is_blkdev;
	uint64_t size;       /* bytes */
	uint32_t block_size; /* smallest usable: logical block size or O_DIRECT alignment */
	uint32_t mem_align;  /* O_DIRECT buffer alignment */
};

static int
file_get_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		return -errno;
	}
	if (S_ISBLK(st.st_mode)) {
		return ioctl(fd, BLKGETSIZE64, size) == 0 ? 0 : -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		return -EINVAL;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

/* The O_DIRECT alignments the kernel reports (Linux 6.1+), when it does. */
static void
file_get_dio_align(int fd, struct file_geometry *geo)
{
#ifdef STATX_DIOALIGN
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) != 0 ||
	    !(stx.stx_mask & STATX_DIOALIGN) || stx.stx_dio_offset_align == 0) {
		return;
	}
	if (!geo->is_blkdev) {
		geo->block_size = VT_MAX(stx.stx_dio_offset_align, FILE_MIN_BLOCK_SIZE);
	}
	if (VT_IS_POW2(stx.stx_dio_mem_align)) {
		geo->mem_align = stx.stx_dio_mem_align;
	}
#else
	(void)fd;
	(void)geo;
#endif
}

static int
file_get_geometry(struct file_disk *fdisk, struct file_geometry *geo, char *err, size_t errlen)
{
	struct stat st;
	int ss, rc;

	memset(geo, 0, sizeof(*geo));
	if (fstat(fdisk->fd, &st) != 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot stat '%s': %s", fdisk->filename, vt_strerror(-rc));
		return rc;
	}
	if (S_ISBLK(st.st_mode)) {
		geo->is_blkdev = true;
		if (ioctl(fdisk->fd, BLKSSZGET, &ss) != 0 || ss <= 0) {
			rc = -errno;
			snprintf(err, errlen, "cannot get the logical block size of '%s': %s",
				 fdisk->filename, vt_strerror(errno));
			return rc ? rc : -EINVAL;
		}
		geo->block_size = (uint32_t)ss;
	} else if (S_ISREG(st.st_mode)) {
		geo->block_size = FILE_MIN_BLOCK_SIZE;
	} else {
		snprintf(err, errlen, "'%s' is neither a regular file nor a block device",
			 fdisk->filename);
		return -EINVAL;
	}
	geo->mem_align = geo->block_size;
	if (fdisk->direct) {
		file_get_dio_align(fdisk->fd, geo);
	}
	rc = file_get_size(fdisk->fd, &geo->size);
	if (rc != 0) {
		snprintf(err, errlen, "cannot get the size of '%s': %s", fdisk->filename,
			 vt_strerror(-rc));
	}
	return rc;
}

static int
file_open_flags(const char *filename, int flags, char *err, size_t errlen)
{
	int fd = open(filename, flags);

	if (fd < 0) {
		snprintf(err, errlen, "cannot open '%s': %s", filename, vt_strerror(errno));
		return -errno;
	}
	return fd;
}

/*
 * Opens with O_DIRECT, or buffered when the filesystem refuses it at open or on a first direct
 * read (some filesystems accept the flag and fail every I/O).
 */
static int
file_open(struct file_disk *fdisk, struct file_geometry *geo, char *err, size_t errlen)
{
	int flags = (fdisk->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	void *buf = NULL;
	int fd, rc;

	fd = open(fdisk->filename, flags | O_DIRECT);
	fdisk->direct = fd >= 0;
	if (fd < 0 && errno == EINVAL) {
		fd = file_open_flags(fdisk->filename, flags, err, errlen);
	} else if (fd < 0) {
		snprintf(err, errlen, "cannot open '%s': %s", fdisk->filename, vt_strerror(errno));
		return -errno;
	}
	if (fd < 0) {
		return fd;
	}
	fdisk->fd = fd;
	rc = file_get_geometry(fdisk, geo, err, errlen);
	if (rc != 0 || !fdisk->direct || geo->size < geo->block_size) {
		return rc;
	}
	if (posix_memalign(&buf, VT_MAX(geo->mem_align, 4096u), geo->block_size) != 0) {
		snprintf(err, errlen, "cannot allocate a probe buffer for '%s'", fdisk->filename);
		return -ENOMEM;
	}
	rc = pread(fd, buf, geo->block_size, 0) < 0 ? -errno : 0;
	free(buf);
	if (rc != -EINVAL) {
		return 0;
	}
	VT_NOTICELOG("'%s' refuses direct I/O: opened buffered\n", fdisk->filename);
	close(fd);
	fdisk->direct = false;
	fdisk->fd = -1;
	fd = file_open_flags(fdisk->filename, flags, err, errlen);
	if (fd < 0) {
		return fd;
	}
	fdisk->fd = fd;
	return file_get_geometry(fdisk, geo, err, errlen);
}

static void
file_warn_partial_block(const struct file_disk *fdisk, uint64_t size, uint32_t bs)
{
	if (size % bs != 0) {
		VT_WARNLOG("size of '%s' (%" PRIu64 " bytes) is not a multiple of the block size "
			   "%u: the last %" PRIu64 " bytes are not used\n",
			   fdisk->filename, size, bs, size % bs);
	}
}

static int
file_set_geometry(struct file_disk *fdisk, const struct file_geometry *geo, uint32_t block_size,
		  char *err, size_t errlen)
{
	uint32_t bs = block_size ? block_size : geo->block_size;

	if (block_size != 0 && block_size < geo->block_size) {
		snprintf(err, errlen,
			 "block_size %u is smaller than the logical block size %u of '%s'",
			 block_size, geo->block_size, fdisk->filename);
		return -EINVAL;
	}
	if (geo->size < bs) {
		snprintf(err, errlen, "'%s' is smaller than one block (%u bytes)", fdisk->filename,
			 bs);
		return -EINVAL;
	}
	file_warn_partial_block(fdisk, geo->size, bs);
	fdisk->block_size_override = block_size != 0;
	fdisk->len_align = geo->block_size;
	fdisk->mem_align = geo->mem_align;
	fdisk->bdev.blocklen = bs;
	fdisk->bdev.blockcnt = geo->size / bs;
	fdisk->bdev.buf_align = fdisk->direct ? geo->mem_align : 1;
	return 0;
}

/* ---- module API ------------------------------------------------------------------------- */

static const char *
file_kind_name(enum file_kind kind)
{
	return kind == FILE_KIND_AIO ? "aio" : "uring";
}

static int
file_check_opts(const struct file_create_opts *opts, char *err, size_t errlen)
{
	if (opts->name == NULL || opts->name[0] == '\0') {
		snprintf(err, errlen, "invalid parameter 'name': must not be empty");
		return -EINVAL;
	}
	if (opts->filename == NULL || opts->filename[0] == '\0') {
		snprintf(err, errlen, "invalid parameter 'filename': must not be empty");
		return -EINVAL;
	}
	if (opts->block_size != 0 &&
	    (opts->block_size < FILE_MIN_BLOCK_SIZE || !VT_IS_POW2(opts->block_size))) {
		snprintf(err, errlen, "invalid block_size %u: must be a power of two >= %u",
			 opts->block_size, FILE_MIN_BLOCK_SIZE);
		return -EINVAL;
	}
	if (vt_bdev_get_by_name(opts->name) != NULL) {
		snprintf(err, errlen, "bdev '%s' already exists", opts->name);
		return -EEXIST;
	}
	return 0;
}

/* A file_disk with the creation options and no file open yet; NULL on ENOMEM. */
static struct file_disk *
file_disk_new(const struct file_create_opts *opts)
{
	struct file_disk *fdisk = calloc(1, sizeof(*fdisk));

	if (fdisk == NULL) {
		return NULL;
	}
	fdisk->fd = -1;
	fdisk->kind = opts->kind;
	fdisk->readonly = opts->readonly;
	fdisk->fallocate = opts->fallocate;
	fdisk->nowait = opts->nowait;
	fdisk->filename = vt_strdup(opts->filename);
	fdisk->bdev.name = vt_strdup(opts->name);
	if (fdisk->filename == NULL || fdisk->bdev.name == NULL) {
		file_disk_free(fdisk);
		return NULL;
	}
	fdisk->bdev.product_name = opts->kind == FILE_KIND_AIO ? "AIO disk" : "URING bdev";
	fdisk->bdev.write_cache = true;
	fdisk->bdev.read_only = opts->readonly;
	fdisk->bdev.ctxt = fdisk;
	fdisk->bdev.fn_table = &g_file_fn_table;
	fdisk->bdev.module = &g_file_module;
	if (opts->uuid != NULL) {
		fdisk->bdev.uuid = *opts->uuid;
	}
	return fdisk;
}

/*
 * RWF_NOWAIT makes a read or write that would block in the kernel (no free request tag, a page
 * to fault in) fail with EAGAIN, which the bdev layer retries later; like SPDK, only block
 * devices get it: filesystems answer EAGAIN for too many ordinary cases.
 */
static int
file_check_nowait(struct file_disk *fdisk, char *err, size_t errlen)
{
	struct stat st;

	if (!fdisk->nowait) {
		return 0;
	}
	if (fstat(fdisk->fd, &st) != 0) {
		snprintf(err, errlen, "cannot stat '%s': %s", fdisk->filename, vt_strerror(errno));
		return -errno;
	}
	if (!S_ISBLK(st.st_mode)) {
		snprintf(err, errlen, "nowait is supported on block devices only: '%s' is not one",
			 fdisk->filename);
		return -ENOTSUP;
	}
	return 0;
}

static int
file_register(struct file_disk *fdisk, char *err, size_t errlen)
{
	int rc = vt_bdev_register(&fdisk->bdev);

	if (rc == -EEXIST) {
		snprintf(err, errlen, "bdev '%s' already exists", fdisk->bdev.name);
	} else if (rc != 0) {
		snprintf(err, errlen, "cannot register bdev '%s': %s", fdisk->bdev.name,
			 vt_strerror(-rc));
	}
	return rc;
}

int
bdev_file_create(const struct file_create_opts *opts, char *err, size_t errlen)
{
	struct file_geometry geo;
	struct file_disk *fdisk;
	int rc;

	rc = file_check_opts(opts, err, errlen);
	if (rc != 0) {
		goto err;
	}
	fdisk = file_disk_new(opts);
	if (fdisk == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto err;
	}
	rc = file_open(fdisk, &geo, err, errlen);
	if (rc == 0) {
		rc = file_check_nowait(fdisk, err, errlen);
	}
	if (rc == 0) {
		rc = file_set_geometry(fdisk, &geo, opts->block_size, err, errlen);
	}
	if (rc == 0) {
		rc = file_register(fdisk, err, errlen);
	}
	if (rc != 0) {
		if (fdisk->fd >= 0) {
			close(fdisk->fd);
		}
		file_disk_free(fdisk);
		goto err;
	}
	TAILQ_INSERT_TAIL(&g_file_disks, fdisk, link);
	VT_NOTICELOG("created %s bdev '%s' on '%s': %" PRIu64 " blocks of %u bytes%s%s\n",
		     file_kind_name(opts->kind), opts->name, opts->filename, fdisk->bdev.blockcnt,
		     fdisk->bdev.blocklen, fdisk->direct ? "" : ", buffered",
		     opts->readonly ? ", read-only" : "");
	return 0;
err:
	VT_ERRLOG("cannot create %s bdev '%s': %s\n", file_kind_name(opts->kind),
		  opts->name ? opts->name : "", err);
	return rc;
}

struct file_disk *
bdev_file_find(const char *name, enum file_kind kind, char *err, size_t errlen)
{
	struct vt_bdev *bdev = vt_bdev_get_by_name(name);
	struct file_disk *fdisk;

	if (bdev == NULL) {
		snprintf(err, errlen, "bdev '%s' does not exist", name);
		return NULL;
	}
	TAILQ_FOREACH (fdisk, &g_file_disks, link) {
		if (&fdisk->bdev == bdev && fdisk->kind == kind) {
			return fdisk;
		}
	}
	snprintf(err, errlen, "bdev '%s' is not %s bdev", name,
		 kind == FILE_KIND_AIO ? "an aio" : "a uring");
	return NULL;
}

static void
file_unregister_done(void *cb_arg, int rc)
{
	struct file_delete_ctx *ctx = cb_arg;

	if (!ctx->destructed) {
		/* Not deleted after all: a later delete may try again. */
		ctx->fdisk->removing = false;
		ctx->fdisk->delete_ctx = NULL;
	}
	ctx->cb(ctx->cb_arg, rc);
	free(ctx);
}

int
bdev_file_delete(struct file_disk *fdisk, void (*cb)(void *cb_arg, int rc), void *cb_arg, char *err,
		 size_t errlen)
{
	struct file_delete_ctx *ctx;

	if (fdisk->removing) {
		snprintf(err, errlen, "bdev '%s' is already being deleted", fdisk->bdev.name);
		return -EBUSY;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ctx->fdisk = fdisk;
	ctx->cb = cb;
	ctx->cb_arg = cb_arg;
	fdisk->removing = true;
	fdisk->delete_ctx = ctx;
	vt_bdev_unregister(&fdisk->bdev, file_unregister_done, ctx);
	return 0;
}

int
bdev_file_rescan(struct file_disk *fdisk, char *err, size_t errlen)
{
	uint32_t bs = fdisk->bdev.blocklen;
	uint64_t size, blockcnt;
	int rc;

	rc = file_get_size(fdisk->fd, &size);
	if (rc != 0) {
		snprintf(err, errlen, "cannot get the size of '%s': %s", fdisk->filename,
			 vt_strerror(-rc));
		return rc;
	}
	blockcnt = size / bs;
	file_warn_partial_block(fdisk, size, bs);
	if (blockcnt == fdisk->bdev.blockcnt) {
		return 0;
	}
	VT_NOTICELOG("bdev '%s' resized: %" PRIu64 " -> %" PRIu64 " blocks\n", fdisk->bdev.name,
		     fdisk->bdev.blockcnt, blockcnt);
	rc = vt_bdev_notify_blockcnt_change(&fdisk->bdev, blockcnt);
	if (rc != 0) {
		snprintf(err, errlen, "cannot resize bdev '%s' to %" PRIu64 " blocks: %s",
			 fdisk->bdev.name, blockcnt, vt_strerror(-rc));
	}
	return rc;
}

/* ---- module init and fini --------------------------------------------------------------- */

static int
file_module_init(void)
{
	return file_io_init();
}

static void
file_module_fini(void)
{
	file_worker_stop();
	file_io_fini();
}
