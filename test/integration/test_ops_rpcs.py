# SPDX-License-Identifier: BSD-3-Clause
"""Operator RPCs of issue 11 (item 2): log_enable_timestamps, notify_get_types /
notify_get_notifications, framework_get_reactors / thread_get_stats, bdev_reset_iostat."""

import re
import time

import vtlib
from vtlib import VtTestCase

TIMESTAMP = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}\] ")


class LogTimestampsTest(VtTestCase):

    def wait_line(self, d, needle, timeout=10.0 * vtlib.SLOW):
        deadline = time.monotonic() + timeout
        while True:
            for line in d.stderr().splitlines():
                if needle in line:
                    return line
            if time.monotonic() > deadline:
                self.fail("no stderr line with %r:\n%s" % (needle, d.describe_logs(40)))
            time.sleep(0.05)

    def test_lines_with_and_without_timestamp(self):
        d = self.start_daemon()
        # Each deprecated alias logs one WARNING the first time it is used.
        d.call("get_bdevs")
        line = self.wait_line(d, "'get_bdevs' is deprecated")
        self.assertRegex(line, TIMESTAMP)
        self.assertIs(d.call("log_enable_timestamps", {"enabled": False}), True)
        d.call("get_log_flags")
        line = self.wait_line(d, "'get_log_flags' is deprecated")
        self.assertNotRegex(line, TIMESTAMP)
        self.assertTrue(line.startswith("rpc.c:"), line)
        # The same through scripts/rpc.py (SPDK's spelling: --timestamps / --no-timestamps).
        r = vtlib.run_rpc_py(d.sock, "log_enable_timestamps", "--timestamps")
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        d.call("get_log_level")
        line = self.wait_line(d, "'get_log_level' is deprecated")
        self.assertRegex(line, TIMESTAMP)
        r = vtlib.run_rpc_py(d.sock, "log_enable_timestamps")
        self.assertNotEqual(r.returncode, 0, "--timestamps is required")
        self.stop_clean(d)

    def test_bad_params(self):
        d = self.start_daemon()
        self.assertRpcError(d, "log_enable_timestamps", None, -32602)
        self.assertRpcError(d, "log_enable_timestamps", {}, -32602, "enabled")
        self.assertRpcError(d, "log_enable_timestamps", {"enabled": "yes"}, -32602, "enabled")
        self.assertRpcError(d, "log_enable_timestamps", {"enabled": True, "color": 1}, -32602,
                            "color")
        self.stop_clean(d)
