/* tests/unit/test_idnum.c — resident ID numbers (GB 11643-1999) and mobile numbers.
 *
 * Check characters are recomputed here from the standard's definition
 * (weights 2^(17-i) mod 11, "10X98765432") rather than from the table in
 * src/domain/idnum.c, so a wrong weight there would show.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "domain/idnum.h"

/* Today for every check: the day the 2022 Yunnan window opened. */
#define TY 2022
#define TM 10
#define TD 17

static char ref_check(const char *first17)
{
	int sum = 0;
	for (int i = 0; i < 17; i++) {
		int w = 1;
		for (int k = 0; k < 17 - i; k++)
			w = (w * 2) % 11;
		sum += (first17[i] - '0') * w;
	}
	return "10X98765432"[sum % 11];
}

/* Builds a full ID from area (6), birth (8) and sequence (3) with a correct check char. */
static void make_id(const char *area, const char *birth, const char *seq, char out[19])
{
	snprintf(out, 19, "%s%s%s", area, birth, seq);
	out[17] = ref_check(out);
	out[18] = '\0';
}

static void test_check_char_matches_standard(void **state)
{
	(void)state;
	static const char *const samples[] = {
		"11010519491231002", "44052418800101001", "53010219900101123", "53252719850615004",
		"65010220001231999", "81000019700101000", "99999999999999999", "00000000000000000",
	};
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
		assert_int_equal(idnum_check_char(samples[i]), ref_check(samples[i]));
	/* Well-known published samples. */
	assert_int_equal(idnum_check_char("11010519491231002"), 'X');
	assert_int_equal(idnum_check_char("44052418800101001"), '4');
	assert_int_equal(idnum_check_char("53010219900101123"), '1');
}

static void test_valid_ids(void **state)
{
	(void)state;
	char norm[19];
	memset(norm, 0, sizeof(norm));
	assert_int_equal(idnum_check("11010519491231002X", TY, TM, TD, norm), IDNUM_OK);
	assert_string_equal(norm, "11010519491231002X");
	assert_int_equal(idnum_check("530102199001011231", TY, TM, TD, norm), IDNUM_OK);
	assert_string_equal(norm, "530102199001011231");

	/* Generated ones: Kunming, Xishuangbanna, Hong Kong area code 81, leap day 2000. */
	char id[19];
	make_id("530102", "19851231", "457", id);
	assert_int_equal(idnum_check(id, TY, TM, TD, NULL), IDNUM_OK);
	make_id("532801", "20040307", "028", id);
	assert_int_equal(idnum_check(id, TY, TM, TD, NULL), IDNUM_OK);
	make_id("810000", "19700101", "001", id);
	assert_int_equal(idnum_check(id, TY, TM, TD, NULL), IDNUM_OK);
	make_id("110101", "20000229", "000", id);
	assert_int_equal(idnum_check(id, TY, TM, TD, NULL), IDNUM_OK);
	/* Born today is not in the future. */
	make_id("530102", "20221017", "111", id);
	assert_int_equal(idnum_check(id, TY, TM, TD, NULL), IDNUM_OK);
}

static void test_lower_case_x_normalised(void **state)
{
	(void)state;
	char norm[19] = "";
	assert_int_equal(idnum_check("11010519491231002x", TY, TM, TD, norm), IDNUM_OK);
	assert_string_equal(norm, "11010519491231002X");
	/* Without a norm buffer too. */
	assert_int_equal(idnum_check("11010519491231002x", TY, TM, TD, NULL), IDNUM_OK);
}

static void test_wrong_check_digit(void **state)
{
	(void)state;
	assert_int_equal(idnum_check("110105194912310020", TY, TM, TD, NULL), IDNUM_BAD_CHECK);
	assert_int_equal(idnum_check("110105194912310021", TY, TM, TD, NULL), IDNUM_BAD_CHECK);
	assert_int_equal(idnum_check("53010219900101123X", TY, TM, TD, NULL), IDNUM_BAD_CHECK);
	assert_int_equal(idnum_check("530102199001011232", TY, TM, TD, NULL), IDNUM_BAD_CHECK);
	/* A transposition of two digits changes the check. */
	assert_int_equal(idnum_check("530102199010011231", TY, TM, TD, NULL), IDNUM_BAD_CHECK);
}

static void test_bad_birth_dates(void **state)
{
	(void)state;
	char id[19];
	make_id("530102", "19900230", "123", id);
	assert_int_equal(idnum_check(id, TY, TM, TD, NULL), IDNUM_BAD_BIRTH);
	make_id("530102", "19901301", "123", id);
	assert_int_equal(idnum_check(id, TY, TM, TD, NULL), IDNUM_BAD_BIRTH);
	make_id("530102", "19900100", "123", id);
	assert_int_equal(idnum_check(id, TY, TM, TD, NULL), IDNUM_BAD_BIRTH);
	make_id("530102", "19000229", "123", id); /* 1900 is not a leap year */
	assert_int_equal(idnum_check(id, TY, TM, TD, NULL), IDNUM_BAD_BIRTH);
	make_id("530102", "20210229", "123", id);
	assert_int_equal(idnum_check(id, TY, TM, TD, NULL), IDNUM_BAD_BIRTH);
	/* Before 1900 is refused as documented, even with a correct check char
	 * (the classic sample 440524188001010014). */
	assert_int_equal(idnum_check("440524188001010014", TY, TM, TD, NULL), IDNUM_BAD_BIRTH);
}

static void test_future_birth(void **state)
{
	(void)state;
	char id[19];
	make_id("530102", "20221018", "123", id);
	assert_int_equal(idnum_check(id, TY, TM, TD, NULL), IDNUM_FUTURE_BIRTH);
	make_id("530102", "20300101", "123", id);
	assert_int_equal(idnum_check(id, TY, TM, TD, NULL), IDNUM_FUTURE_BIRTH);
	/* The same number is fine once that day has come. */
	make_id("530102", "20221018", "123", id);
	assert_int_equal(idnum_check(id, 2022, 10, 18, NULL), IDNUM_OK);
}

static void test_bad_area(void **state)
{
	(void)state;
	char id[19];
	make_id("000000", "19900101", "123", id);
	assert_int_equal(idnum_check(id, TY, TM, TD, NULL), IDNUM_BAD_AREA);
	make_id("990101", "19900101", "123", id);
	assert_int_equal(idnum_check(id, TY, TM, TD, NULL), IDNUM_BAD_AREA);
	make_id("100101", "19900101", "123", id);
	assert_int_equal(idnum_check(id, TY, TM, TD, NULL), IDNUM_BAD_AREA);
}

static void test_bad_length(void **state)
{
	(void)state;
	assert_int_equal(idnum_check("", TY, TM, TD, NULL), IDNUM_BAD_LENGTH);
	assert_int_equal(idnum_check("11010519491231002", TY, TM, TD, NULL), IDNUM_BAD_LENGTH);
	assert_int_equal(idnum_check("11010519491231002X1", TY, TM, TD, NULL), IDNUM_BAD_LENGTH);
	/* The old 15-digit format is not accepted. */
	assert_int_equal(idnum_check("110105491231002", TY, TM, TD, NULL), IDNUM_BAD_LENGTH);
}

static void test_bad_chars(void **state)
{
	(void)state;
	assert_int_equal(idnum_check("1101051949123100AX", TY, TM, TD, NULL), IDNUM_BAD_CHARS);
	assert_int_equal(idnum_check("X10105194912310021", TY, TM, TD, NULL), IDNUM_BAD_CHARS);
	assert_int_equal(idnum_check("11010519491231002Y", TY, TM, TD, NULL), IDNUM_BAD_CHARS);
	assert_int_equal(idnum_check("1101051949123100xX", TY, TM, TD, NULL), IDNUM_BAD_CHARS);
	assert_int_equal(idnum_check("11010519491231 02X", TY, TM, TD, NULL), IDNUM_BAD_CHARS);
	assert_int_equal(idnum_check("11010519491231-02X", TY, TM, TD, NULL), IDNUM_BAD_CHARS);
}

static void test_messages(void **state)
{
	(void)state;
	const enum idnum_result bad[] = {IDNUM_BAD_LENGTH, IDNUM_BAD_CHARS, IDNUM_BAD_AREA,
					 IDNUM_BAD_BIRTH, IDNUM_FUTURE_BIRTH, IDNUM_BAD_CHECK};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *m = idnum_result_message(bad[i]);
		assert_non_null(m);
		assert_true(strlen(m) > 0);
		assert_non_null(strstr(m, "身份证"));
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(m, idnum_result_message(bad[j]));
	}
}

static void test_birth_and_sex(void **state)
{
	(void)state;
	int y, m, d;
	idnum_birth("11010519491231002X", &y, &m, &d);
	assert_int_equal(y, 1949);
	assert_int_equal(m, 12);
	assert_int_equal(d, 31);
	assert_int_equal(idnum_sex("11010519491231002X"), 2); /* 17th digit 2: female */
	assert_int_equal(idnum_sex("530102199001011231"), 1); /* 17th digit 3: male */
}

static void test_phone(void **state)
{
	(void)state;
	assert_true(phone_valid("13800138000"));
	assert_true(phone_valid("19987654321"));
	assert_true(phone_valid("15012345678"));
	assert_false(phone_valid("12345678901")); /* second digit 2 */
	assert_false(phone_valid("11012345678"));
	assert_false(phone_valid("1380013800"));  /* 10 digits */
	assert_false(phone_valid("138001380001")); /* 12 digits */
	assert_false(phone_valid("23800138000"));
	assert_false(phone_valid("1380013800a"));
	assert_false(phone_valid("138 0013 800"));
	assert_false(phone_valid("+8613800138"));
	assert_false(phone_valid(""));
}

/* As people paste them: the same 11 digits, or refused. */
static void test_phone_normalize(void **state)
{
	(void)state;
	static const char *const same[] = {"13800138000", "138 0013 8000", "138-0013-8000", "+8613800138000",
					   "+86 138 0013 8000", "+86-13800138000", "008613800138000", "8613800138000",
					   " 13800138000 ", "86 138-0013-8000"};
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		char out[12] = "";
		assert_true(phone_normalize(same[i], out));
		assert_string_equal(out, "13800138000");
	}
	static const char *const bad[] = {"",
					  "1380013800",       /* 10 digits */
					  "138001380001",     /* 12 digits */
					  "12345678901",      /* not a mobile prefix */
					  "+13800138000",     /* + without 86 */
					  "+0086 13800138000", /* + and 00 */
					  "8612345678901",    /* 86 then not a mobile */
					  "86 1380013800",    /* 86 then 10 digits */
					  "138.0013.8000", "138\t00138000", "１３８００１３８０００", /* full-width digits */
					  "138+00138000", "++8613800138000", "13800138000x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char out[12] = "";
		assert_false(phone_normalize(bad[i], out));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_char_matches_standard),
		cmocka_unit_test(test_valid_ids),
		cmocka_unit_test(test_lower_case_x_normalised),
		cmocka_unit_test(test_wrong_check_digit),
		cmocka_unit_test(test_bad_birth_dates),
		cmocka_unit_test(test_future_birth),
		cmocka_unit_test(test_bad_area),
		cmocka_unit_test(test_bad_length),
		cmocka_unit_test(test_bad_chars),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_birth_and_sex),
		cmocka_unit_test(test_phone),
		cmocka_unit_test(test_phone_normalize),
	};
	return cmocka_run_group_tests_name("idnum", tests, NULL, NULL);
}
