# SPDX-License-Identifier: BSD-3-Clause
# Guest helpers of VmBlkTest.test_guest_killed_mid_io (test_vm_blk.py), sourced (with lib.sh) by
# the control-mode commands of the first guest, the one that gets SIGKILLed. Environment:
# DISK_PCI. M = 1 MiB.

M=1048576
disk=$(wait_disk "$DISK_PCI") || exit 1

# prepare: pattern.bin[0,4M) at [8M,12M), read back, then flushed (conv=fsync)
prepare() {
	write_pattern "$disk" $((8 * M)) 0 $((4 * M)) && has_pattern "$disk" $((8 * M)) 0 $((4 * M)) &&
		dd if=/dev/zero of="/dev/$disk" bs=4096 count=0 conv=fsync status=none &&
		echo "pattern written to $disk"
}

# start_io: fio in the background, one job per vCPU, random reads and writes on [32M,64M) for
# longer than the test lasts (the host kills QEMU under it)
start_io() {
	fio --ioengine=libaio --direct=1 --iodepth=32 --rw=randrw --bs=4k --offset=32M --size=32M \
		--time_based --runtime=600 --numjobs=2 --name=bg --filename="/dev/$disk" \
		--output=/tmp/bg.fio </dev/null >/dev/null 2>&1 &
	echo "fio started (pid $!)"
}

# io_flowing: the disk completed requests within the last second
io_flowing() {
	a=$(awk '{ print $1 + $5 }' "/sys/block/$disk/stat")
	sleep 1
	b=$(awk '{ print $1 + $5 }' "/sys/block/$disk/stat")
	echo "completed requests: $a -> $b; in flight: $(cat "/sys/block/$disk/inflight")"
	[ "$b" -gt "$a" ]
}
