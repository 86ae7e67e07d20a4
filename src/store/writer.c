/* store/writer.c — the submission writer: one thread, jobs in arrival order,
 * one transaction per batch (group commit).
 *
 * Request threads append jobs to a FIFO under a mutex; the writer takes
 * everything queued (up to WRITER_MAX_BATCH), lets the backend assign ranks and
 * commit the batch as one transaction, then calls each job's done() in order.
 * Nothing is answered before its commit returned, and a failed commit answers
 * every job of the batch "unavailable", so no 201 is ever sent for data that
 * was not stored.
 */
#include "store/store_impl.h"
#include "core/log.h"
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
	for (size_t i = 0; i < n; i++)
		jobs[i]->done(jobs[i], jobs[i]->arg);
	if (s->ops->after_batch)
		s->ops->after_batch(s);
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

void store_writer_stop(struct store *s)
{
	struct store_writer *w = &s->writer;
	if (!w->running)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	w->running = false;
}

void store_writer_drain(struct store *s)
{
	store_writer_stop(s);
}
