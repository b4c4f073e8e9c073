# SPDX-License-Identifier: BSD-3-Clause
# Guest half of VmBlkTest.test_guest_killed_mid_io (test_vm_blk.py), second guest: it connects
# to the controller whose previous guest was SIGKILLed mid-I/O, reads back what that guest wrote
# before it was killed, and runs fio write+verify. Environment: DISK_PCI, DISK_BYTES.

# shellcheck source=lib.sh
. ./lib.sh

M=1048576
disk=$(wait_disk "$DISK_PCI") || { echo "no disk"; exit 1; }
echo "disk: $disk"

check size expect_eq size "$(blockdev --getsize64 "/dev/$disk")" "$DISK_BYTES"
check data_kept has_pattern "$disk" $((8 * M)) 0 $((4 * M))
check fio_after_kill fio_verify after --name=after --filename="/dev/$disk" --rw=randwrite \
	--bs=4k --offset=0 --size=8M

finish
