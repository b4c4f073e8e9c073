/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_SCSI_H
#define VT_SCSI_H

/*
 * The SCSI target layer, independent of any transport. A device (a SCSI target) holds logical
 * units, each backed by a bdev. A transport creates one port per I_T nexus (an initiator talking
 * to the device), embeds a struct vt_scsi_task in its own request object, fills in the CDB and the
 * data buffer and queues it; the task's callback runs with status and sense once it is done.
 *
 * Threads: a device and everything hanging from it (LUNs, ports, tasks) belong to the reactor that
 * created the device. Every function here must be called on that reactor; completion callbacks
 * run there too, never from inside vt_scsi_dev_queue_task. A transport that serves a device from
 * another reactor creates the device there (it owns no lock-free shared state otherwise).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include "vt/bdev.h"
#include "vt/event.h"
#include "vt/scsi_spec.h"

#define VT_SCSI_DEV_MAX_NAME 255
#define VT_SCSI_DEV_MAX_LUNS 256
#define VT_SCSI_CDB_MAX 32
#define VT_SCSI_PORT_MAX_NAME 223 /* an iSCSI-style name fits a TransportID */

struct vt_scsi_dev;
struct vt_scsi_lun;
struct vt_scsi_port;
struct vt_scsi_task;
struct vt_scsi_tmf;

enum vt_scsi_dir {
	VT_SCSI_DIR_NONE = 0,
	VT_SCSI_DIR_TO_DEV,   /* data-out: the initiator sends data */
	VT_SCSI_DIR_FROM_DEV, /* data-in: the target returns data */
};

typedef void (*vt_scsi_task_cb)(struct vt_scsi_task *task);

/*
 * One command. The transport fills the fields up to "results" and calls vt_scsi_dev_queue_task;
 * lib/scsi owns the rest until cb runs. The transport keeps iovs valid until then.
 */
struct vt_scsi_task {
	uint8_t cdb[VT_SCSI_CDB_MAX];
	uint32_t cdb_len;   /* bytes of cdb that the initiator sent (>= the opcode's size) */
	uint64_t lun_id;    /* decoded LUN number (0..VT_SCSI_DEV_MAX_LUNS-1 exist) */
	uint64_t tag;       /* the transport's task tag, for ABORT TASK / QUERY TASK */
	struct iovec *iovs; /* the data buffer */
	int iovcnt;
	enum vt_scsi_dir dir;  /* direction of the data buffer */
	uint32_t transfer_len; /* bytes of the data buffer (the expected transfer length) */
	vt_scsi_task_cb cb;
	void *cb_arg;

	/* Results, valid in cb. */
	uint8_t status; /* VT_SCSI_STATUS_* */
	uint8_t sense[VT_SCSI_SENSE_MAX];
	uint32_t sense_len;
	uint32_t data_transferred; /* bytes moved in the buffer's direction */
	/* transfer_len - bytes the command wanted: > 0 underflow, < 0 overflow (bytes not moved). */
	int64_t residual;

	/* lib/scsi's own, set by vt_scsi_dev_queue_task. */
	struct vt_scsi_port *port;
	struct vt_scsi_lun *lun;
	TAILQ_ENTRY(vt_scsi_task) link; /* on the LUN's list of tasks in flight */
	const void *cmd;                /* the command table entry */
	struct vt_bdev_io_wait_entry io_wait;
	struct vt_defer defer; /* completion deferred to the next reactor iteration */
	void (*resubmit)(struct vt_scsi_task *task); /* retried after -ENOMEM */
	struct vt_scsi_tmf *tmf; /* a task management function waiting for this one */
	bool aborted;
	bool fua;
	uint64_t lba; /* parsed LBA range */
	uint64_t num_blocks;
	uint64_t op_lba; /* progress of multi-step commands */
	uint64_t op_left;
	uint64_t op_chunk; /* blocks of the I/O in flight */
	uint32_t op_index;
	uint32_t op_count;
	uint32_t xfer_needed; /* bytes the CDB asks to move */
	void *buf;            /* a bounce or parameter buffer (multi-step commands only) */
	uint32_t buf_len;
	struct iovec buf_iov[2];
	struct iovec *split_iovs; /* COMPARE AND WRITE: the buffer cut in two */
};

/* ---- devices ------------------------------------------------------------------------------ */

/* Called when a LUN's bdev is hot-removed: the LUN now answers LOGICAL UNIT NOT SUPPORTED. The
 * transport tells the initiator and calls vt_scsi_dev_remove_lun (done when the LUN is gone). */
typedef void (*vt_scsi_lun_hotremove_cb)(struct vt_scsi_dev *dev, uint32_t lun_id, void *arg);
/* A LUN removal finished: no task references it any more and its bdev is closed. */
typedef void (*vt_scsi_lun_done_cb)(struct vt_scsi_dev *dev, uint32_t lun_id, void *arg);
/* A LUN's bdev changed size; every port already has CAPACITY DATA HAS CHANGED pending. */
typedef void (*vt_scsi_lun_resize_cb)(struct vt_scsi_dev *dev, uint32_t lun_id, void *arg);

/* name (1..VT_SCSI_DEV_MAX_NAME characters) names the target in VPD 83h and is the target port
 * of persistent reservations (keep it stable across restarts for APTPL); id is the transport's
 * target number. NULL on a bad name or ENOMEM. */
struct vt_scsi_dev *vt_scsi_dev_create(const char *name, uint32_t id);
/* -EBUSY while a LUN or a port exists; then frees dev. */
int vt_scsi_dev_destroy(struct vt_scsi_dev *dev);
const char *vt_scsi_dev_get_name(const struct vt_scsi_dev *dev);
uint32_t vt_scsi_dev_get_id(const struct vt_scsi_dev *dev);
/* The relative target port identifier of the device (1..65535, unique in the process): a
 * transport that exposes one bdev through several devices gives the guest distinct ports. */
uint16_t vt_scsi_dev_get_rtpi(const struct vt_scsi_dev *dev);
/* Names the claimer of the LUNs' bdevs in messages (default "scsi device '<name>'"). */
void vt_scsi_dev_set_claim_owner(struct vt_scsi_dev *dev, const char *owner);

/*
 * Opens bdev_name writable (read-only when the bdev is) under a shared "scsi" claim and adds it as
 * LUN lun_id (-1: the lowest free number). Any number of LUNs, of any device, may share a bdev:
 * they are one logical unit. Returns the LUN number, or -EINVAL (bad id), -EEXIST (id in use),
 * -ENODEV (no such bdev), -EBUSY (claimed by another user than SCSI), -ENOMEM. Every port gets a
 * POWER ON unit attention for it; hotremove_cb may be NULL (the LUN then removes itself).
 */
int vt_scsi_dev_add_lun(struct vt_scsi_dev *dev, const char *bdev_name, int lun_id,
			vt_scsi_lun_hotremove_cb hotremove_cb, void *cb_arg);
/*
 * Starts removing a LUN: new commands get LOGICAL UNIT NOT SUPPORTED, tasks in flight complete,
 * then the bdev is closed and done_cb runs (possibly before this returns, when nothing is in
 * flight). -ENOENT for no such LUN, -EALREADY when a removal is under way.
 */
int vt_scsi_dev_remove_lun(struct vt_scsi_dev *dev, uint32_t lun_id, vt_scsi_lun_done_cb done_cb,
			   void *cb_arg);
/* Sets (cb NULL: clears) the function told about resizes of LUN lun_id. -ENOENT: no LUN. */
int vt_scsi_dev_set_lun_resize_cb(struct vt_scsi_dev *dev, uint32_t lun_id,
				  vt_scsi_lun_resize_cb cb, void *cb_arg);
/* The LUN lun_id if it exists and is not being removed, else NULL. */
struct vt_scsi_lun *vt_scsi_dev_get_lun(struct vt_scsi_dev *dev, uint32_t lun_id);
bool vt_scsi_dev_has_lun(struct vt_scsi_dev *dev, uint32_t lun_id);
struct vt_bdev *vt_scsi_lun_get_bdev(const struct vt_scsi_lun *lun);
/* Tasks of any port still referencing the LUN. */
uint32_t vt_scsi_lun_tasks_in_flight(const struct vt_scsi_lun *lun);
/* Sets REPORTED LUNS DATA HAS CHANGED for every port on every LUN of dev. */
void vt_scsi_dev_report_luns_changed(struct vt_scsi_dev *dev);

/*
 * The folder of the persistent reservation state files (APTPL, doc/scsi.md): <dir>/<bdev>.pr.
 * NULL or never set: APTPL is accepted but not persisted. Any thread; -ENAMETOOLONG.
 */
int vt_scsi_set_pr_dir(const char *dir);

/* ---- ports (I_T nexuses) ------------------------------------------------------------------- */

/*
 * An initiator's nexus with dev: name (e.g. "iqn...,i,0x1" or "naa.5001405...") identifies it for
 * persistent reservations; two ports with the same name are the same initiator. Every LUN of dev
 * reports POWER ON, RESET OR BUS DEVICE RESET OCCURRED to it first. NULL on bad input or ENOMEM.
 */
struct vt_scsi_port *vt_scsi_port_create(struct vt_scsi_dev *dev, const char *name);
/* -EBUSY while tasks of the port are in flight; then releases its channels and frees it. */
int vt_scsi_port_destroy(struct vt_scsi_port *port);

/*
 * Executes task on the calling reactor (the device's) for port's initiator: sets task->port and
 * runs the command; task->cb always runs later, on this reactor.
 */
void vt_scsi_dev_queue_task(struct vt_scsi_port *port, struct vt_scsi_task *task);

/*
 * Answers INQUIRY for a LUN that the transport knows does not exist (virtio-scsi: a target with no
 * device): peripheral qualifier 3, device type 1Fh; any other command gets LOGICAL UNIT NOT
 * SUPPORTED. Completes task (cb runs later). Works without a device.
 */
void vt_scsi_task_complete_no_lun(struct vt_scsi_task *task);

/* ---- task management ----------------------------------------------------------------------- */

enum vt_scsi_tmf_func {
	VT_SCSI_TMF_ABORT_TASK,
	VT_SCSI_TMF_ABORT_TASK_SET,
	VT_SCSI_TMF_CLEAR_TASK_SET,
	VT_SCSI_TMF_LOGICAL_UNIT_RESET,
	VT_SCSI_TMF_I_T_NEXUS_RESET,
	VT_SCSI_TMF_QUERY_TASK,
	VT_SCSI_TMF_QUERY_TASK_SET,
};

enum vt_scsi_tmf_response {
	VT_SCSI_TMF_COMPLETE = 0,  /* done (ABORT TASK of an unknown tag included) */
	VT_SCSI_TMF_SUCCEEDED,     /* QUERY TASK(SET): the task(s) exist */
	VT_SCSI_TMF_REJECTED,      /* function not supported */
	VT_SCSI_TMF_INCORRECT_LUN, /* no such LUN */
};

/*
 * A task management function, embedded in the transport's request. Tasks it aborts complete with
 * status TASK ABORTED (their cb runs) before cb(tmf) runs; the bdev layer cannot cancel I/O it
 * has started, so aborted tasks finish their I/O first.
 */
struct vt_scsi_tmf {
	enum vt_scsi_tmf_func func;
	uint64_t lun_id;
	uint64_t tag; /* ABORT TASK, QUERY TASK */
	void (*cb)(struct vt_scsi_tmf *tmf);
	void *cb_arg;
	enum vt_scsi_tmf_response response; /* valid in cb */
	uint32_t pending;                   /* lib/scsi's: aborted tasks not yet complete */
	struct vt_scsi_port *port;          /* lib/scsi's */
	struct vt_defer defer;              /* lib/scsi's */
};

/* Runs tmf for port's initiator; tmf->cb runs later on this reactor. */
void vt_scsi_port_task_mgmt(struct vt_scsi_port *port, struct vt_scsi_tmf *tmf);

/* ---- sense helpers for transports ---------------------------------------------------------- */

/* Makes task CHECK CONDITION with the given sense in fixed format. */
void vt_scsi_task_set_check(struct vt_scsi_task *task, uint8_t key, uint16_t asc_ascq);

#endif
