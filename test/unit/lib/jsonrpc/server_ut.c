/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The RPC server on a real Unix socket, driven by polling reactor 0 from the test thread; the
 * clients are non-blocking sockets in the same thread.
 */
#include <CUnit/Basic.h>
#include <sys/stat.h>

#include "lib/jsonrpc/server.c"
#include "test/unit/common/ut_main.h"
#include "test/unit/common/ut_reactor.h"

#define WAIT_MS 3000

static char g_dir[64];
static char g_path[96];
static char g_lock_path[160];

/* ---- test methods ------------------------------------------------------------------------ */

#define MAX_ASYNC 8

static struct vt_jsonrpc_request *g_async[MAX_ASYNC];
static int g_num_async;
static int g_count;
static int g_big_calls;

/* Answers with its params (null without). */
static void
rpc_test_echo(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct vt_json_write_ctx *w = vt_jsonrpc_begin_result(req);

	vt_json_write_val(w, params);
	vt_jsonrpc_end_result(req, w);
}

/* Answers later, when the test calls answer_async(). */
static void
rpc_test_async(struct vt_jsonrpc_request *req, yajl_val params)
{
	CU_ASSERT_FATAL(g_num_async < MAX_ASYNC);
	g_async[g_num_async++] = req;
}

static void
rpc_test_count(struct vt_jsonrpc_request *req, yajl_val params)
{
	g_count++;
	vt_jsonrpc_send_bool_response(req, true);
}

static void
rpc_test_fail(struct vt_jsonrpc_request *req, yajl_val params)
{
	g_count++;
	vt_jsonrpc_send_error_response(req, -32000, "it \"failed\"");
}

struct big_params {
	uint32_t size;
};

static const struct vt_json_object_decoder g_big_decoders[] = {
	{ "size", offsetof(struct big_params, size), vt_json_decode_uint32, false },
};

/* Answers a string of size 'x' characters. */
static void
rpc_test_big(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct big_params p = { 0 };
	struct vt_json_write_ctx *w;
	char *s;

	if (vt_rpc_decode_params(req, params, g_big_decoders, VT_COUNTOF(g_big_decoders), &p) !=
	    0) {
		return;
	}
	g_big_calls++;
	s = malloc(p.size + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	memset(s, 'x', p.size);
	s[p.size] = '\0';
	w = vt_jsonrpc_begin_result(req);
	vt_json_write_string(w, s);
	vt_jsonrpc_end_result(req, w);
	free(s);
}

/* Writes two values: an invalid result. */
static void
rpc_test_bad_result(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct vt_json_write_ctx *w = vt_jsonrpc_begin_result(req);

	vt_json_write_int64(w, 1);
	vt_json_write_int64(w, 2);
	vt_jsonrpc_end_result(req, w);
}

static void
answer_async(int i, bool value)
{
	CU_ASSERT_FATAL(i < g_num_async && g_async[i] != NULL);
	vt_jsonrpc_send_bool_response(g_async[i], value);
	g_async[i] = NULL;
}

static void
reset_counters(void)
{
	memset(g_async, 0, sizeof(g_async));
	g_num_async = 0;
	g_count = 0;
	g_big_calls = 0;
}

/* ---- reactor and clients ----------------------------------------------------------------- */

static uint64_t
now_ms(void)
{
	return vt_get_ticks() / 1000000;
}

static void
poll_some(void)
{
	vt_reactor_poll_once();
	usleep(20);
}

/* Polls the reactor for ms milliseconds. */
static void
poll_for(unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (now_ms() < end) {
		poll_some();
	}
}

struct client {
	int fd;
	char *buf;
	size_t len;
	size_t cap;
	bool eof;
};

static void
client_connect(struct client *c)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	memset(c, 0, sizeof(*c));
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", g_path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CU_ASSERT_FATAL(c->fd >= 0);
	CU_ASSERT_FATAL(connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
}

static void
client_close(struct client *c)
{
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	free(c->buf);
	c->buf = NULL;
	c->len = c->cap = 0;
}

/* Sends everything, polling the server while the socket is full. False if the peer is gone. */
static bool
client_send(struct client *c, const char *data, size_t len)
{
	uint64_t end = now_ms() + WAIT_MS;
	ssize_t n;

	while (len > 0 && now_ms() < end) {
		n = send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			return false;
		}
		poll_some();
	}
	CU_ASSERT_EQUAL(len, 0);
	return len == 0;
}

static void
client_send_str(struct client *c, const char *s)
{
	CU_ASSERT(client_send(c, s, strlen(s)));
}

/* Reads what is there without waiting. */
static void
client_pump(struct client *c)
{
	ssize_t n;

	while (!c->eof) {
		if (c->cap - c->len < 65536) {
			c->cap = c->cap * 2 + 65536;
			c->buf = realloc(c->buf, c->cap);
			CU_ASSERT_PTR_NOT_NULL_FATAL(c->buf);
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, MSG_DONTWAIT);
		if (n > 0) {
			c->len += (size_t)n;
			c->buf[c->len] = '\0';
		} else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
			c->eof = true;
		} else {
			break;
		}
	}
}

/* The next answer line (without '\n'), malloc'd; NULL on timeout or end of stream. */
static char *
client_line(struct client *c)
{
	uint64_t end = now_ms() + WAIT_MS;
	char *nl, *line;
	size_t n;

	for (;;) {
		client_pump(c);
		nl = c->buf != NULL ? memchr(c->buf, '\n', c->len) : NULL;
		if (nl != NULL) {
			n = (size_t)(nl - c->buf);
			line = strndup(c->buf, n);
			memmove(c->buf, nl + 1, c->len - n - 1);
			c->len -= n + 1;
			return line;
		}
		if (c->eof || now_ms() >= end) {
			return NULL;
		}
		poll_some();
	}
}

/* Checks the next line equals expected. */
static void
expect_line(struct client *c, const char *expected)
{
	char *line = client_line(c);

	CU_ASSERT_PTR_NOT_NULL(line);
	if (line != NULL) {
		CU_ASSERT_STRING_EQUAL(line, expected);
		if (strcmp(line, expected) != 0) {
			fprintf(stderr, "\ngot      '%.300s'\nexpected '%s'\n", line, expected);
		}
	}
	free(line);
}

/* True when nothing arrives for ms milliseconds (and the connection stays open). */
static bool
client_silent(struct client *c, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (now_ms() < end) {
		client_pump(c);
		if (c->len > 0 || c->eof) {
			return false;
		}
		poll_some();
	}
	return true;
}

/* True when the server closes the connection within the wait (after any pending data). */
static bool
client_wait_eof(struct client *c)
{
	uint64_t end = now_ms() + WAIT_MS;

	while (now_ms() < end) {
		client_pump(c);
		if (c->eof) {
			return true;
		}
		poll_some();
	}
	return false;
}

static void
server_start(void)
{
	reset_counters();
	CU_ASSERT_EQUAL_FATAL(vt_rpc_server_listen(g_path), 0);
}

static void
server_stop(void)
{
	vt_rpc_server_close();
	CU_ASSERT_EQUAL(g_server.num_conns, 0);
	CU_ASSERT(TAILQ_EMPTY(&g_server.conns));
}

/* Polls until the server has n listed connections. */
static bool
wait_conns(uint32_t n)
{
	uint64_t end = now_ms() + WAIT_MS;

	while (g_server.num_conns != n && now_ms() < end) {
		poll_some();
	}
	return g_server.num_conns == n;
}

/* ---- tests ------------------------------------------------------------------------------- */

static void
single_request_gets_result(void)
{
	struct client c;

	server_start();
	client_connect(&c);
	client_send_str(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test_echo\","
			    "\"params\":{\"x\":[1,\"a\",2.50]}}");
	expect_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"x\":[1,\"a\",2.50]}}");
	client_close(&c);
	server_stop();
}

static void
ids_are_echoed_verbatim(void)
{
	struct client c;

	server_start();
	client_connect(&c);
	client_send_str(&c, "{\"jsonrpc\":\"2.0\",\"id\":\"abc-1\",\"method\":\"test_echo\"}");
	expect_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":\"abc-1\",\"result\":null}");
	client_send_str(&c, "{\"id\":1.50,\"method\":\"test_echo\",\"jsonrpc\":\"2.0\"}");
	expect_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":1.50,\"result\":null}");
	client_send_str(&c, "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"test_echo\"}");
	expect_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":null}");
	client_send_str(&c, "{\"jsonrpc\":\"2.0\",\"id\":-123456789012345678901,"
			    "\"method\":\"test_echo\",\"params\":[]}");
	expect_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":-123456789012345678901,\"result\":[]}");
	client_close(&c);
	server_stop();
}

static void
pipelined_requests_answered_in_order(void)
{
	struct client c;

	server_start();
	client_connect(&c);
	client_send_str(&c,
			"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test_echo\",\"params\":[1]}"
			"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"test_echo\",\"params\":[2]}\n"
			"  {\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"test_echo\",\"params\":[3]}");
	expect_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[1]}");
	expect_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":[2]}");
	expect_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":[3]}");
	client_close(&c);
	server_stop();
}

static void
request_split_byte_by_byte_is_answered(void)
{
	const char *req = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"test_echo\","
			  "\"params\":{\"s\":\"a}\\\"]\"}}";
	struct client c;
	size_t i;

	server_start();
	client_connect(&c);
	for (i = 0; req[i] != '\0'; i++) {
		client_send(&c, &req[i], 1);
		poll_for(1);
		if (req[i + 1] != '\0') {
			client_pump(&c);
			CU_ASSERT_EQUAL(c.len, 0);
		}
	}
	expect_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"s\":\"a}\\\"]\"}}");
	client_close(&c);
	server_stop();
}

static void
batch_answers_collected_in_one_array(void)
{
	struct client c;

	server_start();
	client_connect(&c);
	client_send_str(&c, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test_echo\","
			    "\"params\":[1]},"
			    "{\"jsonrpc\":\"2.0\",\"method\":\"test_count\"},"
			    "{\"foo\":\"boo\"},"
			    "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"nope\"},"
			    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"test_async\"},"
			    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"test_fail\"}]");
	/* The batch waits for its asynchronous member; nothing is written before. */
	poll_for(20);
	CU_ASSERT_EQUAL(g_num_async, 1);
	CU_ASSERT_EQUAL(g_count, 1);
	CU_ASSERT(client_silent(&c, 10));
	answer_async(0, false);
	expect_line(&c, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[1]},"
			"{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,"
			"\"message\":\"Invalid request: 'jsonrpc' must be \\\"2.0\\\"\"}},"
			"{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"error\":{\"code\":-32601,"
			"\"message\":\"Method not found: 'nope'\"}},"
			"{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":false},"
			"{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-32000,"
			"\"message\":\"it \\\"failed\\\"\"}}]");
	CU_ASSERT_EQUAL(g_count, 2);
	client_close(&c);
	server_stop();
}

static void
batch_of_invalid_values_answers_each(void)
{
	struct client c;

	server_start();
	client_connect(&c);
	client_send_str(&c, "[1,2]");
	expect_line(&c, "[{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,"
			"\"message\":\"Invalid request: not a JSON object\"}},"
			"{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,"
			"\"message\":\"Invalid request: not a JSON object\"}}]");
	client_close(&c);
	server_stop();
}

static void
empty_batch_is_invalid_request(void)
{
	struct client c;

	server_start();
	client_connect(&c);
	client_send_str(&c, "[]");
	expect_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,"
			"\"message\":\"Invalid request: empty batch\"}}");
	/* The connection stays usable. */
	client_send_str(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test_echo\"}");
	expect_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":null}");
	client_close(&c);
	server_stop();
}

static void
notification_gets_no_answer(void)
{
	struct client c;

	server_start();
	client_connect(&c);
	client_send_str(&c,
			"{\"jsonrpc\":\"2.0\",\"method\":\"test_count\"}"
			"{\"jsonrpc\":\"2.0\",\"method\":\"test_fail\"}"
			"{\"jsonrpc\":\"2.0\",\"method\":\"no_such_method\"}"
			"{\"jsonrpc\":\"2.0\",\"method\":\"test_big\",\"params\":{\"size\":-1}}");
	CU_ASSERT(client_silent(&c, 20));
	CU_ASSERT_EQUAL(g_count, 2);
	client_send_str(&c, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"test_count\"}");
	expect_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":true}");
	CU_ASSERT_EQUAL(g_count, 3);
	client_close(&c);
	server_stop();
}

static void
batch_of_notifications_gets_no_answer(void)
{
	struct client c;

	server_start();
	client_connect(&c);
	client_send_str(&c, "[{\"jsonrpc\":\"2.0\",\"method\":\"test_count\"},"
			    "{\"jsonrpc\":\"2.0\",\"method\":\"test_count\"}]");
	CU_ASSERT(client_silent(&c, 20));
	CU_ASSERT_EQUAL(g_count, 2);
	client_send_str(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test_echo\"}");
	expect_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":null}");
	client_close(&c);
	server_stop();
}

static void
parse_error_answers_and_closes(void)
{
	struct client c;
	char *line;

	server_start();
	client_connect(&c);
	client_send_str(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test_count\"}"
			    "{\"jsonrpc\": nope}"
			    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"test_count\"}");
	expect_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":true}");
	line = client_line(&c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(line);
	CU_ASSERT_STRING_EQUAL(line,
			       "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,"
			       "\"message\":\"Parse error: lexical error: invalid string in json "
			       "text.\"}}");
	free(line);
	CU_ASSERT(client_wait_eof(&c));
	CU_ASSERT_EQUAL(c.len, 0);
	/* What followed the bad value was not run. */
	CU_ASSERT_EQUAL(g_count, 1);
	CU_ASSERT(wait_conns(0));
	client_close(&c);
	server_stop();
}

static void
invalid_requests_get_32600(void)
{
	static const struct {
		const char *req;
		const char *answer;
	} cases[] = {
		{ "5", "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,"
		       "\"message\":\"Invalid request: not a JSON object\"}}" },
		{ "\"x\"", "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,"
			   "\"message\":\"Invalid request: not a JSON object\"}}" },
		{ "{\"id\":1,\"method\":\"test_echo\"}",
		  "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32600,"
		  "\"message\":\"Invalid request: 'jsonrpc' must be \\\"2.0\\\"\"}}" },
		{ "{\"jsonrpc\":\"1.0\",\"id\":2,\"method\":\"test_echo\"}",
		  "{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32600,"
		  "\"message\":\"Invalid request: 'jsonrpc' must be \\\"2.0\\\"\"}}" },
		{ "{\"jsonrpc\":2.0,\"id\":3,\"method\":\"test_echo\"}",
		  "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-32600,"
		  "\"message\":\"Invalid request: 'jsonrpc' must be \\\"2.0\\\"\"}}" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":4}",
		  "{\"jsonrpc\":\"2.0\",\"id\":4,\"error\":{\"code\":-32600,"
		  "\"message\":\"Invalid request: 'method' must be a string\"}}" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":1}",
		  "{\"jsonrpc\":\"2.0\",\"id\":5,\"error\":{\"code\":-32600,"
		  "\"message\":\"Invalid request: 'method' must be a string\"}}" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"test_echo\"}",
		  "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,"
		  "\"message\":\"Invalid request: 'id' must be a string, a number or null\"}}" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"test_echo\"}",
		  "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,"
		  "\"message\":\"Invalid request: 'id' must be a string, a number or null\"}}" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"test_echo\",\"params\":\"p\"}",
		  "{\"jsonrpc\":\"2.0\",\"id\":6,\"error\":{\"code\":-32600,"
		  "\"message\":\"Invalid request: 'params' must be an object or an array\"}}" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"test_echo\",\"params\":null}",
		  "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-32600,"
		  "\"message\":\"Invalid request: 'params' must be an object or an array\"}}" },
		/* Without an id, an invalid request is still answered (it is no notification). */
		{ "{\"jsonrpc\":\"2.0\",\"method\":5}",
		  "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,"
		  "\"message\":\"Invalid request: 'method' must be a string\"}}" },
	};
	struct client c;
	size_t i;

	server_start();
	client_connect(&c);
	for (i = 0; i < VT_COUNTOF(cases); i++) {
		client_send_str(&c, cases[i].req);
		/* A bare number needs a delimiter to end. */
		client_send_str(&c, "\n");
		expect_line(&c, cases[i].answer);
	}
	CU_ASSERT_EQUAL(g_server.num_conns, 1);
	client_close(&c);
	server_stop();
}

static void
method_not_found_names_the_method(void)
{
	struct client c;

	server_start();
	client_connect(&c);
	client_send_str(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"bdev_nothing\"}");
	expect_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32601,"
			"\"message\":\"Method not found: 'bdev_nothing'\"}}");
	client_close(&c);
	server_stop();
}

static void
method_not_allowed_in_state_gets_32601(void)
{
	struct client c;

	server_start();
	vt_rpc_set_state(VT_RPC_RUNTIME);
	client_connect(&c);
	client_send_str(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test_startup_only\"}");
	expect_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32601,"
			"\"message\":\"method 'test_startup_only' is not allowed in the runtime "
			"state\"}}");
	CU_ASSERT_EQUAL(g_count, 0);
	vt_rpc_set_state(VT_RPC_STARTUP);
	client_send_str(&c, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"test_startup_only\"}");
	expect_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":true}");
	CU_ASSERT_EQUAL(g_count, 1);
	client_close(&c);
	server_stop();
}

static void
invalid_params_get_32602(void)
{
	struct client c;

	server_start();
	client_connect(&c);
	client_send_str(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test_big\","
			    "\"params\":{\"size\":\"big\"}}");
	expect_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32602,"
			"\"message\":\"invalid parameter 'size': expected unsigned integer\"}}");
	client_send_str(&c, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"test_big\","
			    "\"params\":[3]}");
	expect_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32602,"
			"\"message\":\"params must be an object\"}}");
	client_close(&c);
	server_stop();
}

static void
invalid_result_gets_32603(void)
{
	struct client c;

	server_start();
	client_connect(&c);
	client_send_str(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test_bad_result\"}");
	expect_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32603,"
			"\"message\":\"internal error: invalid result\"}}");
	client_close(&c);
	server_stop();
}

static void
async_handler_holds_connection_until_answered(void)
{
	struct client c;

	server_start();
	client_connect(&c);
	client_send_str(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test_async\"}"
			    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"test_count\"}");
	poll_for(20);
	CU_ASSERT_EQUAL(g_num_async, 1);
	/* The second request waits for the first to be answered. */
	CU_ASSERT_EQUAL(g_count, 0);
	CU_ASSERT(client_silent(&c, 10));
	answer_async(0, true);
	expect_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":true}");
	expect_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":true}");
	CU_ASSERT_EQUAL(g_count, 1);
	client_close(&c);
	server_stop();
}

static void
async_handler_does_not_block_other_connections(void)
{
	struct client a, b;

	server_start();
	client_connect(&a);
	client_connect(&b);
	client_send_str(&a, "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"test_async\"}");
	poll_for(10);
	CU_ASSERT_EQUAL(g_num_async, 1);
	client_send_str(&b, "{\"jsonrpc\":\"2.0\",\"id\":\"b\",\"method\":\"test_count\"}");
	expect_line(&b, "{\"jsonrpc\":\"2.0\",\"id\":\"b\",\"result\":true}");
	answer_async(0, false);
	expect_line(&a, "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"result\":false}");
	client_close(&a);
	client_close(&b);
	server_stop();
}

static void
oversize_request_answers_and_closes(void)
{
	const char *head = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test_echo\","
			   "\"params\":{\"s\":\"";
	size_t len = VT_JSONRPC_MAX_REQUEST_SIZE + 2 * 1024 * 1024, off = 0;
	uint64_t end = now_ms() + WAIT_MS;
	struct client c;
	char *req, *line;
	ssize_t n;

	req = malloc(len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(req);
	memset(req, 'a', len);
	memcpy(req, head, strlen(head));
	memcpy(req + len - 3, "\"}}", 3);
	server_start();
	client_connect(&c);
	/* Send until the server stops us (it closes), reading as we go. */
	while (off < len && now_ms() < end) {
		n = send(c.fd, req + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			off += (size_t)n;
		} else if (n < 0 && errno != EAGAIN) {
			break;
		}
		poll_some();
	}
	CU_ASSERT(off < len);
	line = client_line(&c);
	CU_ASSERT_PTR_NOT_NULL(line);
	if (line != NULL) {
		CU_ASSERT_STRING_EQUAL(line,
				       "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":"
				       "-32600,\"message\":\"request too large (limit 4194304 "
				       "bytes)\"}}");
	}
	free(line);
	CU_ASSERT(client_wait_eof(&c));
	CU_ASSERT(wait_conns(0));
	client_close(&c);
	free(req);
	server_stop();
}

static void
request_of_max_size_is_accepted(void)
{
	const char *head = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test_count\","
			   "\"params\":{\"s\":\"";
	size_t len = VT_JSONRPC_MAX_REQUEST_SIZE;
	struct client c;
	char *req;

	req = malloc(len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(req);
	memset(req, 'a', len);
	memcpy(req, head, strlen(head));
	memcpy(req + len - 3, "\"}}", 3);
	server_start();
	client_connect(&c);
	CU_ASSERT(client_send(&c, req, len));
	expect_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":true}");
	client_close(&c);
	free(req);
	server_stop();
}

static void
sixty_four_connections_each_answered(void)
{
	struct client c[64];
	char req[128], answer[128];
	int i;

	server_start();
	for (i = 0; i < 64; i++) {
		client_connect(&c[i]);
	}
	for (i = 0; i < 64; i++) {
		snprintf(req, sizeof(req),
			 "{\"jsonrpc\":\"2.0\",\"id\":%d,"
			 "\"method\":\"test_echo\",\"params\":[%d]}",
			 i, i * 3);
		client_send_str(&c[i], req);
	}
	for (i = 63; i >= 0; i--) {
		snprintf(answer, sizeof(answer), "{\"jsonrpc\":\"2.0\",\"id\":%d,\"result\":[%d]}",
			 i, i * 3);
		expect_line(&c[i], answer);
	}
	CU_ASSERT_EQUAL(g_server.num_conns, 64);
	for (i = 0; i < 64; i++) {
		client_close(&c[i]);
	}
	CU_ASSERT(wait_conns(0));
	server_stop();
}

static void
connections_beyond_limit_are_closed(void)
{
	struct client c[VT_JSONRPC_MAX_CONNS + 1];
	int i;

	server_start();
	for (i = 0; i < VT_JSONRPC_MAX_CONNS; i++) {
		client_connect(&c[i]);
	}
	CU_ASSERT(wait_conns(VT_JSONRPC_MAX_CONNS));
	client_connect(&c[VT_JSONRPC_MAX_CONNS]);
	CU_ASSERT(client_wait_eof(&c[VT_JSONRPC_MAX_CONNS]));
	CU_ASSERT_EQUAL(g_server.num_conns, VT_JSONRPC_MAX_CONNS);
	/* The earlier ones still work. */
	client_send_str(&c[0], "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test_echo\"}");
	expect_line(&c[0], "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":null}");
	for (i = 0; i <= VT_JSONRPC_MAX_CONNS; i++) {
		client_close(&c[i]);
	}
	CU_ASSERT(wait_conns(0));
	server_stop();
}

static void
peer_close_while_async_pending_drops_answer(void)
{
	struct rpc_conn *conn;
	struct client c;

	server_start();
	client_connect(&c);
	client_send_str(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test_async\"}"
			    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"test_count\"}");
	poll_for(10);
	CU_ASSERT_EQUAL_FATAL(g_num_async, 1);
	client_close(&c);
	poll_for(10);
	/* The connection waits for its handler, without its socket. */
	CU_ASSERT_EQUAL(g_server.num_conns, 1);
	conn = TAILQ_FIRST(&g_server.conns);
	CU_ASSERT_PTR_NOT_NULL_FATAL(conn);
	CU_ASSERT_PTR_NULL(conn->poller);
	answer_async(0, true);
	poll_for(10);
	CU_ASSERT_EQUAL(g_server.num_conns, 0);
	/* The request behind it was not run: its answer could not be delivered. */
	CU_ASSERT_EQUAL(g_count, 0);
	server_stop();
}

static void
peer_gone_notifications_still_run(void)
{
	struct client c;
	uint64_t end;

	server_start();
	client_connect(&c);
	client_send_str(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"test_count\"}"
			    "{\"jsonrpc\":\"2.0\",\"method\":\"test_count\"}");
	client_close(&c);
	/* It may not even be accepted yet: wait for the work, not for the connection count. */
	end = now_ms() + WAIT_MS;
	while (g_count < 2 && now_ms() < end) {
		poll_some();
	}
	CU_ASSERT(wait_conns(0));
	CU_ASSERT_EQUAL(g_count, 2);
	server_stop();
}

static void
half_closed_peer_still_gets_answers(void)
{
	struct client c;

	server_start();
	client_connect(&c);
	client_send_str(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test_async\"}"
			    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"test_echo\"}");
	CU_ASSERT_EQUAL(shutdown(c.fd, SHUT_WR), 0);
	poll_for(10);
	answer_async(0, true);
	expect_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":true}");
	expect_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":null}");
	CU_ASSERT(client_wait_eof(&c));
	CU_ASSERT(wait_conns(0));
	client_close(&c);
	server_stop();
}

static void
large_output_stops_reading_until_flushed(void)
{
	const char *req = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test_big\",\"params\":"
			  "{\"size\":700000}}";
	struct rpc_conn *conn;
	struct client c;
	char *line;
	int i;

	server_start();
	client_connect(&c);
	for (i = 0; i < 4; i++) {
		client_send_str(&c, req);
	}
	poll_for(30);
	/* The client reads nothing: the server stops before running all four. */
	CU_ASSERT(g_big_calls >= 1 && g_big_calls < 4);
	conn = TAILQ_FIRST(&g_server.conns);
	CU_ASSERT_PTR_NOT_NULL_FATAL(conn);
	CU_ASSERT(buf_pending(&conn->out) > JSONRPC_OUT_HIGH_WATER);
	CU_ASSERT_EQUAL(conn->events, EPOLLOUT);
	for (i = 0; i < 4; i++) {
		line = client_line(&c);
		CU_ASSERT_PTR_NOT_NULL_FATAL(line);
		CU_ASSERT_EQUAL(strlen(line), 700000 + strlen("{\"jsonrpc\":\"2.0\",\"id\":1,"
							      "\"result\":\"\"}"));
		free(line);
	}
	CU_ASSERT_EQUAL(g_big_calls, 4);
	client_close(&c);
	server_stop();
}

static void
lock_file_prevents_second_server(void)
{
	struct client c;
	int fd;

	server_start();
	/* Another process (here: another open file description) cannot take the lock. */
	fd = open(g_lock_path, O_RDWR);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(flock(fd, LOCK_EX | LOCK_NB), -1);
	CU_ASSERT_EQUAL(errno, EWOULDBLOCK);
	close(fd);
	/* Listening again in this process is refused too. */
	CU_ASSERT_EQUAL(vt_rpc_server_listen(g_path), -EBUSY);
	server_stop();

	/* With the lock held elsewhere, listen fails and leaves the socket path alone. */
	fd = open(g_lock_path, O_RDWR | O_CREAT, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(flock(fd, LOCK_EX | LOCK_NB), 0);
	CU_ASSERT_EQUAL(vt_rpc_server_listen(g_path), -EADDRINUSE);
	CU_ASSERT_PTR_NULL(vt_rpc_server_path());
	close(fd);
	unlink(g_lock_path);
	/* Released: it works again. */
	server_start();
	client_connect(&c);
	client_send_str(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test_echo\"}");
	expect_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":null}");
	client_close(&c);
	server_stop();
}

static void
close_removes_socket_and_lock_file(void)
{
	struct stat st;
	struct client c;

	server_start();
	CU_ASSERT_STRING_EQUAL(vt_rpc_server_path(), g_path);
	CU_ASSERT_EQUAL(stat(g_path, &st), 0);
	CU_ASSERT(S_ISSOCK(st.st_mode));
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL(stat(g_lock_path, &st), 0);
	client_connect(&c);
	CU_ASSERT(wait_conns(1));
	server_stop();
	/* Its connections are closed too. */
	CU_ASSERT(client_wait_eof(&c));
	client_close(&c);
	CU_ASSERT_EQUAL(stat(g_path, &st), -1);
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_EQUAL(stat(g_lock_path, &st), -1);
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_PTR_NULL(vt_rpc_server_path());
}

static void
close_with_pending_request_drops_its_answer(void)
{
	struct client c;

	server_start();
	client_connect(&c);
	client_send_str(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test_async\"}");
	poll_for(10);
	CU_ASSERT_EQUAL_FATAL(g_num_async, 1);
	server_stop();
	CU_ASSERT(client_wait_eof(&c));
	client_close(&c);
	/* The handler answers after the server is gone: dropped, no crash, nothing leaks. */
	answer_async(0, true);
	poll_for(5);
}

static void
stale_socket_is_replaced(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct client c;
	int fd;

	/* A socket file left by a dead daemon (nobody holds the lock). */
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", g_path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
	server_start();
	client_connect(&c);
	client_send_str(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test_echo\"}");
	expect_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":null}");
	client_close(&c);
	server_stop();
}

static void
listen_rejects_too_long_path(void)
{
	char path[200];

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	CU_ASSERT_EQUAL(vt_rpc_server_listen(path), -ENAMETOOLONG);
	CU_ASSERT_PTR_NULL(vt_rpc_server_path());
}

/* ---- main -------------------------------------------------------------------------------- */

static int
suite_init(void)
{
	if (ut_reactor_init_one(false) != 0) {
		return -1;
	}
	if (mkdtemp(g_dir) == NULL) {
		return -1;
	}
	snprintf(g_path, sizeof(g_path), "%s/rpc.sock", g_dir);
	snprintf(g_lock_path, sizeof(g_lock_path), "%s.lock", g_path);
	vt_rpc_register_method("test_echo", rpc_test_echo, VT_RPC_STARTUP | VT_RPC_RUNTIME);
	vt_rpc_register_method("test_async", rpc_test_async, VT_RPC_STARTUP | VT_RPC_RUNTIME);
	vt_rpc_register_method("test_count", rpc_test_count, VT_RPC_STARTUP | VT_RPC_RUNTIME);
	vt_rpc_register_method("test_fail", rpc_test_fail, VT_RPC_STARTUP | VT_RPC_RUNTIME);
	vt_rpc_register_method("test_big", rpc_test_big, VT_RPC_STARTUP | VT_RPC_RUNTIME);
	vt_rpc_register_method("test_bad_result", rpc_test_bad_result,
			       VT_RPC_STARTUP | VT_RPC_RUNTIME);
	vt_rpc_register_method("test_startup_only", rpc_test_count, VT_RPC_STARTUP);
	return 0;
}

static int
suite_fini(void)
{
	vt_rpc_server_close();
	unlink(g_path);
	unlink(g_lock_path);
	rmdir(g_dir);
	vt_reactors_fini();
	return 0;
}

int
main(void)
{
	CU_pSuite s;

	snprintf(g_dir, sizeof(g_dir), "/tmp/vt_server_ut.XXXXXX");
	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	s = CU_add_suite("rpc_server", suite_init, suite_fini);
	CU_ADD_TEST(s, single_request_gets_result);
	CU_ADD_TEST(s, ids_are_echoed_verbatim);
	CU_ADD_TEST(s, pipelined_requests_answered_in_order);
	CU_ADD_TEST(s, request_split_byte_by_byte_is_answered);
	CU_ADD_TEST(s, batch_answers_collected_in_one_array);
	CU_ADD_TEST(s, batch_of_invalid_values_answers_each);
	CU_ADD_TEST(s, empty_batch_is_invalid_request);
	CU_ADD_TEST(s, notification_gets_no_answer);
	CU_ADD_TEST(s, batch_of_notifications_gets_no_answer);
	CU_ADD_TEST(s, parse_error_answers_and_closes);
	CU_ADD_TEST(s, invalid_requests_get_32600);
	CU_ADD_TEST(s, method_not_found_names_the_method);
	CU_ADD_TEST(s, method_not_allowed_in_state_gets_32601);
	CU_ADD_TEST(s, invalid_params_get_32602);
	CU_ADD_TEST(s, invalid_result_gets_32603);
	CU_ADD_TEST(s, async_handler_holds_connection_until_answered);
	CU_ADD_TEST(s, async_handler_does_not_block_other_connections);
	CU_ADD_TEST(s, oversize_request_answers_and_closes);
	CU_ADD_TEST(s, request_of_max_size_is_accepted);
	CU_ADD_TEST(s, sixty_four_connections_each_answered);
	CU_ADD_TEST(s, connections_beyond_limit_are_closed);
	CU_ADD_TEST(s, peer_close_while_async_pending_drops_answer);
	CU_ADD_TEST(s, peer_gone_notifications_still_run);
	CU_ADD_TEST(s, half_closed_peer_still_gets_answers);
	CU_ADD_TEST(s, large_output_stops_reading_until_flushed);
	CU_ADD_TEST(s, lock_file_prevents_second_server);
	CU_ADD_TEST(s, close_removes_socket_and_lock_file);
	CU_ADD_TEST(s, close_with_pending_request_drops_its_answer);
	CU_ADD_TEST(s, stale_socket_is_replaced);
	CU_ADD_TEST(s, listen_rejects_too_long_path);

	return ut_run_tests();
}
