/* store/sqlite/walbuf.h — the VFS that writes SQLite's WAL in large pieces,
 * each commit frame handed to the OS at once (see walbuf.c for why it
 * changes nothing but the number of writes, whatever the synchronous setting). */
#ifndef TS_STORE_SQLITE_WALBUF_H
#define TS_STORE_SQLITE_WALBUF_H

#include <sqlite3.h>

#define SQ_WALBUF_VFS "tisheng-walbuf"

/* Registers the VFS (once; not as the default). Returns SQLITE_OK, or an
 * error code when the default VFS lacks what it forwards to, in which case
 * connections are opened with the default VFS. */
int sq_walbuf_register(void);

#endif
