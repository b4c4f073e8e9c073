/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VT_JSON_H
#define VT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_tree.h>

/*
 * JSON writing (a thin layer over yajl_gen that never fails half-way: errors are sticky and
 * reported by vt_json_write_end) and decoding of parsed yajl trees into C structs.
 */

struct vt_json_write_ctx;

/* A writer into a growing memory buffer. pretty adds newlines and indentation. NULL on ENOMEM. */
struct vt_json_write_ctx *vt_json_write_begin(bool pretty);
/* Returns 0 if everything written so far formed valid JSON, or -EINVAL / -ENOMEM. */
int vt_json_write_end(struct vt_json_write_ctx *w);
/* The text written so far (NUL-terminated) and its length. */
const char *vt_json_write_buf(struct vt_json_write_ctx *w, size_t *len);
void vt_json_write_free(struct vt_json_write_ctx *w);

void vt_json_write_object_begin(struct vt_json_write_ctx *w);
void vt_json_write_object_end(struct vt_json_write_ctx *w);
void vt_json_write_array_begin(struct vt_json_write_ctx *w);
void vt_json_write_array_end(struct vt_json_write_ctx *w);
/*
 * A batch: config entries SPDK's load_config sends as one JSON-RPC batch. With batches allowed
 * (framework_get_config "with_batches") they form a nested array; otherwise begin and end write
 * nothing and the entries stay in the enclosing array. Batches are off in a new writer.
 */
void vt_json_write_set_batches(struct vt_json_write_ctx *w, bool with_batches);
bool vt_json_write_get_batches(const struct vt_json_write_ctx *w);
void vt_json_write_batch_begin(struct vt_json_write_ctx *w);
void vt_json_write_batch_end(struct vt_json_write_ctx *w);
void vt_json_write_name(struct vt_json_write_ctx *w, const char *name);
void vt_json_write_string(struct vt_json_write_ctx *w, const char *val);
void vt_json_write_stringf(struct vt_json_write_ctx *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void vt_json_write_int64(struct vt_json_write_ctx *w, int64_t val);
void vt_json_write_uint64(struct vt_json_write_ctx *w, uint64_t val);
void vt_json_write_double(struct vt_json_write_ctx *w, double val);
void vt_json_write_bool(struct vt_json_write_ctx *w, bool val);
void vt_json_write_null(struct vt_json_write_ctx *w);
/* Writes a parsed value (any type) as it is. */
void vt_json_write_val(struct vt_json_write_ctx *w, yajl_val val);

void vt_json_write_named_object_begin(struct vt_json_write_ctx *w, const char *name);
void vt_json_write_named_array_begin(struct vt_json_write_ctx *w, const char *name);
void vt_json_write_named_string(struct vt_json_write_ctx *w, const char *name, const char *val);
void vt_json_write_named_stringf(struct vt_json_write_ctx *w, const char *name, const char *fmt,
				 ...) __attribute__((format(printf, 3, 4)));
void vt_json_write_named_int64(struct vt_json_write_ctx *w, const char *name, int64_t val);
void vt_json_write_named_uint64(struct vt_json_write_ctx *w, const char *name, uint64_t val);
void vt_json_write_named_double(struct vt_json_write_ctx *w, const char *name, double val);
void vt_json_write_named_bool(struct vt_json_write_ctx *w, const char *name, bool val);
void vt_json_write_named_null(struct vt_json_write_ctx *w, const char *name);

/* ---- parsing and decoding ---------------------------------------------------------------- */

/*
 * Parses one JSON text of len bytes (need not be NUL-terminated). Nesting deeper than
 * VT_JSON_MAX_DEPTH is refused. Returns NULL and an error message in err on failure.
 */
#define VT_JSON_MAX_DEPTH 64
yajl_val vt_json_parse(const char *text, size_t len, char *err, size_t errlen);
/* Object member by key (no path), or NULL. */
yajl_val vt_json_object_get(yajl_val obj, const char *key);

/*
 * Decodes val into the object at out. Each returns 0 or -EINVAL (wrong type or out of range).
 * vt_json_decode_string stores a malloc'd copy in *(char **)out (freeing any previous value).
 */
typedef int (*vt_json_decode_fn)(yajl_val val, void *out);
int vt_json_decode_string(yajl_val val, void *out);
int vt_json_decode_bool(yajl_val val, void *out);
int vt_json_decode_int32(yajl_val val, void *out);
int vt_json_decode_uint8(yajl_val val, void *out);
int vt_json_decode_uint16(yajl_val val, void *out);
int vt_json_decode_uint32(yajl_val val, void *out);
int vt_json_decode_int64(yajl_val val, void *out);
int vt_json_decode_uint64(yajl_val val, void *out);

/*
 * Default-only decoders, for parameters SPDK defines for a feature vtarget lacks (metadata, DIF,
 * ...): the parameter is accepted at its "off" value (false, 0, -1) and nothing is stored; any
 * other value of the right type returns -ENOTSUP, which vt_json_decode_object reports as
 * "invalid parameter 'md_size': 8 is not supported (...; only 0 is accepted)". Declare them with
 * VT_JSON_DECODER_DEFAULT_ONLY(name, fn) in a method's table.
 */
int vt_json_decode_only_false(yajl_val val, void *out);
int vt_json_decode_only_zero(yajl_val val, void *out);
int vt_json_decode_only_minus_one(yajl_val val, void *out);

/* An array of strings: vt_json_decode_string_array frees what *out held and stores copies. */
struct vt_json_string_array {
	char **items;
	size_t count;
};
int vt_json_decode_string_array(yajl_val val, void *out);
void vt_json_string_array_free(struct vt_json_string_array *a);

struct vt_json_object_decoder {
	const char *name;
	size_t offset;
	vt_json_decode_fn decode;
	bool optional;
};

#define VT_JSON_DECODER_DEFAULT_ONLY(_name, _fn) \
	{                                        \
		(_name), 0, (_fn), true          \
	}

/*
 * Decodes the members of obj with the table into out. A NULL obj decodes as {} (every required
 * member then missing). On failure returns -EINVAL and writes a message naming the member into
 * err: "missing parameter 'name'", "invalid parameter 'num_blocks': expected unsigned integer",
 * "unknown parameter 'foo'", "params must be an object". On failure the strings and string
 * arrays it had already stored into out are freed again (their fields set to NULL / empty).
 */
int vt_json_decode_object(yajl_val obj, const struct vt_json_object_decoder *decoders,
			  size_t num_decoders, void *out, char *err, size_t errlen);

/* A short name of val's type for messages ("string", "number", "object", ...). */
const char *vt_json_type_name(yajl_val val);

#endif
