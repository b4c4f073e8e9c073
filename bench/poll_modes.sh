#!/usr/bin/env bash
# vtarget's three poll modes side by side (issue 15): poll, interrupt and adaptive, with the same
# daemon build, bdev and front end.
#
#   poll        vtarget -m 0x1 (the reactor busy-polls)
#   interrupt   vtarget -m 0x1 --poll-mode interrupt (sleeps whenever an iteration found nothing)
#   adaptive    vtarget -m 0x1 --poll-mode adaptive (polls a self-tuning window, then sleeps)
#
# The daemon (all its threads) is pinned to core 0, the front end (vtc bench, one thread) to
# core 1; a 1 GiB null bdev (512 B blocks) behind controller vhost.0. Workloads, 4 KiB random,
# one queue, --time seconds each: randread and randwrite at QD 1 and 128 with a busy-polling
# front end (notifications suppressed), and randread at QD 1 with a sleeping front end (vtc
# --interrupt: it waits on the call eventfd, as a guest does). Then the idle cost: 16 more
# controllers (a split of a null bdev), each with a connected front end that did some I/O and
# was then stopped (SIGSTOP), and the daemon's CPU over --idle seconds. Rounds interleave the
# modes, --repeat rounds (default 3); the report shows medians and ranges.
# Writes bench/results/poll_modes.md and prints it.
#
# Usage: bench/poll_modes.sh [--time S] [--repeat N] [--idle S] [--targets poll,interrupt,adaptive]
#                            [--no-build] [--out FILE]
# Not part of `make test`: it is a measurement. Run it on a quiet machine (load < 1).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

time_s=5
repeat=3
idle_s=10
targets="poll,interrupt,adaptive"
build=1
out=bench/results/poll_modes.md
BUILD_DIR=${BUILD_DIR:-$root/build}

usage() {
	sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
	exit "${1:-0}"
}

# --idle is ours; the rest are bench_lib's.
args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--idle) idle_s=$2; shift 2 ;;
	*) args+=("$1"); shift ;;
	esac
done
. bench/bench_lib.sh
bench_parse_options "${args[@]+"${args[@]}"}"
case "$time_s$idle_s" in
'' | *[!0-9.]*) echo "poll_modes.sh: --time and --idle take seconds" >&2; exit 2 ;;
esac

IDLE_CTRLRS=16
# rw:qd:front end
WORKLOADS="randread:1:poll randwrite:1:poll randread:1:interrupt randread:128:poll
randwrite:128:poll"

die() {
	echo "poll_modes.sh: $*" >&2
	exit 1
}

bench_vtarget_setup modes
fronts=()

stop_fronts() {
	local p
	for p in "${fronts[@]+"${fronts[@]}"}"; do
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	fronts=()
}

stop_target() {
	bench_stop_pid "$target_pid"
	target_pid=""
}

cleanup() {
	stop_fronts
	stop_target
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rpc() {
	"${RPC[@]}" -s "$tmp/vt.sock" "$@"
}

# start_vtarget MODE: the daemon with a 1 GiB null bdev behind controller vhost.0.
start_vtarget() {
	bench_start_vtarget blk --poll-mode "$1"
}

rows=$tmp/rows # mode rw qd front round iops p50 p99 p999 cpu_pct errors
idle_rows=$tmp/idle # mode round cpu_pct

run_workloads() {
	local mode=$1 round=$2 w rw qd front line t0 t1 c0 c1 cpu hz
	hz=$(getconf CLK_TCK)
	for w in $WORKLOADS; do
		IFS=: read -r rw qd front <<<"$w"
		c0=$(bench_cpu_ticks "$target_pid")
		t0=$(date +%s.%N)
		if ! line=$(timeout $((${time_s%.*} + 60)) "$VTC" bench "$tmp/vt/vhost.0" \
			--rw "$rw" --bs 4096 --qd "$qd" --time "$time_s" --cpu "$FRONT_CPU" \
			"--$front" 2>"$tmp/vtc.err"); then
			cat "$tmp/vtc.err" >&2
			die "vtc bench $rw QD $qd ($front front end) against $mode failed"
		fi
		t1=$(date +%s.%N)
		c1=$(bench_cpu_ticks "$target_pid")
		cpu=$(awk -v c="$((c1 - c0))" -v hz="$hz" -v t="$t0" -v u="$t1" \
			'BEGIN { printf "%.1f", 100 * c / hz / (u - t) }')
		echo "$mode $rw $qd $front $round $(kv "$line" iops) $(kv "$line" lat_p50_us)" \
			"$(kv "$line" lat_p99_us) $(kv "$line" lat_p999_us) $cpu" \
			"$(kv "$line" errors)" >>"$rows"
		printf '%d %-9s %-9s QD %-3s %-9s %s\n' "$round" "$mode" "$rw" "$qd" "$front" \
			"$line" >&2
	done
}

# started CTRLR: true when the controller has a started session.
started() {
	rpc vhost_get_controllers -n "$1" 2>/dev/null |
		python3 -c 'import json,sys; c=json.load(sys.stdin)
sys.exit(0 if any(s.get("started") for s in c[0].get("sessions", [])) else 1)'
}

# measure_idle MODE ROUND: 16 connected, stopped front ends; the daemon's CPU over idle_s.
measure_idle() {
	local mode=$1 round=$2 i c0 c1 t0 t1 hz cpu
	hz=$(getconf CLK_TCK)
	rpc call bdev_null_create '{"name": "Idle0", "num_blocks": 65536, "block_size": 4096}' \
		>/dev/null
	rpc call bdev_split_create "{\"base_bdev\": \"Idle0\", \"split_count\": $IDLE_CTRLRS}" \
		>/dev/null
	for i in $(seq 0 $((IDLE_CTRLRS - 1))); do
		rpc call vhost_create_blk_controller \
			"{\"ctrlr\": \"idle.$i\", \"dev_name\": \"Idle0p$i\"}" >/dev/null
		taskset -c "$FRONT_CPU" "$VTC" bench "$tmp/vt/idle.$i" --rw randread --qd 1 \
			--time 3600 --interrupt >/dev/null 2>"$tmp/idle.$i.err" &
		fronts+=($!)
	done
	for i in $(seq 0 $((IDLE_CTRLRS - 1))); do
		for _ in $(seq 200); do
			started "idle.$i" && break
			sleep 0.05
		done
		started "idle.$i" || die "front end of idle.$i did not start: $(cat "$tmp/idle.$i.err")"
	done
	kill -STOP "${fronts[@]}"
	sleep 1
	c0=$(bench_cpu_ticks "$target_pid")
	t0=$(date +%s.%N)
	sleep "$idle_s"
	c1=$(bench_cpu_ticks "$target_pid")
	t1=$(date +%s.%N)
	cpu=$(awk -v c="$((c1 - c0))" -v hz="$hz" -v t="$t0" -v u="$t1" \
		'BEGIN { printf "%.2f", 100 * c / hz / (u - t) }')
	echo "$mode $round $cpu" >>"$idle_rows"
	printf '%d %-9s idle, %d stopped front ends: daemon CPU %s %%\n' "$round" "$mode" \
		"$IDLE_CTRLRS" "$cpu" >&2
	stop_fronts
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
if awk '{ exit !($1 >= 1) }' /proc/loadavg; then
	echo "poll_modes.sh: warning: load average $load_before (>= 1): figures will be noisy" >&2
fi
: >"$rows"
: >"$idle_rows"
bench_split_list list target "$targets" poll interrupt adaptive
for round in $(seq "$repeat"); do
	for t in "${list[@]}"; do
		start_vtarget "$t"
		run_workloads "$t" "$round"
		measure_idle "$t" "$round"
		stop_target
	done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the report --------------------------------------------------------------------------------

cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=""
if [ -n "$(git -C "$root" status --porcelain 2>/dev/null)" ]; then
	dirty=" (with uncommitted changes)"
fi

mkdir -p "$(dirname "$out")"
{
	cat <<EOF
# vtarget poll modes: poll, interrupt, adaptive

Generated by \`bench/poll_modes.sh --time $time_s --repeat $repeat --idle $idle_s --targets $targets\`
on $(date -u '+%F %H:%M UTC').

- Machine: $cpu_model, $(nproc) cores, kernel $(uname -r); vtarget $commit$dirty
- Load average (1/5/15 min) before: $load_before, after: $load_after
- Daemon (all threads) pinned to core $TARGET_CPU, \`-m 0x1\`, \`--poll-mode MODE\`, a 1 GiB null
  bdev (512 B blocks) behind one vhost-blk controller. Front end \`vtc bench\` on core $FRONT_CPU,
  split ring, 1 queue, EVENT_IDX, 4 KiB random I/O, $time_s s per run; \`front\` poll: it
  busy-polls the used ring, notifications suppressed; interrupt: it sleeps on the call eventfd.
- Latency: submission to completion seen by the front end, µs. \`CPU\`: the daemon's CPU time
  per wall-clock second. Median of $repeat rounds (rounds interleave the modes) and range.
- Idle: $IDLE_CTRLRS more controllers, each with a connected front end that did I/O and was
  stopped (SIGSTOP); the daemon's CPU over $idle_s s.

| mode | rw | QD | front | IOPS (median) | IOPS range | p50 µs | p99 µs | p99 range | p99.9 µs | CPU |
|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|
EOF
	awk '
	{
		key = $1 " " $2 " " $3 " " $4
		if (!(key in n)) { order[++nkeys] = key }
		i = ++n[key]; iops[key, i] = $6; p50[key, i] = $7; p99[key, i] = $8
		p999[key, i] = $9; cpu[key, i] = $10; err[key] += $11
	}
	function med(arr, key,   a, b, t, m, s) {
		m = n[key]
		for (a = 1; a <= m; a++) { s[a] = arr[key, a] + 0 }
		for (a = 2; a <= m; a++) {
			for (b = a; b > 1 && s[b - 1] > s[b]; b--) { t = s[b]; s[b] = s[b - 1]; s[b - 1] = t }
		}
		lo = s[1]; hi = s[m]
		return m % 2 ? s[(m + 1) / 2] : (s[m / 2] + s[m / 2 + 1]) / 2
	}
	END {
		for (k = 1; k <= nkeys; k++) {
			key = order[k]; split(key, f, " ")
			mi = med(iops, key); ilo = lo; ihi = hi
			m99 = med(p99, key); plo = lo; phi = hi
			e = err[key] > 0 ? sprintf(" (%d errors)", err[key]) : ""
			printf "| %s | %s | %d | %s | %d%s | %d-%d | %.1f | %.1f | %.1f-%.1f | %.1f | %.0f %% |\n",
				f[1], f[2], f[3], f[4], mi, e, ilo, ihi, med(p50, key), m99, plo, phi,
				med(p999, key), med(cpu, key)
		}
	}' "$rows"
	echo
	echo "Idle, $IDLE_CTRLRS connected stopped front ends (+ vhost.0 unused), daemon CPU:"
	echo
	echo "| mode | CPU (median) | range |"
	echo "|---|---:|---:|"
	for t in "${list[@]}"; do
		read -r m lo hi < <(awk -v t="$t" '$1 == t { print $3 }' "$idle_rows" |
			bench_median_range %.2f)
		echo "| $t | $m % | $lo-$hi % |"
	done
	echo
	echo "Aims (issue 15, benchmark figures, not tests): adaptive mode's QD 1 p99 within 2x of"
	echo "poll mode's; its idle CPU with $IDLE_CTRLRS idle controllers below 1 %."
} >"$out"
cat "$out"
