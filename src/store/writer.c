/* store/writer.c — the submission writer: one thread, jobs in arrival order,
 * one transaction per batch (group commit).
 *
 * Request threads append jobs to a FIFO under a mutex; the writer takes
 * everything queued (up to WRITER_MAX_BATCH), lets the backend assign ranks and
 * commit the batch as one transaction, then calls each job's done() in order.
 * Nothing is answered before its commit returned, and a failed commit answers
 * every job of the batch "unavailable", so no 201 is ever sent for data that
 * was not stored.
 *
 * A backend whose commit can return before the disk has it (SQLite: the
 * writer's connection commits with synchronous=NORMAL) sets sync_commits.
 * Then the writer gives each committed batch to the syncer thread and goes
 * on with the next batch; the syncer syncs once for all the batches it has
 * and only then answers their jobs, in commit order. A job is answered only
 * after a sync that began after its own commit (so after every earlier
 * commit too): a 409 that rests on an earlier job's row is never sent
 * before that row is durable. A failed sync answers its jobs "unavailable".
 */
#include "store/store_impl.h"
#include "core/log.h"
#include "core/thread.h"
#include "core/time.h"

#include <stdlib.h>
#include <string.h>

#define WRITER_MAX_BATCH 2048

void store_base_init(struct store *s)
{
	store_writer_init(&s->writer);
	store_touches_init(&s->touches);
	store_scache_init(&s->sessions, false);
	store_persons_init(&s->persons);
}

void store_writer_init(struct store_writer *w)
{
	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	pthread_mutex_init(&w->sync_mu, NULL);
	pthread_cond_init(&w->sync_cv, NULL);
}

static int hist_slot(size_t n)
{
	int i = 0;
	for (size_t lim = 1; i < 7 && n > lim; lim *= 4)
		i++;
	return i;
}

static void run_batch(struct store *s, struct submit_job **jobs, size_t n)
{
	struct store_writer *w = &s->writer;
	int64_t t0 = ts_now_us();
	for (size_t i = 0; i < n; i++) {
		jobs[i]->rc = 0;
		ts_error_clear(&jobs[i]->err);
	}
	int rc = s->ops->submit_batch(s, jobs, n);
	int64_t t1 = ts_now_us();
	if (rc) {
		for (size_t i = 0; i < n; i++) {
			jobs[i]->rc = TS_EIO;
			ts_error_set(&jobs[i]->err, TS_EIO, "unavailable", "系统繁忙，申报未能保存，请稍后重试");
		}
		ts_log_error("writer.commit_failed", "batch of %zu failed: nothing acknowledged", n);
	}
	pthread_mutex_lock(&w->mu);
	w->stats.batches++;
	w->stats.jobs += n;
	w->stats.commit_us_total += (uint64_t)(t1 - t0);
	if (rc)
		w->stats.commit_failures++;
	w->stats.batch_hist[hist_slot(n)]++;
	pthread_mutex_unlock(&w->mu);
	if (s->ops->sync_commits) {
		for (size_t i = 0; i + 1 < n; i++)
			jobs[i]->next = jobs[i + 1];
		jobs[n - 1]->next = NULL;
		pthread_mutex_lock(&w->sync_mu);
		if (w->sync_tail)
			w->sync_tail->next = jobs[0];
		else
			w->sync_head = jobs[0];
		w->sync_tail = jobs[n - 1];
		pthread_cond_signal(&w->sync_cv);
		pthread_mutex_unlock(&w->sync_mu);
	} else {
		for (size_t i = 0; i < n; i++)
			jobs[i]->done(jobs[i], jobs[i]->arg);
	}
	if (s->ops->after_batch)
		s->ops->after_batch(s);
}

/* Answers a list of committed jobs after one sync; next is read before
 * done(), which may free the job. */
static void sync_and_answer(struct store *s, struct submit_job *list)
{
	struct store_writer *w = &s->writer;
	struct ts_error err;
	ts_error_clear(&err);
	int64_t t0 = ts_now_us();
	int rc = s->ops->sync_commits(s, &err);
	int64_t t1 = ts_now_us();
	pthread_mutex_lock(&w->mu);
	w->stats.syncs++;
	w->stats.sync_us_total += (uint64_t)(t1 - t0);
	if (rc)
		w->stats.sync_failures++;
	pthread_mutex_unlock(&w->mu);
	if (rc)
		ts_log_error("writer.sync_failed", "%s: the jobs waiting for it are answered unavailable", err.message);
	while (list) {
		struct submit_job *j = list;
		list = j->next;
		if (rc) {
			j->rc = TS_EIO;
			ts_error_set(&j->err, TS_EIO, "unavailable", "系统繁忙，申报未能确认保存，请稍后重试");
		}
		j->done(j, j->arg);
	}
}

static void *syncer_main(void *arg)
{
	pthread_setname_np(pthread_self(), "ts-syncer");
	struct store *s = arg;
	struct store_writer *w = &s->writer;
	pthread_mutex_lock(&w->sync_mu);
	for (;;) {
		while (!w->sync_head && !w->sync_stopping)
			pthread_cond_wait(&w->sync_cv, &w->sync_mu);
		if (!w->sync_head)
			break;
		struct submit_job *list = w->sync_head;
		w->sync_head = w->sync_tail = NULL;
		pthread_mutex_unlock(&w->sync_mu);
		sync_and_answer(s, list);
		pthread_mutex_lock(&w->sync_mu);
	}
	pthread_mutex_unlock(&w->sync_mu);
	return NULL;
}

static void *writer_main(void *arg)
{
	pthread_setname_np(pthread_self(), "ts-writer");
	struct store *s = arg;
	struct store_writer *w = &s->writer;
	struct submit_job **batch = calloc(WRITER_MAX_BATCH, sizeof(*batch));
	if (!batch)
		abort();
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->head && !w->stopping)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->head && w->stopping)
			break;
		size_t n = 0;
		while (w->head && n < WRITER_MAX_BATCH) {
			batch[n++] = w->head;
			w->head = w->head->next;
		}
		if (!w->head)
			w->tail = NULL;
		w->depth -= n;
		pthread_mutex_unlock(&w->mu);
		run_batch(s, batch, n);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	free(batch);
	return NULL;
}

int store_writer_start(struct store *s, struct ts_error *err)
{
	struct store_writer *w = &s->writer;
	if (w->running)
		return 0;
	if (s->ops->sync_commits && !w->sync_running) {
		if (pthread_create(&w->sync_thread, NULL, syncer_main, s) != 0)
			return ts_error_set(err, TS_EINTERNAL, "internal", "无法启动写入线程");
		w->sync_running = true;
	}
	if (pthread_create(&w->thread, NULL, writer_main, s) != 0)
		return ts_error_set(err, TS_EINTERNAL, "internal", "无法启动写入线程");
	w->running = true;
	return 0;
}

void store_submit(struct store *s, struct submit_job *job)
{
	struct store_writer *w = &s->writer;
	job->next = NULL;
	pthread_mutex_lock(&w->mu);
	if (w->tail)
		w->tail->next = job;
	else
		w->head = job;
	w->tail = job;
	w->depth++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

size_t store_writer_depth(struct store *s)
{
	return atomic_load(&s->writer.depth);
}

void store_writer_stats(struct store *s, struct store_writer_stats *out)
{
	pthread_mutex_lock(&s->writer.mu);
	*out = s->writer.stats;
	out->queue_depth = s->writer.depth;
	pthread_mutex_unlock(&s->writer.mu);
}

/* The writer first (it finishes its queue and hands the last batches to the
 * syncer), then the syncer, which answers everything it was given. */
void store_writer_stop(struct store *s)
{
	struct store_writer *w = &s->writer;
	if (w->running)
		ts_thread_stop(w->thread, &w->mu, &w->cv, &w->stopping);
	w->running = false;
	if (w->sync_running)
		ts_thread_stop(w->sync_thread, &w->sync_mu, &w->sync_cv, &w->sync_stopping);
	w->sync_running = false;
}

void store_writer_drain(struct store *s)
{
	store_writer_stop(s);
}
