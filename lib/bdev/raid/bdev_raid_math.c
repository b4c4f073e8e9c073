/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The raid bdev's geometry, free of any I/O: level names, the strip, the array's size from its
 * legs, where a raid LBA lives on raid0 and concat, cutting an iovec array to a piece, and the
 * raid1 read balancing choice.
 *
 * raid0 stripes strips round-robin over n legs: strip s lives on leg s % n at leg strip s / n.
 * Every leg contributes the same number of whole strips (the smallest leg's, rounded down).
 * concat puts the legs end to end, each rounded down to whole strips.
 */
#include <errno.h>
#include <string.h>

#include "lib/bdev/raid/bdev_raid.h"

int
raid_parse_level(const char *s, enum raid_level *level)
{
	if (strcmp(s, "raid0") == 0 || strcmp(s, "0") == 0) {
		*level = RAID_LEVEL_0;
	} else if (strcmp(s, "raid1") == 0 || strcmp(s, "1") == 0) {
		*level = RAID_LEVEL_1;
	} else if (strcmp(s, "concat") == 0) {
		*level = RAID_LEVEL_CONCAT;
	} else {
		return -EINVAL;
	}
	return 0;
}

const char *
raid_level_name(enum raid_level level)
{
	switch (level) {
	case RAID_LEVEL_0:
		return "raid0";
	case RAID_LEVEL_1:
		return "raid1";
	default:
		return "concat";
	}
}

const char *
raid_state_name(enum raid_state state)
{
	switch (state) {
	case RAID_STATE_ONLINE:
		return "online";
	case RAID_STATE_CONFIGURING:
		return "configuring";
	default:
		return "offline";
	}
}

int
raid_strip_blocks(uint32_t strip_size_kb, uint32_t blocklen, uint32_t *blocks, uint32_t *shift)
{
	uint64_t bytes = (uint64_t)strip_size_kb * 1024;
	uint32_t b, s = 0;

	if (strip_size_kb == 0 || (strip_size_kb & (strip_size_kb - 1)) != 0 || blocklen == 0 ||
	    bytes < blocklen) {
		return -EINVAL;
	}
	b = (uint32_t)(bytes / blocklen);
	while ((1u << s) < b) {
		s++;
	}
	*blocks = b;
	*shift = s;
	return 0;
}

uint64_t
raid_compute_blockcnt(enum raid_level level, uint32_t strip_shift, struct raid_leg *legs, uint8_t n)
{
	uint64_t min = UINT64_MAX, total = 0, size;

	for (uint8_t i = 0; i < n; i++) {
		if (legs[i].data_size < min) {
			min = legs[i].data_size;
		}
	}
	if (n == 0) {
		return 0;
	}
	switch (level) {
	case RAID_LEVEL_0:
		return ((min >> strip_shift) << strip_shift) * n;
	case RAID_LEVEL_1:
		return min;
	default:
		for (uint8_t i = 0; i < n; i++) {
			size = (legs[i].data_size >> strip_shift) << strip_shift;
			legs[i].concat_start = total;
			total += size;
		}
		return total;
	}
}

uint64_t
raid_map(enum raid_level level, uint32_t strip_shift, const struct raid_leg *legs, uint8_t n,
	 uint64_t off, uint64_t num, uint8_t *leg, uint64_t *leg_off)
{
	uint64_t strip_mask = (1ull << strip_shift) - 1;
	uint64_t strip, in_strip, room, end;

	if (level == RAID_LEVEL_0) {
		strip = off >> strip_shift;
		in_strip = off & strip_mask;
		*leg = (uint8_t)(strip % n);
		*leg_off = ((strip / n) << strip_shift) + in_strip;
		room = (1ull << strip_shift) - in_strip;
		return num < room ? num : room;
	}
	/* concat: the last leg whose start is <= off. */
	for (uint8_t i = n; i-- > 0;) {
		if (legs[i].concat_start <= off) {
			*leg = i;
			*leg_off = off - legs[i].concat_start;
			end = i + 1 < n ? legs[i + 1].concat_start
					: legs[i].concat_start + ((legs[i].data_size >> strip_shift)
								  << strip_shift);
			room = end - off;
			return num < room ? num : room;
		}
	}
	*leg = 0;
	*leg_off = off;
	return num;
}

void
raid_iov_cut(struct iovec *iov, int iovcnt, uint64_t off, uint64_t len, int *idx, int *cnt,
	     struct iovec *save_first, struct iovec *save_last)
{
	int i = 0, last;
	uint64_t left;

	while (i < iovcnt && off >= iov[i].iov_len) {
		off -= iov[i].iov_len;
		i++;
	}
	last = i;
	left = len + off;
	while (last < iovcnt - 1 && left > iov[last].iov_len) {
		left -= iov[last].iov_len;
		last++;
	}
	*idx = i;
	*cnt = last - i + 1;
	*save_first = iov[i];
	*save_last = iov[last];
	/* The last entry first: when it is the first one too, the offset applies on top. */
	iov[last].iov_len = left;
	iov[i].iov_base = (char *)iov[i].iov_base + off;
	iov[i].iov_len -= off;
}

void
raid_iov_restore(struct iovec *iov, int idx, int cnt, const struct iovec *save_first,
		 const struct iovec *save_last)
{
	iov[idx + cnt - 1] = *save_last;
	iov[idx] = *save_first;
}

int
raid1_pick_read_leg(const uint32_t *reads, uint32_t usable, uint8_t n, uint32_t *rr)
{
	int best = -1;
	uint8_t leg;

	for (uint8_t k = 0; k < n; k++) {
		leg = (uint8_t)((*rr + k) % n);
		if ((usable & (1u << leg)) == 0) {
			continue;
		}
		if (best < 0 || reads[leg] < reads[best]) {
			best = leg;
		}
	}
	if (best >= 0) {
		*rr = (uint32_t)(best + 1) % n;
	}
	return best;
}
