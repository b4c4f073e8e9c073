/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The slow calls of librados and librbd (connect, open, close, resize, stat) run on a thread of
 * their own, one per job: they are rare, can each wait seconds on the network, and must neither
 * block a reactor nor wait behind one another. The result goes to reactor 0 as a message.
 *
 * A thread inherits the CPU affinity of the thread that creates it, and librados creates its
 * messenger and finisher threads from the connecting thread: a job thread made by reactor 0
 * would pin all of them to reactor 0's core, where a polling reactor starves them. Job threads
 * therefore run on the CPUs no reactor uses (all online CPUs when the reactors use every one).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "vt/log.h"
#include "vt/util.h"
#include "lib/bdev/rbd/bdev_rbd.h"

/* Longest module fini waits for running jobs (a connect gives up after client_mount_timeout). */
#define RBD_JOBS_DRAIN_MS 30000

struct rbd_job {
	void (*work)(void *arg);
	vt_msg_fn done;
	void *arg;
};

static atomic_uint g_rbd_jobs_running;

static void *
rbd_job_main(void *p)
{
	struct rbd_job *job = p;
	const struct timespec pause = { .tv_nsec = 100 * 1000 };
	int rc;

	job->work(job->arg);
	while ((rc = vt_send_msg(0, job->done, job->arg)) == -ENOMEM) {
		nanosleep(&pause, NULL);
	}
	if (rc != 0) {
		VT_ERRLOG("cannot post rbd job result to reactor 0: %s\n", vt_strerror(-rc));
	}
	free(job);
	atomic_fetch_sub(&g_rbd_jobs_running, 1);
	return NULL;
}

/* The online CPUs no reactor runs on, or every online CPU when that leaves none. */
static void
job_cpus(cpu_set_t *set)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	uint32_t reactors = vt_reactor_count();

	CPU_ZERO(set);
	for (long i = 0; i < n && i < CPU_SETSIZE; i++) {
		CPU_SET(i, set);
	}
	for (uint32_t r = 0; r < reactors; r++) {
		CPU_CLR(vt_reactor_core(r), set);
	}
	if (CPU_COUNT(set) == 0) {
		for (long i = 0; i < n && i < CPU_SETSIZE; i++) {
			CPU_SET(i, set);
		}
	}
}

int
rbd_job_start(void (*work)(void *arg), vt_msg_fn done, void *arg)
{
	struct rbd_job *job = calloc(1, sizeof(*job));
	pthread_attr_t attr;
	cpu_set_t cpus;
	pthread_t tid;
	int rc;

	if (job == NULL) {
		return -ENOMEM;
	}
	job->work = work;
	job->done = done;
	job->arg = arg;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	job_cpus(&cpus);
	pthread_attr_setaffinity_np(&attr, sizeof(cpus), &cpus);
	atomic_fetch_add(&g_rbd_jobs_running, 1);
	rc = pthread_create(&tid, &attr, rbd_job_main, job);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		atomic_fetch_sub(&g_rbd_jobs_running, 1);
		free(job);
		VT_ERRLOG("cannot start an rbd job thread: %s\n", vt_strerror(rc));
		return -rc;
	}
	pthread_setname_np(tid, "vt_rbd_job");
	return 0;
}

void
rbd_jobs_drain(void)
{
	const struct timespec pause = { .tv_nsec = 1000 * 1000 };

	for (int i = 0; i < RBD_JOBS_DRAIN_MS && atomic_load(&g_rbd_jobs_running) > 0; i++) {
		nanosleep(&pause, NULL);
	}
}
