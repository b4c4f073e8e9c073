/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-scsi through the whole device path (lib/vhost/vhost_scsi.c): commands on a request
 * queue, task management and asynchronous notification requests on the control queue, and
 * events into the buffers the guest posts on the event queue, for a controller with two targets
 * (0 and 1, each a malloc bdev as LUN 0); target 1 can be hot-removed and added back.
 *
 * Input: a mode byte (bit 0 packed ring, bit 1 EVENT_IDX, bits 2-3 the queue: 0 request queue
 * 2, 1 control queue, 2 event queue, 3 request queue 3), then records until the input ends (at
 * most 32): a buffer count byte and a flags byte, then
 *   - flags bit 1 on the event queue: an event (le32 event, target byte, le32 reason) sent to
 *     the session;
 *   - flags bit 2 (first time only): target 1 is hot-removed (commands in flight) and added
 *     back;
 *   - otherwise a chain (fuzz_session.h, fs_bufs_from_input; flags bit 0: indirect; bit 3:
 *     on the control queue, which runs beside a request queue; bit 4: a long chain, as in
 *     fuzz_blk.c). The device answers it (flags bit 1: the next goes in before the answer),
 *     except on the event queue where it keeps it for an event.
 */
#include "lib/vhost/vhost_scsi.h"
#include "test/fuzz/fuzz_session.h"

#include <linux/virtio_scsi.h>

#define MAX_RECORDS 32

static struct vt_bdev *g_bdev1;

static int
scsi_backend(struct vhost_ctrlr *c)
{
	char err[256];
	int rc = vhost_scsi_backend_create(c, err, sizeof(err));

	if (rc == 0 && vhost_scsi_target_add(c, 0, "FuzzScsi0", err, sizeof(err)) != 0) {
		rc = -EINVAL;
	}
	if (rc == 0 && vhost_scsi_target_add(c, 1, "FuzzScsi1", err, sizeof(err)) != 1) {
		rc = -EINVAL;
	}
	return rc;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct bdev_malloc_opts opts = { .name = "FuzzScsi1",
					 .num_blocks = 256,
					 .block_size = 4096 };

	fuzz_quiet_logs();
	if (bdev_malloc_create(&opts, &g_bdev1) != 0) {
		abort();
	}
	fs_setup("FuzzScsi0", &g_vhost_scsi_ops, scsi_backend);
	return 0;
}

static void
removed(void *arg, int rc)
{
	*(int *)arg = rc == 0 ? 1 : -1;
}

/* Hot-removes target 1 and adds it back, as the RPCs do. */
static void
target1_cycle(void)
{
	uint64_t deadline = vt_get_ticks() + FS_CALL_TIMEOUT_TICKS;
	char err[256];
	int done = 0;

	if (vhost_scsi_target_remove(g_fs_ctrlr, 1, removed, &done, err, sizeof(err)) != 0) {
		abort();
	}
	while (done == 0) {
		vt_reactor_poll_once();
		if (vt_get_ticks() > deadline) {
			fprintf(stderr, "fuzz: target 1 was not removed in 10 s\n");
			abort();
		}
	}
	if (done != 1 || vhost_scsi_target_add(g_fs_ctrlr, 1, "FuzzScsi1", err, sizeof(err)) != 1) {
		fprintf(stderr, "fuzz: target 1 cannot be added back: %s\n", err);
		abort();
	}
}

/* VT_FUZZ_LOG: the first bytes of the first device-writable buffer (the response). */
static void
dump_response(int r, const struct fs_buf *b, int n)
{
	for (int i = 0; i < n; i++) {
		if (b[i].write && fs_in_mem(b[i].gpa, b[i].len)) {
			const uint8_t *p = fs_gva(b[i].gpa);

			fprintf(stderr, "fuzz_virtio_scsi: request %d:", r);
			for (uint32_t j = 0; j < VT_MIN(b[i].len, 12u); j++) {
				fprintf(stderr, " %02x", p[j]);
			}
			fprintf(stderr, "\n");
			return;
		}
	}
}

static const uint16_t g_queue[4] = {
	VHOST_SCSI_FIRST_REQ_QUEUE,
	VHOST_SCSI_CTRL_QUEUE,
	VHOST_SCSI_EVENT_QUEUE,
	VHOST_SCSI_FIRST_REQ_QUEUE + 1,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct fs_buf b[FS_MAX_BUFS];
	uint8_t mode = fuzz_u8(&in);
	uint16_t qidx = g_queue[(mode >> 2) & 3];
	uint64_t features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
			    (1ull << VIRTIO_SCSI_F_HOTPLUG) | (1ull << VIRTIO_SCSI_F_CHANGE);
	bool events = qidx == VHOST_SCSI_EVENT_QUEUE;
	bool cycled = false;
	struct fs_q fq, ctl = { .started = false };

	if (size < 2) {
		return 0;
	}
	features |= mode & 1 ? 1ull << VIRTIO_F_RING_PACKED : 0;
	features |= mode & 2 ? 1ull << VIRTIO_RING_F_EVENT_IDX : 0;
	if (fs_queue_start(&fq, qidx, features) != 0) {
		abort();
	}
	/* Beside a request queue, the control queue (task management of commands in flight). */
	if (qidx >= VHOST_SCSI_FIRST_REQ_QUEUE &&
	    fs_queue_start(&ctl, VHOST_SCSI_CTRL_QUEUE, features) != 0) {
		abort();
	}
	for (int r = 0; r < MAX_RECORDS && in.left > 0; r++) {
		uint8_t nbufs = fuzz_u8(&in), flags = fuzz_u8(&in);

		if ((flags & 4) && !cycled) {
			/* Once per input: each takes a management poller period (1 ms). */
			target1_cycle();
			cycled = true;
			continue;
		}
		if (events && (flags & 2)) {
			uint32_t event = fuzz_u32(&in), target = fuzz_u8(&in);

			vhost_scsi_send_event(g_fs_s, event, target, fuzz_u32(&in));
			/* A posted buffer comes back with the event. */
			if (fq.outstanding > 0) {
				fs_reap_one(&fq);
			}
			continue;
		}
		int n = fs_bufs_from_input(&in, b, nbufs);
		struct fs_q *q = (flags & 8) && ctl.started ? &ctl : &fq;
		const struct fs_buf *chain = b;
		bool indirect = flags & 1;

		if (flags & 16) {
			n = fs_lengthen(b, n, fuzz_u8(&in));
			chain = g_fs_long;
			indirect = true;
		}
		if (!events && !fs_room(q, indirect ? 1 : n) && !fs_reap_all(q)) {
			break;
		}
		if (events && !fs_room(q, indirect ? 1 : n)) {
			break; /* the ring is full of posted event buffers */
		}
		fs_submit(q, chain, n, indirect);
		if (events) {
			/* Let the event queue's poller see the buffer. */
			vt_reactor_poll_once();
			continue;
		}
		if (flags & 2) {
			continue; /* the next request goes in before this one is answered */
		}
		if (!fs_reap_all(q)) {
			break; /* the device stopped the queue (a request it cannot answer) */
		}
		if (getenv("VT_FUZZ_LOG") != NULL) {
			dump_response(r, chain, n);
		}
	}
	fs_queue_stop(&ctl);
	fs_queue_stop(&fq);
	return 0;
}
