/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_INIT_INTERNAL_H
#define VT_INIT_INTERNAL_H

#include <stddef.h>

struct vt_jsonrpc_request;

/*
 * Config replay with the error text handed to the caller instead of logged: err is
 * "config: <method> failed: <message> (code N)" or another "config: ..." line, NULL on success.
 * It is valid only during the callback. rc is 0, -EINVAL (bad text or structure), -ENOENT
 * (unknown subsystem), -EIO (a method failed) or -ENOMEM. cb runs on the calling reactor, and
 * never before init_json_config_load returns unless the context cannot be allocated.
 */
typedef void (*init_json_config_cb)(int rc, const char *err, void *arg);
void init_json_config_load(const char *text, size_t len, init_json_config_cb cb, void *arg);

/*
 * framework_start_init (--wait-for-rpc, reactor 0): starts the subsystems, replays the config,
 * then answers req (true, or the error). -EALREADY when the start-up is not waiting for it.
 */
int init_app_start_init(struct vt_jsonrpc_request *req);

/* framework_wait_init: answers the requests that wait for the end of start-up. */
void init_framework_rpc_ready(void);
/* Answers the waiting requests with an error; called before the RPC server closes. */
void init_framework_rpc_shutdown(void);

#endif
