# SPDX-License-Identifier: BSD-3-Clause
# Guest half of test_vm_reconnect.py (dash; sourced after vm_blk/lib.sh). Environment: DISK_PCI.
#
# fio randwrite with crc32c verify (verify_fatal) on the vhost-user-blk disk, two jobs (one per
# vCPU, so both queues carry I/O), round after round until the host creates stop in the job
# folder; the host kills and restarts the daemon meanwhile. Then the kernel log must hold no
# I/O error and no hung task.

disk=$(wait_disk "$DISK_PCI" 30) || finish
echo "VMRC-DISK $disk queues=$(find "/sys/block/$disk/mq" -mindepth 1 -maxdepth 1 | wc -l)"

rounds=0
fio_ok=1
t0=$(now)
while [ ! -e "$log_dir/stop" ]; do
	if ! fio --ioengine=libaio --direct=1 --iodepth=16 --rw=randwrite --bs=4k --size=32M \
		--numjobs=2 --offset_increment=32M --cpus_allowed=0-1 --cpus_allowed_policy=split \
		--verify=crc32c --do_verify=1 --verify_fatal=1 --randrepeat=0 --verify_state_save=0 \
		--name="round$rounds" --filename="/dev/$disk" --output="$log_dir/round.fio" \
		</dev/null >/dev/null 2>&1; then
		fio_ok=0
		cp "$log_dir/round.fio" "$log_dir/failed.fio"
		echo "VMRC-ROUND FAIL $rounds $(elapsed "$t0")"
		tail -n 20 "$log_dir/round.fio" | sed 's/^/    | /'
		break
	fi
	if grep -qE 'err= *[1-9]' "$log_dir/round.fio"; then
		fio_ok=0
		echo "VMRC-ROUND FAIL $rounds $(elapsed "$t0") (err= in the fio output)"
		break
	fi
	rounds=$((rounds + 1))
	echo "VMRC-ROUND ok $rounds $(elapsed "$t0")"
done

dmesg >"$log_dir/dmesg.log" 2>&1
check fio_verify expect_eq "fio rounds all verified ($rounds rounds)" "$fio_ok" 1
check rounds_ran test "$rounds" -ge 1
check no_io_error sh -c "! grep -iE 'I/O error|blk_update_request|critical (medium|target)|Buffer I/O|virtio_blk.*(error|failed)' '$log_dir/dmesg.log'"
check no_hung_task sh -c "! grep -E 'blocked for more than|hung_task|INFO: task' '$log_dir/dmesg.log'"
finish
