#include "checkpointer.h"

#include "faults.h"
#include "log.h"

#include <feedserver.h>
#include <pthread.h>
#include <stdlib.h>

struct checkpointer {
    sqlite3 *db;      /* the thread's own connection */
    sqlite3 *watched; /* borrowed: whose commits wake the thread */
    pthread_t thread;
    pthread_mutex_t mu; /* guards what follows */
    pthread_cond_t wake;
    int due;      /* a commit left the WAL at CHECKPOINTER_PAGES or more */
    int stopping; /* checkpointer_stop() */
    unsigned long done;
};

/* The watched connection's WAL hook: called by SQLite in the committing
 * thread after each commit, with the pages now in the WAL. Only signals. */
static int on_commit(void *userdata, sqlite3 *db, const char *schema, int pages)
{
    struct checkpointer *c = userdata;

    (void)db;
    (void)schema;
    if (pages >= CHECKPOINTER_PAGES) {
        pthread_mutex_lock(&c->mu);
        if (!c->due) {
            c->due = 1;
            pthread_cond_signal(&c->wake);
        }
        pthread_mutex_unlock(&c->mu);
    }
    return SQLITE_OK;
}

static void *run(void *arg)
{
    struct checkpointer *c = arg;

    pthread_mutex_lock(&c->mu);
    for (;;) {
        int rc;

        while (!c->due && !c->stopping)
            pthread_cond_wait(&c->wake, &c->mu);
        if (c->stopping)
            break;
        c->due = 0;
        pthread_mutex_unlock(&c->mu);
        rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        /* A busy or full database is retried at the next commit's wake. */
        if (rc != SQLITE_OK && rc != SQLITE_BUSY && !fault_storage(c->db, "checkpoint"))
            log_error("checkpoint failed", "error=\"%s\"", sqlite3_errmsg(c->db));
        else if (rc == SQLITE_OK)
            fault_clear("checkpoint");
        pthread_mutex_lock(&c->mu);
        if (rc == SQLITE_OK)
            c->done++;
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int checkpointer_start(const char *db_path, sqlite3 *watched, struct checkpointer **out)
{
    struct checkpointer *c = calloc(1, sizeof *c);

    *out = NULL;
    if (!c) {
        log_error("out of memory", "%s", "where=checkpointer_start");
        return -1;
    }
    if (fs_db_open(db_path, &c->db) != FS_OK) {
        log_error("cannot open the database", "where=checkpointer_start db=%s", db_path);
        sqlite3_close(c->db);
        free(c);
        return -1;
    }
    c->watched = watched;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->wake, NULL);
    if (pthread_create(&c->thread, NULL, run, c) != 0) {
        log_error("cannot start the checkpoint thread", "%s", "where=checkpointer_start");
        pthread_cond_destroy(&c->wake);
        pthread_mutex_destroy(&c->mu);
        sqlite3_close(c->db);
        free(c);
        return -1;
    }
    sqlite3_wal_hook(watched, on_commit, c);
    *out = c;
    return 0;
}

unsigned long checkpointer_count(struct checkpointer *c)
{
    unsigned long n;

    pthread_mutex_lock(&c->mu);
    n = c->done;
    pthread_mutex_unlock(&c->mu);
    return n;
}

void checkpointer_stop(struct checkpointer *c)
{
    if (!c)
        return;
    sqlite3_wal_autocheckpoint(c->watched, CHECKPOINTER_PAGES);
    pthread_mutex_lock(&c->mu);
    c->stopping = 1;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->mu);
    sqlite3_close(c->db);
    free(c);
}
