# SPDX-License-Identifier: BSD-3-Clause
"""Live lifecycle with QEMU guests (test/vm harness, TCG): what an orchestrator does to running
VMs through the RPC socket, seen from inside the guest.

(a) delayed start: a controller created with `delay` has targets but no socket; QEMU (already
    running) cannot attach it and retries; after vhost_start_scsi_controller it attaches and the
    guest sees the targets;
(b) hot-attach: three targets added to a running guest appear as disks within 5 s (the guest is
    told through the event queue: TRANSPORT_RESET / RESCAN);
(c) hot-detach of a target while fio runs on it and fio with verify runs on another target: the
    detached disk disappears, the other fio finishes with verify OK;
(d) 100 attach / detach cycles (1000 in `make soak`) while fio runs on a third target: every RPC answers, no error,
    the daemon's RSS and open fd count stay flat;
(e) vhost-user-blk: bdev resize and hot-remove seen by the guest (config-change notification:
    new size, then capacity 0 and I/O errors), `"bdev": null` in vhost_get_controllers;
    and for scsi, a bdev resize reaches the guest as a PARAM_CHANGE event (new size in sysfs)
    and a bdev hot-remove as a hot-detach.

Latencies from the RPC answer to the disk appearing / disappearing in the guest are printed
(host clock; they include one guest-agent round trip, about 0.1-0.3 s under TCG).
Environment: VT_VM_LIFE_VERBOSE=1 shows the guest console.
"""

import os
import shutil
import sys
import time
import unittest

import vtlib
from vtlib import VtTestCase

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(vtlib.ROOT, "test", "vm"))

import vm  # noqa: E402  (test/vm/vm.py)
from test_vm_scsi import GUEST, guest_file, parse_disks  # noqa: E402

MiB = 1024 * 1024
VERBOSE = os.environ.get("VT_VM_LIFE_VERBOSE", "") not in ("", "0")
# Attach/detach cycles of test (d): 100 in `make test`, 1000 in `make soak`.
CYCLES = int(os.environ.get("VT_VM_LIFE_CYCLES", "100"))
SLOW = 2.0 if vtlib.SANITIZED else 1.0
EBUSY, EALREADY = -16, -114


def missing_tools():
    for prog in ("qemu-system-x86_64", "fio"):
        if not shutil.which(prog):
            return "%s is not installed" % prog
    if not os.path.isdir(GUEST):
        return "no %s" % GUEST
    return None


def proc_status(pid):
    """(RSS in KiB, open fd count) of a process."""
    rss = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return rss, len(os.listdir("/proc/%d/fd" % pid))


@vtlib.require(missing_tools())
class VmScsiLifecycleTest(VtTestCase):
    # A hang guard: a TCG guest boot, fio, waits on the guest, and up to 2 s per cycle of (d).
    TIME_LIMIT = 300.0 + 2.0 * CYCLES

    def guest(self, qemu_args, **kw):
        g = vm.VM(qemu_args, control=True, files={"disks.sh": guest_file("disks.sh")},
                  echo=sys.stdout if VERBOSE else None, start_timeout=30 * SLOW, **kw)
        self.addCleanup(g.close)
        return g

    def malloc(self, d, name, mib, bs=512):
        d.call("bdev_malloc_create", {"name": name, "num_blocks": mib * MiB // bs,
                                      "block_size": bs})

    def add_target(self, d, num, bdev, ctrlr="scsi0"):
        self.assertEqual(d.call("vhost_scsi_controller_add_target",
                                {"ctrlr": ctrlr, "scsi_target_num": num, "bdev_name": bdev}),
                         num)

    def remove_target(self, d, num, ctrlr="scsi0"):
        self.assertIs(d.call("vhost_scsi_controller_remove_target",
                             {"ctrlr": ctrlr, "scsi_target_num": num}, timeout=60 * SLOW),
                      True)

    def boot_scsi(self, d, targets, **kw):
        """A guest with controller scsi0 of daemon d attached at boot."""
        sock = os.path.join(d.dir, "scsi0")
        g = self.guest(["-chardev", "socket,id=c0,path=%s" % sock,
                        "-device", "vhost-user-scsi-pci,chardev=c0,num_queues=2"], **kw)
        g.start(timeout=120 * SLOW)
        self.wait_disks(g, targets, 100 * SLOW)
        return g

    def disks(self, g):
        # A few forks per disk: slow in a TCG guest on a loaded host; a cut list would lie.
        rc, out = g.cmd("sh /tmp/vmtest/disks.sh", timeout=120 * SLOW)
        self.assertEqual(rc, 0, "disks.sh did not finish (rc %d):\n%s" % (rc, out))
        return parse_disks(out)

    def wait_disks(self, g, targets, timeout):
        """Waits until the guest's disks are exactly on `targets`; returns (parse_disks, seconds
        on the host clock)."""
        t0 = time.monotonic()
        want = sorted(targets)
        # The wait runs in the guest (one agent round trip); sysfs is read every 50 ms.
        script = ("i=0; while [ $i -lt %d ]; do t=''; "
                  "for d in /sys/bus/scsi/devices/*:*:*:*; do [ -e $d/block ] || continue; "
                  "h=${d##*/}; r=${h#*:}; r=${r#*:}; t=\"$t ${r%%%%:*}\"; done; "
                  "[ \"$(echo $t | tr ' ' '\\n' | sort -n | tr '\\n' ' ')\" = \"%s\" ] && break; "
                  "sleep 0.05; i=$((i+1)); done"
                  % (int(timeout * 20), " ".join(str(t) for t in want) + (" " if want else "")))
        g.cmd(script, timeout=timeout + 30)
        elapsed = time.monotonic() - t0
        disks = self.disks(g)
        self.assertEqual(sorted(disks), want, "the guest's disks: %s" % disks)
        return disks, elapsed

    def agent_round_trip(self, g):
        t0 = time.monotonic()
        g.cmd("true", timeout=30)
        return time.monotonic() - t0

    def start_fio(self, g, tag, dev, extra):
        """Runs fio in the guest's background; its output and rc land in the job folder."""
        g.cmd("setsid sh -c 'fio --name=%s --filename=/dev/%s --direct=1 --ioengine=libaio "
              "--bs=4k --output-format=normal %s > /tmp/vmtest/fio_%s.txt 2>&1; "
              "echo $? > /tmp/vmtest/fio_%s.rc' > /dev/null 2>&1 &" % (tag, dev, extra, tag, tag),
              timeout=30)

    def wait_fio(self, g, tag, timeout):
        path = os.path.join(g.job_dir, "fio_%s.rc" % tag)
        deadline = time.monotonic() + timeout
        while not os.path.exists(path) or not open(path).read().strip():
            if time.monotonic() > deadline:
                self.fail("fio %s did not finish within %.0f s" % (tag, timeout))
            time.sleep(0.5)
        with open(os.path.join(g.job_dir, "fio_%s.txt" % tag), errors="replace") as f:
            out = f.read()
        return int(open(path).read().strip()), out

    # (a)
    def test_delayed_start_qemu_waits_then_sees_the_targets(self):
        d = self.start_daemon()
        self.malloc(d, "M0", 32)
        self.malloc(d, "M1", 16, 4096)
        self.assertIs(d.call("vhost_create_scsi_controller", {"ctrlr": "scsi0", "delay": True}),
                      True)
        self.add_target(d, 0, "M0")
        self.add_target(d, 1, "M1")
        sock = os.path.join(d.dir, "scsi0")
        self.assertFalse(os.path.exists(sock))

        g = self.guest([], hotplug_ports=1)
        g.start(timeout=120 * SLOW)
        chardev = {"id": "c0", "backend": {"type": "socket", "data": {
            "addr": {"type": "unix", "data": {"path": sock}}, "server": False}}}
        # QEMU cannot connect before the start: it retries (here: the orchestrator does).
        with self.assertRaises(vm.VMError):
            g.qmp("chardev-add", arguments=chardev)
        rc, out = g.cmd("ls /sys/bus/scsi/devices/ 2>/dev/null | wc -l", timeout=30)
        self.assertEqual(out.strip(), "0", "no SCSI device before the start")

        self.assertIs(d.call("vhost_start_scsi_controller", {"ctrlr": "scsi0"}), True)
        self.assertTrue(vtlib.is_socket(sock))
        g.qmp("chardev-add", arguments=chardev)
        g.qmp("device_add", driver="vhost-user-scsi-pci", id="hba0", chardev="c0", bus="hp0",
              num_queues=2)
        disks, _ = self.wait_disks(g, [0, 1], 100 * SLOW)
        self.assertEqual(disks[0]["sectors"] * 512, 32 * MiB)
        self.assertEqual(disks[1]["sectors"] * 512, 16 * MiB)
        self.assertEqual(disks[1]["lbs"], 4096)
        rc, out = g.cmd("dd if=/dev/%s of=/dev/null bs=4096 count=16 iflag=direct"
                        % disks[1]["sd"], timeout=60)
        self.assertEqual(rc, 0, out)
        g.stop()

    # (b)
    def test_hot_attach_three_targets_appear_within_5_s(self):
        d = self.start_daemon()
        for i, mib in enumerate((32, 8, 16, 24)):
            self.malloc(d, "M%d" % i, mib)
        d.call("vhost_create_scsi_controller", {"ctrlr": "scsi0"})
        self.add_target(d, 0, "M0")
        g = self.boot_scsi(d, [0])

        rt = self.agent_round_trip(g)
        t0 = time.monotonic()
        for t in (1, 2, 3):
            self.add_target(d, t, "M%d" % t)
        rpc = time.monotonic() - t0
        disks, elapsed = self.wait_disks(g, [0, 1, 2, 3], 30 * SLOW)
        print("\n    hot-attach of 3 targets: RPCs %.3f s, all 3 disks in the guest %.2f s after "
              "the first RPC (agent round trip %.2f s)" % (rpc, rpc + elapsed, rt))
        self.assertLess(rpc + elapsed, 5.0 * SLOW, "the disks took too long to appear")
        for t, mib in ((1, 8), (2, 16), (3, 24)):
            self.assertEqual(disks[t]["sectors"] * 512, mib * MiB, "target %d" % t)
        rc, out = g.cmd("dd if=/dev/zero of=/dev/%s bs=4096 count=64 oflag=direct && "
                        "dd if=/dev/%s of=/dev/null bs=4096 count=64 iflag=direct"
                        % (disks[3]["sd"], disks[3]["sd"]), timeout=60)
        self.assertEqual(rc, 0, out)
        g.stop()

    # (c)
    def test_hot_detach_under_fio_other_target_verifies(self):
        d = self.start_daemon()
        self.malloc(d, "M0", 32)
        self.malloc(d, "M1", 32)
        d.call("vhost_create_scsi_controller", {"ctrlr": "scsi0"})
        self.add_target(d, 0, "M0")
        self.add_target(d, 1, "M1")
        g = self.boot_scsi(d, [0, 1])
        disks = self.disks(g)

        self.start_fio(g, "keep", disks[0]["sd"],
                       "--rw=randwrite --iodepth=8 --size=8M --verify=crc32c "
                       "--verify_fatal=1 --do_verify=1")
        self.start_fio(g, "gone", disks[1]["sd"],
                       "--rw=randrw --iodepth=8 --size=32M --time_based --runtime=120")
        time.sleep(3)
        rc, out = g.cmd("cat /proc/diskstats | grep -w %s" % disks[1]["sd"], timeout=30)
        self.assertEqual(rc, 0, out)

        rt = self.agent_round_trip(g)
        t0 = time.monotonic()
        self.remove_target(d, 1)
        rpc = time.monotonic() - t0
        _, elapsed = self.wait_disks(g, [0], 60 * SLOW)
        print("\n    hot-detach under fio: RPC answered in %.3f s, disk gone from the guest "
              "%.2f s after the RPC answer (agent round trip %.2f s)" % (rpc, elapsed, rt))
        c = d.call("vhost_get_controllers", {"name": "scsi0"})[0]
        self.assertEqual([t["scsi_dev_num"] for t in c["backend_specific"]["scsi"]], [0])
        # The bdev is free again: another user may claim it.
        d.call("vhost_create_blk_controller", {"ctrlr": "blk0", "dev_name": "M1"})

        rc, out = self.wait_fio(g, "keep", 240 * SLOW)
        self.assertEqual(rc, 0, "fio with verify on target 0: %s" % out)
        self.assertNotIn("verify failed", out)
        # The detached disk's fio ends (with I/O errors), it does not hang.
        rc, out = self.wait_fio(g, "gone", 60 * SLOW)
        self.assertNotEqual(rc, 0, out)
        # Deleting the controller under a connected guest is refused at once.
        self.assertRpcError(d, "vhost_delete_controller", {"ctrlr": "scsi0"}, EBUSY)
        g.stop()

    # (d)
    def test_attach_detach_cycles_under_fio_no_leak(self):
        d = self.start_daemon()
        self.malloc(d, "M0", 32)
        self.malloc(d, "M1", 8)
        self.malloc(d, "M2", 8)
        d.call("vhost_create_scsi_controller", {"ctrlr": "scsi0"})
        self.add_target(d, 2, "M2")
        g = self.boot_scsi(d, [2])
        disks = self.disks(g)
        # Every page of M2 is written once before the measurement: fio's writes do not count
        # as daemon memory growth.
        rc, out = g.cmd("dd if=/dev/urandom of=/dev/%s bs=1M count=8 oflag=direct"
                        % disks[2]["sd"], timeout=120)
        self.assertEqual(rc, 0, out)
        self.start_fio(g, "third", disks[2]["sd"],
                       "--rw=randwrite --iodepth=4 --size=8M --verify=crc32c "
                       "--verify_fatal=1 --do_verify=1 --loops=4")

        def cycle(n, guest_sees_it=False):
            t = n % 2
            self.add_target(d, t, "M%d" % t)
            if guest_sees_it:
                # The guest scans the new disk and reads from it before it goes.
                self.wait_disks(g, [t, 2], 30 * SLOW)
                rc, out = g.cmd("dd if=/dev/%s of=/dev/null bs=4096 count=8 iflag=direct"
                                % self.disks(g)[t]["sd"], timeout=60)
                self.assertEqual(rc, 0, out)
            self.remove_target(d, t)

        for n in range(10):     # warm-up: pools and allocator caches reach their size
            cycle(n)
        time.sleep(0.5)         # RPC connections of the warm-up closed on the daemon's side
        before = proc_status(d.pid)
        t0 = time.monotonic()
        for n in range(CYCLES):
            # In the first four cycles the guest attaches the disk and uses it (each after the
            # guest saw the previous one go); the others go faster than the guest can scan:
            # events pile up, beyond 64 EVENTS_MISSED makes it rescan the bus.
            if n < 4:
                self.wait_disks(g, [2], 60 * SLOW)
            cycle(n, guest_sees_it=n < 4)
        took = time.monotonic() - t0
        time.sleep(0.5)
        after = proc_status(d.pid)
        print("\n    %d attach/detach cycles in %.1f s (the first 4 seen and read by the guest); "
              "daemon RSS %d -> %d KiB, fds %d -> %d" % (CYCLES, took, before[0], after[0],
                                                        before[1], after[1]))
        self.assertEqual(after[1], before[1], "open fds changed")
        if not vtlib.SANITIZED:
            # (ASan's quarantine holds freed memory: there LeakSanitizer checks at exit.)
            self.assertLess(after[0] - before[0], 1024, "RSS grew by more than 1 MiB")

        # The guest ends with the third target only, and its fio verified.
        self.wait_disks(g, [2], 120 * SLOW)
        rc, out = self.wait_fio(g, "third", 300 * SLOW)
        self.assertEqual(rc, 0, "fio on target 2: %s" % out)
        c = d.call("vhost_get_controllers", {"name": "scsi0"})[0]
        self.assertEqual([t["scsi_dev_num"] for t in c["backend_specific"]["scsi"]], [2])
        g.stop()
        self.stop_clean(d)      # exit 0; in the sanitized run: no leak report

    # (e), scsi side
    def test_scsi_bdev_resize_and_hot_remove_reach_the_guest(self):
        d = self.start_daemon()
        self.malloc(d, "M0", 16)
        d.call("bdev_null_create", {"name": "N0", "num_blocks": 16 * MiB // 512,
                                    "block_size": 512})
        d.call("vhost_create_scsi_controller", {"ctrlr": "scsi0"})
        self.add_target(d, 0, "M0")
        self.add_target(d, 1, "N0")
        g = self.boot_scsi(d, [0, 1])
        sd = self.disks(g)[1]["sd"]

        self.assertIs(d.call("bdev_null_resize", {"name": "N0", "new_size": 48}), True)
        g.cmd("i=0; while [ $(cat /sys/block/%s/size) -ne %d ] && [ $i -lt 200 ]; do "
              "sleep 0.05; i=$((i+1)); done" % (sd, 48 * MiB // 512), timeout=60)
        rc, out = g.cmd("cat /sys/block/%s/size" % sd, timeout=30)
        self.assertEqual(int(out.strip()), 48 * MiB // 512, "the guest did not see the resize")

        d.call("bdev_null_delete", {"name": "N0"})
        self.wait_disks(g, [0], 60 * SLOW)
        c = d.call("vhost_get_controllers", {"name": "scsi0"})[0]
        self.assertEqual([t["scsi_dev_num"] for t in c["backend_specific"]["scsi"]], [0])

        # SIGTERM with the guest connected and fio running: the daemon drains and exits 0.
        self.start_fio(g, "term", self.disks(g)[0]["sd"],
                       "--rw=randwrite --iodepth=8 --size=16M --time_based --runtime=60")
        time.sleep(2)
        self.stop_clean(d)
        self.assertFalse(os.path.exists(os.path.join(d.dir, "scsi0")))

    # (e), blk side
    def test_blk_bdev_resize_and_hot_remove_seen_by_the_guest(self):
        d = self.start_daemon()
        d.call("bdev_null_create", {"name": "N0", "num_blocks": 32 * MiB // 512,
                                    "block_size": 512})
        d.call("vhost_create_blk_controller", {"ctrlr": "blk0", "dev_name": "N0"})
        sock = os.path.join(d.dir, "blk0")
        g = self.guest(["-chardev", "socket,id=c0,path=%s" % sock,
                        "-device", "vhost-user-blk-pci,chardev=c0,num-queues=1"])
        g.start(timeout=120 * SLOW)
        rc, out = g.cmd("cat /sys/block/vda/size", timeout=30)
        self.assertEqual(int(out.strip()), 32 * MiB // 512)

        t0 = time.monotonic()
        self.assertIs(d.call("bdev_null_resize", {"name": "N0", "new_size": 64}), True)
        g.cmd("i=0; while [ $(cat /sys/block/vda/size) -ne %d ] && [ $i -lt 200 ]; do "
              "sleep 0.05; i=$((i+1)); done" % (64 * MiB // 512), timeout=60)
        rc, out = g.cmd("cat /sys/block/vda/size", timeout=30)
        self.assertEqual(int(out.strip()), 64 * MiB // 512, "the guest did not see the resize")
        print("\n    blk resize seen by the guest after %.2f s" % (time.monotonic() - t0))
        rc, out = g.cmd("dd if=/dev/vda of=/dev/null bs=4096 count=1 skip=%d iflag=direct"
                        % (48 * MiB // 4096), timeout=60)
        self.assertEqual(rc, 0, "read beyond the old end: %s" % out)

        d.call("bdev_null_delete", {"name": "N0"})
        g.cmd("i=0; while [ $(cat /sys/block/vda/size) -ne 0 ] && [ $i -lt 200 ]; do "
              "sleep 0.05; i=$((i+1)); done", timeout=60)
        rc, out = g.cmd("cat /sys/block/vda/size", timeout=30)
        self.assertEqual(out.strip(), "0", "capacity after the hot-remove")
        c = d.call("vhost_get_controllers", {"name": "blk0"})[0]
        self.assertIsNone(c["backend_specific"]["block"]["bdev"])
        # Capacity 0: nothing can be read any more.
        rc, out = g.cmd("dd if=/dev/vda of=/dev/null bs=512 count=1 iflag=direct", timeout=60)
        self.assertIn("0+0 records in", out)
        # Deleting the controller with the guest connected is refused at once.
        self.assertRpcError(d, "vhost_delete_controller", {"ctrlr": "blk0"}, EBUSY)
        g.stop()


if __name__ == "__main__":
    unittest.main()
