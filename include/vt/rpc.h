/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_RPC_H
#define VT_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vt/json.h"

/*
 * JSON-RPC 2.0 server on a Unix socket, running on reactor 0. Methods are registered at start-up
 * with VT_RPC_REGISTER; a handler answers exactly once, either before returning or later from
 * any callback running on reactor 0 (asynchronous methods).
 */

#define VT_JSONRPC_ERROR_PARSE_ERROR -32700
#define VT_JSONRPC_ERROR_INVALID_REQUEST -32600
#define VT_JSONRPC_ERROR_METHOD_NOT_FOUND -32601
#define VT_JSONRPC_ERROR_INVALID_PARAMS -32602
#define VT_JSONRPC_ERROR_INTERNAL_ERROR -32603

/* Largest request text accepted on a connection; larger ones get -32600 and the connection closes. */
#define VT_JSONRPC_MAX_REQUEST_SIZE (4u * 1024 * 1024)
#define VT_JSONRPC_MAX_CONNS 128

/* Method availability: while the config file is replayed (STARTUP) and afterwards (RUNTIME). */
#define VT_RPC_STARTUP 0x1
#define VT_RPC_RUNTIME 0x2
/*
 * Before the subsystems are initialised (--wait-for-rpc, until framework_start_init): the
 * methods SPDK allows in its start-up state, which set options the initialisation reads.
 */
#define VT_RPC_PREINIT 0x4

struct vt_jsonrpc_request;

/* params is NULL when the request had none. It stays valid until the request is answered. */
typedef void (*vt_rpc_method_handler)(struct vt_jsonrpc_request *req, yajl_val params);

void vt_rpc_register_method(const char *method, vt_rpc_method_handler fn, uint32_t state_mask);
/* Marks old_name as a deprecated alias of a registered method. */
void vt_rpc_register_alias(const char *alias, const char *method);

/* A deprecated name (SPDK's before its 19.10 / 20.01 renaming) and the method it stands for. */
struct vt_rpc_alias {
	const char *alias;
	const char *method;
};

void vt_rpc_register_aliases(const struct vt_rpc_alias *aliases, size_t count);

/* Registers a table of struct vt_rpc_alias at start-up. */
#define VT_RPC_REGISTER_ALIASES(table)                                                 \
	__attribute__((constructor)) static void vt_rpc_register_aliases_##table(void) \
	{                                                                              \
		vt_rpc_register_aliases(table, sizeof(table) / sizeof((table)[0]));    \
	}

#define VT_RPC_REGISTER(method, fn, mask)                                   \
	__attribute__((constructor)) static void vt_rpc_register_##fn(void) \
	{                                                                   \
		vt_rpc_register_method(method, fn, mask);                   \
	}

void vt_rpc_set_state(uint32_t state);
uint32_t vt_rpc_get_state(void);
/* Iterates registered method names in registration order (for rpc_get_methods). */
const char *vt_rpc_method_first(uint32_t *iter, uint32_t *state_mask);
const char *vt_rpc_method_next(uint32_t *iter, uint32_t *state_mask);
/*
 * Iterates the aliases (which the method iteration skips) in registration order; state_mask is
 * that of the method the alias stands for (0 if it is not registered).
 */
const char *vt_rpc_alias_first(uint32_t *iter, uint32_t *state_mask);
const char *vt_rpc_alias_next(uint32_t *iter, uint32_t *state_mask);

/*
 * Answers with a result: begin returns a writer positioned where the result value goes; write one
 * JSON value, then end. NULL if the request was a notification (the caller must still call end).
 */
struct vt_json_write_ctx *vt_jsonrpc_begin_result(struct vt_jsonrpc_request *req);
void vt_jsonrpc_end_result(struct vt_jsonrpc_request *req, struct vt_json_write_ctx *w);
void vt_jsonrpc_send_bool_response(struct vt_jsonrpc_request *req, bool value);
void vt_jsonrpc_send_error_response(struct vt_jsonrpc_request *req, int code, const char *msg);
void vt_jsonrpc_send_error_response_fmt(struct vt_jsonrpc_request *req, int code, const char *fmt,
					...) __attribute__((format(printf, 3, 4)));

/*
 * Decodes params with the table; on failure answers -32602 with the decoder's message (it names
 * the parameter) and returns -EINVAL: the handler then just returns.
 */
int vt_rpc_decode_params(struct vt_jsonrpc_request *req, yajl_val params,
			 const struct vt_json_object_decoder *decoders, size_t num_decoders,
			 void *out);

/* Listens on path (mode 0600) guarded by path.lock. -EADDRINUSE when another daemon holds it. */
int vt_rpc_server_listen(const char *path);
/* Before listening: the socket gets this group and mode 0660 (gid -1: mode 0600, the default). */
void vt_rpc_server_set_group(int64_t gid);
/* Closes the listener and every connection, removes the socket and the lock file. */
void vt_rpc_server_close(void);
const char *vt_rpc_server_path(void);

/*
 * Calls a method in-process (config replay): cb gets code 0 and the result, or the error code and
 * message. Runs on reactor 0. result is freed after cb returns.
 */
typedef void (*vt_rpc_call_cb)(void *arg, int code, const char *err_msg, yajl_val result);
void vt_rpc_call(const char *method, yajl_val params, vt_rpc_call_cb cb, void *arg);

#endif
