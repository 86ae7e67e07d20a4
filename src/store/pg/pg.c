/* store/pg/pg.c — the PostgreSQL backend of store.h (libpq).
 *
 * Several `tisheng` nodes may share one database. Each node's writer batches
 * its submissions like the SQLite writer, and takes ranks in the same
 * transaction that stores them, under a transaction-scoped advisory lock, so
 * batches of different nodes run one after the other and can never hand out a
 * rank twice; the category counter rows are written once per batch. A lost
 * connection fails the requests in flight (503), and the next call connects
 * again.
 */
#include "core/log.h"
#include "core/mem.h"
#include "core/time.h"
#include "crypt/crypt.h"
#include "domain/ledger.h"
#include "domain/review.h"
#include "domain/rules.h"
#include "store/pg/schema.h"
#include "store/store_impl.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG_POOL_MAX 64
#define PG_MAX_PARAMS 24
#define WRITER_LOCK_KEY 720221017 /* pg_advisory_xact_lock key of the submission writers */

struct store_pg {
	struct store base;
	char *conninfo;
	pthread_mutex_t mu;
	PGconn *free_conns[PG_POOL_MAX];
	int nfree;
	PGconn *writer;
	int version;
};

static struct store_pg *pg_of(struct store *s)
{
	return (struct store_pg *)s;
}

/* ---- errors and connections ---- */

static int pg_fail(PGconn *c, const PGresult *r, struct ts_error *err)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r ? PQresultErrorMessage(r) : (c ? PQerrorMessage(c) : "no connection");
	char m[200];
	snprintf(m, sizeof(m), "%s", msg ? msg : "");
	m[strcspn(m, "\n")] = '\0';
	if (!c || PQstatus(c) != CONNECTION_OK || (state && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)))
		return ts_error_set(err, TS_EIO, "unavailable", "数据库连接中断，请稍后重试（%s）", m);
	if (state && strcmp(state, "23505") == 0)
		return ts_error_set(err, TS_ECONFLICT, "duplicate", "记录已存在（%s）", m);
	if (state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0))
		return ts_error_set(err, TS_EBUSY, "busy", "系统繁忙，请稍后重试（%s）", m);
	if (state && (strncmp(state, "53", 2) == 0 || strncmp(state, "58", 2) == 0))
		return ts_error_set(err, TS_EIO, "unavailable", "数据存储暂不可用，请稍后重试（%s）", m);
	return ts_error_set(err, TS_EINTERNAL, "internal", "数据库错误：%s", m);
}

/* ---- prepared statements ----
 *
 * Every statement is prepared once per connection and then run with
 * PQexecPrepared: planning a statement again on every call cost more than
 * running it (the writer's four statements per submission). Keyed by the
 * connection and the SQL text (so SQL built at run time is safe too); a
 * connection's entries go when it is closed (conn_finish). When the table is
 * full, or the server has forgotten a statement, the statement runs unprepared. */
#define PREP_SLOTS 8192
struct prep_entry {
	PGconn *c; /* NULL when free */
	uint64_t h;
	char *sql;
};
static struct prep_entry prep_table[PREP_SLOTS];
static size_t prep_used;
static pthread_mutex_t prep_mu = PTHREAD_MUTEX_INITIALIZER;

static uint64_t sql_hash(const char *sql)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)sql; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

static size_t prep_slot(PGconn *c, uint64_t h)
{
	return (size_t)((h ^ ((uintptr_t)c * 0x9E3779B97F4A7C15ULL)) % PREP_SLOTS);
}

/* True when (c, sql) is prepared as `name`; under prep_mu. */
static bool prep_find(PGconn *c, const char *sql, uint64_t h)
{
	size_t i = prep_slot(c, h);
	for (size_t n = 0; n < PREP_SLOTS && prep_table[i].c; n++, i = (i + 1) % PREP_SLOTS)
		if (prep_table[i].c == c && prep_table[i].h == h && strcmp(prep_table[i].sql, sql) == 0)
			return true;
	return false;
}

static void prep_add(PGconn *c, const char *sql, uint64_t h)
{
	pthread_mutex_lock(&prep_mu);
	if (prep_used < PREP_SLOTS * 3 / 4 && !prep_find(c, sql, h)) {
		size_t i = prep_slot(c, h);
		while (prep_table[i].c)
			i = (i + 1) % PREP_SLOTS;
		prep_table[i] = (struct prep_entry){c, h, ts_strdup(sql)};
		prep_used++;
	}
	pthread_mutex_unlock(&prep_mu);
}

/* Rebuilds the table without the entries for which drop() is true; under prep_mu. */
static void prep_rebuild(bool (*drop)(const struct prep_entry *e, PGconn *c, const char *sql), PGconn *c,
			 const char *sql)
{
	struct prep_entry *keep = ts_calloc(PREP_SLOTS, sizeof(*keep));
	size_t nkeep = 0;
	for (size_t i = 0; i < PREP_SLOTS; i++) {
		if (!prep_table[i].c)
			continue;
		if (drop(&prep_table[i], c, sql))
			free(prep_table[i].sql);
		else
			keep[nkeep++] = prep_table[i];
	}
	memset(prep_table, 0, sizeof(prep_table));
	prep_used = 0;
	for (size_t k = 0; k < nkeep; k++) {
		size_t i = prep_slot(keep[k].c, keep[k].h);
		while (prep_table[i].c)
			i = (i + 1) % PREP_SLOTS;
		prep_table[i] = keep[k];
		prep_used++;
	}
	free(keep);
}

static bool drop_conn(const struct prep_entry *e, PGconn *c, const char *sql)
{
	(void)sql;
	return e->c == c;
}

static bool drop_one(const struct prep_entry *e, PGconn *c, const char *sql)
{
	return e->c == c && strcmp(e->sql, sql) == 0;
}

static void prep_forget(PGconn *c, const char *sql, uint64_t h)
{
	(void)h;
	pthread_mutex_lock(&prep_mu);
	prep_rebuild(drop_one, c, sql);
	pthread_mutex_unlock(&prep_mu);
}

/* Forgets a connection's statements and closes it. Rebuilds the table
 * without them (open addressing: entries cannot just be cleared). */
static void conn_finish(PGconn *c)
{
	pthread_mutex_lock(&prep_mu);
	prep_rebuild(drop_conn, c, NULL);
	pthread_mutex_unlock(&prep_mu);
	PQfinish(c);
}

static bool sqlstate_is(const PGresult *r, const char *code)
{
	const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	return st && strcmp(st, code) == 0;
}

/* Runs sql with its parameters, prepared on this connection the first time. */
static PGresult *exec_prepared(PGconn *c, const char *sql, int n, const char *const *vals, const int *lens,
			       const int *fmts)
{
	uint64_t h = sql_hash(sql);
	char name[40];
	snprintf(name, sizeof(name), "ts_%016" PRIx64, h);
	pthread_mutex_lock(&prep_mu);
	bool have = prep_find(c, sql, h);
	pthread_mutex_unlock(&prep_mu);
	if (!have) {
		PGresult *p = PQprepare(c, name, sql, n, NULL);
		ExecStatusType st = p ? PQresultStatus(p) : PGRES_FATAL_ERROR;
		if (st == PGRES_COMMAND_OK) {
			prep_add(c, sql, h);
			have = true;
		} else if (sqlstate_is(p, "42P05")) { /* already there (same text, same hash) */
			prep_add(c, sql, h);
			have = true;
		} else {
			return p; /* an error in the statement itself (or the transaction): reported as is */
		}
		PQclear(p);
	}
	PGresult *r = PQexecPrepared(c, name, n, vals, lens, fmts, 0);
	if (r && PQresultStatus(r) == PGRES_FATAL_ERROR && sqlstate_is(r, "26000")) {
		/* the server does not know it (a DISCARD, say): prepared again
		 * next time; outside a transaction, run it plainly now */
		prep_forget(c, sql, h);
		if (PQtransactionStatus(c) == PQTRANS_IDLE) {
			PQclear(r);
			r = PQexecParams(c, sql, n, NULL, vals, lens, fmts, 0);
		}
	}
	return r;
}

static int pg_connect(const char *conninfo, PGconn **out, struct ts_error *err)
{
	PGconn *c = PQconnectdb(conninfo);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		int rc = ts_error_set(err, TS_EIO, "unavailable", "无法连接 PostgreSQL：%s",
				      c ? PQerrorMessage(c) : "out of memory");
		if (c)
			conn_finish(c);
		return rc;
	}
	/* Statements are prepared once per connection (parsed once) but planned
	 * on every run with its values: a generic plan made while a new
	 * program's rows were few (a sequential scan) would otherwise be kept
	 * for the whole rush. */
	PGresult *r = PQexec(c, "SET synchronous_commit = on; SET client_min_messages = warning;"
				" SET plan_cache_mode = force_custom_plan");
	PQclear(r);
	*out = c;
	return 0;
}

static int acquire(struct store_pg *q, PGconn **out, struct ts_error *err)
{
	pthread_mutex_lock(&q->mu);
	while (q->nfree > 0) {
		PGconn *c = q->free_conns[--q->nfree];
		if (PQstatus(c) == CONNECTION_OK) {
			pthread_mutex_unlock(&q->mu);
			*out = c;
			return 0;
		}
		conn_finish(c);
	}
	pthread_mutex_unlock(&q->mu);
	return pg_connect(q->conninfo, out, err);
}

static void release(struct store_pg *q, PGconn *c)
{
	if (!c)
		return;
	if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE) {
		PGresult *r = PQexec(c, "ROLLBACK");
		PQclear(r);
	}
	pthread_mutex_lock(&q->mu);
	if (PQstatus(c) == CONNECTION_OK && q->nfree < PG_POOL_MAX) {
		q->free_conns[q->nfree++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&q->mu);
	if (c)
		conn_finish(c);
}

/* Runs a parameterised statement. Format letters as in the SQLite backend:
 * t text (NULL → NULL), i int64, n int64 with 0 → NULL, b bytea (ptr, size_t),
 * k a blind index in its hex form, sent as its bytes (bytea).
 * Returns the result (caller PQclears) or NULL with err set. */
static PGresult *run(PGconn *c, struct ts_error *err, const char *sql, const char *fmt, ...)
{
	const char *vals[PG_MAX_PARAMS];
	int lens[PG_MAX_PARAMS], fmts[PG_MAX_PARAMS];
	char nums[PG_MAX_PARAMS][24];
	unsigned char keys[PG_MAX_PARAMS][CRYPT_BIDX_BYTES];
	int n = 0;
	va_list ap;
	va_start(ap, fmt);
	for (const char *f = fmt; *f && n < PG_MAX_PARAMS; f++, n++) {
		lens[n] = 0;
		fmts[n] = 0;
		switch (*f) {
		case 't':
			vals[n] = va_arg(ap, const char *);
			break;
		case 'i':
			snprintf(nums[n], sizeof(nums[n]), "%" PRId64, va_arg(ap, int64_t));
			vals[n] = nums[n];
			break;
		case 'n': {
			int64_t v = va_arg(ap, int64_t);
			snprintf(nums[n], sizeof(nums[n]), "%" PRId64, v);
			vals[n] = v ? nums[n] : NULL;
			break;
		}
		case 'b':
			vals[n] = va_arg(ap, const char *);
			lens[n] = (int)va_arg(ap, size_t);
			fmts[n] = 1;
			if (!vals[n])
				vals[n] = "";
			break;
		case 'k': {
			size_t len = 0;
			if (crypt_bidx_bytes(va_arg(ap, const char *), keys[n], &len)) {
				va_end(ap);
				ts_error_set(err, TS_EINTERNAL, "internal", "数据库错误：盲索引格式不对");
				return NULL;
			}
			vals[n] = (const char *)keys[n];
			lens[n] = (int)len;
			fmts[n] = 1;
			break;
		}
		default:
			va_end(ap);
			ts_error_set(err, TS_EINTERNAL, "internal", "bad parameter format");
			return NULL;
		}
	}
	va_end(ap);
	PGresult *r = exec_prepared(c, sql, n, vals, lens, fmts);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pg_fail(c, r, err);
		PQclear(r);
		return NULL;
	}
	return r;
}

/* Runs a statement whose rows are not needed. */
#define EXEC(c, err, ...)                                                                                 \
	({                                                                                                \
		PGresult *r_ = run((c), (err), __VA_ARGS__);                                              \
		int rc_ = r_ ? 0 : (err)->status;                                                         \
		PQclear(r_);                                                                              \
		rc_;                                                                                      \
	})

static int simple(PGconn *c, const char *sql, struct ts_error *err)
{
	PGresult *r = PQexec(c, sql);
	int rc = 0;
	if (!r || (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK))
		rc = pg_fail(c, r, err);
	PQclear(r);
	return rc;
}

static int begin(PGconn *c, struct ts_error *err) { return simple(c, "BEGIN", err); }
static int commit(PGconn *c, struct ts_error *err) { return simple(c, "COMMIT", err); }

static void rollback(PGconn *c)
{
	if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE) {
		PGresult *r = PQexec(c, "ROLLBACK");
		PQclear(r);
	}
}

static const char *val(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col);
}

static int64_t ival(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static int bytea(const PGresult *r, int row, int col, struct ts_buf *out)
{
	if (PQgetisnull(r, row, col))
		return 0;
	size_t n = 0;
	unsigned char *b = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col), &n);
	if (!b)
		return TS_EINTERNAL;
	int rc = ts_buf_append(out, b, n);
	PQfreemem(b);
	return rc;
}

/* ---- open, migrate, close ---- */

static int migrate(struct store_pg *q, PGconn *c, struct ts_error *err)
{
	int rc = simple(c, "SELECT pg_advisory_lock(720221016)", err);
	if (rc)
		return rc;
	rc = simple(c, "CREATE TABLE IF NOT EXISTS tisheng_schema(version INT NOT NULL)", err);
	PGresult *r = rc ? NULL : run(c, err, "SELECT coalesce(max(version),0) FROM tisheng_schema", "");
	int version = r ? (int)ival(r, 0, 0) : 0;
	PQclear(r);
	if (!rc && !r)
		rc = err->status;
	int target = (int)(sizeof(pg_migrations) / sizeof(pg_migrations[0]));
	if (!rc && version > target)
		rc = ts_error_set(err, TS_EINVAL, "schema_newer", "数据库结构版本 %d 比本程序支持的 %d 新，请升级 tisheng",
				  version, target);
	while (!rc && version < target) {
		if ((rc = begin(c, err)))
			break;
		rc = simple(c, pg_migrations[version], err);
		if (!rc)
			rc = EXEC(c, err, "INSERT INTO tisheng_schema(version) VALUES($1::int)", "i", (int64_t)(version + 1));
		if (rc) {
			rollback(c);
			break;
		}
		if ((rc = commit(c, err)))
			break;
		version++;
	}
	struct ts_error e2;
	(void)simple(c, "SELECT pg_advisory_unlock(720221016)", &e2);
	q->version = version;
	return rc;
}

static void pg_close(struct store *s)
{
	struct store_pg *q = pg_of(s);
	for (int i = 0; i < q->nfree; i++)
		conn_finish(q->free_conns[i]);
	if (q->writer)
		conn_finish(q->writer);
	pthread_mutex_destroy(&q->mu);
	free(q->conninfo);
	free(q);
}

static int pg_schema_version(struct store *s) { return pg_of(s)->version; }

/* A whole operation on a pooled connection: declare, acquire, body, release. */
#define WITH_CONN(s, err)                                                                                 \
	struct store_pg *q = pg_of(s);                                                                    \
	PGconn *c;                                                                                        \
	int rc = acquire(q, &c, (err));                                                                   \
	if (rc)                                                                                           \
		return rc;

/* ---- orgs and programs ---- */

static int pg_org_put(struct store *s, const struct store_org *o, struct ts_error *err)
{
	WITH_CONN(s, err);
	rc = EXEC(c, err,
		  "INSERT INTO orgs(code,name,level,parent) VALUES($1,$2,$3,$4)"
		  " ON CONFLICT(code) DO UPDATE SET name=excluded.name, level=excluded.level, parent=excluded.parent",
		  "tttt", o->code, o->name, o->level, o->parent);
	release(q, c);
	return rc;
}

static int pg_orgs_list(struct store *s, json_t **out, struct ts_error *err)
{
	WITH_CONN(s, err);
	PGresult *r = run(c, err, "SELECT code,name,level,parent FROM orgs ORDER BY seq", "");
	if (r) {
		json_t *arr = json_array();
		for (int i = 0; i < PQntuples(r); i++) {
			json_t *o = json_pack("{s:s,s:s,s:s}", "code", val(r, i, 0), "name", val(r, i, 1), "level", val(r, i, 2));
			json_object_set_new(o, "parent", PQgetisnull(r, i, 3) ? json_null() : json_string(val(r, i, 3)));
			json_array_append_new(arr, o);
		}
		*out = json_pack("{s:o}", "orgs", arr);
	} else {
		rc = err->status;
	}
	PQclear(r);
	release(q, c);
	return rc;
}

static int pg_program_put(struct store *s, const char *id, const char *spec_json, int64_t opens_at, int64_t closes_at,
			  struct ts_error *err)
{
	WITH_CONN(s, err);
	json_t *spec = json_loads(spec_json, 0, NULL);
	if ((rc = begin(c, err)))
		goto out;
	rc = simple(c, "LOCK TABLE programs IN SHARE ROW EXCLUSIVE MODE", err);
	if (!rc)
		rc = EXEC(c, err,
			  "INSERT INTO programs(id,spec,opens_at,closes_at,version,updated_at)"
			  " VALUES($1,$2,$3::bigint,$4::bigint,(SELECT coalesce(max(version),0)+1 FROM programs),$5::bigint)"
			  " ON CONFLICT(id) DO UPDATE SET spec=excluded.spec, opens_at=excluded.opens_at,"
			  " closes_at=excluded.closes_at, version=excluded.version, updated_at=excluded.updated_at",
			  "ttiii", id, spec_json, opens_at, closes_at, ts_now_us());
	size_t i;
	json_t *cat;
	json_array_foreach(json_object_get(spec, "categories"), i, cat)
	{
		if (rc)
			break;
		rc = EXEC(c, err, "INSERT INTO quota_counters(program,category,taken) VALUES($1,$2,0) ON CONFLICT DO NOTHING",
			  "tt", id, json_string_value(json_object_get(cat, "code")));
	}
	if (rc)
		rollback(c);
	else
		rc = commit(c, err);
out:
	json_decref(spec);
	release(q, c);
	return rc;
}

static int pg_programs_list(struct store *s, json_t **out, struct ts_error *err)
{
	WITH_CONN(s, err);
	PGresult *r = run(c, err, "SELECT id,spec,version FROM programs ORDER BY id", "");
	if (r) {
		json_t *arr = json_array();
		for (int i = 0; i < PQntuples(r); i++) {
			json_t *spec = json_loads(val(r, i, 1), 0, NULL);
			if (spec)
				json_array_append_new(arr, json_pack("{s:s,s:o,s:I}", "id", val(r, i, 0), "spec", spec, "version",
								     (json_int_t)ival(r, i, 2)));
		}
		*out = arr;
	} else {
		rc = err->status;
	}
	PQclear(r);
	release(q, c);
	return rc;
}

static int scalar(struct store *s, const char *sql, int64_t *out, struct ts_error *err)
{
	WITH_CONN(s, err);
	PGresult *r = run(c, err, sql, "");
	if (r)
		*out = ival(r, 0, 0);
	else
		rc = err->status;
	PQclear(r);
	release(q, c);
	return rc;
}

static int pg_programs_version(struct store *s, int64_t *out, struct ts_error *err)
{
	return scalar(s, "SELECT coalesce(max(version),0) FROM programs", out, err);
}

static int taken_map(PGconn *c, json_t **out, struct ts_error *err)
{
	PGresult *r = run(c, err, "SELECT program, category, taken FROM quota_counters", "");
	if (!r)
		return err->status;
	json_t *m = json_object();
	for (int i = 0; i < PQntuples(r); i++) {
		char key[200];
		snprintf(key, sizeof(key), "%s/%s", val(r, i, 0), val(r, i, 1));
		json_object_set_new(m, key, json_integer(ival(r, i, 2)));
	}
	PQclear(r);
	*out = m;
	return 0;
}

static int pg_quota_taken(struct store *s, json_t **out, struct ts_error *err)
{
	WITH_CONN(s, err);
	rc = taken_map(c, out, err);
	release(q, c);
	return rc;
}

/* ---- applicants, codes, sessions ---- */

static int pg_applicant_ensure(struct store *s, const char *phone_bidx, const void *sealed, size_t len, int64_t now,
			       int64_t *id_out, struct ts_error *err)
{
	WITH_CONN(s, err);
	PGresult *r = run(c, err,
			  "WITH ins AS (INSERT INTO applicants(phone_bidx,phone_enc,created_at) VALUES($1,$2,$3::bigint)"
			  " ON CONFLICT(phone_bidx) DO NOTHING RETURNING id)"
			  " SELECT id FROM ins UNION ALL SELECT id FROM applicants WHERE phone_bidx=$1 LIMIT 1",
			  "kbi", phone_bidx, sealed, len, now);
	if (r && PQntuples(r) == 1)
		*id_out = ival(r, 0, 0);
	else if (r)
		rc = ts_error_set(err, TS_EINTERNAL, "internal", "申报人记录创建失败");
	else
		rc = err->status;
	PQclear(r);
	release(q, c);
	return rc;
}

static int pg_applicant_phone(struct store *s, int64_t applicant, struct ts_buf *out, struct ts_error *err)
{
	WITH_CONN(s, err);
	PGresult *r = run(c, err, "SELECT phone_enc FROM applicants WHERE id=$1::bigint", "i", applicant);
	if (!r)
		rc = err->status;
	else if (PQntuples(r) == 0)
		rc = ts_error_set(err, TS_ENOTFOUND, "not_found", "申报人不存在");
	else if (bytea(r, 0, 0, out))
		rc = ts_error_set(err, TS_EINTERNAL, "internal", "数据读取失败");
	PQclear(r);
	release(q, c);
	return rc;
}

static int pg_code_create(struct store *s, const char *phone_bidx, const char *purpose, const char *code_hash,
			  int64_t now, const struct store_code_limits *lim, int64_t *retry_after_s, struct ts_error *err)
{
	WITH_CONN(s, err);
	PGresult *r = NULL;
	if ((rc = begin(c, err)))
		goto out;
	/* one phone's codes are counted under a lock on that phone */
	rc = EXEC(c, err, "SELECT pg_advisory_xact_lock(hashtext($1))", "t", phone_bidx);
	if (rc)
		goto out_rollback;
	r = run(c, err,
		"SELECT coalesce(max(created_at),0), count(*) FROM sms_codes WHERE phone_bidx=$1 AND purpose=$2"
		" AND created_at>$3::bigint",
		"kti", phone_bidx, purpose, now - 86400 * TS_US_PER_SEC);
	if (!r) {
		rc = err->status;
		goto out_rollback;
	}
	int64_t last = ival(r, 0, 0), count = ival(r, 0, 1);
	PQclear(r);
	r = NULL;
	if (last && now - last < lim->min_interval_us) {
		*retry_after_s = (lim->min_interval_us - (now - last) + TS_US_PER_SEC - 1) / TS_US_PER_SEC;
		rc = ts_error_set(err, TS_ELIMIT, "rate_limited", "验证码发送过于频繁，请 %lld 秒后再试", (long long)*retry_after_s);
		goto out_rollback;
	}
	if (count >= lim->per_day) {
		*retry_after_s = 3600;
		rc = ts_error_set(err, TS_ELIMIT, "rate_limited", "该手机号今日获取验证码次数已达上限，请明天再试");
		goto out_rollback;
	}
	rc = EXEC(c, err,
		  "INSERT INTO sms_codes(phone_bidx,purpose,code_hash,created_at,expires_at) VALUES($1,$2,$3,$4::bigint,$5::bigint)",
		  "kttii", phone_bidx, purpose, code_hash, now, now + lim->ttl_us);
	if (!rc)
		rc = EXEC(c, err, "DELETE FROM sms_codes WHERE phone_bidx=$1 AND created_at<$2::bigint", "ki", phone_bidx,
			  now - 2 * 86400 * TS_US_PER_SEC);
	if (rc)
		goto out_rollback;
	rc = commit(c, err);
	goto out;
out_rollback:
	rollback(c);
out:
	release(q, c);
	return rc;
}

/* Inside an open transaction: the newest usable code of the phone for the
 * purpose, locked. 0: it matches and is now used; CODE_WRONG: it does not and
 * its wrong tries went up (commit that); TS_EAUTH: no usable code (none,
 * expired, used, or too many wrong tries); anything else: an error. */
#define CODE_WRONG 1
static int consume_in_tx(PGconn *c, const char *phone_bidx, const char *purpose, const char *code_hash, int64_t now,
			 const struct store_code_limits *lim, struct ts_error *err)
{
	PGresult *r = run(c, err,
			  "SELECT id, code_hash, tries FROM sms_codes WHERE phone_bidx=$1 AND purpose=$2 AND used=0"
			  " AND expires_at>$3::bigint ORDER BY created_at DESC, id DESC LIMIT 1 FOR UPDATE",
			  "kti", phone_bidx, purpose, now);
	if (!r)
		return err->status;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return TS_EAUTH;
	}
	int64_t id = ival(r, 0, 0), tries = ival(r, 0, 2);
	bool match = crypt_equal(val(r, 0, 1), code_hash);
	PQclear(r);
	if (tries >= lim->max_tries)
		return TS_EAUTH;
	int rc = EXEC(c, err,
		      match ? "UPDATE sms_codes SET used=1 WHERE id=$1::bigint"
			    : "UPDATE sms_codes SET tries=tries+1 WHERE id=$1::bigint",
		      "i", id);
	return rc ? rc : match ? 0 : CODE_WRONG;
}

/* Ends a code check: commits a counted wrong try, and names a refusal. */
static int code_outcome(PGconn *c, int rc, struct ts_error *err)
{
	if (rc == CODE_WRONG) {
		rc = commit(c, err);
		rc = rc ? rc : TS_EAUTH;
	} else {
		rollback(c);
	}
	if (rc == TS_EAUTH)
		ts_error_set(err, TS_EAUTH, "bad_code", "验证码错误或已失效，请重新获取");
	return rc;
}

static int pg_code_consume(struct store *s, const char *phone_bidx, const char *purpose, const char *code_hash,
			   int64_t now, const struct store_code_limits *lim, struct ts_error *err)
{
	WITH_CONN(s, err);
	if (!(rc = begin(c, err))) {
		rc = consume_in_tx(c, phone_bidx, purpose, code_hash, now, lim, err);
		rc = rc ? code_outcome(c, rc, err) : commit(c, err);
	}
	release(q, c);
	return rc;
}

static int pg_login_applicant(struct store *s, const struct store_login *l, const struct store_code_limits *lim,
			      int64_t *applicant, struct ts_error *err)
{
	WITH_CONN(s, err);
	if ((rc = begin(c, err)))
		goto out;
	if ((rc = consume_in_tx(c, l->phone_bidx, "login", l->code_hash, l->now, lim, err))) {
		rc = code_outcome(c, rc, err);
		goto out;
	}
	PGresult *r = run(c, err,
			  "WITH ins AS (INSERT INTO applicants(phone_bidx,phone_enc,created_at) VALUES($1,$2,$3::bigint)"
			  " ON CONFLICT(phone_bidx) DO NOTHING RETURNING id)"
			  " SELECT id FROM ins UNION ALL SELECT id FROM applicants WHERE phone_bidx=$1 LIMIT 1",
			  "kbi", l->phone_bidx, l->phone_sealed, l->phone_sealed_len, l->now);
	if (!r || PQntuples(r) != 1)
		rc = r ? ts_error_set(err, TS_EINTERNAL, "internal", "申报人记录创建失败") : err->status;
	if (!rc)
		*applicant = ival(r, 0, 0);
	PQclear(r);
	if (!rc)
		rc = EXEC(c, err,
			  "INSERT INTO sessions(token_hash,kind,subject,created_at,last_seen,expires_at)"
			  " VALUES($1,'applicant',$2::bigint,$3::bigint,$3::bigint,$4::bigint)",
			  "tiii", l->token_hash, *applicant, l->now, l->expires_at);
	if (rc)
		rollback(c);
	else
		rc = commit(c, err);
out:
	release(q, c);
	return rc;
}

static int pg_session_create(struct store *s, const char *token_hash, const char *kind, int64_t subject, int64_t now,
			     int64_t expires_at, struct ts_error *err)
{
	WITH_CONN(s, err);
	rc = EXEC(c, err,
		  "INSERT INTO sessions(token_hash,kind,subject,created_at,last_seen,expires_at)"
		  " VALUES($1,$2,$3::bigint,$4::bigint,$4::bigint,$5::bigint)",
		  "ttiii", token_hash, kind, subject, now, expires_at);
	if (!rc && (now / TS_US_PER_SEC) % 64 == 0) {
		struct ts_error e2;
		(void)EXEC(c, &e2, "DELETE FROM sessions WHERE expires_at<$1::bigint", "i", now);
	}
	release(q, c);
	return rc;
}

static int pg_session_get(struct store *s, const char *token_hash, struct store_session *out, struct ts_error *err)
{
	WITH_CONN(s, err);
	PGresult *r = run(c, err, "SELECT kind,subject,created_at,last_seen,expires_at FROM sessions WHERE token_hash=$1", "t",
			  token_hash);
	if (!r) {
		rc = err->status;
		goto out;
	}
	if (PQntuples(r) == 1) {
		snprintf(out->kind, sizeof(out->kind), "%s", val(r, 0, 0));
		out->subject = ival(r, 0, 1);
		out->created_at = ival(r, 0, 2);
		out->last_seen = ival(r, 0, 3);
		out->expires_at = ival(r, 0, 4);
	} else {
		rc = ts_error_set(err, TS_ENOTFOUND, "unauthorized", "登录已失效，请重新登录");
	}
	PQclear(r);
out:
	release(q, c);
	return rc;
}

/* One statement for all: the hashes and times as two array literals (hex and digits only). */
static int pg_session_touch(struct store *s, char (*hashes)[STORE_TOKEN_HASH_LEN + 1], const int64_t *at, size_t n,
			    struct ts_error *err)
{
	char *hs = ts_malloc(n * (STORE_TOKEN_HASH_LEN + 1) + 3), *ts = ts_malloc(n * 21 + 3);
	size_t hl = 0, tl = 0;
	hs[hl++] = '{';
	ts[tl++] = '{';
	for (size_t i = 0; i < n; i++) {
		if (i) {
			hs[hl++] = ',';
			ts[tl++] = ',';
		}
		memcpy(hs + hl, hashes[i], STORE_TOKEN_HASH_LEN);
		hl += STORE_TOKEN_HASH_LEN;
		tl += (size_t)snprintf(ts + tl, 21, "%lld", (long long)at[i]);
	}
	memcpy(hs + hl, "}", 2);
	memcpy(ts + tl, "}", 2);
	WITH_CONN(s, err);
	rc = EXEC(c, err,
		  "UPDATE sessions s SET last_seen=v.at FROM unnest($1::text[], $2::bigint[]) AS v(h, at)"
		  " WHERE s.token_hash=v.h AND s.last_seen<v.at",
		  "tt", hs, ts);
	release(q, c);
	free(hs);
	free(ts);
	return rc;
}

static int pg_session_delete(struct store *s, const char *token_hash, struct ts_error *err)
{
	WITH_CONN(s, err);
	rc = EXEC(c, err, "DELETE FROM sessions WHERE token_hash=$1", "t", token_hash);
	release(q, c);
	return rc;
}

/* ---- applications ---- */

#define APP_COLS_WITH(AHEAD)                                                                               \
	"a.id,a.program,a.category,a.rank,a.applicant,a.status,a.union_code,a.receipt,"                    \
	"a.submitted_at,a.updated_at,a.fields,a.secret," AHEAD ",a.stage,a.returns,coalesce(a.return_deadline,0)"
/* For one application: an index range count. */
#define APP_COLS                                                                                           \
	APP_COLS_WITH("(SELECT count(*) FROM applications b WHERE b.program=a.program AND b.category=a.category" \
		      " AND b.active=1 AND b.rank<=a.rank)")
/* For lists: one pass over the program with a window function, joined as r. */
#define AHEAD_CTE                                                                                          \
	"WITH r AS (SELECT id, count(*) FILTER (WHERE active=1) OVER (PARTITION BY category ORDER BY rank)"    \
	" AS ahead FROM applications WHERE program=$1) "

static void read_app(const PGresult *r, int i, struct store_app *a)
{
	memset(a, 0, sizeof(*a));
	a->id = ival(r, i, 0);
	snprintf(a->program, sizeof(a->program), "%s", val(r, i, 1));
	snprintf(a->category, sizeof(a->category), "%s", val(r, i, 2));
	a->rank = ival(r, i, 3);
	a->applicant = ival(r, i, 4);
	snprintf(a->status, sizeof(a->status), "%s", val(r, i, 5));
	snprintf(a->union_code, sizeof(a->union_code), "%s", val(r, i, 6));
	snprintf(a->receipt, sizeof(a->receipt), "%s", val(r, i, 7));
	a->submitted_at = ival(r, i, 8);
	a->updated_at = ival(r, i, 9);
	a->fields = json_loads(val(r, i, 10), 0, NULL);
	if (!a->fields)
		a->fields = json_object();
	ts_buf_init(&a->secret, 0);
	if (bytea(r, i, 11, &a->secret))
		ts_buf_reset(&a->secret);
	a->running_at_or_ahead = ival(r, i, 12);
	a->stage = (int)ival(r, i, 13);
	a->returns = (int)ival(r, i, 14);
	a->return_deadline = ival(r, i, 15);
}

static int pg_app_get(struct store *s, int64_t id, struct store_app *out, struct ts_error *err)
{
	WITH_CONN(s, err);
	PGresult *r = run(c, err, "SELECT " APP_COLS " FROM applications a WHERE a.id=$1::bigint", "i", id);
	if (!r)
		rc = err->status;
	else if (PQntuples(r) == 0)
		rc = ts_error_set(err, TS_ENOTFOUND, "not_found", "找不到该申报");
	else
		read_app(r, 0, out);
	PQclear(r);
	release(q, c);
	return rc;
}

static int pg_apps_by_applicant(struct store *s, int64_t applicant, struct store_app **out, size_t *n,
				struct ts_error *err)
{
	WITH_CONN(s, err);
	*out = NULL;
	*n = 0;
	PGresult *r = run(c, err, "SELECT " APP_COLS " FROM applications a WHERE a.applicant=$1::bigint ORDER BY a.id DESC",
			  "i", applicant);
	if (r) {
		int k = PQntuples(r);
		*out = ts_calloc(k ? (size_t)k : 1, sizeof(**out));
		for (int i = 0; i < k; i++)
			read_app(r, i, &(*out)[i]);
		*n = (size_t)k;
	} else {
		rc = err->status;
	}
	PQclear(r);
	release(q, c);
	return rc;
}

static int pg_app_history(struct store *s, int64_t id, json_t **out, struct ts_error *err)
{
	WITH_CONN(s, err);
	PGresult *r = run(c, err,
			  "SELECT at,actor,action,status,reason,detail FROM application_events WHERE application=$1::bigint ORDER BY id",
			  "i", id);
	if (r) {
		json_t *arr = json_array();
		for (int i = 0; i < PQntuples(r); i++) {
			json_t *e = json_pack("{s:I,s:s,s:s,s:s}", "at", (json_int_t)ival(r, i, 0), "actor", val(r, i, 1), "action",
					      val(r, i, 2), "status", val(r, i, 3));
			if (!PQgetisnull(r, i, 4))
				json_object_set_new(e, "reason", json_string(val(r, i, 4)));
			json_t *d = PQgetisnull(r, i, 5) ? NULL : json_loads(val(r, i, 5), 0, NULL);
			if (d)
				json_object_set_new(e, "detail", d);
			json_array_append_new(arr, e);
		}
		*out = arr;
	} else {
		rc = err->status;
	}
	PQclear(r);
	release(q, c);
	return rc;
}

static int pg_person_history(struct store *s, const char *id_bidx, const char *series, int64_t exclude_id, json_t **out,
			     struct ts_error *err)
{
	WITH_CONN(s, err);
	PGresult *r = run(c, err,
			  "SELECT grp,year,level,fields FROM applications WHERE id_bidx=$1 AND series=$2 AND active=1 AND id<>$3::bigint",
			  "kti", id_bidx, series, exclude_id);
	if (r) {
		json_t *arr = json_array();
		for (int i = 0; i < PQntuples(r); i++) {
			json_t *f = json_loads(val(r, i, 3), 0, NULL);
			json_array_append_new(arr, json_pack("{s:s,s:i,s:s,s:o}", "group", val(r, i, 0), "year", (int)ival(r, i, 1),
							     "level", val(r, i, 2), "fields", f ? f : json_object()));
		}
		*out = arr;
	} else {
		rc = err->status;
	}
	PQclear(r);
	release(q, c);
	return rc;
}

static int add_event(PGconn *c, int64_t app, int64_t at, const char *actor, const char *action, const char *status,
		     const char *reason, const char *detail, struct ts_error *err)
{
	return EXEC(c, err,
		    "INSERT INTO application_events(application,at,actor,action,status,reason,detail)"
		    " VALUES($1::bigint,$2::bigint,$3,$4,$5,$6,$7)",
		    "iittttt", app, at, actor, action, status, reason, detail);
}

static int pg_app_update(struct store *s, int64_t id, int64_t applicant, const char *fields_json, const void *secret,
			 size_t secret_len, const char *id_bidx, const char *union_code, const char *actor, int64_t now,
			 struct ts_error *err)
{
	WITH_CONN(s, err);
	if ((rc = begin(c, err)))
		goto out;
	PGresult *r = run(c, err,
			  "SELECT status, grp, active FROM applications WHERE id=$1::bigint AND applicant=$2::bigint FOR UPDATE",
			  "ii", id, applicant);
	if (!r) {
		rc = err->status;
		goto out_rollback;
	}
	if (PQntuples(r) == 0) {
		PQclear(r);
		rc = ts_error_set(err, TS_ENOTFOUND, "not_found", "找不到该申报");
		goto out_rollback;
	}
	char status[32], grp[64];
	snprintf(status, sizeof(status), "%s", val(r, 0, 0));
	snprintf(grp, sizeof(grp), "%s", val(r, 0, 1));
	bool active = ival(r, 0, 2) != 0;
	PQclear(r);
	if (!status_editable(status)) {
		rc = ts_error_set(err, TS_ECONFLICT, "locked", "该申报当前状态不可修改");
		goto out_rollback;
	}
	if (active) {
		r = run(c, err, "SELECT 1 FROM applications WHERE grp=$1 AND id_bidx=$2 AND active=1 AND id<>$3::bigint", "tki",
			grp, id_bidx, id);
		if (!r) {
			rc = err->status;
			goto out_rollback;
		}
		bool dup = PQntuples(r) > 0;
		PQclear(r);
		if (dup) {
			rc = ts_error_set(err, TS_ECONFLICT, "duplicate", "该身份证号已有本项目的申报");
			goto out_rollback;
		}
	}
	rc = EXEC(c, err,
		  "UPDATE applications SET fields=$1, secret=$2, id_bidx=$3, union_code=$4, updated_at=$5::bigint WHERE id=$6::bigint",
		  "tbktii", fields_json, secret, secret_len, id_bidx, union_code, now, id);
	if (!rc)
		rc = add_event(c, id, now, actor, "edit", status, NULL, NULL, err);
	if (rc)
		goto out_rollback;
	rc = commit(c, err);
	if (rc == TS_ECONFLICT)
		ts_error_set(err, TS_ECONFLICT, "duplicate", "该身份证号已有本项目的申报");
	goto out;
out_rollback:
	rollback(c);
out:
	release(q, c);
	return rc;
}

static int pg_app_transition(struct store *s, int64_t id, const char *const *from, const char *to, const char *actor,
			     const char *action, const char *reason, const char *detail_json, int64_t now,
			     struct ts_error *err)
{
	WITH_CONN(s, err);
	if ((rc = begin(c, err)))
		goto out;
	PGresult *r = run(c, err, "SELECT status FROM applications WHERE id=$1::bigint FOR UPDATE", "i", id);
	if (!r) {
		rc = err->status;
		goto out_rollback;
	}
	if (PQntuples(r) == 0) {
		PQclear(r);
		rc = ts_error_set(err, TS_ENOTFOUND, "not_found", "找不到该申报");
		goto out_rollback;
	}
	char status[32];
	snprintf(status, sizeof(status), "%s", val(r, 0, 0));
	PQclear(r);
	bool allowed = false;
	for (const char *const *f = from; *f; f++)
		allowed |= strcmp(*f, status) == 0;
	if (!allowed) {
		char label[160];
		rc = ts_error_set(err, TS_ECONFLICT, "wrong_stage", "该申报当前状态（%s）不能执行此操作",
				  review_status_label(NULL, status, label, sizeof(label)));
		goto out_rollback;
	}
	rc = EXEC(c, err, "UPDATE applications SET status=$1, active=$2::int, updated_at=$3::bigint WHERE id=$4::bigint",
		  "tiii", to, (int64_t)status_in_running(to), now, id);
	if (!rc)
		rc = add_event(c, id, now, actor, action, to, reason, detail_json, err);
	if (rc)
		goto out_rollback;
	rc = commit(c, err);
	goto out;
out_rollback:
	rollback(c);
out:
	release(q, c);
	return rc;
}

/* ---- the writer's batch ---- */

struct batch_cat {
	const char *program, *category;
	int64_t taken, running;
	int64_t taken0; /* taken when the batch began */
	bool dirty;
};

static struct batch_cat *find_cat(struct batch_cat **cats, size_t *n, size_t *cap, const char *program,
				  const char *category)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*cats)[i].program, program) == 0 && strcmp((*cats)[i].category, category) == 0)
			return &(*cats)[i];
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*cats = ts_realloc(*cats, *cap * sizeof(**cats));
	}
	struct batch_cat *c = &(*cats)[(*n)++];
	memset(c, 0, sizeof(*c));
	c->program = program;
	c->category = category;
	c->taken = -1;
	return c;
}

static int load_taken(PGconn *c, struct batch_cat *bc, struct ts_error *err)
{
	PGresult *r = run(c, err, "SELECT coalesce((SELECT taken FROM quota_counters WHERE program=$1 AND category=$2),0)",
			  "tt", bc->program, bc->category);
	if (!r)
		return err->status;
	bc->taken = bc->taken0 = ival(r, 0, 0);
	bc->running = -1; /* counted only when a rank passes the cap */
	PQclear(r);
	return 0;
}

static int count_running(PGconn *c, struct batch_cat *bc, struct ts_error *err)
{
	PGresult *r = run(c, err, "SELECT count(*) FROM applications WHERE program=$1 AND category=$2 AND active=1", "tt",
			  bc->program, bc->category);
	if (!r)
		return err->status;
	bc->running = ival(r, 0, 0);
	PQclear(r);
	return 0;
}

/* The writer's batch in a handful of round trips, whatever its size: one
 * query finds the jobs that already have an application in their group;
 * ranks, receipts and the ledger chain are worked out here in arrival
 * order; then one INSERT each for the applications, their first history
 * events and the ledger entries (rows passed as one JSON array). */

struct job_state {
	int dup_of;	    /* index of an earlier job of this batch it duplicates, or -1 */
	bool dup_same_phone; /* … by the same phone (else by the same ID number) */
	bool insert;	    /* gets a rank and a row */
};

/* Jobs already having an application (same phone or same ID number in the
 * group): sets rc/err/existing_id on them. */
static int batch_existing(PGconn *c, struct submit_job **jobs, size_t n, struct ts_error *err)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:s,s:I,s:s}", "grp", jobs[i]->group, "applicant",
						     (json_int_t)jobs[i]->applicant, "id_bidx", jobs[i]->id_bidx));
	char *js = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	PGresult *r = run(c, err,
			  "SELECT v.ord, d.id, d.same FROM ROWS FROM (json_to_recordset($1::json)"
			  "  AS (grp text, applicant bigint, id_bidx text)) WITH ORDINALITY AS v(grp, applicant, id_bidx, ord)"
			  " CROSS JOIN LATERAL ((SELECT id, 1 AS same FROM applications a"
			  "   WHERE a.applicant=v.applicant AND a.grp=v.grp AND a.active=1 LIMIT 1)"
			  "  UNION ALL (SELECT id, 0 FROM applications a"
			  "   WHERE a.id_bidx=decode(v.id_bidx, 'hex') AND a.grp=v.grp AND a.active=1 LIMIT 1) LIMIT 1) d",
			  "t", js);
	free(js);
	if (!r)
		return err->status;
	for (int k = 0; k < PQntuples(r); k++) {
		int64_t ord = ival(r, k, 0);
		if (ord < 1 || ord > (int64_t)n)
			continue;
		struct submit_job *j = jobs[ord - 1];
		bool same = ival(r, k, 2) != 0;
		j->existing_id = same ? ival(r, k, 1) : 0;
		j->rc = TS_ECONFLICT;
		ts_error_set(&j->err, TS_ECONFLICT, "duplicate",
			     same ? "该手机号已提交过本项目的申报，不能重复申报" : "该身份证号已有本项目的申报，每人只能申报一次");
	}
	PQclear(r);
	return 0;
}

static int batch_insert(PGconn *c, struct submit_job **jobs, size_t n, const struct job_state *js,
			const char (*prev)[CRYPT_HEX_BYTES], struct ts_error *err)
{
	json_t *apps = json_array(), *ledger = json_array();
	char *ids = ts_malloc(n * 22 + 3), *ats = ts_malloc(n * 22 + 3);
	size_t il = 0, al = 0, nins = 0;
	ids[il++] = '{';
	ats[al++] = '{';
	for (size_t i = 0; i < n; i++) {
		if (!js[i].insert)
			continue;
		struct submit_job *j = jobs[i];
		char *hex = ts_malloc(j->secret_len * 2 + 1);
		sodium_bin2hex(hex, j->secret_len * 2 + 1, j->secret, j->secret_len);
		json_array_append_new(
			apps, json_pack("{s:s,s:s,s:I,s:s,s:s?,s:i,s:s?,s:I,s:s,s:s?,s:s,s:s,s:s,s:I}", "program", j->program,
					"category", j->category, "rank", (json_int_t)j->rank, "grp", j->group, "series",
					j->series, "year", j->year, "level", j->level, "applicant",
					(json_int_t)j->applicant, "id_bidx", j->id_bidx, "union_code", j->union_code,
					"fields", j->fields_json, "secret", hex, "receipt", j->receipt, "at",
					(json_int_t)j->submitted_at));
		free(hex);
		json_array_append_new(ledger, json_pack("{s:s,s:s,s:I,s:I,s:s,s:s,s:s}", "program", j->program,
							"category", j->category, "rank", (json_int_t)j->rank, "at",
							(json_int_t)j->submitted_at, "applicant", j->ledger_id, "prev",
							prev[i], "hash", j->receipt));
		nins++;
	}
	char *apps_js = json_dumps(apps, JSON_COMPACT), *ledger_js = json_dumps(ledger, JSON_COMPACT);
	json_decref(apps);
	json_decref(ledger);
	int rc = 0;
	PGresult *r = NULL;
	if (!nins)
		goto out;
	/* the ids come back with (program, category, rank), which is unique */
	r = run(c, err,
		"INSERT INTO applications(program,category,rank,grp,series,year,level,applicant,phone_bidx,id_bidx,"
		"union_code,status,active,fields,secret,receipt,submitted_at,updated_at)"
		" SELECT v.program, v.category, v.rank, v.grp, v.series, v.year, v.level, v.applicant,"
		"  (SELECT phone_bidx FROM applicants WHERE id=v.applicant), decode(v.id_bidx, 'hex'), v.union_code,"
		"  'submitted', 1,"
		"  v.fields, decode(v.secret, 'hex'), v.receipt, v.at, v.at"
		" FROM ROWS FROM (json_to_recordset($1::json) AS (program text, category text, rank bigint,"
		"  grp text, series text, year int, level text, applicant bigint, id_bidx text, union_code text,"
		"  fields text, secret text, receipt text, at bigint)) WITH ORDINALITY"
		"  AS v(program, category, rank, grp, series, year, level, applicant, id_bidx, union_code, fields,"
		"  secret, receipt, at, ord) ORDER BY v.ord"
		" RETURNING id, program, category, rank",
		"t", apps_js);
	if (!r) {
		rc = err->status;
		goto out;
	}
	size_t cursor = 0;
	for (int k = 0; k < PQntuples(r); k++) {
		const char *prog = val(r, k, 1), *cat = val(r, k, 2);
		int64_t rank = ival(r, k, 3);
		for (size_t t = 0; t < n; t++) {
			size_t i = (cursor + t) % n;
			struct submit_job *j = jobs[i];
			if (js[i].insert && j->rank == rank && strcmp(j->category, cat) == 0 &&
			    strcmp(j->program, prog) == 0) {
				j->id = ival(r, k, 0);
				cursor = i + 1;
				il += (size_t)snprintf(ids + il, 22, "%s%lld", il > 1 ? "," : "", (long long)j->id);
				al += (size_t)snprintf(ats + al, 22, "%s%lld", al > 1 ? "," : "",
						       (long long)j->submitted_at);
				break;
			}
		}
	}
	bool all = (size_t)PQntuples(r) == nins;
	PQclear(r);
	if (!all) {
		rc = ts_error_set(err, TS_EINTERNAL, "internal", "写入的申报数与批次不符");
		goto out;
	}
	memcpy(ids + il, "}", 2);
	memcpy(ats + al, "}", 2);
	rc = EXEC(c, err,
		  "INSERT INTO application_events(application,at,actor,action,status)"
		  " SELECT a, t, 'applicant', 'submit', 'submitted' FROM unnest($1::bigint[], $2::bigint[]) AS v(a, t)",
		  "tt", ids, ats);
	if (!rc) /* in arrival order: seq follows the chain */
		rc = EXEC(c, err,
			  "INSERT INTO ledger(program,category,rank,at,applicant,prev,hash)"
			  " SELECT v.program, v.category, v.rank, v.at, v.applicant, v.prev, v.hash"
			  " FROM ROWS FROM (json_to_recordset($1::json) AS (program text, category text, rank bigint,"
			  "  at bigint, applicant text, prev text, hash text)) WITH ORDINALITY"
			  "  AS v(program, category, rank, at, applicant, prev, hash, ord) ORDER BY v.ord",
			  "t", ledger_js);
out:
	free(apps_js);
	free(ledger_js);
	free(ids);
	free(ats);
	return rc;
}

static int pg_submit_batch(struct store *s, struct submit_job **jobs, size_t n)
{
	struct store_pg *q = pg_of(s);
	struct ts_error err;
	int rc = 0;
	if (q->writer && PQstatus(q->writer) != CONNECTION_OK) {
		conn_finish(q->writer);
		q->writer = NULL;
	}
	if (!q->writer && (rc = pg_connect(q->conninfo, &q->writer, &err)))
		return rc;
	PGconn *c = q->writer;
	struct batch_cat *cats = NULL;
	size_t ncats = 0, capc = 0;
	char last_hash[CRYPT_HEX_BYTES] = LEDGER_GENESIS;
	int64_t last_at = 0;
	struct job_state *js = ts_calloc(n, sizeof(*js));
	char(*prev)[CRYPT_HEX_BYTES] = ts_calloc(n, sizeof(*prev));
	if ((rc = begin(c, &err)))
		goto fail;
	/* batches of every node, one after the other: ranks and the ledger chain stay whole */
	if ((rc = EXEC(c, &err, "SELECT pg_advisory_xact_lock($1::bigint)", "i", (int64_t)WRITER_LOCK_KEY)))
		goto fail;
	PGresult *r = run(c, &err, "SELECT hash, at FROM ledger ORDER BY seq DESC LIMIT 1", "");
	if (!r) {
		rc = err.status;
		goto fail;
	}
	if (PQntuples(r)) {
		snprintf(last_hash, sizeof(last_hash), "%s", val(r, 0, 0));
		last_at = ival(r, 0, 1);
	}
	PQclear(r);
	if ((rc = batch_existing(c, jobs, n, &err)))
		goto fail;
	for (size_t i = 0; i < n; i++) {
		struct submit_job *j = jobs[i];
		js[i].dup_of = -1;
		if (j->rc)
			continue; /* already has an application */
		/* an earlier job of this batch, by the same phone or ID in the group */
		for (size_t k = 0; k < i; k++) {
			if (!js[k].insert || strcmp(jobs[k]->group, j->group) != 0)
				continue;
			bool same_phone = jobs[k]->applicant == j->applicant;
			if (same_phone || strcmp(jobs[k]->id_bidx, j->id_bidx) == 0) {
				js[i].dup_of = (int)k;
				js[i].dup_same_phone = same_phone;
				break;
			}
		}
		if (js[i].dup_of >= 0) {
			j->rc = TS_ECONFLICT;
			ts_error_set(&j->err, TS_ECONFLICT, "duplicate",
				     js[i].dup_same_phone ? "该手机号已提交过本项目的申报，不能重复申报"
							  : "该身份证号已有本项目的申报，每人只能申报一次");
			continue;
		}
		struct batch_cat *bc = find_cat(&cats, &ncats, &capc, j->program, j->category);
		if (bc->taken < 0 && (rc = load_taken(c, bc, &err)))
			goto fail;
		if (bc->taken >= j->places) {
			j->rc = TS_ECONFLICT;
			ts_error_set(&j->err, TS_ECONFLICT, "quota_full", "名额已满，本类别已无剩余名额");
			continue;
		}
		int64_t rank = bc->taken + 1;
		if (rank > j->cap && bc->running < 0) {
			if ((rc = count_running(c, bc, &err)))
				goto fail;
			/* the ranks given earlier in this batch are not inserted yet */
			bc->running += bc->taken - bc->taken0;
		}
		int64_t at = ts_now_us();
		if (at < last_at)
			at = last_at;
		memcpy(prev[i], last_hash, CRYPT_HEX_BYTES);
		ledger_hash(last_hash, j->program, j->category, rank, at, j->ledger_id, j->receipt);
		memcpy(last_hash, j->receipt, CRYPT_HEX_BYTES);
		last_at = at;
		bc->taken = rank;
		if (bc->running >= 0)
			bc->running++;
		bc->dirty = true;
		j->rank = rank;
		j->submitted_at = at;
		j->running_at_or_ahead = bc->running >= 0 ? bc->running : rank;
		js[i].insert = true;
	}
	if ((rc = batch_insert(c, jobs, n, js, (const char(*)[CRYPT_HEX_BYTES])prev, &err)))
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (js[i].dup_of >= 0)
			jobs[i]->existing_id = js[i].dup_same_phone ? jobs[js[i].dup_of]->id : 0;
	for (size_t i = 0; i < ncats; i++) {
		if (!cats[i].dirty)
			continue;
		rc = EXEC(c, &err,
			  "INSERT INTO quota_counters(program,category,taken) VALUES($1,$2,$3::bigint)"
			  " ON CONFLICT(program,category) DO UPDATE SET taken=excluded.taken",
			  "tti", cats[i].program, cats[i].category, cats[i].taken);
		if (rc)
			goto fail;
	}
	free(cats);
	free(js);
	free(prev);
	return commit(c, &err);
fail:
	ts_log_error("pg.submit_batch", "%s", err.message);
	free(cats);
	free(js);
	free(prev);
	rollback(c);
	return rc ? rc : TS_EIO;
}

/* ---- ledger ---- */

/* A ledger entry from columns 0–7 of row i: seq, program, category, rank,
 * at, applicant, prev, hash (the strings are the result's). */
static struct ledger_entry ledger_row(PGresult *r, int i)
{
	return (struct ledger_entry){
		.seq = ival(r, i, 0),
		.program = val(r, i, 1),
		.category = val(r, i, 2),
		.rank = ival(r, i, 3),
		.at_us = ival(r, i, 4),
		.applicant = val(r, i, 5),
		.prev = val(r, i, 6),
		.hash = val(r, i, 7),
	};
}

static int pg_ledger_each(struct store *s, store_ledger_fn fn, void *ctx, struct ts_error *err)
{
	WITH_CONN(s, err);
	/* a cursor, so a large ledger is not held in memory at once */
	if ((rc = begin(c, err)))
		goto out;
	rc = simple(c, "DECLARE ledger_cur NO SCROLL CURSOR FOR SELECT seq,program,category,rank,at,applicant,prev,hash"
		       " FROM ledger ORDER BY seq",
		    err);
	while (!rc) {
		PGresult *r = run(c, err, "FETCH 10000 FROM ledger_cur", "");
		if (!r) {
			rc = err->status;
			break;
		}
		int k = PQntuples(r);
		for (int i = 0; i < k && !rc; i++) {
			struct ledger_entry e = ledger_row(r, i);
			rc = fn(ctx, &e);
		}
		PQclear(r);
		if (k == 0)
			break;
	}
	rollback(c);
out:
	release(q, c);
	return rc;
}

/* As sq_ledger_apps, through a cursor so a large ledger is not held in
 * memory at once. */
static int pg_ledger_apps(struct store *s, store_ledger_app_fn fn, void *ctx, struct ts_error *err)
{
	WITH_CONN(s, err);
	if ((rc = begin(c, err)))
		goto out;
	rc = simple(c,
		    "DECLARE ledger_apps_cur NO SCROLL CURSOR FOR"
		    " SELECT l.seq,l.program,l.category,l.rank,l.at,l.applicant,l.prev,l.hash,"
		    " a.id,a.receipt,a.submitted_at,encode(a.id_bidx,'hex'),a.secret,"
		    " EXISTS(SELECT 1 FROM application_events v WHERE v.application=a.id AND v.action='edit')"
		    " FROM ledger l LEFT JOIN applications a"
		    " ON a.program=l.program AND a.category=l.category AND a.rank=l.rank ORDER BY l.seq",
		    err);
	struct ts_buf secret;
	ts_buf_init(&secret, 0);
	while (!rc) {
		PGresult *r = run(c, err, "FETCH 10000 FROM ledger_apps_cur", "");
		if (!r) {
			rc = err->status;
			break;
		}
		int k = PQntuples(r);
		for (int i = 0; i < k && !rc; i++) {
			struct ledger_entry e = ledger_row(r, i);
			ts_buf_reset(&secret);
			if (bytea(r, i, 12, &secret)) {
				rc = ts_error_set(err, TS_EINTERNAL, "internal", "无法读取申报 #%lld 的加密信息",
						  (long long)ival(r, i, 8));
				break;
			}
			struct ledger_app a = {
				.id = ival(r, i, 8),
				.receipt = val(r, i, 9),
				.submitted_at = ival(r, i, 10),
				.id_bidx = val(r, i, 11),
				.secret = secret.ptr,
				.secret_len = secret.len,
				.edited = strcmp(val(r, i, 13), "t") == 0,
			};
			rc = fn(ctx, &e, PQgetisnull(r, i, 8) ? NULL : &a);
		}
		PQclear(r);
		if (k == 0)
			break;
	}
	ts_buf_free(&secret);
	rollback(c);
out:
	release(q, c);
	return rc;
}

static int pg_ledger_crosscheck(struct store *s, int64_t *orphans, json_t **taken, struct ts_error *err)
{
	WITH_CONN(s, err);
	PGresult *r = run(c, err,
			  "SELECT count(*) FROM applications a WHERE NOT EXISTS (SELECT 1 FROM ledger l WHERE"
			  " l.program=a.program AND l.category=a.category AND l.rank=a.rank AND l.hash=a.receipt)",
			  "");
	if (r) {
		*orphans = ival(r, 0, 0);
		PQclear(r);
		rc = taken_map(c, taken, err);
	} else {
		rc = err->status;
	}
	release(q, c);
	return rc;
}

/* ---- staff, drafts, check ---- */

static int pg_staff_add(struct store *s, const char *username, const char *pw_hash, const char *org, const char *role,
			int64_t now, struct ts_error *err)
{
	WITH_CONN(s, err);
	rc = EXEC(c, err,
		  "INSERT INTO staff(username,pw_hash,org,role,created_at) VALUES($1,$2,$3,$4,$5::bigint)"
		  " ON CONFLICT(username) DO UPDATE SET pw_hash=excluded.pw_hash, org=excluded.org,"
		  " role=excluded.role, failed=0, locked_until=0",
		  "tttti", username, pw_hash, org, role, now);
	release(q, c);
	return rc;
}

static int pg_draft_put(struct store *s, int64_t applicant, const char *program, const char *body, int64_t now,
			struct ts_error *err)
{
	WITH_CONN(s, err);
	rc = EXEC(c, err,
		  "INSERT INTO drafts(applicant,program,body,updated_at) VALUES($1::bigint,$2,$3,$4::bigint)"
		  " ON CONFLICT(applicant,program) DO UPDATE SET body=excluded.body, updated_at=excluded.updated_at",
		  "itti", applicant, program, body, now);
	release(q, c);
	return rc;
}

static int pg_draft_get(struct store *s, int64_t applicant, const char *program, char **out, int64_t *updated_at,
			struct ts_error *err)
{
	WITH_CONN(s, err);
	PGresult *r = run(c, err, "SELECT body, updated_at FROM drafts WHERE applicant=$1::bigint AND program=$2", "it",
			  applicant, program);
	if (!r)
		rc = err->status;
	else if (PQntuples(r) == 0)
		rc = ts_error_set(err, TS_ENOTFOUND, "not_found", "没有保存的草稿");
	else {
		*out = ts_strdup(val(r, 0, 0));
		*updated_at = ival(r, 0, 1);
	}
	PQclear(r);
	release(q, c);
	return rc;
}

static int pg_draft_delete(struct store *s, int64_t applicant, const char *program, struct ts_error *err)
{
	WITH_CONN(s, err);
	rc = EXEC(c, err, "DELETE FROM drafts WHERE applicant=$1::bigint AND program=$2", "it", applicant, program);
	release(q, c);
	return rc;
}

static int pg_check(struct store *s, struct ts_error *err)
{
	int64_t one = 0;
	return scalar(s, "SELECT 1", &one, err);
}

/* ---- staff login state ---- */

static int pg_staff_get(struct store *s, const char *username, int64_t id, struct store_staff *out, struct ts_error *err)
{
	WITH_CONN(s, err);
	const char *cols = "SELECT id,username,pw_hash,org,role,totp_secret,totp_enabled,failed,locked_until FROM staff";
	char sql[256];
	snprintf(sql, sizeof(sql), "%s WHERE %s", cols, username ? "username=$1" : "id=$1::bigint");
	PGresult *r = username ? run(c, err, sql, "t", username) : run(c, err, sql, "i", id);
	if (!r)
		rc = err->status;
	else if (PQntuples(r) == 0)
		rc = ts_error_set(err, TS_ENOTFOUND, "not_found", "找不到该工作人员");
	else {
		memset(out, 0, sizeof(*out));
		out->id = ival(r, 0, 0);
		snprintf(out->username, sizeof(out->username), "%s", val(r, 0, 1));
		snprintf(out->pw_hash, sizeof(out->pw_hash), "%s", val(r, 0, 2));
		snprintf(out->org, sizeof(out->org), "%s", val(r, 0, 3));
		snprintf(out->role, sizeof(out->role), "%s", val(r, 0, 4));
		ts_buf_init(&out->totp_sealed, 0);
		if (bytea(r, 0, 5, &out->totp_sealed))
			ts_buf_reset(&out->totp_sealed);
		out->totp_enabled = ival(r, 0, 6) != 0;
		out->failed = (int)ival(r, 0, 7);
		out->locked_until = ival(r, 0, 8);
	}
	PQclear(r);
	release(q, c);
	return rc;
}

static int pg_staff_login_result(struct store *s, int64_t id, bool ok, int64_t now, int max_failures, int64_t lock_us,
				 struct ts_error *err)
{
	WITH_CONN(s, err);
	if (ok)
		rc = EXEC(c, err, "UPDATE staff SET failed=0, locked_until=0 WHERE id=$1::bigint", "i", id);
	else
		rc = EXEC(c, err,
			  "UPDATE staff SET locked_until=CASE WHEN failed+1>=$2::int THEN $3::bigint ELSE locked_until END,"
			  " failed=CASE WHEN failed+1>=$2::int THEN 0 ELSE failed+1 END WHERE id=$1::bigint",
			  "iii", id, (int64_t)max_failures, now + lock_us);
	release(q, c);
	return rc;
}

static int pg_staff_set_totp(struct store *s, int64_t id, const void *sealed, size_t n, bool enabled,
			     struct ts_error *err)
{
	WITH_CONN(s, err);
	rc = EXEC(c, err, "UPDATE staff SET totp_secret=$1, totp_enabled=$2::int WHERE id=$3::bigint", "bii", sealed, n,
		  (int64_t)enabled, id);
	release(q, c);
	return rc;
}

/* ---- review ---- */

static int pg_review_list(struct store *s, const struct store_review_query *qr, store_app_fn fn, void *ctx,
			  int64_t *total, struct ts_error *err)
{
	WITH_CONN(s, err);
	char *unions = qr->unions ? json_dumps(qr->unions, JSON_COMPACT) : NULL;
	const char *where =
		" WHERE a.program=$1 AND ($2::text IS NULL OR a.status=$2) AND ($3::text IS NULL OR a.category=$3)"
		" AND ($4::jsonb IS NULL OR a.union_code IN (SELECT jsonb_array_elements_text($4::jsonb)))"
		" AND ($5::int < 0 OR a.stage=$5::int) AND ($6::int = 0 OR a.active=1)"
		" AND ($7::bigint = 0 OR a.rank>=$7::bigint) AND ($8::bigint = 0 OR a.rank<=$8::bigint)";
	char sql[2048];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM applications a%s", where);
	PGresult *r = run(c, err, sql, "ttttiiii", qr->program, qr->status, qr->category, unions, (int64_t)qr->stage,
			  (int64_t)qr->running_only, qr->rank_min, qr->rank_max);
	if (!r) {
		rc = err->status;
		goto out;
	}
	*total = ival(r, 0, 0);
	PQclear(r);
	snprintf(sql, sizeof(sql),
		 AHEAD_CTE "SELECT " APP_COLS_WITH("r.ahead") " FROM applications a JOIN r ON r.id=a.id%s"
			   " ORDER BY a.category, a.rank LIMIT $9::bigint OFFSET $10::bigint",
		 where);
	r = run(c, err, sql, "ttttiiiiii", qr->program, qr->status, qr->category, unions, (int64_t)qr->stage,
		(int64_t)qr->running_only, qr->rank_min, qr->rank_max, qr->limit > 0 ? qr->limit : (int64_t)INT64_MAX,
		qr->offset);
	if (!r) {
		rc = err->status;
		goto out;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		struct store_app a;
		read_app(r, i, &a);
		int stop = fn(ctx, &a);
		store_app_free(&a);
		if (stop)
			break;
	}
	PQclear(r);
out:
	free(unions);
	release(q, c);
	return rc;
}

static int one_step(PGconn *c, const struct store_step *sp, struct ts_error *e)
{
	PGresult *r = run(c, e, "SELECT status, stage, returns FROM applications WHERE id=$1::bigint FOR UPDATE", "i", sp->id);
	if (!r)
		return e->status;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return ts_error_set(e, TS_ENOTFOUND, "not_found", "找不到该申报");
	}
	char status[32];
	snprintf(status, sizeof(status), "%s", val(r, 0, 0));
	int stage = (int)ival(r, 0, 1), returns = (int)ival(r, 0, 2);
	PQclear(r);
	bool ok = sp->expect_stage < 0 || sp->expect_stage == stage, status_ok = false;
	for (const char *const *x = sp->expect_status; x && *x; x++)
		status_ok |= strcmp(*x, status) == 0;
	if (!ok || !status_ok) {
		char label[160];
		return ts_error_set(e, TS_ECONFLICT, "wrong_stage", "该申报当前不在此环节（状态：%s）",
				    review_status_label(sp->spec, status, label, sizeof(label)));
	}
	if (sp->return_limit > 0 && returns >= sp->return_limit)
		return ts_error_set(e, TS_ECONFLICT, "return_used", "该申报已退回补正过一次，不能再次退回");
	int rc = EXEC(c, e,
		      "UPDATE applications SET status=$1, stage=$2::int, active=$3::int, returns=returns+$4::int,"
		      " return_deadline=$5::bigint, updated_at=$6::bigint WHERE id=$7::bigint",
		      "tiiinii", sp->to_status, (int64_t)(sp->to_stage >= 0 ? sp->to_stage : stage),
		      (int64_t)status_in_running(sp->to_status), (int64_t)(sp->return_deadline > 0), sp->return_deadline,
		      sp->now, sp->id);
	if (!rc)
		rc = add_event(c, sp->id, sp->now, sp->actor, sp->action, sp->to_status, sp->reason, sp->detail_json, e);
	return rc;
}

static int pg_app_steps(struct store *s, const struct store_step *steps, size_t n, int *rcs, struct ts_error *errs,
			struct ts_error *err)
{
	WITH_CONN(s, err);
	if ((rc = begin(c, err)))
		goto out;
	for (size_t i = 0; i < n; i++) {
		ts_error_clear(&errs[i]);
		if ((rc = simple(c, "SAVEPOINT step", err)))
			break;
		rcs[i] = one_step(c, &steps[i], &errs[i]);
		if (rcs[i] && rcs[i] != TS_ECONFLICT && rcs[i] != TS_ENOTFOUND) {
			*err = errs[i];
			rc = rcs[i];
			break;
		}
		if ((rc = simple(c, rcs[i] ? "ROLLBACK TO SAVEPOINT step" : "RELEASE SAVEPOINT step", err)))
			break;
	}
	if (rc)
		rollback(c);
	else
		rc = commit(c, err);
out:
	release(q, c);
	return rc;
}

static int pg_app_note(struct store *s, int64_t id, int64_t now, const char *actor, const char *action,
		       const char *reason, const char *detail, struct ts_error *err)
{
	WITH_CONN(s, err);
	rc = EXEC(c, err,
		  "INSERT INTO application_events(application,at,actor,action,status,reason,detail)"
		  " SELECT id,$1::bigint,$2,$3,status,$4,$5 FROM applications WHERE id=$6::bigint",
		  "itttti", now, actor, action, reason, detail, id);
	release(q, c);
	return rc;
}

static int pg_running_at(struct store *s, const char *program, const char *category, int64_t position, int64_t *id,
			 struct ts_error *err)
{
	WITH_CONN(s, err);
	*id = 0;
	PGresult *r = run(c, err,
			  "SELECT id FROM applications WHERE program=$1 AND category=$2 AND active=1 ORDER BY rank LIMIT 1"
			  " OFFSET $3::bigint",
			  "tti", program, category, position - 1);
	if (!r)
		rc = err->status;
	else if (PQntuples(r))
		*id = ival(r, 0, 0);
	PQclear(r);
	release(q, c);
	return rc;
}

static int pg_expire_returns(struct store *s, int64_t now, json_t **out, struct ts_error *err)
{
	WITH_CONN(s, err);
	json_t *arr = json_array();
	if ((rc = begin(c, err)))
		goto out;
	PGresult *r = run(c, err,
			  "UPDATE applications SET status='abandoned', active=0, return_deadline=NULL, updated_at=$1::bigint"
			  " WHERE status='returned' AND return_deadline IS NOT NULL AND return_deadline<$1::bigint"
			  " RETURNING id, program, category, applicant",
			  "i", now);
	if (!r) {
		rc = err->status;
		goto out_rollback;
	}
	for (int i = 0; i < PQntuples(r) && !rc; i++) {
		json_array_append_new(arr, json_pack("{s:I,s:s,s:s,s:I}", "id", (json_int_t)ival(r, i, 0), "program",
						     val(r, i, 1), "category", val(r, i, 2), "applicant",
						     (json_int_t)ival(r, i, 3)));
		rc = add_event(c, ival(r, i, 0), now, "system", "abandon", "abandoned", "逾期未补正，视为放弃申报", NULL, err);
	}
	PQclear(r);
	if (rc)
		goto out_rollback;
	rc = commit(c, err);
	goto out;
out_rollback:
	rollback(c);
out:
	release(q, c);
	if (rc)
		json_decref(arr);
	else
		*out = arr;
	return rc;
}

/* ---- publicity ---- */

static int pg_publicity_create(struct store *s, const struct store_publicity *p, const json_t *entries, int64_t *id,
			       struct ts_error *err)
{
	WITH_CONN(s, err);
	if ((rc = begin(c, err)))
		goto out;
	PGresult *r = run(c, err,
			  "INSERT INTO publicity(program,stage,org,title,starts_at,ends_at,status,created_by,created_at)"
			  " VALUES($1,$2::int,$3,$4,$5::bigint,$6::bigint,'open',$7,$8::bigint) RETURNING id",
			  "tittiiti", p->program, (int64_t)p->stage, p->org, p->title, p->starts_at, p->ends_at, p->actor,
			  p->now);
	if (!r) {
		rc = err->status;
		goto out_rollback;
	}
	*id = ival(r, 0, 0);
	PQclear(r);
	size_t i;
	json_t *e;
	json_array_foreach((json_t *)entries, i, e)
	{
		int64_t app = json_integer_value(json_object_get(e, "application"));
		rc = EXEC(c, err,
			  "INSERT INTO publicity_entries(publicity,application,seq,name,unit,category,category_name,amount_fen,"
			  "id_masked,quota) VALUES($1::bigint,$2::bigint,$3::int,$4,$5,$6,$7,$8::bigint,$9,$10)",
			  "iiitttt" "itt", *id, app, (int64_t)(i + 1), json_string_value(json_object_get(e, "name")),
			  json_string_value(json_object_get(e, "unit")), json_string_value(json_object_get(e, "category")),
			  json_string_value(json_object_get(e, "category_name")),
			  (int64_t)json_integer_value(json_object_get(e, "amount_fen")),
			  json_string_value(json_object_get(e, "id_masked")), store_entry_quota(e));
		if (!rc)
			rc = EXEC(c, err,
				  "INSERT INTO application_events(application,at,actor,action,status,reason)"
				  " SELECT id,$1::bigint,$2,'publicity',status,$3 FROM applications WHERE id=$4::bigint",
				  "itti", p->now, p->actor, p->title, app);
		if (rc)
			goto out_rollback;
	}
	rc = commit(c, err);
	goto out;
out_rollback:
	rollback(c);
out:
	release(q, c);
	return rc;
}

#define PUB_COLS                                                                                          \
	"p.id,p.program,p.stage,p.org,p.title,p.starts_at,p.ends_at,p.status,p.created_by,p.created_at,"  \
	"(SELECT count(*) FROM publicity_entries e WHERE e.publicity=p.id),"                             \
	"(SELECT count(*) FROM objections o WHERE o.publicity=p.id)"

static json_t *publicity_row(const PGresult *r, int i)
{
	json_t *o = json_pack("{s:I,s:s,s:i,s:s,s:s,s:I,s:I,s:s,s:s,s:I}", "id", (json_int_t)ival(r, i, 0), "program",
			      val(r, i, 1), "stage", (int)ival(r, i, 2), "org", val(r, i, 3), "title", val(r, i, 4),
			      "starts_at", (json_int_t)ival(r, i, 5), "ends_at", (json_int_t)ival(r, i, 6), "status",
			      val(r, i, 7), "created_by", val(r, i, 8), "created_at", (json_int_t)ival(r, i, 9));
	json_object_set_new(o, "entries_count", json_integer(ival(r, i, 10)));
	json_object_set_new(o, "objections_count", json_integer(ival(r, i, 11)));
	return o;
}

static int pg_publicity_get(struct store *s, int64_t id, json_t **out, struct ts_error *err)
{
	WITH_CONN(s, err);
	json_t *o = NULL;
	PGresult *r = run(c, err, "SELECT " PUB_COLS " FROM publicity p WHERE p.id=$1::bigint", "i", id);
	if (!r || PQntuples(r) == 0) {
		rc = r ? ts_error_set(err, TS_ENOTFOUND, "not_found", "找不到该公示") : err->status;
		PQclear(r);
		goto out;
	}
	o = publicity_row(r, 0);
	PQclear(r);
	r = run(c, err,
		"SELECT seq,application,name,unit,category,category_name,amount_fen,id_masked,quota FROM publicity_entries"
		" WHERE publicity=$1::bigint ORDER BY seq",
		"i", id);
	if (!r) {
		rc = err->status;
		goto out;
	}
	json_t *entries = json_array();
	for (int i = 0; i < PQntuples(r); i++)
		json_array_append_new(entries, json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:I,s:s,s:s}", "seq",
							 (json_int_t)ival(r, i, 0), "application", (json_int_t)ival(r, i, 1),
							 "name", val(r, i, 2), "unit", val(r, i, 3), "category", val(r, i, 4),
							 "category_name", val(r, i, 5), "amount_fen", (json_int_t)ival(r, i, 6),
							 "id_masked", val(r, i, 7), "quota", val(r, i, 8)));
	PQclear(r);
	json_object_set_new(o, "entries", entries);
	r = run(c, err,
		"SELECT id,application,name,text,created_at,status,coalesce(note,''),coalesce(decided_by,''),"
		"coalesce(decided_at,0) FROM objections WHERE publicity=$1::bigint ORDER BY id",
		"i", id);
	if (!r) {
		rc = err->status;
		goto out;
	}
	json_t *objs = json_array();
	for (int i = 0; i < PQntuples(r); i++)
		json_array_append_new(objs, json_pack("{s:I,s:I,s:s,s:s,s:I,s:s,s:s,s:s,s:I}", "id", (json_int_t)ival(r, i, 0),
						       "application", (json_int_t)ival(r, i, 1), "name", val(r, i, 2), "text",
						       val(r, i, 3), "created_at", (json_int_t)ival(r, i, 4), "status",
						       val(r, i, 5), "note", val(r, i, 6), "decided_by", val(r, i, 7),
						       "decided_at", (json_int_t)ival(r, i, 8)));
	PQclear(r);
	json_object_set_new(o, "objections", objs);
out:
	release(q, c);
	if (rc)
		json_decref(o);
	else
		*out = o;
	return rc;
}

static int pg_publicity_list(struct store *s, const char *program, const json_t *orgs, json_t **out,
			     struct ts_error *err)
{
	WITH_CONN(s, err);
	char *o = orgs ? json_dumps(orgs, JSON_COMPACT) : NULL;
	PGresult *r = run(c, err,
			  "SELECT " PUB_COLS " FROM publicity p WHERE ($1::text IS NULL OR p.program=$1)"
			  " AND ($2::jsonb IS NULL OR p.org IN (SELECT jsonb_array_elements_text($2::jsonb))) ORDER BY p.id DESC",
			  "tt", program, o);
	if (r) {
		json_t *arr = json_array();
		for (int i = 0; i < PQntuples(r); i++)
			json_array_append_new(arr, publicity_row(r, i));
		*out = arr;
	} else {
		rc = err->status;
	}
	PQclear(r);
	free(o);
	release(q, c);
	return rc;
}

static int pg_publicity_close(struct store *s, int64_t id, const char *to_status, int to_stage, const char *actor,
			      int64_t now, json_t **advanced, struct ts_error *err)
{
	WITH_CONN(s, err);
	json_t *ids = json_array();
	if ((rc = begin(c, err)))
		goto out;
	PGresult *r = run(c, err, "SELECT status, stage FROM publicity WHERE id=$1::bigint FOR UPDATE", "i", id);
	if (!r || PQntuples(r) == 0) {
		rc = r ? ts_error_set(err, TS_ENOTFOUND, "not_found", "找不到该公示") : err->status;
		PQclear(r);
		goto out_rollback;
	}
	bool open = strcmp(val(r, 0, 0), "open") == 0;
	int stage = (int)ival(r, 0, 1);
	PQclear(r);
	if (!open) {
		rc = ts_error_set(err, TS_ECONFLICT, "closed", "该公示已结束");
		goto out_rollback;
	}
	r = run(c, err,
		"UPDATE applications a SET status=$1, stage=$2::int, updated_at=$3::bigint FROM publicity_entries e"
		" WHERE e.publicity=$4::bigint AND a.id=e.application AND a.active=1 AND a.stage=$5::int"
		" AND a.status<>'returned' RETURNING a.id",
		"tiiii", to_status, (int64_t)to_stage, now, id, (int64_t)stage);
	if (!r) {
		rc = err->status;
		goto out_rollback;
	}
	for (int i = 0; i < PQntuples(r) && !rc; i++) {
		json_array_append_new(ids, json_integer(ival(r, i, 0)));
		rc = add_event(c, ival(r, i, 0), now, actor, "publicity_passed", to_status, "公示期满无异议", NULL, err);
	}
	PQclear(r);
	if (!rc)
		rc = EXEC(c, err, "UPDATE publicity SET status='closed', closed_by=$1, closed_at=$2::bigint WHERE id=$3::bigint",
			  "tii", actor, now, id);
	if (rc)
		goto out_rollback;
	rc = commit(c, err);
	goto out;
out_rollback:
	rollback(c);
out:
	release(q, c);
	if (rc)
		json_decref(ids);
	else
		*advanced = ids;
	return rc;
}

/* ---- objections ---- */

static int pg_objection_add(struct store *s, const struct store_objection *o, int64_t *id, struct ts_error *err)
{
	WITH_CONN(s, err);
	PGresult *r = run(c, err,
			  "INSERT INTO objections(publicity,application,name,phone_bidx,phone_enc,text,created_at)"
			  " VALUES($1::bigint,$2::bigint,$3,$4,$5,$6,$7::bigint) RETURNING id",
			  "iitkbti", o->publicity, o->application, o->name, o->phone_bidx, o->phone_sealed,
			  o->phone_sealed_len, o->text, o->now);
	if (r)
		*id = ival(r, 0, 0);
	else
		rc = err->status;
	PQclear(r);
	release(q, c);
	return rc;
}

static int pg_objection_get(struct store *s, int64_t id, json_t **out, struct ts_error *err)
{
	WITH_CONN(s, err);
	PGresult *r = run(c, err,
			  "SELECT id,publicity,application,name,text,created_at,status,coalesce(note,''),"
			  "coalesce(decided_by,''),coalesce(decided_at,0) FROM objections WHERE id=$1::bigint",
			  "i", id);
	if (!r)
		rc = err->status;
	else if (PQntuples(r) == 0)
		rc = ts_error_set(err, TS_ENOTFOUND, "not_found", "找不到该异议");
	else
		*out = json_pack("{s:I,s:I,s:I,s:s,s:s,s:I,s:s,s:s,s:s,s:I}", "id", (json_int_t)ival(r, 0, 0), "publicity",
				 (json_int_t)ival(r, 0, 1), "application", (json_int_t)ival(r, 0, 2), "name", val(r, 0, 3),
				 "text", val(r, 0, 4), "created_at", (json_int_t)ival(r, 0, 5), "status", val(r, 0, 6), "note",
				 val(r, 0, 7), "decided_by", val(r, 0, 8), "decided_at", (json_int_t)ival(r, 0, 9));
	PQclear(r);
	release(q, c);
	return rc;
}

static int pg_objection_decide(struct store *s, int64_t id, const char *finding, const char *note, const char *actor,
			       int64_t now, struct ts_error *err)
{
	WITH_CONN(s, err);
	PGresult *r = run(c, err,
			  "UPDATE objections SET status=$1, note=$2, decided_by=$3, decided_at=$4::bigint"
			  " WHERE id=$5::bigint AND status='pending'",
			  "tttii", finding, note, actor, now, id);
	if (!r)
		rc = err->status;
	else if (strcmp(PQcmdTuples(r), "0") == 0)
		rc = ts_error_set(err, TS_ECONFLICT, "decided", "该异议已有调查结论");
	PQclear(r);
	release(q, c);
	return rc;
}

/* ---- audit ---- */

static int pg_audit_append(struct store *s, const struct store_audit *a, struct ts_error *err)
{
	WITH_CONN(s, err);
	char prev[CRYPT_HEX_BYTES] = LEDGER_GENESIS, hash[CRYPT_HEX_BYTES];
	struct ts_buf line;
	ts_buf_init(&line, 0);
	if ((rc = begin(c, err)))
		goto out;
	if ((rc = EXEC(c, err, "SELECT pg_advisory_xact_lock(720221018)", "")))
		goto out_rollback;
	PGresult *r = run(c, err, "SELECT hash FROM audit ORDER BY seq DESC LIMIT 1", "");
	if (!r) {
		rc = err->status;
		goto out_rollback;
	}
	if (PQntuples(r))
		snprintf(prev, sizeof(prev), "%s", val(r, 0, 0));
	PQclear(r);
	if (ts_buf_printf(&line, "%s|%lld|%s|%s|%s|%s|%s|%s|%s|%s", prev, (long long)a->at, a->actor, a->role ? a->role : "",
			  a->org ? a->org : "", a->ip ? a->ip : "", a->action, a->target ? a->target : "",
			  a->reason ? a->reason : "", a->detail_json ? a->detail_json : "")) {
		rc = ts_error_set(err, TS_ETOOBIG, "too_large", "审计记录过大");
		goto out_rollback;
	}
	crypt_sha256_hex(line.ptr, line.len, hash);
	rc = EXEC(c, err,
		  "INSERT INTO audit(at,actor,role,org,ip,action,target,reason,detail,prev,hash)"
		  " VALUES($1::bigint,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
		  "ittttttt" "ttt", a->at, a->actor, a->role, a->org, a->ip, a->action, a->target, a->reason, a->detail_json,
		  prev, hash);
	if (rc)
		goto out_rollback;
	rc = commit(c, err);
	goto out;
out_rollback:
	rollback(c);
out:
	ts_buf_free(&line);
	release(q, c);
	return rc;
}

static int pg_audit_list(struct store *s, int64_t before, int limit, json_t **out, struct ts_error *err)
{
	WITH_CONN(s, err);
	PGresult *r = run(c, err,
			  "SELECT seq,at,actor,coalesce(role,''),coalesce(org,''),coalesce(ip,''),action,coalesce(target,''),"
			  "coalesce(reason,''),detail,hash FROM audit WHERE ($1::bigint=0 OR seq<$1::bigint) ORDER BY seq DESC"
			  " LIMIT $2::int",
			  "ii", before, (int64_t)limit);
	if (r) {
		json_t *arr = json_array();
		for (int i = 0; i < PQntuples(r); i++) {
			json_t *e = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "seq", (json_int_t)ival(r, i, 0), "at",
					      (json_int_t)ival(r, i, 1), "actor", val(r, i, 2), "role", val(r, i, 3), "org",
					      val(r, i, 4), "ip", val(r, i, 5), "action", val(r, i, 6), "target", val(r, i, 7),
					      "reason", val(r, i, 8), "hash", val(r, i, 10));
			json_t *d = PQgetisnull(r, i, 9) ? NULL : json_loads(val(r, i, 9), 0, NULL);
			if (d)
				json_object_set_new(e, "detail", d);
			json_array_append_new(arr, e);
		}
		*out = arr;
	} else {
		rc = err->status;
	}
	PQclear(r);
	release(q, c);
	return rc;
}

/* ---- whole-table copy ---- */

#define BYTEAOID 17
#define INT8OID 20
#define INT2OID 21
#define INT4OID 23

static int cols_sql(const struct store_table *t, struct ts_buf *b, bool params)
{
	int rc = 0;
	for (size_t i = 0; t->columns[i] && !rc; i++)
		rc = params ? ts_buf_printf(b, "%s$%zu", i ? "," : "", i + 1) : ts_buf_printf(b, "%s%s", i ? "," : "", t->columns[i]);
	return rc;
}

static int pg_table_each(struct store *s, const struct store_table *t, store_row_fn fn, void *ctx, struct ts_error *err)
{
	WITH_CONN(s, err);
	struct ts_buf sql;
	ts_buf_init(&sql, 0);
	if (ts_buf_puts(&sql, "SELECT ") || cols_sql(t, &sql, false) ||
	    ts_buf_printf(&sql, " FROM %s ORDER BY %s", t->name, t->columns[0])) {
		rc = ts_error_set(err, TS_EINTERNAL, "internal", "SQL 过长");
		goto out;
	}
	PGresult *r = run(c, err, sql.ptr, "");
	if (!r) {
		rc = err->status;
		goto out;
	}
	for (int i = 0; i < PQntuples(r) && !rc; i++) {
		json_t *row = json_array();
		for (int j = 0; j < PQnfields(r); j++) {
			Oid type = PQftype(r, j);
			if (PQgetisnull(r, i, j)) {
				json_array_append_new(row, json_null());
			} else if (type == INT8OID || type == INT4OID || type == INT2OID) {
				json_array_append_new(row, json_integer(ival(r, i, j)));
			} else if (type == BYTEAOID) {
				struct ts_buf b;
				ts_buf_init(&b, 0);
				if (bytea(r, i, j, &b) == 0)
					json_array_append_new(row, store_blob_json(b.ptr, b.len));
				else
					json_array_append_new(row, json_null());
				ts_buf_free(&b);
			} else {
				json_array_append_new(row, json_string(val(r, i, j)));
			}
		}
		rc = fn(ctx, row);
		json_decref(row);
	}
	PQclear(r);
out:
	ts_buf_free(&sql);
	release(q, c);
	return rc;
}

static int pg_table_insert(struct store *s, const struct store_table *t, const json_t *rows, struct ts_error *err)
{
	WITH_CONN(s, err);
	struct ts_buf sql;
	ts_buf_init(&sql, 0);
	size_t ncols = 0;
	while (t->columns[ncols])
		ncols++;
	if (ncols > 32 || ts_buf_printf(&sql, "INSERT INTO %s(", t->name) || cols_sql(t, &sql, false) ||
	    ts_buf_puts(&sql, ") VALUES(") || cols_sql(t, &sql, true) || ts_buf_puts(&sql, ")")) {
		rc = ts_error_set(err, TS_EINTERNAL, "internal", "SQL 过长");
		goto out;
	}
	if ((rc = begin(c, err)))
		goto out;
	size_t i;
	json_t *row;
	json_array_foreach((json_t *)rows, i, row)
	{
		const char *vals[32];
		int lens[32], fmts[32];
		char nums[32][24];
		struct ts_buf blobs[32];
		for (size_t j = 0; j < ncols; j++) {
			json_t *v = json_array_get(row, j);
			ts_buf_init(&blobs[j], 0);
			lens[j] = 0;
			fmts[j] = 0;
			vals[j] = NULL;
			if (json_is_integer(v)) {
				snprintf(nums[j], sizeof(nums[j]), "%lld", (long long)json_integer_value(v));
				vals[j] = nums[j];
			} else if (json_is_string(v)) {
				vals[j] = json_string_value(v);
			} else if (json_is_object(v) && store_blob_decode(v, &blobs[j])) {
				vals[j] = blobs[j].len ? blobs[j].ptr : "";
				lens[j] = (int)blobs[j].len;
				fmts[j] = 1;
			}
		}
		PGresult *r = PQexecParams(c, sql.ptr, (int)ncols, NULL, vals, lens, fmts, 0);
		if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
			rc = pg_fail(c, r, err);
		PQclear(r);
		for (size_t j = 0; j < ncols; j++)
			ts_buf_free(&blobs[j]);
		if (rc)
			break;
	}
	if (rc)
		rollback(c);
	else
		rc = commit(c, err);
out:
	ts_buf_free(&sql);
	release(q, c);
	return rc;
}

static int pg_table_finish(struct store *s, const struct store_table *t, struct ts_error *err)
{
	if (!t->serial)
		return 0;
	WITH_CONN(s, err);
	char sql[400];
	snprintf(sql, sizeof(sql),
		 "SELECT setval(pg_get_serial_sequence('%s','%s'), coalesce(max(%s),1), max(%s) IS NOT NULL) FROM %s", t->name,
		 t->serial, t->serial, t->serial, t->name);
	rc = simple(c, sql, err);
	release(q, c);
	return rc;
}

static const struct store_ops pg_ops = {
	.name = "postgres",
	.close = pg_close,
	.schema_version = pg_schema_version,
	.org_put = pg_org_put,
	.orgs_list = pg_orgs_list,
	.program_put = pg_program_put,
	.programs_list = pg_programs_list,
	.programs_version = pg_programs_version,
	.quota_taken = pg_quota_taken,
	.applicant_ensure = pg_applicant_ensure,
	.applicant_phone = pg_applicant_phone,
	.code_create = pg_code_create,
	.code_consume = pg_code_consume,
	.login_applicant = pg_login_applicant,
	.session_create = pg_session_create,
	.session_get = pg_session_get,
	.session_touch = pg_session_touch,
	.session_delete = pg_session_delete,
	.app_get = pg_app_get,
	.apps_by_applicant = pg_apps_by_applicant,
	.app_history = pg_app_history,
	.person_history = pg_person_history,
	.app_update = pg_app_update,
	.app_transition = pg_app_transition,
	.submit_batch = pg_submit_batch,
	.ledger_each = pg_ledger_each,
	.ledger_apps = pg_ledger_apps,
	.ledger_crosscheck = pg_ledger_crosscheck,
	.staff_add = pg_staff_add,
	.draft_put = pg_draft_put,
	.draft_get = pg_draft_get,
	.draft_delete = pg_draft_delete,
	.check = pg_check,
	.staff_get = pg_staff_get,
	.staff_login_result = pg_staff_login_result,
	.staff_set_totp = pg_staff_set_totp,
	.review_list = pg_review_list,
	.app_steps = pg_app_steps,
	.app_note = pg_app_note,
	.running_at = pg_running_at,
	.expire_returns = pg_expire_returns,
	.publicity_create = pg_publicity_create,
	.publicity_get = pg_publicity_get,
	.publicity_list = pg_publicity_list,
	.publicity_close = pg_publicity_close,
	.objection_add = pg_objection_add,
	.objection_get = pg_objection_get,
	.objection_decide = pg_objection_decide,
	.audit_append = pg_audit_append,
	.audit_list = pg_audit_list,
	.table_each = pg_table_each,
	.table_insert = pg_table_insert,
	.table_finish = pg_table_finish,
};

int store_pg_open(const char *url, struct store **out, struct ts_error *err)
{
	struct store_pg *q = ts_calloc(1, sizeof(*q));
	q->base.ops = &pg_ops;
	store_base_init(&q->base);
	q->conninfo = ts_strdup(url);
	pthread_mutex_init(&q->mu, NULL);
	PGconn *c = NULL;
	int rc = pg_connect(url, &c, err);
	if (!rc)
		rc = migrate(q, c, err);
	if (rc) {
		if (c)
			conn_finish(c);
		pg_close(&q->base);
		return rc;
	}
	release(q, c);
	*out = &q->base;
	return 0;
}
