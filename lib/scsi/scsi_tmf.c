/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Task management functions (SAM-5 7). The bdev layer cannot cancel I/O it has started, so an
 * aborted task runs to its end and then completes with TASK ABORTED; the function itself completes
 * once every task it aborted has completed.
 */
#include <string.h>

#include "scsi_internal.h"

static void
tmf_finish(void *arg)
{
	struct vt_scsi_tmf *tmf = arg;

	tmf->cb(tmf);
}

void
scsi_tmf_task_done(struct vt_scsi_task *task)
{
	struct vt_scsi_tmf *tmf = task->tmf;

	if (tmf == NULL) {
		return;
	}
	task->tmf = NULL;
	if (--tmf->pending == 0) {
		vt_defer(&tmf->defer, tmf_finish, tmf);
	}
}

static void
tmf_abort(struct vt_scsi_tmf *tmf, struct vt_scsi_task *task)
{
	task->aborted = true;
	if (task->tmf == NULL) {
		task->tmf = tmf;
		tmf->pending++;
	}
}

/* Aborts the tasks of lun that match: of port only, or of every port (port NULL). */
static uint32_t
tmf_abort_lun(struct vt_scsi_tmf *tmf, struct vt_scsi_lun *lun, struct vt_scsi_port *port,
	      bool by_tag)
{
	struct vt_scsi_task *task;
	uint32_t n = 0;

	TAILQ_FOREACH (task, &lun->tasks, link) {
		if ((port != NULL && task->port != port) || (by_tag && task->tag != tmf->tag)) {
			continue;
		}
		tmf_abort(tmf, task);
		n++;
	}
	return n;
}

static uint32_t
tmf_count(struct vt_scsi_lun *lun, struct vt_scsi_port *port, bool by_tag, uint64_t tag)
{
	struct vt_scsi_task *task;
	uint32_t n = 0;

	TAILQ_FOREACH (task, &lun->tasks, link) {
		if (task->port == port && (!by_tag || task->tag == tag)) {
			n++;
		}
	}
	return n;
}

static void
tmf_lun_reset(struct vt_scsi_tmf *tmf, struct vt_scsi_lun *lun)
{
	tmf_abort_lun(tmf, lun, NULL, false);
	scsi_lu_reset(lun, tmf->port);
}

static void
tmf_nexus_reset(struct vt_scsi_tmf *tmf, struct vt_scsi_port *port)
{
	struct vt_scsi_dev *dev = port->dev;

	for (uint32_t i = 0; i < VT_SCSI_DEV_MAX_LUNS; i++) {
		struct vt_scsi_lun *lun = dev->luns[i];

		if (lun == NULL) {
			continue;
		}
		tmf_abort_lun(tmf, lun, port, false);
		scsi_pr_port_gone(lun, port);
		port->ua[i] |= SCSI_UA_I_T_NEXUS_LOSS;
	}
}

static void
tmf_run(struct vt_scsi_tmf *tmf, struct vt_scsi_port *port, struct vt_scsi_lun *lun)
{
	switch (tmf->func) {
	case VT_SCSI_TMF_ABORT_TASK:
		tmf_abort_lun(tmf, lun, port, true);
		break;
	case VT_SCSI_TMF_ABORT_TASK_SET:
		tmf_abort_lun(tmf, lun, port, false);
		break;
	case VT_SCSI_TMF_CLEAR_TASK_SET:
		tmf_abort_lun(tmf, lun, NULL, false);
		break;
	case VT_SCSI_TMF_LOGICAL_UNIT_RESET:
		tmf_lun_reset(tmf, lun);
		break;
	case VT_SCSI_TMF_QUERY_TASK:
		if (tmf_count(lun, port, true, tmf->tag) > 0) {
			tmf->response = VT_SCSI_TMF_SUCCEEDED;
		}
		break;
	case VT_SCSI_TMF_QUERY_TASK_SET:
		if (tmf_count(lun, port, false, 0) > 0) {
			tmf->response = VT_SCSI_TMF_SUCCEEDED;
		}
		break;
	default:
		tmf->response = VT_SCSI_TMF_REJECTED;
		break;
	}
}

void
vt_scsi_port_task_mgmt(struct vt_scsi_port *port, struct vt_scsi_tmf *tmf)
{
	struct vt_scsi_lun *lun = NULL;

	tmf->port = port;
	tmf->pending = 1; /* held until the function itself is through */
	tmf->response = VT_SCSI_TMF_COMPLETE;
	memset(&tmf->defer, 0, sizeof(tmf->defer));
	if (tmf->func == VT_SCSI_TMF_I_T_NEXUS_RESET) {
		tmf_nexus_reset(tmf, port);
	} else {
		if (tmf->lun_id < VT_SCSI_DEV_MAX_LUNS) {
			lun = port->dev->luns[tmf->lun_id];
		}
		if (lun == NULL || lun->removing) {
			tmf->response = VT_SCSI_TMF_INCORRECT_LUN;
		} else {
			tmf_run(tmf, port, lun);
		}
	}
	if (--tmf->pending == 0) {
		vt_defer(&tmf->defer, tmf_finish, tmf);
	}
}
