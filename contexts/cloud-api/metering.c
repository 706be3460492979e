#include "metering.h"

#include "checkpointer.h"
#include "faults.h"
#include "feedserver.h"
#include "idempotency.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Longest id a journal record holds; a call with a longer one takes the
 * committed path. */
#define JOURNAL_ID_MAX 255
/* A record: length (4 bytes), checksum of the rest (4), sequence number
 * (8), units (8), the lengths of the three ids (2 each), then the ids. */
#define RECORD_HEAD 30
#define RECORD_MAX (RECORD_HEAD + 3 * JOURNAL_ID_MAX)
/* A journal file past this size is swapped for the other one at the next
 * fold that may (see rotate()). */
#define JOURNAL_ROTATE_BYTES (1L << 20)
/* How long the committer lets records gather before folding them. */
#define FOLD_INTERVAL_NS 10000000L
#define CUSTOMER_BUCKETS 256

/* Units journaled, per (customer, user, key), not yet folded. Created by
 * meter_record_fast() (under mu), freed by the committer (under mu). */
struct usage_mem {
    char *user_id, *key_id;
    uint64_t journaled; /* in records not taken by a fold yet */
    uint64_t folding;   /* taken by the fold in progress (or a failed one) */
    int used;           /* journaled to since the last fold */
    struct usage_mem *next;
};

/*
 * A customer's credit as the meter holds it (credit.h): the credit_use row
 * as the last fold read it, and the units reserved since. The units the
 * customer has been served are base + folding + journaled + held, which
 * is what a call is checked against. Created and freed by the committer;
 * every field read and written under mu.
 */
struct credit_mem {
    char *customer_id;
    int known;          /* credit_use has a row: else every call is refused */
    int64_t left;       /* credit_left_cents */
    int64_t price;      /* unit_price_cents */
    int64_t base;       /* served_units, as committed */
    uint64_t journaled; /* units of its journaled calls not taken by a fold */
    uint64_t folding;   /* units the fold in progress writes (or a failed one) */
    uint64_t held;      /* units of committed-path calls of the open transaction */
    int used;           /* called since the last fold: not evicted */
    struct usage_mem *keys;
    struct credit_mem *next; /* hash chain */
};

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
    /* Set by the committer when its units are held against its customer's
     * credit in the open transaction. */
    struct credit_mem *credit;
    struct usage_call *next; /* queue order */
    /* Set by the committer: the next call of the batch that starts a new
     * (customer, user, key), and the units of all the batch's calls with
     * the same ids as this one (when it is the first of them). */
    struct usage_call *next_distinct;
    uint64_t total;
};

/* What a fold writes for one (customer, user, key), copied under mu. */
struct fold_row {
    const char *customer_id, *user_id, *key_id; /* owned by the entries */
    uint64_t units;
};

struct meter {
    sqlite3 *db; /* used only by the committer thread (and open/close) */
    /* checkpoints db's WAL on its own thread, so that no batch's answers
     * wait for a checkpoint's fsync (checkpointer.h) */
    struct checkpointer *checkpointer;
    sqlite3_stmt *begin, *commit, *rollback, *watermark, *upsert;
    sqlite3_stmt *remember, *recall;         /* analyze_replays: insert, read back */
    sqlite3_stmt *credit_read, *credit_save; /* credit_use */
    sqlite3_stmt *folded_read, *folded_save; /* meter_journal */
    unsigned window;                         /* seconds */
    unsigned retention;                      /* seconds an answer is replayed */
    time_t (*clock)(void);
    pthread_t committer; /* commits the queue, batch after batch */
    int committer_started;
    pthread_mutex_t mu;             /* guards everything below */
    pthread_cond_t queued;          /* signalled when a call is queued and the committer waits */
    struct usage_call *head, *tail; /* calls waiting for the next commit */
    int idle;                       /* the committer waits on queued */
    int closing;                    /* meter_close(): commit what is queued, then end */
    struct meter_stats stats;
    /* The credit of the customers called lately, by hash of their id. */
    struct credit_mem *customers[CUSTOMER_BUCKETS];
    size_t ncustomers;
    /* The journal: two files, records appended to jfd[cur] at jsize. */
    int jfd[2];
    int cur;
    off_t jsize;
    uint64_t next_seq;   /* of the next record */
    uint64_t taken_seq;  /* last record taken by a fold */
    uint64_t folded_seq; /* last record folded and committed */
    uint64_t other_max;  /* last record in jfd[!cur] */
    uint64_t records;    /* records not taken by a fold */
    uint64_t folding_records;
    int journal_ok; /* 0: the fast path is off (no journal, or it or a fold failed) */
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
    "UPDATE credit_use SET served_units = served_units + ?2 WHERE customer_id = ?1";

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

static uint32_t fnv1a(const unsigned char *p, size_t n, uint32_t h)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

/* A growing array of pointers or rows; -1 when out of memory. */
static int grow(void **items, size_t *cap, size_t n, size_t size)
{
    void *p;

    if (n < *cap)
        return 0;
    p = realloc(*items, (*cap ? *cap * 2 : 16) * size);
    if (!p)
        return -1;
    *items = p;
    *cap = *cap ? *cap * 2 : 16;
    return 0;
}

static struct credit_mem **bucket_of(struct meter *m, const char *customer_id)
{
    uint32_t h = fnv1a((const unsigned char *)customer_id, strlen(customer_id), 2166136261u);

    return &m->customers[h % CUSTOMER_BUCKETS];
}

/* The customer's entry, or NULL. Under mu. */
static struct credit_mem *find_customer(struct meter *m, const char *customer_id)
{
    for (struct credit_mem *c = *bucket_of(m, customer_id); c; c = c->next)
        if (strcmp(c->customer_id, customer_id) == 0)
            return c;
    return NULL;
}

/* The entry of (user, key) of customer c, made when absent; NULL when out
 * of memory. Under mu. */
static struct usage_mem *key_of(struct credit_mem *c, const char *user_id, const char *key_id)
{
    struct usage_mem *k;

    for (k = c->keys; k; k = k->next)
        if (strcmp(k->key_id, key_id) == 0 && strcmp(k->user_id, user_id) == 0)
            return k;
    k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->user_id = strdup(user_id);
    k->key_id = strdup(key_id);
    if (!k->user_id || !k->key_id) {
        free(k->user_id);
        free(k->key_id);
        free(k);
        return NULL;
    }
    k->next = c->keys;
    c->keys = k;
    return k;
}

static void free_customer(struct credit_mem *c)
{
    while (c->keys) {
        struct usage_mem *k = c->keys;

        c->keys = k->next;
        free(k->user_id);
        free(k->key_id);
        free(k);
    }
    free(c->customer_id);
    free(c);
}

/* Whether c's customer has credit for units more: (served + units) * price
 * <= left, served counting every unit reserved (struct credit_mem). Under
 * mu. */
static int credit_allows(const struct credit_mem *c, uint64_t units)
{
    uint64_t pending = c->journaled + c->folding + c->held;
    int64_t after;

    if (!c->known || units > INT64_MAX / 4 || pending > INT64_MAX / 4 || c->base < 0 ||
        c->base > INT64_MAX / 4)
        return 0;
    after = c->base + (int64_t)pending + (int64_t)units;
    return !(c->price > 0 && after > INT64_MAX / c->price) && after * c->price <= c->left;
}

/*
 * Reads the credit_use row of c's customer inside the open transaction
 * into c (under mu): base is then the committed served_units, which holds
 * none of the units c still has journaled, folding or held. Returns 0, or
 * -1 (database failure).
 */
static int read_credit(struct meter *m, struct credit_mem *c)
{
    int64_t left = 0, price = 0, served = 0;
    int rc;

    sqlite3_bind_text(m->credit_read, 1, c->customer_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(m->credit_read);
    if (rc == SQLITE_ROW) {
        left = sqlite3_column_int64(m->credit_read, 0);
        price = sqlite3_column_int64(m->credit_read, 1);
        served = sqlite3_column_int64(m->credit_read, 2);
    }
    sqlite3_reset(m->credit_read);
    sqlite3_clear_bindings(m->credit_read);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return -1;
    pthread_mutex_lock(&m->mu);
    c->known = rc == SQLITE_ROW;
    c->left = left;
    c->price = price;
    c->base = served;
    pthread_mutex_unlock(&m->mu);
    return 0;
}

/* What a fold takes from the journal, and the customers it reads. */
struct fold {
    struct credit_mem **customers;
    size_t ncustomers, customers_cap;
    struct fold_row *rows;
    size_t nrows, rows_cap;
    uint64_t through; /* the last record taken */
    uint64_t records; /* how many records are folding */
    int wrote;        /* a call of the batch was accepted */
};

/* The entry of a customer, read from credit_use in the open transaction
 * when the meter holds none yet (then listed in f, whose list holds every
 * other entry already). Committer thread only (the only one that adds
 * entries). NULL on a database failure or out of memory. */
static struct credit_mem *credit_of(struct meter *m, struct fold *f, const char *customer_id)
{
    struct credit_mem *c, **b;

    pthread_mutex_lock(&m->mu);
    c = find_customer(m, customer_id);
    pthread_mutex_unlock(&m->mu);
    if (c)
        return c;
    c = calloc(1, sizeof *c);
    if (!c || !(c->customer_id = strdup(customer_id))) {
        free(c);
        return NULL;
    }
    if (read_credit(m, c) != 0 ||
        grow((void **)&f->customers, &f->customers_cap, f->ncustomers, sizeof *f->customers)) {
        free_customer(c);
        return NULL;
    }
    f->customers[f->ncustomers++] = c;
    pthread_mutex_lock(&m->mu);
    b = bucket_of(m, customer_id);
    c->used = 1;
    c->next = *b;
    *b = c;
    m->ncustomers++;
    pthread_mutex_unlock(&m->mu);
    return c;
}

/* Forgets what the committer set on the calls of a batch that did not
 * commit, and gives back the units they held. */
static void forget_outcomes(struct meter *m, struct usage_call *batch)
{
    pthread_mutex_lock(&m->mu);
    for (struct usage_call *c = batch; c; c = c->next) {
        if (c->credit)
            c->credit->held -= c->units;
        c->credit = NULL;
        free(c->stored);
        c->stored = NULL;
        c->outcome = METER_RECORDED;
    }
    pthread_mutex_unlock(&m->mu);
}

/*
 * Swaps the journal to its other file when the current one is large and
 * every record of the other one is folded and committed: truncates it and
 * appends there from now on. Under mu, at a fold's take.
 */
static void rotate(struct meter *m)
{
    int other = !m->cur;

    if (m->jsize < JOURNAL_ROTATE_BYTES || m->other_max > m->folded_seq)
        return;
    if (ftruncate(m->jfd[other], 0) != 0)
        return;
    m->other_max = m->next_seq - 1;
    m->cur = other;
    m->jsize = 0;
}

/*
 * Takes every journaled unit for the fold (journaled moves to folding),
 * and lists every customer the meter holds and every (customer, user,
 * key) with units folding. Returns 0, or -1 when out of memory (nothing
 * taken).
 */
static int take_journal(struct meter *m, struct fold *f)
{
    int status = 0;

    pthread_mutex_lock(&m->mu);
    for (size_t b = 0; b < CUSTOMER_BUCKETS && status == 0; b++)
        for (struct credit_mem *c = m->customers[b]; c && status == 0; c = c->next) {
            if (grow((void **)&f->customers, &f->customers_cap, f->ncustomers,
                     sizeof *f->customers))
                status = -1;
            else
                f->customers[f->ncustomers++] = c;
            for (struct usage_mem *k = c->keys; k && status == 0; k = k->next) {
                if (k->journaled + k->folding == 0)
                    continue;
                if (grow((void **)&f->rows, &f->rows_cap, f->nrows, sizeof *f->rows))
                    status = -1;
                else
                    f->rows[f->nrows++] =
                        (struct fold_row){c->customer_id, k->user_id, k->key_id, 0};
            }
        }
    if (status == 0) {
        size_t i = 0;

        for (size_t b = 0; b < CUSTOMER_BUCKETS; b++)
            for (struct credit_mem *c = m->customers[b]; c; c = c->next) {
                c->folding += c->journaled;
                c->journaled = 0;
                for (struct usage_mem *k = c->keys; k; k = k->next) {
                    if (k->journaled + k->folding == 0)
                        continue;
                    k->folding += k->journaled;
                    k->journaled = 0;
                    f->rows[i++].units = k->folding;
                }
            }
        m->folding_records += m->records;
        m->records = 0;
        m->taken_seq = m->next_seq - 1;
        f->through = m->taken_seq;
        f->records = m->folding_records;
        rotate(m);
    } else
        f->nrows = f->ncustomers = 0;
    pthread_mutex_unlock(&m->mu);
    return status;
}

/* Adds units to usage_units for (customer, user, key) in window start. */
static int add_units(struct meter *m, int64_t start, const char *customer_id, const char *user_id,
                     const char *key_id, uint64_t units)
{
    int rc;

    sqlite3_bind_int64(m->upsert, 1, start);
    sqlite3_bind_int64(m->upsert, 2, start + m->window);
    sqlite3_bind_text(m->upsert, 3, customer_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(m->upsert, 4, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(m->upsert, 5, key_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(m->upsert, 6, (sqlite3_int64)units);
    rc = step_done(m->upsert);
    sqlite3_clear_bindings(m->upsert);
    return rc;
}

/* Adds to served_units of every customer of the fold the units this
 * transaction writes for it (folding and held). Returns 0, or -1. */
static int save_credit(struct meter *m, const struct fold *f)
{
    for (size_t i = 0; i < f->ncustomers; i++) {
        struct credit_mem *c = f->customers[i];
        uint64_t delta;
        int rc;

        pthread_mutex_lock(&m->mu);
        delta = c->folding + c->held;
        pthread_mutex_unlock(&m->mu);
        if (delta == 0)
            continue;
        sqlite3_bind_text(m->credit_save, 1, c->customer_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(m->credit_save, 2, (sqlite3_int64)delta);
        rc = step_done(m->credit_save);
        sqlite3_clear_bindings(m->credit_save);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/*
 * After a commit: the units folded and held are in base now; customers
 * and keys not called since the last fold, with nothing journaled, are
 * dropped (a later call reads them again). Under mu.
 */
static void settle(struct meter *m, const struct fold *f)
{
    m->folded_seq = f->through;
    m->folding_records = 0;
    for (size_t b = 0; b < CUSTOMER_BUCKETS; b++) {
        struct credit_mem **cp = &m->customers[b];

        while (*cp) {
            struct credit_mem *c = *cp;
            struct usage_mem **kp = &c->keys;

            c->base += (int64_t)(c->folding + c->held);
            c->folding = c->held = 0;
            while (*kp) {
                struct usage_mem *k = *kp;

                k->folding = 0;
                if (!k->used && k->journaled == 0) {
                    *kp = k->next;
                    free(k->user_id);
                    free(k->key_id);
                    free(k);
                    continue;
                }
                k->used = 0;
                kp = &k->next;
            }
            if (!c->used && c->journaled == 0) {
                *cp = c->next;
                free_customer(c);
                m->ncustomers--;
                continue;
            }
            c->used = 0;
            cp = &c->next;
        }
    }
}

/*
 * One transaction: reads the credit of every customer the meter holds
 * (changes `follow` made since the last fold show up here), folds the
 * journal's taken units into usage_units and credit_use with the journal
 * position, and stores the calls of batch (may be NULL). Each call in
 * queue order: a call with an Idempotency-Key whose pair has an answer is
 * replayed (or a conflict); else its units are held against its
 * customer's credit (credit.h), or it is refused; an accepted call with
 * an Idempotency-Key stores its answer. Returns 0, or -1 (logged, rolled
 * back, every call's outcome reset, the taken units left to fold again).
 */
static int commit_batch(struct meter *m, struct usage_call *batch, struct fold *f)
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
    for (size_t i = 0; i < f->ncustomers; i++)
        if (read_credit(m, f->customers[i]) != 0)
            goto fail;
    for (struct usage_call *c = batch; c; c = c->next) {
        struct credit_mem *o;
        int ok;

        c->outcome = METER_RECORDED;
        if (c->idempotency_key && recall(m, c, (int64_t)now) != 0)
            goto fail;
        if (c->outcome != METER_RECORDED)
            continue;
        o = credit_of(m, f, c->customer_id);
        if (!o)
            goto fail;
        pthread_mutex_lock(&m->mu);
        o->used = 1;
        ok = credit_allows(o, c->units);
        if (ok) {
            o->held += c->units;
            c->credit = o;
        }
        pthread_mutex_unlock(&m->mu);
        if (!ok) {
            c->outcome = METER_REFUSED;
            continue;
        }
        f->wrote = 1;
        if (c->idempotency_key && remember(m, c, (int64_t)now) != 0)
            goto fail;
    }
    for (struct usage_call *c = group_batch(batch); c; c = c->next_distinct)
        if (add_units(m, start, c->customer_id, c->user_id, c->key_id, c->total) != 0)
            goto fail;
    for (size_t i = 0; i < f->nrows; i++)
        if (add_units(m, start, f->rows[i].customer_id, f->rows[i].user_id, f->rows[i].key_id,
                      f->rows[i].units) != 0)
            goto fail;
    if (save_credit(m, f) != 0)
        goto fail;
    if (f->records > 0) {
        sqlite3_bind_int64(m->folded_save, 1, (sqlite3_int64)f->through);
        rc = step_done(m->folded_save);
        sqlite3_clear_bindings(m->folded_save);
        if (rc != 0)
            goto fail;
    }
    if (step_done(m->commit) != 0)
        goto fail;
    /* A round with nothing to write commits even on a full disk: only one
     * that wrote ends a fault. */
    if (f->wrote || f->records > 0)
        fault_clear("metering");
    return 0;
fail:
    if (!fault_storage(m->db, "metering"))
        log_error("cannot commit usage", "error=\"%s\"", sqlite3_errmsg(m->db));
    if (!sqlite3_get_autocommit(m->db))
        step_done(m->rollback);
    forget_outcomes(m, batch);
    return -1;
}

/*
 * One round of the committer: takes the journal, commits it with batch
 * (taken off the queue, may be NULL) in one transaction, counts it, then
 * calls each call's done function in queue order and frees the calls.
 * Returns 0 when committed.
 */
static int commit_round(struct meter *m, struct usage_call *batch)
{
    struct fold f;
    struct usage_call *c, *next;
    uint64_t n = 0, replays = 0, refused = 0, units = 0;
    int ok;

    memset(&f, 0, sizeof f);
    ok = take_journal(m, &f) == 0 && commit_batch(m, batch, &f) == 0;
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
        settle(m, &f);
        /* After a failure, only a commit that wrote proves the disk takes
         * writes again: a round with nothing to write commits anyway. */
        if (f.wrote || f.records > 0) {
            m->journal_ok = m->jfd[0] >= 0;
            m->stats.commits++;
        }
        m->stats.calls += n - replays - refused;
        m->stats.replays += replays;
        m->stats.refused += refused;
        m->stats.units += units;
        if (n + f.records > m->stats.largest_batch)
            m->stats.largest_batch = n + f.records;
    } else {
        m->journal_ok = 0;
        m->stats.failures += n;
    }
    pthread_mutex_unlock(&m->mu);
    free(f.customers);
    free(f.rows);
    for (c = batch; c; c = next) {
        next = c->next;
        c->done(ok ? c->outcome : METER_FAILED, c->stored, c->userdata);
        free(c);
    }
    return ok ? 0 : -1;
}

/* Whether the committer has something to fold or customers to read
 * again. Under mu. */
static int holds_any(const struct meter *m)
{
    return m->ncustomers > 0 || m->records > 0 || m->folding_records > 0;
}

/* Sets *due to FOLD_INTERVAL_NS from now (CLOCK_MONOTONIC, as queued's). */
static void fold_due(struct timespec *due)
{
    clock_gettime(CLOCK_MONOTONIC, due);
    due->tv_nsec += FOLD_INTERVAL_NS;
    if (due->tv_nsec >= 1000000000L) {
        due->tv_nsec -= 1000000000L;
        due->tv_sec++;
    }
}

/* The committer thread: while the meter is open, and then until its queue
 * and journal are empty, commits. Queued calls are committed at once,
 * with every call queued meanwhile (group commit), and with the journal.
 * Journaled calls are folded FOLD_INTERVAL_NS after the last round, and
 * the customers held read again, as long as any are held. It does not
 * wait for a batch of queued calls to grow: waiting until the queue
 * stopped growing made batches of ~45 calls instead of ~5, but left both
 * cores idle during each commit, and measured slower. */
static void *committer_main(void *arg)
{
    struct meter *m = arg;
    struct timespec due;

    fold_due(&due);
    for (;;) {
        struct usage_call *batch;
        int hold, closing;

        pthread_mutex_lock(&m->mu);
        while (!m->head && !m->closing) {
            m->idle = 1;
            if (!holds_any(m)) {
                pthread_cond_wait(&m->queued, &m->mu);
                fold_due(&due);
            } else if (pthread_cond_timedwait(&m->queued, &m->mu, &due) == ETIMEDOUT)
                break;
        }
        m->idle = 0;
        batch = m->head;
        m->head = m->tail = NULL;
        hold = holds_any(m);
        closing = m->closing;
        pthread_mutex_unlock(&m->mu);
        if (!batch && !hold)
            break; /* closing, and nothing left */
        /* Closing, and the journal cannot be folded: the next open replays it. */
        if (commit_round(m, batch) != 0 && !batch && closing)
            break;
        fold_due(&due);
    }
    return NULL;
}

/* Writes the record of a call (see RECORD_HEAD) into buf; returns its
 * length. The ids are at most JOURNAL_ID_MAX bytes. */
static size_t encode_record(unsigned char *buf, uint64_t seq, uint64_t units,
                            const char *const ids[3])
{
    uint32_t len = RECORD_HEAD, check;

    memcpy(buf + 8, &seq, 8);
    memcpy(buf + 16, &units, 8);
    for (int i = 0; i < 3; i++) {
        uint16_t n = (uint16_t)strlen(ids[i]);

        memcpy(buf + 24 + 2 * i, &n, 2);
        memcpy(buf + len, ids[i], n);
        len += n;
    }
    check = fnv1a(buf + 8, len - 8, 2166136261u);
    memcpy(buf, &len, 4);
    memcpy(buf + 4, &check, 4);
    return len;
}

/* A record read back (decode_record()). */
struct record {
    uint64_t seq, units;
    char ids[3][JOURNAL_ID_MAX + 1];
};

/* Decodes the record at p (n bytes left) into r; returns its length, or 0
 * when there is none whole and intact there (the end of the journal). */
static size_t decode_record(const unsigned char *p, size_t n, struct record *r)
{
    uint32_t len, check;
    size_t at = RECORD_HEAD;

    if (n < RECORD_HEAD)
        return 0;
    memcpy(&len, p, 4);
    memcpy(&check, p + 4, 4);
    if (len < RECORD_HEAD || len > RECORD_MAX || len > n ||
        fnv1a(p + 8, len - 8, 2166136261u) != check)
        return 0;
    memcpy(&r->seq, p + 8, 8);
    memcpy(&r->units, p + 16, 8);
    for (int i = 0; i < 3; i++) {
        uint16_t idlen;

        memcpy(&idlen, p + 24 + 2 * i, 2);
        if (idlen > JOURNAL_ID_MAX || at + idlen > len)
            return 0;
        memcpy(r->ids[i], p + at, idlen);
        r->ids[i][idlen] = '\0';
        at += idlen;
    }
    return at == len && r->ids[0][0] ? len : 0;
}

/*
 * Journals a call on the committer's terms (struct credit_mem): adds units
 * to the entry of its (customer, user, key). Under mu. Returns 0, or -1
 * when out of memory.
 */
static int journaled(struct credit_mem *c, const char *user_id, const char *key_id, uint64_t units)
{
    struct usage_mem *k = key_of(c, user_id, key_id);

    if (!k)
        return -1;
    k->journaled += units;
    k->used = 1;
    c->journaled += units;
    c->used = 1;
    return 0;
}

int meter_record_fast(struct meter *m, const char *customer_id, const char *user_id,
                      const char *key_id, uint64_t units, enum meter_result *result)
{
    const char *const ids[3] = {customer_id, user_id, key_id};
    unsigned char rec[RECORD_MAX];
    struct credit_mem *c;
    struct usage_mem *k;
    size_t len;
    ssize_t wrote;
    int err;

    for (int i = 0; i < 3; i++)
        if (strlen(ids[i]) > JOURNAL_ID_MAX)
            return 0;
    pthread_mutex_lock(&m->mu);
    if (!m->journal_ok || m->closing || !(c = find_customer(m, customer_id)))
        goto slow;
    c->used = 1;
    if (!credit_allows(c, units)) {
        m->stats.refused++;
        pthread_mutex_unlock(&m->mu);
        *result = METER_REFUSED;
        return 1;
    }
    k = key_of(c, user_id, key_id);
    if (!k)
        goto slow; /* out of memory */
    len = encode_record(rec, m->next_seq, units, ids);
    wrote = pwrite(m->jfd[m->cur], rec, len, m->jsize);
    err = errno;
    if (wrote != (ssize_t)len) {
        /* Nothing counts: a short write is no intact record, and the next
         * record overwrites it. Until a commit writes again, calls take the
         * committed path, which reports the fault (faults.h). */
        m->journal_ok = 0;
        pthread_mutex_unlock(&m->mu);
        log_warn("cannot write the usage journal: calls take the committed path", "error=\"%s\"",
                 wrote < 0 ? strerror(err) : "short write");
        return 0;
    }
    k->journaled += units;
    k->used = 1;
    c->journaled += units;
    m->jsize += (off_t)len;
    m->next_seq++;
    m->records++;
    m->stats.calls++;
    m->stats.units += units;
    pthread_mutex_unlock(&m->mu);
    *result = METER_RECORDED;
    return 1;
slow:
    pthread_mutex_unlock(&m->mu);
    return 0;
}

/* Reads the journal file fd: every intact record past folded goes into
 * the meter's entries as journaled (customers made, unknown, for the fold
 * to read). Sets *last to the highest sequence number seen. Returns 0, or
 * -1 (logged). */
static int replay_file(struct meter *m, int fd, uint64_t folded, uint64_t *last)
{
    struct stat st;
    unsigned char *buf = NULL;
    size_t size, at = 0, len;
    struct record r;
    int status = -1;

    if (fstat(fd, &st) != 0)
        goto out;
    size = (size_t)st.st_size;
    if (size == 0)
        return 0;
    buf = malloc(size);
    if (!buf || pread(fd, buf, size, 0) != (ssize_t)size)
        goto out;
    while ((len = decode_record(buf + at, size - at, &r)) > 0) {
        struct credit_mem *c, **b;

        at += len;
        if (r.seq > *last)
            *last = r.seq;
        if (r.seq <= folded)
            continue;
        c = find_customer(m, r.ids[0]);
        if (!c) {
            c = calloc(1, sizeof *c);
            if (!c || !(c->customer_id = strdup(r.ids[0]))) {
                free(c);
                goto out;
            }
            b = bucket_of(m, r.ids[0]);
            c->next = *b;
            *b = c;
            m->ncustomers++;
        }
        if (journaled(c, r.ids[1], r.ids[2], r.units) != 0)
            goto out;
        m->records++;
    }
    status = 0;
out:
    if (status != 0)
        log_error("cannot read the usage journal", "error=\"%s\"", strerror(errno));
    free(buf);
    return status;
}

/*
 * Opens the journal files beside the database (its real path, followed
 * through links, "-meter0" and "-meter1"), folds every record a crash
 * left unfolded into the database in one transaction, and empties them.
 * Returns 0, or -1 (logged). A database without a file (in memory) gets
 * no journal: every call takes the committed path.
 */
static int journal_open(struct meter *m, const char *db_path)
{
    char *real = realpath(db_path, NULL);
    char path[PATH_MAX + 16];
    uint64_t folded = 0, last = 0;
    int rc, status = -1;

    if (!real)
        return 0;
    for (int i = 0; i < 2; i++) {
        if (snprintf(path, sizeof path, "%s-meter%d", real, i) >= (int)sizeof path) {
            log_error("cannot open the usage journal", "error=\"path too long\" path=\"%s\"", real);
            goto out;
        }
        m->jfd[i] = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (m->jfd[i] < 0) {
            log_error("cannot open the usage journal", "error=\"%s\" path=\"%s\"", strerror(errno),
                      path);
            goto out;
        }
    }
    /* One meter per database: two would write over each other's records. */
    if (flock(m->jfd[0], LOCK_EX | LOCK_NB) != 0) {
        log_error("cannot lock the usage journal: is another cloud-api serve using this database?",
                  "error=\"%s\" db=\"%s\"", strerror(errno), real);
        goto out;
    }
    rc = sqlite3_step(m->folded_read);
    if (rc == SQLITE_ROW)
        folded = (uint64_t)sqlite3_column_int64(m->folded_read, 0);
    sqlite3_reset(m->folded_read);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        log_error("database error", "error=\"%s\" where=journal_open", sqlite3_errmsg(m->db));
        goto out;
    }
    if (replay_file(m, m->jfd[0], folded, &last) != 0 ||
        replay_file(m, m->jfd[1], folded, &last) != 0)
        goto out;
    m->next_seq = (last > folded ? last : folded) + 1;
    m->taken_seq = m->folded_seq = m->next_seq - 1;
    if (m->records > 0) {
        log_info("folding the usage journal left by a crash", "records=%llu",
                 (unsigned long long)m->records);
        if (commit_round(m, NULL) != 0)
            goto out;
    }
    if (ftruncate(m->jfd[0], 0) != 0 || ftruncate(m->jfd[1], 0) != 0) {
        log_error("cannot empty the usage journal", "error=\"%s\"", strerror(errno));
        goto out;
    }
    m->cur = 0;
    m->jsize = 0;
    m->other_max = m->folded_seq;
    m->journal_ok = 1;
    status = 0;
out:
    free(real);
    return status;
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
    pthread_condattr_t ca;
    enum fs_error err;

    *out = NULL;
    if (!m) {
        log_error("out of memory", "%s", "where=meter_open");
        return -1;
    }
    m->jfd[0] = m->jfd[1] = -1;
    pthread_mutex_init(&m->mu, NULL);
    if (pthread_condattr_init(&ca) != 0 || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&m->queued, &ca) != 0) {
        log_error("cannot make a condition variable", "%s", "where=meter_open");
        free(m);
        return -1;
    }
    pthread_condattr_destroy(&ca);
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
        prepare(m, credit_save_sql, &m->credit_save) ||
        prepare(m, "SELECT folded_seq FROM meter_journal WHERE id = 1", &m->folded_read) ||
        prepare(m, "UPDATE meter_journal SET folded_seq = ?1 WHERE id = 1", &m->folded_save) ||
        journal_open(m, cfg->db_path) != 0)
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
    sqlite3_finalize(m->folded_read);
    sqlite3_finalize(m->folded_save);
    sqlite3_close(m->db);
    pthread_mutex_lock(&m->mu);
    /* Everything folded (closed cleanly): the journal is empty. */
    if (m->jfd[0] >= 0 && m->records == 0 && m->folding_records == 0) {
        if (ftruncate(m->jfd[0], 0) != 0 || ftruncate(m->jfd[1], 0) != 0)
            log_warn("cannot empty the usage journal", "error=\"%s\"", strerror(errno));
    }
    for (size_t b = 0; b < CUSTOMER_BUCKETS; b++)
        while (m->customers[b]) {
            struct credit_mem *c = m->customers[b];

            m->customers[b] = c->next;
            free_customer(c);
        }
    pthread_mutex_unlock(&m->mu);
    for (int i = 0; i < 2; i++)
        if (m->jfd[i] >= 0)
            close(m->jfd[i]);
    pthread_cond_destroy(&m->queued);
    pthread_mutex_destroy(&m->mu);
    free(m);
}
