/* tests/unit/test_body.c — the submission body parser (api/body.c) and the
 * JSON writer of the stored fields: what is accepted, what is refused with
 * which message, and that written text reads back as it was. The parser's
 * agreement with jansson over arbitrary input is fuzzed (tests/fuzz/fuzz_form.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "api/body.h"
#include "core/buf.h"
#include "core/error.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int parse(const char *text, size_t n, struct submit_body *b, char *msg)
{
	return submit_body_parse(text, n, b, msg, 200);
}

#define PARSE(lit, b, msg) parse((lit), sizeof(lit) - 1, (b), (msg))

static void test_reads_a_submission(void **state)
{
	(void)state;
	struct submit_body b;
	char msg[200];
	assert_int_equal(PARSE("{\"program\":\"yn2022-skill\",\"category\":\"technician\",\"fields\":"
			       "{\"name\":\"张三\",\"years\":12,\"remark\":null,\"flag\":true,\"x\":[1,{\"y\":2}],"
			       "\"esc\":\"\\u4e2d\\ud83d\\ude00\\\"\\\\\\/\\n\"}}",
			       &b, msg),
			 0);
	assert_string_equal(b.program, "yn2022-skill");
	assert_string_equal(b.category, "technician");
	assert_true(b.fields_object);
	assert_null(b.unknown_key);
	assert_int_equal(b.fields.n, 6);
	const struct form_value *v = b.fields.v;
	assert_string_equal(v[0].key, "name");
	assert_int_equal(v[0].kind, FORM_STRING);
	assert_string_equal(v[0].str, "张三");
	assert_int_equal(v[0].len, strlen("张三"));
	assert_int_equal(v[1].kind, FORM_INTEGER);
	assert_int_equal(v[1].num, 12);
	assert_int_equal(v[2].kind, FORM_NULL);
	assert_int_equal(v[3].kind, FORM_OTHER);
	assert_string_equal(v[4].key, "x");
	assert_int_equal(v[4].kind, FORM_OTHER);
	assert_string_equal(v[5].key, "esc");
	assert_string_equal(v[5].str, "中\xF0\x9F\x98\x80\"\\/\n");
	submit_body_free(&b);
}

static void test_shape_is_reported_not_refused(void **state)
{
	(void)state;
	struct submit_body b;
	char msg[200];
	/* the handler answers these with its own messages */
	assert_int_equal(PARSE("{\"program\":1,\"fields\":\"x\",\"extra\":{\"a\":{}},\"more\":2}", &b, msg), 0);
	assert_null(b.program);
	assert_null(b.category);
	assert_false(b.fields_object);
	assert_string_equal(b.unknown_key, "extra");
	submit_body_free(&b);
	/* repeated keys deeper than "fields" are not looked for */
	assert_int_equal(PARSE("{\"fields\":{\"a\":{\"k\":1,\"k\":2}}}", &b, msg), 0);
	assert_int_equal(b.fields.n, 1);
	assert_int_equal(b.fields.v[0].kind, FORM_OTHER);
	submit_body_free(&b);
}

static void refused(const char *text, size_t n, const char *want)
{
	struct submit_body b;
	char msg[200] = "";
	if (parse(text, n, &b, msg) != TS_EINVAL)
		fail_msg("accepted: %.*s", (int)n, text);
	if (!strstr(msg, want))
		fail_msg("%.*s: message \"%s\" lacks \"%s\"", (int)n, text, msg, want);
	assert_int_equal(b.fields.n, 0);
	assert_null(b.fields.arena);
}

#define REFUSED(lit, want) refused((lit), sizeof(lit) - 1, (want))

static void test_refuses_what_jansson_refuses(void **state)
{
	(void)state;
	REFUSED("", "请求内容为空");
	REFUSED("[]", "应为 JSON 对象");
	REFUSED("\"x\"", "应为 JSON 对象");
	REFUSED("1", "应为 JSON 对象");
	REFUSED("{", "第 1 行");
	REFUSED("{\"a\":1}\n{}", "第 2 行");
	REFUSED("{} x", "不是有效的 JSON");
	REFUSED("{}\"", "不是有效的 JSON");
	REFUSED("{/* c */}", "不是有效的 JSON");
	REFUSED("{\"a\":1,}", "不是有效的 JSON");
	REFUSED("{\"a\":\"\x01\"}", "不是有效的 JSON");
	REFUSED("{\f}", "控制字符");
	REFUSED("{\v}", "控制字符");
	REFUSED("{\"program\":\"a\",\"program\":\"b\"}", "\"program\" 重复");
	REFUSED("{\"fields\":{\"name\":\"a\",\"name\":\"b\"}}", "\"name\" 重复");
	REFUSED("{\"fields\":{\"name\":\"a\\u0000b\"}}", "\\u0000");
	REFUSED("{\"fields\":{\"a\\u0000\":1}}", "\\u0000");
	REFUSED("{\"fields\":{\"name\":\"\\ud800\"}}", "代理项");
	REFUSED("{\"fields\":{\"name\":\"\\udc00\\ud800\"}}", "代理项");
	REFUSED("{\"fields\":{\"name\":\"\\ud800\\u0041\"}}", "代理项");
	REFUSED("{\"fields\":{\"name\":\"\xC0\x80\"}}", "UTF-8");       /* overlong NUL */
	REFUSED("{\"fields\":{\"name\":\"\xED\xA0\x80\"}}", "UTF-8");   /* a surrogate, raw */
	REFUSED("{\"fields\":{\"name\":\"\xFF\"}}", "不是有效的 JSON");
	REFUSED("{\"fields\":{\"n\":99999999999999999999}}", "不是有效的 JSON");
	REFUSED("{\"a\":1\0}", "不是有效的 JSON");
	char deep[200];
	memset(deep, '[', sizeof(deep));
	deep[0] = '{';
	deep[1] = '"';
	deep[2] = 'a';
	deep[3] = '"';
	deep[4] = ':';
	refused(deep, sizeof(deep), "嵌套层数过多");
}

static void test_refuses_too_many_members(void **state)
{
	(void)state;
	struct ts_buf t;
	ts_buf_init(&t, 0);
	assert_int_equal(ts_buf_puts(&t, "{\"fields\":{"), 0);
	for (int i = 0; i < 201; i++)
		assert_int_equal(ts_buf_printf(&t, "%s\"f%d\":1", i ? "," : "", i), 0);
	assert_int_equal(ts_buf_puts(&t, "}}"), 0);
	refused(t.ptr, t.len, "字段过多");
	ts_buf_free(&t);
}

static void test_writes_json_that_reads_back(void **state)
{
	(void)state;
	struct json_out o;
	json_out_init(&o);
	json_out_map(&o, true);
	json_out_text(&o, "name");
	json_out_text(&o, "张\"三\\\n\x01/");
	json_out_text(&o, "years");
	json_out_int(&o, -42);
	json_out_map(&o, false);
	char *text;
	size_t n;
	assert_int_equal(json_out_finish(&o, &text, &n), 0);
	json_out_free(&o);
	json_error_t je;
	json_t *back = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
	assert_non_null(back);
	assert_string_equal(json_string_value(json_object_get(back, "name")), "张\"三\\\n\x01/");
	assert_int_equal(json_integer_value(json_object_get(back, "years")), -42);
	/* stored as UTF-8, not as \u escapes */
	assert_non_null(strstr(text, "张"));
	json_decref(back);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_a_submission),
		cmocka_unit_test(test_shape_is_reported_not_refused),
		cmocka_unit_test(test_refuses_what_jansson_refuses),
		cmocka_unit_test(test_refuses_too_many_members),
		cmocka_unit_test(test_writes_json_that_reads_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
