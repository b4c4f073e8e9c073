/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Persistent reservations (SPC-4 5.9) of a logical unit shared by all its paths (scsi_lu.c), the
 * SPC-2 reservation, and the reservation conflict check every command passes through.
 * Registrations are per I_T nexus: the initiator port's name and the target port (the device's
 * name); they survive the loss of a nexus. Everything here runs under lu->lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "vt/util.h"

#include "scsi_internal.h"

bool
scsi_nexus_eq(const struct scsi_nexus *a, const struct scsi_nexus *b)
{
	return strcmp(a->initiator, b->initiator) == 0 && strcmp(a->tport, b->tport) == 0;
}

void
scsi_task_nexus(const struct vt_scsi_task *task, struct scsi_nexus *nx)
{
	snprintf(nx->initiator, sizeof(nx->initiator), "%s", task->port->name);
	snprintf(nx->tport, sizeof(nx->tport), "%s", task->port->dev->name);
	nx->rtpi = task->port->dev->rtpi;
}

static struct scsi_pr_reg *
pr_find(struct scsi_pr *pr, const struct scsi_nexus *nx)
{
	for (uint32_t i = 0; i < pr->num_regs; i++) {
		if (scsi_nexus_eq(&pr->regs[i].nx, nx)) {
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
pr_is_holder(struct scsi_pr *pr, const struct scsi_nexus *nx)
{
	if (!pr->reserved) {
		return false;
	}
	if (pr_all_regs(pr->type)) {
		return pr_find(pr, nx) != NULL;
	}
	return scsi_nexus_eq(&pr->holder, nx);
}

static void
pr_remove_reg(struct scsi_pr *pr, uint32_t i)
{
	pr->regs[i] = pr->regs[pr->num_regs - 1];
	pr->num_regs--;
	if (pr->num_regs == 0 && pr->reserved && pr_all_regs(pr->type)) {
		pr->reserved = false;
	}
}

/* ---- the conflict check --------------------------------------------------------------------- */

/* SPC-4 5.9.1 table 44 (by command class): does nexus nx conflict with the reservation? */
static bool
pr_conflicts(struct scsi_pr *pr, const struct scsi_nexus *nx, uint16_t flags)
{
	uint16_t access = flags & (SCSI_F_PR_READ | SCSI_F_PR_WRITE);
	bool registered;

	if ((flags & (SCSI_F_PR_SELF | SCSI_F_PR_ALLOWED)) || !pr->reserved ||
	    pr_is_holder(pr, nx)) {
		return false;
	}
	registered = pr_find(pr, nx) != NULL;
	switch (pr->type) {
	case VT_SCSI_PR_WRITE_EXCLUSIVE:
		return access & SCSI_F_PR_WRITE;
	case VT_SCSI_PR_EXCLUSIVE_ACCESS:
		return access != 0;
	case VT_SCSI_PR_WRITE_EXCLUSIVE_REGS_ONLY:
	case VT_SCSI_PR_WRITE_EXCLUSIVE_ALL_REGS:
		return !registered && (access & SCSI_F_PR_WRITE);
	default:
		return !registered && access != 0;
	}
}

bool
scsi_pr_check(struct vt_scsi_task *task, const struct scsi_cmd *cmd)
{
	struct scsi_lu *lu = task->lun->lu;
	struct scsi_nexus nx;
	bool conflict;

	/* Nothing registered and nothing reserved (the usual case): no lock. */
	if (!atomic_load_explicit(&lu->guarded, memory_order_acquire)) {
		return false;
	}
	scsi_task_nexus(task, &nx);
	pthread_mutex_lock(&lu->lock);
	conflict = (lu->spc2_holder != NULL && lu->spc2_holder != task->port &&
		    !(cmd->flags & SCSI_F_SPC2_ALLOWED)) ||
		   pr_conflicts(&lu->pr, &nx, cmd->flags);
	pthread_mutex_unlock(&lu->lock);
	if (conflict) {
		task->status = VT_SCSI_STATUS_RESERVATION_CONFLICT;
	}
	return conflict;
}

void
scsi_pr_port_gone(struct vt_scsi_lun *lun, struct vt_scsi_port *port)
{
	struct scsi_lu *lu = lun->lu;

	/* An SPC-2 reservation ends with its nexus; persistent ones do not. */
	pthread_mutex_lock(&lu->lock);
	if (lu->spc2_holder == port) {
		lu->spc2_holder = NULL;
		scsi_lu_update_guard(lu);
	}
	pthread_mutex_unlock(&lu->lock);
}

void
scsi_pr_spc2_reserve(struct vt_scsi_task *task)
{
	struct scsi_lu *lu = task->lun->lu;

	pthread_mutex_lock(&lu->lock);
	/* SPC-2 reservations and persistent reservations exclude each other (SPC-4 5.9.3). */
	if (lu->pr.num_regs > 0 || lu->pr.reserved ||
	    (lu->spc2_holder != NULL && lu->spc2_holder != task->port)) {
		task->status = VT_SCSI_STATUS_RESERVATION_CONFLICT;
	} else {
		lu->spc2_holder = task->port;
		scsi_lu_update_guard(lu);
	}
	pthread_mutex_unlock(&lu->lock);
}

void
scsi_pr_spc2_release(struct vt_scsi_task *task)
{
	/* Releasing a reservation this initiator does not hold is no error (SPC-2 7.21). */
	scsi_pr_port_gone(task->lun, task->port);
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
		bool holder = pr_is_holder(pr, &pr->regs[i].nx);

		memset(d, 0, 24);
		vt_scsi_put64(d, pr->regs[i].key);
		d[12] = holder ? 0x01 : 0x00;
		d[13] = holder ? pr->type : 0;
		vt_scsi_put16(&d[18], pr->regs[i].nx.rtpi);
		vt_scsi_put32(&d[20], pr_transport_id(&d[24], pr->regs[i].nx.initiator));
		off += 24 + vt_scsi_get32(&d[20]);
	}
	return off;
}

static uint32_t
prin_data(struct scsi_pr *pr, uint8_t sa, uint8_t *data)
{
	uint32_t len = 8;

	memset(data, 0, 8);
	vt_scsi_put32(data, pr->generation);
	switch (sa) {
	case VT_SCSI_PRIN_READ_KEYS:
		for (uint32_t i = 0; i < pr->num_regs; i++, len += 8) {
			vt_scsi_put64(&data[len], pr->regs[i].key);
		}
		break;
	case VT_SCSI_PRIN_READ_RESERVATION:
		if (pr->reserved) {
			struct scsi_pr_reg *h =
				pr_all_regs(pr->type) ? NULL : pr_find(pr, &pr->holder);

			memset(&data[8], 0, 16);
			vt_scsi_put64(&data[8], h != NULL ? h->key : 0);
			data[21] = pr->type;
			len += 16;
		}
		break;
	case VT_SCSI_PRIN_REPORT_CAPABILITIES:
		memset(data, 0, 8);
		vt_scsi_put16(data, 8);
		/* CRH: RESERVE/RELEASE coexist as SPC-4 5.9.3 says; PTPL_C: APTPL is offered. */
		data[2] = 0x10 | 0x01;
		/* TMV: the type mask below is valid; PTPL_A: the state is persisted now. */
		data[3] = 0x80 | (pr->aptpl ? 0x01 : 0x00);
		data[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02;
		data[5] = 0x01;
		return 8;
	default:
		len = prin_full_status(pr, data);
		break;
	}
	vt_scsi_put32(&data[4], len - 8);
	return len;
}

/* Relative target port identifiers are given out at start-up: a registration restored by APTPL
 * takes the one its target port (by name) has now. */
static void
prin_refresh_rtpi(struct scsi_lu *lu)
{
	struct vt_scsi_lun *lun;

	TAILQ_FOREACH (lun, &lu->luns, lu_link) {
		for (uint32_t i = 0; i < lu->pr.num_regs; i++) {
			if (strcmp(lu->pr.regs[i].nx.tport, lun->dev->name) == 0) {
				lu->pr.regs[i].nx.rtpi = lun->dev->rtpi;
			}
		}
	}
}

void
scsi_exec_prin(struct vt_scsi_task *task)
{
	struct scsi_lu *lu = task->lun->lu;
	uint8_t data[8 + SCSI_MAX_PR_REGISTRANTS * (24 + 4 + VT_SCSI_PORT_MAX_NAME + 4)];
	uint32_t len;

	pthread_mutex_lock(&lu->lock);
	prin_refresh_rtpi(lu);
	len = prin_data(&lu->pr, task->cdb[1] & 0x1f, data);
	pthread_mutex_unlock(&lu->lock);
	scsi_task_complete_data(task, data, VT_MIN(len, task->xfer_needed));
}

/* ---- PERSISTENT RESERVE OUT ----------------------------------------------------------------- */

/* REGISTER AND MOVE's parameter list: the basic one's first 16 bytes, then the destination. */
#define PR_MOVE_HDR 24u
#define PR_MAX_PARAM_LEN (PR_MOVE_HDR + 4 + VT_SCSI_PORT_MAX_NAME + 4)

int
scsi_parse_prout(struct vt_scsi_task *task)
{
	uint8_t sa = task->cdb[1] & 0x1f, type = task->cdb[2] & 0x0f;
	/* The actions that use SCOPE and TYPE; the others ignore both (SPC-4 6.17.2). */
	bool typed = sa == VT_SCSI_PROUT_RESERVE || sa == VT_SCSI_PROUT_RELEASE ||
		     sa == VT_SCSI_PROUT_PREEMPT || sa == VT_SCSI_PROUT_PREEMPT_AND_ABORT ||
		     sa == VT_SCSI_PROUT_REGISTER_AND_MOVE;
	bool ok_len;

	if (typed && (task->cdb[2] >> 4) != 0) {
		return scsi_task_invalid_cdb_at(task, 2, 7); /* only LU_SCOPE */
	}
	if (typed && type != 1 && type != 3 && (type < 5 || type > 8)) {
		return scsi_task_invalid_cdb_at(task, 2, 3);
	}
	task->xfer_needed = vt_scsi_get32(&task->cdb[5]);
	ok_len = sa == VT_SCSI_PROUT_REGISTER_AND_MOVE
			 ? task->xfer_needed >= PR_MOVE_HDR + 24 &&
				   task->xfer_needed <= PR_MAX_PARAM_LEN
			 : task->xfer_needed == sizeof(struct vt_scsi_prout_params);
	if (!ok_len) {
		scsi_task_check(task, VT_SCSI_SENSE_ILLEGAL_REQUEST,
				VT_SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
		return -EINVAL;
	}
	return 0;
}

struct prout_ctx {
	struct vt_scsi_task *task;
	struct scsi_lu *lu;
	struct scsi_pr *pr;
	struct scsi_nexus nx; /* the issuing nexus */
	struct scsi_pr_reg *reg;
	uint64_t key;
	uint64_t sa_key;
	uint8_t type;
	bool aptpl;
	const uint8_t *param; /* the whole parameter list */
	uint32_t param_len;
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
prout_set_holder(struct prout_ctx *c, const struct scsi_nexus *nx, uint8_t type)
{
	c->pr->reserved = true;
	c->pr->type = type;
	c->pr->holder = *nx;
}

static void
prout_release_holder(struct prout_ctx *c, bool notify)
{
	struct scsi_pr *pr = c->pr;

	/* Registrants lose a regs-only or all-regs reservation they relied on: tell them. */
	if (notify && pr_regs_only(pr->type)) {
		for (uint32_t i = 0; i < pr->num_regs; i++) {
			if (!scsi_nexus_eq(&pr->regs[i].nx, &c->nx)) {
				scsi_lu_ua_nexus(c->lu, &pr->regs[i].nx, SCSI_UA_RES_RELEASED);
			}
		}
	}
	pr->reserved = false;
	memset(&pr->holder, 0, sizeof(pr->holder));
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
		c->reg->nx = c->nx;
		c->reg->key = c->sa_key;
		pr->aptpl = c->aptpl;
		pr->generation++;
		return 0;
	}
	if (!ignore && c->key != c->reg->key) {
		return prout_conflict(c);
	}
	if (c->sa_key != 0) {
		c->reg->key = c->sa_key;
	} else {
		if (pr->reserved && !pr_all_regs(pr->type) && pr_is_holder(pr, &c->nx)) {
			prout_release_holder(c, true);
		}
		pr_remove_reg(pr, (uint32_t)(c->reg - pr->regs));
	}
	pr->aptpl = c->aptpl;
	pr->generation++;
	return 0;
}

static int
prout_reserve(struct prout_ctx *c)
{
	struct scsi_pr *pr = c->pr;

	if (pr->reserved) {
		/* Only the holder may restate its reservation, with the same type. */
		return pr_is_holder(pr, &c->nx) && pr->type == c->type ? 0 : prout_conflict(c);
	}
	prout_set_holder(c, &c->nx, c->type);
	return 0;
}

static int
prout_release(struct prout_ctx *c)
{
	struct scsi_pr *pr = c->pr;

	if (!pr->reserved || !pr_is_holder(pr, &c->nx)) {
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
		if (!scsi_nexus_eq(&pr->regs[i].nx, &c->nx)) {
			scsi_lu_ua_nexus(c->lu, &pr->regs[i].nx, SCSI_UA_RES_PREEMPTED);
		}
	}
	pr->num_regs = 0;
	pr->reserved = false;
	memset(&pr->holder, 0, sizeof(pr->holder));
	pr->generation++;
	return 0;
}

/* Removes every other registration with key sa_key (all others: every one); returns how many. */
static uint32_t
prout_remove_key(struct prout_ctx *c, uint64_t sa_key, bool all_others, bool abort)
{
	struct scsi_pr *pr = c->pr;
	uint32_t removed = 0;

	for (uint32_t i = 0; i < pr->num_regs;) {
		struct scsi_pr_reg *r = &pr->regs[i];

		if (scsi_nexus_eq(&r->nx, &c->nx) || (!all_others && r->key != sa_key)) {
			i++;
			continue;
		}
		scsi_lu_ua_nexus(c->lu, &r->nx, SCSI_UA_REG_PREEMPTED);
		if (abort) {
			scsi_lu_abort_nexus(c->lu, &r->nx, c->task);
		}
		pr_remove_reg(pr, i);
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
			prout_set_holder(c, &c->nx, c->type);
		} else {
			prout_remove_key(c, c->sa_key, false, abort);
		}
		pr->generation++;
		return 0;
	}
	holder = pr->reserved ? pr_find(pr, &pr->holder) : NULL;
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
	prout_set_holder(c, &c->nx, c->type);
	pr->generation++;
	return 0;
}

/* The destination of REGISTER AND MOVE: an iSCSI TransportID (SPC-4 7.6.4.6) and a target
 * port of this logical unit. */
static int
prout_move_dest(struct prout_ctx *c, struct scsi_nexus *dst)
{
	const uint8_t *tid = &c->param[PR_MOVE_HDR];
	uint32_t tid_len = vt_scsi_get32(&c->param[20]), name_len;
	struct vt_scsi_lun *lun;

	if (tid_len < 24 || PR_MOVE_HDR + tid_len > c->param_len) {
		scsi_task_check(c->task, VT_SCSI_SENSE_ILLEGAL_REQUEST,
				VT_SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
		return -EINVAL;
	}
	name_len = vt_scsi_get16(&tid[2]);
	if ((tid[0] & 0xcf) != 0x05 || name_len == 0 || 4 + name_len > tid_len ||
	    memchr(&tid[4], '\0', name_len) == NULL || strlen((const char *)&tid[4]) == 0 ||
	    strlen((const char *)&tid[4]) > VT_SCSI_PORT_MAX_NAME) {
		return prout_param_error(c);
	}
	lun = scsi_lu_find_tport(c->lu, vt_scsi_get16(&c->param[18]));
	if (lun == NULL) {
		return prout_param_error(c);
	}
	memset(dst, 0, sizeof(*dst));
	snprintf(dst->initiator, sizeof(dst->initiator), "%s", (const char *)&tid[4]);
	snprintf(dst->tport, sizeof(dst->tport), "%s", lun->dev->name);
	dst->rtpi = lun->dev->rtpi;
	return 0;
}

static int
prout_register_and_move(struct prout_ctx *c)
{
	struct scsi_pr *pr = c->pr;
	struct scsi_nexus dst;
	struct scsi_pr_reg *r;
	bool unreg = c->param[17] & 0x02;
	int rc;

	if (c->reg == NULL || c->reg->key != c->key) {
		return prout_conflict(c);
	}
	/* Only the holder of a reservation that has one holder moves it (SPC-4 5.9.9). */
	if (!pr->reserved || pr_all_regs(pr->type) || !pr_is_holder(pr, &c->nx)) {
		return prout_conflict(c);
	}
	if (c->sa_key == 0) {
		return prout_param_error(c);
	}
	rc = prout_move_dest(c, &dst);
	if (rc != 0) {
		return rc;
	}
	if (scsi_nexus_eq(&dst, &c->nx)) {
		return prout_param_error(c);
	}
	r = pr_find(pr, &dst);
	if (r == NULL) {
		if (pr->num_regs == SCSI_MAX_PR_REGISTRANTS) {
			scsi_task_check(c->task, VT_SCSI_SENSE_ILLEGAL_REQUEST,
					VT_SCSI_ASC_INSUFFICIENT_REGISTRATION_RESOURCES);
			return -ENOSPC;
		}
		r = &pr->regs[pr->num_regs++];
		r->nx = dst;
	}
	r->key = c->sa_key;
	prout_set_holder(c, &dst, pr->type);
	if (unreg) {
		pr_remove_reg(pr, (uint32_t)(pr_find(pr, &c->nx) - pr->regs));
	}
	pr->aptpl = c->aptpl;
	pr->generation++;
	return 0;
}

static int
prout_run(struct prout_ctx *c, uint8_t sa)
{
	if (sa == VT_SCSI_PROUT_REGISTER || sa == VT_SCSI_PROUT_REGISTER_AND_IGNORE) {
		return prout_register(c, sa == VT_SCSI_PROUT_REGISTER_AND_IGNORE);
	}
	if (sa == VT_SCSI_PROUT_REGISTER_AND_MOVE) {
		return prout_register_and_move(c);
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

/* SPEC_I_PT and ALL_TG_PT are not offered (REPORT CAPABILITIES says so); APTPL is. */
static int
prout_check_flags(struct vt_scsi_task *task, uint8_t sa, const uint8_t *param, bool *aptpl)
{
	if (sa == VT_SCSI_PROUT_REGISTER_AND_MOVE) {
		if (param[17] & 0xfc) {
			return scsi_task_invalid_param_at(task, 17, 31 - __builtin_clz(param[17]));
		}
		*aptpl = param[17] & 0x01;
		return 0;
	}
	if (param[20] & (0x08 | 0x04)) {
		return scsi_task_invalid_param_at(task, 20, 31 - __builtin_clz(param[20] & 0x0c));
	}
	*aptpl = param[20] & 0x01;
	return 0;
}

void
scsi_exec_prout(struct vt_scsi_task *task)
{
	uint8_t param[PR_MAX_PARAM_LEN];
	struct scsi_lu *lu = task->lun->lu;
	struct prout_ctx c = {
		.task = task,
		.lu = lu,
		.pr = &lu->pr,
		.type = task->cdb[2] & 0x0f,
		.param = param,
		.param_len = task->xfer_needed,
	};
	uint8_t sa = task->cdb[1] & 0x1f;

	if (scsi_task_get_data_out(task, param, c.param_len) < c.param_len) {
		scsi_task_complete_check(task, VT_SCSI_SENSE_ILLEGAL_REQUEST,
					 VT_SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
		return;
	}
	if (prout_check_flags(task, sa, param, &c.aptpl) != 0) {
		scsi_task_complete(task);
		return;
	}
	scsi_task_nexus(task, &c.nx);
	c.key = vt_scsi_get64(&param[0]);
	c.sa_key = vt_scsi_get64(&param[8]);
	pthread_mutex_lock(&lu->lock);
	c.reg = pr_find(c.pr, &c.nx);
	if (prout_run(&c, sa) == 0) {
		scsi_pr_persist(lu);
	}
	scsi_lu_update_guard(lu);
	pthread_mutex_unlock(&lu->lock);
	scsi_task_complete(task);
}
