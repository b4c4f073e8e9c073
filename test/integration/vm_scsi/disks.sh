#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Prints one line per SCSI disk of the guest:
# "DISK <target> <lun> <sdX> <sgN> <512-byte sectors> <logical block size> <vendor> <model>
# <driver of the HBA's PCI device>".
# Shell built-ins only, but for one readlink per SCSI host: every fork costs a TCG guest on a
# loaded host a noticeable time, and the list is read while disks come and go.
# Sets r to $1 without its spaces (no subshell).
nospace() {
	r=""
	for w in $1; do
		r="$r$w"
	done
}

lasthost=""
for d in /sys/bus/scsi/devices/*:*:*:*; do
	[ -e "$d/block" ] || continue
	h=${d##*/}
	host=${h%%:*}
	rest=${h#*:}
	rest=${rest#*:}
	tgt=${rest%%:*}
	lun=${rest#*:}
	if [ "$host" != "$lasthost" ]; then
		drv=$(readlink -f /sys/class/scsi_host/host$host/device/../driver 2>/dev/null)
		lasthost=$host
	fi
	sd=""
	for b in "$d"/block/*; do
		[ -e "$b" ] && sd=${b##*/}
		break
	done
	[ -n "$sd" ] || continue
	sg=""
	for s in "$d"/scsi_generic/*; do
		[ -e "$s" ] && sg=${s##*/}
		break
	done
	read -r size < "/sys/block/$sd/size" || continue
	read -r lbs < "/sys/block/$sd/queue/logical_block_size" || continue
	read -r vendor < "$d/vendor"
	nospace "$vendor"
	vendor=$r
	read -r model < "$d/model"
	nospace "$model"
	model=$r
	echo "DISK $tgt $lun $sd $sg $size $lbs $vendor $model ${drv##*/}"
done
