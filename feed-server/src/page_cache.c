#include "page_cache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct slot {
    const void *feed; /* NULL when the slot is free */
    int64_t page;
    int variant;                    /* FS_VARIANT() of the representation and coding */
    char digest[FS_DIGEST_HEX + 1]; /* of the page's newest entry id */
    uint64_t used;                  /* tick of the last use, for LRU */
    struct MHD_Response *resp;
};

struct fs__page_cache {
    pthread_mutex_t lock;
    uint64_t tick;
    unsigned n;
    struct slot *slots;
};

struct fs__page_cache *fs__page_cache_new(unsigned capacity)
{
    struct fs__page_cache *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    c->n = capacity ? capacity : 1;
    c->slots = calloc(c->n, sizeof *c->slots);
    if (!c->slots) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

void fs__page_cache_free(struct fs__page_cache *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < c->n; i++) {
        if (c->slots[i].resp)
            MHD_destroy_response(c->slots[i].resp);
    }
    pthread_mutex_destroy(&c->lock);
    free(c->slots);
    free(c);
}

/* The slot of (feed, page, variant); any variant when variant is -1. */
static struct slot *find(struct fs__page_cache *c, const void *feed, int64_t page, int variant)
{
    for (unsigned i = 0; i < c->n; i++) {
        struct slot *s = &c->slots[i];
        if (s->feed == feed && s->page == page && (variant < 0 || s->variant == variant))
            return s;
    }
    return NULL;
}

int fs__page_cache_queue(struct fs__page_cache *c, const void *feed, int64_t page, int variant,
                         struct MHD_Connection *conn, int *ok)
{
    struct slot *s;
    int hit = 0;

    pthread_mutex_lock(&c->lock);
    s = find(c, feed, page, variant);
    if (s) {
        s->used = ++c->tick;
        *ok = MHD_queue_response(conn, MHD_HTTP_OK, s->resp) == MHD_YES;
        hit = 1;
    }
    pthread_mutex_unlock(&c->lock);
    return hit;
}

int fs__page_cache_digest(struct fs__page_cache *c, const void *feed, int64_t page,
                          char digest[FS_DIGEST_HEX + 1])
{
    struct slot *s;

    pthread_mutex_lock(&c->lock);
    s = find(c, feed, page, -1);
    if (s)
        snprintf(digest, FS_DIGEST_HEX + 1, "%s", s->digest);
    pthread_mutex_unlock(&c->lock);
    return s != NULL;
}

void fs__page_cache_put(struct fs__page_cache *c, const void *feed, int64_t page, int variant,
                        const char *digest, struct MHD_Response *resp)
{
    struct slot *s, *victim;

    pthread_mutex_lock(&c->lock);
    s = find(c, feed, page, variant);
    if (s) {
        /* Another thread rendered the same page meanwhile; keep one. */
        MHD_destroy_response(resp);
        goto out;
    }
    victim = &c->slots[0];
    for (unsigned i = 0; i < c->n; i++) {
        if (!c->slots[i].feed) {
            victim = &c->slots[i];
            break;
        }
        if (c->slots[i].used < victim->used)
            victim = &c->slots[i];
    }
    if (victim->resp)
        MHD_destroy_response(victim->resp);
    victim->feed = feed;
    victim->page = page;
    victim->variant = variant;
    snprintf(victim->digest, sizeof victim->digest, "%s", digest);
    victim->used = ++c->tick;
    victim->resp = resp;
out:
    pthread_mutex_unlock(&c->lock);
}
