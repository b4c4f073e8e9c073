# SPDX-License-Identifier: BSD-3-Clause
"""A throwaway iSCSI target for the tests: tgtd (Debian package tgt) in the foreground on
127.0.0.1, on a free TCP port, with a private management socket (tgtd -C N uses
/var/run/tgtd/socket.N, so a system tgtd on the default one is left alone), serving one or more
file-backed LUNs from a private mkdtemp folder. Stopped by PID
(SIGKILL: tgtd -f ignores SIGTERM). If the machine cannot run tgtd,
start() raises AssertionError saying why (tests fail, they do not skip).

    t = TgtServer(size_mib=64)
    t.start()
    url = t.url(1)             # iscsi://127.0.0.1:PORT/iqn.../1
    t.read_backing(0, 4096)    # what the LUN holds, read from its backing file
    t.kill(); t.start()        # a crash, then the same target on the same port and files
    t.stop()                   # SIGKILL by PID, files removed
"""

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time

TGTD = "/usr/sbin/tgtd"
TGTADM = "/usr/sbin/tgtadm"
CONTROL_DIR = "/var/run/tgtd"
START_TIMEOUT = 10.0
STOP_GRACE = 5.0


def free_tcp_port():
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def port_listens(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(0.5)
    try:
        s.connect(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class TgtServer:
    """One tgtd with target iqn and LUNs 1..luns, each a sparse file of size_mib MiB."""

    def __init__(self, size_mib=64, luns=1, iqn="iqn.2026-12.io.vtarget:test", thin=True,
                 block_size=512):
        self.size = size_mib * 1024 * 1024
        self.luns = luns
        self.iqn = iqn
        self.thin = thin
        self.block_size = block_size
        self.dir = tempfile.mkdtemp(prefix="vt-tgt-")
        self.port = None
        self.control = None
        self.proc = None
        self.log_path = os.path.join(self.dir, "tgtd.log")
        self.backing = [os.path.join(self.dir, "lun%d.img" % i) for i in range(1, luns + 1)]
        for path in self.backing:
            with open(path, "wb") as f:
                f.truncate(self.size)

    def url(self, lun=1, iqn=None, port=None):
        return "iscsi://127.0.0.1:%d/%s/%d" % (port or self.port, iqn or self.iqn, lun)

    def _pick_control_port(self):
        for _ in range(100):
            n = random.randint(20000, 32000)  # tgtd takes a signed short
            if not os.path.exists(os.path.join(CONTROL_DIR, "socket.%d" % n)):
                return n
        raise AssertionError("tgtd: no free control port under %s" % CONTROL_DIR)

    def tgtadm(self, *args, check=True):
        cmd = [TGTADM, "-C", str(self.control), "--lld", "iscsi"] + list(args)
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=10)
        if check and r.returncode != 0:
            raise AssertionError("tgtadm %s failed (%d): %s" % (" ".join(args), r.returncode,
                                                                r.stdout.strip()))
        return r

    def start(self):
        """Starts tgtd (on the same ports when it ran before) and configures the target."""
        for prog in (TGTD, TGTADM):
            if not os.access(prog, os.X_OK):
                raise AssertionError("cannot run the iSCSI test target: %s is missing (Debian "
                                     "package tgt; scripts/pkgdep.sh installs it)" % prog)
        if self.port is None:
            self.port = free_tcp_port()
            self.control = self._pick_control_port()
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [TGTD, "-f", "-C", str(self.control), "--iscsi",
                 "portal=127.0.0.1:%d" % self.port],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        finally:
            log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise AssertionError("tgtd exited at start (%d):\n%s"
                                     % (self.proc.returncode, self.log()))
            if port_listens(self.port) and \
                    self.tgtadm("--mode", "target", "--op", "show", check=False).returncode == 0:
                break
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError("tgtd did not listen on 127.0.0.1:%d within %.0f s:\n%s"
                                     % (self.port, START_TIMEOUT, self.log()))
            time.sleep(0.05)
        self._configure()
        return self

    def _configure(self):
        self.tgtadm("--mode", "target", "--op", "new", "--tid", "1", "--targetname", self.iqn)
        for i, path in enumerate(self.backing, 1):
            args = ["--mode", "logicalunit", "--op", "new", "--tid", "1", "--lun", str(i),
                    "--backing-store", path]
            if self.block_size != 512:
                args += ["--blocksize", str(self.block_size)]
            self.tgtadm(*args)
            if self.thin:
                self.tgtadm("--mode", "logicalunit", "--op", "update", "--tid", "1", "--lun",
                            str(i), "--params", "thin_provisioning=1")
        self.tgtadm("--mode", "target", "--op", "bind", "--tid", "1", "--initiator-address",
                    "ALL")

    def add_chap(self, user, password):
        """From now on initiators of the target log in with CHAP as user / password."""
        self.tgtadm("--mode", "account", "--op", "new", "--user", user, "--password", password)
        self.tgtadm("--mode", "account", "--op", "bind", "--tid", "1", "--user", user)

    def log(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _signal(self, sig):
        if self.alive():
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def _forget_control_socket(self):
        # tgtd leaves its management socket and lock file behind when it is killed.
        for suffix in ("", ".lock"):
            try:
                os.unlink(os.path.join(CONTROL_DIR, "socket.%d%s" % (self.control, suffix)))
            except (OSError, TypeError):
                pass

    def kill(self):
        """SIGKILL (a crash); the backing files and ports are kept for a restart."""
        self._signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=STOP_GRACE)
        self._forget_control_socket()

    def stop(self):
        """Kills tgtd by PID (it ignores SIGTERM in the foreground) and removes its files."""
        if self.proc is not None:
            self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def read_backing(self, offset, size, lun=1):
        with open(self.backing[lun - 1], "rb") as f:
            f.seek(offset)
            return f.read(size)

    def write_backing(self, offset, data, lun=1):
        with open(self.backing[lun - 1], "r+b") as f:
            f.seek(offset)
            f.write(data)
