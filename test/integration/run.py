#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Runs the vtarget integration tests (test/integration/test_*.py, unittest).

Usage: run.py --build-dir DIR [-k SUBSTRING] [--no-guests] [FILE...]

Prints one line per test, the output of the daemons involved when a test fails, and ends with
"N passed, N failed" (", N skipped" appended when tests were skipped). Exit status 0 only when
nothing failed. Environment: VT_BUILD_DIR (set from --build-dir), VT_SANITIZED=1 for a
sanitizer build (longer deadlines).
"""

import argparse
import atexit
import os
import signal
import sys
import time
import traceback
import unittest

# No __pycache__ folders in the source tree (test modules and scripts/rpc.py are imported).
sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))

# Longest a single test may take before it is interrupted (scaled for sanitizer builds).
TEST_LIMIT = 120.0


class TestTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise TestTimeout("test exceeded its time limit")


class Result(unittest.TestResult):
    """Prints each test as it ends; counts passed, failed (failures + errors) and skipped."""

    def __init__(self, vtlib, limit, out):
        super().__init__()
        self.vtlib = vtlib
        self.limit = limit
        self.out = out
        self.passed = 0
        self.failed_count = 0
        self.skipped_count = 0
        self.failed_names = []
        self._t0 = 0.0
        self._outcome = None

    def _name(self, test):
        if isinstance(test, unittest.TestCase):
            return test.id().replace("__main__.", "")
        return str(test)

    def startTest(self, test):
        super().startTest(test)
        self.vtlib.begin_test()
        self._t0 = time.monotonic()
        self._outcome = "ok"
        # A test class may need more (guests under TCG): its TIME_LIMIT, scaled like the rest.
        limit = getattr(test, "TIME_LIMIT", None)
        signal.setitimer(signal.ITIMER_REAL,
                         self.limit if limit is None else limit * self.vtlib.SLOW)

    def stopTest(self, test):
        signal.setitimer(signal.ITIMER_REAL, 0)
        super().stopTest(test)
        dt = time.monotonic() - self._t0
        name = self._name(test)
        if self._outcome == "ok":
            self.passed += 1
            self.out.write("ok      %s (%.2fs)\n" % (name, dt))
        elif self._outcome == "skip":
            self.out.write("skip    %s: %s\n" % (name, self._skip_reason))
        else:
            self.failed_count += 1
            self.failed_names.append(name)
            self.out.write("FAIL    %s (%.2fs)\n" % (name, dt))
        self.out.flush()

    def _report(self, test, err, kind):
        name = self._name(test)
        text = "".join(traceback.format_exception(*err))
        self.out.write("\n==== %s: %s\n%s" % (kind, name, text))
        logs = self.vtlib.format_logs(self.vtlib.daemons_of_current_test())
        if logs:
            self.out.write("==== daemons of %s:\n%s\n" % (name, logs))
        self.out.write("====\n")

    def addError(self, test, err):
        super().addError(test, err)
        if isinstance(test, unittest.TestCase):
            self._outcome = "error"
            self._report(test, err, "ERROR")
        else:
            # setUpClass / tearDownClass / module fixtures: counted as one failure each.
            self._report(test, err, "ERROR in fixture")
            self.failed_count += 1
            self.failed_names.append(self._name(test))
            self.out.write("FAIL    %s\n" % self._name(test))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._outcome = "fail"
        self._report(test, err, "FAIL")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._outcome = "fail"
            self._report(subtest, err, "FAIL")

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._outcome = "skip"
        self._skip_reason = reason
        self.skipped_count += 1

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._outcome = "fail"


def iter_tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from iter_tests(t)
        else:
            yield t


def filter_suite(suite, keep_test):
    keep = unittest.TestSuite()
    for t in iter_tests(suite):
        if keep_test(t.id()):
            keep.addTest(t)
    return keep


def is_guest_test(test_id):
    """Tests that boot a guest under QEMU: the modules test_vm_*.py."""
    return test_id.startswith("test_vm_")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", default=os.environ.get("VT_BUILD_DIR"),
                    help="build folder holding bin/vtarget and test/tools/ (default: build)")
    ap.add_argument("-k", dest="pattern", help="run only tests whose id contains this")
    ap.add_argument("--no-guests", action="store_true",
                    help="leave out the tests that boot guests (test_vm_*.py)")
    ap.add_argument("files", nargs="*", help="test files (default: every test_*.py here)")
    args = ap.parse_args()

    root = os.path.abspath(os.path.join(HERE, "..", ".."))
    build = os.path.abspath(args.build_dir or os.path.join(root, "build"))
    os.environ["VT_BUILD_DIR"] = build
    sys.path.insert(0, HERE)
    import vtlib  # noqa: E402  (after VT_BUILD_DIR is set)

    atexit.register(vtlib.kill_all)
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(143))

    loader = unittest.TestLoader()
    if args.files:
        suite = unittest.TestSuite()
        for f in args.files:
            mod = os.path.splitext(os.path.basename(f))[0]
            suite.addTests(loader.loadTestsFromName(mod))
    else:
        suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    if args.pattern:
        suite = filter_suite(suite, lambda tid: args.pattern in tid)
    if args.no_guests:
        suite = filter_suite(suite, lambda tid: not is_guest_test(tid))

    mode = "sanitized" if vtlib.SANITIZED else "release"
    print("integration tests: build %s (%s), %d tests%s" % (
        build, mode, suite.countTestCases(), ", no guest tests" if args.no_guests else ""))
    sys.stdout.flush()
    result = Result(vtlib, TEST_LIMIT * vtlib.SLOW, sys.stdout)
    t0 = time.monotonic()
    try:
        suite.run(result)
    finally:
        vtlib.kill_all()
    # Load errors (a test file that does not import) show up as failed tests of their own.
    dt = time.monotonic() - t0
    print("integration tests took %.1f s" % dt)
    for n in result.failed_names:
        print("failed: %s" % n)
    line = "%d passed, %d failed" % (result.passed, result.failed_count)
    if result.skipped_count:
        line += ", %d skipped" % result.skipped_count
    print(line)
    return 0 if result.failed_count == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
