/* store/sqlite/sq.h — internals shared by the files of the SQLite backend. */
#ifndef TS_STORE_SQLITE_SQ_H
#define TS_STORE_SQLITE_SQ_H

#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "store/store_impl.h"

/* WAL frames not yet copied into the database at which the writer wakes the
 * checkpointer thread (sq_after_batch). */
#define SQ_CHECKPOINT_PAGES 10000
/* WAL frames past which the writer itself copies the last few (at most
 * SQ_CATCHUP_PAGES) so that the log starts again from its beginning. */
#define SQ_WAL_RESTART_PAGES 50000
#define SQ_CATCHUP_PAGES 2000

struct store_sqlite {
	struct store base;
	char *path;
	pthread_mutex_t mu;
	sqlite3 **free_conns; /* every connection not in use: none is closed before the store */
	int nfree, cap;
	sqlite3 *writer_db;
	int writer_wal_frames; /* the WAL's size after the writer's last commit (its WAL hook) */
	int writer_last_frames; /* that size at the previous sq_after_batch */
	/* the checkpointer thread and its own connection (sq_after_batch) */
	pthread_t ckpt_thread;
	pthread_mutex_t ckpt_mu;
	pthread_cond_t ckpt_cv;
	bool ckpt_running, ckpt_stop, ckpt_wanted;
	_Atomic bool ckpt_active;   /* a pass is under way */
	_Atomic int ckpt_copied;    /* WAL frames copied into the database by the last pass */
	sqlite3 *ckpt_db;
	/* SQ_CHECKPOINT_PAGES, SQ_WAL_RESTART_PAGES, SQ_CATCHUP_PAGES (tests set them lower) */
	int ckpt_wake_pages, wal_restart_pages, catchup_pages;
	char *wal_path;        /* the writer's WAL file, set when its connection opens */
	int wal_fd;            /* the syncer's own descriptor of it (-1 until the first sync) */
	int version;
};

struct store_sqlite *sq_of(struct store *s);
/* Maps an SQLite result to a TS_E* status with a Chinese message. */
int sq_fail(sqlite3 *db, int rc, struct ts_error *err);
int sq_acquire(struct store_sqlite *q, sqlite3 **out, struct ts_error *err);
void sq_release(struct store_sqlite *q, sqlite3 *db);
/* Prepares and binds by a format: t text (NULL binds NULL), i int64, n int64
 * (0 binds NULL), b blob (ptr, size_t), k blind index (its hex form, bound as
 * its bytes). */
int sq_prep(sqlite3 *db, sqlite3_stmt **st, struct ts_error *err, const char *sql, const char *fmt, ...);
/* Returns a statement from sq_prep to the thread's cache (reset, unbound). */
void sq_done(sqlite3_stmt *st);
/* Finalises the calling thread's cached statements (before closing connections). */
void sq_cache_flush(void);
/* Runs a statement that returns no rows. */
int sq_exec(sqlite3 *db, struct ts_error *err, const char *sql, const char *fmt, ...);
int sq_begin(sqlite3 *db, struct ts_error *err);
int sq_commit(sqlite3 *db, struct ts_error *err);
void sq_rollback(sqlite3 *db);
const char *sq_text(sqlite3_stmt *st, int i);

/* Application columns read by sq_read_app, from "applications a", with
 * AHEAD the expression of "applications in the running at or ahead". */
#define SQ_APP_COLS_WITH(AHEAD)                                                                    \
	"a.id,a.program,a.category,a.rank,a.applicant,a.status,a.union_code,a.receipt,"            \
	"a.submitted_at,a.updated_at,a.fields,a.secret," AHEAD ",a.stage,a.returns,coalesce(a.return_deadline,0)"
/* For one application: an index range count. */
#define SQ_APP_COLS                                                                                \
	SQ_APP_COLS_WITH("(SELECT count(*) FROM applications b WHERE b.program=a.program"           \
			 " AND b.category=a.category AND b.active=1 AND b.rank<=a.rank)")
/* For lists: one pass over the program with a window function, joined as r. */
#define SQ_AHEAD_CTE                                                                               \
	"WITH r AS (SELECT id, count(*) FILTER (WHERE active=1) OVER (PARTITION BY category ORDER BY rank)" \
	" AS ahead FROM applications WHERE program=?1) "
void sq_read_app(sqlite3_stmt *st, struct store_app *a);
int sq_add_event(sqlite3 *db, int64_t app, int64_t at, const char *actor, const char *action, const char *status,
		 const char *reason, const char *detail, struct ts_error *err);

/* review.c: the review, publicity, objection, audit and staff operations. */
int sqr_staff_get(struct store *s, const char *username, int64_t id, struct store_staff *out, struct ts_error *err);
int sqr_staff_login_result(struct store *s, int64_t id, bool ok, int64_t now, int max_failures, int64_t lock_us,
			   struct ts_error *err);
int sqr_staff_set_totp(struct store *s, int64_t id, const void *sealed, size_t n, bool enabled,
		       struct ts_error *err);
int sqr_review_list(struct store *s, const struct store_review_query *q, store_app_fn fn, void *ctx,
		    int64_t *total, struct ts_error *err);
int sqr_app_steps(struct store *s, const struct store_step *steps, size_t n, int *rcs, struct ts_error *errs,
		  struct ts_error *err);
int sqr_app_note(struct store *s, int64_t id, int64_t now, const char *actor, const char *action,
		 const char *reason, const char *detail, struct ts_error *err);
int sqr_running_at(struct store *s, const char *program, const char *category, int64_t position, int64_t *id,
		   struct ts_error *err);
int sqr_expire_returns(struct store *s, int64_t now, json_t **out, struct ts_error *err);
int sqr_publicity_create(struct store *s, const struct store_publicity *p, const json_t *entries, int64_t *id,
			 struct ts_error *err);
int sqr_publicity_get(struct store *s, int64_t id, json_t **out, struct ts_error *err);
int sqr_publicity_list(struct store *s, const char *program, const json_t *orgs, json_t **out,
		       struct ts_error *err);
int sqr_publicity_close(struct store *s, int64_t id, const char *to_status, int to_stage, const char *actor,
			int64_t now, json_t **advanced, struct ts_error *err);
int sqr_objection_add(struct store *s, const struct store_objection *o, int64_t *id, struct ts_error *err);
int sqr_objection_get(struct store *s, int64_t id, json_t **out, struct ts_error *err);
int sqr_objection_decide(struct store *s, int64_t id, const char *finding, const char *note, const char *actor,
			 int64_t now, struct ts_error *err);
int sqr_audit_append(struct store *s, const struct store_audit *a, struct ts_error *err);
int sqr_audit_list(struct store *s, int64_t before, int limit, json_t **out, struct ts_error *err);

#endif
