/* notify/sms.c — file, http (libcurl) and log SMS gateways. */
#include "notify/sms.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "domain/mask.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum sms_kind { SMS_FILE, SMS_HTTP, SMS_LOG };

struct sms_gateway {
	enum sms_kind kind;
	char *target;
	char *tmpl;
	char *auth;
	pthread_mutex_t mu;
};

int sms_open(const char *spec, struct sms_gateway **out, struct ts_error *err)
{
	struct sms_gateway *g = ts_calloc(1, sizeof(*g));
	pthread_mutex_init(&g->mu, NULL);
	if (!spec || strcmp(spec, "log") == 0) {
		g->kind = SMS_LOG;
	} else if (strncmp(spec, "file:", 5) == 0 && spec[5]) {
		g->kind = SMS_FILE;
		g->target = ts_strdup(spec + 5);
	} else if (strncmp(spec, "http:", 5) == 0 || strncmp(spec, "https:", 6) == 0) {
		g->kind = SMS_HTTP;
		g->target = ts_strdup(strncmp(spec, "http:http", 9) == 0 ? spec + 5 : spec);
		const char *t = getenv("TISHENG_SMS_TEMPLATE");
		g->tmpl = ts_strdup(t && *t ? t : "{\"phone\":\"{phone}\",\"text\":\"{text}\"}");
		const char *a = getenv("TISHENG_SMS_AUTH");
		g->auth = a && *a ? ts_strdup(a) : NULL;
	} else {
		free(g);
		return ts_error_set(err, TS_EINVAL, "bad_sms", "无法识别的 --sms：%s（应为 file:PATH、http(s)://URL 或 log）",
				    spec);
	}
	*out = g;
	return 0;
}

void sms_close(struct sms_gateway *g)
{
	if (!g)
		return;
	pthread_mutex_destroy(&g->mu);
	free(g->target);
	free(g->tmpl);
	free(g->auth);
	free(g);
}

static int send_file(struct sms_gateway *g, const char *phone, const char *text, const char *code,
		     struct ts_error *err)
{
	json_t *o = json_pack("{s:s,s:s}", "phone", phone, "text", text);
	if (code)
		json_object_set_new(o, "code", json_string(code));
	char *line = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!line)
		return ts_error_set(err, TS_EINTERNAL, "internal", "短信内容编码失败");
	size_t n = strlen(line);
	line[n] = '\n';
	int rc = 0;
	pthread_mutex_lock(&g->mu);
	int fd = open(g->target, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fd < 0 || write(fd, line, n + 1) != (ssize_t)(n + 1))
		rc = ts_error_set(err, TS_EIO, "sms_failed", "短信发送失败，请稍后重试");
	if (fd >= 0)
		close(fd);
	pthread_mutex_unlock(&g->mu);
	free(line);
	return rc;
}

/* Replaces {phone} and {text} in the template with JSON-escaped values. */
static int render_template(const char *tmpl, const char *phone, const char *text, struct ts_buf *out)
{
	json_t *jp = json_string(phone), *jt = json_string(text);
	char *ep = json_dumps(jp, JSON_ENCODE_ANY), *et = json_dumps(jt, JSON_ENCODE_ANY);
	json_decref(jp);
	json_decref(jt);
	int rc = 0;
	for (const char *p = tmpl; *p && !rc;) {
		if (strncmp(p, "{phone}", 7) == 0) {
			rc = ts_buf_append(out, ep + 1, strlen(ep) - 2);
			p += 7;
		} else if (strncmp(p, "{text}", 6) == 0) {
			rc = ts_buf_append(out, et + 1, strlen(et) - 2);
			p += 6;
		} else {
			rc = ts_buf_append(out, p++, 1);
		}
	}
	free(ep);
	free(et);
	return rc;
}

static int send_http(struct sms_gateway *g, const char *phone, const char *text, struct ts_error *err)
{
	struct ts_buf body;
	ts_buf_init(&body, 16384);
	if (render_template(g->tmpl, phone, text, &body)) {
		ts_buf_free(&body);
		return ts_error_set(err, TS_EINTERNAL, "sms_failed", "短信内容过长");
	}
	CURL *c = curl_easy_init();
	if (!c) {
		ts_buf_free(&body);
		return ts_error_set(err, TS_EINTERNAL, "sms_failed", "短信网关初始化失败");
	}
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json; charset=utf-8");
	if (g->auth)
		h = curl_slist_append(h, g->auth);
	curl_easy_setopt(c, CURLOPT_URL, g->target);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.ptr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body.len);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	CURLcode cr = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	ts_buf_free(&body);
	if (cr != CURLE_OK || status < 200 || status >= 300) {
		char masked[32];
		mask_phone(phone, masked, sizeof(masked));
		ts_log_warn("sms.failed", "gateway answered %ld (%s) for %s", status, curl_easy_strerror(cr), masked);
		return ts_error_set(err, TS_EIO, "sms_failed", "短信发送失败，请稍后重试");
	}
	return 0;
}

int sms_send(struct sms_gateway *g, const char *phone, const char *text, const char *code, struct ts_error *err)
{
	switch (g->kind) {
	case SMS_FILE:
		return send_file(g, phone, text, code, err);
	case SMS_HTTP:
		return send_http(g, phone, text, err);
	case SMS_LOG: {
		char masked[32];
		mask_phone(phone, masked, sizeof(masked));
		ts_log_info("sms.log", "SMS to %s (no gateway configured; start with --sms file:PATH)", masked);
		return 0;
	}
	}
	return 0;
}
