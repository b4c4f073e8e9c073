#!/bin/sh
# Runs the libFuzzer harnesses built in BUILD_DIR/fuzz (test/fuzz/Makefile).
#   run.sh fuzz BUILD_DIR SECONDS    each harness SECONDS on a working copy of its corpus
#   run.sh smoke BUILD_DIR SECONDS   each committed corpus file once (regression), then each
#                                    harness SECONDS
# Exits non-zero when a harness crashes, leaks or reports a sanitizer error; the input that did
# it is left in BUILD_DIR/fuzz/artifacts/<name>/. Prints per harness executions per second,
# libFuzzer's cov and ft counts and the total executions.
set -u
mode=$1
build=$(cd "$2" && pwd)
secs=$3
src=$(cd "$(dirname "$0")" && pwd)
fail=0
npassed=0
nfailed=0
summary=""

# Fields of libFuzzer's last status line ("#N DONE cov: C ft: F corp: ... exec/s: E ...").
field() {
	sed -n "s/.* $1: \([0-9]*\).*/\1/p" "$2" | tail -1
}

for bin in "$build"/fuzz/fuzz_*; do
	[ -x "$bin" ] && [ ! -d "$bin" ] || continue
	case "$bin" in *.d) continue ;; esac
	name=${bin##*/fuzz_}
	seeds="$src/corpus/$name"
	work="$build/fuzz/work/$name"
	art="$build/fuzz/artifacts/$name/"
	log="$build/fuzz/$name.log"
	mkdir -p "$work" "$art"
	if [ "$mode" = smoke ] && [ -d "$seeds" ] && [ -n "$(ls -A "$seeds")" ]; then
		if ! "$bin" -artifact_prefix="$art" "$seeds"/* >"$log.regress" 2>&1; then
			echo "fuzz: $name: a committed corpus input fails (see $log.regress)" >&2
			tail -40 "$log.regress" >&2
			fail=1
			nfailed=$((nfailed + 1))
			continue
		fi
	fi
	[ -d "$seeds" ] && cp -n "$seeds"/* "$work"/ 2>/dev/null
	echo "fuzz: $name for ${secs}s (log $log)"
	if ! "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=20 \
		-artifact_prefix="$art" "$work" >"$log" 2>&1; then
		echo "fuzz: $name: crash or sanitizer report (input in $art, log $log)" >&2
		grep -m1 -A30 'ERROR: \|runtime error\|==ERROR\|deadly signal' "$log" >&2
		fail=1
		nfailed=$((nfailed + 1))
	else
		npassed=$((npassed + 1))
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	line=$(grep -E '^#[0-9]+' "$log" | tail -1)
	printf '%s\n' "$line" >"$log.last"
	summary="$summary$(printf '%-18s exec/s %-7s cov %-6s ft %-7s execs %s' "$name" \
		"${eps:-?}" "$(field cov "$log.last")" "$(field ft "$log.last")" "${execs:-?}")
"
done
printf '\nfuzz summary (%s s each):\n%s' "$secs" "$summary"
[ $((npassed + nfailed)) -gt 0 ] || { echo "fuzz: no harness found in $build/fuzz" >&2; fail=1; }
echo "fuzz: $npassed passed, $nfailed failed"
exit $fail
