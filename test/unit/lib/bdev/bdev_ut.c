/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The bdev layer (bdev.c, bdev_io.c, bdev_range.c, bdev_rpc.c) with a fake module that completes
 * synchronously, later (when the test says so) or with NOMEM, on one reactor driven by
 * vt_reactor_poll_once().
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/event.h"
#include "vt/json.h"
#include "vt/rpc.h"
#include "vt/util.h"

#include "lib/bdev/bdev_internal.h"
#include "lib/bdev/bdev_rpc.c"
#include "test/unit/common/ut_main.h"
#include "test/unit/common/ut_reactor.h"

#define UT_BLOCK 512
#define UT_BLOCKS 64
#define UT_MAX_PENDING 64

/* ---- the fake module ---------------------------------------------------------------------- */

struct ut_disk {
	struct vt_bdev bdev;
	uint8_t *data;
	bool later;          /* I/O waits in pending until ut_complete_all() */
	uint32_t nomem_left; /* completions to answer with NOMEM */
	uint32_t fail_left;  /* completions to answer with FAILED (EIO) */
	bool supported[VT_BDEV_NUM_IO_TYPES];
	bool destruct_async;
	struct vt_bdev_io *pending[UT_MAX_PENDING];
	uint32_t npending;
	uint32_t submits[VT_BDEV_NUM_IO_TYPES];
	int destructed;
	int channels;
	int order; /* value of g_destruct_order when destructed */
};

static int g_module_inits;
static int g_module_finis;
static int g_destruct_order;

static int
ut_module_init(void)
{
	g_module_inits++;
	return 0;
}

static void
ut_module_fini(void)
{
	g_module_finis++;
}

static struct vt_bdev_module g_ut_module = {
	.name = "ut",
	.module_init = ut_module_init,
	.module_fini = ut_module_fini,
	.io_ctx_size = 16,
};
VT_BDEV_MODULE_REGISTER(ut, &g_ut_module)

static void
ut_execute(struct ut_disk *d, struct vt_bdev_io *io)
{
	uint64_t off = io->offset_blocks * UT_BLOCK;
	uint64_t len = io->num_blocks * UT_BLOCK;
	struct iovec mem = { .iov_base = d->data + off, .iov_len = len };
	size_t diff;

	if (d->fail_left > 0) {
		d->fail_left--;
		vt_bdev_io_complete_errno(io, EIO);
		return;
	}
	switch (io->type) {
	case VT_BDEV_IO_TYPE_READ:
		vt_iov_from_buf(io->iovs, io->iovcnt, mem.iov_base, len);
		break;
	case VT_BDEV_IO_TYPE_WRITE:
		vt_iov_to_buf(io->iovs, io->iovcnt, mem.iov_base, len);
		break;
	case VT_BDEV_IO_TYPE_UNMAP:
	case VT_BDEV_IO_TYPE_WRITE_ZEROES:
		memset(mem.iov_base, 0, len);
		break;
	case VT_BDEV_IO_TYPE_COMPARE:
		if (vt_iov_compare(io->iovs, io->iovcnt, &mem, 1, len, &diff) != 0) {
			vt_bdev_io_complete_miscompare(io, diff);
			return;
		}
		break;
	case VT_BDEV_IO_TYPE_GET_LBA_STATUS:
		/* Even blocks start a deallocated extent of up to two blocks. */
		if (io->offset_blocks % 2 == 0) {
			vt_bdev_io_complete_lba_status(io, VT_BDEV_LBA_DEALLOCATED,
						       VT_MIN(io->num_blocks, 2u));
		} else {
			vt_bdev_io_complete_lba_status(io, VT_BDEV_LBA_MAPPED, 1);
		}
		return;
	default:
		break;
	}
	vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_SUCCESS);
}

static void
ut_submit(void *module_ch, struct vt_bdev_io *io)
{
	struct ut_disk *d = io->bdev->ctxt;

	CU_ASSERT_PTR_EQUAL(module_ch, d);
	d->submits[io->type]++;
	if (d->nomem_left > 0) {
		d->nomem_left--;
		vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_NOMEM);
		return;
	}
	if (d->later) {
		CU_ASSERT_FATAL(d->npending < UT_MAX_PENDING);
		d->pending[d->npending++] = io;
		return;
	}
	ut_execute(d, io);
}

/* Completes what waits in the module, in submission order. */
static void
ut_complete_all(struct ut_disk *d)
{
	struct vt_bdev_io *todo[UT_MAX_PENDING];
	uint32_t n = d->npending;

	memcpy(todo, d->pending, n * sizeof(todo[0]));
	d->npending = 0;
	for (uint32_t i = 0; i < n; i++) {
		ut_execute(d, todo[i]);
	}
}

static bool
ut_io_type_supported(void *ctx, enum vt_bdev_io_type type)
{
	struct ut_disk *d = ctx;

	return d->supported[type];
}

static int
ut_destruct(void *ctx)
{
	struct ut_disk *d = ctx;

	d->destructed++;
	d->order = ++g_destruct_order;
	return d->destruct_async ? 1 : 0;
}

static void *
ut_create_channel(void *ctx)
{
	struct ut_disk *d = ctx;

	d->channels++;
	return d;
}

static void
ut_destroy_channel(void *ctx, void *module_ch)
{
	struct ut_disk *d = ctx;

	d->channels--;
}

static void
ut_dump_info_json(void *ctx, struct vt_json_write_ctx *w)
{
	vt_json_write_named_bool(w, "ut", true);
}

static void
ut_write_config_json(struct vt_bdev *bdev, struct vt_json_write_ctx *w)
{
	vt_json_write_object_begin(w);
	vt_json_write_named_string(w, "method", "ut_create");
	vt_json_write_named_object_begin(w, "params");
	vt_json_write_named_string(w, "name", bdev->name);
	vt_json_write_object_end(w);
	vt_json_write_object_end(w);
}

static const struct vt_bdev_fn_table g_ut_fn_table = {
	.destruct = ut_destruct,
	.submit_request = ut_submit,
	.io_type_supported = ut_io_type_supported,
	.create_channel = ut_create_channel,
	.destroy_channel = ut_destroy_channel,
	.dump_info_json = ut_dump_info_json,
	.write_config_json = ut_write_config_json,
};

/* A disk not yet registered; tests adjust it, then call ut_disk_register(). */
static struct ut_disk *
ut_disk_new(const char *name)
{
	struct ut_disk *d = calloc(1, sizeof(*d));

	CU_ASSERT_FATAL(d != NULL);
	/* Twice the size, so a resized disk has data behind its new blocks. */
	d->data = calloc(2 * UT_BLOCKS, UT_BLOCK);
	CU_ASSERT_FATAL(d->data != NULL);
	d->bdev.name = strdup(name);
	d->bdev.product_name = "UT disk";
	d->bdev.blocklen = UT_BLOCK;
	d->bdev.blockcnt = UT_BLOCKS;
	d->bdev.ctxt = d;
	d->bdev.fn_table = &g_ut_fn_table;
	d->bdev.module = &g_ut_module;
	d->supported[VT_BDEV_IO_TYPE_READ] = true;
	d->supported[VT_BDEV_IO_TYPE_WRITE] = true;
	d->supported[VT_BDEV_IO_TYPE_UNMAP] = true;
	d->supported[VT_BDEV_IO_TYPE_FLUSH] = true;
	d->supported[VT_BDEV_IO_TYPE_WRITE_ZEROES] = true;
	for (uint32_t i = 0; i < UT_BLOCKS * UT_BLOCK; i++) {
		d->data[i] = (uint8_t)(i * 7 + i / UT_BLOCK);
	}
	return d;
}

static struct ut_disk *
ut_disk_create(const char *name)
{
	struct ut_disk *d = ut_disk_new(name);

	CU_ASSERT_EQUAL_FATAL(vt_bdev_register(&d->bdev), 0);
	return d;
}

static void
ut_disk_free(struct ut_disk *d)
{
	free(d->bdev.name);
	free(d->data);
	free(d);
}

/* ---- reactor, results and events ---------------------------------------------------------- */

static bool g_in_submit;

struct ut_result {
	int done;
	bool success;
	bool in_submit; /* the callback ran inside a submit call */
	enum vt_bdev_io_status status;
	enum vt_bdev_io_type type;
	uint64_t miscompare;
	int err;
	int seq;                            /* completion order */
	enum vt_bdev_lba_status lba_status; /* GET_LBA_STATUS */
	uint64_t lba_blocks;
};

static int g_seq;

static void
ut_io_cb(struct vt_bdev_io *io, bool success, void *arg)
{
	struct ut_result *r = arg;

	r->done++;
	r->success = success;
	r->in_submit = g_in_submit;
	r->status = vt_bdev_io_get_status(io);
	r->type = vt_bdev_io_get_type(io);
	r->miscompare = vt_bdev_io_get_miscompare_offset(io);
	r->err = vt_bdev_io_get_errno(io);
	r->seq = ++g_seq;
	if (success && r->type == VT_BDEV_IO_TYPE_GET_LBA_STATUS) {
		r->lba_status = vt_bdev_io_get_lba_status(io, &r->lba_blocks);
	}
}

/* As ut_poll_until, for a uint32_t counter. */
static bool
ut_poll_until_u32(const uint32_t *counter, uint32_t want)
{
	uint64_t deadline = vt_get_ticks() + UT_POLL_TIMEOUT_MS * (VT_TICKS_HZ / 1000);

	while (*counter < want && vt_get_ticks() < deadline) {
		vt_reactor_poll_once();
	}
	return *counter >= want;
}

struct ut_events {
	int remove;
	int resize;
	struct vt_bdev_desc *desc;
	bool close_on_remove;
};

static void
ut_event_cb(enum vt_bdev_event_type type, struct vt_bdev *bdev, void *ctx)
{
	struct ut_events *e = ctx;

	if (type == VT_BDEV_EVENT_REMOVE) {
		e->remove++;
		if (e->close_on_remove) {
			vt_bdev_close(e->desc);
		}
	} else {
		e->resize++;
	}
}

struct ut_unreg {
	int done;
	int rc;
};

static void
ut_unregister_cb(void *arg, int rc)
{
	struct ut_unreg *u = arg;

	u->done++;
	u->rc = rc;
}

/* An open writable descriptor with a channel on a fresh disk. */
struct ut_fix {
	struct ut_disk *d;
	struct vt_bdev_desc *desc;
	struct vt_bdev_channel *ch;
	struct ut_events ev;
};

static void
fix_open(struct ut_fix *f, struct ut_disk *d)
{
	memset(f, 0, sizeof(*f));
	f->d = d;
	CU_ASSERT_EQUAL_FATAL(vt_bdev_open(d->bdev.name, true, ut_event_cb, &f->ev, &f->desc), 0);
	f->ev.desc = f->desc;
	f->ch = vt_bdev_get_io_channel(f->desc);
	CU_ASSERT_FATAL(f->ch != NULL);
}

static void
fix_close(struct ut_fix *f)
{
	struct ut_unreg u = { 0 };

	ut_poll(4);
	if (f->ch != NULL) {
		vt_bdev_put_io_channel(f->ch);
	}
	if (f->desc != NULL) {
		vt_bdev_close(f->desc);
	}
	vt_bdev_unregister(&f->d->bdev, ut_unregister_cb, &u);
	CU_ASSERT(ut_poll_until(&u.done, 1));
	CU_ASSERT_EQUAL(u.rc, 0);
	CU_ASSERT_EQUAL(f->d->destructed, 1);
	CU_ASSERT_EQUAL(f->d->channels, 0);
	ut_disk_free(f->d);
}

/* ---- RPC helper --------------------------------------------------------------------------- */

struct ut_rpc {
	int done;
	int code;
	char msg[512];
	yajl_val result; /* a copy, freed by ut_rpc_free */
};

static void
ut_rpc_cb(void *arg, int code, const char *err_msg, yajl_val result)
{
	struct ut_rpc *r = arg;
	struct vt_json_write_ctx *w;
	const char *text;
	char err[128];
	size_t len;

	r->done++;
	r->code = code;
	snprintf(r->msg, sizeof(r->msg), "%s", err_msg != NULL ? err_msg : "");
	if (result != NULL) {
		w = vt_json_write_begin(false);
		vt_json_write_val(w, result);
		CU_ASSERT_EQUAL(vt_json_write_end(w), 0);
		text = vt_json_write_buf(w, &len);
		r->result = vt_json_parse(text, len, err, sizeof(err));
		vt_json_write_free(w);
	}
}

static void
ut_rpc(struct ut_rpc *r, const char *method, const char *params)
{
	char err[128];
	yajl_val p = NULL;

	memset(r, 0, sizeof(*r));
	if (params != NULL) {
		p = vt_json_parse(params, strlen(params), err, sizeof(err));
		CU_ASSERT_FATAL(p != NULL);
	}
	vt_rpc_call(method, p, ut_rpc_cb, r);
	yajl_tree_free(p);
	CU_ASSERT(ut_poll_until(&r->done, 1));
}

static void
ut_rpc_free(struct ut_rpc *r)
{
	yajl_tree_free(r->result);
	r->result = NULL;
}

static yajl_val
ut_get(yajl_val obj, const char *key)
{
	yajl_val v = vt_json_object_get(obj, key);

	CU_ASSERT_PTR_NOT_NULL(v);
	return v;
}

static const char *
ut_str(yajl_val obj, const char *key)
{
	const char *v = YAJL_GET_STRING(ut_get(obj, key));

	return v != NULL ? v : "";
}

/* ---- tests: submission checks ------------------------------------------------------------- */

static void
submit_checks_return_exact_errnos(void)
{
	struct ut_disk *d = ut_disk_new("ut_checks");
	struct ut_disk *nounmap = ut_disk_new("ut_nounmap");
	uint8_t buf[4 * UT_BLOCK];
	struct iovec iov2 = { buf, 2 * UT_BLOCK }, iov4 = { buf, 4 * UT_BLOCK };
	struct iovec short_iov = { buf, 2 * UT_BLOCK - 1 };
	struct vt_bdev_desc *ro, *nd;
	struct vt_bdev_channel *nch;
	struct ut_result r = { 0 };
	struct ut_fix f;

	d->bdev.acwu = 2;
	CU_ASSERT_EQUAL_FATAL(vt_bdev_register(&d->bdev), 0);
	fix_open(&f, d);
	/* Range: beyond the end, overflowing (-ERANGE), zero blocks (-EINVAL). */
	CU_ASSERT_EQUAL(
		vt_bdev_readv_blocks(f.desc, f.ch, &iov2, 1, UT_BLOCKS - 1, 2, ut_io_cb, &r),
		-ERANGE);
	CU_ASSERT_EQUAL(
		vt_bdev_readv_blocks(f.desc, f.ch, &iov2, 1, UINT64_MAX - 1, 2, ut_io_cb, &r),
		-ERANGE);
	CU_ASSERT_EQUAL(vt_bdev_unmap_blocks(f.desc, f.ch, UT_BLOCKS, 1, ut_io_cb, &r), -ERANGE);
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(f.desc, f.ch, &iov2, 1, 0, 0, ut_io_cb, &r), -EINVAL);
	CU_ASSERT_EQUAL(vt_bdev_write_zeroes_blocks(f.desc, f.ch, 0, 0, ut_io_cb, &r), -EINVAL);
	/* Lengths: iovecs must hold exactly num_blocks * block size. */
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(f.desc, f.ch, &short_iov, 1, 0, 2, ut_io_cb, &r),
			-EINVAL);
	CU_ASSERT_EQUAL(vt_bdev_writev_blocks(f.desc, f.ch, &iov4, 1, 0, 2, 0, ut_io_cb, &r),
			-EINVAL);
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(f.desc, f.ch, NULL, 0, 0, 2, ut_io_cb, &r), -EINVAL);
	/* COMPARE_AND_WRITE longer than the bdev's unit. */
	CU_ASSERT_EQUAL(vt_bdev_get_acwu(&d->bdev), 2);
	CU_ASSERT_EQUAL(vt_bdev_comparev_and_writev_blocks(f.desc, f.ch, &iov4, 1, &iov4, 1, 0, 4,
							   ut_io_cb, &r),
			-EINVAL);
	/* Valid edges: the last blocks, FLUSH of zero blocks. */
	CU_ASSERT_EQUAL(
		vt_bdev_readv_blocks(f.desc, f.ch, &iov2, 1, UT_BLOCKS - 2, 2, ut_io_cb, &r), 0);
	CU_ASSERT_EQUAL(vt_bdev_flush_blocks(f.desc, f.ch, 0, 0, ut_io_cb, &r), 0);
	/* Writes through a read-only descriptor. */
	CU_ASSERT_EQUAL_FATAL(vt_bdev_open("ut_checks", false, ut_event_cb, &f.ev, &ro), 0);
	CU_ASSERT_EQUAL(vt_bdev_writev_blocks(ro, f.ch, &iov2, 1, 0, 2, 0, ut_io_cb, &r), -EBADF);
	CU_ASSERT_EQUAL(vt_bdev_unmap_blocks(ro, f.ch, 0, 2, ut_io_cb, &r), -EBADF);
	CU_ASSERT_EQUAL(vt_bdev_write_zeroes_blocks(ro, f.ch, 0, 2, ut_io_cb, &r), -EBADF);
	CU_ASSERT_EQUAL(vt_bdev_comparev_and_writev_blocks(ro, f.ch, &iov2, 1, &iov2, 1, 0, 2,
							   ut_io_cb, &r),
			-EBADF);
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(ro, f.ch, &iov2, 1, 0, 2, ut_io_cb, &r), 0);
	vt_bdev_close(ro);
	/* A type the module does not support. */
	nounmap->supported[VT_BDEV_IO_TYPE_UNMAP] = false;
	CU_ASSERT_EQUAL_FATAL(vt_bdev_register(&nounmap->bdev), 0);
	CU_ASSERT_FALSE(vt_bdev_io_type_supported(&nounmap->bdev, VT_BDEV_IO_TYPE_UNMAP));
	CU_ASSERT_EQUAL_FATAL(vt_bdev_open("ut_nounmap", true, ut_event_cb, &f.ev, &nd), 0);
	nch = vt_bdev_get_io_channel(nd);
	CU_ASSERT_FATAL(nch != NULL);
	CU_ASSERT_EQUAL(vt_bdev_unmap_blocks(nd, nch, 0, 1, ut_io_cb, &r), -ENOTSUP);
	/* A channel of another bdev. */
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(nd, f.ch, &iov2, 1, 0, 2, ut_io_cb, &r), -EINVAL);
	/* Only the three accepted I/O complete. */
	ut_poll(4);
	CU_ASSERT_EQUAL(r.done, 3);
	vt_bdev_put_io_channel(nch);
	vt_bdev_close(nd);
	fix_close(&f);
	f.d = nounmap;
	f.ch = NULL;
	f.desc = NULL;
	fix_close(&f);
}

static void
emulated_types_are_reported_supported(void)
{
	struct ut_disk *d = ut_disk_create("ut_types");

	CU_ASSERT_TRUE(vt_bdev_io_type_supported(&d->bdev, VT_BDEV_IO_TYPE_COMPARE));
	CU_ASSERT_TRUE(vt_bdev_io_type_supported(&d->bdev, VT_BDEV_IO_TYPE_COMPARE_AND_WRITE));
	CU_ASSERT_TRUE(vt_bdev_io_type_supported(&d->bdev, VT_BDEV_IO_TYPE_RESET));
	CU_ASSERT_FALSE(vt_bdev_io_type_supported(&d->bdev, VT_BDEV_IO_TYPE_INVALID));
	CU_ASSERT_FALSE(vt_bdev_io_type_supported(&d->bdev, VT_BDEV_NUM_IO_TYPES));
	CU_ASSERT_STRING_EQUAL(vt_bdev_io_type_name(VT_BDEV_IO_TYPE_WRITE_ZEROES), "write_zeroes");
	CU_ASSERT_STRING_EQUAL(vt_bdev_io_type_name(VT_BDEV_IO_TYPE_COMPARE_AND_WRITE),
			       "compare_and_write");
	CU_ASSERT_TRUE(vt_bdev_io_type_supported(&d->bdev, VT_BDEV_IO_TYPE_OR_WRITE));
	CU_ASSERT_TRUE(vt_bdev_io_type_supported(&d->bdev, VT_BDEV_IO_TYPE_WRITE_ATOMIC));
	CU_ASSERT_TRUE(vt_bdev_io_type_supported(&d->bdev, VT_BDEV_IO_TYPE_GET_LBA_STATUS));
	CU_ASSERT_STRING_EQUAL(vt_bdev_io_type_name(VT_BDEV_IO_TYPE_OR_WRITE), "or_write");
	CU_ASSERT_STRING_EQUAL(vt_bdev_io_type_name(VT_BDEV_IO_TYPE_WRITE_ATOMIC), "write_atomic");
	CU_ASSERT_STRING_EQUAL(vt_bdev_io_type_name(VT_BDEV_IO_TYPE_GET_LBA_STATUS),
			       "get_lba_status");
	/* 64 KiB of 512-byte blocks by default. */
	CU_ASSERT_EQUAL(vt_bdev_get_acwu(&d->bdev), 128);
	CU_ASSERT_EQUAL(vt_bdev_get_buf_align(&d->bdev), 1);
	{
		struct ut_fix f = { .d = d };

		fix_close(&f);
	}
}

/* ---- tests: completion -------------------------------------------------------------------- */

static void
callback_never_runs_inside_submit(void)
{
	struct ut_fix f;
	struct ut_result r = { 0 };
	uint8_t buf[UT_BLOCK];
	struct iovec iov = { buf, sizeof(buf) };

	fix_open(&f, ut_disk_create("ut_sync"));
	g_in_submit = true;
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(f.desc, f.ch, &iov, 1, 3, 1, ut_io_cb, &r), 0);
	g_in_submit = false;
	/* The module completed inside submit_request; the callback waits for the loop. */
	CU_ASSERT_EQUAL(f.d->submits[VT_BDEV_IO_TYPE_READ], 1);
	CU_ASSERT_EQUAL(r.done, 0);
	ut_poll(1);
	CU_ASSERT_EQUAL(r.done, 1);
	CU_ASSERT_FALSE(r.in_submit);
	CU_ASSERT_TRUE(r.success);
	CU_ASSERT_EQUAL(r.type, VT_BDEV_IO_TYPE_READ);
	CU_ASSERT_EQUAL(memcmp(buf, f.d->data + 3 * UT_BLOCK, UT_BLOCK), 0);
	fix_close(&f);
}

static void
async_completion_calls_back_on_a_later_iteration(void)
{
	struct ut_fix f;
	struct ut_result r = { 0 };
	uint8_t buf[UT_BLOCK] = { 0x5a };
	struct iovec iov = { buf, sizeof(buf) };

	fix_open(&f, ut_disk_create("ut_async"));
	f.d->later = true;
	CU_ASSERT_EQUAL(vt_bdev_writev_blocks(f.desc, f.ch, &iov, 1, 1, 1, 0, ut_io_cb, &r), 0);
	ut_poll(3);
	CU_ASSERT_EQUAL(r.done, 0);
	g_in_submit = true;
	ut_complete_all(f.d);
	g_in_submit = false;
	CU_ASSERT_EQUAL(r.done, 0);
	ut_poll(1);
	CU_ASSERT_EQUAL(r.done, 1);
	CU_ASSERT_FALSE(r.in_submit);
	CU_ASSERT_TRUE(r.success);
	CU_ASSERT_EQUAL(f.d->data[UT_BLOCK], 0x5a);
	fix_close(&f);
}

static void
failed_io_reports_status_and_errno(void)
{
	struct ut_fix f;
	struct ut_result r = { 0 };
	uint8_t buf[UT_BLOCK];
	struct iovec iov = { buf, sizeof(buf) };

	fix_open(&f, ut_disk_create("ut_fail"));
	f.d->fail_left = 1;
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(f.desc, f.ch, &iov, 1, 0, 1, ut_io_cb, &r), 0);
	ut_poll(1);
	CU_ASSERT_EQUAL(r.done, 1);
	CU_ASSERT_FALSE(r.success);
	CU_ASSERT_EQUAL(r.status, VT_BDEV_IO_STATUS_FAILED);
	CU_ASSERT_EQUAL(r.err, EIO);
	fix_close(&f);
}

static void
nomem_io_is_retried_when_another_io_completes(void)
{
	struct ut_fix f;
	struct ut_result a = { 0 }, b = { 0 };
	uint8_t buf_a[UT_BLOCK], buf_b[UT_BLOCK];
	struct iovec iov_a = { buf_a, UT_BLOCK }, iov_b = { buf_b, UT_BLOCK };

	fix_open(&f, ut_disk_create("ut_nomem"));
	f.d->later = true;
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(f.desc, f.ch, &iov_a, 1, 0, 1, ut_io_cb, &a), 0);
	f.d->nomem_left = 1;
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(f.desc, f.ch, &iov_b, 1, 5, 1, ut_io_cb, &b), 0);
	CU_ASSERT_EQUAL(f.d->submits[VT_BDEV_IO_TYPE_READ], 2);
	CU_ASSERT_EQUAL(f.d->npending, 1);
	/* A completes: the layer resubmits B, never failing or dropping it. */
	ut_complete_all(f.d);
	ut_poll(1);
	CU_ASSERT_EQUAL(a.done, 1);
	CU_ASSERT_EQUAL(f.d->submits[VT_BDEV_IO_TYPE_READ], 3);
	CU_ASSERT_EQUAL(f.d->npending, 1);
	CU_ASSERT_EQUAL(b.done, 0);
	ut_complete_all(f.d);
	ut_poll(1);
	CU_ASSERT_EQUAL(b.done, 1);
	CU_ASSERT_TRUE(b.success);
	CU_ASSERT_EQUAL(memcmp(buf_b, f.d->data + 5 * UT_BLOCK, UT_BLOCK), 0);
	fix_close(&f);
}

static void
nomem_io_is_retried_by_the_poller_without_completions(void)
{
	struct ut_fix f;
	struct ut_result r = { 0 };
	uint8_t buf[UT_BLOCK];
	struct iovec iov = { buf, UT_BLOCK };

	fix_open(&f, ut_disk_create("ut_nomem_poll"));
	f.d->nomem_left = 3;
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(f.desc, f.ch, &iov, 1, 0, 1, ut_io_cb, &r), 0);
	CU_ASSERT(ut_poll_until(&r.done, 1));
	CU_ASSERT_TRUE(r.success);
	CU_ASSERT_EQUAL(f.d->submits[VT_BDEV_IO_TYPE_READ], 4);
	fix_close(&f);
}

struct ut_wait {
	struct vt_bdev_io_wait_entry entry;
	struct ut_fix *f;
	struct iovec iov;
	struct ut_result r;
	int runs;
	int rc;
};

static void
ut_io_wait_cb(void *arg)
{
	struct ut_wait *w = arg;

	w->runs++;
	w->rc = vt_bdev_readv_blocks(w->f->desc, w->f->ch, &w->iov, 1, 0, 1, ut_io_cb, &w->r);
}

static void
pool_exhaustion_returns_enomem_then_io_wait_runs(void)
{
	struct bdev_opts saved = g_bdev_opts, opts = g_bdev_opts;
	struct ut_result r[5] = { 0 };
	uint8_t buf[UT_BLOCK];
	struct ut_wait w = { 0 };
	char err[128];
	struct ut_fix f;
	int i;

	opts.bdev_io_cache_size = 4;
	CU_ASSERT_EQUAL_FATAL(bdev_set_opts(&opts, err, sizeof(err)), 0);
	fix_open(&f, ut_disk_create("ut_pool"));
	CU_ASSERT_EQUAL(f.ch->pool_size, 4);
	f.d->later = true;
	w.iov.iov_base = buf;
	w.iov.iov_len = UT_BLOCK;
	for (i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(
			vt_bdev_readv_blocks(f.desc, f.ch, &w.iov, 1, i, 1, ut_io_cb, &r[i]), 0);
	}
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(f.desc, f.ch, &w.iov, 1, 0, 1, ut_io_cb, &r[4]),
			-ENOMEM);
	w.f = &f;
	w.entry.cb_fn = ut_io_wait_cb;
	w.entry.cb_arg = &w;
	CU_ASSERT_EQUAL(vt_bdev_queue_io_wait(&f.d->bdev, f.ch, &w.entry), 0);
	ut_poll(3);
	CU_ASSERT_EQUAL(w.runs, 0);
	ut_complete_all(f.d);
	ut_poll(1);
	/* The callbacks freed objects; the waiter ran and could submit. */
	CU_ASSERT_EQUAL(w.runs, 1);
	CU_ASSERT_EQUAL(w.rc, 0);
	ut_complete_all(f.d);
	CU_ASSERT(ut_poll_until(&w.r.done, 1));
	fix_close(&f);
	CU_ASSERT_EQUAL(bdev_set_opts(&saved, err, sizeof(err)), 0);
}

/* ---- tests: compare and compare-and-write ------------------------------------------------- */

static void
compare_emulated_reports_miscompare_offset(void)
{
	struct ut_fix f;
	struct ut_result r1 = { 0 }, r2 = { 0 };
	uint8_t buf[2 * UT_BLOCK];
	struct iovec iov = { buf, sizeof(buf) };

	fix_open(&f, ut_disk_create("ut_cmp"));
	memcpy(buf, f.d->data + 2 * UT_BLOCK, sizeof(buf));
	CU_ASSERT_EQUAL(vt_bdev_comparev_blocks(f.desc, f.ch, &iov, 1, 2, 2, ut_io_cb, &r1), 0);
	ut_poll(1);
	CU_ASSERT_EQUAL(r1.done, 1);
	CU_ASSERT_TRUE(r1.success);
	CU_ASSERT_EQUAL(r1.type, VT_BDEV_IO_TYPE_COMPARE);
	buf[700] ^= 0xff;
	CU_ASSERT_EQUAL(vt_bdev_comparev_blocks(f.desc, f.ch, &iov, 1, 2, 2, ut_io_cb, &r2), 0);
	ut_poll(1);
	CU_ASSERT_EQUAL(r2.done, 1);
	CU_ASSERT_FALSE(r2.success);
	CU_ASSERT_EQUAL(r2.status, VT_BDEV_IO_STATUS_MISCOMPARE);
	CU_ASSERT_EQUAL(r2.miscompare, 700);
	CU_ASSERT_EQUAL(r2.err, EILSEQ);
	CU_ASSERT_EQUAL(r2.type, VT_BDEV_IO_TYPE_COMPARE);
	/* Emulated: the module only saw reads. */
	CU_ASSERT_EQUAL(f.d->submits[VT_BDEV_IO_TYPE_COMPARE], 0);
	CU_ASSERT_EQUAL(f.d->submits[VT_BDEV_IO_TYPE_READ], 2);
	fix_close(&f);
}

static void
compare_native_goes_to_the_module(void)
{
	struct ut_disk *d = ut_disk_new("ut_cmp_native");
	struct ut_result r = { 0 };
	uint8_t buf[UT_BLOCK];
	struct iovec iov = { buf, sizeof(buf) };
	struct ut_fix f;

	d->supported[VT_BDEV_IO_TYPE_COMPARE] = true;
	CU_ASSERT_EQUAL_FATAL(vt_bdev_register(&d->bdev), 0);
	fix_open(&f, d);
	memcpy(buf, d->data, sizeof(buf));
	buf[3] ^= 1;
	CU_ASSERT_EQUAL(vt_bdev_comparev_blocks(f.desc, f.ch, &iov, 1, 0, 1, ut_io_cb, &r), 0);
	ut_poll(1);
	CU_ASSERT_EQUAL(r.status, VT_BDEV_IO_STATUS_MISCOMPARE);
	CU_ASSERT_EQUAL(r.miscompare, 3);
	CU_ASSERT_EQUAL(d->submits[VT_BDEV_IO_TYPE_COMPARE], 1);
	CU_ASSERT_EQUAL(d->submits[VT_BDEV_IO_TYPE_READ], 0);
	fix_close(&f);
}

static void
compare_and_write_writes_only_on_match(void)
{
	struct ut_fix f;
	struct ut_result r1 = { 0 }, r2 = { 0 };
	uint8_t cmp[2 * UT_BLOCK], data[2 * UT_BLOCK], before[2 * UT_BLOCK];
	struct iovec cmp_iov = { cmp, sizeof(cmp) }, data_iov = { data, sizeof(data) };

	fix_open(&f, ut_disk_create("ut_caw"));
	memcpy(before, f.d->data + 6 * UT_BLOCK, sizeof(before));
	memcpy(cmp, before, sizeof(cmp));
	cmp[UT_BLOCK + 9] ^= 0x80;
	memset(data, 0xab, sizeof(data));
	CU_ASSERT_EQUAL(vt_bdev_comparev_and_writev_blocks(f.desc, f.ch, &cmp_iov, 1, &data_iov, 1,
							   6, 2, ut_io_cb, &r1),
			0);
	CU_ASSERT(ut_poll_until(&r1.done, 1));
	CU_ASSERT_EQUAL(r1.status, VT_BDEV_IO_STATUS_MISCOMPARE);
	CU_ASSERT_EQUAL(r1.miscompare, UT_BLOCK + 9);
	CU_ASSERT_EQUAL(r1.type, VT_BDEV_IO_TYPE_COMPARE_AND_WRITE);
	CU_ASSERT_EQUAL(memcmp(f.d->data + 6 * UT_BLOCK, before, sizeof(before)), 0);
	CU_ASSERT_EQUAL(f.d->submits[VT_BDEV_IO_TYPE_WRITE], 0);
	/* Matching data: written. */
	memcpy(cmp, before, sizeof(cmp));
	CU_ASSERT_EQUAL(vt_bdev_comparev_and_writev_blocks(f.desc, f.ch, &cmp_iov, 1, &data_iov, 1,
							   6, 2, ut_io_cb, &r2),
			0);
	CU_ASSERT(ut_poll_until(&r2.done, 1));
	CU_ASSERT_TRUE(r2.success);
	CU_ASSERT_EQUAL(memcmp(f.d->data + 6 * UT_BLOCK, data, sizeof(data)), 0);
	CU_ASSERT_EQUAL(f.d->submits[VT_BDEV_IO_TYPE_WRITE], 1);
	/* The range is unlocked again. */
	CU_ASSERT_EQUAL(atomic_load(&f.d->bdev.internal->range_count), 0);
	fix_close(&f);
}

static void
write_overlapping_a_locked_range_waits_until_unlock(void)
{
	struct ut_fix f;
	struct ut_result cw = { 0 }, over = { 0 }, apart = { 0 };
	uint8_t cmp[2 * UT_BLOCK], data[2 * UT_BLOCK], wbuf[UT_BLOCK], abuf[UT_BLOCK];
	struct iovec cmp_iov = { cmp, sizeof(cmp) }, data_iov = { data, sizeof(data) };
	struct iovec wiov = { wbuf, UT_BLOCK }, aiov = { abuf, UT_BLOCK };

	fix_open(&f, ut_disk_create("ut_lock"));
	f.d->later = true;
	memcpy(cmp, f.d->data + 4 * UT_BLOCK, sizeof(cmp));
	memset(data, 0x11, sizeof(data));
	memset(wbuf, 0x22, sizeof(wbuf));
	memset(abuf, 0x33, sizeof(abuf));
	CU_ASSERT_EQUAL(vt_bdev_comparev_and_writev_blocks(f.desc, f.ch, &cmp_iov, 1, &data_iov, 1,
							   4, 2, ut_io_cb, &cw),
			0);
	/* Range locked: the compare read reaches the module. */
	CU_ASSERT(ut_poll_until_u32(&f.d->submits[VT_BDEV_IO_TYPE_READ], 1));
	CU_ASSERT_EQUAL(vt_bdev_writev_blocks(f.desc, f.ch, &wiov, 1, 5, 1, 0, ut_io_cb, &over), 0);
	CU_ASSERT_EQUAL(vt_bdev_writev_blocks(f.desc, f.ch, &aiov, 1, 20, 1, 0, ut_io_cb, &apart),
			0);
	ut_poll(5);
	/* Only the write outside the range went to the module. */
	CU_ASSERT_EQUAL(f.d->submits[VT_BDEV_IO_TYPE_WRITE], 1);
	ut_complete_all(f.d); /* the compare read and the write at 20 */
	ut_poll(2);
	CU_ASSERT_EQUAL(apart.done, 1);
	/* The compare matched: the C&W write is in the module, the overlapping one still waits. */
	CU_ASSERT_EQUAL(f.d->submits[VT_BDEV_IO_TYPE_WRITE], 2);
	CU_ASSERT_EQUAL(over.done, 0);
	ut_complete_all(f.d);
	CU_ASSERT(ut_poll_until_u32(&f.d->submits[VT_BDEV_IO_TYPE_WRITE], 3));
	CU_ASSERT_EQUAL(cw.done, 1);
	CU_ASSERT_TRUE(cw.success);
	ut_complete_all(f.d);
	CU_ASSERT(ut_poll_until(&over.done, 1));
	CU_ASSERT_TRUE(over.success);
	CU_ASSERT(cw.seq < over.seq);
	/* The waiting write landed after the C&W's. */
	CU_ASSERT_EQUAL(f.d->data[4 * UT_BLOCK], 0x11);
	CU_ASSERT_EQUAL(f.d->data[5 * UT_BLOCK], 0x22);
	fix_close(&f);
}

static void
compare_and_write_waits_for_running_overlapping_write(void)
{
	struct ut_fix f;
	struct ut_result w = { 0 }, cw = { 0 };
	uint8_t cmp[UT_BLOCK], data[UT_BLOCK], wbuf[UT_BLOCK];
	struct iovec cmp_iov = { cmp, sizeof(cmp) }, data_iov = { data, sizeof(data) };
	struct iovec wiov = { wbuf, sizeof(wbuf) };

	fix_open(&f, ut_disk_create("ut_drain"));
	f.d->later = true;
	memset(wbuf, 0x44, sizeof(wbuf));
	memset(cmp, 0x44, sizeof(cmp));
	memset(data, 0x55, sizeof(data));
	CU_ASSERT_EQUAL(vt_bdev_writev_blocks(f.desc, f.ch, &wiov, 1, 8, 1, 0, ut_io_cb, &w), 0);
	CU_ASSERT_EQUAL(vt_bdev_comparev_and_writev_blocks(f.desc, f.ch, &cmp_iov, 1, &data_iov, 1,
							   8, 1, ut_io_cb, &cw),
			0);
	ut_poll(20);
	/* The running write must finish before the C&W reads. */
	CU_ASSERT_EQUAL(f.d->submits[VT_BDEV_IO_TYPE_READ], 0);
	ut_complete_all(f.d);
	CU_ASSERT(ut_poll_until_u32(&f.d->submits[VT_BDEV_IO_TYPE_READ], 1));
	CU_ASSERT_EQUAL(w.done, 1);
	ut_complete_all(f.d); /* the compare read: it sees the write's data and matches */
	CU_ASSERT(ut_poll_until_u32(&f.d->submits[VT_BDEV_IO_TYPE_WRITE], 2));
	ut_complete_all(f.d);
	CU_ASSERT(ut_poll_until(&cw.done, 1));
	CU_ASSERT_TRUE(cw.success);
	CU_ASSERT_EQUAL(f.d->data[8 * UT_BLOCK], 0x55);
	fix_close(&f);
}

static void
or_write_ors_the_data_into_the_blocks(void)
{
	struct ut_fix f;
	struct ut_result r = { 0 };
	uint8_t data[2 * UT_BLOCK], want[2 * UT_BLOCK];
	struct iovec iov[2] = { { data, 100 }, { data + 100, sizeof(data) - 100 } };

	fix_open(&f, ut_disk_create("ut_or"));
	for (size_t i = 0; i < sizeof(data); i++) {
		data[i] = (uint8_t)(1u << (i % 8));
		want[i] = f.d->data[10 * UT_BLOCK + i] | data[i];
	}
	CU_ASSERT_EQUAL(vt_bdev_or_writev_blocks(f.desc, f.ch, iov, 2, 10, 2, 0, ut_io_cb, &r), 0);
	CU_ASSERT(ut_poll_until(&r.done, 1));
	CU_ASSERT_TRUE(r.success);
	CU_ASSERT_EQUAL(r.type, VT_BDEV_IO_TYPE_OR_WRITE);
	CU_ASSERT_EQUAL(memcmp(f.d->data + 10 * UT_BLOCK, want, sizeof(want)), 0);
	/* The module saw a read and a write, never an OR_WRITE. */
	CU_ASSERT_EQUAL(f.d->submits[VT_BDEV_IO_TYPE_READ], 1);
	CU_ASSERT_EQUAL(f.d->submits[VT_BDEV_IO_TYPE_WRITE], 1);
	CU_ASSERT_EQUAL(f.d->submits[VT_BDEV_IO_TYPE_OR_WRITE], 0);
	CU_ASSERT_EQUAL(atomic_load(&f.d->bdev.internal->range_count), 0);
	/* A failed read writes nothing. */
	f.d->fail_left = 1;
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL(vt_bdev_or_writev_blocks(f.desc, f.ch, iov, 2, 10, 2, 0, ut_io_cb, &r), 0);
	CU_ASSERT(ut_poll_until(&r.done, 1));
	CU_ASSERT_FALSE(r.success);
	CU_ASSERT_EQUAL(f.d->submits[VT_BDEV_IO_TYPE_WRITE], 1);
	CU_ASSERT_EQUAL(atomic_load(&f.d->bdev.internal->range_count), 0);
	fix_close(&f);
}

static void
write_overlapping_an_or_write_waits_for_its_write(void)
{
	struct ut_fix f;
	struct ut_result orw = { 0 }, w = { 0 };
	uint8_t obuf[UT_BLOCK], wbuf[UT_BLOCK];
	struct iovec oiov = { obuf, sizeof(obuf) }, wiov = { wbuf, sizeof(wbuf) };

	fix_open(&f, ut_disk_create("ut_or_lock"));
	f.d->later = true;
	memset(f.d->data + 12 * UT_BLOCK, 0x10, UT_BLOCK);
	memset(obuf, 0x01, sizeof(obuf));
	memset(wbuf, 0x80, sizeof(wbuf));
	CU_ASSERT_EQUAL(vt_bdev_or_writev_blocks(f.desc, f.ch, &oiov, 1, 12, 1, 0, ut_io_cb, &orw),
			0);
	CU_ASSERT(ut_poll_until_u32(&f.d->submits[VT_BDEV_IO_TYPE_READ], 1));
	CU_ASSERT_EQUAL(vt_bdev_writev_blocks(f.desc, f.ch, &wiov, 1, 12, 1, 0, ut_io_cb, &w), 0);
	ut_poll(5);
	CU_ASSERT_EQUAL(f.d->submits[VT_BDEV_IO_TYPE_WRITE], 0);
	ut_complete_all(f.d); /* the OR's read */
	CU_ASSERT(ut_poll_until_u32(&f.d->submits[VT_BDEV_IO_TYPE_WRITE], 1));
	ut_poll(5);
	/* Only the OR's write is in the module; the other write still waits. */
	CU_ASSERT_EQUAL(f.d->submits[VT_BDEV_IO_TYPE_WRITE], 1);
	CU_ASSERT_EQUAL(w.done, 0);
	ut_complete_all(f.d);
	CU_ASSERT(ut_poll_until(&orw.done, 1));
	CU_ASSERT_EQUAL(f.d->data[12 * UT_BLOCK], 0x11);
	CU_ASSERT(ut_poll_until_u32(&f.d->submits[VT_BDEV_IO_TYPE_WRITE], 2));
	ut_complete_all(f.d);
	CU_ASSERT(ut_poll_until(&w.done, 1));
	CU_ASSERT(orw.seq < w.seq);
	CU_ASSERT_EQUAL(f.d->data[12 * UT_BLOCK], 0x80);
	fix_close(&f);
}

static void
write_atomic_holds_off_overlapping_reads_and_writes(void)
{
	struct ut_fix f;
	struct ut_result a = { 0 }, rd = { 0 }, apart = { 0 }, w = { 0 };
	uint8_t abuf[2 * UT_BLOCK], rbuf[UT_BLOCK], pbuf[UT_BLOCK], wbuf[UT_BLOCK];
	struct iovec aiov = { abuf, sizeof(abuf) }, riov = { rbuf, sizeof(rbuf) };
	struct iovec piov = { pbuf, sizeof(pbuf) }, wiov = { wbuf, sizeof(wbuf) };

	fix_open(&f, ut_disk_create("ut_atomic"));
	f.d->later = true;
	memset(abuf, 0x5a, sizeof(abuf));
	memset(wbuf, 0x77, sizeof(wbuf));
	CU_ASSERT_EQUAL(vt_bdev_writev_atomic_blocks(f.desc, f.ch, &aiov, 1, 2, 2,
						     VT_BDEV_IO_FLAG_FUA, ut_io_cb, &a),
			0);
	CU_ASSERT(ut_poll_until_u32(&f.d->submits[VT_BDEV_IO_TYPE_WRITE], 1));
	CU_ASSERT_EQUAL(f.d->pending[0]->flags, VT_BDEV_IO_FLAG_FUA);
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(f.desc, f.ch, &riov, 1, 3, 1, ut_io_cb, &rd), 0);
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(f.desc, f.ch, &piov, 1, 30, 1, ut_io_cb, &apart), 0);
	CU_ASSERT_EQUAL(vt_bdev_writev_blocks(f.desc, f.ch, &wiov, 1, 2, 1, 0, ut_io_cb, &w), 0);
	ut_poll(5);
	/* Only the read outside the range reached the module. */
	CU_ASSERT_EQUAL(f.d->submits[VT_BDEV_IO_TYPE_READ], 1);
	CU_ASSERT_EQUAL(f.d->submits[VT_BDEV_IO_TYPE_WRITE], 1);
	ut_complete_all(f.d);
	CU_ASSERT(ut_poll_until(&a.done, 1));
	CU_ASSERT_TRUE(a.success);
	CU_ASSERT_EQUAL(a.type, VT_BDEV_IO_TYPE_WRITE_ATOMIC);
	CU_ASSERT(ut_poll_until_u32(&f.d->submits[VT_BDEV_IO_TYPE_READ], 2));
	ut_complete_all(f.d);
	CU_ASSERT(ut_poll_until(&rd.done, 1));
	CU_ASSERT(ut_poll_until(&w.done, 1));
	/* The held-off read saw all of the atomic write. */
	CU_ASSERT_EQUAL(rbuf[0], 0x5a);
	CU_ASSERT_EQUAL(rbuf[UT_BLOCK - 1], 0x5a);
	CU_ASSERT(a.seq < rd.seq && a.seq < w.seq);
	CU_ASSERT_EQUAL(atomic_load(&f.d->bdev.internal->range_count), 0);
	fix_close(&f);
}

static void
write_atomic_waits_for_a_running_overlapping_read(void)
{
	struct ut_fix f;
	struct ut_result rd = { 0 }, a = { 0 };
	uint8_t rbuf[UT_BLOCK], abuf[UT_BLOCK];
	struct iovec riov = { rbuf, sizeof(rbuf) }, aiov = { abuf, sizeof(abuf) };

	fix_open(&f, ut_disk_create("ut_atomic_drain"));
	f.d->later = true;
	memset(abuf, 0x66, sizeof(abuf));
	memset(f.d->data + 9 * UT_BLOCK, 0x99, UT_BLOCK);
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(f.desc, f.ch, &riov, 1, 9, 1, ut_io_cb, &rd), 0);
	CU_ASSERT_EQUAL(vt_bdev_writev_atomic_blocks(f.desc, f.ch, &aiov, 1, 9, 1, 0, ut_io_cb, &a),
			0);
	ut_poll(20);
	/* The read started first: the atomic write waits for it to finish. */
	CU_ASSERT_EQUAL(f.d->submits[VT_BDEV_IO_TYPE_WRITE], 0);
	ut_complete_all(f.d);
	CU_ASSERT(ut_poll_until_u32(&f.d->submits[VT_BDEV_IO_TYPE_WRITE], 1));
	CU_ASSERT(ut_poll_until(&rd.done, 1));
	CU_ASSERT_EQUAL(rbuf[0], 0x99);
	ut_complete_all(f.d);
	CU_ASSERT(ut_poll_until(&a.done, 1));
	CU_ASSERT_TRUE(a.success);
	CU_ASSERT_EQUAL(f.d->data[9 * UT_BLOCK], 0x66);
	fix_close(&f);
}

static void
get_lba_status_is_mapped_without_module_support(void)
{
	struct ut_fix f;
	struct ut_result r = { 0 };

	fix_open(&f, ut_disk_create("ut_lbas_none"));
	CU_ASSERT_EQUAL(vt_bdev_get_lba_status(f.desc, f.ch, 5, 10, ut_io_cb, &r), 0);
	CU_ASSERT_EQUAL(r.done, 0);
	CU_ASSERT(ut_poll_until(&r.done, 1));
	CU_ASSERT_TRUE(r.success);
	CU_ASSERT_EQUAL(r.type, VT_BDEV_IO_TYPE_GET_LBA_STATUS);
	CU_ASSERT_EQUAL(r.lba_status, VT_BDEV_LBA_MAPPED);
	CU_ASSERT_EQUAL(r.lba_blocks, 10);
	CU_ASSERT_EQUAL(f.d->submits[VT_BDEV_IO_TYPE_GET_LBA_STATUS], 0);
	/* Range checks as for any I/O. */
	CU_ASSERT_EQUAL(vt_bdev_get_lba_status(f.desc, f.ch, 5, 0, ut_io_cb, &r), -EINVAL);
	CU_ASSERT_EQUAL(vt_bdev_get_lba_status(f.desc, f.ch, UT_BLOCKS - 1, 2, ut_io_cb, &r),
			-ERANGE);
	fix_close(&f);
}

static void
get_lba_status_reports_what_the_module_answers(void)
{
	struct ut_disk *d = ut_disk_new("ut_lbas");
	struct ut_fix f;
	struct ut_result r1 = { 0 }, r2 = { 0 };

	d->supported[VT_BDEV_IO_TYPE_GET_LBA_STATUS] = true;
	CU_ASSERT_EQUAL_FATAL(vt_bdev_register(&d->bdev), 0);
	fix_open(&f, d);
	CU_ASSERT_EQUAL(vt_bdev_get_lba_status(f.desc, f.ch, 4, 8, ut_io_cb, &r1), 0);
	CU_ASSERT_EQUAL(vt_bdev_get_lba_status(f.desc, f.ch, 7, 8, ut_io_cb, &r2), 0);
	CU_ASSERT(ut_poll_until(&r2.done, 1));
	CU_ASSERT_EQUAL(r1.lba_status, VT_BDEV_LBA_DEALLOCATED);
	CU_ASSERT_EQUAL(r1.lba_blocks, 2);
	CU_ASSERT_EQUAL(r2.lba_status, VT_BDEV_LBA_MAPPED);
	CU_ASSERT_EQUAL(r2.lba_blocks, 1);
	CU_ASSERT_EQUAL(d->submits[VT_BDEV_IO_TYPE_GET_LBA_STATUS], 2);
	fix_close(&f);
}

/* ---- tests: reset ------------------------------------------------------------------------- */

static void
reset_aborts_queued_io_and_waits_for_running_io(void)
{
	struct ut_fix f;
	struct ut_result a = { 0 }, b = { 0 }, c = { 0 }, rst = { 0 };
	uint8_t buf[UT_BLOCK];
	struct iovec iov = { buf, sizeof(buf) };

	fix_open(&f, ut_disk_create("ut_reset"));
	f.d->later = true;
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(f.desc, f.ch, &iov, 1, 0, 1, ut_io_cb, &a), 0);
	f.d->nomem_left = 1;
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(f.desc, f.ch, &iov, 1, 1, 1, ut_io_cb, &b), 0);
	CU_ASSERT_EQUAL(vt_bdev_reset(f.desc, f.ch, ut_io_cb, &rst), 0);
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(f.desc, f.ch, &iov, 1, 2, 1, ut_io_cb, &c), 0);
	ut_poll(3);
	/* The NOMEM-queued read is aborted; the reset waits for the running one. */
	CU_ASSERT_EQUAL(b.done, 1);
	CU_ASSERT_EQUAL(b.status, VT_BDEV_IO_STATUS_ABORTED);
	CU_ASSERT_EQUAL(b.err, ECANCELED);
	CU_ASSERT_EQUAL(rst.done, 0);
	/* Submitted during the reset: held back. */
	CU_ASSERT_EQUAL(f.d->submits[VT_BDEV_IO_TYPE_READ], 2);
	CU_ASSERT_EQUAL(f.d->submits[VT_BDEV_IO_TYPE_RESET], 0);
	ut_complete_all(f.d);
	CU_ASSERT(ut_poll_until(&rst.done, 1));
	CU_ASSERT_TRUE(rst.success);
	CU_ASSERT_EQUAL(rst.type, VT_BDEV_IO_TYPE_RESET);
	CU_ASSERT(ut_poll_until_u32(&f.d->submits[VT_BDEV_IO_TYPE_READ], 3));
	ut_complete_all(f.d);
	CU_ASSERT(ut_poll_until(&c.done, 1));
	CU_ASSERT(a.seq < rst.seq && rst.seq < c.seq);
	fix_close(&f);
}

static void
reset_goes_to_a_module_that_supports_it(void)
{
	struct ut_disk *d = ut_disk_new("ut_reset_native");
	struct ut_result r = { 0 };
	struct ut_fix f;

	d->supported[VT_BDEV_IO_TYPE_RESET] = true;
	CU_ASSERT_EQUAL_FATAL(vt_bdev_register(&d->bdev), 0);
	fix_open(&f, d);
	CU_ASSERT_EQUAL(vt_bdev_reset(f.desc, f.ch, ut_io_cb, &r), 0);
	ut_poll(1);
	CU_ASSERT_EQUAL(r.done, 1);
	CU_ASSERT_TRUE(r.success);
	CU_ASSERT_EQUAL(d->submits[VT_BDEV_IO_TYPE_RESET], 1);
	fix_close(&f);
}

/* ---- tests: lifecycle --------------------------------------------------------------------- */

static void
hot_remove_sends_remove_and_destructs_after_close(void)
{
	struct ut_fix f;
	struct ut_unreg u = { 0 };
	struct vt_bdev_desc *other;
	struct ut_result r = { 0 };
	uint8_t buf[UT_BLOCK];
	struct iovec iov = { buf, sizeof(buf) };

	fix_open(&f, ut_disk_create("ut_remove"));
	vt_bdev_unregister(&f.d->bdev, ut_unregister_cb, &u);
	ut_poll(2);
	CU_ASSERT_EQUAL(f.ev.remove, 1);
	CU_ASSERT_EQUAL(f.d->destructed, 0);
	CU_ASSERT_EQUAL(u.done, 0);
	CU_ASSERT_EQUAL(vt_bdev_open("ut_remove", false, ut_event_cb, &f.ev, &other), -ENODEV);
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(f.desc, f.ch, &iov, 1, 0, 1, ut_io_cb, &r), -ENODEV);
	/* A second unregister is refused. */
	{
		struct ut_unreg u2 = { 0 };

		vt_bdev_unregister(&f.d->bdev, ut_unregister_cb, &u2);
		CU_ASSERT_EQUAL(u2.done, 1);
		CU_ASSERT_EQUAL(u2.rc, -EBUSY);
	}
	vt_bdev_put_io_channel(f.ch);
	ut_poll(2);
	CU_ASSERT_EQUAL(f.d->destructed, 0);
	vt_bdev_close(f.desc);
	CU_ASSERT(ut_poll_until(&u.done, 1));
	CU_ASSERT_EQUAL(u.rc, 0);
	CU_ASSERT_EQUAL(f.d->destructed, 1);
	CU_ASSERT_EQUAL(f.d->channels, 0);
	CU_ASSERT_PTR_NULL(vt_bdev_get_by_name("ut_remove"));
	ut_disk_free(f.d);
}

static void
hot_remove_waits_for_running_io_and_a_close_in_the_event(void)
{
	struct ut_fix f;
	struct ut_unreg u = { 0 };
	struct ut_result r = { 0 };
	uint8_t buf[UT_BLOCK];
	struct iovec iov = { buf, sizeof(buf) };

	fix_open(&f, ut_disk_create("ut_remove_io"));
	f.d->later = true;
	f.ev.close_on_remove = true;
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(f.desc, f.ch, &iov, 1, 0, 1, ut_io_cb, &r), 0);
	vt_bdev_put_io_channel(f.ch);
	vt_bdev_unregister(&f.d->bdev, ut_unregister_cb, &u);
	ut_poll(5);
	CU_ASSERT_EQUAL(f.ev.remove, 1);
	/* Closed from the event, but the channel still has an I/O in the module. */
	CU_ASSERT_EQUAL(f.d->destructed, 0);
	ut_complete_all(f.d);
	CU_ASSERT(ut_poll_until(&u.done, 1));
	CU_ASSERT_EQUAL(r.done, 1);
	CU_ASSERT_EQUAL(f.d->destructed, 1);
	ut_disk_free(f.d);
}

static void
destruct_may_complete_later(void)
{
	struct ut_disk *d = ut_disk_new("ut_destruct_async");
	struct ut_unreg u = { 0 };

	d->destruct_async = true;
	CU_ASSERT_EQUAL_FATAL(vt_bdev_register(&d->bdev), 0);
	vt_bdev_unregister(&d->bdev, ut_unregister_cb, &u);
	ut_poll(3);
	CU_ASSERT_EQUAL(d->destructed, 1);
	CU_ASSERT_EQUAL(u.done, 0);
	vt_bdev_destruct_done(&d->bdev, 0);
	CU_ASSERT_EQUAL(u.done, 1);
	CU_ASSERT_EQUAL(u.rc, 0);
	ut_disk_free(d);
}

static void
resize_sends_resize_and_refuses_shrink_while_open(void)
{
	struct ut_fix f;
	struct ut_result r = { 0 };
	uint8_t buf[UT_BLOCK];
	struct iovec iov = { buf, sizeof(buf) };
	struct ut_unreg u = { 0 };
	struct ut_disk *d;

	fix_open(&f, ut_disk_create("ut_resize"));
	d = f.d;
	CU_ASSERT_EQUAL(vt_bdev_notify_blockcnt_change(&d->bdev, UT_BLOCKS * 2), 0);
	ut_poll(2);
	CU_ASSERT_EQUAL(f.ev.resize, 1);
	CU_ASSERT_EQUAL(vt_bdev_get_num_blocks(&d->bdev), UT_BLOCKS * 2);
	CU_ASSERT_EQUAL(
		vt_bdev_readv_blocks(f.desc, f.ch, &iov, 1, UT_BLOCKS * 2 - 1, 1, ut_io_cb, &r), 0);
	d->submits[VT_BDEV_IO_TYPE_READ] = 0;
	CU_ASSERT_EQUAL(vt_bdev_notify_blockcnt_change(&d->bdev, UT_BLOCKS), -EBUSY);
	CU_ASSERT_EQUAL(vt_bdev_notify_blockcnt_change(&d->bdev, 0), -EINVAL);
	ut_poll(2);
	CU_ASSERT_EQUAL(f.ev.resize, 1);
	vt_bdev_put_io_channel(f.ch);
	vt_bdev_close(f.desc);
	/* Nobody has it open: shrinking is allowed. */
	CU_ASSERT_EQUAL(vt_bdev_notify_blockcnt_change(&d->bdev, UT_BLOCKS), 0);
	CU_ASSERT_EQUAL(vt_bdev_get_num_blocks(&d->bdev), UT_BLOCKS);
	vt_bdev_unregister(&d->bdev, ut_unregister_cb, &u);
	CU_ASSERT(ut_poll_until(&u.done, 1));
	ut_disk_free(d);
}

static void
claim_excludes_other_writers_until_released(void)
{
	struct ut_fix f;
	struct vt_bdev_desc *w2 = NULL, *ro = NULL;
	struct ut_events ev = { 0 };

	fix_open(&f, ut_disk_create("ut_claim"));
	CU_ASSERT_PTR_NULL(vt_bdev_get_claim_owner(&f.d->bdev));
	CU_ASSERT_EQUAL(vt_bdev_claim(f.desc, "vhost"), 0);
	CU_ASSERT_EQUAL(vt_bdev_claim(f.desc, "vhost"), 0);
	CU_ASSERT_STRING_EQUAL(vt_bdev_get_claim_owner(&f.d->bdev), "vhost");
	CU_ASSERT_EQUAL(vt_bdev_open("ut_claim", true, ut_event_cb, &ev, &w2), -EPERM);
	CU_ASSERT_PTR_NULL(w2);
	CU_ASSERT_EQUAL(vt_bdev_open("ut_claim", false, ut_event_cb, &ev, &ro), 0);
	CU_ASSERT_EQUAL(vt_bdev_claim(ro, "scsi"), -EPERM);
	vt_bdev_release_claim(ro); /* not the holder: no effect */
	CU_ASSERT_STRING_EQUAL(vt_bdev_get_claim_owner(&f.d->bdev), "vhost");
	vt_bdev_release_claim(f.desc);
	CU_ASSERT_PTR_NULL(vt_bdev_get_claim_owner(&f.d->bdev));
	/* A claim through a read-only descriptor makes it writable; closing releases it. */
	CU_ASSERT_EQUAL(vt_bdev_claim(ro, "scsi"), 0);
	CU_ASSERT_EQUAL(vt_bdev_open("ut_claim", true, ut_event_cb, &ev, &w2), -EPERM);
	vt_bdev_close(ro);
	CU_ASSERT_PTR_NULL(vt_bdev_get_claim_owner(&f.d->bdev));
	CU_ASSERT_EQUAL(vt_bdev_open("ut_claim", true, ut_event_cb, &ev, &w2), 0);
	vt_bdev_close(w2);
	fix_close(&f);
}

static void
shared_claim_admits_same_key_only_and_goes_with_last_holder(void)
{
	struct ut_fix f;
	struct vt_bdev_desc *a = NULL, *b = NULL, *w = NULL;
	struct ut_events ev = { 0 };

	fix_open(&f, ut_disk_create("ut_shared"));
	CU_ASSERT_EQUAL(vt_bdev_open("ut_shared", false, ut_event_cb, &ev, &a), 0);
	CU_ASSERT_EQUAL(vt_bdev_open("ut_shared", false, ut_event_cb, &ev, &b), 0);
	CU_ASSERT_EQUAL(vt_bdev_claim_shared(a, "lun a", "scsi"), 0);
	CU_ASSERT_EQUAL(vt_bdev_claim_shared(b, "lun b", "scsi"), 0);
	CU_ASSERT_TRUE(vt_bdev_claim_is_shared(&f.d->bdev));
	CU_ASSERT_STRING_EQUAL(vt_bdev_get_claim_owner(&f.d->bdev), "lun a");
	/* Another key, an exclusive claim and a plain writer are all refused. */
	CU_ASSERT_EQUAL(vt_bdev_claim_shared(f.desc, "blk", "vhost_blk"), -EBUSY);
	CU_ASSERT_EQUAL(vt_bdev_claim(f.desc, "raid"), -EPERM);
	CU_ASSERT_EQUAL(vt_bdev_open("ut_shared", true, ut_event_cb, &ev, &w), -EPERM);
	CU_ASSERT_EQUAL(vt_bdev_claim_shared(a, "lun a", NULL), -EINVAL);
	/* The first holder goes: the next one stands for the claim. */
	vt_bdev_close(a);
	CU_ASSERT_STRING_EQUAL(vt_bdev_get_claim_owner(&f.d->bdev), "lun b");
	CU_ASSERT_EQUAL(vt_bdev_claim(f.desc, "raid"), -EPERM);
	vt_bdev_release_claim(b);
	CU_ASSERT_PTR_NULL(vt_bdev_get_claim_owner(&f.d->bdev));
	CU_ASSERT_FALSE(vt_bdev_claim_is_shared(&f.d->bdev));
	/* Unclaimed again: an exclusive claim excludes shared ones. */
	CU_ASSERT_EQUAL(vt_bdev_claim(f.desc, "raid"), 0);
	CU_ASSERT_EQUAL(vt_bdev_claim_shared(b, "lun b", "scsi"), -EBUSY);
	vt_bdev_close(b);
	fix_close(&f);
}

static void
register_refuses_duplicates_and_bad_geometry(void)
{
	struct ut_disk *a = ut_disk_create("ut_name_a");
	struct ut_disk *b = ut_disk_new("ut_name_a");
	struct ut_disk *c = ut_disk_new("ut alias");
	char uuid[VT_UUID_STRING_LEN];
	struct vt_bdev_desc *desc;
	struct ut_events ev = { 0 };
	struct ut_fix f;

	CU_ASSERT_EQUAL(vt_bdev_register(&b->bdev), -EEXIST);
	CU_ASSERT_EQUAL(vt_bdev_alias_add(&a->bdev, "ut_alias_a"), 0);
	CU_ASSERT_EQUAL(vt_bdev_alias_add(&a->bdev, "ut_alias_a"), -EEXIST);
	CU_ASSERT_EQUAL(vt_bdev_alias_add(&a->bdev, "ut_name_a"), -EEXIST);
	CU_ASSERT_EQUAL(vt_bdev_alias_add(&a->bdev, "has space"), -EINVAL);
	free(b->bdev.name);
	b->bdev.name = strdup("ut_alias_a");
	CU_ASSERT_EQUAL(vt_bdev_register(&b->bdev), -EEXIST);
	/* Same UUID as a. */
	free(b->bdev.name);
	b->bdev.name = strdup("ut_name_b");
	b->bdev.uuid = a->bdev.uuid;
	CU_ASSERT_EQUAL(vt_bdev_register(&b->bdev), -EEXIST);
	memset(&b->bdev.uuid, 0, sizeof(b->bdev.uuid));
	b->bdev.blocklen = 1000;
	CU_ASSERT_EQUAL(vt_bdev_register(&b->bdev), -EINVAL);
	b->bdev.blocklen = 256;
	CU_ASSERT_EQUAL(vt_bdev_register(&b->bdev), -EINVAL);
	b->bdev.blocklen = UT_BLOCK;
	b->bdev.blockcnt = 0;
	CU_ASSERT_EQUAL(vt_bdev_register(&b->bdev), -EINVAL);
	b->bdev.blockcnt = UINT64_MAX / 256;
	CU_ASSERT_EQUAL(vt_bdev_register(&b->bdev), -EINVAL);
	CU_ASSERT_EQUAL(vt_bdev_register(&c->bdev), -EINVAL);
	/* Found by name, alias and UUID string. */
	CU_ASSERT_PTR_EQUAL(vt_bdev_get_by_name("ut_alias_a"), &a->bdev);
	CU_ASSERT_FALSE(vt_uuid_is_null(&a->bdev.uuid));
	vt_uuid_fmt(uuid, sizeof(uuid), &a->bdev.uuid);
	CU_ASSERT_PTR_EQUAL(vt_bdev_get_by_name(uuid), &a->bdev);
	CU_ASSERT_EQUAL(vt_bdev_open("ut_alias_a", false, ut_event_cb, &ev, &desc), 0);
	CU_ASSERT_PTR_EQUAL(vt_bdev_desc_get_bdev(desc), &a->bdev);
	vt_bdev_close(desc);
	CU_ASSERT_EQUAL(vt_bdev_alias_del(&a->bdev, "ut_alias_a"), 0);
	CU_ASSERT_EQUAL(vt_bdev_alias_del(&a->bdev, "ut_alias_a"), -ENOENT);
	CU_ASSERT_PTR_NULL(vt_bdev_get_by_name("ut_alias_a"));
	ut_disk_free(b);
	ut_disk_free(c);
	memset(&f, 0, sizeof(f));
	f.d = a;
	fix_close(&f);
}

static void
register_checks_the_physical_block_size_against_the_block_size(void)
{
	struct ut_disk *d = ut_disk_new("ut_phys");
	struct ut_fix f;

	/* Not a power of two, smaller than the logical block, more than 2^15 logical blocks. */
	d->bdev.phys_blocklen = 3 * UT_BLOCK;
	CU_ASSERT_EQUAL(vt_bdev_register(&d->bdev), -EINVAL);
	d->bdev.phys_blocklen = UT_BLOCK / 2;
	CU_ASSERT_EQUAL(vt_bdev_register(&d->bdev), -EINVAL);
	d->bdev.phys_blocklen = UT_BLOCK * VT_BDEV_MAX_PHYS_BLOCKS_PER_BLOCK * 2;
	CU_ASSERT_EQUAL(vt_bdev_register(&d->bdev), -EINVAL);
	CU_ASSERT_PTR_NULL(vt_bdev_get_by_name("ut_phys"));
	/* 0 means the block size; a larger power of two is kept. */
	d->bdev.phys_blocklen = 0;
	CU_ASSERT_EQUAL_FATAL(vt_bdev_register(&d->bdev), 0);
	CU_ASSERT_EQUAL(vt_bdev_get_physical_block_size(&d->bdev), UT_BLOCK);
	memset(&f, 0, sizeof(f));
	f.d = d;
	fix_close(&f);
	d = ut_disk_new("ut_phys");
	d->bdev.phys_blocklen = 8 * UT_BLOCK;
	CU_ASSERT_EQUAL_FATAL(vt_bdev_register(&d->bdev), 0);
	CU_ASSERT_EQUAL(vt_bdev_get_physical_block_size(&d->bdev), 8 * UT_BLOCK);
	CU_ASSERT_EQUAL(vt_bdev_get_block_size(&d->bdev), UT_BLOCK);
	memset(&f, 0, sizeof(f));
	f.d = d;
	fix_close(&f);
}

static void
first_and_next_skip_bdevs_being_removed(void)
{
	struct ut_fix f;
	struct ut_disk *other = ut_disk_create("ut_iter_b");
	struct ut_unreg u = { 0 };
	struct vt_bdev *b;
	int seen_a = 0, seen_b = 0;

	fix_open(&f, ut_disk_create("ut_iter_a"));
	vt_bdev_unregister(&f.d->bdev, ut_unregister_cb, &u);
	for (b = vt_bdev_first(); b != NULL; b = vt_bdev_next(b)) {
		seen_a += b == &f.d->bdev;
		seen_b += b == &other->bdev;
	}
	CU_ASSERT_EQUAL(seen_a, 0);
	CU_ASSERT_EQUAL(seen_b, 1);
	vt_bdev_put_io_channel(f.ch);
	vt_bdev_close(f.desc);
	CU_ASSERT(ut_poll_until(&u.done, 1));
	ut_disk_free(f.d);
	memset(&f, 0, sizeof(f));
	f.d = other;
	fix_close(&f);
}

/* ---- tests: statistics -------------------------------------------------------------------- */

struct ut_stat {
	int done;
	int rc;
	struct vt_bdev_io_stat stat;
};

static void
ut_stat_cb(struct vt_bdev *bdev, const struct vt_bdev_io_stat *stat, void *arg, int rc)
{
	struct ut_stat *s = arg;

	s->done++;
	s->rc = rc;
	if (stat != NULL) {
		s->stat = *stat;
	}
}

static void
stats_count_successful_io_by_type(void)
{
	struct ut_fix f;
	struct ut_result r[6] = { 0 };
	uint8_t buf[2 * UT_BLOCK];
	struct iovec iov2 = { buf, 2 * UT_BLOCK }, iov1 = { buf, UT_BLOCK };
	struct ut_stat s = { 0 }, s2 = { 0 };

	fix_open(&f, ut_disk_create("ut_stats"));
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(f.desc, f.ch, &iov2, 1, 0, 2, ut_io_cb, &r[0]), 0);
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(f.desc, f.ch, &iov1, 1, 4, 1, ut_io_cb, &r[1]), 0);
	CU_ASSERT_EQUAL(vt_bdev_writev_blocks(f.desc, f.ch, &iov1, 1, 9, 1, 0, ut_io_cb, &r[2]), 0);
	CU_ASSERT_EQUAL(vt_bdev_unmap_blocks(f.desc, f.ch, 10, 4, ut_io_cb, &r[3]), 0);
	CU_ASSERT_EQUAL(vt_bdev_write_zeroes_blocks(f.desc, f.ch, 20, 2, ut_io_cb, &r[4]), 0);
	f.d->fail_left = 1;
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(f.desc, f.ch, &iov1, 1, 0, 1, ut_io_cb, &r[5]), 0);
	ut_poll(2);
	vt_bdev_get_io_stat(&f.d->bdev, ut_stat_cb, &s);
	CU_ASSERT(ut_poll_until(&s.done, 1));
	CU_ASSERT_EQUAL(s.rc, 0);
	CU_ASSERT_EQUAL(s.stat.num_read_ops, 2);
	CU_ASSERT_EQUAL(s.stat.bytes_read, 3 * UT_BLOCK);
	CU_ASSERT_EQUAL(s.stat.num_write_ops, 2);
	CU_ASSERT_EQUAL(s.stat.bytes_written, 3 * UT_BLOCK);
	CU_ASSERT_EQUAL(s.stat.num_unmap_ops, 1);
	CU_ASSERT_EQUAL(s.stat.bytes_unmapped, 4 * UT_BLOCK);
	CU_ASSERT_EQUAL(s.stat.num_errors, 1);
	CU_ASSERT(s.stat.max_read_latency_ticks >= s.stat.min_read_latency_ticks);
	CU_ASSERT(s.stat.read_latency_ticks >= s.stat.max_read_latency_ticks);
	/* A destroyed channel's counts stay with the bdev. */
	vt_bdev_put_io_channel(f.ch);
	f.ch = NULL;
	ut_poll(2);
	CU_ASSERT_EQUAL(f.d->channels, 0);
	vt_bdev_get_io_stat(&f.d->bdev, ut_stat_cb, &s2);
	CU_ASSERT(ut_poll_until(&s2.done, 1));
	CU_ASSERT_EQUAL(s2.stat.num_read_ops, 2);
	CU_ASSERT_EQUAL(s2.stat.num_unmap_ops, 1);
	CU_ASSERT_EQUAL(s2.stat.min_unmap_latency_ticks, s.stat.min_unmap_latency_ticks);
	fix_close(&f);
}

static void
stats_of_an_idle_bdev_report_zero_minimums(void)
{
	struct ut_disk *d = ut_disk_create("ut_stats_idle");
	struct ut_stat s = { 0 };
	struct ut_fix f = { .d = d };

	vt_bdev_get_io_stat(&d->bdev, ut_stat_cb, &s);
	CU_ASSERT(ut_poll_until(&s.done, 1));
	CU_ASSERT_EQUAL(s.stat.min_read_latency_ticks, 0);
	CU_ASSERT_EQUAL(s.stat.min_write_latency_ticks, 0);
	CU_ASSERT_EQUAL(s.stat.num_read_ops, 0);
	fix_close(&f);
}

/* Reads the figures with mode and channels; returns the sum. */
static struct vt_bdev_io_stat
ut_stat_ext(struct vt_bdev *bdev, enum vt_bdev_reset_stat_mode mode,
	    struct vt_bdev_io_stat_channels *channels)
{
	struct ut_stat s = { 0 };

	vt_bdev_get_io_stat_ext(bdev, mode, channels, ut_stat_cb, &s);
	CU_ASSERT(ut_poll_until(&s.done, 1));
	CU_ASSERT_EQUAL(s.rc, 0);
	return s.stat;
}

static void
stats_per_channel_and_reset_modes(void)
{
	struct vt_bdev_io_stat_channels *chs = calloc(1, sizeof(*chs));
	uint8_t buf[UT_BLOCK];
	struct iovec iov = { buf, UT_BLOCK };
	struct ut_result r[2] = { 0 };
	struct vt_bdev_io_stat st;
	struct ut_fix f;

	CU_ASSERT_FATAL(chs != NULL);
	fix_open(&f, ut_disk_create("ut_stats_ext"));
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(f.desc, f.ch, &iov, 1, 0, 1, ut_io_cb, &r[0]), 0);
	f.d->fail_left = 1;
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(f.desc, f.ch, &iov, 1, 1, 1, ut_io_cb, &r[1]), 0);
	ut_poll(2);
	/* The one open channel is reported with its reactor; "none" resets nothing. */
	st = ut_stat_ext(&f.d->bdev, VT_BDEV_RESET_STAT_NONE, chs);
	CU_ASSERT_EQUAL(chs->count, 1);
	CU_ASSERT_EQUAL(chs->ch[0].reactor, 0);
	CU_ASSERT_EQUAL(chs->ch[0].stat.num_read_ops, 1);
	CU_ASSERT_EQUAL(st.num_read_ops, 1);
	CU_ASSERT_EQUAL(st.num_errors, 1);
	/* "error" clears num_errors only, after reporting it. */
	st = ut_stat_ext(&f.d->bdev, VT_BDEV_RESET_STAT_ERROR, NULL);
	CU_ASSERT_EQUAL(st.num_errors, 1);
	st = ut_stat_ext(&f.d->bdev, VT_BDEV_RESET_STAT_MAXMIN, NULL);
	CU_ASSERT_EQUAL(st.num_errors, 0);
	CU_ASSERT_EQUAL(st.num_read_ops, 1);
	CU_ASSERT(st.max_read_latency_ticks > 0);
	/* "maxmin" cleared the extremes, kept the counts. */
	st = ut_stat_ext(&f.d->bdev, VT_BDEV_RESET_STAT_ALL, NULL);
	CU_ASSERT_EQUAL(st.max_read_latency_ticks, 0);
	CU_ASSERT_EQUAL(st.min_read_latency_ticks, 0);
	CU_ASSERT_EQUAL(st.num_read_ops, 1);
	/* "all" cleared everything. */
	st = ut_stat_ext(&f.d->bdev, VT_BDEV_RESET_STAT_NONE, NULL);
	CU_ASSERT_EQUAL(st.num_read_ops, 0);
	CU_ASSERT_EQUAL(st.bytes_read, 0);
	CU_ASSERT_EQUAL(st.read_latency_ticks, 0);
	free(chs);
	fix_close(&f);
}

/* ---- tests: RPCs and configuration -------------------------------------------------------- */

static void
rpc_get_bdevs_describes_bdevs_and_refuses_unknown_names(void)
{
	struct ut_disk *d = ut_disk_create("ut_rpc");
	struct ut_fix f = { .d = d };
	struct ut_rpc r;
	yajl_val b, types;
	char uuid[VT_UUID_STRING_LEN];

	vt_rpc_set_state(VT_RPC_RUNTIME);
	ut_rpc(&r, "bdev_get_bdevs", "{\"name\":\"ut_rpc\"}");
	CU_ASSERT_EQUAL_FATAL(r.code, 0);
	CU_ASSERT_FATAL(YAJL_IS_ARRAY(r.result) && r.result->u.array.len == 1);
	b = r.result->u.array.values[0];
	CU_ASSERT_STRING_EQUAL(ut_str(b, "name"), "ut_rpc");
	CU_ASSERT_STRING_EQUAL(ut_str(b, "product_name"), "UT disk");
	CU_ASSERT_EQUAL(YAJL_GET_INTEGER(ut_get(b, "block_size")), UT_BLOCK);
	CU_ASSERT_EQUAL(YAJL_GET_INTEGER(ut_get(b, "num_blocks")), UT_BLOCKS);
	vt_uuid_fmt(uuid, sizeof(uuid), &d->bdev.uuid);
	CU_ASSERT_STRING_EQUAL(ut_str(b, "uuid"), uuid);
	CU_ASSERT(YAJL_IS_FALSE(ut_get(b, "claimed")));
	CU_ASSERT(YAJL_IS_FALSE(ut_get(b, "zoned")));
	CU_ASSERT(YAJL_IS_ARRAY(ut_get(b, "aliases")));
	CU_ASSERT_EQUAL(
		YAJL_GET_INTEGER(ut_get(ut_get(b, "assigned_rate_limits"), "rw_ios_per_sec")), 0);
	types = ut_get(b, "supported_io_types");
	CU_ASSERT(YAJL_IS_TRUE(ut_get(types, "read")));
	CU_ASSERT(YAJL_IS_TRUE(ut_get(types, "compare_and_write")));
	CU_ASSERT(YAJL_IS_FALSE(ut_get(types, "nvme_io")));
	CU_ASSERT(YAJL_IS_TRUE(ut_get(ut_get(b, "driver_specific"), "ut")));
	ut_rpc_free(&r);
	/* Every bdev when no name is given. */
	ut_rpc(&r, "bdev_get_bdevs", NULL);
	CU_ASSERT_EQUAL(r.code, 0);
	CU_ASSERT(YAJL_IS_ARRAY(r.result) && r.result->u.array.len >= 1);
	ut_rpc_free(&r);
	ut_rpc(&r, "bdev_get_bdevs", "{\"name\":\"nope\"}");
	CU_ASSERT_EQUAL(r.code, -ENODEV);
	CU_ASSERT_STRING_EQUAL(r.msg, "bdev 'nope' does not exist");
	ut_rpc(&r, "bdev_get_bdevs", "{\"name\":7}");
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.msg, "name"));
	fix_close(&f);
}

static void
rpc_get_iostat_reports_counters(void)
{
	struct ut_fix f;
	struct ut_result res = { 0 };
	uint8_t buf[UT_BLOCK];
	struct iovec iov = { buf, sizeof(buf) };
	struct ut_rpc r;
	yajl_val b;

	fix_open(&f, ut_disk_create("ut_rpc_stat"));
	CU_ASSERT_EQUAL(vt_bdev_readv_blocks(f.desc, f.ch, &iov, 1, 0, 1, ut_io_cb, &res), 0);
	ut_poll(2);
	vt_rpc_set_state(VT_RPC_RUNTIME);
	ut_rpc(&r, "bdev_get_iostat", "{\"name\":\"ut_rpc_stat\"}");
	CU_ASSERT_EQUAL_FATAL(r.code, 0);
	CU_ASSERT_EQUAL((uint64_t)YAJL_GET_INTEGER(ut_get(r.result, "tick_rate")), VT_TICKS_HZ);
	CU_ASSERT(YAJL_GET_INTEGER(ut_get(r.result, "ticks")) > 0);
	b = ut_get(r.result, "bdevs");
	CU_ASSERT_FATAL(YAJL_IS_ARRAY(b) && b->u.array.len == 1);
	b = b->u.array.values[0];
	CU_ASSERT_STRING_EQUAL(ut_str(b, "name"), "ut_rpc_stat");
	CU_ASSERT_EQUAL(YAJL_GET_INTEGER(ut_get(b, "num_read_ops")), 1);
	CU_ASSERT_EQUAL(YAJL_GET_INTEGER(ut_get(b, "bytes_read")), UT_BLOCK);
	CU_ASSERT_EQUAL(YAJL_GET_INTEGER(ut_get(b, "num_write_ops")), 0);
	CU_ASSERT_PTR_NOT_NULL(vt_json_object_get(b, "max_read_latency_ticks"));
	ut_rpc_free(&r);
	ut_rpc(&r, "bdev_get_iostat", NULL);
	CU_ASSERT_EQUAL(r.code, 0);
	ut_rpc_free(&r);
	ut_rpc(&r, "bdev_get_iostat", "{\"name\":\"nope\"}");
	CU_ASSERT_EQUAL(r.code, -ENODEV);
	fix_close(&f);
}

static void
rpc_set_options_validates_and_is_startup_only(void)
{
	struct bdev_opts saved = g_bdev_opts;
	char err[128];
	struct ut_rpc r;

	vt_rpc_set_state(VT_RPC_STARTUP);
	ut_rpc(&r, "bdev_set_options", "{\"bdev_io_cache_size\":0}");
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	ut_rpc(&r, "bdev_set_options", "{\"bdev_io_pool_size\":10,\"bdev_io_cache_size\":8}");
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_STRING_EQUAL(r.msg, "Pool size 10 too small for cache size 8");
	ut_rpc(&r, "bdev_set_options", "{\"bdev_io_cache_size\":\"x\"}");
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
	ut_rpc(&r, "bdev_set_options",
	       "{\"bdev_io_pool_size\":4096,\"bdev_io_cache_size\":256,"
	       "\"bdev_auto_examine\":false,\"small_buf_pool_size\":100}");
	CU_ASSERT_EQUAL(r.code, 0);
	CU_ASSERT(YAJL_IS_TRUE(r.result));
	ut_rpc_free(&r);
	CU_ASSERT_EQUAL(g_bdev_opts.bdev_io_pool_size, 4096);
	CU_ASSERT_EQUAL(g_bdev_opts.bdev_io_cache_size, 256);
	CU_ASSERT_FALSE(g_bdev_opts.bdev_auto_examine);
	CU_ASSERT_EQUAL(g_bdev_opts.small_buf_pool_size, 100);
	vt_rpc_set_state(VT_RPC_RUNTIME);
	ut_rpc(&r, "bdev_set_options", "{\"bdev_io_cache_size\":512}");
	CU_ASSERT_NOT_EQUAL(r.code, 0);
	CU_ASSERT_EQUAL(g_bdev_opts.bdev_io_cache_size, 256);
	CU_ASSERT_EQUAL(bdev_set_opts(&saved, err, sizeof(err)), 0);
}

static void
rpc_wait_for_examine_answers_true(void)
{
	struct ut_rpc r;

	vt_rpc_set_state(VT_RPC_STARTUP);
	ut_rpc(&r, "bdev_wait_for_examine", NULL);
	CU_ASSERT_EQUAL(r.code, 0);
	CU_ASSERT(YAJL_IS_TRUE(r.result));
	ut_rpc_free(&r);
	vt_rpc_set_state(VT_RPC_RUNTIME);
	ut_rpc(&r, "bdev_wait_for_examine", "{}");
	CU_ASSERT_EQUAL(r.code, 0);
	ut_rpc_free(&r);
	ut_rpc(&r, "bdev_wait_for_examine", "{\"x\":1}");
	CU_ASSERT_EQUAL(r.code, VT_JSONRPC_ERROR_INVALID_PARAMS);
}

static void
write_config_json_dumps_options_bdevs_and_wait_for_examine(void)
{
	struct ut_disk *d = ut_disk_create("ut_cfg");
	struct vt_subsystem *s = vt_subsystem_find("bdev");
	struct vt_json_write_ctx *w;
	struct ut_fix f = { .d = d };
	const char *text;
	char err[128];
	yajl_val cfg, first, last, p;
	bool found = false;
	size_t len;

	CU_ASSERT_FATAL(s != NULL && s->write_config_json != NULL);
	w = vt_json_write_begin(false);
	s->write_config_json(w);
	CU_ASSERT_EQUAL_FATAL(vt_json_write_end(w), 0);
	text = vt_json_write_buf(w, &len);
	cfg = vt_json_parse(text, len, err, sizeof(err));
	vt_json_write_free(w);
	CU_ASSERT_FATAL(YAJL_IS_ARRAY(cfg) && cfg->u.array.len >= 3);
	first = cfg->u.array.values[0];
	last = cfg->u.array.values[cfg->u.array.len - 1];
	CU_ASSERT_STRING_EQUAL(ut_str(first, "method"), "bdev_set_options");
	p = ut_get(first, "params");
	CU_ASSERT_EQUAL(YAJL_GET_INTEGER(ut_get(p, "bdev_io_pool_size")),
			BDEV_DEFAULT_IO_POOL_SIZE);
	CU_ASSERT_EQUAL(YAJL_GET_INTEGER(ut_get(p, "bdev_io_cache_size")),
			BDEV_DEFAULT_IO_CACHE_SIZE);
	CU_ASSERT(YAJL_IS_TRUE(ut_get(p, "bdev_auto_examine")));
	CU_ASSERT_PTR_NOT_NULL(vt_json_object_get(p, "small_buf_pool_size"));
	CU_ASSERT_PTR_NOT_NULL(vt_json_object_get(p, "large_buf_pool_size"));
	CU_ASSERT_STRING_EQUAL(ut_str(last, "method"), "bdev_wait_for_examine");
	for (size_t i = 1; i + 1 < cfg->u.array.len; i++) {
		yajl_val e = cfg->u.array.values[i];

		if (strcmp(ut_str(e, "method"), "ut_create") == 0 &&
		    strcmp(ut_str(ut_get(e, "params"), "name"), "ut_cfg") == 0) {
			found = true;
		}
	}
	CU_ASSERT_TRUE(found);
	yajl_tree_free(cfg);
	fix_close(&f);
}

/* ---- tests: the subsystem ----------------------------------------------------------------- */

struct ut_sub {
	int done;
	int rc;
};

static void
ut_sub_init_cb(int rc, void *arg)
{
	struct ut_sub *s = arg;

	s->done++;
	s->rc = rc;
}

static void
ut_sub_fini_cb(void *arg)
{
	struct ut_sub *s = arg;

	s->done++;
}

static void
subsystem_inits_modules_and_fini_unregisters_newest_first(void)
{
	struct ut_sub init = { 0 }, fini = { 0 };
	struct ut_disk *a, *b;
	struct vt_bdev_desc *desc;
	struct ut_events ev = { 0 };

	g_module_inits = 0;
	g_module_finis = 0;
	vt_subsystem_init(ut_sub_init_cb, &init);
	CU_ASSERT(ut_poll_until(&init.done, 1));
	CU_ASSERT_EQUAL(init.rc, 0);
	CU_ASSERT_EQUAL(g_module_inits, 1);
	a = ut_disk_create("ut_fini_a");
	b = ut_disk_create("ut_fini_b");
	/* A user that closes on REMOVE, as vhost does. */
	CU_ASSERT_EQUAL_FATAL(vt_bdev_open("ut_fini_a", false, ut_event_cb, &ev, &desc), 0);
	ev.desc = desc;
	ev.close_on_remove = true;
	g_destruct_order = 0;
	vt_subsystem_fini(ut_sub_fini_cb, &fini);
	CU_ASSERT(ut_poll_until(&fini.done, 1));
	CU_ASSERT_EQUAL(ev.remove, 1);
	CU_ASSERT_EQUAL(a->destructed, 1);
	CU_ASSERT_EQUAL(b->destructed, 1);
	CU_ASSERT_EQUAL(b->order, 1);
	CU_ASSERT_EQUAL(a->order, 2);
	CU_ASSERT_EQUAL(g_module_finis, 1);
	CU_ASSERT_PTR_NULL(vt_bdev_first());
	ut_disk_free(a);
	ut_disk_free(b);
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	s = CU_add_suite("bdev", ut_reactor_suite_init, ut_reactor_suite_fini);
	CU_ADD_TEST(s, submit_checks_return_exact_errnos);
	CU_ADD_TEST(s, emulated_types_are_reported_supported);
	CU_ADD_TEST(s, callback_never_runs_inside_submit);
	CU_ADD_TEST(s, async_completion_calls_back_on_a_later_iteration);
	CU_ADD_TEST(s, failed_io_reports_status_and_errno);
	CU_ADD_TEST(s, nomem_io_is_retried_when_another_io_completes);
	CU_ADD_TEST(s, nomem_io_is_retried_by_the_poller_without_completions);
	CU_ADD_TEST(s, pool_exhaustion_returns_enomem_then_io_wait_runs);
	CU_ADD_TEST(s, compare_emulated_reports_miscompare_offset);
	CU_ADD_TEST(s, compare_native_goes_to_the_module);
	CU_ADD_TEST(s, compare_and_write_writes_only_on_match);
	CU_ADD_TEST(s, write_overlapping_a_locked_range_waits_until_unlock);
	CU_ADD_TEST(s, compare_and_write_waits_for_running_overlapping_write);
	CU_ADD_TEST(s, or_write_ors_the_data_into_the_blocks);
	CU_ADD_TEST(s, write_overlapping_an_or_write_waits_for_its_write);
	CU_ADD_TEST(s, write_atomic_holds_off_overlapping_reads_and_writes);
	CU_ADD_TEST(s, write_atomic_waits_for_a_running_overlapping_read);
	CU_ADD_TEST(s, get_lba_status_is_mapped_without_module_support);
	CU_ADD_TEST(s, get_lba_status_reports_what_the_module_answers);
	CU_ADD_TEST(s, reset_aborts_queued_io_and_waits_for_running_io);
	CU_ADD_TEST(s, reset_goes_to_a_module_that_supports_it);
	CU_ADD_TEST(s, hot_remove_sends_remove_and_destructs_after_close);
	CU_ADD_TEST(s, hot_remove_waits_for_running_io_and_a_close_in_the_event);
	CU_ADD_TEST(s, destruct_may_complete_later);
	CU_ADD_TEST(s, resize_sends_resize_and_refuses_shrink_while_open);
	CU_ADD_TEST(s, claim_excludes_other_writers_until_released);
	CU_ADD_TEST(s, shared_claim_admits_same_key_only_and_goes_with_last_holder);
	CU_ADD_TEST(s, register_refuses_duplicates_and_bad_geometry);
	CU_ADD_TEST(s, register_checks_the_physical_block_size_against_the_block_size);
	CU_ADD_TEST(s, first_and_next_skip_bdevs_being_removed);
	CU_ADD_TEST(s, stats_count_successful_io_by_type);
	CU_ADD_TEST(s, stats_of_an_idle_bdev_report_zero_minimums);
	CU_ADD_TEST(s, stats_per_channel_and_reset_modes);
	CU_ADD_TEST(s, rpc_get_bdevs_describes_bdevs_and_refuses_unknown_names);
	CU_ADD_TEST(s, rpc_get_iostat_reports_counters);
	CU_ADD_TEST(s, rpc_set_options_validates_and_is_startup_only);
	CU_ADD_TEST(s, rpc_wait_for_examine_answers_true);
	CU_ADD_TEST(s, write_config_json_dumps_options_bdevs_and_wait_for_examine);
	CU_ADD_TEST(s, subsystem_inits_modules_and_fini_unregisters_newest_first);
	return ut_run_tests();
}
