#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# /init of the libvirt VM test (test_vm_libvirt.py): appended to the harness's initramfs, it
# replaces test/vm/init.sh, so the guest needs no 9p share (QEMU runs as libvirt-qemu).
# Loads the modules, then on the virtio-blk disk (vda) and the vhost-user-scsi LUN (sda):
# writes 4 MiB of random data at 1 MiB with fsync, drops the page cache, reads it back and
# compares checksums. Console lines:
#   VTLV-CHECK ok|FAIL DISK bytes=SIZE md5=MD5   one per disk (MD5 of the data written)
#   VTLV-DONE rc=N                               N = number of failed checks
# then idles until the host destroys the domain (virsh destroy).
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec 0</dev/console 1>/dev/console 2>&1
mkdir -p /tmp
mount -t tmpfs tmpfs /tmp

idle() {
	while :; do
		sleep 3600
	done
}

while read -r m; do
	insmod "/lib/modules/$m" || echo "VTLV-ERROR insmod $m failed"
done </modules.order
read -r up _ </proc/uptime
echo "VTLV-BOOTED uptime=$up"

# waits up to 60 s for /sys/block/NAME
wait_disk() {
	i=0
	while [ ! -e "/sys/block/$1" ] && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -b "/dev/$1" ]
}

check() {
	name=$1
	dev=$2
	if ! wait_disk "$dev"; then
		echo "VTLV-CHECK FAIL $name no /dev/$dev"
		return 1
	fi
	bytes=$(blockdev --getsize64 "/dev/$dev")
	dd if=/dev/urandom of=/tmp/pat bs=65536 count=64 2>/dev/null
	want=$(md5sum </tmp/pat | cut -d' ' -f1)
	dd if=/tmp/pat of="/dev/$dev" bs=65536 seek=16 conv=fsync 2>/dev/null || {
		echo "VTLV-CHECK FAIL $name write"
		return 1
	}
	blockdev --flushbufs "/dev/$dev"
	echo 3 >/proc/sys/vm/drop_caches
	got=$(dd if="/dev/$dev" bs=65536 skip=16 count=64 2>/dev/null | md5sum | cut -d' ' -f1)
	if [ "$got" != "$want" ]; then
		echo "VTLV-CHECK FAIL $name read back $got, wrote $want"
		return 1
	fi
	echo "VTLV-CHECK ok $name bytes=$bytes md5=$want"
}

rc=0
check blk vda || rc=$((rc + 1))
check scsi sda || rc=$((rc + 1))
echo "VTLV-DONE rc=$rc"
idle
