/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * An LD_PRELOAD library that makes one path (VT_SG_PATH, default /dev/sg_vtarget; libiscsi treats
 * a name starting with /dev/sg as a SCSI generic device) a LUN served by lib/scsi in the calling
 * process, so that a tool speaking SG_IO (libiscsi's iscsi-test-cu, sg3_utils) runs against
 * lib/scsi without a virtual machine or a transport. It plays the virtio-scsi personality and the
 * guest's kernel as doc/scsi_conformance.md says they must behave:
 *
 * - the data buffer handed to lib/scsi is the initiator's whole buffer (dxfer_len);
 * - status and sense come back as lib/scsi set them, sense cut to the initiator's mx_sb_len;
 * - resid = dxfer_len - bytes moved, never negative (an overflow moves the buffer's worth);
 * - the guest's disk driver consumed the POWER ON unit attention before the tool started.
 *
 * Environment (flags: any value turns them on): VT_SG_BLOCKS (default 131072), VT_SG_BS (default
 * 512), VT_SG_PBS (the malloc bdev's physical_block_size in bytes, default 0: the block size;
 * 4096 on 512 B blocks gives LBPPBE 3), VT_SG_PATH, VT_SG_READONLY (the LUN is write protected),
 * VT_SG_WCE (the bdev has a volatile write cache), VT_SG_TRACE (one line per command on stderr).
 * Built and preloaded by run_iscsi_test_cu.sh; not part of the unit test build.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sched.h>
#include <scsi/sg.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/event.h"
#include "vt/scsi.h"
#include "vt/util.h"

#include "lib/bdev/malloc/bdev_malloc.h"

struct shim {
	bool ready;
	int fd; /* the descriptor the tool holds (on /dev/null) */
	struct vt_bdev *bdev;
	struct vt_scsi_dev *dev;
	struct vt_scsi_dev *dev2; /* a second path to the same logical unit (a shared LUN) */
	struct vt_scsi_port *port;
};

static struct shim g_shim = { .fd = -1 };

static const char *
shim_path(void)
{
	const char *p = getenv("VT_SG_PATH");

	return p != NULL ? p : "/dev/sg_vtarget";
}

static uint64_t
env_u64(const char *name, uint64_t def)
{
	const char *s = getenv(name);
	char *end;
	unsigned long long v;

	if (s == NULL) {
		return def;
	}
	errno = 0;
	v = strtoull(s, &end, 0);
	return errno == 0 && *end == '\0' && v > 0 ? v : def;
}

struct shim_cmd {
	struct vt_scsi_task task;
	int done;
};

static void
shim_task_cb(struct vt_scsi_task *task)
{
	((struct shim_cmd *)task->cb_arg)->done = 1;
}

static void
shim_run(struct shim_cmd *c)
{
	c->done = 0;
	c->task.cb = shim_task_cb;
	c->task.cb_arg = c;
	vt_scsi_dev_queue_task(g_shim.port, &c->task);
	while (!c->done) {
		vt_reactor_poll_once();
	}
}

static int
shim_init(void)
{
	struct bdev_malloc_opts opts = {
		.name = "SgShim0",
		.num_blocks = env_u64("VT_SG_BLOCKS", 131072),
		.block_size = (uint32_t)env_u64("VT_SG_BS", 512),
		.physical_block_size = (uint32_t)env_u64("VT_SG_PBS", 0),
	};
	struct vt_cpuset set;
	struct shim_cmd c;
	cpu_set_t allowed;
	int cpu = 0;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0) {
		while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &allowed)) {
			cpu++;
		}
	}
	vt_cpuset_zero(&set);
	vt_cpuset_set(&set, (uint32_t)cpu);
	if (vt_reactors_init(&set, false) != 0 || bdev_malloc_create(&opts, &g_shim.bdev) != 0) {
		return -ENODEV;
	}
	/* A read-only LUN (what a read-only file bdev gives) for libiscsi's ReadOnly tests. */
	g_shim.bdev->read_only = getenv("VT_SG_READONLY") != NULL;
	/* A volatile write cache (what file bdevs have): WCE is then changeable. */
	g_shim.bdev->write_cache = getenv("VT_SG_WCE") != NULL;
	g_shim.dev = vt_scsi_dev_create("naa.vtarget.sgshim", 0);
	if (g_shim.dev == NULL || vt_scsi_dev_add_lun(g_shim.dev, "SgShim0", 0, NULL, NULL) != 0) {
		return -ENODEV;
	}
	/* The suite runs on a shared logical unit: a second device shows the same bdev. */
	g_shim.dev2 = vt_scsi_dev_create("naa.vtarget.sgshim.2", 1);
	if (g_shim.dev2 == NULL ||
	    vt_scsi_dev_add_lun(g_shim.dev2, "SgShim0", 0, NULL, NULL) != 0) {
		return -ENODEV;
	}
	g_shim.port = vt_scsi_port_create(g_shim.dev, "naa.5001405000000001");
	if (g_shim.port == NULL) {
		return -ENODEV;
	}
	/* The guest's sd driver probes with TEST UNIT READY and eats the unit attention. */
	for (int i = 0; i < 8; i++) {
		memset(&c, 0, sizeof(c));
		c.task.cdb_len = 6;
		shim_run(&c);
		if (c.task.status == VT_SCSI_STATUS_GOOD) {
			break;
		}
	}
	g_shim.ready = true;
	return 0;
}

static int
shim_open(void)
{
	int fd;

	if (!g_shim.ready && shim_init() != 0) {
		errno = ENODEV;
		return -1;
	}
	fd = syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		g_shim.fd = fd;
	}
	return fd;
}

/* SG_IO as Linux's sg driver over virtio-scsi reports it. */
static int
shim_sg_io(struct sg_io_hdr *h)
{
	struct shim_cmd c;
	struct iovec one, *iov = &one;
	uint32_t sb;
	int iovcnt = 1;

	if (h->interface_id != 'S' || h->cmd_len == 0 || h->cmd_len > VT_SCSI_CDB_MAX) {
		errno = EINVAL;
		return -1;
	}
	memset(&c, 0, sizeof(c));
	memcpy(c.task.cdb, h->cmdp, h->cmd_len);
	c.task.cdb_len = h->cmd_len;
	if (h->iovec_count > 0) {
		iov = h->dxferp;
		iovcnt = h->iovec_count;
	} else {
		one.iov_base = h->dxferp;
		one.iov_len = h->dxfer_len;
	}
	c.task.iovs = iov;
	c.task.iovcnt = iovcnt;
	c.task.transfer_len = h->dxfer_len;
	switch (h->dxfer_direction) {
	case SG_DXFER_TO_DEV:
		c.task.dir = VT_SCSI_DIR_TO_DEV;
		break;
	case SG_DXFER_FROM_DEV:
	case SG_DXFER_TO_FROM_DEV:
		c.task.dir = VT_SCSI_DIR_FROM_DEV;
		break;
	default:
		c.task.dir = VT_SCSI_DIR_NONE;
		c.task.transfer_len = 0;
		break;
	}
	if (c.task.transfer_len == 0) {
		c.task.dir = VT_SCSI_DIR_NONE;
	}
	shim_run(&c);

	h->status = c.task.status;
	h->masked_status = (c.task.status >> 1) & 0x7f;
	h->host_status = 0;
	h->driver_status = 0;
	h->sb_len_wr = 0;
	if (c.task.status == VT_SCSI_STATUS_CHECK_CONDITION && c.task.sense_len > 0) {
		sb = VT_MIN(c.task.sense_len, (uint32_t)h->mx_sb_len);
		memcpy(h->sbp, c.task.sense, sb);
		h->sb_len_wr = (unsigned char)sb;
		h->driver_status = 0x08; /* DRIVER_SENSE */
	}
	h->resid = c.task.residual > 0 ? (int)c.task.residual : 0;
	h->info = c.task.status != VT_SCSI_STATUS_GOOD ? SG_INFO_CHECK : 0;
	h->duration = 0;
	if (getenv("VT_SG_TRACE") != NULL) {
		fprintf(stderr,
			"sg: op %02x len %u dir %d -> status %02x sense %02x/%02x%02x resid %d\n",
			c.task.cdb[0], h->dxfer_len, h->dxfer_direction, c.task.status,
			c.task.sense_len
				? (c.task.sense[0] == 0x72 ? c.task.sense[1] : c.task.sense[2]) &
					  0xf
				: 0,
			c.task.sense_len
				? (c.task.sense[0] == 0x72 ? c.task.sense[2] : c.task.sense[12])
				: 0,
			c.task.sense_len
				? (c.task.sense[0] == 0x72 ? c.task.sense[3] : c.task.sense[13])
				: 0,
			h->resid);
	}
	return 0;
}

int
open(const char *path, int flags, ...)
{
	static int (*real_open)(const char *, int, ...);
	mode_t mode = 0;
	va_list ap;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (path != NULL && strcmp(path, shim_path()) == 0) {
		return shim_open();
	}
	if (real_open == NULL) {
		real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
	}
	return real_open(path, flags, mode);
}

int
ioctl(int fd, unsigned long req, ...)
{
	static int (*real_ioctl)(int, unsigned long, ...);
	void *arg;
	va_list ap;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd >= 0 && fd == g_shim.fd) {
		switch (req) {
		case SG_GET_VERSION_NUM:
			*(int *)arg = 30536;
			return 0;
		case BLKSECTGET:
			*(unsigned short *)arg = 240;
			return 0;
		case SG_IO:
			return shim_sg_io(arg);
		default:
			errno = ENOTTY;
			return -1;
		}
	}
	if (real_ioctl == NULL) {
		real_ioctl = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	}
	return real_ioctl(fd, req, arg);
}
