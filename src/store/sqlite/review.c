/* store/sqlite/review.c — staff, review steps, publicity, objections and the
 * audit log on SQLite. */
#include "core/mem.h"
#include "crypt/crypt.h"
#include "domain/ledger.h"
#include "domain/review.h"
#include "domain/rules.h"
#include "store/sqlite/sq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- staff ---- */

int sqr_staff_get(struct store *s, const char *username, int64_t id, struct store_staff *out, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	const char *cols = "SELECT id,username,pw_hash,org,role,totp_secret,totp_enabled,failed,locked_until FROM staff";
	char sql[256];
	snprintf(sql, sizeof(sql), "%s WHERE %s", cols, username ? "username=?" : "id=?");
	rc = username ? sq_prep(db, &st, err, sql, "t", username) : sq_prep(db, &st, err, sql, "i", id);
	if (!rc) {
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW) {
			memset(out, 0, sizeof(*out));
			out->id = sqlite3_column_int64(st, 0);
			snprintf(out->username, sizeof(out->username), "%s", sq_text(st, 1));
			snprintf(out->pw_hash, sizeof(out->pw_hash), "%s", sq_text(st, 2));
			snprintf(out->org, sizeof(out->org), "%s", sq_text(st, 3));
			snprintf(out->role, sizeof(out->role), "%s", sq_text(st, 4));
			ts_buf_init(&out->totp_sealed, 0);
			if (ts_buf_append(&out->totp_sealed, sqlite3_column_blob(st, 5),
					  (size_t)sqlite3_column_bytes(st, 5)))
				ts_buf_reset(&out->totp_sealed);
			out->totp_enabled = sqlite3_column_int(st, 6) != 0;
			out->failed = sqlite3_column_int(st, 7);
			out->locked_until = sqlite3_column_int64(st, 8);
		} else if (r == SQLITE_DONE) {
			rc = ts_error_set(err, TS_ENOTFOUND, "not_found", "找不到该工作人员");
		} else {
			rc = sq_fail(db, r, err);
		}
		sq_done(st);
	}
	sq_release(q, db);
	return rc;
}

int sqr_staff_login_result(struct store *s, int64_t id, bool ok, int64_t now, int max_failures, int64_t lock_us,
			   struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	if (ok)
		rc = sq_exec(db, err, "UPDATE staff SET failed=0, locked_until=0 WHERE id=?", "i", id);
	else
		rc = sq_exec(db, err,
			     "UPDATE staff SET failed=failed+1,"
			     " locked_until=CASE WHEN failed+1>=?2 THEN ?3 ELSE locked_until END,"
			     " failed=CASE WHEN failed+1>=?2 THEN 0 ELSE failed+1 END WHERE id=?1",
			     "iii", id, (int64_t)max_failures, now + lock_us);
	sq_release(q, db);
	return rc;
}

int sqr_staff_set_totp(struct store *s, int64_t id, const void *sealed, size_t n, bool enabled, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	rc = sq_exec(db, err, "UPDATE staff SET totp_secret=?, totp_enabled=? WHERE id=?", "bii", sealed, n,
		     (int64_t)enabled, id);
	sq_release(q, db);
	return rc;
}

/* ---- listing ---- */

int sqr_review_list(struct store *s, const struct store_review_query *qr, store_app_fn fn, void *ctx, int64_t *total,
		    struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	char *unions = qr->unions ? json_dumps(qr->unions, JSON_COMPACT) : NULL;
	const char *where =
		" WHERE a.program=?1 AND (?2 IS NULL OR a.status=?2) AND (?3 IS NULL OR a.category=?3)"
		" AND (?4 IS NULL OR a.union_code IN (SELECT value FROM json_each(?4)))"
		" AND (?5 < 0 OR a.stage=?5) AND (?6 = 0 OR a.active=1) AND (?7 = 0 OR a.rank>=?7)"
		" AND (?8 = 0 OR a.rank<=?8)";
	char sql[2048];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM applications a%s", where);
	rc = sq_prep(db, &st, err, sql, "ttttiiii", qr->program, qr->status, qr->category, unions,
		     (int64_t)qr->stage, (int64_t)qr->running_only, qr->rank_min, qr->rank_max);
	if (rc)
		goto out;
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		*total = sqlite3_column_int64(st, 0);
	sq_done(st);
	st = NULL;
	if (r != SQLITE_ROW) {
		rc = sq_fail(db, r, err);
		goto out;
	}
	snprintf(sql, sizeof(sql),
		 SQ_AHEAD_CTE "SELECT " SQ_APP_COLS_WITH("r.ahead") " FROM applications a JOIN r ON r.id=a.id%s"
			      " ORDER BY a.category, a.rank LIMIT ?9 OFFSET ?10",
		 where);
	rc = sq_prep(db, &st, err, sql, "ttttiiiiii", qr->program, qr->status, qr->category, unions, (int64_t)qr->stage,
		     (int64_t)qr->running_only, qr->rank_min, qr->rank_max, qr->limit > 0 ? qr->limit : (int64_t)-1,
		     qr->offset);
	if (rc)
		goto out;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_app a;
		sq_read_app(st, &a);
		int stop = fn(ctx, &a);
		store_app_free(&a);
		if (stop)
			break;
	}
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		rc = sq_fail(db, r, err);
	sq_done(st);
out:
	free(unions);
	sq_release(q, db);
	return rc;
}

/* ---- steps ---- */

static int one_step(sqlite3 *db, const struct store_step *sp, struct ts_error *e)
{
	sqlite3_stmt *st = NULL;
	int rc = sq_prep(db, &st, e, "SELECT status, stage, returns FROM applications WHERE id=?", "i", sp->id);
	if (rc)
		return rc;
	int r = sqlite3_step(st);
	char status[32] = "";
	int stage = 0, returns = 0;
	if (r == SQLITE_ROW) {
		snprintf(status, sizeof(status), "%s", sq_text(st, 0));
		stage = sqlite3_column_int(st, 1);
		returns = sqlite3_column_int(st, 2);
	}
	sq_done(st);
	if (r == SQLITE_DONE)
		return ts_error_set(e, TS_ENOTFOUND, "not_found", "找不到该申报");
	if (r != SQLITE_ROW)
		return sq_fail(db, r, e);
	bool ok = sp->expect_stage < 0 || sp->expect_stage == stage;
	bool status_ok = false;
	for (const char *const *x = sp->expect_status; x && *x; x++)
		status_ok |= strcmp(*x, status) == 0;
	if (!ok || !status_ok) {
		char label[160];
		return ts_error_set(e, TS_ECONFLICT, "wrong_stage", "该申报当前不在此环节（状态：%s）",
				    review_status_label(sp->spec, status, label, sizeof(label)));
	}
	if (sp->return_limit > 0 && returns >= sp->return_limit)
		return ts_error_set(e, TS_ECONFLICT, "return_used", "该申报已退回补正过一次，不能再次退回");
	int new_stage = sp->to_stage >= 0 ? sp->to_stage : stage;
	rc = sq_exec(db, e,
		     "UPDATE applications SET status=?, stage=?, active=?, returns=returns+?,"
		     " return_deadline=?, updated_at=? WHERE id=?",
		     "tiiinii", sp->to_status, (int64_t)new_stage, (int64_t)status_in_running(sp->to_status),
		     (int64_t)(sp->return_deadline > 0), sp->return_deadline, sp->now, sp->id);
	if (!rc)
		rc = sq_add_event(db, sp->id, sp->now, sp->actor, sp->action, sp->to_status, sp->reason, sp->detail_json,
				  e);
	return rc;
}

int sqr_app_steps(struct store *s, const struct store_step *steps, size_t n, int *rcs, struct ts_error *errs,
		  struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	if ((rc = sq_begin(db, err)))
		goto out;
	for (size_t i = 0; i < n; i++) {
		ts_error_clear(&errs[i]);
		rcs[i] = one_step(db, &steps[i], &errs[i]);
		if (rcs[i] && rcs[i] != TS_ECONFLICT && rcs[i] != TS_ENOTFOUND) {
			*err = errs[i];
			rc = rcs[i];
			sq_rollback(db);
			goto out;
		}
	}
	rc = sq_commit(db, err);
out:
	sq_release(q, db);
	return rc;
}

int sqr_app_note(struct store *s, int64_t id, int64_t now, const char *actor, const char *action, const char *reason,
		 const char *detail, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	rc = sq_exec(db, err,
		     "INSERT INTO application_events(application,at,actor,action,status,reason,detail)"
		     " SELECT id,?,?,?,status,?,? FROM applications WHERE id=?",
		     "itttti", now, actor, action, reason, detail, id);
	sq_release(q, db);
	return rc;
}

int sqr_running_at(struct store *s, const char *program, const char *category, int64_t position, int64_t *id,
		   struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	*id = 0;
	if (!(rc = sq_prep(db, &st, err,
			   "SELECT id FROM applications WHERE program=? AND category=? AND active=1"
			   " ORDER BY rank LIMIT 1 OFFSET ?",
			   "tti", program, category, position - 1))) {
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW)
			*id = sqlite3_column_int64(st, 0);
		else if (r != SQLITE_DONE)
			rc = sq_fail(db, r, err);
		sq_done(st);
	}
	sq_release(q, db);
	return rc;
}

int sqr_expire_returns(struct store *s, int64_t now, json_t **out, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	json_t *arr = json_array();
	if ((rc = sq_begin(db, err)))
		goto out;
	rc = sq_prep(db, &st, err,
		     "SELECT id, program, category, applicant FROM applications WHERE status='returned'"
		     " AND return_deadline IS NOT NULL AND return_deadline<?",
		     "i", now);
	if (rc)
		goto out_rollback;
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr, json_pack("{s:I,s:s,s:s,s:I}", "id", (json_int_t)sqlite3_column_int64(st, 0),
						     "program", sq_text(st, 1), "category", sq_text(st, 2), "applicant",
						     (json_int_t)sqlite3_column_int64(st, 3)));
	sq_done(st);
	if (r != SQLITE_DONE) {
		rc = sq_fail(db, r, err);
		goto out_rollback;
	}
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e)
	{
		int64_t id = json_integer_value(json_object_get(e, "id"));
		rc = sq_exec(db, err,
			     "UPDATE applications SET status='abandoned', active=0, return_deadline=NULL, updated_at=?"
			     " WHERE id=?",
			     "ii", now, id);
		if (!rc)
			rc = sq_add_event(db, id, now, "system", "abandon", "abandoned", "逾期未补正，视为放弃申报", NULL, err);
		if (rc)
			goto out_rollback;
	}
	rc = sq_commit(db, err);
	goto out;
out_rollback:
	sq_rollback(db);
out:
	sq_release(q, db);
	if (rc)
		json_decref(arr);
	else
		*out = arr;
	return rc;
}

/* ---- publicity ---- */

int sqr_publicity_create(struct store *s, const struct store_publicity *p, const json_t *entries, int64_t *id,
			 struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	if ((rc = sq_begin(db, err)))
		goto out;
	rc = sq_exec(db, err,
		     "INSERT INTO publicity(program,stage,org,title,starts_at,ends_at,status,created_by,created_at)"
		     " VALUES(?,?,?,?,?,?,'open',?,?)",
		     "tittiiti", p->program, (int64_t)p->stage, p->org, p->title, p->starts_at, p->ends_at, p->actor,
		     p->now);
	if (rc)
		goto out_rollback;
	*id = sqlite3_last_insert_rowid(db);
	size_t i;
	json_t *e;
	json_array_foreach((json_t *)entries, i, e)
	{
		rc = sq_exec(db, err,
			     "INSERT INTO publicity_entries(publicity,application,seq,name,unit,category,category_name,"
			     "amount_fen,id_masked,quota) VALUES(?,?,?,?,?,?,?,?,?,?)",
			     "iiitttt" "itt", *id, (int64_t)json_integer_value(json_object_get(e, "application")),
			     (int64_t)(i + 1), json_string_value(json_object_get(e, "name")),
			     json_string_value(json_object_get(e, "unit")), json_string_value(json_object_get(e, "category")),
			     json_string_value(json_object_get(e, "category_name")),
			     (int64_t)json_integer_value(json_object_get(e, "amount_fen")),
			     json_string_value(json_object_get(e, "id_masked")), store_entry_quota(e));
		if (!rc)
			rc = sq_exec(db, err,
				     "INSERT INTO application_events(application,at,actor,action,status,reason)"
				     " SELECT id,?,?,'publicity',status,? FROM applications WHERE id=?",
				     "itti", p->now, p->actor, p->title,
				     (int64_t)json_integer_value(json_object_get(e, "application")));
		if (rc)
			goto out_rollback;
	}
	rc = sq_commit(db, err);
	goto out;
out_rollback:
	sq_rollback(db);
out:
	sq_release(q, db);
	return rc;
}

static json_t *publicity_row(sqlite3_stmt *st)
{
	json_t *o = json_pack("{s:I,s:s,s:i,s:s,s:s,s:I,s:I,s:s,s:s,s:I}", "id", (json_int_t)sqlite3_column_int64(st, 0),
			      "program", sq_text(st, 1), "stage", sqlite3_column_int(st, 2), "org", sq_text(st, 3),
			      "title", sq_text(st, 4), "starts_at", (json_int_t)sqlite3_column_int64(st, 5), "ends_at",
			      (json_int_t)sqlite3_column_int64(st, 6), "status", sq_text(st, 7), "created_by",
			      sq_text(st, 8), "created_at", (json_int_t)sqlite3_column_int64(st, 9));
	json_object_set_new(o, "entries_count", json_integer(sqlite3_column_int64(st, 10)));
	json_object_set_new(o, "objections_count", json_integer(sqlite3_column_int64(st, 11)));
	return o;
}

#define PUB_COLS                                                                                          \
	"p.id,p.program,p.stage,p.org,p.title,p.starts_at,p.ends_at,p.status,p.created_by,p.created_at,"  \
	"(SELECT count(*) FROM publicity_entries e WHERE e.publicity=p.id),"                             \
	"(SELECT count(*) FROM objections o WHERE o.publicity=p.id)"

int sqr_publicity_get(struct store *s, int64_t id, json_t **out, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	json_t *o = NULL;
	if ((rc = sq_prep(db, &st, err, "SELECT " PUB_COLS " FROM publicity p WHERE p.id=?", "i", id)))
		goto out;
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		o = publicity_row(st);
	sq_done(st);
	if (r != SQLITE_ROW) {
		rc = r == SQLITE_DONE ? ts_error_set(err, TS_ENOTFOUND, "not_found", "找不到该公示") : sq_fail(db, r, err);
		goto out;
	}
	if ((rc = sq_prep(db, &st, err,
			  "SELECT seq,application,name,unit,category,category_name,amount_fen,id_masked,quota"
			  " FROM publicity_entries WHERE publicity=? ORDER BY seq",
			  "i", id)))
		goto out;
	json_t *entries = json_array();
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(entries,
				      json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:I,s:s,s:s}", "seq",
						(json_int_t)sqlite3_column_int64(st, 0), "application",
						(json_int_t)sqlite3_column_int64(st, 1), "name", sq_text(st, 2), "unit",
						sq_text(st, 3), "category", sq_text(st, 4), "category_name", sq_text(st, 5),
						"amount_fen", (json_int_t)sqlite3_column_int64(st, 6), "id_masked",
						sq_text(st, 7), "quota", sq_text(st, 8)));
	sq_done(st);
	json_object_set_new(o, "entries", entries);
	if (r != SQLITE_DONE) {
		rc = sq_fail(db, r, err);
		goto out;
	}
	if ((rc = sq_prep(db, &st, err,
			  "SELECT id,application,name,text,created_at,status,coalesce(note,''),coalesce(decided_by,''),"
			  "coalesce(decided_at,0) FROM objections WHERE publicity=? ORDER BY id",
			  "i", id)))
		goto out;
	json_t *objs = json_array();
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(
			objs, json_pack("{s:I,s:I,s:s,s:s,s:I,s:s,s:s,s:s,s:I}", "id", (json_int_t)sqlite3_column_int64(st, 0),
					"application", (json_int_t)sqlite3_column_int64(st, 1), "name", sq_text(st, 2),
					"text", sq_text(st, 3), "created_at", (json_int_t)sqlite3_column_int64(st, 4),
					"status", sq_text(st, 5), "note", sq_text(st, 6), "decided_by", sq_text(st, 7),
					"decided_at", (json_int_t)sqlite3_column_int64(st, 8)));
	sq_done(st);
	json_object_set_new(o, "objections", objs);
	if (r != SQLITE_DONE)
		rc = sq_fail(db, r, err);
out:
	sq_release(q, db);
	if (rc)
		json_decref(o);
	else
		*out = o;
	return rc;
}

int sqr_publicity_list(struct store *s, const char *program, const json_t *orgs, json_t **out, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	char *o = orgs ? json_dumps(orgs, JSON_COMPACT) : NULL;
	json_t *arr = json_array();
	rc = sq_prep(db, &st, err,
		     "SELECT " PUB_COLS " FROM publicity p WHERE (?1 IS NULL OR p.program=?1)"
		     " AND (?2 IS NULL OR p.org IN (SELECT value FROM json_each(?2))) ORDER BY p.id DESC",
		     "tt", program, o);
	if (!rc) {
		int r;
		while ((r = sqlite3_step(st)) == SQLITE_ROW)
			json_array_append_new(arr, publicity_row(st));
		if (r != SQLITE_DONE)
			rc = sq_fail(db, r, err);
		sq_done(st);
	}
	free(o);
	sq_release(q, db);
	if (rc)
		json_decref(arr);
	else
		*out = arr;
	return rc;
}

int sqr_publicity_close(struct store *s, int64_t id, const char *to_status, int to_stage, const char *actor,
			int64_t now, json_t **advanced, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	json_t *ids = json_array();
	if ((rc = sq_begin(db, err)))
		goto out;
	if ((rc = sq_prep(db, &st, err, "SELECT status, stage, title FROM publicity WHERE id=?", "i", id)))
		goto out_rollback;
	int r = sqlite3_step(st);
	char status[16] = "", title[256] = "";
	int stage = 0;
	if (r == SQLITE_ROW) {
		snprintf(status, sizeof(status), "%s", sq_text(st, 0));
		stage = sqlite3_column_int(st, 1);
		snprintf(title, sizeof(title), "%s", sq_text(st, 2));
	}
	sq_done(st);
	if (r != SQLITE_ROW) {
		rc = r == SQLITE_DONE ? ts_error_set(err, TS_ENOTFOUND, "not_found", "找不到该公示") : sq_fail(db, r, err);
		goto out_rollback;
	}
	if (strcmp(status, "open") != 0) {
		rc = ts_error_set(err, TS_ECONFLICT, "closed", "该公示已结束");
		goto out_rollback;
	}
	rc = sq_prep(db, &st, err,
		     "SELECT a.id FROM publicity_entries e JOIN applications a ON a.id=e.application"
		     " WHERE e.publicity=? AND a.active=1 AND a.stage=? AND a.status<>'returned' ORDER BY e.seq",
		     "ii", id, (int64_t)stage);
	if (rc)
		goto out_rollback;
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(ids, json_integer(sqlite3_column_int64(st, 0)));
	sq_done(st);
	if (r != SQLITE_DONE) {
		rc = sq_fail(db, r, err);
		goto out_rollback;
	}
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v)
	{
		int64_t app = json_integer_value(v);
		rc = sq_exec(db, err, "UPDATE applications SET status=?, stage=?, updated_at=? WHERE id=?", "tiii",
			     to_status, (int64_t)to_stage, now, app);
		if (!rc)
			rc = sq_add_event(db, app, now, actor, "publicity_passed", to_status, "公示期满无异议", NULL, err);
		if (rc)
			goto out_rollback;
	}
	rc = sq_exec(db, err, "UPDATE publicity SET status='closed', closed_by=?, closed_at=? WHERE id=?", "tii", actor,
		     now, id);
	if (rc)
		goto out_rollback;
	rc = sq_commit(db, err);
	goto out;
out_rollback:
	sq_rollback(db);
out:
	sq_release(q, db);
	if (rc)
		json_decref(ids);
	else
		*advanced = ids;
	return rc;
}

/* ---- objections ---- */

int sqr_objection_add(struct store *s, const struct store_objection *o, int64_t *id, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	rc = sq_exec(db, err,
		     "INSERT INTO objections(publicity,application,name,phone_bidx,phone_enc,text,created_at)"
		     " VALUES(?,?,?,?,?,?,?)",
		     "iitkbti", o->publicity, o->application, o->name, o->phone_bidx, o->phone_sealed,
		     o->phone_sealed_len, o->text, o->now);
	if (!rc)
		*id = sqlite3_last_insert_rowid(db);
	sq_release(q, db);
	return rc;
}

int sqr_objection_get(struct store *s, int64_t id, json_t **out, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	if (!(rc = sq_prep(db, &st, err,
			   "SELECT id,publicity,application,name,text,created_at,status,coalesce(note,''),"
			   "coalesce(decided_by,''),coalesce(decided_at,0) FROM objections WHERE id=?",
			   "i", id))) {
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW)
			*out = json_pack("{s:I,s:I,s:I,s:s,s:s,s:I,s:s,s:s,s:s,s:I}", "id",
					 (json_int_t)sqlite3_column_int64(st, 0), "publicity",
					 (json_int_t)sqlite3_column_int64(st, 1), "application",
					 (json_int_t)sqlite3_column_int64(st, 2), "name", sq_text(st, 3), "text",
					 sq_text(st, 4), "created_at", (json_int_t)sqlite3_column_int64(st, 5), "status",
					 sq_text(st, 6), "note", sq_text(st, 7), "decided_by", sq_text(st, 8),
					 "decided_at", (json_int_t)sqlite3_column_int64(st, 9));
		else if (r == SQLITE_DONE)
			rc = ts_error_set(err, TS_ENOTFOUND, "not_found", "找不到该异议");
		else
			rc = sq_fail(db, r, err);
		sq_done(st);
	}
	sq_release(q, db);
	return rc;
}

int sqr_objection_decide(struct store *s, int64_t id, const char *finding, const char *note, const char *actor,
			 int64_t now, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	rc = sq_exec(db, err,
		     "UPDATE objections SET status=?, note=?, decided_by=?, decided_at=? WHERE id=? AND status='pending'",
		     "tttii", finding, note, actor, now, id);
	if (!rc && sqlite3_changes(db) == 0)
		rc = ts_error_set(err, TS_ECONFLICT, "decided", "该异议已有调查结论");
	sq_release(q, db);
	return rc;
}

/* ---- audit ---- */

int sqr_audit_append(struct store *s, const struct store_audit *a, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	if ((rc = sq_begin(db, err)))
		goto out;
	char prev[CRYPT_HEX_BYTES] = LEDGER_GENESIS;
	if ((rc = sq_prep(db, &st, err, "SELECT hash FROM audit ORDER BY seq DESC LIMIT 1", "")))
		goto out_rollback;
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(prev, sizeof(prev), "%s", sq_text(st, 0));
	sq_done(st);
	struct ts_buf line;
	ts_buf_init(&line, 0);
	char hash[CRYPT_HEX_BYTES];
	if (ts_buf_printf(&line, "%s|%lld|%s|%s|%s|%s|%s|%s|%s|%s", prev, (long long)a->at, a->actor,
			  a->role ? a->role : "", a->org ? a->org : "", a->ip ? a->ip : "", a->action,
			  a->target ? a->target : "", a->reason ? a->reason : "", a->detail_json ? a->detail_json : "")) {
		ts_buf_free(&line);
		rc = ts_error_set(err, TS_ETOOBIG, "too_large", "审计记录过大");
		goto out_rollback;
	}
	crypt_sha256_hex(line.ptr, line.len, hash);
	ts_buf_free(&line);
	rc = sq_exec(db, err,
		     "INSERT INTO audit(at,actor,role,org,ip,action,target,reason,detail,prev,hash)"
		     " VALUES(?,?,?,?,?,?,?,?,?,?,?)",
		     "ittttttt" "ttt", a->at, a->actor, a->role, a->org, a->ip, a->action, a->target, a->reason,
		     a->detail_json, prev, hash);
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

int sqr_audit_list(struct store *s, int64_t before, int limit, json_t **out, struct ts_error *err)
{
	struct store_sqlite *q = sq_of(s);
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc = sq_acquire(q, &db, err);
	if (rc)
		return rc;
	json_t *arr = json_array();
	rc = sq_prep(db, &st, err,
		     "SELECT seq,at,actor,coalesce(role,''),coalesce(org,''),coalesce(ip,''),action,coalesce(target,''),"
		     "coalesce(reason,''),detail,hash FROM audit WHERE (?1=0 OR seq<?1) ORDER BY seq DESC LIMIT ?2",
		     "ii", before, (int64_t)limit);
	if (!rc) {
		int r;
		while ((r = sqlite3_step(st)) == SQLITE_ROW) {
			json_t *e = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "seq",
					      (json_int_t)sqlite3_column_int64(st, 0), "at",
					      (json_int_t)sqlite3_column_int64(st, 1), "actor", sq_text(st, 2), "role",
					      sq_text(st, 3), "org", sq_text(st, 4), "ip", sq_text(st, 5), "action",
					      sq_text(st, 6), "target", sq_text(st, 7), "reason", sq_text(st, 8), "hash",
					      sq_text(st, 10));
			json_t *d = sqlite3_column_type(st, 9) == SQLITE_NULL ? NULL : json_loads(sq_text(st, 9), 0, NULL);
			if (d)
				json_object_set_new(e, "detail", d);
			json_array_append_new(arr, e);
		}
		if (r != SQLITE_DONE)
			rc = sq_fail(db, r, err);
		sq_done(st);
	}
	sq_release(q, db);
	if (rc)
		json_decref(arr);
	else
		*out = arr;
	return rc;
}
