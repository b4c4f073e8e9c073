# SPDX-License-Identifier: BSD-3-Clause
"""libvirt end to end (issue 11, item 4): a TCG guest defined and started through a private
libvirtd, with QEMU running as Debian's libvirt-qemu (not root), on two vtarget disks:

- a `<disk type='vhostuser'>` virtio-blk disk (memfd shared memory, `<reconnect>`),
- a vhost-user-scsi controller passed through with `<qemu:commandline>` (libvirt 9.0 has no
  vhost-user-scsi disk), one LUN.

vtarget runs with --vhost-sock-group libvirt-qemu --vhost-sock-mode 0660 (doc/libvirt.md). The
guest (its own /init, vm_libvirt/init.sh, appended to the harness's initramfs: no 9p share)
writes 4 MiB of random data on each disk, reads it back after dropping its cache and prints the
checksum; the host checks the markers, that the backing files hold the same bytes, that vtarget
had a session on both controllers, and that the QEMU process runs as libvirt-qemu; then
`virsh destroy` (QEMU gone, sessions dropped) and `virsh undefine`.

The libvirtd is the test's own: started as root in a private mount namespace (unshare) where
/etc/libvirt, /run, /var/lib/libvirt, /var/log/libvirt and /var/cache/libvirt are folders of
the test's temporary folder, with its own libvirtd.conf (--config) and qemu.conf
(stdio_handler "file": no virtlogd); virsh connects to its socket with
qemu:///system?socket=PATH. Nothing of the system's libvirt is used or changed. Killed by PID.

VT_VM_LIBVIRT_VERBOSE=1 prints the console and libvirt's logs.
"""

import grp
import hashlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import vtlib
from vtlib import VtTestCase

sys.path.insert(0, os.path.join(vtlib.ROOT, "test", "vm"))
import vm  # noqa: E402  (test/vm/vm.py)

HERE = os.path.dirname(os.path.abspath(__file__))
MiB = 1024 * 1024
QEMU_USER = "libvirt-qemu"      # Debian's default QEMU user and group (qemu.conf)
QEMU_GROUP = "libvirt-qemu"
SLOW = 2.0 if vtlib.SANITIZED else 1.0
VERBOSE = os.environ.get("VT_VM_LIBVIRT_VERBOSE", "") not in ("", "0")
DOMAIN = "vt-libvirt-test"
DISK_BYTES = 64 * MiB
# the guest writes 4 MiB at 1 MiB on each disk
PAT_OFF, PAT_LEN = MiB, 4 * MiB

# The passthrough device: no reconnect= on its chardev (QEMU 7.2's vhost-user-scsi does not wait
# for a reconnecting chardev: "Failed to set msg fds"), and a fixed slot on pcie.0 (without one
# QEMU takes slot 1, where libvirt puts its first pcie-root-port, and the start fails).
SCSI_DEV = "vhost-user-scsi-pci,chardev=vtscsi0,num_queues=2,id=vtscsi0dev,bus=pcie.0,addr=0x10"

CHECK_RE = re.compile(r"^VTLV-CHECK (ok|FAIL) (\S+) ?(.*)$", re.M)
DONE_RE = re.compile(r"^VTLV-DONE rc=(\d+)", re.M)

LIBVIRTD_CONF = """\
unix_sock_dir = "%(sock)s"
unix_sock_group = "root"
unix_sock_rw_perms = "0700"
unix_sock_ro_perms = "0700"
unix_sock_admin_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
log_outputs = "3:file:%(tmp)s/libvirtd.log"
"""

QEMU_CONF = """\
user = "%(user)s"
group = "%(group)s"
dynamic_ownership = 1
remember_owner = 0
stdio_handler = "file"
namespaces = [ ]
cgroup_controllers = [ ]
"""

DOMAIN_XML = """\
<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>%(name)s</name>
  <memory unit='MiB'>512</memory>
  <vcpu>2</vcpu>
  <memoryBacking>
    <source type='memfd'/>
    <access mode='shared'/>
  </memoryBacking>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>%(kernel)s</kernel>
    <initrd>%(initrd)s</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet scsi_mod.scan=sync no_timer_check</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>%(emulator)s</emulator>
    <disk type='vhostuser' device='disk'>
      <driver name='qemu' type='raw' queues='2'/>
      <source type='unix' path='%(blk_sock)s'>
        <reconnect enabled='yes' timeout='10'/>
      </source>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='file'>
      <source path='%(console)s'/>
      <target port='0'/>
    </serial>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
  <qemu:commandline>
    <qemu:arg value='-chardev'/>
    <qemu:arg value='socket,id=vtscsi0,path=%(scsi_sock)s'/>
    <qemu:arg value='-device'/>
    <qemu:arg value='%(scsi_dev)s'/>
  </qemu:commandline>
</domain>
"""


def why_not():
    """Why this machine cannot run the test (None when it can)."""
    for prog in ("libvirtd", "virsh", "unshare", "qemu-system-x86_64", "busybox"):
        if not shutil.which(prog) and not os.path.exists("/usr/sbin/" + prog):
            return "%s is not installed (scripts/pkgdep.sh: libvirt-daemon-system " \
                   "libvirt-clients qemu-system-x86)" % prog
    try:
        pwd.getpwnam(QEMU_USER)
        grp.getgrnam(QEMU_GROUP)
    except KeyError:
        return "no user/group %s (made by libvirt-daemon-system)" % QEMU_USER
    if os.geteuid() != 0:
        return "needs root (a private libvirtd in its own mount namespace)"
    return None


def file_md5(path, off, n):
    with open(path, "rb") as f:
        f.seek(off)
        return hashlib.md5(f.read(n)).hexdigest()


class Libvirtd:
    """A private libvirtd in its own mount namespace; every path under tmp."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.sock_dir = os.path.join(tmp, "sock")
        self.uri = "qemu:///system?socket=%s/libvirt-sock" % self.sock_dir
        self.log = os.path.join(tmp, "libvirtd.log")
        self.proc = None
        self.binds = {}
        for d, target in (("etc", "/etc/libvirt"), ("run", "/run"), ("lib", "/var/lib/libvirt"),
                          ("logdir", "/var/log/libvirt"), ("cache", "/var/cache/libvirt")):
            path = os.path.join(tmp, d)
            os.makedirs(path)
            self.binds[path] = target
        os.makedirs(self.sock_dir)
        self.conf = os.path.join(tmp, "libvirtd.conf")
        with open(self.conf, "w") as f:
            f.write(LIBVIRTD_CONF % {"sock": self.sock_dir, "tmp": tmp})
        with open(os.path.join(tmp, "etc", "qemu.conf"), "w") as f:
            f.write(QEMU_CONF % {"user": QEMU_USER, "group": QEMU_GROUP})

    def start(self, timeout):
        mounts = " && ".join("mount --bind %s %s" % (src, dst) for src, dst in self.binds.items())
        script = "set -e; %s; exec libvirtd --config %s --pid-file %s/libvirtd.pid" % (
            mounts, self.conf, self.tmp)
        out = open(os.path.join(self.tmp, "libvirtd.out"), "wb")
        # unshare and sh exec: the PID is libvirtd's
        self.proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh",
                                      "-c", script], stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=subprocess.STDOUT)
        out.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError("libvirtd exited (%s):\n%s" % (self.proc.returncode,
                                                                    self.logs()))
            if os.path.exists(os.path.join(self.sock_dir, "libvirt-sock")):
                r = self.virsh("version", check=False)
                if r.returncode == 0:
                    return
            if time.monotonic() > deadline:
                raise AssertionError("libvirtd did not answer within %.0f s:\n%s"
                                     % (timeout, self.logs()))
            time.sleep(0.2)

    def virsh(self, *args, check=True, timeout=60):
        r = subprocess.run(["virsh", "-c", self.uri] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("virsh %s failed (%d): %s\n%s" % (
                " ".join(args), r.returncode, r.stderr.strip(), self.logs()))
        return r

    def logs(self):
        parts = ["--- libvirtd output:\n" + vtlib.read_text(os.path.join(self.tmp,
                                                                        "libvirtd.out"))[-3000:],
                 "--- libvirtd.log:\n" + vtlib.read_text(self.log)[-4000:]]
        qlog = os.path.join(self.tmp, "logdir", "qemu", DOMAIN + ".log")
        parts.append("--- qemu log:\n" + vtlib.read_text(qlog)[-4000:])
        return "\n".join(parts)

    def qemu_pid(self):
        try:
            with open(os.path.join(self.tmp, "run", "libvirt", "qemu", DOMAIN + ".pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def proc_uid_gid(pid):
    uid = gid = None
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                uid = int(line.split()[1])
            elif line.startswith("Gid:"):
                gid = int(line.split()[1])
    return uid, gid


class VmLibvirtTest(VtTestCase):
    TIME_LIMIT = 300.0

    def test_libvirt_qemu_user_blk_and_scsi(self):
        """Boot through libvirtd as libvirt-qemu, I/O verified on the vhostuser blk disk and the
        passthrough vhost-user-scsi LUN, virsh destroy and undefine."""
        why = why_not()
        if why:
            self.fail("the libvirt VM test cannot run: %s" % why)
        tmp = tempfile.mkdtemp(prefix="vt-it-libvirt-")
        self.addCleanup(shutil.rmtree, tmp, True)
        os.chmod(tmp, 0o755)    # QEMU (libvirt-qemu) reaches the kernel, console, sockets

        # images: the harness's kernel and initramfs, with vm_libvirt/init.sh as /init
        vmlinux, initrd = vm.build_images()
        kernel = os.path.join(tmp, "vmlinux")
        shutil.copyfile(vmlinux, kernel)
        stage = os.path.join(tmp, "stage")
        os.makedirs(stage)
        shutil.copyfile(os.path.join(HERE, "vm_libvirt", "init.sh"), os.path.join(stage, "init"))
        os.chmod(os.path.join(stage, "init"), 0o755)
        extra = subprocess.run("cd %s && echo init | busybox cpio -o -H newc -R 0:0 | gzip"
                               % stage, shell=True, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, check=True).stdout
        guest_initrd = os.path.join(tmp, "initramfs.cpio.gz")
        with open(initrd, "rb") as f, open(guest_initrd, "wb") as out:
            out.write(f.read())
            out.write(extra)    # the later archive's /init wins
        for p in (kernel, guest_initrd):
            os.chmod(p, 0o644)

        # vtarget: two file bdevs, a blk and a scsi controller, sockets for libvirt-qemu
        d = self.start_daemon(args=("--vhost-sock-group", QEMU_GROUP,
                                    "--vhost-sock-mode", "0660"))
        os.chmod(d.dir, 0o711)
        files = {}
        for name in ("blk", "scsi"):
            path = os.path.join(tmp, name + ".img")
            with open(path, "wb") as f:
                f.truncate(DISK_BYTES)
            files[name] = path
            d.call("bdev_aio_create", {"name": "F" + name, "filename": path, "block_size": 512})
        d.call("vhost_create_blk_controller", {"ctrlr": "vhost.blk", "dev_name": "Fblk"})
        d.call("vhost_create_scsi_controller", {"ctrlr": "vhost.scsi"})
        d.call("vhost_scsi_controller_add_target", {"ctrlr": "vhost.scsi",
                                                    "scsi_target_num": 0,
                                                    "bdev_name": "Fscsi"})
        blk_sock = os.path.join(d.dir, "vhost.blk")
        scsi_sock = os.path.join(d.dir, "vhost.scsi")
        gid = grp.getgrnam(QEMU_GROUP).gr_gid
        for s in (blk_sock, scsi_sock):
            st = os.stat(s)
            self.assertEqual((st.st_gid, st.st_mode & 0o777), (gid, 0o660), s)

        # the private libvirtd
        lv = Libvirtd(tmp)
        self.addCleanup(lv.stop)
        lv.start(30 * SLOW)
        console = os.path.join(tmp, "console.log")
        xml = os.path.join(tmp, "domain.xml")
        with open(xml, "w") as f:
            f.write(DOMAIN_XML % {"name": DOMAIN, "kernel": kernel, "initrd": guest_initrd,
                                  "emulator": shutil.which("qemu-system-x86_64"),
                                  "blk_sock": blk_sock, "scsi_sock": scsi_sock,
                                  "console": console, "scsi_dev": SCSI_DEV})
        lv.virsh("define", xml)
        self.addCleanup(lv.virsh, "undefine", DOMAIN, check=False)
        self.addCleanup(self.kill_qemu, lv)
        lv.virsh("start", DOMAIN, timeout=60 * SLOW)
        pid = lv.qemu_pid()
        self.assertIsNotNone(pid, "no QEMU pid file\n" + lv.logs())

        # QEMU runs as libvirt-qemu
        self.assertEqual(proc_uid_gid(pid), (pwd.getpwnam(QEMU_USER).pw_uid, gid),
                         "QEMU does not run as %s:%s" % (QEMU_USER, QEMU_GROUP))

        # the guest's checks; vtarget's sessions meanwhile
        seen = set()
        deadline = time.monotonic() + 150 * SLOW
        text = ""
        while time.monotonic() < deadline:
            for c in ("vhost.blk", "vhost.scsi"):
                if c not in seen and d.call("vhost_get_controllers", {"name": c})[0]["sessions"]:
                    seen.add(c)
            text = vtlib.read_text(console)
            if DONE_RE.search(text) or not pid_alive(pid):
                break
            time.sleep(0.5)
        if VERBOSE:
            print("\n--- console:\n" + text + "\n" + lv.logs())
        m = DONE_RE.search(text)
        self.assertIsNotNone(m, "the guest did not finish (QEMU %s)\n--- console:\n%s\n%s" % (
            "alive" if pid_alive(pid) else "gone", text[-4000:], lv.logs()))
        checks = {c.group(2): (c.group(1), c.group(3)) for c in CHECK_RE.finditer(text)}
        self.assertEqual(sorted(checks), ["blk", "scsi"], text)
        for name in ("blk", "scsi"):
            status, detail = checks[name]
            self.assertEqual(status, "ok", "guest check %s: %s" % (name, detail))
            fields = dict(kv.split("=", 1) for kv in detail.split())
            self.assertEqual(int(fields["bytes"]), DISK_BYTES, name)
            # what the guest read back is in vtarget's backing file
            self.assertEqual(file_md5(files[name], PAT_OFF, PAT_LEN), fields["md5"],
                             "%s: the backing file does not hold the guest's data" % name)
        self.assertEqual(m.group(1), "0")
        self.assertEqual(seen, {"vhost.blk", "vhost.scsi"},
                         "vtarget saw no session on some controller")

        # virsh destroy: QEMU ends, vtarget drops both sessions
        lv.virsh("destroy", DOMAIN)
        deadline = time.monotonic() + 20 * SLOW
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertFalse(pid_alive(pid), "QEMU still runs after virsh destroy")
        self.assertEqual(lv.virsh("domstate", DOMAIN).stdout.strip(), "shut off")
        for c in ("vhost.blk", "vhost.scsi"):
            deadline = time.monotonic() + 10 * SLOW
            while d.call("vhost_get_controllers", {"name": c})[0]["sessions"]:
                self.assertLess(time.monotonic(), deadline, "%s: session left after destroy" % c)
                time.sleep(0.1)
        lv.virsh("undefine", DOMAIN)
        self.assertNotIn(DOMAIN, lv.virsh("list", "--all", "--name").stdout.split())
        lv.stop()
        self.assertEqual(lv.proc.returncode, 0, "libvirtd exit status\n" + lv.logs())
        self.stop_clean(d)

    def kill_qemu(self, lv):
        pid = lv.qemu_pid()
        if pid and pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
