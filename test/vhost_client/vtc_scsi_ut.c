/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vtc's virtio-scsi driver side (vtc_scsi.c) against lib/vhost's device side (virtqueue.c), in
 * one process: the LUN field, sense decoding, command chains (request header, data-out,
 * response header, data-in) as the device pops them on split and packed rings, responses
 * decoded back, and event buffers posted and taken back (with and without an event).
 */

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "lib/vhost/virtqueue.h"

#include "vhost_client.h"

#define BASE_FEATURES ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_INDIRECT_DESC))

struct loop {
	struct vtc_dev *dev;
	struct vtc_vq *vq;   /* the queue under test */
	struct vhost_vq dvq; /* the device's view of it */
	struct vhost_vq_mem mem;
	struct iovec iov[16];
	struct vhost_vq_chain chain;
};

/* An offline device with queues 0..2 started; the device side plays queue index. */
static void
loop_setup(struct loop *l, bool packed, uint16_t index)
{
	struct vhost_vq_mem_region regions[VTC_MEM_MAX_REGIONS];
	struct vhost_vq_params params = { .name = "scsi", .size = 16 };
	uint64_t features = BASE_FEATURES | (packed ? 1ull << VIRTIO_F_RING_PACKED : 0);
	struct vtc_dev_opts opts;
	struct vtc_mem *mem;
	void *desc, *driver, *device;
	int rc;

	memset(l, 0, sizeof(*l));
	vtc_scsi_opts_init(&opts);
	opts.queue_size = 16;
	opts.interrupt = false;
	opts.mem_size = 8ull << 20;
	opts.bounce_size = 0;
	l->dev = vtc_dev_new_offline(&opts, features);
	CU_ASSERT_FATAL(l->dev != NULL);
	CU_ASSERT_FATAL(vtc_dev_start(l->dev) == 0);
	l->vq = vtc_dev_vq(l->dev, index);
	CU_ASSERT_FATAL(l->vq != NULL);

	mem = vtc_dev_mem(l->dev);
	for (uint32_t i = 0; i < mem->nregions; i++) {
		regions[i] = (struct vhost_vq_mem_region){ .gpa = mem->regions[i].gpa,
							   .size = mem->regions[i].size,
							   .host = mem->regions[i].host };
	}
	CU_ASSERT_FATAL(vhost_vq_mem_init(&l->mem, regions, mem->nregions) == 0);
	vtc_vq_rings(l->vq, &desc, &driver, &device);
	params.features = features;
	params.avail_base = packed ? 0x8000 : 0;
	params.used_base = params.avail_base;
	rc = packed ? vhost_vq_init_packed(&l->dvq, &params, desc, driver, device)
		    : vhost_vq_init_split(&l->dvq, &params, desc, driver, device);
	CU_ASSERT_FATAL(rc == 0);
	l->chain.iov = l->iov;
	l->chain.iov_max = 16;
}

static void
device_pop(struct loop *l)
{
	l->chain.iov = l->iov;
	CU_ASSERT_FATAL(vhost_vq_pop(&l->dvq, &l->mem, &l->chain) == 0);
}

static void
device_complete(struct loop *l, uint32_t used_len)
{
	vhost_vq_push(&l->dvq, l->chain.id, l->chain.ndescs, used_len);
	vhost_vq_publish(&l->dvq);
}

static void
scsi_lun_field_is_single_level_flat(void)
{
	static const uint8_t lun0[8] = { 1, 7, 0x40, 0, 0, 0, 0, 0 };
	static const uint8_t lun291[8] = { 1, 255, 0x41, 0x23, 0, 0, 0, 0 };
	uint8_t lun[8];

	vtc_scsi_lun(lun, 7, 0);
	CU_ASSERT(memcmp(lun, lun0, 8) == 0);
	vtc_scsi_lun(lun, 255, 0x123);
	CU_ASSERT(memcmp(lun, lun291, 8) == 0);
}

static void
scsi_sense_decodes_fixed_and_descriptor_formats(void)
{
	uint8_t fixed[18] = { 0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x20, 0x01 };
	uint8_t desc[8] = { 0x72, 0x0e, 0x1d, 0x00 };
	uint8_t key = 0xff, asc = 0xff, ascq = 0xff;

	CU_ASSERT(vtc_scsi_sense_decode(fixed, sizeof(fixed), &key, &asc, &ascq));
	CU_ASSERT(key == 0x5 && asc == 0x20 && ascq == 0x01);
	fixed[0] = 0xf1; /* VALID bit, deferred error */
	CU_ASSERT(vtc_scsi_sense_decode(fixed, sizeof(fixed), &key, &asc, &ascq));
	CU_ASSERT(vtc_scsi_sense_decode(desc, sizeof(desc), &key, &asc, &ascq));
	CU_ASSERT(key == 0xe && asc == 0x1d && ascq == 0x00);
	/* Too short for its format, or no sense format at all. */
	CU_ASSERT(!vtc_scsi_sense_decode(fixed, 13, &key, &asc, &ascq));
	CU_ASSERT(!vtc_scsi_sense_decode(desc, 3, &key, &asc, &ascq));
	desc[0] = 0x00;
	CU_ASSERT(!vtc_scsi_sense_decode(desc, sizeof(desc), &key, &asc, &ascq));
	CU_ASSERT(!vtc_scsi_sense_decode(desc, 0, &key, &asc, &ascq));
}

/* A data-out command: the device sees the header then the data, answers CHECK CONDITION. */
static void
data_out_round_trip(bool packed)
{
	struct virtio_scsi_cmd_req hdr;
	struct virtio_scsi_cmd_resp resp;
	struct vtc_scsi_result res;
	struct vtc_scsi_req req;
	struct vtc_scsi_cmd cmd = { .tag = 0x1122334455667788ull, .out_len = 1024 };
	struct vtc_cpl cpl;
	struct loop l;
	static const uint8_t sense[18] = { 0x70, 0, 0x0e, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x1d, 0 };

	loop_setup(&l, packed, VTC_SCSI_FIRST_REQ_QUEUE);
	CU_ASSERT_FATAL(vtc_scsi_req_init(vtc_dev_mem(l.dev), &req, 4096) == 0);
	vtc_scsi_lun(cmd.lun, 3, 0);
	cmd.cdb[0] = 0x89;
	cmd.cdb[13] = 1;
	memset(req.data, 0xa5, 1024);
	CU_ASSERT_FATAL(vtc_scsi_submit(l.vq, &req, &cmd, 0) >= 0);

	device_pop(&l);
	CU_ASSERT(l.chain.nreadable == 2);
	CU_ASSERT(l.chain.read_len == sizeof(hdr) + 1024);
	CU_ASSERT(l.chain.write_len == sizeof(resp));
	CU_ASSERT_FATAL(l.iov[0].iov_len == sizeof(hdr));
	memcpy(&hdr, l.iov[0].iov_base, sizeof(hdr));
	CU_ASSERT(memcmp(hdr.lun, cmd.lun, 8) == 0);
	CU_ASSERT(le64toh(hdr.tag) == cmd.tag);
	CU_ASSERT(hdr.task_attr == VIRTIO_SCSI_S_SIMPLE);
	CU_ASSERT(hdr.cdb[0] == 0x89 && hdr.cdb[13] == 1 && hdr.cdb[31] == 0);
	CU_ASSERT(((uint8_t *)l.iov[1].iov_base)[1023] == 0xa5);
	/* Preset so that a response the device did not write shows. */
	CU_ASSERT(((struct virtio_scsi_cmd_resp *)l.iov[2].iov_base)->response == 0xff);

	memset(&resp, 0, sizeof(resp));
	resp.status = 0x02;
	resp.resid = htole32(512);
	resp.sense_len = htole32(sizeof(sense));
	memcpy(resp.sense, sense, sizeof(sense));
	memcpy(l.iov[2].iov_base, &resp, sizeof(resp));
	device_complete(&l, sizeof(resp));

	CU_ASSERT_FATAL(vtc_vq_reap(l.vq, &cpl, 1) == 1);
	CU_ASSERT(cpl.cookie == &req);
	vtc_scsi_result_parse(&req, cpl.len, &res);
	CU_ASSERT(res.used_len == sizeof(resp));
	CU_ASSERT(res.response == VIRTIO_SCSI_S_OK && res.status == 0x02);
	CU_ASSERT(res.resid == 512 && res.sense_len == sizeof(sense));
	CU_ASSERT(res.sense_key == 0xe && res.asc == 0x1d && res.ascq == 0);
	vtc_dev_close(l.dev);
}

/* A data-in command: response header first among the writable buffers, then the data. */
static void
data_in_round_trip(bool packed)
{
	struct virtio_scsi_cmd_resp resp;
	struct vtc_scsi_result res;
	struct vtc_scsi_req req;
	struct vtc_scsi_cmd cmd = { .in_len = 96 };
	struct vtc_cpl cpl;
	struct loop l;

	loop_setup(&l, packed, VTC_SCSI_FIRST_REQ_QUEUE);
	CU_ASSERT_FATAL(vtc_scsi_req_init(vtc_dev_mem(l.dev), &req, 4096) == 0);
	vtc_scsi_lun(cmd.lun, 0, 0);
	cmd.cdb[0] = 0x12;
	cmd.cdb[4] = 96;
	CU_ASSERT_FATAL(vtc_scsi_submit(l.vq, &req, &cmd, VTC_SUBMIT_INDIRECT) >= 0);

	device_pop(&l);
	CU_ASSERT(l.chain.nreadable == 1);
	CU_ASSERT(l.chain.read_len == sizeof(struct virtio_scsi_cmd_req));
	CU_ASSERT(l.chain.write_len == sizeof(resp) + 96);
	CU_ASSERT(l.chain.ndescs == 1);
	CU_ASSERT_FATAL(l.chain.niov == 3 && l.iov[1].iov_len == sizeof(resp));
	memset(&resp, 0, sizeof(resp));
	resp.resid = htole32(60);
	memcpy(l.iov[1].iov_base, &resp, sizeof(resp));
	memset(l.iov[2].iov_base, 0x5a, 36);
	device_complete(&l, sizeof(resp) + 36);

	CU_ASSERT_FATAL(vtc_vq_reap(l.vq, &cpl, 1) == 1);
	vtc_scsi_result_parse(&req, cpl.len, &res);
	CU_ASSERT(res.response == 0 && res.status == 0 && res.resid == 60);
	CU_ASSERT(res.sense_len == 0 && res.sense_key == 0);
	CU_ASSERT(res.used_len == sizeof(resp) + 36);
	CU_ASSERT(req.data[0] == 0x5a && req.data[35] == 0x5a && req.data[36] == 0);
	vtc_dev_close(l.dev);
}

static void
scsi_command_chains_round_trip_on_split_and_packed(void)
{
	data_out_round_trip(false);
	data_out_round_trip(true);
	data_in_round_trip(false);
	data_in_round_trip(true);
}

static void
scsi_submit_refuses_data_beyond_the_buffer(void)
{
	struct vtc_scsi_req req;
	struct vtc_scsi_cmd cmd = { .out_len = 4096, .in_len = 1 };
	struct loop l;

	loop_setup(&l, false, VTC_SCSI_FIRST_REQ_QUEUE);
	CU_ASSERT_FATAL(vtc_scsi_req_init(vtc_dev_mem(l.dev), &req, 4096) == 0);
	CU_ASSERT(vtc_scsi_submit(l.vq, &req, &cmd, 0) == -EINVAL);
	CU_ASSERT(vtc_vq_inflight(l.vq) == 0);
	vtc_dev_close(l.dev);
}

/* Two buffers posted: one comes back with an event, one unused (length 0). */
static void
event_round_trip(bool packed)
{
	struct virtio_scsi_event ev = { .event = htole32(VIRTIO_SCSI_T_TRANSPORT_RESET |
							 VIRTIO_SCSI_T_EVENTS_MISSED),
					.lun = { 1, 9 },
					.reason = htole32(VIRTIO_SCSI_EVT_RESET_REMOVED) };
	struct virtio_scsi_event *bufs;
	struct vtc_scsi_event got[4];
	struct loop l;

	loop_setup(&l, packed, VTC_SCSI_EVENT_QUEUE);
	bufs = vtc_mem_alloc(vtc_dev_mem(l.dev), 2 * sizeof(*bufs), 0, NULL);
	CU_ASSERT_FATAL(bufs != NULL);
	CU_ASSERT(vtc_scsi_event_post(l.dev, &bufs[0]) == 0);
	CU_ASSERT(vtc_scsi_event_post(l.dev, &bufs[1]) == 0);
	CU_ASSERT(vtc_scsi_event_reap(l.dev, got, 4) == 0);

	device_pop(&l);
	CU_ASSERT(l.chain.nreadable == 0 && l.chain.write_len == sizeof(ev));
	memcpy(l.iov[0].iov_base, &ev, sizeof(ev));
	device_complete(&l, sizeof(ev));
	device_pop(&l);
	device_complete(&l, 0);

	CU_ASSERT_FATAL(vtc_scsi_event_reap(l.dev, got, 4) == 2);
	CU_ASSERT(got[0].buf == &bufs[0] && got[0].len == sizeof(ev));
	CU_ASSERT(got[0].event == (VIRTIO_SCSI_T_TRANSPORT_RESET | VIRTIO_SCSI_T_EVENTS_MISSED));
	CU_ASSERT(got[0].lun[0] == 1 && got[0].lun[1] == 9);
	CU_ASSERT(got[0].reason == VIRTIO_SCSI_EVT_RESET_REMOVED);
	CU_ASSERT(got[1].buf == &bufs[1] && got[1].len == 0 && got[1].event == 0);
	/* A buffer taken back can be posted again. */
	CU_ASSERT(vtc_scsi_event_post(l.dev, got[0].buf) == 0);
	CU_ASSERT(vtc_vq_inflight(l.vq) == 1);
	vtc_dev_close(l.dev);
}

static void
scsi_event_buffers_round_trip_on_split_and_packed(void)
{
	event_round_trip(false);
	event_round_trip(true);
}

static void
scsi_opts_ask_scsi_features_and_config(void)
{
	struct vtc_dev_opts opts;

	vtc_scsi_opts_init(&opts);
	CU_ASSERT(opts.features & (1ull << VIRTIO_SCSI_F_HOTPLUG));
	CU_ASSERT(opts.features & (1ull << VIRTIO_SCSI_F_CHANGE));
	CU_ASSERT(!(opts.features & (1ull << VIRTIO_SCSI_F_INOUT)));
	CU_ASSERT(opts.config_size == sizeof(struct virtio_scsi_config));
	CU_ASSERT(opts.num_queues == VTC_SCSI_FIRST_REQ_QUEUE + 1);
}

int
main(void)
{
	CU_pSuite suite;
	unsigned int failures;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("vtc_scsi", NULL, NULL);
	CU_ADD_TEST(suite, scsi_lun_field_is_single_level_flat);
	CU_ADD_TEST(suite, scsi_sense_decodes_fixed_and_descriptor_formats);
	CU_ADD_TEST(suite, scsi_command_chains_round_trip_on_split_and_packed);
	CU_ADD_TEST(suite, scsi_submit_refuses_data_beyond_the_buffer);
	CU_ADD_TEST(suite, scsi_event_buffers_round_trip_on_split_and_packed);
	CU_ADD_TEST(suite, scsi_opts_ask_scsi_features_and_config);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failures == 0 ? 0 : 1;
}
