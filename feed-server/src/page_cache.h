/*
 * page_cache.h - full archive pages kept rendered in memory, as ready
 * libmicrohttpd responses, one per (feed, page, variant: representation and content coding), least
 * recently used evicted first.
 *
 * A full page never changes, so an entry never goes stale; the only policy
 * is capacity. With each response the cache keeps the digest of the
 * page's newest entry id, from which the page's ETags are made, so an
 * If-None-Match on a cached page is checked without the database. The
 * cache holds one reference to each response; a hit queues the response
 * while the cache lock is held, so eviction never frees a response another
 * thread is about to queue.
 */
#ifndef FS_PAGE_CACHE_H
#define FS_PAGE_CACHE_H

#include <microhttpd.h>
#include <stdint.h>

#include "documents.h"

struct fs__page_cache;

/* A cache of capacity pages (at least 1). NULL on out of memory. */
struct fs__page_cache *fs__page_cache_new(unsigned capacity);
/* Destroys every cached response and the cache. Accepts NULL. */
void fs__page_cache_free(struct fs__page_cache *c);

/* If (feed, page, variant) is cached, queues it on conn with 200 and returns
 * 1 (storing MHD's result in *ok); else returns 0. */
int fs__page_cache_queue(struct fs__page_cache *c, const void *feed, int64_t page, int variant,
                         struct MHD_Connection *conn, int *ok);

/* If any variant of (feed, page) is cached, copies the digest of
 * the page's newest entry id into digest and returns 1; else returns 0. */
int fs__page_cache_digest(struct fs__page_cache *c, const void *feed, int64_t page,
                          char digest[FS_DIGEST_HEX + 1]);

/* Adds resp for (feed, page, variant), whose newest entry id has digest,
 * taking over the caller's reference to resp. */
void fs__page_cache_put(struct fs__page_cache *c, const void *feed, int64_t page, int variant,
                        const char *digest, struct MHD_Response *resp);

#endif
