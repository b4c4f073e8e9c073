/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The method registry, the RPC state, answering requests, and in-process calls.
 *
 * A request is answered exactly once, by vt_jsonrpc_end_result or one of the send functions,
 * either from inside its handler or later. The answer is stored in the request; whoever created
 * the request (the server, or vt_rpc_call) consumes it when jsonrpc_request_run returns true, or
 * in its done callback when the answer comes later. Keeping the two cases apart means a handler
 * that answers at once never re-enters the code that called it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vt/json.h"
#include "vt/log.h"
#include "vt/rpc.h"
#include "vt/util.h"

#include "jsonrpc_internal.h"

VT_LOG_REGISTER_COMPONENT(rpc)

struct rpc_method {
	char *name;
	vt_rpc_method_handler fn; /* NULL for an alias */
	uint32_t state_mask;
	char *alias_of; /* an alias's method, looked up at call time */
	bool deprecation_logged;
};

/* Filled by constructors before main(), read-only afterwards: no lock. */
static struct rpc_method *g_methods;
static uint32_t g_num_methods;
static uint32_t g_methods_cap;
static uint32_t g_rpc_state = VT_RPC_STARTUP;

static struct rpc_method *
rpc_find(const char *name)
{
	uint32_t i;

	for (i = 0; i < g_num_methods; i++) {
		if (strcmp(g_methods[i].name, name) == 0) {
			return &g_methods[i];
		}
	}
	return NULL;
}

/* Registration happens in constructors: a mistake there is a programming error, fatal at once. */
static struct rpc_method *
rpc_add(const char *name)
{
	struct rpc_method *m;
	uint32_t cap;

	if (name == NULL || name[0] == '\0') {
		VT_ERRLOG("cannot register rpc method: empty name\n");
		abort();
	}
	if (rpc_find(name) != NULL) {
		VT_ERRLOG("cannot register rpc method '%s': name already registered\n", name);
		abort();
	}
	if (g_num_methods == g_methods_cap) {
		cap = g_methods_cap != 0 ? g_methods_cap * 2 : 64;
		m = realloc(g_methods, cap * sizeof(*m));
		if (m == NULL) {
			VT_ERRLOG("cannot register rpc method '%s': out of memory\n", name);
			abort();
		}
		g_methods = m;
		g_methods_cap = cap;
	}
	m = &g_methods[g_num_methods];
	memset(m, 0, sizeof(*m));
	m->name = strdup(name);
	if (m->name == NULL) {
		VT_ERRLOG("cannot register rpc method '%s': out of memory\n", name);
		abort();
	}
	g_num_methods++;
	return m;
}

void
vt_rpc_register_method(const char *method, vt_rpc_method_handler fn, uint32_t state_mask)
{
	struct rpc_method *m;

	if (fn == NULL) {
		VT_ERRLOG("cannot register rpc method '%s': no handler\n", method);
		abort();
	}
	m = rpc_add(method);
	m->fn = fn;
	m->state_mask = state_mask;
}

void
vt_rpc_register_alias(const char *alias, const char *method)
{
	struct rpc_method *m;

	if (method == NULL) {
		VT_ERRLOG("cannot register rpc alias '%s': no method\n", alias);
		abort();
	}
	m = rpc_add(alias);
	m->alias_of = strdup(method);
	if (m->alias_of == NULL) {
		VT_ERRLOG("cannot register rpc alias '%s': out of memory\n", alias);
		abort();
	}
}

void
vt_rpc_register_aliases(const struct vt_rpc_alias *aliases, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		vt_rpc_register_alias(aliases[i].alias, aliases[i].method);
	}
}

/* The method behind name (following an alias), or NULL. */
static struct rpc_method *
rpc_resolve(const char *name)
{
	struct rpc_method *m = rpc_find(name);

	if (m != NULL && m->alias_of != NULL) {
		struct rpc_method *target = rpc_find(m->alias_of);

		if (target == NULL || target->fn == NULL) {
			VT_ERRLOG("rpc alias '%s' names no registered method '%s'\n", name,
				  m->alias_of);
			return NULL;
		}
		if (!m->deprecation_logged) {
			m->deprecation_logged = true;
			VT_WARNLOG("rpc method '%s' is deprecated, use '%s' instead\n", name,
				   target->name);
		}
		return target;
	}
	return m;
}

void
vt_rpc_set_state(uint32_t state)
{
	g_rpc_state = state;
}

uint32_t
vt_rpc_get_state(void)
{
	return g_rpc_state;
}

static const char *
rpc_state_name(uint32_t state)
{
	switch (state) {
	case VT_RPC_STARTUP:
		return "startup";
	case VT_RPC_RUNTIME:
		return "runtime";
	case VT_RPC_PREINIT:
		return "pre-init (--wait-for-rpc: call framework_start_init first)";
	default:
		return "current";
	}
}

static const char *
rpc_iter(uint32_t *iter, uint32_t *state_mask, bool aliases)
{
	struct rpc_method *m, *target;

	while (*iter < g_num_methods) {
		m = &g_methods[(*iter)++];
		if ((m->alias_of != NULL) != aliases) {
			continue;
		}
		if (state_mask != NULL) {
			target = aliases ? rpc_find(m->alias_of) : m;
			*state_mask = target != NULL ? target->state_mask : 0;
		}
		return m->name;
	}
	return NULL;
}

const char *
vt_rpc_method_first(uint32_t *iter, uint32_t *state_mask)
{
	*iter = 0;
	return rpc_iter(iter, state_mask, false);
}

const char *
vt_rpc_method_next(uint32_t *iter, uint32_t *state_mask)
{
	return rpc_iter(iter, state_mask, false);
}

const char *
vt_rpc_alias_first(uint32_t *iter, uint32_t *state_mask)
{
	*iter = 0;
	return rpc_iter(iter, state_mask, true);
}

const char *
vt_rpc_alias_next(uint32_t *iter, uint32_t *state_mask)
{
	return rpc_iter(iter, state_mask, true);
}

/* ---- requests ---------------------------------------------------------------------------- */

struct vt_jsonrpc_request *
jsonrpc_request_alloc(const char *method, const char *id, yajl_val params,
		      jsonrpc_request_done_fn done, void *ctx)
{
	struct vt_jsonrpc_request *req;

	req = calloc(1, sizeof(*req));
	if (req == NULL) {
		return NULL;
	}
	req->method = strdup(method);
	req->id = id != NULL ? strdup(id) : NULL;
	if (req->method == NULL || (id != NULL && req->id == NULL)) {
		free(req->method);
		free(req->id);
		free(req);
		return NULL;
	}
	req->params = params;
	req->done = done;
	req->ctx = ctx;
	return req;
}

void
jsonrpc_request_free(struct vt_jsonrpc_request *req)
{
	if (req == NULL) {
		return;
	}
	if (!req->answered) {
		VT_ERRLOG("rpc request '%s' freed without an answer\n", req->method);
	}
	free(req->method);
	free(req->id);
	free(req->err_msg);
	free(req->result);
	free(req);
}

/* Stores the answer (taking result) and hands the request back to its creator if due. */
static void
rpc_answer(struct vt_jsonrpc_request *req, int code, const char *msg, char *result, size_t len)
{
	if (req->answered) {
		VT_ERRLOG("rpc method '%s' answered twice: second answer dropped\n", req->method);
		free(result);
		return;
	}
	req->answered = true;
	req->code = code;
	req->result = result;
	req->result_len = len;
	if (msg != NULL) {
		req->err_msg = strdup(msg);
		if (req->err_msg == NULL) {
			VT_ERRLOG("rpc method '%s': out of memory for the error message\n",
				  req->method);
		}
	}
	if (!req->in_handler) {
		req->done(req);
	}
}

void
jsonrpc_request_set_error(struct vt_jsonrpc_request *req, int code, const char *msg)
{
	req->in_handler = true;
	rpc_answer(req, code, msg, NULL, 0);
	req->in_handler = false;
}

bool
jsonrpc_request_run(struct vt_jsonrpc_request *req)
{
	struct rpc_method *m;

	req->in_handler = true;
	m = rpc_resolve(req->method);
	if (m == NULL) {
		vt_jsonrpc_send_error_response_fmt(req, VT_JSONRPC_ERROR_METHOD_NOT_FOUND,
						   "Method not found: '%s'", req->method);
	} else if ((m->state_mask & g_rpc_state) == 0) {
		vt_jsonrpc_send_error_response_fmt(req, VT_JSONRPC_ERROR_METHOD_NOT_FOUND,
						   "method '%s' is not allowed in the %s state",
						   req->method, rpc_state_name(g_rpc_state));
	} else {
		VT_DEBUGLOG(rpc, "calling rpc method '%s'\n", req->method);
		m->fn(req, req->params);
	}
	req->in_handler = false;
	return req->answered;
}

/* ---- answering --------------------------------------------------------------------------- */

struct vt_json_write_ctx *
vt_jsonrpc_begin_result(struct vt_jsonrpc_request *req)
{
	if (req == NULL || req->id == NULL || req->answered) {
		return NULL;
	}
	return vt_json_write_begin(false);
}

void
vt_jsonrpc_end_result(struct vt_jsonrpc_request *req, struct vt_json_write_ctx *w)
{
	const char *text;
	char *result;
	size_t len;
	int rc;

	if (req == NULL) {
		vt_json_write_free(w);
		return;
	}
	if (w == NULL) {
		if (req->id == NULL) {
			rpc_answer(req, 0, NULL, NULL, 0);
		} else {
			rpc_answer(req, VT_JSONRPC_ERROR_INTERNAL_ERROR, "out of memory", NULL, 0);
		}
		return;
	}
	rc = vt_json_write_end(w);
	if (rc != 0) {
		VT_ERRLOG("rpc method '%s' wrote an invalid result: %s\n", req->method,
			  vt_strerror(-rc));
		vt_json_write_free(w);
		rpc_answer(req, VT_JSONRPC_ERROR_INTERNAL_ERROR,
			   rc == -ENOMEM ? "out of memory" : "internal error: invalid result", NULL,
			   0);
		return;
	}
	text = vt_json_write_buf(w, &len);
	result = malloc(len + 1);
	if (result == NULL) {
		vt_json_write_free(w);
		rpc_answer(req, VT_JSONRPC_ERROR_INTERNAL_ERROR, "out of memory", NULL, 0);
		return;
	}
	memcpy(result, text, len + 1);
	vt_json_write_free(w);
	rpc_answer(req, 0, NULL, result, len);
}

void
vt_jsonrpc_send_bool_response(struct vt_jsonrpc_request *req, bool value)
{
	struct vt_json_write_ctx *w = vt_jsonrpc_begin_result(req);

	vt_json_write_bool(w, value);
	vt_jsonrpc_end_result(req, w);
}

void
vt_jsonrpc_send_error_response(struct vt_jsonrpc_request *req, int code, const char *msg)
{
	if (req == NULL) {
		return;
	}
	if (code == 0) {
		VT_ERRLOG("rpc method '%s' answered an error with code 0\n", req->method);
		code = VT_JSONRPC_ERROR_INTERNAL_ERROR;
	}
	rpc_answer(req, code, msg != NULL ? msg : "", NULL, 0);
}

void
vt_jsonrpc_send_error_response_fmt(struct vt_jsonrpc_request *req, int code, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	vt_jsonrpc_send_error_response(req, code, buf);
}

int
vt_rpc_decode_params(struct vt_jsonrpc_request *req, yajl_val params,
		     const struct vt_json_object_decoder *decoders, size_t num_decoders, void *out)
{
	char err[512];
	int rc;

	rc = vt_json_decode_object(params, decoders, num_decoders, out, err, sizeof(err));
	if (rc != 0) {
		vt_jsonrpc_send_error_response(req,
					       rc == -ENOMEM ? VT_JSONRPC_ERROR_INTERNAL_ERROR
							     : VT_JSONRPC_ERROR_INVALID_PARAMS,
					       err);
	}
	return rc;
}

/* ---- in-process calls -------------------------------------------------------------------- */

struct rpc_call {
	vt_rpc_call_cb cb;
	void *arg;
	yajl_val params; /* our own copy, so the caller's tree may go at once */
};

static void
rpc_call_done(struct vt_jsonrpc_request *req)
{
	struct rpc_call *call = req->ctx;
	yajl_val result = NULL;
	char err[256];

	if (req->code != 0) {
		call->cb(call->arg, req->code, req->err_msg != NULL ? req->err_msg : "", NULL);
	} else {
		result = vt_json_parse(req->result, req->result_len, err, sizeof(err));
		if (result == NULL) {
			VT_ERRLOG("rpc method '%s' result cannot be read back: %s\n", req->method,
				  err);
			call->cb(call->arg, VT_JSONRPC_ERROR_INTERNAL_ERROR,
				 "internal error: invalid result", NULL);
		} else {
			call->cb(call->arg, 0, NULL, result);
			yajl_tree_free(result);
		}
	}
	yajl_tree_free(call->params);
	free(call);
	jsonrpc_request_free(req);
}

/* A deep copy of val through its text: parsed trees have no other copy primitive. */
static int
rpc_copy_val(yajl_val val, yajl_val *copy)
{
	struct vt_json_write_ctx *w;
	const char *text;
	char err[256];
	size_t len;
	int rc;

	*copy = NULL;
	if (val == NULL) {
		return 0;
	}
	w = vt_json_write_begin(false);
	if (w == NULL) {
		return -ENOMEM;
	}
	vt_json_write_val(w, val);
	rc = vt_json_write_end(w);
	if (rc == 0) {
		text = vt_json_write_buf(w, &len);
		*copy = vt_json_parse(text, len, err, sizeof(err));
		if (*copy == NULL) {
			rc = -EINVAL;
		}
	}
	vt_json_write_free(w);
	return rc;
}

void
vt_rpc_call(const char *method, yajl_val params, vt_rpc_call_cb cb, void *arg)
{
	struct vt_jsonrpc_request *req;
	struct rpc_call *call;
	int rc;

	if (method == NULL) {
		cb(arg, VT_JSONRPC_ERROR_INVALID_REQUEST, "method must be a string", NULL);
		return;
	}
	call = calloc(1, sizeof(*call));
	if (call == NULL) {
		cb(arg, VT_JSONRPC_ERROR_INTERNAL_ERROR, "out of memory", NULL);
		return;
	}
	call->cb = cb;
	call->arg = arg;
	rc = rpc_copy_val(params, &call->params);
	if (rc != 0) {
		free(call);
		cb(arg,
		   rc == -ENOMEM ? VT_JSONRPC_ERROR_INTERNAL_ERROR
				 : VT_JSONRPC_ERROR_INVALID_PARAMS,
		   rc == -ENOMEM ? "out of memory" : "params cannot be copied", NULL);
		return;
	}
	if (call->params != NULL && !YAJL_IS_OBJECT(call->params) && !YAJL_IS_ARRAY(call->params)) {
		yajl_tree_free(call->params);
		free(call);
		cb(arg, VT_JSONRPC_ERROR_INVALID_REQUEST,
		   "invalid request: 'params' must be an object or an array", NULL);
		return;
	}
	/* The id only marks the call as expecting an answer; it is never shown. */
	req = jsonrpc_request_alloc(method, "0", call->params, rpc_call_done, call);
	if (req == NULL) {
		yajl_tree_free(call->params);
		free(call);
		cb(arg, VT_JSONRPC_ERROR_INTERNAL_ERROR, "out of memory", NULL);
		return;
	}
	if (jsonrpc_request_run(req)) {
		rpc_call_done(req);
	}
}
