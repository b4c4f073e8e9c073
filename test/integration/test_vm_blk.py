# SPDX-License-Identifier: BSD-3-Clause
"""vhost-user-blk end to end: QEMU guests (test/vm harness, TCG) on vtarget's blk controllers.

Each test boots one guest (the kill test two) whose vhost-user-blk-pci devices are served by a
private vtarget; the guest half of each test is a dash script under vm_blk/ that prints one
"VMBLK-CHECK ok|FAIL NAME SECONDS" line per check. Devices sit at fixed PCI slots (0x10, 0x11,
...) and the guest finds each disk by its PCI address.

- malloc (512-byte blocks), file (uring) and read-only malloc (4096-byte blocks) disks in one
  guest: size, serial (GET_ID = bdev name), logical block size, read-only flag, write-back
  cache on the file disk (FLUSH), fio crc32c write+verify (4 KiB random, 128 KiB sequential) on
  both writable disks at once, DISCARD and WRITE_ZEROES (with and without the UNMAP flag) read
  zeroes, writes to the read-only disk fail; after the guest stops, the backing file holds the
  guest's writes byte for byte;
- two queues on two vCPUs: one pinned fio job per queue (crc32c verify), and each queue
  signals completions (its interrupt count in /proc/interrupts grows);
- packed ring: negotiated (feature bit 34), the same on two queues;
- QEMU SIGKILLed mid-fio: vhost_delete_controller refuses (-16) while the guest is connected;
  after the kill the daemon keeps answering, drops the session, its I/O counters stop, and a
  new guest on the same controller reads back the data written before the kill and runs fio
  verify; then the controller is deleted and its socket is gone.
Daemon modes: interrupt mode for the three-disk and packed tests, polling for the others.
While a guest runs, the host samples vhost_get_controllers: the session, its started queues,
negotiated packed ring / EVENT_IDX and completed requests; a session that disappears before the
guest's result ends the test at once (the guest would hang). Every test ends with the daemon
stopped by SIGTERM: exit 0, no sanitizer report.

Environment: VT_SANITIZED=1 (longer deadlines), VT_VM_BLK_VERBOSE=1 (print each guest check and
the console), VT_VM_BLK_KEEP=1 (keep the VMs' work folders: console, job folder with the
checks' logs), VT_VM_BLK_BACKEND=qsd (debugging aid: serve the same disks with
qemu-storage-daemon instead of vtarget, to tell a test problem from a daemon problem; the
checks that only vtarget can pass are left out).
"""

import glob
import hashlib
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import vtlib
from vtlib import VtTestCase

HERE = os.path.dirname(os.path.abspath(__file__))
GUEST = os.path.join(HERE, "vm_blk")
sys.path.insert(0, os.path.join(vtlib.ROOT, "test", "vm"))

import vm  # noqa: E402  (test/vm/vm.py)

MiB = 1024 * 1024
VERBOSE = os.environ.get("VT_VM_BLK_VERBOSE", "") not in ("", "0")
KEEP = os.environ.get("VT_VM_BLK_KEEP", "") not in ("", "0")
BACKEND = os.environ.get("VT_VM_BLK_BACKEND", "vtarget")
# Deadlines: the guest (TCG) is the slow part; a sanitized daemon adds some.
SLOW = 2.0 if vtlib.SANITIZED else 1.0
# PCI slot of the first vhost-user-blk-pci device on pcie.0; the next ones follow.
FIRST_SLOT = 0x10

CHECK_RE = re.compile(r"^VMBLK-CHECK (ok|FAIL) (\S+) ([0-9.]+)(.*)$", re.M)

# virtio feature bits (guest view: /sys/bus/virtio/devices/*/features)
F_INDIRECT_DESC = 28
F_EVENT_IDX = 29
F_VERSION_1 = 32
F_RING_PACKED = 34


def missing_tools():
    """Why the VM tests cannot run here (None when they can)."""
    for prog in ("qemu-system-x86_64", "fio", "busybox"):
        if not shutil.which(prog) and not os.path.exists("/bin/" + prog):
            return "%s is not installed" % prog
    if not glob.glob("/boot/vmlinuz-*"):
        return "no kernel in /boot (package linux-image-amd64)"
    if BACKEND == "qsd" and not shutil.which("qemu-storage-daemon"):
        return "qemu-storage-daemon is not installed"
    return None


def pci_address(slot):
    return "0000:00:%02x.0" % slot


def pattern_bytes(size, seed):
    """Deterministic bytes the guest writes and the host checks."""
    return random.Random(seed).randbytes(size)


def guest_file(name):
    """The text of vm_blk/NAME."""
    with open(os.path.join(GUEST, name)) as f:
        return f.read()


def read_guest_file(path, limit=8000):
    try:
        with open(path, "r", errors="replace") as f:
            text = f.read()
    except OSError:
        return ""
    return text[-limit:]


# ---- the targets ------------------------------------------------------------------------------

class VtargetTarget:
    """Disks served by a private vtarget: bdevs and blk controllers made over JSON-RPC."""

    name = "vtarget"

    def __init__(self, test, interrupt=False):
        self.test = test
        self.d = test.start_daemon(interrupt=interrupt)
        self.dir = self.d.dir

    def malloc(self, name, size, block_size):
        self.d.call("bdev_malloc_create", {"name": name, "num_blocks": size // block_size,
                                           "block_size": block_size})
        return name

    def file(self, name, path):
        self.d.call("bdev_uring_create", {"name": name, "filename": path})
        return name

    def controller(self, ctrlr, bdev, readonly=False, packed=False):
        params = {"ctrlr": ctrlr, "dev_name": bdev}
        if readonly:
            params["readonly"] = True
        if packed:
            params["packed_ring"] = True
        self.d.call("vhost_create_blk_controller", params)
        sock = os.path.join(self.dir, ctrlr)
        self.test.assertTrue(vtlib.is_socket(sock), "no vhost-user socket at %s" % sock)
        return sock

    def ready(self):
        pass

    def serial(self, bdev):
        return bdev

    def sessions(self, ctrlr):
        res = self.d.call("vhost_get_controllers", {"name": ctrlr})
        self.test.assertEqual(len(res), 1, res)
        self.test.assertEqual(res[0]["ctrlr"], ctrlr)
        return res[0]["sessions"]

    def wait_sessions(self, ctrlr, connected, timeout):
        """Until ctrlr has a session (connected) or none; returns the sessions."""
        deadline = time.monotonic() + timeout
        while True:
            s = self.sessions(ctrlr)
            if bool(s) == connected or time.monotonic() > deadline:
                return s
            time.sleep(0.1)

    def assert_serving(self):
        if not self.d.alive():
            self.d.wait_exit(1)
            self.test.fail("vtarget died:\n%s" % self.d.describe_logs(60))
        self.test.assertIn("version", self.d.call("spdk_get_version"))

    def iostat(self, bdev):
        """The bdev's I/O counters (bdev_get_iostat)."""
        res = self.d.call("bdev_get_iostat", {"name": bdev})
        self.test.assertEqual([b["name"] for b in res["bdevs"]], [bdev], res)
        return res["bdevs"][0]

    def logs(self):
        return ""       # run.py shows the logs of the test's daemons when it fails

    def finish(self):
        self.test.stop_clean(self.d)


class QsdTarget:
    """The same disks served by qemu-storage-daemon (VT_VM_BLK_BACKEND=qsd; debugging aid).

    Malloc disks become zeroed files; the exports start at ready(); checks of vtarget's own
    behaviour (RPCs, serial = bdev name, packed ring) are left out by the tests."""

    name = "qsd"

    def __init__(self, test, interrupt=False):
        self.test = test
        self.dir = tempfile.mkdtemp(prefix="vt-it-qsd-")
        test.addCleanup(shutil.rmtree, self.dir, True)
        self.args = []
        self.nodes = {}
        self.socks = []
        self.proc = None
        self.log_path = os.path.join(self.dir, "qsd.log")
        test.addCleanup(self._kill)

    def malloc(self, name, size, block_size):
        path = os.path.join(self.dir, name + ".img")
        with open(path, "wb") as f:
            f.truncate(size)
        self.nodes[name] = block_size
        self.args += ["--blockdev", "driver=file,node-name=%s,filename=%s,cache.direct=on,"
                      "discard=unmap" % (name, path)]
        return name

    def file(self, name, path):
        self.nodes[name] = 512
        self.args += ["--blockdev", "driver=file,node-name=%s,filename=%s,cache.direct=on,"
                      "discard=unmap" % (name, path)]
        return name

    def controller(self, ctrlr, bdev, readonly=False, packed=False):
        sock = os.path.join(self.dir, ctrlr)
        self.args += ["--export", "type=vhost-user-blk,id=%s,node-name=%s,writable=%s,"
                      "logical-block-size=%d,num-queues=4,addr.type=unix,addr.path=%s"
                      % (ctrlr, bdev, "off" if readonly else "on", self.nodes[bdev], sock)]
        self.socks.append(sock)
        return sock

    def ready(self):
        if self.proc is not None:
            return
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(["qemu-storage-daemon"] + self.args, stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 10
        while not all(os.path.exists(s) for s in self.socks):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.test.fail("qemu-storage-daemon did not start:\n" + self.logs())
            time.sleep(0.05)

    def serial(self, bdev):
        return None

    def sessions(self, ctrlr):
        return None

    def wait_sessions(self, ctrlr, connected, timeout):
        return None

    def assert_serving(self):
        self.test.assertIsNone(self.proc.poll(), "qemu-storage-daemon died:\n" + self.logs())

    def iostat(self, bdev):
        return None

    def logs(self):
        return "---- qemu-storage-daemon %s\n%s" % (" ".join(self.args),
                                                   vtlib.read_text(self.log_path))

    def finish(self):
        self.assert_serving()
        self._kill()

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def make_target(test, **kw):
    return QsdTarget(test, **kw) if BACKEND == "qsd" else VtargetTarget(test, **kw)


# ---- the tests --------------------------------------------------------------------------------

class VmBlkTest(VtTestCase):
    # A hang guard, not a speed check (TCG guests; up to 77 s measured under load).
    TIME_LIMIT = 300.0

    @classmethod
    def setUpClass(cls):
        why = missing_tools()
        if why:
            raise AssertionError("VM tests cannot run: %s (scripts/pkgdep.sh installs what "
                                 "they need)" % why)
        t = time.monotonic()
        vm.build_images()       # cached after the first build (about 1.5 s)
        if VERBOSE:
            print("\n    images ready in %.1f s" % (time.monotonic() - t))

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vt-it-vmblk-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self._target = None
        self.vtarget = BACKEND != "qsd"
        self.ndev = 0

    @property
    def target(self):
        """The test's target, started on first use (vtarget polling) unless use_target came
        first."""
        if self._target is None:
            self._target = make_target(self)
        return self._target

    def use_target(self, **kw):
        """Starts the test's target with these options (e.g. interrupt=True)."""
        assert self._target is None, "the target is already running"
        self._target = make_target(self, **kw)
        return self._target

    def device(self, sock, queues=1, packed=False):
        """QEMU arguments of the next vhost-user-blk-pci device; returns (args, PCI address)."""
        i = self.ndev
        self.ndev += 1
        slot = FIRST_SLOT + i
        dev = "vhost-user-blk-pci,id=blk%d,chardev=vu%d,num-queues=%d,bus=pcie.0,addr=0x%x" % (
            i, i, queues, slot)
        if packed:
            dev += ",packed=on"
        return ["-chardev", "socket,id=vu%d,path=%s" % (i, sock), "-device", dev], \
            pci_address(slot)

    def guest(self, qemu_args, env, control=False, extra_files=None):
        files = {"lib.sh": guest_file("lib.sh")}
        files.update(extra_files or {})
        g = vm.VM(qemu_args, env=env, files=files, control=control,
                  echo=sys.stdout if VERBOSE else None, start_timeout=30 * SLOW, keep=KEEP)
        self.addCleanup(g.close)
        if KEEP:
            print("\n    VM work folder (kept): %s" % g.work_dir)
        return g

    def run_guest(self, g, script_name, timeout, ctrlrs=()):
        """Runs vm_blk/SCRIPT in g to its end. While it runs, samples vtarget's sessions on each
        of ctrlrs (vhost_get_controllers); self.seen[ctrlr] then holds the largest
        queues_started and requests_completed seen and the last negotiated features.
        Returns (Result, {check: (ok, secs, detail)})."""
        self.target.ready()
        g.launch(guest_file(script_name))
        self.seen = {c: None for c in ctrlrs}
        deadline = time.monotonic() + timeout * SLOW
        lost = {}           # controller -> when its session went away before the guest's result
        dropped = None
        while ctrlrs and g.alive() and time.monotonic() < deadline:
            # reads the console so far (notes the boot time); after its result line the guest
            # powers off and its sessions go
            ended = vm.RESULT_RE.search(g.console)
            for c in ctrlrs:
                if self.sample_session(c):
                    lost.pop(c, None)
                elif self.seen[c] is not None:
                    lost.setdefault(c, time.monotonic())
            if ended:
                lost.clear()
            # the daemon dropped a connection: the guest would hang until the deadline
            if lost and time.monotonic() - min(lost.values()) > 5 * SLOW:
                dropped = sorted(lost)
                g.kill()
                break
            time.sleep(0.5)
        res = g.wait(timeout * SLOW)
        checks = self.checks_of(res)
        if dropped:
            self.fail("vtarget closed the connection of %s while the guest was running (QEMU "
                      "killed 5 s later)\n--- qemu stderr:\n%s\n--- console (last lines):\n%s"
                      % (", ".join(dropped), res.qemu_stderr.strip(),
                         "\n".join(res.console.splitlines()[-20:])))
        missing = [c for c in ctrlrs if self.seen[c] is None]
        if missing and res.rc is not None:
            self.fail("vhost_get_controllers showed no session on %s while the guest ran"
                      % ", ".join(missing))
        return res, checks

    def sample_session(self, ctrlr):
        """Notes what vhost_get_controllers says of ctrlr's session; False if it has none."""
        sessions = self.target.sessions(ctrlr)
        if not sessions:
            return False
        self.assertEqual(len(sessions), 1, "one guest, several sessions: %r" % sessions)
        s = sessions[0]
        old = self.seen[ctrlr] or {"queues_started": 0, "requests_completed": 0}
        new = dict(s)
        for k in ("queues_started", "requests_completed"):
            new[k] = max(old[k], s[k])
        self.seen[ctrlr] = new
        return True

    def assertSession(self, ctrlr, queues, packed, min_requests):
        """What the daemon said about the guest's session while it ran."""
        s = self.seen[ctrlr]
        if VERBOSE:
            print("    %s session: %r" % (ctrlr, s))
        self.assertEqual(s["queues_started"], queues, "%s: queues started: %r" % (ctrlr, s))
        self.assertIs(s["packed_ring"], packed, "%s: packed ring: %r" % (ctrlr, s))
        self.assertIs(s["event_idx"], True, "%s: EVENT_IDX not negotiated: %r" % (ctrlr, s))
        self.assertGreaterEqual(s["requests_completed"], min_requests,
                                "%s: requests completed: %r" % (ctrlr, s))

    def checks_of(self, res):
        checks = {}
        for m in CHECK_RE.finditer(res.console):
            checks[m.group(2)] = (m.group(1) == "ok", float(m.group(3)), m.group(4).strip())
        if VERBOSE:
            print("    guest: boot %.1f s, total %.1f s" % (res.boot_s or -1, res.duration_s or -1))
            for name, (ok, secs, _) in checks.items():
                print("    %-4s %-22s %6.2f s" % ("ok" if ok else "FAIL", name, secs))
        return checks

    def assertGuestOk(self, g, res, checks, expected):
        """The script ran to its end, every expected check ran and passed."""
        problems = []
        if res.timed_out or res.rc is None:
            problems.append("guest did not finish: %s" % res.describe())
        for name in expected:
            if name not in checks:
                problems.append("check %s did not run" % name)
            elif not checks[name][0]:
                problems.append("check %s failed: %s" % (name, checks[name][2]))
        if not problems and res.rc != 0:
            problems.append("guest script exit status %s" % res.rc)
        if not problems:
            return
        text = ["%s (%s)" % (p, self.target.name) for p in problems]
        for name in expected:
            if name in checks and not checks[name][0]:
                text.append("--- %s.log:\n%s" % (name, read_guest_file(
                    os.path.join(g.job_dir, name + ".log"))))
        for path in sorted(glob.glob(os.path.join(g.job_dir, "*.fio"))):
            text.append("--- %s (fio output):\n%s" % (os.path.basename(path),
                                                      read_guest_file(path)))
        text.append("--- console (last lines):\n" + "\n".join(res.console.splitlines()[-50:]))
        if res.qemu_stderr.strip():
            text.append("--- qemu stderr:\n" + res.qemu_stderr.strip())
        text.append(self.target.logs())
        self.fail("\n".join(x for x in text if x))

    # ---- malloc + file + read-only -----------------------------------------------------------

    def test_malloc_file_readonly_disks(self):
        """Three disks in one guest: identity, fio verify, discard, write zeroes, read-only,
        and the backing file holds what the guest wrote. vtarget in interrupt mode."""
        t = self.use_target(interrupt=True)
        backing = os.path.join(self.tmp, "file0.img")
        with open(backing, "wb") as f:
            f.truncate(64 * MiB)
        mal = t.malloc("Malloc0", 64 * MiB, 512)
        fil = t.file("Uring0", backing)
        ro = t.malloc("Malloc4k", 16 * MiB, 4096)
        qargs = []
        env = {}
        for label, ctrlr, bdev, size, lbs, readonly in (
                ("MAL", "vhost.mal", mal, 64 * MiB, 512, False),
                ("FILE", "vhost.file", fil, 64 * MiB, 512, False),
                ("RO", "vhost.ro", ro, 16 * MiB, 4096, True)):
            args, pci = self.device(t.controller(ctrlr, bdev, readonly=readonly))
            qargs += args
            env.update({label + "_PCI": pci, label + "_BYTES": size, label + "_LBS": lbs,
                        label + "_SERIAL": t.serial(bdev) or "vhost_user_blk"})
        pattern = pattern_bytes(3 * MiB, 3)
        g = self.guest(qargs, env, extra_files={"pattern.bin": pattern})
        ctrlrs = ["vhost.mal", "vhost.file", "vhost.ro"]
        res, checks = self.run_guest(g, "disks.sh", 105, ctrlrs if self.vtarget else [])
        expected = ["mal_identity", "file_identity", "ro_identity", "fio_verify_both",
                    "mal_discard", "file_discard", "mal_write_zeroes", "file_write_zeroes",
                    "file_pattern", "ro_write_fails", "file_md5"]
        self.assertGuestOk(g, res, checks, expected)
        guest_md5 = read_guest_file(os.path.join(g.job_dir, "file.md5")).strip()

        # After the guest: the file holds exactly what the guest wrote and read back.
        t.assert_serving()
        with open(backing, "rb") as f:
            data = f.read()
        self.assertEqual(len(data), 64 * MiB)
        for off, poff, n in ((48 * MiB, 0, MiB), (52 * MiB + 512, MiB + 512, 512),
                             (52 * MiB + 1536, MiB + 1536, 512),
                             (52 * MiB + 3584, MiB + 3584, 512),
                             (64 * MiB - 4096, 2 * MiB, 4096), (33 * MiB, MiB, MiB),
                             (38 * MiB, 2 * MiB, MiB)):
            self.assertEqual(data[off:off + n], pattern[poff:poff + n],
                             "backing file bytes [%d, %d) differ from the guest's write"
                             % (off, off + n))
        for off, n in ((52 * MiB, 512), (52 * MiB + 1024, 512), (32 * MiB, MiB),
                       (36 * MiB, 2 * MiB), (34 * MiB, 2 * MiB), (39 * MiB, 9 * MiB)):
            self.assertEqual(data[off:off + n].count(0), n,
                             "backing file bytes [%d, %d) should be zero" % (off, off + n))
        self.assertEqual(hashlib.md5(data).hexdigest(), guest_md5,
                         "the backing file differs from what the guest read through the disk")
        if self.vtarget:
            for ctrlr in ctrlrs:
                # fio alone: 4096 + 128 writes and as many reads on each writable disk
                self.assertSession(ctrlr, 1, False, 1 if ctrlr == "vhost.ro" else 8448)
            self.assertEqual(t.iostat(ro)["num_write_ops"], 0, "the read-only bdev was written")
            for b in (mal, fil):
                self.assertGreater(t.iostat(b)["num_unmap_ops"], 0,
                                   "no DISCARD reached bdev %s" % b)
            for ctrlr in ctrlrs:
                self.assertEqual(t.wait_sessions(ctrlr, False, 10 * SLOW), [],
                                 "session left on %s after the guest ended" % ctrlr)
        t.finish()

    # ---- two queues, split and packed --------------------------------------------------------

    def two_queues(self, packed):
        t = self.target
        bdev = t.malloc("Malloc0", 64 * MiB, 512)
        sock = t.controller("vhost.mq", bdev, packed=packed)
        qargs, pci = self.device(sock, queues=2, packed=packed)
        on = [F_VERSION_1]
        off = []
        if self.vtarget:
            on += [F_INDIRECT_DESC, F_EVENT_IDX]
            (on if packed else off).append(F_RING_PACKED)
        env = {"DISK_PCI": pci, "DISK_BYTES": 64 * MiB, "QUEUES": 2,
               "FEATURES_ON": " ".join(map(str, on)), "FEATURES_OFF": " ".join(map(str, off))}
        g = self.guest(qargs, env)
        res, checks = self.run_guest(g, "queues.sh", 90, ctrlrs=["vhost.mq"] if self.vtarget
                                     else [])
        self.assertGuestOk(g, res, checks, ["queue_count", "features", "per_queue_fio"])
        if self.vtarget:
            # fio: 4096 + 128 writes and as many reads
            self.assertSession("vhost.mq", 2, packed, 8448)
            self.assertEqual(t.wait_sessions("vhost.mq", False, 10 * SLOW), [],
                             "session left after the guest ended")
        t.finish()

    def test_two_queues_both_carry_io(self):
        """num-queues=2 on two vCPUs: each queue carries I/O; fio verify; vtarget polling."""
        self.two_queues(packed=False)

    def test_packed_ring(self):
        """packed=on with a packed_ring controller: packed ring negotiated, fio verify on two
        queues; vtarget in interrupt mode."""
        self.use_target(interrupt=True)
        self.two_queues(packed=True)

    # ---- the guest is killed -----------------------------------------------------------------

    def test_guest_killed_mid_io(self):
        """QEMU SIGKILLed under fio: the daemon keeps serving, drops the session; a new guest
        on the same controller reads what the first one wrote. vtarget polling."""
        t = self.target
        bdev = t.malloc("Malloc0", 64 * MiB, 512)
        sock = t.controller("vhost.kill", bdev)
        qargs, pci = self.device(sock, queues=2)
        env = {"DISK_PCI": pci, "DISK_BYTES": 64 * MiB}
        files = {"pattern.bin": pattern_bytes(4 * MiB, 7),
                 "kill.sh": guest_file("kill.sh")}
        t.ready()
        g = self.guest(qargs, env, control=True, extra_files=files)
        g.start(timeout=60 * SLOW)
        pre = ". /tmp/vmtest/lib.sh && . /tmp/vmtest/kill.sh && "
        for step in ("prepare", "start_io"):
            rc, out = g.cmd(pre + step, timeout=60 * SLOW)
            self.assertEqual(rc, 0, "guest %s failed:\n%s" % (step, out))
        out = g.wait_guest(pre + "io_flowing", timeout=30 * SLOW)
        if VERBOSE:
            print("    " + out.strip())
        if self.vtarget:
            self.seen = {"vhost.kill": None}
            self.sample_session("vhost.kill")
            self.assertSession("vhost.kill", 2, False, 100)
            # a controller with a guest connected cannot be deleted
            self.assertRpcError(t.d, "vhost_delete_controller", {"ctrlr": "vhost.kill"}, -16)
        g.kill()                # SIGKILL, by PID, with fio's requests in flight
        self.assertFalse(g.alive())
        t0 = time.monotonic()
        t.assert_serving()
        if self.vtarget:
            self.assertEqual(t.wait_sessions("vhost.kill", False, 15 * SLOW), [],
                             "the session of the killed guest is still there")
            if VERBOSE:
                print("    session gone %.2f s after the kill" % (time.monotonic() - t0))
            # its requests are over: the bdev's counters stand still
            ops = t.iostat(bdev)
            time.sleep(0.5)
            self.assertEqual(ops, t.iostat(bdev), "I/O still going on after the session ended")
        g.close()

        g2 = self.guest(qargs, env, extra_files={"pattern.bin": files["pattern.bin"]})
        res, checks = self.run_guest(g2, "reconnect.sh", 75,
                                     ["vhost.kill"] if self.vtarget else [])
        self.assertGuestOk(g2, res, checks, ["size", "data_kept", "fio_after_kill"])
        t.assert_serving()
        if self.vtarget:
            # fio: 2048 writes and as many reads
            self.assertSession("vhost.kill", 2, False, 4096)
            self.assertEqual(t.wait_sessions("vhost.kill", False, 10 * SLOW), [])
            self.assertIs(t.d.call("vhost_delete_controller", {"ctrlr": "vhost.kill"}), True)
            self.assertFalse(os.path.exists(sock), "socket left after vhost_delete_controller")
        t.finish()
