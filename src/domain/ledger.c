/* domain/ledger.c — ledger hashing and verification. */
#include "domain/ledger.h"
#include "core/buf.h"
#include "core/time.h"

#include <stdio.h>
#include <string.h>

void ledger_hash(const char *prev, const char *program, const char *category, int64_t rank,
		 int64_t at_us, const char *applicant, char out[CRYPT_HEX_BYTES])
{
	char line[512];
	int n = snprintf(line, sizeof(line), "%s|%s|%s|%lld|%lld|%s", prev, program, category,
			 (long long)rank, (long long)at_us, applicant);
	crypt_sha256_hex(line, n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1, out);
}

void ledger_verifier_init(struct ledger_verifier *v)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->last_hash, sizeof(v->last_hash), "%s", LEDGER_GENESIS);
	v->last_rank = json_object();
}

void ledger_verifier_free(struct ledger_verifier *v)
{
	json_decref(v->last_rank);
	v->last_rank = NULL;
}

static void cat_key(const char *program, const char *category, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", program, category);
}

int64_t ledger_verifier_rank(const struct ledger_verifier *v, const char *program, const char *category)
{
	char key[200];
	cat_key(program, category, key, sizeof(key));
	return json_integer_value(json_object_get(v->last_rank, key));
}

int ledger_verifier_step(struct ledger_verifier *v, const struct ledger_entry *e, struct ts_error *err)
{
	char h[CRYPT_HEX_BYTES];
	if (e->seq <= v->last_seq)
		return ts_error_set(err, TS_EINVAL, "ledger_order", "第 %lld 条：序号不递增", (long long)e->seq);
	if (strcmp(e->prev, v->last_hash) != 0)
		return ts_error_set(err, TS_EINVAL, "ledger_chain",
				    "第 %lld 条：与前一条的哈希不衔接（有记录被删除、插入或调换）", (long long)e->seq);
	ledger_hash(e->prev, e->program, e->category, e->rank, e->at_us, e->applicant, h);
	if (strcmp(h, e->hash) != 0)
		return ts_error_set(err, TS_EINVAL, "ledger_hash", "第 %lld 条：内容与哈希不符（记录被改动）",
				    (long long)e->seq);
	if (e->at_us < v->last_at)
		return ts_error_set(err, TS_EINVAL, "ledger_time", "第 %lld 条：时间早于前一条", (long long)e->seq);
	char key[200];
	cat_key(e->program, e->category, key, sizeof(key));
	int64_t last = json_integer_value(json_object_get(v->last_rank, key));
	if (e->rank != last + 1)
		return ts_error_set(err, TS_EINVAL, "ledger_rank", "第 %lld 条：%s 的序号应为 %lld，实为 %lld",
				    (long long)e->seq, key, (long long)(last + 1), (long long)e->rank);
	json_object_set_new(v->last_rank, key, json_integer(e->rank));
	snprintf(v->last_hash, sizeof(v->last_hash), "%s", e->hash);
	v->last_seq = e->seq;
	v->last_at = e->at_us;
	v->count++;
	return 0;
}

/* The ID number in the opened secret (a JSON object), or NULL when the form
 * has none or it was left empty. */
static const char *secret_id(const json_t *secret, const char *id_key)
{
	return id_key ? json_string_value(json_object_get(secret, id_key)) : NULL;
}

/* The checks that need the keys: the sealed fields, the blind ID, the
 * entry's applicant. */
static int check_sealed(const struct ledger_entry *e, const struct ledger_app *a, const struct crypt_keys *keys,
			const char *id_key, struct ledger_app_note *note, struct ts_error *err)
{
	struct ts_buf plain;
	ts_buf_init(&plain, 0);
	int rc = crypt_open(keys, CRYPT_AD_APP_SECRET, a->secret, a->secret_len, &plain);
	json_t *secret = rc ? NULL : json_loadb(plain.ptr, plain.len, 0, NULL);
	crypt_wipe(plain.ptr, plain.len);
	ts_buf_free(&plain);
	if (!json_is_object(secret)) {
		json_decref(secret);
		return ts_error_set(err, TS_EINVAL, "ledger_secret",
				    "申报 #%lld：加密的个人信息无法用本数据目录的密钥解开（secret 被改动或替换）",
				    (long long)a->id);
	}
	const char *idnum = secret_id(secret, id_key);
	char bidx[CRYPT_HEX_BYTES] = "", lid[CRYPT_HEX_BYTES] = "";
	if (idnum) {
		crypt_blind_index(keys, "id", idnum, bidx);
		crypt_ledger_id(keys, idnum, lid);
	}
	json_decref(secret);
	if (strcmp(bidx, a->id_bidx) != 0)
		rc = ts_error_set(err, TS_EINVAL, "ledger_id_bidx",
				  "申报 #%lld：身份证号的盲索引（id_bidx）与加密的个人信息中的身份证号不符"
				  "（id_bidx 或 secret 被改动）",
				  (long long)a->id);
	else if (strcmp(lid, e->applicant) != 0 && !a->edited)
		rc = ts_error_set(err, TS_EINVAL, "ledger_applicant",
				  "申报 #%lld：申请人（身份证号）与账本第 %lld 条记录的申请人不符，且该申报从未被修改过"
				  "（secret 与 id_bidx 被替换）",
				  (long long)a->id, (long long)e->seq);
	else if (strcmp(lid, e->applicant) != 0)
		note->id_changed_by_edit = true;
	crypt_wipe(lid, sizeof(lid));
	return rc;
}

int ledger_check_app(const struct ledger_entry *e, const struct ledger_app *a, const struct crypt_keys *keys,
		     const char *id_key, struct ledger_app_note *note, struct ts_error *err)
{
	memset(note, 0, sizeof(*note));
	if (!a)
		return ts_error_set(err, TS_EINVAL, "ledger_no_app",
				    "账本第 %lld 条（%s/%s 第 %lld 名）：没有对应的申报（申报记录被删除或改了序号）",
				    (long long)e->seq, e->program, e->category, (long long)e->rank);
	if (strcmp(a->receipt, e->hash) != 0)
		return ts_error_set(err, TS_EINVAL, "ledger_receipt", "申报 #%lld：回执与账本第 %lld 条记录的哈希不符",
				    (long long)a->id, (long long)e->seq);
	if (a->submitted_at != e->at_us) {
		char got[40], want[40];
		ts_time_format_local(a->submitted_at, got, sizeof(got));
		ts_time_format_local(e->at_us, want, sizeof(want));
		return ts_error_set(err, TS_EINVAL, "ledger_submitted_at",
				    "申报 #%lld：提交时间 %s（%lld 微秒）与账本第 %lld 条记录的 %s（%lld 微秒）不符",
				    (long long)a->id, got, (long long)a->submitted_at, (long long)e->seq, want,
				    (long long)e->at_us);
	}
	return keys ? check_sealed(e, a, keys, id_key, note, err) : 0;
}
