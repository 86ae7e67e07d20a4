/* api/review.c — the reviewers' side: the queue of the caller's subtree,
 * decisions at the current stage, batch decisions, final approval, and
 * 依序递补 notices. Every read and action is limited to the caller's union
 * subtree (404 outside it) and every action is audited. */
#include "api/common.h"
#include "api/handlers.h"
#include "api/review_util.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/time.h"
#include "domain/mask.h"
#include "domain/review.h"
#include "domain/rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const decider_roles[] = {"reviewer", "admin", NULL};

/* ---- helpers shared with publicity.c and exports.c ---- */

json_t *review_open_secret(struct api_ctx *ctx, const struct store_app *a)
{
	struct ts_buf plain;
	ts_buf_init(&plain, 0);
	json_t *o = NULL;
	if (crypt_open(&ctx->keys, "application.secret", a->secret.ptr, a->secret.len, &plain) == 0)
		o = json_loadb(plain.ptr, plain.len, 0, NULL);
	crypt_wipe(plain.ptr, plain.len);
	ts_buf_free(&plain);
	return o ? o : json_object();
}

bool review_responsible_for(struct api_ctx *ctx, const struct program_spec *spec, const struct store_app *a,
			    char *out, size_t n)
{
	out[0] = '\0';
	if (!status_in_running(a->status) || a->stage < 0 || (size_t)a->stage >= spec->nstages)
		return false;
	return review_responsible(&spec->stages[a->stage], a->union_code, registry_org_lookup, ctx->reg, out, n);
}

bool review_in_scope(struct api_ctx *ctx, const struct staff_ctx *st, const char *union_code)
{
	return review_in_subtree(st->org, union_code, registry_org_lookup, ctx->reg);
}

static const char *str_of(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

json_t *review_app_json(struct api_ctx *ctx, const struct program_spec *spec, const struct store_app *a,
			const struct staff_ctx *st, bool detail, bool reveal)
{
	const struct category_def *cat = spec_category(spec, a->category);
	char resp[64], union_name[200] = "", resp_name[200] = "";
	bool has_resp = review_responsible_for(ctx, spec, a, resp, sizeof(resp));
	registry_org_name(ctx->reg, a->union_code, union_name, sizeof(union_name));
	if (has_resp)
		registry_org_name(ctx->reg, resp, resp_name, sizeof(resp_name));
	const struct stage_def *stage = (size_t)a->stage < spec->nstages ? &spec->stages[a->stage] : NULL;
	bool can_act = has_resp && strcmp(resp, st->org) == 0 && stage && stage->kind == STAGE_REVIEW &&
		       strcmp(a->status, "returned") != 0;
	json_t *sec = review_open_secret(ctx, a);
	char masked[64];
	mask_id(str_of(sec, "id_number"), masked, sizeof(masked));
	json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:I,s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:b,s:s,s:s,s:s,s:s,s:o,s:o}",
			      "id", (json_int_t)a->id, "program", a->program, "category", a->category, "category_name",
			      cat ? cat->name : a->category, "rank", (json_int_t)a->rank, "quota",
			      quota_standing(cat ? cat->cap : 0, a->running_at_or_ahead), "status", a->status, "stage",
			      a->stage, "stage_name", stage ? stage->name : "已完成", "union", a->union_code,
			      "union_name", union_name, "responsible", has_resp ? resp : "", "responsible_name",
			      resp_name, "can_act", can_act, "name", str_of(a->fields, "name"), "unit",
			      str_of(a->fields, "unit"), "gender", str_of(a->fields, "gender"), "id_number",
			      reveal ? str_of(sec, "id_number") : masked, "submitted_at", api_time(a->submitted_at),
			      "updated_at", api_time(a->updated_at));
	if (cat)
		json_object_set_new(o, "amount_fen", json_integer(cat->amount_fen));
	if (a->return_deadline)
		json_object_set_new(o, "return_deadline", api_time(a->return_deadline));
	if (detail) {
		json_t *fields = json_deep_copy(a->fields);
		const char *k;
		json_t *v;
		json_object_foreach(sec, k, v)
		{
			const struct field_def *f = spec_field(spec, k);
			char m[64];
			if (reveal || !json_is_string(v)) {
				json_object_set(fields, k, v);
				continue;
			}
			if (f && f->type == FT_BANK_ACCOUNT)
				mask_bank(json_string_value(v), m, sizeof(m));
			else
				mask_id(json_string_value(v), m, sizeof(m));
			json_object_set_new(fields, k, json_string(m));
		}
		json_object_set_new(o, "fields", fields);
		json_object_set_new(o, "revealed", json_boolean(reveal));
	}
	json_decref(sec);
	return o;
}

static void notify_applicant(struct api_ctx *ctx, int64_t applicant, const char *text)
{
	struct ts_buf sealed, phone;
	ts_buf_init(&sealed, 0);
	ts_buf_init(&phone, 0);
	struct ts_error err;
	if (store_applicant_phone(ctx->store, applicant, &sealed, &err) == 0 &&
	    crypt_open(&ctx->keys, "applicant.phone", sealed.ptr, sealed.len, &phone) == 0 &&
	    sms_send(ctx->sms, phone.ptr, text, NULL, &err))
		ts_log_warn("review.notify", "SMS not sent: %s", err.message);
	crypt_wipe(phone.ptr, phone.len);
	ts_buf_free(&phone);
	ts_buf_free(&sealed);
}

/* After application `a` (rank R, category C) left the running: if it stood
 * inside the paid cap, the application now at position `cap` moved up from
 * the waiting list. Records that in its history and tells the applicant. */
void review_backfill(struct api_ctx *ctx, const struct program_spec *spec, const struct store_app *gone,
		     const char *why)
{
	const struct category_def *cat = spec_category(spec, gone->category);
	if (!cat)
		return;
	int64_t id = 0;
	struct ts_error err;
	struct store_app b;
	if (store_running_at(ctx->store, gone->program, gone->category, cat->cap, &id, &err) || !id)
		return;
	if (store_app_get(ctx->store, id, &b, &err))
		return;
	if (b.rank > gone->rank) {
		char reason[256];
		snprintf(reason, sizeof(reason), "依序递补：序号 %lld 的申报%s，序号 %lld 进入补助名额", (long long)gone->rank,
			 why, (long long)b.rank);
		json_t *d = json_pack("{s:I,s:I}", "moved_up_from", (json_int_t)(cat->cap + 1), "after_rank",
				      (json_int_t)gone->rank);
		char *dj = json_dumps(d, JSON_COMPACT);
		json_decref(d);
		if (store_app_note(ctx->store, b.id, ts_now_us(), "system", "backfill", reason, dj, &err))
			ts_log_warn("review.backfill", "note not stored: %s", err.message);
		free(dj);
		char text[300];
		snprintf(text, sizeof(text), "【职工提升补助】您申报的%s（%s，序号%lld）已依序递补进入补助名额，请留意审核进度。",
			 spec->title, cat->name, (long long)b.rank);
		notify_applicant(ctx, b.applicant, text);
		ts_log_info("review.backfill", "%s/%s rank %lld moved up after rank %lld left", gone->program,
			    gone->category, (long long)b.rank, (long long)gone->rank);
	}
	store_app_free(&b);
}

json_t *review_stage_json(const struct program_spec *spec, size_t i)
{
	const struct stage_def *sd = &spec->stages[i];
	return json_pack("{s:i,s:s,s:s,s:s,s:O,s:s,s:s,s:i,s:s}", "index", (int)i, "key", sd->key, "name", sd->name, "kind",
			 sd->kind == STAGE_REVIEW ? "review" : sd->kind == STAGE_PUBLICITY ? "publicity" : "approval", "levels",
			 sd->levels, "waiting_status", spec_stage_waiting_status(spec, i), "pass_status", sd->pass_status,
			 "days", sd->days, "day_kind", sd->working_days ? "working" : "calendar");
}

/* ---- the queue ---- */

struct list_ctx {
	struct api_ctx *ctx;
	const struct program_spec *spec;
	const struct staff_ctx *st;
	bool actionable;
	json_t *arr;
};

static int list_one(void *arg, const struct store_app *a)
{
	struct list_ctx *lc = arg;
	json_t *o = review_app_json(lc->ctx, lc->spec, a, lc->st, false, false);
	if (lc->actionable && !json_is_true(json_object_get(o, "can_act")))
		json_decref(o);
	else
		json_array_append_new(lc->arr, o);
	return 0;
}

static bool parse_int_param(struct http_request *req, const char *name, int64_t min, int64_t max, int64_t def,
			    int64_t *out)
{
	const char *v = http_req_query(req, name);
	*out = def;
	if (!v || !*v)
		return true;
	char *end = NULL;
	long long n = strtoll(v, &end, 10);
	if (!end || *end || n < min || n > max) {
		char msg[256], shown[64];
		snprintf(msg, sizeof(msg), "参数 %s 应为 %lld–%lld 的整数，收到的是 %s", name, (long long)min, (long long)max,
			 api_shown_value(v, shown, sizeof(shown)));
		api_reply_invalid(req, msg, json_pack("[{s:s,s:s}]", "name", name, "message", "取值不正确"));
		return false;
	}
	*out = n;
	return true;
}

/* 422 invalid for a query parameter whose value is not one the filter knows. */
static void reply_unknown_value(struct http_request *req, const char *name, const char *value, const char *why)
{
	char msg[256], shown[64];
	api_shown_value(value, shown, sizeof(shown));
	snprintf(msg, sizeof(msg), "参数 %s 的取值 %s %s", name, shown, why);
	api_reply_invalid(req, msg, json_pack("[{s:s,s:s}]", "name", name, "message", why));
}

/* The program of ?program=, or a 422/404 reply. */
struct reg_program *review_program_param(struct api_ctx *ctx, struct http_request *req)
{
	const char *id = http_req_query(req, "program");
	if (!id || !*id) {
		api_reply_invalid(req, "请指定项目（program）", json_pack("[{s:s,s:s}]", "name", "program", "message", "必填"));
		return NULL;
	}
	struct reg_program *p = registry_get(ctx->reg, id);
	if (!p)
		http_reply_error(req, 404, "not_found", "找不到该申报项目");
	return p;
}

void api_review_list(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	struct staff_ctx st;
	if (!api_auth_staff(ctx, req, &st))
		return;
	struct reg_program *p = review_program_param(ctx, req);
	if (!p)
		return;
	int64_t stage, rmin, rmax, limit, offset;
	json_t *unions = NULL;
	if (!parse_int_param(req, "stage", -1, 64, -1, &stage) || !parse_int_param(req, "rank_min", 0, 1 << 30, 0, &rmin) ||
	    !parse_int_param(req, "rank_max", 0, 1 << 30, 0, &rmax) ||
	    !parse_int_param(req, "limit", 1, 5000, 100, &limit) || !parse_int_param(req, "offset", 0, 1 << 30, 0, &offset))
		goto out;
	const char *cat = http_req_query(req, "category");
	if (cat && *cat && !spec_category(p->spec, cat)) {
		reply_unknown_value(req, "category", cat, "不是该项目的申报类别");
		goto out;
	}
	const char *status = http_req_query(req, "status");
	if (status && *status && !review_status_known(p->spec, status)) {
		reply_unknown_value(req, "status", status, "不是申报状态（如 submitted、returned、approved）");
		goto out;
	}
	const char *un = http_req_query(req, "union");
	const char *root = st.org;
	if (un && *un) {
		if (!review_in_scope(ctx, &st, un)) {
			http_reply_error(req, 404, "not_found", "该工会不在您的管辖范围内");
			goto out;
		}
		root = un;
	}
	char parent[64], level[16];
	if (registry_org_lookup(ctx->reg, root, parent, sizeof(parent), level, sizeof(level)) && parent[0] == '\0')
		unions = NULL; /* the whole tree */
	else
		unions = registry_subtree(ctx->reg, root);
	const char *act = http_req_query(req, "actionable");
	struct store_review_query q = {
		.program = p->spec->id,
		.status = status && *status ? status : NULL,
		.category = cat && *cat ? cat : NULL,
		.unions = unions,
		.stage = (int)stage,
		.rank_min = rmin,
		.rank_max = rmax,
		.limit = limit,
		.offset = offset,
	};
	struct list_ctx lc = {ctx, p->spec, &st, act && strcmp(act, "1") == 0, json_array()};
	int64_t total = 0;
	struct ts_error err;
	if (store_review_list(ctx->store, &q, list_one, &lc, &total, &err)) {
		json_decref(lc.arr);
		api_reply_err(req, &err);
		goto out;
	}
	json_t *stages = json_array();
	for (size_t i = 0; i < p->spec->nstages; i++)
		json_array_append_new(stages, review_stage_json(p->spec, i));
	api_reply_json(req, 200, json_pack("{s:o,s:I,s:o}", "applications", lc.arr, "total", (json_int_t)total, "stages",
					   stages));
out:
	json_decref(unions);
	registry_put(p);
}

/* Loads an application the staff member may see; replies 404 otherwise. */
static bool load_scoped(struct api_ctx *ctx, struct http_request *req, const struct staff_ctx *st,
			struct store_app *a, struct reg_program **p)
{
	int64_t id;
	struct ts_error err;
	if (!api_parse_id(http_req_param(req, 0), &id)) {
		http_reply_error(req, 404, "not_found", "找不到该申报");
		return false;
	}
	int rc = store_app_get(ctx->store, id, a, &err);
	if (rc == 0 && !review_in_scope(ctx, st, a->union_code)) {
		store_app_free(a);
		rc = ts_error_set(&err, TS_ENOTFOUND, "not_found", "找不到该申报");
	}
	if (rc == 0 && !(*p = registry_get(ctx->reg, a->program))) {
		store_app_free(a);
		rc = ts_error_set(&err, TS_ENOTFOUND, "not_found", "找不到该申报项目");
	}
	if (rc) {
		api_reply_err(req, &err);
		return false;
	}
	return true;
}

void api_review_get(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	struct staff_ctx st;
	struct store_app a;
	struct reg_program *p = NULL;
	if (!api_auth_staff(ctx, req, &st) || !load_scoped(ctx, req, &st, &a, &p))
		return;
	const char *rv = http_req_query(req, "reveal");
	bool reveal = rv && strcmp(rv, "1") == 0;
	char resp[64];
	if (reveal && !(review_responsible_for(ctx, p->spec, &a, resp, sizeof(resp)) && strcmp(resp, st.org) == 0)) {
		http_reply_error(req, 403, "forbidden", "只有当前环节负责审核的工会可以查看完整证件号");
		goto out;
	}
	json_t *o = review_app_json(ctx, p->spec, &a, &st, true, reveal);
	json_t *events = NULL;
	struct ts_error err;
	if (store_app_history(ctx->store, a.id, &events, &err) == 0) {
		size_t i;
		json_t *e;
		json_array_foreach(events, i, e)
		{
			json_object_set_new(e, "at", api_time(json_integer_value(json_object_get(e, "at"))));
			json_t *detail = json_object_get(e, "detail");
			if (json_is_object(detail)) {
				json_object_update_missing(e, detail);
				json_object_del(e, "detail");
			}
		}
		json_object_set_new(o, "history", events);
	}
	if (reveal) {
		char target[32];
		snprintf(target, sizeof(target), "application:%lld", (long long)a.id);
		api_audit(ctx, req, &st, "application.reveal", target, "查看完整证件号", NULL);
	}
	api_reply_json(req, 200, o);
out:
	registry_put(p);
	store_app_free(&a);
}

/* ---- decisions ---- */

/* Checks that `st` may decide on `a` now; fills err (409 wrong_stage, 403 wrong_level). */
static int check_decider(struct api_ctx *ctx, const struct program_spec *spec, const struct store_app *a,
			 const struct staff_ctx *st, struct ts_error *err)
{
	if (!status_in_running(a->status) || strcmp(a->status, "returned") == 0 || (size_t)a->stage >= spec->nstages ||
	    spec->stages[a->stage].kind != STAGE_REVIEW ||
	    strcmp(a->status, spec_stage_waiting_status(spec, (size_t)a->stage)) != 0) {
		char label[160];
		return ts_error_set(err, TS_ECONFLICT, "wrong_stage", "该申报当前不在待审核环节（状态：%s）",
				    review_status_label(spec, a->status, label, sizeof(label)));
	}
	char resp[64];
	if (!review_responsible_for(ctx, spec, a, resp, sizeof(resp)) || strcmp(resp, st->org) != 0) {
		char name[200] = "";
		registry_org_name(ctx->reg, resp, name, sizeof(name));
		return ts_error_set(err, TS_EFORBIDDEN, "wrong_level", "当前环节（%s）应由%s审核", spec->stages[a->stage].name,
				    name[0] ? name : "其他工会");
	}
	return 0;
}

static void fill_step(struct store_step *sp, const struct program_spec *spec, const struct store_app *a,
		      const struct review_decision *d, const struct staff_ctx *st, const char **expect, char *detail_buf,
		      size_t dn)
{
	memset(sp, 0, sizeof(*sp));
	sp->id = a->id;
	sp->expect_stage = a->stage;
	expect[0] = spec_stage_waiting_status(spec, (size_t)a->stage);
	expect[1] = NULL;
	sp->expect_status = expect;
	sp->actor = st->username;
	sp->reason = d->reason;
	sp->now = ts_now_us();
	sp->to_stage = -1;
	sp->spec = spec;
	detail_buf[0] = '\0';
	switch (d->kind) {
	case DECISION_PASS:
		sp->to_status = spec->stages[a->stage].pass_status;
		sp->to_stage = a->stage + 1;
		sp->action = "pass";
		break;
	case DECISION_REJECT:
		sp->to_status = "rejected";
		sp->action = "reject";
		break;
	case DECISION_RETURN: {
		sp->to_status = "returned";
		sp->action = "return";
		sp->return_deadline = d->deadline;
		sp->return_limit = spec->return_limit > 0 ? spec->return_limit : 1;
		char dl[40];
		ts_time_format(d->deadline, dl, sizeof(dl));
		json_t *det = json_pack("{s:O,s:s}", "items", d->items, "deadline", dl);
		char *s = json_dumps(det, JSON_COMPACT);
		snprintf(detail_buf, dn, "%s", s ? s : "");
		free(s);
		json_decref(det);
		break;
	}
	}
	sp->detail_json = detail_buf[0] ? detail_buf : NULL;
}


void api_review_decide(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	struct staff_ctx st;
	struct store_app a;
	struct reg_program *p = NULL;
	if (!api_auth_staff(ctx, req, &st))
		return;
	json_t *body = api_body_object(req);
	if (!body)
		return;
	static const char *const keys[] = {"decision", "reason", "items", "deadline", NULL};
	if (!api_only_keys(req, body, keys) || !load_scoped(ctx, req, &st, &a, &p)) {
		json_decref(body);
		return;
	}
	struct review_decision d = {0};
	struct ts_error err;
	json_t *fields = json_array();
	if (!api_require_role(req, &st, decider_roles))
		goto out;
	if (review_parse_decision(body, ts_now_us(), &d, fields, &err)) {
		api_reply_invalid(req, err.message, fields);
		fields = NULL;
		goto out;
	}
	if (check_decider(ctx, p->spec, &a, &st, &err)) {
		api_reply_err(req, &err);
		goto out;
	}
	struct store_step sp;
	const char *expect[2];
	char detail[4096];
	fill_step(&sp, p->spec, &a, &d, &st, expect, detail, sizeof(detail));
	int rc1 = 0;
	struct ts_error e1;
	if (store_app_steps(ctx->store, &sp, 1, &rc1, &e1, &err)) {
		api_reply_err(req, &err);
		goto out;
	}
	if (rc1) {
		api_reply_err(req, &e1);
		goto out;
	}
	char target[32];
	snprintf(target, sizeof(target), "application:%lld", (long long)a.id);
	api_audit(ctx, req, &st, sp.action, target, d.reason,
		  json_pack("{s:s,s:s,s:s,s:i}", "program", a.program, "from", a.status, "to", sp.to_status, "stage", a.stage));
	if (d.kind == DECISION_REJECT)
		review_backfill(ctx, p->spec, &a, "未通过审核");
	if (d.kind == DECISION_RETURN) {
		char text[300], dl[40];
		ts_time_format_cn(d.deadline, true, dl, sizeof(dl));
		snprintf(text, sizeof(text), "【职工提升补助】您的申报（序号%lld）需补正材料，请于%s前登录系统查看补正内容并重新提交，逾期视为放弃。",
			 (long long)a.rank, dl);
		notify_applicant(ctx, a.applicant, text);
	}
	struct store_app b;
	if (store_app_get(ctx->store, a.id, &b, &err)) {
		api_reply_err(req, &err);
		goto out;
	}
	api_reply_json(req, 200, review_app_json(ctx, p->spec, &b, &st, false, false));
	store_app_free(&b);
out:
	json_decref(fields);
	review_decision_free(&d);
	registry_put(p);
	store_app_free(&a);
	json_decref(body);
}

#define BATCH_MAX 5000
#define BATCH_CHUNK 500

void api_review_batch(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	struct staff_ctx st;
	if (!api_auth_staff(ctx, req, &st))
		return;
	json_t *body = api_body_object(req);
	if (!body)
		return;
	static const char *const keys[] = {"ids", "decision", "reason", NULL};
	json_t *results = NULL;
	if (!api_only_keys(req, body, keys) || !api_require_role(req, &st, decider_roles))
		goto out;
	const json_t *ids = json_object_get(body, "ids");
	const char *dec = json_string_value(json_object_get(body, "decision"));
	if (!json_is_array(ids) || json_array_size(ids) == 0 || json_array_size(ids) > BATCH_MAX || !dec ||
	    (strcmp(dec, "pass") != 0 && strcmp(dec, "reject") != 0)) {
		api_reply_invalid(req, "批量审核须给出 ids（1–5000 个）和 decision（pass 或 reject）", NULL);
		goto out;
	}
	struct review_decision d = {0};
	json_t *fields = json_array();
	struct ts_error err;
	if (review_parse_decision(body, ts_now_us(), &d, fields, &err)) {
		api_reply_invalid(req, err.message, fields);
		goto out;
	}
	json_decref(fields);
	size_t n = json_array_size(ids);
	results = json_array();
	struct store_step *steps = ts_calloc(BATCH_CHUNK, sizeof(*steps));
	struct store_app *apps = ts_calloc(BATCH_CHUNK, sizeof(*apps));
	struct reg_program **progs = ts_calloc(BATCH_CHUNK, sizeof(*progs));
	const char *(*expects)[2] = ts_calloc(BATCH_CHUNK, sizeof(*expects));
	char(*details)[8] = ts_calloc(BATCH_CHUNK, sizeof(*details));
	int *rcs = ts_calloc(BATCH_CHUNK, sizeof(*rcs));
	struct ts_error *errs = ts_calloc(BATCH_CHUNK, sizeof(*errs));
	size_t *slot = ts_calloc(BATCH_CHUNK, sizeof(*slot));
	int64_t passed = 0;
	for (size_t base = 0; base < n; base += BATCH_CHUNK) {
		size_t m = 0, end = base + BATCH_CHUNK < n ? base + BATCH_CHUNK : n;
		for (size_t i = base; i < end; i++) {
			json_t *r = json_pack("{s:O}", "id", json_array_get(ids, i));
			json_array_append_new(results, r);
			int64_t id = json_integer_value(json_array_get(ids, i));
			struct store_app *a = &apps[m];
			int rc = id > 0 ? store_app_get(ctx->store, id, a, &err) : TS_ENOTFOUND;
			if (rc == 0 && !review_in_scope(ctx, &st, a->union_code)) {
				store_app_free(a);
				rc = TS_ENOTFOUND;
			}
			if (rc == TS_ENOTFOUND) {
				json_object_set_new(r, "ok", json_false());
				json_object_set_new(r, "error", json_string("not_found"));
				continue;
			}
			if (rc) {
				json_object_set_new(r, "ok", json_false());
				json_object_set_new(r, "error", json_string(err.code));
				continue;
			}
			progs[m] = registry_get(ctx->reg, a->program);
			if (!progs[m] || check_decider(ctx, progs[m]->spec, a, &st, &err)) {
				json_object_set_new(r, "ok", json_false());
				json_object_set_new(r, "error", json_string(progs[m] ? err.code : "not_found"));
				json_object_set_new(r, "message", json_string(progs[m] ? err.message : "找不到该申报项目"));
				registry_put(progs[m]);
				progs[m] = NULL;
				store_app_free(a);
				continue;
			}
			fill_step(&steps[m], progs[m]->spec, a, &d, &st, expects[m], details[m], sizeof(details[m]));
			slot[m] = i;
			m++;
		}
		int trc = m ? store_app_steps(ctx->store, steps, m, rcs, errs, &err) : 0;
		for (size_t k = 0; k < m; k++) {
			json_t *r = json_array_get(results, slot[k]);
			if (trc || rcs[k]) {
				json_object_set_new(r, "ok", json_false());
				json_object_set_new(r, "error", json_string(trc ? err.code : errs[k].code));
			} else {
				json_object_set_new(r, "ok", json_true());
				json_object_set_new(r, "status", json_string(steps[k].to_status));
				passed++;
				if (d.kind == DECISION_REJECT)
					review_backfill(ctx, progs[k]->spec, &apps[k], "未通过审核");
			}
			registry_put(progs[k]);
			progs[k] = NULL;
			store_app_free(&apps[k]);
		}
	}
	api_audit(ctx, req, &st, d.kind == DECISION_PASS ? "batch_pass" : "batch_reject", "applications", d.reason,
		  json_pack("{s:I,s:I}", "requested", (json_int_t)n, "applied", (json_int_t)passed));
	free(steps);
	free(apps);
	free(progs);
	free(expects);
	free(details);
	free(rcs);
	free(errs);
	free(slot);
	review_decision_free(&d);
	api_reply_json(req, 200, json_pack("{s:o,s:I,s:I}", "results", results, "applied", (json_int_t)passed,
					   "requested", (json_int_t)n));
	results = NULL;
out:
	json_decref(results);
	json_decref(body);
}

/* ---- applicant: resubmit after a correction notice ---- */

void api_app_resubmit(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	int64_t applicant, id;
	if (!api_auth_applicant(ctx, req, &applicant))
		return;
	struct store_app a;
	struct ts_error err;
	if (!api_parse_id(http_req_param(req, 0), &id) || store_app_get(ctx->store, id, &a, &err)) {
		http_reply_error(req, 404, "not_found", "找不到该申报");
		return;
	}
	struct reg_program *p = NULL;
	if (a.applicant != applicant || !(p = registry_get(ctx->reg, a.program))) {
		http_reply_error(req, 404, "not_found", "找不到该申报");
		goto out;
	}
	static const char *const expect[] = {"returned", NULL};
	struct store_step sp = {
		.id = a.id,
		.expect_stage = -1,
		.expect_status = expect,
		.to_status = spec_stage_waiting_status(p->spec, (size_t)a.stage),
		.to_stage = -1,
		.actor = "applicant",
		.action = "resubmit",
		.reason = "申报人已补正并重新提交",
		.now = ts_now_us(),
		.spec = p->spec,
	};
	int rc1 = 0;
	struct ts_error e1;
	if (store_app_steps(ctx->store, &sp, 1, &rc1, &e1, &err)) {
		api_reply_err(req, &err);
		goto out;
	}
	if (rc1) {
		if (rc1 == TS_ECONFLICT)
			ts_error_set(&e1, TS_ECONFLICT, "locked", "该申报当前不需要补正");
		api_reply_err(req, &e1);
		goto out;
	}
	struct store_app b;
	if (store_app_get(ctx->store, a.id, &b, &err)) {
		api_reply_err(req, &err);
		goto out;
	}
	api_reply_json(req, 200, json_pack("{s:I,s:s,s:s,s:I,s:s,s:s}", "id", (json_int_t)b.id, "program", b.program,
					   "category", b.category, "rank", (json_int_t)b.rank, "quota",
					   quota_standing(spec_category(p->spec, b.category)
								  ? spec_category(p->spec, b.category)->cap
								  : 0,
							  b.running_at_or_ahead),
					   "status", b.status));
	store_app_free(&b);
out:
	registry_put(p);
	store_app_free(&a);
}

/* ---- final approval ---- */

struct approve_ctx {
	const struct program_spec *spec;
	json_t *ids;
	int64_t amount;
};

static int approve_one(void *arg, const struct store_app *a)
{
	struct approve_ctx *ac = arg;
	const struct category_def *cat = spec_category(ac->spec, a->category);
	if (!cat || a->running_at_or_ahead > cat->cap ||
	    strcmp(a->status, spec_stage_waiting_status(ac->spec, (size_t)a->stage)) != 0)
		return 0;
	json_array_append_new(ac->ids, json_integer(a->id));
	ac->amount += cat->amount_fen;
	return 0;
}

void api_review_approve(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	struct staff_ctx st;
	if (!api_auth_staff(ctx, req, &st))
		return;
	json_t *body = api_body_object(req);
	if (!body)
		return;
	static const char *const roles[] = {"admin", NULL};
	struct reg_program *p = NULL;
	struct approve_ctx ac = {0};
	if (!api_require_role(req, &st, roles))
		goto out;
	if (strcmp(st.org_level, "province") != 0) {
		http_reply_error(req, 403, "wrong_level", "终审由省总工会进行");
		goto out;
	}
	if (!st.totp_enabled) {
		http_reply_error(req, 403, "totp_required", "终审账号须先启用动态验证码（双重验证）");
		goto out;
	}
	const char *prog = json_string_value(json_object_get(body, "program"));
	if (!prog || !(p = registry_get(ctx->reg, prog))) {
		http_reply_error(req, 404, "not_found", "找不到该申报项目");
		goto out;
	}
	const struct program_spec *spec = p->spec;
	if (spec->nstages == 0 || spec->stages[spec->nstages - 1].kind != STAGE_APPROVAL) {
		http_reply_error(req, 409, "wrong_stage", "该项目没有终审环节");
		goto out;
	}
	int final = (int)spec->nstages - 1;
	struct store_review_query q = {.program = spec->id, .stage = final, .running_only = true};
	ac.spec = spec;
	ac.ids = json_array();
	int64_t total;
	struct ts_error err;
	if (store_review_list(ctx->store, &q, approve_one, &ac, &total, &err)) {
		api_reply_err(req, &err);
		goto out;
	}
	size_t n = json_array_size(ac.ids);
	if (n == 0) {
		http_reply_error(req, 409, "nothing_to_approve", "没有等待终审且在补助名额内的申报");
		goto out;
	}
	const char *expect[2] = {spec_stage_waiting_status(spec, (size_t)final), NULL};
	struct store_step *steps = ts_calloc(n, sizeof(*steps));
	int *rcs = ts_calloc(n, sizeof(*rcs));
	struct ts_error *errs = ts_calloc(n, sizeof(*errs));
	for (size_t i = 0; i < n; i++) {
		steps[i] = (struct store_step){
			.id = json_integer_value(json_array_get(ac.ids, i)),
			.expect_stage = final,
			.expect_status = expect,
			.to_status = "approved",
			.to_stage = final + 1,
			.actor = st.username,
			.action = "approve",
			.reason = "主席办公会审议批准",
			.now = ts_now_us(),
			.spec = spec,
		};
	}
	int trc = store_app_steps(ctx->store, steps, n, rcs, errs, &err);
	int64_t approved = 0;
	for (size_t i = 0; !trc && i < n; i++)
		approved += rcs[i] == 0;
	free(steps);
	free(rcs);
	free(errs);
	if (trc) {
		api_reply_err(req, &err);
		goto out;
	}
	api_audit(ctx, req, &st, "approve", spec->id, "主席办公会终审",
		  json_pack("{s:I,s:I}", "approved", (json_int_t)approved, "amount_fen", (json_int_t)ac.amount));
	api_reply_json(req, 200, json_pack("{s:s,s:I,s:I,s:O}", "program", spec->id, "approved", (json_int_t)approved,
					   "amount_fen", (json_int_t)ac.amount, "ids", ac.ids));
out:
	json_decref(ac.ids);
	registry_put(p);
	json_decref(body);
}
