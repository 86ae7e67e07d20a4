/* tests/unit/test_rules.c — eligibility rules of the 2022 specs, quota standing, statuses (domain/rules.h).
 *
 * Fields are given already normalised (as form_validate leaves them); the
 * person's history is given as rules_check receives it from the store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "domain/rules.h"
#include "domain/spec.h"

#define TY 2022
#define TM 10
#define TD 17

#define LV_SENIOR "高级技师（一级）"
#define LV_TECH "技师（二级）"
#define LV_HIGH "高级工（三级）"

struct fx {
	struct program_spec *skill, *edu;
};

static json_t *load_program(const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "programs/%s", name);
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	const char *share = getenv("TISHENG_SHARE");
	if (!root && share && *share) {
		snprintf(path, sizeof(path), "%s/programs/%s", share, name);
		root = json_load_file(path, 0, &jerr);
	}
	if (!root)
		fprintf(stderr, "cannot load %s (run from the repository root or set TISHENG_SHARE): %s\n", name,
			jerr.text);
	return root;
}

static struct program_spec *spec_load(const char *name)
{
	json_t *root = load_program(name);
	if (!root)
		return NULL;
	struct program_spec *spec = NULL;
	struct ts_error err;
	if (spec_parse(root, &spec, &err) != 0)
		fprintf(stderr, "spec_parse(%s): %s\n", name, err.message);
	json_decref(root);
	return spec;
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	fx->skill = spec_load("yn2022-skill.json");
	fx->edu = spec_load("yn2022-edu.json");
	*state = fx;
	return fx->skill && fx->edu ? 0 : -1;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	spec_free(fx->skill);
	spec_free(fx->edu);
	free(fx);
	return 0;
}

static json_t *skill_fields(const char *cert_date, const char *prev, const char *occupation)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:i}", "name", "张三丰", "education", "大专", "cert_date", cert_date,
			 "previous_level", prev, "occupation", occupation, "work_years", 11);
}

static json_t *edu_fields(const char *education, const char *diploma_date)
{
	return json_pack("{s:s,s:s,s:s}", "name", "李四", "education", education, "diploma_date", diploma_date);
}

static const char *rule_message(const struct program_spec *spec, enum rule_kind kind)
{
	for (size_t i = 0; i < spec->nrules; i++)
		if (spec->rules[i].kind == kind)
			return spec->rules[i].message;
	return NULL;
}

static void check_ok(const struct program_spec *spec, const char *cat, json_t *fields,
		     const struct history_entry *hist, size_t nhist)
{
	struct ts_error err;
	ts_error_clear(&err);
	const struct category_def *c = spec_category(spec, cat);
	assert_non_null(c);
	int rc = rules_check(spec, c, fields, TY, TM, TD, hist, nhist, &err);
	json_decref(fields);
	if (rc != 0)
		fail_msg("rules_check refused %s: %s", cat, err.message);
}

/* Expects a refusal by the rule of `kind`, recognised by its spec message. */
static void check_refused(const struct program_spec *spec, const char *cat, json_t *fields,
			  const struct history_entry *hist, size_t nhist, enum rule_kind kind)
{
	struct ts_error err;
	ts_error_clear(&err);
	const struct category_def *c = spec_category(spec, cat);
	assert_non_null(c);
	int rc = rules_check(spec, c, fields, TY, TM, TD, hist, nhist, &err);
	json_decref(fields);
	if (rc != TS_EINVAL)
		fail_msg("rules_check accepted %s (rc %d), expected rule %d to refuse", cat, rc, (int)kind);
	assert_int_equal(err.status, TS_EINVAL);
	assert_string_equal(err.code, "ineligible");
	const char *want = rule_message(spec, kind);
	assert_non_null(want);
	assert_string_equal(err.message, want);
}

static void test_skill_eligible(void **state)
{
	struct fx *fx = *state;
	check_ok(fx->skill, "technician", skill_fields("2022-03-01", LV_HIGH, "焊工"), NULL, 0);
	check_ok(fx->skill, "senior-technician", skill_fields("2022-03-01", LV_HIGH, "焊工"), NULL, 0);
	check_ok(fx->skill, "senior-technician", skill_fields("2022-01-01", LV_TECH, "焊工"), NULL, 0);
	check_ok(fx->skill, "technician", skill_fields("2022-10-17", "无", "焊工"), NULL, 0); /* today */
}

static void test_cert_date_in_program_year(void **state)
{
	struct fx *fx = *state;
	check_refused(fx->skill, "technician", skill_fields("2021-12-31", LV_HIGH, "焊工"), NULL, 0,
		      RULE_DATE_IN_PROGRAM_YEAR);
	check_refused(fx->skill, "technician", skill_fields("2021-06-01", LV_HIGH, "焊工"), NULL, 0,
		      RULE_DATE_IN_PROGRAM_YEAR);
	/* After "today", even within 2022. */
	check_refused(fx->skill, "technician", skill_fields("2022-10-18", LV_HIGH, "焊工"), NULL, 0,
		      RULE_DATE_IN_PROGRAM_YEAR);
	check_refused(fx->skill, "technician", skill_fields("2022-12-31", LV_HIGH, "焊工"), NULL, 0,
		      RULE_DATE_IN_PROGRAM_YEAR);
	check_refused(fx->skill, "technician", skill_fields("2023-01-01", LV_HIGH, "焊工"), NULL, 0,
		      RULE_DATE_IN_PROGRAM_YEAR);
	/* A missing date is not in the year either. */
	json_t *f = skill_fields("2022-03-01", LV_HIGH, "焊工");
	json_object_del(f, "cert_date");
	check_refused(fx->skill, "technician", f, NULL, 0, RULE_DATE_IN_PROGRAM_YEAR);
}

static void test_level_above(void **state)
{
	struct fx *fx = *state;
	check_refused(fx->skill, "technician", skill_fields("2022-03-01", LV_TECH, "焊工"), NULL, 0,
		      RULE_LEVEL_ABOVE);
	check_refused(fx->skill, "technician", skill_fields("2022-03-01", LV_SENIOR, "焊工"), NULL, 0,
		      RULE_LEVEL_ABOVE);
	check_refused(fx->skill, "senior-technician", skill_fields("2022-03-01", LV_SENIOR, "焊工"), NULL, 0,
		      RULE_LEVEL_ABOVE);
	/* A level that is not in the order cannot be compared. */
	check_refused(fx->skill, "technician", skill_fields("2022-03-01", "特级技师", "焊工"), NULL, 0,
		      RULE_LEVEL_ABOVE);
}

static void test_one_per_year(void **state)
{
	struct fx *fx = *state;
	json_t *hf = json_pack("{s:s}", "occupation", "焊工");
	/* Another group of the same series and year (e.g. a second batch). */
	struct history_entry other = {"yn2022-skill-b", 2022, LV_TECH, hf};
	check_refused(fx->skill, "senior-technician", skill_fields("2022-03-01", LV_TECH, "焊工"), &other, 1,
		      RULE_ONE_PER_YEAR);
	/* The same group is the duplicate check's business, not this rule's. */
	struct history_entry same = {"yn2022-skill", 2022, LV_TECH, hf};
	check_ok(fx->skill, "senior-technician", skill_fields("2022-03-01", LV_TECH, "焊工"), &same, 1);
	/* …by every rule: not even same_occupation compares against it (an
	 * edit of one's own application in a different occupation). */
	json_t *elec = json_pack("{s:s}", "occupation", "电工");
	struct history_entry same_elec = {"yn2022-skill", 2022, LV_SENIOR, elec};
	check_ok(fx->skill, "senior-technician", skill_fields("2022-03-01", LV_TECH, "焊工"), &same_elec, 1);
	json_decref(elec);
	json_decref(hf);
}

static void test_same_occupation(void **state)
{
	struct fx *fx = *state;
	json_t *welder = json_pack("{s:s}", "occupation", "焊工");
	json_t *electrician = json_pack("{s:s}", "occupation", "电工");
	json_t *none = json_object();

	/* Subsidised in 2021 as a technician electrician: a welder certificate is refused. */
	struct history_entry h_elec = {"yn2021-skill", 2021, LV_TECH, electrician};
	check_refused(fx->skill, "senior-technician", skill_fields("2022-03-01", LV_TECH, "焊工"), &h_elec, 1,
		      RULE_SAME_OCCUPATION);
	/* Same occupation, promoted higher: may apply again. */
	struct history_entry h_weld = {"yn2021-skill", 2021, LV_TECH, welder};
	check_ok(fx->skill, "senior-technician", skill_fields("2022-03-01", LV_TECH, "焊工"), &h_weld, 1);
	/* Same occupation, same level again. */
	check_refused(fx->skill, "technician", skill_fields("2022-03-01", LV_HIGH, "焊工"), &h_weld, 1,
		      RULE_SAME_OCCUPATION);
	/* Same occupation, lower than before. */
	struct history_entry h_weld_sen = {"yn2020-skill", 2020, LV_SENIOR, welder};
	check_refused(fx->skill, "technician", skill_fields("2022-03-01", LV_HIGH, "焊工"), &h_weld_sen, 1,
		      RULE_SAME_OCCUPATION);
	/* An earlier record without an occupation cannot be shown to match. */
	struct history_entry h_none = {"yn2021-skill", 2021, LV_TECH, none};
	check_refused(fx->skill, "senior-technician", skill_fields("2022-03-01", LV_TECH, "焊工"), &h_none, 1,
		      RULE_SAME_OCCUPATION);
	/* Every earlier year counts, not just the first entry. */
	struct history_entry two[] = {h_weld, h_elec};
	check_refused(fx->skill, "senior-technician", skill_fields("2022-03-01", LV_TECH, "焊工"), two, 2,
		      RULE_SAME_OCCUPATION);
	json_decref(welder);
	json_decref(electrician);
	json_decref(none);
}

static void test_edu_education_level(void **state)
{
	struct fx *fx = *state;
	check_ok(fx->edu, "associate", edu_fields("大专", "2022-07-01"), NULL, 0);
	check_ok(fx->edu, "bachelor", edu_fields("本科", "2022-07-01"), NULL, 0);
	check_refused(fx->edu, "bachelor", edu_fields("硕士研究生", "2022-07-01"), NULL, 0, RULE_FIELD_IN);
	check_refused(fx->edu, "bachelor", edu_fields("博士研究生", "2022-07-01"), NULL, 0, RULE_FIELD_IN);
	check_refused(fx->edu, "associate", edu_fields("高中", "2022-07-01"), NULL, 0, RULE_FIELD_IN);
	check_refused(fx->edu, "associate", edu_fields("中专", "2022-07-01"), NULL, 0, RULE_FIELD_IN);
	check_refused(fx->edu, "associate", edu_fields("大专", "2021-07-01"), NULL, 0, RULE_DATE_IN_PROGRAM_YEAR);
	/* a 大专 diploma does not earn the 本科 amount, nor the other way round */
	check_refused(fx->edu, "bachelor", edu_fields("大专", "2022-07-01"), NULL, 0, RULE_FIELD_IS_LEVEL);
	check_refused(fx->edu, "associate", edu_fields("本科", "2022-07-01"), NULL, 0, RULE_FIELD_IS_LEVEL);
}

static void test_once_per_level(void **state)
{
	struct fx *fx = *state;
	json_t *hf = json_object();
	struct history_entry bachelor_2021 = {"yn2021-edu", 2021, "本科", hf};
	check_refused(fx->edu, "bachelor", edu_fields("本科", "2022-07-01"), &bachelor_2021, 1, RULE_ONCE_PER_LEVEL);
	check_ok(fx->edu, "associate", edu_fields("大专", "2022-07-01"), &bachelor_2021, 1);
	struct history_entry associate_2019 = {"yn2019-edu", 2019, "大专", hf};
	check_ok(fx->edu, "bachelor", edu_fields("本科", "2022-07-01"), &associate_2019, 1);
	check_refused(fx->edu, "associate", edu_fields("大专", "2022-07-01"), &associate_2019, 1,
		      RULE_ONCE_PER_LEVEL);
	json_decref(hf);
}

static void test_quota_standing(void **state)
{
	(void)state;
	assert_string_equal(quota_standing(500, 1), "queued");
	assert_string_equal(quota_standing(500, 499), "queued");
	assert_string_equal(quota_standing(500, 500), "queued");
	assert_string_equal(quota_standing(500, 501), "waitlisted");
	assert_string_equal(quota_standing(500, 550), "waitlisted");
	assert_string_equal(quota_standing(1500, 1501), "waitlisted");
}

static void test_statuses(void **state)
{
	(void)state;
	const char *running[] = {"submitted", "returned", "approved", "paid"};
	for (size_t i = 0; i < sizeof(running) / sizeof(running[0]); i++)
		if (!status_in_running(running[i]))
			fail_msg("%s should be in the running", running[i]);
	const char *out[] = {"rejected", "withdrawn", "abandoned", "cancelled"};
	for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++)
		if (status_in_running(out[i]))
			fail_msg("%s should not be in the running", out[i]);
	assert_true(status_editable("submitted"));
	assert_true(status_editable("returned"));
	const char *locked[] = {"withdrawn", "rejected", "approved", "paid", "cancelled", "abandoned"};
	for (size_t i = 0; i < sizeof(locked) / sizeof(locked[0]); i++)
		if (status_editable(locked[i]))
			fail_msg("%s should not be editable", locked[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skill_eligible),
		cmocka_unit_test(test_cert_date_in_program_year),
		cmocka_unit_test(test_level_above),
		cmocka_unit_test(test_one_per_year),
		cmocka_unit_test(test_same_occupation),
		cmocka_unit_test(test_edu_education_level),
		cmocka_unit_test(test_once_per_level),
		cmocka_unit_test(test_quota_standing),
		cmocka_unit_test(test_statuses),
	};
	return cmocka_run_group_tests_name("rules", tests, setup, teardown);
}
