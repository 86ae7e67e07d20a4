/* api/common.c — JSON replies, body parsing, authentication. */
#include "api/common.h"
#include "core/mem.h"
#include "core/time.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

unsigned api_http_status(int s)
{
	switch (s) {
	case TS_EINVAL:
		return 422;
	case TS_ENOTFOUND:
		return 404;
	case TS_ECONFLICT:
		return 409;
	case TS_EFORBIDDEN:
		return 403;
	case TS_EAUTH:
		return 401;
	case TS_ELIMIT:
		return 429;
	case TS_ETOOBIG:
		return 413;
	case TS_EIO:
	case TS_EBUSY:
		return 503;
	default:
		return 500;
	}
}

char *api_json_text(const json_t *o, size_t *len)
{
	/* jansson's json_dumps grows its buffer from 16 bytes; most answers fit
	 * in one stack buffer, then one allocation of the right size */
	char buf[4096];
	size_t n = json_dumpb(o, buf, sizeof(buf), JSON_COMPACT);
	char *s;
	if (n > 0 && n <= sizeof(buf)) {
		s = ts_strndup(buf, n);
	} else {
		s = json_dumps(o, JSON_COMPACT);
		n = s ? strlen(s) : 0;
	}
	memset(buf, 0, n < sizeof(buf) ? n : sizeof(buf)); /* it may have held sealed fields' text */
	if (len)
		*len = n;
	return s;
}

void api_reply_json(struct http_request *req, unsigned status, json_t *body)
{
	size_t n;
	char *s = api_json_text(body, &n);
	json_decref(body);
	if (!s) {
		http_reply_error(req, 500, "internal", "服务器内部错误");
		return;
	}
	if (strcmp(http_req_method(req), "GET") == 0)
		http_add_header(req, "Cache-Control", "no-store");
	http_reply(req, status, "application/json; charset=utf-8", s, n);
}

void api_reply_err(struct http_request *req, const struct ts_error *err)
{
	unsigned status = api_http_status(err->status);
	if (status == 503)
		http_add_header(req, "Retry-After", "2");
	http_reply_error(req, status, err->code[0] ? err->code : "internal",
			 err->message[0] ? err->message : "服务器内部错误");
}

void api_reply_invalid(struct http_request *req, const char *message, json_t *fields)
{
	json_t *e = json_pack("{s:s,s:s}", "code", "invalid", "message", message);
	if (fields)
		json_object_set_new(e, "fields", fields);
	api_reply_json(req, 422, json_pack("{s:o}", "error", e));
}

const char *api_shown_value(const char *v, char *out, size_t n)
{
	static const char cut[] = "…", unshown[] = "（无法显示）";
	if (n == 0)
		return out;
	size_t len = v ? strlen(v) : 0, max = 40;
	if (max + sizeof(cut) > n)
		max = n > sizeof(cut) ? n - sizeof(cut) : 0;
	size_t keep = len;
	if (keep > max) {
		keep = max;
		while (keep > 0 && ((unsigned char)v[keep] & 0xC0) == 0x80)
			keep--; /* not inside a character */
	}
	if (v && !g_utf8_validate(v, (gssize)keep, NULL)) {
		snprintf(out, n, "%s", unshown);
		return out;
	}
	snprintf(out, n, "%.*s%s", (int)keep, v ? v : "", keep < len ? cut : "");
	return out;
}

json_t *api_body_object(struct http_request *req)
{
	size_t n;
	const char *body = http_req_body(req, &n);
	if (n == 0) {
		api_reply_invalid(req, "请求内容为空，应为 JSON 对象", NULL);
		return NULL;
	}
	json_error_t je;
	json_t *o = json_loadb(body, n, JSON_REJECT_DUPLICATES, &je);
	if (!o) {
		char msg[200];
		snprintf(msg, sizeof(msg), "请求内容不是有效的 JSON（UTF-8）：第 %d 行第 %d 列", je.line, je.column);
		api_reply_invalid(req, msg, NULL);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		api_reply_invalid(req, "请求内容应为 JSON 对象", NULL);
		return NULL;
	}
	return o;
}

void api_reply_unknown_key(struct http_request *req, const char *key)
{
	char msg[200];
	snprintf(msg, sizeof(msg), "未知字段 \"%.60s\"", key);
	api_reply_invalid(req, msg, json_pack("[{s:s,s:s}]", "name", key, "message", "未知字段"));
}

bool api_only_keys(struct http_request *req, const json_t *obj, const char *const *allowed)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v)
	{
		bool ok = false;
		for (const char *const *a = allowed; *a; a++)
			if (strcmp(*a, k) == 0)
				ok = true;
		if (!ok) {
			api_reply_unknown_key(req, k);
			return false;
		}
	}
	return true;
}

const char *api_token(struct http_request *req)
{
	const char *h = http_req_header(req, "Authorization");
	if (h && strncasecmp(h, "Bearer ", 7) == 0 && h[7])
		return h + 7;
	const char *c = http_req_cookie(req, SESSION_COOKIE);
	return c && *c ? c : NULL;
}

bool api_auth_applicant(struct api_ctx *ctx, struct http_request *req, int64_t *applicant)
{
	const char *token = api_token(req);
	if (!token || strlen(token) > 200) {
		http_reply_error(req, 401, "unauthorized", "请先登录");
		return false;
	}
	char hash[CRYPT_HEX_BYTES];
	crypt_token_hash(token, hash);
	struct store_session s;
	struct ts_error err;
	int rc = store_session_get(ctx->store, hash, ts_now_us(), ctx->cfg.applicant_idle_us, &s, &err);
	if (rc == TS_ENOTFOUND) {
		http_reply_error(req, 401, "unauthorized", "登录已失效，请重新登录");
		return false;
	}
	if (rc == 0 && strcmp(s.kind, "applicant") != 0) {
		/* a valid staff session: logging in again would not help */
		http_reply_error(req, 403, "forbidden", "此功能仅限申报人使用");
		return false;
	}
	if (rc) {
		api_reply_err(req, &err);
		return false;
	}
	*applicant = s.subject;
	return true;
}

void api_set_session_cookie(struct http_request *req, const char *token, int64_t max_age_s)
{
	char v[300];
	snprintf(v, sizeof(v), "%s=%s; Path=/; Max-Age=%lld; Secure; HttpOnly; SameSite=Lax", SESSION_COOKIE,
		 token, (long long)max_age_s);
	http_add_header(req, "Set-Cookie", v);
}

bool api_parse_id(const char *s, int64_t *out)
{
	if (!s || !*s || strlen(s) > 18)
		return false;
	int64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (*p - '0');
	}
	if (v <= 0)
		return false;
	*out = v;
	return true;
}

json_t *api_time(int64_t us)
{
	char b[40];
	ts_time_format(us, b, sizeof(b));
	return json_string(b);
}
