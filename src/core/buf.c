/* core/buf.c — growable buffer with a cap (see buf.h). */
#include "core/buf.h"
#include "core/error.h"
#include "core/mem.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char empty[1];

void ts_buf_init(struct ts_buf *b, size_t max)
{
	b->ptr = empty;
	b->len = 0;
	b->cap = 0;
	b->max = max ? max : TS_BUF_DEFAULT_MAX;
}

void ts_buf_free(struct ts_buf *b)
{
	if (b->cap)
		free(b->ptr);
	b->ptr = empty;
	b->len = 0;
	b->cap = 0;
}

void ts_buf_reset(struct ts_buf *b)
{
	b->len = 0;
	if (b->cap)
		b->ptr[0] = '\0';
}

char *ts_buf_detach(struct ts_buf *b, size_t *len_out)
{
	char *p = b->cap ? b->ptr : ts_strdup("");
	if (len_out)
		*len_out = b->len;
	b->ptr = empty;
	b->len = 0;
	b->cap = 0;
	return p;
}

static int grow(struct ts_buf *b, size_t extra)
{
	if (extra > b->max || b->len > b->max - extra)
		return TS_ETOOBIG;
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (b->cap) {
		b->ptr = ts_realloc(b->ptr, cap);
	} else {
		b->ptr = ts_malloc(cap);
		b->ptr[0] = '\0';
	}
	b->cap = cap;
	return 0;
}

int ts_buf_append(struct ts_buf *b, const void *p, size_t n)
{
	int rc = grow(b, n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->ptr + b->len, p, n);
	b->len += n;
	b->ptr[b->len] = '\0';
	return 0;
}

int ts_buf_puts(struct ts_buf *b, const char *s)
{
	return ts_buf_append(b, s, strlen(s));
}

int ts_buf_vprintf(struct ts_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return TS_EINVAL;
	int rc = grow(b, (size_t)n);
	if (rc)
		return rc;
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int ts_buf_printf(struct ts_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = ts_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

struct ts_str ts_str_from(const char *s)
{
	return (struct ts_str){s, s ? strlen(s) : 0};
}

bool ts_str_eq(struct ts_str a, const char *b)
{
	size_t n = strlen(b);
	return a.len == n && (n == 0 || memcmp(a.ptr, b, n) == 0);
}
