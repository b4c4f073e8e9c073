/* SPDX-License-Identifier: BSD-3-Clause */
/* Devices (targets), their LUNs and ports (I_T nexuses), unit attentions and LUN removal. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vt/event.h"
#include "vt/util.h"

#include "scsi_internal.h"

/* Relative target port identifiers in use (1..65535): one per device, the lowest free. */
static pthread_mutex_t g_rtpi_mutex = PTHREAD_MUTEX_INITIALIZER;
static uint64_t g_rtpi_used[65536 / 64];

static uint16_t
rtpi_alloc(void)
{
	uint16_t id = 0;

	pthread_mutex_lock(&g_rtpi_mutex);
	for (uint32_t i = 1; i < 65536; i++) {
		if (!(g_rtpi_used[i / 64] & (1ull << (i % 64)))) {
			g_rtpi_used[i / 64] |= 1ull << (i % 64);
			id = (uint16_t)i;
			break;
		}
	}
	pthread_mutex_unlock(&g_rtpi_mutex);
	return id;
}

static void
rtpi_free(uint16_t id)
{
	pthread_mutex_lock(&g_rtpi_mutex);
	g_rtpi_used[id / 64] &= ~(1ull << (id % 64));
	pthread_mutex_unlock(&g_rtpi_mutex);
}

struct vt_scsi_dev *
vt_scsi_dev_create(const char *name, uint32_t id)
{
	struct vt_scsi_dev *dev;

	if (name == NULL || name[0] == '\0' || strlen(name) > VT_SCSI_DEV_MAX_NAME) {
		VT_ERRLOG("cannot create scsi device: invalid name");
		return NULL;
	}
	dev = calloc(1, sizeof(*dev));
	if (dev == NULL) {
		VT_ERRLOG("cannot create scsi device '%s': out of memory", name);
		return NULL;
	}
	dev->name = vt_strdup(name);
	if (dev->name == NULL) {
		free(dev);
		return NULL;
	}
	dev->id = id;
	dev->rtpi = rtpi_alloc();
	if (dev->rtpi == 0) {
		VT_ERRLOG("cannot create scsi device '%s': no relative target port id left", name);
		free(dev->name);
		free(dev);
		return NULL;
	}
	snprintf(dev->owner, sizeof(dev->owner), "scsi device '%s'", name);
	pthread_mutex_init(&dev->ports_lock, NULL);
	TAILQ_INIT(&dev->ports);
	return dev;
}

int
vt_scsi_dev_destroy(struct vt_scsi_dev *dev)
{
	if (!TAILQ_EMPTY(&dev->ports)) {
		return -EBUSY;
	}
	for (uint32_t i = 0; i < VT_SCSI_DEV_MAX_LUNS; i++) {
		if (dev->luns[i] != NULL) {
			return -EBUSY;
		}
	}
	rtpi_free(dev->rtpi);
	pthread_mutex_destroy(&dev->ports_lock);
	free(dev->name);
	free(dev);
	return 0;
}

const char *
vt_scsi_dev_get_name(const struct vt_scsi_dev *dev)
{
	return dev->name;
}

uint32_t
vt_scsi_dev_get_id(const struct vt_scsi_dev *dev)
{
	return dev->id;
}

uint16_t
vt_scsi_dev_get_rtpi(const struct vt_scsi_dev *dev)
{
	return dev->rtpi;
}

void
vt_scsi_dev_set_claim_owner(struct vt_scsi_dev *dev, const char *owner)
{
	snprintf(dev->owner, sizeof(dev->owner), "%s", owner);
}

/* ---- unit attentions ------------------------------------------------------------------------ */

void
scsi_ua_set_all(struct vt_scsi_lun *lun, uint32_t ua, const struct vt_scsi_port *except)
{
	struct vt_scsi_port *port;

	TAILQ_FOREACH (port, &lun->dev->ports, link) {
		if (port != except) {
			port->ua[lun->id] |= ua;
		}
	}
}

static const uint16_t g_ua_asc[] = {
	VT_SCSI_ASC_POWER_ON_RESET,          VT_SCSI_ASC_BUS_DEVICE_RESET,
	VT_SCSI_ASC_I_T_NEXUS_LOSS,          VT_SCSI_ASC_RESERVATIONS_PREEMPTED,
	VT_SCSI_ASC_RESERVATIONS_RELEASED,   VT_SCSI_ASC_REGISTRATIONS_PREEMPTED,
	VT_SCSI_ASC_MODE_PARAMETERS_CHANGED, VT_SCSI_ASC_CAPACITY_DATA_CHANGED,
	VT_SCSI_ASC_REPORTED_LUNS_CHANGED,
};

bool
scsi_ua_pop(struct vt_scsi_port *port, uint32_t lun_id, uint16_t *asc)
{
	uint32_t pending = atomic_load(&port->ua[lun_id]);
	uint32_t bit;

	if (pending == 0) {
		return false;
	}
	bit = (uint32_t)__builtin_ctz(pending);
	/* A power on or reset supersedes the conditions it implies (SAM-5 5.14). */
	if (bit <= 2) {
		port->ua[lun_id] &=
			~(SCSI_UA_POWER_ON | SCSI_UA_BUS_DEVICE_RESET | SCSI_UA_I_T_NEXUS_LOSS |
			  SCSI_UA_MODE_CHANGED | SCSI_UA_CAPACITY_CHANGED);
	} else {
		port->ua[lun_id] &= ~(1u << bit);
	}
	*asc = g_ua_asc[bit];
	return true;
}

bool
scsi_ua_report(struct vt_scsi_port *port, uint32_t lun_id, struct vt_scsi_task *task)
{
	uint16_t asc;

	if (!scsi_ua_pop(port, lun_id, &asc)) {
		return false;
	}
	scsi_task_check(task, VT_SCSI_SENSE_UNIT_ATTENTION, asc);
	return true;
}

void
vt_scsi_dev_report_luns_changed(struct vt_scsi_dev *dev)
{
	for (uint32_t i = 0; i < VT_SCSI_DEV_MAX_LUNS; i++) {
		if (vt_scsi_dev_get_lun(dev, i) != NULL) {
			scsi_ua_set_all(dev->luns[i], SCSI_UA_REPORTED_LUNS_CHANGED, NULL);
		}
	}
}

/* ---- LUNs ----------------------------------------------------------------------------------- */

static void lun_event_cb(enum vt_bdev_event_type type, struct vt_bdev *bdev, void *ctx);

static int
lun_pick_id(struct vt_scsi_dev *dev, int lun_id)
{
	if (lun_id < 0) {
		for (uint32_t i = 0; i < VT_SCSI_DEV_MAX_LUNS; i++) {
			if (dev->luns[i] == NULL) {
				return (int)i;
			}
		}
		return -ENOSPC;
	}
	if (lun_id >= VT_SCSI_DEV_MAX_LUNS) {
		return -EINVAL;
	}
	return dev->luns[lun_id] != NULL ? -EEXIST : lun_id;
}

/* Opens the bdev read-only; a shared "scsi" claim then makes the descriptor writable: every
 * SCSI logical unit on a bdev shares it (reservations order their writers). */
static int
lun_open(struct vt_scsi_lun *lun, const char *bdev_name)
{
	struct vt_bdev *bdev = vt_bdev_get_by_name(bdev_name);
	bool write = bdev != NULL && !vt_bdev_is_read_only(bdev);
	int rc;

	if (bdev == NULL) {
		return -ENODEV;
	}
	rc = vt_bdev_open(bdev_name, false, lun_event_cb, lun, &lun->desc);
	if (rc != 0) {
		return rc;
	}
	if (write) {
		rc = vt_bdev_claim_shared(lun->desc, lun->dev->owner, SCSI_CLAIM_KEY);
		if (rc != 0) {
			vt_bdev_close(lun->desc);
			return rc;
		}
	}
	lun->bdev = vt_bdev_desc_get_bdev(lun->desc);
	lun->read_only = !write;
	lun->block_size = vt_bdev_get_block_size(lun->bdev);
	lun->write_cache = vt_bdev_has_write_cache(lun->bdev);
	lun->unmap = vt_bdev_io_type_supported(lun->bdev, VT_BDEV_IO_TYPE_UNMAP);
	lun->write_zeroes = vt_bdev_io_type_supported(lun->bdev, VT_BDEV_IO_TYPE_WRITE_ZEROES);
	lun->wce = vt_bdev_has_write_cache(lun->bdev);
	return 0;
}

int
vt_scsi_dev_add_lun(struct vt_scsi_dev *dev, const char *bdev_name, int lun_id,
		    vt_scsi_lun_hotremove_cb hotremove_cb, void *cb_arg)
{
	struct vt_scsi_lun *lun;
	struct vt_scsi_port *port;
	int id, rc;

	id = lun_pick_id(dev, lun_id);
	if (id < 0) {
		VT_ERRLOG("cannot add lun %d to scsi device '%s': %s", lun_id, dev->name,
			  vt_strerror(-id));
		return id;
	}
	lun = calloc(1, sizeof(*lun));
	if (lun == NULL) {
		return -ENOMEM;
	}
	lun->dev = dev;
	lun->id = (uint32_t)id;
	TAILQ_INIT(&lun->tasks);
	lun->hotremove_cb = hotremove_cb;
	lun->hotremove_arg = cb_arg;
	rc = lun_open(lun, bdev_name);
	if (rc == 0) {
		rc = scsi_lu_attach(lun);
		if (rc != 0) {
			vt_bdev_close(lun->desc);
		}
	}
	if (rc != 0) {
		VT_ERRLOG("cannot open bdev '%s' for scsi device '%s': %s", bdev_name, dev->name,
			  vt_strerror(-rc));
		free(lun);
		return rc;
	}
	dev->luns[id] = lun;
	TAILQ_FOREACH (port, &dev->ports, link) {
		port->ua[id] = SCSI_UA_POWER_ON;
	}
	VT_DEBUGLOG(scsi, "scsi device '%s': lun %d is bdev '%s'", dev->name, id, bdev_name);
	return id;
}

int
vt_scsi_dev_set_lun_resize_cb(struct vt_scsi_dev *dev, uint32_t lun_id, vt_scsi_lun_resize_cb cb,
			      void *cb_arg)
{
	struct vt_scsi_lun *lun = lun_id < VT_SCSI_DEV_MAX_LUNS ? dev->luns[lun_id] : NULL;

	if (lun == NULL) {
		return -ENOENT;
	}
	lun->resize_cb = cb;
	lun->resize_arg = cb_arg;
	return 0;
}

struct vt_scsi_lun *
vt_scsi_dev_get_lun(struct vt_scsi_dev *dev, uint32_t lun_id)
{
	struct vt_scsi_lun *lun;

	if (lun_id >= VT_SCSI_DEV_MAX_LUNS) {
		return NULL;
	}
	lun = dev->luns[lun_id];
	return lun != NULL && !lun->removing && !lun->gone ? lun : NULL;
}

bool
vt_scsi_dev_has_lun(struct vt_scsi_dev *dev, uint32_t lun_id)
{
	return vt_scsi_dev_get_lun(dev, lun_id) != NULL;
}

struct vt_bdev *
vt_scsi_lun_get_bdev(const struct vt_scsi_lun *lun)
{
	return lun->bdev;
}

uint32_t
vt_scsi_lun_tasks_in_flight(const struct vt_scsi_lun *lun)
{
	return lun->task_count;
}

static void
lun_free(void *arg)
{
	struct vt_scsi_lun *lun = arg;
	struct vt_scsi_dev *dev = lun->dev;
	struct vt_scsi_port *port;
	vt_scsi_lun_done_cb done_cb = lun->done_cb;
	void *done_arg = lun->done_arg;
	uint32_t id = lun->id;

	scsi_lu_detach(lun);
	TAILQ_FOREACH (port, &dev->ports, link) {
		if (port->ch[id] != NULL) {
			vt_bdev_put_io_channel(port->ch[id]);
			port->ch[id] = NULL;
		}
		port->ua[id] = 0;
	}
	vt_bdev_close(lun->desc);
	dev->luns[id] = NULL;
	free(lun);
	VT_DEBUGLOG(scsi, "scsi device '%s': lun %u removed", dev->name, id);
	if (done_cb != NULL) {
		done_cb(dev, id, done_arg);
	}
}

/* Called after every task of lun completed: finishes a removal once nothing is in flight. */
void
scsi_lun_task_done(struct vt_scsi_lun *lun)
{
	if (lun->removing && lun->task_count == 0 && !lun->closed) {
		lun->closed = true;
		vt_defer(&lun->done_defer, lun_free, lun);
	}
}

int
vt_scsi_dev_remove_lun(struct vt_scsi_dev *dev, uint32_t lun_id, vt_scsi_lun_done_cb done_cb,
		       void *cb_arg)
{
	struct vt_scsi_lun *lun;

	if (lun_id >= VT_SCSI_DEV_MAX_LUNS || dev->luns[lun_id] == NULL) {
		return -ENOENT;
	}
	lun = dev->luns[lun_id];
	if (lun->removing) {
		return -EALREADY;
	}
	lun->removing = true;
	lun->done_cb = done_cb;
	lun->done_arg = cb_arg;
	scsi_lun_task_done(lun);
	return 0;
}

static void
lun_event_cb(enum vt_bdev_event_type type, struct vt_bdev *bdev, void *ctx)
{
	struct vt_scsi_lun *lun = ctx;

	(void)bdev;
	switch (type) {
	case VT_BDEV_EVENT_RESIZE:
		scsi_ua_set_all(lun, SCSI_UA_CAPACITY_CHANGED, NULL);
		if (lun->resize_cb != NULL && !lun->removing && !lun->gone) {
			lun->resize_cb(lun->dev, lun->id, lun->resize_arg);
		}
		break;
	case VT_BDEV_EVENT_REMOVE:
		/* New commands see no LUN from now on; the removal itself is the transport's. */
		lun->gone = true;
		if (lun->removing) {
			break;
		}
		VT_NOTICELOG("bdev '%s' of scsi device '%s' lun %u is being removed",
			     vt_bdev_get_name(lun->bdev), lun->dev->name, lun->id);
		if (lun->hotremove_cb != NULL) {
			lun->hotremove_cb(lun->dev, lun->id, lun->hotremove_arg);
		} else {
			vt_scsi_dev_remove_lun(lun->dev, lun->id, NULL, NULL);
		}
		break;
	}
}

/* ---- ports ---------------------------------------------------------------------------------- */

struct vt_scsi_port *
vt_scsi_port_create(struct vt_scsi_dev *dev, const char *name)
{
	struct vt_scsi_port *port;

	if (name == NULL || name[0] == '\0' || strlen(name) > VT_SCSI_PORT_MAX_NAME) {
		VT_ERRLOG("cannot create port of scsi device '%s': invalid initiator name",
			  dev->name);
		return NULL;
	}
	port = calloc(1, sizeof(*port));
	if (port == NULL) {
		VT_ERRLOG("cannot create port of scsi device '%s': out of memory", dev->name);
		return NULL;
	}
	port->dev = dev;
	snprintf(port->name, sizeof(port->name), "%s", name);
	for (uint32_t i = 0; i < VT_SCSI_DEV_MAX_LUNS; i++) {
		if (dev->luns[i] != NULL) {
			port->ua[i] = SCSI_UA_POWER_ON;
		}
	}
	pthread_mutex_lock(&dev->ports_lock);
	TAILQ_INSERT_TAIL(&dev->ports, port, link);
	pthread_mutex_unlock(&dev->ports_lock);
	return port;
}

int
vt_scsi_port_destroy(struct vt_scsi_port *port)
{
	struct vt_scsi_dev *dev = port->dev;

	if (port->tasks != 0) {
		return -EBUSY;
	}
	for (uint32_t i = 0; i < VT_SCSI_DEV_MAX_LUNS; i++) {
		if (port->ch[i] != NULL) {
			vt_bdev_put_io_channel(port->ch[i]);
		}
		if (dev->luns[i] != NULL) {
			scsi_pr_port_gone(dev->luns[i], port);
		}
	}
	pthread_mutex_lock(&dev->ports_lock);
	TAILQ_REMOVE(&dev->ports, port, link);
	pthread_mutex_unlock(&dev->ports_lock);
	free(port);
	return 0;
}

/* ---- commands to a LUN that does not exist ------------------------------------------------- */

static void
no_lun_inquiry(struct vt_scsi_task *task)
{
	uint8_t data[36] = { 0 };
	uint32_t alloc = vt_scsi_get16(&task->cdb[3]);

	if ((task->cdb[1] & 0x01) || task->cdb[2] != 0) {
		scsi_task_complete_check(task, VT_SCSI_SENSE_ILLEGAL_REQUEST,
					 VT_SCSI_ASC_LUN_NOT_SUPPORTED);
		return;
	}
	data[0] = 0x7f; /* qualifier 3: no logical unit here; type 1Fh: unknown */
	data[2] = 0x06;
	data[3] = 0x12;
	data[4] = sizeof(data) - 5;
	memcpy(&data[8], "VTARGET ", 8);
	scsi_task_complete_data(task, data, VT_MIN(alloc, (uint32_t)sizeof(data)));
}

static void
no_lun_request_sense(struct vt_scsi_task *task)
{
	uint8_t data[VT_SCSI_SENSE_MAX];
	uint32_t len = scsi_sense_build(data, task->cdb[1] & 0x01, VT_SCSI_SENSE_ILLEGAL_REQUEST,
					VT_SCSI_ASC_LUN_NOT_SUPPORTED, false, 0);

	scsi_task_complete_data(task, data, VT_MIN(len, (uint32_t)task->cdb[4]));
}

void
scsi_dev_exec_no_lun(struct vt_scsi_task *task, const struct scsi_cmd *cmd)
{
	uint8_t opcode = task->cdb[0];

	if (opcode == VT_SCSI_OP_INQUIRY && task->cdb_len >= 6) {
		no_lun_inquiry(task);
	} else if (opcode == VT_SCSI_OP_REQUEST_SENSE && task->cdb_len >= 6) {
		no_lun_request_sense(task);
	} else if (opcode == VT_SCSI_OP_REPORT_LUNS && cmd != NULL && task->port != NULL) {
		task->cmd = cmd;
		if (cmd->parse(task) == 0) {
			cmd->execute(task);
			return;
		}
		scsi_task_complete(task);
	} else {
		scsi_task_complete_check(task, VT_SCSI_SENSE_ILLEGAL_REQUEST,
					 VT_SCSI_ASC_LUN_NOT_SUPPORTED);
	}
}

void
vt_scsi_task_complete_no_lun(struct vt_scsi_task *task)
{
	uint8_t empty[8] = { 0 };

	scsi_task_reset_results(task);
	task->port = NULL;
	task->lun = NULL;
	if (task->cdb[0] == VT_SCSI_OP_REPORT_LUNS && task->cdb_len >= 12) {
		scsi_task_complete_data(task, empty,
					VT_MIN(vt_scsi_get32(&task->cdb[6]), (uint32_t)8));
		return;
	}
	scsi_dev_exec_no_lun(task, NULL);
}
