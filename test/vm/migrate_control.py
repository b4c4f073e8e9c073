#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The control run of test_vm_migrate.py: the same guest, fio loop and migrations, repeated.

    python3 test/vm/migrate_control.py --devices qemu --runs 10 --bandwidth 48
    python3 test/vm/migrate_control.py --devices vtarget --runs 10 --bandwidth 48

--devices qemu replaces the vhost-user devices with QEMU's own virtio-blk (split, and packed with
2 queues) and virtio-scsi (2 queues, scsi-hd on targets 0 and 1) over the same disk files, so
vtarget is not in the data path at all; vtarget runs the unchanged test. --bandwidth (MiB/s)
sets the migration's max-bandwidth: a low one makes QEMU copy guest memory in several passes
while the guest runs. --tcg-thread and --cpu change QEMU's TCG threading and CPU model.
Prints one line per run and the count of failed runs; each failed run's output is kept in
--keep. Diagnosis only: not part of `make test` (doc/migration.md says what it showed).
"""

import argparse
import io
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import vm  # noqa: E402
import test_vm_migrate as tvm  # noqa: E402

OPTS = argparse.Namespace()


def qemu_argv(orig):
    def argv(self):
        a = orig(self)
        if OPTS.tcg_thread:
            a = [x.replace("tcg,thread=multi", "tcg,thread=" + OPTS.tcg_thread) for x in a]
        if OPTS.cpu and "-cpu" in a:
            a[a.index("-cpu") + 1] = OPTS.cpu
        return a
    return argv


class QemuDevices(tvm.VmMigrateTest):
    """QEMU's own devices on the disk files; the daemons are not started."""

    def host(self, files, label, daemon=None):
        self.files = files
        return label

    def qemu_args(self, d):
        f = self.files
        a = []
        for n in ("B0", "B1", "S0", "S1"):
            a += ["-blockdev", "driver=file,node-name=f%s,filename=%s,locking=off" % (n, f[n])]
        slot = tvm.FIRST_SLOT
        return a + [
            "-device", "virtio-blk-pci,id=blk0,drive=fB0,serial=B0,num-queues=1,bus=pcie.0,"
            "addr=0x%x" % slot,
            "-device", "virtio-blk-pci,id=blk1,drive=fB1,serial=B1,num-queues=2,packed=on,"
            "bus=pcie.0,addr=0x%x" % (slot + 1),
            "-device", "virtio-scsi-pci,id=scsi0,num_queues=2,bus=pcie.0,addr=0x%x" % (slot + 2),
            "-device", "scsi-hd,drive=fS0,bus=scsi0.0,scsi-id=0,lun=0",
            "-device", "scsi-hd,drive=fS1,bus=scsi0.0,scsi-id=1,lun=0",
        ]

    def wait_no_session(self, d, timeout=30.0):
        pass

    def iostat(self, d):
        # No daemon to ask: a count that grows between the calls before and after a migration
        # (the guest's own fio verify is the check of the data).
        self.io_count = getattr(self, "io_count", 0) + 1
        return {n: (self.io_count, self.io_count) for n in ("B0", "B1", "S0", "S1")}

    def migrate(self, g, d_dst, label, bandwidth=1 << 30):
        return super().migrate(g, d_dst, label, bandwidth=OPTS.bandwidth << 20)

    def stop_clean(self, d):
        pass


class VtargetDevices(tvm.VmMigrateTest):
    def migrate(self, g, d_dst, label, bandwidth=1 << 30):
        return super().migrate(g, d_dst, label, bandwidth=OPTS.bandwidth << 20)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devices", choices=("qemu", "vtarget"), default="qemu")
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--bandwidth", type=int, default=48, help="MiB/s (default 48)")
    p.add_argument("--tcg-thread", choices=("multi", "single"), default=None)
    p.add_argument("--cpu", default=None, help="QEMU -cpu model (default: vm.py's)")
    p.add_argument("--keep", default="/tmp/vt-migrate-control")
    p.parse_args(namespace=OPTS)
    vm.VM.qemu_argv = qemu_argv(vm.VM.qemu_argv)
    cls = QemuDevices if OPTS.devices == "qemu" else VtargetDevices
    os.makedirs(OPTS.keep, exist_ok=True)
    failed = 0
    for i in range(1, OPTS.runs + 1):
        out = io.StringIO()
        t0 = time.monotonic()
        res = unittest.TextTestRunner(stream=out, verbosity=2).run(
            unittest.TestSuite([cls("test_migrate_under_fio_and_back")]))
        ok = res.wasSuccessful()
        if not ok:
            failed += 1
            path = os.path.join(OPTS.keep, "run%d.txt" % i)
            with open(path, "w") as f:
                f.write(out.getvalue())
        print("run %d: %s (%.0f s)%s" % (i, "ok" if ok else "FAILED", time.monotonic() - t0,
                                         "" if ok else ", output in " + path), flush=True)
    print("%s devices, %d MiB/s: %d of %d runs failed" % (OPTS.devices, OPTS.bandwidth, failed,
                                                          OPTS.runs))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
