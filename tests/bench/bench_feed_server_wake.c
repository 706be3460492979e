/*
 * bench_feed_server_wake - how soon a held long-poll answers after another
 * process commits an entry (DESIGN.md: within 50 ms).
 *
 *   bench_feed_server_wake URL DB FEED [ROUNDS]
 *
 * URL is the feed's head on a running server that serves FEED of DB. Each
 * round long-polls the head (Prefer: wait=10) from a thread, lets the server
 * hold it, appends one entry in a transaction on its own connection, and
 * measures from the COMMIT's return to the 200. Prints "median X ms" and
 * "max X ms".
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "feedserver.h"

struct poll {
    const char *url;
    char inm[160];
    long status;
    double done;
};

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static size_t sink(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

static size_t find_etag(char *p, size_t size, size_t n, void *ud)
{
    char *etag = ud;
    size_t len = size * n;

    if (len > 6 && strncasecmp(p, "ETag: ", 6) == 0 && len - 6 < 128) {
        memcpy(etag, p + 6, len - 6);
        etag[len - 6] = '\0';
        etag[strcspn(etag, "\r\n")] = '\0';
    }
    return len;
}

static long get(const char *url, const char *const *headers, char *etag)
{
    CURL *c = curl_easy_init();
    struct curl_slist *list = NULL;
    long status = 0;

    for (size_t i = 0; headers && headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, find_etag);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, etag);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(list);
    curl_easy_cleanup(c);
    return status;
}

static void *poll_main(void *arg)
{
    struct poll *p = arg;
    const char *h[] = {p->inm, "Prefer: wait=10", NULL};
    char etag[160];

    p->status = get(p->url, h, etag);
    p->done = now_ms();
    return NULL;
}

static void exec(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_DONE) {
        fprintf(stderr, "bench: %s: %s\n", sql, sqlite3_errmsg(db));
        exit(1);
    }
    sqlite3_finalize(st);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    long rounds = argc > 4 ? strtol(argv[4], NULL, 10) : 20;
    double lat[100];
    sqlite3 *db;
    struct fs_feed *feed;

    if (argc < 4 || rounds < 1 || rounds > 100) {
        fprintf(stderr, "usage: bench_feed_server_wake URL DB FEED [ROUNDS]\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (fs_db_open(argv[2], &db) != FS_OK || fs_feed_open(db, argv[3], &feed) != FS_OK)
        return 1;
    for (long r = 0; r < rounds; r++) {
        struct poll p = {.url = argv[1]};
        struct fs_field f[] = {{"customerId", "cus_1"}, {"units", "1"}};
        struct fs_event ev = {.type = "UsageRecorded", .fields = f, .nfields = 2};
        char etag[160] = "";
        pthread_t t;
        double committed;

        if (get(argv[1], NULL, etag) != 200 || !etag[0])
            return 1;
        snprintf(p.inm, sizeof p.inm, "If-None-Match: %s", etag);
        pthread_create(&t, NULL, poll_main, &p);
        usleep(100 * 1000);
        exec(db, "BEGIN IMMEDIATE");
        if (fs_feed_append(feed, &ev, NULL) != FS_OK)
            return 1;
        exec(db, "COMMIT");
        committed = now_ms();
        pthread_join(t, NULL);
        if (p.status != 200) {
            fprintf(stderr, "bench: long-poll answered %ld\n", p.status);
            return 1;
        }
        lat[r] = p.done - committed;
    }
    qsort(lat, (size_t)rounds, sizeof lat[0], cmp);
    printf("median %.1f ms\nmax %.1f ms\n", lat[rounds / 2], lat[rounds - 1]);
    fs_feed_close(feed);
    sqlite3_close(db);
    curl_global_cleanup();
    return 0;
}
