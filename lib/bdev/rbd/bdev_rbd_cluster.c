/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Rados connections. A named cluster (bdev_rbd_register_cluster) is connected once and shared by
 * every bdev created with its cluster_name; a bdev created without one gets a private connection
 * with its user_id and config. Connecting runs in a job (bdev_rbd_job.c): librados waits up to
 * client_mount_timeout for a monitor, which vtarget bounds to RBD_DEFAULT_MOUNT_TIMEOUT seconds
 * unless the user's options say otherwise.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vt/json.h"
#include "vt/log.h"
#include "vt/util.h"
#include "lib/bdev/rbd/bdev_rbd.h"

static TAILQ_HEAD(, rbd_cluster) g_rbd_clusters = TAILQ_HEAD_INITIALIZER(g_rbd_clusters);

void
rbd_err_set(struct rbd_err *err, int rc, const char *fmt, ...)
{
	va_list ap;

	err->rc = rc;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

void
rbd_kv_free(struct rbd_kv *m)
{
	for (size_t i = 0; m->kv != NULL && i < 2 * m->count; i++) {
		free(m->kv[i]);
	}
	free(m->kv);
	m->kv = NULL;
	m->count = 0;
}

int
rbd_kv_dup(struct rbd_kv *dst, const struct rbd_kv *src)
{
	dst->kv = NULL;
	dst->count = 0;
	if (src == NULL || src->count == 0) {
		return 0;
	}
	dst->kv = calloc(2 * src->count + 1, sizeof(char *));
	if (dst->kv == NULL) {
		return -ENOMEM;
	}
	dst->count = src->count;
	for (size_t i = 0; i < 2 * src->count; i++) {
		dst->kv[i] = strdup(src->kv[i]);
		if (dst->kv[i] == NULL) {
			rbd_kv_free(dst);
			return -ENOMEM;
		}
	}
	return 0;
}

const char *
rbd_kv_get(const struct rbd_kv *m, const char *key)
{
	for (size_t i = 0; i < m->count; i++) {
		if (strcmp(m->kv[2 * i], key) == 0) {
			return m->kv[2 * i + 1];
		}
	}
	return NULL;
}

static int
dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL) {
		return 0;
	}
	*dst = strdup(src);
	return *dst == NULL ? -ENOMEM : 0;
}

struct rbd_cluster *
rbd_cluster_new(const char *name, const char *user_id, const struct rbd_kv *config,
		const char *config_file, const char *key_file)
{
	struct rbd_cluster *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		return NULL;
	}
	if (dup_opt(&c->name, name) != 0 || dup_opt(&c->user_id, user_id) != 0 ||
	    dup_opt(&c->config_file, config_file) != 0 || dup_opt(&c->key_file, key_file) != 0 ||
	    rbd_kv_dup(&c->config_param, config) != 0) {
		rbd_cluster_free(c);
		return NULL;
	}
	return c;
}

void
rbd_cluster_free(struct rbd_cluster *c)
{
	if (c == NULL) {
		return;
	}
	free(c->name);
	free(c->user_id);
	free(c->config_file);
	free(c->key_file);
	rbd_kv_free(&c->config_param);
	free(c);
}

/* The options, in the order a user expects to win: file first, then the key file, then each
 * config_param entry, then vtarget's bounds where the user set none. */
static int
cluster_configure(struct rbd_cluster *c, struct rbd_err *err)
{
	int rc;

	if (c->config_file != NULL || c->config_param.count == 0) {
		/* NULL: librados' default search (CEPH_CONF, /etc/ceph/ceph.conf, ...). */
		rc = rados_conf_read_file(c->rados, c->config_file);
		if (rc < 0 && c->config_file != NULL) {
			rbd_err_set(err, rc, "cannot read config file '%s': %s", c->config_file,
				    vt_strerror(-rc));
			return rc;
		}
	}
	if (c->key_file != NULL) {
		rc = rados_conf_set(c->rados, "keyring", c->key_file);
		if (rc < 0) {
			rbd_err_set(err, rc, "cannot use key file '%s': %s", c->key_file,
				    vt_strerror(-rc));
			return rc;
		}
	}
	for (size_t i = 0; i < c->config_param.count; i++) {
		rc = rados_conf_set(c->rados, c->config_param.kv[2 * i],
				    c->config_param.kv[2 * i + 1]);
		if (rc < 0) {
			rbd_err_set(err, rc, "invalid rados option '%s' = '%s': %s",
				    c->config_param.kv[2 * i], c->config_param.kv[2 * i + 1],
				    vt_strerror(-rc));
			return rc;
		}
	}
	if (rbd_kv_get(&c->config_param, "client_mount_timeout") == NULL) {
		rados_conf_set(c->rados, "client_mount_timeout", RBD_DEFAULT_MOUNT_TIMEOUT);
	}
	if (rbd_kv_get(&c->config_param, "rados_mon_op_timeout") == NULL) {
		rados_conf_set(c->rados, "rados_mon_op_timeout", RBD_DEFAULT_MOUNT_TIMEOUT);
	}
	return 0;
}

int
rbd_cluster_connect(struct rbd_cluster *c, struct rbd_err *err)
{
	int rc;

	rc = rados_create(&c->rados, c->user_id);
	if (rc < 0) {
		rbd_err_set(err, rc, "cannot create rados handle for user '%s': %s",
			    c->user_id != NULL ? c->user_id : "admin", vt_strerror(-rc));
		return rc;
	}
	rc = cluster_configure(c, err);
	if (rc == 0) {
		rc = rados_connect(c->rados);
		if (rc < 0) {
			rbd_err_set(err, rc, "cannot connect to the ceph cluster: %s",
				    rc == -ETIMEDOUT ? "no monitor answered within "
						       "client_mount_timeout"
						     : vt_strerror(-rc));
		}
	}
	if (rc < 0) {
		rados_shutdown(c->rados);
		c->rados = NULL;
		return rc;
	}
	c->connected = true;
	return 0;
}

void
rbd_cluster_disconnect(struct rbd_cluster *c)
{
	if (c->connected) {
		rados_shutdown(c->rados);
		c->rados = NULL;
		c->connected = false;
	}
}

struct rbd_cluster *
rbd_cluster_find(const char *name)
{
	struct rbd_cluster *c;

	TAILQ_FOREACH (c, &g_rbd_clusters, link) {
		if (strcmp(c->name, name) == 0) {
			return c;
		}
	}
	return NULL;
}

struct rbd_cluster *
rbd_cluster_first(void)
{
	return TAILQ_FIRST(&g_rbd_clusters);
}

struct rbd_cluster *
rbd_cluster_next(struct rbd_cluster *c)
{
	return TAILQ_NEXT(c, link);
}

void
rbd_cluster_add(struct rbd_cluster *c)
{
	TAILQ_INSERT_TAIL(&g_rbd_clusters, c, link);
}

void
rbd_cluster_remove(struct rbd_cluster *c)
{
	TAILQ_REMOVE(&g_rbd_clusters, c, link);
}

void
rbd_kv_dump(struct vt_json_write_ctx *w, const char *name, const struct rbd_kv *m)
{
	if (m->count == 0) {
		return;
	}
	vt_json_write_named_object_begin(w, name);
	for (size_t i = 0; i < m->count; i++) {
		vt_json_write_named_string(w, m->kv[2 * i], m->kv[2 * i + 1]);
	}
	vt_json_write_object_end(w);
}

void
rbd_cluster_dump(struct rbd_cluster *c, struct vt_json_write_ctx *w, bool with_name)
{
	if (with_name) {
		vt_json_write_named_string(w, "cluster_name", c->name);
	}
	if (c->user_id != NULL) {
		vt_json_write_named_string(w, "user_id", c->user_id);
	}
	rbd_kv_dump(w, "config_param", &c->config_param);
	if (c->config_file != NULL) {
		vt_json_write_named_string(w, "config_file", c->config_file);
	}
	if (c->key_file != NULL) {
		vt_json_write_named_string(w, "key_file", c->key_file);
	}
}
