/*
 * feed_http.h - answering GET /feeds/NAME and /feeds/NAME/pages/N.
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

/* Answers req, a FS_KIND_FEED request: the head (page -1) or an archive
 * page, in the representation its Accept asks for (Atom, CloudEvents JSON
 * or HTML), with ETag, Cache-Control, Vary and Link headers, possibly
 * holding it as a long-poll (Prefer: wait). */
void fs__feed_serve(struct fs_request *req);

/* Records head (whose entry has id head_id) as f's head: new ETags, cached
 * head answers dropped. The caller holds server->lock. */
void fs__feed_set_head(struct fs__feed *f, int64_t head, const char *head_id);

/* Frees f's cached head answers (server closing). */
void fs__feed_release(struct fs__feed *f);

/* Whether the If-None-Match value inm names etag (or is "*"). */
int fs__etag_match(const char *inm, const char *etag);

#endif
