# SPDX-License-Identifier: BSD-3-Clause
# Guest half of the two-queue tests of test_vm_blk.py (split and packed ring), run by dash.
#
# One vhost-user-blk disk with QUEUES queues on a guest with as many vCPUs. Environment:
# DISK_PCI, DISK_BYTES, QUEUES, FEATURES_ON (virtio feature bits that must be negotiated),
# FEATURES_OFF (bits that must not be). Checks: the queue count; the feature bits; fio with one
# job per queue, each pinned to a CPU of that queue's hardware context (4 KiB random and 128 KiB
# sequential writes, crc32c verify); every queue signalled completions during fio (its
# interrupt "virtioN-req.Q" in /proc/interrupts; the kernel of these guests has no per-hctx
# request counters in debugfs any more).

# the functions below run through check (SC2317); sysfs names are plain (SC2012)
# shellcheck disable=SC2317,SC2012
# shellcheck source=lib.sh
. ./lib.sh

M=1048576
disk=$(wait_disk "$DISK_PCI") || { echo "no disk"; exit 1; }
echo "disk: $disk"

queue_count() {
	ls "/sys/block/$disk/mq"
	for q in "/sys/block/$disk/mq"/*; do
		echo "hctx ${q##*/}: cpus $(cat "$q/cpu_list")"
	done
	expect_eq "queues" "$(ls "/sys/block/$disk/mq" | wc -l)" "$QUEUES" &&
		expect_eq "size" "$(blockdev --getsize64 "/dev/$disk")" "$DISK_BYTES"
}
check queue_count queue_count

features() {	# one awk over the feature string: bit N is character N + 1
	awk -v on="$FEATURES_ON" -v off="$FEATURES_OFF" '{
		print "features: " $0
		n = split(on, a, " ")
		for (i = 1; i <= n; i++) {
			v = substr($0, a[i] + 1, 1)
			print "feature bit " a[i] ": got " v ", want 1"
			if (v != "1") bad = 1
		}
		n = split(off, a, " ")
		for (i = 1; i <= n; i++) {
			v = substr($0, a[i] + 1, 1)
			print "feature bit " a[i] ": got " v ", want 0"
			if (v != "0") bad = 1
		}
	} END { exit bad }' "$(readlink -f "/sys/block/$disk/device")/features"
}
check features features

vdev=$(basename "$(readlink -f "/sys/block/$disk/device")")

irqs() {	# irqs Q: interrupts of queue Q so far (all CPUs)
	awk -v name="$vdev-req.$1" '$NF == name {
		for (i = 2; i < NF; i++) if ($i ~ /^[0-9]+$/) n += $i; found = 1 }
		END { if (!found) exit 1; print n + 0 }' /proc/interrupts
}

# one fio job per queue, pinned to the first CPU of that queue's hardware context
per_queue_fio() {
	jobs=
	before=
	q=0
	while [ "$q" -lt "$QUEUES" ]; do
		cpu=$(cut -d, -f1 "/sys/block/$disk/mq/$q/cpu_list" | cut -d- -f1)
		if [ $((q % 2)) = 0 ]; then
			kind="--rw=randwrite --bs=4k"
		else
			kind="--rw=write --bs=128k"
		fi
		jobs="$jobs --name=q$q --filename=/dev/$disk $kind --offset=$((q * 16 * M)) --size=16M"
		jobs="$jobs --cpus_allowed=$cpu"
		n=$(irqs "$q") || { echo "no interrupt $vdev-req.$q:"; cat /proc/interrupts; return 1; }
		before="$before $n"
		q=$((q + 1))
	done
	echo "interrupts before: $before"
	# shellcheck disable=SC2086
	fio_verify queues $jobs || return 1
	ok=0
	q=0
	for b in $before; do
		a=$(irqs "$q")
		echo "queue $q: $((a - b)) interrupts during fio"
		[ $((a - b)) -ge 10 ] || { echo "queue $q carried (almost) no I/O"; ok=1; }
		q=$((q + 1))
	done
	[ "$q" = "$QUEUES" ] || { echo "counted $q queues, want $QUEUES"; ok=1; }
	return "$ok"
}
check per_queue_fio per_queue_fio

finish
