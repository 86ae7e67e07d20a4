/* api/handlers.h — the handler functions of the route table (internal to api/). */
#ifndef TS_API_HANDLERS_H
#define TS_API_HANDLERS_H

#include "http/http.h"

void api_auth_sms_code(struct http_request *req, void *ctx);
void api_auth_login(struct http_request *req, void *ctx);
void api_auth_logout(struct http_request *req, void *ctx);

void api_programs_list(struct http_request *req, void *ctx);
void api_programs_remaining(struct http_request *req, void *ctx);
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

void api_app_resubmit(struct http_request *req, void *ctx);

void api_staff_login(struct http_request *req, void *ctx);
void api_staff_me(struct http_request *req, void *ctx);
void api_staff_totp_setup(struct http_request *req, void *ctx);
void api_staff_totp_enable(struct http_request *req, void *ctx);

void api_review_list(struct http_request *req, void *ctx);
void api_review_get(struct http_request *req, void *ctx);
void api_review_decide(struct http_request *req, void *ctx);
void api_review_batch(struct http_request *req, void *ctx);
void api_review_approve(struct http_request *req, void *ctx);

void api_publicity_create(struct http_request *req, void *ctx);
void api_publicity_list(struct http_request *req, void *ctx);
void api_publicity_get(struct http_request *req, void *ctx);
void api_publicity_close(struct http_request *req, void *ctx);
void api_public_publicity(struct http_request *req, void *ctx);
void api_public_publicity_page(struct http_request *req, void *ctx);
void api_public_objection(struct http_request *req, void *ctx);
void api_objection_investigate(struct http_request *req, void *ctx);

void api_export_summary(struct http_request *req, void *ctx);
void api_export_letter(struct http_request *req, void *ctx);
void api_export_approved(struct http_request *req, void *ctx);
void api_audit_list(struct http_request *req, void *ctx);
void api_admin_clock(struct http_request *req, void *ctx);

#endif
