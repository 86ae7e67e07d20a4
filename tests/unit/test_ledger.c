/* tests/unit/test_ledger.c — the submission ledger's hash chain and its verifier (domain/ledger.h).
 *
 * A chain of five accepted submissions over two interleaved categories is
 * built with ledger_hash and verified; then each kind of tampering a
 * published ledger could suffer is applied to a copy and must be caught.
 * Then an application is compared with the entry of its place
 * (ledger_check_app): gone, its clear or sealed fields changed, or its ID
 * number corrected by an edit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
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

/* ---- ledger_check_app: an application against the entry of its place ---- */

#define IDN "530102199001011234"
#define IDN2 "530102198506063218"

struct app_fx {
	struct crypt_keys k;
	struct ledger_entry e;
	struct ledger_app a;
	char applicant[CRYPT_HEX_BYTES], hash[CRYPT_HEX_BYTES], bidx[CRYPT_HEX_BYTES];
	struct ts_buf secret;
};

static void seal_id(struct app_fx *f, const char *idn, char *bidx, struct ts_buf *out)
{
	char js[128];
	int n = snprintf(js, sizeof(js), "{\"id_number\":\"%s\",\"bank_account\":\"6222020200112233445\"}", idn);
	assert_int_equal(crypt_seal(&f->k, CRYPT_AD_APP_SECRET, js, (size_t)n, out), 0);
	crypt_blind_index(&f->k, "id", idn, bidx);
}

/* An honest application and its entry, under fixed keys (no key file). */
static void app_fx_init(struct app_fx *f)
{
	memset(f, 0, sizeof(*f));
	memset(f->k.enc, 1, sizeof(f->k.enc));
	memset(f->k.bidx, 2, sizeof(f->k.bidx));
	memset(f->k.ledger, 4, sizeof(f->k.ledger));
	ts_buf_init(&f->secret, 0);
	seal_id(f, IDN, f->bidx, &f->secret);
	crypt_ledger_id(&f->k, IDN, f->applicant);
	ledger_hash(LEDGER_GENESIS, PROG, TEC, 3, T0, f->applicant, f->hash);
	f->e = (struct ledger_entry){.seq = 7, .program = PROG, .category = TEC, .rank = 3, .at_us = T0,
				     .applicant = f->applicant, .prev = LEDGER_GENESIS, .hash = f->hash};
	f->a = (struct ledger_app){.id = 42, .receipt = f->hash, .submitted_at = T0, .id_bidx = f->bidx,
				   .secret = f->secret.ptr, .secret_len = f->secret.len};
}

static void expect_app_break(struct app_fx *f, const struct ledger_app *a, const struct crypt_keys *k,
			     const char *code, const char *says)
{
	struct ledger_app_note note;
	struct ts_error err;
	assert_int_equal(ledger_check_app(&f->e, a, k, "id_number", &note, &err), TS_EINVAL);
	assert_string_equal(err.code, code);
	if (says && !strstr(err.message, says))
		fail_msg("%s: \"%s\" does not say \"%s\"", code, err.message, says);
}

static void test_app_matches(void **state)
{
	(void)state;
	struct app_fx f;
	app_fx_init(&f);
	struct ledger_app_note note;
	struct ts_error err;
	assert_int_equal(ledger_check_app(&f.e, &f.a, &f.k, "id_number", &note, &err), 0);
	assert_false(note.id_changed_by_edit);
	/* an edit re-seals the same fields under a new nonce: still the same */
	struct ts_buf again;
	ts_buf_init(&again, 0);
	char bidx[CRYPT_HEX_BYTES];
	seal_id(&f, IDN, bidx, &again);
	struct ledger_app a = f.a;
	a.secret = again.ptr;
	a.secret_len = again.len;
	a.edited = true;
	assert_int_equal(ledger_check_app(&f.e, &a, &f.k, "id_number", &note, &err), 0);
	assert_false(note.id_changed_by_edit);
	ts_buf_free(&again);
	ts_buf_free(&f.secret);
}

static void test_app_gone_or_clear_fields_changed(void **state)
{
	(void)state;
	struct app_fx f;
	app_fx_init(&f);
	expect_app_break(&f, NULL, &f.k, "ledger_no_app", "第 7 条");
	struct ledger_app a = f.a;
	a.receipt = LEDGER_GENESIS;
	expect_app_break(&f, &a, &f.k, "ledger_receipt", "#42");
	a = f.a;
	a.submitted_at = T0 - 1000000;
	expect_app_break(&f, &a, &f.k, "ledger_submitted_at", "#42");
	/* without keys the fields in the clear are still compared */
	expect_app_break(&f, &a, NULL, "ledger_submitted_at", "#42");
	ts_buf_free(&f.secret);
}

static void test_app_sealed_fields_changed(void **state)
{
	(void)state;
	struct app_fx f;
	app_fx_init(&f);
	struct ts_buf other;
	ts_buf_init(&other, 0);
	char other_bidx[CRYPT_HEX_BYTES];
	seal_id(&f, IDN2, other_bidx, &other);

	struct ledger_app a = f.a; /* another person's blind ID */
	a.id_bidx = other_bidx;
	expect_app_break(&f, &a, &f.k, "ledger_id_bidx", "#42");
	a = f.a; /* another person's sealed fields */
	a.secret = other.ptr;
	a.secret_len = other.len;
	expect_app_break(&f, &a, &f.k, "ledger_id_bidx", "#42");
	a.id_bidx = other_bidx; /* both: only the ledger tells */
	expect_app_break(&f, &a, &f.k, "ledger_applicant", "第 7 条");
	a = f.a; /* one byte of the ciphertext */
	char *bad = malloc(f.secret.len);
	memcpy(bad, f.secret.ptr, f.secret.len);
	bad[f.secret.len - 1] ^= 1;
	a.secret = bad;
	expect_app_break(&f, &a, &f.k, "ledger_secret", "#42");
	struct ledger_app_note note;
	struct ts_error err;
	assert_int_equal(ledger_check_app(&f.e, &a, NULL, "id_number", &note, &err), 0); /* no keys: not looked at */
	free(bad);
	ts_buf_free(&other);
	ts_buf_free(&f.secret);
}

static void test_app_id_changed_by_edit(void **state)
{
	(void)state;
	struct app_fx f;
	app_fx_init(&f);
	struct ts_buf other;
	ts_buf_init(&other, 0);
	char other_bidx[CRYPT_HEX_BYTES];
	seal_id(&f, IDN2, other_bidx, &other);
	struct ledger_app a = f.a;
	a.secret = other.ptr;
	a.secret_len = other.len;
	a.id_bidx = other_bidx;
	a.edited = true; /* PUT may correct the ID number: the ledger keeps the submitted one */
	struct ledger_app_note note;
	struct ts_error err;
	assert_int_equal(ledger_check_app(&f.e, &a, &f.k, "id_number", &note, &err), 0);
	assert_true(note.id_changed_by_edit);
	ts_buf_free(&other);
	ts_buf_free(&f.secret);
}

static void test_app_form_without_id(void **state)
{
	(void)state;
	struct app_fx f;
	app_fx_init(&f);
	ledger_hash(LEDGER_GENESIS, PROG, TEC, 3, T0, "", f.hash);
	f.e.applicant = "";
	struct ledger_app a = f.a;
	a.id_bidx = "";
	struct ledger_app_note note;
	struct ts_error err;
	assert_int_equal(ledger_check_app(&f.e, &a, &f.k, NULL, &note, &err), 0);
	a.id_bidx = f.bidx; /* a blind ID where the form has no ID number */
	assert_int_equal(ledger_check_app(&f.e, &a, &f.k, NULL, &note, &err), TS_EINVAL);
	assert_string_equal(err.code, "ledger_id_bidx");
	ts_buf_free(&f.secret);
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
		cmocka_unit_test(test_app_matches),
		cmocka_unit_test(test_app_gone_or_clear_fields_changed),
		cmocka_unit_test(test_app_sealed_fields_changed),
		cmocka_unit_test(test_app_id_changed_by_edit),
		cmocka_unit_test(test_app_form_without_id),
	};
	return cmocka_run_group_tests_name("ledger", tests, NULL, NULL);
}
