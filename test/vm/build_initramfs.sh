#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Builds the VM test images into OUTDIR:
#   OUTDIR/vmlinux            the uncompressed kernel (ELF with a PVH note) unpacked from
#                             /boot/vmlinuz-KVER; QEMU boots it directly through PVH
#   OUTDIR/initramfs.cpio.gz  busybox-static, the guest init (test/vm/init.sh) and the
#                             virtio / 9p / SCSI modules of KVER with their dependencies
#   OUTDIR/initramfs-standalone.cpio  (-s) instead of the 9p image: busybox-static, fio with
#                             the libraries ldd lists, init.sh and the guest agent (agent.sh,
#                             which init.sh runs when present); no 9p: a guest on it can be
#                             live-migrated;
#                             not compressed (gunzip of its 85 MB takes seconds under TCG)
# Both are cached: a stamp file next to each records what it was built from (kernel version
# and the identity of every input); nothing is rebuilt while the stamp matches.
#
# Usage: build_initramfs.sh [-k KVER] [-s] OUTDIR
#   KVER defaults to $VMTEST_KVER, else the newest /boot/vmlinuz-* whose /lib/modules exists.
# Prints the two paths (vmlinux first) on stdout. Needs: busybox (static; also makes the cpio),
# the decompressor of the kernel's compression (xz for Debian's), gzip, awk, flock.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
init_src=$here/init.sh
standalone=0

# Modules the guest needs; their dependencies are added from modules.dep.
modules=(virtio_pci virtio_blk virtio_scsi sd_mod sg 9pnet_virtio 9p virtio_console)

die() {
	echo "build_initramfs: $*" >&2
	exit 1
}

kver=${VMTEST_KVER:-}
while getopts "k:sh" opt; do
	case $opt in
	k) kver=$OPTARG ;;
	s) standalone=1 ;;
	h)
		sed -n '3,17p' "$0"
		exit 0
		;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || die "usage: build_initramfs.sh [-k KVER] [-s] OUTDIR"
initrd_name=initramfs.cpio.gz
compress="gzip -6"
extra=()	# host files copied into the image at the same path (standalone: fio and its libraries)
if [ "$standalone" = 1 ]; then
	modules=(virtio_pci virtio_blk virtio_scsi sd_mod sg virtio_console)
	initrd_name=initramfs-standalone.cpio
	compress=cat
	fio=$(command -v fio || true)
	[ -n "$fio" ] || die "fio not found (apt-get install fio)"
	extra+=("$(readlink -f "$fio")")
	# every library the dynamic loader maps for fio (ldd: "name => /path (addr)" or "/path (addr)")
	while read -r lib; do
		extra+=("$lib")
	done < <(ldd "$fio" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
	[ ${#extra[@]} -gt 1 ] || die "ldd found no libraries for $fio"
fi
outdir=$1

if [ -z "$kver" ]; then
	for f in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -rV); do
		v=${f#/boot/vmlinuz-}
		if [ -f "/lib/modules/$v/modules.dep" ]; then
			kver=$v
			break
		fi
	done
	[ -n "$kver" ] || die "no /boot/vmlinuz-* with modules found (apt-get install linux-image-amd64)"
fi
vmlinuz=/boot/vmlinuz-$kver
moddir=/lib/modules/$kver
[ -r "$vmlinuz" ] || die "cannot read $vmlinuz"
[ -f "$moddir/modules.dep" ] || die "no $moddir/modules.dep"

busybox=$(command -v busybox || true)
[ -n "$busybox" ] || die "busybox not found (apt-get install busybox-static)"
# The initramfs has no libraries: the busybox must be static.
if LC_ALL=C file -L "$busybox" 2>/dev/null | grep -q 'dynamically linked'; then
	die "$busybox is dynamically linked (apt-get install busybox-static)"
fi

mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
exec 9>"$outdir/.lock"
flock -w 300 9 || die "timed out waiting for the lock on $outdir"

# identity of a file: path, size, mtime (cheap, changes when the package is upgraded)
ident() {
	stat -L -c '%n %s %Y' "$1"
}

# ---- vmlinux ----------------------------------------------------------------------------------

is_elf() {
	[ "$(head -c 4 "$1" | od -A n -t x1 | tr -d ' \n')" = "7f454c46" ]
}

# decompressor for the magic bytes at the start of file $1 (hex string in $2)
decompressor() {
	case $1 in
	fd377a585a00*) echo "xz -dc" ;;
	1f8b08*) echo "gzip -dc" ;;
	28b52ffd*) echo "zstd -dcq" ;;
	5d000000*) echo "xz -dc --format=lzma" ;;
	425a68*) echo "bzip2 -dc" ;;
	02214c18*) echo "lz4 -dc" ;;
	894c5a4f*) echo "lzop -dc" ;;
	*) return 1 ;;
	esac
}

# u32 little endian at byte offset $2 of file $1
le32() {
	od -A n -t u4 -j "$2" -N 4 "$1" | tr -d ' '
}

# Tries to decompress $1 from byte offset $2 into $3; succeeds when the result is an ELF.
try_unpack() {
	local img=$1 off=$2 out=$3 magic cmd
	magic=$(od -A n -t x1 -j "$off" -N 6 "$img" | tr -d ' \n')
	cmd=$(decompressor "$magic") || return 1
	command -v "${cmd%% *}" >/dev/null || {
		echo "build_initramfs: ${cmd%% *} needed to unpack $img" >&2
		return 1
	}
	# The payload is followed by other data: the decompressors complain about it after having
	# written the whole kernel, so their exit status is not used; the ELF check decides.
	tail -c +$((off + 1)) "$img" | $cmd >"$out" 2>/dev/null || true
	[ -s "$out" ] && is_elf "$out"
}

unpack_kernel() {
	local img=$1 out=$2 setup_sects pm_start payload_off off
	# x86 boot protocol >= 2.08: setup_sects at 0x1f1, "HdrS" at 0x202, payload_offset at
	# 0x248 (relative to the protected-mode code, which starts after the setup sectors).
	if [ "$(od -A n -c -j $((0x202)) -N 4 "$img" | tr -d ' ')" = "HdrS" ]; then
		setup_sects=$(od -A n -t u1 -j $((0x1f1)) -N 1 "$img" | tr -d ' ')
		[ "$setup_sects" -eq 0 ] && setup_sects=4
		pm_start=$(((setup_sects + 1) * 512))
		payload_off=$(le32 "$img" $((0x248)))
		if try_unpack "$img" $((pm_start + payload_off)) "$out"; then
			return 0
		fi
	fi
	# Fallback: scan for every known compression magic and take the first that unpacks to an ELF.
	local pat
	for pat in '\xfd\x37\x7a\x58\x5a\x00' '\x1f\x8b\x08' '\x28\xb5\x2f\xfd' '\x02\x21\x4c\x18' \
		'\x89\x4c\x5a\x4f' '\x42\x5a\x68' '\x5d\x00\x00\x00'; do
		for off in $(LC_ALL=C grep -obUaP "$pat" "$img" 2>/dev/null | cut -d: -f1 | head -20); do
			if try_unpack "$img" "$off" "$out"; then
				return 0
			fi
		done
	done
	return 1
}

vmlinux=$outdir/vmlinux
vstamp_want="kver=$kver $(ident "$vmlinuz")"
if [ -f "$vmlinux" ] && [ "$(cat "$vmlinux.stamp" 2>/dev/null)" = "$vstamp_want" ]; then
	:
else
	tmp=$outdir/.vmlinux.tmp
	rm -f "$tmp"
	unpack_kernel "$vmlinuz" "$tmp" || {
		rm -f "$tmp"
		die "could not unpack an ELF kernel from $vmlinuz"
	}
	# QEMU boots an ELF through PVH only when it carries the PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)
	if command -v readelf >/dev/null && ! readelf -n "$tmp" 2>/dev/null | grep -q 'Xen.*0x00000012'; then
		echo "build_initramfs: warning: $vmlinuz has no PVH note; QEMU may not boot it" >&2
	fi
	mv -f "$tmp" "$vmlinux"
	echo "$vstamp_want" >"$vmlinux.stamp"
fi

# ---- initramfs --------------------------------------------------------------------------------

# Load order: the wanted modules and their dependencies (modules.dep lists each module's
# transitive closure), dependencies first. One awk pass; "missing NAME" for unknown modules.
mod_order() {
	awk -F: -v want="$*" '
	function base(p,  b) {
		b = p; sub(/.*\//, "", b); sub(/\.ko(\.(xz|zst|gz))?$/, "", b); gsub(/-/, "_", b)
		return b
	}
	function visit(p,  n, i, d) {
		if (p in seen) return
		seen[p] = 1
		n = split(deps[p], d, " ")
		for (i = 1; i <= n; i++) visit(d[i])
		print p
	}
	{ deps[$1] = $2; path[base($1)] = $1 }
	END {
		n = split(want, w, " ")
		for (i = 1; i <= n; i++) {
			m = w[i]; gsub(/-/, "_", m)
			if (m in path) visit(path[m]); else print "missing " w[i]
		}
	}' "$moddir/modules.dep"
}

order=()
while read -r p; do
	case $p in
	missing\ *)
		m=${p#missing }
		# built into the kernel: nothing to load
		grep -q "/$m.ko" "$moddir/modules.builtin" 2>/dev/null || die "module $m not found for $kver"
		;;
	*) order+=("$p") ;;
	esac
done < <(mod_order "${modules[@]}")

modlist=""
for p in "${order[@]}"; do
	modlist+="$(ident "$moddir/$p")"$'\n'
done
for f in "${extra[@]}"; do
	modlist+="$(ident "$f")"$'\n'
done
initrd=$outdir/$initrd_name
istamp_want="kver=$kver
$(ident "$busybox")
init $(sha256sum <"$init_src" | cut -d' ' -f1)
agent $(sha256sum <"$here/agent.sh" | cut -d' ' -f1)
builder $(sha256sum <"$0" | cut -d' ' -f1)
$modlist"
istamp_want=$(printf '%s\n' "$istamp_want")	# as $(cat stamp) reads it back: no trailing newline
if [ -f "$initrd" ] && [ "$(cat "$initrd.stamp" 2>/dev/null)" = "$istamp_want" ]; then
	:
else
	stage=$(mktemp -d "$outdir/.initramfs.XXXXXX")
	trap 'rm -rf "$stage" "$outdir/.$initrd_name.tmp"' EXIT
	mkdir -p "$stage"/{bin,dev,proc,sys,newroot,lib/modules}
	cp "$busybox" "$stage/bin/busybox"
	for a in $("$busybox" --list); do
		[ "$a" = busybox ] || ln -s busybox "$stage/bin/$a"
	done
	install -m 0755 "$init_src" "$stage/init"
	: >"$stage/modules.order"
	for p in "${order[@]}"; do
		b=${p##*/}
		# busybox insmod cannot be relied on for compressed modules: store them plain
		case $b in
		*.ko.xz) xz -dc "$moddir/$p" >"$stage/lib/modules/${b%.xz}" ;;
		*.ko.zst) zstd -dcq "$moddir/$p" >"$stage/lib/modules/${b%.zst}" ;;
		*.ko.gz) gzip -dc "$moddir/$p" >"$stage/lib/modules/${b%.gz}" ;;
		*) cp "$moddir/$p" "$stage/lib/modules/$b" ;;
		esac
		b=${b%.xz}
		b=${b%.zst}
		b=${b%.gz}
		echo "$b" >>"$stage/modules.order"
	done
	echo "$kver" >"$stage/kver"
	if [ "$standalone" = 1 ]; then
		install -m 0644 "$here/agent.sh" "$stage/agent.sh"
		mkdir -p "$stage/usr/bin"
		cp -L "${extra[0]}" "$stage/usr/bin/fio"
		for f in "${extra[@]:1}"; do
			mkdir -p "$stage$(dirname "$f")"
			cp -L "$f" "$stage$f"
		done
		# merged /usr: the loader finds libraries under /lib and /usr/lib alike
		[ -e "$stage/usr/lib" ] || ln -s ../lib "$stage/usr/lib"
	fi
	# no /dev/console node: the init script reopens its console once devtmpfs is mounted
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null) |
		$compress >"$outdir/.$initrd_name.tmp"
	mv -f "$outdir/.$initrd_name.tmp" "$initrd"
	echo "$istamp_want" >"$initrd.stamp"
	rm -rf "$stage"
	trap - EXIT
fi

echo "$vmlinux"
echo "$initrd"
