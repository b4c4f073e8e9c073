/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio-scsi personality without rte_vhost: LUN addressing, command parsing (request
 * header, data-out, response header, data-in) and response building on fabricated iovecs, the
 * task management mapping, the config space and the features.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/vhost/vhost_scsi.c"

#include "lib/bdev/malloc/bdev_malloc.h"
#include "test/unit/common/ut_bdev.h"
#include "test/unit/common/ut_chain.h"
#include "test/unit/common/ut_main.h"
#include "test/unit/common/ut_reactor.h"

static struct iovec g_iov[8];
static struct vhost_vq_chain g_c;
static struct scsi_req g_sr;
/* The request and queue g_sr belongs to (no dirty log unless a test sets one). */
static struct vhost_queue g_q;
static struct vhost_req g_req = { .q = &g_q };

/* A chain of n buffers, the first nr device-readable. */
static void
chain_set(const struct iovec *iov, uint32_t n, uint32_t nr)
{
	memset(&g_sr, 0, sizeof(g_sr));
	g_sr.req = &g_req;
	ut_chain_fill(&g_c, g_iov, VT_COUNTOF(g_iov), iov, n, nr);
}

static void
req_set(struct virtio_scsi_cmd_req *r, uint8_t target, uint16_t lun, uint8_t op)
{
	memset(r, 0, sizeof(*r));
	r->lun[0] = 1;
	r->lun[1] = target;
	r->lun[2] = (uint8_t)(0x40 | (lun >> 8));
	r->lun[3] = (uint8_t)lun;
	r->tag = htole64(0x1122334455667788ull);
	r->cdb[0] = op;
}

static void
lun_decodes_target_and_flat_lun_and_rejects_other_address_forms(void)
{
	uint8_t lun[8] = { 1, 7, 0x40, 0x05, 0, 0, 0, 0 };
	uint32_t t = 99;
	uint64_t l = 99;

	CU_ASSERT_TRUE(scsi_decode_lun(lun, &t, &l));
	CU_ASSERT_EQUAL(t, 7);
	CU_ASSERT_EQUAL(l, 5);
	lun[2] = 0;
	lun[3] = 0;
	lun[1] = 255;
	CU_ASSERT_TRUE(scsi_decode_lun(lun, &t, &l));
	CU_ASSERT_EQUAL(t, 255);
	CU_ASSERT_EQUAL(l, 0);
	lun[0] = 0xc1; /* a well-known LUN (REPORT LUNS W-LUN): not virtio-scsi's form */
	CU_ASSERT_FALSE(scsi_decode_lun(lun, &t, &l));
}

static void
parse_data_in_command_finds_cdb_tag_and_buffers_after_the_response(void)
{
	struct virtio_scsi_cmd_req r;
	uint8_t resp[SCSI_RESP_SIZE], data[4096];
	struct iovec iov[] = { { &r, sizeof(r) }, { resp, sizeof(resp) }, { data, sizeof(data) } };
	uint8_t lun[8];

	req_set(&r, 3, 0, 0x28);
	chain_set(iov, 3, 1);
	CU_ASSERT_EQUAL(scsi_cmd_parse(&g_sr, &g_c, lun), 0);
	CU_ASSERT_EQUAL(g_sr.target, 3);
	CU_ASSERT_EQUAL(g_sr.u.task.lun_id, 0);
	CU_ASSERT_EQUAL(g_sr.u.task.tag, 0x1122334455667788ull);
	CU_ASSERT_EQUAL(g_sr.u.task.cdb[0], 0x28);
	CU_ASSERT_EQUAL(g_sr.u.task.cdb_len, 32);
	CU_ASSERT_EQUAL(g_sr.u.task.dir, VT_SCSI_DIR_FROM_DEV);
	CU_ASSERT_EQUAL(g_sr.u.task.transfer_len, sizeof(data));
	CU_ASSERT_EQUAL(g_sr.u.task.iovcnt, 1);
	CU_ASSERT_PTR_EQUAL(g_sr.u.task.iovs[0].iov_base, data);
	CU_ASSERT_EQUAL(g_sr.resp_iovcnt, 1);
	CU_ASSERT_PTR_EQUAL(g_sr.resp_iov[0].iov_base, resp);
}

static void
parse_data_out_command_skips_the_header_sharing_a_buffer_with_data(void)
{
	uint8_t out[sizeof(struct virtio_scsi_cmd_req) + 512], resp[SCSI_RESP_SIZE];
	struct iovec iov[] = { { out, sizeof(out) }, { resp, sizeof(resp) } };
	struct virtio_scsi_cmd_req r;
	uint8_t lun[8];

	req_set(&r, 0, 0, 0x2a);
	memcpy(out, &r, sizeof(r));
	chain_set(iov, 2, 1);
	CU_ASSERT_EQUAL(scsi_cmd_parse(&g_sr, &g_c, lun), 0);
	CU_ASSERT_EQUAL(g_sr.u.task.dir, VT_SCSI_DIR_TO_DEV);
	CU_ASSERT_EQUAL(g_sr.u.task.transfer_len, 512);
	CU_ASSERT_PTR_EQUAL(g_sr.u.task.iovs[0].iov_base, out + sizeof(r));
	CU_ASSERT_EQUAL(g_sr.u.task.iovs[0].iov_len, 512);
}

static void
parse_response_header_split_across_buffers_and_shared_with_data_in(void)
{
	struct virtio_scsi_cmd_req r;
	uint8_t resp_a[50], resp_b[SCSI_RESP_SIZE - 50 + 100];
	struct iovec iov[] = { { &r, sizeof(r) },
			       { resp_a, sizeof(resp_a) },
			       { resp_b, sizeof(resp_b) } };
	struct virtio_scsi_cmd_resp resp, back;
	uint8_t lun[8];

	req_set(&r, 1, 0, 0x12);
	chain_set(iov, 3, 1);
	CU_ASSERT_EQUAL(scsi_cmd_parse(&g_sr, &g_c, lun), 0);
	CU_ASSERT_EQUAL(g_sr.resp_iovcnt, 2);
	CU_ASSERT_EQUAL(g_sr.u.task.transfer_len, 100);
	CU_ASSERT_PTR_EQUAL(g_sr.u.task.iovs[0].iov_base, resp_b + SCSI_RESP_SIZE - 50);
	memset(&resp, 0, sizeof(resp));
	resp.status = 2;
	resp.sense_len = htole32(18);
	resp.sense[95] = 0xab;
	scsi_write_resp(&g_sr, &resp, sizeof(resp));
	memcpy(&back, resp_a, 50);
	memcpy((uint8_t *)&back + 50, resp_b, SCSI_RESP_SIZE - 50);
	CU_ASSERT_EQUAL(memcmp(&back, &resp, sizeof(resp)), 0);
}

static void
parse_without_data_has_no_direction(void)
{
	struct virtio_scsi_cmd_req r;
	uint8_t resp[SCSI_RESP_SIZE];
	struct iovec iov[] = { { &r, sizeof(r) }, { resp, sizeof(resp) } };
	uint8_t lun[8];

	req_set(&r, 0, 0, 0x00);
	chain_set(iov, 2, 1);
	CU_ASSERT_EQUAL(scsi_cmd_parse(&g_sr, &g_c, lun), 0);
	CU_ASSERT_EQUAL(g_sr.u.task.dir, VT_SCSI_DIR_NONE);
	CU_ASSERT_EQUAL(g_sr.u.task.transfer_len, 0);
}

static void
parse_bidirectional_command_is_invalid_field_in_cdb(void)
{
	uint8_t out[sizeof(struct virtio_scsi_cmd_req) + 512], in[SCSI_RESP_SIZE + 512];
	struct iovec iov[] = { { out, sizeof(out) }, { in, sizeof(in) } };
	struct virtio_scsi_cmd_req r;
	uint8_t lun[8];

	req_set(&r, 0, 0, 0x2a);
	memcpy(out, &r, sizeof(r));
	chain_set(iov, 2, 1);
	CU_ASSERT_EQUAL(scsi_cmd_parse(&g_sr, &g_c, lun), 1);
	CU_ASSERT_EQUAL(g_sr.u.task.status, VT_SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(g_sr.u.task.sense[2] & 0xf, VT_SCSI_SENSE_ILLEGAL_REQUEST);
	CU_ASSERT_EQUAL(g_sr.u.task.sense[12], 0x24);
	CU_ASSERT_EQUAL(g_sr.u.task.sense[13], 0x00);
}

static void
parse_short_header_fails_and_bad_lun_form_is_bad_target(void)
{
	uint8_t small[20], resp[SCSI_RESP_SIZE];
	struct virtio_scsi_cmd_req r;
	struct iovec iov[] = { { small, sizeof(small) }, { resp, sizeof(resp) } };
	struct iovec iov2[] = { { &r, sizeof(r) }, { resp, sizeof(resp) } };
	uint8_t lun[8];

	memset(small, 0, sizeof(small));
	chain_set(iov, 2, 1);
	CU_ASSERT_EQUAL(scsi_cmd_parse(&g_sr, &g_c, lun), VIRTIO_SCSI_S_FAILURE + 2);
	req_set(&r, 0, 0, 0x00);
	r.lun[0] = 2;
	chain_set(iov2, 2, 1);
	CU_ASSERT_EQUAL(scsi_cmd_parse(&g_sr, &g_c, lun), VIRTIO_SCSI_S_BAD_TARGET + 2);
}

static void
parse_without_room_for_the_response_cannot_answer(void)
{
	struct virtio_scsi_cmd_req r;
	uint8_t resp[SCSI_RESP_SIZE - 1];
	struct iovec iov[] = { { &r, sizeof(r) }, { resp, sizeof(resp) } };
	uint8_t lun[8];

	req_set(&r, 0, 0, 0x00);
	chain_set(iov, 2, 1);
	CU_ASSERT_EQUAL(scsi_cmd_parse(&g_sr, &g_c, lun), -1);
}

static void
response_carries_status_sense_only_on_check_condition_and_clamped_resid(void)
{
	struct vt_scsi_task t;
	struct virtio_scsi_cmd_resp resp;

	memset(&t, 0, sizeof(t));
	t.transfer_len = 4096;
	t.residual = 4000;
	t.status = VT_SCSI_STATUS_GOOD;
	t.sense_len = 18; /* stale: not sent with GOOD */
	t.sense[0] = 0x70;
	scsi_task_to_resp(&t, &resp);
	CU_ASSERT_EQUAL(resp.response, VIRTIO_SCSI_S_OK);
	CU_ASSERT_EQUAL(resp.status, 0);
	CU_ASSERT_EQUAL(le32toh(resp.resid), 4000);
	CU_ASSERT_EQUAL(le32toh(resp.sense_len), 0);
	CU_ASSERT_EQUAL(resp.sense[0], 0);

	/* Overflow (negative residual) is resid 0, never OVERRUN. */
	t.residual = -100;
	t.status = VT_SCSI_STATUS_CHECK_CONDITION;
	scsi_task_to_resp(&t, &resp);
	CU_ASSERT_EQUAL(resp.response, VIRTIO_SCSI_S_OK);
	CU_ASSERT_EQUAL(resp.status, VT_SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(le32toh(resp.resid), 0);
	CU_ASSERT_EQUAL(le32toh(resp.sense_len), 18);
	CU_ASSERT_EQUAL(resp.sense[0], 0x70);

	/* A residual beyond the buffer is cut to the buffer. */
	t.residual = 10000;
	scsi_task_to_resp(&t, &resp);
	CU_ASSERT_EQUAL(le32toh(resp.resid), 4096);

	t.status = VT_SCSI_STATUS_TASK_ABORTED;
	scsi_task_to_resp(&t, &resp);
	CU_ASSERT_EQUAL(resp.response, VIRTIO_SCSI_S_ABORTED);

	t.status = VT_SCSI_STATUS_RESERVATION_CONFLICT;
	scsi_task_to_resp(&t, &resp);
	CU_ASSERT_EQUAL(resp.response, VIRTIO_SCSI_S_OK);
	CU_ASSERT_EQUAL(resp.status, VT_SCSI_STATUS_RESERVATION_CONFLICT);
}

static void
tmf_subtypes_map_to_lib_scsi_and_clear_aca_is_rejected(void)
{
	enum vt_scsi_tmf_func f;

	CU_ASSERT_TRUE(tmf_func(VIRTIO_SCSI_T_TMF_ABORT_TASK, &f));
	CU_ASSERT_EQUAL(f, VT_SCSI_TMF_ABORT_TASK);
	CU_ASSERT_TRUE(tmf_func(VIRTIO_SCSI_T_TMF_ABORT_TASK_SET, &f));
	CU_ASSERT_EQUAL(f, VT_SCSI_TMF_ABORT_TASK_SET);
	CU_ASSERT_TRUE(tmf_func(VIRTIO_SCSI_T_TMF_CLEAR_TASK_SET, &f));
	CU_ASSERT_EQUAL(f, VT_SCSI_TMF_CLEAR_TASK_SET);
	CU_ASSERT_TRUE(tmf_func(VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET, &f));
	CU_ASSERT_EQUAL(f, VT_SCSI_TMF_I_T_NEXUS_RESET);
	CU_ASSERT_TRUE(tmf_func(VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET, &f));
	CU_ASSERT_EQUAL(f, VT_SCSI_TMF_LOGICAL_UNIT_RESET);
	CU_ASSERT_TRUE(tmf_func(VIRTIO_SCSI_T_TMF_QUERY_TASK, &f));
	CU_ASSERT_EQUAL(f, VT_SCSI_TMF_QUERY_TASK);
	CU_ASSERT_FALSE(tmf_func(VIRTIO_SCSI_T_TMF_CLEAR_ACA, &f));
	CU_ASSERT_FALSE(tmf_func(99, &f));
	CU_ASSERT_EQUAL(tmf_response(VT_SCSI_TMF_COMPLETE), VIRTIO_SCSI_S_OK);
	CU_ASSERT_EQUAL(tmf_response(VT_SCSI_TMF_SUCCEEDED), VIRTIO_SCSI_S_FUNCTION_SUCCEEDED);
	CU_ASSERT_EQUAL(tmf_response(VT_SCSI_TMF_REJECTED), VIRTIO_SCSI_S_FUNCTION_REJECTED);
	CU_ASSERT_EQUAL(tmf_response(VT_SCSI_TMF_INCORRECT_LUN), VIRTIO_SCSI_S_INCORRECT_LUN);
}

static void
config_and_features_follow_the_transport_rules(void)
{
	struct virtio_scsi_config cfg;
	uint64_t f = scsi_features();

	scsi_config_build(&cfg);
	CU_ASSERT_EQUAL(le32toh(cfg.num_queues), VHOST_MAX_QUEUES - 2);
	CU_ASSERT(le32toh(cfg.seg_max) >= 256);
	CU_ASSERT(le32toh(cfg.max_sectors) >= 16384);
	CU_ASSERT_EQUAL(le32toh(cfg.sense_size), 96);
	CU_ASSERT_EQUAL(le32toh(cfg.cdb_size), 32);
	CU_ASSERT_EQUAL(le32toh(cfg.event_info_size), 16);
	CU_ASSERT_EQUAL(le16toh(cfg.max_channel), 0);
	CU_ASSERT_EQUAL(le16toh(cfg.max_target), 255);
	CU_ASSERT_EQUAL(le32toh(cfg.max_lun), 0);
	CU_ASSERT(f & (1ull << VIRTIO_SCSI_F_HOTPLUG));
	CU_ASSERT(f & (1ull << VIRTIO_SCSI_F_CHANGE));
	CU_ASSERT(f & (1ull << VIRTIO_RING_F_INDIRECT_DESC));
	CU_ASSERT((f & (1ull << VIRTIO_F_RING_PACKED)) != 0);
	CU_ASSERT_FALSE(f & (1ull << VIRTIO_SCSI_F_INOUT));
	CU_ASSERT_FALSE(f & (1ull << VIRTIO_SCSI_F_T10_PI));
}

/* ---- targets on a controller without rte_vhost (the controller's reactor is this thread) --- */

static void
ut_target_removed(void *arg, int rc)
{
	CU_ASSERT_EQUAL(rc, 0);
	(*(int *)arg)++;
}

static void
ut_ctrlr_removed(void *arg)
{
	(*(int *)arg)++;
}

static struct vhost_ctrlr *
ut_scsi_ctrlr(void)
{
	struct vhost_ctrlr *c = calloc(1, sizeof(*c));
	char err[256];

	CU_ASSERT_FATAL(c != NULL);
	snprintf(c->name, sizeof(c->name), "uts");
	c->ops = &g_vhost_scsi_ops;
	c->state = VHOST_CTRLR_RUNNING;
	TAILQ_INIT(&c->sessions);
	CU_ASSERT_EQUAL_FATAL(vhost_scsi_backend_create(c, err, sizeof(err)), 0);
	return c;
}

static void
remove_target_is_answered_by_the_management_poller_and_a_second_remove_says_removing(void)
{
	struct bdev_malloc_opts opts = { .name = "uts_m0", .num_blocks = 256, .block_size = 512 };
	struct vhost_ctrlr *c = ut_scsi_ctrlr();
	struct scsi_ctrlr *sc = c->backend;
	struct vt_bdev *bdev;
	int removed = 0, gone = 0, del = 0;
	char err[256];

	CU_ASSERT_EQUAL_FATAL(bdev_malloc_create(&opts, &bdev), 0);
	CU_ASSERT_EQUAL(vhost_scsi_target_add(c, 7, "uts_m0", err, sizeof(err)), 7);
	/* Another target shares the bdev (another path to the same logical unit). */
	CU_ASSERT_EQUAL(vhost_scsi_target_add(c, 3, "uts_m0", err, sizeof(err)), 3);
	CU_ASSERT_EQUAL(
		vhost_scsi_target_remove(c, 7, ut_target_removed, &removed, err, sizeof(err)), 0);
	/* Not answered yet: new commands see no target, a second remove is refused. */
	CU_ASSERT_EQUAL(removed, 0);
	CU_ASSERT(scsi_target_dev(sc, 7) == NULL);
	CU_ASSERT(sc->mgmt_poller != NULL);
	CU_ASSERT_EQUAL(
		vhost_scsi_target_remove(c, 7, ut_target_removed, &removed, err, sizeof(err)),
		-EALREADY);
	CU_ASSERT(strstr(err, "being removed") != NULL);
	CU_ASSERT_EQUAL(vhost_scsi_target_add(c, 7, "uts_m0", err, sizeof(err)), -EEXIST);
	CU_ASSERT(ut_poll_until(&removed, 1));
	/* Freed: the number and the bdev are free again, the poller is gone. */
	CU_ASSERT(sc->tgt[7].dev == NULL);
	CU_ASSERT(sc->mgmt_poller == NULL);
	CU_ASSERT_EQUAL(
		vhost_scsi_target_remove(c, 7, ut_target_removed, &removed, err, sizeof(err)),
		-ENODEV);
	CU_ASSERT_EQUAL(vhost_scsi_target_add(c, 7, "uts_m0", err, sizeof(err)), 7);

	/* A hot-removed bdev detaches every target showing it by itself. */
	CU_ASSERT_EQUAL(bdev_malloc_delete(bdev, ut_delete_cb, &del), 0);
	CU_ASSERT(ut_poll_until(&del, 1));
	for (int i = 0; i < 2000 && (sc->tgt[7].dev != NULL || sc->tgt[3].dev != NULL); i++) {
		ut_poll(1);
		usleep(1000); /* the management poller runs every millisecond */
	}
	CU_ASSERT(sc->tgt[7].dev == NULL);
	CU_ASSERT(sc->tgt[3].dev == NULL);

	/* Controller removal with targets: done once they are freed. */
	opts.name = "uts_m1";
	CU_ASSERT_EQUAL_FATAL(bdev_malloc_create(&opts, &bdev), 0);
	CU_ASSERT_EQUAL(vhost_scsi_target_add(c, 0, "uts_m1", err, sizeof(err)), 0);
	g_vhost_scsi_ops.remove(c, ut_ctrlr_removed, &gone);
	CU_ASSERT(ut_poll_until(&gone, 1));
	del = 0;
	CU_ASSERT_EQUAL(bdev_malloc_delete(bdev, ut_delete_cb, &del), 0);
	CU_ASSERT(ut_poll_until(&del, 1));
	free(c);
}

static void
log_marks_response_sense_and_data_in_pages_only_while_logging(void)
{
	static uint8_t mem[8 * 4096] __attribute__((aligned(4096)));
	const uint64_t base = 0x40000; /* guest-physical address of mem */
	struct vhost_vq_mem_region r = { .gpa = base, .size = sizeof(mem), .host = mem };
	/* Response across pages 1-2, data-in across pages 4-5. */
	struct iovec iov[] = {
		{ mem, sizeof(struct virtio_scsi_cmd_req) },
		{ mem + 2 * 4096 - 50, SCSI_RESP_SIZE },
		{ mem + 4 * 4096 + 2000, 3000 },
	};
	struct vhost_vq_mem vm;
	struct virtio_scsi_cmd_resp resp;
	uint8_t bits[64] = { 0 }, lun[8];
	struct vhost_log *log = vhost_log_wrap(bits, sizeof(bits));
	uint64_t p0 = base / 4096;

	CU_ASSERT_EQUAL_FATAL(vhost_vq_mem_init(&vm, &r, 1), 0);
	req_set((struct virtio_scsi_cmd_req *)mem, 0, 0, 0x28);
	chain_set(iov, 3, 1);
	CU_ASSERT_EQUAL_FATAL(scsi_cmd_parse(&g_sr, &g_c, lun), 0);
	g_q.mem = &vm;

	/* Off: nothing. */
	memset(&resp, 0, sizeof(resp));
	scsi_write_resp(&g_sr, &resp, sizeof(resp));
	g_sr.u.task.status = VT_SCSI_STATUS_GOOD;
	g_sr.u.task.data_transferred = 3000;
	scsi_log_data_in(&g_sr, &g_sr.u.task);
	for (size_t i = 0; i < sizeof(bits); i++) {
		CU_ASSERT_EQUAL(bits[i], 0);
	}

	/* On: the response with its sense crosses pages 1 and 2. */
	g_q.vq.log = log;
	g_sr.u.task.status = VT_SCSI_STATUS_CHECK_CONDITION;
	g_sr.u.task.sense_len = 18;
	scsi_task_to_resp(&g_sr.u.task, &resp);
	scsi_write_resp(&g_sr, &resp, sizeof(resp));
	CU_ASSERT_EQUAL(bits[(p0 + 1) / 8], (1u << ((p0 + 1) % 8)) | (1u << ((p0 + 2) % 8)));
	memset(bits, 0, sizeof(bits));
	/* Data-in: 1000 bytes transferred stay in page 4; all of it reaches page 5. */
	g_sr.u.task.status = VT_SCSI_STATUS_GOOD;
	g_sr.u.task.data_transferred = 1000;
	scsi_log_data_in(&g_sr, &g_sr.u.task);
	CU_ASSERT_EQUAL(bits[(p0 + 4) / 8], 1u << ((p0 + 4) % 8));
	memset(bits, 0, sizeof(bits));
	g_sr.u.task.data_transferred = 3000;
	scsi_log_data_in(&g_sr, &g_sr.u.task);
	CU_ASSERT_EQUAL(bits[(p0 + 4) / 8], (1u << ((p0 + 4) % 8)) | (1u << ((p0 + 5) % 8)));
	/* A failed task may have written any of its buffer: all of it counts. */
	memset(bits, 0, sizeof(bits));
	g_sr.u.task.status = VT_SCSI_STATUS_CHECK_CONDITION;
	g_sr.u.task.data_transferred = 0;
	scsi_log_data_in(&g_sr, &g_sr.u.task);
	CU_ASSERT_EQUAL(bits[(p0 + 4) / 8], (1u << ((p0 + 4) % 8)) | (1u << ((p0 + 5) % 8)));
	g_q.vq.log = NULL;
	g_q.mem = NULL;
	vhost_log_unref(log);
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	s = CU_add_suite("vhost_scsi_parse", NULL, NULL);
	CU_ADD_TEST(s, lun_decodes_target_and_flat_lun_and_rejects_other_address_forms);
	CU_ADD_TEST(s, parse_data_in_command_finds_cdb_tag_and_buffers_after_the_response);
	CU_ADD_TEST(s, parse_data_out_command_skips_the_header_sharing_a_buffer_with_data);
	CU_ADD_TEST(s, parse_response_header_split_across_buffers_and_shared_with_data_in);
	CU_ADD_TEST(s, parse_without_data_has_no_direction);
	CU_ADD_TEST(s, parse_bidirectional_command_is_invalid_field_in_cdb);
	CU_ADD_TEST(s, parse_short_header_fails_and_bad_lun_form_is_bad_target);
	CU_ADD_TEST(s, parse_without_room_for_the_response_cannot_answer);
	CU_ADD_TEST(s, response_carries_status_sense_only_on_check_condition_and_clamped_resid);
	CU_ADD_TEST(s, tmf_subtypes_map_to_lib_scsi_and_clear_aca_is_rejected);
	CU_ADD_TEST(s, config_and_features_follow_the_transport_rules);
	CU_ADD_TEST(s, log_marks_response_sense_and_data_in_pages_only_while_logging);
	s = CU_add_suite("vhost_scsi_targets", ut_reactor_suite_init, ut_reactor_suite_fini);
	CU_ADD_TEST(
		s,
		remove_target_is_answered_by_the_management_poller_and_a_second_remove_says_removing);
	return ut_run_tests();
}
