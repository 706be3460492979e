#include "position_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char schema[] = "CREATE TABLE IF NOT EXISTS feed_followers ("
                             " feed_url TEXT PRIMARY KEY,"
                             " position INTEGER NOT NULL DEFAULT 0,"
                             " last_id TEXT NOT NULL DEFAULT '',"
                             " head INTEGER NOT NULL DEFAULT 0,"
                             " skipped INTEGER NOT NULL DEFAULT 0,"
                             " errors INTEGER NOT NULL DEFAULT 0,"
                             " last_success TEXT NOT NULL DEFAULT '',"
                             " last_error TEXT NOT NULL DEFAULT '',"
                             " last_error_at TEXT NOT NULL DEFAULT '')";

static int is_busy(int rc)
{
    return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

/* Notes the failure rc of operation op in s->msg; FR_ERR_BUSY or
 * FR_ERR_DB. */
static enum fr_error failed(struct fr__store *s, int rc, const char *op)
{
    snprintf(s->msg, sizeof s->msg, "the consumer's database %s (%s): %s",
             is_busy(rc) ? "is busy" : "failed", op, sqlite3_errmsg(s->db));
    return is_busy(rc) ? FR_ERR_BUSY : FR_ERR_DB;
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
    return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
}

/* Runs a statement without results to its end and resets it; returns the
 * SQLite code of the step (SQLITE_DONE on success). */
static int run(sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);

    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rc;
}

enum fr_error fr__store_open(struct fr__store *s, sqlite3 *db, const char *feed_url)
{
    sqlite3_stmt *ins = NULL;
    enum fr_error err = FR_OK;
    int rc;

    memset(s, 0, sizeof *s);
    s->db = db;
    s->feed_url = strdup(feed_url);
    if (!s->feed_url)
        return FR_ERR_NOMEM;
    rc = sqlite3_exec(db, schema, NULL, NULL, NULL);
    if (rc != SQLITE_OK || (rc = prepare(db,
                                         "INSERT OR IGNORE INTO feed_followers (feed_url)"
                                         " VALUES (?1)",
                                         &ins)) != SQLITE_OK) {
        err = failed(s, rc, "open");
        goto out;
    }
    sqlite3_bind_text(ins, 1, feed_url, -1, SQLITE_STATIC);
    rc = run(ins);
    if (rc != SQLITE_DONE) {
        err = failed(s, rc, "open");
        goto out;
    }
    if ((rc = prepare(db,
                      "SELECT position, last_id, head, skipped FROM feed_followers"
                      " WHERE feed_url = ?1",
                      &s->load)) ||
        (rc = prepare(db,
                      "UPDATE feed_followers SET position = ?2, last_id = ?3, head = ?4,"
                      " skipped = ?5, last_success = ?6 WHERE feed_url = ?1",
                      &s->save)) ||
        (rc = prepare(db,
                      "UPDATE feed_followers SET errors = errors + ?4, last_error = ?2,"
                      " last_error_at = ?3 WHERE feed_url = ?1",
                      &s->error)) ||
        (rc = prepare(db, "BEGIN IMMEDIATE", &s->begin)) ||
        (rc = prepare(db, "COMMIT", &s->commit)) || (rc = prepare(db, "ROLLBACK", &s->rollback)))
        err = failed(s, rc, "prepare");
out:
    sqlite3_finalize(ins);
    return err;
}

void fr__store_release(struct fr__store *s)
{
    sqlite3_finalize(s->load);
    sqlite3_finalize(s->save);
    sqlite3_finalize(s->error);
    sqlite3_finalize(s->begin);
    sqlite3_finalize(s->commit);
    sqlite3_finalize(s->rollback);
    free(s->feed_url);
    memset(s, 0, sizeof *s);
}

enum fr_error fr__store_load(struct fr__store *s, struct fr__state *st)
{
    const unsigned char *id;
    int rc;

    sqlite3_bind_text(s->load, 1, s->feed_url, -1, SQLITE_STATIC);
    rc = sqlite3_step(s->load);
    if (rc == SQLITE_ROW) {
        st->position = sqlite3_column_int64(s->load, 0);
        id = sqlite3_column_text(s->load, 1);
        snprintf(st->last_id, sizeof st->last_id, "%s", id ? (const char *)id : "");
        st->head = sqlite3_column_int64(s->load, 2);
        st->skipped = sqlite3_column_int64(s->load, 3);
    } else if (rc == SQLITE_DONE) {
        snprintf(s->msg, sizeof s->msg, "the follower's row of %.200s is gone", s->feed_url);
    } else {
        failed(s, rc, "load");
    }
    sqlite3_reset(s->load);
    sqlite3_clear_bindings(s->load);
    if (rc == SQLITE_ROW)
        return FR_OK;
    return is_busy(rc) ? FR_ERR_BUSY : FR_ERR_DB;
}

enum fr_error fr__store_begin(struct fr__store *s)
{
    int rc = run(s->begin);

    return rc == SQLITE_DONE ? FR_OK : failed(s, rc, "begin");
}

enum fr_error fr__store_save(struct fr__store *s, const struct fr__state *st)
{
    char now[21];
    int rc;

    fr__now_rfc3339(now);
    sqlite3_bind_text(s->save, 1, s->feed_url, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s->save, 2, st->position);
    sqlite3_bind_text(s->save, 3, st->last_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s->save, 4, st->head);
    sqlite3_bind_int64(s->save, 5, st->skipped);
    sqlite3_bind_text(s->save, 6, now, -1, SQLITE_STATIC);
    rc = run(s->save);
    return rc == SQLITE_DONE ? FR_OK : failed(s, rc, "save");
}

enum fr_error fr__store_commit(struct fr__store *s)
{
    int rc = run(s->commit);
    enum fr_error err;

    if (rc == SQLITE_DONE)
        return FR_OK;
    err = failed(s, rc, "commit");
    fr__store_rollback(s);
    return err;
}

void fr__store_rollback(struct fr__store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        run(s->rollback);
}

enum fr_error fr__store_error(struct fr__store *s, const char *message, const char *at,
                              int64_t count)
{
    int rc;

    sqlite3_bind_text(s->error, 1, s->feed_url, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->error, 2, message, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->error, 3, at, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s->error, 4, count);
    rc = run(s->error);
    return rc == SQLITE_DONE ? FR_OK : failed(s, rc, "record error");
}

/* Calls fn for each stored follower. */
enum fr_error fr_status_list(sqlite3 *db, fr_status_fn *fn, void *userdata)
{
    sqlite3_stmt *stmt = NULL;
    enum fr_error err = FR_ERR_DB;
    int rc;

    rc = sqlite3_prepare_v2(db,
                            "SELECT feed_url, position, head, skipped, errors, last_success,"
                            " last_error, last_error_at FROM feed_followers ORDER BY feed_url",
                            -1, &stmt, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_stmt *probe = NULL;
        int exists = 0;

        if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_schema WHERE name = 'feed_followers'", -1,
                               &probe, NULL) == SQLITE_OK)
            exists = sqlite3_step(probe) == SQLITE_ROW;
        sqlite3_finalize(probe);
        err = exists ? (is_busy(rc) ? FR_ERR_BUSY : FR_ERR_DB) : FR_OK;
        goto out;
    }
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct fr_status st;

#define TEXT(i) (sqlite3_column_text(stmt, i) ? (const char *)sqlite3_column_text(stmt, i) : "")
        st.feed_url = TEXT(0);
        st.position = sqlite3_column_int64(stmt, 1);
        st.head = sqlite3_column_int64(stmt, 2);
        st.skipped = sqlite3_column_int64(stmt, 3);
        st.errors = sqlite3_column_int64(stmt, 4);
        st.last_success = TEXT(5);
        st.last_error = TEXT(6);
        st.last_error_at = TEXT(7);
#undef TEXT
        fn(&st, userdata);
    }
    err = rc == SQLITE_DONE ? FR_OK : is_busy(rc) ? FR_ERR_BUSY : FR_ERR_DB;
out:
    sqlite3_finalize(stmt);
    return err;
}
