/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vtc bench: a fixed queue depth of virtio-blk requests per queue for a fixed time, from one
 * thread (pinned with --cpu), busy-polling the used rings (--poll, notifications suppressed) or
 * sleeping on the call eventfds (--interrupt). Prints one line of key=value pairs: IOPS,
 * bandwidth, latency percentiles from a log-linear histogram, kicks and notifications.
 * --log: dirty logging on during the run, as in a live migration (LOG_SHMFD, a memfd log handed
 * over with SET_LOG_BASE, LOG_ALL on), to measure what logging costs the back end; the bitmap
 * is cleared every --log-clear-ms, as QEMU does when it syncs the log.
 * --scsi: the socket is a vhost-user-scsi controller; the same load as READ(16) / WRITE(16) to
 * target 0 LUN 0 over its request queues (--queues of them, after the control and event queues).
 */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "vtc_cli.h"
#include "vtc_internal.h"

#define SECTOR 512u
#define REAP_BATCH 64

enum bench_rw { RW_RANDREAD, RW_RANDWRITE, RW_READ, RW_WRITE };

static const char *const g_rw_names[] = {
	[RW_RANDREAD] = "randread",
	[RW_RANDWRITE] = "randwrite",
	[RW_READ] = "read",
	[RW_WRITE] = "write",
};

struct bench_args {
	enum bench_rw rw;
	uint32_t bs;
	uint32_t qd; /* per queue */
	double time_s;
	int cpu;         /* -1: not pinned */
	uint64_t offset; /* the range requests fall into */
	uint64_t size;
	uint64_t seed;
	uint32_t call_timeout_ms; /* interrupt mode: one sleep on the call fds at most */
	bool log;                 /* dirty logging on during the run */
	uint32_t log_clear_ms;    /* clear the bitmap this often (0: never) */
	bool scsi;                /* a vhost-user-scsi controller: READ(16) / WRITE(16) */
};

/* One request slot: a virtio-blk or a virtio-scsi request, reused for the whole run. */
struct bench_req {
	struct vtc_blk_req blk;
	struct vtc_scsi_req scsi;
	uint64_t submit_ns;
	uint64_t sector; /* of the last submit, 512-byte units */
};

struct bench_queue {
	struct vtc_vq *vq;
	struct bench_req *reqs;
	uint32_t outstanding;
	uint64_t seq_next; /* sequential: next offset */
};

struct bench {
	struct bench_args a;
	struct cli_common c;
	struct vtc_dev *dev;
	struct bench_queue qs[VTC_MAX_QUEUES];
	uint16_t nq;
	uint64_t rng;
	uint64_t nblocks;   /* bs-sized blocks in the range */
	uint32_t lba_shift; /* scsi: log2 of the LUN's block size over 512 */
	uint8_t lun[8];     /* scsi: target 0 LUN 0 */
	uint64_t tag;       /* scsi: the last command's tag */
	uint64_t ios;       /* completed before the end */
	uint64_t errors;
	struct vtc_hist hist;
	/* Interrupt mode: how long the sleeps on the call fds lasted. */
	uint64_t call_wait_max_ns; /* the longest sleep a call ended */
	uint64_t call_timeouts;    /* sleeps no call ended (100 ms with requests in flight) */
	struct vtc_log log;
	uint64_t log_clears;
};

enum {
	BENCH_OPT_RW = CLI_OPT_FIRST_LOCAL,
	BENCH_OPT_BS,
	BENCH_OPT_QD,
	BENCH_OPT_TIME,
	BENCH_OPT_CPU,
	BENCH_OPT_OFFSET,
	BENCH_OPT_SIZE,
	BENCH_OPT_SEED,
	BENCH_OPT_CALL_TIMEOUT,
	BENCH_OPT_LOG,
	BENCH_OPT_LOG_CLEAR_MS,
	BENCH_OPT_SCSI,
};

static void
bench_usage(FILE *out)
{
	fprintf(out,
		"usage: vtc bench SOCKET --rw randread|randwrite|read|write [--bs BYTES] [--qd N]\n"
		"                 [--time S] [--cpu CORE] [--offset BYTES] [--size BYTES]\n"
		"                 [--seed N] [--call-timeout MS] [--log [--log-clear-ms MS]]\n"
		"                 [--scsi] [options]\n"
		"  --bs BYTES   request size (default 4096)\n"
		"  --qd N       requests in flight per queue (default 1)\n"
		"  --time S     run time in seconds (default 2)\n"
		"  --cpu CORE   pin the front end to this core\n"
		"  --offset, --size  the range requests fall into (default the whole disk)\n"
		"  --call-timeout MS  --interrupt: longest sleep on the call fds (default 100)\n"
		"  --log        dirty logging on (LOG_SHMFD, SET_LOG_BASE, LOG_ALL) during the run\n"
		"  --log-clear-ms MS  clear the log this often, as QEMU's sync does (default 100)\n"
		"  --scsi       a vhost-user-scsi controller: READ(16) / WRITE(16) to target 0\n"
		"               LUN 0; --queues counts request queues\n"
		"options:\n" CLI_COMMON_HELP
		"Output: one line of key=value pairs; latencies in microseconds.\n");
}

static uint64_t
xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

static int
bench_opt(struct bench_args *a, int opt, const char *arg)
{
	char *end;

	switch (opt) {
	case BENCH_OPT_RW:
		for (size_t i = 0; i < sizeof(g_rw_names) / sizeof(g_rw_names[0]); i++) {
			if (strcmp(arg, g_rw_names[i]) == 0) {
				a->rw = (enum bench_rw)i;
				return 0;
			}
		}
		fprintf(stderr, "vtc: unknown --rw '%s'\n", arg);
		return -1;
	case BENCH_OPT_BS:
		return cli_parse_u32("bs", arg, &a->bs);
	case BENCH_OPT_QD:
		return cli_parse_u32("qd", arg, &a->qd);
	case BENCH_OPT_TIME:
		errno = 0;
		a->time_s = strtod(arg, &end);
		if (errno != 0 || *end != '\0' || !(a->time_s > 0 && a->time_s <= 3600)) {
			fprintf(stderr, "vtc: invalid --time '%s' (seconds, up to 3600)\n", arg);
			return -1;
		}
		return 0;
	case BENCH_OPT_CPU: {
		uint32_t cpu;

		if (cli_parse_u32("cpu", arg, &cpu) != 0 || cpu >= CPU_SETSIZE) {
			return -1;
		}
		a->cpu = (int)cpu;
		return 0;
	}
	case BENCH_OPT_OFFSET:
		return cli_parse_u64("offset", arg, &a->offset);
	case BENCH_OPT_SIZE:
		return cli_parse_u64("size", arg, &a->size);
	case BENCH_OPT_SEED:
		return cli_parse_u64("seed", arg, &a->seed);
	case BENCH_OPT_CALL_TIMEOUT:
		return cli_parse_u32("call-timeout", arg, &a->call_timeout_ms);
	case BENCH_OPT_LOG:
		a->log = true;
		return 0;
	case BENCH_OPT_LOG_CLEAR_MS:
		return cli_parse_u32("log-clear-ms", arg, &a->log_clear_ms);
	case BENCH_OPT_SCSI:
		a->scsi = true;
		return 0;
	default:
		return -1;
	}
}

static int
parse_args(struct bench *b, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "rw", required_argument, NULL, BENCH_OPT_RW },
		{ "bs", required_argument, NULL, BENCH_OPT_BS },
		{ "qd", required_argument, NULL, BENCH_OPT_QD },
		{ "time", required_argument, NULL, BENCH_OPT_TIME },
		{ "cpu", required_argument, NULL, BENCH_OPT_CPU },
		{ "offset", required_argument, NULL, BENCH_OPT_OFFSET },
		{ "size", required_argument, NULL, BENCH_OPT_SIZE },
		{ "seed", required_argument, NULL, BENCH_OPT_SEED },
		{ "call-timeout", required_argument, NULL, BENCH_OPT_CALL_TIMEOUT },
		{ "log", no_argument, NULL, BENCH_OPT_LOG },
		{ "log-clear-ms", required_argument, NULL, BENCH_OPT_LOG_CLEAR_MS },
		{ "scsi", no_argument, NULL, BENCH_OPT_SCSI },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool queue_size_set = false;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			bench_usage(stdout);
			exit(0);
		}
		queue_size_set |= opt == CLI_OPT_QUEUE_SIZE;
		rc = cli_common_opt(&b->c, opt, optarg);
		if (rc == 1) {
			rc = bench_opt(&b->a, opt, optarg);
		}
		if (rc != 0) {
			bench_usage(stderr);
			return -1;
		}
	}
	if (optind + 1 != argc || b->a.bs == 0 || b->a.bs % SECTOR || b->a.bs > (16u << 20) ||
	    b->a.qd == 0 || b->a.qd > VTC_MAX_QUEUE_SIZE || b->a.offset % SECTOR ||
	    b->a.call_timeout_ms == 0 || b->a.call_timeout_ms > INT32_MAX) {
		bench_usage(stderr);
		return -1;
	}
	b->c.max_io = b->a.bs;
	if (b->a.scsi) {
		if (b->c.opts.num_queues > VTC_MAX_QUEUES - VTC_SCSI_FIRST_REQ_QUEUE) {
			bench_usage(stderr);
			return -1;
		}
		/* The ring features chosen on the command line, scsi's config space. */
		b->c.opts.features &= ~VTC_BLK_FEATURES;
		b->c.opts.config_size = sizeof(struct virtio_scsi_config);
		b->c.opts.num_queues += VTC_SCSI_FIRST_REQ_QUEUE;
	}
	if (b->a.log) {
		b->c.opts.protocol_features |= 1ull << VHOST_USER_PROTOCOL_F_LOG_SHMFD;
	}
	/* Room for qd direct chains (header, data, status), unless the user chose. */
	if (!queue_size_set) {
		uint32_t seg = b->c.opts.seg_size ? b->c.opts.seg_size : b->a.bs;
		uint64_t per = b->c.indirect ? 1 : (b->a.bs + seg - 1) / seg + 2;
		uint64_t need = per * b->a.qd;
		uint32_t size = 128;

		while (size < need && size < VTC_MAX_QUEUE_SIZE) {
			size <<= 1;
		}
		b->c.opts.queue_size = (uint16_t)size;
	}
	if (b->c.opts.mem_size == 0) {
		b->c.opts.mem_size =
			(uint64_t)b->c.opts.num_queues * ((uint64_t)b->a.qd * (b->a.bs + 4096) +
							  (uint64_t)b->c.opts.queue_size * 1024) +
			(16ull << 20);
	}
	return 0;
}

/* scsi: the LUN's capacity in bytes and its block size (READ CAPACITY(16), past unit
 * attentions). */
static int
scsi_capacity(struct bench *b, uint64_t *capacity)
{
	struct vtc_mem_mark mark;
	struct vtc_scsi_req req;
	struct vtc_scsi_result r = { 0 };
	uint32_t block_size = 0;
	int rc = -1;

	vtc_scsi_lun(b->lun, 0, 0);
	vtc_mem_mark(vtc_dev_mem(b->dev), &mark);
	if (vtc_scsi_req_init(vtc_dev_mem(b->dev), &req, 32) != 0) {
		goto out;
	}
	for (int i = 0; i < 8; i++) {
		struct vtc_scsi_cmd c = { .tag = ++b->tag, .in_len = 32 };

		memcpy(c.lun, b->lun, sizeof(c.lun));
		c.cdb[0] = 0x9e; /* SERVICE ACTION IN(16) */
		c.cdb[1] = 0x10; /* READ CAPACITY(16) */
		c.cdb[13] = 32;
		if (vtc_scsi_cmd_sync(b->dev, VTC_SCSI_FIRST_REQ_QUEUE, &req, &c, &r) != 0) {
			goto out;
		}
		/* CHECK CONDITION with UNIT ATTENTION (a fresh controller's power-on): again. */
		if (r.response != VIRTIO_SCSI_S_OK || r.status != 0x02 || r.sense_key != 0x6) {
			break;
		}
	}
	if (r.response != VIRTIO_SCSI_S_OK || r.status != 0) {
		fprintf(stderr,
			"vtc: READ CAPACITY(16) of target 0 LUN 0 failed: response %u status "
			"0x%02x sense %x/%02x/%02x\n",
			r.response, r.status, r.sense_key, r.asc, r.ascq);
		goto out;
	}
	*capacity = 0;
	for (int i = 0; i < 8; i++) {
		*capacity = *capacity << 8 | req.data[i];
	}
	for (int i = 8; i < 12; i++) {
		block_size = block_size << 8 | req.data[i];
	}
	if (block_size < SECTOR || (block_size & (block_size - 1)) != 0 ||
	    b->a.bs % block_size != 0 || b->a.offset % block_size != 0) {
		fprintf(stderr, "vtc: block size %u of LUN 0 does not divide --bs / --offset\n",
			block_size);
		goto out;
	}
	b->lba_shift = (uint32_t)__builtin_ctz(block_size / SECTOR);
	*capacity = (*capacity + 1) * block_size;
	rc = 0;
out:
	vtc_mem_release(vtc_dev_mem(b->dev), &mark);
	return rc;
}

static int
setup(struct bench *b)
{
	uint64_t capacity = (uint64_t)vtc_dev_blk_config(b->dev)->capacity * SECTOR;
	bool writes = b->a.rw == RW_RANDWRITE || b->a.rw == RW_WRITE;
	uint16_t first = b->a.scsi ? VTC_SCSI_FIRST_REQ_QUEUE : 0;

	if (b->a.scsi && scsi_capacity(b, &capacity) != 0) {
		return -1;
	}

	if (b->a.size == 0 && capacity > b->a.offset) {
		b->a.size = capacity - b->a.offset;
	}
	b->nblocks = b->a.size / b->a.bs;
	if (b->nblocks == 0 || b->a.offset + b->a.size > capacity) {
		fprintf(stderr,
			"vtc: range %" PRIu64 "+%" PRIu64 " does not fit %u-byte requests "
			"in the capacity (%" PRIu64 " bytes)\n",
			b->a.offset, b->a.size, b->a.bs, capacity);
		return -1;
	}
	b->nq = vtc_dev_num_queues(b->dev) - first;
	for (uint16_t q = 0; q < b->nq; q++) {
		struct bench_queue *bq = &b->qs[q];

		bq->vq = vtc_dev_vq(b->dev, first + q);
		bq->reqs = calloc(b->a.qd, sizeof(*bq->reqs));
		bq->seq_next = (b->nblocks / b->nq) * q;
		if (bq->reqs == NULL) {
			return -1;
		}
		for (uint32_t i = 0; i < b->a.qd; i++) {
			struct bench_req *req = &bq->reqs[i];
			uint8_t *data;
			int rc;

			if (b->a.scsi) {
				rc = vtc_scsi_req_init(vtc_dev_mem(b->dev), &req->scsi, b->a.bs);
				req->scsi.ctx = req;
				data = req->scsi.data;
			} else {
				rc = vtc_blk_req_init(vtc_dev_mem(b->dev), &req->blk, b->a.bs);
				req->blk.seg_size = b->c.opts.seg_size;
				req->blk.ctx = req;
				data = req->blk.data;
			}
			if (rc != 0) {
				fprintf(stderr, "vtc: guest memory too small for %u x %u bytes\n",
					b->a.qd, b->a.bs);
				return -1;
			}
			if (writes) {
				cli_pattern_fill(data, 0, b->a.bs, b->a.seed + i);
			}
		}
	}
	if (b->a.log) {
		if (vtc_log_set_base(b->dev, &b->log, vtc_log_size_for(b->dev), 0) != 0 ||
		    vtc_log_enable(b->dev, true) != 0) {
			fprintf(stderr, "vtc: cannot turn dirty logging on\n");
			return -1;
		}
	}
	return 0;
}

static uint64_t
next_sector(struct bench *b, struct bench_queue *bq)
{
	uint64_t block;

	if (b->a.rw == RW_RANDREAD || b->a.rw == RW_RANDWRITE) {
		block = xorshift64(&b->rng) % b->nblocks;
	} else {
		block = bq->seq_next;
		bq->seq_next = bq->seq_next + 1 < b->nblocks ? bq->seq_next + 1 : 0;
	}
	return (b->a.offset + block * b->a.bs) / SECTOR;
}

/* READ(16) or WRITE(16) of bs bytes at sector (512-byte units) to target 0 LUN 0. */
static int
submit_scsi(struct bench *b, struct bench_queue *bq, struct bench_req *req, bool write)
{
	struct vtc_scsi_cmd c = { .tag = ++b->tag };

	memcpy(c.lun, b->lun, sizeof(c.lun));
	vtc_scsi_cdb_rw16(c.cdb, write ? 0x8a : 0x88, req->sector >> b->lba_shift,
			  b->a.bs >> (b->lba_shift + 9));
	if (write) {
		c.out_len = b->a.bs;
	} else {
		c.in_len = b->a.bs;
	}
	return vtc_scsi_submit(bq->vq, &req->scsi, &c, b->c.indirect ? VTC_SUBMIT_INDIRECT : 0);
}

static int
submit(struct bench *b, struct bench_queue *bq, struct bench_req *req)
{
	bool write = b->a.rw == RW_RANDWRITE || b->a.rw == RW_WRITE;
	int rc;

	req->submit_ns = vtc_now_ns();
	req->sector = next_sector(b, bq);
	if (b->a.scsi) {
		rc = submit_scsi(b, bq, req, write);
	} else {
		rc = vtc_blk_submit(bq->vq, &req->blk, write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN,
				    req->sector, b->a.bs, b->c.indirect ? VTC_SUBMIT_INDIRECT : 0);
	}
	if (rc < 0) {
		fprintf(stderr, "vtc: cannot submit on queue %u: %s\n", vtc_vq_index(bq->vq),
			strerror(-rc));
		return rc;
	}
	bq->outstanding++;
	return 0;
}

static bool
req_ok(const struct bench *b, const struct bench_req *req)
{
	if (b->a.scsi) {
		return req->scsi.resp->response == VIRTIO_SCSI_S_OK && req->scsi.resp->status == 0;
	}
	return *req->blk.status == VIRTIO_BLK_S_OK;
}

/* A failed request's status, for the message (static buffer). */
static const char *
req_status(const struct bench *b, const struct bench_req *req)
{
	static char buf[96];

	if (b->a.scsi) {
		struct vtc_scsi_result r;

		vtc_scsi_result_parse(&req->scsi, 0, &r);
		snprintf(buf, sizeof(buf), "response %u, status 0x%02x, sense %x/%02x/%02x",
			 r.response, r.status, r.sense_key, r.asc, r.ascq);
	} else {
		snprintf(buf, sizeof(buf), "status 0x%02x", *req->blk.status);
	}
	return buf;
}

/* Reaps one queue; resubmits while running. Returns completions, or -1 on a fatal error. */
static int
reap_queue(struct bench *b, struct bench_queue *bq, bool running)
{
	struct vtc_cpl cpls[REAP_BATCH];
	uint64_t now;
	int n;

	n = vtc_vq_reap(bq->vq, cpls, REAP_BATCH);
	if (n <= 0) {
		return n < 0 ? -1 : 0;
	}
	now = vtc_now_ns();
	for (int i = 0; i < n; i++) {
		struct bench_req *req = NULL;

		bq->outstanding--;
		if (cpls[i].cookie != NULL) {
			/* The cookie is the blk or scsi request; both point back at the slot. */
			req = b->a.scsi ? ((struct vtc_scsi_req *)cpls[i].cookie)->ctx
					: ((struct vtc_blk_req *)cpls[i].cookie)->ctx;
		}
		if (req == NULL) {
			fprintf(stderr, "vtc: completion of unknown id %u on queue %u\n",
				cpls[i].id, vtc_vq_index(bq->vq));
			return -1;
		}
		if (!req_ok(b, req) && b->errors++ == 0) {
			fprintf(stderr, "vtc: request at sector %" PRIu64 " failed: %s\n",
				req->sector, req_status(b, req));
		}
		if (!running) {
			continue;
		}
		vtc_hist_add(&b->hist, now - req->submit_ns);
		b->ios++;
		if (submit(b, bq, req) != 0) {
			return -1;
		}
	}
	if (running && vtc_vq_kick(bq->vq) != 0) {
		return -1;
	}
	return n;
}

/* Interrupt mode: sleep on every queue's call eventfd until one fires or timeout_ms passes. */
static int
sleep_on_calls(struct bench *b, int timeout_ms)
{
	struct pollfd pfds[VTC_MAX_QUEUES];
	uint64_t start;
	int n;

	for (uint16_t q = 0; q < b->nq; q++) {
		if (vtc_vq_arm_interrupt(b->qs[q].vq)) {
			return 0;
		}
		pfds[q] = (struct pollfd){ .fd = vtc_vq_call_fd(b->qs[q].vq), .events = POLLIN };
	}
	start = vtc_now_ns();
	n = poll(pfds, b->nq, timeout_ms);
	if (n < 0 && errno != EINTR) {
		return -errno;
	}
	if (n == 0) {
		b->call_timeouts++;
	} else if (n > 0) {
		uint64_t waited = vtc_now_ns() - start;

		if (waited > b->call_wait_max_ns) {
			b->call_wait_max_ns = waited;
		}
	}
	for (uint16_t q = 0; q < b->nq; q++) {
		if (pfds[q].revents & POLLIN) {
			vtc_vq_ack_interrupt(b->qs[q].vq);
		}
	}
	return 0;
}

static uint32_t
outstanding(const struct bench *b)
{
	uint32_t n = 0;

	for (uint16_t q = 0; q < b->nq; q++) {
		n += b->qs[q].outstanding;
	}
	return n;
}

/* Runs until end (running) or until nothing is in flight; fails when nothing completes for
 * the I/O timeout. */
static int
run_loop(struct bench *b, uint64_t end, bool running)
{
	uint64_t timeout_ns = (uint64_t)b->c.opts.io_timeout_ms * 1000000ull;
	uint64_t clear_ns = (uint64_t)b->a.log_clear_ms * 1000000ull;
	uint64_t last_progress = vtc_now_ns();
	uint64_t last_check = last_progress;
	uint64_t last_clear = last_progress;

	for (;;) {
		uint64_t now;
		int got = 0;

		for (uint16_t q = 0; q < b->nq; q++) {
			int n = reap_queue(b, &b->qs[q], running);

			if (n < 0) {
				return -1;
			}
			got += n;
		}
		now = vtc_now_ns();
		if (b->a.log && clear_ns != 0 && now - last_clear >= clear_ns) {
			vtc_log_clear(&b->log);
			b->log_clears++;
			last_clear = now;
		}
		if (got > 0) {
			last_progress = now;
		} else if (now - last_progress > timeout_ns) {
			fprintf(stderr, "vtc: no completion for %u ms with %u requests in flight\n",
				b->c.opts.io_timeout_ms, outstanding(b));
			return -1;
		} else if (now - last_check > 100000000ull) {
			/* Stalled for a while: is the back end still there? */
			last_check = now;
			if (vtc_dev_peer_closed(b->dev, 0)) {
				fprintf(stderr,
					"vtc: the back end closed the connection with %u "
					"requests in flight\n",
					outstanding(b));
				return -1;
			}
		}
		if (running ? now >= end : outstanding(b) == 0) {
			return 0;
		}
		if (got == 0 && b->c.opts.interrupt &&
		    sleep_on_calls(b, (int)b->a.call_timeout_ms) != 0) {
			return -1;
		}
		if (got == 0 && !b->c.opts.interrupt) {
			vtc_cpu_relax();
		}
	}
}

static void
report(struct bench *b, double elapsed_s)
{
	uint64_t kicks = 0, suppressed = 0, calls = 0, writes = 0;
	double iops = (double)b->ios / elapsed_s;

	for (uint16_t q = 0; q < b->nq; q++) {
		uint64_t k, s, c;

		vtc_vq_stats(b->qs[q].vq, &k, &s, &c);
		kicks += k;
		suppressed += s;
		calls += c;
		writes += vtc_vq_call_writes(b->qs[q].vq);
	}
	printf("dev=%s rw=%s bs=%u qd=%u queues=%u ring=%s event_idx=%d indirect=%d notify=%s "
	       "time_s=%.3f ios=%" PRIu64 " iops=%.0f mib_s=%.1f lat_avg_us=%.2f lat_min_us=%.2f "
	       "lat_p50_us=%.2f lat_p99_us=%.2f lat_p999_us=%.2f lat_max_us=%.2f errors=%" PRIu64
	       " kicks=%" PRIu64 " kicks_suppressed=%" PRIu64 " calls=%" PRIu64
	       " call_writes=%" PRIu64 " call_wait_max_us=%.1f call_timeouts=%" PRIu64 " log=%d"
	       " log_clears=%" PRIu64 "\n",
	       b->a.scsi ? "scsi" : "blk", g_rw_names[b->a.rw], b->a.bs, b->a.qd, b->nq,
	       vtc_dev_has_feature(b->dev, VIRTIO_F_RING_PACKED) ? "packed" : "split",
	       vtc_dev_has_feature(b->dev, VIRTIO_RING_F_EVENT_IDX), b->c.indirect,
	       b->c.opts.interrupt ? "interrupt" : "poll", elapsed_s, b->ios, iops,
	       iops * b->a.bs / (1024.0 * 1024.0),
	       b->hist.count ? (double)b->hist.sum_ns / (double)b->hist.count / 1000.0 : 0.0,
	       b->hist.count ? (double)b->hist.min_ns / 1000.0 : 0.0,
	       (double)vtc_hist_quantile(&b->hist, 0.50) / 1000.0,
	       (double)vtc_hist_quantile(&b->hist, 0.99) / 1000.0,
	       (double)vtc_hist_quantile(&b->hist, 0.999) / 1000.0, (double)b->hist.max_ns / 1000.0,
	       b->errors, kicks, suppressed, calls, writes, (double)b->call_wait_max_ns / 1000.0,
	       b->call_timeouts, b->a.log, b->log_clears);
	fflush(stdout);
}

static int
pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0) {
		return 0;
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0) {
		fprintf(stderr, "vtc: cannot pin to cpu %d: %s\n", cpu, strerror(errno));
		return -1;
	}
	return 0;
}

static int
bench_run(struct bench *b)
{
	uint64_t start, end;

	for (uint16_t q = 0; q < b->nq; q++) {
		for (uint32_t i = 0; i < b->a.qd; i++) {
			if (submit(b, &b->qs[q], &b->qs[q].reqs[i]) != 0) {
				return -1;
			}
		}
	}
	start = vtc_now_ns();
	for (uint16_t q = 0; q < b->nq; q++) {
		if (vtc_vq_kick(b->qs[q].vq) != 0) {
			return -1;
		}
	}
	end = start + (uint64_t)(b->a.time_s * 1e9);
	if (run_loop(b, end, true) != 0) {
		return -1;
	}
	report(b, (double)(vtc_now_ns() - start) / 1e9);
	/* Let the requests still in flight finish before the rings are stopped. */
	return run_loop(b, 0, false);
}

int
cli_cmd_bench(int argc, char **argv)
{
	struct bench *b = calloc(1, sizeof(*b));
	int rc = 1;

	if (b == NULL) {
		return 1;
	}
	b->a = (struct bench_args){ .rw = RW_RANDREAD,
				    .bs = 4096,
				    .qd = 1,
				    .time_s = 2,
				    .cpu = -1,
				    .seed = 1,
				    .call_timeout_ms = 100,
				    .log_clear_ms = 100 };
	b->log.fd = -1;
	cli_common_init(&b->c);
	vtc_hist_init(&b->hist);
	b->rng = 0x853c49e6748fea9bull;
	if (parse_args(b, argc, argv) != 0) {
		free(b);
		return 2;
	}
	b->rng ^= b->a.seed * 0x9e3779b97f4a7c15ull;
	if (pin(b->a.cpu) != 0) {
		goto out;
	}
	b->dev = cli_open(&b->c, argv[optind], true);
	if (b->dev == NULL) {
		goto out;
	}
	if (setup(b) == 0 && bench_run(b) == 0) {
		rc = b->errors ? 1 : 0;
	}
	if (vtc_dev_stop(b->dev) != 0 && rc == 0) {
		fprintf(stderr, "vtc: cannot stop the queues of '%s'\n", argv[optind]);
		rc = 1;
	}
out:
	vtc_dev_close(b->dev);
	vtc_log_free(&b->log);
	for (uint16_t q = 0; q < VTC_MAX_QUEUES; q++) {
		free(b->qs[q].reqs);
	}
	free(b);
	return rc;
}
