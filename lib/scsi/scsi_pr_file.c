/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * APTPL: the persistent reservation state of a logical unit survives a restart of the daemon.
 * A PERSISTENT RESERVE OUT that leaves APTPL on writes the whole state to
 * <folder>/<bdev>.pr (a temporary file, fsync, rename, fsync of the folder); one that turns it
 * off removes the file. The first LUN that exposes the bdev after a restart loads it.
 *
 * The file is text, one record a line, names hex-encoded (they may hold any byte):
 *   vtarget-pr 1
 *   generation <n>
 *   reservation <type> <holder initiator> <holder target port> <rtpi>   (when reserved)
 *   reg <key> <rtpi> <initiator> <target port>                          (one per registrant)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vt/util.h"

#include "scsi_internal.h"

#define PR_FILE_MAGIC "vtarget-pr 1"
#define PR_HEX_MAX (2 * (VT_SCSI_DEV_MAX_NAME + 1) + 1)

static pthread_mutex_t g_pr_dir_mutex = PTHREAD_MUTEX_INITIALIZER;
static char g_pr_dir[4096];

int
vt_scsi_set_pr_dir(const char *dir)
{
	int rc = 0;

	pthread_mutex_lock(&g_pr_dir_mutex);
	if (dir == NULL) {
		g_pr_dir[0] = '\0';
	} else if ((size_t)snprintf(g_pr_dir, sizeof(g_pr_dir), "%s", dir) >= sizeof(g_pr_dir)) {
		g_pr_dir[0] = '\0';
		rc = -ENAMETOOLONG;
	}
	pthread_mutex_unlock(&g_pr_dir_mutex);
	return rc;
}

/* The state file of bdev (and its folder); false when no folder is set or the path is too long. */
static bool
pr_path(const struct vt_bdev *bdev, char *path, size_t len, char *dir, size_t dir_len)
{
	const char *name = vt_bdev_get_name(bdev);
	size_t n;

	pthread_mutex_lock(&g_pr_dir_mutex);
	snprintf(dir, dir_len, "%s", g_pr_dir);
	pthread_mutex_unlock(&g_pr_dir_mutex);
	if (dir[0] == '\0') {
		return false;
	}
	/* A bdev name with a '/' cannot be a file name: those bytes become '_'. */
	n = (size_t)snprintf(path, len, "%s/%s.pr", dir, name);
	if (n >= len) {
		return false;
	}
	for (char *p = path + strlen(dir) + 1; *p != '\0'; p++) {
		if (*p == '/') {
			*p = '_';
		}
	}
	return true;
}

static void
hex_put(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		fprintf(f, "%02x", (uint8_t)*s);
	}
}

static bool
hex_get(const char *hex, char *out, size_t out_len)
{
	size_t n = strlen(hex);

	if (n == 0 || n % 2 != 0 || n / 2 >= out_len) {
		return false;
	}
	for (size_t i = 0; i < n / 2; i++) {
		char byte[3] = { hex[2 * i], hex[2 * i + 1], '\0' };
		char *end;
		unsigned long v = strtoul(byte, &end, 16);

		if (*end != '\0' || v == 0) {
			return false;
		}
		out[i] = (char)v;
	}
	out[n / 2] = '\0';
	return true;
}

static int
pr_write(FILE *f, const struct scsi_pr *pr)
{
	fprintf(f, "%s\ngeneration %" PRIu32 "\n", PR_FILE_MAGIC, pr->generation);
	if (pr->reserved) {
		fprintf(f, "reservation %u ", pr->type);
		hex_put(f, pr->holder.initiator[0] != '\0' ? pr->holder.initiator : "-");
		fputc(' ', f);
		hex_put(f, pr->holder.tport[0] != '\0' ? pr->holder.tport : "-");
		fprintf(f, " %u\n", pr->holder.rtpi);
	}
	for (uint32_t i = 0; i < pr->num_regs; i++) {
		fprintf(f, "reg %016" PRIx64 " %u ", pr->regs[i].key, pr->regs[i].nx.rtpi);
		hex_put(f, pr->regs[i].nx.initiator);
		fputc(' ', f);
		hex_put(f, pr->regs[i].nx.tport);
		fputc('\n', f);
	}
	return ferror(f) ? -EIO : 0;
}

static int
pr_save(const char *path, const char *dir, const struct scsi_pr *pr)
{
	char tmp[4200];
	FILE *f;
	int fd, rc;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		return -ENAMETOOLONG;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		return -errno;
	}
	f = fdopen(fd, "w");
	if (f == NULL) {
		rc = -errno;
		close(fd);
		goto fail;
	}
	rc = pr_write(f, pr);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		rc = -errno;
	}
	if (fclose(f) != 0 && rc == 0) {
		rc = -errno;
	}
	if (rc == 0 && rename(tmp, path) != 0) {
		rc = -errno;
	}
	if (rc != 0) {
		goto fail;
	}
	/* The rename itself is durable once the folder is synced. */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
fail:
	unlink(tmp);
	return rc;
}

void
scsi_pr_persist(struct scsi_lu *lu)
{
	char path[4200], dir[4096];
	int rc;

	if (!pr_path(lu->bdev, path, sizeof(path), dir, sizeof(dir))) {
		if (lu->pr.aptpl) {
			VT_WARNLOG("bdev '%s': APTPL asked but no state folder is set: the "
				   "reservations will not survive a restart",
				   vt_bdev_get_name(lu->bdev));
		}
		return;
	}
	if (!lu->pr.aptpl) {
		if (unlink(path) != 0 && errno != ENOENT) {
			VT_ERRLOG("cannot remove '%s': %s", path, vt_strerror(errno));
		}
		return;
	}
	rc = pr_save(path, dir, &lu->pr);
	if (rc != 0) {
		VT_ERRLOG("cannot write the reservations of bdev '%s' to '%s': %s",
			  vt_bdev_get_name(lu->bdev), path, vt_strerror(-rc));
	}
}

/* Parses one line into pr; false on a malformed one. */
static bool
pr_parse_line(char *line, struct scsi_pr *pr)
{
	char a[PR_HEX_MAX], b[PR_HEX_MAX];
	unsigned int type, rtpi;
	uint64_t key;
	struct scsi_pr_reg *r;

	if (sscanf(line, "generation %" SCNu32, &pr->generation) == 1) {
		return true;
	}
	if (sscanf(line, "reservation %u %512s %512s %u", &type, a, b, &rtpi) == 4) {
		pr->reserved = true;
		pr->type = (uint8_t)type;
		pr->holder.rtpi = (uint16_t)rtpi;
		if (strcmp(a, "2d") == 0) {
			return type == VT_SCSI_PR_WRITE_EXCLUSIVE_ALL_REGS ||
			       type == VT_SCSI_PR_EXCLUSIVE_ACCESS_ALL_REGS;
		}
		return hex_get(a, pr->holder.initiator, sizeof(pr->holder.initiator)) &&
		       hex_get(b, pr->holder.tport, sizeof(pr->holder.tport));
	}
	if (sscanf(line, "reg %" SCNx64 " %u %512s %512s", &key, &rtpi, a, b) == 4) {
		if (pr->num_regs == SCSI_MAX_PR_REGISTRANTS || key == 0) {
			return false;
		}
		r = &pr->regs[pr->num_regs];
		r->key = key;
		r->nx.rtpi = (uint16_t)rtpi;
		if (!hex_get(a, r->nx.initiator, sizeof(r->nx.initiator)) ||
		    !hex_get(b, r->nx.tport, sizeof(r->nx.tport))) {
			return false;
		}
		pr->num_regs++;
		return true;
	}
	return false;
}

void
scsi_pr_load(struct scsi_lu *lu)
{
	char path[4200], dir[4096], line[2 * PR_HEX_MAX + 64];
	struct scsi_pr pr;
	bool ok;
	FILE *f;

	if (!pr_path(lu->bdev, path, sizeof(path), dir, sizeof(dir))) {
		return;
	}
	f = fopen(path, "re");
	if (f == NULL) {
		return;
	}
	memset(&pr, 0, sizeof(pr));
	ok = fgets(line, sizeof(line), f) != NULL && strcmp(line, PR_FILE_MAGIC "\n") == 0;
	while (ok && fgets(line, sizeof(line), f) != NULL) {
		ok = pr_parse_line(line, &pr);
	}
	fclose(f);
	if (!ok) {
		VT_ERRLOG("ignoring '%s': not a reservation state file of this version", path);
		return;
	}
	pr.aptpl = true;
	lu->pr = pr;
	scsi_lu_update_guard(lu);
	VT_NOTICELOG("bdev '%s': %" PRIu32 " registration(s)%s restored from '%s'",
		     vt_bdev_get_name(lu->bdev), pr.num_regs,
		     pr.reserved ? " and a reservation" : "", path);
}
