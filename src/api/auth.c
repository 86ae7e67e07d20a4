/* api/auth.c — applicant login by phone and SMS code. */
#include "api/common.h"
#include "api/handlers.h"
#include "core/log.h"
#include "core/time.h"
#include "domain/idnum.h"
#include "domain/mask.h"

#include <stdio.h>
#include <string.h>

static bool ip_allowed(struct api_ctx *ctx, struct http_request *req, const char *bucket)
{
	if (http_rate_allow(http_req_server(req), http_req_client_ip(req), bucket, ctx->cfg.ip_limit))
		return true;
	http_add_header(req, "Retry-After", "60");
	http_reply_error(req, 429, "rate_limited", "请求过于频繁，请稍后再试");
	return false;
}

/* The body's phone, normalised into out (phone_normalize: "+86 138-0000-0000"
 * is 13800000000, so a pasted number reaches the same account). */
static const char *phone_of(struct http_request *req, json_t *body, char out[12])
{
	static const char *const keys[] = {"phone", "code", "purpose", NULL};
	if (!api_only_keys(req, body, keys))
		return NULL;
	const char *phone = json_string_value(json_object_get(body, "phone"));
	if (!phone || !phone_normalize(phone, out)) {
		api_reply_invalid(req, "请输入正确的11位手机号码",
				  json_pack("[{s:s,s:s}]", "name", "phone", "message", "手机号码格式不正确"));
		return NULL;
	}
	return out;
}

void api_auth_sms_code(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	if (!ip_allowed(ctx, req, "login"))
		return;
	json_t *body = api_body_object(req);
	if (!body)
		return;
	char phone_buf[12];
	const char *phone = phone_of(req, body, phone_buf);
	if (!phone) {
		json_decref(body);
		return;
	}
	const char *purpose = json_string_value(json_object_get(body, "purpose"));
	if (!purpose)
		purpose = "login";
	if (strcmp(purpose, "login") != 0 && strcmp(purpose, "objection") != 0) {
		api_reply_invalid(req, "purpose 应为 login 或 objection",
				  json_pack("[{s:s,s:s}]", "name", "purpose", "message", "取值不正确"));
		json_decref(body);
		return;
	}
	char bidx[CRYPT_HEX_BYTES], code[7], code_hash[CRYPT_HEX_BYTES];
	crypt_blind_index(&ctx->keys, "phone", phone, bidx);
	crypt_sms_code(code);
	crypt_code_hash(&ctx->keys, phone, code, code_hash);
	int64_t now = ts_now_us(), retry = 0;
	struct ts_error err;
	int rc = store_code_create(ctx->store, bidx, purpose, code_hash, now, &ctx->cfg.codes, &retry, &err);
	if (rc == TS_ELIMIT) {
		char ra[24];
		snprintf(ra, sizeof(ra), "%lld", (long long)retry);
		http_add_header(req, "Retry-After", ra);
		api_reply_json(req, 429, json_pack("{s:{s:s,s:s,s:I}}", "error", "code", "rate_limited", "message",
						   err.message, "retry_after", (json_int_t)retry));
		json_decref(body);
		return;
	}
	if (rc) {
		api_reply_err(req, &err);
		json_decref(body);
		return;
	}
	char text[200];
	snprintf(text, sizeof(text), "【职工提升补助】您的%s验证码为 %s，%d 分钟内有效。请勿告诉他人。",
		 strcmp(purpose, "login") == 0 ? "登录" : "异议核验", code,
		 (int)(ctx->cfg.codes.ttl_us / (60 * TS_US_PER_SEC)));
	if (sms_send(ctx->sms, phone, text, code, &err)) {
		api_reply_err(req, &err);
		json_decref(body);
		return;
	}
	json_decref(body);
	api_reply_json(req, 200, json_pack("{s:b,s:I}", "sent", 1, "retry_after",
					   (json_int_t)(ctx->cfg.codes.min_interval_us / TS_US_PER_SEC)));
}

void api_auth_login(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	if (!ip_allowed(ctx, req, "login"))
		return;
	json_t *body = api_body_object(req);
	if (!body)
		return;
	char phone_buf[12];
	const char *phone = phone_of(req, body, phone_buf);
	const char *code = json_string_value(json_object_get(body, "code"));
	if (!phone)
		goto out;
	if (!code || strlen(code) != 6) {
		http_reply_error(req, 401, "bad_code", "验证码错误或已失效，请重新获取");
		goto out;
	}
	char bidx[CRYPT_HEX_BYTES], code_hash[CRYPT_HEX_BYTES], token[CRYPT_TOKEN_BYTES], th[CRYPT_HEX_BYTES];
	crypt_blind_index(&ctx->keys, "phone", phone, bidx);
	crypt_code_hash(&ctx->keys, phone, code, code_hash);
	crypt_token_new(token);
	crypt_token_hash(token, th);
	int64_t now = ts_now_us(), applicant = 0;
	struct ts_error err;
	struct ts_buf sealed;
	ts_buf_init(&sealed, 0);
	if (crypt_seal(&ctx->keys, "applicant.phone", phone, strlen(phone), &sealed)) {
		ts_buf_free(&sealed);
		http_reply_error(req, 500, "internal", "加密失败");
		goto out;
	}
	struct store_login l = {
		.phone_bidx = bidx,
		.code_hash = code_hash,
		.token_hash = th,
		.phone_sealed = sealed.ptr,
		.phone_sealed_len = sealed.len,
		.now = now,
		.expires_at = now + ctx->cfg.applicant_ttl_us,
	};
	int rc = store_login_applicant(ctx->store, &l, &ctx->cfg.codes, &applicant, &err);
	ts_buf_free(&sealed);
	if (rc == TS_EAUTH) {
		http_reply_error(req, 401, "bad_code", "验证码错误或已失效，请重新获取");
		goto out;
	}
	if (rc) {
		api_reply_err(req, &err);
		goto out;
	}
	api_set_session_cookie(req, token, ctx->cfg.applicant_ttl_us / TS_US_PER_SEC);
	api_reply_json(req, 200, json_pack("{s:s,s:o}", "token", token, "expires_at",
					   api_time(now + ctx->cfg.applicant_ttl_us)));
out:
	json_decref(body);
}

void api_auth_logout(struct http_request *req, void *arg)
{
	struct api_ctx *ctx = arg;
	const char *token = api_token(req);
	if (token) {
		char th[CRYPT_HEX_BYTES];
		struct ts_error err;
		crypt_token_hash(token, th);
		if (store_session_delete(ctx->store, th, &err))
			ts_log_warn("auth.logout", "session not deleted: %s", err.message);
	}
	api_set_session_cookie(req, "", 0);
	http_reply(req, 204, NULL, NULL, 0);
}
