/* tests/unit/test_buf.c — the owned, capped, always NUL-terminated buffer (core/buf.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"

static void test_init_ptr_never_null(void **state)
{
	(void)state;
	struct ts_buf b;
	ts_buf_init(&b, 0);
	assert_non_null(b.ptr);
	assert_string_equal(b.ptr, "");
	assert_int_equal(b.len, 0);
	assert_int_equal(b.max, TS_BUF_DEFAULT_MAX);
	ts_buf_reset(&b);
	assert_non_null(b.ptr);
	ts_buf_free(&b);
	assert_non_null(b.ptr);
	assert_string_equal(b.ptr, "");
	ts_buf_free(&b); /* twice is harmless */
	assert_int_equal(b.len, 0);
}

static void test_append_and_printf(void **state)
{
	(void)state;
	struct ts_buf b;
	ts_buf_init(&b, 0);
	assert_int_equal(ts_buf_append(&b, "abc", 3), 0);
	assert_int_equal(ts_buf_puts(&b, "云南"), 0);
	assert_int_equal(ts_buf_printf(&b, "-%d-%s-%05.1f", 42, "x", 3.14159), 0);
	assert_string_equal(b.ptr, "abc云南-42-x-003.1");
	assert_int_equal(b.len, strlen("abc云南-42-x-003.1"));
	/* Embedded NUL bytes are kept; the buffer stays terminated after them. */
	assert_int_equal(ts_buf_append(&b, "a\0b", 3), 0);
	assert_int_equal(b.len, strlen("abc云南-42-x-003.1") + 3);
	assert_memory_equal(b.ptr + b.len - 3, "a\0b", 3);
	assert_int_equal(b.ptr[b.len], '\0');
	/* Zero-length appends are no-ops that succeed. */
	size_t len = b.len;
	assert_int_equal(ts_buf_append(&b, "", 0), 0);
	assert_int_equal(ts_buf_printf(&b, "%s", ""), 0);
	assert_int_equal(b.len, len);
	ts_buf_free(&b);
}

static void test_growth_keeps_content(void **state)
{
	(void)state;
	struct ts_buf b;
	ts_buf_init(&b, 0);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(ts_buf_printf(&b, "%04d,", i % 10000), 0);
	assert_int_equal(b.len, 50000);
	assert_int_equal(strlen(b.ptr), 50000);
	assert_memory_equal(b.ptr, "0000,0001,", 10);
	assert_memory_equal(b.ptr + b.len - 5, "9999,", 5);
	ts_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.ptr, "");
	assert_int_equal(ts_buf_puts(&b, "again"), 0);
	assert_string_equal(b.ptr, "again");
	ts_buf_free(&b);
}

static void test_max_enforced(void **state)
{
	(void)state;
	struct ts_buf b;
	ts_buf_init(&b, 8);
	assert_int_equal(ts_buf_puts(&b, "12345"), 0);
	/* Would be 9 > 8: refused, and the buffer is unchanged. */
	assert_int_equal(ts_buf_puts(&b, "6789"), TS_ETOOBIG);
	assert_string_equal(b.ptr, "12345");
	assert_int_equal(b.len, 5);
	assert_int_equal(ts_buf_printf(&b, "%d", 6789), TS_ETOOBIG);
	assert_string_equal(b.ptr, "12345");
	assert_int_equal(b.len, 5);
	assert_int_equal(ts_buf_append(&b, "6789", 4), TS_ETOOBIG);
	assert_int_equal(b.len, 5);
	/* Exactly the maximum fits. */
	assert_int_equal(ts_buf_puts(&b, "678"), 0);
	assert_string_equal(b.ptr, "12345678");
	assert_int_equal(ts_buf_puts(&b, "9"), TS_ETOOBIG);
	assert_int_equal(ts_buf_append(&b, "", 0), 0);
	assert_string_equal(b.ptr, "12345678");
	/* A huge n must not wrap around the check. */
	assert_int_equal(ts_buf_append(&b, "x", SIZE_MAX), TS_ETOOBIG);
	assert_int_equal(ts_buf_append(&b, "x", SIZE_MAX - 3), TS_ETOOBIG);
	assert_string_equal(b.ptr, "12345678");
	ts_buf_free(&b);

	/* A first append over the cap leaves an empty, printable buffer. */
	ts_buf_init(&b, 3);
	assert_int_equal(ts_buf_puts(&b, "abcd"), TS_ETOOBIG);
	assert_non_null(b.ptr);
	assert_string_equal(b.ptr, "");
	assert_int_equal(b.len, 0);
	ts_buf_free(&b);
}

static void test_detach(void **state)
{
	(void)state;
	struct ts_buf b;
	ts_buf_init(&b, 0);
	assert_int_equal(ts_buf_puts(&b, "owned by the caller"), 0);
	size_t len = 0;
	char *p = ts_buf_detach(&b, &len);
	assert_string_equal(p, "owned by the caller");
	assert_int_equal(len, strlen("owned by the caller"));
	/* The buffer is empty and reusable afterwards. */
	assert_non_null(b.ptr);
	assert_string_equal(b.ptr, "");
	assert_int_equal(b.len, 0);
	assert_int_equal(ts_buf_puts(&b, "next"), 0);
	assert_string_equal(b.ptr, "next");
	assert_string_equal(p, "owned by the caller"); /* untouched by later use */
	free(p);
	ts_buf_free(&b);

	/* Detaching a never-used buffer still gives free()-able storage. */
	ts_buf_init(&b, 0);
	p = ts_buf_detach(&b, NULL);
	assert_non_null(p);
	assert_string_equal(p, "");
	free(p);
	ts_buf_free(&b);
}

static void test_str(void **state)
{
	(void)state;
	struct ts_str s = ts_str_from("abc");
	assert_int_equal(s.len, 3);
	assert_true(ts_str_eq(s, "abc"));
	assert_false(ts_str_eq(s, "ab"));
	assert_false(ts_str_eq(s, "abcd"));
	struct ts_str part = {"abcdef", 3}; /* not NUL-terminated at len */
	assert_true(ts_str_eq(part, "abc"));
	assert_false(ts_str_eq(part, "abcdef"));
	struct ts_str lit = TS_STR("云南");
	assert_int_equal(lit.len, 6);
	assert_true(ts_str_eq(lit, "云南"));
}

/* ts_str_from(NULL) gives the empty view {NULL, 0}; comparing it must be
 * defined behaviour (memcmp with a NULL pointer is not, even for 0 bytes:
 * UBSan reports it under SANITIZE=1). */
static void test_str_null_view(void **state)
{
	(void)state;
	struct ts_str none = ts_str_from(NULL);
	assert_null(none.ptr);
	assert_int_equal(none.len, 0);
	assert_true(ts_str_eq(none, ""));
	assert_false(ts_str_eq(none, "a"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_ptr_never_null),
		cmocka_unit_test(test_append_and_printf),
		cmocka_unit_test(test_growth_keeps_content),
		cmocka_unit_test(test_max_enforced),
		cmocka_unit_test(test_detach),
		cmocka_unit_test(test_str),
		cmocka_unit_test(test_str_null_view),
	};
	return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
