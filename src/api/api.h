/* api/api.h — the HTTP resources of Tisheng: requests in, domain and store
 * calls, JSON out. No SQL here; HTTP details go through http/http.h. */
#ifndef TS_API_H
#define TS_API_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "crypt/crypt.h"
#include "http/http.h"
#include "notify/sms.h"
#include "store/store.h"

struct registry;

#define API_OUTCOMES 10

struct api_config {
	unsigned ip_limit;          /* login requests per IP per minute; 0 = off */
	int64_t applicant_idle_us;  /* session idle timeout */
	int64_t applicant_ttl_us;   /* session absolute lifetime */
	int64_t staff_idle_us;
	int64_t staff_ttl_us;
	struct store_code_limits codes;
	const char *calendar_path; /* data/holidays.json, may be NULL */
	bool test_clock;           /* POST /api/v1/admin/clock moves the clock (tests only) */
	size_t max_queue;          /* submissions waiting for the writer beyond this get 503 busy */
};

/* An answer prepared once and shared by every request until it changes. */
struct api_prepared {
	struct http_shared *plain;
	struct http_shared *gz; /* gzip-encoded; NULL when that is not smaller */
	char etag[24];          /* of the plain body; the gzip one adds "-gz" */
};

struct api_ctx {
	struct store *store;
	struct crypt_keys keys;
	struct sms_gateway *sms;
	struct registry *reg;
	struct http_server *http; /* set once the server runs (metrics) */
	struct api_config cfg;
	int64_t started_at;
	json_t *calendar;         /* data/holidays.json: {"holidays":[…],"workdays":[…]} (owned) */
	char dummy_hash[160];     /* argon2id of nothing: unknown usernames cost the same time */
	_Atomic uint64_t outcomes[API_OUTCOMES]; /* submissions by outcome, for /metrics */
	pthread_mutex_t list_mu;  /* the prepared GET /api/v1/programs and /remaining answers */
	struct api_prepared list, remaining;
	int64_t list_built_us;
	uint64_t list_gen;
	pthread_t janitor;
	pthread_mutex_t janitor_mu;
	pthread_cond_t janitor_cv;
	bool janitor_running, janitor_stopping;
};

/* Drops the answer's shared replies (api/programs.c). */
void api_prepared_clear(struct api_prepared *p);

/* Defaults of api_config (the limits of the issue and of DESIGN.md). */
void api_config_defaults(struct api_config *cfg);

/* Creates the context: loads programs and orgs into the registry and starts
 * its refresh thread. Takes ownership of nothing; store, sms must outlive it. */
int api_ctx_init(struct api_ctx *ctx, struct store *store, const struct crypt_keys *keys,
		 struct sms_gateway *sms, const struct api_config *cfg, struct ts_error *err)
	__attribute__((warn_unused_result));
void api_ctx_free(struct api_ctx *ctx);

/* Appends the submissions-by-outcome counters in Prometheus text. */
int api_outcomes_write(struct api_ctx *ctx, struct ts_buf *out) __attribute__((warn_unused_result));

/* The route table. */
const struct http_route *api_routes(size_t *n);

#endif
