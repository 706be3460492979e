#include "sessions.h"

#include "cookies.h"
#include "db.h"
#include "log.h"
#include "strbuf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int session_create(sqlite3 *db, const struct user_ref *u, unsigned lifetime,
                   char id[SHA256_HEX_SIZE], char hash[SHA256_HEX_SIZE])
{
    long long now = (long long)time(NULL);
    int rc;

    if (random_hex(32, id, SHA256_HEX_SIZE) != 0 || sha256_hex(id, strlen(id), hash) != 0) {
        log_error("cannot make a session id", NULL);
        return -1;
    }
    rc = db_exec(db,
                 "INSERT INTO sessions (id_sha256, customer_id, user_id, key_id, created_at, "
                 "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                 "ttttii", hash, u->customer_id, u->user_id, u->key_id, now,
                 now + (long long)lifetime);
    return rc == SQLITE_DONE ? 0 : -1;
}

static const char *const LIVE_SQL =
    "SELECT s.customer_id, s.user_id, s.key_id, u.email "
    "FROM sessions s "
    "JOIN users u ON u.customer_id = s.customer_id AND u.user_id = s.user_id "
    "JOIN login_keys k ON k.customer_id = s.customer_id AND k.key_id = s.key_id "
    "LEFT JOIN customers c ON c.customer_id = s.customer_id "
    "WHERE s.id_sha256 = ? AND s.expires_at > ? AND u.removed = 0 AND k.revoked = 0 "
    "  AND COALESCE(c.locked, 0) = 0";

static char *column_dup(sqlite3_stmt *st, int col)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    return xstrdup(s ? (const char *)s : "");
}

/* Looks up the live session keyed by hash; fills *out when out is not NULL. */
static int find_by_hash(sqlite3 *db, const char *hash, struct user_ref *out)
{
    sqlite3_stmt *st = NULL;
    int result = -1;
    int rc;

    if (out)
        memset(out, 0, sizeof *out);
    if (sqlite3_prepare_v2(db, LIVE_SQL, -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        result = 0;
        goto out;
    }
    if (rc != SQLITE_ROW)
        goto out;
    if (out) {
        out->customer_id = column_dup(st, 0);
        out->user_id = column_dup(st, 1);
        out->key_id = column_dup(st, 2);
        out->email = column_dup(st, 3);
    }
    result = 1;
out:
    if (result < 0)
        log_error("session lookup failed", "error=\"%s\"", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return result;
}

int session_find(sqlite3 *db, const char *id, struct user_ref *out, char hash[SHA256_HEX_SIZE])
{
    memset(out, 0, sizeof *out);
    if (sha256_hex(id, strlen(id), hash) != 0)
        return -1;
    return find_by_hash(db, hash, out);
}

int session_is_live(sqlite3 *db, const char *hash)
{
    return find_by_hash(db, hash, NULL);
}

int session_user(sqlite3 *db, const char *hash, struct user_ref *out)
{
    return find_by_hash(db, hash, out);
}

int session_end(sqlite3 *db, const char *hash)
{
    return db_exec(db, "DELETE FROM sessions WHERE id_sha256 = ?", "t", hash) == SQLITE_DONE ? 0
                                                                                             : -1;
}

static const char *const END_WORDS[] = {
    [SESSION_END_UNKNOWN] = "unknown",         [SESSION_END_EXPIRED] = "expired",
    [SESSION_END_KEY_REVOKED] = "key_revoked", [SESSION_END_USER_REMOVED] = "user_removed",
    [SESSION_END_LOCKED] = "customer_locked",  [SESSION_END_RESTARTED] = "restarted",
};

int session_ends_record(sqlite3 *db, const char *customer_id, const char *user_id,
                        const char *key_id, enum session_end_reason reason)
{
    int rc = db_exec(
        db,
        "INSERT OR REPLACE INTO session_ends (id_sha256, customer_id, reason, keep_until)"
        " SELECT id_sha256, customer_id, ?1, expires_at + ?2 FROM sessions WHERE customer_id = ?3"
        " AND (?4 IS NULL OR user_id = ?4) AND (?5 IS NULL OR key_id = ?5)",
        "tittt", END_WORDS[reason], (long long)SESSION_END_GRACE, customer_id, user_id, key_id);

    return rc == SQLITE_DONE ? 0 : -1;
}

enum session_end_reason session_end_reason(sqlite3 *db, const char *id, char *lock_reason,
                                           size_t lock_reason_size)
{
    char hash[SHA256_HEX_SIZE];
    char *word = NULL, *lock = NULL;
    enum session_end_reason r = SESSION_END_UNKNOWN;

    if (lock_reason_size)
        lock_reason[0] = '\0';
    if (sha256_hex(id, strlen(id), hash) != 0)
        return r;
    word =
        db_text(db, NULL,
                "SELECT CASE WHEN s.expires_at <= ?2 THEN 'expired'"
                " WHEN coalesce(c.locked, 0) THEN 'customer_locked'"
                " WHEN coalesce(u.removed, 1) THEN 'user_removed'"
                " WHEN coalesce(k.revoked, 1) THEN 'key_revoked' END"
                " FROM sessions s"
                " LEFT JOIN users u ON u.customer_id = s.customer_id AND u.user_id = s.user_id"
                " LEFT JOIN login_keys k ON k.customer_id = s.customer_id AND k.key_id = s.key_id"
                " LEFT JOIN customers c ON c.customer_id = s.customer_id"
                " WHERE s.id_sha256 = ?1",
                "ti", hash, (long long)time(NULL));
    if (!word)
        word = db_text(db, NULL,
                       "SELECT reason FROM session_ends WHERE id_sha256 = ?1 AND keep_until > ?2",
                       "ti", hash, (long long)time(NULL));
    for (size_t i = 1; word && i < sizeof END_WORDS / sizeof END_WORDS[0]; i++)
        if (strcmp(word, END_WORDS[i]) == 0)
            r = (enum session_end_reason)i;
    if (r == SESSION_END_LOCKED) {
        lock = db_text(db, NULL,
                       "SELECT c.lock_reason FROM customers c WHERE c.customer_id ="
                       " coalesce((SELECT customer_id FROM sessions WHERE id_sha256 = ?1),"
                       " (SELECT customer_id FROM session_ends WHERE id_sha256 = ?1))",
                       "t", hash);
        if (lock && lock_reason_size)
            snprintf(lock_reason, lock_reason_size, "%s", lock);
    }
    free(word);
    free(lock);
    return r;
}

int session_end_because(sqlite3 *db, const char *hash, enum session_end_reason reason)
{
    if (db_exec(db,
                "INSERT OR REPLACE INTO session_ends (id_sha256, customer_id, reason, keep_until)"
                " SELECT id_sha256, customer_id, ?, expires_at + ? FROM sessions"
                " WHERE id_sha256 = ?",
                "tit", END_WORDS[reason], (long long)SESSION_END_GRACE, hash) != SQLITE_DONE)
        return -1;
    return session_end(db, hash);
}

int sessions_purge_expired(sqlite3 *db)
{
    long long now = (long long)time(NULL);

    if (db_exec(db, "DELETE FROM session_ends WHERE keep_until <= ?", "i", now) != SQLITE_DONE ||
        db_exec(db,
                "INSERT OR REPLACE INTO session_ends (id_sha256, customer_id, reason, keep_until)"
                " SELECT id_sha256, customer_id, 'expired', expires_at + ? FROM sessions WHERE "
                "expires_at <= ?",
                "ii", (long long)SESSION_END_GRACE, now) != SQLITE_DONE ||
        db_exec(db, "DELETE FROM sessions WHERE expires_at <= ?", "i", now) != SQLITE_DONE)
        return -1;
    return sqlite3_changes(db);
}

int sessions_clear(sqlite3 *db)
{
    if (db_exec(db,
                "INSERT OR REPLACE INTO session_ends (id_sha256, customer_id, reason, keep_until)"
                " SELECT id_sha256, customer_id, 'restarted', expires_at + ? FROM sessions",
                "i", (long long)SESSION_END_GRACE) != SQLITE_DONE)
        return -1;
    return db_exec(db, "DELETE FROM sessions", "") == SQLITE_DONE ? 0 : -1;
}

int session_cookie_id(const char *cookie_header, char id[SHA256_HEX_SIZE])
{
    size_t n;

    if (!cookie_get(cookie_header, SESSION_COOKIE, id, SHA256_HEX_SIZE))
        return 0;
    n = strlen(id);
    if (n != SHA256_HEX_SIZE - 1 || strspn(id, "0123456789abcdefABCDEF") != n) {
        id[0] = '\0';
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        id[i] = (char)tolower((unsigned char)id[i]);
    return 1;
}
