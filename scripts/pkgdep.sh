#!/usr/bin/env bash
# Installs the Debian 12 packages vtarget needs to build and test. Idempotent: when everything is
# present it only asks dpkg (well under a second). Needs root, or sudo without a password.
set -euo pipefail

BUILD_PKGS=(gcc make pkg-config libc6-dev libdpdk-dev libyajl-dev libcunit1-dev liburing-dev
	libaio-dev libbsd-dev libnuma-dev)
TEST_PKGS=(python3 util-linux qemu-system-x86 qemu-system-common linux-image-amd64 busybox-static
	fio sg3-utils libiscsi-bin xz-utils gzip cpio clang libclang-rt-14-dev clang-format
	systemd groff-base)
# The RBD bdev module (librbd, librados) and the single-node Ceph cluster its tests start.
BUILD_PKGS+=(librbd-dev librados-dev)
TEST_PKGS+=(ceph-mon ceph-osd ceph-common)
BUILD_PKGS+=(libiscsi-dev)
TEST_PKGS+=(tgt qemu-block-extra)
# test_vm_libvirt.py: a private libvirtd (issue 11)
TEST_PKGS+=(libvirt-daemon-system libvirt-clients)
# bench/insn.sh: instructions per I/O under callgrind
TEST_PKGS+=(valgrind)
# test_vm_shared.py: the guest's dm-multipath (multipath, multipathd)
TEST_PKGS+=(multipath-tools)

want=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}")
missing=()
for p in "${want[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = "installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "pkgdep: installing ${missing[*]}"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=(sudo -n)
	else
		echo "pkgdep: missing packages (${missing[*]}) and not root; run as root" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists when they are absent or older than a day.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -1)" ]; then
	"${SUDO[@]}" apt-get update -q
fi
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
