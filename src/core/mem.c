/* core/mem.c — abort-on-OOM allocation wrappers (see mem.h). */
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
	fprintf(stderr, "tisheng: out of memory (%zu bytes)\n", n);
	abort();
}

void *ts_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *ts_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom(n * size);
	return p;
}

void *ts_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

char *ts_strdup(const char *s)
{
	return ts_strndup(s, strlen(s));
}

char *ts_strndup(const char *s, size_t n)
{
	char *p = ts_malloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}
