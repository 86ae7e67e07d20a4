/* core/log.h — structured logs: one JSON object per line on standard error.
 *
 * Never pass full personal data (ID numbers, phones, bank accounts) to these
 * functions; mask them first (domain/mask.h).
 */
#ifndef TS_CORE_LOG_H
#define TS_CORE_LOG_H

#include <jansson.h>

enum ts_log_level { TS_LOG_DEBUG, TS_LOG_INFO, TS_LOG_WARN, TS_LOG_ERROR };

/* Writes {"ts":…,"level":…,"event":event, …extra…, "msg":…}. `extra` may be
 * NULL; it is borrowed, not stolen. */
void ts_log(enum ts_log_level level, const char *event, json_t *extra, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define ts_log_info(ev, ...) ts_log(TS_LOG_INFO, (ev), NULL, __VA_ARGS__)
#define ts_log_warn(ev, ...) ts_log(TS_LOG_WARN, (ev), NULL, __VA_ARGS__)
#define ts_log_error(ev, ...) ts_log(TS_LOG_ERROR, (ev), NULL, __VA_ARGS__)

#endif
