/* tests/unit/test_mask.c — masked phones, ID numbers and bank accounts for publicity lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "domain/mask.h"

/* Every output is written into a guarded buffer: bytes past `n` must stay untouched. */
#define GUARD 0x5A

static void check_guard(const unsigned char *buf, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		assert_int_equal(buf[i], GUARD);
}

static void test_phone(void **state)
{
	(void)state;
	char out[32];
	mask_phone("13812341234", out, sizeof(out));
	assert_string_equal(out, "138****1234");
	mask_phone("13800138000", out, sizeof(out));
	assert_string_equal(out, "138****8000");
}

static void test_phone_short_fully_masked(void **state)
{
	(void)state;
	char out[32];
	mask_phone("1234567", out, sizeof(out)); /* 7 = head + tail */
	assert_string_equal(out, "*******");
	mask_phone("123", out, sizeof(out));
	assert_string_equal(out, "***");
	mask_phone("", out, sizeof(out));
	assert_string_equal(out, "");
}

/* mask.h: "Anything not 11 characters → all '*'." A 10- or 12-digit
 * string is not a phone number and must not be shown in part. */
static void test_phone_not_11_chars_fully_masked(void **state)
{
	(void)state;
	char out[32];
	mask_phone("1381234123", out, sizeof(out)); /* 10 */
	assert_string_equal(out, "**********");
	mask_phone("138123412345", out, sizeof(out)); /* 12 */
	assert_string_equal(out, "************");
	mask_phone("1381234123456789", out, sizeof(out)); /* 16 */
	assert_string_equal(out, "****************");
}

static void test_id(void **state)
{
	(void)state;
	char out[32];
	mask_id("53010219900101123X", out, sizeof(out));
	assert_string_equal(out, "53*************23X");
	mask_id("11010519491231002X", out, sizeof(out));
	assert_string_equal(out, "11*************02X");
	assert_int_equal(strlen(out), 18);
	/* No digit of the birth date survives. */
	assert_null(strstr(out, "1949"));
}

static void test_bank(void **state)
{
	(void)state;
	char out[40];
	mask_bank("6222021234567890123", out, sizeof(out));
	assert_string_equal(out, "6222***********0123");
	mask_bank("622202123456", out, sizeof(out)); /* 12 digits, the shortest account */
	assert_string_equal(out, "6222****3456");
}

static void test_short_inputs_fully_masked(void **state)
{
	(void)state;
	char out[32];
	mask_id("53010", out, sizeof(out)); /* exactly head + tail */
	assert_string_equal(out, "*****");
	mask_id("5301", out, sizeof(out));
	assert_string_equal(out, "****");
	mask_bank("62220212", out, sizeof(out));
	assert_string_equal(out, "********");
	mask_bank("6", out, sizeof(out));
	assert_string_equal(out, "*");
	mask_bank("", out, sizeof(out));
	assert_string_equal(out, "");
}

static void test_small_buffers(void **state)
{
	(void)state;
	unsigned char buf[64];

	/* n == 0: nothing written at all. */
	memset(buf, GUARD, sizeof(buf));
	mask_phone("13812341234", (char *)buf, 0);
	check_guard(buf, 0, sizeof(buf));

	/* n == 1: just the terminator. */
	memset(buf, GUARD, sizeof(buf));
	mask_id("53010219900101123X", (char *)buf, 1);
	assert_int_equal(buf[0], '\0');
	check_guard(buf, 1, sizeof(buf));

	/* Truncated outputs stay NUL-terminated inside n and never reveal a
	 * masked position. */
	for (size_t n = 2; n < 20; n++) {
		memset(buf, GUARD, sizeof(buf));
		mask_id("53010219900101123X", (char *)buf, n);
		assert_int_equal(strlen((char *)buf), n - 1 < 18 ? n - 1 : 18);
		check_guard(buf, n, sizeof(buf));
		for (size_t i = 2; i < n - 1 && i < 15; i++)
			assert_int_equal(buf[i], '*');

		memset(buf, GUARD, sizeof(buf));
		mask_bank("6222021234567890123", (char *)buf, n);
		assert_true(strlen((char *)buf) < n);
		check_guard(buf, n, sizeof(buf));
		for (size_t i = 4; i < n - 1 && i < 15; i++)
			assert_int_equal(buf[i], '*');

		memset(buf, GUARD, sizeof(buf));
		mask_phone("13812341234", (char *)buf, n);
		assert_true(strlen((char *)buf) < n);
		check_guard(buf, n, sizeof(buf));
		for (size_t i = 3; i < n - 1 && i < 7; i++)
			assert_int_equal(buf[i], '*');
	}
	/* Exactly enough room. */
	memset(buf, GUARD, sizeof(buf));
	mask_phone("13812341234", (char *)buf, 12);
	assert_string_equal((char *)buf, "138****1234");
	check_guard(buf, 12, sizeof(buf));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_phone),
		cmocka_unit_test(test_phone_short_fully_masked),
		cmocka_unit_test(test_phone_not_11_chars_fully_masked),
		cmocka_unit_test(test_id),
		cmocka_unit_test(test_bank),
		cmocka_unit_test(test_short_inputs_fully_masked),
		cmocka_unit_test(test_small_buffers),
	};
	return cmocka_run_group_tests_name("mask", tests, NULL, NULL);
}
