/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SET_MEM_TABLE checks and lib/vhost's own mapping of guest memory, on memfd files like the
 * ones QEMU and vtc give.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/vhost/vhost_mem.c"

#include "test/unit/common/ut_main.h"

#define MIB (1024ull * 1024)

static int
memfd(uint64_t size)
{
	int fd = memfd_create("vhost_mem_ut", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(ftruncate(fd, (off_t)size) == 0);
	return fd;
}

static struct vhost_user_mem g_t;
static int g_fds[VHOST_USER_MAX_MEM_REGIONS + 1];
static char g_err[256];

static void
region(uint32_t i, uint64_t gpa, uint64_t size, uint64_t uaddr, uint64_t off)
{
	g_t.regions[i] = (struct vhost_user_mem_region){
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = uaddr,
		.mmap_offset = off,
	};
}

static int
check(uint32_t n, int nfds)
{
	g_t.nregions = n;
	g_err[0] = '\0';
	return vhost_mem_check_table(&g_t, (uint32_t)(8 + n * 32), g_fds, nfds, g_err,
				     sizeof(g_err));
}

static void
table_accepts_regions_inside_their_files(void)
{
	g_fds[0] = memfd(4 * MIB);
	g_fds[1] = memfd(2 * MIB);
	region(0, 0, 3 * MIB, 0x7f0000000000ull, MIB);
	region(1, 4 * MIB, 2 * MIB, 0x7f1000000000ull, 0);
	CU_ASSERT_EQUAL(check(2, 2), 0);
	close(g_fds[0]);
	close(g_fds[1]);
}

static void
table_refuses_region_larger_than_its_file(void)
{
	g_fds[0] = memfd(2 * MIB);
	region(0, 0, 2 * MIB, 0x7f0000000000ull, 4096);
	CU_ASSERT_EQUAL(check(1, 1), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_err, "larger than its file"));
	region(0, 0, 2 * MIB - 4096, 0x7f0000000000ull, 4096);
	CU_ASSERT_EQUAL(check(1, 1), 0);
	close(g_fds[0]);
}

static void
table_refuses_overlapping_regions(void)
{
	g_fds[0] = memfd(4 * MIB);
	g_fds[1] = memfd(4 * MIB);
	region(0, 0, 2 * MIB, 0x7f0000000000ull, 0);
	region(1, MIB, 2 * MIB, 0x7f1000000000ull, 0);
	CU_ASSERT_EQUAL(check(2, 2), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_err, "guest memory"));
	region(1, 2 * MIB, 2 * MIB, 0x7f0000100000ull, 0);
	CU_ASSERT_EQUAL(check(2, 2), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_err, "address space"));
	region(1, 2 * MIB, 2 * MIB, 0x7f0000200000ull, 0);
	CU_ASSERT_EQUAL(check(2, 2), 0);
	close(g_fds[0]);
	close(g_fds[1]);
}

static void
table_refuses_bad_counts_sizes_and_wrapping(void)
{
	g_fds[0] = memfd(MIB);
	region(0, 0, MIB, 0x7f0000000000ull, 0);
	CU_ASSERT_EQUAL(check(0, 0), -EINVAL);
	CU_ASSERT_EQUAL(check(9, 1), -EINVAL);
	CU_ASSERT_EQUAL(check(1, 0), -EINVAL); /* no fd */
	CU_ASSERT_EQUAL(check(1, 2), -EINVAL); /* one fd too many */
	g_t.nregions = 1;
	CU_ASSERT_EQUAL(vhost_mem_check_table(&g_t, 8 + 31, g_fds, 1, g_err, sizeof(g_err)),
			-EINVAL); /* payload shorter than the regions it announces */
	region(0, 0, 0, 0x7f0000000000ull, 0);
	CU_ASSERT_EQUAL(check(1, 1), -EINVAL);
	region(0, UINT64_MAX - 4095, 8192, 0x7f0000000000ull, 0);
	CU_ASSERT_EQUAL(check(1, 1), -EINVAL);
	region(0, 0, 8192, UINT64_MAX - 4095, 0);
	CU_ASSERT_EQUAL(check(1, 1), -EINVAL);
	region(0, 0, 8192, 0x7f0000000000ull, UINT64_MAX - 4095);
	CU_ASSERT_EQUAL(check(1, 1), -EINVAL);
	close(g_fds[0]);
}

static void
table_refuses_files_that_are_not_regular(void)
{
	int p[2];

	CU_ASSERT_FATAL(pipe(p) == 0);
	g_fds[0] = p[0];
	region(0, 0, 4096, 0x7f0000000000ull, 0);
	CU_ASSERT_EQUAL(check(1, 1), -EINVAL);
	close(p[0]);
	close(p[1]);
}

static void
uaddr_lookup_needs_the_whole_range_in_one_region(void)
{
	region(0, 0, MIB, 0x10000000ull, 0);
	region(1, MIB, MIB, 0x10100000ull, 0); /* adjacent in front-end space */
	g_t.nregions = 2;
	CU_ASSERT(vhost_mem_table_has_uaddr(&g_t, 0x10000000ull, MIB));
	CU_ASSERT(vhost_mem_table_has_uaddr(&g_t, 0x100fff00ull, 0x100));
	CU_ASSERT_FALSE(vhost_mem_table_has_uaddr(&g_t, 0x100fff00ull, 0x101));
	CU_ASSERT_FALSE(vhost_mem_table_has_uaddr(&g_t, 0x0fffffffull, 1));
	CU_ASSERT_FALSE(vhost_mem_table_has_uaddr(&g_t, 0x10200000ull, 1));
	CU_ASSERT_FALSE(vhost_mem_table_has_uaddr(&g_t, UINT64_MAX, 2));
}

static void
map_sees_the_front_ends_memory_and_translates_its_addresses(void)
{
	int fd = memfd(4 * MIB);
	uint8_t *front = mmap(NULL, 4 * MIB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	struct vhost_mem_region_desc d = {
		.gpa = 0x40000000ull,
		.size = 2 * MIB,
		.fd = fd,
		.mmap_offset = MIB,
		.mmap_size = 3 * MIB,
		.ext_host = 0x7000000ull,
	};
	struct vhost_mem_map *map;
	uint32_t hint = 0;
	uint8_t *p;

	CU_ASSERT_FATAL(front != MAP_FAILED);
	map = vhost_mem_map_create(&d, 1, g_err, sizeof(g_err));
	CU_ASSERT_FATAL(map != NULL);
	p = vhost_vq_mem_to_host(&map->mem, &hint, 0x40000000ull + 100, 1);
	CU_ASSERT_FATAL(p != NULL);
	*p = 0x5a;
	CU_ASSERT_EQUAL(front[MIB + 100], 0x5a);
	CU_ASSERT_PTR_EQUAL(vhost_mem_map_from_ext(map, 0x7000000ull + 100, 16), p);
	CU_ASSERT_PTR_NULL(vhost_mem_map_from_ext(map, 0x7000000ull + 2 * MIB - 8, 16));
	CU_ASSERT_PTR_NULL(vhost_mem_map_from_ext(map, 0x6ffffffull, 1));
	/* The mapping outlives the front end's own and stays valid until the last reference. */
	munmap(front, 4 * MIB);
	vhost_mem_map_ref(map);
	vhost_mem_map_unref(map);
	*p = 0x77;
	vhost_mem_map_unref(map);
	close(fd);
}

static void
map_refuses_a_region_beyond_its_file(void)
{
	int fd = memfd(MIB);
	struct vhost_mem_region_desc d = {
		.gpa = 0,
		.size = MIB,
		.fd = fd,
		.mmap_offset = 4096,
		.mmap_size = 2 * MIB,
		.ext_host = 0x7000000ull,
	};

	CU_ASSERT_PTR_NULL(vhost_mem_map_create(&d, 1, g_err, sizeof(g_err)));
	d.mmap_offset = 0;
	d.mmap_size = 4096; /* smaller than the region */
	CU_ASSERT_PTR_NULL(vhost_mem_map_create(&d, 1, g_err, sizeof(g_err)));
	close(fd);
}

static void
map_seals_memfd_against_shrinking(void)
{
	int fd = memfd(MIB);
	struct vhost_mem_region_desc d = {
		.gpa = 0,
		.size = MIB,
		.fd = fd,
		.mmap_offset = 0,
		.mmap_size = MIB,
		.ext_host = 0x7000000ull,
	};
	struct vhost_mem_map *map = vhost_mem_map_create(&d, 1, g_err, sizeof(g_err));

	CU_ASSERT_FATAL(map != NULL);
	CU_ASSERT_NOT_EQUAL(ftruncate(fd, 4096), 0);
	vhost_mem_map_unref(map);
	close(fd);
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	s = CU_add_suite("vhost_mem", NULL, NULL);
	CU_ADD_TEST(s, table_accepts_regions_inside_their_files);
	CU_ADD_TEST(s, table_refuses_region_larger_than_its_file);
	CU_ADD_TEST(s, table_refuses_overlapping_regions);
	CU_ADD_TEST(s, table_refuses_bad_counts_sizes_and_wrapping);
	CU_ADD_TEST(s, table_refuses_files_that_are_not_regular);
	CU_ADD_TEST(s, uaddr_lookup_needs_the_whole_range_in_one_region);
	CU_ADD_TEST(s, map_sees_the_front_ends_memory_and_translates_its_addresses);
	CU_ADD_TEST(s, map_refuses_a_region_beyond_its_file);
	CU_ADD_TEST(s, map_seals_memfd_against_shrinking);
	return ut_run_tests();
}
