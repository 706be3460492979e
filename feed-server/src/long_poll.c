#include "long_poll.h"

#include <string.h>
#include <time.h>

#include "feed_http.h"
#include "log.h"

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

/* The watcher's own connection and statements. */
struct watch {
    sqlite3 *db;
    sqlite3_stmt *version;
    sqlite3_stmt *head;
};

static void watch_close(struct watch *w)
{
    sqlite3_finalize(w->version);
    sqlite3_finalize(w->head);
    sqlite3_close(w->db);
    memset(w, 0, sizeof *w);
}

static int watch_open(struct fs_server *s, struct watch *w)
{
    memset(w, 0, sizeof *w);
    if (fs_db_open(s->db_path, &w->db) != FS_OK)
        return -1;
    if (sqlite3_prepare_v2(w->db, "PRAGMA data_version", -1, &w->version, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(w->db, "SELECT max(position) FROM fs_entries WHERE feed = ?1", -1,
                           &w->head, NULL) != SQLITE_OK) {
        fs__log_db(w->db, "watcher cannot prepare");
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

/* Re-reads every served feed's head and wakes the waiters of those that
 * moved. Returns -1 if the database could not be read (not logged here: the
 * caller logs once per failure, not every few milliseconds). */
static int refresh_heads(struct fs_server *s, struct watch *w)
{
    for (size_t i = 0; i < s->nfeeds; i++) {
        struct fs__feed *f = &s->feeds[i];
        int64_t head;
        int rc;

        sqlite3_bind_text(w->head, 1, f->meta.name, -1, SQLITE_STATIC);
        rc = sqlite3_step(w->head);
        head = sqlite3_column_int64(w->head, 0);
        sqlite3_reset(w->head);
        if (rc != SQLITE_ROW)
            return -1;
        pthread_mutex_lock(&s->lock);
        if (head != f->head) {
            fs__feed_set_head(f, head);
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
    return 0;
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
            if (refresh_heads(s, &w) == 0) {
                seen = v;
                if (failing)
                    fs__log("info", "watcher reads the feeds again", NULL);
                failing = 0;
            } else if (!failing) {
                fs__log_db(w.db, "watcher cannot read feed heads; retrying");
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
    rc = refresh_heads(s, &w);
    if (rc != 0)
        fs__log_db(w.db, "cannot read feed heads");
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
