/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split and packed descriptor walks (lib/vhost/virtqueue.c) over a fake guest memory map: three
 * regions, each its own heap block of exactly its size (so AddressSanitizer sees any access a
 * translation lets out of a region), the first two adjacent in guest-physical space. The input
 * is the ring contents, indexes, flags and addresses, and a list of device operations.
 *
 * Input: mode (bit 0 packed, bit 1 INDIRECT_DESC, bit 2 EVENT_IDX), size byte, avail and used
 * base (le16 each), number of operations n, n operation bytes, then the contents of region 0 from
 * its start (descriptor ring at 0x0, avail ring / driver event at 0x1000, used ring / device event
 * at 0x1800; indirect tables and buffers anywhere).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/vhost/virtqueue.c"

#include "test/fuzz/fuzz_common.h"

#define R0_SIZE 0x4000u
#define R1_GPA 0x4000u /* right after region 0 */
#define R1_SIZE 0x1000u
#define R2_GPA 0x10000u
#define R2_SIZE 0x1000u
#define DRIVER_OFF 0x1000u
#define DEVICE_OFF 0x1800u
#define HDR_LEN 7u
#define IOV_CAP 64u
#define MAX_HELD 64u

static uint8_t *g_reg[3];
static const uint32_t g_reg_size[3] = { R0_SIZE, R1_SIZE, R2_SIZE };
static struct vhost_vq_mem g_mem;
static struct iovec g_iov[IOV_CAP];
static volatile uint8_t g_sink;

struct held {
	uint16_t id;
	uint16_t ndescs;
	uint32_t len;
};


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct vhost_vq_mem_region r[3];

	for (int i = 0; i < 3; i++) {
		g_reg[i] = malloc(g_reg_size[i]);
		if (g_reg[i] == NULL) {
			abort();
		}
	}
	r[0] = (struct vhost_vq_mem_region){ .gpa = 0, .size = R0_SIZE, .host = g_reg[0] };
	r[1] = (struct vhost_vq_mem_region){ .gpa = R1_GPA, .size = R1_SIZE, .host = g_reg[1] };
	r[2] = (struct vhost_vq_mem_region){ .gpa = R2_GPA, .size = R2_SIZE, .host = g_reg[2] };
	if (vhost_vq_mem_init(&g_mem, r, 3) != 0) {
		abort();
	}
	fuzz_quiet_logs();
	return 0;
}

/* Reads every readable byte and writes every writable one, as a personality would. */
static void
touch(const struct vhost_vq_chain *c)
{
	uint8_t acc = 0;

	for (uint32_t i = 0; i < c->niov; i++) {
		uint8_t *p = c->iov[i].iov_base;

		if (i < c->nreadable) {
			for (size_t j = 0; j < c->iov[i].iov_len; j++) {
				acc ^= p[j];
			}
		} else {
			memset(p, 0xa5, c->iov[i].iov_len);
		}
	}
	if (c->err_tail != NULL) {
		*c->err_tail = 0xee;
	}
	g_sink = acc;
}

static int
vq_setup(struct vhost_vq *vq, const uint8_t *h)
{
	bool packed = h[0] & 1;
	struct vhost_vq_params p = {
		.name = "fuzz",
		.index = 0,
		.features = (1ull << VIRTIO_F_VERSION_1) |
			    (h[0] & 2 ? 1ull << VIRTIO_RING_F_INDIRECT_DESC : 0) |
			    (h[0] & 4 ? 1ull << VIRTIO_RING_F_EVENT_IDX : 0) |
			    (packed ? 1ull << VIRTIO_F_RING_PACKED : 0),
		.avail_base = (uint16_t)(h[2] | h[3] << 8),
		.used_base = (uint16_t)(h[4] | h[5] << 8),
	};

	if (packed) {
		p.size = (uint16_t)(h[1] + 1); /* 1 .. 256: the ring fits below 0x1000 */
		return vhost_vq_init_packed(vq, &p, (void *)g_reg[0],
					    (void *)(g_reg[0] + DRIVER_OFF),
					    (void *)(g_reg[0] + DEVICE_OFF));
	}
	p.size = (uint16_t)(1u << (h[1] % 9)); /* 1 .. 256 */
	return vhost_vq_init_split(vq, &p, (void *)g_reg[0], (void *)(g_reg[0] + DRIVER_OFF),
				   (void *)(g_reg[0] + DEVICE_OFF));
}

/* Pops one chain; returns pop's code. A popped chain is held or pushed at once. */
static int
pop_one(struct vhost_vq *vq, struct held *held, uint32_t *nheld, bool hold)
{
	struct vhost_vq_chain c = { .iov = g_iov, .iov_max = IOV_CAP };
	int rc = vhost_vq_pop(vq, &g_mem, &c);

	if (rc != 0 && rc != -EINVAL) {
		return rc;
	}
	if (rc == 0) {
		touch(&c);
	} else if (c.err_tail != NULL) {
		*c.err_tail = 0xee;
	}
	if (hold && *nheld < MAX_HELD) {
		held[(*nheld)++] = (struct held){ c.id, c.ndescs, rc == 0 ? c.write_len : 1 };
	} else {
		vhost_vq_push(vq, c.id, c.ndescs, rc == 0 ? c.write_len : 0);
	}
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct held held[MAX_HELD];
	uint32_t nheld = 0, nops;
	struct vhost_vq vq;
	const uint8_t *ops;

	if (size < HDR_LEN) {
		return 0;
	}
	nops = data[6];
	if (size < HDR_LEN + nops) {
		return 0;
	}
	ops = data + HDR_LEN;
	for (int i = 0; i < 3; i++) {
		memset(g_reg[i], 0, g_reg_size[i]);
	}
	memcpy(g_reg[0], ops + nops, VT_MIN(size - HDR_LEN - nops, (size_t)R0_SIZE));
	if (vq_setup(&vq, data) != 0) {
		return 0;
	}
	for (uint32_t i = 0; i < nops; i++) {
		uint8_t op = ops[i];

		switch (op & 3) {
		case 0:
			pop_one(&vq, held, &nheld, op & 4);
			break;
		case 1:
			/* Drain what is available, as the poller does (bounded). */
			for (int n = 0; n < 300; n++) {
				int rc = pop_one(&vq, held, &nheld, op & 4);

				if (rc == -EAGAIN || rc == -EIO) {
					break;
				}
			}
			break;
		case 2:
			/* Completions come back in any order: from the end when bit 2 is set. */
			while (nheld > 0) {
				struct held *h = op & 4 ? &held[--nheld] : &held[0];

				vhost_vq_push(&vq, h->id, h->ndescs, h->len);
				if (!(op & 4)) {
					memmove(held, held + 1, --nheld * sizeof(*held));
				}
			}
			g_sink = vhost_vq_publish(&vq);
			break;
		default:
			if (op & 4) {
				vhost_vq_kick_disable(&vq);
			} else {
				g_sink = vhost_vq_kick_enable(&vq);
			}
			(void)vhost_vq_get_avail_base(&vq);
			(void)vhost_vq_get_used_base(&vq);
			break;
		}
	}
	return 0;
}
