/* SPDX-License-Identifier: BSD-3-Clause */
/* Packed virtqueues, driver side: one descriptor ring shared both ways, two wrap counters. */

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "vtc_internal.h"

#define AVAIL_BIT (1u << VRING_PACKED_DESC_F_AVAIL)
#define USED_BIT (1u << VRING_PACKED_DESC_F_USED)
#define WRAP_BIT (1u << VRING_PACKED_EVENT_F_WRAP_CTR)

static inline struct vring_packed_desc *
ring(struct vtc_vq *vq)
{
	return vq->desc;
}

static inline struct vring_packed_desc_event *
driver_event(struct vtc_vq *vq)
{
	return vq->driver;
}

static inline struct vring_packed_desc_event *
device_event(struct vtc_vq *vq)
{
	return vq->device;
}

/* A descriptor made available in a lap with wrap counter w has AVAIL = w and USED = !w. */
static inline uint16_t
avail_flags(bool wrap)
{
	return wrap ? AVAIL_BIT : USED_BIT;
}

void
vtc_packed_init(struct vtc_vq *vq)
{
	memset(vq->desc, 0, (size_t)vq->size * sizeof(struct vring_packed_desc));
	memset(vq->driver, 0, sizeof(struct vring_packed_desc_event));
	memset(vq->device, 0, sizeof(struct vring_packed_desc_event));
	/* Ids on a stack, lowest on top. */
	for (uint32_t i = 0; i < vq->size; i++) {
		vq->free_next[i] = (uint16_t)(vq->size - 1 - i);
		vq->slots[i] = (struct vtc_slot){ 0 };
	}
	vq->free_ids = vq->size;
	vq->free_descs = vq->size;
	vq->inflight = 0;
	vq->next_avail = 0;
	vq->avail_wrap = true;
	vq->next_used = 0;
	vq->used_wrap = true;
	vq->kick_added = 0;
	vq->broken = false;
	vtc_packed_set_interrupt(vq);
}

void
vtc_packed_set_interrupt(struct vtc_vq *vq)
{
	struct vring_packed_desc_event *evt = driver_event(vq);
	uint16_t flags;

	if (!vq->interrupt) {
		flags = VRING_PACKED_EVENT_FLAG_DISABLE;
	} else if (vq->event_idx) {
		/* Notify when the descriptor at next_used is used in the current lap. */
		vtc_store16(&evt->off_wrap,
			    htole16(vq->next_used | (vq->used_wrap ? WRAP_BIT : 0)));
		flags = VRING_PACKED_EVENT_FLAG_DESC;
	} else {
		flags = VRING_PACKED_EVENT_FLAG_ENABLE;
	}
	/* The offset is visible before the flags that make the device read it. */
	vtc_store16_release(&evt->flags, htole16(flags));
}

int
vtc_packed_add(struct vtc_vq *vq, const struct vtc_desc *descs, uint16_t n, void *cookie)
{
	struct vring_packed_desc *r = ring(vq);
	uint16_t head = vq->next_avail;
	uint16_t head_flags = 0;
	uint16_t slot = head;
	bool wrap = vq->avail_wrap;
	uint16_t id;

	if (vq->free_ids == 0 || vq->free_descs < n) {
		return -ENOSPC;
	}
	id = vq->free_next[--vq->free_ids];

	for (uint16_t i = 0; i < n; i++) {
		const struct vtc_desc *d = &descs[i];
		uint16_t flags;

		if (d->vtc_flags & VTC_DESC_RAW_FLAGS) {
			flags = d->flags;
		} else {
			flags = (uint16_t)(d->flags & ~(AVAIL_BIT | USED_BIT));
			flags |= avail_flags(wrap);
		}
		r[slot].addr = htole64(d->addr);
		r[slot].len = htole32(d->len);
		r[slot].id = htole16((d->vtc_flags & VTC_DESC_RAW_ID) ? d->id : id);
		/* The head's flags are written last: they hand the whole chain over. */
		if (i == 0) {
			head_flags = flags;
		} else {
			vtc_store16(&r[slot].flags, htole16(flags));
		}
		if (++slot == vq->size) {
			slot = 0;
			wrap = !wrap;
		}
	}
	vtc_store16_release(&r[head].flags, htole16(head_flags));

	vq->next_avail = slot;
	vq->avail_wrap = wrap;
	vq->free_descs -= n;
	vq->kick_added = (uint16_t)(vq->kick_added + n);
	vq->slots[id] = (struct vtc_slot){ .cookie = cookie, .ndescs = n, .inflight = true };
	vq->inflight++;
	return id;
}

static inline bool
need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

bool
vtc_packed_need_kick(struct vtc_vq *vq)
{
	struct vring_packed_desc_event *evt = device_event(vq);
	uint16_t new_idx = vq->next_avail;
	uint16_t old_idx = (uint16_t)(new_idx - vq->kick_added);
	uint16_t flags, off_wrap, event;

	vtc_mb();
	if (vq->kick_added == 0) {
		return false;
	}
	vq->kick_added = 0;
	flags = le16toh(vtc_load16(&evt->flags));
	if (flags != VRING_PACKED_EVENT_FLAG_DESC) {
		return flags != VRING_PACKED_EVENT_FLAG_DISABLE;
	}
	off_wrap = le16toh(vtc_load16(&evt->off_wrap));
	event = off_wrap & (uint16_t)~WRAP_BIT;
	/* An event in the previous lap counts from a position one ring size back. */
	if (!!(off_wrap & WRAP_BIT) != vq->avail_wrap) {
		event = (uint16_t)(event - vq->size);
	}
	return need_event(event, new_idx, old_idx);
}

static inline bool
is_used(uint16_t flags, bool wrap)
{
	return !!(flags & AVAIL_BIT) == wrap && !!(flags & USED_BIT) == wrap;
}

bool
vtc_packed_has_used(struct vtc_vq *vq)
{
	uint16_t flags = le16toh(vtc_load16_acquire(&ring(vq)[vq->next_used].flags));

	return vq->inflight > 0 && is_used(flags, vq->used_wrap);
}

int
vtc_packed_reap(struct vtc_vq *vq, struct vtc_cpl *cpls, uint32_t max)
{
	struct vring_packed_desc *r = ring(vq);
	uint32_t n = 0;

	while (n < max && vq->inflight > 0) {
		struct vring_packed_desc *d = &r[vq->next_used];
		uint16_t flags = le16toh(vtc_load16_acquire(&d->flags));
		struct vtc_slot *slot;
		uint16_t id;

		if (!is_used(flags, vq->used_wrap)) {
			break;
		}
		id = le16toh(d->id);
		if (id >= vq->size || !vq->slots[id].inflight) {
			/* Without the id we cannot tell how many slots the chain took. */
			VT_ERRLOG("queue %u of '%s': used buffer id %u at slot %u is not in flight",
				  vq->index, vq->dev->opts.path, id, vq->next_used);
			vq->broken = true;
			return n > 0 ? (int)n : -EPROTO;
		}
		slot = &vq->slots[id];
		cpls[n++] = (struct vtc_cpl){ .cookie = slot->cookie,
					      .len = le32toh(d->len),
					      .id = id };
		vq->next_used = (uint16_t)(vq->next_used + slot->ndescs);
		if (vq->next_used >= vq->size) {
			vq->next_used = (uint16_t)(vq->next_used - vq->size);
			vq->used_wrap = !vq->used_wrap;
		}
		vq->free_descs += slot->ndescs;
		vq->free_next[vq->free_ids++] = id;
		vq->inflight--;
		*slot = (struct vtc_slot){ 0 };
	}
	if (n > 0 && vq->interrupt && vq->event_idx) {
		vtc_packed_set_interrupt(vq);
	}
	return (int)n;
}
