# SPDX-License-Identifier: BSD-3-Clause
"""Ceph RBD bdevs (issue 13) against a real single-node Ceph cluster (ceph_cluster.py) that this
module starts once and stops at the end: cluster registration, bdev_rbd_create over a registered
cluster and over a private connection, I/O from vtc over a vhost-blk controller with the data
checked on the Ceph side (rbd export), resize from the RPC and from outside, every bad parameter
refused with nothing left behind, save_config replayed with -c, and an OSD stopped under I/O."""

import json
import os
import subprocess
import time

import vtlib
from vtlib import SharedDaemonTestCase, VtTestCase
from test_vhost_blk import BlkBase, vtc, vtc_bin, vtc_ok, wait_for
from ceph_cluster import CephCluster, free_port, missing_tools
from test_vhost_scsi_frontend import CHECK_CONDITION, ScsiSession, num

MIB = 1024 * 1024
ENOENT, EBUSY, EEXIST, ENODEV = -2, -16, -17, -19
ETIMEDOUT = -110
INVALID_PARAMS = -32602
POOL = "vtpool"

_cluster = None


def setUpModule():
    global _cluster
    why = missing_tools()
    if why:
        raise AssertionError("the rbd tests cannot run: missing %s (scripts/pkgdep.sh installs "
                             "ceph-mon, ceph-osd and ceph-common)" % why)
    _cluster = CephCluster().start()
    try:
        _cluster.create_pool(POOL)
    except BaseException:
        _cluster.stop()
        _cluster = None
        raise


def tearDownModule():
    global _cluster
    if _cluster is not None:
        _cluster.stop()
        _cluster = None


def cluster():
    if _cluster is None:
        raise AssertionError("the test Ceph cluster did not start")
    return _cluster


def new_image(name, mib=16):
    cluster().rbd("create", "--size", "%dM" % mib, "%s/%s" % (POOL, name))
    return name


def export_image(name, tmpdir):
    path = os.path.join(tmpdir, name + ".export")
    cluster().rbd("export", "%s/%s" % (POOL, name), path)
    with open(path, "rb") as f:
        return f.read()


def pattern(offset, size, seed):
    r = subprocess.run([vtc_bin(), "pattern", "--offset", str(offset), "--size", str(size),
                        "--seed", str(seed)], capture_output=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError("vtc pattern failed: %s" % r.stderr)
    return r.stdout


def private_config():
    """bdev_rbd_create's config for a connection without a registered cluster."""
    return {"mon_host": cluster().mon_addr, "auth_client_required": "none",
            "keyring": "/dev/null"}


class RbdBase(BlkBase):
    def register(self, name="c0", **kw):
        params = {"name": name, "config_file": cluster().conf}
        params.update(kw)
        self.assertEqual(self.d.call("bdev_rbd_register_cluster", params, timeout=30), name)
        return name

    def create_rbd(self, image, **kw):
        params = {"pool_name": POOL, "rbd_name": image, "block_size": 512}
        params.update(kw)
        return self.d.call("bdev_rbd_create", params, timeout=30)

    def cleanup_rbd(self):
        for c in self.d.call("vhost_get_controllers"):
            self.d.call("vhost_delete_controller", {"ctrlr": c["ctrlr"]})
        for b in self.d.call("bdev_get_bdevs"):
            if b["product_name"] == "Ceph Rbd Disk":
                self.d.call("bdev_rbd_delete", {"name": b["name"]}, timeout=30)
        for c in self.d.call("bdev_rbd_get_clusters_info"):
            self.d.call("bdev_rbd_unregister_cluster", {"name": c["cluster_name"]},
                        timeout=30)


class RbdTest(RbdBase, SharedDaemonTestCase):
    def tearDown(self):
        self.cleanup_rbd()
        super().tearDown()

    def test_io_through_vhost_blk_lands_in_the_image(self):
        img = new_image("io0", 16)
        self.register("c0")
        name = self.create_rbd(img, name="Rbd0", cluster_name="c0", block_size=4096)
        self.assertEqual(name, "Rbd0")
        b = self.d.call("bdev_get_bdevs", {"name": "Rbd0"})[0]
        self.assertEqual(b["product_name"], "Ceph Rbd Disk")
        self.assertEqual(b["block_size"], 4096)
        self.assertEqual(b["num_blocks"], 16 * MIB // 4096)
        self.assertEqual(b["driver_specific"]["rbd"],
                         {"pool_name": POOL, "rbd_name": img, "cluster_name": "c0",
                          "config_file": cluster().conf})
        io = b["supported_io_types"]
        for t in ("read", "write", "flush", "unmap", "write_zeroes", "reset"):
            self.assertTrue(io[t], t)
        s = self.create("blk.rbd", "Rbd0")
        vtc_ok("io", s, "--write", "--read", "--verify", "--flush", "--offset", "1M",
               "--size", "3M", "--bs", "64K", "--seed", "11", "--seg-size", "4K")
        vtc_ok("io", s, "--discard", "--write-zeroes", "--verify-zero", "--offset", "2M",
               "--size", "512K", "--bs", "128K")
        data = export_image(img, self.d.dir)
        self.assertEqual(len(data), 16 * MIB)
        want = pattern(1 * MIB, 3 * MIB, 11)
        self.assertEqual(data[1 * MIB:2 * MIB], want[:MIB], "rbd export differs")
        self.assertEqual(data[2 * MIB:2 * MIB + 512 * 1024], bytes(512 * 1024))
        self.assertEqual(data[2 * MIB + 512 * 1024:4 * MIB], want[MIB + 512 * 1024:])
        self.assertEqual(data[:MIB], bytes(MIB))
        # One connection for the cluster: unregistering it is refused while a bdev uses it.
        self.assertRpcError(self.d, "bdev_rbd_unregister_cluster", {"name": "c0"}, EBUSY,
                            "c0", "in use")
        self.delete("blk.rbd")
        self.assertIs(self.d.call("bdev_rbd_delete", {"name": "Rbd0"}, timeout=30), True)
        self.assertEqual(self.d.call("bdev_get_bdevs"), [])
        self.assertIs(self.d.call("bdev_rbd_unregister_cluster", {"name": "c0"}, timeout=30),
                      True)
        self.assertEqual(self.d.call("bdev_rbd_get_clusters_info"), [])

    def test_clusters_info_and_default_names_over_private_connections(self):
        # Through scripts/rpc.py, with SPDK's command syntax.
        p = vtlib.run_rpc_py(self.d.sock, "bdev_rbd_register_cluster", "c1", "--user", "admin",
                             "--config-param", "rados_osd_op_timeout=30", "--config-file",
                             cluster().conf)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.strip(), "c1")
        info = self.d.call("bdev_rbd_get_clusters_info", {"name": "c1"})
        self.assertEqual(info, {"cluster_name": "c1", "user_id": "admin",
                                "config_param": {"rados_osd_op_timeout": "30"},
                                "config_file": cluster().conf})
        self.assertEqual(self.d.call("bdev_rbd_get_clusters_info"), [info])
        a, b = new_image("def0", 8), new_image("def1", 8)
        self.assertEqual(self.create_rbd(a, config=private_config()), "Ceph0")
        args = ["bdev_rbd_create", POOL, b, "512", "-r"]
        for k, v in private_config().items():
            args += ["--config", "%s=%s" % (k, v)]
        p = vtlib.run_rpc_py(self.d.sock, *args)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.strip(), "Ceph1")
        d1 = self.d.call("bdev_get_bdevs", {"name": "Ceph1"})[0]
        self.assertEqual(d1["driver_specific"]["rbd"]["config"], private_config())
        self.assertNotIn("cluster_name", d1["driver_specific"]["rbd"])
        s = self.create("blk.ro", "Ceph1", readonly=True)
        r = vtc("io", s, "--write", "--size", "64K")
        self.assertNotEqual(r.returncode, 0, "write to a read-only rbd bdev succeeded")
        vtc_ok("io", s, "--read", "--verify-zero", "--size", "64K")

    def test_resize_by_rpc_and_from_outside(self):
        img = new_image("rs0", 8)
        self.register("c0")
        self.create_rbd(img, name="Rbd1", cluster_name="c0")
        s = self.create("blk.rs", "Rbd1")
        self.assertIs(self.d.call("bdev_rbd_resize", {"name": "Rbd1", "new_size": 12},
                                  timeout=30), True)
        self.assertEqual(self.d.call("bdev_get_bdevs", {"name": "Rbd1"})[0]["num_blocks"],
                         12 * MIB // 512)
        size = cluster().rbd("info", "--format", "json", "%s/%s" % (POOL, img)).stdout
        self.assertEqual(json.loads(size)["size"], 12 * MIB)
        self.assertEqual(int(vtc_ok("info", s).split("capacity_sectors=")[1].split()[0]),
                         12 * MIB // 512)
        # Grown by someone else: the watch notices it and the bdev follows.
        cluster().rbd("resize", "--size", "20M", "%s/%s" % (POOL, img))
        wait_for(lambda: self.d.call("bdev_get_bdevs", {"name": "Rbd1"})[0]["num_blocks"] ==
                 20 * MIB // 512, 15, "the bdev to follow the image's new size")
        vtc_ok("io", s, "--write", "--read", "--verify", "--offset", "19M", "--size", "1M")
        self.assertRpcError(self.d, "bdev_rbd_resize", {"name": "Rbd1", "new_size": 4},
                            INVALID_PARAMS, "new_size", "only grow")
        self.assertRpcError(self.d, "bdev_rbd_resize", {"name": "nope", "new_size": 40},
                            ENODEV, "nope")

    def assertNothingLeft(self):
        self.assertEqual(self.d.call("bdev_get_bdevs"), [])

    def test_bad_parameters_are_refused_with_nothing_created(self):
        img = new_image("bad0", 8)
        self.register("c0")
        d = self.d
        cases = [
            ({"pool_name": "nopool", "rbd_name": img, "block_size": 512, "cluster_name": "c0"},
             ENOENT, ("pool 'nopool'", "no such pool")),
            ({"pool_name": POOL, "rbd_name": "noimg", "block_size": 512, "cluster_name": "c0"},
             ENOENT, ("image 'noimg'", "no such image")),
            ({"pool_name": POOL, "rbd_name": img, "block_size": 512, "cluster_name": "nocl"},
             ENOENT, ("rbd cluster 'nocl' is not registered",)),
            ({"pool_name": POOL, "rbd_name": img, "block_size": 1000, "cluster_name": "c0"},
             INVALID_PARAMS, ("block_size",)),
            ({"pool_name": POOL, "rbd_name": img, "cluster_name": "c0"},
             INVALID_PARAMS, ("block_size",)),
            ({"rbd_name": img, "block_size": 512, "cluster_name": "c0"},
             INVALID_PARAMS, ("pool_name",)),
            ({"pool_name": POOL, "rbd_name": "", "block_size": 512, "cluster_name": "c0"},
             INVALID_PARAMS, ("rbd_name",)),
            ({"pool_name": POOL, "rbd_name": img, "block_size": 512, "cluster_name": "c0",
              "user_id": "admin"}, INVALID_PARAMS, ("cluster_name",)),
            ({"pool_name": POOL, "rbd_name": img, "block_size": 512, "config": {"a": 1}},
             INVALID_PARAMS, ("config",)),
            ({"pool_name": POOL, "rbd_name": img, "block_size": 512, "cluster_name": "c0",
              "uuid": "not-a-uuid"}, INVALID_PARAMS, ("uuid",)),
            ({"pool_name": POOL, "rbd_name": img, "block_size": 512,
              "config": {"no_such_option": "1", "mon_host": cluster().mon_addr}},
             ENOENT, ("no_such_option",)),
        ]
        for params, code, needles in cases:
            self.assertRpcError(d, "bdev_rbd_create", params, code, *needles)
            self.assertNothingLeft()
        # A name already taken.
        self.create_rbd(img, name="Taken", cluster_name="c0")
        self.assertRpcError(d, "bdev_rbd_create", {"name": "Taken", "pool_name": POOL,
                                                   "rbd_name": img, "block_size": 512,
                                                   "cluster_name": "c0"}, EEXIST, "Taken")
        d.call("bdev_rbd_delete", {"name": "Taken"}, timeout=30)
        self.assertRpcError(d, "bdev_rbd_delete", {"name": "Taken"}, ENODEV, "Taken")
        d.call("bdev_malloc_create", {"name": "M0", "num_blocks": 64, "block_size": 512})
        self.assertRpcError(d, "bdev_rbd_delete", {"name": "M0"}, ENODEV, "M0")
        d.call("bdev_malloc_delete", {"name": "M0"})
        # Clusters: duplicates, unknown names, a config file that does not exist.
        self.assertRpcError(d, "bdev_rbd_register_cluster", {"name": "c0"}, EEXIST, "c0")
        self.assertRpcError(d, "bdev_rbd_register_cluster", {}, INVALID_PARAMS, "name")
        self.assertRpcError(d, "bdev_rbd_register_cluster",
                            {"name": "c9", "config_file": "/nonexistent/ceph.conf"}, ENOENT,
                            "/nonexistent/ceph.conf")
        self.assertRpcError(d, "bdev_rbd_register_cluster",
                            {"name": "c9", "config_param": {"mon_host": 5}}, INVALID_PARAMS,
                            "config_param")
        self.assertRpcError(d, "bdev_rbd_unregister_cluster", {"name": "c9"}, ENOENT, "c9")
        self.assertRpcError(d, "bdev_rbd_get_clusters_info", {"name": "c9"}, ENOENT, "c9")
        self.assertEqual([c["cluster_name"] for c in d.call("bdev_rbd_get_clusters_info")],
                         ["c0"])

    def test_unreachable_monitor_fails_within_the_bound(self):
        dead = "127.0.0.1:%d" % free_port()
        t0 = time.monotonic()
        self.assertRpcError(self.d, "bdev_rbd_register_cluster",
                            {"name": "dead", "config_param": {
                                "mon_host": dead, "auth_client_required": "none",
                                "keyring": "/dev/null", "client_mount_timeout": "3"}},
                            ETIMEDOUT, "dead", "no monitor answered")
        self.assertLess(time.monotonic() - t0, 15)
        t0 = time.monotonic()
        # The daemon answers other RPCs while a connection waits.
        self.assertEqual(self.d.call("bdev_rbd_get_clusters_info"), [])
        self.assertRpcError(self.d, "bdev_rbd_create",
                            {"pool_name": POOL, "rbd_name": "x", "block_size": 512,
                             "config": {"mon_host": dead, "auth_client_required": "none",
                                        "keyring": "/dev/null",
                                        "client_mount_timeout": "3"}},
                            ETIMEDOUT, "connect")
        self.assertLess(time.monotonic() - t0, 15)
        self.assertNothingLeft()

    def test_compare_and_write_over_vhost_scsi_is_librbds(self):
        img = new_image("caw0", 8)
        self.register("c0")
        self.create_rbd(img, name="RbdCaw", cluster_name="c0")
        b = self.d.call("bdev_get_bdevs", {"name": "RbdCaw"})[0]
        self.assertTrue(b["supported_io_types"]["compare_and_write"])
        self.d.call("vhost_create_scsi_controller", {"ctrlr": "s.caw"})
        self.d.call("vhost_scsi_controller_add_target",
                    {"ctrlr": "s.caw", "scsi_target_num": 0, "bdev_name": "RbdCaw"})
        self.tmp, self.sessions = self.d.dir, []  # what ScsiSession keeps its stderr in
        s = ScsiSession(self, os.path.join(self.d.dir, "s.caw"))
        self.addCleanup(s.close)

        def one(cmd, rc):
            res = s.results(cmd, rc)
            self.assertEqual(len(res), 1, res)
            return res[0]

        r = one("write 0 16 4 21", 0)
        self.assertEqual((num(r["response"]), num(r["status"])), (0, 0), r)
        r = one("caw 0 17 1 21 22", 0)
        self.assertEqual((num(r["response"]), num(r["status"])), (0, 0), r)
        # Compared with the old data now: MISCOMPARE, nothing written.
        r = one("caw 0 17 1 21 23", 1)
        self.assertEqual((num(r["status"]), num(r["key"]), num(r["asc"])),
                         (CHECK_CONDITION, 0xe, 0x1d), r)
        s.close()
        self.d.call("vhost_delete_controller", {"ctrlr": "s.caw"})
        data = export_image(img, self.d.dir)
        self.assertEqual(data[16 * 512:17 * 512], pattern(16 * 512, 512, 21))
        self.assertEqual(data[17 * 512:18 * 512], pattern(17 * 512, 512, 22))
        self.assertEqual(data[18 * 512:20 * 512], pattern(18 * 512, 1024, 21))

    def test_save_config_is_replayed(self):
        img = new_image("cfg0", 8)
        self.register("c0")
        self.create_rbd(img, name="RbdCfg", cluster_name="c0", uuid=UUID)
        self.create_rbd(new_image("cfg1", 8), name="RbdPriv", config=private_config(),
                        read_only=True)
        cfg = self.d.call("framework_get_config", {"name": "bdev"})
        methods = [e["method"] for e in cfg]
        self.assertLess(methods.index("bdev_rbd_register_cluster"),
                        methods.index("bdev_rbd_create"))
        path = os.path.join(self.d.dir, "saved.json")
        with open(path, "w") as f:
            json.dump({"subsystems": [{"subsystem": "bdev", "config": cfg}]}, f)
        d2 = vtlib.Daemon(config=path)
        self.addCleanup(d2.cleanup)
        d2.start(timeout=60)
        b = {x["name"]: x for x in d2.call("bdev_get_bdevs")}
        self.assertEqual(b["RbdCfg"]["uuid"], UUID)
        self.assertEqual(b["RbdCfg"]["driver_specific"]["rbd"]["cluster_name"], "c0")
        self.assertTrue(b["RbdPriv"]["driver_specific"]["rbd"]["config"])
        self.assertEqual(d2.call("framework_get_config", {"name": "bdev"}), cfg)
        self.stop_clean(d2)


UUID = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"


class RbdFaultTest(RbdBase, VtTestCase):
    """The OSD stopped under I/O: requests fail (rados_osd_op_timeout) or wait within the bound,
    the daemon keeps answering RPCs, and once the OSD is back I/O works again."""

    def test_osd_stopped_under_io(self):
        self.d = self.start_daemon()
        img = new_image("fault0", 16)
        self.register("cf", config_param={"rados_osd_op_timeout": "5"})
        self.create_rbd(img, name="RbdF", cluster_name="cf")
        s = self.create("blk.f", "RbdF")
        vtc_ok("io", s, "--write", "--read", "--verify", "--size", "2M", "--seed", "3")
        # Away from the data written above, which must survive the fault.
        bench = subprocess.Popen([vtc_bin(), "bench", s, "--rw", "randwrite", "--qd", "4",
                                  "--time", "15", "--offset", "8M", "--size", "8M",
                                  "--io-timeout", "30000"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 stdin=subprocess.DEVNULL)
        self.addCleanup(lambda: bench.poll() is None and bench.kill())
        time.sleep(1)  # some I/O in flight before the fault
        try:
            cluster().stop_osd()
            t0 = time.monotonic()
            # Answers RPCs while the OSD is away.
            while time.monotonic() - t0 < 8:
                t = time.monotonic()
                self.d.call("bdev_get_bdevs", {"name": "RbdF"})
                self.assertLess(time.monotonic() - t, 1.0, "RPC slow while the OSD is down")
                time.sleep(0.5)
            # The guest's I/O failed within the bound: vtc bench reports an error.
            out, err = bench.communicate(timeout=60)
            self.assertNotEqual(bench.returncode, 0, "I/O kept succeeding without an OSD:\n%s%s"
                                % (out, err))
            t = time.monotonic()
            r = vtc("io", s, "--read", "--size", "4K", "--io-timeout", "20000")
            self.assertNotEqual(r.returncode, 0, "a read succeeded without an OSD")
            # rados_osd_op_timeout (5 s) bounds it, well inside vtc's 20 s.
            self.assertLess(time.monotonic() - t, 12, "a read took too long to fail")
            self.assertIn("IOERR", r.stderr + r.stdout)
        finally:
            if cluster().osd is None:
                cluster().start_osd()
        wait_for(lambda: vtc("io", s, "--read", "--size", "4K").returncode == 0, 60,
                 "I/O to work again once the OSD is back")
        vtc_ok("io", s, "--read", "--verify", "--size", "2M", "--seed", "3")
        vtc_ok("io", s, "--write", "--read", "--verify", "--offset", "4M", "--size", "1M")
        self.cleanup_rbd()
        self.stop_clean(self.d)
