/* core/time.c — clock, ISO-8601 parsing and formatting, calendar arithmetic. */
#include "core/time.h"
#include "core/error.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The one process-wide setting of the injectable clock: an offset applied to
 * the real clock. Atomic so that shifting it from a test endpoint is safe. */
static _Atomic int64_t clock_offset_us;

void ts_clock_init(void)
{
	const char *s = getenv("TISHENG_CLOCK_OFFSET");
	if (!s || !*s)
		return;
	char *end = NULL;
	long long v = strtoll(s, &end, 10);
	if (end && *end == '\0')
		atomic_store(&clock_offset_us, (int64_t)v * TS_US_PER_SEC);
}

void ts_clock_shift(int64_t seconds)
{
	atomic_fetch_add(&clock_offset_us, seconds * TS_US_PER_SEC);
}

int64_t ts_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * TS_US_PER_SEC + ts.tv_nsec / 1000 + atomic_load(&clock_offset_us);
}

/* Howard Hinnant's days_from_civil. */
int64_t ts_days_from_civil(int y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void ts_civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const int64_t yy = (int64_t)yoe + era * 400;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yy + (*m <= 2));
}

bool ts_date_valid(int y, int m, int d)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1)
		return false;
	int max = mdays[m - 1];
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		max = 29;
	return d <= max;
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

bool ts_date_parse(const char *s, int *y, int *m, int *d)
{
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	if (!digits(s, 4, y) || !digits(s + 5, 2, m) || !digits(s + 8, 2, d))
		return false;
	return ts_date_valid(*y, *m, *d);
}

void ts_local_date(int64_t us, int *y, int *m, int *d)
{
	int64_t secs = us / TS_US_PER_SEC;
	if (us < 0 && us % TS_US_PER_SEC)
		secs--;
	secs += TS_CST_OFFSET_S;
	int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	unsigned mm, dd;
	ts_civil_from_days(days, y, &mm, &dd);
	*m = (int)mm;
	*d = (int)dd;
}

static int parse_relative(const char *s, int64_t now_us, int64_t *out)
{
	if (s[3] == '\0') {
		*out = now_us;
		return 0;
	}
	if (s[3] != '+' && s[3] != '-')
		return TS_EINVAL;
	const char *p = s + 4;
	if (!isdigit((unsigned char)*p))
		return TS_EINVAL;
	char *end = NULL;
	long long v = strtoll(p, &end, 10);
	if (!end || (*end != '\0' && !(end[0] == 's' && end[1] == '\0')) || v > 100LL * 366 * 86400)
		return TS_EINVAL;
	int64_t delta = (int64_t)v * TS_US_PER_SEC;
	*out = s[3] == '+' ? now_us + delta : now_us - delta;
	return 0;
}

int ts_time_parse(const char *s, int64_t now_us, int64_t *out)
{
	if (!s)
		return TS_EINVAL;
	if (strncmp(s, "now", 3) == 0)
		return parse_relative(s, now_us, out);
	int y, mo, d, h, mi, sec;
	size_t n = strlen(s);
	if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' ||
	    s[16] != ':')
		return TS_EINVAL;
	if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
	    !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec))
		return TS_EINVAL;
	if (!ts_date_valid(y, mo, d) || h > 24 || mi > 59 || sec > 59 || (h == 24 && (mi || sec)))
		return TS_EINVAL;
	const char *p = s + 19;
	int64_t frac_us = 0;
	if (*p == '.') {
		p++;
		int scale = 100000, nd = 0;
		while (isdigit((unsigned char)*p)) {
			if (nd < 6)
				frac_us += (*p - '0') * scale;
			scale /= 10;
			nd++;
			p++;
		}
		if (nd == 0)
			return TS_EINVAL;
	}
	int offset_s;
	if (p[0] == 'Z' && p[1] == '\0') {
		offset_s = 0;
	} else if ((p[0] == '+' || p[0] == '-') && strlen(p) == 6 && p[3] == ':') {
		int oh, om;
		if (!digits(p + 1, 2, &oh) || !digits(p + 4, 2, &om) || oh > 14 || om > 59)
			return TS_EINVAL;
		offset_s = (oh * 3600 + om * 60) * (p[0] == '-' ? -1 : 1);
	} else {
		return TS_EINVAL;
	}
	int64_t days = ts_days_from_civil(y, (unsigned)mo, (unsigned)d);
	int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
	/* only instants whose Asia/Shanghai date has a four-digit year, so that
	 * every parsed time can be shown and read back */
	int ly, lm, ld;
	ts_local_date(secs * TS_US_PER_SEC, &ly, &lm, &ld);
	if (ly < 1 || ly > 9999)
		return TS_EINVAL;
	*out = secs * TS_US_PER_SEC + frac_us;
	return 0;
}

static void split_local(int64_t us, int *y, unsigned *mo, unsigned *d, int *h, int *mi, int *s)
{
	int64_t secs = us / TS_US_PER_SEC;
	if (us < 0 && us % TS_US_PER_SEC)
		secs--;
	secs += TS_CST_OFFSET_S;
	int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	int64_t rem = secs - days * 86400;
	ts_civil_from_days(days, y, mo, d);
	*h = (int)(rem / 3600);
	*mi = (int)(rem % 3600 / 60);
	*s = (int)(rem % 60);
}

void ts_time_format(int64_t us, char *out, size_t n)
{
	int y, h, mi, s;
	unsigned mo, d;
	split_local(us, &y, &mo, &d, &h, &mi, &s);
	snprintf(out, n, "%04d-%02u-%02uT%02d:%02d:%02d+08:00", y, mo, d, h, mi, s);
}

void ts_time_format_local(int64_t us, char *out, size_t n)
{
	int y, h, mi, s;
	unsigned mo, d;
	split_local(us, &y, &mo, &d, &h, &mi, &s);
	snprintf(out, n, "%04d-%02u-%02u %02d:%02d:%02d", y, mo, d, h, mi, s);
}

void ts_time_format_cn(int64_t us, bool with_year, char *out, size_t n)
{
	int y, h, mi, s;
	unsigned mo, d;
	split_local(us, &y, &mo, &d, &h, &mi, &s);
	if (h == 0 && mi == 0 && s == 0) {
		split_local(us - 1, &y, &mo, &d, &h, &mi, &s);
		h = 24;
		mi = 0;
	}
	if (with_year)
		snprintf(out, n, "%d年%u月%u日%02d:%02d", y, mo, d, h, mi);
	else
		snprintf(out, n, "%u月%u日%02d:%02d", mo, d, h, mi);
}
