/* api/body.c — a submission's body read by yajl's event parser into a flat
 * list of fields (see body.h for what is accepted). */
#include "api/body.h"
#include "core/error.h"
#include "core/mem.h"

#include <glib.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#define MAX_DEPTH 64
#define MAX_TOP_KEYS 16
#define MAX_FIELDS 200 /* the largest form has 20 */

enum parse_fail { FAIL_NONE, FAIL_NUL, FAIL_UTF8, FAIL_DEPTH, FAIL_REPEAT, FAIL_MANY, FAIL_ROOM };

/* Where the value that comes next belongs. */
enum slot { SLOT_ROOT, SLOT_TOP, SLOT_FIELD, SLOT_SKIP };

struct parse {
	struct submit_body *b;
	yajl_handle h;
	size_t root_end; /* the offset just after the root value's last token */
	char *arena;
	size_t used, cap;
	int depth;             /* containers open */
	bool not_object;       /* the root is not an object */
	bool in_fields;        /* the container at depth 2 is the "fields" object */
	bool entering_fields;  /* the container being opened is it */
	const char *top_key;   /* the key of the top-level value that comes next */
	const char *field_key; /* the same inside "fields" */
	const char *top_keys[MAX_TOP_KEYS];
	size_t ntop;
	enum parse_fail fail;
	const char *fail_key;
};

static enum slot slot_of(const struct parse *p)
{
	if (p->depth == 0)
		return SLOT_ROOT;
	if (p->depth == 1 && !p->not_object)
		return SLOT_TOP;
	if (p->depth == 2 && p->in_fields)
		return SLOT_FIELD;
	return SLOT_SKIP;
}

/* A string of the body is acceptable: no NUL (jansson refuses \u0000 too)
 * and valid UTF-8 (yajl's own check lets overlong forms and surrogates by). */
static bool text_ok(struct parse *p, const unsigned char *s, size_t n)
{
	if (memchr(s, 0, n)) {
		p->fail = FAIL_NUL;
		return false;
	}
	if (!g_utf8_validate((const char *)s, (gssize)n, NULL)) {
		p->fail = FAIL_UTF8;
		return false;
	}
	return true;
}

/* A NUL-terminated copy of s in the arena, or NULL (p->fail set). The arena
 * holds the whole body plus one byte, and every copy with its NUL is shorter
 * than the token it came from with its quotes, so it cannot run out; the
 * check stays all the same. */
static const char *copy(struct parse *p, const unsigned char *s, size_t n)
{
	if (n >= p->cap - p->used) {
		p->fail = FAIL_ROOM;
		return NULL;
	}
	char *d = p->arena + p->used;
	memcpy(d, s, n);
	d[n] = '\0';
	p->used += n + 1;
	return d;
}

static struct form_value *add_field(struct parse *p, enum form_kind kind)
{
	struct form_value *v = form_values_add(&p->b->fields, p->field_key);
	v->kind = kind;
	return v;
}

static int on_null(void *ctx)
{
	struct parse *p = ctx;
	enum slot s = slot_of(p);
	if (s == SLOT_ROOT)
		p->not_object = true;
	else if (s == SLOT_FIELD)
		add_field(p, FORM_NULL);
	return 1;
}

static int on_other(struct parse *p)
{
	enum slot s = slot_of(p);
	if (s == SLOT_ROOT)
		p->not_object = true;
	else if (s == SLOT_FIELD)
		add_field(p, FORM_OTHER);
	return 1;
}

static int on_boolean(void *ctx, int v)
{
	(void)v;
	return on_other(ctx);
}

static int on_double(void *ctx, double v)
{
	(void)v;
	return on_other(ctx);
}

static int on_integer(void *ctx, long long v)
{
	struct parse *p = ctx;
	if (slot_of(p) != SLOT_FIELD)
		return on_other(p);
	add_field(p, FORM_INTEGER)->num = v;
	return 1;
}

static int on_string(void *ctx, const unsigned char *s, size_t n)
{
	struct parse *p = ctx;
	if (!text_ok(p, s, n))
		return 0;
	switch (slot_of(p)) {
	case SLOT_ROOT:
		p->not_object = true;
		return 1;
	case SLOT_TOP:
		if (strcmp(p->top_key, "program") == 0)
			return (p->b->program = copy(p, s, n)) != NULL;
		if (strcmp(p->top_key, "category") == 0)
			return (p->b->category = copy(p, s, n)) != NULL;
		return 1;
	case SLOT_FIELD: {
		const char *c = copy(p, s, n);
		if (!c)
			return 0;
		struct form_value *v = add_field(p, FORM_STRING);
		v->str = c;
		v->len = n;
		return 1;
	}
	case SLOT_SKIP:
		return 1;
	}
	return 1;
}

static int open_container(struct parse *p, bool is_map)
{
	p->entering_fields = false;
	switch (slot_of(p)) {
	case SLOT_ROOT:
		p->not_object = !is_map;
		break;
	case SLOT_TOP:
		if (is_map && strcmp(p->top_key, "fields") == 0) {
			p->b->fields_object = true;
			p->entering_fields = true;
		}
		break;
	case SLOT_FIELD:
		add_field(p, FORM_OTHER);
		break;
	case SLOT_SKIP:
		break;
	}
	if (++p->depth > MAX_DEPTH) {
		p->fail = FAIL_DEPTH;
		return 0;
	}
	if (p->depth == 2)
		p->in_fields = p->entering_fields;
	return 1;
}

static int on_start_map(void *ctx)
{
	return open_container(ctx, true);
}

static int on_start_array(void *ctx)
{
	return open_container(ctx, false);
}

static int on_end(void *ctx)
{
	struct parse *p = ctx;
	if (p->depth == 2)
		p->in_fields = false;
	if (--p->depth == 0)
		p->root_end = yajl_get_bytes_consumed(p->h);
	return 1;
}

static int on_key(void *ctx, const unsigned char *s, size_t n)
{
	struct parse *p = ctx;
	if (!text_ok(p, s, n))
		return 0;
	if (p->depth == 1 && !p->not_object) {
		const char *k = copy(p, s, n);
		if (!k)
			return 0;
		for (size_t i = 0; i < p->ntop; i++)
			if (strcmp(p->top_keys[i], k) == 0) {
				p->fail = FAIL_REPEAT;
				p->fail_key = k;
				return 0;
			}
		if (p->ntop == MAX_TOP_KEYS) {
			p->fail = FAIL_MANY;
			return 0;
		}
		p->top_keys[p->ntop++] = k;
		p->top_key = k;
		if (!p->b->unknown_key && strcmp(k, "program") != 0 && strcmp(k, "category") != 0 &&
		    strcmp(k, "fields") != 0)
			p->b->unknown_key = k;
	} else if (p->depth == 2 && p->in_fields) {
		const char *k = copy(p, s, n);
		if (!k)
			return 0;
		if (form_values_get(&p->b->fields, k)) {
			p->fail = FAIL_REPEAT;
			p->fail_key = k;
			return 0;
		}
		if (p->b->fields.n == MAX_FIELDS) {
			p->fail = FAIL_MANY;
			return 0;
		}
		p->field_key = k;
	}
	return 1;
}

static const yajl_callbacks callbacks = {
	.yajl_null = on_null,
	.yajl_boolean = on_boolean,
	.yajl_integer = on_integer,
	.yajl_double = on_double,
	.yajl_string = on_string,
	.yajl_start_map = on_start_map,
	.yajl_map_key = on_key,
	.yajl_end_map = on_end,
	.yajl_start_array = on_start_array,
	.yajl_end_array = on_end,
};

/* yajl's allocations through core/mem.h: out of memory aborts there too */
static void *yajl_malloc_fn(void *ctx, size_t n)
{
	(void)ctx;
	return ts_malloc(n);
}

static void *yajl_realloc_fn(void *ctx, void *ptr, size_t n)
{
	(void)ctx;
	return ts_realloc(ptr, n);
}

static void yajl_free_fn(void *ctx, void *ptr)
{
	(void)ctx;
	free(ptr);
}

static yajl_alloc_funcs allocs = {yajl_malloc_fn, yajl_realloc_fn, yajl_free_fn, NULL};

/* The code unit of a \u escape's four hex digits at s (n bytes left). */
static bool hex4(const char *s, size_t n, unsigned *out)
{
	unsigned char b[2];
	size_t got = 0;
	if (n < 4 || sodium_hex2bin(b, sizeof(b), s, 4, NULL, &got, NULL) != 0 || got != 2)
		return false;
	*out = (unsigned)b[0] << 8 | b[1];
	return true;
}

/* What yajl lets by and RFC 8259 (and jansson) do not: a vertical tab or a
 * form feed as whitespace (unescaped inside a string it is refused by both),
 * and a \u escape of a lone UTF-16 surrogate, or of a high one followed by
 * any other \u escape, which yajl decodes into bad UTF-8 or a wrong
 * character. In valid JSON a backslash only starts an escape inside a
 * string, so looking at every backslash finds them all; anything else wrong
 * with an escape is yajl's to report. */
static bool strict_json(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\v' || s[i] == '\f')
			return false;
		if (s[i] != '\\' || i + 1 >= n)
			continue;
		if (s[i + 1] != 'u') {
			i++;
			continue;
		}
		unsigned cp, lo;
		if (!hex4(s + i + 2, n - i - 2, &cp))
			continue;
		i += 5;
		if (cp >= 0xDC00 && cp <= 0xDFFF)
			return false;
		if (cp < 0xD800 || cp > 0xDBFF)
			continue;
		if (i + 2 >= n || s[i + 1] != '\\' || s[i + 2] != 'u' || !hex4(s + i + 3, n - i - 3, &lo) ||
		    lo < 0xDC00 || lo > 0xDFFF)
			return false;
		i += 6;
	}
	return true;
}

/* "line L column C" of byte offset `at`, as jansson reports positions. */
static void position(const char *s, size_t n, size_t at, int *line, int *col)
{
	*line = 1;
	*col = 0;
	for (size_t i = 0; i < at && i < n; i++) {
		if (s[i] == '\n') {
			++*line;
			*col = 0;
		} else {
			++*col;
		}
	}
}

static void fail_message(const struct parse *p, const char *body, size_t n, size_t at, char *msg, size_t msgsz)
{
	int line, col;
	switch (p->fail) {
	case FAIL_REPEAT:
		snprintf(msg, msgsz, "请求内容不是有效的 JSON：键 \"%.60s\" 重复出现", p->fail_key);
		return;
	case FAIL_MANY:
		snprintf(msg, msgsz, "请求内容的字段过多");
		return;
	case FAIL_DEPTH:
		snprintf(msg, msgsz, "请求内容不是有效的 JSON：嵌套层数过多");
		return;
	case FAIL_NUL:
		snprintf(msg, msgsz, "请求内容不是有效的 JSON：字符串中不允许 \\u0000");
		return;
	case FAIL_UTF8:
		snprintf(msg, msgsz, "请求内容不是有效的 JSON（UTF-8）：含有无效的 UTF-8 字符");
		return;
	case FAIL_ROOM:
	case FAIL_NONE:
		break;
	}
	position(body, n, at, &line, &col);
	snprintf(msg, msgsz, "请求内容不是有效的 JSON（UTF-8）：第 %d 行第 %d 列", line, col);
}

void submit_body_free(struct submit_body *b)
{
	form_values_free(&b->fields);
	memset(b, 0, sizeof(*b));
}

int submit_body_parse(const char *body, size_t n, struct submit_body *out, char *msg, size_t msgsz)
{
	memset(out, 0, sizeof(*out));
	form_values_init(&out->fields);
	if (n == 0) {
		snprintf(msg, msgsz, "请求内容为空，应为 JSON 对象");
		return TS_EINVAL;
	}
	if (!strict_json(body, n)) {
		snprintf(msg, msgsz, "请求内容不是有效的 JSON（UTF-8）：含有不允许的控制字符或不成对的 UTF-16 代理项");
		return TS_EINVAL;
	}
	struct parse p = {.b = out, .cap = n + 1};
	p.arena = out->fields.arena = ts_malloc(p.cap);
	yajl_handle h = p.h = yajl_alloc(&callbacks, &allocs, &p);
	yajl_status st = yajl_parse(h, (const unsigned char *)body, n);
	size_t at = yajl_get_bytes_consumed(h);
	if (st == yajl_status_ok) {
		st = yajl_complete_parse(h);
		at = n;
	}
	yajl_free(h);
	/* yajl leaves the start of an unfinished token after the root value
	 * (a lone '"') unreported: only JSON whitespace may follow it */
	for (size_t i = p.root_end; st == yajl_status_ok && p.root_end && i < n; i++)
		if (body[i] != ' ' && body[i] != '\t' && body[i] != '\n' && body[i] != '\r') {
			st = yajl_status_error;
			at = i;
		}
	if (st != yajl_status_ok) {
		fail_message(&p, body, n, at, msg, msgsz);
		submit_body_free(out);
		return TS_EINVAL;
	}
	if (p.not_object) {
		snprintf(msg, msgsz, "请求内容应为 JSON 对象");
		submit_body_free(out);
		return TS_EINVAL;
	}
	return 0;
}

void json_out_init(struct json_out *o)
{
	o->failed = false;
	o->g = yajl_gen_alloc(&allocs);
}

/* Notes a failed yajl_gen call: json_out_finish reports it. */
static void gen(struct json_out *o, yajl_gen_status st)
{
	if (st != yajl_gen_status_ok)
		o->failed = true;
}

void json_out_text(struct json_out *o, const char *s)
{
	json_out_str(o, s, strlen(s));
}

void json_out_str(struct json_out *o, const char *s, size_t n)
{
	gen(o, yajl_gen_string(o->g, (const unsigned char *)s, n));
}

void json_out_int(struct json_out *o, long long v)
{
	gen(o, yajl_gen_integer(o->g, v));
}

void json_out_map(struct json_out *o, bool open)
{
	gen(o, open ? yajl_gen_map_open(o->g) : yajl_gen_map_close(o->g));
}

void json_out_kv(struct json_out *o, const char *key, const char *value)
{
	json_out_text(o, key);
	json_out_text(o, value);
}

void json_out_kv_int(struct json_out *o, const char *key, long long value)
{
	json_out_text(o, key);
	json_out_int(o, value);
}

int json_out_finish(struct json_out *o, char **text, size_t *len)
{
	*text = NULL;
	const unsigned char *buf;
	size_t n;
	if (o->failed || yajl_gen_get_buf(o->g, &buf, &n) != yajl_gen_status_ok)
		return TS_EINTERNAL;
	*text = ts_strndup((const char *)buf, n);
	if (len)
		*len = n;
	return 0;
}

void json_out_free(struct json_out *o)
{
	if (!o->g)
		return;
	const unsigned char *buf;
	size_t n;
	/* the text may have held personal fields: yajl's buffer is zeroed */
	if (yajl_gen_get_buf(o->g, &buf, &n) == yajl_gen_status_ok && n)
		memset((unsigned char *)buf, 0, n);
	yajl_gen_free(o->g);
	o->g = NULL;
}
