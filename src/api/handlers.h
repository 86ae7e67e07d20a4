/* api/handlers.h — the handler functions of the route table (internal to api/). */
#ifndef TS_API_HANDLERS_H
#define TS_API_HANDLERS_H

#include "http/http.h"

void api_auth_sms_code(struct http_request *req, void *ctx);
void api_auth_login(struct http_request *req, void *ctx);
void api_auth_logout(struct http_request *req, void *ctx);

void api_programs_list(struct http_request *req, void *ctx);
void api_program_get(struct http_request *req, void *ctx);
void api_orgs_list(struct http_request *req, void *ctx);
void api_time_now(struct http_request *req, void *ctx);
void api_healthz(struct http_request *req, void *ctx);
void api_metrics(struct http_request *req, void *ctx);

void api_app_submit(struct http_request *req, void *ctx);
void api_app_list(struct http_request *req, void *ctx);
void api_app_get(struct http_request *req, void *ctx);
void api_app_update(struct http_request *req, void *ctx);
void api_app_withdraw(struct http_request *req, void *ctx);
void api_app_form_pdf(struct http_request *req, void *ctx);

void api_draft_get(struct http_request *req, void *ctx);
void api_draft_put(struct http_request *req, void *ctx);
void api_draft_delete(struct http_request *req, void *ctx);

#endif
