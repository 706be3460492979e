#include "idempotency.h"

#include "log.h"

#include <stdlib.h>
#include <string.h>

int idempotency_key_valid(const char *value)
{
    size_t n = 0;

    for (; value[n]; n++)
        if (value[n] < '!' || value[n] > '~' || n >= IDEMPOTENCY_KEY_MAX)
            return 0;
    return n > 0;
}

char *idempotency_find(sqlite3 *db, const char *key_sha256, const char *idempotency_key,
                       time_t not_before, char request_sha256[65], int *found)
{
    sqlite3_stmt *st = NULL;
    const char *text;
    char *body = NULL;
    int rc;

    *found = -1;
    request_sha256[0] = '\0';
    if (!db) {
        log_error("cannot read a stored answer", "%s", "error=\"no database connection\"");
        return NULL;
    }
    if (sqlite3_prepare_v2(db,
                           "SELECT body, request_sha256 FROM analyze_replays"
                           " WHERE key_sha256 = ?1 AND idempotency_key = ?2 AND created_at > ?3",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, key_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, idempotency_key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)not_before);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        *found = 0;
        goto out;
    }
    if (rc != SQLITE_ROW)
        goto out;
    text = (const char *)sqlite3_column_text(st, 1);
    if (text && strlen(text) == 64)
        memcpy(request_sha256, text, 65);
    text = (const char *)sqlite3_column_text(st, 0);
    body = strdup(text ? text : "");
    if (body)
        *found = 1;
out:
    if (*found < 0)
        log_error("cannot read a stored answer", "error=\"%s\"", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return body;
}

int idempotency_purge(sqlite3 *db, time_t now, unsigned retention, int64_t *deleted)
{
    sqlite3_stmt *st = NULL;
    int status = -1;

    if (deleted)
        *deleted = 0;
    if (sqlite3_prepare_v2(db, "DELETE FROM analyze_replays WHERE created_at <= ?1", -1, &st,
                           NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)now - (sqlite3_int64)retention);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto out;
    if (deleted)
        *deleted = sqlite3_changes(db);
    status = 0;
out:
    if (status != 0)
        log_error("cannot delete old stored answers", "error=\"%s\"", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return status;
}
