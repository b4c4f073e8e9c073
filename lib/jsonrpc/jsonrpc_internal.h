/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_JSONRPC_INTERNAL_H
#define VT_JSONRPC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vt/json.h"
#include "vt/rpc.h"

/* Stop reading a connection while more than this many response bytes wait to be written. */
#define JSONRPC_OUT_HIGH_WATER (1024u * 1024)

/* ---- scanning a byte stream for complete JSON values (json.c) ---------------------------- */

/*
 * Finds where each top-level JSON value of a byte stream ends without parsing it: strings and
 * their escapes, comments (yajl accepts them) and the nesting depth of {} and [] are tracked, and
 * whitespace and comments between values are skipped. The scanner keeps its state between calls,
 * so the stream may arrive in pieces of any size. It does not validate: a malformed value ends
 * somewhere and the parser then reports the error.
 */
struct json_scanner {
	size_t pos;         /* next byte to scan */
	size_t value_start; /* first byte of the current value (valid while in_value) */
	uint32_t depth;     /* open containers of the current value */
	uint32_t max_depth; /* deepest nesting seen since json_scanner_init */
	uint8_t state;      /* enum json_scan_state in json.c */
	bool in_value;      /* the current value has started */
};

enum json_scan_result {
	JSON_SCAN_MORE = 0, /* the value (if any) is not complete yet */
	JSON_SCAN_VALUE,    /* a value spans [value_start, pos) */
};

void json_scanner_init(struct json_scanner *s);
/* Scans buf up to len. On JSON_SCAN_VALUE the scanner is ready for the next value at pos. */
enum json_scan_result json_scanner_next(struct json_scanner *s, const char *buf, size_t len);
/*
 * At the end of the stream: true when what remains is a complete bare literal (a number, true...)
 * that was waiting for a delimiter; the value then spans [value_start, pos=len).
 */
bool json_scanner_finish(struct json_scanner *s, size_t len);
/* The first byte the scanner still needs: everything before it may be discarded. */
size_t json_scanner_keep(const struct json_scanner *s);
/* Moves the scanner's offsets back by n bytes after the buffer was compacted. */
void json_scanner_shift(struct json_scanner *s, size_t n);

/* ---- requests (rpc.c) --------------------------------------------------------------------- */

struct vt_jsonrpc_request;

/* Called once the request is answered and its handler has returned (see jsonrpc_request_run). */
typedef void (*jsonrpc_request_done_fn)(struct vt_jsonrpc_request *req);

struct vt_jsonrpc_request {
	char *method;
	yajl_val params; /* NULL when the request had none; owned by the creator */
	char *id;        /* the id as JSON text; NULL for a notification */
	bool in_handler; /* the handler is on the stack */
	bool answered;
	/* The answer: code 0 and result (JSON text), or an error code and message. */
	int code;
	char *err_msg;
	char *result;
	size_t result_len;
	jsonrpc_request_done_fn done;
	void *ctx; /* the creator's */
};

/* A request for method (copied); id is JSON text (copied) or NULL for a notification. */
struct vt_jsonrpc_request *jsonrpc_request_alloc(const char *method, const char *id,
						 yajl_val params, jsonrpc_request_done_fn done,
						 void *ctx);
/* Logs an error if the request was never answered. NULL-safe. */
void jsonrpc_request_free(struct vt_jsonrpc_request *req);
/*
 * Looks the method up and runs its handler (or answers -32601). Returns true when the request was
 * answered before this returned; otherwise req->done(req) is called when it is answered later.
 */
bool jsonrpc_request_run(struct vt_jsonrpc_request *req);
/* Records an answer without running anything (protocol errors found before dispatch). */
void jsonrpc_request_set_error(struct vt_jsonrpc_request *req, int code, const char *msg);

#endif
