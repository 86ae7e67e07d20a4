/* tests/unit/test_validate.c — checking application forms against the 2022 skill spec (domain/validate.h).
 *
 * A complete, valid form is built once per test; each test spoils it in one
 * or several ways and checks that every bad field is reported under its own
 * key in "name", that nothing is normalised on failure, and that good input
 * comes out canonical.
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
#include "domain/spec.h"
#include "domain/idnum.h"
#include "domain/validate.h"

#define TY 2022
#define TM 10
#define TD 17

struct orgs {
	const char *const *codes;
	int calls;
};

static bool org_exists(void *ctx, const char *code)
{
	struct orgs *o = ctx;
	o->calls++;
	for (const char *const *c = o->codes; *c; c++)
		if (strcmp(*c, code) == 0)
			return true;
	return false;
}

static const char *const known_orgs[] = {"yn", "yn-km", "yn-km-gd", NULL};

struct fx {
	struct program_spec *spec;
	json_t *form;
	json_t *errors;
	json_t *saved; /* the value a helper swapped out, restored or freed by teardown */
	struct orgs orgs;
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
		fail_msg("cannot load %s (run from the repository root or set TISHENG_SHARE): %s", name, jerr.text);
	return root;
}

static json_t *valid_form(void)
{
	json_error_t jerr;
	json_t *f = json_loads(
		"{\"name\": \"张三丰\", \"gender\": \"男\", \"ethnicity\": \"彝族\","
		" \"political_status\": \"群众\", \"education\": \"大专\","
		" \"unit\": \"云南某某机械制造有限公司\", \"position\": \"焊工班班长\","
		" \"id_number\": \"530102199001011231\", \"email\": \"zhangsf@example.com\","
		" \"unit_address\": \"云南省昆明市官渡区春城路100号\", \"work_years\": 11,"
		" \"union\": \"yn-km-gd\", \"occupation_category\": \"生产制造类\","
		" \"previous_level\": \"高级工（三级）\", \"occupation\": \"焊工\","
		" \"cert_number\": \"S000053010000221000123\", \"cert_date\": \"2022-03-01\","
		" \"cert_issuer\": \"云南省职业技能鉴定中心\"}",
		0, &jerr);
	if (!f)
		fail_msg("bad test JSON: %s", jerr.text);
	return f;
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	json_t *root = load_program("yn2022-skill.json");
	struct ts_error err;
	if (spec_parse(root, &fx->spec, &err) != 0) {
		fprintf(stderr, "spec_parse: %s\n", err.message);
		json_decref(root);
		free(fx);
		return -1;
	}
	json_decref(root);
	fx->form = valid_form();
	fx->errors = json_array();
	fx->orgs.codes = known_orgs;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	spec_free(fx->spec);
	json_decref(fx->form);
	json_decref(fx->errors);
	json_decref(fx->saved);
	free(fx);
	return 0;
}

static json_t *validate_ok(struct fx *fx)
{
	json_t *norm = (json_t *)(uintptr_t)1;
	int rc = form_validate(fx->spec, fx->form, TY, TM, TD, org_exists, &fx->orgs, &norm, fx->errors);
	if (rc != 0) {
		char *dump = json_dumps(fx->errors, JSON_ENSURE_ASCII);
		print_error("form_validate failed: %s\n", dump);
		free(dump);
		fail();
	}
	assert_non_null(norm);
	assert_int_equal(json_array_size(fx->errors), 0);
	return norm;
}

/* Validates and expects a refusal; returns the errors array (borrowed). */
static json_t *validate_bad(struct fx *fx)
{
	json_t *norm = (json_t *)(uintptr_t)1;
	int rc = form_validate(fx->spec, fx->form, TY, TM, TD, org_exists, &fx->orgs, &norm, fx->errors);
	if (rc != TS_EINVAL) {
		char *dump = json_dumps(fx->form, JSON_ENSURE_ASCII);
		print_error("form_validate accepted %s\n", dump);
		free(dump);
		if (rc == 0)
			json_decref(norm);
		fail();
	}
	assert_null(norm);
	assert_true(json_array_size(fx->errors) > 0);
	size_t i;
	json_t *e;
	json_array_foreach(fx->errors, i, e)
	{
		assert_true(json_is_string(json_object_get(e, "name")));
		const char *msg = json_string_value(json_object_get(e, "message"));
		assert_non_null(msg);
		assert_true(strlen(msg) > 0);
	}
	return fx->errors;
}

static bool has_error(const json_t *errors, const char *name)
{
	size_t i;
	json_t *e;
	json_array_foreach(errors, i, e) if (strcmp(json_string_value(json_object_get(e, "name")), name) == 0) return true;
	return false;
}

/* Sets one field to a value (NULL removes it), expects exactly one error under `key`. */
static void expect_field_error(struct fx *fx, const char *key, json_t *value)
{
	json_t *saved = fx->saved = json_incref(json_object_get(fx->form, key));
	if (value)
		json_object_set_new(fx->form, key, value);
	else
		json_object_del(fx->form, key);
	json_array_clear(fx->errors);
	json_t *errors = validate_bad(fx);
	if (json_array_size(errors) != 1 || !has_error(errors, key)) {
		char *dump = json_dumps(errors, JSON_ENSURE_ASCII);
		print_error("expected one error for %s, got %s\n", key, dump);
		free(dump);
		fail();
	}
	fx->saved = NULL;
	if (saved)
		json_object_set_new(fx->form, key, saved);
	else
		json_object_del(fx->form, key);
	json_array_clear(fx->errors);
}

/* Sets one field and expects the form to pass; returns the normalised value (owned). */
static json_t *expect_field_ok(struct fx *fx, const char *key, json_t *value)
{
	json_t *saved = fx->saved = json_incref(json_object_get(fx->form, key));
	json_object_set_new(fx->form, key, value);
	json_t *norm = validate_ok(fx);
	json_t *v = json_incref(json_object_get(norm, key));
	json_decref(norm);
	fx->saved = NULL;
	if (saved)
		json_object_set_new(fx->form, key, saved);
	else
		json_object_del(fx->form, key);
	return v;
}

static void test_valid_form_normalised(void **state)
{
	struct fx *fx = *state;
	json_object_set_new(fx->form, "name", json_string(" \t张三丰\xE3\x80\x80"));
	json_object_set_new(fx->form, "unit", json_string("\xE3\x80\x80\xE3\x80\x80云南某某机械制造有限公司 "));
	json_object_set_new(fx->form, "previous_level", json_string("高级工"));
	json_object_set_new(fx->form, "ethnicity", json_string("彝"));
	json_object_set_new(fx->form, "id_number", json_string("11010519491231002x"));
	json_object_set_new(fx->form, "work_years", json_string("10"));
	json_object_set_new(fx->form, "gender", json_string(" 男 "));
	json_object_set_new(fx->form, "bank_branch", json_string("   "));
	json_object_set_new(fx->form, "training_place", json_null());
	json_t *norm = validate_ok(fx);
	assert_string_equal(json_string_value(json_object_get(norm, "name")), "张三丰");
	assert_string_equal(json_string_value(json_object_get(norm, "unit")), "云南某某机械制造有限公司");
	assert_string_equal(json_string_value(json_object_get(norm, "previous_level")), "高级工（三级）");
	assert_string_equal(json_string_value(json_object_get(norm, "ethnicity")), "彝族");
	assert_string_equal(json_string_value(json_object_get(norm, "id_number")), "11010519491231002X");
	assert_string_equal(json_string_value(json_object_get(norm, "gender")), "男");
	json_t *wy = json_object_get(norm, "work_years");
	assert_true(json_is_integer(wy));
	assert_int_equal(json_integer_value(wy), 10);
	assert_string_equal(json_string_value(json_object_get(norm, "cert_date")), "2022-03-01");
	assert_string_equal(json_string_value(json_object_get(norm, "union")), "yn-km-gd");
	/* Absent, blank and null optional fields are left out. */
	assert_null(json_object_get(norm, "bank_branch"));
	assert_null(json_object_get(norm, "bank_account"));
	assert_null(json_object_get(norm, "training_place"));
	assert_int_equal(json_object_size(norm), 18);
	assert_true(fx->orgs.calls >= 1);
	/* The input is not modified. */
	assert_string_equal(json_string_value(json_object_get(fx->form, "previous_level")), "高级工");
	json_decref(norm);
}

static void test_missing_required(void **state)
{
	struct fx *fx = *state;
	expect_field_error(fx, "name", NULL);
	expect_field_error(fx, "name", json_null());
	expect_field_error(fx, "name", json_string(""));
	expect_field_error(fx, "name", json_string("  \t "));
	expect_field_error(fx, "id_number", NULL);
	expect_field_error(fx, "cert_date", json_string(""));
	expect_field_error(fx, "work_years", NULL);
	expect_field_error(fx, "union", json_null());
}

/* A required text made only of full-width spaces (U+3000) is as empty as
 * one of ASCII spaces: the trimmed value is "" and must count as missing. */
static void test_required_fullwidth_blank(void **state)
{
	struct fx *fx = *state;
	expect_field_error(fx, "unit", json_string("\xE3\x80\x80"));
	expect_field_error(fx, "occupation", json_string(" \xE3\x80\x80\xE3\x80\x80 "));
}

static void test_unknown_field(void **state)
{
	struct fx *fx = *state;
	json_object_set_new(fx->form, "nickname", json_string("老张"));
	json_t *errors = validate_bad(fx);
	assert_int_equal(json_array_size(errors), 1);
	assert_true(has_error(errors, "nickname"));
	/* The login phone is not a form field of this spec either. */
	json_object_del(fx->form, "nickname");
	expect_field_error(fx, "phone", json_string("13800138000"));
}

static void test_bad_email(void **state)
{
	struct fx *fx = *state;
	const char *bad[] = {"zhangsf@", "zhangsf.example.com", "a@b@example.com", "a b@example.com",
			     "zhangsf@example", "@example.com", "zhangsf@.com", "zhangsf@example.c",
			     "zhangsf@example..com", "张三@example.com", "a<b>@example.com"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_field_error(fx, "email", json_string(bad[i]));
	char longmail[300];
	memset(longmail, 'a', sizeof(longmail));
	memcpy(longmail + 250, "@example.com", 13); /* 262 characters */
	expect_field_error(fx, "email", json_string(longmail));
	json_t *v = expect_field_ok(fx, "email", json_string(" li.si+apply@mail.example.cn "));
	assert_string_equal(json_string_value(v), "li.si+apply@mail.example.cn");
	json_decref(v);
}

static void test_bad_date(void **state)
{
	struct fx *fx = *state;
	const char *bad[] = {"2022-13-01", "2022-02-29", "2022-04-31", "2022/03/01", "2022-3-1", "20220301",
			     "2022-03-01T00:00:00", "昨天"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_field_error(fx, "cert_date", json_string(bad[i]));
	expect_field_error(fx, "cert_date", json_integer(20220301));
}

static void test_option_not_in_list(void **state)
{
	struct fx *fx = *state;
	expect_field_error(fx, "gender", json_string("男性"));
	expect_field_error(fx, "previous_level", json_string("高级技师（一级）"));
	expect_field_error(fx, "ethnicity", json_string("火星族"));
	expect_field_error(fx, "education", json_string("DAZHUAN"));
	/* Aliases only map to options; an alias of another field does not count. */
	expect_field_error(fx, "gender", json_string("汉"));
}

static void test_integer_range(void **state)
{
	struct fx *fx = *state;
	expect_field_error(fx, "work_years", json_integer(61));
	expect_field_error(fx, "work_years", json_integer(-1));
	expect_field_error(fx, "work_years", json_string("61"));
	expect_field_error(fx, "work_years", json_string("-1"));
	expect_field_error(fx, "work_years", json_string("ten"));
	expect_field_error(fx, "work_years", json_string("1e1"));
	expect_field_error(fx, "work_years", json_real(10.5));
	expect_field_error(fx, "work_years", json_true());
	expect_field_error(fx, "work_years", json_string("99999999999999999999"));
	json_t *v = expect_field_ok(fx, "work_years", json_integer(0));
	assert_int_equal(json_integer_value(v), 0);
	json_decref(v);
	v = expect_field_ok(fx, "work_years", json_string("60"));
	assert_true(json_is_integer(v));
	assert_int_equal(json_integer_value(v), 60);
	json_decref(v);
}

static void test_wrong_json_type(void **state)
{
	struct fx *fx = *state;
	expect_field_error(fx, "name", json_pack("{s:s}", "first", "三丰"));
	expect_field_error(fx, "gender", json_pack("[s]", "男"));
	expect_field_error(fx, "id_number", json_integer(530102199001011231LL));
	expect_field_error(fx, "union", json_true());
	expect_field_error(fx, "cert_date", json_pack("{}"));
}

static void test_text_length_in_characters(void **state)
{
	struct fx *fx = *state;
	/* name: 2..30 characters. 30 CJK characters are 90 bytes and fit. */
	char name[200] = "";
	for (int i = 0; i < 30; i++)
		strcat(name, "云");
	json_t *v = expect_field_ok(fx, "name", json_string(name));
	assert_string_equal(json_string_value(v), name);
	json_decref(v);
	strcat(name, "南");
	expect_field_error(fx, "name", json_string(name));
	expect_field_error(fx, "name", json_string("张"));
	v = expect_field_ok(fx, "name", json_string("张三"));
	json_decref(v);
	/* Leading and trailing blanks do not count. */
	v = expect_field_ok(fx, "name", json_string("\xE3\x80\x80张三\xE3\x80\x80"));
	assert_string_equal(json_string_value(v), "张三");
	json_decref(v);
	/* occupation: default-free max 50; 51 ASCII letters are too many. */
	char occ[60];
	memset(occ, 'w', 51);
	occ[51] = '\0';
	expect_field_error(fx, "occupation", json_string(occ));
	occ[50] = '\0';
	v = expect_field_ok(fx, "occupation", json_string(occ));
	json_decref(v);
}

static void test_control_characters(void **state)
{
	struct fx *fx = *state;
	expect_field_error(fx, "name", json_string("张\x01三"));
	expect_field_error(fx, "unit", json_string("云南\n某某公司"));
	expect_field_error(fx, "occupation", json_string("焊\x7f工"));
	expect_field_error(fx, "cert_issuer", json_string("鉴定\x1b[31m中心"));
	expect_field_error(fx, "position", json_string("班长\r组长"));
}

static void test_bank_account(void **state)
{
	struct fx *fx = *state;
	/* Optional: absent is fine (the valid form has none). */
	json_t *norm = validate_ok(fx);
	assert_null(json_object_get(norm, "bank_account"));
	json_decref(norm);
	json_t *v = expect_field_ok(fx, "bank_account", json_string("622202123456"));
	assert_string_equal(json_string_value(v), "622202123456");
	json_decref(v);
	v = expect_field_ok(fx, "bank_account", json_string("123456789012345678901234567890"));
	json_decref(v);
	v = expect_field_ok(fx, "bank_account", json_string(" 6222021234567890123 "));
	assert_string_equal(json_string_value(v), "6222021234567890123");
	json_decref(v);
	expect_field_error(fx, "bank_account", json_string("62220212345"));                     /* 11 */
	expect_field_error(fx, "bank_account", json_string("1234567890123456789012345678901")); /* 31 */
	expect_field_error(fx, "bank_account", json_string("6222O21234567890123"));             /* letter O */
	expect_field_error(fx, "bank_account", json_string("6222-0212-3456-7890"));
	expect_field_error(fx, "bank_account", json_integer(6222021234567890LL));
}

static void test_id_number_field(void **state)
{
	struct fx *fx = *state;
	expect_field_error(fx, "id_number", json_string("530102199001011232")); /* check */
	expect_field_error(fx, "id_number", json_string("530102202210181238")); /* after today */
	/* under 16 on the day (TY-TM-TD, 2022-10-17): not a worker; 16 that day is */
	char young[19], sixteen[19];
	memcpy(young, "53010220061018000", 17);
	memcpy(sixteen, "53010220061017000", 17);
	young[17] = idnum_check_char(young);
	sixteen[17] = idnum_check_char(sixteen);
	young[18] = sixteen[18] = '\0';
	expect_field_error(fx, "id_number", json_string(young));
	json_decref(expect_field_ok(fx, "id_number", json_string(sixteen)));
	expect_field_error(fx, "id_number", json_string("53010219900101123"));
	json_t *v = expect_field_ok(fx, "id_number", json_string(" 11010519491231002x "));
	assert_string_equal(json_string_value(v), "11010519491231002X");
	json_decref(v);
}

static void test_org_through_callback(void **state)
{
	struct fx *fx = *state;
	fx->orgs.calls = 0;
	expect_field_error(fx, "union", json_string("yn-nowhere"));
	assert_true(fx->orgs.calls >= 1);
	json_t *v = expect_field_ok(fx, "union", json_string("yn-km"));
	assert_string_equal(json_string_value(v), "yn-km");
	json_decref(v);
	/* Without a callback nothing can be confirmed. */
	json_t *norm = (json_t *)(uintptr_t)1;
	assert_int_equal(form_validate(fx->spec, fx->form, TY, TM, TD, NULL, NULL, &norm, fx->errors), TS_EINVAL);
	assert_null(norm);
	assert_true(has_error(fx->errors, "union"));
}

static void test_several_errors_at_once(void **state)
{
	struct fx *fx = *state;
	json_object_del(fx->form, "name");
	json_object_set_new(fx->form, "email", json_string("zhangsf@"));
	json_object_set_new(fx->form, "work_years", json_integer(99));
	json_object_set_new(fx->form, "cert_date", json_string("2022-13-01"));
	json_object_set_new(fx->form, "gender", json_string("未知"));
	json_object_set_new(fx->form, "hobby", json_string("唱歌"));
	json_object_set_new(fx->form, "bank_account", json_string("123"));
	/* An errors array that already holds something keeps it. */
	json_array_append_new(fx->errors, json_pack("{s:s,s:s}", "name", "earlier", "message", "x"));
	json_t *errors = validate_bad(fx);
	assert_int_equal(json_array_size(errors), 1 + 7);
	const char *keys[] = {"earlier", "name", "email", "work_years", "cert_date", "gender", "hobby",
			      "bank_account"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!has_error(errors, keys[i]))
			fail_msg("no error for %s", keys[i]);
}

static void test_not_an_object(void **state)
{
	struct fx *fx = *state;
	json_t *arr = json_array();
	json_t *norm = (json_t *)(uintptr_t)1;
	assert_int_equal(form_validate(fx->spec, arr, TY, TM, TD, org_exists, &fx->orgs, &norm, fx->errors),
			 TS_EINVAL);
	assert_null(norm);
	assert_true(has_error(fx->errors, "fields"));
	json_decref(arr);
}

static void test_utf8_length(void **state)
{
	(void)state;
	assert_int_equal(utf8_length(""), 0);
	assert_int_equal(utf8_length("abc"), 3);
	assert_int_equal(utf8_length("张三丰"), 3);
	assert_int_equal(utf8_length("\xE3\x80\x80"), 1);
	assert_int_equal(utf8_length("a云b"), 3);
	assert_int_equal(utf8_length("\xF0\x9F\x98\x80"), 1); /* an emoji outside the BMP */
	assert_int_equal(utf8_length("é"), 1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_valid_form_normalised),
		T(test_missing_required),
		T(test_required_fullwidth_blank),
		T(test_unknown_field),
		T(test_bad_email),
		T(test_bad_date),
		T(test_option_not_in_list),
		T(test_integer_range),
		T(test_wrong_json_type),
		T(test_text_length_in_characters),
		T(test_control_characters),
		T(test_bank_account),
		T(test_id_number_field),
		T(test_org_through_callback),
		T(test_several_errors_at_once),
		T(test_not_an_object),
		cmocka_unit_test(test_utf8_length),
	};
#undef T
	return cmocka_run_group_tests_name("validate", tests, NULL, NULL);
}
