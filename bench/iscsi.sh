#!/usr/bin/env bash
# iSCSI benchmark: a vhost-user-blk disk over an iSCSI LUN, vtarget's iscsi bdev against
# qemu-storage-daemon's iscsi block driver (qemu-block-extra), same target, same front end.
#
#   target        tgtd (Debian tgt) on 127.0.0.1, a private port and management socket, one LUN
#                 on a 1 GiB sparse file in a private folder (page cache: it measures the
#                 initiators and the target daemon, not a disk)
#   vtarget       bdev_iscsi_create on that LUN, -m 0x1, --interrupt (tgtd needs the CPU time a
#                 busy-polling reactor would take), controller vhost.0
#   qsd           qemu-storage-daemon --blockdev driver=iscsi on the same LUN, vhost-user-blk
#                 export, one queue
#
# The initiator process is pinned to core 0, the front end (vtc bench, one thread, interrupt
# mode) to core 1; tgtd floats. Workloads: 4 KiB randread and randwrite at QD 1 and 32, 128 KiB
# sequential read and write at QD 8, --time seconds each, the whole set --repeat times
# interleaving the initiators (the report shows the median IOPS run and the range).
# Writes bench/results/iscsi.md and prints it. Not part of `make test`: a measurement.
#
# Usage: bench/iscsi.sh [--time S] [--repeat N] [--targets vtarget,qsd] [--no-build] [--out FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

time_s=5
repeat=3
targets="vtarget,qsd"
build=1
out=bench/results/iscsi.md
BUILD_DIR=${BUILD_DIR:-$root/build}

usage() {
	sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
	exit "${1:-0}"
}

. bench/bench_lib.sh
bench_parse_options "$@"
case "$time_s" in
'' | *[!0-9]*) echo "iscsi.sh: --time takes whole seconds" >&2; exit 2 ;;
esac

VTARGET=$BUILD_DIR/bin/vtarget
VTC=$BUILD_DIR/test/vhost_client/vtc
RPC=(python3 "$root/scripts/rpc.py")
QSD=${QSD:-qemu-storage-daemon}
INIT_CPU=0
FRONT_CPU=1
SIZE=$((1024 * 1024 * 1024))
IQN=iqn.2026-12.io.vtarget:bench
WORKLOADS="randread:4096:1 randwrite:4096:1 randread:4096:32 randwrite:4096:32"
WORKLOADS+=" read:131072:8 write:131072:8"

die() {
	echo "iscsi.sh: $*" >&2
	exit 1
}

[ "$(nproc)" -ge 2 ] || die "needs 2 cores"
if [ "$build" = 1 ]; then
	make --no-print-directory -s app BUILD_DIR="$BUILD_DIR" >/dev/null
	make --no-print-directory -s -C test/vhost_client BUILD_DIR="$BUILD_DIR" >/dev/null
fi
[ -x "$VTC" ] || die "vtc not built at $VTC"
command -v tgtd >/dev/null || die "tgtd not installed (Debian package tgt)"
case ",$targets," in
*,qsd,*)
	command -v "$QSD" >/dev/null || die "$QSD not installed (qemu-system-common)"
	ls /usr/lib/x86_64-linux-gnu/qemu/block-iscsi.so >/dev/null 2>&1 ||
		die "qemu's iscsi driver is not installed (qemu-block-extra)"
	;;
esac

tmp=$(mktemp -d /tmp/vt-bench-iscsi.XXXXXX)
target_pid=""
tgtd_pid=""
control=""

cleanup() {
	bench_stop_pid "$target_pid"
	# tgtd -f ignores SIGTERM: killed by PID.
	if [ -n "$tgtd_pid" ]; then
		kill -KILL "$tgtd_pid" 2>/dev/null || true
		wait "$tgtd_pid" 2>/dev/null || true
	fi
	[ -n "$control" ] && rm -f "/var/run/tgtd/socket.$control" "/var/run/tgtd/socket.$control.lock"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

tgtadm_() {
	tgtadm -C "$control" --lld iscsi "$@" >/dev/null
}

start_tgtd() {
	port=$(free_port)
	for _ in $(seq 100); do
		control=$((20000 + RANDOM % 12000))
		[ -e "/var/run/tgtd/socket.$control" ] || break
	done
	truncate -s "$SIZE" "$tmp/lun1.img"
	# Written once, so reads hit data rather than holes.
	dd if=/dev/urandom of="$tmp/lun1.img" bs=1M count=256 conv=notrunc status=none
	tgtd -f -C "$control" --iscsi "portal=127.0.0.1:$port" >"$tmp/tgtd.log" 2>&1 &
	tgtd_pid=$!
	for _ in $(seq 200); do
		tgtadm -C "$control" --lld iscsi --mode target --op show >/dev/null 2>&1 && break
		kill -0 "$tgtd_pid" 2>/dev/null || break
		sleep 0.05
	done
	tgtadm_ --mode target --op new --tid 1 --targetname "$IQN" ||
		{ cat "$tmp/tgtd.log" >&2; die "tgtd did not start"; }
	tgtadm_ --mode logicalunit --op new --tid 1 --lun 1 --backing-store "$tmp/lun1.img"
	tgtadm_ --mode target --op bind --tid 1 --initiator-address ALL
}

start_vtarget() {
	local rpc_sock=$tmp/vt.sock
	rm -rf "$tmp/vt" && mkdir -p "$tmp/vt"
	RUNTIME_DIRECTORY=$tmp/vt taskset -c "$INIT_CPU" "$VTARGET" -m 0x1 -r "$rpc_sock" \
		-S "$tmp/vt" --interrupt >"$tmp/target.log" 2>&1 &
	target_pid=$!
	wait_socket "$rpc_sock" "$tmp/target.log"
	"${RPC[@]}" -s "$rpc_sock" framework_wait_init >/dev/null
	"${RPC[@]}" -s "$rpc_sock" bdev_iscsi_create -b iSCSI0 -i iqn.2026-12.io.vtarget:init \
		--url "iscsi://127.0.0.1:$port/$IQN/1" >/dev/null
	"${RPC[@]}" -s "$rpc_sock" call vhost_create_blk_controller \
		'{"ctrlr": "vhost.0", "dev_name": "iSCSI0"}' >/dev/null
	sock=$tmp/vt/vhost.0
	wait_socket "$sock" "$tmp/target.log"
}

start_qsd() {
	sock=$tmp/qsd.sock
	local export="type=vhost-user-blk,id=exp0,node-name=lun0,addr.type=unix"
	export+=",addr.path=$sock,writable=on,num-queues=1"
	taskset -c "$INIT_CPU" "$QSD" \
		--blockdev "driver=iscsi,node-name=lun0,transport=tcp,portal=127.0.0.1:$port,target=$IQN,lun=1,initiator-name=iqn.2026-12.io.vtarget:qsd,cache.direct=on" \
		--export "$export" >"$tmp/target.log" 2>&1 &
	target_pid=$!
	wait_socket "$sock" "$tmp/target.log"
}

rows=$tmp/rows # target rw bs qd round iops mib_s p50 p99 errors

run_workloads() {
	local name=$1 round=$2 w rw bs qd line
	for w in $WORKLOADS; do
		IFS=: read -r rw bs qd <<<"$w"
		if ! line=$(timeout $((time_s + 60)) "$VTC" bench "$sock" --rw "$rw" --bs "$bs" \
			--qd "$qd" --time "$time_s" --cpu "$FRONT_CPU" --interrupt \
			2>"$tmp/vtc.err"); then
			cat "$tmp/vtc.err" >&2
			die "vtc bench $rw $bs QD $qd against $name failed"
		fi
		echo "$name $rw $bs $qd $round $(kv "$line" iops) $(kv "$line" mib_s)" \
			"$(kv "$line" lat_p50_us) $(kv "$line" lat_p99_us) $(kv "$line" errors)" >>"$rows"
		printf '%d %-8s %-9s %6s QD %-3s %s\n' "$round" "$name" "$rw" "$bs" "$qd" "$line" >&2
	done
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
if awk '{ exit !($1 >= 1) }' /proc/loadavg; then
	echo "iscsi.sh: warning: load average $load_before (>= 1): figures will be noisy" >&2
fi
start_tgtd
: >"$rows"
IFS=, read -r -a list <<<"$targets"
for round in $(seq "$repeat"); do
	for t in "${list[@]}"; do
		case "$t" in
		vtarget) start_vtarget ;;
		qsd) start_qsd ;;
		*) die "unknown target '$t' (vtarget, qsd)" ;;
		esac
		run_workloads "$t" "$round"
		bench_stop_pid "$target_pid"
		target_pid=""
	done
done

mkdir -p "$(dirname "$out")"
{
	echo "# iSCSI: vtarget iscsi bdev vs qemu-storage-daemon iscsi driver"
	echo
	echo "bench/iscsi.sh --time $time_s --repeat $repeat, $(date -u '+%Y-%m-%d %H:%M UTC')."
	echo "Machine: $(nproc) cores, $(sed -n 's/^model name\t: //p' /proc/cpuinfo | head -1);"
	echo "load average before: $load_before. tgtd $(tgtd -V 2>&1 | head -1 | awk '{print $NF}')," \
		"$($QSD --version 2>/dev/null | head -1)."
	echo "Initiator on core $INIT_CPU, vtc (interrupt mode) on core $FRONT_CPU, tgtd floating;"
	echo "LUN: 1 GiB file on the page cache. Median of $repeat runs by IOPS (range in brackets)."
	echo
	echo "| workload | initiator | IOPS | MiB/s | p50 us | p99 us | errors |"
	echo "|---|---|---|---|---|---|---|"
	for w in $WORKLOADS; do
		IFS=: read -r rw bs qd <<<"$w"
		for t in "${list[@]}"; do
			awk -v t="$t" -v rw="$rw" -v bs="$bs" -v qd="$qd" \
				'$1 == t && $2 == rw && $3 == bs && $4 == qd' "$rows" | sort -k6 -n |
				awk -v n="$repeat" -v label="$rw $((bs / 1024)) KiB QD $qd" -v t="$t" '
				{ iops[NR] = $6; line[NR] = $0 }
				END {
					m = int((NR + 1) / 2); split(line[m], f, " ")
					printf "| %s | %s | %.0f [%.0f-%.0f] | %.1f | %s | %s | %s |\n",
						label, t, f[6], iops[1], iops[NR], f[7], f[8], f[9], f[10]
				}'
		done
	done
} >"$out"
cat "$out"
