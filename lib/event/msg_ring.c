/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bounded multi-producer single-consumer ring of {fn, arg} messages, after Dmitry Vyukov's
 * bounded MPMC queue: every slot carries a sequence number, so producers only contend on one
 * counter (a CAS) and never on the consumer, and the consumer needs no atomic read-modify-write.
 * Messages of one producer come out in the order it put them in.
 */
#include <errno.h>
#include <stdlib.h>

#include "vt/log.h"
#include "lib/event/event_internal.h"

int
msg_ring_init(struct msg_ring *ring, uint32_t size)
{
	size_t bytes;
	uint64_t i;

	if (!VT_IS_POW2(size)) {
		VT_ERRLOG("cannot create message ring: size %u is not a power of two\n", size);
		return -EINVAL;
	}
	/* aligned_alloc wants a size that is a multiple of the alignment. */
	bytes = VT_ALIGN_UP((size_t)size * sizeof(*ring->slots), (size_t)EVENT_CACHE_LINE);
	ring->slots = aligned_alloc(EVENT_CACHE_LINE, bytes);
	if (ring->slots == NULL) {
		VT_ERRLOG("cannot allocate message ring of %u entries\n", size);
		return -ENOMEM;
	}
	for (i = 0; i < size; i++) {
		atomic_init(&ring->slots[i].seq, i);
		ring->slots[i].fn = NULL;
		ring->slots[i].arg = NULL;
	}
	ring->mask = size - 1;
	atomic_init(&ring->enqueue_pos, 0);
	ring->dequeue_pos = 0;
	return 0;
}

void
msg_ring_fini(struct msg_ring *ring)
{
	free(ring->slots);
	ring->slots = NULL;
}

int
msg_ring_enqueue(struct msg_ring *ring, vt_msg_fn fn, void *arg)
{
	uint64_t pos = atomic_load_explicit(&ring->enqueue_pos, memory_order_relaxed);
	struct msg_slot *slot;
	int64_t dif;

	for (;;) {
		slot = &ring->slots[pos & ring->mask];
		dif = (int64_t)(atomic_load_explicit(&slot->seq, memory_order_acquire) - pos);
		if (dif == 0) {
			/* Free for position pos: claim it (a failed CAS reloads pos). */
			if (atomic_compare_exchange_weak_explicit(&ring->enqueue_pos, &pos, pos + 1,
								  memory_order_relaxed,
								  memory_order_relaxed)) {
				break;
			}
		} else if (dif < 0) {
			/* The slot still holds the message of the previous lap: full. */
			return -ENOMEM;
		} else {
			/* Another producer claimed pos already. */
			pos = atomic_load_explicit(&ring->enqueue_pos, memory_order_relaxed);
		}
	}
	slot->fn = fn;
	slot->arg = arg;
	atomic_store_explicit(&slot->seq, pos + 1, memory_order_release);
	return 0;
}

bool
msg_ring_dequeue(struct msg_ring *ring, vt_msg_fn *fn, void **arg)
{
	uint64_t pos = ring->dequeue_pos;
	struct msg_slot *slot = &ring->slots[pos & ring->mask];

	if (atomic_load_explicit(&slot->seq, memory_order_acquire) != pos + 1) {
		return false;
	}
	*fn = slot->fn;
	*arg = slot->arg;
	ring->dequeue_pos = pos + 1;
	/* Hand the slot to the producer of the next lap. */
	atomic_store_explicit(&slot->seq, pos + ring->mask + 1, memory_order_release);
	return true;
}

bool
msg_ring_empty(struct msg_ring *ring)
{
	uint64_t pos = ring->dequeue_pos;

	return atomic_load_explicit(&ring->slots[pos & ring->mask].seq, memory_order_acquire) !=
	       pos + 1;
}
