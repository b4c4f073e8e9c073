/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iovec helpers. Zero-length iovecs are allowed anywhere (their base is never touched), and a len
 * shorter than the arrays' total only limits the work done.
 */
#include <string.h>

#include "vt/util.h"

/* A position inside an iovec array. */
struct iov_cursor {
	const struct iovec *iov;
	int cnt;
	int idx;
	size_t off; /* offset inside iov[idx] */
};

static void
cursor_init(struct iov_cursor *c, const struct iovec *iov, int cnt)
{
	c->iov = iov;
	c->cnt = iov != NULL && cnt > 0 ? cnt : 0;
	c->idx = 0;
	c->off = 0;
}

/* Returns the contiguous bytes left at the cursor (skipping exhausted iovecs), 0 at the end. */
static size_t
cursor_span(struct iov_cursor *c, uint8_t **p)
{
	while (c->idx < c->cnt) {
		if (c->off < c->iov[c->idx].iov_len) {
			*p = (uint8_t *)c->iov[c->idx].iov_base + c->off;
			return c->iov[c->idx].iov_len - c->off;
		}
		c->idx++;
		c->off = 0;
	}
	*p = NULL;
	return 0;
}

static void
cursor_advance(struct iov_cursor *c, size_t n)
{
	c->off += n;
}

size_t
vt_iov_length(const struct iovec *iov, int iovcnt)
{
	size_t total = 0;
	int i;

	for (i = 0; iov != NULL && i < iovcnt; i++) {
		total += iov[i].iov_len;
	}
	return total;
}

/* Copies between buf and the iovecs: to_iov chooses the direction. */
static size_t
iov_buf_xfer(const struct iovec *iov, int iovcnt, uint8_t *buf, size_t len, bool to_iov)
{
	struct iov_cursor c;
	size_t done = 0, n;
	uint8_t *p;

	cursor_init(&c, iov, iovcnt);
	while (done < len) {
		n = VT_MIN(cursor_span(&c, &p), len - done);
		if (n == 0) {
			break;
		}
		if (to_iov) {
			memcpy(p, buf + done, n);
		} else {
			memcpy(buf + done, p, n);
		}
		cursor_advance(&c, n);
		done += n;
	}
	return done;
}

size_t
vt_iov_from_buf(const struct iovec *iov, int iovcnt, const void *buf, size_t len)
{
	return iov_buf_xfer(iov, iovcnt, (uint8_t *)buf, len, true);
}

size_t
vt_iov_to_buf(const struct iovec *iov, int iovcnt, void *buf, size_t len)
{
	return iov_buf_xfer(iov, iovcnt, buf, len, false);
}

size_t
vt_iov_memset(const struct iovec *iov, int iovcnt, int c, size_t len)
{
	struct iov_cursor cur;
	size_t done = 0, n;
	uint8_t *p;

	cursor_init(&cur, iov, iovcnt);
	while (done < len) {
		n = VT_MIN(cursor_span(&cur, &p), len - done);
		if (n == 0) {
			break;
		}
		memset(p, c, n);
		cursor_advance(&cur, n);
		done += n;
	}
	return done;
}

size_t
vt_iov_copy(const struct iovec *dst, int dstcnt, const struct iovec *src, int srccnt)
{
	struct iov_cursor d, s;
	size_t done = 0, n;
	uint8_t *dp, *sp;

	cursor_init(&d, dst, dstcnt);
	cursor_init(&s, src, srccnt);
	for (;;) {
		n = VT_MIN(cursor_span(&d, &dp), cursor_span(&s, &sp));
		if (n == 0) {
			break;
		}
		memmove(dp, sp, n);
		cursor_advance(&d, n);
		cursor_advance(&s, n);
		done += n;
	}
	return done;
}

/*
 * When either array holds fewer than len bytes, the arrays differ at the offset where the shorter
 * one ends (unless their contents differ earlier).
 */
int
vt_iov_compare(const struct iovec *a, int acnt, const struct iovec *b, int bcnt, size_t len,
	       size_t *off)
{
	struct iov_cursor ca, cb;
	size_t done = 0, n, i;
	uint8_t *pa, *pb;

	cursor_init(&ca, a, acnt);
	cursor_init(&cb, b, bcnt);
	while (done < len) {
		n = VT_MIN(VT_MIN(cursor_span(&ca, &pa), cursor_span(&cb, &pb)), len - done);
		if (n == 0) {
			goto differ;
		}
		if (memcmp(pa, pb, n) != 0) {
			for (i = 0; pa[i] == pb[i]; i++) {
			}
			done += i;
			goto differ;
		}
		cursor_advance(&ca, n);
		cursor_advance(&cb, n);
		done += n;
	}
	return 0;

differ:
	if (off != NULL) {
		*off = done;
	}
	return 1;
}

/* Zero-length iovecs are skipped: they transfer nothing, whatever their base. */
bool
vt_iov_aligned(const struct iovec *iov, int iovcnt, size_t align)
{
	size_t mask = align - 1;
	int i;

	if (!VT_IS_POW2(align)) {
		return false;
	}
	for (i = 0; iov != NULL && i < iovcnt; i++) {
		if (iov[i].iov_len == 0) {
			continue;
		}
		if (((uintptr_t)iov[i].iov_base & mask) != 0 || (iov[i].iov_len & mask) != 0) {
			return false;
		}
	}
	return true;
}

bool
vt_buf_is_zero(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t i;

	/* Check the first bytes, then compare the buffer with itself shifted by them. */
	for (i = 0; i < len && i < 16; i++) {
		if (p[i] != 0) {
			return false;
		}
	}
	return len <= 16 || memcmp(p, p + 16, len - 16) == 0;
}
