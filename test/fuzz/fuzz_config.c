/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for the start-up configuration (`vtarget -c FILE`, lib/init/json_config.c):
 * the input is the file. The whole text is checked before anything runs, then its methods are
 * replayed through the RPC registry on the reactor, as at start-up (RPC state STARTUP).
 *
 * Entries that would reach outside the process (fz_request_safe in fuzz_rpc_env.h) get their
 * method renamed in the parsed text to one that does not exist before the load, so the checks
 * still see the same structure and the replay stops with "Method not found" where they stood. A load must end (its callback runs once, within a
 * bounded number of reactor iterations), with a message when it fails; everything it created is
 * deleted afterwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vt/event.h"
#include "vt/json.h"
#include "vt/rpc.h"

#include "lib/init/init_internal.h"
#include "test/fuzz/fuzz_rpc_env.h"

#define UNSAFE_STANDIN "fuzz_unsafe_method"

struct fz_load {
	int done;
	int rc;
};

/* Renames unsafe methods in every "method" member of every entry; true if it renamed one. */
static bool
fz_defuse(yajl_val tree)
{
	yajl_val subs = vt_json_object_get(tree, "subsystems");
	bool renamed = false;

	if (!YAJL_IS_OBJECT(tree) || !YAJL_IS_ARRAY(subs)) {
		return false;
	}
	for (size_t i = 0; i < subs->u.array.len; i++) {
		yajl_val sub = subs->u.array.values[i];

		if (!YAJL_IS_OBJECT(sub)) {
			continue;
		}
		for (size_t k = 0; k < sub->u.object.len; k++) {
			yajl_val config = sub->u.object.values[k];

			if (strcmp(sub->u.object.keys[k], "config") != 0 ||
			    !YAJL_IS_ARRAY(config)) {
				continue;
			}
			for (size_t j = 0; j < config->u.array.len; j++) {
				yajl_val e = config->u.array.values[j];

				if (!YAJL_IS_OBJECT(e)) {
					continue;
				}
				if (fz_request_safe(e)) {
					continue;
				}
				for (size_t m = 0; m < e->u.object.len; m++) {
					yajl_val v = e->u.object.values[m];

					if (strcmp(e->u.object.keys[m], "method") == 0 &&
					    YAJL_IS_STRING(v)) {
						free(v->u.string);
						v->u.string = strdup(UNSAFE_STANDIN);
						if (v->u.string == NULL) {
							fz_fail("fuzz_config: out of memory");
						}
						renamed = true;
					}
				}
			}
		}
	}
	return renamed;
}

static void
fz_load_cb(int rc, const char *err, void *arg)
{
	struct fz_load *l = arg;

	if (rc != 0 && (err == NULL || err[0] == '\0')) {
		fz_fail("fuzz_config: a failed load without a message");
	}
	if (rc > 0) {
		fz_fail("fuzz_config: a load returns a positive code");
	}
	l->done++;
	l->rc = rc;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_env_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	char err[128], *defused = NULL;
	struct fz_load l = { 0 };
	yajl_val tree;

	fz_env_enter();
	tree = vt_json_parse(text, size, err, sizeof(err));
	if (tree != NULL && fz_defuse(tree)) {
		defused = fz_write(tree);
		if (defused == NULL) {
			/* Not writable (a string that is not UTF-8): nothing safe to load. */
			yajl_tree_free(tree);
			fz_env_leave();
			return 0;
		}
		text = defused;
		size = strlen(defused);
	}
	yajl_tree_free(tree);

	vt_rpc_set_state(VT_RPC_STARTUP);
	init_json_config_load(text, size, fz_load_cb, &l);
	if (l.done != 0) {
		fz_fail("fuzz_config: the load finished inside init_json_config_load");
	}
	if (!fz_poll_until(&l.done, 1)) {
		fz_fail("fuzz_config: the load never finishes");
	}
	for (int i = 0; i < 16; i++) {
		vt_reactor_poll_once();
	}
	if (l.done != 1) {
		fz_fail("fuzz_config: the load finished twice");
	}
	free(defused);
	fz_env_restore();
	fz_env_leave();
	return 0;
}
