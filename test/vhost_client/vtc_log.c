/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Dirty logging, the front end's half (what QEMU does when a migration starts): a memfd bitmap
 * sent with SET_LOG_BASE, then LOG_ALL in SET_FEATURES and VHOST_USER_VRING_F_LOG in every
 * ring's SET_VRING_ADDR. The test reads the bitmap to see which pages the back end marked.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vtc_internal.h"

uint64_t
vtc_log_size_for(const struct vtc_dev *dev)
{
	uint64_t end = 0, pages;

	for (uint32_t i = 0; i < dev->mem.nregions; i++) {
		const struct vtc_mem_region *r = &dev->mem.regions[i];

		if (r->gpa + r->size > end) {
			end = r->gpa + r->size;
		}
	}
	pages = (end + VTC_LOG_PAGE - 1) / VTC_LOG_PAGE;
	return (pages + 7) / 8;
}

int
vtc_log_set_base(struct vtc_dev *dev, struct vtc_log *log, uint64_t size, uint64_t offset)
{
	struct vhost_user_log payload = { .size = size, .offset = offset };
	struct vhost_user_msg reply;
	int rc;

	memset(log, 0, sizeof(*log));
	log->fd = memfd_create("vtc-dirty-log", MFD_CLOEXEC);
	if (log->fd < 0) {
		rc = -errno;
		VT_ERRLOG("cannot create the dirty log: %s", strerror(errno));
		return rc;
	}
	log->map_len = (size_t)(offset + size);
	if (ftruncate(log->fd, (off_t)log->map_len) != 0) {
		rc = -errno;
		VT_ERRLOG("cannot size the dirty log to %zu bytes: %s", log->map_len,
			  strerror(errno));
		goto fail;
	}
	log->map = mmap(NULL, log->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, log->fd, 0);
	if (log->map == MAP_FAILED) {
		rc = -errno;
		log->map = NULL;
		VT_ERRLOG("cannot map the dirty log: %s", strerror(errno));
		goto fail;
	}
	log->bits = log->map + offset;
	log->size = size;
	log->offset = offset;
	rc = vtc_request(dev, VHOST_USER_SET_LOG_BASE, &payload, sizeof(payload), &log->fd, 1,
			 &reply);
	if (rc != 0) {
		VT_ERRLOG("back end '%s' failed SET_LOG_BASE: %s", dev->opts.path, strerror(-rc));
		goto fail;
	}
	return 0;
fail:
	vtc_log_free(log);
	return rc;
}

static int
set_ring_log(struct vtc_vq *vq, bool on)
{
	struct vhost_user_vring_addr addr = {
		.index = vq->index,
		.flags = on ? VHOST_USER_VRING_F_LOG : 0,
		.desc = (uint64_t)(uintptr_t)vq->desc,
		.avail = (uint64_t)(uintptr_t)vq->driver,
		.used = (uint64_t)(uintptr_t)vq->device,
		.log = vq->device_gpa,
	};

	return vtc_request(vq->dev, VHOST_USER_SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0, NULL);
}

int
vtc_log_enable(struct vtc_dev *dev, bool on)
{
	uint64_t f = dev->features & ~(1ull << VHOST_F_LOG_ALL);
	int rc;

	if (on) {
		f |= 1ull << VHOST_F_LOG_ALL;
	}
	rc = vtc_dev_set_features(dev, f);
	for (uint16_t i = 0; rc == 0 && i < dev->num_queues; i++) {
		if (dev->vqs[i].started) {
			rc = set_ring_log(&dev->vqs[i], on);
		}
	}
	if (rc != 0) {
		VT_ERRLOG("cannot turn dirty logging %s on '%s': %s", on ? "on" : "off",
			  dev->opts.path, strerror(-rc));
	}
	return rc;
}

bool
vtc_log_test(const struct vtc_log *log, uint64_t gpa)
{
	uint64_t page = gpa / VTC_LOG_PAGE;

	if (page / 8 >= log->size) {
		return false;
	}
	return (__atomic_load_n(&log->bits[page / 8], __ATOMIC_ACQUIRE) >> (page % 8)) & 1;
}

void
vtc_log_clear(struct vtc_log *log)
{
	for (uint64_t i = 0; i < log->size; i++) {
		__atomic_store_n(&log->bits[i], 0, __ATOMIC_RELAXED);
	}
}

void
vtc_log_free(struct vtc_log *log)
{
	if (log->map != NULL) {
		munmap(log->map, log->map_len);
	}
	if (log->fd >= 0) {
		close(log->fd);
	}
	memset(log, 0, sizeof(*log));
	log->fd = -1;
}
