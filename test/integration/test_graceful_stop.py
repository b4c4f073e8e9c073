# SPDX-License-Identifier: BSD-3-Clause
"""The daemon's stop and upgrade with a front end connected (issue 10, item 4), driven by the
test front end vtc (`vtc drain`: writes in flight at once, reaped until done or hang-up).

- SIGTERM, and spdk_kill_instance SIGINT, with writes in flight on a delay bdev (2 s): the daemon
  exits 0 only after they completed, and the front end saw every one complete with OK before
  the connection went; the writes are on the disk (checked after a restart);
- the stop bound (--stop-timeout 1) with writes that take 20 s: the daemon exits 0 at the bound,
  no write was completed (neither OK nor with an error) and the front end saw the hang-up;
- a restart with the saved configuration (save_config, -c) brings the controller back on the
  same socket path: the time from exec to the socket accepting a connection is printed, and a
  front end connects again and reads back what it wrote before the stop.
"""

import os
import re
import signal
import socket
import subprocess
import tempfile
import shutil
import time

import rpc
import vtlib
from vtlib import Daemon, VtTestCase
from test_vhost_blk import vtc_bin, vtc_ok, wait_for

MiB = 1024 * 1024
VERBOSE = os.environ.get("VT_STOP_VERBOSE", "") not in ("", "0")
DRAIN_RE = re.compile(r"^DRAIN ok=(\d+) failed=(\d+) pending=(\d+) hangup=(\d) "
                      r"last_ms=(-?\d+) hangup_ms=(-?\d+)$", re.M)


def socket_accepts(path):
    """True when a Unix stream socket at path accepts a connection (closed again at once)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


class GracefulStopTest(VtTestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vt-it-stop-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.sock_dir = os.path.join(self.tmp, "s")
        os.mkdir(self.sock_dir)
        self.rpc_sock = os.path.join(self.tmp, "rpc.sock")
        self.img = os.path.join(self.tmp, "disk.img")
        with open(self.img, "wb") as f:
            f.truncate(16 * MiB)
        self.conf = os.path.join(self.tmp, "saved.json")

    def daemon(self, *args, config=None):
        d = Daemon(sock=self.rpc_sock, config=config,
                   args=("-S", self.sock_dir) + tuple(args))
        self.addCleanup(d.cleanup)
        return d

    def setup_disk(self, d, latency_us):
        """aio bdev over the image, a delay bdev over it, a blk controller: its socket."""
        d.call("bdev_aio_create", {"filename": self.img, "name": "Aio0", "block_size": 512})
        lat = latency_us
        d.call("bdev_delay_create", {"base_bdev_name": "Aio0", "name": "Delay0",
                                     "avg_read_latency": lat, "p99_read_latency": lat,
                                     "avg_write_latency": lat, "p99_write_latency": lat})
        d.call("vhost_create_blk_controller", {"ctrlr": "blk.0", "dev_name": "Delay0"})
        sock = os.path.join(self.sock_dir, "blk.0")
        self.assertTrue(vtlib.is_socket(sock))
        with open(self.conf, "w") as f, d.client() as c:
            rpc.save_config(c, f)
        return sock

    def in_flight(self, d):
        s = d.call("vhost_get_controllers", {"name": "blk.0"})[0]["sessions"]
        return s[0]["inflight_task_cnt"] if s else 0

    def start_drain(self, sock, count, io_timeout_ms):
        p = subprocess.Popen([vtc_bin(), "drain", sock, "--count", str(count), "--queues", "2",
                              "--io-timeout", str(io_timeout_ms)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             stdin=subprocess.DEVNULL)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        line = p.stdout.readline()
        if line.strip() != "SUBMITTED n=%d" % count:
            p.kill()
            self.fail("vtc drain did not submit: %r %s" % (line, p.communicate()[1]))
        return p

    def drain_result(self, p):
        out, err = p.communicate(timeout=60 * vtlib.SLOW)
        m = DRAIN_RE.search(out)
        self.assertIsNotNone(m, "no DRAIN line from vtc (exit %s):\n%s%s" % (p.returncode, out,
                                                                             err))
        return [int(x) for x in m.groups()], p.returncode, out + err

    def stop_with_requests_in_flight(self, how):
        d = self.daemon().start()
        sock = self.setup_disk(d, 2000000)
        p = self.start_drain(sock, 8, 30000)
        t_sub = time.monotonic()
        wait_for(lambda: self.in_flight(d) == 8, 5, "8 requests in flight in the daemon")
        t0 = time.monotonic()
        if how == "SIGTERM":
            d.send_signal(signal.SIGTERM)
        else:
            with d.client() as c:
                self.assertIs(c.call("spdk_kill_instance", {"sig_name": how}), True)
        rc = d.wait_exit(30 * vtlib.SLOW)
        t_exit = time.monotonic()
        self.assertEqual(rc, 0, "exit code after %s:\n%s" % (how, d.describe_logs(40)))
        (ok, failed, pending, hangup, last_ms, _), vrc, text = self.drain_result(p)
        self.assertEqual((ok, failed, pending), (8, 0, 0),
                         "the front end must see every write complete OK:\n" + text)
        self.assertEqual(vrc, 0, text)
        # The writes took 2 s from their submission: the daemon waited for them.
        self.assertGreaterEqual(t_exit - t_sub, 1.9, "exited before the writes completed")
        self.assertGreaterEqual(last_ms, 1900, text)
        self.assertIn("8 requests in flight completed and published", d.output())
        self.assertFalse(d.sanitizer_report(), d.describe_logs(80))
        if VERBOSE:
            print("\n    %s: exit %.2f s after the signal, %.2f s after the submission; last "
                  "completion at %d ms" % (how, t_exit - t0, t_exit - t_sub, last_ms))
        return sock

    def restart(self, sock):
        """A new daemon on the saved config; returns (daemon, seconds from exec to the
        controller's socket accepting)."""
        self.assertFalse(os.path.exists(sock), "socket left behind by the stopped daemon")
        d = self.daemon(config=self.conf)
        t0 = time.monotonic()
        d.start(wait=False)
        wait_for(lambda: socket_accepts(sock) or (not d.alive() and d.wait_ready()), 20,
                 "the controller's socket to accept")
        secs = time.monotonic() - t0
        d.wait_ready()
        self.no_sessions(d)
        return d, secs

    def no_sessions(self, d):
        # The probe connection's (or a finished vtc's) session goes asynchronously.
        wait_for(lambda: all(not c["sessions"] for c in d.call("vhost_get_controllers")), 10,
                 "no session left")

    def test_sigterm_waits_for_requests_in_flight(self):
        sock = self.stop_with_requests_in_flight("SIGTERM")
        d, secs = self.restart(sock)
        print("\n    restart with the saved config: socket accepting %.0f ms after exec"
              % (secs * 1000))
        self.assertLess(secs, 5 * vtlib.SLOW, "restart too slow for a reconnecting front end")
        # What the drained writes carried is on the disk: a new front end reads it back.
        vtc_ok("io", sock, "--verify", "--size", "32K", "--seed", "1")
        self.stop_clean(d)

    def test_spdk_kill_instance_sigint_waits_for_requests_in_flight(self):
        self.stop_with_requests_in_flight("SIGINT")

    def test_stop_bound_leaves_requests_unpublished(self):
        d = self.daemon("--stop-timeout", "1").start()
        sock = self.setup_disk(d, 20000000)
        p = self.start_drain(sock, 4, 40000)
        wait_for(lambda: self.in_flight(d) == 4, 5, "4 requests in flight in the daemon")
        t0 = time.monotonic()
        d.send_signal(signal.SIGTERM)
        rc = d.wait_exit(15 * vtlib.SLOW)
        secs = time.monotonic() - t0
        self.assertEqual(rc, 0, "exit code at the bound:\n%s" % d.describe_logs(40))
        self.assertGreaterEqual(secs, 0.9, "exited before the bound")
        self.assertLess(secs, 5 * vtlib.SLOW, "did not exit at the bound (1 s)")
        self.assertRegex(d.output(), r"4 of 4 requests still in flight at the stop bound")
        (ok, failed, pending, hangup, _, _), vrc, text = self.drain_result(p)
        # Not completed at all: no OK, above all no error; the connection went with the process.
        self.assertEqual((ok, failed, pending, hangup), (0, 0, 4, 1), text)
        self.assertEqual(vrc, 0, text)
        if VERBOSE:
            print("\n    bound 1 s: exit %.2f s after SIGTERM" % secs)
        # The next daemon serves the same controller at once.
        d2, secs = self.restart(sock)
        vtc_ok("info", sock)
        self.stop_clean(d2)

    def test_restart_keeps_every_controller_on_its_socket(self):
        d = self.daemon().start()
        d.call("bdev_aio_create", {"filename": self.img, "name": "Aio0", "block_size": 512})
        d.call("bdev_malloc_create", {"name": "Malloc0", "num_blocks": 8192,
                                      "block_size": 512})
        d.call("vhost_create_blk_controller", {"ctrlr": "blk.a", "dev_name": "Aio0"})
        d.call("vhost_create_blk_controller", {"ctrlr": "blk.m", "dev_name": "Malloc0",
                                               "packed_ring": True})
        with open(self.conf, "w") as f, d.client() as c:
            rpc.save_config(c, f)
        a, m = (os.path.join(self.sock_dir, n) for n in ("blk.a", "blk.m"))
        vtc_ok("io", a, "--write", "--size", "1M", "--seed", "7", "--queues", "2")
        self.no_sessions(d)
        before = d.call("vhost_get_controllers")
        self.stop_clean(d)
        d2, secs = self.restart(a)
        print("\n    restart: socket accepting %.0f ms after exec" % (secs * 1000))
        self.assertEqual(d2.call("vhost_get_controllers"), before)
        self.assertTrue(socket_accepts(m))
        vtc_ok("io", a, "--verify", "--size", "1M", "--seed", "7")
        vtc_ok("io", m, "--packed", "--write", "--read", "--verify", "--size", "64K")
        self.stop_clean(d2)
