/* api/applications.c — submitting, reading, changing and withdrawing
 * applications, and the printable form. The submission is validated here and
 * handed to the store's writer; the request is parked until its batch is
 * durable (DESIGN.md, "the submission path"). */
#include "api/body.h"
#include "api/common.h"
#include "api/handlers.h"
#include "api/review_util.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/time.h"
#include "domain/mask.h"
#include "domain/rules.h"
#include "domain/validate.h"
#include "render/form_pdf.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET_AD CRYPT_AD_APP_SECRET

/* ---- outcome counters for /metrics ---- */

static const char *const outcome_names[] = {"accepted", "quota_full", "duplicate", "invalid", "ineligible",
					    "not_open", "closed", "unavailable", "busy", "other"};
#define NOUTCOMES (sizeof(outcome_names) / sizeof(outcome_names[0]))
_Static_assert(NOUTCOMES == API_OUTCOMES, "outcome names and counters differ");

static void count_outcome(struct api_ctx *ctx, const char *code)
{
	for (size_t i = 0; i < NOUTCOMES; i++)
		if (strcmp(outcome_names[i], code) == 0 || i == NOUTCOMES - 1) {
			atomic_fetch_add(&ctx->outcomes[i], 1);
			return;
		}
}

int api_outcomes_write(struct api_ctx *ctx, struct ts_buf *out)
{
	int rc = ts_buf_puts(out, "# HELP tisheng_submissions_total Submissions by outcome.\n"
				  "# TYPE tisheng_submissions_total counter\n");
	for (size_t i = 0; i < NOUTCOMES && !rc; i++)
		rc = ts_buf_printf(out, "tisheng_submissions_total{outcome=\"%s\"} %llu\n", outcome_names[i],
				   (unsigned long long)atomic_load(&ctx->outcomes[i]));
	return rc;
}

/* ---- shared pieces ---- */

static void today(int *y, int *m, int *d)
{
	ts_local_date(ts_now_us(), y, m, d);
}

/* One normalised value written as JSON. */
static void out_value(struct json_out *o, const struct form_value *v)
{
	json_out_text(o, v->key);
	if (v->kind == FORM_INTEGER)
		json_out_int(o, v->num);
	else
		json_out_str(o, v->str, v->len);
}

/* Writes normalised fields as two JSON texts: the public fields (in the
 * form's order, as form_check left them) and the personal ones, sealed. The
 * blind ID is check_fields's; the ledger's blind ID is set here. */
static int split_fields(struct api_ctx *ctx, const struct program_spec *spec, const struct form_values *norm,
			char **public_json, struct ts_buf *sealed, char *ledger_id)
{
	struct json_out pub, sec;
	json_out_init(&pub);
	json_out_init(&sec);
	json_out_map(&pub, true);
	json_out_map(&sec, true);
	bool have_id = false;
	size_t hint = 0;
	for (size_t i = 0; i < spec->nfields; i++) {
		const struct field_def *f = &spec->fields[i];
		const struct form_value *v = form_values_find(norm, f->key, &hint);
		if (!v)
			continue;
		if (!spec_field_sensitive(f)) {
			out_value(&pub, v);
			continue;
		}
		if (f->type == FT_ID_NUMBER && !have_id && v->kind == FORM_STRING) {
			crypt_ledger_id(&ctx->keys, v->str, ledger_id);
			have_id = true;
		}
		out_value(&sec, v);
	}
	json_out_map(&pub, false);
	json_out_map(&sec, false);
	char *s = NULL;
	size_t n = 0;
	int rc = json_out_finish(&pub, public_json, NULL);
	if (rc == 0)
		rc = json_out_finish(&sec, &s, &n);
	if (rc == 0)
		rc = crypt_seal(&ctx->keys, SECRET_AD, s, n, sealed);
	if (s)
		crypt_wipe(s, n);
	free(s);
	json_out_free(&pub);
	json_out_free(&sec);
	return rc;
}

/* Runs form validation and the eligibility rules over `in` and leaves the
 * normalised values in `norm` (an empty list; it borrows from in); replies
 * and returns false on refusal, with norm empty. */
static bool check_fields(struct api_ctx *ctx, struct http_request *req, const struct program_spec *spec,
			 const struct category_def *cat, const struct form_values *in, int64_t exclude_id,
			 struct form_values *norm, char *id_bidx)
{
	id_bidx[0] = '\0';
	int y, m, d;
	today(&y, &m, &d);
	json_t *errors = json_array();
	if (form_check(spec, in, y, m, d, registry_org_exists, ctx->reg, norm, errors)) {
		count_outcome(ctx, "invalid");
		api_reply_invalid(req, "申报信息有误，请按提示修改", errors);
		return false;
	}
	json_decref(errors);
	/* History of the same person, for the rules that look back. */
	const struct field_def *idf = spec_id_field(spec);
	json_t *hist = NULL;
	struct ts_error err;
	const char *idv = idf ? form_values_str(norm, idf->key) : NULL;
	if (idv) {
		crypt_blind_index(&ctx->keys, "id", idv, id_bidx);
		if (store_person_history(ctx->store, id_bidx, spec->series, exclude_id, &hist, &err)) {
			api_reply_err(req, &err);
			form_values_free(norm);
			return false;
		}
	}
	size_t nh = json_array_size(hist);
	struct history_entry *h = ts_calloc(nh ? nh : 1, sizeof(*h));
	for (size_t i = 0; i < nh; i++) {
		json_t *e = json_array_get(hist, i);
		h[i].group = json_string_value(json_object_get(e, "group"));
		h[i].year = (int)json_integer_value(json_object_get(e, "year"));
		h[i].level = json_string_value(json_object_get(e, "level"));
		h[i].fields = json_object_get(e, "fields");
	}
	int rc = rules_check_values(spec, cat, norm, y, m, d, h, nh, &err);
	free(h);
	json_decref(hist);
	if (rc) {
		count_outcome(ctx, "ineligible");
		api_reply_err(req, &err);
		form_values_free(norm);
		return false;
	}
	return true;
}

/* The union code among normalised fields (the form's org field; NULL when
 * left out), or `dflt` when the form has no org field. */
static const char *union_of(const struct program_spec *spec, const struct form_values *norm, const char *dflt)
{
	const char *uc = dflt;
	for (size_t i = 0; i < spec->nfields; i++)
		if (spec->fields[i].type == FT_ORG)
			uc = form_values_str(norm, spec->fields[i].key);
	return uc;
}

/* ---- submit ---- */

struct submission {
	struct submit_job job;
	struct api_ctx *ctx;
	struct http_request *req;
	struct reg_program *prog;
	const struct category_def *cat;
	char *fields_json;
	struct ts_buf sealed;
	char id_bidx[CRYPT_HEX_BYTES];
	char ledger_id[CRYPT_HEX_BYTES];
	char union_code[64];
};

static void submission_free(void *p)
{
	struct submission *s = p;
	registry_put(s->prog);
	free(s->fields_json);
	ts_buf_free(&s->sealed);
	free(s);
}

static void submit_done(struct submit_job *job, void *arg)
{
	struct submission *s = arg;
	if (job->rc == 0)
		registry_raise(s->ctx->reg, s->prog, s->cat->code, job->rank);
	else if (strcmp(job->err.code, "quota_full") == 0)
		registry_raise(s->ctx->reg, s->prog, s->cat->code, s->cat->places);
	http_wake(s->req);
}

static void submit_resume(struct http_request *req, void *arg)
{
	struct submission *s = http_req_data(req);
	struct submit_job *j = &s->job;
	if (j->rc) {
		count_outcome(s->ctx, j->err.code);
		if (strcmp(j->err.code, "duplicate") == 0 && j->existing_id) {
			api_reply_json(req, 409, json_pack("{s:{s:s,s:s,s:I}}", "error", "code", "duplicate", "message",
							   j->err.message, "application", (json_int_t)j->existing_id));
			return;
		}
		api_reply_err(req, &j->err);
		return;
	}
	count_outcome(s->ctx, "accepted");
	char at[40];
	ts_time_format(j->submitted_at, at, sizeof(at));
	struct json_out o;
	json_out_init(&o);
	json_out_map(&o, true);
	json_out_kv_int(&o, "id", j->id);
	json_out_kv(&o, "program", j->program);
	json_out_kv(&o, "category", j->category);
	json_out_kv_int(&o, "rank", j->rank);
	json_out_kv(&o, "quota", quota_standing(s->cat->cap, j->running_at_or_ahead));
	json_out_kv(&o, "status", "submitted");
	json_out_kv(&o, "receipt", j->receipt);
	json_out_kv(&o, "submitted_at", at);
	json_out_map(&o, false);
	char *text;
	size_t n;
	if (json_out_finish(&o, &text, &n))
		http_reply_error(req, 500, "internal", "服务器内部错误");
	else
		http_reply(req, 201, "application/json; charset=utf-8", text, n);
	json_out_free(&o);
}

void api_app_submit(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	int64_t applicant;
	if (!api_auth_applicant(ctx, req, &applicant))
		return;
	size_t blen;
	const char *btext = http_req_body(req, &blen);
	struct submit_body body;
	char msg[200];
	struct submission *s = NULL;
	struct form_values norm;
	form_values_init(&norm);
	if (submit_body_parse(btext, blen, &body, msg, sizeof(msg))) {
		count_outcome(ctx, "invalid");
		api_reply_invalid(req, msg, NULL);
		return;
	}
	if (body.unknown_key) {
		api_reply_unknown_key(req, body.unknown_key);
		goto out;
	}
	const char *program = body.program, *category = body.category;
	if (!program || !category || !body.fields_object) {
		api_reply_invalid(req, "请求须包含 program、category（字符串）和 fields（对象）", NULL);
		goto out;
	}
	struct reg_program *prog = registry_get(ctx->reg, program);
	if (!prog) {
		http_reply_error(req, 404, "not_found", "找不到该申报项目");
		goto out;
	}
	s = ts_calloc(1, sizeof(*s));
	s->prog = prog;
	s->ctx = ctx;
	s->req = req;
	ts_buf_init(&s->sealed, 0);
	http_req_set_data(req, s, submission_free);
	const struct program_spec *spec = prog->spec;
	s->cat = spec_category(spec, category);
	if (!s->cat) {
		api_reply_invalid(req, "没有这个申报类别",
				  json_pack("[{s:s,s:s}]", "name", "category", "message", "没有这个申报类别"));
		goto out;
	}
	int64_t now = ts_now_us();
	if (now < spec->opens_at) {
		char t[32];
		ts_time_format_local(spec->opens_at, t, sizeof(t));
		snprintf(msg, sizeof(msg), "申报尚未开始，开始时间为 %s（北京时间）", t);
		count_outcome(ctx, "not_open");
		http_reply_error(req, 403, "not_open", msg);
		goto out;
	}
	if (now >= spec->closes_at) {
		count_outcome(ctx, "closed");
		http_reply_error(req, 403, "closed", "申报已截止");
		goto out;
	}
	size_t ci = (size_t)(s->cat - spec->cats);
	if (registry_taken(prog, ci) >= s->cat->places) {
		count_outcome(ctx, "quota_full");
		http_reply_error(req, 409, "quota_full", "名额已满，本类别已无剩余名额");
		goto out;
	}
	if (store_writer_depth(ctx->store) >= ctx->cfg.max_queue) {
		/* shed load rather than queue without bound: the client retries */
		count_outcome(ctx, "busy");
		http_add_header(req, "Retry-After", "1");
		http_reply_error(req, 503, "busy", "当前申报人数过多，请稍后重试（您的申报尚未提交）");
		goto out;
	}
	if (!check_fields(ctx, req, spec, s->cat, &body.fields, 0, &norm, s->id_bidx))
		goto out;
	if (split_fields(ctx, spec, &norm, &s->fields_json, &s->sealed, s->ledger_id)) {
		http_reply_error(req, 500, "internal", "加密失败");
		goto out;
	}
	const char *uc = union_of(spec, &norm, NULL);
	snprintf(s->union_code, sizeof(s->union_code), "%s", uc ? uc : "");
	struct submit_job *j = &s->job;
	j->program = spec->id;
	j->category = s->cat->code;
	j->group = spec->group;
	j->series = spec->series;
	j->level = s->cat->level;
	j->year = spec->year;
	j->places = s->cat->places;
	j->cap = s->cat->cap;
	j->applicant = applicant;
	j->id_bidx = s->id_bidx;
	j->ledger_id = s->ledger_id;
	j->union_code = s->union_code;
	j->fields_json = s->fields_json;
	j->secret = s->sealed.ptr;
	j->secret_len = s->sealed.len;
	j->done = submit_done;
	j->arg = s;
	http_suspend(req, submit_resume);
	store_submit(ctx->store, j);
out:
	form_values_free(&norm);
	submit_body_free(&body);
}

/* ---- reading ---- */

static bool load_own(struct api_ctx *ctx, struct http_request *req, int64_t applicant, struct store_app *a)
{
	int64_t id;
	struct ts_error err;
	if (!api_parse_id(http_req_param(req, 0), &id)) {
		http_reply_error(req, 404, "not_found", "找不到该申报");
		return false;
	}
	int rc = store_app_get(ctx->store, id, a, &err);
	if (rc == 0 && a->applicant != applicant) {
		store_app_free(a);
		rc = TS_ENOTFOUND;
		ts_error_set(&err, TS_ENOTFOUND, "not_found", "找不到该申报");
	}
	if (rc) {
		api_reply_err(req, &err);
		return false;
	}
	return true;
}

static json_t *open_secret(struct api_ctx *ctx, const struct store_app *a)
{
	struct ts_buf plain;
	ts_buf_init(&plain, 0);
	json_t *o = NULL;
	if (crypt_open(&ctx->keys, SECRET_AD, a->secret.ptr, a->secret.len, &plain) == 0)
		o = json_loadb(plain.ptr, plain.len, 0, NULL);
	crypt_wipe(plain.ptr, plain.len);
	ts_buf_free(&plain);
	return o ? o : json_object();
}

/* The application as the applicant sees it; `full` shows personal fields
 * whole (for the owner's edit form), otherwise masked. */
static json_t *app_json(struct api_ctx *ctx, const struct store_app *a, bool full)
{
	struct reg_program *p = registry_get(ctx->reg, a->program);
	const struct category_def *cat = p ? spec_category(p->spec, a->category) : NULL;
	json_t *fields = json_deep_copy(a->fields);
	json_t *sec = open_secret(ctx, a);
	const char *k;
	json_t *v;
	json_object_foreach(sec, k, v)
	{
		const char *s = json_string_value(v);
		char masked[64];
		const struct field_def *f = p ? spec_field(p->spec, k) : NULL;
		if (full || !s) {
			json_object_set(fields, k, v);
			continue;
		}
		if (f && f->type == FT_BANK_ACCOUNT)
			mask_bank(s, masked, sizeof(masked));
		else if (f && f->type == FT_PHONE)
			mask_phone(s, masked, sizeof(masked));
		else
			mask_id(s, masked, sizeof(masked));
		json_object_set_new(fields, k, json_string(masked));
	}
	json_decref(sec);
	char union_name[200];
	json_t *o = json_pack("{s:I,s:s,s:s,s:I,s:s,s:s,s:s,s:o,s:o,s:s,s:b,s:o}", "id", (json_int_t)a->id,
			      "program", a->program, "category", a->category, "rank", (json_int_t)a->rank, "quota",
			      quota_standing(cat ? cat->cap : 0, a->running_at_or_ahead), "status", a->status,
			      "receipt", a->receipt, "submitted_at", api_time(a->submitted_at), "updated_at",
			      api_time(a->updated_at), "union", a->union_code, "editable", status_editable(a->status),
			      "fields", fields);
	if (registry_org_name(ctx->reg, a->union_code, union_name, sizeof(union_name)))
		json_object_set_new(o, "union_name", json_string(union_name));
	if (p) {
		json_object_set_new(o, "program_title", json_string(p->spec->title));
		if (p->spec->paper_deadline)
			json_object_set_new(o, "paper_deadline", json_string(p->spec->paper_deadline));
	}
	if (cat) {
		json_object_set_new(o, "category_name", json_string(cat->name));
		json_object_set_new(o, "amount_fen", json_integer(cat->amount_fen));
	}
	registry_put(p);
	return o;
}

void api_app_list(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	int64_t applicant;
	if (!api_auth_applicant(ctx, req, &applicant))
		return;
	struct store_app *apps = NULL;
	size_t n = 0;
	struct ts_error err;
	if (store_apps_by_applicant(ctx->store, applicant, &apps, &n, &err)) {
		api_reply_err(req, &err);
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(arr, app_json(ctx, &apps[i], false));
		store_app_free(&apps[i]);
	}
	free(apps);
	api_reply_json(req, 200, json_pack("{s:o}", "applications", arr));
}

static json_t *history_json(json_t *events)
{
	size_t i;
	json_t *e;
	json_array_foreach(events, i, e)
	{
		json_object_set_new(e, "at", api_time(json_integer_value(json_object_get(e, "at"))));
		json_t *detail = json_object_get(e, "detail");
		const char *dk;
		json_t *dv;
		if (json_is_object(detail))
			json_object_foreach(detail, dk, dv) json_object_set(e, dk, dv);
		json_object_del(e, "detail");
	}
	return events;
}

/* The applicant sees which union acted, not the reviewer's account name:
 * a staff actor becomes "staff" with the union's name in actor_name, any
 * other actor but the applicant "system" (系统). */
static void history_for_applicant(struct api_ctx *ctx, json_t *events)
{
	size_t i;
	json_t *e;
	json_array_foreach(events, i, e)
	{
		const char *actor = json_string_value(json_object_get(e, "actor"));
		if (!actor || strcmp(actor, "applicant") == 0)
			continue;
		char name[200];
		struct store_staff st;
		struct ts_error err;
		if (store_staff_get(ctx->store, actor, 0, &st, &err) == 0) {
			if (!registry_org_name(ctx->reg, st.org, name, sizeof(name)))
				snprintf(name, sizeof(name), "工会审核人员");
			store_staff_free(&st);
			json_object_set_new(e, "actor", json_string("staff"));
		} else {
			snprintf(name, sizeof(name), "系统");
			json_object_set_new(e, "actor", json_string("system"));
		}
		json_object_set_new(e, "actor_name", json_string(name));
	}
}

void api_app_get(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	int64_t applicant;
	struct store_app a;
	if (!api_auth_applicant(ctx, req, &applicant) || !load_own(ctx, req, applicant, &a))
		return;
	json_t *o = app_json(ctx, &a, true);
	json_t *events = NULL;
	struct ts_error err;
	if (store_app_history(ctx->store, a.id, &events, &err) == 0) {
		history_for_applicant(ctx, events);
		json_object_set_new(o, "history", history_json(events));
	}
	store_app_free(&a);
	api_reply_json(req, 200, o);
}

/* ---- changing ---- */

void api_app_update(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	int64_t applicant;
	struct store_app a;
	if (!api_auth_applicant(ctx, req, &applicant))
		return;
	json_t *body = api_body_object(req);
	if (!body)
		return;
	static const char *const keys[] = {"fields", NULL};
	if (!api_only_keys(req, body, keys)) {
		json_decref(body);
		return;
	}
	struct form_values in, norm; /* in borrows from body */
	form_values_init(&in);
	form_values_init(&norm);
	if (form_values_from_json(&in, json_object_get(body, "fields"))) {
		api_reply_invalid(req, "请求须包含 fields（对象）", NULL);
		json_decref(body);
		return;
	}
	if (!load_own(ctx, req, applicant, &a)) {
		form_values_free(&in);
		json_decref(body);
		return;
	}
	struct reg_program *p = registry_get(ctx->reg, a.program);
	char *pub = NULL;
	struct ts_buf sealed;
	ts_buf_init(&sealed, 0);
	char id_bidx[CRYPT_HEX_BYTES] = "", ledger_id[CRYPT_HEX_BYTES] = "";
	struct ts_error err;
	if (!p) {
		http_reply_error(req, 404, "not_found", "找不到该申报项目");
		goto out;
	}
	if (!status_editable(a.status)) {
		http_reply_error(req, 409, "locked", "该申报当前状态不可修改");
		goto out;
	}
	const struct category_def *cat = spec_category(p->spec, a.category);
	if (!cat || !check_fields(ctx, req, p->spec, cat, &in, a.id, &norm, id_bidx))
		goto out;
	if (split_fields(ctx, p->spec, &norm, &pub, &sealed, ledger_id)) {
		http_reply_error(req, 500, "internal", "加密失败");
		goto out;
	}
	const char *uc = union_of(p->spec, &norm, a.union_code);
	if (store_app_update(ctx->store, a.id, applicant, pub, sealed.ptr, sealed.len, id_bidx, uc, "applicant",
			     ts_now_us(), &err)) {
		api_reply_err(req, &err);
		goto out;
	}
	struct store_app b;
	if (store_app_get(ctx->store, a.id, &b, &err)) {
		api_reply_err(req, &err);
		goto out;
	}
	api_reply_json(req, 200, app_json(ctx, &b, true));
	store_app_free(&b);
out:
	registry_put(p);
	store_app_free(&a);
	form_values_free(&norm);
	form_values_free(&in);
	free(pub);
	ts_buf_free(&sealed);
	json_decref(body);
}

void api_app_withdraw(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	int64_t applicant;
	struct store_app a;
	if (!api_auth_applicant(ctx, req, &applicant) || !load_own(ctx, req, applicant, &a))
		return;
	static const char *const from[] = {"submitted", "returned", NULL};
	struct ts_error err;
	int rc = store_app_transition(ctx->store, a.id, from, "withdrawn", "applicant", "withdraw", "申报人撤回",
				      NULL, ts_now_us(), &err);
	if (rc == TS_ECONFLICT)
		ts_error_set(&err, TS_ECONFLICT, "locked", "该申报当前状态不能撤回");
	int64_t id = a.id;
	if (rc) {
		store_app_free(&a);
		api_reply_err(req, &err);
		return;
	}
	struct reg_program *p = registry_get(ctx->reg, a.program);
	if (p)
		review_backfill(ctx, p->spec, &a, "已由申报人撤回");
	registry_put(p);
	store_app_free(&a);
	if (store_app_get(ctx->store, id, &a, &err)) {
		api_reply_err(req, &err);
		return;
	}
	api_reply_json(req, 200, app_json(ctx, &a, false));
	store_app_free(&a);
}

/* ---- the printable form ---- */

static void set_str(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, json_string(v ? v : ""));
}

void api_app_form_pdf(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	int64_t applicant;
	struct store_app a;
	if (!api_auth_applicant(ctx, req, &applicant) || !load_own(ctx, req, applicant, &a))
		return;
	struct reg_program *p = registry_get(ctx->reg, a.program);
	struct ts_buf pdf, phone_sealed, phone;
	ts_buf_init(&pdf, 0);
	ts_buf_init(&phone_sealed, 0);
	ts_buf_init(&phone, 0);
	struct ts_error err;
	json_t *values = NULL;
	if (!p || !p->spec->print) {
		http_reply_error(req, 404, "not_found", "该项目没有可打印的申报表");
		goto out;
	}
	values = json_deep_copy(a.fields);
	json_t *sec = open_secret(ctx, &a);
	json_object_update(values, sec);
	json_decref(sec);
	if (store_applicant_phone(ctx->store, applicant, &phone_sealed, &err) == 0 &&
	    crypt_open(&ctx->keys, "applicant.phone", phone_sealed.ptr, phone_sealed.len, &phone) == 0)
		set_str(values, "phone", phone.ptr);
	const struct category_def *cat = spec_category(p->spec, a.category);
	char buf[200];
	set_str(values, "category_name", cat ? cat->name : a.category);
	set_str(values, "category_level", cat ? cat->level : "");
	snprintf(buf, sizeof(buf), "%lld", cat ? (long long)(cat->amount_fen / 100) : 0LL);
	set_str(values, "amount_yuan", buf);
	set_str(values, "union_name", registry_org_name(ctx->reg, a.union_code, buf, sizeof(buf)) ? buf : a.union_code);
	set_str(values, "program_title", p->spec->title);
	snprintf(buf, sizeof(buf), "%lld", (long long)a.rank);
	set_str(values, "rank", buf);
	ts_time_format_local(a.submitted_at, buf, sizeof(buf));
	set_str(values, "submitted_at", buf);
	set_str(values, "receipt", a.receipt);
	if (render_form_pdf(p->spec->print, values, &pdf, &err)) {
		api_reply_err(req, &err);
		goto out;
	}
	/* "2022年…技能等级晋升补助申报表-张三丰": which program and whose, for
	 * a worker with two applications or a union collecting many */
	char name[400], ascii[40];
	const char *who = json_string_value(json_object_get(values, "name"));
	snprintf(name, sizeof(name), "%s申报表-%s", p->spec->title, who && *who ? who : "");
	for (char *c = name; *c; c++)
		if ((unsigned char)*c < 0x20 || strchr("/\\:*?\"<>|", *c))
			*c = '_';
	if (!who || !*who)
		snprintf(name + strlen(name), sizeof(name) - strlen(name), "%lld", (long long)a.id);
	snprintf(ascii, sizeof(ascii), "form-%lld", (long long)a.id);
	http_add_header_download(req, name, ascii, "pdf");
	http_add_header(req, "Cache-Control", "no-store");
	size_t n;
	char *bytes = ts_buf_detach(&pdf, &n);
	http_reply(req, 200, "application/pdf", bytes, n);
out:
	json_decref(values);
	registry_put(p);
	store_app_free(&a);
	ts_buf_free(&pdf);
	ts_buf_free(&phone_sealed);
	ts_buf_free(&phone);
}
