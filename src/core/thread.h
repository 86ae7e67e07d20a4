/* core/thread.h — stopping a background thread that waits on a condition. */
#ifndef TS_CORE_THREAD_H
#define TS_CORE_THREAD_H

#include <pthread.h>
#include <stdbool.h>

/* Sets *stopping under mu, wakes the thread (which waits on cv under mu and
 * ends once it sees *stopping) and joins it. */
void ts_thread_stop(pthread_t thread, pthread_mutex_t *mu, pthread_cond_t *cv, bool *stopping);

#endif
