/*
 * bench_feed_server_append - appends per second through fs_feed_append()
 * against raw SQLite inserts of the same rows into a table of the same
 * shape, both in transactions of BATCH rows on a WAL database.
 *
 *   bench_feed_server_append DIR [COUNT] [BATCH]
 *
 * Runs three alternating rounds and keeps the best of each side.
 * Prints "library N/s", "raw N/s" and "ratio X" lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feedserver.h"

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void exec(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) == SQLITE_ERROR) {
        fprintf(stderr, "bench: %s: %s\n", sql, sqlite3_errmsg(db));
        exit(1);
    }
    sqlite3_finalize(st);
}

static void fields_for(long i, char *customer, char *user, char *units)
{
    snprintf(customer, 32, "cus_%08ld", i % 997);
    snprintf(user, 32, "usr_%08ld", i % 7919);
    snprintf(units, 16, "%ld", 1 + i % 50);
}

static double run_library(const char *path, long count, long batch)
{
    sqlite3 *db;
    struct fs_feed *usage;
    double t0;

    if (fs_db_open(path, &db) != FS_OK || fs_feed_declare(db, "usage", 500) != FS_OK ||
        fs_feed_open(db, "usage", &usage) != FS_OK)
        exit(1);
    t0 = now_s();
    for (long i = 0; i < count;) {
        exec(db, "BEGIN IMMEDIATE");
        for (long j = 0; j < batch && i < count; j++, i++) {
            char customer[32], user[32], units[16];
            struct fs_field f[] = {{"customerId", customer},
                                   {"userId", user},
                                   {"units", units},
                                   {"windowStart", "2026-11-26T15:00:00Z"},
                                   {"windowEnd", "2026-11-26T15:00:10Z"}};
            struct fs_event ev = {.type = "UsageRecorded", .fields = f, .nfields = 5};

            fields_for(i, customer, user, units);
            if (fs_feed_append(usage, &ev, NULL) != FS_OK)
                exit(1);
        }
        exec(db, "COMMIT");
    }
    t0 = now_s() - t0;
    fs_feed_close(usage);
    sqlite3_close(db);
    return (double)count / t0;
}

static double run_raw(const char *path, long count, long batch)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    double t0;

    if (fs_db_open(path, &db) != FS_OK)
        exit(1);
    exec(db, "CREATE TABLE raw(feed TEXT NOT NULL, position INTEGER NOT NULL,"
             " event_id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, updated TEXT NOT NULL,"
             " xml TEXT NOT NULL, PRIMARY KEY (feed, position)) WITHOUT ROWID");
    if (sqlite3_prepare_v2(db, "INSERT INTO raw VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1, &st, NULL) !=
        SQLITE_OK)
        exit(1);
    t0 = now_s();
    for (long i = 0; i < count;) {
        exec(db, "BEGIN IMMEDIATE");
        for (long j = 0; j < batch && i < count; j++, i++) {
            char customer[32], user[32], units[16], id[46], xml[1024];
            int n;

            fields_for(i, customer, user, units);
            fs_new_event_id(id);
            n = snprintf(xml, sizeof xml,
                         "<entry><id>%s</id><title>UsageRecorded</title><updated>2026-11-26T15:"
                         "00:00Z</updated><category term=\"UsageRecorded\"/><f:position>%ld</"
                         "f:position><content type=\"application/xml\"><UsageRecorded xmlns=\"\" "
                         "version=\"1\"><customerId>%s</customerId><userId>%s</userId><units>%s</"
                         "units><windowStart>2026-11-26T15:00:00Z</windowStart><windowEnd>2026-"
                         "11-26T15:00:10Z</windowEnd></UsageRecorded></content></entry>",
                         id, i + 1, customer, user, units);
            if (n < 0 || (size_t)n >= sizeof xml)
                exit(1);
            sqlite3_bind_text(st, 1, "usage", -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, i + 1);
            sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 4, "UsageRecorded", -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 5, "2026-11-26T15:00:00Z", -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 6, xml, n, SQLITE_STATIC);
            if (sqlite3_step(st) != SQLITE_DONE)
                exit(1);
            sqlite3_reset(st);
        }
        exec(db, "COMMIT");
    }
    t0 = now_s() - t0;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return (double)count / t0;
}

int main(int argc, char **argv)
{
    char a[4096], b[4096];
    long count = argc > 2 ? strtol(argv[2], NULL, 10) : 100000;
    long batch = argc > 3 ? strtol(argv[3], NULL, 10) : 1000;
    double lib, raw;

    if (argc < 2 || count <= 0 || batch <= 0) {
        fprintf(stderr, "usage: bench_feed_server_append DIR [COUNT] [BATCH]\n");
        return 2;
    }
    snprintf(a, sizeof a, "%s/lib.db", argv[1]);
    snprintf(b, sizeof b, "%s/raw.db", argv[1]);
    /* Alternating rounds, best of each, so that noise from other work on the
     * machine hits both sides alike. */
    lib = raw = 0;
    for (int round = 0; round < 3; round++) {
        double r, l;

        remove(a);
        remove(b);
        r = run_raw(b, count, batch);
        l = run_library(a, count, batch);
        raw = r > raw ? r : raw;
        lib = l > lib ? l : lib;
    }
    printf("library %.0f/s\nraw %.0f/s\nratio %.2f\n", lib, raw, lib / raw);
    return 0;
}
