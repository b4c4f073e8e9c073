#!/usr/bin/env bash
# The cost of a QoS limit that is never reached: one vtarget (-m 0x1, poll mode, pinned to core 0)
# with two 1 GiB null bdevs, each behind a vhost-blk controller: vhost.plain over Null0 (no QoS)
# and vhost.qos over Null1 with every limit set far above what the machine does
# (rw_ios_per_sec 100,000,000, rw/r/w_mbytes_per_sec 1,000,000: every I/O is accounted in the
# buckets, none waits). The front end is vtc bench on core 1 (--poll), 4 KiB randread and
# randwrite at QD 1 and QD 128, the two controllers alternating within each round, --repeat
# rounds (median shown with the range). Writes bench/results/qos.md and prints it.
#
# Usage: bench/qos.sh [--time S] [--repeat N] [--no-build] [--out FILE]
# Not part of `make test`: it is a measurement. Run it on a quiet machine (load < 1).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

time_s=5
repeat=3
build=1
out=bench/results/qos.md
BUILD_DIR=${BUILD_DIR:-$root/build}

while [ $# -gt 0 ]; do
	case "$1" in
	--time) time_s=$2; shift 2 ;;
	--repeat) repeat=$2; shift 2 ;;
	--no-build) build=0; shift ;;
	--out) out=$2; shift 2 ;;
	-h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "qos.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
done
case "$time_s" in '' | *[!0-9]*) echo "qos.sh: --time takes whole seconds" >&2; exit 2 ;; esac
case "$repeat" in '' | *[!0-9]* | 0) echo "qos.sh: --repeat takes a count >= 1" >&2; exit 2 ;; esac

VTARGET=$BUILD_DIR/bin/vtarget
VTC=$BUILD_DIR/test/vhost_client/vtc
RPC=(python3 "$root/scripts/rpc.py")
WORKLOADS="randread:1 randread:128 randwrite:1 randwrite:128"

die() {
	echo "qos.sh: $*" >&2
	exit 1
}

[ "$(nproc)" -ge 2 ] || die "needs 2 cores (target on core 0, front end on core 1)"
if [ "$build" = 1 ]; then
	make --no-print-directory -s app BUILD_DIR="$BUILD_DIR" >/dev/null
	make --no-print-directory -s -C test/vhost_client BUILD_DIR="$BUILD_DIR" >/dev/null
fi
{ [ -x "$VTARGET" ] && [ -x "$VTC" ]; } || die "build vtarget and vtc first"

tmp=$(mktemp -d /tmp/vt-bench-qos.XXXXXX)
pid=""
cleanup() {
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rpc() {
	"${RPC[@]}" -s "$tmp/vt.sock" call "$1" "$2" >/dev/null
}

RUNTIME_DIRECTORY=$tmp taskset -c 0 "$VTARGET" -m 0x1 -r "$tmp/vt.sock" -S "$tmp" \
	>"$tmp/target.log" 2>&1 &
pid=$!
for _ in $(seq 200); do
	[ -S "$tmp/vt.sock" ] && break
	kill -0 "$pid" 2>/dev/null || { cat "$tmp/target.log" >&2; die "vtarget exited"; }
	sleep 0.05
done
"${RPC[@]}" -s "$tmp/vt.sock" framework_wait_init >/dev/null
for n in 0 1; do
	rpc bdev_null_create "{\"name\": \"Null$n\", \"num_blocks\": 2097152, \"block_size\": 512}"
done
rpc bdev_set_qos_limit '{"name": "Null1", "rw_ios_per_sec": 100000000,
	"rw_mbytes_per_sec": 1000000, "r_mbytes_per_sec": 1000000, "w_mbytes_per_sec": 1000000}'
rpc vhost_create_blk_controller '{"ctrlr": "vhost.plain", "dev_name": "Null0"}'
rpc vhost_create_blk_controller '{"ctrlr": "vhost.qos", "dev_name": "Null1"}'

kv() {
	tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
rows=$tmp/rows
: >"$rows"
for round in $(seq "$repeat"); do
	for w in $WORKLOADS; do
		for c in plain qos; do
			line=$(timeout $((time_s + 60)) "$VTC" bench "$tmp/vhost.$c" --rw "${w%%:*}" \
				--bs 4096 --qd "${w##*:}" --time "$time_s" --cpu 1 --poll) ||
				die "vtc bench $w against vhost.$c failed"
			echo "$c ${w%%:*} ${w##*:} $(kv "$line" iops) $(kv "$line" lat_p50_us)" \
				"$(kv "$line" lat_p99_us)" >>"$rows"
			printf '%d %-5s %s\n' "$round" "$c" "$line" >&2
		done
	done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# median and range of column col of the rows matching config, rw, qd (printf format fmt)
stats() {
	awk -v c="$1" -v rw="$2" -v qd="$3" -v col="$4" '$1 == c && $2 == rw && $3 == qd { print $col }' \
		"$rows" | sort -n | awk -v f="${5:-%.0f}" '{ v[NR] = $1 } END {
			printf f " " f " " f, v[int((NR + 1) / 2)], v[1], v[NR] }'
}

{
	echo "# QoS with no limit reached vs no QoS (bench/qos.sh)"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) cores," \
		"$(git rev-parse --short HEAD 2>/dev/null || echo '?'); load average before" \
		"$load_before, after $load_after; $repeat rounds of ${time_s} s, median (range)."
	echo
	echo "| workload | IOPS no QoS | IOPS QoS | QoS / no QoS | p50 us no QoS | p50 us QoS |"
	echo "|---|---|---|---|---|---|"
	for w in $WORKLOADS; do
		rw=${w%%:*} qd=${w##*:}
		read -r pm plo phi <<<"$(stats plain "$rw" "$qd" 4)"
		read -r qm qlo qhi <<<"$(stats qos "$rw" "$qd" 4)"
		read -r pl _ _ <<<"$(stats plain "$rw" "$qd" 5 %.1f)"
		read -r ql _ _ <<<"$(stats qos "$rw" "$qd" 5 %.1f)"
		ratio=$(awk -v a="$qm" -v b="$pm" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
		echo "| $rw QD $qd | $pm ($plo-$phi) | $qm ($qlo-$qhi) | $ratio | $pl | $ql |"
	done
} >"$tmp/report.md"
mkdir -p "$(dirname "$out")"
cp "$tmp/report.md" "$out"
cat "$out"
