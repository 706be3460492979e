/*
 * credentials_bulk.h - how a new, empty Cloud API node builds its credential
 * replica in bulk (issue 11 point 7).
 *
 * Applied one entry at a time, each new user inserts into two B-trees keyed
 * by random values (the key's hash, the user's id); once they outgrow
 * SQLite's page cache every insert reads and writes a random page, and a
 * million users take tens of seconds. So a follower that starts on an empty
 * replica at position 0 (or on a replica still being built after a crash)
 * stages instead: each entry of the replica's types is appended to
 * replica_bulk (rowid = its position, no other index), in the follower's
 * transaction, with the follower's position. Once the follower reaches the
 * head (the feed-reader's head hook), credentials_bulk_build() makes the
 * replica tables from the staged rows in one transaction, each table's rows
 * read in its key's order (SQLite's sorter, with a 1 MiB page cache for the
 * build, spilling to temporary files, so memory stays flat but for the WAL
 * index of the build's transaction) and inserted in that order (B-tree
 * appends), and
 * renames replica_bulk to replica_bulk_built, which it drops in a second
 * transaction once the replica serves (the next start drops one a crash
 * left); entries are then applied one at a time again.
 *
 * The state built is the state the one-at-a-time path (credentials.h) gives
 * for the same entries, row for row: per customer the name and plan of its
 * last CustomerRegistered and the lock of its last CustomerLocked or
 * CustomerUnlocked; per user the customer of its last UserAdded (else of its
 * first event), the email of its last UserAdded, removed when its last
 * UserAdded or UserRemoved is a removal, and its keys in the order they were
 * first issued to it; per key the ids of its last issue, revoked when a
 * LoginKeyRevoked of its user and key id, or a UserRemoved of its user, came
 * while one of its issues held (after it, before the key's next issue).
 * CreditUpdated is applied at once either way (credit.h: it reads only this
 * node's usage rows).
 *
 * A crash at any moment leaves either staged rows and their position (the
 * follower resumes staging, and builds when at the head) or the built
 * replica: the build is one transaction. While replica_bulk exists the
 * replica tables are empty and serve answers 503 to every key (a node never
 * authenticates from a half-built replica); /status shows the follower's
 * position and lag.
 *
 * The mode is kept per thread, for the connection of the follower that
 * started it (a follower is used by one thread).
 */
#ifndef CLOUD_API_CREDENTIALS_BULK_H
#define CLOUD_API_CREDENTIALS_BULK_H

#include <sqlite3.h>
#include <stdint.h>

/* The staged event types (replica_bulk.type). */
enum bulk_type {
    BULK_USER_ADDED = 1,
    BULK_KEY_ISSUED = 2,
    BULK_KEY_REVOKED = 3,
    BULK_USER_REMOVED = 4,
    BULK_CUSTOMER_REGISTERED = 5,
    BULK_CUSTOMER_LOCKED = 6,
    BULK_CUSTOMER_UNLOCKED = 7,
};

/*
 * Decides, for a follower on db (whose replica tables exist) at position,
 * whether it stages: yes when replica_bulk exists (a build a crash
 * interrupted must be finished), or when allow is set, position is 0 and
 * the replica tables are empty (then replica_bulk is made). Records the
 * mode for db on this thread. Returns 1 (staging), 0, or -1 (logged).
 */
int credentials_bulk_start(sqlite3 *db, int64_t position, int allow);

/* Whether this thread's follower on db is staging. */
int credentials_bulk_on(sqlite3 *db);

/*
 * Appends the entry at position of type to replica_bulk, inside the
 * follower's transaction. Its fields, each NULL when the type has none:
 * customer_id, user_id, key_id, key_sha256 (hex, stored lowercase) and two
 * more: a (the email of a UserAdded, the name of a CustomerRegistered, the
 * reason of a CustomerLocked) and b (the plan of a CustomerRegistered).
 * Returns 0, or -1 (logged; db's error code tells a busy database).
 */
int credentials_bulk_stage(sqlite3 *db, enum bulk_type type, int64_t position,
                           const char *customer_id, const char *user_id, const char *key_id,
                           const char *key_sha256, const char *a, const char *b);

/*
 * Builds the replica tables from replica_bulk and renames it, in one
 * transaction of its own, and leaves the staging mode; then drops the
 * staged rows and checkpoints the WAL (failures there are only logged). Does nothing when
 * this thread's follower on db is not staging. Returns 0 (SQLITE_OK), or
 * the SQLite error code of the failure (logged; rolled back, still
 * staging), such as SQLITE_BUSY when another connection held the database.
 */
int credentials_bulk_build(sqlite3 *db);

/* Whether the replica of db is still being built (replica_bulk exists):
 * 1, 0, or -1 when the database failed. */
int credentials_bulk_pending(sqlite3 *db);

#endif
