#include "analyses.h"

#include "db.h"
#include "feedserver.h"
#include "log.h"
#include "schema.h"
#include "secrets.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW_SQL "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"

int analysis_new_id(char id[ANALYSIS_ID_SIZE])
{
    char hex[33];

    if (random_hex(16, hex, sizeof hex) != 0)
        return -1;
    return snprintf(id, ANALYSIS_ID_SIZE, "an_%s", hex) == ANALYSIS_ID_SIZE - 1 ? 0 : -1;
}

int analysis_create(sqlite3 *db, const char *id, const struct user_ref *u, const char *text)
{
    int rc = db_exec(db,
                     "INSERT INTO analyses (id, customer_id, user_id, text, status, created_at, "
                     "updated_at) VALUES (?, ?, ?, ?, 'queued', " NOW_SQL ", " NOW_SQL ")",
                     "tttt", id, u->customer_id, u->user_id, text);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Reads what AnalysisCompleted needs of queued analysis id and the units of
 * result_json. Returns 1 found (strings to free), 0 not queued, -1 error,
 * -2 bad result. */
static int completion_facts(sqlite3 *db, const char *id, const char *result_json,
                            char **customer_id, char **user_id, long long *units)
{
    static const char *const sql =
        "SELECT customer_id, user_id, "
        "       CASE WHEN json_valid(?2) THEN json_type(?2) = 'object' "
        "            AND json_type(?2, '$.units') = 'integer' ELSE 0 END, "
        "       CASE WHEN json_valid(?2) THEN json_extract(?2, '$.units') END "
        "FROM analyses WHERE id = ?1 AND status = 'queued'";
    sqlite3_stmt *st = NULL;
    int result = -1;
    int rc;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, result_json, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        result = 0;
        goto out;
    }
    if (rc != SQLITE_ROW)
        goto out;
    if (!sqlite3_column_int(st, 2) || sqlite3_column_int64(st, 3) < 0) {
        result = -2;
        goto out;
    }
    *customer_id = xstrdup((const char *)sqlite3_column_text(st, 0));
    *user_id = xstrdup((const char *)sqlite3_column_text(st, 1));
    *units = sqlite3_column_int64(st, 3);
    result = 1;
out:
    if (result == -1)
        log_error("cannot read analysis", "id=%s error=\"%s\"", id, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return result;
}

enum analysis_change analysis_complete(sqlite3 *db, const char *id, const char *result_json)
{
    enum analysis_change change = ANALYSIS_DB_ERROR;
    char *customer_id = NULL, *user_id = NULL;
    long long units = 0;
    char units_text[32];
    enum fs_error err;
    int found;

    if (db_begin(db) != SQLITE_OK)
        return ANALYSIS_DB_ERROR;
    found = completion_facts(db, id, result_json, &customer_id, &user_id, &units);
    if (found == 0) {
        change = ANALYSIS_NOT_QUEUED;
        goto fail;
    }
    if (found == -2) {
        change = ANALYSIS_BAD_RESULT;
        goto fail;
    }
    if (found < 0)
        goto fail;
    if (db_exec(db,
                "UPDATE analyses SET status = 'done', result = json(?), units = ?, reason = NULL, "
                "updated_at = " NOW_SQL " WHERE id = ?",
                "tit", result_json, units, id) != SQLITE_DONE)
        goto fail;
    snprintf(units_text, sizeof units_text, "%lld", units);
    {
        const struct fs_field fields[] = {
            {"customerId", customer_id},
            {"userId", user_id},
            {"analysisId", id},
            {"units", units_text},
        };
        const struct fs_event ev = {
            .type = "AnalysisCompleted",
            .version = 1,
            .fields = fields,
            .nfields = sizeof fields / sizeof fields[0],
        };
        err = db_feed_append(db, PRODUCT1_FEED, &ev, NULL);
    }
    if (err != FS_OK) {
        log_error("cannot publish AnalysisCompleted", "id=%s error=\"%s\"", id, fs_strerror(err));
        goto fail;
    }
    if (db_commit(db) != SQLITE_OK)
        goto fail;
    change = ANALYSIS_CHANGED;
    log_info("analysis done", "id=%s customer=%s user=%s units=%lld", id, customer_id, user_id,
             units);
    goto out;
fail:
    db_rollback(db);
out:
    free(customer_id);
    free(user_id);
    return change;
}

enum analysis_change analysis_fail(sqlite3 *db, const char *id, const char *reason)
{
    if (db_exec(db,
                "UPDATE analyses SET status = 'failed', reason = ?, updated_at = " NOW_SQL
                " WHERE id = ? AND status = 'queued'",
                "tt", reason, id) != SQLITE_DONE)
        return ANALYSIS_DB_ERROR;
    if (sqlite3_changes(db) == 0)
        return ANALYSIS_NOT_QUEUED;
    log_info("analysis failed", "id=%s reason=\"%s\"", id, reason);
    return ANALYSIS_CHANGED;
}

int analysis_count_attempt(sqlite3 *db, const char *id)
{
    return db_exec(db, "UPDATE analyses SET attempts = attempts + 1 WHERE id = ?", "t", id) ==
                   SQLITE_DONE
               ? 0
               : -1;
}

int analysis_load_queued(sqlite3 *db, const char *id, struct analysis_job *job)
{
    sqlite3_stmt *st = NULL;
    int result = -1;
    int rc;

    memset(job, 0, sizeof *job);
    if (sqlite3_prepare_v2(db,
                           "SELECT customer_id, user_id, text, "
                           "       strftime('%s', 'now') - strftime('%s', created_at) "
                           "FROM analyses "
                           "WHERE id = ? AND status = 'queued'",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        result = 0;
        goto out;
    }
    if (rc != SQLITE_ROW)
        goto out;
    snprintf(job->id, sizeof job->id, "%s", id);
    job->customer_id = xstrdup((const char *)sqlite3_column_text(st, 0));
    job->user_id = xstrdup((const char *)sqlite3_column_text(st, 1));
    job->len = (size_t)sqlite3_column_bytes(st, 2);
    job->text = xmalloc(job->len + 1);
    if (job->len)
        memcpy(job->text, sqlite3_column_text(st, 2), job->len);
    job->text[job->len] = '\0';
    job->age = sqlite3_column_int64(st, 3);
    result = 1;
out:
    if (result < 0)
        log_error("cannot load analysis", "id=%s error=\"%s\"", id, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return result;
}

void analysis_job_release(struct analysis_job *job)
{
    if (!job)
        return;
    free(job->customer_id);
    free(job->user_id);
    free(job->text);
    memset(job, 0, sizeof *job);
}

int analyses_queued(sqlite3 *db, const struct user_ref *u, char (*ids)[ANALYSIS_ID_SIZE], int max)
{
    sqlite3_stmt *st = NULL;
    int n = -1;
    int rc = SQLITE_DONE;

    if (sqlite3_prepare_v2(db,
                           "SELECT id FROM analyses WHERE status = 'queued' "
                           "AND (?1 IS NULL OR (customer_id = ?1 AND user_id = ?2)) "
                           "ORDER BY created_at, rowid LIMIT ?3",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    if (u) {
        sqlite3_bind_text(st, 1, u->customer_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, u->user_id, -1, SQLITE_TRANSIENT);
    }
    sqlite3_bind_int(st, 3, max);
    n = 0;
    while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
        snprintf(ids[n++], ANALYSIS_ID_SIZE, "%s", (const char *)sqlite3_column_text(st, 0));
    if (n < max && rc != SQLITE_DONE)
        n = -1;
out:
    if (n < 0)
        log_error("cannot list queued analyses", "error=\"%s\"", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return n;
}

long long analyses_count(sqlite3 *db, const char *status, const char *customer_id,
                         const char *user_id)
{
    int rc;
    long long n;

    if (customer_id && user_id)
        n = db_int(db, &rc, 0,
                   "SELECT count(*) FROM analyses WHERE status = ? AND customer_id = ? "
                   "AND user_id = ?",
                   "ttt", status, customer_id, user_id);
    else
        n = db_int(db, &rc, 0, "SELECT count(*) FROM analyses WHERE status = ?", "t", status);
    return rc == SQLITE_ROW ? n : -1;
}

#define ANALYSIS_OBJECT_SQL                                                                        \
    "json_object('id', id, 'status', status, 'created_at', created_at, 'result', json(result), "   \
    "'reason', reason)"

char *analysis_json(sqlite3 *db, const char *id)
{
    return db_text(db, NULL, "SELECT " ANALYSIS_OBJECT_SQL " FROM analyses WHERE id = ?", "t", id);
}

char *analysis_json_for(sqlite3 *db, const struct user_ref *u, const char *id)
{
    return db_text(db, NULL,
                   "SELECT " ANALYSIS_OBJECT_SQL
                   " FROM analyses WHERE id = ? AND customer_id = ? AND user_id = ?",
                   "ttt", id, u->customer_id, u->user_id);
}

char *analyses_json(sqlite3 *db, const struct user_ref *u)
{
    return db_text(db, NULL,
                   "SELECT json_group_array(json(o)) FROM (SELECT " ANALYSIS_OBJECT_SQL
                   " AS o FROM analyses WHERE customer_id = ? AND user_id = ? "
                   "ORDER BY created_at DESC, rowid DESC)",
                   "tt", u->customer_id, u->user_id);
}

int analyses_each(sqlite3 *db, const struct user_ref *u, int limit, analysis_row_fn *fn,
                  void *userdata)
{
    static const char *const sql =
        "SELECT id, status, created_at, reason, "
        "       json_extract(result, '$.characters'), json_extract(result, '$.words'), "
        "       json_extract(result, '$.lines'), units, "
        "       substr(text, 1, " ANALYSIS_PREVIEW_SQL "), length(text) > " ANALYSIS_PREVIEW_SQL " "
        "FROM analyses WHERE customer_id = ? AND user_id = ? "
        "ORDER BY created_at DESC, rowid DESC LIMIT ?";
    sqlite3_stmt *st = NULL;
    int result = -1;
    int rc;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, u->customer_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, u->user_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct analysis_row row = {
            .id = (const char *)sqlite3_column_text(st, 0),
            .status = (const char *)sqlite3_column_text(st, 1),
            .created_at = (const char *)sqlite3_column_text(st, 2),
            .reason = (const char *)sqlite3_column_text(st, 3),
            .characters = sqlite3_column_int64(st, 4),
            .words = sqlite3_column_int64(st, 5),
            .lines = sqlite3_column_int64(st, 6),
            .units = sqlite3_column_int64(st, 7),
            .preview = (const char *)sqlite3_column_text(st, 8),
            .cut = sqlite3_column_int(st, 9) != 0,
        };
        fn(&row, userdata);
    }
    if (rc == SQLITE_DONE)
        result = 0;
out:
    if (result < 0)
        log_error("cannot list analyses", "error=\"%s\"", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return result;
}
