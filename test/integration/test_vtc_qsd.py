# SPDX-License-Identifier: BSD-3-Clause
"""The test front end (vtc) is a faithful vhost-user front end: it passes its checks against
qemu-storage-daemon's vhost-user-blk export (negotiation, config space, I/O in every ring mode
qemu-storage-daemon supports, bytes landing in a file export)."""

import os
import subprocess
import unittest

import vtlib


class VtcAgainstQemuStorageDaemonTest(unittest.TestCase):
    def test_vtc_selftest_against_qemu_storage_daemon(self):
        script = os.path.join(vtlib.ROOT, "test", "vhost_client", "selftest_qsd.sh")
        env = dict(os.environ)
        env["VTC"] = os.path.join(vtlib.build_dir(), "test", "vhost_client", "vtc")
        env["VTC_BENCH_TIME"] = "1"
        p = subprocess.run([script], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=120 * vtlib.SLOW, check=False)
        out = p.stdout.decode(errors="replace")
        self.assertEqual(p.returncode, 0, out[-4000:])
        self.assertIn("PASS: vtc against qemu-storage-daemon", out)


if __name__ == "__main__":
    unittest.main()
