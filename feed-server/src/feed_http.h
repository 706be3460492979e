/*
 * feed_http.h - the feed layer's answers: the feeds a server serves
 * (fs_server_feed()), and answering GET /feeds/NAME and
 * /feeds/NAME/pages/N.
 *
 * The hot paths touch neither SQLite nor the XML writer: a poll of an
 * unchanged head compares If-None-Match with the ETag held in memory and
 * queues a ready 304; a head that did not change since it was last built is
 * queued from memory; a full page is queued from the page cache, and a 304
 * for a cached page takes its ETag from there. Only a new head or an
 * uncached page reads the database and renders (a 304 for an uncached page
 * reads one row). Each representation has its own cached head answers.
 */
#ifndef FS_FEED_HTTP_H
#define FS_FEED_HTTP_H

#include "http_server.h"
#include "page_cache.h"

/* A feed the server serves. All but meta are guarded by server->lock; the
 * arrays are indexed by variant (FS_VARIANT(): representation and content
 * coding), each with its own ETag and cached answers. */
struct fs__served_feed {
    struct fs__feed_meta meta;
    int64_t head;      /* last head position seen (watcher or a write request) */
    char head_id[201]; /* event id of the entry at head, "" when empty */
    char etag[FS_VARIANT_COUNT][FS_ETAG_MAX]; /* head ETags */
    char *head_body[FS_VARIANT_COUNT];        /* head document for `head`, or NULL */
    size_t head_len[FS_VARIANT_COUNT];
    struct MHD_Response *head_resp[FS_VARIANT_COUNT]; /* 200 answer made of head_body */
    struct MHD_Response *nm_resp[FS_VARIANT_COUNT];   /* 304 answer for `head` */
};

/* Sets up the feed layer's part of s (locks, page cache); -1 when out of
 * memory. fs__feeds_close() releases it, also after a failure. */
int fs__feeds_open(struct fs_server *s);

/* Releases the feed layer's part of s: the served feeds' cached answers,
 * the page cache, the locks (the daemon and the watcher are stopped). */
void fs__feeds_close(struct fs_server *s);

/* The served feed named name, or NULL. */
struct fs__served_feed *fs__feed_find(struct fs_server *s, const char *name);

/* Answers req, a FS_KIND_FEED request: the head (page -1) or an archive
 * page, in the representation its Accept asks for (Atom, CloudEvents JSON
 * or HTML), with ETag, Cache-Control, Vary and Link headers, possibly
 * holding it as a long-poll (Prefer: wait). */
void fs__feed_serve(struct fs_request *req);

/* Records head (whose entry has id head_id) as f's head: new ETags, cached
 * head answers dropped. The caller holds server->lock. */
void fs__feed_set_head(struct fs__served_feed *f, int64_t head, const char *head_id);

/* The Vary header value of every answer under /feeds/ of s, errors
 * included: the representation follows Accept, the coding Accept-Encoding,
 * and on a protected server the answer Authorization. */
const char *fs__feed_vary(const struct fs_server *s);

/* Whether the If-None-Match value inm names etag (or is "*"). */
int fs__etag_match(const char *inm, const char *etag);

#endif
