/* tests/unit/test_walbuf.c — the VFS that writes the WAL in large pieces
 * (store/sqlite/walbuf.c): what a commit made visible and durable stays so,
 * for another connection on the default VFS and after the process is killed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "store/sqlite/walbuf.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char path[256];

static int setup(void **state)
{
	(void)state;
	char dir[] = "/tmp/ts-walbuf-XXXXXX";
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/t.db", dir);
	return sq_walbuf_register() == SQLITE_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char f[300];
	const char *ext[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(f, sizeof(f), "%s%s", path, ext[i]);
		unlink(f);
	}
	*strrchr(path, '/') = '\0';
	rmdir(path);
	return 0;
}

static sqlite3 *open_db(const char *vfs)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, NULL),
			 SQLITE_OK);
	return db;
}

static long long count(sqlite3 *db)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	long long n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* PRAGMA integrity_check answers "ok". */
static void assert_integrity_ok(sqlite3 *db)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
}

/* n rows of 1 KB: far more than the 64 KiB buffer, so it fills and is written mid-transaction */
static void insert(sqlite3 *db, int n)
{
	char sql[128];
	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<%d)"
		 " INSERT INTO t(v) SELECT randomblob(1000) FROM c",
		 n);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
}

static void test_commits_seen_by_another_connection(void **state)
{
	(void)state;
	sqlite3 *a = open_db(SQ_WALBUF_VFS);
	assert_int_equal(sqlite3_exec(a, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)", NULL, NULL, NULL), SQLITE_OK);
	insert(a, 2000);
	sqlite3 *b = open_db(NULL);
	assert_int_equal(count(b), 2000);
	/* what is not committed is not seen, though part of it reached the file */
	assert_int_equal(sqlite3_exec(a, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	insert(a, 500);
	assert_int_equal(count(b), 2000);
	assert_int_equal(sqlite3_exec(a, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(count(b), 2500);
	/* and the other way round: b's commit is read by a */
	insert(b, 10);
	assert_int_equal(count(a), 2510);
	assert_int_equal(sqlite3_exec(a, "PRAGMA integrity_check", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(b);
	sqlite3_close(a);
}

/* Without a sync at each commit (synchronous=NORMAL or OFF), the commit frame
 * is still handed to the OS before SQLite shows it in the WAL index: small
 * commits, each far below the buffer's size, are all read back by a
 * connection on the default VFS. */
static void test_commits_seen_without_sync(void **state)
{
	(void)state;
	const char *modes[] = {"PRAGMA synchronous=NORMAL", "PRAGMA synchronous=OFF"};
	for (size_t m = 0; m < 2; m++) {
		sqlite3 *a = open_db(SQ_WALBUF_VFS);
		assert_int_equal(sqlite3_exec(a, modes[m], NULL, NULL, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_exec(a, "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v BLOB)", NULL,
					      NULL, NULL),
				 SQLITE_OK);
		sqlite3 *b = open_db(NULL);
		long long n = count(b);
		for (int i = 0; i < 50; i++) {
			assert_int_equal(sqlite3_exec(a, "INSERT INTO t(v) VALUES(randomblob(100))", NULL, NULL, NULL),
					 SQLITE_OK);
			assert_int_equal(count(b), n + i + 1);
		}
		assert_integrity_ok(b);
		sqlite3_close(b);
		sqlite3_close(a);
	}
}

static void test_commit_survives_a_kill(void **state)
{
	(void)state;
	sqlite3 *a = open_db(NULL);
	long long before = count(a);
	sqlite3_close(a);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sqlite3 *c = open_db(SQ_WALBUF_VFS);
		insert(c, 300); /* committed: must survive */
		sqlite3_exec(c, "BEGIN", NULL, NULL, NULL);
		insert(c, 40); /* pending in the buffer, not committed: must vanish */
		raise(SIGKILL);
		_exit(1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	a = open_db(NULL);
	assert_int_equal(count(a), before + 300);
	assert_integrity_ok(a);
	sqlite3_close(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commits_seen_by_another_connection),
		cmocka_unit_test(test_commits_seen_without_sync),
		cmocka_unit_test(test_commit_survives_a_kill),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
