# SPDX-License-Identifier: BSD-3-Clause
"""vhost-user-scsi controllers through the RPC socket: create (with and without delay), start,
add and remove targets, vhost_get_controllers' scsi backend_specific, delete, the errors
(unknown bdev, target number in use or out of range, unknown controller), rpc.py's subcommands,
and save_config / restart round trip."""

import json
import os

import rpc
import vtlib
from vtlib import VtTestCase

MIB = 1024 * 1024
ENODEV, EEXIST, EALREADY, EBUSY = -19, -17, -114, -16
INVALID_PARAMS = -32602


class VhostScsiRpcTest(VtTestCase):

    def daemon_with_bdevs(self, n=3):
        d = self.start_daemon()
        for i in range(n):
            d.call("bdev_malloc_create", {"name": "M%d" % i, "num_blocks": 2048 * (i + 1),
                                          "block_size": 512})
        return d

    def ctrlr(self, d, name):
        got = d.call("vhost_get_controllers", {"name": name})
        self.assertEqual(len(got), 1)
        return got[0]

    def test_create_add_get_remove_delete(self):
        d = self.daemon_with_bdevs()
        self.assertIs(d.call("vhost_create_scsi_controller", {"ctrlr": "s0"}), True)
        self.assertTrue(vtlib.is_socket(os.path.join(d.dir, "s0")))
        self.assertEqual(d.call("vhost_scsi_controller_add_target",
                                {"ctrlr": "s0", "scsi_target_num": 5, "bdev_name": "M0"}), 5)
        self.assertEqual(d.call("vhost_scsi_controller_add_target",
                                {"ctrlr": "s0", "scsi_target_num": -1, "bdev_name": "M1"}), 0)
        c = self.ctrlr(d, "s0")
        self.assertEqual(c["ctrlr"], "s0")
        scsi = c["backend_specific"]["scsi"]
        self.assertEqual([t["scsi_dev_num"] for t in scsi], [0, 5])
        self.assertEqual(scsi[1]["id"], 5)
        self.assertEqual(scsi[1]["luns"], [{"id": 0, "bdev_name": "M0"}])
        self.assertEqual(scsi[0]["luns"], [{"id": 0, "bdev_name": "M1"}])
        self.assertIsInstance(scsi[0]["target_name"], str)
        # The bdev is claimed: a blk controller cannot take it.
        self.assertRpcError(d, "vhost_create_blk_controller",
                            {"ctrlr": "b0", "dev_name": "M0"}, EBUSY, "vhost controller 's0'")
        self.assertIs(d.call("vhost_scsi_controller_remove_target",
                             {"ctrlr": "s0", "scsi_target_num": 5}), True)
        scsi = self.ctrlr(d, "s0")["backend_specific"]["scsi"]
        self.assertEqual([t["scsi_dev_num"] for t in scsi], [0])
        # Its bdev is free again.
        self.assertIs(d.call("vhost_create_blk_controller", {"ctrlr": "b0", "dev_name": "M0"}),
                      True)
        self.assertIs(d.call("vhost_delete_controller", {"ctrlr": "s0"}), True)
        self.assertFalse(os.path.exists(os.path.join(d.dir, "s0")))
        self.assertEqual([c["ctrlr"] for c in d.call("vhost_get_controllers")], ["b0"])
        # M1 was released by the deletion.
        d.call("bdev_malloc_delete", {"name": "M1"})
        self.stop_clean(d)

    def test_delay_registers_without_socket_until_start(self):
        d = self.daemon_with_bdevs()
        self.assertIs(d.call("vhost_create_scsi_controller", {"ctrlr": "s1", "delay": True}),
                      True)
        sock = os.path.join(d.dir, "s1")
        self.assertFalse(os.path.exists(sock))
        self.assertEqual(d.call("vhost_scsi_controller_add_target",
                                {"ctrlr": "s1", "scsi_target_num": 0, "bdev_name": "M2"}), 0)
        self.assertEqual(self.ctrlr(d, "s1")["backend_specific"]["scsi"][0]["luns"][0]
                         ["bdev_name"], "M2")
        self.assertIs(d.call("vhost_start_scsi_controller", {"ctrlr": "s1"}), True)
        self.assertTrue(vtlib.is_socket(sock))
        self.assertRpcError(d, "vhost_start_scsi_controller", {"ctrlr": "s1"}, EALREADY)
        # A delayed controller that never started can be deleted too.
        d.call("vhost_create_scsi_controller", {"ctrlr": "s2", "delay": True})
        self.assertIs(d.call("vhost_delete_controller", {"ctrlr": "s2"}), True)
        self.assertIs(d.call("vhost_delete_controller", {"ctrlr": "s1"}), True)
        self.stop_clean(d)

    def test_errors(self):
        d = self.daemon_with_bdevs()
        d.call("vhost_create_scsi_controller", {"ctrlr": "s0"})
        self.assertRpcError(d, "vhost_create_scsi_controller", {"ctrlr": "s0"}, EEXIST)
        self.assertRpcError(d, "vhost_scsi_controller_add_target",
                            {"ctrlr": "s0", "scsi_target_num": 0, "bdev_name": "nope"},
                            ENODEV, "nope")
        d.call("vhost_scsi_controller_add_target",
               {"ctrlr": "s0", "scsi_target_num": 0, "bdev_name": "M0"})
        self.assertRpcError(d, "vhost_scsi_controller_add_target",
                            {"ctrlr": "s0", "scsi_target_num": 0, "bdev_name": "M1"},
                            EEXIST, "in use")
        for bad in (256, 1000, -2):
            self.assertRpcError(d, "vhost_scsi_controller_add_target",
                                {"ctrlr": "s0", "scsi_target_num": bad, "bdev_name": "M1"},
                                INVALID_PARAMS, "0 to 255")
        self.assertRpcError(d, "vhost_scsi_controller_remove_target",
                            {"ctrlr": "s0", "scsi_target_num": 256}, INVALID_PARAMS)
        self.assertRpcError(d, "vhost_scsi_controller_remove_target",
                            {"ctrlr": "s0", "scsi_target_num": 3}, ENODEV)
        self.assertRpcError(d, "vhost_scsi_controller_add_target",
                            {"ctrlr": "zz", "scsi_target_num": 0, "bdev_name": "M1"}, ENODEV)
        self.assertRpcError(d, "vhost_start_scsi_controller", {"ctrlr": "zz"}, ENODEV)
        # The bdev of target 0 is shared with another target (one logical unit, two paths).
        self.assertEqual(d.call("vhost_scsi_controller_add_target",
                                {"ctrlr": "s0", "scsi_target_num": 1, "bdev_name": "M0"}), 1)
        # Not a scsi controller.
        d.call("vhost_create_blk_controller", {"ctrlr": "b0", "dev_name": "M2"})
        self.assertRpcError(d, "vhost_scsi_controller_add_target",
                            {"ctrlr": "b0", "scsi_target_num": 0, "bdev_name": "M1"},
                            INVALID_PARAMS)
        self.stop_clean(d)

    def test_rpc_py_subcommands(self):
        d = self.daemon_with_bdevs()
        def rpc_py(*args):
            r = vtlib.run_rpc_py(d.sock, *args)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            return r.stdout

        rpc_py("vhost_create_scsi_controller", "s0", "--delay")
        self.assertFalse(os.path.exists(os.path.join(d.dir, "s0")))
        self.assertEqual(json.loads(rpc_py("vhost_scsi_controller_add_target", "s0", "-1",
                                           "M0")), 0)
        rpc_py("vhost_start_scsi_controller", "s0")
        self.assertTrue(vtlib.is_socket(os.path.join(d.dir, "s0")))
        rpc_py("vhost_scsi_controller_remove_target", "s0", "0")
        self.assertEqual(self.ctrlr(d, "s0")["backend_specific"]["scsi"], [])
        self.stop_clean(d)

    def test_save_config_round_trip(self):
        d = self.daemon_with_bdevs()
        d.call("vhost_create_scsi_controller", {"ctrlr": "s0"})
        d.call("vhost_scsi_controller_add_target",
               {"ctrlr": "s0", "scsi_target_num": 7, "bdev_name": "M1"})
        d.call("vhost_scsi_controller_add_target",
               {"ctrlr": "s0", "scsi_target_num": 2, "bdev_name": "M0"})
        d.call("vhost_create_scsi_controller", {"ctrlr": "s1", "delay": True})
        cfg = d.call("framework_get_config", {"name": "vhost_scsi"})
        methods = [(c["method"], c["params"].get("ctrlr"), c["params"].get("scsi_target_num"))
                   for c in cfg]
        self.assertEqual(methods, [
            ("vhost_create_scsi_controller", "s0", None),
            ("vhost_scsi_controller_add_target", "s0", 2),
            ("vhost_scsi_controller_add_target", "s0", 7),
            ("vhost_start_scsi_controller", "s0", None),
            ("vhost_create_scsi_controller", "s1", None),
        ])
        self.assertIs(cfg[0]["params"]["delay"], True)
        before = self.ctrlr(d, "s0")["backend_specific"]
        path = os.path.join(self.tmpdir(), "cfg.json")
        with open(path, "w") as f, d.client() as c:
            rpc.save_config(c, f)
        self.stop_clean(d)
        d2 = self.start_daemon(config=path)
        self.assertEqual(self.ctrlr(d2, "s0")["backend_specific"], before)
        self.assertTrue(vtlib.is_socket(os.path.join(d2.dir, "s0")))
        self.assertFalse(os.path.exists(os.path.join(d2.dir, "s1")))
        self.assertEqual(d2.call("framework_get_config", {"name": "vhost_scsi"}), cfg)
        self.stop_clean(d2)

    def tmpdir(self):
        import shutil
        import tempfile
        t = tempfile.mkdtemp(prefix="vt_scsi_rpc.")
        self.addCleanup(shutil.rmtree, t, True)
        return t
