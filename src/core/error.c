/* core/error.c — filling struct ts_error. */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ts_error_set(struct ts_error *err, int status, const char *code, const char *fmt, ...)
{
	if (!err)
		return status;
	err->status = status;
	snprintf(err->code, sizeof(err->code), "%s", code);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return status;
}

void ts_error_clear(struct ts_error *err)
{
	if (!err)
		return;
	err->status = 0;
	err->code[0] = '\0';
	err->message[0] = '\0';
}
