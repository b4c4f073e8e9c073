# SPDX-License-Identifier: BSD-3-Clause
"""Raid bdevs (issue 14 items 2 and 4): bdev_raid_create / _delete / _get_bdevs /
_remove_base_bdev / _add_base_bdev with SPDK's parameters and shapes; raid0 and concat geometry
and I/O; raid1 degraded by a hot-removed leg under I/O, a leg added and rebuilt under I/O with
the legs' data compared afterwards; a superblock array reassembled by a restarted daemon; claims
and teardown order. I/O goes through a vhost-blk controller driven by vtc."""

import filecmp
import json
import os

import rpc

import vtlib
from vtlib import SharedDaemonTestCase, VtTestCase
from test_vhost_blk import BlkBase, start_bench, vtc_ok, wait_for

MIB = 1024 * 1024
EPERM, ENODEV, EEXIST, EINVAL, ENOSPC = -1, -19, -17, -22, -28
INVALID_PARAMS = -32602


def bdev_names(d):
    return [b["name"] for b in d.call("bdev_get_bdevs")]


def raid(d, name):
    for r in d.call("bdev_raid_get_bdevs", {"category": "all"}):
        if r["name"] == name:
            return r
    return None


class RaidBase(BlkBase):
    def tearDown(self):
        for c in self.d.call("vhost_get_controllers"):
            self.d.call("vhost_delete_controller", {"ctrlr": c["ctrlr"]})
        for r in self.d.call("bdev_raid_get_bdevs", {"category": "all"}):
            self.d.call("bdev_raid_delete", {"name": r["name"]})
        vtlib.delete_all_bdevs(self.d)
        wait_for(lambda: bdev_names(self.d) == [], 10, "every bdev deleted")
        super().tearDown()

    def create_raid(self, name, level, bases, **kw):
        p = {"name": name, "raid_level": level, "base_bdevs": bases}
        p.update(kw)
        self.assertIs(self.d.call("bdev_raid_create", p), True)

    def claimed(self, name):
        return self.d.call("bdev_get_bdevs", {"name": name})[0]["claimed"]


class RaidRpcTest(RaidBase, SharedDaemonTestCase):
    def test_create_bad_parameters_name_the_parameter(self):
        self.malloc("M0", 8, 512)
        self.malloc("M1", 8, 512)
        self.malloc("M4k", 8, 4096)
        good = {"name": "R", "raid_level": "raid0", "strip_size_kb": 64, "base_bdevs": ["M0", "M1"]}

        def bad(code, needle, **kw):
            p = dict(good)
            p.update(kw)
            p = {k: v for k, v in p.items() if v is not None}
            self.assertRpcError(self.d, "bdev_raid_create", p, code, needle)

        bad(INVALID_PARAMS, "name", name=None)
        bad(INVALID_PARAMS, "name", name="has space")
        bad(INVALID_PARAMS, "raid_level", raid_level="raid5")
        bad(INVALID_PARAMS, "raid_level", raid_level=None)
        bad(INVALID_PARAMS, "strip_size_kb", strip_size_kb=48)
        bad(INVALID_PARAMS, "strip_size_kb", strip_size_kb=None)
        bad(INVALID_PARAMS, "strip_size_kb", raid_level="raid1")
        bad(INVALID_PARAMS, "base_bdevs", base_bdevs=[])
        bad(INVALID_PARAMS, "base_bdevs", base_bdevs=["M0", "M0"])
        bad(INVALID_PARAMS, "base_bdevs", base_bdevs=["M0", "M4k"])
        bad(INVALID_PARAMS, "base_bdevs", raid_level="1", strip_size_kb=None, base_bdevs=["M0"])
        bad(INVALID_PARAMS, "base_bdevs", base_bdevs=["M%d" % i for i in range(33)])
        bad(INVALID_PARAMS, "uuid", uuid="nope")
        bad(INVALID_PARAMS, "superblock", superblock="yes")
        bad(INVALID_PARAMS, "bogus", bogus=1)
        # Nothing was created or claimed by the failures.
        self.assertEqual(self.d.call("bdev_raid_get_bdevs", {"category": "all"}), [])
        self.assertFalse(self.claimed("M0") or self.claimed("M1"))
        self.create_raid("R", "0", ["M0", "M1"], strip_size_kb=64)
        bad(EEXIST, "R")
        bad(EPERM, "base_bdevs", name="R2")
        self.assertRpcError(self.d, "bdev_raid_get_bdevs", {"category": "bad"}, INVALID_PARAMS,
                            "category")
        self.assertRpcError(self.d, "bdev_raid_get_bdevs", {}, INVALID_PARAMS, "category")
        self.assertRpcError(self.d, "bdev_raid_delete", {"name": "Nope"}, ENODEV, "name", "Nope")
        self.assertRpcError(self.d, "bdev_raid_delete", {}, INVALID_PARAMS, "name")
        self.assertRpcError(self.d, "bdev_raid_delete", {"name": "R", "clear_sb": True},
                            INVALID_PARAMS, "clear_sb")
        self.assertRpcError(self.d, "bdev_raid_remove_base_bdev", {"name": "M4k"}, ENODEV,
                            "name", "M4k")
        self.assertRpcError(self.d, "bdev_raid_remove_base_bdev", {}, INVALID_PARAMS, "name")
        self.assertRpcError(self.d, "bdev_raid_add_base_bdev",
                            {"raid_bdev": "Nope", "base_bdev": "M4k"}, ENODEV, "raid_bdev")
        self.assertRpcError(self.d, "bdev_raid_add_base_bdev",
                            {"raid_bdev": "R", "base_bdev": "M4k"}, EINVAL, "raid_bdev", "raid1")
        self.assertRpcError(self.d, "bdev_raid_add_base_bdev", {"raid_bdev": "R"},
                            INVALID_PARAMS, "base_bdev")

    def test_rpc_py_commands(self):
        self.malloc("M0", 8, 512)
        self.malloc("M1", 8, 512)
        self.malloc("M2", 8, 512)
        sock = self.d.sock

        def rpc_py(*args):
            r = vtlib.run_rpc_py(sock, *args)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            return r.stdout
        rpc_py("bdev_raid_create", "-n", "R", "-r", "1", "-b", "M0 M1", "-s")
        got = json.loads(rpc_py("bdev_raid_get_bdevs", "online"))
        self.assertEqual([(r["name"], r["raid_level"], r["superblock"]) for r in got],
                         [("R", "raid1", True)])
        rpc_py("bdev_raid_remove_base_bdev", "M1")
        rpc_py("bdev_raid_add_base_bdev", "R", "M2")
        wait_for(lambda: raid(self.d, "R")["num_base_bdevs_operational"] == 2, 20, "rebuilt")
        rpc_py("bdev_raid_delete", "R")
        self.assertIsNone(raid(self.d, "R"))

    def test_raid0_geometry_get_bdevs_shape_and_io(self):
        self.malloc("M0", 8, 512)
        self.malloc("M1", 9, 512)  # the bigger leg is cut to the smaller one
        # rpc.py's form: one whitespace-separated string.
        self.create_raid("R0", "raid0", "M0 M1", strip_size_kb=64)
        b = self.d.call("bdev_get_bdevs", {"name": "R0"})[0]
        self.assertEqual(b["num_blocks"], 2 * 8 * MIB // 512)
        self.assertEqual(b["product_name"], "Raid Volume")
        self.assertEqual(b["optimal_io_boundary"], 128)
        r = raid(self.d, "R0")
        self.assertEqual({k: r[k] for k in ("name", "strip_size_kb", "state", "raid_level",
                                            "superblock", "num_base_bdevs",
                                            "num_base_bdevs_discovered",
                                            "num_base_bdevs_operational")},
                         {"name": "R0", "strip_size_kb": 64, "state": "online",
                          "raid_level": "raid0", "superblock": False, "num_base_bdevs": 2,
                          "num_base_bdevs_discovered": 2, "num_base_bdevs_operational": 2})
        self.assertEqual([(x["name"], x["is_configured"], x["data_offset"], x["data_size"])
                          for x in r["base_bdevs_list"]],
                         [("M0", True, 0, 16384), ("M1", True, 0, 16384)])
        self.assertEqual(b["driver_specific"]["raid"]["raid_level"], "raid0")
        self.assertTrue(self.claimed("M0") and self.claimed("M1"))
        self.assertEqual(self.d.call("bdev_raid_get_bdevs", {"category": "configuring"}), [])
        self.assertEqual([x["name"] for x in
                          self.d.call("bdev_raid_get_bdevs", {"category": "online"})], ["R0"])
        s = self.create("blk.r0", "R0")
        # Requests that cross strips and legs, in small segments (the iovecs are cut).
        vtc_ok("io", s, "--write", "--read", "--verify", "--size", "8M", "--bs", "96K",
               "--seg-size", "3584", "--seed", "3")
        vtc_ok("io", s, "--read", "--verify", "--offset", "60K", "--size", "1M", "--bs", "200K",
               "--seed", "3")
        vtc_ok("io", s, "--write", "--read", "--verify", "--flush", "--discard",
               "--offset", "4M", "--size", "1M", "--bs", "128K")

    def test_concat_sums_legs_rounded_to_strips(self):
        self.malloc("M0", 8, 512)
        self.d.call("bdev_malloc_create", {"name": "M1", "num_blocks": 16384 + 100,
                                           "block_size": 512})
        self.create_raid("C", "concat", ["M0", "M1"], strip_size_kb=32)
        b = self.d.call("bdev_get_bdevs", {"name": "C"})[0]
        # Strips of 64 blocks: M1's 16484 blocks count as 16448.
        self.assertEqual(b["num_blocks"], 16384 + 16448)
        s = self.create("blk.c", "C")
        vtc_ok("io", s, "--write", "--read", "--verify", "--offset", "7M", "--size", "2M",
               "--bs", "192K", "--seed", "5")

    def test_delete_releases_claims_and_base_delete_takes_raid0_offline(self):
        self.malloc("M0", 8, 512)
        self.malloc("M1", 8, 512)
        self.create_raid("R", "raid0", ["M0", "M1"], strip_size_kb=4)
        self.assertIs(self.d.call("bdev_raid_delete", {"name": "R"}), True)
        self.assertNotIn("R", bdev_names(self.d))
        self.assertFalse(self.claimed("M0") or self.claimed("M1"))
        self.create_raid("R", "raid0", ["M0", "M1"], strip_size_kb=4)
        self.create("blk.r", "R")
        self.d.call("bdev_malloc_delete", {"name": "M1"})
        wait_for(lambda: raid(self.d, "R")["state"] == "offline", 10, "raid0 offline")
        wait_for(lambda: "R" not in bdev_names(self.d), 10, "raid bdev unregistered")
        self.assertEqual([r["name"] for r in
                          self.d.call("bdev_raid_get_bdevs", {"category": "offline"})], ["R"])
        self.assertEqual(self.d.call("bdev_raid_get_bdevs", {"category": "online"}), [])
        self.assertFalse(self.claimed("M0"))
        self.assertIs(self.d.call("bdev_raid_delete", {"name": "R"}), True)
        self.assertIsNone(raid(self.d, "R"))

    def test_configuring_until_the_base_appears(self):
        self.malloc("M0", 8, 512)
        self.create_raid("R1", "raid1", ["M0", "Later"])
        r = raid(self.d, "R1")
        self.assertEqual((r["state"], r["num_base_bdevs_discovered"]), ("configuring", 1))
        self.assertNotIn("R1", bdev_names(self.d))
        self.malloc("Later", 8, 512)
        wait_for(lambda: raid(self.d, "R1")["state"] == "online", 10, "raid1 online")
        self.assertTrue(self.claimed("Later"))

    def test_raid1_remove_base_degrades_and_add_rebuilds(self):
        self.malloc("M0", 8, 512)
        self.malloc("M1", 8, 512)
        self.malloc("M2", 8, 512)
        self.malloc("Small", 4, 512)
        self.create_raid("R1", "raid1", ["M0", "M1"])
        s = self.create("blk.r1", "R1")
        vtc_ok("io", s, "--write", "--size", "8M", "--bs", "128K", "--seed", "11")
        self.assertIs(self.d.call("bdev_raid_remove_base_bdev", {"name": "M0"}), True)
        r = raid(self.d, "R1")
        self.assertEqual((r["state"], r["num_base_bdevs_discovered"],
                          r["num_base_bdevs_operational"]), ("online", 1, 1))
        self.assertIsNone(r["base_bdevs_list"][0]["name"])
        self.assertFalse(self.claimed("M0"))
        vtc_ok("io", s, "--read", "--verify", "--size", "8M", "--bs", "128K", "--seed", "11")
        self.assertRpcError(self.d, "bdev_raid_add_base_bdev",
                            {"raid_bdev": "R1", "base_bdev": "Small"}, ENOSPC, "base_bdev")
        self.assertRpcError(self.d, "bdev_raid_add_base_bdev",
                            {"raid_bdev": "R1", "base_bdev": "M1"}, EPERM, "base_bdev")
        self.assertIs(self.d.call("bdev_raid_add_base_bdev",
                                  {"raid_bdev": "R1", "base_bdev": "M2"}), True)
        wait_for(lambda: raid(self.d, "R1")["num_base_bdevs_operational"] == 2, 20,
                 "rebuild done")
        self.assertNotIn("process", raid(self.d, "R1"))
        # Reads now go to both legs: remove the old one and the rebuilt one alone has the data.
        self.d.call("bdev_raid_remove_base_bdev", {"name": "M1"})
        vtc_ok("io", s, "--read", "--verify", "--size", "8M", "--bs", "128K", "--seed", "11")


class RaidFileTest(RaidBase, VtTestCase):
    """raid1 over file bdevs: hot-remove and rebuild under I/O, then the files compared."""

    def files(self, n, mib=16):
        paths = []
        for i in range(n):
            p = os.path.join(self.d.dir, "leg%d.img" % i)
            with open(p, "wb") as f:
                f.truncate(mib * MIB)
            paths.append(p)
        return paths

    def aio(self, name, path):
        self.d.call("bdev_aio_create", {"name": name, "filename": path, "block_size": 512})

    def test_hot_remove_and_rebuild_under_io_leave_identical_legs(self):
        self.d = self.start_daemon()
        paths = self.files(3)
        for i in range(2):
            self.aio("F%d" % i, paths[i])
        self.create_raid("R1", "raid1", ["F0", "F1"])
        s = self.create("blk.r1", "R1")
        vtc_ok("io", s, "--write", "--size", "16M", "--bs", "1M", "--seed", "21")
        bench = start_bench(s, 4, rw="randwrite")
        try:
            wait_for(lambda: self.d.call("bdev_get_iostat", {"name": "R1"})["bdevs"][0]
                     ["num_write_ops"] > 200, 10, "writes going")
            # Hot-remove a leg under I/O: the front end sees no error.
            self.d.call("bdev_aio_delete", {"name": "F0"})
            wait_for(lambda: raid(self.d, "R1")["num_base_bdevs_operational"] == 1, 10,
                     "degraded")
            self.assertEqual(raid(self.d, "R1")["state"], "online")
            self.aio("F2", paths[2])
            self.d.call("bdev_raid_add_base_bdev", {"raid_bdev": "R1", "base_bdev": "F2"})
            seen = []

            def rebuilt():
                r = raid(self.d, "R1")
                if "process" in r:
                    seen.append(r["process"])
                return r["num_base_bdevs_operational"] == 2
            wait_for(rebuilt, 30, "rebuild done")
        finally:
            out, err = bench.communicate(timeout=60)
        self.assertEqual(bench.returncode, 0, out + err)
        self.assertIn("errors=0", out)
        self.assertTrue(seen, "no rebuild progress seen in bdev_raid_get_bdevs")
        self.assertEqual(seen[0]["type"], "rebuild")
        self.assertEqual(seen[0]["target"], "F2")
        self.assertIn("blocks", seen[0]["progress"])
        # Teardown from the top: the raid goes, its legs are released and hold the same data.
        self.d.call("vhost_delete_controller", {"ctrlr": "blk.r1"})
        self.d.call("bdev_raid_delete", {"name": "R1"})
        self.assertFalse(self.claimed("F1") or self.claimed("F2"))
        self.d.call("bdev_aio_delete", {"name": "F1"})
        self.d.call("bdev_aio_delete", {"name": "F2"})
        self.assertTrue(filecmp.cmp(paths[1], paths[2], shallow=False), "legs differ")
        self.assertFalse(filecmp.cmp(paths[0], paths[1], shallow=False),
                         "the removed leg should have missed writes")

    def test_two_reactors_hot_remove_and_rebuild_under_io(self):
        """Two reactors submit to the raid (a split on it, one part per controller, one
        controller per reactor): the leg release and the rebuild's window lock go through
        both reactors' channels."""
        self.d = self.start_daemon(args=("-m", "0x3"))
        paths = self.files(3)
        for i in range(2):
            self.aio("F%d" % i, paths[i])
        self.create_raid("R1", "raid1", ["F0", "F1"], superblock=True)
        self.assertEqual(self.d.call("bdev_split_create", {"base_bdev": "R1", "split_count": 2}),
                         ["R1p0", "R1p1"])
        socks = [self.create("blk.p%d" % i, "R1p%d" % i, cpumask="0x%x" % (1 << i))
                 for i in range(2)]
        for i, s in enumerate(socks):
            vtc_ok("io", s, "--write", "--size", "7M", "--bs", "1M", "--seed", str(60 + i))
        # Eight writes in flight per controller: random offsets repeat, so two writes to the
        # same blocks are often in flight at once, and the legs must still end up identical.
        benches = [start_bench(s, 4, rw="randwrite") for s in socks]
        try:
            wait_for(lambda: self.d.call("bdev_get_iostat", {"name": "R1"})["bdevs"][0]
                     ["num_write_ops"] > 400, 10, "writes going")
            self.d.call("bdev_aio_delete", {"name": "F1"})
            wait_for(lambda: raid(self.d, "R1")["num_base_bdevs_operational"] == 1, 10,
                     "degraded")
            self.aio("F2", paths[2])
            self.d.call("bdev_raid_add_base_bdev", {"raid_bdev": "R1", "base_bdev": "F2"})
            wait_for(lambda: raid(self.d, "R1")["num_base_bdevs_operational"] == 2, 30,
                     "rebuild done")
        finally:
            outs = [b.communicate(timeout=60) for b in benches]
        for b, (out, err) in zip(benches, outs):
            self.assertEqual(b.returncode, 0, out + err)
            self.assertIn("errors=0", out)
        for c in ("blk.p0", "blk.p1"):
            self.d.call("vhost_delete_controller", {"ctrlr": c})
        self.d.call("bdev_split_delete", {"base_bdev": "R1"})
        self.d.call("bdev_raid_delete", {"name": "R1"})
        self.d.call("bdev_aio_delete", {"name": "F0"})
        self.d.call("bdev_aio_delete", {"name": "F2"})
        # The data areas are the same; the superblocks differ only in the slot they name.
        with open(paths[0], "rb") as a, open(paths[2], "rb") as b:
            a.seek(MIB)
            b.seek(MIB)
            self.assertTrue(a.read() == b.read(), "legs differ beyond the superblock area")

    def test_superblock_array_reassembles_after_restart(self):
        self.d = self.start_daemon()
        paths = self.files(2)
        for i in range(2):
            self.aio("F%d" % i, paths[i])
        u = "8f0a3d0e-6c55-4f3e-9d6b-0c1d2e3f4a5b"
        self.create_raid("R1", "raid1", ["F0", "F1"], superblock=True, uuid=u)
        r = raid(self.d, "R1")
        self.assertTrue(r["superblock"])
        self.assertEqual([x["data_offset"] for x in r["base_bdevs_list"]], [2048, 2048])
        self.assertEqual(self.d.call("bdev_get_bdevs", {"name": "R1"})[0]["num_blocks"],
                         16 * MIB // 512 - 2048)
        s = self.create("blk.r1", "R1")
        vtc_ok("io", s, "--write", "--size", "8M", "--bs", "256K", "--seed", "31")
        cfg = self.d.call("framework_get_config", {"name": "bdev"})
        methods = [e["method"] for e in cfg]
        # A superblock array is not replayed: it reassembles from its legs.
        self.assertNotIn("bdev_raid_create", methods)
        self.assertLess(methods.index("bdev_aio_create"), methods.index("bdev_wait_for_examine"))
        conf = os.path.join(self.d.dir, "saved.json")
        with open(conf, "w") as f, self.d.client() as c:
            rpc.save_config(c, f)
        self.stop_clean(self.d)
        with open(paths[0], "rb") as f:
            self.assertEqual(f.read(8), b"VTRAIDSB")
        # The saved config: the legs, bdev_wait_for_examine (which waits for the reassembly),
        # then the controller on the raid.
        self.sock_dir = self.d.dir
        self.d = self.start_daemon(config=conf, args=("-S", self.sock_dir))
        r = raid(self.d, "R1")
        self.assertEqual((r["state"], r["uuid"], r["num_base_bdevs_operational"]),
                         ("online", u, 2))
        self.assertTrue(self.claimed("F0") and self.claimed("F1"))
        vtc_ok("io", self.sock("blk.r1"), "--read", "--verify", "--size", "8M", "--bs", "256K",
               "--seed", "31")
        # Created by hand in the other order, the legs reassemble the same way.
        self.stop_clean(self.d)
        self.sock_dir = None
        self.d = self.start_daemon()
        self.aio("F1", paths[1])
        self.aio("F0", paths[0])
        self.assertIs(self.d.call("bdev_wait_for_examine"), True)
        self.assertEqual(raid(self.d, "R1")["state"], "online")
        s = self.create("blk.r1", "R1")
        vtc_ok("io", s, "--read", "--verify", "--size", "8M", "--bs", "256K", "--seed", "31")

    def test_restart_keeps_a_leg_added_after_the_raid_and_its_qos_limit(self):
        """A leg added by bdev_raid_add_base_bdev is newer than the raid: the daemon's stop must
        still remove the raid before it (else the leg's removal degrades the array and the
        superblocks keep it out), and the raid's QoS limit replays after bdev_wait_for_examine
        (the reassembled raid exists only then)."""
        self.d = self.start_daemon()
        paths = self.files(3)
        for i in range(2):
            self.aio("F%d" % i, paths[i])
        self.create_raid("R1", "raid1", ["F0", "F1"], superblock=True)
        self.d.call("bdev_aio_delete", {"name": "F1"})
        wait_for(lambda: raid(self.d, "R1")["num_base_bdevs_operational"] == 1, 10, "degraded")
        self.aio("F2", paths[2])
        self.d.call("bdev_raid_add_base_bdev", {"raid_bdev": "R1", "base_bdev": "F2"})
        wait_for(lambda: raid(self.d, "R1")["num_base_bdevs_operational"] == 2, 30,
                 "rebuild done")
        self.assertIs(self.d.call("bdev_set_qos_limit", {"name": "R1",
                                                         "rw_ios_per_sec": 20000}), True)
        methods = [e["method"] for e in self.d.call("framework_get_config", {"name": "bdev"})]
        self.assertLess(methods.index("bdev_wait_for_examine"),
                        methods.index("bdev_set_qos_limit"))
        conf = os.path.join(self.d.dir, "saved.json")
        with open(conf, "w") as f, self.d.client() as c:
            rpc.save_config(c, f)
        self.stop_clean(self.d)
        self.sock_dir = self.d.dir
        self.d = self.start_daemon(config=conf, args=("-S", self.sock_dir))
        r = raid(self.d, "R1")
        self.assertEqual((r["state"], r["num_base_bdevs_operational"]), ("online", 2))
        self.assertEqual(sorted(b["name"] for b in r["base_bdevs_list"]), ["F0", "F2"])
        self.assertEqual(self.d.call("bdev_get_bdevs", {"name": "R1"})[0]
                         ["assigned_rate_limits"]["rw_ios_per_sec"], 20000)

    def test_superblock_raid0_and_concat_reassemble(self):
        self.d = self.start_daemon()
        paths = self.files(4)
        for i in range(4):
            self.aio("F%d" % i, paths[i])
        self.create_raid("S0", "raid0", ["F0", "F1"], strip_size_kb=64, superblock=True)
        self.create_raid("C0", "concat", ["F2", "F3"], strip_size_kb=64, superblock=True)
        sizes = {n: self.d.call("bdev_get_bdevs", {"name": n})[0]["num_blocks"]
                 for n in ("S0", "C0")}
        self.assertEqual(sizes, {"S0": 2 * (16 * MIB // 512 - 2048),
                                 "C0": 2 * (16 * MIB // 512 - 2048)})
        for n in ("S0", "C0"):
            s = self.create("blk." + n, n)
            vtc_ok("io", s, "--write", "--offset", "13M", "--size", "4M", "--bs", "192K",
                   "--seed", "71")
        self.stop_clean(self.d)
        self.sock_dir = None
        self.d = self.start_daemon()
        for i in (3, 1, 0):
            self.aio("F%d" % i, paths[i])
        self.assertIs(self.d.call("bdev_wait_for_examine"), True)
        # One leg of each is still missing: no redundancy, so both wait.
        self.assertEqual(raid(self.d, "S0")["state"], "online")
        self.assertEqual(raid(self.d, "C0")["state"], "configuring")
        self.aio("F2", paths[2])
        self.assertIs(self.d.call("bdev_wait_for_examine"), True)
        self.assertEqual(raid(self.d, "C0")["state"], "online")
        for n in ("S0", "C0"):
            self.assertEqual(self.d.call("bdev_get_bdevs", {"name": n})[0]["num_blocks"],
                             sizes[n])
            s = self.create("blk." + n, n)
            vtc_ok("io", s, "--read", "--verify", "--offset", "13M", "--size", "4M", "--bs",
                   "192K", "--seed", "71")

    def test_superblock_of_a_degraded_array_keeps_the_removed_leg_out(self):
        self.d = self.start_daemon()
        paths = self.files(2)
        for i in range(2):
            self.aio("F%d" % i, paths[i])
        self.create_raid("R1", "raid1", ["F0", "F1"], superblock=True)
        s = self.create("blk.r1", "R1")
        self.d.call("bdev_raid_remove_base_bdev", {"name": "F0"})
        vtc_ok("io", s, "--write", "--size", "4M", "--bs", "256K", "--seed", "41")
        self.stop_clean(self.d)
        self.d = self.start_daemon()
        self.aio("F0", paths[0])
        self.aio("F1", paths[1])
        wait_for(lambda: raid(self.d, "R1") and raid(self.d, "R1")["state"] == "online", 10,
                 "reassembled degraded")
        r = raid(self.d, "R1")
        self.assertEqual(r["num_base_bdevs_operational"], 1)
        self.assertFalse(self.claimed("F0"))
        s = self.create("blk.r1", "R1")
        vtc_ok("io", s, "--read", "--verify", "--size", "4M", "--bs", "256K", "--seed", "41")

    def test_delete_and_stop_during_a_rebuild(self):
        """A rebuild in progress neither blocks the raid's deletion nor the daemon's stop."""
        self.d = self.start_daemon()
        for round_ in ("delete", "stop"):
            for n in ("M0", "M1", "M2"):
                self.malloc(n, 64, 512)
            # The new leg is slow (100 ms per write): the rebuild takes 6 s.
            self.d.call("bdev_delay_create", {"base_bdev_name": "M2", "name": "D2",
                                              "avg_read_latency": 0, "p99_read_latency": 0,
                                              "avg_write_latency": 100000,
                                              "p99_write_latency": 100000})
            self.create_raid("R1", "raid1", ["M0", "M1"])
            s = self.create("blk.r1", "R1")
            self.d.call("bdev_raid_remove_base_bdev", {"name": "M1"})
            self.d.call("bdev_raid_add_base_bdev", {"raid_bdev": "R1", "base_bdev": "D2"})
            wait_for(lambda: "process" in raid(self.d, "R1"), 10, "rebuild running")
            vtc_ok("io", s, "--write", "--read", "--verify", "--size", "256K", "--bs", "64K")
            self.assertIn("process", raid(self.d, "R1"))
            if round_ == "delete":
                self.d.call("vhost_delete_controller", {"ctrlr": "blk.r1"})
                self.assertIs(self.d.call("bdev_raid_delete", {"name": "R1"}), True)
                self.assertIsNone(raid(self.d, "R1"))
                self.assertFalse(self.claimed("D2") or self.claimed("M0"))
                for n in ("D2", "M0", "M1", "M2"):
                    method = "bdev_delay_delete" if n == "D2" else "bdev_malloc_delete"
                    self.d.call(method, {"name": n})
            else:
                self.stop_clean(self.d)
                self.d = self.start_daemon()  # for tearDown

    def test_save_config_replays_a_raid_without_superblock(self):
        self.d = self.start_daemon()
        paths = self.files(2)
        for i in range(2):
            self.aio("F%d" % i, paths[i])
        self.create_raid("R0", "raid0", ["F0", "F1"], strip_size_kb=128)
        s = self.create("blk.r0", "R0")
        vtc_ok("io", s, "--write", "--size", "8M", "--bs", "256K", "--seed", "51")
        conf = os.path.join(self.d.dir, "saved.json")
        with open(conf, "w") as f, self.d.client() as c:
            rpc.save_config(c, f)
        self.stop_clean(self.d)
        self.sock_dir = self.d.dir
        self.d = self.start_daemon(config=conf, args=("-S", self.sock_dir))
        self.assertEqual(raid(self.d, "R0")["state"], "online")
        vtc_ok("io", self.sock("blk.r0"), "--read", "--verify", "--size", "8M", "--bs", "256K",
               "--seed", "51")
