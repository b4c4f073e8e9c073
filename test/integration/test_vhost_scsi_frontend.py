# SPDX-License-Identifier: BSD-3-Clause
"""vhost-user-scsi controllers end to end, driven through the real socket by the test front end
`vtc scsi` (test/vhost_client/vtc_scsi.c): INQUIRY (standard data, absent targets), READ
CAPACITY(16) of 512 B and 4096 B targets, write / read-back / verify and COMPARE AND WRITE on
several targets at once over split and packed rings and two request queues, the transport's
error answers (bad opcode, LUN 1, a LUN field that is not virtio-scsi's), LOGICAL UNIT RESET on
the control queue, and the event queue: TRANSPORT_RESET on add / remove target, PARAM_CHANGE on
a bdev resize with the unit attention that follows, feature gating of events, the overflow of
pending events (EVENTS_MISSED), and event buffers across a stop / start of the event queue.

`vtc scsi SOCKET --stdin` keeps one session open and runs one command per line, so a test
interleaves RPCs with front-end actions; every command ends with a `DONE rc=N` line."""

import os
import select
import subprocess
import time

import vtlib
from vtlib import VtTestCase

MIB = 1024 * 1024
VIRTIO_SCSI_S_OK = 0
VIRTIO_SCSI_S_BAD_TARGET = 3
T_TRANSPORT_RESET = 1
T_PARAM_CHANGE = 3
EVT_RESET_RESCAN = 1
EVT_RESET_REMOVED = 2
CAPACITY_CHANGED = 0x2a | (0x09 << 8)
CHECK_CONDITION = 0x02
# The daemon keeps up to this many events per session while no buffer is posted.
MAX_PENDING_EVENTS = 64
CMD_TIMEOUT = 20.0 * vtlib.SLOW


def vtc_bin():
    return os.path.join(vtlib.build_dir(), "test", "vhost_client", "vtc")


# vhost-user protocol feature bits a scsi controller offers: MQ, LOG_SHMFD, REPLY_ACK, BACKEND_REQ,
# INFLIGHT_SHMFD.
PROTO_F_CONFIG = 9
SCSI_PROTOCOL_FEATURES = (1 << 0) | (1 << 1) | (1 << 3) | (1 << 5) | (1 << 12)


def parse(line):
    """'KIND k=v k=v' -> (KIND, {k: v})."""
    parts = line.split()
    fields = {}
    for p in parts[1:]:
        if "=" in p:
            k, v = p.split("=", 1)
            fields[k] = v
    return parts[0], fields


def num(s):
    return int(s, 0)


class ScsiSession:
    """One `vtc scsi --stdin` process: one connected vhost-user-scsi session."""

    def __init__(self, test, sock, *opts):
        path = vtc_bin()
        if not os.access(path, os.X_OK):
            raise AssertionError("vtc not found: %s (make -C test/vhost_client)" % path)
        self.test = test
        self.err_path = os.path.join(test.tmp, "vtc-%d.err" % len(test.sessions))
        self.err = open(self.err_path, "wb")
        self.proc = subprocess.Popen([path, "scsi", sock, "--stdin"] + [str(o) for o in opts],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.err)
        self.buf = b""
        test.sessions.append(self)
        kind, f = parse(self.readline(CMD_TIMEOUT))
        if kind != "READY":
            raise AssertionError("vtc scsi did not start: %s" % self.stderr())
        self.features = num(f["features"])

    def stderr(self):
        return vtlib.read_text(self.err_path)

    def readline(self, timeout):
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("vtc scsi: no answer within %.0f s (got %r); stderr:\n%s"
                                     % (timeout, self.buf[-300:], self.stderr()))
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                continue
            data = os.read(fd, 65536)
            if not data:
                raise AssertionError("vtc scsi exited (%s); stderr:\n%s"
                                     % (self.proc.wait(), self.stderr()))
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def run(self, cmd, timeout=CMD_TIMEOUT):
        """Runs one command; returns (rc, [(kind, fields)...]) of the lines before DONE."""
        self.proc.stdin.write((cmd + "\n").encode())
        self.proc.stdin.flush()
        out = []
        while True:
            kind, f = parse(self.readline(timeout))
            if kind == "DONE":
                return int(f["rc"]), out, f
            out.append((kind, f))

    def ok(self, cmd, timeout=CMD_TIMEOUT):
        rc, out, done = self.run(cmd, timeout)
        self.test.assertEqual(rc, 0, "vtc scsi '%s': %s %s\nstderr:\n%s"
                              % (cmd, done, out, self.stderr()))
        return out

    def results(self, cmd, expect_rc=None):
        rc, out, done = self.run(cmd)
        self.test.assertNotIn("error", done, "vtc scsi '%s' failed: %s\n%s"
                              % (cmd, done, self.stderr()))
        if expect_rc is not None:
            self.test.assertEqual(rc, expect_rc, "'%s': %s" % (cmd, out))
        return [f for kind, f in out if kind == "RESULT" and f.get("for") != "io"]

    def result(self, cmd, expect_rc=None):
        res = self.results(cmd, expect_rc)
        self.test.assertEqual(len(res), 1, "'%s': %s" % (cmd, res))
        return res[0]

    def events(self, want, timeout_ms, repost=False):
        """(events as dicts, number of buffers given back unused)."""
        cmd = "events %d %d%s" % (want, timeout_ms, " repost=1" if repost else "")
        rc, out, done = self.run(cmd, timeout=CMD_TIMEOUT + timeout_ms / 1000.0)
        self.test.assertNotIn("error", done, "%s: %s" % (cmd, done))
        evs = [f for kind, f in out if kind == "EVENT"]
        returned = sum(int(f["n"]) for kind, f in out if kind == "RETURNED")
        return evs, returned

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b"quit\n")
                self.proc.stdin.flush()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=10 * vtlib.SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc.stdin.close()
        self.proc.stdout.close()
        self.err.close()
        return self.proc.returncode


class ScsiFrontendBase(VtTestCase):

    def setUp(self):
        import shutil
        import tempfile
        self.tmp = tempfile.mkdtemp(prefix="vt_scsi_fe.")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.sessions = []
        self.addCleanup(self.close_sessions)

    def close_sessions(self):
        for s in self.sessions:
            s.close()
        del self.sessions[:]

    def daemon_with_ctrlr(self):
        """Targets 0 (512 B, 32 MiB), 1 (4096 B, 32 MiB), 2 (512 B, 16 MiB); bdevs M3, M4
        and the null bdev N0 (512 B, 64 MiB) are free for the test."""
        d = self.start_daemon()
        for name, bs, size in (("M0", 512, 32), ("M1", 4096, 32), ("M2", 512, 16),
                               ("M3", 512, 4), ("M4", 4096, 4)):
            d.call("bdev_malloc_create", {"name": name, "num_blocks": size * MIB // bs,
                                          "block_size": bs})
        d.call("bdev_null_create", {"name": "N0", "num_blocks": 64 * MIB // 512,
                                    "block_size": 512})
        d.call("vhost_create_scsi_controller", {"ctrlr": "s0"})
        for t, b in ((0, "M0"), (1, "M1"), (2, "M2")):
            d.call("vhost_scsi_controller_add_target",
                   {"ctrlr": "s0", "scsi_target_num": t, "bdev_name": b})
        self.sock = os.path.join(d.dir, "s0")
        return d

    def session(self, *opts):
        return ScsiSession(self, self.sock, *opts)

    def assertCheck(self, r, key, asc, ascq=None):
        self.assertEqual(num(r["response"]), VIRTIO_SCSI_S_OK, r)
        self.assertEqual(num(r["status"]), CHECK_CONDITION, r)
        self.assertEqual(num(r["key"]), key, r)
        self.assertEqual(num(r["asc"]), asc, r)
        if ascq is not None:
            self.assertEqual(num(r["ascq"]), ascq, r)

    def assertGood(self, r):
        self.assertEqual((num(r["response"]), num(r["status"])), (0, 0), r)

    def add_target(self, d, t, bdev):
        self.assertEqual(d.call("vhost_scsi_controller_add_target",
                                {"ctrlr": "s0", "scsi_target_num": t, "bdev_name": bdev}), t)

    def remove_target(self, d, t):
        self.assertIs(d.call("vhost_scsi_controller_remove_target",
                             {"ctrlr": "s0", "scsi_target_num": t}), True)


class ScsiCommandTest(ScsiFrontendBase):
    """Commands, task management and the transport's answers."""

    def test_protocol_features_without_config(self):
        d = self.daemon_with_ctrlr()
        s = self.session()
        (kp, p), (kind, c) = s.ok("info")
        self.assertEqual((kp, kind), ("PROTOCOL", "CONFIG"))
        offered = num(p["offered"])
        # QEMU's vhost-user-scsi never reads the back end's config space and warns when a back
        # end offers CONFIG (issue 11, item 6): not offered, so no GET_CONFIG and no config.
        self.assertFalse(offered & (1 << PROTO_F_CONFIG), "CONFIG offered: %#x" % offered)
        self.assertEqual(offered, SCSI_PROTOCOL_FEATURES, "%#x" % offered)
        self.assertEqual(num(p["config_len"]), 0)
        self.assertEqual(num(c["num_queues"]), 0)
        self.assertTrue(s.features & (1 << 1), "HOTPLUG not negotiated")
        self.assertTrue(s.features & (1 << 2), "CHANGE not negotiated")
        s.close()
        self.stop_clean(d)

    def test_inquiry_and_report_luns(self):
        d = self.daemon_with_ctrlr()
        s = self.session()
        r = s.result("inquiry 0", 0)
        self.assertGood(r)
        self.assertEqual((r["pq"], num(r["pdt"])), ("0", 0))
        self.assertEqual(r["vendor"], "VTARGET")
        # A target number with no device: peripheral qualifier 3, type 1Fh.
        r = s.result("inquiry 9", 0)
        self.assertGood(r)
        self.assertEqual((r["pq"], num(r["pdt"])), ("3", 0x1f))
        r = s.result("luns 1", 0)
        self.assertEqual((r["nluns"], r["luns"]), ("1", "0"))
        s.close()
        self.stop_clean(d)

    def test_read_capacity_16_of_512_and_4096_byte_targets(self):
        d = self.daemon_with_ctrlr()
        s = self.session()
        r = s.result("readcap 0", 0)
        self.assertEqual((num(r["blocks"]), num(r["block_size"])), (32 * MIB // 512, 512))
        r = s.result("readcap 1", 0)
        self.assertEqual((num(r["blocks"]), num(r["block_size"])), (32 * MIB // 4096, 4096))
        r = s.result("readcap 2", 0)
        self.assertEqual((num(r["blocks"]), num(r["block_size"])), (16 * MIB // 512, 512))
        s.close()
        self.stop_clean(d)

    def check_io_on_three_targets(self, s, lba, seed):
        res = s.results("write 0,1,2 %d 16 %d" % (lba, seed), 0)
        self.assertEqual([r["target"] for r in res], ["0", "1", "2"])
        for r in res:
            self.assertGood(r)
        # Round-robin over the two request queues (2 and 3).
        self.assertEqual({r["queue"] for r in res}, {"2", "3"})
        res = s.results("read 0,1,2 %d 16 %d" % (lba, seed), 0)
        self.assertEqual([r["verify"] for r in res], ["ok"] * 3)
        # Another seed does not match: the verification can fail.
        res = s.results("read 0,1,2 %d 16 %d" % (lba, seed + 1), 1)
        self.assertEqual([r["verify"][:4] for r in res], ["fail"] * 3)
        # COMPARE AND WRITE of block lba+1: the compare data is what is there.
        res = s.results("caw 0,1,2 %d 1 %d %d" % (lba + 1, seed, seed + 7), 0)
        for r in res:
            self.assertGood(r)
        res = s.results("read 0,1,2 %d 1 %d" % (lba + 1, seed + 7), 0)
        self.assertEqual([r["verify"] for r in res], ["ok"] * 3)
        # Compared with the old data now: MISCOMPARE, nothing written.
        res = s.results("caw 0,1,2 %d 1 %d %d" % (lba + 1, seed, seed + 9), 1)
        for r in res:
            self.assertCheck(r, 0xe, 0x1d)
        res = s.results("read 0,1,2 %d 1 %d" % (lba + 1, seed + 7), 0)
        self.assertEqual([r["verify"] for r in res], ["ok"] * 3)
        # The blocks around it kept the first write.
        res = s.results("read 0,1,2 %d 1 %d" % (lba, seed), 0)
        self.assertEqual([r["verify"] for r in res], ["ok"] * 3)
        res = s.results("read 0,1,2 %d 14 %d" % (lba + 2, seed), 0)
        self.assertEqual([r["verify"] for r in res], ["ok"] * 3)

    def test_write_read_verify_compare_and_write_split_and_packed(self):
        d = self.daemon_with_ctrlr()
        for i, ring in enumerate(([], ["--packed"])):
            with self.subTest(ring=ring or "split"):
                s = self.session("--queues", 2, *ring)
                self.assertEqual(bool(s.features & (1 << 34)), bool(ring))
                self.check_io_on_three_targets(s, 64 + 1000 * i, 40 + i)
                s.close()
        self.stop_clean(d)

    def test_transport_and_lun_errors(self):
        d = self.daemon_with_ctrlr()
        s = self.session()
        # An opcode lib/scsi does not know: INVALID COMMAND OPERATION CODE.
        self.assertCheck(s.result("cdb 0 ff", 1), 0x5, 0x20, 0x00)
        # LUN 1 of a target: LOGICAL UNIT NOT SUPPORTED.
        self.assertCheck(s.result("tur 0 lun=1", 1), 0x5, 0x25, 0x00)
        r = s.result("inquiry 0 lun=1", 0)
        self.assertEqual(r["pq"], "3")
        # A target with no device answers the same.
        self.assertCheck(s.result("tur 77", 1), 0x5, 0x25, 0x00)
        # Byte 0 of the LUN field is not 1: response BAD_TARGET.
        for raw in ("0200000000000000", "0000400000000000"):
            r = s.result("tur 0 lunraw=%s" % raw, 1)
            self.assertEqual(num(r["response"]), VIRTIO_SCSI_S_BAD_TARGET, r)
        # The session still serves.
        self.assertGood(s.result("tur 0", 0))
        s.close()
        self.stop_clean(d)

    def test_logical_unit_reset(self):
        d = self.daemon_with_ctrlr()
        s = self.session()
        other = self.session()
        self.assertGood(s.result("tur 0", 0))
        self.assertGood(other.result("tur 0", 0))
        kind, f = s.ok("tmf 0 lun-reset")[0]
        self.assertEqual(kind, "TMF")
        self.assertEqual(num(f["response"]), VIRTIO_SCSI_S_OK, "FUNCTION COMPLETE")
        # The other initiator sees the reset as a unit attention (29h).
        other.ok("ua-retry 0")
        self.assertCheck(other.result("tur 0", 1), 0x6, 0x29)
        self.assertGood(other.result("tur 0", 0))
        # An absent target: BAD_TARGET.
        kind, f = s.ok("tmf 88 lun-reset")[0]
        self.assertEqual(num(f["response"]), VIRTIO_SCSI_S_BAD_TARGET)
        s.close()
        other.close()
        self.stop_clean(d)

    def test_one_shot_command_line(self):
        d = self.daemon_with_ctrlr()
        r = subprocess.run([vtc_bin(), "scsi", self.sock, "inquiry", "0"], capture_output=True,
                           text=True, timeout=CMD_TIMEOUT, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        kind, f = parse(r.stdout.splitlines()[0])
        self.assertEqual((kind, f["vendor"]), ("RESULT", "VTARGET"))
        r = subprocess.run([vtc_bin(), "scsi", self.sock, "--packed", "cdb", "0", "ff"],
                           capture_output=True, text=True, timeout=CMD_TIMEOUT,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.stop_clean(d)


    def test_remove_target_and_delete_right_after_the_front_end_exits(self):
        """The orchestrator's teardown as soon as the VM process is gone: remove a target,
        then delete the controller, each right after a front end exited. Neither may be
        refused because the daemon has not handled the hang-up yet."""
        d = self.daemon_with_ctrlr()
        for i in range(50):
            self.add_target(d, 5, "M3")
            r = subprocess.run([vtc_bin(), "scsi", self.sock, "write", "5", "0", "8", str(i)],
                               capture_output=True, text=True, timeout=CMD_TIMEOUT,
                               stdin=subprocess.DEVNULL)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.remove_target(d, 5)
            r = subprocess.run([vtc_bin(), "scsi", self.sock, "tur", "0"], capture_output=True,
                               text=True, timeout=CMD_TIMEOUT, stdin=subprocess.DEVNULL)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIs(d.call("vhost_delete_controller", {"ctrlr": "s0"}), True,
                          "iteration %d" % i)
            self.assertFalse(os.path.exists(self.sock), "iteration %d" % i)
            d.call("vhost_create_scsi_controller", {"ctrlr": "s0"})
            for t, b in ((0, "M0"), (1, "M1"), (2, "M2")):
                self.add_target(d, t, b)
        # A connected front end still gets EBUSY.
        s = self.session()
        self.assertGood(s.result("tur 0", 0))
        self.assertRpcError(d, "vhost_delete_controller", {"ctrlr": "s0"}, -16, "s0",
                            "guest connected (1 session)")
        s.close()
        self.stop_clean(d)


class ScsiEventTest(ScsiFrontendBase):
    """The event queue: what the daemon sends, to whom, and what happens without buffers."""

    def assertEvent(self, ev, event, target, reason, missed=0):
        self.assertEqual((num(ev["event"]), num(ev["target"]), num(ev["reason"]),
                          int(ev["missed"]), num(ev["len"])),
                         (event, target, reason, missed, 16), ev)

    def test_add_and_remove_target_send_transport_reset(self):
        d = self.daemon_with_ctrlr()
        s = self.session()
        quiet = self.session("--no-hotplug", "--no-change")
        self.assertFalse(quiet.features & 0x6)
        s.ok("post 8")
        quiet.ok("post 8")
        self.add_target(d, 5, "M3")
        evs, _ = s.events(1, 5000)
        self.assertEqual(len(evs), 1, "no RESCAN event after add_target")
        self.assertEvent(evs[0], T_TRANSPORT_RESET, 5, EVT_RESET_RESCAN)
        r = s.result("inquiry 5", 0)
        self.assertEqual(r["pq"], "0")
        self.assertGood(s.result("write 5 0 8 3", 0))
        # Hot-detach while connected.
        self.remove_target(d, 5)
        evs, _ = s.events(1, 5000)
        self.assertEqual(len(evs), 1, "no REMOVED event after remove_target")
        self.assertEvent(evs[0], T_TRANSPORT_RESET, 5, EVT_RESET_REMOVED)
        r = s.result("inquiry 5", 0)
        self.assertEqual((r["pq"], num(r["pdt"])), ("3", 0x1f))
        self.assertCheck(s.result("tur 5", 1), 0x5, 0x25, 0x00)
        self.assertCheck(s.result("read 5 0 1", 1), 0x5, 0x25, 0x00)
        # The session without HOTPLUG got nothing.
        evs, returned = quiet.events(1, 500)
        self.assertEqual((evs, returned), ([], 0))
        # The target number and the bdev can be used again.
        self.add_target(d, 5, "M3")
        evs, _ = s.events(1, 5000)
        self.assertEvent(evs[0], T_TRANSPORT_RESET, 5, EVT_RESET_RESCAN)
        self.assertGood(s.result("read 5 0 8 3", 0))
        s.close()
        quiet.close()
        self.stop_clean(d)

    def test_resize_sends_param_change_then_unit_attention(self):
        d = self.daemon_with_ctrlr()
        self.add_target(d, 6, "N0")
        s = self.session("--no-ua-retry")
        hot_only = self.session("--no-change", "--no-ua-retry")
        self.assertEqual(hot_only.features & 0x6, 0x2)
        for sess in (s, hot_only):
            # The power-on unit attention of the new nexus first.
            self.assertCheck(sess.result("tur 6", 1), 0x6, 0x29)
            self.assertGood(sess.result("tur 6", 0))
            sess.ok("post 8")
        d.call("bdev_null_resize", {"name": "N0", "new_size": 128})
        evs, _ = s.events(1, 5000)
        self.assertEqual(len(evs), 1, "no PARAM_CHANGE event after bdev_null_resize")
        self.assertEvent(evs[0], T_PARAM_CHANGE, 6, CAPACITY_CHANGED)
        self.assertCheck(s.result("tur 6", 1), 0x6, 0x2a, 0x09)
        r = s.result("readcap 6", 0)
        self.assertEqual(num(r["blocks"]), 128 * MIB // 512)
        # Without CHANGE: no event, but the unit attention all the same.
        evs, returned = hot_only.events(1, 500)
        self.assertEqual((evs, returned), ([], 0))
        self.assertCheck(hot_only.result("tur 6", 1), 0x6, 0x2a, 0x09)
        s.close()
        hot_only.close()
        self.stop_clean(d)

    def test_events_without_buffers_are_kept_or_flagged_missed(self):
        d = self.daemon_with_ctrlr()
        s = self.session()
        expected = []
        # 100 events while no buffer is posted: 50 targets added then removed.
        for t in range(10, 60):
            self.add_target(d, t, "M3")
            expected.append((T_TRANSPORT_RESET, t, EVT_RESET_RESCAN))
            self.remove_target(d, t)
            expected.append((T_TRANSPORT_RESET, t, EVT_RESET_REMOVED))
        s.ok("post 64")
        evs, returned = s.events(len(expected), 3000, repost=True)
        self.assertEqual(returned, 0)
        got = [(num(e["event"]), num(e["target"]), num(e["reason"])) for e in evs]
        self.assertGreaterEqual(len(got), min(MAX_PENDING_EVENTS, len(expected)), got)
        # One more event after the burst: it carries the missed flag if anything was dropped.
        self.add_target(d, 200, "M4")
        expected.append((T_TRANSPORT_RESET, 200, EVT_RESET_RESCAN))
        more, _ = s.events(1, 5000, repost=True)
        self.assertEqual(len(more), 1)
        evs += more
        got += [(num(e["event"]), num(e["target"]), num(e["reason"])) for e in more]
        # In order and nothing invented.
        pos = -1
        for e, g in zip(evs, got):
            self.assertIn(g, expected, "unexpected event %s" % (e,))
            i = expected.index(g)
            self.assertGreater(i, pos, "event %s out of order" % (e,))
            pos = i
        self.assertEqual(pos, len(expected) - 1)
        missed = [e["missed"] for e in evs]
        if len(evs) == len(expected):
            self.assertEqual(missed, ["0"] * len(evs))
        else:
            # Some were dropped: the first event delivered after the overflow says so (once:
            # there was one overflow).
            self.assertEqual(missed[0], "1", "%d of %d events were dropped and the first one "
                             "delivered does not carry EVENTS_MISSED" %
                             (len(expected) - len(evs), len(expected)))
            self.assertEqual(missed.count("1"), 1, missed)
        s.close()
        self.stop_clean(d)

    def test_event_buffers_survive_event_queue_restart(self):
        d = self.daemon_with_ctrlr()
        for ring in ([], ["--packed"]):
            with self.subTest(ring=ring or "split"):
                s = self.session(*ring)
                s.ok("post 8")
                # Let the daemon take the buffers before the queue stops.
                self.assertGood(s.result("tur 0", 0))
                time.sleep(0.2 * vtlib.SLOW)
                out = s.ok("evq-restart")
                self.assertEqual(out[0][0], "BASE")
                self.add_target(d, 7, "M3")
                evs, returned = s.events(1, 5000)
                self.assertEqual(returned, 0, "the daemon gave back %d event buffers unused "
                                 "when the event queue stopped" % returned)
                self.assertEqual(len(evs), 1, "no event after the event queue restarted")
                self.assertEvent(evs[0], T_TRANSPORT_RESET, 7, EVT_RESET_RESCAN)
                self.remove_target(d, 7)
                evs, _ = s.events(1, 5000)
                self.assertEvent(evs[0], T_TRANSPORT_RESET, 7, EVT_RESET_REMOVED)
                s.close()
        self.stop_clean(d)

    def test_remove_target_while_commands_stream(self):
        """Best effort: a malloc bdev cannot hold a command, so this streams 16 requests of
        1 MiB at a time at the target while remove_target runs; whether one is in flight at
        the moment of removal is up to timing. Every command must end GOOD or LOGICAL UNIT NOT
        SUPPORTED (or be aborted), none may hang, and the session keeps serving."""
        import threading
        d = self.daemon_with_ctrlr()
        self.add_target(d, 8, "M3")
        s = self.session("--queues", 2)
        s.ok("post 8")
        self.assertGood(s.results("write 8 0 8 5", 0)[0])
        outcome = {}

        def remove():
            try:
                outcome["rc"] = d.call("vhost_scsi_controller_remove_target",
                                       {"ctrlr": "s0", "scsi_target_num": 8})
            except Exception as ex:  # reported below
                outcome["rc"] = ex

        th = threading.Thread(target=remove)
        targets = ",".join(["8"] * 16)
        rounds = 0
        th.start()
        try:
            while th.is_alive() or rounds < 2:
                for r in s.results("write %s 0 2048 5" % targets):
                    ok = num(r["status"]) == 0 and num(r["response"]) == 0
                    gone = (num(r["status"]) == CHECK_CONDITION and num(r["key"]) == 5 and
                            num(r["asc"]) == 0x25)
                    aborted = num(r["response"]) == 4  # VIRTIO_SCSI_S_ABORTED
                    self.assertTrue(ok or gone or aborted, r)
                rounds += 1
                self.assertLess(rounds, 2000, "remove_target did not finish")
        finally:
            th.join(30 * vtlib.SLOW)
        self.assertIs(outcome.get("rc"), True, outcome)
        self.assertCheck(s.result("tur 8", 1), 0x5, 0x25, 0x00)
        evs, _ = s.events(1, 5000)
        self.assertEqual(len(evs), 1)
        self.assertEvent(evs[0], T_TRANSPORT_RESET, 8, EVT_RESET_REMOVED)
        self.assertGood(s.result("tur 0", 0))
        s.close()
        self.stop_clean(d)


class ScsiBenchTest(ScsiFrontendBase):
    """`vtc bench --scsi`: READ(16) / WRITE(16) at a fixed queue depth over the request queues
    of a scsi controller, the blk bench's output line."""

    def bench(self, *opts):
        r = subprocess.run([vtc_bin(), "bench", self.sock, "--scsi", "--time", "0.3"] +
                           [str(o) for o in opts], capture_output=True, text=True,
                           timeout=60 * vtlib.SLOW)
        self.assertEqual(r.returncode, 0, r.stderr)
        return dict(kv.split("=", 1) for kv in r.stdout.split())

    def test_bench_scsi_reads_and_writes_over_two_queues(self):
        d = self.daemon_with_ctrlr()
        for rw in ("randwrite", "randread", "write"):
            with self.subTest(rw=rw):
                f = self.bench("--rw", rw, "--qd", 8, "--queues", 2, "--bs", 8192)
                self.assertEqual((f["dev"], f["rw"], f["queues"], f["qd"]),
                                 ("scsi", rw, "2", "8"))
                self.assertGreater(int(f["ios"]), 0)
                self.assertEqual(f["errors"], "0")
                self.assertGreater(float(f["lat_p99_us"]), 0)
        self.stop_clean(d)

    def test_bench_scsi_refuses_requests_smaller_than_the_block(self):
        d = self.start_daemon()
        d.call("bdev_malloc_create", {"name": "M1", "num_blocks": 1024, "block_size": 4096})
        d.call("vhost_create_scsi_controller", {"ctrlr": "s0"})
        self.add_target(d, 0, "M1")
        self.sock = os.path.join(d.dir, "s0")
        r = subprocess.run([vtc_bin(), "bench", self.sock, "--scsi", "--bs", "512", "--time",
                            "0.2"], capture_output=True, text=True, timeout=60 * vtlib.SLOW)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("block size 4096", r.stderr)
        f = self.bench("--rw", "randread", "--qd", 4)
        self.assertEqual((f["dev"], f["errors"]), ("scsi", "0"))
        self.stop_clean(d)
