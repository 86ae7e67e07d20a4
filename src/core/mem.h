/* core/mem.h — allocation that never returns NULL.
 *
 * Decided once for the whole program: running out of memory is not a
 * condition Tisheng recovers from. These wrappers print a message and abort,
 * so callers never test for NULL (as redis and h2o do).
 */
#ifndef TS_CORE_MEM_H
#define TS_CORE_MEM_H

#include <stddef.h>

void *ts_malloc(size_t n);
void *ts_calloc(size_t n, size_t size);
void *ts_realloc(void *p, size_t n);
char *ts_strdup(const char *s);
char *ts_strndup(const char *s, size_t n);

#endif
