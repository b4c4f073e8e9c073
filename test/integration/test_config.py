# SPDX-License-Identifier: BSD-3-Clause
"""Configuration persistence: save_config, restart with -c, load_config, and file bdevs that
keep their data across a restart (written and verified with test/tools/bdev_io)."""

import io
import json
import os
import shutil
import tempfile

import rpc
import vtlib
from vtlib import VtTestCase, run_rpc_py

SEED = 20240611
BLOCKS = 2048
BLOCK_SIZE = 512
FILE_SIZE = 4 * 1024 * 1024


def by_name(bdevs):
    return sorted(bdevs, key=lambda b: b["name"])


class ConfigTest(VtTestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vt-it-config-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def make_file(self, name, size=FILE_SIZE):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.truncate(size)
        return path

    def save(self, d, path):
        with open(path, "w") as f, d.client() as c:
            rpc.save_config(c, f)
        with open(path) as f:
            return json.load(f)

    def test_save_restart_and_load_give_the_same_bdevs(self):
        a = self.start_daemon()
        with a.client() as c:
            c.call("bdev_malloc_create", {"name": "Malloc0", "num_blocks": 4096,
                                          "block_size": 512})
            c.call("bdev_malloc_create", {"name": "Malloc1", "num_blocks": 256,
                                          "block_size": 4096, "optimal_io_boundary": 16,
                                          "uuid": "6f1b8f0e-1d2c-4e5f-8a9b-0c1d2e3f4a5b"})
            c.call("bdev_null_create", {"name": "Null0", "num_blocks": 1 << 20,
                                        "block_size": 4096})
            c.call("bdev_aio_create", {"filename": self.make_file("aio.img"), "name": "Aio0",
                                       "block_size": 512})
            c.call("bdev_aio_create", {"filename": self.make_file("aio_ro.img"),
                                       "name": "AioRo", "readonly": True})
            if vtlib.io_uring_available():
                c.call("bdev_uring_create", {"filename": self.make_file("uring.img"),
                                             "name": "Uring0", "block_size": 4096})
            before = by_name(c.call("bdev_get_bdevs"))
        saved = os.path.join(self.tmp, "saved.json")
        p = run_rpc_py(a.sock, "save_config", "-o", saved)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(saved) as f:
            first = json.load(f)
        self.assertIn("bdev", [s["subsystem"] for s in first["subsystems"]])
        self.stop_clean(a)

        # Restart from the file: the same bdevs, uuids included.
        b = self.start_daemon(config=saved)
        after = by_name(b.call("bdev_get_bdevs"))
        self.assertEqual(after, before)
        # Saving again gives the same configuration (stable round trip).
        self.assertEqual(self.save(b, os.path.join(self.tmp, "again.json")), first)
        self.stop_clean(b)

        # load_config into a fresh daemon.
        c3 = self.start_daemon()
        p = run_rpc_py(c3.sock, "load_config", "-j", saved)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(by_name(c3.call("bdev_get_bdevs")), before)
        self.stop_clean(c3)

    def test_load_config_from_module_function(self):
        cfg = {"subsystems": [
            {"subsystem": "bdev", "config": [
                {"method": "bdev_malloc_create",
                 "params": {"name": "F0", "num_blocks": 64, "block_size": 512}},
                {"method": "bdev_null_create",
                 "params": {"name": "F1", "num_blocks": 64, "block_size": 512}}]}]}
        d = self.start_daemon()
        with d.client() as c:
            rpc.load_config(c, io.StringIO(json.dumps(cfg)), out=io.StringIO())
            self.assertEqual([x["name"] for x in by_name(c.call("bdev_get_bdevs"))],
                             ["F0", "F1"])
        self.stop_clean(d)

    def _file_bdev_keeps_data(self, module):
        path = self.make_file("%s.img" % module)
        name = "%sKeep" % module.capitalize()
        d = self.start_daemon()
        self.assertEqual(d.call("bdev_%s_create" % module,
                                {"filename": path, "name": name, "block_size": BLOCK_SIZE}),
                         name)
        saved = os.path.join(self.tmp, "saved.json")
        self.save(d, saved)
        self.stop_clean(d)

        p = vtlib.run_tool("bdev_io", "-c", saved, "-b", name, "--write", SEED,
                           "--blocks", BLOCKS)
        self.assertEqual(p.returncode, 0, "bdev_io --write failed:\n%s%s" % (p.stdout, p.stderr))
        with open(path, "rb") as f:
            data = f.read(BLOCKS * BLOCK_SIZE)
        self.assertEqual(len(data), BLOCKS * BLOCK_SIZE)
        self.assertNotEqual(data.count(0), len(data), "the file is still all zeroes")

        d = self.start_daemon(config=saved)
        b = d.call("bdev_get_bdevs", {"name": name})[0]
        self.assertEqual((b["num_blocks"], b["block_size"]),
                         (FILE_SIZE // BLOCK_SIZE, BLOCK_SIZE))
        self.assertEqual(b["driver_specific"][module]["filename"], path)
        self.stop_clean(d)

        p = vtlib.run_tool("bdev_io", "-c", saved, "-b", name, "--verify", SEED,
                           "--blocks", BLOCKS)
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, 0, "bdev_io --verify failed:\n%s" % out)
        self.assertIn("verified", out.lower())
        # The check can fail: another seed does not match.
        p = vtlib.run_tool("bdev_io", "-c", saved, "-b", name, "--verify", SEED + 1,
                           "--blocks", BLOCKS)
        self.assertNotEqual(p.returncode, 0, "verify with a wrong seed passed:\n%s%s"
                            % (p.stdout, p.stderr))

    def test_aio_bdev_keeps_data_across_restart(self):
        self._file_bdev_keeps_data("aio")

    def test_uring_bdev_keeps_data_across_restart(self):
        self.assertTrue(vtlib.io_uring_available(), "io_uring is not available on this kernel: "
                        "this test of the io_uring engine cannot run here")
        self._file_bdev_keeps_data("uring")
