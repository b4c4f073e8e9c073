# Which library may use which (lower layers never include higher ones). Checked by
# scripts/check_layers.sh against the vt/ headers each library includes.
DEPS_util :=
DEPS_event := util
DEPS_jsonrpc := util event
DEPS_init := util event jsonrpc
DEPS_bdev := util event jsonrpc
DEPS_scsi := util event jsonrpc bdev
DEPS_vhost := util event jsonrpc bdev init scsi
# Link order of the static libraries (users first).
VT_LIBS := vhost scsi bdev init jsonrpc event util
