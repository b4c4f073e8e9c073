/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VTC_CLI_H
#define VTC_CLI_H

/* Shared by the vtc command's files: common options and helpers. */

#include <getopt.h>
#include <stdio.h>

#include "vhost_client.h"

/* Options every connecting subcommand takes. */
struct cli_common {
	struct vtc_dev_opts opts;
	bool indirect;     /* submit requests through indirect tables */
	uint32_t seg_size; /* split data into buffers of this size */
	bool packed;       /* --packed: required, not merely wanted */
	uint32_t max_io;   /* largest request data, to size the indirect tables */
	uint32_t regions;  /* guest memory regions (with gaps between them) */
};

/* getopt_long values of the common options (above any short option character). */
enum {
	CLI_OPT_QUEUES = 0x100,
	CLI_OPT_QUEUE_SIZE,
	CLI_OPT_PACKED,
	CLI_OPT_NO_EVENT_IDX,
	CLI_OPT_NO_INDIRECT_DESC,
	CLI_OPT_INDIRECT,
	CLI_OPT_NO_REPLY_ACK,
	CLI_OPT_INFLIGHT,
	CLI_OPT_INTERRUPT,
	CLI_OPT_POLL,
	CLI_OPT_TIMEOUT,
	CLI_OPT_IO_TIMEOUT,
	CLI_OPT_MEM,
	CLI_OPT_SEG_SIZE,
	CLI_OPT_CONFIG_SIZE,
	CLI_OPT_DEBUG,
	CLI_OPT_REGIONS,
	CLI_OPT_FIRST_LOCAL, /* subcommands number their own options from here */
};

#define CLI_COMMON_LONGOPTS                                                          \
	{ "queues", required_argument, NULL, CLI_OPT_QUEUES },                       \
		{ "queue-size", required_argument, NULL, CLI_OPT_QUEUE_SIZE },       \
		{ "packed", no_argument, NULL, CLI_OPT_PACKED },                     \
		{ "no-event-idx", no_argument, NULL, CLI_OPT_NO_EVENT_IDX },         \
		{ "no-indirect-desc", no_argument, NULL, CLI_OPT_NO_INDIRECT_DESC }, \
		{ "indirect", no_argument, NULL, CLI_OPT_INDIRECT },                 \
		{ "no-reply-ack", no_argument, NULL, CLI_OPT_NO_REPLY_ACK },         \
		{ "inflight", no_argument, NULL, CLI_OPT_INFLIGHT },                 \
		{ "interrupt", no_argument, NULL, CLI_OPT_INTERRUPT },               \
		{ "poll", no_argument, NULL, CLI_OPT_POLL },                         \
		{ "timeout", required_argument, NULL, CLI_OPT_TIMEOUT },             \
		{ "io-timeout", required_argument, NULL, CLI_OPT_IO_TIMEOUT },       \
		{ "mem", required_argument, NULL, CLI_OPT_MEM },                     \
		{ "seg-size", required_argument, NULL, CLI_OPT_SEG_SIZE },           \
		{ "config-size", required_argument, NULL, CLI_OPT_CONFIG_SIZE },     \
		{ "debug", no_argument, NULL, CLI_OPT_DEBUG },                       \
	{                                                                            \
		"regions", required_argument, NULL, CLI_OPT_REGIONS                  \
	}

#define CLI_COMMON_HELP                                                                        \
	"  --queues N          queues to use (default 1)\n"                                    \
	"  --queue-size N      ring entries (default 128; bench: sized for the queue depth)\n" \
	"  --packed            packed rings (fails when the back end does not offer them)\n"   \
	"  --no-event-idx      do not negotiate VIRTIO_RING_F_EVENT_IDX\n"                     \
	"  --no-indirect-desc  do not negotiate VIRTIO_RING_F_INDIRECT_DESC\n"                 \
	"  --indirect          submit requests through indirect descriptor tables\n"           \
	"  --no-reply-ack      do not negotiate the REPLY_ACK protocol feature\n"              \
	"  --inflight          GET_INFLIGHT_FD / SET_INFLIGHT_FD when offered\n"               \
	"  --interrupt         sleep on the call eventfds (notifications enabled)\n"           \
	"  --poll              busy-poll the used rings, notifications suppressed (default)\n" \
	"  --timeout MS        connect and reply timeout (default 5000)\n"                     \
	"  --io-timeout MS     per-request timeout (default 10000)\n"                          \
	"  --mem MIB           guest memory (default: enough for the command)\n"               \
	"  --seg-size BYTES    split request data into buffers of this size\n"                 \
	"  --config-size N     bytes of config space to read (default 60)\n"                   \
	"  --regions N         split guest memory into N regions with gaps between them\n"     \
	"  --debug             log every vhost-user message\n"

void cli_common_init(struct cli_common *c);
/* 0 when opt was a common option (applied), 1 when it is not one, -1 on a bad value. */
int cli_common_opt(struct cli_common *c, int opt, const char *arg);
/* Opens and starts the device at path; NULL on failure (logged). */
struct vtc_dev *cli_open(struct cli_common *c, const char *path, bool start);

/* Numbers with an optional K/M/G/T suffix (powers of 1024); -1 on a bad value (logged). */
int cli_parse_u64(const char *name, const char *s, uint64_t *value);
int cli_parse_u32(const char *name, const char *s, uint32_t *value);

/* The deterministic test pattern: bytes of [off, off + len) of the device for seed. */
void cli_pattern_fill(uint8_t *buf, uint64_t off, uint64_t len, uint64_t seed);

void cli_usage(FILE *out);

int cli_cmd_io(int argc, char **argv);
int cli_cmd_pattern(int argc, char **argv);
int cli_cmd_bench(int argc, char **argv);
int cli_cmd_scsi(int argc, char **argv);
int cli_cmd_dirtylog(int argc, char **argv);
int cli_cmd_drain(int argc, char **argv);
int cli_cmd_reconnect(int argc, char **argv);

#endif
