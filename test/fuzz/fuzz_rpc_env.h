/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_FUZZ_RPC_ENV_H
#define VT_FUZZ_RPC_ENV_H

/*
 * For the harnesses that call RPC methods (fuzz_json_rpc, fuzz_config): one reactor, and after
 * each input the process put back as it started (no bdev, the same log settings and bdev
 * options), so an input behaves the same whatever ran before it.
 */

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/event.h"
#include "vt/json.h"
#include "vt/log.h"
#include "vt/rpc.h"

#include "lib/bdev/malloc/bdev_malloc.h"
#include "lib/bdev/null/bdev_null.h"
#include "test/unit/common/ut_reactor.h"

/* Reactor iterations an input may take to finish what it started. */
#define FZ_POLL_BUDGET 2000000

struct fz_call {
	int done;
	int code;
};

static bool g_log_flags[256];
static enum vt_log_level g_print_level, g_level;
static char *g_bdev_opts_text;	/* params of bdev_set_options as the process started */

static void
fz_fail(const char *what)
{
	fprintf(stderr, "%s\n", what);
	abort();
}

static bool
fz_poll_until(const int *counter, int want)
{
	for (long n = 0; n < FZ_POLL_BUDGET && *counter < want; n++) {
		vt_reactor_poll_once();
	}
	return *counter >= want;
}

static char *
fz_write(yajl_val v)
{
	struct vt_json_write_ctx *w = vt_json_write_begin(false);
	char *text = NULL;
	size_t len;

	if (w == NULL) {
		fz_fail("out of memory");
	}
	vt_json_write_val(w, v);
	if (vt_json_write_end(w) == 0) {
		const char *b = vt_json_write_buf(w, &len);

		text = strndup(b, len);
	}
	vt_json_write_free(w);
	return text;
}

static void
fz_call_cb(void *arg, int code, const char *err_msg, yajl_val result)
{
	struct fz_call *c = arg;

	if (code != 0 && (err_msg == NULL || result != NULL)) {
		fz_fail("an error answer without a message, or with a result");
	}
	c->done++;
	c->code = code;
}

static void
fz_count_cb(void *arg, int rc)
{
	(*(int *)arg)++;
}

/* Deletes every bdev, puts back the log settings and the bdev options. */
static void
fz_env_restore(void)
{
	struct vt_bdev *b;
	struct vt_log_flag *f;
	int i = 0;

	while ((b = vt_bdev_first()) != NULL) {
		int done = 0, rc;

		if (b->module == &g_bdev_malloc_module) {
			rc = bdev_malloc_delete(b, fz_count_cb, &done);
		} else if (b->module == &g_bdev_null_module) {
			rc = bdev_null_delete(b, fz_count_cb, &done);
		} else {
			rc = -ENODEV;
		}
		if (rc != 0 || !fz_poll_until(&done, 1)) {
			fz_fail("cannot delete a bdev the input created");
		}
	}
	for (f = vt_log_flag_first(); f != NULL; f = vt_log_flag_next(f), i++) {
		f->enabled = g_log_flags[i];
	}
	vt_log_set_print_level(g_print_level);
	vt_log_set_level(g_level);
	if (g_bdev_opts_text != NULL) {
		char err[128];
		yajl_val p = vt_json_parse(g_bdev_opts_text, strlen(g_bdev_opts_text), err,
					   sizeof(err));
		struct fz_call c = { 0 };

		vt_rpc_set_state(VT_RPC_STARTUP);
		vt_rpc_call("bdev_set_options", p, fz_call_cb, &c);
		if (!fz_poll_until(&c.done, 1) || c.code != 0) {
			fz_fail("cannot restore the bdev options");
		}
		yajl_tree_free(p);
	}
	for (i = 0; i < 16; i++) {
		vt_reactor_poll_once();
	}
}

/* The params of the bdev_set_options entry of the bdev subsystem's config, as text. */
static void
fz_config_cb(void *arg, int code, const char *err_msg, yajl_val result)
{
	if (code != 0 || !YAJL_IS_ARRAY(result)) {
		return;
	}
	for (size_t i = 0; i < result->u.array.len; i++) {
		yajl_val e = result->u.array.values[i];
		const char *m = YAJL_GET_STRING(vt_json_object_get(e, "method"));

		if (m != NULL && strcmp(m, "bdev_set_options") == 0) {
			g_bdev_opts_text = fz_write(vt_json_object_get(e, "params"));
		}
	}
	(*(int *)arg)++;
}

/* Starts the reactor and records the settings fz_env_restore puts back. */
static void
fz_env_init(void)
{
	struct vt_log_flag *f;
	char err[64];
	yajl_val p;
	int i = 0, done = 0;

	vt_log_set_print_level(getenv("FUZZ_VERBOSE") != NULL ? VT_LOG_DEBUG : VT_LOG_DISABLED);
	g_print_level = vt_log_get_print_level();
	g_level = vt_log_get_level();
	for (f = vt_log_flag_first(); f != NULL && i < 256; f = vt_log_flag_next(f), i++) {
		g_log_flags[i] = f->enabled;
	}
	if (ut_reactor_init_one(false) != 0) {
		fz_fail("cannot start a reactor");
	}
	p = vt_json_parse("{\"name\":\"bdev\"}", 15, err, sizeof(err));
	vt_rpc_call("framework_get_config", p, fz_config_cb, &done);
	yajl_tree_free(p);
	if (!fz_poll_until(&done, 1) || g_bdev_opts_text == NULL) {
		fz_fail("cannot read the bdev options");
	}
}

#endif
