/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_LOG_H
#define VT_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Logging. Messages at or above the print level go to stderr with a timestamp; debug messages of a
 * component are printed only while the component's flag is set (RPC log_set_flag).
 * A debug message of an enabled component is printed whatever the print level (the flag alone
 * decides). Messages at or above the level also go to syslog once vt_log_open_syslog() was called.
 * Each message is written with one fprintf and gets exactly one trailing newline.
 */
enum vt_log_level {
	VT_LOG_DISABLED = -1,
	VT_LOG_ERROR = 0,
	VT_LOG_WARN,
	VT_LOG_NOTICE,
	VT_LOG_INFO,
	VT_LOG_DEBUG,
};

/* A debug component; registered at start-up by VT_LOG_REGISTER_COMPONENT. */
struct vt_log_flag {
	const char *name;
	bool enabled;
	struct vt_log_flag *next; /* registry link, owned by lib/util/log.c */
};

void vt_log_register_flag(struct vt_log_flag *flag);

#define VT_LOG_REGISTER_COMPONENT(FLAG)                                            \
	struct vt_log_flag VT_LOG_FLAG_##FLAG = { .name = #FLAG };                 \
	__attribute__((constructor)) static void vt_log_flag_register_##FLAG(void) \
	{                                                                          \
		vt_log_register_flag(&VT_LOG_FLAG_##FLAG);                         \
	}

#define VT_LOG_DECLARE_COMPONENT(FLAG) extern struct vt_log_flag VT_LOG_FLAG_##FLAG

void vt_log(enum vt_log_level level, const char *file, int line, const char *func, const char *fmt,
	    ...) __attribute__((format(printf, 5, 6)));
void vt_vlog(enum vt_log_level level, const char *file, int line, const char *func, const char *fmt,
	     va_list ap);

#define VT_ERRLOG(...) vt_log(VT_LOG_ERROR, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define VT_WARNLOG(...) vt_log(VT_LOG_WARN, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define VT_NOTICELOG(...) vt_log(VT_LOG_NOTICE, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define VT_INFOLOG(...) vt_log(VT_LOG_INFO, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define VT_DEBUGLOG(FLAG, ...)                                                           \
	do {                                                                             \
		extern struct vt_log_flag VT_LOG_FLAG_##FLAG;                            \
		if (__builtin_expect(VT_LOG_FLAG_##FLAG.enabled, 0)) {                   \
			vt_log(VT_LOG_DEBUG, __FILE__, __LINE__, __func__, __VA_ARGS__); \
		}                                                                        \
	} while (0)

/* Level stored with messages (log_set_level) and level printed to stderr (log_set_print_level). */
void vt_log_set_level(enum vt_log_level level);
enum vt_log_level vt_log_get_level(void);
void vt_log_set_print_level(enum vt_log_level level);
enum vt_log_level vt_log_get_print_level(void);
/* "ERROR", "WARNING"/"WARN", "NOTICE", "INFO", "DEBUG", "DISABLED" (case-insensitive); -EINVAL otherwise. */
int vt_log_level_from_string(const char *s, enum vt_log_level *level);
const char *vt_log_level_to_string(enum vt_log_level level);

/* Flags by name; "all" sets or clears every flag. -ENOENT for an unknown name. */
int vt_log_set_flag(const char *name);
int vt_log_clear_flag(const char *name);
/* Iterate: vt_log_flag_first(), then vt_log_flag_next(f) until NULL. */
struct vt_log_flag *vt_log_flag_first(void);
struct vt_log_flag *vt_log_flag_next(struct vt_log_flag *f);

/* Whether stderr lines start with "[date time.usec] " (log_enable_timestamps; default on). */
void vt_log_enable_timestamps(bool enabled);
bool vt_log_timestamps_enabled(void);

/* Also send messages to syslog (ident given) in addition to stderr; NULL turns it off. */
void vt_log_open_syslog(const char *ident);

#endif
