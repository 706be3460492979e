#include "sessions.h"

#include "calendar.h"
#include "db.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

static const char *kind_name(enum session_kind kind)
{
    return kind == SESSION_OPERATOR ? "operator" : "portal";
}

int session_start(sqlite3 *db, enum session_kind kind, int token_index, const char *customer_id,
                  const char *user_id, const char *key_id, unsigned lifetime,
                  char id[SHA256_HEX_SIZE], char hash[SHA256_HEX_SIZE])
{
    long long now = (long long)sub_clock_now();
    int rc;

    if (random_hex(32, id, SHA256_HEX_SIZE) != 0 || sha256_hex(id, strlen(id), hash) != 0) {
        log_error("cannot make a session id", NULL);
        id[0] = '\0';
        return -1;
    }
    rc = db_exec(db,
                 "INSERT INTO sessions (id_sha256, kind, token_index, customer_id, user_id, key_id,"
                 " created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                 "ttitttii", hash, kind_name(kind),
                 (long long)(kind == SESSION_OPERATOR ? token_index : -1), customer_id, user_id,
                 key_id, now, now + (long long)lifetime);
    if (rc != SQLITE_DONE) {
        memset(id, 0, SHA256_HEX_SIZE);
        return -1;
    }
    return 0;
}

/* A session is live while it has not expired and, for the portal, while its
 * user is current and its key valid. */
static const char LIVE_SQL[] =
    "SELECT s.token_index, coalesce(s.customer_id, ''), coalesce(s.user_id, ''),"
    " coalesce(s.key_id, ''), coalesce(u.email, ''), coalesce(u.is_admin, 0)"
    " FROM sessions s"
    " LEFT JOIN users u ON u.id = s.user_id AND u.customer_id = s.customer_id"
    "  AND u.removed_at IS NULL"
    " LEFT JOIN login_keys k ON k.id = s.key_id AND k.user_id = s.user_id AND k.revoked_at IS NULL"
    " WHERE s.id_sha256 = ?1 AND s.kind = ?2 AND s.expires_at > ?3"
    " AND (s.kind = 'operator' OR (u.id IS NOT NULL AND k.id IS NOT NULL))";

static void copy(char *out, size_t size, sqlite3_stmt *st, int col)
{
    const unsigned char *s = sqlite3_column_text(st, col);

    snprintf(out, size, "%s", s ? (const char *)s : "");
}

int session_find(sqlite3 *db, enum session_kind kind, const char *id, struct session *out)
{
    sqlite3_stmt *st = NULL;
    int result = -1, rc;

    memset(out, 0, sizeof *out);
    if (sha256_hex(id, strlen(id), out->hash) != 0)
        goto out;
    if (sqlite3_prepare_v2(db, LIVE_SQL, -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, out->hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, kind_name(kind), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)sub_clock_now());
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        result = 0;
        goto out;
    }
    if (rc != SQLITE_ROW)
        goto out;
    out->token_index = sqlite3_column_int(st, 0);
    copy(out->customer_id, sizeof out->customer_id, st, 1);
    copy(out->user_id, sizeof out->user_id, st, 2);
    copy(out->key_id, sizeof out->key_id, st, 3);
    copy(out->email, sizeof out->email, st, 4);
    out->is_admin = sqlite3_column_int(st, 5) != 0;
    result = 1;
out:
    if (result < 0)
        log_error("session lookup failed", "error=\"%s\"", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    if (result != 1)
        memset(out, 0, sizeof *out);
    return result;
}

int session_end(sqlite3 *db, const char *hash)
{
    return db_exec(db, "DELETE FROM sessions WHERE id_sha256 = ?1", "t", hash) == SQLITE_DONE ? 0
                                                                                              : -1;
}

int sessions_purge_expired(sqlite3 *db)
{
    if (db_exec(db, "DELETE FROM sessions WHERE expires_at <= ?1", "i",
                (long long)sub_clock_now()) != SQLITE_DONE)
        return -1;
    return sqlite3_changes(db);
}

int sessions_end_operators(sqlite3 *db)
{
    return db_exec(db, "DELETE FROM sessions WHERE kind = 'operator'", "") == SQLITE_DONE ? 0 : -1;
}
