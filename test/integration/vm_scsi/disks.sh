#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Prints one line per SCSI disk of the guest:
# "DISK <target> <lun> <sdX> <sgN> <512-byte sectors> <logical block size> <vendor> <model>
# <driver of the HBA's PCI device>".
for d in /sys/bus/scsi/devices/*:*:*:*; do
	[ -e "$d/block" ] || continue
	h=${d##*/}
	host=${h%%:*}
	rest=${h#*:}
	rest=${rest#*:}
	tgt=${rest%%:*}
	lun=${rest#*:}
	drv=$(readlink -f /sys/class/scsi_host/host$host/device/../driver 2>/dev/null)
	sd=$(ls "$d/block" | head -n 1)
	sg=$(ls "$d/scsi_generic" 2>/dev/null | head -n 1)
	echo "DISK $tgt $lun $sd $sg $(cat /sys/block/$sd/size) \
$(cat /sys/block/$sd/queue/logical_block_size) $(cat $d/vendor | tr -d ' ') \
$(cat $d/model | tr -d ' ') ${drv##*/}"
done
