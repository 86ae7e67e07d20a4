/* store/store.c — choosing a backend and forwarding calls to it. */
#include "store/store_impl.h"
#include "core/log.h"
#include "core/time.h"
#include "domain/ledger.h"

#include <sodium.h>
#include <stdlib.h>

#include <stdio.h>
#include <string.h>

void store_default_path(const char *data_dir, char *out, size_t n)
{
	snprintf(out, n, "%s/tisheng.db", data_dir);
}

int store_open(const char *url, const char *data_dir, struct store **out, struct ts_error *err)
{
	char path[4200];
	if (!url || !*url) {
		store_default_path(data_dir, path, sizeof(path));
		return store_sqlite_open(path, out, err);
	}
	if (strncmp(url, "sqlite:", 7) == 0)
		return store_sqlite_open(url + 7, out, err);
	if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0)
		return store_pg_open(url, out, err);
	return ts_error_set(err, TS_EINVAL, "bad_store", "无法识别的 --store：%s（应为 sqlite:PATH 或 postgres://…）", url);
}

void store_close(struct store *s)
{
	if (!s)
		return;
	store_writer_stop(s);
	struct ts_error err;
	if (store_sessions_flush(s, &err))
		ts_log_warn("store.sessions_flush", "%s", err.message);
	store_touches_free(&s->touches);
	store_scache_free(&s->sessions);
	store_persons_free(&s->persons);
	s->ops->close(s);
}

int store_schema_version(struct store *s) { return s->ops->schema_version(s); }

const char *store_backend(struct store *s) { return s->ops->name; }

int store_org_put(struct store *s, const struct store_org *org, struct ts_error *err)
{
	return s->ops->org_put(s, org, err);
}

int store_orgs_list(struct store *s, json_t **out, struct ts_error *err) { return s->ops->orgs_list(s, out, err); }

int store_program_put(struct store *s, const char *id, const char *spec_json, int64_t opens_at,
		      int64_t closes_at, struct ts_error *err)
{
	return s->ops->program_put(s, id, spec_json, opens_at, closes_at, err);
}

int store_programs_list(struct store *s, json_t **out, struct ts_error *err)
{
	return s->ops->programs_list(s, out, err);
}

int store_programs_version(struct store *s, int64_t *out, struct ts_error *err)
{
	return s->ops->programs_version(s, out, err);
}

int store_quota_taken(struct store *s, json_t **out, struct ts_error *err)
{
	return s->ops->quota_taken(s, out, err);
}

int store_applicant_ensure(struct store *s, const char *phone_bidx, const void *phone_sealed,
			   size_t sealed_len, int64_t now, int64_t *id_out, struct ts_error *err)
{
	return s->ops->applicant_ensure(s, phone_bidx, phone_sealed, sealed_len, now, id_out, err);
}

int store_applicant_phone(struct store *s, int64_t applicant, struct ts_buf *out, struct ts_error *err)
{
	return s->ops->applicant_phone(s, applicant, out, err);
}

int store_code_create(struct store *s, const char *phone_bidx, const char *purpose, const char *code_hash,
		      int64_t now, const struct store_code_limits *lim, int64_t *retry_after_s,
		      struct ts_error *err)
{
	return s->ops->code_create(s, phone_bidx, purpose, code_hash, now, lim, retry_after_s, err);
}

int store_code_consume(struct store *s, const char *phone_bidx, const char *purpose, const char *code_hash,
		       int64_t now, const struct store_code_limits *lim, struct ts_error *err)
{
	return s->ops->code_consume(s, phone_bidx, purpose, code_hash, now, lim, err);
}

int store_login_applicant(struct store *s, const struct store_login *l, const struct store_code_limits *lim,
			  int64_t *applicant, struct ts_error *err)
{
	int rc = s->ops->login_applicant(s, l, lim, applicant, err);
	if (!rc) {
		struct store_session c = {.kind = "applicant", .subject = *applicant, .created_at = l->now,
					  .last_seen = l->now, .expires_at = l->expires_at};
		store_scache_put(&s->sessions, l->token_hash, &c);
	}
	return rc;
}

int store_session_create(struct store *s, const char *token_hash, const char *kind, int64_t subject,
			 int64_t now, int64_t expires_at, struct ts_error *err)
{
	int rc = s->ops->session_create(s, token_hash, kind, subject, now, expires_at, err);
	if (!rc) {
		struct store_session c = {.subject = subject, .created_at = now, .last_seen = now, .expires_at = expires_at};
		snprintf(c.kind, sizeof(c.kind), "%s", kind);
		store_scache_put(&s->sessions, token_hash, &c);
	}
	return rc;
}

/* Applies the session's pending use note and tells whether it is still valid at now. */
static bool session_live(struct store *s, const char *token_hash, struct store_session *out, int64_t now,
			 int64_t idle_us)
{
	int64_t noted = store_touch_get(&s->touches, token_hash);
	if (noted > out->last_seen)
		out->last_seen = noted;
	return now < out->expires_at && now - out->last_seen <= idle_us;
}

int store_session_get(struct store *s, const char *token_hash, int64_t now, int64_t idle_us,
		      struct store_session *out, struct ts_error *err)
{
	memset(out, 0, sizeof(*out));
	bool live = store_scache_get(&s->sessions, token_hash, out) && session_live(s, token_hash, out, now, idle_us);
	if (!live) {
		/* Not in memory, or refused from memory: the row decides (another
		 * handle on the database may have written a later use). */
		memset(out, 0, sizeof(*out));
		uint64_t gen = store_scache_gen(&s->sessions);
		int rc = s->ops->session_get(s, token_hash, out, err);
		if (rc && rc != TS_ENOTFOUND)
			return rc;
		if (rc) {
			store_scache_drop(&s->sessions, token_hash);
			return ts_error_set(err, TS_ENOTFOUND, "unauthorized", "登录已失效，请重新登录");
		}
		store_scache_put_if(&s->sessions, token_hash, out, gen);
		live = session_live(s, token_hash, out, now, idle_us);
	}
	if (!live)
		return ts_error_set(err, TS_ENOTFOUND, "unauthorized", "登录已失效，请重新登录");
	if (now - out->last_seen > 60 * TS_US_PER_SEC) {
		store_touch_put(&s->touches, token_hash, now);
		store_scache_seen(&s->sessions, token_hash, now);
	}
	return 0;
}

int store_session_delete(struct store *s, const char *token_hash, struct ts_error *err)
{
	store_touch_forget(&s->touches, token_hash);
	store_scache_drop(&s->sessions, token_hash);
	return s->ops->session_delete(s, token_hash, err);
}

void store_app_free(struct store_app *a)
{
	if (!a)
		return;
	json_decref(a->fields);
	a->fields = NULL;
	ts_buf_free(&a->secret);
}

int store_app_get(struct store *s, int64_t id, struct store_app *out, struct ts_error *err)
{
	return s->ops->app_get(s, id, out, err);
}

int store_apps_by_applicant(struct store *s, int64_t applicant, struct store_app **out, size_t *n,
			    struct ts_error *err)
{
	return s->ops->apps_by_applicant(s, applicant, out, n, err);
}

int store_app_history(struct store *s, int64_t id, json_t **out, struct ts_error *err)
{
	return s->ops->app_history(s, id, out, err);
}

int store_person_history(struct store *s, const char *id_bidx, const char *series, int64_t exclude_id,
			 json_t **out, struct ts_error *err)
{
	return s->ops->person_history(s, id_bidx, series, exclude_id, out, err);
}

int store_app_update(struct store *s, int64_t id, int64_t applicant, const char *fields_json,
		     const void *secret, size_t secret_len, const char *id_bidx, const char *union_code,
		     const char *actor, int64_t now, struct ts_error *err)
{
	return s->ops->app_update(s, id, applicant, fields_json, secret, secret_len, id_bidx, union_code,
				  actor, now, err);
}

int store_app_transition(struct store *s, int64_t id, const char *const *from, const char *to,
			 const char *actor, const char *action, const char *reason, const char *detail_json,
			 int64_t now, struct ts_error *err)
{
	return s->ops->app_transition(s, id, from, to, actor, action, reason, detail_json, now, err);
}

int store_ledger_each(struct store *s, store_ledger_fn fn, void *ctx, struct ts_error *err)
{
	return s->ops->ledger_each(s, fn, ctx, err);
}

struct verify_walk {
	struct ledger_verifier *v;
	struct ts_error *chain_err;
};

static int verify_step(void *arg, const struct ledger_entry *e)
{
	struct verify_walk *w = arg;
	return ledger_verifier_step(w->v, e, w->chain_err) ? 1 : 0;
}

int store_ledger_verify(struct store *s, struct ledger_verifier *v, struct ts_error *chain_err,
			struct ts_error *err)
{
	struct verify_walk w = {v, chain_err};
	ts_error_clear(chain_err);
	return store_ledger_each(s, verify_step, &w, err);
}

int store_ledger_apps(struct store *s, store_ledger_app_fn fn, void *ctx, struct ts_error *err)
{
	return s->ops->ledger_apps(s, fn, ctx, err);
}

int store_ledger_crosscheck(struct store *s, int64_t *orphans, json_t **taken, struct ts_error *err)
{
	return s->ops->ledger_crosscheck(s, orphans, taken, err);
}

int store_staff_add(struct store *s, const char *username, const char *pw_hash, const char *org,
		    const char *role, int64_t now, struct ts_error *err)
{
	return s->ops->staff_add(s, username, pw_hash, org, role, now, err);
}

int store_draft_put(struct store *s, int64_t applicant, const char *program, const char *json, int64_t now,
		    struct ts_error *err)
{
	return s->ops->draft_put(s, applicant, program, json, now, err);
}

int store_draft_get(struct store *s, int64_t applicant, const char *program, char **out,
		    int64_t *updated_at, struct ts_error *err)
{
	return s->ops->draft_get(s, applicant, program, out, updated_at, err);
}

int store_draft_delete(struct store *s, int64_t applicant, const char *program, struct ts_error *err)
{
	return s->ops->draft_delete(s, applicant, program, err);
}

int store_check(struct store *s, struct ts_error *err) { return s->ops->check(s, err); }

int store_staff_get(struct store *s, const char *username, int64_t id, struct store_staff *out,
		    struct ts_error *err)
{
	return s->ops->staff_get(s, username, id, out, err);
}

void store_staff_free(struct store_staff *st)
{
	if (st)
		ts_buf_free(&st->totp_sealed);
}

int store_staff_login_result(struct store *s, int64_t id, bool ok, int64_t now, int max_failures, int64_t lock_us,
			     struct ts_error *err)
{
	return s->ops->staff_login_result(s, id, ok, now, max_failures, lock_us, err);
}

int store_staff_set_totp(struct store *s, int64_t id, const void *sealed, size_t n, bool enabled,
			 struct ts_error *err)
{
	return s->ops->staff_set_totp(s, id, sealed, n, enabled, err);
}

int store_review_list(struct store *s, const struct store_review_query *q, store_app_fn fn, void *ctx,
		      int64_t *total, struct ts_error *err)
{
	return s->ops->review_list(s, q, fn, ctx, total, err);
}

int store_app_steps(struct store *s, const struct store_step *steps, size_t n, int *rcs, struct ts_error *errs,
		    struct ts_error *err)
{
	return s->ops->app_steps(s, steps, n, rcs, errs, err);
}

int store_app_note(struct store *s, int64_t id, int64_t now, const char *actor, const char *action,
		   const char *reason, const char *detail, struct ts_error *err)
{
	return s->ops->app_note(s, id, now, actor, action, reason, detail, err);
}

int store_running_at(struct store *s, const char *program, const char *category, int64_t position, int64_t *id,
		     struct ts_error *err)
{
	return s->ops->running_at(s, program, category, position, id, err);
}

int store_expire_returns(struct store *s, int64_t now, json_t **out, struct ts_error *err)
{
	return s->ops->expire_returns(s, now, out, err);
}

int store_publicity_create(struct store *s, const struct store_publicity *p, const json_t *entries, int64_t *id,
			   struct ts_error *err)
{
	return s->ops->publicity_create(s, p, entries, id, err);
}

int store_publicity_get(struct store *s, int64_t id, json_t **out, struct ts_error *err)
{
	return s->ops->publicity_get(s, id, out, err);
}

int store_publicity_list(struct store *s, const char *program, const json_t *orgs, json_t **out,
			 struct ts_error *err)
{
	return s->ops->publicity_list(s, program, orgs, out, err);
}

int store_publicity_close(struct store *s, int64_t id, const char *to_status, int to_stage, const char *actor,
			  int64_t now, json_t **advanced, struct ts_error *err)
{
	return s->ops->publicity_close(s, id, to_status, to_stage, actor, now, advanced, err);
}

int store_objection_add(struct store *s, const struct store_objection *o, int64_t *id, struct ts_error *err)
{
	return s->ops->objection_add(s, o, id, err);
}

int store_objection_get(struct store *s, int64_t id, json_t **out, struct ts_error *err)
{
	return s->ops->objection_get(s, id, out, err);
}

int store_objection_decide(struct store *s, int64_t id, const char *finding, const char *note, const char *actor,
			   int64_t now, struct ts_error *err)
{
	return s->ops->objection_decide(s, id, finding, note, actor, now, err);
}

int store_audit_append(struct store *s, const struct store_audit *a, struct ts_error *err)
{
	return s->ops->audit_append(s, a, err);
}

int store_audit_list(struct store *s, int64_t before, int limit, json_t **out, struct ts_error *err)
{
	return s->ops->audit_list(s, before, limit, out, err);
}

#define COLS(...) ((const char *const[]){__VA_ARGS__, NULL})

const struct store_table store_tables[] = {
	{"orgs", COLS("code", "name", "level", "parent", "seq"), "seq"},
	{"programs", COLS("id", "spec", "opens_at", "closes_at", "version", "updated_at"), NULL},
	{"quota_counters", COLS("program", "category", "taken"), NULL},
	{"applicants", COLS("id", "phone_bidx", "phone_enc", "created_at"), "id"},
	{"sessions", COLS("token_hash", "kind", "subject", "created_at", "last_seen", "expires_at"), NULL},
	{"applications", COLS("id", "program", "category", "rank", "grp", "series", "year", "level", "applicant",
			      "phone_bidx", "id_bidx", "union_code", "status", "active", "fields", "secret", "receipt",
			      "submitted_at", "updated_at", "stage", "returns", "return_deadline"),
	 "id"},
	{"application_events", COLS("id", "application", "at", "actor", "action", "status", "reason", "detail"), "id"},
	{"ledger", COLS("seq", "program", "category", "rank", "at", "applicant", "prev", "hash"), "seq"},
	{"staff", COLS("id", "username", "pw_hash", "org", "role", "totp_secret", "totp_enabled", "failed", "locked_until",
		       "created_at"),
	 "id"},
	{"drafts", COLS("applicant", "program", "body", "updated_at"), NULL},
	{"publicity", COLS("id", "program", "stage", "org", "title", "starts_at", "ends_at", "status", "created_by",
			   "created_at", "closed_by", "closed_at"),
	 "id"},
	{"publicity_entries", COLS("publicity", "application", "seq", "name", "unit", "category", "category_name",
				   "amount_fen", "id_masked"),
	 NULL},
	{"objections", COLS("id", "publicity", "application", "name", "phone_bidx", "phone_enc", "text", "created_at",
			    "status", "note", "decided_by", "decided_at"),
	 "id"},
	{"audit", COLS("seq", "at", "actor", "role", "org", "ip", "action", "target", "reason", "detail", "prev", "hash"),
	 "seq"},
	{NULL, NULL, NULL},
};

int store_table_each(struct store *s, const struct store_table *t, store_row_fn fn, void *ctx, struct ts_error *err)
{
	return s->ops->table_each(s, t, fn, ctx, err);
}

int store_table_insert(struct store *s, const struct store_table *t, const json_t *rows, struct ts_error *err)
{
	return s->ops->table_insert(s, t, rows, err);
}

int store_table_finish(struct store *s, const struct store_table *t, struct ts_error *err)
{
	return s->ops->table_finish ? s->ops->table_finish(s, t, err) : 0;
}

static int count_rows(void *ctx, json_t *row)
{
	(void)row;
	(*(int64_t *)ctx)++;
	return 1; /* one is enough */
}

int store_is_empty(struct store *s, bool *empty, struct ts_error *err)
{
	*empty = true;
	for (const struct store_table *t = store_tables; t->name; t++) {
		if (strcmp(t->name, "applications") && strcmp(t->name, "ledger") && strcmp(t->name, "programs") &&
		    strcmp(t->name, "orgs"))
			continue;
		int64_t n = 0;
		int rc = store_table_each(s, t, count_rows, &n, err);
		if (rc < 0)
			return rc;
		if (n)
			*empty = false;
	}
	return 0;
}

json_t *store_blob_json(const void *p, size_t n)
{
	size_t len = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
	char *b = malloc(len);
	if (!b)
		abort();
	sodium_bin2base64(b, len, p, n, sodium_base64_VARIANT_ORIGINAL);
	json_t *o = json_pack("{s:s}", "$b", b);
	free(b);
	return o;
}

bool store_blob_decode(const json_t *v, struct ts_buf *out)
{
	const char *b = json_string_value(json_object_get(v, "$b"));
	if (!json_is_object(v) || !b)
		return false;
	size_t n = strlen(b), got = 0;
	unsigned char *bin = malloc(n + 1);
	if (!bin)
		abort();
	bool ok = sodium_base642bin(bin, n + 1, b, n, NULL, &got, NULL, sodium_base64_VARIANT_ORIGINAL) == 0 &&
		  ts_buf_append(out, bin, got) == 0;
	free(bin);
	return ok;
}
