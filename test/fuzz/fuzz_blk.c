/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-blk requests through the whole device path: chains the input builds on a split or
 * packed ring are popped by the session's poller, parsed and checked by lib/vhost/vhost_blk.c
 * and executed on a malloc bdev (2048 blocks of 512 bytes), then answered on the used ring.
 *
 * Input: a mode byte (bit 0 packed ring, bit 1 EVENT_IDX, bit 2 queue 1 instead of 0, bit 3 no
 * INDIRECT_DESC feature), then requests until the input ends (at most 32): a buffer count byte,
 * a flags byte (bit 0 through an indirect table, bit 1 the next request goes in before this one
 * is answered, bit 4 a long chain: a byte rep follows the buffers and each buffer is repeated
 * 1 + rep times in an indirect table), then the buffers (fuzz_session.h,
 * fs_bufs_from_input: the first readable bytes are the request header and data).
 */
#include "lib/vhost/vhost_blk.h"
#include "test/fuzz/fuzz_session.h"

#define MAX_REQS 32

static int
blk_backend(struct vhost_ctrlr *c)
{
	char err[256];

	return vhost_blk_backend_create(c, "FuzzMalloc0", false, false, true, err, sizeof(err));
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fs_setup("FuzzMalloc0", &g_vhost_blk_ops, blk_backend);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct fs_buf b[FS_MAX_BUFS];
	uint8_t mode = fuzz_u8(&in);
	uint64_t features = (1ull << VIRTIO_F_VERSION_1);
	struct fs_q fq;

	if (size < 2) {
		return 0;
	}
	features |= mode & 1 ? 1ull << VIRTIO_F_RING_PACKED : 0;
	features |= mode & 2 ? 1ull << VIRTIO_RING_F_EVENT_IDX : 0;
	features |= mode & 8 ? 0 : 1ull << VIRTIO_RING_F_INDIRECT_DESC;
	if (fs_queue_start(&fq, mode & 4 ? 1 : 0, features) != 0) {
		abort();
	}
	for (int r = 0; r < MAX_REQS && in.left > 0; r++) {
		uint8_t nbufs = fuzz_u8(&in), flags = fuzz_u8(&in);
		int n = fs_bufs_from_input(&in, b, nbufs);
		const struct fs_buf *chain = b;
		bool indirect = flags & 1;

		if (flags & 16) {
			n = fs_lengthen(b, n, fuzz_u8(&in));
			chain = g_fs_long;
			indirect = true;
		}
		if (!fs_room(&fq, indirect ? 1 : n) && !fs_reap_all(&fq)) {
			break;
		}
		fs_submit(&fq, chain, n, indirect);
		if (flags & 2) {
			continue; /* the next request goes in before this one is answered */
		}
		if (!fs_reap_all(&fq)) {
			break; /* the device stopped the queue (a request it cannot answer) */
		}
		if (getenv("VT_FUZZ_LOG") != NULL &&
		    fs_in_mem(chain[n - 1].gpa, chain[n - 1].len) && chain[n - 1].len > 0) {
			fprintf(stderr, "fuzz_blk: request %d: status %u\n", r,
				*((uint8_t *)fs_gva(chain[n - 1].gpa) + chain[n - 1].len - 1));
		}
	}
	fs_queue_stop(&fq);
	return 0;
}
