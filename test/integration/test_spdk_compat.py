# SPDX-License-Identifier: BSD-3-Clause
"""SPDK's RPC surface: every parameter SPDK's schema defines for a method vtarget registers is
known (data/spdk_params.json, written by scripts/gen_spdk_params.py from SPDK's
schema/schema.yaml), features vtarget lacks are accepted at their default only, and SPDK's
pre-19.10 method names work as deprecated aliases."""

import json
import os
import shutil
import tempfile

import vtlib
from vtlib import SharedDaemonTestCase, VtTestCase, run_rpc_py

DATA = os.path.join(os.path.dirname(__file__), "data", "spdk_params.json")

# Values that must not take effect: the sample of sig_name would stop the daemon.
OVERRIDES = {("spdk_kill_instance", "sig_name"): "SIGNONE"}

# Every deprecated alias and the method it stands for (SPDK's names before 19.10).
ALIASES = {
    "construct_malloc_bdev": "bdev_malloc_create", "delete_malloc_bdev": "bdev_malloc_delete",
    "construct_null_bdev": "bdev_null_create", "delete_null_bdev": "bdev_null_delete",
    "construct_aio_bdev": "bdev_aio_create", "delete_aio_bdev": "bdev_aio_delete",
    "construct_error_bdev": "bdev_error_create", "delete_error_bdev": "bdev_error_delete",
    "bdev_inject_error": "bdev_error_inject_error",
    "construct_split_vbdev": "bdev_split_create", "destruct_split_vbdev": "bdev_split_delete",
    "get_bdevs": "bdev_get_bdevs", "get_bdevs_iostat": "bdev_get_iostat",
    "set_bdev_options": "bdev_set_options",
    "wait_subsystem_init": "framework_wait_init", "get_subsystems": "framework_get_subsystems",
    "get_subsystem_config": "framework_get_config", "kill_instance": "spdk_kill_instance",
    "get_rpc_methods": "rpc_get_methods", "get_spdk_version": "spdk_get_version",
    "set_log_flag": "log_set_flag", "clear_log_flag": "log_clear_flag",
    "get_log_flags": "log_get_flags", "set_trace_flag": "log_set_flag",
    "clear_trace_flag": "log_clear_flag", "get_trace_flags": "log_get_flags",
    "set_log_level": "log_set_level", "get_log_level": "log_get_level",
    "set_log_print_level": "log_set_print_level", "get_log_print_level": "log_get_print_level",
    "construct_vhost_scsi_controller": "vhost_create_scsi_controller",
    "add_vhost_scsi_lun": "vhost_scsi_controller_add_target",
    "remove_vhost_scsi_target": "vhost_scsi_controller_remove_target",
    "remove_vhost_scsi_dev": "vhost_scsi_controller_remove_target",
    "construct_vhost_blk_controller": "vhost_create_blk_controller",
    "get_vhost_controllers": "vhost_get_controllers",
    "remove_vhost_controller": "vhost_delete_controller",
    "remove_vhost_scsi_controller": "vhost_delete_controller",
    "remove_vhost_blk_controller": "vhost_delete_controller",
}


def load_data():
    with open(DATA) as f:
        return json.load(f)


def call_params(method, spec, tested):
    """The tested parameter first (the decoder reports the first bad member), then the
    required ones, each with its sample."""
    params = {tested["name"]: OVERRIDES.get((method, tested["name"]), tested["sample"])}
    for p in spec["params"]:
        if p["required"] and p["name"] not in params:
            params[p["name"]] = OVERRIDES.get((method, p["name"]), p["sample"])
    return params


def error_of(client, method, params):
    """The error object of the call, or None when it succeeded."""
    try:
        client.call(method, params)
    except vtlib.rpc.JSONRPCException as ex:
        if ex.error is None:
            raise
        return ex.error
    return None


class SchemaParamsTest(VtTestCase):

    def test_every_schema_parameter_of_every_registered_method_is_known(self):
        data = load_data()
        d = self.start_daemon()
        c = d.client()
        self.addCleanup(c.close)
        methods = c.call("rpc_get_methods")
        current = set(c.call("rpc_get_methods", {"current": True}))
        unlisted = sorted(set(methods) - set(data["methods"]) - set(data["not_in_schema"]))
        self.assertEqual(unlisted, [], "methods missing from %s: rerun "
                         "scripts/gen_spdk_params.py" % DATA)
        # What the samples name exists where that is cheap, so more calls get past lookups.
        c.call("bdev_malloc_create", {"name": "spdk-compat", "num_blocks": 256,
                                      "block_size": 512})
        tried, startup_only = 0, []
        for method in sorted(set(methods) & set(data["methods"])):
            spec = data["methods"][method]
            if method not in current:
                startup_only.append(method)
                continue
            for p in spec["params"]:
                err = error_of(c, method, call_params(method, spec, p))
                tried += 1
                if err is not None:
                    self.assertNotIn("unknown parameter", err.get("message", ""),
                                     "%s refuses SPDK's parameter %r" % (method, p["name"]))
        self.assertGreater(tried, 60)
        self.assertEqual(startup_only, ["bdev_set_options", "framework_start_init"])
        self.check_startup_only(d, c, data, startup_only)
        self.stop_clean(d)

    def check_startup_only(self, d, c, data, methods):
        """Start-up methods go through a config file, one entry per parameter, with the live
        values where the saved config has them."""
        saved = {}
        for sub in c.call("framework_get_subsystems"):
            for e in c.call("framework_get_config", {"name": sub["subsystem"]}):
                saved[e["method"]] = e.get("params", {})
        entries = []
        for method in methods:
            for p in data["methods"][method]["params"]:
                val = saved.get(method, {}).get(p["name"], p["sample"])
                entries.append({"method": method, "params": {p["name"]: val}})
        tmp = tempfile.mkdtemp(prefix="vt-it-compat-")
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "startup.json")
        with open(path, "w") as f:
            json.dump({"subsystems": [{"subsystem": "bdev", "config": entries}]}, f)
        d2 = self.start_daemon(config=path)
        self.assertNotIn("unknown parameter", d2.output())
        self.stop_clean(d2)


class CompatTest(SharedDaemonTestCase):

    def setUp(self):
        self.c = self.d.client()
        self.addCleanup(self.c.close)

    def tearDown(self):
        super().tearDown()
        vtlib.delete_all_bdevs(self.d)

    # ---- features vtarget lacks: accepted at their default only -------------------------

    def test_malloc_metadata_and_dif_accepted_at_default(self):
        self.c.call("bdev_malloc_create", {
            "name": "Md0", "num_blocks": 64, "block_size": 512, "md_size": 0,
            "md_interleave": False, "dif_type": 0, "dif_is_head_of_md": False,
            "dif_pi_format": 0, "numa_id": -1})
        self.assertEqual(self.c.call("bdev_get_bdevs", {"name": "Md0"})[0]["md_size"], 0)

    def test_malloc_metadata_and_dif_refused_otherwise(self):
        for name, val in (("md_size", 8), ("md_interleave", True), ("dif_type", 1),
                          ("dif_is_head_of_md", True), ("dif_pi_format", 2), ("numa_id", 0)):
            self.assertRpcError(self.c, "bdev_malloc_create",
                                {"name": "Md1", "num_blocks": 64, "block_size": 512, name: val},
                                -32602, "'%s'" % name, "not supported")
        self.assertRpcError(self.c, "bdev_malloc_create",
                            {"num_blocks": 64, "block_size": 512, "md_size": "8"},
                            -32602, "'md_size'", "expected integer")
        self.assertEqual(self.c.call("bdev_get_bdevs"), [])

    def test_null_hints_and_dif_refused_unless_default(self):
        base = {"name": "N1", "num_blocks": 64, "block_size": 512}
        for name in ("md_size", "dif_type", "dif_pi_format", "preferred_write_granularity",
                     "preferred_write_alignment", "optimal_write_size",
                     "preferred_unmap_granularity", "preferred_unmap_alignment"):
            self.assertRpcError(self.c, "bdev_null_create", dict(base, **{name: 4}), -32602,
                                "'%s'" % name, "not supported", "only 0")
        self.assertRpcError(self.c, "bdev_null_create", dict(base, dif_is_head_of_md=True),
                            -32602, "'dif_is_head_of_md'", "only false")
        self.c.call("bdev_null_create", dict(base, md_size=0, dif_type=0, dif_pi_format=0,
                                             dif_is_head_of_md=False,
                                             preferred_unmap_granularity=0))

    def test_null_physical_block_size(self):
        self.c.call("bdev_null_create", {"name": "P0", "num_blocks": 64, "block_size": 512,
                                         "physical_block_size": 4096})
        cfg = self.c.call("framework_get_config", {"name": "bdev"})
        entry = [e for e in cfg if e["method"] == "bdev_null_create"][0]
        self.assertEqual(entry["params"]["physical_block_size"], 4096)
        self.assertRpcError(self.c, "bdev_null_create",
                            {"name": "P1", "num_blocks": 64, "block_size": 4096,
                             "physical_block_size": 512}, -32602, "'physical_block_size'")

    # ---- implemented parameters -------------------------------------------------------------

    def test_aio_nowait_needs_a_block_device(self):
        tmp = tempfile.mkdtemp(prefix="vt-it-compat-")
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "f.img")
        with open(path, "wb") as f:
            f.truncate(1 << 20)
        self.assertRpcError(self.c, "bdev_aio_create",
                            {"name": "A0", "filename": path, "nowait": True}, -95,
                            "block devices only")
        self.c.call("bdev_aio_create", {"name": "A1", "filename": path, "nowait": False})
        b = self.c.call("bdev_get_bdevs", {"name": "A1"})[0]
        self.assertIs(b["driver_specific"]["aio"]["nowait"], False)

    def test_iostat_names_name_per_channel_reset_mode(self):
        for n in ("S0", "S1", "S2"):
            self.c.call("bdev_null_create", {"name": n, "num_blocks": 64, "block_size": 512})
        res = self.c.call("bdev_get_iostat", {"names": ["S2", "S0"]})
        self.assertEqual([b["name"] for b in res["bdevs"]], ["S2", "S0"])
        self.assertIn("tick_rate", res)
        res = self.c.call("bdev_get_iostat", {"name": "S1"})
        self.assertEqual([b["name"] for b in res["bdevs"]], ["S1"])
        res = self.c.call("bdev_get_iostat", {"names": ["S1"], "per_channel": True,
                                              "reset_mode": "all"})
        self.assertEqual(res["name"], "S1")
        self.assertIsInstance(res["channels"], list)
        for mode in ("none", "error", "maxmin", "all"):
            self.c.call("bdev_get_iostat", {"reset_mode": mode})
        self.assertRpcError(self.c, "bdev_get_iostat", {"reset_mode": "some"}, -32602,
                            "'reset_mode'")
        self.assertRpcError(self.c, "bdev_get_iostat", {"per_channel": True}, -32602,
                            "'per_channel'")
        self.assertRpcError(self.c, "bdev_get_iostat",
                            {"names": ["S0", "S1"], "per_channel": True}, -32602,
                            "'per_channel'")
        self.assertRpcError(self.c, "bdev_get_iostat", {"names": ["S0", "Nope"]}, -19, "Nope")
        self.assertRpcError(self.c, "bdev_get_iostat", {"names": "S0"}, -32602, "'names'")

    def test_get_config_with_batches(self):
        self.c.call("bdev_malloc_create", {"name": "B0", "num_blocks": 64, "block_size": 512})
        self.c.call("bdev_malloc_create", {"name": "B1", "num_blocks": 64, "block_size": 512})
        self.c.call("bdev_null_create", {"name": "B2", "num_blocks": 64, "block_size": 512})
        flat = self.c.call("framework_get_config", {"name": "bdev", "with_batches": False})
        self.assertTrue(all(isinstance(e, dict) for e in flat))
        batched = self.c.call("framework_get_config", {"name": "bdev", "with_batches": True})
        batches = [e for e in batched if isinstance(e, list)]
        names = [[x["params"]["name"] for x in b] for b in batches]
        self.assertIn(["B0", "B1"], names)
        self.assertIn(["B2"], names)
        # A daemon replays a batched configuration.
        tmp = tempfile.mkdtemp(prefix="vt-it-compat-")
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "batched.json")
        with open(path, "w") as f:
            json.dump({"subsystems": [{"subsystem": "bdev", "config": batched}]}, f)
        d2 = vtlib.Daemon(config=path)
        self.addCleanup(d2.cleanup)
        d2.start()
        got = sorted(b["name"] for b in d2.call("bdev_get_bdevs"))
        self.assertEqual(got, ["B0", "B1", "B2"])
        rc = d2.stop()
        self.assertEqual(rc, 0)

    # ---- deprecated aliases -----------------------------------------------------------------

    def test_every_alias_is_listed_with_include_aliases(self):
        plain = set(self.c.call("rpc_get_methods"))
        full = set(self.c.call("rpc_get_methods", {"include_aliases": True}))
        for alias, method in ALIASES.items():
            self.assertNotIn(alias, plain)
            self.assertIn(alias, full)
            self.assertIn(method, plain)

    def test_bdev_aliases_work_and_check_parameters(self):
        self.assertEqual(self.c.call("construct_malloc_bdev",
                                     {"name": "Al0", "num_blocks": 64, "block_size": 512}),
                         "Al0")
        self.assertEqual(self.c.call("construct_null_bdev",
                                     {"name": "Al1", "num_blocks": 64, "block_size": 512}),
                         "Al1")
        self.assertEqual([b["name"] for b in self.c.call("get_bdevs", {"name": "Al0"})],
                         ["Al0"])
        self.assertEqual(self.c.call("get_bdevs_iostat", {"name": "Al1"})["bdevs"][0]["name"],
                         "Al1")
        self.assertRpcError(self.c, "construct_malloc_bdev",
                            {"name": "Al2", "num_blocks": 64, "block_size": 512, "bogus": 1},
                            -32602, "unknown parameter 'bogus'")
        self.assertRpcError(self.c, "construct_null_bdev", {"name": "Al2"}, -32602,
                            "missing parameter")
        self.assertTrue(self.c.call("delete_malloc_bdev", {"name": "Al0"}))
        self.assertTrue(self.c.call("delete_null_bdev", {"name": "Al1"}))
        self.assertRpcError(self.c, "delete_malloc_bdev", {"name": "Al0"}, -19, "Al0")
        self.assertRpcError(self.c, "set_bdev_options", {"bdev_io_pool_size": 1}, -32601,
                            "not allowed")

    def test_delete_bdev_deletes_any_module(self):
        self.c.call("bdev_malloc_create", {"name": "D0", "num_blocks": 64, "block_size": 512})
        self.c.call("bdev_null_create", {"name": "D1", "num_blocks": 64, "block_size": 512})
        self.assertTrue(self.c.call("delete_bdev", {"name": "D0"}))
        self.assertTrue(self.c.call("delete_bdev", {"name": "D1"}))
        self.assertEqual(self.c.call("bdev_get_bdevs"), [])
        self.assertRpcError(self.c, "delete_bdev", {"name": "D0"}, -19, "D0")
        self.assertRpcError(self.c, "delete_bdev", {"bdev_name": "D0"}, -32602, "bdev_name")
        self.assertIn("'delete_bdev' is deprecated", self.d.output())

    def test_framework_and_log_aliases(self):
        self.assertTrue(self.c.call("wait_subsystem_init"))
        subs = [s["subsystem"] for s in self.c.call("get_subsystems")]
        self.assertIn("bdev", subs)
        self.assertIsInstance(self.c.call("get_subsystem_config", {"name": "bdev"}), list)
        self.assertIn("bdev_malloc_create", self.c.call("get_rpc_methods"))
        self.assertIn("version", self.c.call("get_spdk_version"))
        self.assertTrue(self.c.call("set_log_flag", {"flag": "rpc"}))
        self.assertTrue(self.c.call("get_log_flags")["rpc"])
        self.assertTrue(self.c.call("clear_trace_flag", {"flag": "rpc"}))
        self.assertFalse(self.c.call("get_trace_flags")["rpc"])
        self.assertTrue(self.c.call("set_trace_flag", {"flag": "rpc"}))
        self.assertTrue(self.c.call("clear_log_flag", {"flag": "rpc"}))
        level = self.c.call("get_log_level")
        self.assertTrue(self.c.call("set_log_level", {"level": level}))
        plevel = self.c.call("get_log_print_level")
        self.assertTrue(self.c.call("set_log_print_level", {"level": plevel}))
        self.assertRpcError(self.c, "set_log_flag", {"flag": "nosuchflag"}, -32602,
                            "nosuchflag")
        self.assertRpcError(self.c, "kill_instance", {"sig_name": "SIGNONE"}, -32602,
                            "SIGNONE")

    def test_vhost_aliases(self):
        self.c.call("bdev_malloc_create", {"name": "V0", "num_blocks": 256, "block_size": 512})
        self.c.call("bdev_malloc_create", {"name": "V1", "num_blocks": 256, "block_size": 512})
        self.c.call("bdev_malloc_create", {"name": "V2", "num_blocks": 256, "block_size": 512})
        self.assertTrue(self.c.call("construct_vhost_blk_controller",
                                    {"ctrlr": "al.blk", "dev_name": "V0"}))
        self.assertTrue(self.c.call("construct_vhost_scsi_controller", {"ctrlr": "al.scsi"}))
        self.assertEqual(self.c.call("add_vhost_scsi_lun", {"ctrlr": "al.scsi",
                                                            "scsi_target_num": 0,
                                                            "bdev_name": "V1"}), 0)
        self.assertEqual(self.c.call("add_vhost_scsi_lun", {"ctrlr": "al.scsi",
                                                            "scsi_target_num": 1,
                                                            "bdev_name": "V2"}), 1)
        names = sorted(x["ctrlr"] for x in self.c.call("get_vhost_controllers"))
        self.assertEqual(names, ["al.blk", "al.scsi"])
        self.assertTrue(self.c.call("remove_vhost_scsi_target",
                                    {"ctrlr": "al.scsi", "scsi_target_num": 0}))
        self.assertTrue(self.c.call("remove_vhost_scsi_dev",
                                    {"ctrlr": "al.scsi", "scsi_target_num": 1}))
        self.assertRpcError(self.c, "add_vhost_scsi_lun", {"ctrlr": "al.scsi", "lun": 0},
                            -32602, "unknown parameter 'lun'")
        self.assertRpcError(self.c, "construct_vhost_blk_controller",
                            {"ctrlr": "al.x", "dev_name": "NoBdev"}, (-19, -32602, -22),
                            "NoBdev")
        self.assertTrue(self.c.call("remove_vhost_controller", {"ctrlr": "al.scsi"}))
        self.assertTrue(self.c.call("remove_vhost_blk_controller", {"ctrlr": "al.blk"}))
        self.assertRpcError(self.c, "remove_vhost_scsi_controller", {"ctrlr": "al.blk"}, -19,
                            "al.blk")
        self.assertEqual(self.c.call("get_vhost_controllers"), [])

    def test_each_alias_logs_its_deprecation_once(self):
        for _ in range(3):
            self.c.call("get_spdk_version")
            self.c.call("get_bdevs")
        out = self.d.output()
        for alias in ("get_spdk_version", "get_bdevs"):
            line = "rpc method '%s' is deprecated, use '%s' instead" % (alias, ALIASES[alias])
            self.assertEqual(out.count(line), 1, out[-2000:])

    def test_rpc_py_accepts_the_old_names(self):
        p = run_rpc_py(self.d.sock, "construct_malloc_bdev", "1", "512", "-b", "Cli0")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "Cli0\n")
        self.assertIn("'construct_malloc_bdev' is deprecated, use 'bdev_malloc_create'",
                      p.stderr)
        p = run_rpc_py(self.d.sock, "get_bdevs", "-b", "Cli0")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)[0]["name"], "Cli0")
        p = run_rpc_py(self.d.sock, "delete_bdev", "Cli0")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.c.call("bdev_get_bdevs"), [])
        p = run_rpc_py(self.d.sock, "delete_malloc_bdev", "Cli0")
        self.assertEqual(p.returncode, 1)
        self.assertIn('"code": -19', p.stderr)
