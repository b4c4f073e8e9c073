/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Persistent reservations (SPC-4 5.9) kept in memory per LUN, registrations keyed by the
 * initiator's name (they survive the loss of a nexus, not a restart: APTPL is not offered), and
 * the reservation conflict check every command passes through.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vt/util.h"

#include "scsi_internal.h"

static struct scsi_pr_reg *
pr_find(struct scsi_pr *pr, const char *name)
{
	for (uint32_t i = 0; i < pr->num_regs; i++) {
		if (strcmp(pr->regs[i].initiator, name) == 0) {
			return &pr->regs[i];
		}
	}
	return NULL;
}

static bool
pr_all_regs(uint8_t type)
{
	return type == VT_SCSI_PR_WRITE_EXCLUSIVE_ALL_REGS ||
	       type == VT_SCSI_PR_EXCLUSIVE_ACCESS_ALL_REGS;
}

static bool
pr_regs_only(uint8_t type)
{
	return type == VT_SCSI_PR_WRITE_EXCLUSIVE_REGS_ONLY ||
	       type == VT_SCSI_PR_EXCLUSIVE_ACCESS_REGS_ONLY || pr_all_regs(type);
}

static bool
pr_is_holder(struct scsi_pr *pr, const char *name)
{
	if (!pr->reserved) {
		return false;
	}
	if (pr_all_regs(pr->type)) {
		return pr_find(pr, name) != NULL;
	}
	return strcmp(pr->holder, name) == 0;
}

/* Sets ua on lun for every port of the initiator called name. */
static void
pr_ua(struct vt_scsi_lun *lun, const char *name, uint32_t ua)
{
	struct vt_scsi_port *port;

	TAILQ_FOREACH (port, &lun->dev->ports, link) {
		if (strcmp(port->name, name) == 0) {
			port->ua[lun->id] |= ua;
		}
	}
}

static void
pr_remove_reg(struct vt_scsi_lun *lun, uint32_t i)
{
	struct scsi_pr *pr = &lun->pr;

	pr->regs[i] = pr->regs[pr->num_regs - 1];
	pr->num_regs--;
	if (pr->num_regs == 0 && pr->reserved && pr_all_regs(pr->type)) {
		pr->reserved = false;
	}
}

/* ---- the conflict check --------------------------------------------------------------------- */

bool
scsi_pr_check(struct vt_scsi_task *task, const struct scsi_cmd *cmd)
{
	struct vt_scsi_lun *lun = task->lun;
	struct scsi_pr *pr = &lun->pr;
	bool registered, conflict;
	uint16_t access = cmd->flags & (SCSI_F_PR_READ | SCSI_F_PR_WRITE);

	if (lun->spc2_holder != NULL && lun->spc2_holder != task->port &&
	    !(cmd->flags & SCSI_F_SPC2_ALLOWED)) {
		goto conflict;
	}
	if ((cmd->flags & (SCSI_F_PR_SELF | SCSI_F_PR_ALLOWED)) || !pr->reserved ||
	    pr_is_holder(pr, task->port->name)) {
		return false;
	}
	registered = pr_find(pr, task->port->name) != NULL;
	switch (pr->type) {
	case VT_SCSI_PR_WRITE_EXCLUSIVE:
		conflict = access & SCSI_F_PR_WRITE;
		break;
	case VT_SCSI_PR_EXCLUSIVE_ACCESS:
		conflict = access != 0;
		break;
	case VT_SCSI_PR_WRITE_EXCLUSIVE_REGS_ONLY:
	case VT_SCSI_PR_WRITE_EXCLUSIVE_ALL_REGS:
		conflict = !registered && (access & SCSI_F_PR_WRITE);
		break;
	default:
		conflict = !registered && access != 0;
		break;
	}
	if (!conflict) {
		return false;
	}
conflict:
	task->status = VT_SCSI_STATUS_RESERVATION_CONFLICT;
	return true;
}

void
scsi_pr_port_gone(struct vt_scsi_lun *lun, struct vt_scsi_port *port)
{
	/* An SPC-2 reservation ends with its nexus; persistent ones do not. */
	if (lun->spc2_holder == port) {
		lun->spc2_holder = NULL;
	}
}

/* ---- PERSISTENT RESERVE IN ------------------------------------------------------------------ */

int
scsi_parse_prin(struct vt_scsi_task *task)
{
	task->xfer_needed = vt_scsi_get16(&task->cdb[7]);
	return 0;
}

/* An iSCSI-format TransportID (SPC-4 7.6.4.6) naming the initiator; returns its length. */
static uint32_t
pr_transport_id(uint8_t *p, const char *name)
{
	uint32_t n = (uint32_t)strlen(name) + 1;
	uint32_t len = VT_MAX(VT_ALIGN_UP(n, 4u), 20u);

	memset(p, 0, 4 + len);
	p[0] = 0x05;
	vt_scsi_put16(&p[2], (uint16_t)len);
	memcpy(&p[4], name, n);
	return 4 + len;
}

static uint32_t
prin_full_status(struct scsi_pr *pr, uint8_t *data)
{
	uint32_t off = 8;

	for (uint32_t i = 0; i < pr->num_regs; i++) {
		uint8_t *d = &data[off];
		bool holder = pr_is_holder(pr, pr->regs[i].initiator);

		memset(d, 0, 24);
		vt_scsi_put64(d, pr->regs[i].key);
		d[12] = holder ? 0x01 : 0x00;
		d[13] = holder ? pr->type : 0;
		vt_scsi_put16(&d[18], 1);
		vt_scsi_put32(&d[20], pr_transport_id(&d[24], pr->regs[i].initiator));
		off += 24 + vt_scsi_get32(&d[20]);
	}
	return off;
}

void
scsi_exec_prin(struct vt_scsi_task *task)
{
	struct scsi_pr *pr = &task->lun->pr;
	uint8_t data[8 + SCSI_MAX_PR_REGISTRANTS * (24 + 4 + VT_SCSI_PORT_MAX_NAME + 4)];
	uint32_t len = 8;

	memset(data, 0, 8);
	vt_scsi_put32(data, pr->generation);
	switch (task->cdb[1] & 0x1f) {
	case VT_SCSI_PRIN_READ_KEYS:
		for (uint32_t i = 0; i < pr->num_regs; i++, len += 8) {
			vt_scsi_put64(&data[len], pr->regs[i].key);
		}
		break;
	case VT_SCSI_PRIN_READ_RESERVATION:
		if (pr->reserved) {
			struct scsi_pr_reg *h =
				pr_all_regs(pr->type) ? NULL : pr_find(pr, pr->holder);

			memset(&data[8], 0, 16);
			vt_scsi_put64(&data[8], h != NULL ? h->key : 0);
			data[21] = pr->type;
			len += 16;
		}
		break;
	case VT_SCSI_PRIN_REPORT_CAPABILITIES:
		memset(data, 0, 8);
		vt_scsi_put16(data, 8);
		data[2] = 0x10; /* CRH: RESERVE/RELEASE coexist as SPC-4 5.9.3 says */
		data[3] = 0x80; /* TMV: the type mask below is valid */
		data[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02;
		data[5] = 0x01;
		scsi_task_complete_data(task, data, VT_MIN(8u, task->xfer_needed));
		return;
	default:
		len = prin_full_status(pr, data);
		break;
	}
	vt_scsi_put32(&data[4], len - 8);
	scsi_task_complete_data(task, data, VT_MIN(len, task->xfer_needed));
}

/* ---- PERSISTENT RESERVE OUT ----------------------------------------------------------------- */

int
scsi_parse_prout(struct vt_scsi_task *task)
{
	uint8_t sa = task->cdb[1] & 0x1f, type = task->cdb[2] & 0x0f;

	if ((task->cdb[2] >> 4) != 0) {
		return scsi_task_invalid_cdb_at(task, 2, 7); /* only LU_SCOPE */
	}
	if ((sa == VT_SCSI_PROUT_RESERVE || sa == VT_SCSI_PROUT_RELEASE ||
	     sa == VT_SCSI_PROUT_PREEMPT || sa == VT_SCSI_PROUT_PREEMPT_AND_ABORT) &&
	    type != 1 && type != 3 && (type < 5 || type > 8)) {
		return scsi_task_invalid_cdb_at(task, 2, 3);
	}
	task->xfer_needed = vt_scsi_get32(&task->cdb[5]);
	if (task->xfer_needed != sizeof(struct vt_scsi_prout_params)) {
		scsi_task_check(task, VT_SCSI_SENSE_ILLEGAL_REQUEST,
				VT_SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
		return -EINVAL;
	}
	return 0;
}

struct prout_ctx {
	struct vt_scsi_task *task;
	struct vt_scsi_lun *lun;
	struct scsi_pr *pr;
	const char *name;
	struct scsi_pr_reg *reg;
	uint64_t key;
	uint64_t sa_key;
	uint8_t type;
};

static int
prout_conflict(struct prout_ctx *c)
{
	c->task->status = VT_SCSI_STATUS_RESERVATION_CONFLICT;
	return -EACCES;
}

static int
prout_param_error(struct prout_ctx *c)
{
	scsi_task_check(c->task, VT_SCSI_SENSE_ILLEGAL_REQUEST,
			VT_SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST);
	return -EINVAL;
}

static void
prout_release_holder(struct prout_ctx *c, bool notify)
{
	struct scsi_pr *pr = c->pr;

	/* Registrants lose a regs-only or all-regs reservation they relied on: tell them. */
	if (notify && pr_regs_only(pr->type)) {
		for (uint32_t i = 0; i < pr->num_regs; i++) {
			if (strcmp(pr->regs[i].initiator, c->name) != 0) {
				pr_ua(c->lun, pr->regs[i].initiator, SCSI_UA_RES_RELEASED);
			}
		}
	}
	pr->reserved = false;
	pr->holder[0] = '\0';
}

static int
prout_register(struct prout_ctx *c, bool ignore)
{
	struct scsi_pr *pr = c->pr;

	if (c->reg == NULL) {
		if (!ignore && c->key != 0) {
			return prout_conflict(c);
		}
		if (c->sa_key == 0) {
			return 0;
		}
		if (pr->num_regs == SCSI_MAX_PR_REGISTRANTS) {
			scsi_task_check(c->task, VT_SCSI_SENSE_ILLEGAL_REQUEST,
					VT_SCSI_ASC_INSUFFICIENT_REGISTRATION_RESOURCES);
			return -ENOSPC;
		}
		c->reg = &pr->regs[pr->num_regs++];
		snprintf(c->reg->initiator, sizeof(c->reg->initiator), "%s", c->name);
		c->reg->key = c->sa_key;
		pr->generation++;
		return 0;
	}
	if (!ignore && c->key != c->reg->key) {
		return prout_conflict(c);
	}
	if (c->sa_key != 0) {
		c->reg->key = c->sa_key;
	} else {
		if (pr->reserved && !pr_all_regs(pr->type) && pr_is_holder(pr, c->name)) {
			prout_release_holder(c, true);
		}
		pr_remove_reg(c->lun, (uint32_t)(c->reg - pr->regs));
	}
	pr->generation++;
	return 0;
}

static int
prout_reserve(struct prout_ctx *c)
{
	struct scsi_pr *pr = c->pr;

	if (pr->reserved) {
		/* Only the holder may restate its reservation, with the same type. */
		return pr_is_holder(pr, c->name) && pr->type == c->type ? 0 : prout_conflict(c);
	}
	pr->reserved = true;
	pr->type = c->type;
	snprintf(pr->holder, sizeof(pr->holder), "%s", c->name);
	return 0;
}

static int
prout_release(struct prout_ctx *c)
{
	struct scsi_pr *pr = c->pr;

	if (!pr->reserved || !pr_is_holder(pr, c->name)) {
		return 0;
	}
	if (pr->type != c->type) {
		scsi_task_check(c->task, VT_SCSI_SENSE_ILLEGAL_REQUEST,
				VT_SCSI_ASC_INVALID_RELEASE_OF_PR);
		return -EINVAL;
	}
	prout_release_holder(c, true);
	return 0;
}

static int
prout_clear(struct prout_ctx *c)
{
	struct scsi_pr *pr = c->pr;

	for (uint32_t i = 0; i < pr->num_regs; i++) {
		if (strcmp(pr->regs[i].initiator, c->name) != 0) {
			pr_ua(c->lun, pr->regs[i].initiator, SCSI_UA_RES_PREEMPTED);
		}
	}
	pr->num_regs = 0;
	pr->reserved = false;
	pr->holder[0] = '\0';
	pr->generation++;
	return 0;
}

/* Aborts the tasks in flight on the LUN of an initiator whose registration was preempted. */
static void
prout_abort_tasks(struct vt_scsi_lun *lun, const char *name, struct vt_scsi_task *self)
{
	struct vt_scsi_task *t;

	TAILQ_FOREACH (t, &lun->tasks, link) {
		if (t != self && strcmp(t->port->name, name) == 0) {
			t->aborted = true;
		}
	}
}

/* Removes every other registration with key sa_key; returns how many went. */
static uint32_t
prout_remove_key(struct prout_ctx *c, uint64_t sa_key, bool all_others, bool abort)
{
	struct scsi_pr *pr = c->pr;
	uint32_t removed = 0;

	for (uint32_t i = 0; i < pr->num_regs;) {
		struct scsi_pr_reg *r = &pr->regs[i];

		if (strcmp(r->initiator, c->name) == 0 || (!all_others && r->key != sa_key)) {
			i++;
			continue;
		}
		pr_ua(c->lun, r->initiator, SCSI_UA_REG_PREEMPTED);
		if (abort) {
			prout_abort_tasks(c->lun, r->initiator, c->task);
		}
		pr_remove_reg(c->lun, i);
		removed++;
	}
	return removed;
}

static int
prout_preempt(struct prout_ctx *c, bool abort)
{
	struct scsi_pr *pr = c->pr;
	struct scsi_pr_reg *holder;

	if (pr->reserved && pr_all_regs(pr->type)) {
		if (c->sa_key == 0) {
			prout_remove_key(c, 0, true, abort);
			pr->reserved = true;
			pr->type = c->type;
			snprintf(pr->holder, sizeof(pr->holder), "%s", c->name);
		} else {
			prout_remove_key(c, c->sa_key, false, abort);
		}
		pr->generation++;
		return 0;
	}
	holder = pr->reserved ? pr_find(pr, pr->holder) : NULL;
	if (holder == NULL || holder->key != c->sa_key) {
		/* No reservation to take over: only registrations are removed. */
		if (c->sa_key == 0) {
			return prout_param_error(c);
		}
		if (prout_remove_key(c, c->sa_key, false, abort) == 0) {
			return prout_conflict(c);
		}
		pr->generation++;
		return 0;
	}
	prout_remove_key(c, c->sa_key, false, abort);
	pr->reserved = true;
	pr->type = c->type;
	snprintf(pr->holder, sizeof(pr->holder), "%s", c->name);
	pr->generation++;
	return 0;
}

static int
prout_run(struct prout_ctx *c, uint8_t sa)
{
	if (sa == VT_SCSI_PROUT_REGISTER || sa == VT_SCSI_PROUT_REGISTER_AND_IGNORE) {
		return prout_register(c, sa == VT_SCSI_PROUT_REGISTER_AND_IGNORE);
	}
	/* Every other service action needs a registration with the key given. */
	if (c->reg == NULL || c->reg->key != c->key) {
		return prout_conflict(c);
	}
	switch (sa) {
	case VT_SCSI_PROUT_RESERVE:
		return prout_reserve(c);
	case VT_SCSI_PROUT_RELEASE:
		return prout_release(c);
	case VT_SCSI_PROUT_CLEAR:
		return prout_clear(c);
	default:
		return prout_preempt(c, sa == VT_SCSI_PROUT_PREEMPT_AND_ABORT);
	}
}

void
scsi_exec_prout(struct vt_scsi_task *task)
{
	struct vt_scsi_prout_params p;
	struct prout_ctx c = {
		.task = task,
		.lun = task->lun,
		.pr = &task->lun->pr,
		.name = task->port->name,
		.type = task->cdb[2] & 0x0f,
	};
	uint8_t sa = task->cdb[1] & 0x1f;

	if (scsi_task_get_data_out(task, &p, sizeof(p)) < sizeof(p)) {
		scsi_task_complete_check(task, VT_SCSI_SENSE_ILLEGAL_REQUEST,
					 VT_SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
		return;
	}
	/* SPEC_I_PT, ALL_TG_PT and APTPL are not offered (REPORT CAPABILITIES says so). */
	if (p.flags & (0x08 | 0x04 | 0x01)) {
		scsi_task_invalid_param_at(task, 20, 31 - __builtin_clz(p.flags & 0x0d));
		scsi_task_complete(task);
		return;
	}
	c.key = vt_scsi_get64(p.res_key);
	c.sa_key = vt_scsi_get64(p.sa_res_key);
	c.reg = pr_find(c.pr, c.name);
	prout_run(&c, sa);
	scsi_task_complete(task);
}
