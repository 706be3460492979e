/*
 * documents.h - feed documents assembled from stored entries.
 *
 * A document is a function of (feed, page, head): an archive page depends
 * only on the feed and its number, since it is built only once full; the
 * head document depends on the head position. So ETags are made from those
 * numbers without rendering anything: "<feed id>-p<N>" for page N and
 * "<feed id>-h<head>" for the head, with "-html" for the HTML view. The feed
 * id part comes from the random uuid drawn at declaration.
 */
#ifndef FS_DOCUMENTS_H
#define FS_DOCUMENTS_H

#include <sqlite3.h>
#include <stdint.h>

#include "dynbuf.h"
#include "feed_store.h"

/* Longest ETag fs__etag() writes, with its NUL. */
#define FS_ETAG_MAX 64

/* Writes the strong, quoted ETag of the document (page -1: the head as of
 * head) in Atom (html 0) or HTML (html 1) into out. */
void fs__etag(const struct fs__feed_meta *meta, int64_t page, int64_t head, int html,
              char out[FS_ETAG_MAX]);

/*
 * Builds the document of meta's feed into out: archive page `page` (which
 * the caller has checked is full at head), or the head document as of head
 * when page is -1; HTML when html is set, else Atom. Reads entries from db
 * with one range query on the primary key.
 */
enum fs_error fs__document(sqlite3 *db, const struct fs__feed_meta *meta, int64_t page,
                           int64_t head, int html, struct fs__buf *out);

#endif
