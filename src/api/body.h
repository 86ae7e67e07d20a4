/* api/body.h — reading a submission's body without building a JSON tree.
 *
 * POST /api/v1/applications is the one request of the opening rush; its
 * body is read by yajl's event parser straight into a flat list of fields
 * (domain/form.h), with the same acceptance as the jansson path of
 * api/common.c: RFC 8259 JSON in UTF-8, no repeated key at the top level or
 * in "fields", no \u0000.
 */
#ifndef TS_API_BODY_H
#define TS_API_BODY_H

#include <stdbool.h>
#include <stddef.h>

#include "domain/form.h"

#include <yajl/yajl_gen.h>

struct submit_body {
	const char *program;     /* NULL unless a string */
	const char *category;    /* NULL unless a string */
	bool fields_object;      /* "fields" is present and an object */
	const char *unknown_key; /* the first top-level key other than those three, or NULL */
	struct form_values fields; /* owns every key and string of the body (its arena) */
};

/* Parses the n bytes of body. Returns 0 with *out filled (free it with
 * submit_body_free), or TS_EINVAL with a Chinese message in msg (the body is
 * empty, not JSON, not an object, has a repeated key, or too many members)
 * and *out empty. */
int submit_body_parse(const char *body, size_t n, struct submit_body *out, char *msg, size_t msgsz)
	__attribute__((warn_unused_result));
void submit_body_free(struct submit_body *b);

/* JSON text written by yajl_gen: the submission's stored fields, its sealed
 * part and its answer. The calls below need no checking: json_out_finish
 * says whether all went well. */
struct json_out {
	yajl_gen g;
	bool failed;
};

void json_out_init(struct json_out *o);
/* A NUL-terminated string, as a key or a value. */
void json_out_text(struct json_out *o, const char *s);
void json_out_str(struct json_out *o, const char *s, size_t n);
void json_out_int(struct json_out *o, long long v);
void json_out_map(struct json_out *o, bool open); /* { or } */
/* A member: key and string value, key and integer value. */
void json_out_kv(struct json_out *o, const char *key, const char *value);
void json_out_kv_int(struct json_out *o, const char *key, long long value);
/* Ends the text: 0 with *text (a copy, yours to free) and *len, or
 * TS_EINTERNAL with *text NULL. */
int json_out_finish(struct json_out *o, char **text, size_t *len) __attribute__((warn_unused_result));
/* Releases o (after json_out_finish, or instead of it), zeroing yajl's buffer. */
void json_out_free(struct json_out *o);

#endif
