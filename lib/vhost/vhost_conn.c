/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Which socket carries a session, and has its front end hung up?
 *
 * rte_vhost accepts a connection, calls new_connection() and only then starts reading it; a
 * front end that exits is noticed when the vhost-events thread gets round to the hang-up, which
 * can be later than an orchestrator's next RPC (it deletes the controller right after its VM
 * exits). To tell "a guest is connected" from "a guest was connected and is gone", the session
 * remembers its connection's socket: rte_vhost does not say which fd it accepted, so
 * new_connection() looks for it among the process's sockets: a connected (not listening) Unix
 * socket whose local address is the controller's path and that no other session of the
 * controller owns. new_connection() runs on the thread that accepted the socket, before any
 * other connection can be accepted, so exactly one such socket is new.
 *
 * The fd number alone is not enough afterwards: rte_vhost closes it when it tears the
 * connection down and the number can be reused, so the socket's inode is kept with it and
 * checked around every look.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vt/log.h"

#include "lib/vhost/vhost_internal.h"

#define CONN_SCAN_MAX 64 /* sockets on one path considered at once */

static bool
fd_is_socket_on(int fd, const char *path, uint64_t *ino)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);
	struct stat st;
	int listening = 0;
	socklen_t optlen = sizeof(listening);

	if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
		return false;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optlen) != 0 || listening) {
		return false;
	}
	memset(&sa, 0, sizeof(sa));
	if (getsockname(fd, (struct sockaddr *)&sa, &len) != 0 || sa.sun_family != AF_UNIX ||
	    len <= offsetof(struct sockaddr_un, sun_path)) {
		return false;
	}
	if (strncmp(sa.sun_path, path, sizeof(sa.sun_path)) != 0) {
		return false;
	}
	*ino = (uint64_t)st.st_ino;
	return true;
}

/* The sockets of this process connected through path; returns how many (at most max). */
static int
scan_sockets(const char *path, int *fds, uint64_t *inos, int max)
{
	struct dirent *e;
	DIR *dir = opendir("/proc/self/fd");
	int n = 0;

	if (dir == NULL) {
		return -errno;
	}
	while ((e = readdir(dir)) != NULL && n < max) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);

		if (e->d_name[0] == '.' || *end != '\0' || fd < 0 || fd == dirfd(dir) ||
		    fd > INT32_MAX) {
			continue;
		}
		if (fd_is_socket_on((int)fd, path, &inos[n])) {
			fds[n++] = (int)fd;
		}
	}
	closedir(dir);
	return n;
}

static bool
ino_owned(const struct vhost_ctrlr *c, const struct vhost_session *self, uint64_t ino)
{
	const struct vhost_session *s;

	TAILQ_FOREACH (s, &c->sessions, link) {
		if (s != self && s->conn_fd >= 0 && s->conn_ino == ino) {
			return true;
		}
	}
	return false;
}

void
vhost_conn_identify(struct vhost_session *s)
{
	int fds[CONN_SCAN_MAX], found = -1, n, i, nfree = 0;
	uint64_t inos[CONN_SCAN_MAX], ino = 0;

	n = scan_sockets(s->ctrlr->path, fds, inos, CONN_SCAN_MAX);
	if (n < 0) {
		VT_WARNLOG("session %s: cannot list the process's sockets: %s\n", s->name,
			   vt_strerror(-n));
		return;
	}
	pthread_mutex_lock(&g_vhost_mutex);
	for (i = 0; i < n; i++) {
		if (!ino_owned(s->ctrlr, s, inos[i])) {
			found = fds[i];
			ino = inos[i];
			nfree++;
		}
	}
	if (nfree == 1) {
		s->conn_fd = found;
		s->conn_ino = ino;
	}
	pthread_mutex_unlock(&g_vhost_mutex);
	if (nfree != 1) {
		/* Without it the session counts as connected until rte_vhost says otherwise. */
		VT_WARNLOG("session %s: cannot tell its socket apart (%d candidates)\n", s->name,
			   nfree);
	}
}

static bool
same_socket(int fd, uint64_t ino)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) && (uint64_t)st.st_ino == ino;
}

bool
vhost_conn_hung_up(const struct vhost_session *s)
{
	struct pollfd pfd = { .fd = s->conn_fd, .events = POLLRDHUP };

	if (s->conn_fd < 0) {
		return false;
	}
	/* Closed by rte_vhost already (its destroy_connection is on its way). */
	if (!same_socket(s->conn_fd, s->conn_ino)) {
		return true;
	}
	if (poll(&pfd, 1, 0) < 0) {
		return false;
	}
	/* Checked again: the poll must have looked at our socket, not a reuse of the number. */
	if (!same_socket(s->conn_fd, s->conn_ino)) {
		return true;
	}
	return (pfd.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)) != 0;
}

uint32_t
vhost_ctrlr_connected(const struct vhost_ctrlr *c)
{
	const struct vhost_session *s;
	uint32_t n = 0;

	TAILQ_FOREACH (s, &c->sessions, link) {
		if (s->live && !vhost_conn_hung_up(s)) {
			n++;
		}
	}
	return n;
}
