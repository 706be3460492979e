/*
 * page_cache.h - full archive pages kept rendered in memory, as ready
 * libmicrohttpd responses, least recently used evicted first.
 *
 * A full page never changes, so an entry never goes stale; the only policy
 * is capacity. The cache holds one reference to each response; a hit queues
 * the response while the cache lock is held, so eviction never frees a
 * response another thread is about to queue.
 */
#ifndef FS_PAGE_CACHE_H
#define FS_PAGE_CACHE_H

#include <microhttpd.h>
#include <stdint.h>

struct fs__page_cache;

/* A cache of capacity pages (at least 1). NULL on out of memory. */
struct fs__page_cache *fs__page_cache_new(unsigned capacity);
/* Destroys every cached response and the cache. Accepts NULL. */
void fs__page_cache_free(struct fs__page_cache *c);

/* If (feed, page, html) is cached, queues it on conn with 200 and returns
 * 1 (storing MHD's result in *ok); else returns 0. */
int fs__page_cache_queue(struct fs__page_cache *c, const void *feed, int64_t page, int html,
                         struct MHD_Connection *conn, int *ok);

/* Adds resp for (feed, page, html), taking over the caller's reference. */
void fs__page_cache_put(struct fs__page_cache *c, const void *feed, int64_t page, int html,
                        struct MHD_Response *resp);

#endif
