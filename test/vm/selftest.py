#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Self-test of the VM harness (run through selftest.sh).

1. builds (or finds cached) the images;
2. run mode: boots a guest with a QEMU virtio-blk disk and a virtio-scsi HBA with one scsi-hd and
   runs guest_selftest.sh in it (size, serial, fio write+verify, sg_inq, sg_readcap,
   iscsi-test-cu SCSI.Read10 and, unless --quick, the whole SCSI family);
3. run mode: a script's exit status reaches the host; a hung guest is killed at the deadline;
4. run mode with a vhost-user-blk disk served by qemu-storage-daemon (shared guest memory);
5. control mode: commands and their exit status / output, the guest-side command timeout, QMP
   hot-plug and hot-unplug of a virtio-blk disk seen by the guest, a clean power-off.
Prints one line per check with its time, then "N passed, N failed".
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import vm  # noqa: E402

MiB = 1024 * 1024


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.failed_names = []

    def add(self, name, ok, secs=None, detail=""):
        t = "" if secs is None else " (%.2f s)" % secs
        print("%s %s%s%s" % ("ok  " if ok else "FAIL", name, t, (": " + detail) if detail else ""))
        sys.stdout.flush()
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            self.failed_names.append(name)


def show_failure(res, job_dir=None):
    print("    %s" % res.describe())
    for ln in res.console.splitlines()[-40:]:
        print("    | " + ln)
    if res.qemu_stderr.strip():
        print("    qemu stderr: " + res.qemu_stderr.strip())


def iscsi_counts(path):
    try:
        with open(path, errors="replace") as f:
            c = vm.parse_cunit(f.read())
    except OSError:
        return None
    return c


def fmt_counts(c):
    n = len(c["passed"]) + len(c["failed"]) + len(c["skipped"]) + len(c["unknown"])
    s = "%d tests: %d passed, %d failed, %d skipped" % (n, len(c["passed"]), len(c["failed"]),
                                                          len(c["skipped"]))
    if c["unknown"]:
        s += ", %d unknown" % len(c["unknown"])
    return s


def test_disks(ck, tmp, full, verbose):
    vda = os.path.join(tmp, "vda.img")
    sd = os.path.join(tmp, "sd.img")
    vda_bytes, sd_bytes = 64 * MiB, 48 * MiB
    with open(vda, "wb") as f:
        f.truncate(vda_bytes)
    with open(sd, "wb") as f:
        f.truncate(sd_bytes)
    qargs = ["-drive", "file=%s,if=none,id=d0,format=raw,cache=none,aio=threads" % vda,
             "-device", "virtio-blk-pci,drive=d0,serial=vmtest",
             "-drive", "file=%s,if=none,id=s0,format=raw" % sd,
             "-device", "virtio-scsi-pci,id=scsi0",
             "-device", "scsi-hd,bus=scsi0.0,drive=s0,serial=vmtestsd"]
    env = {"VDA_BYTES": vda_bytes, "VDA_SERIAL": "vmtest", "SD_BYTES": sd_bytes,
           "SD_SERIAL": "vmtestsd", "ISCSI_FULL": "1" if full else "0"}
    with open(os.path.join(HERE, "guest_selftest.sh")) as f:
        script = f.read()
    with vm.VM(qargs, env=env, echo=sys.stdout if verbose else None) as g:
        res = g.run(script, timeout=150 if full else 90)
        steps = [ln.split() for ln in res.console.splitlines() if ln.startswith("VMSTEP ")]
        ck.add("run mode: guest booted", res.boot_s is not None, res.boot_s,
               "guest uptime at start %.2f s" % (res.guest_boot_s or -1))
        ok = res.rc is not None and not res.timed_out
        ck.add("run mode: script ran to its end", ok, res.duration_s)
        if not ok or res.rc != 0:
            show_failure(res)
        for st in steps:
            if len(st) == 4 and st[1] != "total":
                ck.add("guest: " + st[1], st[2] == "PASS", float(st[3]))
        read10 = iscsi_counts(os.path.join(g.job_dir, "iscsi_read10.out"))
        fullc = iscsi_counts(os.path.join(g.job_dir, "iscsi_full.out")) if full else None
    if read10:
        print("    iscsi-test-cu SCSI.Read10 vs QEMU scsi-hd: " + fmt_counts(read10))
    if fullc:
        print("    iscsi-test-cu SCSI vs QEMU scsi-hd: " + fmt_counts(fullc))
    return res


def test_exit_status(ck):
    t = time.monotonic()
    res = vm.run_script("echo from-guest; exit 7\n", timeout=60)
    ok = res.rc == 7 and "from-guest" in res.console and res.qemu_rc == 0
    ck.add("run mode: exit status 7 reaches the host", ok, time.monotonic() - t)
    if not ok:
        show_failure(res)


def test_timeout(ck):
    t = time.monotonic()
    g = vm.VM()
    work = g.work_dir
    with g:
        res = g.run("echo going-to-hang; sleep 600\n", timeout=10)
    secs = time.monotonic() - t
    ok = res.timed_out and res.rc is None and not g.alive() and secs < 25 and \
        not os.path.exists(work)
    ck.add("run mode: hung guest killed at the deadline, work folder removed", ok, secs)
    if not ok:
        show_failure(res)


VHOST_GUEST = r"""
set -e
echo "size $(blockdev --getsize64 /dev/vda) queues $(ls /sys/block/vda/mq | wc -l)"
[ "$(blockdev --getsize64 /dev/vda)" = "$WANT_BYTES" ]
[ "$(ls /sys/block/vda/mq | wc -l)" = 2 ]
fio --name=verify --filename=/dev/vda --ioengine=libaio --direct=1 --iodepth=8 --rw=randwrite \
    --bs=4k --size=8M --verify=crc32c --do_verify=1 --verify_fatal=1 >fio.log 2>&1 || {
    tail -20 fio.log; exit 1; }
echo vhost-user-blk-ok
"""


def test_vhost_user_blk(ck, tmp):
    """A vhost-user-blk disk served by qemu-storage-daemon: proves the guest memory is shared."""
    qsd = shutil.which("qemu-storage-daemon")
    if not qsd:
        print("skip vhost-user-blk check: no qemu-storage-daemon")
        return
    img = os.path.join(tmp, "vu.img")
    sock = os.path.join(tmp, "vu.sock")
    with open(img, "wb") as f:
        f.truncate(32 * MiB)
    errf = open(os.path.join(tmp, "qsd.err"), "w+")
    t = time.monotonic()
    p = subprocess.Popen([qsd, "--blockdev", "driver=file,node-name=f0,filename=%s" % img,
                          "--export", "type=vhost-user-blk,id=e0,node-name=f0,writable=on,"
                          "num-queues=2,addr.type=unix,addr.path=%s" % sock],
                         stdin=subprocess.DEVNULL, stdout=errf, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(sock) and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if not os.path.exists(sock):
            errf.seek(0)
            ck.add("vhost-user-blk (qemu-storage-daemon)", False, None,
                   "no socket: " + errf.read().strip())
            return
        qargs = ["-chardev", "socket,id=c0,path=%s" % sock,
                 "-device", "vhost-user-blk-pci,chardev=c0,num-queues=2"]
        res = vm.run_script(VHOST_GUEST, qargs, timeout=60, env={"WANT_BYTES": 32 * MiB})
        ok = res.rc == 0 and "vhost-user-blk-ok" in res.console
        ck.add("run mode: vhost-user-blk disk (qemu-storage-daemon): size, 2 queues, fio verify",
               ok, time.monotonic() - t)
        if not ok:
            show_failure(res)
    finally:
        if p.poll() is None:
            p.kill()
        p.wait(10)
        errf.close()


def test_control(ck, tmp):
    img = os.path.join(tmp, "hot.img")
    with open(img, "wb") as f:
        f.truncate(32 * MiB)
    t = time.monotonic()
    with vm.VM(control=True, hotplug_ports=1) as g:
        g.start(timeout=60)
        ck.add("control mode: agent ready", True, time.monotonic() - t,
               "boot %.2f s" % g.result.boot_s)

        t = time.monotonic()
        rc, out = g.cmd("echo out; echo err >&2; exit 3", timeout=20)
        ck.add("control mode: command status and output", rc == 3 and out == "out\nerr\n",
               time.monotonic() - t, "" if rc == 3 else "rc=%d out=%r" % (rc, out))

        t = time.monotonic()
        rc, out = g.cmd("sleep 30", timeout=2)
        rc2, out2 = g.cmd("echo still-here", timeout=20)
        ck.add("control mode: guest-side timeout (124), channel still in step",
               rc == 124 and rc2 == 0 and out2 == "still-here\n", time.monotonic() - t)

        t = time.monotonic()
        try:
            g.qmp("blockdev-add", driver="file", filename=img, arguments={"node-name": "hot0"})
            g.qmp("device_add", driver="virtio-blk-pci", id="hotdisk", drive="hot0",
                  bus=g.hotplug_buses[0], serial="hotplugged")
            out = g.wait_guest("cat /sys/block/vda/serial", timeout=30)
            t_add = time.monotonic() - t
            ok = out.strip() == "hotplugged"
            ck.add("control mode: QMP hot-plug of a virtio-blk disk seen by the guest", ok,
                   t_add, "" if ok else repr(out))
            t = time.monotonic()
            g.qmp("device_del", id="hotdisk")
            g.wait_event("DEVICE_DELETED", timeout=30,
                         match=lambda e: e.get("data", {}).get("device") == "hotdisk")
            g.wait_guest("test ! -e /sys/block/vda", timeout=30)
            ck.add("control mode: QMP hot-unplug seen by the guest", True, time.monotonic() - t)
        except vm.VMError as e:
            ck.add("control mode: QMP hot-plug / hot-unplug", False, time.monotonic() - t, str(e))

        t = time.monotonic()
        res = g.stop(rc=5, timeout=30)
        ok = res.rc == 5 and res.qemu_rc == 0
        ck.add("control mode: stop powers the guest off with the given status", ok,
               time.monotonic() - t)
        if not ok:
            show_failure(res)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="skip the whole iscsi-test-cu SCSI family (about 30 s under TCG)")
    ap.add_argument("--verbose", action="store_true", help="echo the guest console")
    a = ap.parse_args()

    # a SIGTERM (e.g. from timeout(1)) unwinds normally so that QEMU is killed
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    ck = Checks()
    t0 = time.monotonic()
    t = time.monotonic()
    try:
        vmlinux, initrd = vm.build_images()
        ck.add("images built or cached", True, time.monotonic() - t, os.path.dirname(vmlinux))
    except vm.VMError as e:
        ck.add("images built or cached", False, time.monotonic() - t, str(e))
        print("%d passed, %d failed" % (ck.passed, ck.failed))
        return 1

    tmp = tempfile.mkdtemp(prefix="vmtest-selftest.")
    try:
        for fn, args in ((test_disks, (ck, tmp, not a.quick, a.verbose)),
                         (test_vhost_user_blk, (ck, tmp)),
                         (test_exit_status, (ck,)), (test_timeout, (ck,)),
                         (test_control, (ck, tmp))):
            try:
                fn(*args)
            except vm.VMError as e:
                ck.add(fn.__name__, False, None, str(e))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("selftest took %.1f s" % (time.monotonic() - t0))
    for n in ck.failed_names:
        print("failed: " + n)
    print("%d passed, %d failed" % (ck.passed, ck.failed))
    return 0 if ck.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
