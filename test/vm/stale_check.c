/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest workload of the migration VM test (test/integration/test_vm_migrate.py): it sees a page
 * that the device wrote while the guest migrated but that reached the destination stale, which
 * happens when the source's vhost-user back end does not mark the data buffers it fills dirty.
 * Built static on the host by the test and copied into the standalone guest.
 *
 *   stale_check write DEV REGIONS REGION_BYTES
 *     fills REGIONS regions of REGION_BYTES at the start of DEV with their pattern (O_DIRECT);
 *   stale_check check DEV REGIONS REGION_BYTES HOLD_MS STOPFILE
 *     loops: O_DIRECT pread of the next region (rotating) into one buffer, then for HOLD_MS
 *     re-reads the whole buffer from the CPU against that region's pattern, never writing it.
 *     The buffer changes only by device DMA, so a page the migration copied before a later
 *     fill, and that the back end did not log, keeps the previous region's data on the
 *     destination: "STALE region R page P". Once STOPFILE exists, two more fills and it ends.
 *
 * Every 8-byte word of page P of region R holds PATTERN(R, P, word): a stale page tells which
 * region and page it holds. Prints "started" after the first fill and a summary line at the
 * end; exit status 0 when no page was ever stale, 1 when one was, 2 on a usage or I/O error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096u
#define WORDS (PAGE / 8u)
#define MAGIC 0x5354414c45000000ull
#define MAX_LINES_PER_FILL 8

static uint64_t
pattern(uint64_t region, uint64_t page, uint64_t word)
{
	return MAGIC ^ (region << 48) ^ (page << 16) ^ word;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return (errno != 0 || end == s || *end != '\0') ? -1 : 0;
}

static int
full_io(int fd, void *buf, uint64_t len, uint64_t off, int write)
{
	uint64_t done = 0;

	while (done < len) {
		ssize_t n = write ? pwrite(fd, (char *)buf + done, len - done, (off_t)(off + done))
				  : pread(fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (n <= 0) {
			fprintf(stderr, "%s at %" PRIu64 ": %s\n", write ? "pwrite" : "pread",
				off + done, n < 0 ? strerror(errno) : "end of device");
			return -1;
		}
		done += (uint64_t)n;
	}
	return 0;
}

/* Checks every page of buf against region r; reports each page that differs once per fill. */
static uint64_t
check_buf(const volatile uint64_t *buf, uint64_t pages, uint64_t r, uint64_t fill,
	  unsigned char *seen, unsigned *lines)
{
	uint64_t bad = 0;

	for (uint64_t p = 0; p < pages; p++) {
		const volatile uint64_t *w = buf + p * WORDS;

		for (uint64_t i = 0; i < WORDS; i++) {
			uint64_t v = w[i];

			if (v == pattern(r, p, i)) {
				continue;
			}
			bad++;
			if (!seen[p]) {
				uint64_t x = w[0] ^ MAGIC;

				seen[p] = 1;
				if ((*lines)++ < MAX_LINES_PER_FILL) {
					printf("STALE region %" PRIu64 " page %" PRIu64
					       " fill %" PRIu64 ": holds region %" PRIu64
					       " page %" PRIu64 " (word 0 %#" PRIx64 ")\n",
					       r, p, fill, x >> 48, (x >> 16) & 0xffffffffu, w[0]);
				}
			}
			break;
		}
	}
	return bad;
}

int
main(int argc, char **argv)
{
	uint64_t regions, rbytes, hold_ms = 0;
	int writing = argc == 5 && strcmp(argv[1], "write") == 0;
	int checking = argc == 7 && strcmp(argv[1], "check") == 0;

	if ((!writing && !checking) || parse_u64(argv[3], &regions) != 0 ||
	    parse_u64(argv[4], &rbytes) != 0 || regions == 0 || regions > 0xffff || rbytes == 0 ||
	    rbytes % PAGE != 0 || (checking && parse_u64(argv[5], &hold_ms) != 0)) {
		fprintf(stderr,
			"usage: stale_check write DEV REGIONS REGION_BYTES\n"
			"       stale_check check DEV REGIONS REGION_BYTES HOLD_MS STOPFILE\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	uint64_t pages = rbytes / PAGE;
	uint64_t *buf;
	unsigned char *seen = calloc(pages, 1);

	if (posix_memalign((void **)&buf, PAGE, rbytes) != 0 || seen == NULL) {
		fprintf(stderr, "out of memory\n");
		return 2;
	}
	int fd = open(argv[2], (writing ? O_WRONLY : O_RDONLY) | O_DIRECT);

	if (fd < 0) {
		fprintf(stderr, "open %s: %s\n", argv[2], strerror(errno));
		return 2;
	}
	if (writing) {
		for (uint64_t r = 0; r < regions; r++) {
			for (uint64_t p = 0; p < pages; p++) {
				for (uint64_t i = 0; i < WORDS; i++) {
					buf[p * WORDS + i] = pattern(r, p, i);
				}
			}
			if (full_io(fd, buf, rbytes, r * rbytes, 1) != 0) {
				return 2;
			}
		}
		if (fsync(fd) != 0) {
			fprintf(stderr, "fsync: %s\n", strerror(errno));
			return 2;
		}
		printf("wrote %" PRIu64 " regions of %" PRIu64 " bytes\n", regions, rbytes);
		return 0;
	}

	/* the CPU touches the buffer once, so that every later change to it is the device's */
	memset(buf, 0, rbytes);
	uint64_t fill = 0, checks = 0, stale_pages = 0, stale_fills = 0, after_stop = 0;

	for (;; fill++) {
		uint64_t r = fill % regions, bad_fill = 0;
		unsigned lines = 0;

		if (full_io(fd, buf, rbytes, r * rbytes, 0) != 0) {
			return 2;
		}
		if (fill == 0) {
			printf("started\n");
		}
		memset(seen, 0, pages);
		double end = now_ms() + (double)hold_ms;

		do {
			bad_fill += check_buf(buf, pages, r, fill, seen, &lines);
			checks++;
		} while (now_ms() < end);
		if (bad_fill != 0) {
			uint64_t n = 0;

			for (uint64_t p = 0; p < pages; p++) {
				n += seen[p];
			}
			printf("fill %" PRIu64 ": %" PRIu64 " stale pages\n", fill, n);
			stale_pages += n;
			stale_fills++;
		}
		if (after_stop > 0 || access(argv[6], F_OK) == 0) {
			if (++after_stop > 2) {
				break;
			}
		}
	}
	printf("summary fills %" PRIu64 " checks %" PRIu64 " stale_pages %" PRIu64
	       " stale_fills %" PRIu64 "\n",
	       fill + 1, checks, stale_pages, stale_fills);
	return stale_pages != 0 ? 1 : 0;
}
