/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vtc dirtylog: checks a back end's dirty logging (live migration) from the front end. It
 * negotiates LOG_SHMFD, hands over a memfd log (SET_LOG_BASE), turns LOG_ALL on as QEMU does,
 * then runs virtio-blk or virtio-scsi requests one at a time and, for each, compares the pages
 * of the device-writable buffers that changed with the pages the back end marked:
 *
 *   missed  a page that changed and is not marked (the migration would lose it): must be 0;
 *   stray   a marked page the request could not write (not one of its writable buffers, not the
 *           used ring / written-back descriptors): must be 0;
 *   ring    the page of the ring entry that published the request is marked.
 *
 * With --scsi --events --step, an event buffer is posted and the test makes an event fill it
 * ("STEP events-posted"): its pages and the event queue's used ring must be marked.
 * Then logging off (nothing marked), and a handover: GET_VRING_BASE, then the ring resumed at
 * that base (non-zero; packed: a wrap counter flipped) with logging on again.
 * Output: one "OP ..." line per request, "OFF ...", "HANDOVER ...", "DIRTYLOG result=ok|fail".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vtc_cli.h"
#include "vtc_internal.h"

#define PAGE ((uint64_t)VTC_LOG_PAGE)
#define MAX_W 8 /* writable page ranges per request */

struct dl {
	struct vtc_dev *dev;
	struct vtc_vq *vq;
	struct vtc_log log;
	bool scsi;
	bool step;
	bool events;              /* scsi: an event buffer filled while logging */
	bool log_all_first;       /* LOG_ALL with the start, the log only later (QEMU's order
					 * when a device starts during a migration) */
	uint64_t hdr, resp, data; /* gpas: a header page, 2 response pages, 4 data pages */
	uint32_t failures;
	uint8_t *snap; /* copies of the writable pages before a request */
};

/* A device-writable range of a request. */
struct wrange {
	uint64_t gpa;
	uint64_t len;
};

static uint8_t *
host(struct dl *d, uint64_t gpa, uint64_t len)
{
	return vtc_mem_gpa_to_host(vtc_dev_mem(d->dev), gpa, len);
}

static bool
in_ranges(const struct wrange *w, int n, uint64_t page)
{
	for (int i = 0; i < n; i++) {
		if (page >= w[i].gpa / PAGE && page <= (w[i].gpa + w[i].len - 1) / PAGE) {
			return true;
		}
	}
	return false;
}

/* The ring area the device writes: split, the used ring; packed, descriptors and event area. */
static bool
in_ring(const struct vtc_vq *vq, uint64_t page)
{
	uint64_t dev_len = vq->packed ? 4 : 6 + 8ull * vq->size;

	if (page >= vq->device_gpa / PAGE && page <= (vq->device_gpa + dev_len - 1) / PAGE) {
		return true;
	}
	return vq->packed && page >= vq->desc_gpa / PAGE &&
	       page <= (vq->desc_gpa + 16ull * vq->size - 1) / PAGE;
}

/* The page of the ring entry that will publish the next completion. */
static uint64_t
ring_page(const struct vtc_vq *vq)
{
	if (vq->packed) {
		return (vq->desc_gpa + 16ull * vq->next_used) / PAGE;
	}
	return (vq->device_gpa + 2) / PAGE; /* used->idx */
}

/*
 * Runs one chain (bufs) and checks the log against the writable pages that changed. Returns the
 * used length, or -1 when the request failed.
 */
static int64_t
run_checked(struct dl *d, const char *name, const struct vtc_buf *bufs, uint16_t n, bool off)
{
	struct wrange w[MAX_W];
	uint64_t pages[MAX_W * 4], rp = ring_page(d->vq);
	uint32_t npages = 0, changed = 0, marked = 0, missed = 0, stray = 0, len = 0;
	int nw = 0, rc;
	bool ring_ok;

	for (uint16_t i = 0; i < n; i++) {
		if (bufs[i].write && nw < MAX_W) {
			w[nw++] = (struct wrange){ bufs[i].gpa, bufs[i].len };
		}
	}
	for (int i = 0; i < nw; i++) {
		for (uint64_t p = w[i].gpa / PAGE; p <= (w[i].gpa + w[i].len - 1) / PAGE; p++) {
			if (npages < sizeof(pages) / sizeof(pages[0])) {
				memcpy(d->snap + npages * PAGE, host(d, p * PAGE, PAGE), PAGE);
				pages[npages++] = p;
			}
		}
	}
	vtc_log_clear(&d->log);
	rc = vtc_vq_submit_sync(d->vq, bufs, n, 0, &len);
	if (rc != 0) {
		printf("OP name=%s error=%s\n", name, strerror(-rc));
		d->failures++;
		return -1;
	}
	for (uint32_t i = 0; i < npages; i++) {
		bool ch = memcmp(d->snap + i * PAGE, host(d, pages[i] * PAGE, PAGE), PAGE) != 0;

		changed += ch;
		if (ch && !vtc_log_test(&d->log, pages[i] * PAGE)) {
			missed++;
			if (!off) {
				printf("MISSED op=%s page=0x%" PRIx64 "\n", name, pages[i] * PAGE);
			}
		}
	}
	for (uint64_t p = 0; p < d->log.size * 8; p++) {
		if (!vtc_log_test(&d->log, p * PAGE)) {
			continue;
		}
		marked++;
		if (!in_ranges(w, nw, p) && !in_ring(d->vq, p)) {
			stray++;
			printf("STRAY op=%s page=0x%" PRIx64 "\n", name, p * PAGE);
		}
	}
	ring_ok = vtc_log_test(&d->log, rp * PAGE);
	if (off) {
		/* changed > 0 here: pages the check above would have reported as missed. */
		printf("OFF op=%s marked=%u changed=%u\n", name, marked, changed);
		d->failures += marked != 0;
	} else {
		printf("OP name=%s ring=%s changed=%u marked=%u missed=%u stray=%u ring_logged=%d "
		       "used=%u\n",
		       name, d->vq->packed ? "packed" : "split", changed, marked, missed, stray,
		       ring_ok, len);
		d->failures += missed + stray + !ring_ok;
	}
	return len;
}

/* ---- virtio-blk -------------------------------------------------------------------------- */

static int64_t
blk_op(struct dl *d, const char *name, uint32_t type, uint64_t data, uint32_t len, bool off)
{
	struct virtio_blk_outhdr *h = (struct virtio_blk_outhdr *)host(d, d->hdr, sizeof(*h));
	uint64_t st = d->resp + PAGE - 1; /* the last byte of a page */
	struct vtc_buf b[3] = {
		{ d->hdr, sizeof(*h), false },
		{ data, len, type != VIRTIO_BLK_T_OUT },
		{ st, 1, true },
	};

	h->type = htole32(type);
	h->ioprio = 0;
	h->sector = 0;
	*host(d, st, 1) = 0xee;
	if (run_checked(d, name, b, 3, off) < 0) {
		return -1;
	}
	if (*host(d, st, 1) != VIRTIO_BLK_S_OK) {
		printf("OP name=%s status=%u\n", name, *host(d, st, 1));
		d->failures++;
	}
	return 0;
}

static void
blk_round(struct dl *d, bool off)
{
	cli_pattern_fill(host(d, d->data + PAGE - 512, 1024), 0, 1024, 7);
	blk_op(d, off ? "write-off" : "write", VIRTIO_BLK_T_OUT, d->data + PAGE - 512, 1024, off);
	memset(host(d, d->data, 4 * PAGE), 0xa5, 4 * PAGE);
	/* Across the boundary of data pages 1 and 2. */
	blk_op(d, off ? "read-off" : "read", VIRTIO_BLK_T_IN, d->data + 2 * PAGE - 512, 1024, off);
	if (!off) {
		blk_op(d, "get-id", VIRTIO_BLK_T_GET_ID, d->data + 3 * PAGE - 8, 64, false);
	}
}

/* ---- virtio-scsi ------------------------------------------------------------------------- */

static void
scsi_cdb_rw(uint8_t *cdb, uint8_t op, uint32_t lba, uint16_t blocks)
{
	cdb[0] = op;
	cdb[2] = (uint8_t)(lba >> 24);
	cdb[3] = (uint8_t)(lba >> 16);
	cdb[4] = (uint8_t)(lba >> 8);
	cdb[5] = (uint8_t)lba;
	cdb[7] = (uint8_t)(blocks >> 8);
	cdb[8] = (uint8_t)blocks;
}

static int64_t
scsi_op(struct dl *d, const char *name, const uint8_t *cdb, bool to_dev, uint64_t data,
	uint32_t len, bool off)
{
	struct virtio_scsi_cmd_req *r = (struct virtio_scsi_cmd_req *)host(d, d->hdr, sizeof(*r));
	uint64_t resp = d->resp + PAGE - 50; /* the response crosses into the next page */
	struct vtc_buf b[3] = {
		{ d->hdr, sizeof(*r), false },
		{ resp, sizeof(struct virtio_scsi_cmd_resp), true },
		{ data, len, !to_dev },
	};
	struct virtio_scsi_cmd_resp *rp = (struct virtio_scsi_cmd_resp *)host(d, resp, sizeof(*rp));

	memset(r, 0, sizeof(*r));
	vtc_scsi_lun(r->lun, 0, 0);
	r->tag = htole64(0x77);
	memcpy(r->cdb, cdb, 16);
	memset(rp, 0xee, sizeof(*rp));
	if (to_dev) {
		/* Data-out goes before the response in the chain. */
		struct vtc_buf o[3] = { b[0], b[2], b[1] };

		return run_checked(d, name, o, 3, off);
	}
	return run_checked(d, name, b, 3, off);
}

static void
scsi_round(struct dl *d, bool off)
{
	uint8_t cdb[16] = { 0 };

	cli_pattern_fill(host(d, d->data + PAGE - 512, 1024), 0, 1024, 7);
	scsi_cdb_rw(cdb, 0x2a, 0, 2); /* WRITE(10) */
	scsi_op(d, off ? "write-off" : "write", cdb, true, d->data + PAGE - 512, 1024, off);
	memset(host(d, d->data, 4 * PAGE), 0xa5, 4 * PAGE);
	scsi_cdb_rw(cdb, 0x28, 0, 2); /* READ(10) */
	scsi_op(d, off ? "read-off" : "read", cdb, false, d->data + 2 * PAGE - 512, 1024, off);
	if (off) {
		return;
	}
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x12; /* INQUIRY, 36 bytes */
	cdb[4] = 36;
	scsi_op(d, "inquiry", cdb, false, d->data + 3 * PAGE - 10, 36, false);
	/* Beyond the capacity: CHECK CONDITION, the response carries sense. */
	scsi_cdb_rw(cdb, 0x28, 0xfffffff0u, 1);
	scsi_op(d, "read-beyond", cdb, false, d->data, 512, false);
}

/* ---- the command ------------------------------------------------------------------------- */

static void step(struct dl *d, const char *what);

/*
 * virtio-scsi's event queue: a 16-byte buffer across a page boundary, posted while logging;
 * the test adds a target meanwhile (--step), the event that fills it must mark both pages and
 * the event queue's used ring.
 */
static void
scsi_event_logged(struct dl *d)
{
	struct vtc_vq *evq = vtc_dev_vq(d->dev, 1);
	uint64_t ev = d->data + 4 * PAGE - 8; /* the last data page, into the spare one */
	struct vtc_buf b = { ev, sizeof(struct virtio_scsi_event), true };
	uint64_t rp = ring_page(evq);
	struct vtc_cpl cpl;
	int rc;

	memset(host(d, ev, b.len), 0xee, b.len);
	rc = vtc_vq_submit(evq, &b, 1, 0, d);
	if (rc >= 0) {
		rc = vtc_vq_kick_force(evq);
	}
	vtc_log_clear(&d->log);
	step(d, "events-posted");
	if (rc == 0) {
		rc = vtc_vq_wait(evq, d->dev->opts.io_timeout_ms);
	}
	if (rc == 0 && vtc_vq_reap(evq, &cpl, 1) != 1) {
		rc = -EPROTO;
	}
	printf("EVENT rc=%d event=0x%x marked=%d,%d ring_logged=%d\n", rc,
	       le32toh(((struct virtio_scsi_event *)host(d, ev, b.len))->event),
	       vtc_log_test(&d->log, ev), vtc_log_test(&d->log, ev + b.len - 1),
	       vtc_log_test(&d->log, rp * PAGE));
	d->failures += rc != 0 || !vtc_log_test(&d->log, ev) ||
		       !vtc_log_test(&d->log, ev + b.len - 1) || !vtc_log_test(&d->log, rp * PAGE);
}

static void
step(struct dl *d, const char *what)
{
	char line[64];

	if (!d->step) {
		return;
	}
	printf("STEP %s\n", what);
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL) {
		d->step = false;
	}
}

static void
round_(struct dl *d, bool off)
{
	if (d->scsi) {
		scsi_round(d, off);
	} else {
		blk_round(d, off);
	}
}

static int
handover(struct dl *d)
{
	uint32_t base = 0;
	int rc;

	/* The source's half: stop the ring (answered once drained), then the destination's. */
	rc = vtc_vq_enable(d->vq, false);
	if (rc == 0) {
		rc = vtc_vq_get_base(d->vq, &base);
	}
	if (rc == 0) {
		rc = vtc_vq_resume(d->vq, base);
	}
	printf("HANDOVER base=0x%x rc=%d\n", base, rc);
	if (rc != 0) {
		d->failures++;
		return rc;
	}
	rc = vtc_log_enable(d->dev, true);
	if (rc == 0) {
		round_(d, false);
	}
	return rc;
}

/*
 * LOG_ALL came with the start and no log yet: a read must wait (the back end cannot log it),
 * and be served, with its pages marked, once the log arrives.
 */
static int
log_after_start(struct dl *d, uint64_t need, uint64_t log_offset)
{
	struct virtio_blk_outhdr *h = (struct virtio_blk_outhdr *)host(d, d->hdr, sizeof(*h));
	struct virtio_scsi_cmd_req *r = (struct virtio_scsi_cmd_req *)host(d, d->hdr, sizeof(*r));
	uint64_t data = d->data + PAGE - 512, st = d->resp + PAGE - 1;
	struct vtc_buf b[3] = { { d->hdr, 0, false }, { data, 1024, true }, { st, 1, true } };
	struct vtc_cpl cpl;
	bool early, marked;
	int rc;

	memset(host(d, d->data, 2 * PAGE), 0xa5, 2 * PAGE);
	if (d->scsi) {
		memset(r, 0, sizeof(*r));
		vtc_scsi_lun(r->lun, 0, 0);
		scsi_cdb_rw(r->cdb, 0x28, 0, 2);
		b[0].len = sizeof(*r);
		/* Response first, then data-in. */
		b[1] = (struct vtc_buf){ d->resp + PAGE - 50, sizeof(struct virtio_scsi_cmd_resp),
					 true };
		b[2] = (struct vtc_buf){ data, 1024, true };
	} else {
		h->type = htole32(VIRTIO_BLK_T_IN);
		h->ioprio = 0;
		h->sector = 0;
		b[0].len = sizeof(*h);
	}
	rc = vtc_vq_submit(d->vq, b, 3, 0, d);
	if (rc < 0) {
		return rc;
	}
	vtc_vq_kick_force(d->vq);
	early = vtc_vq_wait(d->vq, 300) == 0;
	rc = vtc_log_set_base(d->dev, &d->log, need, log_offset);
	if (rc != 0) {
		return rc;
	}
	rc = vtc_vq_wait(d->vq, d->dev->opts.io_timeout_ms);
	if (rc == 0 && vtc_vq_reap(d->vq, &cpl, 1) != 1) {
		rc = -EPROTO;
	}
	marked = rc == 0 && vtc_log_test(&d->log, data) && vtc_log_test(&d->log, data + 1023);
	printf("WAIT served_before_log=%d served_after=%d data_marked=%d\n", early, rc == 0,
	       marked);
	d->failures += early || rc != 0 || !marked;
	return 0;
}

static int
dirtylog_run(struct dl *d, uint64_t log_offset)
{
	uint64_t need = vtc_log_size_for(d->dev);
	struct vtc_mem *mem = vtc_dev_mem(d->dev);
	int rc;

	if (!vtc_has_protocol(d->dev, VHOST_USER_PROTOCOL_F_LOG_SHMFD) ||
	    !(vtc_dev_offered_features(d->dev) & (1ull << VHOST_F_LOG_ALL))) {
		printf("DIRTYLOG result=fail error=not-offered\n");
		return -ENOTSUP;
	}
	if (vtc_mem_alloc(mem, PAGE, PAGE, &d->hdr) == NULL ||
	    vtc_mem_alloc(mem, 2 * PAGE, PAGE, &d->resp) == NULL ||
	    vtc_mem_alloc(mem, 5 * PAGE, PAGE, &d->data) == NULL) {
		return -ENOMEM;
	}
	d->snap = malloc(MAX_W * 4 * PAGE);
	if (d->snap == NULL) {
		return -ENOMEM;
	}
	if (d->log_all_first) {
		rc = log_after_start(d, need, log_offset);
	} else {
		rc = vtc_log_set_base(d->dev, &d->log, need, log_offset);
	}
	if (rc == 0) {
		rc = vtc_log_enable(d->dev, true);
	}
	if (rc != 0) {
		return rc;
	}
	printf("LOG size=%" PRIu64 " offset=%" PRIu64 "\n", need, log_offset);
	step(d, "logging-on");
	/* Two rounds: with a small ring the second one crosses the ring's end. */
	round_(d, false);
	round_(d, false);
	if (d->scsi && d->events) {
		scsi_event_logged(d);
	}
	rc = vtc_log_enable(d->dev, false);
	if (rc != 0) {
		return rc;
	}
	step(d, "logging-off");
	round_(d, true);
	return handover(d);
}

int
cli_cmd_dirtylog(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "scsi", no_argument, NULL, CLI_OPT_FIRST_LOCAL },
		{ "log-offset", required_argument, NULL, CLI_OPT_FIRST_LOCAL + 1 },
		{ "step", no_argument, NULL, CLI_OPT_FIRST_LOCAL + 2 },
		{ "log-all-first", no_argument, NULL, CLI_OPT_FIRST_LOCAL + 3 },
		{ "events", no_argument, NULL, CLI_OPT_FIRST_LOCAL + 4 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct dl d = { .log = { .fd = -1 } };
	struct cli_common c;
	uint64_t log_offset = 0;
	int opt, rc;

	for (int i = 1; i < argc; i++) {
		d.scsi |= strcmp(argv[i], "--scsi") == 0;
	}
	cli_common_init(&c);
	if (d.scsi) {
		vtc_scsi_opts_init(&c.opts);
		c.opts.interrupt = false;
	}
	c.opts.protocol_features |= 1ull << VHOST_USER_PROTOCOL_F_LOG_SHMFD;
	c.opts.queue_size = 16; /* small: the rounds wrap the ring */
	c.opts.mem_size = 16ull << 20;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			printf("usage: vtc dirtylog SOCKET [--scsi] [--log-offset BYTES] [--step] "
			       "[--log-all-first] [--events] [options]\noptions:\n" CLI_COMMON_HELP);
			return 0;
		}
		if (opt == CLI_OPT_FIRST_LOCAL) {
			continue;
		}
		if (opt == CLI_OPT_FIRST_LOCAL + 1) {
			if (cli_parse_u64("log-offset", optarg, &log_offset) != 0) {
				return 2;
			}
			continue;
		}
		if (opt == CLI_OPT_FIRST_LOCAL + 2) {
			d.step = true;
			continue;
		}
		if (opt == CLI_OPT_FIRST_LOCAL + 4) {
			d.events = true;
			continue;
		}
		if (opt == CLI_OPT_FIRST_LOCAL + 3) {
			d.log_all_first = true;
			c.opts.features |= 1ull << VHOST_F_LOG_ALL;
			continue;
		}
		rc = cli_common_opt(&c, opt, optarg);
		if (rc != 0) {
			if (rc > 0) {
				cli_usage(stderr);
			}
			return 2;
		}
	}
	if (optind + 1 != argc) {
		cli_usage(stderr);
		return 2;
	}
	d.dev = cli_open(&c, argv[optind], true);
	if (d.dev == NULL) {
		return 1;
	}
	d.vq = vtc_dev_vq(d.dev, d.scsi ? VTC_SCSI_FIRST_REQ_QUEUE : 0);
	rc = dirtylog_run(&d, log_offset);
	if (rc != 0 && rc != -ENOTSUP) {
		printf("DIRTYLOG result=fail error=%s\n", strerror(-rc));
	} else if (rc == 0) {
		printf("DIRTYLOG result=%s failures=%u\n", d.failures == 0 ? "ok" : "fail",
		       d.failures);
	}
	vtc_log_free(&d.log);
	free(d.snap);
	vtc_dev_close(d.dev);
	return rc == 0 && d.failures == 0 ? 0 : 1;
}
