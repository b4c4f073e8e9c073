/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The dirty log (lib/vhost/vhost_log.c): page arithmetic, bounds, the SET_LOG_BASE mapping
 * checks and offset, host-to-guest translation across regions, and the atomic OR against a
 * concurrent writer.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/vhost/vhost_log.c"

#include "test/unit/common/ut_main.h"

#define NBITS_BYTES 16 /* 128 pages: guest-physical 0 .. 512 KiB */

static uint8_t g_bits[NBITS_BYTES + 16]; /* + a guard the log must never touch */
static struct vhost_log *g_log;

static void
log_reset(void)
{
	memset(g_bits, 0, sizeof(g_bits));
	vhost_log_unref(g_log);
	g_log = vhost_log_wrap(g_bits, NBITS_BYTES);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g_log);
}

static bool
page_marked(uint64_t page)
{
	return (g_bits[page / 8] >> (page % 8)) & 1;
}

static uint32_t
pages_marked(void)
{
	uint32_t n = 0;

	for (uint64_t p = 0; p < sizeof(g_bits) * 8; p++) {
		n += page_marked(p);
	}
	return n;
}

static void
one_byte_marks_its_page_only(void)
{
	log_reset();
	vhost_log_mark(g_log, 5 * 4096 + 4095, 1);
	CU_ASSERT_TRUE(page_marked(5));
	CU_ASSERT_EQUAL(pages_marked(), 1);
	/* Bit 5 of byte 0: the spec's log[page / 8] |= 1 << page % 8. */
	CU_ASSERT_EQUAL(g_bits[0], 1u << 5);
}

static void
range_crossing_a_page_boundary_marks_both_pages(void)
{
	log_reset();
	vhost_log_mark(g_log, 7 * 4096 + 4094, 4);
	CU_ASSERT_TRUE(page_marked(7));
	CU_ASSERT_TRUE(page_marked(8));
	CU_ASSERT_EQUAL(pages_marked(), 2);
	/* A long range: whole bytes and partial ones at both ends. */
	log_reset();
	vhost_log_mark(g_log, 3 * 4096, 30 * 4096);
	for (uint64_t p = 0; p < 40; p++) {
		CU_ASSERT_EQUAL(page_marked(p), p >= 3 && p < 33);
	}
	CU_ASSERT_EQUAL(pages_marked(), 30);
}

static void
empty_range_and_pages_beyond_the_log_mark_nothing_outside_it(void)
{
	log_reset();
	vhost_log_mark(g_log, 4096, 0);
	CU_ASSERT_EQUAL(pages_marked(), 0);
	/* Beyond the bitmap: clipped, the guard bytes stay untouched. */
	vhost_log_mark(g_log, (uint64_t)NBITS_BYTES * 8 * 4096, 4096);
	vhost_log_mark(g_log, UINT64_MAX - 10, 100);
	CU_ASSERT_EQUAL(pages_marked(), 0);
	vhost_log_mark(g_log, ((uint64_t)NBITS_BYTES * 8 - 1) * 4096, 10 * 4096);
	CU_ASSERT_TRUE(page_marked(NBITS_BYTES * 8 - 1));
	CU_ASSERT_EQUAL(pages_marked(), 1);
	for (size_t i = NBITS_BYTES; i < sizeof(g_bits); i++) {
		CU_ASSERT_EQUAL(g_bits[i], 0);
	}
	/* A NULL log (logging off) is a no-op. */
	vhost_log_mark(NULL, 0, 4096);
}

static void
log_size_covers_memory_rounded_up_to_pages_and_bytes(void)
{
	CU_ASSERT_EQUAL(vhost_log_bytes_for(0), 0);
	CU_ASSERT_EQUAL(vhost_log_bytes_for(1), 1);
	CU_ASSERT_EQUAL(vhost_log_bytes_for(8 * 4096), 1);
	CU_ASSERT_EQUAL(vhost_log_bytes_for(8 * 4096 + 1), 2);
	CU_ASSERT_EQUAL(vhost_log_bytes_for(1ull << 30), (1u << 30) / 4096 / 8);
}

static void
host_ranges_are_logged_by_guest_address_across_regions(void)
{
	static uint8_t host[3 * 4096] __attribute__((aligned(4096)));
	/* Two regions adjacent in host memory but far apart in guest memory. */
	struct vhost_vq_mem_region r[2] = {
		{ .gpa = 10 * 4096, .size = 4096, .host = host },
		{ .gpa = 40 * 4096, .size = 2 * 4096, .host = host + 4096 },
	};
	struct vhost_vq_mem mem;
	struct iovec iov[2] = { { host + 4000, 200 }, { host + 3 * 4096, 10 } };

	CU_ASSERT_EQUAL_FATAL(vhost_vq_mem_init(&mem, r, 2), 0);
	CU_ASSERT_EQUAL(vhost_log_host_to_gpa(&mem, host + 5), 10 * 4096 + 5);
	CU_ASSERT_EQUAL(vhost_log_host_to_gpa(&mem, host + 4096 + 7), 40 * 4096 + 7);
	CU_ASSERT_EQUAL(vhost_log_host_to_gpa(&mem, host + 3 * 4096), UINT64_MAX);
	log_reset();
	/* 96 bytes in region 0 (page 10), 104 in region 1 (page 40). */
	vhost_log_mark_host(g_log, &mem, host + 4000, 200);
	CU_ASSERT_TRUE(page_marked(10));
	CU_ASSERT_TRUE(page_marked(40));
	CU_ASSERT_EQUAL(pages_marked(), 2);
	/* The iovec helper logs only the first len bytes; memory outside guest memory: nothing. */
	log_reset();
	vhost_log_mark_iov(g_log, &mem, iov, 2, 50);
	CU_ASSERT_TRUE(page_marked(10));
	CU_ASSERT_EQUAL(pages_marked(), 1);
	log_reset();
	vhost_log_mark_iov(g_log, &mem, &iov[1], 1, 10);
	CU_ASSERT_EQUAL(pages_marked(), 0);
}

static void
map_checks_the_file_and_starts_the_bitmap_at_the_offset(void)
{
	char err[256];
	struct vhost_log *log;
	int fd = memfd_create("log_ut", MFD_CLOEXEC), p[2];
	uint8_t *view;

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(ftruncate(fd, 8192), 0);
	view = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CU_ASSERT_FATAL(view != MAP_FAILED);

	CU_ASSERT_PTR_NULL(vhost_log_map(fd, 0, 0, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "0 bytes"));
	CU_ASSERT_PTR_NULL(vhost_log_map(fd, 4096, 8192 - 100, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "shorter"));
	CU_ASSERT_PTR_NULL(vhost_log_map(fd, 16, UINT64_MAX - 8, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "wraps"));
	CU_ASSERT_PTR_NULL(vhost_log_map(-1, 16, 0, err, sizeof(err)));
	CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
	CU_ASSERT_PTR_NULL(vhost_log_map(p[0], 16, 0, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "regular"));
	close(p[0]);
	close(p[1]);
	/* A regular file the front end opened read-only: it cannot be mapped for writing. */
	{
		char path[64];
		int ro;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		ro = open(path, O_RDONLY | O_CLOEXEC);
		CU_ASSERT_FATAL(ro >= 0);
		CU_ASSERT_PTR_NULL(vhost_log_map(ro, 16, 0, err, sizeof(err)));
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot map"));
		close(ro);
	}

	/* An offset that is not page-aligned: the bitmap starts there. */
	log = vhost_log_map(fd, 100, 4100, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(log);
	vhost_log_mark(log, 9 * 4096, 1);
	CU_ASSERT_EQUAL(view[4100 + 1], 1u << 1);
	CU_ASSERT_EQUAL(view[4100], 0);
	/* Clipped at its size: byte 100 from the offset is not the log's. */
	vhost_log_mark(log, 100ull * 8 * 4096, 4096);
	CU_ASSERT_EQUAL(view[4200], 0);
	vhost_log_unref(log);
	munmap(view, 8192);
	close(fd);
}

/*
 * Two writers setting interleaved bits of the same bytes at the same moment, many times: no
 * bit may be lost. The second writer spins on a round counter (no barrier wake-up latency), so
 * the two really overlap: a plain read-modify-write loses bits here within a few rounds.
 */
#define RACE_BYTES 16
#define RACE_ROUNDS 20000

static uint8_t g_race[RACE_BYTES];
static _Atomic uint32_t g_round;
static _Atomic uint32_t g_done;

static void
race_mark(uint64_t first)
{
	struct vhost_log log = { .refs = 1, .bits = g_race, .size = RACE_BYTES };

	for (uint64_t p = first; p < RACE_BYTES * 8ull; p += 2) {
		vhost_log_mark(&log, p * 4096, 1);
	}
}

static void *
writer_main(void *arg)
{
	for (uint32_t round = 1; round <= RACE_ROUNDS; round++) {
		while (atomic_load(&g_round) != round) {
		}
		race_mark(1);
		atomic_store(&g_done, round);
	}
	return NULL;
}

static void
concurrent_marks_never_lose_a_bit(void)
{
	pthread_t t;
	uint32_t lost = 0;

	atomic_store(&g_round, 0);
	atomic_store(&g_done, 0);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, writer_main, NULL), 0);
	for (uint32_t round = 1; round <= RACE_ROUNDS; round++) {
		memset(g_race, 0, sizeof(g_race));
		atomic_store(&g_round, round);
		race_mark(0);
		while (atomic_load(&g_done) != round) {
		}
		for (size_t i = 0; i < sizeof(g_race); i++) {
			lost += g_race[i] != 0xff;
		}
	}
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(lost, 0);
}

int
main(void)
{
	CU_pSuite s;
	int rc;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	s = CU_add_suite("vhost_log", NULL, NULL);
	CU_ADD_TEST(s, one_byte_marks_its_page_only);
	CU_ADD_TEST(s, range_crossing_a_page_boundary_marks_both_pages);
	CU_ADD_TEST(s, empty_range_and_pages_beyond_the_log_mark_nothing_outside_it);
	CU_ADD_TEST(s, log_size_covers_memory_rounded_up_to_pages_and_bytes);
	CU_ADD_TEST(s, host_ranges_are_logged_by_guest_address_across_regions);
	CU_ADD_TEST(s, map_checks_the_file_and_starts_the_bitmap_at_the_offset);
	CU_ADD_TEST(s, concurrent_marks_never_lose_a_bit);
	rc = ut_run_tests();
	vhost_log_unref(g_log);
	return rc;
}
