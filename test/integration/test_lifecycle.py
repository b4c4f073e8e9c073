# SPDX-License-Identifier: BSD-3-Clause
"""Daemon life cycle: start, ready line, socket and lock file, stop, refusals, bad start-up."""

import json
import os
import shutil
import signal
import stat
import tempfile
import time

import rpc
import vtlib
from vtlib import Daemon, VtTestCase

QUICK_EXIT = 15.0 * vtlib.SLOW


class StartStopTest(VtTestCase):

    def test_start_prints_ready_and_sigterm_removes_socket_and_lock(self):
        d = self.start_daemon()
        # The ready line comes once the daemon serves; allow it a moment to be flushed.
        deadline = time.monotonic() + 5 * vtlib.SLOW
        while not vtlib.READY_RE.search(d.output()) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertRegex(d.output(), vtlib.READY_RE, "no ready line printed")
        st = os.stat(d.sock)
        self.assertTrue(stat.S_ISSOCK(st.st_mode), "%s is not a socket" % d.sock)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600, "socket mode %o" % st.st_mode)
        self.assertTrue(os.path.exists(d.lock_path), "lock file %s missing" % d.lock_path)
        self.assertIn("version", d.call("spdk_get_version"))
        self.stop_clean(d)
        self.assertFalse(os.path.exists(d.sock), "socket left behind after SIGTERM")
        self.assertFalse(os.path.exists(d.lock_path), "lock file left behind after SIGTERM")

    def test_sigint_stops_cleanly(self):
        d = self.start_daemon()
        rc = d.stop(sig=signal.SIGINT)
        self.assertFalse(d.killed, "daemon ignored SIGINT")
        self.assertEqual(rc, 0, d.describe_logs(30))
        self.assertFalse(os.path.exists(d.sock))

    def test_spdk_kill_instance_stops_the_daemon(self):
        d = self.start_daemon()
        with d.client() as c:
            c.call("spdk_kill_instance", {"sig_name": "SIGTERM"})
        rc = d.wait_exit(vtlib.STOP_GRACE)
        self.assertEqual(rc, 0, "daemon did not exit 0 after spdk_kill_instance:\n%s"
                         % d.describe_logs(30))
        self.assertFalse(os.path.exists(d.sock))

    def test_spdk_kill_instance_rejects_unknown_signal(self):
        d = self.start_daemon()
        self.assertRpcError(d, "spdk_kill_instance", {"sig_name": "SIGNOPE"}, -32602,
                            "SIGNOPE")
        self.assertTrue(d.alive())
        self.stop_clean(d)

    def test_version_fields(self):
        d = self.start_daemon()
        ver = d.call("spdk_get_version")
        self.assertIsInstance(ver["version"], str)
        fields = ver["fields"]
        for k in ("major", "minor", "patch"):
            self.assertIsInstance(fields[k], int, k)
        self.assertIn("%d.%d.%d" % (fields["major"], fields["minor"], fields["patch"]),
                      ver["version"])
        self.stop_clean(d)

    def test_second_daemon_on_same_socket_is_refused(self):
        first = self.start_daemon()
        second = Daemon(sock=first.sock, name="second")
        self.addCleanup(second.cleanup)
        second.start(wait=False)
        rc = second.wait_exit(QUICK_EXIT)
        self.assertIsNotNone(rc, "second daemon on the same socket kept running")
        self.assertNotEqual(rc, 0, "second daemon exited 0")
        self.assertIn(first.sock, second.output(),
                      "refusal message should name the socket:\n%s" % second.describe_logs(20))
        # The first one still serves on its socket, and its lock file is intact.
        self.assertTrue(vtlib.is_socket(first.sock), "second daemon removed the socket")
        self.assertTrue(os.path.exists(first.lock_path), "second daemon removed the lock")
        self.assertIn("version", first.call("spdk_get_version"))
        self.stop_clean(first)

    def test_stale_socket_after_sigkill_is_taken_over(self):
        first = self.start_daemon()
        first.stop(sig=signal.SIGKILL)
        second = Daemon(sock=first.sock, name="after-kill")
        self.addCleanup(second.cleanup)
        second.start()
        self.assertIn("version", second.call("spdk_get_version"))
        self.stop_clean(second)

    def test_interrupt_mode_serves_and_sleeps_when_idle(self):
        d = self.start_daemon(interrupt=True)
        self._check_serves_and_idles(d)
        self.stop_clean(d)

    def test_interrupt_mode_two_reactors_sleep_when_idle(self):
        self.assertGreaterEqual(len(os.sched_getaffinity(0)), 2,
                                "this test needs two CPUs (two reactors in interrupt mode)")
        d = self.start_daemon(interrupt=True, args=["-m", "0x3"])
        self._check_serves_and_idles(d)
        self.stop_clean(d)

    def _check_serves_and_idles(self, d):
        with d.client() as c:
            self.assertEqual(c.call("bdev_malloc_create",
                                    {"name": "M0", "num_blocks": 2048, "block_size": 512}),
                             "M0")
            self.assertEqual(c.call("bdev_get_bdevs", {"name": "M0"})[0]["num_blocks"], 2048)
        time.sleep(0.3)
        before = vtlib.cpu_seconds(d.pid)
        t0 = time.monotonic()
        time.sleep(2.0)
        used = vtlib.cpu_seconds(d.pid) - before
        elapsed = time.monotonic() - t0
        # Sanitizer builds get some slack for their own bookkeeping; no busy loop fits in it.
        limit = 0.4 if vtlib.SANITIZED else 0.2
        self.assertLess(used, limit, "interrupt mode used %.2f s of CPU in %.1f s idle"
                        % (used, elapsed))
        # Still answers after sleeping.
        self.assertTrue(d.call("bdev_malloc_delete", {"name": "M0"}))


class StartupTest(VtTestCase):
    """Start-up from the command line and a -c config; a failure gives one clear error line,
    a non-zero exit and leaves nothing behind."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vt-it-cfg-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def _run_failing(self, **kw):
        d = Daemon(**kw)
        self.addCleanup(d.cleanup)
        d.start(wait=False)
        rc = d.wait_exit(QUICK_EXIT)
        self.assertIsNotNone(rc, "daemon kept running:\n%s" % d.describe_logs(20))
        self.assertNotEqual(rc, 0, "daemon exited 0:\n%s" % d.describe_logs(20))
        self.assertGreater(rc, 0, "daemon died of signal %d:\n%s" % (-rc, d.describe_logs(40)))
        self.assertFalse(d.sanitizer_report(), d.describe_logs(80))
        self.assertFalse(os.path.exists(d.sock), "socket left behind")
        self.assertFalse(os.path.exists(d.lock_path), "lock file left behind")
        return d

    def _lines_naming(self, d, needle):
        return [line for line in d.output().splitlines() if needle in line]

    def assertOneErrorLine(self, d, needle, what):
        lines = self._lines_naming(d, needle)
        self.assertEqual(len(lines), 1, "one error line should name the %s %r:\n%s"
                         % (what, needle, d.describe_logs(20)))

    def _write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_unknown_option(self):
        d = self._run_failing(args=["--no-such-option"])
        self.assertOneErrorLine(d, "no-such-option", "option")

    def test_bad_cpumask(self):
        d = self._run_failing(args=["-m", "0xZZ"])
        self.assertOneErrorLine(d, "0xZZ", "mask")

    def test_missing_config_file(self):
        path = os.path.join(self.tmp, "absent.json")
        d = self._run_failing(config=path)
        self.assertOneErrorLine(d, path, "file")

    def test_config_not_json(self):
        path = self._write("bad.json", '{"subsystems": [ {"subsystem": "bdev", "config": [')
        d = self._run_failing(config=path)
        self.assertOneErrorLine(d, "bad.json", "file")

    def test_config_with_failing_method(self):
        cfg = {"subsystems": [{"subsystem": "bdev", "config": [
            {"method": "bdev_malloc_create",
             "params": {"name": "Dup0", "num_blocks": 1024, "block_size": 512}},
            {"method": "bdev_malloc_create",
             "params": {"name": "Dup0", "num_blocks": 1024, "block_size": 512}},
        ]}]}
        path = self._write("dup.json", json.dumps(cfg))
        d = self._run_failing(config=path)
        self.assertOneErrorLine(d, "bdev_malloc_create", "method")

    def test_config_with_unknown_method(self):
        cfg = {"subsystems": [{"subsystem": "bdev", "config": [
            {"method": "bdev_frobnicate", "params": {"name": "X"}}]}]}
        path = self._write("unknown.json", json.dumps(cfg))
        d = self._run_failing(config=path)
        self.assertOneErrorLine(d, "bdev_frobnicate", "method")

    def test_config_with_bad_parameter(self):
        cfg = {"subsystems": [{"subsystem": "bdev", "config": [
            {"method": "bdev_malloc_create",
             "params": {"name": "M", "num_blocks": "many", "block_size": 512}}]}]}
        path = self._write("badparam.json", json.dumps(cfg))
        d = self._run_failing(config=path)
        self.assertOneErrorLine(d, "num_blocks", "parameter")

    def test_good_config_creates_bdevs(self):
        cfg = {"subsystems": [{"subsystem": "bdev", "config": [
            # A start-up only method, with older and newer SPDK parameter names.
            {"method": "bdev_set_options",
             "params": {"bdev_io_pool_size": 4096, "bdev_io_cache_size": 128,
                        "small_buf_pool_size": 2048, "iobuf_small_cache_size": 64}},
            {"method": "bdev_malloc_create",
             "params": {"name": "Cfg0", "num_blocks": 1024, "block_size": 4096}},
            {"method": "bdev_null_create",
             "params": {"name": "Cfg1", "num_blocks": 4096, "block_size": 512}}]}]}
        path = self._write("good.json", json.dumps(cfg))
        d = self.start_daemon(config=path)
        names = sorted(b["name"] for b in d.call("bdev_get_bdevs"))
        self.assertEqual(names, ["Cfg0", "Cfg1"])
        opts = [e for e in d.call("framework_get_config", {"name": "bdev"})
                if e["method"] == "bdev_set_options"]
        self.assertEqual(len(opts), 1)
        self.assertEqual(opts[0]["params"]["bdev_io_pool_size"], 4096)
        self.assertEqual(opts[0]["params"]["bdev_io_cache_size"], 128)
        # At run time the start-up only method is refused and not listed as current.
        with self.assertRaises(rpc.JSONRPCException) as cm:
            d.call("bdev_set_options", {"bdev_io_pool_size": 1024})
        self.assertIsNotNone(cm.exception.code)
        self.assertIn("bdev_set_options", d.call("rpc_get_methods"))
        self.assertNotIn("bdev_set_options", d.call("rpc_get_methods", {"current": True}))
        self.stop_clean(d)
