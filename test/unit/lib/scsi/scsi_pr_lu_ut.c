/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One logical unit behind two devices (scsi_lu.c, scsi_pr.c): persistent reservations across
 * I_T nexuses of different target ports, every reservation type x command class (read, write,
 * allowed, every PERSISTENT RESERVE OUT service action) x holder / registered / not registered,
 * unit attentions per nexus, REGISTER AND MOVE, READ FULL STATUS, the SPC-2 reservation and mode
 * parameters of the logical unit, the APTPL round trip, and the identification multipath relies
 * on (VPD 83h, TPGS, REPORT TARGET PORT GROUPS).
 */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test/unit/lib/scsi/ut_scsi.h"

#define OUT VT_SCSI_DIR_TO_DEV
#define IN VT_SCSI_DIR_FROM_DEV
#define NONE VT_SCSI_DIR_NONE

#define INI_A "iqn.2024-01.ut:a"
#define INI_B "iqn.2024-01.ut:b"
#define INI_C "iqn.2024-01.ut:c"

/* Target ports t1 and t2 show bdev "ut_lu" as their LUN 0. A on t1; B and C on t2. */
struct lu_fix {
	struct vt_bdev *bdev;
	struct vt_scsi_dev *t1, *t2;
	struct vt_scsi_port *a, *b, *c;
};

static struct lu_fix g_l;
static uint8_t g_data[8192];

static void
lu_add(struct vt_scsi_dev *dev)
{
	CU_ASSERT_EQUAL_FATAL(vt_scsi_dev_add_lun(dev, "ut_lu", 0, NULL, NULL), 0);
}

static void
lu_setup(void)
{
	struct bdev_malloc_opts opts = { .name = "ut_lu",
					 .num_blocks = UT_BLOCKS,
					 .block_size = UT_BS };

	memset(&g_l, 0, sizeof(g_l));
	CU_ASSERT_EQUAL_FATAL(bdev_malloc_create(&opts, &g_l.bdev), 0);
	g_l.t1 = vt_scsi_dev_create("ut.t1", 1);
	g_l.t2 = vt_scsi_dev_create("ut.t2", 2);
	CU_ASSERT_FATAL(g_l.t1 != NULL && g_l.t2 != NULL);
	CU_ASSERT_NOT_EQUAL(vt_scsi_dev_get_rtpi(g_l.t1), vt_scsi_dev_get_rtpi(g_l.t2));
	lu_add(g_l.t1);
	lu_add(g_l.t2);
	g_l.a = vt_scsi_port_create(g_l.t1, INI_A);
	g_l.b = vt_scsi_port_create(g_l.t2, INI_B);
	g_l.c = vt_scsi_port_create(g_l.t2, INI_C);
	CU_ASSERT_FATAL(g_l.a != NULL && g_l.b != NULL && g_l.c != NULL);
	ut_clear_ua(g_l.a);
	ut_clear_ua(g_l.b);
	ut_clear_ua(g_l.c);
}

static void
lu_remove(struct vt_scsi_dev *dev)
{
	int done = 0;

	CU_ASSERT_EQUAL(vt_scsi_dev_remove_lun(dev, 0, ut_lun_done, &done), 0);
	CU_ASSERT(ut_poll_until(&done, 1));
}

static void
lu_teardown(void)
{
	int del = 0;

	CU_ASSERT_EQUAL(vt_scsi_port_destroy(g_l.a), 0);
	CU_ASSERT_EQUAL(vt_scsi_port_destroy(g_l.b), 0);
	CU_ASSERT_EQUAL(vt_scsi_port_destroy(g_l.c), 0);
	lu_remove(g_l.t1);
	lu_remove(g_l.t2);
	CU_ASSERT_EQUAL(vt_scsi_dev_destroy(g_l.t1), 0);
	CU_ASSERT_EQUAL(vt_scsi_dev_destroy(g_l.t2), 0);
	CU_ASSERT_EQUAL(bdev_malloc_delete(g_l.bdev, ut_delete_cb, &del), 0);
	CU_ASSERT(ut_poll_until(&del, 1));
}

static uint8_t
prout_ext(struct vt_scsi_port *port, uint8_t sa, uint8_t type, uint64_t key, uint64_t sa_key,
	  uint8_t flags, struct ut_cmd *c)
{
	uint8_t cdb[10] = { VT_SCSI_OP_PERSISTENT_RESERVE_OUT, sa, type, 0, 0, 0, 0, 0, 24, 0 };
	uint8_t p[24] = { 0 };

	vt_scsi_put64(p, key);
	vt_scsi_put64(&p[8], sa_key);
	p[20] = flags;
	return ut_run(c, port, 0, cdb, 10, OUT, p, 24);
}

static uint8_t
prout(struct vt_scsi_port *port, uint8_t sa, uint8_t type, uint64_t key, uint64_t sa_key)
{
	struct ut_cmd c;

	return prout_ext(port, sa, type, key, sa_key, 0, &c);
}

static uint8_t
prin(struct vt_scsi_port *port, uint8_t sa)
{
	uint8_t cdb[10] = { VT_SCSI_OP_PERSISTENT_RESERVE_IN, sa, 0, 0, 0, 0, 0, 0x20, 0, 0 };
	struct ut_cmd c;

	return ut_run(&c, port, 0, cdb, 10, IN, g_data, 8192);
}

enum cmd_class { CLASS_READ, CLASS_WRITE, CLASS_OTHER, CLASS_COUNT };

static uint8_t
run_class(struct vt_scsi_port *port, enum cmd_class cls)
{
	uint8_t rd[10] = { VT_SCSI_OP_READ_10, 0, 0, 0, 0, 2, 0, 0, 1, 0 };
	uint8_t wr[10] = { VT_SCSI_OP_WRITE_10, 0, 0, 0, 0, 2, 0, 0, 1, 0 };
	uint8_t tur[6] = { VT_SCSI_OP_TEST_UNIT_READY };
	struct ut_cmd c;

	switch (cls) {
	case CLASS_READ:
		return ut_run(&c, port, 0, rd, 10, IN, g_data, UT_BS);
	case CLASS_WRITE:
		return ut_run(&c, port, 0, wr, 10, OUT, g_data, UT_BS);
	default:
		return ut_run(&c, port, 0, tur, 6, NONE, NULL, 0);
	}
}

/* SPC-4 5.9.1: who conflicts, by type, command class and the nexus's standing. */
static bool
expect_conflict(uint8_t type, enum cmd_class cls, bool holder, bool registered)
{
	bool all_regs = type == VT_SCSI_PR_WRITE_EXCLUSIVE_ALL_REGS ||
			type == VT_SCSI_PR_EXCLUSIVE_ACCESS_ALL_REGS;
	bool write_only = type == VT_SCSI_PR_WRITE_EXCLUSIVE ||
			  type == VT_SCSI_PR_WRITE_EXCLUSIVE_REGS_ONLY ||
			  type == VT_SCSI_PR_WRITE_EXCLUSIVE_ALL_REGS;
	bool regs_may = type != VT_SCSI_PR_WRITE_EXCLUSIVE && type != VT_SCSI_PR_EXCLUSIVE_ACCESS;

	if (holder || (all_regs && registered) || cls == CLASS_OTHER) {
		return false;
	}
	if (registered && regs_may) {
		return false;
	}
	return cls == CLASS_WRITE || !write_only;
}

static void
every_type_class_and_standing_across_target_ports(void)
{
	static const uint8_t types[] = {
		VT_SCSI_PR_WRITE_EXCLUSIVE,           VT_SCSI_PR_EXCLUSIVE_ACCESS,
		VT_SCSI_PR_WRITE_EXCLUSIVE_REGS_ONLY, VT_SCSI_PR_EXCLUSIVE_ACCESS_REGS_ONLY,
		VT_SCSI_PR_WRITE_EXCLUSIVE_ALL_REGS,  VT_SCSI_PR_EXCLUSIVE_ACCESS_ALL_REGS,
	};

	lu_setup();
	for (uint32_t t = 0; t < VT_COUNTOF(types); t++) {
		/* A (t1) holds; B (t2) is registered; C (t2) is not. */
		CU_ASSERT_EQUAL(prout(g_l.a, VT_SCSI_PROUT_REGISTER, 0, 0, 0xa), 0);
		CU_ASSERT_EQUAL(prout(g_l.b, VT_SCSI_PROUT_REGISTER, 0, 0, 0xb), 0);
		CU_ASSERT_EQUAL(prout(g_l.a, VT_SCSI_PROUT_RESERVE, types[t], 0xa, 0), 0);
		for (int cls = 0; cls < CLASS_COUNT; cls++) {
			uint8_t want_a = expect_conflict(types[t], cls, true, true)
						 ? VT_SCSI_STATUS_RESERVATION_CONFLICT
						 : VT_SCSI_STATUS_GOOD;
			uint8_t want_b = expect_conflict(types[t], cls, false, true)
						 ? VT_SCSI_STATUS_RESERVATION_CONFLICT
						 : VT_SCSI_STATUS_GOOD;
			uint8_t want_c = expect_conflict(types[t], cls, false, false)
						 ? VT_SCSI_STATUS_RESERVATION_CONFLICT
						 : VT_SCSI_STATUS_GOOD;

			CU_ASSERT_EQUAL(run_class(g_l.a, cls), want_a);
			CU_ASSERT_EQUAL(run_class(g_l.b, cls), want_b);
			CU_ASSERT_EQUAL(run_class(g_l.c, cls), want_c);
		}
		CU_ASSERT_EQUAL(prout(g_l.a, VT_SCSI_PROUT_CLEAR, 0, 0xa, 0), 0);
		ut_clear_ua(g_l.b);
		/* Cleared: everyone reads and writes again. */
		CU_ASSERT_EQUAL(run_class(g_l.c, CLASS_WRITE), VT_SCSI_STATUS_GOOD);
	}
	lu_teardown();
}

static void
expect_ua(struct vt_scsi_port *port, uint16_t asc)
{
	struct ut_cmd c;
	uint8_t tur[6] = { VT_SCSI_OP_TEST_UNIT_READY };

	CU_ASSERT_EQUAL(ut_run(&c, port, 0, tur, 6, NONE, NULL, 0), VT_SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(ut_sense(&c.task), UT_SK(VT_SCSI_SENSE_UNIT_ATTENTION, asc));
}

static void
expect_no_ua(struct vt_scsi_port *port)
{
	CU_ASSERT_EQUAL(run_class(port, CLASS_OTHER), VT_SCSI_STATUS_GOOD);
}

static void
unit_attentions_reach_the_nexuses_of_the_other_target_port(void)
{
	lu_setup();
	CU_ASSERT_EQUAL(prout(g_l.a, VT_SCSI_PROUT_REGISTER, 0, 0, 0xa), 0);
	CU_ASSERT_EQUAL(prout(g_l.b, VT_SCSI_PROUT_REGISTER, 0, 0, 0xb), 0);
	CU_ASSERT_EQUAL(
		prout(g_l.a, VT_SCSI_PROUT_RESERVE, VT_SCSI_PR_WRITE_EXCLUSIVE_REGS_ONLY, 0xa, 0),
		0);
	/* RELEASE of a registrants-only reservation: the other registrants are told. */
	CU_ASSERT_EQUAL(
		prout(g_l.a, VT_SCSI_PROUT_RELEASE, VT_SCSI_PR_WRITE_EXCLUSIVE_REGS_ONLY, 0xa, 0),
		0);
	expect_ua(g_l.b, VT_SCSI_ASC_RESERVATIONS_RELEASED);
	expect_no_ua(g_l.a);
	expect_no_ua(g_l.c);
	/* PREEMPT removes B's registration: only B hears of it. */
	CU_ASSERT_EQUAL(prout(g_l.a, VT_SCSI_PROUT_RESERVE, VT_SCSI_PR_EXCLUSIVE_ACCESS, 0xa, 0),
			0);
	CU_ASSERT_EQUAL(prout(g_l.a, VT_SCSI_PROUT_PREEMPT_AND_ABORT, VT_SCSI_PR_EXCLUSIVE_ACCESS,
			      0xa, 0xb),
			0);
	expect_ua(g_l.b, VT_SCSI_ASC_REGISTRATIONS_PREEMPTED);
	expect_no_ua(g_l.c);
	CU_ASSERT_EQUAL(run_class(g_l.b, CLASS_READ), VT_SCSI_STATUS_RESERVATION_CONFLICT);
	/* CLEAR: every other registrant gets RESERVATIONS PREEMPTED. */
	CU_ASSERT_EQUAL(prout(g_l.c, VT_SCSI_PROUT_REGISTER, 0, 0, 0xc), 0);
	CU_ASSERT_EQUAL(prout(g_l.a, VT_SCSI_PROUT_CLEAR, 0, 0xa, 0), 0);
	expect_ua(g_l.c, VT_SCSI_ASC_RESERVATIONS_PREEMPTED);
	expect_no_ua(g_l.a);
	expect_no_ua(g_l.b);
	/* MODE SELECT through one path changes the logical unit: the other nexuses are told. */
	uint8_t ms[6] = { VT_SCSI_OP_MODE_SELECT_6, 0x10, 0, 0, 16, 0 };
	/* The control mode page with D_SENSE set. */
	uint8_t page[16] = { 0, 0, 0, 0, 0x0a, 0x0a, 0x04, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0 };
	struct ut_cmd c;

	CU_ASSERT_EQUAL(ut_run(&c, g_l.a, 0, ms, 6, OUT, page, 16), VT_SCSI_STATUS_GOOD);
	expect_ua(g_l.b, VT_SCSI_ASC_MODE_PARAMETERS_CHANGED);
	expect_ua(g_l.c, VT_SCSI_ASC_MODE_PARAMETERS_CHANGED);
	expect_no_ua(g_l.a);
	lu_teardown();
}

static void
spc2_reservation_and_full_status_span_target_ports(void)
{
	uint8_t res6[6] = { VT_SCSI_OP_RESERVE_6 };
	uint8_t rel6[6] = { VT_SCSI_OP_RELEASE_6 };
	struct ut_cmd c;
	uint32_t off;

	lu_setup();
	CU_ASSERT_EQUAL(ut_run(&c, g_l.a, 0, res6, 6, NONE, NULL, 0), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(run_class(g_l.b, CLASS_READ), VT_SCSI_STATUS_RESERVATION_CONFLICT);
	CU_ASSERT_EQUAL(ut_run(&c, g_l.b, 0, res6, 6, NONE, NULL, 0),
			VT_SCSI_STATUS_RESERVATION_CONFLICT);
	CU_ASSERT_EQUAL(ut_run(&c, g_l.a, 0, rel6, 6, NONE, NULL, 0), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(run_class(g_l.b, CLASS_WRITE), VT_SCSI_STATUS_GOOD);
	/* READ FULL STATUS names each nexus: its target port and its TransportID. */
	CU_ASSERT_EQUAL(prout(g_l.a, VT_SCSI_PROUT_REGISTER, 0, 0, 0xa), 0);
	CU_ASSERT_EQUAL(prout(g_l.b, VT_SCSI_PROUT_REGISTER, 0, 0, 0xb), 0);
	CU_ASSERT_EQUAL(prout(g_l.a, VT_SCSI_PROUT_RESERVE, VT_SCSI_PR_WRITE_EXCLUSIVE, 0xa, 0), 0);
	CU_ASSERT_EQUAL(prin(g_l.c, VT_SCSI_PRIN_READ_FULL_STATUS), VT_SCSI_STATUS_GOOD);
	off = 8;
	for (int i = 0; i < 2; i++) {
		uint64_t key = vt_scsi_get64(&g_data[off]);
		bool is_a = key == 0xa;

		CU_ASSERT(key == 0xa || key == 0xb);
		CU_ASSERT_EQUAL(g_data[off + 12], is_a ? 0x01 : 0x00);
		CU_ASSERT_EQUAL(vt_scsi_get16(&g_data[off + 18]),
				vt_scsi_dev_get_rtpi(is_a ? g_l.t1 : g_l.t2));
		CU_ASSERT_STRING_EQUAL((char *)&g_data[off + 28], is_a ? INI_A : INI_B);
		off += 24 + vt_scsi_get32(&g_data[off + 20]);
	}
	CU_ASSERT_EQUAL(vt_scsi_get32(&g_data[4]), off - 8);
	lu_teardown();
}

static uint8_t
register_and_move(struct vt_scsi_port *port, uint64_t key, uint64_t sa_key, uint16_t rtpi,
		  const char *initiator, uint8_t flags17)
{
	uint8_t cdb[10] = { VT_SCSI_OP_PERSISTENT_RESERVE_OUT,
			    VT_SCSI_PROUT_REGISTER_AND_MOVE,
			    VT_SCSI_PR_WRITE_EXCLUSIVE,
			    0,
			    0,
			    0,
			    0,
			    0,
			    24 + 24,
			    0 };
	uint8_t p[48] = { 0 };
	struct ut_cmd c;

	vt_scsi_put64(p, key);
	vt_scsi_put64(&p[8], sa_key);
	p[17] = flags17;
	vt_scsi_put16(&p[18], rtpi);
	vt_scsi_put32(&p[20], 24);
	p[24] = 0x05;
	vt_scsi_put16(&p[26], 20);
	snprintf((char *)&p[28], 20, "%s", initiator);
	return ut_run(&c, port, 0, cdb, 10, OUT, p, 48);
}

static void
register_and_move_hands_the_reservation_to_another_nexus(void)
{
	uint16_t t2;

	lu_setup();
	t2 = vt_scsi_dev_get_rtpi(g_l.t2);
	CU_ASSERT_EQUAL(prout(g_l.a, VT_SCSI_PROUT_REGISTER, 0, 0, 0xa), 0);
	/* Not the holder yet: conflict. */
	CU_ASSERT_EQUAL(register_and_move(g_l.a, 0xa, 0xcc, t2, INI_C, 0),
			VT_SCSI_STATUS_RESERVATION_CONFLICT);
	CU_ASSERT_EQUAL(prout(g_l.a, VT_SCSI_PROUT_RESERVE, VT_SCSI_PR_WRITE_EXCLUSIVE, 0xa, 0), 0);
	/* An unknown target port and a move to oneself are refused. */
	CU_ASSERT_EQUAL(register_and_move(g_l.a, 0xa, 0xcc, 0xfff0, INI_C, 0),
			VT_SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(register_and_move(g_l.a, 0xa, 0xcc, vt_scsi_dev_get_rtpi(g_l.t1), INI_A, 0),
			VT_SCSI_STATUS_CHECK_CONDITION);
	/* C (unregistered, on t2) gets the reservation with key 0xcc; A unregisters (UNREG). */
	CU_ASSERT_EQUAL(register_and_move(g_l.a, 0xa, 0xcc, t2, INI_C, 0x02), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(prin(g_l.b, VT_SCSI_PRIN_READ_RESERVATION), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(vt_scsi_get64(&g_data[8]), 0xcc);
	CU_ASSERT_EQUAL(prin(g_l.b, VT_SCSI_PRIN_READ_KEYS), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(vt_scsi_get32(&g_data[4]), 8);
	CU_ASSERT_EQUAL(run_class(g_l.c, CLASS_WRITE), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(run_class(g_l.a, CLASS_WRITE), VT_SCSI_STATUS_RESERVATION_CONFLICT);
	CU_ASSERT_EQUAL(prout(g_l.c, VT_SCSI_PROUT_CLEAR, 0, 0xcc, 0), 0);
	lu_teardown();
}

/* ---- PERSISTENT RESERVE OUT: every service action x reservation type x standing -------------- */

enum standing { ST_HOLDER, ST_REGISTERED, ST_WRONG_KEY, ST_UNREGISTERED, ST_COUNT };

static const char *const g_standing_names[] = { "holder", "registered", "registered, wrong key",
						"not registered" };

/* SPC-4 5.9.x and 6.17 (PERSISTENT RESERVE OUT): GOOD or RESERVATION CONFLICT for service action
 * sa (RESERVE and RELEASE of the reservation's own type) issued by a nexus of standing st while
 * A holds a reservation of type, B is registered and C is not. */
static uint8_t
expect_prout(uint8_t type, enum standing st, uint8_t sa)
{
	bool all_regs = type == VT_SCSI_PR_WRITE_EXCLUSIVE_ALL_REGS ||
			type == VT_SCSI_PR_EXCLUSIVE_ACCESS_ALL_REGS;
	/* Under an all-registrants type every registrant holds the reservation. */
	bool holder = st == ST_HOLDER || (st == ST_REGISTERED && all_regs);
	bool ok;

	switch (sa) {
	case VT_SCSI_PROUT_REGISTER_AND_IGNORE:
		ok = true; /* the key is not checked */
		break;
	case VT_SCSI_PROUT_REGISTER:
		/* The key must match: the registered key, or zero when unregistered. */
		ok = st != ST_WRONG_KEY;
		break;
	case VT_SCSI_PROUT_RESERVE:
		/* Only a holder restates the reservation (same type and scope). */
		ok = holder;
		break;
	case VT_SCSI_PROUT_RELEASE:
	case VT_SCSI_PROUT_CLEAR:
	case VT_SCSI_PROUT_PREEMPT:
	case VT_SCSI_PROUT_PREEMPT_AND_ABORT:
		/* A registered nexus with its key (RELEASE by a non-holder does nothing, GOOD). */
		ok = st == ST_HOLDER || st == ST_REGISTERED;
		break;
	default: /* REGISTER AND MOVE: the holder of a single-holder reservation only */
		ok = st == ST_HOLDER && !all_regs;
		break;
	}
	return ok ? VT_SCSI_STATUS_GOOD : VT_SCSI_STATUS_RESERVATION_CONFLICT;
}

static uint32_t
pr_generation(struct vt_scsi_port *port)
{
	CU_ASSERT_EQUAL(prin(port, VT_SCSI_PRIN_READ_KEYS), VT_SCSI_STATUS_GOOD);
	return vt_scsi_get32(g_data);
}

/* A (t1) holds a reservation of type with key 0xa, B (t2) is registered with 0xb, C (t2) not;
 * no unit attention pending. */
static void
prout_matrix_state(uint8_t type)
{
	struct ut_cmd c;

	/* Whatever the last cell left (unit attentions too): A registers again (ignoring its
	 * key) and clears. */
	ut_clear_ua(g_l.a);
	CU_ASSERT_EQUAL(prout(g_l.a, VT_SCSI_PROUT_REGISTER_AND_IGNORE, 0, 0, 0xa), 0);
	CU_ASSERT_EQUAL(prout(g_l.a, VT_SCSI_PROUT_CLEAR, 0, 0xa, 0), 0);
	ut_clear_ua(g_l.a);
	ut_clear_ua(g_l.b);
	ut_clear_ua(g_l.c);
	CU_ASSERT_EQUAL(prout_ext(g_l.a, VT_SCSI_PROUT_REGISTER, 0, 0, 0xa, 0, &c), 0);
	CU_ASSERT_EQUAL(prout_ext(g_l.b, VT_SCSI_PROUT_REGISTER, 0, 0, 0xb, 0, &c), 0);
	CU_ASSERT_EQUAL(prout_ext(g_l.a, VT_SCSI_PROUT_RESERVE, type, 0xa, 0, 0, &c), 0);
}

/* Issues service action sa from port with key; PREEMPT names other's key, REGISTER AND MOVE
 * moves to C on t2; TYPE is the reservation's, zero where the action does not use it. */
static uint8_t
prout_cell(struct vt_scsi_port *port, uint8_t type, uint8_t sa, uint64_t key, uint64_t other,
	   struct ut_cmd *c)
{
	bool preempt = sa == VT_SCSI_PROUT_PREEMPT || sa == VT_SCSI_PROUT_PREEMPT_AND_ABORT;
	bool typed = preempt || sa == VT_SCSI_PROUT_RESERVE || sa == VT_SCSI_PROUT_RELEASE;

	if (sa == VT_SCSI_PROUT_REGISTER_AND_MOVE) {
		return register_and_move(port, key, 0xcc, vt_scsi_dev_get_rtpi(g_l.t2), INI_C, 0);
	}
	return prout_ext(port, sa, typed ? type : 0, key, preempt ? other : 0x77, 0, c);
}

static void
every_prout_service_action_by_type_and_standing(void)
{
	static const uint8_t types[] = {
		VT_SCSI_PR_WRITE_EXCLUSIVE,           VT_SCSI_PR_EXCLUSIVE_ACCESS,
		VT_SCSI_PR_WRITE_EXCLUSIVE_REGS_ONLY, VT_SCSI_PR_EXCLUSIVE_ACCESS_REGS_ONLY,
		VT_SCSI_PR_WRITE_EXCLUSIVE_ALL_REGS,  VT_SCSI_PR_EXCLUSIVE_ACCESS_ALL_REGS,
	};
	static const uint8_t sas[] = {
		VT_SCSI_PROUT_REGISTER,
		VT_SCSI_PROUT_REGISTER_AND_IGNORE,
		VT_SCSI_PROUT_RESERVE,
		VT_SCSI_PROUT_RELEASE,
		VT_SCSI_PROUT_CLEAR,
		VT_SCSI_PROUT_PREEMPT,
		VT_SCSI_PROUT_PREEMPT_AND_ABORT,
		VT_SCSI_PROUT_REGISTER_AND_MOVE,
	};
	uint32_t cells = 0;

	lu_setup();
	for (uint32_t t = 0; t < VT_COUNTOF(types); t++) {
		for (int st = 0; st < ST_COUNT; st++) {
			for (uint32_t i = 0; i < VT_COUNTOF(sas); i++) {
				/* The issuer, its key, and a key of another registrant. */
				struct vt_scsi_port *port = st == ST_HOLDER         ? g_l.a
							    : st == ST_UNREGISTERED ? g_l.c
										    : g_l.b;
				uint64_t key = st == ST_HOLDER       ? 0xa
					       : st == ST_REGISTERED ? 0xb
					       : st == ST_WRONG_KEY  ? 0xbad
								     : 0;
				uint64_t other = st == ST_HOLDER ? 0xb : 0xa;
				uint8_t want = expect_prout(types[t], st, sas[i]);
				uint32_t gen;
				uint8_t got;
				struct ut_cmd c;

				prout_matrix_state(types[t]);
				gen = pr_generation(
					port); /* PERSISTENT RESERVE IN: always allowed */
				got = prout_cell(port, types[t], sas[i], key, other, &c);
				if (got != want) {
					fprintf(stderr,
						"type %#x, %s, service action %#x: %#x (%06x), not %#x\n",
						types[t], g_standing_names[st], sas[i], got,
						ut_sense(&c.task), want);
				}
				CU_ASSERT_EQUAL(got, want);
				/* A conflict changes nothing. */
				if (want == VT_SCSI_STATUS_RESERVATION_CONFLICT) {
					CU_ASSERT_EQUAL(pr_generation(port), gen);
				}
				cells++;
			}
		}
	}
	CU_ASSERT_EQUAL(cells, 6 * ST_COUNT * 8);
	prout_matrix_state(VT_SCSI_PR_WRITE_EXCLUSIVE);
	CU_ASSERT_EQUAL(prout(g_l.a, VT_SCSI_PROUT_CLEAR, 0, 0xa, 0), 0);
	lu_teardown();
}

static void
aptpl_state_survives_the_logical_unit(void)
{
	char dir[] = "/tmp/vt_pr_ut.XXXXXX";
	char path[256];
	struct stat st;
	struct ut_cmd c;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	CU_ASSERT_EQUAL(vt_scsi_set_pr_dir(dir), 0);
	snprintf(path, sizeof(path), "%s/ut_lu.pr", dir);
	lu_setup();
	CU_ASSERT_EQUAL(prout_ext(g_l.a, VT_SCSI_PROUT_REGISTER, 0, 0, 0xa, 0x01, &c), 0);
	CU_ASSERT_EQUAL(prout_ext(g_l.b, VT_SCSI_PROUT_REGISTER, 0, 0, 0xb, 0x01, &c), 0);
	CU_ASSERT_EQUAL(
		prout(g_l.a, VT_SCSI_PROUT_RESERVE, VT_SCSI_PR_WRITE_EXCLUSIVE_REGS_ONLY, 0xa, 0),
		0);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(prin(g_l.a, VT_SCSI_PRIN_REPORT_CAPABILITIES), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(g_data[3] & 0x01, 0x01); /* PTPL_A */
	/* Every path goes: the logical unit is gone, the file stays. */
	CU_ASSERT_EQUAL(vt_scsi_port_destroy(g_l.a), 0);
	CU_ASSERT_EQUAL(vt_scsi_port_destroy(g_l.b), 0);
	CU_ASSERT_EQUAL(vt_scsi_port_destroy(g_l.c), 0);
	lu_remove(g_l.t1);
	lu_remove(g_l.t2);
	/* The first path back loads it: same keys, same holder, same type. */
	lu_add(g_l.t2);
	g_l.b = vt_scsi_port_create(g_l.t2, INI_B);
	g_l.c = vt_scsi_port_create(g_l.t2, INI_C);
	ut_clear_ua(g_l.b);
	ut_clear_ua(g_l.c);
	CU_ASSERT_EQUAL(run_class(g_l.c, CLASS_WRITE), VT_SCSI_STATUS_RESERVATION_CONFLICT);
	CU_ASSERT_EQUAL(run_class(g_l.b, CLASS_WRITE), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(prin(g_l.b, VT_SCSI_PRIN_READ_RESERVATION), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(vt_scsi_get64(&g_data[8]), 0xa);
	CU_ASSERT_EQUAL(g_data[21], VT_SCSI_PR_WRITE_EXCLUSIVE_REGS_ONLY);
	CU_ASSERT_EQUAL(prin(g_l.b, VT_SCSI_PRIN_READ_KEYS), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(vt_scsi_get32(&g_data[4]), 16);
	CU_ASSERT_EQUAL(prin(g_l.b, VT_SCSI_PRIN_REPORT_CAPABILITIES), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(g_data[3] & 0x01, 0x01);
	lu_add(g_l.t1);
	g_l.a = vt_scsi_port_create(g_l.t1, INI_A);
	ut_clear_ua(g_l.a);
	CU_ASSERT_EQUAL(run_class(g_l.a, CLASS_WRITE), VT_SCSI_STATUS_GOOD);
	/* A registration without APTPL turns it off: the file goes. */
	CU_ASSERT_EQUAL(prout_ext(g_l.b, VT_SCSI_PROUT_REGISTER, 0, 0xb, 0xbb, 0x00, &c), 0);
	CU_ASSERT_NOT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(prin(g_l.b, VT_SCSI_PRIN_REPORT_CAPABILITIES), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(g_data[3] & 0x01, 0x00);
	CU_ASSERT_EQUAL(prout(g_l.a, VT_SCSI_PROUT_CLEAR, 0, 0xa, 0), 0);
	lu_teardown();
	vt_scsi_set_pr_dir(NULL);
	CU_ASSERT_EQUAL(rmdir(dir), 0);
}

/* Finds the designator of code set / association+type in a VPD 83h page; NULL if absent. */
static const uint8_t *
vpd83_find(const uint8_t *page, uint8_t assoc_type)
{
	uint32_t len = vt_scsi_get16(&page[2]);

	for (uint32_t off = 4; off + 4 <= 4 + len; off += 4u + page[off + 3]) {
		if ((page[off + 1] & 0x3f) == assoc_type) {
			return &page[off];
		}
	}
	return NULL;
}

static void
vpd83(struct vt_scsi_port *port, uint8_t *page)
{
	uint8_t cdb[6] = { VT_SCSI_OP_INQUIRY, 0x01, VT_SCSI_VPD_DEVICE_ID, 0x02, 0x00, 0 };
	struct ut_cmd c;

	CU_ASSERT_EQUAL(ut_run(&c, port, 0, cdb, 6, IN, page, 512), VT_SCSI_STATUS_GOOD);
}

static void
every_path_shows_one_logical_unit_and_its_own_port(void)
{
	uint8_t pa[512], pb[512], inq[96];
	uint8_t std[6] = { VT_SCSI_OP_INQUIRY, 0, 0, 0, 96, 0 };
	uint8_t rtpg[12] = { VT_SCSI_OP_MAINTENANCE_IN,
			     0x20 | VT_SCSI_MI_REPORT_TARGET_PORT_GROUPS,
			     0,
			     0,
			     0,
			     0,
			     0,
			     0,
			     0x02,
			     0,
			     0,
			     0 };
	const uint8_t *naa_a, *naa_b, *rp_a, *rp_b, *tpg_a;
	uint16_t r1, r2;
	struct ut_cmd c;

	lu_setup();
	r1 = vt_scsi_dev_get_rtpi(g_l.t1);
	r2 = vt_scsi_dev_get_rtpi(g_l.t2);
	vpd83(g_l.a, pa);
	vpd83(g_l.b, pb);
	/* The same NAA designator (logical unit, type 3h) on both paths, from the bdev's UUID. */
	naa_a = vpd83_find(pa, 0x03);
	naa_b = vpd83_find(pb, 0x03);
	CU_ASSERT_FATAL(naa_a != NULL && naa_b != NULL);
	CU_ASSERT_EQUAL(naa_a[4] >> 4, 0x6);
	CU_ASSERT_EQUAL(memcmp(naa_a, naa_b, 4 + naa_a[3]), 0);
	/* Relative target port (target port association, 14h) and target port group (15h). */
	rp_a = vpd83_find(pa, 0x14);
	rp_b = vpd83_find(pb, 0x14);
	tpg_a = vpd83_find(pa, 0x15);
	CU_ASSERT_FATAL(rp_a != NULL && rp_b != NULL && tpg_a != NULL);
	CU_ASSERT_EQUAL(vt_scsi_get16(&rp_a[6]), r1);
	CU_ASSERT_EQUAL(vt_scsi_get16(&rp_b[6]), r2);
	CU_ASSERT_EQUAL(vt_scsi_get16(&tpg_a[6]), r1);
	/* INQUIRY: TPGS 01b, implicit ALUA. */
	CU_ASSERT_EQUAL(ut_run(&c, g_l.b, 0, std, 6, IN, inq, 96), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(inq[5] & 0x30, 0x10);
	/* REPORT TARGET PORT GROUPS (extended header): both paths, active/optimized. */
	CU_ASSERT_EQUAL(ut_run(&c, g_l.a, 0, rtpg, 12, IN, g_data, 512), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(vt_scsi_get32(g_data), 4 + 2 * 12);
	CU_ASSERT_EQUAL(g_data[4], 0x10);
	for (int i = 0; i < 2; i++) {
		const uint8_t *d = &g_data[8 + 12 * i];

		CU_ASSERT_EQUAL(d[0] & 0x0f, 0x0); /* active/optimized */
		CU_ASSERT_EQUAL(d[1] & 0x01, 0x01);
		CU_ASSERT_EQUAL(d[7], 1);
		CU_ASSERT_EQUAL(vt_scsi_get16(&d[2]), vt_scsi_get16(&d[10]));
		CU_ASSERT_EQUAL(vt_scsi_get16(&d[10]), i == 0 ? r1 : r2);
	}
	/* Allowed under a reservation that fences the asker. */
	CU_ASSERT_EQUAL(prout(g_l.a, VT_SCSI_PROUT_REGISTER, 0, 0, 0xa), 0);
	CU_ASSERT_EQUAL(prout(g_l.a, VT_SCSI_PROUT_RESERVE, VT_SCSI_PR_EXCLUSIVE_ACCESS, 0xa, 0),
			0);
	rtpg[1] = VT_SCSI_MI_REPORT_TARGET_PORT_GROUPS; /* length-only header */
	CU_ASSERT_EQUAL(ut_run(&c, g_l.c, 0, rtpg, 12, IN, g_data, 512), VT_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(vt_scsi_get32(g_data), 2 * 12);
	CU_ASSERT_EQUAL(vt_scsi_get16(&g_data[4 + 2]), r1);
	CU_ASSERT_EQUAL(prout(g_l.a, VT_SCSI_PROUT_CLEAR, 0, 0xa, 0), 0);
	lu_teardown();
}

int
main(void)
{
	CU_pSuite s;

	CU_initialize_registry();
	s = CU_add_suite("scsi_pr_lu", ut_reactor_suite_init, ut_reactor_suite_fini);
	CU_ADD_TEST(s, every_type_class_and_standing_across_target_ports);
	CU_ADD_TEST(s, every_prout_service_action_by_type_and_standing);
	CU_ADD_TEST(s, unit_attentions_reach_the_nexuses_of_the_other_target_port);
	CU_ADD_TEST(s, spc2_reservation_and_full_status_span_target_ports);
	CU_ADD_TEST(s, register_and_move_hands_the_reservation_to_another_nexus);
	CU_ADD_TEST(s, aptpl_state_survives_the_logical_unit);
	CU_ADD_TEST(s, every_path_shows_one_logical_unit_and_its_own_port);
	return ut_run_tests();
}
