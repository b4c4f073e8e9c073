/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VHOST_LOG_H
#define VHOST_LOG_H

/*
 * Dirty logging for live migration (vhost-user's LOG_ALL with LOG_SHMFD): a bitmap shared with
 * the front end, one bit per 4 KiB page of guest-physical memory, bit (gpa / 4096) % 8 of byte
 * gpa / 4096 / 8. The front end reads and clears it concurrently, so bits are only ever set,
 * with an atomic OR, after the store into guest memory they stand for. Pure C: no rte_vhost.
 *
 * A struct vhost_log is immutable once built and refcounted on the session's reactor, like
 * struct vhost_mem_map: the queues that log into it hold a reference, so a log the front end
 * replaced is unmapped only once no queue can write to it.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "lib/vhost/virtqueue.h"

#define VHOST_LOG_PAGE_SHIFT 12
#define VHOST_LOG_PAGE (1ull << VHOST_LOG_PAGE_SHIFT)

struct vhost_log {
	uint32_t refs;  /* the session's reactor (the vhost-events thread before handover) */
	uint8_t *bits;  /* the bitmap: the mapping + the message's offset */
	uint64_t size;  /* bytes of bitmap (mmap_size of SET_LOG_BASE) */
	void *map_base; /* our mmap, NULL when not mapped (tests) */
	size_t map_len;
};

/* Bytes of bitmap needed to cover guest-physical addresses [0, end). */
static inline uint64_t
vhost_log_bytes_for(uint64_t end)
{
	uint64_t pages = (end >> VHOST_LOG_PAGE_SHIFT) + ((end & (VHOST_LOG_PAGE - 1)) != 0);

	return (pages + 7) / 8;
}

/*
 * Maps the log of SET_LOG_BASE: size bytes of bitmap starting at offset in fd (a shared
 * mapping of offset + size bytes from the start of the file, which must be that long). Returns
 * NULL with a message in err for size 0, offset + size wrapping or beyond the file, or a file
 * that cannot be mapped. Does not take fd.
 */
struct vhost_log *vhost_log_map(int fd, uint64_t size, uint64_t offset, char *err, size_t errlen);
/* A log over memory the caller owns (unit tests): nothing is mapped or unmapped. */
struct vhost_log *vhost_log_wrap(uint8_t *bits, uint64_t size);
void vhost_log_ref(struct vhost_log *log);
void vhost_log_unref(struct vhost_log *log);

/*
 * Marks the pages of guest-physical [gpa, gpa + len) dirty. Pages beyond the bitmap are not
 * marked (the log was checked to cover the memory table: only an address outside guest memory
 * can fall there). len 0 marks nothing.
 */
void vhost_log_mark(const struct vhost_log *log, uint64_t gpa, uint64_t len);

/*
 * Marks the guest pages behind host range [host, host + len) of our mapping of guest memory
 * (the range may cross regions; bytes outside every region are ignored).
 */
void vhost_log_mark_host(const struct vhost_log *log, const struct vhost_vq_mem *mem,
			 const void *host, uint64_t len);

/* The first len bytes of iov[0 .. n), as host ranges of mem. */
void vhost_log_mark_iov(const struct vhost_log *log, const struct vhost_vq_mem *mem,
			const struct iovec *iov, int n, uint64_t len);

/* Guest-physical address of host address host in mem, or UINT64_MAX when outside. */
uint64_t vhost_log_host_to_gpa(const struct vhost_vq_mem *mem, const void *host);

#endif
