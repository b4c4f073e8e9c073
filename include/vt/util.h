/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_UTIL_H
#define VT_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define VT_COUNTOF(a) (sizeof(a) / sizeof((a)[0]))
#define VT_MIN(a, b) ((a) < (b) ? (a) : (b))
#define VT_MAX(a, b) ((a) > (b) ? (a) : (b))
#define vt_likely(x) __builtin_expect(!!(x), 1)
#define vt_unlikely(x) __builtin_expect(!!(x), 0)
#define VT_CONTAINEROF(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#define VT_ALIGN_UP(v, a) (((v) + (a)-1) & ~((__typeof__(v))(a)-1))
#define VT_IS_POW2(v) ((v) != 0 && (((v) & ((v)-1)) == 0))

/* ---- cpu sets ---------------------------------------------------------------------------- */

#define VT_CPUSET_MAX 1024
/* Buffer size that holds any vt_cpuset_fmt() output: "0x", VT_CPUSET_MAX / 4 digits, NUL. */
#define VT_CPUSET_FMT_LEN (2 + VT_CPUSET_MAX / 4 + 1)

struct vt_cpuset {
	uint64_t bits[VT_CPUSET_MAX / 64];
};

/*
 * Parses SPDK's cpumask syntax: a hex mask with or without 0x ("0x3", "3"), or a bracketed list of
 * cores and ranges ("[0,2-3]"). Returns 0, or -EINVAL for bad syntax or an empty set.
 */
int vt_cpuset_parse(struct vt_cpuset *set, const char *str);
/* Writes the hex form ("0x3") into buf. Returns buf. */
const char *vt_cpuset_fmt(const struct vt_cpuset *set, char *buf, size_t len);
void vt_cpuset_zero(struct vt_cpuset *set);
void vt_cpuset_set(struct vt_cpuset *set, uint32_t cpu);
void vt_cpuset_clear(struct vt_cpuset *set, uint32_t cpu);
bool vt_cpuset_isset(const struct vt_cpuset *set, uint32_t cpu);
uint32_t vt_cpuset_count(const struct vt_cpuset *set);
bool vt_cpuset_equal(const struct vt_cpuset *a, const struct vt_cpuset *b);
/* a is a subset of b. */
bool vt_cpuset_subset(const struct vt_cpuset *a, const struct vt_cpuset *b);
void vt_cpuset_and(struct vt_cpuset *dst, const struct vt_cpuset *src);
/* Next set cpu >= from, or -1. */
int vt_cpuset_next(const struct vt_cpuset *set, uint32_t from);

/* ---- iovecs ------------------------------------------------------------------------------ */

size_t vt_iov_length(const struct iovec *iov, int iovcnt);
/* Copies up to len bytes between a flat buffer and an iovec array; returns bytes copied. */
size_t vt_iov_from_buf(const struct iovec *iov, int iovcnt, const void *buf, size_t len);
size_t vt_iov_to_buf(const struct iovec *iov, int iovcnt, void *buf, size_t len);
size_t vt_iov_memset(const struct iovec *iov, int iovcnt, int c, size_t len);
/* Copies between two iovec arrays; returns bytes copied (the shorter of the two). */
size_t vt_iov_copy(const struct iovec *dst, int dstcnt, const struct iovec *src, int srccnt);
/*
 * Compares two iovec arrays over len bytes. Returns 0 if equal; otherwise 1 and, if off is not
 * NULL, the byte offset of the first difference.
 */
int vt_iov_compare(const struct iovec *a, int acnt, const struct iovec *b, int bcnt, size_t len,
		   size_t *off);
/* True when every base and length is a multiple of align (a power of two). */
bool vt_iov_aligned(const struct iovec *iov, int iovcnt, size_t align);
/* True when all bytes are zero. */
bool vt_buf_is_zero(const void *buf, size_t len);

/* ---- UUIDs ------------------------------------------------------------------------------- */

struct vt_uuid {
	uint8_t u[16];
};

#define VT_UUID_STRING_LEN 37 /* 36 characters and the NUL */

/* Random (version 4) UUID. */
void vt_uuid_generate(struct vt_uuid *uuid);
/* Canonical lower-case 8-4-4-4-12 form. Returns 0 or -EINVAL (buffer too small). */
int vt_uuid_fmt(char *buf, size_t len, const struct vt_uuid *uuid);
/* Accepts the canonical form, any case. Returns 0 or -EINVAL. */
int vt_uuid_parse(struct vt_uuid *uuid, const char *str);
int vt_uuid_compare(const struct vt_uuid *a, const struct vt_uuid *b);
bool vt_uuid_is_null(const struct vt_uuid *uuid);

/* ---- strings and numbers ----------------------------------------------------------------- */

/* strdup that logs on failure. */
char *vt_strdup(const char *s);
/* Allocating printf. */
char *vt_sprintf_alloc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *vt_vsprintf_alloc(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* Parses a whole string as a base-0 unsigned / signed integer; -EINVAL or -ERANGE otherwise. */
int vt_strtou64(const char *s, uint64_t *out);
int vt_strtoi64(const char *s, int64_t *out);
/* Parses sizes with optional k/m/g suffix (binary). */
int vt_parse_capacity(const char *s, uint64_t *out);
/* Portable strerror that never fails (thread-safe, returns a static string for known errnos). */
const char *vt_strerror(int errnum);
/* Names made of [A-Za-z0-9._-] only, 1..max_len characters. */
bool vt_name_is_valid(const char *name, size_t max_len);

#endif
