/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VTC_VHOST_CLIENT_H
#define VTC_VHOST_CLIENT_H

/*
 * vtc: a vhost-user front end (the role QEMU plays) for tests and benchmarks. It owns the guest
 * memory (memfd, shared), connects to a back end's Unix socket, negotiates, sets up split or
 * packed virtqueues and acts as the virtio driver on them; virtio-blk helpers sit on top.
 *
 * Every wait is bounded: connect retries for opts.connect_timeout_ms, each reply is awaited
 * for opts.reply_timeout_ms, each synchronous I/O for opts.io_timeout_ms. Functions return 0
 * (or a count) on success and a negative errno on failure, after logging what failed.
 *
 * Typical use:
 *
 *	struct vtc_dev_opts opts;
 *	vtc_dev_opts_init(&opts);
 *	opts.path = "/tmp/x/vhost.sock";
 *	dev = vtc_dev_open(&opts);            connect, negotiate, GET_CONFIG
 *	vtc_dev_start(dev);                   memory table, rings, enable
 *	vtc_blk_read(dev, 0, sector, buf, len);
 *	vtc_dev_close(dev);                   stops the rings (GET_VRING_BASE), disconnects
 *
 * Threading: a device and its queues belong to one thread.
 */

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_scsi.h>

#include "vhost_user_spec.h"

/* ---- guest memory ------------------------------------------------------------------------ */

#define VTC_MEM_MAX_REGIONS VHOST_USER_MAX_REGIONS
/* Guest-physical addresses and sizes of regions are multiples of this. */
#define VTC_MEM_ALIGN (2ull << 20)

struct vtc_mem_region {
	uint64_t gpa;       /* guest-physical start */
	uint64_t size;      /* bytes */
	uint8_t *host;      /* our mapping of gpa */
	int fd;             /* memfd backing the region, sent with SET_MEM_TABLE */
	uint64_t alloc_off; /* bump allocator: first free byte */
};

/* Guest memory: regions sorted by nothing in particular; lookups scan (there are at most 8). */
struct vtc_mem {
	uint32_t nregions;
	struct vtc_mem_region regions[VTC_MEM_MAX_REGIONS];
};

/* A saved allocator position (vtc_mem_mark / vtc_mem_release). */
struct vtc_mem_mark {
	uint64_t alloc_off[VTC_MEM_MAX_REGIONS];
};

void vtc_mem_init(struct vtc_mem *mem);

/*
 * Adds a region of size bytes at guest-physical gpa, backed by a new memfd mapped shared.
 * Both must be multiples of VTC_MEM_ALIGN, the region must not overlap another. Returns 0,
 * -EINVAL, -ENOSPC (8 regions already) or the errno of memfd_create/ftruncate/mmap.
 */
int vtc_mem_add_region(struct vtc_mem *mem, uint64_t gpa, uint64_t size);

/* Unmaps and closes every region. */
void vtc_mem_fini(struct vtc_mem *mem);

/*
 * Allocates size bytes (zeroed) aligned to align (a power of two; 0 means 64) from the first
 * region with room; *gpa gets its guest-physical address (may be NULL). NULL when nothing fits.
 * Allocations live until vtc_mem_release of an earlier mark or vtc_mem_fini.
 */
void *vtc_mem_alloc(struct vtc_mem *mem, uint64_t size, uint64_t align, uint64_t *gpa);
void vtc_mem_mark(const struct vtc_mem *mem, struct vtc_mem_mark *mark);
void vtc_mem_release(struct vtc_mem *mem, const struct vtc_mem_mark *mark);

/* Host pointer of [gpa, gpa + len) when inside one region (len 0 counts as 1), else NULL. */
void *vtc_mem_gpa_to_host(const struct vtc_mem *mem, uint64_t gpa, uint64_t len);

/* Guest-physical address of [host, host + len) when inside one region: 0, else -EFAULT. */
int vtc_mem_host_to_gpa(const struct vtc_mem *mem, const void *host, uint64_t len, uint64_t *gpa);

/* ---- device ------------------------------------------------------------------------------ */

#define VTC_MAX_QUEUES 64
#define VTC_MAX_QUEUE_SIZE 32768

/* Virtio feature bits a virtio-blk front end may ask for (what QEMU's vhost-user-blk offers). */
#define VTC_BLK_FEATURES                                                      \
	((1ull << VIRTIO_BLK_F_SIZE_MAX) | (1ull << VIRTIO_BLK_F_SEG_MAX) |   \
	 (1ull << VIRTIO_BLK_F_GEOMETRY) | (1ull << VIRTIO_BLK_F_RO) |        \
	 (1ull << VIRTIO_BLK_F_BLK_SIZE) | (1ull << VIRTIO_BLK_F_TOPOLOGY) |  \
	 (1ull << VIRTIO_BLK_F_MQ) | (1ull << VIRTIO_BLK_F_FLUSH) |           \
	 (1ull << VIRTIO_BLK_F_CONFIG_WCE) | (1ull << VIRTIO_BLK_F_DISCARD) | \
	 (1ull << VIRTIO_BLK_F_WRITE_ZEROES))
/* Transport features vtc implements. */
#define VTC_RING_FEATURES                                                       \
	((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_INDIRECT_DESC) | \
	 (1ull << VIRTIO_RING_F_EVENT_IDX) | (1ull << VHOST_USER_F_PROTOCOL_FEATURES))
/* Protocol features vtc implements. */
#define VTC_PROTOCOL_FEATURES                                                          \
	((1ull << VHOST_USER_PROTOCOL_F_MQ) | (1ull << VHOST_USER_PROTOCOL_F_CONFIG) | \
	 (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |                                   \
	 (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD))

struct vtc_dev_opts {
	const char *path;            /* the back end's socket */
	uint32_t connect_timeout_ms; /* keep retrying connect() this long */
	uint32_t reply_timeout_ms;   /* wait this long for each reply */
	uint32_t io_timeout_ms;      /* synchronous I/O helpers wait this long */
	/*
	 * Virtio features wanted; negotiated = wanted & offered. VIRTIO_F_RING_PACKED selects
	 * packed rings. The bits of required must be offered, else vtc_dev_open fails.
	 */
	uint64_t features;
	uint64_t required;
	uint64_t protocol_features; /* wanted; negotiated = wanted & offered */
	uint16_t num_queues;        /* queues to start (<= the back end's count) */
	uint16_t queue_size;        /* ring entries; split: a power of two */
	uint16_t indirect_max;      /* entries of each per-id indirect table; 0: none */
	uint32_t config_size;       /* bytes asked with GET_CONFIG (60: to write zeroes) */
	uint64_t mem_size;          /* memory vtc_dev_start creates if none was added */
	uint64_t mem_gpa;           /* its guest-physical address */
	uint32_t bounce_size;       /* bounce buffer of the synchronous blk helpers */
	uint32_t seg_size;          /* the synchronous blk helpers split data into buffers of
					 * this size (0: one buffer) */
	bool interrupt;             /* take used-buffer notifications (else poll) */
	bool inflight;              /* GET/SET_INFLIGHT_FD when negotiated */
	bool no_kick_fd;            /* SET_VRING_KICK with the no-fd flag (back end polls) */
};

struct vtc_dev;
struct vtc_vq;

/* Defaults: 5 s connect, 5 s replies, 10 s I/O, every feature vtc implements except packed
 * rings, 1 queue of 128, indirect tables of 32, 64 MiB guest memory at gpa 1 GiB, polling. */
void vtc_dev_opts_init(struct vtc_dev_opts *opts);

/*
 * Connects and negotiates the way QEMU does: GET_FEATURES, GET_PROTOCOL_FEATURES,
 * SET_PROTOCOL_FEATURES, GET_QUEUE_NUM, SET_OWNER, GET_CONFIG. NULL on failure (logged).
 */
struct vtc_dev *vtc_dev_open(const struct vtc_dev_opts *opts);

/*
 * Starts the device: creates the default guest memory unless regions were added to
 * vtc_dev_mem(), allocates the rings, then GET/SET_INFLIGHT_FD (opts.inflight),
 * SET_FEATURES, SET_MEM_TABLE, per queue SET_VRING_NUM, SET_VRING_BASE, SET_VRING_ADDR,
 * SET_VRING_KICK, SET_VRING_CALL, and SET_VRING_ENABLE for every queue.
 */
int vtc_dev_start(struct vtc_dev *dev);

/* Stops every started queue: SET_VRING_ENABLE 0 then GET_VRING_BASE. */
int vtc_dev_stop(struct vtc_dev *dev);

/* Stops the queues if started (errors ignored), disconnects and frees everything. */
void vtc_dev_close(struct vtc_dev *dev);

/*
 * A device without a back end, for testing the driver side in one process against a device
 * model: features are taken as negotiated, vtc_dev_start only allocates the rings (no
 * messages), and the caller plays the device on the rings (vtc_vq_rings).
 */
struct vtc_dev *vtc_dev_new_offline(const struct vtc_dev_opts *opts, uint64_t features);

/* Step by step (what vtc_dev_start does), for tests that interleave their own messages. */
int vtc_dev_alloc_rings(struct vtc_dev *dev);
int vtc_dev_set_features(struct vtc_dev *dev, uint64_t features);
int vtc_dev_set_mem_table(struct vtc_dev *dev);
int vtc_dev_set_inflight(struct vtc_dev *dev);
/*
 * After the back end died (its end of the socket closed): connects again (retrying for the
 * connect timeout while it restarts), negotiates the same features, hands back the inflight
 * record kept since the start (SET_INFLIGHT_FD, no GET), the same memory and rings, and resumes
 * every queue at the base QEMU would send. Requests in flight stay in flight.
 */
int vtc_dev_reconnect(struct vtc_dev *dev);
/* The inflight region mapped since the start (NULL without one) and its geometry. */
void *vtc_dev_inflight_area(struct vtc_dev *dev, struct vhost_user_inflight *geometry);
/* Empties the ring (fresh free lists, zeroed ring memory), then NUM, BASE, ADDR, KICK, CALL. */
int vtc_vq_setup(struct vtc_vq *vq);
int vtc_vq_enable(struct vtc_vq *vq, bool enable);
/* GET_VRING_BASE; *base (may be NULL) gets the reply (packed: bit 15 the wrap counter). */
int vtc_vq_get_base(struct vtc_vq *vq, uint32_t *base);
/*
 * Restarts a queue stopped by vtc_vq_get_base the way QEMU does: SET_VRING_NUM, SET_VRING_BASE
 * with base (what GET_VRING_BASE returned), SET_VRING_ADDR, KICK, CALL, ENABLE 1, keeping the
 * ring memory and the driver's state (buffers still available stay so). Needs every chain the
 * device took to be back (in flight: avail == used), which is what a back end that answered
 * GET_VRING_BASE promises.
 */
int vtc_vq_resume(struct vtc_vq *vq, uint32_t base);

uint64_t vtc_dev_features(const struct vtc_dev *dev); /* negotiated */
uint64_t vtc_dev_offered_features(const struct vtc_dev *dev);
uint64_t vtc_dev_protocol_features(const struct vtc_dev *dev); /* negotiated */
uint64_t vtc_dev_offered_protocol_features(const struct vtc_dev *dev);
uint16_t vtc_dev_max_queues(const struct vtc_dev *dev); /* GET_QUEUE_NUM, else 1 */
uint16_t vtc_dev_num_queues(const struct vtc_dev *dev);
static inline bool
vtc_dev_has_feature(const struct vtc_dev *dev, unsigned int bit)
{
	return (vtc_dev_features(dev) >> bit) & 1;
}
/* Config space read by GET_CONFIG (host byte order fields, zero beyond what was read). */
const struct virtio_blk_config *vtc_dev_blk_config(const struct vtc_dev *dev);
/* Bytes of config space the back end returned (0 without the CONFIG protocol feature). */
uint32_t vtc_dev_config_len(const struct vtc_dev *dev);
struct vtc_mem *vtc_dev_mem(struct vtc_dev *dev);
struct vtc_vq *vtc_dev_vq(struct vtc_dev *dev, uint16_t index);
const struct vtc_dev_opts *vtc_dev_get_opts(const struct vtc_dev *dev);

/* "VERSION_1 INDIRECT_DESC ..." for a feature set (virtio or protocol), into buf. */
const char *vtc_features_str(uint64_t features, char *buf, size_t len);
const char *vtc_protocol_features_str(uint64_t features, char *buf, size_t len);

/* ---- raw messages (malicious front-end tests) -------------------------------------------- */

/*
 * Sends one message as given (header flags included) with fds in SCM_RIGHTS. The payload size
 * is msg->hdr.size. Returns 0, or a negative errno (the connection is then unusable).
 */
int vtc_msg_send(struct vtc_dev *dev, const struct vhost_user_msg *msg, const int *fds, int nfds);
/* Sends len bytes verbatim (a truncated or oversized message). */
int vtc_msg_send_bytes(struct vtc_dev *dev, const void *buf, size_t len, const int *fds, int nfds);
/*
 * Receives one message within timeout_ms. fds (may be NULL) gets up to *nfds descriptors and
 * *nfds their number; extra ones are closed. Returns 0, -ETIMEDOUT, -ECONNRESET (peer closed),
 * -EPROTO (bad header or size).
 */
int vtc_msg_recv(struct vtc_dev *dev, struct vhost_user_msg *msg, int *fds, int *nfds,
		 uint32_t timeout_ms);
/*
 * Sends a request (version flag set, payload of size bytes) and, when the request has a reply
 * or an ack is wanted (REPLY_ACK negotiated and the request has no reply of its own), waits for
 * it and checks it. reply may be NULL. Returns 0, the errors above, or -EREMOTEIO for a
 * non-zero ack.
 */
int vtc_request(struct vtc_dev *dev, uint32_t request, const void *payload, uint32_t size,
		const int *fds, int nfds, struct vhost_user_msg *reply);
/* True when the peer closed the connection (a recv returns 0 or the socket has HUP). */
bool vtc_dev_peer_closed(struct vtc_dev *dev, uint32_t timeout_ms);

/* ---- dirty logging (vtc_log.c) ---------------------------------------------------------- */

/*
 * The front end's half of live migration's dirty log: a memfd bitmap, one bit per 4 KiB page of
 * guest-physical memory, handed over with SET_LOG_BASE (needs LOG_SHMFD negotiated).
 */
#define VTC_LOG_PAGE 4096ull

struct vtc_log {
	int fd;
	uint8_t *map; /* the whole file */
	size_t map_len;
	uint8_t *bits;   /* map + offset */
	uint64_t size;   /* bytes of bitmap */
	uint64_t offset; /* where the bitmap starts in the file */
};

/* Bytes of bitmap covering every page of dev's guest memory (from gpa 0, as QEMU sizes it). */
uint64_t vtc_log_size_for(const struct vtc_dev *dev);
/*
 * Creates a memfd of offset + size bytes and sends SET_LOG_BASE {size, offset} with it; the
 * bitmap starts at offset. 0, or the errno of the memfd / the request (logged).
 */
int vtc_log_set_base(struct vtc_dev *dev, struct vtc_log *log, uint64_t size, uint64_t offset);
/*
 * Turns logging on or off the way QEMU does when a migration starts or ends: SET_FEATURES with
 * or without VHOST_F_LOG_ALL, then SET_VRING_ADDR of every started queue with or without
 * VHOST_USER_VRING_F_LOG (log = the used ring's guest-physical address).
 */
int vtc_log_enable(struct vtc_dev *dev, bool on);
bool vtc_log_test(const struct vtc_log *log, uint64_t gpa);
/* Clears the bitmap (what the front end does after it synced it). */
void vtc_log_clear(struct vtc_log *log);
void vtc_log_free(struct vtc_log *log);

/* ---- virtqueues (the driver side) -------------------------------------------------------- */

/* A buffer of a chain: guest-physical address, length, device-writable or not. */
struct vtc_buf {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* vtc_vq_submit flags. */
#define VTC_SUBMIT_INDIRECT (1u << 0) /* put the chain in this buffer's indirect table */

/* A completion taken from the used ring. */
struct vtc_cpl {
	void *cookie; /* the submitter's; NULL when unknown */
	uint32_t len; /* bytes the device says it wrote */
	uint16_t id;  /* split: head index; packed: buffer id */
	bool unknown; /* the id was not in flight (a device bug) */
};

/*
 * Builds a chain of n buffers (in the ring or, with VTC_SUBMIT_INDIRECT, in an indirect table)
 * and makes it available. Not kicked: call vtc_vq_kick after a batch. Returns the buffer id,
 * -ENOSPC when the ring is full, -EINVAL (n 0 or beyond the table), -EIO (queue broken).
 */
int vtc_vq_submit(struct vtc_vq *vq, const struct vtc_buf *bufs, uint16_t n, uint32_t flags,
		  void *cookie);

/* Kicks unless the device suppressed it (NO_NOTIFY, avail_event, packed event suppression). */
int vtc_vq_kick(struct vtc_vq *vq);
/* Writes the kick eventfd whatever the device asked. */
int vtc_vq_kick_force(struct vtc_vq *vq);

/*
 * Takes up to max completions. Returns their number, or -EPROTO when the device broke the
 * ring (used index jump, unknown packed id): the queue is then broken.
 */
int vtc_vq_reap(struct vtc_vq *vq, struct vtc_cpl *cpls, uint32_t max);

/* True when a completion waits in the used ring. */
bool vtc_vq_has_used(struct vtc_vq *vq);

/*
 * Waits up to timeout_ms for a completion: in interrupt mode sleeps on the call eventfd, in
 * poll mode spins on the used ring. 0 when one is there, -ETIMEDOUT otherwise.
 */
int vtc_vq_wait(struct vtc_vq *vq, uint32_t timeout_ms);

/*
 * Waits for a completion until deadline (vtc_now_ns() clock), checking every 100 ms that the
 * back end is still connected. 0, -ETIMEDOUT, or -ECONNRESET (back end gone).
 */
int vtc_vq_wait_until(struct vtc_vq *vq, uint64_t deadline);

/*
 * For callers that sleep on several queues' call eventfds themselves (poll/epoll): re-arms the
 * notification (used_event / driver event flags in interrupt mode) and returns true when a
 * completion is already there (do not sleep then). vtc_vq_ack_interrupt empties the call
 * eventfd after it fired.
 */
bool vtc_vq_arm_interrupt(struct vtc_vq *vq);
void vtc_vq_ack_interrupt(struct vtc_vq *vq);

/*
 * Submits, kicks and waits (bounded by the device's io_timeout_ms) for that very chain;
 * *len gets the used length. -ETIMEDOUT, -EPROTO (another completion came), or submit errors.
 */
int vtc_vq_submit_sync(struct vtc_vq *vq, const struct vtc_buf *bufs, uint16_t n, uint32_t flags,
		       uint32_t *len);

uint16_t vtc_vq_index(const struct vtc_vq *vq);
uint16_t vtc_vq_size(const struct vtc_vq *vq);
bool vtc_vq_is_packed(const struct vtc_vq *vq);
bool vtc_vq_is_broken(const struct vtc_vq *vq);
uint32_t vtc_vq_inflight(const struct vtc_vq *vq);   /* chains submitted, not reaped */
uint32_t vtc_vq_free_descs(const struct vtc_vq *vq); /* ring entries free */
int vtc_vq_call_fd(const struct vtc_vq *vq);
int vtc_vq_kick_fd(const struct vtc_vq *vq);
/* The back end's writes to the call eventfd that were read (several may make one call). */
uint64_t vtc_vq_call_writes(const struct vtc_vq *vq);
/* Kicks sent and suppressed, notifications seen (call eventfd reads). */
void vtc_vq_stats(const struct vtc_vq *vq, uint64_t *kicks, uint64_t *kicks_suppressed,
		  uint64_t *calls);

/* ---- raw descriptors (malicious front-end tests) ----------------------------------------- */

/* struct vtc_desc .vtc_flags */
#define VTC_DESC_RAW_NEXT (1u << 0)  /* split: use .next verbatim instead of the chain link */
#define VTC_DESC_RAW_FLAGS (1u << 1) /* packed: .flags verbatim (no AVAIL/USED bits added) */
#define VTC_DESC_RAW_ID (1u << 2)    /* packed: use .id verbatim instead of the buffer id */

/*
 * A descriptor written as given. Split: flags are VRING_DESC_F_* written verbatim (NEXT is
 * not added); next defaults to the next entry vtc allocated for the chain. Packed: flags get
 * the AVAIL/USED bits of the slot's wrap counter unless VTC_DESC_RAW_FLAGS; id defaults to
 * the buffer id vtc allocated.
 */
struct vtc_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;      /* split only, with VTC_DESC_RAW_NEXT */
	uint16_t id;        /* packed only, with VTC_DESC_RAW_ID */
	uint32_t vtc_flags; /* VTC_DESC_RAW_* */
};

/*
 * Writes n descriptors into the ring as given and makes the chain available (bookkeeping as
 * for vtc_vq_submit: the entries come back when the device returns the id). Returns the id or
 * a negative errno. Indirect tables are the caller's: vtc_mem_alloc one and point a descriptor
 * with VRING_DESC_F_INDIRECT at it.
 */
int vtc_vq_submit_raw(struct vtc_vq *vq, const struct vtc_desc *descs, uint16_t n, void *cookie);

/*
 * The rings themselves, for tests that write anything anywhere. Split: desc, avail, used;
 * packed: desc (struct vring_packed_desc *), driver and device event structures. Any of the
 * out pointers may be NULL. Guest-physical addresses through vtc_mem_host_to_gpa.
 */
void vtc_vq_rings(struct vtc_vq *vq, void **desc, void **driver, void **device);
/* Split: writes head into the avail ring at the next index and publishes the index (release). */
void vtc_vq_split_publish_head(struct vtc_vq *vq, uint16_t head);
/* Split: sets avail->idx (release) and vtc's shadow of it to idx. */
void vtc_vq_split_set_avail_idx(struct vtc_vq *vq, uint16_t idx);

/* ---- virtio-blk -------------------------------------------------------------------------- */

/* One request: header, optional data, status byte, all in guest memory; allocate once, reuse. */
struct vtc_blk_req {
	struct virtio_blk_outhdr *hdr;
	uint64_t hdr_gpa;
	uint8_t *status;
	uint64_t status_gpa;
	uint8_t *data;
	uint64_t data_gpa;
	uint32_t data_cap;  /* bytes of data */
	uint32_t seg_size;  /* split the data into buffers of this size; 0: one buffer */
	uint32_t type;      /* VIRTIO_BLK_T_* of the last submit */
	uint32_t len;       /* data bytes of the last submit */
	uint64_t submit_ns; /* for the caller (benchmark latency) */
	void *ctx;          /* for the caller */
};

/* Allocates header, status and data_cap bytes of data from guest memory. */
int vtc_blk_req_init(struct vtc_mem *mem, struct vtc_blk_req *req, uint32_t data_cap);

/*
 * Submits req (cookie: req) as type at sector with len data bytes (<= data_cap; readable for
 * OUT / DISCARD / WRITE_ZEROES, writable for IN / GET_ID; 0 for FLUSH). Status is preset to
 * 0xff so a completion without a written status shows. flags: VTC_SUBMIT_*. Not kicked.
 */
int vtc_blk_submit(struct vtc_vq *vq, struct vtc_blk_req *req, uint32_t type, uint64_t sector,
		   uint32_t len, uint32_t flags);

/* A discard / write-zeroes range (host byte order; converted to the wire format). */
struct vtc_blk_range {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags; /* VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP */
};

/*
 * Synchronous helpers on queue q: return the VIRTIO_BLK_S_* status (>= 0) or a negative errno.
 * buf may be anywhere: when it is not in guest memory it goes through the bounce buffer.
 * flags: VTC_SUBMIT_*.
 */
int vtc_blk_read(struct vtc_dev *dev, uint16_t q, uint64_t sector, void *buf, uint32_t len,
		 uint32_t flags);
int vtc_blk_write(struct vtc_dev *dev, uint16_t q, uint64_t sector, const void *buf, uint32_t len,
		  uint32_t flags);
int vtc_blk_flush(struct vtc_dev *dev, uint16_t q);
/* id gets VIRTIO_BLK_ID_BYTES bytes (not necessarily NUL-terminated). */
int vtc_blk_get_id(struct vtc_dev *dev, uint16_t q, char id[VIRTIO_BLK_ID_BYTES]);
int vtc_blk_discard(struct vtc_dev *dev, uint16_t q, const struct vtc_blk_range *ranges,
		    uint32_t n);
int vtc_blk_write_zeroes(struct vtc_dev *dev, uint16_t q, const struct vtc_blk_range *ranges,
			 uint32_t n);
/* Name of a status ("OK", "IOERR", "UNSUPP", or "0x.."), into buf. */
const char *vtc_blk_status_str(int status, char *buf, size_t len);

/* ---- virtio-scsi (vtc_scsi.c) ------------------------------------------------------------ */

/*
 * Queue 0 is the control queue, 1 the event queue, 2 and up carry commands (so a device with
 * N request queues is started with opts.num_queues = N + 2). The device's config space is read
 * with opts.config_size = sizeof(struct virtio_scsi_config) (vtc_scsi_opts_init does it).
 */
#define VTC_SCSI_CTRL_QUEUE 0
#define VTC_SCSI_EVENT_QUEUE 1
#define VTC_SCSI_FIRST_REQ_QUEUE 2
/* Device feature bits a virtio-scsi front end may ask for. */
#define VTC_SCSI_FEATURES ((1ull << VIRTIO_SCSI_F_HOTPLUG) | (1ull << VIRTIO_SCSI_F_CHANGE))

/* vtc_dev_opts_init, then the virtio-scsi features and config size, interrupt mode. */
void vtc_scsi_opts_init(struct vtc_dev_opts *opts);
/* The config space GET_CONFIG returned, in host byte order (zeros beyond what was read). */
void vtc_scsi_config(const struct vtc_dev *dev, struct virtio_scsi_config *cfg);

/* virtio-scsi's LUN field for LUN lun_id of target: [1, target, 0x40 | lun >> 8, lun, 0...]. */
void vtc_scsi_lun(uint8_t lun[8], uint8_t target, uint16_t lun_id);

/* One command: request header, response header and a data buffer in guest memory; reusable. */
struct vtc_scsi_req {
	struct virtio_scsi_cmd_req *hdr;
	uint64_t hdr_gpa;
	struct virtio_scsi_cmd_resp *resp;
	uint64_t resp_gpa;
	uint8_t *data; /* data-out bytes are taken from here, data-in lands here */
	uint64_t data_gpa;
	uint32_t data_cap;
	uint32_t out_len; /* of the last submit */
	uint32_t in_len;  /* of the last submit */
	void *ctx;        /* for the caller */
};

/* What a command sends: LUN field, tag, CDB and the data lengths (from req->data). */
struct vtc_scsi_cmd {
	uint8_t lun[8];
	uint64_t tag;
	uint8_t cdb[VIRTIO_SCSI_CDB_SIZE];
	uint32_t out_len; /* data-out bytes (device-readable) */
	uint32_t in_len;  /* data-in bytes (device-writable) */
};

/* A completed command, decoded (sense key, ASC and ASCQ from fixed or descriptor sense). */
struct vtc_scsi_result {
	uint32_t used_len; /* the used length the device reported */
	uint8_t response;  /* VIRTIO_SCSI_S_* */
	uint8_t status;    /* SCSI status */
	uint32_t resid;
	uint32_t sense_len;
	uint8_t sense[VIRTIO_SCSI_SENSE_SIZE];
	uint8_t sense_key; /* 0 without sense */
	uint8_t asc;
	uint8_t ascq;
};

/* A 16-byte CDB (zeroed) with opcode, an 8-byte LBA at 2 and a 4-byte count at 10 (READ(16),
 * WRITE(16), VERIFY(16), ...). */
void vtc_scsi_cdb_rw16(uint8_t *cdb, uint8_t opcode, uint64_t lba, uint32_t nblocks);

/* Allocates both headers and data_cap bytes of data from guest memory. */
int vtc_scsi_req_init(struct vtc_mem *mem, struct vtc_scsi_req *req, uint32_t data_cap);

/*
 * Submits cmd as one chain (cookie: req): request header, data-out, response header, data-in.
 * Data-out and data-in both non-zero make a bidirectional command (the device may refuse it).
 * The response header is preset to 0xff bytes so one the device did not write shows. Not
 * kicked. Returns the buffer id or a negative errno.
 */
int vtc_scsi_submit(struct vtc_vq *vq, struct vtc_scsi_req *req, const struct vtc_scsi_cmd *cmd,
		    uint32_t flags);
/* Decodes the response header of req completed with used length used_len. */
void vtc_scsi_result_parse(const struct vtc_scsi_req *req, uint32_t used_len,
			   struct vtc_scsi_result *res);
/* Sense key, ASC, ASCQ of fixed (70h/71h) or descriptor (72h/73h) sense; false otherwise. */
bool vtc_scsi_sense_decode(const uint8_t *sense, uint32_t len, uint8_t *key, uint8_t *asc,
			   uint8_t *ascq);

/*
 * Submits on queue q (an absolute queue index, >= VTC_SCSI_FIRST_REQ_QUEUE), waits (bounded by
 * io_timeout_ms) and decodes the answer into res. Returns 0 (see res) or a negative errno.
 */
int vtc_scsi_cmd_sync(struct vtc_dev *dev, uint16_t q, struct vtc_scsi_req *req,
		      const struct vtc_scsi_cmd *cmd, struct vtc_scsi_result *res);

/*
 * A task management function (VIRTIO_SCSI_T_TMF_*) on the control queue; *response gets the
 * device's VIRTIO_SCSI_S_* answer. Returns 0 or a negative errno.
 */
int vtc_scsi_tmf(struct vtc_dev *dev, uint32_t subtype, const uint8_t lun[8], uint64_t tag,
		 uint8_t *response);

/* An event buffer taken back from the event queue. */
struct vtc_scsi_event {
	struct virtio_scsi_event *buf; /* the buffer (guest memory), to post it again */
	uint32_t len;                  /* used length: 0 when given back unused */
	uint32_t event;                /* host order, EVENTS_MISSED bit included */
	uint8_t lun[8];
	uint32_t reason;
};

/* Posts buf (a struct virtio_scsi_event in guest memory) on the event queue and kicks. */
int vtc_scsi_event_post(struct vtc_dev *dev, struct virtio_scsi_event *buf);
/* Takes up to max used event buffers without waiting; returns their number or -errno. */
int vtc_scsi_event_reap(struct vtc_dev *dev, struct vtc_scsi_event *evs, uint32_t max);

/* ---- latency histogram ------------------------------------------------------------------- */

/*
 * Log-linear histogram of nanosecond values: exact below 128, then 64 buckets per power of two
 * (under 1.6 % error), up to 2^40 ns.
 */
#define VTC_HIST_SUB_BITS 6
#define VTC_HIST_MAX_BITS 40
#define VTC_HIST_BUCKETS             \
	((2u << VTC_HIST_SUB_BITS) + \
	 (VTC_HIST_MAX_BITS - VTC_HIST_SUB_BITS - 1) * (1u << VTC_HIST_SUB_BITS))

struct vtc_hist {
	uint64_t count;
	uint64_t sum_ns;
	uint64_t min_ns;
	uint64_t max_ns;
	uint64_t buckets[VTC_HIST_BUCKETS];
};

void vtc_hist_init(struct vtc_hist *h);
void vtc_hist_add(struct vtc_hist *h, uint64_t ns);
void vtc_hist_merge(struct vtc_hist *dst, const struct vtc_hist *src);
/* The value at quantile q (0 < q <= 1): the midpoint of its bucket; 0 when empty. */
uint64_t vtc_hist_quantile(const struct vtc_hist *h, double q);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t vtc_now_ns(void);

#endif
