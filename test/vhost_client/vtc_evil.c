/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vtc_evil: a malicious vhost-user-blk front end for the tests. Each `--case NAME` sends one kind
 * of bad input to the back end and prints one line saying how the back end answered:
 *
 *   case=NAME ring=split|packed result=R status=S used_len=N probe=P other=O conn=C stop=T
 *   reset=X ack=A status_mem=B stray=N late=L [other_ms=T]
 *
 * Ring cases (bad descriptor chains, bad virtio-blk requests) first check that queue 0 (and 1)
 * serve a verified write and read, then make the bad chain available on queue 0, kick, and wait
 * --wait ms for it to come back:
 *   result   status: the bad chain came back (status= the status byte the back end wrote:
 *            OK, IOERR, UNSUPP, or 0xff when it wrote none; used_len= the used length);
 *            none: no completion within --wait; closed: the back end closed the connection.
 *   probe    a verified write and read (read only on a read-only device) on queue 0 after the
 *            case: ok, none (no completion within --wait, or within --timeout when the bad
 *            chain came back), error-STATUS, mismatch, closed,
 *            ring-error (the back end broke the used ring), full (the bad chain holds the
 *            whole ring and never came back: nothing more can be submitted).
 *   other    the same on queue 1 of the same connection, waiting up to --timeout (- with one
 *            queue).
 *   stop     SET_VRING_ENABLE 0 + GET_VRING_BASE on every queue at the end: ok, failed, -.
 *   reset    after stop=ok, every queue set up again from scratch on the same connection (what
 *            a driver does when the device needs a reset), then the probe on queue 0:
 *            ok, none, ..., setup-failed, or - when not tried.
 *   status_mem  the bad request's status byte in guest memory at the end (0xff: never
 *            written; a device-readable status must stay so); stray: completions of ids that
 *            were not in flight; late=1: the bad chain came back only after --wait;
 *            other_ms: how long the check of queue 1 took (a slow back end shows here).
 * Message cases (bad vhost-user messages; split rings unless the case needs packed ones)
 * negotiate, then send the bad message asking for an ack (REPLY_ACK) and watch the connection
 * for --wait ms:
 *   result   closed: the back end ended the session; refused: a non-zero ack, connection
 *            still open; accepted: ack 0 (or none asked) and the connection open;
 *            ring-addr-late-size also: not-started (the queue never served a request) or
 *            served (it did, through a ring that leaves guest memory).
 *   ack      the ack's value, none (the connection closed first), timeout, reply (a request
 *            with a reply of its own was answered), or -.
 *
 * `vtc_evil --list` prints the cases. Exit status: 0 the case ran (whatever the outcome), 1 it
 * could not run (connect or the check before the case failed), 2 usage.
 */

#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vtc_internal.h"

#define SECTOR 512u
#define BLOCK 4096u
#define HDR_LEN ((uint32_t)sizeof(struct virtio_blk_outhdr))
#define DESC_LEN ((uint32_t)sizeof(struct vring_desc))
#define MEM_SIZE (16ull << 20)

/* Ring formats and kinds a case applies to. */
#define ON_SPLIT (1u << 0)
#define ON_PACKED (1u << 1)
#define ON_BOTH (ON_SPLIT | ON_PACKED)
#define IS_MSG (1u << 2)      /* a vhost-user message case (packed rings with ON_PACKED) */
#define NO_INDIRECT (1u << 3) /* negotiate without VIRTIO_RING_F_INDIRECT_DESC */

struct evil;

struct evil_case {
	const char *name;
	uint32_t flags;             /* ON_* | IS_MSG | NO_INDIRECT */
	int (*run)(struct evil *e); /* 0 when the bad input was sent, else -errno */
	const char *what;
};

struct evil {
	const struct evil_case *c;
	const char *path;
	bool packed;
	uint16_t queue_size;
	uint16_t nqueues;
	uint32_t wait_ms;
	uint32_t timeout_ms;
	uint64_t probe_sector;
	uint64_t seed;

	struct vtc_dev *dev;
	struct vtc_vq *vq; /* the attacked queue (0) */
	uint64_t mem_end;  /* end of guest memory (one region) */
	uint64_t capacity; /* sectors */
	bool readonly;     /* VIRTIO_BLK_F_RO negotiated */

	struct vtc_blk_req bad;      /* the bad request's header, data and status */
	struct vtc_blk_req probe[2]; /* per queue, for the checks before and after */

	/* Outcome. */
	bool bad_done; /* the bad chain came back */
	struct vtc_cpl bad_cpl;
	uint8_t bad_status;
	bool bad_late;  /* it came back after the --wait window */
	uint32_t stray; /* completions of ids that were not in flight */
	bool closed;
	const char *result;
	char ack[32];
};

/* The cookie of the bad chain (its address is what matters). */
static char g_bad_cookie;

/* ---- waiting for completions ------------------------------------------------------------- */

static void
sleep_us(long us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

static void
note_bad(struct evil *e, const struct vtc_cpl *cpl)
{
	e->bad_done = true;
	e->bad_cpl = *cpl;
	e->bad_status = *e->bad.status;
}

/*
 * Reaps vq until the chain with cookie comes back (0, *out filled), the back end closes the
 * connection (-ECONNRESET), breaks the used ring (-EPROTO) or ms pass (-ETIMEDOUT). The bad
 * chain is noted whenever it shows up.
 */
static int
wait_cookie(struct evil *e, struct vtc_vq *vq, void *cookie, uint32_t ms, struct vtc_cpl *out)
{
	uint64_t deadline = vtc_now_ns() + (uint64_t)ms * 1000000ull;

	for (;;) {
		struct vtc_cpl cpls[16];
		bool found = false;
		int n = vtc_vq_reap(vq, cpls, 16);

		if (n < 0) {
			return n;
		}
		for (int i = 0; i < n; i++) {
			if (cpls[i].cookie == &g_bad_cookie) {
				note_bad(e, &cpls[i]);
			} else if (cpls[i].unknown) {
				e->stray++;
			}
			if (cpls[i].cookie == cookie && cookie != NULL) {
				*out = cpls[i];
				found = true;
			}
		}
		if (found) {
			return 0;
		}
		if (vtc_dev_peer_closed(e->dev, 0)) {
			e->closed = true;
			return -ECONNRESET;
		}
		if (vtc_now_ns() >= deadline) {
			return -ETIMEDOUT;
		}
		sleep_us(200);
	}
}

/* ---- the probe: a verified write and read on one queue ----------------------------------- */

static void
pattern(uint8_t *buf, uint32_t len, uint64_t seed)
{
	for (uint32_t i = 0; i < len; i++) {
		buf[i] = (uint8_t)((seed >> ((i & 7) * 8)) ^ (i * 31u) ^ (i >> 8));
	}
}

/* One request on vq, waited for: a probe word ("ok", ...) in *word, 0 when it completed OK. */
static int
probe_one(struct evil *e, struct vtc_vq *vq, struct vtc_blk_req *req, uint32_t type,
	  uint32_t wait_ms, const char **word, char *buf, size_t len)
{
	struct vtc_cpl cpl;
	int rc;

	rc = vtc_blk_submit(vq, req, type, e->probe_sector + vtc_vq_index(vq) * (BLOCK / SECTOR),
			    BLOCK, 0);
	if (rc < 0) {
		/* full: the bad chain holds the whole ring and never came back. */
		*word = rc == -ENOSPC ? "full" : "submit-failed";
		return rc;
	}
	vtc_vq_kick_force(vq);
	rc = wait_cookie(e, vq, req, wait_ms, &cpl);
	if (rc == -ETIMEDOUT) {
		*word = "none";
	} else if (rc == -ECONNRESET) {
		*word = "closed";
	} else if (rc != 0) {
		*word = "ring-error";
	} else if (*req->status != VIRTIO_BLK_S_OK) {
		char s[16];

		snprintf(buf, len, "error-%s", vtc_blk_status_str(*req->status, s, sizeof(s)));
		*word = buf;
		rc = -EIO;
	}
	return rc;
}

/*
 * Writes a pattern to the queue's probe block and reads it back (only reads on a read-only
 * device). Returns "ok" or what went wrong.
 */
static const char *
probe(struct evil *e, uint16_t q, uint32_t wait_ms, char *buf, size_t len)
{
	struct vtc_vq *vq = vtc_dev_vq(e->dev, q);
	struct vtc_blk_req *req = &e->probe[q];
	const char *word = "ok";
	uint64_t seed = e->seed + q;

	if (vq == NULL) {
		return "-";
	}
	if (!e->readonly) {
		pattern(req->data, BLOCK, seed);
		if (probe_one(e, vq, req, VIRTIO_BLK_T_OUT, wait_ms, &word, buf, len) != 0) {
			return word;
		}
	}
	memset(req->data, 0xa5, BLOCK);
	if (probe_one(e, vq, req, VIRTIO_BLK_T_IN, wait_ms, &word, buf, len) != 0) {
		return word;
	}
	if (!e->readonly) {
		uint8_t want[BLOCK];

		pattern(want, BLOCK, seed);
		if (memcmp(want, req->data, BLOCK) != 0) {
			return "mismatch";
		}
	}
	return "ok";
}

/* ---- building bad chains ----------------------------------------------------------------- */

static void
set_hdr(struct evil *e, uint32_t type, uint64_t sector)
{
	e->bad.hdr->type = htole32(type);
	e->bad.hdr->ioprio = 0;
	e->bad.hdr->sector = htole64(sector);
	*e->bad.status = 0xff;
}

static struct vtc_desc
desc(uint64_t addr, uint32_t len, uint16_t flags)
{
	return (struct vtc_desc){ .addr = addr, .len = len, .flags = flags };
}

/* A well-formed read: header, 4 KiB of data, status; the cases spoil one part. */
static void
read_chain(struct evil *e, struct vtc_desc d[3])
{
	set_hdr(e, VIRTIO_BLK_T_IN, 0);
	d[0] = desc(e->bad.hdr_gpa, HDR_LEN, VRING_DESC_F_NEXT);
	d[1] = desc(e->bad.data_gpa, BLOCK, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT);
	d[2] = desc(e->bad.status_gpa, 1, VRING_DESC_F_WRITE);
}

/* Makes the chain available on the attacked queue and kicks. */
static int
submit(struct evil *e, const struct vtc_desc *d, uint16_t n)
{
	int id = vtc_vq_submit_raw(e->vq, d, n, &g_bad_cookie);

	if (id < 0) {
		fprintf(stderr, "vtc_evil: cannot make the bad chain available: %s\n",
			strerror(-id));
		return id;
	}
	return vtc_vq_kick_force(e->vq);
}

/* An indirect table of n entries in guest memory: host pointer, *gpa its address. */
static struct vring_desc *
table_alloc(struct evil *e, uint32_t n, uint64_t *gpa)
{
	struct vring_desc *t = vtc_mem_alloc(vtc_dev_mem(e->dev), (uint64_t)n * DESC_LEN, 16, gpa);

	if (t == NULL) {
		fprintf(stderr, "vtc_evil: guest memory too small for a table of %u entries\n", n);
	}
	return t;
}

/* Writes entry i of a table in the ring's format (split: next = i + 1 when NEXT). */
static void
table_set(struct evil *e, struct vring_desc *t, uint32_t i, struct vtc_desc d)
{
	if (e->packed) {
		struct vring_packed_desc *p = (struct vring_packed_desc *)&t[i];

		p->addr = htole64(d.addr);
		p->len = htole32(d.len);
		p->id = 0;
		p->flags = htole16(d.flags & (uint16_t)~VRING_DESC_F_NEXT);
		return;
	}
	t[i].addr = htole64(d.addr);
	t[i].len = htole32(d.len);
	t[i].flags = htole16(d.flags);
	t[i].next = htole16((d.vtc_flags & VTC_DESC_RAW_NEXT) ? d.next : (uint16_t)(i + 1));
}

/* A table holding the three buffers of a read; gpa its address. */
static struct vring_desc *
read_table(struct evil *e, uint64_t *gpa)
{
	struct vring_desc *t = table_alloc(e, 3, gpa);
	struct vtc_desc d[3];

	if (t == NULL) {
		return NULL;
	}
	read_chain(e, d);
	for (uint32_t i = 0; i < 3; i++) {
		table_set(e, t, i, d[i]);
	}
	return t;
}

/* One ring descriptor pointing at an indirect table. */
static int
submit_indirect(struct evil *e, uint64_t addr, uint32_t len)
{
	struct vtc_desc d = desc(addr, len, VRING_DESC_F_INDIRECT);

	return submit(e, &d, 1);
}

/* ---- ring cases -------------------------------------------------------------------------- */

static int
case_desc_addr_outside(struct evil *e)
{
	struct vtc_desc d[3];

	read_chain(e, d);
	d[1].addr = e->mem_end + BLOCK;
	return submit(e, d, 3);
}

static int
case_desc_addr_straddle(struct evil *e)
{
	struct vtc_desc d[3];

	read_chain(e, d);
	d[1].addr = e->mem_end - BLOCK / 2;
	return submit(e, d, 3);
}

static int
case_desc_addr_overflow(struct evil *e)
{
	struct vtc_desc d[3];

	read_chain(e, d);
	d[1].addr = UINT64_MAX - BLOCK + 1; /* + 2 blocks wraps past 2^64 */
	d[1].len = 2 * BLOCK;
	return submit(e, d, 3);
}

static int
case_desc_len_zero(struct evil *e)
{
	struct vtc_desc d[3];

	read_chain(e, d);
	d[1].len = 0;
	return submit(e, d, 3);
}

/* Split: the index vtc_split_add will give the k-th descriptor of the next chain. */
static uint16_t
next_desc_index(const struct vtc_vq *vq, uint32_t k)
{
	uint16_t idx = vq->free_head;

	while (k-- > 0) {
		idx = vq->free_next[idx];
	}
	return idx;
}

static int
case_desc_loop(struct evil *e)
{
	struct vtc_desc d[3];

	/* header -> data -> status -> data -> status ... */
	read_chain(e, d);
	d[2].flags |= VRING_DESC_F_NEXT;
	d[2].next = next_desc_index(e->vq, 1);
	d[2].vtc_flags = VTC_DESC_RAW_NEXT;
	return submit(e, d, 3);
}

static int
case_next_beyond(struct evil *e)
{
	struct vtc_desc d[3];

	read_chain(e, d);
	d[1].next = (uint16_t)(e->queue_size + 3);
	d[1].vtc_flags = VTC_DESC_RAW_NEXT;
	return submit(e, d, 3);
}

/*
 * Every descriptor of the ring in one chain. Split: the last links back to the head (one more
 * than the queue holds); packed: the last has NEXT too, so the chain runs past the ring's end
 * into its own head.
 */
static int
case_chain_too_long(struct evil *e)
{
	uint16_t n = e->queue_size;
	struct vtc_desc *d = calloc(n, sizeof(*d));
	uint32_t slice = BLOCK / (n - 2u) >= 16 ? BLOCK / (n - 2u) : 16;
	int rc;

	if (d == NULL) {
		return -ENOMEM;
	}
	read_chain(e, d);
	for (uint16_t i = 1; i + 1 < n; i++) {
		d[i] = desc(e->bad.data_gpa + ((i - 1u) * slice) % BLOCK, slice,
			    VRING_DESC_F_WRITE | VRING_DESC_F_NEXT);
	}
	d[n - 1] = desc(e->bad.status_gpa, 1, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT);
	if (!e->packed) {
		d[n - 1].next = next_desc_index(e->vq, 0);
		d[n - 1].vtc_flags = VTC_DESC_RAW_NEXT;
	}
	rc = submit(e, d, n);
	free(d);
	return rc;
}

static int
case_head_beyond(struct evil *e)
{
	set_hdr(e, VIRTIO_BLK_T_IN, 0);
	vtc_vq_split_publish_head(e->vq, e->queue_size);
	return vtc_vq_kick_force(e->vq);
}

static int
case_avail_idx_jump(struct evil *e)
{
	set_hdr(e, VIRTIO_BLK_T_IN, 0);
	vtc_vq_split_set_avail_idx(e->vq, (uint16_t)(e->vq->avail_idx + e->queue_size + 1));
	return vtc_vq_kick_force(e->vq);
}

static int
case_packed_id_beyond(struct evil *e)
{
	struct vtc_desc d[3];

	read_chain(e, d);
	for (int i = 0; i < 3; i++) {
		d[i].id = e->queue_size;
		d[i].vtc_flags = VTC_DESC_RAW_ID;
	}
	return submit(e, d, 3);
}

static int
case_indirect_nested(struct evil *e)
{
	uint64_t outer_gpa, inner_gpa;
	struct vring_desc *outer, *inner;

	inner = table_alloc(e, 2, &inner_gpa);
	outer = table_alloc(e, 2, &outer_gpa);
	if (inner == NULL || outer == NULL) {
		return -ENOMEM;
	}
	set_hdr(e, VIRTIO_BLK_T_IN, 0);
	/* header, then an indirect table (data, status) inside the indirect table */
	table_set(e, inner, 0,
		  desc(e->bad.data_gpa, BLOCK, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT));
	table_set(e, inner, 1, desc(e->bad.status_gpa, 1, VRING_DESC_F_WRITE));
	table_set(e, outer, 0, desc(e->bad.hdr_gpa, HDR_LEN, VRING_DESC_F_NEXT));
	table_set(e, outer, 1, desc(inner_gpa, 2 * DESC_LEN, VRING_DESC_F_INDIRECT));
	return submit_indirect(e, outer_gpa, 2 * DESC_LEN);
}

static int
case_indirect_loop(struct evil *e)
{
	uint64_t gpa;
	struct vring_desc *t = read_table(e, &gpa);

	if (t == NULL) {
		return -ENOMEM;
	}
	/* status -> data again */
	t[2].flags = htole16(VRING_DESC_F_WRITE | VRING_DESC_F_NEXT);
	t[2].next = htole16(1);
	return submit_indirect(e, gpa, 3 * DESC_LEN);
}

static int
case_indirect_len_zero(struct evil *e)
{
	uint64_t gpa;

	return read_table(e, &gpa) == NULL ? -ENOMEM : submit_indirect(e, gpa, 0);
}

static int
case_indirect_len_unaligned(struct evil *e)
{
	uint64_t gpa;

	return read_table(e, &gpa) == NULL ? -ENOMEM : submit_indirect(e, gpa, 3 * DESC_LEN - 8);
}

/* A table whose last entries lie past the end of guest memory. */
static int
case_indirect_beyond_memory(struct evil *e)
{
	uint64_t gpa = e->mem_end - DESC_LEN;
	struct vring_desc *t = vtc_mem_gpa_to_host(vtc_dev_mem(e->dev), gpa, DESC_LEN);
	struct vtc_desc d[3];

	if (t == NULL) {
		return -EFAULT;
	}
	read_chain(e, d);
	table_set(e, t, 0, d[0]);
	return submit_indirect(e, gpa, 3 * DESC_LEN);
}

static int
case_indirect_addr_outside(struct evil *e)
{
	set_hdr(e, VIRTIO_BLK_T_IN, 0);
	return submit_indirect(e, e->mem_end + BLOCK, 3 * DESC_LEN);
}

/* More entries than any queue allows (the engine's bound is max(queue size, 1024)). */
static int
case_indirect_too_big(struct evil *e)
{
	uint32_t n = (e->queue_size > 1024 ? e->queue_size : 1024) + 1;
	uint64_t gpa;
	struct vring_desc *t = table_alloc(e, n, &gpa);
	struct vtc_desc d[3];

	if (t == NULL) {
		return -ENOMEM;
	}
	read_chain(e, d);
	for (uint32_t i = 0; i < 3; i++) {
		table_set(e, t, i, d[i]);
	}
	return submit_indirect(e, gpa, n * DESC_LEN);
}

/* Indirect descriptor although VIRTIO_RING_F_INDIRECT_DESC was not negotiated. */
static int
case_indirect_no_feature(struct evil *e)
{
	uint64_t gpa;

	return read_table(e, &gpa) == NULL ? -ENOMEM : submit_indirect(e, gpa, 3 * DESC_LEN);
}

/* Packed: an indirect descriptor followed by another descriptor in the chain. */
static int
case_indirect_chained(struct evil *e)
{
	uint64_t gpa;
	struct vtc_desc d[2];

	if (read_table(e, &gpa) == NULL) {
		return -ENOMEM;
	}
	d[0] = desc(gpa, 2 * DESC_LEN, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT);
	d[1] = desc(e->bad.status_gpa, 1, VRING_DESC_F_WRITE);
	return submit(e, d, 2);
}

/* A write whose status descriptor is device-readable: nowhere to write a status. */
static int
case_status_readonly(struct evil *e)
{
	struct vtc_desc d[3];

	set_hdr(e, VIRTIO_BLK_T_OUT, 0);
	d[0] = desc(e->bad.hdr_gpa, HDR_LEN, VRING_DESC_F_NEXT);
	d[1] = desc(e->bad.data_gpa, BLOCK, VRING_DESC_F_NEXT);
	d[2] = desc(e->bad.status_gpa, 1, 0);
	return submit(e, d, 3);
}

/* A read whose status descriptor is device-readable, after the writable data. */
static int
case_status_readonly_in(struct evil *e)
{
	struct vtc_desc d[3];

	read_chain(e, d);
	d[2].flags = 0;
	return submit(e, d, 3);
}

/* A read whose status buffer has length 0: there is no byte to write a status into. */
static int
case_status_len_zero(struct evil *e)
{
	struct vtc_desc d[3];

	read_chain(e, d);
	d[2].len = 0;
	return submit(e, d, 3);
}

/* A read whose (writable) status buffer lies outside guest memory. */
static int
case_status_addr_outside(struct evil *e)
{
	struct vtc_desc d[3];

	read_chain(e, d);
	d[2].addr = e->mem_end + BLOCK;
	return submit(e, d, 3);
}

static int
case_header_short(struct evil *e)
{
	struct vtc_desc d[3];

	read_chain(e, d);
	d[0].len = HDR_LEN - 8;
	return submit(e, d, 3);
}

/* No header at all: the chain is only the status byte. */
static int
case_header_missing(struct evil *e)
{
	struct vtc_desc d = desc(e->bad.status_gpa, 1, VRING_DESC_F_WRITE);

	*e->bad.status = 0xff;
	return submit(e, &d, 1);
}

static int
read_at(struct evil *e, uint64_t sector)
{
	struct vtc_desc d[3];

	read_chain(e, d);
	e->bad.hdr->sector = htole64(sector);
	return submit(e, d, 3);
}

static int
case_sector_beyond(struct evil *e)
{
	return read_at(e, e->capacity);
}

static int
case_sector_straddle(struct evil *e)
{
	return read_at(e, e->capacity - 1);
}

/* A sector whose byte offset overflows 64 bits. */
static int
case_sector_overflow(struct evil *e)
{
	return read_at(e, UINT64_MAX - 3);
}

static int
case_write_readonly(struct evil *e)
{
	struct vtc_desc d[3];

	set_hdr(e, VIRTIO_BLK_T_OUT, 0);
	memset(e->bad.data, 0x5a, BLOCK);
	d[0] = desc(e->bad.hdr_gpa, HDR_LEN, VRING_DESC_F_NEXT);
	d[1] = desc(e->bad.data_gpa, BLOCK, VRING_DESC_F_NEXT);
	d[2] = desc(e->bad.status_gpa, 1, VRING_DESC_F_WRITE);
	return submit(e, d, 3);
}

static int
case_unknown_type(struct evil *e)
{
	struct vtc_desc d[3];

	read_chain(e, d);
	e->bad.hdr->type = htole32(0x7e57);
	return submit(e, d, 3);
}

/* ---- message cases ----------------------------------------------------------------------- */

/*
 * Sends msg asking for an ack when REPLY_ACK was negotiated, then watches the connection:
 * e->result and e->ack say what happened.
 */
static int
send_bad(struct evil *e, uint32_t request, const void *payload, uint32_t size, const int *fds,
	 int nfds)
{
	struct vhost_user_msg msg = {
		.hdr = { .request = request, .flags = VHOST_USER_VERSION, .size = size }
	};
	bool ack = vtc_has_protocol(e->dev, VHOST_USER_PROTOCOL_F_REPLY_ACK);
	uint64_t ack_value = 0;
	int rc;

	memcpy(&msg.payload, payload, size);
	if (ack) {
		msg.hdr.flags |= VHOST_USER_FLAG_NEED_REPLY;
	}
	rc = vtc_msg_send(e->dev, &msg, fds, nfds);
	if (rc != 0) {
		/* The back end may have closed the connection before we sent. */
		snprintf(e->ack, sizeof(e->ack), "none");
		e->closed = vtc_dev_peer_closed(e->dev, e->wait_ms);
		e->result = e->closed ? "closed" : "send-failed";
		return 0;
	}
	snprintf(e->ack, sizeof(e->ack), "-");
	if (ack) {
		/* Zeroed: a reply of its own without payload (SET_LOG_BASE) reads as ack 0. */
		struct vhost_user_msg reply = { .hdr = { 0 } };

		rc = vtc_msg_recv(e->dev, &reply, NULL, NULL, e->wait_ms);
		if (rc == 0) {
			ack_value = reply.payload.u64;
			snprintf(e->ack, sizeof(e->ack), "%" PRIu64, ack_value);
		} else {
			snprintf(e->ack, sizeof(e->ack), "%s",
				 rc == -ETIMEDOUT ? "timeout" : "none");
		}
	}
	e->closed = vtc_dev_peer_closed(e->dev, e->wait_ms);
	if (e->closed) {
		e->result = "closed";
	} else if (ack_value != 0) {
		e->result = "refused";
	} else {
		e->result = "accepted";
	}
	return 0;
}

/* Negotiated, rings allocated in guest memory, features set: ready for SET_MEM_TABLE. */
static int
msg_prepare(struct evil *e)
{
	int rc = vtc_dev_alloc_rings(e->dev);

	if (rc == 0) {
		rc = vtc_dev_set_features(e->dev, vtc_dev_features(e->dev));
	}
	return rc;
}

static void
region_of(const struct vtc_mem_region *r, struct vhost_user_mem_region *out)
{
	*out = (struct vhost_user_mem_region){ .gpa = r->gpa,
					       .size = r->size,
					       .uaddr = (uint64_t)(uintptr_t)r->host };
}

static int
send_table(struct evil *e, const struct vhost_user_mem *table, const int *fds)
{
	return send_bad(e, VHOST_USER_SET_MEM_TABLE, table,
			(uint32_t)(offsetof(struct vhost_user_mem, regions) +
				   table->nregions * sizeof(table->regions[0])),
			fds, (int)table->nregions);
}

static int
case_mem_region_beyond_file(struct evil *e)
{
	struct vhost_user_mem table = { .nregions = 1 };
	const struct vtc_mem_region *r = &vtc_dev_mem(e->dev)->regions[0];
	int rc = msg_prepare(e);

	if (rc != 0) {
		return rc;
	}
	region_of(r, &table.regions[0]);
	table.regions[0].size = 2 * r->size; /* the memfd holds r->size bytes */
	return send_table(e, &table, &r->fd);
}

static int
case_mem_region_offset_beyond(struct evil *e)
{
	struct vhost_user_mem table = { .nregions = 1 };
	const struct vtc_mem_region *r = &vtc_dev_mem(e->dev)->regions[0];
	int rc = msg_prepare(e);

	if (rc != 0) {
		return rc;
	}
	region_of(r, &table.regions[0]);
	table.regions[0].mmap_offset = r->size; /* starts where the file ends */
	return send_table(e, &table, &r->fd);
}

/* A region whose guest-physical range wraps past 2^64. */
static int
case_mem_region_wrap(struct evil *e)
{
	struct vhost_user_mem table = { .nregions = 1 };
	const struct vtc_mem_region *r = &vtc_dev_mem(e->dev)->regions[0];
	int rc = msg_prepare(e);

	if (rc != 0) {
		return rc;
	}
	region_of(r, &table.regions[0]);
	table.regions[0].gpa = UINT64_MAX - r->size / 2 + 1;
	return send_table(e, &table, &r->fd);
}

static int
case_mem_region_empty(struct evil *e)
{
	struct vhost_user_mem table = { .nregions = 1 };
	const struct vtc_mem_region *r = &vtc_dev_mem(e->dev)->regions[0];
	int rc = msg_prepare(e);

	if (rc != 0) {
		return rc;
	}
	region_of(r, &table.regions[0]);
	table.regions[0].size = 0;
	return send_table(e, &table, &r->fd);
}

static int
case_mem_regions_overlap(struct evil *e)
{
	struct vhost_user_mem table = { .nregions = 2 };
	const struct vtc_mem_region *r = &vtc_dev_mem(e->dev)->regions[0];
	int fds[2] = { -1, -1 };
	void *host;
	int rc = msg_prepare(e);

	if (rc != 0) {
		return rc;
	}
	fds[0] = r->fd;
	/* A second file of the same size, at a guest address inside the first region. */
	fds[1] = memfd_create("vtc-evil-overlap", MFD_CLOEXEC);
	if (fds[1] < 0 || ftruncate(fds[1], (off_t)r->size) != 0) {
		rc = -errno;
		goto out;
	}
	host = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[1], 0);
	if (host == MAP_FAILED) {
		rc = -errno;
		goto out;
	}
	region_of(r, &table.regions[0]);
	table.regions[1] = (struct vhost_user_mem_region){ .gpa = r->gpa + r->size / 2,
							   .size = r->size,
							   .uaddr = (uint64_t)(uintptr_t)host };
	rc = send_table(e, &table, fds);
	munmap(host, r->size);
out:
	if (fds[1] >= 0) {
		close(fds[1]);
	}
	return rc;
}

/* Valid memory table, then SET_VRING_NUM and SET_VRING_BASE of queue 0. */
static int
msg_prepare_ring(struct evil *e)
{
	struct vhost_user_vring_state num = { .index = 0, .num = e->queue_size };
	struct vhost_user_vring_state base = { .index = 0, .num = 0 };
	int rc = msg_prepare(e);

	if (rc == 0) {
		rc = vtc_dev_set_mem_table(e->dev);
	}
	if (rc == 0) {
		rc = vtc_request(e->dev, VHOST_USER_SET_VRING_NUM, &num, sizeof(num), NULL, 0,
				 NULL);
	}
	if (rc == 0) {
		rc = vtc_request(e->dev, VHOST_USER_SET_VRING_BASE, &base, sizeof(base), NULL, 0,
				 NULL);
	}
	return rc;
}

static int
send_ring_addr(struct evil *e, uint64_t desc_addr, uint64_t used_addr)
{
	struct vtc_vq *vq = &e->dev->vqs[0];
	struct vhost_user_vring_addr addr = {
		.index = 0,
		.desc = desc_addr ? desc_addr : (uint64_t)(uintptr_t)vq->desc,
		.avail = (uint64_t)(uintptr_t)vq->driver,
		.used = used_addr ? used_addr : (uint64_t)(uintptr_t)vq->device,
	};
	int rc = msg_prepare_ring(e);

	return rc != 0 ? rc : send_bad(e, VHOST_USER_SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0);
}

static int
case_ring_addr_outside(struct evil *e)
{
	const struct vtc_mem_region *r = &vtc_dev_mem(e->dev)->regions[0];

	/* Our own address space, but not guest memory. */
	return send_ring_addr(e, (uint64_t)(uintptr_t)r->host + r->size + (64u << 20), 0);
}

static int
case_ring_addr_straddle(struct evil *e)
{
	const struct vtc_mem_region *r = &vtc_dev_mem(e->dev)->regions[0];

	/* The used ring starts 64 bytes before the region's end. */
	return send_ring_addr(e, 0, (uint64_t)(uintptr_t)r->host + r->size - 64);
}

static int
send_vring_num(struct evil *e, uint32_t index, uint32_t num)
{
	struct vhost_user_vring_state state = { .index = index, .num = num };
	int rc = msg_prepare(e);

	if (rc == 0) {
		rc = vtc_dev_set_mem_table(e->dev);
	}
	return rc != 0 ? rc : send_bad(e, VHOST_USER_SET_VRING_NUM, &state, sizeof(state), NULL, 0);
}

static int
case_queue_index_range(struct evil *e)
{
	return send_vring_num(e, vtc_dev_max_queues(e->dev), e->queue_size);
}

static int
case_ring_size_not_pow2(struct evil *e)
{
	return send_vring_num(e, 0, 100);
}

static int
case_ring_size_too_big(struct evil *e)
{
	return send_vring_num(e, 0, 65536);
}

static int
case_ring_size_zero(struct evil *e)
{
	return send_vring_num(e, 0, 0);
}

static int
case_queue_index_kick(struct evil *e)
{
	uint64_t value = vtc_dev_max_queues(e->dev);
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int rc;

	if (fd < 0) {
		return -errno;
	}
	rc = msg_prepare(e);
	if (rc == 0) {
		rc = vtc_dev_set_mem_table(e->dev);
	}
	if (rc == 0) {
		rc = send_bad(e, VHOST_USER_SET_VRING_KICK, &value, sizeof(value), &fd, 1);
	}
	close(fd);
	return rc;
}

static int
case_mem_table_fd_missing(struct evil *e)
{
	struct vhost_user_mem table = { .nregions = 1 };
	int rc = msg_prepare(e);

	if (rc != 0) {
		return rc;
	}
	region_of(&vtc_dev_mem(e->dev)->regions[0], &table.regions[0]);
	return send_bad(
		e, VHOST_USER_SET_MEM_TABLE, &table,
		(uint32_t)(offsetof(struct vhost_user_mem, regions) + sizeof(table.regions[0])),
		NULL, 0);
}

/* nregions says 9, one more than the protocol allows (and than the payload holds). */
static int
case_mem_table_too_many(struct evil *e)
{
	struct vhost_user_mem table = { .nregions = VHOST_USER_MAX_REGIONS + 1 };
	const struct vtc_mem_region *r = &vtc_dev_mem(e->dev)->regions[0];
	int rc = msg_prepare(e);

	if (rc != 0) {
		return rc;
	}
	region_of(r, &table.regions[0]);
	return send_bad(e, VHOST_USER_SET_MEM_TABLE, &table, sizeof(table), &r->fd, 1);
}

/* SET_FEATURES with a transport feature the back end did not offer. */
static int
case_features_not_offered(struct evil *e)
{
	uint64_t offered = vtc_dev_offered_features(e->dev);
	uint64_t f = vtc_dev_features(e->dev);
	unsigned int bit;

	for (bit = VIRTIO_F_IN_ORDER; bit < 64 && ((offered >> bit) & 1); bit++) {
	}
	if (bit == 64) {
		return -ENOTSUP;
	}
	f |= 1ull << bit;
	return send_bad(e, VHOST_USER_SET_FEATURES, &f, sizeof(f), NULL, 0);
}

/* Packed: SET_VRING_BASE naming a slot beyond the ring. */
static int
case_vring_base_beyond(struct evil *e)
{
	struct vhost_user_vring_state num = { .index = 0, .num = e->queue_size };
	struct vhost_user_vring_state base = { .index = 0, .num = (1u << 15) | e->queue_size };
	int rc = msg_prepare(e);

	if (rc == 0) {
		rc = vtc_dev_set_mem_table(e->dev);
	}
	if (rc == 0) {
		rc = vtc_request(e->dev, VHOST_USER_SET_VRING_NUM, &num, sizeof(num), NULL, 0,
				 NULL);
	}
	return rc != 0 ? rc : send_bad(e, VHOST_USER_SET_VRING_BASE, &base, sizeof(base), NULL, 0);
}

static int
case_get_vring_base_range(struct evil *e)
{
	struct vhost_user_vring_state state = { .index = vtc_dev_max_queues(e->dev) };
	struct vhost_user_msg msg = { .hdr = { .request = VHOST_USER_GET_VRING_BASE,
					       .flags = VHOST_USER_VERSION,
					       .size = sizeof(state) } };
	int rc = msg_prepare(e);

	if (rc == 0) {
		rc = vtc_dev_set_mem_table(e->dev);
	}
	if (rc != 0) {
		return rc;
	}
	/* A request with a reply of its own: no ack asked, the reply (if any) is the answer. */
	msg.payload.state = state;
	rc = vtc_msg_send(e->dev, &msg, NULL, 0);
	if (rc == 0) {
		struct vhost_user_msg reply;

		rc = vtc_msg_recv(e->dev, &reply, NULL, NULL, e->wait_ms);
		snprintf(e->ack, sizeof(e->ack), "%s",
			 rc == 0            ? "reply"
			 : rc == -ETIMEDOUT ? "timeout"
					    : "none");
	} else {
		snprintf(e->ack, sizeof(e->ack), "none");
	}
	e->closed = vtc_dev_peer_closed(e->dev, e->wait_ms);
	e->result = e->closed ? "closed" : "accepted";
	return 0;
}

/* SET_VRING_ADDR whose payload is 8 bytes instead of 40. */
static int
case_msg_truncated(struct evil *e)
{
	struct vhost_user_vring_addr addr = { .index = 0 };
	int rc = msg_prepare(e);

	if (rc == 0) {
		rc = vtc_dev_set_mem_table(e->dev);
	}
	return rc != 0 ? rc : send_bad(e, VHOST_USER_SET_VRING_ADDR, &addr, 8, NULL, 0);
}

/* GET_CONFIG of 100 bytes at offset 200: beyond the 256-byte config space. */
static int
case_config_beyond(struct evil *e)
{
	struct vhost_user_config cfg = { .offset = 200, .size = 100 };
	struct vhost_user_msg msg = { .hdr = { .request = VHOST_USER_GET_CONFIG,
					       .flags = VHOST_USER_VERSION,
					       .size = offsetof(struct vhost_user_config, region) +
						       VHOST_USER_MAX_CONFIG_SIZE } };
	int rc;

	msg.payload.config = cfg;
	rc = vtc_msg_send(e->dev, &msg, NULL, 0);
	if (rc == 0) {
		struct vhost_user_msg reply;

		rc = vtc_msg_recv(e->dev, &reply, NULL, NULL, e->wait_ms);
		snprintf(e->ack, sizeof(e->ack), "%s",
			 rc == 0            ? "reply"
			 : rc == -ETIMEDOUT ? "timeout"
					    : "none");
	} else {
		snprintf(e->ack, sizeof(e->ack), "none");
	}
	e->closed = vtc_dev_peer_closed(e->dev, e->wait_ms);
	e->result = e->closed ? "closed" : "accepted";
	return 0;
}

/*
 * SET_VRING_ADDR before SET_VRING_NUM: the descriptor ring starts 64 bytes before the region's
 * end, which fits no ring yet; the size that follows makes it cross the end. Then the queue is
 * set up as usual and a request is made available in vtc's own ring: it must never complete
 * (the back end may not use a ring that leaves guest memory), or the session must end.
 */
static int
case_ring_addr_late_size(struct evil *e)
{
	const struct vtc_mem_region *r = &vtc_dev_mem(e->dev)->regions[0];
	struct vtc_vq *vq;
	struct vhost_user_vring_addr addr = { .index = 0 };
	struct vhost_user_vring_state num = { .index = 0, .num = e->queue_size };
	struct vhost_user_vring_state base = { .index = 0, .num = 0 };
	struct vtc_blk_req req;
	struct vtc_cpl cpl;
	uint64_t kick = 0, call = 0;
	int fd, rc = msg_prepare(e);

	if (rc == 0) {
		rc = vtc_dev_set_mem_table(e->dev);
	}
	if (rc != 0) {
		return rc;
	}
	vq = &e->dev->vqs[0];
	addr.desc = (uint64_t)(uintptr_t)r->host + r->size - 64;
	addr.avail = (uint64_t)(uintptr_t)vq->driver;
	addr.used = (uint64_t)(uintptr_t)vq->device;
	send_bad(e, VHOST_USER_SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0);
	if (e->closed) {
		return 0; /* refused already */
	}
	/* From here on every refusal is the answer; a failure to send means the same. */
	e->result = "closed";
	if (vtc_request(e->dev, VHOST_USER_SET_VRING_NUM, &num, sizeof(num), NULL, 0, NULL) != 0 ||
	    vtc_request(e->dev, VHOST_USER_SET_VRING_BASE, &base, sizeof(base), NULL, 0, NULL) !=
		    0) {
		goto closed;
	}
	fd = vtc_vq_kick_fd(vq);
	if (vtc_request(e->dev, VHOST_USER_SET_VRING_KICK, &kick, sizeof(kick), &fd, 1, NULL) !=
	    0) {
		goto closed;
	}
	fd = vtc_vq_call_fd(vq);
	if (vtc_request(e->dev, VHOST_USER_SET_VRING_CALL, &call, sizeof(call), &fd, 1, NULL) !=
		    0 ||
	    vtc_vq_enable(vq, true) != 0) {
		goto closed;
	}
	if (vtc_blk_req_init(vtc_dev_mem(e->dev), &req, BLOCK) != 0) {
		return -ENOMEM;
	}
	if (vtc_blk_submit(vq, &req, VIRTIO_BLK_T_IN, 0, BLOCK, 0) < 0) {
		return -EIO;
	}
	vtc_vq_kick_force(vq);
	rc = wait_cookie(e, vq, &req, e->wait_ms, &cpl);
	e->result = rc == 0 ? "served" : rc == -ECONNRESET ? "closed" : "not-started";
closed:
	e->closed = vtc_dev_peer_closed(e->dev, e->wait_ms);
	if (e->closed) {
		e->result = "closed";
	}
	return 0;
}

/* ---- dirty log (migration) cases ---------------------------------------------------------- */

enum log_fd_kind {
	LOG_FD_MEMFD, /* a memfd of file_len bytes */
	LOG_FD_PIPE,  /* a pipe: cannot be mapped */
	LOG_FD_NONE,  /* no fd at all */
};

/* send_log_base's size_adj for a log of 0 bytes. */
#define LOG_SIZE_ZERO INT64_MIN

/*
 * Memory table set (so the back end knows how much log guest memory needs), then SET_LOG_BASE
 * {size, offset} of msg_size bytes with the fd kind asks for. size and file_len count from
 * what guest memory needs (need + size_adj, need + file_adj bytes).
 */
static int
send_log_base(struct evil *e, int64_t size_adj, uint64_t offset, int64_t file_adj,
	      enum log_fd_kind kind, uint32_t msg_size)
{
	struct vhost_user_log log = { .offset = offset };
	int fds[2] = { -1, -1 }, rc = msg_prepare(e);
	uint64_t need, file_len;

	if (rc == 0) {
		rc = vtc_dev_set_mem_table(e->dev);
	}
	if (rc != 0) {
		return rc;
	}
	need = vtc_log_size_for(e->dev);
	log.size = size_adj == LOG_SIZE_ZERO ? 0 : need + (uint64_t)size_adj;
	file_len = need + (uint64_t)file_adj;
	if (kind == LOG_FD_MEMFD) {
		fds[0] = memfd_create("evil-log", MFD_CLOEXEC);
		if (fds[0] < 0 || ftruncate(fds[0], (off_t)file_len) != 0) {
			rc = -errno;
			goto out;
		}
	} else if (kind == LOG_FD_PIPE && pipe(fds) != 0) {
		return -errno;
	}
	rc = send_bad(e, VHOST_USER_SET_LOG_BASE, &log, msg_size, fds, kind == LOG_FD_NONE ? 0 : 1);
out:
	for (int i = 0; i < 2; i++) {
		if (fds[i] >= 0) {
			close(fds[i]);
		}
	}
	return rc;
}

#define LOG_MSG ((uint32_t)sizeof(struct vhost_user_log))

static int
case_log_valid(struct evil *e)
{
	return send_log_base(e, 0, 0, 0, LOG_FD_MEMFD, LOG_MSG);
}

static int
case_log_too_small(struct evil *e)
{
	return send_log_base(e, -1, 0, 0, LOG_FD_MEMFD, LOG_MSG);
}

static int
case_log_size_zero(struct evil *e)
{
	return send_log_base(e, LOG_SIZE_ZERO, 0, 0, LOG_FD_MEMFD, LOG_MSG);
}

static int
case_log_offset_beyond(struct evil *e)
{
	/* The file holds the log's size, not offset + size. */
	return send_log_base(e, 0, 4096, 0, LOG_FD_MEMFD, LOG_MSG);
}

static int
case_log_offset_wrap(struct evil *e)
{
	return send_log_base(e, 0, UINT64_MAX - 16, 0, LOG_FD_MEMFD, LOG_MSG);
}

static int
case_log_fd_unmappable(struct evil *e)
{
	return send_log_base(e, 0, 0, 0, LOG_FD_PIPE, LOG_MSG);
}

static int
case_log_fd_missing(struct evil *e)
{
	return send_log_base(e, 0, 0, 0, LOG_FD_NONE, LOG_MSG);
}

static int
case_log_msg_short(struct evil *e)
{
	return send_log_base(e, 0, 0, 0, LOG_FD_MEMFD, sizeof(uint64_t));
}

/* Running queues, then LOG_ALL without any log: the writes could not be logged. */
static int
case_log_all_without_log(struct evil *e)
{
	int rc = vtc_dev_start(e->dev);

	if (rc != 0) {
		return rc;
	}
	return send_bad(e, VHOST_USER_SET_FEATURES,
			&(uint64_t){ vtc_dev_features(e->dev) | (1ull << VHOST_F_LOG_ALL) },
			sizeof(uint64_t), NULL, 0);
}

/* ---- the table of cases ------------------------------------------------------------------ */

static const struct evil_case g_cases[] = {
	{ "desc-addr-outside", ON_BOTH, case_desc_addr_outside,
	  "data buffer outside guest memory" },
	{ "desc-addr-straddle", ON_BOTH, case_desc_addr_straddle,
	  "data buffer crossing the end of guest memory" },
	{ "desc-addr-overflow", ON_BOTH, case_desc_addr_overflow,
	  "data buffer whose address + length wraps 64 bits" },
	{ "desc-len-zero", ON_BOTH, case_desc_len_zero, "data buffer of length 0" },
	{ "desc-loop", ON_SPLIT, case_desc_loop, "descriptor chain looping back" },
	{ "next-beyond", ON_SPLIT, case_next_beyond, "next index beyond the queue" },
	{ "chain-too-long", ON_BOTH, case_chain_too_long,
	  "chain of more descriptors than the queue holds" },
	{ "head-beyond", ON_SPLIT, case_head_beyond, "avail ring head index beyond the queue" },
	{ "avail-idx-jump", ON_SPLIT, case_avail_idx_jump,
	  "avail index moved by more than the queue size" },
	{ "packed-id-beyond", ON_PACKED, case_packed_id_beyond,
	  "packed buffer id beyond the queue size" },
	{ "indirect-nested", ON_SPLIT, case_indirect_nested,
	  "indirect descriptor inside an indirect table" },
	{ "indirect-loop", ON_SPLIT, case_indirect_loop, "indirect table looping back" },
	{ "indirect-len-zero", ON_BOTH, case_indirect_len_zero, "indirect table of length 0" },
	{ "indirect-len-unaligned", ON_BOTH, case_indirect_len_unaligned,
	  "indirect table length not a multiple of 16" },
	{ "indirect-beyond-memory", ON_BOTH, case_indirect_beyond_memory,
	  "indirect table crossing the end of guest memory" },
	{ "indirect-addr-outside", ON_BOTH, case_indirect_addr_outside,
	  "indirect table outside guest memory" },
	{ "indirect-too-big", ON_BOTH, case_indirect_too_big,
	  "indirect table of more entries than allowed" },
	{ "indirect-no-feature", ON_BOTH | NO_INDIRECT, case_indirect_no_feature,
	  "indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC" },
	{ "indirect-chained", ON_PACKED, case_indirect_chained,
	  "packed indirect descriptor chained with another" },
	{ "status-readonly", ON_BOTH, case_status_readonly,
	  "write whose status descriptor is not device-writable" },
	{ "status-readonly-in", ON_BOTH, case_status_readonly_in,
	  "read whose status descriptor is not device-writable" },
	{ "status-len-zero", ON_BOTH, case_status_len_zero, "read whose status buffer is empty" },
	{ "status-addr-outside", ON_BOTH, case_status_addr_outside,
	  "read whose status buffer is outside guest memory" },
	{ "header-short", ON_BOTH, case_header_short, "request header of 8 bytes" },
	{ "header-missing", ON_BOTH, case_header_missing, "chain of only the status byte" },
	{ "sector-beyond", ON_BOTH, case_sector_beyond, "read at the capacity" },
	{ "sector-straddle", ON_BOTH, case_sector_straddle, "read crossing the capacity" },
	{ "sector-overflow", ON_BOTH, case_sector_overflow,
	  "read at a sector whose byte offset wraps 64 bits" },
	{ "write-readonly", ON_BOTH, case_write_readonly, "write to a read-only device" },
	{ "unknown-type", ON_BOTH, case_unknown_type, "request of an unknown type" },
	{ "mem-region-beyond-file", IS_MSG, case_mem_region_beyond_file,
	  "memory region larger than its file" },
	{ "mem-region-offset-beyond", IS_MSG, case_mem_region_offset_beyond,
	  "memory region starting at the end of its file" },
	{ "mem-region-wrap", IS_MSG, case_mem_region_wrap,
	  "memory region whose guest-physical range wraps 64 bits" },
	{ "mem-region-empty", IS_MSG, case_mem_region_empty, "memory region of size 0" },
	{ "mem-regions-overlap", IS_MSG, case_mem_regions_overlap,
	  "two memory regions overlapping in guest-physical space" },
	{ "ring-addr-outside", IS_MSG, case_ring_addr_outside,
	  "descriptor ring address outside the memory regions" },
	{ "ring-addr-straddle", IS_MSG, case_ring_addr_straddle,
	  "used ring crossing the end of a memory region" },
	{ "queue-index-range", IS_MSG, case_queue_index_range,
	  "SET_VRING_NUM of a queue index beyond the device's queues" },
	{ "queue-index-kick", IS_MSG, case_queue_index_kick,
	  "SET_VRING_KICK of a queue index beyond the device's queues" },
	{ "ring-size-not-pow2", IS_MSG, case_ring_size_not_pow2,
	  "split ring size 100 (not a power of two)" },
	{ "ring-size-too-big", IS_MSG, case_ring_size_too_big, "ring size 65536 (> 32768)" },
	{ "ring-size-zero", IS_MSG, case_ring_size_zero, "ring size 0" },
	{ "ring-addr-late-size", IS_MSG, case_ring_addr_late_size,
	  "ring address that leaves the region once SET_VRING_NUM follows" },
	{ "mem-table-fd-missing", IS_MSG, case_mem_table_fd_missing,
	  "SET_MEM_TABLE region without a file descriptor" },
	{ "mem-table-too-many", IS_MSG, case_mem_table_too_many, "SET_MEM_TABLE of 9 regions" },
	{ "features-not-offered", IS_MSG, case_features_not_offered,
	  "SET_FEATURES with a feature the back end did not offer" },
	{ "vring-base-beyond", IS_MSG | ON_PACKED, case_vring_base_beyond,
	  "packed SET_VRING_BASE of a slot beyond the ring" },
	{ "get-vring-base-range", IS_MSG, case_get_vring_base_range,
	  "GET_VRING_BASE of a queue index beyond the device's queues" },
	{ "msg-truncated", IS_MSG, case_msg_truncated, "SET_VRING_ADDR with an 8-byte payload" },
	{ "config-beyond", IS_MSG, case_config_beyond,
	  "GET_CONFIG of 100 bytes at offset 200 (beyond the 256-byte space)" },
	{ "log-valid", IS_MSG, case_log_valid,
	  "SET_LOG_BASE of a log covering guest memory (the control: accepted)" },
	{ "log-too-small", IS_MSG, case_log_too_small,
	  "SET_LOG_BASE of a log one byte short of guest memory" },
	{ "log-size-zero", IS_MSG, case_log_size_zero, "SET_LOG_BASE of 0 bytes" },
	{ "log-offset-beyond", IS_MSG, case_log_offset_beyond,
	  "SET_LOG_BASE whose offset + size is beyond the file" },
	{ "log-offset-wrap", IS_MSG, case_log_offset_wrap,
	  "SET_LOG_BASE whose offset + size wraps 64 bits" },
	{ "log-fd-unmappable", IS_MSG, case_log_fd_unmappable, "SET_LOG_BASE with a pipe" },
	{ "log-fd-missing", IS_MSG, case_log_fd_missing, "SET_LOG_BASE without a file descriptor" },
	{ "log-msg-short", IS_MSG, case_log_msg_short, "SET_LOG_BASE with an 8-byte payload" },
	{ "log-all-without-log", IS_MSG, case_log_all_without_log,
	  "SET_FEATURES with LOG_ALL on running queues before any SET_LOG_BASE" },
};

#define NCASES (sizeof(g_cases) / sizeof(g_cases[0]))

static const struct evil_case *
find_case(const char *name)
{
	for (size_t i = 0; i < NCASES; i++) {
		if (strcmp(g_cases[i].name, name) == 0) {
			return &g_cases[i];
		}
	}
	return NULL;
}

static void
list_cases(void)
{
	for (size_t i = 0; i < NCASES; i++) {
		const struct evil_case *c = &g_cases[i];
		const char *kind;

		if (c->flags & IS_MSG) {
			kind = (c->flags & ON_PACKED) ? "message,packed" : "message";
		} else if ((c->flags & ON_BOTH) == ON_BOTH) {
			kind = "split,packed";
		} else {
			kind = (c->flags & ON_SPLIT) ? "split" : "packed";
		}

		printf("%-26s %-13s %s\n", c->name, kind, c->what);
	}
}

/* ---- running a case ---------------------------------------------------------------------- */

static struct vtc_dev *
open_dev(struct evil *e)
{
	struct vtc_dev_opts opts;

	vtc_dev_opts_init(&opts);
	opts.path = e->path;
	opts.connect_timeout_ms = e->timeout_ms;
	opts.reply_timeout_ms = e->timeout_ms;
	opts.io_timeout_ms = e->timeout_ms;
	opts.queue_size = e->queue_size;
	opts.num_queues = e->nqueues;
	opts.mem_size = MEM_SIZE;
	opts.bounce_size = 0;
	opts.indirect_max = 4;
	if (e->packed) {
		opts.features |= 1ull << VIRTIO_F_RING_PACKED;
		opts.required |= 1ull << VIRTIO_F_RING_PACKED;
	}
	if (strncmp(e->c->name, "log-", 4) == 0) {
		opts.protocol_features |= 1ull << VHOST_USER_PROTOCOL_F_LOG_SHMFD;
	}
	if (e->c->flags & NO_INDIRECT) {
		opts.features &= ~(1ull << VIRTIO_RING_F_INDIRECT_DESC);
	} else if (!(e->c->flags & IS_MSG) && strncmp(e->c->name, "indirect", 8) == 0) {
		opts.required |= 1ull << VIRTIO_RING_F_INDIRECT_DESC;
	}
	return vtc_dev_open(&opts);
}

static int
start_ring_case(struct evil *e)
{
	const struct vtc_mem_region *r;
	char buf[64];
	int rc;

	rc = vtc_dev_start(e->dev);
	if (rc != 0) {
		return rc;
	}
	r = &vtc_dev_mem(e->dev)->regions[0];
	e->mem_end = r->gpa + r->size;
	e->vq = vtc_dev_vq(e->dev, 0);
	e->capacity = vtc_dev_blk_config(e->dev)->capacity;
	e->readonly = vtc_dev_has_feature(e->dev, VIRTIO_BLK_F_RO);
	if (e->capacity < 2 * (e->probe_sector + 2 * (BLOCK / SECTOR))) {
		fprintf(stderr, "vtc_evil: device of %" PRIu64 " sectors too small\n", e->capacity);
		return -ENOSPC;
	}
	rc = vtc_blk_req_init(vtc_dev_mem(e->dev), &e->bad, BLOCK);
	for (uint16_t q = 0; rc == 0 && q < vtc_dev_num_queues(e->dev) && q < 2; q++) {
		rc = vtc_blk_req_init(vtc_dev_mem(e->dev), &e->probe[q], BLOCK);
	}
	if (rc != 0) {
		return rc;
	}
	/* The queues work before the attack, or the outcome would mean nothing. */
	for (uint16_t q = 0; q < vtc_dev_num_queues(e->dev) && q < 2; q++) {
		const char *word = probe(e, q, e->timeout_ms, buf, sizeof(buf));

		if (strcmp(word, "ok") != 0) {
			fprintf(stderr, "vtc_evil: queue %u fails before the case: %s\n", q, word);
			return -EIO;
		}
	}
	return 0;
}

/*
 * What a driver does once the device needs a reset: sets every queue up again from scratch
 * (SET_VRING_NUM, BASE 0, ADDR, KICK, CALL, ENABLE) on the same connection, then a verified
 * write and read on queue 0.
 */
static const char *
reset_queues(struct evil *e, char *buf, size_t len)
{
	for (uint16_t q = 0; q < vtc_dev_num_queues(e->dev); q++) {
		struct vtc_vq *vq = vtc_dev_vq(e->dev, q);

		if (vtc_vq_setup(vq) != 0 || vtc_vq_enable(vq, true) != 0) {
			return vtc_dev_peer_closed(e->dev, 0) ? "closed" : "setup-failed";
		}
	}
	/* Started again: vtc_dev_close stops the queues before it disconnects. */
	e->dev->started = true;
	return probe(e, 0, e->timeout_ms, buf, len);
}

static void
print_ring_outcome(struct evil *e)
{
	char pbuf[64], obuf[64], rbuf[64], sbuf[16], lbuf[16];
	const char *probe_word, *other_word = "-", *stop = "-", *reset_word = "-";
	struct vtc_cpl cpl;
	uint64_t other_ms = 0;
	uint8_t status_mem;

	wait_cookie(e, e->vq, &g_bad_cookie, e->wait_ms, &cpl);
	e->result = e->bad_done ? "status" : e->closed ? "closed" : "none";
	/*
	 * The attacked queue may be stopped: give it --wait. Queues expected to serve get the
	 * long timeout, which costs nothing when they do (a loaded machine must not fail them).
	 */
	probe_word = e->closed ? "closed"
			       : probe(e, 0, e->bad_done ? e->timeout_ms : e->wait_ms, pbuf,
				       sizeof(pbuf));
	if (vtc_dev_num_queues(e->dev) > 1) {
		uint64_t t0 = vtc_now_ns();

		other_word = e->closed ? "closed" : probe(e, 1, e->timeout_ms, obuf, sizeof(obuf));
		other_ms = (vtc_now_ns() - t0) / 1000000;
	}
	/* A late completion of the bad chain, seen while probing. */
	if (e->bad_done && strcmp(e->result, "none") == 0) {
		e->bad_late = true;
	}
	if (!e->closed && !vtc_dev_peer_closed(e->dev, 0)) {
		stop = vtc_dev_stop(e->dev) == 0 ? "ok" : "failed";
	}
	status_mem = *e->bad.status;
	if (strcmp(stop, "ok") == 0) {
		reset_word = reset_queues(e, rbuf, sizeof(rbuf));
	}
	e->closed = vtc_dev_peer_closed(e->dev, 0);
	if (e->bad_done) {
		char tmp[16];

		snprintf(sbuf, sizeof(sbuf), "%s",
			 vtc_blk_status_str(e->bad_status, tmp, sizeof(tmp)));
		snprintf(lbuf, sizeof(lbuf), "%u", e->bad_cpl.len);
	} else {
		snprintf(sbuf, sizeof(sbuf), "-");
		snprintf(lbuf, sizeof(lbuf), "-");
	}
	printf("case=%s ring=%s result=%s status=%s used_len=%s probe=%s other=%s conn=%s "
	       "stop=%s reset=%s ack=- status_mem=0x%02x stray=%u late=%d other_ms=%" PRIu64 "\n",
	       e->c->name, e->packed ? "packed" : "split", e->result, sbuf, lbuf, probe_word,
	       other_word, e->closed ? "closed" : "open", stop, reset_word, status_mem, e->stray,
	       e->bad_late, other_ms);
}

static int
run_case(struct evil *e)
{
	int rc;

	e->dev = open_dev(e);
	if (e->dev == NULL) {
		fprintf(stderr, "vtc_evil: cannot open '%s'\n", e->path);
		return 1;
	}
	if ((e->c->flags & NO_INDIRECT) &&
	    vtc_dev_has_feature(e->dev, VIRTIO_RING_F_INDIRECT_DESC)) {
		fprintf(stderr, "vtc_evil: indirect descriptors negotiated although not asked\n");
		rc = -EPROTO;
		goto fail;
	}
	if (e->c->flags & IS_MSG) {
		rc = e->c->run(e);
		if (rc != 0) {
			goto fail;
		}
		printf("case=%s ring=%s result=%s status=- used_len=- probe=- other=- conn=%s "
		       "stop=- reset=- ack=%s status_mem=- stray=0 late=0\n",
		       e->c->name, e->packed ? "packed" : "split", e->result,
		       e->closed ? "closed" : "open", e->ack);
		vtc_dev_close(e->dev);
		return 0;
	}
	rc = start_ring_case(e);
	if (rc == 0) {
		rc = e->c->run(e);
	}
	if (rc != 0) {
		goto fail;
	}
	print_ring_outcome(e);
	vtc_dev_close(e->dev);
	return 0;
fail:
	fprintf(stderr, "vtc_evil: case %s could not run: %s\n", e->c->name, strerror(-rc));
	vtc_dev_close(e->dev);
	return 1;
}

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: vtc_evil SOCKET --case NAME [--packed] [--queues N] [--queue-size N]\n"
		"                [--wait MS] [--timeout MS] [--probe-sector N]\n"
		"       vtc_evil --list\n"
		"  --case NAME        the bad input to send (--list shows them)\n"
		"  --packed           packed rings (split by default)\n"
		"  --queues N         queues to start, 1 or 2 (default 2)\n"
		"  --queue-size N     ring entries (default 16)\n"
		"  --wait MS          how long to wait for an answer that may not come\n"
		"                     (default 500)\n"
		"  --timeout MS       connect, reply and start-up timeout (default 5000)\n"
		"  --probe-sector N   where the checks write (default 1024; queue 1 at N + 8)\n"
		"Prints one line: case= ring= result= status= used_len= probe= other= conn= stop=\n"
		"ack= (see the top of vtc_evil.c).\n");
}

static int
parse_num(const char *name, const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max) {
		fprintf(stderr, "vtc_evil: invalid value '%s' for --%s\n", s, name);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

enum {
	OPT_CASE = 0x100,
	OPT_PACKED,
	OPT_QUEUES,
	OPT_QUEUE_SIZE,
	OPT_WAIT,
	OPT_TIMEOUT,
	OPT_PROBE_SECTOR,
	OPT_LIST
};

static int
parse_args(struct evil *e, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "case", required_argument, NULL, OPT_CASE },
		{ "packed", no_argument, NULL, OPT_PACKED },
		{ "queues", required_argument, NULL, OPT_QUEUES },
		{ "queue-size", required_argument, NULL, OPT_QUEUE_SIZE },
		{ "wait", required_argument, NULL, OPT_WAIT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "probe-sector", required_argument, NULL, OPT_PROBE_SECTOR },
		{ "list", no_argument, NULL, OPT_LIST },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int opt;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_CASE:
			e->c = find_case(optarg);
			if (e->c == NULL) {
				fprintf(stderr, "vtc_evil: unknown case '%s' (--list)\n", optarg);
				return 2;
			}
			break;
		case OPT_PACKED:
			e->packed = true;
			break;
		case OPT_QUEUES:
			if (parse_num("queues", optarg, 2, &v) != 0 || v == 0) {
				return 2;
			}
			e->nqueues = (uint16_t)v;
			break;
		case OPT_QUEUE_SIZE:
			if (parse_num("queue-size", optarg, VTC_MAX_QUEUE_SIZE, &v) != 0 || v < 8) {
				fprintf(stderr, "vtc_evil: --queue-size must be 8 to %u\n",
					VTC_MAX_QUEUE_SIZE);
				return 2;
			}
			e->queue_size = (uint16_t)v;
			break;
		case OPT_WAIT:
			if (parse_num("wait", optarg, 600000, &v) != 0) {
				return 2;
			}
			e->wait_ms = (uint32_t)v;
			break;
		case OPT_TIMEOUT:
			if (parse_num("timeout", optarg, 600000, &v) != 0 || v == 0) {
				return 2;
			}
			e->timeout_ms = (uint32_t)v;
			break;
		case OPT_PROBE_SECTOR:
			if (parse_num("probe-sector", optarg, UINT32_MAX, &v) != 0) {
				return 2;
			}
			e->probe_sector = v;
			break;
		case OPT_LIST:
			list_cases();
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc || e->c == NULL) {
		usage(stderr);
		return 2;
	}
	e->path = argv[optind];
	return -1;
}

int
main(int argc, char **argv)
{
	struct evil e = { .queue_size = 16,
			  .nqueues = 2,
			  .wait_ms = 500,
			  .timeout_ms = 5000,
			  .probe_sector = 1024 };
	uint32_t rings;
	int rc;

	vt_log_set_print_level(VT_LOG_NOTICE);
	rc = parse_args(&e, argc, argv);
	if (rc >= 0) {
		return rc;
	}
	rings = e.c->flags & ON_BOTH;
	if (e.c->flags & IS_MSG) {
		/* Message cases choose their ring format themselves. */
		if (e.packed) {
			fprintf(stderr, "vtc_evil: case %s is a message case (no --packed)\n",
				e.c->name);
			return 2;
		}
		e.packed = (e.c->flags & ON_PACKED) != 0;
	} else if (!(rings & (e.packed ? ON_PACKED : ON_SPLIT))) {
		fprintf(stderr, "vtc_evil: case %s needs %s rings\n", e.c->name,
			e.packed ? "split" : "packed");
		return 2;
	}
	if (!e.packed && (e.queue_size & (e.queue_size - 1)) != 0) {
		fprintf(stderr, "vtc_evil: split rings need a power-of-two --queue-size\n");
		return 2;
	}
	e.seed = ((uint64_t)getpid() << 32) ^ vtc_now_ns();
	return run_case(&e);
}
