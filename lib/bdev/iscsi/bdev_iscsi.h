/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_LIB_BDEV_ISCSI_H
#define VT_LIB_BDEV_ISCSI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/event.h"

/*
 * iSCSI bdevs: one LUN of a remote target, reached with libiscsi in its asynchronous mode. Every
 * LUN's session lives on reactor 0 (where the RPCs run): an fd poller on the session's socket
 * drives libiscsi (iscsi_which_events / iscsi_service), a timed poller gives it its periodic
 * call and enforces the request timeout. I/O submitted on another reactor travels to reactor 0
 * and its completion back by message.
 */

/* SPDK's default request timeout (s); bdev_iscsi_set_options changes it for new bdevs. */
#define BDEV_ISCSI_DEFAULT_TIMEOUT_SEC 30
/* Longest a connection attempt (TCP connect + login + LUN check) may take; a shorter request
 * timeout bounds it too. */
#define BDEV_ISCSI_CONNECT_TIMEOUT_SEC 10
/* The period of each LUN's timed poller. */
#define BDEV_ISCSI_TICK_US 100000
/* Largest WRITE SAME / UNMAP range sent in one command when the target states no limit. */
#define BDEV_ISCSI_DEFAULT_MAX_RANGE 65536u

struct iscsi_context;
struct scsi_task;
struct vt_jsonrpc_request;

enum iscsi_lun_state {
	ISCSI_LUN_CREATING,     /* first login and inquiries for bdev_iscsi_create */
	ISCSI_LUN_ONLINE,       /* logged in (libiscsi may be reconnecting on its own) */
	ISCSI_LUN_RECONNECTING, /* our session reset after a timeout: a new login is under way */
};

struct iscsi_io;

struct iscsi_lun {
	struct vt_bdev bdev;
	char *url;       /* as given (save_config replays it) */
	char *shown_url; /* the URL with its CHAP password replaced by "***": logs, errors, dumps */
	char *initiator_iqn;
	char *portal;   /* host[:port] from the URL */
	char *target;   /* target IQN from the URL */
	char *user;     /* CHAP user from the URL, or NULL */
	char *password; /* CHAP secret from the URL, or NULL */
	int lun_id;
	enum iscsi_lun_state state;
	struct iscsi_context *ctx; /* NULL between a session reset and the next attempt */
	int fd;                    /* the socket the fd poller watches, -1 none */
	uint32_t events;           /* the events it watches */
	struct vt_poller *fd_poller;
	struct vt_poller *tick;
	struct vt_defer flush;      /* sends queued PDUs once per reactor iteration */
	struct vt_defer free_defer; /* frees the LUN after a queued flush ran */
	uint64_t timeout_ticks;     /* 0: requests never time out */
	uint64_t connect_deadline;  /* ticks; a login attempt not done by then is abandoned */
	uint64_t next_attempt;      /* ticks; when RECONNECTING tries again */
	bool attempt_done;          /* the current login attempt has answered */
	int attempt_rc;             /* its result (0 or -errno) */
	bool reset_pending;         /* a timed-out request needs the session torn down */
	bool removing;
	int create_stage;    /* 0: first login, 1: inquiries and READ CAPACITY(16) */
	char errmsg[256];    /* what the last failed step said */
	uint32_t reconnects; /* session resets that logged in again */
	/* Geometry and capabilities found at creation. */
	bool unmap_supported;
	bool write_same_supported;
	uint32_t max_unmap_lba;
	uint32_t max_ws_len;
	uint8_t *zero_block; /* one zeroed block, WRITE SAME's data */
	/* Requests handed to libiscsi, oldest first; and those waiting for a login. */
	TAILQ_HEAD(, iscsi_io) inflight;
	TAILQ_HEAD(, iscsi_io) waiting;
	TAILQ_HEAD(, iscsi_io) completing; /* finished, their reactor's ring was full */
	/* bdev_iscsi_create while CREATING: answered when the first login and inquiries end. */
	struct vt_jsonrpc_request *create_req;
	TAILQ_ENTRY(iscsi_lun) link;
};

/* Per-request state in io->driver_ctx. */
struct iscsi_io {
	struct vt_bdev_io *io;
	struct iscsi_lun *lun;
	struct scsi_task *task; /* the command libiscsi holds, NULL between commands */
	uint32_t reactor;       /* where the I/O was submitted and completes */
	uint64_t deadline;      /* ticks; 0 none */
	uint64_t next_lba;      /* UNMAP / WRITE SAME: the next chunk */
	uint64_t left;          /* blocks still to send */
	uint32_t chunk;         /* blocks of the command in flight (rewound when it is resent) */
	int err;                /* 0 or the -errno the I/O completes with */
	bool queued;            /* on lun->inflight or lun->waiting */
	bool on_waiting;
	TAILQ_ENTRY(iscsi_io) link;
};

struct bdev_iscsi_opts {
	uint64_t timeout_sec;
};

extern struct vt_bdev_module g_bdev_iscsi_module;

void bdev_iscsi_get_opts(struct bdev_iscsi_opts *opts);
void bdev_iscsi_set_opts(const struct bdev_iscsi_opts *opts);

/*
 * Starts creating a bdev (on reactor 0): the RPC req is answered with the name once the target is
 * logged in and the LUN's geometry read, or with an error. Returns 0 when started, or a -errno
 * (nothing created; the caller answers) with a message in err.
 */
int bdev_iscsi_create(struct vt_jsonrpc_request *req, const char *name, const char *iqn,
		      const char *url, char *err, size_t errlen);
bool bdev_iscsi_name_in_use(const char *name);
int bdev_iscsi_delete(struct vt_bdev *bdev, void (*cb)(void *cb_arg, int rc), void *cb_arg);

/* bdev_iscsi_io.c: request mapping. */
void iscsi_submit(void *module_ch, struct vt_bdev_io *io);
bool iscsi_io_type_supported(void *ctx, enum vt_bdev_io_type type);
/* The -errno a finished command stands for (0 for GOOD): status is libiscsi's callback status. */
int iscsi_status_to_errno(int status, const struct scsi_task *task);
/* Sends the I/O's next command (on reactor 0); completes the I/O when it cannot. */
void iscsi_io_start(struct iscsi_io *ctx);
/* Completes ctx's I/O with err on its submitting reactor. */
void iscsi_io_finish(struct iscsi_io *ctx, int err);
/* The message that completes ctx's I/O on its submitting reactor. */
void iscsi_io_complete_msg(void *arg);

/* bdev_iscsi_session.c. For the I/O path: re-arms the pollers after libiscsi queued something. */
void iscsi_lun_kick(struct iscsi_lun *lun);
/* A new context and an asynchronous login to the LUN; 0 or -errno (message in lun->errmsg). */
int iscsi_session_start(struct iscsi_lun *lun);
/* Tears the session down (not from inside iscsi_service): libiscsi hands every request back. */
void iscsi_session_drop(struct iscsi_lun *lun);
/* The LUN's timed poller (every BDEV_ISCSI_TICK_US). */
int iscsi_session_tick(void *arg);
/* Seconds a login attempt may take. */
uint64_t iscsi_session_connect_bound(const struct iscsi_lun *lun);
/* The -errno a failed login stands for, from libiscsi's message. */
int iscsi_login_errno(const char *msg);

/* bdev_iscsi.c: the creation's next step once its login or inquiries answered. */
void iscsi_create_step(struct iscsi_lun *lun);

#endif
