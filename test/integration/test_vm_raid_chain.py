# SPDX-License-Identifier: BSD-3-Clause
"""The control plane's chain under a guest (issue 14; test/vm harness, TCG): two file bdevs ->
raid1 with superblock -> a QoS limit (200,000 IOPS: in the path, not reached by a TCG guest) ->
a vhost-user-blk controller, QEMU's chardev set to reconnect.

The guest runs fio randwrite with crc32c verify (verify_fatal), round after round, each round with
its own seed. Under that load the host hot-removes one leg (bdev_aio_delete of its file bdev: the
raid degrades, the guest sees no error), creates a new file bdev and adds it
(bdev_raid_add_base_bdev), and polls bdev_raid_get_bdevs until the rebuild is done, the guest's
requests still completing meanwhile. Then the guest's loop ends (every round verified, no I/O
error in its kernel log), the guest flushes the disk, and the two legs' files are compared beyond
the superblock area (data_offset, doc/raid.md): identical.

Then save_config, SIGTERM (exit 0), a new daemon with -c on the same sockets: the array
reassembles from its superblocks (online, both legs, the same uuid, the QoS limit back), QEMU
reconnects, and fio --verify_only over the last round's writes reads the guest's data back.

Environment: VT_VM_CHAIN_VERBOSE=1 shows the guest console, VT_VM_CHAIN_KEEP=1 keeps the VM's
work folder.
"""

import os
import shutil
import sys
import tempfile
import time

import rpc
import vtlib
from vtlib import Daemon, VtTestCase
from test_vm_blk import FIRST_SLOT, guest_file, missing_tools, pci_address, read_guest_file

sys.path.insert(0, os.path.join(vtlib.ROOT, "test", "vm"))

import vm  # noqa: E402  (test/vm/vm.py)

MiB = 1024 * 1024
VERBOSE = os.environ.get("VT_VM_CHAIN_VERBOSE", "") not in ("", "0")
KEEP = os.environ.get("VT_VM_CHAIN_KEEP", "") not in ("", "0")
SLOW = vtlib.SLOW
LEG_MIB = 256
QOS_IOPS = 200000
CTRLR = "vhost.chain"
# Guest requests completed between two steps (about 1 to 3 s of fio under TCG).
STEP_IOS = 1500
ERROR_RE = r"I/O error|blk_update_request|critical (medium|target)|Buffer I/O|blocked for " \
    r"more than|hung_task|virtio_blk.*(error|failed)"

# fio's job: two jobs (one per vCPU: both queues carry I/O), 16 MiB each; the same options
# re-read the data with --verify_only. The loop adds --verify_backlog, so that a round's writes
# go on all along it (verify reads interleaved), not only in its first half.
FIO_JOB = ("--ioengine=libaio --direct=1 --iodepth=16 --rw=randwrite --bs=4k --size=16M "
           "--numjobs=2 --offset_increment=16M --cpus_allowed=0-1 --cpus_allowed_policy=split "
           "--verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 --name=chain")

# The guest's loop (dash): a round per seed until the host creates `stop`; loop.rc at the end.
LOOP_SH = """
d=/tmp/vmtest
disk=$1
r=0
while [ ! -e $d/stop ]; do
	seed=$((1000 + r))
	if ! fio %s --verify_backlog=512 --randseed=$seed --filename=/dev/$disk --output=$d/round.fio \\
		</dev/null >/dev/null 2>&1 || grep -qE 'err= *[1-9]' $d/round.fio; then
		cp $d/round.fio $d/failed.fio
		echo "VMCHAIN-ROUND FAIL seed $seed"
		echo 1 >$d/loop.rc
		exit 1
	fi
	r=$((r + 1))
	echo $seed >$d/last_seed
	echo "VMCHAIN-ROUND ok $r seed $seed"
done
echo $r >$d/rounds
echo 0 >$d/loop.rc
""" % FIO_JOB


def raid(d, name="R1"):
    got = [r for r in d.call("bdev_raid_get_bdevs", {"category": "all"}) if r["name"] == name]
    return got[0] if got else None


@vtlib.require(missing_tools())
class VmRaidChainTest(VtTestCase):
    # A hang guard: boot, a few fio rounds, the rebuild, the restart, the read-back.
    TIME_LIMIT = 420.0

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vt-it-vmchain-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.sock_dir = os.path.join(self.tmp, "s")
        os.mkdir(self.sock_dir)
        self.rpc_sock = os.path.join(self.tmp, "rpc.sock")
        self.conf = os.path.join(self.tmp, "saved.json")
        self.legs = {}
        for name in ("A", "B", "C"):
            path = os.path.join(self.tmp, "leg%s.img" % name)
            with open(path, "wb") as f:
                f.truncate(LEG_MIB * MiB)
            self.legs[name] = path
        self.daemons = []
        vm.build_images()

    def new_daemon(self, config=None):
        d = Daemon(sock=self.rpc_sock, config=config, args=("-S", self.sock_dir))
        self.addCleanup(d.cleanup)
        self.daemons.append(d)
        return d.start()

    def logs(self):
        return "\n".join(d.describe_logs(30) for d in self.daemons[-2:])

    def completed(self):
        """Requests the current daemon completed for the guest (0 without a session)."""
        ctrl = self.d.call("vhost_get_controllers", {"name": CTRLR})
        s = ctrl[0]["sessions"] if ctrl else []
        return s[0]["requests_completed"] if s else 0

    def writes(self):
        return self.d.call("bdev_get_iostat", {"name": "R1"})["bdevs"][0]["num_write_ops"]

    def wait_until(self, g, pred, what, timeout):
        """Polls pred until true; fails after timeout s (scaled), when QEMU ends or the guest's
        loop failed."""
        deadline = time.monotonic() + timeout * SLOW
        while time.monotonic() < deadline:
            if pred():
                return
            if not g.alive():
                self.fail("QEMU ended while waiting for %s:\n%s" % (what, self.guest_info(g)))
            if self.loop_rc(g) not in (None, 0):
                self.fail("the guest's fio failed while waiting for %s:\n%s"
                          % (what, self.guest_info(g)))
            time.sleep(0.02)
        self.fail("no %s within %.0f s:\n%s" % (what, timeout * SLOW, self.guest_info(g)))

    def loop_rc(self, g):
        text = read_guest_file(os.path.join(g.job_dir, "loop.rc")).strip()
        return int(text) if text else None

    def guest_info(self, g):
        return "\n".join([
            "--- failed.fio:\n" + read_guest_file(os.path.join(g.job_dir, "failed.fio"), 3000),
            "--- console:\n" + "\n".join(g.console.splitlines()[-30:]),
            "--- qemu stderr:\n" + g.qemu_stderr()[-2000:], self.logs()])

    def more_io(self, g, what, n=STEP_IOS):
        """Waits until the guest completed n more requests (its fio still running)."""
        base = self.completed()
        self.wait_until(g, lambda: self.completed() >= base + n, "guest I/O %s" % what, 120)
        self.assertIsNone(self.loop_rc(g), "the guest's loop ended %s" % what)

    def check_dmesg(self, g, when):
        rc, out = g.cmd("dmesg | grep -iE '%s'" % ERROR_RE, timeout=60)
        self.assertEqual(rc, 1, "the guest's kernel reported errors %s:\n%s" % (when, out))

    def test_raid1_qos_chain_hot_remove_rebuild_restart(self):
        d = self.d = self.new_daemon()
        for name, leg in (("F1", "A"), ("F2", "B")):
            d.call("bdev_aio_create", {"filename": self.legs[leg], "name": name,
                                       "block_size": 512})
        self.assertIs(d.call("bdev_raid_create", {"name": "R1", "raid_level": "raid1",
                                                  "base_bdevs": ["F1", "F2"],
                                                  "superblock": True}), True)
        r = raid(d)
        uuid = r["uuid"]
        self.assertEqual((r["state"], r["num_base_bdevs_operational"]), ("online", 2))
        self.assertIs(d.call("bdev_set_qos_limit", {"name": "R1", "rw_ios_per_sec": QOS_IOPS}),
                      True)
        self.assertEqual(d.call("bdev_get_bdevs", {"name": "R1"})[0]["assigned_rate_limits"]
                         ["rw_ios_per_sec"], QOS_IOPS)
        d.call("vhost_create_blk_controller", {"ctrlr": CTRLR, "dev_name": "R1"})

        sock = os.path.join(self.sock_dir, CTRLR)
        dev = "vhost-user-blk-pci,id=blk0,chardev=vu0,num-queues=2,bus=pcie.0,addr=0x%x" % (
            FIRST_SLOT)
        g = vm.VM(["-chardev", "socket,id=vu0,path=%s,reconnect=1" % sock, "-device", dev],
                  control=True, files={"lib.sh": guest_file("lib.sh"), "loop.sh": LOOP_SH},
                  echo=sys.stdout if VERBOSE else None, start_timeout=30 * SLOW, keep=KEEP)
        self.addCleanup(g.close)
        g.start(timeout=180 * SLOW)
        rc, out = g.cmd(". /tmp/vmtest/lib.sh && wait_disk %s 30" % pci_address(FIRST_SLOT),
                        timeout=60 * SLOW)
        self.assertEqual(rc, 0, out)
        disk = out.strip().splitlines()[-1]
        rc, out = g.cmd("setsid sh /tmp/vmtest/loop.sh %s >/dev/console 2>&1 </dev/null &"
                        % disk, timeout=30)
        self.assertEqual(rc, 0, out)
        t0 = time.monotonic()
        self.more_io(g, "at the start")

        # Hot-remove of leg F2 under load: the array stays online, degraded.
        n_remove = self.completed()
        self.assertIs(d.call("bdev_aio_delete", {"name": "F2"}), True)
        self.wait_until(g, lambda: raid(d)["num_base_bdevs_operational"] == 1, "degraded raid",
                        30)
        r = raid(d)
        self.assertEqual(r["state"], "online")
        self.assertEqual(sorted(str(b["name"]) for b in r["base_bdevs_list"]), ["F1", "None"])
        self.more_io(g, "on the degraded array")

        # A new leg, rebuilt under load.
        d.call("bdev_aio_create", {"filename": self.legs["C"], "name": "F3", "block_size": 512})
        n_add = self.completed()
        w_add = self.writes()
        self.assertIs(d.call("bdev_raid_add_base_bdev", {"raid_bdev": "R1", "base_bdev": "F3"}),
                      True)
        t_add = time.monotonic()
        progress = []

        def rebuilt():
            r = raid(d)
            if "process" in r:
                progress.append(r["process"]["progress"]["percent"])
                self.assertEqual((r["process"]["type"], r["process"]["target"]),
                                 ("rebuild", "F3"))
                return False
            return r["num_base_bdevs_operational"] == 2

        self.wait_until(g, rebuilt, "end of the rebuild", 120)
        t_rebuild = time.monotonic() - t_add
        n_rebuilt = self.completed()
        w_rebuilt = self.writes()
        self.assertIsNone(self.loop_rc(g), "the guest's loop ended during the rebuild")
        r = raid(d)
        self.assertEqual((r["state"], r["num_base_bdevs_discovered"]), ("online", 2))
        self.assertEqual(sorted(b["name"] for b in r["base_bdevs_list"]), ["F1", "F3"])
        offsets = {b["data_offset"] for b in r["base_bdevs_list"]}
        sizes = {b["data_size"] for b in r["base_bdevs_list"]}
        self.assertEqual(len(offsets), 1)
        self.assertEqual(len(sizes), 1)
        self.more_io(g, "after the rebuild")

        # The guest's loop ends after its current round; every round verified.
        open(os.path.join(g.job_dir, "stop"), "w").close()
        self.wait_until(g, lambda: self.loop_rc(g) is not None, "end of the guest's fio", 240)
        self.assertEqual(self.loop_rc(g), 0, self.guest_info(g))
        rounds = int(read_guest_file(os.path.join(g.job_dir, "rounds")).strip())
        seed = read_guest_file(os.path.join(g.job_dir, "last_seed")).strip()
        self.assertGreaterEqual(rounds, 1)
        self.check_dmesg(g, "during the hot-remove and the rebuild")
        t_load = time.monotonic() - t0
        # Flush (the daemon's write cache, if any) before comparing the legs.
        g.cmd("blockdev --flushbufs /dev/%s" % disk, timeout=60, check=True)
        iostat = d.call("bdev_get_iostat", {"name": "R1"})["bdevs"][0]
        self.assertGreaterEqual(iostat["num_write_ops"], rounds * 8192)

        # Both legs hold the same data beyond the superblock area.
        bs = 512
        start, size = offsets.pop() * bs, sizes.pop() * bs
        self.assertEqual(start, MiB, "data_offset of a superblock leg (doc/raid.md)")
        self.assertEqual(start + size, LEG_MIB * MiB)
        with open(self.legs["A"], "rb") as a, open(self.legs["C"], "rb") as c:
            self.assertEqual(a.read(8), b"VTRAIDSB")
            self.assertEqual(c.read(8), b"VTRAIDSB")
            a.seek(start)
            c.seek(start)
            off = start
            while off < start + size:
                ba, bc = a.read(4 * MiB), c.read(4 * MiB)
                self.assertTrue(ba == bc, "the legs differ in the 4 MiB at byte %d" % off)
                off += len(ba)

        # Restart from the saved config: the array reassembles from its superblocks.
        with open(self.conf, "w") as f, d.client() as c:
            rpc.save_config(c, f)
        self.stop_clean(d)
        d = self.d = self.new_daemon(config=self.conf)
        r = raid(d)
        self.assertIsNotNone(r, "no raid after the restart:\n" + self.logs())
        self.assertEqual((r["state"], r["uuid"], r["num_base_bdevs_operational"]),
                         ("online", uuid, 2))
        self.assertEqual(sorted(b["name"] for b in r["base_bdevs_list"]), ["F1", "F3"])
        self.assertEqual(d.call("bdev_get_bdevs", {"name": "R1"})[0]["assigned_rate_limits"]
                         ["rw_ios_per_sec"], QOS_IOPS)

        def reconnected():
            ctrl = d.call("vhost_get_controllers", {"name": CTRLR})
            return bool(ctrl and ctrl[0]["sessions"] and
                        ctrl[0]["sessions"][0]["queues_started"] == 2)

        self.wait_until(g, reconnected, "QEMU's reconnection", 60)
        rc, out = g.cmd("fio %s --randseed=%s --verify_only --filename=/dev/%s" % (
            FIO_JOB, seed, disk), timeout=180 * SLOW)
        self.assertEqual(rc, 0, "fio --verify_only after the restart:\n%s\n%s"
                         % (out[-3000:], self.logs()))
        self.assertNotRegex(out, r"err= *[1-9]")
        self.assertGreaterEqual(self.completed(), 8192, "the read-back went through the daemon")
        self.check_dmesg(g, "after the restart")
        g.stop(timeout=60)
        self.stop_clean(d)
        print("\n    %d fio rounds verified in %.1f s; guest requests: %d before the hot-remove, "
              "%d before the add, %d (%d writes) during the rebuild of %.2f s (progress seen: %s); "
              "read-back of seed %s verified after the restart"
              % (rounds, t_load, n_remove, n_add, n_rebuilt - n_add, w_rebuilt - w_add, t_rebuild,
                 progress[:1] + progress[-1:], seed))
        self.assertGreater(w_rebuilt, w_add, "no guest write completed during the rebuild")
