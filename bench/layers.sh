#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Cost of each bdev layer per I/O (issue 14), with the same front end and the same daemon:
# one vtarget (-m 0x1, polling, pinned to core 0) serves four vhost-blk controllers, each over
# 1 GiB null bdevs (512-byte blocks):
#
#   vhost.null        Null0
#   vhost.raid1       raid1 R1 over Null1 + Null2
#   vhost.qos         Null3 with QoS limits far above reach (rw_ios_per_sec 100,000,000,
#                     rw/r/w_mbytes_per_sec 1,000,000: every I/O is accounted, none waits)
#   vhost.qos-raid1   raid1 R2 over Null4 + Null5 with the same QoS limits (the control plane's
#                     chain: legs -> raid1 -> QoS -> vhost-blk)
#
# The front end is vtc bench on core 1 (--poll): 4 KiB randread and randwrite at QD 1 and 128,
# --time seconds each, the four controllers in turn within each workload, the whole set
# --repeat times. The report gives medians with their ranges, the target's CPU time per I/O
# (from /proc of the daemon) and each layer's extra time per I/O over the controller below it.
# Writes bench/results/layers.md and prints it. Not part of `make test`: a measurement.
#
# Usage: bench/layers.sh [--time S] [--repeat N] [--no-build] [--out FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

time_s=5
repeat=3
targets=""
build=1
out=bench/results/layers.md
BUILD_DIR=${BUILD_DIR:-$root/build}

usage() {
	sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
	exit "${1:-0}"
}

. bench/bench_lib.sh
bench_parse_options "$@"
case "$time_s" in
'' | *[!0-9]*) echo "layers.sh: --time takes whole seconds" >&2; exit 2 ;;
esac

VTARGET=$BUILD_DIR/bin/vtarget
VTC=$BUILD_DIR/test/vhost_client/vtc
RPC=(python3 "$root/scripts/rpc.py")
TARGET_CPU=0
FRONT_CPU=1
BLOCKS=$((1024 * 1024 * 1024 / 512))
WORKLOADS="randread:1 randwrite:1 randread:128 randwrite:128"
# controller:base, base being the controller one layer down ("-": none)
CONTROLLERS="vhost.null:- vhost.raid1:vhost.null vhost.qos:vhost.null vhost.qos-raid1:vhost.raid1"
QOS_FAR='"rw_ios_per_sec": 100000000, "rw_mbytes_per_sec": 1000000,
	"r_mbytes_per_sec": 1000000, "w_mbytes_per_sec": 1000000'

die() {
	echo "layers.sh: $*" >&2
	exit 1
}

[ "$(nproc)" -ge 2 ] || die "needs 2 cores (target on core 0, front end on core 1)"
if [ "$build" = 1 ]; then
	make --no-print-directory -s app BUILD_DIR="$BUILD_DIR" >/dev/null
	make --no-print-directory -s -C test/vhost_client BUILD_DIR="$BUILD_DIR" >/dev/null
fi
{ [ -x "$VTARGET" ] && [ -x "$VTC" ]; } || die "build vtarget and vtc first"

tmp=$(mktemp -d /tmp/vt-bench-layers.XXXXXX)
target_pid=""
cleanup() {
	bench_stop_pid "$target_pid"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rpc() {
	"${RPC[@]}" -s "$tmp/vt.sock" call "$1" "$2" >/dev/null
}

mkdir -p "$tmp/vt"
RUNTIME_DIRECTORY=$tmp/vt taskset -c "$TARGET_CPU" "$VTARGET" -m 0x1 -r "$tmp/vt.sock" \
	-S "$tmp/vt" >"$tmp/target.log" 2>&1 &
target_pid=$!
wait_socket "$tmp/vt.sock" "$tmp/target.log"
"${RPC[@]}" -s "$tmp/vt.sock" framework_wait_init >/dev/null
for n in 0 1 2 3 4 5; do
	rpc bdev_null_create "{\"name\": \"Null$n\", \"num_blocks\": $BLOCKS, \"block_size\": 512}"
done
rpc bdev_raid_create '{"name": "R1", "raid_level": "raid1", "base_bdevs": ["Null1", "Null2"]}'
rpc bdev_raid_create '{"name": "R2", "raid_level": "raid1", "base_bdevs": ["Null4", "Null5"]}'
rpc bdev_set_qos_limit "{\"name\": \"Null3\", $QOS_FAR}"
rpc bdev_set_qos_limit "{\"name\": \"R2\", $QOS_FAR}"
rpc vhost_create_blk_controller '{"ctrlr": "vhost.null", "dev_name": "Null0"}'
rpc vhost_create_blk_controller '{"ctrlr": "vhost.raid1", "dev_name": "R1"}'
rpc vhost_create_blk_controller '{"ctrlr": "vhost.qos", "dev_name": "Null3"}'
rpc vhost_create_blk_controller '{"ctrlr": "vhost.qos-raid1", "dev_name": "R2"}'
for cb in $CONTROLLERS; do
	wait_socket "$tmp/vt/${cb%%:*}" "$tmp/target.log"
done

hz=$(getconf CLK_TCK)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
rows=$tmp/rows # ctrlr rw qd iops p50_us target_cpu_pct target_ns_per_io
: >"$rows"
for round in $(seq "$repeat"); do
	for w in $WORKLOADS; do
		rw=${w%%:*}
		qd=${w##*:}
		for cb in $CONTROLLERS; do
			c=${cb%%:*}
			c0=$(bench_cpu_ticks "$target_pid")
			t0=$(date +%s.%N)
			line=$(timeout $((time_s + 60)) "$VTC" bench "$tmp/vt/$c" --rw "$rw" --bs 4096 \
				--qd "$qd" --time "$time_s" --cpu "$FRONT_CPU" --poll) ||
				die "vtc bench $rw QD $qd on $c failed"
			t1=$(date +%s.%N)
			c1=$(bench_cpu_ticks "$target_pid")
			[ "$(kv "$line" errors)" = 0 ] || die "$c: I/O errors: $line"
			awk -v c="$((c1 - c0))" -v hz="$hz" -v t0="$t0" -v t1="$t1" \
				-v i="$(kv "$line" iops)" -v row="$c $rw $qd" -v p50="$(kv "$line" lat_p50_us)" \
				'BEGIN { cpu = c / hz / (t1 - t0); printf "%s %s %s %.0f %.0f\n",
					row, i, p50, 100 * cpu, (i > 0 ? cpu * 1e9 / i : 0) }' >>"$rows"
			printf '%d %-16s %-9s QD %-3s %s\n' "$round" "$c" "$rw" "$qd" "$line" >&2
		done
	done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# stats CTRLR RW QD COL [FMT]: "median lowest highest" of column COL of those rows.
stats() {
	awk -v c="$1" -v rw="$2" -v qd="$3" -v col="$4" \
		'$1 == c && $2 == rw && $3 == qd { print $col }' "$rows" | bench_median_range "${5:-}"
}

{
	echo "# Cost of each bdev layer per I/O (bench/layers.sh)"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) cores" \
		"($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1))," \
		"vtarget $(git rev-parse --short HEAD 2>/dev/null || echo '?'); load average before" \
		"$load_before, after $load_after; $repeat rounds of ${time_s} s, median (range)."
	if awk -v l="${load_before%% *}" 'BEGIN { exit !(l >= 1) }'; then
		echo
		echo "**The machine was loaded (1-minute load average $load_before before the run):" \
			"these figures are noise, not a measurement of the layers.**"
	fi
	echo
	echo "- One vtarget \`-m 0x1\` (polling) pinned to core $TARGET_CPU; \`vtc bench --poll\`" \
		"(4 KiB, one queue) on core $FRONT_CPU; the controllers take turns within each workload."
	echo "- \`vhost.null\`: a 1 GiB null bdev; \`vhost.raid1\`: raid1 over two of them;" \
		"\`vhost.qos\`: a null bdev with QoS limits never reached; \`vhost.qos-raid1\`: those" \
		"limits on a raid1 over two null bdevs."
	echo "- \`target ns/I/O\`: the daemon's CPU time (every thread, /proc) over the run divided by" \
		"its I/Os. A polling reactor burns its core whatever the load, so this is mostly" \
		"1 / IOPS of the target's share of core $TARGET_CPU. \`extra\`: the row's median minus" \
		"that of the controller one layer down (\`over\`)."
	echo
	echo "| workload | controller | over | IOPS | p50 µs | target CPU % | target ns/I/O | extra ns/I/O |"
	echo "|---|---|---|---|---|---|---|---|"
	for w in $WORKLOADS; do
		rw=${w%%:*} qd=${w##*:}
		for cb in $CONTROLLERS; do
			c=${cb%%:*} base=${cb##*:}
			read -r im ilo ihi <<<"$(stats "$c" "$rw" "$qd" 4)"
			read -r p50 _ _ <<<"$(stats "$c" "$rw" "$qd" 5 %.1f)"
			read -r cpu _ _ <<<"$(stats "$c" "$rw" "$qd" 6)"
			read -r nm nlo nhi <<<"$(stats "$c" "$rw" "$qd" 7)"
			extra=""
			if [ "$base" != - ]; then
				read -r bm _ _ <<<"$(stats "$base" "$rw" "$qd" 7)"
				extra=$(printf '%+d' $((nm - bm)))
			fi
			echo "| $rw QD $qd | $c | ${base/#-/} | $im ($ilo-$ihi) | $p50 | $cpu |" \
				"$nm ($nlo-$nhi) | $extra |"
		done
	done
} >"$tmp/report.md"
mkdir -p "$(dirname "$out")"
cp "$tmp/report.md" "$out"
cat "$out"
