# SPDX-License-Identifier: BSD-3-Clause
"""Socket ownership for front ends that do not run as root (issue 11, libvirt): with
--vhost-sock-owner / --vhost-sock-group / --vhost-sock-mode a vhost-user socket can be used by
another user (libvirt's QEMU runs as libvirt-qemu; here the front end, vtc, runs as nobody),
without them it cannot; --rpc-sock-group opens the RPC socket to a group."""

import grp
import os
import pwd
import stat
import subprocess

import vtlib
from test_vhost_blk import vtc_bin
from vtlib import VtTestCase

USER, GROUP = "nobody", "nogroup"


def as_nobody(*cmd):
    """Runs cmd as nobody:nogroup without supplementary groups."""
    return subprocess.run(["setpriv", "--reuid", USER, "--regid", GROUP, "--clear-groups"] +
                          list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=60 * vtlib.SLOW)


class SockPermsTest(VtTestCase):

    def start(self, *args):
        d = self.start_daemon(args=args)
        # The front end must be able to reach the socket's folder (as libvirt's must).
        os.chmod(d.dir, 0o711)
        d.call("bdev_malloc_create", {"name": "M0", "num_blocks": 2048, "block_size": 512})
        d.call("vhost_create_blk_controller", {"ctrlr": "p0", "dev_name": "M0"})
        return d, os.path.join(d.dir, "p0")

    def test_owner_group_mode_let_another_user_connect(self):
        d, sock = self.start("--vhost-sock-owner", USER, "--vhost-sock-group", GROUP,
                             "--vhost-sock-mode", "0660", "--rpc-sock-group", str(
                                 grp.getgrnam(GROUP).gr_gid))
        st = os.stat(sock)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)),
                         (pwd.getpwnam(USER).pw_uid, grp.getgrnam(GROUP).gr_gid, 0o660))
        r = as_nobody(vtc_bin(), "io", sock, "--write", "--read", "--verify", "--size", "64K")
        self.assertEqual(r.returncode, 0, r.stderr)
        rst = os.stat(d.sock)
        self.assertEqual((rst.st_gid, stat.S_IMODE(rst.st_mode)),
                         (grp.getgrnam(GROUP).gr_gid, 0o660))
        self.stop_clean(d)

    def test_group_and_mode_only(self):
        d, sock = self.start("--vhost-sock-group", GROUP, "--vhost-sock-mode", "660")
        st = os.stat(sock)
        self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)),
                         (0, grp.getgrnam(GROUP).gr_gid, 0o660))
        r = as_nobody(vtc_bin(), "io", sock, "--read", "--size", "4K")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.stop_clean(d)

    def test_without_options_another_user_is_refused(self):
        d, sock = self.start()
        st = os.stat(sock)
        self.assertEqual(st.st_uid, 0)
        self.assertEqual(stat.S_IMODE(os.stat(d.sock).st_mode), 0o600)
        r = as_nobody(vtc_bin(), "io", sock, "--read", "--size", "4K", "--timeout", "2000")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Permission denied", r.stderr)
        self.stop_clean(d)

    def test_bad_values(self):
        for args, needle in ((["--vhost-sock-owner", "no-such-user-x"], "no user"),
                             (["--vhost-sock-group", "no-such-group-x"], "no group"),
                             (["--vhost-sock-mode", "0999"], "octal"),
                             (["--vhost-sock-mode", "17777"], "octal"),
                             (["--rpc-sock-group", "no-such-group-x"], "no group")):
            r = subprocess.run([vtlib.daemon_binary()] + args, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, timeout=30)
            self.assertEqual(r.returncode, 1, args)
            self.assertIn(needle, r.stderr, args)
