/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * QoS rate limits of a bdev (bdev_set_qos_limit): I/O per second for reads and writes together,
 * and bytes per second for reads and writes together, reads alone and writes alone.
 *
 * One set of token buckets per bdev, shared by every reactor that submits to it, so the limits
 * hold in total whatever the number of reactors. A bucket fills continuously at its rate, up to
 * BDEV_QOS_BURST_US worth of tokens; an I/O passes when every bucket it draws from holds a
 * positive amount and then takes its whole cost, which may leave a bucket in debt (so an I/O
 * larger than a burst still passes, and the long-run rate is exact). A spinlock protects the
 * buckets; it is taken only by bdevs with a limit, once per I/O (and once per queued I/O and
 * timeslice).
 *
 * An I/O that cannot pass waits on its channel's qos_q, in submission order: a later I/O of the
 * same channel never overtakes it. A timed poller per channel, every BDEV_QOS_TIMESLICE_US while
 * the queue holds I/O, starts the queued I/O the buckets allow; when the limits are removed it
 * starts them all, when the bdev is being removed it fails them (ABORTED), and a reset aborts
 * them (bdev_io.c). Between channels (reactors) there is no order: the tokens go to whichever
 * asks first, and each asks at least once per timeslice.
 *
 * Only READ and WRITE are limited, as in SPDK; the other types pass untouched.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/event.h"
#include "vt/log.h"
#include "vt/util.h"

#include "lib/bdev/bdev_internal.h"

static const char *const g_qos_limit_names[BDEV_QOS_NUM_LIMITS] = {
	[BDEV_QOS_RW_IOPS] = "rw_ios_per_sec",
	[BDEV_QOS_RW_BPS] = "rw_mbytes_per_sec",
	[BDEV_QOS_R_BPS] = "r_mbytes_per_sec",
	[BDEV_QOS_W_BPS] = "w_mbytes_per_sec",
};

/* The clock; unit tests replace it. */
uint64_t (*g_bdev_qos_now)(void) = vt_get_ticks;

const char *
bdev_qos_limit_name(enum bdev_qos_limit type)
{
	return g_qos_limit_names[type];
}

int
bdev_qos_check_limit(enum bdev_qos_limit type, uint64_t value)
{
	if (type == BDEV_QOS_RW_IOPS) {
		if (value % BDEV_QOS_MIN_IOS_PER_SEC != 0 || value > BDEV_QOS_MAX_IOS_PER_SEC) {
			return -EINVAL;
		}
	} else if (value > BDEV_QOS_MAX_MBYTES_PER_SEC) {
		return -EINVAL;
	}
	return 0;
}

/* Under the lock: fills every bucket for the time since the last fill. */
static void
qos_refill(struct bdev_qos *qos, uint64_t now)
{
	uint64_t dt;

	/* A reactor may bring a time read before another's that got the lock first. */
	if (now <= qos->last_ticks) {
		return;
	}
	dt = now - qos->last_ticks;
	qos->last_ticks = now;
	for (int i = 0; i < BDEV_QOS_NUM_LIMITS; i++) {
		struct bdev_qos_bucket *b = &qos->buckets[i];

		if (b->rate_per_tick == 0) {
			continue;
		}
		b->avail += (double)dt * b->rate_per_tick;
		if (b->avail > b->burst) {
			b->avail = b->burst;
		}
	}
}

static inline bool
qos_bucket_empty(const struct bdev_qos_bucket *b)
{
	return b->rate_per_tick != 0 && b->avail <= 0;
}

static inline void
qos_bucket_take(struct bdev_qos_bucket *b, double cost)
{
	if (b->rate_per_tick != 0) {
		b->avail -= cost;
	}
}

bool
bdev_qos_admit(struct bdev_qos *qos, bool read, uint64_t bytes, uint64_t now)
{
	struct bdev_qos_bucket *dir = &qos->buckets[read ? BDEV_QOS_R_BPS : BDEV_QOS_W_BPS];
	bool pass;

	pthread_spin_lock(&qos->lock);
	qos_refill(qos, now);
	pass = !qos_bucket_empty(&qos->buckets[BDEV_QOS_RW_IOPS]) &&
	       !qos_bucket_empty(&qos->buckets[BDEV_QOS_RW_BPS]) && !qos_bucket_empty(dir);
	if (pass) {
		qos_bucket_take(&qos->buckets[BDEV_QOS_RW_IOPS], 1);
		qos_bucket_take(&qos->buckets[BDEV_QOS_RW_BPS], (double)bytes);
		qos_bucket_take(dir, (double)bytes);
	}
	pthread_spin_unlock(&qos->lock);
	return pass;
}

void
bdev_qos_init(struct bdev_qos *qos)
{
	memset(qos, 0, sizeof(*qos));
	pthread_spin_init(&qos->lock, PTHREAD_PROCESS_PRIVATE);
}

void
bdev_qos_fini(struct bdev_qos *qos)
{
	pthread_spin_destroy(&qos->lock);
}

/* Per-second value of a limit as the buckets count it: I/O or bytes. */
static double
qos_limit_rate(enum bdev_qos_limit type, uint64_t value)
{
	return type == BDEV_QOS_RW_IOPS ? (double)value : (double)value * 1024 * 1024;
}

bool
bdev_qos_set(struct bdev_qos *qos, const uint64_t limits[BDEV_QOS_NUM_LIMITS], uint64_t now)
{
	bool any = false;

	pthread_spin_lock(&qos->lock);
	qos_refill(qos, now);
	for (int i = 0; i < BDEV_QOS_NUM_LIMITS; i++) {
		struct bdev_qos_bucket *b = &qos->buckets[i];
		double rate;

		if (limits[i] == BDEV_QOS_LIMIT_KEEP || limits[i] == qos->limits[i]) {
			any = any || qos->limits[i] != 0;
			continue;
		}
		qos->limits[i] = limits[i];
		rate = qos_limit_rate(i, limits[i]);
		b->rate_per_tick = rate / (double)VT_TICKS_HZ;
		b->burst = rate * BDEV_QOS_BURST_US / 1e6;
		/* A new rate starts empty: no burst of the old rate's savings. */
		b->avail = 0;
		any = any || limits[i] != 0;
	}
	pthread_spin_unlock(&qos->lock);
	return any;
}

void
bdev_qos_get(struct bdev_qos *qos, uint64_t limits[BDEV_QOS_NUM_LIMITS])
{
	pthread_spin_lock(&qos->lock);
	memcpy(limits, qos->limits, sizeof(qos->limits));
	pthread_spin_unlock(&qos->lock);
}

/* ---- the channel side --------------------------------------------------------------------- */

static inline bool
qos_limited_type(uint8_t type)
{
	return type == VT_BDEV_IO_TYPE_READ || type == VT_BDEV_IO_TYPE_WRITE;
}

static inline bool
qos_admit_bio(struct bdev_qos *qos, struct bdev_io_internal *bio, uint64_t now)
{
	return bdev_qos_admit(qos, bio->utype == VT_BDEV_IO_TYPE_READ,
			      bio->io.num_blocks * bio->ch->bdev->blocklen, now);
}

/*
 * Starts, in order, what the limits allow of ch's queue; fails it all when the bdev is being
 * removed and starts it all when the limits are gone. Returns how many left the queue.
 */
static uint32_t
qos_release(struct vt_bdev_channel *ch)
{
	struct bdev_internal *bi = ch->bi;
	bool removing = atomic_load_explicit(&bi->removing, memory_order_relaxed);
	bool on = atomic_load_explicit(&bi->qos_on, memory_order_acquire);
	uint64_t now = g_bdev_qos_now();
	struct bdev_io_internal *bio;
	uint32_t n = 0;

	while ((bio = TAILQ_FIRST(&ch->qos_q)) != NULL) {
		if (!removing && on && !qos_admit_bio(bi->qos, bio, now)) {
			break;
		}
		TAILQ_REMOVE(&ch->qos_q, bio, link);
		n++;
		if (removing) {
			bio->status = VT_BDEV_IO_STATUS_ABORTED;
			bdev_io_done(bio);
		} else {
			bdev_io_start(bio);
		}
	}
	return n;
}

static int
qos_poll(void *arg)
{
	struct vt_bdev_channel *ch = arg;
	uint32_t n = qos_release(ch);

	if (TAILQ_EMPTY(&ch->qos_q)) {
		vt_poller_unregister(&ch->qos_poller);
	}
	return n != 0 ? VT_POLLER_BUSY : VT_POLLER_IDLE;
}

bool
bdev_qos_hold(struct bdev_io_internal *bio)
{
	struct vt_bdev_channel *ch = bio->ch;
	struct bdev_internal *bi = ch->bi;

	if (!qos_limited_type(bio->utype)) {
		return false;
	}
	if (TAILQ_EMPTY(&ch->qos_q)) {
		/* Limits just removed (the queue is empty: nothing to keep the order of). */
		if (!atomic_load_explicit(&bi->qos_on, memory_order_acquire) ||
		    qos_admit_bio(bi->qos, bio, g_bdev_qos_now())) {
			return false;
		}
	}
	bio->state = BIO_QOS;
	TAILQ_INSERT_TAIL(&ch->qos_q, bio, link);
	if (ch->qos_poller == NULL) {
		ch->qos_poller =
			vt_poller_register(qos_poll, ch, BDEV_QOS_TIMESLICE_US, "bdev_qos");
		if (ch->qos_poller == NULL) {
			/* Nothing would release it: let it pass rather than hang. */
			VT_ERRLOG(
				"cannot register the qos poller of bdev '%s': I/O passes unlimited\n",
				ch->bdev->name);
			TAILQ_REMOVE(&ch->qos_q, bio, link);
			return false;
		}
	}
	return true;
}

void
bdev_qos_channel_fini(struct vt_bdev_channel *ch)
{
	assert(TAILQ_EMPTY(&ch->qos_q));
	vt_poller_unregister(&ch->qos_poller);
}

/* ---- per bdev ----------------------------------------------------------------------------- */

int
bdev_qos_set_limits(struct bdev_internal *bi, const uint64_t limits[BDEV_QOS_NUM_LIMITS])
{
	struct bdev_qos *qos;
	bool on;

	pthread_mutex_lock(&g_bdev_mutex);
	qos = bi->qos;
	if (qos == NULL) {
		qos = malloc(sizeof(*qos));
		if (qos == NULL) {
			pthread_mutex_unlock(&g_bdev_mutex);
			return -ENOMEM;
		}
		bdev_qos_init(qos);
		bi->qos = qos;
	}
	on = bdev_qos_set(qos, limits, g_bdev_qos_now());
	/* Release: a submitter that sees qos_on also sees bi->qos and its buckets. */
	atomic_store_explicit(&bi->qos_on, on, memory_order_release);
	pthread_mutex_unlock(&g_bdev_mutex);
	return 0;
}

void
bdev_qos_get_limits(struct bdev_internal *bi, uint64_t limits[BDEV_QOS_NUM_LIMITS])
{
	if (bi->qos == NULL) {
		memset(limits, 0, sizeof(uint64_t) * BDEV_QOS_NUM_LIMITS);
		return;
	}
	bdev_qos_get(bi->qos, limits);
}

void
bdev_qos_free(struct bdev_internal *bi)
{
	if (bi->qos != NULL) {
		bdev_qos_fini(bi->qos);
		free(bi->qos);
		bi->qos = NULL;
	}
}
