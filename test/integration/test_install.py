# SPDX-License-Identifier: BSD-3-Clause
"""make install (issue 11, item 5): the files a DESTDIR install lays out, the systemd unit
(systemd-analyze verify, on an install whose paths exist), the man page (groff without warnings,
every --help option described), and the installed daemon started from the unit's ExecStart
line with the installed default config, then stopped with SIGTERM."""

import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import tempfile

import vtlib
from vtlib import VtTestCase

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def make_install(**variables):
    args = ["make", "-s", "--no-print-directory", "-C", ROOT, "install",
            "BUILD_DIR=%s" % vtlib.build_dir()]
    args += ["%s=%s" % kv for kv in variables.items()]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=300 * vtlib.SLOW)
    if p.returncode != 0:
        raise AssertionError("make install failed: %s%s" % (p.stdout, p.stderr))


def unit_lines(path, key):
    with open(path) as f:
        return [line.split("=", 1)[1].strip() for line in f if line.startswith(key + "=")]


class InstallTest(VtTestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vt-it-install-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def mode(self, path):
        return stat.S_IMODE(os.stat(path).st_mode)

    def test_destdir_layout(self):
        dest = os.path.join(self.tmp, "dest")
        make_install(DESTDIR=dest, PREFIX="/usr")
        files = {
            "usr/bin/vtarget": 0o755,
            "usr/bin/vtarget-rpc": 0o755,
            "usr/lib/systemd/system/vtarget.service": 0o644,
            "etc/vtarget/vtarget.json": 0o644,
            "usr/share/man/man8/vtarget.8": 0o644,
        }
        found = sorted(os.path.relpath(os.path.join(d, f), dest)
                       for d, _, fs in os.walk(dest) for f in fs)
        self.assertEqual(found, sorted(files))
        for rel, mode in files.items():
            self.assertEqual(self.mode(os.path.join(dest, rel)), mode, rel)
        unit = os.path.join(dest, "usr/lib/systemd/system/vtarget.service")
        exec_start = unit_lines(unit, "ExecStart")[0]
        self.assertTrue(exec_start.startswith("/usr/bin/vtarget "), exec_start)
        self.assertIn("VTARGET_CONFIG=/etc/vtarget/vtarget.json", unit_lines(unit, "Environment"))
        self.assertEqual(unit_lines(unit, "KillSignal"), ["SIGTERM"])
        self.assertEqual(unit_lines(unit, "Restart"), ["on-failure"])
        self.assertEqual(unit_lines(unit, "RuntimeDirectory"), ["vtarget"])
        with open(unit) as f:
            self.assertNotIn("@", f.read())
        # An existing config is kept.
        conf = os.path.join(dest, "etc/vtarget/vtarget.json")
        with open(conf, "w") as f:
            f.write('{"subsystems": []}\n')
        make_install(DESTDIR=dest, PREFIX="/usr")
        with open(conf) as f:
            self.assertEqual(f.read(), '{"subsystems": []}\n')
        # The installed client is the same CLI.
        r = subprocess.run([os.path.join(dest, "usr/bin/vtarget-rpc"), "--help"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("vhost_create_blk_controller", r.stdout)

    def test_man_page_describes_every_option(self):
        page = os.path.join(ROOT, "doc", "vtarget.8")
        r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", page], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=30)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        text = re.sub(r".\x08", "", r.stdout)
        helptext = subprocess.run([vtlib.daemon_binary(), "--help"], stdout=subprocess.PIPE,
                                  text=True, timeout=30).stdout
        longs = set(re.findall(r"--[a-z][a-z-]+", helptext))
        self.assertGreater(len(longs), 10)
        for opt in sorted(longs):
            self.assertIn(opt.replace("-", "\u2010"), text.replace("-", "\u2010"), opt)

    def test_unit_verifies_and_installed_daemon_runs_from_exec_start(self):
        prefix = os.path.join(self.tmp, "usr")
        make_install(PREFIX=prefix)
        unit = os.path.join(prefix, "lib/systemd/system/vtarget.service")
        env = dict(os.environ, MANPATH=os.path.join(prefix, "share/man"))
        r = subprocess.run(["systemd-analyze", "verify", unit], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60, env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # ExecStart as systemd would run it: the Environment= values expanded, /run/vtarget
        # (RuntimeDirectory) replaced by a private folder, no extra arguments.
        config = unit_lines(unit, "Environment")[0].split("=", 1)[1]
        self.assertEqual(config, os.path.join(prefix, "etc/vtarget/vtarget.json"))
        run_dir = os.path.join(self.tmp, "run")
        os.mkdir(run_dir)
        line = unit_lines(unit, "ExecStart")[0]
        line = line.replace("${VTARGET_CONFIG}", config).replace("$VTARGET_ARGS", "")
        line = line.replace("/run/vtarget", run_dir)
        argv = shlex.split(line)
        self.assertEqual(argv[0], os.path.join(prefix, "bin/vtarget"))
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=dict(os.environ, RUNTIME_DIRECTORY=run_dir))
        self.addCleanup(lambda: p.poll() is None and p.kill())
        sock = os.path.join(run_dir, "vtarget.sock")
        # The unit's readiness check (ExecStartPost), with the installed client.
        post = unit_lines(unit, "ExecStartPost")[0].replace("/run/vtarget", run_dir)
        r = subprocess.run(shlex.split(post), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=90 * vtlib.SLOW)
        self.assertEqual(r.returncode, 0, r.stderr)
        rpc = os.path.join(prefix, "bin/vtarget-rpc")
        r = subprocess.run([rpc, "-s", sock, "bdev_malloc_create", "8", "512", "-b", "M0"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "M0"), r.stderr)
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=60 * vtlib.SLOW)
        self.assertEqual(p.returncode, 0, err)
        self.assertFalse(os.path.exists(sock))
