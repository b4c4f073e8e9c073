#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Guest half of test/vm/selftest.sh: runs inside the VM (chrooted into the host's root).
# Checks a virtio-blk disk (/dev/vda) and a virtio-scsi disk (found by its serial) with the host's
# tools. Prints "VMSTEP NAME PASS|FAIL SECONDS" per step; each step's output is kept in
# /tmp/vmtest/NAME.log (the job folder, read by the host). Exit status: number of failed steps.
# Environment (set by the host): VDA_BYTES VDA_SERIAL SD_BYTES SD_SERIAL ISCSI_FULL (1: also run
# the whole iscsi-test-cu SCSI family).

fails=0
log_dir=/tmp/vmtest

now() {
	cut -d' ' -f1 /proc/uptime
}

# step NAME COMMAND...: runs one check with its output in NAME.log
step() {
	name=$1
	shift
	t0=$(now)
	if "$@" >"$log_dir/$name.log" 2>&1; then
		r=PASS
	else
		r=FAIL
		fails=$((fails + 1))
	fi
	t1=$(now)
	echo "VMSTEP $name $r $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
	if [ $r = FAIL ]; then
		tail -n 20 "$log_dir/$name.log" | sed 's/^/    /'
	fi
}

expect_eq() {
	echo "$1: got '$2', want '$3'"
	[ -n "$3" ] && [ "$2" = "$3" ]
}

is_blockdev() {
	[ -b "$1" ] && return 0
	echo "$1 is not a block device"
	return 1
}

vda_size() {
	is_blockdev /dev/vda &&
		expect_eq "blockdev --getsize64 /dev/vda" "$(blockdev --getsize64 /dev/vda)" "$VDA_BYTES" &&
		expect_eq "/sys/block/vda/size * 512" "$(($(cat /sys/block/vda/size) * 512))" "$VDA_BYTES"
}

vda_serial() {
	serial=$(cat /sys/block/vda/serial) &&
		expect_eq /sys/block/vda/serial "$serial" "$VDA_SERIAL"
}

fio_verify() {
	is_blockdev /dev/vda || return 1
	fio --name=verify --filename=/dev/vda --ioengine=libaio --direct=1 --iodepth=8 \
		--rw=randwrite --bs=4k --size=16M --verify=crc32c --do_verify=1 --verify_fatal=1 \
		--verify_backlog=0
}

sg_dev=
find_sg() {
	for d in /sys/class/scsi_generic/sg*; do
		[ -e "$d/device/vpd_pg80" ] || continue
		if grep -aq "$SD_SERIAL" "$d/device/vpd_pg80"; then
			sg_dev=/dev/${d##*/}
			echo "scsi disk with serial $SD_SERIAL: $sg_dev"
			return 0
		fi
	done
	echo "no /dev/sg* with serial $SD_SERIAL"
	ls -l /sys/class/scsi_generic/ 2>&1
	return 1
}

sg_inq_check() {
	sg_inq "$sg_dev" >"$log_dir/sg_inq.out" 2>&1
	rc=$?
	cat "$log_dir/sg_inq.out"
	[ $rc -eq 0 ] && grep -q "Unit serial number: $SD_SERIAL" "$log_dir/sg_inq.out"
}

sg_readcap_check() {
	out=$(sg_readcap "$sg_dev") || {
		echo "$out"
		return 1
	}
	echo "$out"
	bytes=$(echo "$out" | sed -n 's/.*Device size: \([0-9]*\) bytes.*/\1/p')
	expect_eq "sg_readcap device size" "$bytes" "$SD_BYTES"
}

# iscsi-test-cu exits non-zero when a test fails (QEMU's scsi-hd fails some): the step checks that
# the suite ran to its summary; the host counts passed / failed / skipped from the log.
iscsi_suite() {
	iscsi-test-cu --dataloss --test="$1" "$sg_dev"
	echo "iscsi-test-cu exit status: $?"
}
iscsi_check() {
	iscsi_suite "$1" >"$log_dir/$2.out" 2>&1
	tail -n 8 "$log_dir/$2.out"
	grep -q '^Run Summary' "$log_dir/$2.out"
}

t_start=$(now)
step vda_size vda_size
step vda_serial vda_serial
step fio_verify fio_verify
step find_sg find_sg
if [ -n "$sg_dev" ]; then
	step sg_inq sg_inq_check
	step sg_readcap sg_readcap_check
	step iscsi_read10 iscsi_check SCSI.Read10 iscsi_read10
	if [ "${ISCSI_FULL:-0}" = 1 ]; then
		step iscsi_full iscsi_check SCSI iscsi_full
	fi
fi
echo "VMSTEP total $([ $fails -eq 0 ] && echo PASS || echo FAIL) $(awk -v a="$t_start" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')"
exit $fails
