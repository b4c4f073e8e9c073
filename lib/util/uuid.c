/* SPDX-License-Identifier: BSD-3-Clause */
/* UUIDs (RFC 4122): random version 4 generation, canonical text form. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "vt/log.h"
#include "vt/util.h"

/* Offsets of the dashes in the canonical 8-4-4-4-12 form. */
static bool
is_dash_pos(size_t i)
{
	return i == 8 || i == 13 || i == 18 || i == 23;
}

static int
read_urandom(void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;
	int fd;

	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	while (done < len) {
		n = read(fd, (uint8_t *)buf + done, len - done);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			close(fd);
			return n < 0 ? -errno : -EIO;
		}
		done += (size_t)n;
	}
	close(fd);
	return 0;
}

static int
get_random(void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = getrandom((uint8_t *)buf + done, len - done, 0);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			/* Kernels without getrandom(2), or seccomp filters refusing it. */
			return read_urandom(buf, len);
		}
		done += (size_t)n;
	}
	return 0;
}

void
vt_uuid_generate(struct vt_uuid *uuid)
{
	int rc;

	rc = get_random(uuid->u, sizeof(uuid->u));
	if (rc != 0) {
		/* A predictable UUID could collide with another target's: refuse to go on. */
		VT_ERRLOG("cannot generate uuid: no random source: %s", vt_strerror(-rc));
		abort();
	}
	uuid->u[6] = (uuid->u[6] & 0x0f) | 0x40; /* version 4 */
	uuid->u[8] = (uuid->u[8] & 0x3f) | 0x80; /* variant 1 (RFC 4122) */
}

int
vt_uuid_fmt(char *buf, size_t len, const struct vt_uuid *uuid)
{
	static const char digits[] = "0123456789abcdef";
	size_t i, pos = 0;

	if (buf == NULL || len < VT_UUID_STRING_LEN) {
		return -EINVAL;
	}
	for (i = 0; i < sizeof(uuid->u); i++) {
		if (is_dash_pos(pos)) {
			buf[pos++] = '-';
		}
		buf[pos++] = digits[uuid->u[i] >> 4];
		buf[pos++] = digits[uuid->u[i] & 0xf];
	}
	buf[pos] = '\0';
	return 0;
}

static int
hex_nibble(char c)
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

int
vt_uuid_parse(struct vt_uuid *uuid, const char *str)
{
	struct vt_uuid tmp;
	size_t i, pos = 0;
	int hi, lo;

	if (uuid == NULL || str == NULL || strlen(str) != VT_UUID_STRING_LEN - 1) {
		return -EINVAL;
	}
	for (i = 0; i < sizeof(tmp.u); i++) {
		if (is_dash_pos(pos)) {
			if (str[pos] != '-') {
				return -EINVAL;
			}
			pos++;
		}
		hi = hex_nibble(str[pos]);
		lo = hex_nibble(str[pos + 1]);
		if (hi < 0 || lo < 0) {
			return -EINVAL;
		}
		tmp.u[i] = (uint8_t)(hi << 4 | lo);
		pos += 2;
	}
	*uuid = tmp;
	return 0;
}

int
vt_uuid_compare(const struct vt_uuid *a, const struct vt_uuid *b)
{
	return memcmp(a->u, b->u, sizeof(a->u));
}

bool
vt_uuid_is_null(const struct vt_uuid *uuid)
{
	return vt_buf_is_zero(uuid->u, sizeof(uuid->u));
}
