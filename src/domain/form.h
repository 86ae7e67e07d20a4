/* domain/form.h — an application form's values as a flat list of (key, value).
 *
 * The submission path reads the body straight into this list (api/body.c),
 * validates it and writes the stored JSON from it, with no JSON tree built
 * on the way; the other paths convert from and to jansson objects.
 *
 * Ownership: a struct form_values owns its array, its `arena` (if set) and
 * the strings of values marked `owned`; every other key or string is
 * borrowed and must outlive the list (the jansson object it was read from,
 * the program spec for select aliases). form_values_free releases what it
 * owns and leaves an empty list. Out of memory aborts (core/mem.h).
 */
#ifndef TS_DOMAIN_FORM_H
#define TS_DOMAIN_FORM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum form_kind {
	FORM_NULL,
	FORM_STRING,
	FORM_INTEGER,
	FORM_OTHER, /* true, false, a real number, an object or an array */
};

struct form_value {
	const char *key;
	enum form_kind kind;
	const char *str; /* FORM_STRING: NUL-terminated UTF-8 with no NUL inside */
	size_t len;      /* of str */
	long long num;   /* FORM_INTEGER */
	bool owned;      /* str is the list's to free */
	unsigned hash;   /* of key: look-ups compare it before the text */
};

struct form_values {
	struct form_value *v;
	size_t n, cap;
	char *arena; /* owned storage the values' keys and strings may point into */
};

void form_values_init(struct form_values *fv);
void form_values_free(struct form_values *fv);

/* Appends a value and returns it (kind FORM_NULL, no string); the pointer is
 * valid until the next append. Keys are not checked for repeats; `key` must
 * not change while it is in the list. */
struct form_value *form_values_add(struct form_values *fv, const char *key);

/* The value of `key`, or NULL. */
const struct form_value *form_values_get(const struct form_values *fv, const char *key);
/* The same, searching from *hint on (wrapping round) and leaving *hint after
 * the value found: a run of look-ups in the list's own order costs one
 * comparison each. Start with *hint = 0. */
const struct form_value *form_values_find(const struct form_values *fv, const char *key, size_t *hint);
/* The string value of `key`, or NULL when absent or not a string. */
const char *form_values_str(const struct form_values *fv, const char *key);

/* Reads the members of a JSON object into fv (borrowing obj's keys and
 * strings: obj must outlive fv). Returns 0, or TS_EINVAL when obj is not an
 * object (fv is then left empty). */
int form_values_from_json(struct form_values *fv, const json_t *obj) __attribute__((warn_unused_result));
/* A new JSON object of fv's values, in fv's order; FORM_OTHER values are left out. */
json_t *form_values_to_json(const struct form_values *fv);

#endif
