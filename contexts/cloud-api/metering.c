#include "metering.h"

#include "checkpointer.h"
#include "faults.h"
#include "feedserver.h"
#include "idempotency.h"
#include "log.h"

#include <pthread.h>
#include <semaphore.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A call queued for the next commit: heap-allocated by submit() with
 * copies of its strings after it, freed by the committer thread once its
 * done function returned. Only the committer touches it after it is
 * queued. */
struct usage_call {
    const char *customer_id;
    const char *user_id;
    const char *key_id;
    uint64_t units;
    /* NULL for a call without an Idempotency-Key; else the pair naming it,
     * the SHA-256 of its request body, and its answer, stored with its units
     * (meter_record_once()). */
    const char *key_sha256;
    const char *idempotency_key;
    const char *request_sha256;
    const char *body;
    /* Called once its commit is over, and what it is handed last. */
    meter_done_fn *done;
    void *userdata;
    /* Set by the committer: what became of the call. METER_REPLAYED: the
     * pair had an answer already, which stored (malloc'd, handed to done)
     * holds; METER_REFUSED, METER_CONFLICT: no units either. */
    enum meter_result outcome;
    char *stored;
    /* Set by the committer on the first call of each customer in the
     * batch: the customer's credit (credit.h) read in the batch's
     * transaction, and the next such call. */
    struct usage_call *next_customer;
    int credit_known;        /* credit_use has a row for the customer */
    int credit_dirty;        /* served changed: write it back */
    int64_t left;            /* credit_left_cents */
    int64_t price;           /* unit_price_cents */
    int64_t served;          /* served_units, this batch's accepted calls included */
    struct usage_call *next; /* queue order */
    /* Set by the committer: the next call of the batch that starts a new
     * (customer, user, key), and the units of all the batch's calls with
     * the same ids as this one (when it is the first of them). */
    struct usage_call *next_distinct;
    uint64_t total;
};

struct meter {
    sqlite3 *db; /* used only by the committer thread (and open/close) */
    /* checkpoints db's WAL on its own thread, so that no batch's answers
     * wait for a checkpoint's fsync (checkpointer.h) */
    struct checkpointer *checkpointer;
    sqlite3_stmt *begin, *commit, *rollback, *watermark, *upsert;
    sqlite3_stmt *remember, *recall;         /* analyze_replays: insert, read back */
    sqlite3_stmt *credit_read, *credit_save; /* credit_use */
    unsigned window;                         /* seconds */
    unsigned retention;                      /* seconds an answer is replayed */
    time_t (*clock)(void);
    pthread_t committer; /* commits the queue, batch after batch */
    int committer_started;
    pthread_mutex_t mu;             /* guards everything below */
    pthread_cond_t queued;          /* signalled when the queue was empty and the committer waits */
    struct usage_call *head, *tail; /* calls waiting for the next commit */
    int idle;                       /* the committer waits on queued */
    int closing;                    /* meter_close(): commit what is queued, then end */
    struct meter_stats stats;
};

static const char upsert_sql[] =
    "INSERT INTO usage_units(window_start, window_end, customer_id, user_id, key_id, units)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    " ON CONFLICT(window_start, customer_id, user_id, key_id)"
    " DO UPDATE SET units = units + excluded.units";

/* REPLACE: a row still there past its retention (not purged yet) is a
 * forgotten call, replaced by this one. */
static const char remember_sql[] =
    "INSERT OR REPLACE INTO analyze_replays(key_sha256, idempotency_key, body, created_at,"
    " request_sha256) VALUES (?1, ?2, ?3, ?4, ?5)";

static const char recall_sql[] =
    "SELECT body, request_sha256 FROM analyze_replays WHERE key_sha256 = ?1"
    " AND idempotency_key = ?2 AND created_at > ?3";

static const char credit_read_sql[] =
    "SELECT credit_left_cents, unit_price_cents, served_units FROM credit_use"
    " WHERE customer_id = ?1";

static const char credit_save_sql[] =
    "UPDATE credit_use SET served_units = ?2 WHERE customer_id = ?1";

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
 * update. Only calls accepted (METER_RECORDED) count. Quadratic in the number of distinct ids of a
 * batch, which is bounded by the request threads. */
static struct usage_call *group_batch(struct usage_call *batch)
{
    struct usage_call *first = NULL, **tail = &first;

    for (struct usage_call *c = batch; c; c = c->next) {
        struct usage_call *d;

        if (c->outcome != METER_RECORDED)
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
 * Inside the batch's transaction, looks up the answer stored for the pair
 * of c (a call with an Idempotency-Key), from an earlier commit or an
 * earlier call of this batch, within its retention. When there is one,
 * marks c METER_REPLAYED (same request body, or a row from before bodies
 * were hashed) with a copy of it in c->stored, or METER_CONFLICT (another
 * body). Returns 0, or -1 (database failure or out of memory).
 */
static int recall(struct meter *m, struct usage_call *c, int64_t now)
{
    const char *text, *hash;
    int rc, status = -1;

    sqlite3_bind_text(m->recall, 1, c->key_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(m->recall, 2, c->idempotency_key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(m->recall, 3, now - (int64_t)m->retention);
    rc = sqlite3_step(m->recall);
    if (rc == SQLITE_DONE)
        status = 0;
    else if (rc == SQLITE_ROW) {
        hash = (const char *)sqlite3_column_text(m->recall, 1);
        if (hash && c->request_sha256 && strcmp(hash, c->request_sha256) != 0) {
            c->outcome = METER_CONFLICT;
            status = 0;
        } else {
            text = (const char *)sqlite3_column_text(m->recall, 0);
            c->stored = strdup(text ? text : "");
            if (c->stored) {
                c->outcome = METER_REPLAYED;
                status = 0;
            }
        }
    }
    sqlite3_reset(m->recall);
    sqlite3_clear_bindings(m->recall);
    return status;
}

/* Stores the answer of c (a call with an Idempotency-Key, accepted) in the
 * batch's transaction, committed at now. Returns 0, or -1. */
static int remember(struct meter *m, const struct usage_call *c, int64_t now)
{
    int rc;

    sqlite3_bind_text(m->remember, 1, c->key_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(m->remember, 2, c->idempotency_key, -1, SQLITE_STATIC);
    sqlite3_bind_text(m->remember, 3, c->body, -1, SQLITE_STATIC);
    sqlite3_bind_int64(m->remember, 4, now);
    sqlite3_bind_text(m->remember, 5, c->request_sha256, -1, SQLITE_STATIC);
    rc = step_done(m->remember);
    sqlite3_clear_bindings(m->remember);
    return rc;
}

/*
 * The call of batch (up to c) that holds the credit of c's customer: the
 * first call of the batch for that customer, whose credit fields are read
 * from credit_use the first time (owners is the chain of those read so
 * far). Returns NULL on a database failure.
 */
static struct usage_call *credit_owner(struct meter *m, struct usage_call **owners,
                                       struct usage_call *c)
{
    struct usage_call *o;
    int rc;

    for (o = *owners; o; o = o->next_customer)
        if (strcmp(o->customer_id, c->customer_id) == 0)
            return o;
    sqlite3_bind_text(m->credit_read, 1, c->customer_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(m->credit_read);
    c->credit_known = rc == SQLITE_ROW;
    c->credit_dirty = 0;
    if (c->credit_known) {
        c->left = sqlite3_column_int64(m->credit_read, 0);
        c->price = sqlite3_column_int64(m->credit_read, 1);
        c->served = sqlite3_column_int64(m->credit_read, 2);
    }
    sqlite3_reset(m->credit_read);
    sqlite3_clear_bindings(m->credit_read);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return NULL;
    c->next_customer = *owners;
    *owners = c;
    return c;
}

/* Whether o's customer (o from credit_owner()) has credit for units more:
 * (served + units) * price <= left. Reserves them when it has. */
static int reserve(struct usage_call *o, uint64_t units)
{
    int64_t after = o->served + (int64_t)units;

    if (!o->credit_known || units > INT64_MAX / 4 || after < 0 ||
        (o->price > 0 && after > INT64_MAX / o->price) || after * o->price > o->left)
        return 0;
    o->served = after;
    o->credit_dirty = 1;
    return 1;
}

/* Writes back the served units of every customer of the batch whose calls
 * reserved some. Returns 0, or -1. */
static int save_credit(struct meter *m, struct usage_call *owners)
{
    for (struct usage_call *o = owners; o; o = o->next_customer) {
        int rc;

        if (!o->credit_dirty)
            continue;
        sqlite3_bind_text(m->credit_save, 1, o->customer_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(m->credit_save, 2, o->served);
        rc = step_done(m->credit_save);
        sqlite3_clear_bindings(m->credit_save);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* Forgets what the leader set on the calls of a batch that did not
 * commit. */
static void forget_outcomes(struct usage_call *batch)
{
    for (struct usage_call *c = batch; c; c = c->next) {
        free(c->stored);
        c->stored = NULL;
        c->outcome = METER_RECORDED;
    }
}

/*
 * Stores the calls of batch in one transaction. Each call in queue order:
 * a call with an Idempotency-Key whose pair has an answer is replayed (or
 * a conflict); else its units are reserved against its customer's credit
 * (credit.h), or it is refused; an accepted call with an Idempotency-Key
 * stores its answer. Then the units of every accepted call, and the
 * customers' served units. Returns 0, or -1 (logged, rolled back, every
 * call's outcome reset).
 */
static int commit_batch(struct meter *m, struct usage_call *batch)
{
    struct usage_call *owners = NULL;
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
    for (struct usage_call *c = batch; c; c = c->next) {
        struct usage_call *o;

        c->outcome = METER_RECORDED;
        if (c->idempotency_key && recall(m, c, (int64_t)now) != 0)
            goto fail;
        if (c->outcome != METER_RECORDED)
            continue;
        o = credit_owner(m, &owners, c);
        if (!o)
            goto fail;
        if (!reserve(o, c->units)) {
            c->outcome = METER_REFUSED;
            continue;
        }
        if (c->idempotency_key && remember(m, c, (int64_t)now) != 0)
            goto fail;
    }
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
    if (save_credit(m, owners) != 0 || step_done(m->commit) != 0)
        goto fail;
    fault_clear("metering");
    return 0;
fail:
    if (!fault_storage(m->db, "metering"))
        log_error("cannot commit usage", "error=\"%s\"", sqlite3_errmsg(m->db));
    if (!sqlite3_get_autocommit(m->db))
        step_done(m->rollback);
    forget_outcomes(batch);
    return -1;
}

/*
 * Commits batch (taken off the queue), counts it, then calls each call's
 * done function in queue order and frees the calls.
 */
static void commit_and_answer(struct meter *m, struct usage_call *batch)
{
    struct usage_call *c, *next;
    uint64_t n = 0, replays = 0, refused = 0, units = 0;
    int ok = commit_batch(m, batch) == 0;

    for (c = batch; c; c = c->next) {
        n++;
        if (c->outcome == METER_REPLAYED)
            replays++;
        else if (c->outcome != METER_RECORDED)
            refused++;
        else
            units += c->units;
    }
    pthread_mutex_lock(&m->mu);
    if (ok) {
        m->stats.commits++;
        m->stats.calls += n - replays - refused;
        m->stats.replays += replays;
        m->stats.refused += refused;
        m->stats.units += units;
        if (n > m->stats.largest_batch)
            m->stats.largest_batch = n;
    } else
        m->stats.failures += n;
    pthread_mutex_unlock(&m->mu);
    for (c = batch; c; c = next) {
        next = c->next;
        c->done(ok ? c->outcome : METER_FAILED, c->stored, c->userdata);
        free(c);
    }
}

/* The committer thread: while the meter is open, and then until its queue
 * is empty, takes every queued call and commits them together (group
 * commit): the calls that arrive during a commit make the next batch. It
 * does not wait for a batch to grow: waiting until the queue stopped
 * growing made batches of ~45 calls instead of ~5, but left both cores
 * idle during each commit, and measured slower (0.55-0.59x of unmetered
 * against 0.58-0.69x). */
static void *committer_main(void *arg)
{
    struct meter *m = arg;

    for (;;) {
        struct usage_call *batch;

        pthread_mutex_lock(&m->mu);
        while (!m->head && !m->closing) {
            m->idle = 1;
            pthread_cond_wait(&m->queued, &m->mu);
        }
        m->idle = 0;
        batch = m->head;
        m->head = m->tail = NULL;
        pthread_mutex_unlock(&m->mu);
        if (!batch)
            break;
        commit_and_answer(m, batch);
    }
    return NULL;
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
    pthread_cond_init(&m->queued, NULL);
    m->window = cfg->window_seconds ? cfg->window_seconds : 1;
    m->retention =
        cfg->idempotency_retention ? cfg->idempotency_retention : IDEMPOTENCY_RETENTION_SECONDS;
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
        prepare(m, recall_sql, &m->recall) || prepare(m, credit_read_sql, &m->credit_read) ||
        prepare(m, credit_save_sql, &m->credit_save))
        goto fail;
    if (checkpointer_start(cfg->db_path, m->db, &m->checkpointer) != 0)
        goto fail;
    if (pthread_create(&m->committer, NULL, committer_main, m) != 0) {
        log_error("cannot start the usage committer thread", "%s", "where=meter_open");
        goto fail;
    }
    m->committer_started = 1;
    *out = m;
    return 0;
fail:
    meter_close(m);
    return -1;
}

/* Copies the len bytes at src (NUL-terminated) to *at, moving it on, and
 * returns the copy; NULL for a NULL src. */
static const char *put(char **at, const char *src, size_t len)
{
    char *dst = *at;

    if (!src)
        return NULL;
    memcpy(dst, src, len + 1);
    *at += len + 1;
    return dst;
}

int meter_submit(struct meter *m, const struct meter_once *once, const char *customer_id,
                 const char *user_id, const char *key_id, uint64_t units, meter_done_fn *done,
                 void *userdata)
{
    const char *strs[7] = {customer_id, user_id, key_id, NULL, NULL, NULL, NULL};
    size_t lens[7], total = sizeof(struct usage_call);
    struct usage_call *c;
    char *at;
    int wake;

    if (once) {
        if (!once->key_sha256 || !once->idempotency_key || !once->request_sha256 || !once->body)
            return -1;
        strs[3] = once->key_sha256;
        strs[4] = once->idempotency_key;
        strs[5] = once->request_sha256;
        strs[6] = once->body;
    }
    for (size_t i = 0; i < 7; i++) {
        lens[i] = strs[i] ? strlen(strs[i]) : 0;
        total += strs[i] ? lens[i] + 1 : 0;
    }
    c = calloc(1, total);
    if (!c) {
        log_error("out of memory", "%s", "where=meter_submit");
        return -1;
    }
    at = (char *)(c + 1);
    c->customer_id = put(&at, strs[0], lens[0]);
    c->user_id = put(&at, strs[1], lens[1]);
    c->key_id = put(&at, strs[2], lens[2]);
    c->key_sha256 = put(&at, strs[3], lens[3]);
    c->idempotency_key = put(&at, strs[4], lens[4]);
    c->request_sha256 = put(&at, strs[5], lens[5]);
    c->body = put(&at, strs[6], lens[6]);
    c->units = units;
    c->done = done;
    c->userdata = userdata;
    pthread_mutex_lock(&m->mu);
    if (m->tail)
        m->tail->next = c;
    else
        m->head = c;
    m->tail = c;
    wake = m->idle;
    m->idle = 0;
    pthread_mutex_unlock(&m->mu);
    if (wake)
        pthread_cond_signal(&m->queued);
    return 0;
}

/* A synchronous call: its outcome, posted by its done function. */
struct waiting_call {
    sem_t posted;
    enum meter_result result;
    char *stored;
};

static void waiting_done(enum meter_result result, char *stored, void *userdata)
{
    struct waiting_call *w = userdata;

    w->result = result;
    w->stored = stored;
    sem_post(&w->posted);
}

/* meter_submit() and waits for the outcome; *stored as meter_done_fn's. */
static enum meter_result submit_and_wait(struct meter *m, const struct meter_once *once,
                                         const char *customer_id, const char *user_id,
                                         const char *key_id, uint64_t units, char **stored)
{
    struct waiting_call w;

    memset(&w, 0, sizeof w);
    *stored = NULL;
    if (sem_init(&w.posted, 0, 0) != 0)
        return METER_FAILED;
    if (meter_submit(m, once, customer_id, user_id, key_id, units, waiting_done, &w) != 0) {
        sem_destroy(&w.posted);
        return METER_FAILED;
    }
    while (sem_wait(&w.posted) != 0)
        ;
    sem_destroy(&w.posted);
    *stored = w.stored;
    return w.result;
}

enum meter_result meter_record(struct meter *m, const char *customer_id, const char *user_id,
                               const char *key_id, uint64_t units)
{
    char *stored;
    enum meter_result r = submit_and_wait(m, NULL, customer_id, user_id, key_id, units, &stored);

    free(stored);
    return r;
}

enum meter_result meter_record_once(struct meter *m, const struct meter_once *once,
                                    const char *customer_id, const char *user_id,
                                    const char *key_id, uint64_t units, char **stored)
{
    enum meter_result r;

    *stored = NULL;
    if (!once->key_sha256 || !once->idempotency_key || !once->request_sha256 || !once->body)
        return METER_FAILED;
    r = submit_and_wait(m, once, customer_id, user_id, key_id, units, stored);
    if (r != METER_REPLAYED) {
        free(*stored);
        *stored = NULL;
    }
    return r;
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
    if (m->committer_started) {
        pthread_mutex_lock(&m->mu);
        m->closing = 1;
        pthread_mutex_unlock(&m->mu);
        pthread_cond_signal(&m->queued);
        pthread_join(m->committer, NULL);
    }
    checkpointer_stop(m->checkpointer);
    sqlite3_finalize(m->begin);
    sqlite3_finalize(m->commit);
    sqlite3_finalize(m->rollback);
    sqlite3_finalize(m->watermark);
    sqlite3_finalize(m->upsert);
    sqlite3_finalize(m->remember);
    sqlite3_finalize(m->recall);
    sqlite3_finalize(m->credit_read);
    sqlite3_finalize(m->credit_save);
    sqlite3_close(m->db);
    pthread_cond_destroy(&m->queued);
    pthread_mutex_destroy(&m->mu);
    free(m);
}
