/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_BDEV_FILE_H
#define VT_BDEV_FILE_H

/*
 * The file bdev module: a regular file or a block device served through io_uring (bdev_uring_*)
 * or Linux AIO (bdev_aio_*). Private to lib/bdev/file: the module core (bdev_file.c), its two
 * I/O engines (bdev_file_uring.c, bdev_file_aio.c) and the life of their per-reactor groups
 * (bdev_file_group.c), the worker thread for the calls libaio cannot make asynchronously
 * (bdev_file_worker.c) and the RPCs (bdev_file_rpc.c).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include "vt/bdev_module.h"
#include "vt/event.h"

enum file_kind {
	FILE_KIND_AIO,   /* bdev_aio_create: libaio */
	FILE_KIND_URING, /* bdev_uring_create: io_uring (libaio when it is unavailable) */
};

struct file_create_opts {
	const char *name;
	const char *filename;
	uint32_t block_size; /* 0 = detect */
	bool readonly;
	bool fallocate;             /* offer UNMAP and WRITE_ZEROES */
	bool nowait;                /* aio on a block device: RWF_NOWAIT reads and writes */
	const struct vt_uuid *uuid; /* NULL = generated at registration */
	enum file_kind kind;
};

struct file_channel;
struct file_delete_ctx;

/* Work for the module's worker thread (blocking calls kept off the reactors). */
enum file_job_op {
	FILE_JOB_FDATASYNC,
	FILE_JOB_FALLOCATE,
	FILE_JOB_CLOSE,     /* fdatasync when writable, then close */
	FILE_JOB_SEEK_DATA, /* GET_LBA_STATUS: SEEK_DATA / SEEK_HOLE from off, up to len */
};

struct file_job {
	TAILQ_ENTRY(file_job) link;
	enum file_job_op op;
	int fd;
	int mode;        /* fallocate mode */
	bool sync_first; /* FILE_JOB_CLOSE: fdatasync before closing */
	uint64_t off;
	uint64_t len;
	int result;       /* 0 or a negative errno */
	bool hole;        /* FILE_JOB_SEEK_DATA: [off, off + run) is a hole (else data) */
	uint64_t run;     /* FILE_JOB_SEEK_DATA: bytes from off in that state, <= len */
	uint32_t reactor; /* done runs there */
	vt_msg_fn done;   /* called with the job */
};

struct file_disk {
	struct vt_bdev bdev;
	char *filename;
	int fd;
	enum file_kind kind;
	bool direct;              /* opened with O_DIRECT */
	bool block_size_override; /* block_size was given at creation */
	bool readonly;
	bool fallocate;
	bool nowait;   /* reads and writes carry RWF_NOWAIT (block devices) */
	bool removing; /* delete requested */
	/* Learnt at run time, read and written with relaxed atomics from any reactor. */
	bool no_punch_hole;                 /* fallocate(PUNCH_HOLE) answered EOPNOTSUPP */
	bool no_zero_range;                 /* fallocate(ZERO_RANGE) answered EOPNOTSUPP */
	uint32_t mem_align;                 /* O_DIRECT: alignment of buffer addresses */
	uint32_t len_align;                 /* O_DIRECT: alignment of lengths and file offsets */
	struct file_delete_ctx *delete_ctx; /* the pending deletion, if any */
	struct file_job close_job;          /* destruct: fdatasync and close on the worker thread */
	struct vt_defer close_defer;        /* destruct without a worker thread */
	/* Each reactor's channel; slot i is read and written only on reactor i. */
	struct file_channel *chs[VT_MAX_REACTORS];
	TAILQ_ENTRY(file_disk) link;
};

/* Bytes of per-I/O space an engine may use (the libaio iocb). */
#define FILE_ENGINE_CTX_SIZE 64

enum file_stage {
	FILE_STAGE_RW,         /* READ or WRITE data transfer */
	FILE_STAGE_ZERO_WRITE, /* WRITE_ZEROES (or UNMAP) by writing the zero buffer */
	FILE_STAGE_FSYNC,      /* FLUSH, or the fdatasync after a FUA write */
	FILE_STAGE_FALLOCATE,  /* UNMAP or WRITE_ZEROES through fallocate */
	FILE_STAGE_RESET,
	FILE_STAGE_SEEK, /* GET_LBA_STATUS on the worker thread */
};

/* The module's per-I/O state, in vt_bdev_io.driver_ctx. */
struct file_io {
	struct file_channel *ch;
	uint8_t stage; /* enum file_stage */
	bool write;
	bool sync_after;       /* FUA without RWF_DSYNC: fdatasync once the data is written */
	bool tried_zero_range; /* UNMAP fell back to ZERO_RANGE already */
	int rw_flags;          /* RWF_DSYNC for FUA writes */
	int falloc_mode;
	uint64_t offset;         /* byte offset of the transfer in the file */
	uint64_t len;            /* bytes of the transfer */
	uint64_t done;           /* bytes transferred so far */
	const struct iovec *iov; /* the data: the I/O's iovecs or bounce_iov */
	int iovcnt;
	void *bounce; /* aligned copy of the data when the iovecs do not suit O_DIRECT */
	struct iovec bounce_iov;
	struct iovec cur_iov;       /* single-iovec remainder after a short transfer */
	struct iovec *tmp_iovs;     /* multi-iovec remainder after a short transfer (allocated) */
	struct file_io *reset_next; /* RESET: next waiter on a channel */
	uint32_t reset_idx;         /* RESET: reactor being visited */
	uint32_t reset_origin;      /* RESET: reactor that submitted it */
	struct vt_poller *retry_poller; /* RESET: resends a message that found a full ring */
	vt_msg_fn retry_fn;
	uint32_t retry_idx;
	union {
		uint8_t engine_ctx[FILE_ENGINE_CTX_SIZE] __attribute__((aligned(8)));
		struct file_job job;
	} u;
};

/*
 * An I/O engine. Groups are per reactor, shared by every file bdev on that reactor and created
 * on first use; the submit functions run on the group's reactor and return 0 (the completion
 * comes later through file_io_engine_done) or a negative errno (-EAGAIN when the queue is full).
 */
struct file_engine {
	const char *name;
	/* The calling reactor's group with one more reference; NULL when it cannot be set up. */
	void *(*group_get)(void);
	void (*group_put)(void *group);
	int (*submit_rw)(void *group, struct file_io *fio, int fd, bool write,
			 const struct iovec *iov, int iovcnt, uint64_t off, int rw_flags);
	int (*submit_fdatasync)(void *group, struct file_io *fio, int fd);
	int (*submit_fallocate)(void *group, struct file_io *fio, int fd, int mode, uint64_t off,
				uint64_t len);
};

extern const struct file_engine file_engine_uring;
extern const struct file_engine file_engine_aio;

struct file_group;

/* What an engine tells the shared group code (bdev_file_group.c) about its groups. */
struct file_group_ops {
	const char *what;           /* names a group in log messages: "io_uring" */
	size_t size;                /* of the engine's group, which begins with a file_group */
	struct file_group **groups; /* the engine's groups, indexed by reactor */
	/* Sets up a new group (efd -1, reactor set): 0, or a negative errno with it undone. */
	int (*setup)(struct file_group *g);
	/* Frees what setup made except the poller, which the shared code unregisters first. */
	void (*release)(struct file_group *g);
	/* Submits what was queued during the iteration (the deferred submit call). */
	void (*flush)(struct file_group *g);
};

/* The part of a per-reactor group both engines have; used only on the group's reactor. */
struct file_group {
	const struct file_group_ops *ops;
	uint32_t refs;
	uint32_t reactor;
	uint32_t inflight;        /* operations handed to the engine, not reaped */
	int efd;                  /* interrupt mode: the eventfd completions signal */
	bool dying;               /* last reference gone while the submit call was queued */
	struct vt_poller *poller; /* reaps completions */
	/* Adaptive mode: also reaps while the reactor polls (poller waits on efd for sleeps). */
	struct vt_poller *reap_poller;
	struct vt_defer submit_defer;
};

/* The calling reactor's group with one more reference, set up on first use; NULL on failure. */
struct file_group *file_group_get(const struct file_group_ops *ops);
/* Drops a reference; the last one frees the group (now, or in the queued submit call). */
void file_group_put(struct file_group *g);
/* Calls ops->flush once at the end of this reactor iteration. */
void file_group_defer_flush(struct file_group *g);

/* Per-reactor module state of one file bdev. */
struct file_channel {
	struct file_disk *fdisk;
	const struct file_engine *engine;
	void *group;
	uint32_t reactor;
	uint64_t inflight;             /* I/Os handed to the engine or the worker, not completed */
	uint64_t bounced;              /* I/Os that went through a bounce buffer */
	struct file_io *reset_waiters; /* RESETs waiting for inflight to drop to 0 */
};

/* ---- data path (bdev_file_io.c) --------------------------------------------------------- */

/* The fn_table's submit_request. */
void file_submit_request(void *module_ch, struct vt_bdev_io *io);
/* Engines report each finished operation: res is bytes transferred, 0, or a negative errno. */
void file_io_engine_done(struct file_io *fio, int64_t res);
/* Maps and unmaps the zero buffer (module init and fini). */
int file_io_init(void);
void file_io_fini(void);

/* ---- worker thread (bdev_file_worker.c) ------------------------------------------------- */

/* Queues job; job->done(job) runs later on job->reactor. 0 or a negative errno. */
int file_worker_submit(struct file_job *job);
/* Runs job on the calling thread (when the worker cannot be used). */
void file_worker_run_job(struct file_job *job);
/* Finishes the queued jobs and joins the thread. */
void file_worker_stop(void);

/* ---- module API for the RPCs (bdev_file.c) ---------------------------------------------- */

/* On reactor 0. Returns 0 or a negative errno with a message in err. */
int bdev_file_create(const struct file_create_opts *opts, char *err, size_t errlen);
/* Finds a file bdev of that kind; NULL with -ENODEV and a message in err. */
struct file_disk *bdev_file_find(const char *name, enum file_kind kind, char *err, size_t errlen);
/* Starts the deletion; cb(cb_arg, rc) on reactor 0. 0 or a negative errno with a message. */
int bdev_file_delete(struct file_disk *fdisk, void (*cb)(void *cb_arg, int rc), void *cb_arg,
		     char *err, size_t errlen);
/* Re-reads the size and announces a change. 0 or a negative errno with a message. */
int bdev_file_rescan(struct file_disk *fdisk, char *err, size_t errlen);

#endif
