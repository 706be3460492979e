/*
 * stmt_cache.h - the prepared statements fs_feed_append(), the head
 * refresh after a write request and the ETag check of an uncached archive
 * page reuse, per connection.
 *
 * Preparing a statement costs more than running it, so an append keeps its
 * statements prepared for the life of the caller's connection. The
 * cache must not stop the caller's sqlite3_close() from working (it fails
 * while statements exist), so it installs a SQLITE_TRACE_CLOSE callback on
 * the connection with sqlite3_trace_v2(); SQLite calls it at the start of
 * sqlite3_close(), before checking for statements, and the cache finalizes
 * that connection's statements there. A connection on which the caller sets
 * its own trace callback afterwards is still closed correctly only with
 * sqlite3_close_v2(); the library's callback chains to nothing else.
 *
 * Invariants: the registry holds at most one slot per open connection; a
 * slot's statements are reset after every use (no open read cursors).
 */
#ifndef FS_STMT_CACHE_H
#define FS_STMT_CACHE_H

#include <sqlite3.h>

enum fs__stmt_id { FS_STMT_HEAD, FS_STMT_INSERT, FS_STMT_NEWEST, FS_STMT_ENTRY_ID, FS_STMT_COUNT };

/* The prepared statement id for db, prepared on first use; NULL on error
 * (the database's message is available from db). The statement stays owned
 * by the cache: the caller resets it and clears its bindings after use. */
sqlite3_stmt *fs__stmt(sqlite3 *db, enum fs__stmt_id id);

#endif
