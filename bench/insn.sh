#!/usr/bin/env bash
# Instructions per I/O of the vtarget daemon, counted by valgrind (callgrind): a figure that does
# not depend on the machine's load, unlike IOPS on a shared machine.
#
#   plain     vtc bench against a null bdev behind one vhost-blk controller
#   inflight  the same, the front end negotiating INFLIGHT_SHMFD (vtc --inflight)
#   log       the same, dirty logging on (vtc bench --log: LOG_SHMFD, LOG_ALL)
#   scsi      the same load as READ(16) / WRITE(16) (vtc bench --scsi) to a vhost-scsi controller
#             over a second null bdev of the same size, in the same daemon
#
# One `vtarget -m 0x1 --interrupt` runs under `valgrind --tool=callgrind` (interrupt mode: an
# idle reactor sleeps and adds no instructions). The front end, `vtc bench` (4 KiB randread and
# randwrite, QD 1, 32 and 128), runs natively. Each measurement is two runs of the same workload: a
# baseline of 1 ms (a connection that does next to no I/O) and a run of --time seconds; for each,
# the counters are zeroed (callgrind_control -z) just before vtc starts and dumped
# (callgrind_control -d) just after it ends. Instructions per I/O = (instructions of the run - of
# the baseline) / (its I/Os - the baseline's): what the connection costs (negotiation, memory
# table, inflight or log set-up, teardown) cancels out. vtc runs for a time, not a count, and
# the I/Os a run completes vary with the load; the instructions per I/O do not.
# The whole set runs --repeat times (default 2) to show how repeatable the figures are.
# Writes bench/results/insn.md and prints it.
#
# Usage: bench/insn.sh [--time S] [--repeat N] [--targets plain,inflight,log,scsi] [--no-build]
#                      [--out FILE]   (--time: default 3; --targets: the variants, default all)
# Needs valgrind (package valgrind). About 4 min per round at the default --time 3.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

time_s=3
BASE_TIME=0.001
repeat=2
targets="plain,inflight,log,scsi"
build=1
out=bench/results/insn.md
BUILD_DIR=${BUILD_DIR:-$root/build}

usage() {
	sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'
	exit "${1:-0}"
}

. bench/bench_lib.sh
bench_parse_options "$@"
case "$time_s" in
'' | *[!0-9]* | 0) echo "insn.sh: --time takes whole seconds >= 1" >&2; exit 2 ;;
esac

VTARGET=$BUILD_DIR/bin/vtarget
VTC=$BUILD_DIR/test/vhost_client/vtc
RPC=(python3 "$root/scripts/rpc.py")
SIZE=$((1024 * 1024 * 1024))
WORKLOADS="randread:1 randwrite:1 randread:32 randwrite:32 randread:128 randwrite:128"
VARIANTS=${targets//,/ }

die() {
	echo "insn.sh: $*" >&2
	exit 1
}

command -v valgrind >/dev/null || die "valgrind not installed (package valgrind)"
command -v callgrind_control >/dev/null || die "callgrind_control not found (package valgrind)"
if [ "$build" = 1 ]; then
	make --no-print-directory -s app BUILD_DIR="$BUILD_DIR" >/dev/null
	make --no-print-directory -s -C test/vhost_client BUILD_DIR="$BUILD_DIR" >/dev/null
fi
[ -x "$VTC" ] || die "vtc not built at $VTC"
[ -x "$VTARGET" ] || die "vtarget not built at $VTARGET"

tmp=$(mktemp -d /tmp/vt-bench-insn.XXXXXX)
target_pid=""
cleanup() {
	bench_stop_pid "$target_pid"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The daemon under callgrind, a 1 GiB null bdev behind blk controller vhost.0, another behind
# scsi controller vhost.1 (target 0).
start_vtarget() {
	local rpc_sock=$tmp/vt.sock
	mkdir -p "$tmp/vt"
	RUNTIME_DIRECTORY=$tmp/vt valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" \
		"$VTARGET" -m 0x1 --interrupt -r "$rpc_sock" -S "$tmp/vt" >"$tmp/target.log" 2>&1 &
	target_pid=$!
	wait_socket_slow "$rpc_sock"
	"${RPC[@]}" -s "$rpc_sock" framework_wait_init >/dev/null
	local params="{\"name\": \"Null0\", \"num_blocks\": $((SIZE / 512)), \"block_size\": 512}"
	"${RPC[@]}" -s "$rpc_sock" call bdev_null_create "$params" >/dev/null
	"${RPC[@]}" -s "$rpc_sock" call vhost_create_blk_controller \
		'{"ctrlr": "vhost.0", "dev_name": "Null0"}' >/dev/null
	params="{\"name\": \"Null1\", \"num_blocks\": $((SIZE / 512)), \"block_size\": 512}"
	"${RPC[@]}" -s "$rpc_sock" call bdev_null_create "$params" >/dev/null
	"${RPC[@]}" -s "$rpc_sock" call vhost_create_scsi_controller '{"ctrlr": "vhost.1"}' >/dev/null
	"${RPC[@]}" -s "$rpc_sock" call vhost_scsi_controller_add_target \
		'{"ctrlr": "vhost.1", "scsi_target_num": 0, "bdev_name": "Null1"}' >/dev/null
	wait_socket_slow "$tmp/vt/vhost.0"
	wait_socket_slow "$tmp/vt/vhost.1"
}

# wait_socket_slow PATH: wait_socket with the patience valgrind needs (start-up is ~50x slower).
wait_socket_slow() {
	for _ in $(seq 60); do
		[ -S "$1" ] && return 0
		kill -0 "$target_pid" 2>/dev/null || break
		sleep 1
	done
	wait_socket "$1" "$tmp/target.log"
}

ndump=0
# measure SECONDS RW QD EXTRA...: m_ir (instructions) and m_ios of one vtc run, counted around
# it alone.
measure() {
	local secs=$1 rw=$2 qd=$3 line ir
	shift 3
	callgrind_control -z "$target_pid" >/dev/null 2>&1
	if ! line=$(timeout $((${secs%.*} * 10 + 60)) "$VTC" bench "$sock" --rw "$rw" --bs 4096 \
		--qd "$qd" --time "$secs" --cpu 1 --poll "$@" 2>"$tmp/vtc.err"); then
		cat "$tmp/vtc.err" "$tmp/target.log" >&2
		die "vtc bench $rw QD $qd $* failed"
	fi
	callgrind_control -d "$target_pid" >/dev/null 2>&1
	ndump=$((ndump + 1))
	[ -s "$tmp/cg.out.$ndump" ] || die "no callgrind dump $tmp/cg.out.$ndump"
	ir=$(sed -n 's/^summary: //p' "$tmp/cg.out.$ndump")
	[ "$(kv "$line" errors)" = 0 ] || die "vtc reported errors: $line"
	m_ir=$ir
	m_ios=$(kv "$line" ios)
}

rows=$tmp/rows	# round variant rw qd insn_per_io ios_short ios_long
: >"$rows"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
start_vtarget
for round in $(seq "$repeat"); do
	for w in $WORKLOADS; do
		rw=${w%%:*}
		qd=${w##*:}
		for v in $VARIANTS; do
			extra=()
			sock=$tmp/vt/vhost.0
			case "$v" in
			plain) ;;
			inflight) extra=(--inflight) ;;
			log) extra=(--log) ;;
			scsi) extra=(--scsi); sock=$tmp/vt/vhost.1 ;;
			*) die "unknown variant '$v' (plain, inflight, log, scsi)" ;;
			esac
			measure "$BASE_TIME" "$rw" "$qd" "${extra[@]}"
			i1=$m_ir n1=$m_ios
			measure "$time_s" "$rw" "$qd" "${extra[@]}"
			i2=$m_ir n2=$m_ios
			[ "$n2" -gt "$n1" ] || die "$v $rw QD $qd: the run did no more I/O than the baseline ($n2 <= $n1)"
			per=$(awk -v a="$i1" -v b="$i2" -v m="$n1" -v n="$n2" \
				'BEGIN { printf "%.0f", (b - a) / (n - m) }')
			echo "$round $v $rw $qd $per $n1 $n2" >>"$rows"
			printf '%d %-8s %-9s QD %-2s %s insn/IO (%s and %s I/Os, %s and %s insn)\n' \
				"$round" "$v" "$rw" "$qd" "$per" "$n1" "$n2" "$i1" "$i2" >&2
		done
	done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the report --------------------------------------------------------------------------------

cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
dpdk=$(pkg-config --modversion libdpdk 2>/dev/null || echo unknown)
vg=$(valgrind --version)
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=""
if [ -n "$(git -C "$root" status --porcelain 2>/dev/null)" ]; then
	dirty=" (with uncommitted changes)"
fi

mkdir -p "$(dirname "$out")"
{
	cat <<EOF
# Instructions per I/O of the daemon (callgrind)

Generated by \`bench/insn.sh --time $time_s --repeat $repeat\` on $(date -u '+%F %H:%M UTC').

- Machine: $cpu_model, $(nproc) cores, kernel $(uname -r); load average before:
  $load_before, after: $load_after (instruction counts do not depend on it)
- vtarget $commit$dirty, DPDK $dpdk, $vg
- \`vtarget -m 0x1 --interrupt\` under \`valgrind --tool=callgrind\`, null bdev 1 GiB / 512 B
  blocks, one vhost-blk controller; front end \`vtc bench --poll\` natively on core 1, one split
  queue, EVENT_IDX, 4 KiB random I/O over the whole disk.
- Variants: \`plain\`; \`inflight\` (\`vtc --inflight\`: INFLIGHT_SHMFD negotiated, the inflight
  record kept on every request); \`log\` (\`vtc bench --log\`: dirty logging on, as during a
  live migration); \`scsi\` (\`vtc bench --scsi\`: the same I/O as READ(16) / WRITE(16) to
  target 0 of a vhost-scsi controller over another null bdev of the same size).
- Instructions per I/O: every instruction the daemon executed (all its threads) during a vtc
  run of $time_s s minus those of a baseline run of $BASE_TIME s (same options), over the
  difference of the I/Os the two runs completed; counters zeroed just before and dumped just
  after each run, so the set-up and teardown of the connection cancel out. Under valgrind the
  daemon runs ~50x slower, so runs complete thousands of I/Os, not millions: the counts are of
  the same code paths, the IOPS are meaningless.
- Reads cost more than writes because the null bdev zeroes the 4 KiB buffer of every read; a
  write to it does nothing. In interrupt mode the count also holds the reactor's own loop
  (epoll_wait, timers) between I/Os, which depends a little on timing: at QD 1 the rounds can
  differ by a few percent, at QD 32 (batches) hardly at all.
- \`ratio\`: the variant over \`plain\` of the same round, rw and QD. \`spread\`: (highest -
  lowest) / lowest of the $repeat rounds.

EOF
	echo "| rw | QD | variant | insn/IO per round | spread | ratio vs plain (blk) per round |"
	echo "|---|---:|---|---:|---:|---:|"
	awk '
	{
		key = $3 " " $4 " " $2
		if (!(key in seen)) { order[++nkeys] = key; seen[key] = 1 }
		v[key, $1] = $5; nr[key] = $1 > nr[key] ? $1 : nr[key]
		if ($2 == "plain") { p[$3 " " $4, $1] = $5 }
	}
	END {
		for (k = 1; k <= nkeys; k++) {
			key = order[k]; split(key, kk, " "); wl = kk[1] " " kk[2]
			s = ""; r = ""; lo = -1; hi = 0
			for (i = 1; i <= nr[key]; i++) {
				x = v[key, i]
				s = s (i > 1 ? ", " : "") x
				r = r (i > 1 ? ", " : "") sprintf("%.3f", x / p[wl, i])
				if (lo < 0 || x < lo) { lo = x }
				if (x > hi) { hi = x }
			}
			printf "| %s | %d | %s | %s | %.1f %% | %s |\n", kk[1], kk[2], kk[3], s,
				100 * (hi - lo) / lo, r
		}
	}' "$rows"
} >"$out"
cat "$out"
