/* core/time.h — time in UTC microseconds; dates; China Standard Time display.
 *
 * Internally every instant is an int64_t count of microseconds since the Unix
 * epoch, UTC. Users see Asia/Shanghai time (UTC+8, no daylight saving since
 * 1991), so formatting uses a fixed +08:00 offset and needs no tz database.
 */
#ifndef TS_CORE_TIME_H
#define TS_CORE_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TS_US_PER_SEC INT64_C(1000000)
#define TS_CST_OFFSET_S (8 * 3600)

/* The current instant. Tests may shift it with the environment variable
 * TISHENG_CLOCK_OFFSET (seconds, may be negative), read once at start-up by
 * ts_clock_init(); this is the injectable clock that lets tests move time. */
int64_t ts_now_us(void);
void ts_clock_init(void);
/* Moves the clock by `seconds` from now on (tests and the admin clock endpoint). */
void ts_clock_shift(int64_t seconds);

/* Parses ISO-8601 with an offset ("2022-10-17T08:00:00+08:00", "…Z",
 * fractional seconds allowed), or "now", "now+Ns", "now-Ns" relative to
 * `now_us`. Returns 0 and sets *out, or TS_EINVAL. */
int ts_time_parse(const char *s, int64_t now_us, int64_t *out) __attribute__((warn_unused_result));

/* Writes "2022-10-17T08:00:00+08:00" (Asia/Shanghai) into out (≥ 32 bytes). */
void ts_time_format(int64_t us, char *out, size_t n);
/* Writes "2022-10-17 08:00:00" (Asia/Shanghai) into out (≥ 20 bytes). */
void ts_time_format_local(int64_t us, char *out, size_t n);
/* Writes the way a Chinese notice gives a time, Asia/Shanghai:
 * "2022年10月17日08:00", without the year when with_year is false; a
 * midnight is the end of the day before, "10月23日24:00" (≥ 32 bytes). */
void ts_time_format_cn(int64_t us, bool with_year, char *out, size_t n);

/* Days since 1970-01-01 for a proleptic Gregorian date; no range check. */
int64_t ts_days_from_civil(int y, unsigned m, unsigned d);
/* Breaks days since 1970-01-01 into a date. */
void ts_civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d);
/* True when y-m-d is a real calendar date (leap years included). */
bool ts_date_valid(int y, int m, int d);
/* Parses exactly "YYYY-MM-DD" into a real date. */
bool ts_date_parse(const char *s, int *y, int *m, int *d);
/* The Asia/Shanghai calendar date of an instant. */
void ts_local_date(int64_t us, int *y, int *m, int *d);

#endif
