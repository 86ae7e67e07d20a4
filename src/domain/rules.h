/* domain/rules.h — eligibility rules, quota standing and statuses. */
#ifndef TS_DOMAIN_RULES_H
#define TS_DOMAIN_RULES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "domain/form.h"
#include "domain/spec.h"

/* One earlier application of the same person (by ID blind index) in the same
 * series that still counts: in the running, approved or paid. */
struct history_entry {
	const char *group;
	int year;
	const char *level;    /* the category level of that application */
	const json_t *fields; /* its non-personal fields */
};

/* Applies spec's rules to normalised `fields` for category `cat` on the
 * Asia/Shanghai date (ty, tm, td), given the person's history. Entries of the
 * same group are left to the duplicate check and ignored here. Returns 0, or
 * TS_EINVAL with err code "ineligible" and the rule's message. */
int rules_check(const struct program_spec *spec, const struct category_def *cat, const json_t *fields,
		int ty, int tm, int td, const struct history_entry *hist, size_t nhist,
		struct ts_error *err) __attribute__((warn_unused_result));

/* The same over a flat list of normalised fields (form_check's output). */
int rules_check_values(const struct program_spec *spec, const struct category_def *cat,
		       const struct form_values *fields, int ty, int tm, int td, const struct history_entry *hist,
		       size_t nhist, struct ts_error *err) __attribute__((warn_unused_result));

/* "queued" when the applications still in the running at or ahead of this
 * one (itself included) are no more than `cap`, else "waitlisted". */
const char *quota_standing(int64_t cap, int64_t running_at_or_ahead);

/* Statuses that leave the running: rejected, withdrawn, abandoned, cancelled. */
bool status_in_running(const char *status);
/* Statuses in which the applicant may still change the form. */
bool status_editable(const char *status);

#endif
