/* domain/form.c — the flat list of a form's values. */
#include "domain/form.h"
#include "core/error.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

void form_values_init(struct form_values *fv)
{
	memset(fv, 0, sizeof(*fv));
}

void form_values_free(struct form_values *fv)
{
	for (size_t i = 0; i < fv->n; i++)
		if (fv->v[i].owned)
			free((char *)fv->v[i].str);
	free(fv->v);
	free(fv->arena);
	form_values_init(fv);
}

/* FNV-1a: keys are short, and a look-up runs over every value */
static unsigned key_hash(const char *key)
{
	unsigned h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

struct form_value *form_values_add(struct form_values *fv, const char *key)
{
	if (fv->n == fv->cap) {
		fv->cap = fv->cap ? fv->cap * 2 : 24; /* the largest form has 20 fields */
		fv->v = ts_realloc(fv->v, fv->cap * sizeof(*fv->v));
	}
	struct form_value *v = &fv->v[fv->n++];
	memset(v, 0, sizeof(*v));
	v->key = key;
	v->hash = key_hash(key);
	return v;
}

const struct form_value *form_values_get(const struct form_values *fv, const char *key)
{
	size_t hint = 0;
	return form_values_find(fv, key, &hint);
}

const struct form_value *form_values_find(const struct form_values *fv, const char *key, size_t *hint)
{
	if (!key || fv->n == 0)
		return NULL;
	unsigned h = key_hash(key);
	size_t start = *hint < fv->n ? *hint : 0;
	for (size_t k = 0; k < fv->n; k++) {
		size_t i = start + k < fv->n ? start + k : start + k - fv->n;
		if (fv->v[i].hash == h && strcmp(fv->v[i].key, key) == 0) {
			*hint = i + 1;
			return &fv->v[i];
		}
	}
	return NULL;
}

const char *form_values_str(const struct form_values *fv, const char *key)
{
	const struct form_value *v = form_values_get(fv, key);
	return v && v->kind == FORM_STRING ? v->str : NULL;
}

int form_values_from_json(struct form_values *fv, const json_t *obj)
{
	if (!json_is_object(obj))
		return TS_EINVAL;
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)obj, key, val)
	{
		struct form_value *v = form_values_add(fv, key);
		if (json_is_string(val)) {
			v->kind = FORM_STRING;
			v->str = json_string_value(val);
			v->len = json_string_length(val);
		} else if (json_is_integer(val)) {
			v->kind = FORM_INTEGER;
			v->num = json_integer_value(val);
		} else if (!json_is_null(val)) {
			v->kind = FORM_OTHER;
		}
	}
	return 0;
}

json_t *form_values_to_json(const struct form_values *fv)
{
	json_t *o = json_object();
	for (size_t i = 0; i < fv->n; i++) {
		const struct form_value *v = &fv->v[i];
		switch (v->kind) {
		case FORM_STRING:
			json_object_set_new(o, v->key, json_stringn(v->str, v->len));
			break;
		case FORM_INTEGER:
			json_object_set_new(o, v->key, json_integer(v->num));
			break;
		case FORM_NULL:
			json_object_set_new(o, v->key, json_null());
			break;
		case FORM_OTHER:
			break;
		}
	}
	return o;
}
