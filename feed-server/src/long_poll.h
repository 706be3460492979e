/*
 * long_poll.h - holding head requests until the head changes.
 *
 * A request whose If-None-Match is the current head ETag and which asks
 * "Prefer: wait=N" is suspended (libmicrohttpd suspend/resume) and kept in
 * the server's waiter list. One watcher thread, with its own database
 * connection, reads PRAGMA data_version every few milliseconds; it changes
 * whenever any connection, in this process or another, commits to the file.
 * The watcher then re-reads the served feeds' heads, records changes and
 * resumes their waiters; it also resumes waiters whose time is up. A resumed
 * request is answered by feed_http.c: 200 with the new head, or 304.
 *
 * Read-your-writes: a route handler that changed the database has its
 * heads refreshed on its own connection before its answer is queued, so
 * every request after that answer sees the new entries and ETag, and the
 * long-polls wake without waiting for the watcher's next look.
 */
#ifndef FS_LONG_POLL_H
#define FS_LONG_POLL_H

#include "http_server.h"

/* Milliseconds between two looks at data_version. */
#define FS_WATCH_INTERVAL_MS 5

/* Holds req for wait_s seconds; the caller holds server->lock and has
 * checked the ETag and the cap. */
void fs__long_poll_hold(struct fs_request *req, unsigned wait_s);

/* Removes req from the waiter list if it is held (a connection closing);
 * takes server->lock. */
void fs__long_poll_forget(struct fs_request *req);

/* Re-reads the served feeds' heads on c (a connection that has just
 * committed, with its own handles on the feeds) and wakes the waiters of
 * those that moved. Failures are logged; the watcher then catches up. */
void fs__heads_refresh(struct fs_server *s, struct fs__conn *c);

/* Reads the served feeds' heads once and starts the watcher thread. */
enum fs_error fs__watcher_start(struct fs_server *s);

/* Stops the watcher thread and resumes every held request. */
void fs__watcher_stop(struct fs_server *s);

#endif
