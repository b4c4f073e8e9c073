/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Subsystems: a registry filled by constructors, sorted by dependencies at vt_subsystem_init()
 * (a subsystem comes after the ones it depends on, registration order otherwise), initialised one
 * by one on reactor 0 and finalised in reverse, only the ones whose init succeeded.
 *
 * Every step runs from a message to reactor 0, so a subsystem may call vt_subsystem_init_done()
 * from inside its init (or later, from any reactor) without recursion.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vt/event.h"
#include "vt/log.h"

TAILQ_HEAD(subsystem_list, vt_subsystem);
TAILQ_HEAD(depend_list, vt_subsystem_depend);

static struct subsystem_list g_subsystems = TAILQ_HEAD_INITIALIZER(g_subsystems);
static struct depend_list g_depends = TAILQ_HEAD_INITIALIZER(g_depends);

/* The last subsystem (in init order) whose init succeeded; NULL when none is initialised. */
static struct vt_subsystem *g_last_inited;
/* The subsystem whose init or fini is running. */
static struct vt_subsystem *g_current;
static int g_init_rc; /* first init failure, ends the init */
static bool g_init_running;
static bool g_fini_running;
static bool g_fini_requested; /* vt_subsystem_fini() came while init was running */
static void (*g_init_cb)(int rc, void *arg);
static void *g_init_cb_arg;
static void (*g_fini_cb)(void *arg);
static void *g_fini_cb_arg;

void
vt_subsystem_register(struct vt_subsystem *subsystem)
{
	TAILQ_INSERT_TAIL(&g_subsystems, subsystem, link);
}

void
vt_subsystem_add_depend(struct vt_subsystem_depend *depend)
{
	TAILQ_INSERT_TAIL(&g_depends, depend, link);
}

struct vt_subsystem *
vt_subsystem_find(const char *name)
{
	struct vt_subsystem *s;

	TAILQ_FOREACH (s, &g_subsystems, link) {
		if (strcmp(s->name, name) == 0) {
			return s;
		}
	}
	return NULL;
}

struct vt_subsystem *
vt_subsystem_first(void)
{
	return TAILQ_FIRST(&g_subsystems);
}

struct vt_subsystem *
vt_subsystem_next(struct vt_subsystem *s)
{
	return TAILQ_NEXT(s, link);
}

struct vt_subsystem_depend *
vt_subsystem_depend_first(void)
{
	return TAILQ_FIRST(&g_depends);
}

struct vt_subsystem_depend *
vt_subsystem_depend_next(struct vt_subsystem_depend *d)
{
	return TAILQ_NEXT(d, link);
}

/* ---- dependency order -------------------------------------------------------------------- */

static int
check_depends(void)
{
	struct vt_subsystem_depend *d;

	TAILQ_FOREACH (d, &g_depends, link) {
		if (vt_subsystem_find(d->name) == NULL) {
			VT_ERRLOG("cannot order subsystems: dependency declared for unknown "
				  "subsystem '%s'\n",
				  d->name);
			return -ENOENT;
		}
		if (vt_subsystem_find(d->depends_on) == NULL) {
			VT_ERRLOG("cannot order subsystems: subsystem '%s' depends on unknown "
				  "subsystem '%s'\n",
				  d->name, d->depends_on);
			return -ENOENT;
		}
	}
	return 0;
}

/* True when every subsystem s depends on is already in sorted[0..n). */
static bool
depends_met(const struct vt_subsystem *s, struct vt_subsystem **sorted, size_t n)
{
	struct vt_subsystem_depend *d;
	size_t i;

	TAILQ_FOREACH (d, &g_depends, link) {
		if (strcmp(d->name, s->name) != 0) {
			continue;
		}
		for (i = 0; i < n; i++) {
			if (strcmp(sorted[i]->name, d->depends_on) == 0) {
				break;
			}
		}
		if (i == n) {
			return false;
		}
	}
	return true;
}

/*
 * Reorders the registry: repeatedly takes the first subsystem, in registration order, whose
 * dependencies are all placed. Returns 0, -ENOENT (unknown name) or -ELOOP (cycle).
 */
static int
subsystem_sort(void)
{
	struct vt_subsystem **sorted, *s;
	size_t n = 0, count = 0;
	int rc;

	rc = check_depends();
	if (rc != 0) {
		return rc;
	}
	TAILQ_FOREACH (s, &g_subsystems, link) {
		count++;
	}
	sorted = calloc(VT_MAX(count, 1), sizeof(*sorted));
	if (sorted == NULL) {
		VT_ERRLOG("cannot order subsystems: out of memory\n");
		return -ENOMEM;
	}
	while (n < count) {
		TAILQ_FOREACH (s, &g_subsystems, link) {
			if (depends_met(s, sorted, n)) {
				break;
			}
		}
		if (s == NULL) {
			VT_ERRLOG("cannot order subsystems: dependency cycle involving '%s'\n",
				  TAILQ_FIRST(&g_subsystems)->name);
			rc = -ELOOP;
			break;
		}
		TAILQ_REMOVE(&g_subsystems, s, link);
		sorted[n++] = s;
	}
	/* Placed ones first, in order; on a cycle the unplaced rest keep their order after them. */
	while (n > 0) {
		/* The queue macros evaluate their arguments more than once. */
		s = sorted[--n];
		TAILQ_INSERT_HEAD(&g_subsystems, s, link);
	}
	free(sorted);
	return rc;
}

/* ---- init and fini ----------------------------------------------------------------------- */

/* Runs fn on reactor 0 from a message (directly when there are no reactors). */
static void
run_on_reactor0(vt_msg_fn fn)
{
	if (vt_reactor_count() == 0) {
		fn(NULL);
		return;
	}
	if (vt_send_msg(0, fn, NULL) != 0) {
		VT_ERRLOG("cannot send subsystem step to reactor 0: ring full\n");
		if (vt_reactor_current() == 0) {
			fn(NULL);
		}
	}
}

static void fini_start(void);

static void
init_finish(int rc)
{
	g_init_running = false;
	g_current = NULL;
	if (g_init_cb != NULL) {
		g_init_cb(rc, g_init_cb_arg);
	}
	if (g_fini_requested) {
		g_fini_requested = false;
		fini_start();
	}
}

static void
init_next(void *unused)
{
	struct vt_subsystem *s;

	if (g_init_rc != 0) {
		init_finish(g_init_rc);
		return;
	}
	if (g_fini_requested) {
		VT_NOTICELOG("subsystem init cancelled by a shutdown request\n");
		init_finish(-ECANCELED);
		return;
	}
	for (;;) {
		s = g_last_inited != NULL ? TAILQ_NEXT(g_last_inited, link)
					  : TAILQ_FIRST(&g_subsystems);
		if (s == NULL) {
			init_finish(0);
			return;
		}
		if (s->init != NULL) {
			g_current = s;
			s->init();
			return;
		}
		g_last_inited = s;
	}
}

static void
init_start(void *unused)
{
	int rc;

	g_init_rc = 0;
	rc = subsystem_sort();
	if (rc != 0) {
		init_finish(rc);
		return;
	}
	init_next(NULL);
}

void
vt_subsystem_init(void (*cb)(int rc, void *arg), void *arg)
{
	if (g_init_running || g_fini_running || g_last_inited != NULL) {
		VT_ERRLOG("cannot initialize subsystems: %s\n",
			  g_last_inited != NULL ? "already initialized" : "init or fini running");
		if (cb != NULL) {
			cb(-EBUSY, arg);
		}
		return;
	}
	g_init_running = true;
	g_init_cb = cb;
	g_init_cb_arg = arg;
	run_on_reactor0(init_start);
}

void
vt_subsystem_init_done(int rc)
{
	struct vt_subsystem *s = g_current;

	if (!g_init_running || s == NULL) {
		VT_ERRLOG("unexpected subsystem init completion (rc %d): no init running\n", rc);
		return;
	}
	g_current = NULL;
	if (rc != 0) {
		VT_ERRLOG("cannot initialize subsystem '%s': %s\n", s->name, vt_strerror(-rc));
		g_init_rc = rc;
	} else {
		g_last_inited = s;
	}
	run_on_reactor0(init_next);
}

static void
fini_finish(void)
{
	g_fini_running = false;
	g_current = NULL;
	if (g_fini_cb != NULL) {
		g_fini_cb(g_fini_cb_arg);
	}
}

static void
fini_next(void *unused)
{
	struct vt_subsystem *s;

	for (;;) {
		s = g_last_inited;
		if (s == NULL) {
			fini_finish();
			return;
		}
		g_last_inited = TAILQ_PREV(s, subsystem_list, link);
		if (s->fini != NULL) {
			g_current = s;
			s->fini();
			return;
		}
	}
}

static void
fini_start(void)
{
	g_fini_running = true;
	run_on_reactor0(fini_next);
}

void
vt_subsystem_fini(void (*cb)(void *arg), void *arg)
{
	if (g_fini_running || g_fini_requested) {
		VT_ERRLOG("cannot finalize subsystems: fini already running\n");
		return;
	}
	g_fini_cb = cb;
	g_fini_cb_arg = arg;
	if (g_init_running) {
		/* Stop after the subsystem being initialised, then finalise what was. */
		g_fini_requested = true;
		return;
	}
	fini_start();
}

void
vt_subsystem_fini_done(void)
{
	if (!g_fini_running || g_current == NULL) {
		VT_ERRLOG("unexpected subsystem fini completion: no fini running\n");
		return;
	}
	g_current = NULL;
	run_on_reactor0(fini_next);
}
