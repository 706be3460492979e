#include "usage_windows.h"

#include "db.h"
#include "faults.h"
#include "feedserver.h"
#include "idempotency.h"
#include "log.h"
#include "schema.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void usage_format_time(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "1970-01-01T00:00:00Z");
}

/* A row of usage_units waiting to be published. */
struct pending_row {
    int64_t start, end, units;
    char *customer_id, *user_id, *key_id;
};

static void free_rows(struct pending_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].customer_id);
        free(rows[i].user_id);
        free(rows[i].key_id);
    }
    free(rows);
}

static char *column_dup(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);

    return strdup(t ? (const char *)t : "");
}

/* Reads the unpublished rows of windows ended by now into *out (caller
 * frees with free_rows). Returns 0, or -1. */
static int read_closed(sqlite3 *db, time_t now, struct pending_row **out, size_t *n)
{
    sqlite3_stmt *st = NULL;
    struct pending_row *rows = NULL, *grown;
    size_t count = 0, cap = 0;
    int rc, status = -1;

    if (sqlite3_prepare_v2(db,
                           "SELECT window_start, window_end, customer_id, user_id, key_id, units"
                           " FROM usage_units WHERE position IS NULL AND window_end <= ?1"
                           " ORDER BY window_start, customer_id, user_id, key_id",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)now);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct pending_row *r;

        if (count == cap) {
            cap = cap ? 2 * cap : 16;
            grown = realloc(rows, cap * sizeof *rows);
            if (!grown)
                goto out;
            rows = grown;
        }
        r = &rows[count++];
        r->start = sqlite3_column_int64(st, 0);
        r->end = sqlite3_column_int64(st, 1);
        r->units = sqlite3_column_int64(st, 5);
        r->customer_id = column_dup(st, 2);
        r->user_id = column_dup(st, 3);
        r->key_id = column_dup(st, 4);
        if (!r->customer_id || !r->user_id || !r->key_id)
            goto out;
    }
    if (rc != SQLITE_DONE)
        goto out;
    status = 0;
out:
    if (status != 0) {
        log_error("cannot read pending usage", "error=\"%s\"", sqlite3_errmsg(db));
        free_rows(rows, count);
        rows = NULL;
        count = 0;
    }
    sqlite3_finalize(st);
    *out = rows;
    *n = count;
    return status;
}

/* Appends the UsageRecorded entry of r to feed (the usage feed, on db) and
 * marks r with its position. */
static int publish_row(sqlite3 *db, struct fs_feed *feed, const char *node,
                       const struct pending_row *r)
{
    char units[24], start[32], end[32];
    int64_t position = 0;
    enum fs_error err;

    snprintf(units, sizeof units, "%" PRId64, r->units);
    usage_format_time(r->start, start);
    usage_format_time(r->end, end);
    {
        const struct fs_field fields[] = {
            {"customerId", r->customer_id},
            {"userId", r->user_id},
            {"keyId", r->key_id},
            {"units", units},
            {"windowStart", start},
            {"windowEnd", end},
            {"node", node},
        };
        const struct fs_event ev = {NULL, "UsageRecorded", 1,
                                    end,  fields,          sizeof fields / sizeof fields[0]};

        err = fs_feed_append(feed, &ev, &position);
    }
    if (err != FS_OK) {
        if (err == FS_ERR_DB && fault_storage(db, "usage publishing"))
            return -1;
        log_error("cannot append UsageRecorded", "error=\"%s\" sqlite=\"%s\"", fs_strerror(err),
                  err == FS_ERR_DB ? sqlite3_errmsg(db) : "");
        return -1;
    }
    return db_exec(db,
                   "UPDATE usage_units SET position = ?1 WHERE window_start = ?2"
                   " AND customer_id = ?3 AND user_id = ?4 AND key_id = ?5",
                   "iittt", (long long)position, (long long)r->start, r->customer_id, r->user_id,
                   r->key_id) == SQLITE_DONE
               ? 0
               : -1;
}

int usage_publish_closed(sqlite3 *db, const char *node, unsigned window_seconds, time_t now,
                         int64_t *entries)
{
    struct pending_row *rows = NULL;
    struct fs_feed *feed = NULL;
    size_t n = 0;
    int64_t w = window_seconds ? window_seconds : 1;
    int64_t open_start = (int64_t)now - (((int64_t)now % w) + w) % w;
    int status = -1;

    if (entries)
        *entries = 0;
    if (db_begin(db) != SQLITE_OK)
        goto out;
    if (read_closed(db, now, &rows, &n) != 0)
        goto out;
    /* One handle for the whole batch: its statements are prepared once. */
    if (n > 0 && fs_feed_open(db, CLOUD_API_USAGE_FEED, &feed) != FS_OK)
        goto out;
    for (size_t i = 0; i < n; i++)
        if (publish_row(db, feed, node, &rows[i]) != 0)
            goto out;
    if (db_exec(db,
                "UPDATE usage_state SET published_until = max(published_until, ?1) WHERE id = 1",
                "i", (long long)open_start) != SQLITE_DONE)
        goto out;
    if (db_commit(db) != SQLITE_OK)
        goto out;
    if (entries)
        *entries = (int64_t)n;
    if (n > 0)
        log_info("usage published", "entries=%zu until=%lld", n, (long long)now);
    status = 0;
out:
    if (status != 0)
        db_rollback(db);
    fs_feed_close(feed);
    free_rows(rows, n);
    return status;
}

/* ---- The publishing thread ---------------------------------------------- */

struct usage_publisher {
    sqlite3 *db; /* used by the thread only (and by open before it) */
    char *node;
    unsigned window;
    unsigned retention; /* seconds an Idempotency-Key's answer is kept */
    pthread_t thread;
    int thread_started;
    pthread_mutex_t mu;  /* guards stopping and the counters */
    pthread_cond_t wake; /* signalled on stop */
    int stopping;
    uint64_t entries, failures;
};

/* Runs one publication now and counts it, then deletes the stored answers
 * past their retention (idempotency.h; a failure there is logged and tried
 * again at the next window). Returns 0 or -1 for the publication. */
static int publish_now(struct usage_publisher *p)
{
    int64_t n = 0;
    time_t now = time(NULL);
    int rc = usage_publish_closed(p->db, p->node, p->window, now, &n);

    idempotency_purge(p->db, now, p->retention, NULL);

    if (rc == 0)
        fault_clear("usage publishing");
    pthread_mutex_lock(&p->mu);
    if (rc == 0)
        p->entries += (uint64_t)n;
    else
        p->failures++;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

/* Sleeps until the next window boundary (a little after it, so that the
 * window has closed by the clock the meter reads), or 1 s after a failure,
 * then publishes; until stopped. */
static void *publisher(void *arg)
{
    struct usage_publisher *p = arg;
    int failed = 0;

    pthread_mutex_lock(&p->mu);
    while (!p->stopping) {
        struct timespec now, until;
        int64_t w = p->window;

        clock_gettime(CLOCK_REALTIME, &now);
        if (failed) {
            until.tv_sec = now.tv_sec + 1;
            until.tv_nsec = now.tv_nsec;
        } else {
            until.tv_sec = now.tv_sec - now.tv_sec % w + w;
            until.tv_nsec = 20 * 1000 * 1000;
        }
        while (!p->stopping && pthread_cond_timedwait(&p->wake, &p->mu, &until) == 0)
            ;
        if (p->stopping)
            break;
        pthread_mutex_unlock(&p->mu);
        failed = publish_now(p) != 0;
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int usage_publisher_open(const struct usage_publisher_config *cfg, struct usage_publisher **out)
{
    struct usage_publisher *p = calloc(1, sizeof *p);
    enum fs_error err;

    *out = NULL;
    if (!p || !(p->node = strdup(cfg->node))) {
        free(p);
        log_error("out of memory", "%s", "where=usage_publisher_open");
        return -1;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->window = cfg->window_seconds ? cfg->window_seconds : 1;
    p->retention =
        cfg->idempotency_retention ? cfg->idempotency_retention : IDEMPOTENCY_RETENTION_SECONDS;
    err = fs_db_open(cfg->db_path, &p->db);
    if (err != FS_OK) {
        log_error("cannot open the database", "error=\"%s\"", fs_strerror(err));
        goto fail;
    }
    if (publish_now(p) != 0)
        goto fail;
    if (pthread_create(&p->thread, NULL, publisher, p) != 0) {
        log_error("cannot start the usage publisher", "%s", "where=usage_publisher_open");
        goto fail;
    }
    p->thread_started = 1;
    *out = p;
    return 0;
fail:
    usage_publisher_close(p);
    return -1;
}

void usage_publisher_counts(struct usage_publisher *p, uint64_t *entries, uint64_t *failures)
{
    pthread_mutex_lock(&p->mu);
    *entries = p->entries;
    *failures = p->failures;
    pthread_mutex_unlock(&p->mu);
}

void usage_publisher_close(struct usage_publisher *p)
{
    if (!p)
        return;
    if (p->thread_started) {
        pthread_mutex_lock(&p->mu);
        p->stopping = 1;
        pthread_cond_signal(&p->wake);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->thread, NULL);
    }
    sqlite3_close(p->db);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    free(p->node);
    free(p);
}
