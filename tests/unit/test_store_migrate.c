/* tests/unit/test_store_migrate.c — blind indexes stored as 64 hex digits
 * (SQLite user_version 5, PostgreSQL schema 2), then opened by this code,
 * whose migration makes them their first 16 bytes.
 *
 * A database is built at the old version with the old migrations and rows
 * written as the old code wrote them (the full HMAC in hex); after store_open
 * the applicant is found by phone, an SMS code by phone, the person's history
 * by ID number, the writer refuses the same ID (and the same phone) in the
 * group and stores a new person after the old rows, an edit's duplicate
 * check sees the new row, and the ledger still verifies. A value that is not
 * an old blind index stops the migration, which leaves the database as it was.
 *
 * The PostgreSQL half runs when TISHENG_TEST_PG is a server URL without a
 * database (postgres://user@host:port, as `make check-pg` sets it); each
 * test makes its own database there and drops it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/time.h"
#include "crypt/crypt.h"
#include "domain/ledger.h"
#include "store/pg/schema.h"
#include "store/sqlite/schema.h"
#include "store/store.h"
#include "store_waiter.h"

#define S(x) ((int64_t)(x) * TS_US_PER_SEC)
#define T0 S(1665964800) /* 2022-10-17T08:00:00+08:00 */
#define SQLITE_OLD_VERSION 5
#define PG_OLD_VERSION 2
#define PHONE_A "13800138000"
#define PHONE_B "13900139000"
#define ID_1 "11010519491231002X"
#define ID_2 "530102199001011234"
#define ID_3 "530102199202021234"

#define OK(call)                                                                                   \
	do {                                                                                       \
		struct ts_error err_;                                                              \
		ts_error_clear(&err_);                                                             \
		int rc_ = (call);                                                                  \
		if (rc_ != 0)                                                                      \
			fail_msg("%s = %d (%s: %s)", #call, rc_, err_.code, err_.message);         \
	} while (0)
#define E (&err_)

static const struct store_code_limits LIM = {
	.min_interval_us = S(60), .per_day = 10, .ttl_us = S(300), .max_tries = 5};

struct fx {
	struct crypt_keys k;
	char dir[128], path[200], url[300];
	char pg_admin[300], pg_db[64]; /* PostgreSQL: the server's postgres database, ours */
};

/* ---------------------------------------------------------------- old rows */

/* The blind index as the code before 16-byte indexes wrote it: all of the HMAC. */
static void old_bidx(const struct crypt_keys *k, const char *domain, const char *value, char out[CRYPT_HEX_BYTES])
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_init(&st, k->bidx, CRYPT_KEY_BYTES);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)domain, strlen(domain) + 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)value, strlen(value) + 1);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(out, CRYPT_HEX_BYTES, mac, sizeof(mac));
}

/* Rows of a store in use, written with the old schema: two applicants, an
 * SMS code, an application with an ID and one without (another program),
 * their ledger entries and counters, an objection. `blob` is the backend's
 * literal of a one-byte blob. */
static void old_rows_sql(const struct crypt_keys *k, const char *blob, char *sql, size_t n)
{
	char pa[CRYPT_HEX_BYTES], pb[CRYPT_HEX_BYTES], id1[CRYPT_HEX_BYTES], l1[CRYPT_HEX_BYTES],
		l2[CRYPT_HEX_BYTES], h1[CRYPT_HEX_BYTES], h2[CRYPT_HEX_BYTES];
	old_bidx(k, "phone", PHONE_A, pa);
	old_bidx(k, "phone", PHONE_B, pb);
	old_bidx(k, "id", ID_1, id1);
	crypt_ledger_id(k, ID_1, l1);
	crypt_ledger_id(k, "", l2);
	ledger_hash(LEDGER_GENESIS, "P", "C", 1, T0, l1, h1);
	ledger_hash(h1, "P2", "C", 1, T0 + 1, l2, h2);
	int w = snprintf(
		sql, n,
		"INSERT INTO applicants(phone_bidx,phone_enc,created_at) VALUES('%s',%s,%lld),('%s',%s,%lld);"
		"INSERT INTO sms_codes(phone_bidx,purpose,code_hash,created_at,expires_at)"
		" VALUES('%s','login','code-hash',%lld,%lld);"
		"INSERT INTO quota_counters(program,category,taken) VALUES('P','C',1),('P2','C',1);"
		"INSERT INTO applications(program,category,rank,grp,series,year,level,applicant,phone_bidx,id_bidx,"
		"union_code,status,active,fields,secret,receipt,submitted_at,updated_at) VALUES"
		" ('P','C',1,'G','S',2022,'高级技师（一级）',1,'%s','%s','yn-km','submitted',1,"
		"  '{\"occupation\":\"焊工\"}',%s,'%s',%lld,%lld),"
		" ('P2','C',1,'G2','S',2022,'技师（二级）',2,'%s','','yn-km','submitted',1,'{}',%s,'%s',%lld,%lld);"
		"INSERT INTO ledger(program,category,rank,at,applicant,prev,hash) VALUES"
		" ('P','C',1,%lld,'%s','%s','%s'),('P2','C',1,%lld,'%s','%s','%s');"
		"INSERT INTO publicity(program,stage,org,title,starts_at,ends_at,status,created_by,created_at)"
		" VALUES('P',1,'yn','公示',%lld,%lld,'open','admin',%lld);"
		"INSERT INTO objections(publicity,application,name,phone_bidx,phone_enc,text,created_at)"
		" VALUES(1,1,'李四','%s',%s,'异议',%lld);",
		pa, blob, (long long)T0, pb, blob, (long long)T0, pa, (long long)T0, (long long)(T0 + S(300)), pa, id1,
		blob, h1, (long long)T0, (long long)T0, pb, blob, h2, (long long)(T0 + 1), (long long)(T0 + 1),
		(long long)T0, l1, LEDGER_GENESIS, h1, (long long)(T0 + 1), l2, h1, h2, (long long)T0, (long long)T0,
		(long long)T0, pb, blob, (long long)T0);
	assert_true(w > 0 && (size_t)w < n);
}

/* ---------------------------------------------------------------- the checks, either store */

/* Submits one job to group G of program P and waits for its answer. */
static void submit(struct store *s, struct waiter *w, struct submit_job *j, int64_t applicant, const char *id_bidx,
		   const char *ledger_id)
{
	*j = (struct submit_job){.program = "P",
				 .category = "C",
				 .group = "G",
				 .series = "S",
				 .level = "高级技师（一级）",
				 .year = 2022,
				 .places = 10,
				 .cap = 10,
				 .applicant = applicant,
				 .id_bidx = id_bidx,
				 .ledger_id = ledger_id,
				 .union_code = "yn-km",
				 .fields_json = "{\"occupation\":\"电工\"}",
				 .secret = "s",
				 .secret_len = 1,
				 .done = job_done,
				 .arg = w};
	pthread_mutex_lock(&w->mu);
	int want = w->done + 1;
	pthread_mutex_unlock(&w->mu);
	store_submit(s, j);
	wait_for(w, want);
}

/* What a store opened on the migrated database must still do. */
static void check_migrated(struct store *s, const struct crypt_keys *k)
{
	char pa[CRYPT_HEX_BYTES], pb[CRYPT_HEX_BYTES], id1[CRYPT_HEX_BYTES], id2[CRYPT_HEX_BYTES],
		id3[CRYPT_HEX_BYTES], l2[CRYPT_HEX_BYTES], l3[CRYPT_HEX_BYTES];
	crypt_blind_index(k, "phone", PHONE_A, pa);
	crypt_blind_index(k, "phone", PHONE_B, pb);
	crypt_blind_index(k, "id", ID_1, id1);
	crypt_blind_index(k, "id", ID_2, id2);
	crypt_blind_index(k, "id", ID_3, id3);
	crypt_ledger_id(k, ID_2, l2);
	crypt_ledger_id(k, ID_3, l3);

	/* The applicant is found by phone, not made again; so is the SMS code. */
	int64_t a = 0, b = 0;
	OK(store_applicant_ensure(s, pa, "x", 1, T0 + S(5), &a, E));
	OK(store_applicant_ensure(s, pb, "x", 1, T0 + S(5), &b, E));
	assert_int_equal(a, 1);
	assert_int_equal(b, 2);
	OK(store_code_consume(s, pa, "login", "code-hash", T0 + S(10), &LIM, E));

	/* The person's history by ID number finds the earlier application. */
	json_t *ph = NULL;
	OK(store_person_history(s, id1, "S", 0, &ph, E));
	assert_int_equal(json_array_size(ph), 1);
	json_t *h0 = json_array_get(ph, 0);
	assert_string_equal(json_string_value(json_object_get(h0, "group")), "G");
	assert_string_equal(json_string_value(json_object_get(json_object_get(h0, "fields"), "occupation")), "焊工");
	json_decref(ph);
	OK(store_person_history(s, id1, "S", 1, &ph, E)); /* excluding that application */
	assert_int_equal(json_array_size(ph), 0);
	json_decref(ph);

	/* The writer: the same ID in the group by another phone, the same phone
	 * with another ID, then a new person, ranked after the old rows. */
	struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	struct submit_job dup_id, dup_phone, fresh;
	OK(store_writer_start(s, E));
	submit(s, &w, &dup_id, b, id1, l2);
	assert_int_equal(dup_id.rc, TS_ECONFLICT);
	assert_string_equal(dup_id.err.code, "duplicate");
	assert_int_equal(dup_id.existing_id, 0);
	submit(s, &w, &dup_phone, a, id3, l3);
	assert_int_equal(dup_phone.rc, TS_ECONFLICT);
	assert_string_equal(dup_phone.err.code, "duplicate");
	assert_int_equal(dup_phone.existing_id, 1);
	submit(s, &w, &fresh, b, id2, l2);
	assert_int_equal(fresh.rc, 0);
	assert_int_equal(fresh.rank, 2);
	OK(store_person_history(s, id2, "S", 0, &ph, E));
	assert_int_equal(json_array_size(ph), 1);
	json_decref(ph);

	/* An edit: to the new person's ID is a duplicate, to its own ID is not. */
	struct ts_error err;
	ts_error_clear(&err);
	assert_int_equal(store_app_update(s, 1, a, "{}", "s", 1, id2, "yn-km", "applicant", T0 + S(20), &err),
			 TS_ECONFLICT);
	assert_string_equal(err.code, "duplicate");
	OK(store_app_update(s, 1, a, "{\"occupation\":\"焊工\"}", "s", 1, id1, "yn-km", "applicant", T0 + S(21), E));

	/* The ledger, old entries and new, still verifies and matches. */
	struct ledger_verifier v;
	struct ts_error chain_err;
	ledger_verifier_init(&v);
	OK(store_ledger_verify(s, &v, &chain_err, E));
	assert_int_equal(v.count, 3);
	ledger_verifier_free(&v);
	int64_t orphans = -1;
	json_t *taken = NULL;
	OK(store_ledger_crosscheck(s, &orphans, &taken, E));
	assert_int_equal(orphans, 0);
	assert_int_equal(json_integer_value(json_object_get(taken, "P/C")), 2);
	json_decref(taken);
}

/* ---------------------------------------------------------------- SQLite */

static int sq_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	const char *tmp = getenv("TMPDIR");
	snprintf(fx->dir, sizeof(fx->dir), "%s/ts-migrate-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fx->dir))
		return -1;
	snprintf(fx->path, sizeof(fx->path), "%s/t.db", fx->dir);
	snprintf(fx->url, sizeof(fx->url), "sqlite:%s", fx->path);
	randombytes_buf(&fx->k, sizeof(fx->k));
	*state = fx;
	return 0;
}

static int sq_teardown(void **state)
{
	struct fx *fx = *state;
	static const char *const files[] = {"t.db", "t.db-wal", "t.db-shm", "t.db-journal"};
	char p[300];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", fx->dir, files[i]);
		unlink(p);
	}
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static void sq_run(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
}

static int64_t sq_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* A database at user_version 5 (the last with hex blind indexes), plus `extra` SQL. */
static void sq_old_db(struct fx *fx, const char *extra)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_true(SQLITE_OLD_VERSION < (int)(sizeof(sqlite_migrations) / sizeof(sqlite_migrations[0])));
	sq_run(db, "BEGIN");
	for (int i = 0; i < SQLITE_OLD_VERSION; i++)
		sq_run(db, sqlite_migrations[i]);
	sq_run(db, "PRAGMA user_version=5");
	char sql[8192];
	old_rows_sql(&fx->k, "X'01'", sql, sizeof(sql));
	sq_run(db, sql);
	if (extra)
		sq_run(db, extra);
	sq_run(db, "COMMIT");
	sqlite3_close(db);
}

static void test_sqlite_hex_to_bytes(void **state)
{
	struct fx *fx = *state;
	sq_old_db(fx, NULL);
	struct store *s = NULL;
	OK(store_open(fx->url, fx->dir, &s, E));
	assert_true(store_schema_version(s) > SQLITE_OLD_VERSION);
	OK(store_check(s, E));

	/* Every blind index is a blob of 16 bytes (an absent ID: of none), the
	 * first half of the old hex, and the indexes on them are back. */
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_int_equal(sq_int(db, "SELECT count(*) FROM applicants WHERE typeof(phone_bidx)<>'blob'"
				    " OR length(phone_bidx)<>16"),
			 0);
	assert_int_equal(sq_int(db, "SELECT count(*) FROM sms_codes WHERE typeof(phone_bidx)<>'blob'"
				    " OR length(phone_bidx)<>16"),
			 0);
	assert_int_equal(sq_int(db, "SELECT count(*) FROM objections WHERE typeof(phone_bidx)<>'blob'"
				    " OR length(phone_bidx)<>16"),
			 0);
	assert_int_equal(sq_int(db, "SELECT count(*) FROM applications WHERE typeof(phone_bidx)<>'blob'"
				    " OR length(phone_bidx)<>16 OR typeof(id_bidx)<>'blob'"),
			 0);
	assert_int_equal(sq_int(db, "SELECT length(id_bidx) FROM applications WHERE id=2"), 0);
	char id1[CRYPT_HEX_BYTES], sql[200];
	crypt_blind_index(&fx->k, "id", ID_1, id1);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM applications WHERE id=1 AND lower(hex(id_bidx))='%s'", id1);
	assert_int_equal(sq_int(db, sql), 1);
	assert_int_equal(sq_int(db, "SELECT count(*) FROM sqlite_master WHERE type='index' AND name IN"
				    " ('applications_person_grp','sms_codes_phone')"),
			 2);
	assert_int_equal(sq_int(db, "SELECT count(*) FROM sqlite_master WHERE name='applications_person_grp'"
				    " AND sql LIKE 'CREATE UNIQUE INDEX%WHERE active = 1'"),
			 1);
	sqlite3_close(db);

	check_migrated(s, &fx->k);
	store_close(s);

	/* Opened again: nothing runs twice, and a later handle (the person set
	 * loaded from the rows) still finds the old person. */
	OK(store_open(fx->url, fx->dir, &s, E));
	json_t *ph = NULL;
	OK(store_person_history(s, id1, "S", 0, &ph, E));
	assert_int_equal(json_array_size(ph), 1);
	json_decref(ph);
	store_close(s);
}

struct opener {
	const char *url, *dir;
	int rc;
	struct ts_error err;
};

static void *open_and_close(void *arg)
{
	struct opener *o = arg;
	struct store *s = NULL;
	ts_error_clear(&o->err);
	o->rc = store_open(o->url, o->dir, &s, &o->err);
	if (!o->rc)
		store_close(s);
	return NULL;
}

/* Two opens of an old database at once (the server and a CLI command
 * started together): both read the old version before either can write;
 * the one that migrates second must see the first one's work and not run
 * the same steps again ("duplicate column", or worse). */
static void test_sqlite_concurrent_opens_migrate_once(void **state)
{
	struct fx *fx = *state;
	sq_old_db(fx, NULL);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	sq_run(db, "PRAGMA journal_mode=WAL");
	sq_run(db, "BEGIN IMMEDIATE"); /* holds the write lock: the opens can read, not migrate */
	struct opener o[2] = {{.url = fx->url, .dir = fx->dir, .rc = 1}, {.url = fx->url, .dir = fx->dir, .rc = 1}};
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, open_and_close, &o[i]), 0);
	usleep(500 * 1000); /* both have read version 5 and wait for the lock */
	assert_int_equal(sq_int(db, "PRAGMA user_version"), SQLITE_OLD_VERSION);
	sq_run(db, "ROLLBACK");
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < 2; i++)
		if (o[i].rc)
			fail_msg("open %d: %s: %s", i, o[i].err.code, o[i].err.message);
	assert_int_equal(sq_int(db, "PRAGMA user_version"),
			 (int64_t)(sizeof(sqlite_migrations) / sizeof(sqlite_migrations[0])));
	sqlite3_close(db);
	struct store *s = NULL;
	OK(store_open(fx->url, fx->dir, &s, E));
	OK(store_check(s, E));
	check_migrated(s, &fx->k);
	store_close(s);
}

static void test_sqlite_refuses_unknown_value(void **state)
{
	struct fx *fx = *state;
	sq_old_db(fx, "INSERT INTO applicants(phone_bidx,phone_enc,created_at) VALUES('0a0b',X'01',0)");
	struct store *s = NULL;
	struct ts_error err;
	assert_int_not_equal(store_open(fx->url, fx->dir, &s, &err), 0);
	assert_null(s);
	assert_non_null(strstr(err.message, "ts_bidx_bytes"));
	/* rolled back: still version 5, still hex */
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_int_equal(sq_int(db, "PRAGMA user_version"), SQLITE_OLD_VERSION);
	assert_int_equal(sq_int(db, "SELECT count(*) FROM applicants WHERE typeof(phone_bidx)='text'"), 3);
	assert_int_equal(sq_int(db, "SELECT count(*) FROM sqlite_master WHERE name='applications_person_grp'"), 1);
	sqlite3_close(db);
}

/* ---------------------------------------------------------------- PostgreSQL */

static PGconn *pg_conn(const char *url)
{
	PGconn *c = PQconnectdb(url);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("%s: %s", url, PQerrorMessage(c));
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	return c;
}

static void pg_run(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		fail_msg("%.200s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
}

static char *pg_text(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		fail_msg("%.200s: %s", sql, PQresultErrorMessage(r));
	char *v = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

static int pg_setup(void **state)
{
	const char *base = getenv("TISHENG_TEST_PG");
	if (!base || !*base)
		return 0; /* each test skips */
	struct fx *fx = calloc(1, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/ts-migrate-pg-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	size_t n = strlen(base);
	while (n && base[n - 1] == '/')
		n--;
	snprintf(fx->pg_db, sizeof(fx->pg_db), "ts_migrate_%d", (int)getpid());
	snprintf(fx->pg_admin, sizeof(fx->pg_admin), "%.*s/postgres", (int)n, base);
	snprintf(fx->url, sizeof(fx->url), "%.*s/%s", (int)n, base, fx->pg_db);
	randombytes_buf(&fx->k, sizeof(fx->k));
	PGconn *c = pg_conn(fx->pg_admin);
	char sql[200];
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", fx->pg_db);
	pg_run(c, sql);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", fx->pg_db);
	pg_run(c, sql);
	PQfinish(c);
	*state = fx;
	return 0;
}

static int pg_teardown(void **state)
{
	struct fx *fx = *state;
	if (!fx)
		return 0;
	PGconn *c = pg_conn(fx->pg_admin);
	char sql[200];
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", fx->pg_db);
	pg_run(c, sql);
	PQfinish(c);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* A database at schema version 2 (the last with hex blind indexes), plus `extra` SQL. */
static void pg_old_db(struct fx *fx, const char *extra)
{
	PGconn *c = pg_conn(fx->url);
	assert_true(PG_OLD_VERSION < (int)(sizeof(pg_migrations) / sizeof(pg_migrations[0])));
	pg_run(c, "BEGIN");
	for (int i = 0; i < PG_OLD_VERSION; i++)
		pg_run(c, pg_migrations[i]);
	pg_run(c, "CREATE TABLE tisheng_schema(version INT NOT NULL); INSERT INTO tisheng_schema VALUES (1), (2)");
	char sql[8192];
	old_rows_sql(&fx->k, "'\\x01'::bytea", sql, sizeof(sql));
	pg_run(c, sql);
	if (extra)
		pg_run(c, extra);
	pg_run(c, "COMMIT");
	PQfinish(c);
}

static void test_pg_hex_to_bytes(void **state)
{
	struct fx *fx = *state;
	if (!fx)
		skip();
	pg_old_db(fx, NULL);
	struct store *s = NULL;
	OK(store_open(fx->url, fx->dir, &s, E));
	assert_true(store_schema_version(s) > PG_OLD_VERSION);

	PGconn *c = pg_conn(fx->url);
	char *v = pg_text(c, "SELECT count(*) FROM information_schema.columns WHERE table_schema='public'"
			     " AND column_name IN ('phone_bidx','id_bidx') AND data_type<>'bytea'");
	assert_string_equal(v, "0");
	free(v);
	v = pg_text(c, "SELECT count(*) FROM information_schema.columns WHERE table_schema='public'"
		       " AND column_name IN ('phone_bidx','id_bidx')");
	assert_string_equal(v, "5");
	free(v);
	char id1[CRYPT_HEX_BYTES];
	crypt_blind_index(&fx->k, "id", ID_1, id1);
	v = pg_text(c, "SELECT encode(id_bidx, 'hex') FROM applications WHERE id=1");
	assert_string_equal(v, id1);
	free(v);
	v = pg_text(c, "SELECT octet_length(id_bidx) FROM applications WHERE id=2");
	assert_string_equal(v, "0");
	free(v);
	v = pg_text(c, "SELECT indexdef FROM pg_indexes WHERE indexname='applications_person_grp'");
	assert_non_null(strstr(v, "CREATE UNIQUE INDEX"));
	assert_non_null(strstr(v, "WHERE (active = 1)"));
	free(v);
	PQfinish(c);

	check_migrated(s, &fx->k);
	store_close(s);
}

static void test_pg_refuses_unknown_value(void **state)
{
	struct fx *fx = *state;
	if (!fx)
		skip();
	pg_old_db(fx, "INSERT INTO applicants(phone_bidx,phone_enc,created_at) VALUES('0a0b','\\x01'::bytea,0)");
	struct store *s = NULL;
	struct ts_error err;
	assert_int_not_equal(store_open(fx->url, fx->dir, &s, &err), 0);
	assert_null(s);
	PGconn *c = pg_conn(fx->url);
	char *v = pg_text(c, "SELECT max(version) FROM tisheng_schema");
	assert_string_equal(v, "2");
	free(v);
	v = pg_text(c, "SELECT data_type FROM information_schema.columns WHERE table_name='applicants'"
		       " AND column_name='phone_bidx'");
	assert_string_equal(v, "text");
	free(v);
	PQfinish(c);
}

int main(void)
{
	if (crypt_init() != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sqlite_hex_to_bytes, sq_setup, sq_teardown),
		cmocka_unit_test_setup_teardown(test_sqlite_refuses_unknown_value, sq_setup, sq_teardown),
		cmocka_unit_test_setup_teardown(test_sqlite_concurrent_opens_migrate_once, sq_setup, sq_teardown),
		cmocka_unit_test_setup_teardown(test_pg_hex_to_bytes, pg_setup, pg_teardown),
		cmocka_unit_test_setup_teardown(test_pg_refuses_unknown_value, pg_setup, pg_teardown),
	};
	return cmocka_run_group_tests_name("store_migrate", tests, NULL, NULL);
}
