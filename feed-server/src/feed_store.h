/*
 * feed_store.h - the feed tables in the caller's SQLite database.
 *
 *   fs_feeds(name PRIMARY KEY, page_size, uuid, created)
 *   fs_entries(feed, position, event_id UNIQUE, type, updated, xml,
 *              PRIMARY KEY (feed, position)) WITHOUT ROWID
 *
 * Invariants: the positions of a feed are 1..head without gaps, because an
 * append takes head+1 inside the caller's write transaction (BEGIN
 * IMMEDIATE holds the database's only write lock, so two processes never
 * read the same head); rows are never updated or deleted. uuid is drawn
 * from the OS at declaration, so a database made afresh under the same feed
 * name gets other feed ids and ETags.
 */
#ifndef FS_FEED_STORE_H
#define FS_FEED_STORE_H

#include <sqlite3.h>
#include <stdint.h>

#include "feedserver.h"

/* What the fs_feeds row of a feed holds. */
struct fs__feed_meta {
    char name[65];      /* the feed's name */
    unsigned page_size; /* entries per archive page */
    char uuid[37];      /* random id drawn at declaration, 8-4-4-4-12 hex */
    char created[32];   /* RFC 3339 time of the declaration */
};

/* Whether name is a valid feed name: 1-64 characters of [a-z0-9_-]. */
int fs__feed_name_ok(const char *name);

/* Reads the fs_feeds row of feed into *meta; FS_ERR_NOT_FOUND if missing. */
enum fs_error fs__feed_meta(sqlite3 *db, const char *feed, struct fs__feed_meta *meta);

/* Writes the current UTC time as RFC 3339 ("2026-11-26T15:00:00Z"). */
void fs__now_rfc3339(char out[32]);

/* fs_db_open(), and on failure SQLite's reason in why (why_size bytes),
 * for the server, which logs it. */
enum fs_error fs__db_open(const char *path, sqlite3 **out, char *why, size_t why_size);

#endif
