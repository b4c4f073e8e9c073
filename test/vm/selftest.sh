#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Self-test of the VM harness: boots guests with QEMU's own virtio-blk and virtio-scsi disks and
# checks them with fio, sg3_utils and iscsi-test-cu, then exercises control mode and QMP hot-plug.
# Bounded to 3 minutes. Usage: test/vm/selftest.sh [--quick] [--verbose]
#   --quick    skip the whole iscsi-test-cu SCSI family (saves about 30 s)
#   --verbose  echo the guest consoles
# Ends with "N passed, N failed"; exit status 0 only when nothing failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for tool in qemu-system-x86_64 busybox fio sg_inq sg_readcap iscsi-test-cu; do
	if ! command -v "$tool" >/dev/null; then
		echo "selftest: $tool not found (see test/vm/README.md for the packages)" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
done
timeout -k 10 180 python3 "$here/selftest.py" "$@"
rc=$?
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
	echo "selftest: killed at its 3 minute limit"
	echo "0 passed, 1 failed"
fi
exit $rc
