/* tests/unit/test_writer.c — the generic submission writer (store/writer.c)
 * over a backend that makes its commits durable apart (store_ops.sync_commits),
 * as the SQLite store does: a fake backend here records the order of commits
 * and syncs, so the tests can check what the real one cannot show, that no
 * job is answered before a sync that began after its commit, that answers
 * keep the commit order, that a failed sync answers its jobs "unavailable"
 * (and the next sync that works answers the later ones as usual), and that
 * stopping the writer answers everything it had.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "store/store_impl.h"

#define NJOBS 3000

/* The fake backend: each job gets the next commit number; a sync covers
 * every commit made before it began. */
struct fake {
	struct store base; /* first: the writer is given &base */
	_Atomic int64_t committed;    /* commits so far (jobs, in order) */
	_Atomic int64_t synced_upto;  /* commits covered by the last sync that worked */
	_Atomic int64_t failed_upto;  /* commits covered by the last sync that failed */
	_Atomic int fail_next_syncs;  /* how many of the coming syncs fail */
	_Atomic int syncs;
};

struct tjob {
	struct submit_job job;
	int64_t seq;           /* its commit number (1-based), set by the fake commit */
	int64_t answered_at;   /* order of its answer (1-based) */
	int64_t synced_seen;   /* synced_upto when it was answered */
	struct fake *f;
};

static _Atomic int64_t answers;

static int fake_submit_batch(struct store *s, struct submit_job **jobs, size_t n)
{
	struct fake *f = (struct fake *)s;
	for (size_t i = 0; i < n; i++) {
		struct tjob *t = (struct tjob *)jobs[i];
		t->seq = atomic_fetch_add(&f->committed, 1) + 1;
		jobs[i]->rc = 0;
		jobs[i]->rank = t->seq;
	}
	return 0;
}

static int fake_sync(struct store *s, struct ts_error *err)
{
	struct fake *f = (struct fake *)s;
	int64_t upto = atomic_load(&f->committed);
	usleep(300); /* a disk's flush: the writer runs on meanwhile */
	atomic_fetch_add(&f->syncs, 1);
	if (atomic_load(&f->fail_next_syncs) > 0) {
		atomic_fetch_sub(&f->fail_next_syncs, 1);
		atomic_store(&f->failed_upto, upto);
		return ts_error_set(err, TS_EIO, "unavailable", "同步失败（测试）");
	}
	atomic_store(&f->synced_upto, upto);
	return 0;
}

static const struct store_ops fake_ops = {
	.name = "fake",
	.submit_batch = fake_submit_batch,
	.sync_commits = fake_sync,
};

static void tjob_done(struct submit_job *job, void *arg)
{
	struct tjob *t = arg;
	(void)job;
	t->synced_seen = atomic_load(&t->f->synced_upto);
	t->answered_at = atomic_fetch_add(&answers, 1) + 1;
}

static struct fake *fake_new(void)
{
	struct fake *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->base.ops = &fake_ops;
	store_base_init(&f->base);
	atomic_store(&answers, 0);
	return f;
}

static void submit_all(struct fake *f, struct tjob *jobs, int from, int to)
{
	for (int i = from; i < to; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].f = f;
		jobs[i].job.done = tjob_done;
		jobs[i].job.arg = &jobs[i];
		store_submit(&f->base, &jobs[i].job);
		if (i % 97 == 0)
			usleep(200); /* arrivals spread over several batches */
	}
}

static void test_answered_after_a_sync_in_commit_order(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	static struct tjob jobs[NJOBS];
	struct ts_error err;
	assert_int_equal(store_writer_start(&f->base, &err), 0);
	submit_all(f, jobs, 0, NJOBS);
	store_writer_stop(&f->base); /* answers everything it had */
	assert_int_equal(atomic_load(&answers), NJOBS);
	for (int i = 0; i < NJOBS; i++) {
		assert_int_equal(jobs[i].job.rc, 0);
		/* arrival order is commit order is answer order */
		assert_int_equal(jobs[i].seq, i + 1);
		assert_int_equal(jobs[i].answered_at, i + 1);
		/* a sync that began after its commit had returned before its answer */
		assert_true(jobs[i].synced_seen >= jobs[i].seq);
	}
	struct store_writer_stats st;
	store_writer_stats(&f->base, &st);
	assert_int_equal(st.jobs, NJOBS);
	assert_true(st.syncs >= 1 && st.syncs <= st.batches);
	assert_int_equal(st.sync_failures, 0);
	/* several batches, so the overlap was exercised */
	assert_true(st.batches > 1);
	free(f);
}

static void test_failed_sync_answers_unavailable(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	static struct tjob jobs[400];
	struct ts_error err;
	atomic_store(&f->fail_next_syncs, 1);
	assert_int_equal(store_writer_start(&f->base, &err), 0);
	submit_all(f, jobs, 0, 200);
	/* wait until the failed sync has answered the first batch or batches */
	while (atomic_load(&answers) == 0)
		usleep(100);
	int64_t failed_upto = atomic_load(&f->failed_upto);
	assert_true(failed_upto >= 1);
	submit_all(f, jobs, 200, 400);
	store_writer_stop(&f->base);
	assert_int_equal(atomic_load(&answers), 400);
	int unavailable = 0;
	for (int i = 0; i < 400; i++) {
		if (jobs[i].job.rc) {
			/* only what the failed sync was to cover, and never a 201 */
			assert_int_equal(jobs[i].job.rc, TS_EIO);
			assert_string_equal(jobs[i].job.err.code, "unavailable");
			assert_true(jobs[i].seq <= failed_upto);
			unavailable++;
		} else {
			assert_true(jobs[i].synced_seen >= jobs[i].seq);
		}
	}
	assert_true(unavailable >= 1);
	/* the jobs committed after the failed sync began are answered as usual */
	for (int i = 200; i < 400; i++)
		assert_int_equal(jobs[i].job.rc, 0);
	struct store_writer_stats st;
	store_writer_stats(&f->base, &st);
	assert_int_equal(st.sync_failures, 1);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answered_after_a_sync_in_commit_order),
		cmocka_unit_test(test_failed_sync_answers_unavailable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
