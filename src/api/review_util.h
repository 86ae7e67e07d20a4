/* api/review_util.h — pieces of the review resource shared by publicity.c and exports.c. */
#ifndef TS_API_REVIEW_UTIL_H
#define TS_API_REVIEW_UTIL_H

#include "api/common.h"

/* The decrypted personal fields of an application (new reference; {} on failure). */
json_t *review_open_secret(struct api_ctx *ctx, const struct store_app *a);
/* The union acting now for `a`; false when none (finished or out of the running). */
bool review_responsible_for(struct api_ctx *ctx, const struct program_spec *spec, const struct store_app *a,
			    char *out, size_t n);
/* True when the application's union lies in the staff member's subtree. */
bool review_in_scope(struct api_ctx *ctx, const struct staff_ctx *st, const char *union_code);
/* The application as staff see it (ID masked unless `reveal`). */
json_t *review_app_json(struct api_ctx *ctx, const struct program_spec *spec, const struct store_app *a,
			const struct staff_ctx *st, bool detail, bool reveal);
/* 依序递补 after `gone` left the running. */
void review_backfill(struct api_ctx *ctx, const struct program_spec *spec, const struct store_app *gone,
		     const char *why);
/* One stage of the pipeline as JSON: index, key, name, kind, levels, statuses, days. */
json_t *review_stage_json(const struct program_spec *spec, size_t i);
/* The program of ?program=, or NULL after a 422/404 reply. */
struct reg_program *review_program_param(struct api_ctx *ctx, struct http_request *req);

#endif
