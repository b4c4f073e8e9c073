/* SPDX-License-Identifier: BSD-3-Clause */
/* Strings and numbers: allocation helpers, strict integer and size parsing, strerror. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vt/log.h"
#include "vt/util.h"

char *
vt_strdup(const char *s)
{
	char *copy;

	if (s == NULL) {
		VT_ERRLOG("cannot duplicate string: null pointer");
		return NULL;
	}
	copy = strdup(s);
	if (copy == NULL) {
		VT_ERRLOG("cannot duplicate string of %zu bytes: %s", strlen(s),
			  vt_strerror(ENOMEM));
	}
	return copy;
}

char *
vt_vsprintf_alloc(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0) {
		VT_ERRLOG("cannot format string: %s", vt_strerror(ENOMEM));
		return NULL;
	}
	return s;
}

char *
vt_sprintf_alloc(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = vt_vsprintf_alloc(fmt, ap);
	va_end(ap);
	return s;
}

/* After a strto* call that set errno and end: -ERANGE, -EINVAL (an error or text left), or 0. */
static int
strto_whole_result(const char *end)
{
	if (errno == ERANGE) {
		return -ERANGE;
	}
	if (errno != 0 || *end != '\0') {
		return -EINVAL;
	}
	return 0;
}

/*
 * The whole string must be the number: no leading blanks (strtoull would skip them), no trailing
 * characters, not empty. Base 0: "0x" hex, leading "0" octal, else decimal.
 */
int
vt_strtou64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int rc;

	/* strtoull accepts "-1" and wraps it: refuse any sign. */
	if (s == NULL || !isdigit((unsigned char)s[0])) {
		return -EINVAL;
	}
	errno = 0;
	v = strtoull(s, &end, 0);
	rc = strto_whole_result(end);
	if (rc == 0) {
		*out = v;
	}
	return rc;
}

/* As vt_strtou64, with an optional leading '-' or '+'. */
int
vt_strtoi64(const char *s, int64_t *out)
{
	long long v;
	char *end;
	size_t sign;
	int rc;

	if (s == NULL) {
		return -EINVAL;
	}
	sign = s[0] == '-' || s[0] == '+';
	if (!isdigit((unsigned char)s[sign])) {
		return -EINVAL;
	}
	errno = 0;
	v = strtoll(s, &end, 0);
	rc = strto_whole_result(end);
	if (rc == 0) {
		*out = v;
	}
	return rc;
}

/*
 * A decimal number of bytes with an optional binary unit: k/K (KiB), m/M (MiB), g/G (GiB),
 * t/T (TiB), each optionally followed by "B" or "iB" (any case): "64", "64k", "1M", "2G", "4KiB",
 * "4kb" and "512B" are all accepted, and "1k" is 1024. Only decimal digits: in hex, "B" would be
 * ambiguous. No blanks, no sign, no fraction. -EINVAL for bad syntax, -ERANGE if it exceeds 2^64-1.
 */
int
vt_parse_capacity(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	const char *unit;
	char *end;

	if (s == NULL || !isdigit((unsigned char)s[0])) {
		return -EINVAL;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE) {
		return -ERANGE;
	}
	if (errno != 0) {
		return -EINVAL;
	}
	unit = end;
	switch (tolower((unsigned char)*unit)) {
	case 'k':
		shift = 10;
		break;
	case 'm':
		shift = 20;
		break;
	case 'g':
		shift = 30;
		break;
	case 't':
		shift = 40;
		break;
	default:
		break;
	}
	if (shift != 0) {
		unit++;
		if (tolower((unsigned char)unit[0]) == 'i' &&
		    tolower((unsigned char)unit[1]) == 'b') {
			unit += 2;
		} else if (tolower((unsigned char)*unit) == 'b') {
			unit++;
		}
	} else if (tolower((unsigned char)*unit) == 'b') {
		unit++;
	}
	if (*unit != '\0') {
		return -EINVAL;
	}
	if (shift != 0 && v > (UINT64_MAX >> shift)) {
		return -ERANGE;
	}
	*out = (uint64_t)v << shift;
	return 0;
}

/*
 * glibc's strerrordesc_np returns a constant string and needs no buffer; unknown numbers are
 * formatted into a per-thread buffer. A negative errnum (a return code) is taken as its absolute
 * value, so vt_strerror(rc) and vt_strerror(-rc) say the same.
 */
const char *
vt_strerror(int errnum)
{
	static __thread char buf[32];
	const char *s;

	if (errnum < 0 && errnum > INT_MIN) {
		errnum = -errnum;
	}
	s = strerrordesc_np(errnum);
	if (s != NULL) {
		return s;
	}
	snprintf(buf, sizeof(buf), "Unknown error %d", errnum);
	return buf;
}

/* Spelled out rather than isalnum(), whose answer depends on the locale. */
static bool
name_char_is_valid(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

bool
vt_name_is_valid(const char *name, size_t max_len)
{
	size_t i;

	if (name == NULL || name[0] == '\0') {
		return false;
	}
	for (i = 0; name[i] != '\0'; i++) {
		if (i >= max_len) {
			return false;
		}
		if (!name_char_is_valid(name[i])) {
			return false;
		}
	}
	return true;
}
