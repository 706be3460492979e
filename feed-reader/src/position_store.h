/*
 * position_store.h - the follower's row in the consumer's database.
 *
 * Table feed_followers holds one row per followed feed: the feed's Atom id
 * (feed_id), the URL it was last followed at (feed_url, unique), the
 * position of the last entry applied and its id, the last head seen,
 * counters, the last success and error, and the times of the last good
 * poll of the head (last_poll, also when nothing new came) and of the last
 * entry applied (last_applied). The row belongs to the feed id:
 * a row whose feed_id is still '' (made by an older version keyed by URL,
 * or one that has only recorded errors so far) gets the id from the first
 * document (fr__store_identify()), and the same feed followed at another
 * URL continues from its row. The position only changes inside the
 * transaction that applies the entries up to it (fr__store_begin ...
 * fr__store_commit), so the stored position always matches the effects in
 * the database.
 *
 * Every function that touches the database returns FR_ERR_BUSY when SQLite
 * answered SQLITE_BUSY or SQLITE_LOCKED, FR_ERR_STORAGE when it answered
 * SQLITE_FULL or SQLITE_IOERR (both transient: the caller retries) and
 * FR_ERR_DB for any other failure, with s->msg saying which operation
 * failed and SQLite's message.
 */
#ifndef FR_POSITION_STORE_H
#define FR_POSITION_STORE_H

#include <sqlite3.h>
#include <stdint.h>

#include "feedreader.h"

#define FR__ID_MAX 256

/* Whether the result code rc (primary or extended) means the database
 * cannot be written now: a full disk (SQLITE_FULL) or an I/O error
 * (SQLITE_IOERR). Such a transaction is rolled back whole, and the same
 * one succeeds once space is freed or the device answers again. */
int fr__db_storage_fault(int rc);

/* The follower's state as stored. */
struct fr__state {
    int64_t position;
    /* id of the entry at position ("" at position 0) */
    char last_id[FR__ID_MAX];
    int64_t head;
    int64_t skipped;
};

/* What fr__store_identify() found. */
enum fr__identity {
    FR__ID_KNOWN,   /* the row of this URL already belonged to this feed */
    FR__ID_NEW,     /* a new row for a feed never followed on this database */
    FR__ID_ADOPTED, /* the row of this URL had no feed id yet and got this one */
    FR__ID_MOVED,   /* the feed's row was known at another URL: continue from it */
    FR__ID_MERGED,  /* both: the row of the two with the higher position was kept */
};

struct fr__store {
    /* borrowed from the follower */
    sqlite3 *db;
    /* the URL followed (owned) */
    char *feed_url;
    /* the feed id the row belongs to, "" before it is known */
    char feed_id[FR__ID_MAX];
    /* what the last failure was */
    char msg[384];
    /* fr__store_open() migrated the table (the follower logs it) */
    int migrated;
    sqlite3_stmt *load, *save, *polled, *error_by_id, *error_by_url, *begin, *commit, *rollback;
};

/*
 * Creates or migrates the table (one transaction, only when needed: a
 * database made before feed ids gets the feed_id column), prepares the
 * statements, and reads the row of feed_url, if any, into *st and s->feed_id
 * (zeros and "" when there is none). Writes nothing else. Release with
 * fr__store_release() even after a failure.
 */
enum fr_error fr__store_open(struct fr__store *s, sqlite3 *db, const char *feed_url,
                             struct fr__state *st);

void fr__store_release(struct fr__store *s);

/*
 * Makes the row of feed_url belong to feed_id, in one transaction, and
 * reads its state into *st (see enum fr__identity for the cases; *how says
 * which). Returns FR_ERR_OTHER_FEED, changing nothing, when the row of
 * feed_url already belongs to another feed id (named in s->msg).
 */
enum fr_error fr__store_identify(struct fr__store *s, const char *feed_id, struct fr__state *st,
                                 enum fr__identity *how);

/* Reads the stored state of the identified row into *st. */
enum fr_error fr__store_load(struct fr__store *s, struct fr__state *st);

/* BEGIN IMMEDIATE, so that the state read next cannot change under us. */
enum fr_error fr__store_begin(struct fr__store *s);

/* Writes *st and the time of this success into the identified row (also
 * as the time of the last entry applied when the position moved, and of
 * the last good poll when polled is non-zero: the document was the head);
 * call inside the transaction. A row that is gone is FR_ERR_DB. */
enum fr_error fr__store_save(struct fr__store *s, const struct fr__state *st, int polled);

/* Records at (RFC 3339) as the time of the last good poll of the head in
 * the identified row, in its own statement: a poll that found nothing new
 * (304) writes nothing else. */
enum fr_error fr__store_polled(struct fr__store *s, const char *at);

enum fr_error fr__store_commit(struct fr__store *s);

/* Rolls back the open transaction, if any. */
void fr__store_rollback(struct fr__store *s);

/*
 * Records count failures, the last with message at time at (RFC 3339), in
 * the row (the row of feed_url is made if there is none yet), in its own
 * transaction or in the caller's when one is open.
 */
enum fr_error fr__store_error(struct fr__store *s, const char *message, const char *at,
                              int64_t count);

#endif
