/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Logging to stderr (and optionally syslog) with run-time switchable debug components.
 *
 * Two levels decide what is printed:
 *  - the print level (log_set_print_level) filters what goes to stderr;
 *  - the level (log_set_level) filters what is mirrored to syslog once vt_log_open_syslog() was
 *    called.
 * Both default to NOTICE.
 *
 * Debug messages (VT_DEBUGLOG) are special: the macro already tests the component's flag, so a
 * VT_LOG_DEBUG message reaching vt_vlog() is printed to stderr whenever that flag is enabled, and
 * neither level is consulted for it. Turning on a flag with log_set_flag is therefore enough to see
 * a component's debug output; there is no need to raise the print level as well. Debug messages go
 * to syslog only when the level is DEBUG.
 *
 * stderr lines start with a "[date time.usec] " timestamp unless log_enable_timestamps turned it
 * off (syslog has its own).
 *
 * Each message is formatted into a stack buffer and written with a single fprintf, so lines from
 * different threads never interleave. A message gets exactly one trailing newline, whether or not
 * the caller's format ends with one. Longer messages than the buffer are cut and end in "...".
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include "vt/log.h"
#include "vt/util.h"

#define LOG_LINE_MAX 2048
#define SYSLOG_IDENT_MAX 64

static enum vt_log_level g_log_level = VT_LOG_NOTICE;
static enum vt_log_level g_log_print_level = VT_LOG_NOTICE;
static bool g_log_timestamps = true;

/* Registry of debug flags, sorted by name; written by constructors and tests, under the lock. */
static struct vt_log_flag *g_log_flags;
static pthread_mutex_t g_log_flags_lock = PTHREAD_MUTEX_INITIALIZER;

/* openlog() keeps the ident pointer, so it must outlive the call. */
static char g_syslog_ident[SYSLOG_IDENT_MAX];
static bool g_syslog_open;
static pthread_mutex_t g_syslog_lock = PTHREAD_MUTEX_INITIALIZER;

static const struct {
	const char *name;
	enum vt_log_level level;
} g_level_names[] = {
	{ "DISABLED", VT_LOG_DISABLED }, { "ERROR", VT_LOG_ERROR },   { "WARNING", VT_LOG_WARN },
	{ "WARN", VT_LOG_WARN },         { "NOTICE", VT_LOG_NOTICE }, { "INFO", VT_LOG_INFO },
	{ "DEBUG", VT_LOG_DEBUG },
};

static bool
level_is_valid(enum vt_log_level level)
{
	return level >= VT_LOG_DISABLED && level <= VT_LOG_DEBUG;
}

void
vt_log_set_level(enum vt_log_level level)
{
	if (level_is_valid(level)) {
		__atomic_store_n(&g_log_level, level, __ATOMIC_RELAXED);
	}
}

enum vt_log_level
vt_log_get_level(void)
{
	return __atomic_load_n(&g_log_level, __ATOMIC_RELAXED);
}

void
vt_log_set_print_level(enum vt_log_level level)
{
	if (level_is_valid(level)) {
		__atomic_store_n(&g_log_print_level, level, __ATOMIC_RELAXED);
	}
}

enum vt_log_level
vt_log_get_print_level(void)
{
	return __atomic_load_n(&g_log_print_level, __ATOMIC_RELAXED);
}

void
vt_log_enable_timestamps(bool enabled)
{
	__atomic_store_n(&g_log_timestamps, enabled, __ATOMIC_RELAXED);
}

bool
vt_log_timestamps_enabled(void)
{
	return __atomic_load_n(&g_log_timestamps, __ATOMIC_RELAXED);
}

int
vt_log_level_from_string(const char *s, enum vt_log_level *level)
{
	size_t i;

	if (s == NULL) {
		return -EINVAL;
	}
	for (i = 0; i < VT_COUNTOF(g_level_names); i++) {
		if (strcasecmp(s, g_level_names[i].name) == 0) {
			*level = g_level_names[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

const char *
vt_log_level_to_string(enum vt_log_level level)
{
	size_t i;

	for (i = 0; i < VT_COUNTOF(g_level_names); i++) {
		if (g_level_names[i].level == level) {
			return g_level_names[i].name;
		}
	}
	return "UNKNOWN";
}

/*
 * Inserts flag in name order. A second flag with the name of one already registered is refused
 * (its VT_DEBUGLOG could never be switched on by name); registering the same flag twice is a no-op.
 */
void
vt_log_register_flag(struct vt_log_flag *flag)
{
	struct vt_log_flag **pos;
	int cmp;

	if (flag == NULL || flag->name == NULL || flag->name[0] == '\0') {
		fprintf(stderr, "vt_log: cannot register log flag without a name\n");
		return;
	}
	pthread_mutex_lock(&g_log_flags_lock);
	for (pos = &g_log_flags; *pos != NULL; pos = &(*pos)->next) {
		if (*pos == flag) {
			goto out;
		}
		cmp = strcasecmp((*pos)->name, flag->name);
		if (cmp == 0) {
			fprintf(stderr,
				"vt_log: cannot register log flag '%s': name already registered\n",
				flag->name);
			goto out;
		}
		if (cmp > 0) {
			break;
		}
	}
	flag->next = *pos;
	*pos = flag;
out:
	pthread_mutex_unlock(&g_log_flags_lock);
}

static int
log_flag_change(const char *name, bool enable)
{
	struct vt_log_flag *f;
	bool all;
	int rc = -ENOENT;

	if (name == NULL) {
		return -ENOENT;
	}
	all = strcasecmp(name, "all") == 0;
	pthread_mutex_lock(&g_log_flags_lock);
	for (f = g_log_flags; f != NULL; f = f->next) {
		if (all || strcasecmp(f->name, name) == 0) {
			__atomic_store_n(&f->enabled, enable, __ATOMIC_RELAXED);
			rc = 0;
		}
	}
	pthread_mutex_unlock(&g_log_flags_lock);
	/* "all" succeeds even when no flag is registered. */
	return all ? 0 : rc;
}

int
vt_log_set_flag(const char *name)
{
	return log_flag_change(name, true);
}

int
vt_log_clear_flag(const char *name)
{
	return log_flag_change(name, false);
}

/* Flags are never removed, so a pointer handed out stays valid. */
struct vt_log_flag *
vt_log_flag_first(void)
{
	struct vt_log_flag *f;

	pthread_mutex_lock(&g_log_flags_lock);
	f = g_log_flags;
	pthread_mutex_unlock(&g_log_flags_lock);
	return f;
}

struct vt_log_flag *
vt_log_flag_next(struct vt_log_flag *f)
{
	struct vt_log_flag *next;

	if (f == NULL) {
		return NULL;
	}
	pthread_mutex_lock(&g_log_flags_lock);
	next = f->next;
	pthread_mutex_unlock(&g_log_flags_lock);
	return next;
}

void
vt_log_open_syslog(const char *ident)
{
	pthread_mutex_lock(&g_syslog_lock);
	if (g_syslog_open) {
		closelog();
		g_syslog_open = false;
	}
	if (ident != NULL) {
		snprintf(g_syslog_ident, sizeof(g_syslog_ident), "%s", ident);
		openlog(g_syslog_ident, LOG_PID, LOG_DAEMON);
		g_syslog_open = true;
	}
	pthread_mutex_unlock(&g_syslog_lock);
}

static int
level_to_syslog(enum vt_log_level level)
{
	switch (level) {
	case VT_LOG_ERROR:
		return LOG_ERR;
	case VT_LOG_WARN:
		return LOG_WARNING;
	case VT_LOG_NOTICE:
		return LOG_NOTICE;
	case VT_LOG_INFO:
		return LOG_INFO;
	default:
		return LOG_DEBUG;
	}
}

static const char *
file_basename(const char *file)
{
	const char *slash;

	if (file == NULL) {
		return "?";
	}
	slash = strrchr(file, '/');
	return slash != NULL ? slash + 1 : file;
}

/* Appends to buf at *pos like snprintf; *pos stops at the buffer's last byte on truncation. */
static void __attribute__((format(printf, 4, 0)))
buf_appendv(char *buf, size_t size, size_t *pos, const char *fmt, va_list ap)
{
	int n;

	if (*pos >= size - 1) {
		return;
	}
	n = vsnprintf(buf + *pos, size - *pos, fmt, ap);
	if (n < 0) {
		return;
	}
	*pos = VT_MIN(*pos + (size_t)n, size - 1);
}

static void __attribute__((format(printf, 4, 5)))
buf_append(char *buf, size_t size, size_t *pos, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_appendv(buf, size, pos, fmt, ap);
	va_end(ap);
}

/* Writes "[date time.usec] " into buf. */
static void
format_timestamp(char *buf, size_t size, size_t *pos)
{
	struct timespec ts;
	struct tm tm;
	char date[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	if (strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm) == 0) {
		date[0] = '\0';
	}
	buf_append(buf, size, pos, "[%s.%06ld] ", date, ts.tv_nsec / 1000);
}

static bool
should_print(enum vt_log_level level)
{
	/* Debug messages were already gated on their component's flag by VT_DEBUGLOG. */
	if (level == VT_LOG_DEBUG) {
		return true;
	}
	return level <= vt_log_get_print_level();
}

static bool
should_syslog(enum vt_log_level level)
{
	return __atomic_load_n(&g_syslog_open, __ATOMIC_RELAXED) && level <= vt_log_get_level();
}

void __attribute__((format(printf, 5, 0)))
vt_vlog(enum vt_log_level level, const char *file, int line, const char *func, const char *fmt,
	va_list ap)
{
	char buf[LOG_LINE_MAX];
	size_t pos = 0, msg_start;
	bool to_stderr, to_syslog;
	int saved_errno = errno;

	if (level == VT_LOG_DISABLED || !level_is_valid(level)) {
		return;
	}
	to_stderr = should_print(level);
	to_syslog = should_syslog(level);
	if (!to_stderr && !to_syslog) {
		return;
	}

	buf[0] = '\0';
	if (vt_log_timestamps_enabled()) {
		format_timestamp(buf, sizeof(buf), &pos);
	}
	msg_start = pos;
	buf_append(buf, sizeof(buf), &pos, "%s:%4d:%s: *%s*: ", file_basename(file), line,
		   func != NULL ? func : "?", vt_log_level_to_string(level));
	buf_appendv(buf, sizeof(buf), &pos, fmt, ap);

	/* Exactly one newline: drop the caller's, then add ours (replacing "..." on truncation). */
	while (pos > msg_start && buf[pos - 1] == '\n') {
		pos--;
	}
	if (pos >= sizeof(buf) - 1) {
		memcpy(buf + sizeof(buf) - 5, "...", 3);
		pos = sizeof(buf) - 2;
	}
	buf[pos] = '\n';
	buf[pos + 1] = '\0';

	if (to_stderr) {
		fprintf(stderr, "%s", buf);
	}
	if (to_syslog) {
		buf[pos] = '\0';
		syslog(level_to_syslog(level), "%s", buf + msg_start);
	}
	errno = saved_errno;
}

void
vt_log(enum vt_log_level level, const char *file, int line, const char *func, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vt_vlog(level, file, line, func, fmt, ap);
	va_end(ap);
}
