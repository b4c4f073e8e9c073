/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Channels: one bdev's state on one reactor. A pool of I/O objects preallocated at creation
 * (mapped, so only the objects ever used become resident), the module's channel, statistics and
 * the queues of I/O that wait: for resources (NOMEM), for a locked range, for a running reset.
 *
 * One deferred call per channel and reactor iteration does the channel's work: it runs the user
 * callbacks of completed I/O, retries NOMEM I/O first when something completed (the module may
 * have resources again), retries I/O that waited for a range, ends an emulated reset once the
 * channel's running I/O has completed, starts the I/O held back during a reset and runs io_wait
 * entries while objects are free. A timed poller retries queued I/O when nothing completes.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/event.h"
#include "vt/log.h"
#include "vt/util.h"

#include "lib/bdev/bdev_internal.h"

/* ---- statistics --------------------------------------------------------------------------- */

void
bdev_stat_init(struct vt_bdev_io_stat *stat)
{
	memset(stat, 0, sizeof(*stat));
	stat->min_read_latency_ticks = UINT64_MAX;
	stat->min_write_latency_ticks = UINT64_MAX;
	stat->min_unmap_latency_ticks = UINT64_MAX;
}

void
bdev_stat_add(struct vt_bdev_io_stat *dst, const struct vt_bdev_io_stat *src)
{
	dst->bytes_read += src->bytes_read;
	dst->num_read_ops += src->num_read_ops;
	dst->bytes_written += src->bytes_written;
	dst->num_write_ops += src->num_write_ops;
	dst->bytes_unmapped += src->bytes_unmapped;
	dst->num_unmap_ops += src->num_unmap_ops;
	dst->read_latency_ticks += src->read_latency_ticks;
	dst->max_read_latency_ticks =
		VT_MAX(dst->max_read_latency_ticks, src->max_read_latency_ticks);
	dst->min_read_latency_ticks =
		VT_MIN(dst->min_read_latency_ticks, src->min_read_latency_ticks);
	dst->write_latency_ticks += src->write_latency_ticks;
	dst->max_write_latency_ticks =
		VT_MAX(dst->max_write_latency_ticks, src->max_write_latency_ticks);
	dst->min_write_latency_ticks =
		VT_MIN(dst->min_write_latency_ticks, src->min_write_latency_ticks);
	dst->unmap_latency_ticks += src->unmap_latency_ticks;
	dst->max_unmap_latency_ticks =
		VT_MAX(dst->max_unmap_latency_ticks, src->max_unmap_latency_ticks);
	dst->min_unmap_latency_ticks =
		VT_MIN(dst->min_unmap_latency_ticks, src->min_unmap_latency_ticks);
	dst->num_errors += src->num_errors;
}

static inline void
stat_latency(uint64_t *sum, uint64_t *max, uint64_t *min, uint64_t lat)
{
	*sum += lat;
	if (lat > *max) {
		*max = lat;
	}
	if (lat < *min) {
		*min = lat;
	}
}

/* COMPARE counts as a read, WRITE_ZEROES and COMPARE_AND_WRITE as writes. */
static inline void
ch_account(struct vt_bdev_channel *ch, const struct bdev_io_internal *bio, uint64_t now)
{
	struct vt_bdev_io_stat *s = &ch->stat;
	uint64_t bytes = bio->io.num_blocks * ch->bdev->blocklen;
	uint64_t lat = now - bio->submit_ticks;

	if (vt_unlikely(ch->hist != NULL)) {
		bdev_hist_tally(ch, bio->utype, lat);
	}
	if (vt_unlikely(bio->status != VT_BDEV_IO_STATUS_SUCCESS)) {
		s->num_errors++;
		return;
	}
	switch (bio->utype) {
	case VT_BDEV_IO_TYPE_READ:
	case VT_BDEV_IO_TYPE_COMPARE:
		s->bytes_read += bytes;
		s->num_read_ops++;
		stat_latency(&s->read_latency_ticks, &s->max_read_latency_ticks,
			     &s->min_read_latency_ticks, lat);
		break;
	case VT_BDEV_IO_TYPE_WRITE:
	case VT_BDEV_IO_TYPE_WRITE_ZEROES:
	case VT_BDEV_IO_TYPE_COMPARE_AND_WRITE:
	case VT_BDEV_IO_TYPE_OR_WRITE:
	case VT_BDEV_IO_TYPE_WRITE_ATOMIC:
		s->bytes_written += bytes;
		s->num_write_ops++;
		stat_latency(&s->write_latency_ticks, &s->max_write_latency_ticks,
			     &s->min_write_latency_ticks, lat);
		break;
	case VT_BDEV_IO_TYPE_UNMAP:
		s->bytes_unmapped += bytes;
		s->num_unmap_ops++;
		stat_latency(&s->unmap_latency_ticks, &s->max_unmap_latency_ticks,
			     &s->min_unmap_latency_ticks, lat);
		break;
	default:
		break;
	}
}

/* ---- channels ----------------------------------------------------------------------------- */

static size_t
ch_pool_bytes(uint32_t pool_size)
{
	return VT_ALIGN_UP((size_t)pool_size * sizeof(struct bdev_io_internal), 4096);
}

static int
ch_retry_poll(void *arg)
{
	struct vt_bdev_channel *ch = arg;
	int busy = VT_POLLER_IDLE;

	if (!TAILQ_EMPTY(&ch->nomem_q)) {
		bdev_channel_retry_nomem(ch);
		busy = VT_POLLER_BUSY;
	}
	if (!TAILQ_EMPTY(&ch->lock_wait_q)) {
		bdev_channel_retry_lock_waiters(ch);
		busy = VT_POLLER_BUSY;
	}
	if (TAILQ_EMPTY(&ch->nomem_q) && TAILQ_EMPTY(&ch->lock_wait_q)) {
		vt_poller_unregister(&ch->retry_poller);
	}
	return busy;
}

/* The timed backstop for queued I/O when no completion comes to retry it. */
void
bdev_channel_arm_retry(struct vt_bdev_channel *ch)
{
	if (ch->retry_poller != NULL) {
		return;
	}
	ch->retry_poller =
		vt_poller_register(ch_retry_poll, ch, BDEV_RETRY_PERIOD_US, "bdev_retry");
	if (ch->retry_poller == NULL) {
		VT_ERRLOG("cannot register the retry poller of bdev '%s': queued I/O waits for "
			  "completions\n",
			  ch->bdev->name);
	}
}

static struct vt_bdev_channel *
ch_create(struct bdev_internal *bi, uint32_t reactor)
{
	struct vt_bdev *bdev = bi->bdev;
	struct vt_bdev_channel *ch;
	void *pool;

	ch = calloc(1, sizeof(*ch));
	if (ch == NULL) {
		goto err;
	}
	ch->pool_size = __atomic_load_n(&g_bdev_opts.bdev_io_cache_size, __ATOMIC_RELAXED);
	/* Mapped rather than calloc'd: pages of objects never used stay out of the RSS. */
	pool = mmap(NULL, ch_pool_bytes(ch->pool_size), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pool == MAP_FAILED) {
		goto err_ch;
	}
	ch->pool = pool;
	if (bdev->fn_table->create_channel != NULL) {
		ch->module_ch = bdev->fn_table->create_channel(bdev->ctxt);
		if (ch->module_ch == NULL) {
			goto err_pool;
		}
	}
	ch->bdev = bdev;
	ch->bi = bi;
	ch->reactor = reactor;
	ch->refcnt = 1;
	TAILQ_INIT(&ch->done_q);
	TAILQ_INIT(&ch->nomem_q);
	TAILQ_INIT(&ch->lock_wait_q);
	TAILQ_INIT(&ch->frozen_q);
	TAILQ_INIT(&ch->lock_drains);
	TAILQ_INIT(&ch->io_wait_q);
	TAILQ_INIT(&ch->qos_q);
	bdev_stat_init(&ch->stat);
	bdev_hist_channel_init(ch);
	bi->channels[reactor] = ch;
	bdev_ref(bi);
	return ch;

err_pool:
	munmap(ch->pool, ch_pool_bytes(ch->pool_size));
err_ch:
	free(ch);
err:
	VT_ERRLOG("cannot create an I/O channel of bdev '%s': out of memory\n", bdev->name);
	return NULL;
}

static void
ch_destroy(struct vt_bdev_channel *ch)
{
	struct bdev_internal *bi = ch->bi;
	struct vt_bdev *bdev = ch->bdev;

	assert(ch->outstanding == 0 && TAILQ_EMPTY(&ch->lock_drains));
	bi->channels[ch->reactor] = NULL;
	if (bdev->fn_table->destroy_channel != NULL) {
		bdev->fn_table->destroy_channel(bdev->ctxt, ch->module_ch);
	}
	vt_poller_unregister(&ch->retry_poller);
	bdev_qos_channel_fini(ch);
	pthread_mutex_lock(&g_bdev_mutex);
	bdev_stat_add(&bi->retired, &ch->stat);
	pthread_mutex_unlock(&g_bdev_mutex);
	bdev_hist_channel_fini(ch);
	munmap(ch->pool, ch_pool_bytes(ch->pool_size));
	free(ch);
	bdev_unref(bi);
}

/* A channel nobody holds goes once no I/O and no deferred call needs it. */
static void
ch_maybe_destroy(struct vt_bdev_channel *ch)
{
	if (ch->refcnt != 0 || ch->outstanding != 0 || ch->in_deferred || ch->defer.queued) {
		return;
	}
	ch_destroy(ch);
}

struct vt_bdev_channel *
vt_bdev_get_io_channel(struct vt_bdev_desc *desc)
{
	uint32_t reactor = vt_reactor_current();
	struct bdev_internal *bi = desc->bi;
	struct vt_bdev_channel *ch;

	if (reactor >= VT_MAX_REACTORS) {
		VT_ERRLOG("cannot get an I/O channel of bdev '%s' outside a reactor\n",
			  desc->bdev->name);
		return NULL;
	}
	ch = bi->channels[reactor];
	if (ch != NULL) {
		ch->refcnt++;
		return ch;
	}
	return ch_create(bi, reactor);
}

void
vt_bdev_put_io_channel(struct vt_bdev_channel *ch)
{
	assert(ch->refcnt > 0 && vt_reactor_current() == ch->reactor);
	if (--ch->refcnt == 0) {
		ch_maybe_destroy(ch);
	}
}

void *
vt_bdev_channel_get_module_ch(struct vt_bdev_channel *ch)
{
	return ch->module_ch;
}

static inline void
ch_put_io(struct vt_bdev_channel *ch, struct bdev_io_internal *bio)
{
	bio->state = BIO_FREE;
	bio->next_free = ch->free_head;
	ch->free_head = bio;
	ch->outstanding--;
}

static inline bool
ch_has_free_io(const struct vt_bdev_channel *ch)
{
	return ch->free_head != NULL || ch->pool_used < ch->pool_size;
}

/* ---- the channel's deferred work ---------------------------------------------------------- */

void
bdev_channel_retry_nomem(struct vt_bdev_channel *ch)
{
	struct bdev_io_internal *bio;

	while ((bio = TAILQ_FIRST(&ch->nomem_q)) != NULL) {
		TAILQ_REMOVE(&ch->nomem_q, bio, link);
		bdev_io_to_module(bio);
		if (bio->state == BIO_NOMEM) {
			/* Still short: keep its place at the head and wait for more completions. */
			TAILQ_REMOVE(&ch->nomem_q, bio, link);
			TAILQ_INSERT_HEAD(&ch->nomem_q, bio, link);
			break;
		}
	}
}

void
bdev_channel_retry_lock_waiters(struct vt_bdev_channel *ch)
{
	struct bdev_io_list todo = TAILQ_HEAD_INITIALIZER(todo);
	struct bdev_io_internal *bio;

	TAILQ_CONCAT(&todo, &ch->lock_wait_q, link);
	while ((bio = TAILQ_FIRST(&todo)) != NULL) {
		TAILQ_REMOVE(&todo, bio, link);
		bdev_io_start(bio);
	}
}

void
bdev_channel_queue_lock_retry(struct vt_bdev_channel *ch)
{
	ch->lock_retry = true;
	bdev_channel_defer(ch);
}

static void
ch_complete_list(struct vt_bdev_channel *ch, struct bdev_io_list *list)
{
	struct bdev_io_internal *bio;
	uint64_t now = vt_get_ticks();

	while ((bio = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, bio, link);
		ch_account(ch, bio, now);
		bio->cb(&bio->io, bio->status == VT_BDEV_IO_STATUS_SUCCESS, bio->cb_arg);
		ch_put_io(ch, bio);
	}
}

static void
ch_unfreeze(struct vt_bdev_channel *ch)
{
	struct bdev_io_list todo = TAILQ_HEAD_INITIALIZER(todo);
	struct bdev_io_internal *bio;

	TAILQ_CONCAT(&todo, &ch->frozen_q, link);
	ch->frozen = 0;
	/* In submission order; a reset among them freezes the rest again. */
	while ((bio = TAILQ_FIRST(&todo)) != NULL) {
		TAILQ_REMOVE(&todo, bio, link);
		bdev_io_start(bio);
	}
}

static void
ch_run_io_waits(struct vt_bdev_channel *ch)
{
	TAILQ_HEAD(, vt_bdev_io_wait_entry) todo = TAILQ_HEAD_INITIALIZER(todo);
	struct vt_bdev_io_wait_entry *e;

	/* Only the entries queued so far: one that queues itself again waits for the next round. */
	TAILQ_CONCAT(&todo, &ch->io_wait_q, link);
	while ((e = TAILQ_FIRST(&todo)) != NULL && ch_has_free_io(ch)) {
		TAILQ_REMOVE(&todo, e, link);
		e->cb_fn(e->cb_arg);
	}
	if (!TAILQ_EMPTY(&todo)) {
		TAILQ_CONCAT(&todo, &ch->io_wait_q, link);
		TAILQ_CONCAT(&ch->io_wait_q, &todo, link);
	}
}

void
bdev_channel_deferred(void *arg)
{
	struct vt_bdev_channel *ch = arg;
	struct bdev_io_list done = TAILQ_HEAD_INITIALIZER(done);
	struct bdev_io_internal *reset;

	ch->in_deferred = true;
	TAILQ_CONCAT(&done, &ch->done_q, link);
	/* I/O completed, so the module may have resources again: older queued I/O goes first. */
	if (vt_unlikely(!TAILQ_EMPTY(&ch->nomem_q)) && !TAILQ_EMPTY(&done)) {
		bdev_channel_retry_nomem(ch);
	}
	ch_complete_list(ch, &done);
	if (vt_unlikely(ch->lock_retry)) {
		ch->lock_retry = false;
		bdev_channel_retry_lock_waiters(ch);
	}
	if (vt_unlikely(ch->reset_wait != NULL) && ch->active == ch->frozen) {
		reset = ch->reset_wait;
		ch->reset_wait = NULL;
		reset->status = VT_BDEV_IO_STATUS_SUCCESS;
		bdev_io_done(reset);
	}
	if (vt_unlikely(!TAILQ_EMPTY(&ch->frozen_q)) && ch->resets == 0) {
		ch_unfreeze(ch);
	}
	if (vt_unlikely(!TAILQ_EMPTY(&ch->io_wait_q)) && ch_has_free_io(ch)) {
		ch_run_io_waits(ch);
	}
	ch->in_deferred = false;
	ch_maybe_destroy(ch);
}

int
vt_bdev_queue_io_wait(struct vt_bdev *bdev, struct vt_bdev_channel *ch,
		      struct vt_bdev_io_wait_entry *entry)
{
	if (ch == NULL || entry == NULL || ch->bdev != bdev || entry->cb_fn == NULL) {
		return -EINVAL;
	}
	entry->bdev = bdev;
	TAILQ_INSERT_TAIL(&ch->io_wait_q, entry, link);
	if (ch_has_free_io(ch)) {
		/* An object is free already: run the entry on the next iteration. */
		bdev_channel_defer(ch);
	}
	return 0;
}

/* ---- statistics across reactors ----------------------------------------------------------- */

struct stat_ctx {
	struct bdev_internal *bi;
	void (*cb)(struct vt_bdev *bdev, const struct vt_bdev_io_stat *stat, void *arg, int rc);
	void *arg;
	enum vt_bdev_reset_stat_mode mode;
	struct vt_bdev_io_stat_channels *channels; /* NULL: not wanted */
	struct vt_bdev_io_stat stat;
};

static void
stat_reset(struct vt_bdev_io_stat *s, enum vt_bdev_reset_stat_mode mode)
{
	switch (mode) {
	case VT_BDEV_RESET_STAT_ALL:
		bdev_stat_init(s);
		break;
	case VT_BDEV_RESET_STAT_MAXMIN:
		s->max_read_latency_ticks = 0;
		s->max_write_latency_ticks = 0;
		s->max_unmap_latency_ticks = 0;
		s->min_read_latency_ticks = UINT64_MAX;
		s->min_write_latency_ticks = UINT64_MAX;
		s->min_unmap_latency_ticks = UINT64_MAX;
		break;
	case VT_BDEV_RESET_STAT_ERROR:
		s->num_errors = 0;
		break;
	case VT_BDEV_RESET_STAT_NONE:
		break;
	}
}

static void
stat_fix_min(uint64_t *min)
{
	if (*min == UINT64_MAX) {
		*min = 0;
	}
}

/* Minimums that saw no I/O read as 0, as SPDK shows them. */
static void
stat_fix_mins(struct vt_bdev_io_stat *s)
{
	stat_fix_min(&s->min_read_latency_ticks);
	stat_fix_min(&s->min_write_latency_ticks);
	stat_fix_min(&s->min_unmap_latency_ticks);
}

/* On each reactor: only that reactor touches its channel's figures, so no lock. */
static void
stat_collect(void *arg)
{
	struct stat_ctx *ctx = arg;
	uint32_t reactor = vt_reactor_current();
	struct vt_bdev_channel *ch;
	uint32_t n;

	if (reactor >= VT_MAX_REACTORS) {
		return;
	}
	ch = ctx->bi->channels[reactor];
	if (ch == NULL) {
		return;
	}
	bdev_stat_add(&ctx->stat, &ch->stat);
	if (ctx->channels != NULL && ctx->channels->count < VT_MAX_REACTORS) {
		n = ctx->channels->count++;
		ctx->channels->ch[n].reactor = reactor;
		ctx->channels->ch[n].stat = ch->stat;
		stat_fix_mins(&ctx->channels->ch[n].stat);
	}
	stat_reset(&ch->stat, ctx->mode);
}

static void
stat_done(void *arg)
{
	struct stat_ctx *ctx = arg;

	stat_fix_mins(&ctx->stat);
	ctx->cb(ctx->bi->bdev, &ctx->stat, ctx->arg, 0);
	bdev_unref(ctx->bi);
	free(ctx);
}

void
vt_bdev_get_io_stat(struct vt_bdev *bdev,
		    void (*cb)(struct vt_bdev *bdev, const struct vt_bdev_io_stat *stat, void *arg,
			       int rc),
		    void *arg)
{
	vt_bdev_get_io_stat_ext(bdev, VT_BDEV_RESET_STAT_NONE, NULL, cb, arg);
}

void
vt_bdev_get_io_stat_ext(struct vt_bdev *bdev, enum vt_bdev_reset_stat_mode mode,
			struct vt_bdev_io_stat_channels *channels,
			void (*cb)(struct vt_bdev *bdev, const struct vt_bdev_io_stat *stat,
				   void *arg, int rc),
			void *arg)
{
	struct bdev_internal *bi = bdev->internal;
	struct stat_ctx *ctx;
	int rc;

	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		cb(bdev, NULL, arg, -ENOMEM);
		return;
	}
	ctx->bi = bi;
	ctx->cb = cb;
	ctx->arg = arg;
	ctx->mode = mode;
	ctx->channels = channels;
	if (channels != NULL) {
		channels->count = 0;
	}
	/* Destroyed channels left their counts in retired. */
	pthread_mutex_lock(&g_bdev_mutex);
	ctx->stat = bi->retired;
	stat_reset(&bi->retired, mode);
	pthread_mutex_unlock(&g_bdev_mutex);
	bdev_ref(bi);
	rc = vt_for_each_reactor(stat_collect, ctx, stat_done);
	if (rc != 0) {
		bdev_unref(bi);
		free(ctx);
		cb(bdev, NULL, arg, rc);
	}
}
