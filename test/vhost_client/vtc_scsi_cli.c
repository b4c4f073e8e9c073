/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vtc scsi: a virtio-scsi front end on the command line. One command from the arguments, or
 * (no command, or --stdin) one command per line of stdin on one connected session, so a test
 * can interleave RPCs with front-end actions. Every command prints key=value lines and ends
 * with one "DONE rc=0|1 ..." line:
 *   RESULT cmd=.. target=T lun=L queue=Q response=0x.. status=0x.. key=0x. asc=0x.. ascq=0x..
 *          resid=N used=N sense_len=N [command fields]
 *   UA target=T key=0x6 asc=0x.. ascq=0x..     a unit attention taken by the automatic retry
 *   EVENT event=0x.. target=N lun=N reason=0x.. missed=0|1 len=N
 *   RETURNED n=N                               event buffers given back unused (length 0)
 *   TMF target=T subtype=N response=0x..
 */

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "vtc_cli.h"
#include "vtc_internal.h"

#define SCSI_MAX_TARGETS 256
#define SCSI_MAX_ARGS 16
/* Requests of one command (targets of a write / read / compare and write). */
#define SCSI_MAX_REQS 16
#define SCSI_DATA_CAP (1u << 20)
#define SCSI_MAX_EVBUFS 256
/* Unit attentions the automatic retry takes before giving up. */
#define SCSI_UA_RETRIES 8

struct scsi_cli {
	struct vtc_dev *dev;
	uint16_t nreq;                         /* request queues */
	uint16_t next_q;                       /* round-robin over the request queues */
	bool ua_retry;                         /* retry commands that end in UNIT ATTENTION */
	uint32_t block_size[SCSI_MAX_TARGETS]; /* from READ CAPACITY(16); 0: unknown */
	struct vtc_scsi_req reqs[SCSI_MAX_REQS];
	/* Event buffers: posted ones are the device's, the others wait in free[]. */
	struct virtio_scsi_event *evbuf;
	struct virtio_scsi_event *free[SCSI_MAX_EVBUFS];
	uint32_t nfree;
	uint64_t tag;
};

/* One command line: positional arguments and the key=value options after the command. */
struct scsi_line {
	char *arg[SCSI_MAX_ARGS];
	int narg;
	char *key[SCSI_MAX_ARGS];
	char *val[SCSI_MAX_ARGS];
	int nopt;
};

/* Options a command takes (key=value): which LUN, which queue, and what the data is. */
struct scsi_opts {
	uint8_t lun[8];
	bool lun_raw; /* lunraw= gave the whole field */
	uint16_t lun_id;
	int queue; /* request queue number (0 ..), -1: round-robin */
	uint32_t in_len;
	uint32_t out_len;
	uint64_t seed;
	uint32_t bs; /* block size override */
	bool repost;
	uint8_t data[256]; /* data= : the data-out bytes of cdb (instead of the seed's pattern) */
	uint32_t data_len;
};

/* ---- parsing --------------------------------------------------------------------------- */

static int
split_line(char *s, struct scsi_line *l)
{
	memset(l, 0, sizeof(*l));
	while (*s != '\0') {
		char *tok, *eq;

		while (isspace((unsigned char)*s)) {
			s++;
		}
		if (*s == '\0') {
			break;
		}
		tok = s;
		while (*s != '\0' && !isspace((unsigned char)*s)) {
			s++;
		}
		if (*s != '\0') {
			*s++ = '\0';
		}
		eq = strchr(tok, '=');
		if (l->narg + l->nopt >= SCSI_MAX_ARGS) {
			return -1;
		}
		if (eq != NULL) {
			*eq = '\0';
			l->key[l->nopt] = tok;
			l->val[l->nopt++] = eq + 1;
		} else {
			l->arg[l->narg++] = tok;
		}
	}
	return 0;
}

static int
parse_hex_bytes(const char *s, uint8_t *out, uint32_t max, uint32_t *len)
{
	uint32_t n = 0;

	while (s[0] != '\0') {
		char byte[3] = { s[0], s[1], '\0' };
		char *end;

		if (s[1] == '\0' || n == max || !isxdigit((unsigned char)s[0]) ||
		    !isxdigit((unsigned char)s[1])) {
			return -1;
		}
		out[n++] = (uint8_t)strtoul(byte, &end, 16);
		s += 2;
	}
	*len = n;
	return 0;
}

static int
parse_opts(struct scsi_cli *sc, const struct scsi_line *l, struct scsi_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->queue = -1;
	for (int i = 0; i < l->nopt; i++) {
		const char *k = l->key[i], *v = l->val[i];
		uint32_t u = 0, len;
		uint64_t u64;
		int rc = 0;

		if (strcmp(k, "lunraw") == 0) {
			rc = parse_hex_bytes(v, o->lun, 8, &len) == 0 && len == 8 ? 0 : -1;
			o->lun_raw = true;
		} else if (strcmp(k, "seed") == 0) {
			rc = cli_parse_u64(k, v, &o->seed);
		} else if (strcmp(k, "data") == 0) {
			rc = parse_hex_bytes(v, o->data, sizeof(o->data), &o->data_len);
		} else if (strcmp(k, "repost") == 0) {
			rc = cli_parse_u32(k, v, &u);
			o->repost = u != 0;
		} else if (strcmp(k, "lun") == 0 || strcmp(k, "q") == 0 || strcmp(k, "in") == 0 ||
			   strcmp(k, "out") == 0 || strcmp(k, "bs") == 0) {
			rc = cli_parse_u32(k, v, &u);
			u64 = u;
			if (rc == 0 && k[0] == 'l') {
				rc = u64 < 0x4000 ? 0 : -1;
				o->lun_id = (uint16_t)u;
			} else if (rc == 0 && k[0] == 'q') {
				rc = u < sc->nreq ? 0 : -1;
				o->queue = (int)u;
			} else if (strcmp(k, "in") == 0) {
				o->in_len = u;
			} else if (strcmp(k, "out") == 0) {
				o->out_len = u;
			} else {
				o->bs = u;
			}
		} else {
			rc = -1;
		}
		if (rc != 0) {
			fprintf(stderr, "vtc: invalid option %s=%s\n", k, v);
			return -1;
		}
	}
	if ((uint64_t)o->in_len + o->out_len > SCSI_DATA_CAP) {
		fprintf(stderr, "vtc: in= and out= exceed %u bytes\n", SCSI_DATA_CAP);
		return -1;
	}
	return 0;
}

/* "T" or "T1,T2,..." into targets; returns their number or -1. */
static int
parse_targets(const char *s, uint8_t *targets, int max)
{
	int n = 0;

	while (*s != '\0') {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(s, &end, 0);
		if (errno != 0 || end == s || v >= SCSI_MAX_TARGETS || n == max ||
		    (*end != ',' && *end != '\0')) {
			fprintf(stderr, "vtc: invalid target list '%s'\n", s);
			return -1;
		}
		targets[n++] = (uint8_t)v;
		s = *end == ',' ? end + 1 : end;
	}
	return n;
}

/* ---- commands on the request queues ------------------------------------------------------ */

static uint16_t
pick_queue(struct scsi_cli *sc, const struct scsi_opts *o)
{
	uint16_t q = o->queue >= 0 ? (uint16_t)o->queue : sc->next_q++ % sc->nreq;

	return (uint16_t)(VTC_SCSI_FIRST_REQ_QUEUE + q);
}

static void
cmd_for(struct scsi_cli *sc, const struct scsi_opts *o, uint8_t target, struct vtc_scsi_cmd *c)
{
	memset(c, 0, sizeof(*c));
	if (o->lun_raw) {
		memcpy(c->lun, o->lun, sizeof(c->lun));
	} else {
		vtc_scsi_lun(c->lun, target, o->lun_id);
	}
	c->tag = ++sc->tag;
}

static void
print_result(const char *name, uint8_t target, const struct scsi_opts *o, uint16_t q,
	     const struct vtc_scsi_result *r)
{
	printf("RESULT cmd=%s target=%u lun=%u queue=%u response=0x%02x status=0x%02x key=0x%x "
	       "asc=0x%02x ascq=0x%02x resid=%u used=%u sense_len=%u",
	       name, target, o->lun_id, q, r->response, r->status, r->sense_key, r->asc, r->ascq,
	       r->resid, r->used_len, r->sense_len);
}

static bool
is_ua(const struct vtc_scsi_result *r)
{
	return r->response == VIRTIO_SCSI_S_OK && r->status == 0x02 && r->sense_key == 0x6;
}

/*
 * Runs c on one queue, retrying (when enabled) while it ends in UNIT ATTENTION; each unit
 * attention taken is printed. Returns 0 (see r) or a negative errno.
 */
static int
run_sync(struct scsi_cli *sc, struct vtc_scsi_req *req, uint16_t q, uint8_t target,
	 struct vtc_scsi_cmd *c, struct vtc_scsi_result *r)
{
	for (int i = 0;; i++) {
		int rc = vtc_scsi_cmd_sync(sc->dev, q, req, c, r);

		if (rc != 0 || !sc->ua_retry || !is_ua(r) || i == SCSI_UA_RETRIES) {
			return rc;
		}
		printf("UA target=%u key=0x%x asc=0x%02x ascq=0x%02x\n", target, r->sense_key,
		       r->asc, r->ascq);
		c->tag = ++sc->tag;
	}
}

static int
scsi_simple(struct scsi_cli *sc, const char *name, uint8_t target, const struct scsi_opts *o,
	    struct vtc_scsi_cmd *c, struct vtc_scsi_result *r, uint16_t *q)
{
	int rc;

	*q = pick_queue(sc, o);
	rc = run_sync(sc, &sc->reqs[0], *q, target, c, r);
	if (rc != 0) {
		printf("DONE rc=1 error=%s cmd=%s target=%u\n", strerror(-rc), name, target);
		return -1;
	}
	print_result(name, target, o, *q, r);
	return 0;
}

static bool
good(const struct vtc_scsi_result *r)
{
	return r->response == VIRTIO_SCSI_S_OK && r->status == 0;
}

/* Printable text of a fixed-width INQUIRY field, spaces and odd bytes as '_', right-trimmed. */
static void
print_field(const char *key, const uint8_t *p, uint32_t len)
{
	char s[64];
	uint32_t n = len < sizeof(s) - 1 ? len : (uint32_t)sizeof(s) - 1;

	while (n > 0 && p[n - 1] == ' ') {
		n--;
	}
	for (uint32_t i = 0; i < n; i++) {
		s[i] = isgraph(p[i]) ? (char)p[i] : '_';
	}
	s[n] = '\0';
	printf(" %s=%s", key, n ? s : "-");
}

static int
do_inquiry(struct scsi_cli *sc, uint8_t t, const struct scsi_opts *o)
{
	struct vtc_scsi_result r;
	struct vtc_scsi_cmd c;
	const uint8_t *d = sc->reqs[0].data;
	uint16_t q;

	cmd_for(sc, o, t, &c);
	c.cdb[0] = 0x12;
	c.cdb[4] = 96;
	c.in_len = 96;
	if (scsi_simple(sc, "inquiry", t, o, &c, &r, &q) != 0) {
		return -1;
	}
	if (good(&r) && c.in_len - r.resid >= 36) {
		printf(" pq=%u pdt=0x%02x", d[0] >> 5, d[0] & 0x1f);
		print_field("vendor", d + 8, 8);
		print_field("product", d + 16, 16);
		print_field("rev", d + 32, 4);
	}
	printf("\n");
	return good(&r) ? 0 : 1;
}

static int
readcap(struct scsi_cli *sc, uint8_t t, const struct scsi_opts *o, bool print)
{
	struct vtc_scsi_result r;
	struct vtc_scsi_cmd c;
	const uint8_t *d = sc->reqs[0].data;
	uint64_t last;
	uint16_t q;

	cmd_for(sc, o, t, &c);
	c.cdb[0] = 0x9e; /* SERVICE ACTION IN(16) */
	c.cdb[1] = 0x10; /* READ CAPACITY(16) */
	c.cdb[13] = 32;
	c.in_len = 32;
	if (scsi_simple(sc, "readcap", t, o, &c, &r, &q) != 0) {
		return -1;
	}
	if (good(&r) && r.resid <= 20) {
		last = 0;
		for (int i = 0; i < 8; i++) {
			last = (last << 8) | d[i];
		}
		sc->block_size[t] =
			(uint32_t)d[8] << 24 | (uint32_t)d[9] << 16 | (uint32_t)d[10] << 8 | d[11];
		printf(" blocks=%" PRIu64 " block_size=%u", last + 1, sc->block_size[t]);
	}
	printf(print ? "\n" : " for=io\n");
	return good(&r) ? 0 : 1;
}

static int
do_tur(struct scsi_cli *sc, uint8_t t, const struct scsi_opts *o)
{
	struct vtc_scsi_result r;
	struct vtc_scsi_cmd c;
	uint16_t q;

	cmd_for(sc, o, t, &c);
	if (scsi_simple(sc, "tur", t, o, &c, &r, &q) != 0) {
		return -1;
	}
	printf("\n");
	return good(&r) ? 0 : 1;
}

static int
do_luns(struct scsi_cli *sc, uint8_t t, const struct scsi_opts *o)
{
	struct vtc_scsi_result r;
	struct vtc_scsi_cmd c;
	const uint8_t *d = sc->reqs[0].data;
	uint32_t len, n;
	uint16_t q;

	cmd_for(sc, o, t, &c);
	c.cdb[0] = 0xa0;
	c.cdb[9] = 0x10; /* 4096 bytes */
	c.in_len = 4096;
	if (scsi_simple(sc, "luns", t, o, &c, &r, &q) != 0) {
		return -1;
	}
	if (good(&r)) {
		len = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
		n = len / 8 < (4096 - 8) / 8 ? len / 8 : (4096 - 8) / 8;
		printf(" nluns=%u luns=", len / 8);
		for (uint32_t i = 0; i < n; i++) {
			const uint8_t *e = d + 8 + 8 * i;

			printf("%s%u", i ? "," : "", ((e[0] & 0x3f) << 8) | e[1]);
		}
		if (n == 0) {
			printf("-");
		}
	}
	printf("\n");
	return good(&r) ? 0 : 1;
}

static int
do_cdb(struct scsi_cli *sc, uint8_t t, const char *hex, const struct scsi_opts *o)
{
	struct vtc_scsi_result r;
	struct vtc_scsi_cmd c;
	uint32_t len;
	uint16_t q;

	cmd_for(sc, o, t, &c);
	if (parse_hex_bytes(hex, c.cdb, sizeof(c.cdb), &len) != 0 || len == 0) {
		fprintf(stderr, "vtc: invalid CDB '%s' (1 to 32 bytes in hex)\n", hex);
		printf("DONE rc=1 error=usage\n");
		return -1;
	}
	c.in_len = o->in_len;
	c.out_len = o->out_len;
	cli_pattern_fill(sc->reqs[0].data, 0, o->out_len, o->seed);
	if (o->data_len > 0) {
		c.out_len = o->data_len;
		memcpy(sc->reqs[0].data, o->data, o->data_len);
	}
	if (scsi_simple(sc, "cdb", t, o, &c, &r, &q) != 0) {
		return -1;
	}
	/* The data-in bytes moved (up to 256), in hex. */
	if (c.in_len > 0 && r.resid <= c.in_len && r.resid < c.in_len) {
		const uint8_t *in = sc->reqs[0].data + c.out_len;
		uint32_t n = c.in_len - r.resid < 256 ? c.in_len - r.resid : 256;

		printf(" data=");
		for (uint32_t i = 0; i < n; i++) {
			printf("%02x", in[i]);
		}
	}
	printf("\n");
	return good(&r) ? 0 : 1;
}

/* ---- write, read, compare and write on several targets at once --------------------------- */

enum io_kind { IO_WRITE, IO_READ, IO_CAW };

static const char *const g_io_name[] = { "write", "read", "caw" };

static void
io_cdb(struct vtc_scsi_cmd *c, enum io_kind kind, uint64_t lba, uint32_t nblocks)
{
	if (kind != IO_CAW) {
		vtc_scsi_cdb_rw16(c->cdb, kind == IO_WRITE ? 0x8a : 0x88, lba, nblocks);
		return;
	}
	/* COMPARE AND WRITE: the LBA where READ(16) has it, a one-byte count at 13. */
	vtc_scsi_cdb_rw16(c->cdb, 0x89, lba, 0);
	c->cdb[13] = (uint8_t)nblocks;
}

/* Submits every request, kicks each queue once, then waits for all of them. */
static int
io_run_all(struct scsi_cli *sc, struct vtc_scsi_cmd *cmds, const uint16_t *qs, int n,
	   struct vtc_scsi_result *res)
{
	uint64_t deadline = vtc_now_ns() + (uint64_t)sc->dev->opts.io_timeout_ms * 1000000ull;
	int done = 0;

	for (int i = 0; i < n; i++) {
		int rc = vtc_scsi_submit(vtc_dev_vq(sc->dev, qs[i]), &sc->reqs[i], &cmds[i], 0);

		if (rc < 0) {
			return rc;
		}
		sc->reqs[i].ctx = &res[i];
	}
	for (uint16_t q = 0; q < sc->nreq; q++) {
		int rc = vtc_vq_kick(vtc_dev_vq(sc->dev, VTC_SCSI_FIRST_REQ_QUEUE + q));

		if (rc != 0) {
			return rc;
		}
	}
	while (done < n) {
		for (uint16_t q = 0; q < sc->nreq; q++) {
			struct vtc_vq *vq = vtc_dev_vq(sc->dev, VTC_SCSI_FIRST_REQ_QUEUE + q);
			struct vtc_cpl cpl;
			int rc;

			while ((rc = vtc_vq_reap(vq, &cpl, 1)) == 1) {
				struct vtc_scsi_req *req = cpl.cookie;

				if (req == NULL || req->ctx == NULL) {
					return -EPROTO;
				}
				vtc_scsi_result_parse(req, cpl.len, req->ctx);
				done++;
			}
			if (rc < 0) {
				return rc;
			}
			if (vtc_vq_inflight(vq) > 0 && done < n) {
				rc = vtc_vq_wait_until(vq, vtc_now_ns() + 10000000ull);
				if (rc != 0 && rc != -ETIMEDOUT) {
					return rc;
				}
			}
		}
		if (done < n && vtc_now_ns() >= deadline) {
			return -ETIMEDOUT;
		}
	}
	return 0;
}

/* 0 when the data-in of req matches the pattern, else prints where it differs. */
static bool
io_verify(const uint8_t *got, uint64_t off, uint32_t len, uint64_t seed)
{
	uint8_t *expect = malloc(len);
	bool ok;

	if (expect == NULL) {
		return false;
	}
	cli_pattern_fill(expect, off, len, seed);
	ok = memcmp(got, expect, len) == 0;
	if (!ok) {
		for (uint32_t i = 0; i < len; i++) {
			if (got[i] != expect[i]) {
				printf(" verify=fail at=%" PRIu64, off + i);
				break;
			}
		}
	} else {
		printf(" verify=ok");
	}
	free(expect);
	return ok;
}

/*
 * write T[,T..] LBA NBLOCKS SEED | read T[,T..] LBA NBLOCKS [SEED] |
 * caw T[,T..] LBA NBLOCKS CMP_SEED WRITE_SEED. The pattern of a target's block depends only on
 * its byte offset and the seed (vtc pattern).
 */
static int
do_io(struct scsi_cli *sc, enum io_kind kind, const struct scsi_line *l, const struct scsi_opts *o)
{
	struct vtc_scsi_cmd cmds[SCSI_MAX_REQS];
	struct vtc_scsi_result res[SCSI_MAX_REQS];
	uint16_t qs[SCSI_MAX_REQS];
	uint8_t targets[SCSI_MAX_REQS];
	uint64_t lba, nblocks, seed = 0, seed2 = 0;
	int n, need = kind == IO_READ ? 4 : kind == IO_WRITE ? 5 : 6, rc;
	bool all_ok = true;

	n = l->narg >= 4 ? parse_targets(l->arg[1], targets, SCSI_MAX_REQS) : -1;
	if (n <= 0 || l->narg < need || l->narg > (kind == IO_READ ? 5 : need) ||
	    cli_parse_u64("lba", l->arg[2], &lba) != 0 ||
	    cli_parse_u64("nblocks", l->arg[3], &nblocks) != 0 ||
	    (l->narg > 4 && cli_parse_u64("seed", l->arg[4], &seed) != 0) ||
	    (l->narg > 5 && cli_parse_u64("seed", l->arg[5], &seed2) != 0)) {
		printf("DONE rc=1 error=usage\n");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (o->bs == 0 && sc->block_size[targets[i]] == 0 &&
		    readcap(sc, targets[i], o, false) < 0) {
			return -1;
		}
	}
	/* The requests themselves start round-robin from the first request queue. */
	sc->next_q = 0;
	for (int i = 0; i < n; i++) {
		uint32_t bs;
		uint64_t len;

		bs = o->bs ? o->bs : sc->block_size[targets[i]];
		len = nblocks * bs * (kind == IO_CAW ? 2 : 1);
		if (bs == 0 || len > SCSI_DATA_CAP ||
		    nblocks > (kind == IO_CAW ? 255 : UINT32_MAX)) {
			printf("DONE rc=1 error=size target=%u block_size=%u\n", targets[i], bs);
			return -1;
		}
		cmd_for(sc, o, targets[i], &cmds[i]);
		io_cdb(&cmds[i], kind, lba, (uint32_t)nblocks);
		if (kind == IO_READ) {
			cmds[i].in_len = (uint32_t)len;
		} else {
			cmds[i].out_len = (uint32_t)len;
			cli_pattern_fill(sc->reqs[i].data, lba * bs, nblocks * bs, seed);
			if (kind == IO_CAW) {
				cli_pattern_fill(sc->reqs[i].data + nblocks * bs, lba * bs,
						 nblocks * bs, seed2);
			}
		}
		qs[i] = pick_queue(sc, o);
	}
	rc = io_run_all(sc, cmds, qs, n, res);
	for (int i = 0; rc == 0 && i < n; i++) {
		/* A unit attention is retried alone (the others are done). */
		for (int tries = 0; sc->ua_retry && is_ua(&res[i]) && rc == 0; tries++) {
			printf("UA target=%u key=0x%x asc=0x%02x ascq=0x%02x\n", targets[i],
			       res[i].sense_key, res[i].asc, res[i].ascq);
			if (tries == SCSI_UA_RETRIES) {
				break;
			}
			if (kind != IO_READ) {
				uint32_t bs = o->bs ? o->bs : sc->block_size[targets[i]];

				cli_pattern_fill(sc->reqs[i].data, lba * bs, nblocks * bs, seed);
				if (kind == IO_CAW) {
					cli_pattern_fill(sc->reqs[i].data + nblocks * bs, lba * bs,
							 nblocks * bs, seed2);
				}
			}
			cmds[i].tag = ++sc->tag;
			rc = vtc_scsi_cmd_sync(sc->dev, qs[i], &sc->reqs[i], &cmds[i], &res[i]);
		}
	}
	if (rc != 0) {
		printf("DONE rc=1 error=%s cmd=%s\n", strerror(-rc), g_io_name[kind]);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		uint32_t bs = o->bs ? o->bs : sc->block_size[targets[i]];

		print_result(g_io_name[kind], targets[i], o, qs[i], &res[i]);
		all_ok = all_ok && good(&res[i]);
		if (kind == IO_READ && l->narg == 5 && good(&res[i])) {
			all_ok = io_verify(sc->reqs[i].data, lba * bs, (uint32_t)nblocks * bs,
					   seed) &&
				 all_ok;
		}
		printf("\n");
	}
	return all_ok ? 0 : 1;
}

/* ---- control queue ------------------------------------------------------------------------- */

static const struct {
	const char *name;
	uint32_t subtype;
} g_tmfs[] = {
	{ "abort-task", VIRTIO_SCSI_T_TMF_ABORT_TASK },
	{ "abort-task-set", VIRTIO_SCSI_T_TMF_ABORT_TASK_SET },
	{ "clear-aca", VIRTIO_SCSI_T_TMF_CLEAR_ACA },
	{ "clear-task-set", VIRTIO_SCSI_T_TMF_CLEAR_TASK_SET },
	{ "it-nexus-reset", VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET },
	{ "lun-reset", VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET },
	{ "query-task", VIRTIO_SCSI_T_TMF_QUERY_TASK },
	{ "query-task-set", VIRTIO_SCSI_T_TMF_QUERY_TASK_SET },
};

static int
do_tmf(struct scsi_cli *sc, uint8_t t, const char *fn, const struct scsi_opts *o)
{
	struct vtc_scsi_cmd c;
	uint8_t resp;
	int rc;

	for (size_t i = 0; i < sizeof(g_tmfs) / sizeof(g_tmfs[0]); i++) {
		if (strcmp(fn, g_tmfs[i].name) != 0) {
			continue;
		}
		cmd_for(sc, o, t, &c);
		rc = vtc_scsi_tmf(sc->dev, g_tmfs[i].subtype, c.lun, o->seed, &resp);
		if (rc != 0) {
			printf("DONE rc=1 error=%s cmd=tmf\n", strerror(-rc));
			return -1;
		}
		printf("TMF target=%u subtype=%u response=0x%02x\n", t, g_tmfs[i].subtype, resp);
		return 0;
	}
	fprintf(stderr, "vtc: unknown task management function '%s'\n", fn);
	printf("DONE rc=1 error=usage\n");
	return -1;
}

/* ---- event queue --------------------------------------------------------------------------- */

static int
do_post(struct scsi_cli *sc, uint32_t n)
{
	if (n > sc->nfree) {
		printf("DONE rc=1 error=only %u free event buffers\n", sc->nfree);
		return -1;
	}
	for (uint32_t i = 0; i < n; i++) {
		int rc = vtc_scsi_event_post(sc->dev, sc->free[--sc->nfree]);

		if (rc != 0) {
			sc->nfree++;
			printf("DONE rc=1 error=%s cmd=post\n", strerror(-rc));
			return -1;
		}
	}
	printf("POSTED n=%u\n", n);
	return 0;
}

static void
print_event(const struct vtc_scsi_event *e)
{
	printf("EVENT event=0x%08x target=%u lun=%u reason=0x%08x missed=%u len=%u\n",
	       e->event & ~VIRTIO_SCSI_T_EVENTS_MISSED, e->lun[1],
	       ((e->lun[2] & 0x3f) << 8) | e->lun[3], e->reason,
	       (e->event & VIRTIO_SCSI_T_EVENTS_MISSED) ? 1 : 0, e->len);
}

/*
 * events K TIMEOUT_MS [repost=1]: prints events until K arrived or the time is up. Buffers
 * given back unused are counted (RETURNED) and kept for the next post; with repost=1 a buffer
 * that carried an event is posted again at once, as a guest driver does.
 */
static int
do_events(struct scsi_cli *sc, uint32_t want, uint32_t timeout_ms, bool repost)
{
	struct vtc_vq *vq = vtc_dev_vq(sc->dev, VTC_SCSI_EVENT_QUEUE);
	uint64_t deadline = vtc_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	uint32_t got = 0, returned = 0;

	while (got < want || (want == 0 && vtc_vq_has_used(vq))) {
		struct vtc_scsi_event evs[32];
		int n = vtc_scsi_event_reap(sc->dev, evs, 32);

		if (n < 0) {
			printf("DONE rc=1 error=%s cmd=events\n", strerror(-n));
			return -1;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].len == 0) {
				returned++;
				sc->free[sc->nfree++] = evs[i].buf;
				continue;
			}
			print_event(&evs[i]);
			got++;
			if (!repost || vtc_scsi_event_post(sc->dev, evs[i].buf) != 0) {
				sc->free[sc->nfree++] = evs[i].buf;
			}
		}
		if (n == 0) {
			int rc = vtc_vq_wait_until(vq, deadline);

			if (rc == -ETIMEDOUT) {
				break;
			}
			if (rc != 0) {
				printf("DONE rc=1 error=%s cmd=events\n", strerror(-rc));
				return -1;
			}
		}
	}
	if (returned > 0) {
		printf("RETURNED n=%u\n", returned);
	}
	printf("EVENTS n=%u posted=%u\n", got, vtc_vq_inflight(vq));
	return got >= want ? 0 : 1;
}

/* evq-restart: SET_VRING_ENABLE 0 and GET_VRING_BASE on the event queue, then resume there. */
static int
do_evq_restart(struct scsi_cli *sc)
{
	struct vtc_vq *vq = vtc_dev_vq(sc->dev, VTC_SCSI_EVENT_QUEUE);
	uint32_t base;
	int rc = 0;

	if (vtc_dev_has_feature(sc->dev, VHOST_USER_F_PROTOCOL_FEATURES)) {
		rc = vtc_vq_enable(vq, false);
	}
	if (rc == 0) {
		rc = vtc_vq_get_base(vq, &base);
	}
	if (rc == 0) {
		printf("BASE base=%u\n", base);
		rc = vtc_vq_resume(vq, base);
	}
	if (rc != 0) {
		printf("DONE rc=1 error=%s cmd=evq-restart\n", strerror(-rc));
		return -1;
	}
	return 0;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

static int
do_info(struct scsi_cli *sc)
{
	struct virtio_scsi_config cfg;

	/* Protocol features as hex only: the line stays 'KIND key=value ...'. */
	printf("PROTOCOL offered=0x%" PRIx64 " negotiated=0x%" PRIx64 " config_len=%u\n",
	       vtc_dev_offered_protocol_features(sc->dev), vtc_dev_protocol_features(sc->dev),
	       vtc_dev_config_len(sc->dev));
	vtc_scsi_config(sc->dev, &cfg);
	printf("CONFIG features=0x%" PRIx64 " queues=%u num_queues=%u seg_max=%u "
	       "max_sectors=%u cmd_per_lun=%u event_info_size=%u sense_size=%u cdb_size=%u "
	       "max_channel=%u max_target=%u max_lun=%u\n",
	       vtc_dev_features(sc->dev), vtc_dev_num_queues(sc->dev), cfg.num_queues, cfg.seg_max,
	       cfg.max_sectors, cfg.cmd_per_lun, cfg.event_info_size, cfg.sense_size, cfg.cdb_size,
	       cfg.max_channel, cfg.max_target, cfg.max_lun);
	return 0;
}

static int
parse_target(const char *s, uint8_t *t)
{
	return parse_targets(s, t, 1) == 1 ? 0 : -1;
}

/* Runs one command line; 0 done (all good), 1 done with a bad status, -1 failed, 2 quit. */
static int
run_line(struct scsi_cli *sc, char *text)
{
	struct scsi_line l;
	struct scsi_opts o;
	const char *cmd;
	uint32_t a = 0, b = 0;
	uint8_t t = 0;
	int rc;

	if (split_line(text, &l) != 0 || l.narg == 0) {
		printf("DONE rc=1 error=usage\n");
		return -1;
	}
	cmd = l.arg[0];
	if (strcmp(cmd, "quit") == 0) {
		return 2;
	}
	if (parse_opts(sc, &l, &o) != 0) {
		printf("DONE rc=1 error=usage\n");
		return -1;
	}
	if (strcmp(cmd, "inquiry") == 0 || strcmp(cmd, "readcap") == 0 || strcmp(cmd, "tur") == 0 ||
	    strcmp(cmd, "luns") == 0 || strcmp(cmd, "tmf") == 0 || strcmp(cmd, "cdb") == 0) {
		bool two = strcmp(cmd, "tmf") == 0 || strcmp(cmd, "cdb") == 0;

		if (l.narg != (two ? 3 : 2) || parse_target(l.arg[1], &t) != 0) {
			printf("DONE rc=1 error=usage\n");
			return -1;
		}
	}
	if (strcmp(cmd, "inquiry") == 0) {
		rc = do_inquiry(sc, t, &o);
	} else if (strcmp(cmd, "readcap") == 0) {
		rc = readcap(sc, t, &o, true);
	} else if (strcmp(cmd, "tur") == 0) {
		rc = do_tur(sc, t, &o);
	} else if (strcmp(cmd, "luns") == 0) {
		rc = do_luns(sc, t, &o);
	} else if (strcmp(cmd, "tmf") == 0) {
		rc = do_tmf(sc, t, l.arg[2], &o);
	} else if (strcmp(cmd, "cdb") == 0) {
		rc = do_cdb(sc, t, l.arg[2], &o);
	} else if (strcmp(cmd, "write") == 0) {
		rc = do_io(sc, IO_WRITE, &l, &o);
	} else if (strcmp(cmd, "read") == 0) {
		rc = do_io(sc, IO_READ, &l, &o);
	} else if (strcmp(cmd, "caw") == 0 || strcmp(cmd, "compare-and-write") == 0) {
		rc = do_io(sc, IO_CAW, &l, &o);
	} else if (strcmp(cmd, "post") == 0 && l.narg == 2 &&
		   cli_parse_u32("post", l.arg[1], &a) == 0) {
		rc = do_post(sc, a);
	} else if (strcmp(cmd, "events") == 0 && l.narg == 3 &&
		   cli_parse_u32("events", l.arg[1], &a) == 0 &&
		   cli_parse_u32("timeout", l.arg[2], &b) == 0) {
		rc = do_events(sc, a, b, o.repost);
	} else if (strcmp(cmd, "evq-restart") == 0 && l.narg == 1) {
		rc = do_evq_restart(sc);
	} else if (strcmp(cmd, "info") == 0 && l.narg == 1) {
		rc = do_info(sc);
	} else if (strcmp(cmd, "ua-retry") == 0 && l.narg == 2 &&
		   cli_parse_u32("ua-retry", l.arg[1], &a) == 0) {
		sc->ua_retry = a != 0;
		rc = 0;
	} else {
		fprintf(stderr, "vtc: unknown or malformed scsi command '%s'\n", cmd);
		printf("DONE rc=1 error=usage\n");
		return -1;
	}
	/* Failures printed their own DONE line. */
	if (rc >= 0) {
		printf("DONE rc=%d\n", rc);
	}
	return rc;
}

static int
session_init(struct scsi_cli *sc, struct vtc_dev *dev)
{
	struct vtc_mem *mem = vtc_dev_mem(dev);

	sc->dev = dev;
	sc->nreq = (uint16_t)(vtc_dev_num_queues(dev) - VTC_SCSI_FIRST_REQ_QUEUE);
	for (int i = 0; i < SCSI_MAX_REQS; i++) {
		if (vtc_scsi_req_init(mem, &sc->reqs[i], SCSI_DATA_CAP) != 0) {
			return -ENOMEM;
		}
	}
	sc->evbuf = vtc_mem_alloc(mem, SCSI_MAX_EVBUFS * sizeof(*sc->evbuf), 64, NULL);
	if (sc->evbuf == NULL) {
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < SCSI_MAX_EVBUFS; i++) {
		sc->free[sc->nfree++] = &sc->evbuf[SCSI_MAX_EVBUFS - 1 - i];
	}
	return 0;
}

static void
scsi_usage(FILE *out)
{
	fprintf(out,
		"usage: vtc scsi SOCKET [options] [COMMAND ARGS... | --stdin]\n"
		"One command from the arguments, or one per line of stdin (no command, or\n"
		"--stdin). Each ends with a 'DONE rc=N' line. Commands (T: a target number;\n"
		"write, read and caw take a list T1,T2,... and run on all of them at once):\n"
		"  info                           negotiated features and config space\n"
		"  inquiry T | readcap T | tur T | luns T\n"
		"  write T LBA NBLOCKS SEED       the pattern of `vtc pattern --seed SEED`\n"
		"  read T LBA NBLOCKS [SEED]      verified against the pattern when SEED is given\n"
		"  caw T LBA NBLOCKS CMP_SEED WRITE_SEED   COMPARE AND WRITE\n"
		"  cdb T HEX [in=N] [out=N seed=S] [data=HEX]   any CDB (data-in printed as data=)\n"
		"  tmf T lun-reset|abort-task|abort-task-set|clear-task-set|it-nexus-reset|\n"
		"        query-task|query-task-set|clear-aca [seed=TAG]\n"
		"  post N                         post N event buffers (of 16 bytes)\n"
		"  events K TIMEOUT_MS [repost=1] print events until K arrived or the time is up\n"
		"  evq-restart                    GET_VRING_BASE on the event queue, restart\n"
		"                                 it there\n"
		"  ua-retry 0|1                   retry commands ending in UNIT ATTENTION\n"
		"                                 (default 1)\n"
		"  quit\n"
		"Command options: lun=N (LUN of the target), lunraw=16HEX (the whole LUN field),\n"
		"q=N (request queue, from 0; default round-robin), bs=N (block size).\n"
		"options:\n"
		"  --queues N          request queues (default 1; queues 0 and 1 come on top)\n"
		"  --no-hotplug        do not negotiate VIRTIO_SCSI_F_HOTPLUG\n"
		"  --no-change         do not negotiate VIRTIO_SCSI_F_CHANGE\n"
		"  --no-ua-retry       report unit attentions instead of retrying\n"
		"  --poll              spin on the used rings (default: sleep on the call\n"
		"                      eventfds)\n" CLI_COMMON_HELP);
}

enum {
	SCSI_OPT_STDIN = CLI_OPT_FIRST_LOCAL,
	SCSI_OPT_NO_HOTPLUG,
	SCSI_OPT_NO_CHANGE,
	SCSI_OPT_NO_UA_RETRY,
};

static int
run_stdin(struct scsi_cli *sc)
{
	char line[1024];
	int rc = 0;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		int r;

		if (line[0] == '#' || line[strspn(line, " \t\r\n")] == '\0') {
			continue;
		}
		r = run_line(sc, line);
		fflush(stdout);
		if (r == 2) {
			break;
		}
		if (r != 0) {
			rc = 1;
		}
		if (vtc_dev_peer_closed(sc->dev, 0)) {
			printf("CLOSED\n");
			fflush(stdout);
			return 1;
		}
	}
	return rc;
}

int
cli_cmd_scsi(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "stdin", no_argument, NULL, SCSI_OPT_STDIN },
		{ "no-hotplug", no_argument, NULL, SCSI_OPT_NO_HOTPLUG },
		{ "no-change", no_argument, NULL, SCSI_OPT_NO_CHANGE },
		{ "no-ua-retry", no_argument, NULL, SCSI_OPT_NO_UA_RETRY },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct scsi_cli *sc = calloc(1, sizeof(*sc));
	struct cli_common c;
	struct vtc_dev *dev = NULL;
	char line[1024];
	bool use_stdin = false;
	uint16_t nreq = 1;
	int opt, rc = 1;

	if (sc == NULL) {
		return 1;
	}
	sc->ua_retry = true;
	cli_common_init(&c);
	vtc_scsi_opts_init(&c.opts);
	c.opts.mem_size = 0;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			scsi_usage(stdout);
			free(sc);
			return 0;
		case SCSI_OPT_STDIN:
			use_stdin = true;
			continue;
		case SCSI_OPT_NO_HOTPLUG:
			c.opts.features &= ~(1ull << VIRTIO_SCSI_F_HOTPLUG);
			continue;
		case SCSI_OPT_NO_CHANGE:
			c.opts.features &= ~(1ull << VIRTIO_SCSI_F_CHANGE);
			continue;
		case SCSI_OPT_NO_UA_RETRY:
			sc->ua_retry = false;
			continue;
		default:
			break;
		}
		if (cli_common_opt(&c, opt, optarg) != 0) {
			scsi_usage(stderr);
			free(sc);
			return 2;
		}
		if (opt == CLI_OPT_QUEUES) {
			nreq = c.opts.num_queues;
		}
	}
	if (optind >= argc || nreq > VTC_MAX_QUEUES - VTC_SCSI_FIRST_REQ_QUEUE) {
		scsi_usage(stderr);
		free(sc);
		return 2;
	}
	c.opts.num_queues = (uint16_t)(nreq + VTC_SCSI_FIRST_REQ_QUEUE);
	if (c.opts.mem_size == 0) {
		c.opts.mem_size = 64ull << 20;
	}
	dev = cli_open(&c, argv[optind], true);
	if (dev == NULL) {
		goto out;
	}
	if (session_init(sc, dev) != 0) {
		fprintf(stderr, "vtc: cannot allocate the requests in guest memory\n");
		goto out;
	}
	if (use_stdin || optind + 1 == argc) {
		printf("READY queues=%u features=0x%" PRIx64 "\n", vtc_dev_num_queues(dev),
		       vtc_dev_features(dev));
		fflush(stdout);
		rc = run_stdin(sc);
		goto out;
	}
	line[0] = '\0';
	for (int i = optind + 1; i < argc; i++) {
		size_t len = strlen(line);

		snprintf(line + len, sizeof(line) - len, "%s%s", i > optind + 1 ? " " : "",
			 argv[i]);
	}
	rc = run_line(sc, line) == 0 ? 0 : 1;
out:
	if (dev != NULL) {
		vtc_dev_close(dev);
	}
	free(sc);
	return rc;
}
