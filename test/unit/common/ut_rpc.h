/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_UT_RPC_H
#define VT_UT_RPC_H

/* Calls an RPC method in-process (vt_rpc_call) and keeps what its answer said. */

#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "vt/json.h"
#include "vt/rpc.h"
#include "test/unit/common/ut_reactor.h"

struct ut_rpc {
	int done;          /* answers received */
	int code;          /* 0 for a result */
	char msg[512];     /* the error message; "" for a result */
	char result[2048]; /* the result as compact JSON text; "" for an error */
};

static inline void
ut_rpc_cb(void *arg, int code, const char *err_msg, yajl_val result)
{
	struct ut_rpc *r = arg;
	struct vt_json_write_ctx *w;

	r->done++;
	r->code = code;
	snprintf(r->msg, sizeof(r->msg), "%s", err_msg != NULL ? err_msg : "");
	r->result[0] = '\0';
	if (result != NULL) {
		w = vt_json_write_begin(false);
		vt_json_write_val(w, result);
		vt_json_write_end(w);
		snprintf(r->result, sizeof(r->result), "%s", vt_json_write_buf(w, NULL));
		vt_json_write_free(w);
	}
}

/* Starts the call with params as JSON text (NULL: none); r->done counts its answers. */
static inline void
ut_rpc_start(struct ut_rpc *r, const char *method, const char *params)
{
	char err[128];
	yajl_val p = NULL;

	memset(r, 0, sizeof(*r));
	if (params != NULL) {
		p = vt_json_parse(params, strlen(params), err, sizeof(err));
		CU_ASSERT_FATAL(p != NULL);
	}
	vt_rpc_call(method, p, ut_rpc_cb, r);
	yajl_tree_free(p);
}

/* Calls and polls the calling reactor until the answer is in. */
static inline void
ut_rpc(struct ut_rpc *r, const char *method, const char *params)
{
	ut_rpc_start(r, method, params);
	CU_ASSERT(ut_poll_until(&r->done, 1));
}

#endif
