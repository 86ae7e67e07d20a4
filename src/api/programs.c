/* api/programs.c — programs with their remaining places, the union tree,
 * the server clock, health and metrics. None of these touch the database on
 * the request path: they read the registry and counters in memory. */
#include "api/common.h"
#include "api/handlers.h"
#include "api/review_util.h"
#include "core/mem.h"
#include "core/time.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const char *window_state(const struct program_spec *s, int64_t now)
{
	if (now < s->opens_at)
		return "not_open";
	if (now >= s->closes_at)
		return "closed";
	return "open";
}

/* Places left in category i: never below zero. */
static int64_t remaining_of(const struct reg_program *p, size_t i)
{
	int64_t r = p->spec->cats[i].places - registry_taken(p, i);
	return r > 0 ? r : 0;
}

static json_t *program_json(const struct reg_program *p, int64_t now, bool full)
{
	const struct program_spec *s = p->spec;
	json_t *cats = json_array();
	for (size_t i = 0; i < s->ncats; i++) {
		const struct category_def *c = &s->cats[i];
		json_array_append_new(
			cats, json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "code", c->code, "name", c->name, "level",
					c->level, "amount_fen", (json_int_t)c->amount_fen, "cap", (json_int_t)c->cap,
					"places", (json_int_t)c->places, "taken", (json_int_t)registry_taken(p, i),
					"remaining", (json_int_t)remaining_of(p, i)));
	}
	json_t *o = json_pack("{s:s,s:s,s:i,s:o,s:o,s:s,s:o}", "id", s->id, "title", s->title, "year", s->year,
			      "opens_at", api_time(s->opens_at), "closes_at", api_time(s->closes_at), "state",
			      window_state(s, now), "categories", cats);
	const char *keys[] = {"issuer", "department", "paper_deadline", "notice", "group"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(s->root, keys[i]);
		if (v)
			json_object_set(o, keys[i], v);
	}
	if (full) {
		json_object_set(o, "form", json_object_get(s->root, "form"));
		json_t *rules = json_array();
		for (size_t i = 0; i < s->nrules; i++)
			if (s->rules[i].message)
				json_array_append_new(rules, json_string(s->rules[i].message));
		json_object_set_new(o, "rules", rules);
		json_t *stages = json_array();
		for (size_t i = 0; i < s->nstages; i++)
			json_array_append_new(stages, review_stage_json(s, i));
		json_object_set_new(o, "review", json_pack("{s:o,s:i}", "stages", stages, "return_limit", s->return_limit));
	}
	return o;
}

/* The ETag of a body: FNV-1a, quoted. */
static void etag_of(const char *s, size_t n, char out[24])
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	snprintf(out, 24, "\"%016llx\"", (unsigned long long)h);
}

/* Replies with JSON text, an ETag of it, and a one-second cache lifetime;
 * 304 when the client already has it. */
static void reply_cached(struct http_request *req, json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	size_t n = strlen(s);
	char etag[24];
	etag_of(s, n, etag);
	http_add_header(req, "ETag", etag);
	http_add_header(req, "Cache-Control", "public, max-age=1");
	const char *inm = http_req_header(req, "If-None-Match");
	if (inm && strcmp(inm, etag) == 0) {
		free(s);
		http_reply(req, 304, NULL, NULL, 0);
		return;
	}
	http_reply(req, 200, "application/json; charset=utf-8", s, n);
}

/* The programs list and the remaining places are what every waiting worker's
 * page polls: both are built once per change of a count or program (and at
 * least once a second, for window states) and served from memory to everyone
 * in between as one shared reply (plain and gzip), with an ETag so unchanged
 * answers cost a 304. */
#define LIST_TTL_US (1000 * 1000) /* windows open and close: rebuild at least this often */

void api_prepared_clear(struct api_prepared *p)
{
	http_shared_put(p->plain);
	http_shared_put(p->gz);
	p->plain = p->gz = NULL;
}

/* gzip of s[0..n) into *out (malloc'd); false when out of memory or not smaller. */
static bool gzip_of(const char *s, size_t n, char **out, size_t *outn)
{
	z_stream z = {0};
	if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16 /* gzip wrapper */, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return false;
	uLong cap = deflateBound(&z, (uLong)n);
	char *buf = ts_malloc(cap);
	z.next_in = (Bytef *)s;
	z.avail_in = (uInt)n;
	z.next_out = (Bytef *)buf;
	z.avail_out = (uInt)cap;
	int rc = deflate(&z, Z_FINISH);
	size_t len = z.total_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END || len >= n) {
		free(buf);
		return false;
	}
	*out = buf;
	*outn = len;
	return true;
}

/* Replaces p's replies with ones for the JSON `body` (consumed). */
static void prepare(struct api_prepared *p, json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	size_t n = strlen(s);
	api_prepared_clear(p);
	etag_of(s, n, p->etag);
	const char *const plain_h[] = {"ETag", p->etag, "Cache-Control", "public, max-age=1", "Vary", "Accept-Encoding",
				       NULL};
	p->plain = http_shared_new(200, "application/json; charset=utf-8", s, n, plain_h);
	char *z;
	size_t zn;
	if (gzip_of(s, n, &z, &zn)) {
		char gz_etag[32];
		snprintf(gz_etag, sizeof(gz_etag), "%.*s-gz\"", (int)strlen(p->etag) - 1, p->etag);
		const char *const gz_h[] = {"ETag", gz_etag, "Cache-Control", "public, max-age=1", "Vary",
					    "Accept-Encoding", "Content-Encoding", "gzip", NULL};
		p->gz = http_shared_new(200, "application/json; charset=utf-8", z, zn, gz_h);
		free(z);
	}
	free(s);
}

static void rebuild(struct api_ctx *ctx, int64_t now)
{
	size_t n;
	struct reg_program **all = registry_all(ctx->reg, &n);
	json_t *arr = json_array(), *counts = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct program_spec *s = all[i]->spec;
		json_array_append_new(arr, program_json(all[i], now, false));
		json_t *cats = json_array();
		for (size_t c = 0; c < s->ncats; c++)
			json_array_append_new(cats, json_pack("{s:s,s:I,s:I,s:I}", "code", s->cats[c].code, "places",
							      (json_int_t)s->cats[c].places, "taken",
							      (json_int_t)registry_taken(all[i], c), "remaining",
							      (json_int_t)remaining_of(all[i], c)));
		json_array_append_new(counts, json_pack("{s:s,s:s,s:o}", "id", s->id, "state", window_state(s, now),
							 "categories", cats));
		registry_put(all[i]);
	}
	free(all);
	prepare(&ctx->list, json_pack("{s:o}", "programs", arr));
	prepare(&ctx->remaining, json_pack("{s:o}", "programs", counts));
	ctx->list_built_us = now;
}

/* Whether the If-None-Match header names the plain or the gzip ETag of p. */
static bool not_modified(const char *inm, const struct api_prepared *p)
{
	if (!inm)
		return false;
	size_t n = strlen(p->etag);
	if (strcmp(inm, p->etag) == 0)
		return true;
	return strlen(inm) == n + 3 && strncmp(inm, p->etag, n - 1) == 0 && strcmp(inm + n - 1, "-gz\"") == 0;
}

static void reply_prepared(struct http_request *req, struct api_ctx *ctx, struct api_prepared *p)
{
	int64_t now = ts_now_us();
	const char *inm = http_req_header(req, "If-None-Match");
	pthread_mutex_lock(&ctx->list_mu);
	uint64_t gen = registry_generation(ctx->reg);
	int64_t age = now - ctx->list_built_us;
	/* a count that changed is shown at once: whoever got a 201 sees it counted */
	if (!p->plain || age >= LIST_TTL_US || age < 0 || gen != ctx->list_gen) {
		ctx->list_gen = gen; /* read before building: a change during the build triggers the next one */
		rebuild(ctx, now);
	}
	bool fresh = not_modified(inm, p);
	struct http_shared *sh = NULL;
	if (!fresh) {
		sh = p->gz && http_req_accepts_gzip(req) ? p->gz : p->plain;
		if (sh)
			http_shared_get(sh);
	}
	pthread_mutex_unlock(&ctx->list_mu);
	if (fresh) {
		http_add_header(req, "ETag", inm); /* the one it has, plain or gzip */
		http_add_header(req, "Cache-Control", "public, max-age=1");
		http_reply(req, 304, NULL, NULL, 0);
	} else if (sh) {
		http_reply_shared(req, sh);
	} else {
		http_reply_error(req, 503, "unavailable", "服务暂时不可用，请稍后重试");
	}
}

void api_programs_list(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	reply_prepared(req, ctx, &ctx->list);
}

void api_programs_remaining(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	reply_prepared(req, ctx, &ctx->remaining);
}

void api_program_get(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	struct reg_program *p = registry_get(ctx->reg, http_req_param(req, 0));
	if (!p) {
		http_reply_error(req, 404, "not_found", "找不到该申报项目");
		return;
	}
	json_t *o = program_json(p, ts_now_us(), true);
	registry_put(p);
	reply_cached(req, o);
}

void api_orgs_list(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	size_t n;
	char *s = registry_orgs_json(ctx->reg, &n);
	http_add_header(req, "Cache-Control", "public, max-age=60");
	http_reply(req, 200, "application/json; charset=utf-8", s, n);
}

void api_time_now(struct http_request *req, void *arg)
{
	int64_t now = ts_now_us();
	api_reply_json(req, 200, json_pack("{s:o,s:I}", "now", api_time(now), "now_ms", (json_int_t)(now / 1000)));
}

void api_healthz(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	struct store_writer_stats st;
	store_writer_stats(ctx->store, &st);
	/* a cheap query: a node whose database is gone is not healthy */
	int64_t version;
	struct ts_error err;
	if (store_programs_version(ctx->store, &version, &err)) {
		http_add_header(req, "Retry-After", "2");
		api_reply_json(req, 503, json_pack("{s:s,s:s}", "status", "unavailable", "message", err.message));
		return;
	}
	api_reply_json(req, 200, json_pack("{s:s,s:I,s:I}", "status", "ok", "uptime_s",
					   (json_int_t)((ts_now_us() - ctx->started_at) / TS_US_PER_SEC), "queue",
					   (json_int_t)st.queue_depth));
}

void api_metrics(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	struct ts_buf out;
	ts_buf_init(&out, 0);
	struct store_writer_stats st;
	store_writer_stats(ctx->store, &st);
	int rc = http_metrics_write(http_req_server(req), &out);
	static const char *const bounds[] = {"1", "4", "16", "64", "256", "1024", "4096", "+Inf"};
	uint64_t cum = 0;
	if (!rc)
		rc = ts_buf_printf(&out,
				   "# HELP tisheng_writer_batch_size Submissions per writer transaction.\n"
				   "# TYPE tisheng_writer_batch_size histogram\n");
	for (int i = 0; i < 8 && !rc; i++) {
		cum += st.batch_hist[i];
		rc = ts_buf_printf(&out, "tisheng_writer_batch_size_bucket{le=\"%s\"} %llu\n", bounds[i],
				   (unsigned long long)cum);
	}
	if (!rc)
		rc = ts_buf_printf(&out,
				   "tisheng_writer_batch_size_count %llu\ntisheng_writer_batch_size_sum %llu\n"
				   "# HELP tisheng_writer_commit_seconds_total Time spent in writer transactions.\n"
				   "# TYPE tisheng_writer_commit_seconds_total counter\n"
				   "tisheng_writer_commit_seconds_total %.6f\n"
				   "# HELP tisheng_writer_commit_failures_total Writer transactions that failed.\n"
				   "# TYPE tisheng_writer_commit_failures_total counter\n"
				   "tisheng_writer_commit_failures_total %llu\n"
				   "# HELP tisheng_writer_queue_depth Submissions waiting for the writer.\n"
				   "# TYPE tisheng_writer_queue_depth gauge\n"
				   "tisheng_writer_queue_depth %llu\n"
				   "# HELP tisheng_writer_syncs_total Syncs of committed batches to disk, each before their answers.\n"
				   "# TYPE tisheng_writer_syncs_total counter\n"
				   "tisheng_writer_syncs_total %llu\n"
				   "# HELP tisheng_writer_sync_seconds_total Time spent in those syncs.\n"
				   "# TYPE tisheng_writer_sync_seconds_total counter\n"
				   "tisheng_writer_sync_seconds_total %.6f\n"
				   "# HELP tisheng_writer_sync_failures_total Syncs that failed (their submissions answered unavailable).\n"
				   "# TYPE tisheng_writer_sync_failures_total counter\n"
				   "tisheng_writer_sync_failures_total %llu\n",
				   (unsigned long long)st.batches, (unsigned long long)st.jobs, st.commit_us_total / 1e6,
				   (unsigned long long)st.commit_failures, (unsigned long long)st.queue_depth,
				   (unsigned long long)st.syncs, st.sync_us_total / 1e6, (unsigned long long)st.sync_failures);
	if (!rc)
		rc = api_outcomes_write(ctx, &out);
	if (rc) {
		ts_buf_free(&out);
		http_reply_error(req, 500, "internal", "指标输出失败");
		return;
	}
	size_t n;
	char *s = ts_buf_detach(&out, &n);
	http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", s, n);
}
