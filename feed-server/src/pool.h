/*
 * pool.h - the server's database connections, and each one's handles on
 * the served feeds.
 *
 * A route handler, a document render or a page lookup takes a connection
 * (struct fs__conn) from the pool, or a new one opened as fs_db_open()
 * opens them, and puts it back when done; the pool keeps every connection
 * put back until the server closes. Each connection carries one fs_feed
 * handle per served feed, opened the first time it is needed, so the
 * statements of the head refresh after a write (read-your-writes) and of
 * the page lookups stay prepared for the life of the connection and are
 * finalized with it: nothing is registered with SQLite or kept by
 * connection anywhere else.
 *
 * Invariants: a connection is either in the pool or used by one thread; a
 * connection put back has no transaction open (a handler's is rolled back
 * and logged) and every statement of its handles is reset.
 */
#ifndef FS_POOL_H
#define FS_POOL_H

#include <sqlite3.h>
#include <stddef.h>

#include "http_server.h"

struct fs__conn {
    sqlite3 *db;            /* the connection */
    struct fs_feed **feeds; /* by index in server->feeds; NULL until used */
    size_t nfeeds;          /* places in feeds */
};

/* Opens a new connection on the server's database; NULL on failure
 * (logged). The watcher uses one of its own; others come from the pool. */
struct fs__conn *fs__conn_open(struct fs_server *s);

/* Closes c's handles, then its connection, and frees it. Accepts NULL. */
void fs__conn_close(struct fs__conn *c);

/* The handle of c on the served feed number i (i < s->nfeeds), opened on
 * first use; owned by c. NULL when out of memory. */
struct fs_feed *fs__conn_feed(struct fs_server *s, struct fs__conn *c, size_t i);

/* A connection from the pool, or a new one; NULL on failure (logged). */
struct fs__conn *fs__pool_get(struct fs_server *s);

/* Puts c back (NULL is ignored), rolling back a transaction left open. */
void fs__pool_put(struct fs_server *s, struct fs__conn *c);

/* Closes every connection in the pool (the server is closing). */
void fs__pool_close(struct fs_server *s);

#endif
