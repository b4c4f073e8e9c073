/* SPDX-License-Identifier: BSD-3-Clause */
/* vhost-user messages on the Unix socket: connect, send and receive with SCM_RIGHTS, requests. */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vtc_internal.h"

static const char *const g_request_names[VHOST_USER_REQUEST_MAX] = {
	[VHOST_USER_NONE] = "NONE",
	[VHOST_USER_GET_FEATURES] = "GET_FEATURES",
	[VHOST_USER_SET_FEATURES] = "SET_FEATURES",
	[VHOST_USER_SET_OWNER] = "SET_OWNER",
	[VHOST_USER_RESET_OWNER] = "RESET_OWNER",
	[VHOST_USER_SET_MEM_TABLE] = "SET_MEM_TABLE",
	[VHOST_USER_SET_LOG_BASE] = "SET_LOG_BASE",
	[VHOST_USER_SET_LOG_FD] = "SET_LOG_FD",
	[VHOST_USER_SET_VRING_NUM] = "SET_VRING_NUM",
	[VHOST_USER_SET_VRING_ADDR] = "SET_VRING_ADDR",
	[VHOST_USER_SET_VRING_BASE] = "SET_VRING_BASE",
	[VHOST_USER_GET_VRING_BASE] = "GET_VRING_BASE",
	[VHOST_USER_SET_VRING_KICK] = "SET_VRING_KICK",
	[VHOST_USER_SET_VRING_CALL] = "SET_VRING_CALL",
	[VHOST_USER_SET_VRING_ERR] = "SET_VRING_ERR",
	[VHOST_USER_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	[VHOST_USER_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	[VHOST_USER_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	[VHOST_USER_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	[VHOST_USER_SEND_RARP] = "SEND_RARP",
	[VHOST_USER_NET_SET_MTU] = "NET_SET_MTU",
	[VHOST_USER_SET_SLAVE_REQ_FD] = "SET_SLAVE_REQ_FD",
	[VHOST_USER_IOTLB_MSG] = "IOTLB_MSG",
	[VHOST_USER_SET_VRING_ENDIAN] = "SET_VRING_ENDIAN",
	[VHOST_USER_GET_CONFIG] = "GET_CONFIG",
	[VHOST_USER_SET_CONFIG] = "SET_CONFIG",
	[VHOST_USER_CREATE_CRYPTO_SESSION] = "CREATE_CRYPTO_SESSION",
	[VHOST_USER_CLOSE_CRYPTO_SESSION] = "CLOSE_CRYPTO_SESSION",
	[VHOST_USER_POSTCOPY_ADVISE] = "POSTCOPY_ADVISE",
	[VHOST_USER_POSTCOPY_LISTEN] = "POSTCOPY_LISTEN",
	[VHOST_USER_POSTCOPY_END] = "POSTCOPY_END",
	[VHOST_USER_GET_INFLIGHT_FD] = "GET_INFLIGHT_FD",
	[VHOST_USER_SET_INFLIGHT_FD] = "SET_INFLIGHT_FD",
	[VHOST_USER_GPU_SET_SOCKET] = "GPU_SET_SOCKET",
	[VHOST_USER_RESET_DEVICE] = "RESET_DEVICE",
	[VHOST_USER_VRING_KICK] = "VRING_KICK",
	[VHOST_USER_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
	[VHOST_USER_ADD_MEM_REG] = "ADD_MEM_REG",
	[VHOST_USER_REM_MEM_REG] = "REM_MEM_REG",
	[VHOST_USER_SET_STATUS] = "SET_STATUS",
	[VHOST_USER_GET_STATUS] = "GET_STATUS",
};

const char *
vtc_request_name(uint32_t request)
{
	if (request < VHOST_USER_REQUEST_MAX && g_request_names[request] != NULL) {
		return g_request_names[request];
	}
	return "UNKNOWN";
}

/* Requests that the protocol answers whatever REPLY_ACK says. */
static bool
request_has_reply(const struct vtc_dev *dev, uint32_t request)
{
	switch (request) {
	case VHOST_USER_SET_LOG_BASE:
		/* With the log in shared memory the back end answers once it mapped it. */
		return vtc_has_protocol(dev, VHOST_USER_PROTOCOL_F_LOG_SHMFD);
	case VHOST_USER_GET_FEATURES:
	case VHOST_USER_GET_PROTOCOL_FEATURES:
	case VHOST_USER_GET_VRING_BASE:
	case VHOST_USER_GET_QUEUE_NUM:
	case VHOST_USER_GET_CONFIG:
	case VHOST_USER_GET_INFLIGHT_FD:
	case VHOST_USER_GET_MAX_MEM_SLOTS:
	case VHOST_USER_GET_STATUS:
		return true;
	default:
		return false;
	}
}

uint64_t
vtc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int
sleep_ms(uint32_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	return nanosleep(&ts, NULL);
}

int
vtc_connect(struct vtc_dev *dev)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	uint64_t deadline = vtc_now_ns() + (uint64_t)dev->opts.connect_timeout_ms * 1000000ull;
	struct timeval tv;
	int fd, rc;

	if (strlen(dev->opts.path) >= sizeof(addr.sun_path)) {
		VT_ERRLOG("socket path '%s' too long (at most %zu bytes)", dev->opts.path,
			  sizeof(addr.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", dev->opts.path);

	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			rc = -errno;
			VT_ERRLOG("cannot create a unix socket: %s", strerror(-rc));
			return rc;
		}
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
			break;
		}
		rc = -errno;
		close(fd);
		/* The back end may still be starting: the socket is missing or not listening. */
		if ((rc != -ENOENT && rc != -ECONNREFUSED && rc != -EAGAIN) ||
		    vtc_now_ns() >= deadline) {
			VT_ERRLOG("cannot connect to '%s': %s (tried for %u ms)", dev->opts.path,
				  strerror(-rc), dev->opts.connect_timeout_ms);
			return rc;
		}
		sleep_ms(10);
	}

	/* A back end that stops reading must not block us forever. */
	tv.tv_sec = dev->opts.reply_timeout_ms / 1000;
	tv.tv_usec = (long)(dev->opts.reply_timeout_ms % 1000) * 1000;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	dev->sock = fd;
	dev->peer_closed = false;
	return 0;
}

void
vtc_disconnect(struct vtc_dev *dev)
{
	if (dev->sock >= 0) {
		close(dev->sock);
		dev->sock = -1;
	}
}

int
vtc_msg_send_bytes(struct vtc_dev *dev, const void *buf, size_t len, const int *fds, int nfds)
{
	char control[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (dev->sock < 0) {
		return -ENOTCONN;
	}
	if (nfds < 0 || nfds > VHOST_USER_MAX_FDS) {
		VT_ERRLOG("cannot send %d fds in one vhost-user message (at most %d)", nfds,
			  VHOST_USER_MAX_FDS);
		return -EINVAL;
	}
	if (nfds > 0) {
		struct cmsghdr *cmsg;

		memset(control, 0, sizeof(control));
		mh.msg_control = control;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		cmsg = CMSG_FIRSTHDR(&mh);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * (size_t)nfds);
	}

	do {
		n = sendmsg(dev->sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		int rc = errno == EAGAIN ? -ETIMEDOUT : -errno;

		if (rc == -EPIPE || rc == -ECONNRESET) {
			dev->peer_closed = true;
		}
		VT_ERRLOG("cannot send a vhost-user message to '%s': %s", dev->opts.path,
			  strerror(-rc));
		return rc;
	}
	if ((size_t)n != len) {
		/* Unix stream sockets send all or fail unless interrupted by the timeout. */
		VT_ERRLOG("short send of a vhost-user message to '%s': %zd of %zu bytes",
			  dev->opts.path, n, len);
		return -EIO;
	}
	return 0;
}

int
vtc_msg_send(struct vtc_dev *dev, const struct vhost_user_msg *msg, const int *fds, int nfds)
{
	if (msg->hdr.size > sizeof(msg->payload)) {
		VT_ERRLOG("cannot send %s: payload of %u bytes exceeds %zu",
			  vtc_request_name(msg->hdr.request), msg->hdr.size, sizeof(msg->payload));
		return -EINVAL;
	}
	return vtc_msg_send_bytes(dev, msg, sizeof(msg->hdr) + msg->hdr.size, fds, nfds);
}

/* Waits for the socket to be readable until deadline (ns). */
static int
wait_readable(struct vtc_dev *dev, uint64_t deadline)
{
	struct pollfd pfd = { .fd = dev->sock, .events = POLLIN };
	uint64_t now;
	int rc;

	for (;;) {
		now = vtc_now_ns();
		if (now >= deadline) {
			return -ETIMEDOUT;
		}
		rc = poll(&pfd, 1, (int)((deadline - now + 999999) / 1000000));
		if (rc > 0) {
			return 0;
		}
		if (rc < 0 && errno != EINTR) {
			return -errno;
		}
	}
}

static void
close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++) {
		close(fds[i]);
	}
}

/* Reads exactly len bytes (collecting fds from the first segment) before deadline. */
static int
recv_exact(struct vtc_dev *dev, void *buf, size_t len, int *fds, int *nfds, int max_fds,
	   uint64_t deadline)
{
	size_t got = 0;

	while (got < len) {
		char control[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
		struct iovec iov = { .iov_base = (char *)buf + got, .iov_len = len - got };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = control,
				     .msg_controllen = sizeof(control) };
		struct cmsghdr *cmsg;
		ssize_t n;
		int rc;

		rc = wait_readable(dev, deadline);
		if (rc != 0) {
			return rc;
		}
		n = recvmsg(dev->sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				continue;
			}
			return -errno;
		}
		if (n == 0) {
			dev->peer_closed = true;
			return -ECONNRESET;
		}
		for (cmsg = CMSG_FIRSTHDR(&mh); cmsg != NULL; cmsg = CMSG_NXTHDR(&mh, cmsg)) {
			int cnt, *p;

			if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) {
				continue;
			}
			cnt = (int)((cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			p = (int *)CMSG_DATA(cmsg);
			for (int i = 0; i < cnt; i++) {
				if (fds != NULL && *nfds < max_fds) {
					fds[(*nfds)++] = p[i];
				} else {
					close(p[i]);
				}
			}
		}
		got += (size_t)n;
	}
	return 0;
}

int
vtc_msg_recv(struct vtc_dev *dev, struct vhost_user_msg *msg, int *fds, int *nfds,
	     uint32_t timeout_ms)
{
	uint64_t deadline = vtc_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	int max_fds = (fds != NULL && nfds != NULL) ? *nfds : 0;
	int got_fds = 0;
	int rc;

	if (dev->sock < 0) {
		return -ENOTCONN;
	}
	memset(msg, 0, sizeof(*msg));
	rc = recv_exact(dev, &msg->hdr, sizeof(msg->hdr), fds, &got_fds, max_fds, deadline);
	if (rc == 0 && msg->hdr.size > sizeof(msg->payload)) {
		VT_ERRLOG("vhost-user reply %s from '%s' has a payload of %u bytes (at most %zu)",
			  vtc_request_name(msg->hdr.request), dev->opts.path, msg->hdr.size,
			  sizeof(msg->payload));
		rc = -EPROTO;
	}
	if (rc == 0 && msg->hdr.size > 0) {
		rc = recv_exact(dev, &msg->payload, msg->hdr.size, fds, &got_fds, max_fds,
				deadline);
	}
	if (rc != 0) {
		close_fds(fds, got_fds);
		got_fds = 0;
	}
	if (nfds != NULL) {
		*nfds = got_fds;
	}
	return rc;
}

/* Checks a reply's header: version, reply flag, request, and payload size (0: any). */
static int
check_reply(struct vtc_dev *dev, const struct vhost_user_msg *reply, uint32_t request,
	    uint32_t size)
{
	const char *name = vtc_request_name(request);

	if ((reply->hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION ||
	    !(reply->hdr.flags & VHOST_USER_FLAG_REPLY)) {
		VT_ERRLOG("bad reply flags 0x%x to %s from '%s'", reply->hdr.flags, name,
			  dev->opts.path);
		return -EPROTO;
	}
	if (reply->hdr.request != request) {
		VT_ERRLOG("reply to %s from '%s' is for request %u (%s)", name, dev->opts.path,
			  reply->hdr.request, vtc_request_name(reply->hdr.request));
		return -EPROTO;
	}
	if (size != 0 && reply->hdr.size != size) {
		VT_ERRLOG("reply to %s from '%s' has %u payload bytes, expected %u", name,
			  dev->opts.path, reply->hdr.size, size);
		return -EPROTO;
	}
	return 0;
}

/* Expected reply payload size of a request with a reply (0 when it varies). */
static uint32_t
reply_size(uint32_t request)
{
	switch (request) {
	case VHOST_USER_GET_VRING_BASE:
		return sizeof(struct vhost_user_vring_state);
	case VHOST_USER_GET_CONFIG:
	case VHOST_USER_SET_LOG_BASE: /* QEMU reads any payload (none, or a u64) */
		return 0;
	case VHOST_USER_GET_INFLIGHT_FD:
		return sizeof(struct vhost_user_inflight);
	default:
		return sizeof(uint64_t);
	}
}

/* Receives and checks the reply (or ack) to request; *reply_fd gets a descriptor it carries. */
static int
await_reply(struct vtc_dev *dev, uint32_t request, bool want_ack, struct vhost_user_msg *reply,
	    int *reply_fd)
{
	const char *name = vtc_request_name(request);
	int fd = -1, nfds = 1;
	int rc;

	rc = vtc_msg_recv(dev, reply, &fd, &nfds, dev->opts.reply_timeout_ms);
	if (rc != 0) {
		VT_ERRLOG("no reply to %s from '%s': %s", name, dev->opts.path,
			  rc == -ECONNRESET ? "connection closed by the back end" : strerror(-rc));
		goto drop;
	}
	if (nfds == 1 && reply_fd != NULL) {
		*reply_fd = fd;
	} else if (nfds == 1) {
		close(fd);
	}
	rc = check_reply(dev, reply, request, want_ack ? sizeof(uint64_t) : reply_size(request));
	if (rc != 0) {
		goto drop;
	}
	if (want_ack && reply->payload.u64 != 0) {
		VT_ERRLOG("back end '%s' failed %s (ack 0x%" PRIx64 ")", dev->opts.path, name,
			  reply->payload.u64);
		return -EREMOTEIO;
	}
	VT_DEBUGLOG(vtc, "reply to %s size %u u64 0x%" PRIx64, name, reply->hdr.size,
		    reply->payload.u64);
	return 0;

drop:
	/* As QEMU does: after a missing or wrong reply the stream cannot be trusted. */
	vtc_disconnect(dev);
	dev->peer_closed = true;
	return rc;
}

int
vtc_request_fd(struct vtc_dev *dev, uint32_t request, const void *payload, uint32_t size,
	       const int *fds, int nfds, struct vhost_user_msg *reply, int *reply_fd)
{
	struct vhost_user_msg msg = {
		.hdr = { .request = request, .flags = VHOST_USER_VERSION, .size = size }
	};
	struct vhost_user_msg local;
	const char *name = vtc_request_name(request);
	bool has_reply = request_has_reply(dev, request);
	bool want_ack = !has_reply && vtc_has_protocol(dev, VHOST_USER_PROTOCOL_F_REPLY_ACK);
	int rc;

	if (size > sizeof(msg.payload)) {
		return -EINVAL;
	}
	if (dev->sock < 0) {
		VT_ERRLOG("cannot send %s to '%s': not connected", name, dev->opts.path);
		return -ENOTCONN;
	}
	if (size > 0) {
		memcpy(&msg.payload, payload, size);
	}
	if (want_ack) {
		msg.hdr.flags |= VHOST_USER_FLAG_NEED_REPLY;
	}
	VT_DEBUGLOG(vtc, "send %s size %u u64 0x%" PRIx64 " nfds %d%s", name, size,
		    size >= sizeof(uint64_t) ? msg.payload.u64 : 0, nfds, want_ack ? " ack" : "");
	rc = vtc_msg_send(dev, &msg, fds, nfds);
	if (rc != 0 || (!has_reply && !want_ack)) {
		return rc;
	}
	return await_reply(dev, request, want_ack, reply != NULL ? reply : &local, reply_fd);
}

int
vtc_request(struct vtc_dev *dev, uint32_t request, const void *payload, uint32_t size,
	    const int *fds, int nfds, struct vhost_user_msg *reply)
{
	return vtc_request_fd(dev, request, payload, size, fds, nfds, reply, NULL);
}

bool
vtc_dev_peer_closed(struct vtc_dev *dev, uint32_t timeout_ms)
{
	struct pollfd pfd = { .fd = dev->sock, .events = POLLIN | POLLRDHUP };
	char c;

	if (dev->peer_closed || dev->sock < 0) {
		return true;
	}
	if (poll(&pfd, 1, (int)timeout_ms) <= 0) {
		return false;
	}
	if (pfd.revents & (POLLHUP | POLLRDHUP | POLLERR)) {
		dev->peer_closed = true;
		return true;
	}
	/* Readable: data (an unexpected message) or EOF. */
	if (recv(dev->sock, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
		dev->peer_closed = true;
	}
	return dev->peer_closed;
}
