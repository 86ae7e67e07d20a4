/* bench/floor.c — the HTTP floor: a libmicrohttpd server with the flags of
 * src/http/http.c (internal thread pool of 2, poll, suspend/resume, 16 KiB
 * connection memory) that takes a POST body and answers a fixed 201 of the
 * size of a submission's answer. It tells how much of nginx's rate is left
 * for a submission before Tisheng does any work of its own.
 *
 *   build/bench-floor PORT MODE      (then: wrk -s bench/floor.lua …)
 *
 * MODE 0: answer at once; 1: parse the body with jansson first (as the
 * submission handler does); 2: suspend, and a second thread resumes the
 * connections in waves after 1 ms (the hand-off to the writer, no store). */
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int mode;
static const char answer[] =
	"{\"id\":123456,\"program\":\"bench-skill-1\",\"category\":\"technician\",\"rank\":4242,\"quota\":\"within\","
	"\"status\":\"submitted\",\"receipt\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
	"\"submitted_at\":\"2026-12-02T19:00:00.123456+08:00\"}";

struct req {
	char *body;
	size_t n, cap;
	int suspended;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct MHD_Connection **queue;
static size_t queue_n, queue_cap;

static void *resumer(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&mu);
		while (!queue_n)
			pthread_cond_wait(&cv, &mu);
		struct MHD_Connection **wave = queue;
		size_t n = queue_n;
		queue = NULL;
		queue_n = queue_cap = 0;
		pthread_mutex_unlock(&mu);
		usleep(1000);
		for (size_t i = 0; i < n; i++)
			MHD_resume_connection(wave[i]);
		free(wave);
	}
	return NULL;
}

static enum MHD_Result reply(struct MHD_Connection *c)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(sizeof(answer) - 1, (void *)answer, MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	enum MHD_Result x = MHD_queue_response(c, 201, r);
	MHD_destroy_response(r);
	return x;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *up, size_t *up_n, void **con_cls)
{
	struct req *r = *con_cls;
	if (!r) {
		*con_cls = calloc(1, sizeof(*r));
		return *con_cls ? MHD_YES : MHD_NO;
	}
	if (*up_n) {
		if (r->n + *up_n > r->cap) {
			size_t cap = (r->n + *up_n) * 2;
			char *b = realloc(r->body, cap);
			if (!b)
				return MHD_NO;
			r->body = b;
			r->cap = cap;
		}
		memcpy(r->body + r->n, up, *up_n);
		r->n += *up_n;
		*up_n = 0;
		return MHD_YES;
	}
	if (mode == 1 && r->n)
		json_decref(json_loadb(r->body, r->n, 0, NULL));
	if (mode == 2 && !r->suspended) {
		r->suspended = 1;
		MHD_suspend_connection(c);
		pthread_mutex_lock(&mu);
		if (queue_n == queue_cap) {
			queue_cap = queue_cap ? queue_cap * 2 : 64;
			queue = realloc(queue, queue_cap * sizeof(*queue));
		}
		queue[queue_n++] = c;
		pthread_cond_signal(&cv);
		pthread_mutex_unlock(&mu);
		return MHD_YES;
	}
	return reply(c);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
	struct req *r = *con_cls;
	if (r)
		free(r->body);
	free(r);
	*con_cls = NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench-floor PORT [MODE 0|1|2]\n");
		return 2;
	}
	unsigned port = (unsigned)atoi(argv[1]);
	mode = argc > 2 ? atoi(argv[2]) : 0;
	pthread_t t;
	if (mode == 2 && pthread_create(&t, NULL, resumer, NULL))
		return 1;
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_ALLOW_SUSPEND_RESUME, (uint16_t)port, NULL, NULL,
		on_request, NULL, MHD_OPTION_THREAD_POOL_SIZE, 2u, MHD_OPTION_CONNECTION_LIMIT, 10000u,
		MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096u, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "bench-floor: cannot listen on port %u\n", port);
		return 1;
	}
	pause();
	MHD_stop_daemon(d);
	return 0;
}
