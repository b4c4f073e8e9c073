/* SPDX-License-Identifier: BSD-3-Clause */
/* Split virtqueues, driver side: descriptor table, avail ring (ours), used ring (the device's). */

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "vtc_internal.h"

static inline struct vring_desc *
split_desc(struct vtc_vq *vq)
{
	return vq->desc;
}

static inline struct vring_avail *
split_avail(struct vtc_vq *vq)
{
	return vq->driver;
}

static inline struct vring_used *
split_used(struct vtc_vq *vq)
{
	return vq->device;
}

/* used_event sits after the avail ring, avail_event after the used ring. */
static inline uint16_t *
used_event(struct vtc_vq *vq)
{
	return &split_avail(vq)->ring[vq->size];
}

static inline uint16_t *
avail_event(struct vtc_vq *vq)
{
	return (uint16_t *)&split_used(vq)->ring[vq->size];
}

void
vtc_split_init(struct vtc_vq *vq)
{
	memset(vq->desc, 0, (size_t)vq->size * sizeof(struct vring_desc));
	memset(vq->driver, 0, sizeof(struct vring_avail) + ((size_t)vq->size + 1) * 2);
	memset(vq->device, 0,
	       sizeof(struct vring_used) + (size_t)vq->size * sizeof(struct vring_used_elem) + 2);
	for (uint32_t i = 0; i < vq->size; i++) {
		vq->free_next[i] = (uint16_t)(i + 1);
		vq->slots[i] = (struct vtc_slot){ 0 };
	}
	vq->free_head = 0;
	vq->free_descs = vq->size;
	vq->inflight = 0;
	vq->avail_idx = 0;
	vq->last_used = 0;
	vq->kick_old = 0;
	vq->broken = false;
	vtc_split_set_interrupt(vq);
}

void
vtc_split_set_interrupt(struct vtc_vq *vq)
{
	if (vq->event_idx) {
		/* Polling keeps the event one behind what we consumed: it is never crossed. */
		vtc_store16(used_event(vq),
			    htole16(vq->interrupt ? vq->last_used : (uint16_t)(vq->last_used - 1)));
	} else {
		vtc_store16(&split_avail(vq)->flags,
			    htole16(vq->interrupt ? 0 : VRING_AVAIL_F_NO_INTERRUPT));
	}
}

int
vtc_split_add(struct vtc_vq *vq, const struct vtc_desc *descs, uint16_t n, void *cookie)
{
	struct vring_desc *table = split_desc(vq);
	struct vring_avail *avail = split_avail(vq);
	uint16_t head = vq->free_head;
	uint16_t idx = head;

	if (vq->free_descs < n) {
		return -ENOSPC;
	}
	for (uint16_t i = 0; i < n; i++) {
		const struct vtc_desc *d = &descs[i];
		uint16_t next = vq->free_next[idx];

		table[idx].addr = htole64(d->addr);
		table[idx].len = htole32(d->len);
		table[idx].flags = htole16(d->flags);
		if (d->vtc_flags & VTC_DESC_RAW_NEXT) {
			table[idx].next = htole16(d->next);
		} else {
			table[idx].next = htole16(i + 1 < n ? next : 0);
		}
		if (i + 1 < n) {
			idx = next;
		}
	}
	vq->free_head = vq->free_next[idx];
	vq->free_descs -= n;
	vq->slots[head] = (struct vtc_slot){ .cookie = cookie, .ndescs = n, .inflight = true };
	vq->inflight++;

	avail->ring[vq->avail_idx & (vq->size - 1)] = htole16(head);
	vq->avail_idx++;
	/* The descriptors and the ring entry are visible before the index. */
	vtc_store16_release(&avail->idx, htole16(vq->avail_idx));
	return head;
}

/* The virtio spec's test: did the index move past event in the step old -> new? */
static inline bool
need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

bool
vtc_split_need_kick(struct vtc_vq *vq)
{
	uint16_t old_idx = vq->kick_old;
	uint16_t new_idx = vq->avail_idx;

	/* Our avail index must be visible before we read what the device asked. */
	vtc_mb();
	vq->kick_old = new_idx;
	if (old_idx == new_idx) {
		return false;
	}
	if (vq->event_idx) {
		return need_event(le16toh(vtc_load16(avail_event(vq))), new_idx, old_idx);
	}
	return !(le16toh(vtc_load16(&split_used(vq)->flags)) & VRING_USED_F_NO_NOTIFY);
}

bool
vtc_split_has_used(struct vtc_vq *vq)
{
	return le16toh(vtc_load16_acquire(&split_used(vq)->idx)) != vq->last_used;
}

static void
free_chain(struct vtc_vq *vq, uint16_t head)
{
	struct vtc_slot *slot = &vq->slots[head];
	uint16_t tail = head;

	for (uint16_t i = 1; i < slot->ndescs; i++) {
		tail = vq->free_next[tail];
	}
	vq->free_next[tail] = vq->free_head;
	vq->free_head = head;
	vq->free_descs += slot->ndescs;
	vq->inflight--;
	slot->inflight = false;
	slot->cookie = NULL;
}

int
vtc_split_reap(struct vtc_vq *vq, struct vtc_cpl *cpls, uint32_t max)
{
	struct vring_used *used = split_used(vq);
	uint16_t used_idx = le16toh(vtc_load16_acquire(&used->idx));
	uint16_t pending = (uint16_t)(used_idx - vq->last_used);
	uint32_t n = 0;

	if (pending > vq->size) {
		VT_ERRLOG("queue %u of '%s': used index jumped from %u to %u (queue size %u)",
			  vq->index, vq->dev->opts.path, vq->last_used, used_idx, vq->size);
		vq->broken = true;
		return -EPROTO;
	}
	while (n < max && vq->last_used != used_idx) {
		struct vring_used_elem *e = &used->ring[vq->last_used & (vq->size - 1)];
		uint32_t id = le32toh(e->id);
		struct vtc_cpl *c = &cpls[n++];

		c->len = le32toh(e->len);
		c->id = (uint16_t)id;
		if (id >= vq->size || !vq->slots[id].inflight) {
			VT_WARNLOG("queue %u of '%s': used id %u is not in flight", vq->index,
				   vq->dev->opts.path, id);
			c->cookie = NULL;
			c->unknown = true;
		} else {
			c->cookie = vq->slots[id].cookie;
			c->unknown = false;
			free_chain(vq, (uint16_t)id);
		}
		vq->last_used++;
	}
	if (n > 0) {
		vtc_split_set_interrupt(vq);
	}
	return (int)n;
}

void
vtc_vq_split_publish_head(struct vtc_vq *vq, uint16_t head)
{
	struct vring_avail *avail = split_avail(vq);

	avail->ring[vq->avail_idx & (vq->size - 1)] = htole16(head);
	vq->avail_idx++;
	vtc_store16_release(&avail->idx, htole16(vq->avail_idx));
}

void
vtc_vq_split_set_avail_idx(struct vtc_vq *vq, uint16_t idx)
{
	vq->avail_idx = idx;
	vtc_store16_release(&split_avail(vq)->idx, htole16(idx));
}
