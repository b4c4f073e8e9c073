# SPDX-License-Identifier: BSD-3-Clause
"""Shared disks (issue 16): one bdev behind several vhost controllers.

- One refusal for a claimed bdev, blk and scsi alike: -EBUSY (-16) naming the owner.
- Any number of vhost-scsi targets, on one or several controllers (on different reactors), may
  expose one bdev; blk stays exclusive unless created with `shared` (or readonly).
- Data written through one path is read through the others; a resize and a hot-remove reach every
  exposure; deleting one controller leaves the others serving.
- Persistent reservations fence across controllers on different reactors (vtc scsi sends the PR
  commands as raw CDBs); APTPL brings them back after a daemon restart (--state-dir).
- Every path shows the same NAA designator, its own relative target port and target port group,
  TPGS implicit ALUA and REPORT TARGET PORT GROUPS with every path active/optimized.
- The SANITIZE state is the logical unit's: in progress (REQUEST SENSE with progress) and failed
  on every path.
"""

import os
import time

import vtlib
from test_vhost_blk import wait_for
from test_vhost_scsi_frontend import ScsiFrontendBase, ScsiSession, num

MIB = 1024 * 1024
EBUSY = -16


class SharedClaimTest(ScsiFrontendBase):

    def daemon(self):
        d = self.start_daemon(args=("-m", "0x3", "--interrupt"))
        for name in ("M0", "M1", "M2"):
            d.call("bdev_malloc_create", {"name": name, "num_blocks": 8 * MIB // 512,
                                          "block_size": 512})
        return d

    def scsi(self, d, ctrlr, cpumask, targets):
        d.call("vhost_create_scsi_controller", {"ctrlr": ctrlr, "cpumask": cpumask})
        for t, b in targets:
            self.assertEqual(d.call("vhost_scsi_controller_add_target",
                                    {"ctrlr": ctrlr, "scsi_target_num": t, "bdev_name": b}), t)
        return os.path.join(d.dir, ctrlr)

    def test_claimed_bdev_is_one_ebusy_naming_the_owner(self):
        d = self.daemon()
        self.assertIs(d.call("vhost_create_blk_controller", {"ctrlr": "b0", "dev_name": "M1"}),
                      True)
        self.assertRpcError(d, "vhost_create_blk_controller", {"ctrlr": "b1", "dev_name": "M1"},
                            EBUSY, "bdev 'M1' is claimed by vhost controller 'b0'")
        d.call("vhost_create_scsi_controller", {"ctrlr": "s0"})
        self.assertRpcError(d, "vhost_scsi_controller_add_target",
                            {"ctrlr": "s0", "scsi_target_num": 0, "bdev_name": "M1"},
                            EBUSY, "bdev 'M1' is claimed by vhost controller 'b0'")
        d.call("vhost_scsi_controller_add_target",
               {"ctrlr": "s0", "scsi_target_num": 0, "bdev_name": "M0"})
        self.assertRpcError(d, "vhost_create_blk_controller", {"ctrlr": "b2", "dev_name": "M0"},
                            EBUSY, "bdev 'M0' is claimed by vhost controller 's0'")
        self.assertRpcError(d, "vhost_create_blk_controller",
                            {"ctrlr": "b2", "dev_name": "M0", "shared": True},
                            EBUSY, "vhost controller 's0'")
        # A readonly blk controller takes no claim: it may sit next to anyone.
        self.assertIs(d.call("vhost_create_blk_controller",
                             {"ctrlr": "b3", "dev_name": "M0", "readonly": True}), True)
        # The failures left nothing behind.
        names = sorted(c["ctrlr"] for c in d.call("vhost_get_controllers"))
        self.assertEqual(names, ["b0", "b3", "s0"])
        self.stop_clean(d)

    def test_shared_blk_controllers(self):
        d = self.daemon()
        for name in ("b0", "b1"):
            self.assertIs(d.call("vhost_create_blk_controller",
                                 {"ctrlr": name, "dev_name": "M2", "shared": True}), True)
        bdev = d.call("bdev_get_bdevs", {"name": "M2"})[0]
        self.assertIs(bdev["claimed"], True)
        self.assertEqual(bdev["claim_type"], "read_many_write_shared")
        # Exclusive users are still refused, scsi included (it does not share with blk).
        self.assertRpcError(d, "vhost_create_blk_controller", {"ctrlr": "b2", "dev_name": "M2"},
                            EBUSY, "bdev 'M2' is claimed by vhost controller 'b0'")
        d.call("vhost_create_scsi_controller", {"ctrlr": "s0"})
        self.assertRpcError(d, "vhost_scsi_controller_add_target",
                            {"ctrlr": "s0", "scsi_target_num": 0, "bdev_name": "M2"}, EBUSY)
        b = {c["ctrlr"]: c for c in d.call("vhost_get_controllers")}
        self.assertIs(b["b0"]["backend_specific"]["block"]["shared"], True)
        # save_config keeps the extension; SPDK's parameters are unchanged.
        cfg = d.call("framework_get_config", {"name": "vhost_blk"})
        self.assertEqual([e["params"].get("shared") for e in cfg], [True, True])
        # The claim outlives the first sharer and goes with the last.
        d.call("vhost_delete_controller", {"ctrlr": "b0"})
        self.assertRpcError(d, "vhost_create_blk_controller", {"ctrlr": "b2", "dev_name": "M2"},
                            EBUSY, "vhost controller 'b1'")
        d.call("vhost_delete_controller", {"ctrlr": "b1"})
        self.assertIs(d.call("bdev_get_bdevs", {"name": "M2"})[0]["claimed"], False)
        self.assertIs(d.call("vhost_create_blk_controller", {"ctrlr": "b2", "dev_name": "M2"}),
                      True)
        self.stop_clean(d)

    def test_scsi_targets_share_a_bdev_across_controllers(self):
        d = self.daemon()
        s0 = self.scsi(d, "s0", "0x1", ((0, "M0"), (1, "M0")))
        s1 = self.scsi(d, "s1", "0x2", ((3, "M0"),))
        self.assertEqual(d.call("bdev_get_bdevs", {"name": "M0"})[0]["claim_type"],
                         "read_many_write_shared")
        a = ScsiSession(self, s0)
        b = ScsiSession(self, s1)
        self.assertGood(a.result("write 0 100 16 11", 0))
        self.assertEqual(a.result("read 1 100 16 11", 0)["verify"], "ok")
        self.assertEqual(b.result("read 3 100 16 11", 0)["verify"], "ok")
        self.assertGood(b.result("write 3 200 8 12", 0))
        self.assertEqual(a.result("read 0 200 8 12", 0)["verify"], "ok")
        # Deleting one controller leaves the other serving.
        a.close()
        self.assertIs(d.call("vhost_delete_controller", {"ctrlr": "s0"}), True)
        self.assertEqual(b.result("read 3 100 16 11", 0)["verify"], "ok")
        self.assertIs(d.call("bdev_get_bdevs", {"name": "M0"})[0]["claimed"], True)
        b.close()
        self.stop_clean(d)

    def test_resize_and_hot_remove_reach_every_exposure(self):
        d = self.daemon()
        d.call("bdev_null_create", {"name": "N0", "num_blocks": 64 * MIB // 512,
                                    "block_size": 512})
        s0 = self.scsi(d, "s0", "0x1", ((0, "N0"),))
        s1 = self.scsi(d, "s1", "0x2", ((2, "N0"),))
        a = ScsiSession(self, s0, "--no-ua-retry")
        b = ScsiSession(self, s1, "--no-ua-retry")
        for sess, t in ((a, 0), (b, 2)):
            self.assertCheck(sess.result("tur %d" % t, 1), 0x6, 0x29)
            self.assertGood(sess.result("tur %d" % t, 0))
        d.call("bdev_null_resize", {"name": "N0", "new_size": 128})
        for sess, t in ((a, 0), (b, 2)):
            self.assertCheck(sess.result("tur %d" % t, 1), 0x6, 0x2a, 0x09)
            r = sess.result("readcap %d" % t, 0)
            self.assertEqual(num(r["blocks"]), 128 * MIB // 512)
        d.call("bdev_null_delete", {"name": "N0"})
        for sess, t in ((a, 0), (b, 2)):
            r = wait_for(lambda: [x for x in [sess.result("inquiry %d" % t)]
                                  if x["pq"] == "3"], 10, "target %d gone" % t)[0]
            self.assertEqual(num(r["pdt"]), 0x1f)
        for name in ("s0", "s1"):
            # The target goes once its tasks are done (the controller's management poller).
            wait_for(lambda: d.call("vhost_get_controllers", {"name": name})[0]
                     ["backend_specific"]["scsi"] == [], 10, "%s without targets" % name)
        a.close()
        b.close()
        self.stop_clean(d)


RES_CONFLICT = 0x18
WERO = 5
EA = 3
PROUT_REGISTER, PROUT_RESERVE, PROUT_PREEMPT_AND_ABORT = 0, 1, 5
PRIN_READ_KEYS, PRIN_READ_RESERVATION, PRIN_REPORT_CAPS, PRIN_FULL_STATUS = 0, 1, 2, 3


def prout_cmd(target, sa, rtype, key, sa_key, aptpl=False):
    data = "%016x%016x00000000%02x000000" % (key, sa_key, 1 if aptpl else 0)
    return "cdb %d 5f%02x%02x000000000018 data=%s" % (target, sa, rtype, data)


def prin_cmd(target, sa):
    return "cdb %d 5e%02x00000000000200000000 in=512" % (target, sa)


def two_paths(test, d, bdev):
    """Controllers s0 (reactor 0, target 0) and s1 (reactor 1, target 4) showing bdev; their
    sockets."""
    socks = []
    for name, mask, t in (("s0", "0x1", 0), ("s1", "0x2", 4)):
        d.call("vhost_create_scsi_controller", {"ctrlr": name, "cpumask": mask})
        test.assertEqual(d.call("vhost_scsi_controller_add_target",
                                {"ctrlr": name, "scsi_target_num": t, "bdev_name": bdev}), t)
        socks.append(os.path.join(d.dir, name))
    return socks


class SharedReservationTest(ScsiFrontendBase):
    """Persistent reservations of one bdev behind two controllers on two reactors: a guest
    fenced on one path is fenced on every path."""

    def setup_two_paths(self, d):
        d.call("bdev_malloc_create", {"name": "M0", "num_blocks": 8 * MIB // 512,
                                      "block_size": 512})
        return two_paths(self, d, "M0")

    def status(self, r):
        self.assertEqual(num(r["response"]), 0, r)
        return num(r["status"])

    def test_fencing_across_controllers(self):
        d = self.start_daemon(args=("-m", "0x3", "--interrupt"))
        s0, s1 = self.setup_two_paths(d)
        a = ScsiSession(self, s0)
        b = ScsiSession(self, s1)
        self.assertGood(a.result("write 0 0 8 1", 0))
        # A registers and reserves Write Exclusive - Registrants Only.
        self.assertGood(a.result(prout_cmd(0, PROUT_REGISTER, 0, 0, 0xa1), 0))
        self.assertGood(a.result(prout_cmd(0, PROUT_RESERVE, WERO, 0xa1, 0), 0))
        # B (another controller, another reactor) may read, not write.
        self.assertEqual(b.result("read 4 0 8 1")["verify"], "ok")
        self.assertEqual(self.status(b.result("write 4 0 8 2")), RES_CONFLICT)
        # Once registered, B writes.
        self.assertGood(b.result(prout_cmd(4, PROUT_REGISTER, 0, 0, 0xb2), 0))
        self.assertGood(b.result("write 4 0 8 2", 0))
        self.assertEqual(a.result("read 0 0 8 2")["verify"], "ok")
        # READ FULL STATUS shows both nexuses with distinct relative target ports.
        r = a.result(prin_cmd(0, PRIN_FULL_STATUS), 0)
        full = bytes.fromhex(r["data"])
        regs, off = {}, 8
        while off < 8 + int.from_bytes(full[4:8], "big"):
            key = int.from_bytes(full[off:off + 8], "big")
            rtpi = int.from_bytes(full[off + 18:off + 20], "big")
            tid_len = int.from_bytes(full[off + 20:off + 24], "big")
            name = full[off + 28:off + 24 + tid_len].split(b"\0")[0].decode()
            regs[key] = (full[off + 12] & 1, rtpi, name)
            off += 24 + tid_len
        self.assertEqual(sorted(regs), [0xa1, 0xb2])
        self.assertEqual(regs[0xa1][0], 1)
        self.assertNotEqual(regs[0xa1][1], regs[0xb2][1])
        self.assertNotEqual(regs[0xa1][2], regs[0xb2][2])
        self.assertTrue(regs[0xa1][2].startswith("naa.5"))
        # A preempts and aborts B: B is fenced again (after its unit attention).
        self.assertGood(a.result(prout_cmd(0, PROUT_PREEMPT_AND_ABORT, WERO, 0xa1, 0xb2), 0))
        self.assertEqual(self.status(b.result("write 4 0 8 3")), RES_CONFLICT)
        r = b.result(prin_cmd(4, PRIN_READ_KEYS), 0)
        self.assertEqual(r["data"][8:16], "00000008")
        a.close()
        b.close()
        self.stop_clean(d)

    def test_aptpl_reservation_survives_a_daemon_restart(self):
        state = os.path.join(self.tmp, "state")
        os.mkdir(state)
        d = self.start_daemon(args=("-m", "0x3", "--interrupt", "--state-dir", state))
        s0, s1 = self.setup_two_paths(d)
        a = ScsiSession(self, s0)
        b = ScsiSession(self, s1)
        self.assertGood(a.result(prout_cmd(0, PROUT_REGISTER, 0, 0, 0xa1, aptpl=True), 0))
        self.assertGood(b.result(prout_cmd(4, PROUT_REGISTER, 0, 0, 0xb2, aptpl=True), 0))
        self.assertGood(a.result(prout_cmd(0, PROUT_RESERVE, WERO, 0xa1, 0), 0))
        caps = bytes.fromhex(b.result(prin_cmd(4, PRIN_REPORT_CAPS), 0)["data"])
        self.assertEqual((caps[2] & 1, caps[3] & 1), (1, 1))  # PTPL_C, PTPL_A
        self.assertTrue(os.path.exists(os.path.join(state, "M0.pr")))
        a.close()
        b.close()
        self.close_sessions()
        self.stop_clean(d)
        # The same controllers on a new daemon: the same nexuses, the same keys and holder.
        d = self.start_daemon(args=("-m", "0x3", "--interrupt", "--state-dir", state))
        s0, s1 = self.setup_two_paths(d)
        d.call("vhost_create_scsi_controller", {"ctrlr": "s2"})
        d.call("vhost_scsi_controller_add_target",
               {"ctrlr": "s2", "scsi_target_num": 0, "bdev_name": "M0"})
        a = ScsiSession(self, s0)
        b = ScsiSession(self, s1)
        c = ScsiSession(self, os.path.join(d.dir, "s2"))
        keys = bytes.fromhex(b.result(prin_cmd(4, PRIN_READ_KEYS), 0)["data"])
        self.assertEqual(sorted(int.from_bytes(keys[8 + 8 * i:16 + 8 * i], "big")
                                for i in range(int.from_bytes(keys[4:8], "big") // 8)),
                         [0xa1, 0xb2])
        res = bytes.fromhex(b.result(prin_cmd(4, PRIN_READ_RESERVATION), 0)["data"])
        self.assertEqual((int.from_bytes(res[8:16], "big"), res[21]), (0xa1, WERO))
        caps = bytes.fromhex(b.result(prin_cmd(4, PRIN_REPORT_CAPS), 0)["data"])
        self.assertEqual(caps[3] & 1, 1)
        self.assertGood(a.result("write 0 0 8 5", 0))
        self.assertGood(b.result("write 4 0 8 5", 0))
        self.assertEqual(self.status(c.result("write 0 0 8 5")), RES_CONFLICT)
        a.close()
        b.close()
        c.close()
        self.stop_clean(d)

    def test_every_path_identifies_the_same_logical_unit(self):
        d = self.start_daemon(args=("-m", "0x3", "--interrupt"))
        s0, s1 = self.setup_two_paths(d)
        seen = []
        for sock, t in ((s0, 0), (s1, 4)):
            s = ScsiSession(self, sock)
            page = bytes.fromhex(s.result("cdb %d 120183010000 in=256" % t, 0)["data"])
            desig, off = {}, 4
            while off + 4 <= 4 + int.from_bytes(page[2:4], "big"):
                desig[page[off + 1] & 0x3f] = page[off + 4:off + 4 + page[off + 3]]
                off += 4 + page[off + 3]
            inq = bytes.fromhex(s.result("cdb %d 120000006000 in=96" % t, 0)["data"])
            self.assertEqual(inq[5] & 0x30, 0x10)  # TPGS: implicit ALUA
            rtpg = bytes.fromhex(s.result("cdb %d a32a00000000000002000000 in=512" % t, 0)
                                 ["data"])
            groups = int.from_bytes(rtpg[0:4], "big") // 12
            self.assertEqual(groups, 2)
            self.assertEqual([rtpg[8 + 12 * i] & 0x0f for i in range(groups)], [0, 0])
            seen.append((desig[0x03], desig[0x14], desig[0x15]))
            s.close()
        # The same NAA designator, distinct relative target ports and groups.
        self.assertEqual(seen[0][0], seen[1][0])
        self.assertNotEqual(seen[0][1], seen[1][1])
        self.assertNotEqual(seen[0][2], seen[1][2])
        self.stop_clean(d)


NOT_READY, MEDIUM_ERROR = 0x2, 0x3
SANITIZE_IN_PROGRESS = (0x04, 0x1b)
SANITIZE_FAILED = (0x31, 0x03)
# SANITIZE OVERWRITE (IMMED optional) with an 8-byte parameter list: one pass of a 4-byte pattern.
SANITIZE_OVERWRITE = "cdb %d 48%02x0000000000000800 data=01000004a5a55a5a"


class SharedSanitizeTest(ScsiFrontendBase):
    """The SANITIZE state is the logical unit's: one started through one controller is in
    progress (and reports progress) through the other, and a failed one fences both. An error
    bdev holds the sanitize's first write, so the operation is in progress for as long as the
    test needs it (no timing)."""

    def test_sanitize_state_is_seen_on_every_path(self):
        d = self.start_daemon(args=("-m", "0x3", "--interrupt"))
        d.call("bdev_malloc_create", {"name": "M0", "num_blocks": 2048, "block_size": 512})
        d.call("bdev_error_create", {"base_name": "M0"})
        socks = two_paths(self, d, "EE_M0")
        a = ScsiSession(self, socks[0])
        b = ScsiSession(self, socks[1])
        for s, t in ((a, 0), (b, 4)):
            # The power-on unit attention, if any, is reported once.
            for _ in range(4):
                if num(s.result("cdb %d 000000000000" % t)["status"]) == 0:
                    break
            self.assertGood(s.result("cdb %d 000000000000" % t))
        # Path A starts an OVERWRITE (IMMED) whose first write the error bdev holds.
        d.call("bdev_error_inject_error", {"name": "EE_M0", "io_type": "write",
                                           "error_type": "pending", "num": 1})
        self.assertGood(a.result(SANITIZE_OVERWRITE % (0, 0x81)))
        # Path B (another controller, another reactor): in progress.
        self.assertCheck(b.result("cdb 4 000000000000"), NOT_READY, *SANITIZE_IN_PROGRESS)
        self.assertCheck(b.result("cdb 4 28000000000000000100 in=512"), NOT_READY,
                         *SANITIZE_IN_PROGRESS)
        self.assertCheck(b.result(SANITIZE_OVERWRITE % (4, 0x81)), NOT_READY,
                         *SANITIZE_IN_PROGRESS)
        sense = bytes.fromhex(b.result("cdb 4 03000000fc00 in=252")["data"])
        self.assertEqual((sense[2] & 0x0f, sense[12], sense[13], sense[15] & 0x80),
                         (NOT_READY,) + SANITIZE_IN_PROGRESS + (0x80,), sense.hex())
        # Released: both paths see the end (polled through B's TEST UNIT READY).
        self.assertIs(d.call("bdev_error_resume_pending", {"name": "EE_M0"}), True)
        deadline = time.monotonic() + 10 * vtlib.SLOW
        while num(b.result("cdb 4 000000000000")["status"]) != 0:
            self.assertLess(time.monotonic(), deadline, "the sanitize does not end")
        self.assertGood(a.result("cdb 0 000000000000"))
        sense = bytes.fromhex(a.result("cdb 0 03000000fc00 in=252")["data"])
        self.assertEqual((sense[2] & 0x0f, sense[12]), (0, 0), sense.hex())
        data = bytes.fromhex(b.result("cdb 4 28000000000000000100 in=512")["data"])
        # (vtc shows the start of the data in.)
        self.assertGreaterEqual(len(data), 16)
        self.assertEqual(data, (bytes.fromhex("a5a55a5a") * 128)[:len(data)])
        # A sanitize through A fails (its first write does): B is in the failure mode too, until
        # a sanitize through B succeeds.
        d.call("bdev_error_inject_error", {"name": "EE_M0", "io_type": "write",
                                           "error_type": "failure", "num": 1})
        self.assertCheck(a.result(SANITIZE_OVERWRITE % (0, 0x01)), MEDIUM_ERROR,
                         *SANITIZE_FAILED)
        self.assertCheck(b.result("cdb 4 28000000000000000100 in=512"), MEDIUM_ERROR,
                         *SANITIZE_FAILED)
        self.assertGood(b.result(SANITIZE_OVERWRITE % (4, 0x01)))
        self.assertGood(a.result("cdb 0 28000000000000000100 in=512"))
        a.close()
        b.close()
        self.stop_clean(d)
