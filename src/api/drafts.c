/* api/drafts.c — a worker's saved, unsubmitted form, kept on the server so it
 * survives a change of phone; turned into a submission at the opening minute. */
#include "api/common.h"
#include "api/handlers.h"
#include "core/time.h"

#include <stdlib.h>
#include <string.h>

static struct reg_program *draft_program(struct api_ctx *ctx, struct http_request *req)
{
	struct reg_program *p = registry_get(ctx->reg, http_req_param(req, 0));
	if (!p)
		http_reply_error(req, 404, "not_found", "找不到该申报项目");
	return p;
}

void api_draft_get(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	int64_t applicant;
	if (!api_auth_applicant(ctx, req, &applicant))
		return;
	struct reg_program *p = draft_program(ctx, req);
	if (!p)
		return;
	char *text = NULL;
	int64_t at = 0;
	struct ts_error err;
	if (store_draft_get(ctx->store, applicant, p->spec->id, &text, &at, &err)) {
		api_reply_err(req, &err);
		registry_put(p);
		return;
	}
	json_t *o = json_loads(text, 0, NULL);
	free(text);
	if (!o)
		o = json_object();
	json_object_set_new(o, "program", json_string(p->spec->id));
	json_object_set_new(o, "updated_at", api_time(at));
	registry_put(p);
	api_reply_json(req, 200, o);
}

void api_draft_put(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	int64_t applicant;
	if (!api_auth_applicant(ctx, req, &applicant))
		return;
	json_t *body = api_body_object(req);
	if (!body)
		return;
	static const char *const keys[] = {"category", "fields", NULL};
	struct reg_program *p = NULL;
	if (!api_only_keys(req, body, keys) || !(p = draft_program(ctx, req)))
		goto out;
	const json_t *cat = json_object_get(body, "category"), *fields = json_object_get(body, "fields");
	if ((cat && !json_is_null(cat) && !json_is_string(cat)) || (fields && !json_is_object(fields))) {
		api_reply_invalid(req, "草稿格式不正确：category 应为字符串，fields 应为对象", NULL);
		goto out;
	}
	if (json_is_string(cat) && !spec_category(p->spec, json_string_value(cat))) {
		api_reply_invalid(req, "没有这个申报类别",
				  json_pack("[{s:s,s:s}]", "name", "category", "message", "没有这个申报类别"));
		goto out;
	}
	json_t *draft = json_pack("{s:O,s:O}", "category", cat ? cat : json_null(), "fields",
				  fields ? fields : json_object());
	char *text = json_dumps(draft, JSON_COMPACT);
	json_decref(draft);
	struct ts_error err;
	int64_t now = ts_now_us();
	int rc = store_draft_put(ctx->store, applicant, p->spec->id, text, now, &err);
	free(text);
	if (rc) {
		api_reply_err(req, &err);
		goto out;
	}
	api_reply_json(req, 200, json_pack("{s:s,s:O,s:O,s:o}", "program", p->spec->id, "category",
					   cat ? cat : json_null(), "fields", fields ? fields : json_object(),
					   "updated_at", api_time(now)));
out:
	registry_put(p);
	json_decref(body);
}

void api_draft_delete(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	int64_t applicant;
	if (!api_auth_applicant(ctx, req, &applicant))
		return;
	struct reg_program *p = draft_program(ctx, req);
	if (!p)
		return;
	struct ts_error err;
	if (store_draft_delete(ctx->store, applicant, p->spec->id, &err))
		api_reply_err(req, &err);
	else
		http_reply(req, 204, NULL, NULL, 0);
	registry_put(p);
}
