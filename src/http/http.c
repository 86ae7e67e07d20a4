/* http/http.c — libmicrohttpd adapter: routing, bodies, suspend/resume,
 * static files, limits, metrics (see http.h). */
#include "http/http.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* The polling mode, kept a one-line change: MHD_USE_EPOLL was seen to stall
 * under back-to-back load (DESIGN.md); poll did not. */
#define HTTP_POLL_MODE MHD_USE_POLL

#define MAX_PARAMS 4
#define MAX_HEADERS 12
#define NSTATUS 16
#define RATE_SLOTS 8192

static const unsigned status_codes[NSTATUS] = {200, 201, 204, 304, 400, 401, 403, 404,
					       405, 409, 413, 422, 429, 500, 503, 0};

struct route_stats {
	_Atomic uint64_t count[NSTATUS];
	_Atomic uint64_t us_total;
};

struct rate_slot {
	uint64_t key;
	int64_t window;
	unsigned count;
};

#define MAX_PROXIES 16

/* An address as IPv6 bytes (IPv4 as ::ffff:a.b.c.d), for comparison. */
struct ip_bytes {
	unsigned char b[16];
};

struct http_server {
	struct http_config cfg;
	struct ip_bytes proxies[MAX_PROXIES];
	size_t nproxies;
	struct MHD_Daemon *daemon;
	unsigned port;
	struct route_stats *stats; /* nroutes + 1 (static and unmatched) */
	pthread_mutex_t rate_mu;
	struct rate_slot *rate;
};

enum req_state { REQ_NEW, REQ_DISPATCHED, REQ_DONE };

struct http_request {
	struct http_server *srv;
	struct MHD_Connection *conn;
	const char *method;
	const char *path;
	int route;
	char params[MAX_PARAMS][160];
	unsigned nparams;
	struct ts_buf body;
	bool too_big;
	enum req_state state;
	bool suspended;
	_Atomic int woken;
	http_resume_fn resume;
	struct MHD_Response *response;
	struct http_shared *shared; /* instead of response */
	unsigned status;
	char *hdr_names[MAX_HEADERS], *hdr_values[MAX_HEADERS];
	unsigned nhdr;
	void *data;
	void (*data_free)(void *);
	char ip[INET6_ADDRSTRLEN];
	int64_t started;
};

/* ---- request accessors ---- */

const char *http_req_method(struct http_request *req) { return req->method; }
const char *http_req_path(struct http_request *req) { return req->path; }
struct http_server *http_req_server(struct http_request *req) { return req->srv; }

const char *http_req_route(struct http_request *req)
{
	return req->route >= 0 ? req->srv->cfg.routes[req->route].name : "static";
}

const char *http_req_param(struct http_request *req, unsigned i)
{
	return i < req->nparams ? req->params[i] : "";
}

const char *http_req_header(struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_req_query(struct http_request *req, const char *key)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *http_req_cookie(struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

const char *http_req_body(struct http_request *req, size_t *len)
{
	if (len)
		*len = req->body.len;
	return req->body.ptr;
}

static void client_ip(struct http_request *req, char *out, size_t n);

/* Formatted on first use: most requests (reads, submissions) never ask. */
const char *http_req_client_ip(struct http_request *req)
{
	if (!req->ip[0])
		client_ip(req, req->ip, sizeof(req->ip));
	return req->ip;
}

bool http_req_is_https(struct http_request *req)
{
	const char *p = http_req_header(req, "X-Forwarded-Proto");
	return p && strcmp(p, "https") == 0;
}

void http_req_set_data(struct http_request *req, void *data, void (*free_fn)(void *))
{
	req->data = data;
	req->data_free = free_fn;
}

void *http_req_data(struct http_request *req) { return req->data; }

/* ---- replies ---- */

void http_add_header(struct http_request *req, const char *name, const char *value)
{
	if (req->nhdr == MAX_HEADERS)
		return;
	req->hdr_names[req->nhdr] = ts_strdup(name);
	req->hdr_values[req->nhdr] = ts_strdup(value);
	req->nhdr++;
}

/* The Date header (RFC 9110 §6.6.1), formatted once per second per thread:
 * libmicrohttpd would format it per response with gmtime_r, which takes
 * glibc's time-zone lock, shared by all threads (4.5 % of a GET's CPU). */
static const char *http_date(void)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	static _Thread_local time_t last = -1;
	static _Thread_local char text[40];
	time_t now = time(NULL);
	if (now != last) {
		struct tm tm;
		gmtime_r(&now, &tm);
		snprintf(text, sizeof(text), "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
			 months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
		last = now;
	}
	return text;
}

static void add_common_headers(struct MHD_Response *resp, const char *content_type)
{
	MHD_add_response_header(resp, MHD_HTTP_HEADER_DATE, http_date());
	if (content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
}

static void set_response(struct http_request *req, unsigned status, struct MHD_Response *resp,
			 const char *content_type)
{
	if (req->response)
		MHD_destroy_response(req->response);
	http_shared_put(req->shared);
	req->shared = NULL;
	add_common_headers(resp, content_type);
	for (unsigned i = 0; i < req->nhdr; i++)
		MHD_add_response_header(resp, req->hdr_names[i], req->hdr_values[i]);
	req->response = resp;
	req->status = status;
}

static bool filename_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
	       c == '.';
}

void http_add_header_download(struct http_request *req, const char *name, const char *ascii, const char *ext)
{
	struct ts_buf v;
	ts_buf_init(&v, 4096);
	int rc = ts_buf_puts(&v, "attachment; filename=\"");
	size_t start = v.len;
	for (const unsigned char *p = (const unsigned char *)ascii; *p && !rc; p++)
		if (filename_char(*p) && !(v.len == start && (*p == '-' || *p == '.')))
			rc = ts_buf_append(&v, p, 1);
	if (!rc && v.len == start)
		rc = ts_buf_puts(&v, "download");
	if (!rc)
		rc = ts_buf_printf(&v, ".%s\"; filename*=UTF-8''", ext);
	for (const unsigned char *p = (const unsigned char *)name; *p && !rc; p++)
		rc = filename_char(*p) ? ts_buf_append(&v, p, 1) : ts_buf_printf(&v, "%%%02X", *p);
	if (!rc)
		rc = ts_buf_printf(&v, ".%s", ext);
	if (!rc) {
		http_add_header(req, "Content-Disposition", v.ptr);
	} else { /* a name past 4 KiB: a plain name alone */
		char plain[64];
		snprintf(plain, sizeof(plain), "attachment; filename=\"download.%s\"", ext);
		http_add_header(req, "Content-Disposition", plain);
	}
	ts_buf_free(&v);
}

void http_reply(struct http_request *req, unsigned status, const char *content_type, char *body, size_t n)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(n, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return;
	}
	set_response(req, status, resp, content_type);
}

void http_reply_static(struct http_request *req, unsigned status, const char *content_type, const char *body)
{
	size_t n = strlen(body);
	http_reply(req, status, content_type, ts_strndup(body, n), n);
}

void http_reply_error(struct http_request *req, unsigned status, const char *code, const char *message)
{
	json_t *o = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0)
		http_add_header(req, "Cache-Control", "no-store");
	http_reply(req, status, "application/json; charset=utf-8", s, strlen(s));
}

/* ---- shared replies ---- */

struct http_shared {
	struct MHD_Response *resp;
	unsigned status;
	_Atomic unsigned refs;
};

struct http_shared *http_shared_new(unsigned status, const char *content_type, const char *body, size_t n,
				    const char *const *headers)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(n, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return NULL;
	add_common_headers(resp, content_type);
	for (size_t i = 0; headers && headers[i] && headers[i + 1]; i += 2)
		MHD_add_response_header(resp, headers[i], headers[i + 1]);
	struct http_shared *s = ts_calloc(1, sizeof(*s));
	s->resp = resp;
	s->status = status;
	atomic_init(&s->refs, 1);
	return s;
}

struct http_shared *http_shared_get(struct http_shared *s)
{
	atomic_fetch_add(&s->refs, 1);
	return s;
}

void http_shared_put(struct http_shared *s)
{
	if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	MHD_destroy_response(s->resp); /* freed once the last connection sending it is done */
	free(s);
}

void http_reply_shared(struct http_request *req, struct http_shared *s)
{
	if (req->response) {
		MHD_destroy_response(req->response);
		req->response = NULL;
	}
	http_shared_put(req->shared);
	req->shared = s;
	req->status = s->status;
}

/* ---- suspend / resume ---- */

void http_suspend(struct http_request *req, http_resume_fn resume)
{
	req->resume = resume;
	req->suspended = true;
	MHD_suspend_connection(req->conn);
}

void http_wake(struct http_request *req)
{
	atomic_store(&req->woken, 1);
	MHD_resume_connection(req->conn);
}

/* ---- rate limits ---- */

static uint64_t fnv1a(const char *a, const char *b)
{
	uint64_t h = 1469598103934665603ULL;
	for (const char *p = a; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL;
	for (const char *p = b; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h ? h : 1;
}

bool http_rate_allow(struct http_server *srv, const char *ip, const char *bucket, unsigned per_minute)
{
	if (per_minute == 0)
		return true;
	uint64_t key = fnv1a(ip, bucket);
	int64_t window = ts_now_us() / (60 * TS_US_PER_SEC);
	bool ok = true;
	pthread_mutex_lock(&srv->rate_mu);
	size_t i = key % RATE_SLOTS;
	for (size_t probe = 0; probe < 8; probe++, i = (i + 1) % RATE_SLOTS) {
		struct rate_slot *s = &srv->rate[i];
		if (s->key == key || s->window != window || s->key == 0) {
			if (s->key != key || s->window != window) {
				s->key = key;
				s->window = window;
				s->count = 0;
			}
			ok = ++s->count <= per_minute;
			break;
		}
	}
	pthread_mutex_unlock(&srv->rate_mu);
	return ok;
}

/* ---- metrics ---- */

static int status_slot(unsigned status)
{
	for (int i = 0; i < NSTATUS - 1; i++)
		if (status_codes[i] == status)
			return i;
	return NSTATUS - 1;
}

int http_metrics_write(struct http_server *srv, struct ts_buf *out)
{
	int rc = ts_buf_puts(out, "# HELP tisheng_http_requests_total HTTP requests by route and status.\n"
				  "# TYPE tisheng_http_requests_total counter\n");
	for (size_t r = 0; r <= srv->cfg.nroutes && !rc; r++) {
		const char *name = r < srv->cfg.nroutes ? srv->cfg.routes[r].name : "static";
		for (int i = 0; i < NSTATUS && !rc; i++) {
			uint64_t n = atomic_load(&srv->stats[r].count[i]);
			if (!n)
				continue;
			if (status_codes[i])
				rc = ts_buf_printf(out, "tisheng_http_requests_total{route=\"%s\",status=\"%u\"} %llu\n",
						   name, status_codes[i], (unsigned long long)n);
			else
				rc = ts_buf_printf(out, "tisheng_http_requests_total{route=\"%s\",status=\"other\"} %llu\n",
						   name, (unsigned long long)n);
		}
	}
	if (!rc)
		rc = ts_buf_puts(out, "# HELP tisheng_http_request_seconds_total Time spent answering, by route.\n"
				      "# TYPE tisheng_http_request_seconds_total counter\n");
	for (size_t r = 0; r <= srv->cfg.nroutes && !rc; r++) {
		uint64_t us = atomic_load(&srv->stats[r].us_total);
		if (!us)
			continue;
		const char *name = r < srv->cfg.nroutes ? srv->cfg.routes[r].name : "static";
		rc = ts_buf_printf(out, "tisheng_http_request_seconds_total{route=\"%s\"} %.6f\n", name, us / 1e6);
	}
	return rc;
}

/* ---- static files ---- */

static const char *mime_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
		{".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
		{".json", "application/json; charset=utf-8"}, {".svg", "image/svg+xml"},
		{".png", "image/png"}, {".jpg", "image/jpeg"}, {".ico", "image/x-icon"},
		{".woff2", "font/woff2"}, {".woff", "font/woff"}, {".txt", "text/plain; charset=utf-8"},
		{".webmanifest", "application/manifest+json"},
	};
	const char *dot = strrchr(path, '.');
	if (dot)
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcmp(dot, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

static bool path_safe(const char *p)
{
	if (p[0] != '/' || strstr(p, "..") || strchr(p, '\\') || strlen(p) > 512)
		return false;
	return true;
}

bool http_req_accepts_gzip(struct http_request *req)
{
	const char *ae = http_req_header(req, "Accept-Encoding");
	return ae && strstr(ae, "gzip") != NULL;
}

static bool try_file(struct http_request *req, const char *rel, bool immutable)
{
	char full[1200];
	int fd = -1;
	bool gz = false;
	/* a FILE.gz made by the build is sent as is to browsers that take gzip */
	if (http_req_accepts_gzip(req)) {
		snprintf(full, sizeof(full), "%s%s.gz", req->srv->cfg.web_dir, rel);
		fd = open(full, O_RDONLY | O_CLOEXEC);
		gz = fd >= 0;
	}
	if (fd < 0) {
		snprintf(full, sizeof(full), "%s%s", req->srv->cfg.web_dir, rel);
		fd = open(full, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return false;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return false;
	}
	struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	if (!resp) {
		close(fd);
		return false;
	}
	http_add_header(req, "Cache-Control", immutable ? "public, max-age=31536000, immutable" : "no-cache");
	http_add_header(req, "Vary", "Accept-Encoding");
	if (gz)
		http_add_header(req, "Content-Encoding", "gzip");
	set_response(req, 200, resp, mime_type(rel));
	return true;
}

static void serve_static(struct http_request *req)
{
	const char *p = req->path;
	if (!req->srv->cfg.web_dir || (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) ||
	    strncmp(p, "/api/", 5) == 0 || !path_safe(p)) {
		http_reply_error(req, 404, "not_found", "找不到该页面或接口");
		return;
	}
	char rel[600];
	size_t n = strlen(p);
	snprintf(rel, sizeof(rel), "%s%s", p, p[n - 1] == '/' ? "index.html" : "");
	bool immutable = strstr(p, "/assets/") != NULL;
	if (try_file(req, rel, immutable))
		return;
	/* History-mode front-end routes: a path without an extension gets the
	 * index.html of its app (console or h5). */
	const char *slash = strrchr(p, '/');
	if (!strchr(slash, '.')) {
		if (strncmp(p, "/console", 8) == 0 && try_file(req, "/console/index.html", false))
			return;
		if (try_file(req, "/index.html", false))
			return;
	}
	http_reply_error(req, 404, "not_found", "找不到该页面或接口");
}

/* ---- routing ---- */

static bool match(const char *pattern, const char *path, struct http_request *req)
{
	unsigned np = 0;
	const char *a = pattern, *b = path;
	while (*a && *b) {
		if (a[0] == '{' && a[1] == '}') {
			const char *end = strchr(b, '/');
			size_t n = end ? (size_t)(end - b) : strlen(b);
			if (n == 0 || n >= sizeof(req->params[0]) || np == MAX_PARAMS)
				return false;
			memcpy(req->params[np], b, n);
			req->params[np][n] = '\0';
			np++;
			a += 2;
			b += n;
			continue;
		}
		if (*a != *b)
			return false;
		a++;
		b++;
	}
	if (*a || *b)
		return false;
	req->nparams = np;
	return true;
}

static void dispatch(struct http_request *req)
{
	const struct http_config *cfg = &req->srv->cfg;
	bool path_known = false;
	for (size_t i = 0; i < cfg->nroutes; i++) {
		if (!match(cfg->routes[i].pattern, req->path, req))
			continue;
		path_known = true;
		if (strcmp(cfg->routes[i].method, req->method) != 0 &&
		    !(strcmp(req->method, "HEAD") == 0 && strcmp(cfg->routes[i].method, "GET") == 0))
			continue;
		req->route = (int)i;
		if (req->too_big) {
			http_reply_error(req, 413, "too_large", "请求内容过大");
			return;
		}
		cfg->routes[i].fn(req, cfg->ctx);
		return;
	}
	if (path_known) {
		http_reply_error(req, 405, "method_not_allowed", "不支持该请求方法");
		return;
	}
	serve_static(req);
}

static void ip4_bytes(const void *in4, struct ip_bytes *out)
{
	memset(out->b, 0, 10);
	out->b[10] = out->b[11] = 0xff;
	memcpy(out->b + 12, in4, 4);
}

/* Parses one textual address (inet_pton, IPv4 or IPv6) of n bytes. */
static bool ip_parse(const char *text, size_t n, struct ip_bytes *out)
{
	char buf[INET6_ADDRSTRLEN];
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, text, n);
	buf[n] = '\0';
	unsigned char a4[4];
	if (inet_pton(AF_INET, buf, a4) == 1) {
		ip4_bytes(a4, out);
		return true;
	}
	return inet_pton(AF_INET6, buf, out->b) == 1;
}

/* Writes the canonical text of an address (IPv4-mapped ones as IPv4). */
static void ip_format(const struct ip_bytes *a, char *out, size_t n)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (memcmp(a->b, mapped, 12) == 0)
		inet_ntop(AF_INET, a->b + 12, out, (socklen_t)n);
	else
		inet_ntop(AF_INET6, a->b, out, (socklen_t)n);
}

static const char *trim_span(const char *p, const char *end, size_t *n)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*n = (size_t)(end - p);
	return p;
}

/* The comma-separated list into out (at most max); false on any bad entry. */
static bool proxies_parse(const char *list, struct ip_bytes *out, size_t max, size_t *count)
{
	size_t k = 0;
	for (const char *p = list;;) {
		const char *comma = strchr(p, ',');
		const char *end = comma ? comma : p + strlen(p);
		size_t n;
		const char *t = trim_span(p, end, &n);
		if (k == max || !ip_parse(t, n, &out[k]))
			return false;
		k++;
		if (!comma)
			break;
		p = comma + 1;
	}
	*count = k;
	return true;
}

bool http_proxy_list_valid(const char *list)
{
	struct ip_bytes tmp[MAX_PROXIES];
	size_t n;
	return list && proxies_parse(list, tmp, MAX_PROXIES, &n);
}

/* The socket's peer; behind a trusted proxy, the last address of its
 * X-Forwarded-For (the one that proxy saw: with nginx's $remote_addr the
 * header holds only that one, with $proxy_add_x_forwarded_for it is
 * appended last, so what a client put in front of it is not believed).
 * A header that is missing or not an address leaves the proxy's own. */
static void client_ip(struct http_request *req, char *out, size_t n)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(out, n, "?");
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	struct ip_bytes peer;
	if (sa->sa_family == AF_INET)
		ip4_bytes(&((const struct sockaddr_in *)(const void *)sa)->sin_addr, &peer);
	else if (sa->sa_family == AF_INET6)
		memcpy(peer.b, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
	else
		return;
	const struct http_server *srv = req->srv;
	for (size_t i = 0; i < srv->nproxies; i++) {
		if (memcmp(srv->proxies[i].b, peer.b, 16) != 0)
			continue;
		const char *xff = http_req_header(req, "X-Forwarded-For");
		if (xff) {
			const char *last = strrchr(xff, ',');
			last = last ? last + 1 : xff;
			size_t len;
			const char *t = trim_span(last, last + strlen(last), &len);
			struct ip_bytes fwd;
			if (ip_parse(t, len, &fwd))
				peer = fwd;
		}
		break;
	}
	ip_format(&peer, out, n);
}

static enum MHD_Result queue(struct http_request *req)
{
	enum MHD_Result r;
	if (req->shared) {
		/* libmicrohttpd takes its own reference for the connection */
		r = MHD_queue_response(req->conn, req->status, req->shared->resp);
		http_shared_put(req->shared);
		req->shared = NULL;
	} else {
		r = MHD_queue_response(req->conn, req->status, req->response);
		MHD_destroy_response(req->response);
		req->response = NULL;
	}
	req->state = REQ_DONE;
	return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct http_server *srv = cls;
	struct http_request *req = *con_cls;
	if (!req) {
		req = ts_calloc(1, sizeof(*req));
		req->srv = srv;
		req->conn = conn;
		req->method = method;
		req->path = url;
		req->route = -1;
		req->started = ts_now_us();
		ts_buf_init(&req->body, srv->cfg.max_body);
		*con_cls = req;
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > srv->cfg.max_body)
			req->too_big = true;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!req->too_big && ts_buf_append(&req->body, upload_data, *upload_data_size))
			req->too_big = true;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (req->state == REQ_NEW) {
		req->state = REQ_DISPATCHED;
		dispatch(req);
	} else if (req->suspended && atomic_load(&req->woken)) {
		req->suspended = false;
		req->resume(req, srv->cfg.ctx);
	} else if (req->suspended) {
		return MHD_YES;
	}
	if (req->response || req->shared)
		return queue(req);
	if (req->suspended)
		return MHD_YES;
	http_reply_error(req, 500, "internal", "服务器内部错误");
	return queue(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct http_request *req = *con_cls;
	if (!req)
		return;
	size_t r = req->route >= 0 ? (size_t)req->route : srv->cfg.nroutes;
	atomic_fetch_add(&srv->stats[r].count[status_slot(req->status)], 1);
	atomic_fetch_add(&srv->stats[r].us_total, (uint64_t)(ts_now_us() - req->started));
	if (req->data_free)
		req->data_free(req->data);
	if (req->response)
		MHD_destroy_response(req->response);
	http_shared_put(req->shared);
	for (unsigned i = 0; i < req->nhdr; i++) {
		free(req->hdr_names[i]);
		free(req->hdr_values[i]);
	}
	ts_buf_free(&req->body);
	free(req);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	ts_log_warn("http.mhd", "%s", msg);
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len, struct ts_error *err)
{
	char host[256] = "";
	const char *colon = strrchr(listen, ':');
	if (!colon)
		return ts_error_set(err, TS_EINVAL, "bad_listen", "--listen 应为 地址:端口");
	size_t hn = (size_t)(colon - listen);
	if (hn >= sizeof(host))
		return ts_error_set(err, TS_EINVAL, "bad_listen", "--listen 地址过长");
	memcpy(host, listen, hn);
	host[hn] = '\0';
	char *end = NULL;
	long port = strtol(colon + 1, &end, 10);
	if (!end || *end || port < 0 || port > 65535)
		return ts_error_set(err, TS_EINVAL, "bad_listen", "--listen 端口不正确");
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[') {
		size_t l = strlen(host);
		if (l < 2 || host[l - 1] != ']')
			return ts_error_set(err, TS_EINVAL, "bad_listen", "--listen IPv6 地址应写成 [::1]:端口");
		host[l - 1] = '\0';
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
			return ts_error_set(err, TS_EINVAL, "bad_listen", "--listen IPv6 地址不正确");
		*len = sizeof(*a);
		return 0;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	if (!host[0] || strcmp(host, "*") == 0)
		a->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (strcmp(host, "localhost") == 0)
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
		return ts_error_set(err, TS_EINVAL, "bad_listen", "--listen 地址不正确：%s", host);
	*len = sizeof(*a);
	return 0;
}

/* libmicrohttpd's own decoding of %HH in the path and the query, except that
 * a decoded NUL becomes DEL (0x7f): handed to a handler as a C string, the
 * value would otherwise end at the NUL, and "/api/v1/applications/7%00x"
 * would be application 7. DEL is no part of any id, code or key, so such a
 * request is refused like any other bad value. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	(void)cls;
	(void)conn;
	size_t n = MHD_http_unescape(s);
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0')
			s[i] = 0x7f;
	return n;
}

int http_server_start(const struct http_config *cfg, struct http_server **out, struct ts_error *err)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	int rc = parse_listen(cfg->listen, &ss, &sslen, err);
	if (rc)
		return rc;
	struct http_server *srv = ts_calloc(1, sizeof(*srv));
	srv->cfg = *cfg;
	if (cfg->trusted_proxies && !proxies_parse(cfg->trusted_proxies, srv->proxies, MAX_PROXIES, &srv->nproxies)) {
		free(srv);
		return ts_error_set(err, TS_EINVAL, "invalid", "受信任代理地址无效：%s（应为以逗号分隔的 IP 地址，至多 %d 个）",
				    cfg->trusted_proxies, MAX_PROXIES);
	}
	srv->stats = ts_calloc(cfg->nroutes + 1, sizeof(*srv->stats));
	srv->rate = ts_calloc(RATE_SLOTS, sizeof(*srv->rate));
	pthread_mutex_init(&srv->rate_mu, NULL);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | HTTP_POLL_MODE | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	srv->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(cfg->threads ? cfg->threads : 2),
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)(cfg->conn_limit ? cfg->conn_limit : 10000),
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->per_ip_conn_limit,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(cfg->timeout_s ? cfg->timeout_s : 30),
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(16 * 1024), MHD_OPTION_LISTEN_BACKLOG_SIZE,
		(unsigned)4096, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
		MHD_OPTION_END);
	if (!srv->daemon) {
		free(srv->stats);
		free(srv->rate);
		free(srv);
		return ts_error_set(err, TS_EIO, "listen_failed", "无法在 %s 上监听（端口被占用或无权限？）", cfg->listen);
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = di ? di->port : 0;
	*out = srv;
	return 0;
}

unsigned http_server_port(struct http_server *srv) { return srv->port; }

void http_server_quiesce(struct http_server *srv)
{
	if (srv && srv->daemon) {
		MHD_socket s = MHD_quiesce_daemon(srv->daemon);
		if (s != MHD_INVALID_SOCKET)
			close(s);
	}
}

void http_server_stop(struct http_server *srv)
{
	if (!srv)
		return;
	MHD_stop_daemon(srv->daemon);
	pthread_mutex_destroy(&srv->rate_mu);
	free(srv->stats);
	free(srv->rate);
	free(srv);
}
