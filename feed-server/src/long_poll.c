#include "long_poll.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "feed_http.h"
#include "log.h"
#include "pool.h"

/* Takes req out of the list and resumes its connection; lock held. */
static void resume(struct fs_request *req)
{
    struct fs_server *s = req->server;

    if (req->wprev)
        req->wprev->wnext = req->wnext;
    else
        s->waiters = req->wnext;
    if (req->wnext)
        req->wnext->wprev = req->wprev;
    req->wprev = req->wnext = NULL;
    req->held = 0;
    req->resumed = 1;
    atomic_fetch_sub(&s->held, 1);
    MHD_resume_connection(req->conn);
}

void fs__long_poll_hold(struct fs_request *req, unsigned wait_s)
{
    struct fs_server *s = req->server;

    req->wait_s = wait_s;
    req->deadline_ms = fs__now_ms() + (int64_t)wait_s * 1000;
    req->held = 1;
    req->wprev = NULL;
    req->wnext = s->waiters;
    if (s->waiters)
        s->waiters->wprev = req;
    s->waiters = req;
    atomic_fetch_add(&s->held, 1);
    MHD_suspend_connection(req->conn);
}

void fs__long_poll_forget(struct fs_request *req)
{
    struct fs_server *s = req->server;

    pthread_mutex_lock(&s->lock);
    if (req->held) {
        if (req->wprev)
            req->wprev->wnext = req->wnext;
        else
            s->waiters = req->wnext;
        if (req->wnext)
            req->wnext->wprev = req->wprev;
        req->held = 0;
        atomic_fetch_sub(&s->held, 1);
    }
    pthread_mutex_unlock(&s->lock);
}

/* The watcher's own connection (with its handles on the served feeds), and
 * its look at data_version. */
struct watch {
    struct fs__conn *c;
    sqlite3_stmt *version;
};

static void watch_close(struct watch *w)
{
    sqlite3_finalize(w->version);
    fs__conn_close(w->c);
    memset(w, 0, sizeof *w);
}

static int watch_open(struct fs_server *s, struct watch *w)
{
    memset(w, 0, sizeof *w);
    w->c = fs__conn_open(s);
    if (!w->c)
        return -1;
    if (sqlite3_prepare_v2(w->c->db, "PRAGMA data_version", -1, &w->version, NULL) != SQLITE_OK) {
        fs__log_db(&s->cfg, w->c->db, "watcher cannot prepare", NULL);
        watch_close(w);
        return -1;
    }
    return 0;
}

/* Reads data_version; -1 on error. */
static int64_t data_version(struct watch *w)
{
    int64_t v = -1;

    if (sqlite3_step(w->version) == SQLITE_ROW)
        v = sqlite3_column_int64(w->version, 0);
    sqlite3_reset(w->version);
    return v;
}

/*
 * Re-reads every served feed's newest entry on c and records those that
 * moved, waking their waiters. Refreshes are serialised by refresh_lock
 * from the read to the record, so a refresh that read an older head can
 * never record it after one that read a newer head. Returns -1 if the
 * database could not be read (not logged here: the watcher logs once per
 * failure, not every few milliseconds).
 */
static int refresh_heads(struct fs_server *s, struct fs__conn *c)
{
    int rc = 0;

    pthread_mutex_lock(&s->refresh_lock);
    for (size_t i = 0; i < s->nfeeds && rc == 0; i++) {
        struct fs__served_feed *f = &s->feeds[i];
        struct fs_feed *feed = fs__conn_feed(s, c, i);
        char id[sizeof f->head_id];
        int64_t head;

        if (!feed || fs__feed_newest(feed, &head, id, sizeof id) != FS_OK) {
            rc = -1;
            break;
        }
        pthread_mutex_lock(&s->lock);
        if (head != f->head || strcmp(id, f->head_id) != 0) {
            fs__feed_set_head(f, head, id);
            for (struct fs_request *r = s->waiters, *next; r; r = next) {
                next = r->wnext;
                if (r->feed == f) {
                    atomic_fetch_add(&s->woken, 1);
                    resume(r);
                }
            }
        }
        pthread_mutex_unlock(&s->lock);
    }
    pthread_mutex_unlock(&s->refresh_lock);
    return rc;
}

void fs__heads_refresh(struct fs_server *s, struct fs__conn *c)
{
    if (s->watcher_started && refresh_heads(s, c) != 0)
        fs__log_db(&s->cfg, c->db,
                   "cannot read feed heads after a write; the watcher will catch up", NULL);
}

static void *watcher_main(void *arg)
{
    struct fs_server *s = arg;
    struct watch w;
    int64_t seen = -1;
    int failing = 0;
    struct timespec pause = {0, FS_WATCH_INTERVAL_MS * 1000000L};

    if (watch_open(s, &w) != 0)
        return NULL;
    while (!atomic_load(&s->stopping)) {
        int64_t v = data_version(&w), now;

        if (v != seen) {
            if (refresh_heads(s, w.c) == 0) {
                seen = v;
                if (failing)
                    fs__log(&s->cfg, FS_LOG_INFO, "watcher reads the feeds again", NULL);
                failing = 0;
            } else if (!failing) {
                fs__log_db(&s->cfg, w.c->db, "watcher cannot read feed heads; retrying", NULL);
                failing = 1;
            }
        }
        now = fs__now_ms();
        pthread_mutex_lock(&s->lock);
        for (struct fs_request *r = s->waiters, *next; r; r = next) {
            next = r->wnext;
            if (r->deadline_ms <= now)
                resume(r);
        }
        pthread_mutex_unlock(&s->lock);
        nanosleep(&pause, NULL);
    }
    watch_close(&w);
    return NULL;
}

enum fs_error fs__watcher_start(struct fs_server *s)
{
    struct watch w;
    int rc;

    if (watch_open(s, &w) != 0)
        return FS_ERR_DB;
    rc = refresh_heads(s, w.c);
    if (rc != 0)
        fs__log_db(&s->cfg, w.c->db, "cannot read feed heads", NULL);
    watch_close(&w);
    if (rc != 0)
        return FS_ERR_DB;
    if (pthread_create(&s->watcher, NULL, watcher_main, s) != 0)
        return FS_ERR_NOMEM;
    s->watcher_started = 1;
    return FS_OK;
}

void fs__watcher_stop(struct fs_server *s)
{
    atomic_store(&s->stopping, 1);
    if (s->watcher_started) {
        pthread_join(s->watcher, NULL);
        s->watcher_started = 0;
    }
    pthread_mutex_lock(&s->lock);
    while (s->waiters)
        resume(s->waiters);
    pthread_mutex_unlock(&s->lock);
}
