/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * JSON writing over yajl_gen, parsing with yajl_tree, the stream scanner the RPC server uses to cut
 * requests out of a byte stream, and the decoders that turn parsed trees into C structs.
 *
 * The writer keeps its own record of where it is (top level, object name due, object value due,
 * array) so that a misplaced call is caught even where yajl_gen would let it through (yajl emits
 * `{"a":}` without complaint). Any error is sticky: later calls do nothing and
 * vt_json_write_end reports it. yajl prints through our callback into our own buffer, because
 * yajl's internal buffer does not check its allocations.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "vt/json.h"
#include "vt/log.h"
#include "vt/util.h"

#include "jsonrpc_internal.h"

/* yajl_gen refuses to nest deeper than 127 levels; stay within it. */
#define JSON_WRITE_MAX_DEPTH 127

enum json_write_level {
	LEVEL_ARRAY = 0,
	LEVEL_OBJECT_NAME,  /* in an object, a member name comes next */
	LEVEL_OBJECT_VALUE, /* in an object, after a name: its value comes next */
};

struct vt_json_write_ctx {
	yajl_gen gen;
	char *buf; /* NUL-terminated output */
	size_t len;
	size_t cap;
	int rc;            /* first error, sticky */
	bool top_done;     /* a complete top-level value was written */
	bool with_batches; /* batch_begin/end write a nested array (else nothing) */
	uint32_t depth;
	uint8_t level[JSON_WRITE_MAX_DEPTH];
};

static void
json_write_print(void *ctx, const char *str, size_t len)
{
	struct vt_json_write_ctx *w = ctx;
	size_t cap;
	char *buf;

	if (w->rc != 0) {
		return;
	}
	if (w->len + len + 1 > w->cap) {
		cap = VT_MAX(w->cap * 2, (size_t)256);
		while (cap < w->len + len + 1) {
			cap *= 2;
		}
		buf = realloc(w->buf, cap);
		if (buf == NULL) {
			w->rc = -ENOMEM;
			return;
		}
		w->buf = buf;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, str, len);
	w->len += len;
	w->buf[w->len] = '\0';
}

struct vt_json_write_ctx *
vt_json_write_begin(bool pretty)
{
	struct vt_json_write_ctx *w;

	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		return NULL;
	}
	w->gen = yajl_gen_alloc(NULL);
	if (w->gen == NULL) {
		free(w);
		return NULL;
	}
	yajl_gen_config(w->gen, yajl_gen_print_callback, json_write_print, w);
	yajl_gen_config(w->gen, yajl_gen_validate_utf8, 1);
	if (pretty) {
		yajl_gen_config(w->gen, yajl_gen_beautify, 1);
		yajl_gen_config(w->gen, yajl_gen_indent_string, "  ");
	}
	return w;
}

int
vt_json_write_end(struct vt_json_write_ctx *w)
{
	if (w == NULL) {
		return -EINVAL;
	}
	if (w->rc != 0) {
		return w->rc;
	}
	if (w->depth != 0 || !w->top_done) {
		return -EINVAL;
	}
	return 0;
}

const char *
vt_json_write_buf(struct vt_json_write_ctx *w, size_t *len)
{
	if (w == NULL || w->buf == NULL) {
		if (len != NULL) {
			*len = 0;
		}
		return "";
	}
	if (len != NULL) {
		*len = w->len;
	}
	return w->buf;
}

void
vt_json_write_free(struct vt_json_write_ctx *w)
{
	if (w == NULL) {
		return;
	}
	yajl_gen_free(w->gen);
	free(w->buf);
	free(w);
}

/* True when a value may be written at the current position; otherwise records the error. */
static bool
json_value_begin(struct vt_json_write_ctx *w)
{
	if (w == NULL || w->rc != 0) {
		return false;
	}
	if (w->depth == 0 ? w->top_done : w->level[w->depth - 1] == LEVEL_OBJECT_NAME) {
		w->rc = -EINVAL;
		return false;
	}
	return true;
}

static void
json_value_done(struct vt_json_write_ctx *w)
{
	if (w->depth == 0) {
		w->top_done = true;
	} else if (w->level[w->depth - 1] == LEVEL_OBJECT_VALUE) {
		w->level[w->depth - 1] = LEVEL_OBJECT_NAME;
	}
}

/* Records a failed yajl call; the print callback may have recorded -ENOMEM already. */
static bool
json_gen_ok(struct vt_json_write_ctx *w, yajl_gen_status st)
{
	if (w->rc == 0 && st != yajl_gen_status_ok) {
		w->rc = -EINVAL;
	}
	return w->rc == 0;
}

static void
json_scalar_done(struct vt_json_write_ctx *w, yajl_gen_status st)
{
	if (json_gen_ok(w, st)) {
		json_value_done(w);
	}
}

static void
json_container_begin(struct vt_json_write_ctx *w, bool object)
{
	if (!json_value_begin(w)) {
		return;
	}
	if (w->depth >= JSON_WRITE_MAX_DEPTH) {
		w->rc = -EINVAL;
		return;
	}
	if (!json_gen_ok(w, object ? yajl_gen_map_open(w->gen) : yajl_gen_array_open(w->gen))) {
		return;
	}
	w->level[w->depth++] = object ? LEVEL_OBJECT_NAME : LEVEL_ARRAY;
}

static void
json_container_end(struct vt_json_write_ctx *w, bool object)
{
	if (w == NULL || w->rc != 0) {
		return;
	}
	if (w->depth == 0 || w->level[w->depth - 1] != (object ? LEVEL_OBJECT_NAME : LEVEL_ARRAY)) {
		w->rc = -EINVAL;
		return;
	}
	if (!json_gen_ok(w, object ? yajl_gen_map_close(w->gen) : yajl_gen_array_close(w->gen))) {
		return;
	}
	w->depth--;
	json_value_done(w);
}

void
vt_json_write_object_begin(struct vt_json_write_ctx *w)
{
	json_container_begin(w, true);
}

void
vt_json_write_object_end(struct vt_json_write_ctx *w)
{
	json_container_end(w, true);
}

void
vt_json_write_array_begin(struct vt_json_write_ctx *w)
{
	json_container_begin(w, false);
}

void
vt_json_write_set_batches(struct vt_json_write_ctx *w, bool with_batches)
{
	if (w != NULL) {
		w->with_batches = with_batches;
	}
}

bool
vt_json_write_get_batches(const struct vt_json_write_ctx *w)
{
	return w != NULL && w->with_batches;
}

void
vt_json_write_batch_begin(struct vt_json_write_ctx *w)
{
	if (w != NULL && w->with_batches) {
		json_container_begin(w, false);
	}
}

void
vt_json_write_batch_end(struct vt_json_write_ctx *w)
{
	if (w != NULL && w->with_batches) {
		json_container_end(w, false);
	}
}

void
vt_json_write_array_end(struct vt_json_write_ctx *w)
{
	json_container_end(w, false);
}

void
vt_json_write_name(struct vt_json_write_ctx *w, const char *name)
{
	if (w == NULL || w->rc != 0) {
		return;
	}
	if (name == NULL || w->depth == 0 || w->level[w->depth - 1] != LEVEL_OBJECT_NAME) {
		w->rc = -EINVAL;
		return;
	}
	if (json_gen_ok(w, yajl_gen_string(w->gen, (const unsigned char *)name, strlen(name)))) {
		w->level[w->depth - 1] = LEVEL_OBJECT_VALUE;
	}
}

void
vt_json_write_string(struct vt_json_write_ctx *w, const char *val)
{
	if (!json_value_begin(w)) {
		return;
	}
	if (val == NULL) {
		w->rc = -EINVAL;
		return;
	}
	json_scalar_done(w, yajl_gen_string(w->gen, (const unsigned char *)val, strlen(val)));
}

static void __attribute__((format(printf, 2, 0)))
json_write_vstringf(struct vt_json_write_ctx *w, const char *fmt, va_list ap)
{
	va_list ap2;
	char *s;
	int n;

	if (!json_value_begin(w)) {
		return;
	}
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		w->rc = -EINVAL;
		return;
	}
	s = malloc((size_t)n + 1);
	if (s == NULL) {
		w->rc = -ENOMEM;
		return;
	}
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	json_scalar_done(w, yajl_gen_string(w->gen, (const unsigned char *)s, (size_t)n));
	free(s);
}

void
vt_json_write_stringf(struct vt_json_write_ctx *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	json_write_vstringf(w, fmt, ap);
	va_end(ap);
}

static void
json_write_number_text(struct vt_json_write_ctx *w, const char *text)
{
	if (!json_value_begin(w)) {
		return;
	}
	json_scalar_done(w, yajl_gen_number(w->gen, text, strlen(text)));
}

void
vt_json_write_int64(struct vt_json_write_ctx *w, int64_t val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, val);
	json_write_number_text(w, buf);
}

void
vt_json_write_uint64(struct vt_json_write_ctx *w, uint64_t val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, val);
	json_write_number_text(w, buf);
}

/*
 * The shortest of %.15g..%.17g that reads back as the same double (0.1 stays "0.1"); integral
 * values keep a ".0" so readers see a floating-point number.
 */
void
vt_json_write_double(struct vt_json_write_ctx *w, double val)
{
	char buf[40];
	int prec;

	if (!json_value_begin(w)) {
		return;
	}
	if (!isfinite(val)) {
		w->rc = -EINVAL;
		return;
	}
	for (prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, val);
		if (strtod(buf, NULL) == val) {
			break;
		}
	}
	if (strspn(buf, "0123456789-") == strlen(buf)) {
		strncat(buf, ".0", sizeof(buf) - strlen(buf) - 1);
	}
	json_scalar_done(w, yajl_gen_number(w->gen, buf, strlen(buf)));
}

void
vt_json_write_bool(struct vt_json_write_ctx *w, bool val)
{
	if (json_value_begin(w)) {
		json_scalar_done(w, yajl_gen_bool(w->gen, val));
	}
}

void
vt_json_write_null(struct vt_json_write_ctx *w)
{
	if (json_value_begin(w)) {
		json_scalar_done(w, yajl_gen_null(w->gen));
	}
}

void
vt_json_write_val(struct vt_json_write_ctx *w, yajl_val val)
{
	size_t i;

	if (w == NULL || w->rc != 0) {
		return;
	}
	if (val == NULL) {
		vt_json_write_null(w);
		return;
	}
	switch (val->type) {
	case yajl_t_string:
		vt_json_write_string(w, val->u.string);
		break;
	case yajl_t_number:
		if (val->u.number.r != NULL) {
			json_write_number_text(w, val->u.number.r);
		} else if (val->u.number.flags & YAJL_NUMBER_INT_VALID) {
			vt_json_write_int64(w, val->u.number.i);
		} else {
			vt_json_write_double(w, val->u.number.d);
		}
		break;
	case yajl_t_object:
		vt_json_write_object_begin(w);
		for (i = 0; i < val->u.object.len && w->rc == 0; i++) {
			vt_json_write_name(w, val->u.object.keys[i]);
			vt_json_write_val(w, val->u.object.values[i]);
		}
		vt_json_write_object_end(w);
		break;
	case yajl_t_array:
		vt_json_write_array_begin(w);
		for (i = 0; i < val->u.array.len && w->rc == 0; i++) {
			vt_json_write_val(w, val->u.array.values[i]);
		}
		vt_json_write_array_end(w);
		break;
	case yajl_t_true:
		vt_json_write_bool(w, true);
		break;
	case yajl_t_false:
		vt_json_write_bool(w, false);
		break;
	case yajl_t_null:
		vt_json_write_null(w);
		break;
	default:
		w->rc = -EINVAL;
		break;
	}
}

void
vt_json_write_named_object_begin(struct vt_json_write_ctx *w, const char *name)
{
	vt_json_write_name(w, name);
	vt_json_write_object_begin(w);
}

void
vt_json_write_named_array_begin(struct vt_json_write_ctx *w, const char *name)
{
	vt_json_write_name(w, name);
	vt_json_write_array_begin(w);
}

void
vt_json_write_named_string(struct vt_json_write_ctx *w, const char *name, const char *val)
{
	vt_json_write_name(w, name);
	vt_json_write_string(w, val);
}

void
vt_json_write_named_stringf(struct vt_json_write_ctx *w, const char *name, const char *fmt, ...)
{
	va_list ap;

	vt_json_write_name(w, name);
	va_start(ap, fmt);
	json_write_vstringf(w, fmt, ap);
	va_end(ap);
}

void
vt_json_write_named_int64(struct vt_json_write_ctx *w, const char *name, int64_t val)
{
	vt_json_write_name(w, name);
	vt_json_write_int64(w, val);
}

void
vt_json_write_named_uint64(struct vt_json_write_ctx *w, const char *name, uint64_t val)
{
	vt_json_write_name(w, name);
	vt_json_write_uint64(w, val);
}

void
vt_json_write_named_double(struct vt_json_write_ctx *w, const char *name, double val)
{
	vt_json_write_name(w, name);
	vt_json_write_double(w, val);
}

void
vt_json_write_named_bool(struct vt_json_write_ctx *w, const char *name, bool val)
{
	vt_json_write_name(w, name);
	vt_json_write_bool(w, val);
}

void
vt_json_write_named_null(struct vt_json_write_ctx *w, const char *name)
{
	vt_json_write_name(w, name);
	vt_json_write_null(w);
}

/* ---- stream scanner ---------------------------------------------------------------------- */

enum json_scan_state {
	SCAN_WS = 0, /* between tokens (or inside a container, outside strings) */
	SCAN_TOKEN,  /* a bare top-level literal: ends at whitespace or a delimiter */
	SCAN_STRING,
	SCAN_STRING_ESC,
	SCAN_SLASH, /* a '/' that may open a comment */
	SCAN_LINE_COMMENT,
	SCAN_BLOCK_COMMENT,
	SCAN_BLOCK_STAR, /* a '*' inside a block comment */
};

void
json_scanner_init(struct json_scanner *s)
{
	memset(s, 0, sizeof(*s));
	s->state = SCAN_WS;
}

static bool
json_is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool
json_ends_token(char c)
{
	return json_is_ws(c) || strchr("{}[]\",:/", c) != NULL;
}

static void
json_scan_start(struct json_scanner *s, size_t at)
{
	if (!s->in_value) {
		s->in_value = true;
		s->value_start = at;
	}
}

static enum json_scan_result
json_scan_complete(struct json_scanner *s, size_t end)
{
	s->pos = end;
	s->in_value = false;
	s->depth = 0;
	s->state = SCAN_WS;
	return JSON_SCAN_VALUE;
}

/* One byte in SCAN_WS. Returns true when it ended the current value. */
static bool
json_scan_ws(struct json_scanner *s, char c, size_t i)
{
	switch (c) {
	case ' ':
	case '\t':
	case '\n':
	case '\r':
		return false;
	case '/':
		s->state = SCAN_SLASH;
		return false;
	case '"':
		json_scan_start(s, i);
		s->state = SCAN_STRING;
		return false;
	case '{':
	case '[':
		json_scan_start(s, i);
		s->depth++;
		s->max_depth = VT_MAX(s->max_depth, s->depth);
		return false;
	case '}':
	case ']':
		if (!s->in_value || s->depth == 0) {
			/* A stray closer is a (malformed) value of its own. */
			json_scan_start(s, i);
			return true;
		}
		return --s->depth == 0;
	default:
		if (!s->in_value) {
			json_scan_start(s, i);
			s->state = SCAN_TOKEN;
		}
		return false;
	}
}

enum json_scan_result
json_scanner_next(struct json_scanner *s, const char *buf, size_t len)
{
	size_t i;
	char c;

	for (i = s->pos; i < len; i++) {
		c = buf[i];
		switch (s->state) {
		case SCAN_WS:
			if (json_scan_ws(s, c, i)) {
				return json_scan_complete(s, i + 1);
			}
			break;
		case SCAN_TOKEN:
			if (json_ends_token(c)) {
				return json_scan_complete(s, i);
			}
			break;
		case SCAN_STRING:
			if (c == '\\') {
				s->state = SCAN_STRING_ESC;
			} else if (c == '"') {
				s->state = SCAN_WS;
				if (s->depth == 0) {
					return json_scan_complete(s, i + 1);
				}
			}
			break;
		case SCAN_STRING_ESC:
			s->state = SCAN_STRING;
			break;
		case SCAN_SLASH:
			if (c == '*') {
				s->state = SCAN_BLOCK_COMMENT;
			} else if (c == '/') {
				s->state = SCAN_LINE_COMMENT;
			} else if (!s->in_value) {
				/* A lone '/' at top level: a malformed literal starting at it. */
				json_scan_start(s, i - 1);
				s->state = SCAN_TOKEN;
				i--;
			} else {
				/* Inside a container the parser will reject it; rescan c. */
				s->state = SCAN_WS;
				i--;
			}
			break;
		case SCAN_LINE_COMMENT:
			if (c == '\n') {
				s->state = SCAN_WS;
			}
			break;
		case SCAN_BLOCK_COMMENT:
			if (c == '*') {
				s->state = SCAN_BLOCK_STAR;
			}
			break;
		case SCAN_BLOCK_STAR:
			if (c == '/') {
				s->state = SCAN_WS;
			} else if (c != '*') {
				s->state = SCAN_BLOCK_COMMENT;
			}
			break;
		default:
			break;
		}
	}
	s->pos = len;
	return JSON_SCAN_MORE;
}

bool
json_scanner_finish(struct json_scanner *s, size_t len)
{
	if (s->in_value && s->state == SCAN_TOKEN) {
		json_scan_complete(s, len);
		return true;
	}
	return false;
}

size_t
json_scanner_keep(const struct json_scanner *s)
{
	if (s->in_value) {
		return s->value_start;
	}
	return s->state == SCAN_SLASH ? s->pos - 1 : s->pos;
}

void
json_scanner_shift(struct json_scanner *s, size_t n)
{
	s->pos -= n;
	if (s->in_value) {
		s->value_start -= n;
	}
}

/* ---- parsing ----------------------------------------------------------------------------- */

static void
json_set_err(char *err, size_t errlen, const char *msg)
{
	size_t n;

	if (err == NULL || errlen == 0) {
		return;
	}
	/* yajl's verbose messages add lines quoting the input; keep the first line. */
	n = strcspn(msg, "\n");
	if (n >= errlen) {
		n = errlen - 1;
	}
	memcpy(err, msg, n);
	err[n] = '\0';
}

yajl_val
vt_json_parse(const char *text, size_t len, char *err, size_t errlen)
{
	char ebuf[512] = "";
	struct json_scanner s;
	yajl_val val;
	char *copy;

	if (text == NULL || memchr(text, '\0', len) != NULL) {
		json_set_err(err, errlen, "parse error: NUL byte in JSON text");
		return NULL;
	}
	/*
	 * yajl_tree_free recurses once per level: refuse deep nesting before yajl builds the tree.
	 * The scanner treats strings and comments as yajl does: brackets inside them do not count.
	 */
	json_scanner_init(&s);
	while (json_scanner_next(&s, text, len) == JSON_SCAN_VALUE) {
	}
	if (s.max_depth > VT_JSON_MAX_DEPTH) {
		snprintf(ebuf, sizeof(ebuf), "parse error: nesting deeper than %d levels",
			 VT_JSON_MAX_DEPTH);
		json_set_err(err, errlen, ebuf);
		return NULL;
	}
	copy = malloc(len + 1);
	if (copy == NULL) {
		json_set_err(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	val = yajl_tree_parse(copy, ebuf, sizeof(ebuf));
	free(copy);
	if (val == NULL) {
		json_set_err(err, errlen, ebuf[0] != '\0' ? ebuf : "parse error");
	}
	return val;
}

yajl_val
vt_json_object_get(yajl_val obj, const char *key)
{
	size_t i;

	if (!YAJL_IS_OBJECT(obj) || key == NULL) {
		return NULL;
	}
	for (i = 0; i < obj->u.object.len; i++) {
		if (strcmp(obj->u.object.keys[i], key) == 0) {
			return obj->u.object.values[i];
		}
	}
	return NULL;
}

const char *
vt_json_type_name(yajl_val val)
{
	if (val == NULL) {
		return "none";
	}
	switch (val->type) {
	case yajl_t_string:
		return "string";
	case yajl_t_number:
		return "number";
	case yajl_t_object:
		return "object";
	case yajl_t_array:
		return "array";
	case yajl_t_true:
	case yajl_t_false:
		return "boolean";
	case yajl_t_null:
		return "null";
	default:
		return "unknown";
	}
}

/* ---- decoders ---------------------------------------------------------------------------- */

/* The digits of a number's mantissa, integer part then fraction, without the point. */
struct json_digits {
	const char *int_part;
	size_t int_len;
	const char *frac;
	size_t frac_len;
};

static char
json_digit_at(const struct json_digits *d, size_t i)
{
	return i < d->int_len ? d->int_part[i] : d->frac[i - d->int_len];
}

/* Exponents beyond this are clamped: the value is then either 0, too large or not integral. */
#define JSON_EXP_CLAMP 100000

static int
json_number_split(const char *p, struct json_digits *d, bool *neg, long *exp)
{
	long e = 0;
	bool eneg = false;

	*neg = *p == '-';
	p += *neg;
	d->int_part = p;
	d->int_len = strspn(p, "0123456789");
	p += d->int_len;
	d->frac = p;
	d->frac_len = 0;
	if (*p == '.') {
		d->frac = ++p;
		d->frac_len = strspn(p, "0123456789");
		p += d->frac_len;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-') {
			eneg = *p++ == '-';
		}
		if (*p < '0' || *p > '9') {
			return -EINVAL;
		}
		for (; *p >= '0' && *p <= '9'; p++) {
			e = VT_MIN(e * 10 + (*p - '0'), (long)JSON_EXP_CLAMP);
		}
	}
	if (*p != '\0' || d->int_len == 0) {
		return -EINVAL;
	}
	*exp = eneg ? -e : e;
	return 0;
}

/*
 * The exact value of a JSON number's text as sign and magnitude. -EINVAL when it is not a number
 * or not integral (1.5, 15e-2), -ERANGE when the magnitude does not fit 64 bits. 1.0 and 1e3 are
 * integers.
 */
static int
json_number_to_u64(yajl_val val, bool *neg, uint64_t *mag)
{
	struct json_digits d;
	size_t n, first, last, i;
	long exp, scale;
	uint64_t v = 0;
	int rc;

	if (!YAJL_IS_NUMBER(val) || val->u.number.r == NULL) {
		return -EINVAL;
	}
	rc = json_number_split(val->u.number.r, &d, neg, &exp);
	if (rc != 0) {
		return rc;
	}
	n = d.int_len + d.frac_len;
	for (first = 0; first < n && json_digit_at(&d, first) == '0'; first++) {
	}
	*mag = 0;
	if (first == n) {
		return 0;
	}
	/* The value is digits[first, n) * 10^scale. */
	scale = exp - (long)d.frac_len;
	last = n;
	if (scale < 0) {
		if ((size_t)-scale > n - first) {
			return -EINVAL;
		}
		last = n - (size_t)-scale;
		for (i = last; i < n; i++) {
			if (json_digit_at(&d, i) != '0') {
				return -EINVAL;
			}
		}
		scale = 0;
	}
	if ((last - first) + (size_t)scale > 20) {
		return -ERANGE;
	}
	for (i = first; i < last + (size_t)scale; i++) {
		unsigned dig = i < last ? (unsigned)(json_digit_at(&d, i) - '0') : 0;

		if (v > (UINT64_MAX - dig) / 10) {
			return -ERANGE;
		}
		v = v * 10 + dig;
	}
	*mag = v;
	return 0;
}

static int
json_decode_unsigned(yajl_val val, uint64_t max, uint64_t *out)
{
	uint64_t mag;
	bool neg;

	if (json_number_to_u64(val, &neg, &mag) != 0 || (neg && mag != 0) || mag > max) {
		return -EINVAL;
	}
	*out = mag;
	return 0;
}

static int
json_decode_signed(yajl_val val, int64_t min, int64_t max, int64_t *out)
{
	uint64_t mag;
	int64_t v;
	bool neg;

	if (json_number_to_u64(val, &neg, &mag) != 0) {
		return -EINVAL;
	}
	if (neg) {
		if (mag > (uint64_t)INT64_MAX + 1) {
			return -EINVAL;
		}
		v = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
	} else {
		if (mag > (uint64_t)INT64_MAX) {
			return -EINVAL;
		}
		v = (int64_t)mag;
	}
	if (v < min || v > max) {
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int
vt_json_decode_string(yajl_val val, void *out)
{
	char **s = out;
	char *copy;

	if (!YAJL_IS_STRING(val)) {
		return -EINVAL;
	}
	copy = strdup(val->u.string);
	if (copy == NULL) {
		return -EINVAL;
	}
	free(*s);
	*s = copy;
	return 0;
}

int
vt_json_decode_bool(yajl_val val, void *out)
{
	if (YAJL_IS_TRUE(val)) {
		*(bool *)out = true;
	} else if (YAJL_IS_FALSE(val)) {
		*(bool *)out = false;
	} else {
		return -EINVAL;
	}
	return 0;
}

int
vt_json_decode_int32(yajl_val val, void *out)
{
	int64_t v;

	if (json_decode_signed(val, INT32_MIN, INT32_MAX, &v) != 0) {
		return -EINVAL;
	}
	*(int32_t *)out = (int32_t)v;
	return 0;
}

int
vt_json_decode_int64(yajl_val val, void *out)
{
	int64_t v;

	if (json_decode_signed(val, INT64_MIN, INT64_MAX, &v) != 0) {
		return -EINVAL;
	}
	*(int64_t *)out = v;
	return 0;
}

int
vt_json_decode_uint8(yajl_val val, void *out)
{
	uint64_t v;

	if (json_decode_unsigned(val, UINT8_MAX, &v) != 0) {
		return -EINVAL;
	}
	*(uint8_t *)out = (uint8_t)v;
	return 0;
}

int
vt_json_decode_uint16(yajl_val val, void *out)
{
	uint64_t v;

	if (json_decode_unsigned(val, UINT16_MAX, &v) != 0) {
		return -EINVAL;
	}
	*(uint16_t *)out = (uint16_t)v;
	return 0;
}

int
vt_json_decode_uint32(yajl_val val, void *out)
{
	uint64_t v;

	if (json_decode_unsigned(val, UINT32_MAX, &v) != 0) {
		return -EINVAL;
	}
	*(uint32_t *)out = (uint32_t)v;
	return 0;
}

int
vt_json_decode_uint64(yajl_val val, void *out)
{
	uint64_t v;

	if (json_decode_unsigned(val, UINT64_MAX, &v) != 0) {
		return -EINVAL;
	}
	*(uint64_t *)out = v;
	return 0;
}

void
vt_json_string_array_free(struct vt_json_string_array *a)
{
	for (size_t i = 0; i < a->count; i++) {
		free(a->items[i]);
	}
	free(a->items);
	a->items = NULL;
	a->count = 0;
}

int
vt_json_decode_string_array(yajl_val val, void *out)
{
	struct vt_json_string_array *a = out;
	size_t i, n;

	if (!YAJL_IS_ARRAY(val)) {
		return -EINVAL;
	}
	n = val->u.array.len;
	for (i = 0; i < n; i++) {
		if (!YAJL_IS_STRING(val->u.array.values[i])) {
			return -EINVAL;
		}
	}
	vt_json_string_array_free(a);
	a->items = calloc(n + 1, sizeof(*a->items));
	if (a->items == NULL) {
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		a->items[i] = strdup(val->u.array.values[i]->u.string);
		if (a->items[i] == NULL) {
			a->count = i;
			vt_json_string_array_free(a);
			return -EINVAL;
		}
	}
	a->count = n;
	return 0;
}

/*
 * The decoders of SPDK parameters whose feature vtarget lacks: the value must be the feature's
 * "off" value. They store nothing. -EINVAL for a wrong type, -ENOTSUP for any other value.
 */
int
vt_json_decode_only_false(yajl_val val, void *out)
{
	if (YAJL_IS_FALSE(val)) {
		return 0;
	}
	return YAJL_IS_TRUE(val) ? -ENOTSUP : -EINVAL;
}

static int
json_decode_only_int(yajl_val val, int64_t only)
{
	int64_t v;

	if (json_decode_signed(val, INT64_MIN, INT64_MAX, &v) != 0) {
		/* Too large for an int64 is still a number: not the accepted value. */
		return YAJL_IS_INTEGER(val) || YAJL_IS_NUMBER(val) ? -ENOTSUP : -EINVAL;
	}
	return v == only ? 0 : -ENOTSUP;
}

int
vt_json_decode_only_zero(yajl_val val, void *out)
{
	return json_decode_only_int(val, 0);
}

int
vt_json_decode_only_minus_one(yajl_val val, void *out)
{
	return json_decode_only_int(val, -1);
}

/* What the built-in decoders expect, for error messages. */
static const struct {
	vt_json_decode_fn fn;
	const char *expected;       /* the type */
	const char *expected_range; /* for a well-formed integer out of range */
	const char *only;           /* the one value a default-only decoder accepts */
} g_decoder_names[] = {
	{ vt_json_decode_only_false, "boolean", NULL, "false" },
	{ vt_json_decode_only_zero, "integer", NULL, "0" },
	{ vt_json_decode_only_minus_one, "integer", NULL, "-1" },
	{ vt_json_decode_string, "string", NULL },
	{ vt_json_decode_string_array, "array of strings", NULL },
	{ vt_json_decode_bool, "boolean", NULL },
	{ vt_json_decode_int32, "integer", "integer between -2147483648 and 2147483647" },
	{ vt_json_decode_int64, "integer",
	  "integer between -9223372036854775808 and 9223372036854775807" },
	{ vt_json_decode_uint8, "unsigned integer", "unsigned integer up to 255" },
	{ vt_json_decode_uint16, "unsigned integer", "unsigned integer up to 65535" },
	{ vt_json_decode_uint32, "unsigned integer", "unsigned integer up to 4294967295" },
	{ vt_json_decode_uint64, "unsigned integer",
	  "unsigned integer up to 18446744073709551615" },
};

/* A default-only decoder refused a well-typed value: say it is not supported and what is. */
static void
json_unsupported_error(const struct vt_json_object_decoder *d, yajl_val val, char *err,
		       size_t errlen)
{
	const char *only = "its default";
	const char *text = "this value";
	size_t i;

	for (i = 0; i < VT_COUNTOF(g_decoder_names); i++) {
		if (g_decoder_names[i].fn == d->decode && g_decoder_names[i].only != NULL) {
			only = g_decoder_names[i].only;
		}
	}
	if (YAJL_IS_TRUE(val)) {
		text = "true";
	} else if (YAJL_IS_NUMBER(val) && val->u.number.r != NULL) {
		text = val->u.number.r;
	}
	snprintf(err, errlen,
		 "invalid parameter '%s': %.64s is not supported (vtarget lacks the "
		 "feature; only %s is accepted)",
		 d->name, text, only);
}

static void
json_decode_error(const struct vt_json_object_decoder *d, yajl_val val, int decode_rc, char *err,
		  size_t errlen)
{
	const char *expected = NULL;
	uint64_t mag;
	bool neg;
	size_t i;
	int rc;

	if (decode_rc == -ENOTSUP) {
		json_unsupported_error(d, val, err, errlen);
		return;
	}
	for (i = 0; i < VT_COUNTOF(g_decoder_names); i++) {
		if (g_decoder_names[i].fn != d->decode) {
			continue;
		}
		expected = g_decoder_names[i].expected;
		if (g_decoder_names[i].expected_range != NULL) {
			rc = json_number_to_u64(val, &neg, &mag);
			/* A negative number for an unsigned decoder is a type error, not range. */
			if (rc != -EINVAL &&
			    !(neg && (rc != 0 || mag != 0) && expected[0] == 'u')) {
				expected = g_decoder_names[i].expected_range;
			}
		}
		break;
	}
	if (expected != NULL) {
		snprintf(err, errlen, "invalid parameter '%s': expected %s", d->name, expected);
	} else {
		snprintf(err, errlen, "invalid parameter '%s'", d->name);
	}
}

static const struct vt_json_object_decoder *
json_find_decoder(const struct vt_json_object_decoder *decoders, size_t num, const char *name,
		  size_t *idx)
{
	size_t i;

	for (i = 0; i < num; i++) {
		if (strcmp(decoders[i].name, name) == 0) {
			*idx = i;
			return &decoders[i];
		}
	}
	return NULL;
}

/*
 * A failed decode leaves nothing for the caller to free: the members decoded before the bad one
 * are released here (callers return on failure without looking at out).
 */
static void
json_decode_release(const struct vt_json_object_decoder *decoders, size_t num_decoders,
		    const bool *seen, void *out)
{
	for (size_t i = 0; i < num_decoders; i++) {
		void *field = (char *)out + decoders[i].offset;

		if (!seen[i]) {
			continue;
		}
		if (decoders[i].decode == vt_json_decode_string) {
			free(*(char **)field);
			*(char **)field = NULL;
		} else if (decoders[i].decode == vt_json_decode_string_array) {
			vt_json_string_array_free(field);
		}
	}
}

int
vt_json_decode_object(yajl_val obj, const struct vt_json_object_decoder *decoders,
		      size_t num_decoders, void *out, char *err, size_t errlen)
{
	const struct vt_json_object_decoder *d;
	char dummy[1];
	bool *seen;
	size_t i, n, idx = 0;
	int rc = -EINVAL, drc;

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	if (obj != NULL && !YAJL_IS_OBJECT(obj)) {
		snprintf(err, errlen, "params must be an object");
		return -EINVAL;
	}
	seen = calloc(num_decoders + 1, sizeof(*seen));
	if (seen == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	n = obj != NULL ? obj->u.object.len : 0;
	for (i = 0; i < n; i++) {
		const char *key = obj->u.object.keys[i];

		d = json_find_decoder(decoders, num_decoders, key, &idx);
		if (d == NULL) {
			snprintf(err, errlen, "unknown parameter '%s'", key);
			goto out;
		}
		if (seen[idx]) {
			snprintf(err, errlen, "duplicate parameter '%s'", key);
			goto out;
		}
		seen[idx] = true;
		drc = d->decode(obj->u.object.values[i], (char *)out + d->offset);
		if (drc != 0) {
			json_decode_error(d, obj->u.object.values[i], drc, err, errlen);
			goto out;
		}
	}
	for (i = 0; i < num_decoders; i++) {
		if (!seen[i] && !decoders[i].optional) {
			snprintf(err, errlen, "missing parameter '%s'", decoders[i].name);
			goto out;
		}
	}
	rc = 0;
out:
	if (rc != 0) {
		json_decode_release(decoders, num_decoders, seen, out);
	}
	free(seen);
	return rc;
}
