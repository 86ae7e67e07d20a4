/* domain/rules.c — eligibility rules of program specs; quota standing. */
#include "domain/rules.h"

#include <stdio.h>
#include <string.h>

/* The year of a "YYYY-MM-DD" string (already validated), or -1. */
static int atoi_year(const char *s)
{
	int y = 0;
	for (int i = 0; i < 4; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		y = y * 10 + (s[i] - '0');
	}
	return y;
}

static int refuse(struct ts_error *err, const struct rule_def *r, const char *fallback)
{
	return ts_error_set(err, TS_EINVAL, "ineligible", "%s", r->message ? r->message : fallback);
}

static const char *str_field(const json_t *fields, const char *key)
{
	const json_t *v = key ? json_object_get(fields, key) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int check_one(const struct program_spec *spec, const struct category_def *cat,
		     const struct rule_def *r, const struct form_values *fields, int ty, int tm, int td,
		     const struct history_entry *hist, size_t nhist, struct ts_error *err)
{
	const char *v = form_values_str(fields, r->field);
	const json_t *order = spec_level_order(spec);
	switch (r->kind) {
	case RULE_DATE_IN_PROGRAM_YEAR: {
		char today[11];
		snprintf(today, sizeof(today), "%04d-%02d-%02d", ty, tm, td);
		if (!v || atoi_year(v) != spec->year || strcmp(v, today) > 0)
			return refuse(err, r, "证书须为本年度取得，且日期不晚于今天");
		return 0;
	}
	case RULE_FIELD_IN: {
		size_t i;
		json_t *o;
		json_array_foreach(r->values, i, o) if (v && json_is_string(o) &&
							strcmp(json_string_value(o), v) == 0) return 0;
		return refuse(err, r, "不符合申报条件");
	}
	case RULE_LEVEL_ABOVE: {
		int have = v ? spec_order_index(r->order, v) : -1;
		int want = spec_order_index(r->order, cat->level);
		if (have < 0 || want <= have)
			return refuse(err, r, "申报等级须高于原有等级");
		return 0;
	}
	case RULE_ONE_PER_YEAR:
		for (size_t i = 0; i < nhist; i++)
			if (hist[i].year == spec->year && strcmp(hist[i].group, spec->group) != 0)
				return refuse(err, r, "每人每年度只能享受一次补助");
		return 0;
	case RULE_SAME_OCCUPATION:
		for (size_t i = 0; i < nhist; i++) {
			if (hist[i].year >= spec->year)
				continue;
			const char *earlier = str_field(hist[i].fields, r->field);
			if (!v || !earlier || strcmp(v, earlier) != 0)
				return refuse(err, r, "不同职业（工种）的证书不予补助");
			if (order && spec_order_index(order, cat->level) <= spec_order_index(order, hist[i].level))
				return refuse(err, r, "同一职业（工种）须晋升更高等级方可再次申请");
		}
		return 0;
	case RULE_FIELD_IS_LEVEL:
		if (!v || strcmp(v, cat->level) != 0)
			return refuse(err, r, "所填学历与申报类别不一致");
		return 0;
	case RULE_ONCE_PER_LEVEL:
		for (size_t i = 0; i < nhist; i++)
			if (strcmp(hist[i].group, spec->group) != 0 && strcmp(hist[i].level, cat->level) == 0)
				return refuse(err, r, "同一学历层次只可申请一次补助");
		return 0;
	}
	return 0;
}

int rules_check_values(const struct program_spec *spec, const struct category_def *cat,
		       const struct form_values *fields, int ty, int tm, int td, const struct history_entry *hist,
		       size_t nhist, struct ts_error *err)
{
	for (size_t i = 0; i < spec->nrules; i++) {
		int rc = check_one(spec, cat, &spec->rules[i], fields, ty, tm, td, hist, nhist, err);
		if (rc)
			return rc;
	}
	return 0;
}

int rules_check(const struct program_spec *spec, const struct category_def *cat, const json_t *fields,
		int ty, int tm, int td, const struct history_entry *hist, size_t nhist,
		struct ts_error *err)
{
	struct form_values fv;
	form_values_init(&fv);
	int rc = form_values_from_json(&fv, fields);
	if (rc == 0)
		rc = rules_check_values(spec, cat, &fv, ty, tm, td, hist, nhist, err);
	else
		ts_error_set(err, TS_EINVAL, "invalid", "fields 必须是对象");
	form_values_free(&fv);
	return rc;
}

const char *quota_standing(int64_t cap, int64_t running_at_or_ahead)
{
	return running_at_or_ahead <= cap ? "queued" : "waitlisted";
}

bool status_in_running(const char *status)
{
	static const char *const out[] = {"rejected", "withdrawn", "abandoned", "cancelled"};
	for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++)
		if (strcmp(status, out[i]) == 0)
			return false;
	return true;
}

bool status_editable(const char *status)
{
	return strcmp(status, "submitted") == 0 || strcmp(status, "returned") == 0;
}
