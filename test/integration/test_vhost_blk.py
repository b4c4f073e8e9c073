# SPDX-License-Identifier: BSD-3-Clause
"""vhost-user-blk controllers end to end, driven by the test front end vtc
(test/vhost_client): the RPCs (SPDK's names, parameters and result shapes), the config space a
front end reads, I/O on split and packed rings, one and two queues, with and without EVENT_IDX,
poll-mode and interrupt-mode front ends against poll-mode and interrupt-mode daemons, read-only
controllers, deletion with and without a connected front end, bdev hot-removal, save_config and
restart, and front ends that die in the middle of their I/O."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import rpc
import vtlib
from vtlib import SharedDaemonTestCase, VtTestCase

MIB = 1024 * 1024
SECTOR = 512
EBUSY, ENODEV, EEXIST = -16, -19, -17
INVALID_PARAMS = -32602


def vtc_bin():
    return os.path.join(vtlib.build_dir(), "test", "vhost_client", "vtc")


def vtc(*args, timeout=60.0 * vtlib.SLOW):
    """Runs vtc; returns the CompletedProcess (text)."""
    path = vtc_bin()
    if not os.access(path, os.X_OK):
        raise AssertionError("vtc not found: %s (make -C test/vhost_client)" % path)
    return subprocess.run([path] + [str(a) for a in args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def vtc_ok(*args):
    r = vtc(*args)
    if r.returncode != 0:
        raise AssertionError("vtc %s failed (%d):\n%s%s" % (" ".join(map(str, args)),
                                                           r.returncode, r.stdout, r.stderr))
    return r.stdout


def vtc_info(sock, *opts):
    """vtc info as a dict of its key=value lines."""
    out = {}
    for line in vtc_ok("info", sock, *opts).splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


def start_bench(sock, seconds, *opts, rw="randread"):
    """A front end that keeps its connection and its I/O going for a while."""
    cmd = [vtc_bin(), "bench", sock, "--rw", rw, "--qd", "8", "--time",
           str(seconds)] + [str(o) for o in opts]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout * vtlib.SLOW
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError("timed out waiting for %s" % what)


class BlkBase:
    """Helpers shared by the classes below (self.d is the daemon)."""

    # Where the daemon creates its vhost-user sockets (-S); the daemon's folder by default.
    sock_dir = None

    def sock(self, name):
        return os.path.join(self.sock_dir or self.d.dir, name)

    def create(self, ctrlr, dev_name, **kw):
        params = {"ctrlr": ctrlr, "dev_name": dev_name}
        params.update(kw)
        self.assertIs(self.d.call("vhost_create_blk_controller", params), True)
        self.assertTrue(vtlib.is_socket(self.sock(ctrlr)))
        return self.sock(ctrlr)

    def delete(self, ctrlr):
        self.assertIs(self.d.call("vhost_delete_controller", {"ctrlr": ctrlr}), True)
        self.assertFalse(os.path.exists(self.sock(ctrlr)))

    def malloc(self, name, mib=16, bs=512):
        self.d.call("bdev_malloc_create", {"name": name, "num_blocks": mib * MIB // bs,
                                           "block_size": bs})

    def controller(self, name):
        return self.d.call("vhost_get_controllers", {"name": name})[0]

    def sessions(self, name):
        return self.controller(name)["sessions"]


class VhostBlkTest(BlkBase, SharedDaemonTestCase):
    """One poll-mode daemon for these tests; each test cleans up its controllers and bdevs."""

    def tearDown(self):
        for c in self.d.call("vhost_get_controllers"):
            self.d.call("vhost_delete_controller", {"ctrlr": c["ctrlr"]})
        vtlib.delete_all_bdevs(self.d)
        super().tearDown()

    def test_config_space_matches_malloc_null_and_file_bdevs(self):
        tmp = tempfile.mkdtemp(prefix="vt-it-blk-")
        self.addCleanup(shutil.rmtree, tmp, True)
        img = os.path.join(tmp, "disk.img")
        with open(img, "wb") as f:
            f.truncate(8 * MIB)
        self.malloc("Malloc0", 16, 512)
        self.d.call("bdev_null_create", {"name": "Null0", "num_blocks": 65536,
                                         "block_size": 4096})
        self.d.call("bdev_aio_create", {"filename": img, "name": "Aio0", "block_size": 4096})
        for ctrlr, bdev in (("blk.m", "Malloc0"), ("blk.n", "Null0"), ("blk.f", "Aio0")):
            b = self.d.call("bdev_get_bdevs", {"name": bdev})[0]
            info = vtc_info(self.create(ctrlr, bdev))
            bs, nb = b["block_size"], b["num_blocks"]
            self.assertEqual(int(info["capacity_sectors"]), nb * bs // SECTOR, ctrlr)
            self.assertEqual(int(info["blk_size"]), bs)
            self.assertEqual(int(info["seg_max"]), 126)
            self.assertEqual(int(info["size_max"]), MIB)
            self.assertEqual(int(info["num_queues"]), 64)
            self.assertEqual(int(info["max_queues"]), 64)
            self.assertEqual(int(info["min_io_size"]), 1)
            self.assertEqual(info["id"], bdev)
            offered = info["features_offered"].split()[1:]
            io = b["supported_io_types"]
            self.assertEqual("BLK_DISCARD" in offered, io["unmap"], ctrlr)
            self.assertEqual("BLK_WRITE_ZEROES" in offered, io["write_zeroes"], ctrlr)
            self.assertNotIn("BLK_RO", offered)
            self.assertNotIn("RING_PACKED", offered)
            for f in ("VERSION_1", "RING_INDIRECT_DESC", "RING_EVENT_IDX", "BLK_SEG_MAX",
                      "BLK_BLK_SIZE", "BLK_TOPOLOGY", "BLK_MQ", "PROTOCOL_FEATURES"):
                self.assertIn(f, offered)
            if io["unmap"]:
                self.assertEqual(int(info["discard_sector_alignment"]), bs // SECTOR)
                self.assertEqual(int(info["max_discard_seg"]), 16)
            self.assertIn("CONFIG", info["protocol_features"].split())
            self.assertIn("MQ", info["protocol_features"].split())

    def test_write_read_verify_flush_discard_write_zeroes_get_id(self):
        self.malloc("Malloc0", 16, 512)
        s = self.create("blk.0", "Malloc0")
        out = vtc_ok("io", s, "--write", "--read", "--verify", "--flush", "--get-id",
                     "--offset", "1M", "--size", "2M", "--bs", "64K", "--seed", "7")
        self.assertIn("id=Malloc0", out)
        # A second connection sees what the first wrote.
        vtc_ok("io", s, "--read", "--verify", "--offset", "1M", "--size", "2M", "--bs", "128K",
               "--seed", "7")
        vtc_ok("io", s, "--discard", "--write-zeroes", "--verify-zero", "--offset", "1M",
               "--size", "1M", "--bs", "256K")
        vtc_ok("io", s, "--read", "--verify", "--offset", "2M", "--size", "1M", "--seed", "7")

    def test_requests_split_in_many_buffers_and_regions(self):
        self.malloc("Malloc0", 16, 512)
        s = self.create("blk.0", "Malloc0")
        # 512-byte buffers: 256 data segments for 128 KiB, more than seg_max (126).
        vtc_ok("io", s, "--write", "--read", "--verify", "--size", "1M", "--bs", "128K",
               "--seg-size", "512", "--indirect")
        vtc_ok("io", s, "--write", "--read", "--verify", "--size", "1M", "--bs", "64K",
               "--seg-size", "4096", "--regions", "3")

    def test_read_only_controller_refuses_writes_with_ioerr(self):
        self.malloc("Malloc0", 16, 512)
        s = self.create("blk.ro", "Malloc0", readonly=True)
        info = vtc_info(s)
        offered = info["features_offered"].split()
        self.assertIn("BLK_RO", offered)
        self.assertNotIn("BLK_DISCARD", offered)
        r = vtc("io", s, "--write", "--size", "64K")
        self.assertEqual(r.returncode, 1)
        self.assertIn("IOERR", r.stderr)
        r = vtc("io", s, "--discard", "--size", "64K")
        self.assertEqual(r.returncode, 1)
        self.assertIn("IOERR", r.stderr)
        vtc_ok("io", s, "--read", "--verify-zero", "--flush", "--size", "64K")
        self.assertIs(self.controller("blk.ro")["backend_specific"]["block"]["readonly"],
                      True)

    def test_packed_ring_controller(self):
        self.malloc("Malloc0", 16, 4096)
        self.malloc("Malloc1", 16, 512)
        s = self.create("blk.p", "Malloc0", packed_ring=True)
        self.assertIn("RING_PACKED", vtc_info(s)["features_offered"].split())
        for opts in ((), ("--interrupt",), ("--indirect",), ("--queues", "2"),
                     ("--no-event-idx", "--interrupt")):
            vtc_ok("io", s, "--packed", "--write", "--read", "--verify", "--size", "2M",
                   "--bs", "32K", "--queue-size", "64", *opts)
        # A split-ring front end still works on a packed-capable controller...
        vtc_ok("io", s, "--write", "--read", "--verify", "--size", "1M")
        # ... and a controller created without packed_ring does not offer it.
        s1 = self.create("blk.s", "Malloc1")
        r = vtc("io", s1, "--packed", "--read", "--size", "4K")
        self.assertEqual(r.returncode, 1)
        self.assertIn("RING_PACKED", r.stderr)

    def test_two_queues_event_idx_on_and_off_poll_and_interrupt(self):
        self.malloc("Malloc0", 16, 512)
        s = self.create("blk.0", "Malloc0")
        for opts in (("--queues", "2"), ("--queues", "2", "--no-event-idx"),
                     ("--queues", "2", "--interrupt"),
                     ("--queues", "2", "--interrupt", "--no-event-idx"),
                     ("--no-indirect-desc", "--no-reply-ack")):
            vtc_ok("io", s, "--write", "--read", "--verify", "--size", "2M", "--bs", "16K",
                   *opts)

    def test_get_controllers_shape_and_sessions(self):
        self.malloc("Malloc0", 16, 512)
        s = self.create("blk.0", "Malloc0", cpumask="0x1")
        ctrls = self.d.call("vhost_get_controllers")
        self.assertEqual(len(ctrls), 1)
        c = ctrls[0]
        for k in ("ctrlr", "cpumask", "delay_base_us", "iops_threshold", "socket", "sessions",
                  "backend_specific"):
            self.assertIn(k, c)
        self.assertEqual(c["ctrlr"], "blk.0")
        self.assertEqual(c["cpumask"], "0x1")
        self.assertEqual(c["socket"], s)
        self.assertEqual(c["sessions"], [])
        self.assertEqual(c["backend_specific"]["block"],
                         {"readonly": False, "bdev": "Malloc0", "transport": "vhost_user_blk",
                          "packed_ring": False, "shared": False})
        bench = start_bench(s, 3, "--queues", "2")
        try:
            sess = wait_for(lambda: [x for x in self.sessions("blk.0") if x["started"]], 10,
                            "a started session")
            self.assertEqual(sess[0]["queues_started"], 2)
            self.assertEqual(sess[0]["max_queues"], 2)
            self.assertTrue(sess[0]["event_idx"])
            self.assertFalse(sess[0]["packed_ring"])
            for k in ("vid", "id", "name", "inflight_task_cnt"):
                self.assertIn(k, sess[0])
        finally:
            out, err = bench.communicate(timeout=30 * vtlib.SLOW)
        self.assertEqual(bench.returncode, 0, err)
        self.assertIn("errors=0", out)
        wait_for(lambda: self.sessions("blk.0") == [], 10, "the session to go")
        self.assertRpcError(self.d, "vhost_get_controllers", {"name": "nope"}, ENODEV, "nope")

    def test_delete_with_guest_connected_is_refused_with_ebusy(self):
        self.malloc("Malloc0", 16, 512)
        s = self.create("blk.0", "Malloc0")
        bench = start_bench(s, 2)
        try:
            wait_for(lambda: self.sessions("blk.0"), 10, "a session")
            self.assertRpcError(self.d, "vhost_delete_controller", {"ctrlr": "blk.0"}, EBUSY,
                                "blk.0", "guest connected")
            self.assertTrue(vtlib.is_socket(s))
        finally:
            out, err = bench.communicate(timeout=30 * vtlib.SLOW)
        self.assertEqual(bench.returncode, 0, err)
        self.assertIn("errors=0", out)
        # The connection is gone (or going): the deletion goes through.
        wait_for(lambda: self.sessions("blk.0") == [], 10, "the session to go")
        self.delete("blk.0")
        self.assertRpcError(self.d, "vhost_get_controllers", {"name": "blk.0"}, ENODEV)
        self.assertRpcError(self.d, "vhost_delete_controller", {"ctrlr": "blk.0"}, ENODEV)
        # The bdev is free again: another controller can claim it.
        self.create("blk.1", "Malloc0")

    def test_delete_right_after_the_front_end_exits_always_succeeds(self):
        """An orchestrator deletes the controller as soon as its VM process is gone: the
        daemon may not have handled the hang-up yet, and must not answer EBUSY for it."""
        self.malloc("Malloc0", 16, 512)
        for i in range(200):
            s = self.create("blk.0", "Malloc0")
            # vtc has exited (its socket closed by the kernel) when vtc_ok returns.
            vtc_ok("io", s, "--write", "--read", "--verify", "--size", "8192",
                   "--seed", str(i))
            self.assertIs(self.d.call("vhost_delete_controller", {"ctrlr": "blk.0"}), True,
                          "iteration %d" % i)
            self.assertFalse(os.path.exists(s), "iteration %d" % i)
            self.assertEqual(self.d.call("vhost_get_controllers"), [])
        # A front end that is still connected keeps the refusal.
        s = self.create("blk.0", "Malloc0")
        bench = start_bench(s, 2)
        try:
            wait_for(lambda: self.sessions("blk.0"), 10, "a session")
            self.assertRpcError(self.d, "vhost_delete_controller", {"ctrlr": "blk.0"}, EBUSY,
                                "blk.0", "guest connected (1 session)")
        finally:
            out, err = bench.communicate(timeout=30 * vtlib.SLOW)
        self.assertEqual(bench.returncode, 0, err)
        self.assertIs(self.d.call("vhost_delete_controller", {"ctrlr": "blk.0"}), True)

    def test_create_refuses_bad_parameters_with_clear_errors(self):
        self.malloc("Malloc0", 16, 512)
        create = "vhost_create_blk_controller"
        self.assertRpcError(self.d, create, {"ctrlr": "a/b", "dev_name": "Malloc0"},
                            INVALID_PARAMS, "a/b")
        self.assertRpcError(self.d, create, {"ctrlr": "x" * 65, "dev_name": "Malloc0"},
                            INVALID_PARAMS, "controller name")
        self.assertRpcError(self.d, create, {"ctrlr": "c0", "dev_name": "Nope"}, ENODEV,
                            "Nope")
        self.assertRpcError(self.d, create, {"ctrlr": "c0", "dev_name": "Malloc0",
                                             "transport": "vhost_user_scsi"}, INVALID_PARAMS,
                            "transport")
        self.assertRpcError(self.d, create, {"ctrlr": "c0", "dev_name": "Malloc0",
                                             "cpumask": "0x4"}, INVALID_PARAMS, "cpumask")
        self.assertRpcError(self.d, create, {"ctrlr": "c0", "dev_name": "Malloc0",
                                             "cpumask": "zz"}, INVALID_PARAMS, "cpumask")
        self.assertRpcError(self.d, create, {"ctrlr": "c0"}, INVALID_PARAMS, "dev_name")
        self.assertRpcError(self.d, create, {"ctrlr": "c0", "dev_name": "Malloc0",
                                             "bogus": 1}, INVALID_PARAMS, "bogus")
        self.create("c0", "Malloc0")
        self.assertRpcError(self.d, create, {"ctrlr": "c0", "dev_name": "Malloc0"}, EEXIST,
                            "c0")
        # Claimed by c0: a second writer is refused, a read-only sharer is not.
        self.assertRpcError(self.d, create, {"ctrlr": "c1", "dev_name": "Malloc0"},
                            -16, "bdev 'Malloc0' is claimed by vhost controller 'c0'")
        self.create("c2", "Malloc0", readonly=True)
        # A file in the way that is not a socket.
        path = self.sock("c3")
        with open(path, "w"):
            pass
        self.addCleanup(os.unlink, path)
        self.assertRpcError(self.d, create, {"ctrlr": "c3", "dev_name": "Malloc0",
                                             "readonly": True}, EEXIST, "not a socket")

    def test_hot_removed_bdev_fails_io_and_shows_null(self):
        self.malloc("Malloc0", 16, 512)
        s = self.create("blk.0", "Malloc0")
        vtc_ok("io", s, "--write", "--size", "64K")
        self.d.call("bdev_malloc_delete", {"name": "Malloc0"})
        info = vtc_info(s)
        self.assertEqual(int(info["capacity_sectors"]), 0)
        self.assertEqual(info["id_status"], "IOERR")
        block = self.controller("blk.0")["backend_specific"]["block"]
        self.assertIsNone(block["bdev"])
        cfg = self.d.call("framework_get_config", {"name": "vhost_blk"})
        self.assertEqual(cfg, [])
        self.delete("blk.0")

    def test_resized_bdev_changes_the_capacity(self):
        self.d.call("bdev_null_create", {"name": "Null0", "num_blocks": 65536,
                                         "block_size": 512})
        s = self.create("blk.0", "Null0")
        self.assertEqual(int(vtc_info(s)["capacity_sectors"]), 65536)
        self.d.call("bdev_null_resize", {"name": "Null0", "new_size": 64})
        self.assertEqual(int(vtc_info(s)["capacity_sectors"]), 64 * MIB // SECTOR)
        vtc_ok("io", s, "--read", "--offset", "60M", "--size", "64K")

    def test_front_end_killed_mid_io_leaves_the_daemon_serving(self):
        self.malloc("Malloc0", 16, 512)
        s = self.create("blk.0", "Malloc0")
        for sig in (signal.SIGKILL, signal.SIGTERM):
            bench = start_bench(s, 30, "--queues", "2", rw="randwrite")
            wait_for(lambda: [x for x in self.sessions("blk.0") if x["started"]], 10,
                     "a started session")
            time.sleep(0.2)
            bench.send_signal(sig)
            bench.communicate(timeout=30)
            wait_for(lambda: self.sessions("blk.0") == [], 10, "the session to go")
            vtc_ok("io", s, "--write", "--read", "--verify", "--size", "256K")
        self.delete("blk.0")


class VhostBlkInterruptTest(BlkBase, SharedDaemonTestCase):
    """The same I/O with the daemon sleeping on kicks (--interrupt), two reactors."""

    daemon_kwargs = {"interrupt": True, "args": ("-m", "0x3")}

    def tearDown(self):
        for c in self.d.call("vhost_get_controllers"):
            self.d.call("vhost_delete_controller", {"ctrlr": c["ctrlr"]})
        vtlib.delete_all_bdevs(self.d)
        super().tearDown()

    def test_io_split_and_packed_on_either_reactor(self):
        self.malloc("Malloc0", 16, 512)
        self.malloc("Malloc1", 16, 4096)
        s0 = self.create("blk.0", "Malloc0", cpumask="0x2")
        s1 = self.create("blk.1", "Malloc1", packed_ring=True)
        self.assertEqual(self.controller("blk.0")["reactor"], 1)
        for opts in ((), ("--interrupt",), ("--queues", "2", "--no-event-idx")):
            vtc_ok("io", s0, "--write", "--read", "--verify", "--size", "1M", "--bs", "16K",
                   *opts)
            vtc_ok("io", s1, "--packed", "--write", "--read", "--verify", "--size", "1M",
                   "--bs", "16K", *opts)

    def test_idle_daemon_sleeps(self):
        self.malloc("Malloc0", 16, 512)
        s = self.create("blk.0", "Malloc0")
        vtc_ok("io", s, "--write", "--read", "--verify", "--size", "256K")
        time.sleep(0.2)
        before = vtlib.cpu_seconds(self.d.pid)
        time.sleep(1.0)
        used = vtlib.cpu_seconds(self.d.pid) - before
        self.assertLess(used, 0.2 * vtlib.SLOW, "idle daemon used %.2f s of CPU in 1 s" % used)


class VhostBlkLifecycleTest(BlkBase, VtTestCase):
    """Daemons of their own: configuration across restarts, shutdown with a guest attached."""

    def test_save_config_and_restart_restore_every_controller_parameter(self):
        self.d = self.start_daemon(args=("-m", "0x3"))
        self.malloc("Malloc0", 16, 4096)
        self.malloc("Malloc1", 16, 512)
        self.create("blk.p", "Malloc0", packed_ring=True, cpumask="0x2")
        self.create("blk.ro", "Malloc1", readonly=True)
        vtc_ok("io", self.sock("blk.p"), "--packed", "--write", "--size", "64K")
        before = self.d.call("vhost_get_controllers")
        cfg = self.d.call("framework_get_config", {"name": "vhost_blk"})
        self.assertEqual(
            cfg, [{"method": "vhost_create_blk_controller",
                   "params": {"ctrlr": "blk.p", "dev_name": "Malloc0", "cpumask": "0x2",
                              "readonly": False, "packed_ring": True,
                              "transport": "vhost_user_blk"}},
                  {"method": "vhost_create_blk_controller",
                   "params": {"ctrlr": "blk.ro", "dev_name": "Malloc1", "cpumask": "0x3",
                              "readonly": True, "packed_ring": False,
                              "transport": "vhost_user_blk"}}])
        conf = os.path.join(self.d.dir, "saved.json")
        with open(conf, "w") as f, self.d.client() as c:
            rpc.save_config(c, f)
        with open(conf) as f:
            names = [s["subsystem"] for s in json.load(f)["subsystems"]]
        self.assertLess(names.index("bdev"), names.index("vhost_blk"))
        self.stop_clean(self.d)
        self.assertFalse(os.path.exists(self.sock("blk.p")))

        # The same socket folder (the last -S wins), so the same socket paths.
        self.sock_dir = self.d.dir
        d2 = self.start_daemon(config=conf, args=("-m", "0x3", "-S", self.sock_dir))
        self.d = d2
        self.assertEqual(d2.call("vhost_get_controllers"), before)
        vtc_ok("io", self.sock("blk.p"), "--packed", "--write", "--read", "--verify",
               "--size", "256K")
        r = vtc("io", self.sock("blk.ro"), "--write", "--size", "4K")
        self.assertIn("IOERR", r.stderr)
        self.stop_clean(d2)

    def test_shutdown_with_a_guest_connected_exits_cleanly(self):
        self.d = self.start_daemon()
        self.malloc("Malloc0", 16, 512)
        s = self.create("blk.0", "Malloc0")
        bench = start_bench(s, 30, "--queues", "2")
        try:
            wait_for(lambda: [x for x in self.sessions("blk.0") if x["started"]], 10,
                     "a started session")
            self.stop_clean(self.d)
        finally:
            bench.kill()
            bench.communicate(timeout=30)
        self.assertFalse(os.path.exists(s))

    def test_socket_path_too_long_is_refused(self):
        deep = tempfile.mkdtemp(prefix="vt-it-" + "d" * 60 + "-")
        self.addCleanup(shutil.rmtree, deep, True)
        self.d = self.start_daemon(args=("-S", deep))
        self.malloc("Malloc0", 16, 512)
        name = "n" * (107 - len(deep))
        self.assertRpcError(self.d, "vhost_create_blk_controller",
                            {"ctrlr": name, "dev_name": "Malloc0"}, INVALID_PARAMS,
                            "Unix socket")
        self.assertIs(self.d.call("vhost_create_blk_controller",
                                  {"ctrlr": name[:-1], "dev_name": "Malloc0"}), True)
        self.assertTrue(vtlib.is_socket(os.path.join(deep, name[:-1])))
        self.stop_clean(self.d)
