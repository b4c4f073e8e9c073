/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The inflight region (vhost_inflight.h): its size, its creation for GET_INFLIGHT_FD and the
 * checks of what SET_INFLIGHT_FD hands back. What the data path writes into it, and the recovery
 * after a reconnection, live with the rings in virtqueue.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vt/log.h"
#include "vt/util.h"

#include "lib/vhost/vhost_inflight.h"
#include "lib/vhost/virtqueue.h"

uint64_t
vhost_inflight_queue_bytes(bool packed, uint16_t queue_size)
{
	uint64_t bytes;

	if (packed) {
		bytes = sizeof(struct vhost_inflight_packed) +
			(uint64_t)queue_size * sizeof(struct vhost_inflight_desc_packed);
	} else {
		bytes = sizeof(struct vhost_inflight_split) +
			(uint64_t)queue_size * sizeof(struct vhost_inflight_desc_split);
	}
	return VT_ALIGN_UP(bytes, (uint64_t)VHOST_INFLIGHT_ALIGN);
}

/*
 * One queue's area in the region: room for the larger layout (packed). GET_INFLIGHT_FD can come
 * before SET_FEATURES (QEMU's vhost-user-scsi start, and a reconnection to a new back end), so
 * the ring layout is not known when the region is made or handed back; each area takes its
 * layout when a queue first starts on it (vhost_vq_inflight_attach).
 */
uint64_t
vhost_inflight_area_bytes(uint16_t queue_size)
{
	_Static_assert(sizeof(struct vhost_inflight_packed) >=
				       sizeof(struct vhost_inflight_split) &&
			       sizeof(struct vhost_inflight_desc_packed) >=
				       sizeof(struct vhost_inflight_desc_split),
		       "the packed layout is the larger one");
	return vhost_inflight_queue_bytes(true, queue_size);
}

/*
 * A new area's version stays 0 until a queue starts on it (vhost_vq_inflight_attach): a record
 * that no back end has used holds nothing to recover, and the queue starts where the front end's
 * base says (a migration's destination, a device reset), not where the empty record would say.
 */
void
vhost_inflight_queue_init(void *area, bool packed, uint16_t queue_size)
{
	memset(area, 0, vhost_inflight_queue_bytes(packed, queue_size));
	if (packed) {
		struct vhost_inflight_packed *r = area;

		r->desc_num = queue_size;
		r->used_wrap_counter = 1;
		r->old_used_wrap_counter = 1;
		for (uint32_t i = 0; i < queue_size; i++) {
			/* The last entry's next is desc_num: the end of the free list. */
			r->desc[i].next = (uint16_t)(i + 1);
		}
	} else {
		struct vhost_inflight_split *r = area;

		r->desc_num = queue_size;
	}
}

/* Checks the queue count and size of a message; 0 or -EINVAL with a message in err. */
static int
check_geometry(uint16_t nqueues, uint16_t queue_size, uint16_t max_queues, char *err, size_t errlen)
{
	if (nqueues == 0 || nqueues > max_queues) {
		snprintf(err, errlen, "inflight region for %u queues (1 to %u)", nqueues,
			 max_queues);
		return -EINVAL;
	}
	/* A split ring's size is a power of two: SET_VRING_NUM checks it, for the ring. */
	if (queue_size == 0 || queue_size > VHOST_VQ_MAX_SIZE) {
		snprintf(err, errlen, "inflight region for a queue size of %u (1 to %d)",
			 queue_size, VHOST_VQ_MAX_SIZE);
		return -EINVAL;
	}
	return 0;
}

static struct vhost_inflight *
region_new(void *map_base, size_t map_len, uint8_t *base, uint16_t nqueues, uint16_t queue_size)
{
	struct vhost_inflight *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		return NULL;
	}
	atomic_init(&r->refs, 1);
	r->map_base = map_base;
	r->map_len = map_len;
	r->base = base;
	r->queue_size = vhost_inflight_area_bytes(queue_size);
	r->size = r->queue_size * nqueues;
	r->nqueues = nqueues;
	r->desc_num = queue_size;
	return r;
}

struct vhost_inflight *
vhost_inflight_create(uint16_t nqueues, uint16_t queue_size, uint16_t max_queues, int *fd,
		      char *err, size_t errlen)
{
	struct vhost_inflight *r;
	uint64_t per = vhost_inflight_area_bytes(queue_size);
	size_t len = (size_t)(per * nqueues);
	void *base;

	*fd = -1;
	if (check_geometry(nqueues, queue_size, max_queues, err, errlen) != 0) {
		return NULL;
	}
	*fd = memfd_create("vtarget-inflight", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (*fd < 0) {
		snprintf(err, errlen, "cannot create the inflight memfd: %s", vt_strerror(errno));
		return NULL;
	}
	if (ftruncate(*fd, (off_t)len) != 0) {
		snprintf(err, errlen, "cannot size the inflight memfd to %zu bytes: %s", len,
			 vt_strerror(errno));
		goto fail;
	}
	/* The front end keeps the fd: it must not be able to shrink it under our mapping. */
	fcntl(*fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_SEAL);
	base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (base == MAP_FAILED) {
		snprintf(err, errlen, "cannot map the inflight memfd: %s", vt_strerror(errno));
		goto fail;
	}
	/* Version 0, desc_num set (at the same offsets in both layouts), the rest zero. */
	for (uint16_t i = 0; i < nqueues; i++) {
		vhost_inflight_queue_init((uint8_t *)base + per * i, false, queue_size);
	}
	r = region_new(base, len, base, nqueues, queue_size);
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		munmap(base, len);
		goto fail;
	}
	return r;
fail:
	close(*fd);
	*fd = -1;
	return NULL;
}

/* Each queue's area: version 0 (never used) or the one this back end writes, and desc_num equal
 * to the queue size. */
static int
check_areas(const struct vhost_inflight *r, char *err, size_t errlen)
{
	for (uint16_t i = 0; i < r->nqueues; i++) {
		const uint8_t *area = r->base + r->queue_size * i;
		uint16_t version, desc_num;

		/* version and desc_num sit at the same offsets in both layouts. */
		memcpy(&version, area + offsetof(struct vhost_inflight_split, version), 2);
		memcpy(&desc_num, area + offsetof(struct vhost_inflight_split, desc_num), 2);
		if (version != 0 && version != VHOST_INFLIGHT_VERSION) {
			snprintf(err, errlen,
				 "inflight area of queue %u has version %u (0 or %d expected)", i,
				 version, VHOST_INFLIGHT_VERSION);
			return -EINVAL;
		}
		if (desc_num != r->desc_num) {
			snprintf(err, errlen,
				 "inflight area of queue %u holds %u entries; the message says "
				 "a queue size of %u",
				 i, desc_num, r->desc_num);
			return -EINVAL;
		}
	}
	return 0;
}

struct vhost_inflight *
vhost_inflight_map(int fd, const struct vhost_user_inflight *msg, uint16_t max_queues, char *err,
		   size_t errlen)
{
	uint64_t per = vhost_inflight_area_bytes(msg->queue_size), end;
	struct vhost_inflight *r;
	struct stat st;
	void *base;

	if (check_geometry(msg->num_queues, msg->queue_size, max_queues, err, errlen) != 0) {
		return NULL;
	}
	if (msg->mmap_size < per * msg->num_queues) {
		snprintf(err, errlen,
			 "inflight region of %" PRIu64 " bytes; %u queues of %u entries need "
			 "%" PRIu64,
			 msg->mmap_size, msg->num_queues, msg->queue_size, per * msg->num_queues);
		return NULL;
	}
	end = msg->mmap_offset + msg->mmap_size;
	if (end < msg->mmap_offset || end > SIZE_MAX) {
		snprintf(err, errlen, "inflight region offset %" PRIu64 " + size %" PRIu64 " wraps",
			 msg->mmap_offset, msg->mmap_size);
		return NULL;
	}
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "inflight fd is not a regular file (memfd or tmpfs file)");
		return NULL;
	}
	if ((uint64_t)st.st_size < end) {
		/* Touching a mapping beyond the file's end would fault (SIGBUS). */
		snprintf(err, errlen,
			 "inflight file of %" PRIu64 " bytes is shorter than offset %" PRIu64
			 " + size %" PRIu64,
			 (uint64_t)st.st_size, msg->mmap_offset, msg->mmap_size);
		return NULL;
	}
	/* From offset 0: an offset that is not page-aligned cannot be mapped directly. */
	base = mmap(NULL, (size_t)end, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		snprintf(err, errlen, "cannot map the inflight region: %s", vt_strerror(errno));
		return NULL;
	}
	r = region_new(base, (size_t)end, (uint8_t *)base + msg->mmap_offset, msg->num_queues,
		       msg->queue_size);
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		munmap(base, (size_t)end);
		return NULL;
	}
	if (check_areas(r, err, errlen) != 0) {
		vhost_inflight_unref(r);
		return NULL;
	}
	return r;
}

struct vhost_inflight *
vhost_inflight_wrap(void *base, uint16_t nqueues, uint16_t queue_size)
{
	return region_new(NULL, 0, base, nqueues, queue_size);
}

void *
vhost_inflight_queue(const struct vhost_inflight *r, uint16_t idx)
{
	if (r == NULL || idx >= r->nqueues) {
		return NULL;
	}
	return r->base + r->queue_size * idx;
}

void
vhost_inflight_ref(struct vhost_inflight *r)
{
	if (r != NULL) {
		atomic_fetch_add(&r->refs, 1);
	}
}

void
vhost_inflight_unref(struct vhost_inflight *r)
{
	if (r == NULL || atomic_fetch_sub(&r->refs, 1) != 1) {
		return;
	}
	if (r->map_base != NULL) {
		munmap(r->map_base, r->map_len);
	}
	free(r);
}
