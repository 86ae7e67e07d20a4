/* domain/review.c — responsibility in the union tree, decisions, day counts. */
#include "domain/review.h"
#include "core/time.h"

#include <stdio.h>
#include <string.h>

static bool level_in(const struct stage_def *st, const char *level)
{
	size_t i;
	json_t *l;
	json_array_foreach(st->levels, i, l) if (strcmp(json_string_value(l), level) == 0) return true;
	return false;
}

/* Kept in step with web/console/src/labels.js (STATUS). */
static const struct {
	const char *status, *label;
} status_labels[] = {
	{"submitted", "已提交，待初审"},
	{"initial_passed", "初审通过"},
	{"base_publicized", "基层公示期满"},
	{"rechecked", "复核通过"},
	{"province_passed", "省总审核通过"},
	{"province_publicized", "省总公示期满"},
	{"approved", "终审批准"},
	{"paid", "已发放"},
	{"returned", "退回补正中"},
	{"rejected", "不通过"},
	{"abandoned", "逾期未补正（放弃）"},
	{"withdrawn", "申报人已撤回"},
	{"cancelled", "已取消资格"},
};

/* Where `s` is named: the fixed label, else the stage it is the pass status
 * of; false when neither (spec may be NULL). */
static bool status_lookup(const struct program_spec *spec, const char *s, const char **label,
			  const struct stage_def **stage)
{
	*label = NULL;
	*stage = NULL;
	for (size_t i = 0; i < sizeof(status_labels) / sizeof(status_labels[0]); i++)
		if (strcmp(status_labels[i].status, s) == 0) {
			*label = status_labels[i].label;
			return true;
		}
	for (size_t i = 0; spec && i < spec->nstages; i++)
		if (spec->stages[i].pass_status && strcmp(spec->stages[i].pass_status, s) == 0) {
			*stage = &spec->stages[i];
			return true;
		}
	return false;
}

const char *review_status_label(const struct program_spec *spec, const char *status, char *out, size_t n)
{
	if (n == 0)
		return out;
	const char *s = status ? status : "", *label;
	const struct stage_def *st;
	status_lookup(spec, s, &label, &st);
	if (label)
		snprintf(out, n, "%s", label);
	else if (st)
		snprintf(out, n, "%s%s", st->name, st->kind == STAGE_PUBLICITY ? "期满" : "通过");
	else
		snprintf(out, n, "%s", s);
	return out;
}

bool review_status_known(const struct program_spec *spec, const char *status)
{
	const char *label;
	const struct stage_def *st;
	return status && status_lookup(spec, status, &label, &st);
}

bool review_responsible(const struct stage_def *st, const char *union_code, org_lookup_fn lookup, void *ctx,
			char *out, size_t n)
{
	char code[64], parent[64], level[32];
	snprintf(code, sizeof(code), "%s", union_code);
	for (int depth = 0; depth < 16 && code[0]; depth++) {
		if (!lookup(ctx, code, parent, sizeof(parent), level, sizeof(level)))
			break;
		if (level_in(st, level)) {
			snprintf(out, n, "%s", code);
			return true;
		}
		snprintf(code, sizeof(code), "%s", parent);
	}
	if (level_in(st, "base") && lookup(ctx, union_code, parent, sizeof(parent), level, sizeof(level))) {
		snprintf(out, n, "%s", union_code);
		return true;
	}
	return false;
}

bool review_in_subtree(const char *root, const char *code, org_lookup_fn lookup, void *ctx)
{
	char cur[64], parent[64], level[32];
	snprintf(cur, sizeof(cur), "%s", code);
	for (int depth = 0; depth < 16 && cur[0]; depth++) {
		if (strcmp(cur, root) == 0)
			return true;
		if (!lookup(ctx, cur, parent, sizeof(parent), level, sizeof(level)))
			return false;
		snprintf(cur, sizeof(cur), "%s", parent);
	}
	return false;
}

/* True when s holds nothing but ASCII whitespace and U+3000. */
static bool only_space(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		else if (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80)
			p += 3;
		else
			return false;
	}
	return true;
}

static void field_error(json_t *fields, const char *name, const char *msg)
{
	json_array_append_new(fields, json_pack("{s:s,s:s}", "name", name, "message", msg));
}

int review_parse_decision(const json_t *body, int64_t now, struct review_decision *out, json_t *fields,
			  struct ts_error *err)
{
	memset(out, 0, sizeof(*out));
	const char *d = json_string_value(json_object_get(body, "decision"));
	const json_t *reason = json_object_get(body, "reason");
	if (!d || (strcmp(d, "pass") && strcmp(d, "reject") && strcmp(d, "return"))) {
		field_error(fields, "decision", "应为 pass、reject 或 return");
		return ts_error_set(err, TS_EINVAL, "invalid", "审核结论应为 通过（pass）、不通过（reject）或 退回补正（return）");
	}
	if (reason && !json_is_null(reason) && (!json_is_string(reason) || json_string_length(reason) > 1000)) {
		field_error(fields, "reason", "理由应为不超过1000字的文本");
		return ts_error_set(err, TS_EINVAL, "invalid", "审核理由格式不正确");
	}
	out->reason = json_string_value(reason);
	if (out->reason && only_space(out->reason))
		out->reason = NULL; /* whitespace alone, ASCII or full-width, is no reason */
	if (strcmp(d, "pass") == 0) {
		out->kind = DECISION_PASS;
		return 0;
	}
	if (strcmp(d, "reject") == 0) {
		out->kind = DECISION_REJECT;
		if (!out->reason) {
			field_error(fields, "reason", "不通过须填写理由");
			return ts_error_set(err, TS_EINVAL, "invalid", "不通过须填写理由");
		}
		return 0;
	}
	out->kind = DECISION_RETURN;
	const json_t *items = json_object_get(body, "items");
	bool items_ok = json_is_array(items) && json_array_size(items) > 0 && json_array_size(items) <= 50;
	size_t i;
	json_t *it;
	if (items_ok)
		json_array_foreach(items, i, it) if (!json_is_string(it) || only_space(json_string_value(it)) ||
						     json_string_length(it) > 500) items_ok = false;
	/* every bad field of the notice is reported at once */
	if (!items_ok)
		field_error(fields, "items", "请逐项列出需要补正的全部内容（1–50项）");
	const char *dl = json_string_value(json_object_get(body, "deadline"));
	int y, m, dd;
	int64_t t = 0;
	if (dl && ts_date_parse(dl, &y, &m, &dd)) {
		/* the end of that day, Asia/Shanghai */
		t = (ts_days_from_civil(y, (unsigned)m, (unsigned)dd) + 1) * 86400 * TS_US_PER_SEC -
		    (int64_t)TS_CST_OFFSET_S * TS_US_PER_SEC;
	} else if (!dl || ts_time_parse(dl, now, &t) != 0) {
		field_error(fields, "deadline", "请填写补正截止日期（YYYY-MM-DD）");
		t = -1;
	}
	if (t == 0 || (t > 0 && t <= now))
		field_error(fields, "deadline", "截止时间须晚于现在");
	if (!items_ok)
		return ts_error_set(err, TS_EINVAL, "invalid", "退回补正须一次性列出需要补正的全部内容");
	if (t <= now)
		return ts_error_set(err, TS_EINVAL, "invalid", "退回补正须给出晚于现在的补正截止日期");
	out->items = json_deep_copy(items);
	out->deadline = t;
	return 0;
}

void review_decision_free(struct review_decision *d)
{
	json_decref(d->items);
	d->items = NULL;
}

static bool listed(const json_t *arr, const char *date)
{
	size_t i;
	json_t *v;
	json_array_foreach((json_t *)arr, i, v) if (json_is_string(v) && strcmp(json_string_value(v), date) == 0) return true;
	return false;
}

int review_days(const char *start, const char *end, bool working, const json_t *calendar)
{
	int y1, m1, d1, y2, m2, d2;
	if (!ts_date_parse(start, &y1, &m1, &d1) || !ts_date_parse(end, &y2, &m2, &d2))
		return -1;
	int64_t a = ts_days_from_civil(y1, (unsigned)m1, (unsigned)d1);
	int64_t b = ts_days_from_civil(y2, (unsigned)m2, (unsigned)d2);
	if (b < a || b - a > 3660)
		return -1;
	if (!working)
		return (int)(b - a + 1);
	const json_t *hol = json_object_get(calendar, "holidays"), *work = json_object_get(calendar, "workdays");
	int n = 0;
	for (int64_t z = a; z <= b; z++) {
		int y;
		unsigned m, d;
		ts_civil_from_days(z, &y, &m, &d);
		char date[11];
		snprintf(date, sizeof(date), "%04d-%02u-%02u", y, m, d);
		int wd = (int)((z % 7 + 7 + 3) % 7); /* 1970-01-01 was a Thursday: 0 = Monday */
		bool weekend = wd >= 5;
		if (listed(hol, date))
			continue;
		if (weekend && !listed(work, date))
			continue;
		n++;
	}
	return n;
}
