/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The configuration `vtarget --default-config` (and `make run`) replays: two malloc bdevs,
 * Malloc0 of 64 MiB with 512-byte blocks and Malloc1 of 64 MiB with 4096-byte blocks, and the
 * vhost-user-blk controller vhost.0 over Malloc0 (socket <-S folder>/vhost.0), in the SPDK
 * format that `-c` reads and `scripts/rpc.py save_config` writes.
 */

const char vtarget_default_config[] =
	"{\n"
	"  \"subsystems\": [\n"
	"    {\n"
	"      \"subsystem\": \"bdev\",\n"
	"      \"config\": [\n"
	"        {\n"
	"          \"method\": \"bdev_malloc_create\",\n"
	"          \"params\": {\n"
	"            \"name\": \"Malloc0\",\n"
	"            \"num_blocks\": 131072,\n"
	"            \"block_size\": 512\n"
	"          }\n"
	"        },\n"
	"        {\n"
	"          \"method\": \"bdev_malloc_create\",\n"
	"          \"params\": {\n"
	"            \"name\": \"Malloc1\",\n"
	"            \"num_blocks\": 16384,\n"
	"            \"block_size\": 4096\n"
	"          }\n"
	"        }\n"
	"      ]\n"
	"    },\n"
	"    {\n"
	"      \"subsystem\": \"vhost_blk\",\n"
	"      \"config\": [\n"
	"        {\n"
	"          \"method\": \"vhost_create_blk_controller\",\n"
	"          \"params\": {\n"
	"            \"ctrlr\": \"vhost.0\",\n"
	"            \"dev_name\": \"Malloc0\"\n"
	"          }\n"
	"        }\n"
	"      ]\n"
	"    }\n"
	"  ]\n"
	"}\n";
