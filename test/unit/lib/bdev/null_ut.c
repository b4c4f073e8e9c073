/* SPDX-License-Identifier: BSD-3-Clause */
/* The null bdev module and its RPCs, through the bdev layer on one reactor. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bdev/null/bdev_null.c"
#include "lib/bdev/null/bdev_null_rpc.c"

#include "vt/event.h"
#include "vt/rpc.h"

#include "lib/bdev/bdev_internal.h"
#include "test/unit/common/ut_bdev.h"
#include "test/unit/common/ut_main.h"
#include "test/unit/common/ut_reactor.h"
#include "test/unit/common/ut_rpc.h"

struct ut_events {
	int remove;
	int resize;
};

static void
ut_event_cb(enum vt_bdev_event_type type, struct vt_bdev *bdev, void *ctx)
{
	struct ut_events *e = ctx;

	if (type == VT_BDEV_EVENT_RESIZE) {
		e->resize++;
	} else {
		e->remove++;
	}
}

struct ut_open {
	struct vt_bdev_desc *desc;
	struct vt_bdev_channel *ch;
	struct ut_events ev;
};

static void
ut_open(struct ut_open *o, const char *name)
{
	memset(o, 0, sizeof(*o));
	CU_ASSERT_EQUAL_FATAL(vt_bdev_open(name, true, ut_event_cb, &o->ev, &o->desc), 0);
	o->ch = vt_bdev_get_io_channel(o->desc);
	CU_ASSERT_FATAL(o->ch != NULL);
}

static void
ut_close(struct ut_open *o)
{
	vt_bdev_put_io_channel(o->ch);
	vt_bdev_close(o->desc);
}

static struct vt_bdev *
ut_create(const char *name, uint64_t num_blocks, uint32_t block_size)
{
	struct bdev_null_opts opts = {
		.name = name,
		.num_blocks = num_blocks,
		.block_size = block_size,
	};
	struct vt_bdev *bdev = NULL;

	CU_ASSERT_EQUAL_FATAL(bdev_null_create(&opts, &bdev), 0);
	return bdev;
}

static void
ut_delete(struct vt_bdev *bdev)
{
	int done = 0;

	CU_ASSERT_EQUAL(bdev_null_delete(bdev, ut_delete_cb, &done), 0);
	CU_ASSERT(ut_poll_until(&done, 1));
}

static void
null_reads_return_zeroes_and_writes_succeed(void)
{
	struct vt_bdev *bdev = ut_create("ut_n_rw", 1024, 4096);
	uint8_t buf[2 * 4096];
	struct iovec iov[2] = { { buf, 100 }, { buf + 100, sizeof(buf) - 100 } };
	struct ut_result r[6] = { 0 };
	struct ut_open o;
	int n = 0;

	ut_open(&o, "ut_n_rw");
	memset(buf, 0xff, sizeof(buf));
	CU_ASSERT_EQUAL(vt_bdev_writev_blocks(o.desc, o.ch, iov, 2, 0, 2, 0, ut_io_cb, &r[n++]), 0);
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(o.desc, o.ch, iov, 2, 0, 2, ut_io_cb, &r[n++]), 0);
	CU_ASSERT_EQUAL(vt_bdev_unmap_blocks(o.desc, o.ch, 0, 1024, ut_io_cb, &r[n++]), 0);
	CU_ASSERT_EQUAL(vt_bdev_write_zeroes_blocks(o.desc, o.ch, 5, 10, ut_io_cb, &r[n++]), 0);
	CU_ASSERT_EQUAL(vt_bdev_flush_blocks(o.desc, o.ch, 0, 1024, ut_io_cb, &r[n++]), 0);
	CU_ASSERT_EQUAL(vt_bdev_reset(o.desc, o.ch, ut_io_cb, &r[n++]), 0);
	CU_ASSERT(ut_poll_until(&r[n - 1].done, 1));
	for (int i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(r[i].done, 1);
		CU_ASSERT_TRUE(r[i].success);
	}
	for (size_t i = 0; i < sizeof(buf); i++) {
		if (buf[i] != 0) {
			CU_FAIL("read returned a non-zero byte");
			break;
		}
	}
	/* The module's own RESET, not the layer's emulation. */
	CU_ASSERT_TRUE(bdev->internal->native[VT_BDEV_IO_TYPE_RESET]);
	CU_ASSERT_STRING_EQUAL(vt_bdev_get_product_name(bdev), "Null disk");
	ut_close(&o);
	ut_delete(bdev);
}

/* read_zeroes off: reads complete without touching their buffers; writes as before. */
static void
null_reads_leave_buffers_untouched_without_read_zeroes(void)
{
	struct bdev_null_opts opts = {
		.name = "ut_n_nz",
		.num_blocks = 64,
		.block_size = 512,
		.no_read_zeroes = true,
	};
	struct vt_bdev *bdev = NULL;
	uint8_t buf[3 * 512];
	struct iovec one = { buf, 512 };
	struct iovec iov[2] = { { buf + 512, 300 }, { buf + 812, sizeof(buf) - 812 } };
	struct ut_result r[3] = { 0 };
	struct ut_open o;

	CU_ASSERT_EQUAL_FATAL(bdev_null_create(&opts, &bdev), 0);
	ut_open(&o, "ut_n_nz");
	memset(buf, 0xa5, sizeof(buf));
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(o.desc, o.ch, &one, 1, 0, 1, ut_io_cb, &r[0]), 0);
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(o.desc, o.ch, iov, 2, 1, 2, ut_io_cb, &r[1]), 0);
	CU_ASSERT_EQUAL(vt_bdev_writev_blocks(o.desc, o.ch, iov, 2, 5, 2, 0, ut_io_cb, &r[2]), 0);
	CU_ASSERT(ut_poll_until(&r[2].done, 1));
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(r[i].done, 1);
		CU_ASSERT_TRUE(r[i].success);
	}
	for (size_t i = 0; i < sizeof(buf); i++) {
		if (buf[i] != 0xa5) {
			CU_FAIL("a read without read_zeroes wrote into its buffer");
			break;
		}
	}
	ut_close(&o);
	ut_delete(bdev);
}

struct ut_lbas {
	int done;
	uint64_t n;
};

static void
ut_lbas_cb(struct vt_bdev_io *io, bool success, void *arg)
{
	struct ut_lbas *u = arg;

	CU_ASSERT_TRUE(success);
	CU_ASSERT_EQUAL(vt_bdev_io_get_lba_status(io, &u->n), VT_BDEV_LBA_DEALLOCATED);
	u->done++;
}

static void
null_get_lba_status_is_deallocated_everywhere(void)
{
	struct vt_bdev *bdev = ut_create("ut_n_lbas", 1024, 512);
	uint8_t buf[512];
	struct iovec iov = { buf, sizeof(buf) };
	struct ut_result r = { 0 };
	struct ut_open o;
	struct ut_lbas u = { 0 };

	ut_open(&o, "ut_n_lbas");
	memset(buf, 0xff, sizeof(buf));
	CU_ASSERT_EQUAL(vt_bdev_writev_blocks(o.desc, o.ch, &iov, 1, 7, 1, 0, ut_io_cb, &r), 0);
	CU_ASSERT(ut_poll_until(&r.done, 1));
	/* Even a written block: nothing is stored, reads return zeroes. */
	CU_ASSERT_EQUAL(vt_bdev_get_lba_status(o.desc, o.ch, 7, 1017, ut_lbas_cb, &u), 0);
	CU_ASSERT(ut_poll_until(&u.done, 1));
	CU_ASSERT_EQUAL(u.n, 1017);
	CU_ASSERT_TRUE(bdev->internal->native[VT_BDEV_IO_TYPE_GET_LBA_STATUS]);
	ut_close(&o);
	ut_delete(bdev);
}

static void
null_compare_is_emulated_against_zeroes(void)
{
	struct vt_bdev *bdev = ut_create("ut_n_cmp", 16, 512);
	uint8_t buf[512] = { 0 };
	struct iovec iov = { buf, sizeof(buf) };
	struct ut_result r1 = { 0 }, r2 = { 0 };
	struct ut_open o;

	ut_open(&o, "ut_n_cmp");
	CU_ASSERT_FALSE(bdev->internal->native[VT_BDEV_IO_TYPE_COMPARE]);
	CU_ASSERT_TRUE(vt_bdev_io_type_supported(bdev, VT_BDEV_IO_TYPE_COMPARE));
	CU_ASSERT_EQUAL(vt_bdev_comparev_blocks(o.desc, o.ch, &iov, 1, 3, 1, ut_io_cb, &r1), 0);
	CU_ASSERT(ut_poll_until(&r1.done, 1));
	CU_ASSERT_TRUE(r1.success);
	buf[5] = 1;
	CU_ASSERT_EQUAL(vt_bdev_comparev_blocks(o.desc, o.ch, &iov, 1, 3, 1, ut_io_cb, &r2), 0);
	CU_ASSERT(ut_poll_until(&r2.done, 1));
	CU_ASSERT_EQUAL(r2.status, VT_BDEV_IO_STATUS_MISCOMPARE);
	CU_ASSERT_EQUAL(r2.miscompare, 5);
	ut_close(&o);
	ut_delete(bdev);
}

static void
rpc_create_and_delete_follow_spdk(void)
{
	struct ut_rpc r;

	vt_rpc_set_state(VT_RPC_RUNTIME);
	ut_rpc(&r, "bdev_null_create",
	       "{\"name\":\"Null0\",\"num_blocks\":2048,"
	       "\"block_size\":512,\"uuid\":\"0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d\"}");
	CU_ASSERT_EQUAL(r.code, 0);
	CU_ASSERT_STRING_EQUAL(r.result, "\"Null0\"");
	CU_ASSERT_PTR_NOT_NULL(vt_bdev_get_by_name("0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"));
	ut_rpc(&r, "bdev_null_create",
	       "{\"name\":\"Null0\",\"num_blocks\":2048,"
	       "\"block_size\":512}");
	CU_ASSERT_EQUAL(r.code, -EEXIST);
	CU_ASSERT_STRING_EQUAL(r.msg, "bdev 'Null0' already exists");
	ut_rpc(&r, "bdev_null_create",
	       "{\"name\":\"Null1\",\"num_blocks\":2048,"
	       "\"block_size\":520}");
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.msg, "'block_size'"));
	ut_rpc(&r, "bdev_null_create", "{\"name\":\"Null1\",\"num_blocks\":0,\"block_size\":512}");
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.msg, "'num_blocks'"));
	ut_rpc(&r, "bdev_null_create", "{\"num_blocks\":8,\"block_size\":512}");
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.msg, "name"));
	ut_rpc(&r, "bdev_null_create",
	       "{\"name\":\"Null2\",\"num_blocks\":8,\"block_size\":512,\"read_zeroes\":1}");
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.msg, "read_zeroes"));
	ut_rpc(&r, "bdev_null_create",
	       "{\"name\":\"Null2\",\"num_blocks\":8,\"block_size\":512,"
	       "\"read_zeroes\":false}");
	CU_ASSERT_EQUAL(r.code, 0);
	CU_ASSERT_FALSE(((struct null_disk *)vt_bdev_get_by_name("Null2")->ctxt)->read_zeroes);
	CU_ASSERT_TRUE(((struct null_disk *)vt_bdev_get_by_name("Null0")->ctxt)->read_zeroes);
	ut_rpc(&r, "bdev_null_delete", "{\"name\":\"Null2\"}");
	CU_ASSERT_EQUAL(r.code, 0);
	ut_rpc(&r, "bdev_null_delete", "{\"name\":\"nope\"}");
	CU_ASSERT_EQUAL(r.code, -ENODEV);
	CU_ASSERT_STRING_EQUAL(r.msg, "bdev 'nope' does not exist");
	ut_rpc(&r, "bdev_null_delete", "{\"name\":\"Null0\"}");
	CU_ASSERT_EQUAL(r.code, 0);
	CU_ASSERT_STRING_EQUAL(r.result, "true");
	CU_ASSERT_PTR_NULL(vt_bdev_get_by_name("Null0"));
}

static void
rpc_resize_grows_sends_resize_and_refuses_shrinking(void)
{
	struct vt_bdev *bdev = ut_create("ut_n_resize", 2048, 512); /* 1 MiB */
	struct ut_open o;
	struct ut_rpc r;

	vt_rpc_set_state(VT_RPC_RUNTIME);
	ut_open(&o, "ut_n_resize");
	ut_rpc(&r, "bdev_null_resize", "{\"name\":\"ut_n_resize\",\"new_size\":4}");
	CU_ASSERT_EQUAL(r.code, 0);
	CU_ASSERT_STRING_EQUAL(r.result, "true");
	CU_ASSERT_EQUAL(vt_bdev_get_num_blocks(bdev), 8192);
	CU_ASSERT(ut_poll_until(&o.ev.resize, 1));
	ut_rpc(&r, "bdev_null_resize", "{\"name\":\"ut_n_resize\",\"new_size\":2}");
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.msg, "'new_size'"));
	ut_rpc(&r, "bdev_null_resize", "{\"name\":\"ut_n_resize\",\"new_size\":0}");
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	ut_rpc(&r, "bdev_null_resize", "{\"name\":\"nope\",\"new_size\":8}");
	CU_ASSERT_EQUAL(r.code, -ENODEV);
	/* Same size: nothing to tell the users. */
	ut_rpc(&r, "bdev_null_resize", "{\"name\":\"ut_n_resize\",\"new_size\":4}");
	CU_ASSERT_EQUAL(r.code, 0);
	CU_ASSERT_EQUAL(o.ev.resize, 1);
	CU_ASSERT_EQUAL(vt_bdev_get_num_blocks(bdev), 8192);
	CU_ASSERT_EQUAL(bdev_null_resize(bdev, 1), -EINVAL);
	ut_close(&o);
	ut_delete(bdev);
}

/* A bdev of another module: null RPCs refuse it the way SPDK does. */
static void
rpcs_refuse_bdevs_of_other_modules(void)
{
	struct vt_bdev other = {
		.name = "ut_n_other",
		.blocklen = 512,
		.blockcnt = 8,
		.fn_table = &g_ut_other_fn,
		.module = &g_ut_other_module,
	};
	struct ut_rpc r;
	int done = 0;

	vt_rpc_set_state(VT_RPC_RUNTIME);
	CU_ASSERT_EQUAL_FATAL(vt_bdev_register(&other), 0);
	ut_rpc(&r, "bdev_null_delete", "{\"name\":\"ut_n_other\"}");
	CU_ASSERT_EQUAL(r.code, -ENODEV);
	CU_ASSERT_STRING_EQUAL(r.msg, "bdev 'ut_n_other' is not a null bdev");
	ut_rpc(&r, "bdev_null_resize", "{\"name\":\"ut_n_other\",\"new_size\":8}");
	CU_ASSERT_EQUAL(r.code, -EINVAL);
	CU_ASSERT_EQUAL(bdev_null_resize(&other, 8), -EINVAL);
	vt_bdev_unregister(&other, ut_delete_cb, &done);
	CU_ASSERT(ut_poll_until(&done, 1));
}

static void
write_config_json_records_the_current_size(void)
{
	struct vt_bdev *bdev = ut_create("ut_n_cfg", 2048, 512);
	struct vt_json_write_ctx *w;
	char uuid[VT_UUID_STRING_LEN], expect[512];

	CU_ASSERT_EQUAL(bdev_null_resize(bdev, 2), 0);
	w = vt_json_write_begin(false);
	g_null_fn_table.write_config_json(bdev, w);
	CU_ASSERT_EQUAL(vt_json_write_end(w), 0);
	vt_uuid_fmt(uuid, sizeof(uuid), &bdev->uuid);
	snprintf(expect, sizeof(expect),
		 "{\"method\":\"bdev_null_create\",\"params\":{\"name\":"
		 "\"ut_n_cfg\",\"num_blocks\":4096,\"block_size\":512,\"uuid\":\"%s\"}}",
		 uuid);
	CU_ASSERT_STRING_EQUAL(vt_json_write_buf(w, NULL), expect);
	vt_json_write_free(w);
	/* read_zeroes is written only when off, so a default config reads as SPDK's. */
	((struct null_disk *)bdev->ctxt)->read_zeroes = false;
	w = vt_json_write_begin(false);
	g_null_fn_table.write_config_json(bdev, w);
	CU_ASSERT_EQUAL(vt_json_write_end(w), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(vt_json_write_buf(w, NULL), ",\"read_zeroes\":false}}"));
	vt_json_write_free(w);
	ut_delete(bdev);
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	s = CU_add_suite("bdev_null", ut_reactor_suite_init, ut_reactor_suite_fini);
	CU_ADD_TEST(s, null_reads_return_zeroes_and_writes_succeed);
	CU_ADD_TEST(s, null_reads_leave_buffers_untouched_without_read_zeroes);
	CU_ADD_TEST(s, null_compare_is_emulated_against_zeroes);
	CU_ADD_TEST(s, null_get_lba_status_is_deallocated_everywhere);
	CU_ADD_TEST(s, rpc_create_and_delete_follow_spdk);
	CU_ADD_TEST(s, rpc_resize_grows_sends_resize_and_refuses_shrinking);
	CU_ADD_TEST(s, rpcs_refuse_bdevs_of_other_modules);
	CU_ADD_TEST(s, write_config_json_records_the_current_size);
	return ut_run_tests();
}
