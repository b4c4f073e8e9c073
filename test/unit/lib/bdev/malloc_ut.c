/* SPDX-License-Identifier: BSD-3-Clause */
/* The malloc bdev module and its RPCs, through the bdev layer on one reactor. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/bdev/malloc/bdev_malloc.c"
#include "lib/bdev/malloc/bdev_malloc_rpc.c"

#include "vt/event.h"
#include "vt/rpc.h"

#include "lib/bdev/bdev_internal.h"
#include "test/unit/common/ut_bdev.h"
#include "test/unit/common/ut_main.h"
#include "test/unit/common/ut_reactor.h"
#include "test/unit/common/ut_rpc.h"

static void
ut_event_cb(enum vt_bdev_event_type type, struct vt_bdev *bdev, void *ctx)
{
	int *events = ctx;

	(*events)++;
}

static struct vt_bdev *
ut_create(const char *name, uint64_t num_blocks, uint32_t block_size)
{
	struct bdev_malloc_opts opts = {
		.name = name,
		.num_blocks = num_blocks,
		.block_size = block_size,
	};
	struct vt_bdev *bdev = NULL;

	CU_ASSERT_EQUAL_FATAL(bdev_malloc_create(&opts, &bdev), 0);
	return bdev;
}

static void
ut_delete(struct vt_bdev *bdev)
{
	int done = 0;

	CU_ASSERT_EQUAL(bdev_malloc_delete(bdev, ut_delete_cb, &done), 0);
	CU_ASSERT(ut_poll_until(&done, 1));
}

struct ut_open {
	struct vt_bdev_desc *desc;
	struct vt_bdev_channel *ch;
	int events;
};

static void
ut_open(struct ut_open *o, const char *name)
{
	memset(o, 0, sizeof(*o));
	CU_ASSERT_EQUAL_FATAL(vt_bdev_open(name, true, ut_event_cb, &o->events, &o->desc), 0);
	o->ch = vt_bdev_get_io_channel(o->desc);
	CU_ASSERT_FATAL(o->ch != NULL);
}

static void
ut_close(struct ut_open *o)
{
	vt_bdev_put_io_channel(o->ch);
	vt_bdev_close(o->desc);
}

static void
malloc_data_round_trips_and_starts_zeroed(void)
{
	struct vt_bdev *bdev = ut_create("ut_m_rw", 2048, 512);
	uint8_t wbuf[3 * 512], rbuf[3 * 512], zero[3 * 512] = { 0 };
	struct iovec wiov[2] = { { wbuf, 1000 }, { wbuf + 1000, 536 } };
	struct iovec riov = { rbuf, sizeof(rbuf) };
	struct ut_result r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
	struct ut_open o;

	ut_open(&o, "ut_m_rw");
	for (size_t i = 0; i < sizeof(wbuf); i++) {
		wbuf[i] = (uint8_t)(i * 13 + 1);
	}
	memset(rbuf, 0xee, sizeof(rbuf));
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(o.desc, o.ch, &riov, 1, 100, 3, ut_io_cb, &r1), 0);
	ut_poll(1);
	CU_ASSERT_TRUE(r1.success);
	CU_ASSERT_EQUAL(memcmp(rbuf, zero, sizeof(rbuf)), 0);
	CU_ASSERT_EQUAL(vt_bdev_writev_blocks(o.desc, o.ch, wiov, 2, 2045, 3, 0, ut_io_cb, &r2), 0);
	ut_poll(1);
	CU_ASSERT_TRUE(r2.success);
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(o.desc, o.ch, &riov, 1, 2045, 3, ut_io_cb, &r3), 0);
	ut_poll(1);
	CU_ASSERT_TRUE(r3.success);
	CU_ASSERT_EQUAL(memcmp(rbuf, wbuf, sizeof(rbuf)), 0);
	CU_ASSERT_STRING_EQUAL(vt_bdev_get_product_name(bdev), "Malloc disk");
	ut_close(&o);
	ut_delete(bdev);
}

static bool
ut_all(const uint8_t *p, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] != v) {
			return false;
		}
	}
	return true;
}

static void
malloc_unmap_and_write_zeroes_zero_only_the_range(void)
{
	const uint32_t bs = 512, nb = 4096; /* 2 MiB */
	struct vt_bdev *bdev = ut_create("ut_m_zero", nb, bs);
	uint8_t *buf = malloc((size_t)nb * bs);
	struct iovec iov = { buf, (size_t)nb * bs };
	struct ut_result r[4] = { 0 };
	struct ut_open o;

	CU_ASSERT_FATAL(buf != NULL);
	ut_open(&o, "ut_m_zero");
	memset(buf, 0x77, (size_t)nb * bs);
	CU_ASSERT_EQUAL(vt_bdev_writev_blocks(o.desc, o.ch, &iov, 1, 0, nb, 0, ut_io_cb, &r[0]), 0);
	/* Small (memset) and large with unaligned edges (madvise plus memset). */
	CU_ASSERT_EQUAL(vt_bdev_unmap_blocks(o.desc, o.ch, 3, 5, ut_io_cb, &r[1]), 0);
	CU_ASSERT_EQUAL(vt_bdev_write_zeroes_blocks(o.desc, o.ch, 101, 2000, ut_io_cb, &r[2]), 0);
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(o.desc, o.ch, &iov, 1, 0, nb, ut_io_cb, &r[3]), 0);
	ut_poll(1);
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_TRUE(r[i].success);
	}
	CU_ASSERT_TRUE(ut_all(buf, 3 * bs, 0x77));
	CU_ASSERT_TRUE(ut_all(buf + 3 * bs, 5 * bs, 0));
	CU_ASSERT_TRUE(ut_all(buf + 8 * bs, 93 * bs, 0x77));
	CU_ASSERT_TRUE(ut_all(buf + 101 * bs, 2000 * bs, 0));
	CU_ASSERT_TRUE(ut_all(buf + 2101 * bs, (size_t)(nb - 2101) * bs, 0x77));
	ut_close(&o);
	ut_delete(bdev);
	free(buf);
}

struct ut_lbas {
	int done;
	enum vt_bdev_lba_status st;
	uint64_t n;
};

static void
ut_lbas_cb(struct vt_bdev_io *io, bool success, void *arg)
{
	struct ut_lbas *u = arg;

	CU_ASSERT_TRUE(success);
	u->st = vt_bdev_io_get_lba_status(io, &u->n);
	u->done++;
}

/* Asserts that lba starts an extent of n blocks (of at most max) in state st. */
static void
ut_assert_lbas(struct ut_open *o, uint64_t lba, uint64_t max, enum vt_bdev_lba_status st,
	       uint64_t n)
{
	struct ut_lbas u = { 0 };

	CU_ASSERT_EQUAL_FATAL(vt_bdev_get_lba_status(o->desc, o->ch, lba, max, ut_lbas_cb, &u), 0);
	CU_ASSERT(ut_poll_until(&u.done, 1));
	CU_ASSERT_EQUAL(u.st, st);
	CU_ASSERT_EQUAL(u.n, n);
}

static void
malloc_get_lba_status_tracks_writes_and_unmaps_per_block(void)
{
	const uint32_t nb = 4096;
	struct vt_bdev *bdev = ut_create("ut_m_lbas", nb, 512);
	uint8_t buf[3 * 512];
	struct iovec iov = { buf, sizeof(buf) };
	struct ut_result r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
	struct ut_open o;

	ut_open(&o, "ut_m_lbas");
	CU_ASSERT_TRUE(bdev->internal->native[VT_BDEV_IO_TYPE_GET_LBA_STATUS]);
	/* A new disk is all deallocated. */
	ut_assert_lbas(&o, 0, nb, VT_BDEV_LBA_DEALLOCATED, nb);
	memset(buf, 0, sizeof(buf));
	CU_ASSERT_EQUAL(vt_bdev_writev_blocks(o.desc, o.ch, &iov, 1, 100, 3, 0, ut_io_cb, &r1), 0);
	CU_ASSERT(ut_poll_until(&r1.done, 1));
	ut_assert_lbas(&o, 0, nb, VT_BDEV_LBA_DEALLOCATED, 100);
	ut_assert_lbas(&o, 100, nb - 100, VT_BDEV_LBA_MAPPED, 3);
	ut_assert_lbas(&o, 103, nb - 103, VT_BDEV_LBA_DEALLOCATED, nb - 103);
	/* One block unmapped in the middle of the written ones. */
	CU_ASSERT_EQUAL(vt_bdev_unmap_blocks(o.desc, o.ch, 101, 1, ut_io_cb, &r2), 0);
	CU_ASSERT(ut_poll_until(&r2.done, 1));
	ut_assert_lbas(&o, 100, 50, VT_BDEV_LBA_MAPPED, 1);
	ut_assert_lbas(&o, 101, 50, VT_BDEV_LBA_DEALLOCATED, 1);
	ut_assert_lbas(&o, 102, 50, VT_BDEV_LBA_MAPPED, 1);
	/* WRITE_ZEROES maps, across bitmap words; the answer never exceeds max. */
	CU_ASSERT_EQUAL(vt_bdev_write_zeroes_blocks(o.desc, o.ch, 200, 200, ut_io_cb, &r3), 0);
	CU_ASSERT(ut_poll_until(&r3.done, 1));
	ut_assert_lbas(&o, 200, nb - 200, VT_BDEV_LBA_MAPPED, 200);
	ut_assert_lbas(&o, 250, 10, VT_BDEV_LBA_MAPPED, 10);
	ut_assert_lbas(&o, 400, nb - 400, VT_BDEV_LBA_DEALLOCATED, nb - 400);
	ut_assert_lbas(&o, nb - 1, 1, VT_BDEV_LBA_DEALLOCATED, 1);
	ut_close(&o);
	ut_delete(bdev);
}

static void
malloc_compare_is_native_and_reports_offset(void)
{
	struct vt_bdev *bdev = ut_create("ut_m_cmp", 64, 4096);
	uint8_t data[4096], cmp[4096];
	struct iovec diov = { data, sizeof(data) }, ciov = { cmp, sizeof(cmp) };
	struct ut_result r[4] = { 0 };
	struct ut_open o;

	ut_open(&o, "ut_m_cmp");
	CU_ASSERT_TRUE(bdev->internal->native[VT_BDEV_IO_TYPE_COMPARE]);
	memset(data, 0x42, sizeof(data));
	CU_ASSERT_EQUAL(vt_bdev_writev_blocks(o.desc, o.ch, &diov, 1, 7, 1, 0, ut_io_cb, &r[0]), 0);
	memcpy(cmp, data, sizeof(cmp));
	CU_ASSERT_EQUAL(vt_bdev_comparev_blocks(o.desc, o.ch, &ciov, 1, 7, 1, ut_io_cb, &r[1]), 0);
	ut_poll(1);
	CU_ASSERT_TRUE(r[1].success);
	cmp[4000] = 0;
	CU_ASSERT_EQUAL(vt_bdev_comparev_blocks(o.desc, o.ch, &ciov, 1, 7, 1, ut_io_cb, &r[2]), 0);
	ut_poll(1);
	CU_ASSERT_EQUAL(r[2].status, VT_BDEV_IO_STATUS_MISCOMPARE);
	CU_ASSERT_EQUAL(r[2].miscompare, 4000);
	/* COMPARE_AND_WRITE over the native compare: a match writes. */
	memcpy(cmp, data, sizeof(cmp));
	memset(data, 0x43, sizeof(data));
	CU_ASSERT_EQUAL(vt_bdev_comparev_and_writev_blocks(o.desc, o.ch, &ciov, 1, &diov, 1, 7, 1,
							   ut_io_cb, &r[3]),
			0);
	CU_ASSERT(ut_poll_until(&r[3].done, 1));
	CU_ASSERT_TRUE(r[3].success);
	CU_ASSERT_TRUE(ut_all(((struct malloc_disk *)bdev->ctxt)->buf + 7 * 4096, 4096, 0x43));
	ut_close(&o);
	ut_delete(bdev);
}

static uint64_t
ut_rss_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL) {
		return 0;
	}
	if (fscanf(f, "%lu %lu", &size, &resident) != 2) {
		resident = 0;
	}
	fclose(f);
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void
malloc_memory_is_resident_only_where_written(void)
{
	uint64_t before = ut_rss_bytes(), after;
	struct vt_bdev *bdev = ut_create("ut_m_rss", 512 * 1024, 512); /* 256 MiB */
	struct ut_open o;

	ut_open(&o, "ut_m_rss");
	after = ut_rss_bytes();
	/* The disk and the channel's I/O pool are mapped, not touched. */
	CU_ASSERT(after < before + 16 * 1024 * 1024);
	ut_close(&o);
	ut_delete(bdev);
}

static void
rpc_create_names_validates_and_refuses_duplicates(void)
{
	struct ut_rpc r;
	struct vt_bdev *bdev;
	char uuid[VT_UUID_STRING_LEN];

	vt_rpc_set_state(VT_RPC_RUNTIME);
	ut_rpc(&r, "bdev_malloc_create", "{\"num_blocks\":16,\"block_size\":512}");
	CU_ASSERT_EQUAL(r.code, 0);
	CU_ASSERT_STRING_EQUAL(r.result, "\"Malloc0\"");
	ut_rpc(&r, "bdev_malloc_create",
	       "{\"num_blocks\":16,\"block_size\":4096,"
	       "\"uuid\":\"6E9C1B4E-5AFB-4D53-9A1F-1A2B3C4D5E6F\",\"optimal_io_boundary\":8}");
	CU_ASSERT_EQUAL(r.code, 0);
	CU_ASSERT_STRING_EQUAL(r.result, "\"Malloc1\"");
	bdev = vt_bdev_get_by_name("Malloc1");
	CU_ASSERT_FATAL(bdev != NULL);
	vt_uuid_fmt(uuid, sizeof(uuid), vt_bdev_get_uuid(bdev));
	CU_ASSERT_STRING_EQUAL(uuid, "6e9c1b4e-5afb-4d53-9a1f-1a2b3c4d5e6f");
	CU_ASSERT_EQUAL(vt_bdev_get_optimal_io_boundary(bdev), 8);
	CU_ASSERT_EQUAL(vt_bdev_get_block_size(bdev), 4096);
	ut_rpc(&r, "bdev_malloc_create",
	       "{\"name\":\"Malloc1\",\"num_blocks\":16,"
	       "\"block_size\":512}");
	CU_ASSERT_EQUAL(r.code, -EEXIST);
	CU_ASSERT_STRING_EQUAL(r.msg, "bdev 'Malloc1' already exists");
	ut_rpc(&r, "bdev_malloc_create",
	       "{\"name\":\"m2\",\"num_blocks\":16,\"block_size\":512,"
	       "\"uuid\":\"6e9c1b4e-5afb-4d53-9a1f-1a2b3c4d5e6f\"}");
	CU_ASSERT_EQUAL(r.code, -EEXIST);
	ut_rpc(&r, "bdev_malloc_create", "{\"name\":\"m2\",\"num_blocks\":16,\"block_size\":1000}");
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.msg, "'block_size'"));
	ut_rpc(&r, "bdev_malloc_create",
	       "{\"name\":\"m2\",\"num_blocks\":16,"
	       "\"block_size\":131072}");
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	ut_rpc(&r, "bdev_malloc_create", "{\"name\":\"m2\",\"num_blocks\":0,\"block_size\":512}");
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.msg, "'num_blocks'"));
	ut_rpc(&r, "bdev_malloc_create",
	       "{\"name\":\"m2\",\"num_blocks\":18014398509481984,"
	       "\"block_size\":512}");
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.msg, "'num_blocks'"));
	ut_rpc(&r, "bdev_malloc_create",
	       "{\"name\":\"m2\",\"num_blocks\":16,\"block_size\":512,"
	       "\"uuid\":\"nope\"}");
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.msg, "'uuid'"));
	ut_rpc(&r, "bdev_malloc_create",
	       "{\"name\":\"bad name\",\"num_blocks\":16,"
	       "\"block_size\":512}");
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.msg, "'name'"));
	ut_rpc(&r, "bdev_malloc_create", "{\"name\":\"m2\",\"block_size\":512}");
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.msg, "num_blocks"));
	CU_ASSERT_PTR_NULL(vt_bdev_get_by_name("m2"));
	ut_rpc(&r, "bdev_malloc_delete", "{\"name\":\"Malloc0\"}");
	CU_ASSERT_EQUAL(r.code, 0);
	ut_rpc(&r, "bdev_malloc_delete", "{\"name\":\"Malloc1\"}");
	CU_ASSERT_EQUAL(r.code, 0);
}

static void
rpc_delete_answers_after_the_bdev_is_gone(void)
{
	struct vt_bdev other = {
		.name = "ut_other",
		.blocklen = 512,
		.blockcnt = 8,
		.fn_table = &g_ut_other_fn,
		.module = &g_ut_other_module,
	};
	struct ut_rpc r;
	struct ut_open o;
	int done = 0;

	vt_rpc_set_state(VT_RPC_RUNTIME);
	ut_rpc(&r, "bdev_malloc_delete", "{\"name\":\"nope\"}");
	CU_ASSERT_EQUAL(r.code, -ENODEV);
	CU_ASSERT_STRING_EQUAL(r.msg, "bdev 'nope' does not exist");
	CU_ASSERT_EQUAL_FATAL(vt_bdev_register(&other), 0);
	ut_rpc(&r, "bdev_malloc_delete", "{\"name\":\"ut_other\"}");
	CU_ASSERT_EQUAL(r.code, -ENODEV);
	CU_ASSERT_STRING_EQUAL(r.msg, "bdev 'ut_other' is not a malloc bdev");
	CU_ASSERT_EQUAL(bdev_malloc_delete(&other, ut_delete_cb, &done), -ENODEV);
	vt_bdev_unregister(&other, ut_delete_cb, &done);
	CU_ASSERT(ut_poll_until(&done, 1));
	/* An open descriptor delays the answer until it is closed. */
	ut_create("ut_m_del", 16, 512);
	ut_open(&o, "ut_m_del");
	ut_rpc_start(&r, "bdev_malloc_delete", "{\"name\":\"ut_m_del\"}");
	ut_poll(5);
	CU_ASSERT_EQUAL(r.done, 0);
	CU_ASSERT_EQUAL(o.events, 1); /* REMOVE */
	ut_close(&o);
	CU_ASSERT(ut_poll_until(&r.done, 1));
	CU_ASSERT_EQUAL(r.code, 0);
	CU_ASSERT_STRING_EQUAL(r.result, "true");
	CU_ASSERT_PTR_NULL(vt_bdev_get_by_name("ut_m_del"));
}

static void
write_config_json_recreates_the_bdev(void)
{
	struct vt_bdev *bdev = ut_create("ut_m_cfg", 32, 512);
	struct vt_json_write_ctx *w = vt_json_write_begin(false);
	char uuid[VT_UUID_STRING_LEN], expect[512];
	const char *text;

	bdev->optimal_io_boundary = 4;
	g_malloc_fn_table.write_config_json(bdev, w);
	CU_ASSERT_EQUAL(vt_json_write_end(w), 0);
	text = vt_json_write_buf(w, NULL);
	vt_uuid_fmt(uuid, sizeof(uuid), &bdev->uuid);
	snprintf(expect, sizeof(expect),
		 "{\"method\":\"bdev_malloc_create\",\"params\":{\"name\":"
		 "\"ut_m_cfg\",\"num_blocks\":32,\"block_size\":512,\"uuid\":\"%s\","
		 "\"optimal_io_boundary\":4}}",
		 uuid);
	CU_ASSERT_STRING_EQUAL(text, expect);
	vt_json_write_free(w);
	ut_delete(bdev);
}

static void
physical_block_size_is_the_block_size_unless_set_and_is_saved_when_set(void)
{
	struct bdev_malloc_opts opts = {
		.name = "ut_m_pbs",
		.num_blocks = 64,
		.block_size = 512,
		.physical_block_size = 4096,
	};
	struct vt_bdev *plain = ut_create("ut_m_plain", 64, 512);
	struct vt_bdev *bdev = NULL;
	struct vt_json_write_ctx *w;
	char uuid[VT_UUID_STRING_LEN], expect[512];

	CU_ASSERT_EQUAL(vt_bdev_get_physical_block_size(plain), 512);
	CU_ASSERT_EQUAL_FATAL(bdev_malloc_create(&opts, &bdev), 0);
	CU_ASSERT_EQUAL(vt_bdev_get_physical_block_size(bdev), 4096);
	CU_ASSERT_EQUAL(vt_bdev_get_block_size(bdev), 512);
	CU_ASSERT_EQUAL(vt_bdev_get_num_blocks(bdev), 64);
	w = vt_json_write_begin(false);
	g_malloc_fn_table.write_config_json(bdev, w);
	CU_ASSERT_EQUAL(vt_json_write_end(w), 0);
	vt_uuid_fmt(uuid, sizeof(uuid), &bdev->uuid);
	snprintf(expect, sizeof(expect),
		 "{\"method\":\"bdev_malloc_create\",\"params\":{\"name\":"
		 "\"ut_m_pbs\",\"num_blocks\":64,\"block_size\":512,\"physical_block_size\":4096,"
		 "\"uuid\":\"%s\",\"optimal_io_boundary\":0}}",
		 uuid);
	CU_ASSERT_STRING_EQUAL(vt_json_write_buf(w, NULL), expect);
	vt_json_write_free(w);
	/* Unset, the parameter is not saved (write_config_json_recreates_the_bdev). */
	w = vt_json_write_begin(false);
	g_malloc_fn_table.write_config_json(plain, w);
	CU_ASSERT_EQUAL(vt_json_write_end(w), 0);
	CU_ASSERT_PTR_NULL(strstr(vt_json_write_buf(w, NULL), "physical_block_size"));
	vt_json_write_free(w);
	ut_delete(bdev);
	ut_delete(plain);
}

static void
rpc_create_validates_physical_block_size(void)
{
	struct ut_rpc r;
	struct vt_bdev *bdev;

	vt_rpc_set_state(VT_RPC_RUNTIME);
	ut_rpc(&r, "bdev_malloc_create",
	       "{\"name\":\"m_p\",\"num_blocks\":16,"
	       "\"block_size\":512,\"physical_block_size\":1536}");
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.msg, "'physical_block_size'"));
	ut_rpc(&r, "bdev_malloc_create",
	       "{\"name\":\"m_p\",\"num_blocks\":16,"
	       "\"block_size\":4096,\"physical_block_size\":512}");
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_STRING_EQUAL(r.msg, "invalid parameter 'physical_block_size': 512 is not 0 or a "
				      "power of two from block_size (4096) to 32768 times it");
	ut_rpc(&r, "bdev_malloc_create",
	       "{\"name\":\"m_p\",\"num_blocks\":16,"
	       "\"block_size\":512,\"physical_block_size\":33554432}");
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	ut_rpc(&r, "bdev_malloc_create",
	       "{\"name\":\"m_p\",\"num_blocks\":16,"
	       "\"block_size\":512,\"physical_block_size\":\"4096\"}");
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_PTR_NULL(vt_bdev_get_by_name("m_p"));
	/* 0 is "unset", as in SPDK. */
	ut_rpc(&r, "bdev_malloc_create",
	       "{\"name\":\"m_p\",\"num_blocks\":16,"
	       "\"block_size\":512,\"physical_block_size\":0}");
	CU_ASSERT_EQUAL(r.code, 0);
	bdev = vt_bdev_get_by_name("m_p");
	CU_ASSERT_FATAL(bdev != NULL);
	CU_ASSERT_EQUAL(vt_bdev_get_physical_block_size(bdev), 512);
	ut_rpc(&r, "bdev_malloc_delete", "{\"name\":\"m_p\"}");
	CU_ASSERT_EQUAL(r.code, 0);
	ut_rpc(&r, "bdev_malloc_create",
	       "{\"name\":\"m_p\",\"num_blocks\":16,"
	       "\"block_size\":512,\"physical_block_size\":4096}");
	CU_ASSERT_EQUAL(r.code, 0);
	CU_ASSERT_STRING_EQUAL(r.result, "\"m_p\"");
	bdev = vt_bdev_get_by_name("m_p");
	CU_ASSERT_FATAL(bdev != NULL);
	CU_ASSERT_EQUAL(vt_bdev_get_physical_block_size(bdev), 4096);
	ut_rpc(&r, "bdev_malloc_delete", "{\"name\":\"m_p\"}");
	CU_ASSERT_EQUAL(r.code, 0);
}

static void
create_refuses_bad_geometry(void)
{
	struct bdev_malloc_opts opts = { .name = "ut_m_bad", .num_blocks = 8, .block_size = 768 };
	struct vt_bdev *bdev = NULL;

	CU_ASSERT_EQUAL(bdev_malloc_create(&opts, &bdev), -EINVAL);
	opts.block_size = 512;
	opts.num_blocks = 0;
	CU_ASSERT_EQUAL(bdev_malloc_create(&opts, &bdev), -EINVAL);
	opts.num_blocks = UINT64_MAX / 256;
	CU_ASSERT_EQUAL(bdev_malloc_create(&opts, &bdev), -EINVAL);
	opts.num_blocks = 8;
	opts.physical_block_size = 1536;
	CU_ASSERT_EQUAL(bdev_malloc_create(&opts, &bdev), -EINVAL);
	opts.physical_block_size = 256;
	CU_ASSERT_EQUAL(bdev_malloc_create(&opts, &bdev), -EINVAL);
	opts.physical_block_size = 512u * VT_BDEV_MAX_PHYS_BLOCKS_PER_BLOCK * 2;
	CU_ASSERT_EQUAL(bdev_malloc_create(&opts, &bdev), -EINVAL);
	CU_ASSERT_PTR_NULL(bdev);
	CU_ASSERT_PTR_NULL(vt_bdev_get_by_name("ut_m_bad"));
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	s = CU_add_suite("bdev_malloc", ut_reactor_suite_init, ut_reactor_suite_fini);
	CU_ADD_TEST(s, malloc_data_round_trips_and_starts_zeroed);
	CU_ADD_TEST(s, malloc_unmap_and_write_zeroes_zero_only_the_range);
	CU_ADD_TEST(s, malloc_compare_is_native_and_reports_offset);
	CU_ADD_TEST(s, malloc_get_lba_status_tracks_writes_and_unmaps_per_block);
	CU_ADD_TEST(s, malloc_memory_is_resident_only_where_written);
	CU_ADD_TEST(s, rpc_create_names_validates_and_refuses_duplicates);
	CU_ADD_TEST(s, rpc_delete_answers_after_the_bdev_is_gone);
	CU_ADD_TEST(s, write_config_json_recreates_the_bdev);
	CU_ADD_TEST(s, physical_block_size_is_the_block_size_unless_set_and_is_saved_when_set);
	CU_ADD_TEST(s, rpc_create_validates_physical_block_size);
	CU_ADD_TEST(s, create_refuses_bad_geometry);
	return ut_run_tests();
}
