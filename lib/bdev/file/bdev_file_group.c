/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The life of an engine's per-reactor group, the same for io_uring and libaio: created by the
 * first file bdev channel on a reactor, shared by the others, freed with the last one, or by the
 * deferred submit call when that is still queued (a vt_defer cannot be cancelled).
 */

#include <stdlib.h>

#include "vt/log.h"
#include "lib/bdev/file/bdev_file.h"

static void
file_group_free(struct file_group *g)
{
	vt_poller_unregister(&g->poller);
	vt_poller_unregister(&g->reap_poller);
	g->ops->release(g);
	free(g);
}

struct file_group *
file_group_get(const struct file_group_ops *ops)
{
	uint32_t idx = vt_reactor_current();
	struct file_group *g;

	if (idx >= VT_MAX_REACTORS) {
		return NULL;
	}
	g = ops->groups[idx];
	if (g != NULL) {
		g->refs++;
		return g;
	}
	g = calloc(1, ops->size);
	if (g == NULL) {
		return NULL;
	}
	g->ops = ops;
	g->efd = -1;
	g->reactor = idx;
	if (ops->setup(g) != 0) {
		free(g);
		return NULL;
	}
	g->refs = 1;
	ops->groups[idx] = g;
	return g;
}

void
file_group_put(struct file_group *g)
{
	if (--g->refs > 0) {
		return;
	}
	if (g->inflight != 0) {
		VT_ERRLOG("%s of reactor %u released with %u operations in flight\n", g->ops->what,
			  g->reactor, g->inflight);
	}
	g->ops->groups[g->reactor] = NULL;
	if (g->submit_defer.queued) {
		/* The queued call frees it. */
		g->dying = true;
		return;
	}
	file_group_free(g);
}

static void
file_group_submit_deferred(void *arg)
{
	struct file_group *g = arg;

	if (g->dying) {
		file_group_free(g);
		return;
	}
	g->ops->flush(g);
}

void
file_group_defer_flush(struct file_group *g)
{
	vt_defer(&g->submit_defer, file_group_submit_deferred, g);
}
