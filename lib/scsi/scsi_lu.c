/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Logical units shared by LUNs. Every LUN on a bdev (of any device, on any reactor) is one path
 * to one logical unit: the scsi_lu found by the bdev. It holds what the logical unit owns (the
 * persistent reservations, the SPC-2 reservation, the mode parameters) while unit attentions
 * stay with each I_T nexus (port x LUN).
 *
 * Threads: LUNs of one logical unit may live on different reactors. lu->lock (a mutex: it is
 * taken by reservation commands, rare, and by commands while a reservation or registration
 * exists) protects the reservation state and the member list; lu->guarded lets every other
 * command skip it. Unit attentions for the nexuses of other devices are set under lu->lock with
 * the device's ports_lock held (ports come and go on their own reactor) by an atomic OR. Tasks
 * live on their LUN's reactor: PREEMPT AND ABORT marks those of another reactor by a message.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vt/event.h"

#include "scsi_internal.h"

static pthread_mutex_t g_lu_mutex = PTHREAD_MUTEX_INITIALIZER;
static TAILQ_HEAD(, scsi_lu) g_lus = TAILQ_HEAD_INITIALIZER(g_lus);

static struct scsi_lu *
lu_create(struct vt_scsi_lun *lun)
{
	struct scsi_lu *lu = calloc(1, sizeof(*lu));

	if (lu == NULL) {
		return NULL;
	}
	lu->bdev = lun->bdev;
	pthread_mutex_init(&lu->lock, NULL);
	atomic_init(&lu->guarded, false);
	TAILQ_INIT(&lu->luns);
	scsi_pr_load(lu);
	return lu;
}

int
scsi_lu_attach(struct vt_scsi_lun *lun)
{
	struct vt_scsi_lun *peer;
	struct scsi_lu *lu;

	pthread_mutex_lock(&g_lu_mutex);
	TAILQ_FOREACH (lu, &g_lus, link) {
		if (lu->bdev == lun->bdev) {
			break;
		}
	}
	if (lu == NULL) {
		lu = lu_create(lun);
		if (lu == NULL) {
			pthread_mutex_unlock(&g_lu_mutex);
			return -ENOMEM;
		}
		TAILQ_INSERT_TAIL(&g_lus, lu, link);
	}
	lu->refs++;
	pthread_mutex_unlock(&g_lu_mutex);

	pthread_mutex_lock(&lu->lock);
	/* A new path sees the logical unit's mode parameters, not the defaults. */
	peer = TAILQ_FIRST(&lu->luns);
	if (peer != NULL) {
		lun->wce = peer->wce;
		lun->d_sense = peer->d_sense;
	}
	lun->lu = lu;
	lun->reactor = vt_reactor_current();
	TAILQ_INSERT_TAIL(&lu->luns, lun, lu_link);
	pthread_mutex_unlock(&lu->lock);
	return 0;
}

static void
lu_unref(struct scsi_lu *lu)
{
	bool last;

	pthread_mutex_lock(&g_lu_mutex);
	last = --lu->refs == 0;
	if (last) {
		TAILQ_REMOVE(&g_lus, lu, link);
	}
	pthread_mutex_unlock(&g_lu_mutex);
	if (last) {
		pthread_mutex_destroy(&lu->lock);
		free(lu);
	}
}

void
scsi_lu_detach(struct vt_scsi_lun *lun)
{
	struct scsi_lu *lu = lun->lu;

	if (lu == NULL) {
		return;
	}
	pthread_mutex_lock(&lu->lock);
	TAILQ_REMOVE(&lu->luns, lun, lu_link);
	/* An SPC-2 reservation is held through a nexus of this LUN's device: it ends with it. */
	if (lu->spc2_holder != NULL && lu->spc2_holder->dev == lun->dev) {
		lu->spc2_holder = NULL;
		scsi_lu_update_guard(lu);
	}
	pthread_mutex_unlock(&lu->lock);
	lun->lu = NULL;
	lu_unref(lu);
}

void
scsi_lu_update_guard(struct scsi_lu *lu)
{
	atomic_store(&lu->guarded,
		     lu->pr.num_regs > 0 || lu->pr.reserved || lu->spc2_holder != NULL);
}

/* ---- unit attentions on every path ---------------------------------------------------------- */

/* Sets ua on the ports of lun's device that match initiator (NULL: all) except one. */
static void
lu_ua_dev(struct vt_scsi_lun *lun, const char *initiator, uint32_t ua,
	  const struct vt_scsi_port *except)
{
	struct vt_scsi_dev *dev = lun->dev;
	struct vt_scsi_port *port;

	pthread_mutex_lock(&dev->ports_lock);
	TAILQ_FOREACH (port, &dev->ports, link) {
		if (port != except && (initiator == NULL || strcmp(port->name, initiator) == 0)) {
			atomic_fetch_or(&port->ua[lun->id], ua);
		}
	}
	pthread_mutex_unlock(&dev->ports_lock);
}

void
scsi_lu_ua_all(struct scsi_lu *lu, uint32_t ua, const struct vt_scsi_port *except)
{
	struct vt_scsi_lun *lun;

	TAILQ_FOREACH (lun, &lu->luns, lu_link) {
		lu_ua_dev(lun, NULL, ua, except);
	}
}

void
scsi_lu_ua_nexus(struct scsi_lu *lu, const struct scsi_nexus *nx, uint32_t ua)
{
	struct vt_scsi_lun *lun;

	TAILQ_FOREACH (lun, &lu->luns, lu_link) {
		if (strcmp(lun->dev->name, nx->tport) == 0) {
			lu_ua_dev(lun, nx->initiator, ua, NULL);
		}
	}
}

void
scsi_lu_set_mode(struct vt_scsi_lun *lun, bool wce, bool d_sense, const struct vt_scsi_port *except)
{
	struct scsi_lu *lu = lun->lu;
	struct vt_scsi_lun *m;

	pthread_mutex_lock(&lu->lock);
	TAILQ_FOREACH (m, &lu->luns, lu_link) {
		m->wce = wce;
		m->d_sense = d_sense;
	}
	if (except != NULL) {
		scsi_lu_ua_all(lu, SCSI_UA_MODE_CHANGED, except);
	}
	pthread_mutex_unlock(&lu->lock);
}

void
scsi_lu_reset(struct vt_scsi_lun *lun, const struct vt_scsi_port *from)
{
	struct scsi_lu *lu = lun->lu;
	struct vt_scsi_lun *m;

	pthread_mutex_lock(&lu->lock);
	lu->spc2_holder = NULL;
	scsi_lu_update_guard(lu);
	TAILQ_FOREACH (m, &lu->luns, lu_link) {
		m->d_sense = false;
		m->wce = vt_bdev_has_write_cache(m->bdev);
	}
	scsi_lu_ua_all(lu, SCSI_UA_BUS_DEVICE_RESET, from);
	pthread_mutex_unlock(&lu->lock);
}

/* ---- aborting a nexus's tasks on every path --------------------------------------------------- */

struct lu_abort_msg {
	struct scsi_lu *lu;
	struct scsi_nexus nx;
};

/* Marks the tasks of nexus nx on the LUNs of lu that live on this reactor (under lu->lock). */
static void
lu_abort_here(struct scsi_lu *lu, const struct scsi_nexus *nx, const struct vt_scsi_task *self)
{
	uint32_t here = vt_reactor_current();
	struct vt_scsi_lun *lun;
	struct vt_scsi_task *t;

	TAILQ_FOREACH (lun, &lu->luns, lu_link) {
		if (lun->reactor != here || strcmp(lun->dev->name, nx->tport) != 0) {
			continue;
		}
		TAILQ_FOREACH (t, &lun->tasks, link) {
			if (t != self && strcmp(t->port->name, nx->initiator) == 0) {
				t->aborted = true;
			}
		}
	}
}

static void
lu_abort_msg(void *arg)
{
	struct lu_abort_msg *m = arg;

	pthread_mutex_lock(&m->lu->lock);
	lu_abort_here(m->lu, &m->nx, NULL);
	pthread_mutex_unlock(&m->lu->lock);
	lu_unref(m->lu);
	free(m);
}

void
scsi_lu_abort_nexus(struct scsi_lu *lu, const struct scsi_nexus *nx,
		    const struct vt_scsi_task *self)
{
	uint64_t sent = 0; /* reactors told already */
	uint32_t here = vt_reactor_current();
	struct vt_scsi_lun *lun;

	lu_abort_here(lu, nx, self);
	TAILQ_FOREACH (lun, &lu->luns, lu_link) {
		struct lu_abort_msg *m;

		if (lun->reactor == here || lun->reactor >= 64 || (sent & (1ull << lun->reactor)) ||
		    strcmp(lun->dev->name, nx->tport) != 0) {
			continue;
		}
		m = calloc(1, sizeof(*m));
		if (m == NULL) {
			VT_ERRLOG("cannot abort the tasks of '%s' on reactor %u: out of memory",
				  nx->initiator, lun->reactor);
			continue;
		}
		m->lu = lu;
		m->nx = *nx;
		pthread_mutex_lock(&g_lu_mutex);
		lu->refs++;
		pthread_mutex_unlock(&g_lu_mutex);
		if (vt_send_msg(lun->reactor, lu_abort_msg, m) != 0) {
			VT_ERRLOG("cannot abort the tasks of '%s' on reactor %u", nx->initiator,
				  lun->reactor);
			lu_unref(lu);
			free(m);
			continue;
		}
		sent |= 1ull << lun->reactor;
	}
}

struct vt_scsi_lun *
scsi_lu_find_tport(struct scsi_lu *lu, uint16_t rtpi)
{
	struct vt_scsi_lun *lun;

	TAILQ_FOREACH (lun, &lu->luns, lu_link) {
		if (lun->dev->rtpi == rtpi) {
			return lun;
		}
	}
	return NULL;
}

uint32_t
scsi_lu_tports(struct scsi_lu *lu, uint16_t *rtpi, uint32_t max)
{
	struct vt_scsi_lun *lun;
	uint32_t n = 0;

	pthread_mutex_lock(&lu->lock);
	TAILQ_FOREACH (lun, &lu->luns, lu_link) {
		bool seen = false;

		/* Two LUNs of one device on the bdev are one target port. */
		for (uint32_t i = 0; i < n; i++) {
			seen = seen || rtpi[i] == lun->dev->rtpi;
		}
		if (!seen && n < max) {
			rtpi[n++] = lun->dev->rtpi;
		}
	}
	pthread_mutex_unlock(&lu->lock);
	return n;
}
