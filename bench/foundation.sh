#!/usr/bin/env bash
# Measures what the foundation issue asks for: build time, start-up time to a ready RPC socket,
# and idle RSS with no bdevs and with the default configuration. Writes bench/results/foundation.md.
# Usage: bench/foundation.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/results/foundation.md
mkdir -p bench/results
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ "${1:-}" != "--no-build" ]; then
	rm -rf "$tmp/build"
	t0=$(date +%s.%N)
	make --no-print-directory -s app BUILD_DIR="$tmp/build" >/dev/null
	t1=$(date +%s.%N)
	build_s=$(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }")
	bin=$tmp/build/bin/vtarget
else
	build_s="(not measured)"
	bin=build/bin/vtarget
fi

# Starts the daemon, waits until the socket answers, prints "ms rss_kb".
measure() {
	local sock=$tmp/vt.sock pid t0 t1 rss
	t0=$(date +%s%N)
	"$bin" -r "$sock" "$@" 2>"$tmp/log" &
	pid=$!
	for _ in $(seq 1 500); do
		if python3 - "$sock" <<'PY' 2>/dev/null; then break; fi
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"spdk_get_version"}')
json.loads(s.recv(65536))
PY
		sleep 0.005
	done
	t1=$(date +%s%N)
	sleep 1
	rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
	kill -TERM $pid
	wait $pid || true
	echo "$(( (t1 - t0) / 1000000 )) $rss"
}

read -r ms0 rss0 < <(measure)
read -r ms1 rss1 < <(measure --default-config)
ready_line=$(grep -o 'ready in [0-9]* ms' "$tmp/log" || true)

{
	echo "# Foundation measurements"
	echo
	echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo),"
	echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r). Date: $(date -u +%F)."
	echo
	echo "| figure | value |"
	echo "|---|---|"
	echo "| build time (clean, \`make app\`, -j1) | ${build_s} s |"
	echo "| start to first RPC answer, no bdevs (incl. process exec, client polling every 5 ms) | ${ms0} ms |"
	echo "| start to first RPC answer, default config | ${ms1} ms |"
	echo "| daemon's own ready line, default config | ${ready_line:-n/a} |"
	echo "| idle RSS, no bdevs | $((rss0 / 1024)) MB (${rss0} kB) |"
	echo "| idle RSS, default config (2 x 64 MiB malloc) | $((rss1 / 1024)) MB (${rss1} kB) |"
} > "$out"
cat "$out"
