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

#endif
