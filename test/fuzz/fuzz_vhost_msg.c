/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vhost-user pre-message checks (lib/vhost/vhost_user.c, pre_msg, and lib/vhost/vhost_mem.c)
 * on messages as rte_vhost hands them over: memory tables with real memfd files (the check
 * compares each region with its file's size), ring sizes, bases and addresses, queue indexes,
 * features, config ranges, any request number and payload size. What the checks accept is then
 * used the way rte_vhost and lib/vhost would: an accepted memory table is mapped (vhost_mem_map_create,
 * over the same fds) and the rings of an accepted SET_VRING_ADDR are translated through that map
 * and read end to end (a translation outside the files would fault).
 *
 * Input: messages until the input ends (at most 16): request byte, flags byte, le16 payload size
 * (modulo rte_vhost's limit, 633), a file count byte (0 to 8), one selector byte per file
 * (memfds of 0, 4 KiB, 64 KiB, 1 MiB and 2 MiB + 4 KiB, a pipe), then the payload bytes (fewer
 * at the end of the input: the rest is zero). pre_msg runs on a thread of its own while this
 * thread, the reactor, polls: its calls to the reactor (queue stops, dirty log changes) are
 * answered.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "lib/vhost/vhost_user.c"

#include "test/fuzz/fuzz_session.h"
#include "lib/vhost/vhost_blk.h"

#define MAX_MSGS 16
#define NFILES 6

static int g_files[NFILES];
static const uint64_t g_file_size[NFILES - 1] = { 0, 4096, 65536, 1u << 20, (2u << 20) + 4096 };
static struct vhost_mem_map *g_map;
static volatile uint8_t g_sink;

static int
blk_backend(struct vhost_ctrlr *c)
{
	char err[256];

	return vhost_blk_backend_create(c, "FuzzMsg0", false, false, true, err, sizeof(err));
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int p[2];

	for (int i = 0; i < NFILES - 1; i++) {
		g_files[i] = memfd_create("fuzz_vhost_msg", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (g_files[i] < 0 || ftruncate(g_files[i], (off_t)g_file_size[i]) != 0) {
			abort();
		}
	}
	if (pipe(p) != 0) {
		abort();
	}
	g_files[NFILES - 1] = p[0]; /* not a regular file */
	fs_setup("FuzzMsg0", &g_vhost_blk_ops, blk_backend);
	g_vid_sessions[0] = g_fs_s;
	return 0;
}

/* Maps an accepted table over its fds, as post_msg's ve_new_map does with rte_vhost's mapping. */
static void
map_table(const struct vhost_user_mem *t, const int *fds)
{
	struct vhost_mem_region_desc d[VHOST_USER_MAX_MEM_REGIONS];
	char err[256];

	vhost_mem_map_unref(g_map);
	for (uint32_t i = 0; i < t->nregions; i++) {
		const struct vhost_user_mem_region *r = &t->regions[i];

		d[i] = (struct vhost_mem_region_desc){
			.gpa = r->guest_phys_addr,
			.size = r->memory_size,
			.fd = fds[i],
			.mmap_offset = r->mmap_offset,
			.mmap_size = r->mmap_offset + r->memory_size,
			.ext_host = r->userspace_addr,
		};
	}
	g_map = vhost_mem_map_create(d, t->nregions, err, sizeof(err));
	if (g_map == NULL) {
		/* The checks accepted it: the mapping of the same files must work too. */
		fprintf(stderr, "fuzz: an accepted memory table cannot be mapped: %s\n", err);
		abort();
	}
}

/* Reads len bytes at a ring address the checks accepted (the front end's address space). */
static void
touch_ring(uint64_t uaddr, uint64_t len)
{
	const uint8_t *p = vhost_mem_map_from_ext(g_map, uaddr, len);
	uint8_t acc = 0;

	if (p == NULL) {
		fprintf(stderr,
			"fuzz: an accepted ring (0x%" PRIx64 ", %" PRIu64 " bytes) is not in "
			"the mapping\n",
			uaddr, len);
		abort();
	}
	for (uint64_t i = 0; i < len; i++) {
		acc ^= p[i];
	}
	g_sink = acc;
}

static void
use_accepted(struct vhost_session *s, struct vhost_user_msg_ctx *ctx)
{
	const struct vhost_user_msg *m = &ctx->msg;

	if (m->request == VHOST_USER_REQ_SET_MEM_TABLE) {
		map_table(&s->ve.mem_table, ctx->fds);
	} else if (m->request == VHOST_USER_REQ_SET_VRING_ADDR && s->ve.has_mem && g_map != NULL) {
		struct vhost_user_vring_addr a;
		uint32_t num = s->ve.vring_num[m->payload.addr.index];
		uint64_t dl = 1, drl = 1, dvl = 1;

		memcpy(&a, m->payload.raw, sizeof(a));
		if (num != 0) {
			vhost_vq_ring_sizes((s->ve.features >> VIRTIO_F_RING_PACKED) & 1,
					    (uint16_t)num, s->ve.features, &dl, &drl, &dvl);
		}
		touch_ring(a.desc_user_addr, dl);
		touch_ring(a.avail_user_addr, drl);
		touch_ring(a.used_user_addr, dvl);
	}
}

/*
 * pre_msg runs on rte_vhost's vhost-events thread and waits (bounded) for calls it makes to the
 * session's reactor, as a queue stop or a dirty log change does. The reactor is this thread:
 * pre_msg runs on a thread of its own while this one polls, as in the daemon.
 */
struct pre_msg_job {
	struct vhost_user_msg_ctx *ctx;
	enum rte_vhost_msg_result rc;
	atomic_bool done;
};

static void *
pre_msg_thread(void *arg)
{
	struct pre_msg_job *job = arg;

	/* No message: the reset between inputs, as a front end's RESET_OWNER does. */
	if (job->ctx != NULL) {
		job->rc = pre_msg(0, job->ctx);
	} else {
		ve_reset(g_fs_s);
	}
	atomic_store(&job->done, true);
	return NULL;
}

static enum rte_vhost_msg_result
run_pre_msg(struct vhost_user_msg_ctx *ctx)
{
	struct pre_msg_job job = { .ctx = ctx };
	pthread_t th;

	atomic_init(&job.done, false);
	if (pthread_create(&th, NULL, pre_msg_thread, &job) != 0) {
		abort();
	}
	while (!atomic_load(&job.done)) {
		vt_reactor_poll_once();
	}
	pthread_join(th, NULL);
	/* What the reactor was sent last (a call's answer, a deferred free) runs now. */
	for (int i = 0; i < 4; i++) {
		vt_reactor_poll_once();
	}
	return job.rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct vhost_user_msg_ctx ctx;
	enum rte_vhost_msg_result rc;

	run_pre_msg(NULL);
	vhost_mem_map_unref(g_map);
	g_map = NULL;
	for (int n = 0; n < MAX_MSGS && in.left > 0; n++) {
		memset(&ctx, 0, sizeof(ctx));
		ctx.msg.request = fuzz_u8(&in);
		ctx.msg.flags = fuzz_u8(&in);
		ctx.msg.size = fuzz_u16(&in) % (VHOST_USER_DPDK_PAYLOAD_SIZE + 1);
		ctx.fd_num = fuzz_u8(&in) % (VHOST_USER_MAX_MEM_REGIONS + 1);
		for (int i = 0; i < VHOST_USER_MAX_MEM_REGIONS; i++) {
			ctx.fds[i] = -1;
		}
		for (int i = 0; i < ctx.fd_num; i++) {
			ctx.fds[i] = fcntl(g_files[fuzz_u8(&in) % NFILES], F_DUPFD_CLOEXEC, 0);
			if (ctx.fds[i] < 0) {
				abort();
			}
		}
		fuzz_bytes(&in, ctx.msg.payload.raw, ctx.msg.size);
		rc = run_pre_msg(&ctx);
		if (rc == RTE_VHOST_MSG_RESULT_NOT_HANDLED) {
			use_accepted(g_fs_s, &ctx);
		}
		/* A GET_INFLIGHT_FD reply carries the session's memfd: it stays the session's. */
		if (rc == RTE_VHOST_MSG_RESULT_REPLY &&
		    ctx.msg.request == VHOST_USER_REQ_GET_INFLIGHT_FD) {
			ctx.fds[0] = -1;
		}
		/* rte_vhost closes or keeps them; here they are done with. */
		for (int i = 0; i < VHOST_USER_MAX_MEM_REGIONS; i++) {
			if (ctx.fds[i] >= 0) {
				close(ctx.fds[i]);
			}
		}
		if (rc == RTE_VHOST_MSG_RESULT_ERR) {
			break; /* the connection is closed */
		}
	}
	return 0;
}
