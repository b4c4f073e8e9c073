/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Modules, bdev_set_options and the "bdev" subsystem: init runs every module's module_init;
 * fini unregisters every bdev, newest first but a claimed one after its claimer, each after the
 * previous one is gone, then runs module_fini in reverse order; the config dump is
 * bdev_set_options, one entry per bdev from its module, and bdev_wait_for_examine, as SPDK
 * writes it, then the QoS limits (a bdev the examine creates exists only after it).
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/event.h"
#include "vt/json.h"
#include "vt/log.h"
#include "vt/util.h"

#include "lib/bdev/bdev_internal.h"

struct bdev_opts g_bdev_opts = {
	.bdev_io_pool_size = BDEV_DEFAULT_IO_POOL_SIZE,
	.bdev_io_cache_size = BDEV_DEFAULT_IO_CACHE_SIZE,
	.bdev_auto_examine = true,
	.small_buf_pool_size = BDEV_DEFAULT_SMALL_BUF_POOL_SIZE,
	.large_buf_pool_size = BDEV_DEFAULT_LARGE_BUF_POOL_SIZE,
};

static TAILQ_HEAD(bdev_module_list, vt_bdev_module) g_modules = TAILQ_HEAD_INITIALIZER(g_modules);
/* Modules whose module_init succeeded, counted in list order. */
static uint32_t g_modules_inited;
static bool g_fini_running;

/* ---- modules ------------------------------------------------------------------------------ */

void
vt_bdev_module_register(struct vt_bdev_module *module)
{
	if (module->io_ctx_size > VT_BDEV_IO_DRIVER_CTX) {
		/* Its bdevs are refused by vt_bdev_register; say why once, here. */
		VT_ERRLOG("bdev module '%s' needs %zu bytes of I/O context, more than %d\n",
			  module->name, module->io_ctx_size, VT_BDEV_IO_DRIVER_CTX);
	}
	TAILQ_INSERT_TAIL(&g_modules, module, link);
}

static uint32_t g_examines_pending;

void
vt_bdev_examine_hold(void)
{
	g_examines_pending++;
}

void
vt_bdev_examine_release(void)
{
	assert(g_examines_pending > 0);
	g_examines_pending--;
}

uint32_t
bdev_examines_pending(void)
{
	return g_examines_pending;
}

void
bdev_modules_examine(struct vt_bdev *bdev)
{
	struct vt_bdev_module *m;

	if (!g_bdev_opts.bdev_auto_examine) {
		return;
	}
	TAILQ_FOREACH (m, &g_modules, link) {
		if (m->examine != NULL && m != bdev->module) {
			m->examine(bdev);
		}
	}
}

struct vt_bdev_module *
vt_bdev_module_find(const char *name)
{
	struct vt_bdev_module *m;

	TAILQ_FOREACH (m, &g_modules, link) {
		if (strcmp(m->name, name) == 0) {
			return m;
		}
	}
	return NULL;
}

/* ---- options ------------------------------------------------------------------------------ */

int
bdev_set_opts(const struct bdev_opts *opts, char *err, size_t errlen)
{
	uint64_t min_pool;

	if (opts->bdev_io_cache_size == 0 || opts->bdev_io_cache_size > BDEV_MAX_IO_CACHE_SIZE) {
		snprintf(err, errlen,
			 "invalid parameter 'bdev_io_cache_size': %" PRIu32 " is not within 1..%d",
			 opts->bdev_io_cache_size, BDEV_MAX_IO_CACHE_SIZE);
		return -EINVAL;
	}
	/* SPDK's rule: the pool must cover every thread's cache and one more. */
	min_pool = (uint64_t)opts->bdev_io_cache_size * (vt_reactor_count() + 1);
	if (opts->bdev_io_pool_size < min_pool) {
		snprintf(err, errlen, "Pool size %" PRIu32 " too small for cache size %" PRIu32,
			 opts->bdev_io_pool_size, opts->bdev_io_cache_size);
		return -EINVAL;
	}
	pthread_mutex_lock(&g_bdev_mutex);
	g_bdev_opts.bdev_auto_examine = opts->bdev_auto_examine;
	g_bdev_opts.small_buf_pool_size = opts->small_buf_pool_size;
	g_bdev_opts.large_buf_pool_size = opts->large_buf_pool_size;
	g_bdev_opts.bdev_io_pool_size = opts->bdev_io_pool_size;
	/* Read by channel creation on every reactor. */
	__atomic_store_n(&g_bdev_opts.bdev_io_cache_size, opts->bdev_io_cache_size,
			 __ATOMIC_RELAXED);
	pthread_mutex_unlock(&g_bdev_mutex);
	return 0;
}

/* ---- the bdev subsystem ------------------------------------------------------------------- */

static void
bdev_subsystem_init(void)
{
	struct vt_bdev_module *m;
	int rc;

	g_modules_inited = 0;
	TAILQ_FOREACH (m, &g_modules, link) {
		if (m->module_init != NULL) {
			rc = m->module_init();
			if (rc != 0) {
				VT_ERRLOG("cannot initialise bdev module '%s': %s\n", m->name,
					  vt_strerror(-rc));
				vt_subsystem_init_done(rc);
				return;
			}
		}
		g_modules_inited++;
	}
	vt_subsystem_init_done(0);
}

static void
bdev_fini_unregistered(void *cb_arg, int rc)
{
	/* bdev_destructed continues the shutdown. */
}

static void
bdev_fini_modules(void)
{
	struct vt_bdev_module *m = TAILQ_FIRST(&g_modules), *last = NULL;

	/* In reverse order of their initialisation, skipping those that never started. */
	for (uint32_t i = 0; i < g_modules_inited && m != NULL; i++) {
		last = m;
		m = TAILQ_NEXT(m, link);
	}
	for (m = last; m != NULL; m = TAILQ_PREV(m, bdev_module_list, link)) {
		if (m->module_fini != NULL) {
			m->module_fini();
		}
	}
	g_modules_inited = 0;
}

/* Unregisters the newest live bdev; the last one gone finishes the subsystem. */
static void
bdev_fini_next(void)
{
	struct bdev_internal *bi;
	bool empty;

	bi = bdev_registry_newest_live(&empty);
	if (bi != NULL) {
		vt_bdev_unregister(bi->bdev, bdev_fini_unregistered, NULL);
		return;
	}
	if (!empty) {
		/* Removals already under way call bdev_fini_continue when they end. */
		return;
	}
	g_fini_running = false;
	bdev_fini_modules();
	vt_subsystem_fini_done();
}

void
bdev_fini_continue(void)
{
	if (g_fini_running) {
		bdev_fini_next();
	}
}

static void
bdev_subsystem_fini(void)
{
	g_fini_running = true;
	bdev_fini_next();
}

/* Reactor 0 is the only one that changes the registry: no lock needed to walk it. */
static void
bdev_write_bdevs_config(struct vt_json_write_ctx *w, const struct vt_bdev_module *module)
{
	struct bdev_internal *bi;

	for (bi = bdev_registry_first(); bi != NULL; bi = bdev_registry_next(bi)) {
		if (atomic_load(&bi->removing) || bi->bdev->fn_table->write_config_json == NULL ||
		    (module != NULL && bi->bdev->module != module)) {
			continue;
		}
		bi->bdev->fn_table->write_config_json(bi->bdev, w);
	}
}

/*
 * Creation order, so a virtual bdev (error, delay, split) comes after its base. With batches, a run
 * of consecutive bdevs of a module that batches (SPDK batches malloc and null bdevs) forms one.
 */
static void
bdev_write_all_bdevs_config(struct vt_json_write_ctx *w)
{
	const struct vt_bdev_module *open_batch = NULL;
	struct bdev_internal *bi;
	struct vt_bdev *bdev;

	if (!vt_json_write_get_batches(w)) {
		bdev_write_bdevs_config(w, NULL);
		return;
	}
	for (bi = bdev_registry_first(); bi != NULL; bi = bdev_registry_next(bi)) {
		bdev = bi->bdev;
		if (atomic_load(&bi->removing) || bdev->fn_table->write_config_json == NULL) {
			continue;
		}
		if (open_batch != NULL && open_batch != bdev->module) {
			vt_json_write_batch_end(w);
			open_batch = NULL;
		}
		if (open_batch == NULL && bdev->module->config_batch) {
			vt_json_write_batch_begin(w);
			open_batch = bdev->module;
		}
		bdev->fn_table->write_config_json(bdev, w);
	}
	if (open_batch != NULL) {
		vt_json_write_batch_end(w);
	}
}

/* The modules' own entries (module options such as bdev_iscsi_set_options, rbd clusters),
 * which the bdevs' entries may depend on: before any bdev. */
static void
bdev_write_modules_config(struct vt_json_write_ctx *w)
{
	struct vt_bdev_module *m;

	TAILQ_FOREACH (m, &g_modules, link) {
		if (m->config_json != NULL) {
			m->config_json(w);
		}
	}
}

static void
bdev_subsystem_write_config(struct vt_json_write_ctx *w)
{
	vt_json_write_array_begin(w);

	vt_json_write_object_begin(w);
	vt_json_write_named_string(w, "method", "bdev_set_options");
	vt_json_write_named_object_begin(w, "params");
	pthread_mutex_lock(&g_bdev_mutex);
	vt_json_write_named_uint64(w, "bdev_io_pool_size", g_bdev_opts.bdev_io_pool_size);
	vt_json_write_named_uint64(w, "bdev_io_cache_size", g_bdev_opts.bdev_io_cache_size);
	vt_json_write_named_bool(w, "bdev_auto_examine", g_bdev_opts.bdev_auto_examine);
	vt_json_write_named_uint64(w, "small_buf_pool_size", g_bdev_opts.small_buf_pool_size);
	vt_json_write_named_uint64(w, "large_buf_pool_size", g_bdev_opts.large_buf_pool_size);
	pthread_mutex_unlock(&g_bdev_mutex);
	vt_json_write_object_end(w);
	vt_json_write_object_end(w);

	bdev_write_modules_config(w);
	bdev_write_all_bdevs_config(w);

	vt_json_write_object_begin(w);
	vt_json_write_named_string(w, "method", "bdev_wait_for_examine");
	vt_json_write_object_end(w);

	/* After the examine: a bdev that the examine creates (a raid reassembled from its
	 * superblocks) exists only then. */
	bdev_qos_write_config_json(w);

	vt_json_write_array_end(w);
}

static struct vt_subsystem g_bdev_subsystem = {
	.name = "bdev",
	.init = bdev_subsystem_init,
	.fini = bdev_subsystem_fini,
	.write_config_json = bdev_subsystem_write_config,
};

VT_SUBSYSTEM_REGISTER(g_bdev_subsystem)
