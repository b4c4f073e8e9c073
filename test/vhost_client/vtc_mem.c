/* SPDX-License-Identifier: BSD-3-Clause */
/* Guest memory: memfd-backed shared regions at guest-physical addresses we choose. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vtc_internal.h"

void
vtc_mem_init(struct vtc_mem *mem)
{
	memset(mem, 0, sizeof(*mem));
	for (uint32_t i = 0; i < VTC_MEM_MAX_REGIONS; i++) {
		mem->regions[i].fd = -1;
	}
}

static bool
ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int
vtc_mem_add_region(struct vtc_mem *mem, uint64_t gpa, uint64_t size)
{
	struct vtc_mem_region *r;
	char name[32];
	void *host;
	int fd, rc;

	if (size == 0 || size % VTC_MEM_ALIGN || gpa % VTC_MEM_ALIGN || gpa + size < gpa) {
		VT_ERRLOG("invalid guest memory region gpa 0x%" PRIx64 " size 0x%" PRIx64
			  ": must be non-empty and 2 MiB aligned",
			  gpa, size);
		return -EINVAL;
	}
	if (mem->nregions == VTC_MEM_MAX_REGIONS) {
		VT_ERRLOG("cannot add guest memory region at 0x%" PRIx64 ": already %u regions",
			  gpa, mem->nregions);
		return -ENOSPC;
	}
	for (uint32_t i = 0; i < mem->nregions; i++) {
		if (ranges_overlap(gpa, size, mem->regions[i].gpa, mem->regions[i].size)) {
			VT_ERRLOG("cannot add guest memory region at 0x%" PRIx64
				  ": overlaps region %u",
				  gpa, i);
			return -EINVAL;
		}
	}

	snprintf(name, sizeof(name), "vtc-guest-%u", mem->nregions);
	fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		VT_ERRLOG("cannot create memfd for guest memory: %s", strerror(-rc));
		return rc;
	}
	if (ftruncate(fd, (off_t)size) != 0) {
		rc = -errno;
		VT_ERRLOG("cannot size guest memory memfd to %" PRIu64 " bytes: %s", size,
			  strerror(-rc));
		goto err_close;
	}
	host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (host == MAP_FAILED) {
		rc = -errno;
		VT_ERRLOG("cannot map %" PRIu64 " bytes of guest memory: %s", size, strerror(-rc));
		goto err_close;
	}

	r = &mem->regions[mem->nregions++];
	r->gpa = gpa;
	r->size = size;
	r->host = host;
	r->fd = fd;
	r->alloc_off = 0;
	return 0;

err_close:
	close(fd);
	return rc;
}

void
vtc_mem_fini(struct vtc_mem *mem)
{
	for (uint32_t i = 0; i < mem->nregions; i++) {
		struct vtc_mem_region *r = &mem->regions[i];

		munmap(r->host, r->size);
		close(r->fd);
	}
	vtc_mem_init(mem);
}

void *
vtc_mem_alloc(struct vtc_mem *mem, uint64_t size, uint64_t align, uint64_t *gpa)
{
	if (align == 0) {
		align = 64;
	}
	if (size == 0 || (align & (align - 1)) != 0) {
		VT_ERRLOG("invalid guest memory allocation of %" PRIu64 " bytes aligned %" PRIu64,
			  size, align);
		return NULL;
	}
	for (uint32_t i = 0; i < mem->nregions; i++) {
		struct vtc_mem_region *r = &mem->regions[i];
		uint64_t off = (r->alloc_off + align - 1) & ~(align - 1);

		if (off < r->alloc_off || off > r->size || r->size - off < size) {
			continue;
		}
		r->alloc_off = off + size;
		memset(r->host + off, 0, size);
		if (gpa != NULL) {
			*gpa = r->gpa + off;
		}
		return r->host + off;
	}
	VT_ERRLOG("guest memory exhausted: cannot allocate %" PRIu64 " bytes", size);
	return NULL;
}

void
vtc_mem_mark(const struct vtc_mem *mem, struct vtc_mem_mark *mark)
{
	memset(mark, 0, sizeof(*mark));
	for (uint32_t i = 0; i < mem->nregions; i++) {
		mark->alloc_off[i] = mem->regions[i].alloc_off;
	}
}

void
vtc_mem_release(struct vtc_mem *mem, const struct vtc_mem_mark *mark)
{
	for (uint32_t i = 0; i < mem->nregions; i++) {
		if (mark->alloc_off[i] < mem->regions[i].alloc_off) {
			mem->regions[i].alloc_off = mark->alloc_off[i];
		}
	}
}

void *
vtc_mem_gpa_to_host(const struct vtc_mem *mem, uint64_t gpa, uint64_t len)
{
	if (len == 0) {
		len = 1;
	}
	for (uint32_t i = 0; i < mem->nregions; i++) {
		const struct vtc_mem_region *r = &mem->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size && r->size - (gpa - r->gpa) >= len) {
			return r->host + (gpa - r->gpa);
		}
	}
	return NULL;
}

int
vtc_mem_host_to_gpa(const struct vtc_mem *mem, const void *host, uint64_t len, uint64_t *gpa)
{
	uintptr_t p = (uintptr_t)host;

	if (len == 0) {
		len = 1;
	}
	for (uint32_t i = 0; i < mem->nregions; i++) {
		const struct vtc_mem_region *r = &mem->regions[i];
		uintptr_t base = (uintptr_t)r->host;

		if (p >= base && p - base < r->size && r->size - (p - base) >= len) {
			*gpa = r->gpa + (p - base);
			return 0;
		}
	}
	return -EFAULT;
}
