/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest memory as lib/vhost sees it: the SET_MEM_TABLE checks done before rte_vhost maps
 * anything, and lib/vhost's own mapping of the regions. The data path only ever uses its own
 * mapping, so a region rte_vhost unmaps (a new memory table, a disconnect) stays valid for
 * requests still in flight until the last of them completes.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "vt/log.h"
#include "vt/util.h"

#include "lib/vhost/vhost_internal.h"

/* a + b would wrap the 64-bit space. */
static bool
add_wraps(uint64_t a, uint64_t b)
{
	return a + b < a;
}

/* [a, a + alen) and [b, b + blen) overlap (neither wraps). */
static bool
ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static int
check_region(const struct vhost_user_mem *t, uint32_t i, int fd, char *err, size_t errlen)
{
	const struct vhost_user_mem_region *r = &t->regions[i];
	struct stat st;

	if (r->memory_size == 0) {
		snprintf(err, errlen, "memory region %u is empty", i);
		return -EINVAL;
	}
	if (add_wraps(r->guest_phys_addr, r->memory_size) ||
	    add_wraps(r->userspace_addr, r->memory_size) ||
	    add_wraps(r->mmap_offset, r->memory_size)) {
		snprintf(err, errlen, "memory region %u wraps around the address space", i);
		return -EINVAL;
	}
	for (uint32_t j = 0; j < i; j++) {
		const struct vhost_user_mem_region *o = &t->regions[j];

		if (ranges_overlap(r->guest_phys_addr, r->memory_size, o->guest_phys_addr,
				   o->memory_size)) {
			snprintf(err, errlen, "memory regions %u and %u overlap in guest memory", j,
				 i);
			return -EINVAL;
		}
		if (ranges_overlap(r->userspace_addr, r->memory_size, o->userspace_addr,
				   o->memory_size)) {
			snprintf(err, errlen,
				 "memory regions %u and %u overlap in the front end's "
				 "address space",
				 j, i);
			return -EINVAL;
		}
	}
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "cannot stat the file of memory region %u: %s", i,
			 vt_strerror(errno));
		return -EINVAL;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "the file of memory region %u is not a regular file", i);
		return -EINVAL;
	}
	/* Touching a page past the end of a file is SIGBUS: the region must lie inside. */
	if (st.st_size < 0 || (uint64_t)st.st_size < r->mmap_offset + r->memory_size) {
		snprintf(err, errlen,
			 "memory region %u (%" PRIu64 " bytes at file offset %" PRIu64
			 ") is larger than its file (%" PRId64 " bytes)",
			 i, r->memory_size, r->mmap_offset, (int64_t)st.st_size);
		return -EINVAL;
	}
	return 0;
}

int
vhost_mem_check_table(const struct vhost_user_mem *t, uint32_t payload_size, const int *fds,
		      int nfds, char *err, size_t errlen)
{
	uint32_t n;
	int rc;

	if (payload_size < offsetof(struct vhost_user_mem, regions)) {
		snprintf(err, errlen, "memory table of %" PRIu32 " bytes is too short",
			 payload_size);
		return -EINVAL;
	}
	n = t->nregions;
	if (n == 0 || n > VHOST_USER_MAX_MEM_REGIONS) {
		snprintf(err, errlen, "memory table with %" PRIu32 " regions (1 to %d allowed)", n,
			 VHOST_USER_MAX_MEM_REGIONS);
		return -EINVAL;
	}
	if (payload_size <
	    offsetof(struct vhost_user_mem, regions) + n * sizeof(struct vhost_user_mem_region)) {
		snprintf(err, errlen,
			 "memory table of %" PRIu32 " bytes is too short for %" PRIu32 " regions",
			 payload_size, n);
		return -EINVAL;
	}
	if (nfds < 0 || (uint32_t)nfds != n) {
		snprintf(err, errlen,
			 "memory table with %" PRIu32 " regions came with %d file "
			 "descriptors",
			 n, nfds);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < n; i++) {
		rc = check_region(t, i, fds[i], err, errlen);
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

bool
vhost_mem_table_has_uaddr(const struct vhost_user_mem *t, uint64_t uaddr, uint64_t len)
{
	for (uint32_t i = 0; i < t->nregions && i < VHOST_USER_MAX_MEM_REGIONS; i++) {
		const struct vhost_user_mem_region *r = &t->regions[i];
		uint64_t off = uaddr - r->userspace_addr;

		if (uaddr >= r->userspace_addr && off < r->memory_size &&
		    len <= r->memory_size - off) {
			return true;
		}
	}
	return false;
}

static struct vhost_mem_map *
map_alloc(void)
{
	struct vhost_mem_map *map = calloc(1, sizeof(*map));

	if (map != NULL) {
		map->refs = 1;
	}
	return map;
}

static void
map_release(struct vhost_mem_map *map)
{
	for (uint32_t i = 0; i < map->nregions; i++) {
		if (map->r[i].base != NULL) {
			munmap(map->r[i].base, map->r[i].len);
		}
	}
	free(map);
}

/* Maps one region; returns its host address of gpa. */
static uint8_t *
map_region(struct vhost_mem_map *map, uint32_t i, const struct vhost_mem_region_desc *d, char *err,
	   size_t errlen)
{
	struct stat st;
	void *base;

	if (d->size == 0 || add_wraps(d->mmap_offset, d->size) ||
	    d->mmap_size < d->mmap_offset + d->size) {
		snprintf(err, errlen, "memory region %u has an inconsistent layout", i);
		return NULL;
	}
	/* Checked before rte_vhost saw the table; checked again against the very fd mapped. */
	if (fstat(d->fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
	    (uint64_t)st.st_size < d->mmap_offset + d->size) {
		snprintf(err, errlen, "memory region %u is not inside its file", i);
		return NULL;
	}
	base = mmap(NULL, d->mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, d->fd, 0);
	if (base == MAP_FAILED) {
		snprintf(err, errlen, "cannot map memory region %u (%" PRIu64 " bytes): %s", i,
			 d->mmap_size, vt_strerror(errno));
		return NULL;
	}
	map->r[i].base = base;
	map->r[i].len = d->mmap_size;
	/*
	 * A front end that shrank the file later would make our accesses fault. Seal it against
	 * shrinking when the file allows (QEMU's memfd backends are sealed already).
	 */
	(void)fcntl(d->fd, F_ADD_SEALS, F_SEAL_SHRINK);
	return (uint8_t *)base + d->mmap_offset;
}

struct vhost_mem_map *
vhost_mem_map_create(const struct vhost_mem_region_desc *regions, uint32_t n, char *err,
		     size_t errlen)
{
	struct vhost_vq_mem_region vr[VHOST_VQ_MEM_MAX_REGIONS];
	struct vhost_mem_map *map;

	if (n == 0 || n > VHOST_VQ_MEM_MAX_REGIONS) {
		snprintf(err, errlen, "memory table with %" PRIu32 " regions", n);
		return NULL;
	}
	map = map_alloc();
	if (map == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++) {
		vr[i].gpa = regions[i].gpa;
		vr[i].size = regions[i].size;
		vr[i].host = map_region(map, i, &regions[i], err, errlen);
		map->nregions = i + 1;
		if (vr[i].host == NULL) {
			goto fail;
		}
		map->r[i].ext_host = regions[i].ext_host;
		map->r[i].size = regions[i].size;
	}
	if (vhost_vq_mem_init(&map->mem, vr, n) != 0) {
		snprintf(err, errlen, "memory regions overlap or wrap");
		goto fail;
	}
	return map;
fail:
	map_release(map);
	return NULL;
}

struct vhost_mem_map *
vhost_mem_map_wrap(const struct vhost_vq_mem_region *regions, uint32_t n)
{
	struct vhost_mem_map *map = map_alloc();

	if (map == NULL) {
		return NULL;
	}
	if (vhost_vq_mem_init(&map->mem, regions, n) != 0) {
		free(map);
		return NULL;
	}
	map->nregions = n;
	for (uint32_t i = 0; i < n; i++) {
		map->r[i].ext_host = (uint64_t)(uintptr_t)regions[i].host;
		map->r[i].size = regions[i].size;
	}
	return map;
}

void
vhost_mem_map_ref(struct vhost_mem_map *map)
{
	map->refs++;
}

void
vhost_mem_map_unref(struct vhost_mem_map *map)
{
	if (map != NULL && --map->refs == 0) {
		map_release(map);
	}
}

void *
vhost_mem_map_from_ext(const struct vhost_mem_map *map, uint64_t ext, uint64_t len)
{
	for (uint32_t i = 0; i < map->nregions; i++) {
		uint64_t off = ext - map->r[i].ext_host;

		if (ext >= map->r[i].ext_host && off < map->r[i].size &&
		    len <= map->r[i].size - off) {
			return map->mem.regions[i].host + off;
		}
	}
	return NULL;
}
