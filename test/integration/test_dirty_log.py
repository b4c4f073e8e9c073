# SPDX-License-Identifier: BSD-3-Clause
"""Dirty logging for live migration (issue 9, first step), from the test front end.

`vtc dirtylog` (test/vhost_client/vtc_dirtylog.c) negotiates LOG_SHMFD, hands vtarget a memfd
log with SET_LOG_BASE, turns LOG_ALL on as QEMU does when a migration starts (SET_FEATURES,
then SET_VRING_ADDR with VHOST_VRING_F_LOG), and runs virtio-blk or virtio-scsi requests one at
a time on split and packed rings (a ring of 16, so the second round wraps it). For each request
it compares the pages of the device-writable buffers that changed with the pages marked in the
log: none missed, none marked outside the request's writable buffers and the ring, and the
ring entry that published it marked. Then LOG_ALL off (nothing marked), and a handover:
GET_VRING_BASE (answered once drained) and the ring resumed at that non-zero base (packed: wrap
counter included) with logging on again. vhost_get_controllers shows dirty_log per session.

Bad dirty-log input from a malicious front end is in test_vhost_blk_malicious.py."""

import os
import select
import subprocess
import time

import vtlib
from vtlib import VtTestCase

MIB = 1024 * 1024
TIMEOUT = 60.0 * vtlib.SLOW


def vtc_bin():
    return os.path.join(vtlib.build_dir(), "test", "vhost_client", "vtc")


def fields(line):
    return dict(p.split("=", 1) for p in line.split()[1:] if "=" in p)


class DirtyLogTest(VtTestCase):

    def setUp(self):
        if not os.access(vtc_bin(), os.X_OK):
            raise AssertionError("vtc not built (make -C test/vhost_client)")
        self.d = self.start_daemon()
        self.d.call("bdev_malloc_create", {"name": "M0", "num_blocks": 32 * MIB // 512,
                                           "block_size": 512})
        self.d.call("bdev_malloc_create", {"name": "M1", "num_blocks": 32 * MIB // 512,
                                           "block_size": 512})
        self.d.call("vhost_create_blk_controller", {"ctrlr": "blk0", "dev_name": "M0",
                                                    "packed_ring": True})
        self.d.call("vhost_create_scsi_controller", {"ctrlr": "scsi0"})
        self.d.call("vhost_scsi_controller_add_target",
                    {"ctrlr": "scsi0", "scsi_target_num": 0, "bdev_name": "M1"})

    def tearDown(self):
        self.stop_clean(self.d)

    def run_dirtylog(self, ctrlr, *args):
        sock = os.path.join(self.d.dir, ctrlr)
        p = subprocess.run([vtc_bin(), "dirtylog", sock] + list(args), capture_output=True,
                           text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        out = p.stdout
        lines = out.splitlines()
        ops = [fields(l) for l in lines if l.startswith("OP ")]
        offs = [fields(l) for l in lines if l.startswith("OFF ")]
        hand = [fields(l) for l in lines if l.startswith("HANDOVER ")]
        final = [fields(l) for l in lines if l.startswith("DIRTYLOG ")]
        msg = "vtc dirtylog %s %s:\n%s\n%s" % (ctrlr, " ".join(args), out, p.stderr)
        self.assertEqual(p.returncode, 0, msg)
        self.assertEqual(final, [{"result": "ok", "failures": "0"}], msg)
        # Every request: pages changed and marked, none missed, none stray, ring entry marked.
        self.assertGreaterEqual(len(ops), 6, msg)
        for op in ops:
            self.assertEqual((op["missed"], op["stray"], op["ring_logged"]), ("0", "0", "1"),
                             msg)
        reads = [op for op in ops if op["name"] == "read"]
        self.assertTrue(reads, msg)
        for op in reads:
            # The read crosses a page boundary: both data pages and the status page changed.
            self.assertGreaterEqual(int(op["changed"]), 3, msg)
        self.assertTrue(offs, msg)
        for off in offs:
            self.assertEqual(off["marked"], "0", msg)
        # The negative control: with logging off the same requests change pages that stay
        # unmarked, which the check reports as missed when logging is on.
        self.assertGreater(sum(int(off["changed"]) for off in offs), 0, msg)
        self.assertEqual(len(hand), 1, msg)
        self.assertEqual(hand[0]["rc"], "0", msg)
        self.wait_lines = [fields(l) for l in lines if l.startswith("WAIT ")]
        return ops, int(hand[0]["base"], 0)

    def test_blk_split_marks_every_page_written(self):
        ops, base = self.run_dirtylog("blk0")
        self.assertIn("get-id", [op["name"] for op in ops])
        # 8 requests before the stop: the destination starts mid-stream.
        self.assertEqual(base, 8)

    def test_blk_packed_marks_written_back_descriptors(self):
        ops, base = self.run_dirtylog("blk0", "--packed")
        self.assertEqual({op["ring"] for op in ops}, {"packed"})
        # 8 chains of 3 descriptors on a ring of 16: slot 8 of the second lap (wrap bit 0).
        self.assertEqual(base, 24 % 16)

    def test_blk_log_at_an_offset_in_its_file(self):
        self.run_dirtylog("blk0", "--log-offset", "4100")

    def test_scsi_split_and_packed_mark_data_in_response_and_sense(self):
        for ring in ([], ["--packed"]):
            ops, base = self.run_dirtylog("scsi0", "--scsi", *ring)
            names = [op["name"] for op in ops]
            self.assertIn("inquiry", names)
            self.assertIn("read-beyond", names)
            self.assertTrue(base != 0 and base != 0x8000, base)

    def test_log_all_with_the_start_waits_for_the_log(self):
        # QEMU's order when a device starts during a migration: LOG_ALL in the SET_FEATURES of
        # the start, SET_LOG_BASE after the rings. A request waits until the log is there.
        for args in (("blk0",), ("scsi0", "--scsi", "--packed")):
            self.run_dirtylog(*args, "--log-all-first")
            self.assertEqual(self.wait_lines, [{"served_before_log": "0", "served_after": "1",
                                                "data_marked": "1"}], args)
        self.assertIn("LOG_ALL negotiated without a dirty log", self.d.output())

    def stepped(self, ctrlr, *args):
        """A `vtc dirtylog --step` process and a function waiting for a line prefix."""
        sock = os.path.join(self.d.dir, ctrlr)
        p = subprocess.Popen([vtc_bin(), "dirtylog", sock, "--step"] + list(args),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        seen = []
        buf = [b""]
        fd = p.stdout.fileno()

        def wait_line(prefix):
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline:
                for line in seen:
                    if line.startswith(prefix):
                        seen.remove(line)
                        return line
                r, _, _ = select.select([fd], [], [], 1.0)
                if r:
                    data = os.read(fd, 65536)
                    if not data:
                        break
                    *lines, buf[0] = (buf[0] + data).split(b"\n")
                    seen.extend(l.decode() for l in lines)
            self.fail("vtc dirtylog never printed %r: %r" % (prefix, seen))

        return p, wait_line

    def go_on(self, p):
        p.stdin.write(b"\n")
        p.stdin.flush()

    def test_scsi_event_buffer_is_logged(self):
        p, wait_line = self.stepped("scsi0", "--scsi", "--events")
        wait_line("STEP logging-on")
        self.go_on(p)
        wait_line("STEP events-posted")
        # A new target: a TRANSPORT_RESET event fills the posted buffer.
        self.d.call("bdev_malloc_create", {"name": "M2", "num_blocks": 2048, "block_size": 512})
        self.d.call("vhost_scsi_controller_add_target",
                    {"ctrlr": "scsi0", "scsi_target_num": 1, "bdev_name": "M2"})
        self.go_on(p)
        ev = fields(wait_line("EVENT "))
        self.assertEqual((ev["rc"], ev["marked"], ev["ring_logged"]), ("0", "1,1", "1"), ev)
        self.assertEqual(int(ev["event"], 0) & 0xff, 1, ev)  # VIRTIO_SCSI_T_TRANSPORT_RESET
        wait_line("STEP logging-off")
        self.go_on(p)
        out, err = p.communicate(timeout=TIMEOUT)
        self.assertEqual(p.returncode, 0, (out, err))
        self.assertIn(b"DIRTYLOG result=ok", out)

    def test_bench_with_logging_on_serves_every_request(self):
        # vtc bench --log (bench/blk.sh's vtarget-log): logging on for the whole run, the
        # bitmap cleared under the target as QEMU's sync does; no request fails or hangs.
        sock = os.path.join(self.d.dir, "blk0")
        for rw, ring in (("randread", "split"), ("randwrite", "packed")):
            p = subprocess.run([vtc_bin(), "bench", sock, "--rw", rw, "--qd", "16", "--time",
                                "0.5", "--log", "--log-clear-ms", "20"]
                               + (["--packed"] if ring == "packed" else []), capture_output=True,
                               text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
            msg = "vtc bench --log %s:\n%s\n%s" % (rw, p.stdout, p.stderr)
            self.assertEqual(p.returncode, 0, msg)
            f = dict(kv.split("=", 1) for kv in p.stdout.split() if "=" in kv)
            self.assertEqual((f["log"], f["errors"], f["ring"]), ("1", "0", ring), msg)
            self.assertGreater(int(f["ios"]), 0, msg)
            self.assertGreater(int(f["log_clears"]), 0, msg)
        self.assertIn("dirty log of", self.d.stderr())

    def test_get_controllers_shows_dirty_log_per_session(self):
        p, wait_line = self.stepped("blk0")

        def sessions():
            (c,) = self.d.call("vhost_get_controllers", {"name": "blk0"})
            return c["sessions"]

        wait_line("STEP logging-on")
        (s,) = sessions()
        self.assertIs(s["dirty_log"], True, s)
        # SPDK's members are all still there.
        for key in ("vid", "id", "name", "started", "max_queues", "inflight_task_cnt"):
            self.assertIn(key, s)
        self.go_on(p)
        wait_line("STEP logging-off")
        (s,) = sessions()
        self.assertIs(s["dirty_log"], False, s)
        self.go_on(p)
        out, err = p.communicate(timeout=TIMEOUT)
        self.assertEqual(p.returncode, 0, (out, err))
        (c,) = self.d.call("vhost_get_controllers", {"name": "blk0"})
        for s in c["sessions"]:
            self.assertIs(s["dirty_log"], False, s)
