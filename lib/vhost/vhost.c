/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Controllers: the registry (name -> socket), reactor choice, creation and deletion, and the
 * JSON that vhost_get_controllers shows. Everything here runs on reactor 0, except the socket
 * removal, which runs on a short-lived thread of its own: rte_vhost_driver_unregister() spins
 * while a message handler of the socket runs, and a handler may be waiting for reactor 0.
 * Also vhost_post_msg, the message sending of lib/vhost's control path.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "vt/event.h"
#include "vt/init.h"
#include "vt/json.h"
#include "vt/log.h"
#include "vt/util.h"

#include "lib/vhost/vhost_internal.h"

pthread_mutex_t g_vhost_mutex = PTHREAD_MUTEX_INITIALIZER;

static TAILQ_HEAD(, vhost_ctrlr) g_ctrlrs = TAILQ_HEAD_INITIALIZER(g_ctrlrs);
/* Controllers per reactor (reactor 0 only), for the least-loaded choice. */
static uint32_t g_reactor_load[VT_MAX_REACTORS];

/* ---- messages ------------------------------------------------------------------------------ */

/* Per sending reactor (touched by that reactor only): messages waiting for room, oldest first. */
static struct msg_backlog {
	struct vhost_post *head;
	struct vhost_post **tail; /* valid while head is not NULL */
	struct vt_defer retry;
} g_backlog[VT_MAX_REACTORS];

static void
post_failed(uint32_t reactor, int rc)
{
	VT_ERRLOG("cannot send a message to reactor %" PRIu32 ": %s\n", reactor, vt_strerror(-rc));
}

static void
backlog_flush(void *arg)
{
	struct msg_backlog *b = arg;
	struct vhost_post *m, *next;
	int rc;

	while ((m = b->head) != NULL) {
		/* Once sent, m belongs to its receiver (which may post it again at once). */
		next = m->next;
		rc = vt_send_msg(m->reactor, m->fn, m->arg);
		if (rc == -ENOMEM) {
			vt_defer(&b->retry, backlog_flush, b);
			return;
		}
		if (rc != 0) {
			post_failed(m->reactor, rc);
		}
		b->head = next;
	}
}

static void
backlog_add(struct msg_backlog *b, uint32_t self, struct vhost_post *m)
{
	if (b->head == NULL) {
		VT_WARNLOG("message ring of reactor %" PRIu32 " is full: reactor %" PRIu32
			   " sends again on its next iterations\n",
			   m->reactor, self);
		b->head = m;
	} else {
		*b->tail = m;
	}
	b->tail = &m->next;
	vt_defer(&b->retry, backlog_flush, b);
}

void
vhost_post_msg(struct vhost_post *m, uint32_t reactor, vt_msg_fn fn, void *arg)
{
	uint32_t self = vt_reactor_current();
	int rc;

	if (self >= VT_MAX_REACTORS) {
		/* A plain thread may wait; a reactor must not (the receiver may be itself). */
		while ((rc = vt_send_msg(reactor, fn, arg)) == -ENOMEM) {
			usleep(100);
		}
	} else {
		rc = g_backlog[self].head == NULL ? vt_send_msg(reactor, fn, arg) : -ENOMEM;
		if (rc == -ENOMEM) {
			*m = (struct vhost_post){ .reactor = reactor, .fn = fn, .arg = arg };
			backlog_add(&g_backlog[self], self, m);
			return;
		}
	}
	if (rc != 0) {
		post_failed(reactor, rc);
	}
}

/* ---- registry ------------------------------------------------------------------------------- */

struct vhost_ctrlr *
vhost_ctrlr_first(void)
{
	return TAILQ_FIRST(&g_ctrlrs);
}

struct vhost_ctrlr *
vhost_ctrlr_next(struct vhost_ctrlr *c)
{
	return TAILQ_NEXT(c, link);
}

struct vhost_ctrlr *
vhost_ctrlr_find(const char *name)
{
	struct vhost_ctrlr *c;

	TAILQ_FOREACH (c, &g_ctrlrs, link) {
		if (strcmp(c->name, name) == 0) {
			return c;
		}
	}
	return NULL;
}

static int
pick_reactor(const struct vt_cpuset *mask)
{
	uint32_t best_load = UINT32_MAX;
	int best = -1;

	for (int cpu = vt_cpuset_next(mask, 0); cpu >= 0; cpu = vt_cpuset_next(mask, cpu + 1)) {
		int r = vt_reactor_for_core((uint32_t)cpu);

		if (r >= 0 && g_reactor_load[r] < best_load) {
			best_load = g_reactor_load[r];
			best = r;
		}
	}
	return best;
}

static int
parse_cpumask(const char *str, struct vt_cpuset *mask, char *err, size_t errlen)
{
	const struct vt_cpuset *app = vt_reactors_cpuset();
	char a[VT_CPUSET_FMT_LEN], m[VT_CPUSET_FMT_LEN];

	if (str == NULL) {
		*mask = *app;
		return 0;
	}
	if (vt_cpuset_parse(mask, str) != 0) {
		snprintf(err, errlen,
			 "invalid parameter 'cpumask': '%s' is not a cpumask (0x3 or "
			 "[0,2-3])",
			 str);
		return -EINVAL;
	}
	if (!vt_cpuset_subset(mask, app)) {
		snprintf(err, errlen,
			 "invalid parameter 'cpumask': %s is not a subset of the "
			 "application's cpumask %s",
			 vt_cpuset_fmt(mask, m, sizeof(m)), vt_cpuset_fmt(app, a, sizeof(a)));
		return -EINVAL;
	}
	return 0;
}

int
vhost_ctrlr_alloc(const char *name, const char *cpumask, const struct vhost_backend_ops *ops,
		  struct vhost_ctrlr **out, char *err, size_t errlen)
{
	const char *dir = vt_app_vhost_sock_dir();
	struct vt_cpuset mask;
	struct vhost_ctrlr *c;
	size_t len;
	int reactor, rc;

	if (!vt_name_is_valid(name, VHOST_CTRLR_NAME_MAX)) {
		snprintf(err, errlen,
			 "invalid controller name '%s': use 1 to %d letters, digits, "
			 "'.', '_' or '-'",
			 name, VHOST_CTRLR_NAME_MAX);
		return -EINVAL;
	}
	len = strlen(dir) + 1 + strlen(name);
	if (len >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
		snprintf(err, errlen,
			 "socket path '%s/%s' is %zu bytes long; a Unix socket "
			 "address holds at most %zu: use a shorter name or socket folder (-S)",
			 dir, name, len, sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1);
		return -ENAMETOOLONG;
	}
	if (vhost_ctrlr_find(name) != NULL) {
		snprintf(err, errlen, "controller '%s' already exists", name);
		return -EEXIST;
	}
	rc = parse_cpumask(cpumask, &mask, err, errlen);
	if (rc != 0) {
		return rc;
	}
	reactor = pick_reactor(&mask);
	if (reactor < 0) {
		snprintf(err, errlen, "no reactor runs on cpumask '%s'", cpumask);
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->path, sizeof(c->path), "%s/%s", dir, name);
	c->cpumask = mask;
	c->reactor = (uint32_t)reactor;
	c->ops = ops;
	c->state = VHOST_CTRLR_CREATING;
	TAILQ_INIT(&c->sessions);
	c->coal_iops_threshold = VHOST_COAL_IOPS_DEFAULT;
	pthread_mutex_lock(&g_vhost_mutex);
	TAILQ_INSERT_TAIL(&g_ctrlrs, c, link);
	pthread_mutex_unlock(&g_vhost_mutex);
	g_reactor_load[c->reactor]++;
	*out = c;
	return 0;
}

int
vhost_ctrlr_start(struct vhost_ctrlr *c, char *err, size_t errlen)
{
	int rc;

	/* Running before the socket listens: its first connection must not be refused. */
	pthread_mutex_lock(&g_vhost_mutex);
	c->state = VHOST_CTRLR_RUNNING;
	pthread_mutex_unlock(&g_vhost_mutex);
	rc = vhost_user_register(c, err, errlen);
	if (rc != 0) {
		pthread_mutex_lock(&g_vhost_mutex);
		c->state = VHOST_CTRLR_CREATING;
		pthread_mutex_unlock(&g_vhost_mutex);
		return rc;
	}
	VT_NOTICELOG("vhost controller '%s' (%s) listening on %s, reactor %" PRIu32 "\n", c->name,
		     c->ops->name, c->path, c->reactor);
	return 0;
}

static void
ctrlr_unlink(struct vhost_ctrlr *c)
{
	pthread_mutex_lock(&g_vhost_mutex);
	TAILQ_REMOVE(&g_ctrlrs, c, link);
	pthread_mutex_unlock(&g_vhost_mutex);
	g_reactor_load[c->reactor]--;
}

void
vhost_ctrlr_free(struct vhost_ctrlr *c)
{
	ctrlr_unlink(c);
	free(c);
}

/* ---- deletion ------------------------------------------------------------------------------ */

struct delete_ctx {
	struct vhost_ctrlr *c;
	void (*cb)(void *arg, int rc);
	void *arg;
	struct vhost_post post; /* carries ctx from one step to the next */
};

static void
delete_freed(void *arg)
{
	struct delete_ctx *ctx = arg;

	VT_NOTICELOG("vhost controller '%s' deleted\n", ctx->c->name);
	free(ctx->c);
	ctx->cb(ctx->arg, 0);
	free(ctx);
}

static void
delete_backend_done(void *arg)
{
	struct delete_ctx *ctx = arg;

	vhost_post_msg(&ctx->post, 0, delete_freed, ctx);
}

/* On the controller's reactor: the personality lets go of its resources. */
static void
delete_backend(void *arg)
{
	struct delete_ctx *ctx = arg;

	ctx->c->ops->remove(ctx->c, delete_backend_done, ctx);
}

/* Reactor 0, every session freed. */
static void
delete_drained(void *arg)
{
	struct delete_ctx *ctx = arg;
	struct vhost_ctrlr *c = ctx->c;

	ctrlr_unlink(c);
	vhost_post_msg(&ctx->post, c->reactor, delete_backend, ctx);
}

/* Reactor 0, the socket is gone: wait for the sessions being torn down. */
static void
delete_unregistered(void *arg)
{
	struct delete_ctx *ctx = arg;
	struct vhost_ctrlr *c = ctx->c;
	bool drained;

	pthread_mutex_lock(&g_vhost_mutex);
	drained = TAILQ_EMPTY(&c->sessions);
	if (!drained) {
		c->drained_fn = delete_drained;
		c->drained_arg = ctx;
	}
	pthread_mutex_unlock(&g_vhost_mutex);
	if (drained) {
		delete_drained(ctx);
	}
}

static void *
delete_thread(void *arg)
{
	struct delete_ctx *ctx = arg;

	if (ctx->c->socket_registered) {
		vhost_user_unregister(ctx->c);
	}
	vhost_post_msg(&ctx->post, 0, delete_unregistered, ctx);
	return NULL;
}

int
vhost_ctrlr_delete(struct vhost_ctrlr *c, bool force, void (*cb)(void *arg, int rc), void *arg)
{
	struct delete_ctx *ctx;
	pthread_attr_t attr;
	pthread_t tid;
	int rc;

	pthread_mutex_lock(&g_vhost_mutex);
	if (c->state != VHOST_CTRLR_RUNNING) {
		pthread_mutex_unlock(&g_vhost_mutex);
		return c->state == VHOST_CTRLR_REMOVING ? -EALREADY : -EAGAIN;
	}
	/*
	 * A session whose front end has hung up is not a guest: the unregistration below tears
	 * it down (rte_vhost may not have noticed the hang-up yet) before the controller goes.
	 */
	if (!force && c->nlive > 0 && vhost_ctrlr_connected(c) > 0) {
		pthread_mutex_unlock(&g_vhost_mutex);
		return -EBUSY;
	}
	/* From here on new connections are refused. */
	c->state = VHOST_CTRLR_REMOVING;
	pthread_mutex_unlock(&g_vhost_mutex);

	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		rc = -ENOMEM;
		goto undo;
	}
	ctx->c = c;
	ctx->cb = cb;
	ctx->arg = arg;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = -pthread_create(&tid, &attr, delete_thread, ctx);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		free(ctx);
		goto undo;
	}
	return 0;
undo:
	pthread_mutex_lock(&g_vhost_mutex);
	c->state = VHOST_CTRLR_RUNNING;
	pthread_mutex_unlock(&g_vhost_mutex);
	return rc;
}

struct delete_all_ctx {
	const struct vhost_backend_ops *ops;
	void (*cb)(void *arg);
	void *arg;
};

static void delete_all_next(struct delete_all_ctx *ctx);

static void
delete_all_one_done(void *arg, int rc)
{
	delete_all_next(arg);
}

static void
delete_all_next(struct delete_all_ctx *ctx)
{
	struct vhost_ctrlr *c;
	int rc;

	TAILQ_FOREACH (c, &g_ctrlrs, link) {
		if (c->ops != ctx->ops || c->state != VHOST_CTRLR_RUNNING) {
			continue;
		}
		rc = vhost_ctrlr_delete(c, true, delete_all_one_done, ctx);
		if (rc == 0) {
			return;
		}
		VT_ERRLOG("cannot delete vhost controller '%s': %s\n", c->name, vt_strerror(-rc));
	}
	ctx->cb(ctx->arg);
	free(ctx);
}

void
vhost_ctrlr_delete_all(const struct vhost_backend_ops *ops, void (*cb)(void *arg), void *arg)
{
	struct delete_all_ctx *ctx = calloc(1, sizeof(*ctx));

	if (ctx == NULL) {
		VT_ERRLOG("cannot delete the vhost controllers: out of memory\n");
		cb(arg);
		return;
	}
	ctx->ops = ops;
	ctx->cb = cb;
	ctx->arg = arg;
	delete_all_next(ctx);
}

void
vhost_ctrlr_write_config_all(const struct vhost_backend_ops *ops, struct vt_json_write_ctx *w)
{
	struct vhost_ctrlr *c;

	vt_json_write_array_begin(w);
	TAILQ_FOREACH (c, &g_ctrlrs, link) {
		if (c->ops == ops && c->state == VHOST_CTRLR_RUNNING) {
			ops->write_config_json(c, w);
			vhost_coal_write_config_json(c, w);
		}
	}
	vt_json_write_array_end(w);
}

/* ---- JSON ----------------------------------------------------------------------------------- */

static void
dump_session(struct vhost_session *s, struct vt_json_write_ctx *w)
{
	uint64_t f = s->snap.features;

	vt_json_write_object_begin(w);
	vt_json_write_named_uint64(w, "vid", (uint64_t)s->vid);
	vt_json_write_named_uint64(w, "id", s->id);
	vt_json_write_named_string(w, "name", s->name);
	vt_json_write_named_bool(w, "started", s->snap.queues_started > 0);
	vt_json_write_named_uint64(w, "max_queues", s->snap.max_queues);
	vt_json_write_named_uint64(w, "inflight_task_cnt", s->snap.inflight);
	/* vtarget's additions. */
	vt_json_write_named_uint64(w, "queues_started", s->snap.queues_started);
	vt_json_write_named_uint64(w, "requests_completed", s->snap.completed);
	vt_json_write_named_stringf(w, "negotiated_features", "0x%" PRIx64, f);
	vt_json_write_named_bool(w, "packed_ring", (f >> VIRTIO_F_RING_PACKED) & 1);
	vt_json_write_named_bool(w, "event_idx", (f >> VIRTIO_RING_F_EVENT_IDX) & 1);
	vt_json_write_named_bool(w, "dirty_log", s->snap.dirty_log);
	vt_json_write_object_end(w);
}

void
vhost_ctrlr_dump_json(struct vhost_ctrlr *c, struct vt_json_write_ctx *w)
{
	char mask[VT_CPUSET_FMT_LEN];
	struct vhost_session *s;
	uint32_t delay, iops;

	vhost_coal_get(c, &delay, &iops);
	vt_json_write_object_begin(w);
	vt_json_write_named_string(w, "ctrlr", c->name);
	vt_json_write_named_string(w, "cpumask", vt_cpuset_fmt(&c->cpumask, mask, sizeof(mask)));
	vt_json_write_named_uint64(w, "delay_base_us", delay);
	vt_json_write_named_uint64(w, "iops_threshold", iops);
	vt_json_write_named_string(w, "socket", c->path);
	vt_json_write_named_uint64(w, "reactor", c->reactor);
	vt_json_write_named_array_begin(w, "sessions");
	pthread_mutex_lock(&g_vhost_mutex);
	TAILQ_FOREACH (s, &c->sessions, link) {
		dump_session(s, w);
	}
	pthread_mutex_unlock(&g_vhost_mutex);
	vt_json_write_array_end(w);
	vt_json_write_named_object_begin(w, "backend_specific");
	c->ops->dump_info_json(c, w);
	vt_json_write_object_end(w);
	vt_json_write_object_end(w);
}
