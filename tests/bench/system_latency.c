/*
 * system_latency - measures R1 and R2 of DESIGN.md on a running system:
 *
 *   R1: from the answer to "add a user" in Subscriptions to the first call
 *       the Cloud API accepts with the new key;
 *   R2: from the answer to "lock the customer" to the first call the Cloud
 *       API refuses (403); the customer is unlocked between trials.
 *
 * Each trial polls the Cloud API in a tight loop on a keep-alive
 * connection, so the figure is the replication delay plus at most one call.
 * Prints p50, p99 and max in milliseconds.
 *
 *   system_latency SUBSCRIPTIONS_URL CLOUD_API_URL TRIALS
 */
#include <curl/curl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct buf {
    char data[4096];
    size_t len;
};

static size_t keep(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct buf *b = userdata;
    size_t n = size * nmemb;
    size_t room = sizeof b->data - 1 - b->len;

    memcpy(b->data + b->len, ptr, n < room ? n : room);
    b->len += n < room ? n : room;
    b->data[b->len] = '\0';
    return n;
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* POSTs body to url (form-encoded) with an optional bearer key; returns the
 * status and leaves the answer in *out. */
static long post(CURL *c, const char *url, const char *body, const char *key, struct buf *out)
{
    struct curl_slist *h = NULL;
    char auth[200];
    long status = 0;

    out->len = 0;
    out->data[0] = '\0';
    if (key) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
        h = curl_slist_append(h, auth);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    return status;
}

/* The string at path in the JSON text json, into out. */
static void json_get(sqlite3 *db, const char *json, const char *path, char *out, size_t size)
{
    sqlite3_stmt *st;

    out[0] = '\0';
    sqlite3_prepare_v2(db, "SELECT json_extract(?, ?)", -1, &st, NULL);
    sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, size, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static void report(const char *name, double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    printf("%s over %d trials: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", name, n,
           v[n / 2], v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1], v[n - 1]);
}

/* Calls analyze with key until the status is want, for at most 5 s; returns
 * the time it took from t0, or -1. */
static double wait_for(CURL *api, const char *api_url, const char *key, long want, double t0)
{
    struct buf out;
    char url[512];

    snprintf(url, sizeof url, "%s/api/v1/analyze", api_url);
    while (now_ms() - t0 < 5000) {
        if (post(api, url, "x", key, &out) == want)
            return now_ms() - t0;
    }
    return -1;
}

int main(int argc, char **argv)
{
    CURL *sub, *api;
    sqlite3 *db;
    struct buf out;
    char url[512], id[128], key[128];
    int trials, failures = 0;
    double *r1, *r2;

    if (argc != 4 || (trials = (int)strtol(argv[3], NULL, 10)) < 1 || trials > 100000) {
        fprintf(stderr, "usage: system_latency SUBSCRIPTIONS_URL CLOUD_API_URL TRIALS\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    sub = curl_easy_init();
    api = curl_easy_init();
    sqlite3_open(":memory:", &db);
    r1 = calloc((size_t)trials, sizeof *r1);
    r2 = calloc((size_t)trials, sizeof *r2);

    snprintf(url, sizeof url, "%s/customers", argv[1]);
    if (post(sub, url, "name=Latency&credit_limit_cents=100000000", NULL, &out) != 201) {
        fprintf(stderr, "system_latency: cannot register a customer: %s\n", out.data);
        return 1;
    }
    json_get(db, out.data, "$.id", id, sizeof id);
    for (int i = 0; i < trials; i++) {
        char body[128];
        double t0;

        snprintf(url, sizeof url, "%s/customers/%s/users", argv[1], id);
        snprintf(body, sizeof body, "email=u%d@latency.example", i);
        if (post(sub, url, body, NULL, &out) != 201) {
            fprintf(stderr, "system_latency: cannot add a user: %s\n", out.data);
            return 1;
        }
        t0 = now_ms();
        json_get(db, out.data, "$.login_key", key, sizeof key);
        r1[i] = wait_for(api, argv[2], key, 200, t0);

        snprintf(url, sizeof url, "%s/customers/%s/lock", argv[1], id);
        post(sub, url, "", NULL, &out);
        t0 = now_ms();
        r2[i] = wait_for(api, argv[2], key, 403, t0);
        snprintf(url, sizeof url, "%s/customers/%s/unlock", argv[1], id);
        post(sub, url, "", NULL, &out);
        wait_for(api, argv[2], key, 200, now_ms());
        if (r1[i] < 0 || r2[i] < 0)
            failures++;
    }
    report("R1 new key accepted by the Cloud API", r1, trials);
    report("R2 lock refused by the Cloud API", r2, trials);
    if (failures)
        printf("%d trials took longer than 5 s\n", failures);
    free(r1);
    free(r2);
    sqlite3_close(db);
    curl_easy_cleanup(sub);
    curl_easy_cleanup(api);
    curl_global_cleanup();
    return failures ? 1 : 0;
}
