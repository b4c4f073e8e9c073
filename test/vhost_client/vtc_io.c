/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vtc io: pattern writes, reads (to a file, verified against the pattern or zeros), flush,
 * discard, write zeroes and get id, through the synchronous virtio-blk helpers, round-robin
 * over the queues; vtc pattern: the pattern itself, to compare with what landed on the host.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "vtc_cli.h"

#define SECTOR 512u

struct io_args {
	bool write, read, verify, verify_zero, flush, discard, write_zeroes, get_id;
	uint64_t offset, size, seed;
	uint32_t bs;
	const char *out;
};

enum {
	IO_OPT_WRITE = CLI_OPT_FIRST_LOCAL,
	IO_OPT_READ,
	IO_OPT_VERIFY,
	IO_OPT_VERIFY_ZERO,
	IO_OPT_FLUSH,
	IO_OPT_DISCARD,
	IO_OPT_WRITE_ZEROES,
	IO_OPT_GET_ID,
	IO_OPT_OFFSET,
	IO_OPT_SIZE,
	IO_OPT_BS,
	IO_OPT_SEED,
	IO_OPT_OUT,
};

static int
io_opt(struct io_args *a, int opt, const char *arg)
{
	bool *flag[] = {
		[IO_OPT_WRITE - IO_OPT_WRITE] = &a->write,
		[IO_OPT_READ - IO_OPT_WRITE] = &a->read,
		[IO_OPT_VERIFY - IO_OPT_WRITE] = &a->verify,
		[IO_OPT_VERIFY_ZERO - IO_OPT_WRITE] = &a->verify_zero,
		[IO_OPT_FLUSH - IO_OPT_WRITE] = &a->flush,
		[IO_OPT_DISCARD - IO_OPT_WRITE] = &a->discard,
		[IO_OPT_WRITE_ZEROES - IO_OPT_WRITE] = &a->write_zeroes,
		[IO_OPT_GET_ID - IO_OPT_WRITE] = &a->get_id,
	};

	switch (opt) {
	case IO_OPT_OFFSET:
		return cli_parse_u64("offset", arg, &a->offset);
	case IO_OPT_SIZE:
		return cli_parse_u64("size", arg, &a->size);
	case IO_OPT_BS:
		return cli_parse_u32("bs", arg, &a->bs);
	case IO_OPT_SEED:
		return cli_parse_u64("seed", arg, &a->seed);
	case IO_OPT_OUT:
		a->out = arg;
		return 0;
	default:
		if (opt >= IO_OPT_WRITE && opt <= IO_OPT_GET_ID) {
			*flag[opt - IO_OPT_WRITE] = true;
			return 0;
		}
		return -1;
	}
}

/* Reports a bad status; 0 for OK. */
static int
check_status(const char *what, uint64_t off, uint32_t len, int status)
{
	char buf[64];

	if (status == VIRTIO_BLK_S_OK) {
		return 0;
	}
	fprintf(stderr, "vtc: %s of %u bytes at offset %" PRIu64 " failed: %s\n", what, len, off,
		vtc_blk_status_str(status, buf, sizeof(buf)));
	return -1;
}

/* Discard or write zeroes over the range, one segment per request, bounded by the config. */
static int
io_ranges(struct vtc_dev *dev, const struct io_args *a, bool zeroes)
{
	const struct virtio_blk_config *cfg = vtc_dev_blk_config(dev);
	uint32_t max = zeroes ? cfg->max_write_zeroes_sectors : cfg->max_discard_sectors;
	uint16_t nq = vtc_dev_num_queues(dev);
	uint64_t sector = a->offset / SECTOR, end = (a->offset + a->size) / SECTOR;

	if (max == 0) {
		max = 2048;
	}
	for (uint32_t i = 0; sector < end; i++) {
		uint64_t left = end - sector;
		struct vtc_blk_range r = { .sector = sector,
					   .num_sectors = (uint32_t)(left < max ? left : max) };
		int rc = zeroes ? vtc_blk_write_zeroes(dev, (uint16_t)(i % nq), &r, 1)
				: vtc_blk_discard(dev, (uint16_t)(i % nq), &r, 1);

		if (check_status(zeroes ? "write zeroes" : "discard", sector * SECTOR,
				 r.num_sectors * SECTOR, rc) != 0) {
			return -1;
		}
		sector += r.num_sectors;
	}
	return 0;
}

static int
verify_chunk(const struct io_args *a, const uint8_t *got, uint8_t *expect, uint64_t off,
	     uint32_t len)
{
	if (a->verify_zero) {
		memset(expect, 0, len);
	} else {
		cli_pattern_fill(expect, off, len, a->seed);
	}
	if (memcmp(got, expect, len) == 0) {
		return 0;
	}
	for (uint32_t i = 0; i < len; i++) {
		if (got[i] != expect[i]) {
			fprintf(stderr,
				"vtc: verify failed at offset %" PRIu64 ": expected 0x%02x, read "
				"0x%02x\n",
				off + i, expect[i], got[i]);
			break;
		}
	}
	return -1;
}

/* Writes the pattern, or reads (to --out, verifying) the range in chunks of bs. */
static int
io_rw(struct vtc_dev *dev, const struct io_args *a, uint32_t flags, bool write, FILE *out)
{
	uint8_t *buf = vtc_mem_alloc(vtc_dev_mem(dev), a->bs, 4096, NULL);
	uint8_t *expect = malloc(a->bs);
	uint16_t nq = vtc_dev_num_queues(dev);
	int status, rc = -1;

	if (buf == NULL || expect == NULL) {
		fprintf(stderr, "vtc: cannot allocate a %u-byte buffer\n", a->bs);
		goto out;
	}
	for (uint64_t off = a->offset, i = 0; off < a->offset + a->size; off += a->bs, i++) {
		uint64_t left = a->offset + a->size - off;
		uint32_t len = (uint32_t)(left < a->bs ? left : a->bs);
		uint16_t q = (uint16_t)(i % nq);

		if (write) {
			cli_pattern_fill(buf, off, len, a->seed);
			status = vtc_blk_write(dev, q, off / SECTOR, buf, len, flags);
			if (check_status("write", off, len, status) != 0) {
				goto out;
			}
			continue;
		}
		status = vtc_blk_read(dev, q, off / SECTOR, buf, len, flags);
		if (check_status("read", off, len, status) != 0) {
			goto out;
		}
		if (out != NULL && fwrite(buf, 1, len, out) != len) {
			fprintf(stderr, "vtc: cannot write to '%s': %s\n", a->out, strerror(errno));
			goto out;
		}
		if ((a->verify || a->verify_zero) && verify_chunk(a, buf, expect, off, len) != 0) {
			goto out;
		}
	}
	rc = 0;
out:
	free(expect);
	return rc;
}

static int
io_check_args(struct io_args *a, const struct vtc_dev *dev)
{
	uint64_t capacity = (uint64_t)vtc_dev_blk_config(dev)->capacity * SECTOR;

	if (a->size == 0) {
		a->size = capacity > a->offset ? capacity - a->offset : 0;
	}
	if (a->offset % SECTOR || a->size % SECTOR || a->bs == 0 || a->bs % SECTOR) {
		fprintf(stderr, "vtc: --offset, --size and --bs must be multiples of 512\n");
		return -1;
	}
	if (a->offset + a->size > capacity || a->offset + a->size < a->offset) {
		fprintf(stderr,
			"vtc: range %" PRIu64 "+%" PRIu64 " exceeds the capacity (%" PRIu64
			" bytes)\n",
			a->offset, a->size, capacity);
		return -1;
	}
	return 0;
}

static int
io_run(struct vtc_dev *dev, struct io_args *a, const struct cli_common *c)
{
	uint32_t flags = c->indirect ? VTC_SUBMIT_INDIRECT : 0;
	FILE *out = NULL;
	int rc = -1;

	if (a->get_id) {
		char id[VIRTIO_BLK_ID_BYTES + 1] = { 0 };

		rc = vtc_blk_get_id(dev, 0, id);
		if (check_status("get id", 0, VIRTIO_BLK_ID_BYTES, rc) != 0) {
			return -1;
		}
		printf("id=%s\n", id);
	}
	if ((a->discard && io_ranges(dev, a, false) != 0) ||
	    (a->write_zeroes && io_ranges(dev, a, true) != 0) ||
	    (a->write && io_rw(dev, a, flags, true, NULL) != 0) ||
	    (a->flush && check_status("flush", 0, 0, vtc_blk_flush(dev, 0)) != 0)) {
		return -1;
	}
	if (a->read || a->verify || a->verify_zero || a->out != NULL) {
		if (a->out != NULL) {
			out = fopen(a->out, "wb");
			if (out == NULL) {
				fprintf(stderr, "vtc: cannot create '%s': %s\n", a->out,
					strerror(errno));
				return -1;
			}
		}
		rc = io_rw(dev, a, flags, false, out);
		if (out != NULL && fclose(out) != 0 && rc == 0) {
			fprintf(stderr, "vtc: cannot write '%s': %s\n", a->out, strerror(errno));
			rc = -1;
		}
		if (rc != 0) {
			return rc;
		}
	}
	printf("io ok: offset=%" PRIu64 " size=%" PRIu64 " bs=%u queues=%u%s%s%s%s%s%s%s\n",
	       a->offset, a->size, a->bs, vtc_dev_num_queues(dev), a->discard ? " discard" : "",
	       a->write_zeroes ? " write-zeroes" : "", a->write ? " write" : "",
	       a->flush ? " flush" : "", a->read || a->out ? " read" : "",
	       a->verify ? " verify" : "", a->verify_zero ? " verify-zero" : "");
	return 0;
}

int
cli_cmd_io(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "write", no_argument, NULL, IO_OPT_WRITE },
		{ "read", no_argument, NULL, IO_OPT_READ },
		{ "verify", no_argument, NULL, IO_OPT_VERIFY },
		{ "verify-zero", no_argument, NULL, IO_OPT_VERIFY_ZERO },
		{ "flush", no_argument, NULL, IO_OPT_FLUSH },
		{ "discard", no_argument, NULL, IO_OPT_DISCARD },
		{ "write-zeroes", no_argument, NULL, IO_OPT_WRITE_ZEROES },
		{ "get-id", no_argument, NULL, IO_OPT_GET_ID },
		{ "offset", required_argument, NULL, IO_OPT_OFFSET },
		{ "size", required_argument, NULL, IO_OPT_SIZE },
		{ "bs", required_argument, NULL, IO_OPT_BS },
		{ "seed", required_argument, NULL, IO_OPT_SEED },
		{ "out", required_argument, NULL, IO_OPT_OUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct io_args a = { .bs = 64 * 1024, .seed = 1 };
	struct cli_common c;
	struct vtc_dev *dev;
	int opt, rc;

	cli_common_init(&c);
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			cli_usage(stdout);
			return 0;
		}
		rc = cli_common_opt(&c, opt, optarg);
		if (rc == 1) {
			rc = io_opt(&a, opt, optarg);
		}
		if (rc != 0) {
			cli_usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc || a.bs == 0 || a.bs > (64u << 20)) {
		cli_usage(stderr);
		return 2;
	}
	if (c.opts.mem_size == 0) {
		c.opts.mem_size = 2ull * a.bs + (32ull << 20);
	}
	c.max_io = a.bs;
	dev = cli_open(&c, argv[optind], true);
	if (dev == NULL) {
		return 1;
	}
	rc = io_check_args(&a, dev);
	if (rc == 0) {
		rc = io_run(dev, &a, &c);
	}
	if (vtc_dev_stop(dev) != 0 && rc == 0) {
		fprintf(stderr, "vtc: cannot stop the queues of '%s'\n", argv[optind]);
		rc = -1;
	}
	vtc_dev_close(dev);
	return rc == 0 ? 0 : 1;
}

int
cli_cmd_pattern(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "offset", required_argument, NULL, IO_OPT_OFFSET },
		{ "size", required_argument, NULL, IO_OPT_SIZE },
		{ "seed", required_argument, NULL, IO_OPT_SEED },
		{ NULL, 0, NULL, 0 },
	};
	struct io_args a = { .seed = 1 };
	uint8_t buf[65536];
	int opt;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (io_opt(&a, opt, optarg) != 0) {
			cli_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		cli_usage(stderr);
		return 2;
	}
	for (uint64_t off = a.offset; off < a.offset + a.size; off += sizeof(buf)) {
		size_t len = a.offset + a.size - off < sizeof(buf) ? a.offset + a.size - off
								   : sizeof(buf);

		cli_pattern_fill(buf, off, len, a.seed);
		if (fwrite(buf, 1, len, stdout) != len) {
			fprintf(stderr, "vtc: cannot write the pattern: %s\n", strerror(errno));
			return 1;
		}
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
