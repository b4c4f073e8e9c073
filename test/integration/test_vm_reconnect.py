# SPDX-License-Identifier: BSD-3-Clause
"""The daemon killed and restarted under a guest's I/O (issue 10): a TCG guest (test/vm harness)
runs fio randwrite with crc32c verify (verify_fatal) on a file-backed vhost-user-blk disk with 2
queues, QEMU's chardev set to reconnect (`reconnect=1`). Meanwhile the host SIGKILLs the daemon
KILLS times, at random intervals of 0.5 to 4 s once the guest's I/O flows, and restarts it from
its saved configuration (save_config output, `-c`) each time; then stops it TERMS times with
SIGTERM (exit 0 required) and restarts it. In the end fio verified every round, the guest's
kernel log has no I/O error and no hung task, and the last daemon stops with exit 0.

For every restart the host measures, from the exec of the new daemon: its controller socket
appearing, its ready line, and the guest's I/O flowing again (the new daemon has completed
requests, from vhost_get_controllers); for each SIGTERM, the time to exit. The figures are
printed at the end of each test.

Split rings and packed rings (`packed=on`, controller with packed_ring). Without the inflight
record (VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) QEMU survives a SIGKILL by rewinding a split ring to
its used index, and the next daemon takes again everything made available after it. That is
exact only when the killed daemon had completed its requests in ring order: one completed out of
order at the kill runs a second time (the guest prints "id N is not a head!" and fails it with an
I/O error) while an older one is never answered. Measured here before INFLIGHT: of 12 split
runs (11 of 3 kills, 1 of 20), the 20-kill run showed it at one of its first kills and one 3-kill
run hung the guest's fio (most likely the same). A SIGTERM stop publishes everything it took, so
its rewind is exact (10 SIGTERMs in a row passed on split). A packed ring cannot be rewound at all:
QEMU 7.2 keeps the index of its last GET_VRING_BASE answer, which a back end that hung up never
gave, so without INFLIGHT the guest's I/O never resumes on the packed variant, after a SIGKILL and
after a SIGTERM alike (seen here: no I/O within 60 s after the first kill, and after the first
SIGTERM of a SIGTERM-only run). The guest's console is checked after every cycle, so a ring or
I/O error fails the test at once.

Environment: VT_VM_RECONNECT_KILLS (default 3; `make soak`: 20), VT_VM_RECONNECT_TERMS (default 1;
`make soak`: 3), VT_VM_RECONNECT_SEED (the random intervals; printed), VT_VM_RECONNECT_VERBOSE=1
(the console and each cycle as it happens), VT_VM_RECONNECT_KEEP=1 (keep the VM's work folder).
"""

import datetime
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time

import rpc
import vtlib
from vtlib import Daemon, VtTestCase
from test_vm_blk import FIRST_SLOT, guest_file, missing_tools, pci_address, read_guest_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(vtlib.ROOT, "test", "vm"))

import vm  # noqa: E402  (test/vm/vm.py)

MiB = 1024 * 1024
KILLS = int(os.environ.get("VT_VM_RECONNECT_KILLS", "3"))
TERMS = int(os.environ.get("VT_VM_RECONNECT_TERMS", "1"))
VERBOSE = os.environ.get("VT_VM_RECONNECT_VERBOSE", "") not in ("", "0")
KEEP = os.environ.get("VT_VM_RECONNECT_KEEP", "") not in ("", "0")
SLOW = 2.0 if vtlib.SANITIZED else 1.0
# The guest's I/O must flow again within this after a restart (QEMU retries every second).
IO_BACK_TIMEOUT = 60.0
# Boot (TCG: 3 to 35 s measured, with other builds running) and fio's start.
START_TIMEOUT = 180.0
# What the guest's kernel prints when the device broke its ring or failed a request.
GUEST_ERROR_RE = re.compile(r"^.*(is not a head|I/O error|blk_update_request|blocked for more "
                            r"than|hung_task).*$", re.M)
LISTEN_RE = re.compile(r"^\[([0-9-]+ [0-9:.]+)\] .*vhost controller 'vhost.rc' .* listening on",
                       re.M)


def own_file(name):
    with open(os.path.join(HERE, "vm_reconnect", name)) as f:
        return f.read()


class VmReconnectTest(VtTestCase):
    # A hang guard: boot, KILLS + TERMS cycles of a few seconds each, the last fio round.
    TIME_LIMIT = 300.0 + 15.0 * (KILLS + TERMS)

    @classmethod
    def setUpClass(cls):
        why = missing_tools()
        if why:
            raise AssertionError("VM tests cannot run: %s (scripts/pkgdep.sh installs what "
                                 "they need)" % why)
        vm.build_images()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vt-it-vmrc-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.sock_dir = os.path.join(self.tmp, "s")
        os.mkdir(self.sock_dir)
        self.rpc_sock = os.path.join(self.tmp, "rpc.sock")
        self.conf = os.path.join(self.tmp, "saved.json")
        self.img = os.path.join(self.tmp, "disk.img")
        with open(self.img, "wb") as f:
            f.truncate(64 * MiB)
        self.d = None
        self.daemons = []
        seed = os.environ.get("VT_VM_RECONNECT_SEED")
        self.seed = int(seed) if seed else random.randrange(1 << 30)
        self.rng = random.Random(self.seed)

    def new_daemon(self, config=None):
        d = Daemon(sock=self.rpc_sock, config=config, args=("-S", self.sock_dir))
        self.addCleanup(d.cleanup)
        self.daemons.append(d)
        return d

    def logs(self):
        return "\n".join(d.describe_logs(25) for d in self.daemons[-3:])

    def session(self):
        """The current daemon's session on the guest's controller (None without one)."""
        try:
            ctrl = self.d.call("vhost_get_controllers", {"name": "vhost.rc"}, timeout=5)
        except (rpc.JSONRPCException, OSError):
            return None
        return ctrl[0]["sessions"][0] if ctrl and ctrl[0]["sessions"] else None

    def completed(self):
        """Requests the current daemon completed for the guest (0 without a session)."""
        s = self.session()
        return s["requests_completed"] if s else 0

    def wait_until(self, g, pred, what, timeout=IO_BACK_TIMEOUT):
        """Polls pred until true; fails after timeout s or when QEMU ends."""
        deadline = time.monotonic() + timeout * SLOW
        while time.monotonic() < deadline:
            if pred():
                return
            if not g.alive():
                self.fail("QEMU ended while waiting for %s:\n%s\n%s" % (
                    what, g.qemu_stderr(), "\n".join(g.console.splitlines()[-30:])))
            time.sleep(0.01)
        self.fail("no %s within %.0f s (seed %d)\n--- qemu stderr:\n%s\n--- console:\n%s\n%s"
                  % (what, timeout * SLOW, self.seed, g.qemu_stderr()[-3000:],
                     "\n".join(g.console.splitlines()[-30:]), self.logs()))

    def check_guest(self, g, when):
        """Fails at once when the guest's kernel reported a ring or I/O error."""
        m = GUEST_ERROR_RE.search(g.console)
        if m:
            self.fail("the guest's kernel reported an error %s (seed %d): %s\n--- console:\n%s"
                      "\n%s" % (when, self.seed, m.group(0).strip(),
                                "\n".join(g.console.splitlines()[-30:]), self.logs()))

    def listening_at(self, d):
        """Wall-clock time of the daemon's "listening on" line for the controller."""
        m = LISTEN_RE.search(d.output())
        self.assertIsNotNone(m, "no listening line:\n" + d.describe_logs(20))
        t = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f")
        return t.timestamp()

    def restart(self, g, why):
        """A new daemon from the saved config. Returns the seconds from its exec to: the
        controller listening, the ready line, QEMU's session with both queues started, the
        guest's requests completing."""
        self.d = self.new_daemon(config=self.conf)
        wall0, t0 = time.time(), time.monotonic()
        self.d.start(wait=False)
        self.d.wait_ready()
        t_ready = time.monotonic() - t0
        t_listen = self.listening_at(self.d) - wall0

        def started():
            s = self.session()
            return s is not None and s["queues_started"] == 2

        self.wait_until(g, started, "QEMU session with 2 queues started after %s" % why)
        t_conn = time.monotonic() - t0
        self.wait_until(g, lambda: self.completed() > 0, "guest I/O after %s" % why)
        return t_listen, t_ready, t_conn, time.monotonic() - t0

    def cycles(self, packed):
        d = self.d = self.new_daemon().start()
        d.call("bdev_aio_create", {"filename": self.img, "name": "Aio0", "block_size": 512})
        params = {"ctrlr": "vhost.rc", "dev_name": "Aio0"}
        if packed:
            params["packed_ring"] = True
        d.call("vhost_create_blk_controller", params)
        with open(self.conf, "w") as f, d.client() as c:
            rpc.save_config(c, f)
        sock = os.path.join(self.sock_dir, "vhost.rc")
        dev = "vhost-user-blk-pci,id=blk0,chardev=vu0,num-queues=2,bus=pcie.0,addr=0x%x" % (
            FIRST_SLOT)
        if packed:
            dev += ",packed=on"
        qargs = ["-chardev", "socket,id=vu0,path=%s,reconnect=1" % sock, "-device", dev]
        g = vm.VM(qargs, env={"DISK_PCI": pci_address(FIRST_SLOT)},
                  files={"lib.sh": guest_file("lib.sh"), "fio_loop.sh": own_file("fio_loop.sh")},
                  echo=sys.stdout if VERBOSE else None, start_timeout=30 * SLOW, keep=KEEP)
        self.addCleanup(g.close)
        g.launch(". /tmp/vmtest/lib.sh && . /tmp/vmtest/fio_loop.sh")
        # fio under way (the boot's partition scan reads a few dozen blocks)
        self.wait_until(g, lambda: self.completed() > 1000, "fio's I/O at the start",
                        START_TIMEOUT)
        figures = []        # (kind, listening, ready, reconnected, I/O back, exit or None)
        plan = ["kill"] * KILLS + ["term"] * TERMS
        for i, kind in enumerate(plan):
            time.sleep(self.rng.uniform(0.5, 4.0))      # the random interval of the plan
            self.check_guest(g, "after %s" % ("the start" if i == 0 else "cycle %d" % i))
            self.assertTrue(g.alive(), "QEMU ended during cycle %d:\n%s" % (i, g.qemu_stderr()))
            before = self.completed()
            self.assertGreater(before, 0, "no guest I/O before cycle %d" % i)
            t_exit = None
            if kind == "kill":
                self.d.send_signal(signal.SIGKILL)
                rc = self.d.wait_exit(10)
                self.assertEqual(rc, -signal.SIGKILL, self.logs())
            else:
                t0 = time.monotonic()
                self.d.send_signal(signal.SIGTERM)
                rc = self.d.wait_exit(60 * SLOW)
                t_exit = time.monotonic() - t0
                self.assertEqual(rc, 0, "SIGTERM under guest I/O: exit %s\n%s" % (rc,
                                                                                self.logs()))
                self.assertFalse(self.d.sanitizer_report(), self.logs())
            f = self.restart(g, "%s %d" % (kind, i + 1))
            self.check_guest(g, "by %s %d" % (kind, i + 1))
            figures.append((kind,) + f + (t_exit,))
            if VERBOSE:
                print("    %s %d: listening %.3f s, ready %.3f s, reconnected %.3f s, I/O back "
                      "%.3f s after exec%s" % ((kind, i + 1) + f + (
                          "" if t_exit is None else "; exit %.3f s after SIGTERM" % t_exit,)))
        open(os.path.join(g.job_dir, "stop"), "w").close()
        res = g.wait(time.monotonic() - g._t0 + 240 * SLOW)
        self.report(packed, figures)
        self.assertGuest(g, res)
        rc = self.d.stop(grace=60 * SLOW)
        self.assertEqual(rc, 0, "the last daemon: exit %s\n%s" % (rc, self.logs()))
        self.assertFalse(self.d.sanitizer_report(), self.logs())

    def report(self, packed, figures):
        def stats(vals):
            vals = sorted(vals)
            return "min %.0f / median %.0f / max %.0f ms" % (
                vals[0] * 1000, vals[len(vals) // 2] * 1000, vals[-1] * 1000)

        print("\n    %s ring, %d kills + %d SIGTERMs (seed %d), from the new daemon's exec:"
              % ("packed" if packed else "split", KILLS, TERMS, self.seed))
        print("      controller listening: %s" % stats([f[1] for f in figures]))
        print("      ready line:           %s" % stats([f[2] for f in figures]))
        print("      QEMU reconnected:     %s" % stats([f[3] for f in figures]))
        print("      guest I/O flowing:    %s" % stats([f[4] for f in figures]))
        exits = [f[5] for f in figures if f[5] is not None]
        if exits:
            print("      SIGTERM to exit:      %s" % stats(exits))

    def assertGuest(self, g, res):
        checks = {}
        for line in res.console.splitlines():
            p = line.split()
            if len(p) >= 3 and p[0] == "VMBLK-CHECK":
                checks[p[2]] = p[1] == "ok"
        rounds = [ln for ln in res.console.splitlines() if ln.startswith("VMRC-ROUND")]
        if VERBOSE or rounds and not rounds[-1].startswith("VMRC-ROUND ok"):
            print("    " + "\n    ".join(rounds[-5:]))
        problems = []
        if res.timed_out or res.rc is None:
            problems.append("guest did not finish: %s" % res.describe())
        for name in ("fio_verify", "rounds_ran", "no_io_error", "no_hung_task"):
            if name not in checks:
                problems.append("check %s did not run" % name)
            elif not checks[name]:
                problems.append("check %s failed" % name)
        if not problems and res.rc != 0:
            problems.append("guest script exit status %s" % res.rc)
        if not problems:
            return
        text = problems + ["seed %d" % self.seed]
        for name in ("failed.fio", "dmesg.log"):
            text.append("--- %s:\n%s" % (name, read_guest_file(os.path.join(g.job_dir, name),
                                                               4000)))
        text.append("--- console (last lines):\n" + "\n".join(res.console.splitlines()[-40:]))
        text.append("--- qemu stderr:\n" + res.qemu_stderr.strip()[-3000:])
        text.append(self.logs())
        self.fail("\n".join(text))

    def test_split_ring_kills_and_stops(self):
        """Split rings: SIGKILLs and SIGTERMs under fio verify; QEMU rewinds and resubmits."""
        self.cycles(packed=False)

    def test_packed_ring_kills_and_stops(self):
        """Packed rings: the same; needs the inflight record (INFLIGHT_SHMFD)."""
        self.cycles(packed=True)
