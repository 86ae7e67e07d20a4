/* Unit tests of domain/review.c: who acts at a stage, decisions, publicity days. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/time.h"
#include "domain/review.h"

/* A small tree: province yn → prefecture yn-5301 → county yn-530102 → base yn-530102-001;
 * an industry union yn-ind-x → base yn-ind-x-001. */
static const char *const tree[][3] = {
	{"yn", "", "province"},
	{"yn-5301", "yn", "prefecture"},
	{"yn-530102", "yn-5301", "county"},
	{"yn-530102-001", "yn-530102", "base"},
	{"yn-ind-x", "yn", "industry"},
	{"yn-ind-x-001", "yn-ind-x", "base"},
};

static bool lookup(void *ctx, const char *code, char *parent, size_t pn, char *level, size_t ln)
{
	(void)ctx;
	for (size_t i = 0; i < sizeof(tree) / sizeof(tree[0]); i++)
		if (strcmp(tree[i][0], code) == 0) {
			snprintf(parent, pn, "%s", tree[i][1]);
			snprintf(level, ln, "%s", tree[i][2]);
			return true;
		}
	return false;
}

static void test_responsible(void **state)
{
	(void)state;
	json_t *base = json_pack("[s]", "base"), *re = json_pack("[s,s]", "prefecture", "industry"),
	       *prov = json_pack("[s]", "province");
	struct stage_def s_base = {.levels = base}, s_re = {.levels = re}, s_prov = {.levels = prov};
	char out[64];
	assert_true(review_responsible(&s_base, "yn-530102-001", lookup, NULL, out, sizeof(out)));
	assert_string_equal(out, "yn-530102-001");
	assert_true(review_responsible(&s_re, "yn-530102-001", lookup, NULL, out, sizeof(out)));
	assert_string_equal(out, "yn-5301");
	/* a base union under an industry union is re-checked by the industry union */
	assert_true(review_responsible(&s_re, "yn-ind-x-001", lookup, NULL, out, sizeof(out)));
	assert_string_equal(out, "yn-ind-x");
	assert_true(review_responsible(&s_prov, "yn-ind-x-001", lookup, NULL, out, sizeof(out)));
	assert_string_equal(out, "yn");
	/* an applicant who chose a county union: that union acts as the base */
	assert_true(review_responsible(&s_base, "yn-530102", lookup, NULL, out, sizeof(out)));
	assert_string_equal(out, "yn-530102");
	assert_false(review_responsible(&s_base, "nowhere", lookup, NULL, out, sizeof(out)));
	assert_true(review_in_subtree("yn-5301", "yn-530102-001", lookup, NULL));
	assert_false(review_in_subtree("yn-5301", "yn-ind-x-001", lookup, NULL));
	assert_true(review_in_subtree("yn", "yn-ind-x-001", lookup, NULL));
	json_decref(base);
	json_decref(re);
	json_decref(prov);
}

static int decide(const char *json, int64_t now, struct review_decision *d, json_t **fields)
{
	json_t *body = json_loads(json, 0, NULL);
	assert_non_null(body);
	*fields = json_array();
	struct ts_error err;
	int rc = review_parse_decision(body, now, d, *fields, &err);
	json_decref(body);
	return rc;
}

static bool names(const json_t *fields, const char *name)
{
	size_t i;
	json_t *f;
	json_array_foreach((json_t *)fields, i, f) if (strcmp(json_string_value(json_object_get(f, "name")), name) == 0) return true;
	return false;
}

static void test_decisions(void **state)
{
	(void)state;
	int64_t now;
	assert_int_equal(ts_time_parse("2022-11-01T10:00:00+08:00", 0, &now), 0);
	struct review_decision d;
	json_t *f;
	assert_int_equal(decide("{\"decision\":\"pass\"}", now, &d, &f), 0);
	assert_int_equal(d.kind, DECISION_PASS);
	review_decision_free(&d);
	json_decref(f);
	assert_int_equal(decide("{\"decision\":\"reject\",\"reason\":\" \\u3000 \"}", now, &d, &f), TS_EINVAL);
	assert_true(names(f, "reason"));
	review_decision_free(&d);
	json_decref(f);
	assert_int_equal(decide("{\"decision\":\"maybe\"}", now, &d, &f), TS_EINVAL);
	assert_true(names(f, "decision"));
	review_decision_free(&d);
	json_decref(f);
	/* a notice with no items and a past deadline: both fields named at once */
	assert_int_equal(decide("{\"decision\":\"return\",\"items\":[],\"deadline\":\"2022-10-01\"}", now, &d, &f), TS_EINVAL);
	assert_true(names(f, "items"));
	assert_true(names(f, "deadline"));
	review_decision_free(&d);
	json_decref(f);
	assert_int_equal(decide("{\"decision\":\"return\",\"items\":[\"  \"],\"deadline\":\"2022-11-05\"}", now, &d, &f), TS_EINVAL);
	assert_true(names(f, "items"));
	review_decision_free(&d);
	json_decref(f);
	/* a date means the end of that day in Asia/Shanghai */
	assert_int_equal(decide("{\"decision\":\"return\",\"items\":[\"证书不清\"],\"deadline\":\"2022-11-05\"}", now, &d, &f), 0);
	int64_t end;
	assert_int_equal(ts_time_parse("2022-11-06T00:00:00+08:00", 0, &end), 0);
	assert_int_equal(d.deadline, end);
	assert_int_equal(json_array_size(d.items), 1);
	review_decision_free(&d);
	json_decref(f);
}

static void test_days(void **state)
{
	(void)state;
	json_t *cal = json_pack("{s:[s,s,s,s,s,s,s],s:[s,s]}", "holidays", "2022-10-01", "2022-10-02", "2022-10-03",
				"2022-10-04", "2022-10-05", "2022-10-06", "2022-10-07", "workdays", "2022-10-08", "2022-10-09");
	assert_int_equal(review_days("2022-11-01", "2022-11-05", false, cal), 5);
	assert_int_equal(review_days("2022-11-05", "2022-11-01", false, cal), -1);
	assert_int_equal(review_days("2022-02-30", "2022-03-01", false, cal), -1);
	/* Tue 2022-11-01 … Mon 2022-11-07: five working days (the weekend off) */
	assert_int_equal(review_days("2022-11-01", "2022-11-07", true, cal), 5);
	/* the National Day week is off, its two make-up weekend days count */
	assert_int_equal(review_days("2022-09-30", "2022-10-10", true, cal), 4);
	json_decref(cal);
}

static void test_status_label(void **state)
{
	(void)state;
	char out[64];
	assert_string_equal(review_status_label(NULL, "initial_passed", out, sizeof(out)), "初审通过");
	assert_string_equal(review_status_label(NULL, "returned", out, sizeof(out)), "退回补正中");
	assert_string_equal(review_status_label(NULL, "paid", out, sizeof(out)), "已发放");
	/* a status only the spec defines is named after its stage */
	struct stage_def stages[] = {
		{.name = "工会复审", .pass_status = "union_checked", .kind = STAGE_REVIEW},
		{.name = "单位公示", .pass_status = "unit_shown", .kind = STAGE_PUBLICITY},
	};
	struct program_spec spec = {.stages = stages, .nstages = 2};
	assert_string_equal(review_status_label(&spec, "union_checked", out, sizeof(out)), "工会复审通过");
	assert_string_equal(review_status_label(&spec, "unit_shown", out, sizeof(out)), "单位公示期满");
	/* unknown: as it is; a short buffer is cut, still terminated */
	assert_string_equal(review_status_label(&spec, "odd_status", out, sizeof(out)), "odd_status");
	assert_string_equal(review_status_label(NULL, NULL, out, sizeof(out)), "");
	char tiny[4];
	assert_string_equal(review_status_label(NULL, "odd_status", tiny, sizeof(tiny)), "odd");
}

static void test_status_known(void **state)
{
	(void)state;
	static const char *const fixed[] = {"submitted", "initial_passed", "base_publicized", "rechecked",
					    "province_passed", "province_publicized", "approved", "paid",
					    "returned", "rejected", "abandoned", "withdrawn", "cancelled"};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		assert_true(review_status_known(NULL, fixed[i]));
	struct stage_def stages[] = {
		{.name = "工会复审", .pass_status = "union_checked", .kind = STAGE_REVIEW},
		{.name = "终审", .pass_status = NULL, .kind = STAGE_APPROVAL},
	};
	struct program_spec spec = {.stages = stages, .nstages = 2};
	assert_true(review_status_known(&spec, "union_checked"));
	assert_true(review_status_known(&spec, "initial_passed")); /* the console offers it for every program */
	assert_false(review_status_known(NULL, "union_checked"));
	assert_false(review_status_known(&spec, "zzz"));
	assert_false(review_status_known(&spec, ""));
	assert_false(review_status_known(&spec, "Submitted"));
	assert_false(review_status_known(&spec, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_responsible),
		cmocka_unit_test(test_decisions),
		cmocka_unit_test(test_days),
		cmocka_unit_test(test_status_label),
		cmocka_unit_test(test_status_known),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
