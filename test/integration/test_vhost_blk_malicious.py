# SPDX-License-Identifier: BSD-3-Clause
"""Malicious vhost-user front ends against vtarget's vhost-user-blk controllers.

Each test runs one case of test/vhost_client/vtc_evil (one bad descriptor chain, virtio-blk
request or vhost-user message) against the controller "evil0" (the read-only "ro0" for writes
to a read-only device) and asserts the documented answer (doc/virtqueue.md, lib/vhost/vhost_blk.c,
DESIGN.md "The guest is untrusted"):

- a bad buffer in a chain whose last buffer is a writable status byte: VIRTIO_BLK_S_IOERR in
  that byte, used length 1, and the queue keeps serving;
- a bad virtio-blk request (short header, sector beyond the capacity, write to a read-only
  device, unknown type): IOERR / UNSUPP, and the queue keeps serving;
- a chain whose end cannot be found (loops, bad indirect tables, next out of range) or a ring
  the driver broke (avail index jump, head or buffer id out of range), or no writable status
  byte: no completion and the queue stopped (a request queued behind it is never served), the
  status byte untouched, the connection and the other queue of the same connection still
  serving, and the queue serving again once the front end sets it up anew (a driver's reset);
- a bad vhost-user message: the session ends (the connection is closed, no ack).

After every case: the daemon answers RPCs, a second controller over another bdev completes a
verified write and read, and the attacked controller accepts a new connection and serves a
verified write and read. One daemon serves every test of a class.
"""

import os
import re
import subprocess
import unittest

import vtlib

BS = 512
MIB = 1024 * 1024
# How long vtc_evil waits for an answer that should not come (a stopped queue), and for one
# that should (vtc_evil returns as soon as it comes); scaled for sanitizer builds.
WAIT_NONE_MS = int(400 * vtlib.SLOW)
# Generous: on a loaded 2-core machine a busy-polling target sharing its core can stall for
# seconds; an answer that comes returns at once.
WAIT_ANSWER_MS = int(15000 * vtlib.SLOW)


def vtc_path(name):
    return os.path.join(vtlib.build_dir(), "test", "vhost_client", name)


def parse_outcome(text):
    """The key=value line vtc_evil prints, as a dict."""
    for line in text.splitlines():
        if line.startswith("case="):
            return dict(f.split("=", 1) for f in line.split())
    raise AssertionError("vtc_evil printed no outcome line:\n%s" % text)


# Expected outcomes, by kind.
IOERR = {"result": "status", "status": "IOERR", "status_mem": "0x01", "used_len": "1",
         "probe": "ok", "other": "ok", "conn": "open", "stop": "ok", "reset": "ok", "stray": "0",
         "late": "0"}
UNSUPP = dict(IOERR, status="UNSUPP", status_mem="0x02")
# The queue stops: the bad chain never comes back, a valid request queued behind it is never
# served, the status byte is untouched; the connection and the other queue keep working, and
# setting the queues up again on the same connection (a driver's reset) makes it serve again.
STOPPED = {"result": "none", "status_mem": "0xff", "probe": "none", "other": "ok",
           "conn": "open", "stop": "ok", "reset": "ok", "stray": "0", "late": "0"}
# The chain holds every descriptor of the ring and never comes back: nothing can be queued
# behind it.
STOPPED_FULL = dict(STOPPED, probe="full")
# A bad vhost-user message ends the session: the connection is closed without an ack (an ack
# would let the front end go on).
CLOSED = {"result": "closed", "conn": "closed", "ack": "none"}

# case -> (rings it runs on, expected outcome, controller: "evil" or "ro")
CASES = {
    # Per-buffer faults: the chain is walked to its end, the status byte is written.
    "desc-addr-outside": (("split", "packed"), IOERR, "evil"),
    "desc-addr-straddle": (("split", "packed"), IOERR, "evil"),
    "desc-addr-overflow": (("split", "packed"), IOERR, "evil"),
    "desc-len-zero": (("split", "packed"), IOERR, "evil"),
    "indirect-chained": (("packed",), IOERR, "evil"),
    # Structural faults: the end of the chain is unknown, the queue stops.
    "desc-loop": (("split",), STOPPED, "evil"),
    "next-beyond": (("split",), STOPPED, "evil"),
    "chain-too-long": (("split", "packed"), STOPPED_FULL, "evil"),
    "indirect-nested": (("split",), STOPPED, "evil"),
    "indirect-loop": (("split",), STOPPED, "evil"),
    "indirect-len-zero": (("split", "packed"), STOPPED, "evil"),
    "indirect-len-unaligned": (("split", "packed"), STOPPED, "evil"),
    "indirect-beyond-memory": (("split", "packed"), STOPPED, "evil"),
    "indirect-addr-outside": (("split", "packed"), STOPPED, "evil"),
    "indirect-too-big": (("split", "packed"), STOPPED, "evil"),
    "indirect-no-feature": (("split", "packed"), STOPPED, "evil"),
    # The driver broke the ring: the queue stops.
    "head-beyond": (("split",), STOPPED, "evil"),
    "avail-idx-jump": (("split",), STOPPED, "evil"),
    "packed-id-beyond": (("packed",), STOPPED, "evil"),
    # No writable status byte: nothing can be answered, the queue stops.
    "status-readonly": (("split", "packed"), STOPPED, "evil"),
    "status-readonly-in": (("split", "packed"), STOPPED, "evil"),
    "status-len-zero": (("split", "packed"), STOPPED, "evil"),
    "status-addr-outside": (("split", "packed"), STOPPED, "evil"),
    # Bad virtio-blk requests in well-formed chains.
    "header-short": (("split", "packed"), IOERR, "evil"),
    "header-missing": (("split", "packed"), IOERR, "evil"),
    "sector-beyond": (("split", "packed"), IOERR, "evil"),
    "sector-straddle": (("split", "packed"), IOERR, "evil"),
    "sector-overflow": (("split", "packed"), IOERR, "evil"),
    "write-readonly": (("split", "packed"), IOERR, "ro"),
    "unknown-type": (("split", "packed"), UNSUPP, "evil"),
    # Bad vhost-user messages.
    "mem-region-beyond-file": (("msg",), CLOSED, "evil"),
    "mem-region-offset-beyond": (("msg",), CLOSED, "evil"),
    "mem-region-wrap": (("msg",), CLOSED, "evil"),
    "mem-region-empty": (("msg",), CLOSED, "evil"),
    "mem-regions-overlap": (("msg",), CLOSED, "evil"),
    "ring-addr-outside": (("msg",), CLOSED, "evil"),
    "ring-addr-straddle": (("msg",), CLOSED, "evil"),
    "queue-index-range": (("msg",), CLOSED, "evil"),
    "queue-index-kick": (("msg",), CLOSED, "evil"),
    "ring-size-not-pow2": (("msg",), CLOSED, "evil"),
    "ring-size-too-big": (("msg",), CLOSED, "evil"),
    "ring-size-zero": (("msg",), CLOSED, "evil"),
    "mem-table-fd-missing": (("msg",), CLOSED, "evil"),
    "mem-table-too-many": (("msg",), CLOSED, "evil"),
    "features-not-offered": (("msg",), CLOSED, "evil"),
    "vring-base-beyond": (("msg",), CLOSED, "evil"),
    "get-vring-base-range": (("msg",), CLOSED, "evil"),
    "msg-truncated": (("msg",), CLOSED, "evil"),
    "config-beyond": (("msg",), CLOSED, "evil"),
    # A ring address that fits until SET_VRING_NUM makes the ring cross the region's end: the
    # ring must never be used. Today the queue silently never starts (rte_vhost does not
    # translate it); refusing the message (session closed) would be as safe.
    "ring-addr-late-size": (("msg",), {"result": ("not-started", "closed")}, "evil"),
    # Dirty logging (migration): a log the back end cannot use ends the session; the valid
    # one is the control (accepted, no ack error, connection open).
    "log-valid": (("msg",), {"result": "accepted", "conn": "open", "ack": "0"}, "evil"),
    "log-too-small": (("msg",), CLOSED, "evil"),
    "log-size-zero": (("msg",), CLOSED, "evil"),
    "log-offset-beyond": (("msg",), CLOSED, "evil"),
    "log-offset-wrap": (("msg",), CLOSED, "evil"),
    "log-fd-unmappable": (("msg",), CLOSED, "evil"),
    "log-fd-missing": (("msg",), CLOSED, "evil"),
    "log-msg-short": (("msg",), CLOSED, "evil"),
    "log-all-without-log": (("msg",), CLOSED, "evil"),
}


class MaliciousFrontEndBase(unittest.TestCase):
    """One daemon: evil0 (attacked, packed rings offered), ro0 (read-only), other0 (bystander)."""

    interrupt = False
    seq = 0

    @classmethod
    def setUpClass(cls):
        for tool in ("vtc", "vtc_evil"):
            if not os.access(vtc_path(tool), os.X_OK):
                raise AssertionError("%s not built (make -C test/vhost_client)" % tool)
        cls.d = vtlib.Daemon(interrupt=cls.interrupt, name="vtarget-malicious")
        cls.d.start()
        try:
            for bdev in ("Evil0", "Ro0", "Other0"):
                cls.d.call("bdev_malloc_create", {"name": bdev, "num_blocks": 32 * MIB // BS,
                                                  "block_size": BS})
            cls.d.call("vhost_create_blk_controller", {"ctrlr": "evil0", "dev_name": "Evil0",
                                                       "packed_ring": True})
            cls.d.call("vhost_create_blk_controller", {"ctrlr": "ro0", "dev_name": "Ro0",
                                                       "readonly": True, "packed_ring": True})
            cls.d.call("vhost_create_blk_controller", {"ctrlr": "other0",
                                                       "dev_name": "Other0"})
        except Exception:
            cls.d.cleanup()
            raise
        cls.socks = {name: os.path.join(cls.d.dir, name) for name in ("evil0", "ro0", "other0")}

    @classmethod
    def tearDownClass(cls):
        d = cls.d
        alive = d.alive()
        rc = d.stop()
        out = d.output()
        d.cleanup()
        if not alive:
            raise AssertionError("vtarget died during the malicious tests:\n%s" % out[-4000:])
        if vtlib.SANITIZER_RE.search(out):
            raise AssertionError("sanitizer report:\n%s" % out[-8000:])
        if rc != 0:
            raise AssertionError("vtarget exited with %s after SIGTERM:\n%s" % (rc, out[-4000:]))

    # ---- helpers ------------------------------------------------------------------------

    def run_tool(self, args, timeout=60):
        p = subprocess.run(args, capture_output=True, text=True, timeout=timeout * vtlib.SLOW,
                           stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout + p.stderr

    def evil(self, case, ring, sock, wait_ms):
        args = [vtc_path("vtc_evil"), sock, "--case", case, "--wait", str(wait_ms),
                "--timeout", str(WAIT_ANSWER_MS)]
        if ring == "packed":
            args.append("--packed")
        rc, out = self.run_tool(args)
        self.assertEqual(rc, 0, "vtc_evil --case %s (%s) could not run:\n%s" % (case, ring, out))
        return parse_outcome(out)

    def verified_io(self, sock, readonly=False):
        """A new connection to sock serves a verified write and read (a read of zeroes when
        read-only)."""
        type(self).seq += 1
        seed = 1000 + type(self).seq
        offset = (4 + type(self).seq % 16) * MIB
        if readonly:
            args = ["--read", "--verify-zero"]
        else:
            args = ["--write", "--verify", "--seed", str(seed)]
        rc, out = self.run_tool([vtc_path("vtc"), "io", sock] + args +
                                ["--offset", str(offset), "--size", str(256 * 1024),
                                 "--bs", str(64 * 1024), "--queues", "2",
                                 "--timeout", str(WAIT_ANSWER_MS),
                                 "--io-timeout", str(WAIT_ANSWER_MS)])
        self.assertEqual(rc, 0, "verified I/O on %s failed:\n%s" % (sock, out))
        self.assertIn("io ok", out)

    def assert_survivors(self, attacked):
        self.assertTrue(self.d.alive(), "vtarget died:\n%s" % self.d.describe_logs(60))
        ctrlrs = self.d.call("vhost_get_controllers")
        self.assertEqual(sorted(c["ctrlr"] for c in ctrlrs), ["evil0", "other0", "ro0"])
        self.verified_io(self.socks["other0"])
        self.verified_io(self.socks[attacked], readonly=(attacked == "ro0"))

    def check_case(self, case, ring):
        rings, expected, ctrlr = CASES[case]
        name = "ro0" if ctrlr == "ro" else "evil0"
        result = expected["result"]
        answered = result in ("status", "closed")
        got = self.evil(case, ring, self.socks[name], WAIT_ANSWER_MS if answered else WAIT_NONE_MS)
        self.assertEqual(got["case"], case)
        if ring != "msg":
            self.assertEqual(got["ring"], ring)
        # A tuple lists the values that are all acceptable.
        mismatch = {k: (v, got.get(k)) for k, v in expected.items()
                    if got.get(k) not in (v if isinstance(v, tuple) else (v,))}
        self.assertEqual(mismatch, {}, "case %s (%s): {field: (expected, got)} %r\nfull: %r"
                         % (case, ring, mismatch, got))
        self.assert_survivors(name)


def _make_test(case, ring):
    def test(self):
        self.check_case(case, ring)
    test.__doc__ = "%s (%s ring)" % (case, ring if ring != "msg" else "message")
    return test


class VhostBlkMaliciousTest(MaliciousFrontEndBase):
    """Every case, reactors polling."""

    def test_every_vtc_evil_case_is_covered(self):
        rc, out = self.run_tool([vtc_path("vtc_evil"), "--list"])
        self.assertEqual(rc, 0, out)
        listed = set(line.split()[0] for line in out.splitlines() if line.strip())
        self.assertEqual(listed, set(CASES))

    def test_controllers_serve_before_any_attack(self):
        self.assert_survivors("evil0")
        self.assert_survivors("ro0")


for _case, (_rings, _exp, _ctrlr) in CASES.items():
    for _ring in _rings:
        _name = "test_%s_%s" % (re.sub(r"[^a-z0-9]", "_", _case), _ring)
        setattr(VhostBlkMaliciousTest, _name, _make_test(_case, _ring))


class VhostBlkMaliciousInterruptTest(MaliciousFrontEndBase):
    """A few cases with the reactors in interrupt mode (queues woken by kicks)."""

    interrupt = True


for _case, _ring in (("desc-addr-outside", "split"), ("desc-loop", "split"),
                     ("avail-idx-jump", "split"), ("packed-id-beyond", "packed"),
                     ("sector-beyond", "packed"), ("ring-addr-outside", "msg")):
    _name = "test_%s_%s" % (re.sub(r"[^a-z0-9]", "_", _case), _ring)
    setattr(VhostBlkMaliciousInterruptTest, _name, _make_test(_case, _ring))


if __name__ == "__main__":
    unittest.main()
