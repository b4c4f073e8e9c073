/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Virtqueues, driver side: allocation, vhost-user ring setup (and the restart of a stopped queue),
 * submit / kick / reap / wait.
 */

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vtc_internal.h"

static int
alloc_ring_areas(struct vtc_vq *vq)
{
	struct vtc_mem *mem = &vq->dev->mem;
	uint64_t size = vq->size;

	if (vq->packed) {
		vq->desc = vtc_mem_alloc(mem, size * sizeof(struct vring_packed_desc), 4096,
					 &vq->desc_gpa);
		vq->driver = vtc_mem_alloc(mem, sizeof(struct vring_packed_desc_event), 64,
					   &vq->driver_gpa);
		vq->device = vtc_mem_alloc(mem, sizeof(struct vring_packed_desc_event), 64,
					   &vq->device_gpa);
	} else {
		/* The avail and used rings end with used_event and avail_event. */
		vq->desc =
			vtc_mem_alloc(mem, size * sizeof(struct vring_desc), 4096, &vq->desc_gpa);
		vq->driver = vtc_mem_alloc(mem, sizeof(struct vring_avail) + (size + 1) * 2, 64,
					   &vq->driver_gpa);
		vq->device = vtc_mem_alloc(
			mem, sizeof(struct vring_used) + size * sizeof(struct vring_used_elem) + 2,
			4096, &vq->device_gpa);
	}
	if (vq->desc == NULL || vq->driver == NULL || vq->device == NULL) {
		return -ENOMEM;
	}
	if (vq->indirect_max > 0) {
		vq->ind = vtc_mem_alloc(mem, size * vq->indirect_max * sizeof(struct vring_desc),
					4096, &vq->ind_gpa);
		if (vq->ind == NULL) {
			return -ENOMEM;
		}
	}
	return 0;
}

int
vtc_vq_alloc(struct vtc_vq *vq, struct vtc_dev *dev, uint16_t index)
{
	int rc;

	memset(vq, 0, sizeof(*vq));
	vq->dev = dev;
	vq->index = index;
	vq->size = dev->opts.queue_size;
	vq->packed = dev->features & (1ull << VIRTIO_F_RING_PACKED);
	vq->event_idx = dev->features & (1ull << VIRTIO_RING_F_EVENT_IDX);
	vq->interrupt = dev->opts.interrupt;
	vq->kick_fd = -1;
	vq->call_fd = -1;
	if (dev->features & (1ull << VIRTIO_RING_F_INDIRECT_DESC)) {
		vq->indirect_max = dev->opts.indirect_max;
	}

	vq->free_next = calloc(vq->size, sizeof(*vq->free_next));
	vq->slots = calloc(vq->size, sizeof(*vq->slots));
	if (vq->free_next == NULL || vq->slots == NULL) {
		rc = -ENOMEM;
		goto err;
	}
	rc = alloc_ring_areas(vq);
	if (rc != 0) {
		goto err;
	}
	vq->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	vq->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (vq->kick_fd < 0 || vq->call_fd < 0) {
		rc = -errno;
		goto err;
	}
	if (vq->packed) {
		vtc_packed_init(vq);
	} else {
		vtc_split_init(vq);
	}
	return 0;

err:
	VT_ERRLOG("cannot allocate queue %u of %u entries: %s", index, vq->size, strerror(-rc));
	vtc_vq_free(vq);
	return rc;
}

void
vtc_vq_free(struct vtc_vq *vq)
{
	if (vq->kick_fd >= 0) {
		close(vq->kick_fd);
	}
	if (vq->call_fd >= 0) {
		close(vq->call_fd);
	}
	free(vq->free_next);
	free(vq->slots);
	/* Ring areas live in guest memory, freed with it. */
	memset(vq, 0, sizeof(*vq));
	vq->kick_fd = -1;
	vq->call_fd = -1;
}

static int
set_state(struct vtc_vq *vq, uint32_t request, uint32_t num)
{
	struct vhost_user_vring_state state = { .index = vq->index, .num = num };

	return vtc_request(vq->dev, request, &state, sizeof(state), NULL, 0, NULL);
}

static int
set_fd(struct vtc_vq *vq, uint32_t request, int fd)
{
	uint64_t value = vq->index;

	if (fd < 0) {
		value |= VHOST_USER_VRING_NOFD;
		return vtc_request(vq->dev, request, &value, sizeof(value), NULL, 0, NULL);
	}
	return vtc_request(vq->dev, request, &value, sizeof(value), &fd, 1, NULL);
}

/* Hands the back end the ring at base: SET_VRING_NUM, BASE, ADDR, KICK, CALL. */
static int
set_ring(struct vtc_vq *vq, uint32_t base)
{
	struct vhost_user_vring_addr addr = {
		.index = vq->index,
		.desc = (uint64_t)(uintptr_t)vq->desc,
		.avail = (uint64_t)(uintptr_t)vq->driver,
		.used = (uint64_t)(uintptr_t)vq->device,
	};
	int rc;

	rc = set_state(vq, VHOST_USER_SET_VRING_NUM, vq->size);
	if (rc == 0) {
		rc = set_state(vq, VHOST_USER_SET_VRING_BASE, base);
	}
	if (rc == 0) {
		rc = vtc_request(vq->dev, VHOST_USER_SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0,
				 NULL);
	}
	if (rc == 0) {
		rc = set_fd(vq, VHOST_USER_SET_VRING_KICK,
			    vq->dev->opts.no_kick_fd ? -1 : vq->kick_fd);
	}
	if (rc == 0) {
		rc = set_fd(vq, VHOST_USER_SET_VRING_CALL, vq->call_fd);
	}
	return rc;
}

int
vtc_vq_setup(struct vtc_vq *vq)
{
	/* Packed rings start with both wrap counters at 1 (bit 15 of the base). */
	uint32_t base = vq->packed ? (1u << 15) : 0;
	int rc;

	if (vq->packed) {
		vtc_packed_init(vq);
	} else {
		vtc_split_init(vq);
	}
	rc = set_ring(vq, base);
	if (rc != 0) {
		VT_ERRLOG("cannot set up queue %u on '%s': %s", vq->index, vq->dev->opts.path,
			  strerror(-rc));
		return rc;
	}
	vq->started = true;
	return 0;
}

int
vtc_vq_resume(struct vtc_vq *vq, uint32_t base)
{
	int rc;

	if (vq->slots == NULL || vq->started) {
		VT_ERRLOG("cannot resume queue %u of '%s': %s", vq->index, vq->dev->opts.path,
			  vq->slots == NULL ? "not set up" : "not stopped");
		return -EINVAL;
	}
	rc = set_ring(vq, base);
	if (rc == 0 && (vq->dev->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES))) {
		rc = set_state(vq, VHOST_USER_SET_VRING_ENABLE, 1);
	}
	if (rc != 0) {
		VT_ERRLOG("cannot resume queue %u of '%s' at base %u: %s", vq->index,
			  vq->dev->opts.path, base, strerror(-rc));
		return rc;
	}
	vq->started = true;
	/* Buffers made available while stopped: tell the device. */
	return vtc_vq_kick_force(vq);
}

int
vtc_vq_enable(struct vtc_vq *vq, bool enable)
{
	return set_state(vq, VHOST_USER_SET_VRING_ENABLE, enable ? 1 : 0);
}

int
vtc_vq_get_base(struct vtc_vq *vq, uint32_t *base)
{
	struct vhost_user_vring_state state = { .index = vq->index };
	struct vhost_user_msg reply;
	int rc;

	rc = vtc_request(vq->dev, VHOST_USER_GET_VRING_BASE, &state, sizeof(state), NULL, 0,
			 &reply);
	if (rc != 0) {
		return rc;
	}
	if (reply.payload.state.index != vq->index) {
		VT_ERRLOG("GET_VRING_BASE reply from '%s' names queue %u, asked %u",
			  vq->dev->opts.path, reply.payload.state.index, vq->index);
		return -EPROTO;
	}
	vq->started = false;
	if (base != NULL) {
		*base = reply.payload.state.num;
	}
	return 0;
}

/* The buffer id the next chain gets: what vtc_split_add / vtc_packed_add will allocate. */
static int
peek_id(const struct vtc_vq *vq)
{
	if (vq->packed) {
		return vq->free_ids > 0 ? vq->free_next[vq->free_ids - 1] : -ENOSPC;
	}
	return vq->free_descs > 0 ? vq->free_head : -ENOSPC;
}

/* Fills id's indirect table with the buffers; *d becomes the one ring descriptor. */
static int
build_indirect(struct vtc_vq *vq, const struct vtc_buf *bufs, uint16_t n, struct vtc_desc *d)
{
	struct vring_desc *table;
	int id;

	if (n > vq->indirect_max) {
		VT_ERRLOG("queue %u: chain of %u buffers exceeds the indirect table (%u entries)",
			  vq->index, n, vq->indirect_max);
		return -EINVAL;
	}
	id = peek_id(vq);
	if (id < 0) {
		return id;
	}
	table = vq->ind + (size_t)id * vq->indirect_max;
	for (uint16_t i = 0; i < n; i++) {
		uint16_t flags = bufs[i].write ? VRING_DESC_F_WRITE : 0;

		if (vq->packed) {
			/* Packed layout (id before flags), read in sequence: no NEXT, no id. */
			struct vring_packed_desc *p = (struct vring_packed_desc *)&table[i];

			p->addr = htole64(bufs[i].gpa);
			p->len = htole32(bufs[i].len);
			p->id = 0;
			p->flags = htole16(flags);
		} else {
			table[i].addr = htole64(bufs[i].gpa);
			table[i].len = htole32(bufs[i].len);
			if (i + 1 < n) {
				flags |= VRING_DESC_F_NEXT;
			}
			table[i].flags = htole16(flags);
			table[i].next = htole16((uint16_t)(i + 1 < n ? i + 1 : 0));
		}
	}
	*d = (struct vtc_desc){
		.addr = vq->ind_gpa + (uint64_t)id * vq->indirect_max * sizeof(struct vring_desc),
		.len = (uint32_t)(n * sizeof(struct vring_desc)),
		.flags = VRING_DESC_F_INDIRECT,
	};
	return 0;
}

int
vtc_vq_submit(struct vtc_vq *vq, const struct vtc_buf *bufs, uint16_t n, uint32_t flags,
	      void *cookie)
{
	struct vtc_desc local[16];
	struct vtc_desc *d = local;
	int rc;

	if (n == 0 || (!(flags & VTC_SUBMIT_INDIRECT) && n > vq->size)) {
		VT_ERRLOG("queue %u: invalid chain of %u buffers", vq->index, n);
		return -EINVAL;
	}
	if (flags & VTC_SUBMIT_INDIRECT) {
		rc = build_indirect(vq, bufs, n, d);
		return rc != 0 ? rc : vtc_vq_submit_raw(vq, d, 1, cookie);
	}
	if (n > sizeof(local) / sizeof(local[0])) {
		d = calloc(n, sizeof(*d));
		if (d == NULL) {
			return -ENOMEM;
		}
	}
	for (uint16_t i = 0; i < n; i++) {
		d[i] = (struct vtc_desc){
			.addr = bufs[i].gpa,
			.len = bufs[i].len,
			.flags = (uint16_t)((bufs[i].write ? VRING_DESC_F_WRITE : 0) |
					    (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
		};
	}
	rc = vtc_vq_submit_raw(vq, d, n, cookie);
	if (d != local) {
		free(d);
	}
	return rc;
}

int
vtc_vq_submit_raw(struct vtc_vq *vq, const struct vtc_desc *descs, uint16_t n, void *cookie)
{
	if (vq->broken) {
		return -EIO;
	}
	if (vq->slots == NULL || n == 0 || n > vq->size) {
		return -EINVAL;
	}
	if (vq->packed) {
		return vtc_packed_add(vq, descs, n, cookie);
	}
	return vtc_split_add(vq, descs, n, cookie);
}

int
vtc_vq_kick_force(struct vtc_vq *vq)
{
	uint64_t one = 1;

	if (write(vq->kick_fd, &one, sizeof(one)) != sizeof(one)) {
		/* EAGAIN: the counter is saturated, the back end has a kick pending anyway. */
		if (errno != EAGAIN) {
			int rc = -errno;

			VT_ERRLOG("cannot kick queue %u: %s", vq->index, strerror(-rc));
			return rc;
		}
	}
	vq->kicks++;
	return 0;
}

int
vtc_vq_kick(struct vtc_vq *vq)
{
	bool need = vq->packed ? vtc_packed_need_kick(vq) : vtc_split_need_kick(vq);

	if (!need) {
		vq->kicks_suppressed++;
		return 0;
	}
	return vtc_vq_kick_force(vq);
}

bool
vtc_vq_has_used(struct vtc_vq *vq)
{
	if (vq->slots == NULL) {
		return false;
	}
	return vq->packed ? vtc_packed_has_used(vq) : vtc_split_has_used(vq);
}

int
vtc_vq_reap(struct vtc_vq *vq, struct vtc_cpl *cpls, uint32_t max)
{
	if (vq->broken) {
		return -EPROTO;
	}
	if (vq->slots == NULL) {
		return -EINVAL;
	}
	return vq->packed ? vtc_packed_reap(vq, cpls, max) : vtc_split_reap(vq, cpls, max);
}

/* Empties the call eventfd; counts a notification when there was one. */
static void
drain_call(struct vtc_vq *vq)
{
	uint64_t value;

	if (read(vq->call_fd, &value, sizeof(value)) == sizeof(value)) {
		vq->calls++;
		vq->call_writes += value;
	}
}

bool
vtc_vq_arm_interrupt(struct vtc_vq *vq)
{
	if (vq->slots == NULL) {
		return false;
	}
	/* Re-arm, then re-check: a completion published before the re-arm sends nothing. */
	if (vq->packed) {
		vtc_packed_set_interrupt(vq);
	} else {
		vtc_split_set_interrupt(vq);
	}
	vtc_mb();
	return vtc_vq_has_used(vq);
}

void
vtc_vq_ack_interrupt(struct vtc_vq *vq)
{
	drain_call(vq);
}

static int
wait_interrupt(struct vtc_vq *vq, uint64_t deadline)
{
	struct pollfd pfd = { .fd = vq->call_fd, .events = POLLIN };

	for (;;) {
		uint64_t now;
		int rc;

		if (vtc_vq_arm_interrupt(vq)) {
			return 0;
		}
		now = vtc_now_ns();
		if (now >= deadline) {
			return -ETIMEDOUT;
		}
		rc = poll(&pfd, 1, (int)((deadline - now + 999999) / 1000000));
		if (rc < 0 && errno != EINTR) {
			return -errno;
		}
		if (rc > 0) {
			drain_call(vq);
		}
	}
}

static int
wait_poll(struct vtc_vq *vq, uint64_t deadline)
{
	for (uint32_t spins = 0;; spins++) {
		if (vtc_vq_has_used(vq)) {
			return 0;
		}
		if ((spins & 1023) == 0) {
			if (vtc_now_ns() >= deadline) {
				return -ETIMEDOUT;
			}
			/* Leave the core to a back end that shares it. */
			sched_yield();
		}
		vtc_cpu_relax();
	}
}

int
vtc_vq_wait(struct vtc_vq *vq, uint32_t timeout_ms)
{
	uint64_t deadline = vtc_now_ns() + (uint64_t)timeout_ms * 1000000ull;

	if (vq->slots == NULL) {
		return -EINVAL;
	}
	return vq->interrupt ? wait_interrupt(vq, deadline) : wait_poll(vq, deadline);
}

int
vtc_vq_wait_until(struct vtc_vq *vq, uint64_t deadline)
{
	for (;;) {
		uint64_t now = vtc_now_ns();
		uint64_t slice;
		int rc;

		if (now >= deadline) {
			return vtc_vq_has_used(vq) ? 0 : -ETIMEDOUT;
		}
		/* Slices of 100 ms: a back end that went away is noticed without the timeout. */
		slice = deadline - now < 100000000ull ? deadline - now : 100000000ull;
		rc = vtc_vq_wait(vq, (uint32_t)((slice + 999999) / 1000000));
		if (rc != -ETIMEDOUT) {
			return rc;
		}
		if (!vq->dev->offline && vtc_dev_peer_closed(vq->dev, 0)) {
			VT_ERRLOG("queue %u of '%s': the back end closed the connection with "
				  "%u requests in flight",
				  vq->index, vq->dev->opts.path, vq->inflight);
			return -ECONNRESET;
		}
	}
}

int
vtc_vq_kick_wait(struct vtc_vq *vq, const void *cookie, uint64_t deadline, uint32_t *len)
{
	struct vtc_cpl cpl;
	int rc;

	rc = vtc_vq_kick(vq);
	if (rc != 0) {
		return rc;
	}
	for (;;) {
		rc = vtc_vq_reap(vq, &cpl, 1);
		if (rc < 0) {
			return rc;
		}
		if (rc == 1) {
			break;
		}
		if (vtc_now_ns() >= deadline) {
			return -ETIMEDOUT;
		}
		rc = vtc_vq_wait_until(vq, deadline);
		if (rc != 0 && rc != -ETIMEDOUT) {
			return rc;
		}
	}
	if (cpl.cookie != cookie) {
		VT_ERRLOG("queue %u of '%s': unexpected completion of id %u%s", vq->index,
			  vq->dev->opts.path, cpl.id, cpl.unknown ? " (not in flight)" : "");
		return -EPROTO;
	}
	*len = cpl.len;
	return 0;
}

int
vtc_dev_idle_vq(struct vtc_dev *dev, uint16_t q, struct vtc_vq **out)
{
	struct vtc_vq *vq = vtc_dev_vq(dev, q);

	if (vq == NULL || !vq->started) {
		VT_ERRLOG("queue %u of '%s' is not started", q, dev->opts.path);
		return -EINVAL;
	}
	if (vq->inflight != 0) {
		VT_ERRLOG("queue %u of '%s' has %u requests in flight: synchronous requests need "
			  "it idle",
			  q, dev->opts.path, vq->inflight);
		return -EBUSY;
	}
	*out = vq;
	return 0;
}

int
vtc_vq_submit_sync(struct vtc_vq *vq, const struct vtc_buf *bufs, uint16_t n, uint32_t flags,
		   uint32_t *len)
{
	uint64_t deadline = vtc_now_ns() + (uint64_t)vq->dev->opts.io_timeout_ms * 1000000ull;
	uint32_t used;
	int token, rc;

	/* The cookie only needs to be unique among this queue's in-flight chains. */
	rc = vtc_vq_submit(vq, bufs, n, flags, &token);
	if (rc < 0) {
		return rc;
	}
	rc = vtc_vq_kick_wait(vq, &token, deadline, &used);
	if (rc == -ETIMEDOUT) {
		VT_ERRLOG("queue %u of '%s': no completion after %u ms", vq->index,
			  vq->dev->opts.path, vq->dev->opts.io_timeout_ms);
	}
	if (rc == 0 && len != NULL) {
		*len = used;
	}
	return rc;
}

uint16_t
vtc_vq_index(const struct vtc_vq *vq)
{
	return vq->index;
}

uint16_t
vtc_vq_size(const struct vtc_vq *vq)
{
	return vq->size;
}

bool
vtc_vq_is_packed(const struct vtc_vq *vq)
{
	return vq->packed;
}

bool
vtc_vq_is_broken(const struct vtc_vq *vq)
{
	return vq->broken;
}

uint32_t
vtc_vq_inflight(const struct vtc_vq *vq)
{
	return vq->inflight;
}

uint32_t
vtc_vq_free_descs(const struct vtc_vq *vq)
{
	return vq->free_descs;
}

int
vtc_vq_call_fd(const struct vtc_vq *vq)
{
	return vq->call_fd;
}

int
vtc_vq_kick_fd(const struct vtc_vq *vq)
{
	return vq->kick_fd;
}

void
vtc_vq_stats(const struct vtc_vq *vq, uint64_t *kicks, uint64_t *kicks_suppressed, uint64_t *calls)
{
	if (kicks != NULL) {
		*kicks = vq->kicks;
	}
	if (kicks_suppressed != NULL) {
		*kicks_suppressed = vq->kicks_suppressed;
	}
	if (calls != NULL) {
		*calls = vq->calls;
	}
}

uint64_t
vtc_vq_call_writes(const struct vtc_vq *vq)
{
	return vq->call_writes;
}

void
vtc_vq_rings(struct vtc_vq *vq, void **desc, void **driver, void **device)
{
	if (desc != NULL) {
		*desc = vq->desc;
	}
	if (driver != NULL) {
		*driver = vq->driver;
	}
	if (device != NULL) {
		*device = vq->device;
	}
}
