#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Guest init of the standalone VM test image (busybox sh, PID 1): no virtio-9p, so the guest can
# be live-migrated (QEMU blocks migration while a 9p export is mounted). The initramfs carries
# busybox, fio with the libraries it links and the control-mode agent (/agent.sh).
#
# Loads the modules listed in /modules.order, mounts proc, sys, dev (devtmpfs), dev/pts, dev/shm
# and tmpfs on /tmp, then runs the agent on the virtio-serial port vmtest.ctl (cwd /tmp). Markers
# on the console, as init.sh: VMTEST-BOOTED uptime=S, VMTEST-ERROR MESSAGE, VMTEST-RESULT rc=N
# (the agent's exit status), then the guest powers off. vmtest.shell=1 on the kernel command
# line starts a shell on the console after the agent.
export PATH=/usr/bin:/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec 0</dev/console 1>/dev/console 2>&1

shell=0
for arg in $(cat /proc/cmdline); do
	case $arg in
	vmtest.shell=*) shell=${arg#*=} ;;
	esac
done

finish() {
	echo "VMTEST-RESULT rc=$1"
	if [ "$shell" = 1 ]; then
		setsid cttyhack sh
	fi
	sync
	poweroff -f
	sleep 10
}

fail() {
	echo "VMTEST-ERROR $*"
	finish 125
}

while read -r m; do
	insmod "/lib/modules/$m" || fail "insmod $m failed"
done </modules.order

mkdir -p /dev/pts /dev/shm /tmp
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=1777,size=50% tmpfs /tmp || fail "cannot mount tmpfs on /tmp"

read -r up _ </proc/uptime
echo "VMTEST-BOOTED uptime=$up"

cd /tmp
env -i PATH=/usr/bin:/bin HOME=/tmp TERM=dumb /bin/sh /agent.sh </dev/null
rc=$?
sync
finish $rc
