#!/usr/bin/env bash
# Runs libiscsi's iscsi-test-cu (package libiscsi-bin) against lib/scsi in-process: builds
# sg_shim.so from the library sources and preloads it, so "/dev/sg_vtarget" is a LUN of lib/scsi
# on a malloc bdev. Usage: run_iscsi_test_cu.sh [iscsi-test-cu options...]
# (default: --dataloss --test=SCSI). VT_SG_BS / VT_SG_BLOCKS / VT_SG_PBS (physical block size,
# e.g. 4096 for LBPPBE 3 on 512 B blocks) pick the geometry, VT_SG_READONLY /
# VT_SG_WCE the LUN's kind (see sg_shim.c); VT_SG_ASAN=1 builds the library with ASan and UBSan.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../../.." && pwd)
OUT=${VT_SG_OUT:-$ROOT/build/test/sg_shim}
mkdir -p "$OUT"
SRCS=$(ls "$ROOT"/lib/util/*.c "$ROOT"/lib/event/*.c "$ROOT"/lib/jsonrpc/*.c \
	"$ROOT"/lib/bdev/*.c "$ROOT"/lib/bdev/malloc/*.c "$ROOT"/lib/scsi/*.c)
SAN=()
PRE=()
SO=$OUT/sg_shim.so
if [ -n "${VT_SG_ASAN:-}" ]; then
	SAN=(-fsanitize=address,undefined -fno-omit-frame-pointer)
	PRE=("$(cc -print-file-name=libasan.so)" "$(cc -print-file-name=libubsan.so)")
	SO=$OUT/sg_shim_san.so
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
fi
if [ ! -f "$SO" ] || [ -n "$(find "$ROOT/lib" "$ROOT/include" "$ROOT/test/unit/lib/scsi/sg_shim.c" \
	-newer "$SO" -name '*.[ch]' | head -1)" ]; then
	cc -std=gnu11 -O1 -g -fPIC -shared "${SAN[@]}" -D_GNU_SOURCE -pthread \
		-I"$ROOT/include" -I"$ROOT" \
		-DVT_VERSION_STRING='"sg-shim"' -o "$SO" "$ROOT/test/unit/lib/scsi/sg_shim.c" \
		$SRCS -lyajl -ldl -lm
fi
if [ $# -eq 0 ]; then
	set -- --dataloss --test=SCSI
fi
PRELOAD="${PRE[*]} $SO"
exec env LD_PRELOAD="${PRELOAD# }" iscsi-test-cu "$@" "${VT_SG_PATH:-/dev/sg_vtarget}"
