# SPDX-License-Identifier: BSD-3-Clause
"""A throwaway single-node Ceph cluster for the RBD tests.

One monitor and one OSD on memstore, no manager, no cephx, pool size 1, both on 127.0.0.1 with
ports picked free at start and everything (config, data, logs, admin sockets) in a private
mkdtemp folder. The daemons run in the foreground as our children and are stopped by PID. Every
wait has a deadline; a cluster that does not come up raises CephError with the daemons' logs.

Usage:
    c = CephCluster().start()        # ~5-10 s
    c.create_pool("rbd")             # ceph osd pool create + rbd pool init
    c.rbd("create", "--size", "64M", "rbd/img0")
    c.conf                           # path of the ceph.conf clients use
    c.stop_osd(); c.start_osd()      # fault tests
    c.stop()
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid

# The daemons and tools of Debian's ceph-mon, ceph-osd and ceph-common (16.2.15).
CEPH_TOOLS = ("ceph-mon", "ceph-osd", "ceph", "rbd", "monmaptool")

# Seconds a whole cluster start may take (mon up, OSD up and in).
START_TIMEOUT = 60.0
# Seconds a single ceph/rbd command may take: the client gives up on the mon after
# client_mount_timeout (conf below), this bounds the rest.
CMD_TIMEOUT = 30.0
STOP_GRACE = 10.0


class CephError(AssertionError):
    pass


def missing_tools():
    """The Ceph programs this machine lacks (scripts/pkgdep.sh installs them), or ""."""
    missing = [t for t in CEPH_TOOLS if shutil.which(t) is None]
    return " ".join(missing)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path, n=40):
    try:
        with open(path, "r", errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


class CephCluster:
    def __init__(self, memstore_mib=1024):
        self.dir = tempfile.mkdtemp(prefix="vt-ceph-")
        self.fsid = str(uuid.uuid4())
        self.mon_port = free_port()
        self.mon_port_v1 = free_port()
        self.mon_addr = "[v2:127.0.0.1:%d,v1:127.0.0.1:%d]" % (self.mon_port, self.mon_port_v1)
        self.conf = os.path.join(self.dir, "ceph.conf")
        self.memstore_mib = memstore_mib
        self.mon = None
        self.osd = None
        self.osd_uuid = str(uuid.uuid4())
        self._write_conf()

    # ---- configuration ----------------------------------------------------------------------

    def _write_conf(self):
        d = self.dir
        for sub in ("run", "log", "mon.a", "osd.0"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        lines = [
            "[global]",
            "fsid = %s" % self.fsid,
            "mon host = %s" % self.mon_addr,
            "public addr = 127.0.0.1",
            "cluster addr = 127.0.0.1",
            "public network = 127.0.0.0/8",
            "cluster network = 127.0.0.0/8",
            "ms bind ipv6 = false",
            "auth cluster required = none",
            "auth service required = none",
            "auth client required = none",
            "auth allow insecure global id reclaim = false",
            "run dir = %s/run" % d,
            "admin socket = %s/run/$name.$pid.asok" % d,
            "log file = %s/log/$name.log" % d,
            "pid file = ",
            "keyring = /dev/null",
            "osd pool default size = 1",
            "osd pool default min size = 1",
            "osd pool default pg num = 8",
            "osd pool default pgp num = 8",
            "osd crush chooseleaf type = 0",
            "mon allow pool size one = true",
            "mon allow pool delete = true",
            "mon warn on pool no redundancy = false",
            # A client that cannot reach the mon gives up after this many seconds.
            "client mount timeout = 10",
            "rados mon op timeout = 10",
            "rados osd op timeout = 0",
            "[mon]",
            "mon data = %s/mon.$id" % d,
            "mon cluster log file = %s/log/cluster.log" % d,
            "mon osd auto mark out = false",
            "mon osd down out interval = 0",
            "[osd]",
            "osd data = %s/osd.$id" % d,
            "osd objectstore = memstore",
            "memstore device bytes = %d" % (self.memstore_mib << 20),
            "osd crush update on start = true",
            # Reported down quickly when stopped, so clients wait for it to come back.
            "osd heartbeat grace = 5",
            "osd fast shutdown = false",
            "osd max object name len = 256",
            "osd max object namespace len = 64",
        ]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    # ---- commands ---------------------------------------------------------------------------

    def _run(self, args, timeout=CMD_TIMEOUT, check=True, input=None):
        try:
            r = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                               stdin=None if input is not None else subprocess.DEVNULL,
                               input=input, cwd=self.dir)
        except subprocess.TimeoutExpired:
            raise CephError("%s timed out after %.0f s\n%s" % (" ".join(args), timeout,
                                                                 self.describe_logs()))
        if check and r.returncode != 0:
            raise CephError("%s failed (%d): %s%s\n%s" % (" ".join(args), r.returncode, r.stdout,
                                                         r.stderr, self.describe_logs()))
        return r

    def ceph(self, *args, timeout=CMD_TIMEOUT, check=True):
        return self._run(["ceph", "-c", self.conf, "--connect-timeout", "10"] + list(args),
                         timeout=timeout, check=check)

    def rbd(self, *args, timeout=CMD_TIMEOUT, check=True):
        return self._run(["rbd", "-c", self.conf] + list(args), timeout=timeout, check=check)

    # ---- daemons ----------------------------------------------------------------------------

    def _spawn(self, name, args):
        out = open(os.path.join(self.dir, "log", name + ".out"), "wb")
        try:
            return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, cwd=self.dir)
        finally:
            out.close()

    def _check_alive(self, proc, name):
        if proc is not None and proc.poll() is not None:
            raise CephError("%s exited with %d\n%s" % (name, proc.returncode,
                                                      self.describe_logs()))

    def start(self):
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self):
        monmap = os.path.join(self.dir, "monmap")
        self._run(["monmaptool", "--create", "--fsid", self.fsid, "--addv", "a", self.mon_addr,
                   monmap])
        self._run(["ceph-mon", "-c", self.conf, "--mkfs", "-i", "a", "--monmap", monmap])
        self.mon = self._spawn("mon.a", ["ceph-mon", "-f", "-c", self.conf, "-i", "a"])
        deadline = time.monotonic() + START_TIMEOUT
        self._wait(deadline, "the monitor to answer",
                   lambda: self.ceph("mon", "stat", timeout=15, check=False).returncode == 0)
        osd_id = self.ceph("osd", "new", self.osd_uuid).stdout.strip()
        if osd_id != "0":
            raise CephError("unexpected OSD id %r" % osd_id)
        self._run(["ceph-osd", "-c", self.conf, "-i", "0", "--mkfs", "--osd-uuid",
                   self.osd_uuid])
        self.start_osd(deadline)

    def start_osd(self, deadline=None):
        """Starts OSD 0 (again) and waits until the monitor has it up."""
        if deadline is None:
            deadline = time.monotonic() + START_TIMEOUT
        self.osd = self._spawn("osd.0", ["ceph-osd", "-f", "-c", self.conf, "-i", "0"])
        self._wait(deadline, "OSD 0 to be up", lambda: self.osd_up())

    def osd_up(self):
        r = self.ceph("osd", "dump", "--format", "plain", timeout=15, check=False)
        for line in r.stdout.splitlines():
            if line.startswith("osd.0 "):
                return " up " in line
        return False

    def stop_osd(self):
        """Stops OSD 0 (SIGTERM: memstore writes its data out, the next start reads it back) and
        marks it down at once."""
        self._kill(self.osd)
        self.osd = None
        self.ceph("osd", "down", "0", check=False)

    def _wait(self, deadline, what, pred):
        while time.monotonic() < deadline:
            self._check_alive(self.mon, "ceph-mon")
            self._check_alive(self.osd, "ceph-osd")
            if pred():
                return
            time.sleep(0.2)
        raise CephError("timed out waiting for %s\n%s" % (what, self.describe_logs()))

    def create_pool(self, name, pg_num=8):
        """Creates a replicated pool of size 1 and initialises it for RBD."""
        self.ceph("osd", "pool", "create", name, str(pg_num), str(pg_num))
        self.ceph("osd", "pool", "set", name, "size", "1", "--yes-i-really-mean-it")
        self.rbd("pool", "init", name, timeout=60)

    def _kill(self, proc, sig=signal.SIGTERM):
        if proc is None or proc.poll() is not None:
            return
        try:
            os.kill(proc.pid, sig)
            proc.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        except ProcessLookupError:
            pass

    def stop(self):
        """Stops both daemons by PID and removes the folder."""
        self._kill(self.osd, signal.SIGKILL)
        self.osd = None
        self._kill(self.mon)
        self.mon = None
        if not os.environ.get("VT_CEPH_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def describe_logs(self, tail=30):
        out = []
        for name in ("mon.a", "osd.0"):
            for suffix in (".out", ".log"):
                path = os.path.join(self.dir, "log", name + suffix)
                text = _tail(path, tail)
                if text:
                    out.append("---- %s%s ----\n%s" % (name, suffix, text))
        return "\n".join(out)


if __name__ == "__main__":
    t0 = time.monotonic()
    c = CephCluster().start()
    try:
        print("cluster up in %.1f s: %s" % (time.monotonic() - t0, c.conf))
        c.create_pool("rbd")
        print("pool rbd ready at %.1f s" % (time.monotonic() - t0))
        c.rbd("create", "--size", "16M", "rbd/img0")
        print(c.rbd("info", "rbd/img0").stdout)
    finally:
        c.stop()
