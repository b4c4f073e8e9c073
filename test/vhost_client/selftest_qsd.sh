#!/usr/bin/env bash
# Option lists in variables are split on purpose.
# shellcheck disable=SC2086
# Proves vtc a faithful vhost-user front end against qemu-storage-daemon's vhost-user-blk export:
# negotiation and config space, I/O in every ring mode qemu-storage-daemon supports, bytes that
# land in (and come from) a file export, dirty logging (vtc dirtylog), and a short benchmark.
# Usage: test/vhost_client/selftest_qsd.sh   (VTC=path/to/vtc to override the binary;
#        VTC_BENCH_TIME=seconds for the benchmark runs, default 2)
# Exits 0 when every check passes, 1 with a "FAIL: ..." line otherwise. Bounded: < 60 s.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
VTC=${VTC:-$here/../../build/test/vhost_client/vtc}
BENCH_TIME=${VTC_BENCH_TIME:-2}
QSD=${QSD:-qemu-storage-daemon}
SECTOR_BYTES=512
start_time=$SECONDS

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

[ -x "$VTC" ] || fail "vtc not built at $VTC (make -C test/vhost_client)"
command -v "$QSD" >/dev/null || fail "$QSD not installed (apt-get install qemu-system-common)"

tmp=$(mktemp -d /tmp/vtc_qsd.XXXXXX) || fail "cannot create a temporary folder"
qsd_pid=""

stop_qsd() {
	if [ -n "$qsd_pid" ]; then
		kill "$qsd_pid" 2>/dev/null
		for _ in $(seq 50); do
			kill -0 "$qsd_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$qsd_pid" 2>/dev/null
		wait "$qsd_pid" 2>/dev/null
		qsd_pid=""
	fi
}

cleanup() {
	stop_qsd
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'fail "interrupted"' INT TERM

# Pin the daemon to core 0 and the front end to core 1 when there are two cores.
if [ "$(nproc)" -ge 2 ]; then
	qsd_pin=(taskset -c 0)
	vtc_cpu=(--cpu 1)
else
	qsd_pin=()
	vtc_cpu=()
fi

# start_qsd NAME BLOCKDEV NODE: a vhost-user-blk export with 2 queues at $tmp/NAME.sock.
start_qsd() {
	local name=$1 blockdev=$2 node=$3
	local export="type=vhost-user-blk,id=exp0,node-name=$node,addr.type=unix"
	sock=$tmp/$name.sock
	export+=",addr.path=$sock,writable=on,num-queues=2"
	"${qsd_pin[@]}" "$QSD" --blockdev "$blockdev" --export "$export" >"$tmp/$name.log" 2>&1 &
	qsd_pid=$!
	for _ in $(seq 100); do
		[ -S "$sock" ] && return 0
		kill -0 "$qsd_pid" 2>/dev/null || break
		sleep 0.05
	done
	cat "$tmp/$name.log" >&2
	fail "qemu-storage-daemon ($name) did not create $sock"
}

# run DESCRIPTION CMD...: runs CMD (bounded), fails with its output when it fails.
run() {
	local what=$1
	shift
	if ! out=$(timeout 30 "$@" 2>&1); then
		echo "$out" >&2
		fail "$what: '$*' exited non-zero"
	fi
	kill -0 "$qsd_pid" 2>/dev/null || fail "$what: qemu-storage-daemon died"
}

# expect KEY=VALUE in the last output
expect_kv() {
	grep -qx "$1" <<<"$out" || { echo "$out" >&2; fail "expected '$1' in the output"; }
}

echo "== null-co export"
start_qsd null "driver=null-co,node-name=null0,size=1073741824,read-zeroes=on" null0
run "info" "$VTC" info "$sock"
expect_kv "capacity_bytes=1073741824"
expect_kv "blk_size=$SECTOR_BYTES"
expect_kv "num_queues=2"
expect_kv "max_queues=2"
expect_kv "id=vhost_user_blk"
grep -q '^features=.*RING_EVENT_IDX' <<<"$out" || fail "EVENT_IDX not negotiated by default"
grep -q '^protocol_features=.*REPLY_ACK' <<<"$out" || fail "REPLY_ACK not negotiated by default"
echo "ok   info: capacity 1 GiB, blk_size 512, 2 queues, id vhost_user_blk"

# Packed rings: qemu-storage-daemon (libvhost-user) does not offer them; vtc must say so.
if timeout 10 "$VTC" info "$sock" --packed >"$tmp/packed.out" 2>&1; then
	fail "--packed succeeded although qemu-storage-daemon does not offer VIRTIO_F_RING_PACKED"
fi
grep -q "lacks required features.*RING_PACKED" "$tmp/packed.out" ||
	{ cat "$tmp/packed.out" >&2; fail "--packed failure does not name the missing feature"; }
echo "ok   packed rings refused clearly (not offered by qemu-storage-daemon)"

modes=0
for queues in 1 2; do
	for evidx in "" --no-event-idx; do
		for notify in --poll --interrupt; do
			for desc in "" --indirect; do
				run "io queues=$queues $evidx $notify $desc" "$VTC" io "$sock" \
					--verify-zero --size 2M --bs 64K --seg-size 16K \
					--queues "$queues" $evidx $notify $desc
				modes=$((modes + 1))
			done
		done
	done
done
run "io without REPLY_ACK" "$VTC" io "$sock" --verify-zero --size 1M --no-reply-ack
run "flush, discard, write zeroes, get id" "$VTC" io "$sock" --flush --discard --write-zeroes \
	--get-id --offset 1M --size 32M --queues 2
# Dirty logging as QEMU drives it for a migration (libvhost-user offers LOG_SHMFD and LOG_ALL).
run "dirty log" "$VTC" dirtylog "$sock"
echo "ok   io in $modes ring modes (1/2 queues, EVENT_IDX on/off, poll/interrupt, direct/indirect)"

for qd in 1 128; do
	run "bench qd $qd" "$VTC" bench "$sock" --rw randread --bs 4096 --qd "$qd" \
		--time "$BENCH_TIME" "${vtc_cpu[@]}"
	line=$(tail -1 <<<"$out")
	grep -q ' errors=0 ' <<<"$line" || fail "bench qd $qd had errors: $line"
	iops=$(sed -n 's/.* iops=\([0-9]*\) .*/\1/p' <<<"$line")
	[ "${iops:-0}" -gt 1000 ] || fail "bench qd $qd: implausible iops: $line"
	echo "ok   bench null-co: $line"
done
stop_qsd

echo "== file export"
img=$tmp/disk.img
truncate -s 64M "$img"
# Host-written bytes at 8 MiB, read back through the device below.
dd if=/dev/urandom of="$img" bs=1M seek=8 count=4 conv=notrunc status=none
start_qsd file "driver=file,filename=$img,node-name=f0" f0
run "info (file)" "$VTC" info "$sock"
expect_kv "capacity_bytes=67108864"

run "read host bytes" "$VTC" io "$sock" --read --out "$tmp/read.bin" --offset 8M --size 4M \
	--queues 2
dd if="$img" bs=1M skip=8 count=4 status=none | cmp - "$tmp/read.bin" ||
	fail "bytes read through vhost-user differ from the file"
echo "ok   read: 4 MiB written on the host read back identical through 2 queues"

# (offset, size, seed, options) for pattern writes in several modes.
while read -r off size seed opts; do
	run "write $off+$size $opts" "$VTC" io "$sock" --write --flush --offset "$off" \
		--size "$size" --seed "$seed" --bs 128K $opts
	run "verify $off+$size" "$VTC" io "$sock" --verify --offset "$off" --size "$size" \
		--seed "$seed" --queues 2 --bs 64K
	"$VTC" pattern --offset "$off" --size "$size" --seed "$seed" >"$tmp/expect.bin" ||
		fail "vtc pattern failed"
	dd if="$img" iflag=skip_bytes,count_bytes skip="$off" count="$size" status=none |
		cmp - "$tmp/expect.bin" ||
		fail "file bytes at $off+$size differ from the pattern ($opts)"
	echo "ok   write $off+$size ($opts): verified through the device and in the file"
done <<EOF
16777216 8388608 42 --queues 2
25165824 2097152 7 --indirect --seg-size 4096 --interrupt
27262976 2097152 8 --no-event-idx --queues 2 --interrupt
29360128 1048576 9 --no-event-idx --indirect --no-reply-ack
30408704 4194304 10 --regions 3 --mem 6 --bs 1M --queues 2
EOF
echo "     first bytes on the host at 16 MiB: $(od -A d -t x1 -N 16 -j 16777216 "$img" | head -1)"

run "write zeroes" "$VTC" io "$sock" --write-zeroes --offset 16M --size 1M
cmp -n 1048576 <(dd if="$img" bs=1M skip=16 count=1 status=none) /dev/zero ||
	fail "write zeroes did not zero the file"
run "verify zeroes" "$VTC" io "$sock" --verify-zero --offset 16M --size 1M
echo "ok   write zeroes: zeros in the file and through the device"

run "bench randwrite (file)" "$VTC" bench "$sock" --rw randwrite --bs 4096 --qd 32 --time 1 \
	--size 32M "${vtc_cpu[@]}"
grep -q ' errors=0 ' <<<"$out" || fail "file bench had errors: $out"
echo "ok   bench file: $(tail -1 <<<"$out")"
stop_qsd

elapsed=$((SECONDS - start_time))
echo "PASS: vtc against qemu-storage-daemon ($elapsed s)"
