/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iSCSI bdevs: the module, creation and the bdev. All of it runs on reactor 0; the session's
 * pollers, logins and timeouts are in bdev_iscsi_session.c.
 *
 * Creation never blocks: bdev_iscsi_create starts the login and answers the RPC from the poller
 * (iscsi_create_step) once the login, the inquiries (Logical Block Provisioning and Block Limits
 * VPD pages) and READ CAPACITY(16) are done, or when one of them failed or took longer than the
 * login bound. libiscsi's callbacks only record results; whatever tears a context down runs after
 * iscsi_service has returned.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/event.h"
#include "vt/json.h"
#include "vt/log.h"
#include "vt/rpc.h"
#include "vt/util.h"

#include "lib/bdev/iscsi/bdev_iscsi.h"

VT_LOG_REGISTER_COMPONENT(bdev_iscsi)


static struct bdev_iscsi_opts g_opts = { .timeout_sec = BDEV_ISCSI_DEFAULT_TIMEOUT_SEC };
static TAILQ_HEAD(, iscsi_lun) g_luns = TAILQ_HEAD_INITIALIZER(g_luns);

static void iscsi_config_json(struct vt_json_write_ctx *w);
static void iscsi_module_fini(void);

struct vt_bdev_module g_bdev_iscsi_module = {
	.name = "iscsi",
	.module_fini = iscsi_module_fini,
	.io_ctx_size = sizeof(struct iscsi_io),
	.config_json = iscsi_config_json,
};
VT_BDEV_MODULE_REGISTER(iscsi, &g_bdev_iscsi_module)

void
bdev_iscsi_get_opts(struct bdev_iscsi_opts *opts)
{
	*opts = g_opts;
}

void
bdev_iscsi_set_opts(const struct bdev_iscsi_opts *opts)
{
	g_opts = *opts;
}

static void
iscsi_config_json(struct vt_json_write_ctx *w)
{
	vt_json_write_object_begin(w);
	vt_json_write_named_string(w, "method", "bdev_iscsi_set_options");
	vt_json_write_named_object_begin(w, "params");
	vt_json_write_named_uint64(w, "timeout_sec", g_opts.timeout_sec);
	vt_json_write_object_end(w);
	vt_json_write_object_end(w);
}

/* ---- creation ----------------------------------------------------------------------------- */

static const struct vt_bdev_fn_table g_iscsi_fn_table;

static void
lun_free(struct iscsi_lun *lun)
{
	iscsi_session_drop(lun);
	vt_poller_unregister(&lun->tick);
	free(lun->zero_block);
	free(lun->bdev.name);
	free(lun->url);
	free(lun->shown_url);
	free(lun->initiator_iqn);
	free(lun->portal);
	free(lun->target);
	free(lun->user);
	free(lun->password);
	free(lun);
}

static void
lun_free_msg(void *arg)
{
	lun_free(arg);
}

/* What failed, for the creation's error message. */
static const char *
create_what(const struct iscsi_lun *lun)
{
	if (lun->create_stage != 0) {
		return "cannot read the LUN's geometry";
	}
	switch (lun->attempt_rc) {
	case -ENOENT:
		return "target not found";
	case -ENODEV:
		return "LUN not found";
	case -EACCES:
		return "login refused";
	case -ETIMEDOUT:
		return "target unreachable";
	case -ECONNREFUSED:
	case -EHOSTUNREACH:
	case -ENETUNREACH:
		return "cannot connect";
	default:
		return "cannot log in";
	}
}

/* Ends a creation that failed: answers the RPC and frees the LUN (after the current call). */
static void
create_fail(struct iscsi_lun *lun, int rc, const char *what)
{
	VT_ERRLOG("cannot create iscsi bdev '%s' (%s): %s: %s\n", lun->bdev.name, lun->shown_url,
		  what, lun->errmsg);
	vt_jsonrpc_send_error_response_fmt(lun->create_req, rc,
					   "cannot create iscsi bdev '%s': %s (%s): %s",
					   lun->bdev.name, what, lun->shown_url, lun->errmsg);
	lun->create_req = NULL;
	TAILQ_REMOVE(&g_luns, lun, link);
	lun->removing = true;
	iscsi_session_drop(lun);
	vt_poller_unregister(&lun->tick);
	/* A flush may be queued for this LUN: free it after that ran. */
	vt_defer(&lun->free_defer, lun_free_msg, lun);
}

static void
create_register(struct iscsi_lun *lun)
{
	struct vt_json_write_ctx *w;
	int rc;

	if (lun->write_same_supported) {
		lun->zero_block = calloc(1, lun->bdev.blocklen);
		lun->write_same_supported = lun->zero_block != NULL;
	}
	lun->bdev.product_name = "iSCSI LUN";
	lun->bdev.write_cache = true;
	lun->bdev.ctxt = lun;
	lun->bdev.fn_table = &g_iscsi_fn_table;
	lun->bdev.module = &g_bdev_iscsi_module;
	if (lun->unmap_supported) {
		lun->bdev.max_unmap_blocks = lun->max_unmap_lba;
	}
	if (lun->write_same_supported) {
		lun->bdev.max_write_zeroes_blocks = lun->max_ws_len;
	}
	rc = vt_bdev_register(&lun->bdev);
	if (rc != 0) {
		snprintf(lun->errmsg, sizeof(lun->errmsg), "%s", vt_strerror(-rc));
		create_fail(lun, rc, "cannot register the bdev");
		return;
	}
	lun->state = ISCSI_LUN_ONLINE;
	VT_NOTICELOG("iscsi bdev '%s': %s, %" PRIu64 " blocks of %u bytes\n", lun->bdev.name,
		     lun->shown_url, lun->bdev.blockcnt, lun->bdev.blocklen);
	w = vt_jsonrpc_begin_result(lun->create_req);
	vt_json_write_string(w, lun->bdev.name);
	vt_jsonrpc_end_result(lun->create_req, w);
	lun->create_req = NULL;
}

/* A creation step answered while the creation is being abandoned (its context torn down): the
 * task is freed and nothing more is started. */
static bool
create_cancelled(struct iscsi_lun *lun, int status, struct scsi_task *task)
{
	if (!lun->removing && status != SCSI_STATUS_CANCELLED) {
		return false;
	}
	scsi_free_scsi_task(task);
	return true;
}

static void
readcap_done(struct iscsi_context *iscsi, int status, void *command_data, void *private_data)
{
	struct iscsi_lun *lun = private_data;
	struct scsi_task *task = command_data;
	struct scsi_readcapacity16 *rc16 = NULL;

	if (create_cancelled(lun, status, task)) {
		return;
	}
	if (status == SCSI_STATUS_GOOD) {
		rc16 = scsi_datain_unmarshall(task);
	}
	lun->attempt_done = true;
	if (rc16 == NULL || rc16->block_length < 512 || rc16->returned_lba == UINT64_MAX ||
	    (rc16->block_length & (rc16->block_length - 1)) != 0) {
		snprintf(lun->errmsg, sizeof(lun->errmsg), "READ CAPACITY(16) failed: %s",
			 rc16 == NULL ? iscsi_get_error(iscsi) : "bad block length");
		lun->attempt_rc = -EIO;
	} else {
		lun->bdev.blocklen = rc16->block_length;
		lun->bdev.blockcnt = rc16->returned_lba + 1;
		if (rc16->lbppbe != 0 && rc16->lbppbe < 16) {
			lun->bdev.phys_blocklen = rc16->block_length << rc16->lbppbe;
		}
		lun->attempt_rc = 1; /* geometry known: register */
	}
	scsi_free_scsi_task(task);
}

static void
start_readcap(struct iscsi_lun *lun)
{
	lun->attempt_done = false;
	if (iscsi_readcapacity16_task(lun->ctx, lun->lun_id, readcap_done, lun) == NULL) {
		lun->attempt_done = true;
		lun->attempt_rc = -EIO;
		snprintf(lun->errmsg, sizeof(lun->errmsg), "READ CAPACITY(16): %s",
			 iscsi_get_error(lun->ctx));
	}
}

static void
block_limits_done(struct iscsi_context *iscsi, int status, void *command_data, void *private_data)
{
	struct iscsi_lun *lun = private_data;
	struct scsi_task *task = command_data;
	struct scsi_inquiry_block_limits *bl = NULL;

	if (create_cancelled(lun, status, task)) {
		return;
	}
	(void)iscsi;
	if (status == SCSI_STATUS_GOOD) {
		bl = scsi_datain_unmarshall(task);
	}
	if (bl != NULL) {
		lun->max_unmap_lba = bl->max_unmap;
		lun->max_ws_len =
			bl->max_ws_len > UINT32_MAX ? UINT32_MAX : (uint32_t)bl->max_ws_len;
		if (lun->unmap_supported && (bl->max_unmap == 0 || bl->max_unmap_bdc == 0)) {
			/* The page says UNMAP takes nothing. */
			lun->unmap_supported = false;
		}
	}
	scsi_free_scsi_task(task);
	start_readcap(lun);
}

static void
lbp_done(struct iscsi_context *iscsi, int status, void *command_data, void *private_data)
{
	struct iscsi_lun *lun = private_data;
	struct scsi_task *task = command_data;
	struct scsi_inquiry_logical_block_provisioning *lbp = NULL;

	if (create_cancelled(lun, status, task)) {
		return;
	}
	if (status == SCSI_STATUS_GOOD) {
		lbp = scsi_datain_unmarshall(task);
	}
	lun->unmap_supported = lbp != NULL && lbp->lbpu;
	scsi_free_scsi_task(task);
	/* WRITE SAME(16) is mandatory in SBC-3 for targets that report Block Limits. */
	if (iscsi_inquiry_task(iscsi, lun->lun_id, 1, SCSI_INQUIRY_PAGECODE_BLOCK_LIMITS, 255,
			       block_limits_done, lun) == NULL) {
		start_readcap(lun);
	} else {
		lun->write_same_supported = true;
	}
}

/* The first login answered: the inquiries, then READ CAPACITY(16), then registration. */
static void
create_continue(struct iscsi_lun *lun)
{
	lun->attempt_done = false;
	if (iscsi_inquiry_task(lun->ctx, lun->lun_id, 1,
			       SCSI_INQUIRY_PAGECODE_LOGICAL_BLOCK_PROVISIONING, 255, lbp_done,
			       lun) == NULL) {
		start_readcap(lun);
	}
}

void
iscsi_create_step(struct iscsi_lun *lun)
{
	if (lun->attempt_rc < 0) {
		create_fail(lun, lun->attempt_rc, create_what(lun));
	} else if (lun->attempt_rc == 1) {
		create_register(lun);
	} else {
		lun->create_stage = 1;
		create_continue(lun);
	}
}

static int
dup_url_parts(struct iscsi_lun *lun, const struct iscsi_url *u)
{
	lun->portal = vt_strdup(u->portal);
	lun->target = vt_strdup(u->target);
	if (lun->portal == NULL || lun->target == NULL) {
		return -ENOMEM;
	}
	if (u->user[0] != '\0') {
		lun->user = vt_strdup(u->user);
		lun->password = vt_strdup(u->passwd);
		if (lun->user == NULL || lun->password == NULL) {
			return -ENOMEM;
		}
	}
	lun->lun_id = u->lun;
	return 0;
}

/* Parses url with libiscsi's own parser (what it accepts is what a reconnect will use). */
static int
lun_parse_url(struct iscsi_lun *lun, const char *url, char *err, size_t errlen)
{
	struct iscsi_context *ctx = iscsi_create_context(lun->initiator_iqn);
	struct iscsi_url *u;
	int rc;

	if (ctx == NULL) {
		snprintf(err, errlen, "cannot create an iSCSI context");
		return -ENOMEM;
	}
	if (strncmp(url, "iscsi://", 8) != 0) {
		snprintf(err, errlen, "invalid parameter 'url': '%s' does not start with iscsi://",
			 url);
		iscsi_destroy_context(ctx);
		return -EINVAL;
	}
	u = iscsi_parse_full_url(ctx, url);
	if (u != NULL && (u->portal[0] == '\0' || u->portal[0] == ':' || u->target[0] == '\0')) {
		/* libiscsi takes an empty host ("iscsi:///iqn/1"); a connection would fail later. */
		snprintf(err, errlen, "invalid parameter 'url': '%s' has no host or no target",
			 url);
		iscsi_destroy_url(u);
		iscsi_destroy_context(ctx);
		return -EINVAL;
	}
	if (u == NULL) {
		snprintf(err, errlen,
			 "invalid parameter 'url': '%s' is not "
			 "iscsi://[user[%%password]@]host[:port]/target-iqn/lun: %s",
			 url, iscsi_get_error(ctx));
		iscsi_destroy_context(ctx);
		return -EINVAL;
	}
	rc = dup_url_parts(lun, u);
	if (rc != 0) {
		snprintf(err, errlen, "out of memory");
	}
	iscsi_destroy_url(u);
	iscsi_destroy_context(ctx);
	return rc;
}

/* url with the CHAP password (as it stands between '%' and '@') replaced by "***". */
static char *
shown_url(const char *url, const char *password)
{
	const char *at = strchr(url, '@');
	const char *pct;
	size_t len;
	char *out;

	if (password == NULL || at == NULL) {
		return vt_strdup(url);
	}
	pct = memchr(url, '%', (size_t)(at - url));
	if (pct == NULL) {
		return vt_strdup(url);
	}
	len = (size_t)(pct - url) + 4 + strlen(at) + 1;
	out = malloc(len);
	if (out != NULL) {
		snprintf(out, len, "%.*s%%***%s", (int)(pct - url), url, at);
	}
	return out;
}

bool
bdev_iscsi_name_in_use(const char *name)
{
	struct iscsi_lun *lun;

	TAILQ_FOREACH (lun, &g_luns, link) {
		if (strcmp(lun->bdev.name, name) == 0) {
			return true;
		}
	}
	return false;
}

int
bdev_iscsi_create(struct vt_jsonrpc_request *req, const char *name, const char *iqn,
		  const char *url, char *err, size_t errlen)
{
	struct iscsi_lun *lun = calloc(1, sizeof(*lun));
	int rc;

	if (lun == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	TAILQ_INIT(&lun->inflight);
	TAILQ_INIT(&lun->waiting);
	TAILQ_INIT(&lun->completing);
	lun->fd = -1;
	lun->state = ISCSI_LUN_CREATING;
	lun->bdev.name = vt_strdup(name);
	lun->url = vt_strdup(url);
	lun->initiator_iqn = vt_strdup(iqn);
	if (lun->bdev.name == NULL || lun->url == NULL || lun->initiator_iqn == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto err;
	}
	rc = lun_parse_url(lun, url, err, errlen);
	if (rc != 0) {
		goto err;
	}
	lun->shown_url = shown_url(url, lun->password);
	if (lun->shown_url == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto err;
	}
	lun->timeout_ticks = g_opts.timeout_sec * VT_TICKS_HZ;
	lun->tick =
		vt_poller_register(iscsi_session_tick, lun, BDEV_ISCSI_TICK_US, "bdev_iscsi_tick");
	if (lun->tick == NULL) {
		snprintf(err, errlen, "cannot register a poller");
		rc = -ENOMEM;
		goto err;
	}
	rc = iscsi_session_start(lun);
	if (rc != 0) {
		snprintf(err, errlen, "cannot log in to %s (%s): %s", lun->target, lun->portal,
			 lun->errmsg);
		goto err;
	}
	lun->create_req = req;
	TAILQ_INSERT_TAIL(&g_luns, lun, link);
	return 0;
err:
	lun_free(lun);
	return rc;
}

/* ---- the bdev ----------------------------------------------------------------------------- */

static void
lun_destruct_msg(void *arg)
{
	struct iscsi_lun *lun = arg;

	vt_bdev_destruct_done(&lun->bdev, 0);
	lun_free(lun);
}

static int
iscsi_destruct(void *ctx)
{
	struct iscsi_lun *lun = ctx;

	lun->removing = true;
	TAILQ_REMOVE(&g_luns, lun, link);
	iscsi_session_drop(lun);
	vt_poller_unregister(&lun->tick);
	/* A flush may still be queued for this LUN: free it once that ran. */
	vt_defer(&lun->free_defer, lun_destruct_msg, lun);
	return 1;
}

static void *
iscsi_create_channel(void *ctx)
{
	return ctx;
}

static void
iscsi_destroy_channel(void *ctx, void *module_ch)
{
	(void)ctx;
	(void)module_ch;
}

static void
iscsi_dump_info_json(void *ctx, struct vt_json_write_ctx *w)
{
	struct iscsi_lun *lun = ctx;

	vt_json_write_named_object_begin(w, "iscsi");
	vt_json_write_named_string(w, "initiator_name", lun->initiator_iqn);
	vt_json_write_named_string(w, "url", lun->shown_url);
	vt_json_write_named_string(w, "state",
				   lun->state == ISCSI_LUN_ONLINE ? "online" : "reconnecting");
	vt_json_write_named_uint64(w, "timeout_sec", (uint64_t)(lun->timeout_ticks / VT_TICKS_HZ));
	vt_json_write_named_uint64(w, "session_resets", lun->reconnects);
	vt_json_write_object_end(w);
}

static void
iscsi_write_config_json(struct vt_bdev *bdev, struct vt_json_write_ctx *w)
{
	struct iscsi_lun *lun = bdev->ctxt;

	vt_json_write_object_begin(w);
	vt_json_write_named_string(w, "method", "bdev_iscsi_create");
	vt_json_write_named_object_begin(w, "params");
	vt_json_write_named_string(w, "name", bdev->name);
	vt_json_write_named_string(w, "initiator_iqn", lun->initiator_iqn);
	vt_json_write_named_string(w, "url", lun->url);
	vt_json_write_object_end(w);
	vt_json_write_object_end(w);
}

static const struct vt_bdev_fn_table g_iscsi_fn_table = {
	.destruct = iscsi_destruct,
	.submit_request = iscsi_submit,
	.io_type_supported = iscsi_io_type_supported,
	.create_channel = iscsi_create_channel,
	.destroy_channel = iscsi_destroy_channel,
	.dump_info_json = iscsi_dump_info_json,
	.write_config_json = iscsi_write_config_json,
};

int
bdev_iscsi_delete(struct vt_bdev *bdev, void (*cb)(void *cb_arg, int rc), void *cb_arg)
{
	if (bdev->module != &g_bdev_iscsi_module) {
		return -ENODEV;
	}
	vt_bdev_unregister(bdev, cb, cb_arg);
	return 0;
}

static void
iscsi_module_fini(void)
{
	struct iscsi_lun *lun = TAILQ_FIRST(&g_luns), *next;

	/* Creations still logging in end here; registered bdevs were unregistered before. */
	for (; lun != NULL; lun = next) {
		next = TAILQ_NEXT(lun, link);
		if (lun->state == ISCSI_LUN_CREATING) {
			snprintf(lun->errmsg, sizeof(lun->errmsg), "the daemon is stopping");
			create_fail(lun, -ECANCELED, "cancelled");
		}
	}
}
