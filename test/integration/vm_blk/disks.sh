# SPDX-License-Identifier: BSD-3-Clause
# Guest half of VmBlkTest.test_malloc_file_readonly_disks (test_vm_blk.py), run by dash.
#
# Three vhost-user-blk disks: MAL (malloc, 512-byte blocks), FILE (file bdev on a host file) and
# RO (malloc, 4096-byte blocks, read-only controller). Environment, for X in MAL FILE RO:
# X_PCI (PCI address), X_BYTES, X_SERIAL, X_LBS (logical block size).
# Layout of MAL and FILE (64 MiB each), in MiB, with P = pattern.bin (3 MiB, from the host):
#   [0,16)  fio 4 KiB random write + crc32c verify     [16,32) fio 128 KiB sequential, same
#   [32,34) P[0,2M), then DISCARD of [32,33): zeroes; [33,34) keeps P[1M,2M)
#   [36,39) P[0,3M), then BLKZEROOUT of [36,37) (WRITE_ZEROES, no UNMAP flag) and a punched hole
#           at [37,38) (WRITE_ZEROES with the UNMAP flag): zeroes; [38,39) keeps P[2M,3M)
#   FILE only: [48,49) P[0,1M) in 64 KiB writes; 512-byte writes at 52M + 512*k (k = 1, 3, 7)
#   of P[1M + 512*k]; the last 4 KiB of the disk from P[2M] (then a FLUSH). The host checks these
#   bytes in the backing file after the guest ends, and compares the file's MD5 with the one the
#   guest read through the disk (file.md5).

# the functions below run through check (SC2317); sysfs names are plain (SC2012)
# shellcheck disable=SC2317,SC2012
# shellcheck source=lib.sh
. ./lib.sh

M=1048576
mal=$(wait_disk "$MAL_PCI") || { echo "no malloc disk"; exit 1; }
file=$(wait_disk "$FILE_PCI") || { echo "no file disk"; exit 1; }
ro=$(wait_disk "$RO_PCI") || { echo "no read-only disk"; exit 1; }
echo "disks: malloc=$mal file=$file ro=$ro"

check mal_identity identity "$mal" "$MAL_BYTES" "$MAL_SERIAL" "$MAL_LBS" 0
# the file bdev supports FLUSH: the disk has a write-back cache
check file_identity identity "$file" "$FILE_BYTES" "$FILE_SERIAL" "$FILE_LBS" 0 "write back"
check ro_identity identity "$ro" "$RO_BYTES" "$RO_SERIAL" "$RO_LBS" 1

job() {	# job DISK KIND: one fio job (4 KiB random or 128 KiB sequential)
	case $2 in
	rand) echo "--name=$1-rand4k --filename=/dev/$1 --rw=randwrite --bs=4k --offset=0 --size=16M" ;;
	seq) echo "--name=$1-seq128k --filename=/dev/$1 --rw=write --bs=128k --offset=16M --size=16M" ;;
	esac
}
# shellcheck disable=SC2046
check fio_verify_both fio_verify both $(job "$mal" rand) $(job "$mal" seq) \
	$(job "$file" rand) $(job "$file" seq)

discard() {	# discard DISK: DISCARD of a written range reads zeroes; the rest is untouched
	d=$1
	echo "discard_max_bytes $(cat "/sys/block/$d/queue/discard_max_bytes")"
	[ "$(cat "/sys/block/$d/queue/discard_max_bytes")" -gt 0 ] || { echo "no discard"; return 1; }
	write_pattern "$d" $((32 * M)) 0 $((2 * M)) &&
		blkdiscard -v -o $((32 * M)) -l "$M" "/dev/$d" &&
		is_zero "$d" $((32 * M)) "$M" && has_pattern "$d" $((33 * M)) "$M" "$M"
}
zeroout() {	# zeroout DISK: BLKZEROOUT (no unmap) and punch hole (unmap) read zeroes
	d=$1
	echo "write_zeroes_max_bytes $(cat "/sys/block/$d/queue/write_zeroes_max_bytes")"
	[ "$(cat "/sys/block/$d/queue/write_zeroes_max_bytes")" -gt 0 ] ||
		{ echo "no write zeroes"; return 1; }
	write_pattern "$d" $((36 * M)) 0 $((3 * M)) &&
		blkdiscard -v -z -o $((36 * M)) -l "$M" "/dev/$d" &&
		fallocate -v -p -o $((37 * M)) -l "$M" "/dev/$d" &&
		is_zero "$d" $((36 * M)) $((2 * M)) && has_pattern "$d" $((38 * M)) $((2 * M)) "$M"
}
check mal_discard discard "$mal"
check file_discard discard "$file"
check mal_write_zeroes zeroout "$mal"
check file_write_zeroes zeroout "$file"

file_pattern() {	# the writes whose bytes the host checks in the backing file (and file_md5)
	d=$file
	write_pattern "$d" $((48 * M)) 0 "$M" 64K || return 1
	for k in 1 3 7; do
		dd if="$log_dir/pattern.bin" of="/dev/$d" iflag=skip_bytes oflag=direct,seek_bytes \
			bs=512 count=1 skip=$((M + 512 * k)) seek=$((52 * M + 512 * k)) status=none ||
			return 1
	done
	# conv=fsync: the last write is followed by a FLUSH
	dd if="$log_dir/pattern.bin" of="/dev/$d" iflag=skip_bytes oflag=direct,seek_bytes \
		bs=4096 count=1 skip=$((2 * M)) seek=$((FILE_BYTES - 4096)) conv=fsync status=none
}
check file_pattern file_pattern

readonly_disk() {	# a write fails (the kernel refuses it: F_RO); the data stays (zeroes)
	d=$ro
	is_zero "$d" 0 $((1 * M)) || return 1
	if dd if=/dev/urandom of="/dev/$d" bs=4096 count=1 oflag=direct status=none; then
		echo "a write to the read-only disk succeeded"
		return 1
	fi
	is_zero "$d" 0 $((1 * M)) && echo "read-only disk unchanged"
}
check ro_write_fails readonly_disk

sums() {	# MD5 of the whole file disk, read back through the guest (the host compares)
	read_range "$file" 0 "$FILE_BYTES" | md5sum | cut -d' ' -f1 >"$log_dir/file.md5" &&
		cat "$log_dir/file.md5"
}
check file_md5 sums

finish
