/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The file module's worker thread: runs the blocking calls libaio has no asynchronous form for
 * (fdatasync: IO_CMD_FDSYNC is refused by most filesystems; fallocate), the lseek(SEEK_DATA /
 * SEEK_HOLE) of GET_LBA_STATUS (neither engine has it; it can wait on the filesystem) and the
 * final fdatasync + close of a deleted bdev, so that no reactor ever blocks. Jobs are handled one
 * at a time in FIFO order; each result is posted back to the job's reactor with vt_send_msg.
 */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "vt/log.h"
#include "vt/util.h"
#include "lib/bdev/file/bdev_file.h"

static pthread_mutex_t g_worker_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_worker_cond = PTHREAD_COND_INITIALIZER;
static TAILQ_HEAD(, file_job) g_worker_jobs = TAILQ_HEAD_INITIALIZER(g_worker_jobs);
static pthread_t g_worker_thread;
static bool g_worker_running;
static bool g_worker_stopping;

/*
 * Where the data and the holes are from job->off on. An error other than ENXIO (no data at or
 * after off: a hole to the end) means the file cannot tell (a block device, a filesystem without
 * SEEK_DATA): the range counts as data, i.e. mapped.
 */
static void
worker_seek_data(struct file_job *job)
{
	off_t data = lseek(job->fd, (off_t)job->off, SEEK_DATA);
	off_t end;

	job->result = 0;
	job->hole = false;
	job->run = job->len;
	if (data < 0) {
		job->hole = errno == ENXIO;
		return;
	}
	if ((uint64_t)data > job->off) {
		job->hole = true;
		job->run = VT_MIN((uint64_t)data - job->off, job->len);
		return;
	}
	end = lseek(job->fd, (off_t)job->off, SEEK_HOLE);
	if (end > data) {
		job->run = VT_MIN((uint64_t)end - job->off, job->len);
	}
}

void
file_worker_run_job(struct file_job *job)
{
	int rc = 0;

	switch (job->op) {
	case FILE_JOB_FDATASYNC:
		rc = fdatasync(job->fd);
		break;
	case FILE_JOB_FALLOCATE:
		rc = fallocate(job->fd, job->mode, (off_t)job->off, (off_t)job->len);
		break;
	case FILE_JOB_CLOSE:
		if (job->sync_first && fdatasync(job->fd) != 0) {
			job->result = -errno;
			close(job->fd);
			return;
		}
		rc = close(job->fd);
		break;
	case FILE_JOB_SEEK_DATA:
		worker_seek_data(job);
		return;
	}
	job->result = rc == 0 ? 0 : -errno;
}

/* Hands the finished job back to its reactor; waits while that reactor's ring is full. */
static void
worker_post(struct file_job *job)
{
	const struct timespec pause = { .tv_nsec = 100 * 1000 };
	int rc;

	while ((rc = vt_send_msg(job->reactor, job->done, job)) == -ENOMEM) {
		nanosleep(&pause, NULL);
	}
	if (rc != 0) {
		VT_ERRLOG("cannot post file job result to reactor %u: %s\n", job->reactor,
			  vt_strerror(-rc));
	}
}

static void *
worker_main(void *arg)
{
	struct file_job *job;

	pthread_mutex_lock(&g_worker_lock);
	for (;;) {
		job = TAILQ_FIRST(&g_worker_jobs);
		if (job == NULL) {
			if (g_worker_stopping) {
				break;
			}
			pthread_cond_wait(&g_worker_cond, &g_worker_lock);
			continue;
		}
		TAILQ_REMOVE(&g_worker_jobs, job, link);
		pthread_mutex_unlock(&g_worker_lock);
		file_worker_run_job(job);
		worker_post(job);
		pthread_mutex_lock(&g_worker_lock);
	}
	pthread_mutex_unlock(&g_worker_lock);
	return NULL;
}

/* With g_worker_lock held. */
static int
worker_start_locked(void)
{
	int rc;

	if (g_worker_running) {
		return 0;
	}
	rc = pthread_create(&g_worker_thread, NULL, worker_main, NULL);
	if (rc != 0) {
		VT_ERRLOG("cannot start the file bdev worker thread: %s\n", vt_strerror(rc));
		return -rc;
	}
	pthread_setname_np(g_worker_thread, "vt_file_worker");
	g_worker_running = true;
	g_worker_stopping = false;
	return 0;
}

int
file_worker_submit(struct file_job *job)
{
	int rc;

	pthread_mutex_lock(&g_worker_lock);
	rc = worker_start_locked();
	if (rc == 0) {
		TAILQ_INSERT_TAIL(&g_worker_jobs, job, link);
		pthread_cond_signal(&g_worker_cond);
	}
	pthread_mutex_unlock(&g_worker_lock);
	return rc;
}

void
file_worker_stop(void)
{
	bool running;

	pthread_mutex_lock(&g_worker_lock);
	running = g_worker_running;
	g_worker_stopping = true;
	pthread_cond_signal(&g_worker_cond);
	pthread_mutex_unlock(&g_worker_lock);
	if (running) {
		pthread_join(g_worker_thread, NULL);
	}
	pthread_mutex_lock(&g_worker_lock);
	g_worker_running = false;
	g_worker_stopping = false;
	pthread_mutex_unlock(&g_worker_lock);
}
