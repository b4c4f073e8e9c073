/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for the SCSI command dispatcher (lib/scsi): any CDB, any data-out buffer, any
 * LUN state, on a real malloc (or null) bdev behind a device with two initiator ports, on one
 * reactor driven like the unit tests drive it.
 *
 * Input: a state header, then a sequence of operations.
 *   state   byte 0: flags (STATE_*); byte 1: block size (bits 0-1: 512 << n), physical block
 *           exponent (bits 2-3), write cache (bit 4), descriptor sense (bit 5); bytes 2-5: blocks
 *           (a malloc LUN gets at most 256, a null LUN up to 1 GiB); byte 6: unit attentions
 *           added for port A, byte 7 for port B; byte 8: persistent reservation set-up (bits 0-1:
 *           registrants none / A / A and B / B, bits 2-4: reservation type index, bit 5: B holds
 *           it); byte 9: a SANITIZE started with IMMED before the sequence (bits 0-1: none,
 *           overwrite, block erase, crypto erase).
 *   op      byte: bits 0-1 kind (0-2 a command, 3 an event), bit 2 port B, bits 3-4 LUN
 *           (0, 1, 2, 16383), bit 5 run to completion before the next op, bits 6-7 direction.
 *           A command: CDB length byte (6 + n % 27), the CDB, a 16-bit buffer length, an iovec
 *           split byte, then the data-out bytes. An event: a byte naming a task management
 *           function (0-6, with a tag byte: the index of an earlier command), a LUN removal (7)
 *           or a resize of a null LUN (8, with a byte of new size).
 * Every command and TMF must complete exactly once, never inside the call that queued it, and
 * within a bounded number of reactor iterations; then everything is torn down and must free all
 * it allocated (LeakSanitizer checks).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/event.h"
#include "vt/log.h"
#include "vt/scsi.h"
#include "vt/scsi_spec.h"

#include "lib/bdev/malloc/bdev_malloc.h"
#include "lib/bdev/null/bdev_null.h"
#include "lib/scsi/scsi_internal.h"
#include "test/fuzz/fuzz_bytes.h"
#include "test/unit/common/ut_reactor.h"

#define MAX_OPS 24
#define MAX_IOVS 3
/* Reactor iterations an input may take to finish everything it started. */
#define POLL_BUDGET 2000000

enum {
	STATE_READ_ONLY = 1u << 0,
	STATE_SECOND_LUN = 1u << 1, /* LUN 1, another malloc bdev (EXTENDED COPY targets) */
	STATE_CLEAR_UA_A = 1u << 2,
	STATE_CLEAR_UA_B = 1u << 3,
	STATE_NULL_BDEV = 1u << 4, /* LUN 0 on a null bdev: large, no data kept */
	STATE_SANITIZE_FAILED = 1u << 5,
	STATE_SANITIZE_AUSE = 1u << 6,
	STATE_SPC2_RESERVED = 1u << 7, /* RESERVE(6) by port A */
};

struct fz_cmd {
	struct vt_scsi_task task;
	struct iovec iov[MAX_IOVS];
	uint8_t *buf;
	int done;
	int in_submit;
	int used;
};

struct fz_tmf {
	struct vt_scsi_tmf tmf;
	int done;
	int in_submit;
	int used;
};

struct fz_ctx {
	struct vt_bdev *bdev[2];
	bool is_null;
	struct vt_scsi_dev *dev;
	struct vt_scsi_port *port[2];
	struct fz_cmd cmds[MAX_OPS + 8];
	uint32_t num_cmds;
	struct fz_tmf tmfs[MAX_OPS];
	uint32_t num_tmfs;
	bool removing[2]; /* a removal was started by an op */
	int removed[2];   /* its completions */
	int bdev_deleted;
};

static struct fz_ctx g_ctx;
static bool g_trace; /* FUZZ_TRACE set: print each command's outcome */

static const uint8_t g_pr_types[8] = { 0, 1, 3, 5, 6, 7, 8, 1 };

/* Fixed UUIDs: the LUNs' designators (VPD 83h, EXTENDED COPY targets) do not change between runs;
 * LUN n's is 16 * n + 1 .. 16 * n + 16 (gen_host_corpus.py relies on it). */
static struct vt_uuid g_uuid[2];

static void
fz_fail(const char *what)
{
	fprintf(stderr, "fuzz_scsi_cmd: %s\n", what);
	abort();
}

/* The ALLOCATION LENGTH of a data-in command that has one (SPC-4 4.2.5.6), else UINT32_MAX. */
static uint32_t
fz_alloc_len(const uint8_t *cdb)
{
	switch (cdb[0]) {
	case VT_SCSI_OP_INQUIRY:
		return vt_scsi_get16(&cdb[3]);
	case VT_SCSI_OP_REQUEST_SENSE:
	case VT_SCSI_OP_MODE_SENSE_6:
		return cdb[4];
	case VT_SCSI_OP_MODE_SENSE_10:
	case VT_SCSI_OP_PERSISTENT_RESERVE_IN:
	case VT_SCSI_OP_READ_DEFECT_DATA_10:
		return vt_scsi_get16(&cdb[7]);
	case VT_SCSI_OP_REPORT_LUNS:
	case VT_SCSI_OP_MAINTENANCE_IN:
	case VT_SCSI_OP_READ_DEFECT_DATA_12:
		return vt_scsi_get32(&cdb[6]);
	case VT_SCSI_OP_SERVICE_ACTION_IN_16:
	case VT_SCSI_OP_RECEIVE_COPY_RESULTS:
		return vt_scsi_get32(&cdb[10]);
	case VT_SCSI_OP_READ_CAPACITY_10:
		return 8;
	default:
		return UINT32_MAX;
	}
}

static void
fz_cmd_cb(struct vt_scsi_task *task)
{
	struct fz_cmd *c = task->cb_arg;

	if (c->in_submit) {
		fz_fail("task completed inside vt_scsi_dev_queue_task");
	}
	if (task->sense_len > VT_SCSI_SENSE_MAX) {
		fz_fail("sense longer than the sense buffer");
	}
	if (task->data_transferred > task->transfer_len) {
		fz_fail("more data moved than the buffer holds");
	}
	if (task->dir == VT_SCSI_DIR_FROM_DEV && task->data_transferred > fz_alloc_len(task->cdb)) {
		fz_fail("more data returned than the allocation length");
	}
	if (task->status == VT_SCSI_STATUS_GOOD && task->sense_len != 0) {
		fz_fail("GOOD status with sense data");
	}
	if (task->status == VT_SCSI_STATUS_CHECK_CONDITION &&
	    (task->sense_len < 8 ||
	     ((task->sense[0] & 0x7e) != 0x70 && (task->sense[0] & 0x7e) != 0x72))) {
		fz_fail("CHECK CONDITION without valid sense data");
	}
	if (g_trace) {
		fprintf(stderr,
			"cmd %02x lun %" PRIu64 " status %02x sense %02x/%02x/%02x moved %u\n",
			task->cdb[0], task->lun_id, task->status, task->sense[2] & 0xf,
			task->sense[12], task->sense[13], task->data_transferred);
	}
	c->done++;
}

static void
fz_tmf_cb(struct vt_scsi_tmf *tmf)
{
	struct fz_tmf *t = (struct fz_tmf *)tmf;

	if (t->in_submit) {
		fz_fail("tmf completed inside vt_scsi_port_task_mgmt");
	}
	if (g_trace) {
		fprintf(stderr, "tmf %d response %d\n", t->tmf.func, t->tmf.response);
	}
	t->done++;
}

static void
fz_count_cb(void *arg, int rc)
{
	(*(int *)arg)++;
}

static void
fz_lun_done(struct vt_scsi_dev *dev, uint32_t lun_id, void *arg)
{
	(*(int *)arg)++;
}

/* Polls until every command and TMF has completed; false when the budget ran out. */
static bool
fz_settle(struct fz_ctx *ctx)
{
	for (long n = 0; n < POLL_BUDGET; n++) {
		bool busy = false;

		for (uint32_t i = 0; i < ctx->num_cmds && !busy; i++) {
			busy = ctx->cmds[i].done == 0;
		}
		for (uint32_t i = 0; i < ctx->num_tmfs && !busy; i++) {
			busy = ctx->tmfs[i].done == 0;
		}
		for (int l = 0; l < 2 && !busy; l++) {
			struct vt_scsi_lun *lun = ctx->dev->luns[l];

			busy = lun != NULL && scsi_lu_sanitizing(lun);
		}
		if (!busy) {
			return true;
		}
		vt_reactor_poll_once();
	}
	return false;
}

static bool
fz_wait(const int *counter, int want)
{
	for (long n = 0; n < POLL_BUDGET && *counter < want; n++) {
		vt_reactor_poll_once();
	}
	return *counter >= want;
}

/* Queues a command; the buffer (len bytes, split in up to three iovecs) gets data-out bytes from f
 * when f is not NULL. Returns the command. */
static void
fz_queue(struct fz_cmd *c, struct vt_scsi_port *port, uint64_t lun, const uint8_t *cdb,
	 uint32_t cdb_len, enum vt_scsi_dir dir, uint32_t len, uint8_t split, struct fz_bytes *f,
	 const void *data, uint64_t tag)
{
	uint32_t cut[MAX_IOVS + 1], niov = 1 + split % MAX_IOVS;

	memset(c, 0, sizeof(*c));
	c->used = 1;
	c->buf = len != 0 ? malloc(len) : NULL;
	if (len != 0 && c->buf == NULL) {
		fz_fail("out of memory");
	}
	if (len == 0) {
		/* No buffer. */
	} else if (data != NULL) {
		memcpy(c->buf, data, len);
	} else if (f != NULL) {
		fz_bytes(f, c->buf, len);
	} else {
		memset(c->buf, 0xa5, len);
	}
	/* Cut points: iovec i covers [cut[i], cut[i + 1]); empty iovecs are allowed. */
	cut[0] = 0;
	cut[niov] = len;
	for (uint32_t i = 1; i < niov; i++) {
		cut[i] = len == 0 ? 0
				  : (uint32_t)(((uint64_t)len * ((split >> (2 + i * 2)) & 3)) / 4);
		if (cut[i] < cut[i - 1]) {
			cut[i] = cut[i - 1];
		}
	}
	for (uint32_t i = 0; i < niov; i++) {
		c->iov[i].iov_base = c->buf != NULL ? c->buf + cut[i] : NULL;
		c->iov[i].iov_len = cut[i + 1] - cut[i];
	}
	memcpy(c->task.cdb, cdb, cdb_len);
	c->task.cdb_len = cdb_len;
	c->task.lun_id = lun;
	c->task.tag = tag;
	c->task.iovs = c->iov;
	c->task.iovcnt = (int)niov;
	c->task.dir = dir;
	c->task.transfer_len = len;
	c->task.cb = fz_cmd_cb;
	c->task.cb_arg = c;
	c->in_submit = 1;
	vt_scsi_dev_queue_task(port, &c->task);
	c->in_submit = 0;
}

/* The next command of the sequence (tagged with its index). */
static struct fz_cmd *
fz_next_cmd(struct fz_ctx *ctx)
{
	return &ctx->cmds[ctx->num_cmds++];
}

/* Runs a set-up command to its end; returns its status. */
static uint8_t
fz_run_simple(struct vt_scsi_port *port, uint64_t lun, const uint8_t *cdb, uint32_t cdb_len,
	      enum vt_scsi_dir dir, const void *data, uint32_t len)
{
	struct fz_cmd c;

	fz_queue(&c, port, lun, cdb, cdb_len, dir, len, 0, NULL, data, 1000);
	if (!fz_wait(&c.done, 1)) {
		fz_fail("set-up command does not complete");
	}
	free(c.buf);
	return c.task.status;
}

/* Clears the unit attentions of port on every LUN. */
static void
fz_clear_ua(struct fz_ctx *ctx, struct vt_scsi_port *port)
{
	uint8_t tur[6] = { 0 };

	for (uint64_t lun = 0; lun < 2; lun++) {
		for (int i = 0; i < 10 && ctx->dev->luns[lun] != NULL; i++) {
			if (fz_run_simple(port, lun, tur, 6, VT_SCSI_DIR_NONE, NULL, 0) ==
			    VT_SCSI_STATUS_GOOD) {
				break;
			}
		}
	}
}

static void
fz_prout(struct fz_ctx *ctx, struct vt_scsi_port *port, uint8_t sa, uint8_t type, uint64_t key,
	 uint64_t sa_key)
{
	uint8_t cdb[10] = { VT_SCSI_OP_PERSISTENT_RESERVE_OUT, sa, type };
	struct vt_scsi_prout_params p;

	memset(&p, 0, sizeof(p));
	vt_scsi_put64(p.res_key, key);
	vt_scsi_put64(p.sa_res_key, sa_key);
	vt_scsi_put32(&cdb[5], sizeof(p));
	fz_run_simple(port, 0, cdb, sizeof(cdb), VT_SCSI_DIR_TO_DEV, &p, sizeof(p));
}

/* The LUN state the header picks: reservations, unit attentions, mode, sanitize. */
static void
fz_setup_state(struct fz_ctx *ctx, struct fz_bytes *f, uint8_t flags, uint8_t geom)
{
	struct vt_scsi_lun *lun = ctx->dev->luns[0];
	uint8_t ua_a = fz_u8(f), ua_b = fz_u8(f), pr = fz_u8(f), san = fz_u8(f);
	uint8_t regs = pr & 3, type = g_pr_types[(pr >> 2) & 7];

	if (flags & STATE_CLEAR_UA_A) {
		fz_clear_ua(ctx, ctx->port[0]);
	}
	if (flags & STATE_CLEAR_UA_B) {
		fz_clear_ua(ctx, ctx->port[1]);
	}
	/* Registration needs no unit attention pending; they come back below. */
	if (regs != 0) {
		fz_clear_ua(ctx, ctx->port[0]);
		fz_clear_ua(ctx, ctx->port[1]);
		if (regs & 1) {
			fz_prout(ctx, ctx->port[0], VT_SCSI_PROUT_REGISTER, 0, 0, 0xaaaa);
		}
		if (regs & 2) {
			fz_prout(ctx, ctx->port[1], VT_SCSI_PROUT_REGISTER, 0, 0, 0xbbbb);
		}
		if (type != 0) {
			bool b = (pr & 0x20) || regs == 2;

			fz_prout(ctx, ctx->port[b ? 1 : 0], VT_SCSI_PROUT_RESERVE, type,
				 b ? 0xbbbb : 0xaaaa, 0);
		}
	}
	if (flags & STATE_SPC2_RESERVED) {
		uint8_t cdb[6] = { VT_SCSI_OP_RESERVE_6 };

		fz_clear_ua(ctx, ctx->port[0]);
		fz_run_simple(ctx->port[0], 0, cdb, 6, VT_SCSI_DIR_NONE, NULL, 0);
	}
	ctx->port[0]->ua[0] |= ua_a & 0x1ff;
	ctx->port[1]->ua[0] |= ua_b & 0x1ff;
	lun->wce = geom & 0x10;
	lun->d_sense = geom & 0x20;
	lun->lu->sanitize_state = flags & STATE_SANITIZE_FAILED ? SCSI_LU_SANITIZE_FAILED : 0;
	lun->lu->sanitize_ause = flags & STATE_SANITIZE_AUSE;
	if ((san & 3) != 0 && !lun->read_only) {
		/* IMMED: the operation goes on after the command completes. */
		uint8_t cdb[10] = { VT_SCSI_OP_SANITIZE, (uint8_t)(0x80 | (san & 3)) };
		uint8_t list[8] = { 1, 0, 0, 4, 0xde, 0xad, 0xbe, 0xef };
		bool ow = (san & 3) == VT_SCSI_SANITIZE_OVERWRITE;

		if (ow) {
			vt_scsi_put16(&cdb[7], sizeof(list));
		}
		fz_queue(fz_next_cmd(ctx), ctx->port[(san >> 2) & 1], 0, cdb, sizeof(cdb),
			 ow ? VT_SCSI_DIR_TO_DEV : VT_SCSI_DIR_NONE, ow ? sizeof(list) : 0, 0, NULL,
			 list, 0);
	}
}

static int
fz_create(struct fz_ctx *ctx, struct fz_bytes *f, uint8_t flags, uint8_t geom)
{
	uint32_t bs = 512u << (geom & 3);
	uint32_t blocks = fz_u32(f);
	int rc;

	for (int l = 0; l < 2; l++) {
		for (int i = 0; i < 16; i++) {
			g_uuid[l].u[i] = (uint8_t)(16 * l + i + 1);
		}
	}
	ctx->is_null = flags & STATE_NULL_BDEV;
	if (ctx->is_null) {
		struct bdev_null_opts o = {
			.name = "FzNull0",
			.block_size = bs,
			.uuid = &g_uuid[0],
			/* At most 1 GiB: a SANITIZE OVERWRITE writes the whole LUN in 1 MiB
			 * steps, and an input must finish well within a second. */
			.num_blocks = 1 + blocks % ((1ull << 30) / bs),
		};

		rc = bdev_null_create(&o, &ctx->bdev[0]);
	} else {
		struct bdev_malloc_opts o = {
			.name = "FzMalloc0",
			.block_size = bs,
			.num_blocks = 1 + blocks % 256,
			.physical_block_size = bs << ((geom >> 2) & 3),
			.uuid = &g_uuid[0],
		};

		rc = bdev_malloc_create(&o, &ctx->bdev[0]);
	}
	if (rc != 0) {
		fz_fail("cannot create the bdev of lun 0");
	}
	ctx->bdev[0]->read_only = flags & STATE_READ_ONLY;
	if (flags & STATE_SECOND_LUN) {
		struct bdev_malloc_opts o = {
			.name = "FzMalloc1",
			.block_size = 512,
			.num_blocks = 64,
			.uuid = &g_uuid[1],
		};

		if (bdev_malloc_create(&o, &ctx->bdev[1]) != 0) {
			fz_fail("cannot create the bdev of lun 1");
		}
	}
	ctx->dev = vt_scsi_dev_create("fuzz.target", 0);
	if (ctx->dev == NULL ||
	    vt_scsi_dev_add_lun(ctx->dev, vt_bdev_get_name(ctx->bdev[0]), 0, NULL, NULL) != 0 ||
	    (ctx->bdev[1] != NULL &&
	     vt_scsi_dev_add_lun(ctx->dev, "FzMalloc1", 1, NULL, NULL) != 1)) {
		fz_fail("cannot create the scsi device");
	}
	ctx->port[0] = vt_scsi_port_create(ctx->dev, "iqn.2024-01.fuzz:a");
	ctx->port[1] = vt_scsi_port_create(ctx->dev, "iqn.2024-01.fuzz:b");
	if (ctx->port[0] == NULL || ctx->port[1] == NULL) {
		fz_fail("cannot create the ports");
	}
	return 0;
}

static void
fz_event(struct fz_ctx *ctx, struct fz_bytes *f, uint8_t op, struct vt_scsi_port *port,
	 uint64_t lun)
{
	uint8_t what = fz_u8(f);

	if (what % 9 < 7) {
		struct fz_tmf *t = &ctx->tmfs[ctx->num_tmfs++];
		uint8_t tag = fz_u8(f);

		memset(t, 0, sizeof(*t));
		t->used = 1;
		t->tmf.func = (enum vt_scsi_tmf_func)(what % 9);
		t->tmf.lun_id = lun;
		t->tmf.tag = ctx->num_cmds != 0 ? tag % ctx->num_cmds : tag;
		t->tmf.cb = fz_tmf_cb;
		t->in_submit = 1;
		vt_scsi_port_task_mgmt(port, &t->tmf);
		t->in_submit = 0;
		if (op & 0x20) {
			if (!fz_wait(&t->done, 1)) {
				fz_fail("tmf does not complete");
			}
		}
	} else if (what % 9 == 7) {
		uint32_t id = ctx->bdev[1] != NULL ? 1 : 0;

		if (!ctx->removing[id]) {
			if (vt_scsi_dev_remove_lun(ctx->dev, id, fz_lun_done, &ctx->removed[id]) !=
			    0) {
				fz_fail("lun removal refused");
			}
			ctx->removing[id] = true;
		}
	} else if (ctx->is_null && !ctx->removing[0]) {
		uint8_t sz = fz_u8(f);

		bdev_null_resize(ctx->bdev[0], 1 + sz % 64);
	}
}

static void
fz_teardown(struct fz_ctx *ctx)
{
	int done;

	if (!fz_settle(ctx)) {
		fz_fail("commands still in flight after the poll budget (hang)");
	}
	for (int p = 0; p < 2; p++) {
		if (vt_scsi_port_destroy(ctx->port[p]) != 0) {
			fz_fail("port busy after every task completed");
		}
	}
	for (uint32_t l = 0; l < 2; l++) {
		if (ctx->removing[l]) {
			if (!fz_wait(&ctx->removed[l], 1)) {
				fz_fail("lun removal does not finish");
			}
		} else if (ctx->dev->luns[l] != NULL) {
			done = 0;
			if (vt_scsi_dev_remove_lun(ctx->dev, l, fz_lun_done, &done) != 0 ||
			    !fz_wait(&done, 1)) {
				fz_fail("lun removal does not finish");
			}
		}
	}
	if (vt_scsi_dev_destroy(ctx->dev) != 0) {
		fz_fail("device busy after its luns and ports are gone");
	}
	for (int b = 0; b < 2; b++) {
		if (ctx->bdev[b] == NULL) {
			continue;
		}
		done = 0;
		if ((b == 0 && ctx->is_null
			     ? bdev_null_delete(ctx->bdev[b], fz_count_cb, &done)
			     : bdev_malloc_delete(ctx->bdev[b], fz_count_cb, &done)) != 0 ||
		    !fz_wait(&done, 1)) {
			fz_fail("bdev delete does not finish");
		}
	}
	for (uint32_t i = 0; i < ctx->num_cmds; i++) {
		if (ctx->cmds[i].done != 1) {
			fz_fail("a command completed more than once");
		}
		free(ctx->cmds[i].buf);
	}
	for (uint32_t i = 0; i < ctx->num_tmfs; i++) {
		if (ctx->tmfs[i].done != 1) {
			fz_fail("a tmf completed more than once");
		}
	}
	/* Let deferred frees run. */
	for (int i = 0; i < 16; i++) {
		vt_reactor_poll_once();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	g_trace = getenv("FUZZ_TRACE") != NULL;
	vt_log_set_print_level(getenv("FUZZ_VERBOSE") != NULL ? VT_LOG_DEBUG : VT_LOG_DISABLED);
	if (ut_reactor_init_one(false) != 0) {
		fz_fail("cannot start a reactor");
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t luns[4] = { 0, 1, 2, 16383 };
	struct fz_ctx *ctx = &g_ctx;
	struct fz_bytes f;
	uint8_t flags, geom;

	memset(ctx, 0, sizeof(*ctx));
	fz_init(&f, data, size);
	flags = fz_u8(&f);
	geom = fz_u8(&f);
	fz_create(ctx, &f, flags, geom);
	fz_setup_state(ctx, &f, flags, geom);

	for (int n = 0; n < MAX_OPS && !fz_done(&f); n++) {
		uint8_t op = fz_u8(&f);
		struct vt_scsi_port *port = ctx->port[(op >> 2) & 1];
		uint64_t lun = luns[(op >> 3) & 3];

		if ((op & 3) == 3) {
			fz_event(ctx, &f, op, port, lun);
			continue;
		}
		{
			uint8_t cdb[VT_SCSI_CDB_MAX];
			uint32_t cdb_len = 6 + fz_u8(&f) % 27;
			enum vt_scsi_dir dir = (enum vt_scsi_dir)((op >> 6) % 3);
			uint32_t len;
			uint8_t split;
			struct fz_cmd *c = fz_next_cmd(ctx);

			fz_bytes(&f, cdb, cdb_len);
			memset(cdb + cdb_len, 0, VT_SCSI_CDB_MAX - cdb_len);
			len = fz_u16(&f);
			split = fz_u8(&f);
			if (dir == VT_SCSI_DIR_NONE) {
				len = 0;
			}
			fz_queue(c, port, lun, cdb, cdb_len, dir, len, split,
				 dir == VT_SCSI_DIR_TO_DEV ? &f : NULL, NULL,
				 (uint64_t)(c - ctx->cmds));
			if ((op & 0x20) && !fz_wait(&c->done, 1)) {
				fz_fail("command does not complete (hang)");
			}
		}
	}
	fz_teardown(ctx);
	return 0;
}
