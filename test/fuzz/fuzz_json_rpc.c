/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for the JSON layer and the RPC methods (lib/jsonrpc and the methods of every
 * library): arbitrary bytes as an RPC client would send them.
 *
 * Input: byte 0 picks the RPC state (bit 0: runtime, else start-up), the piece size the stream
 * is fed in (bits 1-4) and whether the bytes also go to the real server over its Unix socket
 * (bit 5); the rest is the byte stream. For it:
 *   1. the stream scanner (json.c) cuts it into values fed whole and fed in pieces with the
 *      buffer compacted as the server does: both must find the same values;
 *   2. every value is parsed; a parsed tree must write back to text that parses and writes to
 *      the same text again; every scalar in it goes through every number/string/bool decoder,
 *      whose answers must agree with each other;
 *   3. every request object in it (or in a batch) that fz_request_safe (fuzz_rpc_env.h) lets
 *      through is called in-process (vt_rpc_call), so the method's own decoders get the
 *      params; the call must answer within a bounded number of reactor iterations;
 *   4. when every request is let through, the stream also goes to the server on a real socket
 *      in pieces, and the answers are read until the server closes the connection.
 * Bdevs, log settings and bdev options are put back after each input.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vt/bdev.h"
#include "vt/bdev_module.h"
#include "vt/event.h"
#include "vt/json.h"
#include "vt/log.h"
#include "vt/rpc.h"
#include "vt/util.h"

#include "lib/bdev/malloc/bdev_malloc.h"
#include "lib/bdev/null/bdev_null.h"
#include "lib/jsonrpc/jsonrpc_internal.h"
#include "test/fuzz/fuzz_bytes.h"
#include "test/fuzz/fuzz_rpc_env.h"
#include "test/unit/common/ut_reactor.h"

#define MAX_VALUES 64


struct fz_val {
	size_t start;
	size_t len;
};

static char g_sock_path[PATH_MAX];

static bool
fz_tree_safe(yajl_val tree)
{
	if (YAJL_IS_ARRAY(tree)) {
		for (size_t i = 0; i < tree->u.array.len; i++) {
			if (!fz_request_safe(tree->u.array.values[i])) {
				return false;
			}
		}
		return true;
	}
	return fz_request_safe(tree);
}

/* ---- 1. the scanner ------------------------------------------------------------------------ */

/* The values of text[0, len) scanned whole, as the server sees a stream that ended. */
static size_t
fz_scan_whole(const char *text, size_t len, struct fz_val *vals)
{
	struct json_scanner s;
	size_t n = 0;

	json_scanner_init(&s);
	while (n < MAX_VALUES) {
		if (json_scanner_next(&s, text, len) == JSON_SCAN_VALUE ||
		    json_scanner_finish(&s, len)) {
			vals[n].start = s.value_start;
			vals[n].len = s.pos - s.value_start;
			n++;
			continue;
		}
		break;
	}
	return n;
}

/* The same fed piece by piece into a buffer that is compacted like the server's. */
static void
fz_scan_pieces(const char *text, size_t len, size_t piece, const struct fz_val *vals, size_t nvals)
{
	struct json_scanner s;
	char *buf = malloc(len + 1);
	size_t have = 0, fed = 0, base = 0, n = 0; /* base: stream offset of buf[0] */
	bool eof = false;

	if (buf == NULL) {
		fz_fail("fuzz_json_rpc: out of memory");
	}
	json_scanner_init(&s);
	while (n < MAX_VALUES) {
		if (json_scanner_next(&s, buf, have) == JSON_SCAN_VALUE ||
		    (eof && json_scanner_finish(&s, have))) {
			if (n >= nvals || vals[n].start != base + s.value_start ||
			    vals[n].len != s.pos - s.value_start) {
				fz_fail("fuzz_json_rpc: scanner finds other values when fed in pieces");
			}
			n++;
			continue;
		}
		if (eof) {
			break;
		}
		/* Compact: drop what the scanner no longer needs. */
		size_t keep = json_scanner_keep(&s);

		memmove(buf, buf + keep, have - keep);
		have -= keep;
		base += keep;
		json_scanner_shift(&s, keep);
		if (fed == len) {
			eof = true;
			continue;
		}
		size_t k = VT_MIN(piece, len - fed);

		memcpy(buf + have, text + fed, k);
		have += k;
		fed += k;
	}
	if (n != nvals && n < MAX_VALUES) {
		fz_fail("fuzz_json_rpc: scanner finds fewer values when fed in pieces");
	}
	free(buf);
}

/* ---- 2. parse, write back, decoders --------------------------------------------------------- */


static void
fz_decoders(yajl_val v)
{
	uint64_t u64 = 0;
	int64_t i64 = 0;
	uint32_t u32 = 0;
	uint16_t u16 = 0;
	uint8_t u8 = 0;
	int32_t i32 = 0;
	bool b;
	char *s = NULL;
	int r64, r32, r16, r8, ri64, ri32;

	if (vt_json_decode_string(v, &s) == 0) {
		if (!YAJL_IS_STRING(v) || s == NULL || strcmp(s, YAJL_GET_STRING(v)) != 0) {
			fz_fail("fuzz_json_rpc: string decoder disagrees with the tree");
		}
		free(s);
	}
	if (vt_json_decode_bool(v, &b) == 0 && !YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v)) {
		fz_fail("fuzz_json_rpc: bool decoder accepts a non-boolean");
	}
	r64 = vt_json_decode_uint64(v, &u64);
	r32 = vt_json_decode_uint32(v, &u32);
	r16 = vt_json_decode_uint16(v, &u16);
	r8 = vt_json_decode_uint8(v, &u8);
	ri64 = vt_json_decode_int64(v, &i64);
	ri32 = vt_json_decode_int32(v, &i32);
	if ((r32 == 0 && (r64 != 0 || u64 != u32)) || (r16 == 0 && (r32 != 0 || u32 != u16)) ||
	    (r8 == 0 && (r16 != 0 || u16 != u8))) {
		fz_fail("fuzz_json_rpc: unsigned decoders disagree");
	}
	if (r64 == 0 && ((u64 <= UINT32_MAX) != (r32 == 0))) {
		fz_fail("fuzz_json_rpc: uint32 decoder disagrees with the uint64 one on range");
	}
	if (ri32 == 0 && (ri64 != 0 || i64 != i32)) {
		fz_fail("fuzz_json_rpc: signed decoders disagree");
	}
	if (ri64 == 0 && r64 == 0 && (i64 < 0 || (uint64_t)i64 != u64)) {
		fz_fail("fuzz_json_rpc: signed and unsigned decoders disagree");
	}
	if (ri64 == 0 && ((i64 >= INT32_MIN && i64 <= INT32_MAX) != (ri32 == 0))) {
		fz_fail("fuzz_json_rpc: int32 decoder disagrees with the int64 one on range");
	}
}

static void
fz_walk(yajl_val v, int depth)
{
	fz_decoders(v);
	(void)vt_json_type_name(v);
	if (YAJL_IS_OBJECT(v)) {
		for (size_t i = 0; i < v->u.object.len; i++) {
			if (vt_json_object_get(v, v->u.object.keys[i]) == NULL) {
				fz_fail("fuzz_json_rpc: object member not found by its key");
			}
			fz_walk(v->u.object.values[i], depth + 1);
		}
	} else if (YAJL_IS_ARRAY(v)) {
		for (size_t i = 0; i < v->u.array.len; i++) {
			fz_walk(v->u.array.values[i], depth + 1);
		}
	}
}

static void
fz_roundtrip(yajl_val tree)
{
	char err[256], *t1, *t2;
	yajl_val again;

	t1 = fz_write(tree);
	if (t1 == NULL) {
		/* Strings that are not UTF-8 are refused by the writer: not an error. */
		return;
	}
	again = vt_json_parse(t1, strlen(t1), err, sizeof(err));
	if (again == NULL) {
		fprintf(stderr, "written: %s\nerror: %s\n", t1, err);
		fz_fail("fuzz_json_rpc: written JSON does not parse");
	}
	t2 = fz_write(again);
	if (t2 == NULL || strcmp(t1, t2) != 0) {
		fprintf(stderr, "first: %s\nsecond: %s\n", t1, t2 != NULL ? t2 : "(null)");
		fz_fail("fuzz_json_rpc: JSON changes when written twice");
	}
	free(t2);
	free(t1);
	yajl_tree_free(again);
}

/* ---- 3. in-process calls -------------------------------------------------------------------- */


static void
fz_call_request(yajl_val obj)
{
	yajl_val method = vt_json_object_get(obj, "method");
	yajl_val params = vt_json_object_get(obj, "params");
	struct fz_call c = { 0 };

	if (!YAJL_IS_STRING(method) || !fz_request_safe(obj)) {
		return;
	}
	vt_rpc_call(YAJL_GET_STRING(method), params, fz_call_cb, &c);
	if (!fz_poll_until(&c.done, 1)) {
		fprintf(stderr, "method %s\n", YAJL_GET_STRING(method));
		fz_fail("fuzz_json_rpc: rpc method never answers");
	}
	if (c.done != 1) {
		fz_fail("fuzz_json_rpc: rpc method answers twice");
	}
}

/* ---- 4. the server on its socket ------------------------------------------------------------ */

static void
fz_socket(const char *text, size_t len, size_t piece)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char rbuf[65536];
	size_t sent = 0;
	bool eof = false, shut = false;
	long n;
	int fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		fz_fail("fuzz_json_rpc: socket");
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", g_sock_path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fz_fail("fuzz_json_rpc: cannot connect to the rpc server");
	}
	for (n = 0; n < FZ_POLL_BUDGET && !eof; n++) {
		if (sent < len) {
			ssize_t w = send(fd, text + sent, VT_MIN(piece, len - sent), MSG_NOSIGNAL);

			if (w > 0) {
				sent += (size_t)w;
			} else if (w < 0 && errno != EAGAIN && errno != EPIPE &&
				   errno != ECONNRESET) {
				fz_fail("fuzz_json_rpc: send");
			} else if (w < 0 && errno != EAGAIN) {
				sent = len; /* the server closed the connection */
			}
		} else if (!shut) {
			shutdown(fd, SHUT_WR);
			shut = true;
		}
		vt_reactor_poll_once();
		for (;;) {
			ssize_t r = recv(fd, rbuf, sizeof(rbuf), 0);

			if (r == 0 || (r < 0 && errno == ECONNRESET)) {
				eof = true;
				break;
			}
			if (r < 0) {
				break;
			}
		}
	}
	close(fd);
	if (getenv("FUZZ_TRACE") != NULL) {
		fprintf(stderr, "socket: %zu bytes in pieces of %zu, closed after %ld iterations\n",
			len, piece, n);
	}
	if (!eof) {
		fz_fail("fuzz_json_rpc: the rpc server never closes a connection whose client hung up");
	}
	/* Let the server release the connection. */
	for (int i = 0; i < 8; i++) {
		vt_reactor_poll_once();
	}
}


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_env_init();
	snprintf(g_sock_path, sizeof(g_sock_path), "%s/rpc.%ld.sock", g_fz_dir, (long)getpid());
	if (vt_rpc_server_listen(g_sock_path) != 0) {
		fz_fail("fuzz_json_rpc: cannot listen");
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_val vals[MAX_VALUES];
	const char *text = (const char *)data + 1;
	size_t len, nvals, piece;
	bool all_safe = true;
	uint8_t mode;

	if (size == 0) {
		return 0;
	}
	fz_env_enter();
	mode = data[0];
	len = size - 1;
	piece = 1 + ((mode >> 1) & 15) * 17;
	vt_rpc_set_state((mode & 1) ? VT_RPC_RUNTIME : VT_RPC_STARTUP);

	nvals = fz_scan_whole(text, len, vals);
	fz_scan_pieces(text, len, piece, vals, nvals);
	for (size_t i = 0; i < nvals; i++) {
		char err[256];
		yajl_val tree = vt_json_parse(text + vals[i].start, vals[i].len, err, sizeof(err));

		if (tree == NULL) {
			if (strnlen(err, sizeof(err)) == 0) {
				fz_fail("fuzz_json_rpc: parse error without a message");
			}
			continue;
		}
		fz_walk(tree, 0);
		fz_roundtrip(tree);
		all_safe = all_safe && fz_tree_safe(tree);
		if (YAJL_IS_ARRAY(tree)) {
			for (size_t j = 0; j < tree->u.array.len; j++) {
				fz_call_request(tree->u.array.values[j]);
			}
		} else {
			fz_call_request(tree);
		}
		yajl_tree_free(tree);
	}
	if ((mode & 0x20) && all_safe && nvals < MAX_VALUES) {
		fz_env_restore();
		vt_rpc_set_state((mode & 1) ? VT_RPC_RUNTIME : VT_RPC_STARTUP);
		fz_socket(text, len, piece);
	}
	fz_env_restore();
	fz_env_leave();
	return 0;
}
