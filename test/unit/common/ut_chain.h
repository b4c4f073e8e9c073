/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_UT_CHAIN_H
#define VT_UT_CHAIN_H

/* Fabricated virtqueue chains for the personalities' parse tests (lib/vhost/virtqueue.h). */

#include <string.h>
#include <sys/uio.h>

#include "lib/vhost/virtqueue.h"

/*
 * Makes c a chain of the n buffers iov (copied into store, which holds store_max), the first nr
 * device-readable; read_len and write_len are their byte totals.
 */
static inline void
ut_chain_fill(struct vhost_vq_chain *c, struct iovec *store, uint32_t store_max,
	      const struct iovec *iov, uint32_t n, uint32_t nr)
{
	memset(c, 0, sizeof(*c));
	memcpy(store, iov, n * sizeof(*iov));
	c->iov = store;
	c->iov_max = store_max;
	c->niov = n;
	c->nreadable = nr;
	for (uint32_t i = 0; i < n; i++) {
		if (i < nr) {
			c->read_len += (uint32_t)iov[i].iov_len;
		} else {
			c->write_len += (uint32_t)iov[i].iov_len;
		}
	}
}

#endif
