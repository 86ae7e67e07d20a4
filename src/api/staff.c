/* api/staff.c — staff login (argon2id, lockout, TOTP), sessions, the audit helper. */
#include "api/common.h"
#include "api/handlers.h"
#include "core/log.h"
#include "core/time.h"
#include "crypt/totp.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STAFF_MAX_FAILURES 5
#define STAFF_LOCK_US (15LL * 60 * TS_US_PER_SEC)
#define TOTP_AD "staff.totp"

/* Usernames that do not exist fail and lock like real ones, counted here in
 * memory, so that a 429 "locked" after five tries does not tell that a name
 * exists (with the same time spent on a wrong password, see dummy_hash).
 * Direct-mapped by a keyed hash of the name (SipHash, a key drawn at the
 * first use): a name whose slot another took starts counting again, which
 * only lets a guesser try a little more slowly than the per-IP limit does. */
#define PHANTOM_SLOTS 4096
struct phantom {
	uint64_t name;
	int failed;
	int64_t locked_until;
};
static struct phantom phantoms[PHANTOM_SLOTS];
static unsigned char phantom_key[crypto_shorthash_KEYBYTES];
static bool phantom_keyed;
static pthread_mutex_t phantom_mu = PTHREAD_MUTEX_INITIALIZER;

/* A login of an unknown name at now: the end of its lock when it is locked
 * (the attempt is not counted), else 0 with the failure counted. */
static int64_t phantom_fail(const char *user, int64_t now)
{
	pthread_mutex_lock(&phantom_mu);
	if (!phantom_keyed) {
		crypto_shorthash_keygen(phantom_key);
		phantom_keyed = true;
	}
	unsigned char h[crypto_shorthash_BYTES];
	crypto_shorthash(h, (const unsigned char *)user, strlen(user), phantom_key);
	uint64_t name;
	memcpy(&name, h, sizeof(name));
	struct phantom *p = &phantoms[name % PHANTOM_SLOTS];
	if (p->name != name)
		*p = (struct phantom){.name = name};
	int64_t locked = p->locked_until > now ? p->locked_until : 0;
	if (!locked && ++p->failed >= STAFF_MAX_FAILURES) {
		p->locked_until = now + STAFF_LOCK_US;
		p->failed = 0;
	}
	pthread_mutex_unlock(&phantom_mu);
	return locked;
}

/* 429 locked until `until`, with the minutes in the message and the seconds in Retry-After. */
static void reply_locked(struct http_request *req, int64_t until, int64_t now)
{
	char msg[128], retry[24];
	int64_t left_us = until - now;
	snprintf(msg, sizeof(msg), "密码错误次数过多，账号已锁定，请 %lld 分钟后再试",
		 (long long)(left_us / (60 * TS_US_PER_SEC) + 1));
	snprintf(retry, sizeof(retry), "%lld", (long long)((left_us + TS_US_PER_SEC - 1) / TS_US_PER_SEC));
	http_add_header(req, "Retry-After", retry);
	http_reply_error(req, 429, "locked", msg);
}

bool api_auth_staff(struct api_ctx *ctx, struct http_request *req, struct staff_ctx *out)
{
	const char *token = api_token(req);
	if (!token || strlen(token) > 200) {
		http_reply_error(req, 401, "unauthorized", "请先登录");
		return false;
	}
	char hash[CRYPT_HEX_BYTES];
	crypt_token_hash(token, hash);
	struct store_session s;
	struct store_staff st;
	struct ts_error err;
	int rc = store_session_get(ctx->store, hash, ts_now_us(), ctx->cfg.staff_idle_us, &s, &err);
	if (rc == 0 && strcmp(s.kind, "staff") != 0) {
		/* a valid applicant session: logging in again would not help */
		http_reply_error(req, 403, "forbidden", "此功能仅限工作人员使用");
		return false;
	}
	if (rc == 0)
		rc = store_staff_get(ctx->store, NULL, s.subject, &st, &err);
	if (rc == TS_ENOTFOUND) {
		http_reply_error(req, 401, "unauthorized", "登录已失效，请重新登录");
		return false;
	}
	if (rc) {
		api_reply_err(req, &err);
		return false;
	}
	out->id = st.id;
	snprintf(out->username, sizeof(out->username), "%s", st.username);
	snprintf(out->org, sizeof(out->org), "%s", st.org);
	snprintf(out->role, sizeof(out->role), "%s", st.role);
	out->totp_enabled = st.totp_enabled;
	char parent[64];
	if (!registry_org_lookup(ctx->reg, st.org, parent, sizeof(parent), out->org_level, sizeof(out->org_level)))
		out->org_level[0] = '\0';
	store_staff_free(&st);
	return true;
}

bool api_require_role(struct http_request *req, const struct staff_ctx *st, const char *const *roles)
{
	for (const char *const *r = roles; *r; r++)
		if (strcmp(*r, st->role) == 0)
			return true;
	http_reply_error(req, 403, "forbidden", "您的账号角色无权执行此操作");
	return false;
}

void api_audit(struct api_ctx *ctx, struct http_request *req, const struct staff_ctx *st, const char *action,
	       const char *target, const char *reason, json_t *detail)
{
	char *d = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
	json_decref(detail);
	struct store_audit a = {
		.at = ts_now_us(),
		.actor = st ? st->username : "public",
		.role = st ? st->role : NULL,
		.org = st ? st->org : NULL,
		.ip = req ? http_req_client_ip(req) : NULL,
		.action = action,
		.target = target,
		.reason = reason,
		.detail_json = d,
	};
	struct ts_error err;
	if (store_audit_append(ctx->store, &a, &err))
		ts_log_error("audit.failed", "audit entry %s on %s not written: %s", action, target ? target : "-",
			     err.message);
	free(d);
}

static json_t *staff_json(struct api_ctx *ctx, const char *username, const char *org, const char *role,
			  bool totp_enabled)
{
	char name[200] = "", parent[64], level[16] = "";
	registry_org_name(ctx->reg, org, name, sizeof(name));
	registry_org_lookup(ctx->reg, org, parent, sizeof(parent), level, sizeof(level));
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "username", username, "role", role, "org", org, "org_name", name,
			 "org_level", level, "totp_enabled", totp_enabled);
}

void api_staff_login(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	if (!http_rate_allow(http_req_server(req), http_req_client_ip(req), "staff_login", ctx->cfg.ip_limit)) {
		http_add_header(req, "Retry-After", "60");
		http_reply_error(req, 429, "rate_limited", "请求过于频繁，请稍后再试");
		return;
	}
	json_t *body = api_body_object(req);
	if (!body)
		return;
	static const char *const keys[] = {"username", "password", "totp", NULL};
	struct store_staff st;
	bool have_staff = false;
	struct ts_error err;
	if (!api_only_keys(req, body, keys))
		goto out;
	const char *user = json_string_value(json_object_get(body, "username"));
	const char *pw = json_string_value(json_object_get(body, "password"));
	const char *code = json_string_value(json_object_get(body, "totp"));
	if (!user || !pw || strlen(user) > 64 || strlen(pw) > 200) {
		api_reply_invalid(req, "请输入用户名和密码", NULL);
		goto out;
	}
	int64_t now = ts_now_us();
	int rc = store_staff_get(ctx->store, user, 0, &st, &err);
	if (rc == TS_ENOTFOUND) {
		int64_t until = phantom_fail(user, now);
		if (until) { /* as a locked account: no password check */
			reply_locked(req, until, now);
			goto out;
		}
		/* spend the same time as a real check, so names cannot be probed */
		if (ctx->dummy_hash[0])
			crypt_password_verify(ctx->dummy_hash, pw);
		http_reply_error(req, 401, "bad_credentials", "用户名或密码错误");
		goto out;
	}
	if (rc) {
		api_reply_err(req, &err);
		goto out;
	}
	have_staff = true;
	if (st.locked_until > now) {
		reply_locked(req, st.locked_until, now);
		goto out;
	}
	bool ok = crypt_password_verify(st.pw_hash, pw);
	bool totp_missing = false;
	if (ok && st.totp_enabled) {
		struct ts_buf secret;
		ts_buf_init(&secret, 0);
		ok = code && crypt_open(&ctx->keys, TOTP_AD, st.totp_sealed.ptr, st.totp_sealed.len, &secret) == 0 &&
		     totp_check((const unsigned char *)secret.ptr, secret.len, now / TS_US_PER_SEC, code);
		totp_missing = !code;
		crypt_wipe(secret.ptr, secret.len);
		ts_buf_free(&secret);
	}
	if (!totp_missing && store_staff_login_result(ctx->store, st.id, ok, now, STAFF_MAX_FAILURES, STAFF_LOCK_US, &err))
		ts_log_warn("staff.login", "failure count not stored: %s", err.message);
	if (!ok) {
		if (st.totp_enabled && crypt_password_verify(st.pw_hash, pw))
			http_reply_error(req, 401, "totp_required", code ? "动态验证码错误" : "请输入动态验证码");
		else
			http_reply_error(req, 401, "bad_credentials", "用户名或密码错误");
		goto out;
	}
	char token[CRYPT_TOKEN_BYTES], th[CRYPT_HEX_BYTES];
	crypt_token_new(token);
	crypt_token_hash(token, th);
	if (store_session_create(ctx->store, th, "staff", st.id, now, now + ctx->cfg.staff_ttl_us, &err)) {
		api_reply_err(req, &err);
		goto out;
	}
	struct staff_ctx sc = {.id = st.id};
	snprintf(sc.username, sizeof(sc.username), "%s", st.username);
	snprintf(sc.org, sizeof(sc.org), "%s", st.org);
	snprintf(sc.role, sizeof(sc.role), "%s", st.role);
	api_audit(ctx, req, &sc, "staff.login", st.username, NULL, NULL);
	api_set_session_cookie(req, token, ctx->cfg.staff_ttl_us / TS_US_PER_SEC);
	api_reply_json(req, 200, json_pack("{s:s,s:o}", "token", token, "staff",
					   staff_json(ctx, st.username, st.org, st.role, st.totp_enabled)));
out:
	if (have_staff)
		store_staff_free(&st);
	json_decref(body);
}

void api_staff_me(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	struct staff_ctx st;
	if (!api_auth_staff(ctx, req, &st))
		return;
	api_reply_json(req, 200, staff_json(ctx, st.username, st.org, st.role, st.totp_enabled));
}

void api_staff_totp_setup(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	struct staff_ctx st;
	if (!api_auth_staff(ctx, req, &st))
		return;
	if (st.totp_enabled) {
		http_reply_error(req, 409, "totp_enabled", "动态验证码已启用");
		return;
	}
	unsigned char raw[TOTP_SECRET_BYTES];
	char b32[64];
	struct ts_buf sealed;
	ts_buf_init(&sealed, 0);
	struct ts_error err;
	if (totp_new_secret(raw, b32, sizeof(b32)) || crypt_seal(&ctx->keys, TOTP_AD, raw, sizeof(raw), &sealed)) {
		http_reply_error(req, 500, "internal", "生成密钥失败");
	} else if (store_staff_set_totp(ctx->store, st.id, sealed.ptr, sealed.len, false, &err)) {
		api_reply_err(req, &err);
	} else {
		char url[256];
		snprintf(url, sizeof(url), "otpauth://totp/Tisheng:%s?secret=%s&issuer=Tisheng", st.username, b32);
		api_audit(ctx, req, &st, "staff.totp_setup", st.username, NULL, NULL);
		api_reply_json(req, 200, json_pack("{s:s,s:s}", "secret", b32, "otpauth_url", url));
	}
	crypt_wipe(raw, sizeof(raw));
	crypt_wipe(b32, sizeof(b32));
	ts_buf_free(&sealed);
}

void api_staff_totp_enable(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	struct staff_ctx sc;
	if (!api_auth_staff(ctx, req, &sc))
		return;
	json_t *body = api_body_object(req);
	if (!body)
		return;
	const char *code = json_string_value(json_object_get(body, "code"));
	struct store_staff st;
	struct ts_error err;
	if (store_staff_get(ctx->store, NULL, sc.id, &st, &err)) {
		api_reply_err(req, &err);
		json_decref(body);
		return;
	}
	struct ts_buf secret;
	ts_buf_init(&secret, 0);
	bool ok = st.totp_sealed.len && code &&
		  crypt_open(&ctx->keys, TOTP_AD, st.totp_sealed.ptr, st.totp_sealed.len, &secret) == 0 &&
		  totp_check((const unsigned char *)secret.ptr, secret.len, ts_now_us() / TS_US_PER_SEC, code);
	crypt_wipe(secret.ptr, secret.len);
	ts_buf_free(&secret);
	if (!ok) {
		api_reply_invalid(req, "动态验证码错误，请先设置并输入验证器显示的6位数字",
				  json_pack("[{s:s,s:s}]", "name", "code", "message", "动态验证码错误"));
	} else if (store_staff_set_totp(ctx->store, st.id, st.totp_sealed.ptr, st.totp_sealed.len, true, &err)) {
		api_reply_err(req, &err);
	} else {
		api_audit(ctx, req, &sc, "staff.totp_enable", sc.username, NULL, NULL);
		api_reply_json(req, 200, staff_json(ctx, st.username, st.org, st.role, true));
	}
	store_staff_free(&st);
	json_decref(body);
}
