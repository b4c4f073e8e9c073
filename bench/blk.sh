#!/usr/bin/env bash
# vhost-user-blk benchmark: vtarget against qemu-storage-daemon (and SPDK's vhost app when asked
# for), same workloads, same front end.
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
#   spdk           (only when asked for) SPDK's vhost app from the SPDK tree --spdk-dir (or
#                  $SPDK_DIR; built there, never here): -m 0x1 --no-huge --no-pci, a 1 GiB null bdev
#                  (512 B blocks; SPDK's null bdev leaves read buffers untouched: compare it
#                  with --no-read-zeroes) behind vhost_create_blk_controller vhost.0;
#                  the report names SPDK's commit (git, else $SPDK_COMMIT)
#
# Every target process is pinned to core 0 (taskset: all its threads); the front end (vtc bench,
# one thread, busy-polling the used ring with notifications suppressed) runs on core 1. For each
# target: 4 KiB randread and randwrite at QD 1 and QD 128, one queue, --time seconds each, the
# whole set --repeat times (default 3; the report shows the run of median IOPS and the range)
# and the target's CPU time per I/O in cycles (/proc/PID/stat at the /proc/cpuinfo clock).
# --no-read-zeroes: reads leave their buffers untouched in every target (vtarget's null bdev
# with read_zeroes false, qsd's null-co with read-zeroes=off; SPDK's null bdev always does).
# Writes bench/results/blk.md (machine, versions, load, table) and prints it.
#
# Usage: bench/blk.sh [--time S] [--repeat N]
#                     [--targets vtarget,vtarget-intr,vtarget-inflight,qsd,vtarget-log,
#                                vtarget-adaptive,spdk]
#                     [--no-read-zeroes] [--spdk-dir DIR] [--no-build] [--out FILE]
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
	sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'
	exit "${1:-0}"
}

# --no-read-zeroes and --spdk-dir are ours; the rest are bench_lib's.
NULL_EXTRA=""
qsd_zeroes=on
SPDK_DIR=${SPDK_DIR:-}
args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--no-read-zeroes) NULL_EXTRA=', "read_zeroes": false'; qsd_zeroes=off; shift ;;
	--spdk-dir) SPDK_DIR=$2; shift 2 ;;
	*) args+=("$1"); shift ;;
	esac
done
. bench/bench_lib.sh
bench_parse_options "${args[@]+"${args[@]}"}"

QSD=${QSD:-qemu-storage-daemon}
WORKLOADS="randread:1 randwrite:1 randread:128 randwrite:128"

die() {
	echo "blk.sh: $*" >&2
	exit 1
}

IFS=, read -r -a list <<<"$targets"
for t in "${list[@]}"; do
	case "$t" in
	vtarget | vtarget-intr | vtarget-inflight | qsd | vtarget-log | vtarget-adaptive | spdk) ;;
	*) die "unknown target '$t' (vtarget, vtarget-intr, vtarget-inflight, qsd," \
		"vtarget-log, vtarget-adaptive, spdk)" ;;
	esac
done
case ",$targets," in
*,qsd,*) command -v "$QSD" >/dev/null || die "$QSD not installed (qemu-system-common)" ;;
esac
case ",$targets," in
*,spdk,*)
	[ -n "$SPDK_DIR" ] || die "target spdk needs the SPDK tree: --spdk-dir DIR or SPDK_DIR"
	SPDK_BIN=$SPDK_DIR/build/bin/vhost
	[ -x "$SPDK_BIN" ] || SPDK_BIN=$SPDK_DIR/build/bin/spdk_tgt
	[ -x "$SPDK_BIN" ] || die "no SPDK vhost app in $SPDK_DIR/build/bin (vhost or spdk_tgt):" \
		"build SPDK there first (./configure && make)"
	[ -f "$SPDK_DIR/scripts/rpc.py" ] || die "no scripts/rpc.py in $SPDK_DIR"
	SPDK_RPC=(env "PYTHONPATH=$SPDK_DIR/python" python3 "$SPDK_DIR/scripts/rpc.py")
	;;
esac
mhz=$(bench_cpu_mhz)
[ -n "$mhz" ] || die "no 'cpu MHz' in /proc/cpuinfo"
bench_vtarget_setup blk
spdk_run=""
dpdk_run_existed=0
[ ! -d /var/run/dpdk ] || dpdk_run_existed=1

# stop_target: the target, and the runtime files DPDK made for SPDK's app (/var/run/dpdk, gone too
# if it was not there before).
stop_target() {
	bench_stop_pid "$target_pid"
	target_pid=""
	if [ -n "$spdk_run" ]; then
		rm -rf "$spdk_run"
		[ "$dpdk_run_existed" = 1 ] || rmdir /var/run/dpdk 2>/dev/null || true
		spdk_run=""
	fi
}
trap 'stop_target; rm -rf "$tmp"' EXIT

# start_vtarget [--interrupt]: the target with a 1 GiB null bdev behind controller vhost.0.
start_vtarget() {
	bench_start_vtarget blk "$@"
}

start_qsd() {
	sock=$tmp/qsd.sock
	local export="type=vhost-user-blk,id=exp0,node-name=null0,addr.type=unix"
	export+=",addr.path=$sock,writable=on,num-queues=1"
	taskset -c "$TARGET_CPU" "$QSD" \
		--blockdev "driver=null-co,node-name=null0,size=$SIZE,read-zeroes=$qsd_zeroes" \
		--export "$export" >"$tmp/target.log" 2>&1 &
	target_pid=$!
	wait_socket "$sock" "$tmp/target.log"
}

# start_spdk: SPDK's vhost app on $TARGET_CPU, a 1 GiB null bdev behind the blk controller
# vhost.0. --no-huge: its own buffers in ordinary memory (no hugepages to reserve and give back);
# it maps the front end's memfd guest memory as any vhost-user back end does. --no-pci: it
# leaves the machine's PCI devices alone; --disable-cpumask-locks: no lock files in /var/tmp.
# LD_LIBRARY_PATH: its shared libraries (a build against a packaged DPDK is a shared one).
start_spdk() {
	local rpc_sock=$tmp/spdk.sock
	rm -rf "$tmp/spdk" && mkdir -p "$tmp/spdk"
	LD_LIBRARY_PATH=$SPDK_DIR/build/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
		taskset -c "$TARGET_CPU" "$SPDK_BIN" -m 0x1 --no-huge -s 1024 --no-pci \
		--disable-cpumask-locks -S "$tmp/spdk" -r "$rpc_sock" >"$tmp/target.log" 2>&1 &
	target_pid=$!
	spdk_run=/var/run/dpdk/spdk_pid$target_pid
	wait_socket "$rpc_sock" "$tmp/target.log"
	"${SPDK_RPC[@]}" -s "$rpc_sock" framework_wait_init >/dev/null
	"${SPDK_RPC[@]}" -s "$rpc_sock" bdev_null_create Null0 $((SIZE >> 20)) 512 >/dev/null
	"${SPDK_RPC[@]}" -s "$rpc_sock" vhost_create_blk_controller vhost.0 Null0 \
		--cpumask 0x1 >/dev/null
	sock=$tmp/spdk/vhost.0
	wait_socket "$sock" "$tmp/target.log"
}

rows=$tmp/rows # target rw qd round iops p50 p99 p999 cpu_pct cycles_per_io errors

run_workloads() {
	local name=$1 round=$2 w rw qd extra=()
	[ "$name" != vtarget-log ] || extra=(--log)
	for w in $WORKLOADS; do
		rw=${w%%:*}
		qd=${w##*:}
		bench_vtc_run --rw "$rw" --bs 4096 --qd "$qd" --time "$time_s" --cpu "$FRONT_CPU" \
			--poll "${vtc_extra[@]+"${vtc_extra[@]}"}" "${extra[@]+"${extra[@]}"}"
		echo "$name $rw $qd $round $(kv "$line" iops) $(kv "$line" lat_p50_us)" \
			"$(kv "$line" lat_p99_us) $(kv "$line" lat_p999_us) $cpu_pct $cycles_io" \
			"$(kv "$line" errors)" >>"$rows"
		printf '%d %-13s %-9s QD %-3s cpu=%s%% cycles/io=%s %s\n' "$round" "$name" "$rw" \
			"$qd" "$cpu_pct" "$cycles_io" "$line" >&2
	done
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
if awk '{ exit !($1 >= 1) }' /proc/loadavg; then
	echo "blk.sh: warning: load average $load_before (>= 1): figures will be noisy" >&2
fi
: >"$rows"
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
		spdk) start_spdk ;;
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
title="vtarget vs qemu-storage-daemon"
spdk_line=""
if [ -n "${SPDK_BIN:-}" ]; then
	title="vtarget vs SPDK's vhost app and qemu-storage-daemon"
	spdk_commit=${SPDK_COMMIT:-$(git -C "$SPDK_DIR" rev-parse --short HEAD 2>/dev/null ||
		echo "commit unknown: not a git checkout, set SPDK_COMMIT")}
	spdk_line="; SPDK $(cat "$SPDK_DIR/VERSION" 2>/dev/null || echo '?') ($spdk_commit,"
	spdk_line+=" $(basename "$SPDK_BIN") built in $SPDK_DIR)"
fi
spdk_desc=""
if [ -n "${SPDK_BIN:-}" ]; then
	spdk_desc=" spdk: SPDK's \`$(basename "$SPDK_BIN") -m 0x1 --no-huge -s 1024 --no-pci\`,
  \`bdev_null_create Null0 1024 512\`, \`vhost_create_blk_controller vhost.0 Null0 --cpumask
  0x1\`: its null bdev never touches read buffers."
fi
zeroes="on: reads zero-fill their buffers (vtarget's null bdev default,
  qsd \`read-zeroes=on\`)"
if [ -n "$NULL_EXTRA" ]; then
	zeroes="off: reads leave their buffers untouched (vtarget's null bdev
  with \`read_zeroes: false\`, qsd \`read-zeroes=off\`)"
fi
flags=""
[ -z "$NULL_EXTRA" ] || flags+=" --no-read-zeroes"
[ -z "${SPDK_BIN:-}" ] || flags+=" --spdk-dir $SPDK_DIR"

mkdir -p "$(dirname "$out")"
{
	cat <<EOF
# vhost-user-blk: $title

Generated by \`bench/blk.sh --time $time_s --repeat $repeat --targets $targets$flags\`
on $(date -u '+%F %H:%M UTC').

- Machine: $cpu_model, $(nproc) cores, $mem, kernel $(uname -r), clock $mhz MHz (/proc/cpuinfo)
- vtarget $commit$dirty, DPDK $dpdk; qemu-storage-daemon ${qemu:-unknown}$spdk_line
- Load average (1/5/15 min) before: $load_before, after: $load_after
- Target (all its threads) pinned to core $TARGET_CPU; front end (\`vtc bench\`, one thread,
  busy-polling, notifications suppressed, split ring, 1 queue, EVENT_IDX when the target
  offers it: SPDK does not) on core $FRONT_CPU.
- vtarget: \`-m 0x1\`, null bdev 1 GiB / 512 B blocks, controller over it; \`vtarget-intr\`
  adds \`--interrupt\`. qsd: \`null-co\` 1 GiB, vhost-user-blk export, 1 queue, main-loop
  thread.$spdk_desc
- Read zeroes $zeroes.
- 4 KiB random I/O over the whole 1 GiB, $time_s s per run. Latency: submission to completion
  seen by the front end, in µs. \`target CPU\`: CPU time of the target (/proc/PID/stat utime +
  stime, all threads) per wall-clock second; \`cycles/IO\`: that CPU time at $mhz MHz per I/O
  (this VM has no hardware counters for \`perf stat -e cycles\`). A polling target spins when
  it has nothing to do, so its cycles per I/O include the spinning (at QD 1, mostly).
- Each row ran $repeat times (rounds interleave the targets): the columns are those of the
  run of median IOPS; \`IOPS range\` is the lowest and highest of the $repeat runs;
  \`cycles/IO\` is the median of the runs' own figures. Ratios: row / qsd row of the same rw
  and QD.

EOF
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' target rw QD \
		IOPS "IOPS range" "p50 µs" "p99 µs" "p99.9 µs" "target CPU" cycles/IO \
		"IOPS vs qsd" "p99 vs qsd"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	awk '
	# Per target, rw and QD: the run of median IOPS (its latencies and CPU), and the IOPS range.
	{
		key = $1 " " $2 " " $3
		if (!(key in n)) { order[++nkeys] = key }
		i = ++n[key]; iops[key, i] = $5; line[key, i] = $0; cyc[key, i] = $10
		if (!(key in lo) || $5 < lo[key]) { lo[key] = $5 }
		if (!(key in hi) || $5 > hi[key]) { hi[key] = $5 }
		err[key] += $11
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
			for (a = 1; a <= n[key]; a++) { cs[a] = cyc[key, a] }
			for (a = 2; a <= n[key]; a++) {
				for (b = a; b > 1 && cs[b - 1] + 0 > cs[b] + 0; b--) {
					t = cs[b]; cs[b] = cs[b - 1]; cs[b - 1] = t
				}
			}
			mcyc[key] = cs[int((n[key] + 1) / 2)]
			cyc_range[key] = cs[1] "-" cs[n[key]]
			cyc_lo[key] = cs[1]
			split(key, kk, " "); name[key] = kk[1]; rw[key] = kk[2]; qd[key] = kk[3]
			if (kk[1] == "qsd") {
				qi[kk[2] " " kk[3]] = f[5]
				q99[kk[2] " " kk[3]] = f[7]
			}
			if (kk[1] == "vtarget") {
				vi[kk[2] " " kk[3]] = f[5]
				v99[kk[2] " " kk[3]] = f[7]
				vc[kk[2] " " kk[3]] = mcyc[key]
				vkey[kk[2] " " kk[3]] = key
			}
			if (kk[1] == "spdk") {
				si[kk[2] " " kk[3]] = f[5]
				sc[kk[2] " " kk[3]] = mcyc[key]
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
			printf "| %s | %s | %d | %d%s | %d-%d | %.1f | %.1f | %.1f | %.0f %% | %d ",
				name[key], rw[key], qd[key], med[key], e, lo[key], hi[key],
				m50[key], m99[key], m999[key], mcpu[key], mcyc[key]
			printf "| %s | %s |\n", r1, r2
		}
		# spdk: vtarget against the SPDK vhost app, same front end, same rounds
		for (k = 1; k <= nkeys; k++) {
			key = order[k]; wl = rw[key] " " qd[key]
			if (name[key] != "spdk" || !(wl in vi) || si[wl] == 0 || sc[wl] == 0) {
				continue
			}
			if (!shdr++) {
				print ""
				print "vtarget against the SPDK vhost app (`spdk`), same front end, same run"
				print "(medians, cycles per I/O with the range over the rounds; IOPS: higher is"
				print "better, cycles per I/O: lower is better). `lowest` compares the cheapest"
				print "round of each: on a shared machine a round can land in a slow spell that"
				print "costs any target 2-3x, and a few rounds do not always dodge them alike."
				print ""
				print "| rw | QD | vtarget IOPS | SPDK IOPS | vtarget / SPDK IOPS |" \
					" vtarget cycles/IO | SPDK cycles/IO | vtarget / SPDK cycles |" \
					" vtarget / SPDK lowest cycles |"
				print "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
			}
			printf "| %s | %d | %d | %d | %.2fx | %d (%s) | %d (%s) | %.2fx | %.2fx |\n",
				rw[key], qd[key], vi[wl], si[wl], vi[wl] / si[wl], vc[wl],
				cyc_range[vkey[wl]], sc[wl], cyc_range[key], vc[wl] / sc[wl],
				(cyc_lo[key] > 0 ? cyc_lo[vkey[wl]] / cyc_lo[key] : 0)
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
