/* domain/export.h — rows, counts and texts of the spec-defined exports
 * (汇总表, 推荐承诺书). Pure logic over JSON. */
#ifndef TS_DOMAIN_EXPORT_H
#define TS_DOMAIN_EXPORT_H

#include <jansson.h>
#include <stdint.h>

#include "core/buf.h"
#include "domain/spec.h"

/* The values of one row as strings, following `columns` ([{label, field}]).
 * `values` holds the application's fields (personal ones decrypted) and the
 * pseudo-fields seq, category_name, union_name; "age" is computed from the
 * ID number at (ty, tm, td). Returns a new array of strings. */
json_t *export_row(const json_t *columns, const json_t *values, int ty, int tm, int td);

/* Adds this application to the counters of `counts` ({name: {"category": C}
 * | {"field": F, "in": [...]} | {"field": F, "not_in": [...]}}) kept in
 * `vars` (name → integer), and to vars.total. */
void export_count(const json_t *counts, const json_t *values, const char *category, json_t *vars);

/* Replaces {name} in `tmpl` with vars[name] (strings or integers). Unknown
 * names are left as they are. */
int export_fill(const char *tmpl, const json_t *vars, struct ts_buf *out) __attribute__((warn_unused_result));

/* Neutralises spreadsheet formulas: a value starting with = + - @ (or a tab
 * or carriage return) gets a leading apostrophe. Returns a new string. */
char *export_cell_safe(const char *s);

#endif
