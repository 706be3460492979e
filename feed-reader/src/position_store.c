#include "position_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* The table as this version makes it. A database made by a version keyed
 * by URL alone has every column but feed_id; schema_step() adds it. */
static const char create_table[] = "CREATE TABLE IF NOT EXISTS feed_followers ("
                                   " feed_url TEXT PRIMARY KEY,"
                                   " position INTEGER NOT NULL DEFAULT 0,"
                                   " last_id TEXT NOT NULL DEFAULT '',"
                                   " head INTEGER NOT NULL DEFAULT 0,"
                                   " skipped INTEGER NOT NULL DEFAULT 0,"
                                   " errors INTEGER NOT NULL DEFAULT 0,"
                                   " last_success TEXT NOT NULL DEFAULT '',"
                                   " last_error TEXT NOT NULL DEFAULT '',"
                                   " last_error_at TEXT NOT NULL DEFAULT '',"
                                   " feed_id TEXT NOT NULL DEFAULT '',"
                                   " last_poll TEXT NOT NULL DEFAULT '',"
                                   " last_applied TEXT NOT NULL DEFAULT '')";
static const char add_feed_id[] =
    "ALTER TABLE feed_followers ADD COLUMN feed_id TEXT NOT NULL DEFAULT ''";
/* Columns added later still (a table without them gets them): the time of
 * the last good poll of the head, and of the last entry applied. */
static const char *const add_times[] = {
    "ALTER TABLE feed_followers ADD COLUMN last_poll TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE feed_followers ADD COLUMN last_applied TEXT NOT NULL DEFAULT ''",
};
static const char *const time_columns[] = {"last_poll", "last_applied"};
static const char create_index[] = "CREATE UNIQUE INDEX IF NOT EXISTS feed_followers_feed_id"
                                   " ON feed_followers (feed_id) WHERE feed_id != ''";

static int is_busy(int rc)
{
    return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

/* The fr_error of a failed statement's code rc: a busy database and one
 * that cannot be written now (fr__db_storage_fault()) are transient. */
static enum fr_error error_of(int rc)
{
    return is_busy(rc) ? FR_ERR_BUSY : fr__db_storage_fault(rc) ? FR_ERR_STORAGE : FR_ERR_DB;
}

/* Notes the failure rc of operation op in s->msg; FR_ERR_BUSY,
 * FR_ERR_STORAGE or FR_ERR_DB. */
static enum fr_error failed(struct fr__store *s, int rc, const char *op)
{
    enum fr_error err = error_of(rc);

    snprintf(s->msg, sizeof s->msg, "the consumer's database %s (%s): %s",
             err == FR_ERR_BUSY      ? "is busy"
             : err == FR_ERR_STORAGE ? "cannot be written now"
                                     : "failed",
             op, sqlite3_errmsg(s->db));
    return err;
}

int fr__db_storage_fault(int rc)
{
    return (rc & 0xff) == SQLITE_FULL || (rc & 0xff) == SQLITE_IOERR;
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

/* One integer from a query on db with an optional text parameter; -1 and
 * *rc set on failure. */
static int64_t query_int(sqlite3 *db, const char *sql, const char *param, int *rc)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;

    *rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (*rc != SQLITE_OK)
        return -1;
    if (param)
        sqlite3_bind_text(st, 1, param, -1, SQLITE_STATIC);
    *rc = sqlite3_step(st);
    if (*rc == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
        *rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return v;
}

/* How many columns named column the table has (0 when the table or the
 * column is missing), or -1 with *rc set. Reads only. */
static int64_t columns_named(sqlite3 *db, const char *column, int *rc)
{
    return query_int(db,
                     "SELECT count(*) FROM pragma_table_info('feed_followers')"
                     " WHERE name = ?1",
                     column, rc);
}

static int64_t feed_id_columns(sqlite3 *db, int *rc)
{
    return columns_named(db, "feed_id", rc);
}

/* How many of time_columns the table has, or -1 with *rc set. */
static int64_t time_columns_present(sqlite3 *db, int *rc)
{
    int64_t n = 0;

    for (size_t i = 0; i < sizeof time_columns / sizeof time_columns[0]; i++) {
        int64_t c = columns_named(db, time_columns[i], rc);

        if (*rc != SQLITE_OK)
            return -1;
        n += c;
    }
    return n;
}

/*
 * The schema step: creates the table, or migrates one made by the version
 * keyed by URL (no feed_id column: each row keeps its position and gets its
 * feed id from the first document it sees), in one transaction. A database
 * already current is only read, so a follower starts even while another
 * connection holds the write lock.
 */
static enum fr_error schema_step(struct fr__store *s)
{
    int rc, migrated = 0;
    int64_t cols = feed_id_columns(s->db, &rc), tables, idx = 0, times = 0;
    enum fr_error err;

    if (rc == SQLITE_OK)
        times = time_columns_present(s->db, &rc);
    if (rc == SQLITE_OK)
        idx = query_int(s->db,
                        "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = ?1",
                        "feed_followers_feed_id", &rc);
    if (rc != SQLITE_OK)
        return failed(s, rc, "read schema");
    if (cols == 1 && idx == 1 && times == 2)
        return FR_OK;
    rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return failed(s, rc, "begin schema step");
    tables =
        query_int(s->db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1",
                  "feed_followers", &rc);
    if (rc == SQLITE_OK && tables == 0)
        rc = sqlite3_exec(s->db, create_table, NULL, NULL, NULL);
    else if (rc == SQLITE_OK && (cols = feed_id_columns(s->db, &rc)) == 0 && rc == SQLITE_OK) {
        rc = sqlite3_exec(s->db, add_feed_id, NULL, NULL, NULL);
        migrated = 1;
    }
    for (size_t i = 0; rc == SQLITE_OK && i < sizeof add_times / sizeof add_times[0]; i++) {
        int64_t has = columns_named(s->db, time_columns[i], &rc);

        if (rc == SQLITE_OK && has == 0)
            rc = sqlite3_exec(s->db, add_times[i], NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(s->db, create_index, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        err = failed(s, rc, "schema step");
        if (!sqlite3_get_autocommit(s->db))
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return err;
    }
    s->migrated = migrated;
    return FR_OK;
}

/* Reads the columns position, last_id, head, skipped (from column 0) of the
 * row st is on. */
static void read_state(sqlite3_stmt *stmt, int col, struct fr__state *st)
{
    const unsigned char *id = sqlite3_column_text(stmt, col + 1);

    st->position = sqlite3_column_int64(stmt, col);
    snprintf(st->last_id, sizeof st->last_id, "%s", id ? (const char *)id : "");
    st->head = sqlite3_column_int64(stmt, col + 2);
    st->skipped = sqlite3_column_int64(stmt, col + 3);
}

/* Reads the row of s->feed_url into *st and s->feed_id; zeros when none. */
static enum fr_error load_by_url(struct fr__store *s, struct fr__state *st)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(s->db,
                                "SELECT position, last_id, head, skipped, feed_id"
                                " FROM feed_followers WHERE feed_url = ?1",
                                -1, &q, NULL);

    memset(st, 0, sizeof *st);
    s->feed_id[0] = '\0';
    if (rc != SQLITE_OK)
        return failed(s, rc, "load");
    sqlite3_bind_text(q, 1, s->feed_url, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        const unsigned char *id = sqlite3_column_text(q, 4);

        read_state(q, 0, st);
        snprintf(s->feed_id, sizeof s->feed_id, "%s", id ? (const char *)id : "");
        rc = SQLITE_DONE;
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? FR_OK : failed(s, rc, "load");
}

enum fr_error fr__store_open(struct fr__store *s, sqlite3 *db, const char *feed_url,
                             struct fr__state *st)
{
    enum fr_error err;
    int rc;

    memset(s, 0, sizeof *s);
    memset(st, 0, sizeof *st);
    s->db = db;
    s->feed_url = strdup(feed_url);
    if (!s->feed_url)
        return FR_ERR_NOMEM;
    err = schema_step(s);
    if (err)
        return err;
    if ((rc = prepare(db,
                      "SELECT position, last_id, head, skipped FROM feed_followers"
                      " WHERE feed_id = ?1",
                      &s->load)) ||
        (rc = prepare(db,
                      "UPDATE feed_followers SET position = ?2, last_id = ?3, head = ?4,"
                      " skipped = ?5, last_success = ?6,"
                      " last_applied = CASE WHEN ?2 != position THEN ?6 ELSE last_applied END,"
                      " last_poll = CASE WHEN ?7 THEN ?6 ELSE last_poll END WHERE feed_id = ?1",
                      &s->save)) ||
        (rc = prepare(db, "UPDATE feed_followers SET last_poll = ?2 WHERE feed_id = ?1",
                      &s->polled)) ||
        (rc = prepare(db,
                      "UPDATE feed_followers SET errors = errors + ?4, last_error = ?2,"
                      " last_error_at = ?3 WHERE feed_id = ?1",
                      &s->error_by_id)) ||
        (rc = prepare(db,
                      "INSERT INTO feed_followers (feed_url, errors, last_error, last_error_at)"
                      " VALUES (?1, ?4, ?2, ?3) ON CONFLICT (feed_url) DO UPDATE SET"
                      " errors = errors + excluded.errors, last_error = excluded.last_error,"
                      " last_error_at = excluded.last_error_at",
                      &s->error_by_url)) ||
        (rc = prepare(db, "BEGIN IMMEDIATE", &s->begin)) ||
        (rc = prepare(db, "COMMIT", &s->commit)) || (rc = prepare(db, "ROLLBACK", &s->rollback)))
        return failed(s, rc, "prepare");
    return load_by_url(s, st);
}

void fr__store_release(struct fr__store *s)
{
    sqlite3_finalize(s->load);
    sqlite3_finalize(s->save);
    sqlite3_finalize(s->polled);
    sqlite3_finalize(s->error_by_id);
    sqlite3_finalize(s->error_by_url);
    sqlite3_finalize(s->begin);
    sqlite3_finalize(s->commit);
    sqlite3_finalize(s->rollback);
    free(s->feed_url);
    memset(s, 0, sizeof *s);
}

/* Runs sql with the text parameters a and b (b may be NULL). */
static int exec2(sqlite3 *db, const char *sql, const char *a, const char *b)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL);

    if (rc != SQLITE_OK)
        return rc;
    sqlite3_bind_text(q, 1, a, -1, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(q, 2, b, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* A row of feed_followers found by one key. */
struct row {
    int found;
    char feed_id[FR__ID_MAX];
    int64_t position;
};

static int find_row(sqlite3 *db, const char *sql, const char *key, struct row *r)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL);

    memset(r, 0, sizeof *r);
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        const unsigned char *id = sqlite3_column_text(q, 0);

        r->found = 1;
        snprintf(r->feed_id, sizeof r->feed_id, "%s", id ? (const char *)id : "");
        r->position = sqlite3_column_int64(q, 1);
        rc = SQLITE_DONE;
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

enum fr_error fr__store_identify(struct fr__store *s, const char *feed_id, struct fr__state *st,
                                 enum fr__identity *how)
{
    struct row by_url, by_id;
    enum fr_error err;
    int rc;

    err = fr__store_begin(s);
    if (err)
        return err;
    rc = find_row(s->db, "SELECT feed_id, position FROM feed_followers WHERE feed_url = ?1",
                  s->feed_url, &by_url);
    if (rc == SQLITE_OK)
        rc = find_row(s->db, "SELECT feed_url, position FROM feed_followers WHERE feed_id = ?1",
                      feed_id, &by_id);
    if (rc != SQLITE_OK)
        goto fail;
    if (by_url.found && by_url.feed_id[0] && strcmp(by_url.feed_id, feed_id) != 0) {
        snprintf(s->msg, sizeof s->msg, "%.200s", by_url.feed_id);
        fr__store_rollback(s);
        return FR_ERR_OTHER_FEED;
    }
    if (by_url.found && by_url.feed_id[0]) {
        /* Already this feed's row (another follower identified it). */
        *how = FR__ID_KNOWN;
    } else if (by_url.found && by_id.found) {
        /* Both rows saw this feed: the one further on is kept, so that
         * nothing either applied is applied again. */
        *how = FR__ID_MERGED;
        if (by_id.position >= by_url.position) {
            rc = exec2(s->db, "DELETE FROM feed_followers WHERE feed_url = ?1", s->feed_url, NULL);
            if (rc == SQLITE_OK)
                rc = exec2(s->db, "UPDATE feed_followers SET feed_url = ?2 WHERE feed_id = ?1",
                           feed_id, s->feed_url);
        } else {
            rc = exec2(s->db, "DELETE FROM feed_followers WHERE feed_id = ?1", feed_id, NULL);
            if (rc == SQLITE_OK)
                rc = exec2(s->db, "UPDATE feed_followers SET feed_id = ?2 WHERE feed_url = ?1",
                           s->feed_url, feed_id);
        }
    } else if (by_url.found) {
        *how = FR__ID_ADOPTED;
        rc = exec2(s->db, "UPDATE feed_followers SET feed_id = ?2 WHERE feed_url = ?1", s->feed_url,
                   feed_id);
    } else if (by_id.found) {
        *how = FR__ID_MOVED;
        rc = exec2(s->db, "UPDATE feed_followers SET feed_url = ?2 WHERE feed_id = ?1", feed_id,
                   s->feed_url);
    } else {
        *how = FR__ID_NEW;
        rc = exec2(s->db, "INSERT INTO feed_followers (feed_url, feed_id) VALUES (?1, ?2)",
                   s->feed_url, feed_id);
    }
    if (rc != SQLITE_OK)
        goto fail;
    snprintf(s->feed_id, sizeof s->feed_id, "%s", feed_id);
    err = fr__store_load(s, st);
    if (err == FR_OK)
        err = fr__store_commit(s);
    if (err) {
        s->feed_id[0] = '\0';
        fr__store_rollback(s);
    }
    return err;
fail:
    err = failed(s, rc, "identify");
    fr__store_rollback(s);
    return err;
}

enum fr_error fr__store_load(struct fr__store *s, struct fr__state *st)
{
    int rc;

    sqlite3_bind_text(s->load, 1, s->feed_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s->load);
    if (rc == SQLITE_ROW)
        read_state(s->load, 0, st);
    else if (rc == SQLITE_DONE)
        snprintf(s->msg, sizeof s->msg, "the follower's row of feed %.200s is gone", s->feed_id);
    else
        failed(s, rc, "load");
    sqlite3_reset(s->load);
    sqlite3_clear_bindings(s->load);
    if (rc == SQLITE_ROW)
        return FR_OK;
    return rc == SQLITE_DONE ? FR_ERR_DB : error_of(rc);
}

enum fr_error fr__store_begin(struct fr__store *s)
{
    int rc = run(s->begin);

    return rc == SQLITE_DONE ? FR_OK : failed(s, rc, "begin");
}

enum fr_error fr__store_save(struct fr__store *s, const struct fr__state *st, int polled)
{
    char now[21];
    int rc;

    fr__now_rfc3339(now);
    sqlite3_bind_text(s->save, 1, s->feed_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s->save, 2, st->position);
    sqlite3_bind_text(s->save, 3, st->last_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s->save, 4, st->head);
    sqlite3_bind_int64(s->save, 5, st->skipped);
    sqlite3_bind_text(s->save, 6, now, -1, SQLITE_STATIC);
    sqlite3_bind_int(s->save, 7, polled != 0);
    rc = run(s->save);
    if (rc != SQLITE_DONE)
        return failed(s, rc, "save");
    if (sqlite3_changes(s->db) != 1) {
        snprintf(s->msg, sizeof s->msg, "the follower's row of feed %.200s is gone", s->feed_id);
        return FR_ERR_DB;
    }
    return FR_OK;
}

enum fr_error fr__store_polled(struct fr__store *s, const char *at)
{
    int rc;

    sqlite3_bind_text(s->polled, 1, s->feed_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->polled, 2, at, -1, SQLITE_STATIC);
    rc = run(s->polled);
    return rc == SQLITE_DONE ? FR_OK : failed(s, rc, "record poll");
}

enum fr_error fr__store_commit(struct fr__store *s)
{
    int rc = run(s->commit);

    if (rc == SQLITE_DONE)
        return FR_OK;
    {
        enum fr_error err = failed(s, rc, "commit");

        fr__store_rollback(s);
        return err;
    }
}

void fr__store_rollback(struct fr__store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        run(s->rollback);
}

enum fr_error fr__store_error(struct fr__store *s, const char *message, const char *at,
                              int64_t count)
{
    sqlite3_stmt *stmt = s->feed_id[0] ? s->error_by_id : s->error_by_url;
    int rc;

    sqlite3_bind_text(stmt, 1, s->feed_id[0] ? s->feed_id : s->feed_url, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, message, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, at, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 4, count);
    rc = run(stmt);
    return rc == SQLITE_DONE ? FR_OK : failed(s, rc, "record error");
}

/* Whether the error recorded at error_at is older than a success at
 * success_at (both RFC 3339 UTC to the second, so they compare as
 * strings). A tie counts as resolved: within one second the follower
 * failed and then succeeded far more often than the reverse (a producer
 * that is starting), and a failure that persists is recorded again
 * within seconds. */
static int resolved_by(const char *error_at, const char *success_at)
{
    return error_at[0] && success_at[0] && strcmp(success_at, error_at) >= 0;
}

/* Calls fn for each stored follower. */
enum fr_error fr_status_list(sqlite3 *db, fr_status_fn *fn, void *userdata)
{
    /* The table as this version makes it, then as older versions left it
     * when no follower of this version has migrated it yet (read-only
     * here): without the poll times, then without feed ids either. */
    static const char *const queries[] = {
        "SELECT feed_url, position, head, skipped, errors, last_success,"
        " last_error, last_error_at, feed_id, last_poll, last_applied FROM feed_followers"
        " ORDER BY feed_url",
        "SELECT feed_url, position, head, skipped, errors, last_success,"
        " last_error, last_error_at, feed_id, '', '' FROM feed_followers"
        " ORDER BY feed_url",
        "SELECT feed_url, position, head, skipped, errors, last_success,"
        " last_error, last_error_at, '', '', '' FROM feed_followers"
        " ORDER BY feed_url",
    };
    sqlite3_stmt *stmt = NULL;
    enum fr_error err = FR_ERR_DB;
    int rc = SQLITE_ERROR;

    for (size_t i = 0; i < sizeof queries / sizeof queries[0] && rc != SQLITE_OK; i++) {
        sqlite3_finalize(stmt);
        stmt = NULL;
        rc = sqlite3_prepare_v2(db, queries[i], -1, &stmt, NULL);
    }
    if (rc != SQLITE_OK) {
        sqlite3_stmt *probe = NULL;
        int exists = 0;

        if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_schema WHERE name = 'feed_followers'", -1,
                               &probe, NULL) == SQLITE_OK)
            exists = sqlite3_step(probe) == SQLITE_ROW;
        sqlite3_finalize(probe);
        err = exists ? error_of(rc) : FR_OK;
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
        st.feed_id = TEXT(8);
        st.last_poll = TEXT(9);
        st.last_applied = TEXT(10);
#undef TEXT
        st.error_resolved = resolved_by(st.last_error_at, st.last_success) ||
                            resolved_by(st.last_error_at, st.last_poll);
        fn(&st, userdata);
    }
    err = rc == SQLITE_DONE ? FR_OK : error_of(rc);
out:
    sqlite3_finalize(stmt);
    return err;
}
