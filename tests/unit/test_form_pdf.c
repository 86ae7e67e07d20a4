/* tests/unit/test_form_pdf.c — the printable 申报表 (render/form_pdf.c).
 *
 * Renders a layout shaped like the 2022 Yunnan skill-subsidy form and checks
 * the bytes are a PDF whose CJK text is real, extractable text (pdftotext,
 * when installed). Set TS_FORM_PDF_KEEP=/path/file.pdf to keep the sample.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/error.h"
#include "render/form_pdf.h"

/* LeakSanitizer (SANITIZE=1) reads this hook. Two leaks are not ours:
 * - cairo 1.16 loses 768 bytes per embedded CFF font in each PDF it
 *   finishes (inside cairo_surface_finish; fixed in later cairo), and
 * - fontconfig's configuration and the pattern cache behind the main
 *   thread's default pango font map stay allocated until exit by design.
 * Our own objects (layouts, contexts, surfaces, buffers) are allocated
 * outside those frames, so a leak of them is still reported. */
const char *__lsan_default_suppressions(void);
__attribute__((used)) const char *__lsan_default_suppressions(void)
{
	return "leak:cairo_surface_finish\nleak:libfontconfig.so\n";
}

/* cairo and fontconfig are built without frame pointers: the slow unwinder
 * is needed for the frames named above to appear in leak stacks. */
const char *__asan_default_options(void);
__attribute__((used)) const char *__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}

#define TITLE_1 "云南省企业职工（农民工、新就业形态劳动者）"
#define TITLE_2 "技能等级晋升补助申报表"

static const char sample_layout[] =
	"{\"title\": \"" TITLE_1 TITLE_2 "\","
	" \"columns\": 8,"
	" \"rows\": ["
	"  {\"cells\": [{\"label\": \"姓名\"}, {\"field\": \"name\"}, {\"label\": \"性别\"},"
	"   {\"field\": \"gender\"}, {\"label\": \"民族\"}, {\"field\": \"ethnicity\"},"
	"   {\"label\": \"手机号码\"}, {\"field\": \"phone\"}]},"
	"  {\"cells\": [{\"label\": \"政治面貌\"}, {\"field\": \"politics\"}, {\"label\": \"学历\"},"
	"   {\"field\": \"education\"}, {\"label\": \"工作单位职务\"},"
	"   {\"fields\": [\"unit\", \"position\"], \"sep\": \" \", \"span\": 3}]},"
	"  {\"cells\": [{\"label\": \"身份证号\"}, {\"field\": \"id_number\", \"span\": 3},"
	"   {\"label\": \"电子邮箱\"}, {\"field\": \"email\", \"span\": 3}]},"
	"  {\"cells\": [{\"label\": \"单位地址\"}, {\"field\": \"unit_address\", \"span\": 3},"
	"   {\"label\": \"工作年限\"}, {\"field\": \"work_years\", \"span\": 3}]},"
	"  {\"cells\": [{\"label\": \"个人开户银行支行\", \"span\": 2}, {\"blank\": true, \"span\": 2},"
	"   {\"label\": \"银行账号\"}, {\"blank\": true, \"span\": 3}]},"
	"  {\"cells\": [{\"label\": \"职业名称种类\", \"span\": 2},"
	"   {\"field\": \"occupation_kind\", \"span\": 2},"
	"   {\"label\": \"原有最高技能等级\", \"span\": 2}, {\"field\": \"prev_level\", \"span\": 2}]},"
	"  {\"cells\": [{\"label\": \"职业（工种）\", \"span\": 2}, {\"field\": \"occupation\", \"span\": 2},"
	"   {\"label\": \"现晋升技能等级\", \"span\": 2}, {\"field\": \"category_level\", \"span\": 2}]},"
	"  {\"cells\": [{\"label\": \"技能等级证书编号\", \"span\": 2}, {\"field\": \"cert_no\", \"span\": 2},"
	"   {\"label\": \"发证日期\", \"span\": 2}, {\"field\": \"cert_date\", \"span\": 2}]},"
	"  {\"cells\": [{\"label\": \"发证机构\", \"span\": 2}, {\"field\": \"cert_issuer\", \"span\": 6}]},"
	"  {\"height\": 2, \"cells\": [{\"label\": \"参加培训机构、时间、地点\", \"span\": 2},"
	"   {\"blank\": true, \"span\": 6}]},"
	"  {\"height\": 3, \"cells\": [{\"label\": \"附件材料目录\", \"span\": 2},"
	"   {\"text\": \"1. 职业技能等级证书复印件及网络查询结果；\\n2. 身份证复印件（正反面）。\","
	"    \"span\": 6}]},"
	"  {\"height\": 5, \"cells\": [{\"label\": \"所在单位（工会）初审意见\", \"span\": 2},"
	"   {\"sign\": true, \"span\": 6}]},"
	"  {\"height\": 5, \"cells\": [{\"label\": \"县（市、区）总工会审核意见\", \"span\": 2},"
	"   {\"sign\": true, \"span\": 6}]},"
	"  {\"height\": 5, \"cells\": [{\"label\": \"州（市）总工会、省级产业系统公司工会复核意见\","
	"   \"span\": 2}, {\"sign\": true, \"span\": 6}]}"
	" ],"
	" \"footer\": \"注：A4双面打印，于2022年10月26日前递交所在单位工会。\"}";

static const char sample_values[] =
	"{\"name\": \"张三丰\", \"gender\": \"男\", \"ethnicity\": \"彝族\","
	" \"phone\": \"13987654321\", \"politics\": \"中共党员\", \"education\": \"大专\","
	" \"unit\": \"云南某某机械制造有限公司\", \"position\": \"焊工班班长\","
	" \"id_number\": \"530102199001011234\", \"email\": \"zhangsf@example.com\","
	" \"unit_address\": \"云南省昆明市官渡区春城路 100 号\", \"work_years\": 11,"
	" \"occupation_kind\": \"生产制造类\", \"prev_level\": \"高级工（三级）\","
	" \"occupation\": \"焊工\", \"category_level\": \"高级技师（一级）\","
	" \"cert_no\": \"S000053010000221000123\", \"cert_date\": \"2022-03-01\","
	" \"cert_issuer\": \"云南省职业技能鉴定中心\", \"rank\": 128,"
	" \"submitted_at\": \"2022-10-12 15:23\","
	" \"receipt\": \"9f2c4a7be0d15a3c8e6b2d4f7a901c3e5b8d0f2a4c6e8b1d3f5a7c9e0b2d4f6a\"}";

static json_t *parse(const char *s)
{
	json_error_t je;
	json_t *j = json_loads(s, JSON_ALLOW_NUL | JSON_DECODE_ANY, &je);
	if (!j)
		fail_msg("bad test JSON at %d: %s", je.position, je.text);
	return j;
}

static void assert_pdf(const struct ts_buf *b)
{
	assert_true(b->len > 1000);
	assert_memory_equal(b->ptr, "%PDF-", 5);
	size_t n = b->len;
	while (n > 0 && (b->ptr[n - 1] == '\n' || b->ptr[n - 1] == '\r'))
		n--;
	assert_true(n >= 5);
	assert_memory_equal(b->ptr + n - 5, "%%EOF", 5);
}

/* Pages in a cairo PDF: "/Type /Page" objects, not the "/Type /Pages" tree. */
static int pdf_pages(const struct ts_buf *b)
{
	int n = 0;
	for (const char *p = b->ptr; (p = memmem(p, b->len - (size_t)(p - b->ptr), "/Type /Page", 11));
	     p += 11)
		n += p[11] != 's';
	return n;
}

/* Writes b to a new temporary file (or to $TS_FORM_PDF_KEEP when keep) and
 * puts its name in path. */
static void write_temp(const struct ts_buf *b, bool keep_it, char *path, size_t cap)
{
	const char *keep = keep_it ? getenv("TS_FORM_PDF_KEEP") : NULL;
	FILE *fp;
	if (keep && *keep) {
		snprintf(path, cap, "%s", keep);
		fp = fopen(path, "wb");
	} else {
		snprintf(path, cap, "/tmp/ts_form_pdf_XXXXXX");
		int fd = mkstemp(path);
		assert_true(fd >= 0);
		fp = fdopen(fd, "wb");
	}
	assert_non_null(fp);
	assert_int_equal(fwrite(b->ptr, 1, b->len, fp), b->len);
	assert_int_equal(fclose(fp), 0);
}

/* Runs `cmd 'path' tail` and returns its stdout (caller frees). */
static char *run_tool(const char *cmd, const char *path, const char *tail)
{
	char line[512];
	struct ts_buf out;
	ts_buf_init(&out, 0);
	snprintf(line, sizeof(line), "%s '%s' %s 2>/dev/null", cmd, path, tail);
	FILE *p = popen(line, "r");
	assert_non_null(p);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		assert_int_equal(ts_buf_append(&out, chunk, n), 0);
	assert_int_equal(pclose(p), 0);
	return ts_buf_detach(&out, NULL);
}

static int render_strings(const char *layout, const char *values, struct ts_buf *out,
			  struct ts_error *err)
{
	json_t *p = parse(layout);
	json_t *v = values ? parse(values) : NULL;
	int rc = render_form_pdf(p, v, out, err);
	json_decref(p);
	json_decref(v);
	return rc;
}

static void test_sample_form(void **state)
{
	struct ts_buf out;
	struct ts_error err = {0};
	char path[512];

	ts_buf_init(&out, 0);
	assert_int_equal(render_strings(sample_layout, sample_values, &out, &err), 0);
	assert_pdf(&out);
	assert_int_equal(pdf_pages(&out), 2); /* the three opinion boxes go overleaf */
	write_temp(&out, true, path, sizeof(path));

	if (access("/usr/bin/pdftotext", X_OK) != 0) {
		print_message("pdftotext missing: text extraction not checked\n");
	} else {
		char *text = run_tool("/usr/bin/pdftotext -enc UTF-8", path, "-");
		const char *want[] = {TITLE_1, TITLE_2, "姓名", "张三丰", "手机号码", "13987654321",
				      "云南某某机械制造有限公司 焊工班班长", "高级技师（一级）",
				      "申报序号：128", "2022-10-12 15:23", "回执码：9f2c4a7be0d15a3c",
				      "盖章：", "注：A4双面打印"};
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
			if (!strstr(text, want[i]))
				fail_msg("pdftotext output lacks \"%s\":\n%s", want[i], text);
		free(text);
	}
	if (access("/usr/bin/pdffonts", X_OK) == 0) {
		char *fonts = run_tool("/usr/bin/pdffonts", path, "");
		assert_non_null(strstr(fonts, "NotoSerifCJK"));
		/* columns: name type encoding emb sub uni; every font embedded */
		assert_null(strstr(fonts, " no  "));
		free(fonts);
	}
	if (!getenv("TS_FORM_PDF_KEEP"))
		unlink(path);
	ts_buf_free(&out);
}

static void test_values_absent_or_numbers(void **state)
{
	struct ts_buf out;
	struct ts_error err = {0};
	ts_buf_init(&out, 0);
	assert_int_equal(render_strings(sample_layout, NULL, &out, &err), 0);
	assert_pdf(&out);
	ts_buf_reset(&out);
	assert_int_equal(render_strings(sample_layout, "null", &out, &err), 0);
	assert_pdf(&out);
	ts_buf_reset(&out);
	assert_int_equal(render_strings(sample_layout, "{\"name\": 42, \"work_years\": 2.5}", &out, &err),
			 0);
	assert_pdf(&out);
	ts_buf_free(&out);
}

static void test_appends_to_existing(void **state)
{
	struct ts_buf out;
	struct ts_error err = {0};
	ts_buf_init(&out, 0);
	assert_int_equal(ts_buf_puts(&out, "X"), 0);
	assert_int_equal(render_strings(sample_layout, sample_values, &out, &err), 0);
	assert_memory_equal(out.ptr, "X%PDF-", 6);
	ts_buf_free(&out);
}

static const char *const bad_layouts[] = {
	"[]",
	"\"print\"",
	"{\"columns\": 2}",
	"{\"columns\": 2, \"rows\": {}}",
	"{\"columns\": 2, \"rows\": []}",
	"{\"rows\": [{\"cells\": [{\"label\": \"a\"}]}]}",
	"{\"columns\": 0, \"rows\": [{\"cells\": [{\"label\": \"a\"}]}]}",
	"{\"columns\": \"2\", \"rows\": [{\"cells\": [{\"label\": \"a\"}]}]}",
	"{\"columns\": 1000, \"rows\": [{\"cells\": [{\"label\": \"a\"}]}]}",
	"{\"columns\": 1, \"rows\": [7]}",
	"{\"columns\": 1, \"rows\": [{}]}",
	"{\"columns\": 1, \"rows\": [{\"cells\": []}]}",
	"{\"columns\": 1, \"rows\": [{\"cells\": [\"姓名\"]}]}",
	"{\"columns\": 1, \"rows\": [{\"cells\": [{}]}]}",
	"{\"columns\": 1, \"rows\": [{\"cells\": [{\"lable\": \"姓名\"}]}]}",
	"{\"columns\": 1, \"rows\": [{\"cells\": [{\"label\": \"a\", \"field\": \"b\"}]}]}",
	"{\"columns\": 1, \"rows\": [{\"cells\": [{\"label\": 3}]}]}",
	"{\"columns\": 1, \"rows\": [{\"cells\": [{\"field\": \"Name\"}]}]}",
	"{\"columns\": 1, \"rows\": [{\"cells\": [{\"field\": \"\"}]}]}",
	"{\"columns\": 1, \"rows\": [{\"cells\": [{\"fields\": []}]}]}",
	"{\"columns\": 1, \"rows\": [{\"cells\": [{\"fields\": [\"a\", 1]}]}]}",
	"{\"columns\": 1, \"rows\": [{\"cells\": [{\"fields\": [\"a\"], \"sep\": 1}]}]}",
	"{\"columns\": 1, \"rows\": [{\"cells\": [{\"sign\": false}]}]}",
	"{\"columns\": 1, \"rows\": [{\"cells\": [{\"blank\": 1}]}]}",
	"{\"columns\": 2, \"rows\": [{\"cells\": [{\"label\": \"a\"}]}]}",
	"{\"columns\": 2, \"rows\": [{\"cells\": [{\"label\": \"a\", \"span\": 3}]}]}",
	"{\"columns\": 2, \"rows\": [{\"cells\": [{\"label\": \"a\", \"span\": 0}, {\"blank\": true}]}]}",
	"{\"columns\": 1, \"rows\": [{\"height\": 0, \"cells\": [{\"label\": \"a\"}]}]}",
	"{\"columns\": 1, \"rows\": [{\"height\": 1000, \"cells\": [{\"label\": \"a\"}]}]}",
	"{\"columns\": 1, \"rows\": [{\"height\": \"2\", \"cells\": [{\"label\": \"a\"}]}]}",
	"{\"columns\": 1, \"title\": 5, \"rows\": [{\"cells\": [{\"label\": \"a\"}]}]}",
	"{\"columns\": 1, \"footer\": [], \"rows\": [{\"cells\": [{\"label\": \"a\"}]}]}",
};

static void test_bad_layouts(void **state)
{
	for (size_t i = 0; i < sizeof(bad_layouts) / sizeof(bad_layouts[0]); i++) {
		struct ts_buf out;
		struct ts_error err = {0};
		ts_buf_init(&out, 0);
		int rc = render_strings(bad_layouts[i], sample_values, &out, &err);
		if (rc != TS_EINVAL)
			fail_msg("layout %zu (%s): rc %d, want TS_EINVAL", i, bad_layouts[i], rc);
		assert_string_equal(err.code, "invalid_layout");
		assert_int_equal(err.status, TS_EINVAL);
		assert_true(strlen(err.message) > 0);
		assert_int_equal(out.len, 0);
		ts_buf_free(&out);
	}
}

static void test_null_print(void **state)
{
	struct ts_buf out;
	struct ts_error err = {0};
	ts_buf_init(&out, 0);
	assert_int_equal(ts_buf_puts(&out, "keep"), 0);
	assert_int_equal(render_form_pdf(NULL, NULL, &out, &err), TS_EINVAL);
	assert_string_equal(err.code, "invalid_layout");
	assert_string_equal(out.ptr, "keep"); /* no partial file appended */
	ts_buf_free(&out);
}

static void test_bad_values(void **state)
{
	static const char *const bad[] = {"[]", "\"x\"", "{\"name\": true}", "{\"name\": {}}",
					  "{\"unit\": [1]}", "{\"rank\": false}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ts_buf out;
		struct ts_error err = {0};
		ts_buf_init(&out, 0);
		assert_int_equal(render_strings(sample_layout, bad[i], &out, &err), TS_EINVAL);
		assert_string_equal(err.code, "invalid_values");
		assert_int_equal(out.len, 0);
		ts_buf_free(&out);
	}
}

/* User text is plain text: markup is printed as written, control characters
 * and embedded NULs do not break the layout. */
static void test_plain_text(void **state)
{
	struct ts_buf out;
	struct ts_error err = {0};
	char path[512];
	ts_buf_init(&out, 0);
	assert_int_equal(render_strings(sample_layout,
					"{\"unit\": \"<b>王&amp;五</b>\", \"name\": \"甲\\u0000乙\\t丙\\r\\n丁\"}",
					&out, &err),
			 0);
	assert_pdf(&out);
	if (access("/usr/bin/pdftotext", X_OK) == 0) {
		write_temp(&out, false, path, sizeof(path));
		char *text = run_tool("/usr/bin/pdftotext -enc UTF-8", path, "-");
		assert_non_null(strstr(text, "<b>王&amp;五</b>"));
		free(text);
		unlink(path);
	}
	ts_buf_free(&out);
}

/* A long value makes its row taller rather than running out of the box. */
static void test_long_text_grows_row(void **state)
{
	const char *layout = "{\"title\": \"长文本\", \"columns\": 4, \"rows\": ["
			     "{\"cells\": [{\"label\": \"说明\"}, {\"field\": \"note\", \"span\": 3}]},"
			     "{\"cells\": [{\"label\": \"窄格\"}, {\"field\": \"narrow\"},"
			     " {\"label\": \"其他\"}, {\"blank\": true}]}]}";
	struct ts_buf note, values, out;
	struct ts_error err = {0};
	char path[512];

	ts_buf_init(&note, 0);
	for (int i = 0; i < 60; i++)
		assert_int_equal(ts_buf_printf(&note, "第%d句职工技能提升补助说明文字。", i + 1), 0);
	ts_buf_init(&values, 0);
	assert_int_equal(ts_buf_printf(&values, "{\"note\": \"%sENDMARK\", \"narrow\": \"%sNARROWEND\"}",
				       note.ptr, note.ptr),
			 0);
	ts_buf_init(&out, 0);
	assert_int_equal(render_strings(layout, values.ptr, &out, &err), 0);
	assert_pdf(&out);
	assert_true(pdf_pages(&out) >= 2);
	if (access("/usr/bin/pdftotext", X_OK) == 0) {
		write_temp(&out, false, path, sizeof(path));
		char *text = run_tool("/usr/bin/pdftotext -enc UTF-8", path, "-");
		assert_non_null(strstr(text, "第60句"));
		assert_non_null(strstr(text, "ENDMARK"));
		assert_non_null(strstr(text, "NARROWEN")); /* may wrap before the last letter */
		free(text);
		unlink(path);
	}
	ts_buf_free(&note);
	ts_buf_free(&values);
	ts_buf_free(&out);
}

/* Text that cannot fit a page even in small type is refused, not clipped. */
static void test_overflow_refused(void **state)
{
	const char *layout = "{\"columns\": 24, \"rows\": [{\"cells\": [{\"field\": \"note\"},"
			     " {\"blank\": true, \"span\": 23}]}]}";
	struct ts_buf values, out;
	struct ts_error err = {0};

	ts_buf_init(&values, 0);
	assert_int_equal(ts_buf_puts(&values, "{\"note\": \""), 0);
	for (int i = 0; i < 3000; i++)
		assert_int_equal(ts_buf_puts(&values, "字"), 0);
	assert_int_equal(ts_buf_puts(&values, "\"}"), 0);
	ts_buf_init(&out, 0);
	assert_int_equal(render_strings(layout, values.ptr, &out, &err), TS_EINVAL);
	assert_string_equal(err.code, "print_overflow");
	assert_int_equal(out.len, 0);
	ts_buf_free(&values);
	ts_buf_free(&out);
}

static void test_output_cap(void **state)
{
	struct ts_buf out;
	struct ts_error err = {0};
	ts_buf_init(&out, 2000);
	assert_int_equal(render_strings(sample_layout, sample_values, &out, &err), TS_ETOOBIG);
	assert_int_equal(out.len, 0);
	ts_buf_free(&out);
}

struct worker {
	const json_t *print, *values;
	int failures;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < 3; i++) {
		struct ts_buf out;
		struct ts_error err = {0};
		ts_buf_init(&out, 0);
		if (render_form_pdf(w->print, w->values, &out, &err) != 0 || out.len < 1000 ||
		    memcmp(out.ptr, "%PDF-", 5) != 0)
			w->failures++;
		ts_buf_free(&out);
	}
	return NULL;
}

/* Several HTTP workers render at once. */
static void test_concurrent(void **state)
{
	enum { N = 4 };
	json_t *p = parse(sample_layout), *v = parse(sample_values);
	pthread_t th[N];
	struct worker w[N];
	for (int i = 0; i < N; i++) {
		w[i] = (struct worker){p, v, 0};
		assert_int_equal(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}
	json_decref(p);
	json_decref(v);
}

int main(int argc, char **argv)
{
	/* GLib's slice allocator would hide a leaked layout or context from
	 * LeakSanitizer; plain malloc lets it see them. GLib reads G_SLICE
	 * before main, hence the re-exec. */
	if (argc > 0 && !getenv("G_SLICE")) {
		setenv("G_SLICE", "always-malloc", 1);
		execv("/proc/self/exe", argv);
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_form),
		cmocka_unit_test(test_values_absent_or_numbers),
		cmocka_unit_test(test_appends_to_existing),
		cmocka_unit_test(test_bad_layouts),
		cmocka_unit_test(test_null_print),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_plain_text),
		cmocka_unit_test(test_long_text_grows_row),
		cmocka_unit_test(test_overflow_refused),
		cmocka_unit_test(test_output_cap),
		cmocka_unit_test(test_concurrent),
	};
	return cmocka_run_group_tests_name("form_pdf", tests, NULL, NULL);
}
