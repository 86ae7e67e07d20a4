/* domain/spec.h — program specs: the parsed, checked form of the JSON files in programs/.
 *
 * A struct program_spec holds a reference to the JSON it was parsed from;
 * every string in it points into that JSON and lives exactly as long as the
 * spec. Specs are immutable once parsed, so threads may share one freely.
 * The format is documented in docs/program-spec.md.
 */
#ifndef TS_DOMAIN_SPEC_H
#define TS_DOMAIN_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

enum field_type {
	FT_TEXT,
	FT_TEXTAREA,
	FT_SELECT,
	FT_INTEGER,
	FT_DATE,
	FT_EMAIL,
	FT_PHONE,
	FT_ID_NUMBER,
	FT_BANK_ACCOUNT,
	FT_ORG,
};

struct field_def {
	const char *key;
	const char *label;
	enum field_type type;
	bool required;
	const json_t *options; /* array of strings (select) */
	const json_t *aliases; /* object: alternative → option (select), may be NULL */
	int64_t min_len, max_len;
	bool has_min, has_max;
	int64_t min, max;
	const char *date_min, *date_max; /* "YYYY-MM-DD" or NULL */
};

enum rule_kind {
	RULE_DATE_IN_PROGRAM_YEAR,
	RULE_FIELD_IN,
	RULE_LEVEL_ABOVE,
	RULE_ONE_PER_YEAR,
	RULE_SAME_OCCUPATION,
	RULE_ONCE_PER_LEVEL,
	RULE_FIELD_IS_LEVEL,
};

struct rule_def {
	enum rule_kind kind;
	const char *field;     /* may be NULL */
	const json_t *values;  /* field_in */
	const json_t *order;   /* level_above */
	const char *message;   /* may be NULL: the default text is used */
};

enum stage_kind {
	STAGE_REVIEW,    /* a union decides: pass, reject, return for correction */
	STAGE_PUBLICITY, /* a public list for at least `days`, with objections */
	STAGE_APPROVAL,  /* final approval of a whole batch */
};

struct stage_def {
	const char *key, *name;
	const char *pass_status; /* the status an application gets on leaving this stage */
	enum stage_kind kind;
	const json_t *levels;    /* union levels that act here, nearest first */
	int days;                /* publicity: minimum length */
	bool working_days;       /* publicity: count working days, not calendar days */
};

struct category_def {
	const char *code;
	const char *name;
	const char *level;
	int64_t amount_fen;
	int64_t cap;
	int64_t places;
};

struct program_spec {
	json_t *root; /* owned reference */
	const char *id, *title, *series, *group, *department, *paper_deadline;
	int year;
	int64_t opens_at, closes_at; /* UTC µs */
	struct category_def *cats;
	size_t ncats;
	struct field_def *fields;
	size_t nfields;
	struct rule_def *rules;
	size_t nrules;
	const json_t *print; /* may be NULL */
	struct stage_def *stages; /* the review pipeline, may be empty */
	size_t nstages;
	int return_limit;         /* correction notices per application */
	const json_t *export_summary; /* exports.summary (汇总表), may be NULL */
	const json_t *export_letter;  /* exports.letter (推荐承诺书), may be NULL */
};

/* Checks `root` against the format and builds a spec that holds its own
 * reference to root. On error returns TS_EINVAL, fills err (the message names
 * the offending path) and *out is untouched. */
int spec_parse(json_t *root, struct program_spec **out, struct ts_error *err)
	__attribute__((warn_unused_result));
void spec_free(struct program_spec *spec);

/* Fills the dates of a program's texts from its own fields, so that a
 * window moved by `program load --opens/--closes` (and the demo's) is the
 * one the notice and the printed form give: in every string value of root,
 * {opens} becomes opens_at as "2022年10月17日08:00", {closes} closes_at
 * without the year unless it differs ("10月23日24:00"), {paper_deadline}
 * the paper_deadline date ("2022年10月26日"). A placeholder whose field is
 * missing or unreadable is left as it is (spec_parse then judges the
 * fields). */
void spec_fill_dates(json_t *root);

const struct category_def *spec_category(const struct program_spec *spec, const char *code);
const struct field_def *spec_field(const struct program_spec *spec, const char *key);
/* The form's first ID number field (the person's: blind index, history,
 * the ledger's applicant), or NULL when the form has none. */
const struct field_def *spec_id_field(const struct program_spec *spec);
/* Fields of these types are personal data: encrypted at rest, masked in lists. */
bool spec_field_sensitive(const struct field_def *f);
/* The status of an application waiting at stage i ("submitted" at stage 0). */
const char *spec_stage_waiting_status(const struct program_spec *spec, size_t i);
/* Index of `value` in a level order array, or -1. */
int spec_order_index(const json_t *order, const char *value);
/* The order array of the spec's level_above rule, or NULL. */
const json_t *spec_level_order(const struct program_spec *spec);

#endif
