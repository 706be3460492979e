#include "db.h"

#include "faults.h"
#include "log.h"
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int db_begin(sqlite3 *db)
{
    return db_exec_script(db, "BEGIN IMMEDIATE");
}

/* A commit that succeeds ends a storage fault of the database (faults.h). */
int db_commit(sqlite3 *db)
{
    int rc = db_exec_script(db, "COMMIT");

    if (rc == SQLITE_OK)
        fault_clear("database");
    return rc;
}

void db_rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int db_exec_script(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);

    /* A full disk is logged once however often it is retried (faults.h). */
    if (rc != SQLITE_OK && !fault_storage(db, "database"))
        log_error("database error", "error=\"%s\" sql=\"%.60s\"", err ? err : sqlite3_errstr(rc),
                  sql);
    sqlite3_free(err);
    return rc;
}

/* Prepares sql and binds the parameters described by kinds from ap.
 * Returns NULL (logged) on failure. */
static sqlite3_stmt *prepare(sqlite3 *db, const char *sql, const char *kinds, va_list ap)
{
    sqlite3_stmt *st = NULL;
    int i = 1;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        log_error("database error", "error=\"%s\" sql=\"%.60s\"", sqlite3_errmsg(db), sql);
        return NULL;
    }
    for (const char *k = kinds ? kinds : ""; *k; k++, i++) {
        if (*k == 't') {
            const char *s = va_arg(ap, const char *);
            if (s)
                sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
            else
                sqlite3_bind_null(st, i);
        } else {
            sqlite3_bind_int64(st, i, va_arg(ap, long long));
        }
    }
    return st;
}

/* Prepares sql, binds kinds from ap and steps once: the statement is left
 * on its first row (if any) for the caller to read and finalize, and *rc
 * receives SQLITE_ROW, SQLITE_DONE or the error (logged). Returns NULL when
 * the statement could not be prepared. */
static sqlite3_stmt *run(sqlite3 *db, const char *sql, const char *kinds, va_list ap, int *rc)
{
    sqlite3_stmt *st = prepare(db, sql, kinds, ap);

    *rc = st ? sqlite3_step(st) : SQLITE_ERROR;
    if (st && *rc != SQLITE_DONE && *rc != SQLITE_ROW && !fault_storage(db, "database"))
        log_error("database error", "error=\"%s\" sql=\"%.60s\"", sqlite3_errmsg(db), sql);
    return st;
}

int db_exec(sqlite3 *db, const char *sql, const char *kinds, ...)
{
    va_list ap;
    sqlite3_stmt *st;
    int rc;

    va_start(ap, kinds);
    st = run(db, sql, kinds, ap, &rc);
    va_end(ap);
    sqlite3_finalize(st);
    return rc;
}

int db_ok(int rc)
{
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

enum fs_error db_feed_append(sqlite3 *db, const char *feed, const struct fs_event *ev,
                             int64_t *position)
{
    struct fs_feed *f = NULL;
    enum fs_error err = fs_feed_open(db, feed, &f);

    if (err == FS_OK)
        err = fs_feed_append(f, ev, position);
    if (err == FS_ERR_DB && !fault_storage(db, "database"))
        log_error("database error", "error=\"%s\" feed=%s", sqlite3_errmsg(db), feed);
    fs_feed_close(f);
    return err;
}

char *db_text(sqlite3 *db, int *rc, const char *sql, const char *kinds, ...)
{
    va_list ap;
    sqlite3_stmt *st;
    char *out = NULL;
    int r;

    va_start(ap, kinds);
    st = run(db, sql, kinds, ap, &r);
    va_end(ap);
    if (r == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        out = xstrdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (rc)
        *rc = r;
    return out;
}

long long db_int(sqlite3 *db, int *rc, long long dflt, const char *sql, const char *kinds, ...)
{
    va_list ap;
    sqlite3_stmt *st;
    long long out = dflt;
    int r;

    va_start(ap, kinds);
    st = run(db, sql, kinds, ap, &r);
    va_end(ap);
    if (r == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc)
        *rc = r;
    return out;
}

int db_add_column(sqlite3 *db, const char *table, const char *column, const char *definition)
{
    char sql[160];
    int rc;
    long long present =
        db_int(db, &rc, 0, "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2", "tt",
               table, column);

    if (rc != SQLITE_ROW)
        return -1;
    if (present)
        return 0;
    rc = snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN %s %s", table, column, definition);
    if (rc < 0 || (size_t)rc >= sizeof sql || db_exec_script(db, sql) != SQLITE_OK)
        return -1;
    return 1;
}
