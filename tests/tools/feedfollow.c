/*
 * feedfollow - follow a feed into a database, for tests and benchmarks.
 *
 *   feedfollow --db FILE --feed URL [--type T]... [--token T] [--until N]
 *              [--slow-us N] [--latency FIELD] [--poll-interval S] [--stats 1]
 *              [--id-index 0|1]
 *
 * Handles entries of each type T (default UsageRecorded) by inserting the
 * entry's id and position into table applied (id UNIQUE), in the follower's
 * transaction, so an entry applied twice makes the handler refuse it.
 * With --id-index 0 the id is not indexed (for benchmarks: the consumer's
 * own index costs are not the reader's). --until N exits 0 once position N
 * is applied; --slow-us sleeps N µs per
 * entry (so that a kill lands mid-batch); --latency FIELD reads FIELD as
 * the append time in µs since the epoch and prints the p50 and p99 of
 * now - FIELD on exit; --stats prints entries applied, seconds, rate and
 * peak RSS on exit. Stops cleanly on SIGINT/SIGTERM.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "feedreader.h"

#define MAX_TYPES 16

static struct fr_follower *follower;
static sqlite3_stmt *insert;
static long long until = -1, slow_us;
static const char *latency_field;
static double *latencies;
static size_t nlat, caplat;
static long long applied;

static void on_signal(int sig)
{
    (void)sig;
    fr_follower_stop(follower);
}

static void usage(void)
{
    fprintf(stderr, "usage: feedfollow --db FILE --feed URL [--type T]... [--token T] "
                    "[--until N] [--slow-us N] [--latency FIELD] [--poll-interval S] [--stats 1] "
                    "[--id-index 0]\n");
    exit(2);
}

static long long number(const char *s, long long min, long long max)
{
    char *end;
    long long v;

    if (!s)
        usage();
    v = strtoll(s, &end, 10);
    if (end == s || *end || v < min || v > max)
        usage();
    return v;
}

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void note_latency(const struct fr_entry *e)
{
    const char *t = fr_entry_field(e, latency_field);
    char *end;
    double v;

    if (!t)
        return;
    v = strtod(t, &end);
    if (end == t)
        return;
    if (nlat == caplat) {
        double *p = realloc(latencies, (caplat ? caplat * 2 : 1024) * sizeof *p);
        if (!p)
            return;
        latencies = p;
        caplat = caplat ? caplat * 2 : 1024;
    }
    latencies[nlat++] = (now_us() - v) / 1000.0;
}

static int on_entry(const struct fr_entry *e, sqlite3 *db, char *why, size_t why_size,
                    void *userdata)
{
    int rc;

    (void)db;
    (void)userdata;
    if (slow_us)
        usleep((useconds_t)slow_us);
    if (latency_field)
        note_latency(e);
    sqlite3_bind_text(insert, 1, e->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(insert, 2, e->position);
    rc = sqlite3_step(insert);
    sqlite3_reset(insert);
    if (rc != SQLITE_DONE) {
        snprintf(why, why_size, "insert: %s", sqlite3_errstr(rc));
        return 1;
    }
    applied++;
    if (until >= 0 && e->position >= until)
        fr_follower_stop(follower);
    return 0;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *dbpath = NULL, *types[MAX_TYPES];
    size_t ntypes = 0;
    struct fr_config cfg = {0};
    sqlite3 *db = NULL;
    enum fr_error err;
    int status = 1, stats = 0, id_index = 1;
    double t0 = now_us();
    struct rusage ru;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (strcmp(a, "--db") == 0)
            dbpath = v;
        else if (strcmp(a, "--feed") == 0)
            cfg.feed_url = v;
        else if (strcmp(a, "--type") == 0 && ntypes < MAX_TYPES)
            types[ntypes++] = v;
        else if (strcmp(a, "--token") == 0)
            cfg.token = v;
        else if (strcmp(a, "--until") == 0)
            until = number(v, 0, INT64_MAX);
        else if (strcmp(a, "--slow-us") == 0)
            slow_us = number(v, 0, 1000000);
        else if (strcmp(a, "--id-index") == 0)
            id_index = (int)number(v, 0, 1);
        else if (strcmp(a, "--stats") == 0 && strcmp(v, "1") == 0)
            stats = 1;
        else if (strcmp(a, "--latency") == 0)
            latency_field = v;
        else if (strcmp(a, "--poll-interval") == 0)
            cfg.poll_interval = (unsigned)number(v, 1, 3600);
        else
            usage();
        i++;
    }
    if (!dbpath || !cfg.feed_url)
        usage();
    if (ntypes == 0)
        types[ntypes++] = "UsageRecorded";

    if (sqlite3_open(dbpath, &db) != SQLITE_OK ||
        sqlite3_exec(db,
                     id_index ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                "CREATE TABLE IF NOT EXISTS applied (id TEXT NOT NULL UNIQUE,"
                                " pos INTEGER NOT NULL)"
                              : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                "CREATE TABLE IF NOT EXISTS applied (id TEXT NOT NULL,"
                                " pos INTEGER PRIMARY KEY)",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO applied (id, pos) VALUES (?1, ?2)", -1, &insert,
                           NULL) != SQLITE_OK) {
        fprintf(stderr, "feedfollow: %s: %s\n", dbpath, sqlite3_errmsg(db));
        goto out;
    }
    cfg.db = db;
    err = fr_follower_open(&cfg, &follower);
    if (err) {
        fprintf(stderr, "feedfollow: %s\n", fr_strerror(err));
        goto out;
    }
    for (size_t i = 0; i < ntypes; i++)
        fr_follower_on(follower, types[i], on_entry, NULL);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (until >= 0 && fr_follower_position(follower) >= until)
        err = FR_ERR_STOPPED;
    else
        err = fr_follower_run(follower);
    if (err != FR_ERR_STOPPED) {
        fprintf(stderr, "feedfollow: %s: %s\n", fr_strerror(err), fr_follower_last_error(follower));
        goto out;
    }
    if (latency_field && nlat > 0) {
        qsort(latencies, nlat, sizeof *latencies, cmp);
        printf("latency_n=%zu p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n", nlat, latencies[nlat / 2],
               latencies[(nlat * 99) / 100], latencies[nlat - 1]);
    }
    if (stats && getrusage(RUSAGE_SELF, &ru) == 0) {
        double secs = (now_us() - t0) / 1e6;
        printf("entries=%lld seconds=%.3f rate=%.0f maxrss_kib=%ld\n", applied, secs,
               secs > 0 ? (double)applied / secs : 0.0, ru.ru_maxrss);
    }
    status = 0;
out:
    fr_follower_close(follower);
    sqlite3_finalize(insert);
    sqlite3_close(db);
    free(latencies);
    return status;
}
