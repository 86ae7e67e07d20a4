/* core/thread.c — see thread.h. */
#include "core/thread.h"

void ts_thread_stop(pthread_t thread, pthread_mutex_t *mu, pthread_cond_t *cv, bool *stopping)
{
	pthread_mutex_lock(mu);
	*stopping = true;
	pthread_cond_signal(cv);
	pthread_mutex_unlock(mu);
	pthread_join(thread, NULL);
}
