/* api/api.c — the route table and the API context. */
#include "api/api.h"
#include "api/handlers.h"
#include "api/registry.h"
#include "core/time.h"

#include <string.h>

static const struct http_route routes[] = {
	{"POST", "/api/v1/auth/sms-code", "auth_sms_code", api_auth_sms_code},
	{"POST", "/api/v1/auth/login", "auth_login", api_auth_login},
	{"POST", "/api/v1/auth/logout", "auth_logout", api_auth_logout},
	{"GET", "/api/v1/programs", "programs_list", api_programs_list},
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
	{"GET", "/healthz", "healthz", api_healthz},
	{"GET", "/metrics", "metrics", api_metrics},
};

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
	int rc = registry_new(store, &ctx->reg, err);
	if (!rc && (rc = registry_start(ctx->reg, err))) {
		registry_free(ctx->reg);
		ctx->reg = NULL;
	}
	return rc;
}

void api_ctx_free(struct api_ctx *ctx)
{
	registry_free(ctx->reg);
	ctx->reg = NULL;
	crypt_keys_wipe(&ctx->keys);
}
