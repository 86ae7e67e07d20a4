/* domain/validate.h — checking an application's fields against its program's form. */
#ifndef TS_DOMAIN_VALIDATE_H
#define TS_DOMAIN_VALIDATE_H

#include <jansson.h>
#include <stdbool.h>

#include "domain/form.h"
#include "domain/spec.h"

/* Answers whether a union code exists; supplied by the caller (domain does no I/O). */
typedef bool (*org_exists_fn)(void *ctx, const char *code);

/* Checks `fields` (the JSON object sent by the applicant) against spec's form
 * as of the Asia/Shanghai date (ty, tm, td). On success returns 0 and sets
 * *normalized to a new object of canonical values (trimmed, aliases resolved,
 * integers as integers, ID numbers upper-cased; absent optional fields left
 * out). On failure returns TS_EINVAL, appends {"name","message"} objects to
 * `errors` (every bad field, not just the first) and leaves *normalized NULL. */
int form_validate(const struct program_spec *spec, const json_t *fields, int ty, int tm, int td,
		  org_exists_fn org_exists, void *org_ctx, json_t **normalized, json_t *errors)
	__attribute__((warn_unused_result));

/* The same over a flat list: checks `in` and appends the canonical values to
 * `out` (an empty list) in the form's order; a value kept unchanged borrows
 * in's string, so `in` must outlive `out`. On failure returns TS_EINVAL,
 * appends the errors as form_validate does and leaves `out` empty. Keys of
 * `in` must be distinct. */
int form_check(const struct program_spec *spec, const struct form_values *in, int ty, int tm, int td,
	       org_exists_fn org_exists, void *org_ctx, struct form_values *out, json_t *errors)
	__attribute__((warn_unused_result));

/* Number of Unicode code points in a UTF-8 string. */
size_t utf8_length(const char *s);

#endif
