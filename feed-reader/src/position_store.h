/*
 * position_store.h - the follower's row in the consumer's database.
 *
 * Table feed_followers holds one row per followed feed URL: the position of
 * the last entry applied and its id, the last head seen, counters and the
 * last success and error. The position only changes inside the transaction
 * that applies the entries up to it (fr__store_begin ... fr__store_commit),
 * so the stored position always matches the effects in the database.
 * Errors are recorded in their own small transaction.
 *
 * Every function that touches the database returns FR_ERR_BUSY when SQLite
 * answered SQLITE_BUSY or SQLITE_LOCKED (transient: the caller retries) and
 * FR_ERR_DB for any other failure, with s->msg saying which operation
 * failed and SQLite's message.
 */
#ifndef FR_POSITION_STORE_H
#define FR_POSITION_STORE_H

#include <sqlite3.h>
#include <stdint.h>

#include "feedreader.h"

/* The follower's state as stored. */
struct fr__state {
    int64_t position;
    /* id of the entry at position ("" at position 0) */
    char last_id[256];
    int64_t head;
    int64_t skipped;
};

struct fr__store {
    /* borrowed from the follower's config */
    sqlite3 *db;
    char *feed_url;
    /* what the last failure was */
    char msg[384];
    sqlite3_stmt *load, *save, *error, *begin, *commit, *rollback;
};

/* Creates the table and the feed's row if missing and prepares the
 * statements. Release with fr__store_release() even after a failure. */
enum fr_error fr__store_open(struct fr__store *s, sqlite3 *db, const char *feed_url);

void fr__store_release(struct fr__store *s);

/* Reads the stored state into *st. */
enum fr_error fr__store_load(struct fr__store *s, struct fr__state *st);

/* BEGIN IMMEDIATE, so that the state read next cannot change under us. */
enum fr_error fr__store_begin(struct fr__store *s);

/* Writes *st and the time of this success; call inside the transaction. */
enum fr_error fr__store_save(struct fr__store *s, const struct fr__state *st);

enum fr_error fr__store_commit(struct fr__store *s);

/* Rolls back the open transaction, if any. */
void fr__store_rollback(struct fr__store *s);

/* Records count failures, the last with message at time at (RFC 3339), in
 * its own transaction, or in the caller's when one is open. */
enum fr_error fr__store_error(struct fr__store *s, const char *message, const char *at,
                              int64_t count);

#endif
