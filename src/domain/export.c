/* domain/export.c — export rows, counters and templates. */
#include "domain/export.h"
#include "core/mem.h"
#include "domain/idnum.h"

#include <stdio.h>
#include <string.h>

static int age_at(const char *id, int ty, int tm, int td)
{
	if (!id || strlen(id) != 18)
		return -1;
	int y, m, d;
	idnum_birth(id, &y, &m, &d);
	int age = ty - y;
	if (tm < m || (tm == m && td < d))
		age--;
	return age;
}

json_t *export_row(const json_t *columns, const json_t *values, int ty, int tm, int td)
{
	json_t *row = json_array();
	size_t i;
	json_t *c;
	json_array_foreach((json_t *)columns, i, c)
	{
		const char *f = json_string_value(json_object_get(c, "field"));
		char buf[32];
		if (f && strcmp(f, "age") == 0) {
			int age = age_at(json_string_value(json_object_get(values, "id_number")), ty, tm, td);
			snprintf(buf, sizeof(buf), "%d", age);
			json_array_append_new(row, json_string(age >= 0 ? buf : ""));
			continue;
		}
		const json_t *v = f ? json_object_get(values, f) : NULL;
		if (json_is_string(v)) {
			json_array_append_new(row, json_string(json_string_value(v)));
		} else if (json_is_integer(v)) {
			snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
			json_array_append_new(row, json_string(buf));
		} else {
			json_array_append_new(row, json_string(""));
		}
	}
	return row;
}

static bool in_list(const json_t *list, const char *v)
{
	size_t i;
	json_t *x;
	json_array_foreach((json_t *)list, i, x) if (v && json_is_string(x) && strcmp(json_string_value(x), v) == 0) return true;
	return false;
}

static void bump(json_t *vars, const char *name)
{
	json_object_set_new(vars, name, json_integer(json_integer_value(json_object_get(vars, name)) + 1));
}

void export_count(const json_t *counts, const json_t *values, const char *category, json_t *vars)
{
	bump(vars, "total");
	const char *name;
	json_t *rule;
	json_object_foreach((json_t *)counts, name, rule)
	{
		if (!json_object_get(vars, name))
			json_object_set_new(vars, name, json_integer(0));
		const char *cat = json_string_value(json_object_get(rule, "category"));
		const char *field = json_string_value(json_object_get(rule, "field"));
		const char *v = field ? json_string_value(json_object_get(values, field)) : NULL;
		bool hit = false;
		if (cat)
			hit = strcmp(cat, category) == 0;
		else if (json_object_get(rule, "in"))
			hit = in_list(json_object_get(rule, "in"), v);
		else if (json_object_get(rule, "not_in"))
			hit = !in_list(json_object_get(rule, "not_in"), v);
		if (hit)
			bump(vars, name);
	}
}

int export_fill(const char *tmpl, const json_t *vars, struct ts_buf *out)
{
	int rc = 0;
	for (const char *p = tmpl; *p && !rc;) {
		const char *close = *p == '{' ? strchr(p, '}') : NULL;
		if (close && close - p < 40) {
			char name[40];
			memcpy(name, p + 1, (size_t)(close - p - 1));
			name[close - p - 1] = '\0';
			const json_t *v = json_object_get(vars, name);
			if (json_is_string(v)) {
				rc = ts_buf_puts(out, json_string_value(v));
				p = close + 1;
				continue;
			}
			if (json_is_integer(v)) {
				rc = ts_buf_printf(out, "%lld", (long long)json_integer_value(v));
				p = close + 1;
				continue;
			}
		}
		rc = ts_buf_append(out, p++, 1);
	}
	return rc;
}

char *export_cell_safe(const char *s)
{
	if (s && (*s == '=' || *s == '+' || *s == '-' || *s == '@' || *s == '\t' || *s == '\r')) {
		size_t n = strlen(s);
		char *o = ts_malloc(n + 2);
		o[0] = '\'';
		memcpy(o + 1, s, n + 1);
		return o;
	}
	return ts_strdup(s ? s : "");
}
