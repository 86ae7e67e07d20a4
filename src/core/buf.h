/* core/buf.h — the one owned, growable, always NUL-terminated byte buffer.
 *
 * Ownership: a struct ts_buf owns its storage; ts_buf_free() releases it and
 * leaves an empty buffer. After ts_buf_detach() the caller owns the returned
 * storage and must free() it. `ptr` is never NULL once initialised (it points
 * at a static "" until the first append), so it can always be printed.
 * Every buffer has a maximum size; an append that would pass it fails with
 * TS_ETOOBIG and leaves the buffer unchanged. Out of memory aborts (core/mem.h).
 */
#ifndef TS_CORE_BUF_H
#define TS_CORE_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct ts_buf {
	char *ptr;
	size_t len;
	size_t cap;
	size_t max;
};

/* A borrowed, not necessarily NUL-terminated, view of bytes. */
struct ts_str {
	const char *ptr;
	size_t len;
};

#define TS_STR(lit) ((struct ts_str){(lit), sizeof(lit) - 1})
#define TS_BUF_DEFAULT_MAX ((size_t)64 << 20)

void ts_buf_init(struct ts_buf *b, size_t max);
void ts_buf_free(struct ts_buf *b);
void ts_buf_reset(struct ts_buf *b);
char *ts_buf_detach(struct ts_buf *b, size_t *len_out);

/* Appends; 0 on success, TS_ETOOBIG when the result would pass b->max
 * (and then b is unchanged). */
int ts_buf_append(struct ts_buf *b, const void *p, size_t n) __attribute__((warn_unused_result));
int ts_buf_puts(struct ts_buf *b, const char *s) __attribute__((warn_unused_result));
int ts_buf_printf(struct ts_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), warn_unused_result));
int ts_buf_vprintf(struct ts_buf *b, const char *fmt, va_list ap) __attribute__((warn_unused_result));

struct ts_str ts_str_from(const char *s);
bool ts_str_eq(struct ts_str a, const char *b);

#endif
