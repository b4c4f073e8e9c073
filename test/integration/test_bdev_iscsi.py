# SPDX-License-Identifier: BSD-3-Clause
"""iSCSI bdevs (issue 13) against a real target: tgtd started by the tests (tgt_server.py) on
127.0.0.1 with a private port. bdev_iscsi_create / _delete / _set_options with SPDK's
parameters, every bad parameter refused with a clear error and nothing half-created, I/O from
vtc over a vhost-blk controller with the data checked in the LUN's backing file (write, read,
flush, discard, write zeroes), driver_specific and save_config replayed with -c, and the fault
test: tgtd killed under I/O (requests fail within the timeout, the daemon keeps answering), then
started again on the same port and files (the session comes back and I/O resumes)."""

import json
import os
import socket
import subprocess
import time

import rpc
import vtlib
from vtlib import SharedDaemonTestCase, VtTestCase
from test_vhost_blk import BlkBase, vtc, vtc_bin, vtc_ok, wait_for
from tgt_server import TgtServer

MIB = 1024 * 1024
IQN = "iqn.2026-12.io.vtarget:init"
INVALID_PARAMS = -32602
ENOENT, EIO, EACCES, ENODEV, EEXIST = -2, -5, -13, -19, -17
ECONNREFUSED, ETIMEDOUT = -111, -110


def pattern(offset, size, seed):
    return subprocess.run([vtc_bin(), "pattern", "--offset", str(offset), "--size", str(size),
                           "--seed", str(seed)], capture_output=True, check=True,
                          timeout=30).stdout


class IscsiBase(BlkBase):
    tgt = None

    @classmethod
    def start_target(cls, **kw):
        t = TgtServer(**kw)
        try:
            t.start()
        except BaseException:
            t.stop()
            raise
        return t

    def iscsi_create(self, name, lun=1, **kw):
        params = {"name": name, "initiator_iqn": IQN, "url": self.tgt.url(lun)}
        params.update(kw)
        self.assertEqual(self.d.call("bdev_iscsi_create", params), name)

    def bdev_names(self):
        return [b["name"] for b in self.d.call("bdev_get_bdevs")]


class IscsiBdevTest(IscsiBase, SharedDaemonTestCase):
    # Interrupt mode: the reactor sleeps in epoll on the session's socket (and leaves the CPU
    # to tgtd on a busy 2-core machine).
    daemon_kwargs = {"interrupt": True}
    @classmethod
    def setUpClass(cls):
        cls.tgt = cls.start_target(size_mib=32, luns=2)
        try:
            super().setUpClass()
        except BaseException:
            cls.tgt.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.tgt.stop()

    def tearDown(self):
        for c in self.d.call("vhost_get_controllers"):
            self.d.call("vhost_delete_controller", {"ctrlr": c["ctrlr"]})
        for b in self.d.call("bdev_get_bdevs"):
            self.d.call("bdev_iscsi_delete", {"name": b["name"]})
        self.d.call("bdev_iscsi_set_options", {"timeout_sec": 30})
        super().tearDown()

    def test_create_reports_geometry_and_driver_specific(self):
        self.iscsi_create("iSCSI0")
        b = self.d.call("bdev_get_bdevs", {"name": "iSCSI0"})[0]
        self.assertEqual(b["product_name"], "iSCSI LUN")
        self.assertEqual((b["block_size"], b["num_blocks"]), (512, 32 * MIB // 512))
        spec = b["driver_specific"]["iscsi"]
        self.assertEqual(spec["initiator_name"], IQN)
        self.assertEqual(spec["url"], self.tgt.url(1))
        # tgtd's thin-provisioned LUN offers UNMAP and WRITE SAME.
        self.assertIs(b["supported_io_types"]["unmap"], True)
        self.assertIs(b["supported_io_types"]["write_zeroes"], True)
        self.assertIs(b["supported_io_types"]["flush"], True)
        # Two LUNs of one target, two sessions.
        self.iscsi_create("iSCSI1", lun=2)
        self.assertEqual(sorted(self.bdev_names()), ["iSCSI0", "iSCSI1"])

    def test_io_through_vhost_blk_lands_in_the_backing_file(self):
        self.iscsi_create("iSCSI0")
        s = self.create("blk.i", "iSCSI0")
        vtc_ok("io", s, "--write", "--offset", "1M", "--size", "2M", "--bs", "128K", "--seed",
               "7", "--flush")
        self.assertEqual(self.tgt.read_backing(1 * MIB, 2 * MIB), pattern(1 * MIB, 2 * MIB, 7))
        # Reads come back from the target, scattered over many small buffers.
        vtc_ok("io", s, "--read", "--verify", "--offset", "1M", "--size", "2M", "--bs", "4K",
               "--seed", "7", "--queues", "2")
        # What someone else wrote on the target is what the guest reads.
        self.tgt.write_backing(8 * MIB, pattern(8 * MIB, 64 * 1024, 3))
        vtc_ok("io", s, "--read", "--verify", "--offset", "8M", "--size", "64K", "--bs", "64K",
               "--seed", "3")
        # Write zeroes (WRITE SAME) and discard (UNMAP) reach the file as zeroes.
        vtc_ok("io", s, "--write-zeroes", "--offset", "1M", "--size", "512K")
        self.assertEqual(self.tgt.read_backing(1 * MIB, 512 * 1024), bytes(512 * 1024))
        vtc_ok("io", s, "--discard", "--offset", "2M", "--size", "1M")
        self.assertEqual(self.tgt.read_backing(2 * MIB, MIB), bytes(MIB))
        self.assertEqual(self.tgt.read_backing(int(1.5 * MIB), 512 * 1024),
                         pattern(int(1.5 * MIB), 512 * 1024, 7))
        vtc_ok("io", s, "--read", "--verify-zero", "--offset", "1M", "--size", "512K")
        st = self.d.call("bdev_get_iostat", {"name": "iSCSI0"})["bdevs"][0]
        self.assertGreater(st["num_write_ops"], 0)
        self.assertEqual(st.get("io_error", {}) or {}, {})

    def test_bad_parameters_are_refused_and_nothing_is_created(self):
        good = {"name": "iSCSI9", "initiator_iqn": IQN, "url": self.tgt.url(1)}
        for missing in ("name", "initiator_iqn", "url"):
            p = dict(good)
            del p[missing]
            self.assertRpcError(self.d, "bdev_iscsi_create", p, INVALID_PARAMS, missing)
        self.assertRpcError(self.d, "bdev_iscsi_create", dict(good, bogus=1), INVALID_PARAMS,
                            "bogus")
        self.assertRpcError(self.d, "bdev_iscsi_create", dict(good, name="a b"),
                            INVALID_PARAMS, "name")
        self.assertRpcError(self.d, "bdev_iscsi_create", dict(good, initiator_iqn=""),
                            INVALID_PARAMS, "initiator_iqn")
        for url in ("http://127.0.0.1/iqn.x/1", "iscsi://127.0.0.1/iqn.x",
                    "iscsi://127.0.0.1/iqn.x/notalun", "iscsi://", "iscsi:///iqn.x/1"):
            self.assertRpcError(self.d, "bdev_iscsi_create", dict(good, url=url),
                                INVALID_PARAMS, "url", url)
        # Unknown target, missing LUN, nothing listening: named, with the URL.
        self.assertRpcError(self.d, "bdev_iscsi_create",
                            dict(good, url=self.tgt.url(1, iqn="iqn.2026-12.io.vtarget:nope")),
                            ENOENT, "target not found", "iqn.2026-12.io.vtarget:nope")
        self.assertRpcError(self.d, "bdev_iscsi_create", dict(good, url=self.tgt.url(7)),
                            ENODEV, "LUN not found", "/7")
        closed = self.tgt.url(1, port=1)
        self.assertRpcError(self.d, "bdev_iscsi_create", dict(good, url=closed), ECONNREFUSED,
                            "cannot connect", "127.0.0.1:1")
        # A portal that accepts the connection and never answers the login: bounded by the
        # timeout (2 s here).
        self.d.call("bdev_iscsi_set_options", {"timeout_sec": 2})
        mute = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(mute.close)
        mute.bind(("127.0.0.1", 0))
        mute.listen(4)
        t0 = time.monotonic()
        self.assertRpcError(self.d, "bdev_iscsi_create",
                            dict(good, url=self.tgt.url(1, port=mute.getsockname()[1])),
                            ETIMEDOUT, "unreachable", "within 2 s")
        self.assertLess(time.monotonic() - t0, 5 * vtlib.SLOW)
        self.assertEqual(self.bdev_names(), [])
        # A name in use, and the name is still free after every failure above.
        self.iscsi_create("iSCSI9")
        self.assertRpcError(self.d, "bdev_iscsi_create", good, EEXIST, "iSCSI9")
        self.d.call("bdev_malloc_create", {"name": "M0", "num_blocks": 64, "block_size": 512})
        self.assertRpcError(self.d, "bdev_iscsi_create", dict(good, name="M0"), EEXIST, "M0")
        self.assertRpcError(self.d, "bdev_iscsi_delete", {"name": "M0"}, ENODEV, "M0")
        self.d.call("bdev_malloc_delete", {"name": "M0"})
        self.assertRpcError(self.d, "bdev_iscsi_delete", {"name": "nope"}, ENODEV, "nope")
        self.assertRpcError(self.d, "bdev_iscsi_delete", {}, INVALID_PARAMS, "name")
        self.assertRpcError(self.d, "bdev_iscsi_set_options", {"timeout_sec": -1},
                            INVALID_PARAMS, "timeout_sec")
        self.assertRpcError(self.d, "bdev_iscsi_set_options", {"timeout_sec": 10 ** 9},
                            INVALID_PARAMS, "timeout_sec")

    def test_rpc_py_commands(self):
        r = vtlib.run_rpc_py(self.d.sock, "bdev_iscsi_set_options", "-t", "9")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = vtlib.run_rpc_py(self.d.sock, "bdev_iscsi_create", "-b", "iSCSI0", "-i", IQN,
                             "--url", self.tgt.url(2))
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "iSCSI0"), r.stderr)
        b = self.d.call("bdev_get_bdevs", {"name": "iSCSI0"})[0]
        self.assertEqual(b["driver_specific"]["iscsi"]["timeout_sec"], 9)
        self.assertEqual(b["driver_specific"]["iscsi"]["url"], self.tgt.url(2))
        r = vtlib.run_rpc_py(self.d.sock, "bdev_iscsi_delete", "iSCSI0")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.bdev_names(), [])

    def test_delete_while_exposed_hot_removes(self):
        self.iscsi_create("iSCSI0")
        s = self.create("blk.d", "iSCSI0")
        vtc_ok("io", s, "--write", "--size", "64K", "--bs", "64K")
        self.assertIs(self.d.call("bdev_iscsi_delete", {"name": "iSCSI0"}), True)
        self.assertEqual(self.bdev_names(), [])
        r = vtc("io", s, "--read", "--size", "4K", "--bs", "4K")
        self.assertNotEqual(r.returncode, 0)
        # The same LUN can be attached again at once.
        self.iscsi_create("iSCSI0")


class IscsiTwoReactorsTest(IscsiBase, VtTestCase):
    """I/O submitted on reactor 1 travels to the sessions' reactor 0 and back, from a
    vhost-blk disk and from a vhost-scsi LUN."""

    def setUp(self):
        self.tgt = self.start_target(size_mib=8, luns=2)
        self.addCleanup(self.tgt.stop)

    def test_blk_and_scsi_on_reactor_1(self):
        self.d = self.start_daemon(interrupt=True, args=("-m", "0x3"))
        self.iscsi_create("iSCSI0")
        self.iscsi_create("iSCSI1", lun=2)
        s = self.create("blk.r1", "iSCSI0", cpumask="0x2")
        self.assertEqual(self.controller("blk.r1")["reactor"], 1)
        vtc_ok("io", s, "--write", "--read", "--verify", "--offset", "1M", "--size", "512K",
               "--bs", "32K", "--seed", "21", "--queues", "2")
        self.assertEqual(self.tgt.read_backing(MIB, 512 * 1024), pattern(MIB, 512 * 1024, 21))
        self.d.call("vhost_create_scsi_controller", {"ctrlr": "scsi.r1", "cpumask": "0x2"})
        self.d.call("vhost_scsi_controller_add_target", {"ctrlr": "scsi.r1",
                                                         "scsi_target_num": 0,
                                                         "bdev_name": "iSCSI1"})
        ss = self.sock("scsi.r1")
        out = vtc_ok("scsi", ss, "write", "0", "64", "16", "22")
        self.assertIn("status=0", out)
        out = vtc_ok("scsi", ss, "read", "0", "64", "16", "22")
        self.assertIn("verify=ok", out)
        self.assertEqual(self.tgt.read_backing(64 * 512, 16 * 512, lun=2),
                         pattern(64 * 512, 16 * 512, 22))
        self.stop_clean(self.d)


class IscsiChapTest(IscsiBase, VtTestCase):
    def setUp(self):
        self.tgt = self.start_target(size_mib=8)
        self.addCleanup(self.tgt.stop)
        self.tgt.add_chap("vtuser", "secretsecret12")

    def test_chap_credentials_from_the_url(self):
        self.d = self.start_daemon()
        url = "iscsi://vtuser%%%s@127.0.0.1:%d/%s/1"
        for bad in (self.tgt.url(1), url % ("wrongwrongwrong", self.tgt.port, self.tgt.iqn)):
            err = self.assertRpcError(self.d, "bdev_iscsi_create",
                                      {"name": "c0", "initiator_iqn": IQN, "url": bad}, EACCES,
                                      "login refused", "Authentication")
            # The password never shows in a message.
            self.assertNotIn("wrongwrongwrong", err["message"])
        good = url % ("secretsecret12", self.tgt.port, self.tgt.iqn)
        self.assertEqual(self.d.call("bdev_iscsi_create",
                                     {"name": "c0", "initiator_iqn": IQN, "url": good}), "c0")
        spec = self.d.call("bdev_get_bdevs", {"name": "c0"})[0]["driver_specific"]["iscsi"]
        self.assertEqual(spec["url"], "iscsi://vtuser%%***@127.0.0.1:%d/%s/1"
                         % (self.tgt.port, self.tgt.iqn))
        # save_config keeps what replays it.
        cfg = self.d.call("framework_get_config", {"name": "bdev"})
        self.assertIn(good, [e.get("params", {}).get("url") for e in cfg])
        self.assertNotIn("secretsecret12", self.d.stderr())
        self.stop_clean(self.d)


class IscsiConfigTest(IscsiBase, VtTestCase):
    def setUp(self):
        self.tgt = self.start_target(size_mib=8)
        self.addCleanup(self.tgt.stop)

    def test_save_config_replays_options_and_bdevs(self):
        self.d = self.start_daemon()
        self.d.call("bdev_iscsi_set_options", {"timeout_sec": 7})
        self.iscsi_create("iSCSI0")
        cfg = self.d.call("framework_get_config", {"name": "bdev"})
        methods = [e["method"] for e in cfg]
        self.assertLess(methods.index("bdev_iscsi_set_options"),
                        methods.index("bdev_iscsi_create"))
        entry = cfg[methods.index("bdev_iscsi_create")]
        self.assertEqual(entry["params"], {"name": "iSCSI0", "initiator_iqn": IQN,
                                           "url": self.tgt.url(1)})
        self.assertEqual(cfg[methods.index("bdev_iscsi_set_options")]["params"],
                         {"timeout_sec": 7})
        path = os.path.join(self.d.dir, "saved.json")
        with open(path, "w") as f:
            json.dump({"subsystems": [{"subsystem": "bdev", "config": cfg}]}, f)
        self.stop_clean(self.d)
        self.d = self.start_daemon(config=path)
        b = self.d.call("bdev_get_bdevs", {"name": "iSCSI0"})[0]
        self.assertEqual(b["driver_specific"]["iscsi"]["timeout_sec"], 7)
        self.assertEqual(b["num_blocks"], 8 * MIB // 512)
        self.stop_clean(self.d)


class IscsiFaultTest(IscsiBase, VtTestCase):
    TIME_LIMIT = 120.0

    def setUp(self):
        self.tgt = self.start_target(size_mib=16)
        self.addCleanup(self.tgt.stop)

    def reads(self):
        return self.d.call("bdev_get_iostat", {"name": "iSCSI0"})["bdevs"][0]["num_read_ops"]

    def test_target_killed_under_io_fails_within_timeout_and_reconnects(self):
        self.d = self.start_daemon(interrupt=True)
        self.d.call("bdev_iscsi_set_options", {"timeout_sec": 2})
        self.iscsi_create("iSCSI0")
        s = self.create("blk.f", "iSCSI0")
        vtc_ok("io", s, "--write", "--size", "1M", "--bs", "64K", "--seed", "11")
        # Reads under the fault: the data written before it must survive for the check after.
        bench = subprocess.Popen([vtc_bin(), "bench", s, "--rw", "randread", "--bs", "4096",
                                  "--qd", "8", "--time", "6", "--io-timeout", "20000"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 stdin=subprocess.DEVNULL)
        self.addCleanup(lambda: bench.poll() is None and bench.kill())
        # The crash comes once the bench's reads are flowing.
        reads0 = self.reads()
        wait_for(lambda: self.reads() > reads0 + 50, 20, "the bench's reads to flow")
        self.tgt.kill()
        t0 = time.monotonic()
        # The daemon answers while the target is gone; requests end within the bound.
        for _ in range(5):
            self.assertEqual(self.d.call("bdev_get_bdevs", {"name": "iSCSI0"})[0]["name"],
                             "iSCSI0")
        out, err = bench.communicate(timeout=30 * vtlib.SLOW)
        self.assertIn("errors=", out, err)
        errors = int(out.split("errors=")[1].split()[0])
        self.assertGreater(errors, 0, "no request failed while the target was down: " + out)
        r = vtc("io", s, "--read", "--size", "4K", "--bs", "4K", "--io-timeout", "20000")
        self.assertNotEqual(r.returncode, 0)
        self.assertLess(time.monotonic() - t0, 15 * vtlib.SLOW)
        # Same target again: the session comes back and I/O resumes on the same bdev.
        self.tgt.start()
        wait_for(lambda: vtc("io", s, "--read", "--verify", "--size", "1M", "--bs", "64K",
                             "--seed", "11", "--io-timeout", "20000").returncode == 0,
                 20, "I/O resumed after the target restarted")
        vtc_ok("io", s, "--write", "--read", "--verify", "--offset", "4M", "--size", "256K",
               "--bs", "16K", "--seed", "12")
        self.assertEqual(self.tgt.read_backing(4 * MIB, 256 * 1024),
                         pattern(4 * MIB, 256 * 1024, 12))
        spec = self.d.call("bdev_get_bdevs", {"name": "iSCSI0"})[0]["driver_specific"]["iscsi"]
        self.assertEqual(spec["state"], "online")
        self.d.call("vhost_delete_controller", {"ctrlr": "blk.f"})
        self.d.call("bdev_iscsi_delete", {"name": "iSCSI0"})
        self.stop_clean(self.d)
