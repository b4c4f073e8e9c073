/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Latency histograms: bdev_enable_histogram {name, enable, opc, granularity, min_nsec, max_nsec}
 * and bdev_get_histogram {name}, with SPDK's parameters and result.
 *
 * The data is SPDK's histogram_data layout, so SPDK's scripts/histogram.py reads it: buckets of
 * little-endian uint64 counts, (1 << granularity) per power-of-two range, ranges min_range ..
 * max_range; a value v falls in range r = 64 - granularity - clz(v) (0 for small values) at index
 * (v >> (r - 1)) & mask (r > 0) or v (r = 0); values below min_range count in its first bucket,
 * values above max_range in its last. The values are latencies in ticks, nanoseconds here:
 * tsc_rate is 10^9. Each channel tallies into its own buckets on its reactor, without locks;
 * bdev_get_histogram adds them up (and those of channels destroyed meanwhile).
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "vt/bdev.h"
#include "vt/event.h"
#include "vt/json.h"
#include "vt/log.h"
#include "vt/rpc.h"
#include "vt/util.h"

#include "lib/bdev/bdev_internal.h"

/* SPDK's defaults (its RPC's), and vtarget's bound on the bucket count. */
#define HIST_GRANULARITY_DEFAULT 7
#define HIST_GRANULARITY_MAX 16
#define HIST_MIN_NSEC_DEFAULT 1000ull
#define HIST_MAX_NSEC_DEFAULT 120000000000ull

static uint32_t
hist_range(uint32_t granularity, uint64_t v)
{
	uint32_t lsb = 64 - granularity;
	uint32_t clz = v > 0 ? (uint32_t)__builtin_clzll(v) : 64;

	return clz <= lsb ? lsb - clz : 0;
}

static size_t
hist_nbuckets(const struct bdev_hist_cfg *cfg)
{
	return ((size_t)cfg->max_range - cfg->min_range + 1) << cfg->granularity;
}

void
bdev_hist_tally(struct vt_bdev_channel *ch, uint8_t type, uint64_t ticks)
{
	const struct bdev_hist_cfg *cfg = &ch->hist_cfg;
	uint32_t range, index, g = cfg->granularity;

	if (cfg->io_type >= 0 && cfg->io_type != type) {
		return;
	}
	range = hist_range(g, ticks);
	if (range < cfg->min_range) {
		range = cfg->min_range;
		index = 0;
	} else if (range > cfg->max_range) {
		range = cfg->max_range;
		index = (1u << g) - 1;
	} else {
		index = (uint32_t)(ticks >> (range > 0 ? range - 1 : 0)) & ((1u << g) - 1);
	}
	ch->hist[((size_t)(range - cfg->min_range) << g) + index]++;
}

/* The channel takes the bdev's current histogram (or none). */
static void
hist_channel_apply(struct vt_bdev_channel *ch)
{
	struct bdev_internal *bi = ch->bi;
	struct bdev_hist_cfg cfg;
	bool on;

	pthread_mutex_lock(&g_bdev_mutex);
	on = bi->hist_on;
	cfg = bi->hist_cfg;
	pthread_mutex_unlock(&g_bdev_mutex);
	if (ch->hist != NULL && on && ch->hist_cfg.gen == cfg.gen) {
		return;
	}
	free(ch->hist);
	ch->hist = NULL;
	if (on) {
		ch->hist = calloc(hist_nbuckets(&cfg), sizeof(uint64_t));
		if (ch->hist == NULL) {
			VT_ERRLOG("cannot allocate a latency histogram for bdev '%s'\n",
				  bi->bdev->name);
			return;
		}
		ch->hist_cfg = cfg;
	}
}

void
bdev_hist_channel_init(struct vt_bdev_channel *ch)
{
	hist_channel_apply(ch);
}

void
bdev_hist_channel_fini(struct vt_bdev_channel *ch)
{
	struct bdev_internal *bi = ch->bi;

	if (ch->hist == NULL) {
		return;
	}
	pthread_mutex_lock(&g_bdev_mutex);
	if (bi->hist_on && bi->hist_retired != NULL && bi->hist_cfg.gen == ch->hist_cfg.gen) {
		size_t n = hist_nbuckets(&ch->hist_cfg);

		for (size_t i = 0; i < n; i++) {
			bi->hist_retired[i] += ch->hist[i];
		}
	}
	pthread_mutex_unlock(&g_bdev_mutex);
	free(ch->hist);
	ch->hist = NULL;
}

void
bdev_hist_free(struct bdev_internal *bi)
{
	free(bi->hist_retired);
	bi->hist_retired = NULL;
}

/* ---- base64 (RFC 4648, with padding) --------------------------------------------------------- */

static char *
base64_encode(const uint8_t *src, size_t len)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((len + 2) / 3 * 4 + 1), *p = out;

	if (out == NULL) {
		return NULL;
	}
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)src[i] << 16;
		size_t left = len - i;

		v |= left > 1 ? (uint32_t)src[i + 1] << 8 : 0;
		v |= left > 2 ? src[i + 2] : 0;
		*p++ = tab[(v >> 18) & 63];
		*p++ = tab[(v >> 12) & 63];
		*p++ = left > 1 ? tab[(v >> 6) & 63] : '=';
		*p++ = left > 2 ? tab[v & 63] : '=';
	}
	*p = '\0';
	return out;
}

/* ---- the RPCs -------------------------------------------------------------------------------- */

struct rpc_enable_hist {
	char *name;
	bool enable;
	char *opc;
	uint8_t granularity;
	uint64_t min_nsec;
	uint64_t max_nsec;
};

static const struct vt_json_object_decoder g_enable_decoders[] = {
	{ "name", offsetof(struct rpc_enable_hist, name), vt_json_decode_string },
	{ "enable", offsetof(struct rpc_enable_hist, enable), vt_json_decode_bool },
	{ "opc", offsetof(struct rpc_enable_hist, opc), vt_json_decode_string, true },
	{ "granularity", offsetof(struct rpc_enable_hist, granularity), vt_json_decode_uint8,
	  true },
	{ "min_nsec", offsetof(struct rpc_enable_hist, min_nsec), vt_json_decode_uint64, true },
	{ "max_nsec", offsetof(struct rpc_enable_hist, max_nsec), vt_json_decode_uint64, true },
};

struct hist_ctx {
	struct vt_jsonrpc_request *req;
	struct bdev_internal *bi;
	struct bdev_hist_cfg cfg;
	uint64_t *sum; /* bdev_get_histogram */
};

static int
opc_type(const char *opc)
{
	for (int t = VT_BDEV_IO_TYPE_READ; t < VT_BDEV_NUM_IO_TYPES; t++) {
		if (strcmp(vt_bdev_io_type_name((enum vt_bdev_io_type)t), opc) == 0) {
			return t;
		}
	}
	return -1;
}

static struct bdev_internal *
hist_lookup(struct vt_jsonrpc_request *req, const char *name)
{
	struct vt_bdev *bdev = vt_bdev_get_by_name(name);

	if (bdev == NULL || atomic_load(&bdev->internal->removing)) {
		vt_jsonrpc_send_error_response_fmt(req, -ENODEV, "bdev '%s' does not exist", name);
		return NULL;
	}
	return bdev->internal;
}

/* Fills cfg from the parameters; answers the error and returns -EINVAL when one is bad. */
static int
enable_cfg(struct vt_jsonrpc_request *req, const struct rpc_enable_hist *p,
	   struct bdev_hist_cfg *cfg)
{
	cfg->io_type = -1;
	if (p->opc != NULL && (cfg->io_type = opc_type(p->opc)) < 0) {
		vt_jsonrpc_send_error_response_fmt(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
						   "invalid parameter 'opc': unknown I/O type '%s'",
						   p->opc);
		return -EINVAL;
	}
	if (p->granularity == 0 || p->granularity > HIST_GRANULARITY_MAX) {
		vt_jsonrpc_send_error_response_fmt(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
						   "invalid parameter 'granularity': %u is not in "
						   "1..%u",
						   p->granularity, HIST_GRANULARITY_MAX);
		return -EINVAL;
	}
	if (p->min_nsec >= p->max_nsec) {
		vt_jsonrpc_send_error_response(req, VT_JSONRPC_ERROR_INVALID_PARAMS,
					       "invalid parameter 'min_nsec': not below max_nsec");
		return -EINVAL;
	}
	cfg->granularity = p->granularity;
	cfg->min_range = hist_range(cfg->granularity, p->min_nsec);
	cfg->max_range = hist_range(cfg->granularity, p->max_nsec - 1);
	return 0;
}

static void
enable_on_reactor(void *arg)
{
	struct hist_ctx *ctx = arg;
	uint32_t me = vt_reactor_current();
	struct vt_bdev_channel *ch = me < VT_MAX_REACTORS ? ctx->bi->channels[me] : NULL;

	if (ch != NULL) {
		hist_channel_apply(ch);
	}
}

static void
hist_ctx_done(struct hist_ctx *ctx)
{
	bdev_unref(ctx->bi);
	free(ctx->sum);
	free(ctx);
}

static void
enable_done(void *arg)
{
	struct hist_ctx *ctx = arg;

	vt_jsonrpc_send_bool_response(ctx->req, true);
	hist_ctx_done(ctx);
}

static void
rpc_bdev_enable_histogram(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_enable_hist p = { .granularity = HIST_GRANULARITY_DEFAULT,
				     .min_nsec = HIST_MIN_NSEC_DEFAULT,
				     .max_nsec = HIST_MAX_NSEC_DEFAULT };
	struct bdev_hist_cfg cfg;
	struct bdev_internal *bi;
	struct hist_ctx *ctx;
	uint64_t *retired = NULL;

	if (vt_rpc_decode_params(req, params, g_enable_decoders, VT_COUNTOF(g_enable_decoders),
				 &p) != 0) {
		return;
	}
	if (enable_cfg(req, &p, &cfg) != 0 || (bi = hist_lookup(req, p.name)) == NULL) {
		goto out;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (p.enable) {
		retired = calloc(hist_nbuckets(&cfg), sizeof(uint64_t));
	}
	if (ctx == NULL || (p.enable && retired == NULL)) {
		free(ctx);
		free(retired);
		vt_jsonrpc_send_error_response(req, -ENOMEM, "out of memory");
		goto out;
	}
	pthread_mutex_lock(&g_bdev_mutex);
	cfg.gen = bi->hist_cfg.gen + 1;
	bi->hist_cfg = cfg;
	bi->hist_on = p.enable;
	free(bi->hist_retired);
	bi->hist_retired = retired;
	pthread_mutex_unlock(&g_bdev_mutex);
	ctx->req = req;
	ctx->bi = bi;
	bdev_ref(bi);
	if (vt_for_each_reactor(enable_on_reactor, ctx, enable_done) != 0) {
		vt_jsonrpc_send_error_response(req, -ENOMEM, "cannot reach the reactors");
		hist_ctx_done(ctx);
	}
out:
	free(p.name);
	free(p.opc);
}
VT_RPC_REGISTER("bdev_enable_histogram", rpc_bdev_enable_histogram, VT_RPC_RUNTIME)

struct rpc_get_hist {
	char *name;
};

static const struct vt_json_object_decoder g_get_decoders[] = {
	{ "name", offsetof(struct rpc_get_hist, name), vt_json_decode_string },
};

static void
get_on_reactor(void *arg)
{
	struct hist_ctx *ctx = arg;
	uint32_t me = vt_reactor_current();
	struct vt_bdev_channel *ch = me < VT_MAX_REACTORS ? ctx->bi->channels[me] : NULL;
	size_t n = hist_nbuckets(&ctx->cfg);

	if (ch == NULL || ch->hist == NULL || ch->hist_cfg.gen != ctx->cfg.gen) {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		ctx->sum[i] += ch->hist[i];
	}
}

static void
get_done(void *arg)
{
	struct hist_ctx *ctx = arg;
	size_t n = hist_nbuckets(&ctx->cfg);
	struct vt_json_write_ctx *w;
	char *b64;

	/* The wire format is little-endian. */
	for (size_t i = 0; i < n; i++) {
		ctx->sum[i] = htole64(ctx->sum[i]);
	}
	b64 = base64_encode((const uint8_t *)ctx->sum, n * sizeof(uint64_t));
	if (b64 == NULL) {
		vt_jsonrpc_send_error_response(ctx->req, -ENOMEM, "out of memory");
		hist_ctx_done(ctx);
		return;
	}
	w = vt_jsonrpc_begin_result(ctx->req);
	if (w != NULL) {
		vt_json_write_object_begin(w);
		vt_json_write_named_string(w, "histogram", b64);
		vt_json_write_named_int64(w, "granularity", ctx->cfg.granularity);
		vt_json_write_named_uint64(w, "min_range", ctx->cfg.min_range);
		vt_json_write_named_uint64(w, "max_range", ctx->cfg.max_range);
		vt_json_write_named_int64(w, "tsc_rate", (int64_t)VT_TICKS_HZ);
		vt_json_write_object_end(w);
	}
	vt_jsonrpc_end_result(ctx->req, w);
	free(b64);
	hist_ctx_done(ctx);
}

static void
rpc_bdev_get_histogram(struct vt_jsonrpc_request *req, yajl_val params)
{
	struct rpc_get_hist p = { 0 };
	struct bdev_internal *bi;
	struct hist_ctx *ctx = NULL;
	bool on;

	if (vt_rpc_decode_params(req, params, g_get_decoders, VT_COUNTOF(g_get_decoders), &p) !=
	    0) {
		return;
	}
	if ((bi = hist_lookup(req, p.name)) == NULL) {
		goto out;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		vt_jsonrpc_send_error_response(req, -ENOMEM, "out of memory");
		goto out;
	}
	pthread_mutex_lock(&g_bdev_mutex);
	on = bi->hist_on && bi->hist_retired != NULL;
	ctx->cfg = bi->hist_cfg;
	if (on) {
		size_t bytes = hist_nbuckets(&ctx->cfg) * sizeof(uint64_t);

		ctx->sum = malloc(bytes);
		if (ctx->sum != NULL) {
			memcpy(ctx->sum, bi->hist_retired, bytes);
		}
	}
	pthread_mutex_unlock(&g_bdev_mutex);
	if (!on) {
		vt_jsonrpc_send_error_response_fmt(req, -EFAULT,
						   "the histogram of bdev '%s' is not enabled "
						   "(bdev_enable_histogram)",
						   p.name);
		free(ctx);
		goto out;
	}
	ctx->req = req;
	ctx->bi = bi;
	bdev_ref(bi);
	if (ctx->sum == NULL) {
		vt_jsonrpc_send_error_response(req, -ENOMEM, "out of memory");
		hist_ctx_done(ctx);
		goto out;
	}
	if (vt_for_each_reactor(get_on_reactor, ctx, get_done) != 0) {
		vt_jsonrpc_send_error_response(req, -ENOMEM, "cannot reach the reactors");
		hist_ctx_done(ctx);
	}
out:
	free(p.name);
}
VT_RPC_REGISTER("bdev_get_histogram", rpc_bdev_get_histogram, VT_RPC_RUNTIME)
