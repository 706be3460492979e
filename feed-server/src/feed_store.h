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
#include <stddef.h>
#include <stdint.h>

#include "feedserver.h"

/* What the fs_feeds row of a feed holds. */
struct fs__feed_meta {
    char name[65];      /* the feed's name */
    unsigned page_size; /* entries per archive page */
    char uuid[37];      /* random id drawn at declaration, 8-4-4-4-12 hex */
    char created[32];   /* RFC 3339 time of the declaration */
    /* The server's fs_server_config.html_layout (NULL: none), for the
     * HTML view; not read from the database. */
    const char *html_layout;
};

/* The statements an fs_feed keeps prepared. */
enum fs__feed_stmt {
    FS__STMT_HEAD,     /* the feed's last position */
    FS__STMT_INSERT,   /* one entry */
    FS__STMT_NEWEST,   /* the position and event id of the feed's last entry */
    FS__STMT_ENTRY_ID, /* the event id at a position */
    FS__STMT_COUNT,
};

/*
 * A feed on one connection (fs_feed_open()). It owns its statements: each
 * is prepared on first use and kept, reset after every use (no read cursor
 * stays open), until fs_feed_close() finalizes it; nothing is registered
 * with the connection, which the caller closes after its handles.
 */
struct fs_feed {
    sqlite3 *db;                      /* the connection, borrowed */
    char name[65];                    /* the feed's name */
    sqlite3_stmt *st[FS__STMT_COUNT]; /* by enum fs__feed_stmt; NULL until used */
};

/* Statement id of f, prepared if needed, with the feed's name bound as ?1;
 * NULL if it cannot be prepared (the connection's error says why). The
 * caller resets it and clears its bindings after use. */
sqlite3_stmt *fs__feed_stmt(struct fs_feed *f, enum fs__feed_stmt id);

/* The connection of f. */
sqlite3 *fs__feed_db(const struct fs_feed *f);

/* Reads the position and event id (into id, id_size bytes) of f's last
 * entry: 0 and "" for an empty feed. FS_ERR_DB on a database error. */
enum fs_error fs__feed_newest(struct fs_feed *f, int64_t *head, char *id, size_t id_size);

/* Reads the event id at position of f's feed into id; FS_ERR_NOT_FOUND if
 * there is no such entry. */
enum fs_error fs__feed_entry_id(struct fs_feed *f, int64_t position, char *id, size_t id_size);

/* Whether name is a valid feed name: 1-64 characters of [a-z0-9_-]. */
int fs__feed_name_ok(const char *name);

/* Reads the fs_feeds row of feed into *meta; FS_ERR_NOT_FOUND if missing. */
enum fs_error fs__feed_meta(sqlite3 *db, const char *feed, struct fs__feed_meta *meta);

/* Writes the current UTC time as RFC 3339 ("2026-11-26T15:00:00Z"). */
void fs__now_rfc3339(char out[32]);

/* How long fs_db_open()'s connections wait for a lock: 10 s in all. */
#define FS_BUSY_TIMEOUT_MS 10000

/* fs_db_open(), and on failure SQLite's reason in why (why_size bytes),
 * for the server, which logs it. */
enum fs_error fs__db_open(const char *path, sqlite3 **out, char *why, size_t why_size);

#endif
