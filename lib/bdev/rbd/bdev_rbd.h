/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_BDEV_RBD_H
#define VT_BDEV_RBD_H

/*
 * The Ceph RBD bdev module. Private to lib/bdev/rbd: the clusters (bdev_rbd_cluster.c: named
 * rados connections shared by the bdevs that use them, and the private connection of a bdev made
 * without a cluster name), the bdevs and their life (bdev_rbd.c), the data path (bdev_rbd_io.c),
 * the jobs that run librados / librbd's blocking calls off the reactors (bdev_rbd_job.c) and the
 * RPCs (bdev_rbd_rpc.c).
 *
 * Threads: every object here belongs to reactor 0 except the rados and rbd handles, which the
 * jobs use while reactor 0 waits for them (a job's result comes back to reactor 0 as a message).
 * librbd calls the I/O completions on its own threads: they go back to the submitting reactor
 * through a lock-free list per reactor and one message per batch (bdev_rbd_io.c).
 */

#include <rados/librados.h>
#include <rbd/librbd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "vt/bdev_module.h"
#include "vt/event.h"

/* Seconds librados waits for a monitor before rados_connect fails, unless the user set
 * client_mount_timeout; the same bound for monitor commands (rados_mon_op_timeout). */
#define RBD_DEFAULT_MOUNT_TIMEOUT "10"

/* An error of a slow step, for the RPC answer: the negative errno and a message naming it. */
struct rbd_err {
	int rc;
	char msg[256];
};

/* Key / value pairs: rados options (config_param, config), NULL-terminated pairs. */
struct rbd_kv {
	char **kv; /* key0, value0, key1, value1, ..., NULL */
	size_t count;
};

void rbd_kv_free(struct rbd_kv *m);
int rbd_kv_dup(struct rbd_kv *dst, const struct rbd_kv *src);
const char *rbd_kv_get(const struct rbd_kv *m, const char *key);
/* Writes m as the object member name (nothing when m is empty). */
void rbd_kv_dump(struct vt_json_write_ctx *w, const char *name, const struct rbd_kv *m);

/* A rados connection. Named clusters are registered with bdev_rbd_register_cluster; a bdev made
 * without cluster_name has a private, unnamed one. */
struct rbd_cluster {
	char *name; /* NULL: private to one bdev */
	char *user_id;
	struct rbd_kv config_param;
	char *config_file;
	char *key_file;
	rados_t rados;
	bool connected;
	uint32_t refs; /* bdevs (and bdevs being created) that use it */
	bool removing; /* bdev_rbd_unregister_cluster in progress */
	TAILQ_ENTRY(rbd_cluster) link;
};

/* ---- clusters (bdev_rbd_cluster.c), reactor 0 unless said ------------------------------- */

struct rbd_cluster *rbd_cluster_find(const char *name);
struct rbd_cluster *rbd_cluster_first(void);
struct rbd_cluster *rbd_cluster_next(struct rbd_cluster *c);
/* A new cluster object (not connected, not listed); NULL on ENOMEM. */
struct rbd_cluster *rbd_cluster_new(const char *name, const char *user_id,
				    const struct rbd_kv *config, const char *config_file,
				    const char *key_file);
void rbd_cluster_free(struct rbd_cluster *c);
/* Any thread (a job): creates the rados handle, applies the options, connects. */
int rbd_cluster_connect(struct rbd_cluster *c, struct rbd_err *err);
/* Any thread (a job): rados_shutdown when connected. */
void rbd_cluster_disconnect(struct rbd_cluster *c);
/* Lists c under its name (registration done). */
void rbd_cluster_add(struct rbd_cluster *c);
void rbd_cluster_remove(struct rbd_cluster *c);
/* Writes c's members as bdev_rbd_get_clusters_info does. */
void rbd_cluster_dump(struct rbd_cluster *c, struct vt_json_write_ctx *w, bool with_name);

/* ---- jobs (bdev_rbd_job.c) ---------------------------------------------------------------- */

/* Runs work(arg) on a new thread, then done(arg) on reactor 0. 0 or a negative errno. */
int rbd_job_start(void (*work)(void *arg), vt_msg_fn done, void *arg);
/* Waits (bounded) for the running jobs to end (module fini). */
void rbd_jobs_drain(void);

/* ---- bdevs (bdev_rbd.c) ------------------------------------------------------------------ */

struct rbd_disk {
	struct vt_bdev bdev;
	char *pool_name;
	char *rbd_name;
	char *user_id;        /* private cluster: the rados user */
	struct rbd_kv config; /* private cluster: its options */
	struct rbd_cluster *cluster;
	bool private_cluster; /* cluster belongs to this bdev alone */
	rados_ioctx_t ioctx;
	rbd_image_t image;
	bool watching;
	uint64_t watch_handle;
	bool size_check_running; /* a job re-reads the image size */
	bool size_check_again;   /* another update came while it ran */
	uint64_t new_size;       /* what the size job read */
	int size_rc;
	bool destructing;
	TAILQ_ENTRY(rbd_disk) link;
};

struct rbd_create_opts {
	const char *name; /* NULL: Ceph0, Ceph1, ... */
	const char *user_id;
	const char *pool_name;
	const char *rbd_name;
	uint32_t block_size;
	const struct rbd_kv *config;
	const char *cluster_name;
	const struct vt_uuid *uuid;
	bool read_only;
};

extern struct vt_bdev_module g_bdev_rbd_module;

/* Starts the creation; cb(cb_arg, bdev, NULL), or cb(cb_arg, NULL, err) after a failure, on
 * reactor 0 when done. 0 or a negative errno (then err says why and cb is not called). */
typedef void (*rbd_create_cb)(void *cb_arg, struct vt_bdev *bdev, const struct rbd_err *err);
int bdev_rbd_create(const struct rbd_create_opts *opts, rbd_create_cb cb, void *cb_arg,
		    struct rbd_err *err);
int bdev_rbd_delete(struct vt_bdev *bdev, void (*cb)(void *cb_arg, int rc), void *cb_arg);
/* Grows the image to new_size_mib MiB; cb(cb_arg, err) on reactor 0. */
typedef void (*rbd_resize_cb)(void *cb_arg, const struct rbd_err *err);
int bdev_rbd_resize(struct rbd_disk *disk, uint64_t new_size_mib, rbd_resize_cb cb, void *cb_arg,
		    struct rbd_err *err);
/* Whether any rbd bdev (or creation in progress) uses c. */
bool bdev_rbd_cluster_in_use(const struct rbd_cluster *c);

/* ---- data path (bdev_rbd_io.c) ----------------------------------------------------------- */

/* The module's per-I/O state, in vt_bdev_io.driver_ctx. */
struct rbd_io {
	struct rbd_io *next; /* on a reactor's completion list */
	struct vt_bdev_io *bdev_io;
	uint32_t reactor;      /* where it was submitted and completes */
	bool flush_after;      /* FUA write: a flush follows the write */
	int64_t result;        /* librbd's return value */
	uint64_t mismatch_off; /* COMPARE_AND_WRITE: where librbd found a difference */
	void *cw_bounce;       /* COMPARE_AND_WRITE over several iovecs: both buffers */
};

void rbd_submit_request(void *module_ch, struct vt_bdev_io *io);
bool rbd_io_type_supported(void *ctx, enum vt_bdev_io_type type);

/* Formats a message into err (rc kept). */
void rbd_err_set(struct rbd_err *err, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
