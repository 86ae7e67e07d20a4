/* bench/writer.c — the submission writer alone, without HTTP: how much CPU
 * the store spends per accepted submission, at a given batch size.
 *
 *   build/bench-writer [N [BATCH [STORE_URL]]]
 *
 * Creates N applicants in a fresh SQLite database in a temp dir (or uses
 * STORE_URL, e.g. a throw-away PostgreSQL database), then submits N jobs with
 * bodies of the bench's size (600-byte public fields, a 160-byte sealed part,
 * random blind indexes in the form crypt_blind_index writes, random ledger
 * ids) in waves of BATCH (default 300, about the batch size the HTTP bench
 * reaches at 1 000 connections): each wave is queued at once and waited for,
 * so each commit holds one wave. Prints one key=value line:
 * jobs/s of wall time, and the process's CPU µs per job (user + system; the
 * main thread only queues and waits).
 */
#include "core/error.h"
#include "core/time.h"
#include "crypt/crypt.h"
#include "store/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct job {
	struct submit_job job;
	char id_bidx[CRYPT_HEX_BYTES], ledger_id[CRYPT_HEX_BYTES], union_code[32];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long done_n, accepted_n;

static void on_done(struct submit_job *j, void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	done_n++;
	accepted_n += j->rc == 0;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

static void rand_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < nbytes * 2; i++)
		out[i] = hex[random() & 15];
	out[nbytes * 2] = '\0';
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	long batch = argc > 2 ? atol(argv[2]) : 300;
	char dir[] = "/tmp/tisheng-bench-writer.XXXXXX", url[256];
	if (n <= 0 || batch <= 0 || !mkdtemp(dir))
		return 2;
	if (argc > 3)
		snprintf(url, sizeof(url), "%s", argv[3]);
	else
		snprintf(url, sizeof(url), "sqlite:%s/tisheng.db", dir);
	struct ts_error err;
	struct store *s;
	if (store_open(url, dir, &s, &err)) {
		fprintf(stderr, "bench-writer: %s\n", err.message);
		return 1;
	}
	srandom(1);
	struct job *jobs = calloc((size_t)n, sizeof(*jobs));
	char fields[700], secret[160];
	memset(secret, 's', sizeof(secret));
	int64_t now = ts_now_us();
	for (long i = 0; i < n; i++) {
		char phone_bidx[CRYPT_HEX_BYTES];
		rand_hex(phone_bidx, CRYPT_BIDX_BYTES);
		int64_t app;
		if (store_applicant_ensure(s, phone_bidx, "sealed-phone", 12, now, &app, &err)) {
			fprintf(stderr, "bench-writer: %s\n", err.message);
			return 1;
		}
		struct job *j = &jobs[i];
		rand_hex(j->id_bidx, CRYPT_BIDX_BYTES);
		rand_hex(j->ledger_id, 32);
		snprintf(j->union_code, sizeof(j->union_code), "yn-530102-%03ld", i % 500);
		j->job = (struct submit_job){.program = "bench-skill-1",
					     .category = i % 3 ? "technician" : "senior-technician",
					     .group = "bench-1",
					     .series = "bench-1",
					     .level = "技师（二级）",
					     .year = 2022,
					     .places = n,
					     .cap = n,
					     .applicant = app,
					     .id_bidx = j->id_bidx,
					     .ledger_id = j->ledger_id,
					     .union_code = j->union_code,
					     .fields_json = fields,
					     .secret = secret,
					     .secret_len = sizeof(secret),
					     .done = on_done};
	}
	/* one shared body of the bench's size; the store copies it */
	snprintf(fields, sizeof(fields), "{\"name\":\"王晓梅\",\"gender\":\"女\",\"ethnicity\":\"傈僳族\",\"unit\":\"%s\",\"occupation\":\"%s\"}",
		 "曲靖市交通运输有限公司曲靖市交通运输有限公司曲靖市交通运输有限公司曲靖市交通运输有限公司曲靖市交通运输有限公司",
		 "砌筑工砌筑工砌筑工砌筑工砌筑工砌筑工砌筑工砌筑工砌筑工砌筑工砌筑工砌筑工砌筑工砌筑工砌筑工砌筑工砌筑工");
	if (store_writer_start(s, &err)) {
		fprintf(stderr, "bench-writer: %s\n", err.message);
		return 1;
	}
	double c0 = cpu_s();
	int64_t t0 = ts_now_us();
	for (long i = 0; i < n; i += batch) {
		long m = i + batch < n ? batch : n - i;
		for (long k = 0; k < m; k++)
			store_submit(s, &jobs[i + k].job);
		pthread_mutex_lock(&mu);
		while (done_n < i + m)
			pthread_cond_wait(&cv, &mu);
		pthread_mutex_unlock(&mu);
	}
	double wall = (double)(ts_now_us() - t0) / 1e6, cpu = cpu_s() - c0;
	store_close(s);
	printf("writer_jobs=%ld writer_batch=%ld writer_accepted=%ld writer_jobs_per_s=%.0f writer_cpu_us_per_job=%.1f\n", n,
	       batch, accepted_n, (double)n / wall, cpu * 1e6 / (double)n);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench-writer: could not remove %s\n", dir);
	free(jobs);
	return accepted_n == n ? 0 : 1;
}
