/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_UT_BDEV_H
#define VT_UT_BDEV_H

/* For tests of bdev modules: an I/O result recorder, a delete callback and a foreign module. */

#include <CUnit/Basic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"

struct ut_result {
	int done;
	bool success;
	enum vt_bdev_io_status status;
	uint64_t miscompare;
};

static inline void
ut_io_cb(struct vt_bdev_io *io, bool success, void *arg)
{
	struct ut_result *r = arg;

	r->done++;
	r->success = success;
	r->status = vt_bdev_io_get_status(io);
	r->miscompare = vt_bdev_io_get_miscompare_offset(io);
}

/* An unregistration that must succeed; counts in the int at arg. */
static inline void
ut_delete_cb(void *arg, int rc)
{
	int *done = arg;

	CU_ASSERT_EQUAL(rc, 0);
	(*done)++;
}

/* A bdev of another module, which a module's RPCs must refuse. */
static inline int
ut_other_destruct(void *ctx)
{
	return 0;
}

static inline void
ut_other_submit(void *ch, struct vt_bdev_io *io)
{
	vt_bdev_io_complete(io, VT_BDEV_IO_STATUS_SUCCESS);
}

static inline bool
ut_other_supported(void *ctx, enum vt_bdev_io_type type)
{
	return type == VT_BDEV_IO_TYPE_READ;
}

static const struct vt_bdev_fn_table g_ut_other_fn __attribute__((unused)) = {
	.destruct = ut_other_destruct,
	.submit_request = ut_other_submit,
	.io_type_supported = ut_other_supported,
};

static struct vt_bdev_module g_ut_other_module __attribute__((unused)) = { .name = "other" };

#endif
