/*
 * db.h - small helpers over SQLite for the contexts: transactions, and
 * queries that return one text value (such as a JSON document built with
 * SQLite's json_object()/json_group_array()).
 *
 * Every query is a prepared statement with bound parameters. Parameters are
 * described by a string of kinds, one letter each: 't' text (const char *,
 * bound SQLITE_TRANSIENT; NULL binds NULL), 'i' integer (long long).
 */
#ifndef DB_H
#define DB_H

#include <feedserver.h>
#include <sqlite3.h>

/* BEGIN IMMEDIATE (takes the write lock now, so appends to a feed get the
 * next position safely), COMMIT, ROLLBACK. Return an SQLite code. */
int db_begin(sqlite3 *db);
int db_commit(sqlite3 *db);
void db_rollback(sqlite3 *db);

/* Runs sql (may hold several statements, no parameters); returns SQLite code
 * and logs the message on failure. For schema creation. */
int db_exec_script(sqlite3 *db, const char *sql);

/* Runs one statement with parameters; returns SQLITE_DONE/SQLITE_ROW on
 * success or the error code (logged). */
int db_exec(sqlite3 *db, const char *sql, const char *kinds, ...);

/* 0 when rc, what db_exec() returned, is a success (SQLITE_DONE or
 * SQLITE_ROW), else -1: the convention of functions that return 0 or -1. */
int db_ok(int rc);

/* Runs a query and returns the first column of its first row as a new
 * string (caller frees), or NULL when there is no row or the value is NULL.
 * *rc (may be NULL) receives SQLITE_ROW, SQLITE_DONE or the error code. */
char *db_text(sqlite3 *db, int *rc, const char *sql, const char *kinds, ...);

/* Same for an integer: returns the first column of the first row, or dflt
 * when there is no row. */
long long db_int(sqlite3 *db, int *rc, long long dflt, const char *sql, const char *kinds, ...);

/* Adds column (with its definition, such as "TEXT") to table when the
 * table does not have it yet: for migrating a database made before the
 * column, inside the caller's transaction, so that two processes starting
 * together do not both add it. table, column and definition are the
 * program's constants, never input. Returns 1 when added, 0 when present,
 * -1 on failure (logged). */
int db_add_column(sqlite3 *db, const char *table, const char *column, const char *definition);

/*
 * Appends ev to feed on db, inside the caller's BEGIN IMMEDIATE, through a
 * feed handle opened for this one append (fs_feed_open()): for a context
 * that publishes one entry per transaction. Returns fs_feed_append()'s
 * result; a database failure is logged with SQLite's message (the caller
 * logs what it was publishing).
 */
enum fs_error db_feed_append(sqlite3 *db, const char *feed, const struct fs_event *ev,
                             int64_t *position);

#endif
