/* domain/ledger.c — ledger hashing and verification. */
#include "domain/ledger.h"
#include "core/buf.h"

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
