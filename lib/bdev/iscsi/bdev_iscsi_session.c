/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iSCSI bdevs: the session of each LUN (pollers, logins, timeouts, resets). All of it runs on
 * reactor 0.
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
 * libiscsi's callbacks only record results (attempt_done, reset_pending...); lun_after_service
 * acts on them once iscsi_service has returned, since tearing a context down from inside it is
 * not allowed.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/event.h"
#include "vt/log.h"
#include "vt/util.h"

#include "lib/bdev/iscsi/bdev_iscsi.h"

_Static_assert(POLLIN == EPOLLIN && POLLOUT == EPOLLOUT && POLLERR == EPOLLERR &&
		       POLLHUP == EPOLLHUP,
	       "poll and epoll event bits agree");

#define RECONNECT_INTERVAL_US 1000000ull

static uint64_t
us_to_ticks(uint64_t us)
{
	return us * (VT_TICKS_HZ / 1000000);
}

/* Seconds a login attempt may take: the request timeout when shorter than the default bound. */
uint64_t
iscsi_session_connect_bound(const struct iscsi_lun *lun)
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

int
iscsi_session_tick(void *arg)
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
			 iscsi_session_connect_bound(lun));
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
int
iscsi_login_errno(const char *msg)
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
	lun->attempt_rc = iscsi_login_errno(iscsi_get_error(iscsi));
	if (lun->attempt_rc == -ETIMEDOUT) {
		snprintf(lun->errmsg, sizeof(lun->errmsg), "no login within %" PRIu64 " s (%s)",
			 iscsi_session_connect_bound(lun), iscsi_get_error(iscsi));
	} else {
		snprintf(lun->errmsg, sizeof(lun->errmsg), "%s", iscsi_get_error(iscsi));
	}
}

/* A new context and an asynchronous login to the LUN; 0 or -errno (message in lun->errmsg). */
int
iscsi_session_start(struct iscsi_lun *lun)
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
	rc = rc != 0 ? rc : iscsi_set_timeout(ctx, (int)iscsi_session_connect_bound(lun));
	lun->connect_deadline =
		vt_get_ticks() + (iscsi_session_connect_bound(lun) + 1) * VT_TICKS_HZ;
	rc = rc != 0 ? rc
		     : iscsi_full_connect_async(ctx, lun->portal, lun->lun_id, attempt_cb, lun);
	if (rc != 0) {
		snprintf(lun->errmsg, sizeof(lun->errmsg), "%s", iscsi_get_error(ctx));
		lun->ctx = NULL;
		iscsi_destroy_context(ctx);
		return iscsi_login_errno(lun->errmsg);
	}
	lun_sync_pollers(lun, false);
	return 0;
}

/* Tears the session down: every request libiscsi holds comes back (CANCELLED); those past their
 * deadline fail, the others wait for the next login. Not from inside iscsi_service. */
void
iscsi_session_drop(struct iscsi_lun *lun)
{
	struct iscsi_context *ctx = lun->ctx;

	vt_poller_unregister(&lun->fd_poller);
	lun->fd = -1;
	lun->ctx = NULL;
	if (ctx != NULL) {
		iscsi_destroy_context(ctx);
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
		if (lun->attempt_done) {
			iscsi_create_step(lun);
		}
		return;
	}
	if (lun->reset_pending && lun->state == ISCSI_LUN_ONLINE) {
		VT_WARNLOG("iscsi bdev '%s': session reset after a request timeout\n",
			   lun->bdev.name);
		lun->reset_pending = false;
		lun->state = ISCSI_LUN_RECONNECTING;
		lun->next_attempt = now;
		iscsi_session_drop(lun);
	}
	if (lun->state != ISCSI_LUN_RECONNECTING || lun->removing) {
		return;
	}
	if (lun->ctx == NULL && now >= lun->next_attempt) {
		rc = iscsi_session_start(lun);
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
		iscsi_session_drop(lun);
		lun->next_attempt = now + us_to_ticks(RECONNECT_INTERVAL_US);
		return;
	}
	lun->state = ISCSI_LUN_ONLINE;
	lun->reconnects++;
	VT_NOTICELOG("iscsi bdev '%s': logged in again\n", lun->bdev.name);
	lun_resume_waiting(lun);
}
