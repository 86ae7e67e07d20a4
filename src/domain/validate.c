/* domain/validate.c — field-by-field validation of application forms. */
#include "domain/validate.h"
#include "core/mem.h"
#include "core/time.h"
#include "domain/idnum.h"
#include "domain/form.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t utf8_length(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static void add_error(json_t *errors, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add_error(json_t *errors, const char *name, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_array_append_new(errors, json_pack("{s:s,s:s}", "name", name, "message", msg));
}

/* The span of s without ASCII whitespace and the ideographic space U+3000 at
 * either end: s[*a, *b). */
static void trim_span(const char *s, size_t n, size_t *a_out, size_t *b_out)
{
	size_t a = 0, b = n;
	for (;;) {
		if (a < b && isspace((unsigned char)s[a]))
			a++;
		else if (b - a >= 3 && memcmp(s + a, "\xE3\x80\x80", 3) == 0)
			a += 3;
		else
			break;
	}
	for (;;) {
		if (b > a && isspace((unsigned char)s[b - 1]))
			b--;
		else if (b - a >= 3 && memcmp(s + b - 3, "\xE3\x80\x80", 3) == 0)
			b -= 3;
		else
			break;
	}
	*a_out = a;
	*b_out = b;
}

static bool has_control(const char *s, bool allow_newline)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 && !(allow_newline && (c == '\n' || c == '\r' || c == '\t')))
			return true;
		if (c == 0x7f)
			return true;
	}
	return false;
}

static bool email_ok(const char *s)
{
	size_t n = strlen(s);
	const char *at = strchr(s, '@');
	if (n < 5 || n > 254 || !at || at == s || strchr(at + 1, '@'))
		return false;
	const char *dom = at + 1;
	const char *dot = strrchr(dom, '.');
	if (!dot || dot == dom || dot[1] == '\0' || strlen(dot + 1) < 2)
		return false;
	if (strstr(dom, ".."))
		return false;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= 0x20 || c >= 0x7f || strchr("()<>,;:\\\"[]", c))
			return false;
	}
	return true;
}

static bool all_digits(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);
	if (n < min || n > max)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* v itself when it is an option, the option an alias names (the spec's
 * text), or NULL: refused, error added. */
static const char *check_select(const struct field_def *f, const char *v, json_t *errors)
{
	size_t i;
	json_t *o;
	json_array_foreach(f->options, i, o) if (strcmp(json_string_value(o), v) == 0) return v;
	const json_t *alias = f->aliases ? json_object_get(f->aliases, v) : NULL;
	if (json_is_string(alias))
		return json_string_value(alias);
	add_error(errors, f->key, "%s：\"%s\" 不是可选的选项", f->label, v);
	return NULL;
}

static bool check_integer(const struct field_def *f, const struct form_value *raw, long long *out,
			  json_t *errors)
{
	long long v;
	if (raw->kind == FORM_INTEGER) {
		v = raw->num;
	} else if (raw->kind == FORM_STRING && all_digits(raw->str, 1, 9)) {
		v = strtoll(raw->str, NULL, 10);
	} else {
		add_error(errors, f->key, "%s：请输入整数", f->label);
		return false;
	}
	if ((f->has_min && v < f->min) || (f->has_max && v > f->max)) {
		add_error(errors, f->key, "%s：应在 %lld 到 %lld 之间", f->label, (long long)f->min,
			  (long long)f->max);
		return false;
	}
	*out = v;
	return true;
}

static const char *check_date(const struct field_def *f, const char *v, json_t *errors)
{
	int y, m, d;
	if (!ts_date_parse(v, &y, &m, &d)) {
		add_error(errors, f->key, "%s：请输入有效日期（格式 YYYY-MM-DD）", f->label);
		return NULL;
	}
	if ((f->date_min && strcmp(v, f->date_min) < 0) || (f->date_max && strcmp(v, f->date_max) > 0)) {
		add_error(errors, f->key, "%s：日期超出允许范围", f->label);
		return NULL;
	}
	return v;
}

/* Checks the trimmed string v of field f. Returns v, another string that
 * outlives the call (a select alias), or `norm` (the normalised ID number,
 * written there); NULL when refused, with the error added. */
static const char *check_string_field(const struct field_def *f, const char *v, int ty, int tm, int td,
				      org_exists_fn org_exists, void *org_ctx, char norm[19], json_t *errors)
{
	switch (f->type) {
	case FT_SELECT:
		return check_select(f, v, errors);
	case FT_DATE:
		return check_date(f, v, errors);
	case FT_EMAIL:
		if (!email_ok(v))
			break;
		return v;
	case FT_PHONE:
		if (!phone_normalize(v, norm))
			break;
		return strcmp(norm, v) == 0 ? v : norm;
	case FT_ID_NUMBER: {
		enum idnum_result r = idnum_check(v, ty, tm, td, norm);
		if (r != IDNUM_OK) {
			add_error(errors, f->key, "%s", idnum_result_message(r));
			return NULL;
		}
		/* a worker: 劳动法 forbids employing anyone under 16 */
		int by, bm, bd;
		idnum_birth(norm, &by, &bm, &bd);
		if (ty - by - (tm < bm || (tm == bm && td < bd)) < 16) {
			add_error(errors, f->key, "身份证号显示未满16周岁，不是可申报的职工，请核对身份证号");
			return NULL;
		}
		return strcmp(norm, v) == 0 ? v : norm;
	}
	case FT_BANK_ACCOUNT:
		if (!all_digits(v, 12, 30)) {
			add_error(errors, f->key, "%s：应为12–30位数字", f->label);
			return NULL;
		}
		return v;
	case FT_ORG:
		if (!org_exists || !org_exists(org_ctx, v)) {
			add_error(errors, f->key, "%s：找不到该工会组织", f->label);
			return NULL;
		}
		return v;
	case FT_TEXT:
	case FT_TEXTAREA: {
		size_t n = utf8_length(v);
		if (has_control(v, f->type == FT_TEXTAREA)) {
			add_error(errors, f->key, "%s：含有不允许的控制字符", f->label);
			return NULL;
		}
		if ((int64_t)n < f->min_len || (int64_t)n > f->max_len) {
			add_error(errors, f->key, "%s：长度应为 %lld–%lld 个字", f->label, (long long)f->min_len,
				  (long long)f->max_len);
			return NULL;
		}
		return v;
	}
	case FT_INTEGER:
		break;
	}
	add_error(errors, f->key, "%s：格式不正确", f->label);
	return NULL;
}

/* Checks raw (a value that is not blank) against f and appends the
 * canonical value to out; false when refused, with the error added. */
static bool check_field(const struct field_def *f, const struct form_value *raw, int ty, int tm, int td,
			org_exists_fn org_exists, void *org_ctx, struct form_values *out, json_t *errors)
{
	if (f->type == FT_INTEGER) {
		long long n;
		if (!check_integer(f, raw, &n, errors))
			return false;
		struct form_value *v = form_values_add(out, f->key);
		v->kind = FORM_INTEGER;
		v->num = n;
		return true;
	}
	if (raw->kind != FORM_STRING) {
		add_error(errors, f->key, "%s：应为文本", f->label);
		return false;
	}
	const char *s = raw->str;
	size_t a, b;
	trim_span(s, raw->len, &a, &b);
	if (f->type != FT_TEXT && f->type != FT_TEXTAREA && b - a > 300) {
		add_error(errors, f->key, "%s：内容过长", f->label);
		return false;
	}
	/* nothing to trim (the usual case): the value is checked and kept in place */
	char *trimmed = a == 0 && s[b] == '\0' ? NULL : ts_strndup(s + a, b - a);
	const char *v = trimmed ? trimmed : s;
	char norm[19];
	const char *r = check_string_field(f, v, ty, tm, td, org_exists, org_ctx, norm, errors);
	if (r) {
		struct form_value *o = form_values_add(out, f->key);
		o->kind = FORM_STRING;
		o->owned = r == trimmed || r == norm;
		if (r == trimmed)
			trimmed = NULL; /* now the list's */
		/* else the input's text or a select alias (the spec's): both outlive out */
		o->str = r == norm ? ts_strdup(norm) : r;
		o->len = strlen(o->str);
	}
	free(trimmed);
	return r != NULL;
}

static bool is_blank(const struct form_value *v)
{
	if (!v || v->kind == FORM_NULL)
		return true;
	if (v->kind != FORM_STRING)
		return false;
	size_t a, b;
	trim_span(v->str, v->len, &a, &b);
	return a == b;
}

int form_check(const struct program_spec *spec, const struct form_values *in, int ty, int tm, int td,
	       org_exists_fn org_exists, void *org_ctx, struct form_values *out, json_t *errors)
{
	size_t before = json_array_size(errors), known = 0, hint = 0;
	for (size_t i = 0; i < spec->nfields; i++)
		known += form_values_find(in, spec->fields[i].key, &hint) != NULL;
	if (known != in->n) /* some key is not a field of the form (keys are distinct) */
		for (size_t i = 0; i < in->n; i++)
			if (!spec_field(spec, in->v[i].key))
				add_error(errors, in->v[i].key, "未知字段 \"%s\"", in->v[i].key);
	hint = 0;
	for (size_t i = 0; i < spec->nfields; i++) {
		const struct field_def *f = &spec->fields[i];
		const struct form_value *raw = form_values_find(in, f->key, &hint);
		if (is_blank(raw)) {
			if (f->required)
				add_error(errors, f->key, "请填写%s", f->label);
			continue;
		}
		(void)check_field(f, raw, ty, tm, td, org_exists, org_ctx, out, errors);
	}
	if (json_array_size(errors) > before) {
		form_values_free(out);
		return TS_EINVAL;
	}
	return 0;
}

int form_validate(const struct program_spec *spec, const json_t *fields, int ty, int tm, int td,
		  org_exists_fn org_exists, void *org_ctx, json_t **normalized, json_t *errors)
{
	*normalized = NULL;
	struct form_values in, out;
	form_values_init(&in);
	form_values_init(&out);
	if (form_values_from_json(&in, fields)) {
		add_error(errors, "fields", "fields 必须是对象");
		return TS_EINVAL;
	}
	int rc = form_check(spec, &in, ty, tm, td, org_exists, org_ctx, &out, errors);
	if (rc == 0)
		*normalized = form_values_to_json(&out);
	form_values_free(&out);
	form_values_free(&in);
	return rc;
}
