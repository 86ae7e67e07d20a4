/* tests/unit/test_time.c — ISO-8601 parsing/formatting in UTC µs, dates, Shanghai local dates.
 *
 * Expected epoch values were computed independently (Python's datetime):
 * 2022-10-17T00:00:00Z = 1665964800, 2022-10-23T16:00:00Z = 1666540800.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/time.h"

#define S(x) ((int64_t)(x) * TS_US_PER_SEC)
#define OPEN_2022 S(1665964800)  /* 2022-10-17T08:00:00+08:00 */
#define CLOSE_2022 S(1666540800) /* 2022-10-24T00:00:00+08:00 */

static int64_t parse_ok(const char *s, int64_t now)
{
	int64_t v = INT64_MIN;
	int rc = ts_time_parse(s, now, &v);
	if (rc != 0)
		fail_msg("ts_time_parse(\"%s\") = %d, expected success", s, rc);
	return v;
}

static void parse_bad(const char *s)
{
	int64_t v = 12345;
	int rc = ts_time_parse(s, 0, &v);
	if (rc != TS_EINVAL)
		fail_msg("ts_time_parse(\"%s\") = %d, expected TS_EINVAL", s ? s : "(null)", rc);
	assert_int_equal(v, 12345); /* untouched */
}

static void test_parse_offsets(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2022-10-17T08:00:00+08:00", 0), OPEN_2022);
	assert_int_equal(parse_ok("2022-10-17T00:00:00Z", 0), OPEN_2022);
	assert_int_equal(parse_ok("2022-10-17T00:00:00+00:00", 0), OPEN_2022);
	assert_int_equal(parse_ok("2022-10-16T19:00:00-05:00", 0), OPEN_2022);
	assert_int_equal(parse_ok("2022-10-17T05:30:00+05:30", 0), OPEN_2022);
	assert_int_equal(parse_ok("1970-01-01T00:00:00Z", 0), 0);
	assert_int_equal(parse_ok("1970-01-01T08:00:00+08:00", 0), 0);
	assert_int_equal(parse_ok("2000-02-29T00:00:00Z", 0), S(951782400));
	assert_int_equal(parse_ok("2024-02-29T20:34:56+08:00", 0), S(1709210096));
}

static void test_parse_fraction(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2022-10-17T00:00:00.5Z", 0), OPEN_2022 + 500000);
	assert_int_equal(parse_ok("2022-10-17T08:00:00.123456+08:00", 0), OPEN_2022 + 123456);
	assert_int_equal(parse_ok("2022-10-17T08:00:00.000001+08:00", 0), OPEN_2022 + 1);
	/* Beyond microseconds the digits are dropped, not rounded into an error. */
	assert_int_equal(parse_ok("2022-10-17T08:00:00.1234569+08:00", 0), OPEN_2022 + 123456);
	parse_bad("2022-10-17T08:00:00.+08:00");
	parse_bad("2022-10-17T08:00:00.Z");
}

static void test_parse_now(void **state)
{
	(void)state;
	const int64_t now = OPEN_2022 + 777;
	assert_int_equal(parse_ok("now", now), now);
	assert_int_equal(parse_ok("now+30s", now), now + S(30));
	assert_int_equal(parse_ok("now-5s", now), now - S(5));
	assert_int_equal(parse_ok("now+0s", now), now);
	parse_bad("now+");
	parse_bad("now-s");
	parse_bad("now+5m");
	parse_bad("now+5sx");
	parse_bad("nowish");
	parse_bad("now 5s");
	parse_bad("now+99999999999999999999s");
}

static void test_parse_rejects(void **state)
{
	(void)state;
	parse_bad(NULL);
	parse_bad("");
	parse_bad("garbage");
	parse_bad("2022-02-30T08:00:00+08:00");
	parse_bad("2022-13-01T08:00:00+08:00");
	parse_bad("2021-02-29T08:00:00+08:00");
	parse_bad("2022-10-17T08:00:00");       /* no offset */
	parse_bad("2022-10-17");                /* a date is not an instant */
	parse_bad("2022-10-17T08:00:00+0800");  /* offset without colon */
	parse_bad("2022-10-17T08:00:00+08");
	parse_bad("2022-10-17T08:00:00+08:00x");
	parse_bad("2022-10-17T08:00:00Zx");
	parse_bad("2022-10-17T25:00:00+08:00");
	parse_bad("2022-10-17T08:60:00+08:00");
	parse_bad("2022-10-17T08:00:61+08:00");
	parse_bad("2022-10-17T24:00:01+08:00");
	parse_bad("2022-10-17T24:01:00+08:00");
	parse_bad("2022/10/17T08:00:00+08:00");
	parse_bad("2022-1-17T08:00:00+08:00Z");
	parse_bad("2022-10-17T8:00:00+08:00");
	parse_bad("2022-10-17T08:00:00+99:00");
	parse_bad("2022-10-17T08:00:00+08:60");
	parse_bad("２０２２-10-17T08:00:00+08:00");
}

static void test_parse_24h(void **state)
{
	(void)state;
	/* The notice's "10月23日24:00" is 10-24 00:00 local. */
	assert_int_equal(parse_ok("2022-10-23T24:00:00+08:00", 0), CLOSE_2022);
	assert_int_equal(parse_ok("2022-10-24T00:00:00+08:00", 0), CLOSE_2022);
	/* Across a month, a year and a leap day. */
	assert_int_equal(parse_ok("2022-10-31T24:00:00+08:00", 0), parse_ok("2022-11-01T00:00:00+08:00", 0));
	assert_int_equal(parse_ok("2022-12-31T24:00:00Z", 0), parse_ok("2023-01-01T00:00:00Z", 0));
	assert_int_equal(parse_ok("2024-02-28T24:00:00Z", 0), parse_ok("2024-02-29T00:00:00Z", 0));
	assert_int_equal(parse_ok("2024-02-29T24:00:00Z", 0), parse_ok("2024-03-01T00:00:00Z", 0));
}

static void test_format(void **state)
{
	(void)state;
	char out[40];
	ts_time_format(OPEN_2022, out, sizeof(out));
	assert_string_equal(out, "2022-10-17T08:00:00+08:00");
	ts_time_format(CLOSE_2022 - 1, out, sizeof(out));
	assert_string_equal(out, "2022-10-23T23:59:59+08:00");
	ts_time_format(CLOSE_2022, out, sizeof(out));
	assert_string_equal(out, "2022-10-24T00:00:00+08:00");
	ts_time_format(0, out, sizeof(out));
	assert_string_equal(out, "1970-01-01T08:00:00+08:00");
	ts_time_format(-1, out, sizeof(out));
	assert_string_equal(out, "1970-01-01T07:59:59+08:00");
	ts_time_format(S(-28800) - 1, out, sizeof(out));
	assert_string_equal(out, "1969-12-31T23:59:59+08:00");

	ts_time_format_local(OPEN_2022 + 999999, out, sizeof(out));
	assert_string_equal(out, "2022-10-17 08:00:00");
	ts_time_format_local(S(1709210096), out, sizeof(out));
	assert_string_equal(out, "2024-02-29 20:34:56");

	/* As a Chinese notice gives it: a midnight ends the day before. */
	ts_time_format_cn(OPEN_2022, true, out, sizeof(out));
	assert_string_equal(out, "2022年10月17日08:00");
	ts_time_format_cn(CLOSE_2022, false, out, sizeof(out));
	assert_string_equal(out, "10月23日24:00");
	ts_time_format_cn(CLOSE_2022, true, out, sizeof(out));
	assert_string_equal(out, "2022年10月23日24:00");
	ts_time_format_cn(CLOSE_2022 - S(60), false, out, sizeof(out));
	assert_string_equal(out, "10月23日23:59");

	/* A short buffer is truncated, not overrun. */
	char small[12];
	memset(small, 'Z', sizeof(small));
	ts_time_format(OPEN_2022, small, 11);
	assert_string_equal(small, "2022-10-17");
	assert_int_equal(small[11], 'Z');
}

static void test_format_round_trip(void **state)
{
	(void)state;
	const int64_t samples[] = {0, OPEN_2022, CLOSE_2022, CLOSE_2022 - S(1), S(951782400), S(4102444800),
				   S(-28800), S(-86400 * 365)};
	char out[40];
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		ts_time_format(samples[i], out, sizeof(out));
		assert_int_equal(parse_ok(out, 0), samples[i]);
		assert_non_null(strstr(out, "+08:00"));
	}
	/* Every hour over two days around the window's close. */
	for (int64_t t = CLOSE_2022 - S(86400); t < CLOSE_2022 + S(86400); t += S(3600)) {
		ts_time_format(t, out, sizeof(out));
		assert_int_equal(parse_ok(out, 0), t);
	}
}

static void test_date_valid(void **state)
{
	(void)state;
	assert_true(ts_date_valid(2000, 2, 29));
	assert_false(ts_date_valid(1900, 2, 29));
	assert_true(ts_date_valid(2024, 2, 29));
	assert_false(ts_date_valid(2022, 2, 29));
	assert_false(ts_date_valid(2100, 2, 29));
	assert_true(ts_date_valid(2022, 2, 28));
	assert_true(ts_date_valid(2022, 12, 31));
	assert_false(ts_date_valid(2022, 4, 31));
	assert_false(ts_date_valid(2022, 13, 1));
	assert_false(ts_date_valid(2022, 0, 1));
	assert_false(ts_date_valid(2022, 1, 0));
	assert_false(ts_date_valid(2022, 1, 32));
	assert_false(ts_date_valid(2022, -1, 1));
}

static void test_date_parse(void **state)
{
	(void)state;
	int y = 0, m = 0, d = 0;
	assert_true(ts_date_parse("2022-10-17", &y, &m, &d));
	assert_int_equal(y, 2022);
	assert_int_equal(m, 10);
	assert_int_equal(d, 17);
	assert_true(ts_date_parse("2024-02-29", &y, &m, &d));
	assert_false(ts_date_parse("2022-13-01", &y, &m, &d));
	assert_false(ts_date_parse("2022-02-30", &y, &m, &d));
	assert_false(ts_date_parse("2022-1-01", &y, &m, &d));
	assert_false(ts_date_parse("2022-01-01 ", &y, &m, &d));
	assert_false(ts_date_parse("2022/01/01", &y, &m, &d));
	assert_false(ts_date_parse("20220101", &y, &m, &d));
	assert_false(ts_date_parse("2022-0a-01", &y, &m, &d));
	assert_false(ts_date_parse("", &y, &m, &d));
}

static void test_civil_days(void **state)
{
	(void)state;
	assert_int_equal(ts_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(ts_days_from_civil(2022, 10, 17), 1665964800 / 86400);
	assert_int_equal(ts_days_from_civil(1969, 12, 31), -1);
	assert_int_equal(ts_days_from_civil(2000, 3, 1) - ts_days_from_civil(2000, 2, 28), 2);
	assert_int_equal(ts_days_from_civil(1900, 3, 1) - ts_days_from_civil(1900, 2, 28), 1);
	/* Round trip over 1899..2101 day by day. */
	int64_t from = ts_days_from_civil(1899, 1, 1), to = ts_days_from_civil(2101, 12, 31);
	int py = 1898;
	unsigned pm = 12, pd = 31;
	for (int64_t z = from; z <= to; z++) {
		int y;
		unsigned m, d;
		ts_civil_from_days(z, &y, &m, &d);
		assert_true(ts_date_valid(y, (int)m, (int)d));
		assert_int_equal(ts_days_from_civil(y, m, d), z);
		/* Consecutive: either the next day in the month, or the 1st. */
		if (d != 1)
			assert_true(y == py && m == pm && d == pd + 1);
		py = y;
		pm = m;
		pd = d;
	}
}

static void check_local(int64_t us, int ey, int em, int ed)
{
	int y = 0, m = 0, d = 0;
	ts_local_date(us, &y, &m, &d);
	if (y != ey || m != em || d != ed)
		fail_msg("ts_local_date(%lld) = %04d-%02d-%02d, expected %04d-%02d-%02d", (long long)us, y, m, d,
			 ey, em, ed);
}

static void test_local_date_midnight(void **state)
{
	(void)state;
	/* Shanghai midnight of 10-24 is 16:00Z on 10-23. */
	check_local(CLOSE_2022 - 1, 2022, 10, 23);
	check_local(CLOSE_2022, 2022, 10, 24);
	check_local(CLOSE_2022 + 1, 2022, 10, 24);
	/* 07:59 UTC is already the afternoon in Shanghai; 16:00Z the next day. */
	check_local(OPEN_2022, 2022, 10, 17);
	check_local(S(1665936000) - 1, 2022, 10, 16);
	check_local(S(1665936000), 2022, 10, 17);
	/* New year. */
	int64_t ny = parse_ok("2023-01-01T00:00:00+08:00", 0);
	check_local(ny - 1, 2022, 12, 31);
	check_local(ny, 2023, 1, 1);
	check_local(0, 1970, 1, 1);
}

/* time.h: "The Asia/Shanghai calendar date of an instant" — with no range
 * limit, and ts_time_format gets the same instants right. */
static void test_local_date_before_1970(void **state)
{
	(void)state;
	check_local(S(-28800), 1970, 1, 1);         /* 1970-01-01T00:00:00+08:00 */
	check_local(S(-28800) - 1, 1969, 12, 31);   /* one µs earlier */
	check_local(S(-28800) - S(1), 1969, 12, 31);
	check_local(S(-86400 * 365), 1969, 1, 1);   /* 1969-01-01T08:00+08:00 */
}

static void test_clock_shift(void **state)
{
	(void)state;
	int64_t a = ts_now_us();
	ts_clock_shift(3600);
	int64_t b = ts_now_us();
	ts_clock_shift(-3600);
	int64_t c = ts_now_us();
	assert_true(b - a >= S(3600) && b - a < S(3600 + 5));
	assert_true(c - a >= 0 && c - a < S(5));

	setenv("TISHENG_CLOCK_OFFSET", "-86400", 1);
	ts_clock_init();
	int64_t d = ts_now_us();
	assert_true(a - d > S(86400 - 5) && a - d < S(86400 + 5));
	setenv("TISHENG_CLOCK_OFFSET", "0", 1);
	ts_clock_init();
	int64_t e = ts_now_us();
	assert_true(e - a >= 0 && e - a < S(5));
	unsetenv("TISHENG_CLOCK_OFFSET");
}

static void test_parse_year_range(void **state)
{
	(void)state;
	int64_t t;
	/* 9999-12-31 23:59:59 at +07:00 is 10000-01-01 00:59:59 in Shanghai: refused */
	assert_int_equal(ts_time_parse("9999-12-31T23:59:59+07:00", 0, &t), TS_EINVAL);
	assert_int_equal(ts_time_parse("9999-12-31T23:59:59+08:00", 0, &t), 0);
	char buf[64];
	ts_time_format(t, buf, sizeof(buf));
	assert_string_equal(buf, "9999-12-31T23:59:59+08:00");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_year_range),
		cmocka_unit_test(test_parse_offsets),
		cmocka_unit_test(test_parse_fraction),
		cmocka_unit_test(test_parse_now),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_parse_24h),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_date_valid),
		cmocka_unit_test(test_date_parse),
		cmocka_unit_test(test_civil_days),
		cmocka_unit_test(test_local_date_midnight),
		cmocka_unit_test(test_local_date_before_1970),
		cmocka_unit_test(test_clock_shift),
	};
	return cmocka_run_group_tests_name("time", tests, NULL, NULL);
}
