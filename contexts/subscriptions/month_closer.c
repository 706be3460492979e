#include "month_closer.h"

#include "invoices.h"
#include "log.h"
#include "strbuf.h"

#include <errno.h>
#include <feedserver.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

struct month_closer {
    char *db_path;           /* the database file, owned */
    unsigned interval;       /* seconds between checks */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;     /* signalled by month_closer_stop() */
    int stopping;            /* set under lock by month_closer_stop() */
    atomic_ulong rounds;     /* checks finished so far */
};

static void close_ended_months(const char *db_path)
{
    sqlite3 *db = NULL;
    int n;

    if (fs_db_open(db_path, &db) != FS_OK) {
        log_error("month closer cannot open database", "db=%s", db_path);
        goto out;
    }
    n = invoices_close_past_months(db);
    if (n > 0)
        log_info("months closed", "count=%d", n);
out:
    sqlite3_close(db);
}

static void *run(void *arg)
{
    struct month_closer *mc = arg;
    struct timespec until;

    pthread_mutex_lock(&mc->lock);
    while (!mc->stopping) {
        pthread_mutex_unlock(&mc->lock);
        close_ended_months(mc->db_path);
        atomic_fetch_add(&mc->rounds, 1);
        pthread_mutex_lock(&mc->lock);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += mc->interval;
        while (!mc->stopping && pthread_cond_timedwait(&mc->wake, &mc->lock, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&mc->lock);
    return NULL;
}

struct month_closer *month_closer_start(const char *db_path, unsigned interval_seconds)
{
    struct month_closer *mc = xmalloc(sizeof *mc);

    mc->db_path = xstrdup(db_path);
    mc->interval = interval_seconds ? interval_seconds : 60;
    mc->stopping = 0;
    atomic_init(&mc->rounds, 0);
    pthread_mutex_init(&mc->lock, NULL);
    pthread_cond_init(&mc->wake, NULL);
    if (pthread_create(&mc->thread, NULL, run, mc) != 0) {
        log_error("cannot start the month closer", NULL);
        pthread_mutex_destroy(&mc->lock);
        pthread_cond_destroy(&mc->wake);
        free(mc->db_path);
        free(mc);
        return NULL;
    }
    return mc;
}

unsigned long month_closer_rounds(struct month_closer *mc)
{
    return mc ? atomic_load(&mc->rounds) : 0;
}

void month_closer_stop(struct month_closer *mc)
{
    if (!mc)
        return;
    pthread_mutex_lock(&mc->lock);
    mc->stopping = 1;
    pthread_cond_signal(&mc->wake);
    pthread_mutex_unlock(&mc->lock);
    pthread_join(mc->thread, NULL);
    pthread_mutex_destroy(&mc->lock);
    pthread_cond_destroy(&mc->wake);
    free(mc->db_path);
    free(mc);
}
