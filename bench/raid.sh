#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Cost of the raid1 layer per I/O: one vtarget (one reactor, polling, pinned to core 0) serves
# two vhost-blk controllers side by side, vhost.null on a null bdev and vhost.raid1 on a raid1
# over two null bdevs; the same front end (vtc bench, 4 KiB, on core 1) runs each workload
# against each in turn, --repeat rounds. The report gives the median IOPS, p50 latency, the
# target's CPU and its CPU time per I/O, and the raid1 row's extra time per I/O.
#
#   bench/raid.sh [--time S] [--repeat N] [--no-build] [--out FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

time_s=5
repeat=3
build=1
out=bench/results/raid.md
BUILD_DIR=${BUILD_DIR:-$root/build}

while [ $# -gt 0 ]; do
	case "$1" in
	--time) time_s=$2; shift 2 ;;
	--repeat) repeat=$2; shift 2 ;;
	--no-build) build=0; shift ;;
	--out) out=$2; shift 2 ;;
	-h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "raid.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
done
case "$time_s" in
'' | *[!0-9]*) echo "raid.sh: --time takes whole seconds" >&2; exit 2 ;;
esac

VTARGET=$BUILD_DIR/bin/vtarget
VTC=$BUILD_DIR/test/vhost_client/vtc
RPC=(python3 "$root/scripts/rpc.py")
TARGET_CPU=0
FRONT_CPU=1
BLOCKS=$((1024 * 1024 * 1024 / 512))
WORKLOADS="randread:1 randwrite:1 randread:32 randwrite:32"

die() {
	echo "raid.sh: $*" >&2
	exit 1
}

[ "$(nproc)" -ge 2 ] || die "needs 2 cores"
if [ "$build" = 1 ]; then
	make --no-print-directory -s app BUILD_DIR="$BUILD_DIR" >/dev/null
	make --no-print-directory -s -C test/vhost_client BUILD_DIR="$BUILD_DIR" >/dev/null
fi
[ -x "$VTC" ] && [ -x "$VTARGET" ] || die "build vtarget and vtc first"

tmp=$(mktemp -d /tmp/vt-bench-raid.XXXXXX)
target_pid=""
cleanup() {
	if [ -n "$target_pid" ]; then
		kill -TERM "$target_pid" 2>/dev/null || true
		for _ in $(seq 100); do
			kill -0 "$target_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$target_pid" 2>/dev/null || true
		wait "$target_pid" 2>/dev/null || true
	fi
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
for _ in $(seq 200); do
	[ -S "$tmp/vt.sock" ] && break
	sleep 0.05
done
[ -S "$tmp/vt.sock" ] || { cat "$tmp/target.log" >&2; die "vtarget did not start"; }
"${RPC[@]}" -s "$tmp/vt.sock" framework_wait_init >/dev/null
for n in Null0 Null1 Null2; do
	rpc bdev_null_create "{\"name\": \"$n\", \"num_blocks\": $BLOCKS, \"block_size\": 512}"
done
rpc bdev_raid_create '{"name": "R1", "raid_level": "raid1", "base_bdevs": ["Null1", "Null2"]}'
rpc vhost_create_blk_controller '{"ctrlr": "vhost.null", "dev_name": "Null0"}'
rpc vhost_create_blk_controller '{"ctrlr": "vhost.raid1", "dev_name": "R1"}'

cpu_ticks() {
	awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$target_pid/stat"
}
kv() {
	tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"
}

hz=$(getconf CLK_TCK)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
rows=$tmp/rows # ctrlr rw qd iops p50 cpu_pct ns_per_io
for round in $(seq "$repeat"); do
	for w in $WORKLOADS; do
		rw=${w%%:*}
		qd=${w##*:}
		for c in vhost.null vhost.raid1; do
			c0=$(cpu_ticks)
			t0=$(date +%s.%N)
			line=$(timeout $((time_s + 60)) "$VTC" bench "$tmp/vt/$c" --rw "$rw" --bs 4096 \
				--qd "$qd" --time "$time_s" --cpu "$FRONT_CPU" --poll) ||
				die "vtc bench $rw QD $qd on $c failed"
			t1=$(date +%s.%N)
			c1=$(cpu_ticks)
			[ "$(kv "$line" errors)" = 0 ] || die "$c: I/O errors: $line"
			iops=$(kv "$line" iops)
			awk -v c="$((c1 - c0))" -v hz="$hz" -v t="$t0" -v u="$t1" -v i="$iops" \
				-v name="$c" -v rw="$rw" -v qd="$qd" -v p50="$(kv "$line" lat_p50_us)" \
				'BEGIN { cpu = c / hz / (u - t); printf "%s %s %s %s %s %.0f %.0f\n",
					name, rw, qd, i, p50, 100 * cpu, cpu * 1e9 / i }' >>"$rows"
			printf '%d %-12s %-9s QD %-3s %s\n' "$round" "$c" "$rw" "$qd" "$line" >&2
		done
	done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

mkdir -p "$(dirname "$out")"
{
	echo "# raid1 layer cost per I/O"
	echo
	echo "$(date -u +%Y-%m-%d) on $(nproc) cores ($(sed -n 's/^model name\s*: //p' \
		/proc/cpuinfo | head -1)); vtarget $(git rev-parse --short HEAD)."
	echo "Load average before $load_before, after $load_after. ${time_s} s per run, median" \
		"of $repeat rounds (the null and raid1 runs alternate)."
	echo
	echo "- vtarget \`-m 0x1\` pinned to core $TARGET_CPU; \`vtc bench\` (4 KiB, one queue," \
		"polling) on core $FRONT_CPU."
	echo "- \`vhost.null\`: null bdev of 1 GiB; \`vhost.raid1\`: raid1 over two such null bdevs."
	echo "- \`target ns/I/O\`: the target's CPU time (every thread) over the run divided by the"
	echo "  I/Os; the raid1 row's \`extra\` is its difference from the null row (a raid1 write"
	echo "  goes to both legs, a read to one)."
	echo
	echo "| controller | rw | QD | IOPS | p50 µs | target CPU % | target ns/I/O | extra ns/I/O |"
	echo "|---|---|---|---|---|---|---|---|"
	sort -k2,2 -k3,3n -k1,1r "$rows" | awk '
	{ key = $1 " " $2 " " $3; n[key]++; v[key, n[key]] = $0; order[key] = NR; keys[key] = 1 }
	END {
		for (k in keys) {
			# median by IOPS
			m = n[k]
			for (x = 1; x <= m; x++) { split(v[k, x], f, " "); io[x] = f[4]; id[x] = x }
			for (x = 2; x <= m; x++)
				for (y = x; y > 1 && io[id[y - 1]] > io[id[y]]; y--) {
					t = id[y]; id[y] = id[y - 1]; id[y - 1] = t
				}
			med[k] = v[k, id[int((m + 1) / 2)]]
		}
		split("randread:1 randwrite:1 randread:32 randwrite:32", ws, " ")
		for (w = 1; w <= 4; w++) {
			split(ws[w], p, ":")
			split(med["vhost.null " p[1] " " p[2]], a, " ")
			split(med["vhost.raid1 " p[1] " " p[2]], b, " ")
			printf "| %s | %s | %s | %s | %s | %s | %s | |\n", a[1], a[2], a[3], a[4], a[5],
				a[6], a[7]
			printf "| %s | %s | %s | %s | %s | %s | %s | %+d |\n", b[1], b[2], b[3], b[4],
				b[5], b[6], b[7], b[7] - a[7]
		}
	}'
} >"$out"
cat "$out"
