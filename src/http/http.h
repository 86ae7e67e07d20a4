/* http/http.h — the server adapter over libmicrohttpd.
 *
 * Knows HTTP (routing, bodies, limits, headers, cookies, static files, rate
 * limits, metrics), nothing of subsidies. Handlers are rows of a table:
 *   { "POST", "/api/v1/applications/{}", "app_update", api_app_update }
 * A "{}" segment matches one path segment and becomes a parameter.
 *
 * A handler must either reply (http_reply*) before returning, or suspend the
 * request (http_suspend) and later wake it from any thread (http_wake); the
 * resume function then runs on an HTTP thread and must reply. Nothing the
 * handler gets from the request outlives the request.
 */
#ifndef TS_HTTP_H
#define TS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"

struct http_server;
struct http_request;

typedef void (*http_handler_fn)(struct http_request *req, void *ctx);

struct http_route {
	const char *method;
	const char *pattern;
	const char *name; /* for metrics and logs */
	http_handler_fn fn;
};

struct http_config {
	const char *listen;        /* "127.0.0.1:8080", ":8080", "[::1]:8080" */
	const struct http_route *routes;
	size_t nroutes;
	void *ctx;                 /* passed to every handler */
	const char *web_dir;       /* static files; NULL for none */
	const char *web_prefix_fallback; /* e.g. "/": unknown paths under it get index.html */
	size_t max_body;           /* bytes; larger bodies get 413 */
	unsigned threads;          /* worker threads */
	unsigned conn_limit;       /* total connections */
	unsigned per_ip_conn_limit;
	unsigned timeout_s;        /* idle connection timeout (slow clients) */
	/* Comma-separated addresses of reverse proxies (nginx) whose
	 * X-Forwarded-For is believed: a request from one of them is taken to
	 * come from that header's last address. NULL: the header is ignored. */
	const char *trusted_proxies;
};

/* True when list is a comma-separated list of IPv4/IPv6 addresses (at most 16). */
bool http_proxy_list_valid(const char *list);

int http_server_start(const struct http_config *cfg, struct http_server **out, struct ts_error *err)
	__attribute__((warn_unused_result));
/* Stops accepting, then stops; call store_close() in between so suspended
 * requests are woken and answered. */
void http_server_quiesce(struct http_server *srv);
void http_server_stop(struct http_server *srv);
/* The port actually bound (useful with port 0). */
unsigned http_server_port(struct http_server *srv);

/* ---- the request ---- */
const char *http_req_method(struct http_request *req);
const char *http_req_path(struct http_request *req);
const char *http_req_route(struct http_request *req);
/* The i-th "{}" of the route's pattern (0-based), or "". */
const char *http_req_param(struct http_request *req, unsigned i);
const char *http_req_header(struct http_request *req, const char *name);
const char *http_req_query(struct http_request *req, const char *key);
const char *http_req_cookie(struct http_request *req, const char *name);
/* The body (NUL-terminated for convenience; may contain NULs). */
const char *http_req_body(struct http_request *req, size_t *len);
const char *http_req_client_ip(struct http_request *req);
struct http_server *http_req_server(struct http_request *req);
bool http_req_is_https(struct http_request *req);

/* Request-scoped user data, freed with free_fn when the request ends. */
void http_req_set_data(struct http_request *req, void *data, void (*free_fn)(void *));
void *http_req_data(struct http_request *req);

/* ---- replying ---- */
/* Adds a header to the coming reply. */
void http_add_header(struct http_request *req, const char *name, const char *value);
/* Adds Content-Disposition for a download: `name` (UTF-8) as the RFC 5987
 * filename*, `ascii` as the plain filename for clients that ignore filename*
 * (only [A-Za-z0-9._-] kept, no leading '-' or '.'; "download" if nothing is
 * left); both get ".ext". */
void http_add_header_download(struct http_request *req, const char *name, const char *ascii, const char *ext);
/* Replies with `body` (n bytes), which this takes ownership of (malloc'd). */
void http_reply(struct http_request *req, unsigned status, const char *content_type, char *body, size_t n);
/* Replies with a copy of a static string. */
void http_reply_static(struct http_request *req, unsigned status, const char *content_type, const char *body);
/* Replies {"error":{"code","message"}} with the status. */
void http_reply_error(struct http_request *req, unsigned status, const char *code, const char *message);

/* ---- asynchronous replies ---- */
/* A reply built once and sent to many requests (the answer every open page
 * polls): one libmicrohttpd response with its headers set once, shared by
 * reference instead of built and copied per request. http_shared_new copies
 * `body`; `headers` is name, value, …, NULL (the security headers and the
 * content type are added). Returns NULL when out of memory. The caller owns
 * one reference; http_shared_get adds one, http_shared_put drops one and the
 * last frees it (connections still sending it keep libmicrohttpd's own). */
struct http_shared;
struct http_shared *http_shared_new(unsigned status, const char *content_type, const char *body, size_t n,
				    const char *const *headers);
struct http_shared *http_shared_get(struct http_shared *s);
void http_shared_put(struct http_shared *s);
/* Replies with `s`, taking over one reference (get one first). Headers added
 * with http_add_header are not sent with a shared reply. */
void http_reply_shared(struct http_request *req, struct http_shared *s);
/* Whether the client accepts a gzip-encoded body. */
bool http_req_accepts_gzip(struct http_request *req);

typedef void (*http_resume_fn)(struct http_request *req, void *ctx);
/* Parks the request; call from the handler, before handing work to another
 * thread. */
void http_suspend(struct http_request *req, http_resume_fn resume);
/* Makes a parked request run its resume function; any thread. */
void http_wake(struct http_request *req);

/* ---- per-IP rate limits (fixed one-minute windows, in memory) ---- */
/* True when this request from `ip` in `bucket` is within `per_minute`
 * (0 = unlimited). */
bool http_rate_allow(struct http_server *srv, const char *ip, const char *bucket, unsigned per_minute);

/* ---- metrics ---- */
/* Appends Prometheus text for requests by route and status. */
int http_metrics_write(struct http_server *srv, struct ts_buf *out) __attribute__((warn_unused_result));

#endif
