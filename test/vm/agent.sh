# SPDX-License-Identifier: BSD-3-Clause
# Guest agent of the VM test harness's control mode (dash or busybox sh). Reads
# "RUN <nonce> <seconds> <base64 script>" and "EXIT <rc>" lines from the virtio-serial port named
# vmtest.ctl and answers "VMCTL-DONE <nonce> <rc> <base64 output>". The command runs under
# timeout (coreutils or busybox), so a stuck command ends with rc 124 and the channel stays in
# step. vm.py inlines this file into run.sh (9p guests); the standalone initramfs carries it as
# /agent.sh.
port=
for d in /sys/class/virtio-ports/vport*; do
	[ "$(cat "$d/name" 2>/dev/null)" = "vmtest.ctl" ] && port=/dev/${d##*/}
done
if [ -z "$port" ]; then
	echo "VMTEST-ERROR no virtio-serial port named vmtest.ctl"
	exit 125
fi
exec 3<>"$port"
echo "VMTEST-CONTROL-READY"
while :; do
	line=
	if ! IFS= read -r line <&3; then
		# the host is not connected (reads see end of file): wait for it
		[ -n "$line" ] || { sleep 0.1; continue; }
	fi
	set -f
	set -- $line
	set +f
	case $1 in
	RUN)
		printf '%s' "$4" | base64 -d >/tmp/.vmctl.sh
		IFS= read -r first </tmp/.vmctl.sh
		echo "vmctl[$2]: $first"
		(cd /tmp && exec timeout -k 5 "$3" /bin/sh /tmp/.vmctl.sh) </dev/null >/tmp/.vmctl.out 2>&1 3>&-
		rc=$?
		echo "vmctl[$2]: rc=$rc"
		{
			printf 'VMCTL-DONE %s %s ' "$2" "$rc"
			base64 -w0 /tmp/.vmctl.out
			printf '\n'
		} >&3
		;;
	EXIT)
		exit "${2:-0}"
		;;
	esac
done
