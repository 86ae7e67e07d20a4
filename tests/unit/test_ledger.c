/* tests/unit/test_ledger.c — the submission ledger's hash chain and its verifier (domain/ledger.h).
 *
 * A chain of five accepted submissions over two interleaved categories is
 * built with ledger_hash and verified; then each kind of tampering a
 * published ledger could suffer is applied to a copy and must be caught.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "crypt/crypt.h"
#include "domain/ledger.h"

#define PROG "yn2022-skill"
#define SEN "senior-technician"
#define TEC "technician"
#define T0 ((int64_t)1665964800 * 1000000) /* 2022-10-17T08:00:00+08:00 */
#define MAXE 8

struct chain {
	size_t n;
	struct ledger_entry e[MAXE];
	char applicant[MAXE][CRYPT_HEX_BYTES];
	char prev[MAXE][CRYPT_HEX_BYTES];
	char hash[MAXE][CRYPT_HEX_BYTES];
};

/* Fills prev/hash from entry i on, as an honest writer would. */
static void rechain(struct chain *c, size_t from)
{
	for (size_t i = from; i < c->n; i++) {
		snprintf(c->prev[i], CRYPT_HEX_BYTES, "%s", i == 0 ? LEDGER_GENESIS : c->hash[i - 1]);
		ledger_hash(c->prev[i], c->e[i].program, c->e[i].category, c->e[i].rank, c->e[i].at_us,
			    c->e[i].applicant, c->hash[i]);
		c->e[i].prev = c->prev[i];
		c->e[i].hash = c->hash[i];
	}
}

static void add(struct chain *c, const char *cat, int64_t rank, int64_t at)
{
	size_t i = c->n++;
	snprintf(c->applicant[i], CRYPT_HEX_BYTES, "%064zx", (size_t)0xa11ce0 + i);
	c->e[i] = (struct ledger_entry){.seq = (int64_t)i + 1,
					.program = PROG,
					.category = cat,
					.rank = rank,
					.at_us = at,
					.applicant = c->applicant[i]};
}

/* Pointers into the struct must follow it when it is copied. */
static void fix_pointers(struct chain *c)
{
	for (size_t i = 0; i < c->n; i++) {
		c->e[i].applicant = c->applicant[i];
		c->e[i].prev = c->prev[i];
		c->e[i].hash = c->hash[i];
	}
}

static void build(struct chain *c)
{
	memset(c, 0, sizeof(*c));
	add(c, SEN, 1, T0 + 1);
	add(c, TEC, 1, T0 + 2);
	add(c, TEC, 2, T0 + 2); /* same microsecond: allowed, order is by seq */
	add(c, SEN, 2, T0 + 10);
	add(c, TEC, 3, T0 + 11);
	rechain(c, 0);
}

/* Runs the verifier; returns the index of the first refused entry (or n) and its error. */
static size_t verify(const struct chain *c, struct ts_error *err)
{
	struct ledger_verifier v;
	ledger_verifier_init(&v);
	size_t i;
	for (i = 0; i < c->n; i++)
		if (ledger_verifier_step(&v, &c->e[i], err) != 0)
			break;
	ledger_verifier_free(&v);
	return i;
}

static void expect_break(const struct chain *c, size_t at, const char *code)
{
	struct ts_error err;
	ts_error_clear(&err);
	size_t i = verify(c, &err);
	if (i != at)
		fail_msg("verifier stopped at entry %zu, expected %zu (%s)", i, at, err.message);
	assert_int_equal(err.status, TS_EINVAL);
	assert_string_equal(err.code, code);
	/* The message names the entry by its sequence number. */
	char seq[32];
	snprintf(seq, sizeof(seq), "%lld", (long long)c->e[at].seq);
	assert_non_null(strstr(err.message, seq));
}

static void test_hash_known_vector(void **state)
{
	(void)state;
	char applicant[65], out[CRYPT_HEX_BYTES];
	for (int i = 0; i < 32; i++)
		memcpy(applicant + 2 * i, "ab", 2);
	applicant[64] = '\0';
	/* sha256("000…0|yn2022-skill|technician|1|1665964800000001|abab…") computed with Python's hashlib. */
	ledger_hash(LEDGER_GENESIS, PROG, TEC, 1, T0 + 1, applicant, out);
	assert_string_equal(out, "422ed2442ec5dbd2820a84d146581d72a263cba7e895270736ba72b12e1b7930");
	/* Every input is bound. */
	char other[CRYPT_HEX_BYTES];
	ledger_hash(LEDGER_GENESIS, PROG, TEC, 2, T0 + 1, applicant, other);
	assert_string_not_equal(out, other);
	ledger_hash(LEDGER_GENESIS, PROG, TEC, 1, T0 + 2, applicant, other);
	assert_string_not_equal(out, other);
	ledger_hash(LEDGER_GENESIS, PROG, SEN, 1, T0 + 1, applicant, other);
	assert_string_not_equal(out, other);
	ledger_hash(out, PROG, TEC, 1, T0 + 1, applicant, other);
	assert_string_not_equal(out, other);
}

static void test_valid_chain(void **state)
{
	(void)state;
	struct chain c;
	build(&c);
	struct ledger_verifier v;
	ledger_verifier_init(&v);
	struct ts_error err;
	for (size_t i = 0; i < c.n; i++)
		if (ledger_verifier_step(&v, &c.e[i], &err) != 0)
			fail_msg("entry %zu refused: %s", i, err.message);
	assert_int_equal(v.count, 5);
	assert_int_equal(v.last_seq, 5);
	assert_string_equal(v.last_hash, c.hash[4]);
	/* Two categories interleaved, each counting 1, 2, … on its own. */
	assert_int_equal(ledger_verifier_rank(&v, PROG, SEN), 2);
	assert_int_equal(ledger_verifier_rank(&v, PROG, TEC), 3);
	assert_int_equal(ledger_verifier_rank(&v, PROG, "other"), 0);
	assert_int_equal(ledger_verifier_rank(&v, "yn2022-edu", TEC), 0);
	ledger_verifier_free(&v);
}

static void test_changed_field(void **state)
{
	(void)state;
	struct chain c;
	build(&c);
	c.applicant[2][0] = c.applicant[2][0] == 'f' ? 'e' : 'f';
	expect_break(&c, 2, "ledger_hash");

	build(&c);
	c.e[3].at_us -= 5; /* still after entry 2, but not what was hashed */
	expect_break(&c, 3, "ledger_hash");

	build(&c);
	c.e[4].category = SEN;
	expect_break(&c, 4, "ledger_hash");

	/* Rewriting the entry's own hash too breaks the link to the next one. */
	build(&c);
	c.applicant[1][5] ^= 1;
	ledger_hash(c.prev[1], PROG, TEC, 1, c.e[1].at_us, c.applicant[1], c.hash[1]);
	expect_break(&c, 2, "ledger_chain");
}

static void test_removed_entry(void **state)
{
	(void)state;
	struct chain c;
	build(&c);
	memmove(&c.e[2], &c.e[3], 2 * sizeof(c.e[0]));
	memmove(c.applicant[2], c.applicant[3], 2 * sizeof(c.applicant[0]));
	memmove(c.prev[2], c.prev[3], 2 * sizeof(c.prev[0]));
	memmove(c.hash[2], c.hash[3], 2 * sizeof(c.hash[0]));
	c.n = 4;
	fix_pointers(&c);
	expect_break(&c, 2, "ledger_chain");

	/* Removing an entry and re-chaining the rest leaves a rank gap. */
	build(&c);
	memmove(&c.e[2], &c.e[3], 2 * sizeof(c.e[0]));
	memmove(c.applicant[2], c.applicant[3], 2 * sizeof(c.applicant[0]));
	c.n = 4;
	for (size_t i = 0; i < c.n; i++)
		c.e[i].seq = (int64_t)i + 1;
	fix_pointers(&c);
	rechain(&c, 0);
	expect_break(&c, 3, "ledger_rank"); /* technician 1, then 3 */

	/* Removing the first entry: the second no longer starts from genesis. */
	build(&c);
	struct chain d = c;
	memmove(&d.e[0], &d.e[1], 4 * sizeof(d.e[0]));
	memmove(d.applicant[0], d.applicant[1], 4 * sizeof(d.applicant[0]));
	memmove(d.prev[0], d.prev[1], 4 * sizeof(d.prev[0]));
	memmove(d.hash[0], d.hash[1], 4 * sizeof(d.hash[0]));
	d.n = 4;
	fix_pointers(&d);
	expect_break(&d, 0, "ledger_chain");
}

static void test_inserted_entry(void **state)
{
	(void)state;
	struct chain c;
	build(&c);
	/* A forged entry after entry 2 that links to it correctly. */
	memmove(&c.e[3], &c.e[2], 3 * sizeof(c.e[0]));
	memmove(c.applicant[3], c.applicant[2], 3 * sizeof(c.applicant[0]));
	memmove(c.prev[3], c.prev[2], 3 * sizeof(c.prev[0]));
	memmove(c.hash[3], c.hash[2], 3 * sizeof(c.hash[0]));
	c.n = 6;
	snprintf(c.applicant[2], CRYPT_HEX_BYTES, "%064d", 0);
	c.e[2] = (struct ledger_entry){.seq = 3, .program = PROG, .category = SEN, .rank = 2, .at_us = T0 + 2};
	for (size_t i = 3; i < c.n; i++)
		c.e[i].seq = (int64_t)i + 1;
	fix_pointers(&c);
	snprintf(c.prev[2], CRYPT_HEX_BYTES, "%s", c.hash[1]);
	ledger_hash(c.prev[2], PROG, SEN, 2, T0 + 2, c.applicant[2], c.hash[2]);
	expect_break(&c, 3, "ledger_chain");

	/* Re-chained from there on, the category's ranks give it away. */
	rechain(&c, 2);
	expect_break(&c, 4, "ledger_rank"); /* senior 1, 2 (forged), 2 */

	/* Appended at the end with a correct link but a rank already used. */
	build(&c);
	add(&c, TEC, 3, T0 + 20);
	rechain(&c, 5);
	expect_break(&c, 5, "ledger_rank");
}

static void test_swapped_entries(void **state)
{
	(void)state;
	struct chain c;
	build(&c);
	struct ledger_entry t = c.e[1];
	c.e[1] = c.e[3];
	c.e[3] = t;
	c.e[1].seq = 2;
	c.e[3].seq = 4;
	expect_break(&c, 1, "ledger_chain");

	/* Swapped and re-chained: the ranks or times are out of order. */
	build(&c);
	t = c.e[1];
	c.e[1] = c.e[2];
	c.e[2] = t;
	char tmp[CRYPT_HEX_BYTES];
	memcpy(tmp, c.applicant[1], sizeof(tmp));
	memcpy(c.applicant[1], c.applicant[2], sizeof(tmp));
	memcpy(c.applicant[2], tmp, sizeof(tmp));
	c.e[1].seq = 2;
	c.e[2].seq = 3;
	fix_pointers(&c);
	rechain(&c, 0);
	expect_break(&c, 1, "ledger_rank"); /* technician 2 before 1 */
}

static void test_rank_gap(void **state)
{
	(void)state;
	struct chain c;
	memset(&c, 0, sizeof(c));
	add(&c, TEC, 1, T0 + 1);
	add(&c, TEC, 2, T0 + 2);
	add(&c, TEC, 4, T0 + 3);
	rechain(&c, 0);
	expect_break(&c, 2, "ledger_rank");

	memset(&c, 0, sizeof(c));
	add(&c, TEC, 2, T0 + 1); /* a category must start at 1 */
	rechain(&c, 0);
	expect_break(&c, 0, "ledger_rank");
}

static void test_time_and_sequence_order(void **state)
{
	(void)state;
	struct chain c;
	memset(&c, 0, sizeof(c));
	add(&c, TEC, 1, T0 + 10);
	add(&c, SEN, 1, T0 + 5);
	rechain(&c, 0);
	expect_break(&c, 1, "ledger_time");

	build(&c);
	c.e[2].seq = 2;
	expect_break(&c, 2, "ledger_order");
}

int main(void)
{
	if (crypt_init() != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_known_vector),
		cmocka_unit_test(test_valid_chain),
		cmocka_unit_test(test_changed_field),
		cmocka_unit_test(test_removed_entry),
		cmocka_unit_test(test_inserted_entry),
		cmocka_unit_test(test_swapped_entries),
		cmocka_unit_test(test_rank_gap),
		cmocka_unit_test(test_time_and_sequence_order),
	};
	return cmocka_run_group_tests_name("ledger", tests, NULL, NULL);
}
