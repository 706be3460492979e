#include "retry_worker.h"

#include "analyses.h"
#include "feedserver.h"
#include "log.h"
#include "sessions.h"
#include "strbuf.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Analyses tried per round. */
#define BATCH 32

struct retry_worker {
    /* the worker's own connection */
    sqlite3 *db;
    struct analysis_runner *runner;
    struct key_vault *vault;
    /* the longest pause between attempts while failing */
    unsigned max_ms;
    pthread_t thread;
    /* guards stop and woken */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop;
    int woken;
    /* rounds finished so far */
    atomic_ulong rounds;
};

/* Waits up to ms for a wake or a stop; returns non-zero when stopping. */
static int pause_ms(struct retry_worker *w, unsigned ms)
{
    struct timespec until;
    int stop;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->lock);
    while (!w->stop && !w->woken)
        if (pthread_cond_timedwait(&w->cond, &w->lock, &until) == ETIMEDOUT)
            break;
    w->woken = 0;
    stop = w->stop;
    pthread_mutex_unlock(&w->lock);
    return stop;
}

static int stopping(struct retry_worker *w)
{
    int stop;

    pthread_mutex_lock(&w->lock);
    stop = w->stop;
    pthread_mutex_unlock(&w->lock);
    return stop;
}

/*
 * Runs the queued analyses of one session's user with its key. Returns 1
 * when the Cloud API could not be reached, 0 otherwise. A session found
 * ended loses its key.
 */
static int run_for_session(struct retry_worker *w, const char *hash)
{
    char ids[BATCH][ANALYSIS_ID_SIZE];
    char key[LOGIN_KEY_MAX + 1];
    struct user_ref u;
    int live, n, unreachable = 0;

    live = session_user(w->db, hash, &u);
    if (live == 0)
        vault_forget(w->vault, hash);
    if (live <= 0)
        return 0;
    if (vault_get(w->vault, hash, key)) {
        n = analyses_queued(w->db, &u, ids, BATCH);
        for (int i = 0; i < n && !unreachable && !stopping(w); i++)
            unreachable = runner_run(w->runner, w->db, ids[i], key, NULL, 0) == RUN_QUEUED;
    }
    {
        volatile char *p = key;
        for (size_t i = 0; i < sizeof key; i++)
            p[i] = '\0';
    }
    user_ref_release(&u);
    return unreachable;
}

/*
 * One pass: drops expired sessions, then runs the queued analyses of the
 * users whose sessions hold a key (up to BATCH sessions a round, rotating),
 * so analyses of signed-out users never hold up the others'. Returns 1 when
 * the Cloud API could not be reached (the caller backs off), 0 otherwise.
 */
static int round_once(struct retry_worker *w)
{
    char hashes[BATCH][65];
    size_t n;
    int unreachable = 0;

    sessions_purge_expired(w->db);
    n = vault_hashes(w->vault, hashes, BATCH);
    for (size_t i = 0; i < n && !unreachable && !stopping(w); i++)
        unreachable = run_for_session(w, hashes[i]);
    return unreachable;
}

static void *worker_main(void *arg)
{
    struct retry_worker *w = arg;
    unsigned delay = RETRY_MIN_MS, backoff = RETRY_MIN_MS;

    while (!pause_ms(w, delay)) {
        int unreachable = round_once(w);

        atomic_fetch_add(&w->rounds, 1);
        if (unreachable) {
            delay = backoff;
            backoff = backoff * 2 < w->max_ms ? backoff * 2 : w->max_ms;
        } else {
            backoff = RETRY_MIN_MS;
            delay = RETRY_IDLE_MS;
        }
    }
    return NULL;
}

struct retry_worker *retry_worker_start(const char *db_path, struct analysis_runner *runner,
                                        struct key_vault *vault, unsigned max_ms)
{
    struct retry_worker *w = xmalloc(sizeof *w);
    pthread_condattr_t attr;
    enum fs_error err;

    memset(w, 0, sizeof *w);
    w->runner = runner;
    w->vault = vault;
    w->max_ms = max_ms < RETRY_MIN_MS ? RETRY_MIN_MS : max_ms;
    err = fs_db_open(db_path, &w->db);
    if (err != FS_OK) {
        log_error("retry worker cannot open the database", "db=%s error=\"%s\"", db_path,
                  fs_strerror(err));
        free(w);
        return NULL;
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        log_error("cannot start the retry worker", NULL);
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
        sqlite3_close(w->db);
        free(w);
        return NULL;
    }
    return w;
}

unsigned long retry_worker_rounds(struct retry_worker *w)
{
    return w ? atomic_load(&w->rounds) : 0;
}

void retry_worker_wake(struct retry_worker *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->woken = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

void retry_worker_stop(struct retry_worker *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    sqlite3_close(w->db);
    free(w);
}
