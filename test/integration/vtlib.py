# SPDX-License-Identifier: BSD-3-Clause
"""Helpers for the vtarget integration tests: daemons, clients, bounded waits.

Every daemon gets a private mkdtemp folder holding its socket and its logs, is stopped by PID
(SIGTERM, then SIGKILL after a grace period) and its output is kept so that run.py can show it
when a test fails. Every wait here has a deadline.
"""

import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import rpc  # noqa: E402  (scripts/rpc.py)

RPC_PY = os.path.join(ROOT, "scripts", "rpc.py")

SANITIZED = os.environ.get("VT_SANITIZED", "") not in ("", "0")
# Sanitized builds run several times slower: every deadline is scaled by this.
SLOW = 4.0 if SANITIZED else 1.0
# The test front end (vtc) scales its default waits the same way.
os.environ.setdefault("VTC_TIME_SCALE", str(SLOW))

# A line like "vtarget ready" / "vtarget: ready on /path" printed once the config is replayed.
READY_RE = re.compile(r"\bready\b", re.IGNORECASE)
SANITIZER_RE = re.compile(r"ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:")

# Grace period between SIGTERM and SIGKILL.
STOP_GRACE = 5.0 * SLOW
START_TIMEOUT = 20.0 * SLOW
RPC_TIMEOUT = 10.0 * SLOW


def build_dir():
    d = os.environ.get("VT_BUILD_DIR") or os.path.join(ROOT, "build")
    return os.path.abspath(d)


def daemon_binary():
    return os.path.join(build_dir(), "bin", "vtarget")


def tool(name):
    return os.path.join(build_dir(), "test", "tools", name)


# ---- registry of daemons (for run.py: logs on failure, kill leftovers) ------------------------

_live = []          # started and not yet stopped
_this_test = []     # started since begin_test()


def begin_test():
    del _this_test[:]


def daemons_of_current_test():
    seen = []
    for d in list(_live) + list(_this_test):
        if d not in seen:
            seen.append(d)
    return seen


def kill_all():
    for d in list(_live):
        d.cleanup()


def format_logs(daemons, tail=80):
    out = []
    for d in daemons:
        out.append(d.describe_logs(tail))
    return "\n".join(out)


class DaemonError(AssertionError):
    pass


def read_text(path):
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


class Daemon:
    """One vtarget process with a private folder for its socket (-r) and logs."""

    def __init__(self, config=None, interrupt=False, args=(), sock=None, name="vtarget"):
        self.dir = tempfile.mkdtemp(prefix="vt-it-")
        self.name = name
        self.sock = sock or os.path.join(self.dir, "vtarget.sock")
        self.config = config
        self.interrupt = interrupt
        self.extra = list(args)
        self.stdout_path = os.path.join(self.dir, "stdout.log")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.proc = None
        self.returncode = None
        self.killed = False
        self._stdout = ""
        self._stderr = ""

    @property
    def lock_path(self):
        return self.sock + ".lock"

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def command(self):
        # -S: vhost-user sockets also go to the private folder.
        cmd = [daemon_binary(), "-r", self.sock, "-S", self.dir]
        if self.config:
            cmd += ["-c", self.config]
        if self.interrupt:
            cmd.append("--interrupt")
        return cmd + self.extra

    def start(self, wait=True, timeout=START_TIMEOUT):
        binary = daemon_binary()
        if not os.access(binary, os.X_OK):
            raise DaemonError("daemon binary not found: %s (build it with make app)" % binary)
        env = dict(os.environ)
        env["RUNTIME_DIRECTORY"] = self.dir
        out = open(self.stdout_path, "wb")
        err = open(self.stderr_path, "wb")
        try:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, env=env, cwd=self.dir)
        finally:
            out.close()
            err.close()
        _live.append(self)
        _this_test.append(self)
        if wait:
            self.wait_ready(timeout)
        return self

    def output(self):
        """stdout + stderr so far."""
        if self.proc is None or self.returncode is None:
            return read_text(self.stdout_path) + read_text(self.stderr_path)
        return self._stdout + self._stderr

    def stdout(self):
        return self._stdout if self.returncode is not None else read_text(self.stdout_path)

    def stderr(self):
        return self._stderr if self.returncode is not None else read_text(self.stderr_path)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, timeout=START_TIMEOUT):
        """Until the socket answers framework_wait_init; fails if the process exits first."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                self._collect(rc)
                raise DaemonError("vtarget exited with %d before it was ready:\n%s"
                                  % (rc, self.describe_logs(40)))
            if os.path.exists(self.sock):
                try:
                    with self.client(timeout=max(1.0, deadline - time.monotonic())) as c:
                        c.call("framework_wait_init")
                    return
                except rpc.JSONRPCException as ex:
                    last = ex
            time.sleep(0.02)
        raise DaemonError("vtarget not ready after %.0f s (last error: %s):\n%s"
                          % (timeout, last, self.describe_logs(40)))

    def wait_exit(self, timeout):
        """Returns the exit code, or None if still running at the deadline."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        self._collect(rc)
        return rc

    def _collect(self, rc):
        if self.returncode is not None:
            return
        self.returncode = rc
        self._stdout = read_text(self.stdout_path)
        self._stderr = read_text(self.stderr_path)
        if self in _live:
            _live.remove(self)

    def cleanup(self):
        """Stops the daemon if needed and removes its folder."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def send_signal(self, sig):
        if self.alive():
            os.kill(self.proc.pid, sig)

    def stop(self, sig=signal.SIGTERM, grace=STOP_GRACE):
        """Signals the daemon, waits grace seconds, then SIGKILLs it. Returns the exit code."""
        if self.proc is None:
            return None
        if self.returncode is not None:
            return self.returncode
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass
        try:
            rc = self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.killed = True
            os.kill(self.proc.pid, signal.SIGKILL)
            rc = self.proc.wait(timeout=30)
        self._collect(rc)
        return rc

    def sanitizer_report(self):
        m = SANITIZER_RE.search(self.output())
        return m is not None

    def describe_logs(self, tail=80):
        lines = []
        state = ("running" if self.returncode is None else
                 "exit %s%s" % (self.returncode, " (SIGKILLed)" if self.killed else ""))
        lines.append("---- %s pid %s [%s]: %s" % (self.name, self.pid, state,
                                                   " ".join(self.command())))
        for label, text in (("stdout", self.stdout()), ("stderr", self.stderr())):
            body = text.splitlines()
            if not body:
                continue
            cut = body[-tail:]
            lines.append("  -- %s (%d lines%s)" % (label, len(body),
                                                  ", last %d" % tail if len(body) > tail else ""))
            lines.extend("  | " + line for line in cut)
        return "\n".join(lines)

    def client(self, timeout=RPC_TIMEOUT):
        return rpc.JSONRPCClient(self.sock, timeout=timeout)

    def call(self, method, params=None, timeout=RPC_TIMEOUT):
        with self.client(timeout) as c:
            return c.call(method, params)

    def __repr__(self):
        return "<Daemon pid=%s sock=%s>" % (self.pid, self.sock)


# ---- raw connections --------------------------------------------------------------------------

def connect(path, timeout=RPC_TIMEOUT):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def recv_json(sock, timeout=RPC_TIMEOUT, buf=None):
    """Reads until one JSON value is complete. Returns (value, rest) ; value None on EOF."""
    text = buf or ""
    dec = json.JSONDecoder()
    deadline = time.monotonic() + timeout
    while True:
        stripped = text.lstrip()
        if stripped:
            try:
                obj, end = dec.raw_decode(stripped)
                return obj, stripped[end:]
            except ValueError:
                pass
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("no complete JSON answer within %.1f s (got %r)"
                                 % (timeout, text[:200]))
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        if not data:
            return None, text
        text += data.decode("utf-8")


def expect_no_data(sock, seconds):
    """Asserts the server writes nothing for `seconds` (and keeps the connection open)."""
    sock.settimeout(seconds)
    try:
        data = sock.recv(65536)
    except socket.timeout:
        return
    if data:
        raise AssertionError("unexpected answer: %r" % data[:200])
    raise AssertionError("the daemon closed the connection")


def wait_closed(sock, timeout=RPC_TIMEOUT):
    """Reads and discards until EOF (or a reset); returns what was read."""
    got = b""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("the daemon did not close the connection within %.1f s"
                                 % timeout)
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return got
        if not data:
            return got
        got += data


# ---- misc -------------------------------------------------------------------------------------

def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    with open("/proc/%d/stat" % pid, "r") as f:
        text = f.read()
    # The command name may contain spaces: fields start after the last ')'.
    fields = text[text.rindex(")") + 2:].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def is_socket(path):
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def run_rpc_py(sock, *args, stdin=None, timeout=30.0 * SLOW):
    """Runs scripts/rpc.py -s sock args...; returns CompletedProcess (text)."""
    cmd = [sys.executable, RPC_PY, "-s", sock, "-t", str(RPC_TIMEOUT)] + [str(a) for a in args]
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout)


def run_tool(name, *args, timeout=60.0 * SLOW):
    path = tool(name)
    if not os.access(path, os.X_OK):
        raise AssertionError("test tool not found: %s (build it with make tools)" % path)
    return subprocess.run([path] + [str(a) for a in args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def require(why):
    """Class decorator: when why (a missing tool, ...) is set, every test of the class fails
    with it. Tests never skip because the machine lacks something: scripts/pkgdep.sh installs
    what they need, and a machine where that did not work must not look green."""
    def deco(cls):
        if why:
            def setUpClass(klass):
                raise AssertionError("%s cannot run: %s (scripts/pkgdep.sh installs what the "
                                     "tests need)" % (klass.__name__, why))
            cls.setUpClass = classmethod(setUpClass)
        return cls
    return deco


def io_uring_available():
    """Probes io_uring_setup(2): containers and some kernels disable it."""
    import ctypes
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        params = ctypes.create_string_buffer(120)
        fd = libc.syscall(425, 4, params)
    except (OSError, AttributeError):
        return False
    if fd < 0:
        return False
    os.close(fd)
    return True


DELETE_BY_PRODUCT = {"Malloc disk": "bdev_malloc_delete", "Null disk": "bdev_null_delete",
                     "Error Injection Disk": "bdev_error_delete", "delay": "bdev_delay_delete",
                     "AIO disk": "bdev_aio_delete", "URING bdev": "bdev_uring_delete",
                     "Raid Volume": "bdev_raid_delete", "Ceph Rbd Disk": "bdev_rbd_delete",
                     "iSCSI LUN": "bdev_iscsi_delete"}


def delete_all_bdevs(d):
    """Deletes every bdev of daemon d (best effort); returns the names that were there."""
    left = d.call("bdev_get_bdevs")
    for b in left:
        method = DELETE_BY_PRODUCT.get(b["product_name"])
        if method:
            try:
                d.call(method, {"name": b["name"]})
            except rpc.JSONRPCException:
                pass
    return [b["name"] for b in left]


UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class VtTestCase(unittest.TestCase):
    """Base class: daemon start/stop with cleanup and clean-exit checks, RPC error asserts."""

    maxDiff = None

    def start_daemon(self, **kw):
        d = Daemon(**kw)
        self.addCleanup(d.cleanup)
        return d.start()

    def stop_clean(self, d):
        """SIGTERM; asserts exit code 0 within the grace period and no sanitizer report."""
        rc = d.stop()
        self.assertFalse(d.killed, "daemon ignored SIGTERM for %.0f s" % STOP_GRACE)
        self.assertEqual(rc, 0, "daemon exit code %s:\n%s" % (rc, d.describe_logs(40)))
        self.assertFalse(d.sanitizer_report(), "sanitizer report:\n%s" % d.describe_logs(80))

    def assertRpcError(self, d_or_client, method, params, code, *needles):
        """Calls method and asserts an error with this code (or one of a tuple of codes) whose
        message contains needles."""
        try:
            res = d_or_client.call(method, params)
        except rpc.JSONRPCException as ex:
            self.assertIsNotNone(ex.error, "no error response: %s" % ex.message)
            codes = code if isinstance(code, tuple) else (code,)
            self.assertIn(ex.code, codes, "wrong error code for %s: %s" % (method, ex.error))
            msg = ex.error.get("message", "")
            self.assertIsInstance(msg, str)
            self.assertTrue(msg, "empty error message")
            for n in needles:
                self.assertIn(n, msg, "error message of %s should name %r" % (method, n))
            return ex.error
        self.fail("%s %s succeeded (%r), expected error %d" % (method, params, res, code))


class SharedDaemonTestCase(VtTestCase):
    """One daemon for the whole class; after every test it must still serve."""

    daemon_kwargs = {}

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(**cls.daemon_kwargs)
        try:
            cls.d.start()
        except BaseException:
            cls.d.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        d = cls.d
        rc = d.stop()
        d.cleanup()
        if d.killed or rc != 0 or d.sanitizer_report():
            raise AssertionError("shared daemon did not exit cleanly (exit %s):\n%s"
                                 % (rc, d.describe_logs(80)))

    def tearDown(self):
        # Whatever the test did, the daemon must still answer.
        if not self.d.alive():
            self.d.wait_exit(1)
            self.fail("daemon died:\n%s" % self.d.describe_logs(60))
        ver = self.d.call("spdk_get_version")
        self.assertIn("version", ver)
