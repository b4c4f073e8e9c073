/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SPDK's vhost method names before its 19.10 renaming, as its vhost guide and old scripts use
 * them: each is answered by the method that replaced it, and logs once that it is deprecated.
 * SPDK 17.x's remove_vhost_scsi_dev, remove_vhost_scsi_controller and remove_vhost_blk_controller
 * are the older names of the same methods; their parameters are today's.
 */
#include "vt/rpc.h"

static const struct vt_rpc_alias g_vhost_aliases[] = {
	{ "construct_vhost_scsi_controller", "vhost_create_scsi_controller" },
	{ "add_vhost_scsi_lun", "vhost_scsi_controller_add_target" },
	{ "remove_vhost_scsi_target", "vhost_scsi_controller_remove_target" },
	{ "remove_vhost_scsi_dev", "vhost_scsi_controller_remove_target" },
	{ "construct_vhost_blk_controller", "vhost_create_blk_controller" },
	{ "get_vhost_controllers", "vhost_get_controllers" },
	{ "remove_vhost_controller", "vhost_delete_controller" },
	{ "remove_vhost_scsi_controller", "vhost_delete_controller" },
	{ "remove_vhost_blk_controller", "vhost_delete_controller" },
	{ "set_vhost_controller_coalescing", "vhost_controller_set_coalescing" },
};
VT_RPC_REGISTER_ALIASES(g_vhost_aliases)
