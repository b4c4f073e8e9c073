# SPDX-License-Identifier: BSD-3-Clause
"""Build-time guards.

lib/vhost reads rte_vhost's private message context with a layout checked against DPDK 22.11
(lib/vhost/vhost_user_spec.h). Building against another DPDK release must stop at compile time
with a message naming the version checked, not misread messages at run time. The tests compile
lib/vhost/vhost_user.c with the installed DPDK headers, once as they are and once with the
version macros changed to other releases."""

import os
import subprocess
import tempfile

import vtlib
from vtlib import VtTestCase

SRC = os.path.join(vtlib.ROOT, "lib", "vhost", "vhost_user.c")


def dpdk_cflags():
    r = subprocess.run(["pkg-config", "--cflags", "libdpdk"], capture_output=True, text=True,
                       timeout=30)
    if r.returncode != 0:
        raise AssertionError("pkg-config libdpdk failed: %s" % r.stderr)
    return r.stdout.split()


def compile_with_version(year, month, patch):
    """gcc -fsyntax-only of vhost_user.c with DPDK's version macros set; (rc, stderr)."""
    with tempfile.NamedTemporaryFile("w", suffix=".h", delete=False) as f:
        f.write("#include <rte_config.h>\n")
        for name, v in (("RTE_VER_YEAR", year), ("RTE_VER_MONTH", month),
                        ("RTE_VER_MINOR", patch)):
            f.write("#undef %s\n#define %s %d\n" % (name, name, v))
        hdr = f.name
    try:
        cmd = ["gcc", "-std=gnu11", "-D_GNU_SOURCE", "-fsyntax-only", "-include", hdr,
               "-I" + os.path.join(vtlib.ROOT, "include"), "-I" + vtlib.ROOT] + dpdk_cflags()
        r = subprocess.run(cmd + [SRC], capture_output=True, text=True, timeout=120)
        return r.returncode, r.stderr
    finally:
        os.unlink(hdr)


class DpdkGuardTest(VtTestCase):

    def test_vhost_builds_against_dpdk_22_11(self):
        rc, err = compile_with_version(22, 11, 3)
        self.assertEqual(rc, 0, err)

    def test_another_dpdk_release_stops_the_build_naming_the_version_checked(self):
        for ver in ((23, 11, 0), (22, 7, 0), (24, 11, 1)):
            rc, err = compile_with_version(*ver)
            self.assertNotEqual(rc, 0, "DPDK %d.%d.%d built" % ver)
            self.assertIn("#error", err)
            self.assertIn("DPDK 22.11", err)
            self.assertIn("vhost_user_spec.h", err)
