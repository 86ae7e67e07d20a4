/* domain/review.h — the review pipeline: who acts at a stage, decisions,
 * publicity lengths. Pure logic; the union tree comes through a callback. */
#ifndef TS_DOMAIN_REVIEW_H
#define TS_DOMAIN_REVIEW_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "domain/spec.h"

/* Finds a union: writes its parent code ("" at the root) and level; false if unknown. */
typedef bool (*org_lookup_fn)(void *ctx, const char *code, char *parent, size_t pn, char *level, size_t ln);

/* The union acting at `st` for an applicant whose union is `union_code`: the
 * nearest union at or above it whose level is one of the stage's levels; for
 * a stage of level "base", the applicant's own union when none is found.
 * False when no union qualifies. */
bool review_responsible(const struct stage_def *st, const char *union_code, org_lookup_fn lookup, void *ctx,
			char *out, size_t n);
/* True when `code` is `root` or lies below it. */
bool review_in_subtree(const char *root, const char *code, org_lookup_fn lookup, void *ctx);

/* The Chinese name of an application status, as the staff console shows it
 * ("initial_passed" → "初审通过"), written to out (always NUL-terminated) and
 * returned. A status only `spec` knows (a stage's pass_status beyond the
 * statuses of docs/review.md) is named after its stage; `spec` may be NULL.
 * An unknown status is written as it is. */
const char *review_status_label(const struct program_spec *spec, const char *status, char *out, size_t n);

/* True when `status` is one an application of `spec` can have: the fixed
 * statuses of docs/review.md (those of the seed pipeline among them, so a
 * filter the staff console offers for every program is never refused) or a
 * pass_status of one of spec's stages; `spec` may be NULL. */
bool review_status_known(const struct program_spec *spec, const char *status);

enum review_decision_kind { DECISION_PASS, DECISION_REJECT, DECISION_RETURN };

struct review_decision {
	enum review_decision_kind kind;
	const char *reason;  /* borrowed from the body */
	json_t *items;       /* return: owned array of strings */
	int64_t deadline;    /* return: UTC µs, end of the given day when a date was given */
};

/* Checks a decision body {"decision","reason","items","deadline"} at time
 * `now`: reject needs a reason; return needs a non-empty list of items and a
 * future deadline (YYYY-MM-DD, meaning the end of that day in Asia/Shanghai,
 * or ISO-8601). On error returns TS_EINVAL with err and a field list in
 * `fields` (array appended). */
int review_parse_decision(const json_t *body, int64_t now, struct review_decision *out, json_t *fields,
			  struct ts_error *err) __attribute__((warn_unused_result));
void review_decision_free(struct review_decision *d);

/* Days from `start` to `end` inclusive ("YYYY-MM-DD"), counting only working
 * days when `working` (weekends off unless listed in calendar.workdays,
 * calendar.holidays off). -1 if a date is invalid or end < start. */
int review_days(const char *start, const char *end, bool working, const json_t *calendar);

#endif
