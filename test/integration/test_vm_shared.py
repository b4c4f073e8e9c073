# SPDX-License-Identifier: BSD-3-Clause
"""Shared disks seen from QEMU guests (issue 16; test/vm harness, TCG).

- Multipath: one guest, two vhost-user-scsi controllers exposing the same malloc bdev, each on its
  own hot-pluggable PCIe port. The guest runs udevd and multipathd (multipath-tools of the host,
  over the 9p root; /etc is made writable with an overlay on tmpfs for /etc/multipath.conf):
  `multipath -ll` shows one map with two active paths, ALUA handler attached, both paths
  active/optimized. fio randwrite with crc32c verify runs on
  the map while one path goes: its QEMU device is unplugged (device_del, then chardev-remove: a
  controller with a connected guest cannot be deleted, it answers -EBUSY) and the controller is
  deleted with vhost_delete_controller; fio ends with its verify OK and no error, having run on
  the other path. The controller is re-created, the device re-plugged, and multipathd brings the
  path back (two active paths again).
- Fencing: two guests, each with its own vhost-user-scsi controller on the same bdev, the daemon
  with --state-dir. With sg_persist, guest A registers and reserves Write Exclusive - Registrants
  Only; guest B reads, but its writes (sg_raw WRITE(10) and dd oflag=direct) fail with RESERVATION
  CONFLICT until B registers; A preempts and aborts B's key and B's writes fail again; A
  registers again with APTPL; the daemon is stopped, a new one started on the same state folder
  with the same controllers, the guests booted again: the reservation (holder key and type) and
  the fencing are back.

Environment: VT_VM_SHARED_VERBOSE=1 (the guests' consoles).
"""

import os
import re
import shutil
import sys
import tempfile
import time

import vtlib
from vtlib import VtTestCase

sys.path.insert(0, os.path.join(vtlib.ROOT, "test", "vm"))

import vm  # noqa: E402  (test/vm/vm.py)

MiB = 1024 * 1024
VERBOSE = os.environ.get("VT_VM_SHARED_VERBOSE", "") not in ("", "0")
SLOW = 2.0 if vtlib.SANITIZED else 1.0
EBUSY = -16

# The guest's multipath configuration: every SCSI disk is a path (no wwids file needed), all paths
# of a map in one group (both are active/optimized: ALUA would group them alike).
MULTIPATH_CONF = """defaults {
	user_friendly_names no
	find_multipaths no
	path_grouping_policy multibus
}
"""

# Run once in the guest: the modules (modprobe of the chroot reads the host's module tree over
# 9p; the guest kernel cannot load them on demand: its modprobe is the initramfs's; loaded after
# the disk scan, scsi_dh_alua attaches when multipath builds the map, and the other VM tests'
# guests keep their disks without it), a writable /etc (overlay on tmpfs over the read-only 9p
# root), udevd (multipath only takes disks udev has seen; systemd tools refuse to act in a chroot
# unless told), then multipathd, which builds the maps and follows the paths as they come and go.
MULTIPATH_SETUP = """set -e
modprobe -a overlay dm_multipath dm_service_time scsi_dh_alua
mkdir -p /tmp/etc.upper /tmp/etc.work
mount -t overlay overlay -o lowerdir=/etc,upperdir=/tmp/etc.upper,workdir=/tmp/etc.work /etc
cat > /etc/multipath.conf <<'EOF'
%sEOF
export SYSTEMD_IGNORE_CHROOT=1
/lib/systemd/systemd-udevd --daemon
udevadm trigger --action=add --subsystem-match=block
udevadm settle -t %d
multipathd
""" % (MULTIPATH_CONF, int(60 * SLOW))

# WRITE(10) of one block at LBA 0 (sg_raw prints the SCSI status by name).
SG_WRITE = "sg_raw -s 512 -i /dev/zero /dev/sda 2a 00 00 00 00 00 00 00 01 00 2>&1"
DD_WRITE = "dd if=/dev/zero of=/dev/sda bs=4096 count=1 oflag=direct 2>&1"
DD_READ = "dd if=/dev/sda of=/dev/null bs=4096 count=1 iflag=direct 2>&1"


def missing_tools():
    for prog in ("qemu-system-x86_64", "fio", "sg_persist", "sg_raw", "multipath", "multipathd",
                 "udevadm"):
        if not shutil.which(prog) and not os.path.exists(os.path.join("/usr/sbin", prog)):
            return "%s is not installed" % prog
    if not os.path.exists("/lib/systemd/systemd-udevd"):
        return "no /lib/systemd/systemd-udevd (package udev)"
    return None


def parse_multipath(out):
    """[(map name, [(path device, dm state, path state), ...]), ...] from `multipath -ll`."""
    maps = []
    for line in out.splitlines():
        m = re.match(r"^(\S+) dm-\d+ VTARGET", line)
        if m:
            maps.append((m.group(1), []))
            continue
        m = re.search(r"\d+:\d+:\d+:\d+ (sd\w+)\s+\d+:\d+\s+(\w+) (\w+) (\w+)", line)
        if m and maps:
            maps[-1][1].append((m.group(1), m.group(2), m.group(3)))
    return maps


@vtlib.require(missing_tools())
class VmSharedTest(VtTestCase):
    # A hang guard: TCG boots (three), udev and multipathd in the guest, fio.
    TIME_LIMIT = 400.0

    def guest(self, qemu_args, **kw):
        g = vm.VM(qemu_args, control=True, echo=sys.stdout if VERBOSE else None,
                  start_timeout=30 * SLOW, **kw)
        self.addCleanup(g.close)
        return g

    def scsi_controller(self, d, name, bdev):
        self.assertIs(d.call("vhost_create_scsi_controller", {"ctrlr": name}), True)
        self.assertEqual(d.call("vhost_scsi_controller_add_target",
                                {"ctrlr": name, "scsi_target_num": 0, "bdev_name": bdev}), 0)
        return os.path.join(d.dir, name)

    def multipath(self, g):
        rc, out = g.cmd("multipath -ll 2>/dev/null", timeout=60 * SLOW)
        self.assertEqual(rc, 0, out)
        return parse_multipath(out), out

    def wait_paths(self, g, n, timeout):
        """Polls `multipath -ll` until one map shows n active paths; returns (map, its paths)."""
        deadline = time.monotonic() + timeout
        while True:
            maps, out = self.multipath(g)
            if len(maps) == 1 and len(maps[0][1]) == n and \
                    all(p[1] == "active" and p[2] == "ready" for p in maps[0][1]):
                return maps[0]
            if time.monotonic() > deadline:
                self.fail("no map with %d active paths after %.0f s:\n%s" % (n, timeout, out))
            time.sleep(0.3)

    def writes(self, g, dev):
        rc, out = g.cmd("cat /sys/block/%s/stat" % dev, timeout=30)
        self.assertEqual(rc, 0, out)
        return int(out.split()[4])

    def test_multipath_two_paths_fio_survives_a_deleted_controller_and_the_path_comes_back(self):
        d = self.start_daemon()
        d.call("bdev_malloc_create", {"name": "M0", "num_blocks": 32 * MiB // 512,
                                      "block_size": 512})
        args = []
        for i in (0, 1):
            sock = self.scsi_controller(d, "s%d" % i, "M0")
            args += ["-chardev", "socket,id=c%d,path=%s" % (i, sock),
                     "-device", "vhost-user-scsi-pci,id=hba%d,chardev=c%d,num_queues=1,bus=hp%d"
                     % (i, i, i)]
        g = self.guest(args, hotplug_ports=2)
        g.start(timeout=120 * SLOW)
        rc, out = g.cmd(MULTIPATH_SETUP, timeout=120 * SLOW)
        self.assertEqual(rc, 0, "multipath setup in the guest: %s" % out)

        # One map, two active paths (the two controllers).
        name, paths = self.wait_paths(g, 2, 60 * SLOW)
        devs = sorted(p[0] for p in paths)
        # Grouped by ALUA: the handler attached, both paths active/optimized (priority 50).
        _, out = self.multipath(g)
        self.assertIn("hwhandler='1 alua'", out)
        self.assertIn("prio=50", out)
        rc, out = g.cmd("readlink -f /dev/mapper/%s" % name, timeout=30)
        dm = os.path.basename(out.strip())
        self.assertTrue(dm.startswith("dm-"), out)

        # fio with verify on the map, in the background; the rate cap makes its writes last at
        # least 16 s however fast the host, longer than the removal below (measured 7-12 s from
        # fio's start: the guest's PCIe hot-unplug waits 5 s for its attention button).
        g.cmd("setsid sh -c 'fio --name=mp --filename=/dev/mapper/%s --direct=1 "
              "--ioengine=libaio --rw=randwrite --bs=4k --iodepth=16 --size=16M --rate_iops=256 "
              "--verify=crc32c --verify_fatal=1 --do_verify=1 > /tmp/vmtest/fio.txt 2>&1; "
              "echo $? > /tmp/vmtest/fio.rc' > /dev/null 2>&1 &" % name, timeout=30)
        rc_path = os.path.join(g.job_dir, "fio.rc")
        t0 = time.monotonic()
        # Until the I/O flows on both paths.
        deadline = time.monotonic() + 60 * SLOW
        while not all(self.writes(g, dev) > 0 for dev in devs):
            self.assertFalse(os.path.exists(rc_path), "fio ended before it used both paths")
            if time.monotonic() > deadline:
                self.fail("fio's writes did not reach both paths %s" % devs)
            time.sleep(0.2)

        # One path goes: the device is unplugged, the socket closed, the controller deleted.
        g.qmp("device_del", id="hba1")
        g.wait_event("DEVICE_DELETED", timeout=60 * SLOW,
                     match=lambda ev: ev.get("data", {}).get("device") == "hba1")
        g.qmp("chardev-remove", id="c1")
        deadline = time.monotonic() + 30 * SLOW
        while True:
            try:
                self.assertIs(d.call("vhost_delete_controller", {"ctrlr": "s1"}), True)
                break
            except vtlib.rpc.JSONRPCException as ex:
                # the daemon may not have seen the hang-up yet
                self.assertEqual(ex.code, EBUSY, ex.error)
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.assertEqual([c["ctrlr"] for c in d.call("vhost_get_controllers")], ["s0"])
        self.assertFalse(os.path.exists(rc_path),
                         "fio ended before the path was removed: the test proves nothing")
        t_gone = time.monotonic() - t0
        _, left = self.wait_paths(g, 1, 60 * SLOW)

        # fio ends on the remaining path, its verify OK, no error.
        deadline = time.monotonic() + 240 * SLOW
        while not (os.path.exists(rc_path) and open(rc_path).read().strip()):
            if time.monotonic() > deadline:
                self.fail("fio did not finish within %.0f s" % (240 * SLOW))
            time.sleep(0.5)
        with open(os.path.join(g.job_dir, "fio.txt"), errors="replace") as f:
            fio_out = f.read()
        self.assertEqual(open(rc_path).read().strip(), "0", fio_out)
        t_fio = time.monotonic() - t0
        self.assertIn("err= 0", fio_out)
        # the whole write phase and the whole verify pass ran
        self.assertRegex(fio_out, r"WRITE: .*io=16\.0MiB")
        self.assertRegex(fio_out, r"READ: .*io=16\.0MiB")
        self.assertNotIn("verify", fio_out.replace("--verify", ""), fio_out)
        self.assertGreater(self.writes(g, left[0][0]), 0)

        # The controller comes back, the device is plugged again: two active paths.
        sock = self.scsi_controller(d, "s1", "M0")
        g.qmp("chardev-add", id="c1", backend={"type": "socket", "data": {
            "addr": {"type": "unix", "data": {"path": sock}}, "server": False}})
        g.qmp("device_add", driver="vhost-user-scsi-pci", id="hba1", chardev="c1", bus="hp1",
              num_queues=1)
        t1 = time.monotonic()
        name2, paths = self.wait_paths(g, 2, 60 * SLOW)
        print("\n    path removed (device_del, chardev-remove, vhost_delete_controller) %.1f s "
              "into fio, fio done with verify OK after %.1f s; path back %.1f s after the "
              "re-creation" % (t_gone, t_fio, time.monotonic() - t1))
        self.assertEqual(name2, name)
        rc, out = g.cmd("dd if=/dev/mapper/%s of=/dev/null bs=4096 count=256 iflag=direct 2>&1"
                        % name, timeout=60 * SLOW)
        self.assertEqual(rc, 0, out)
        g.stop()
        self.stop_clean(d)

    # ---- fencing ----

    def boot_pair(self, d):
        """Two guests, A on controller a and B on controller b (both over M0); returns them."""
        guests = []
        for name in ("a", "b"):
            sock = self.scsi_controller(d, name, "M0")
            guests.append(self.guest(["-chardev", "socket,id=c0,path=%s" % sock,
                                      "-device", "vhost-user-scsi-pci,chardev=c0,num_queues=1"]))
        for g in guests:
            g.launch()
        for g in guests:
            g.wait_console(vm.READY_RE.pattern, 120 * SLOW)
            g.cmd("test -b /dev/sda", timeout=30, check=True)
        return guests

    def pr(self, g, args, check=True):
        rc, out = g.cmd("sg_persist -n %s /dev/sda 2>&1" % args, timeout=30 * SLOW)
        if check:
            self.assertEqual(rc, 0, "sg_persist %s: %s" % (args, out))
        return rc, out

    def assert_write_conflict(self, g):
        """B's writes fail with RESERVATION CONFLICT (a unit attention first is consumed)."""
        for _ in range(3):
            rc, out = g.cmd(SG_WRITE, timeout=30 * SLOW)
            if "unit attention" not in out.lower():
                break
        self.assertNotEqual(rc, 0, out)
        self.assertIn("Reservation Conflict", out)
        rc, out = g.cmd(DD_WRITE, timeout=30 * SLOW)
        self.assertNotEqual(rc, 0, "dd oflag=direct wrote through the reservation: %s" % out)

    def assert_write_ok(self, g):
        for _ in range(3):
            rc, out = g.cmd(SG_WRITE, timeout=30 * SLOW)
            if "unit attention" not in out.lower():
                break
        self.assertEqual(rc, 0, out)
        self.assertNotIn("Reservation Conflict", out)
        rc, out = g.cmd(DD_WRITE, timeout=30 * SLOW)
        self.assertEqual(rc, 0, out)

    def assert_reservation(self, g, key, keys):
        _, out = self.pr(g, "--in --read-reservation")
        self.assertRegex(out, r"Key=0x%x\b" % key)
        self.assertIn("Write Exclusive, registrants only", out)
        _, out = self.pr(g, "--in --read-keys")
        self.assertEqual(sorted(int(k, 16) for k in re.findall(r"^\s+(0x[0-9a-f]+)\s*$", out,
                                                                re.M)), sorted(keys), out)

    def test_fencing_two_guests_sg_persist_preempt_and_abort_aptpl_survives_restart(self):
        tmp = tempfile.mkdtemp(prefix="vt-it-vmshared-")
        self.addCleanup(shutil.rmtree, tmp, True)
        state = os.path.join(tmp, "state")
        os.mkdir(state)
        d = self.start_daemon(args=("--state-dir", state))
        d.call("bdev_malloc_create", {"name": "M0", "num_blocks": 16 * MiB // 512,
                                      "block_size": 512})
        ga, gb = self.boot_pair(d)

        # A registers and reserves Write Exclusive - Registrants Only.
        self.pr(ga, "--out --register --param-sark=0xa1")
        self.pr(ga, "--out --reserve --param-rk=0xa1 --prout-type=5")
        self.assert_reservation(gb, 0xa1, [0xa1])
        # B reads, but cannot write.
        rc, out = gb.cmd(DD_READ, timeout=30 * SLOW)
        self.assertEqual(rc, 0, out)
        self.assert_write_conflict(gb)
        self.assert_write_ok(ga)
        # Once registered, B writes.
        self.pr(gb, "--out --register --param-sark=0xb2")
        self.assert_write_ok(gb)
        # A preempts and aborts B: B is fenced again.
        self.pr(ga, "--out --preempt-abort --param-rk=0xa1 --param-sark=0xb2 --prout-type=5")
        self.assert_reservation(ga, 0xa1, [0xa1])
        self.assert_write_conflict(gb)
        # A registers again, with APTPL: the state is written to the state folder.
        self.pr(ga, "--out --register --param-rk=0xa1 --param-sark=0xa1 --param-aptpl")
        _, out = self.pr(ga, "--in --report-capabilities")
        self.assertRegex(out, r"Persist Through Power Loss Active\s*\(PTPL_A\): 1")
        self.assertTrue(os.path.exists(os.path.join(state, "M0.pr")), os.listdir(state))
        for g in (ga, gb):
            g.stop()
        self.stop_clean(d)

        # A new daemon on the same state folder, the same controllers, the guests booted again.
        d = self.start_daemon(args=("--state-dir", state))
        d.call("bdev_malloc_create", {"name": "M0", "num_blocks": 16 * MiB // 512,
                                      "block_size": 512})
        ga, gb = self.boot_pair(d)
        self.assert_reservation(gb, 0xa1, [0xa1])
        self.assert_reservation(ga, 0xa1, [0xa1])
        self.assert_write_conflict(gb)
        self.assert_write_ok(ga)
        for g in (ga, gb):
            g.stop()
        self.stop_clean(d)
