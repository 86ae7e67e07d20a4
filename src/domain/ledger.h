/* domain/ledger.h — the submission ledger: a hash chain over accepted submissions.
 *
 * Entry hash = SHA-256 hex of "prev|program|category|rank|at_us|applicant",
 * where prev is the previous entry's hash (64 zeros for the first) and
 * applicant is the blind applicant id. Anyone holding the published entries
 * can recompute the chain; a receipt is its entry's hash.
 */
#ifndef TS_DOMAIN_LEDGER_H
#define TS_DOMAIN_LEDGER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "crypt/crypt.h"

#define LEDGER_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

struct ledger_entry {
	int64_t seq;
	const char *program, *category;
	int64_t rank;
	int64_t at_us;
	const char *applicant;
	const char *prev;
	const char *hash;
};

void ledger_hash(const char *prev, const char *program, const char *category, int64_t rank,
		 int64_t at_us, const char *applicant, char out[CRYPT_HEX_BYTES]);

/* Checks entries one at a time, in sequence order. */
struct ledger_verifier {
	char last_hash[CRYPT_HEX_BYTES];
	int64_t last_seq;
	int64_t last_at;
	int64_t count;
	json_t *last_rank; /* "program/category" → last rank seen */
};

void ledger_verifier_init(struct ledger_verifier *v);
void ledger_verifier_free(struct ledger_verifier *v);
/* Returns 0, or TS_EINVAL with err naming the entry and the break: a changed
 * entry (hash mismatch), a removed or inserted one (chain or rank gap), a
 * reordered one (ranks or times out of order). */
int ledger_verifier_step(struct ledger_verifier *v, const struct ledger_entry *e, struct ts_error *err)
	__attribute__((warn_unused_result));
/* The last rank seen for a category (0 if none). */
int64_t ledger_verifier_rank(const struct ledger_verifier *v, const char *program, const char *category);

/* The application holding a ledger entry's place (same program, category and
 * rank), as the cross-check reads it. Every pointer is borrowed. */
struct ledger_app {
	int64_t id;
	const char *receipt;
	int64_t submitted_at;
	const char *id_bidx;       /* lowercase hex; "" when the form has no ID number */
	const void *secret;        /* the sealed personal fields (CRYPT_AD_APP_SECRET) */
	size_t secret_len;
	bool edited;               /* has an "edit" event: PUT may have changed its ID number */
};

/* What ledger_check_app found that is not a break. */
struct ledger_app_note {
	bool id_changed_by_edit; /* the ID number differs from the entry's, after an edit */
};

/* Compares application a with ledger entry e of its place: the receipt is
 * the entry's hash, submitted_at is the entry's at; with keys (NULL: those
 * checks are skipped) the sealed fields open, the blind ID is the ID number's
 * (field id_key of the secret; NULL when the form has none) and, unless the
 * application was edited, the entry's applicant is that ID number's ledger
 * id. a NULL means no application holds the place. Returns 0 (note says
 * what was let pass), or TS_EINVAL with err naming the application and what
 * differs. Columns the ledger does not record (the applicant account, the
 * blind phone) are not checked. */
int ledger_check_app(const struct ledger_entry *e, const struct ledger_app *a, const struct crypt_keys *keys,
		     const char *id_key, struct ledger_app_note *note, struct ts_error *err)
	__attribute__((warn_unused_result));

#endif
