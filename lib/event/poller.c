/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pollers of a reactor: period-0 pollers run every iteration, timed pollers when due (a list
 * sorted by expiry), fd pollers when epoll reports their fd.
 *
 * A poller may be unregistered from any callback, its own included: during an iteration it is only
 * marked dead (and taken off the epoll set or the timed list, which are walked from their head
 * again after every callback) and freed by poller_reap() at the end of the iteration. Period-0
 * pollers registered during an iteration wait on the pending list until the next one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "vt/event.h"
#include "vt/log.h"
#include "lib/event/event_internal.h"

static inline int
poller_rc(int rc)
{
	return rc > 0 ? VT_POLLER_BUSY : VT_POLLER_IDLE;
}

int
poller_run_active(struct reactor *r)
{
	struct vt_poller *p;
	int busy = VT_POLLER_IDLE;

	/* Nothing leaves this list during an iteration, so plain iteration is safe. */
	TAILQ_FOREACH (p, &r->active, link) {
		if (vt_likely(p->state != POLLER_STATE_DEAD)) {
			busy |= poller_rc(p->fn(p->arg));
		}
	}
	return busy;
}

/* Inserts p after every timed poller due no later than p (FIFO among equal expiries). */
static void
timed_insert(struct reactor *r, struct vt_poller *p)
{
	struct vt_poller *it;

	TAILQ_FOREACH_REVERSE (it, &r->timed, poller_list, link) {
		if (it->next_run <= p->next_run) {
			TAILQ_INSERT_AFTER(&r->timed, it, p, link);
			return;
		}
	}
	TAILQ_INSERT_HEAD(&r->timed, p, link);
}

int
poller_run_timed(struct reactor *r, uint64_t now)
{
	struct vt_poller *p;
	int busy = VT_POLLER_IDLE;

	while ((p = TAILQ_FIRST(&r->timed)) != NULL && p->next_run <= now) {
		TAILQ_REMOVE(&r->timed, p, link);
		p->state = POLLER_STATE_RUNNING;
		busy |= poller_rc(p->fn(p->arg));
		if (p->state == POLLER_STATE_DEAD) {
			TAILQ_INSERT_TAIL(&r->dead, p, link);
			r->has_dead = true;
			continue;
		}
		p->state = POLLER_STATE_LISTED;
		/* Counted from this iteration, so a late poller does not run in bursts. */
		p->next_run = now + p->period_ticks;
		timed_insert(r, p);
	}
	return busy;
}

int
poller_dispatch_events(struct reactor *r, const struct epoll_event *ev, int n)
{
	struct vt_poller *p;
	int busy = VT_POLLER_IDLE;
	int i;

	for (i = 0; i < n; i++) {
		p = ev[i].data.ptr;
		if (p == NULL) {
			/* The message eventfd: messages wait in the ring. */
			reactor_clear_wakeup(r);
			busy = VT_POLLER_BUSY;
		} else if (p->state != POLLER_STATE_DEAD) {
			busy |= poller_rc(p->fd_fn(p->arg, ev[i].events));
		}
	}
	return busy;
}

static void
reap_list(struct reactor *r, struct poller_list *list)
{
	struct vt_poller *p, *tmp;

	for (p = TAILQ_FIRST(list); p != NULL; p = tmp) {
		tmp = TAILQ_NEXT(p, link);
		if (p->state == POLLER_STATE_DEAD) {
			TAILQ_REMOVE(list, p, link);
			free(p);
		}
	}
}

void
poller_reap(struct reactor *r)
{
	struct vt_poller *p;

	if (r->has_dead) {
		reap_list(r, &r->active);
		reap_list(r, &r->pending);
		reap_list(r, &r->fds);
		while ((p = TAILQ_FIRST(&r->dead)) != NULL) {
			TAILQ_REMOVE(&r->dead, p, link);
			free(p);
		}
		r->has_dead = false;
	}
	TAILQ_CONCAT(&r->active, &r->pending, link);
}

static void
free_list(struct poller_list *list)
{
	struct vt_poller *p;

	while ((p = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, p, link);
		free(p);
	}
}

void
poller_free_all(struct reactor *r)
{
	free_list(&r->active);
	free_list(&r->pending);
	free_list(&r->timed);
	free_list(&r->fds);
	free_list(&r->dead);
	r->num_fd_pollers = 0;
	r->has_dead = false;
}

uint64_t
poller_next_timeout(struct reactor *r, uint64_t now)
{
	struct vt_poller *p = TAILQ_FIRST(&r->timed);

	if (p == NULL) {
		return UINT64_MAX;
	}
	return p->next_run > now ? p->next_run - now : 0;
}

static struct vt_poller *
poller_alloc(struct reactor *r, enum poller_kind kind, void *arg, const char *name)
{
	struct vt_poller *p;

	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		VT_ERRLOG("cannot allocate poller '%s'\n", name != NULL ? name : "");
		return NULL;
	}
	p->kind = kind;
	p->state = POLLER_STATE_LISTED;
	p->reactor = r;
	p->arg = arg;
	p->fd = -1;
	snprintf(p->name, sizeof(p->name), "%s", name != NULL ? name : "");
	return p;
}

struct vt_poller *
vt_poller_register(vt_poller_fn fn, void *arg, uint64_t period_us, const char *name)
{
	struct reactor *r = reactor_get_current();
	struct vt_poller *p;

	if (r == NULL) {
		VT_ERRLOG("cannot register poller '%s': not on a reactor thread\n",
			  name != NULL ? name : "");
		return NULL;
	}
	p = poller_alloc(r, period_us > 0 ? POLLER_TIMED : POLLER_ACTIVE, arg, name);
	if (p == NULL) {
		return NULL;
	}
	p->fn = fn;
	if (period_us > 0) {
		p->period_ticks = reactor_us_to_ticks(period_us);
		p->next_run = vt_get_ticks() + p->period_ticks;
		timed_insert(r, p);
	} else {
		struct poller_list *list = r->in_iteration ? &r->pending : &r->active;

		TAILQ_INSERT_TAIL(list, p, link);
	}
	return p;
}

struct vt_poller *
vt_fd_poller_register(int fd, uint32_t events, vt_fd_poller_fn fn, void *arg, const char *name)
{
	struct reactor *r = reactor_get_current();
	struct epoll_event ev;
	struct vt_poller *p;

	if (r == NULL) {
		VT_ERRLOG("cannot register fd poller '%s': not on a reactor thread\n",
			  name != NULL ? name : "");
		return NULL;
	}
	p = poller_alloc(r, POLLER_FD, arg, name);
	if (p == NULL) {
		return NULL;
	}
	p->fd_fn = fn;
	p->fd = fd;
	p->events = events;
	ev.events = events;
	ev.data.ptr = p;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		VT_ERRLOG("cannot register fd poller '%s' on fd %d: %s\n", p->name, fd,
			  vt_strerror(errno));
		free(p);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&r->fds, p, link);
	r->num_fd_pollers++;
	return p;
}

int
vt_fd_poller_modify(struct vt_poller *poller, uint32_t events)
{
	struct epoll_event ev;

	if (poller == NULL || poller->kind != POLLER_FD || poller->state == POLLER_STATE_DEAD) {
		return -EINVAL;
	}
	ev.events = events;
	ev.data.ptr = poller;
	if (epoll_ctl(poller->reactor->epfd, EPOLL_CTL_MOD, poller->fd, &ev) != 0) {
		int rc = -errno;

		VT_ERRLOG("cannot modify fd poller '%s' on fd %d: %s\n", poller->name, poller->fd,
			  vt_strerror(-rc));
		return rc;
	}
	poller->events = events;
	return 0;
}

/* Takes p off its list (or marks it for the reaper during an iteration). */
static void
poller_detach(struct reactor *r, struct vt_poller *p)
{
	if (!r->in_iteration) {
		if (p->kind == POLLER_TIMED) {
			TAILQ_REMOVE(&r->timed, p, link);
		} else if (p->kind == POLLER_FD) {
			TAILQ_REMOVE(&r->fds, p, link);
		} else {
			TAILQ_REMOVE(&r->active, p, link);
		}
		free(p);
		return;
	}
	if (p->kind == POLLER_TIMED && p->state == POLLER_STATE_LISTED) {
		/* The timed loop re-reads the list head after every callback. */
		TAILQ_REMOVE(&r->timed, p, link);
		TAILQ_INSERT_TAIL(&r->dead, p, link);
	}
	p->state = POLLER_STATE_DEAD;
	r->has_dead = true;
}

void
vt_poller_unregister(struct vt_poller **poller)
{
	struct vt_poller *p = poller != NULL ? *poller : NULL;
	struct reactor *r;

	if (p == NULL) {
		return;
	}
	r = p->reactor;
	if (r != reactor_get_current()) {
		VT_ERRLOG("cannot unregister poller '%s': not on its reactor %u\n", p->name,
			  r->idx);
		return;
	}
	*poller = NULL;
	if (p->state == POLLER_STATE_DEAD) {
		return;
	}
	if (p->kind == POLLER_FD) {
		if (epoll_ctl(r->epfd, EPOLL_CTL_DEL, p->fd, NULL) != 0) {
			/* The caller may have closed the fd already, which removed it too. */
			VT_DEBUGLOG(event, "fd poller '%s': epoll_ctl DEL fd %d: %s\n", p->name,
				    p->fd, vt_strerror(errno));
		}
		r->num_fd_pollers--;
	}
	poller_detach(r, p);
}
