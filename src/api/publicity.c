/* api/publicity.c — 公示: staff publish the applications waiting at a
 * publicity stage, the public reads a masked list and files real-name
 * objections, the responsible union investigates, and closing the publicity
 * passes the rest to the next stage. */
#include "api/common.h"
#include "api/handlers.h"
#include "api/review_util.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/time.h"
#include "domain/idnum.h"
#include "domain/mask.h"
#include "domain/review.h"
#include "domain/rules.h"
#include "domain/validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const publisher_roles[] = {"reviewer", "admin", NULL};

/* The end of a "YYYY-MM-DD" day in Asia/Shanghai, as UTC µs (or the start). */
static int64_t day_edge(const char *date, bool end)
{
	int y, m, d;
	if (!ts_date_parse(date, &y, &m, &d))
		return 0;
	int64_t day = ts_days_from_civil(y, (unsigned)m, (unsigned)d) + (end ? 1 : 0);
	return (day * 86400 - TS_CST_OFFSET_S) * TS_US_PER_SEC - (end ? 1 : 0);
}

/* Applications already listed in an open publicity of this program and stage. */
static json_t *already_listed(struct api_ctx *ctx, const char *program, int stage, const char *org)
{
	json_t *ids = json_object(), *list = NULL, *orgs = json_pack("[s]", org);
	struct ts_error err;
	if (store_publicity_list(ctx->store, program, orgs, &list, &err) == 0) {
		size_t i;
		json_t *p;
		json_array_foreach(list, i, p)
		{
			if (strcmp(json_string_value(json_object_get(p, "status")), "open") != 0 ||
			    json_integer_value(json_object_get(p, "stage")) != stage)
				continue;
			json_t *full = NULL;
			if (store_publicity_get(ctx->store, json_integer_value(json_object_get(p, "id")), &full, &err))
				continue;
			size_t j;
			json_t *e;
			json_array_foreach(json_object_get(full, "entries"), j, e)
			{
				char k[32];
				snprintf(k, sizeof(k), "%lld", (long long)json_integer_value(json_object_get(e, "application")));
				json_object_set_new(ids, k, json_true());
			}
			json_decref(full);
		}
	}
	json_decref(list);
	json_decref(orgs);
	return ids;
}

struct collect_ctx {
	struct api_ctx *ctx;
	const struct program_spec *spec;
	const struct staff_ctx *st;
	int stage;
	json_t *skip;
	json_t *entries;
};

static int collect_one(void *arg, const struct store_app *a)
{
	struct collect_ctx *cc = arg;
	char resp[64], k[32];
	snprintf(k, sizeof(k), "%lld", (long long)a->id);
	if (strcmp(a->status, spec_stage_waiting_status(cc->spec, (size_t)cc->stage)) != 0 ||
	    json_object_get(cc->skip, k) || !review_responsible_for(cc->ctx, cc->spec, a, resp, sizeof(resp)) ||
	    strcmp(resp, cc->st->org) != 0)
		return 0;
	const struct category_def *cat = spec_category(cc->spec, a->category);
	json_t *sec = review_open_secret(cc->ctx, a);
	char masked[64];
	const char *idn = json_string_value(json_object_get(sec, "id_number"));
	mask_id(idn ? idn : "", masked, sizeof(masked));
	json_decref(sec);
	const char *name = json_string_value(json_object_get(a->fields, "name"));
	const char *unit = json_string_value(json_object_get(a->fields, "unit"));
	/* a waitlisted one (beyond the paid cap) is listed as such: it is paid
	 * only when one ahead of it drops out */
	const char *quota = quota_standing(cat ? cat->cap : 0, a->running_at_or_ahead);
	json_array_append_new(cc->entries,
			      json_pack("{s:I,s:s,s:s,s:s,s:s,s:I,s:s,s:s}", "application", (json_int_t)a->id, "name",
					name ? name : "", "unit", unit ? unit : "", "category", a->category, "category_name",
					cat ? cat->name : a->category, "amount_fen", (json_int_t)(cat ? cat->amount_fen : 0),
					"id_masked", masked, "quota", quota));
	return 0;
}

void api_publicity_create(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	struct staff_ctx st;
	if (!api_auth_staff(ctx, req, &st))
		return;
	json_t *body = api_body_object(req);
	if (!body)
		return;
	static const char *const keys[] = {"program", "starts_on", "ends_on", "title", NULL};
	struct reg_program *p = NULL;
	struct collect_ctx cc = {0};
	json_t *unions = NULL;
	if (!api_only_keys(req, body, keys) || !api_require_role(req, &st, publisher_roles))
		goto out;
	const char *prog = json_string_value(json_object_get(body, "program"));
	const char *starts = json_string_value(json_object_get(body, "starts_on"));
	const char *ends = json_string_value(json_object_get(body, "ends_on"));
	const char *title = json_string_value(json_object_get(body, "title"));
	if (!prog || !(p = registry_get(ctx->reg, prog))) {
		http_reply_error(req, 404, "not_found", "找不到该申报项目");
		goto out;
	}
	/* the publicity stage this union acts at */
	int stage = -1;
	for (size_t i = 0; i < p->spec->nstages && stage < 0; i++) {
		const struct stage_def *sd = &p->spec->stages[i];
		size_t j;
		json_t *l;
		if (sd->kind != STAGE_PUBLICITY)
			continue;
		json_array_foreach(sd->levels, j, l) if (strcmp(json_string_value(l), st.org_level) == 0) stage = (int)i;
	}
	if (stage < 0) {
		http_reply_error(req, 403, "wrong_level", "您所在的工会不负责该项目的公示");
		goto out;
	}
	const struct stage_def *sd = &p->spec->stages[stage];
	int64_t now = ts_now_us();
	int days = starts && ends ? review_days(starts, ends, sd->working_days, ctx->calendar) : -1;
	if (days < 0) {
		api_reply_invalid(req, "请填写公示开始和结束日期（YYYY-MM-DD），结束不早于开始",
				  json_pack("[{s:s,s:s}]", "name", "ends_on", "message", "日期不正确"));
		goto out;
	}
	if (days < sd->days) {
		char msg[160];
		snprintf(msg, sizeof(msg), "公示期不少于 %d 个%s，所选日期只有 %d 个", sd->days,
			 sd->working_days ? "工作日" : "自然日", days);
		api_reply_invalid(req, msg, json_pack("[{s:s,s:s}]", "name", "ends_on", "message", msg));
		goto out;
	}
	if (day_edge(ends, true) <= now) {
		api_reply_invalid(req, "公示结束日期已过", json_pack("[{s:s,s:s}]", "name", "ends_on", "message", "已过"));
		goto out;
	}
	char parent[64], level[16];
	registry_org_lookup(ctx->reg, st.org, parent, sizeof(parent), level, sizeof(level));
	unions = parent[0] ? registry_subtree(ctx->reg, st.org) : NULL;
	struct store_review_query q = {.program = p->spec->id, .stage = stage, .running_only = true, .unions = unions};
	cc = (struct collect_ctx){ctx, p->spec, &st, stage, already_listed(ctx, p->spec->id, stage, st.org), json_array()};
	int64_t total;
	struct ts_error err;
	if (store_review_list(ctx->store, &q, collect_one, &cc, &total, &err)) {
		api_reply_err(req, &err);
		goto out;
	}
	if (json_array_size(cc.entries) == 0) {
		http_reply_error(req, 409, "nothing_to_publish", "没有等待公示的申报");
		goto out;
	}
	char org_name[200] = "", deft[400];
	registry_org_name(ctx->reg, st.org, org_name, sizeof(org_name));
	snprintf(deft, sizeof(deft), "%s%s名单", p->spec->title, sd->name);
	struct store_publicity pub = {
		.program = p->spec->id,
		.stage = stage,
		.org = st.org,
		.title = title && *title ? title : deft,
		.actor = st.username,
		.starts_at = day_edge(starts, false),
		.ends_at = day_edge(ends, true),
		.now = now,
	};
	int64_t id;
	if (store_publicity_create(ctx->store, &pub, cc.entries, &id, &err)) {
		api_reply_err(req, &err);
		goto out;
	}
	char target[32];
	snprintf(target, sizeof(target), "publicity:%lld", (long long)id);
	api_audit(ctx, req, &st, "publicity.create", target, NULL,
		  json_pack("{s:s,s:i,s:I,s:s,s:s}", "program", p->spec->id, "stage", stage, "entries",
			    (json_int_t)json_array_size(cc.entries), "starts_on", starts, "ends_on", ends));
	char url[64];
	snprintf(url, sizeof(url), "/public/publicity/%lld", (long long)id);
	api_reply_json(req, 201, json_pack("{s:I,s:s,s:s,s:I,s:s}", "id", (json_int_t)id, "title", pub.title, "org_name",
					   org_name, "entries", (json_int_t)json_array_size(cc.entries), "public_url", url));
out:
	json_decref(cc.skip);
	json_decref(cc.entries);
	json_decref(unions);
	registry_put(p);
	json_decref(body);
}

static json_t *publicity_view(struct api_ctx *ctx, json_t *pub, bool staff)
{
	json_object_set_new(pub, "starts_at", api_time(json_integer_value(json_object_get(pub, "starts_at"))));
	json_object_set_new(pub, "ends_at", api_time(json_integer_value(json_object_get(pub, "ends_at"))));
	json_object_set_new(pub, "created_at", api_time(json_integer_value(json_object_get(pub, "created_at"))));
	char name[200] = "";
	registry_org_name(ctx->reg, json_string_value(json_object_get(pub, "org")), name, sizeof(name));
	json_object_set_new(pub, "org_name", json_string(name));
	char url[64];
	snprintf(url, sizeof(url), "/public/publicity/%lld", (long long)json_integer_value(json_object_get(pub, "id")));
	json_object_set_new(pub, "public_url", json_string(url));
	if (!staff) {
		json_object_del(pub, "objections");
		json_object_del(pub, "created_by");
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(pub, "entries"), i, e) json_object_del(e, "application");
	} else {
		size_t i;
		json_t *o;
		json_array_foreach(json_object_get(pub, "objections"), i, o)
		{
			json_object_set_new(o, "created_at", api_time(json_integer_value(json_object_get(o, "created_at"))));
			int64_t da = json_integer_value(json_object_get(o, "decided_at"));
			json_object_set_new(o, "decided_at", da ? api_time(da) : json_null());
		}
	}
	return pub;
}

static json_t *load_publicity(struct api_ctx *ctx, struct http_request *req, const struct staff_ctx *st)
{
	int64_t id;
	json_t *pub = NULL;
	struct ts_error err;
	if (!api_parse_id(http_req_param(req, 0), &id) || store_publicity_get(ctx->store, id, &pub, &err) ||
	    (st && !review_in_scope(ctx, st, json_string_value(json_object_get(pub, "org"))))) {
		json_decref(pub);
		http_reply_error(req, 404, "not_found", "找不到该公示");
		return NULL;
	}
	return pub;
}

void api_publicity_list(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	struct staff_ctx st;
	if (!api_auth_staff(ctx, req, &st))
		return;
	const char *prog = http_req_query(req, "program");
	json_t *orgs = registry_subtree(ctx->reg, st.org), *list = NULL;
	struct ts_error err;
	if (store_publicity_list(ctx->store, prog && *prog ? prog : NULL, orgs, &list, &err)) {
		api_reply_err(req, &err);
	} else {
		size_t i;
		json_t *p;
		json_array_foreach(list, i, p) publicity_view(ctx, p, true);
		api_reply_json(req, 200, json_pack("{s:o}", "publicity", list));
	}
	json_decref(orgs);
}

void api_publicity_get(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	struct staff_ctx st;
	if (!api_auth_staff(ctx, req, &st))
		return;
	json_t *pub = load_publicity(ctx, req, &st);
	if (pub)
		api_reply_json(req, 200, publicity_view(ctx, pub, true));
}

void api_publicity_close(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	struct staff_ctx st;
	if (!api_auth_staff(ctx, req, &st))
		return;
	json_t *pub = load_publicity(ctx, req, &st), *advanced = NULL;
	struct reg_program *p = NULL;
	if (!pub || !api_require_role(req, &st, publisher_roles))
		goto out;
	if (strcmp(json_string_value(json_object_get(pub, "org")), st.org) != 0) {
		http_reply_error(req, 403, "wrong_level", "只有发布公示的工会可以结束公示");
		goto out;
	}
	if (ts_now_us() <= json_integer_value(json_object_get(pub, "ends_at"))) {
		http_reply_error(req, 409, "not_ended", "公示期尚未结束");
		goto out;
	}
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(pub, "objections"), i, o) if (strcmp(json_string_value(json_object_get(o, "status")),
										"pending") == 0)
	{
		http_reply_error(req, 409, "objections_pending", "还有未调查核实的异议，请先处理");
		goto out;
	}
	p = registry_get(ctx->reg, json_string_value(json_object_get(pub, "program")));
	int stage = (int)json_integer_value(json_object_get(pub, "stage"));
	if (!p || stage < 0 || (size_t)stage >= p->spec->nstages) {
		http_reply_error(req, 409, "wrong_stage", "该公示的项目环节已变更");
		goto out;
	}
	struct ts_error err;
	int64_t id = json_integer_value(json_object_get(pub, "id"));
	if (store_publicity_close(ctx->store, id, p->spec->stages[stage].pass_status, stage + 1, st.username, ts_now_us(),
				  &advanced, &err)) {
		api_reply_err(req, &err);
		goto out;
	}
	char target[32];
	snprintf(target, sizeof(target), "publicity:%lld", (long long)id);
	api_audit(ctx, req, &st, "publicity.close", target, "公示期满", json_pack("{s:O}", "advanced", advanced));
	api_reply_json(req, 200, json_pack("{s:I,s:s,s:O}", "id", (json_int_t)id, "status", "closed", "advanced", advanced));
out:
	json_decref(advanced);
	registry_put(p);
	json_decref(pub);
}

/* ---- the public side ---- */

void api_public_publicity(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	json_t *pub = load_publicity(ctx, req, NULL);
	if (pub) {
		http_add_header(req, "Cache-Control", "public, max-age=30");
		char *s = json_dumps(publicity_view(ctx, pub, false), JSON_COMPACT);
		json_decref(pub);
		http_reply(req, 200, "application/json; charset=utf-8", s, strlen(s));
	}
}

static int html_escape(struct ts_buf *b, const char *s)
{
	int rc = 0;
	for (; *s && !rc; s++) {
		switch (*s) {
		case '<': rc = ts_buf_puts(b, "&lt;"); break;
		case '>': rc = ts_buf_puts(b, "&gt;"); break;
		case '&': rc = ts_buf_puts(b, "&amp;"); break;
		case '"': rc = ts_buf_puts(b, "&quot;"); break;
		case '\'': rc = ts_buf_puts(b, "&#39;"); break;
		default: rc = ts_buf_append(b, s, 1);
		}
	}
	return rc;
}

void api_public_publicity_page(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	json_t *pub = load_publicity(ctx, req, NULL);
	if (!pub)
		return;
	int64_t starts = json_integer_value(json_object_get(pub, "starts_at"));
	int64_t ends = json_integer_value(json_object_get(pub, "ends_at"));
	publicity_view(ctx, pub, false);
	struct ts_buf b;
	ts_buf_init(&b, 8 << 20);
	char s1[32], s2[32];
	ts_time_format_local(starts, s1, sizeof(s1));
	ts_time_format_local(ends, s2, sizeof(s2));
	s1[10] = s2[10] = '\0';
	int rc = ts_buf_puts(&b, "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
				 "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>");
	rc = rc ? rc : html_escape(&b, json_string_value(json_object_get(pub, "title")));
	rc = rc ? rc
		: ts_buf_puts(&b, "</title><style>body{font-family:'Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif;"
				  "margin:0;padding:16px;color:#1f2329;background:#fff}h1{font-size:20px;text-align:center}"
				  "p{line-height:1.7}.wrap{overflow-x:auto}"
				  "table{border-collapse:collapse;width:100%;font-size:14px}"
				  "th,td{border:1px solid #999;padding:6px 8px;text-align:left}th{background:#f2f3f5}"
				  "th,td:nth-child(-n+3),td:nth-child(n+5){white-space:nowrap}td:nth-child(4){min-width:9em}"
				  ".meta{color:#555;font-size:14px}.btn{display:inline-block;margin:8px 0;padding:10px 20px;"
				  "background:#c8161d;color:#fff;border-radius:6px;text-decoration:none;font-size:16px}"
				  "</style></head><body><h1>");
	rc = rc ? rc : html_escape(&b, json_string_value(json_object_get(pub, "title")));
	rc = rc ? rc : ts_buf_printf(&b, "</h1><p class=\"meta\">公示单位：");
	rc = rc ? rc : html_escape(&b, json_string_value(json_object_get(pub, "org_name")));
	rc = rc ? rc
		: ts_buf_printf(&b,
				"　公示期：%s 至 %s</p><p>现将以下人员名单予以公示。公示期间，对公示对象有异议的，"
				"可以实名方式提出（须填写真实姓名并通过手机验证码验证），由公示单位负责调查核实。</p>"
				"<div class=\"wrap\"><table><thead><tr><th>序号</th><th>姓名</th><th>身份证号</th><th>工作单位</th><th>类别</th>"
				"<th>补助金额（元）</th></tr></thead><tbody>",
				s1, s2);
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(pub, "entries"), i, e)
	{
		if (rc)
			break;
		rc = ts_buf_printf(&b, "<tr><td>%lld</td><td>", (long long)json_integer_value(json_object_get(e, "seq")));
		rc = rc ? rc : html_escape(&b, json_string_value(json_object_get(e, "name")));
		rc = rc ? rc : ts_buf_puts(&b, "</td><td>");
		rc = rc ? rc : html_escape(&b, json_string_value(json_object_get(e, "id_masked")));
		rc = rc ? rc : ts_buf_puts(&b, "</td><td>");
		rc = rc ? rc : html_escape(&b, json_string_value(json_object_get(e, "unit")));
		rc = rc ? rc : ts_buf_puts(&b, "</td><td>");
		rc = rc ? rc : html_escape(&b, json_string_value(json_object_get(e, "category_name")));
		const char *quota = json_string_value(json_object_get(e, "quota"));
		if (quota && strcmp(quota, "waitlisted") == 0)
			rc = rc ? rc
				: ts_buf_printf(&b, "</td><td>候补（%lld，有人退出时依序递补）</td></tr>",
						(long long)(json_integer_value(json_object_get(e, "amount_fen")) / 100));
		else
			rc = rc ? rc
				: ts_buf_printf(&b, "</td><td>%lld</td></tr>",
						(long long)(json_integer_value(json_object_get(e, "amount_fen")) / 100));
	}
	rc = rc ? rc
		: ts_buf_printf(&b,
				"</tbody></table></div><p class=\"meta\">共 %zu 人。</p>"
				"<p><a class=\"btn\" data-testid=\"objection-link\" href=\"/public/publicity/%lld/objection\">"
				"我要提出异议</a></p><p class=\"meta\">提出异议须填写真实姓名，并用手机验证码验证。</p></body></html>",
				json_array_size(json_object_get(pub, "entries")),
				(long long)json_integer_value(json_object_get(pub, "id")));
	json_decref(pub);
	if (rc) {
		ts_buf_free(&b);
		http_reply_error(req, 500, "internal", "页面生成失败");
		return;
	}
	size_t n;
	char *html = ts_buf_detach(&b, &n);
	http_add_header(req, "Cache-Control", "public, max-age=30");
	http_reply(req, 200, "text/html; charset=utf-8", html, n);
}

void api_public_objection(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	json_t *pub = load_publicity(ctx, req, NULL);
	if (!pub)
		return;
	json_t *body = api_body_object(req);
	if (!body) {
		json_decref(pub);
		return;
	}
	static const char *const keys[] = {"entry", "name", "phone", "code", "text", NULL};
	struct ts_buf sealed;
	ts_buf_init(&sealed, 0);
	if (!api_only_keys(req, body, keys))
		goto out;
	int64_t now = ts_now_us();
	if (strcmp(json_string_value(json_object_get(pub, "status")), "open") != 0 ||
	    now < json_integer_value(json_object_get(pub, "starts_at")) ||
	    now > json_integer_value(json_object_get(pub, "ends_at"))) {
		http_reply_error(req, 409, "not_in_publicity", "不在公示期内，不能提出异议");
		goto out;
	}
	const char *name = json_string_value(json_object_get(body, "name"));
	const char *phone = json_string_value(json_object_get(body, "phone"));
	const char *code = json_string_value(json_object_get(body, "code"));
	const char *text = json_string_value(json_object_get(body, "text"));
	const json_t *entry = json_object_get(body, "entry");
	json_t *errors = json_array();
	if (!name || utf8_length(name) < 2 || utf8_length(name) > 30)
		json_array_append_new(errors, json_pack("{s:s,s:s}", "name", "name", "message", "请填写真实姓名"));
	char phone_buf[12];
	if (!phone || !phone_normalize(phone, phone_buf))
		json_array_append_new(errors, json_pack("{s:s,s:s}", "name", "phone", "message", "请填写正确的手机号码"));
	if (!text || utf8_length(text) < 5 || utf8_length(text) > 1000)
		json_array_append_new(errors, json_pack("{s:s,s:s}", "name", "text", "message", "请填写异议内容（5–1000字）"));
	int64_t app = 0;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(pub, "entries"), i, e) if (json_is_integer(entry) &&
								       json_integer_value(json_object_get(e, "seq")) ==
									       json_integer_value(entry)) app =
		json_integer_value(json_object_get(e, "application"));
	if (!app)
		json_array_append_new(errors, json_pack("{s:s,s:s}", "name", "entry", "message", "请选择公示名单中的序号"));
	if (json_array_size(errors)) {
		api_reply_invalid(req, "异议信息不完整", errors);
		goto out;
	}
	json_decref(errors);
	phone = phone_buf; /* normalised, as at the code's request */
	char bidx[CRYPT_HEX_BYTES], ch[CRYPT_HEX_BYTES];
	crypt_blind_index(&ctx->keys, "phone", phone, bidx);
	crypt_code_hash(&ctx->keys, phone, code ? code : "", ch);
	struct ts_error err;
	int rc = store_code_consume(ctx->store, bidx, "objection", ch, now, &ctx->cfg.codes, &err);
	if (rc == TS_EAUTH) {
		http_reply_error(req, 401, "bad_code", "验证码错误或已失效，请重新获取");
		goto out;
	}
	if (rc || crypt_seal(&ctx->keys, "objection.phone", phone, strlen(phone), &sealed)) {
		api_reply_err(req, &err);
		goto out;
	}
	struct store_objection o = {
		.publicity = json_integer_value(json_object_get(pub, "id")),
		.application = app,
		.name = name,
		.phone_bidx = bidx,
		.text = text,
		.phone_sealed = sealed.ptr,
		.phone_sealed_len = sealed.len,
		.now = now,
	};
	int64_t id;
	if (store_objection_add(ctx->store, &o, &id, &err)) {
		api_reply_err(req, &err);
		goto out;
	}
	char target[32];
	snprintf(target, sizeof(target), "objection:%lld", (long long)id);
	api_audit(ctx, req, NULL, "objection.file", target, NULL, json_pack("{s:I}", "application", (json_int_t)app));
	api_reply_json(req, 201, json_pack("{s:I,s:s}", "id", (json_int_t)id, "status", "pending"));
out:
	ts_buf_free(&sealed);
	json_decref(body);
	json_decref(pub);
}

void api_objection_investigate(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	struct staff_ctx st;
	if (!api_auth_staff(ctx, req, &st))
		return;
	json_t *body = api_body_object(req);
	if (!body)
		return;
	static const char *const keys[] = {"finding", "note", NULL};
	json_t *obj = NULL, *pub = NULL;
	struct reg_program *p = NULL;
	struct store_app a;
	bool have_app = false;
	struct ts_error err;
	int64_t id;
	if (!api_only_keys(req, body, keys) || !api_require_role(req, &st, publisher_roles))
		goto out;
	if (!api_parse_id(http_req_param(req, 0), &id) || store_objection_get(ctx->store, id, &obj, &err) ||
	    store_publicity_get(ctx->store, json_integer_value(json_object_get(obj, "publicity")), &pub, &err) ||
	    !review_in_scope(ctx, &st, json_string_value(json_object_get(pub, "org")))) {
		http_reply_error(req, 404, "not_found", "找不到该异议");
		goto out;
	}
	if (strcmp(json_string_value(json_object_get(pub, "org")), st.org) != 0) {
		http_reply_error(req, 403, "wrong_level", "异议由发布公示的工会负责调查核实");
		goto out;
	}
	const char *finding = json_string_value(json_object_get(body, "finding"));
	const char *note = json_string_value(json_object_get(body, "note"));
	if (!finding || (strcmp(finding, "upheld") != 0 && strcmp(finding, "dismissed") != 0) || !note || !*note) {
		api_reply_invalid(req, "请填写调查结论（upheld 属实 / dismissed 不属实）和调查情况说明", NULL);
		goto out;
	}
	if (store_objection_decide(ctx->store, id, finding, note, st.username, ts_now_us(), &err)) {
		api_reply_err(req, &err);
		goto out;
	}
	int64_t app_id = json_integer_value(json_object_get(obj, "application"));
	if (strcmp(finding, "upheld") == 0 && store_app_get(ctx->store, app_id, &a, &err) == 0) {
		have_app = true;
		p = registry_get(ctx->reg, a.program);
		static const char *const running[] = {"submitted", "returned", "initial_passed", "base_publicized",
						      "rechecked", "province_passed", "province_publicized", NULL};
		const char *expect_dyn[24];
		size_t k = 0;
		expect_dyn[k++] = "submitted";
		expect_dyn[k++] = "returned";
		for (size_t i = 0; p && i < p->spec->nstages && k < 23; i++)
			expect_dyn[k++] = p->spec->stages[i].pass_status;
		expect_dyn[k] = NULL;
		struct store_step sp = {
			.id = app_id,
			.expect_stage = -1,
			.expect_status = p ? expect_dyn : running,
			.to_status = "cancelled",
			.to_stage = -1,
			.actor = st.username,
			.action = "cancel",
			.reason = note,
			.now = ts_now_us(),
			.spec = p ? p->spec : NULL,
		};
		int rc1 = 0;
		struct ts_error e1;
		if (store_app_steps(ctx->store, &sp, 1, &rc1, &e1, &err) == 0 && rc1 == 0 && p)
			review_backfill(ctx, p->spec, &a, "经公示异议核实被取消");
	}
	char target[32];
	snprintf(target, sizeof(target), "objection:%lld", (long long)id);
	api_audit(ctx, req, &st, "objection.investigate", target, note,
		  json_pack("{s:s,s:I}", "finding", finding, "application", (json_int_t)app_id));
	json_t *out_obj = NULL;
	if (store_objection_get(ctx->store, id, &out_obj, &err) == 0)
		api_reply_json(req, 200, out_obj);
	else
		api_reply_err(req, &err);
out:
	if (have_app)
		store_app_free(&a);
	registry_put(p);
	json_decref(obj);
	json_decref(pub);
	json_decref(body);
}
