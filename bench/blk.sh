#!/usr/bin/env bash
# vhost-user-blk benchmark: vtarget against qemu-storage-daemon, same workloads, same front end.
#
#   vtarget        null bdev (1 GiB, 512 B blocks), -m 0x1 (one reactor on core 0), poll mode
#   vtarget-intr   the same with --interrupt (reactor sleeps on the kick eventfds)
#   vtarget-adaptive  (only when asked for) the same with --poll-mode adaptive
#   vtarget-inflight  the same as vtarget, the front end negotiating INFLIGHT_SHMFD (the
#                  inflight record kept on every request: its cost)
#   qsd            qemu-storage-daemon, null-co export with read-zeroes=on (1 GiB), one queue
#   vtarget-log    (only when asked for) vtarget as above, the front end with dirty logging on
#                  (vtc bench --log: LOG_SHMFD, a memfd log, LOG_ALL; cleared every 100 ms, as
#                  QEMU's sync does): what logging costs during a live migration
#
# Every target process is pinned to core 0 (taskset: all its threads); the front end (vtc bench,
# one thread, busy-polling the used ring with notifications suppressed) runs on core 1. For each
# target: 4 KiB randread and randwrite at QD 1 and QD 128, one queue, --time seconds each, the
# whole set --repeat times (default 3; the report shows the run of median IOPS and the range).
# Writes bench/results/blk.md (machine, versions, load, table) and prints it.
#
# Usage: bench/blk.sh [--time S] [--repeat N]
#                     [--targets vtarget,vtarget-intr,vtarget-inflight,qsd,vtarget-log,
#                                vtarget-adaptive]
#                     [--no-build] [--out FILE]
# Not part of `make test`: it is a measurement. Run it on a quiet machine (load < 1).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

time_s=5
repeat=3
targets="vtarget,vtarget-intr,vtarget-inflight,qsd"
vtc_extra=()
build=1
out=bench/results/blk.md
BUILD_DIR=${BUILD_DIR:-$root/build}

usage() {
	sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'
	exit "${1:-0}"
}

. bench/bench_lib.sh
bench_parse_options "$@"
case "$time_s" in
'' | *[!0-9.]*) echo "blk.sh: --time takes seconds" >&2; exit 2 ;;
esac

VTARGET=$BUILD_DIR/bin/vtarget
VTC=$BUILD_DIR/test/vhost_client/vtc
RPC=(python3 "$root/scripts/rpc.py")
QSD=${QSD:-qemu-storage-daemon}
TARGET_CPU=0
FRONT_CPU=1
SIZE=$((1024 * 1024 * 1024))
WORKLOADS="randread:1 randwrite:1 randread:128 randwrite:128"

die() {
	echo "blk.sh: $*" >&2
	exit 1
}

[ "$(nproc)" -ge 2 ] ||
	die "needs 2 cores (target on core $TARGET_CPU, front end on core $FRONT_CPU)"
if [ "$build" = 1 ]; then
	make --no-print-directory -s app BUILD_DIR="$BUILD_DIR" >/dev/null
	make --no-print-directory -s -C test/vhost_client BUILD_DIR="$BUILD_DIR" >/dev/null
fi
[ -x "$VTC" ] || die "vtc not built at $VTC"
case ",$targets," in
*,vtarget*) [ -x "$VTARGET" ] || die "vtarget not built at $VTARGET" ;;
esac
case ",$targets," in
*,qsd,*) command -v "$QSD" >/dev/null || die "$QSD not installed (qemu-system-common)" ;;
esac

tmp=$(mktemp -d /tmp/vt-bench-blk.XXXXXX)
target_pid=""

stop_target() {
	bench_stop_pid "$target_pid"
	target_pid=""
}

cleanup() {
	stop_target
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_vtarget [--interrupt]: the target with a 1 GiB null bdev behind controller vhost.0.
start_vtarget() {
	bench_start_vtarget blk "$@"
}

start_qsd() {
	sock=$tmp/qsd.sock
	local export="type=vhost-user-blk,id=exp0,node-name=null0,addr.type=unix"
	export+=",addr.path=$sock,writable=on,num-queues=1"
	taskset -c "$TARGET_CPU" "$QSD" \
		--blockdev "driver=null-co,node-name=null0,size=$SIZE,read-zeroes=on" \
		--export "$export" >"$tmp/target.log" 2>&1 &
	target_pid=$!
	wait_socket "$sock" "$tmp/target.log"
}

rows=$tmp/rows	# target rw qd round iops p50 p99 p999 target_cpu_pct errors

run_workloads() {
	local name=$1 round=$2 w rw qd line t0 t1 c0 c1 cpu hz extra=()
	[ "$name" != vtarget-log ] || extra=(--log)
	hz=$(getconf CLK_TCK)
	for w in $WORKLOADS; do
		rw=${w%%:*}
		qd=${w##*:}
		c0=$(bench_cpu_ticks "$target_pid")
		t0=$(date +%s.%N)
		if ! line=$(timeout $((${time_s%.*} + 60)) "$VTC" bench "$sock" --rw "$rw" \
			--bs 4096 --qd "$qd" --time "$time_s" --cpu "$FRONT_CPU" --poll \
			"${vtc_extra[@]}" "${extra[@]}" 2>"$tmp/vtc.err"); then
			cat "$tmp/vtc.err" >&2
			die "vtc bench $rw QD $qd against $name failed"
		fi
		t1=$(date +%s.%N)
		c1=$(bench_cpu_ticks "$target_pid")
		cpu=$(awk -v c="$((c1 - c0))" -v hz="$hz" -v t="$t0" -v u="$t1" \
			'BEGIN { printf "%.0f", 100 * c / hz / (u - t) }')
		echo "$name $rw $qd $round $(kv "$line" iops) $(kv "$line" lat_p50_us)" \
			"$(kv "$line" lat_p99_us) $(kv "$line" lat_p999_us) $cpu" \
			"$(kv "$line" errors)" >>"$rows"
		printf '%d %-13s %-9s QD %-3s %s\n' "$round" "$name" "$rw" "$qd" "$line" >&2
	done
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
if awk '{ exit !($1 >= 1) }' /proc/loadavg; then
	echo "blk.sh: warning: load average $load_before (>= 1): figures will be noisy" >&2
fi
: >"$rows"
IFS=, read -r -a list <<<"$targets"
for t in "${list[@]}"; do
	case "$t" in
	vtarget | vtarget-intr | vtarget-inflight | qsd | vtarget-log | vtarget-adaptive) ;;
	*) die "unknown target '$t' (vtarget, vtarget-intr, vtarget-inflight, qsd," \
		"vtarget-log, vtarget-adaptive)" ;;
	esac
done
# Rounds interleave the targets, so that a slow spell of the machine hits them alike.
for round in $(seq "$repeat"); do
	for t in "${list[@]}"; do
		vtc_extra=()
		case "$t" in
		vtarget | vtarget-log) start_vtarget ;;
		vtarget-intr) start_vtarget --interrupt ;;
		vtarget-adaptive) start_vtarget --poll-mode adaptive ;;
		vtarget-inflight) start_vtarget; vtc_extra=(--inflight) ;;
		qsd) start_qsd ;;
		esac
		run_workloads "$t" "$round"
		stop_target
	done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the report --------------------------------------------------------------------------------

cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
dpdk=$(pkg-config --modversion libdpdk 2>/dev/null || echo unknown)
qemu=$("$QSD" --version 2>/dev/null | head -1 | sed 's/^qemu-storage-daemon version //' || true)
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=""
if [ -n "$(git -C "$root" status --porcelain 2>/dev/null)" ]; then
	dirty=" (with uncommitted changes)"
fi
mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)

mkdir -p "$(dirname "$out")"
{
	cat <<EOF
# vhost-user-blk: vtarget vs qemu-storage-daemon

Generated by \`bench/blk.sh --time $time_s --repeat $repeat --targets $targets\`
on $(date -u '+%F %H:%M UTC').

- Machine: $cpu_model, $(nproc) cores, $mem, kernel $(uname -r)
- vtarget $commit$dirty, DPDK $dpdk; qemu-storage-daemon ${qemu:-unknown}
- Load average (1/5/15 min) before: $load_before, after: $load_after
- Target (all its threads) pinned to core $TARGET_CPU; front end (\`vtc bench\`, one thread,
  busy-polling, notifications suppressed, split ring, 1 queue, EVENT_IDX) on core $FRONT_CPU.
- vtarget: \`-m 0x1\`, null bdev 1 GiB / 512 B blocks, controller over it; \`vtarget-intr\`
  adds \`--interrupt\`. qsd: \`null-co\` 1 GiB with \`read-zeroes=on\`, vhost-user-blk
  export, 1 queue, main-loop thread.
- 4 KiB random I/O over the whole 1 GiB, $time_s s per run. Latency: submission to completion
  seen by the front end, in µs. \`target CPU\`: CPU time of the target per wall-clock second.
- Each row ran $repeat times (rounds interleave the targets): the columns are those of the
  run of median IOPS; \`IOPS range\` is the lowest and highest of the $repeat runs.
  Ratios: vtarget row / qsd row of the same rw and QD.

EOF
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' target rw QD IOPS \
		"IOPS range" "p50 µs" "p99 µs" "p99.9 µs" "target CPU" "IOPS vs qsd" "p99 vs qsd"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	awk '
	# Per target, rw and QD: the run of median IOPS (its latencies and CPU), and the IOPS range.
	{
		key = $1 " " $2 " " $3
		if (!(key in n)) { order[++nkeys] = key }
		i = ++n[key]; iops[key, i] = $5; line[key, i] = $0
		if (!(key in lo) || $5 < lo[key]) { lo[key] = $5 }
		if (!(key in hi) || $5 > hi[key]) { hi[key] = $5 }
		err[key] += $10
	}
	END {
		for (k = 1; k <= nkeys; k++) {
			key = order[k]
			for (a = 1; a <= n[key]; a++) { idx[a] = a }
			for (a = 2; a <= n[key]; a++) {
				for (b = a; b > 1 && iops[key, idx[b - 1]] > iops[key, idx[b]];
				     b--) {
					t = idx[b]; idx[b] = idx[b - 1]; idx[b - 1] = t
				}
			}
			split(line[key, idx[int((n[key] + 1) / 2)]], f, " ")
			med[key] = f[5]; m50[key] = f[6]; m99[key] = f[7]; m999[key] = f[8]
			mcpu[key] = f[9]
			split(key, kk, " "); name[key] = kk[1]; rw[key] = kk[2]; qd[key] = kk[3]
			if (kk[1] == "qsd") {
				qi[kk[2] " " kk[3]] = f[5]
				q99[kk[2] " " kk[3]] = f[7]
			}
			if (kk[1] == "vtarget") {
				vi[kk[2] " " kk[3]] = f[5]
				v99[kk[2] " " kk[3]] = f[7]
			}
		}
		for (k = 1; k <= nkeys; k++) {
			key = order[k]; wl = rw[key] " " qd[key]
			r1 = "-"; r2 = "-"
			if (name[key] != "qsd" && (wl in qi) && qi[wl] > 0) {
				r1 = sprintf("%.2fx", med[key] / qi[wl])
				r2 = sprintf("%.2fx", m99[key] / q99[wl])
			}
			e = err[key] > 0 ? sprintf(" (%d errors)", err[key]) : ""
			printf "| %s | %s | %d | %d%s | %d-%d | %.1f | %.1f | %.1f | %d %% ",
				name[key], rw[key], qd[key], med[key], e, lo[key], hi[key],
				m50[key], m99[key], m999[key], mcpu[key]
			printf "| %s | %s |\n", r1, r2
		}
		# vtarget-log: the cost of dirty logging, against vtarget (same target, same runs)
		for (k = 1; k <= nkeys; k++) {
			key = order[k]; wl = rw[key] " " qd[key]
			if (name[key] != "vtarget-log" || !(wl in vi) || vi[wl] == 0) { continue }
			if (!hdr++) {
				print ""
				print "Dirty logging on (`vtarget-log`) against off (`vtarget`), same target and"
				print "front end, interleaved rounds:"
				print ""
				print "| rw | QD | IOPS off | IOPS on | on / off | p99 off µs | p99 on µs |"
				print "|---|---:|---:|---:|---:|---:|---:|"
			}
			printf "| %s | %d | %d | %d | %.2f | %.1f | %.1f |\n", rw[key], qd[key],
				vi[wl], med[key], med[key] / vi[wl], v99[wl], m99[key]
		}
	}' "$rows"
	if grep -q '^vtarget-inflight ' "$rows" && grep -q '^vtarget ' "$rows"; then
		echo
		echo "Cost of the inflight record (issue 10): median IOPS of \`vtarget-inflight\`"
		echo "(INFLIGHT_SHMFD negotiated) / \`vtarget\` (not negotiated), same daemon build,"
		echo "same front end, same run."
		echo
		echo "| rw | QD | IOPS without | IOPS with | with / without |"
		echo "|---|---:|---:|---:|---:|"
		awk '
		$1 == "vtarget" || $1 == "vtarget-inflight" {
			key = $1 " " $2 " " $3; wl = $2 " " $3
			if (!(wl in seen)) { order[++nw] = wl; seen[wl] = 1 }
			v[key, ++n[key]] = $5
		}
		function median(key,   a, b, t, m) {
			m = n[key]
			for (a = 1; a <= m; a++) { s[a] = v[key, a] }
			for (a = 2; a <= m; a++) {
				for (b = a; b > 1 && s[b - 1] > s[b]; b--) {
					t = s[b]; s[b] = s[b - 1]; s[b - 1] = t
				}
			}
			return s[int((m + 1) / 2)]
		}
		END {
			for (k = 1; k <= nw; k++) {
				split(order[k], w, " ")
				a = median("vtarget " order[k]); b = median("vtarget-inflight " order[k])
				printf "| %s | %d | %d | %d | %.3f |\n", w[1], w[2], a, b, (a > 0 ? b / a : 0)
			}
		}' "$rows"
	fi
	echo
	echo "Aim (issue 3, a benchmark figure, not a test): at QD 128 with one target core"
	echo "vtarget serves at least 3x the IOPS of qemu-storage-daemon, and at QD 1 its p99"
	echo "latency is lower."
} >"$out"
cat "$out"
