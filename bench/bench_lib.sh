# shellcheck shell=bash disable=SC2034,SC2154
# Shared by the bench/*.sh scripts (sourced after `cd` to the repository root): the common
# options, the wait for a target's socket and key=value fields of vtc's output. The caller sets
# the defaults of time_s, repeat, targets, build and out, and defines usage().

# bench_parse_options "$@": --time S, --repeat N, --targets A,B, --no-build, --out FILE, -h.
bench_parse_options() {
	local me
	me=$(basename "$0")
	while [ $# -gt 0 ]; do
		case "$1" in
		--time) time_s=$2; shift 2 ;;
		--repeat) repeat=$2; shift 2 ;;
		--targets) targets=$2; shift 2 ;;
		--no-build) build=0; shift ;;
		--out) out=$2; shift 2 ;;
		-h | --help) usage 0 ;;
		*) echo "$me: unknown option '$1'" >&2; usage 2 >&2 ;;
		esac
	done
	case "$repeat" in
	'' | *[!0-9]* | 0) echo "$me: --repeat takes a count >= 1" >&2; exit 2 ;;
	esac
	case "$time_s" in
	'' | *[!0-9.]*) echo "$me: --time takes seconds" >&2; exit 2 ;;
	esac
}

# wait_socket PATH LOG: until PATH is a socket, while $target_pid lives (LOG shown otherwise).
wait_socket() {
	local path=$1 log=$2
	for _ in $(seq 200); do
		[ -S "$path" ] && return 0
		kill -0 "$target_pid" 2>/dev/null || break
		sleep 0.05
	done
	cat "$log" >&2
	echo "$(basename "$0"): no socket at $path" >&2
	exit 1
}

# kv LINE KEY: the value of KEY in a key=value line.
kv() {
	tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"
}

# bench_stop_pid PID: SIGTERM, up to 10 s for it to go, then SIGKILL; reaps it.
bench_stop_pid() {
	local pid=$1
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# bench_cpu_ticks PID: CPU time (user + system, every thread) of PID so far, in clock ticks.
bench_cpu_ticks() {
	awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

# bench_median_range [FMT] < numbers: "median lowest highest" of the numbers (printf FMT each,
# default %.0f; an even count takes the mean of the two middle ones).
bench_median_range() {
	sort -g | awk -v f="${1:-%.0f}" '{ v[NR] = $1 } END {
		if (NR == 0) { print "- - -"; exit }
		m = (v[int((NR + 1) / 2)] + v[int(NR / 2) + 1]) / 2
		printf f " " f " " f "\n", m, v[1], v[NR] }'
}

# bench_build: unless --no-build, builds the daemon and the front end (vtc) in $BUILD_DIR.
bench_build() {
	[ "$build" = 1 ] || return 0
	make --no-print-directory -s app BUILD_DIR="$BUILD_DIR" >/dev/null
	make --no-print-directory -s -C test/vhost_client BUILD_DIR="$BUILD_DIR" >/dev/null
}

# bench_cpu_mhz: the CPU clock in MHz (/proc/cpuinfo's first "cpu MHz"), to turn CPU time into
# cycles where the VM has no hardware counters for `perf stat -e cycles`.
bench_cpu_mhz() {
	awk -F: '/^cpu MHz/ { printf "%.0f\n", $2; exit }' /proc/cpuinfo
}

# bench_start_vtarget blk|scsi [DAEMON OPTION...]: vtarget -m 0x1 on $TARGET_CPU with a null
# bdev of $SIZE bytes (512 B blocks; $NULL_EXTRA: more JSON members for bdev_null_create)
# behind vhost.0, a blk controller or a scsi one with the bdev as target 0. Sets target_pid and
# sock; needs tmp, VTARGET, RPC.
bench_start_vtarget() {
	local kind=$1 rpc_sock=$tmp/vt.sock params
	shift
	params="{\"name\": \"Null0\", \"num_blocks\": $((SIZE / 512)), \"block_size\": 512"
	params+="${NULL_EXTRA:-}}"
	rm -rf "$tmp/vt" && mkdir -p "$tmp/vt"
	RUNTIME_DIRECTORY=$tmp/vt taskset -c "$TARGET_CPU" "$VTARGET" -m 0x1 -r "$rpc_sock" \
		-S "$tmp/vt" "$@" >"$tmp/target.log" 2>&1 &
	target_pid=$!
	wait_socket "$rpc_sock" "$tmp/target.log"
	"${RPC[@]}" -s "$rpc_sock" framework_wait_init >/dev/null
	"${RPC[@]}" -s "$rpc_sock" call bdev_null_create "$params" >/dev/null
	if [ "$kind" = scsi ]; then
		"${RPC[@]}" -s "$rpc_sock" call vhost_create_scsi_controller '{"ctrlr": "vhost.0"}' \
			>/dev/null
		"${RPC[@]}" -s "$rpc_sock" call vhost_scsi_controller_add_target \
			'{"ctrlr": "vhost.0", "scsi_target_num": 0, "bdev_name": "Null0"}' >/dev/null
	else
		"${RPC[@]}" -s "$rpc_sock" call vhost_create_blk_controller \
			'{"ctrlr": "vhost.0", "dev_name": "Null0"}' >/dev/null
	fi
	sock=$tmp/vt/vhost.0
	wait_socket "$sock" "$tmp/target.log"
}

# bench_vtc_run VTC_ARGS...: runs `$VTC bench $sock VTC_ARGS` against $target_pid; sets line
# (vtc's key=value line), cpu_pct (the target's CPU time per wall-clock second over the run) and
# cycles_io (that CPU time in cycles at $mhz MHz per I/O). Dies when vtc fails.
bench_vtc_run() {
	local t0 t1 c0 c1
	c0=$(bench_cpu_ticks "$target_pid")
	t0=$(date +%s.%N)
	if ! line=$(timeout $((${time_s%.*} + 60)) "$VTC" bench "$sock" "$@" 2>"$tmp/vtc.err"); then
		cat "$tmp/vtc.err" >&2
		die "vtc bench $* failed"
	fi
	t1=$(date +%s.%N)
	c1=$(bench_cpu_ticks "$target_pid")
	read -r cpu_pct cycles_io < <(awk -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" \
		-v t="$t0" -v u="$t1" -v mhz="$mhz" -v iops="$(kv "$line" iops)" 'BEGIN {
		f = c / hz / (u - t)
		printf "%.1f %.0f\n", 100 * f, (iops > 0 ? f * mhz * 1e6 / iops : 0) }')
}

# bench_vtarget_setup NAME: the paths, RPC client, cores and disk size the vtarget benchmarks
# share, and a private folder $tmp (/tmp/vt-bench-NAME.*) that goes, with the target, on exit.
bench_vtarget_setup() {
	VTARGET=$BUILD_DIR/bin/vtarget
	VTC=$BUILD_DIR/test/vhost_client/vtc
	RPC=(python3 "$root/scripts/rpc.py")
	TARGET_CPU=0
	FRONT_CPU=1
	SIZE=$((1024 * 1024 * 1024))
	[ "$(nproc)" -ge 2 ] || die "needs 2 cores (target on $TARGET_CPU, front end on $FRONT_CPU)"
	bench_build
	{ [ -x "$VTC" ] && [ -x "$VTARGET" ]; } || die "vtarget or vtc not built in $BUILD_DIR"
	tmp=$(mktemp -d "/tmp/vt-bench-$1.XXXXXX")
	target_pid=""
	trap 'bench_stop_pid "$target_pid"; rm -rf "$tmp"' EXIT
	trap 'exit 130' INT TERM
}

# bench_split_list VAR WHAT LIST ALLOWED...: the comma-separated LIST as the array VAR; exits with
# a message naming WHAT when an item is not one of ALLOWED.
bench_split_list() {
	local -n bench_list_out=$1
	local what=$2 item a ok
	IFS=, read -r -a bench_list_out <<<"$3"
	shift 3
	for item in "${bench_list_out[@]}"; do
		ok=0
		for a in "$@"; do
			[ "$item" = "$a" ] && ok=1
		done
		if [ "$ok" = 0 ]; then
			echo "$(basename "$0"): unknown $what '$item' ($(
				IFS=,
				echo "$*"
			))" >&2
			exit 1
		fi
	done
}
