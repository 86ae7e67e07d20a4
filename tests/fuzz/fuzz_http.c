/* tests/fuzz/fuzz_http.c — raw HTTP requests through libmicrohttpd and
 * Tisheng's own request code (src/http/http.c, included whole so its static
 * route matcher, body cap, suspend/resume and completion code are the real
 * ones), over an in-process socketpair (no network). The route table is the
 * server's (generated from src/api/api.c by build.sh); every handler is a stub
 * that reads what real handlers read — path parameters, query arguments
 * (MHD_GET_ARGUMENT_KIND), the session cookie, the Authorization header and
 * the body as JSON — and answers; POST /api/v1/applications is parked with
 * http_suspend and woken from outside as the writer would.
 * Input: the bytes a client sends on one connection. */
#include "http/http.c"

#include <jansson.h>
#include <signal.h>

static struct http_server fsrv;
static struct http_request *parked;

static void stub_resume(struct http_request *req, void *ctx)
{
	(void)ctx;
	http_reply_static(req, 201, "application/json", "{\"ok\":true}");
}

static void stub(struct http_request *req, void *ctx)
{
	(void)ctx;
	size_t n = 0;
	for (unsigned i = 0; i < MAX_PARAMS; i++)
		n += strlen(http_req_param(req, i));
	const char *q[] = {"status", "page", "q", "program", "union", "stage", "limit", "after"};
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		const char *v = http_req_query(req, q[i]);
		if (v)
			n += strlen(v);
	}
	const char *c = http_req_cookie(req, "__Host-tisheng");
	if (c)
		n += strlen(c);
	const char *a = http_req_header(req, "Authorization");
	if (a && strncmp(a, "Bearer ", 7) == 0)
		n += strlen(a + 7);
	(void)http_req_is_https(req);
	(void)http_rate_allow(req->srv, http_req_client_ip(req), http_req_route(req), 5);
	size_t blen;
	const char *body = http_req_body(req, &blen);
	if (blen) {
		json_error_t je;
		json_t *o = json_loadb(body, blen, JSON_REJECT_DUPLICATES, &je);
		json_decref(o);
	}
	if (strcmp(http_req_route(req), "app_submit") == 0 && !parked) {
		http_suspend(req, stub_resume);
		parked = req;
		return;
	}
	char out[64];
	snprintf(out, sizeof(out), "{\"n\":%zu}", n);
	http_add_header(req, "Cache-Control", "no-store");
	http_reply_static(req, 200, "application/json", out);
}

static const struct http_route routes[] = {
#include "routes.inc"
};

static void quiet_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	(void)fmt;
	(void)ap;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	fsrv.cfg.routes = routes;
	fsrv.cfg.nroutes = sizeof(routes) / sizeof(routes[0]);
	fsrv.cfg.max_body = 64 * 1024;
	fsrv.cfg.web_dir = NULL;
	fsrv.stats = ts_calloc(fsrv.cfg.nroutes + 1, sizeof(*fsrv.stats));
	fsrv.rate = ts_calloc(RATE_SLOTS, sizeof(*fsrv.rate));
	pthread_mutex_init(&fsrv.rate_mu, NULL);
	fsrv.daemon = MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL,
				       NULL, on_request, &fsrv, MHD_OPTION_EXTERNAL_LOGGER, quiet_log, NULL,
				       MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
				       MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_NOTIFY_COMPLETED,
				       on_completed, &fsrv, MHD_OPTION_END);
	if (!fsrv.daemon)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 200 * 1024)
		return 0;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(40000)};
	peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (MHD_add_connection(fsrv.daemon, sv[0], (const struct sockaddr *)&peer, sizeof(peer)) != MHD_YES) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	size_t off = 0;
	bool shut = false;
	char buf[16384];
	for (int iter = 0; iter < 400; iter++) {
		if (off < size) {
			ssize_t w = write(sv[1], data + off, size - off);
			if (w > 0)
				off += (size_t)w;
		}
		if (off == size && !shut) {
			shutdown(sv[1], SHUT_WR);
			shut = true;
		}
		MHD_run(fsrv.daemon);
		if (parked) {
			struct http_request *r = parked;
			parked = NULL;
			http_wake(r);
			MHD_run(fsrv.daemon);
		}
		ssize_t r = read(sv[1], buf, sizeof(buf));
		if (r == 0)
			break; /* the server closed the connection */
	}
	close(sv[1]);
	/* let MHD notice the closed peer and free the connection */
	for (int i = 0; i < 8; i++) {
		MHD_run(fsrv.daemon);
		if (parked) {
			struct http_request *r = parked;
			parked = NULL;
			http_wake(r);
		}
	}
	return 0;
}
