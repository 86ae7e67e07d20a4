/* api/api.c — the route table and the API context. */
#include "api/api.h"
#include "api/handlers.h"
#include "api/registry.h"
#include "api/review_util.h"
#include "core/log.h"
#include "core/thread.h"
#include "core/time.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static const struct http_route routes[] = {
	{"POST", "/api/v1/auth/sms-code", "auth_sms_code", api_auth_sms_code},
	{"POST", "/api/v1/auth/login", "auth_login", api_auth_login},
	{"POST", "/api/v1/auth/logout", "auth_logout", api_auth_logout},
	{"GET", "/api/v1/programs", "programs_list", api_programs_list},
	{"GET", "/api/v1/remaining", "remaining", api_programs_remaining},
	{"GET", "/api/v1/programs/{}", "program_get", api_program_get},
	{"GET", "/api/v1/orgs", "orgs_list", api_orgs_list},
	{"GET", "/api/v1/time", "time", api_time_now},
	{"POST", "/api/v1/applications", "app_submit", api_app_submit},
	{"GET", "/api/v1/applications", "app_list", api_app_list},
	{"GET", "/api/v1/applications/{}", "app_get", api_app_get},
	{"PUT", "/api/v1/applications/{}", "app_update", api_app_update},
	{"POST", "/api/v1/applications/{}/withdraw", "app_withdraw", api_app_withdraw},
	{"GET", "/api/v1/applications/{}/form.pdf", "app_form_pdf", api_app_form_pdf},
	{"GET", "/api/v1/drafts/{}", "draft_get", api_draft_get},
	{"PUT", "/api/v1/drafts/{}", "draft_put", api_draft_put},
	{"DELETE", "/api/v1/drafts/{}", "draft_delete", api_draft_delete},
	{"POST", "/api/v1/applications/{}/resubmit", "app_resubmit", api_app_resubmit},
	{"POST", "/api/v1/staff/login", "staff_login", api_staff_login},
	{"GET", "/api/v1/staff/me", "staff_me", api_staff_me},
	{"POST", "/api/v1/staff/logout", "staff_logout", api_auth_logout},
	{"POST", "/api/v1/staff/totp/setup", "staff_totp_setup", api_staff_totp_setup},
	{"POST", "/api/v1/staff/totp/enable", "staff_totp_enable", api_staff_totp_enable},
	{"GET", "/api/v1/review/applications", "review_list", api_review_list},
	{"GET", "/api/v1/review/applications/{}", "review_get", api_review_get},
	{"POST", "/api/v1/review/applications/{}/decision", "review_decide", api_review_decide},
	{"POST", "/api/v1/review/decisions", "review_batch", api_review_batch},
	{"POST", "/api/v1/review/approval", "review_approve", api_review_approve},
	{"POST", "/api/v1/review/publicity", "publicity_create", api_publicity_create},
	{"GET", "/api/v1/review/publicity", "publicity_list", api_publicity_list},
	{"GET", "/api/v1/review/publicity/{}", "publicity_get", api_publicity_get},
	{"POST", "/api/v1/review/publicity/{}/close", "publicity_close", api_publicity_close},
	{"POST", "/api/v1/review/objections/{}/investigation", "objection_investigate", api_objection_investigate},
	{"GET", "/api/v1/public/publicity/{}", "public_publicity", api_public_publicity},
	{"POST", "/api/v1/public/publicity/{}/objections", "public_objection", api_public_objection},
	{"GET", "/public/publicity/{}", "public_publicity_page", api_public_publicity_page},
	{"GET", "/api/v1/exports/summary.xlsx", "export_summary", api_export_summary},
	{"GET", "/api/v1/exports/letter.pdf", "export_letter", api_export_letter},
	{"GET", "/api/v1/exports/approved.xlsx", "export_approved", api_export_approved},
	{"GET", "/api/v1/audit", "audit_list", api_audit_list},
	{"POST", "/api/v1/admin/clock", "admin_clock", api_admin_clock},
	{"GET", "/healthz", "healthz", api_healthz},
	{"GET", "/metrics", "metrics", api_metrics},
};

/* ---- the janitor: once a second, abandons returned applications whose
 * correction deadline has passed, and lets the next in line move up. ---- */

static void expire_returns(struct api_ctx *ctx)
{
	json_t *gone = NULL;
	struct ts_error err;
	if (store_expire_returns(ctx->store, ts_now_us(), &gone, &err)) {
		ts_log_warn("janitor.expire", "%s", err.message);
		return;
	}
	size_t i;
	json_t *e;
	json_array_foreach(gone, i, e)
	{
		struct store_app a;
		int64_t id = json_integer_value(json_object_get(e, "id"));
		if (store_app_get(ctx->store, id, &a, &err))
			continue;
		struct reg_program *p = registry_get(ctx->reg, a.program);
		if (p)
			review_backfill(ctx, p->spec, &a, "逾期未补正");
		registry_put(p);
		ts_log_info("janitor.abandon", "application %lld abandoned: correction deadline passed", (long long)id);
		store_app_free(&a);
	}
	json_decref(gone);
}

static void *janitor_main(void *arg)
{
	pthread_setname_np(pthread_self(), "ts-janitor");
	struct api_ctx *ctx = arg;
	unsigned ticks = 0;
	pthread_mutex_lock(&ctx->janitor_mu);
	while (!ctx->janitor_stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&ctx->janitor_cv, &ctx->janitor_mu, &ts);
		if (ctx->janitor_stopping)
			break;
		pthread_mutex_unlock(&ctx->janitor_mu);
		expire_returns(ctx);
		/* sessions seen in use: last_seen written every 5 s, in one transaction */
		struct ts_error err;
		if (++ticks % 5 == 0 && store_sessions_flush(ctx->store, &err))
			ts_log_warn("janitor.sessions", "%s", err.message);
		pthread_mutex_lock(&ctx->janitor_mu);
	}
	pthread_mutex_unlock(&ctx->janitor_mu);
	return NULL;
}

static int janitor_start(struct api_ctx *ctx, struct ts_error *err)
{
	pthread_mutex_init(&ctx->janitor_mu, NULL);
	pthread_cond_init(&ctx->janitor_cv, NULL);
	if (pthread_create(&ctx->janitor, NULL, janitor_main, ctx) != 0)
		return ts_error_set(err, TS_EINTERNAL, "internal", "无法启动后台线程");
	ctx->janitor_running = true;
	return 0;
}

static void janitor_stop(struct api_ctx *ctx)
{
	if (!ctx->janitor_running)
		return;
	ts_thread_stop(ctx->janitor, &ctx->janitor_mu, &ctx->janitor_cv, &ctx->janitor_stopping);
	ctx->janitor_running = false;
}

const struct http_route *api_routes(size_t *n)
{
	*n = sizeof(routes) / sizeof(routes[0]);
	return routes;
}

void api_config_defaults(struct api_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ip_limit = 60;
	cfg->applicant_idle_us = 7LL * 86400 * TS_US_PER_SEC;
	cfg->applicant_ttl_us = 30LL * 86400 * TS_US_PER_SEC;
	cfg->staff_idle_us = 30LL * 60 * TS_US_PER_SEC;
	cfg->staff_ttl_us = 12LL * 3600 * TS_US_PER_SEC;
	cfg->codes.min_interval_us = 60 * TS_US_PER_SEC;
	cfg->codes.per_day = 10;
	cfg->codes.ttl_us = 5 * 60 * TS_US_PER_SEC;
	cfg->codes.max_tries = 5;
	cfg->max_queue = 20000;
}

int api_ctx_init(struct api_ctx *ctx, struct store *store, const struct crypt_keys *keys,
		 struct sms_gateway *sms, const struct api_config *cfg, struct ts_error *err)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->store = store;
	ctx->keys = *keys;
	ctx->sms = sms;
	ctx->cfg = *cfg;
	ctx->started_at = ts_now_us();
	pthread_mutex_init(&ctx->list_mu, NULL);
	if (cfg->calendar_path) {
		json_error_t je;
		ctx->calendar = json_load_file(cfg->calendar_path, 0, &je);
		if (!ctx->calendar)
			ts_log_warn("api.calendar", "holiday calendar %s not loaded (%s): working days count weekends only",
				    cfg->calendar_path, je.text);
	}
	if (!ctx->calendar)
		ctx->calendar = json_object();
	if (crypt_password_hash("tisheng-no-such-user", ctx->dummy_hash, sizeof(ctx->dummy_hash)))
		ctx->dummy_hash[0] = '\0';
	int rc = registry_new(store, &ctx->reg, err);
	if (!rc && (rc = registry_start(ctx->reg, err))) {
		registry_free(ctx->reg);
		ctx->reg = NULL;
	}
	if (!rc && (rc = janitor_start(ctx, err))) {
		registry_free(ctx->reg);
		ctx->reg = NULL;
	}
	if (rc)
		json_decref(ctx->calendar);
	return rc;
}

void api_ctx_free(struct api_ctx *ctx)
{
	janitor_stop(ctx);
	api_prepared_clear(&ctx->list);
	api_prepared_clear(&ctx->remaining);
	pthread_mutex_destroy(&ctx->list_mu);
	json_decref(ctx->calendar);
	ctx->calendar = NULL;
	registry_free(ctx->reg);
	ctx->reg = NULL;
	crypt_keys_wipe(&ctx->keys);
}
