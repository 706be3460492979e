#include "schema.h"

#include "db.h"
#include "feedserver.h"
#include "log.h"

/*
 * Keys are found by the SHA-256 of their text (lowercase hex), the primary
 * key of a WITHOUT ROWID table, so a lookup is one B-tree search. A key is
 * valid while it is not revoked, its user is not removed and its customer is
 * not locked; the three facts live in three tables because each event
 * changes one of them.
 *
 * Each B-tree a new user's row goes into costs the catch-up of a new node
 * one random page read and write per user once the tree outgrows the cache
 * (real ids are random), so a new user touches two: its row in
 * replica_users and its key's in replica_keys (issue 11 point 7). A user's
 * row lists the hashes of its keys (replica_users.keys, a JSON array), so
 * that a revocation or a removal finds the user's keys by their primary
 * key, without an index of replica_keys by user or by key id. Databases
 * made before had both indexes: migrate_replica() fills the lists and
 * drops them. Raw inserts of a million users with random ids: 42 s with
 * both indexes, 21 s without.
 */
static const char replica_sql[] = "CREATE TABLE IF NOT EXISTS replica_customers ("
                                  "  customer_id TEXT PRIMARY KEY,"
                                  "  name TEXT,"
                                  "  plan TEXT,"
                                  "  locked INTEGER NOT NULL DEFAULT 0,"
                                  "  lock_reason TEXT"
                                  ") WITHOUT ROWID;"
                                  "CREATE TABLE IF NOT EXISTS replica_users ("
                                  "  user_id TEXT PRIMARY KEY,"
                                  "  customer_id TEXT NOT NULL,"
                                  "  email TEXT,"
                                  "  removed INTEGER NOT NULL DEFAULT 0,"
                                  "  keys TEXT NOT NULL DEFAULT '[]'"
                                  ") WITHOUT ROWID;"
                                  "CREATE TABLE IF NOT EXISTS replica_keys ("
                                  "  key_sha256 TEXT PRIMARY KEY,"
                                  "  key_id TEXT NOT NULL,"
                                  "  user_id TEXT NOT NULL,"
                                  "  customer_id TEXT NOT NULL,"
                                  "  revoked INTEGER NOT NULL DEFAULT 0"
                                  ") WITHOUT ROWID;";

/*
 * usage_units: one row per (window, customer, user, key); units grow while
 * the window is open and position stays NULL until the row is published as
 * the UsageRecorded entry at that feed position. Windows are [start, end) in
 * Unix seconds. usage_state.published_until: no unit is ever added to a
 * window starting before it (it is the start of the window that was open
 * when the last publication ran), so a published row never changes.
 *
 * analyze_replays: the answer (JSON body) of each call made with an
 * Idempotency-Key, per (SHA-256 of the login key, Idempotency-Key), written
 * in the transaction that commits the call's units; created_at is that
 * commit's Unix time, indexed so that deleting the rows past their
 * retention (idempotency.h) is one range scan; request_sha256 is the
 * SHA-256 of the call's body, so that the same key with another body is
 * told apart (422). It is NULL in rows stored before it existed.
 *
 * usage_node: this node's name (serve's --node), so that `follow` picks
 * this node's position out of CreditUpdated's chargedThrough.
 *
 * credit_use: per customer, what the credit limit allows this node
 * (credit.h): the credit left and unit price of the last CreditUpdated,
 * the position of this node's usage feed up to which that credit already
 * counts this node's units (charged_through), and the units this node has
 * committed since (served_units: in rows published after charged_through
 * or not published yet). Written by `follow` (a CreditUpdated) and by the
 * meter (every call), each in its own write transaction.
 *
 * meter_journal.folded_seq: the sequence number of the last record of the
 * meter's journal file (metering.h) whose units are in usage_units and
 * credit_use, written in the same transaction as they are.
 */
static const char usage_sql[] =
    "CREATE TABLE IF NOT EXISTS usage_units ("
    "  window_start INTEGER NOT NULL,"
    "  window_end INTEGER NOT NULL,"
    "  customer_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  key_id TEXT NOT NULL,"
    "  units INTEGER NOT NULL,"
    "  position INTEGER,"
    "  PRIMARY KEY (window_start, customer_id, user_id, key_id)"
    ") WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS usage_units_pending ON usage_units(window_end)"
    "  WHERE position IS NULL;"
    "CREATE TABLE IF NOT EXISTS usage_state ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  published_until INTEGER NOT NULL"
    ");"
    "INSERT OR IGNORE INTO usage_state(id, published_until) VALUES (1, 0);"
    "CREATE TABLE IF NOT EXISTS analyze_replays ("
    "  key_sha256 TEXT NOT NULL,"
    "  idempotency_key TEXT NOT NULL,"
    "  body TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  request_sha256 TEXT,"
    "  PRIMARY KEY (key_sha256, idempotency_key)"
    ") WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS analyze_replays_by_age ON analyze_replays(created_at);"
    "CREATE INDEX IF NOT EXISTS usage_units_by_customer ON usage_units(customer_id, position);"
    "CREATE TABLE IF NOT EXISTS usage_node ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  node TEXT NOT NULL"
    ");"
    "CREATE TABLE IF NOT EXISTS credit_use ("
    "  customer_id TEXT PRIMARY KEY,"
    "  credit_left_cents INTEGER NOT NULL,"
    "  unit_price_cents INTEGER NOT NULL,"
    "  charged_through INTEGER NOT NULL DEFAULT 0,"
    "  served_units INTEGER NOT NULL DEFAULT 0"
    ") WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS meter_journal ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  folded_seq INTEGER NOT NULL"
    ");"
    "INSERT OR IGNORE INTO meter_journal(id, folded_seq) VALUES (1, 0);";

/* Adds analyze_replays.request_sha256 to a database made before it, in one
 * transaction so that serve and follow starting together do not both. */
static int migrate_usage(sqlite3 *db)
{
    if (db_begin(db) != SQLITE_OK)
        return -1;
    if (db_add_column(db, "analyze_replays", "request_sha256", "TEXT") < 0)
        goto fail;
    if (db_commit(db) != SQLITE_OK)
        goto fail;
    return 0;
fail:
    db_rollback(db);
    return -1;
}

/*
 * Brings a replica made before replica_users.keys to this schema, in one
 * transaction: every user a key names gets a row (as ensuring the user on
 * a LoginKeyIssued would have made), each row lists its user's keys, and
 * the indexes by user and by key id go. A replica already current is only
 * read.
 */
static int migrate_replica(sqlite3 *db)
{
    int added, rc;
    long long current = db_int(db, &rc, 0,
                               "SELECT (SELECT count(*) FROM pragma_table_info('replica_users')"
                               " WHERE name = 'keys') = 1 AND (SELECT count(*) FROM sqlite_schema"
                               " WHERE name IN ('replica_keys_by_user', 'replica_keys_by_id')) = 0",
                               "");

    if (rc != SQLITE_ROW)
        goto fail_read;
    if (current)
        return 0;
    if (db_begin(db) != SQLITE_OK)
        return -1;
    added = db_add_column(db, "replica_users", "keys", "TEXT NOT NULL DEFAULT '[]'");
    if (added < 0)
        goto fail;
    if (added &&
        db_exec_script(db, "INSERT INTO replica_users(user_id, customer_id)"
                           " SELECT user_id, min(customer_id) FROM replica_keys GROUP BY user_id"
                           " ON CONFLICT(user_id) DO NOTHING;"
                           "UPDATE replica_users SET keys = (SELECT json_group_array(key_sha256)"
                           " FROM replica_keys k WHERE k.user_id = replica_users.user_id)"
                           " WHERE user_id IN (SELECT user_id FROM replica_keys);") != SQLITE_OK)
        goto fail;
    if (db_exec_script(db, "DROP INDEX IF EXISTS replica_keys_by_user;"
                           "DROP INDEX IF EXISTS replica_keys_by_id;") != SQLITE_OK ||
        db_commit(db) != SQLITE_OK)
        goto fail;
    if (added)
        log_info("migrated the credential replica: users list their keys", NULL);
    return 0;
fail:
    log_error("cannot migrate the credential replica", "error=\"%s\"", sqlite3_errmsg(db));
    db_rollback(db);
    return -1;
fail_read:
    log_error("cannot read the credential replica's schema", "error=\"%s\"", sqlite3_errmsg(db));
    return -1;
}

int schema_create_replica(sqlite3 *db)
{
    if (db_exec_script(db, replica_sql) != SQLITE_OK)
        return -1;
    return migrate_replica(db);
}

int schema_create_usage(sqlite3 *db)
{
    enum fs_error err;

    if (db_exec_script(db, usage_sql) != SQLITE_OK || migrate_usage(db) != 0)
        return -1;
    err = fs_feed_declare(db, CLOUD_API_USAGE_FEED, 0);
    if (err != FS_OK) {
        log_error("cannot declare the usage feed", "error=\"%s\"", fs_strerror(err));
        return -1;
    }
    return 0;
}
