# SPDX-License-Identifier: BSD-3-Clause
"""Reconnection after a crash with the inflight record (issue 10, items 1-3 and 5).

`vtc reconnect` (test/vhost_client/vtc_reconnect.c) negotiates INFLIGHT_SHMFD as QEMU does
(GET_INFLIGHT_FD, SET_INFLIGHT_FD), completes a few writes, then submits more to a delay bdev
(one second per write) and waits until the record shows them all in flight. The test SIGKILLs
vtarget then and starts a new one from the saved configuration on the same socket; vtc
reconnects, hands the record back and checks that exactly the unfinished writes complete, each
once, that the used index moves by that number only (nothing published is executed again),
that the record is empty after, and that every block holds its data. virtio-blk and
virtio-scsi, split and packed rings.

A spoiled region handed back (truncated file, wrong version, wrong queue size) is refused with a
clear error and the connection closed; the daemon serves on."""

import os
import select
import signal
import subprocess
import sys
import time

import vtlib
from vtlib import VtTestCase

MIB = 1024 * 1024
TIMEOUT = 60.0 * vtlib.SLOW
NREQ = 8
NDONE = 4


def vtc_bin():
    return os.path.join(vtlib.build_dir(), "test", "vhost_client", "vtc")


def fields(line):
    return dict(p.split("=", 1) for p in line.split()[1:] if "=" in p)


class ReconnectTest(VtTestCase):

    def setUp(self):
        if not os.access(vtc_bin(), os.X_OK):
            raise AssertionError("vtc not built (make -C test/vhost_client)")
        self.d = self.start_daemon()
        for i in range(2):
            path = os.path.join(self.d.dir, "disk%d.img" % i)
            with open(path, "wb") as f:
                f.truncate(16 * MIB)
            self.d.call("bdev_aio_create", {"filename": path, "name": "F%d" % i,
                                            "block_size": 512})
            # One second per write: the requests are surely in flight at the kill.
            self.d.call("bdev_delay_create", {"base_bdev_name": "F%d" % i, "name": "D%d" % i,
                                              "avg_read_latency": 1000,
                                              "p99_read_latency": 1000,
                                              "avg_write_latency": 1000000,
                                              "p99_write_latency": 1000000})
        self.d.call("vhost_create_blk_controller", {"ctrlr": "blk0", "dev_name": "D0",
                                                    "packed_ring": True})
        self.d.call("vhost_create_scsi_controller", {"ctrlr": "scsi0"})
        self.d.call("vhost_scsi_controller_add_target",
                    {"ctrlr": "scsi0", "scsi_target_num": 0, "bdev_name": "D1"})
        self.cfg = os.path.join(self.d.dir, "saved.json")
        vtlib.run_rpc_py(self.d.sock, "save_config", "-o", self.cfg)

    def tearDown(self):
        self.stop_clean(self.d)

    def restart(self):
        """SIGKILL, then a new daemon from the saved configuration, sockets in the same folder."""
        self.d.send_signal(signal.SIGKILL)
        self.assertIsNotNone(self.d.wait_exit(30), "vtarget survived SIGKILL")
        old = self.d
        d = vtlib.Daemon(config=self.cfg, sock=old.sock + ".2")
        d.extra = []
        d.command = lambda: [vtlib.daemon_binary(), "-r", d.sock, "-S", old.dir, "-c",
                             self.cfg]
        self.addCleanup(d.cleanup)
        t0 = time.monotonic()
        d.start()
        self.restart_s = time.monotonic() - t0
        self.d = d
        return d

    def run_reconnect(self, ctrlr, *args):
        sock = os.path.join(self.d.dir, ctrlr)
        cmd = [vtc_bin(), "reconnect", sock, "--requests", str(NREQ), "--done", str(NDONE),
               "--timeout", "30000", "--io-timeout", "30000"] + list(args)
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             stdin=subprocess.DEVNULL)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        deadline = time.monotonic() + TIMEOUT
        out = ""
        while "INFLIGHT " not in out and time.monotonic() < deadline:
            r, _, _ = select.select([p.stdout], [], [], 1.0)
            if r:
                line = p.stdout.readline()
                if not line:
                    break
                out += line
        self.assertIn("INFLIGHT n=%d" % NREQ, out,
                      "%s\n%s\n%s" % (out, p.stderr.read() if p.poll() is not None else "",
                                      self.d.describe_logs(40)))
        self.restart()
        rest, err = p.communicate(timeout=TIMEOUT)
        out += rest
        msg = "vtc reconnect %s %s:\n%s\n%s\n%s" % (ctrlr, " ".join(args), out, err,
                                                   self.d.describe_logs(40))
        self.assertEqual(p.returncode, 0, msg)
        final = [fields(l) for l in out.splitlines() if l.startswith("RECONNECT ")]
        self.assertEqual(len(final), 1, msg)
        self.assertEqual(final[0]["result"], "ok", msg)
        self.assertEqual(final[0]["completed"], str(NREQ), msg)
        self.assertEqual(final[0]["verified"], str(NDONE + NREQ + 1), msg)
        # The new daemon resubmitted exactly the unfinished requests, from its record.
        self.assertIn("%d requests in flight before the reconnection are submitted again"
                      % NREQ, self.d.output(), msg)
        res = [fields(l) for l in out.splitlines() if l.startswith("RESUBMITTED ")]
        self.assertEqual(len(res), 1, msg)
        # The figures of the closing note: restart to ready, reconnection to the last
        # resubmitted write done (the delay bdev's 1 s included).
        sys.stderr.write("[%s %s: daemon ready %.2f s after its start; resubmitted writes done "
                         "%s ms after the reconnection began] " % (ctrlr, " ".join(args),
                                                                   self.restart_s, res[0]["ms"]))
        return out

    def test_blk_split(self):
        self.run_reconnect("blk0")

    def test_blk_packed(self):
        self.run_reconnect("blk0", "--packed")

    def test_scsi_split(self):
        self.run_reconnect("scsi0", "--scsi")

    def test_scsi_packed(self):
        self.run_reconnect("scsi0", "--scsi", "--packed")

    def test_bad_regions_are_refused(self):
        cases = {"truncated": "shorter than", "version": "version 99",
                 "queue-size": "entries"}
        for ctrlr, extra in (("blk0", []), ("scsi0", ["--scsi"])):
            for ring in ([], ["--packed"]):
                for kind, needle in cases.items():
                    sock = os.path.join(self.d.dir, ctrlr)
                    p = subprocess.run([vtc_bin(), "reconnect", sock, "--bad-region", kind]
                                       + extra + ring, capture_output=True, text=True,
                                       timeout=TIMEOUT, stdin=subprocess.DEVNULL)
                    msg = "%s %s %s:\n%s\n%s" % (ctrlr, ring, kind, p.stdout, p.stderr)
                    self.assertEqual(p.returncode, 0, msg)
                    self.assertIn("BADREGION kind=%s refused=yes" % kind, p.stdout, msg)
                    self.assertIn("bad inflight region", self.d.output(), msg)
                    self.assertIn(needle, self.d.output(), msg)
                    self.assertTrue(self.d.alive(), msg)
        # The daemon serves on.
        self.d.call("vhost_get_controllers")
