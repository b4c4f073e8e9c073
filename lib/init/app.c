/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The application framework. vt_app_start() runs, on the calling thread:
 *
 *   options -> signals blocked -> DPDK EAL (no hugepages) -> reactors -> on reactor 0:
 *   subsystems -> RPC server -> config replay -> RUNTIME state -> start_fn -> ready line
 *
 * and vt_app_stop() unwinds it on reactor 0: RPC server, subsystems (in reverse), reactors; then
 * vt_app_start() frees the reactors and the EAL and returns the exit code.
 *
 * SIGINT, SIGTERM and SIGHUP are blocked before any thread exists (EAL's own threads included),
 * so every thread inherits the mask and the signals are only ever seen through a signalfd polled
 * by reactor 0.
 *
 * Start-up steps that complete asynchronously (subsystem init, config replay) set g_app.busy; a
 * stop request arriving meanwhile is parked in g_app.stop_pending and carried out when the step
 * ends, so the shutdown never races with a half-finished step.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "vt/event.h"
#include "vt/init.h"
#include "vt/log.h"
#include "vt/rpc.h"
#include "vt/util.h"

#include "lib/init/init_internal.h"

#define APP_DEFAULT_NAME "vtarget"
#define APP_DEFAULT_MASK "0x1"
/* A config larger than this is certainly a mistake (SPDK configs are kilobytes). */
#define APP_MAX_CONFIG_SIZE (64u << 20)
/* EAL runtime folders: APP_RUNTIME_PARENT/APP_RUNTIME_PREFIX<pid>.XXXXXX */
#define APP_RUNTIME_PARENT "/tmp"
#define APP_RUNTIME_PREFIX "vtarget-eal."

struct app {
	const struct vt_app_opts *opts; /* the caller's, valid until vt_app_start returns */
	const char *name;
	const char *rpc_addr;
	struct vt_cpuset cpus;
	char *config_buf;                  /* contents of opts->json_config_file */
	char config_source[PATH_MAX + 16]; /* where config came from, for messages */
	const char *config;                /* text to replay, NULL for none */
	size_t config_len;
	char runtime_dir[64]; /* private EAL runtime folder; "" when none was made */
	bool eal_up;
	sigset_t old_sigmask;
	bool sigmask_set;
	int sigfd;
	struct vt_poller *signal_poller;
	bool busy;         /* an asynchronous start-up step is running */
	bool stop_pending; /* a stop arrived while busy */
	bool subsystems_started;
	bool rpc_listening;
	bool shutting_down;
	bool waiting_init;                     /* --wait-for-rpc: framework_start_init not yet */
	struct vt_jsonrpc_request *start_init; /* framework_start_init, answered when ready */
	struct vt_defer stop_defer;            /* vt_app_stop() called on reactor 0 */
};

static struct app g_app = { .sigfd = -1 };

/* Touched by vt_app_stop() from any thread. */
static atomic_bool g_running;
static atomic_bool g_stop_requested;
static atomic_int g_exit_rc;
static _Atomic uint64_t g_start_ticks;
static _Atomic uint64_t g_stop_deadline;

static char g_vhost_sock_dir[PATH_MAX] = VT_APP_DEFAULT_VHOST_SOCK_DIR;

void
vt_app_opts_init(struct vt_app_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->name = APP_DEFAULT_NAME;
	opts->mem_size_mb = VT_APP_DEFAULT_MEM_MB;
	opts->stop_timeout_ms = VT_APP_DEFAULT_STOP_TIMEOUT_MS;
	opts->vhost_sock_uid = -1;
	opts->vhost_sock_gid = -1;
	opts->vhost_sock_mode = -1;
	opts->rpc_sock_gid = -1;
}

void
vt_app_vhost_sock_perms(int64_t *uid, int64_t *gid, int32_t *mode)
{
	const struct vt_app_opts *o = g_app.opts;

	*uid = o != NULL ? o->vhost_sock_uid : -1;
	*gid = o != NULL ? o->vhost_sock_gid : -1;
	*mode = o != NULL ? o->vhost_sock_mode : -1;
}

uint64_t
vt_app_start_ticks(void)
{
	return atomic_load(&g_start_ticks);
}

const char *
vt_app_vhost_sock_dir(void)
{
	return g_vhost_sock_dir;
}

const char *
vt_app_runtime_dir(void)
{
	return g_app.runtime_dir;
}

uint64_t
vt_app_stop_deadline(void)
{
	return atomic_load(&g_stop_deadline);
}

/* ---- shutdown (reactor 0) ---------------------------------------------------------------- */

static int app_rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw);

void
vt_app_stop_bound_reached(void)
{
	VT_WARNLOG("%s: stop bound of %" PRIu32 " ms reached; exiting with the requests still in "
		   "flight unpublished\n",
		   g_app.name, g_app.opts->stop_timeout_ms);
	/* Nothing waits: the RPC socket is gone, the sockets and the memory go with the process. */
	if (g_app.runtime_dir[0] != '\0') {
		nftw(g_app.runtime_dir, app_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	}
	fflush(stdout);
	fflush(stderr);
	_exit(atomic_load(&g_exit_rc));
}

static void
app_fini_done(void *arg)
{
	vt_poller_unregister(&g_app.signal_poller);
	vt_reactors_stop();
}

static void
app_shutdown(void)
{
	if (g_app.shutting_down) {
		return;
	}
	g_app.shutting_down = true;
	atomic_store(&g_stop_deadline,
		     vt_get_ticks() + (uint64_t)g_app.opts->stop_timeout_ms * 1000000u);
	VT_NOTICELOG("%s shutting down\n", g_app.name);
	if (g_app.start_init != NULL) {
		vt_jsonrpc_send_error_response(g_app.start_init, -ESHUTDOWN, "shutting down");
		g_app.start_init = NULL;
	}
	init_framework_rpc_shutdown();
	if (g_app.rpc_listening) {
		vt_rpc_server_close();
		g_app.rpc_listening = false;
	}
	if (g_app.subsystems_started) {
		vt_subsystem_fini(app_fini_done, NULL);
	} else {
		app_fini_done(NULL);
	}
}

static void
app_stop_msg(void *arg)
{
	if (g_app.busy) {
		g_app.stop_pending = true;
		return;
	}
	app_shutdown();
}

void
vt_app_stop(int rc)
{
	bool expected = false;
	int zero = 0;

	/* The first failure code wins over a plain stop (a signal during a failing start-up). */
	if (rc != 0) {
		atomic_compare_exchange_strong(&g_exit_rc, &zero, rc);
	}
	if (!atomic_compare_exchange_strong(&g_stop_requested, &expected, true)) {
		return;
	}
	if (!atomic_load(&g_running)) {
		return;
	}
	if (vt_reactor_current() == 0) {
		/* Never unwind under the caller's feet (e.g. an RPC handler): next iteration. */
		vt_defer(&g_app.stop_defer, app_stop_msg, NULL);
		return;
	}
	while (vt_send_msg(0, app_stop_msg, NULL) == -ENOMEM) {
		usleep(1000);
	}
}

/* ---- start-up (reactor 0) ---------------------------------------------------------------- */

/* Ends an asynchronous step; true when the start-up goes on. */
static bool
app_step_end(int rc)
{
	g_app.busy = false;
	if (rc != 0) {
		vt_app_stop(1);
	}
	if (g_app.stop_pending) {
		g_app.stop_pending = false;
		app_shutdown();
		return false;
	}
	return rc == 0 && !atomic_load(&g_stop_requested);
}

static void
app_ready(void)
{
	const struct vt_app_opts *opts = g_app.opts;
	uint64_t ms;

	vt_rpc_set_state(VT_RPC_RUNTIME);
	if (g_app.start_init != NULL) {
		vt_jsonrpc_send_bool_response(g_app.start_init, true);
		g_app.start_init = NULL;
	}
	if (opts->start_fn != NULL) {
		opts->start_fn(opts->start_arg);
		if (atomic_load(&g_stop_requested)) {
			return;
		}
	}
	init_framework_rpc_ready();
	ms = (vt_get_ticks() - atomic_load(&g_start_ticks)) / 1000000;
	if (g_app.rpc_listening) {
		VT_NOTICELOG("%s ready in %" PRIu64 " ms, RPC socket at %s\n", g_app.name, ms,
			     vt_rpc_server_path());
	} else {
		VT_NOTICELOG("%s ready in %" PRIu64 " ms, no RPC server\n", g_app.name, ms);
	}
}

/* A failed start-up step: framework_start_init, if it started it, gets the reason. */
static void
app_start_init_fail(const char *msg)
{
	if (g_app.start_init != NULL) {
		vt_jsonrpc_send_error_response(g_app.start_init, VT_JSONRPC_ERROR_INTERNAL_ERROR,
					       msg);
		g_app.start_init = NULL;
	}
}

/* Opens the RPC socket; on a failure the application stops. */
static int
app_rpc_listen(void)
{
	int rc = vt_rpc_server_listen(g_app.rpc_addr);

	if (rc != 0) {
		VT_ERRLOG("cannot listen on RPC socket '%s': %s%s\n", g_app.rpc_addr,
			  vt_strerror(-rc),
			  rc == -EADDRINUSE ? "; choose another path with -r" : "");
		vt_app_stop(1);
		return rc;
	}
	g_app.rpc_listening = true;
	return 0;
}

static void
app_config_done(int rc, const char *err, void *arg)
{
	if (rc != 0) {
		VT_ERRLOG("%s; in %s\n", err, g_app.config_source);
		app_start_init_fail(err);
	}
	if (app_step_end(rc)) {
		app_ready();
	}
}

static void
app_subsystems_done(int rc, void *arg)
{
	if (rc != 0) {
		VT_ERRLOG("cannot initialize subsystems: %s\n", vt_strerror(-rc));
		app_start_init_fail("cannot initialize subsystems");
	}
	if (!app_step_end(rc)) {
		return;
	}
	if (!g_app.opts->no_rpc_server && !g_app.rpc_listening && app_rpc_listen() != 0) {
		return;
	}
	if (g_app.config != NULL) {
		g_app.busy = true;
		init_json_config_load(g_app.config, g_app.config_len, app_config_done, NULL);
		return;
	}
	app_ready();
}

static const char *
app_signal_name(uint32_t signo)
{
	switch (signo) {
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	case SIGHUP:
		return "SIGHUP";
	default:
		return "signal";
	}
}

static int
app_signal_poll(void *arg, uint32_t events)
{
	struct signalfd_siginfo si;
	int ret = VT_POLLER_IDLE;

	while (read(g_app.sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		ret = VT_POLLER_BUSY;
		if (si.ssi_signo == SIGHUP) {
			VT_NOTICELOG("received SIGHUP: ignored\n");
		} else if (atomic_load(&g_stop_requested)) {
			VT_NOTICELOG("received %s: shutdown already in progress\n",
				     app_signal_name(si.ssi_signo));
		} else {
			VT_NOTICELOG("received %s\n", app_signal_name(si.ssi_signo));
			vt_app_stop(0);
		}
	}
	return ret;
}

static void
app_init_subsystems(void)
{
	vt_rpc_set_state(VT_RPC_STARTUP);
	g_app.busy = true;
	g_app.subsystems_started = true;
	vt_subsystem_init(app_subsystems_done, NULL);
}

/* --wait-for-rpc: the RPC server first, in the pre-init state, until framework_start_init. */
static void
app_wait_for_rpc(void)
{
	if (app_rpc_listen() != 0) {
		return;
	}
	g_app.waiting_init = true;
	vt_rpc_set_state(VT_RPC_PREINIT);
	VT_NOTICELOG("%s waiting for framework_start_init, RPC socket at %s\n", g_app.name,
		     vt_rpc_server_path());
}

static void
app_start_msg(void *arg)
{
	if (atomic_load(&g_stop_requested)) {
		/* vt_app_stop() came before the reactors ran and sent no message. */
		app_shutdown();
		return;
	}
	g_app.signal_poller =
		vt_fd_poller_register(g_app.sigfd, EPOLLIN, app_signal_poll, NULL, "app_signals");
	if (g_app.signal_poller == NULL) {
		VT_ERRLOG("cannot watch signals: fd poller registration failed\n");
		vt_app_stop(1);
		return;
	}
	if (g_app.opts->wait_for_rpc && !g_app.opts->no_rpc_server) {
		app_wait_for_rpc();
		return;
	}
	app_init_subsystems();
}

int
init_app_start_init(struct vt_jsonrpc_request *req)
{
	if (!g_app.waiting_init || g_app.shutting_down) {
		return -EALREADY;
	}
	g_app.waiting_init = false;
	g_app.start_init = req;
	VT_NOTICELOG("framework_start_init: initializing the subsystems\n");
	app_init_subsystems();
	return 0;
}

/* ---- set-up and clean-up (calling thread) ------------------------------------------------- */

static int
app_read_config(const char *path)
{
	struct stat st;
	ssize_t n;
	size_t off = 0;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > APP_MAX_CONFIG_SIZE) {
		rc = -EFBIG;
		goto out;
	}
	g_app.config_buf = malloc((size_t)st.st_size + 1);
	if (g_app.config_buf == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	while (off < (size_t)st.st_size) {
		n = read(fd, g_app.config_buf + off, (size_t)st.st_size - off);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			goto out;
		}
		off += (size_t)n;
	}
	g_app.config_buf[off] = '\0';
	g_app.config = g_app.config_buf;
	g_app.config_len = off;
out:
	if (rc != 0) {
		VT_ERRLOG("cannot read config file '%s': %s\n", path, vt_strerror(-rc));
	}
	if (fd >= 0) {
		close(fd);
	}
	return rc;
}

static int
app_parse_opts(const struct vt_app_opts *opts)
{
	const char *mask = opts->reactor_mask != NULL ? opts->reactor_mask : APP_DEFAULT_MASK;
	const char *sock_dir = opts->vhost_sock_dir;

	g_app.opts = opts;
	g_app.name = opts->name != NULL ? opts->name : APP_DEFAULT_NAME;
	vt_rpc_server_set_group(opts->rpc_sock_gid);
	g_app.rpc_addr = opts->rpc_addr != NULL ? opts->rpc_addr : VT_APP_DEFAULT_RPC_ADDR;
	if (vt_cpuset_parse(&g_app.cpus, mask) != 0) {
		VT_ERRLOG("invalid cpumask '%s': expected a hex mask (0x3) or a core list "
			  "([0,2-3])\n",
			  mask);
		return -EINVAL;
	}
	if (sock_dir == NULL) {
		sock_dir = VT_APP_DEFAULT_VHOST_SOCK_DIR;
	}
	if ((size_t)snprintf(g_vhost_sock_dir, sizeof(g_vhost_sock_dir), "%s", sock_dir) >=
	    sizeof(g_vhost_sock_dir)) {
		VT_ERRLOG("vhost socket folder too long: '%s'\n", sock_dir);
		return -ENAMETOOLONG;
	}
	if (opts->json_config_file != NULL && opts->json_config_text != NULL) {
		VT_ERRLOG("cannot replay both a config file and a config text\n");
		return -EINVAL;
	}
	if (opts->json_config_text != NULL) {
		g_app.config = opts->json_config_text;
		g_app.config_len = strlen(opts->json_config_text);
		snprintf(g_app.config_source, sizeof(g_app.config_source), "the config text");
	} else if (opts->json_config_file != NULL) {
		snprintf(g_app.config_source, sizeof(g_app.config_source), "config file '%s'",
			 opts->json_config_file);
		return app_read_config(opts->json_config_file);
	}
	return 0;
}

static int
app_signals_init(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &set, &g_app.old_sigmask) != 0) {
		VT_ERRLOG("cannot block signals\n");
		return -EINVAL;
	}
	g_app.sigmask_set = true;
	g_app.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (g_app.sigfd < 0) {
		VT_ERRLOG("cannot create signalfd: %s\n", vt_strerror(errno));
		return -errno;
	}
	return 0;
}

static void
app_signals_fini(void)
{
	struct signalfd_siginfo si;

	if (g_app.sigfd >= 0) {
		/* Signals that came during the shutdown are consumed, not re-delivered. */
		while (read(g_app.sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		}
		close(g_app.sigfd);
		g_app.sigfd = -1;
	}
	if (g_app.sigmask_set) {
		pthread_sigmask(SIG_SETMASK, &g_app.old_sigmask, NULL);
		g_app.sigmask_set = false;
	}
}

static int
app_rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (remove(path) != 0) {
		VT_WARNLOG("cannot remove '%s': %s\n", path, vt_strerror(errno));
	}
	return 0;
}

/*
 * Runtime folders are named after their process, so the folder of one that died without its
 * clean-up (SIGKILL, crash) is found and removed by the next start, if it is ours.
 */
static void
app_remove_stale_runtime_dirs(void)
{
	size_t plen = strlen(APP_RUNTIME_PREFIX);
	char path[PATH_MAX];
	struct dirent *e;
	struct stat st;
	char *end;
	long pid;
	DIR *dir;

	dir = opendir(APP_RUNTIME_PARENT);
	if (dir == NULL) {
		return;
	}
	while ((e = readdir(dir)) != NULL) {
		if (strncmp(e->d_name, APP_RUNTIME_PREFIX, plen) != 0) {
			continue;
		}
		errno = 0;
		pid = strtol(e->d_name + plen, &end, 10);
		if (errno != 0 || end == e->d_name + plen || *end != '.' || pid <= 0 ||
		    pid > INT_MAX || kill((pid_t)pid, 0) == 0 || errno != ESRCH) {
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", APP_RUNTIME_PARENT, e->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid()) {
			nftw(path, app_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
		}
	}
	closedir(dir);
}

static int
app_eal_init(const struct vt_app_opts *opts)
{
	char name[64], mem[16], lcore[16], log_level[] = "--log-level=lib.eal:warning";
	char no_huge[] = "--no-huge", m[] = "-m", no_pci[] = "--no-pci";
	char no_shconf[] = "--no-shconf", no_telemetry[] = "--no-telemetry", l[] = "-l";
	char *argv[] = { name,         no_huge, m,     mem,       no_pci, no_shconf,
			 no_telemetry, l,       lcore, log_level, NULL };
	cpu_set_t affinity;
	bool has_affinity;

	snprintf(name, sizeof(name), "%s", g_app.name);
	snprintf(mem, sizeof(mem), "%" PRIu32,
		 opts->mem_size_mb != 0 ? opts->mem_size_mb : VT_APP_DEFAULT_MEM_MB);
	/* Only reactor 0's core: the other reactors are our threads, not EAL lcores. */
	snprintf(lcore, sizeof(lcore), "%d", vt_cpuset_next(&g_app.cpus, 0));

	/* With --no-shconf EAL needs no runtime folder, but may still create files in it. */
	app_remove_stale_runtime_dirs();
	snprintf(g_app.runtime_dir, sizeof(g_app.runtime_dir), "%s/%s%d.XXXXXX", APP_RUNTIME_PARENT,
		 APP_RUNTIME_PREFIX, (int)getpid());
	if (mkdtemp(g_app.runtime_dir) == NULL) {
		VT_ERRLOG("cannot create EAL runtime folder: %s\n", vt_strerror(errno));
		g_app.runtime_dir[0] = '\0';
		return -errno;
	}
	setenv("RUNTIME_DIRECTORY", g_app.runtime_dir, 1);
	/* EAL pins this thread to its one lcore; lib/event checks and pins every reactor's core. */
	has_affinity = sched_getaffinity(0, sizeof(affinity), &affinity) == 0;
	if (rte_eal_init((int)VT_COUNTOF(argv) - 1, argv) < 0) {
		VT_ERRLOG("cannot initialize DPDK EAL: %s\n", rte_strerror(rte_errno));
		return -EINVAL;
	}
	g_app.eal_up = true;
	if (has_affinity) {
		pthread_setaffinity_np(pthread_self(), sizeof(affinity), &affinity);
	}
	return 0;
}

static void
app_cleanup(void)
{
	if (g_app.eal_up) {
		rte_eal_cleanup();
		g_app.eal_up = false;
	}
	if (g_app.runtime_dir[0] != '\0') {
		nftw(g_app.runtime_dir, app_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
		g_app.runtime_dir[0] = '\0';
	}
	app_signals_fini();
	free(g_app.config_buf);
	g_app.config_buf = NULL;
}

int
vt_app_start(const struct vt_app_opts *opts)
{
	int rc;

	atomic_store(&g_start_ticks, vt_get_ticks());
	atomic_store(&g_stop_requested, false);
	atomic_store(&g_exit_rc, 0);
	atomic_store(&g_stop_deadline, 0);
	memset(&g_app, 0, sizeof(g_app));
	g_app.sigfd = -1;

	rc = app_parse_opts(opts);
	if (rc == 0) {
		rc = app_signals_init();
	}
	if (rc == 0 && !opts->no_eal) {
		rc = app_eal_init(opts);
	}
	if (rc != 0) {
		goto out;
	}
	rc = vt_reactors_init_mode(&g_app.cpus,
				   opts->interrupt_mode ? VT_POLL_MODE_INTERRUPT : opts->poll_mode);
	if (rc != 0) {
		VT_ERRLOG("cannot create reactors: %s\n", vt_strerror(-rc));
		goto out;
	}
	/* From here on vt_app_stop() sends reactor 0 a message. */
	atomic_store(&g_running, true);
	rc = vt_send_msg(0, app_start_msg, NULL);
	if (rc != 0) {
		VT_ERRLOG("cannot start reactor 0: %s\n", vt_strerror(-rc));
		atomic_store(&g_running, false);
		vt_reactors_fini();
		goto out;
	}
	vt_reactors_start();
	atomic_store(&g_running, false);
	vt_reactors_fini();
	app_cleanup();
	return atomic_load(&g_exit_rc);
out:
	app_cleanup();
	return 1;
}
