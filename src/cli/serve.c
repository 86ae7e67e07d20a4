/* cli/serve.c — `tisheng serve`: the API, the pages, until SIGINT/SIGTERM. */
#include "api/api.h"
#include "cli/cli.h"
#include "core/log.h"
#include "core/time.h"
#include "http/http.h"
#include "notify/sms.h"
#include "store/store.h"

#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { O_DATA = 1000, O_STORE, O_LISTEN, O_SMS, O_IPLIMIT, O_WEB, O_THREADS, O_CONNS, O_TESTCLOCK, O_PERIP, O_MAXQUEUE, O_TIMEOUT,
       O_PROXY };

static bool parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end = NULL;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || !end || *end || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

static const char *find_web(const char *given, char *buf, size_t n)
{
	if (given)
		return given;
	snprintf(buf, n, "%s/web/dist", cli_share_dir());
	if (access(buf, R_OK) == 0)
		return buf;
	return NULL;
}

int cli_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{"data", required_argument, NULL, O_DATA},     {"store", required_argument, NULL, O_STORE},
		{"listen", required_argument, NULL, O_LISTEN}, {"sms", required_argument, NULL, O_SMS},
		{"ip-limit", required_argument, NULL, O_IPLIMIT}, {"web", required_argument, NULL, O_WEB},
		{"threads", required_argument, NULL, O_THREADS}, {"max-connections", required_argument, NULL, O_CONNS},
		{"test-clock", no_argument, NULL, O_TESTCLOCK},
		{"per-ip-connections", required_argument, NULL, O_PERIP}, {"max-queue", required_argument, NULL, O_MAXQUEUE},
		{"timeout", required_argument, NULL, O_TIMEOUT}, {"trusted-proxy", required_argument, NULL, O_PROXY},
		{NULL, 0, NULL, 0},
	};
	const char *data = cli_default_data(), *store_url = NULL, *listen = "127.0.0.1:8080", *sms_spec = "log",
		   *web = NULL, *proxies = NULL;
	struct api_config cfg;
	api_config_defaults(&cfg);
	unsigned threads = (unsigned)sysconf(_SC_NPROCESSORS_ONLN), conns = 20000, per_ip = 0, max_queue = 20000,
		 timeout_s = 30;
	bool threads_given = false;
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (cli_value_is_option(c, opts, argv))
			return 2;
		switch (c) {
		case O_DATA: data = optarg; break;
		case O_STORE: store_url = optarg; break;
		case O_LISTEN: listen = optarg; break;
		case O_SMS: sms_spec = optarg; break;
		case O_WEB: web = optarg; break;
		case O_TESTCLOCK: cfg.test_clock = true; break;
		case O_PROXY:
			if (!http_proxy_list_valid(optarg)) {
				cli_fail("--trusted-proxy 应为以逗号分隔的 IP 地址（至多 16 个），例如 127.0.0.1");
				return 2;
			}
			proxies = optarg;
			break;
		case O_PERIP:
			if (!parse_uint(optarg, 1000000, &per_ip)) {
				cli_fail("--per-ip-connections 应为非负整数（0 为不限）");
				return 2;
			}
			break;
		case O_MAXQUEUE:
			if (!parse_uint(optarg, 10000000, &max_queue) || !max_queue) {
				cli_fail("--max-queue 应为正整数");
				return 2;
			}
			break;
		case O_TIMEOUT:
			if (!parse_uint(optarg, 3600, &timeout_s) || !timeout_s) {
				cli_fail("--timeout 应为 1–3600 秒");
				return 2;
			}
			break;
		case O_IPLIMIT:
			if (!parse_uint(optarg, 1000000, &cfg.ip_limit)) {
				cli_fail("--ip-limit 应为非负整数（每分钟请求数，0 为不限）");
				return 2;
			}
			break;
		case O_THREADS:
			if (!parse_uint(optarg, 256, &threads) || !threads) {
				cli_fail("--threads 应为 1–256");
				return 2;
			}
			threads_given = true;
			break;
		case O_CONNS:
			if (!parse_uint(optarg, 1000000, &conns) || !conns) {
				cli_fail("--max-connections 应为正整数");
				return 2;
			}
			break;
		default:
			cli_fail_option(c, opts, argv);
			return 2;
		}
	}
	if (optind < argc) {
		cli_fail("多余的参数：%s", argv[optind]);
		return 2;
	}

	/* Signals are taken by sigwait below; every thread started after this
	 * inherits the mask. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct ts_error err;
	struct crypt_keys keys;
	struct store *store = NULL;
	struct sms_gateway *sms = NULL;
	struct api_ctx ctx;
	struct http_server *srv = NULL;
	int rc = 1;
	bool ctx_ok = false;
	if (crypt_keys_load(data, &keys, &err)) {
		cli_fail("%s", err.message);
		return 1;
	}
	const char *url = cli_store_url(data, store_url);
	if (store_open(url, data, &store, &err)) {
		cli_fail_store_open(url, data, &err);
		goto out;
	}
	/* On PostgreSQL a request thread mostly waits for the network (the
	 * session and person look-ups are round trips): four per core. */
	if (!threads_given && strcmp(store_backend(store), "postgres") == 0)
		threads = threads * 4 > 64 ? 64 : threads * 4;
	if (store_writer_start(store, &err) || sms_open(sms_spec, &sms, &err)) {
		cli_fail("%s", err.message);
		goto out;
	}
	char calendar[PATH_MAX];
	snprintf(calendar, sizeof(calendar), "%s/data/holidays.json", cli_share_dir());
	cfg.calendar_path = calendar;
	if (api_ctx_init(&ctx, store, &keys, sms, &cfg, &err)) {
		cli_fail("%s", err.message);
		goto out;
	}
	ctx_ok = true;
	ctx.cfg.max_queue = max_queue;
	char webbuf[PATH_MAX];
	size_t nroutes;
	const struct http_route *routes = api_routes(&nroutes);
	struct http_config hc = {
		.listen = listen,
		.routes = routes,
		.nroutes = nroutes,
		.ctx = &ctx,
		.web_dir = find_web(web, webbuf, sizeof(webbuf)),
		.max_body = 64 * 1024,
		.threads = threads,
		.conn_limit = conns,
		.per_ip_conn_limit = per_ip,
		.timeout_s = timeout_s,
		.trusted_proxies = proxies,
	};
	if (http_server_start(&hc, &srv, &err)) {
		cli_fail("%s", err.message);
		goto out;
	}
	ctx.http = srv;
	if (!hc.web_dir)
		ts_log_warn("serve.no_pages",
			    "页面未构建（没有 %s/web/dist）：只提供 API；运行 make（需要 npm）或 scripts/demo.sh 构建页面，或用 --web DIR 指定",
			    cli_share_dir());
	ts_log_info("serve.start", "listening on %s (port %u), data %s, store %s, %u threads, sms %s, ip-limit %u/min, web %s",
		    listen, http_server_port(srv), data, store_backend(store), threads,
		    strncmp(sms_spec, "file:", 5) == 0 ? "file" : sms_spec, cfg.ip_limit, hc.web_dir ? hc.web_dir : "(none)");
	int sig = 0;
	sigwait(&set, &sig);
	ts_log_info("serve.stop", "signal %d: finishing queued submissions and stopping", sig);
	http_server_quiesce(srv);
	store_writer_drain(store);
	usleep(200 * 1000);
	rc = 0;
out:
	http_server_stop(srv);
	if (ctx_ok)
		api_ctx_free(&ctx);
	store_close(store);
	sms_close(sms);
	crypt_keys_wipe(&keys);
	return rc;
}
