#!/usr/bin/env bash
# Checks that each library includes only the public headers of itself and the libraries it may
# use (mk/deps.mk), so a lower layer never includes a higher one.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A owner=(
	[log.h]=util [util.h]=util [notify.h]=util [event.h]=event [json.h]=jsonrpc [rpc.h]=jsonrpc [init.h]=init
	[bdev.h]=bdev [bdev_module.h]=bdev [scsi.h]=scsi [scsi_spec.h]=scsi
)
fail=0
for dir in lib/*/; do
	lib=$(basename "$dir")
	deps=$(sed -n "s/^DEPS_${lib} :=//p" mk/deps.mk)
	allowed=" $lib $deps "
	while IFS= read -r line; do
		file=${line%%:*}
		hdr=$(sed -n 's/.*#include "vt\/\([a-z_]*\.h\)".*/\1/p' <<<"$line")
		o=${owner[$hdr]:-}
		if [ -z "$o" ]; then
			echo "check_layers: $file includes vt/$hdr, which has no owner in this script" >&2
			fail=1
		elif [[ "$allowed" != *" $o "* ]]; then
			echo "check_layers: $file (lib/$lib) includes vt/$hdr of lib/$o, not in DEPS_$lib" >&2
			fail=1
		fi
	done < <(grep -rH '#include "vt/' "$dir" || true)
done
[ $fail -eq 0 ] && echo "check_layers: every library respects mk/deps.mk"
exit $fail
