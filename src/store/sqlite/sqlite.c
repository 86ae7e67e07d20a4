/* store/sqlite/sqlite.c — the SQLite backend of store.h.
 *
 * WAL mode with synchronous=FULL: a commit is durable when it returns. A pool
 * of connections serves request threads; the writer thread has its own. Reads
 * run in autocommit; writes in BEGIN IMMEDIATE … COMMIT.
 *
 * The writer's connection alone commits with synchronous=NORMAL: its commit
 * writes the batch's frames to the WAL and returns, and the writer's syncer
 * thread (writer.c, sq_sync_commits) then syncs the WAL file and only after
 * that answers the batch, while the writer runs the next one. Another
 * connection sees a batch's rows from its commit, a few milliseconds before
 * they are answered; a crash in between can lose rows that no one was told
 * were saved, never one that was answered.
 */
#include "core/log.h"
#include "core/mem.h"
#include "core/thread.h"
#include "core/time.h"
#include "crypt/crypt.h"
#include "domain/ledger.h"
#include "domain/review.h"
#include "domain/rules.h"
#include "store/sqlite/schema.h"
#include "store/sqlite/sq.h"
#include "store/sqlite/walbuf.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

struct store_sqlite *sq_of(struct store *s)
{
	return (struct store_sqlite *)s;
}

/* ---- errors ---- */

int sq_fail(sqlite3 *db, int rc, struct ts_error *err)
{
	int prim = rc & 0xff;
	const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
	if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
		return ts_error_set(err, TS_EBUSY, "busy", "系统繁忙，请稍后重试（%s）", msg);
	if (prim == SQLITE_FULL || prim == SQLITE_IOERR || prim == SQLITE_CANTOPEN ||
	    prim == SQLITE_READONLY || prim == SQLITE_CORRUPT || prim == SQLITE_NOTADB ||
	    prim == SQLITE_PERM)
		return ts_error_set(err, TS_EIO, "unavailable", "数据存储暂不可用，请稍后重试（%s）", msg);
	return ts_error_set(err, TS_EINTERNAL, "internal", "数据库错误：%s", msg);
}

/* ---- connections ---- */

static int conn_open(const char *path, sqlite3 **out, struct ts_error *err)
{
	sqlite3 *db = NULL;
	/* the WAL written in large pieces (walbuf.c); the default VFS if it cannot be had */
	const char *vfs = sq_walbuf_register() == SQLITE_OK ? SQ_WALBUF_VFS : NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
				 vfs);
	if (rc != SQLITE_OK) {
		int r = sq_fail(db, rc, err);
		sqlite3_close(db);
		return r;
	}
	sqlite3_busy_timeout(db, 10000);
	sqlite3_extended_result_codes(db, 1);
	const char *pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
			      "PRAGMA temp_store=MEMORY;";
	rc = sqlite3_exec(db, pragmas, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		int r = sq_fail(db, rc, err);
		sqlite3_close(db);
		return r;
	}
	*out = db;
	return 0;
}

int sq_acquire(struct store_sqlite *q, sqlite3 **out, struct ts_error *err)
{
	pthread_mutex_lock(&q->mu);
	if (q->nfree > 0) {
		*out = q->free_conns[--q->nfree];
		pthread_mutex_unlock(&q->mu);
		return 0;
	}
	pthread_mutex_unlock(&q->mu);
	return conn_open(q->path, out, err);
}

void sq_release(struct store_sqlite *q, sqlite3 *db)
{
	if (!db)
		return;
	/* kept however many there are (as many as threads ever used the store
	 * at once): threads that used it may hold its statements in their caches */
	pthread_mutex_lock(&q->mu);
	if (q->nfree == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 16;
		q->free_conns = ts_realloc(q->free_conns, (size_t)q->cap * sizeof(*q->free_conns));
	}
	q->free_conns[q->nfree++] = db;
	pthread_mutex_unlock(&q->mu);
}

/* Closes a connection at the store's close, when no other thread uses the
 * store: the statements the ended threads' caches left on it (see below) are
 * finalised first, as with them the close would fail. */
static void conn_close_final(sqlite3 *db)
{
	sqlite3_stmt *st;
	while ((st = sqlite3_next_stmt(db, NULL)) != NULL)
		sqlite3_finalize(st);
	int rc = sqlite3_close(db);
	if (rc != SQLITE_OK)
		ts_log_warn("store.close", "SQLite connection not closed: %s", sqlite3_errstr(rc));
}

/* ---- statements ---- */

/* Binds by a format: t text (const char*, NULL binds NULL), i int64, n int64
 * with 0 bound as NULL, b blob (const void*, size_t), k a blind index in its
 * hex form (const char*), bound as its bytes: SQLITE_MISMATCH if it is not
 * one (see crypt_bidx_bytes). `keep` is how text and blobs are bound:
 * SQLITE_STATIC when the statement is stepped and reset before the caller's
 * arguments can go (sq_exec: no copy of the writer's 1 KB rows), else
 * SQLITE_TRANSIENT. */
static int vbind(sqlite3_stmt *st, sqlite3_destructor_type keep, const char *fmt, va_list ap)
{
	int rc = SQLITE_OK;
	for (int i = 1; *fmt && rc == SQLITE_OK; fmt++, i++) {
		switch (*fmt) {
		case 'k': {
			unsigned char key[CRYPT_BIDX_BYTES];
			size_t n = 0;
			if (crypt_bidx_bytes(va_arg(ap, const char *), key, &n))
				return SQLITE_MISMATCH;
			rc = sqlite3_bind_blob(st, i, key, (int)n, SQLITE_TRANSIENT);
			break;
		}
		case 't': {
			const char *v = va_arg(ap, const char *);
			rc = v ? sqlite3_bind_text(st, i, v, -1, keep) : sqlite3_bind_null(st, i);
			break;
		}
		case 'i':
			rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
			break;
		case 'n': {
			int64_t v = va_arg(ap, int64_t);
			rc = v ? sqlite3_bind_int64(st, i, v) : sqlite3_bind_null(st, i);
			break;
		}
		case 'b': {
			const void *p = va_arg(ap, const void *);
			size_t n = va_arg(ap, size_t);
			rc = sqlite3_bind_blob64(st, i, p ? p : "", n, keep);
			break;
		}
		default:
			return SQLITE_MISUSE;
		}
	}
	return rc;
}

/* ---- the statement cache ----
 *
 * Preparing a statement costs more than running it, so each thread keeps the
 * statements it prepared, by connection and SQL text, and reuses them
 * (sq_done resets them instead of finalising). A connection is used by one
 * thread at a time, so a cached statement never runs in two threads at once.
 * When a thread ends, its cache is freed but its statements are left on
 * their connections (a pthread key destructor): by then another thread may
 * be using such a connection, and SQLite's connections here are not to be
 * touched by two threads at once (NOMUTEX; libmicrohttpd's threads end while
 * the writer and the background threads still run, and finalising there
 * corrupted a connection's statement list, seen as a double free under
 * ASan). The store's close finalises what is left, when nothing else runs;
 * the closing thread's own cache goes by sq_cache_flush(). Connections are
 * never closed while the store is open, so a cached (db, statement) pair
 * never outlives its connection. */

#define CACHE_BUCKETS 256

struct cached_stmt {
	sqlite3 *db;
	char *sql;
	sqlite3_stmt *st;
	struct cached_stmt *next;
};

struct stmt_cache {
	struct cached_stmt *bucket[CACHE_BUCKETS];
};

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

/* Frees a cache; `finalize`: its statements too (only by the thread that
 * may use their connections: see above). */
static void cache_free(struct stmt_cache *c, bool finalize)
{
	if (!c)
		return;
	for (size_t i = 0; i < CACHE_BUCKETS; i++) {
		struct cached_stmt *e = c->bucket[i];
		while (e) {
			struct cached_stmt *next = e->next;
			if (finalize)
				sqlite3_finalize(e->st);
			free(e->sql);
			free(e);
			e = next;
		}
	}
	free(c);
}

static void cache_thread_end(void *p)
{
	cache_free(p, false);
}

static void cache_key_init(void)
{
	pthread_key_create(&cache_key, cache_thread_end);
}

void sq_cache_flush(void)
{
	pthread_once(&cache_once, cache_key_init);
	struct stmt_cache *c = pthread_getspecific(cache_key);
	pthread_setspecific(cache_key, NULL);
	cache_free(c, true);
}

/* The connection, the length and the text's first and last 32 bytes: a
 * statement is looked up several times per submission, and hashing all of
 * its text (200–400 bytes) cost more than the look-up; texts alike there
 * share a bucket and strcmp tells them apart. */
static size_t cache_hash(sqlite3 *db, const char *sql)
{
	size_t n = strlen(sql);
	uint64_t h = ((uint64_t)(uintptr_t)db ^ n) * 0x9E3779B97F4A7C15ULL;
	const unsigned char *p = (const unsigned char *)sql;
	size_t head = n < 32 ? n : 32, tail = n - head < 32 ? n - head : 32;
	for (size_t i = 0; i < head; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	for (size_t i = n - tail; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return (size_t)(h % CACHE_BUCKETS);
}

/* A ready (reset) statement for sql on db, prepared once per thread. */
static int cached_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
	pthread_once(&cache_once, cache_key_init);
	struct stmt_cache *c = pthread_getspecific(cache_key);
	if (!c) {
		c = ts_calloc(1, sizeof(*c));
		pthread_setspecific(cache_key, c);
	}
	size_t h = cache_hash(db, sql);
	for (struct cached_stmt *e = c->bucket[h]; e; e = e->next)
		if (e->db == db && strcmp(e->sql, sql) == 0) {
			*out = e->st;
			return SQLITE_OK;
		}
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	struct cached_stmt *e = ts_calloc(1, sizeof(*e));
	e->db = db;
	e->sql = ts_strdup(sql);
	e->st = st;
	e->next = c->bucket[h];
	c->bucket[h] = e;
	*out = st;
	return SQLITE_OK;
}

void sq_done(sqlite3_stmt *st)
{
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
}

static int bind_fail(sqlite3 *db, int rc, struct ts_error *err)
{
	if (rc == SQLITE_MISMATCH)
		return ts_error_set(err, TS_EINTERNAL, "internal", "数据库错误：盲索引格式不对");
	return sq_fail(db, rc, err);
}

int sq_prep(sqlite3 *db, sqlite3_stmt **st, struct ts_error *err, const char *sql, const char *fmt, ...)
{
	int rc = cached_prepare(db, sql, st);
	if (rc != SQLITE_OK) {
		*st = NULL;
		return sq_fail(db, rc, err);
	}
	va_list ap;
	va_start(ap, fmt);
	rc = vbind(*st, SQLITE_TRANSIENT, fmt, ap);
	va_end(ap);
	if (rc != SQLITE_OK) {
		sq_done(*st);
		*st = NULL;
		return bind_fail(db, rc, err);
	}
	return 0;
}

/* Runs a statement that returns no rows. */
int sq_exec(sqlite3 *db, struct ts_error *err, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st = NULL;
	int rc = cached_prepare(db, sql, &st);
	if (rc != SQLITE_OK)
		return sq_fail(db, rc, err);
	va_list ap;
	va_start(ap, fmt);
	int b = vbind(st, SQLITE_STATIC, fmt, ap); /* stepped and reset below, before returning */
	va_end(ap);
	if (b != SQLITE_OK) {
		sq_done(st);
		return bind_fail(db, b, err);
	}
	rc = sqlite3_step(st);
	int r = (rc != SQLITE_DONE && rc != SQLITE_ROW) ? sq_fail(db, rc, err) : 0;
	sq_done(st);
	return r;
}

int sq_begin(sqlite3 *db, struct ts_error *err)
{
	int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : sq_fail(db, rc, err);
}

int sq_commit(sqlite3 *db, struct ts_error *err)
{
	int rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		return 0;
	int r = sq_fail(db, rc, err);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

void sq_rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

const char *sq_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? (const char *)t : "";
}

/* ---- open, migrate, close ---- */

/* ts_bidx_bytes(x) for migration 6: a blind index stored as 64 hex digits →
 * its first 16 bytes; '' → an empty blob; a 16-byte blob (already
 * converted) → itself. Anything else is an error, which rolls back the
 * migration rather than storing a key no look-up would find. */
static void sql_bidx_bytes(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	sqlite3_value *v = argv[0];
	if (sqlite3_value_type(v) == SQLITE_BLOB && sqlite3_value_bytes(v) == CRYPT_BIDX_BYTES) {
		sqlite3_result_value(ctx, v);
		return;
	}
	const char *t = sqlite3_value_type(v) == SQLITE_TEXT ? (const char *)sqlite3_value_text(v) : NULL;
	size_t n = t ? (size_t)sqlite3_value_bytes(v) : 0, got = 0;
	unsigned char mac[2 * CRYPT_BIDX_BYTES];
	if (t && n == 0)
		sqlite3_result_zeroblob(ctx, 0);
	else if (t && n == 2 * sizeof(mac) && sodium_hex2bin(mac, sizeof(mac), t, n, NULL, &got, NULL) == 0 &&
		 got == sizeof(mac))
		sqlite3_result_blob(ctx, mac, CRYPT_BIDX_BYTES, SQLITE_TRANSIENT);
	else
		sqlite3_result_error(ctx, "ts_bidx_bytes: not a blind index of 64 hex digits", -1);
}

/* Runs migrations version .. target - 1, each in its own transaction with its
 * PRAGMA user_version: 0, or the first failure (that migration rolled back). */
static int user_version(sqlite3 *db, int *out, struct ts_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sq_prep(db, &st, err, "PRAGMA user_version", "");
	if (rc)
		return rc;
	int r = sqlite3_step(st);
	*out = r == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sq_done(st);
	return r == SQLITE_ROW ? 0 : sq_fail(db, r, err);
}

/* Each step reads the version again inside its write transaction: another
 * process (the server and a CLI command started together) may have
 * migrated since it was read, and a step run twice would fail. */
static int migrate_to(sqlite3 *db, int version, int target, struct ts_error *err)
{
	int rc;
	while (version < target) {
		if ((rc = sq_begin(db, err)))
			return rc;
		int now;
		if ((rc = user_version(db, &now, err))) {
			sq_rollback(db);
			return rc;
		}
		if (now != version) {
			sq_rollback(db);
			if (now > target)
				return ts_error_set(err, TS_EINVAL, "schema_newer",
						    "数据库结构版本 %d 比本程序支持的 %d 新，请升级 tisheng", now, target);
			version = now;
			continue;
		}
		int r = sqlite3_exec(db, sqlite_migrations[version], NULL, NULL, NULL);
		char pragma[64];
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d", version + 1);
		if (r == SQLITE_OK)
			r = sqlite3_exec(db, pragma, NULL, NULL, NULL);
		if (r != SQLITE_OK) {
			rc = sq_fail(db, r, err);
			sq_rollback(db);
			return rc;
		}
		if ((rc = sq_commit(db, err)))
			return rc;
		version++;
	}
	return 0;
}

static int migrate(struct store_sqlite *q, sqlite3 *db, struct ts_error *err)
{
	int version;
	int rc = user_version(db, &version, err);
	if (rc)
		return rc;
	int target = (int)(sizeof(sqlite_migrations) / sizeof(sqlite_migrations[0]));
	if (version > target)
		return ts_error_set(err, TS_EINVAL, "schema_newer",
				    "数据库结构版本 %d 比本程序支持的 %d 新，请升级 tisheng", version, target);
	if (version == target) {
		q->version = version;
		return 0;
	}
	int r = sqlite3_create_function_v2(db, "ts_bidx_bytes", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
					   sql_bidx_bytes, NULL, NULL, NULL);
	if (r != SQLITE_OK)
		return sq_fail(db, r, err);
	rc = migrate_to(db, version, target, err);
	/* not left on a connection that goes on to serve requests */
	(void)sqlite3_create_function_v2(db, "ts_bidx_bytes", 1, SQLITE_UTF8, NULL, NULL, NULL, NULL, NULL);
	if (!rc)
		q->version = target;
	return rc;
}

static void ckpt_stop(struct store_sqlite *q);

static void sq_close(struct store *s)
{
	struct store_sqlite *q = sq_of(s);
	ckpt_stop(q);
	sq_cache_flush();
	for (int i = 0; i < q->nfree; i++)
		conn_close_final(q->free_conns[i]);
	free(q->free_conns);
	if (q->writer_db)
		conn_close_final(q->writer_db);
	if (q->wal_fd >= 0)
		close(q->wal_fd);
	free(q->wal_path);
	pthread_mutex_destroy(&q->mu);
	pthread_mutex_destroy(&q->ckpt_mu);
	pthread_cond_destroy(&q->ckpt_cv);
	free(q->path);
	free(q);
}

static int sq_schema_version(struct store *s)
{
	return sq_of(s)->version;
}

/* ---- orgs ---- */

static int sq_org_put(struct store *s, const struct store_org *o, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	rc = sq_exec(db, err,
		    "INSERT INTO orgs(code,name,level,parent,seq) VALUES(?,?,?,?,"
		    " (SELECT coalesce(max(seq),0)+1 FROM orgs))"
		    " ON CONFLICT(code) DO UPDATE SET name=excluded.name, level=excluded.level,"
		    " parent=excluded.parent",
		    "tttt", o->code, o->name, o->level, o->parent);
	sq_release(q, db);
	return rc;
}

static int sq_orgs_list(struct store *s, json_t **out, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	if ((rc = sq_prep(db, &st, err, "SELECT code,name,level,parent FROM orgs ORDER BY seq", ""))) {
		sq_release(q, db);
		return rc;
	}
	json_t *arr = json_array();
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = json_pack("{s:s,s:s,s:s}", "code", sq_text(st, 0), "name", sq_text(st, 1), "level",
				      sq_text(st, 2));
		json_object_set_new(o, "parent", sqlite3_column_type(st, 3) == SQLITE_NULL
							 ? json_null()
							 : json_string(sq_text(st, 3)));
		json_array_append_new(arr, o);
	}
	if (r != SQLITE_DONE) {
		rc = sq_fail(db, r, err);
		json_decref(arr);
	} else {
		*out = json_pack("{s:o}", "orgs", arr);
	}
	sq_done(st);
	sq_release(q, db);
	return rc;
}

/* ---- programs ---- */

static int sq_program_put(struct store *s, const char *id, const char *spec_json, int64_t opens_at,
			  int64_t closes_at, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	json_t *spec = json_loads(spec_json, 0, NULL);
	json_t *cats = json_object_get(spec, "categories");
	if ((rc = sq_begin(db, err)))
		goto out;
	rc = sq_exec(db, err,
		    "INSERT INTO programs(id,spec,opens_at,closes_at,version,updated_at)"
		    " VALUES(?,?,?,?,(SELECT coalesce(max(version),0)+1 FROM programs),?)"
		    " ON CONFLICT(id) DO UPDATE SET spec=excluded.spec, opens_at=excluded.opens_at,"
		    " closes_at=excluded.closes_at, version=excluded.version, updated_at=excluded.updated_at",
		    "ttiii", id, spec_json, opens_at, closes_at, ts_now_us());
	size_t i;
	json_t *c;
	json_array_foreach(cats, i, c)
	{
		if (rc)
			break;
		rc = sq_exec(db, err, "INSERT OR IGNORE INTO quota_counters(program,category,taken) VALUES(?,?,0)",
			    "tt", id, json_string_value(json_object_get(c, "code")));
	}
	if (rc)
		sq_rollback(db);
	else
		rc = sq_commit(db, err);
out:
	json_decref(spec);
	sq_release(q, db);
	return rc;
}

static int sq_programs_list(struct store *s, json_t **out, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	if ((rc = sq_prep(db, &st, err, "SELECT id,spec,version FROM programs ORDER BY id", ""))) {
		sq_release(q, db);
		return rc;
	}
	json_t *arr = json_array();
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *spec = json_loads(sq_text(st, 1), 0, NULL);
		if (!spec)
			continue;
		json_array_append_new(arr, json_pack("{s:s,s:o,s:I}", "id", sq_text(st, 0), "spec", spec,
						     "version", (json_int_t)sqlite3_column_int64(st, 2)));
	}
	if (r != SQLITE_DONE) {
		rc = sq_fail(db, r, err);
		json_decref(arr);
	} else {
		*out = arr;
	}
	sq_done(st);
	sq_release(q, db);
	return rc;
}

static int scalar_i64(struct store_sqlite *q, const char *sql, int64_t *out, struct ts_error *err)
{
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	if (!(rc = sq_prep(db, &st, err, sql, ""))) {
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW)
			*out = sqlite3_column_int64(st, 0);
		else
			rc = sq_fail(db, r, err);
		sq_done(st);
	}
	sq_release(q, db);
	return rc;
}

static int sq_programs_version(struct store *s, int64_t *out, struct ts_error *err)
{
	return scalar_i64(sq_of(s), "SELECT coalesce(max(version),0) FROM programs", out, err);
}

static int taken_map(sqlite3 *db, json_t **out, struct ts_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sq_prep(db, &st, err, "SELECT program, category, taken FROM quota_counters", "");
	if (rc)
		return rc;
	json_t *m = json_object();
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		char key[200];
		snprintf(key, sizeof(key), "%s/%s", sq_text(st, 0), sq_text(st, 1));
		json_object_set_new(m, key, json_integer(sqlite3_column_int64(st, 2)));
	}
	sq_done(st);
	if (r != SQLITE_DONE) {
		json_decref(m);
		return sq_fail(db, r, err);
	}
	*out = m;
	return 0;
}

static int sq_quota_taken(struct store *s, json_t **out, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	rc = taken_map(db, out, err);
	sq_release(q, db);
	return rc;
}

/* ---- applicants ---- */

static int sq_applicant_ensure(struct store *s, const char *phone_bidx, const void *sealed, size_t len,
			       int64_t now, int64_t *id_out, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	rc = sq_exec(db, err,
		    "INSERT INTO applicants(phone_bidx,phone_enc,created_at) VALUES(?,?,?)"
		    " ON CONFLICT(phone_bidx) DO NOTHING",
		    "kbi", phone_bidx, sealed, len, now);
	if (!rc && !(rc = sq_prep(db, &st, err, "SELECT id FROM applicants WHERE phone_bidx=?", "k", phone_bidx))) {
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW)
			*id_out = sqlite3_column_int64(st, 0);
		else
			rc = sq_fail(db, r, err);
		sq_done(st);
	}
	sq_release(q, db);
	return rc;
}

static int sq_applicant_phone(struct store *s, int64_t applicant, struct ts_buf *out, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	if (!(rc = sq_prep(db, &st, err, "SELECT phone_enc FROM applicants WHERE id=?", "i", applicant))) {
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW) {
			if (ts_buf_append(out, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0)))
				rc = ts_error_set(err, TS_ETOOBIG, "internal", "数据过大");
		} else if (r == SQLITE_DONE) {
			rc = ts_error_set(err, TS_ENOTFOUND, "not_found", "申报人不存在");
		} else {
			rc = sq_fail(db, r, err);
		}
		sq_done(st);
	}
	sq_release(q, db);
	return rc;
}

/* ---- SMS codes ---- */

static int sq_code_create(struct store *s, const char *phone_bidx, const char *purpose, const char *code_hash,
			  int64_t now, const struct store_code_limits *lim, int64_t *retry_after_s,
			  struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	if ((rc = sq_begin(db, err)))
		goto out;
	int64_t day_ago = now - 86400 * TS_US_PER_SEC;
	rc = sq_prep(db, &st, err,
		  "SELECT coalesce(max(created_at),0), count(*) FROM sms_codes"
		  " WHERE phone_bidx=? AND purpose=? AND created_at>?",
		  "kti", phone_bidx, purpose, day_ago);
	if (rc)
		goto out_rollback;
	int r = sqlite3_step(st);
	int64_t last = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	int64_t count = r == SQLITE_ROW ? sqlite3_column_int64(st, 1) : 0;
	sq_done(st);
	if (r != SQLITE_ROW) {
		rc = sq_fail(db, r, err);
		goto out_rollback;
	}
	if (last && now - last < lim->min_interval_us) {
		*retry_after_s = (lim->min_interval_us - (now - last) + TS_US_PER_SEC - 1) / TS_US_PER_SEC;
		rc = ts_error_set(err, TS_ELIMIT, "rate_limited", "验证码发送过于频繁，请 %lld 秒后再试",
				  (long long)*retry_after_s);
		goto out_rollback;
	}
	if (count >= lim->per_day) {
		*retry_after_s = 3600;
		rc = ts_error_set(err, TS_ELIMIT, "rate_limited", "该手机号今日获取验证码次数已达上限，请明天再试");
		goto out_rollback;
	}
	rc = sq_exec(db, err,
		    "INSERT INTO sms_codes(phone_bidx,purpose,code_hash,created_at,expires_at) VALUES(?,?,?,?,?)",
		    "kttii", phone_bidx, purpose, code_hash, now, now + lim->ttl_us);
	if (!rc)
		rc = sq_exec(db, err, "DELETE FROM sms_codes WHERE phone_bidx=? AND created_at<?", "ki", phone_bidx,
			    now - 2 * 86400 * TS_US_PER_SEC);
	if (rc)
		goto out_rollback;
	rc = sq_commit(db, err);
	goto out;
out_rollback:
	sq_rollback(db);
out:
	sq_release(q, db);
	return rc;
}

/* Inside an open transaction: consumes the phone's latest live code if it
 * matches (0), counts a wrong try (TS_EAUTH), or finds none (TS_EAUTH). */
static int consume_in_tx(sqlite3 *db, const char *phone_bidx, const char *purpose, const char *code_hash, int64_t now,
			 const struct store_code_limits *lim, bool *wrong_try, struct ts_error *err)
{
	sqlite3_stmt *st = NULL;
	*wrong_try = false;
	int rc = sq_prep(db, &st, err,
			 "SELECT id, code_hash, tries FROM sms_codes WHERE phone_bidx=? AND purpose=? AND used=0"
			 " AND expires_at>? ORDER BY created_at DESC, id DESC LIMIT 1",
			 "kti", phone_bidx, purpose, now);
	if (rc)
		return rc;
	int r = sqlite3_step(st);
	if (r != SQLITE_ROW) {
		sq_done(st);
		return r == SQLITE_DONE ? TS_EAUTH : sq_fail(db, r, err);
	}
	int64_t id = sqlite3_column_int64(st, 0);
	bool match = crypt_equal(sq_text(st, 1), code_hash);
	int64_t tries = sqlite3_column_int64(st, 2);
	sq_done(st);
	if (tries >= lim->max_tries)
		return TS_EAUTH;
	if (match)
		return sq_exec(db, err, "UPDATE sms_codes SET used=1 WHERE id=?", "i", id);
	*wrong_try = true;
	rc = sq_exec(db, err, "UPDATE sms_codes SET tries=tries+1 WHERE id=?", "i", id);
	return rc ? rc : TS_EAUTH;
}

static int sq_code_consume(struct store *s, const char *phone_bidx, const char *purpose,
			   const char *code_hash, int64_t now, const struct store_code_limits *lim,
			   struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	bool wrong = false;
	if ((rc = sq_begin(db, err)) == 0) {
		rc = consume_in_tx(db, phone_bidx, purpose, code_hash, now, lim, &wrong, err);
		if (rc == 0 || (rc == TS_EAUTH && wrong)) {
			int c = sq_commit(db, err); /* a wrong try is counted too */
			if (c)
				rc = c;
		} else {
			sq_rollback(db);
		}
	}
	sq_release(q, db);
	if (rc == TS_EAUTH)
		ts_error_set(err, TS_EAUTH, "bad_code", "验证码错误或已失效，请重新获取");
	return rc;
}

static int sq_login_applicant(struct store *s, const struct store_login *l, const struct store_code_limits *lim,
			      int64_t *applicant, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	bool wrong = false;
	if ((rc = sq_begin(db, err)))
		goto out;
	rc = consume_in_tx(db, l->phone_bidx, "login", l->code_hash, l->now, lim, &wrong, err);
	if (rc == TS_EAUTH && wrong) {
		int c = sq_commit(db, err);
		rc = c ? c : TS_EAUTH;
		goto out;
	}
	if (rc)
		goto out_rollback;
	rc = sq_exec(db, err,
		     "INSERT INTO applicants(phone_bidx,phone_enc,created_at) VALUES(?,?,?) ON CONFLICT(phone_bidx) DO NOTHING",
		     "kbi", l->phone_bidx, l->phone_sealed, l->phone_sealed_len, l->now);
	if (!rc && !(rc = sq_prep(db, &st, err, "SELECT id FROM applicants WHERE phone_bidx=?", "k", l->phone_bidx))) {
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW)
			*applicant = sqlite3_column_int64(st, 0);
		else
			rc = sq_fail(db, r, err);
		sq_done(st);
	}
	if (!rc)
		rc = sq_exec(db, err,
			     "INSERT INTO sessions(token_hash,kind,subject,created_at,last_seen,expires_at) VALUES(?,'applicant',?,?,?,?)",
			     "tiiii", l->token_hash, *applicant, l->now, l->now, l->expires_at);
	if (rc)
		goto out_rollback;
	rc = sq_commit(db, err);
	goto out;
out_rollback:
	sq_rollback(db);
out:
	sq_release(q, db);
	if (rc == TS_EAUTH)
		ts_error_set(err, TS_EAUTH, "bad_code", "验证码错误或已失效，请重新获取");
	return rc;
}

/* ---- sessions ---- */

static int sq_session_create(struct store *s, const char *token_hash, const char *kind, int64_t subject,
			     int64_t now, int64_t expires_at, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	rc = sq_exec(db, err,
		    "INSERT INTO sessions(token_hash,kind,subject,created_at,last_seen,expires_at) VALUES(?,?,?,?,?,?)",
		    "ttiiii", token_hash, kind, subject, now, now, expires_at);
	if (!rc && (now / TS_US_PER_SEC) % 64 == 0)
		(void)sq_exec(db, NULL, "DELETE FROM sessions WHERE expires_at<?", "i", now);
	sq_release(q, db);
	return rc;
}

static int sq_session_get(struct store *s, const char *token_hash, struct store_session *out, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	rc = sq_prep(db, &st, err,
		  "SELECT kind,subject,created_at,last_seen,expires_at FROM sessions WHERE token_hash=?", "t",
		  token_hash);
	if (rc)
		goto out;
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		snprintf(out->kind, sizeof(out->kind), "%s", sq_text(st, 0));
		out->subject = sqlite3_column_int64(st, 1);
		out->created_at = sqlite3_column_int64(st, 2);
		out->last_seen = sqlite3_column_int64(st, 3);
		out->expires_at = sqlite3_column_int64(st, 4);
	}
	sq_done(st);
	if (r == SQLITE_DONE)
		rc = ts_error_set(err, TS_ENOTFOUND, "unauthorized", "登录已失效，请重新登录");
	else if (r != SQLITE_ROW)
		rc = sq_fail(db, r, err);
out:
	sq_release(q, db);
	return rc;
}

static int sq_session_touch(struct store *s, char (*hashes)[STORE_TOKEN_HASH_LEN + 1], const int64_t *at, size_t n,
			    struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	if ((rc = sq_begin(db, err)))
		goto out;
	for (size_t i = 0; i < n && !rc; i++)
		rc = sq_exec(db, err, "UPDATE sessions SET last_seen=?1 WHERE token_hash=?2 AND last_seen<?1", "it",
			     at[i], hashes[i]);
	if (rc)
		sq_rollback(db);
	else
		rc = sq_commit(db, err);
out:
	sq_release(q, db);
	return rc;
}

static int sq_session_delete(struct store *s, const char *token_hash, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	rc = sq_exec(db, err, "DELETE FROM sessions WHERE token_hash=?", "t", token_hash);
	sq_release(q, db);
	return rc;
}

/* ---- applications ---- */

void sq_read_app(sqlite3_stmt *st, struct store_app *a)
{
	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(st, 0);
	snprintf(a->program, sizeof(a->program), "%s", sq_text(st, 1));
	snprintf(a->category, sizeof(a->category), "%s", sq_text(st, 2));
	a->rank = sqlite3_column_int64(st, 3);
	a->applicant = sqlite3_column_int64(st, 4);
	snprintf(a->status, sizeof(a->status), "%s", sq_text(st, 5));
	snprintf(a->union_code, sizeof(a->union_code), "%s", sq_text(st, 6));
	snprintf(a->receipt, sizeof(a->receipt), "%s", sq_text(st, 7));
	a->submitted_at = sqlite3_column_int64(st, 8);
	a->updated_at = sqlite3_column_int64(st, 9);
	a->fields = json_loads(sq_text(st, 10), 0, NULL);
	if (!a->fields)
		a->fields = json_object();
	ts_buf_init(&a->secret, 0);
	if (ts_buf_append(&a->secret, sqlite3_column_blob(st, 11), (size_t)sqlite3_column_bytes(st, 11)))
		ts_buf_reset(&a->secret);
	a->running_at_or_ahead = sqlite3_column_int64(st, 12);
	a->stage = sqlite3_column_int(st, 13);
	a->returns = sqlite3_column_int(st, 14);
	a->return_deadline = sqlite3_column_int64(st, 15);
}

static int sq_app_get(struct store *s, int64_t id, struct store_app *out, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	if (!(rc = sq_prep(db, &st, err, "SELECT " SQ_APP_COLS " FROM applications a WHERE a.id=?", "i", id))) {
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW)
			sq_read_app(st, out);
		else if (r == SQLITE_DONE)
			rc = ts_error_set(err, TS_ENOTFOUND, "not_found", "找不到该申报");
		else
			rc = sq_fail(db, r, err);
		sq_done(st);
	}
	sq_release(q, db);
	return rc;
}

static int sq_apps_by_applicant(struct store *s, int64_t applicant, struct store_app **out, size_t *n,
				struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	*out = NULL;
	*n = 0;
	if ((rc = sq_prep(db, &st, err, "SELECT " SQ_APP_COLS " FROM applications a WHERE a.applicant=? ORDER BY a.id DESC",
		       "i", applicant))) {
		sq_release(q, db);
		return rc;
	}
	size_t cap = 0;
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 4;
			*out = ts_realloc(*out, cap * sizeof(**out));
		}
		sq_read_app(st, &(*out)[(*n)++]);
	}
	if (r != SQLITE_DONE)
		rc = sq_fail(db, r, err);
	sq_done(st);
	sq_release(q, db);
	return rc;
}

static int sq_app_history(struct store *s, int64_t id, json_t **out, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	if ((rc = sq_prep(db, &st, err,
		       "SELECT at,actor,action,status,reason,detail FROM application_events WHERE application=? ORDER BY id",
		       "i", id))) {
		sq_release(q, db);
		return rc;
	}
	json_t *arr = json_array();
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *e = json_pack("{s:I,s:s,s:s,s:s}", "at", (json_int_t)sqlite3_column_int64(st, 0), "actor",
				      sq_text(st, 1), "action", sq_text(st, 2), "status", sq_text(st, 3));
		if (sqlite3_column_type(st, 4) != SQLITE_NULL)
			json_object_set_new(e, "reason", json_string(sq_text(st, 4)));
		if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
			json_t *d = json_loads(sq_text(st, 5), 0, NULL);
			if (d)
				json_object_set_new(e, "detail", d);
		}
		json_array_append_new(arr, e);
	}
	if (r != SQLITE_DONE) {
		rc = sq_fail(db, r, err);
		json_decref(arr);
	} else {
		*out = arr;
	}
	sq_done(st);
	sq_release(q, db);
	return rc;
}

/* Fills the set of (blind ID, series) pairs with applications, once, on the
 * first look-up: 0, or -1 with err set. */
static int persons_load(struct store_sqlite *q, struct ts_error *err)
{
	struct store_persons *p = &q->base.persons;
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = 0;
	pthread_mutex_lock(&p->mu);
	if (!p->loaded && !(rc = sq_acquire(q, &db, err))) {
		rc = sq_prep(db, &st, err, "SELECT id_bidx, series FROM applications", "");
		int r = SQLITE_DONE;
		while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
			char id_bidx[CRYPT_HEX_BYTES]; /* in the form look-ups ask with */
			crypt_bidx_hex(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), id_bidx);
			store_persons_add_locked(p, id_bidx, sq_text(st, 1));
		}
		if (!rc && r != SQLITE_DONE)
			rc = sq_fail(db, r, err);
		sq_done(st);
		sq_release(q, db);
		p->loaded = rc == 0;
	}
	pthread_mutex_unlock(&p->mu);
	return rc ? -1 : 0;
}

static int sq_person_history(struct store *s, const char *id_bidx, const char *series, int64_t exclude_id,
			     json_t **out, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int known = store_persons_has(&s->persons, id_bidx, series);
	if (known < 0) {
		if (persons_load(q, err))
			return TS_EIO;
		known = store_persons_has(&s->persons, id_bidx, series);
	}
	if (!known) { /* no application of this series has this blind ID: nothing to look back at */
		*out = json_array();
		return 0;
	}
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	if ((rc = sq_prep(db, &st, err,
		       "SELECT grp,year,level,fields FROM applications WHERE id_bidx=? AND series=? AND active=1 AND id<>?",
		       "kti", id_bidx, series, exclude_id))) {
		sq_release(q, db);
		return rc;
	}
	json_t *arr = json_array();
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *f = json_loads(sq_text(st, 3), 0, NULL);
		json_array_append_new(arr, json_pack("{s:s,s:i,s:s,s:o}", "group", sq_text(st, 0), "year",
						     sqlite3_column_int(st, 1), "level", sq_text(st, 2), "fields",
						     f ? f : json_object()));
	}
	if (r != SQLITE_DONE) {
		rc = sq_fail(db, r, err);
		json_decref(arr);
	} else {
		*out = arr;
	}
	sq_done(st);
	sq_release(q, db);
	return rc;
}

int sq_add_event(sqlite3 *db, int64_t app, int64_t at, const char *actor, const char *action,
		     const char *status, const char *reason, const char *detail, struct ts_error *err)
{
	return sq_exec(db, err,
		      "INSERT INTO application_events(application,at,actor,action,status,reason,detail)"
		      " VALUES(?,?,?,?,?,?,?)",
		      "iitttt" "t", app, at, actor, action, status, reason, detail);
}

static int sq_app_update(struct store *s, int64_t id, int64_t applicant, const char *fields_json,
			 const void *secret, size_t secret_len, const char *id_bidx, const char *union_code,
			 const char *actor, int64_t now, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	if ((rc = sq_begin(db, err)))
		goto out;
	rc = sq_prep(db, &st, err, "SELECT status, grp, active, series FROM applications WHERE id=? AND applicant=?", "ii",
		  id, applicant);
	if (rc)
		goto out_rollback;
	int r = sqlite3_step(st);
	char status[16] = "", grp[64] = "";
	int active = 0;
	if (r == SQLITE_ROW) {
		snprintf(status, sizeof(status), "%s", sq_text(st, 0));
		snprintf(grp, sizeof(grp), "%s", sq_text(st, 1));
		active = sqlite3_column_int(st, 2);
		store_persons_add(&s->persons, id_bidx, sq_text(st, 3)); /* before it can be stored */
	}
	sq_done(st);
	if (r == SQLITE_DONE) {
		rc = ts_error_set(err, TS_ENOTFOUND, "not_found", "找不到该申报");
		goto out_rollback;
	}
	if (r != SQLITE_ROW) {
		rc = sq_fail(db, r, err);
		goto out_rollback;
	}
	if (!status_editable(status)) {
		rc = ts_error_set(err, TS_ECONFLICT, "locked", "该申报当前状态不可修改");
		goto out_rollback;
	}
	if (active) {
		rc = sq_prep(db, &st, err, "SELECT 1 FROM applications WHERE grp=? AND id_bidx=? AND active=1 AND id<>?",
			  "tki", grp, id_bidx, id);
		if (rc)
			goto out_rollback;
		r = sqlite3_step(st);
		sq_done(st);
		if (r == SQLITE_ROW) {
			rc = ts_error_set(err, TS_ECONFLICT, "duplicate", "该身份证号已有本项目的申报");
			goto out_rollback;
		}
	}
	rc = sq_exec(db, err,
		    "UPDATE applications SET fields=?, secret=?, id_bidx=?, union_code=?, updated_at=? WHERE id=?",
		    "tbktii", fields_json, secret, secret_len, id_bidx, union_code, now, id);
	if (!rc)
		rc = sq_add_event(db, id, now, actor, "edit", status, NULL, NULL, err);
	if (rc)
		goto out_rollback;
	rc = sq_commit(db, err);
	goto out;
out_rollback:
	sq_rollback(db);
out:
	sq_release(q, db);
	return rc;
}

static int sq_app_transition(struct store *s, int64_t id, const char *const *from, const char *to,
			     const char *actor, const char *action, const char *reason, const char *detail_json,
			     int64_t now, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	if ((rc = sq_begin(db, err)))
		goto out;
	if ((rc = sq_prep(db, &st, err, "SELECT status FROM applications WHERE id=?", "i", id)))
		goto out_rollback;
	int r = sqlite3_step(st);
	char status[16] = "";
	if (r == SQLITE_ROW)
		snprintf(status, sizeof(status), "%s", sq_text(st, 0));
	sq_done(st);
	if (r != SQLITE_ROW) {
		rc = r == SQLITE_DONE ? ts_error_set(err, TS_ENOTFOUND, "not_found", "找不到该申报") : sq_fail(db, r, err);
		goto out_rollback;
	}
	bool allowed = false;
	for (const char *const *f = from; *f; f++)
		if (strcmp(*f, status) == 0)
			allowed = true;
	if (!allowed) {
		char label[160];
		rc = ts_error_set(err, TS_ECONFLICT, "wrong_stage", "该申报当前状态（%s）不能执行此操作",
				  review_status_label(NULL, status, label, sizeof(label)));
		goto out_rollback;
	}
	rc = sq_exec(db, err, "UPDATE applications SET status=?, active=?, updated_at=? WHERE id=?", "tiii", to,
		    (int64_t)status_in_running(to), now, id);
	if (!rc)
		rc = sq_add_event(db, id, now, actor, action, to, reason, detail_json, err);
	if (rc)
		goto out_rollback;
	rc = sq_commit(db, err);
	goto out;
out_rollback:
	sq_rollback(db);
out:
	sq_release(q, db);
	return rc;
}

/* ---- the batch of the writer ---- */

struct batch_cat {
	const char *program, *category;
	int64_t taken, running;
	bool dirty;
};

/* One number about the category: sql takes ?1 program, ?2 category. */
static int cat_number(sqlite3 *db, const struct batch_cat *c, const char *sql, int64_t *out, struct ts_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sq_prep(db, &st, err, sql, "tt", c->program, c->category);
	if (rc)
		return rc;
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sq_done(st);
	return r == SQLITE_ROW ? 0 : sq_fail(db, r, err);
}

static int load_taken(sqlite3 *db, struct batch_cat *c, struct ts_error *err)
{
	c->running = -1; /* counted only when a rank passes the cap */
	return cat_number(db, c, "SELECT coalesce((SELECT taken FROM quota_counters WHERE program=?1 AND category=?2),0)",
			  &c->taken, err);
}

/* Applications of the category still running (an index range count). */
static int count_running(sqlite3 *db, struct batch_cat *c, struct ts_error *err)
{
	return cat_number(db, c, "SELECT count(*) FROM applications WHERE program=?1 AND category=?2 AND active=1",
			  &c->running, err);
}

/* The batch's entry for a category, added when new; the array grows. */
static struct batch_cat *find_cat(struct batch_cat **cats, size_t *ncats, size_t *cap, const char *program,
				  const char *category)
{
	for (size_t i = 0; i < *ncats; i++)
		if (strcmp((*cats)[i].program, program) == 0 && strcmp((*cats)[i].category, category) == 0)
			return &(*cats)[i];
	if (*ncats == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*cats = ts_realloc(*cats, *cap * sizeof(**cats));
	}
	struct batch_cat *c = &(*cats)[(*ncats)++];
	memset(c, 0, sizeof(*c));
	c->program = program;
	c->category = category;
	c->taken = -1;
	return c;
}

/* One job inside the open transaction. Returns non-zero only for a failure
 * that must abort the whole batch. */
static int submit_one(sqlite3 *db, struct submit_job *j, struct batch_cat *c, char *last_hash, int64_t *last_at,
		      struct ts_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sq_prep(db, &st, err,
		      /* two index look-ups (one per partial unique index), not a scan of the group */
		      "SELECT id, 1 FROM applications WHERE grp=?1 AND applicant=?2 AND active=1"
		      " UNION ALL SELECT id, 0 FROM applications WHERE grp=?1 AND id_bidx=?3 AND active=1 LIMIT 1",
		      "tik", j->group, j->applicant, j->id_bidx);
	if (rc)
		return rc;
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		bool same_phone = sqlite3_column_int(st, 1);
		j->existing_id = same_phone ? sqlite3_column_int64(st, 0) : 0;
		sq_done(st);
		j->rc = TS_ECONFLICT;
		ts_error_set(&j->err, TS_ECONFLICT, "duplicate",
			     same_phone ? "该手机号已提交过本项目的申报，不能重复申报"
					: "该身份证号已有本项目的申报，每人只能申报一次");
		return 0;
	}
	sq_done(st);
	if (r != SQLITE_DONE)
		return sq_fail(db, r, err);
	if (c->taken >= j->places) {
		j->rc = TS_ECONFLICT;
		ts_error_set(&j->err, TS_ECONFLICT, "quota_full", "名额已满，本类别已无剩余名额");
		return 0;
	}
	int64_t rank = c->taken + 1;
	if (rank > j->cap && c->running < 0 && (rc = count_running(db, c, err)))
		return rc;
	int64_t at = ts_now_us();
	if (at < *last_at)
		at = *last_at;
	char hash[CRYPT_HEX_BYTES];
	ledger_hash(last_hash, j->program, j->category, rank, at, j->ledger_id, hash);
	rc = sq_exec(db, err,
		    "INSERT INTO applications(program,category,rank,grp,series,year,level,applicant,phone_bidx,"
		    "id_bidx,union_code,status,active,fields,secret,receipt,submitted_at,updated_at)"
		    " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,(SELECT phone_bidx FROM applicants WHERE id=?8),?9,?10,"
		    "'submitted',1,?11,?12,?13,?14,?15)",
		    "ttittiti" "kttbtii", j->program, j->category, rank, j->group, j->series, (int64_t)j->year,
		    j->level, j->applicant, j->id_bidx, j->union_code, j->fields_json, j->secret,
		    j->secret_len, hash, at, at);
	if (rc)
		return rc;
	int64_t id = sqlite3_last_insert_rowid(db);
	rc = sq_add_event(db, id, at, "applicant", "submit", "submitted", NULL, NULL, err);
	if (!rc)
		rc = sq_exec(db, err,
			    "INSERT INTO ledger(program,category,rank,at,applicant,prev,hash) VALUES(?,?,?,?,?,?,?)",
			    "ttiittt", j->program, j->category, rank, at, j->ledger_id, last_hash, hash);
	if (rc)
		return rc;
	c->taken = rank;
	if (c->running >= 0)
		c->running++;
	c->dirty = true;
	memcpy(last_hash, hash, CRYPT_HEX_BYTES);
	*last_at = at;
	j->rc = 0;
	j->id = id;
	j->rank = rank;
	j->submitted_at = at;
	j->running_at_or_ahead = c->running >= 0 ? c->running : rank;
	memcpy(j->receipt, hash, CRYPT_HEX_BYTES);
	return 0;
}

static int ledger_head(sqlite3 *db, char *hash, int64_t *at, struct ts_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sq_prep(db, &st, err, "SELECT hash, at FROM ledger ORDER BY seq DESC LIMIT 1", "");
	if (rc)
		return rc;
	int r = sqlite3_step(st);
	snprintf(hash, CRYPT_HEX_BYTES, "%s", r == SQLITE_ROW ? sq_text(st, 0) : LEDGER_GENESIS);
	*at = r == SQLITE_ROW ? sqlite3_column_int64(st, 1) : 0;
	sq_done(st);
	return (r == SQLITE_ROW || r == SQLITE_DONE) ? 0 : sq_fail(db, r, err);
}

static int writer_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	(void)db;
	(void)name;
	((struct store_sqlite *)arg)->writer_wal_frames = frames;
	return SQLITE_OK;
}

/* ---- checkpoints ----
 *
 * A checkpoint copies the pages the WAL holds into the database file. Run on
 * the writer between batches, a passive checkpoint of 10 000 frames took
 * 60–70 ms (measured in phase (d) of the bench, 4 of them a second): every
 * request in flight waited for it. So the copying runs on a thread of its
 * own, on its own connection, while the writer goes on committing
 * (a passive checkpoint never blocks a writer, and copies only frames
 * committed before it began). It is woken when SQ_CHECKPOINT_PAGES frames
 * are waiting, so that a page many batches dirtied is copied once, not once
 * per few batches.
 *
 * SQLite starts the WAL again from its beginning only once every frame in it
 * has been copied, which cannot happen while the writer keeps adding frames
 * behind the checkpointer. So when the WAL passes SQ_WAL_RESTART_PAGES, the
 * checkpointer is woken for every batch until at most SQ_CATCHUP_PAGES
 * remain, and the writer then copies those itself between two batches (a few
 * milliseconds): its next transaction restarts the log. The WAL file thus
 * stays below ≈ SQ_WAL_RESTART_PAGES pages (≈ 200 MiB of 4 KiB pages) during
 * a rush.
 *
 * Durability does not change: with the checkpointer's synchronous=FULL (and
 * the writer's NORMAL) SQLite syncs the WAL before copying from it, and the
 * database file once it has copied everything. */

/* A passive checkpoint on db (the checkpointer's connection, or the writer's
 * between batches); notes how many frames it copied. */
static void checkpoint_on(struct store_sqlite *q, sqlite3 *db)
{
	int nlog = 0, copied = 0;
	int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog, &copied);
	if (rc == SQLITE_OK)
		atomic_store(&q->ckpt_copied, copied);
	else if (rc != SQLITE_BUSY)
		ts_log_warn("store.checkpoint", "%s", sqlite3_errmsg(db));
}

static void *ckpt_main(void *arg)
{
	pthread_setname_np(pthread_self(), "ts-checkpoint");
	struct store_sqlite *q = arg;
	pthread_mutex_lock(&q->ckpt_mu);
	for (;;) {
		while (!q->ckpt_wanted && !q->ckpt_stop)
			pthread_cond_wait(&q->ckpt_cv, &q->ckpt_mu);
		if (q->ckpt_stop)
			break;
		q->ckpt_wanted = false;
		pthread_mutex_unlock(&q->ckpt_mu);
		struct ts_error err;
		if (!q->ckpt_db && conn_open(q->path, &q->ckpt_db, &err))
			ts_log_warn("store.checkpoint", "%s", err.message);
		if (q->ckpt_db)
			checkpoint_on(q, q->ckpt_db);
		pthread_mutex_lock(&q->ckpt_mu);
		atomic_store(&q->ckpt_active, false);
	}
	pthread_mutex_unlock(&q->ckpt_mu);
	return NULL;
}

/* Wakes the checkpointer (started on first use); false when it cannot run. */
static bool ckpt_wake(struct store_sqlite *q)
{
	bool ok = true;
	pthread_mutex_lock(&q->ckpt_mu);
	if (!q->ckpt_running && !q->ckpt_stop) {
		if (pthread_create(&q->ckpt_thread, NULL, ckpt_main, q) == 0)
			q->ckpt_running = true;
		else
			ok = false;
	}
	if (ok) {
		atomic_store(&q->ckpt_active, true);
		q->ckpt_wanted = true;
		pthread_cond_signal(&q->ckpt_cv);
	}
	pthread_mutex_unlock(&q->ckpt_mu);
	return ok;
}

/* After the writer has stopped (it is the one that starts the thread). */
static void ckpt_stop(struct store_sqlite *q)
{
	if (q->ckpt_running)
		ts_thread_stop(q->ckpt_thread, &q->ckpt_mu, &q->ckpt_cv, &q->ckpt_stop);
	q->ckpt_running = false;
	if (q->ckpt_db)
		conn_close_final(q->ckpt_db);
	q->ckpt_db = NULL;
}

/* On the writer thread, after a batch is committed and handed to the syncer. */
static void sq_after_batch(struct store *s)
{
	struct store_sqlite *q = sq_of(s);
	if (!q->writer_db)
		return;
	int frames = q->writer_wal_frames;
	int added = frames - q->writer_last_frames; /* by this batch */
	if (added < 0) { /* the log started again: nothing of it is copied */
		atomic_store(&q->ckpt_copied, 0);
		added = frames;
	}
	q->writer_last_frames = frames;
	if (atomic_load(&q->ckpt_active))
		return;
	int copied = atomic_load(&q->ckpt_copied);
	int waiting = frames - (copied <= frames ? copied : 0);
	bool restart = frames >= q->wal_restart_pages;
	/* the checkpointer's pass ends a batch or so behind: the writer's share
	 * is at most SQ_CATCHUP_PAGES, or two batches' frames when they are more */
	if (restart && waiting <= (q->catchup_pages > 2 * added ? q->catchup_pages : 2 * added)) {
		checkpoint_on(q, q->writer_db);
		return;
	}
	if (waiting >= (restart ? 1 : q->ckpt_wake_pages) && !ckpt_wake(q))
		checkpoint_on(q, q->writer_db); /* no thread: as before, on the writer */
}

static int sq_submit_batch(struct store *s, struct submit_job **jobs, size_t n)
{
	struct store_sqlite *q = sq_of(s);
	struct ts_error err;
	int rc = 0;
	if (!q->writer_db) {
		if ((rc = conn_open(q->path, &q->writer_db, &err)))
			return rc;
		/* The writer touches index pages all over the table (blind indexes
		 * are random keys): a page cache of 64 MiB instead of 2 MiB keeps
		 * them in memory rather than re-reading them from the OS. */
		(void)sqlite3_exec(q->writer_db, "PRAGMA cache_size=-65536", NULL, NULL, NULL);
		/* The commit does not wait for the disk: sq_sync_commits does, on
		 * the syncer thread, before anything of the batch is answered.
		 * NORMAL still syncs the WAL before each checkpoint and the
		 * database after it, and the WAL's header when the log restarts,
		 * so only the last commits' frames wait for the syncer. */
		if ((rc = sq_exec(q->writer_db, &err, "PRAGMA synchronous=NORMAL", ""))) {
			conn_close_final(q->writer_db);
			q->writer_db = NULL;
			return rc;
		}
		q->wal_path = ts_strdup(sqlite3_filename_wal(sqlite3_db_filename(q->writer_db, "main")));
		/* No checkpoint inside the writer's commit: sq_after_batch sees
		 * to them once the batch is committed. */
		sqlite3_wal_hook(q->writer_db, writer_wal_hook, q);
	}
	sqlite3 *db = q->writer_db;
	struct batch_cat *cats = NULL;
	size_t ncats = 0, capc = 0;
	char last_hash[CRYPT_HEX_BYTES];
	int64_t last_at = 0;
	if ((rc = sq_begin(db, &err)))
		return rc;
	if ((rc = ledger_head(db, last_hash, &last_at, &err)))
		goto fail;
	for (size_t i = 0; i < n; i++) {
		struct submit_job *j = jobs[i];
		struct batch_cat *c = find_cat(&cats, &ncats, &capc, j->program, j->category);
		if (c->taken < 0 && (rc = load_taken(db, c, &err)))
			goto fail;
		if ((rc = submit_one(db, j, c, last_hash, &last_at, &err)))
			goto fail;
		if (j->rc == 0) /* before the commit: "absent" from the set stays exact */
			store_persons_add(&s->persons, j->id_bidx, j->series);
	}
	for (size_t i = 0; i < ncats; i++) {
		if (!cats[i].dirty)
			continue;
		rc = sq_exec(db, &err,
			    "INSERT INTO quota_counters(program,category,taken) VALUES(?,?,?)"
			    " ON CONFLICT(program,category) DO UPDATE SET taken=excluded.taken",
			    "tti", cats[i].program, cats[i].category, cats[i].taken);
		if (rc)
			goto fail;
	}
	free(cats);
	return sq_commit(db, &err);
fail:
	free(cats);
	sq_rollback(db);
	return rc ? rc : TS_EIO;
}

/* On the syncer thread, after one or more of the writer's commits: their
 * frames were written to the WAL by the commit (walbuf.c gives a commit frame
 * to the OS at once), and fdatasync of the file makes them durable, as
 * synchronous=FULL would have inside the commit. The descriptor is the
 * syncer's own (read-only: fdatasync needs no more), opened on the first
 * sync, when the WAL exists; the writer's connection keeps the file from
 * being deleted while the store is open. */
static int sq_sync_commits(struct store *s, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	if (q->wal_fd < 0 && q->wal_path)
		q->wal_fd = open(q->wal_path, O_RDONLY | O_CLOEXEC);
	char why[160];
	if (q->wal_fd < 0)
		return ts_error_set(err, TS_EIO, "unavailable", "数据存储暂不可用，请稍后重试（无法打开日志文件：%s）",
				    ts_errno_text(errno, why, sizeof(why)));
	if (fdatasync(q->wal_fd) != 0)
		return ts_error_set(err, TS_EIO, "unavailable", "数据存储暂不可用，请稍后重试（日志文件同步失败：%s）",
				    ts_errno_text(errno, why, sizeof(why)));
	return 0;
}

/* ---- ledger ---- */

/* A ledger entry from columns 0–7 of a row: seq, program, category, rank,
 * at, applicant, prev, hash (the strings are the statement's). */
static struct ledger_entry ledger_row(sqlite3_stmt *st)
{
	return (struct ledger_entry){
		.seq = sqlite3_column_int64(st, 0),
		.program = sq_text(st, 1),
		.category = sq_text(st, 2),
		.rank = sqlite3_column_int64(st, 3),
		.at_us = sqlite3_column_int64(st, 4),
		.applicant = sq_text(st, 5),
		.prev = sq_text(st, 6),
		.hash = sq_text(st, 7),
	};
}

static int sq_ledger_each(struct store *s, store_ledger_fn fn, void *ctx, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	if ((rc = sq_prep(db, &st, err, "SELECT seq,program,category,rank,at,applicant,prev,hash FROM ledger ORDER BY seq",
		       ""))) {
		sq_release(q, db);
		return rc;
	}
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct ledger_entry e = ledger_row(st);
		if ((rc = fn(ctx, &e)))
			break;
	}
	if (!rc && r != SQLITE_DONE)
		rc = sq_fail(db, r, err);
	sq_done(st);
	sq_release(q, db);
	return rc;
}

/* The ledger joined with the applications on the place; one scan of the
 * ledger and one index look-up per entry (UNIQUE(program, category, rank)
 * and application_events_app). */
#define LEDGER_APPS_SQL                                                                                  \
	"SELECT l.seq,l.program,l.category,l.rank,l.at,l.applicant,l.prev,l.hash,"                       \
	" a.id,a.receipt,a.submitted_at,a.id_bidx,a.secret,"                                            \
	" EXISTS(SELECT 1 FROM application_events v WHERE v.application=a.id AND v.action='edit')"      \
	" FROM ledger l LEFT JOIN applications a"                                                       \
	" ON a.program=l.program AND a.category=l.category AND a.rank=l.rank ORDER BY l.seq"

static int sq_ledger_apps(struct store *s, store_ledger_app_fn fn, void *ctx, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	if ((rc = sq_prep(db, &st, err, LEDGER_APPS_SQL, ""))) {
		sq_release(q, db);
		return rc;
	}
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct ledger_entry e = ledger_row(st);
		char bidx[CRYPT_HEX_BYTES];
		crypt_bidx_hex(sqlite3_column_blob(st, 11), (size_t)sqlite3_column_bytes(st, 11), bidx);
		struct ledger_app a = {
			.id = sqlite3_column_int64(st, 8),
			.receipt = sq_text(st, 9),
			.submitted_at = sqlite3_column_int64(st, 10),
			.id_bidx = bidx,
			.secret = sqlite3_column_blob(st, 12),
			.secret_len = (size_t)sqlite3_column_bytes(st, 12),
			.edited = sqlite3_column_int(st, 13) != 0,
		};
		bool none = sqlite3_column_type(st, 8) == SQLITE_NULL;
		if ((rc = fn(ctx, &e, none ? NULL : &a)))
			break;
	}
	if (!rc && r != SQLITE_DONE)
		rc = sq_fail(db, r, err);
	sq_done(st);
	sq_release(q, db);
	return rc;
}

static int sq_ledger_crosscheck(struct store *s, int64_t *orphans, json_t **taken, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	rc = sq_prep(db, &st, err,
		  "SELECT count(*) FROM applications a WHERE NOT EXISTS (SELECT 1 FROM ledger l WHERE"
		  " l.program=a.program AND l.category=a.category AND l.rank=a.rank AND l.hash=a.receipt)",
		  "");
	if (!rc) {
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW)
			*orphans = sqlite3_column_int64(st, 0);
		else
			rc = sq_fail(db, r, err);
		sq_done(st);
	}
	if (!rc)
		rc = taken_map(db, taken, err);
	sq_release(q, db);
	return rc;
}

/* ---- staff, drafts, check ---- */

static int sq_staff_add(struct store *s, const char *username, const char *pw_hash, const char *org,
			const char *role, int64_t now, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	rc = sq_exec(db, err,
		    "INSERT INTO staff(username,pw_hash,org,role,created_at) VALUES(?,?,?,?,?)"
		    " ON CONFLICT(username) DO UPDATE SET pw_hash=excluded.pw_hash, org=excluded.org,"
		    " role=excluded.role, failed=0, locked_until=0",
		    "tttti", username, pw_hash, org, role, now);
	sq_release(q, db);
	return rc;
}

static int sq_draft_put(struct store *s, int64_t applicant, const char *program, const char *body, int64_t now,
			struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	rc = sq_exec(db, err,
		    "INSERT INTO drafts(applicant,program,body,updated_at) VALUES(?,?,?,?)"
		    " ON CONFLICT(applicant,program) DO UPDATE SET body=excluded.body, updated_at=excluded.updated_at",
		    "itti", applicant, program, body, now);
	sq_release(q, db);
	return rc;
}

static int sq_draft_get(struct store *s, int64_t applicant, const char *program, char **out,
			int64_t *updated_at, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	if (!(rc = sq_prep(db, &st, err, "SELECT body, updated_at FROM drafts WHERE applicant=? AND program=?", "it",
			applicant, program))) {
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW) {
			*out = ts_strdup(sq_text(st, 0));
			*updated_at = sqlite3_column_int64(st, 1);
		} else if (r == SQLITE_DONE) {
			rc = ts_error_set(err, TS_ENOTFOUND, "not_found", "没有保存的草稿");
		} else {
			rc = sq_fail(db, r, err);
		}
		sq_done(st);
	}
	sq_release(q, db);
	return rc;
}

static int sq_draft_delete(struct store *s, int64_t applicant, const char *program, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	rc = sq_exec(db, err, "DELETE FROM drafts WHERE applicant=? AND program=?", "it", applicant, program);
	sq_release(q, db);
	return rc;
}

static int sq_check(struct store *s, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	if (!(rc = sq_prep(db, &st, err, "PRAGMA integrity_check", ""))) {
		int r = sqlite3_step(st);
		if (r != SQLITE_ROW)
			rc = sq_fail(db, r, err);
		else if (strcmp(sq_text(st, 0), "ok") != 0)
			rc = ts_error_set(err, TS_EIO, "corrupt", "数据库完整性检查失败：%s", sq_text(st, 0));
		sq_done(st);
	}
	sq_release(q, db);
	return rc;
}

/* ---- whole-table copy ---- */

static int sql_cols(const struct store_table *t, struct ts_buf *b, bool placeholders)
{
	int rc = 0;
	for (size_t i = 0; t->columns[i] && !rc; i++)
		rc = placeholders ? ts_buf_puts(b, i ? ",?" : "?") : ts_buf_printf(b, "%s%s", i ? "," : "", t->columns[i]);
	return rc;
}

static int sq_table_each(struct store *s, const struct store_table *t, store_row_fn fn, void *ctx, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	struct ts_buf sql;
	ts_buf_init(&sql, 0);
	if (ts_buf_puts(&sql, "SELECT ") || sql_cols(t, &sql, false) ||
	    ts_buf_printf(&sql, " FROM %s ORDER BY %s", t->name, t->columns[0]))
		rc = ts_error_set(err, TS_EINTERNAL, "internal", "SQL 过长");
	if (!rc)
		rc = sq_prep(db, &st, err, sql.ptr, "");
	int r = SQLITE_DONE;
	while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *row = json_array();
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			switch (sqlite3_column_type(st, i)) {
			case SQLITE_INTEGER:
				json_array_append_new(row, json_integer(sqlite3_column_int64(st, i)));
				break;
			case SQLITE_BLOB:
				json_array_append_new(row, store_blob_json(sqlite3_column_blob(st, i),
									   (size_t)sqlite3_column_bytes(st, i)));
				break;
			case SQLITE_NULL:
				json_array_append_new(row, json_null());
				break;
			default:
				json_array_append_new(row, json_string(sq_text(st, i)));
			}
		}
		rc = fn(ctx, row);
		json_decref(row);
	}
	if (!rc && r != SQLITE_DONE && r != SQLITE_ROW)
		rc = sq_fail(db, r, err);
	sq_done(st);
	ts_buf_free(&sql);
	sq_release(q, db);
	return rc;
}

static int sq_table_insert(struct store *s, const struct store_table *t, const json_t *rows, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	struct ts_buf sql, blob;
	ts_buf_init(&sql, 0);
	ts_buf_init(&blob, 0);
	if (ts_buf_printf(&sql, "INSERT INTO %s(", t->name) || sql_cols(t, &sql, false) || ts_buf_puts(&sql, ") VALUES(") ||
	    sql_cols(t, &sql, true) || ts_buf_puts(&sql, ")"))
		rc = ts_error_set(err, TS_EINTERNAL, "internal", "SQL 过长");
	if (!rc)
		rc = sq_begin(db, err);
	if (!rc)
		rc = sq_prep(db, &st, err, sql.ptr, "");
	size_t i;
	json_t *row;
	json_array_foreach((json_t *)rows, i, row)
	{
		if (rc)
			break;
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		size_t j;
		json_t *v;
		json_array_foreach(row, j, v)
		{
			int b = (int)j + 1;
			if (json_is_integer(v))
				sqlite3_bind_int64(st, b, json_integer_value(v));
			else if (json_is_string(v))
				sqlite3_bind_text(st, b, json_string_value(v), -1, SQLITE_TRANSIENT);
			else if (json_is_object(v)) {
				ts_buf_reset(&blob);
				if (store_blob_decode(v, &blob))
					sqlite3_bind_blob64(st, b, blob.len ? blob.ptr : "", blob.len, SQLITE_TRANSIENT);
			} else
				sqlite3_bind_null(st, b);
		}
		int r = sqlite3_step(st);
		if (r != SQLITE_DONE)
			rc = sq_fail(db, r, err);
	}
	sq_done(st);
	if (rc)
		sq_rollback(db);
	else
		rc = sq_commit(db, err);
	ts_buf_free(&sql);
	ts_buf_free(&blob);
	sq_release(q, db);
	return rc;
}

static const struct store_ops sqlite_ops = {
	.name = "sqlite",
	.close = sq_close,
	.schema_version = sq_schema_version,
	.org_put = sq_org_put,
	.orgs_list = sq_orgs_list,
	.program_put = sq_program_put,
	.programs_list = sq_programs_list,
	.programs_version = sq_programs_version,
	.quota_taken = sq_quota_taken,
	.applicant_ensure = sq_applicant_ensure,
	.applicant_phone = sq_applicant_phone,
	.code_create = sq_code_create,
	.code_consume = sq_code_consume,
	.login_applicant = sq_login_applicant,
	.session_create = sq_session_create,
	.session_get = sq_session_get,
	.session_touch = sq_session_touch,
	.session_delete = sq_session_delete,
	.app_get = sq_app_get,
	.apps_by_applicant = sq_apps_by_applicant,
	.app_history = sq_app_history,
	.person_history = sq_person_history,
	.app_update = sq_app_update,
	.app_transition = sq_app_transition,
	.submit_batch = sq_submit_batch,
	.sync_commits = sq_sync_commits,
	.after_batch = sq_after_batch,
	.ledger_each = sq_ledger_each,
	.ledger_apps = sq_ledger_apps,
	.ledger_crosscheck = sq_ledger_crosscheck,
	.staff_add = sq_staff_add,
	.draft_put = sq_draft_put,
	.draft_get = sq_draft_get,
	.draft_delete = sq_draft_delete,
	.check = sq_check,
	.staff_get = sqr_staff_get,
	.staff_login_result = sqr_staff_login_result,
	.staff_set_totp = sqr_staff_set_totp,
	.review_list = sqr_review_list,
	.app_steps = sqr_app_steps,
	.app_note = sqr_app_note,
	.running_at = sqr_running_at,
	.expire_returns = sqr_expire_returns,
	.publicity_create = sqr_publicity_create,
	.publicity_get = sqr_publicity_get,
	.publicity_list = sqr_publicity_list,
	.publicity_close = sqr_publicity_close,
	.objection_add = sqr_objection_add,
	.objection_get = sqr_objection_get,
	.objection_decide = sqr_objection_decide,
	.audit_append = sqr_audit_append,
	.audit_list = sqr_audit_list,
	.table_each = sq_table_each,
	.table_insert = sq_table_insert,
	.table_finish = NULL,
};

/* SQLite's memory statistics take one process-wide mutex on every allocation,
 * which the HTTP threads and the writer then fight over; nothing reads them. */
static pthread_once_t config_once = PTHREAD_ONCE_INIT;
static void config_init(void) { (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }

int store_sqlite_open(const char *path, struct store **out, struct ts_error *err)
{
	pthread_once(&config_once, config_init);
	struct store_sqlite *q = ts_calloc(1, sizeof(*q));
	q->base.ops = &sqlite_ops;
	store_base_init(&q->base);
	/* This process is the database's only writer: sessions may be kept in memory. */
	q->base.sessions.enabled = true;
	q->path = ts_strdup(path);
	q->wal_fd = -1;
	q->ckpt_wake_pages = SQ_CHECKPOINT_PAGES;
	q->wal_restart_pages = SQ_WAL_RESTART_PAGES;
	q->catchup_pages = SQ_CATCHUP_PAGES;
	pthread_mutex_init(&q->mu, NULL);
	pthread_mutex_init(&q->ckpt_mu, NULL);
	pthread_cond_init(&q->ckpt_cv, NULL);
	sqlite3 *db = NULL;
	int rc = conn_open(path, &db, err);
	if (!rc)
		rc = migrate(q, db, err);
	if (rc) {
		sq_release(q, db); /* closed with the others, its statements first */
		sq_close(&q->base);
		return rc;
	}
	sq_release(q, db);
	*out = &q->base;
	return 0;
}
