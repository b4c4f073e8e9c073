/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vtc drain: puts N pattern writes in flight at once (round-robin over the queues), says so, and
 * then reaps until every one came back, the back end hung up with nothing more in the used rings,
 * or the I/O timeout passed. For the daemon-stop tests: a stop must complete and publish every
 * request it took before the connection goes, and never answer one with an error.
 *
 * Output: "SUBMITTED n=N" (flushed, once every request is available and kicked), then
 * "DRAIN ok=A failed=F pending=P hangup=0|1 last_ms=L hangup_ms=H" (ms since the submission;
 * -1 when it did not happen). Exit 0 when no request failed; 1 otherwise.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "vtc_cli.h"

#define SECTOR 512u
#define DRAIN_MAX 1024u

struct drain_args {
	uint32_t count, bs;
	uint64_t offset, seed;
};

enum {
	DRAIN_OPT_COUNT = CLI_OPT_FIRST_LOCAL,
	DRAIN_OPT_BS,
	DRAIN_OPT_OFFSET,
	DRAIN_OPT_SEED,
};

static void
drain_usage(FILE *out)
{
	fprintf(out,
		"Usage: vtc drain SOCKET [--count N] [--bs B] [--offset B] [--seed N] "
		"[options]\n"
		"  --count N  writes in flight at once (default 8, at most %u)\n"
		"  --bs B     bytes per write (default 4096)\n"
		"  --offset B where the first write goes (default 0); the others follow\n"
		"  --seed N   pattern seed (default 1), as for vtc pattern\n" CLI_COMMON_HELP,
		DRAIN_MAX);
}

static int
drain_parse(struct cli_common *c, struct drain_args *a, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "count", required_argument, NULL, DRAIN_OPT_COUNT },
		{ "bs", required_argument, NULL, DRAIN_OPT_BS },
		{ "offset", required_argument, NULL, DRAIN_OPT_OFFSET },
		{ "seed", required_argument, NULL, DRAIN_OPT_SEED },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			drain_usage(stdout);
			exit(0);
		}
		rc = cli_common_opt(c, opt, optarg);
		if (rc == 1) {
			switch (opt) {
			case DRAIN_OPT_COUNT:
				rc = cli_parse_u32("count", optarg, &a->count);
				break;
			case DRAIN_OPT_BS:
				rc = cli_parse_u32("bs", optarg, &a->bs);
				break;
			case DRAIN_OPT_OFFSET:
				rc = cli_parse_u64("offset", optarg, &a->offset);
				break;
			case DRAIN_OPT_SEED:
				rc = cli_parse_u64("seed", optarg, &a->seed);
				break;
			default:
				rc = -1;
			}
		}
		if (rc != 0) {
			drain_usage(stderr);
			return -1;
		}
	}
	if (optind + 1 != argc || a->count == 0 || a->count > DRAIN_MAX || a->bs == 0 ||
	    a->bs % SECTOR || a->bs > (1u << 20) || a->offset % SECTOR) {
		drain_usage(stderr);
		return -1;
	}
	c->max_io = a->bs;
	if (c->opts.mem_size == 0) {
		c->opts.mem_size = (uint64_t)a->count * (a->bs + 4096) + (16ull << 20);
	}
	return 0;
}

/* Takes what the used rings hold; counts OK and failed requests. */
static int
drain_reap(struct vtc_dev *dev, uint32_t *ok, uint32_t *failed)
{
	struct vtc_cpl cpls[64];
	int got = 0;

	for (uint16_t q = 0; q < vtc_dev_num_queues(dev); q++) {
		int n = vtc_vq_reap(vtc_dev_vq(dev, q), cpls,
				    (uint32_t)(sizeof(cpls) / sizeof(cpls[0])));

		if (n < 0) {
			fprintf(stderr, "vtc: queue %u: the device broke the used ring\n", q);
			return n;
		}
		for (int i = 0; i < n; i++) {
			struct vtc_blk_req *req = cpls[i].cookie;

			if (req == NULL || *req->status != VIRTIO_BLK_S_OK) {
				fprintf(stderr,
					"vtc: request at sector %" PRIu64 " completed with status "
					"0x%x\n",
					req != NULL ? (uint64_t)req->hdr->sector : 0,
					req != NULL ? *req->status : 0xffu);
				(*failed)++;
			} else {
				(*ok)++;
			}
		}
		got += n;
	}
	return got;
}

static int
drain_run(struct vtc_dev *dev, const struct drain_args *a, uint32_t io_timeout_ms)
{
	uint16_t nq = vtc_dev_num_queues(dev);
	struct vtc_blk_req *reqs = calloc(a->count, sizeof(*reqs));
	uint32_t ok = 0, failed = 0;
	int64_t last_ms = -1, hangup_ms = -1;
	uint64_t t0, deadline;
	int rc = -1;

	if (reqs == NULL) {
		return -1;
	}
	for (uint32_t i = 0; i < a->count; i++) {
		uint64_t off = a->offset + (uint64_t)i * a->bs;
		struct vtc_vq *vq = vtc_dev_vq(dev, (uint16_t)(i % nq));

		if (vtc_blk_req_init(vtc_dev_mem(dev), &reqs[i], a->bs) != 0) {
			fprintf(stderr, "vtc: out of guest memory for request %u\n", i);
			goto out;
		}
		cli_pattern_fill(reqs[i].data, off, a->bs, a->seed);
		if (vtc_blk_submit(vq, &reqs[i], VIRTIO_BLK_T_OUT, off / SECTOR, a->bs, 0) < 0) {
			fprintf(stderr, "vtc: cannot submit request %u (ring full?)\n", i);
			goto out;
		}
	}
	for (uint16_t q = 0; q < nq; q++) {
		vtc_vq_kick_force(vtc_dev_vq(dev, q));
	}
	t0 = vtc_now_ns();
	printf("SUBMITTED n=%u\n", a->count);
	fflush(stdout);
	deadline = t0 + (uint64_t)io_timeout_ms * 1000000u;
	while (ok + failed < a->count) {
		int n = drain_reap(dev, &ok, &failed);

		if (n < 0) {
			goto out;
		}
		if (n > 0) {
			last_ms = (int64_t)((vtc_now_ns() - t0) / 1000000u);
			continue;
		}
		if (hangup_ms >= 0) {
			break; /* gone, and nothing more came after it */
		}
		n = vtc_vq_wait_until(vtc_dev_vq(dev, 0), deadline < vtc_now_ns() + 20000000u
								  ? deadline
								  : vtc_now_ns() + 20000000u);
		if (n == -ECONNRESET) {
			hangup_ms = (int64_t)((vtc_now_ns() - t0) / 1000000u);
		} else if (n == -ETIMEDOUT && vtc_now_ns() >= deadline) {
			break;
		}
	}
	if (hangup_ms < 0 && vtc_dev_peer_closed(dev, 0)) {
		hangup_ms = (int64_t)((vtc_now_ns() - t0) / 1000000u);
	}
	printf("DRAIN ok=%u failed=%u pending=%u hangup=%d last_ms=%" PRId64 " hangup_ms=%" PRId64
	       "\n",
	       ok, failed, a->count - ok - failed, hangup_ms >= 0, last_ms, hangup_ms);
	rc = failed == 0 ? 0 : -1;
out:
	free(reqs);
	return rc;
}

int
cli_cmd_drain(int argc, char **argv)
{
	struct drain_args a = { .count = 8, .bs = 4096, .seed = 1 };
	struct cli_common c;
	struct vtc_dev *dev;
	int rc;

	cli_common_init(&c);
	if (drain_parse(&c, &a, argc, argv) != 0) {
		return 2;
	}
	dev = cli_open(&c, argv[optind], true);
	if (dev == NULL) {
		return 1;
	}
	rc = drain_run(dev, &a, c.opts.io_timeout_ms);
	/* No stop: the back end may be gone (that is the point). */
	vtc_dev_close(dev);
	return rc == 0 ? 0 : 1;
}
