# SPDX-License-Identifier: BSD-3-Clause
"""Adaptive polling (--poll-mode adaptive): reactors poll while there is work and for a short,
self-tuning window after it, then arm notifications and sleep as in interrupt mode. Requests
complete at queue depth 1 and 32 with polling and sleeping front ends, an idle daemon with 16
connected idle controllers burns little CPU, and framework_get_reactors reports the mode and each
reactor's window. No latency is measured here: bench/ does that."""

import os
import shutil
import signal
import subprocess
import tempfile
import time

import vtlib
from vtlib import SharedDaemonTestCase, VtTestCase
from test_vhost_blk import BlkBase, vtc_bin, vtc_ok, wait_for

# The bound of the window (lib/event/event_internal.h ADAPTIVE_WINDOW_MAX_NS), in us.
WINDOW_MAX_US = 200


def bench_ok(sock, *opts):
    """vtc bench; asserts success and returns its key=value line as a dict."""
    out = vtc_ok("bench", sock, *opts)
    line = out.strip().splitlines()[-1]
    return dict(kv.split("=", 1) for kv in line.split() if "=" in kv)


class AdaptiveTest(BlkBase, SharedDaemonTestCase):
    """One adaptive daemon; each test cleans up its controllers and bdevs."""

    daemon_kwargs = {"args": ("--poll-mode", "adaptive")}

    def tearDown(self):
        for c in self.d.call("vhost_get_controllers"):
            self.d.call("vhost_delete_controller", {"ctrlr": c["ctrlr"]})
        vtlib.delete_all_bdevs(self.d)
        super().tearDown()

    def test_framework_get_reactors_shows_adaptive_mode_and_window(self):
        r = self.d.call("framework_get_reactors")
        self.assertEqual(r["pid"], self.d.pid)
        self.assertEqual(len(r["reactors"]), 1)
        for x in r["reactors"]:
            # SPDK's fields, unchanged, and ours.
            for k in ("lcore", "tid", "busy", "idle", "in_interrupt", "lw_threads"):
                self.assertIn(k, x)
            self.assertEqual(x["poll_mode"], "adaptive")
            self.assertIs(x["in_interrupt"], True)
            self.assertIsInstance(x["adaptive_window_us"], int)
            self.assertGreaterEqual(x["adaptive_window_us"], 0)
            self.assertLessEqual(x["adaptive_window_us"], WINDOW_MAX_US)

    def test_qd1_verified_io_with_polling_and_sleeping_front_ends(self):
        self.malloc("Malloc0", 16, 512)
        self.malloc("Malloc1", 16, 4096)
        s = self.create("blk.0", "Malloc0")
        p = self.create("blk.p", "Malloc1", packed_ring=True)
        for sock, opts in ((s, ()), (s, ("--interrupt",)), (p, ("--packed",)),
                           (p, ("--packed", "--interrupt")),
                           (s, ("--interrupt", "--no-event-idx")), (s, ("--queues", "2"))):
            vtc_ok("io", sock, "--write", "--read", "--verify", "--size", "1M", "--bs", "16K",
                   "--seed", "3", *opts)

    def test_qd32_completes_then_data_verifies(self):
        self.malloc("Malloc0", 16, 4096)
        s = self.create("blk.0", "Malloc0")
        for rw, opts in (("randwrite", ()), ("randread", ("--interrupt",)),
                         ("randwrite", ("--interrupt", "--queues", "2")), ("randread", ())):
            res = bench_ok(s, "--rw", rw, "--qd", "32", "--time", "1", *opts)
            self.assertEqual(res["qd"], "32")
            self.assertEqual(res["errors"], "0")
            self.assertGreater(int(res["ios"]), 32, res)
        # After the random writes the disk still reads back what is written.
        vtc_ok("io", s, "--write", "--read", "--verify", "--size", "2M", "--bs", "128K",
               "--seed", "5")

    def test_file_bdevs_complete_through_polling_and_their_eventfd(self):
        # aio and io_uring reap by polling while the reactor polls, by eventfd when it sleeps.
        tmp = tempfile.mkdtemp(prefix="vt-it-adaptive-")
        self.addCleanup(shutil.rmtree, tmp, True)
        for method, name in (("bdev_aio_create", "Aio0"), ("bdev_uring_create", "Uring0")):
            img = os.path.join(tmp, name + ".img")
            with open(img, "wb") as f:
                f.truncate(8 * 1024 * 1024)
            self.d.call(method, {"filename": img, "name": name, "block_size": 4096})
            s = self.create("blk." + name, name)
            for opts in ((), ("--interrupt",)):
                vtc_ok("io", s, "--write", "--read", "--verify", "--size", "1M", "--bs", "16K",
                       "--seed", "9", *opts)
                res = bench_ok(s, "--rw", "randwrite", "--qd", "32", "--time", "1", *opts)
                self.assertEqual(res["errors"], "0")
                self.assertGreater(int(res["ios"]), 32, res)

    def test_scsi_write_read_verify_with_sleeping_and_polling_front_ends(self):
        self.malloc("Malloc0", 16, 512)
        self.assertIs(self.d.call("vhost_create_scsi_controller", {"ctrlr": "scsi.0"}), True)
        self.assertEqual(self.d.call("vhost_scsi_controller_add_target",
                                     {"ctrlr": "scsi.0", "scsi_target_num": 0,
                                      "bdev_name": "Malloc0"}), 0)
        sock = self.sock("scsi.0")
        for i, opts in enumerate(((), ("--poll",), ("--queues", "2"))):
            cmds = "write 0 %d 64 %d\nread 0 %d 64 %d\nquit\n" % (i * 64, i, i * 64, i)
            r = subprocess.run([vtc_bin(), "scsi", sock, "--stdin"] + list(opts), input=cmds,
                               capture_output=True, text=True, timeout=60 * vtlib.SLOW)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("verify=ok", r.stdout, opts)
            self.assertNotIn("verify=fail", r.stdout, opts)
            self.assertEqual(r.stdout.count("DONE rc=0"), 2, r.stdout)

    def test_idle_daemon_with_16_connected_controllers_sleeps(self):
        n = 16
        self.d.call("bdev_null_create", {"name": "Null0", "num_blocks": 4096,
                                         "block_size": 4096})
        self.d.call("bdev_split_create", {"base_bdev": "Null0", "split_count": n})
        fronts = []
        try:
            for i in range(n):
                s = self.create("blk.%d" % i, "Null0p%d" % i)
                # A sleeping front end that keeps its connection, stopped once it runs.
                p = subprocess.Popen([vtc_bin(), "bench", s, "--rw", "randread", "--qd", "1",
                                      "--time", "120", "--interrupt"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL)
                fronts.append(p)
            for i in range(n):
                wait_for(lambda: [x for x in self.sessions("blk.%d" % i) if x["started"]],
                         20, "a started session on blk.%d" % i)
            for p in fronts:
                p.send_signal(signal.SIGSTOP)
            # Let the reactor finish what the front ends had in flight.
            time.sleep(0.3)
            before = vtlib.cpu_seconds(self.d.pid)
            t0 = time.monotonic()
            time.sleep(3.0)
            used = vtlib.cpu_seconds(self.d.pid) - before
            elapsed = time.monotonic() - t0
            # A polling reactor would use the whole core; allow 10% of one.
            self.assertLess(used, 0.10 * elapsed * vtlib.SLOW,
                            "adaptive daemon used %.2f s of CPU in %.1f s with %d idle "
                            "controllers" % (used, elapsed, n))
            (x,) = self.d.call("framework_get_reactors")["reactors"]
            self.assertEqual(x["poll_mode"], "adaptive")
        finally:
            for p in fronts:
                p.kill()  # SIGKILL ends a stopped process too
                p.wait(timeout=10)
                p.stderr.close()
        for i in range(n):
            wait_for(lambda: self.sessions("blk.%d" % i) == [], 10,
                     "the session of blk.%d to go" % i)


class AdaptiveTwoReactorsTest(BlkBase, VtTestCase):
    """Two adaptive reactors: controllers on either serve, messages between them wake a sleeping
    one, and both sleep when idle."""

    def test_io_on_either_reactor_then_both_sleep(self):
        self.assertGreaterEqual(len(os.sched_getaffinity(0)), 2,
                                "this test needs two CPUs (two reactors in adaptive mode)")
        self.d = self.start_daemon(args=("-m", "0x3", "--poll-mode", "adaptive"))
        reactors = self.d.call("framework_get_reactors")["reactors"]
        self.assertEqual([x["poll_mode"] for x in reactors], ["adaptive", "adaptive"])
        self.malloc("Malloc0", 16, 512)
        self.malloc("Malloc1", 16, 4096)
        s0 = self.create("blk.0", "Malloc0", cpumask="0x1")
        s1 = self.create("blk.1", "Malloc1", cpumask="0x2")
        self.assertEqual(self.controller("blk.1")["reactor"], 1)
        for opts in ((), ("--interrupt",), ("--queues", "2")):
            for s in (s0, s1):
                vtc_ok("io", s, "--write", "--read", "--verify", "--size", "1M", "--bs",
                       "32K", *opts)
        res = bench_ok(s1, "--rw", "randread", "--qd", "32", "--time", "1", "--interrupt")
        self.assertEqual(res["errors"], "0")
        time.sleep(0.3)
        before = vtlib.cpu_seconds(self.d.pid)
        t0 = time.monotonic()
        time.sleep(2.0)
        used = vtlib.cpu_seconds(self.d.pid) - before
        elapsed = time.monotonic() - t0
        self.assertLess(used, 0.10 * elapsed * vtlib.SLOW,
                        "two adaptive reactors used %.2f s of CPU in %.1f s idle"
                        % (used, elapsed))
        # Still answers: the RPC's message goes round both reactors, waking them.
        self.assertEqual(len(self.d.call("framework_get_reactors")["reactors"]), 2)
        self.stop_clean(self.d)


class PollModeOptionTest(BlkBase, VtTestCase):
    """--poll-mode on the command line: each mode, --interrupt as an alias, bad values."""

    def test_each_mode_is_reported_and_serves(self):
        for args, mode, in_interrupt in ((("--poll-mode", "poll"), "poll", False),
                                         (("--poll-mode", "interrupt"), "interrupt", True),
                                         (("--interrupt",), "interrupt", True),
                                         (("--poll-mode", "adaptive"), "adaptive", True)):
            self.d = self.start_daemon(args=args)
            (x,) = self.d.call("framework_get_reactors")["reactors"]
            self.assertEqual((x["poll_mode"], x["in_interrupt"]), (mode, in_interrupt), args)
            if mode != "adaptive":
                self.assertEqual(x["adaptive_window_us"], 0, args)
            self.malloc("Malloc0", 4, 512)
            s = self.create("blk.0", "Malloc0")
            vtc_ok("io", s, "--write", "--read", "--verify", "--size", "256K")
            self.stop_clean(self.d)

    def test_bad_poll_mode_is_refused(self):
        p = subprocess.run([vtlib.daemon_binary(), "--poll-mode", "sometimes"],
                           capture_output=True, text=True, timeout=30 * vtlib.SLOW,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 1)
        self.assertIn("invalid poll mode 'sometimes'", p.stderr)
        self.assertIn("poll, interrupt or adaptive", p.stderr)
        self.assertTrue(os.access(vtlib.daemon_binary(), os.X_OK))
