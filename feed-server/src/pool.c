#include "pool.h"

#include <stdlib.h>

#include "feed_http.h"
#include "log.h"

struct fs__conn *fs__conn_open(struct fs_server *s)
{
    struct fs__conn *c = calloc(1, sizeof *c);
    char why[256];

    if (!c) {
        fs__log(&s->cfg, FS_LOG_ERROR, "cannot open database", "db", s->db_path, "sqlite",
                "out of memory", NULL);
        return NULL;
    }
    if (fs__db_open(s->db_path, &c->db, why, sizeof why) != FS_OK) {
        fs__log(&s->cfg, FS_LOG_ERROR, "cannot open database", "db", s->db_path, "sqlite", why,
                NULL);
        free(c);
        return NULL;
    }
    return c;
}

void fs__conn_close(struct fs__conn *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nfeeds; i++)
        fs_feed_close(c->feeds[i]);
    free(c->feeds);
    sqlite3_close(c->db);
    free(c);
}

struct fs_feed *fs__conn_feed(struct fs_server *s, struct fs__conn *c, size_t i)
{
    if (i >= c->nfeeds) {
        struct fs_feed **feeds = realloc(c->feeds, s->nfeeds * sizeof *feeds);

        if (!feeds)
            return NULL;
        for (size_t k = c->nfeeds; k < s->nfeeds; k++)
            feeds[k] = NULL;
        c->feeds = feeds;
        c->nfeeds = s->nfeeds;
    }
    if (!c->feeds[i] && fs_feed_open(c->db, s->feeds[i].meta.name, &c->feeds[i]) != FS_OK)
        return NULL;
    return c->feeds[i];
}

struct fs__conn *fs__pool_get(struct fs_server *s)
{
    struct fs__conn *c = NULL;

    pthread_mutex_lock(&s->pool_lock);
    if (s->npool > 0)
        c = s->pool[--s->npool];
    pthread_mutex_unlock(&s->pool_lock);
    return c ? c : fs__conn_open(s);
}

void fs__pool_put(struct fs_server *s, struct fs__conn *c)
{
    if (!c)
        return;
    if (!sqlite3_get_autocommit(c->db)) {
        sqlite3_stmt *st = NULL;

        fs__log(&s->cfg, FS_LOG_WARN, "a handler left a transaction open; rolled back", NULL);
        if (sqlite3_prepare_v2(c->db, "ROLLBACK", -1, &st, NULL) == SQLITE_OK)
            sqlite3_step(st);
        sqlite3_finalize(st);
    }
    pthread_mutex_lock(&s->pool_lock);
    if (s->npool == s->pool_cap) {
        size_t cap = s->pool_cap ? s->pool_cap * 2 : 8;
        struct fs__conn **p = realloc(s->pool, cap * sizeof *p);

        if (!p) {
            pthread_mutex_unlock(&s->pool_lock);
            fs__conn_close(c);
            return;
        }
        s->pool = p;
        s->pool_cap = cap;
    }
    s->pool[s->npool++] = c;
    pthread_mutex_unlock(&s->pool_lock);
}

void fs__pool_close(struct fs_server *s)
{
    while (s->npool)
        fs__conn_close(s->pool[--s->npool]);
    free(s->pool);
    s->pool = NULL;
    s->pool_cap = 0;
}
