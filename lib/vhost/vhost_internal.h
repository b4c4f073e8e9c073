/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VHOST_INTERNAL_H
#define VHOST_INTERNAL_H

/*
 * lib/vhost internals: controllers, sessions, queues, requests and the personality ops table.
 * See doc/vhost.md for the threads and the life cycle. In short:
 *
 * - A controller (one vhost-user socket) belongs to one reactor, chosen from its cpumask; every
 *   session (one front-end connection) of the controller runs on that reactor.
 * - DPDK's vhost-events thread runs the vhost-user message handlers (vhost_user.c, the only file
 *   that includes rte_vhost.h). It keeps the "vhost-events view" of a session (what the front
 *   end configured) and sends the reactor work as calls (struct vhost_call) that it waits for,
 *   bounded by VHOST_CALL_TIMEOUT_MS.
 * - The reactor side (vhost_session.c) owns the queues, the request pools and the guest memory
 *   mapping. It never calls rte_vhost: the guest memory is mapped again by lib/vhost itself and
 *   the kick and call eventfds are duplicated, so nothing rte_vhost unmaps or closes can be
 *   touched by the data path, even after a call timed out.
 */

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include "vt/event.h"
#include "vt/util.h"

#include "lib/vhost/virtqueue.h"
#include "lib/vhost/vhost_inflight.h"
#include "lib/vhost/vhost_log.h"
#include "lib/vhost/vhost_user_spec.h"

/* Queues per session (vhost-user queue indexes 0 .. VHOST_MAX_QUEUES - 1). */
#define VHOST_MAX_QUEUES 64
/* Requests per queue: min(queue size, this); more available buffers wait in the ring. */
#define VHOST_MAX_QUEUE_REQS 1024
/* iovecs inside each request; longer chains borrow one of the queue's large arrays. */
#define VHOST_REQ_INLINE_IOVS 128
/* Large iovec arrays per queue beyond the one the next chain is popped into. */
#define VHOST_QUEUE_SPARE_IOVS 2
/* Chains popped from one queue per poller pass at most. */
#define VHOST_POLL_BATCH 128
/* How long the vhost-events thread waits for a reactor before it logs and goes on. */
#define VHOST_CALL_TIMEOUT_MS 5000
/* Longest controller name (the socket path must also fit a Unix socket address). */
#define VHOST_CTRLR_NAME_MAX 64

struct vhost_ctrlr;
struct vhost_session;
struct vhost_queue;
struct vhost_req;
struct vhost_call;
struct vt_json_write_ctx;

/* ---- personality ops ------------------------------------------------------------------- */

/*
 * One device personality (virtio-blk now, virtio-scsi next). The controller's state for the
 * personality is ctrlr->backend; a request's is vhost_req_ctx(req), req_ctx_size bytes.
 */
struct vhost_backend_ops {
	const char *name;     /* "vhost_user_blk": the transport named in RPCs */
	const char *json_key; /* the backend_specific member: "block", "scsi" */
	size_t req_ctx_size;
	/*
	 * Reactor side. A session starts (before its first queue runs) and stops (after its last
	 * queue stopped and drained); both optional.
	 */
	int (*session_start)(struct vhost_session *s);
	void (*session_stop)(struct vhost_session *s);
	/*
	 * Processes one popped chain: req->chain is valid, or malformed when req->chain.err is
	 * not VHOST_VQ_OK (vhost_vq_pop returned -EINVAL). Ends with vhost_req_done() (now or
	 * later) or vhost_req_fail_queue().
	 */
	void (*req_submit)(struct vhost_req *req);
	/*
	 * vhost-events thread: copies the device config space into buf (len bytes, zero-filled
	 * past the end of the personality's config). Must be thread-safe against the reactor.
	 */
	void (*get_config)(struct vhost_ctrlr *c, uint8_t *buf, uint32_t len);
	/* Reactor 0: members of backend_specific's object (vhost_get_controllers). */
	void (*dump_info_json)(struct vhost_ctrlr *c, struct vt_json_write_ctx *w);
	/* Reactor 0: one {"method", "params"} object that recreates the controller; optional. */
	void (*write_config_json)(struct vhost_ctrlr *c, struct vt_json_write_ctx *w);
	/*
	 * Reactor side, optional: true for a queue whose buffers the personality takes itself, one
	 * at a time when it has something to put in them (virtio-scsi's event queue). The poller
	 * never fetches from such a queue; it calls queue_demand_poll instead (which returns
	 * VT_POLLER_BUSY or VT_POLLER_IDLE and takes buffers with vhost_queue_take). Buffers stay
	 * in the guest's ring until then, so a queue stop and restart (GET_VRING_BASE) loses none.
	 */
	bool (*queue_on_demand)(uint16_t index);
	int (*queue_demand_poll)(struct vhost_queue *q);
	/*
	 * Controller's reactor, once no session is left: releases ctrlr->backend (bdev claims
	 * included), then calls done(arg) on this reactor, now or later.
	 */
	void (*remove)(struct vhost_ctrlr *c, void (*done)(void *arg), void *arg);
};

/* ---- controllers ------------------------------------------------------------------------- */

enum vhost_ctrlr_state {
	VHOST_CTRLR_CREATING, /* name reserved, personality setting up, no socket yet */
	VHOST_CTRLR_RUNNING,  /* socket registered, accepting front ends */
	VHOST_CTRLR_REMOVING, /* being deleted: no new sessions */
};

/*
 * A message of the control path, embedded in the object it carries (which must stay valid until
 * fn ran); one send at a time per struct: fn may send it on.
 */
struct vhost_post {
	struct vhost_post *next; /* the sending reactor's backlog */
	uint32_t reactor;
	vt_msg_fn fn;
	void *arg;
};

struct vhost_ctrlr {
	char name[VHOST_CTRLR_NAME_MAX + 1];
	char path[108];           /* socket path (sun_path) */
	struct vt_cpuset cpumask; /* where the controller may run (as given) */
	uint32_t reactor;         /* the reactor it runs on */
	const struct vhost_backend_ops *ops;
	void *backend;              /* the personality's controller state */
	uint64_t features;          /* virtio features offered */
	uint64_t protocol_features; /* vhost-user protocol features offered */
	bool socket_registered;     /* rte_vhost knows the path */
	/* Interrupt coalescing (vhost_controller_set_coalescing), under g_vhost_mutex. */
	uint32_t coal_delay_us;       /* 0: off */
	uint32_t coal_iops_threshold; /* per queue */

	/* Under g_vhost_mutex (reactor 0, the vhost-events thread, the reactor). */
	enum vhost_ctrlr_state state;
	TAILQ_HEAD(, vhost_session) sessions; /* every session not yet freed */
	uint32_t nlive;                       /* sessions still reachable through their vid */
	uint32_t next_session_id;
	/* Deletion waiting for the sessions to be freed (reactor 0 continuation). */
	void (*drained_fn)(void *arg);
	void *drained_arg;
	struct vhost_post drained_post;

	TAILQ_ENTRY(vhost_ctrlr) link; /* the registry (reactor 0 writes, under the mutex) */
};

/* Guards the registry, every ctrlr's session list and counters, and the vid table. */
extern pthread_mutex_t g_vhost_mutex;


/*
 * Any thread: sends fn(arg) to reactor. On a reactor thread it never waits: when the receiver's
 * ring is full, the message joins this reactor's backlog, which it sends on its next iterations
 * while it goes on running (the receiver may be itself); messages sent through here by one
 * reactor keep their order. On another thread it waits for room.
 */
void vhost_post_msg(struct vhost_post *m, uint32_t reactor, vt_msg_fn fn, void *arg);

/* Reactor 0. */
struct vhost_ctrlr *vhost_ctrlr_find(const char *name);
struct vhost_ctrlr *vhost_ctrlr_first(void);
struct vhost_ctrlr *vhost_ctrlr_next(struct vhost_ctrlr *c);
/*
 * Reserves name, checks that "<sock dir>/<name>" fits a socket address and that cpumask (NULL:
 * the application's) is a subset of the application's, and picks the least loaded reactor.
 * Returns 0, or a negative errno with a message in err.
 */
int vhost_ctrlr_alloc(const char *name, const char *cpumask, const struct vhost_backend_ops *ops,
		      struct vhost_ctrlr **out, char *err, size_t errlen);
/* After the personality set up c->backend and c->features: opens the socket. */
int vhost_ctrlr_start(struct vhost_ctrlr *c, char *err, size_t errlen);
/* Drops a controller that never started (its backend already released). */
void vhost_ctrlr_free(struct vhost_ctrlr *c);
/*
 * Deletes a controller: -EBUSY at once when a front end is connected (unless force, which
 * disconnects it), otherwise removes the socket, waits for the sessions being torn down, runs
 * ops->remove on the controller's reactor, frees c and calls cb(arg, 0) on reactor 0.
 */
int vhost_ctrlr_delete(struct vhost_ctrlr *c, bool force, void (*cb)(void *arg, int rc), void *arg);
/* Deletes every controller of a personality (subsystem fini), then cb(arg) on reactor 0. */
void vhost_ctrlr_delete_all(const struct vhost_backend_ops *ops, void (*cb)(void *arg), void *arg);
/*
 * Subsystem config dump: a JSON array of the calls that recreate every visible controller of a
 * personality (ops->write_config_json of each). Reactor 0.
 */
void vhost_ctrlr_write_config_all(const struct vhost_backend_ops *ops, struct vt_json_write_ctx *w);
/* Writes the controller as vhost_get_controllers shows it (reactor 0). */
void vhost_ctrlr_dump_json(struct vhost_ctrlr *c, struct vt_json_write_ctx *w);
/* Collects the sessions' reactor-side figures on every reactor, then cb(arg) on reactor 0. */
int vhost_sessions_snapshot(void (*cb)(void *arg), void *arg);

/* ---- controller creation (vhost_create.c) ------------------------------------------------ */

struct vt_jsonrpc_request;

/* What a personality's create RPC hands vhost_ctrlr_create. */
struct vhost_create_ops {
	const struct vhost_backend_ops *backend;
	/*
	 * The controller's reactor (where the bdev events of the backend will come): sets
	 * c->backend, c->features and c->protocol_features from the RPC's arg. Returns 0 or a
	 * negative errno with a message in err.
	 */
	int (*backend_create)(struct vhost_ctrlr *c, void *arg, char *err, size_t errlen);
	/* Reactor 0, optional: c is visible; listening is false when it was created with delay. */
	void (*created)(struct vhost_ctrlr *c, bool listening);
	/* Frees the RPC's arg once the RPC is answered; optional. */
	void (*free_arg)(void *arg);
	/* The personality's subsystem is being finalised: controllers are no longer started. */
	const bool *shutting_down;
};

/*
 * Reactor 0, for a create RPC whose parameters are checked: reserves name on cpumask (NULL: the
 * application's), runs ops->backend_create(c, arg) on the controller's reactor, then opens the
 * socket (delay: the controller is visible without a socket, which the personality opens later)
 * and answers req with true. On a failure every step done is undone and req gets the error: the
 * errno for -EEXIST, -ENODEV, -EADDRINUSE, -ENOMEM, -ESHUTDOWN (SPDK's users look for them) and
 * -EBUSY (a claimed bdev), -32602 for the others. Takes arg in every case.
 */
void vhost_ctrlr_create(struct vt_jsonrpc_request *req, const struct vhost_create_ops *ops,
			const char *name, const char *cpumask, bool delay, void *arg);

/* The claim owner a controller's bdev claims carry: "vhost controller '<name>'". */
void vhost_claim_owner(const struct vhost_ctrlr *c, char *buf, size_t len);
/* The one answer to a claimed bdev, for every personality: "bdev '<name>' is claimed by
 * <owner>" in err; returns -EBUSY. */
int vhost_claimed_error(const char *bdev_name, char *err, size_t errlen);

/* ---- vhost_user.c: rte_vhost ------------------------------------------------------------- */

/* Reactor 0: registers / starts the socket at c->path. */
int vhost_user_register(struct vhost_ctrlr *c, char *err, size_t errlen);
/* Any thread but the vhost-events thread: removes the socket and drops its connections. */
void vhost_user_unregister(struct vhost_ctrlr *c);

/* vhost-events thread, in new_connection: finds and remembers the session's socket. */
void vhost_conn_identify(struct vhost_session *s);
/*
 * Under g_vhost_mutex: the front end of this session has closed its end of the socket (or
 * rte_vhost has closed ours) and only the teardown is left to happen.
 */
bool vhost_conn_hung_up(const struct vhost_session *s);
/* Under g_vhost_mutex: the sessions whose front end is still there. */
uint32_t vhost_ctrlr_connected(const struct vhost_ctrlr *c);
/* The session that owns vid, NULL when gone; clears the slot and returns it when take. */
struct vhost_session *vhost_user_vid_session(int vid, bool take);
/* Reactor: tells a session's front end that the config space changed (if it listens). */
void vhost_user_config_changed(struct vhost_session *s);

/* ---- guest memory mapping (vhost_mem.c) ------------------------------------------------- */

/* One region as rte_vhost describes it (after SET_MEM_TABLE). */
struct vhost_mem_region_desc {
	uint64_t gpa;
	uint64_t size;
	int fd;               /* the region's file */
	uint64_t mmap_offset; /* offset of gpa in the file */
	uint64_t mmap_size;   /* bytes to map from offset 0 (covers mmap_offset + size) */
	uint64_t ext_host;    /* rte_vhost's address of gpa (translates its ring addresses) */
};

/* lib/vhost's own mapping of the guest memory. Immutable once built; refcounted on the reactor. */
struct vhost_mem_map {
	uint32_t refs;
	uint32_t nregions;
	struct vhost_vq_mem mem; /* gpa -> our host addresses */
	struct {
		void *base; /* our mmap, NULL when not mapped (tests) */
		size_t len;
		uint64_t ext_host; /* rte_vhost's host address of the region's gpa */
		uint64_t size;
	} r[VHOST_VQ_MEM_MAX_REGIONS];
};

/*
 * Checks a SET_MEM_TABLE payload: at most 8 regions, one fd each, no empty or wrapping region,
 * no overlap in guest-physical or front-end address space, each region inside its regular file.
 * Returns 0 or -EINVAL with a message in err.
 */
int vhost_mem_check_table(const struct vhost_user_mem *table, uint32_t payload_size, const int *fds,
			  int nfds, char *err, size_t errlen);
/* Maps the regions again (own mmaps); NULL with a message in err. */
struct vhost_mem_map *vhost_mem_map_create(const struct vhost_mem_region_desc *regions, uint32_t n,
					   char *err, size_t errlen);
/* A map over memory the caller owns (unit tests): nothing is mapped or unmapped. */
struct vhost_mem_map *vhost_mem_map_wrap(const struct vhost_vq_mem_region *regions, uint32_t n);
void vhost_mem_map_ref(struct vhost_mem_map *map);
void vhost_mem_map_unref(struct vhost_mem_map *map);
/* Our address for an address rte_vhost gave inside its own mapping (len bytes), or NULL. */
void *vhost_mem_map_from_ext(const struct vhost_mem_map *map, uint64_t ext, uint64_t len);
/* True when [uaddr, uaddr + len) lies inside one region of the table (front-end addresses). */
bool vhost_mem_table_has_uaddr(const struct vhost_user_mem *table, uint64_t uaddr, uint64_t len);

/* ---- sessions and queues (vhost_session.c, reactor side) ---------------------------------- */

/* What a queue starts from; built by the vhost-events thread, consumed by the reactor. */
struct vhost_queue_params {
	struct vhost_vq_params vq; /* size, features, bases, name, index */
	void *desc;                /* our host addresses of the ring areas */
	void *driver;              /* split: avail ring; packed: driver event area */
	void *device;              /* split: used ring; packed: device event area */
	int kickfd;                /* owned (a dup), -1 for none */
	int callfd;                /* owned (a dup), -1 for none */
	struct vhost_mem_map *map; /* the mapping the rings are in (a reference is taken) */
	struct vhost_queue *q;     /* preallocated by vhost_queue_alloc() */
	/* Where ring stores are logged while logging is on (struct vhost_vq's log_*_gpa). */
	uint64_t log_ring_gpa;
	uint64_t log_event_gpa;
	/* The session's inflight record (INFLIGHT_SHMFD), NULL for none; a reference is handed. */
	struct vhost_inflight *inflight;
};

struct vhost_queue {
	/* Hot: the poller and the request path. */
	struct vhost_vq vq;
	struct vhost_session *s;
	const struct vhost_vq_mem *mem;
	struct vhost_req *free; /* stack of free requests */
	void (*submit)(struct vhost_req *req);
	void *backend;               /* ctrlr->backend, for the personality's requests */
	struct vhost_vq_chain chain; /* the next chain is popped here; iov NULL: wait */
	uint32_t inflight;           /* requests popped and not yet done */
	int callfd;
	bool dirty;    /* pushed since the last publish */
	bool kicks_on; /* interrupt mode: guest kicks requested */
	bool running;  /* on the session's run list */
	bool stopping;
	bool detached;  /* replaced while stopping: freed once drained */
	bool paused;    /* daemon stop: fetches nothing more, counted in g_vhost_quiesce_inflight */
	bool no_kicks;  /* interrupt mode without a kick fd: always polled */
	bool on_demand; /* the personality takes buffers itself (ops) */
	uint16_t index;

	/* Cold. */
	int kickfd;
	struct vt_poller *kick_poller;
	struct vhost_mem_map *map;
	struct vhost_log *log;             /* a reference to vq.log while logging is on */
	struct vhost_inflight *inf_record; /* the record vq.inf lies in, NULL for none */
	uint16_t *inf_work;                /* the virtqueue's inflight lists (2 * size) */
	struct iovec *spare[VHOST_QUEUE_SPARE_IOVS];
	uint32_t nspare;
	uint32_t big_iov_max;         /* capacity of the large arrays */
	struct vhost_call *stop_call; /* answered once drained */
	struct vt_defer finish_defer;
	uint8_t *reqs;
	size_t req_stride;
	uint32_t nreqs;
	uint64_t completed; /* requests done since the start */
	/* Interrupt coalescing (vhost_coalesce.c). */
	uint64_t coal_next_ns;       /* no call before this vt_get_ticks() */
	uint64_t coal_delay_ns;      /* the current delay between two calls */
	uint64_t coal_last_done;     /* completed at the last rate check */
	uint64_t coal_last_check_ns; /* when it was */
	bool coal_pending;           /* a call is owed (sent at coal_next_ns at the latest) */
	bool coal_measured;          /* a rate was measured (the first window is short) */
};

struct vhost_req {
	struct vhost_vq_chain chain; /* iov: the inline array or a large one */
	struct vhost_queue *q;
	struct vhost_req *next_free;
	struct iovec *inline_iov;
	bool big; /* chain.iov is a large array of the queue */
		  /* The personality's context (req_ctx_size bytes) follows. */
} __attribute__((aligned(16)));

static inline void *
vhost_req_ctx(struct vhost_req *req)
{
	return req + 1;
}

/* The session's state as the vhost-events thread sees the front end's messages. */
struct vhost_session_ve {
	uint64_t features;          /* SET_FEATURES */
	uint64_t protocol_features; /* SET_PROTOCOL_FEATURES */
	bool features_set;
	struct vhost_user_mem mem_table; /* last accepted SET_MEM_TABLE payload */
	bool has_mem;
	struct vhost_mem_map *map; /* newest mapping handed to the reactor */
	uint32_t vring_num[VHOST_MAX_QUEUES];
	bool enabled[VHOST_MAX_QUEUES]; /* SET_VRING_ENABLE 1 */
	bool kicked[VHOST_MAX_QUEUES];  /* SET_VRING_KICK since the last GET_VRING_BASE */
	bool started[VHOST_MAX_QUEUES]; /* a start was sent and no stop since */
	/* Dirty logging (migration). */
	bool log_all;                             /* VHOST_F_LOG_ALL negotiated */
	bool has_log;                             /* a SET_LOG_BASE log was handed to the reactor */
	uint64_t log_size;                        /* its bytes of bitmap */
	uint64_t vring_log_gpa[VHOST_MAX_QUEUES]; /* SET_VRING_ADDR's log_guest_addr (flag set) */
	bool vring_log[VHOST_MAX_QUEUES]; /* ... and whether its VHOST_VRING_F_LOG was set */
	/* Inflight record (reconnection). */
	struct vhost_inflight *inflight; /* SET_INFLIGHT_FD's region, NULL before */
	int inflight_fd;                 /* GET_INFLIGHT_FD's memfd, kept until replaced */
};

struct vhost_session {
	struct vhost_ctrlr *ctrlr;
	int vid;
	uint32_t id;
	char name[VHOST_CTRLR_NAME_MAX + 16]; /* "<ctrlr>.<id>", for logs */
	TAILQ_ENTRY(vhost_session) link;      /* ctrlr->sessions, under g_vhost_mutex */
	bool live;                            /* under g_vhost_mutex: its connection (vid) is up */
	/*
	 * The connection's socket as rte_vhost accepted it (-1 when it could not be told apart):
	 * the fd number and its inode, so a later check knows whether the number still names
	 * this socket. Set once by new_connection, under g_vhost_mutex.
	 */
	int conn_fd;
	uint64_t conn_ino;

	struct vhost_session_ve ve; /* vhost-events thread only */

	/* Reactor side. */
	struct vhost_mem_map *map;
	struct vhost_queue *queues[VHOST_MAX_QUEUES];
	struct vhost_queue *run[VHOST_MAX_QUEUES]; /* running queues, polled in order */
	uint32_t nrun;
	uint32_t nqueues; /* queue objects alive (detached ones included) */
	struct vt_poller *poller;
	bool attached; /* session_start ran */
	bool destroying;
	bool interrupt_mode;
	void *backend_ctx;     /* the personality's per-session state */
	struct vhost_log *log; /* the front end's dirty log, NULL before SET_LOG_BASE */
	bool log_all;          /* LOG_ALL: queues log into log */
	/* Interrupt coalescing: off while base_ns is 0. */
	struct {
		uint64_t base_ns;              /* delay_base_us, the longest delay */
		uint32_t iops_threshold;       /* per queue, above which calls wait */
		uint32_t npending;             /* queues that owe a call */
		struct vt_poller *rate_poller; /* every VHOST_COAL_CHECK_MS */
		int timerfd;                   /* interrupt mode: wakes the reactor for a call */
		struct vt_poller *timer_poller;
		uint64_t armed_ns; /* when timerfd fires, 0: disarmed */
	} coal;

	/* Snapshot for vhost_get_controllers, taken on the reactor under g_vhost_mutex. */
	struct {
		uint32_t queues_started;
		uint32_t max_queues; /* highest started queue index + 1 */
		uint64_t inflight;
		uint64_t completed;
		uint64_t features;
		bool dirty_log; /* the queues log (LOG_ALL with a log) */
	} snap;
};

/* Any thread: a new session for vid (not yet visible anywhere). */
struct vhost_session *vhost_session_alloc(struct vhost_ctrlr *c, int vid);
/* Any thread: a queue object with its request pool for a ring of this size. */
struct vhost_queue *vhost_queue_alloc(struct vhost_session *s, uint16_t size);
void vhost_queue_free(struct vhost_queue *q);

/*
 * A call from the vhost-events thread to a session's reactor: vhost_call_run() sends it and
 * waits up to VHOST_CALL_TIMEOUT_MS; the reactor answers with vhost_call_done(), possibly
 * later (a stop answers once the queue is drained). A call that timed out is still carried out.
 */
struct vhost_call {
	sem_t sem;
	atomic_int refs;
	atomic_bool answered;
	bool sent; /* reached the reactor: the reactor owns what it carries */
	int rc;
	struct vhost_session *s;
	uint16_t qidx;
	void (*fn)(struct vhost_call *call);
	union {
		struct vhost_queue_params start;
		struct {
			uint16_t avail_base;
			uint16_t used_base;
			bool valid; /* the queue existed: the bases are meaningful */
		} stop;
		struct vhost_mem_map *map;
		int fd;
		struct {
			struct vhost_log *log; /* replace: the new log (reference handed over) */
			bool replace;
			bool on; /* LOG_ALL */
		} log;
	} u;
};

struct vhost_call *vhost_call_alloc(struct vhost_session *s, void (*fn)(struct vhost_call *call));
/* Sends and waits; returns the call's rc, or -ETIMEDOUT. Drops the caller's reference. */
int vhost_call_run(struct vhost_call *call, const char *what);
void vhost_call_done(struct vhost_call *call, int rc);
void vhost_call_put(struct vhost_call *call);

/* Reactor-side call handlers. */
void vhost_session_attach_fn(struct vhost_call *call);   /* session_start, poller */
void vhost_queue_start_fn(struct vhost_call *call);      /* u.start */
void vhost_queue_stop_fn(struct vhost_call *call);       /* qidx; answers u.stop when drained */
void vhost_queue_set_callfd_fn(struct vhost_call *call); /* qidx, u.fd (owned) */
void vhost_session_set_map_fn(struct vhost_call *call);  /* u.map (reference handed over) */
void vhost_session_set_log_fn(struct vhost_call *call);  /* u.log */
/* Reactor: stops every queue, waits for the drain, then frees the session (msg argument s). */
void vhost_session_destroy_msg(void *arg);

/*
 * Daemon stop (vhost_quiesce.c). Once g_vhost_quiescing is set no queue takes a request from its
 * ring again; requests of paused queues still in flight are counted in g_vhost_quiesce_inflight.
 */
extern atomic_bool g_vhost_quiescing;
extern atomic_uint g_vhost_quiesce_inflight;
/* Reactor of q: takes q off the poller for good and counts its requests in flight. */
void vhost_queue_pause(struct vhost_queue *q);
/*
 * Reactor 0: pauses every queue of every controller, waits until their requests are completed
 * and published, then cb(arg) on reactor 0. At the stop bound (vt_app_stop_deadline()) with
 * requests still in flight the process ends (vt_app_stop_bound_reached). Once done, later calls
 * call cb at once.
 */
void vhost_quiesce_all(void (*cb)(void *arg), void *arg);
/* Subsystem init (reactor 0, no session): forgets an earlier stop's drain. */
void vhost_quiesce_reset(void);
/* Reactor: writes the queue's call eventfd. */
void vhost_queue_notify(struct vhost_queue *q);

/* ---- interrupt coalescing (vhost_coalesce.c, reactor side) ------------------------------- */

/* How often a queue's completion rate is measured (SPDK's interval). */
#define VHOST_COAL_CHECK_MS 10
/* SPDK's default threshold, reported while coalescing is off. */
#define VHOST_COAL_IOPS_DEFAULT 60000
/* The lowest threshold: one completion per check interval. */
#define VHOST_COAL_IOPS_MIN (1000 / VHOST_COAL_CHECK_MS)
/* The longest delay accepted (vtarget's bound; SPDK's depends on its tick rate). */
#define VHOST_COAL_DELAY_MAX_US 1000000

/* A call is due on q while its session coalesces: sends it now or owes it (bounded). */
void vhost_coal_notify(struct vhost_queue *q);
/* Sends the calls whose time came (the session poller, while some are owed). */
void vhost_coal_flush(struct vhost_session *s);
/* q stops: its owed call goes now. */
void vhost_coal_queue_stop(struct vhost_queue *q);
/* Under g_vhost_mutex: the session takes its controller's settings (on, off or changed). */
void vhost_coal_session_apply(struct vhost_session *s);
/* The session ends: releases the pollers and the timer. */
void vhost_coal_session_fini(struct vhost_session *s);
/* Any thread: c's settings (delay_base_us 0: off). */
void vhost_coal_get(struct vhost_ctrlr *c, uint32_t *delay_us, uint32_t *iops_threshold);
/* Reactor 0: the vhost_controller_set_coalescing call that restores c's settings, if on. */
void vhost_coal_write_config_json(struct vhost_ctrlr *c, struct vt_json_write_ctx *w);

/* Personality side of a request. */
void vhost_req_done(struct vhost_req *req, uint32_t used_len);
/* A request that cannot be answered: the queue stops (the device needs a reset). */
void vhost_req_fail_queue(struct vhost_req *req, const char *why);
/*
 * Reactor side, for on-demand queues: the next chain the guest made available as a request
 * (req->chain.err set for a malformed one: answer it with vhost_req_fail_queue), or NULL when
 * there is none, the queue is not running or its requests are all taken.
 */
struct vhost_req *vhost_queue_take(struct vhost_queue *q);
/* Publishes the used entries pushed since the last publish and notifies the guest if needed. */
void vhost_queue_flush(struct vhost_queue *q);
/* The running queue idx of session s, or NULL. */
struct vhost_queue *vhost_session_queue(struct vhost_session *s, uint16_t idx);

/*
 * Personality side, after a store into guest memory and before vhost_req_done(): marks the
 * pages of the host range (or the first len bytes of the iovecs) of the request's queue dirty
 * when the queue logs (migration); nothing otherwise.
 */
static inline void
vhost_req_log_buf(const struct vhost_req *req, const void *host, uint64_t len)
{
	const struct vhost_queue *q = req->q;

	if (vt_unlikely(q->vq.log != NULL)) {
		vhost_log_mark_host(q->vq.log, q->mem, host, len);
	}
}

static inline void
vhost_req_log_iov(const struct vhost_req *req, const struct iovec *iov, int n, uint64_t len)
{
	const struct vhost_queue *q = req->q;

	if (vt_unlikely(q->vq.log != NULL)) {
		vhost_log_mark_iov(q->vq.log, q->mem, iov, n, len);
	}
}

/*
 * The data buffers a read filled (not the status byte, response, event or used ring). The test
 * binary vtarget-nolog (test/nolog) compiles the personalities with VT_TEST_NO_DATA_LOG, which
 * drops these marks only, so that the migration VM test can show they are needed; vtarget never
 * has it.
 */
static inline void
vhost_req_log_data(const struct vhost_req *req, const struct iovec *iov, int n, uint64_t len)
{
#ifndef VT_TEST_NO_DATA_LOG
	vhost_req_log_iov(req, iov, n, len);
#endif
}

/* For logs: "<ctrlr>.<id> q<idx>". */
static inline const char *
vhost_req_session_name(const struct vhost_req *req)
{
	return req->q->s->name;
}

#endif
