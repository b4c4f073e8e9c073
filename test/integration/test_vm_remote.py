# SPDX-License-Identifier: BSD-3-Clause
"""Guests on networked storage (issue 13): a QEMU guest (test/vm harness, TCG) with a
vhost-user-blk disk over an RBD image and a vhost-user-scsi LUN over an iSCSI LUN, both served
by a private vtarget. The module starts one throwaway Ceph cluster (ceph_cluster.py: one mon,
one memstore OSD) and one tgtd (tgt_server.py) and stops them at the end.

- fio randwrite + crc32c verify on both disks at the same time: verify OK, no guest I/O error
  in the kernel log, both bdevs counted the writes;
- faults under guest I/O: the OSD stopped (SIGTERM, marked down) and tgtd killed (SIGKILL)
  while fio writes to both disks. Both bounds are "fail", not "stall": the cluster is
  registered with rados_osd_op_timeout=RADOS_TIMEOUT and the iSCSI requests time out after
  bdev_iscsi_set_options timeout_sec=ISCSI_TIMEOUT, so each guest fio ends with an I/O error
  within its bound (RBD_BOUND, ISCSI_BOUND: the timeout, the guest's SCSI retries and a slack,
  scaled by vtlib.SLOW). The guest's SCSI command timer is set above the iSCSI bound so the
  guest does not abort and reset the LUN first. While the fault lasts the daemon answers every
  RPC (polled, each answer within a second) and keeps running. Then the OSD and tgtd start
  again: I/O resumes without rebooting the guest (the iSCSI session reconnects, RBD once the OSD
  is back), the bdevs' write counters move again, a fresh fio write+verify completes on both
  disks, and fio --verify_only of the data written before the fault passes.

Environment: VT_VM_REMOTE_VERBOSE=1 (the guest console on stdout).
"""

import glob
import os
import shutil
import sys
import time

import vtlib
from vtlib import VtTestCase
from ceph_cluster import CephCluster, missing_tools as ceph_missing
from tgt_server import TgtServer
from test_vhost_blk import wait_for

sys.path.insert(0, os.path.join(vtlib.ROOT, "test", "vm"))

import vm  # noqa: E402  (test/vm/vm.py)

MiB = 1024 * 1024
VERBOSE = os.environ.get("VT_VM_REMOTE_VERBOSE", "") not in ("", "0")
SLOW = vtlib.SLOW
POOL = "vmpool"
IQN = "iqn.2026-12.io.vtarget:vm"
DISK_MIB = 64
RADOS_TIMEOUT = 6       # s, rados_osd_op_timeout of the registered cluster
ISCSI_TIMEOUT = 4       # s, bdev_iscsi_set_options timeout_sec
# A guest request fails within its backend's timeout. fio on the RBD disk (virtio-blk: no
# retry) ends within RADOS_TIMEOUT; on the iSCSI LUN a failed write comes back as MEDIUM ERROR /
# WRITE ERROR, which the guest's sd driver retries up to 5 times, each attempt failing within
# ISCSI_TIMEOUT. Plus slack for a TCG guest on
# a loaded host (measured: 5.6 s and 28.8 s).
SLACK = 20
RBD_BOUND = (RADOS_TIMEOUT + SLACK) * SLOW
ISCSI_BOUND = (6 * ISCSI_TIMEOUT + SLACK) * SLOW
BOUND = {"vda": RBD_BOUND, "sda": ISCSI_BOUND}
# fio job shape shared by the write and the --verify_only runs (same seed: same offsets).
FIO_COMMON = ("fio --ioengine=libaio --direct=1 --bs=4k --iodepth=8 --rw=randwrite "
              "--verify=crc32c --verify_fatal=1 --randrepeat=1 --verify_state_save=0 "
              "--output-format=terse")

_ceph = None
_tgt = None


def missing_tools():
    for prog in ("qemu-system-x86_64", "fio"):
        if not shutil.which(prog):
            return "%s is not installed" % prog
    if not glob.glob("/boot/vmlinuz-*"):
        return "no kernel in /boot (package linux-image-amd64)"
    why = ceph_missing()
    if why:
        return "missing %s (ceph-mon, ceph-osd, ceph-common)" % why
    if not os.access("/usr/sbin/tgtd", os.X_OK):
        return "tgtd is not installed (package tgt)"
    return None


def setUpModule():
    global _ceph, _tgt
    why = missing_tools()
    if why:
        raise AssertionError("test_vm_remote cannot run: %s (scripts/pkgdep.sh installs what "
                             "the tests need)" % why)
    _ceph = CephCluster().start()
    try:
        _ceph.create_pool(POOL)
        _tgt = TgtServer(size_mib=DISK_MIB, luns=2, iqn="iqn.2026-12.io.vtarget:vmtgt")
        _tgt.start()
    except BaseException:
        tearDownModule()
        raise


def tearDownModule():
    global _ceph, _tgt
    try:
        if _tgt is not None:
            _tgt.stop()
    finally:
        _tgt = None
        if _ceph is not None:
            _ceph.stop()
        _ceph = None


def terse_errors(out):
    """fio --output-format=terse: the error field (5th) of every job line."""
    errs = []
    for line in out.splitlines():
        f = line.split(";")
        if len(f) > 5 and f[0] == "3":
            errs.append(int(f[4]))
    return errs


@vtlib.require(missing_tools())
class VmRemoteTest(VtTestCase):
    # A hang guard: one TCG guest boot (30-90 s under load) plus fio and the fault phases.
    TIME_LIMIT = 420.0

    def boot(self, image, lun):
        """A daemon with blk controller over an RBD image and scsi target 0 over an iSCSI LUN,
        and a guest on both; returns (daemon, guest)."""
        _ceph.rbd("create", "--size", "%dM" % DISK_MIB, "%s/%s" % (POOL, image))
        self.addCleanup(_ceph.rbd, "rm", "%s/%s" % (POOL, image), check=False)
        d = self.start_daemon(interrupt=True)
        self.d = d
        self.assertEqual(d.call("bdev_rbd_register_cluster",
                                {"name": "c0", "config_file": _ceph.conf,
                                 "config_param": {"rados_osd_op_timeout": str(RADOS_TIMEOUT)}},
                                timeout=30 * SLOW), "c0")
        self.assertEqual(d.call("bdev_rbd_create",
                                {"name": "Rbd0", "pool_name": POOL, "rbd_name": image,
                                 "block_size": 512, "cluster_name": "c0"}, timeout=30 * SLOW),
                         "Rbd0")
        d.call("bdev_iscsi_set_options", {"timeout_sec": ISCSI_TIMEOUT})
        self.assertEqual(d.call("bdev_iscsi_create", {"name": "iSCSI0", "initiator_iqn": IQN,
                                                      "url": _tgt.url(lun)}, timeout=30 * SLOW),
                         "iSCSI0")
        d.call("vhost_create_blk_controller", {"ctrlr": "blk0", "dev_name": "Rbd0"})
        d.call("vhost_create_scsi_controller", {"ctrlr": "scsi0"})
        self.assertEqual(d.call("vhost_scsi_controller_add_target",
                                {"ctrlr": "scsi0", "scsi_target_num": 0,
                                 "bdev_name": "iSCSI0"}), 0)
        g = vm.VM(["-chardev", "socket,id=c0,path=%s" % os.path.join(d.dir, "blk0"),
                   "-device", "vhost-user-blk-pci,chardev=c0,num-queues=2",
                   "-chardev", "socket,id=c1,path=%s" % os.path.join(d.dir, "scsi0"),
                   "-device", "vhost-user-scsi-pci,chardev=c1,num_queues=2"],
                  control=True, echo=sys.stdout if VERBOSE else None, start_timeout=30 * SLOW)
        self.addCleanup(g.close)
        g.start(timeout=150 * SLOW)
        g.wait_guest("test -b /dev/vda && test -b /dev/sda", timeout=60 * SLOW)
        rc, out = g.cmd("cat /sys/block/vda/size /sys/block/sda/size", timeout=30 * SLOW)
        self.assertEqual(out.split(), [str(DISK_MIB * MiB // 512)] * 2, out)
        return d, g

    def writes(self, name):
        return self.d.call("bdev_get_iostat", {"name": name})["bdevs"][0]["num_write_ops"]

    def fio(self, g, args, timeout):
        rc, out = g.cmd("%s %s" % (FIO_COMMON, args), timeout=timeout)
        self.assertEqual(rc, 0, "fio %s failed (rc %d):\n%s" % (args, rc, out))
        self.assertTrue(terse_errors(out) and not any(terse_errors(out)), out)
        return out

    def stop_all(self, d, g):
        res = g.stop(timeout=60 * SLOW)
        self.assertIsNone(res.error, res.describe())
        d.call("vhost_delete_controller", {"ctrlr": "blk0"})
        d.call("vhost_delete_controller", {"ctrlr": "scsi0"})
        d.call("bdev_rbd_delete", {"name": "Rbd0"}, timeout=30 * SLOW)
        d.call("bdev_iscsi_delete", {"name": "iSCSI0"}, timeout=30 * SLOW)
        d.call("bdev_rbd_unregister_cluster", {"name": "c0"}, timeout=30 * SLOW)
        self.stop_clean(d)

    def test_fio_crc32c_on_rbd_blk_and_iscsi_scsi_at_once(self):
        d, g = self.boot("vm0", 1)
        w0 = (self.writes("Rbd0"), self.writes("iSCSI0"))
        rc, _ = g.cmd("dmesg -c >/dev/null", timeout=30)
        out = self.fio(g, "--do_verify=1 --size=8M --name=rbd --filename=/dev/vda "
                       "--name=iscsi --filename=/dev/sda", 240 * SLOW)
        self.assertEqual(len(terse_errors(out)), 2, out)
        self.assertGreaterEqual(self.writes("Rbd0") - w0[0], 2048)
        self.assertGreaterEqual(self.writes("iSCSI0") - w0[1], 2048)
        rc, log = g.cmd("dmesg", timeout=30)
        for bad in ("I/O error", "blk_update_request", "Buffer I/O", "critical"):
            self.assertNotIn(bad, log)
        self.stop_all(d, g)

    def wait_guest_fio_ends(self, g, d, t0):
        """Polls the daemon (each RPC answered within a second, the process alive) until both
        background fio runs ended, each within its bound from t0[disk]; returns
        {disk: (rc, seconds after the fault)}."""
        ended = {}
        while len(ended) < 2:
            t = time.monotonic()
            self.assertEqual(d.call("bdev_get_bdevs", {"name": "Rbd0"})[0]["name"], "Rbd0")
            self.assertEqual(d.call("bdev_get_bdevs", {"name": "iSCSI0"})[0]["name"], "iSCSI0")
            self.assertLess(time.monotonic() - t, 1.0 * SLOW, "RPC slow during the fault")
            self.assertTrue(d.alive(), "the daemon died during the fault:\n" + d.describe_logs())
            for disk in ("vda", "sda"):
                # The guest's job folder is the host's g.job_dir (9p).
                path = os.path.join(g.job_dir, disk + ".rc")
                if disk not in ended and os.path.exists(path):
                    with open(path) as f:
                        text = f.read().strip()
                    if text:
                        ended[disk] = (int(text), time.monotonic() - t0[disk])
                if disk not in ended:
                    self.assertLess(time.monotonic() - t0[disk], BOUND[disk],
                                    "guest I/O on %s neither failed nor ended within %.0f s of "
                                    "the fault (ended: %s)" % (disk, BOUND[disk], ended))
            time.sleep(0.2)
        return ended

    def test_osd_stopped_and_tgtd_killed_under_guest_io_then_io_resumes(self):
        d, g = self.boot("vm1", 2)
        # 1. Data written before the fault (the first 8 MiB of each disk).
        before = "--size=8M --name=rbd --filename=/dev/vda --name=iscsi --filename=/dev/sda"
        self.fio(g, "--do_verify=0 " + before, 240 * SLOW)
        # The guest must not time out and reset the LUN before the target's own bound.
        g.cmd("echo %d > /sys/block/sda/device/timeout" % int(ISCSI_BOUND + 30), timeout=30,
              check=True)
        # 2. Writes away from that data, running until an I/O error ends them.
        for disk in ("vda", "sda"):
            g.cmd("(%s --do_verify=0 --offset=16M --size=32M --time_based --runtime=600 "
                  "--name=bg --filename=/dev/%s >/tmp/vmtest/%s.fio 2>&1; "
                  "echo $? >/tmp/vmtest/%s.rc.tmp; mv /tmp/vmtest/%s.rc.tmp /tmp/vmtest/%s.rc) "
                  "</dev/null >/dev/null 2>&1 &" % (FIO_COMMON, disk, disk, disk, disk, disk),
                  timeout=30, check=True)
        w0 = (self.writes("Rbd0"), self.writes("iSCSI0"))
        wait_for(lambda: self.writes("Rbd0") > w0[0] + 50 and
                 self.writes("iSCSI0") > w0[1] + 50, 60,
                 "the guest's writes to flow on both disks")
        # 3. The fault: both servers gone.
        try:
            # Each disk's time counts from the start of its own fault (the OSD's SIGTERM).
            t0 = {"vda": time.monotonic()}
            _ceph.stop_osd()
            t0["sda"] = time.monotonic()
            _tgt.kill()
            ended = self.wait_guest_fio_ends(g, d, t0)
            print("\n    guest fio ended after the fault: vda (RBD) rc %d at %.1f s (bound %.0f s),"
                  " sda (iSCSI) rc %d at %.1f s (bound %.0f s)"
                  % (ended["vda"] + (RBD_BOUND,) + ended["sda"] + (ISCSI_BOUND,)))
            for disk in ("vda", "sda"):
                self.assertNotEqual(ended[disk][0], 0, "fio on %s ended without an error" % disk)
            # The daemon still answers a few more RPCs with both servers down.
            self.assertEqual(len(d.call("bdev_rbd_get_clusters_info")), 1)
            self.assertTrue(d.call("vhost_get_controllers"))
        finally:
            if _ceph.osd is None:
                _ceph.start_osd()
            if not _tgt.alive():
                _tgt.start()
        # 4. The servers are back: I/O resumes on the same disks, no reboot.
        w1 = (self.writes("Rbd0"), self.writes("iSCSI0"))
        after = "--offset=32M --size=4M --name=rbd --filename=/dev/vda --name=iscsi " \
                "--filename=/dev/sda"
        deadline = time.monotonic() + 120 * SLOW
        while True:
            rc, out = g.cmd("%s --do_verify=1 %s" % (FIO_COMMON, after), timeout=120 * SLOW)
            if rc == 0 and terse_errors(out) and not any(terse_errors(out)):
                break
            self.assertLess(time.monotonic() - deadline, 0,
                            "I/O did not resume after the servers came back:\n%s" % out)
            time.sleep(1)
        self.assertGreater(self.writes("Rbd0"), w1[0])
        self.assertGreater(self.writes("iSCSI0"), w1[1])
        spec = d.call("bdev_get_bdevs", {"name": "iSCSI0"})[0]["driver_specific"]["iscsi"]
        self.assertEqual(spec["state"], "online")
        # What the guest kernel saw during the fault (allowed: the fault was a failure).
        rc, log = g.cmd("dmesg", timeout=30 * SLOW)
        print("    guest kernel: %d I/O error lines on vda, %d on sda"
              % tuple(sum(1 for ln in log.splitlines() if "I/O error" in ln and dev in ln)
                      for dev in ("vda", "sda")))
        # 5. The data written before the fault is intact.
        self.fio(g, "--verify_only " + before, 240 * SLOW)
        self.stop_all(d, g)

