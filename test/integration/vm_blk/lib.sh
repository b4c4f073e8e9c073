# SPDX-License-Identifier: BSD-3-Clause
# Guest helpers of test/integration/test_vm_blk.py (sourced by the guest scripts; dash).
#
# Each check prints one console line that the host parses:
#   VMBLK-CHECK ok|FAIL NAME SECONDS [DETAIL]
# and keeps its output in /tmp/vmtest/NAME.log (the job folder: the host reads it on failure).
# $fails counts the failed checks; a script ends with `finish`, whose status is that count.
# Disks are found by their PCI address (the host places each vhost-user-blk-pci device at a
# known slot), so a check never depends on the order in which the guest named them.

fails=0
log_dir=${VMTEST_DIR:-/tmp/vmtest}

now() {
	cut -d' ' -f1 /proc/uptime
}

elapsed() {
	awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'
}

# check NAME COMMAND...: runs COMMAND with its output in NAME.log; one VMBLK-CHECK line
check() {
	_name=$1
	shift
	_t0=$(now)
	if "$@" >"$log_dir/$_name.log" 2>&1; then
		echo "VMBLK-CHECK ok $_name $(elapsed "$_t0")"
	else
		fails=$((fails + 1))
		echo "VMBLK-CHECK FAIL $_name $(elapsed "$_t0") $(tail -n 1 "$log_dir/$_name.log")"
		tail -n 15 "$log_dir/$_name.log" | sed 's/^/    | /'
	fi
}

finish() {
	echo "VMBLK-DONE fails=$fails"
	[ "$fails" -gt 100 ] && fails=100
	exit "$fails"
}

# expect_eq WHAT GOT WANT
expect_eq() {
	echo "$1: got '$2', want '$3'"
	[ -n "$3" ] && [ "$2" = "$3" ]
}

# disk_of PCI_ADDRESS: prints the vdX name of the virtio-blk disk at that address
disk_of() {
	for _d in /sys/block/vd*; do
		[ -e "$_d/device" ] || continue
		case $(readlink -f "$_d/device") in
		*/"$1"/virtio*) echo "${_d##*/}"; return 0 ;;
		esac
	done
	return 1
}

# wait_disk PCI_ADDRESS [SECONDS]: waits for the disk to appear; prints its name
wait_disk() {
	_n=$((${2:-10} * 10))
	while [ "$_n" -gt 0 ]; do
		if disk_of "$1"; then
			return 0
		fi
		sleep 0.1
		_n=$((_n - 1))
	done
	echo "no virtio-blk disk at PCI address $1; disks:" >&2
	for _d in /sys/block/vd*; do
		[ -e "$_d" ] && echo "  ${_d##*/} -> $(readlink -f "$_d/device")" >&2
	done
	return 1
}

# identity DISK BYTES SERIAL LOGICAL_BLOCK_SIZE RO [WRITE_CACHE]: the disk as the guest sees
# it; WRITE_CACHE ("write back" when FLUSH was negotiated) is only shown when not given
identity() {
	_ok=0
	[ -b "/dev/$1" ] || { echo "/dev/$1 is not a block device"; return 1; }
	expect_eq "/sys/block/$1/size * 512" "$(($(cat "/sys/block/$1/size") * 512))" "$2" || _ok=1
	expect_eq "blockdev --getsize64" "$(blockdev --getsize64 "/dev/$1")" "$2" || _ok=1
	expect_eq "/sys/block/$1/serial" "$(cat "/sys/block/$1/serial")" "$3" || _ok=1
	expect_eq "/sys/block/$1/queue/logical_block_size" \
		"$(cat "/sys/block/$1/queue/logical_block_size")" "$4" || _ok=1
	expect_eq "/sys/block/$1/ro" "$(cat "/sys/block/$1/ro")" "$5" || _ok=1
	if [ -n "$6" ]; then
		expect_eq "/sys/block/$1/queue/write_cache" \
			"$(cat "/sys/block/$1/queue/write_cache")" "$6" || _ok=1
	else
		echo "write_cache: $(cat "/sys/block/$1/queue/write_cache")"
	fi
	echo "features: $(cat "$(readlink -f "/sys/block/$1/device")/features")"
	echo "queues: $(find "/sys/block/$1/mq" -mindepth 1 -maxdepth 1 | wc -l)"
	return "$_ok"
}

# fio_verify LOGNAME JOB_OPTIONS...: fio with crc32c write+verify; one job per --name
# (common options first, so each job may override them)
fio_verify() {
	_log=$1
	shift
	fio --ioengine=libaio --direct=1 --iodepth=16 --verify=crc32c --do_verify=1 \
		--verify_fatal=1 --randrepeat=0 --verify_state_save=0 "$@" \
		--output="$log_dir/$_log.fio" || { cat "$log_dir/$_log.fio"; return 1; }
	grep -E 'err=|WRITE:|READ:' "$log_dir/$_log.fio"
	! grep -E 'err= *[1-9]' "$log_dir/$_log.fio"
}

# read_range DISK OFFSET LENGTH: the bytes of the disk (O_DIRECT) on stdout
read_range() {
	dd if="/dev/$1" iflag=direct,skip_bytes,count_bytes bs=1M skip="$2" count="$3" \
		status=none
}

# is_zero DISK OFFSET LENGTH: the range reads as zeroes
is_zero() {
	read_range "$1" "$2" "$3" | cmp -n "$3" - /dev/zero
}

# write_pattern DISK OFFSET FILE_OFFSET LENGTH [BS]: pattern.bin bytes to the disk (O_DIRECT)
write_pattern() {
	dd if="$log_dir/pattern.bin" of="/dev/$1" iflag=skip_bytes,count_bytes \
		oflag=direct,seek_bytes bs="${5:-64K}" skip="$3" seek="$2" count="$4" status=none
}

# has_pattern DISK OFFSET FILE_OFFSET LENGTH: the disk holds those pattern.bin bytes
has_pattern() {
	dd if="$log_dir/pattern.bin" iflag=skip_bytes,count_bytes bs=64K skip="$3" count="$4" \
		status=none >/tmp/want.bin &&
		read_range "$1" "$2" "$4" | cmp - /tmp/want.bin
}
