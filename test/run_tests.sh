#!/usr/bin/env bash
# Runs every unit test binary and the integration tests against one build directory, then prints
# "N passed, N failed" counted over individual tests (CUnit tests and Python test cases).
# Usage: test/run_tests.sh BUILD_DIR [--no-guests]
#   --no-guests: leave out the integration tests that boot guests (test_vm_*.py); `make test`
#   runs those once, on the sanitized build.
set -uo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "${1:-build}")
run_args=()
if [ "${2:-}" = "--no-guests" ]; then
	run_args+=(--no-guests)
elif [ -n "${2:-}" ]; then
	echo "usage: $0 BUILD_DIR [--no-guests]" >&2
	exit 2
fi
export VT_BUILD_DIR=$build
log_dir=$build/test-logs
mkdir -p "$log_dir"

passed=0
failed=0
failed_names=()

# Sanitized builds: abort on the first error so a report fails the test.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Leaks inside other projects' libraries only (each explained in the file).
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/test/lsan.supp:print_suppressions=0}

echo "== unit tests ($build)"
while IFS= read -r bin; do
	name=${bin#"$build"/test/}
	name=${name#unit/}
	log=$log_dir/unit_${name//\//_}.log
	if timeout 120 "$bin" >"$log" 2>&1; then rc=0; else rc=$?; fi
	line=$(grep -E '^ +tests +[0-9]+' "$log" | tail -1)
	if [ -n "$line" ]; then
		read -r _ _total _ran p f _ <<<"$line"
	else
		p=0
		f=1
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1	# crashed or sanitizer report after the summary
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		failed_names+=("unit $name")
		echo "FAIL unit $name (rc=$rc): see $log"
		sed 's/^/    /' "$log" | tail -30
	else
		echo "ok   unit $name ($p tests)"
	fi
done < <(find "$build/test/unit" "$build/test/vhost_client" -type f -name '*_ut' -perm -u+x \
	2>/dev/null | sort)

echo "== integration tests"
log=$log_dir/integration.log
if timeout 2700 python3 test/integration/run.py --build-dir "$build" "${run_args[@]}" 2>&1 | tee "$log"; then
	rc=0
else
	rc=$?
fi
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
if [ -n "$line" ]; then
	p=$(awk '{print $1}' <<<"$line")
	f=$(awk '{print $3}' <<<"$line")
else
	p=0
	f=1
fi
[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
passed=$((passed + p))
failed=$((failed + f))
[ "$f" -ne 0 ] && failed_names+=("integration (see $log)")

echo
for n in "${failed_names[@]}"; do
	echo "failed: $n"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
