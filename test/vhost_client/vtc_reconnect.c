/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vtc reconnect: a back end's inflight record (INFLIGHT_SHMFD) across its crash, seen from the
 * front end, as QEMU uses it. It negotiates INFLIGHT_SHMFD (GET_INFLIGHT_FD then
 * SET_INFLIGHT_FD), completes --done writes, then submits --requests more writes (4 KiB each,
 * the test pattern) and waits until the record shows all of them in flight; it prints
 *
 *   INFLIGHT n=N
 *
 * and waits for the back end to die (the harness SIGKILLs it and starts it again with the same
 * configuration and socket). It reconnects, hands the record back (SET_INFLIGHT_FD with the fd
 * it kept), resumes the rings at the base QEMU would send, and checks that exactly the N
 * unfinished requests complete, each once and successfully, that nothing completed before is
 * completed again (split: the used index moves by N exactly), that the record is empty after,
 * that a new request works, and that all --done + N blocks hold their pattern:
 *
 *   RECONNECT result=ok|fail completed=N resubmitted_ms=T verified=M
 *
 * --bad-region truncated|version|queue-size hands back a spoiled region instead and expects
 * the back end to refuse it by closing the connection: "BADREGION kind=K refused=yes|no".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vtc_cli.h"
#include "vtc_internal.h"

#define BLOCK 4096u
#define MAX_REQS 64u

struct rcx {
	struct vtc_dev *dev;
	struct vtc_vq *vq;
	bool scsi;
	uint32_t ndone;
	uint32_t nreq;
	uint64_t seed;
	struct vtc_blk_req blk[MAX_REQS + 1];
	struct vtc_scsi_req scsi_req[MAX_REQS + 1];
	bool completed[MAX_REQS + 1];
	uint32_t ua_retries; /* scsi: commands answered with a unit attention and sent again */
};

/* ---- requests ------------------------------------------------------------------------------ */

static int
req_init(struct rcx *x, uint32_t i)
{
	struct vtc_mem *mem = vtc_dev_mem(x->dev);
	int rc;

	if (x->scsi) {
		rc = vtc_scsi_req_init(mem, &x->scsi_req[i], BLOCK);
		x->scsi_req[i].ctx = (void *)(uintptr_t)i;
		return rc;
	}
	rc = vtc_blk_req_init(mem, &x->blk[i], BLOCK);
	x->blk[i].ctx = (void *)(uintptr_t)i;
	return rc;
}

static void
scsi_rw_cdb(uint8_t *cdb, uint8_t op, uint32_t block)
{
	uint32_t lba = block * (BLOCK / 512);

	memset(cdb, 0, VIRTIO_SCSI_CDB_SIZE);
	cdb[0] = op;
	cdb[2] = (uint8_t)(lba >> 24);
	cdb[3] = (uint8_t)(lba >> 16);
	cdb[4] = (uint8_t)(lba >> 8);
	cdb[5] = (uint8_t)lba;
	cdb[8] = BLOCK / 512;
}

/* Writes block i's pattern through request i (not kicked). */
static int
req_submit_write(struct rcx *x, uint32_t i)
{
	if (x->scsi) {
		struct vtc_scsi_req *r = &x->scsi_req[i];
		struct vtc_scsi_cmd cmd = { .tag = i + 1, .out_len = BLOCK };

		vtc_scsi_lun(cmd.lun, 0, 0);
		scsi_rw_cdb(cmd.cdb, 0x2a, i); /* WRITE(10) */
		cli_pattern_fill(r->data, (uint64_t)i * BLOCK, BLOCK, x->seed);
		return vtc_scsi_submit(x->vq, r, &cmd, 0);
	}
	cli_pattern_fill(x->blk[i].data, (uint64_t)i * BLOCK, BLOCK, x->seed);
	return vtc_blk_submit(x->vq, &x->blk[i], VIRTIO_BLK_T_OUT, (uint64_t)i * (BLOCK / 512),
			      BLOCK, 0);
}

/* The request a completion names, and whether it succeeded. */
static int
cpl_request(struct rcx *x, const struct vtc_cpl *cpl, bool *ok, bool *ua)
{
	uint32_t i;

	*ua = false;
	if (cpl->unknown || cpl->cookie == NULL) {
		return -1;
	}
	if (x->scsi) {
		struct vtc_scsi_req *r = cpl->cookie;
		struct vtc_scsi_result res;

		i = (uint32_t)(uintptr_t)r->ctx;
		vtc_scsi_result_parse(r, cpl->len, &res);
		*ok = res.response == VIRTIO_SCSI_S_OK && res.status == 0;
		/* A new target reports its power on: the guest's SCSI layer sends it again. */
		*ua = res.response == VIRTIO_SCSI_S_OK && res.status == 2 && res.sense_key == 6;
	} else {
		struct vtc_blk_req *r = cpl->cookie;

		i = (uint32_t)(uintptr_t)r->ctx;
		*ok = *r->status == VIRTIO_BLK_S_OK;
	}
	return i <= MAX_REQS ? (int)i : -1;
}

/* Reaps until want requests of [first, first + n) completed, each once and successfully. */
static int
reap_range(struct rcx *x, uint32_t first, uint32_t n, uint32_t want)
{
	uint64_t deadline = vtc_now_ns() + (uint64_t)x->dev->opts.io_timeout_ms * 1000000ull;
	struct vtc_cpl cpls[16];
	uint32_t got = 0;
	bool ok, ua;
	int rc, i;

	while (got < want) {
		rc = vtc_vq_wait_until(x->vq, deadline);
		if (rc != 0) {
			VT_ERRLOG("%u of %u requests completed: %s", got, want, strerror(-rc));
			return rc;
		}
		rc = vtc_vq_reap(x->vq, cpls, 16);
		if (rc < 0) {
			return rc;
		}
		for (int k = 0; k < rc; k++) {
			i = cpl_request(x, &cpls[k], &ok, &ua);
			if (i < 0 || (uint32_t)i < first || (uint32_t)i >= first + n ||
			    x->completed[i]) {
				VT_ERRLOG(
					"a completion for id %u that is not in flight (request %d "
					"completed twice or unknown)",
					cpls[k].id, i);
				return -EPROTO;
			}
			if (ua) {
				x->ua_retries++;
				rc = req_submit_write(x, (uint32_t)i);
				rc = rc < 0 ? rc : vtc_vq_kick(x->vq);
				if (rc < 0) {
					return rc;
				}
				continue;
			}
			if (!ok) {
				VT_ERRLOG("request %d completed with an error", i);
				return -EIO;
			}
			x->completed[i] = true;
			got++;
		}
	}
	return 0;
}

/* Requests marked in flight in the record's area for the queue (split heads, packed heads). */
static uint32_t
record_inflight(struct rcx *x)
{
	struct vhost_user_inflight g;
	uint8_t *base = vtc_dev_inflight_area(x->dev, &g), *area;
	bool packed = vtc_vq_is_packed(x->vq);
	/* The spec's layout: 16-byte header and entries (split), 32 and 32 (packed). */
	uint64_t hdr = packed ? 32 : 16, entry = packed ? 32 : 16;
	uint64_t per;
	uint32_t n = 0;

	if (base == NULL || g.num_queues == 0) {
		return 0;
	}
	/*
	 * The areas split the region evenly; each may be larger than its layout needs (vtarget's
	 * have room for either layout: the layout is not known when the region is made).
	 */
	per = g.mmap_size / g.num_queues;
	if (hdr + entry * g.queue_size > per) {
		return 0;
	}
	area = base + per * vtc_vq_index(x->vq);
	for (uint32_t j = 0; j < g.queue_size; j++) {
		n += __atomic_load_n(area + hdr + entry * j, __ATOMIC_RELAXED) != 0;
	}
	return n;
}

static int
wait_record(struct rcx *x, uint32_t want)
{
	uint64_t deadline = vtc_now_ns() + (uint64_t)x->dev->opts.io_timeout_ms * 1000000ull;

	while (record_inflight(x) != want) {
		if (vtc_now_ns() >= deadline) {
			VT_ERRLOG("the inflight record shows %u requests, %u expected",
				  record_inflight(x), want);
			return -ETIMEDOUT;
		}
		usleep(1000);
	}
	return 0;
}

static int
verify_blocks(struct rcx *x, uint32_t n)
{
	uint8_t want[BLOCK];
	uint16_t q = vtc_vq_index(x->vq);
	int rc;

	for (uint32_t i = 0; i < n; i++) {
		uint8_t *got;

		if (x->scsi) {
			struct vtc_scsi_req *r = &x->scsi_req[MAX_REQS];
			struct vtc_scsi_cmd cmd = { .tag = 1000 + i, .in_len = BLOCK };
			struct vtc_scsi_result res;

			vtc_scsi_lun(cmd.lun, 0, 0);
			scsi_rw_cdb(cmd.cdb, 0x28, i); /* READ(10) */
			rc = vtc_scsi_cmd_sync(x->dev, q, r, &cmd, &res);
			rc = rc == 0 && (res.response != 0 || res.status != 0) ? -EIO : rc;
			got = r->data;
		} else {
			got = x->blk[MAX_REQS].data;
			rc = vtc_blk_read(x->dev, q, (uint64_t)i * (BLOCK / 512), got, BLOCK, 0);
			rc = rc > 0 ? -EIO : rc;
		}
		if (rc != 0) {
			VT_ERRLOG("cannot read block %u back: %s", i, strerror(-rc));
			return rc;
		}
		cli_pattern_fill(want, (uint64_t)i * BLOCK, BLOCK, x->seed);
		if (memcmp(want, got, BLOCK) != 0) {
			VT_ERRLOG("block %u does not hold its pattern: a write was lost", i);
			return -EIO;
		}
	}
	return 0;
}

/* ---- the scenario -------------------------------------------------------------------------- */

static int
submit_range(struct rcx *x, uint32_t first, uint32_t n)
{
	int rc;

	for (uint32_t i = first; i < first + n; i++) {
		rc = req_submit_write(x, i);
		if (rc < 0) {
			VT_ERRLOG("cannot submit request %u: %s", i, strerror(-rc));
			return rc;
		}
	}
	return vtc_vq_kick(x->vq);
}

static uint16_t
used_idx(struct rcx *x)
{
	void *device = NULL;

	vtc_vq_rings(x->vq, NULL, NULL, &device);
	return vtc_load16_acquire(&((struct vring_used *)device)->idx);
}

static int
reconnect_run(struct rcx *x, uint32_t wait_ms)
{
	uint32_t total = x->ndone + x->nreq;
	uint16_t used_before;
	uint64_t t0;
	int rc;

	for (uint32_t i = 0; i <= MAX_REQS; i++) {
		rc = req_init(x, i);
		if (rc != 0) {
			return rc;
		}
	}
	rc = submit_range(x, 0, x->ndone);
	if (rc == 0) {
		rc = reap_range(x, 0, x->ndone, x->ndone);
	}
	if (rc == 0) {
		rc = submit_range(x, x->ndone, x->nreq);
	}
	if (rc == 0) {
		rc = wait_record(x, x->nreq);
	}
	if (rc != 0) {
		return rc;
	}
	used_before = vtc_vq_is_packed(x->vq) ? 0 : used_idx(x);
	printf("INFLIGHT n=%u\n", x->nreq);
	fflush(stdout);
	if (!vtc_dev_peer_closed(x->dev, wait_ms)) {
		VT_ERRLOG("the back end is still there after %u ms", wait_ms);
		return -ETIMEDOUT;
	}
	t0 = vtc_now_ns();
	x->ua_retries = 0;
	rc = vtc_dev_reconnect(x->dev);
	if (rc == 0) {
		rc = reap_range(x, x->ndone, x->nreq, x->nreq);
	}
	if (rc != 0) {
		return rc;
	}
	printf("RESUBMITTED n=%u ua_retries=%u ms=%" PRIu64 "\n", x->nreq, x->ua_retries,
	       (vtc_now_ns() - t0) / 1000000);
	/* Each request once, plus the unit attentions the front end answered by a retry. */
	if (!vtc_vq_is_packed(x->vq) &&
	    (uint16_t)(used_idx(x) - used_before) != x->nreq + x->ua_retries) {
		VT_ERRLOG("the used index moved by %u after the reconnection, %u expected",
			  (uint16_t)(used_idx(x) - used_before), x->nreq + x->ua_retries);
		return -EPROTO;
	}
	rc = wait_record(x, 0);
	if (rc == 0) {
		/* A new request after the resubmitted ones: the queue goes on. */
		rc = submit_range(x, total, 1);
	}
	if (rc == 0) {
		rc = reap_range(x, total, 1, 1);
	}
	if (rc == 0) {
		rc = verify_blocks(x, total + 1);
	}
	return rc;
}

/* Hands back a spoiled region; true when the back end closed the connection for it. */
static int
bad_region_run(struct rcx *x, const char *kind, bool *refused)
{
	struct vtc_dev *dev = x->dev;
	struct vhost_user_inflight m;
	uint8_t *area = vtc_dev_inflight_area(dev, &m);
	int fd = dev->inflight_fd, rc;

	if (area == NULL) {
		VT_ERRLOG("no inflight region to spoil");
		return -EINVAL;
	}
	if (strcmp(kind, "truncated") == 0) {
		fd = memfd_create("vtc-truncated", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, (off_t)(m.mmap_size / 2)) != 0) {
			return -errno;
		}
	} else if (strcmp(kind, "version") == 0) {
		uint16_t v = 99;

		memcpy(area + 8, &v, sizeof(v)); /* version sits after the 64-bit features */
	} else if (strcmp(kind, "queue-size") == 0) {
		m.queue_size = (uint16_t)(m.queue_size / 2);
	} else {
		VT_ERRLOG("unknown --bad-region '%s' (truncated, version, queue-size)", kind);
		return -EINVAL;
	}
	rc = vtc_request(dev, VHOST_USER_SET_INFLIGHT_FD, &m, sizeof(m), &fd, 1, NULL);
	*refused = rc != 0 || vtc_dev_peer_closed(dev, dev->opts.reply_timeout_ms);
	if (fd != dev->inflight_fd) {
		close(fd);
	}
	return 0;
}

/* ---- the command --------------------------------------------------------------------------- */

int
cli_cmd_reconnect(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "scsi", no_argument, NULL, CLI_OPT_FIRST_LOCAL },
		{ "requests", required_argument, NULL, CLI_OPT_FIRST_LOCAL + 1 },
		{ "done", required_argument, NULL, CLI_OPT_FIRST_LOCAL + 2 },
		{ "wait", required_argument, NULL, CLI_OPT_FIRST_LOCAL + 3 },
		{ "bad-region", required_argument, NULL, CLI_OPT_FIRST_LOCAL + 4 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rcx *x = calloc(1, sizeof(*x));
	const char *bad = NULL;
	struct cli_common c;
	uint32_t wait_ms = 60000;
	bool refused = false;
	int opt, rc;

	if (x == NULL) {
		return 1;
	}
	x->nreq = 8;
	x->ndone = 4;
	x->seed = 0x1f1f;
	for (int i = 1; i < argc; i++) {
		x->scsi |= strcmp(argv[i], "--scsi") == 0;
	}
	cli_common_init(&c);
	if (x->scsi) {
		vtc_scsi_opts_init(&c.opts);
		c.opts.interrupt = false;
	}
	c.opts.inflight = true;
	c.opts.protocol_features |= 1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD;
	c.opts.queue_size = 64;
	c.opts.mem_size = 16ull << 20;
	rc = 2;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			printf("usage: vtc reconnect SOCKET [--scsi] [--requests N] [--done N] "
			       "[--wait MS] [--bad-region truncated|version|queue-size] "
			       "[options]\noptions:\n" CLI_COMMON_HELP);
			free(x);
			return 0;
		}
		if (opt == CLI_OPT_FIRST_LOCAL) {
			continue;
		}
		if ((opt == CLI_OPT_FIRST_LOCAL + 1 &&
		     cli_parse_u32("requests", optarg, &x->nreq) != 0) ||
		    (opt == CLI_OPT_FIRST_LOCAL + 2 &&
		     cli_parse_u32("done", optarg, &x->ndone) != 0) ||
		    (opt == CLI_OPT_FIRST_LOCAL + 3 &&
		     cli_parse_u32("wait", optarg, &wait_ms) != 0)) {
			goto out;
		}
		if (opt == CLI_OPT_FIRST_LOCAL + 4) {
			bad = optarg;
			continue;
		}
		if (opt >= CLI_OPT_FIRST_LOCAL + 1 && opt <= CLI_OPT_FIRST_LOCAL + 3) {
			continue;
		}
		if (cli_common_opt(&c, opt, optarg) != 0) {
			cli_usage(stderr);
			goto out;
		}
	}
	if (optind + 1 != argc || x->nreq == 0 || x->ndone + x->nreq + 1 > MAX_REQS ||
	    x->ndone + x->nreq >= c.opts.queue_size) {
		fprintf(stderr,
			"vtc reconnect: SOCKET, and 1 .. %u requests in all, fewer than "
			"the queue size\n",
			MAX_REQS - 1);
		goto out;
	}
	rc = 1;
	x->dev = cli_open(&c, argv[optind], true);
	if (x->dev == NULL) {
		goto out;
	}
	if (!vtc_has_protocol(x->dev, VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD)) {
		fprintf(stderr, "vtc reconnect: the back end does not offer INFLIGHT_SHMFD\n");
		goto out;
	}
	x->vq = vtc_dev_vq(x->dev, x->scsi ? VTC_SCSI_FIRST_REQ_QUEUE : 0);
	if (bad != NULL) {
		rc = bad_region_run(x, bad, &refused);
		printf("BADREGION kind=%s refused=%s\n", bad, refused ? "yes" : "no");
		rc = rc == 0 && refused ? 0 : 1;
		goto out;
	}
	rc = reconnect_run(x, wait_ms);
	printf("RECONNECT result=%s completed=%u verified=%u error=%s\n", rc == 0 ? "ok" : "fail",
	       rc == 0 ? x->nreq : 0, rc == 0 ? x->ndone + x->nreq + 1 : 0,
	       rc == 0 ? "none" : strerror(-rc));
	rc = rc == 0 ? 0 : 1;
out:
	if (x->dev != NULL) {
		vtc_dev_close(x->dev);
	}
	free(x);
	return rc;
}
