#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""VM test harness: boots Debian's kernel in QEMU and runs shell scripts in the guest.

The guest boots the uncompressed vmlinux (PVH) with a busybox initramfs (build_initramfs.sh)
whose init (init.sh) mounts the host's root read-only over virtio-9p and chroots into it, so the
guest runs the host's fio, sg3_utils and iscsi-test-cu. A per-VM job folder on the host is shared
read-write over 9p and appears in the guest as /tmp/vmtest; the guest runs /tmp/vmtest/run.sh and
prints "VMTEST-RESULT rc=N" on its serial console, then powers off.

Two ways to use it (stdlib only; import it from tests with sys.path pointing at test/vm):

    import vm
    res = vm.run_script("cat /sys/block/vda/size", qemu_args=[...], timeout=120)
    res.rc, res.console, res.qemu_stderr, res.boot_s

    with vm.VM(qemu_args=[...], control=True, hotplug_ports=2) as g:
        g.start()                        # boots, waits for the guest agent
        rc, out = g.cmd("ls /dev")       # runs a shell command in the guest
        g.qmp("device_add", driver="virtio-blk-pci", id="d1", drive="x", bus="hp0")
        g.wait_event("DEVICE_DELETED", timeout=30)
        g.stop()                         # agent exits, guest powers off

Control mode adds a virtio-serial port ("vmtest.ctl") on which a guest agent runs commands sent by
the host; QMP is always available (VM.qmp, VM.qmp_path). Every wait has a deadline; QEMU is killed
by its PID when one passes; the work folder (sockets, job folder, console log unless log_path was
given) is removed by close(). Environment: VMTEST_QEMU (QEMU binary), VMTEST_ACCEL (tcg, default,
or kvm), VMTEST_KVER (kernel version), VT_BUILD_DIR (images go to $VT_BUILD_DIR/vm).
"""

import argparse
import atexit
import base64
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD_SCRIPT = os.path.join(HERE, "build_initramfs.sh")

GUEST_DIR = "/tmp/vmtest"          # the job folder as the guest sees it
CTL_PORT_NAME = "vmtest.ctl"

RESULT_RE = re.compile(r"^VMTEST-RESULT rc=(\d+)", re.M)
BOOTED_RE = re.compile(r"^VMTEST-BOOTED uptime=([0-9.]+)", re.M)
ERROR_RE = re.compile(r"^VMTEST-ERROR (.*)$", re.M)
READY_RE = re.compile(r"^VMTEST-CONTROL-READY", re.M)

# Slack added to a guest command's own time limit before the host gives up on the channel.
CMD_SLACK = 30.0
POLL = 0.02


class VMError(Exception):
    """The VM could not be started, died, or did not answer in time."""


class _QMPTimeout(VMError):
    pass


# ---- images ------------------------------------------------------------------------------------

_images = {}


def default_out_dir():
    build = os.environ.get("VT_BUILD_DIR") or os.path.join(ROOT, "build")
    return os.path.join(os.path.abspath(build), "vm")


def build_images(out_dir=None, kver=None, standalone=False):
    """Builds (or finds cached) vmlinux and initramfs in out_dir; returns their paths.
    standalone: the initramfs that carries fio and needs no 9p (a guest that can migrate)."""
    out_dir = os.path.abspath(out_dir or default_out_dir())
    key = (out_dir, kver, standalone)
    if key not in _images:
        cmd = ["bash", BUILD_SCRIPT]
        if kver:
            cmd += ["-k", kver]
        if standalone:
            cmd.append("-s")
        cmd.append(out_dir)
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=600)
        if p.returncode != 0:
            raise VMError("building the VM images failed:\n" + p.stderr.strip())
        lines = p.stdout.split()
        if len(lines) != 2:
            raise VMError("unexpected output from build_initramfs.sh: %r" % p.stdout)
        _images[key] = (lines[0], lines[1])
    return _images[key]


# ---- result ------------------------------------------------------------------------------------


class Result:
    """What a VM run produced.

    rc: the guest script's exit status (None when no VMTEST-RESULT line was seen);
    timed_out: the host killed QEMU at the deadline; error: a VMTEST-ERROR message or a host-side
    reason; boot_s: host seconds from QEMU start to the VMTEST-BOOTED marker; guest_boot_s: guest
    uptime at that marker; duration_s: host seconds from QEMU start to its end; console: the
    guest's serial console; qemu_stderr: QEMU's own stderr; qemu_rc: QEMU's exit status.
    """

    def __init__(self):
        self.rc = None
        self.timed_out = False
        self.error = None
        self.boot_s = None
        self.guest_boot_s = None
        self.duration_s = None
        self.console = ""
        self.qemu_stderr = ""
        self.qemu_rc = None

    @property
    def ok(self):
        return self.rc == 0 and not self.timed_out

    def describe(self):
        """One line for test failure messages."""
        parts = ["rc=%s" % self.rc]
        if self.timed_out:
            parts.append("timed out")
        if self.error:
            parts.append("error: %s" % self.error)
        parts.append("qemu rc=%s" % self.qemu_rc)
        return ", ".join(parts)

    def __repr__(self):
        return "<vm.Result %s>" % self.describe()


# ---- the guest side of control mode ------------------------------------------------------------

# The guest agent of control mode (agent.sh): run.sh inlines it in 9p guests; the standalone
# initramfs carries it.
AGENT_PATH = os.path.join(HERE, "agent.sh")


# ---- the VM ------------------------------------------------------------------------------------


class VM:
    """One QEMU guest. Use as a context manager, or call close() yourself.

    qemu_args: extra QEMU arguments (devices, chardevs, drives), appended last.
    control: add the control channel; start() then runs the agent instead of a script.
    hotplug_ports: number of empty pcie-root-ports (ids hp0, hp1, ...) for device_add.
    mem_mb, smp: guest size; memory is a shared memfd (needed by vhost-user back ends).
    log_path: write the serial console there (kept after close); else it lives in the work folder.
    echo: a file object (e.g. sys.stdout) that receives the console as it is read.
    files: {name: bytes or str} written into the job folder (guest: /tmp/vmtest/NAME).
    env: {name: value} exported to the guest script.
    append: extra kernel command line words.
    keep: do not delete the work folder on close (for debugging).
    start_timeout: how long QEMU may take to open its QMP socket and greet (vhost-user devices
    are set up before that: a slow back end delays it).
    standalone: boot the standalone initramfs (busybox, fio, the agent; no 9p, so the guest can
    be live-migrated); implies control mode. The host's root and the job folder are not shared:
    files are copied in by start() (into /tmp/vmtest) and put_file(), read back with cmd().
    incoming: a destination of a live migration: QEMU starts with -incoming INCOMING (e.g.
    "defer"); use launch(), then migrate() on the source VM; the guest's agent is already
    running when the migration completes.
    """

    def __init__(self, qemu_args=(), *, control=False, hotplug_ports=0, mem_mb=512, smp=2,
                 log_path=None, echo=None, files=None, env=None, append="", out_dir=None,
                 kver=None, keep=False, start_timeout=30.0, standalone=False, incoming=None):
        self.qemu_args = list(qemu_args)
        self.standalone = standalone
        self.incoming = incoming
        self.control = control or standalone
        self.hotplug_ports = hotplug_ports
        self.hotplug_buses = ["hp%d" % i for i in range(hotplug_ports)]
        self.mem_mb = mem_mb
        self.smp = smp
        self.echo = echo
        self.env = dict(env or {})
        self.append = append
        self.out_dir = out_dir
        self.kver = kver
        self.keep = keep
        self.start_timeout = start_timeout

        base = tempfile.gettempdir()
        if len(base) > 60:      # unix socket paths are limited to 107 bytes
            base = "/tmp"
        self.work_dir = tempfile.mkdtemp(prefix="vmtest.", dir=base)
        self.job_dir = os.path.join(self.work_dir, "job")
        os.mkdir(self.job_dir)
        self.qmp_path = os.path.join(self.work_dir, "qmp.sock")
        self.ctl_path = os.path.join(self.work_dir, "ctl.sock")
        self.console_path = os.path.abspath(log_path) if log_path else \
            os.path.join(self.work_dir, "console.log")
        self.stderr_path = os.path.join(self.work_dir, "qemu.stderr")
        for name, data in (files or {}).items():
            self.add_file(name, data)

        self.proc = None
        self.result = Result()
        self.events = []            # QMP events received so far (dicts)
        self._t0 = None
        self._console = ""
        self._console_file = None
        self._qmp = None
        self._qmp_buf = b""
        self._qmp_id = 0
        self._ctl = None
        self._ctl_buf = b""
        self._ctl_broken = None
        self._closed = False
        self._files = dict(files or {})

    # -- context manager --

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # -- files --

    def add_file(self, name, data, mode=0o644):
        """Writes a file into the job folder (the guest sees it as /tmp/vmtest/NAME)."""
        path = os.path.join(self.job_dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if isinstance(data, str):
            data = data.encode()
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, mode)
        return path

    def _write_run_sh(self, script):
        if self.standalone:
            return      # the agent is in the image; files go in after start()
        lines = ["# generated by test/vm/vm.py"]
        for k, v in sorted(self.env.items()):
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", k):
                raise ValueError("bad environment variable name %r" % k)
            lines.append("export %s=%s" % (k, shlex.quote(str(v))))
        if self.control:
            with open(AGENT_PATH) as f:
                lines.append(f.read())
        else:
            if isinstance(script, bytes):
                script = script.decode()
            if script.startswith("#!"):
                self.add_file("script.sh", script, 0o755)
                lines.append("exec ./script.sh")
            else:
                self.add_file("script.sh", script)
                lines.append("exec /bin/sh ./script.sh")
        self.add_file("run.sh", "\n".join(lines) + "\n", 0o755)

    # -- QEMU --

    def qemu_argv(self):
        """The QEMU command line (images are built if needed)."""
        vmlinux, initrd = build_images(self.out_dir, self.kver, self.standalone)
        qemu = os.environ.get("VMTEST_QEMU", "qemu-system-x86_64")
        accel = os.environ.get("VMTEST_ACCEL", "tcg")
        if accel == "kvm":
            accel_args = ["-accel", "kvm", "-cpu", "host"]
        else:
            accel_args = ["-accel", "tcg,thread=multi", "-cpu", "max"]
        # no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer check can miss
        # ticks and panic ("IO-APIC + timer doesn't work"); the check proves nothing here.
        append = ("console=ttyS0 panic=-1 quiet scsi_mod.scan=sync no_timer_check "
                  # ramfs: the standalone image holds more than tmpfs would take (half the RAM)
                  + ("rootfstype=ramfs " if self.standalone else "")
                  + self.append)
        m = "%dM" % self.mem_mb
        argv = [qemu, "-name", "vmtest", "-nodefaults", "-no-user-config", "-display", "none",
                "-no-reboot", "-M", "q35"] + accel_args + [
            "-smp", str(self.smp),
            "-object", "memory-backend-memfd,id=mem,size=%s,share=on" % m,
            "-numa", "node,memdev=mem", "-m", m,
            "-kernel", vmlinux, "-initrd", initrd, "-append", append.strip(),
            "-chardev", "file,id=con,path=%s" % self.console_path, "-serial", "chardev:con",
            "-chardev", "socket,id=qmp,path=%s,server=on,wait=off" % self.qmp_path,
            "-mon", "chardev=qmp,mode=control",
        ]
        if not self.standalone:
            argv += [
                "-fsdev", "local,id=hostroot,path=/,security_model=none,readonly=on,"
                "multidevs=remap",
                "-device", "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot",
                "-fsdev", "local,id=vmtest,path=%s,security_model=none,multidevs=remap"
                % self.job_dir,
                "-device", "virtio-9p-pci,fsdev=vmtest,mount_tag=vmtest",
            ]
        if self.incoming:
            argv += ["-incoming", self.incoming]
        if self.control:
            argv += ["-device", "virtio-serial-pci,id=vmtest-serial",
                     "-chardev", "socket,id=ctl,path=%s,server=on,wait=off" % self.ctl_path,
                     "-device", "virtserialport,bus=vmtest-serial.0,chardev=ctl,name=%s"
                     % CTL_PORT_NAME]
        for i, bus in enumerate(self.hotplug_buses):
            argv += ["-device", "pcie-root-port,id=%s,bus=pcie.0,chassis=%d,slot=%d"
                     % (bus, i + 1, i + 1)]
        return argv + self.qemu_args

    def launch(self, script=None):
        """Starts QEMU (no wait). script: the guest script (text) unless in control mode."""
        if self.proc is not None:
            raise VMError("VM already started")
        if not self.control and script is None:
            raise ValueError("a script is needed unless control=True")
        self._write_run_sh(script)
        argv = self.qemu_argv()
        open(self.console_path, "wb").close()
        self._console_file = open(self.console_path, "rb")
        self._stderr_file = open(self.stderr_path, "wb")
        self._t0 = time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._stderr_file,
                                     stderr=subprocess.STDOUT, close_fds=True)
        _live.add(self)
        self.argv = argv
        self._qmp_connect(self.start_timeout)
        if self.control:
            self._ctl = self._unix_connect(self.ctl_path, self.start_timeout)

    def _unix_connect(self, path, timeout):
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                self._fail("QEMU exited during start-up (rc=%s)" % self.proc.returncode)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                return s
            except OSError:
                s.close()
                if time.monotonic() > deadline:
                    self._fail("cannot connect to %s" % path)
                time.sleep(0.05)

    def _fail(self, why):
        """Kills QEMU and raises VMError with the context needed to understand why."""
        self.kill()
        self._pump()
        tail = "\n".join(self._console.splitlines()[-30:])
        raise VMError("%s\n--- console (last lines):\n%s\n--- qemu stderr:\n%s"
                      % (why, tail, self.qemu_stderr().strip()))

    def qemu_stderr(self):
        try:
            with open(self.stderr_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """Kills QEMU by its PID (SIGKILL) and reaps it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        if self.proc is not None and self.proc.poll() is not None:
            _live.discard(self)

    # -- console --

    def _pump(self):
        """Reads new console output; notes the boot markers. Returns the new text."""
        if self._console_file is None:
            return ""
        data = self._console_file.read()
        if not data:
            return ""
        text = data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "")
        self._console += text
        if self.echo is not None:
            self.echo.write(text)
            self.echo.flush()
        if self.result.boot_s is None:
            m = BOOTED_RE.search(self._console)
            if m:
                self.result.boot_s = time.monotonic() - self._t0
                self.result.guest_boot_s = float(m.group(1))
        return text

    @property
    def console(self):
        self._pump()
        return self._console

    def wait_console(self, regex, timeout=30.0, start=0):
        """Waits until the console (from character offset start) matches regex; returns the match."""
        pat = re.compile(regex, re.M)
        deadline = time.monotonic() + timeout
        while True:
            self._pump()
            m = pat.search(self._console, start)
            if m:
                return m
            err = ERROR_RE.search(self._console)
            if err:
                self._fail("guest setup failed: %s" % err.group(1))
            if self.proc.poll() is not None:
                self._pump()
                m = pat.search(self._console, start)
                if m:
                    return m
                self._fail("QEMU exited (rc=%s) before %r appeared on the console"
                           % (self.proc.returncode, regex))
            if time.monotonic() > deadline:
                self._fail("timed out after %.0f s waiting for %r on the console" % (timeout, regex))
            time.sleep(POLL)

    # -- run mode --

    def run(self, script, timeout=300.0):
        """Boots, runs script (shell text) in the guest, waits for power-off; returns a Result."""
        self.launch(script)
        return self.wait(timeout)

    def wait(self, timeout=300.0):
        """Waits for the guest to power off (killing QEMU at the deadline); returns the Result."""
        res = self.result
        deadline = self._t0 + timeout
        result_seen = None
        while self.proc.poll() is None:
            self._pump()
            now = time.monotonic()
            if result_seen is None and RESULT_RE.search(self._console):
                result_seen = now
            # after the result line the guest powers off at once: do not wait long for it
            if now > deadline or (result_seen is not None and now - result_seen > 15.0):
                if result_seen is None:
                    res.timed_out = True
                    res.error = "no result within %.0f s: QEMU killed" % timeout
                self.kill()
                break
            time.sleep(POLL)
        return self._finish()

    def _finish(self):
        res = self.result
        if self.proc is not None:
            res.qemu_rc = self.proc.poll()
            if res.qemu_rc is not None:
                _live.discard(self)
            if res.duration_s is None:
                res.duration_s = time.monotonic() - self._t0
        self._pump()
        res.console = self._console
        res.qemu_stderr = self.qemu_stderr()
        m = RESULT_RE.search(self._console)
        if m:
            res.rc = int(m.group(1))
        e = ERROR_RE.search(self._console)
        if e and not res.error:
            res.error = e.group(1)
        if res.rc is None and not res.error:
            if "Kernel panic" in self._console:
                res.error = "guest kernel panic"
            else:
                res.error = "guest ended without a result (QEMU rc=%s)" % res.qemu_rc
        return res

    # -- control mode --

    def start(self, timeout=120.0):
        """Control mode: boots the guest and waits until its agent is ready."""
        if not self.control:
            raise VMError("start() needs control=True; use run() for a script")
        self.launch()
        self.wait_console(READY_RE.pattern, timeout)
        if self.standalone:
            for name, data in self._files.items():
                self.put_file(GUEST_DIR + "/" + name, data)
        return self

    def put_file(self, path, data, mode=0o644, timeout=60.0):
        """Writes a file in the guest through the control channel (for standalone guests)."""
        if isinstance(data, str):
            data = data.encode()
        q = shlex.quote(path)
        self.cmd("mkdir -p \"$(dirname %s)\" && : > %s" % (q, q), timeout=timeout, check=True)
        chunk = 48 * 1024
        for i in range(0, len(data), chunk):
            b64 = base64.b64encode(data[i:i + chunk]).decode()
            self.cmd("printf '%%s' '%s' | base64 -d >> %s" % (b64, q), timeout=timeout,
                     check=True)
        self.cmd("chmod %o %s" % (mode, q), timeout=timeout, check=True)

    def migrate(self, dest, timeout=120.0, uri=None, bandwidth=1 << 30):
        """Live-migrates this (running) guest to dest, a VM launched with incoming="defer":
        migrate-incoming on dest, migrate here, query-migrate polled until completed, then dest
        polled until it runs. Returns the last query-migrate answer (total-time, downtime,
        setup-time in ms, ram statistics). VMError if the migration fails or overruns."""
        uri = uri or "unix:" + os.path.join(dest.work_dir, "migrate.sock")
        dest.qmp("migrate-incoming", uri=uri)
        self.qmp("migrate-set-parameters", arguments={"max-bandwidth": bandwidth})
        self.qmp("migrate", uri=uri)
        deadline = time.monotonic() + timeout
        while True:
            info = self.qmp("query-migrate")
            st = info.get("status")
            if st == "completed":
                break
            if st in ("failed", "cancelled"):
                raise VMError("migration %s: %s" % (st, info.get("error-desc", info)))
            if time.monotonic() > deadline:
                raise VMError("migration not completed within %.0f s: %s" % (timeout, info))
            if not dest.alive():
                dest._fail("the destination QEMU exited during the migration")
            time.sleep(0.05)
        while dest.qmp("query-status").get("status") != "running":
            if time.monotonic() > deadline:
                raise VMError("the destination does not run after the migration: %s"
                              % dest.qmp("query-status"))
            time.sleep(0.05)
        return info

    def cmd(self, command, timeout=60.0, check=False):
        """Runs a shell command in the guest (cwd /tmp, stdin /dev/null, under `timeout`).

        Returns (rc, output) with stdout and stderr merged; rc 124 means the guest's timeout
        ended it. check=True raises VMError when rc != 0.
        """
        if self._ctl is None:
            raise VMError("no control channel (control=True and start() first)")
        if self._ctl_broken:
            raise VMError("control channel unusable: %s" % self._ctl_broken)
        nonce = secrets.token_hex(6)
        payload = base64.b64encode(command.encode()).decode()
        secs = max(1, int(timeout + 0.999))
        line = "RUN %s %d %s\n" % (nonce, secs, payload)
        try:
            self._ctl.sendall(line.encode())
        except OSError as e:
            self._ctl_broken = "send failed: %s" % e
            raise VMError(self._ctl_broken)
        prefix = ("VMCTL-DONE %s " % nonce).encode()
        deadline = time.monotonic() + secs + CMD_SLACK
        while True:
            while b"\n" in self._ctl_buf:
                raw, self._ctl_buf = self._ctl_buf.split(b"\n", 1)
                if raw.startswith(prefix):
                    rest = raw[len(prefix):].split(b" ", 1)
                    rc = int(rest[0])
                    out = base64.b64decode(rest[1]) if len(rest) > 1 else b""
                    out = out.decode("utf-8", "replace")
                    if check and rc != 0:
                        raise VMError("guest command failed (rc=%d): %s\n%s"
                                      % (rc, command, out))
                    return rc, out
            self._pump()
            if self.proc.poll() is not None:
                self._ctl_broken = "QEMU exited"
                self._fail("QEMU exited (rc=%s) while running %r"
                           % (self.proc.returncode, command))
            left = deadline - time.monotonic()
            if left <= 0:
                self._ctl_broken = "no answer to %r" % command
                raise VMError("guest did not answer %r within %d s" % (command, secs + CMD_SLACK))
            self._ctl.settimeout(min(left, 0.2))
            try:
                data = self._ctl.recv(65536)
            except socket.timeout:
                continue
            except OSError as e:
                self._ctl_broken = "receive failed: %s" % e
                raise VMError(self._ctl_broken)
            if not data:
                self._ctl_broken = "control channel closed by QEMU"
                raise VMError(self._ctl_broken)
            self._ctl_buf += data

    def wait_guest(self, command, timeout=30.0, interval=0.2):
        """Runs command in the guest until it succeeds; returns its output (VMError at deadline)."""
        deadline = time.monotonic() + timeout
        while True:
            rc, out = self.cmd(command, timeout=max(5.0, timeout))
            if rc == 0:
                return out
            if time.monotonic() > deadline:
                raise VMError("%r still failing after %.0f s (rc=%d): %s"
                              % (command, timeout, rc, out.strip()))
            time.sleep(interval)

    def stop(self, rc=0, timeout=30.0):
        """Control mode: asks the agent to exit with rc and waits for power-off; returns the Result.
        Run mode (or a broken channel): kills QEMU."""
        if self.proc is None:
            return self.result
        if self.control and self._ctl is not None and not self._ctl_broken and self.alive():
            try:
                self._ctl.sendall(("EXIT %d\n" % rc).encode())
            except OSError:
                pass
            deadline = time.monotonic() + timeout
            while self.proc.poll() is None and time.monotonic() < deadline:
                self._pump()
                time.sleep(POLL)
        if self.proc.poll() is None:
            self.result.error = self.result.error or "guest did not power off: QEMU killed"
            self.kill()
        return self._finish()

    # -- QMP --

    def _qmp_connect(self, timeout):
        self._qmp = self._unix_connect(self.qmp_path, timeout)
        try:
            greeting = self._qmp_read(timeout)
            if "QMP" not in greeting:
                raise VMError("unexpected QMP greeting: %r" % greeting)
            self.qmp("qmp_capabilities", timeout=timeout)
        except VMError as e:
            time.sleep(0.2)     # let an exiting QEMU finish its message on stderr
            self._fail("QEMU did not start: %s" % e)

    def _qmp_read(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self._qmp_buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _QMPTimeout("QMP: no answer within %.0f s" % timeout)
            self._qmp.settimeout(left)
            try:
                data = self._qmp.recv(65536)
            except socket.timeout:
                continue
            except OSError as e:
                raise VMError("QMP: %s" % e)
            if not data:
                raise VMError("QMP: connection closed by QEMU")
            self._qmp_buf += data
        raw, self._qmp_buf = self._qmp_buf.split(b"\n", 1)
        return json.loads(raw)

    def qmp(self, execute, timeout=30.0, **arguments):
        """Runs a QMP command; returns its "return" value, raises VMError on an "error" answer.
        Arguments whose names are not Python identifiers: pass them as a dict in arguments=..."""
        if self._qmp is None:
            raise VMError("QMP is not connected")
        if "arguments" in arguments and isinstance(arguments["arguments"], dict):
            extra = arguments.pop("arguments")
            arguments.update(extra)
        self._qmp_id += 1
        msg = {"execute": execute, "id": self._qmp_id}
        if arguments:
            msg["arguments"] = arguments
        try:
            self._qmp.sendall(json.dumps(msg).encode() + b"\n")
        except OSError as e:
            raise VMError("QMP: %s" % e)
        deadline = time.monotonic() + timeout
        while True:
            reply = self._qmp_read(max(0.01, deadline - time.monotonic()))
            if "event" in reply:
                self.events.append(reply)
                continue
            if reply.get("id") != self._qmp_id:
                continue
            if "error" in reply:
                raise VMError("QMP %s failed: %s" % (execute, reply["error"].get("desc", reply)))
            return reply.get("return")

    def wait_event(self, name, timeout=30.0, match=None):
        """Waits for a QMP event called name (and satisfying match(event) if given); returns it.
        Events already received count; a returned event is removed from self.events."""
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev.get("event") == name and (match is None or match(ev)):
                    return self.events.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                raise VMError("QMP event %s not seen within %.0f s" % (name, timeout))
            try:
                ev = self._qmp_read(min(left, 0.5))
            except _QMPTimeout:
                self._pump()
                continue
            if "event" in ev:
                self.events.append(ev)

    # -- teardown --

    def close(self):
        """Kills QEMU if still running, closes sockets, removes the work folder (unless keep)."""
        if self._closed:
            return
        self._closed = True
        if self.proc is not None:
            if self.proc.poll() is None:
                self.kill()
            self._finish()
        for s in (self._qmp, self._ctl):
            if s is not None:
                s.close()
        for f in (self._console_file, getattr(self, "_stderr_file", None)):
            if f is not None:
                f.close()
        if not self.keep:
            shutil.rmtree(self.work_dir, ignore_errors=True)


def run_script(script, qemu_args=(), timeout=300.0, **kwargs):
    """Boots a guest with qemu_args, runs script, returns the Result (see VM for kwargs)."""
    with VM(qemu_args, **kwargs) as g:
        return g.run(script, timeout)


def _kill_live():
    for g in list(_live):
        g.kill()


_live = set()           # VMs whose QEMU may still run: killed at interpreter exit
atexit.register(_kill_live)


# ---- CUnit verbose output (iscsi-test-cu) ------------------------------------------------------

_TEST_RE = re.compile(r"^\s*Test: (\S+) \.\.\.(.*)$")
_SUITE_RE = re.compile(r"^\s*Suite: (\S+)")
_TESTS_SUMMARY_RE = re.compile(r"^\s*tests\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", re.M)


def parse_cunit(text):
    """Counts a CUnit verbose run (iscsi-test-cu's default output) test by test.

    CUnit reports a skipped test as passed; here a test that passed but printed "[SKIPPED]" counts
    as skipped. Returns {"passed": [names], "failed": [...], "skipped": [...], "unknown": [...],
    "summary": (total, ran, passed, failed, inactive) from CUnit's "Run Summary" or None}.
    Names are SUITE.TEST.
    """
    out = {"passed": [], "failed": [], "skipped": [], "unknown": [], "summary": None}
    suite = None
    tests = []
    cur = None
    for line in text.splitlines():
        m = _SUITE_RE.match(line)
        if m:
            suite = m.group(1)
            cur = None
            continue
        m = _TEST_RE.match(line)
        if m:
            cur = ["%s.%s" % (suite, m.group(1)) if suite else m.group(1), [m.group(2)]]
            tests.append(cur)
            continue
        if line.startswith("Run Summary"):
            cur = None
            continue
        if cur is not None:
            cur[1].append(line)
    for name, lines in tests:
        status = None
        for ln in lines:
            s = ln.strip()
            if s == "passed" or s.endswith("...passed"):
                status = "passed"
            elif s == "FAILED" or s.endswith("...FAILED"):
                status = "failed"
        if status is None and lines and lines[0].strip() in ("passed", "FAILED"):
            status = lines[0].strip().lower()
        if status == "passed" and any("[SKIPPED]" in ln for ln in lines):
            status = "skipped"
        out[status or "unknown"].append(name)
    m = _TESTS_SUMMARY_RE.search(text)
    if m:
        out["summary"] = tuple(int(x) for x in m.groups())
    return out


# ---- command line ------------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Boot a test VM and run a script in it, or open a guest shell.",
        epilog="QEMU arguments for the guest's devices follow '--'. Exit status: the script's, "
               "124 on timeout, 125 when the guest could not be set up.")
    sub = ap.add_subparsers(dest="what", required=True)
    b = sub.add_parser("build", help="build (or find cached) images; print their paths")
    r = sub.add_parser("run", help="run a guest script")
    r.add_argument("script", help="guest script file ('-' for stdin)")
    r.add_argument("--timeout", type=float, default=300.0)
    sh = sub.add_parser("shell", help="interactive guest console (busybox; `chroot /newroot`)")
    for p in (b, r, sh):
        p.add_argument("--out-dir", help="image folder (default $VT_BUILD_DIR/vm or build/vm)")
        p.add_argument("--kver", help="kernel version (default: newest installed)")
    for p in (r, sh):
        p.add_argument("--mem", type=int, default=512, help="guest MiB")
        p.add_argument("--smp", type=int, default=2)
        p.add_argument("--hotplug-ports", type=int, default=0)
        p.add_argument("--append", default="", help="extra kernel command line")
        p.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    r.add_argument("--log", help="keep the console log in this file")
    r.add_argument("--quiet", action="store_true", help="do not echo the console")
    argv = list(sys.argv[1:] if argv is None else argv)
    qargs = []
    if "--" in argv:
        i = argv.index("--")
        argv, qargs = argv[:i], argv[i + 1:]
    a = ap.parse_args(argv)

    if a.what == "build":
        for path in build_images(a.out_dir, a.kver):
            print(path)
        return 0
    env = dict(e.split("=", 1) for e in a.env)
    if a.what == "shell":
        g = VM(qargs, hotplug_ports=a.hotplug_ports, mem_mb=a.mem, smp=a.smp, env=env,
               append="vmtest.shell=1 " + a.append, out_dir=a.out_dir, kver=a.kver)
        try:
            g._write_run_sh("echo 'vmtest: the host root is at /newroot; exit to power off'\n")
            argv = g.qemu_argv()
            argv[argv.index("chardev:con")] = "mon:stdio"
            return subprocess.call(argv)
        finally:
            g.close()
    script = sys.stdin.read() if a.script == "-" else open(a.script).read()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))    # unwind: QEMU gets killed
    try:
        with VM(qargs, hotplug_ports=a.hotplug_ports, mem_mb=a.mem, smp=a.smp, env=env,
                append=a.append, log_path=a.log, echo=None if a.quiet else sys.stdout,
                out_dir=a.out_dir, kver=a.kver) as g:
            res = g.run(script, a.timeout)
    except VMError as e:
        print("vmtest: %s" % e, file=sys.stderr)
        return 125
    sys.stdout.flush()
    print("vmtest: %s; boot %.1f s, total %.1f s" % (res.describe(), res.boot_s or -1,
                                                      res.duration_s or -1), file=sys.stderr)
    if res.qemu_stderr.strip():
        print("vmtest: qemu stderr:\n" + res.qemu_stderr.rstrip(), file=sys.stderr)
    if res.timed_out:
        return 124
    if res.rc is None:
        return 125
    return res.rc


if __name__ == "__main__":
    sys.exit(main())
