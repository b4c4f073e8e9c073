/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The JSON-RPC 2.0 server: a Unix socket listener and its connections, all on reactor 0.
 *
 * A connection reads bytes into its receive buffer; the stream scanner cuts complete top-level
 * values out of it (several pipelined in one read, or one spread over many). Each value becomes
 * a job: one request, or a batch of them. A connection runs one job at a time and one request of
 * the job at a time, in order; a handler that answers later holds the connection (no further
 * reading) until it does. Answers are queued in the output buffer and written without blocking;
 * while much output is pending the connection stops reading, so a client that does not read its
 * answers cannot make the server grow without bound.
 *
 * A connection whose peer went away, or that the server closed, becomes "dead": its socket is
 * closed at once, but the structure stays until the running request is answered, because its
 * handler still holds the request. The answer is then dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vt/event.h"
#include "vt/json.h"
#include "vt/log.h"
#include "vt/rpc.h"
#include "vt/util.h"

#include "jsonrpc_internal.h"

#define RPC_READ_CHUNK (64u * 1024)
/* Reads per wake-up, so one busy client cannot hold the reactor (epoll fires again). */
#define RPC_READS_PER_RUN 16
#define RPC_ACCEPTS_PER_RUN 16
#define RPC_LISTEN_BACKLOG 128

struct rpc_buf {
	char *data;
	size_t off; /* first byte not yet consumed (written) */
	size_t len;
	size_t cap;
};

struct rpc_conn;

/* One top-level value received on a connection: a request or a batch. */
struct rpc_job {
	struct rpc_conn *conn;
	yajl_val root;
	bool batch;
	size_t next;                    /* next element of the batch to run */
	struct vt_jsonrpc_request *req; /* the request whose handler answers later */
	struct rpc_buf out;             /* the answers so far */
	size_t num_answers;
};

struct rpc_conn {
	int fd;
	uint32_t id;              /* for logs */
	struct vt_poller *poller; /* NULL once the peer hung up or the connection is dead */
	uint32_t events;          /* epoll events the poller waits for */
	TAILQ_ENTRY(rpc_conn) link;
	bool listed; /* on the server's list */
	char *in;    /* received bytes; [in_start, in_len) not consumed yet */
	size_t in_start;
	size_t in_len;
	size_t in_cap;
	struct json_scanner scan; /* offsets into in */
	struct rpc_buf out;
	struct rpc_job *job; /* running job, or NULL */
	bool peer_eof;       /* the peer sent no more (read returned 0) */
	bool hup;            /* the peer is gone: read what is left without a poller */
	bool closing;        /* close once the output is written (protocol error) */
	bool dead;           /* socket closed: waiting only for the job to end */
	bool running;        /* conn_run is on the stack */
	bool rerun;          /* conn_run was asked for again while running */
};

struct rpc_server {
	int listen_fd;
	int lock_fd;
	char *path;
	char *lock_path;
	struct vt_poller *listen_poller;
	TAILQ_HEAD(, rpc_conn) conns;
	uint32_t num_conns;
	uint32_t next_conn_id;
	bool accept_error_logged;
};

/* --rpc-sock-group: the RPC socket's group (mode 0660), -1 for none (mode 0600). */
static int64_t g_rpc_sock_gid = -1;

static struct rpc_server g_server = {
	.listen_fd = -1,
	.lock_fd = -1,
	.conns = TAILQ_HEAD_INITIALIZER(g_server.conns),
};

static void conn_run(struct rpc_conn *conn);

/* ---- buffers ----------------------------------------------------------------------------- */

static size_t
buf_pending(const struct rpc_buf *b)
{
	return b->len - b->off;
}

static int
buf_append(struct rpc_buf *b, const char *data, size_t len)
{
	size_t cap;
	char *p;

	if (b->off == b->len) {
		b->off = b->len = 0;
	}
	if (b->len + len > b->cap) {
		if (b->off > 0) {
			memmove(b->data, b->data + b->off, b->len - b->off);
			b->len -= b->off;
			b->off = 0;
		}
		cap = VT_MAX(b->cap, (size_t)1024);
		while (cap < b->len + len) {
			cap *= 2;
		}
		if (cap != b->cap) {
			p = realloc(b->data, cap);
			if (p == NULL) {
				return -ENOMEM;
			}
			b->data = p;
			b->cap = cap;
		}
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

static int
buf_append_str(struct rpc_buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

static void
buf_free(struct rpc_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* ---- response text ----------------------------------------------------------------------- */

/* {"code":..,"message":..} with the message escaped; a message that is not UTF-8 is replaced. */
static struct vt_json_write_ctx *
rpc_error_object(int code, const char *msg)
{
	struct vt_json_write_ctx *w;
	int attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		w = vt_json_write_begin(false);
		if (w == NULL) {
			return NULL;
		}
		vt_json_write_object_begin(w);
		vt_json_write_named_int64(w, "code", code);
		vt_json_write_named_string(w, "message",
					   attempt == 0 && msg != NULL
						   ? msg
						   : "internal error: error message not printable");
		vt_json_write_object_end(w);
		if (vt_json_write_end(w) == 0) {
			return w;
		}
		vt_json_write_free(w);
	}
	return NULL;
}

/*
 * Appends {"jsonrpc":"2.0","id":ID,"result":RESULT} or {..,"error":{"code":..,"message":..}}.
 * id is JSON text copied verbatim from the request.
 */
static int
rpc_format_answer(struct rpc_buf *b, const char *id, int code, const char *msg, const char *result,
		  size_t result_len)
{
	struct vt_json_write_ctx *w = NULL;
	const char *err_text;
	size_t err_len;
	int rc;

	if (code != 0) {
		w = rpc_error_object(code, msg);
		if (w == NULL) {
			return -ENOMEM;
		}
	}
	rc = buf_append_str(b, "{\"jsonrpc\":\"2.0\",\"id\":");
	rc = rc ?: buf_append_str(b, id != NULL ? id : "null");
	if (code == 0) {
		rc = rc ?: buf_append_str(b, ",\"result\":");
		rc = rc ?: buf_append(b, result, result_len);
	} else {
		err_text = vt_json_write_buf(w, &err_len);
		rc = rc ?: buf_append_str(b, ",\"error\":");
		rc = rc ?: buf_append(b, err_text, err_len);
		vt_json_write_free(w);
	}
	return rc ?: buf_append_str(b, "}");
}

/* Queues an error answer (id null) that belongs to no request: parse error, oversize... */
static void
conn_queue_error(struct rpc_conn *conn, int code, const char *msg)
{
	if (rpc_format_answer(&conn->out, NULL, code, msg, NULL, 0) != 0 ||
	    buf_append_str(&conn->out, "\n") != 0) {
		VT_ERRLOG("rpc connection %u: out of memory for an answer: closing it\n", conn->id);
		conn->closing = true;
	}
}

/* ---- connections: teardown --------------------------------------------------------------- */

/* Closes the socket; the structure lives on until conn_release finds it idle. */
static void
conn_kill(struct rpc_conn *conn)
{
	if (conn->dead) {
		return;
	}
	conn->dead = true;
	vt_poller_unregister(&conn->poller);
	if (conn->fd >= 0) {
		close(conn->fd);
		conn->fd = -1;
	}
	VT_DEBUGLOG(rpc, "rpc connection %u closed\n", conn->id);
}

static void
conn_release(struct rpc_conn *conn)
{
	if (!conn->dead || conn->job != NULL || conn->running) {
		return;
	}
	if (conn->listed) {
		TAILQ_REMOVE(&g_server.conns, conn, link);
		conn->listed = false;
		g_server.num_conns--;
	}
	free(conn->in);
	buf_free(&conn->out);
	free(conn);
}

/* ---- jobs -------------------------------------------------------------------------------- */

static void job_request_done(struct vt_jsonrpc_request *req);

/* A request's id as JSON text in *text (NULL if absent); false when its type is invalid. */
static bool
rpc_request_id(yajl_val id, char **text)
{
	struct vt_json_write_ctx *w;
	const char *s;
	size_t len;

	*text = NULL;
	if (id == NULL) {
		return true;
	}
	if (!YAJL_IS_STRING(id) && !YAJL_IS_NUMBER(id) && !YAJL_IS_NULL(id)) {
		return false;
	}
	w = vt_json_write_begin(false);
	if (w == NULL) {
		return true;
	}
	vt_json_write_val(w, id);
	if (vt_json_write_end(w) == 0) {
		s = vt_json_write_buf(w, &len);
		*text = strdup(s);
	}
	vt_json_write_free(w);
	return true;
}

/* The reason a request object is invalid, or NULL. */
static const char *
rpc_request_check(yajl_val v, bool id_ok)
{
	yajl_val version, method, params;

	if (!YAJL_IS_OBJECT(v)) {
		return "Invalid request: not a JSON object";
	}
	if (!id_ok) {
		return "Invalid request: 'id' must be a string, a number or null";
	}
	version = vt_json_object_get(v, "jsonrpc");
	if (!YAJL_IS_STRING(version) || strcmp(version->u.string, "2.0") != 0) {
		return "Invalid request: 'jsonrpc' must be \"2.0\"";
	}
	method = vt_json_object_get(v, "method");
	if (!YAJL_IS_STRING(method)) {
		return "Invalid request: 'method' must be a string";
	}
	params = vt_json_object_get(v, "params");
	if (params != NULL && !YAJL_IS_OBJECT(params) && !YAJL_IS_ARRAY(params)) {
		return "Invalid request: 'params' must be an object or an array";
	}
	return NULL;
}

/*
 * A request for one value of the job. An invalid one comes back already answered (always with an
 * id, null when the request's own cannot be used: invalid requests are never notifications).
 */
static struct vt_jsonrpc_request *
job_request_create(struct rpc_job *job, yajl_val v)
{
	struct vt_jsonrpc_request *req;
	const char *invalid;
	char *id = NULL;
	bool has_id = YAJL_IS_OBJECT(v) && vt_json_object_get(v, "id") != NULL;
	bool id_ok = true;

	if (YAJL_IS_OBJECT(v)) {
		id_ok = rpc_request_id(vt_json_object_get(v, "id"), &id);
		if (has_id && id_ok && id == NULL) {
			return NULL;
		}
	}
	invalid = rpc_request_check(v, id_ok);
	if (invalid != NULL) {
		req = jsonrpc_request_alloc("(invalid request)", id != NULL ? id : "null", NULL,
					    job_request_done, job);
		if (req != NULL) {
			jsonrpc_request_set_error(req, VT_JSONRPC_ERROR_INVALID_REQUEST, invalid);
		}
	} else {
		req = jsonrpc_request_alloc(vt_json_object_get(v, "method")->u.string, id,
					    vt_json_object_get(v, "params"), job_request_done, job);
	}
	free(id);
	return req;
}

/* Adds an answered request's answer to the job's output and frees the request. */
static void
job_collect(struct rpc_job *job, struct vt_jsonrpc_request *req)
{
	int rc = 0;

	if (req->id != NULL) {
		if (job->batch) {
			rc = buf_append_str(&job->out, job->num_answers == 0 ? "[" : ",");
		}
		rc = rc
			     ?: rpc_format_answer(&job->out, req->id, req->code, req->err_msg,
						  req->result, req->result_len);
		job->num_answers++;
		if (rc != 0) {
			VT_ERRLOG("rpc connection %u: out of memory for the answer to '%s': "
				  "closing it\n",
				  job->conn->id, req->method);
			job->conn->closing = true;
		}
	}
	jsonrpc_request_free(req);
}

/* Runs the job's requests in order. False when one answers later (job->req waits for it). */
static bool
job_step(struct rpc_job *job)
{
	struct vt_jsonrpc_request *req;
	size_t count = job->batch ? job->root->u.array.len : 1;
	yajl_val v;

	while (job->next < count) {
		v = job->batch ? job->root->u.array.values[job->next] : job->root;
		job->next++;
		req = job_request_create(job, v);
		if (req == NULL) {
			VT_ERRLOG("rpc connection %u: out of memory for a request: closing it\n",
				  job->conn->id);
			job->conn->closing = true;
			return true;
		}
		if (!req->answered && !jsonrpc_request_run(req)) {
			job->req = req;
			return false;
		}
		job_collect(job, req);
	}
	return true;
}

/* Queues the job's answers (unless the connection is gone) and frees the job. */
static void
job_finish(struct rpc_job *job)
{
	struct rpc_conn *conn = job->conn;
	struct rpc_buf *out = &job->out;
	int rc = 0;

	if (job->num_answers > 0 && !conn->dead && !conn->closing) {
		if (job->batch) {
			rc = buf_append_str(out, "]");
		}
		rc = rc ?: buf_append_str(out, "\n");
		rc = rc ?: buf_append(&conn->out, out->data + out->off, buf_pending(out));
		if (rc != 0) {
			VT_ERRLOG("rpc connection %u: out of memory for an answer: closing it\n",
				  conn->id);
			conn->closing = true;
		}
	}
	conn->job = NULL;
	buf_free(out);
	yajl_tree_free(job->root);
	free(job);
}

/* A request answered after its handler returned: go on with the job, then the connection. */
static void
job_request_done(struct vt_jsonrpc_request *req)
{
	struct rpc_job *job = req->ctx;
	struct rpc_conn *conn = job->conn;

	job->req = NULL;
	if (conn->dead) {
		VT_DEBUGLOG(rpc, "rpc connection %u gone: answer to '%s' dropped\n", conn->id,
			    req->method);
	}
	job_collect(job, req);
	if (!job_step(job)) {
		return;
	}
	job_finish(job);
	conn_run(conn);
}

/* ---- connections: input ------------------------------------------------------------------ */

static void
conn_handle_value(struct rpc_conn *conn, const char *text, size_t len)
{
	char err[256], msg[300];
	struct rpc_job *job;
	yajl_val root;
	const char *detail;

	root = vt_json_parse(text, len, err, sizeof(err));
	if (root == NULL) {
		detail = strncmp(err, "parse error: ", 13) == 0 ? err + 13 : err;
		snprintf(msg, sizeof(msg), "Parse error: %s", detail);
		VT_DEBUGLOG(rpc, "rpc connection %u: %s\n", conn->id, msg);
		conn_queue_error(conn, VT_JSONRPC_ERROR_PARSE_ERROR, msg);
		conn->closing = true;
		return;
	}
	if (YAJL_IS_ARRAY(root) && root->u.array.len == 0) {
		yajl_tree_free(root);
		conn_queue_error(conn, VT_JSONRPC_ERROR_INVALID_REQUEST,
				 "Invalid request: empty batch");
		return;
	}
	job = calloc(1, sizeof(*job));
	if (job == NULL) {
		yajl_tree_free(root);
		VT_ERRLOG("rpc connection %u: out of memory for a request: closing it\n", conn->id);
		conn->closing = true;
		return;
	}
	job->conn = conn;
	job->root = root;
	job->batch = YAJL_IS_ARRAY(root);
	conn->job = job;
	if (job_step(job)) {
		job_finish(job);
	}
}

static void
conn_too_large(struct rpc_conn *conn)
{
	char msg[128];

	VT_WARNLOG("rpc connection %u: request larger than %u bytes: closing it\n", conn->id,
		   VT_JSONRPC_MAX_REQUEST_SIZE);
	snprintf(msg, sizeof(msg), "request too large (limit %u bytes)",
		 VT_JSONRPC_MAX_REQUEST_SIZE);
	conn_queue_error(conn, VT_JSONRPC_ERROR_INVALID_REQUEST, msg);
	conn->closing = true;
}

/* Reads once into the receive buffer: bytes read, 0 at end of stream, or a negative errno. */
static ssize_t
conn_read(struct rpc_conn *conn)
{
	size_t cap;
	ssize_t n;
	char *p;

	if (conn->in_start > 0) {
		memmove(conn->in, conn->in + conn->in_start, conn->in_len - conn->in_start);
		conn->in_len -= conn->in_start;
		json_scanner_shift(&conn->scan, conn->in_start);
		conn->in_start = 0;
	}
	if (conn->in_len == 0 && conn->in_cap > 4 * RPC_READ_CHUNK) {
		/* Give back the memory of a large request. */
		free(conn->in);
		conn->in = NULL;
		conn->in_cap = 0;
	}
	if (conn->in_cap - conn->in_len < RPC_READ_CHUNK) {
		cap = VT_MAX(conn->in_cap * 2, (size_t)RPC_READ_CHUNK);
		cap = VT_MAX(cap, conn->in_len + RPC_READ_CHUNK);
		p = realloc(conn->in, cap);
		if (p == NULL) {
			return -ENOMEM;
		}
		conn->in = p;
		conn->in_cap = cap;
	}
	do {
		n = recv(conn->fd, conn->in + conn->in_len, conn->in_cap - conn->in_len,
			 MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
	conn->in_len += (size_t)n;
	return n;
}

enum conn_stop {
	CONN_STOP_WAIT,   /* waits for input or an answer, or is done */
	CONN_STOP_OUTPUT, /* too much output pending */
};

/* Runs complete requests from the buffer, reading more as needed. */
static enum conn_stop
conn_process(struct rpc_conn *conn)
{
	unsigned reads = 0;
	size_t start;
	ssize_t n;

	while (!conn->dead && !conn->closing && conn->job == NULL) {
		if (buf_pending(&conn->out) > JSONRPC_OUT_HIGH_WATER) {
			return CONN_STOP_OUTPUT;
		}
		if (json_scanner_next(&conn->scan, conn->in, conn->in_len) == JSON_SCAN_VALUE ||
		    (conn->peer_eof && json_scanner_finish(&conn->scan, conn->in_len))) {
			start = conn->scan.value_start;
			conn->in_start = conn->scan.pos;
			if (conn->scan.pos - start > VT_JSONRPC_MAX_REQUEST_SIZE) {
				conn_too_large(conn);
			} else {
				conn_handle_value(conn, conn->in + start, conn->scan.pos - start);
			}
			continue;
		}
		/* Drop whitespace between values so the buffer does not fill with it. */
		conn->in_start = json_scanner_keep(&conn->scan);
		if (conn->scan.in_value &&
		    conn->in_len - conn->scan.value_start > VT_JSONRPC_MAX_REQUEST_SIZE) {
			conn_too_large(conn);
			break;
		}
		if (conn->peer_eof) {
			if (conn->scan.in_value) {
				VT_DEBUGLOG(rpc,
					    "rpc connection %u: incomplete request at end of "
					    "input dropped\n",
					    conn->id);
			}
			break;
		}
		/* Once the peer hung up there is no poller: read until the end of the data. */
		if (!conn->hup && reads++ >= RPC_READS_PER_RUN) {
			break;
		}
		n = conn_read(conn);
		if (n == 0 || (n == -EAGAIN && conn->hup)) {
			conn->peer_eof = true;
		} else if (n == -EAGAIN) {
			break;
		} else if (n < 0) {
			VT_DEBUGLOG(rpc, "rpc connection %u: read failed: %s\n", conn->id,
				    vt_strerror((int)-n));
			conn_kill(conn);
		}
	}
	return CONN_STOP_WAIT;
}

/* ---- connections: output and life cycle -------------------------------------------------- */

static void
conn_flush(struct rpc_conn *conn)
{
	struct rpc_buf *b = &conn->out;
	ssize_t n;

	while (!conn->dead && buf_pending(b) > 0) {
		n = send(conn->fd, b->data + b->off, buf_pending(b), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				VT_DEBUGLOG(rpc, "rpc connection %u: write failed: %s\n", conn->id,
					    vt_strerror(errno));
				conn_kill(conn);
			}
			break;
		}
		b->off += (size_t)n;
	}
	if (buf_pending(b) == 0) {
		b->off = b->len = 0;
		/* Give back the memory of a large answer. */
		if (b->cap > JSONRPC_OUT_HIGH_WATER) {
			buf_free(b);
		}
	}
}

/* After a run: close the connection when it is done, or wait for the right events. */
static void
conn_update(struct rpc_conn *conn)
{
	size_t pending = buf_pending(&conn->out);
	uint32_t events = 0;

	if (!conn->dead && pending == 0 && conn->job == NULL && (conn->closing || conn->peer_eof)) {
		conn_kill(conn);
	}
	if (conn->dead) {
		conn_release(conn);
		return;
	}
	if (conn->poller == NULL) {
		return;
	}
	if (!conn->peer_eof && !conn->closing && conn->job == NULL &&
	    pending <= JSONRPC_OUT_HIGH_WATER) {
		events |= EPOLLIN;
	}
	if (pending > 0) {
		events |= EPOLLOUT;
	}
	if (events != conn->events && vt_fd_poller_modify(conn->poller, events) == 0) {
		conn->events = events;
	}
}

static void
conn_run(struct rpc_conn *conn)
{
	enum conn_stop stop;

	if (conn->running) {
		conn->rerun = true;
		return;
	}
	conn->running = true;
	do {
		conn->rerun = false;
		conn_flush(conn);
		do {
			stop = conn_process(conn);
			conn_flush(conn);
		} while (stop == CONN_STOP_OUTPUT && !conn->dead &&
			 buf_pending(&conn->out) <= JSONRPC_OUT_HIGH_WATER);
	} while (conn->rerun);
	conn->running = false;
	conn_update(conn);
}

static int
conn_poll(void *arg, uint32_t events)
{
	struct rpc_conn *conn = arg;

	if (events & (EPOLLHUP | EPOLLERR)) {
		/* Level-triggered HUP would fire forever: read what is left without the poller. */
		conn->hup = true;
		vt_poller_unregister(&conn->poller);
	}
	conn_run(conn);
	return VT_POLLER_BUSY;
}

/* ---- listener ---------------------------------------------------------------------------- */

static void
rpc_accept_one(int fd)
{
	struct rpc_conn *conn;

	if (g_server.num_conns >= VT_JSONRPC_MAX_CONNS) {
		VT_WARNLOG("too many rpc connections on %s (limit %u): closing a new one\n",
			   g_server.path, VT_JSONRPC_MAX_CONNS);
		close(fd);
		return;
	}
	conn = calloc(1, sizeof(*conn));
	if (conn == NULL) {
		VT_ERRLOG("cannot accept rpc connection: out of memory\n");
		close(fd);
		return;
	}
	conn->fd = fd;
	conn->id = g_server.next_conn_id++;
	conn->events = EPOLLIN;
	json_scanner_init(&conn->scan);
	conn->poller = vt_fd_poller_register(fd, EPOLLIN, conn_poll, conn, "rpc_conn");
	if (conn->poller == NULL) {
		VT_ERRLOG("cannot accept rpc connection: fd poller registration failed\n");
		close(fd);
		free(conn);
		return;
	}
	TAILQ_INSERT_TAIL(&g_server.conns, conn, link);
	conn->listed = true;
	g_server.num_conns++;
	VT_DEBUGLOG(rpc, "rpc connection %u accepted\n", conn->id);
}

static int
rpc_listen_poll(void *arg, uint32_t events)
{
	int i, fd, accepted = 0;

	for (i = 0; i < RPC_ACCEPTS_PER_RUN; i++) {
		fd = accept4(g_server.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED) {
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    !g_server.accept_error_logged) {
				/* Logged once: the listener stays readable and would repeat it. */
				VT_ERRLOG("cannot accept rpc connection on %s: %s\n", g_server.path,
					  vt_strerror(errno));
				g_server.accept_error_logged = true;
			}
			break;
		}
		g_server.accept_error_logged = false;
		rpc_accept_one(fd);
		accepted++;
	}
	return accepted > 0 ? VT_POLLER_BUSY : VT_POLLER_IDLE;
}

/* Takes path.lock; -EADDRINUSE when another process holds it. */
static int
rpc_lock(const char *path)
{
	int fd;

	g_server.lock_path = vt_sprintf_alloc("%s.lock", path);
	if (g_server.lock_path == NULL) {
		return -ENOMEM;
	}
	fd = open(g_server.lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		int rc = -errno;

		VT_ERRLOG("cannot open rpc lock file '%s': %s\n", g_server.lock_path,
			  vt_strerror(-rc));
		return rc;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int rc = errno == EWOULDBLOCK ? -EADDRINUSE : -errno;

		if (rc == -EADDRINUSE) {
			VT_ERRLOG("another vtarget is already listening on %s\n", path);
		} else {
			VT_ERRLOG("cannot lock rpc lock file '%s': %s\n", g_server.lock_path,
				  vt_strerror(-rc));
		}
		close(fd);
		return rc;
	}
	g_server.lock_fd = fd;
	return 0;
}

static int
rpc_bind(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, rc;

	memcpy(addr.sun_path, path, strlen(path) + 1);
	/* We hold the lock: a socket file left there belongs to a daemon that died. */
	if (unlink(path) != 0 && errno != ENOENT) {
		rc = -errno;
		VT_ERRLOG("cannot remove stale rpc socket '%s': %s\n", path, vt_strerror(-rc));
		return rc;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		VT_ERRLOG("cannot create rpc socket: %s\n", vt_strerror(-rc));
		return rc;
	}
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		rc = -errno;
		VT_ERRLOG("cannot bind rpc socket '%s': %s\n", path, vt_strerror(-rc));
		close(fd);
		return rc;
	}
	g_server.listen_fd = fd;
	/* Nobody can connect before listen(), so the mode is right before anyone can use it. */
	if ((g_rpc_sock_gid >= 0 && chown(path, (uid_t)-1, (gid_t)g_rpc_sock_gid) != 0) ||
	    chmod(path, g_rpc_sock_gid >= 0 ? 0660 : 0600) != 0 ||
	    listen(fd, RPC_LISTEN_BACKLOG) != 0) {
		rc = -errno;
		VT_ERRLOG("cannot listen on rpc socket '%s': %s\n", path, vt_strerror(-rc));
		return rc;
	}
	return 0;
}

void
vt_rpc_server_set_group(int64_t gid)
{
	g_rpc_sock_gid = gid;
}

static void
rpc_server_cleanup(bool remove_socket)
{
	vt_poller_unregister(&g_server.listen_poller);
	if (g_server.listen_fd >= 0) {
		close(g_server.listen_fd);
		g_server.listen_fd = -1;
		if (remove_socket && g_server.path != NULL) {
			unlink(g_server.path);
		}
	}
	if (g_server.lock_fd >= 0) {
		/* Unlink while still holding the lock, so no one is left locking a removed file. */
		unlink(g_server.lock_path);
		close(g_server.lock_fd);
		g_server.lock_fd = -1;
	}
	free(g_server.path);
	free(g_server.lock_path);
	g_server.path = NULL;
	g_server.lock_path = NULL;
}

int
vt_rpc_server_listen(const char *path)
{
	struct sockaddr_un addr;
	int rc;

	if (vt_reactor_current() != 0) {
		VT_ERRLOG("cannot listen on rpc socket: not on reactor 0\n");
		return -EINVAL;
	}
	if (g_server.path != NULL) {
		VT_ERRLOG("cannot listen on rpc socket '%s': already listening on %s\n", path,
			  g_server.path);
		return -EBUSY;
	}
	if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof(addr.sun_path)) {
		VT_ERRLOG("cannot listen on rpc socket '%s': path empty or longer than %zu\n",
			  path != NULL ? path : "", sizeof(addr.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	g_server.path = strdup(path);
	if (g_server.path == NULL) {
		return -ENOMEM;
	}
	rc = rpc_lock(path);
	if (rc != 0) {
		goto err;
	}
	rc = rpc_bind(path);
	if (rc != 0) {
		goto err;
	}
	g_server.listen_poller = vt_fd_poller_register(g_server.listen_fd, EPOLLIN, rpc_listen_poll,
						       NULL, "rpc_listen");
	if (g_server.listen_poller == NULL) {
		VT_ERRLOG("cannot listen on rpc socket '%s': fd poller registration failed\n",
			  path);
		rc = -ENOMEM;
		goto err;
	}
	g_server.accept_error_logged = false;
	VT_DEBUGLOG(rpc, "rpc server listening on %s\n", path);
	return 0;
err:
	rpc_server_cleanup(g_server.listen_fd >= 0);
	return rc;
}

void
vt_rpc_server_close(void)
{
	struct rpc_conn *conn;

	if (g_server.path == NULL) {
		return;
	}
	while ((conn = TAILQ_FIRST(&g_server.conns)) != NULL) {
		TAILQ_REMOVE(&g_server.conns, conn, link);
		conn->listed = false;
		g_server.num_conns--;
		if (conn->job != NULL && conn->job->req != NULL) {
			/* Freeing it would leave its handler a dangling pointer: drop it later. */
			VT_ERRLOG("rpc server closing while method '%s' is still running: its "
				  "answer will be dropped\n",
				  conn->job->req->method);
		}
		conn_kill(conn);
		conn_release(conn);
	}
	rpc_server_cleanup(true);
}

const char *
vt_rpc_server_path(void)
{
	return g_server.path;
}
