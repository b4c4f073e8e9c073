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
