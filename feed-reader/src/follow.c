#include "follow.h"

#include <errno.h>
#include <fcntl.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "links.h"
#include "log.h"

/* Most prev-archive links followed in one walk: more than any real feed
 * needs (500 million entries at 500 a page), so that a producer whose pages
 * go on forever cannot hold the follower. */
#define MAX_HOPS 1000000UL

const char *fr_strerror(enum fr_error err)
{
    switch (err) {
    case FR_OK:
        return "ok";
    case FR_ERR_NOMEM:
        return "out of memory";
    case FR_ERR_DB:
        return "the consumer's database failed";
    case FR_ERR_INVALID:
        return "invalid argument";
    case FR_ERR_HTTP:
        return "the producer could not be reached or answered an error";
    case FR_ERR_PARSE:
        return "the document is not a valid feed document";
    case FR_ERR_TOO_LARGE:
        return "the document is too large or too deeply nested";
    case FR_ERR_BACKWARDS:
        return "the feed went backwards";
    case FR_ERR_REFUSED:
        return "a handler refused an entry";
    case FR_ERR_STOPPED:
        return "stopped";
    case FR_ERR_OTHER_FEED:
        return "the URL serves another feed than the one whose position is stored";
    case FR_ERR_BUSY:
        return "the consumer's database is busy (will retry)";
    case FR_ERR_STORAGE:
        return "the consumer's database cannot be written now: disk full or I/O error (will "
               "retry)";
    }
    return "unknown error";
}

/* Writes v in decimal into out and returns out: a value for a log line. */
static const char *num(char out[24], long long v)
{
    snprintf(out, 24, "%lld", v);
    return out;
}

static int is_fatal(enum fr_error err)
{
    return err == FR_ERR_BACKWARDS || err == FR_ERR_REFUSED || err == FR_ERR_DB ||
           err == FR_ERR_NOMEM || err == FR_ERR_INVALID || err == FR_ERR_OTHER_FEED;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The count-th wait of the busy handler below, in microseconds. */
static unsigned busy_delay_us(int count)
{
    /* 50 us, doubling: the tenth wait is 25.6 ms, then 100 ms each. */
    if (count < 0)
        count = 0;
    return count >= 11 ? 100000u : 50u << count;
}

/*
 * The busy handler of the consumer's connection: waits in steps of
 * busy_delay_us() for at most cfg.busy_timeout_ms, but gives up at
 * once when the follower is asked to stop, or while it records an error
 * that may as well wait for the next transaction. SQLite's own handler
 * (sqlite3_busy_timeout) first sleeps 1 ms, then 2, then 5: the other
 * writers of a consumer's database (its server's handlers, a group commit
 * of usage) hold the lock for tens of microseconds, so that first
 * millisecond was most of the replication latency whenever they met.
 */
static int on_busy(void *userdata, int count)
{
    struct fr_follower *f = userdata;
    int64_t t = now_ms();
    unsigned us = busy_delay_us(count);
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};

    if (count == 0)
        f->busy_since = t;
    if (f->stop || f->busy_no_wait || t - f->busy_since >= (int64_t)f->cfg.busy_timeout_ms)
        return 0;
    nanosleep(&ts, NULL);
    return 1;
}

/* The busy timeout set on db (PRAGMA busy_timeout), 0 if none. */
static int busy_timeout_of(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int ms = 0;

    if (sqlite3_prepare_v2(db, "PRAGMA busy_timeout", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        ms = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return ms;
}

static void *ahead_run(void *arg)
{
    struct fr__ahead *a = arg;

    a->err = fr__fetch_get(&a->fetch, a->url, NULL, 0, &a->status, a->msg, sizeof a->msg);
    return NULL;
}

/* Joins the read-ahead thread of a, if any, and forgets its URL. */
static void ahead_drop_one(struct fr__ahead *a)
{
    if (a->running)
        pthread_join(a->thread, NULL);
    a->running = 0;
    free(a->url);
    a->url = NULL;
}

/* Joins every read-ahead thread and forgets their URLs. */
static void ahead_drop(struct fr_follower *f)
{
    for (int i = 0; i < FR__AHEAD; i++)
        ahead_drop_one(&f->ahead[i]);
}

/* The slot fetching url, or NULL. */
static struct fr__ahead *ahead_find(struct fr_follower *f, const char *url)
{
    for (int i = 0; i < FR__AHEAD; i++)
        if (f->ahead[i].url && strcmp(f->ahead[i].url, url) == 0)
            return &f->ahead[i];
    return NULL;
}

/* Starts fetching url (borrowed) on a read-ahead thread, unless one fetches
 * it already, in a free slot, or when evict is set and none is free, in the
 * first (every slot then holds a guess no link named). Nothing is lost
 * when it cannot start: the step that wants url then fetches it itself. */
static void ahead_start(struct fr_follower *f, const char *url, int evict)
{
    struct fr__ahead *a = NULL;

    if (ahead_find(f, url))
        return;
    for (int i = 0; i < FR__AHEAD && !a; i++)
        if (!f->ahead[i].url)
            a = &f->ahead[i];
    if (!a && evict)
        a = &f->ahead[0];
    if (!a)
        return;
    ahead_drop_one(a);
    a->url = strdup(url);
    if (!a->url)
        return;
    if (pthread_create(&a->thread, NULL, ahead_run, a) != 0) {
        free(a->url);
        a->url = NULL;
        return;
    }
    a->running = 1;
}

/* When a read-ahead thread fetched url, joins it and answers its slot,
 * with its result in *err, *status and msg (the body is in the slot's
 * fetch, until the slot is started again); else answers NULL. The other
 * slots go on (the step that takes none drops them all). */
static struct fr__ahead *ahead_take(struct fr_follower *f, const char *url, enum fr_error *err,
                                    long *status, char *msg, size_t msg_size)
{
    struct fr__ahead *a = ahead_find(f, url);

    if (!a)
        return NULL;
    if (a->running)
        pthread_join(a->thread, NULL);
    a->running = 0;
    *err = a->err;
    *status = a->status;
    if (a->err)
        snprintf(msg, msg_size, "%s", a->msg);
    free(a->url);
    a->url = NULL;
    return a;
}

/*
 * The URL of the archive page ahead pages after url, guessed from the shape
 * of the links: when url ends in "/pages/K" (K digits) and next, its
 * next-archive link, is the same with K + 1, the same with K + ahead is
 * written into out (size bytes) and 1 returned; else 0.
 */
static int guess_ahead(const char *url, const char *next, long long ahead, char *out, size_t size)
{
    const char *slash = strrchr(url, '/');
    size_t prefix;
    char *end;
    long long k;

    if (!slash || slash - url < 6 || strncmp(slash - 6, "/pages", 6) != 0 || slash[1] < '0' ||
        slash[1] > '9')
        return 0;
    prefix = (size_t)(slash + 1 - url);
    errno = 0;
    k = strtoll(slash + 1, &end, 10);
    if (errno || *end || k < 0 || k > INT64_MAX - ahead || strncmp(url, next, prefix) != 0)
        return 0;
    errno = 0;
    if (next[prefix] < '0' || next[prefix] > '9' || strtoll(next + prefix, &end, 10) != k + 1 ||
        errno || *end)
        return 0;
    return snprintf(out, size, "%.*s%lld", (int)prefix, url, k + ahead) < (int)size;
}

/* Whether url is https, or http to a loopback host (127.0.0.0/8, ::1 or
 * localhost), where a token on the wire stays on this machine. */
static int url_is_https_or_loopback(const char *url)
{
    const char *h = url + 7, *end;
    size_t n;

    if (strncmp(url, "http://", 7) != 0)
        return 1;
    if (*h == '[')
        return strncmp(h, "[::1]", 5) == 0;
    end = h + strcspn(h, ":/?#");
    n = (size_t)(end - h);
    if (n == 9 && strncasecmp(h, "localhost", 9) == 0)
        return 1;
    if (strncmp(h, "127.", 4) != 0)
        return 0;
    for (const char *p = h; p < end; p++) {
        if ((*p < '0' || *p > '9') && *p != '.')
            return 0;
    }
    return 1;
}

enum fr_error fr_follower_open(const struct fr_config *cfg, struct fr_follower **out)
{
    struct fr_follower *f = NULL;
    enum fr_error err = FR_ERR_INVALID;
    char *check = NULL;
    size_t n, max_document;

    *out = NULL;
    if (!cfg || !cfg->db || !cfg->feed_url ||
        (strncmp(cfg->feed_url, "http://", 7) != 0 && strncmp(cfg->feed_url, "https://", 8) != 0))
        return FR_ERR_INVALID;
    n = strlen(cfg->feed_url);
    while (n > 0 && cfg->feed_url[n - 1] == '/')
        n--;
    if (n < 8 || n > FR__URL_MAX || strpbrk(cfg->feed_url, " \r\n\t"))
        return FR_ERR_INVALID;

    xmlInitParser();
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return FR_ERR_NOMEM;
    f = calloc(1, sizeof *f);
    if (!f) {
        err = FR_ERR_NOMEM;
        goto fail;
    }
    f->pipe[0] = f->pipe[1] = -1;
    f->saved_busy_timeout = -1;
    f->jump_page = -1;
    f->opened_ms = now_ms();
    f->cfg = *cfg;
    if (!f->cfg.wait)
        f->cfg.wait = 25;
    if (f->cfg.wait > 30)
        f->cfg.wait = 30;
    if (!f->cfg.max_depth)
        f->cfg.max_depth = 32;
    if (!f->cfg.busy_timeout_ms)
        f->cfg.busy_timeout_ms = 5000;
    f->feed_url = strndup(cfg->feed_url, n);
    f->head_url = strndup(cfg->feed_url, n);
    if (!f->feed_url || !f->head_url) {
        err = FR_ERR_NOMEM;
        goto fail;
    }
    /* The URL must be one libcurl can parse and resolve links against. */
    err = fr__url_normalize(f->feed_url, &check);
    free(check);
    if (err)
        goto fail;
    f->cfg.feed_url = f->feed_url;
    f->cfg.token = NULL;
    /* The strings of a document fit in twice its size (atom_parse.h). */
    max_document = cfg->max_document ? cfg->max_document : FR__MAX_DOCUMENT;
    fr__doc_init(&f->doc, max_document > SIZE_MAX / 2 ? SIZE_MAX : 2 * max_document + 1);
    fr__backoff_init(&f->backoff, cfg->max_backoff_ms);
    if (pipe2(f->pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        f->pipe[0] = f->pipe[1] = -1;
        err = FR_ERR_NOMEM;
        goto fail;
    }
    err = fr__fetch_init(&f->fetch, cfg, &f->stop);
    if (err == FR_OK)
        for (int i = 0; i < FR__AHEAD && err == FR_OK; i++)
            err = fr__fetch_init(&f->ahead[i].fetch, cfg, &f->stop);
    if (err)
        goto fail;
    f->saved_busy_timeout = busy_timeout_of(cfg->db);
    sqlite3_busy_handler(cfg->db, on_busy, f);
    err = fr__store_open(&f->store, cfg->db, f->feed_url, &f->state);
    if (err) {
        fr__log(&f->cfg, FR_LOG_ERROR, f->store.msg, "error", fr_strerror(err), NULL);
        goto fail;
    }
    if (f->store.migrated)
        fr__log(&f->cfg, FR_LOG_INFO, "migrated table feed_followers: rows now belong to feed ids",
                NULL);
    f->verified = f->state.position == 0;
    if (cfg->token && !url_is_https_or_loopback(f->feed_url))
        fr__log(&f->cfg, FR_LOG_WARN,
                "the token is sent over plain http to a host that is not loopback: anyone on the"
                " way can read it; use https",
                NULL);
    *out = f;
    return FR_OK;
fail:
    fr_follower_close(f);
    if (!f)
        curl_global_cleanup();
    return err;
}

enum fr_error fr_follower_on(struct fr_follower *f, const char *type, fr_handler_fn *fn,
                             void *userdata)
{
    struct fr__handler *h;

    if (!f || !type || !type[0] || !fn)
        return FR_ERR_INVALID;
    for (size_t i = 0; i < f->nhandlers; i++)
        if (strcmp(f->handlers[i].type, type) == 0)
            return FR_ERR_INVALID;
    h = realloc(f->handlers, (f->nhandlers + 1) * sizeof *h);
    if (!h)
        return FR_ERR_NOMEM;
    f->handlers = h;
    h[f->nhandlers].type = strdup(type);
    if (!h[f->nhandlers].type)
        return FR_ERR_NOMEM;
    h[f->nhandlers].fn = fn;
    h[f->nhandlers].userdata = userdata;
    f->nhandlers++;
    return FR_OK;
}

enum fr_error fr_follower_at_head(struct fr_follower *f, fr_head_fn *fn, void *userdata)
{
    if (!f || !fn || f->at_head)
        return FR_ERR_INVALID;
    f->at_head = fn;
    f->at_head_userdata = userdata;
    return FR_OK;
}

void fr_follower_stop(struct fr_follower *f)
{
    if (!f)
        return;
    f->stop = 1;
    if (f->pipe[1] >= 0 && write(f->pipe[1], "", 1) < 0)
        return;
}

const char *fr_follower_last_error(const struct fr_follower *f)
{
    return f->last_error;
}

int64_t fr_follower_position(const struct fr_follower *f)
{
    return f->state.position;
}

const char *fr_follower_feed_id(const struct fr_follower *f)
{
    return f->store.feed_id;
}

void fr_follower_close(struct fr_follower *f)
{
    if (!f)
        return;
    fr__store_release(&f->store);
    if (f->saved_busy_timeout >= 0)
        sqlite3_busy_timeout(f->cfg.db, f->saved_busy_timeout);
    ahead_drop(f);
    fr__fetch_release(&f->fetch);
    for (int i = 0; i < FR__AHEAD; i++)
        fr__fetch_release(&f->ahead[i].fetch);
    fr__doc_release(&f->doc);
    for (size_t i = 0; i < f->nhandlers; i++)
        free(f->handlers[i].type);
    free(f->handlers);
    free(f->feed_url);
    free(f->head_url);
    free(f->page_url);
    free(f->empty_head_prev);
    if (f->pipe[0] >= 0)
        close(f->pipe[0]);
    if (f->pipe[1] >= 0)
        close(f->pipe[1]);
    free(f);
    curl_global_cleanup();
}

/*
 * Records err with the message in f->last_error: logged, and stored in the
 * database (unless the database itself failed). An error that cannot be
 * stored because the database is busy (a busy database is not waited for
 * here: the next transaction will do) is kept and stored with the next
 * success. Returns err.
 */
static enum fr_error record(struct fr_follower *f, enum fr_error err)
{
    enum fr_error werr;
    char now[21], position[24], count[24], ms[24];

    if (err == FR_OK && f->storage_failures > 0) {
        fr__log(&f->cfg, FR_LOG_INFO, "the database can be written again", "failed_attempts",
                num(count, f->storage_failures), "for_ms", num(ms, now_ms() - f->storage_since),
                "position", num(position, f->state.position), NULL);
        f->storage_failures = 0;
    }
    if (err == FR_OK || err == FR_ERR_STOPPED)
        return err;
    if (!f->last_error[0])
        snprintf(f->last_error, sizeof f->last_error, "%s", fr_strerror(err));
    if (err == FR_ERR_HTTP && f->fetch.refused && !f->answered &&
        now_ms() - f->opened_ms < FR__STARTUP_WAIT_MS) {
        /* A producer that is starting (programs start together): said
         * once, quietly; only a producer that stays away is an error. */
        if (!f->waiting_logged)
            fr__log(&f->cfg, FR_LOG_INFO, "waiting for the producer", "detail", f->last_error,
                    NULL);
        f->waiting_logged = 1;
    } else if (err != FR_ERR_STORAGE || f->storage_failures++ == 0) {
        /* A full disk is retried for as long as it lasts: logged once. */
        fr__log(&f->cfg, is_fatal(err) ? FR_LOG_FATAL : FR_LOG_ERROR, f->last_error, "error",
                fr_strerror(err), "position", num(position, f->state.position), NULL);
    }
    if (err == FR_ERR_STORAGE && f->storage_failures == 1)
        f->storage_since = now_ms();
    if (err == FR_ERR_DB || err == FR_ERR_NOMEM)
        return err;
    fr__now_rfc3339(now);
    f->busy_no_wait = err == FR_ERR_BUSY || err == FR_ERR_STORAGE;
    werr = fr__store_error(&f->store, f->last_error, now, 1 + f->pending_errors);
    f->busy_no_wait = 0;
    if (werr == FR_OK) {
        f->pending_errors = 0;
    } else if (werr == FR_ERR_BUSY || werr == FR_ERR_STORAGE) {
        f->pending_errors++;
        snprintf(f->pending_error, sizeof f->pending_error, "%s", f->last_error);
        memcpy(f->pending_at, now, sizeof now);
    } else {
        fr__log(&f->cfg, FR_LOG_ERROR, f->store.msg, "what", "cannot record the error", NULL);
    }
    return err;
}

static fr_handler_fn *find_handler(const struct fr_follower *f, const char *type, void **ud)
{
    for (size_t i = 0; i < f->nhandlers; i++)
        if (strcmp(f->handlers[i].type, type) == 0) {
            *ud = f->handlers[i].userdata;
            return f->handlers[i].fn;
        }
    return NULL;
}

/* Whether the last statement on db failed because it was busy or locked. */
static int db_busy(sqlite3 *db)
{
    int code = sqlite3_errcode(db) & 0xff;

    return code == SQLITE_BUSY || code == SQLITE_LOCKED;
}

/* Whether the last statement on db failed because the database cannot be
 * written now (full disk, I/O error). */
static int db_unwritable(sqlite3 *db)
{
    return fr__db_storage_fault(sqlite3_errcode(db));
}

/*
 * The error that a handler's or the head hook's answer r (not
 * FR_HANDLER_OK) makes, with f->last_error set to what failed (such as
 * "entry 7 (UserAdded, urn:uuid:...)") and why: FR_ERR_BUSY (asked to
 * retry, or refused after a busy statement), FR_ERR_STORAGE (refused after
 * a statement that met a full disk or an I/O error) or FR_ERR_REFUSED.
 */
static enum fr_error refusal(struct fr_follower *f, int r, const char *what, char *why,
                             size_t why_size)
{
    why[why_size - 1] = '\0';
    if (r == FR_HANDLER_RETRY) {
        snprintf(f->last_error, sizeof f->last_error,
                 "%s not applied yet, the handler asked to retry: %s", what,
                 why[0] ? why : "no reason given");
        return FR_ERR_BUSY;
    }
    if (db_busy(f->cfg.db)) {
        snprintf(f->last_error, sizeof f->last_error,
                 "%s not applied yet, the database is busy (%.80s): %s", what,
                 sqlite3_errmsg(f->cfg.db), why[0] ? why : "no reason given");
        return FR_ERR_BUSY;
    }
    if (db_unwritable(f->cfg.db)) {
        snprintf(f->last_error, sizeof f->last_error,
                 "%s not applied yet, the database cannot be written now (%.80s): %s", what,
                 sqlite3_errmsg(f->cfg.db), why[0] ? why : "no reason given");
        return FR_ERR_STORAGE;
    }
    snprintf(f->last_error, sizeof f->last_error, "handler refused %s: %s", what,
             why[0] ? why : "no reason given");
    return FR_ERR_REFUSED;
}

/*
 * Calls the handler of e (skipping a type without one: *skipped grows).
 * Returns FR_OK, or the error refusal() makes of its answer.
 */
static enum fr_error handle(struct fr_follower *f, const struct fr_entry *e, int64_t *skipped)
{
    char why[256] = "", what[256];
    void *ud = NULL;
    fr_handler_fn *fn = find_handler(f, e->type, &ud);
    int r;

    if (!fn) {
        (*skipped)++;
        return FR_OK;
    }
    r = fn(e, f->cfg.db, why, sizeof why, ud);
    if (r == FR_HANDLER_OK)
        return FR_OK;
    snprintf(what, sizeof what, "entry %lld (%.64s, %.80s)", (long long)e->position, e->type,
             e->id);
    return refusal(f, r, what, why, sizeof why);
}

/*
 * Applies the entries of f->doc after the stored position, and stores the
 * new position, head and counters (and the errors kept while the database
 * was busy), all in one transaction. The stored state is read again inside
 * the transaction, so two followers of one feed on one database never apply
 * an entry twice. An entry at the stored position with another id is
 * FR_ERR_BACKWARDS; a handler's refusal FR_ERR_REFUSED, a busy database
 * FR_ERR_BUSY; in every such case nothing of the document is applied.
 * *applied gets the number of entries applied or skipped. polled: the
 * document is the head, so this is also a good poll (fr__store_save()).
 */
static enum fr_error apply(struct fr_follower *f, int64_t head, int polled, size_t *applied)
{
    struct fr__state st;
    enum fr_error err;
    int64_t from = 0, skipped0;
    size_t n = 0;
    int flushed = 0;

    *applied = 0;
    err = fr__store_begin(&f->store);
    if (err)
        goto fail_store;
    err = fr__store_load(&f->store, &st);
    if (err)
        goto fail_store;
    skipped0 = st.skipped;
    if (st.position != f->state.position) {
        /* Another follower of this feed on this database moved on. */
        f->state = st;
        f->verified = 1;
    }
    for (size_t i = 0; i < f->doc.nentries; i++) {
        const struct fr__entry *e = &f->doc.entries[i];
        const struct fr_entry *pub = &e->pub;

        if (pub->position < st.position)
            continue;
        if (pub->position == st.position) {
            if (st.last_id[0] && strcmp(pub->id, st.last_id) != 0) {
                snprintf(f->last_error, sizeof f->last_error,
                         "feed went backwards: entry %lld has id %.80s, but %.80s was applied"
                         " (was the producer's database restored?)",
                         (long long)pub->position, pub->id, st.last_id);
                err = FR_ERR_BACKWARDS;
                goto fail;
            }
            f->verified = 1;
            continue;
        }
        if (pub->position != st.position + 1 || (st.position > 0 && !f->verified)) {
            snprintf(f->last_error, sizeof f->last_error,
                     "document skips from position %lld to %lld", (long long)st.position,
                     (long long)pub->position);
            err = FR_ERR_PARSE;
            goto fail;
        }
        if (strlen(pub->id) >= sizeof st.last_id) {
            snprintf(f->last_error, sizeof f->last_error, "entry %lld: id too long",
                     (long long)pub->position);
            err = FR_ERR_PARSE;
            goto fail;
        }
        err = handle(f, pub, &st.skipped);
        if (err)
            goto fail;
        if (n == 0)
            from = pub->position;
        n++;
        st.position = pub->position;
        memcpy(st.last_id, pub->id, strlen(pub->id) + 1);
        f->verified = 1;
    }
    st.head = head > st.position ? head : st.position;
    err = fr__store_save(&f->store, &st, polled);
    if (err)
        goto fail_store;
    if (f->pending_errors > 0) {
        err = fr__store_error(&f->store, f->pending_error, f->pending_at, f->pending_errors);
        if (err)
            goto fail_store;
        flushed = 1;
    }
    err = fr__store_commit(&f->store);
    if (err)
        goto fail_store;
    if (flushed)
        f->pending_errors = 0;
    f->state = st;
    *applied = n;
    if (n > 0) {
        char a[24], b[24], c[24], d[24];

        fr__log(&f->cfg, FR_LOG_INFO, "applied page", "from", num(a, from), "to",
                num(b, st.position), "skipped", num(c, st.skipped - skipped0), "head",
                num(d, st.head), NULL);
    }
    return FR_OK;
fail_store:
    snprintf(f->last_error, sizeof f->last_error, "%s", f->store.msg);
fail:
    fr__store_rollback(&f->store);
    return err;
}

/* Forgets the walk through the archive: the next step fetches the head. */
static void go_head(struct fr_follower *f)
{
    free(f->page_url);
    f->page_url = NULL;
    f->page_dir = 0;
    f->page_expect = 0;
    f->jump_page = -1;
    f->page_from_head = 0;
}

/* Makes url (taken over) the archive page to fetch next, reached in
 * direction dir, its first (dir > 0) or last (dir < 0) position expect. */
static void go_page(struct fr_follower *f, char *url, int dir, int64_t expect)
{
    go_head(f);
    f->page_url = url;
    f->page_dir = dir;
    f->page_expect = expect;
}

/*
 * Resolves the links of f->doc (fetched from url) into links[] (new strings
 * or NULL). A link the follower may not follow makes the document bad:
 * FR_ERR_PARSE, with f->last_error naming it.
 */
static enum fr_error resolve_links(struct fr_follower *f, const char *url, char *links[FR__NRELS])
{
    static const char *const names[FR__NRELS] = {"self", "current", "prev-archive", "next-archive"};
    char why[400];

    for (int i = 0; i < FR__NRELS; i++)
        links[i] = NULL;
    for (int i = 0; i < FR__NRELS; i++) {
        const char *href = fr__doc_str(&f->doc, f->doc.links[i]);
        enum fr_error err;

        if (!href)
            continue;
        err = fr__link_resolve(url, href, &links[i], why, sizeof why);
        if (err) {
            snprintf(f->last_error, sizeof f->last_error,
                     "%.200s: the %s %s; nothing of the document is used", url, names[i], why);
            return err;
        }
    }
    return FR_OK;
}

/*
 * Checks that f->doc (from url) is of the feed the stored state belongs to.
 * At the first document of a state not yet tied to a feed id, ties it
 * (fr__store_identify()); when that makes the follower continue from
 * another position (the feed's state was known at another URL), *changed is
 * set and the walk must start again. FR_ERR_OTHER_FEED when the document is
 * of another feed.
 */
static enum fr_error check_feed(struct fr_follower *f, const char *url, int *changed)
{
    static const char *const hows[] = {"known", "new", "adopted", "moved", "merged"};
    const char *id = fr__doc_str(&f->doc, f->doc.feed_id);
    struct fr__state st;
    enum fr__identity how = FR__ID_KNOWN;
    enum fr_error err;

    *changed = 0;
    if (!id || !id[0]) {
        snprintf(f->last_error, sizeof f->last_error, "%.200s: the document has no feed <id>", url);
        return FR_ERR_PARSE;
    }
    if (strlen(id) >= FR__ID_MAX) {
        snprintf(f->last_error, sizeof f->last_error,
                 "%.200s: the feed <id> is longer than %d bytes", url, FR__ID_MAX - 1);
        return FR_ERR_PARSE;
    }
    if (f->store.feed_id[0]) {
        if (strcmp(id, f->store.feed_id) == 0)
            return FR_OK;
        if (strcmp(url, f->feed_url) != 0) {
            /* Reached by a link: a bad document; the next try starts again
             * at the URL the state belongs to, which tells. */
            char *copy = strdup(f->feed_url);

            if (!copy)
                return FR_ERR_NOMEM;
            free(f->head_url);
            f->head_url = copy;
            snprintf(f->last_error, sizeof f->last_error,
                     "%.200s is a document of feed %.120s, not of feed %.120s; not used", url, id,
                     f->store.feed_id);
            return FR_ERR_PARSE;
        }
        snprintf(f->last_error, sizeof f->last_error,
                 "%.200s is a document of feed %.120s, but the position stored for this URL belongs"
                 " to feed %.120s: another feed at a known URL (was the producer replaced, or"
                 " does the URL point elsewhere now?)",
                 url, id, f->store.feed_id);
        return FR_ERR_OTHER_FEED;
    }
    err = fr__store_identify(&f->store, id, &st, &how);
    if (err == FR_ERR_OTHER_FEED) {
        snprintf(f->last_error, sizeof f->last_error,
                 "%.200s is a document of feed %.120s, but the position stored for this URL belongs"
                 " to feed %.120s: another feed at a known URL",
                 url, id, f->store.msg);
        return err;
    }
    if (err) {
        snprintf(f->last_error, sizeof f->last_error, "%s", f->store.msg);
        return err;
    }
    {
        char position[24];

        fr__log(&f->cfg, FR_LOG_INFO, "following feed", "feed_id", id, "row", hows[how], "position",
                num(position, st.position), NULL);
    }
    if (st.position != f->state.position || strcmp(st.last_id, f->state.last_id) != 0) {
        f->verified = st.position == 0;
        f->head_etag[0] = '\0';
        *changed = 1;
    }
    f->state = st;
    return FR_OK;
}

/*
 * The URL of the archive page that should hold target, built from the
 * pageSize hint and the head's prev-archive link prev, or NULL (walk
 * instead) unless prev has the shape ".../pages/N", N agrees with the hint
 * and the head, and the page is before N. *page gets its number.
 */
static char *jump_url(struct fr_follower *f, const char *prev, int64_t target, int64_t *page)
{
    int64_t p = f->doc.page_size, n, k;
    size_t plen;
    char *u;

    if (f->no_jump || p <= 0 || f->head_first <= 1 || target < 1 ||
        !fr__url_page_pattern(prev, &plen, &n) || plen + 20 > FR__URL_MAX ||
        n > INT64_MAX / p - 1 || (n + 1) * p != f->head_first - 1)
        return NULL;
    k = (target - 1) / p;
    if (k >= n)
        return NULL;
    u = malloc(plen + 24);
    if (!u)
        return NULL;
    if (snprintf(u, plen + 24, "%.*s%lld", (int)plen, prev, (long long)k) >= (int)(plen + 24)) {
        free(u);
        return NULL;
    }
    *page = k;
    return u;
}

/* Calls the hook of fr_follower_at_head(), if any, once a head document is
 * applied and committed; FR_OK, or the error refusal() makes of its
 * answer. The head's ETag is not kept then, so that the next step fetches
 * the head in full and calls the hook again. */
static enum fr_error at_head(struct fr_follower *f)
{
    char why[256] = "", what[64];
    int r;

    if (!f->at_head)
        return FR_OK;
    r = f->at_head(f->cfg.db, f->state.position, why, sizeof why, f->at_head_userdata);
    if (r == FR_HANDLER_OK)
        return FR_OK;
    snprintf(what, sizeof what, "the head hook at position %lld", (long long)f->state.position);
    return refusal(f, r, what, why, sizeof why);
}

/* A head document (from url, its links resolved): applies what it holds
 * after the stored position, or starts the walk back through the archive. */
static enum fr_error on_head(struct fr_follower *f, const char *url, char *links[FR__NRELS])
{
    const struct fr__doc *d = &f->doc;
    const char *prev = links[FR__REL_PREV];
    int64_t pos = f->state.position, head, first, target, k = -1;
    size_t n = d->nentries, applied = 0;
    char *msg = f->last_error, *jump;
    size_t msg_size = sizeof f->last_error;
    enum fr_error err;

    go_head(f);
    if (n > 0) {
        head = d->entries[n - 1].pub.position;
        first = d->entries[0].pub.position;
        if (d->head >= 0 && d->head != head) {
            snprintf(msg, msg_size, "%.200s: head entries do not end at the head position %lld",
                     url, (long long)d->head);
            return FR_ERR_PARSE;
        }
    } else if (d->head >= 0) {
        head = d->head;
        first = head + 1;
    } else if (!prev) {
        head = 0;
        first = 1;
    } else if (f->empty_head_prev && strcmp(prev, f->empty_head_prev) == 0) {
        head = f->empty_head_prev_last;
        first = head + 1;
    } else {
        /* Known once the head's prev-archive page is read. */
        head = -1;
        first = 0;
    }
    if (head >= 0 && head < pos) {
        snprintf(msg, msg_size,
                 "feed went backwards: its head is %lld but position %lld was applied"
                 " (was the producer's database restored?)",
                 (long long)head, (long long)pos);
        return FR_ERR_BACKWARDS;
    }
    f->head_first = first;
    f->head_etag[0] = '\0';
    if ((n > 0 && first <= pos + (f->verified ? 1 : 0)) || (head == pos && f->verified)) {
        err = apply(f, head, 1, &applied);
        if (err)
            return err;
        err = at_head(f);
        if (err)
            return err;
        if (f->state.position == head && f->verified)
            snprintf(f->head_etag, sizeof f->head_etag, "%s", f->fetch.etag);
        f->idle = applied == 0;
        return FR_OK;
    }
    /* Behind: the pages before the head come first. */
    if (head >= 0)
        f->state.head = head;
    target = f->verified ? pos + 1 : pos;
    if (!prev) {
        snprintf(msg, msg_size,
                 "%.200s: the head starts at position %lld and links to no prev-archive page:"
                 " position %lld is not in the feed",
                 url, (long long)first, (long long)target);
        return FR_ERR_PARSE;
    }
    f->hops = 0;
    jump = head >= 0 ? jump_url(f, prev, target, &k) : NULL;
    if (jump) {
        go_page(f, jump, 0, 0);
        f->jump_page = k;
        f->jump_size = d->page_size;
    } else {
        go_page(f, links[FR__REL_PREV], -1, first > 0 ? first - 1 : 0);
        links[FR__REL_PREV] = NULL;
        f->page_from_head = head < 0;
    }
    return FR_OK;
}

/* An archive page (from url, its links resolved): checks that it continues
 * the walk, applies it if it holds the target, and moves on. */
static enum fr_error on_page(struct fr_follower *f, const char *url, char *links[FR__NRELS])
{
    const struct fr__doc *d = &f->doc;
    int64_t pos = f->state.position, a, b, target;
    size_t n = d->nentries, applied = 0;
    char *msg = f->last_error;
    size_t msg_size = sizeof f->last_error;
    enum fr_error err;

    if (n == 0) {
        snprintf(msg, msg_size, "%.200s: an archive page with no entries", url);
        go_head(f);
        return FR_ERR_PARSE;
    }
    a = d->entries[0].pub.position;
    b = d->entries[n - 1].pub.position;
    if (f->page_dir < 0 && f->page_expect > 0 && b != f->page_expect) {
        snprintf(msg, msg_size,
                 "%.200s: reached by prev-archive from the document that starts at position %lld,"
                 " the page ends at %lld",
                 url, (long long)(f->page_expect + 1), (long long)b);
        go_head(f);
        return FR_ERR_PARSE;
    }
    if (f->page_dir > 0 && a != f->page_expect) {
        snprintf(msg, msg_size,
                 "%.200s: reached by next-archive from the page that ends at position %lld,"
                 " the page starts at %lld",
                 url, (long long)(f->page_expect - 1), (long long)a);
        go_head(f);
        return FR_ERR_PARSE;
    }
    if (f->jump_page >= 0 && (a != f->jump_page * f->jump_size + 1 || (int64_t)n != f->jump_size)) {
        char first[24], entries[24], page_size[24];

        f->no_jump = 1;
        fr__log(&f->cfg, FR_LOG_INFO, "the pageSize hint does not match the page; following links",
                "page", url, "first", num(first, a), "entries", num(entries, (long long)n),
                "page_size", num(page_size, f->jump_size), NULL);
    }
    if (f->page_from_head) {
        /* The head was empty and said nothing: its position is this page's
         * last (archive pages never change). */
        char *copy = strdup(url);

        if (!copy)
            return FR_ERR_NOMEM;
        free(f->empty_head_prev);
        f->empty_head_prev = copy;
        f->empty_head_prev_last = b;
        f->head_first = b + 1;
        if (b < pos) {
            snprintf(msg, msg_size,
                     "feed went backwards: its head is %lld but position %lld was applied"
                     " (was the producer's database restored?)",
                     (long long)b, (long long)pos);
            go_head(f);
            return FR_ERR_BACKWARDS;
        }
        f->state.head = b;
    }
    target = pos + (f->verified ? 1 : 0);
    if (target < a) {
        if (!links[FR__REL_PREV]) {
            snprintf(msg, msg_size,
                     "%.200s: the oldest archive page starts at position %lld: position %lld is not"
                     " in the feed",
                     url, (long long)a, (long long)target);
            go_head(f);
            return FR_ERR_PARSE;
        }
        if (++f->hops > MAX_HOPS) {
            snprintf(msg, msg_size, "%.200s: more than %lu prev-archive links followed", url,
                     MAX_HOPS);
            go_head(f);
            return FR_ERR_PARSE;
        }
        go_page(f, links[FR__REL_PREV], -1, a - 1);
        links[FR__REL_PREV] = NULL;
        return FR_OK;
    }
    if (target <= b) {
        /* The next page, and the one after it when its URL can be told
         * from the links' shape and it is before the head, are fetched
         * while this one is applied. */
        if (links[FR__REL_NEXT] && !(f->head_first > 0 && b + 1 >= f->head_first)) {
            char after[FR__URL_MAX + 1];

            ahead_start(f, links[FR__REL_NEXT], 1);
            for (int j = 2;
                 j <= FR__AHEAD && f->head_first > 0 && b + j * (int64_t)n < f->head_first &&
                 guess_ahead(url, links[FR__REL_NEXT], j, after, sizeof after);
                 j++)
                ahead_start(f, after, 0);
        }
        err = apply(f, f->state.head, 0, &applied);
        if (err) {
            /* Busy or unwritable: the same page again after the back-off. */
            if (err != FR_ERR_BUSY && err != FR_ERR_STORAGE)
                go_head(f);
            return err;
        }
    }
    if (!links[FR__REL_NEXT] || (f->head_first > 0 && b + 1 >= f->head_first)) {
        go_head(f);
    } else {
        go_page(f, links[FR__REL_NEXT], 1, b + 1);
        links[FR__REL_NEXT] = NULL;
    }
    return FR_OK;
}

/* Records a good poll of the head that brought nothing new (a 304), so an
 * idle follower does not look stale. Not worth waiting for a busy
 * database: the next poll records it. */
static void polled(struct fr_follower *f)
{
    char now[21];
    enum fr_error err;

    if (!f->store.feed_id[0])
        return;
    fr__now_rfc3339(now);
    f->busy_no_wait = 1;
    err = fr__store_polled(&f->store, now);
    f->busy_no_wait = 0;
    if (err == FR_ERR_DB)
        fr__log(&f->cfg, FR_LOG_WARN, f->store.msg, "what", "cannot record the poll", NULL);
}

/* One step with f->last_error cleared; see fr_follower_step(). */
static enum fr_error step(struct fr_follower *f, int wait)
{
    char url[FR__URL_MAX + 1], *links[FR__NRELS] = {NULL};
    int at_head = f->page_url == NULL, changed = 0;
    struct fr__fetch *fx = &f->fetch;
    struct fr__ahead *ahead = NULL;
    enum fr_error err;
    long status = 0;
    const char *etag = NULL;
    unsigned wait_s = 0;
    char *msg = f->last_error;
    size_t msg_size = sizeof f->last_error;

    f->idle = 0;
    snprintf(url, sizeof url, "%s", at_head ? f->head_url : f->page_url);
    if (at_head && f->head_etag[0]) {
        etag = f->head_etag;
        wait_s = wait ? f->cfg.wait : 0;
    }
    if (!at_head)
        ahead = ahead_take(f, url, &err, &status, msg, msg_size);
    if (!ahead)
        ahead_drop(f);
    if (ahead)
        fx = &ahead->fetch;
    else
        err = fr__fetch_get(&f->fetch, url, etag, wait_s, &status, msg, msg_size);
    if (err == FR_ERR_HTTP || err == FR_ERR_TOO_LARGE) {
        if (err == FR_ERR_HTTP && f->state.position > 0) {
            /* A producer that was unreachable may come back restored from
             * an old copy: check the id at the stored position again
             * first, walking from the head. */
            f->verified = 0;
            f->head_etag[0] = '\0';
        }
        go_head(f);
    }
    if (err)
        return err;
    if (status == 304) {
        f->idle = 1;
        polled(f);
        return FR_OK;
    }
    if (status == 404) {
        snprintf(msg, msg_size, "GET %.200s: not found", url);
        if (!at_head) {
            if (f->jump_page >= 0)
                f->no_jump = 1;
            go_head(f);
        }
        return FR_ERR_HTTP;
    }
    err = fr__atom_parse(&f->doc, dynbuf_ptr(&fx->body), dynbuf_len(&fx->body), url,
                         f->cfg.max_depth, msg, msg_size);
    if (err) {
        size_t n = strlen(msg);
        snprintf(msg + n, msg_size - n, " (%.200s)", url);
        go_head(f);
        return err;
    }
    err = resolve_links(f, url, links);
    if (err == FR_OK)
        err = check_feed(f, url, &changed);
    if (err || changed) {
        go_head(f);
        goto out;
    }
    if (links[FR__REL_CURRENT] && strcmp(links[FR__REL_CURRENT], f->head_url) != 0) {
        free(f->head_url);
        f->head_url = links[FR__REL_CURRENT];
        links[FR__REL_CURRENT] = NULL;
        f->head_etag[0] = '\0';
    }
    if (f->doc.archive && at_head) {
        snprintf(msg, msg_size, "%.200s is an archive page (fh:archive), not the head of a feed",
                 url);
        err = FR_ERR_PARSE;
    } else if (f->doc.archive) {
        err = on_page(f, url, links);
    } else {
        err = on_head(f, url, links);
    }
out:
    for (int i = 0; i < FR__NRELS; i++)
        free(links[i]);
    return err;
}

enum fr_error fr_follower_step(struct fr_follower *f, int wait)
{
    enum fr_error err;

    f->last_error[0] = '\0';
    if (f->stop)
        return FR_ERR_STOPPED;
    err = step(f, wait);
    if (err == FR_OK && !f->answered) {
        f->answered = 1;
        if (f->waiting_logged)
            fr__log(&f->cfg, FR_LOG_INFO, "the producer answers", NULL);
    }
    return record(f, err);
}

/* After a long-poll that found nothing new: enters cache mode when the
 * wait was not honoured (no Preference-Applied), leaves it when it was,
 * and logs each switch once. */
static void note_long_poll(struct fr_follower *f)
{
    if (!f->fetch.wait_applied && !f->cache_mode) {
        f->cache_mode = 1;
        fr__log(&f->cfg, FR_LOG_WARN,
                "long-poll not honoured (answered without Preference-Applied, as by a cache):"
                " polling the head about once a second",
                NULL);
    } else if (f->fetch.wait_applied && f->cache_mode) {
        f->cache_mode = 0;
        fr__log(&f->cfg, FR_LOG_INFO, "long-poll honoured again: long-polling the head", NULL);
    }
}

enum fr_error fr_follower_run(struct fr_follower *f)
{
    int polling = f->cfg.poll_interval > 0;
    char position[24];

    fr__log(&f->cfg, FR_LOG_INFO, "following", "position", num(position, f->state.position), "mode",
            polling ? "poll" : "long-poll", NULL);
    fr__backoff_reset(&f->backoff);
    while (!f->stop) {
        int64_t t0 = now_ms(), before = f->state.position;
        int long_poll = !polling && f->head_etag[0];
        enum fr_error err = fr_follower_step(f, !polling);

        if (err == FR_ERR_STOPPED)
            break;
        if (is_fatal(err))
            return err;
        if (err) {
            if (fr__sleep(fr__backoff_next(&f->backoff), f->pipe[0], &f->stop))
                break;
            continue;
        }
        /* Only progress ends a back-off: being caught up at the head, or
         * entries applied. A good head that sends us back to a page that
         * fails (a stale 404 kept by a cache) must not make us spin. */
        if (f->idle || f->state.position != before)
            fr__backoff_reset(&f->backoff);
        if (long_poll && f->idle)
            note_long_poll(f);
        if (!f->idle)
            continue;
        if (polling) {
            if (fr__sleep(f->cfg.poll_interval * 1000u, f->pipe[0], &f->stop))
                break;
        } else if (!f->head_etag[0]) {
            /* A head served without an ETag cannot be long-polled: ask for
             * it about once a second rather than in a tight loop. */
            if (fr__sleep(1000, f->pipe[0], &f->stop))
                break;
        } else if (long_poll && f->cache_mode && now_ms() - t0 < 1000) {
            /* A producer (or cache) that does not hold long-polls: the
             * head about once a second, still asking for a wait so that
             * one honoured again is seen; a plain GET that found nothing
             * is followed by a long-poll at once. */
            if (fr__sleep((unsigned)(1000 - (now_ms() - t0)), f->pipe[0], &f->stop))
                break;
        }
    }
    fr__log(&f->cfg, FR_LOG_INFO, "stopped", "position", num(position, f->state.position), NULL);
    return FR_ERR_STOPPED;
}
