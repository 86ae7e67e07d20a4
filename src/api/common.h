/* api/common.h — helpers shared by the API resources (internal to api/). */
#ifndef TS_API_COMMON_H
#define TS_API_COMMON_H

#include <jansson.h>

#include "api/api.h"
#include "api/registry.h"

#define SESSION_COOKIE "__Host-tisheng"

/* Replies with a JSON value (stolen) and status. */
void api_reply_json(struct http_request *req, unsigned status, json_t *body);
/* The compact JSON text of o (malloc'd; NULL on failure), its length in *len. */
char *api_json_text(const json_t *o, size_t *len);
/* Replies with the error of `err`, mapping its status to HTTP. */
void api_reply_err(struct http_request *req, const struct ts_error *err);
/* Replies 422 {"error":{"code":"invalid","message","fields":[…]}} (fields stolen). */
void api_reply_invalid(struct http_request *req, const char *message, json_t *fields);
unsigned api_http_status(int ts_status);
/* A value from the request (a query parameter) fit for an error message,
 * written to out and returned: the value itself, cut at a character after
 * about 40 bytes with "…"; "（无法显示）" when it is not UTF-8, since a
 * message must be. out is always NUL-terminated; n should be at least 64. */
const char *api_shown_value(const char *v, char *out, size_t n);

/* Parses the body as a JSON object; on failure replies 422 / 413 and returns NULL. */
json_t *api_body_object(struct http_request *req);
/* 422 invalid naming a body key that is not one of the request's. */
void api_reply_unknown_key(struct http_request *req, const char *key);
/* Replies 422 and returns false when obj has a key outside `allowed` (NULL-terminated). */
bool api_only_keys(struct http_request *req, const json_t *obj, const char *const *allowed);

/* The session token of the request (Bearer header or cookie), or NULL. */
const char *api_token(struct http_request *req);
/* Authenticates an applicant; on failure replies and returns false: 401 without
 * a valid session, 403 forbidden for a valid staff session. */
bool api_auth_applicant(struct api_ctx *ctx, struct http_request *req, int64_t *applicant);
/* Sets the session cookie on the coming reply. */
void api_set_session_cookie(struct http_request *req, const char *token, int64_t max_age_s);

/* The staff member behind a request. */
struct staff_ctx {
	int64_t id;
	char username[72];
	char org[64];
	char org_level[16];
	char role[16];
	bool totp_enabled;
};
/* Authenticates a staff member; on failure replies and returns false: 401
 * without a valid session, 403 forbidden for a valid applicant session. */
bool api_auth_staff(struct api_ctx *ctx, struct http_request *req, struct staff_ctx *out);
/* Replies 403 and returns false unless the staff member has one of the roles (NULL-terminated). */
bool api_require_role(struct http_request *req, const struct staff_ctx *st, const char *const *roles);
/* Appends to the audit log (detail stolen, may be NULL); logs on failure. */
void api_audit(struct api_ctx *ctx, struct http_request *req, const struct staff_ctx *st, const char *action,
	       const char *target, const char *reason, json_t *detail);

/* Parses a positive decimal id; false if not one. */
bool api_parse_id(const char *s, int64_t *out);
/* ISO-8601 (+08:00) string of an instant, as a new JSON string. */
json_t *api_time(int64_t us);

#endif
