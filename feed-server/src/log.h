/*
 * log.h - how the server's code hands a line to the log function of its
 * configuration (fs_server_config.log; fs_log_stderr() when none is set).
 *
 * Only the HTTP server and what it runs (its threads, the watcher, the
 * slow-client sweeper, libmicrohttpd's own messages) log. The feed layer
 * (fs_db_open(), the fs_feed_* functions, documents) has no configuration
 * and never logs: it returns its errors, and the server logs them with
 * what it knows (which feed, which page, SQLite's message).
 */
#ifndef FS_LOG_H
#define FS_LOG_H

#include <sqlite3.h>

#include "feedserver.h"

/* Most key, value pairs one line takes; more are dropped. */
#define FS__LOG_PAIRS 8

/*
 * Hands msg at level to cfg's log function with the pairs that follow: a
 * key (a constant such as "feed") and its value (any text; NULL is ""),
 * then another key, ..., ending with a NULL key.
 */
void fs__log(const struct fs_server_config *cfg, enum fs_log_level level, const char *msg, ...)
    __attribute__((sentinel));

/* The same at FS_LOG_ERROR, with SQLite's message for db's last failure
 * (db may be NULL) as the first pair, "sqlite". */
void fs__log_db(const struct fs_server_config *cfg, sqlite3 *db, const char *msg, ...)
    __attribute__((sentinel));

#endif
