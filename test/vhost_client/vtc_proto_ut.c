/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vtc's vhost-user message layer against a scripted fake back end (a thread on a Unix socket in
 * a mkdtemp folder): QEMU's message order, acks and their failure, bounded waits, connect
 * retries, the memory table's fds, the inflight area, a back end that disappears.
 */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "vhost_client.h"

#define FAKE_FEATURES                                                       \
	((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX) | \
	 (1ull << VHOST_USER_F_PROTOCOL_FEATURES) | (1ull << VIRTIO_BLK_F_BLK_SIZE))
#define FAKE_PROTOCOL                                                                     \
	((1ull << VHOST_USER_PROTOCOL_F_MQ) | (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) | \
	 (1ull << VHOST_USER_PROTOCOL_F_CONFIG) | (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD))
#define MAX_LOG 128

struct fake {
	char dir[64];
	char path[96];
	int listen_fd;
	pthread_t thread;
	uint32_t listen_delay_ms; /* bind only after this long */
	uint32_t fail_ack_of;     /* answer this request's ack with 1 */
	uint32_t silent_on;       /* never answer this request */
	uint32_t close_on;        /* close the connection on this request */
	uint64_t queue_num;       /* GET_QUEUE_NUM's answer (2 when 0) */
	/* What the fake saw. */
	uint32_t log[MAX_LOG];
	uint32_t flags[MAX_LOG];
	int nfds[MAX_LOG];
	int nlog;
	uint32_t mem_nregions;
	uint8_t mem_marker;          /* region 0's first byte, read through the received fd */
	uint64_t inflight_size_back; /* SET_INFLIGHT_FD's mmap_size */
};

static int
recv_msg(int fd, struct vhost_user_msg *msg, int *fds, int *nfds)
{
	char control[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
	struct iovec iov = { .iov_base = &msg->hdr, .iov_len = sizeof(msg->hdr) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = control,
			     .msg_controllen = sizeof(control) };
	struct cmsghdr *cmsg;

	*nfds = 0;
	if (recvmsg(fd, &mh, MSG_WAITALL) != (ssize_t)sizeof(msg->hdr)) {
		return -1;
	}
	for (cmsg = CMSG_FIRSTHDR(&mh); cmsg != NULL; cmsg = CMSG_NXTHDR(&mh, cmsg)) {
		int n = (int)((cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int));

		memcpy(fds + *nfds, CMSG_DATA(cmsg), sizeof(int) * (size_t)n);
		*nfds += n;
	}
	if (msg->hdr.size > sizeof(msg->payload)) {
		return -1;
	}
	if (msg->hdr.size > 0 &&
	    recv(fd, &msg->payload, msg->hdr.size, MSG_WAITALL) != (ssize_t)msg->hdr.size) {
		return -1;
	}
	return 0;
}

static void
send_reply(int fd, struct vhost_user_msg *msg, uint32_t size, int pass_fd)
{
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(msg->hdr) + size };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	msg->hdr.flags = VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY;
	msg->hdr.size = size;
	if (pass_fd >= 0) {
		struct cmsghdr *cmsg;

		memset(control, 0, sizeof(control));
		mh.msg_control = control;
		mh.msg_controllen = sizeof(control);
		cmsg = CMSG_FIRSTHDR(&mh);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &pass_fd, sizeof(int));
	}
	(void)sendmsg(fd, &mh, MSG_NOSIGNAL);
}

/* Answers one message like a virtio-blk back end; returns the reply's size, -1 for none. */
static int
fake_answer(struct fake *f, struct vhost_user_msg *msg, const int *fds, int nfds, int *pass_fd)
{
	bool ack = msg->hdr.flags & VHOST_USER_FLAG_NEED_REPLY;

	*pass_fd = -1;
	switch (msg->hdr.request) {
	case VHOST_USER_GET_FEATURES:
		msg->payload.u64 = FAKE_FEATURES;
		return 8;
	case VHOST_USER_GET_PROTOCOL_FEATURES:
		msg->payload.u64 = FAKE_PROTOCOL;
		return 8;
	case VHOST_USER_GET_QUEUE_NUM:
		msg->payload.u64 = f->queue_num != 0 ? f->queue_num : 2;
		return 8;
	case VHOST_USER_GET_CONFIG: {
		struct virtio_blk_config cfg = { .capacity = 2048, .blk_size = 4096 };

		memcpy(msg->payload.config.region, &cfg, msg->payload.config.size);
		return (int)msg->hdr.size;
	}
	case VHOST_USER_GET_VRING_BASE:
		msg->payload.state.num = 0;
		return 8;
	case VHOST_USER_GET_INFLIGHT_FD:
		*pass_fd = memfd_create("fake-inflight", MFD_CLOEXEC);
		if (*pass_fd < 0 || ftruncate(*pass_fd, 8192) != 0) {
			return -1;
		}
		msg->payload.inflight.mmap_size = 8192;
		msg->payload.inflight.mmap_offset = 0;
		return (int)sizeof(msg->payload.inflight);
	case VHOST_USER_SET_INFLIGHT_FD:
		f->inflight_size_back = nfds == 1 ? msg->payload.inflight.mmap_size : 0;
		break;
	case VHOST_USER_SET_MEM_TABLE:
		f->mem_nregions = msg->payload.mem.nregions;
		if (nfds >= 1) {
			uint8_t *p = mmap(NULL, msg->payload.mem.regions[0].size, PROT_READ,
					  MAP_SHARED, fds[0], 0);

			if (p != MAP_FAILED) {
				f->mem_marker = p[0];
				munmap(p, msg->payload.mem.regions[0].size);
			}
		}
		break;
	default:
		break;
	}
	if (!ack) {
		return -1;
	}
	msg->payload.u64 = msg->hdr.request == f->fail_ack_of ? 1 : 0;
	return 8;
}

static void *
fake_thread(void *arg)
{
	struct fake *f = arg;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int conn;

	usleep(f->listen_delay_ms * 1000);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", f->path);
	if (bind(f->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    listen(f->listen_fd, 1) != 0) {
		return NULL;
	}
	conn = accept(f->listen_fd, NULL, NULL);
	if (conn < 0) {
		return NULL;
	}
	for (;;) {
		struct vhost_user_msg msg = { 0 };
		int fds[VHOST_USER_MAX_FDS], nfds, pass_fd, size;

		if (recv_msg(conn, &msg, fds, &nfds) != 0) {
			break;
		}
		if (f->nlog < MAX_LOG) {
			f->log[f->nlog] = msg.hdr.request;
			f->flags[f->nlog] = msg.hdr.flags;
			f->nfds[f->nlog] = nfds;
			f->nlog++;
		}
		if (msg.hdr.request == f->close_on) {
			for (int i = 0; i < nfds; i++) {
				close(fds[i]);
			}
			break;
		}
		size = fake_answer(f, &msg, fds, nfds, &pass_fd);
		for (int i = 0; i < nfds; i++) {
			close(fds[i]);
		}
		if (size >= 0 && msg.hdr.request != f->silent_on) {
			send_reply(conn, &msg, (uint32_t)size, pass_fd);
		}
		if (pass_fd >= 0) {
			close(pass_fd);
		}
	}
	close(conn);
	return NULL;
}

static void
fake_start(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/vtc_proto_ut.XXXXXX");
	CU_ASSERT_FATAL(mkdtemp(f->dir) != NULL);
	snprintf(f->path, sizeof(f->path), "%s/sock", f->dir);
	f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(f->listen_fd >= 0);
}

static void
fake_run(struct fake *f)
{
	CU_ASSERT_FATAL(pthread_create(&f->thread, NULL, fake_thread, f) == 0);
}

static void
fake_stop(struct fake *f)
{
	/* The thread ends when the client closes (or after the scripted close). */
	pthread_join(f->thread, NULL);
	close(f->listen_fd);
	unlink(f->path);
	rmdir(f->dir);
}

static void
opts_for(struct vtc_dev_opts *o, const struct fake *f)
{
	vtc_dev_opts_init(o);
	o->path = f->path;
	o->connect_timeout_ms = 2000;
	o->reply_timeout_ms = 300;
	o->mem_size = 4ull << 20;
	o->bounce_size = 4096;
}

static void
negotiation_and_start_follow_qemu_order(void)
{
	static const uint32_t expect[] = {
		VHOST_USER_GET_FEATURES,
		VHOST_USER_GET_PROTOCOL_FEATURES,
		VHOST_USER_SET_PROTOCOL_FEATURES,
		VHOST_USER_GET_QUEUE_NUM,
		VHOST_USER_SET_OWNER,
		VHOST_USER_GET_FEATURES,
		VHOST_USER_GET_CONFIG,
		VHOST_USER_SET_FEATURES,
		VHOST_USER_GET_INFLIGHT_FD,
		VHOST_USER_SET_INFLIGHT_FD,
		VHOST_USER_SET_FEATURES,
		VHOST_USER_SET_MEM_TABLE,
		VHOST_USER_SET_VRING_NUM,
		VHOST_USER_SET_VRING_BASE,
		VHOST_USER_SET_VRING_ADDR,
		VHOST_USER_SET_VRING_KICK,
		VHOST_USER_SET_VRING_CALL,
		VHOST_USER_SET_VRING_NUM,
		VHOST_USER_SET_VRING_BASE,
		VHOST_USER_SET_VRING_ADDR,
		VHOST_USER_SET_VRING_KICK,
		VHOST_USER_SET_VRING_CALL,
		VHOST_USER_SET_VRING_ENABLE,
		VHOST_USER_SET_VRING_ENABLE,
		VHOST_USER_SET_VRING_ENABLE,
		VHOST_USER_GET_VRING_BASE,
		VHOST_USER_SET_VRING_ENABLE,
		VHOST_USER_GET_VRING_BASE,
	};
	struct vtc_dev_opts o;
	struct vtc_dev *dev;
	struct fake f;

	fake_start(&f);
	fake_run(&f);
	opts_for(&o, &f);
	o.num_queues = 2;
	o.inflight = true;
	o.protocol_features = VTC_PROTOCOL_FEATURES;
	dev = vtc_dev_open(&o);
	CU_ASSERT_FATAL(dev != NULL);
	CU_ASSERT(vtc_dev_features(dev) == FAKE_FEATURES);
	CU_ASSERT(vtc_dev_protocol_features(dev) == FAKE_PROTOCOL);
	CU_ASSERT(vtc_dev_max_queues(dev) == 2);
	CU_ASSERT(vtc_dev_blk_config(dev)->capacity == 2048);
	CU_ASSERT(vtc_dev_blk_config(dev)->blk_size == 4096);
	CU_ASSERT_FATAL(vtc_dev_start(dev) == 0);
	CU_ASSERT(vtc_dev_stop(dev) == 0);
	vtc_dev_close(dev);
	fake_stop(&f);

	CU_ASSERT_FATAL(f.nlog == (int)(sizeof(expect) / sizeof(expect[0])));
	for (int i = 0; i < f.nlog; i++) {
		CU_ASSERT(f.log[i] == expect[i]);
		CU_ASSERT((f.flags[i] & VHOST_USER_VERSION_MASK) == VHOST_USER_VERSION);
	}
	/* Acks asked from SET_OWNER on, never on requests that have their own reply. */
	CU_ASSERT(!(f.flags[2] & VHOST_USER_FLAG_NEED_REPLY));
	CU_ASSERT(f.flags[4] & VHOST_USER_FLAG_NEED_REPLY);
	CU_ASSERT(!(f.flags[6] & VHOST_USER_FLAG_NEED_REPLY));
	CU_ASSERT(f.flags[11] & VHOST_USER_FLAG_NEED_REPLY);
	/* One memfd per region; kick and call eventfds; the inflight area sent back. */
	CU_ASSERT(f.mem_nregions == 1 && f.nfds[11] == 1);
	CU_ASSERT(f.nfds[15] == 1 && f.nfds[16] == 1);
	CU_ASSERT(f.inflight_size_back == 8192);
}

static void
memory_table_fds_map_the_guest_memory(void)
{
	struct vtc_dev_opts o;
	struct vtc_dev *dev;
	struct vtc_mem *mem;
	struct fake f;

	fake_start(&f);
	fake_run(&f);
	opts_for(&o, &f);
	dev = vtc_dev_open(&o);
	CU_ASSERT_FATAL(dev != NULL);
	mem = vtc_dev_mem(dev);
	CU_ASSERT_FATAL(vtc_mem_add_region(mem, 0, VTC_MEM_ALIGN) == 0);
	CU_ASSERT_FATAL(vtc_mem_add_region(mem, 4 * VTC_MEM_ALIGN, VTC_MEM_ALIGN) == 0);
	/* Rings go after the marker: the allocator starts at offset 0, so take that first. */
	CU_ASSERT_FATAL(vtc_mem_alloc(mem, 64, 0, NULL) != NULL);
	mem->regions[0].host[0] = 0xa5;
	CU_ASSERT_FATAL(vtc_dev_start(dev) == 0);
	vtc_dev_close(dev);
	fake_stop(&f);
	CU_ASSERT(f.mem_nregions == 2);
	CU_ASSERT(f.mem_marker == 0xa5);
}

static void
more_queues_than_vtc_drives_are_accepted(void)
{
	struct vtc_dev_opts o;
	struct vtc_dev *dev;
	struct fake f;

	/* SPDK's vhost-blk offers 128 queues: the front end drives the one it asked for. */
	fake_start(&f);
	f.queue_num = 128;
	fake_run(&f);
	opts_for(&o, &f);
	dev = vtc_dev_open(&o);
	CU_ASSERT_FATAL(dev != NULL);
	CU_ASSERT(vtc_dev_max_queues(dev) == 128);
	vtc_dev_close(dev);
	fake_stop(&f);

	/* A count beyond any 16-bit queue index is refused. */
	fake_start(&f);
	f.queue_num = 65536;
	fake_run(&f);
	opts_for(&o, &f);
	CU_ASSERT(vtc_dev_open(&o) == NULL);
	fake_stop(&f);
}

static void
failed_ack_fails_the_request(void)
{
	struct vtc_dev_opts o;
	struct vtc_dev *dev;
	struct fake f;

	fake_start(&f);
	f.fail_ack_of = VHOST_USER_SET_MEM_TABLE;
	fake_run(&f);
	opts_for(&o, &f);
	dev = vtc_dev_open(&o);
	CU_ASSERT_FATAL(dev != NULL);
	CU_ASSERT(vtc_dev_start(dev) == -EREMOTEIO);
	vtc_dev_close(dev);
	fake_stop(&f);
}

static void
missing_reply_times_out_and_drops_the_connection(void)
{
	struct vtc_dev_opts o;
	struct vtc_dev *dev;
	struct fake f;
	uint64_t t0;

	fake_start(&f);
	f.silent_on = VHOST_USER_SET_VRING_ADDR;
	fake_run(&f);
	opts_for(&o, &f);
	dev = vtc_dev_open(&o);
	CU_ASSERT_FATAL(dev != NULL);
	t0 = vtc_now_ns();
	CU_ASSERT(vtc_dev_start(dev) == -ETIMEDOUT);
	CU_ASSERT(vtc_now_ns() - t0 < 2000000000ull);
	CU_ASSERT(vtc_dev_peer_closed(dev, 0));
	CU_ASSERT(vtc_request(dev, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0, NULL) == -ENOTCONN);
	vtc_dev_close(dev);
	fake_stop(&f);
}

static void
back_end_closing_is_reported(void)
{
	struct vtc_dev_opts o;
	struct fake f;

	fake_start(&f);
	f.close_on = VHOST_USER_GET_CONFIG;
	fake_run(&f);
	opts_for(&o, &f);
	CU_ASSERT(vtc_dev_open(&o) == NULL);
	fake_stop(&f);
}

static void
connect_retries_until_the_socket_listens(void)
{
	struct vtc_dev_opts o;
	struct vtc_dev *dev;
	struct fake f;

	fake_start(&f);
	f.listen_delay_ms = 300;
	fake_run(&f);
	opts_for(&o, &f);
	dev = vtc_dev_open(&o);
	CU_ASSERT(dev != NULL);
	vtc_dev_close(dev);
	fake_stop(&f);
}

static void
connect_gives_up_after_its_timeout(void)
{
	struct vtc_dev_opts o;
	uint64_t t0 = vtc_now_ns();

	vtc_dev_opts_init(&o);
	o.path = "/tmp/vtc_proto_ut.no-such-dir/sock";
	o.connect_timeout_ms = 200;
	CU_ASSERT(vtc_dev_open(&o) == NULL);
	CU_ASSERT(vtc_now_ns() - t0 >= 200000000ull);
	CU_ASSERT(vtc_now_ns() - t0 < 2000000000ull);
}

int
main(void)
{
	CU_pSuite suite;
	unsigned int failures;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("vtc_proto", NULL, NULL);
	CU_ADD_TEST(suite, negotiation_and_start_follow_qemu_order);
	CU_ADD_TEST(suite, memory_table_fds_map_the_guest_memory);
	CU_ADD_TEST(suite, more_queues_than_vtc_drives_are_accepted);
	CU_ADD_TEST(suite, failed_ack_fails_the_request);
	CU_ADD_TEST(suite, missing_reply_times_out_and_drops_the_connection);
	CU_ADD_TEST(suite, back_end_closing_is_reported);
	CU_ADD_TEST(suite, connect_retries_until_the_socket_listens);
	CU_ADD_TEST(suite, connect_gives_up_after_its_timeout);

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failures != 0;
}
