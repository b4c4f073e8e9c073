/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The raid superblock (vtarget's own format, doc/raid.md): RAID_SB_BYTES at block 0 of every
 * leg, little-endian, protected by a CRC-32C. A leg's data starts RAID_SB_DATA_OFFSET_BYTES in.
 *
 *   0  magic "VTRAIDSB"        8  version (u32, 1)      12 crc32c of the 4096 bytes, this
 *  16  raid uuid (16 bytes)   32  sequence (u64)           field taken as zero
 *  40  raid blocks (u64)      48  block size (u32)     52 level (u32: 0 raid0, 1 raid1, 2 concat)
 *  56  strip_size_kb (u32)    60  legs (u8)            61 this leg's slot (u8)   62 zero (u16)
 *  64  raid name, NUL-terminated (256 bytes)
 * 320  per slot, 40 bytes: base uuid (16), data offset (u64), data size (u64), state (u32:
 *      0 missing, 1 configured, 2 rebuilding), zero (u32)
 *
 * Every change of a leg's state writes the superblock to every leg still in the array with the
 * sequence number raised; at start, the copy with the highest sequence number wins, and only
 * legs that copy calls configured are taken back (a leg that was missing or half rebuilt is not).
 * Examine: a new bdev that holds a superblock is claimed into its raid, which comes online once
 * every configured leg is back.
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vt/bdev.h"
#include "vt/event.h"
#include "vt/log.h"
#include "vt/util.h"

#include "lib/bdev/raid/bdev_raid.h"

#define SB_MAGIC "VTRAIDSB"
#define SB_VERSION 1
#define SB_LEGS_AT 320
#define SB_LEG_SIZE 40

_Static_assert(SB_LEGS_AT + RAID_MAX_LEGS * SB_LEG_SIZE <= RAID_SB_BYTES, "superblock size");

uint32_t
raid_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	crc = ~crc;
	while (len-- > 0) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++) {
			crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
		}
	}
	return ~crc;
}

static void
put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void
put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static uint32_t
get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

void
raid_sb_encode(const struct raid_sb *sb, void *buf)
{
	uint8_t *b = buf;

	memset(b, 0, RAID_SB_BYTES);
	memcpy(b, SB_MAGIC, 8);
	put32(b + 8, SB_VERSION);
	memcpy(b + 16, &sb->uuid, 16);
	put64(b + 32, sb->seq);
	put64(b + 40, sb->blockcnt);
	put32(b + 48, sb->block_size);
	put32(b + 52, sb->level);
	put32(b + 56, sb->strip_size_kb);
	b[60] = sb->num_legs;
	b[61] = sb->this_leg;
	snprintf((char *)b + 64, VT_BDEV_MAX_NAME_LEN + 1, "%s", sb->name);
	for (uint8_t i = 0; i < sb->num_legs && i < RAID_MAX_LEGS; i++) {
		uint8_t *l = b + SB_LEGS_AT + i * SB_LEG_SIZE;

		memcpy(l, &sb->legs[i].uuid, 16);
		put64(l + 16, sb->legs[i].data_offset);
		put64(l + 24, sb->legs[i].data_size);
		put32(l + 32, sb->legs[i].state);
	}
	put32(b + 12, raid_crc32c(0, b, RAID_SB_BYTES));
}

int
raid_sb_decode(const void *buf, struct raid_sb *sb)
{
	uint8_t copy[RAID_SB_BYTES];
	const uint8_t *b = buf;

	if (memcmp(b, SB_MAGIC, 8) != 0 || get32(b + 8) != SB_VERSION) {
		return -EINVAL;
	}
	memcpy(copy, b, RAID_SB_BYTES);
	memset(copy + 12, 0, 4);
	if (raid_crc32c(0, copy, RAID_SB_BYTES) != get32(b + 12)) {
		return -EILSEQ;
	}
	memset(sb, 0, sizeof(*sb));
	memcpy(&sb->uuid, b + 16, 16);
	sb->seq = get64(b + 32);
	sb->blockcnt = get64(b + 40);
	sb->block_size = get32(b + 48);
	sb->level = get32(b + 52);
	sb->strip_size_kb = get32(b + 56);
	sb->num_legs = b[60];
	sb->this_leg = b[61];
	if (memchr(b + 64, 0, VT_BDEV_MAX_NAME_LEN + 1) == NULL || sb->num_legs == 0 ||
	    sb->num_legs > RAID_MAX_LEGS || sb->this_leg >= sb->num_legs ||
	    sb->level > RAID_LEVEL_CONCAT || sb->block_size == 0 || sb->blockcnt == 0) {
		return -ERANGE;
	}
	memcpy(sb->name, b + 64, VT_BDEV_MAX_NAME_LEN + 1);
	for (uint8_t i = 0; i < sb->num_legs; i++) {
		const uint8_t *l = b + SB_LEGS_AT + i * SB_LEG_SIZE;

		memcpy(&sb->legs[i].uuid, l, 16);
		sb->legs[i].data_offset = get64(l + 16);
		sb->legs[i].data_size = get64(l + 24);
		sb->legs[i].state = get32(l + 32);
	}
	return 0;
}

/* ---- writing -------------------------------------------------------------------------------- */

struct sb_write {
	struct raid_bdev *raid;
	uint32_t pending;
	void *buf[RAID_MAX_LEGS];
	struct iovec iov[RAID_MAX_LEGS];
	struct vt_bdev_channel *ch[RAID_MAX_LEGS];
};

static void sb_write_start(struct raid_bdev *raid);

static void
sb_fill(const struct raid_bdev *raid, struct raid_sb *sb)
{
	int st;

	memset(sb, 0, sizeof(*sb));
	sb->uuid = raid->bdev.uuid;
	snprintf(sb->name, sizeof(sb->name), "%s", raid->bdev.name);
	sb->seq = raid->sb_seq;
	sb->blockcnt = raid->bdev.blockcnt;
	sb->block_size = raid->bdev.blocklen;
	sb->level = raid->level;
	sb->strip_size_kb = raid->strip_size_kb;
	sb->num_legs = raid->num_legs;
	for (uint8_t i = 0; i < raid->num_legs; i++) {
		st = __atomic_load_n(&raid->legs[i].state, __ATOMIC_ACQUIRE);
		sb->legs[i].uuid = raid->legs[i].uuid;
		sb->legs[i].data_offset = raid->legs[i].data_offset;
		sb->legs[i].data_size = raid->legs[i].data_size;
		sb->legs[i].state = st == RAID_LEG_ONLINE       ? RAID_SB_LEG_CONFIGURED
				    : st == RAID_LEG_REBUILDING ? RAID_SB_LEG_REBUILDING
								: RAID_SB_LEG_MISSING;
	}
}

static void
sb_write_finish(struct sb_write *w)
{
	struct raid_bdev *raid = w->raid;

	for (uint8_t i = 0; i < RAID_MAX_LEGS; i++) {
		if (w->ch[i] != NULL) {
			vt_bdev_put_io_channel(w->ch[i]);
		}
		free(w->buf[i]);
	}
	free(w);
	raid->sb_writing = false;
	if (raid->sb_dirty && raid->registered && !raid->destructing) {
		raid->sb_dirty = false;
		sb_write_start(raid);
	}
	raid_ctl_done(raid);
}

static void
sb_write_done(struct vt_bdev_io *io, bool success, void *arg)
{
	struct sb_write *w = arg;

	if (!success) {
		VT_ERRLOG("raid bdev '%s': cannot write a superblock to '%s'\n", w->raid->bdev.name,
			  vt_bdev_get_name(io->bdev));
	}
	if (--w->pending == 0) {
		sb_write_finish(w);
	}
}

static void
sb_write_start(struct raid_bdev *raid)
{
	struct sb_write *w = calloc(1, sizeof(*w));
	struct raid_sb sb;
	int st, rc;

	if (w == NULL) {
		VT_ERRLOG("raid bdev '%s': out of memory writing its superblock\n",
			  raid->bdev.name);
		return;
	}
	w->raid = raid;
	raid->sb_writing = true;
	raid->ctl_ops++;
	raid->sb_seq++;
	sb_fill(raid, &sb);
	w->pending = 1;
	for (uint8_t i = 0; i < raid->num_legs; i++) {
		struct raid_leg *leg = &raid->legs[i];

		st = __atomic_load_n(&leg->state, __ATOMIC_ACQUIRE);
		if (leg->desc == NULL || (st != RAID_LEG_ONLINE && st != RAID_LEG_REBUILDING)) {
			continue;
		}
		if (posix_memalign(&w->buf[i], 4096, RAID_SB_BYTES) != 0) {
			w->buf[i] = NULL;
			continue;
		}
		sb.this_leg = i;
		raid_sb_encode(&sb, w->buf[i]);
		w->ch[i] = vt_bdev_get_io_channel(leg->desc);
		if (w->ch[i] == NULL) {
			continue;
		}
		w->iov[i].iov_base = w->buf[i];
		w->iov[i].iov_len = RAID_SB_BYTES;
		rc = vt_bdev_writev_blocks(leg->desc, w->ch[i], &w->iov[i], 1, 0,
					   RAID_SB_BYTES / raid->bdev.blocklen, VT_BDEV_IO_FLAG_FUA,
					   sb_write_done, w);
		if (rc == 0) {
			w->pending++;
		} else {
			VT_ERRLOG("raid bdev '%s': cannot write a superblock to '%s' (%d)\n",
				  raid->bdev.name, leg->name, rc);
		}
	}
	if (--w->pending == 0) {
		sb_write_finish(w);
	}
}

void
raid_sb_update(struct raid_bdev *raid)
{
	if (!raid->superblock) {
		return;
	}
	if (raid->sb_writing) {
		raid->sb_dirty = true;
		return;
	}
	sb_write_start(raid);
}

/* ---- examine -------------------------------------------------------------------------------- */

struct examine_ctx {
	struct vt_bdev_desc *desc;
	struct vt_bdev_channel *ch;
	void *buf;
	struct iovec iov;
	char name[];
};

static bool
sb_all_configured_back(const struct raid_bdev *raid)
{
	for (uint8_t i = 0; i < raid->num_legs; i++) {
		if (raid->sb_leg_state[i] == RAID_SB_LEG_CONFIGURED && raid->legs[i].bdev == NULL) {
			return false;
		}
	}
	return true;
}

static struct raid_bdev *
sb_new_raid(const struct raid_sb *sb)
{
	struct raid_bdev *raid;

	if (vt_bdev_get_by_name(sb->name) != NULL || raid_find(sb->name) != NULL) {
		VT_ERRLOG("raid superblock of '%s': a bdev of that name exists already\n",
			  sb->name);
		return NULL;
	}
	raid = calloc(1, sizeof(*raid));
	if (raid == NULL) {
		return NULL;
	}
	raid->bdev.name = vt_strdup(sb->name);
	if (raid->bdev.name == NULL) {
		free(raid);
		return NULL;
	}
	raid->bdev.uuid = sb->uuid;
	raid->level = (enum raid_level)sb->level;
	raid->strip_size_kb = sb->strip_size_kb;
	raid->num_legs = sb->num_legs;
	raid->superblock = true;
	raid->state = RAID_STATE_CONFIGURING;
	TAILQ_INSERT_TAIL(&g_raids, raid, link);
	return raid;
}

static void
sb_take(struct raid_bdev *raid, const struct raid_sb *sb)
{
	raid->sb_seq = sb->seq;
	raid->sb_blockcnt = sb->blockcnt;
	for (uint8_t i = 0; i < sb->num_legs; i++) {
		raid->sb_leg_state[i] = (uint8_t)sb->legs[i].state;
		raid->legs[i].uuid = sb->legs[i].uuid;
		/* A leg this newer copy does not count on is let go. */
		if (sb->legs[i].state != RAID_SB_LEG_CONFIGURED && raid->legs[i].desc != NULL) {
			vt_bdev_close(raid->legs[i].desc);
			raid->legs[i].desc = NULL;
			raid->legs[i].bdev = NULL;
		}
	}
}

static void
sb_found(const char *name, const struct raid_sb *sb)
{
	struct raid_bdev *raid = raid_find_by_uuid(&sb->uuid);
	uint8_t slot = sb->this_leg;
	int rc;

	if (raid == NULL) {
		raid = sb_new_raid(sb);
		if (raid == NULL) {
			return;
		}
		sb_take(raid, sb);
	} else if (raid->registered || sb->seq < raid->sb_seq) {
		VT_NOTICELOG("raid bdev '%s': '%s' holds an older superblock; not taken back\n",
			     raid->bdev.name, name);
		return;
	} else if (sb->seq > raid->sb_seq) {
		sb_take(raid, sb);
	}
	if (raid->sb_leg_state[slot] != RAID_SB_LEG_CONFIGURED || raid->legs[slot].bdev != NULL) {
		VT_NOTICELOG("raid bdev '%s': '%s' is not a configured leg; not taken back\n",
			     raid->bdev.name, name);
		return;
	}
	rc = raid_leg_attach(raid, slot, name);
	if (rc != 0) {
		VT_ERRLOG("raid bdev '%s': cannot take back leg '%s' (%d)\n", raid->bdev.name, name,
			  rc);
		return;
	}
	VT_NOTICELOG("raid bdev '%s': found leg %u on '%s'\n", raid->bdev.name, slot, name);
	if (sb_all_configured_back(raid)) {
		rc = raid_configure(raid);
		if (rc != 0) {
			VT_ERRLOG("raid bdev '%s': cannot come online (%d)\n", raid->bdev.name, rc);
		}
	}
}

static void
examine_end(struct examine_ctx *e)
{
	vt_bdev_examine_release();
	if (e->ch != NULL) {
		vt_bdev_put_io_channel(e->ch);
	}
	if (e->desc != NULL) {
		vt_bdev_close(e->desc);
	}
	free(e->buf);
	free(e);
}

static void
examine_read_done(struct vt_bdev_io *io, bool success, void *arg)
{
	struct examine_ctx *e = arg;
	struct raid_sb sb;
	int rc;

	(void)io;
	rc = success ? raid_sb_decode(e->buf, &sb) : -EIO;
	if (rc == -EILSEQ || rc == -ERANGE) {
		VT_ERRLOG("bdev '%s' holds a damaged raid superblock (%d): ignored\n", e->name, rc);
	}
	/* Close the examine descriptor before claiming through a new one. */
	vt_bdev_put_io_channel(e->ch);
	e->ch = NULL;
	vt_bdev_close(e->desc);
	e->desc = NULL;
	if (rc == 0) {
		sb_found(e->name, &sb);
	}
	examine_end(e);
}

static void
examine_by_name(struct raid_bdev *raid, uint8_t l, const char *name)
{
	int rc = raid_leg_attach(raid, l, name);

	if (rc != 0) {
		VT_ERRLOG("raid bdev '%s': cannot attach '%s' (%d)\n", raid->bdev.name, name, rc);
		return;
	}
	rc = raid_configure(raid);
	if (rc != 0 && rc != -EAGAIN) {
		VT_ERRLOG("raid bdev '%s': cannot come online (%d)\n", raid->bdev.name, rc);
	}
}

/*
 * Modules whose bdevs can hold a superblock when they appear: their data outlives the daemon
 * (files; remote disks as they come). A malloc or null bdev starts empty, and reading every
 * stacked bdev (split, delay, error) would show in its statistics and its base's: they are not
 * read.
 */
static const char *const g_sb_modules[] = { "file", "rbd", "iscsi" };

static bool
sb_module_persists(const struct vt_bdev *bdev)
{
	for (size_t i = 0; i < VT_COUNTOF(g_sb_modules); i++) {
		if (strcmp(bdev->module->name, g_sb_modules[i]) == 0) {
			return true;
		}
	}
	return false;
}

/* The read in flight completes (with an error) when the bdev goes; nothing else to do. */
static void
examine_event(enum vt_bdev_event_type type, struct vt_bdev *bdev, void *ctx)
{
	(void)type;
	(void)bdev;
	(void)ctx;
}

static void
examine_msg(void *arg)
{
	struct examine_ctx *e = arg;
	struct raid_bdev *raid;
	struct vt_bdev *bdev;
	int rc;

	/* A raid created before its base exists waits for it by name. */
	TAILQ_FOREACH (raid, &g_raids, link) {
		if (raid->registered || raid->sb_seq != 0) {
			continue;
		}
		for (uint8_t i = 0; i < raid->num_legs; i++) {
			if (raid->legs[i].bdev == NULL && raid->legs[i].name != NULL &&
			    strcmp(raid->legs[i].name, e->name) == 0) {
				examine_by_name(raid, i, e->name);
				examine_end(e);
				return;
			}
		}
	}
	bdev = vt_bdev_get_by_name(e->name);
	if (bdev == NULL || !sb_module_persists(bdev) || vt_bdev_get_claim_owner(bdev) != NULL ||
	    vt_bdev_get_num_blocks(bdev) * vt_bdev_get_block_size(bdev) <=
		    RAID_SB_DATA_OFFSET_BYTES ||
	    vt_bdev_get_block_size(bdev) > RAID_SB_BYTES) {
		examine_end(e);
		return;
	}
	rc = vt_bdev_open(e->name, false, examine_event, NULL, &e->desc);
	if (rc != 0) {
		e->desc = NULL;
		examine_end(e);
		return;
	}
	e->ch = vt_bdev_get_io_channel(e->desc);
	if (e->ch == NULL || posix_memalign(&e->buf, 4096, RAID_SB_BYTES) != 0) {
		e->buf = NULL;
		examine_end(e);
		return;
	}
	e->iov.iov_base = e->buf;
	e->iov.iov_len = RAID_SB_BYTES;
	rc = vt_bdev_readv_blocks(e->desc, e->ch, &e->iov, 1, 0,
				  RAID_SB_BYTES / vt_bdev_get_block_size(bdev), examine_read_done,
				  e);
	if (rc != 0) {
		examine_end(e);
	}
}

void
raid_examine(struct vt_bdev *bdev)
{
	size_t len = strlen(bdev->name) + 1;
	struct examine_ctx *e = calloc(1, sizeof(*e) + len);

	if (e == NULL) {
		return;
	}
	memcpy(e->name, bdev->name, len);
	/* Later, from a message: the creator of bdev is still inside vt_bdev_register. */
	vt_bdev_examine_hold();
	if (vt_send_msg(0, examine_msg, e) != 0) {
		vt_bdev_examine_release();
		free(e);
	}
}
