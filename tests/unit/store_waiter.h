/* tests/unit/store_waiter.h — waiting for the writer's answers in the store
 * tests: a job's done() counts into a waiter, and wait_for() blocks until n
 * answers have come (static functions: each test file is its own program). */
#ifndef TS_TESTS_STORE_WAITER_H
#define TS_TESTS_STORE_WAITER_H

#include <pthread.h>

#include "store/store.h"

struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
};

/* A submit_job's done callback; arg is the struct waiter. */
static void job_done(struct submit_job *job, void *arg)
{
	(void)job;
	struct waiter *w = arg;
	pthread_mutex_lock(&w->mu);
	w->done++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Blocks until w has counted n answers in all. */
static void wait_for(struct waiter *w, int n)
{
	pthread_mutex_lock(&w->mu);
	while (w->done < n)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

#endif
