/* store/store_impl.h — what a backend implements; not for callers of store.h.
 *
 * A backend embeds struct store as its first member and fills a const
 * struct store_ops. The generic writer (writer.c) batches submit jobs and
 * hands each batch to ops->submit_batch inside one transaction.
 */
#ifndef TS_STORE_IMPL_H
#define TS_STORE_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "store/store.h"

struct store_ops {
	const char *name;
	void (*close)(struct store *s);
	int (*schema_version)(struct store *s);
	int (*org_put)(struct store *s, const struct store_org *org, struct ts_error *err);
	int (*orgs_list)(struct store *s, json_t **out, struct ts_error *err);
	int (*program_put)(struct store *s, const char *id, const char *spec_json, int64_t opens_at,
			   int64_t closes_at, struct ts_error *err);
	int (*programs_list)(struct store *s, json_t **out, struct ts_error *err);
	int (*programs_version)(struct store *s, int64_t *out, struct ts_error *err);
	int (*quota_taken)(struct store *s, json_t **out, struct ts_error *err);
	int (*applicant_ensure)(struct store *s, const char *phone_bidx, const void *sealed, size_t len,
				int64_t now, int64_t *id_out, struct ts_error *err);
	int (*applicant_phone)(struct store *s, int64_t applicant, struct ts_buf *out, struct ts_error *err);
	int (*code_create)(struct store *s, const char *phone_bidx, const char *purpose, const char *code_hash,
			   int64_t now, const struct store_code_limits *lim, int64_t *retry_after_s,
			   struct ts_error *err);
	int (*code_consume)(struct store *s, const char *phone_bidx, const char *purpose,
			    const char *code_hash, int64_t now, const struct store_code_limits *lim,
			    struct ts_error *err);
	int (*login_applicant)(struct store *s, const struct store_login *l, const struct store_code_limits *lim,
			       int64_t *applicant, struct ts_error *err);
	int (*session_create)(struct store *s, const char *token_hash, const char *kind, int64_t subject,
			      int64_t now, int64_t expires_at, struct ts_error *err);
	/* Reads the row only (no expiry checks, no writes): TS_ENOTFOUND when absent. */
	int (*session_get)(struct store *s, const char *token_hash, struct store_session *out, struct ts_error *err);
	/* Sets last_seen = max(last_seen, at[i]) for each session, in one transaction. */
	int (*session_touch)(struct store *s, char (*hashes)[STORE_TOKEN_HASH_LEN + 1], const int64_t *at, size_t n,
			     struct ts_error *err);
	int (*session_delete)(struct store *s, const char *token_hash, struct ts_error *err);
	int (*app_get)(struct store *s, int64_t id, struct store_app *out, struct ts_error *err);
	int (*apps_by_applicant)(struct store *s, int64_t applicant, struct store_app **out, size_t *n,
				 struct ts_error *err);
	int (*app_history)(struct store *s, int64_t id, json_t **out, struct ts_error *err);
	int (*person_history)(struct store *s, const char *id_bidx, const char *series, int64_t exclude_id,
			      json_t **out, struct ts_error *err);
	int (*app_update)(struct store *s, int64_t id, int64_t applicant, const char *fields_json,
			  const void *secret, size_t secret_len, const char *id_bidx, const char *union_code,
			  const char *actor, int64_t now, struct ts_error *err);
	int (*app_transition)(struct store *s, int64_t id, const char *const *from, const char *to,
			      const char *actor, const char *action, const char *reason,
			      const char *detail_json, int64_t now, struct ts_error *err);
	/* Runs the batch in one transaction: sets each job's rc/err/outputs.
	 * Returns non-zero when the transaction as a whole failed (then every
	 * job must be answered "unavailable"). */
	int (*submit_batch)(struct store *s, struct submit_job **jobs, size_t n);
	/* Optional: makes every batch committed so far durable. A backend that
	 * sets it commits its batches without waiting for the disk, and the
	 * writer hands each committed batch to a second thread, which calls
	 * this once for all the batches it has and then answers their jobs in
	 * order: the disk's sync of one batch overlaps the next one's work,
	 * and no job is answered before a sync that began after its commit.
	 * Non-zero: the sync failed, and those jobs are answered "unavailable". */
	int (*sync_commits)(struct store *s, struct ts_error *err);
	/* Optional: runs on the writer thread once a batch's jobs are answered
	 * (upkeep that no answer should wait for). */
	void (*after_batch)(struct store *s);
	int (*ledger_each)(struct store *s, store_ledger_fn fn, void *ctx, struct ts_error *err);
	int (*ledger_apps)(struct store *s, store_ledger_app_fn fn, void *ctx, struct ts_error *err);
	int (*ledger_crosscheck)(struct store *s, int64_t *orphans, json_t **taken, struct ts_error *err);
	int (*staff_add)(struct store *s, const char *username, const char *pw_hash, const char *org,
			 const char *role, int64_t now, struct ts_error *err);
	int (*draft_put)(struct store *s, int64_t applicant, const char *program, const char *json,
			 int64_t now, struct ts_error *err);
	int (*draft_get)(struct store *s, int64_t applicant, const char *program, char **out,
			 int64_t *updated_at, struct ts_error *err);
	int (*draft_delete)(struct store *s, int64_t applicant, const char *program, struct ts_error *err);
	int (*check)(struct store *s, struct ts_error *err);
	int (*staff_get)(struct store *s, const char *username, int64_t id, struct store_staff *out,
			 struct ts_error *err);
	int (*staff_login_result)(struct store *s, int64_t id, bool ok, int64_t now, int max_failures,
				  int64_t lock_us, struct ts_error *err);
	int (*staff_set_totp)(struct store *s, int64_t id, const void *sealed, size_t n, bool enabled,
			      struct ts_error *err);
	int (*review_list)(struct store *s, const struct store_review_query *q, store_app_fn fn, void *ctx,
			   int64_t *total, struct ts_error *err);
	int (*app_steps)(struct store *s, const struct store_step *steps, size_t n, int *rcs, struct ts_error *errs,
			 struct ts_error *err);
	int (*app_note)(struct store *s, int64_t id, int64_t now, const char *actor, const char *action,
			const char *reason, const char *detail, struct ts_error *err);
	int (*running_at)(struct store *s, const char *program, const char *category, int64_t position, int64_t *id,
			  struct ts_error *err);
	int (*expire_returns)(struct store *s, int64_t now, json_t **out, struct ts_error *err);
	int (*publicity_create)(struct store *s, const struct store_publicity *p, const json_t *entries, int64_t *id,
				struct ts_error *err);
	int (*publicity_get)(struct store *s, int64_t id, json_t **out, struct ts_error *err);
	int (*publicity_list)(struct store *s, const char *program, const json_t *orgs, json_t **out,
			      struct ts_error *err);
	int (*publicity_close)(struct store *s, int64_t id, const char *to_status, int to_stage, const char *actor,
			       int64_t now, json_t **advanced, struct ts_error *err);
	int (*objection_add)(struct store *s, const struct store_objection *o, int64_t *id, struct ts_error *err);
	int (*objection_get)(struct store *s, int64_t id, json_t **out, struct ts_error *err);
	int (*objection_decide)(struct store *s, int64_t id, const char *finding, const char *note, const char *actor,
				int64_t now, struct ts_error *err);
	int (*audit_append)(struct store *s, const struct store_audit *a, struct ts_error *err);
	int (*audit_list)(struct store *s, int64_t before, int limit, json_t **out, struct ts_error *err);
	int (*table_each)(struct store *s, const struct store_table *t, store_row_fn fn, void *ctx, struct ts_error *err);
	int (*table_insert)(struct store *s, const struct store_table *t, const json_t *rows, struct ts_error *err);
	int (*table_finish)(struct store *s, const struct store_table *t, struct ts_error *err);
};

struct store_writer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct submit_job *head, *tail;
	_Atomic size_t depth; /* written under mu, read without it */
	bool running, stopping;
	struct store_writer_stats stats;
	/* the syncer (store_ops.sync_commits): committed jobs waiting for the
	 * sync that answers them, in commit order, linked by next */
	pthread_t sync_thread;
	pthread_mutex_t sync_mu;
	pthread_cond_t sync_cv;
	struct submit_job *sync_head, *sync_tail;
	bool sync_running, sync_stopping;
};

/* Sessions seen in use whose last_seen in the database is stale: kept here
 * and written in one transaction by store_sessions_flush (the server's
 * background thread, every few seconds, and at shutdown), so a request never
 * waits for a write (and an fsync) just to say "still here". */
#define STORE_TOUCH_SLOTS 65536
struct store_touch {
	char hash[STORE_TOKEN_HASH_LEN + 1]; /* "" when free */
	int64_t at;
};
struct store_touches {
	pthread_mutex_t mu;
	struct store_touch *slots; /* STORE_TOUCH_SLOTS, open addressing; allocated on first use */
	size_t used;
};

/* cache.c: sessions and the blind IDs with applications, kept in memory by a
 * store that is the only writer of its database (see cache.c). */
#define STORE_SCACHE_SLOTS 65536
struct store_scache_entry {
	char hash[STORE_TOKEN_HASH_LEN + 1];
	unsigned char state; /* empty, live, deleted */
	struct store_session s;
};
struct store_scache {
	pthread_mutex_t mu;
	bool enabled;
	struct store_scache_entry *slots; /* STORE_SCACHE_SLOTS; allocated on first use */
	size_t filled;                    /* slots not empty (live or deleted) */
	uint64_t gen;                     /* drops so far */
};
struct store_persons {
	pthread_mutex_t mu;
	bool loaded;   /* the database's blind IDs are in; until then nothing is known */
	uint64_t *keys; /* a 64-bit hash of each (blind ID, series); 0 = free */
	size_t n, cap;
};

struct store {
	const struct store_ops *ops;
	struct store_writer writer;
	struct store_touches touches;
	struct store_scache sessions;
	struct store_persons persons; /* used by backends that set it up (SQLite) */
};

/* Backends. */
int store_sqlite_open(const char *path, struct store **out, struct ts_error *err);
int store_pg_open(const char *url, struct store **out, struct ts_error *err);

/* store.c: binary values in copied rows are {"$b": base64}. */
json_t *store_blob_json(const void *p, size_t n);
/* True and the bytes appended when v is such a value. */
bool store_blob_decode(const json_t *v, struct ts_buf *out);

/* writer.c; store_base_init initialises the generic part of a backend's store. */
void store_base_init(struct store *s);
void store_writer_init(struct store_writer *w);
/* touch.c */
void store_touches_init(struct store_touches *t);
void store_touches_free(struct store_touches *t);
/* The pending last_seen of a session (0 when none). */
int64_t store_touch_get(struct store_touches *t, const char *hash);
void store_touch_put(struct store_touches *t, const char *hash, int64_t at);
/* Forgets a session's pending last_seen (logout). */
void store_touch_forget(struct store_touches *t, const char *hash);
void store_writer_stop(struct store *s);

/* cache.c */
void store_scache_init(struct store_scache *c, bool enabled);
void store_scache_free(struct store_scache *c);
bool store_scache_get(struct store_scache *c, const char *hash, struct store_session *out);
void store_scache_put(struct store_scache *c, const char *hash, const struct store_session *s);
/* A session read from the database goes in only if nothing was dropped since
 * gen = store_scache_gen() was taken before the read (a logout racing it). */
uint64_t store_scache_gen(struct store_scache *c);
void store_scache_put_if(struct store_scache *c, const char *hash, const struct store_session *s, uint64_t gen);
/* Raises a cached session's last_seen to at. */
void store_scache_seen(struct store_scache *c, const char *hash, int64_t at);
void store_scache_drop(struct store_scache *c, const char *hash);
void store_persons_init(struct store_persons *p);
void store_persons_free(struct store_persons *p);
/* Notes a blind ID about to be stored in an application of a series (before
 * its transaction commits). */
void store_persons_add(struct store_persons *p, const char *id_bidx, const char *series);
/* 1 when the blind ID may have applications in the series, 0 when it has
 * none, -1 when the set is not loaded yet. */
int store_persons_has(struct store_persons *p, const char *id_bidx, const char *series);
/* Loading: the backend takes p->mu, adds every stored pair with
 * store_persons_add_locked, sets p->loaded and unlocks. */
void store_persons_add_locked(struct store_persons *p, const char *id_bidx, const char *series);

/* A publicity entry's quota standing as stored: "waitlisted" or "queued". */
static inline const char *store_entry_quota(const json_t *e)
{
	const char *q = json_string_value(json_object_get(e, "quota"));
	return q && strcmp(q, "waitlisted") == 0 ? "waitlisted" : "queued";
}

#endif
