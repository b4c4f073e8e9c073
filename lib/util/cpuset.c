/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * CPU sets and SPDK's cpumask syntax:
 *  - a hex mask, with or without "0x"/"0X": "3", "0x3", "0xF0000000000000000" (up to
 *    VT_CPUSET_MAX bits; leading zeros beyond that are allowed, set bits beyond it are not);
 *  - a bracketed list of cores and inclusive ranges: "[0,2-5,7]"; blanks around items are allowed.
 * Anything else, an empty set, a reversed range or a core >= VT_CPUSET_MAX is -EINVAL, and the set
 * passed in is then left unchanged.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vt/util.h"

#define CPUSET_WORDS VT_COUNTOF(((struct vt_cpuset *)0)->bits)

void
vt_cpuset_zero(struct vt_cpuset *set)
{
	memset(set, 0, sizeof(*set));
}

void
vt_cpuset_set(struct vt_cpuset *set, uint32_t cpu)
{
	if (cpu < VT_CPUSET_MAX) {
		set->bits[cpu / 64] |= UINT64_C(1) << (cpu % 64);
	}
}

void
vt_cpuset_clear(struct vt_cpuset *set, uint32_t cpu)
{
	if (cpu < VT_CPUSET_MAX) {
		set->bits[cpu / 64] &= ~(UINT64_C(1) << (cpu % 64));
	}
}

bool
vt_cpuset_isset(const struct vt_cpuset *set, uint32_t cpu)
{
	if (cpu >= VT_CPUSET_MAX) {
		return false;
	}
	return (set->bits[cpu / 64] >> (cpu % 64)) & 1;
}

uint32_t
vt_cpuset_count(const struct vt_cpuset *set)
{
	uint32_t n = 0;
	size_t i;

	for (i = 0; i < CPUSET_WORDS; i++) {
		n += (uint32_t)__builtin_popcountll(set->bits[i]);
	}
	return n;
}

bool
vt_cpuset_equal(const struct vt_cpuset *a, const struct vt_cpuset *b)
{
	return memcmp(a->bits, b->bits, sizeof(a->bits)) == 0;
}

bool
vt_cpuset_subset(const struct vt_cpuset *a, const struct vt_cpuset *b)
{
	size_t i;

	for (i = 0; i < CPUSET_WORDS; i++) {
		if ((a->bits[i] & ~b->bits[i]) != 0) {
			return false;
		}
	}
	return true;
}

void
vt_cpuset_and(struct vt_cpuset *dst, const struct vt_cpuset *src)
{
	size_t i;

	for (i = 0; i < CPUSET_WORDS; i++) {
		dst->bits[i] &= src->bits[i];
	}
}

int
vt_cpuset_next(const struct vt_cpuset *set, uint32_t from)
{
	uint32_t i;
	uint64_t w;

	if (from >= VT_CPUSET_MAX) {
		return -1;
	}
	i = from / 64;
	w = set->bits[i] & (~UINT64_C(0) << (from % 64));
	for (;;) {
		if (w != 0) {
			return (int)(i * 64 + (uint32_t)__builtin_ctzll(w));
		}
		if (++i == CPUSET_WORDS) {
			return -1;
		}
		w = set->bits[i];
	}
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

static int
parse_hex(struct vt_cpuset *set, const char *str)
{
	size_t len, i;
	uint32_t bit;
	int v;

	if (str[0] == '0' && (str[1] == 'x' || str[1] == 'X')) {
		str += 2;
	}
	len = strlen(str);
	if (len == 0) {
		return -EINVAL;
	}
	/* The last digit holds cpus 0-3, the one before 4-7, and so on. */
	for (i = 0; i < len; i++) {
		v = hex_value(str[len - 1 - i]);
		if (v < 0) {
			return -EINVAL;
		}
		if (v == 0) {
			continue;
		}
		if (i >= VT_CPUSET_MAX / 4) {
			return -EINVAL;
		}
		for (bit = 0; bit < 4; bit++) {
			if (v & (1 << bit)) {
				vt_cpuset_set(set, (uint32_t)(i * 4 + bit));
			}
		}
	}
	return 0;
}

static const char *
skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t') {
		p++;
	}
	return p;
}

/* Parses a decimal core number below VT_CPUSET_MAX; returns the character after it or NULL. */
static const char *
parse_core(const char *p, uint32_t *core)
{
	uint32_t v = 0;

	if (!isdigit((unsigned char)*p)) {
		return NULL;
	}
	while (isdigit((unsigned char)*p)) {
		v = v * 10 + (uint32_t)(*p - '0');
		if (v >= VT_CPUSET_MAX) {
			return NULL;
		}
		p++;
	}
	*core = v;
	return p;
}

static int
parse_list(struct vt_cpuset *set, const char *p)
{
	uint32_t first, last, c;

	/* p points after '['. */
	for (;;) {
		p = parse_core(skip_blanks(p), &first);
		if (p == NULL) {
			return -EINVAL;
		}
		p = skip_blanks(p);
		last = first;
		if (*p == '-') {
			p = parse_core(skip_blanks(p + 1), &last);
			if (p == NULL || last < first) {
				return -EINVAL;
			}
			p = skip_blanks(p);
		}
		for (c = first; c <= last; c++) {
			vt_cpuset_set(set, c);
		}
		if (*p == ']') {
			break;
		}
		if (*p != ',') {
			return -EINVAL;
		}
		p++;
	}
	return p[1] == '\0' ? 0 : -EINVAL;
}

int
vt_cpuset_parse(struct vt_cpuset *set, const char *str)
{
	struct vt_cpuset tmp;
	int rc;

	if (set == NULL || str == NULL) {
		return -EINVAL;
	}
	vt_cpuset_zero(&tmp);
	if (str[0] == '[') {
		rc = parse_list(&tmp, str + 1);
	} else {
		rc = parse_hex(&tmp, str);
	}
	if (rc != 0) {
		return rc;
	}
	if (vt_cpuset_count(&tmp) == 0) {
		return -EINVAL;
	}
	*set = tmp;
	return 0;
}

/*
 * "0x" and the shortest hex digits ("0x0" for an empty set). When len is too small for the whole
 * mask, buf gets an empty string rather than a truncated (and wrong) mask.
 */
const char *
vt_cpuset_fmt(const struct vt_cpuset *set, char *buf, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t pos = 0;
	int i, top;
	unsigned int v;

	if (buf == NULL || len == 0) {
		return buf;
	}
	/* Highest non-zero nibble. */
	for (top = VT_CPUSET_MAX / 4 - 1; top > 0; top--) {
		if ((set->bits[top / 16] >> ((top % 16) * 4)) & 0xf) {
			break;
		}
	}
	if (len < (size_t)top + 4) {
		buf[0] = '\0';
		return buf;
	}
	buf[pos++] = '0';
	buf[pos++] = 'x';
	for (i = top; i >= 0; i--) {
		v = (unsigned int)(set->bits[i / 16] >> ((i % 16) * 4)) & 0xf;
		buf[pos++] = digits[v];
	}
	buf[pos] = '\0';
	return buf;
}
