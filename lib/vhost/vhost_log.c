/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The dirty log of live migration (vhost_log.h): mapping the front end's bitmap and marking
 * guest pages in it. Callers only reach it while logging is on (a queue's log pointer is NULL
 * otherwise), so nothing here runs on the data path of a session that is not migrating.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "vt/log.h"
#include "vt/util.h"

#include "lib/vhost/vhost_log.h"

struct vhost_log *
vhost_log_map(int fd, uint64_t size, uint64_t offset, char *err, size_t errlen)
{
	struct vhost_log *log;
	struct stat st;
	void *base;

	if (size == 0) {
		snprintf(err, errlen, "log of 0 bytes");
		return NULL;
	}
	if (offset + size < offset || offset + size > SIZE_MAX) {
		snprintf(err, errlen, "log offset 0x%" PRIx64 " + size 0x%" PRIx64 " wraps", offset,
			 size);
		return NULL;
	}
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "log fd %d is not a file", fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "log fd is not a regular file (memfd or tmpfs file)");
		return NULL;
	}
	if ((uint64_t)st.st_size < offset + size) {
		/* A mapping beyond the file's end would fault (SIGBUS) on the first mark. */
		snprintf(err, errlen,
			 "log file of %" PRIu64 " bytes is shorter than offset %" PRIu64
			 " + size %" PRIu64,
			 (uint64_t)st.st_size, offset, size);
		return NULL;
	}
	log = calloc(1, sizeof(*log));
	if (log == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* From offset 0: an offset that is not page-aligned cannot be mapped directly. */
	base = mmap(NULL, (size_t)(offset + size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		snprintf(err, errlen, "cannot map the log: %s", vt_strerror(errno));
		free(log);
		return NULL;
	}
	log->refs = 1;
	log->map_base = base;
	log->map_len = (size_t)(offset + size);
	log->bits = (uint8_t *)base + offset;
	log->size = size;
	return log;
}

struct vhost_log *
vhost_log_wrap(uint8_t *bits, uint64_t size)
{
	struct vhost_log *log = calloc(1, sizeof(*log));

	if (log != NULL) {
		log->refs = 1;
		log->bits = bits;
		log->size = size;
	}
	return log;
}

void
vhost_log_ref(struct vhost_log *log)
{
	if (log != NULL) {
		log->refs++;
	}
}

void
vhost_log_unref(struct vhost_log *log)
{
	if (log == NULL || --log->refs > 0) {
		return;
	}
	if (log->map_base != NULL) {
		munmap(log->map_base, log->map_len);
	}
	free(log);
}

static inline void
set_bits(uint8_t *byte, uint8_t mask)
{
	/*
	 * Always the locked OR, never a plain read first: a bit seen set could be one the front
	 * end is about to clear before it copies the page, and our data store might not be
	 * visible to it yet. The locked instruction orders the store before the bit.
	 */
	__atomic_fetch_or(byte, mask, __ATOMIC_SEQ_CST);
}

void
vhost_log_mark(const struct vhost_log *log, uint64_t gpa, uint64_t len)
{
	uint64_t first, last, max_page;

	if (len == 0 || log == NULL || log->size == 0) {
		return;
	}
	max_page = log->size * 8 - 1;
	first = gpa >> VHOST_LOG_PAGE_SHIFT;
	last = (gpa + len - 1 < gpa ? UINT64_MAX : gpa + len - 1) >> VHOST_LOG_PAGE_SHIFT;
	if (first > max_page) {
		return;
	}
	last = VT_MIN(last, max_page);
	while (first <= last) {
		uint64_t in_byte = VT_MIN(last - first + 1, 8 - (first & 7));
		uint8_t mask = (uint8_t)(((1u << in_byte) - 1) << (first & 7));

		set_bits(&log->bits[first >> 3], mask);
		first += in_byte;
	}
}

uint64_t
vhost_log_host_to_gpa(const struct vhost_vq_mem *mem, const void *host)
{
	uintptr_t h = (uintptr_t)host;

	for (uint32_t i = 0; i < VHOST_VQ_MEM_MAX_REGIONS; i++) {
		const struct vhost_vq_mem_region *r = &mem->regions[i];
		uintptr_t start = (uintptr_t)r->host;

		if (r->size != 0 && h >= start && h - start < r->size) {
			return r->gpa + (h - start);
		}
	}
	return UINT64_MAX;
}

void
vhost_log_mark_host(const struct vhost_log *log, const struct vhost_vq_mem *mem, const void *host,
		    uint64_t len)
{
	uintptr_t h = (uintptr_t)host;

	/* An iovec may span regions adjacent in host memory: mark it region by region. */
	while (len > 0) {
		bool found = false;

		for (uint32_t i = 0; i < VHOST_VQ_MEM_MAX_REGIONS; i++) {
			const struct vhost_vq_mem_region *r = &mem->regions[i];
			uintptr_t start = (uintptr_t)r->host;
			uint64_t off, n;

			if (r->size == 0 || h < start || h - start >= r->size) {
				continue;
			}
			off = h - start;
			n = VT_MIN(len, r->size - off);
			vhost_log_mark(log, r->gpa + off, n);
			h += n;
			len -= n;
			found = true;
			break;
		}
		if (!found) {
			return; /* not guest memory: nothing of ours to log */
		}
	}
}

void
vhost_log_mark_iov(const struct vhost_log *log, const struct vhost_vq_mem *mem,
		   const struct iovec *iov, int n, uint64_t len)
{
	for (int i = 0; i < n && len > 0; i++) {
		uint64_t l = VT_MIN((uint64_t)iov[i].iov_len, len);

		vhost_log_mark_host(log, mem, iov[i].iov_base, l);
		len -= l;
	}
}
