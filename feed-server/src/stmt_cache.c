#include "stmt_cache.h"

#include <pthread.h>
#include <stdlib.h>

static const char *const sql[FS_STMT_COUNT] = {
    [FS_STMT_HEAD] = "SELECT max(position) FROM fs_entries WHERE feed = ?1",
    [FS_STMT_INSERT] = "INSERT INTO fs_entries(feed, position, event_id, type, updated, xml)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [FS_STMT_NEWEST] = "SELECT position, event_id FROM fs_entries WHERE feed = ?1"
                       " ORDER BY position DESC LIMIT 1",
    [FS_STMT_ENTRY_ID] = "SELECT event_id FROM fs_entries WHERE feed = ?1 AND position = ?2",
};

/* One connection's statements. */
struct slot {
    sqlite3 *db;
    sqlite3_stmt *st[FS_STMT_COUNT];
    struct slot *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot *slots;

/* SQLITE_TRACE_CLOSE: finalizes and forgets the closing connection's
 * statements, so that sqlite3_close() finds none. */
static int on_trace(unsigned type, void *ctx, void *p, void *x)
{
    struct slot **link, *s = NULL;

    (void)ctx;
    (void)x;
    if (type != SQLITE_TRACE_CLOSE)
        return 0;
    pthread_mutex_lock(&lock);
    for (link = &slots; *link; link = &(*link)->next) {
        if ((*link)->db == p) {
            s = *link;
            *link = s->next;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    if (s) {
        for (int i = 0; i < FS_STMT_COUNT; i++)
            sqlite3_finalize(s->st[i]);
        free(s);
    }
    return 0;
}

sqlite3_stmt *fs__stmt(sqlite3 *db, enum fs__stmt_id id)
{
    struct slot *s;
    sqlite3_stmt *st = NULL;

    pthread_mutex_lock(&lock);
    for (s = slots; s; s = s->next) {
        if (s->db == db)
            break;
    }
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) {
            pthread_mutex_unlock(&lock);
            return NULL;
        }
        s->db = db;
        s->next = slots;
        slots = s;
        sqlite3_trace_v2(db, SQLITE_TRACE_CLOSE, on_trace, NULL);
    }
    st = s->st[id];
    pthread_mutex_unlock(&lock);
    if (st)
        return st;
    /* Only db's own thread uses its slot, so preparing unlocked is safe. */
    if (sqlite3_prepare_v3(db, sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return NULL;
    }
    s->st[id] = st;
    return st;
}
