/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_BDEV_MODULE_H
#define VT_BDEV_MODULE_H

#include "vt/bdev.h"

/*
 * The interface between the bdev layer and a bdev module (malloc, null, file, ...). A module fills
 * in a struct vt_bdev and registers it; the layer owns descriptors, channels, claims, bounds
 * checks, statistics, NOMEM retry, COMPARE(_AND_WRITE) emulation for modules without them, and
 * OR_WRITE / WRITE_ATOMIC (a module sees them as READ and WRITE under the layer's range lock).
 */

struct vt_json_write_ctx;

struct vt_bdev_fn_table {
	/*
	 * Frees the module's context. Returns 0 when done, or 1 when it will call
	 * vt_bdev_destruct_done(bdev) later. Called on reactor 0 once no descriptor is open.
	 */
	int (*destruct)(void *ctx);
	/* Runs on the submitting reactor with that reactor's module channel. */
	void (*submit_request)(void *module_ch, struct vt_bdev_io *io);
	bool (*io_type_supported)(void *ctx, enum vt_bdev_io_type type);
	/* Per-reactor module state for this bdev (on that reactor); NULL means ENOMEM. */
	void *(*create_channel)(void *ctx);
	void (*destroy_channel)(void *ctx, void *module_ch);
	/* Writes the members of "driver_specific" (inside an already-open object). Optional. */
	void (*dump_info_json)(void *ctx, struct vt_json_write_ctx *w);
	/* Writes one {"method": ..., "params": {...}} object that recreates the bdev. Optional. */
	void (*write_config_json)(struct vt_bdev *bdev, struct vt_json_write_ctx *w);
};

struct vt_bdev_module {
	const char *name;
	/* Called once at bdev subsystem init / fini on reactor 0. Optional. */
	int (*module_init)(void);
	void (*module_fini)(void);
	/* Bytes of per-I/O scratch the module needs in io->driver_ctx (<= VT_BDEV_IO_DRIVER_CTX). */
	size_t io_ctx_size;
	/* Its bdevs' config entries form one batch when framework_get_config asks for batches
	 * (SPDK batches malloc and null bdevs). */
	bool config_batch;
	/* Writes the module's own {"method", "params"} entries (its options) into the bdev
	 * subsystem's config array, before any bdev. Optional. */
	void (*config_json)(struct vt_json_write_ctx *w);
	TAILQ_ENTRY(vt_bdev_module) link;
};

void vt_bdev_module_register(struct vt_bdev_module *module);
#define VT_BDEV_MODULE_REGISTER(_name, _module)                                     \
	__attribute__((constructor)) static void _name##_bdev_module_register(void) \
	{                                                                           \
		vt_bdev_module_register(_module);                                   \
	}

struct bdev_internal;

struct vt_bdev {
	char *name;               /* unique; owned by the module */
	const char *product_name; /* "Malloc disk", "Null disk", "AIO disk", "URING bdev" */
	uint32_t blocklen;        /* logical block size in bytes, a power of two >= 512 */
	/* Physical block size in bytes: 0 = blocklen, else a power of two >= blocklen (and at
	 * most VT_BDEV_MAX_PHYS_BLOCKS_PER_BLOCK logical blocks). Writes of whole aligned
	 * physical blocks avoid a read-modify-write below; lib/scsi reports it as LBPPBE. */
	uint32_t phys_blocklen;
	uint64_t blockcnt;
	struct vt_uuid uuid; /* generated at register when left null */
	bool write_cache;    /* volatile cache: FLUSH matters */
	bool read_only;
	uint32_t buf_align;               /* required buffer alignment in bytes; 0 or 1 = none */
	uint32_t optimal_io_boundary;     /* in blocks; 0 = none */
	uint64_t max_unmap_blocks;        /* 0 = no limit */
	uint64_t max_write_zeroes_blocks; /* 0 = no limit */
	uint32_t acwu; /* atomic compare and write unit in blocks; 0 = layer default */
	void *ctxt;    /* the module's context */
	const struct vt_bdev_fn_table *fn_table;
	struct vt_bdev_module *module;
	struct bdev_internal *internal; /* the layer's; modules never touch it */
};

/* Largest number of logical blocks per physical block (SCSI's LBPPBE is 4 bits: 2^15). */
#define VT_BDEV_MAX_PHYS_BLOCKS_PER_BLOCK 32768u

/* On reactor 0. -EEXIST for a duplicate name, -EINVAL for bad geometry. */
int vt_bdev_register(struct vt_bdev *bdev);
/*
 * Hot-remove: new opens fail, every descriptor gets VT_BDEV_EVENT_REMOVE, and once all are closed
 * the module's destruct runs, then cb(cb_arg, rc) on reactor 0.
 */
void vt_bdev_unregister(struct vt_bdev *bdev, void (*cb)(void *cb_arg, int rc), void *cb_arg);
void vt_bdev_destruct_done(struct vt_bdev *bdev, int rc);
/* Changes the size and sends VT_BDEV_EVENT_RESIZE to every descriptor. On reactor 0. */
int vt_bdev_notify_blockcnt_change(struct vt_bdev *bdev, uint64_t blockcnt);

/*
 * Alternative names: vt_bdev_open and vt_bdev_get_by_name accept them, bdev_get_bdevs lists them.
 * Unique among all names and aliases. On reactor 0. 0, -EEXIST, -EINVAL (bad name), -ENOMEM;
 * vt_bdev_alias_del returns -ENOENT for an alias the bdev does not have.
 */
int vt_bdev_alias_add(struct vt_bdev *bdev, const char *alias);
int vt_bdev_alias_del(struct vt_bdev *bdev, const char *alias);
/* Longest bdev name or alias accepted by vt_bdev_register / vt_bdev_alias_add. */
#define VT_BDEV_MAX_NAME_LEN 255
/* The rule vt_bdev_register applies to names: 1..VT_BDEV_MAX_NAME_LEN printable, no spaces. */
bool vt_bdev_name_is_valid(const char *name);

#define VT_BDEV_IO_DRIVER_CTX 256

/* What a module sees of an I/O. The layer's own fields come after driver_ctx. */
struct vt_bdev_io {
	struct vt_bdev *bdev;
	enum vt_bdev_io_type type;
	uint32_t flags; /* VT_BDEV_IO_FLAG_* */
	uint64_t offset_blocks;
	uint64_t num_blocks;
	struct iovec *iovs; /* data: READ fills, WRITE/COMPARE/C&W-write supplies */
	int iovcnt;
	struct iovec *cmp_iovs; /* COMPARE_AND_WRITE: the compare data */
	int cmp_iovcnt;
	uint8_t driver_ctx[VT_BDEV_IO_DRIVER_CTX] __attribute__((aligned(16)));
	struct bdev_io_internal *internal; /* the layer's */
};

/*
 * Completes io. May be called from inside submit_request: the layer defers the user's callback to
 * the next reactor iteration. Must be called on the submitting reactor.
 */
void vt_bdev_io_complete(struct vt_bdev_io *io, enum vt_bdev_io_status status);
void vt_bdev_io_complete_errno(struct vt_bdev_io *io, int err); /* FAILED with errno err */
void vt_bdev_io_complete_miscompare(struct vt_bdev_io *io, uint64_t byte_offset);
/*
 * Completes a GET_LBA_STATUS successfully: the blocks [offset_blocks, offset_blocks + num_blocks)
 * are all in state status; 1 <= num_blocks <= io->num_blocks (the caller's maximum).
 */
void vt_bdev_io_complete_lba_status(struct vt_bdev_io *io, enum vt_bdev_lba_status status,
				    uint64_t num_blocks);
/* Reactor-safe: the module's channel pointer of a channel (for tests and modules). */
void *vt_bdev_channel_get_module_ch(struct vt_bdev_channel *ch);

/* Modules' RPC helpers. */
struct vt_bdev_module *vt_bdev_module_find(const char *name);

struct vt_jsonrpc_request;

/*
 * On reactor 0, for a module's RPCs: the bdev called name when module owns it. Otherwise answers
 * req with -ENODEV "bdev 'x' does not exist", or with wrong_module_code "bdev 'x' is not <what>"
 * (what says the kind: "a null bdev"), and returns NULL.
 */
struct vt_bdev *vt_bdev_rpc_find(struct vt_jsonrpc_request *req, const char *name,
				 const struct vt_bdev_module *module, const char *what,
				 int wrong_module_code);
/*
 * A module's create RPC once its parameters are decoded, the checks every module makes. First
 * name (NULL: the module picks one) is a bdev name and block_size a power of two from 512 to
 * max_block_size; then, after the module's own checks, vt_bdev_rpc_check_new: uuid (NULL: none)
 * is a UUID, parsed into *out, and no bdev is called name yet. Each answers req and returns false
 * at the first bad parameter: -32602 naming it, -EEXIST "bdev 'x' already exists".
 */
bool vt_bdev_rpc_check_name_block_size(struct vt_jsonrpc_request *req, const char *name,
				       uint32_t block_size, uint32_t max_block_size);
/* physical_block_size is 0 or a power of two, block_size to VT_BDEV_MAX_PHYS_BLOCKS_PER_BLOCK
 * times it; otherwise answers -32602 naming it and returns false. */
bool vt_bdev_rpc_check_phys_block_size(struct vt_jsonrpc_request *req, uint32_t physical_block_size,
				       uint32_t block_size);
bool vt_bdev_rpc_check_new(struct vt_jsonrpc_request *req, const char *name, const char *uuid,
			   struct vt_uuid *out);
/*
 * Answers a module's create RPC: the new bdev's name when rc is 0, otherwise rc with "a bdev with
 * uuid 'u' already exists" (-EEXIST) or "cannot create <kind> bdev 'x': <error>".
 */
void vt_bdev_rpc_create_answer(struct vt_jsonrpc_request *req, int rc, struct vt_bdev *bdev,
			       const char *kind, const char *name, const char *uuid);
/*
 * A module's delete RPC once its parameters are decoded: finds the bdev as vt_bdev_rpc_find does
 * (-ENODEV for another module's bdev too), starts delete_fn (the module's unregistration) and
 * answers true once the bdev is gone, -EBUSY "bdev 'x' is already being deleted", or the error.
 */
void vt_bdev_rpc_delete(struct vt_jsonrpc_request *req, const char *name,
			const struct vt_bdev_module *module, const char *what,
			int (*delete_fn)(struct vt_bdev *bdev, void (*cb)(void *cb_arg, int rc),
					 void *cb_arg));

#endif
