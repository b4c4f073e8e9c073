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

# Starts the daemon, waits until the socket answers spdk_get_version (polling every 1 ms from one
# Python process, so the figure includes exec and dynamic loading), waits 1 s, reads VmRSS, stops
# it with SIGTERM. Prints "ms rss_kb".
measure() {
	python3 - "$bin" "$tmp" "$@" <<'PY'
import json, os, signal, socket, subprocess, sys, time
binary, tmp, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
sock = os.path.join(tmp, "vt.sock")
t0 = time.monotonic()
with open(os.path.join(tmp, "log"), "w") as log:
    p = subprocess.Popen([binary, "-r", sock] + extra, stdout=subprocess.DEVNULL, stderr=log)
deadline = t0 + 10
while True:
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(sock)
        s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"spdk_get_version"}')
        json.loads(s.recv(65536))
        s.close()
        break
    except (OSError, ValueError):
        if time.monotonic() > deadline:
            p.kill()
            sys.exit("vtarget did not answer within 10 s")
        time.sleep(0.001)
ms = (time.monotonic() - t0) * 1000
time.sleep(1)
with open("/proc/%d/status" % p.pid) as f:
    rss = [l.split()[1] for l in f if l.startswith("VmRSS")][0]
p.send_signal(signal.SIGTERM)
p.wait(timeout=10)
print("%d %s" % (ms, rss))
PY
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
	echo "| start to first RPC answer, no bdevs (incl. exec; client polls every 1 ms) | ${ms0} ms |"
	echo "| start to first RPC answer, default config | ${ms1} ms |"
	echo "| daemon's own ready line, default config | ${ready_line:-n/a} |"
	echo "| idle RSS, no bdevs | $((rss0 / 1024)) MB (${rss0} kB) |"
	echo "| idle RSS, default config (2 x 64 MiB malloc) | $((rss1 / 1024)) MB (${rss1} kB) |"
} > "$out"
cat "$out"
