#include "follow.h"

#include <errno.h>
#include <fcntl.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

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
    }
    return "unknown error";
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

/*
 * The busy handler of the consumer's connection: like sqlite3_busy_timeout()
 * (short sleeps, growing to 100 ms) for at most cfg.busy_timeout_ms, but it
 * gives up at once when the follower is asked to stop, or while it records
 * an error that may as well wait for the next transaction.
 */
static int on_busy(void *userdata, int count)
{
    static const int delays[] = {1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100};
    struct fr_follower *f = userdata;
    int64_t t = now_ms();

    if (count == 0)
        f->busy_since = t;
    if (f->stop || f->busy_no_wait || t - f->busy_since >= (int64_t)f->cfg.busy_timeout_ms)
        return 0;
    sqlite3_sleep(count < (int)(sizeof delays / sizeof delays[0]) ? delays[count] : 100);
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

enum fr_error fr_follower_open(const struct fr_config *cfg, struct fr_follower **out)
{
    struct fr_follower *f = NULL;
    enum fr_error err = FR_ERR_INVALID;
    size_t n;

    *out = NULL;
    if (!cfg || !cfg->db || !cfg->feed_url ||
        (strncmp(cfg->feed_url, "http://", 7) != 0 && strncmp(cfg->feed_url, "https://", 8) != 0))
        return FR_ERR_INVALID;
    n = strlen(cfg->feed_url);
    while (n > 0 && cfg->feed_url[n - 1] == '/')
        n--;
    if (n < 8 || strpbrk(cfg->feed_url, " \r\n\t"))
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
    f->url_size = n + 32;
    f->url = malloc(f->url_size);
    if (!f->feed_url || !f->url) {
        err = FR_ERR_NOMEM;
        goto fail;
    }
    f->cfg.feed_url = f->feed_url;
    f->cfg.token = NULL;
    fr__doc_init(&f->doc);
    fr__backoff_init(&f->backoff, cfg->max_backoff_ms);
    if (pipe2(f->pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        f->pipe[0] = f->pipe[1] = -1;
        err = FR_ERR_NOMEM;
        goto fail;
    }
    err = fr__fetch_init(&f->fetch, cfg, &f->stop);
    if (err)
        goto fail;
    f->saved_busy_timeout = busy_timeout_of(cfg->db);
    sqlite3_busy_handler(cfg->db, on_busy, f);
    err = fr__store_open(&f->store, cfg->db, f->feed_url, &f->state);
    if (err) {
        fr__log("error", f->feed_url, f->store.msg, " error=\"%s\"", fr_strerror(err));
        goto fail;
    }
    f->verified = f->state.position == 0;
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
    fr__fetch_release(&f->fetch);
    fr__doc_release(&f->doc);
    for (size_t i = 0; i < f->nhandlers; i++)
        free(f->handlers[i].type);
    free(f->handlers);
    free(f->feed_url);
    free(f->url);
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
    char now[21];

    if (err == FR_OK || err == FR_ERR_STOPPED)
        return err;
    if (!f->last_error[0])
        snprintf(f->last_error, sizeof f->last_error, "%s", fr_strerror(err));
    fr__log(is_fatal(err) ? "fatal" : "error", f->feed_url, f->last_error,
            " error=\"%s\" position=%lld", fr_strerror(err), (long long)f->state.position);
    if (err == FR_ERR_DB || err == FR_ERR_NOMEM)
        return err;
    fr__now_rfc3339(now);
    f->busy_no_wait = err == FR_ERR_BUSY;
    werr = fr__store_error(&f->store, f->last_error, now, 1 + f->pending_errors);
    f->busy_no_wait = 0;
    if (werr == FR_OK) {
        f->pending_errors = 0;
    } else if (werr == FR_ERR_BUSY) {
        f->pending_errors++;
        snprintf(f->pending_error, sizeof f->pending_error, "%s", f->last_error);
        memcpy(f->pending_at, now, sizeof now);
    } else {
        fr__log("error", f->feed_url, f->store.msg, " what=\"cannot record the error\"");
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

/*
 * Calls the handler of e (skipping a type without one: *skipped grows).
 * Returns FR_OK, FR_ERR_BUSY (the handler asked to retry, or refused after
 * a busy statement) or FR_ERR_REFUSED, with f->last_error set.
 */
static enum fr_error handle(struct fr_follower *f, const struct fr_entry *e, int64_t *skipped)
{
    char why[256] = "";
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
    why[sizeof why - 1] = '\0';
    if (r == FR_HANDLER_RETRY) {
        snprintf(f->last_error, sizeof f->last_error,
                 "entry %lld (%.64s, %.80s) not applied yet, the handler asked to retry: %s",
                 (long long)e->position, e->type, e->id, why[0] ? why : "no reason given");
        return FR_ERR_BUSY;
    }
    if (db_busy(f->cfg.db)) {
        snprintf(f->last_error, sizeof f->last_error,
                 "entry %lld (%.64s, %.80s) not applied yet, the database is busy (%.80s): %s",
                 (long long)e->position, e->type, e->id, sqlite3_errmsg(f->cfg.db),
                 why[0] ? why : "no reason given");
        return FR_ERR_BUSY;
    }
    snprintf(f->last_error, sizeof f->last_error, "handler refused entry %lld (%.64s, %.80s): %s",
             (long long)e->position, e->type, e->id, why[0] ? why : "no reason given");
    return FR_ERR_REFUSED;
}

/*
 * Applies the entries of f->doc after the stored position, and stores the
 * new position, head and counters (and the errors kept while the database
 * was busy), all in one transaction. The stored state is read again inside
 * the transaction, so two followers of one feed on one database never apply
 * an entry twice. An entry at the stored position with another id is
 * FR_ERR_BACKWARDS; a handler's refusal FR_ERR_REFUSED, a busy database
 * FR_ERR_BUSY; in every such case nothing of the document is applied.
 * *applied gets the number of entries applied or skipped.
 */
static enum fr_error apply(struct fr_follower *f, int64_t head, size_t *applied)
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
    err = fr__store_save(&f->store, &st);
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
    if (n > 0)
        fr__log("info", f->feed_url, "applied page", " from=%lld to=%lld skipped=%lld head=%lld",
                (long long)from, (long long)st.position, (long long)(st.skipped - skipped0),
                (long long)st.head);
    return FR_OK;
fail_store:
    snprintf(f->last_error, sizeof f->last_error, "%s", f->store.msg);
fail:
    fr__store_rollback(&f->store);
    return err;
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
            /* An archive page: a bad document; the head, at the URL the
             * state belongs to, tells. */
            f->force_head = 1;
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
        /* The id comes from the network: it goes in the quoted message. */
        char note[400];

        snprintf(note, sizeof note, "following feed %.200s", id);
        fr__log("info", f->feed_url, note, " row=%s position=%lld", hows[how],
                (long long)st.position);
    }
    if (st.position != f->state.position || strcmp(st.last_id, f->state.last_id) != 0) {
        f->verified = st.position == 0;
        f->head_etag[0] = '\0';
        *changed = 1;
    }
    f->state = st;
    return FR_OK;
}

static void set_url(struct fr_follower *f, int64_t page)
{
    if (page < 0)
        snprintf(f->url, f->url_size, "%s", f->feed_url);
    else
        snprintf(f->url, f->url_size, "%s/pages/%lld", f->feed_url, (long long)page);
}

/* One step with f->last_error cleared; see fr_follower_step(). */
static enum fr_error step(struct fr_follower *f, int wait)
{
    enum fr_error err;
    int64_t pos = f->state.position, page = -1, p = f->page_size;
    long status = 0;
    size_t applied = 0;
    const char *etag = NULL;
    unsigned wait_s = 0;
    char *msg = f->last_error;
    size_t msg_size = sizeof f->last_error;
    int changed = 0;

    f->idle = 0;
    if (p > 0 && !f->force_head) {
        int64_t k = (!f->verified && pos > 0) ? (pos - 1) / p : pos / p;
        if ((k + 1) * p <= f->state.head)
            page = k;
    }
    set_url(f, page);
    if (page < 0 && f->head_etag[0]) {
        etag = f->head_etag;
        wait_s = wait ? f->cfg.wait : 0;
    }
    err = fr__fetch_get(&f->fetch, f->url, etag, wait_s, &status, msg, msg_size);
    if (err == FR_ERR_HTTP && pos > 0) {
        /* A producer that was unreachable may come back restored from an
         * old copy: check the id at the stored position again first. */
        f->verified = 0;
        f->head_etag[0] = '\0';
    }
    if (err)
        return err;
    if (status == 304) {
        f->idle = 1;
        return FR_OK;
    }
    if (status == 404) {
        snprintf(msg, msg_size, "GET %s: not found", f->url);
        if (page >= 0)
            f->force_head = 1;
        return FR_ERR_HTTP;
    }
    err = fr__atom_parse(&f->doc, f->fetch.body, f->fetch.len, f->url, f->cfg.max_depth, msg,
                         msg_size);
    if (err) {
        size_t n = strlen(msg);
        snprintf(msg + n, msg_size - n, " (%s)", f->url);
        return err;
    }
    err = check_feed(f, f->url, &changed);
    if (err || changed) {
        /* Another position: start again from the head. */
        f->force_head = 1;
        return err;
    }
    if (f->doc.page_size <= 0) {
        snprintf(msg, msg_size, "%s: no pageSize", f->url);
        return FR_ERR_PARSE;
    }
    if (p > 0 && f->doc.page_size != p) {
        snprintf(msg, msg_size, "%s: page size changed from %lld to %lld", f->url, (long long)p,
                 (long long)f->doc.page_size);
        return FR_ERR_PARSE;
    }
    p = f->doc.page_size;

    if (page >= 0) {
        const struct fr__entry *e = f->doc.entries;
        if ((int64_t)f->doc.nentries != p || e[0].pub.position != page * p + 1) {
            snprintf(msg, msg_size, "%s: archive page does not hold positions %lld..%lld", f->url,
                     (long long)(page * p + 1), (long long)(page * p + p));
            return FR_ERR_PARSE;
        }
        err = apply(f, f->state.head, &applied);
        if (err)
            return err;
        /* The head may have moved on since; it was read and applied only
         * if we were caught up, so a stale ETag cannot hide anything. */
        return FR_OK;
    }

    f->force_head = 0;
    f->page_size = p;
    if (f->doc.head < 0) {
        snprintf(msg, msg_size, "%s: the head document has no head position", f->url);
        return FR_ERR_PARSE;
    }
    if (f->doc.nentries > 0 && f->doc.entries[f->doc.nentries - 1].pub.position != f->doc.head) {
        snprintf(msg, msg_size, "%s: head entries do not end at the head position %lld", f->url,
                 (long long)f->doc.head);
        return FR_ERR_PARSE;
    }
    if (f->doc.head < pos) {
        snprintf(msg, msg_size,
                 "feed went backwards: its head is %lld but position %lld was applied"
                 " (was the producer's database restored?)",
                 (long long)f->doc.head, (long long)pos);
        return FR_ERR_BACKWARDS;
    }
    f->head_etag[0] = '\0';
    if ((f->doc.nentries > 0 && f->doc.entries[0].pub.position <= pos + (f->verified ? 1 : 0)) ||
        (f->doc.head == pos && f->verified)) {
        err = apply(f, f->doc.head, &applied);
        if (err)
            return err;
        if (f->state.position == f->doc.head && f->verified)
            snprintf(f->head_etag, sizeof f->head_etag, "%s", f->fetch.etag);
        f->idle = applied == 0;
    } else {
        /* Behind: the pages before the head come first. */
        f->state.head = f->doc.head;
    }
    return FR_OK;
}

enum fr_error fr_follower_step(struct fr_follower *f, int wait)
{
    f->last_error[0] = '\0';
    if (f->stop)
        return FR_ERR_STOPPED;
    return record(f, step(f, wait));
}

enum fr_error fr_follower_run(struct fr_follower *f)
{
    int polling = f->cfg.poll_interval > 0;

    fr__log("info", f->feed_url, "following", " position=%lld mode=%s",
            (long long)f->state.position, polling ? "poll" : "long-poll");
    fr__backoff_reset(&f->backoff);
    while (!f->stop) {
        int64_t t0 = now_ms();
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
        fr__backoff_reset(&f->backoff);
        if (!f->idle)
            continue;
        if (polling) {
            if (fr__sleep(f->cfg.poll_interval * 1000u, f->pipe[0], &f->stop))
                break;
        } else if (long_poll && now_ms() - t0 < 1000) {
            /* A producer (or cache) that does not hold long-polls must not
             * make us spin; a plain GET that found nothing is followed by a
             * long-poll at once. */
            if (fr__sleep(250, f->pipe[0], &f->stop))
                break;
        }
    }
    fr__log("info", f->feed_url, "stopped", " position=%lld", (long long)f->state.position);
    return FR_ERR_STOPPED;
}
