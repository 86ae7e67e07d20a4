/* tests/fuzz/fuzz_time.c — the date and time parsers: ts_date_parse
 * ("YYYY-MM-DD" of form fields) and ts_time_parse (ISO-8601 with offset,
 * "now±Ns" of `program load --opens/--closes` and the specs). A parsed
 * instant must format and parse back to the same second. */
#include "core/time.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 256)
		return 0;
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	int y, m, d;
	if (ts_date_parse(s, &y, &m, &d)) {
		if (!ts_date_valid(y, m, d))
			abort();
		int64_t days = ts_days_from_civil(y, (unsigned)m, (unsigned)d);
		int y2;
		unsigned m2, d2;
		ts_civil_from_days(days, &y2, &m2, &d2);
		if (y2 != y || (int)m2 != m || (int)d2 != d)
			abort();
	}
	int64_t now = 1666000000LL * 1000000LL, t;
	if (ts_time_parse(s, now, &t) == 0) {
		/* round trip, for instants a spec can sensibly hold (years 1900–9999) */
		if (t > -2208988800LL * 1000000LL && t < 253402300799LL * 1000000LL) {
			char buf[64];
			ts_time_format(t, buf, sizeof(buf));
			int64_t back;
			int64_t sec = t / 1000000 - (t % 1000000 < 0);
			if (ts_time_parse(buf, now, &back) != 0 || back != sec * 1000000)
				abort();
			ts_time_format_local(t, buf, sizeof(buf));
			int ly, lm, ld;
			ts_local_date(t, &ly, &lm, &ld);
		}
	}
	free(s);
	return 0;
}
