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
