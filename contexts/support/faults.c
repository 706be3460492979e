#include "faults.h"

#include "log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* More kinds of work than any program has that meet one database. */
#define FAULTS_MAX 16

/* One kind of work's storage fault, kept after it ends so that the next
 * one of the same kind reuses the slot. */
struct fault {
    const char *what; /* NULL: a free slot */
    /* 1 while the fault goes on (counted in active_count) */
    int active;
    /* SQLite's message, and the UTC time, when it began */
    char error[128];
    char since[32];
    /* failed writes since it began */
    long long failures;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct fault faults[FAULTS_MAX];
/* Faults going on, read without the lock by fault_clear(). */
static atomic_int active_count;

static struct fault *find(const char *what, int create)
{
    for (size_t i = 0; i < FAULTS_MAX; i++)
        if (faults[i].what && strcmp(faults[i].what, what) == 0)
            return &faults[i];
    if (!create)
        return NULL;
    for (size_t i = 0; i < FAULTS_MAX; i++)
        if (!faults[i].what) {
            faults[i].what = what;
            return &faults[i];
        }
    return NULL;
}

static void now_rfc3339(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int fault_storage(sqlite3 *db, const char *what)
{
    int code = db ? sqlite3_errcode(db) & 0xff : SQLITE_OK;
    struct fault *f;

    if (code != SQLITE_FULL && code != SQLITE_IOERR)
        return 0;
    pthread_mutex_lock(&lock);
    f = find(what, 1);
    if (f && f->active) {
        f->failures++;
    } else if (f) {
        f->active = 1;
        f->failures = 1;
        snprintf(f->error, sizeof f->error, "%s", sqlite3_errmsg(db));
        now_rfc3339(f->since);
        atomic_fetch_add(&active_count, 1);
        log_error("the database cannot be written; retrying, logged once",
                  "what=\"%s\" error=\"%s\" db=\"%s\"", what, f->error,
                  sqlite3_db_filename(db, "main") ? sqlite3_db_filename(db, "main") : "");
    } else {
        log_error("the database cannot be written", "what=\"%s\" error=\"%s\"", what,
                  sqlite3_errmsg(db));
    }
    pthread_mutex_unlock(&lock);
    return 1;
}

void fault_clear(const char *what)
{
    struct fault *f;

    if (atomic_load(&active_count) == 0)
        return;
    pthread_mutex_lock(&lock);
    f = find(what, 0);
    if (f && f->active) {
        f->active = 0;
        atomic_fetch_sub(&active_count, 1);
        log_info("the database can be written again", "what=\"%s\" failures=%lld since=%s", what,
                 f->failures, f->since);
    }
    pthread_mutex_unlock(&lock);
}

void fault_each(void (*fn)(const struct fault_info *fault, void *userdata), void *userdata)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < FAULTS_MAX; i++) {
        const struct fault *f = &faults[i];

        if (f->what && f->active) {
            struct fault_info info = {f->what, f->error, f->since, f->failures};
            fn(&info, userdata);
        }
    }
    pthread_mutex_unlock(&lock);
}
