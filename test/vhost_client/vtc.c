/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vtc: a vhost-user-blk front end on the command line.
 *   vtc info SOCKET     negotiated features and the virtio-blk config space
 *   vtc io SOCKET       pattern write / read / verify, flush, discard, write zeroes, get id
 *                       (vtc_io.c)
 *   vtc bench SOCKET    IOPS and latency percentiles (vtc_bench.c)
 *   vtc pattern         prints the test pattern, to compare with what landed on the host
 *   vtc scsi SOCKET     virtio-scsi commands, task management and events (vtc_scsi_cli.c)
 *   vtc dirtylog SOCKET the back end's dirty logging (migration) checked page by page
 *                       (vtc_dirtylog.c)
 *   vtc drain SOCKET    writes in flight while the back end stops (vtc_drain.c)
 *   vtc reconnect SOCKET the inflight record across a back-end crash (vtc_reconnect.c)
 * This file: main, the options every subcommand shares, info.
 * Exit status: 0 success, 1 failure (a message on stderr), 2 usage error.
 */

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vtc_cli.h"
#include "vtc_internal.h"

#define SECTOR 512u

void
cli_usage(FILE *out)
{
	fprintf(out,
		"usage: vtc info SOCKET [options]\n"
		"       vtc io SOCKET [--write] [--read] [--verify] [--verify-zero] [--flush]\n"
		"                     [--discard] [--write-zeroes] [--get-id] [--offset BYTES]\n"
		"                     [--size BYTES] [--bs BYTES] [--seed N] [--out FILE]\n"
		"                     [options]\n"
		"       vtc bench SOCKET --rw randread|randwrite|read|write [--bs BYTES] [--qd N]\n"
		"                     [--time S] [--cpu CORE] [options]   (vtc bench --help)\n"
		"       vtc pattern [--offset BYTES] [--size BYTES] [--seed N]   (to stdout)\n"
		"       vtc scsi SOCKET [options] [COMMAND ARGS... | --stdin]   virtio-scsi\n"
		"                     (vtc scsi --help)\n"
		"       vtc dirtylog SOCKET [--scsi] [--log-offset BYTES] [--step] [options]\n"
		"       vtc drain SOCKET [--count N] [--bs BYTES] [--seed N] [options]\n"
		"       vtc reconnect SOCKET [--scsi] [--requests N] [--done N] [--bad-region K]\n"
		"                     [options]   (vtc reconnect --help)\n"
		"options:\n" CLI_COMMON_HELP
		"Sizes take K, M, G suffixes (1024-based). Requests go round-robin over the\n"
		"queues.\n");
}

void
cli_common_init(struct cli_common *c)
{
	memset(c, 0, sizeof(*c));
	vtc_dev_opts_init(&c->opts);
	c->opts.mem_size = 0; /* chosen by the command */
}

int
cli_parse_u64(const char *name, const char *s, uint64_t *value)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || end == s || s[0] == '-') {
		goto bad;
	}
	if (*end != '\0' && strchr("KMGT", toupper((unsigned char)*end)) != NULL) {
		shift = 10 * (int)(strchr("KMGT", toupper((unsigned char)*end)) - "KMGT" + 1);
		end++;
	}
	if (*end != '\0' || (shift && v > (UINT64_MAX >> shift))) {
		goto bad;
	}
	*value = (uint64_t)v << shift;
	return 0;
bad:
	fprintf(stderr, "vtc: invalid value '%s' for --%s\n", s, name);
	return -1;
}

int
cli_parse_u32(const char *name, const char *s, uint32_t *value)
{
	uint64_t v;

	if (cli_parse_u64(name, s, &v) != 0) {
		return -1;
	}
	if (v > UINT32_MAX) {
		fprintf(stderr, "vtc: value '%s' for --%s is too large\n", s, name);
		return -1;
	}
	*value = (uint32_t)v;
	return 0;
}

static int
parse_u16(const char *name, const char *s, uint16_t *value, uint32_t max)
{
	uint32_t v;

	if (cli_parse_u32(name, s, &v) != 0) {
		return -1;
	}
	if (v == 0 || v > max) {
		fprintf(stderr, "vtc: --%s must be 1 to %u\n", name, max);
		return -1;
	}
	*value = (uint16_t)v;
	return 0;
}

int
cli_common_opt(struct cli_common *c, int opt, const char *arg)
{
	struct vtc_dev_opts *o = &c->opts;
	uint64_t mib;

	switch (opt) {
	case CLI_OPT_QUEUES:
		return parse_u16("queues", arg, &o->num_queues, VTC_MAX_QUEUES) == 0 ? 0 : -1;
	case CLI_OPT_QUEUE_SIZE:
		return parse_u16("queue-size", arg, &o->queue_size, VTC_MAX_QUEUE_SIZE) == 0 ? 0
											     : -1;
	case CLI_OPT_PACKED:
		c->packed = true;
		o->features |= 1ull << VIRTIO_F_RING_PACKED;
		o->required |= 1ull << VIRTIO_F_RING_PACKED;
		return 0;
	case CLI_OPT_NO_EVENT_IDX:
		o->features &= ~(1ull << VIRTIO_RING_F_EVENT_IDX);
		return 0;
	case CLI_OPT_NO_INDIRECT_DESC:
		o->features &= ~(1ull << VIRTIO_RING_F_INDIRECT_DESC);
		return 0;
	case CLI_OPT_INDIRECT:
		c->indirect = true;
		o->required |= 1ull << VIRTIO_RING_F_INDIRECT_DESC;
		return 0;
	case CLI_OPT_NO_REPLY_ACK:
		o->protocol_features &= ~(1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK);
		return 0;
	case CLI_OPT_INFLIGHT:
		o->inflight = true;
		o->protocol_features |= 1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD;
		return 0;
	case CLI_OPT_INTERRUPT:
		o->interrupt = true;
		return 0;
	case CLI_OPT_POLL:
		o->interrupt = false;
		return 0;
	case CLI_OPT_TIMEOUT:
		if (cli_parse_u32("timeout", arg, &o->connect_timeout_ms) != 0) {
			return -1;
		}
		o->reply_timeout_ms = o->connect_timeout_ms;
		return 0;
	case CLI_OPT_IO_TIMEOUT:
		return cli_parse_u32("io-timeout", arg, &o->io_timeout_ms) == 0 ? 0 : -1;
	case CLI_OPT_MEM:
		if (cli_parse_u64("mem", arg, &mib) != 0 || mib == 0 || mib > (1u << 20)) {
			return -1;
		}
		o->mem_size = mib << 20;
		return 0;
	case CLI_OPT_SEG_SIZE:
		return cli_parse_u32("seg-size", arg, &o->seg_size) == 0 ? 0 : -1;
	case CLI_OPT_CONFIG_SIZE:
		return cli_parse_u32("config-size", arg, &o->config_size) == 0 ? 0 : -1;
	case CLI_OPT_DEBUG:
		vt_log_set_flag("vtc");
		return 0;
	case CLI_OPT_REGIONS:
		if (cli_parse_u32("regions", arg, &c->regions) != 0 || c->regions == 0 ||
		    c->regions > VTC_MEM_MAX_REGIONS) {
			fprintf(stderr, "vtc: --regions must be 1 to %u\n", VTC_MEM_MAX_REGIONS);
			return -1;
		}
		return 0;
	default:
		return 1;
	}
}

/* Guest memory in c->regions regions of equal size, 2 MiB of unmapped gpa between them. */
static int
add_regions(const struct cli_common *c, struct vtc_dev *dev)
{
	uint64_t per = c->opts.mem_size / c->regions;
	uint64_t gpa = c->opts.mem_gpa;

	per = (per + VTC_MEM_ALIGN - 1) & ~(VTC_MEM_ALIGN - 1);
	for (uint32_t i = 0; i < c->regions; i++) {
		if (vtc_mem_add_region(vtc_dev_mem(dev), gpa, per) != 0) {
			return -1;
		}
		gpa += per + VTC_MEM_ALIGN;
	}
	return 0;
}

struct vtc_dev *
cli_open(struct cli_common *c, const char *path, bool start)
{
	struct vtc_dev *dev;

	c->opts.path = path;
	if (c->opts.mem_size == 0) {
		c->opts.mem_size = 64ull << 20;
	}
	c->opts.mem_size = (c->opts.mem_size + VTC_MEM_ALIGN - 1) & ~(VTC_MEM_ALIGN - 1);
	if (c->opts.seg_size > 0 && c->max_io > 0) {
		/* Header, data buffers, status: one indirect table holds a whole request. */
		uint64_t need = (c->max_io + c->opts.seg_size - 1) / c->opts.seg_size + 2;

		if (need > c->opts.indirect_max) {
			c->opts.indirect_max = (uint16_t)(need < 1024 ? need : 1024);
		}
	}
	dev = vtc_dev_open(&c->opts);
	if (dev == NULL) {
		fprintf(stderr, "vtc: cannot open vhost-user device '%s'\n", path);
		return NULL;
	}
	if (c->regions > 1 && add_regions(c, dev) != 0) {
		vtc_dev_close(dev);
		return NULL;
	}
	if (start && vtc_dev_start(dev) != 0) {
		fprintf(stderr, "vtc: cannot start vhost-user device '%s'\n", path);
		vtc_dev_close(dev);
		return NULL;
	}
	return dev;
}

/* splitmix64: a good 64-bit mix of (seed, word index). */
static uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

void
cli_pattern_fill(uint8_t *buf, uint64_t off, uint64_t len, uint64_t seed)
{
	for (uint64_t i = 0; i < len; i++) {
		uint64_t pos = off + i;
		uint64_t word = mix64(seed * 0x100000001b3ull ^ (pos >> 3));

		buf[i] = (uint8_t)(word >> ((pos & 7) * 8));
	}
}

/* ---- info -------------------------------------------------------------------------------- */

static void
print_config(const struct vtc_dev *dev)
{
	const struct virtio_blk_config *c = vtc_dev_blk_config(dev);

	printf("config_len=%u\n", vtc_dev_config_len(dev));
	printf("capacity_sectors=%" PRIu64 "\n", (uint64_t)c->capacity);
	printf("capacity_bytes=%" PRIu64 "\n", (uint64_t)c->capacity * SECTOR);
	printf("size_max=%u\n", c->size_max);
	printf("seg_max=%u\n", c->seg_max);
	printf("geometry=%u/%u/%u\n", c->geometry.cylinders, c->geometry.heads,
	       c->geometry.sectors);
	printf("blk_size=%u\n", c->blk_size);
	printf("physical_block_exp=%u\n", c->physical_block_exp);
	printf("alignment_offset=%u\n", c->alignment_offset);
	printf("min_io_size=%u\n", c->min_io_size);
	printf("opt_io_size=%u\n", c->opt_io_size);
	printf("wce=%u\n", c->wce);
	printf("num_queues=%u\n", c->num_queues);
	printf("max_discard_sectors=%u\n", c->max_discard_sectors);
	printf("max_discard_seg=%u\n", c->max_discard_seg);
	printf("discard_sector_alignment=%u\n", c->discard_sector_alignment);
	printf("max_write_zeroes_sectors=%u\n", c->max_write_zeroes_sectors);
	printf("max_write_zeroes_seg=%u\n", c->max_write_zeroes_seg);
	printf("write_zeroes_may_unmap=%u\n", c->write_zeroes_may_unmap);
}

static int
cmd_info(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common c;
	struct vtc_dev *dev;
	char buf[1024], id[VIRTIO_BLK_ID_BYTES + 1] = { 0 }, sbuf[32];
	int opt, rc;

	cli_common_init(&c);
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			cli_usage(stdout);
			return 0;
		}
		if (cli_common_opt(&c, opt, optarg) != 0) {
			cli_usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		cli_usage(stderr);
		return 2;
	}
	dev = cli_open(&c, argv[optind], true);
	if (dev == NULL) {
		return 1;
	}
	printf("socket=%s\n", argv[optind]);
	printf("features_offered=0x%" PRIx64 " %s\n", vtc_dev_offered_features(dev),
	       vtc_features_str(vtc_dev_offered_features(dev), buf, sizeof(buf)));
	printf("features=0x%" PRIx64 " %s\n", vtc_dev_features(dev),
	       vtc_features_str(vtc_dev_features(dev), buf, sizeof(buf)));
	printf("protocol_features_offered=0x%" PRIx64 " %s\n",
	       vtc_dev_offered_protocol_features(dev),
	       vtc_protocol_features_str(vtc_dev_offered_protocol_features(dev), buf, sizeof(buf)));
	printf("protocol_features=0x%" PRIx64 " %s\n", vtc_dev_protocol_features(dev),
	       vtc_protocol_features_str(vtc_dev_protocol_features(dev), buf, sizeof(buf)));
	printf("max_queues=%u\n", vtc_dev_max_queues(dev));
	printf("queues=%u\n", vtc_dev_num_queues(dev));
	printf("ring=%s\n", vtc_dev_has_feature(dev, VIRTIO_F_RING_PACKED) ? "packed" : "split");
	printf("queue_size=%u\n", c.opts.queue_size);
	print_config(dev);
	rc = vtc_blk_get_id(dev, 0, id);
	printf("id_status=%s\n", vtc_blk_status_str(rc, sbuf, sizeof(sbuf)));
	if (rc == VIRTIO_BLK_S_OK) {
		printf("id=%s\n", id);
	}
	rc = vtc_dev_stop(dev);
	vtc_dev_close(dev);
	if (rc != 0) {
		fprintf(stderr, "vtc: cannot stop the queues of '%s'\n", argv[optind]);
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	/* Our own messages are already lower-case and complete; keep the library's terse. */
	vt_log_set_print_level(VT_LOG_NOTICE);
	if (strcmp(cmd, "info") == 0) {
		return cmd_info(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "io") == 0) {
		return cli_cmd_io(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "bench") == 0) {
		return cli_cmd_bench(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "pattern") == 0) {
		return cli_cmd_pattern(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "scsi") == 0) {
		return cli_cmd_scsi(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "dirtylog") == 0) {
		return cli_cmd_dirtylog(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "drain") == 0) {
		return cli_cmd_drain(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "reconnect") == 0) {
		return cli_cmd_reconnect(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		cli_usage(stdout);
		return 0;
	}
	cli_usage(stderr);
	return 2;
}
