/* api/exports.c — 汇总表 (XLSX), 推荐承诺书 (PDF) and the approved list for
 * finance (XLSX), each of one union's subtree, columns and texts from the
 * program spec; plus the audit log reader and the test clock. */
#include "api/common.h"
#include "api/handlers.h"
#include "api/review_util.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/time.h"
#include "domain/export.h"
#include "domain/mask.h"
#include "domain/rules.h"
#include "render/letter_pdf.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xlsxwriter.h>

/* ---- collecting rows ---- */

struct rows_ctx {
	struct api_ctx *ctx;
	const struct program_spec *spec;
	const json_t *columns;
	const json_t *counts;
	int stage_min;
	bool approved_only;
	int ty, tm, td;
	json_t *rows;
	json_t *vars;
	int64_t amount;
	int64_t seq;
	/* {received}: every application the subtree received but those the
	 * applicant withdrew (a rejected or abandoned one was received and is
	 * not recommended); the rows are those still in the running */
	int64_t received;
};

static int collect(void *arg, const struct store_app *a)
{
	struct rows_ctx *rc = arg;
	if (strcmp(a->status, "withdrawn") != 0)
		rc->received++;
	if (!status_in_running(a->status))
		return 0;
	if (a->stage < rc->stage_min)
		return 0;
	if (rc->approved_only && strcmp(a->status, "approved") != 0 && strcmp(a->status, "paid") != 0)
		return 0;
	const struct category_def *cat = spec_category(rc->spec, a->category);
	json_t *values = json_deep_copy(a->fields);
	json_t *sec = review_open_secret(rc->ctx, a);
	json_object_update(values, sec);
	json_decref(sec);
	char buf[200];
	json_object_set_new(values, "seq", json_integer(++rc->seq));
	json_object_set_new(values, "category_name", json_string(cat ? cat->name : a->category));
	json_object_set_new(values, "union_name",
			    json_string(registry_org_name(rc->ctx->reg, a->union_code, buf, sizeof(buf)) ? buf : ""));
	snprintf(buf, sizeof(buf), "%lld", (long long)a->rank);
	json_object_set_new(values, "rank", json_string(buf));
	snprintf(buf, sizeof(buf), "%.2f", cat ? (double)cat->amount_fen / 100.0 : 0.0);
	json_object_set_new(values, "amount_yuan", json_string(buf));
	json_array_append_new(rc->rows, export_row(rc->columns, values, rc->ty, rc->tm, rc->td));
	export_count(rc->counts, values, a->category, rc->vars);
	rc->amount += cat ? cat->amount_fen : 0;
	json_decref(values);
	return 0;
}

static void fill_common_vars(struct api_ctx *ctx, json_t *vars, const char *org)
{
	char date[32], name[200] = "";
	int y, m, d;
	ts_local_date(ts_now_us(), &y, &m, &d);
	snprintf(date, sizeof(date), "%d年%d月%d日", y, m, d);
	json_object_set_new(vars, "date", json_string(date));
	registry_org_name(ctx->reg, org, name, sizeof(name));
	json_object_set_new(vars, "org", json_string(name));
	if (!json_object_get(vars, "total"))
		json_object_set_new(vars, "total", json_integer(0));
}

static char *filled(const char *tmpl, const json_t *vars)
{
	struct ts_buf b;
	ts_buf_init(&b, 0);
	if (export_fill(tmpl ? tmpl : "", vars, &b)) {
		ts_buf_free(&b);
		return ts_strdup("");
	}
	return ts_buf_detach(&b, NULL);
}

/* What an export needs: authenticated staff with a role, the program, the
 * union (?org=, default the caller's; 404 outside the subtree), and the rows
 * of every application still in the running below it. */
struct export_req {
	struct staff_ctx st;
	struct reg_program *p;
	char org[64];
	struct rows_ctx rc;
};

static void export_req_free(struct export_req *x)
{
	json_decref(x->rc.rows);
	json_decref(x->rc.vars);
	registry_put(x->p);
}

/* `part` picks the spec's export ("summary", "letter") or NULL for the
 * approved list, whose columns are `columns`. */
static bool gather(struct api_ctx *ctx, struct http_request *req, const char *const *roles, const char *part,
		   const json_t *columns, struct export_req *x)
{
	memset(x, 0, sizeof(*x));
	if (!api_auth_staff(ctx, req, &x->st) || !api_require_role(req, &x->st, roles))
		return false;
	if (!(x->p = review_program_param(ctx, req)))
		return false;
	const json_t *def = part ? (strcmp(part, "summary") == 0 ? x->p->spec->export_summary : x->p->spec->export_letter)
				 : NULL;
	if (part && !def) {
		http_reply_error(req, 404, "not_found", "该项目没有此导出格式");
		goto fail;
	}
	const char *o = http_req_query(req, "org");
	snprintf(x->org, sizeof(x->org), "%s", o && *o ? o : x->st.org);
	char parent[64], level[16];
	if (!registry_org_lookup(ctx->reg, x->org, parent, sizeof(parent), level, sizeof(level)) ||
	    !review_in_scope(ctx, &x->st, x->org)) {
		http_reply_error(req, 404, "not_found", "该工会不在您的管辖范围内");
		goto fail;
	}
	const char *sm = http_req_query(req, "stage_min");
	struct rows_ctx *rc = &x->rc;
	rc->ctx = ctx;
	rc->spec = x->p->spec;
	rc->stage_min = sm && *sm >= '0' && *sm <= '9' ? (int)strtol(sm, NULL, 10) : 0;
	rc->approved_only = part == NULL;
	rc->columns = def ? json_object_get(def, "columns") : columns;
	rc->counts = def ? json_object_get(def, "counts") : NULL;
	rc->rows = json_array();
	rc->vars = json_object();
	json_object_set_new(rc->vars, "total", json_integer(0));
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)rc->counts, k, v) json_object_set_new(rc->vars, k, json_integer(0));
	ts_local_date(ts_now_us(), &rc->ty, &rc->tm, &rc->td);
	json_t *unions = parent[0] ? registry_subtree(ctx->reg, x->org) : NULL;
	/* all of the subtree's applications, for {received}; collect keeps
	 * the rows of those in the running */
	struct store_review_query q = {.program = x->p->spec->id, .stage = -1, .running_only = false, .unions = unions};
	int64_t total;
	struct ts_error err;
	int r = store_review_list(ctx->store, &q, collect, rc, &total, &err);
	json_decref(unions);
	json_object_set_new(rc->vars, "received", json_integer(rc->received));
	if (r) {
		api_reply_err(req, &err);
		goto fail;
	}
	fill_common_vars(ctx, rc->vars, x->org);
	return true;
fail:
	export_req_free(x);
	memset(x, 0, sizeof(*x));
	return false;
}

static const char *const review_roles[] = {"reviewer", "admin", "auditor", NULL};

/* ---- XLSX ---- */

/* A column's width in characters, from its header: an ID number's 18
 * digits, a sequence number's few, room for two-line Chinese headers. */
static double column_width(const char *h)
{
	if (!h)
		return 12;
	if (strstr(h, "身份证"))
		return 21;
	if (strstr(h, "序号") || strstr(h, "性别") || strstr(h, "年龄"))
		return 6;
	size_t chars = 0;
	for (const unsigned char *p = (const unsigned char *)h; *p; p++)
		chars += (*p & 0xc0) != 0x80;
	double w = (double)chars * 2.1 + 2;
	return w < 8 ? 8 : w > 24 ? 24 : w;
}

/* Writes a sheet: title (merged), a line above the table, the header, the
 * rows (formula-safe), then `after` lines. Serves the file as `filename`
 * (UTF-8), `ascii` for clients without filename*. */
static void reply_xlsx(struct http_request *req, const char *filename, const char *ascii, const char *title,
		       const char *above, const json_t *header, const json_t *rows, const json_t *after)
{
	char path[] = "/tmp/tisheng-export-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		http_reply_error(req, 503, "unavailable", "无法创建临时文件");
		return;
	}
	close(fd);
	lxw_workbook_options opt = {.constant_memory = LXW_TRUE, .tmpdir = "/tmp"};
	lxw_workbook *wb = workbook_new_opt(path, &opt);
	if (!wb) {
		unlink(path);
		http_reply_error(req, 500, "internal", "无法生成表格");
		return;
	}
	lxw_worksheet *ws = workbook_add_worksheet(wb, "汇总表");
	lxw_format *ft = workbook_add_format(wb), *fh = workbook_add_format(wb), *fc = workbook_add_format(wb),
		   *fl = workbook_add_format(wb);
	format_set_bold(ft);
	format_set_font_size(ft, 16);
	format_set_align(ft, LXW_ALIGN_CENTER);
	format_set_font_name(ft, "宋体");
	format_set_bold(fh);
	format_set_border(fh, LXW_BORDER_THIN);
	format_set_align(fh, LXW_ALIGN_CENTER);
	format_set_align(fh, LXW_ALIGN_VERTICAL_CENTER);
	format_set_text_wrap(fh);
	format_set_border(fc, LXW_BORDER_THIN);
	format_set_num_format(fc, "@");
	format_set_text_wrap(fl);
	size_t ncols = json_array_size(header);
	lxw_col_t last = (lxw_col_t)(ncols ? ncols - 1 : 0);
	size_t i, j;
	json_t *v, *row;
	json_array_foreach((json_t *)header, j, v) worksheet_set_column(ws, (lxw_col_t)j, (lxw_col_t)j,
									column_width(json_string_value(v)), NULL);
	lxw_row_t hrow = above && *above ? 2 : 1;
	/* printed as the official table is: A4 landscape, all columns on one
	 * page's width, the header again on every page, page numbers */
	worksheet_set_paper(ws, 9);
	worksheet_set_landscape(ws);
	worksheet_fit_to_pages(ws, 1, 0);
	worksheet_repeat_rows(ws, hrow, hrow);
	worksheet_set_margins(ws, 0.4, 0.4, 0.6, 0.6);
	worksheet_center_horizontally(ws);
	worksheet_set_footer(ws, "&C第 &P 页，共 &N 页");
	worksheet_freeze_panes(ws, hrow + 1, 0);
	worksheet_set_row(ws, 0, 30, NULL);
	worksheet_merge_range(ws, 0, 0, 0, last, title, ft);
	lxw_row_t r = 1;
	if (above && *above)
		worksheet_write_string(ws, r++, 0, above, NULL);
	json_array_foreach((json_t *)header, j, v) worksheet_write_string(ws, r, (lxw_col_t)j, json_string_value(v), fh);
	r++;
	json_array_foreach((json_t *)rows, i, row)
	{
		json_array_foreach(row, j, v)
		{
			char *safe = export_cell_safe(json_string_value(v));
			worksheet_write_string(ws, r, (lxw_col_t)j, safe, fc);
			free(safe);
		}
		r++;
	}
	json_array_foreach((json_t *)after, i, v)
	{
		if (i == 0 && ncols > 1) {
			worksheet_set_row(ws, r, 45, NULL);
			worksheet_merge_range(ws, r, 0, r, last, json_string_value(v), fl);
		} else {
			worksheet_write_string(ws, r, 0, json_string_value(v), NULL);
		}
		r++;
	}
	lxw_error le = workbook_close(wb);
	struct ts_buf file;
	ts_buf_init(&file, 512 << 20);
	int rfd = le == LXW_NO_ERROR ? open(path, O_RDONLY) : -1;
	bool ok = rfd >= 0;
	char chunk[65536];
	ssize_t n;
	while (ok && (n = read(rfd, chunk, sizeof(chunk))) > 0)
		ok = ts_buf_append(&file, chunk, (size_t)n) == 0;
	if (rfd >= 0)
		close(rfd);
	unlink(path);
	if (!ok) {
		ts_buf_free(&file);
		http_reply_error(req, 500, "internal", "无法生成表格");
		return;
	}
	http_add_header_download(req, filename, ascii, "xlsx");
	http_add_header(req, "Cache-Control", "no-store");
	size_t len;
	char *bytes = ts_buf_detach(&file, &len);
	http_reply(req, 200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", bytes, len);
}

static json_t *labels(const json_t *columns)
{
	json_t *h = json_array();
	size_t i;
	json_t *c;
	json_array_foreach((json_t *)columns, i, c) json_array_append(h, json_object_get(c, "label"));
	return h;
}

void api_export_summary(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	struct export_req x;
	if (!gather(ctx, req, review_roles, "summary", NULL, &x))
		return;
	const json_t *def = x.p->spec->export_summary;
	json_t *after = json_array();
	char *t = filled(json_string_value(json_object_get(def, "summary_text")), x.rc.vars);
	json_array_append_new(after, json_string(t));
	free(t);
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(def, "footer"), i, v)
	{
		t = filled(json_string_value(v), x.rc.vars);
		json_array_append_new(after, json_string(t));
		free(t);
	}
	const char *label = json_string_value(json_object_get(def, "org_label"));
	char above[300];
	snprintf(above, sizeof(above), "%s%s", label ? label : "上报单位：", json_string_value(json_object_get(x.rc.vars, "org")));
	json_t *header = labels(x.rc.columns);
	char fname[300], ascii[160];
	snprintf(fname, sizeof(fname), "汇总表-%s-%s", json_string_value(json_object_get(x.rc.vars, "org")), x.p->spec->id);
	snprintf(ascii, sizeof(ascii), "summary-%s-%s", x.p->spec->id, x.org);
	reply_xlsx(req, fname, ascii, json_string_value(json_object_get(def, "title")), above, header, x.rc.rows, after);
	json_decref(header);
	json_decref(after);
	char target[160];
	snprintf(target, sizeof(target), "export:summary:%s:%s", x.p->spec->id, x.org);
	api_audit(ctx, req, &x.st, "export.summary", target, NULL,
		  json_pack("{s:I}", "rows", (json_int_t)json_array_size(x.rc.rows)));
	export_req_free(&x);
}

void api_export_letter(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	struct export_req x;
	if (!gather(ctx, req, review_roles, "letter", NULL, &x))
		return;
	const json_t *def = x.p->spec->export_letter;
	json_t *doc = json_object();
	char *t = filled(json_string_value(json_object_get(def, "title")), x.rc.vars);
	json_object_set_new(doc, "title", json_string(t));
	free(t);
	if (json_is_string(json_object_get(def, "subtitle"))) {
		t = filled(json_string_value(json_object_get(def, "subtitle")), x.rc.vars);
		json_object_set_new(doc, "subtitle", json_string(t));
		free(t);
	}
	t = filled(json_string_value(json_object_get(def, "addressee")), x.rc.vars);
	json_object_set_new(doc, "addressee", json_string(t));
	free(t);
	static const char *const lists[] = {"paragraphs", "closing", "signatures"};
	for (size_t l = 0; l < 3; l++) {
		json_t *arr = json_array();
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(def, lists[l]), i, v)
		{
			t = filled(json_string_value(v), x.rc.vars);
			json_array_append_new(arr, json_string(t));
			free(t);
		}
		json_object_set_new(doc, lists[l], arr);
	}
	json_object_set_new(doc, "columns", labels(x.rc.columns));
	json_object_set(doc, "rows", x.rc.rows);
	struct ts_buf pdf;
	ts_buf_init(&pdf, 0);
	struct ts_error err;
	if (render_letter_pdf(doc, &pdf, &err)) {
		api_reply_err(req, &err);
	} else {
		char name[300], ascii[160];
		snprintf(name, sizeof(name), "推荐承诺书-%s-%s", json_string_value(json_object_get(x.rc.vars, "org")), x.p->spec->id);
		snprintf(ascii, sizeof(ascii), "letter-%s-%s", x.p->spec->id, x.org);
		http_add_header_download(req, name, ascii, "pdf");
		http_add_header(req, "Cache-Control", "no-store");
		size_t n;
		char *bytes = ts_buf_detach(&pdf, &n);
		http_reply(req, 200, "application/pdf", bytes, n);
		char target[160];
		snprintf(target, sizeof(target), "export:letter:%s:%s", x.p->spec->id, x.org);
		api_audit(ctx, req, &x.st, "export.letter", target, NULL,
			  json_pack("{s:I}", "rows", (json_int_t)json_array_size(x.rc.rows)));
	}
	ts_buf_free(&pdf);
	json_decref(doc);
	export_req_free(&x);
}

void api_export_approved(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	static const char *const roles[] = {"finance", "admin", NULL};
	json_t *cols = json_pack("[{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s}]",
				 "label", "序号", "field", "seq", "label", "姓名", "field", "name", "label", "身份证号码", "field",
				 "id_number", "label", "工作单位", "field", "unit", "label", "所属工会", "field", "union_name",
				 "label", "补助类别", "field", "category_name", "label", "补助金额（元）", "field", "amount_yuan",
				 "label", "开户银行支行", "field", "bank_branch", "label", "银行账号", "field", "bank_account");
	struct export_req x;
	if (!gather(ctx, req, roles, NULL, cols, &x)) {
		json_decref(cols);
		return;
	}
	json_t *after = json_array();
	char line[200];
	snprintf(line, sizeof(line), "合计：%lld 人，补助金额 %.2f 元。", (long long)json_array_size(x.rc.rows),
		 (double)x.rc.amount / 100.0);
	json_array_append_new(after, json_string(line));
	json_t *header = labels(cols);
	char title[400];
	snprintf(title, sizeof(title), "%s 终审通过名单（拨付用）", x.p->spec->title);
	char above[300];
	snprintf(above, sizeof(above), "导出单位：%s　导出时间：%s", json_string_value(json_object_get(x.rc.vars, "org")),
		 json_string_value(json_object_get(x.rc.vars, "date")));
	char fname[300], ascii[160];
	snprintf(fname, sizeof(fname), "终审通过名单-%s", x.p->spec->id);
	snprintf(ascii, sizeof(ascii), "approved-%s-%s", x.p->spec->id, x.org);
	reply_xlsx(req, fname, ascii, title, above, header, x.rc.rows, after);
	json_decref(header);
	json_decref(after);
	char target[160];
	snprintf(target, sizeof(target), "export:approved:%s:%s", x.p->spec->id, x.org);
	api_audit(ctx, req, &x.st, "export.approved", target, NULL,
		  json_pack("{s:I,s:I}", "rows", (json_int_t)json_array_size(x.rc.rows), "amount_fen",
			    (json_int_t)x.rc.amount));
	export_req_free(&x);
	json_decref(cols);
}

/* ---- audit log ---- */

void api_audit_list(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	struct staff_ctx st;
	static const char *const roles[] = {"auditor", "admin", NULL};
	if (!api_auth_staff(ctx, req, &st) || !api_require_role(req, &st, roles))
		return;
	const char *b = http_req_query(req, "before"), *l = http_req_query(req, "limit");
	int64_t before = b && *b >= '0' && *b <= '9' ? strtoll(b, NULL, 10) : 0;
	long limit = l && *l >= '0' && *l <= '9' ? strtol(l, NULL, 10) : 100;
	if (limit < 1 || limit > 1000)
		limit = 100;
	json_t *list = NULL;
	struct ts_error err;
	if (store_audit_list(ctx->store, before, (int)limit, &list, &err)) {
		api_reply_err(req, &err);
		return;
	}
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e) json_object_set_new(e, "at", api_time(json_integer_value(json_object_get(e, "at"))));
	api_reply_json(req, 200, json_pack("{s:o}", "entries", list));
}

/* ---- the test clock ---- */

void api_admin_clock(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	if (!ctx->cfg.test_clock) {
		http_reply_error(req, 404, "not_found", "找不到该页面或接口");
		return;
	}
	json_t *body = api_body_object(req);
	if (!body)
		return;
	const json_t *shift = json_object_get(body, "shift_s");
	if (!json_is_integer(shift) || json_integer_value(shift) < -86400LL * 3650 ||
	    json_integer_value(shift) > 86400LL * 3650) {
		api_reply_invalid(req, "shift_s 应为秒数（整数）", NULL);
		json_decref(body);
		return;
	}
	ts_clock_shift(json_integer_value(shift));
	ts_log_warn("clock.shift", "test clock moved by %lld s", (long long)json_integer_value(shift));
	json_decref(body);
	int64_t now = ts_now_us();
	api_reply_json(req, 200, json_pack("{s:o,s:I}", "now", api_time(now), "now_ms", (json_int_t)(now / 1000)));
}
