# SPDX-License-Identifier: BSD-3-Clause
"""make install (issue 11, item 5): the files a DESTDIR install lays out, the systemd unit
(systemd-analyze verify, on an install whose paths exist), the man page (generated from
doc/app.md by scripts/gen_manpage.py and the same as the committed doc/vtarget.8, groff without
warnings, every --help option described; doc/app.md's option table lists exactly the options of
--help), and the installed daemon started from the unit's ExecStart line with the installed
default config, then stopped with SIGTERM."""

import difflib
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
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


def help_text():
    p = subprocess.run([vtlib.daemon_binary(), "--help"], stdout=subprocess.PIPE, text=True,
                       timeout=30)
    assert p.returncode == 0, p.returncode
    return p.stdout


def read(path):
    with open(path) as f:
        return f.read()


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
        # The man page installed is the one generated from doc/app.md.
        self.assertEqual(read(os.path.join(dest, "usr/share/man/man8/vtarget.8")),
                         read(os.path.join(ROOT, "doc", "vtarget.8")))
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
        longs = set(re.findall(r"--[a-z][a-z-]+", help_text()))
        self.assertGreater(len(longs), 10)
        for opt in sorted(longs):
            self.assertIn(opt.replace("-", "\u2010"), text.replace("-", "\u2010"), opt)

    def test_man_page_is_generated_from_app_md(self):
        r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen_manpage.py")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        committed = read(os.path.join(ROOT, "doc", "vtarget.8"))
        diff = "".join(difflib.unified_diff(committed.splitlines(True), r.stdout.splitlines(True),
                                            "doc/vtarget.8", "scripts/gen_manpage.py"))
        if diff:
            self.fail("doc/vtarget.8 differs from what scripts/gen_manpage.py makes of doc/app.md "
                      "and doc/vtarget.8.in: run `make man` and commit it\n" + diff)
        # The page holds app.md's parts: its stop bound paragraph, its exit code 137.
        self.assertIn("\\fBThe stop bound\\fR (\\fB\\-\\-stop\\-timeout\\fR", committed)
        self.assertIn(".TP\n137\n", committed)

    def test_app_md_option_table_is_the_help_options(self):
        # Every -x and --name of --help's option lines (--json is "also --json").
        helped = set()
        for line in help_text().split("\n"):
            if re.match(r"\s+-", line):
                helped |= set(re.findall(r"(?<![\w-])(--?[a-zA-Z][a-z-]*)", line))
        # The first cell of every row of the table of doc/app.md's "## Options".
        md = read(os.path.join(ROOT, "doc", "app.md"))
        table = md.split("\n## Options\n", 1)[1].split("\n## ", 1)[0]
        tabled = set()
        for row in re.findall(r"^\| (`-.*?) \|", table, re.M):
            tabled |= set(re.findall(r"`(--?[a-zA-Z][a-z-]*)`", row))
        self.assertGreater(len(helped), 20)
        self.assertEqual(tabled, helped)

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
