# SPDX-License-Identifier: BSD-3-Clause
"""scripts/rpc.py run as a program: SPDK's syntax, output and exit codes."""

import json
import os
import shutil
import tempfile

import rpc
import vtlib
from vtlib import SharedDaemonTestCase, run_rpc_py


class CliTest(SharedDaemonTestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vt-it-cli-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def tearDown(self):
        super().tearDown()
        vtlib.delete_all_bdevs(self.d)

    def cli(self, *args, stdin=None):
        return run_rpc_py(self.d.sock, *args, stdin=stdin)

    def ok(self, *args, stdin=None):
        p = self.cli(*args, stdin=stdin)
        self.assertEqual(p.returncode, 0, "rpc.py %s failed:\n%s%s"
                         % (" ".join(map(str, args)), p.stdout, p.stderr))
        return p.stdout

    def test_malloc_create_prints_name_and_delete_prints_nothing(self):
        self.assertEqual(self.ok("bdev_malloc_create", "64", "512", "-b", "Malloc0"),
                         "Malloc0\n")
        bdevs = json.loads(self.ok("bdev_get_bdevs", "-b", "Malloc0"))
        self.assertEqual(bdevs[0]["num_blocks"], 64 * 1024 * 1024 // 512)
        self.assertEqual(bdevs[0]["block_size"], 512)
        self.assertEqual(self.ok("bdev_malloc_delete", "Malloc0"), "")

    def test_error_exits_1_and_prints_request_and_error(self):
        self.ok("bdev_malloc_create", "1", "512", "-b", "Twice")
        p = self.cli("bdev_malloc_create", "1", "512", "-b", "Twice")
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, "")
        self.assertIn("request:", p.stderr)
        self.assertIn('"method": "bdev_malloc_create"', p.stderr)
        self.assertIn("Got JSON-RPC error response", p.stderr)
        self.assertIn('"code": -17', p.stderr)
        p = self.cli("bdev_malloc_delete", "NoSuchBdev")
        self.assertEqual(p.returncode, 1)
        self.assertIn('"code": -19', p.stderr)
        self.assertIn("NoSuchBdev", p.stderr)
        self.ok("bdev_malloc_delete", "Twice")

    def test_fractional_malloc_size_and_uuid_and_boundary(self):
        uuid = "0d3c7a51-8f5e-4b2c-a1d9-5e6f7a8b9c0d"
        self.assertEqual(self.ok("bdev_malloc_create", "0.5", "4096", "-b", "Half", "-u", uuid,
                                 "-o", "16"), "Half\n")
        b = json.loads(self.ok("bdev_get_bdevs", "-b", "Half"))[0]
        self.assertEqual(b["num_blocks"], 128)
        self.assertEqual(b["uuid"], uuid)
        self.ok("bdev_malloc_delete", "Half")

    def test_null_create_resize_delete(self):
        self.assertEqual(self.ok("bdev_null_create", "Null0", "16", "4096"), "Null0\n")
        self.assertEqual(self.ok("bdev_null_resize", "Null0", "32"), "true\n")
        b = json.loads(self.ok("bdev_get_bdevs", "-b", "Null0"))[0]
        self.assertEqual(b["num_blocks"], 32 * 1024 * 1024 // 4096)
        self.assertEqual(self.ok("bdev_null_delete", "Null0"), "")

    def test_aio_and_uring_create_rescan_delete(self):
        modules = ["aio"] + (["uring"] if vtlib.io_uring_available() else [])
        for module in modules:
            with self.subTest(module=module):
                path = os.path.join(self.tmp, "%s.img" % module)
                with open(path, "wb") as f:
                    f.truncate(2 * 1024 * 1024)
                name = module.upper() + "0"
                self.assertEqual(self.ok("bdev_%s_create" % module, path, name, "512"),
                                 name + "\n")
                self.assertEqual(self.ok("bdev_%s_rescan" % module, name), "true\n")
                b = json.loads(self.ok("bdev_get_bdevs", "-b", name))[0]
                self.assertEqual(b["num_blocks"], 4096)
                self.assertEqual(self.ok("bdev_%s_delete" % module, name), "")
        path = os.path.join(self.tmp, "ro.img")
        with open(path, "wb") as f:
            f.truncate(1024 * 1024)
        self.assertEqual(self.ok("bdev_aio_create", "-r", path, "RO"), "RO\n")
        b = json.loads(self.ok("bdev_get_bdevs", "-b", "RO"))[0]
        self.assertIs(b["driver_specific"]["aio"]["readonly"], True)
        self.ok("bdev_aio_delete", "RO")

    def test_listing_commands_print_json(self):
        for args in (["rpc_get_methods"], ["rpc_get_methods", "--current"],
                     ["framework_get_subsystems"], ["framework_get_config", "bdev"],
                     ["bdev_get_bdevs"], ["bdev_get_iostat"], ["log_get_flags"],
                     ["spdk_get_version"]):
            with self.subTest(args=args):
                json.loads(self.ok(*args))
        self.assertIn(json.loads(self.ok("log_get_level")),
                      ("ERROR", "WARNING", "NOTICE", "INFO", "DEBUG", "DISABLED"))

    def test_log_commands(self):
        flags = json.loads(self.ok("log_get_flags"))
        flag = sorted(flags)[0]
        self.assertEqual(self.ok("log_set_flag", flag), "")
        self.assertIs(json.loads(self.ok("log_get_flags"))[flag], True)
        self.assertEqual(self.ok("log_clear_flag", flag), "")
        self.assertIs(json.loads(self.ok("log_get_flags"))[flag], False)
        old = json.loads(self.ok("log_get_print_level"))
        self.assertEqual(self.ok("log_set_print_level", "ERROR"), "")
        self.assertEqual(json.loads(self.ok("log_get_print_level")), "ERROR")
        self.ok("log_set_print_level", old)

    def test_generic_call(self):
        self.ok("bdev_malloc_create", "1", "512", "-b", "Gen0")
        out = self.ok("call", "bdev_get_bdevs", '{"name": "Gen0"}')
        self.assertEqual(json.loads(out)[0]["name"], "Gen0")
        self.assertIn("version", json.loads(self.ok("call", "spdk_get_version")))
        p = self.cli("call", "bdev_get_bdevs", "{not json")
        self.assertEqual(p.returncode, 1)
        p = self.cli("call", "no_such_method")
        self.assertEqual(p.returncode, 1)
        self.assertIn("-32601", p.stderr)
        self.ok("bdev_malloc_delete", "Gen0")

    def test_commands_from_stdin(self):
        script = ("# comment\n"
                  "bdev_malloc_create 1 512 -b Script0\n"
                  "\n"
                  "bdev_null_create Script1 1 512\n")
        out = self.ok(stdin=script)
        self.assertEqual(out, "Script0\nScript1\n")
        p = self.cli(stdin="bdev_malloc_delete Script0\nbdev_malloc_delete Script0\n"
                           "bdev_null_delete Script1\n")
        self.assertEqual(p.returncode, 1)
        # The failing line stopped the script: Script1 still exists.
        self.assertEqual(json.loads(self.ok("bdev_get_bdevs", "-b", "Script1"))[0]["name"],
                         "Script1")
        self.ok("bdev_null_delete", "Script1")

    def test_save_config_to_stdout_and_file(self):
        self.ok("bdev_malloc_create", "1", "512", "-b", "Save0")
        out = json.loads(self.ok("save_config"))
        subs = {s["subsystem"]: s["config"] for s in out["subsystems"]}
        self.assertIn("bdev", subs)
        self.assertIn("Save0", [e["params"].get("name") for e in subs["bdev"]
                                if e["method"] == "bdev_malloc_create"])
        path = os.path.join(self.tmp, "saved.json")
        self.assertEqual(self.ok("save_config", "-o", path, "-i", "-1"), "")
        with open(path) as f:
            text = f.read()
        self.assertEqual(json.loads(text), out)
        self.assertEqual(len(text.strip().splitlines()), 1, "indent -1 is compact")
        self.ok("bdev_malloc_delete", "Save0")

    def test_load_config_stops_at_first_failure(self):
        cfg = {"subsystems": [{"subsystem": "bdev", "config": [
            {"method": "bdev_malloc_create",
             "params": {"name": "L0", "num_blocks": 64, "block_size": 512}},
            {"method": "bdev_malloc_create",
             "params": {"name": "L0", "num_blocks": 64, "block_size": 512}},
            {"method": "bdev_malloc_create",
             "params": {"name": "L1", "num_blocks": 64, "block_size": 512}}]}]}
        path = os.path.join(self.tmp, "load.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        p = self.cli("load_config", "-j", path)
        self.assertEqual(p.returncode, 1)
        self.assertIn('"code": -17', p.stderr)
        names = [b["name"] for b in json.loads(self.ok("bdev_get_bdevs"))]
        self.assertEqual(names, ["L0"])
        self.ok("bdev_malloc_delete", "L0")
        # From stdin, an unknown method is refused before anything is called.
        cfg["subsystems"][0]["config"] = [
            {"method": "bdev_malloc_create",
             "params": {"name": "L2", "num_blocks": 64, "block_size": 512}},
            {"method": "bdev_frobnicate", "params": {}}]
        p = self.cli("load_config", stdin=json.dumps(cfg))
        self.assertEqual(p.returncode, 1)
        self.assertIn("bdev_frobnicate", p.stderr)
        self.assertEqual(json.loads(self.ok("bdev_get_bdevs")), [])

    def test_no_daemon_is_exit_1(self):
        p = run_rpc_py(os.path.join(self.tmp, "absent.sock"), "spdk_get_version")
        self.assertEqual(p.returncode, 1)
        self.assertIn("Error while connecting", p.stderr)

    def test_usage_errors_and_help(self):
        p = self.cli("bdev_malloc_create", "64")
        self.assertEqual(p.returncode, 2)
        self.assertIn("block_size", p.stderr)
        p = self.cli("-h")
        self.assertEqual(p.returncode, 0)
        for name in rpc.command_names():
            self.assertIn(name, p.stdout)

    def test_dry_run_sends_nothing(self):
        out = self.ok("--dry-run", "bdev_malloc_create", "64", "512", "-b", "Dry0")
        self.assertIn('"num_blocks": 131072', out)
        self.assertEqual(json.loads(self.ok("bdev_get_bdevs")), [])

    def test_verbose_logs_request_and_response(self):
        p = self.cli("-v", "spdk_get_version")
        self.assertEqual(p.returncode, 0)
        self.assertIn("spdk_get_version", p.stderr)
        self.assertIn("response", p.stderr)

    def test_kill_instance_is_last(self):
        # Runs on its own daemon so the shared one stays up.
        d = vtlib.Daemon()
        self.addCleanup(d.cleanup)
        d.start()
        p = run_rpc_py(d.sock, "spdk_kill_instance", "SIGTERM")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(d.wait_exit(vtlib.STOP_GRACE), 0, d.describe_logs(30))
