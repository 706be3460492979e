#include "directory.h"

#include "db.h"
#include "feedreader.h"
#include "log.h"
#include "replica.h"
#include "sessions.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void user_ref_release(struct user_ref *u)
{
    if (!u)
        return;
    free(u->customer_id);
    free(u->user_id);
    free(u->key_id);
    free(u->email);
    memset(u, 0, sizeof *u);
}

/* Makes sure customer_id has a row, so events arriving before (or without)
 * CustomerRegistered still have a customer to lock. */
static int ensure_customer(sqlite3 *db, const char *customer_id)
{
    return db_ok(
        db_exec(db, "INSERT OR IGNORE INTO customers (customer_id) VALUES (?)", "t", customer_id));
}

int directory_customer_registered(sqlite3 *db, const char *customer_id, const char *name,
                                  const char *plan)
{
    return db_ok(db_exec(db,
                         "INSERT INTO customers (customer_id, name, plan) VALUES (?, ?, ?) "
                         "ON CONFLICT (customer_id) DO UPDATE SET name = excluded.name, "
                         "plan = excluded.plan",
                         "ttt", customer_id, name, plan));
}

int directory_key_issued(sqlite3 *db, const char *customer_id, const char *user_id,
                         const char *key_id, const char *key_sha256)
{
    char sha[REPLICA_SHA256_HEX];

    replica_lower_hex(key_sha256, sha);
    if (ensure_customer(db, customer_id) != 0)
        return -1;
    return db_ok(db_exec(db,
                         "INSERT INTO login_keys (customer_id, key_id, user_id, key_sha256) "
                         "VALUES (?, ?, ?, ?) ON CONFLICT (customer_id, key_id) DO UPDATE SET "
                         "user_id = excluded.user_id, key_sha256 = excluded.key_sha256",
                         "tttt", customer_id, key_id, user_id, sha));
}

int directory_user_added(sqlite3 *db, const char *customer_id, const char *user_id,
                         const char *email, const char *key_id, const char *key_sha256)
{
    if (ensure_customer(db, customer_id) != 0)
        return -1;
    if (db_ok(db_exec(db,
                      "INSERT INTO users (customer_id, user_id, email) VALUES (?, ?, ?) "
                      "ON CONFLICT (customer_id, user_id) DO UPDATE SET email = excluded.email, "
                      "removed = 0",
                      "ttt", customer_id, user_id, email)) != 0)
        return -1;
    if (!key_id || !key_sha256)
        return 0;
    return directory_key_issued(db, customer_id, user_id, key_id, key_sha256);
}

int directory_key_revoked(sqlite3 *db, const char *customer_id, const char *user_id,
                          const char *key_id)
{
    (void)user_id;
    if (db_ok(db_exec(db, "UPDATE login_keys SET revoked = 1 WHERE customer_id = ? AND key_id = ?",
                      "tt", customer_id, key_id)) != 0)
        return -1;
    if (session_ends_record(db, customer_id, NULL, key_id, SESSION_END_KEY_REVOKED) != 0)
        return -1;
    return db_ok(db_exec(db, "DELETE FROM sessions WHERE customer_id = ? AND key_id = ?", "tt",
                         customer_id, key_id));
}

int directory_user_removed(sqlite3 *db, const char *customer_id, const char *user_id)
{
    if (db_ok(db_exec(db, "UPDATE users SET removed = 1 WHERE customer_id = ? AND user_id = ?",
                      "tt", customer_id, user_id)) != 0)
        return -1;
    if (db_ok(db_exec(db, "UPDATE login_keys SET revoked = 1 WHERE customer_id = ? AND user_id = ?",
                      "tt", customer_id, user_id)) != 0)
        return -1;
    if (session_ends_record(db, customer_id, user_id, NULL, SESSION_END_USER_REMOVED) != 0)
        return -1;
    return db_ok(db_exec(db, "DELETE FROM sessions WHERE customer_id = ? AND user_id = ?", "tt",
                         customer_id, user_id));
}

int directory_customer_locked(sqlite3 *db, const char *customer_id, const char *reason)
{
    if (ensure_customer(db, customer_id) != 0)
        return -1;
    if (db_ok(db_exec(db, "UPDATE customers SET locked = 1, lock_reason = ? WHERE customer_id = ?",
                      "tt", reason, customer_id)) != 0)
        return -1;
    if (session_ends_record(db, customer_id, NULL, NULL, SESSION_END_LOCKED) != 0)
        return -1;
    return db_ok(db_exec(db, "DELETE FROM sessions WHERE customer_id = ?", "t", customer_id));
}

int directory_customer_unlocked(sqlite3 *db, const char *customer_id)
{
    if (ensure_customer(db, customer_id) != 0)
        return -1;
    return db_ok(
        db_exec(db, "UPDATE customers SET locked = 0, lock_reason = NULL WHERE customer_id = ?",
                "t", customer_id));
}

static char *column_dup(sqlite3_stmt *st, int col)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    return xstrdup(s ? (const char *)s : "");
}

enum directory_match directory_find(sqlite3 *db, const char *email, const char *key_sha256,
                                    struct user_ref *out)
{
    static const char *const sql =
        "SELECT k.customer_id, k.user_id, k.key_id, u.email, k.revoked, "
        "       COALESCE(c.locked, 0) "
        "FROM login_keys k "
        "JOIN users u ON u.customer_id = k.customer_id AND u.user_id = k.user_id "
        "LEFT JOIN customers c ON c.customer_id = k.customer_id "
        "WHERE u.email = ? AND k.key_sha256 = ? AND u.removed = 0 "
        "ORDER BY k.revoked, COALESCE(c.locked, 0) LIMIT 1";
    sqlite3_stmt *st = NULL;
    enum directory_match result = DIRECTORY_ERROR;
    char sha[REPLICA_SHA256_HEX];
    int rc;

    memset(out, 0, sizeof *out);
    replica_lower_hex(key_sha256, sha);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        log_error("sign-in lookup failed", "error=\"%s\"", sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_bind_text(st, 1, email, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, sha, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        result = DIRECTORY_NO_MATCH;
        goto out;
    }
    if (rc != SQLITE_ROW) {
        log_error("sign-in lookup failed", "error=\"%s\"", sqlite3_errmsg(db));
        goto out;
    }
    out->customer_id = column_dup(st, 0);
    out->user_id = column_dup(st, 1);
    out->key_id = column_dup(st, 2);
    out->email = column_dup(st, 3);
    if (sqlite3_column_int(st, 4))
        result = DIRECTORY_REVOKED;
    else if (sqlite3_column_int(st, 5))
        result = DIRECTORY_LOCKED;
    else
        result = DIRECTORY_OK;
out:
    sqlite3_finalize(st);
    return result;
}

/* ---- Feed handlers ------------------------------------------------------ */

/* The effect of each event type: its required fields' values are v[], in
 * the order the table in directory_follow() lists them; optional ones are
 * read here. */

static int customer_registered(sqlite3 *db, const struct fr_entry *e, const char *const *v)
{
    return directory_customer_registered(db, v[0], fr_entry_field(e, "name"),
                                         fr_entry_field(e, "plan"));
}

static int user_added(sqlite3 *db, const struct fr_entry *e, const char *const *v)
{
    (void)e;
    return directory_user_added(db, v[0], v[1], v[2], v[3], v[4]);
}

static int key_issued(sqlite3 *db, const struct fr_entry *e, const char *const *v)
{
    (void)e;
    return directory_key_issued(db, v[0], v[1], v[2], v[3]);
}

static int key_revoked(sqlite3 *db, const struct fr_entry *e, const char *const *v)
{
    return directory_key_revoked(db, v[0], fr_entry_field(e, "userId"), v[1]);
}

static int user_removed(sqlite3 *db, const struct fr_entry *e, const char *const *v)
{
    (void)e;
    return directory_user_removed(db, v[0], v[1]);
}

static int customer_locked(sqlite3 *db, const struct fr_entry *e, const char *const *v)
{
    return directory_customer_locked(db, v[0], fr_entry_field(e, "reason"));
}

static int customer_unlocked(sqlite3 *db, const struct fr_entry *e, const char *const *v)
{
    (void)e;
    return directory_customer_unlocked(db, v[0]);
}

int directory_follow(struct fr_follower *f)
{
    /* Product 1 signs users in by email, so UserAdded must carry one. */
    static const struct replica_event events[] = {
        {"CustomerRegistered", {"customerId"}, customer_registered},
        {"UserAdded", {"customerId", "userId", "email", "keyId", "keySha256"}, user_added},
        {"LoginKeyIssued", {"customerId", "userId", "keyId", "keySha256"}, key_issued},
        {"LoginKeyRevoked", {"customerId", "keyId"}, key_revoked},
        {"UserRemoved", {"customerId", "userId"}, user_removed},
        {"CustomerLocked", {"customerId"}, customer_locked},
        {"CustomerUnlocked", {"customerId"}, customer_unlocked},
    };

    return replica_follow(f, events, sizeof events / sizeof events[0]);
}
