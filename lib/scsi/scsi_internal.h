/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SCSI_INTERNAL_H
#define SCSI_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/queue.h>

#include "vt/bdev.h"
#include "vt/log.h"
#include "vt/scsi.h"
#include "vt/scsi_spec.h"

VT_LOG_DECLARE_COMPONENT(scsi);

/* Limits advertised in the Block Limits VPD page and enforced by the parsers. */
#define SCSI_MAX_XFER_BYTES (8u * 1024 * 1024) /* largest READ/WRITE/VERIFY transfer */
#define SCSI_OPT_XFER_BYTES (128u * 1024)
#define SCSI_MAX_UNMAP_LBAS (1024u * 1024) /* per UNMAP command, summed over descriptors */
#define SCSI_MAX_UNMAP_DESCS 256u
/* WRITE SAME writes no more than a WRITE may: an initiator can then check any WRITE SAME range
 * with one READ (libiscsi's WriteSame16.Unmap does). */
#define SCSI_MAX_WRITE_SAME_BYTES SCSI_MAX_XFER_BYTES
#define SCSI_WS_CHUNK_BYTES (256u * 1024) /* WRITE SAME pattern buffer */
#define SCSI_MAX_PR_REGISTRANTS 32
#define SCSI_MAX_ALLOC_BYTES 65536u   /* buffers for non-block parameter data */
#define SCSI_MAX_LBA_STATUS_DESCS 64u /* GET LBA STATUS descriptors per command */
/* WRITE ATOMIC(16): MAXIMUM ATOMIC TRANSFER LENGTH is the MAXIMUM TRANSFER LENGTH (the bdev
 * layer's range lock makes any write atomic); no alignment, granularity or boundary rules. */
#define SCSI_MAX_ATOMIC_XFER_BYTES SCSI_MAX_XFER_BYTES
#define SCSI_XCOPY_MAX_HELD 16 /* EXTENDED COPY results held per logical unit */

/* Unit attention conditions per I_T nexus and LUN, reported lowest bit first. */
enum scsi_ua {
	SCSI_UA_POWER_ON = 1u << 0,
	SCSI_UA_BUS_DEVICE_RESET = 1u << 1,
	SCSI_UA_I_T_NEXUS_LOSS = 1u << 2,
	SCSI_UA_RES_PREEMPTED = 1u << 3,
	SCSI_UA_RES_RELEASED = 1u << 4,
	SCSI_UA_REG_PREEMPTED = 1u << 5,
	SCSI_UA_MODE_CHANGED = 1u << 6,
	SCSI_UA_CAPACITY_CHANGED = 1u << 7,
	SCSI_UA_REPORTED_LUNS_CHANGED = 1u << 8,
};

struct vt_scsi_port {
	struct vt_scsi_dev *dev;
	char name[VT_SCSI_PORT_MAX_NAME + 1];
	uint32_t tasks; /* in flight */
	bool destroyed;
	TAILQ_ENTRY(vt_scsi_port) link;
	/* enum scsi_ua bits per LUN; other reactors OR in the reservation ones (scsi_lu.c). */
	_Atomic uint32_t ua[VT_SCSI_DEV_MAX_LUNS];
	struct vt_bdev_channel *ch[VT_SCSI_DEV_MAX_LUNS]; /* taken at first I/O */
};

/* An I_T nexus as reservations know it: the initiator port's name and the target port's (the
 * device's name, stable across restarts) with its relative target port identifier. */
struct scsi_nexus {
	char initiator[VT_SCSI_PORT_MAX_NAME + 1];
	char tport[VT_SCSI_DEV_MAX_NAME + 1];
	uint16_t rtpi;
};

struct scsi_pr_reg {
	uint64_t key;
	struct scsi_nexus nx;
};

struct scsi_pr {
	uint32_t generation;
	uint32_t num_regs;
	struct scsi_pr_reg regs[SCSI_MAX_PR_REGISTRANTS];
	bool reserved;
	uint8_t type;
	bool aptpl; /* the state is persisted (APTPL) */
	/* The holder (unused for the all-registrants types, where every registrant is). */
	struct scsi_nexus holder;
};

/* The status of an EXTENDED COPY (LID1) for RECEIVE COPY RESULTS (SPC-4 6.18.3). A list
 * identifier names a copy among those of one I_T nexus (SPC-4 6.4.3.2): the issuing nexus is
 * part of the key, the LUN (path) is not. */
struct scsi_copy_result {
	bool used;
	bool done;   /* COPY MANAGER STATUS: in progress, or completed */
	bool failed; /* ... with an error */
	uint8_t list_id;
	uint16_t segments; /* segments processed */
	uint64_t bytes;    /* bytes written to the destinations */
	struct scsi_nexus nx;
};

/* scsi_lu.sanitize_state bits. */
#define SCSI_LU_SANITIZING 0x1u      /* a SANITIZE operation runs */
#define SCSI_LU_SANITIZE_FAILED 0x2u /* the last one failed: the failure mode */

/*
 * One logical unit: every LUN on the same bdev is a path to it (scsi_lu.c). Found by the bdev;
 * lives while a LUN uses it.
 */
struct scsi_lu {
	struct vt_bdev *bdev;
	uint32_t refs; /* LUNs attached and messages in flight (under the global list's mutex) */
	TAILQ_ENTRY(scsi_lu) link;
	pthread_mutex_t lock; /* everything below */
	/* A reservation or registration exists: commands take the lock to check for conflicts. */
	atomic_bool guarded;
	struct scsi_pr pr;
	struct vt_scsi_port *spc2_holder; /* the SPC-2 reservation's nexus, or NULL */
	TAILQ_HEAD(, vt_scsi_lun) luns;
	/* SANITIZE (scsi_sanitize.c): SCSI_LU_SANITIZING / _FAILED bits, changed under lock and
	 * read lock-free by every path; the progress of the running operation (of 65536), which
	 * lives on the reactor of the path that started it; the AUSE bit of the last one. */
	_Atomic uint32_t sanitize_state;
	_Atomic uint32_t sanitize_progress;
	bool sanitize_ause;
	/* EXTENDED COPY results held for RECEIVE COPY RESULTS, the oldest replaced first. */
	struct scsi_copy_result copy_results[SCSI_XCOPY_MAX_HELD];
	uint32_t copy_results_next;
};

struct vt_scsi_lun {
	struct vt_scsi_dev *dev;
	uint32_t id;
	struct vt_bdev_desc *desc;
	struct vt_bdev *bdev;
	bool removing;                    /* vt_scsi_dev_remove_lun was called */
	bool gone;                        /* the bdev is being hot-removed */
	bool closed;                      /* desc closed (removal done) */
	TAILQ_HEAD(, vt_scsi_task) tasks; /* in flight */
	uint32_t task_count;
	vt_scsi_lun_hotremove_cb hotremove_cb;
	void *hotremove_arg;
	vt_scsi_lun_done_cb done_cb;
	void *done_arg;
	vt_scsi_lun_resize_cb resize_cb;
	void *resize_arg;
	struct vt_defer done_defer;
	/* The logical unit this LUN is a path to, and this LUN on its list. */
	struct scsi_lu *lu;
	TAILQ_ENTRY(vt_scsi_lun) lu_link;
	uint32_t reactor; /* the device's */
	/* Mode parameters of the logical unit, copied to every path (scsi_lu_set_mode). */
	atomic_bool wce;
	atomic_bool d_sense;
	/* Cached properties of the bdev. */
	bool unmap; /* UNMAP supported: LBPME, LBPU, LBPWS */
	bool write_zeroes;
	bool read_only;
	uint32_t block_size; /* never changes while the bdev is open */
	bool write_cache;    /* the bdev has a volatile cache (a property set at its creation) */
};

#define SCSI_CLAIM_KEY "scsi" /* the key of the shared claim every LUN takes on its bdev */

struct vt_scsi_dev {
	char *name;
	uint32_t id;
	uint16_t rtpi; /* relative target port identifier, unique in the process */
	/* Held while ports are added or removed, and by other reactors walking them. */
	pthread_mutex_t ports_lock;
	char owner[VT_SCSI_DEV_MAX_NAME + 32]; /* the claim owner of its LUNs' bdevs */
	struct vt_scsi_lun *luns[VT_SCSI_DEV_MAX_LUNS];
	TAILQ_HEAD(, vt_scsi_port) ports;
};

/* ---- command table -------------------------------------------------------------------------- */

enum scsi_cmd_flags {
	SCSI_F_NO_UA = 1u << 0,  /* INQUIRY, REPORT LUNS, REQUEST SENSE */
	SCSI_F_NO_LUN = 1u << 1, /* runs without a LUN (lun may be NULL) */
	SCSI_F_DATA_IN = 1u << 2,
	SCSI_F_DATA_OUT = 1u << 3,
	SCSI_F_LBA = 1u << 4,           /* task->lba / num_blocks are range checked */
	SCSI_F_BLOCK_DATA = 1u << 5,    /* the whole xfer_needed must fit the buffer */
	SCSI_F_MEDIUM_WRITE = 1u << 6,  /* refused on a read-only LUN */
	SCSI_F_PR_READ = 1u << 7,       /* reservation class: reads the medium */
	SCSI_F_PR_WRITE = 1u << 8,      /* reservation class: writes the medium or the state */
	SCSI_F_PR_ALLOWED = 1u << 9,    /* never a persistent reservation conflict */
	SCSI_F_SPC2_ALLOWED = 1u << 10, /* never an SPC-2 reservation conflict */
	SCSI_F_PR_SELF = 1u << 11,      /* PERSISTENT RESERVE: checks itself */
};

struct scsi_cmd {
	const char *name;
	uint8_t cdb_len;
	uint8_t sa; /* service action (entries of a service action table) */
	uint16_t flags;
	/* Decodes the CDB into the task; 0, or a negative value with CHECK CONDITION set. */
	int (*parse)(struct vt_scsi_task *task);
	void (*execute)(struct vt_scsi_task *task);
	/* CDB usage data of REPORT SUPPORTED OPERATION CODES and the reserved-bit mask: a bit clear
	 * here and set in the CDB is INVALID FIELD IN CDB. usage[0] is the opcode; for service
	 * actions usage[1] is the service action itself (SPC-4 6.35.3), which is also a valid mask
	 * since only that value reaches the entry. */
	uint8_t usage[16];
	/* Opcodes with service actions: the table of them (NULL otherwise). */
	const struct scsi_cmd *sa_cmds;
	uint8_t sa_count;
};

/* scsi_cmd.c */
const struct scsi_cmd *scsi_cmd_lookup(uint8_t opcode);
const struct scsi_cmd *scsi_cmd_lookup_sa(const struct scsi_cmd *op, uint8_t sa);
uint8_t scsi_cmd_sa(const struct scsi_cmd *op, const uint8_t *cdb);

/* The byte of a block command's TRANSFER LENGTH field (for field pointers). */
uint16_t scsi_cmd_length_field(const uint8_t *cdb);

/* The one LBA range check: [lba, lba + n) lies on the medium. */
/* [lba, lba + n) lies within the LUN's bdev (whose size can change: read each time). */
static inline bool
scsi_lba_range_ok(const struct vt_scsi_lun *lun, uint64_t lba, uint64_t n)
{
	uint64_t blocks = vt_bdev_get_num_blocks(lun->bdev);

	return lba <= blocks && n <= blocks - lba;
}
/* scsi_sbc.c: LBA and transfer length of the standard CDB layouts. */
void scsi_sbc_decode(struct vt_scsi_task *task);

/* scsi_task.c */
void scsi_task_check(struct vt_scsi_task *task, uint8_t key, uint16_t asc);
void scsi_task_check_info(struct vt_scsi_task *task, uint8_t key, uint16_t asc, uint64_t info);
int scsi_task_invalid_cdb(struct vt_scsi_task *task);
/* INVALID FIELD IN CDB with a field pointer to byte (and bit, or -1); returns -EINVAL. */
int scsi_task_invalid_cdb_at(struct vt_scsi_task *task, uint16_t byte, int bit);
/* INVALID FIELD IN PARAMETER LIST with a field pointer to byte (and bit, or -1); -EINVAL. */
int scsi_task_invalid_param_at(struct vt_scsi_task *task, uint16_t byte, int bit);
void scsi_task_complete(struct vt_scsi_task *task);
void scsi_task_complete_check(struct vt_scsi_task *task, uint8_t key, uint16_t asc);
/* Copies len bytes of data-in (already cut to the allocation length) and completes GOOD. */
void scsi_task_complete_data(struct vt_scsi_task *task, const void *data, uint32_t len);
/* Copies the data-out buffer (up to len bytes) into buf; returns the bytes copied. */
uint32_t scsi_task_get_data_out(struct vt_scsi_task *task, void *buf, uint32_t len);
void scsi_task_io_failed(struct vt_scsi_task *task, struct vt_bdev_io *io);
/*
 * A task's results and the fields its completion reads, cleared as a command starts: what every
 * path needs, the one-step READ / WRITE included (the parser's own fields are cleared on the
 * other paths only: scsi_cmd.c).
 */
static inline void
scsi_task_reset_results(struct vt_scsi_task *task)
{
	task->status = VT_SCSI_STATUS_GOOD;
	task->sense_len = 0;
	task->data_transferred = 0;
	task->residual = task->transfer_len;
	task->tmf = NULL;
	task->aborted = false;
	task->buf = NULL;
	task->split_iovs = NULL;
	memset(&task->defer, 0, sizeof(task->defer));
}

/* Handles a bdev submit error: -ENOMEM queues a retry of task->resubmit, others fail the task. */
void scsi_task_submit_error(struct vt_scsi_task *task, int rc);
struct vt_bdev_channel *scsi_task_channel(struct vt_scsi_task *task);

/* scsi_sense.c */
uint32_t scsi_sense_build(uint8_t *buf, bool desc, uint8_t key, uint16_t asc, bool info_valid,
			  uint64_t info);
uint32_t scsi_sense_build_sks(uint8_t *buf, bool desc, uint8_t key, uint16_t asc, bool info_valid,
			      uint64_t info, const uint8_t *sks);
void scsi_sense_field_pointer(uint8_t *sks, bool cdb, uint16_t byte, int bit);

/* scsi_dev.c */
void scsi_lun_task_done(struct vt_scsi_lun *lun);
void scsi_ua_set_all(struct vt_scsi_lun *lun, uint32_t ua, const struct vt_scsi_port *except);
/* Pops the highest-priority unit attention of port on lun; true with *asc if there was one. */
bool scsi_ua_pop(struct vt_scsi_port *port, uint32_t lun_id, uint16_t *asc);
/* Pops the highest-priority unit attention of port on lun into task's sense; true if one. */
bool scsi_ua_report(struct vt_scsi_port *port, uint32_t lun_id, struct vt_scsi_task *task);
/* The peripheral-qualifier-3 INQUIRY answer or LUN NOT SUPPORTED for a missing LUN. */
void scsi_dev_exec_no_lun(struct vt_scsi_task *task, const struct scsi_cmd *cmd);

/* scsi_spc.c */
int scsi_spc_report_luns_data(struct vt_scsi_dev *dev, uint8_t *buf, uint32_t len, uint8_t select);
void scsi_spc_inquiry_std(struct vt_scsi_lun *lun, uint8_t *buf);

/* scsi_lu.c */
/* Joins lun (its bdev open) to its bdev's logical unit; -ENOMEM. */
int scsi_lu_attach(struct vt_scsi_lun *lun);
void scsi_lu_detach(struct vt_scsi_lun *lun);
/* Under lu->lock: recomputes lu->guarded after a reservation change. */
void scsi_lu_update_guard(struct scsi_lu *lu);
/* Under lu->lock: sets ua on every nexus of every path, except port (NULL: none). */
void scsi_lu_ua_all(struct scsi_lu *lu, uint32_t ua, const struct vt_scsi_port *except);
/* Under lu->lock: sets ua on the paths of nexus nx. */
void scsi_lu_ua_nexus(struct scsi_lu *lu, const struct scsi_nexus *nx, uint32_t ua);
/* Under lu->lock: marks aborted the tasks of nexus nx (but self) on every path, other reactors'
 * by a message. */
void scsi_lu_abort_nexus(struct scsi_lu *lu, const struct scsi_nexus *nx,
			 const struct vt_scsi_task *self);
/* The relative target port identifiers of every path (one target port group each, all
 * active/optimized), up to max; returns how many. */
uint32_t scsi_lu_tports(struct scsi_lu *lu, uint16_t *rtpi, uint32_t max);
/* Under lu->lock: the path whose device has relative target port identifier rtpi, or NULL. */
struct vt_scsi_lun *scsi_lu_find_tport(struct scsi_lu *lu, uint16_t rtpi);
/* Sets the mode parameters on every path; MODE PARAMETERS CHANGED for all nexuses but except
 * (NULL: no unit attention). */
void scsi_lu_set_mode(struct vt_scsi_lun *lun, bool wce, bool d_sense,
		      const struct vt_scsi_port *except);
/* LOGICAL UNIT RESET through from: SPC-2 reservation and mode parameters reset on every path,
 * BUS DEVICE RESET for every other nexus. */
void scsi_lu_reset(struct vt_scsi_lun *lun, const struct vt_scsi_port *from);

/* scsi_pr.c */
bool scsi_nexus_eq(const struct scsi_nexus *a, const struct scsi_nexus *b);
/* The nexus of task: its port's initiator, its device as the target port. */
void scsi_task_nexus(const struct vt_scsi_task *task, struct scsi_nexus *nx);
/* True when task conflicts with a reservation on its LUN (RESERVATION CONFLICT was set). */
bool scsi_pr_check(struct vt_scsi_task *task, const struct scsi_cmd *cmd);
void scsi_pr_port_gone(struct vt_scsi_lun *lun, struct vt_scsi_port *port);
/* RESERVE(6/10) and RELEASE(6/10): the SPC-2 reservation of task's nexus. */
void scsi_pr_spc2_reserve(struct vt_scsi_task *task);
void scsi_pr_spc2_release(struct vt_scsi_task *task);

/* scsi_pr_file.c: APTPL */
/* Fills lu->pr from the APTPL file of its bdev, if any (a new logical unit). */
void scsi_pr_load(struct scsi_lu *lu);
/* Under lu->lock, after a PERSISTENT RESERVE OUT changed the state: writes it to the APTPL file
 * when APTPL is on, removes the file when it is off. */
void scsi_pr_persist(struct scsi_lu *lu);

/* scsi_tmf.c */
void scsi_tmf_task_done(struct vt_scsi_task *task);

/* scsi_sanitize.c */
/* True (CHECK CONDITION set) when a sanitize operation in progress or failed refuses cmd. */
bool scsi_sanitize_check(struct vt_scsi_task *task, const struct scsi_cmd *cmd);
/* REQUEST SENSE while a sanitize of lun's logical unit runs (through any path): SANITIZE IN
 * PROGRESS with the progress indication in buf; returns its length, 0 when none runs. */
uint32_t scsi_sanitize_sense(const struct vt_scsi_lun *lun, uint8_t *buf, bool desc);
/* A sanitize operation runs on the logical unit of lun (lock-free). */
static inline bool
scsi_lu_sanitizing(const struct vt_scsi_lun *lun)
{
	return atomic_load_explicit(&lun->lu->sanitize_state, memory_order_acquire) &
	       SCSI_LU_SANITIZING;
}

/* scsi_vpd.c */
/* True when desig (a designation descriptor, SPC-4 7.8.6.1) names lun (logical unit
 * association) in its Device Identification VPD page. */
bool scsi_vpd_lun_has_designator(struct vt_scsi_lun *lun, const uint8_t *desig);

/* Per-file command handlers named in the command table. */
/* The bdev completion of a one-I/O data command: GOOD with the whole transfer, or the sense of
 * the failure; the transport's callback runs now (scsi_task.c). */
void scsi_task_rw_done(struct vt_bdev_io *io, bool success, void *arg);

/* READ / WRITE's submission (scsi_sbc.c), also the retry after -ENOMEM. */
void scsi_sbc_submit_rw(struct vt_scsi_task *task);

/* A write's flags: FUA when asked, or when the initiator turned a volatile cache off (WCE 0). */
static inline uint32_t
scsi_sbc_write_flags(const struct vt_scsi_task *task)
{
	bool fua = task->fua || (task->lun->write_cache && !task->lun->wce);

	return fua ? VT_BDEV_IO_FLAG_FUA : 0;
}

/* Submits a READ's or WRITE's one bdev I/O over iov; the bdev layer's return code. */
static inline int
scsi_sbc_rw_io(struct vt_scsi_task *task, struct vt_bdev_channel *ch, struct iovec *iov, int cnt,
	       bool write)
{
	struct vt_scsi_lun *lun = task->lun;

	if (write) {
		return vt_bdev_writev_blocks(lun->desc, ch, iov, cnt, task->lba, task->num_blocks,
					     scsi_sbc_write_flags(task), scsi_task_rw_done, task);
	}
	return vt_bdev_readv_blocks(lun->desc, ch, iov, cnt, task->lba, task->num_blocks,
				    scsi_task_rw_done, task);
}

#define SCSI_HANDLER(name)                                \
	int scsi_parse_##name(struct vt_scsi_task *task); \
	void scsi_exec_##name(struct vt_scsi_task *task)

SCSI_HANDLER(test_unit_ready);
SCSI_HANDLER(request_sense);
SCSI_HANDLER(inquiry);
SCSI_HANDLER(report_luns);
SCSI_HANDLER(start_stop_unit);
SCSI_HANDLER(prevent_allow);
SCSI_HANDLER(report_opcodes);
SCSI_HANDLER(report_tpgs);
SCSI_HANDLER(reserve);
SCSI_HANDLER(release);
SCSI_HANDLER(mode_sense);
SCSI_HANDLER(mode_select);
SCSI_HANDLER(read_capacity_10);
SCSI_HANDLER(read_capacity_16);
SCSI_HANDLER(rw);
SCSI_HANDLER(verify);
SCSI_HANDLER(write_verify);
SCSI_HANDLER(prefetch);
SCSI_HANDLER(sync_cache);
SCSI_HANDLER(unmap);
SCSI_HANDLER(write_same);
SCSI_HANDLER(compare_and_write);
SCSI_HANDLER(orwrite);
SCSI_HANDLER(write_atomic);
SCSI_HANDLER(read_defect_data);
SCSI_HANDLER(get_lba_status);
SCSI_HANDLER(prin);
SCSI_HANDLER(prout);
SCSI_HANDLER(sanitize);
SCSI_HANDLER(extended_copy);
SCSI_HANDLER(receive_copy_results);

#endif
