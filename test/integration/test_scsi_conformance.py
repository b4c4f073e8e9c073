# SPDX-License-Identifier: BSD-3-Clause
"""libiscsi's SCSI conformance suite against lib/scsi, in-process.

test/unit/lib/scsi/sg_shim.c is preloaded into iscsi-test-cu and turns /dev/sg_vtarget into a LUN
served by lib/scsi on a malloc bdev (SG_IO mapped to a vt_scsi_task the way the virtio-scsi
personality and the guest's sg driver do). This keeps lib/scsi honest against the suite on every
`make test`; the same suite through a real guest and virtio-scsi comes with the personality.
CUnit counts a skipped test as passed, so results are counted test by test from the verbose output.
"""

import os
import shutil
import subprocess
import sys
import unittest

import vtlib

sys.path.insert(0, os.path.join(vtlib.ROOT, "test", "vm"))
import vm  # noqa: E402  (test/vm/vm.py: parse_cunit)

SCRIPT = os.path.join(vtlib.ROOT, "test", "unit", "lib", "scsi", "run_iscsi_test_cu.sh")
# Real passes measured when the shim landed (libiscsi 1.19.0): a drop means a regression.
MIN_PASSED = 139


@vtlib.require(None if shutil.which("iscsi-test-cu") else "iscsi-test-cu not installed (libiscsi-bin)")
class ScsiConformanceShimTest(unittest.TestCase):
    def run_suite(self, block_size):
        env = dict(os.environ)
        env["VT_SG_BS"] = str(block_size)
        env["VT_SG_OUT"] = os.path.join(vtlib.build_dir(), "test", "sg_shim")
        if vtlib.SANITIZED:
            env["VT_SG_ASAN"] = "1"
        p = subprocess.run([SCRIPT, "--dataloss", "--test=SCSI"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=600 * vtlib.SLOW, check=False)
        out = p.stdout.decode(errors="replace")
        res = vm.parse_cunit(out)
        self.assertIsNotNone(res["summary"], "no CUnit summary:\n" + out[-3000:])
        self.assertEqual(res["failed"], [], "failed tests (bs %d):\n%s" % (block_size, out[-6000:]))
        self.assertEqual(res["unknown"], [], "tests without a result: %s" % res["unknown"])
        self.assertGreaterEqual(len(res["passed"]), MIN_PASSED,
                                "only %d real passes (bs %d); skipped: %s"
                                % (len(res["passed"]), block_size, res["skipped"]))
        print("  iscsi-test-cu --test=SCSI, %d-byte blocks: %d passed, %d failed, %d skipped"
              % (block_size, len(res["passed"]), len(res["failed"]), len(res["skipped"])),
              file=sys.stderr)

    def test_iscsi_test_cu_scsi_suite_has_no_failures_512(self):
        self.run_suite(512)

    def test_iscsi_test_cu_scsi_suite_has_no_failures_4096(self):
        self.run_suite(4096)


if __name__ == "__main__":
    unittest.main()
