/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bdev_io: writes or verifies a deterministic pattern on a bdev through the bdev layer, after
 * replaying a JSON config that creates it. Integration tests use it to prove that a bdev keeps
 * its data across daemon restarts:
 *
 *   bdev_io -c CONFIG.json -b BDEV (--write SEED | --verify SEED) [--blocks N] [--block-offset N]
 *
 * Every block starts with its LBA and the seed, followed by an xorshift64* stream seeded from
 * both, so a block written at the wrong place or with another seed never verifies. --write writes
 * 128 KiB at a time, then FLUSHes; --verify reads back and prints "verified N blocks" or
 * "mismatch at block L". Exit status: 0 success, 1 mismatch or I/O error, 2 bad usage.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vt/bdev.h"
#include "vt/event.h"
#include "vt/init.h"
#include "vt/log.h"
#include "vt/util.h"

#define BDEV_IO_CHUNK_BYTES (128u * 1024u)

struct bdev_io_job {
	const char *bdev_name;
	bool write;
	uint64_t seed;
	uint64_t num_blocks; /* 0 = up to the end of the bdev */
	uint64_t offset;     /* first block */

	struct vt_bdev_desc *desc;
	struct vt_bdev_channel *ch;
	uint32_t block_size;
	uint64_t next; /* next block to transfer */
	uint64_t end;  /* one past the last block */
	uint64_t chunk_blocks;
	uint64_t cur_blocks; /* blocks of the I/O in flight */
	uint8_t *buf;
	uint8_t *expect; /* one block of expected data (--verify) */
	struct iovec iov;
};

static struct bdev_io_job g_job;

static uint64_t
xorshift64star(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* The contents of block lba for seed: lba, seed, then the stream. */
static void
pattern_fill(uint8_t *block, uint32_t block_size, uint64_t seed, uint64_t lba)
{
	uint64_t state = (seed ^ (lba * 0x9E3779B97F4A7C15ULL)) | 1;
	uint64_t word;
	uint32_t off;

	memcpy(block, &lba, sizeof(lba));
	memcpy(block + 8, &seed, sizeof(seed));
	for (off = 16; off < block_size; off += sizeof(word)) {
		word = xorshift64star(&state);
		memcpy(block + off, &word, sizeof(word));
	}
}

static void
job_finish(int rc)
{
	if (g_job.ch != NULL) {
		vt_bdev_put_io_channel(g_job.ch);
		g_job.ch = NULL;
	}
	if (g_job.desc != NULL) {
		vt_bdev_close(g_job.desc);
		g_job.desc = NULL;
	}
	free(g_job.buf);
	free(g_job.expect);
	g_job.buf = NULL;
	g_job.expect = NULL;
	fflush(stdout);
	vt_app_stop(rc);
}

static void job_next(void);

static bool
job_io_ok(struct vt_bdev_io *io, bool success, const char *what)
{
	if (success) {
		return true;
	}
	printf("%s error at block %" PRIu64 ": %s\n", what, g_job.next,
	       vt_strerror(vt_bdev_io_get_errno(io)));
	return false;
}

static void
flush_done(struct vt_bdev_io *io, bool success, void *cb_arg)
{
	if (!job_io_ok(io, success, "flush")) {
		job_finish(1);
		return;
	}
	printf("wrote %" PRIu64 " blocks\n", g_job.end - g_job.offset);
	job_finish(0);
}

static void
write_done(struct vt_bdev_io *io, bool success, void *cb_arg)
{
	if (!job_io_ok(io, success, "write")) {
		job_finish(1);
		return;
	}
	g_job.next += g_job.cur_blocks;
	job_next();
}

static void
read_done(struct vt_bdev_io *io, bool success, void *cb_arg)
{
	uint32_t bs = g_job.block_size;
	uint64_t i;

	if (!job_io_ok(io, success, "read")) {
		job_finish(1);
		return;
	}
	for (i = 0; i < g_job.cur_blocks; i++) {
		pattern_fill(g_job.expect, bs, g_job.seed, g_job.next + i);
		if (memcmp(g_job.buf + i * bs, g_job.expect, bs) != 0) {
			printf("mismatch at block %" PRIu64 "\n", g_job.next + i);
			job_finish(1);
			return;
		}
	}
	g_job.next += g_job.cur_blocks;
	job_next();
}

static void
job_submit_failed(int rc, const char *what)
{
	printf("cannot submit %s at block %" PRIu64 ": %s\n", what, g_job.next, vt_strerror(-rc));
	job_finish(1);
}

static void
job_next(void)
{
	uint32_t bs = g_job.block_size;
	uint64_t i;
	int rc;

	if (g_job.next >= g_job.end) {
		if (!g_job.write) {
			printf("verified %" PRIu64 " blocks\n", g_job.end - g_job.offset);
			job_finish(0);
			return;
		}
		rc = vt_bdev_flush_blocks(g_job.desc, g_job.ch, g_job.offset,
					  g_job.end - g_job.offset, flush_done, NULL);
		if (rc != 0) {
			job_submit_failed(rc, "flush");
		}
		return;
	}
	g_job.cur_blocks = VT_MIN(g_job.chunk_blocks, g_job.end - g_job.next);
	g_job.iov.iov_base = g_job.buf;
	g_job.iov.iov_len = g_job.cur_blocks * bs;
	if (g_job.write) {
		for (i = 0; i < g_job.cur_blocks; i++) {
			pattern_fill(g_job.buf + i * bs, bs, g_job.seed, g_job.next + i);
		}
		rc = vt_bdev_writev_blocks(g_job.desc, g_job.ch, &g_job.iov, 1, g_job.next,
					   g_job.cur_blocks, 0, write_done, NULL);
	} else {
		rc = vt_bdev_readv_blocks(g_job.desc, g_job.ch, &g_job.iov, 1, g_job.next,
					  g_job.cur_blocks, read_done, NULL);
	}
	if (rc != 0) {
		job_submit_failed(rc, g_job.write ? "write" : "read");
	}
}

static void
bdev_event(enum vt_bdev_event_type type, struct vt_bdev *bdev, void *ctx)
{
	if (type == VT_BDEV_EVENT_REMOVE) {
		printf("bdev '%s' was removed\n", g_job.bdev_name);
	}
}

static int
job_setup(void)
{
	struct vt_bdev *bdev;
	uint64_t blockcnt;
	size_t align;
	int rc;

	rc = vt_bdev_open(g_job.bdev_name, g_job.write, bdev_event, NULL, &g_job.desc);
	if (rc != 0) {
		printf("cannot open bdev '%s': %s\n", g_job.bdev_name, vt_strerror(-rc));
		return rc;
	}
	bdev = vt_bdev_desc_get_bdev(g_job.desc);
	g_job.block_size = vt_bdev_get_block_size(bdev);
	blockcnt = vt_bdev_get_num_blocks(bdev);
	if (g_job.offset >= blockcnt || g_job.num_blocks > blockcnt - g_job.offset) {
		printf("blocks %" PRIu64 "+%" PRIu64 " are beyond bdev '%s' (%" PRIu64 " blocks)\n",
		       g_job.offset, g_job.num_blocks, g_job.bdev_name, blockcnt);
		return -EINVAL;
	}
	g_job.end = g_job.num_blocks ? g_job.offset + g_job.num_blocks : blockcnt;
	g_job.next = g_job.offset;
	g_job.chunk_blocks = VT_MAX(BDEV_IO_CHUNK_BYTES / g_job.block_size, 1u);
	align = VT_MAX(vt_bdev_get_buf_align(bdev), 4096u);
	if (posix_memalign((void **)&g_job.buf, align, g_job.chunk_blocks * g_job.block_size) ||
	    posix_memalign((void **)&g_job.expect, align, g_job.block_size)) {
		printf("out of memory\n");
		return -ENOMEM;
	}
	g_job.ch = vt_bdev_get_io_channel(g_job.desc);
	if (g_job.ch == NULL) {
		printf("cannot get an I/O channel for bdev '%s'\n", g_job.bdev_name);
		return -ENOMEM;
	}
	return 0;
}

static void
job_start(void *arg)
{
	if (job_setup() != 0) {
		job_finish(1);
		return;
	}
	job_next();
}

static void
usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s -c CONFIG.json -b BDEV (--write SEED | --verify SEED) "
		"[--blocks N] [--block-offset N]\n",
		prog);
}

static int
parse_u64(const char *opt, const char *s, uint64_t *out)
{
	if (vt_strtou64(s, out) != 0) {
		fprintf(stderr, "invalid value '%s' for %s\n", s, opt);
		return -EINVAL;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "write", required_argument, NULL, 'w' },
		{ "verify", required_argument, NULL, 'v' },
		{ "blocks", required_argument, NULL, 'n' },
		{ "block-offset", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vt_app_opts opts;
	const char *config = NULL;
	int modes = 0, c;

	while ((c = getopt_long(argc, argv, "c:b:h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'b':
			g_job.bdev_name = optarg;
			break;
		case 'w':
		case 'v':
			g_job.write = c == 'w';
			modes++;
			if (parse_u64(c == 'w' ? "--write" : "--verify", optarg, &g_job.seed)) {
				return 2;
			}
			break;
		case 'n':
			if (parse_u64("--blocks", optarg, &g_job.num_blocks)) {
				return 2;
			}
			break;
		case 'o':
			if (parse_u64("--block-offset", optarg, &g_job.offset)) {
				return 2;
			}
			break;
		default:
			usage(argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (config == NULL || g_job.bdev_name == NULL || modes != 1 || optind != argc) {
		usage(argv[0]);
		return 2;
	}
	vt_app_opts_init(&opts);
	opts.name = "bdev_io";
	opts.no_rpc_server = true;
	opts.no_eal = true;
	opts.json_config_file = config;
	opts.start_fn = job_start;
	return vt_app_start(&opts);
}
