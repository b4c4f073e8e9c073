/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The bdev registry and the life of a bdev: register / unregister (hot-remove), references,
 * aliases, resize and properties. Descriptors, their events and claims are in bdev_desc.c;
 * modules, options and the "bdev" subsystem in bdev_subsystem.c; channels in bdev_channel.c;
 * I/O in bdev_io.c; the LBA range locks of COMPARE_AND_WRITE in bdev_range.c.
 *
 * Removal: vt_bdev_unregister marks the bdev removing (new opens and new I/O get -ENODEV), sends
 * REMOVE to every descriptor and drops the registration's reference. Descriptors, channels and
 * messages in flight hold references too; when the last one goes, reactor 0 takes the bdev out of
 * the registry, calls the module's destruct and then the unregister callback.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/event.h"
#include "vt/log.h"
#include "vt/notify.h"
#include "vt/util.h"

#include "lib/bdev/bdev_internal.h"

VT_LOG_REGISTER_COMPONENT(bdev)

pthread_mutex_t g_bdev_mutex = PTHREAD_MUTEX_INITIALIZER;

static TAILQ_HEAD(bdev_list, bdev_internal) g_bdevs = TAILQ_HEAD_INITIALIZER(g_bdevs);

static const char *const g_io_type_names[VT_BDEV_NUM_IO_TYPES] = {
	[VT_BDEV_IO_TYPE_INVALID] = "invalid",
	[VT_BDEV_IO_TYPE_READ] = "read",
	[VT_BDEV_IO_TYPE_WRITE] = "write",
	[VT_BDEV_IO_TYPE_UNMAP] = "unmap",
	[VT_BDEV_IO_TYPE_FLUSH] = "flush",
	[VT_BDEV_IO_TYPE_RESET] = "reset",
	[VT_BDEV_IO_TYPE_WRITE_ZEROES] = "write_zeroes",
	[VT_BDEV_IO_TYPE_COMPARE] = "compare",
	[VT_BDEV_IO_TYPE_COMPARE_AND_WRITE] = "compare_and_write",
	[VT_BDEV_IO_TYPE_OR_WRITE] = "or_write",
	[VT_BDEV_IO_TYPE_WRITE_ATOMIC] = "write_atomic",
	[VT_BDEV_IO_TYPE_GET_LBA_STATUS] = "get_lba_status",
};

const char *
vt_bdev_io_type_name(enum vt_bdev_io_type type)
{
	if ((unsigned int)type >= VT_BDEV_NUM_IO_TYPES) {
		return "invalid";
	}
	return g_io_type_names[type];
}

/* ---- references --------------------------------------------------------------------------- */

static void bdev_finalize(void *arg);

static void
bdev_send_finalize(void *arg)
{
	struct bdev_internal *bi = arg;

	if (vt_send_msg(0, bdev_finalize, bi) != 0) {
		/* Reactor 0's ring is full: try again on the next iteration. */
		vt_defer(&bi->final_defer, bdev_send_finalize, bi);
	}
}

void
bdev_ref(struct bdev_internal *bi)
{
	atomic_fetch_add(&bi->refs, 1);
}

void
bdev_unref(struct bdev_internal *bi)
{
	if (atomic_fetch_sub(&bi->refs, 1) != 1) {
		return;
	}
	/* Only the registration's reference keeps a live bdev above zero. */
	assert(atomic_load(&bi->removing));
	if (vt_reactor_current() == 0) {
		vt_defer(&bi->final_defer, bdev_finalize, bi);
	} else {
		bdev_send_finalize(bi);
	}
}

/* ---- registry ----------------------------------------------------------------------------- */

/* Printable ASCII without spaces: names travel in JSON, logs and command lines. */
bool
vt_bdev_name_is_valid(const char *name)
{
	size_t len;

	if (name == NULL) {
		return false;
	}
	len = strnlen(name, VT_BDEV_MAX_NAME_LEN + 1);
	if (len == 0 || len > VT_BDEV_MAX_NAME_LEN) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		if (!isgraph((unsigned char)name[i])) {
			return false;
		}
	}
	return true;
}

/* A bdev by name, alias or UUID string. */
struct bdev_internal *
bdev_lookup_locked(const char *name)
{
	struct bdev_internal *bi;
	struct bdev_alias *a;
	struct vt_uuid uuid;
	bool is_uuid = vt_uuid_parse(&uuid, name) == 0;

	TAILQ_FOREACH (bi, &g_bdevs, link) {
		if (strcmp(bi->bdev->name, name) == 0) {
			return bi;
		}
		TAILQ_FOREACH (a, &bi->aliases, link) {
			if (strcmp(a->name, name) == 0) {
				return bi;
			}
		}
		if (is_uuid && vt_uuid_compare(&uuid, &bi->bdev->uuid) == 0) {
			return bi;
		}
	}
	return NULL;
}

static struct bdev_internal *
bdev_lookup_uuid_locked(const struct vt_uuid *uuid)
{
	struct bdev_internal *bi;

	TAILQ_FOREACH (bi, &g_bdevs, link) {
		if (vt_uuid_compare(uuid, &bi->bdev->uuid) == 0) {
			return bi;
		}
	}
	return NULL;
}

struct bdev_internal *
bdev_registry_first(void)
{
	return TAILQ_FIRST(&g_bdevs);
}

struct bdev_internal *
bdev_registry_next(struct bdev_internal *bi)
{
	return TAILQ_NEXT(bi, link);
}

struct bdev_internal *
bdev_registry_newest_live(bool *empty)
{
	struct bdev_internal *bi, *newest = NULL;

	pthread_mutex_lock(&g_bdev_mutex);
	*empty = TAILQ_EMPTY(&g_bdevs);
	TAILQ_FOREACH_REVERSE (bi, &g_bdevs, bdev_list, link) {
		if (atomic_load(&bi->removing)) {
			continue;
		}
		if (newest == NULL) {
			newest = bi;
		}
		/* A claimed bdev goes after its claimer (a raid leg added after the raid was
		 * created is newer than the raid, yet removing it first would degrade the array). */
		if (bi->claim_desc == NULL) {
			break;
		}
	}
	pthread_mutex_unlock(&g_bdev_mutex);
	return bi != NULL ? bi : newest;
}

struct vt_bdev *
vt_bdev_get_by_name(const char *name)
{
	struct bdev_internal *bi;

	if (name == NULL) {
		return NULL;
	}
	pthread_mutex_lock(&g_bdev_mutex);
	bi = bdev_lookup_locked(name);
	pthread_mutex_unlock(&g_bdev_mutex);
	return bi != NULL ? bi->bdev : NULL;
}

static struct vt_bdev *
bdev_next_live_locked(struct bdev_internal *bi)
{
	while (bi != NULL && atomic_load(&bi->removing)) {
		bi = TAILQ_NEXT(bi, link);
	}
	return bi != NULL ? bi->bdev : NULL;
}

struct vt_bdev *
vt_bdev_first(void)
{
	struct vt_bdev *bdev;

	pthread_mutex_lock(&g_bdev_mutex);
	bdev = bdev_next_live_locked(TAILQ_FIRST(&g_bdevs));
	pthread_mutex_unlock(&g_bdev_mutex);
	return bdev;
}

struct vt_bdev *
vt_bdev_next(struct vt_bdev *prev)
{
	struct vt_bdev *bdev;

	pthread_mutex_lock(&g_bdev_mutex);
	bdev = bdev_next_live_locked(TAILQ_NEXT(prev->internal, link));
	pthread_mutex_unlock(&g_bdev_mutex);
	return bdev;
}

static int
bdev_check(const struct vt_bdev *bdev)
{
	const struct vt_bdev_fn_table *fn = bdev->fn_table;

	if (!vt_bdev_name_is_valid(bdev->name)) {
		VT_ERRLOG("cannot register bdev '%s': invalid name\n",
			  bdev->name != NULL ? bdev->name : "(null)");
		return -EINVAL;
	}
	if (fn == NULL || fn->destruct == NULL || fn->submit_request == NULL ||
	    fn->io_type_supported == NULL || bdev->module == NULL) {
		VT_ERRLOG("cannot register bdev '%s': incomplete module interface\n", bdev->name);
		return -EINVAL;
	}
	if (bdev->module->io_ctx_size > VT_BDEV_IO_DRIVER_CTX) {
		VT_ERRLOG("cannot register bdev '%s': module '%s' I/O context too large\n",
			  bdev->name, bdev->module->name);
		return -EINVAL;
	}
	if (!VT_IS_POW2(bdev->blocklen) || bdev->blocklen < 512) {
		VT_ERRLOG("cannot register bdev '%s': block size %" PRIu32
			  " is not a power of two >= 512\n",
			  bdev->name, bdev->blocklen);
		return -EINVAL;
	}
	if (bdev->blockcnt == 0 || bdev->blockcnt > UINT64_MAX / bdev->blocklen) {
		VT_ERRLOG("cannot register bdev '%s': invalid block count %" PRIu64 "\n",
			  bdev->name, bdev->blockcnt);
		return -EINVAL;
	}
	if (bdev->phys_blocklen != 0 &&
	    (!VT_IS_POW2(bdev->phys_blocklen) || bdev->phys_blocklen < bdev->blocklen ||
	     bdev->phys_blocklen / bdev->blocklen > VT_BDEV_MAX_PHYS_BLOCKS_PER_BLOCK)) {
		VT_ERRLOG("cannot register bdev '%s': physical block size %" PRIu32
			  " is not a power of two from the block size %" PRIu32 " to %u times it\n",
			  bdev->name, bdev->phys_blocklen, bdev->blocklen,
			  VT_BDEV_MAX_PHYS_BLOCKS_PER_BLOCK);
		return -EINVAL;
	}
	if (bdev->buf_align > 1 && !VT_IS_POW2(bdev->buf_align)) {
		VT_ERRLOG("cannot register bdev '%s': buffer alignment %" PRIu32
			  " is not a power of two\n",
			  bdev->name, bdev->buf_align);
		return -EINVAL;
	}
	return 0;
}

/* The types users may submit: the module's, plus what the layer emulates. */
static void
bdev_init_supported(struct bdev_internal *bi, struct vt_bdev *bdev)
{
	bool *n = bi->native;
	bool *s = bi->supported;

	for (int t = VT_BDEV_IO_TYPE_READ; t < VT_BDEV_NUM_IO_TYPES; t++) {
		n[t] = bdev->fn_table->io_type_supported(bdev->ctxt, (enum vt_bdev_io_type)t);
		s[t] = n[t];
	}
	s[VT_BDEV_IO_TYPE_RESET] = true;
	s[VT_BDEV_IO_TYPE_COMPARE] = n[VT_BDEV_IO_TYPE_COMPARE] || n[VT_BDEV_IO_TYPE_READ];
	s[VT_BDEV_IO_TYPE_COMPARE_AND_WRITE] =
		n[VT_BDEV_IO_TYPE_COMPARE_AND_WRITE] ||
		(n[VT_BDEV_IO_TYPE_WRITE] && s[VT_BDEV_IO_TYPE_COMPARE]);
	s[VT_BDEV_IO_TYPE_OR_WRITE] = n[VT_BDEV_IO_TYPE_READ] && n[VT_BDEV_IO_TYPE_WRITE];
	s[VT_BDEV_IO_TYPE_WRITE_ATOMIC] =
		n[VT_BDEV_IO_TYPE_WRITE_ATOMIC] || n[VT_BDEV_IO_TYPE_WRITE];
	s[VT_BDEV_IO_TYPE_GET_LBA_STATUS] = true;
}

static struct bdev_internal *
bdev_internal_alloc(struct vt_bdev *bdev)
{
	struct bdev_internal *bi = calloc(1, sizeof(*bi));

	if (bi == NULL) {
		return NULL;
	}
	if (pthread_spin_init(&bi->range_lock, PTHREAD_PROCESS_PRIVATE) != 0) {
		free(bi);
		return NULL;
	}
	bi->bdev = bdev;
	atomic_init(&bi->removing, false);
	atomic_init(&bi->range_count, 0);
	atomic_init(&bi->qos_on, false);
	atomic_init(&bi->refs, 1); /* the registration's */
	TAILQ_INIT(&bi->ranges);
	TAILQ_INIT(&bi->descs);
	TAILQ_INIT(&bi->aliases);
	bdev_stat_init(&bi->retired);
	bdev_init_supported(bi, bdev);
	bi->buf_align = bdev->buf_align > 1 ? bdev->buf_align : 1;
	if (bdev->acwu != 0) {
		bi->acwu = bdev->acwu;
	} else {
		bi->acwu = VT_MIN(BDEV_MAX_DEFAULT_ACWU,
				  VT_MAX(1u, BDEV_DEFAULT_ACWU_BYTES / bdev->blocklen));
	}
	return bi;
}

static void
bdev_internal_free(struct bdev_internal *bi)
{
	struct bdev_alias *a;

	while ((a = TAILQ_FIRST(&bi->aliases)) != NULL) {
		TAILQ_REMOVE(&bi->aliases, a, link);
		free(a->name);
		free(a);
	}
	free(bi->claim_key);
	bdev_qos_free(bi);
	bdev_hist_free(bi);
	pthread_spin_destroy(&bi->range_lock);
	free(bi);
}

/* SPDK's bdev notification types (notify_get_types), known from start-up. */
__attribute__((constructor)) static void
bdev_notify_types(void)
{
	vt_notify_type_register("bdev_register");
	vt_notify_type_register("bdev_unregister");
	vt_notify_type_register("bdev_resize");
}

int
vt_bdev_register(struct vt_bdev *bdev)
{
	struct bdev_internal *bi;
	char uuid[VT_UUID_STRING_LEN];
	int rc;

	if (bdev == NULL) {
		return -EINVAL;
	}
	rc = bdev_check(bdev);
	if (rc != 0) {
		return rc;
	}
	if (vt_uuid_is_null(&bdev->uuid)) {
		vt_uuid_generate(&bdev->uuid);
	}
	bi = bdev_internal_alloc(bdev);
	if (bi == NULL) {
		VT_ERRLOG("cannot register bdev '%s': out of memory\n", bdev->name);
		return -ENOMEM;
	}
	pthread_mutex_lock(&g_bdev_mutex);
	if (bdev_lookup_locked(bdev->name) != NULL) {
		pthread_mutex_unlock(&g_bdev_mutex);
		VT_ERRLOG("cannot register bdev '%s': name already exists\n", bdev->name);
		bdev_internal_free(bi);
		return -EEXIST;
	}
	if (bdev_lookup_uuid_locked(&bdev->uuid) != NULL) {
		pthread_mutex_unlock(&g_bdev_mutex);
		vt_uuid_fmt(uuid, sizeof(uuid), &bdev->uuid);
		VT_ERRLOG("cannot register bdev '%s': uuid %s already exists\n", bdev->name, uuid);
		bdev_internal_free(bi);
		return -EEXIST;
	}
	bdev->internal = bi;
	TAILQ_INSERT_TAIL(&g_bdevs, bi, link);
	pthread_mutex_unlock(&g_bdev_mutex);
	vt_notify_send("bdev_register", bdev->name);
	VT_DEBUGLOG(bdev, "registered bdev '%s' (%" PRIu64 " blocks of %" PRIu32 " bytes)\n",
		    bdev->name, bdev->blockcnt, bdev->blocklen);
	bdev_modules_examine(bdev);
	return 0;
}

/* ---- unregister --------------------------------------------------------------------------- */

static void
bdev_destructed(struct bdev_internal *bi, int rc)
{
	void (*cb)(void *cb_arg, int rc) = bi->unregister_cb;
	void *cb_arg = bi->unregister_arg;

	bdev_internal_free(bi);
	if (cb != NULL) {
		cb(cb_arg, rc);
	}
	bdev_fini_continue();
}

/* On reactor 0 once nothing references the bdev. */
static void
bdev_finalize(void *arg)
{
	struct bdev_internal *bi = arg;
	struct vt_bdev *bdev = bi->bdev;
	int rc;

	assert(TAILQ_EMPTY(&bi->descs) && TAILQ_EMPTY(&bi->ranges));
	pthread_mutex_lock(&g_bdev_mutex);
	TAILQ_REMOVE(&g_bdevs, bi, link);
	pthread_mutex_unlock(&g_bdev_mutex);
	VT_DEBUGLOG(bdev, "destructing bdev '%s'\n", bdev->name);
	/* The module may free bdev itself: it is not touched after this call. */
	rc = bdev->fn_table->destruct(bdev->ctxt);
	if (rc == 1) {
		return;
	}
	bdev_destructed(bi, rc);
}

void
vt_bdev_destruct_done(struct vt_bdev *bdev, int rc)
{
	bdev_destructed(bdev->internal, rc);
}

void
vt_bdev_unregister(struct vt_bdev *bdev, void (*cb)(void *cb_arg, int rc), void *cb_arg)
{
	struct bdev_internal *bi = bdev->internal;
	struct vt_bdev_desc *desc;

	assert(vt_reactor_current() == 0);
	pthread_mutex_lock(&g_bdev_mutex);
	if (atomic_load(&bi->removing)) {
		pthread_mutex_unlock(&g_bdev_mutex);
		VT_ERRLOG("cannot unregister bdev '%s': already being removed\n", bdev->name);
		if (cb != NULL) {
			cb(cb_arg, -EBUSY);
		}
		return;
	}
	atomic_store(&bi->removing, true);
	bi->unregister_cb = cb;
	bi->unregister_arg = cb_arg;
	TAILQ_FOREACH (desc, &bi->descs, link) {
		bdev_desc_post_event_locked(desc, VT_BDEV_EVENT_REMOVE);
	}
	pthread_mutex_unlock(&g_bdev_mutex);
	vt_notify_send("bdev_unregister", bdev->name);
	VT_DEBUGLOG(bdev, "unregistering bdev '%s'\n", bdev->name);
	bdev_unref(bi);
}

int
vt_bdev_notify_blockcnt_change(struct vt_bdev *bdev, uint64_t blockcnt)
{
	struct bdev_internal *bi = bdev->internal;
	struct vt_bdev_desc *desc;
	bool changed;

	if (blockcnt == 0 || blockcnt > UINT64_MAX / bdev->blocklen) {
		return -EINVAL;
	}
	pthread_mutex_lock(&g_bdev_mutex);
	if (atomic_load(&bi->removing)) {
		pthread_mutex_unlock(&g_bdev_mutex);
		return -ENODEV;
	}
	/* Like SPDK: users with the bdev open may have data beyond the new end. */
	if (blockcnt < bdev->blockcnt && !TAILQ_EMPTY(&bi->descs)) {
		pthread_mutex_unlock(&g_bdev_mutex);
		return -EBUSY;
	}
	changed = blockcnt != bdev->blockcnt;
	if (changed) {
		__atomic_store_n(&bdev->blockcnt, blockcnt, __ATOMIC_RELAXED);
		TAILQ_FOREACH (desc, &bi->descs, link) {
			bdev_desc_post_event_locked(desc, VT_BDEV_EVENT_RESIZE);
		}
	}
	pthread_mutex_unlock(&g_bdev_mutex);
	if (changed) {
		vt_notify_send("bdev_resize", bdev->name);
	}
	return 0;
}

/* ---- aliases ------------------------------------------------------------------------------ */

int
vt_bdev_alias_add(struct vt_bdev *bdev, const char *alias)
{
	struct bdev_alias *a;

	if (!vt_bdev_name_is_valid(alias)) {
		return -EINVAL;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		return -ENOMEM;
	}
	a->name = vt_strdup(alias);
	if (a->name == NULL) {
		free(a);
		return -ENOMEM;
	}
	pthread_mutex_lock(&g_bdev_mutex);
	if (bdev_lookup_locked(alias) != NULL) {
		pthread_mutex_unlock(&g_bdev_mutex);
		free(a->name);
		free(a);
		return -EEXIST;
	}
	TAILQ_INSERT_TAIL(&bdev->internal->aliases, a, link);
	pthread_mutex_unlock(&g_bdev_mutex);
	return 0;
}

int
vt_bdev_alias_del(struct vt_bdev *bdev, const char *alias)
{
	struct bdev_alias *a;

	pthread_mutex_lock(&g_bdev_mutex);
	TAILQ_FOREACH (a, &bdev->internal->aliases, link) {
		if (strcmp(a->name, alias) == 0) {
			TAILQ_REMOVE(&bdev->internal->aliases, a, link);
			pthread_mutex_unlock(&g_bdev_mutex);
			free(a->name);
			free(a);
			return 0;
		}
	}
	pthread_mutex_unlock(&g_bdev_mutex);
	return -ENOENT;
}

/* ---- properties --------------------------------------------------------------------------- */

const char *
vt_bdev_get_name(const struct vt_bdev *bdev)
{
	return bdev->name;
}

const char *
vt_bdev_get_product_name(const struct vt_bdev *bdev)
{
	return bdev->product_name != NULL ? bdev->product_name : "";
}

uint32_t
vt_bdev_get_block_size(const struct vt_bdev *bdev)
{
	return bdev->blocklen;
}

uint32_t
vt_bdev_get_physical_block_size(const struct vt_bdev *bdev)
{
	return bdev->phys_blocklen != 0 ? bdev->phys_blocklen : bdev->blocklen;
}

uint64_t
vt_bdev_get_num_blocks(const struct vt_bdev *bdev)
{
	return __atomic_load_n(&bdev->blockcnt, __ATOMIC_RELAXED);
}

const struct vt_uuid *
vt_bdev_get_uuid(const struct vt_bdev *bdev)
{
	return &bdev->uuid;
}

bool
vt_bdev_io_type_supported(struct vt_bdev *bdev, enum vt_bdev_io_type type)
{
	if ((unsigned int)type >= VT_BDEV_NUM_IO_TYPES) {
		return false;
	}
	return bdev->internal->supported[type];
}

bool
vt_bdev_is_read_only(const struct vt_bdev *bdev)
{
	return bdev->read_only;
}

bool
vt_bdev_has_write_cache(const struct vt_bdev *bdev)
{
	return bdev->write_cache;
}

uint32_t
vt_bdev_get_buf_align(const struct vt_bdev *bdev)
{
	return bdev->internal->buf_align;
}

uint32_t
vt_bdev_get_optimal_io_boundary(const struct vt_bdev *bdev)
{
	return bdev->optimal_io_boundary;
}

uint64_t
vt_bdev_get_max_unmap_blocks(const struct vt_bdev *bdev)
{
	return bdev->max_unmap_blocks;
}

uint64_t
vt_bdev_get_max_write_zeroes_blocks(const struct vt_bdev *bdev)
{
	return bdev->max_write_zeroes_blocks;
}

uint32_t
vt_bdev_get_acwu(const struct vt_bdev *bdev)
{
	return bdev->internal->acwu;
}
