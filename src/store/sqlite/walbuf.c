/* store/sqlite/walbuf.c — a VFS over SQLite's default one that gathers the
 * writes to a WAL file into one buffer and hands them to the OS as large
 * writes.
 *
 * SQLite writes each WAL frame as two pwrite calls (its 24-byte header, then
 * the page): a batch of submissions that dirties 2 pages per job costs ≈ 4
 * system calls per job, ≈ 20 % of the writer thread (docs/performance.md,
 * session 6). Here consecutive writes are appended to a buffer, which goes
 * to the file when it is full, before a write elsewhere in the file, and
 * before anything that looks at the file (read, size, truncate, sync, lock
 * changes, close). So nothing changes for SQLite but the number of calls:
 *  - durability: xSync writes the buffer first, then syncs, so a commit that
 *    returned is on disk exactly as before;
 *  - other connections read frames only after the writer's commit has made
 *    them visible in the WAL index, which it does after writing the commit
 *    frame (and, with synchronous=FULL, after xSync): the buffer goes to the
 *    OS as soon as a commit frame is complete, so what the index shows is in
 *    the file whatever the synchronous setting (without this, a connection
 *    with synchronous=NORMAL or OFF would let readers see frames still in
 *    the buffer, and SQLite would call the database malformed);
 *  - a crash loses only the buffer's frames, which belong to a transaction
 *    that had not committed (WAL recovery ignores an incomplete tail);
 *  - an error writing the buffer (disk full) is returned by the call that
 *    wrote it, and the buffered frames are dropped: SQLite treats it as the
 *    failed write of those frames, and rolls the transaction back.
 * Files other than WAL files are passed through unchanged.
 */
#include "store/sqlite/walbuf.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The unix VFS writes at most 128 KiB - 1 per call (seekAndWriteFd masks the
 * count with 0x1ffff): the buffer stays below that. */
#define WALBUF_CAP ((size_t)64 << 10)

struct wb_file {
	sqlite3_file base;   /* our methods */
	sqlite3_file *real;  /* the default VFS's file, just after this struct */
	unsigned char *buf;  /* WAL only: the writes not yet given to the OS */
	size_t len;
	sqlite3_int64 off;   /* file offset of buf[0] */
	int wal;
	int commit_next;     /* the last write was a commit frame's header: its page follows */
};

#define WAL_HEADER_BYTES 32
#define WAL_FRAME_HEADER_BYTES 24

/* A WAL frame header (24 bytes, after the file's 32-byte header) whose second
 * big-endian word, the database size after the commit, is not zero: the
 * frame that ends a transaction. */
static int is_commit_header(const unsigned char *h, int n, sqlite3_int64 off)
{
	return n == WAL_FRAME_HEADER_BYTES && off >= WAL_HEADER_BYTES && (h[4] | h[5] | h[6] | h[7]) != 0;
}

static sqlite3_vfs *base_vfs;
static sqlite3_vfs wb_vfs;

/* Gives the buffer to the OS; on failure the buffer is dropped all the same. */
static int wb_flush(struct wb_file *f)
{
	if (f->len == 0)
		return SQLITE_OK;
	int rc = f->real->pMethods->xWrite(f->real, f->buf, (int)f->len, f->off);
	f->len = 0;
	return rc;
}

static int wb_close(sqlite3_file *p)
{
	struct wb_file *f = (struct wb_file *)p;
	int rc = wb_flush(f);
	int rc2 = f->real->pMethods->xClose(f->real);
	free(f->buf);
	f->buf = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

static int wb_read(sqlite3_file *p, void *out, int n, sqlite3_int64 off)
{
	struct wb_file *f = (struct wb_file *)p;
	int rc = wb_flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, out, n, off);
}

static int wb_write(sqlite3_file *p, const void *data, int n, sqlite3_int64 off)
{
	struct wb_file *f = (struct wb_file *)p;
	if (!f->wal || n <= 0)
		return f->real->pMethods->xWrite(f->real, data, n, off);
	if (f->len > 0 && off != f->off + (sqlite3_int64)f->len) {
		int rc = wb_flush(f);
		if (rc != SQLITE_OK)
			return rc;
	}
	if ((size_t)n > WALBUF_CAP - f->len) {
		int rc = wb_flush(f);
		if (rc != SQLITE_OK)
			return rc;
		if ((size_t)n > WALBUF_CAP)
			return f->real->pMethods->xWrite(f->real, data, n, off);
	}
	if (!f->buf) {
		f->buf = malloc(WALBUF_CAP);
		if (!f->buf)
			return f->real->pMethods->xWrite(f->real, data, n, off);
	}
	if (f->len == 0)
		f->off = off;
	memcpy(f->buf + f->len, data, (size_t)n);
	f->len += (size_t)n;
	int commit_page = f->commit_next;
	f->commit_next = is_commit_header(data, n, off);
	return commit_page ? wb_flush(f) : SQLITE_OK;
}

static int wb_truncate(sqlite3_file *p, sqlite3_int64 size)
{
	struct wb_file *f = (struct wb_file *)p;
	int rc = wb_flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int wb_sync(sqlite3_file *p, int flags)
{
	struct wb_file *f = (struct wb_file *)p;
	int rc = wb_flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int wb_file_size(sqlite3_file *p, sqlite3_int64 *size)
{
	struct wb_file *f = (struct wb_file *)p;
	int rc = wb_flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int wb_lock(sqlite3_file *p, int level)
{
	struct wb_file *f = (struct wb_file *)p;
	int rc = wb_flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xLock(f->real, level);
}

static int wb_unlock(sqlite3_file *p, int level)
{
	struct wb_file *f = (struct wb_file *)p;
	int rc = wb_flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xUnlock(f->real, level);
}

static int wb_check_reserved(sqlite3_file *p, int *out)
{
	struct wb_file *f = (struct wb_file *)p;
	return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int wb_file_control(sqlite3_file *p, int op, void *arg)
{
	struct wb_file *f = (struct wb_file *)p;
	int rc = wb_flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int wb_sector_size(sqlite3_file *p)
{
	struct wb_file *f = (struct wb_file *)p;
	return f->real->pMethods->xSectorSize(f->real);
}

static int wb_device_characteristics(sqlite3_file *p)
{
	struct wb_file *f = (struct wb_file *)p;
	return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int wb_shm_map(sqlite3_file *p, int pg, int pgsz, int extend, void volatile **out)
{
	struct wb_file *f = (struct wb_file *)p;
	return f->real->pMethods->xShmMap(f->real, pg, pgsz, extend, out);
}

static int wb_shm_lock(sqlite3_file *p, int offset, int n, int flags)
{
	struct wb_file *f = (struct wb_file *)p;
	return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void wb_shm_barrier(sqlite3_file *p)
{
	struct wb_file *f = (struct wb_file *)p;
	f->real->pMethods->xShmBarrier(f->real);
}

static int wb_shm_unmap(sqlite3_file *p, int del)
{
	struct wb_file *f = (struct wb_file *)p;
	return f->real->pMethods->xShmUnmap(f->real, del);
}

static int wb_fetch(sqlite3_file *p, sqlite3_int64 off, int n, void **out)
{
	struct wb_file *f = (struct wb_file *)p;
	int rc = wb_flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xFetch(f->real, off, n, out);
}

static int wb_unfetch(sqlite3_file *p, sqlite3_int64 off, void *ptr)
{
	struct wb_file *f = (struct wb_file *)p;
	return f->real->pMethods->xUnfetch(f->real, off, ptr);
}

static const sqlite3_io_methods wb_methods = {
	3,
	wb_close,
	wb_read,
	wb_write,
	wb_truncate,
	wb_sync,
	wb_file_size,
	wb_lock,
	wb_unlock,
	wb_check_reserved,
	wb_file_control,
	wb_sector_size,
	wb_device_characteristics,
	wb_shm_map,
	wb_shm_lock,
	wb_shm_barrier,
	wb_shm_unmap,
	wb_fetch,
	wb_unfetch,
};

static int wb_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *p, int flags, int *out_flags)
{
	(void)vfs;
	struct wb_file *f = (struct wb_file *)p;
	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)(f + 1);
	int rc = base_vfs->xOpen(base_vfs, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK || !f->real->pMethods) {
		/* SQLite calls xClose only when pMethods is set: leave it unset */
		if (f->real->pMethods)
			f->real->pMethods->xClose(f->real);
		return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
	}
	/* the methods above are those of version 3: they forward whatever the real file has */
	if (f->real->pMethods->iVersion < 3)
		return SQLITE_CANTOPEN;
	f->wal = (flags & SQLITE_OPEN_WAL) != 0;
	p->pMethods = &wb_methods;
	return SQLITE_OK;
}

static int wb_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
	(void)v;
	return base_vfs->xDelete(base_vfs, name, sync_dir);
}

static int wb_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	(void)v;
	return base_vfs->xAccess(base_vfs, name, flags, out);
}

static int wb_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
	(void)v;
	return base_vfs->xFullPathname(base_vfs, name, n, out);
}

static void *wb_dl_open(sqlite3_vfs *v, const char *name)
{
	(void)v;
	return base_vfs->xDlOpen(base_vfs, name);
}

static void wb_dl_error(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	base_vfs->xDlError(base_vfs, n, out);
}

static void (*wb_dl_sym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
	(void)v;
	return base_vfs->xDlSym(base_vfs, h, sym);
}

static void wb_dl_close(sqlite3_vfs *v, void *h)
{
	(void)v;
	base_vfs->xDlClose(base_vfs, h);
}

static int wb_randomness(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return base_vfs->xRandomness(base_vfs, n, out);
}

static int wb_sleep(sqlite3_vfs *v, int us)
{
	(void)v;
	return base_vfs->xSleep(base_vfs, us);
}

static int wb_current_time(sqlite3_vfs *v, double *out)
{
	(void)v;
	return base_vfs->xCurrentTime(base_vfs, out);
}

static int wb_last_error(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return base_vfs->xGetLastError ? base_vfs->xGetLastError(base_vfs, n, out) : 0;
}

static int wb_current_time_int64(sqlite3_vfs *v, sqlite3_int64 *out)
{
	(void)v;
	return base_vfs->xCurrentTimeInt64(base_vfs, out);
}

static int register_rc = SQLITE_ERROR;
static pthread_once_t register_once = PTHREAD_ONCE_INIT;

static void wb_register(void)
{
	base_vfs = sqlite3_vfs_find(NULL);
	if (!base_vfs || base_vfs->iVersion < 2 || !base_vfs->xCurrentTimeInt64)
		return;
	wb_vfs = (sqlite3_vfs){
		.iVersion = 2,
		.szOsFile = (int)sizeof(struct wb_file) + base_vfs->szOsFile,
		.mxPathname = base_vfs->mxPathname,
		.zName = SQ_WALBUF_VFS,
		.xOpen = wb_open,
		.xDelete = wb_delete,
		.xAccess = wb_access,
		.xFullPathname = wb_full_pathname,
		.xDlOpen = wb_dl_open,
		.xDlError = wb_dl_error,
		.xDlSym = wb_dl_sym,
		.xDlClose = wb_dl_close,
		.xRandomness = wb_randomness,
		.xSleep = wb_sleep,
		.xCurrentTime = wb_current_time,
		.xGetLastError = wb_last_error,
		.xCurrentTimeInt64 = wb_current_time_int64,
	};
	register_rc = sqlite3_vfs_register(&wb_vfs, 0);
}

int sq_walbuf_register(void)
{
	pthread_once(&register_once, wb_register);
	return register_rc;
}
