/* SPDX-License-Identifier: BSD-3-Clause */
#include <CUnit/Basic.h>
#include <pthread.h>
#include <sched.h>

#include "lib/event/msg_ring.c"
#include "test/unit/common/ut_main.h"

static void
fn_a(void *arg)
{
}

static void
fn_b(void *arg)
{
}

static void
msg_ring_init_rejects_size_not_power_of_two(void)
{
	struct msg_ring ring;

	CU_ASSERT_EQUAL(msg_ring_init(&ring, 0), -EINVAL);
	CU_ASSERT_EQUAL(msg_ring_init(&ring, 100), -EINVAL);
}

static void
msg_ring_returns_messages_in_fifo_order(void)
{
	struct msg_ring ring;
	vt_msg_fn fn;
	void *arg;
	uintptr_t i;

	CU_ASSERT_EQUAL_FATAL(msg_ring_init(&ring, 16), 0);
	CU_ASSERT_TRUE(msg_ring_empty(&ring));
	CU_ASSERT_FALSE(msg_ring_dequeue(&ring, &fn, &arg));
	for (i = 0; i < 10; i++) {
		CU_ASSERT_EQUAL(msg_ring_enqueue(&ring, i % 2 ? fn_b : fn_a, (void *)i), 0);
	}
	CU_ASSERT_FALSE(msg_ring_empty(&ring));
	for (i = 0; i < 10; i++) {
		CU_ASSERT_TRUE(msg_ring_dequeue(&ring, &fn, &arg));
		CU_ASSERT_PTR_EQUAL(arg, (void *)i);
		CU_ASSERT(fn == (i % 2 ? fn_b : fn_a));
	}
	CU_ASSERT_TRUE(msg_ring_empty(&ring));
	msg_ring_fini(&ring);
}

static void
msg_ring_full_returns_enomem_until_drained(void)
{
	struct msg_ring ring;
	vt_msg_fn fn;
	void *arg;
	uintptr_t i;

	CU_ASSERT_EQUAL_FATAL(msg_ring_init(&ring, 8), 0);
	for (i = 0; i < 8; i++) {
		CU_ASSERT_EQUAL(msg_ring_enqueue(&ring, fn_a, (void *)i), 0);
	}
	CU_ASSERT_EQUAL(msg_ring_enqueue(&ring, fn_a, (void *)i), -ENOMEM);
	CU_ASSERT_TRUE(msg_ring_dequeue(&ring, &fn, &arg));
	CU_ASSERT_PTR_EQUAL(arg, (void *)0);
	CU_ASSERT_EQUAL(msg_ring_enqueue(&ring, fn_a, (void *)8), 0);
	CU_ASSERT_EQUAL(msg_ring_enqueue(&ring, fn_a, (void *)9), -ENOMEM);
	for (i = 1; i <= 8; i++) {
		CU_ASSERT_TRUE(msg_ring_dequeue(&ring, &fn, &arg));
		CU_ASSERT_PTR_EQUAL(arg, (void *)i);
	}
	CU_ASSERT_FALSE(msg_ring_dequeue(&ring, &fn, &arg));
	msg_ring_fini(&ring);
}

static void
msg_ring_wraps_around_many_laps(void)
{
	struct msg_ring ring;
	vt_msg_fn fn;
	void *arg;
	uintptr_t i, next = 0;
	bool ok = true;

	CU_ASSERT_EQUAL_FATAL(msg_ring_init(&ring, 4), 0);
	for (i = 0; i < 1000; i++) {
		ok &= msg_ring_enqueue(&ring, fn_a, (void *)i) == 0;
		if (i % 3 == 2) {
			while (msg_ring_dequeue(&ring, &fn, &arg)) {
				ok &= arg == (void *)next++;
			}
		}
	}
	while (msg_ring_dequeue(&ring, &fn, &arg)) {
		ok &= arg == (void *)next++;
	}
	CU_ASSERT_TRUE(ok);
	CU_ASSERT_EQUAL(next, 1000);
	msg_ring_fini(&ring);
}

#define MP_PRODUCERS 3
#define MP_PER_PRODUCER 50000

struct producer {
	struct msg_ring *ring;
	uintptr_t id;
};

static void *
produce(void *arg)
{
	struct producer *p = arg;
	uintptr_t i;

	for (i = 0; i < MP_PER_PRODUCER; i++) {
		/* arg encodes producer id and sequence. */
		while (msg_ring_enqueue(p->ring, fn_a, (void *)(p->id << 32 | i)) != 0) {
			sched_yield();
		}
	}
	return NULL;
}

static void
msg_ring_keeps_each_producer_order_with_concurrent_producers(void)
{
	struct producer prod[MP_PRODUCERS];
	pthread_t th[MP_PRODUCERS];
	uint64_t next[MP_PRODUCERS] = {};
	struct msg_ring ring;
	uint64_t total = 0, v;
	bool ok = true;
	vt_msg_fn fn;
	void *arg;
	int i;

	CU_ASSERT_EQUAL_FATAL(msg_ring_init(&ring, 256), 0);
	for (i = 0; i < MP_PRODUCERS; i++) {
		prod[i].ring = &ring;
		prod[i].id = (uintptr_t)i;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, produce, &prod[i]), 0);
	}
	while (total < (uint64_t)MP_PRODUCERS * MP_PER_PRODUCER) {
		if (!msg_ring_dequeue(&ring, &fn, &arg)) {
			sched_yield();
			continue;
		}
		v = (uintptr_t)arg;
		ok &= (v >> 32) < MP_PRODUCERS && (v & 0xffffffffu) == next[v >> 32];
		if ((v >> 32) < MP_PRODUCERS) {
			next[v >> 32]++;
		}
		total++;
	}
	for (i = 0; i < MP_PRODUCERS; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT_EQUAL(next[i], MP_PER_PRODUCER);
	}
	CU_ASSERT_TRUE(ok);
	CU_ASSERT_TRUE(msg_ring_empty(&ring));
	msg_ring_fini(&ring);
}

int
main(void)
{
	CU_pSuite suite;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("msg_ring", NULL, NULL);
	CU_ADD_TEST(suite, msg_ring_init_rejects_size_not_power_of_two);
	CU_ADD_TEST(suite, msg_ring_returns_messages_in_fifo_order);
	CU_ADD_TEST(suite, msg_ring_full_returns_enomem_until_drained);
	CU_ADD_TEST(suite, msg_ring_wraps_around_many_laps);
	CU_ADD_TEST(suite, msg_ring_keeps_each_producer_order_with_concurrent_producers);

	return ut_run_tests();
}
