/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vtc driver side against lib/vhost's device side (virtqueue.c), in one process: requests
 * built by vtc arrive intact, completions come back to the right submitter, wrap counters and
 * free lists survive many laps and out-of-order completion, kick and notification suppression
 * agree on both sides, and the raw building blocks produce the malformed chains the device
 * must reject. Also the guest memory helpers and the latency histogram.
 */

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "lib/vhost/virtqueue.h"

#include "vhost_client.h"

#define BASE_FEATURES ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_INDIRECT_DESC))

struct loop {
	struct vtc_dev *dev;
	struct vtc_vq *vq;
	uint64_t features;
	struct vhost_vq dvq; /* the device's view of the queue */
	struct vhost_vq_mem mem;
	struct iovec iov[64];
	struct vhost_vq_chain chain;
};

static void
loop_setup(struct loop *l, bool packed, bool event_idx, bool interrupt, uint16_t size)
{
	struct vhost_vq_mem_region regions[VTC_MEM_MAX_REGIONS];
	struct vhost_vq_params params = { .name = "loop", .size = size };
	struct vtc_dev_opts opts;
	struct vtc_mem *mem;
	void *desc, *driver, *device;
	int rc;

	memset(l, 0, sizeof(*l));
	vtc_dev_opts_init(&opts);
	opts.queue_size = size;
	opts.interrupt = interrupt;
	opts.mem_size = 8ull << 20;
	opts.indirect_max = 16;
	opts.bounce_size = 0;
	l->features = BASE_FEATURES | (event_idx ? 1ull << VIRTIO_RING_F_EVENT_IDX : 0) |
		      (packed ? 1ull << VIRTIO_F_RING_PACKED : 0);
	l->dev = vtc_dev_new_offline(&opts, l->features);
	CU_ASSERT_FATAL(l->dev != NULL);
	CU_ASSERT_FATAL(vtc_dev_start(l->dev) == 0);
	l->vq = vtc_dev_vq(l->dev, 0);
	CU_ASSERT_FATAL(l->vq != NULL);

	mem = vtc_dev_mem(l->dev);
	for (uint32_t i = 0; i < mem->nregions; i++) {
		regions[i] = (struct vhost_vq_mem_region){ .gpa = mem->regions[i].gpa,
							   .size = mem->regions[i].size,
							   .host = mem->regions[i].host };
	}
	CU_ASSERT_FATAL(vhost_vq_mem_init(&l->mem, regions, mem->nregions) == 0);

	vtc_vq_rings(l->vq, &desc, &driver, &device);
	params.features = l->features;
	params.avail_base = packed ? 0x8000 : 0;
	params.used_base = params.avail_base;
	if (packed) {
		rc = vhost_vq_init_packed(&l->dvq, &params, desc, driver, device);
	} else {
		rc = vhost_vq_init_split(&l->dvq, &params, desc, driver, device);
	}
	CU_ASSERT_FATAL(rc == 0);
	l->chain.iov = l->iov;
	l->chain.iov_max = 64;
}

static void
loop_teardown(struct loop *l)
{
	vtc_dev_close(l->dev);
}

/* Device: pops every available chain; returns how many (-1 on an unexpected error). */
static int
device_pop_all(struct loop *l, struct vhost_vq_chain *out, int max)
{
	int n = 0;

	while (n < max) {
		int rc;

		l->chain.iov = l->iov;
		rc = vhost_vq_pop(&l->dvq, &l->mem, &l->chain);
		if (rc == -EAGAIN) {
			break;
		}
		if (rc != 0) {
			return -1;
		}
		out[n++] = l->chain;
	}
	return n;
}

/* ---- round trips ------------------------------------------------------------------------- */

/* One virtio-blk read of 4 KiB in four 1 KiB buffers, through vtc and back. */
static void
blk_round_trip(bool packed, bool event_idx, bool indirect)
{
	struct vtc_blk_req req;
	struct vtc_cpl cpl;
	struct loop l;
	struct virtio_blk_outhdr hdr;
	int rc;

	loop_setup(&l, packed, event_idx, false, 16);
	CU_ASSERT_FATAL(vtc_blk_req_init(vtc_dev_mem(l.dev), &req, 4096) == 0);
	req.seg_size = 1024;
	rc = vtc_blk_submit(l.vq, &req, VIRTIO_BLK_T_IN, 7, 4096,
			    indirect ? VTC_SUBMIT_INDIRECT : 0);
	CU_ASSERT_FATAL(rc >= 0);
	CU_ASSERT(vtc_vq_inflight(l.vq) == 1);

	l.chain.iov = l.iov;
	CU_ASSERT_FATAL(vhost_vq_pop(&l.dvq, &l.mem, &l.chain) == 0);
	CU_ASSERT(l.chain.niov == 6);
	CU_ASSERT(l.chain.nreadable == 1);
	CU_ASSERT(l.chain.read_len == sizeof(hdr));
	CU_ASSERT(l.chain.write_len == 4097);
	CU_ASSERT(l.chain.ndescs == (indirect ? 1 : 6));
	memcpy(&hdr, l.iov[0].iov_base, sizeof(hdr));
	CU_ASSERT(le32toh(hdr.type) == VIRTIO_BLK_T_IN);
	CU_ASSERT(le64toh(hdr.sector) == 7);
	for (uint32_t i = 1; i < 5; i++) {
		CU_ASSERT(l.iov[i].iov_len == 1024);
		memset(l.iov[i].iov_base, (int)i, 1024);
	}
	CU_ASSERT(l.iov[5].iov_len == 1);
	*(uint8_t *)l.iov[5].iov_base = VIRTIO_BLK_S_OK;
	CU_ASSERT(vhost_vq_pop(&l.dvq, &l.mem, &l.chain) == -EAGAIN);

	vhost_vq_push(&l.dvq, l.chain.id, l.chain.ndescs, 4097);
	vhost_vq_publish(&l.dvq);
	CU_ASSERT(vtc_vq_has_used(l.vq));
	CU_ASSERT_FATAL(vtc_vq_reap(l.vq, &cpl, 1) == 1);
	CU_ASSERT(cpl.cookie == &req);
	CU_ASSERT(cpl.len == 4097);
	CU_ASSERT(!cpl.unknown);
	CU_ASSERT(*req.status == VIRTIO_BLK_S_OK);
	CU_ASSERT(req.data[0] == 1 && req.data[1023] == 1 && req.data[1024] == 2 &&
		  req.data[4095] == 4);
	CU_ASSERT(vtc_vq_inflight(l.vq) == 0);
	CU_ASSERT(vtc_vq_free_descs(l.vq) == 16);
	CU_ASSERT(vtc_vq_reap(l.vq, &cpl, 1) == 0);
	loop_teardown(&l);
}

static void
split_blk_request_round_trips_in_every_mode(void)
{
	for (int m = 0; m < 4; m++) {
		blk_round_trip(false, m & 1, m & 2);
	}
}

static void
packed_blk_request_round_trips_in_every_mode(void)
{
	for (int m = 0; m < 4; m++) {
		blk_round_trip(true, m & 1, m & 2);
	}
}

/*
 * Many laps of a small ring with chains of 1 to 3 descriptors (packed chains straddle the ring
 * end), completed in reverse order: every cookie comes back once and the free lists refill.
 */
static void
laps_with_reverse_completion(bool packed, bool indirect_some)
{
	struct vhost_vq_chain chains[16];
	struct vtc_cpl cpls[16];
	struct loop l;
	static int cookies[16];
	uint64_t gpa;
	uint32_t seen;

	loop_setup(&l, packed, true, false, 8);
	CU_ASSERT_FATAL(vtc_mem_alloc(vtc_dev_mem(l.dev), 4096, 0, &gpa) != NULL);
	for (int round = 0; round < 200; round++) {
		int n = 0, popped, reaped;

		for (;; n++) {
			struct vtc_buf bufs[3] = {
				{ .gpa = gpa, .len = 16 },
				{ .gpa = gpa + 512, .len = 512, .write = true },
				{ .gpa = gpa + 1024, .len = 1, .write = true },
			};
			uint16_t nb = (uint16_t)(1 + (round + n) % 3);
			uint32_t flags = indirect_some && n % 2 ? VTC_SUBMIT_INDIRECT : 0;
			int rc = vtc_vq_submit(l.vq, bufs, nb, flags, &cookies[n]);

			if (rc == -ENOSPC) {
				break;
			}
			CU_ASSERT_FATAL(rc >= 0);
		}
		CU_ASSERT_FATAL(n > 0);
		popped = device_pop_all(&l, chains, 16);
		CU_ASSERT_FATAL(popped == n);
		for (int i = popped - 1; i >= 0; i--) {
			vhost_vq_push(&l.dvq, chains[i].id, chains[i].ndescs, (uint32_t)i);
		}
		vhost_vq_publish(&l.dvq);
		reaped = vtc_vq_reap(l.vq, cpls, 16);
		CU_ASSERT_FATAL(reaped == n);
		seen = 0;
		for (int i = 0; i < reaped; i++) {
			int k = (int)((int *)cpls[i].cookie - cookies);

			CU_ASSERT_FATAL(k >= 0 && k < n);
			CU_ASSERT(cpls[i].len == (uint32_t)k);
			seen |= 1u << k;
		}
		CU_ASSERT(seen == (1u << n) - 1);
		CU_ASSERT(vtc_vq_inflight(l.vq) == 0);
		CU_ASSERT(vtc_vq_free_descs(l.vq) == 8);
	}
	CU_ASSERT(!vhost_vq_is_broken(&l.dvq));
	loop_teardown(&l);
}

static void
split_ring_survives_laps_and_reverse_completion(void)
{
	laps_with_reverse_completion(false, false);
	laps_with_reverse_completion(false, true);
}

static void
packed_ring_survives_laps_and_reverse_completion(void)
{
	laps_with_reverse_completion(true, false);
	laps_with_reverse_completion(true, true);
}

/* ---- notification and kick suppression --------------------------------------------------- */

/* Submits one 1-descriptor chain and has the device complete it; returns publish's verdict. */
static bool
one_round(struct loop *l, uint64_t gpa)
{
	struct vtc_buf buf = { .gpa = gpa, .len = 8, .write = true };
	struct vhost_vq_chain c = { 0 };
	struct vtc_cpl cpl;
	bool notify;

	CU_ASSERT_FATAL(vtc_vq_submit(l->vq, &buf, 1, 0, NULL) >= 0);
	CU_ASSERT_FATAL(device_pop_all(l, &c, 1) == 1);
	vhost_vq_push(&l->dvq, c.id, c.ndescs, 8);
	notify = vhost_vq_publish(&l->dvq);
	CU_ASSERT(vtc_vq_reap(l->vq, &cpl, 1) == 1);
	return notify;
}

static void
poll_mode_suppresses_device_notifications(void)
{
	for (int m = 0; m < 4; m++) {
		struct loop l;
		uint64_t gpa;

		loop_setup(&l, m & 1, m & 2, false, 8);
		CU_ASSERT_FATAL(vtc_mem_alloc(vtc_dev_mem(l.dev), 64, 0, &gpa) != NULL);
		for (int i = 0; i < 20; i++) {
			CU_ASSERT(!one_round(&l, gpa));
		}
		loop_teardown(&l);
	}
}

static void
interrupt_mode_gets_a_notification_per_completion(void)
{
	for (int m = 0; m < 4; m++) {
		struct loop l;
		uint64_t gpa;

		loop_setup(&l, m & 1, m & 2, true, 8);
		CU_ASSERT_FATAL(vtc_mem_alloc(vtc_dev_mem(l.dev), 64, 0, &gpa) != NULL);
		for (int i = 0; i < 20; i++) {
			CU_ASSERT(vtc_vq_arm_interrupt(l.vq) == false);
			CU_ASSERT(one_round(&l, gpa));
		}
		loop_teardown(&l);
	}
}

static void
kicks_follow_the_device_suppression(void)
{
	for (int m = 0; m < 4; m++) {
		struct vtc_buf buf = { .len = 8 };
		struct vhost_vq_chain c[8];
		uint64_t kicks, suppressed;
		struct loop l;

		loop_setup(&l, m & 1, m & 2, false, 8);
		CU_ASSERT_FATAL(vtc_mem_alloc(vtc_dev_mem(l.dev), 64, 0, &buf.gpa) != NULL);

		/* The device polls: no kick reaches it. */
		vhost_vq_kick_disable(&l.dvq);
		CU_ASSERT_FATAL(vtc_vq_submit(l.vq, &buf, 1, 0, NULL) >= 0);
		CU_ASSERT(vtc_vq_kick(l.vq) == 0);
		vtc_vq_stats(l.vq, &kicks, &suppressed, NULL);
		CU_ASSERT(kicks == 0 && suppressed == 1);
		CU_ASSERT(device_pop_all(&l, c, 8) == 1);

		/* The device sleeps: the next chain is kicked once, however many follow. */
		CU_ASSERT(vhost_vq_kick_enable(&l.dvq) == false);
		CU_ASSERT_FATAL(vtc_vq_submit(l.vq, &buf, 1, 0, NULL) >= 0);
		CU_ASSERT_FATAL(vtc_vq_submit(l.vq, &buf, 1, 0, NULL) >= 0);
		CU_ASSERT(vtc_vq_kick(l.vq) == 0);
		vtc_vq_stats(l.vq, &kicks, NULL, NULL);
		CU_ASSERT(kicks == 1);

		/* Nothing new since the last kick: nothing to kick. */
		CU_ASSERT(vtc_vq_kick(l.vq) == 0);
		vtc_vq_stats(l.vq, &kicks, NULL, NULL);
		CU_ASSERT(kicks == 1);
		loop_teardown(&l);
	}
}

static void
event_idx_kicks_only_when_avail_event_is_crossed(void)
{
	for (int packed = 0; packed < 2; packed++) {
		struct vtc_buf buf = { .len = 8 };
		struct vhost_vq_chain c[8];
		uint64_t kicks;
		struct loop l;

		loop_setup(&l, packed, true, false, 8);
		CU_ASSERT_FATAL(vtc_mem_alloc(vtc_dev_mem(l.dev), 64, 0, &buf.gpa) != NULL);
		CU_ASSERT(vhost_vq_kick_enable(&l.dvq) == false);
		CU_ASSERT_FATAL(vtc_vq_submit(l.vq, &buf, 1, 0, NULL) >= 0);
		CU_ASSERT(vtc_vq_kick(l.vq) == 0);
		/* The device has not moved its event: a second batch is not kicked. */
		CU_ASSERT_FATAL(vtc_vq_submit(l.vq, &buf, 1, 0, NULL) >= 0);
		CU_ASSERT(vtc_vq_kick(l.vq) == 0);
		vtc_vq_stats(l.vq, &kicks, NULL, NULL);
		CU_ASSERT(kicks == (packed ? 2u : 1u));
		CU_ASSERT(device_pop_all(&l, c, 8) == 2);
		loop_teardown(&l);
	}
}

/* ---- raw descriptors: what the malicious-front-end tests build --------------------------- */

static void
raw_self_loop_is_rejected_by_the_device(void)
{
	struct vtc_desc d = { .len = 16,
			      .flags = VRING_DESC_F_NEXT,
			      .next = 0,
			      .vtc_flags = VTC_DESC_RAW_NEXT };
	struct vtc_cpl cpl;
	struct loop l;
	int id;

	loop_setup(&l, false, false, false, 8);
	CU_ASSERT_FATAL(vtc_mem_alloc(vtc_dev_mem(l.dev), 64, 0, &d.addr) != NULL);
	id = vtc_vq_submit_raw(l.vq, &d, 1, &l);
	CU_ASSERT_FATAL(id == 0);
	l.chain.iov = l.iov;
	CU_ASSERT(vhost_vq_pop(&l.dvq, &l.mem, &l.chain) == -EINVAL);
	CU_ASSERT(l.chain.err == VHOST_VQ_ERR_LOOP);
	vhost_vq_push(&l.dvq, l.chain.id, l.chain.ndescs, 0);
	vhost_vq_publish(&l.dvq);
	CU_ASSERT(vtc_vq_reap(l.vq, &cpl, 1) == 1);
	CU_ASSERT(cpl.cookie == &l);
	CU_ASSERT(vtc_vq_free_descs(l.vq) == 8);
	loop_teardown(&l);
}

static void
raw_split_nested_indirect_is_rejected(void)
{
	struct vtc_desc d = { .len = 16, .flags = VRING_DESC_F_INDIRECT };
	uint64_t inner_gpa;
	struct vring_desc *outer;
	struct loop l;

	/*
	 * Split only: lib/vhost reads packed indirect tables as plain sequences and ignores an
	 * INDIRECT flag inside them (the entry becomes an ordinary buffer).
	 */
	loop_setup(&l, false, false, false, 8);
	outer = vtc_mem_alloc(vtc_dev_mem(l.dev), 16, 16, &d.addr);
	CU_ASSERT_FATAL(outer != NULL);
	CU_ASSERT_FATAL(vtc_mem_alloc(vtc_dev_mem(l.dev), 16, 16, &inner_gpa) != NULL);
	outer->addr = htole64(inner_gpa);
	outer->len = htole32(16);
	outer->flags = htole16(VRING_DESC_F_INDIRECT);
	CU_ASSERT_FATAL(vtc_vq_submit_raw(l.vq, &d, 1, NULL) >= 0);
	l.chain.iov = l.iov;
	CU_ASSERT(vhost_vq_pop(&l.dvq, &l.mem, &l.chain) == -EINVAL);
	CU_ASSERT(l.chain.err == VHOST_VQ_ERR_INDIRECT_NESTED);
	loop_teardown(&l);
}

static void
raw_address_outside_guest_memory_is_rejected(void)
{
	for (int packed = 0; packed < 2; packed++) {
		/* gpa 0x1000 is below guest memory (which starts at 1 GiB). */
		struct vtc_desc bad = { .addr = 0x1000, .len = 16 };
		struct loop l;

		loop_setup(&l, packed, false, false, 8);
		CU_ASSERT_FATAL(vtc_vq_submit_raw(l.vq, &bad, 1, NULL) >= 0);
		l.chain.iov = l.iov;
		CU_ASSERT(vhost_vq_pop(&l.dvq, &l.mem, &l.chain) == -EINVAL);
		CU_ASSERT(l.chain.err == VHOST_VQ_ERR_ADDR);
		loop_teardown(&l);
	}
}

static void
raw_packed_id_out_of_range_breaks_the_device_queue(void)
{
	struct vtc_desc d = { .len = 16, .id = 200, .vtc_flags = VTC_DESC_RAW_ID };
	struct loop l;

	loop_setup(&l, true, false, false, 8);
	CU_ASSERT_FATAL(vtc_mem_alloc(vtc_dev_mem(l.dev), 64, 0, &d.addr) != NULL);
	CU_ASSERT_FATAL(vtc_vq_submit_raw(l.vq, &d, 1, NULL) >= 0);
	l.chain.iov = l.iov;
	CU_ASSERT(vhost_vq_pop(&l.dvq, &l.mem, &l.chain) == -EIO);
	CU_ASSERT(vhost_vq_broken_reason(&l.dvq) == VHOST_VQ_ERR_ID_RANGE);
	loop_teardown(&l);
}

static void
raw_split_head_out_of_range_breaks_the_device_queue(void)
{
	struct loop l;

	loop_setup(&l, false, false, false, 8);
	vtc_vq_split_publish_head(l.vq, 9);
	l.chain.iov = l.iov;
	CU_ASSERT(vhost_vq_pop(&l.dvq, &l.mem, &l.chain) == -EIO);
	CU_ASSERT(vhost_vq_broken_reason(&l.dvq) == VHOST_VQ_ERR_HEAD_RANGE);
	loop_teardown(&l);
}

/* ---- a misbehaving device ---------------------------------------------------------------- */

static void
reap_refuses_a_used_index_jump(void)
{
	struct vring_used *used;
	struct vtc_cpl cpl;
	struct loop l;

	loop_setup(&l, false, false, false, 8);
	vtc_vq_rings(l.vq, NULL, NULL, (void **)&used);
	used->idx = htole16(9);
	CU_ASSERT(vtc_vq_reap(l.vq, &cpl, 1) == -EPROTO);
	CU_ASSERT(vtc_vq_is_broken(l.vq));
	CU_ASSERT(vtc_vq_submit_raw(l.vq, &(struct vtc_desc){ .len = 1 }, 1, NULL) == -EIO);
	loop_teardown(&l);
}

static void
reap_reports_a_used_id_not_in_flight(void)
{
	struct vring_used *used;
	struct vtc_cpl cpl;
	struct loop l;

	loop_setup(&l, false, false, false, 8);
	vtc_vq_rings(l.vq, NULL, NULL, (void **)&used);
	used->ring[0].id = htole32(5);
	used->ring[0].len = htole32(3);
	used->idx = htole16(1);
	CU_ASSERT(vtc_vq_reap(l.vq, &cpl, 1) == 1);
	CU_ASSERT(cpl.unknown);
	CU_ASSERT(cpl.cookie == NULL);
	CU_ASSERT(cpl.id == 5);
	CU_ASSERT(vtc_vq_free_descs(l.vq) == 8);
	loop_teardown(&l);
}

static void
reap_breaks_on_a_packed_id_not_in_flight(void)
{
	struct vring_packed_desc *ring;
	struct vtc_buf buf = { .len = 8 };
	struct vtc_cpl cpl;
	struct loop l;

	loop_setup(&l, true, false, false, 8);
	CU_ASSERT_FATAL(vtc_mem_alloc(vtc_dev_mem(l.dev), 64, 0, &buf.gpa) != NULL);
	CU_ASSERT_FATAL(vtc_vq_submit(l.vq, &buf, 1, 0, NULL) == 0);
	vtc_vq_rings(l.vq, (void **)&ring, NULL, NULL);
	ring[0].id = htole16(3);
	ring[0].flags =
		htole16((1u << VRING_PACKED_DESC_F_AVAIL) | (1u << VRING_PACKED_DESC_F_USED));
	CU_ASSERT(vtc_vq_reap(l.vq, &cpl, 1) == -EPROTO);
	CU_ASSERT(vtc_vq_is_broken(l.vq));
	loop_teardown(&l);
}

/* ---- guest memory and histogram ---------------------------------------------------------- */

static void
mem_rejects_unaligned_and_overlapping_regions(void)
{
	struct vtc_mem mem;

	vtc_mem_init(&mem);
	CU_ASSERT(vtc_mem_add_region(&mem, 4096, VTC_MEM_ALIGN) == -EINVAL);
	CU_ASSERT(vtc_mem_add_region(&mem, 0, VTC_MEM_ALIGN + 4096) == -EINVAL);
	CU_ASSERT(vtc_mem_add_region(&mem, 0, 0) == -EINVAL);
	CU_ASSERT(vtc_mem_add_region(&mem, 0, 2 * VTC_MEM_ALIGN) == 0);
	CU_ASSERT(vtc_mem_add_region(&mem, VTC_MEM_ALIGN, VTC_MEM_ALIGN) == -EINVAL);
	CU_ASSERT(vtc_mem_add_region(&mem, 4 * VTC_MEM_ALIGN, VTC_MEM_ALIGN) == 0);
	CU_ASSERT(mem.nregions == 2);
	vtc_mem_fini(&mem);
	CU_ASSERT(mem.nregions == 0);
}

static void
mem_translates_both_ways_and_allocates_aligned(void)
{
	struct vtc_mem_mark mark;
	struct vtc_mem mem;
	uint64_t gpa, back;
	uint8_t *p, *q;

	vtc_mem_init(&mem);
	CU_ASSERT_FATAL(vtc_mem_add_region(&mem, 0, VTC_MEM_ALIGN) == 0);
	CU_ASSERT_FATAL(vtc_mem_add_region(&mem, 8 * VTC_MEM_ALIGN, VTC_MEM_ALIGN) == 0);
	p = vtc_mem_alloc(&mem, 100, 4096, &gpa);
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT(gpa % 4096 == 0);
	CU_ASSERT(vtc_mem_gpa_to_host(&mem, gpa, 100) == p);
	CU_ASSERT(vtc_mem_host_to_gpa(&mem, p + 10, 1, &back) == 0 && back == gpa + 10);
	/* The gap between the regions and a range across a region's end are not memory. */
	CU_ASSERT(vtc_mem_gpa_to_host(&mem, 4 * VTC_MEM_ALIGN, 1) == NULL);
	CU_ASSERT(vtc_mem_gpa_to_host(&mem, VTC_MEM_ALIGN - 8, 16) == NULL);
	CU_ASSERT(vtc_mem_host_to_gpa(&mem, &mark, 1, &back) == -EFAULT);

	vtc_mem_mark(&mem, &mark);
	/* Too big for the rest of region 0: comes from region 1. */
	q = vtc_mem_alloc(&mem, VTC_MEM_ALIGN - 64, 0, &gpa);
	CU_ASSERT_FATAL(q != NULL);
	CU_ASSERT(gpa == 8 * VTC_MEM_ALIGN);
	CU_ASSERT(vtc_mem_alloc(&mem, VTC_MEM_ALIGN, 0, NULL) == NULL);
	vtc_mem_release(&mem, &mark);
	CU_ASSERT(vtc_mem_alloc(&mem, VTC_MEM_ALIGN - 64, 0, &gpa) == q);
	vtc_mem_fini(&mem);
}

static void
hist_quantiles_are_within_two_percent(void)
{
	struct vtc_hist *h = malloc(sizeof(*h));
	uint64_t p50, p99, p999;

	CU_ASSERT_FATAL(h != NULL);
	vtc_hist_init(h);
	CU_ASSERT(vtc_hist_quantile(h, 0.5) == 0);
	for (uint64_t v = 1; v <= 100000; v++) {
		vtc_hist_add(h, v);
	}
	p50 = vtc_hist_quantile(h, 0.5);
	p99 = vtc_hist_quantile(h, 0.99);
	p999 = vtc_hist_quantile(h, 0.999);
	CU_ASSERT(p50 > 49000 && p50 < 51000);
	CU_ASSERT(p99 > 97020 && p99 < 100980);
	CU_ASSERT(p999 > 97902 && p999 <= 100000);
	CU_ASSERT(h->min_ns == 1 && h->max_ns == 100000 && h->count == 100000);
	/* Small values are exact; huge ones land in the last bucket. */
	vtc_hist_init(h);
	vtc_hist_add(h, 77);
	CU_ASSERT(vtc_hist_quantile(h, 1.0) == 77);
	vtc_hist_add(h, UINT64_MAX / 2);
	CU_ASSERT(vtc_hist_quantile(h, 1.0) == UINT64_MAX / 2);
	free(h);
}

int
main(void)
{
	CU_pSuite suite;
	unsigned int failures;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("vtc_loopback", NULL, NULL);
	CU_ADD_TEST(suite, split_blk_request_round_trips_in_every_mode);
	CU_ADD_TEST(suite, packed_blk_request_round_trips_in_every_mode);
	CU_ADD_TEST(suite, split_ring_survives_laps_and_reverse_completion);
	CU_ADD_TEST(suite, packed_ring_survives_laps_and_reverse_completion);
	CU_ADD_TEST(suite, poll_mode_suppresses_device_notifications);
	CU_ADD_TEST(suite, interrupt_mode_gets_a_notification_per_completion);
	CU_ADD_TEST(suite, kicks_follow_the_device_suppression);
	CU_ADD_TEST(suite, event_idx_kicks_only_when_avail_event_is_crossed);
	CU_ADD_TEST(suite, raw_self_loop_is_rejected_by_the_device);
	CU_ADD_TEST(suite, raw_split_nested_indirect_is_rejected);
	CU_ADD_TEST(suite, raw_address_outside_guest_memory_is_rejected);
	CU_ADD_TEST(suite, raw_packed_id_out_of_range_breaks_the_device_queue);
	CU_ADD_TEST(suite, raw_split_head_out_of_range_breaks_the_device_queue);
	CU_ADD_TEST(suite, reap_refuses_a_used_index_jump);
	CU_ADD_TEST(suite, reap_reports_a_used_id_not_in_flight);
	CU_ADD_TEST(suite, reap_breaks_on_a_packed_id_not_in_flight);
	CU_ADD_TEST(suite, mem_rejects_unaligned_and_overlapping_regions);
	CU_ADD_TEST(suite, mem_translates_both_ways_and_allocates_aligned);
	CU_ADD_TEST(suite, hist_quantiles_are_within_two_percent);

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failures != 0;
}
