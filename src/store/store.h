/* store/store.h — the one storage interface.
 *
 * Callers see only this header; sqlite/ and pg/ implement it behind a table of
 * function pointers (struct store_ops), chosen once by store_open() from the
 * URL. All SQL lives below this line. Every function is safe to call from any
 * thread: backends keep a pool of connections.
 *
 * Ownership: strings passed in are borrowed. Results returned through OUT
 * parameters are owned by the caller: json_t results with json_decref, struct
 * results with their *_free function, char* with free().
 *
 * Blind indexes (every phone_bidx and id_bidx) are passed in the hex form
 * crypt_blind_index writes, or "" for an application without an ID number;
 * the store keeps their bytes, and refuses another form (TS_EINTERNAL).
 *
 * Submissions do not go through a normal call: they are queued to the
 * store's writer thread with store_submit(), which assigns ranks in arrival
 * order and commits them in batches (group commit); the job's `done` callback
 * runs on the writer thread after the batch is durable or has failed.
 */
#ifndef TS_STORE_H
#define TS_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"
#include "crypt/crypt.h"

struct program_spec;

struct store;

/* Opens (creating if needed) the store named by `url` ("sqlite:PATH", or NULL
 * for DATA_DIR/tisheng.db) and brings its schema up to date (versioned
 * migrations). Starts no writer thread until store_writer_start(). */
int store_open(const char *url, const char *data_dir, struct store **out, struct ts_error *err)
	__attribute__((warn_unused_result));
/* The default store's file, DATA_DIR/tisheng.db, written to out. */
void store_default_path(const char *data_dir, char *out, size_t n);
/* Stops the writer (finishing queued jobs) and closes every connection. */
void store_close(struct store *s);
/* "sqlite" or "postgres". */
const char *store_backend(struct store *s);
/* The schema version after migrations. */
int store_schema_version(struct store *s);

/* ---- union tree ---- */
struct store_org {
	const char *code, *name, *level, *parent; /* parent NULL at the root */
};
int store_org_put(struct store *s, const struct store_org *org, struct ts_error *err)
	__attribute__((warn_unused_result));
/* {"orgs":[{code,name,level,parent}]} in tree order. */
int store_orgs_list(struct store *s, json_t **out, struct ts_error *err) __attribute__((warn_unused_result));

/* ---- programs ---- */
/* Inserts or replaces a program spec (JSON text) with its window. */
int store_program_put(struct store *s, const char *id, const char *spec_json, int64_t opens_at,
		      int64_t closes_at, struct ts_error *err) __attribute__((warn_unused_result));
/* [{"id","spec"(object),"version"}] for every program. */
int store_programs_list(struct store *s, json_t **out, struct ts_error *err)
	__attribute__((warn_unused_result));
/* A number that changes whenever any program is put (for cheap change polling). */
int store_programs_version(struct store *s, int64_t *out, struct ts_error *err)
	__attribute__((warn_unused_result));
/* Places taken per category: {"program/category": taken, …}. */
int store_quota_taken(struct store *s, json_t **out, struct ts_error *err) __attribute__((warn_unused_result));

/* ---- applicants, SMS codes, sessions ---- */
/* The applicant id for a phone's blind index, creating the applicant (with
 * the phone sealed) when new. */
int store_applicant_ensure(struct store *s, const char *phone_bidx, const void *phone_sealed,
			   size_t sealed_len, int64_t now, int64_t *id_out, struct ts_error *err)
	__attribute__((warn_unused_result));
/* The sealed phone of an applicant, appended to out. */
int store_applicant_phone(struct store *s, int64_t applicant, struct ts_buf *out, struct ts_error *err)
	__attribute__((warn_unused_result));

struct store_code_limits {
	int64_t min_interval_us; /* one code per phone per this long */
	int per_day;             /* codes per phone per 24 h */
	int64_t ttl_us;          /* a code is valid this long */
	int max_tries;           /* wrong tries per code */
};
/* Records a new code unless the phone is over its limits: then TS_ELIMIT with
 * *retry_after_s set. */
int store_code_create(struct store *s, const char *phone_bidx, const char *purpose, const char *code_hash,
		      int64_t now, const struct store_code_limits *lim, int64_t *retry_after_s,
		      struct ts_error *err) __attribute__((warn_unused_result));
/* Consumes the phone's latest live code if it matches (single use); a wrong
 * code counts a try; returns 0 on match, TS_EAUTH otherwise. */
int store_code_consume(struct store *s, const char *phone_bidx, const char *purpose, const char *code_hash,
		       int64_t now, const struct store_code_limits *lim, struct ts_error *err)
	__attribute__((warn_unused_result));

/* The whole applicant login in one transaction (one disk sync): consumes
 * the code as store_code_consume does, then finds or creates the applicant
 * and opens a session. TS_EAUTH ("bad_code") when the code does not match. */
struct store_login {
	const char *phone_bidx, *code_hash, *token_hash;
	const void *phone_sealed;
	size_t phone_sealed_len;
	int64_t now, expires_at;
};
int store_login_applicant(struct store *s, const struct store_login *l, const struct store_code_limits *lim,
			  int64_t *applicant, struct ts_error *err) __attribute__((warn_unused_result));

#define STORE_TOKEN_HASH_LEN 64 /* hex SHA-256 of a session token */
struct store_session {
	char kind[16]; /* "applicant" or "staff" */
	int64_t subject;
	int64_t created_at, last_seen, expires_at;
};
int store_session_create(struct store *s, const char *token_hash, const char *kind, int64_t subject,
			 int64_t now, int64_t expires_at, struct ts_error *err) __attribute__((warn_unused_result));
/* Looks a session up; TS_ENOTFOUND when unknown or expired (absolute, or idle
 * longer than idle_us). Notes the use at most once a minute; the notes reach
 * the database in store_sessions_flush (a read never waits for a write). */
int store_session_get(struct store *s, const char *token_hash, int64_t now, int64_t idle_us,
		      struct store_session *out, struct ts_error *err) __attribute__((warn_unused_result));
/* Writes the noted uses of sessions (last_seen) in one transaction. */
int store_sessions_flush(struct store *s, struct ts_error *err);
int store_session_delete(struct store *s, const char *token_hash, struct ts_error *err)
	__attribute__((warn_unused_result));

/* ---- applications ---- */
struct store_app {
	int64_t id;
	char program[48], category[48];
	int64_t rank;
	int64_t applicant;
	char status[32];
	char union_code[64];
	char receipt[CRYPT_HEX_BYTES];
	int64_t submitted_at, updated_at;
	int64_t running_at_or_ahead; /* applications in the running at or ahead of this one */
	int stage;                   /* the review stage it waits at (index into the spec's stages) */
	int returns;                 /* correction notices so far */
	int64_t return_deadline;     /* while "returned": the correction deadline, else 0 */
	json_t *fields;              /* non-personal fields (owned) */
	struct ts_buf secret;        /* sealed personal fields */
};
void store_app_free(struct store_app *a);

int store_app_get(struct store *s, int64_t id, struct store_app *out, struct ts_error *err)
	__attribute__((warn_unused_result));
/* The applicant's applications, newest first. *out is a malloc'd array of n. */
int store_apps_by_applicant(struct store *s, int64_t applicant, struct store_app **out, size_t *n,
			    struct ts_error *err) __attribute__((warn_unused_result));
/* [{"at","actor","action","status","reason","detail"}] oldest first. */
int store_app_history(struct store *s, int64_t id, json_t **out, struct ts_error *err)
	__attribute__((warn_unused_result));
/* Earlier applications of the person in a series that still count (not
 * rejected, withdrawn, abandoned or cancelled), except `exclude_id`:
 * [{"group","year","level","fields"}]. */
int store_person_history(struct store *s, const char *id_bidx, const char *series, int64_t exclude_id,
			 json_t **out, struct ts_error *err) __attribute__((warn_unused_result));
/* Replaces the fields of an application whose status is editable; keeps the
 * rank. TS_ECONFLICT "locked" when not editable, "duplicate" when the new ID
 * number is already used in the group. */
int store_app_update(struct store *s, int64_t id, int64_t applicant, const char *fields_json,
		     const void *secret, size_t secret_len, const char *id_bidx, const char *union_code,
		     const char *actor, int64_t now, struct ts_error *err) __attribute__((warn_unused_result));
/* Moves an application to a new status with an event; `from` lists the
 * statuses it may leave (NULL-terminated); TS_ECONFLICT otherwise. */
int store_app_transition(struct store *s, int64_t id, const char *const *from, const char *to,
			 const char *actor, const char *action, const char *reason, const char *detail_json,
			 int64_t now, struct ts_error *err) __attribute__((warn_unused_result));

/* ---- the writer ---- */
struct submit_job {
	/* in */
	const char *program, *category, *group, *series, *level;
	int year;
	int64_t places, cap; /* the category's places (ranks given) and paid cap */
	int64_t applicant;
	const char *id_bidx, *ledger_id, *union_code; /* one per applicant (phone) and per id_bidx in a group */
	const char *fields_json;
	const void *secret;
	size_t secret_len;
	/* out, valid in done() */
	int rc;
	struct ts_error err; /* code "quota_full", "duplicate", "unavailable" */
	int64_t id, rank, submitted_at;
	/* Applications still running with this rank or ahead: exact when rank >
	 * cap; when rank <= cap it is only known to be <= rank (so <= cap: the
	 * place is within the paid cap), and the writer does not count it. */
	int64_t running_at_or_ahead;
	int64_t existing_id; /* on "duplicate" by the same phone: that application */
	char receipt[CRYPT_HEX_BYTES];
	/* completion: runs after the commit is durable, or after a failure, on
	 * the writer thread, or on the syncer thread for a backend that makes
	 * its commits durable apart (store_ops.sync_commits) */
	void (*done)(struct submit_job *job, void *arg);
	void *arg;
	struct submit_job *next; /* queue link, owned by the store */
};
/* Starts the writer thread. */
int store_writer_start(struct store *s, struct ts_error *err) __attribute__((warn_unused_result));
/* Lets the writer finish every queued job (each done() is called), then
 * stops it. Submissions after this are not accepted. */
void store_writer_drain(struct store *s);
/* Queues a job; arrival order is the order of these calls. Never blocks on I/O. */
void store_submit(struct store *s, struct submit_job *job);

struct store_writer_stats {
	uint64_t batches, jobs, commit_us_total, commit_failures;
	uint64_t syncs, sync_us_total, sync_failures; /* backends that sync apart (SQLite) */
	uint64_t batch_hist[8]; /* sizes ≤1, ≤4, ≤16, ≤64, ≤256, ≤1024, ≤4096, more */
	uint64_t queue_depth;
};
void store_writer_stats(struct store *s, struct store_writer_stats *out);
/* Jobs waiting for the writer now (no lock taken). */
size_t store_writer_depth(struct store *s);

/* ---- ledger ---- */
/* Calls fn for each ledger entry in sequence order; stops early when fn
 * returns non-zero and returns that value. */
struct ledger_entry;
typedef int (*store_ledger_fn)(void *ctx, const struct ledger_entry *e);
int store_ledger_each(struct store *s, store_ledger_fn fn, void *ctx, struct ts_error *err)
	__attribute__((warn_unused_result));
/* Walks the ledger in sequence order through verifier v (domain/ledger.h,
 * initialised by the caller). Returns 0 when the chain holds, 1 when it
 * breaks (chain_err says where), or the store's failure (err). */
struct ledger_verifier;
int store_ledger_verify(struct store *s, struct ledger_verifier *v, struct ts_error *chain_err,
			struct ts_error *err) __attribute__((warn_unused_result));
/* Calls fn for each ledger entry in sequence order with the application
 * holding its place (same program, category, rank; NULL when none), in one
 * query; stops early when fn returns non-zero and returns that value. */
struct ledger_app;
typedef int (*store_ledger_app_fn)(void *ctx, const struct ledger_entry *e, const struct ledger_app *a);
int store_ledger_apps(struct store *s, store_ledger_app_fn fn, void *ctx, struct ts_error *err)
	__attribute__((warn_unused_result));
/* Applications whose (program, category, rank, receipt) has no matching
 * ledger entry, and the counters' totals: for cross-checks. */
int store_ledger_crosscheck(struct store *s, int64_t *orphans, json_t **taken, struct ts_error *err)
	__attribute__((warn_unused_result));

/* ---- staff ---- */
int store_staff_add(struct store *s, const char *username, const char *pw_hash, const char *org,
		    const char *role, int64_t now, struct ts_error *err) __attribute__((warn_unused_result));

/* Looks a staff member up by username (or by id when username is NULL);
 * TS_ENOTFOUND if none. Free with store_staff_free. */
struct store_staff {
	int64_t id;
	char username[72];
	char pw_hash[256];
	char org[64];
	char role[16];
	struct ts_buf totp_sealed; /* the sealed TOTP secret, empty if never set up */
	bool totp_enabled;
	int failed;
	int64_t locked_until;
};
int store_staff_get(struct store *s, const char *username, int64_t id, struct store_staff *out,
		    struct ts_error *err) __attribute__((warn_unused_result));
void store_staff_free(struct store_staff *st);
/* Records a login attempt: a success clears the failures; a failure counts
 * one and locks the account for lock_us after max_failures in a row. */
int store_staff_login_result(struct store *s, int64_t id, bool ok, int64_t now, int max_failures, int64_t lock_us,
			     struct ts_error *err) __attribute__((warn_unused_result));
int store_staff_set_totp(struct store *s, int64_t id, const void *sealed, size_t n, bool enabled,
			 struct ts_error *err) __attribute__((warn_unused_result));

/* ---- review ---- */
struct store_review_query {
	const char *program;   /* required */
	const char *status;    /* NULL: any */
	const char *category;  /* NULL: any */
	const json_t *unions;  /* array of union codes to keep, NULL: all */
	int stage;             /* -1: any */
	bool running_only;     /* only applications still in the running */
	int64_t rank_min, rank_max; /* 0: unbounded */
	int64_t limit, offset; /* limit 0: all */
};
/* Called for each application in rank order; a non-zero return stops the walk. */
typedef int (*store_app_fn)(void *ctx, const struct store_app *a);
/* Walks the matching applications (category, rank order) and sets *total to
 * the number matching without limit/offset. */
int store_review_list(struct store *s, const struct store_review_query *q, store_app_fn fn, void *ctx,
		      int64_t *total, struct ts_error *err) __attribute__((warn_unused_result));

/* One review transition of one application. */
struct store_step {
	int64_t id;
	int expect_stage;                 /* -1: any */
	const char *const *expect_status; /* NULL-terminated list of statuses it may leave */
	const char *to_status;
	int to_stage;                     /* -1: unchanged */
	int64_t return_deadline;          /* > 0: set (a correction notice); 0: clear */
	int return_limit;                 /* > 0: refuse when returns already reached it */
	const char *actor, *action, *reason, *detail_json;
	int64_t now;
	/* the program's spec, for the Chinese name of the status in a
	 * wrong_stage message (stage pass statuses); may be NULL */
	const struct program_spec *spec;
};
/* Applies the steps in one transaction; each may fail alone (rcs[i], errs[i]:
 * TS_ENOTFOUND, or TS_ECONFLICT "wrong_stage" / "return_used") without
 * undoing the others. Returns non-zero only when the transaction failed,
 * and then nothing was changed. */
int store_app_steps(struct store *s, const struct store_step *steps, size_t n, int *rcs, struct ts_error *errs,
		    struct ts_error *err) __attribute__((warn_unused_result));
/* Adds a history event without changing the status. */
int store_app_note(struct store *s, int64_t id, int64_t now, const char *actor, const char *action,
		   const char *reason, const char *detail, struct ts_error *err) __attribute__((warn_unused_result));
/* The id of the application in the running at 1-based `position` of a
 * category (by rank), or 0 when fewer are in the running. */
int store_running_at(struct store *s, const char *program, const char *category, int64_t position, int64_t *id,
		     struct ts_error *err) __attribute__((warn_unused_result));
/* Abandons every "returned" application whose deadline has passed; *out is
 * [{"id","program","category","applicant"}] of those changed. */
int store_expire_returns(struct store *s, int64_t now, json_t **out, struct ts_error *err)
	__attribute__((warn_unused_result));

/* ---- publicity and objections ---- */
struct store_publicity {
	const char *program;
	int stage;
	const char *org, *title, *actor;
	int64_t starts_at, ends_at, now;
};
/* Creates a publicity with its entries [{"application","name","unit","category","category_name","amount_fen","id_masked"}]. */
int store_publicity_create(struct store *s, const struct store_publicity *p, const json_t *entries, int64_t *id,
			   struct ts_error *err) __attribute__((warn_unused_result));
/* {"id","program","stage","org","title","starts_at","ends_at","status","created_by","created_at",
 *  "entries":[{"seq","application","name","unit","category","category_name","amount_fen","id_masked"}]} */
int store_publicity_get(struct store *s, int64_t id, json_t **out, struct ts_error *err)
	__attribute__((warn_unused_result));
/* Publicities of a program created by any of `orgs` (NULL: all), newest first, without entries. */
int store_publicity_list(struct store *s, const char *program, const json_t *orgs, json_t **out,
			 struct ts_error *err) __attribute__((warn_unused_result));
/* Closes an open publicity: every listed application still in the running
 * at the publicity's stage moves to to_status / to_stage; *advanced lists
 * their ids. TS_ECONFLICT if already closed. */
int store_publicity_close(struct store *s, int64_t id, const char *to_status, int to_stage, const char *actor,
			  int64_t now, json_t **advanced, struct ts_error *err) __attribute__((warn_unused_result));

struct store_objection {
	int64_t publicity, application;
	const char *name, *phone_bidx, *text;
	const void *phone_sealed;
	size_t phone_sealed_len;
	int64_t now;
};
int store_objection_add(struct store *s, const struct store_objection *o, int64_t *id, struct ts_error *err)
	__attribute__((warn_unused_result));
/* {"id","publicity","application","name","text","created_at","status","finding","note","decided_by","decided_at"} */
int store_objection_get(struct store *s, int64_t id, json_t **out, struct ts_error *err)
	__attribute__((warn_unused_result));
/* Records the investigation; TS_ECONFLICT "decided" if it already has one. */
int store_objection_decide(struct store *s, int64_t id, const char *finding, const char *note, const char *actor,
			   int64_t now, struct ts_error *err) __attribute__((warn_unused_result));

/* ---- audit log (hash-chained, append-only) ---- */
struct store_audit {
	int64_t at;
	const char *actor, *role, *org, *ip, *action, *target, *reason, *detail_json;
};
int store_audit_append(struct store *s, const struct store_audit *a, struct ts_error *err)
	__attribute__((warn_unused_result));
/* Newest first, entries with seq < before (0: from the newest), at most limit:
 * [{"seq","at","actor","role","org","ip","action","target","reason","detail","hash"}]. */
int store_audit_list(struct store *s, int64_t before, int limit, json_t **out, struct ts_error *err)
	__attribute__((warn_unused_result));

/* ---- copying a whole store (tisheng store copy) ---- */
/* The tables in copy order (parents first), each with its columns; NULL-terminated. */
struct store_table {
	const char *name;
	const char *const *columns;
	const char *serial; /* the column whose sequence must follow the copy, or NULL */
};
extern const struct store_table store_tables[];
/* Calls fn for each row of a table, as a JSON array of values in column
 * order: integers, strings, null, or {"$b": base64} for binary. */
typedef int (*store_row_fn)(void *ctx, json_t *row);
int store_table_each(struct store *s, const struct store_table *t, store_row_fn fn, void *ctx, struct ts_error *err)
	__attribute__((warn_unused_result));
/* Inserts rows (as produced by store_table_each) in one transaction. */
int store_table_insert(struct store *s, const struct store_table *t, const json_t *rows, struct ts_error *err)
	__attribute__((warn_unused_result));
/* After a copy: moves id sequences past the copied ids (no-op where not needed). */
int store_table_finish(struct store *s, const struct store_table *t, struct ts_error *err)
	__attribute__((warn_unused_result));
/* True when the store has no applications, ledger, programs nor orgs. */
int store_is_empty(struct store *s, bool *empty, struct ts_error *err) __attribute__((warn_unused_result));

/* ---- drafts ---- */
int store_draft_put(struct store *s, int64_t applicant, const char *program, const char *json, int64_t now,
		    struct ts_error *err) __attribute__((warn_unused_result));
/* *out is the stored JSON text (malloc'd) and *updated_at its time; TS_ENOTFOUND if none. */
int store_draft_get(struct store *s, int64_t applicant, const char *program, char **out,
		    int64_t *updated_at, struct ts_error *err) __attribute__((warn_unused_result));
int store_draft_delete(struct store *s, int64_t applicant, const char *program, struct ts_error *err)
	__attribute__((warn_unused_result));

/* ---- integrity ---- */
/* SQLite: PRAGMA integrity_check; other backends: a liveness query. */
int store_check(struct store *s, struct ts_error *err) __attribute__((warn_unused_result));

#endif
