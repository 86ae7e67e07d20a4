/* core/log.c — JSON-lines logger (see log.h). */
#include "core/log.h"
#include "core/time.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static const char *level_name[] = {"debug", "info", "warn", "error"};

void ts_log(enum ts_log_level level, const char *event, json_t *extra, const char *fmt, ...)
{
	char ts[40], msg[512];
	ts_time_format(ts_now_us(), ts, sizeof(ts));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_t *o = json_object();
	json_object_set_new(o, "ts", json_string(ts));
	json_object_set_new(o, "level", json_string(level_name[level]));
	json_object_set_new(o, "event", json_string(event));
	if (extra)
		json_object_update(o, extra);
	json_object_set_new(o, "msg", json_string(msg));
	char *line = json_dumps(o, JSON_COMPACT);
	if (line) {
		fprintf(stderr, "%s\n", line);
		free(line);
	}
	json_decref(o);
}
