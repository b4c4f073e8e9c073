# SPDX-License-Identifier: BSD-3-Clause
"""bdev RPCs: create / list / delete for malloc, null, aio and uring; errors; iostat;
log and framework RPCs; the CLI and the daemon list the same methods."""

import os
import shutil
import tempfile
import threading
import time

import rpc
import vtlib
from vtlib import SharedDaemonTestCase

BDEV_FIELDS = ("name", "aliases", "product_name", "block_size", "num_blocks", "uuid", "claimed",
               "supported_io_types", "assigned_rate_limits", "driver_specific")
IO_TYPES = ("read", "write", "unmap", "flush", "reset", "write_zeroes", "compare",
            "compare_and_write")
RATE_LIMITS = ("rw_ios_per_sec", "rw_mbytes_per_sec", "r_mbytes_per_sec", "w_mbytes_per_sec")


def make_file(folder, name, size):
    path = os.path.join(folder, name)
    with open(path, "wb") as f:
        f.truncate(size)
    return path


class BdevTest(SharedDaemonTestCase):

    def setUp(self):
        self.c = self.d.client()
        self.addCleanup(self.c.close)
        self.tmp = tempfile.mkdtemp(prefix="vt-it-bdev-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def tearDown(self):
        super().tearDown()
        # Each test deletes what it created. Leftovers (after a failure) are removed so that
        # the next tests start clean, and reported.
        left = vtlib.delete_all_bdevs(self.d)
        self.assertEqual(left, [], "bdevs left behind by the test")

    def get(self, name):
        res = self.c.call("bdev_get_bdevs", {"name": name})
        self.assertIsInstance(res, list)
        self.assertEqual(len(res), 1, res)
        return res[0]

    def check_fields(self, b, name, product, block_size, num_blocks):
        for f in BDEV_FIELDS:
            self.assertIn(f, b, "bdev_get_bdevs entry lacks %r" % f)
        self.assertEqual(b["name"], name)
        self.assertEqual(b["product_name"], product)
        self.assertEqual(b["block_size"], block_size)
        self.assertEqual(b["num_blocks"], num_blocks)
        self.assertIsInstance(b["aliases"], list)
        self.assertRegex(b["uuid"], vtlib.UUID_RE)
        self.assertIs(b["claimed"], False)
        types = b["supported_io_types"]
        self.assertIsInstance(types, dict)
        for t in IO_TYPES:
            self.assertIn(t, types, "supported_io_types lacks %r" % t)
            self.assertIsInstance(types[t], bool)
        self.assertIs(types["read"], True)
        self.assertIs(types["write"], True)
        limits = b["assigned_rate_limits"]
        for k in RATE_LIMITS:
            self.assertIn(k, limits)
            self.assertEqual(limits[k], 0, "no QoS was set: %s" % k)
        self.assertIsInstance(b["driver_specific"], dict)

    def check_deleted(self, delete_method, name):
        self.assertIs(self.c.call(delete_method, {"name": name}), True)
        self.assertRpcError(self.c, "bdev_get_bdevs", {"name": name}, -19, name)
        self.assertNotIn(name, [b["name"] for b in self.c.call("bdev_get_bdevs")])

    # ---- malloc ------------------------------------------------------------------------------

    def test_malloc_create_list_delete(self):
        res = self.c.call("bdev_malloc_create",
                          {"name": "Malloc0", "num_blocks": 16384, "block_size": 512})
        self.assertEqual(res, "Malloc0")
        b = self.get("Malloc0")
        self.check_fields(b, "Malloc0", "Malloc disk", 512, 16384)
        for t in ("unmap", "flush", "reset", "write_zeroes"):
            self.assertIs(b["supported_io_types"][t], True, t)
        listed = self.c.call("bdev_get_bdevs")
        self.assertEqual([x["name"] for x in listed], ["Malloc0"])
        self.assertEqual(listed[0], b)
        self.check_deleted("bdev_malloc_delete", "Malloc0")

    def test_malloc_given_uuid_and_generated_name(self):
        uuid = "3b5e6a44-52c1-4a8e-9b1e-0c6f2d7a9e10"
        name = self.c.call("bdev_malloc_create",
                           {"num_blocks": 1024, "block_size": 4096, "uuid": uuid})
        self.assertIsInstance(name, str)
        self.assertTrue(name)
        b = self.get(name)
        self.assertEqual(b["uuid"], uuid)
        # Lookup by the uuid works too (SPDK treats it as an alias).
        self.assertEqual(self.c.call("bdev_get_bdevs", {"name": uuid})[0]["name"], name)
        second = self.c.call("bdev_malloc_create", {"num_blocks": 1024, "block_size": 512})
        self.assertNotEqual(second, name)
        self.assertNotEqual(self.get(second)["uuid"], uuid)
        self.check_deleted("bdev_malloc_delete", name)
        self.check_deleted("bdev_malloc_delete", second)

    def test_malloc_rejects_bad_block_size_and_zero_blocks(self):
        # SPDK answers -EINVAL; a -32602 naming the parameter is as good.
        self.assertRpcError(self.c, "bdev_malloc_create",
                            {"name": "Bad", "num_blocks": 16, "block_size": 300}, (-22, -32602),
                            "block_size")
        self.assertRpcError(self.c, "bdev_malloc_create",
                            {"name": "Bad", "num_blocks": 0, "block_size": 512}, (-22, -32602),
                            "num_blocks")
        self.assertRpcError(self.c, "bdev_malloc_create",
                            {"name": "Bad", "num_blocks": 16, "block_size": 512,
                             "uuid": "not-a-uuid"}, -32602, "uuid")

    def test_duplicate_name_is_17(self):
        self.c.call("bdev_malloc_create", {"name": "Dup", "num_blocks": 64, "block_size": 512})
        self.assertRpcError(self.c, "bdev_malloc_create",
                            {"name": "Dup", "num_blocks": 64, "block_size": 512}, -17, "Dup")
        # Names are shared between modules.
        self.assertRpcError(self.c, "bdev_null_create",
                            {"name": "Dup", "num_blocks": 64, "block_size": 512}, -17, "Dup")
        self.check_deleted("bdev_malloc_delete", "Dup")

    def test_unknown_bdev_is_19_and_named(self):
        for method in ("bdev_malloc_delete", "bdev_null_delete", "bdev_aio_delete",
                       "bdev_uring_delete", "bdev_aio_rescan", "bdev_uring_rescan"):
            with self.subTest(method=method):
                self.assertRpcError(self.c, method, {"name": "Nope0"}, -19, "Nope0")
        self.assertRpcError(self.c, "bdev_get_bdevs", {"name": "Nope1"}, -19, "Nope1")
        self.assertRpcError(self.c, "bdev_get_iostat", {"name": "Nope2"}, -19, "Nope2")
        self.assertRpcError(self.c, "bdev_null_resize", {"name": "Nope3", "new_size": 8},
                            -19, "Nope3")

    def test_delete_through_the_wrong_module_is_refused(self):
        self.c.call("bdev_null_create", {"name": "NullOnly", "num_blocks": 64, "block_size": 512})
        self.assertRpcError(self.c, "bdev_malloc_delete", {"name": "NullOnly"}, -19, "NullOnly")
        self.assertEqual(self.get("NullOnly")["product_name"], "Null disk")
        self.check_deleted("bdev_null_delete", "NullOnly")

    def test_missing_and_mistyped_parameters_are_named(self):
        self.assertRpcError(self.c, "bdev_malloc_create",
                            {"name": "Mx", "num_blocks": 64}, -32602, "block_size")
        self.assertRpcError(self.c, "bdev_malloc_create",
                            {"name": "M", "num_blocks": "64", "block_size": 512}, -32602,
                            "num_blocks")
        self.assertRpcError(self.c, "bdev_null_create",
                            {"num_blocks": 64, "block_size": 512}, -32602, "name")
        self.assertRpcError(self.c, "bdev_aio_create", {"name": "A"}, -32602, "filename")
        self.assertRpcError(self.c, "bdev_malloc_delete", {"name": 5}, -32602, "name")
        self.assertRpcError(self.c, "bdev_malloc_delete", None, -32602, "name")
        self.assertRpcError(self.c, "bdev_malloc_create",
                            {"name": "M", "num_blocks": 64, "block_size": 512, "frob": 1},
                            -32602, "frob")

    # ---- null --------------------------------------------------------------------------------

    def test_null_create_resize_delete(self):
        self.assertEqual(self.c.call("bdev_null_create",
                                     {"name": "Null0", "num_blocks": 8192, "block_size": 4096}),
                         "Null0")
        self.check_fields(self.get("Null0"), "Null0", "Null disk", 4096, 8192)
        # new_size is in MiB: 64 MiB of 4 KiB blocks.
        self.assertIs(self.c.call("bdev_null_resize", {"name": "Null0", "new_size": 64}), True)
        self.assertEqual(self.get("Null0")["num_blocks"], 64 * 1024 * 1024 // 4096)
        self.check_deleted("bdev_null_delete", "Null0")

    def test_null_read_zeroes_off_through_rpc_py_is_kept_in_the_config(self):
        """read_zeroes (vtarget's own parameter): rpc.py --no-read-zeroes sends false, the
        config dump keeps it, and a default bdev's dump has no such member (SPDK's form)."""
        r = vtlib.run_rpc_py(self.d.sock, "bdev_null_create", "--no-read-zeroes", "NullNz", 1,
                             512)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.c.call("bdev_null_create", {"name": "NullZ", "num_blocks": 64, "block_size": 512})
        self.assertRpcError(self.c, "bdev_null_create",
                            {"name": "NullBad", "num_blocks": 64, "block_size": 512,
                             "read_zeroes": "no"}, -32602, "read_zeroes")
        cfg = {e["params"]["name"]: e["params"]
               for e in self.c.call("framework_get_config", {"name": "bdev"})
               if e["method"] == "bdev_null_create"}
        self.assertIs(cfg["NullNz"]["read_zeroes"], False)
        self.assertEqual(cfg["NullNz"]["num_blocks"], 2048)
        self.assertNotIn("read_zeroes", cfg["NullZ"])
        self.check_deleted("bdev_null_delete", "NullNz")
        self.check_deleted("bdev_null_delete", "NullZ")

    # ---- aio and uring -----------------------------------------------------------------------

    def _file_bdev(self, module, product):
        path = make_file(self.tmp, "disk.img", 4 * 1024 * 1024)
        name = "%s0" % module.capitalize()
        res = self.c.call("bdev_%s_create" % module,
                          {"filename": path, "name": name, "block_size": 512})
        self.assertEqual(res, name)
        b = self.get(name)
        self.check_fields(b, name, product, 512, 8192)
        ds = b["driver_specific"]
        self.assertIn(module, ds, "driver_specific lacks %r: %s" % (module, ds))
        self.assertEqual(ds[module]["filename"], path)
        # The file grows; rescan picks the new size up.
        with open(path, "r+b") as f:
            f.truncate(8 * 1024 * 1024)
        self.assertIs(self.c.call("bdev_%s_rescan" % module, {"name": name}), True)
        self.assertEqual(self.get(name)["num_blocks"], 16384)
        # A second bdev with the same name is refused, the first one stays.
        self.assertRpcError(self.c, "bdev_%s_create" % module,
                            {"filename": path, "name": name}, -17, name)
        self.check_deleted("bdev_%s_delete" % module, name)
        # Without block_size the file's logical block size is used (512 or 4096 on files).
        res = self.c.call("bdev_%s_create" % module, {"filename": path, "name": name})
        self.assertIn(self.get(name)["block_size"], (512, 4096))
        self.check_deleted("bdev_%s_delete" % module, name)
        # A missing file is an error that names the file.
        absent = os.path.join(self.tmp, "absent.img")
        with self.assertRaises(rpc.JSONRPCException) as cm:
            self.c.call("bdev_%s_create" % module, {"filename": absent, "name": name})
        self.assertIn(absent, cm.exception.error["message"])
        self.assertRpcError(self.c, "bdev_get_bdevs", {"name": name}, -19, name)

    def test_aio_create_list_rescan_delete(self):
        self._file_bdev("aio", "AIO disk")

    def test_uring_create_list_rescan_delete(self):
        self.assertTrue(vtlib.io_uring_available(), "io_uring is not available on this kernel: "
                        "this test of the io_uring engine cannot run here")
        self._file_bdev("uring", "URING bdev")

    def test_aio_readonly(self):
        path = make_file(self.tmp, "ro.img", 1024 * 1024)
        self.c.call("bdev_aio_create", {"filename": path, "name": "Ro", "block_size": 512,
                                        "readonly": True})
        ds = self.get("Ro")["driver_specific"]["aio"]
        self.assertIs(ds.get("readonly"), True, ds)
        self.check_deleted("bdev_aio_delete", "Ro")

    def test_file_bdev_rejects_block_size_not_multiple_of_file(self):
        path = make_file(self.tmp, "odd.img", 1024 * 1024)
        self.assertRpcError(self.c, "bdev_aio_create",
                            {"filename": path, "name": "Odd", "block_size": 1000}, (-22, -32602),
                            "block_size")

    # ---- get_bdevs timeout, iostat -----------------------------------------------------------

    def test_get_bdevs_waits_for_a_bdev_to_appear(self):
        answer = {}

        def waiter():
            try:
                with self.d.client() as c:
                    answer["res"] = c.call("bdev_get_bdevs",
                                           {"name": "Later", "timeout": int(5000 * vtlib.SLOW)})
            except rpc.JSONRPCException as ex:
                answer["err"] = ex

        t = threading.Thread(target=waiter)
        t.start()
        time.sleep(0.3)
        self.c.call("bdev_malloc_create", {"name": "Later", "num_blocks": 64, "block_size": 512})
        t.join(10 * vtlib.SLOW)
        self.assertFalse(t.is_alive(), "bdev_get_bdevs with timeout never answered")
        self.assertNotIn("err", answer, answer.get("err") and answer["err"].message)
        self.assertEqual(answer["res"][0]["name"], "Later")
        self.check_deleted("bdev_malloc_delete", "Later")

    def test_get_bdevs_timeout_expires(self):
        t0 = time.monotonic()
        self.assertRpcError(self.c, "bdev_get_bdevs", {"name": "Never", "timeout": 200},
                            -19, "Never")
        self.assertGreaterEqual(time.monotonic() - t0, 0.19)

    def test_iostat_shape(self):
        self.c.call("bdev_malloc_create", {"name": "S0", "num_blocks": 64, "block_size": 512})
        self.c.call("bdev_null_create", {"name": "S1", "num_blocks": 64, "block_size": 512})
        stat = self.c.call("bdev_get_iostat")
        self.assertIsInstance(stat["tick_rate"], int)
        self.assertIsInstance(stat["ticks"], int)
        self.assertEqual(sorted(b["name"] for b in stat["bdevs"]), ["S0", "S1"])
        one = self.c.call("bdev_get_iostat", {"name": "S1"})
        self.assertEqual([b["name"] for b in one["bdevs"]], ["S1"])
        entry = one["bdevs"][0]
        for k in ("bytes_read", "num_read_ops", "bytes_written", "num_write_ops",
                  "bytes_unmapped", "num_unmap_ops", "read_latency_ticks",
                  "write_latency_ticks", "unmap_latency_ticks"):
            self.assertEqual(entry[k], 0, k)
        self.check_deleted("bdev_malloc_delete", "S0")
        self.check_deleted("bdev_null_delete", "S1")

    def test_wait_for_examine(self):
        self.assertIs(self.c.call("bdev_wait_for_examine"), True)

    # ---- framework -----------------------------------------------------------------------

    def test_framework_get_subsystems_shape(self):
        subs = self.c.call("framework_get_subsystems")
        self.assertIsInstance(subs, list)
        names = [s["subsystem"] for s in subs]
        self.assertIn("bdev", names)
        for s in subs:
            self.assertIsInstance(s["depends_on"], list)
            for dep in s["depends_on"]:
                # Dependencies come first (initialization order).
                self.assertLess(names.index(dep), names.index(s["subsystem"]))

    def test_framework_get_config_bdev(self):
        self.c.call("bdev_malloc_create", {"name": "C0", "num_blocks": 128, "block_size": 512,
                                           "optimal_io_boundary": 8})
        cfg = self.c.call("framework_get_config", {"name": "bdev"})
        self.assertIsInstance(cfg, list)
        for e in cfg:
            self.assertIsInstance(e["method"], str)
            self.assertIsInstance(e.get("params", {}), dict)
        creates = [e for e in cfg if e["method"] == "bdev_malloc_create"]
        self.assertEqual(len(creates), 1, cfg)
        p = creates[0]["params"]
        self.assertEqual(p["name"], "C0")
        self.assertEqual(p["num_blocks"], 128)
        self.assertEqual(p["block_size"], 512)
        self.assertEqual(p["uuid"], self.get("C0")["uuid"])
        self.assertEqual(p.get("optimal_io_boundary"), 8)
        self.assertRpcError(self.c, "framework_get_config", {"name": "nosuchsub"}, -32602,
                            "nosuchsub")
        self.check_deleted("bdev_malloc_delete", "C0")

    def test_rpc_get_methods_has_every_cli_command(self):
        methods = self.c.call("rpc_get_methods")
        self.assertIsInstance(methods, list)
        missing = sorted(set(rpc.rpc_methods()) - set(methods))
        self.assertEqual(missing, [], "rpc.py has subcommands the daemon does not serve")
        current = self.c.call("rpc_get_methods", {"current": True})
        self.assertTrue(set(current) <= set(methods))
        self.assertIn("bdev_malloc_create", current)

    def test_cli_has_a_command_for_every_method(self):
        methods = self.c.call("rpc_get_methods")
        missing = sorted(set(methods) - set(rpc.rpc_methods()))
        self.assertEqual(missing, [], "daemon methods without an rpc.py subcommand")

    # ---- log -----------------------------------------------------------------------------

    def test_log_flags_round_trip(self):
        flags = self.c.call("log_get_flags")
        self.assertIsInstance(flags, dict)
        self.assertTrue(flags, "no log flags registered")
        for v in flags.values():
            self.assertIsInstance(v, bool)
        flag = "bdev" if "bdev" in flags else sorted(flags)[0]
        was = flags[flag]
        self.assertIs(self.c.call("log_set_flag", {"flag": flag}), True)
        self.assertIs(self.c.call("log_get_flags")[flag], True)
        self.assertIs(self.c.call("log_clear_flag", {"flag": flag}), True)
        self.assertIs(self.c.call("log_get_flags")[flag], False)
        if was:
            self.c.call("log_set_flag", {"flag": flag})

    def test_log_unknown_flag(self):
        self.assertRpcError(self.c, "log_set_flag", {"flag": "nosuchflag"}, -32602,
                            "nosuchflag")
        self.assertRpcError(self.c, "log_clear_flag", {"flag": "nosuchflag"}, -32602,
                            "nosuchflag")

    def test_log_levels_round_trip(self):
        for setter, getter in (("log_set_level", "log_get_level"),
                               ("log_set_print_level", "log_get_print_level")):
            with self.subTest(method=setter):
                old = self.c.call(getter)
                self.assertIsInstance(old, str)
                self.assertIs(self.c.call(setter, {"level": "DEBUG"}), True)
                self.assertEqual(self.c.call(getter), "DEBUG")
                self.assertIs(self.c.call(setter, {"level": "error"}), True)
                self.assertEqual(self.c.call(getter), "ERROR")
                self.assertRpcError(self.c, setter, {"level": "LOUD"}, -32602, "LOUD")
                self.assertEqual(self.c.call(getter), "ERROR")
                self.c.call(setter, {"level": old})
                self.assertEqual(self.c.call(getter), old)
