/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iSCSI bdevs: the session of each LUN and its life. All of it runs on reactor 0.
 *
 * libiscsi is used in its asynchronous mode: an fd poller watches the session's socket for what
 * iscsi_which_events asks and calls iscsi_service; a timed poller calls iscsi_service(ctx, 0)
 * every BDEV_ISCSI_TICK_US (libiscsi's reconnect back-off needs it), re-arms the fd poller (the
 * socket changes when libiscsi reconnects) and enforces the request timeout. A dropped
 * connection is re-established by libiscsi, which sends the commands again on the new one. A
 * request older than timeout_sec is cancelled in libiscsi and fails with -ETIMEDOUT; when
 * libiscsi cannot cancel it (it holds it for a reconnect that does not come), the session is
 * torn down and a new login is tried every second, the other requests waiting for it.
 *
 * Creation never blocks: bdev_iscsi_create starts the login and answers the RPC from the poller
 * once the login, the inquiries (Logical Block Provisioning and Block Limits VPD pages) and READ
 * CAPACITY(16) are done, or when one of them failed or took longer than
 * BDEV_ISCSI_CONNECT_TIMEOUT_SEC. libiscsi's callbacks only record results; whatever tears a
 * context down runs after iscsi_service has returned.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

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

_Static_assert(POLLIN == EPOLLIN && POLLOUT == EPOLLOUT && POLLERR == EPOLLERR &&
		       POLLHUP == EPOLLHUP,
	       "poll and epoll event bits agree");

#define RECONNECT_INTERVAL_US 1000000ull

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

static uint64_t
us_to_ticks(uint64_t us)
{
	return us * (VT_TICKS_HZ / 1000000);
}

/* Seconds a login attempt may take: the request timeout when shorter than the default bound. */
static uint64_t
lun_connect_bound(const struct iscsi_lun *lun)
{
	uint64_t t = lun->timeout_ticks / VT_TICKS_HZ;

	return t != 0 && t < BDEV_ISCSI_CONNECT_TIMEOUT_SEC ? t : BDEV_ISCSI_CONNECT_TIMEOUT_SEC;
}

/* ---- pollers ------------------------------------------------------------------------------ */

static void lun_after_service(struct iscsi_lun *lun);
static void lun_sync_pollers(struct iscsi_lun *lun, bool force);

static int
lun_fd_event(void *arg, uint32_t events)
{
	struct iscsi_lun *lun = arg;

	if (lun->ctx != NULL) {
		iscsi_service(lun->ctx, (int)(events & (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP)));
	}
	lun_after_service(lun);
	if (!lun->removing) {
		lun_sync_pollers(lun, false);
	}
	return VT_POLLER_BUSY;
}

/*
 * Watches the socket libiscsi uses for what it asks. No events (a reconnect back-off) means no
 * fd poller: the tick drives libiscsi then. force re-arms even when nothing seems to have changed
 * (a reconnect may have closed the socket and opened a new one with the same number).
 */
static void
lun_sync_pollers(struct iscsi_lun *lun, bool force)
{
	int fd = lun->ctx != NULL ? iscsi_get_fd(lun->ctx) : -1;
	uint32_t ev = fd >= 0 ? (uint32_t)iscsi_which_events(lun->ctx) & (POLLIN | POLLOUT) : 0;

	if (fd < 0 || ev == 0) {
		vt_poller_unregister(&lun->fd_poller);
		lun->fd = -1;
		return;
	}
	/* Forced: registered anew (a modify would fail, loudly, on a socket closed under it). */
	if (lun->fd_poller != NULL && fd == lun->fd && !force) {
		if (ev == lun->events) {
			return;
		}
		if (vt_fd_poller_modify(lun->fd_poller, ev) == 0) {
			lun->events = ev;
			return;
		}
	}
	vt_poller_unregister(&lun->fd_poller);
	lun->fd_poller = vt_fd_poller_register(fd, ev, lun_fd_event, lun, "bdev_iscsi");
	lun->fd = lun->fd_poller != NULL ? fd : -1;
	lun->events = ev;
}

/* Once per reactor iteration after commands were queued: send them at once when logged in (the
 * socket is almost always writable), so a batch costs one write and no epoll change. */
static void
lun_flush(void *arg)
{
	struct iscsi_lun *lun = arg;

	if (lun->removing) {
		return;
	}
	if (lun->ctx != NULL && lun->state == ISCSI_LUN_ONLINE && iscsi_is_logged_in(lun->ctx) &&
	    (iscsi_which_events(lun->ctx) & POLLOUT) != 0) {
		iscsi_service(lun->ctx, POLLOUT);
	}
	lun_after_service(lun);
	if (!lun->removing) {
		lun_sync_pollers(lun, false);
	}
}

void
iscsi_lun_kick(struct iscsi_lun *lun)
{
	vt_defer(&lun->flush, lun_flush, lun);
}

/* Fails the requests past their deadline; returns false when libiscsi could not cancel one. */
static bool
lun_expire(struct iscsi_lun *lun, uint64_t now)
{
	struct iscsi_io *ctx;
	bool again = true;

	while (again) {
		again = false;
		TAILQ_FOREACH (ctx, &lun->waiting, link) {
			if (ctx->deadline != 0 && ctx->deadline <= now) {
				TAILQ_REMOVE(&lun->waiting, ctx, link);
				ctx->queued = false;
				ctx->on_waiting = false;
				iscsi_io_finish(ctx, -ETIMEDOUT);
				again = true;
				break;
			}
		}
	}
	TAILQ_FOREACH (ctx, &lun->inflight, link) {
		if (ctx->deadline == 0 || ctx->deadline > now) {
			continue;
		}
		VT_WARNLOG("iscsi bdev '%s': a %s command took longer than %" PRIu64
			   " s: cancelled\n",
			   lun->bdev.name, vt_bdev_io_type_name(ctx->io->type),
			   (uint64_t)(lun->timeout_ticks / VT_TICKS_HZ));
		/* The callback completes it (and unlinks it): start over after each. */
		if (lun->ctx == NULL || iscsi_scsi_cancel_task(lun->ctx, ctx->task) != 0) {
			return false;
		}
		return lun_expire(lun, now);
	}
	return true;
}

static int
lun_tick(void *arg)
{
	struct iscsi_lun *lun = arg;
	uint64_t now = vt_get_ticks();
	struct iscsi_io *ctx;

	if (lun->ctx != NULL) {
		iscsi_service(lun->ctx, 0);
	}
	while ((ctx = TAILQ_FIRST(&lun->completing)) != NULL) {
		if (vt_send_msg(ctx->reactor, iscsi_io_complete_msg, ctx) != 0) {
			break;
		}
		TAILQ_REMOVE(&lun->completing, ctx, link);
	}
	if (lun->state != ISCSI_LUN_ONLINE && lun->ctx != NULL && !lun->attempt_done &&
	    now >= lun->connect_deadline) {
		lun->attempt_done = true;
		lun->attempt_rc = -ETIMEDOUT;
		snprintf(lun->errmsg, sizeof(lun->errmsg), "no login within %" PRIu64 " s",
			 lun_connect_bound(lun));
	}
	if (lun->state != ISCSI_LUN_CREATING && !lun_expire(lun, now)) {
		lun->reset_pending = true;
	}
	lun_after_service(lun);
	if (!lun->removing) {
		lun_sync_pollers(lun, true);
	}
	return VT_POLLER_IDLE;
}

/* ---- login attempts ----------------------------------------------------------------------- */

/* The -errno a failed login stands for, from libiscsi's message. */
static int
login_errno(const char *msg)
{
	static const struct {
		const char *needle;
		int err;
	} map[] = {
		{ "Connection refused", -ECONNREFUSED },
		{ "No route to host", -EHOSTUNREACH },
		{ "Network is unreachable", -ENETUNREACH },
		{ "resolve", -EHOSTUNREACH },
		{ "getaddrinfo", -EHOSTUNREACH },
		{ "arget not found", -ENOENT },
		{ "LOGICAL_UNIT_NOT_SUPPORTED", -ENODEV },
		{ "uthentication", -EACCES },
		{ "uthorization", -EACCES },
		{ "imed out", -ETIMEDOUT },
	};

	for (size_t i = 0; i < VT_COUNTOF(map); i++) {
		if (msg != NULL && strstr(msg, map[i].needle) != NULL) {
			return map[i].err;
		}
	}
	return -EIO;
}

static void
attempt_cb(struct iscsi_context *iscsi, int status, void *command_data, void *private_data)
{
	struct iscsi_lun *lun = private_data;

	(void)command_data;
	/* libiscsi may call again when an established connection drops: the first answer is the
	 * attempt's. */
	if (lun->attempt_done || lun->ctx != iscsi) {
		return;
	}
	lun->attempt_done = true;
	if (status == SCSI_STATUS_GOOD) {
		/* Commands time out by our own deadlines (0 = never), not the login's bound. */
		iscsi_set_timeout(iscsi, 0);
		lun->attempt_rc = 0;
		return;
	}
	lun->attempt_rc = login_errno(iscsi_get_error(iscsi));
	if (lun->attempt_rc == -ETIMEDOUT) {
		snprintf(lun->errmsg, sizeof(lun->errmsg), "no login within %" PRIu64 " s (%s)",
			 lun_connect_bound(lun), iscsi_get_error(iscsi));
	} else {
		snprintf(lun->errmsg, sizeof(lun->errmsg), "%s", iscsi_get_error(iscsi));
	}
}

/* A new context and an asynchronous login to the LUN; 0 or -errno (message in lun->errmsg). */
static int
lun_attempt_start(struct iscsi_lun *lun)
{
	struct iscsi_context *ctx = iscsi_create_context(lun->initiator_iqn);
	int rc;

	if (ctx == NULL) {
		snprintf(lun->errmsg, sizeof(lun->errmsg), "cannot create an iSCSI context");
		return -ENOMEM;
	}
	rc = iscsi_set_targetname(ctx, lun->target);
	rc = rc != 0 ? rc : iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL);
	rc = rc != 0 ? rc : iscsi_set_header_digest(ctx, ISCSI_HEADER_DIGEST_NONE_CRC32C);
	if (rc == 0 && lun->user != NULL) {
		rc = iscsi_set_initiator_username_pwd(ctx, lun->user,
						      lun->password != NULL ? lun->password : "");
	}
	lun->ctx = ctx;
	lun->attempt_done = false;
	lun->attempt_rc = 0;
	/* libiscsi times the login out itself (and frees its login state, which destroying the
	 * context mid-login would leak); the deadline, a second later, is the backstop for a TCP
	 * connect that never ends. */
	rc = rc != 0 ? rc : iscsi_set_timeout(ctx, (int)lun_connect_bound(lun));
	lun->connect_deadline = vt_get_ticks() + (lun_connect_bound(lun) + 1) * VT_TICKS_HZ;
	rc = rc != 0 ? rc
		     : iscsi_full_connect_async(ctx, lun->portal, lun->lun_id, attempt_cb, lun);
	if (rc != 0) {
		snprintf(lun->errmsg, sizeof(lun->errmsg), "%s", iscsi_get_error(ctx));
		lun->ctx = NULL;
		iscsi_destroy_context(ctx);
		return login_errno(lun->errmsg);
	}
	lun_sync_pollers(lun, false);
	return 0;
}

/* Tears the session down: every request libiscsi holds comes back (CANCELLED); those past their
 * deadline fail, the others wait for the next login. Not from inside iscsi_service. */
static void
lun_drop_session(struct iscsi_lun *lun)
{
	struct iscsi_context *ctx = lun->ctx;

	vt_poller_unregister(&lun->fd_poller);
	lun->fd = -1;
	lun->ctx = NULL;
	if (ctx != NULL) {
		iscsi_destroy_context(ctx);
	}
}

/* ---- creation ----------------------------------------------------------------------------- */

static const struct vt_bdev_fn_table g_iscsi_fn_table;

static void
lun_free(struct iscsi_lun *lun)
{
	lun_drop_session(lun);
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
	lun_drop_session(lun);
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

static void
lun_resume_waiting(struct iscsi_lun *lun)
{
	TAILQ_HEAD(, iscsi_io) list = TAILQ_HEAD_INITIALIZER(list);
	struct iscsi_io *ctx;

	TAILQ_CONCAT(&list, &lun->waiting, link);
	while ((ctx = TAILQ_FIRST(&list)) != NULL) {
		TAILQ_REMOVE(&list, ctx, link);
		ctx->queued = false;
		ctx->on_waiting = false;
		iscsi_io_start(ctx);
	}
}

/* What the callbacks recorded, acted on outside iscsi_service. */
static void
lun_after_service(struct iscsi_lun *lun)
{
	uint64_t now = vt_get_ticks();
	int rc;

	if (lun->state == ISCSI_LUN_CREATING) {
		if (!lun->attempt_done) {
			return;
		}
		if (lun->attempt_rc < 0) {
			create_fail(lun, lun->attempt_rc, create_what(lun));
		} else if (lun->attempt_rc == 1) {
			create_register(lun);
		} else {
			lun->create_stage = 1;
			create_continue(lun);
		}
		return;
	}
	if (lun->reset_pending && lun->state == ISCSI_LUN_ONLINE) {
		VT_WARNLOG("iscsi bdev '%s': session reset after a request timeout\n",
			   lun->bdev.name);
		lun->reset_pending = false;
		lun->state = ISCSI_LUN_RECONNECTING;
		lun->next_attempt = now;
		lun_drop_session(lun);
	}
	if (lun->state != ISCSI_LUN_RECONNECTING || lun->removing) {
		return;
	}
	if (lun->ctx == NULL && now >= lun->next_attempt) {
		rc = lun_attempt_start(lun);
		if (rc != 0) {
			lun->next_attempt = now + us_to_ticks(RECONNECT_INTERVAL_US);
		}
		return;
	}
	if (lun->ctx == NULL || !lun->attempt_done) {
		return;
	}
	if (lun->attempt_rc != 0) {
		VT_DEBUGLOG(bdev_iscsi, "iscsi bdev '%s': login failed: %s\n", lun->bdev.name,
			    lun->errmsg);
		lun_drop_session(lun);
		lun->next_attempt = now + us_to_ticks(RECONNECT_INTERVAL_US);
		return;
	}
	lun->state = ISCSI_LUN_ONLINE;
	lun->reconnects++;
	VT_NOTICELOG("iscsi bdev '%s': logged in again\n", lun->bdev.name);
	lun_resume_waiting(lun);
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
	lun->tick = vt_poller_register(lun_tick, lun, BDEV_ISCSI_TICK_US, "bdev_iscsi_tick");
	if (lun->tick == NULL) {
		snprintf(err, errlen, "cannot register a poller");
		rc = -ENOMEM;
		goto err;
	}
	rc = lun_attempt_start(lun);
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
	lun_drop_session(lun);
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
