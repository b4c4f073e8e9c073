#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Guest init of the vtarget VM test harness (busybox sh, PID 1 of the initramfs).
#
# Loads the modules listed in /modules.order, mounts the host's root (9p tag "hostroot", read-only)
# on /newroot with fresh proc, sys, dev, dev/pts, dev/shm and tmpfs /tmp, /run, /var/tmp, mounts
# the job folder (9p tag "vmtest", read-write) on /newroot/tmp/vmtest, then runs
# /tmp/vmtest/run.sh chrooted into /newroot, so it uses the host's /usr. Markers on the console:
#   VMTEST-BOOTED uptime=SECONDS   the script is about to start
#   VMTEST-ERROR MESSAGE           the guest could not be set up
#   VMTEST-RESULT rc=N             run.sh ended with status N (125: setup failed)
# then the guest powers off.
#
# The standalone image (build_initramfs.sh -s: it carries /agent.sh, busybox and fio) mounts no
# 9p, so that the guest can be live-migrated: after the modules it mounts dev/pts, dev/shm and
# tmpfs /tmp, prints VMTEST-BOOTED and runs the control-mode agent (/agent.sh) in /tmp; its exit
# status is the VMTEST-RESULT. Kernel command line options:
#   vmtest.msize=BYTES  9p msize (default 262144)     vmtest.cache=MODE  9p cache mode of the root
#   vmtest.shell=1      start a shell on the console instead of powering off after run.sh
export PATH=/usr/bin:/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec 0</dev/console 1>/dev/console 2>&1

msize=262144
cache=loose
shell=0
for arg in $(cat /proc/cmdline); do
	case $arg in
	vmtest.msize=*) msize=${arg#*=} ;;
	vmtest.cache=*) cache=${arg#*=} ;;
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

if [ -f /agent.sh ]; then
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
fi

opts=trans=virtio,version=9p2000.L,msize=$msize
mount -t 9p -o "$opts,ro,cache=$cache" hostroot /newroot || fail "cannot mount the host root (9p tag hostroot)"
r=/newroot
mount -t proc proc $r/proc || fail "cannot mount $r/proc"
mount -t sysfs sysfs $r/sys || fail "cannot mount $r/sys"
mount -t devtmpfs devtmpfs $r/dev || fail "cannot mount $r/dev"
mkdir -p $r/dev/pts $r/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts $r/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $r/dev/shm
for d in /tmp /run /var/tmp; do
	if [ -d $r$d ]; then
		mount -t tmpfs -o mode=1777,size=50% tmpfs $r$d || fail "cannot mount tmpfs on $d"
	fi
done
mkdir -p $r/tmp/vmtest
mount -t 9p -o "$opts,cache=none" vmtest $r/tmp/vmtest || fail "cannot mount the job folder (9p tag vmtest)"
[ -f $r/tmp/vmtest/run.sh ] || fail "no run.sh in the job folder"

read -r up _ </proc/uptime
echo "VMTEST-BOOTED uptime=$up"

env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp TERM=dumb \
	LANG=C.UTF-8 VMTEST_DIR=/tmp/vmtest \
	chroot $r /bin/sh -c 'cd /tmp/vmtest && exec /bin/sh ./run.sh' </dev/null
rc=$?
sync
finish $rc
