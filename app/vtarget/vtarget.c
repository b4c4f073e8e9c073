/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vtarget: the daemon's main(). Parses the command line (options and exit codes are described
 * in doc/app.md), checks what can be checked before anything starts, then hands over to
 * vt_app_start() (lib/init), which returns the exit code.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vt/event.h"
#include "vt/init.h"
#include "vt/log.h"
#include "vt/rpc.h"
#include "vt/scsi.h"
#include "vt/util.h"

/* app/vtarget/default_config.c */
extern const char vtarget_default_config[];
extern const char vtarget_default_config_summary[];

/* Upper bound of --stop-timeout, in seconds (a day). */
#define STOP_TIMEOUT_MAX_S 86400u
/* Upper bound of -s, in MiB: far above any sensible EAL memory, low enough to never overflow. */
#define MEM_SIZE_MAX_MB (1u << 20)
/* parse_args(): go on and start the target. */
#define ARGS_RUN (-1)

enum {
	OPT_INTERRUPT = 256,
	OPT_DEFAULT_CONFIG,
	OPT_PRINT_DEFAULT_CONFIG,
	OPT_STOP_TIMEOUT,
	OPT_WAIT_FOR_RPC,
	OPT_VHOST_SOCK_OWNER,
	OPT_VHOST_SOCK_GROUP,
	OPT_VHOST_SOCK_MODE,
	OPT_RPC_SOCK_GROUP,
	OPT_POLL_MODE,
	OPT_STATE_DIR,
};

static const struct option g_long_opts[] = {
	{ "cpumask", required_argument, NULL, 'm' },
	{ "mem-size", required_argument, NULL, 's' },
	{ "rpc-socket", required_argument, NULL, 'r' },
	{ "vhost-sock-dir", required_argument, NULL, 'S' },
	{ "config", required_argument, NULL, 'c' },
	{ "json", required_argument, NULL, 'c' }, /* SPDK's name for the same */
	{ "interrupt", no_argument, NULL, OPT_INTERRUPT },
	{ "poll-mode", required_argument, NULL, OPT_POLL_MODE },
	{ "wait-for-rpc", no_argument, NULL, OPT_WAIT_FOR_RPC },
	{ "vhost-sock-owner", required_argument, NULL, OPT_VHOST_SOCK_OWNER },
	{ "vhost-sock-group", required_argument, NULL, OPT_VHOST_SOCK_GROUP },
	{ "vhost-sock-mode", required_argument, NULL, OPT_VHOST_SOCK_MODE },
	{ "rpc-sock-group", required_argument, NULL, OPT_RPC_SOCK_GROUP },
	{ "logflag", required_argument, NULL, 'L' },
	{ "default-config", no_argument, NULL, OPT_DEFAULT_CONFIG },
	{ "print-default-config", no_argument, NULL, OPT_PRINT_DEFAULT_CONFIG },
	{ "stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT },
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'v' },
	{ NULL, 0, NULL, 0 },
};

/* prefix, text and suffix as one paragraph broken at spaces into lines of at most width. */
static void
print_wrapped(const char *prefix, const char *text, const char *suffix, size_t width)
{
	char buf[1024];
	const char *p = buf;
	size_t col = 0;

	snprintf(buf, sizeof(buf), "%s%s%s", prefix, text, suffix);
	while (*p != '\0') {
		size_t len = strcspn(p, " ");

		if (len > 0) {
			if (col > 0 && col + 1 + len > width) {
				putchar('\n');
				col = 0;
			} else if (col > 0) {
				putchar(' ');
				col++;
			}
			fwrite(p, 1, len, stdout);
			col += len;
		}
		p += len;
		p += strspn(p, " ");
	}
	putchar('\n');
}

static void
usage(void)
{
	printf("Usage: vtarget [options]\n"
	       "Userspace vhost-user storage target, driven by JSON-RPC on a Unix socket.\n\n"
	       "  -m, --cpumask MASK         reactor cores: hex mask (0x3) or list ([0,2-3]);"
	       " default 0x1\n"
	       "  -s, --mem-size SIZE        DPDK memory in MiB, or with a suffix (512M, 1G);"
	       " default %u\n"
	       "  -r, --rpc-socket PATH      JSON-RPC socket; default %s\n"
	       "  -S, --vhost-sock-dir DIR   folder of the vhost-user sockets; default %s\n"
	       "  -c, --config FILE          replay an SPDK-format JSON config before ready"
	       " (also --json)\n"
	       "      --default-config       replay the built-in config (below)\n"
	       "      --print-default-config print the built-in config and exit\n"
	       "      --poll-mode MODE       poll (busy-poll, the default), interrupt (sleep"
	       " when idle)\n"
	       "                             or adaptive (poll while busy and briefly after,"
	       " then sleep)\n"
	       "      --interrupt            the same as --poll-mode interrupt\n"
	       "      --stop-timeout SECONDS how long a stop waits for requests in flight;"
	       " default %u\n"
	       "  -w, --wait-for-rpc         start the subsystems only at framework_start_init\n"
	       "      --vhost-sock-owner USER  owner of each vhost-user socket (name or uid)\n"
	       "      --vhost-sock-group GROUP group of each vhost-user socket (name or gid)\n"
	       "      --vhost-sock-mode MODE   mode of each vhost-user socket (octal, e.g. 0660)\n"
	       "      --rpc-sock-group GROUP   group of the RPC socket (its mode becomes 0660)\n"
	       "      --state-dir DIR        folder of persistent state (SCSI reservations with\n"
	       "                             APTPL); default the -c file's folder, else -S's\n"
	       "  -L, --logflag FLAG         enable debug logs of a component (or 'all');"
	       " repeatable\n"
	       "  -h, --help                 this text\n"
	       "  -v, --version              print the version and exit\n\n"
	       "SIGINT or SIGTERM shut the target down in order: no new request is taken, the\n"
	       "requests in flight complete (up to --stop-timeout). Exit code 0 on a stop, 1 on a\n"
	       "bad option or a start-up failure. See doc/app.md.\n\n",
	       VT_APP_DEFAULT_MEM_MB, VT_APP_DEFAULT_RPC_ADDR, VT_APP_DEFAULT_VHOST_SOCK_DIR,
	       VT_APP_DEFAULT_STOP_TIMEOUT_MS / 1000);
	print_wrapped("The built-in config: ", vtarget_default_config_summary, ".", 79);
}

/* A bad command line: one line naming the problem and the hint. Returns the exit code. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("vtarget: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\ntry 'vtarget --help'\n", stderr);
	return 1;
}

/* MiB as a plain number, or bytes with a k/m/g suffix (rounded down to MiB). */
static int
parse_mem_size(const char *arg, uint32_t *mb)
{
	size_t len = strlen(arg);
	uint64_t v;
	int rc;

	if (len > 0 && strchr("kKmMgG", arg[len - 1]) != NULL) {
		rc = vt_parse_capacity(arg, &v);
		v >>= 20;
	} else {
		rc = vt_strtou64(arg, &v);
	}
	if (rc != 0 || v == 0 || v > MEM_SIZE_MAX_MB) {
		return usage_error("invalid memory size '%s': expected MiB from 1 to %u, or a size "
				   "with a suffix (512M, 1G)",
				   arg, MEM_SIZE_MAX_MB);
	}
	*mb = (uint32_t)v;
	return 0;
}

static int
parse_stop_timeout(const char *arg, uint32_t *ms)
{
	uint64_t v;

	if (vt_strtou64(arg, &v) != 0 || v > STOP_TIMEOUT_MAX_S) {
		return usage_error("invalid stop timeout '%s': expected seconds from 0 to %u", arg,
				   STOP_TIMEOUT_MAX_S);
	}
	*ms = (uint32_t)v * 1000;
	return 0;
}

/* Every core of the mask must be one this process may run on, or pinning fails later. */
static int
check_cpumask(const char *arg)
{
	struct vt_cpuset set;
	cpu_set_t allowed;
	int cpu;

	if (vt_cpuset_parse(&set, arg) != 0) {
		return usage_error("invalid cpumask '%s': expected a hex mask (0x3) or a core list "
				   "([0,2-3])",
				   arg);
	}
	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) {
		return 0;
	}
	for (cpu = vt_cpuset_next(&set, 0); cpu >= 0; cpu = vt_cpuset_next(&set, cpu + 1)) {
		if (cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &allowed)) {
			return usage_error("cpumask '%s' names core %d, which this process may not "
					   "run on",
					   arg, cpu);
		}
	}
	return 0;
}

static int
check_rpc_socket(const char *arg)
{
	struct sockaddr_un sun;

	if (arg[0] == '\0' || strlen(arg) >= sizeof(sun.sun_path)) {
		return usage_error("invalid RPC socket path '%s': expected 1 to %zu characters",
				   arg, sizeof(sun.sun_path) - 1);
	}
	return 0;
}

/* Environment problems (not the command line's syntax): one line, no hint. */
static int
check_dir(const char *what, const char *arg)
{
	struct stat st;

	if (stat(arg, &st) != 0) {
		fprintf(stderr, "vtarget: cannot use %s '%s': %s\n", what, arg, vt_strerror(errno));
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "vtarget: cannot use %s '%s': not a directory\n", what, arg);
		return 1;
	}
	return 0;
}

static int
check_config_file(const char *arg)
{
	struct stat st;
	int fd, err = 0;

	fd = open(arg, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		err = errno;
	} else if (!S_ISREG(st.st_mode)) {
		err = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
	}
	if (fd >= 0) {
		close(fd);
	}
	if (err != 0) {
		fprintf(stderr, "vtarget: cannot read config file '%s': %s\n", arg,
			vt_strerror(err));
		return 1;
	}
	return 0;
}

static int
set_log_flag(const char *arg)
{
	char known[512] = "";
	struct vt_log_flag *f;
	size_t off = 0;

	if (vt_log_set_flag(arg) == 0) {
		return 0;
	}
	for (f = vt_log_flag_first(); f != NULL && off < sizeof(known); f = vt_log_flag_next(f)) {
		off += (size_t)snprintf(known + off, sizeof(known) - off, "%s%s",
					off > 0 ? ", " : "", f->name);
	}
	return usage_error("unknown log flag '%s' (known: all%s%s)", arg, off > 0 ? ", " : "",
			   known);
}

static int
bad_option(char **argv, int c)
{
	const char *opt = argv[optind - 1];

	if (c == ':') {
		return usage_error("option '%s' needs an argument", opt);
	}
	if (strncmp(opt, "--", 2) == 0 && strchr(opt, '=') != NULL) {
		return usage_error("option '%.*s' takes no argument", (int)strcspn(opt, "="), opt);
	}
	if (optopt != 0 && strncmp(opt, "--", 2) != 0) {
		return usage_error("unknown option '-%c'", optopt);
	}
	return usage_error("unknown option '%s'", opt);
}

/* A number of at most max, or -1. */
static int64_t
parse_id(const char *s, int base, int64_t max)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, base);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > max) {
		return -1;
	}
	return v;
}

static int
parse_owner(const char *s, int64_t *uid)
{
	struct passwd *pw = getpwnam(s);

	*uid = pw != NULL ? (int64_t)pw->pw_uid : parse_id(s, 10, UINT32_MAX - 1);
	return *uid < 0 ? usage_error("--vhost-sock-owner: no user '%s'", s) : 0;
}

static int
parse_group(const char *s, int64_t *gid)
{
	struct group *gr = getgrnam(s);

	*gid = gr != NULL ? (int64_t)gr->gr_gid : parse_id(s, 10, UINT32_MAX - 1);
	return *gid < 0 ? usage_error("no group '%s'", s) : 0;
}

static int
parse_mode(const char *s, int32_t *mode)
{
	*mode = (int32_t)parse_id(s, 8, 07777);
	return *mode < 0 ? usage_error("--vhost-sock-mode: '%s' is not an octal mode", s) : 0;
}

/* --state-dir, or NULL for the default (set_state_dir). */
static const char *g_state_dir;

/* Applies one option; returns 0 or the exit code of a bad one. */
static int
parse_one(int c, char **argv, struct vt_app_opts *opts, bool *default_config)
{
	switch (c) {
	case 'm':
		opts->reactor_mask = optarg;
		return check_cpumask(optarg);
	case 's':
		return parse_mem_size(optarg, &opts->mem_size_mb);
	case 'r':
		opts->rpc_addr = optarg;
		return check_rpc_socket(optarg);
	case 'S':
		opts->vhost_sock_dir = optarg;
		return check_dir("vhost socket folder", optarg);
	case 'c':
		opts->json_config_file = optarg;
		return check_config_file(optarg);
	case 'L':
		return set_log_flag(optarg);
	case OPT_INTERRUPT:
		opts->interrupt_mode = true;
		opts->poll_mode = VT_POLL_MODE_INTERRUPT;
		return 0;
	case OPT_POLL_MODE:
		if (vt_poll_mode_parse(optarg, &opts->poll_mode) != 0) {
			return usage_error("invalid poll mode '%s': expected poll, interrupt or "
					   "adaptive",
					   optarg);
		}
		opts->interrupt_mode = opts->poll_mode == VT_POLL_MODE_INTERRUPT;
		return 0;
	case 'w':
	case OPT_WAIT_FOR_RPC:
		opts->wait_for_rpc = true;
		return 0;
	case OPT_VHOST_SOCK_OWNER:
		return parse_owner(optarg, &opts->vhost_sock_uid);
	case OPT_VHOST_SOCK_GROUP:
		return parse_group(optarg, &opts->vhost_sock_gid);
	case OPT_RPC_SOCK_GROUP:
		return parse_group(optarg, &opts->rpc_sock_gid);
	case OPT_VHOST_SOCK_MODE:
		return parse_mode(optarg, &opts->vhost_sock_mode);
	case OPT_DEFAULT_CONFIG:
		*default_config = true;
		return 0;
	case OPT_STOP_TIMEOUT:
		return parse_stop_timeout(optarg, &opts->stop_timeout_ms);
	case OPT_STATE_DIR:
		g_state_dir = optarg;
		return check_dir("state folder", optarg);
	default:
		return bad_option(argv, c);
	}
}

/* Returns ARGS_RUN to start the target, or the exit code. */
static int
parse_args(int argc, char **argv, struct vt_app_opts *opts, bool *default_config)
{
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":m:s:r:S:c:L:hvw", g_long_opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage();
			return 0;
		case 'v':
			printf("vtarget v%s\n", VT_VERSION_STRING);
			return 0;
		case OPT_PRINT_DEFAULT_CONFIG:
			fputs(vtarget_default_config, stdout);
			return 0;
		default:
			rc = parse_one(c, argv, opts, default_config);
			if (rc != 0) {
				return rc;
			}
		}
	}
	if (optind < argc) {
		return usage_error("unexpected argument '%s'", argv[optind]);
	}
	if (*default_config && opts->json_config_file != NULL) {
		return usage_error("--config and --default-config exclude each other");
	}
	if (*default_config) {
		opts->json_config_text = vtarget_default_config;
	}
	return ARGS_RUN;
}

static void
print_hint(void *arg)
{
	const char *sock = vt_rpc_server_path();

	printf("vtarget: running the default config: %s\n"
	       "  list them:  scripts/rpc.py -s %s bdev_get_bdevs; scripts/rpc.py -s %s "
	       "vhost_get_controllers\n"
	       "  stop:       Ctrl-C, or scripts/rpc.py -s %s spdk_kill_instance SIGTERM\n",
	       vtarget_default_config_summary, sock, sock, sock);
	fflush(stdout);
}

/* start_fn: runs just before the ready line; the hint goes after it. */
static void
default_config_started(void *arg)
{
	static struct vt_defer hint;

	vt_defer(&hint, print_hint, NULL);
}

/* Persistent state (APTPL reservations) goes to --state-dir, else next to the config, else to
 * the vhost socket folder. */
static int
set_state_dir(const struct vt_app_opts *opts)
{
	char buf[PATH_MAX];
	const char *dir = g_state_dir;

	if (dir == NULL && opts->json_config_file != NULL) {
		snprintf(buf, sizeof(buf), "%s", opts->json_config_file);
		dir = dirname(buf);
	}
	if (dir == NULL) {
		dir = opts->vhost_sock_dir != NULL ? opts->vhost_sock_dir
						   : VT_APP_DEFAULT_VHOST_SOCK_DIR;
	}
	if (vt_scsi_set_pr_dir(dir) != 0) {
		fprintf(stderr, "vtarget: cannot use state folder '%s': path too long\n", dir);
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct vt_app_opts opts;
	bool default_config = false;
	int rc;

	vt_app_opts_init(&opts);
	opts.name = "vtarget";
	rc = parse_args(argc, argv, &opts, &default_config);
	if (rc != ARGS_RUN) {
		return rc;
	}
	if (default_config) {
		opts.start_fn = default_config_started;
	}
	if (set_state_dir(&opts) != 0) {
		return 1;
	}
	rc = vt_app_start(&opts);
	return rc >= 0 && rc <= 255 ? rc : 1;
}
