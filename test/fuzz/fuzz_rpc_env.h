/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_FUZZ_RPC_ENV_H
#define VT_FUZZ_RPC_ENV_H

/*
 * For the harnesses that call RPC methods (fuzz_json_rpc, fuzz_config): one reactor, and after
 * each input the process put back as it started (no bdev, the same log settings and bdev
 * options), so an input behaves the same whatever ran before it.
 */

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/event.h"
#include "vt/json.h"
#include "vt/log.h"
#include "vt/rpc.h"
#include "vt/util.h"

#include "lib/bdev/malloc/bdev_malloc.h"
#include "lib/bdev/null/bdev_null.h"
#include "test/unit/common/ut_reactor.h"

/* Reactor iterations an input may take to finish what it started. */
#define FZ_POLL_BUDGET 2000000

struct fz_call {
	int done;
	int code;
};

/*
 * Which requests a harness may run. Every registered method is called except those that reach
 * outside the process: vhost_create_blk_controller and vhost_create_scsi_controller (DPDK and
 * vhost-user sockets), spdk_kill_instance (stops the process), and framework_wait_init during
 * start-up (it waits for an end of start-up that never comes here). The file bdevs
 * (bdev_aio_create, bdev_uring_create, construct_aio_bdev) run when their "filename" is the
 * harness's own image file FZ_IMAGE (in a private folder that is the working directory), or is
 * not a string. A method name nobody registered is let through: it fails as it would in the
 * daemon. A method registered after this list was written is not called until it is added.
 */
#define FZ_IMAGE "fz.img"
#define FZ_IMAGE_BYTES (1024 * 1024)

static const char *const g_safe_methods[] = {
	"rpc_get_methods",
	"spdk_get_version",
	"log_set_flag",
	"log_clear_flag",
	"log_get_flags",
	"log_set_level",
	"log_get_level",
	"log_set_print_level",
	"log_get_print_level",
	"vhost_get_controllers",
	"vhost_delete_controller",
	"vhost_start_scsi_controller",
	"vhost_scsi_controller_add_target",
	"vhost_scsi_controller_remove_target",
	"framework_get_subsystems",
	"framework_get_config",
	"framework_wait_init",
	"bdev_get_bdevs",
	"bdev_get_iostat",
	"bdev_set_options",
	"bdev_wait_for_examine",
	"bdev_malloc_create",
	"bdev_malloc_delete",
	"bdev_null_create",
	"bdev_null_delete",
	"bdev_null_resize",
	"bdev_aio_delete",
	"bdev_uring_delete",
	"bdev_aio_rescan",
	"bdev_uring_rescan",
	"delete_aio_bdev",
};

static const char *const g_file_methods[] = {
	"bdev_aio_create",
	"bdev_uring_create",
	"construct_aio_bdev",
};

static bool
fz_in(const char *m, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(m, list[i]) == 0) {
			return true;
		}
	}
	return false;
}

static bool
fz_method_registered(const char *m)
{
	uint32_t iter, mask;
	const char *name;

	for (name = vt_rpc_method_first(&iter, &mask); name != NULL;
	     name = vt_rpc_method_next(&iter, &mask)) {
		if (strcmp(name, m) == 0) {
			return true;
		}
	}
	for (name = vt_rpc_alias_first(&iter, &mask); name != NULL;
	     name = vt_rpc_alias_next(&iter, &mask)) {
		if (strcmp(name, m) == 0) {
			return true;
		}
	}
	return false;
}

/* True when every "filename" member of every "params" object of obj is FZ_IMAGE or no string. */
static bool
fz_filenames_ok(yajl_val obj)
{
	for (size_t i = 0; i < obj->u.object.len; i++) {
		yajl_val p = obj->u.object.values[i];

		if (strcmp(obj->u.object.keys[i], "params") != 0 || !YAJL_IS_OBJECT(p)) {
			continue;
		}
		for (size_t k = 0; k < p->u.object.len; k++) {
			yajl_val f = p->u.object.values[k];

			if (strcmp(p->u.object.keys[k], "filename") == 0 && YAJL_IS_STRING(f) &&
			    strcmp(YAJL_GET_STRING(f), FZ_IMAGE) != 0) {
				return false;
			}
		}
	}
	return true;
}

static bool
fz_method_safe(const char *m, yajl_val obj)
{
	if (strcmp(m, "framework_wait_init") == 0 && vt_rpc_get_state() != VT_RPC_RUNTIME) {
		return false;
	}
	if (fz_in(m, g_file_methods, VT_COUNTOF(g_file_methods))) {
		return fz_filenames_ok(obj);
	}
	return fz_in(m, g_safe_methods, VT_COUNTOF(g_safe_methods)) || !fz_method_registered(m);
}

/* True when the request (or config entry) obj may run: every "method" member of it (duplicates
 * included: the harness does not guess which one the parser keeps) is safe with its params. */
static bool
fz_request_safe(yajl_val obj)
{
	if (!YAJL_IS_OBJECT(obj)) {
		return true;
	}
	for (size_t i = 0; i < obj->u.object.len; i++) {
		yajl_val v = obj->u.object.values[i];

		if (strcmp(obj->u.object.keys[i], "method") == 0 && YAJL_IS_STRING(v) &&
		    !fz_method_safe(YAJL_GET_STRING(v), obj)) {
			return false;
		}
	}
	return true;
}

static bool g_log_flags[256];
static enum vt_log_level g_print_level, g_level;
static char *g_bdev_opts_text; /* params of bdev_set_options as the process started */

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

static void
fz_delete_cb(void *arg, int code, const char *err_msg, yajl_val result)
{
	(*(int *)arg)++;
}

/* A file bdev (aio or uring), through its delete method; 0 or -ENODEV. */
static int
fz_delete_file_bdev(struct vt_bdev *b, int *done)
{
	const char *methods[] = { "bdev_aio_delete", "bdev_uring_delete" };
	struct vt_json_write_ctx *w;
	char err[64];

	vt_rpc_set_state(VT_RPC_RUNTIME); /* the delete methods run only then */
	for (size_t i = 0; i < VT_COUNTOF(methods); i++) {
		yajl_val p;
		int d = 0;

		w = vt_json_write_begin(false);
		vt_json_write_object_begin(w);
		vt_json_write_named_string(w, "name", vt_bdev_get_name(b));
		vt_json_write_object_end(w);
		vt_json_write_end(w);
		p = vt_json_parse(vt_json_write_buf(w, NULL), strlen(vt_json_write_buf(w, NULL)),
				  err, sizeof(err));
		vt_json_write_free(w);
		vt_rpc_call(methods[i], p, fz_delete_cb, &d);
		yajl_tree_free(p);
		if (!fz_poll_until(&d, 1)) {
			return -ENODEV;
		}
		if (vt_bdev_first() != b) {
			break;
		}
	}
	/* The delete method answers once the bdev is gone. */
	*done = vt_bdev_first() != b;
	return *done ? 0 : -ENODEV;
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
			rc = fz_delete_file_bdev(b, &done);
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
		yajl_val p =
			vt_json_parse(g_bdev_opts_text, strlen(g_bdev_opts_text), err, sizeof(err));
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

/* A private working folder holding the image file the file bdevs may open. */
/*
 * The harnesses' folder, one per user and shared by every harness process of that user:
 * libFuzzer ends with _Exit, so nothing a process creates can be removed when it ends. The image
 * file is the same for all; each process's RPC socket is named after its pid, and sockets of
 * processes that are gone are removed at start.
 */
static char g_fz_dir[64];
static int g_fz_cwd = -1; /* the fuzzer's working directory, restored between inputs */

static void
fz_remove_stale_sockets(void)
{
	DIR *d = opendir(g_fz_dir);
	struct dirent *e;
	char path[PATH_MAX];
	long pid;

	if (d == NULL) {
		return;
	}
	while ((e = readdir(d)) != NULL) {
		/* rpc.<pid>.sock and its rpc.<pid>.sock.lock, of a process that is gone. */
		if (sscanf(e->d_name, "rpc.%ld.sock", &pid) != 1 || pid <= 0) {
			continue;
		}
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) {
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", g_fz_dir, e->d_name);
		unlink(path);
	}
	closedir(d);
}

/* Each input runs in the private folder (relative file names land there); libFuzzer's own
 * paths between inputs are relative to its working directory. */
static void
fz_env_enter(void)
{
	if (chdir(g_fz_dir) != 0) {
		fz_fail("cannot enter the private folder");
	}
}

static void
fz_env_leave(void)
{
	if (fchdir(g_fz_cwd) != 0) {
		fz_fail("cannot go back to the working directory");
	}
}

static void
fz_image_init(void)
{
	struct stat st;
	int fd;

	snprintf(g_fz_dir, sizeof(g_fz_dir), "/tmp/vt_fuzz_host.%u", (unsigned)getuid());
	g_fz_cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (g_fz_cwd < 0 || (mkdir(g_fz_dir, 0700) != 0 && errno != EEXIST) ||
	    lstat(g_fz_dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid()) {
		fz_fail("cannot make a private folder");
	}
	fz_remove_stale_sockets();
	fz_env_enter();
	fd = open(FZ_IMAGE, O_RDWR | O_CREAT, 0600);
	if (fd < 0 || ftruncate(fd, FZ_IMAGE_BYTES) != 0) {
		fz_fail("cannot create the image file");
	}
	close(fd);
	fz_env_leave();
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
	if (!fz_method_registered("framework_get_config") ||
	    !fz_method_registered("bdev_malloc_create")) {
		fz_fail("rpc methods missing: link this harness with every library whole "
			"(-Wl,--whole-archive, $(VT_LINK_WHOLE)) so their constructors register them");
	}
	if (ut_reactor_init_one(false) != 0) {
		fz_fail("cannot start a reactor");
	}
	fz_image_init();
	p = vt_json_parse("{\"name\":\"bdev\"}", 15, err, sizeof(err));
	vt_rpc_call("framework_get_config", p, fz_config_cb, &done);
	yajl_tree_free(p);
	if (!fz_poll_until(&done, 1) || g_bdev_opts_text == NULL) {
		fz_fail("cannot read the bdev options");
	}
}

#endif
