/*
 * bench_feed_reader_tools - helpers of bench_feed_reader.sh.
 *
 *   bench_feed_reader_tools sqlite DB N ID_INDEX
 *       The ceiling: inserts N rows (random urn:uuid id, pos) into table
 *       applied of a fresh DB with feedfollow's schema (id UNIQUE when
 *       ID_INDEX is 1), 500 per transaction with a position row update
 *       each, and prints "rate=R" (rows/s).
 *   bench_feed_reader_tools append DB FEED N INTERVAL_MS
 *       Appends N entries to FEED, one transaction each, INTERVAL_MS apart,
 *       each with a field t holding the append time in µs since the epoch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "feedserver.h"

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static long long number(const char *s, long long min, long long max)
{
    char *end;
    long long v = strtoll(s, &end, 10);

    if (end == s || *end || v < min || v > max) {
        fprintf(stderr, "bench_feed_reader_tools: bad number %s\n", s);
        exit(2);
    }
    return v;
}

static int ceiling(const char *path, long long n, int id_index)
{
    sqlite3 *db;
    sqlite3_stmt *ins = NULL, *pos = NULL, *begin = NULL, *commit = NULL;
    double t0;
    int rc = 1;

    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     "CREATE TABLE state (k INTEGER PRIMARY KEY, position INTEGER);"
                     "INSERT INTO state VALUES (1, 0)",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db,
                     id_index ? "CREATE TABLE applied (id TEXT NOT NULL UNIQUE,"
                                " pos INTEGER NOT NULL)"
                              : "CREATE TABLE applied (id TEXT NOT NULL, pos INTEGER PRIMARY KEY)",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO applied (id, pos) VALUES (?1, ?2)", -1, &ins, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(db, "UPDATE state SET position = ?1 WHERE k = 1", -1, &pos, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "COMMIT", -1, &commit, NULL) != SQLITE_OK)
        goto out;
    t0 = now_us();
    for (long long i = 1; i <= n; i += 500) {
        sqlite3_step(begin);
        sqlite3_reset(begin);
        for (long long j = i; j < i + 500 && j <= n; j++) {
            char id[46];
            if (fs_new_event_id(id) != FS_OK)
                goto out;
            sqlite3_bind_text(ins, 1, id, -1, SQLITE_STATIC);
            sqlite3_bind_int64(ins, 2, j);
            if (sqlite3_step(ins) != SQLITE_DONE)
                goto out;
            sqlite3_reset(ins);
        }
        sqlite3_bind_int64(pos, 1, i + 499 < n ? i + 499 : n);
        sqlite3_step(pos);
        sqlite3_reset(pos);
        if (sqlite3_step(commit) != SQLITE_DONE)
            goto out;
        sqlite3_reset(commit);
    }
    printf("rate=%.0f\n", (double)n / ((now_us() - t0) / 1e6));
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "ceiling: %s\n", sqlite3_errmsg(db));
    sqlite3_finalize(ins);
    sqlite3_finalize(pos);
    sqlite3_finalize(begin);
    sqlite3_finalize(commit);
    sqlite3_close(db);
    return rc;
}

static int append(const char *path, const char *feed, long long n, long long interval_ms)
{
    sqlite3 *db;
    struct fs_feed *handle = NULL;
    int rc = 1;

    if (fs_db_open(path, &db) != FS_OK)
        return 1;
    if (fs_feed_open(db, feed, &handle) != FS_OK)
        goto out;
    for (long long i = 0; i < n; i++) {
        char t[32];
        struct fs_field f[] = {{"customerId", "cus_1"}, {"t", t}};
        struct fs_event ev = {.type = "UsageRecorded", .fields = f, .nfields = 2};

        if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
            goto out;
        snprintf(t, sizeof t, "%.0f", now_us());
        if (fs_feed_append(handle, &ev, NULL) != FS_OK ||
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            goto out;
        usleep((useconds_t)(interval_ms * 1000));
    }
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "append: %s\n", sqlite3_errmsg(db));
    fs_feed_close(handle);
    sqlite3_close(db);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "sqlite") == 0)
        return ceiling(argv[2], number(argv[3], 1, 100000000), (int)number(argv[4], 0, 1));
    if (argc == 6 && strcmp(argv[1], "append") == 0)
        return append(argv[2], argv[3], number(argv[4], 1, 100000000), number(argv[5], 0, 60000));
    fprintf(stderr,
            "usage: bench_feed_reader_tools sqlite DB N ID_INDEX | append DB FEED N INTERVAL_MS\n");
    return 2;
}
