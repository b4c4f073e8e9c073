# SPDX-License-Identifier: BSD-3-Clause
"""Virtual bdevs stacked on another bdev (issue 14 item 3): the error-injection bdev
(bdev_error_*), the delay bdev (bdev_delay_*) and split bdevs (bdev_split_*), with SPDK's method
names and parameters. Every RPC with good and bad parameters, I/O through the virtual bdev from vtc over a vhost-blk
controller, claims of the base, hot-removal upward when the base goes, and save_config replayed
with -c."""

import json
import os
import subprocess
import time

import rpc
import vtlib
from vtlib import SharedDaemonTestCase, VtTestCase
from test_vhost_blk import BlkBase, vtc, vtc_bin, vtc_ok, wait_for

MIB = 1024 * 1024
EPERM, ENODEV, EEXIST = -1, -19, -17
INVALID_PARAMS = -32602


def bdev_names(d):
    return [b["name"] for b in d.call("bdev_get_bdevs")]


class VirtualBase(BlkBase):
    def tearDown(self):
        for c in self.d.call("vhost_get_controllers"):
            self.d.call("vhost_delete_controller", {"ctrlr": c["ctrlr"]})
        vtlib.delete_all_bdevs(self.d)
        # Deleting the bases hot-removes what stands on them.
        wait_for(lambda: bdev_names(self.d) == [], 10, "every bdev deleted")
        super().tearDown()

    def wait_gone(self, name):
        wait_for(lambda: name not in bdev_names(self.d), 10, "%s removed" % name)


class ErrorBdevTest(VirtualBase, SharedDaemonTestCase):
    def test_create_names_claims_and_reports(self):
        self.malloc("Malloc0", 8, 4096)
        self.assertEqual(self.d.call("bdev_error_create", {"base_name": "Malloc0"}), "EE_Malloc0")
        base = self.d.call("bdev_get_bdevs", {"name": "Malloc0"})[0]
        ee = self.d.call("bdev_get_bdevs", {"name": "EE_Malloc0"})[0]
        self.assertIs(base["claimed"], True)
        self.assertEqual(ee["product_name"], "Error Injection Disk")
        self.assertEqual((ee["block_size"], ee["num_blocks"]),
                         (base["block_size"], base["num_blocks"]))
        self.assertEqual(ee["driver_specific"]["error_disk"]["base_bdev"], "Malloc0")
        # A second claim of the base is refused, naming the parameter and the owner.
        self.assertRpcError(self.d, "bdev_error_create", {"base_name": "Malloc0"}, EPERM,
                            "base_name", "Malloc0", "claimed")
        with self.assertRaises(rpc.JSONRPCException):
            self.d.call("vhost_create_blk_controller", {"ctrlr": "blk.c", "dev_name": "Malloc0"})

    def test_create_bad_parameters(self):
        self.assertRpcError(self.d, "bdev_error_create", {"base_name": "Nope"}, ENODEV,
                            "base_name", "Nope")
        self.assertRpcError(self.d, "bdev_error_create", {}, INVALID_PARAMS, "base_name")
        self.assertRpcError(self.d, "bdev_error_create", {"base_name": 3}, INVALID_PARAMS,
                            "base_name")
        self.malloc("Malloc0", 8, 512)
        self.assertRpcError(self.d, "bdev_error_create",
                            {"base_name": "Malloc0", "uuid": "not-a-uuid"}, INVALID_PARAMS,
                            "uuid")
        self.assertRpcError(self.d, "bdev_error_create",
                            {"base_name": "Malloc0", "bogus": 1}, INVALID_PARAMS, "bogus")
        # Nothing was claimed by the failures.
        self.assertIs(self.d.call("bdev_get_bdevs", {"name": "Malloc0"})[0]["claimed"], False)
        u = "6b1b5b4e-2b44-4f6e-9f53-0d6a2f1d7f01"
        self.d.call("bdev_error_create", {"base_name": "Malloc0", "uuid": u})
        self.assertEqual(self.d.call("bdev_get_bdevs", {"name": "EE_Malloc0"})[0]["uuid"], u)

    def test_delete_releases_the_base(self):
        self.malloc("Malloc0", 8, 512)
        self.d.call("bdev_error_create", {"base_name": "Malloc0"})
        self.assertRpcError(self.d, "bdev_error_delete", {"name": "Malloc0"}, ENODEV,
                            "Malloc0")
        self.assertRpcError(self.d, "bdev_error_delete", {"name": "EE_Nope"}, ENODEV,
                            "EE_Nope")
        self.assertRpcError(self.d, "bdev_error_delete", {}, INVALID_PARAMS, "name")
        self.assertIs(self.d.call("bdev_error_delete", {"name": "EE_Malloc0"}), True)
        self.assertEqual(bdev_names(self.d), ["Malloc0"])
        self.assertIs(self.d.call("bdev_get_bdevs", {"name": "Malloc0"})[0]["claimed"], False)
        # Free again: a new error bdev may claim it.
        self.assertEqual(self.d.call("bdev_error_create", {"base_name": "Malloc0"}), "EE_Malloc0")

    def test_inject_bad_parameters(self):
        self.malloc("Malloc0", 8, 512)
        self.d.call("bdev_error_create", {"base_name": "Malloc0"})
        good = {"name": "EE_Malloc0", "io_type": "read", "error_type": "failure"}
        for key, val, needle in (("io_type", "sideways", "io_type"),
                                 ("error_type", "explode", "error_type"),
                                 ("error_type", "nvme_failure", "error_type"),
                                 ("num", -1, "num"), ("corrupt_value", 256, "corrupt_value"),
                                 ("nvme_sc", 2, "nvme_sc")):
            p = dict(good)
            p[key] = val
            self.assertRpcError(self.d, "bdev_error_inject_error", p, INVALID_PARAMS, needle)
        p = dict(good, error_type="corrupt_data")
        self.assertRpcError(self.d, "bdev_error_inject_error", p, INVALID_PARAMS,
                            "corrupt_value")
        self.assertRpcError(self.d, "bdev_error_inject_error", dict(good, name="Malloc0"),
                            ENODEV, "Malloc0")
        self.assertRpcError(self.d, "bdev_error_inject_error", dict(good, name="X"), ENODEV, "X")
        for missing in ("name", "io_type", "error_type"):
            p = dict(good)
            del p[missing]
            self.assertRpcError(self.d, "bdev_error_inject_error", p, INVALID_PARAMS, missing)

    def test_io_passes_through_and_injected_failures_reach_vtc(self):
        self.malloc("Malloc0", 8, 512)
        self.d.call("bdev_error_create", {"base_name": "Malloc0"})
        s = self.create("blk.e", "EE_Malloc0")
        vtc_ok("io", s, "--write", "--read", "--verify", "--flush", "--size", "1M", "--bs",
               "64K", "--seed", "3")
        # The next two reads fail; writes are untouched.
        self.assertIs(self.d.call("bdev_error_inject_error",
                                  {"name": "EE_Malloc0", "io_type": "read",
                                   "error_type": "failure", "num": 2}), True)
        vtc_ok("io", s, "--write", "--size", "64K", "--bs", "64K", "--seed", "4")
        for _ in range(2):
            r = vtc("io", s, "--read", "--size", "64K", "--bs", "64K")
            self.assertNotEqual(r.returncode, 0, "injected read failure not seen:\n" + r.stdout)
        vtc_ok("io", s, "--read", "--verify", "--size", "64K", "--bs", "64K", "--seed", "4")
        # "all" then "clear": nothing is injected any more.
        self.d.call("bdev_error_inject_error", {"name": "EE_Malloc0", "io_type": "all",
                                                "error_type": "failure", "num": 5})
        r = vtc("io", s, "--write", "--size", "64K", "--bs", "64K")
        self.assertNotEqual(r.returncode, 0)
        self.d.call("bdev_error_inject_error", {"name": "EE_Malloc0", "io_type": "clear",
                                                "error_type": "failure"})
        vtc_ok("io", s, "--write", "--read", "--verify", "--size", "256K", "--bs", "64K")
        # num 0 disables too.
        self.d.call("bdev_error_inject_error", {"name": "EE_Malloc0", "io_type": "write",
                                                "error_type": "failure", "num": 0})
        vtc_ok("io", s, "--write", "--size", "64K", "--bs", "64K")

    def test_nomem_is_retried_and_corrupt_data_flips_a_byte(self):
        self.malloc("Malloc0", 8, 512)
        self.d.call("bdev_error_create", {"base_name": "Malloc0"})
        s = self.create("blk.e", "EE_Malloc0")
        self.d.call("bdev_error_inject_error", {"name": "EE_Malloc0", "io_type": "write",
                                                "error_type": "nomem", "num": 3})
        vtc_ok("io", s, "--write", "--read", "--verify", "--size", "256K", "--bs", "64K",
               "--seed", "9")
        self.d.call("bdev_error_inject_error", {"name": "EE_Malloc0", "io_type": "read",
                                                "error_type": "corrupt_data", "num": 1,
                                                "corrupt_offset": 10, "corrupt_value": 0x5a})
        r = vtc("io", s, "--read", "--verify", "--size", "64K", "--bs", "64K", "--seed", "9")
        self.assertNotEqual(r.returncode, 0, "corrupted read verified:\n" + r.stdout)
        # Only one read was corrupted: the data below is intact.
        vtc_ok("io", s, "--read", "--verify", "--size", "64K", "--bs", "64K", "--seed", "9")

    def test_pending_is_held_until_resumed_and_aborted_by_removal(self):
        self.malloc("Malloc0", 8, 512)
        self.d.call("bdev_error_create", {"base_name": "Malloc0"})
        s = self.create("blk.e", "EE_Malloc0")
        inj = {"name": "EE_Malloc0", "io_type": "read", "error_type": "pending"}
        self.d.call("bdev_error_inject_error", inj)
        cmd = [vtc_bin(), "io", s, "--read", "--size", "4K", "--bs", "4K"]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        wait_for(lambda: self.controller("blk.e")["sessions"], 10, "a session")
        # Held: the read does not complete until resumed.
        with self.assertRaises(subprocess.TimeoutExpired):
            p.wait(timeout=1)
        self.assertRpcError(self.d, "bdev_error_resume_pending", {"name": "Malloc0"}, ENODEV,
                            "Malloc0")
        self.assertRpcError(self.d, "bdev_error_resume_pending", {}, INVALID_PARAMS, "name")
        self.assertIs(self.d.call("bdev_error_resume_pending", {"name": "EE_Malloc0"}), True)
        self.assertEqual(p.wait(timeout=10), 0, p.stderr.read())
        # Held again; the base's removal aborts it and nothing hangs.
        self.d.call("bdev_error_inject_error", inj)
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with self.assertRaises(subprocess.TimeoutExpired):
            p.wait(timeout=1)
        self.d.call("bdev_malloc_delete", {"name": "Malloc0"})
        self.assertNotEqual(p.wait(timeout=10), 0)
        self.wait_gone("EE_Malloc0")

    def test_base_removal_removes_the_error_bdev_and_detaches_the_controller(self):
        self.malloc("Malloc0", 8, 512)
        self.d.call("bdev_error_create", {"base_name": "Malloc0"})
        self.create("blk.e", "EE_Malloc0")
        self.assertIs(self.d.call("bdev_malloc_delete", {"name": "Malloc0"}), True)
        self.wait_gone("EE_Malloc0")
        self.assertEqual(bdev_names(self.d), [])


class ErrorBdevConfigTest(BlkBase, VtTestCase):
    def test_save_config_replays_the_chain(self):
        self.d = self.start_daemon()
        self.malloc("Malloc0", 8, 512)
        self.d.call("bdev_error_create", {"base_name": "Malloc0"})
        s = self.create("blk.e", "EE_Malloc0")
        vtc_ok("io", s, "--write", "--size", "64K", "--bs", "64K", "--seed", "5")
        uuid = self.d.call("bdev_get_bdevs", {"name": "EE_Malloc0"})[0]["uuid"]
        cfg = self.d.call("framework_get_config", {"name": "bdev"})
        methods = [e["method"] for e in cfg]
        self.assertLess(methods.index("bdev_malloc_create"), methods.index("bdev_error_create"))
        self.assertIn({"method": "bdev_error_create",
                       "params": {"base_name": "Malloc0", "uuid": uuid}}, cfg)
        conf = os.path.join(self.d.dir, "saved.json")
        with open(conf, "w") as f, self.d.client() as c:
            rpc.save_config(c, f)
        self.stop_clean(self.d)
        self.sock_dir = self.d.dir
        self.d = self.start_daemon(config=conf, args=("-S", self.sock_dir))
        ee = self.d.call("bdev_get_bdevs", {"name": "EE_Malloc0"})[0]
        self.assertEqual(ee["uuid"], uuid)
        self.assertIs(self.d.call("bdev_get_bdevs", {"name": "Malloc0"})[0]["claimed"], True)
        self.assertEqual(self.controller("blk.e")["backend_specific"]["block"]["bdev"],
                         "EE_Malloc0")
        self.stop_clean(self.d)


def delay_params(**kw):
    p = {"base_bdev_name": "Malloc0", "name": "Delay0", "avg_read_latency": 0,
         "p99_read_latency": 0, "avg_write_latency": 0, "p99_write_latency": 0}
    p.update(kw)
    return p


def timed_vtc(*args):
    t0 = time.monotonic()
    vtc_ok(*args)
    return time.monotonic() - t0


class DelayBdevTest(VirtualBase, SharedDaemonTestCase):
    def iostat(self, name):
        res = self.d.call("bdev_get_iostat", {"name": name})
        b = res["bdevs"][0]
        b["tick_rate"] = res["tick_rate"]
        return b

    def test_create_claims_reports_and_deletes(self):
        self.malloc("Malloc0", 8, 4096)
        self.assertEqual(self.d.call("bdev_delay_create", delay_params(
            avg_read_latency=10, p99_read_latency=20, avg_write_latency=30,
            p99_write_latency=40)), "Delay0")
        b = self.d.call("bdev_get_bdevs", {"name": "Delay0"})[0]
        self.assertEqual(b["product_name"], "delay")
        self.assertEqual((b["block_size"], b["num_blocks"]), (4096, 2048))
        self.assertEqual(b["driver_specific"]["delay"],
                         {"name": "Delay0", "base_bdev_name": "Malloc0",
                          "avg_read_latency": 10, "p99_read_latency": 20,
                          "avg_write_latency": 30, "p99_write_latency": 40})
        self.assertIs(self.d.call("bdev_get_bdevs", {"name": "Malloc0"})[0]["claimed"], True)
        self.assertRpcError(self.d, "bdev_delay_create", delay_params(name="Delay1"), EPERM,
                            "base_bdev_name", "claimed")
        self.assertRpcError(self.d, "bdev_error_create", {"base_name": "Malloc0"}, EPERM,
                            "base_name", "claimed")
        self.assertRpcError(self.d, "bdev_delay_delete", {"name": "Malloc0"}, ENODEV,
                            "Malloc0")
        self.assertRpcError(self.d, "bdev_delay_delete", {}, INVALID_PARAMS, "name")
        self.assertIs(self.d.call("bdev_delay_delete", {"name": "Delay0"}), True)
        self.assertEqual(bdev_names(self.d), ["Malloc0"])
        self.assertIs(self.d.call("bdev_get_bdevs", {"name": "Malloc0"})[0]["claimed"], False)

    def test_create_bad_parameters(self):
        self.malloc("Malloc0", 8, 512)
        self.assertRpcError(self.d, "bdev_delay_create", delay_params(base_bdev_name="Nope"),
                            ENODEV, "base_bdev_name", "Nope")
        for key in ("base_bdev_name", "name", "avg_read_latency", "p99_write_latency"):
            p = delay_params()
            del p[key]
            self.assertRpcError(self.d, "bdev_delay_create", p, INVALID_PARAMS, key)
        self.assertRpcError(self.d, "bdev_delay_create", delay_params(avg_read_latency=-1),
                            INVALID_PARAMS, "avg_read_latency")
        self.assertRpcError(self.d, "bdev_delay_create",
                            delay_params(avg_read_latency=10, p99_read_latency=5),
                            INVALID_PARAMS, "avg_read_latency", "p99_read_latency")
        self.assertRpcError(self.d, "bdev_delay_create",
                            delay_params(avg_write_latency=10, p99_write_latency=5),
                            INVALID_PARAMS, "avg_write_latency")
        self.assertRpcError(self.d, "bdev_delay_create",
                            delay_params(p99_read_latency=3600 * 10**6 + 1),
                            INVALID_PARAMS, "p99_read_latency", "maximum")
        self.assertRpcError(self.d, "bdev_delay_create", delay_params(name="Malloc0"), EEXIST,
                            "Malloc0")
        self.assertRpcError(self.d, "bdev_delay_create", delay_params(name="a b"),
                            INVALID_PARAMS, "name")
        self.assertRpcError(self.d, "bdev_delay_create", delay_params(uuid="zz"),
                            INVALID_PARAMS, "uuid")
        self.assertIs(self.d.call("bdev_get_bdevs", {"name": "Malloc0"})[0]["claimed"], False)

    def test_update_latency_good_and_bad(self):
        self.malloc("Malloc0", 8, 512)
        self.d.call("bdev_delay_create", delay_params(p99_read_latency=100,
                                                      p99_write_latency=100))
        up = {"delay_bdev_name": "Delay0", "latency_type": "avg_read", "latency_us": 50}
        self.assertIs(self.d.call("bdev_delay_update_latency", up), True)
        self.assertEqual(self.d.call("bdev_get_bdevs", {"name": "Delay0"})[0]
                         ["driver_specific"]["delay"]["avg_read_latency"], 50)
        self.assertRpcError(self.d, "bdev_delay_update_latency",
                            dict(up, latency_type="avg_rd"), INVALID_PARAMS, "latency_type")
        self.assertRpcError(self.d, "bdev_delay_update_latency", dict(up, latency_us=101),
                            INVALID_PARAMS, "latency_us")
        self.assertRpcError(self.d, "bdev_delay_update_latency",
                            dict(up, latency_type="p99_write", latency_us=3600 * 10**6 + 1),
                            INVALID_PARAMS, "latency_us")
        self.assertRpcError(self.d, "bdev_delay_update_latency",
                            dict(up, delay_bdev_name="Malloc0"), ENODEV, "Malloc0")
        for key in up:
            p = dict(up)
            del p[key]
            self.assertRpcError(self.d, "bdev_delay_update_latency", p, INVALID_PARAMS, key)

    def test_io_is_delayed_and_verifies(self):
        self.malloc("Malloc0", 8, 512)
        self.d.call("bdev_delay_create", delay_params(avg_read_latency=300000,
                                                      p99_read_latency=300000))
        s = self.create("blk.d", "Delay0")
        vtc_ok("io", s, "--write", "--size", "64K", "--bs", "64K", "--seed", "2")
        self.assertGreaterEqual(timed_vtc("io", s, "--read", "--verify", "--size", "64K",
                                          "--bs", "64K", "--seed", "2"), 0.3)
        st = self.iostat("Delay0")
        rate = st["tick_rate"]
        # The daemon's own measure: the read took the latency, the write did not.
        self.assertEqual((st["num_read_ops"], st["num_write_ops"]), (1, 1))
        self.assertGreaterEqual(st["read_latency_ticks"], 0.3 * rate)
        self.assertLess(st["write_latency_ticks"], 0.3 * rate)
        self.assertLess(self.iostat("Malloc0")["read_latency_ticks"], 0.3 * rate)
        self.d.call("bdev_delay_update_latency", {"delay_bdev_name": "Delay0",
                                                  "latency_type": "p99_write",
                                                  "latency_us": 400000})
        self.d.call("bdev_delay_update_latency", {"delay_bdev_name": "Delay0",
                                                  "latency_type": "avg_write",
                                                  "latency_us": 400000})
        self.assertGreaterEqual(timed_vtc("io", s, "--write", "--size", "64K", "--bs", "64K"),
                                0.4)
        self.assertGreaterEqual(self.iostat("Delay0")["write_latency_ticks"], 0.4 * rate)
        vtc_ok("io", s, "--write", "--read", "--verify", "--flush", "--discard", "--size",
               "128K", "--bs", "64K")

    def test_held_ios_complete_concurrently(self):
        self.malloc("Malloc0", 8, 512)
        self.d.call("bdev_delay_create", delay_params(avg_read_latency=20000,
                                                      p99_read_latency=20000))
        s = self.create("blk.d", "Delay0")
        out = vtc_ok("bench", s, "--rw", "randread", "--qd", "8", "--time", "2")
        fields = dict(kv.split("=", 1) for kv in out.split() if "=" in kv)
        ran = float(fields["time_s"])  # the run itself, as vtc timed it (not its start)
        st = self.iostat("Delay0")
        n = st["num_read_ops"]
        ios = int(fields["ios"])  # completed within the run (the last QD complete after it)
        self.assertGreaterEqual(n, ios)
        self.assertGreaterEqual(st["read_latency_ticks"] / st["tick_rate"] / n, 0.02)
        # Each read is held at least 20 ms: one at a time, at most ran / 0.02 of them fit in
        # the run. More than 1.5 times that proves several were held at once (QD 8 gives up to
        # 8 times; a loaded machine that slows vtc down still gives well over 1.5).
        self.assertGreater(ios * 0.02 / ran, 1.5, "%d reads of >= 20 ms in %.2f s" % (ios, ran))

    def test_removal_releases_held_ios_at_once(self):
        self.malloc("Malloc0", 8, 512)
        self.d.call("bdev_delay_create", delay_params(avg_read_latency=60 * 10**6,
                                                      p99_read_latency=60 * 10**6))
        s = self.create("blk.d", "Delay0")
        p = subprocess.Popen([vtc_bin(), "io", s, "--read", "--size", "4K", "--bs", "4K"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        wait_for(lambda: self.iostat("Malloc0")["num_read_ops"] == 1, 10, "the base's read")
        # A minute's latency: the removal does not wait for it.
        t0 = time.monotonic()
        self.d.call("bdev_malloc_delete", {"name": "Malloc0"})
        self.wait_gone("Delay0")
        p.wait(timeout=10)
        self.assertLess(time.monotonic() - t0, 10)

    def test_base_removal_removes_the_delay_bdev(self):
        self.malloc("Malloc0", 8, 512)
        self.d.call("bdev_delay_create", delay_params())
        self.create("blk.d", "Delay0")
        self.assertIs(self.d.call("bdev_malloc_delete", {"name": "Malloc0"}), True)
        self.wait_gone("Delay0")
        self.assertEqual(bdev_names(self.d), [])

    def test_chain_error_over_delay(self):
        self.malloc("Malloc0", 8, 512)
        self.d.call("bdev_delay_create", delay_params())
        self.assertEqual(self.d.call("bdev_error_create", {"base_name": "Delay0"}), "EE_Delay0")
        self.d.call("bdev_error_inject_error", {"name": "EE_Delay0", "io_type": "write",
                                                "error_type": "failure"})
        s = self.create("blk.c", "EE_Delay0")
        r = vtc("io", s, "--write", "--size", "64K", "--bs", "64K")
        self.assertNotEqual(r.returncode, 0)
        vtc_ok("io", s, "--write", "--read", "--verify", "--size", "64K", "--bs", "64K")
        # Removing the bottom removes both layers.
        self.d.call("bdev_malloc_delete", {"name": "Malloc0"})
        self.wait_gone("EE_Delay0")
        self.assertEqual(bdev_names(self.d), [])


class DelayBdevConfigTest(BlkBase, VtTestCase):
    def test_save_config_replays_the_chain(self):
        self.d = self.start_daemon()
        self.malloc("Malloc0", 8, 512)
        self.d.call("bdev_delay_create", delay_params(avg_read_latency=5, p99_read_latency=7,
                                                      avg_write_latency=11,
                                                      p99_write_latency=13))
        self.d.call("bdev_delay_update_latency", {"delay_bdev_name": "Delay0",
                                                  "latency_type": "avg_write",
                                                  "latency_us": 12})
        self.create("blk.d", "Delay0")
        uuid = self.d.call("bdev_get_bdevs", {"name": "Delay0"})[0]["uuid"]
        cfg = self.d.call("framework_get_config", {"name": "bdev"})
        self.assertIn({"method": "bdev_delay_create",
                       "params": dict(delay_params(avg_read_latency=5, p99_read_latency=7,
                                                   avg_write_latency=12,
                                                   p99_write_latency=13), uuid=uuid)}, cfg)
        conf = os.path.join(self.d.dir, "saved.json")
        with open(conf, "w") as f, self.d.client() as c:
            rpc.save_config(c, f)
        self.stop_clean(self.d)
        self.sock_dir = self.d.dir
        self.d = self.start_daemon(config=conf, args=("-S", self.sock_dir))
        b = self.d.call("bdev_get_bdevs", {"name": "Delay0"})[0]
        self.assertEqual(b["uuid"], uuid)
        self.assertEqual(b["driver_specific"]["delay"]["avg_write_latency"], 12)
        vtc_ok("io", self.sock("blk.d"), "--write", "--read", "--verify", "--size", "64K")
        self.stop_clean(self.d)


class SplitBdevTest(VirtualBase, SharedDaemonTestCase):
    def test_create_names_geometry_and_claims(self):
        self.malloc("Malloc0", 16, 4096)
        self.assertEqual(self.d.call("bdev_split_create", {"base_bdev": "Malloc0",
                                                           "split_count": 4}),
                         ["Malloc0p0", "Malloc0p1", "Malloc0p2", "Malloc0p3"])
        for i in range(4):
            b = self.d.call("bdev_get_bdevs", {"name": "Malloc0p%d" % i})[0]
            self.assertEqual((b["block_size"], b["num_blocks"]), (4096, 1024))
            self.assertEqual(b["product_name"], "Split Disk")
            self.assertEqual(b["driver_specific"]["split"],
                             {"base_bdev": "Malloc0", "offset_blocks": 1024 * i})
        self.assertIs(self.d.call("bdev_get_bdevs", {"name": "Malloc0"})[0]["claimed"], True)
        self.assertRpcError(self.d, "bdev_split_create", {"base_bdev": "Malloc0",
                                                          "split_count": 2}, EEXIST,
                            "base_bdev", "Malloc0")
        self.assertRpcError(self.d, "bdev_error_create", {"base_name": "Malloc0"}, EPERM,
                            "base_name", "claimed")
        # A part is a bdev like any other: it can be split again.
        self.assertEqual(self.d.call("bdev_split_create", {"base_bdev": "Malloc0p1",
                                                           "split_count": 2,
                                                           "split_size_mb": 1}),
                         ["Malloc0p1p0", "Malloc0p1p1"])
        self.assertIs(self.d.call("bdev_split_delete", {"base_bdev": "Malloc0p1"}), True)
        self.assertIs(self.d.call("bdev_split_delete", {"base_bdev": "Malloc0"}), True)
        self.assertEqual(bdev_names(self.d), ["Malloc0"])
        self.assertIs(self.d.call("bdev_get_bdevs", {"name": "Malloc0"})[0]["claimed"], False)

    def test_split_size_and_clamping(self):
        self.malloc("Malloc0", 10, 512)
        # 3 parts of 3 MiB; the last MiB unused.
        self.assertEqual(self.d.call("bdev_split_create", {"base_bdev": "Malloc0",
                                                           "split_count": 3,
                                                           "split_size_mb": 3}),
                         ["Malloc0p0", "Malloc0p1", "Malloc0p2"])
        self.assertEqual(self.d.call("bdev_get_bdevs", {"name": "Malloc0p2"})[0]["num_blocks"],
                         3 * MIB // 512)
        self.d.call("bdev_split_delete", {"base_bdev": "Malloc0"})
        # More parts than fit: SPDK lowers the count.
        self.assertEqual(len(self.d.call("bdev_split_create", {"base_bdev": "Malloc0",
                                                               "split_count": 8,
                                                               "split_size_mb": 4})), 2)

    def test_bad_parameters(self):
        self.malloc("Malloc0", 4, 4096)
        for p, code, needle in (({"base_bdev": "Nope", "split_count": 2}, ENODEV, "base_bdev"),
                                ({"split_count": 2}, INVALID_PARAMS, "base_bdev"),
                                ({"base_bdev": "Malloc0"}, INVALID_PARAMS, "split_count"),
                                ({"base_bdev": "Malloc0", "split_count": 0}, INVALID_PARAMS,
                                 "split_count"),
                                ({"base_bdev": "Malloc0", "split_count": -1}, INVALID_PARAMS,
                                 "split_count"),
                                ({"base_bdev": "Malloc0", "split_count": 2000}, INVALID_PARAMS,
                                 "split_count"),
                                ({"base_bdev": "Malloc0", "split_count": 2,
                                  "split_size_mb": 5}, INVALID_PARAMS, "split_size_mb"),
                                ({"base_bdev": "Malloc0", "split_count": 2,
                                  "split_size_mb": "x"}, INVALID_PARAMS, "split_size_mb")):
            self.assertRpcError(self.d, "bdev_split_create", p, code, needle)
        self.assertIs(self.d.call("bdev_get_bdevs", {"name": "Malloc0"})[0]["claimed"], False)
        self.assertRpcError(self.d, "bdev_split_delete", {"base_bdev": "Malloc0"}, ENODEV,
                            "base_bdev", "Malloc0")
        self.assertRpcError(self.d, "bdev_split_delete", {}, INVALID_PARAMS, "base_bdev")

    def test_io_lands_at_the_part_offset(self):
        self.malloc("Malloc0", 8, 512)
        self.d.call("bdev_split_create", {"base_bdev": "Malloc0", "split_count": 2})
        self.create("blk.p1", "Malloc0p1")
        vtc_ok("io", self.sock("blk.p1"), "--write", "--read", "--verify", "--size", "1M",
               "--bs", "64K", "--seed", "11")
        # Beyond the part: refused, not written into the next part or past the base.
        r = vtc("io", self.sock("blk.p1"), "--write", "--offset", "4M", "--size", "64K")
        self.assertNotEqual(r.returncode, 0)
        self.delete("blk.p1")
        # The same data is at 4 MiB of the base (vtc's pattern is a function of the offset it
        # was written at: 0 of the part).
        self.d.call("bdev_split_delete", {"base_bdev": "Malloc0"})
        self.create("blk.b", "Malloc0")
        out = os.path.join(self.d.dir, "p1.bin")
        self.addCleanup(lambda: os.path.exists(out) and os.unlink(out))
        vtc_ok("io", self.sock("blk.b"), "--read", "--offset", "4M", "--size", "1M", "--bs",
               "64K", "--out", out)
        want = subprocess.run([vtc_bin(), "pattern", "--offset", "0", "--size", "1M", "--seed",
                               "11"], capture_output=True, check=True).stdout
        with open(out, "rb") as f:
            self.assertTrue(f.read() == want, "the part's data is not at its base offset")
        # And nothing was written below it (malloc starts zeroed).
        vtc_ok("io", self.sock("blk.b"), "--read", "--verify-zero", "--offset", "3M", "--size",
               "1M", "--bs", "64K")

    def test_base_removal_removes_every_part(self):
        self.malloc("Malloc0", 8, 512)
        self.d.call("bdev_split_create", {"base_bdev": "Malloc0", "split_count": 3})
        self.create("blk.p0", "Malloc0p0")
        self.d.call("bdev_error_create", {"base_name": "Malloc0p2"})
        self.assertIs(self.d.call("bdev_malloc_delete", {"name": "Malloc0"}), True)
        self.wait_gone("EE_Malloc0p2")
        wait_for(lambda: bdev_names(self.d) == [], 10, "every part removed")
        self.assertRpcError(self.d, "bdev_split_delete", {"base_bdev": "Malloc0"}, ENODEV)


class SplitBdevConfigTest(BlkBase, VtTestCase):
    def test_save_config_replays_the_chain(self):
        self.d = self.start_daemon()
        self.malloc("Malloc0", 8, 512)
        self.d.call("bdev_split_create", {"base_bdev": "Malloc0", "split_count": 2,
                                          "split_size_mb": 2})
        self.d.call("bdev_delay_create", delay_params(base_bdev_name="Malloc0p1"))
        self.create("blk.d", "Delay0")
        vtc_ok("io", self.sock("blk.d"), "--write", "--size", "64K", "--seed", "8")
        cfg = self.d.call("framework_get_config", {"name": "bdev"})
        methods = [e["method"] for e in cfg]
        self.assertEqual(methods.count("bdev_split_create"), 1)
        self.assertLess(methods.index("bdev_split_create"), methods.index("bdev_delay_create"))
        self.assertIn({"method": "bdev_split_create",
                       "params": {"base_bdev": "Malloc0", "split_count": 2,
                                  "split_size_mb": 2}}, cfg)
        conf = os.path.join(self.d.dir, "saved.json")
        with open(conf, "w") as f, self.d.client() as c:
            rpc.save_config(c, f)
        self.stop_clean(self.d)
        self.sock_dir = self.d.dir
        self.d = self.start_daemon(config=conf, args=("-S", self.sock_dir))
        self.assertEqual(sorted(bdev_names(self.d)),
                         ["Delay0", "Malloc0", "Malloc0p0", "Malloc0p1"])
        self.stop_clean(self.d)

    def test_batched_config_keeps_bases_first_and_replays(self):
        self.d = self.start_daemon()
        self.malloc("Malloc0", 8, 512)
        self.d.call("bdev_error_create", {"base_name": "Malloc0"})
        self.d.call("bdev_split_create", {"base_bdev": "EE_Malloc0", "split_count": 2})
        self.d.call("bdev_delay_create", delay_params(base_bdev_name="EE_Malloc0p1"))
        self.malloc("Malloc1", 8, 512)
        cfg = self.d.call("framework_get_config", {"name": "bdev", "with_batches": True})
        flat = []
        for e in cfg:
            flat += [x["method"] for x in e] if isinstance(e, list) else [e["method"]]
        self.assertNotIn([], cfg)
        self.assertEqual([m for m in flat if m.startswith("bdev_") and "create" in m],
                         ["bdev_malloc_create", "bdev_error_create", "bdev_split_create",
                          "bdev_delay_create", "bdev_malloc_create"])
        conf = os.path.join(self.d.dir, "batched.json")
        with open(conf, "w") as f:
            json.dump({"subsystems": [{"subsystem": "bdev", "config": cfg}]}, f)
        self.stop_clean(self.d)
        self.d = self.start_daemon(config=conf)
        self.assertEqual(sorted(bdev_names(self.d)),
                         ["Delay0", "EE_Malloc0", "EE_Malloc0p0", "EE_Malloc0p1", "Malloc0",
                          "Malloc1"])
        self.stop_clean(self.d)
