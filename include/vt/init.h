/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_INIT_H
#define VT_INIT_H

#include <stdbool.h>
#include <stdint.h>

#include "vt/event.h"

/*
 * The application framework: EAL (no hugepages by default), reactors, subsystems, the RPC server
 * and replay of a JSON config file, then a ready line; SIGINT / SIGTERM shut it down in order (RPC
 * server, subsystems in reverse, reactors).
 */

struct vt_app_opts {
	const char *name;         /* process name for logs and EAL */
	const char *reactor_mask; /* -m: cpumask; NULL = "0x1" */
	uint32_t mem_size_mb;     /* -s: EAL memory in MiB; 0 = default (VT_APP_DEFAULT_MEM_MB) */
	const char *rpc_addr;     /* -r: socket path; NULL = VT_APP_DEFAULT_RPC_ADDR */
	const char *json_config_file; /* -c: replayed before the ready line; NULL = none */
	const char *json_config_text; /* the same from a string (make run's embedded default) */
	bool interrupt_mode;          /* --interrupt (the same as poll_mode interrupt) */
	enum vt_poll_mode poll_mode;  /* --poll-mode */
	bool wait_for_rpc;            /* --wait-for-rpc: subsystems start at framework_start_init */
	/* Given to each vhost-user socket once created; -1: left as created (root, umask). */
	int64_t vhost_sock_uid;  /* --vhost-sock-owner */
	int64_t vhost_sock_gid;  /* --vhost-sock-group */
	int32_t vhost_sock_mode; /* --vhost-sock-mode */
	int64_t rpc_sock_gid;    /* --rpc-sock-group: the RPC socket's group, mode 0660 */
	bool no_rpc_server;      /* tools that need no socket */
	bool no_eal;             /* tools and tests that need no DPDK memory */
	/* -S: folder for vhost-user sockets; NULL = VT_APP_DEFAULT_VHOST_SOCK_DIR. */
	const char *vhost_sock_dir;
	/* Runs on reactor 0 after the config is replayed; NULL = nothing. */
	void (*start_fn)(void *arg);
	void *start_arg;
	/*
	 * --stop-timeout: how long a stop waits for the requests in flight to complete and be
	 * published (vt_app_opts_init sets VT_APP_DEFAULT_STOP_TIMEOUT_MS; 0 = no wait).
	 */
	uint32_t stop_timeout_ms;
};

#define VT_APP_DEFAULT_RPC_ADDR "/var/tmp/vtarget.sock"
#define VT_APP_DEFAULT_MEM_MB 256
#define VT_APP_DEFAULT_VHOST_SOCK_DIR "/var/tmp"
#define VT_APP_DEFAULT_STOP_TIMEOUT_MS 30000u

void vt_app_opts_init(struct vt_app_opts *opts);
/* Runs until vt_app_stop(); returns the exit code (0, or the rc given to vt_app_stop). */
int vt_app_start(const struct vt_app_opts *opts);
/* Any thread: begins an orderly shutdown; rc becomes vt_app_start's return value. */
void vt_app_stop(int rc);
/* Monotonic ns at which vt_app_start began (start-up time measurement). */
uint64_t vt_app_start_ticks(void);
/* Folder where vhost-user sockets are created (opts->vhost_sock_dir, or the default). */
const char *vt_app_vhost_sock_dir(void);
/* The owner, group and mode each vhost-user socket gets (-1 for those not given). */
void vt_app_vhost_sock_perms(int64_t *uid, int64_t *gid, int32_t *mode);
/* The daemon's private runtime folder (removed at exit); "" when there is none. */
const char *vt_app_runtime_dir(void);
/*
 * The stop bound: vt_get_ticks() value by which the requests in flight must be done, set when the
 * shutdown begins (start + stop_timeout_ms); 0 while no shutdown runs.
 */
uint64_t vt_app_stop_deadline(void);
/*
 * Reactor 0, during the shutdown: the stop bound passed with requests still in flight. The
 * process ends at once with exit code 0 (nothing more is published: the connections close with
 * the process); only the runtime folder is removed. Does not return.
 */
void vt_app_stop_bound_reached(void) __attribute__((noreturn));

/*
 * Replays an SPDK-style {"subsystems":[{"subsystem":"bdev","config":[{"method":..,"params":..}]}]}
 * text through the RPC methods, in the order of the subsystems list; cb(rc, arg) on reactor 0. A
 * failing entry stops the replay with an error naming the method and the message.
 */
void vt_json_config_load(const char *text, size_t len, void (*cb)(int rc, void *arg), void *arg);

#endif
