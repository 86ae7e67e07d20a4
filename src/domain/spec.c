/* domain/spec.c — parsing and checking program specs (docs/program-spec.md). */
#include "domain/spec.h"
#include "core/mem.h"
#include "core/time.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	enum field_type type;
} field_types[] = {
	{"text", FT_TEXT},   {"textarea", FT_TEXTAREA},   {"select", FT_SELECT},
	{"integer", FT_INTEGER}, {"date", FT_DATE},       {"email", FT_EMAIL},
	{"phone", FT_PHONE}, {"id_number", FT_ID_NUMBER}, {"bank_account", FT_BANK_ACCOUNT},
	{"org", FT_ORG},
};

static const struct {
	const char *name;
	enum rule_kind kind;
	bool needs_field;
} rule_kinds[] = {
	{"date_in_program_year", RULE_DATE_IN_PROGRAM_YEAR, true},
	{"field_in", RULE_FIELD_IN, true},
	{"level_above", RULE_LEVEL_ABOVE, true},
	{"one_per_year", RULE_ONE_PER_YEAR, false},
	{"same_occupation", RULE_SAME_OCCUPATION, true},
	{"once_per_level", RULE_ONCE_PER_LEVEL, false},
	{"field_is_level", RULE_FIELD_IS_LEVEL, true},
};

static bool only_keys(const json_t *obj, const char *const *allowed, const char *where,
		      struct ts_error *err)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v)
	{
		bool ok = false;
		for (const char *const *a = allowed; *a; a++)
			if (strcmp(*a, k) == 0)
				ok = true;
		if (!ok) {
			ts_error_set(err, TS_EINVAL, "invalid_spec", "%s：未知的键 \"%s\"", where, k);
			return false;
		}
	}
	return true;
}

static const char *req_str(const json_t *obj, const char *key, const char *where, struct ts_error *err)
{
	const json_t *v = json_object_get(obj, key);
	if (!json_is_string(v) || json_string_length(v) == 0) {
		ts_error_set(err, TS_EINVAL, "invalid_spec", "%s.%s：必须是非空字符串", where, key);
		return NULL;
	}
	return json_string_value(v);
}

static const char *opt_str(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool ident_ok(const char *s, const char *extra, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr(extra, c)))
			return false;
	}
	return true;
}

static int parse_category(const json_t *c, size_t i, struct category_def *out, struct ts_error *err)
{
	static const char *const keys[] = {"code", "name", "level", "amount_fen", "cap", "places", NULL};
	char where[64];
	snprintf(where, sizeof(where), "categories[%zu]", i);
	if (!json_is_object(c))
		return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s：必须是对象", where);
	if (!only_keys(c, keys, where, err))
		return TS_EINVAL;
	out->code = req_str(c, "code", where, err);
	out->name = req_str(c, "name", where, err);
	if (!out->code || !out->name)
		return TS_EINVAL;
	if (!ident_ok(out->code, "-_", 40))
		return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s.code：只能用小写字母、数字、- 和 _", where);
	out->level = opt_str(c, "level");
	if (!out->level)
		out->level = out->name;
	const json_t *a = json_object_get(c, "amount_fen"), *cap = json_object_get(c, "cap"),
		     *pl = json_object_get(c, "places");
	if (!json_is_integer(a) || !json_is_integer(cap) || !json_is_integer(pl))
		return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s：amount_fen、cap、places 必须是整数", where);
	out->amount_fen = json_integer_value(a);
	out->cap = json_integer_value(cap);
	out->places = json_integer_value(pl);
	if (out->amount_fen < 0 || out->cap <= 0 || out->places < out->cap || out->places > 10000000)
		return ts_error_set(err, TS_EINVAL, "invalid_spec",
				    "%s：须满足 amount_fen ≥ 0，0 < cap ≤ places ≤ 10000000", where);
	return 0;
}

static int parse_field(const json_t *f, size_t i, struct field_def *out, struct ts_error *err)
{
	static const char *const keys[] = {"key", "label", "type", "required", "options", "aliases",
					   "placeholder", "help", "min_len", "max_len", "min", "max",
					   "pattern", NULL};
	char where[64];
	snprintf(where, sizeof(where), "form.fields[%zu]", i);
	if (!json_is_object(f))
		return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s：必须是对象", where);
	if (!only_keys(f, keys, where, err))
		return TS_EINVAL;
	out->key = req_str(f, "key", where, err);
	out->label = out->key ? req_str(f, "label", where, err) : NULL;
	const char *type = out->label ? req_str(f, "type", where, err) : NULL;
	if (!type)
		return TS_EINVAL;
	if (!ident_ok(out->key, "_", 40))
		return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s.key：只能用小写字母、数字和 _", where);
	size_t t;
	for (t = 0; t < sizeof(field_types) / sizeof(field_types[0]); t++)
		if (strcmp(field_types[t].name, type) == 0)
			break;
	if (t == sizeof(field_types) / sizeof(field_types[0]))
		return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s.type：未知类型 \"%s\"", where, type);
	out->type = field_types[t].type;
	const json_t *req = json_object_get(f, "required");
	if (req && !json_is_boolean(req))
		return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s.required：必须是布尔值", where);
	out->required = req ? json_is_true(req) : true;
	out->options = json_object_get(f, "options");
	out->aliases = json_object_get(f, "aliases");
	if (out->type == FT_SELECT) {
		if (!json_is_array(out->options) || json_array_size(out->options) == 0)
			return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s.options：选择题必须有选项", where);
		size_t j;
		json_t *o;
		json_array_foreach(out->options, j, o) if (!json_is_string(o)) return ts_error_set(
			err, TS_EINVAL, "invalid_spec", "%s.options[%zu]：必须是字符串", where, j);
		if (out->aliases) {
			const char *k;
			json_t *v;
			if (!json_is_object(out->aliases))
				return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s.aliases：必须是对象", where);
			json_object_foreach((json_t *)out->aliases, k, v)
			{
				bool found = false;
				json_array_foreach(out->options, j, o) if (json_is_string(v) &&
									   json_equal(o, v)) found = true;
				if (!found)
					return ts_error_set(err, TS_EINVAL, "invalid_spec",
							    "%s.aliases.%s：必须指向一个选项", where, k);
			}
		}
	} else if (out->options || out->aliases) {
		return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s：只有 select 类型可以有 options/aliases", where);
	}
	const json_t *v;
	out->min_len = (v = json_object_get(f, "min_len")) && json_is_integer(v) ? json_integer_value(v) : 0;
	out->max_len = (v = json_object_get(f, "max_len")) && json_is_integer(v) ? json_integer_value(v)
								       : (out->type == FT_TEXTAREA ? 500 : 100);
	if (out->min_len < 0 || out->max_len < out->min_len || out->max_len > 5000)
		return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s：min_len/max_len 不合理", where);
	out->date_min = out->date_max = NULL;
	out->has_min = out->has_max = false;
	const json_t *mn = json_object_get(f, "min"), *mx = json_object_get(f, "max");
	if (out->type == FT_DATE) {
		int y, m, d;
		if (mn && (!json_is_string(mn) || !ts_date_parse(json_string_value(mn), &y, &m, &d)))
			return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s.min：必须是 YYYY-MM-DD", where);
		if (mx && (!json_is_string(mx) || !ts_date_parse(json_string_value(mx), &y, &m, &d)))
			return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s.max：必须是 YYYY-MM-DD", where);
		out->date_min = mn ? json_string_value(mn) : NULL;
		out->date_max = mx ? json_string_value(mx) : NULL;
	} else {
		if ((mn && !json_is_integer(mn)) || (mx && !json_is_integer(mx)))
			return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s：min/max 必须是整数", where);
		out->has_min = mn != NULL;
		out->has_max = mx != NULL;
		out->min = mn ? json_integer_value(mn) : 0;
		out->max = mx ? json_integer_value(mx) : 0;
	}
	return 0;
}

static int parse_rule(const struct program_spec *spec, const json_t *r, size_t i, struct rule_def *out,
		      struct ts_error *err)
{
	static const char *const keys[] = {"kind", "field", "values", "order", "message", NULL};
	char where[64];
	snprintf(where, sizeof(where), "rules[%zu]", i);
	if (!json_is_object(r))
		return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s：必须是对象", where);
	if (!only_keys(r, keys, where, err))
		return TS_EINVAL;
	const char *kind = req_str(r, "kind", where, err);
	if (!kind)
		return TS_EINVAL;
	size_t k;
	for (k = 0; k < sizeof(rule_kinds) / sizeof(rule_kinds[0]); k++)
		if (strcmp(rule_kinds[k].name, kind) == 0)
			break;
	if (k == sizeof(rule_kinds) / sizeof(rule_kinds[0]))
		return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s.kind：未知规则 \"%s\"", where, kind);
	out->kind = rule_kinds[k].kind;
	out->field = opt_str(r, "field");
	out->message = opt_str(r, "message");
	out->values = json_object_get(r, "values");
	out->order = json_object_get(r, "order");
	if (rule_kinds[k].needs_field && (!out->field || !spec_field(spec, out->field)))
		return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s.field：必须指向表单中的字段", where);
	if (out->kind == RULE_FIELD_IN && !json_is_array(out->values))
		return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s.values：必须是数组", where);
	if (out->kind == RULE_LEVEL_ABOVE) {
		if (!json_is_array(out->order) || json_array_size(out->order) < 2)
			return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s.order：必须是等级数组", where);
		for (size_t c = 0; c < spec->ncats; c++)
			if (spec_order_index(out->order, spec->cats[c].level) < 0)
				return ts_error_set(err, TS_EINVAL, "invalid_spec",
						    "%s.order：缺少类别等级 \"%s\"", where, spec->cats[c].level);
	}
	return 0;
}

static int parse_print(const json_t *p, struct ts_error *err)
{
	static const char *const keys[] = {"title", "columns", "rows", "footer", NULL};
	if (!json_is_object(p) || !only_keys(p, keys, "print", err))
		return ts_error_set(err, TS_EINVAL, "invalid_spec", "print：必须是对象");
	const json_t *cols = json_object_get(p, "columns"), *rows = json_object_get(p, "rows");
	if (!json_is_integer(cols) || json_integer_value(cols) < 1 || json_integer_value(cols) > 24 ||
	    !json_is_array(rows))
		return ts_error_set(err, TS_EINVAL, "invalid_spec", "print：需要 columns（1–24）和 rows");
	static const char *const row_keys[] = {"cells", "height", NULL};
	static const char *const cell_keys[] = {"label", "text", "field", "fields", "sep", "sign", "blank", "span", NULL};
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		char where[64];
		snprintf(where, sizeof(where), "print.rows[%zu]", i);
		if (!json_is_object(row))
			return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s：必须是对象", where);
		if (!only_keys(row, row_keys, where, err))
			return TS_EINVAL;
		const json_t *cells = json_object_get(row, "cells");
		if (!json_is_array(cells))
			return ts_error_set(err, TS_EINVAL, "invalid_spec", "print.rows[%zu].cells：必须是数组", i);
		json_int_t sum = 0;
		size_t j;
		json_t *cell;
		json_array_foreach(cells, j, cell)
		{
			char cw[80];
			snprintf(cw, sizeof(cw), "print.rows[%zu].cells[%zu]", i, j);
			if (!json_is_object(cell))
				return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s：必须是对象", cw);
			if (!only_keys(cell, cell_keys, cw, err))
				return TS_EINVAL;
			const json_t *span = json_object_get(cell, "span");
			if (span && (!json_is_integer(span) || json_integer_value(span) < 1))
				return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s.span：必须是正整数", cw);
			sum += span ? json_integer_value(span) : 1;
		}
		if (sum != json_integer_value(cols))
			return ts_error_set(err, TS_EINVAL, "invalid_spec",
					    "print.rows[%zu]：各格 span 之和 %lld 不等于 columns", i, (long long)sum);
	}
	return 0;
}

static int parse_stage(const json_t *st, size_t i, struct stage_def *out, struct ts_error *err)
{
	static const char *const keys[] = {"key", "name", "kind", "levels", "days", "day_kind", "pass_status", NULL};
	static const char *const levels[] = {"province", "prefecture", "industry", "county", "base"};
	char where[64];
	snprintf(where, sizeof(where), "review.stages[%zu]", i);
	if (!json_is_object(st))
		return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s：必须是对象", where);
	if (!only_keys(st, keys, where, err))
		return TS_EINVAL;
	out->key = req_str(st, "key", where, err);
	out->name = out->key ? req_str(st, "name", where, err) : NULL;
	out->pass_status = out->name ? req_str(st, "pass_status", where, err) : NULL;
	const char *kind = out->pass_status ? req_str(st, "kind", where, err) : NULL;
	if (!kind)
		return TS_EINVAL;
	if (strcmp(kind, "review") == 0)
		out->kind = STAGE_REVIEW;
	else if (strcmp(kind, "publicity") == 0)
		out->kind = STAGE_PUBLICITY;
	else if (strcmp(kind, "approval") == 0)
		out->kind = STAGE_APPROVAL;
	else
		return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s.kind：应为 review、publicity 或 approval", where);
	if (!ident_ok(out->pass_status, "_", 30))
		return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s.pass_status：只能用小写字母、数字和 _", where);
	static const char *const reserved[] = {"submitted", "returned", "rejected", "abandoned", "withdrawn",
					       "cancelled", "paid", NULL};
	for (const char *const *r = reserved; *r; r++)
		if (strcmp(*r, out->pass_status) == 0)
			return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s.pass_status：不能使用保留状态 %s", where, *r);
	out->levels = json_object_get(st, "levels");
	if (!json_is_array(out->levels) || json_array_size(out->levels) == 0)
		return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s.levels：必须是非空数组", where);
	size_t j;
	json_t *l;
	json_array_foreach(out->levels, j, l)
	{
		bool ok = false;
		for (size_t k = 0; json_is_string(l) && k < 5; k++)
			ok |= strcmp(json_string_value(l), levels[k]) == 0;
		if (!ok)
			return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s.levels[%zu]：未知的工会层级", where, j);
	}
	const json_t *days = json_object_get(st, "days");
	out->days = json_is_integer(days) ? (int)json_integer_value(days) : 0;
	if (out->kind == STAGE_PUBLICITY && (out->days < 1 || out->days > 60))
		return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s.days：公示须有 1–60 天", where);
	const char *dk = opt_str(st, "day_kind");
	if (dk && strcmp(dk, "calendar") != 0 && strcmp(dk, "working") != 0)
		return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s.day_kind：应为 calendar 或 working", where);
	out->working_days = dk && strcmp(dk, "working") == 0;
	return 0;
}

static int parse_review(struct program_spec *s, const json_t *rv, struct ts_error *err)
{
	static const char *const keys[] = {"stages", "return_limit", NULL};
	if (!json_is_object(rv) || !only_keys(rv, keys, "review", err))
		return ts_error_set(err, TS_EINVAL, "invalid_spec", "review：必须是对象，含 stages");
	const json_t *stages = json_object_get(rv, "stages");
	if (!json_is_array(stages) || json_array_size(stages) == 0 || json_array_size(stages) > 20)
		return ts_error_set(err, TS_EINVAL, "invalid_spec", "review.stages：须有 1–20 个环节");
	const json_t *rl = json_object_get(rv, "return_limit");
	s->return_limit = json_is_integer(rl) ? (int)json_integer_value(rl) : 1;
	s->nstages = json_array_size(stages);
	s->stages = ts_calloc(s->nstages, sizeof(*s->stages));
	for (size_t i = 0; i < s->nstages; i++) {
		if (parse_stage(json_array_get(stages, i), i, &s->stages[i], err))
			return TS_EINVAL;
		for (size_t j = 0; j < i; j++)
			if (strcmp(s->stages[i].key, s->stages[j].key) == 0 ||
			    strcmp(s->stages[i].pass_status, s->stages[j].pass_status) == 0)
				return ts_error_set(err, TS_EINVAL, "invalid_spec", "review.stages：环节 %s 的 key 或 pass_status 重复",
						    s->stages[i].key);
	}
	if (s->stages[s->nstages - 1].kind != STAGE_APPROVAL)
		return ts_error_set(err, TS_EINVAL, "invalid_spec", "review.stages：最后一个环节必须是 approval（终审）");
	return 0;
}

const char *spec_stage_waiting_status(const struct program_spec *spec, size_t i)
{
	if (i == 0 || i > spec->nstages)
		return "submitted";
	return spec->stages[i - 1].pass_status;
}

static int parse_columns(const json_t *cols, const char *where, struct ts_error *err)
{
	if (!json_is_array(cols) || json_array_size(cols) == 0 || json_array_size(cols) > 40)
		return ts_error_set(err, TS_EINVAL, "invalid_spec", "%s.columns：须有 1–40 列", where);
	size_t i;
	json_t *c;
	json_array_foreach(cols, i, c) if (!json_is_string(json_object_get(c, "label")) ||
					   !json_is_string(json_object_get(c, "field"))) return ts_error_set(
		err, TS_EINVAL, "invalid_spec", "%s.columns[%zu]：须有 label 和 field", where, i);
	return 0;
}

static int parse_exports(struct program_spec *s, const json_t *ex, struct ts_error *err)
{
	static const char *const keys[] = {"summary", "letter", NULL};
	static const char *const skeys[] = {"title", "org_label", "columns", "summary_text", "counts", "footer", NULL};
	static const char *const lkeys[] = {"title",   "subtitle",   "addressee", "paragraphs",
					     "columns", "closing", "signatures", NULL};
	if (!json_is_object(ex) || !only_keys(ex, keys, "exports", err))
		return ts_error_set(err, TS_EINVAL, "invalid_spec", "exports：必须是对象");
	s->export_summary = json_object_get(ex, "summary");
	s->export_letter = json_object_get(ex, "letter");
	if (s->export_summary &&
	    (!json_is_object(s->export_summary) || !only_keys(s->export_summary, skeys, "exports.summary", err) ||
	     !req_str(s->export_summary, "title", "exports.summary", err) ||
	     parse_columns(json_object_get(s->export_summary, "columns"), "exports.summary", err)))
		return TS_EINVAL;
	if (s->export_letter &&
	    (!json_is_object(s->export_letter) || !only_keys(s->export_letter, lkeys, "exports.letter", err) ||
	     !req_str(s->export_letter, "title", "exports.letter", err) ||
	     parse_columns(json_object_get(s->export_letter, "columns"), "exports.letter", err)))
		return TS_EINVAL;
	return 0;
}

static int parse_time(const json_t *root, const char *key, int64_t *out, struct ts_error *err)
{
	const char *s = req_str(root, key, "spec", err);
	if (!s)
		return TS_EINVAL;
	if (ts_time_parse(s, ts_now_us(), out) != 0)
		return ts_error_set(err, TS_EINVAL, "invalid_spec", "spec.%s：时间格式应为 ISO-8601（带时区）", key);
	return 0;
}

int spec_parse(json_t *root, struct program_spec **out, struct ts_error *err)
{
	static const char *const keys[] = {"id", "title", "issuer", "department", "series", "year",
					   "group", "opens_at", "closes_at", "paper_deadline", "notice",
					   "categories", "form", "rules", "print", "review", "exports", NULL};
	if (!json_is_object(root))
		return ts_error_set(err, TS_EINVAL, "invalid_spec", "项目定义必须是 JSON 对象");
	if (!only_keys(root, keys, "spec", err))
		return TS_EINVAL;
	struct program_spec *s = ts_calloc(1, sizeof(*s));
	int rc = TS_EINVAL;
	s->root = json_incref(root);
	s->id = req_str(root, "id", "spec", err);
	s->title = s->id ? req_str(root, "title", "spec", err) : NULL;
	s->series = s->title ? req_str(root, "series", "spec", err) : NULL;
	s->group = s->series ? req_str(root, "group", "spec", err) : NULL;
	if (!s->group)
		goto out_fail;
	if (!ident_ok(s->id, "-", 40) || !ident_ok(s->group, "-", 40) || strlen(s->id) < 3 || strlen(s->group) < 3)
		goto out_bad_id;
	s->department = opt_str(root, "department");
	s->paper_deadline = opt_str(root, "paper_deadline");
	const json_t *year = json_object_get(root, "year");
	if (!json_is_integer(year) || json_integer_value(year) < 2000 || json_integer_value(year) > 2100) {
		ts_error_set(err, TS_EINVAL, "invalid_spec", "spec.year：必须是年份整数");
		goto out_fail;
	}
	s->year = (int)json_integer_value(year);
	if (parse_time(root, "opens_at", &s->opens_at, err) || parse_time(root, "closes_at", &s->closes_at, err))
		goto out_fail;
	if (s->closes_at <= s->opens_at) {
		ts_error_set(err, TS_EINVAL, "invalid_spec", "spec：closes_at 必须晚于 opens_at");
		goto out_fail;
	}
	const json_t *cats = json_object_get(root, "categories");
	if (!json_is_array(cats) || json_array_size(cats) == 0 || json_array_size(cats) > 64) {
		ts_error_set(err, TS_EINVAL, "invalid_spec", "spec.categories：须有 1–64 个类别");
		goto out_fail;
	}
	s->ncats = json_array_size(cats);
	s->cats = ts_calloc(s->ncats, sizeof(*s->cats));
	for (size_t i = 0; i < s->ncats; i++) {
		if (parse_category(json_array_get(cats, i), i, &s->cats[i], err))
			goto out_fail;
		for (size_t j = 0; j < i; j++)
			if (strcmp(s->cats[i].code, s->cats[j].code) == 0) {
				ts_error_set(err, TS_EINVAL, "invalid_spec", "categories：类别代码 %s 重复", s->cats[i].code);
				goto out_fail;
			}
	}
	const json_t *form = json_object_get(root, "form");
	static const char *const form_keys[] = {"fields", NULL};
	if (!json_is_object(form) || !only_keys(form, form_keys, "form", err)) {
		if (!json_is_object(form))
			ts_error_set(err, TS_EINVAL, "invalid_spec", "spec.form：必须是含 fields 的对象");
		goto out_fail;
	}
	const json_t *fields = json_object_get(form, "fields");
	if (!json_is_array(fields) || json_array_size(fields) == 0 || json_array_size(fields) > 200) {
		ts_error_set(err, TS_EINVAL, "invalid_spec", "spec.form.fields：须有 1–200 个字段");
		goto out_fail;
	}
	s->nfields = json_array_size(fields);
	s->fields = ts_calloc(s->nfields, sizeof(*s->fields));
	for (size_t i = 0; i < s->nfields; i++) {
		if (parse_field(json_array_get(fields, i), i, &s->fields[i], err))
			goto out_fail;
		for (size_t j = 0; j < i; j++)
			if (strcmp(s->fields[i].key, s->fields[j].key) == 0) {
				ts_error_set(err, TS_EINVAL, "invalid_spec", "form.fields：字段 %s 重复", s->fields[i].key);
				goto out_fail;
			}
	}
	const json_t *rules = json_object_get(root, "rules");
	if (rules && !json_is_array(rules)) {
		ts_error_set(err, TS_EINVAL, "invalid_spec", "spec.rules：必须是数组");
		goto out_fail;
	}
	s->nrules = rules ? json_array_size(rules) : 0;
	s->rules = ts_calloc(s->nrules ? s->nrules : 1, sizeof(*s->rules));
	for (size_t i = 0; i < s->nrules; i++)
		if (parse_rule(s, json_array_get(rules, i), i, &s->rules[i], err))
			goto out_fail;
	s->print = json_object_get(root, "print");
	if (s->print && parse_print(s->print, err))
		goto out_fail;
	const json_t *review = json_object_get(root, "review");
	if (review && parse_review(s, review, err))
		goto out_fail;
	const json_t *exports = json_object_get(root, "exports");
	if (exports && parse_exports(s, exports, err))
		goto out_fail;
	*out = s;
	return 0;

out_bad_id:
	ts_error_set(err, TS_EINVAL, "invalid_spec", "spec.id / spec.group：只能用小写字母、数字和 -（最长40）");
out_fail:
	spec_free(s);
	return rc;
}

void spec_free(struct program_spec *spec)
{
	if (!spec)
		return;
	free(spec->cats);
	free(spec->fields);
	free(spec->rules);
	free(spec->stages);
	json_decref(spec->root);
	free(spec);
}

const struct category_def *spec_category(const struct program_spec *spec, const char *code)
{
	for (size_t i = 0; i < spec->ncats; i++)
		if (strcmp(spec->cats[i].code, code) == 0)
			return &spec->cats[i];
	return NULL;
}

const struct field_def *spec_id_field(const struct program_spec *spec)
{
	for (size_t i = 0; i < spec->nfields; i++)
		if (spec->fields[i].type == FT_ID_NUMBER)
			return &spec->fields[i];
	return NULL;
}

const struct field_def *spec_field(const struct program_spec *spec, const char *key)
{
	for (size_t i = 0; i < spec->nfields; i++)
		if (spec->fields[i].key && strcmp(spec->fields[i].key, key) == 0)
			return &spec->fields[i];
	return NULL;
}

bool spec_field_sensitive(const struct field_def *f)
{
	return f->type == FT_ID_NUMBER || f->type == FT_BANK_ACCOUNT || f->type == FT_PHONE;
}

int spec_order_index(const json_t *order, const char *value)
{
	size_t i;
	json_t *v;
	json_array_foreach((json_t *)order, i, v) if (json_is_string(v) && strcmp(json_string_value(v), value) == 0) return (int)i;
	return -1;
}

const json_t *spec_level_order(const struct program_spec *spec)
{
	for (size_t i = 0; i < spec->nrules; i++)
		if (spec->rules[i].kind == RULE_LEVEL_ABOVE)
			return spec->rules[i].order;
	return NULL;
}

struct date_subst {
	const char *key;
	char value[48];
	bool set;
};

static void fill_value(json_t *v, const struct date_subst *subs, size_t n)
{
	size_t i;
	const char *k;
	json_t *x;
	if (json_is_object(v)) {
		json_object_foreach(v, k, x) fill_value(x, subs, n);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x) fill_value(x, subs, n);
	} else if (json_is_string(v) && strchr(json_string_value(v), '{')) {
		GString *g = g_string_new(json_string_value(v));
		guint replaced = 0;
		for (i = 0; i < n; i++)
			if (subs[i].set)
				replaced += g_string_replace(g, subs[i].key, subs[i].value, 0);
		if (replaced)
			json_string_set(v, g->str);
		g_string_free(g, TRUE);
	}
}

void spec_fill_dates(json_t *root)
{
	struct date_subst subs[] = {{"{opens}", "", false}, {"{closes}", "", false}, {"{paper_deadline}", "", false}};
	int64_t opens = 0, closes = 0;
	bool have_opens = ts_time_parse(json_string_value(json_object_get(root, "opens_at")), 0, &opens) == 0;
	bool have_closes = ts_time_parse(json_string_value(json_object_get(root, "closes_at")), 0, &closes) == 0;
	if (have_opens) {
		ts_time_format_cn(opens, true, subs[0].value, sizeof(subs[0].value));
		subs[0].set = true;
	}
	if (have_closes) {
		int oy = 0, om, od, cy, cm, cd;
		if (have_opens)
			ts_local_date(opens, &oy, &om, &od);
		ts_local_date(closes - 1, &cy, &cm, &cd);
		ts_time_format_cn(closes, !have_opens || oy != cy, subs[1].value, sizeof(subs[1].value));
		subs[1].set = true;
	}
	int y, m, d;
	const char *pd = json_string_value(json_object_get(root, "paper_deadline"));
	if (pd && ts_date_parse(pd, &y, &m, &d)) {
		snprintf(subs[2].value, sizeof(subs[2].value), "%d年%d月%d日", y, m, d);
		subs[2].set = true;
	}
	fill_value(root, subs, sizeof(subs) / sizeof(subs[0]));
}
