#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""RBD benchmark: vtarget's rbd bdev against qemu-storage-daemon's rbd driver, same image, same
cluster, same front end.

Starts the throwaway single-node Ceph cluster of the tests (test/integration/ceph_cluster.py:
one monitor, one memstore OSD, on this machine), creates one image, and for each target exports
it as vhost-user-blk and runs vtc bench against it:

  vtarget   vtarget -m 0x1, bdev_rbd_create over a registered cluster, vhost-blk controller
  vtarget-intr  the same with --interrupt (the reactor sleeps when idle)
  qsd       qemu-storage-daemon --blockdev driver=rbd (package qemu-block-extra), one queue

Workloads: 128 KiB sequential write (it also fills the image, so that the reads read objects that
exist), 128 KiB sequential read, 4 KiB random write and random read, each at QD 1 and QD 32,
--time seconds each, the whole set --repeat times (the report shows the run of median IOPS and
the range). On 2 cores the Ceph daemons, the target and the front end share the CPUs: the figures
compare the targets under the same conditions; they are not Ceph's own numbers. The front end
sleeps on the call eventfds (vtc --interrupt) instead of busy-polling: with 2 cores, a spinning
front end and a spinning reactor leave librbd and the OSD a share of the CPUs in time slices.

Usage: bench/rbd.py [--time S] [--repeat N] [--targets vtarget,vtarget-intr,qsd] [--no-build]
                    [--out FILE]
Not part of `make test`: a measurement. Run it on a quiet machine.
"""

import argparse
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "test", "integration"))
sys.dont_write_bytecode = True

from ceph_cluster import CephCluster  # noqa: E402

POOL = "bench"
IMAGE = "img0"
IMAGE_MIB = 256
WORKLOADS = [("write", 131072, 1), ("write", 131072, 32), ("read", 131072, 1),
             ("read", 131072, 32), ("randwrite", 4096, 1), ("randwrite", 4096, 32),
             ("randread", 4096, 1), ("randread", 4096, 32)]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--time", type=float, default=5.0, help="seconds per workload (default 5)")
    p.add_argument("--repeat", type=int, default=3, help="rounds (default 3)")
    p.add_argument("--targets", default="vtarget,vtarget-intr,qsd",
                   help="any of vtarget, vtarget-intr, qsd")
    p.add_argument("--no-build", action="store_true")
    p.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "rbd.md"))
    a = p.parse_args()
    if a.repeat < 1 or a.time <= 0:
        p.error("--repeat >= 1 and --time > 0")
    return a


def build_dir():
    return os.path.abspath(os.environ.get("BUILD_DIR", os.path.join(ROOT, "build")))


def wait_path(path, proc, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return
        if proc.poll() is not None:
            raise SystemExit("rbd.py: %s exited with %d" % (what, proc.returncode))
        time.sleep(0.05)
    raise SystemExit("rbd.py: %s did not create %s" % (what, path))


def stop(proc):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


def rpc(sock, method, params=None):
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    import rpc as rpclib
    with rpclib.JSONRPCClient(sock, timeout=60.0) as c:
        return c.call(method, params)


class Vtarget:
    def __init__(self, tmp, cluster, interrupt=False):
        self.dir = os.path.join(tmp, "vt")
        os.makedirs(self.dir)
        self.sock = os.path.join(self.dir, "vhost.0")
        rpc_sock = os.path.join(self.dir, "rpc.sock")
        log = open(os.path.join(self.dir, "log"), "wb")
        env = dict(os.environ, RUNTIME_DIRECTORY=self.dir)
        cmd = [os.path.join(build_dir(), "bin", "vtarget"), "-m", "0x1", "-r", rpc_sock, "-S",
               self.dir] + (["--interrupt"] if interrupt else [])
        self.proc = subprocess.Popen(cmd, stdout=log,
                                     stderr=subprocess.STDOUT, env=env, cwd=self.dir)
        log.close()
        wait_path(rpc_sock, self.proc, "vtarget")
        rpc(rpc_sock, "framework_wait_init")
        rpc(rpc_sock, "bdev_rbd_register_cluster", {"name": "c0", "config_file": cluster.conf})
        rpc(rpc_sock, "bdev_rbd_create", {"name": "Rbd0", "pool_name": POOL,
                                          "rbd_name": IMAGE, "block_size": 512,
                                          "cluster_name": "c0"})
        rpc(rpc_sock, "vhost_create_blk_controller", {"ctrlr": "vhost.0", "dev_name": "Rbd0"})
        wait_path(self.sock, self.proc, "vtarget")


class Qsd:
    def __init__(self, tmp, cluster):
        self.sock = os.path.join(tmp, "qsd.sock")
        log = open(os.path.join(tmp, "qsd.log"), "wb")
        blockdev = "driver=rbd,node-name=rbd0,pool=%s,image=%s,conf=%s" % (POOL, IMAGE,
                                                                           cluster.conf)
        export = ("type=vhost-user-blk,id=exp0,node-name=rbd0,addr.type=unix,addr.path=%s,"
                  "writable=on,num-queues=1" % self.sock)
        self.proc = subprocess.Popen(["qemu-storage-daemon", "--blockdev", blockdev,
                                      "--export", export], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_path(self.sock, self.proc, "qemu-storage-daemon")


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def run_bench(sock, rw, bs, qd, seconds):
    vtc = os.path.join(build_dir(), "test", "vhost_client", "vtc")
    r = subprocess.run([vtc, "bench", sock, "--rw", rw, "--bs", str(bs), "--qd", str(qd),
                        "--time", str(seconds), "--io-timeout", "60000", "--interrupt"],
                       capture_output=True, text=True, timeout=seconds + 120)
    if r.returncode != 0:
        raise SystemExit("rbd.py: vtc bench %s failed: %s%s" % (rw, r.stdout, r.stderr))
    return dict(kv.split("=", 1) for kv in r.stdout.split() if "=" in kv)


def main():
    a = parse_args()
    targets = [t for t in a.targets.split(",") if t]
    for t in targets:
        if t not in ("vtarget", "vtarget-intr", "qsd"):
            raise SystemExit("rbd.py: unknown target %r" % t)
    if "qsd" in targets and not os.path.exists(
            "/usr/lib/x86_64-linux-gnu/qemu/block-rbd.so"):
        raise SystemExit("rbd.py: qemu-storage-daemon's rbd driver is missing "
                         "(apt-get install qemu-block-extra)")
    if not a.no_build:
        subprocess.run(["make", "-s", "--no-print-directory", "app"], cwd=ROOT, check=True)
        subprocess.run(["make", "-s", "--no-print-directory", "-C", "test/vhost_client"],
                       cwd=ROOT, check=True)
    load_before = open("/proc/loadavg").read().split()[0]
    tmp = tempfile.mkdtemp(prefix="vt-bench-rbd-")
    cluster = CephCluster(memstore_mib=2048)
    rows = []  # (target, rw, bs, qd, round, iops, MB/s, p50, p99, cpu%)
    try:
        cluster.start()
        cluster.create_pool(POOL)
        cluster.rbd("create", "--size", "%dM" % IMAGE_MIB, "%s/%s" % (POOL, IMAGE))
        hz = os.sysconf("SC_CLK_TCK")
        for rnd in range(a.repeat):
            for t in targets:
                if t == "qsd":
                    target = Qsd(tmp, cluster)
                else:
                    target = Vtarget(tmp, cluster, interrupt=t == "vtarget-intr")
                try:
                    for rw, bs, qd in WORKLOADS:
                        c0, t0 = cpu_ticks(target.proc.pid), time.monotonic()
                        res = run_bench(target.sock, rw, bs, qd, a.time)
                        cpu = (cpu_ticks(target.proc.pid) - c0) / hz / (time.monotonic() - t0)
                        iops = float(res.get("iops", 0))
                        rows.append((t, rw, bs, qd, rnd, iops, iops * bs / 1e6,
                                     res.get("lat_p50_us", "?"), res.get("lat_p99_us", "?"),
                                     100.0 * cpu))
                        print("%-8s %-9s %6d QD%-3d round %d: %8.0f IOPS %7.1f MB/s" %
                              (t, rw, bs, qd, rnd, iops, iops * bs / 1e6), flush=True)
                finally:
                    stop(target.proc)
                if t != "qsd":
                    shutil.rmtree(target.dir, ignore_errors=True)
    finally:
        cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    report = format_report(a, targets, rows, load_before)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        f.write(report)
    print(report)


def format_report(a, targets, rows, load_before):
    load_after = open("/proc/loadavg").read().split()[0]
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    qemu = subprocess.run(["qemu-storage-daemon", "--version"], capture_output=True,
                          text=True).stdout.split("\n")[0]
    ceph = subprocess.run(["ceph", "--version"], capture_output=True, text=True).stdout.strip()
    out = ["# RBD over vhost-user-blk: vtarget vs qemu-storage-daemon", "",
           "- vtarget %s; %s; %s" % (commit, qemu, ceph),
           "- %s, %d CPUs, load %s before, %s after" % (platform.node(), os.cpu_count(),
                                                        load_before, load_after),
           "- single-node cluster on this machine (1 mon, 1 memstore OSD), image %d MiB, "
           "%.0f s per run, %d rounds; median IOPS run shown" % (IMAGE_MIB, a.time, a.repeat),
           "- the targets, Ceph and the front end (vtc bench --interrupt) share the CPUs", "",
           "| workload | target | IOPS | MB/s | IOPS range | p50 µs | p99 µs | target CPU |"
           " vs qsd |", "|---|---|---|---|---|---|---|---|---|"]
    median, ranges = {}, {}
    for rw, bs, qd in WORKLOADS:
        for t in targets:
            runs = sorted((r for r in rows if r[:4] == (t, rw, bs, qd)), key=lambda r: r[5])
            if runs:
                median[(t, rw, bs, qd)] = runs[len(runs) // 2]
                ranges[(t, rw, bs, qd)] = runs
    for rw, bs, qd in WORKLOADS:
        for t in targets:
            if (t, rw, bs, qd) not in median:
                continue
            med, runs = median[(t, rw, bs, qd)], ranges[(t, rw, bs, qd)]
            ratio = ""
            if t != "qsd" and ("qsd", rw, bs, qd) in median:
                q = median[("qsd", rw, bs, qd)][5]
                ratio = "%.2fx" % (med[5] / q) if q else ""
            out.append("| %s %s QD%d | %s | %.0f | %.1f | %.0f-%.0f | %s | %s | %.0f%% | %s |" %
                       (rw, "4K" if bs == 4096 else "128K", qd, t, med[5], med[6], runs[0][5],
                        runs[-1][5], med[7], med[8], med[9], ratio))
    out.append("")
    for t in ("vtarget", "vtarget-intr"):
        ratios = [median[(t,) + w][5] / median[("qsd",) + w][5] for w in WORKLOADS
                  if (t,) + w in median and ("qsd",) + w in median and
                  median[("qsd",) + w][5] > 0]
        if ratios:
            out.append("Median IOPS ratio %s / qsd over the workloads: %.2fx" %
                       (t, statistics.median(ratios)))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
