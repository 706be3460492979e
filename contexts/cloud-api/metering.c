#include "metering.h"

#include "faults.h"
#include "feedserver.h"
#include "log.h"

#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* A call waiting for its units to be committed. It lives on the caller's
 * stack. Its semaphore is posted exactly once while it waits, for one of
 * two reasons: its batch is committed (done is set before the post), or it
 * must lead the next commit (done is still 0). Its caller reads done and ok
 * only after the post, and no other thread touches the call after posting. */
struct usage_call {
    const char *customer_id;
    const char *user_id;
    const char *key_id;
    uint64_t units;
    /* NULL for a call without an Idempotency-Key; else the pair naming it
     * and its answer, stored with its units (meter_record_once()). */
    const char *key_sha256;
    const char *idempotency_key;
    const char *body;
    /* Set by the leader when the pair had an answer already: the call adds
     * no units, and stored (malloc'd, the caller's after the wake-up) holds
     * that answer. */
    int replayed;
    char *stored;
    sem_t wake;              /* posted when done is set, or when the call must lead */
    int done;                /* its commit is over; ok tells how it went */
    int ok;                  /* 1 when committed */
    struct usage_call *next; /* queue order */
    /* Set by the leader: the next call of the batch that starts a new
     * (customer, user, key), and the units of all the batch's calls with
     * the same ids as this one (when it is the first of them). */
    struct usage_call *next_distinct;
    uint64_t total;
};

struct meter {
    sqlite3 *db; /* used only by the leader of the moment */
    sqlite3_stmt *begin, *commit, *rollback, *watermark, *upsert;
    sqlite3_stmt *remember, *recall; /* analyze_replays: insert, read back */
    unsigned window;                 /* seconds */
    time_t (*clock)(void);
    pthread_mutex_t mu;             /* guards everything below */
    struct usage_call *head, *tail; /* calls waiting for the next commit */
    int leading;                    /* some call holds the lead (committing, or about to) */
    struct meter_stats stats;
};

static const char upsert_sql[] =
    "INSERT INTO usage_units(window_start, window_end, customer_id, user_id, key_id, units)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    " ON CONFLICT(window_start, customer_id, user_id, key_id)"
    " DO UPDATE SET units = units + excluded.units";

static const char remember_sql[] =
    "INSERT OR IGNORE INTO analyze_replays(key_sha256, idempotency_key, body, created_at)"
    " VALUES (?1, ?2, ?3, ?4)";

static const char recall_sql[] =
    "SELECT body FROM analyze_replays WHERE key_sha256 = ?1 AND idempotency_key = ?2";

static int step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

static int same_ids(const struct usage_call *a, const struct usage_call *b)
{
    return strcmp(a->key_id, b->key_id) == 0 && strcmp(a->user_id, b->user_id) == 0 &&
           strcmp(a->customer_id, b->customer_id) == 0;
}

/* Sums the units of the calls of batch per (customer, user, key), replayed
 * calls left out, and returns the first call of each, chained by
 * next_distinct, so that a batch of many calls by one key costs one row
 * update. Quadratic in the number of distinct ids of a batch, which is
 * bounded by the request threads. */
static struct usage_call *group_batch(struct usage_call *batch)
{
    struct usage_call *first = NULL, **tail = &first;

    for (struct usage_call *c = batch; c; c = c->next) {
        struct usage_call *d;

        if (c->replayed)
            continue;
        for (d = first; d; d = d->next_distinct)
            if (same_ids(c, d))
                break;
        if (d) {
            d->total += c->units;
            continue;
        }
        c->total = c->units;
        c->next_distinct = NULL;
        *tail = c;
        tail = &c->next_distinct;
    }
    return first;
}

/*
 * Inside the batch's transaction, stores the answer of c (a call with an
 * Idempotency-Key) committed at now, or, when its pair has one already
 * (from an earlier commit or an earlier call of this batch), marks c
 * replayed and copies that answer into c->stored. Returns 0, or -1.
 */
static int remember_or_recall(struct meter *m, struct usage_call *c, int64_t now)
{
    const char *text;
    int rc, status = -1;

    sqlite3_bind_text(m->remember, 1, c->key_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(m->remember, 2, c->idempotency_key, -1, SQLITE_STATIC);
    sqlite3_bind_text(m->remember, 3, c->body, -1, SQLITE_STATIC);
    sqlite3_bind_int64(m->remember, 4, now);
    rc = step_done(m->remember);
    sqlite3_clear_bindings(m->remember);
    if (rc != 0)
        return -1;
    if (sqlite3_changes(m->db) > 0)
        return 0;
    sqlite3_bind_text(m->recall, 1, c->key_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(m->recall, 2, c->idempotency_key, -1, SQLITE_STATIC);
    if (sqlite3_step(m->recall) == SQLITE_ROW) {
        text = (const char *)sqlite3_column_text(m->recall, 0);
        c->stored = strdup(text ? text : "");
        if (c->stored) {
            c->replayed = 1;
            status = 0;
        }
    }
    sqlite3_reset(m->recall);
    sqlite3_clear_bindings(m->recall);
    return status;
}

/* Forgets what remember_or_recall() set on the calls of a batch that did
 * not commit. */
static void forget_replays(struct usage_call *batch)
{
    for (struct usage_call *c = batch; c; c = c->next) {
        free(c->stored);
        c->stored = NULL;
        c->replayed = 0;
    }
}

/* Stores the calls of batch in one transaction: the answers of the calls
 * with an Idempotency-Key first, then the units of every call not
 * replayed. Returns 0, or -1 (logged, rolled back, no call replayed). */
static int commit_batch(struct meter *m, struct usage_call *batch)
{
    time_t now;
    int64_t start, until = 0;
    int rc;

    if (step_done(m->begin) != 0)
        goto fail;
    rc = sqlite3_step(m->watermark);
    if (rc == SQLITE_ROW)
        until = sqlite3_column_int64(m->watermark, 0);
    sqlite3_reset(m->watermark);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        goto fail;
    now = m->clock ? m->clock() : time(NULL);
    start = (int64_t)now - ((int64_t)now % m->window + m->window) % m->window;
    if (start < until)
        start = until;
    for (struct usage_call *c = batch; c; c = c->next)
        if (c->idempotency_key && remember_or_recall(m, c, (int64_t)now) != 0)
            goto fail;
    for (struct usage_call *c = group_batch(batch); c; c = c->next_distinct) {
        sqlite3_bind_int64(m->upsert, 1, start);
        sqlite3_bind_int64(m->upsert, 2, start + m->window);
        sqlite3_bind_text(m->upsert, 3, c->customer_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(m->upsert, 4, c->user_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(m->upsert, 5, c->key_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(m->upsert, 6, (sqlite3_int64)c->total);
        rc = step_done(m->upsert);
        sqlite3_clear_bindings(m->upsert);
        if (rc != 0)
            goto fail;
    }
    if (step_done(m->commit) != 0)
        goto fail;
    fault_clear("metering");
    return 0;
fail:
    if (!fault_storage(m->db, "metering"))
        log_error("cannot commit usage", "error=\"%s\"", sqlite3_errmsg(m->db));
    if (!sqlite3_get_autocommit(m->db))
        step_done(m->rollback);
    forget_replays(batch);
    return -1;
}

/*
 * Run by self, the call that holds the lead: lets the other runnable
 * request threads queue their calls, takes every queued call (self
 * included), commits them together, then hands the lead to the first call
 * queued meanwhile (or drops it) and wakes every other call of the batch.
 * The wake-ups happen after mu is released, so the woken threads do not
 * queue on it.
 */
static void lead_batch(struct meter *m, struct usage_call *self)
{
    struct usage_call *batch, *c, *next, *successor;
    uint64_t n = 0, replays = 0, units = 0;
    int ok;

    sched_yield();
    pthread_mutex_lock(&m->mu);
    batch = m->head;
    m->head = m->tail = NULL;
    pthread_mutex_unlock(&m->mu);
    ok = commit_batch(m, batch) == 0;
    for (c = batch; c; c = c->next) {
        n++;
        if (c->replayed)
            replays++;
        else
            units += c->units;
    }
    pthread_mutex_lock(&m->mu);
    if (ok) {
        m->stats.commits++;
        m->stats.calls += n - replays;
        m->stats.replays += replays;
        m->stats.units += units;
        if (n > m->stats.largest_batch)
            m->stats.largest_batch = n;
    } else
        m->stats.failures += n;
    successor = m->head;
    if (!successor)
        m->leading = 0;
    pthread_mutex_unlock(&m->mu);
    for (c = batch; c; c = next) {
        next = c->next;
        c->ok = ok;
        c->done = 1;
        if (c != self)
            sem_post(&c->wake);
    }
    if (successor)
        sem_post(&successor->wake);
}

static int prepare(struct meter *m, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v3(m->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) == SQLITE_OK)
        return 0;
    log_error("database error", "error=\"%s\" where=meter_open", sqlite3_errmsg(m->db));
    return -1;
}

int meter_open(const struct meter_config *cfg, struct meter **out)
{
    struct meter *m = calloc(1, sizeof *m);
    enum fs_error err;

    *out = NULL;
    if (!m) {
        log_error("out of memory", "%s", "where=meter_open");
        return -1;
    }
    pthread_mutex_init(&m->mu, NULL);
    m->window = cfg->window_seconds ? cfg->window_seconds : 1;
    m->clock = cfg->clock;
    err = fs_db_open(cfg->db_path, &m->db);
    if (err != FS_OK) {
        log_error("cannot open the database", "error=\"%s\"", fs_strerror(err));
        goto fail;
    }
    if (sqlite3_exec(m->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) != SQLITE_OK ||
        prepare(m, "BEGIN IMMEDIATE", &m->begin) || prepare(m, "COMMIT", &m->commit) ||
        prepare(m, "ROLLBACK", &m->rollback) ||
        prepare(m, "SELECT published_until FROM usage_state WHERE id = 1", &m->watermark) ||
        prepare(m, upsert_sql, &m->upsert) || prepare(m, remember_sql, &m->remember) ||
        prepare(m, recall_sql, &m->recall))
        goto fail;
    *out = m;
    return 0;
fail:
    meter_close(m);
    return -1;
}

/* Queues c (on the caller's stack, ids and units set) for the next commit
 * and returns once that commit is over, leading it when it is c's turn.
 * Returns 0 when c is committed (or replayed), -1 if not. */
static int record(struct meter *m, struct usage_call *c)
{
    int lead = 0;

    if (sem_init(&c->wake, 0, 0) != 0)
        return -1;
    pthread_mutex_lock(&m->mu);
    if (m->tail)
        m->tail->next = c;
    else
        m->head = c;
    m->tail = c;
    if (!m->leading) {
        m->leading = 1;
        lead = 1;
    }
    pthread_mutex_unlock(&m->mu);
    if (!lead) {
        while (sem_wait(&c->wake) != 0)
            ;
        lead = !c->done;
    }
    if (lead)
        lead_batch(m, c);
    sem_destroy(&c->wake);
    return c->ok ? 0 : -1;
}

int meter_record(struct meter *m, const char *customer_id, const char *user_id, const char *key_id,
                 uint64_t units)
{
    struct usage_call c;

    memset(&c, 0, sizeof c);
    c.customer_id = customer_id;
    c.user_id = user_id;
    c.key_id = key_id;
    c.units = units;
    return record(m, &c);
}

enum meter_once meter_record_once(struct meter *m, const char *customer_id, const char *user_id,
                                  const char *key_id, uint64_t units, const char *key_sha256,
                                  const char *idempotency_key, const char *body, char **stored)
{
    struct usage_call c;

    *stored = NULL;
    if (!key_sha256 || !idempotency_key || !body)
        return METER_FAILED;
    memset(&c, 0, sizeof c);
    c.customer_id = customer_id;
    c.user_id = user_id;
    c.key_id = key_id;
    c.units = units;
    c.key_sha256 = key_sha256;
    c.idempotency_key = idempotency_key;
    c.body = body;
    if (record(m, &c) != 0)
        return METER_FAILED;
    if (!c.replayed)
        return METER_RECORDED;
    *stored = c.stored;
    return METER_REPLAYED;
}

void meter_get_stats(struct meter *m, struct meter_stats *out)
{
    pthread_mutex_lock(&m->mu);
    *out = m->stats;
    pthread_mutex_unlock(&m->mu);
}

void meter_close(struct meter *m)
{
    if (!m)
        return;
    sqlite3_finalize(m->begin);
    sqlite3_finalize(m->commit);
    sqlite3_finalize(m->rollback);
    sqlite3_finalize(m->watermark);
    sqlite3_finalize(m->upsert);
    sqlite3_finalize(m->remember);
    sqlite3_finalize(m->recall);
    sqlite3_close(m->db);
    pthread_mutex_destroy(&m->mu);
    free(m);
}
