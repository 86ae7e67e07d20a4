/* tests/unit/test_store.c — the SQLite store (store/store.h) on a temporary database file.
 *
 * Covers migrations, the union tree, programs, SMS codes, sessions, and the
 * submission writer under concurrency: 4 threads × 200 jobs race for 550
 * places; exactly 550 get ranks 1..550, the rest are told "quota_full", the
 * ledger verifies end to end, and a withdrawal moves later applications up
 * (依序递补).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/time.h"
#include "crypt/crypt.h"
#include "domain/ledger.h"
#include "domain/rules.h"
#include "store/sqlite/sq.h"
#include "store/store.h"
#include "store_waiter.h"

#include <sys/stat.h>

#define S(x) ((int64_t)(x) * TS_US_PER_SEC)
#define T0 S(1665964800) /* 2022-10-17T08:00:00+08:00 */
#define PROG "yn2022-skill"
#define SEN "senior-technician"

struct fx {
	char dir[128];
	char url[200];
	struct store *s;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	const char *tmp = getenv("TMPDIR");
	snprintf(fx->dir, sizeof(fx->dir), "%s/ts-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fx->dir))
		return -1;
	snprintf(fx->url, sizeof(fx->url), "sqlite:%s/t.db", fx->dir);
	struct ts_error err;
	if (store_open(fx->url, fx->dir, &fx->s, &err) != 0) {
		fprintf(stderr, "store_open: %s\n", err.message);
		return -1;
	}
	*state = fx;
	return 0;
}

static void remove_dir(const char *dir)
{
	static const char *const files[] = {"t.db", "t.db-wal", "t.db-shm", "t.db-journal"};
	char p[300];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	store_close(fx->s);
	remove_dir(fx->dir);
	free(fx);
	return 0;
}

#define OK(call)                                                                                   \
	do {                                                                                       \
		struct ts_error err_;                                                              \
		ts_error_clear(&err_);                                                             \
		int rc_ = (call);                                                                  \
		if (rc_ != 0)                                                                      \
			fail_msg("%s = %d (%s: %s)", #call, rc_, err_.code, err_.message);         \
	} while (0)
#define E (&err_)

static int64_t applicant(struct store *s, int i)
{
	char bidx[CRYPT_HEX_BYTES], sealed[32];
	snprintf(bidx, sizeof(bidx), "%032x", 0x100000 + i);
	snprintf(sealed, sizeof(sealed), "sealed-phone-%d", i);
	int64_t id = 0;
	OK(store_applicant_ensure(s, bidx, sealed, strlen(sealed), T0, &id, E));
	return id;
}

#define STATUS_LEN sizeof(((struct store_app *)0)->status)

/* ---------------------------------------------------------------- basics */

static void test_migrations(void **state)
{
	struct fx *fx = *state;
	int v = store_schema_version(fx->s);
	assert_true(v >= 1);
	OK(store_check(fx->s, E));
	/* Reopening the same file runs no migration twice and keeps the version. */
	struct store *again = NULL;
	OK(store_open(fx->url, fx->dir, &again, E));
	assert_int_equal(store_schema_version(again), v);
	store_close(again);
	/* Unknown URLs are refused. */
	struct ts_error err;
	struct store *none = NULL;
	assert_int_equal(store_open("mysql://x", fx->dir, &none, &err), TS_EINVAL);
	assert_null(none);
}

static void test_orgs(void **state)
{
	struct fx *fx = *state;
	struct store_org root = {"yn", "云南省总工会", "province", NULL};
	struct store_org km = {"yn-km", "昆明市总工会", "prefecture", "yn"};
	struct store_org gd = {"yn-km-gd", "官渡区总工会", "county", "yn-km"};
	OK(store_org_put(fx->s, &root, E));
	OK(store_org_put(fx->s, &km, E));
	OK(store_org_put(fx->s, &gd, E));
	km.name = "昆明市总工会（改）";
	OK(store_org_put(fx->s, &km, E)); /* an update keeps its place */
	json_t *out = NULL;
	OK(store_orgs_list(fx->s, &out, E));
	json_t *orgs = json_object_get(out, "orgs");
	assert_int_equal(json_array_size(orgs), 3);
	json_t *o0 = json_array_get(orgs, 0), *o1 = json_array_get(orgs, 1), *o2 = json_array_get(orgs, 2);
	assert_string_equal(json_string_value(json_object_get(o0, "code")), "yn");
	assert_true(json_is_null(json_object_get(o0, "parent")));
	assert_string_equal(json_string_value(json_object_get(o1, "code")), "yn-km");
	assert_string_equal(json_string_value(json_object_get(o1, "name")), "昆明市总工会（改）");
	assert_string_equal(json_string_value(json_object_get(o1, "parent")), "yn");
	assert_string_equal(json_string_value(json_object_get(o2, "level")), "county");
	json_decref(out);
}

static void test_programs(void **state)
{
	struct fx *fx = *state;
	int64_t v0 = -1, v1, v2, v3;
	OK(store_programs_version(fx->s, &v0, E));
	const char *skill = "{\"id\":\"yn2022-skill\",\"categories\":[{\"code\":\"senior-technician\"},"
			    "{\"code\":\"technician\"}]}";
	const char *edu = "{\"id\":\"yn2022-edu\",\"categories\":[{\"code\":\"bachelor\"}]}";
	OK(store_program_put(fx->s, "yn2022-skill", skill, T0, T0 + S(7 * 86400), E));
	OK(store_programs_version(fx->s, &v1, E));
	assert_true(v1 > v0);
	OK(store_program_put(fx->s, "yn2022-edu", edu, T0, T0 + S(7 * 86400), E));
	OK(store_programs_version(fx->s, &v2, E));
	assert_true(v2 > v1);
	OK(store_program_put(fx->s, "yn2022-skill", skill, T0, T0 + S(8 * 86400), E)); /* replace */
	OK(store_programs_version(fx->s, &v3, E));
	assert_true(v3 > v2);

	json_t *list = NULL;
	OK(store_programs_list(fx->s, &list, E));
	assert_int_equal(json_array_size(list), 2);
	json_t *p0 = json_array_get(list, 0), *p1 = json_array_get(list, 1);
	assert_string_equal(json_string_value(json_object_get(p0, "id")), "yn2022-edu");
	assert_string_equal(json_string_value(json_object_get(p1, "id")), "yn2022-skill");
	assert_true(json_is_object(json_object_get(p1, "spec")));
	assert_int_equal(json_array_size(json_object_get(json_object_get(p1, "spec"), "categories")), 2);
	assert_int_equal(json_integer_value(json_object_get(p1, "version")), v3);
	json_decref(list);

	json_t *taken = NULL;
	OK(store_quota_taken(fx->s, &taken, E));
	assert_int_equal(json_object_size(taken), 3);
	assert_true(json_is_integer(json_object_get(taken, "yn2022-skill/senior-technician")));
	assert_int_equal(json_integer_value(json_object_get(taken, "yn2022-skill/technician")), 0);
	assert_int_equal(json_integer_value(json_object_get(taken, "yn2022-edu/bachelor")), 0);
	json_decref(taken);
}

static void test_applicants(void **state)
{
	struct fx *fx = *state;
	int64_t a = applicant(fx->s, 1), b = applicant(fx->s, 2), a2 = applicant(fx->s, 1);
	assert_true(a > 0);
	assert_true(b != a);
	assert_int_equal(a2, a); /* the same phone is the same applicant */
	struct ts_buf phone;
	ts_buf_init(&phone, 0);
	OK(store_applicant_phone(fx->s, b, &phone, E));
	assert_string_equal(phone.ptr, "sealed-phone-2");
	ts_buf_free(&phone);
	struct ts_error err;
	ts_buf_init(&phone, 0);
	assert_int_equal(store_applicant_phone(fx->s, 999999, &phone, &err), TS_ENOTFOUND);
	ts_buf_free(&phone);
}

/* ---------------------------------------------------------------- SMS codes */

static const struct store_code_limits LIM = {
	.min_interval_us = S(60), .per_day = 10, .ttl_us = S(300), .max_tries = 5};
#define PH "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a" /* a phone's blind index, as crypt_blind_index writes it */
#define PH_OTHER "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"

static void test_code_rate_limit(void **state)
{
	struct fx *fx = *state;
	int64_t retry = -1;
	struct ts_error err;
	OK(store_code_create(fx->s, PH, "login", "hash-1", T0, &LIM, &retry, E));
	ts_error_clear(&err);
	assert_int_equal(store_code_create(fx->s, PH, "login", "hash-2", T0 + S(10), &LIM, &retry, &err),
			 TS_ELIMIT);
	assert_int_equal(retry, 50);
	assert_int_equal(err.status, TS_ELIMIT);
	assert_true(strlen(err.message) > 0);
	/* Sub-second remainders round up, never to 0. */
	assert_int_equal(store_code_create(fx->s, PH, "login", "hash-2", T0 + S(60) - 1, &LIM, &retry, &err),
			 TS_ELIMIT);
	assert_int_equal(retry, 1);
	/* Another phone is not affected. */
	OK(store_code_create(fx->s, PH_OTHER, "login", "hash-x", T0 + S(10), &LIM, &retry, E));
	OK(store_code_create(fx->s, PH, "login", "hash-2", T0 + S(60), &LIM, &retry, E));
	/* The refused attempt did not count: the first code is superseded by hash-2 only. */
	assert_int_equal(store_code_consume(fx->s, PH, "login", "hash-1", T0 + S(61), &LIM, &err), TS_EAUTH);
	OK(store_code_consume(fx->s, PH, "login", "hash-2", T0 + S(62), &LIM, E));

	/* At most per_day codes in 24 h. */
	int64_t t = T0 + S(120);
	for (int i = 2; i < LIM.per_day; i++, t += S(60))
		OK(store_code_create(fx->s, PH, "login", "hash-n", t, &LIM, &retry, E));
	assert_int_equal(store_code_create(fx->s, PH, "login", "hash-n", t, &LIM, &retry, &err), TS_ELIMIT);
	assert_true(retry > 0);
	OK(store_code_create(fx->s, PH, "login", "hash-n", T0 + S(86400 + 60), &LIM, &retry, E));
}

static void test_code_consume_once(void **state)
{
	struct fx *fx = *state;
	int64_t retry;
	struct ts_error err;
	OK(store_code_create(fx->s, PH, "login", "right", T0, &LIM, &retry, E));
	/* The purpose must match. */
	assert_int_equal(store_code_consume(fx->s, PH, "staff", "right", T0 + S(5), &LIM, &err), TS_EAUTH);
	OK(store_code_consume(fx->s, PH, "login", "right", T0 + S(5), &LIM, E));
	ts_error_clear(&err);
	assert_int_equal(store_code_consume(fx->s, PH, "login", "right", T0 + S(6), &LIM, &err), TS_EAUTH);
	assert_int_equal(err.status, TS_EAUTH);
	assert_true(strlen(err.message) > 0);
}

static void test_code_tries_exhausted(void **state)
{
	struct fx *fx = *state;
	int64_t retry;
	struct ts_error err;
	OK(store_code_create(fx->s, PH, "login", "right", T0, &LIM, &retry, E));
	for (int i = 0; i < LIM.max_tries; i++)
		assert_int_equal(store_code_consume(fx->s, PH, "login", "wrong", T0 + S(1 + i), &LIM, &err), TS_EAUTH);
	assert_int_equal(store_code_consume(fx->s, PH, "login", "right", T0 + S(10), &LIM, &err), TS_EAUTH);

	/* Four wrong tries still leave the fifth for the right code. */
	OK(store_code_create(fx->s, PH, "login", "right2", T0 + S(60), &LIM, &retry, E));
	for (int i = 0; i < LIM.max_tries - 1; i++)
		assert_int_equal(store_code_consume(fx->s, PH, "login", "wrong", T0 + S(61 + i), &LIM, &err), TS_EAUTH);
	OK(store_code_consume(fx->s, PH, "login", "right2", T0 + S(70), &LIM, E));
}

static void test_code_expiry(void **state)
{
	struct fx *fx = *state;
	int64_t retry;
	struct ts_error err;
	OK(store_code_create(fx->s, PH, "login", "right", T0, &LIM, &retry, E));
	assert_int_equal(store_code_consume(fx->s, PH, "login", "right", T0 + LIM.ttl_us, &LIM, &err), TS_EAUTH);
	assert_int_equal(store_code_consume(fx->s, PH, "login", "right", T0 + LIM.ttl_us + S(1), &LIM, &err),
			 TS_EAUTH);
	OK(store_code_create(fx->s, PH, "login", "right", T0 + S(600), &LIM, &retry, E));
	OK(store_code_consume(fx->s, PH, "login", "right", T0 + S(600) + LIM.ttl_us - 1, &LIM, E));
}

/* ---------------------------------------------------------------- sessions */

#define TOK "5e55105e55105e55105e55105e55105e55105e55105e55105e55105e55105e55"

static void test_sessions(void **state)
{
	struct fx *fx = *state;
	const int64_t idle = S(30 * 60);
	struct store_session ss;
	struct ts_error err;
	OK(store_session_create(fx->s, TOK, "applicant", 42, T0, T0 + S(3600), E));
	memset(&ss, 0, sizeof(ss));
	OK(store_session_get(fx->s, TOK, T0 + S(1), idle, &ss, E));
	assert_string_equal(ss.kind, "applicant");
	assert_int_equal(ss.subject, 42);
	assert_int_equal(ss.created_at, T0);
	assert_int_equal(ss.expires_at, T0 + S(3600));
	/* Used every 20 minutes, it stays alive… */
	OK(store_session_get(fx->s, TOK, T0 + S(20 * 60), idle, &ss, E));
	OK(store_session_get(fx->s, TOK, T0 + S(40 * 60), idle, &ss, E));
	OK(store_session_get(fx->s, TOK, T0 + S(59 * 60), idle, &ss, E));
	/* …until its absolute expiry. */
	assert_int_equal(store_session_get(fx->s, TOK, T0 + S(3600), idle, &ss, &err), TS_ENOTFOUND);
	assert_int_equal(store_session_get(fx->s, TOK, T0 + S(3601), idle, &ss, &err), TS_ENOTFOUND);

	/* Idle longer than idle_us. */
	const char *tok2 = "b" TOK;
	OK(store_session_create(fx->s, tok2, "staff", 7, T0, T0 + S(8 * 3600), E));
	OK(store_session_get(fx->s, tok2, T0 + S(29 * 60), idle, &ss, E));
	assert_string_equal(ss.kind, "staff");
	assert_int_equal(store_session_get(fx->s, tok2, T0 + S(29 * 60) + idle + S(1), idle, &ss, &err),
			 TS_ENOTFOUND);

	/* Deleted, and unknown. */
	const char *tok3 = "c" TOK;
	OK(store_session_create(fx->s, tok3, "applicant", 43, T0, T0 + S(3600), E));
	OK(store_session_get(fx->s, tok3, T0 + S(1), idle, &ss, E));
	OK(store_session_delete(fx->s, tok3, E));
	assert_int_equal(store_session_get(fx->s, tok3, T0 + S(2), idle, &ss, &err), TS_ENOTFOUND);
	assert_int_equal(store_session_get(fx->s, "nope", T0, idle, &ss, &err), TS_ENOTFOUND);
	OK(store_session_delete(fx->s, "nope", E));
}

/* A use of a session is noted in memory and written later, in one
 * transaction (no write on the request's path); another handle on the same
 * database (another node) sees it once flushed, and closing flushes too. */
static void test_session_use_written_later(void **state)
{
	struct fx *fx = *state;
	const int64_t idle = S(30 * 60);
	struct store_session ss;
	struct ts_error err;
	const char *tok = "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0";
	OK(store_session_create(fx->s, tok, "applicant", 44, T0, T0 + S(8 * 3600), E));
	OK(store_session_get(fx->s, tok, T0 + S(20 * 60), idle, &ss, E));
	assert_int_equal(ss.last_seen, T0); /* not stale enough to note before this use */

	struct store *other;
	OK(store_open(fx->url, fx->dir, &other, E));
	/* noted on this handle only: the other still sees last_seen = T0 */
	assert_int_equal(store_session_get(other, tok, T0 + S(45 * 60), idle, &ss, &err), TS_ENOTFOUND);
	OK(store_session_get(fx->s, tok, T0 + S(45 * 60), idle, &ss, E));
	assert_int_equal(ss.last_seen, T0 + S(20 * 60));
	OK(store_sessions_flush(fx->s, E));
	OK(store_session_get(other, tok, T0 + S(45 * 60), idle, &ss, E));
	assert_int_equal(ss.last_seen, T0 + S(45 * 60));
	/* a flush never moves last_seen back */
	OK(store_sessions_flush(other, E));
	OK(store_sessions_flush(fx->s, E));
	/* the use at 70 min is noted on `other` and written when it closes */
	OK(store_session_get(other, tok, T0 + S(70 * 60), idle, &ss, E));
	store_close(other);
	OK(store_session_get(fx->s, tok, T0 + S(95 * 60), idle, &ss, E));
	assert_int_equal(ss.last_seen, T0 + S(70 * 60));
	/* after logout a pending note does not bring the session back */
	OK(store_session_delete(fx->s, tok, E));
	OK(store_sessions_flush(fx->s, E));
	assert_int_equal(store_session_get(fx->s, tok, T0 + S(96 * 60), idle, &ss, &err), TS_ENOTFOUND);
}

/* ---------------------------------------------------------------- the writer */

struct jobdata {
	struct submit_job job;
	char id_bidx[CRYPT_HEX_BYTES], ledger_id[CRYPT_HEX_BYTES];
	char secret[24];
};

static void job_init(struct jobdata *d, const char *category, int64_t places, int64_t app, int person,
		     struct waiter *w)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->id_bidx, sizeof(d->id_bidx), "%032x", 0x1d0000 + person);
	snprintf(d->ledger_id, sizeof(d->ledger_id), "%064x", 0x1e0000 + person);
	snprintf(d->secret, sizeof(d->secret), "secret-%d", person);
	d->job = (struct submit_job){.program = PROG,
				     .category = category,
				     .group = "yn2022-skill",
				     .series = "yn-skill",
				     .level = "高级技师（一级）",
				     .year = 2022,
				     .places = places,
				     .applicant = app,
				     .id_bidx = d->id_bidx,
				     .ledger_id = d->ledger_id,
				     .union_code = "yn-km",
				     .fields_json = "{\"name\":\"张三丰\",\"occupation\":\"焊工\"}",
				     .secret = d->secret,
				     .secret_len = strlen(d->secret),
				     .done = job_done,
				     .arg = w};
}

#define NTHREADS 4
#define PER_THREAD 200
#define PLACES 550

struct submitter {
	struct store *s;
	struct jobdata *jobs; /* PER_THREAD of them */
};

static void *submit_thread(void *arg)
{
	struct submitter *t = arg;
	for (int i = 0; i < PER_THREAD; i++) {
		store_submit(t->s, &t->jobs[i].job);
		if (i % 16 == 0)
			sched_yield();
	}
	return NULL;
}

struct ledger_check {
	struct ledger_verifier v;
	struct ts_error err;
	int64_t n;
};

static int ledger_cb(void *ctx, const struct ledger_entry *e)
{
	struct ledger_check *c = ctx;
	c->n++;
	return ledger_verifier_step(&c->v, e, &c->err) ? 1 : 0;
}

static void test_writer_race_for_places(void **state)
{
	struct fx *fx = *state;
	struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	const int total = NTHREADS * PER_THREAD;
	struct jobdata *jobs = calloc(total, sizeof(*jobs));
	for (int i = 0; i < total; i++)
		job_init(&jobs[i], SEN, PLACES, applicant(fx->s, i), i, &w);
	OK(store_program_put(fx->s, PROG, "{\"id\":\"yn2022-skill\",\"categories\":[{\"code\":\"senior-technician\"}]}",
			     T0, T0 + S(86400), E));
	OK(store_writer_start(fx->s, E));

	pthread_t th[NTHREADS];
	struct submitter sub[NTHREADS];
	for (int t = 0; t < NTHREADS; t++) {
		sub[t] = (struct submitter){fx->s, jobs + t * PER_THREAD};
		assert_int_equal(pthread_create(&th[t], NULL, submit_thread, &sub[t]), 0);
	}
	for (int t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	wait_for(&w, total);

	/* Exactly PLACES accepted, with ranks 1..PLACES once each; the rest quota_full. */
	int accepted = 0, full = 0;
	char *seen = calloc(PLACES + 1, 1);
	for (int i = 0; i < total; i++) {
		struct submit_job *j = &jobs[i].job;
		if (j->rc == 0) {
			accepted++;
			assert_true(j->rank >= 1 && j->rank <= PLACES);
			assert_int_equal(seen[j->rank], 0);
			seen[j->rank] = 1;
			assert_true(j->id > 0);
			assert_int_equal(strlen(j->receipt), 64);
			assert_int_equal(j->running_at_or_ahead, j->rank);
			assert_true(j->submitted_at > 0);
		} else {
			assert_int_equal(j->rc, TS_ECONFLICT);
			assert_string_equal(j->err.code, "quota_full");
			full++;
		}
	}
	free(seen);
	assert_int_equal(accepted, PLACES);
	assert_int_equal(full, total - PLACES);

	/* Arrival order is rank order: within one thread, later jobs never rank
	 * ahead of earlier ones, and once refused, none after is accepted. */
	for (int t = 0; t < NTHREADS; t++) {
		int64_t last = 0;
		bool refused = false;
		for (int i = 0; i < PER_THREAD; i++) {
			struct submit_job *j = &jobs[t * PER_THREAD + i].job;
			if (j->rc == 0) {
				assert_false(refused);
				assert_true(j->rank > last);
				last = j->rank;
			} else {
				refused = true;
			}
		}
	}
	/* Earlier ranks were not submitted later. */
	int64_t *at = calloc(PLACES + 1, sizeof(*at));
	for (int i = 0; i < total; i++)
		if (jobs[i].job.rc == 0)
			at[jobs[i].job.rank] = jobs[i].job.submitted_at;
	for (int r = 2; r <= PLACES; r++)
		assert_true(at[r] >= at[r - 1]);
	free(at);

	/* One stored application, read back: the first accepted one (thread 0's
	 * first job may have come after the places ran out). */
	int a0 = -1;
	for (int i = 0; i < total && a0 < 0; i++)
		if (jobs[i].job.rc == 0)
			a0 = i;
	assert_true(a0 >= 0);
	struct store_app app;
	OK(store_app_get(fx->s, jobs[a0].job.id, &app, E));
	assert_string_equal(app.program, PROG);
	assert_string_equal(app.category, SEN);
	assert_string_equal(app.status, "submitted");
	assert_int_equal(app.rank, jobs[a0].job.rank);
	assert_int_equal(app.applicant, jobs[a0].job.applicant);
	assert_string_equal(app.receipt, jobs[a0].job.receipt);
	assert_string_equal(app.union_code, "yn-km");
	assert_string_equal(json_string_value(json_object_get(app.fields, "occupation")), "焊工");
	assert_int_equal(app.secret.len, strlen(jobs[a0].secret));
	assert_memory_equal(app.secret.ptr, jobs[a0].secret, app.secret.len);
	assert_int_equal(app.running_at_or_ahead, app.rank);
	store_app_free(&app);

	/* Duplicates: the same phone again, and another phone with the same ID. */
	int first = -1;
	for (int i = 0; i < total && first < 0; i++)
		if (jobs[i].job.rc == 0)
			first = i;
	struct jobdata dup_phone, dup_id;
	job_init(&dup_phone, SEN, PLACES, jobs[first].job.applicant, 5000, &w);
	job_init(&dup_id, SEN, PLACES, applicant(fx->s, 5001), first, &w); /* person = first's id_bidx */
	store_submit(fx->s, &dup_phone.job);
	store_submit(fx->s, &dup_id.job);
	wait_for(&w, total + 2);
	assert_int_equal(dup_phone.job.rc, TS_ECONFLICT);
	assert_string_equal(dup_phone.job.err.code, "duplicate");
	assert_int_equal(dup_phone.job.existing_id, jobs[first].job.id);
	assert_int_equal(dup_id.job.rc, TS_ECONFLICT);
	assert_string_equal(dup_id.job.err.code, "duplicate");
	assert_int_equal(dup_id.job.existing_id, 0);

	struct store_writer_stats st;
	store_writer_stats(fx->s, &st);
	assert_int_equal(st.jobs, (uint64_t)total + 2);
	assert_true(st.batches >= 1 && st.batches <= st.jobs);
	assert_int_equal(st.commit_failures, 0);
	print_message("writer: %llu jobs in %llu batches\n", (unsigned long long)st.jobs, (unsigned long long)st.batches);
	assert_int_equal(st.queue_depth, 0);
	uint64_t hist = 0;
	for (int i = 0; i < 8; i++)
		hist += st.batch_hist[i];
	assert_int_equal(hist, st.batches);

	/* The whole ledger verifies; every application has its entry. */
	struct ledger_check lc;
	memset(&lc, 0, sizeof(lc));
	ledger_verifier_init(&lc.v);
	int rc = store_ledger_each(fx->s, ledger_cb, &lc, &lc.err);
	if (rc != 0)
		fail_msg("ledger breaks at entry %lld: %s", (long long)lc.n, lc.err.message);
	assert_int_equal(lc.n, PLACES);
	assert_int_equal(lc.v.count, PLACES);
	assert_int_equal(ledger_verifier_rank(&lc.v, PROG, SEN), PLACES);
	ledger_verifier_free(&lc.v);

	int64_t orphans = -1;
	json_t *taken = NULL;
	OK(store_ledger_crosscheck(fx->s, &orphans, &taken, E));
	assert_int_equal(orphans, 0);
	assert_int_equal(json_integer_value(json_object_get(taken, PROG "/" SEN)), PLACES);
	json_decref(taken);

	store_writer_drain(fx->s);
	free(jobs);
}

/* The checkpoints of a long rush (sq_after_batch): the checkpointer thread
 * copies the WAL into the database while the writer goes on, and once the
 * WAL passes its restart mark the writer copies the last frames itself, so
 * SQLite starts the log again: the WAL file stays near that mark instead of
 * growing with every submission. Here with marks 50 times lower than the
 * server's; every job is stored with its rank and the database is sound. */
static void test_writer_checkpoints_bound_the_wal(void **state)
{
	struct fx *fx = *state;
	struct store_sqlite *q = sq_of(fx->s);
	q->ckpt_wake_pages = 200;
	q->wal_restart_pages = 1000;
	q->catchup_pages = 40;
	struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	const int total = 4000;
	struct jobdata *jobs = calloc(total, sizeof(*jobs));
	for (int i = 0; i < total; i++)
		job_init(&jobs[i], SEN, total, applicant(fx->s, i), i, &w);
	OK(store_writer_start(fx->s, E));
	char wal[200];
	snprintf(wal, sizeof(wal), "%s/t.db-wal", fx->dir);
	off_t biggest = 0;
	for (int i = 0; i < total; i++) {
		store_submit(fx->s, &jobs[i].job);
		if (i % 50 == 49) {
			wait_for(&w, i + 1); /* batches of 50, as a rush gives them */
			struct stat st;
			if (stat(wal, &st) == 0 && st.st_size > biggest)
				biggest = st.st_size;
		}
	}
	wait_for(&w, total);
	for (int i = 0; i < total; i++) {
		assert_int_equal(jobs[i].job.rc, 0);
		assert_int_equal(jobs[i].job.rank, i + 1);
	}
	/* 4 000 submissions write ≈ 2 frames each; without the restarts the WAL
	 * would hold them all (≈ 8 000 frames, 33 MB) */
	print_message("WAL file at most %lld bytes\n", (long long)biggest);
	assert_true(biggest > 0);
	assert_true(biggest < (off_t)3 * 1000 * (4096 + 24));
	store_writer_drain(fx->s);
	OK(store_check(fx->s, E)); /* PRAGMA integrity_check */
	free(jobs);
}

/* A batch is whatever is queued when the writer wakes up; during a rush that
 * can span many programs and categories at once. Every job must still get
 * its own answer — one busy moment must not fail them all "unavailable". */
static void test_writer_batch_many_categories(void **state)
{
	struct fx *fx = *state;
	struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	enum { NCAT = 80 };
	struct jobdata *jobs = calloc(NCAT, sizeof(*jobs));
	char (*cat)[16] = calloc(NCAT, sizeof(*cat));
	for (int i = 0; i < NCAT; i++) {
		snprintf(cat[i], sizeof(cat[i]), "cat-%02d", i);
		job_init(&jobs[i], cat[i], 10, applicant(fx->s, i), i, &w);
		jobs[i].job.group = cat[i]; /* one group per category: no duplicates */
	}
	/* Queued before the writer starts, so they form one batch. */
	for (int i = 0; i < NCAT; i++)
		store_submit(fx->s, &jobs[i].job);
	OK(store_writer_start(fx->s, E));
	wait_for(&w, NCAT);
	int failed = 0;
	for (int i = 0; i < NCAT; i++)
		if (jobs[i].job.rc != 0)
			failed++;
	int ranked_1 = 0;
	for (int i = 0; i < NCAT; i++)
		ranked_1 += jobs[i].job.rank == 1;
	struct ts_error first = jobs[0].job.err;
	store_writer_drain(fx->s);
	free(jobs);
	free(cat);
	if (failed)
		fail_msg("%d of %d jobs in %d categories failed (first: %s \"%s\")", failed, NCAT, NCAT, first.code,
			 first.message);
	assert_int_equal(ranked_1, NCAT);
}

static int64_t running_of(struct store *s, int64_t id, char *status)
{
	struct store_app a;
	OK(store_app_get(s, id, &a, E));
	int64_t r = a.running_at_or_ahead;
	if (status)
		snprintf(status, sizeof(a.status), "%s", a.status);
	store_app_free(&a);
	return r;
}

static void test_withdrawal_moves_queue_up(void **state)
{
	struct fx *fx = *state;
	struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	OK(store_writer_start(fx->s, E));
	const int64_t cap = 3, places = 5;
	struct jobdata jobs[6];
	for (int i = 0; i < 5; i++) {
		job_init(&jobs[i], SEN, places, applicant(fx->s, i), i, &w);
		store_submit(fx->s, &jobs[i].job);
		wait_for(&w, i + 1);
		assert_int_equal(jobs[i].job.rc, 0);
		assert_int_equal(jobs[i].job.rank, i + 1);
		assert_int_equal(jobs[i].job.running_at_or_ahead, i + 1);
	}
	int64_t id[5];
	for (int i = 0; i < 5; i++)
		id[i] = jobs[i].job.id;
	assert_string_equal(quota_standing(cap, running_of(fx->s, id[3], NULL)), "waitlisted");
	assert_string_equal(quota_standing(cap, running_of(fx->s, id[4], NULL)), "waitlisted");

	/* Number 2 withdraws: 4 moves into the paid quota, 5 moves up one. */
	static const char *const from_submitted[] = {"submitted", "returned", NULL};
	OK(store_app_transition(fx->s, id[1], from_submitted, "withdrawn", "applicant", "withdraw", "改变主意", NULL,
				T0 + S(100), E));
	char status[STATUS_LEN];
	assert_int_equal(running_of(fx->s, id[0], NULL), 1);
	running_of(fx->s, id[1], status);
	assert_string_equal(status, "withdrawn");
	assert_int_equal(running_of(fx->s, id[2], NULL), 2);
	assert_int_equal(running_of(fx->s, id[3], NULL), 3);
	assert_int_equal(running_of(fx->s, id[4], NULL), 4);
	assert_string_equal(quota_standing(cap, running_of(fx->s, id[3], NULL)), "queued");
	assert_string_equal(quota_standing(cap, running_of(fx->s, id[4], NULL)), "waitlisted");

	/* A second withdrawal is not allowed from "withdrawn". */
	struct ts_error err;
	ts_error_clear(&err);
	assert_int_equal(store_app_transition(fx->s, id[1], from_submitted, "withdrawn", "applicant", "withdraw", NULL,
					      NULL, T0 + S(101), &err),
			 TS_ECONFLICT);
	/* the refusal names the status in Chinese, not by its code */
	assert_string_equal(err.code, "wrong_stage");
	assert_non_null(strstr(err.message, "已撤回"));
	assert_null(strstr(err.message, "withdrawn"));
	/* and so does a review step that finds it withdrawn */
	static const char *const expect_submitted[] = {"submitted", NULL};
	struct store_step step = {.id = id[1], .expect_stage = -1, .expect_status = expect_submitted,
				  .to_status = "initial_passed", .to_stage = -1, .actor = "reviewer", .action = "pass",
				  .now = T0 + S(101)};
	int step_rc = 0;
	struct ts_error step_err;
	ts_error_clear(&step_err);
	OK(store_app_steps(fx->s, &step, 1, &step_rc, &step_err, E));
	assert_int_equal(step_rc, TS_ECONFLICT);
	assert_string_equal(step_err.code, "wrong_stage");
	assert_non_null(strstr(step_err.message, "已撤回"));
	assert_null(strstr(step_err.message, "withdrawn"));
	assert_int_equal(store_app_transition(fx->s, 999999, from_submitted, "withdrawn", "applicant", "withdraw",
					      NULL, NULL, T0 + S(101), &err),
			 TS_ENOTFOUND);

	/* The history records both events in order. */
	json_t *hist = NULL;
	OK(store_app_history(fx->s, id[1], &hist, E));
	assert_int_equal(json_array_size(hist), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(hist, 0), "action")), "submit");
	json_t *ev = json_array_get(hist, 1);
	assert_string_equal(json_string_value(json_object_get(ev, "action")), "withdraw");
	assert_string_equal(json_string_value(json_object_get(ev, "status")), "withdrawn");
	assert_string_equal(json_string_value(json_object_get(ev, "reason")), "改变主意");
	assert_int_equal(json_integer_value(json_object_get(ev, "at")), T0 + S(100));
	json_decref(hist);

	/* The withdrawn one no longer counts in the person's history; a running one does. */
	json_t *ph = NULL;
	OK(store_person_history(fx->s, jobs[1].id_bidx, "yn-skill", 0, &ph, E));
	assert_int_equal(json_array_size(ph), 0);
	json_decref(ph);
	OK(store_person_history(fx->s, jobs[2].id_bidx, "yn-skill", 0, &ph, E));
	assert_int_equal(json_array_size(ph), 1);
	json_t *h0 = json_array_get(ph, 0);
	assert_string_equal(json_string_value(json_object_get(h0, "group")), "yn2022-skill");
	assert_int_equal(json_integer_value(json_object_get(h0, "year")), 2022);
	assert_string_equal(json_string_value(json_object_get(json_object_get(h0, "fields"), "occupation")), "焊工");
	json_decref(ph);
	OK(store_person_history(fx->s, jobs[2].id_bidx, "yn-skill", id[2], &ph, E));
	assert_int_equal(json_array_size(ph), 0);
	json_decref(ph);

	/* Withdrawn applications are locked; running ones may be edited. */
	ts_error_clear(&err);
	assert_int_equal(store_app_update(fx->s, id[1], jobs[1].job.applicant, "{}", "s", 1, jobs[1].id_bidx, "yn-km",
					  "applicant", T0 + S(102), &err),
			 TS_ECONFLICT);
	assert_string_equal(err.code, "locked");
	OK(store_app_update(fx->s, id[2], jobs[2].job.applicant, "{\"occupation\":\"电工\"}", "s2", 2, jobs[2].id_bidx,
			    "yn-km-gd", "applicant", T0 + S(103), E));
	struct store_app a;
	OK(store_app_get(fx->s, id[2], &a, E));
	assert_int_equal(a.rank, 3); /* the rank is kept */
	assert_string_equal(a.union_code, "yn-km-gd");
	assert_string_equal(json_string_value(json_object_get(a.fields, "occupation")), "电工");
	store_app_free(&a);
	/* Someone else's application, or another person's ID number in the group. */
	assert_int_equal(store_app_update(fx->s, id[2], jobs[3].job.applicant, "{}", "s", 1, jobs[2].id_bidx, "yn-km",
					  "applicant", T0 + S(104), &err),
			 TS_ENOTFOUND);
	ts_error_clear(&err);
	assert_int_equal(store_app_update(fx->s, id[2], jobs[2].job.applicant, "{}", "s", 1, jobs[3].id_bidx, "yn-km",
					  "applicant", T0 + S(105), &err),
			 TS_ECONFLICT);
	assert_string_equal(err.code, "duplicate");

	/* The withdrawn phone is not a duplicate any more (here the places are all taken). */
	job_init(&jobs[5], SEN, places, jobs[1].job.applicant, 1, &w);
	store_submit(fx->s, &jobs[5].job);
	wait_for(&w, 6);
	assert_int_equal(jobs[5].job.rc, TS_ECONFLICT);
	assert_string_equal(jobs[5].job.err.code, "quota_full");

	/* Applications by applicant, newest first. */
	struct store_app *mine = NULL;
	size_t n = 0;
	OK(store_apps_by_applicant(fx->s, jobs[0].job.applicant, &mine, &n, E));
	assert_int_equal(n, 1);
	assert_int_equal(mine[0].id, id[0]);
	for (size_t i = 0; i < n; i++)
		store_app_free(&mine[i]);
	free(mine);

	/* The ledger is not changed by a withdrawal. */
	int64_t orphans = -1;
	json_t *taken = NULL;
	OK(store_ledger_crosscheck(fx->s, &orphans, &taken, E));
	assert_int_equal(orphans, 0);
	assert_int_equal(json_integer_value(json_object_get(taken, PROG "/" SEN)), 5);
	json_decref(taken);
}

/* The look-back at a person's history skips the database for a blind ID with
 * no application (kept in memory): the first application stored by the
 * writer, an edit to a new ID number, and a handle opened later all see it. */
static void test_person_history_first_time(void **state)
{
	struct fx *fx = *state;
	struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	json_t *ph = NULL;
	struct jobdata jobs[2];
	job_init(&jobs[0], SEN, 5, applicant(fx->s, 0), 70, &w);
	job_init(&jobs[1], SEN, 5, applicant(fx->s, 1), 71, &w);
	OK(store_person_history(fx->s, jobs[0].id_bidx, "yn-skill", 0, &ph, E));
	assert_int_equal(json_array_size(ph), 0);
	json_decref(ph);

	OK(store_writer_start(fx->s, E));
	store_submit(fx->s, &jobs[0].job);
	wait_for(&w, 1);
	assert_int_equal(jobs[0].job.rc, 0);
	OK(store_person_history(fx->s, jobs[0].id_bidx, "yn-skill", 0, &ph, E));
	assert_int_equal(json_array_size(ph), 1);
	json_decref(ph);
	OK(store_person_history(fx->s, jobs[0].id_bidx, "yn-edu", 0, &ph, E)); /* another series */
	assert_int_equal(json_array_size(ph), 0);
	json_decref(ph);
	OK(store_person_history(fx->s, jobs[1].id_bidx, "yn-skill", 0, &ph, E));
	assert_int_equal(json_array_size(ph), 0);
	json_decref(ph);

	/* the application now carries person 71's ID number */
	OK(store_app_update(fx->s, jobs[0].job.id, jobs[0].job.applicant, "{}", "s", 1, jobs[1].id_bidx, "yn-km",
			    "applicant", T0 + S(10), E));
	OK(store_person_history(fx->s, jobs[1].id_bidx, "yn-skill", 0, &ph, E));
	assert_int_equal(json_array_size(ph), 1);
	json_decref(ph);

	struct store *later;
	OK(store_open(fx->url, fx->dir, &later, E));
	OK(store_person_history(later, jobs[1].id_bidx, "yn-skill", 0, &ph, E));
	assert_int_equal(json_array_size(ph), 1);
	json_decref(ph);
	store_close(later);
}

static void test_drafts(void **state)
{
	struct fx *fx = *state;
	int64_t a = applicant(fx->s, 1);
	char *body = NULL;
	int64_t at = 0;
	struct ts_error err;
	assert_int_equal(store_draft_get(fx->s, a, PROG, &body, &at, &err), TS_ENOTFOUND);
	OK(store_draft_put(fx->s, a, PROG, "{\"name\":\"张\"}", T0, E));
	OK(store_draft_put(fx->s, a, PROG, "{\"name\":\"张三\"}", T0 + S(5), E));
	OK(store_draft_get(fx->s, a, PROG, &body, &at, E));
	assert_string_equal(body, "{\"name\":\"张三\"}");
	assert_int_equal(at, T0 + S(5));
	free(body);
	body = NULL;
	assert_int_equal(store_draft_get(fx->s, a, "yn2022-edu", &body, &at, &err), TS_ENOTFOUND);
	OK(store_draft_delete(fx->s, a, PROG, E));
	assert_int_equal(store_draft_get(fx->s, a, PROG, &body, &at, &err), TS_ENOTFOUND);
}

int main(void)
{
	if (crypt_init() != 0)
		return 1;
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_migrations),
		T(test_orgs),
		T(test_programs),
		T(test_applicants),
		T(test_code_rate_limit),
		T(test_code_consume_once),
		T(test_code_tries_exhausted),
		T(test_code_expiry),
		T(test_sessions),
		T(test_session_use_written_later),
		T(test_writer_race_for_places),
		T(test_writer_batch_many_categories),
		T(test_writer_checkpoints_bound_the_wal),
		T(test_withdrawal_moves_queue_up),
	T(test_person_history_first_time),
	T(test_drafts),
	};
#undef T
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
