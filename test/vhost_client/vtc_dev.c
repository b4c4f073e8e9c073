/* SPDX-License-Identifier: BSD-3-Clause */
/* The device: negotiation, start (memory table, rings) and stop, in the order QEMU uses. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vtc_internal.h"

VT_LOG_REGISTER_COMPONENT(vtc)

void
vtc_dev_opts_init(struct vtc_dev_opts *opts)
{
	const char *scale_env = getenv("VTC_TIME_SCALE");
	double scale = scale_env != NULL ? strtod(scale_env, NULL) : 1.0;

	/* The tests run a sanitized daemon several times slower: they scale every default wait. */
	if (!(scale >= 1.0 && scale <= 100.0)) {
		scale = 1.0;
	}
	memset(opts, 0, sizeof(*opts));
	opts->connect_timeout_ms = (uint32_t)(5000 * scale);
	opts->reply_timeout_ms = (uint32_t)(5000 * scale);
	opts->io_timeout_ms = (uint32_t)(10000 * scale);
	opts->features = VTC_RING_FEATURES | VTC_BLK_FEATURES;
	opts->required = 1ull << VIRTIO_F_VERSION_1;
	opts->protocol_features =
		VTC_PROTOCOL_FEATURES & ~(1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD);
	opts->num_queues = 1;
	opts->queue_size = 128;
	opts->indirect_max = 32;
	opts->config_size = offsetof(struct virtio_blk_config, max_secure_erase_sectors);
	opts->mem_size = 64ull << 20;
	opts->mem_gpa = 1ull << 30;
	opts->bounce_size = 1u << 20;
}

static int
check_opts(const struct vtc_dev_opts *opts)
{
	if (opts->path == NULL || opts->path[0] == '\0') {
		VT_ERRLOG("no socket path given");
		return -EINVAL;
	}
	if (opts->num_queues == 0 || opts->num_queues > VTC_MAX_QUEUES) {
		VT_ERRLOG("invalid number of queues %u (1 to %u)", opts->num_queues,
			  VTC_MAX_QUEUES);
		return -EINVAL;
	}
	if (opts->queue_size == 0 || (!(opts->features & (1ull << VIRTIO_F_RING_PACKED)) &&
				      (opts->queue_size & (opts->queue_size - 1)) != 0)) {
		VT_ERRLOG("invalid queue size %u (split rings need a power of two)",
			  opts->queue_size);
		return -EINVAL;
	}
	if (opts->config_size > sizeof(struct virtio_blk_config) ||
	    opts->config_size > VHOST_USER_MAX_CONFIG_SIZE) {
		VT_ERRLOG("config size %u exceeds struct virtio_blk_config (%zu bytes)",
			  opts->config_size, sizeof(struct virtio_blk_config));
		return -EINVAL;
	}
	return 0;
}

static int
get_u64(struct vtc_dev *dev, uint32_t request, uint64_t *value)
{
	struct vhost_user_msg reply;
	int rc;

	rc = vtc_request(dev, request, NULL, 0, NULL, 0, &reply);
	if (rc == 0) {
		*value = reply.payload.u64;
	}
	return rc;
}

static int
set_u64(struct vtc_dev *dev, uint32_t request, uint64_t value)
{
	return vtc_request(dev, request, &value, sizeof(value), NULL, 0, NULL);
}

static int
negotiate_features(struct vtc_dev *dev)
{
	uint64_t missing;
	char buf[512];
	int rc;

	rc = get_u64(dev, VHOST_USER_GET_FEATURES, &dev->offered_features);
	if (rc != 0) {
		return rc;
	}
	missing = dev->opts.required & ~dev->offered_features;
	if (missing != 0) {
		VT_ERRLOG("back end '%s' lacks required features 0x%" PRIx64 " (%s)",
			  dev->opts.path, missing, vtc_features_str(missing, buf, sizeof(buf)));
		return -ENOTSUP;
	}
	dev->features = dev->opts.features & dev->offered_features;
	return 0;
}

static int
negotiate_protocol(struct vtc_dev *dev)
{
	uint64_t value;
	int rc;

	dev->max_queues = 1;
	if (!(dev->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES))) {
		return 0;
	}
	rc = get_u64(dev, VHOST_USER_GET_PROTOCOL_FEATURES, &dev->offered_protocol_features);
	if (rc != 0) {
		return rc;
	}
	value = dev->opts.protocol_features & dev->offered_protocol_features;
	rc = set_u64(dev, VHOST_USER_SET_PROTOCOL_FEATURES, value);
	if (rc != 0) {
		return rc;
	}
	/* Acks may be asked from the next message on. */
	dev->protocol_features = value;

	if (vtc_has_protocol(dev, VHOST_USER_PROTOCOL_F_MQ)) {
		rc = get_u64(dev, VHOST_USER_GET_QUEUE_NUM, &value);
		if (rc != 0) {
			return rc;
		}
		/* A back end may offer more queues than vtc drives (SPDK's vhost-blk offers 128):
		 * the front end uses those it asks for, as QEMU does; only a count no 16-bit
		 * queue index reaches is wrong. */
		if (value == 0 || value > UINT16_MAX) {
			VT_ERRLOG("back end '%s' reports %" PRIu64 " queues", dev->opts.path,
				  value);
			return -EPROTO;
		}
		dev->max_queues = (uint16_t)value;
	}
	return 0;
}

static int
get_config(struct vtc_dev *dev)
{
	struct vhost_user_config cfg = { .offset = 0, .size = dev->opts.config_size };
	struct vhost_user_msg reply;
	uint32_t msg_size = offsetof(struct vhost_user_config, region) + cfg.size;
	int rc;

	if (!vtc_has_protocol(dev, VHOST_USER_PROTOCOL_F_CONFIG) || cfg.size == 0) {
		return 0;
	}
	rc = vtc_request(dev, VHOST_USER_GET_CONFIG, &cfg, msg_size, NULL, 0, &reply);
	if (rc != 0) {
		return rc;
	}
	if (reply.hdr.size != msg_size || reply.payload.config.size != cfg.size) {
		VT_ERRLOG("back end '%s' failed GET_CONFIG of %u bytes (reply of %u bytes, config "
			  "size %u)",
			  dev->opts.path, cfg.size, reply.hdr.size, reply.payload.config.size);
		return -EPROTO;
	}
	memcpy(&dev->config, reply.payload.config.region, cfg.size);
	dev->config_len = cfg.size;
	return 0;
}

static struct vtc_dev *
dev_alloc(const struct vtc_dev_opts *opts)
{
	struct vtc_dev *dev;

	if (check_opts(opts) != 0) {
		return NULL;
	}
	dev = calloc(1, sizeof(*dev));
	if (dev == NULL) {
		VT_ERRLOG("cannot allocate a vhost-user front end: out of memory");
		return NULL;
	}
	dev->opts = *opts;
	snprintf(dev->path, sizeof(dev->path), "%s", opts->path);
	dev->opts.path = dev->path;
	dev->sock = -1;
	dev->inflight_fd = -1;
	vtc_mem_init(&dev->mem);
	for (uint16_t i = 0; i < VTC_MAX_QUEUES; i++) {
		dev->vqs[i].kick_fd = -1;
		dev->vqs[i].call_fd = -1;
	}
	return dev;
}

struct vtc_dev *
vtc_dev_new_offline(const struct vtc_dev_opts *opts, uint64_t features)
{
	struct vtc_dev_opts o = *opts;
	struct vtc_dev *dev;

	if (o.path == NULL) {
		o.path = "(offline)";
	}
	dev = dev_alloc(&o);

	if (dev == NULL) {
		return NULL;
	}
	dev->offline = true;
	dev->offered_features = features;
	dev->features = features;
	dev->max_queues = VTC_MAX_QUEUES;
	dev->num_queues = opts->num_queues;
	return dev;
}

struct vtc_dev *
vtc_dev_open(const struct vtc_dev_opts *opts)
{
	struct vtc_dev *dev = dev_alloc(opts);
	uint64_t features;

	if (dev == NULL) {
		return NULL;
	}
	if (vtc_connect(dev) != 0 || negotiate_features(dev) != 0 || negotiate_protocol(dev) != 0) {
		goto err;
	}
	if (opts->num_queues > dev->max_queues) {
		VT_ERRLOG("back end '%s' has %u queues, %u asked", opts->path, dev->max_queues,
			  opts->num_queues);
		goto err;
	}
	dev->num_queues = opts->num_queues;
	/* QEMU takes ownership, then reads the features again, then the config space. */
	if (vtc_request(dev, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0, NULL) != 0 ||
	    get_u64(dev, VHOST_USER_GET_FEATURES, &features) != 0) {
		goto err;
	}
	if (features != dev->offered_features) {
		VT_ERRLOG("back end '%s' changed its features from 0x%" PRIx64 " to 0x%" PRIx64,
			  opts->path, dev->offered_features, features);
		goto err;
	}
	if (get_config(dev) != 0) {
		goto err;
	}
	return dev;

err:
	vtc_dev_close(dev);
	return NULL;
}

int
vtc_dev_alloc_rings(struct vtc_dev *dev)
{
	int rc;

	if (dev->mem.nregions == 0) {
		rc = vtc_mem_add_region(&dev->mem, dev->opts.mem_gpa, dev->opts.mem_size);
		if (rc != 0) {
			return rc;
		}
		dev->mem_owned = true;
	}
	for (uint16_t i = 0; i < dev->num_queues; i++) {
		if (dev->vqs[i].slots != NULL) {
			continue;
		}
		rc = vtc_vq_alloc(&dev->vqs[i], dev, i);
		if (rc != 0) {
			return rc;
		}
	}
	if (!dev->bounce_ready && dev->opts.bounce_size > 0) {
		rc = vtc_blk_req_init(&dev->mem, &dev->bounce, dev->opts.bounce_size);
		if (rc != 0) {
			return rc;
		}
		dev->bounce.seg_size = dev->opts.seg_size;
		dev->bounce_ready = true;
	}
	return 0;
}

int
vtc_dev_set_features(struct vtc_dev *dev, uint64_t features)
{
	return set_u64(dev, VHOST_USER_SET_FEATURES, features);
}

int
vtc_dev_set_mem_table(struct vtc_dev *dev)
{
	struct vhost_user_mem table = { .nregions = dev->mem.nregions };
	int fds[VHOST_USER_MAX_REGIONS];

	for (uint32_t i = 0; i < dev->mem.nregions; i++) {
		const struct vtc_mem_region *r = &dev->mem.regions[i];

		table.regions[i] = (struct vhost_user_mem_region){
			.gpa = r->gpa,
			.size = r->size,
			.uaddr = (uint64_t)(uintptr_t)r->host,
			.mmap_offset = 0,
		};
		fds[i] = r->fd;
	}
	return vtc_request(dev, VHOST_USER_SET_MEM_TABLE, &table,
			   (uint32_t)(offsetof(struct vhost_user_mem, regions) +
				      table.nregions * sizeof(table.regions[0])),
			   fds, (int)table.nregions, NULL);
}

static void
drop_inflight(struct vtc_dev *dev)
{
	if (dev->inflight_addr != NULL) {
		munmap(dev->inflight_addr, dev->inflight.mmap_size);
		dev->inflight_addr = NULL;
	}
	if (dev->inflight_fd >= 0) {
		close(dev->inflight_fd);
		dev->inflight_fd = -1;
	}
}

int
vtc_dev_set_inflight(struct vtc_dev *dev)
{
	struct vhost_user_inflight req = { .num_queues = dev->num_queues,
					   .queue_size = dev->opts.queue_size };
	struct vhost_user_msg reply;
	void *addr;
	int rc;

	drop_inflight(dev);
	rc = vtc_request_fd(dev, VHOST_USER_GET_INFLIGHT_FD, &req, sizeof(req), NULL, 0, &reply,
			    &dev->inflight_fd);
	if (rc != 0) {
		return rc;
	}
	if (dev->inflight_fd < 0 || reply.payload.inflight.mmap_size == 0) {
		VT_ERRLOG("back end '%s' answered GET_INFLIGHT_FD without an area", dev->opts.path);
		return -EPROTO;
	}
	dev->inflight = reply.payload.inflight;
	addr = mmap(NULL, dev->inflight.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    dev->inflight_fd, (off_t)dev->inflight.mmap_offset);
	if (addr == MAP_FAILED) {
		rc = -errno;
		VT_ERRLOG("cannot map the inflight area of '%s' (%" PRIu64 " bytes): %s",
			  dev->opts.path, dev->inflight.mmap_size, strerror(-rc));
		return rc;
	}
	dev->inflight_addr = addr;
	dev->inflight.num_queues = dev->num_queues;
	dev->inflight.queue_size = dev->opts.queue_size;
	return vtc_request(dev, VHOST_USER_SET_INFLIGHT_FD, &dev->inflight, sizeof(dev->inflight),
			   &dev->inflight_fd, 1, NULL);
}

int
vtc_dev_start(struct vtc_dev *dev)
{
	uint64_t features = dev->features;
	int rc;

	if (dev->started) {
		return -EALREADY;
	}
	rc = vtc_dev_alloc_rings(dev);
	if (rc != 0) {
		return rc;
	}
	if (dev->offline) {
		for (uint16_t i = 0; i < dev->num_queues; i++) {
			dev->vqs[i].started = true;
		}
		dev->started = true;
		return 0;
	}
	rc = 0;
	if (dev->opts.inflight && vtc_has_protocol(dev, VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD)) {
		/*
		 * QEMU (vhost_dev_prepare_inflight) sets the features first: the record's
		 * layout follows the ring layout. Then again as every start does.
		 */
		rc = vtc_dev_set_features(dev, features);
		if (rc == 0) {
			rc = vtc_dev_set_inflight(dev);
		}
	}
	if (rc == 0) {
		rc = vtc_dev_set_features(dev, features);
	}
	if (rc == 0) {
		rc = vtc_dev_set_mem_table(dev);
	}
	for (uint16_t i = 0; rc == 0 && i < dev->num_queues; i++) {
		rc = vtc_vq_setup(&dev->vqs[i]);
	}
	/* Without protocol features the rings start enabled. */
	for (uint16_t i = 0; rc == 0 && i < dev->num_queues &&
			     (features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES));
	     i++) {
		rc = vtc_vq_enable(&dev->vqs[i], true);
	}
	if (rc != 0) {
		VT_ERRLOG("cannot start vhost-user device '%s': %s", dev->opts.path, strerror(-rc));
		return rc;
	}
	dev->started = true;
	return 0;
}

/*
 * The base QEMU sends when it reconnects to a back end that died: split, the used index (it
 * rewinds the ring to what was completed); packed, the last base it knew (here the start's),
 * which only an inflight record can correct.
 */
static uint32_t
reconnect_base(struct vtc_vq *vq)
{
	if (vq->packed) {
		return 1u << 15;
	}
	return vtc_load16_acquire(&((struct vring_used *)vq->device)->idx);
}

static int
reconnect_once(struct vtc_dev *dev, uint64_t features)
{
	int rc;

	vtc_disconnect(dev);
	dev->peer_closed = false;
	dev->started = false;
	for (uint16_t i = 0; i < dev->num_queues; i++) {
		dev->vqs[i].started = false;
	}
	rc = vtc_connect(dev);
	if (rc == 0) {
		rc = negotiate_features(dev);
	}
	if (rc == 0) {
		rc = negotiate_protocol(dev);
	}
	if (rc == 0 && dev->features != features) {
		VT_ERRLOG("back end '%s' came back with other features", dev->opts.path);
		rc = -EPROTO;
	}
	if (rc == 0) {
		rc = vtc_request(dev, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0, NULL);
	}
	if (rc == 0) {
		rc = vtc_dev_set_features(dev, features);
	}
	/* The record kept across the crash goes back as it is: no GET_INFLIGHT_FD. */
	if (rc == 0 && dev->inflight_fd >= 0) {
		rc = vtc_request(dev, VHOST_USER_SET_INFLIGHT_FD, &dev->inflight,
				 sizeof(dev->inflight), &dev->inflight_fd, 1, NULL);
	}
	if (rc == 0) {
		rc = vtc_dev_set_mem_table(dev);
	}
	for (uint16_t i = 0; rc == 0 && i < dev->num_queues; i++) {
		rc = vtc_vq_resume(&dev->vqs[i], reconnect_base(&dev->vqs[i]));
	}
	return rc;
}

int
vtc_dev_reconnect(struct vtc_dev *dev)
{
	uint64_t deadline = vtc_now_ns() + (uint64_t)dev->opts.connect_timeout_ms * 1000000ull;
	uint64_t features = dev->features;
	int rc;

	if (dev->offline || !dev->started) {
		return -EINVAL;
	}
	for (;;) {
		rc = reconnect_once(dev, features);
		/*
		 * A dying back end's listening socket may still take the connection and then drop
		 * it: try again, as QEMU's reconnect does, until the connect timeout.
		 */
		if ((rc != -ECONNRESET && rc != -EPIPE) || vtc_now_ns() >= deadline) {
			break;
		}
		usleep(20000);
	}
	if (rc != 0) {
		VT_ERRLOG("cannot reconnect to '%s': %s", dev->opts.path, strerror(-rc));
		return rc;
	}
	dev->started = true;
	return 0;
}

void *
vtc_dev_inflight_area(struct vtc_dev *dev, struct vhost_user_inflight *geometry)
{
	if (dev->inflight_addr != NULL && geometry != NULL) {
		*geometry = dev->inflight;
	}
	return dev->inflight_addr;
}

int
vtc_dev_stop(struct vtc_dev *dev)
{
	int rc = 0, rc2;

	if (dev->offline) {
		dev->started = false;
		return 0;
	}
	for (uint16_t i = 0; i < dev->num_queues; i++) {
		struct vtc_vq *vq = &dev->vqs[i];

		if (!vq->started) {
			continue;
		}
		if (dev->peer_closed) {
			VT_ERRLOG("cannot stop queue %u of '%s': the back end closed the "
				  "connection",
				  i, dev->opts.path);
			rc = -ECONNRESET;
			break;
		}
		if (dev->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)) {
			rc2 = vtc_vq_enable(vq, false);
			rc = rc == 0 ? rc2 : rc;
		}
		if (!dev->peer_closed) {
			rc2 = vtc_vq_get_base(vq, NULL);
			rc = rc == 0 ? rc2 : rc;
		}
	}
	dev->started = false;
	return rc;
}

void
vtc_dev_close(struct vtc_dev *dev)
{
	if (dev == NULL) {
		return;
	}
	if (dev->started && !dev->peer_closed) {
		vtc_dev_stop(dev);
	}
	vtc_disconnect(dev);
	for (uint16_t i = 0; i < VTC_MAX_QUEUES; i++) {
		vtc_vq_free(&dev->vqs[i]);
	}
	drop_inflight(dev);
	vtc_mem_fini(&dev->mem);
	free(dev);
}

uint64_t
vtc_dev_features(const struct vtc_dev *dev)
{
	return dev->features;
}

uint64_t
vtc_dev_offered_features(const struct vtc_dev *dev)
{
	return dev->offered_features;
}

uint64_t
vtc_dev_protocol_features(const struct vtc_dev *dev)
{
	return dev->protocol_features;
}

uint64_t
vtc_dev_offered_protocol_features(const struct vtc_dev *dev)
{
	return dev->offered_protocol_features;
}

uint16_t
vtc_dev_max_queues(const struct vtc_dev *dev)
{
	return dev->max_queues;
}

uint16_t
vtc_dev_num_queues(const struct vtc_dev *dev)
{
	return dev->num_queues;
}

const struct virtio_blk_config *
vtc_dev_blk_config(const struct vtc_dev *dev)
{
	return &dev->config;
}

uint32_t
vtc_dev_config_len(const struct vtc_dev *dev)
{
	return dev->config_len;
}

struct vtc_mem *
vtc_dev_mem(struct vtc_dev *dev)
{
	return &dev->mem;
}

struct vtc_vq *
vtc_dev_vq(struct vtc_dev *dev, uint16_t index)
{
	if (index >= dev->num_queues || dev->vqs[index].slots == NULL) {
		return NULL;
	}
	return &dev->vqs[index];
}

const struct vtc_dev_opts *
vtc_dev_get_opts(const struct vtc_dev *dev)
{
	return &dev->opts;
}

static const char *const g_feature_names[64] = {
	[VIRTIO_BLK_F_SIZE_MAX] = "BLK_SIZE_MAX",
	[VIRTIO_BLK_F_SEG_MAX] = "BLK_SEG_MAX",
	[VIRTIO_BLK_F_GEOMETRY] = "BLK_GEOMETRY",
	[VIRTIO_BLK_F_RO] = "BLK_RO",
	[VIRTIO_BLK_F_BLK_SIZE] = "BLK_BLK_SIZE",
	[VIRTIO_BLK_F_FLUSH] = "BLK_FLUSH",
	[VIRTIO_BLK_F_TOPOLOGY] = "BLK_TOPOLOGY",
	[VIRTIO_BLK_F_CONFIG_WCE] = "BLK_CONFIG_WCE",
	[VIRTIO_BLK_F_MQ] = "BLK_MQ",
	[VIRTIO_BLK_F_DISCARD] = "BLK_DISCARD",
	[VIRTIO_BLK_F_WRITE_ZEROES] = "BLK_WRITE_ZEROES",
	[VIRTIO_BLK_F_SECURE_ERASE] = "BLK_SECURE_ERASE",
	[VIRTIO_F_NOTIFY_ON_EMPTY] = "NOTIFY_ON_EMPTY",
	[26] = "LOG_ALL",
	[VIRTIO_F_ANY_LAYOUT] = "ANY_LAYOUT",
	[VIRTIO_RING_F_INDIRECT_DESC] = "RING_INDIRECT_DESC",
	[VIRTIO_RING_F_EVENT_IDX] = "RING_EVENT_IDX",
	[VHOST_USER_F_PROTOCOL_FEATURES] = "PROTOCOL_FEATURES",
	[VIRTIO_F_VERSION_1] = "VERSION_1",
	[VIRTIO_F_ACCESS_PLATFORM] = "ACCESS_PLATFORM",
	[VIRTIO_F_RING_PACKED] = "RING_PACKED",
	[VIRTIO_F_IN_ORDER] = "IN_ORDER",
	[VIRTIO_F_ORDER_PLATFORM] = "ORDER_PLATFORM",
	[VIRTIO_F_SR_IOV] = "SR_IOV",
	[38] = "NOTIFICATION_DATA",
};

static const char *const g_protocol_names[64] = {
	[VHOST_USER_PROTOCOL_F_MQ] = "MQ",
	[VHOST_USER_PROTOCOL_F_LOG_SHMFD] = "LOG_SHMFD",
	[VHOST_USER_PROTOCOL_F_RARP] = "RARP",
	[VHOST_USER_PROTOCOL_F_REPLY_ACK] = "REPLY_ACK",
	[VHOST_USER_PROTOCOL_F_MTU] = "MTU",
	[VHOST_USER_PROTOCOL_F_SLAVE_REQ] = "BACKEND_REQ",
	[VHOST_USER_PROTOCOL_F_CROSS_ENDIAN] = "CROSS_ENDIAN",
	[VHOST_USER_PROTOCOL_F_CRYPTO_SESSION] = "CRYPTO_SESSION",
	[VHOST_USER_PROTOCOL_F_PAGEFAULT] = "PAGEFAULT",
	[VHOST_USER_PROTOCOL_F_CONFIG] = "CONFIG",
	[VHOST_USER_PROTOCOL_F_SLAVE_SEND_FD] = "BACKEND_SEND_FD",
	[VHOST_USER_PROTOCOL_F_HOST_NOTIFIER] = "HOST_NOTIFIER",
	[VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD] = "INFLIGHT_SHMFD",
	[VHOST_USER_PROTOCOL_F_RESET_DEVICE] = "RESET_DEVICE",
	[VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS] = "INBAND_NOTIFICATIONS",
	[VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS] = "CONFIGURE_MEM_SLOTS",
	[VHOST_USER_PROTOCOL_F_STATUS] = "STATUS",
};

static const char *
bits_str(uint64_t bits, const char *const *names, char *buf, size_t len)
{
	size_t off = 0;

	if (len == 0) {
		return buf;
	}
	buf[0] = '\0';
	for (unsigned int i = 0; i < 64 && off < len; i++) {
		int n;

		if (!((bits >> i) & 1)) {
			continue;
		}
		if (names[i] != NULL) {
			n = snprintf(buf + off, len - off, "%s%s", off ? " " : "", names[i]);
		} else {
			n = snprintf(buf + off, len - off, "%sbit%u", off ? " " : "", i);
		}
		if (n < 0) {
			break;
		}
		off += (size_t)n;
	}
	return buf;
}

const char *
vtc_features_str(uint64_t features, char *buf, size_t len)
{
	return bits_str(features, g_feature_names, buf, len);
}

const char *
vtc_protocol_features_str(uint64_t features, char *buf, size_t len)
{
	return bits_str(features, g_protocol_names, buf, len);
}
